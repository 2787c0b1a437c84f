// errors.test.mjs — (d) bad input in forms shows the server's own error message, word for word,
// and changes nothing.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, newClient, shot, createAdmin, DESKTOP } from './lib/harness.mjs';
import * as act from './lib/actions.mjs';

let server, browser;
before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

// What the server answers to the same request, to compare with what the page shows.
async function serverMessage(method, path, body, token) {
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const r = await fetch(server.url + path, { method, headers, body: JSON.stringify(body) });
  assert.ok(r.status >= 400, `${path} should be refused, got ${r.status}`);
  return (await r.json()).error.message;
}

async function alertText(page) {
  const el = await page.waitForSelector('[role=alert]:not([hidden])');
  return (await el.textContent()).trim();
}

test('register and log in show the server messages', async () => {
  const { page } = await newClient(browser, server, 'visitor');
  await page.goto(server.url + '/#/register');
  await page.fill('#auth-username', 'shorty');
  await page.fill('#auth-password', 'short');
  await page.click('#auth-submit');
  const shown = await alertText(page);
  assert.equal(shown, await serverMessage('POST', '/api/v1/auth/register', { username: 'shorty', password: 'short', device: 'web' }));
  await shot(page, 'errors-1-register-password');

  await page.fill('#auth-username', '9lives');
  await page.fill('#auth-password', act.PASSWORD);
  await page.click('#auth-submit');
  await page.waitForFunction(() => document.querySelector('[role=alert]').textContent.includes('letter'));
  assert.equal(await alertText(page),
               await serverMessage('POST', '/api/v1/auth/register', { username: '9lives', password: act.PASSWORD }));

  await act.register(page, 'taken_name');
  await page.click('#logout');
  await page.waitForSelector('#auth-title:has-text("Log in")');
  await page.goto(server.url + '/#/register');
  await page.fill('#auth-username', 'Taken_Name');
  await page.fill('#auth-password', act.PASSWORD);
  await page.click('#auth-submit');
  assert.equal(await alertText(page),
               await serverMessage('POST', '/api/v1/auth/register', { username: 'taken_name', password: act.PASSWORD }));

  await page.goto(server.url + '/#/login');
  await page.fill('#auth-username', 'taken_name');
  await page.fill('#auth-password', 'wrong password!');
  await page.click('#auth-submit');
  const loginShown = await alertText(page);
  assert.equal(loginShown, await serverMessage('POST', '/api/v1/auth/login', { username: 'taken_name', password: 'wrong password!' }));
  await shot(page, 'errors-2-login');
});

test('seller settings show the server messages and change nothing', async () => {
  const { page } = await newClient(browser, server, 'seller');
  await act.register(page, 'pricey');
  await act.becomeSeller(page, { description: 'Harbour views', price: 12 });
  const token = await page.evaluate(() => sessionStorage.getItem('kmg.token'));

  await page.fill('#set-price', '0');
  await page.click('#set-seller-save');
  assert.equal(await alertText(page),
               await serverMessage('PATCH', '/api/v1/me', { seller_description: 'Harbour views', price_per_minute: 0, always_relay: false }, token));
  await shot(page, 'errors-3-price');

  await page.fill('#set-price', '12');
  await page.fill('#set-description', 'x'.repeat(1001));
  await page.click('#set-seller-save');
  await page.waitForFunction(() => !document.querySelector('[role=alert]').textContent.includes('price'));
  assert.equal(await alertText(page),
               await serverMessage('PATCH', '/api/v1/me', { seller_description: 'x'.repeat(1001), price_per_minute: 12, always_relay: false }, token));

  const me = await (await fetch(server.url + '/api/v1/me', { headers: { Authorization: `Bearer ${token}` } })).json();
  assert.equal(me.price_per_minute, 12);
  assert.equal(me.seller_description, 'Harbour views');
});

test('admin console shows the server messages', async () => {
  await createAdmin(server, 'opsmanager', act.PASSWORD);
  const { page } = await newClient(browser, server, 'admin', { viewport: DESKTOP, path: '/admin' });
  await page.fill('#admin-username', 'opsmanager');
  await page.fill('#admin-password', act.PASSWORD);
  await page.click('#admin-login');
  await page.waitForSelector('#users-table');
  await shot(page, 'admin-1-users');
  const row = await page.waitForSelector('#users-table tr:has(td[data-col=username]:text-is("pricey"))');
  const id = await row.getAttribute('data-id');
  await (await row.$('button[data-act=ban]')).click();
  await page.click('#dlg-submit'); // no reason
  const shown = await alertText(page.locator('dialog').page());
  const loginR = await fetch(server.url + '/api/v1/auth/login', { method: 'POST', body: JSON.stringify({ username: 'opsmanager', password: act.PASSWORD }) });
  const adminToken = (await loginR.json()).token;
  assert.equal(shown, await serverMessage('POST', `/api/v1/admin/users/${id}/ban`, { reason: '' }, adminToken));
  await shot(page, 'admin-2-ban-error');
});
