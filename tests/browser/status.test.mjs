// status.test.mjs — (c) the profile's status indicator and button follow the seller live:
// offline → online (app open with a location) → streaming → online → offline.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, newClient, shot } from './lib/harness.mjs';
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

// What a phone does when the app goes to the background (tab switch, screen locked).
async function setVisibility(page, state) {
  await page.evaluate((s) => {
    Object.defineProperty(document, 'visibilityState', { value: s, configurable: true });
    Object.defineProperty(document, 'hidden', { value: s === 'hidden', configurable: true });
    document.dispatchEvent(new Event('visibilitychange'));
  }, state);
}

async function expectState(page, status, button) {
  await page.waitForSelector(`#profile-status:has-text("Status: ${status}")`, { timeout: 15000 });
  await page.waitForSelector(`#watch-button:has-text("${button}")`, { timeout: 5000 });
}

test('profile status and watch button follow the seller', async () => {
  const seller = await newClient(browser, server, 'seller');
  const buyer = await newClient(browser, server, 'buyer');
  const s = await act.register(seller.page, 'stella', 'Stella');
  await act.becomeSeller(seller.page, { description: 'Sunsets from the roof', price: 7 });
  await act.register(buyer.page, 'bruno');

  await act.openProfile(buyer.page, s.id);
  await expectState(buyer.page, 'Offline', 'Offline');
  assert.equal(await buyer.page.isDisabled('#watch-button'), true);
  await shot(buyer.page, 'status-1-offline');

  await act.setLocation(seller.page, 48.8566, 2.3522);
  await expectState(buyer.page, 'Online', 'Not currently streaming');
  assert.equal(await buyer.page.isDisabled('#watch-button'), true);
  await shot(buyer.page, 'status-2-online');

  await act.goLive(seller.page);
  await expectState(buyer.page, 'Streaming Now', 'Watch Live (7 credits/min)');
  assert.equal(await buyer.page.isDisabled('#watch-button'), false);
  await shot(seller.page, 'status-3-seller-live');
  await shot(buyer.page, 'status-3-streaming');

  await act.stopLive(seller.page);
  await expectState(buyer.page, 'Online', 'Not currently streaming');

  // The app going to the background hides the seller at once; back in front, online again.
  await setVisibility(seller.page, 'hidden');
  await expectState(buyer.page, 'Offline', 'Offline');
  await setVisibility(seller.page, 'visible');
  await expectState(buyer.page, 'Online', 'Not currently streaming');

  await seller.page.click('#logout');
  await expectState(buyer.page, 'Offline', 'Offline');
  await shot(buyer.page, 'status-4-offline-again');
});
