// actions.mjs — what a person does in the reference client, as reusable steps.

import assert from 'node:assert/strict';

export const PASSWORD = 'correct horse battery';

export async function register(page, username, displayName) {
  await page.goto(new URL('/#/register', page.url()).href);
  await page.fill('#auth-username', username);
  if (displayName) await page.fill('#auth-display', displayName);
  await page.fill('#auth-password', PASSWORD);
  await page.click('#auth-submit');
  await page.waitForSelector('#map');
  return page.evaluate(async () => {
    const r = await fetch('/api/v1/me', { headers: { Authorization: `Bearer ${sessionStorage.getItem('kmg.token')}` } });
    return r.json();
  });
}

export async function login(page, username, password = PASSWORD) {
  await page.goto(new URL('/#/login', page.url()).href);
  await page.fill('#auth-username', username);
  await page.fill('#auth-password', password);
  await page.click('#auth-submit');
  await page.waitForSelector('#map');
}

export async function go(page, hashPath) {
  await page.evaluate((p) => { location.hash = `#${p}`; }, hashPath);
}

// Through the settings screen's manual form (desktops have no GPS).
export async function setLocation(page, lat, lon) {
  await go(page, '/settings');
  await page.fill('#loc-lat', String(lat));
  await page.fill('#loc-lon', String(lon));
  await page.click('#loc-set');
  await page.waitForSelector(`.loc-now:has-text("Reporting ${lat.toFixed(4)}")`);
}

export async function becomeSeller(page, { description, price }) {
  await go(page, '/settings');
  await page.click('#become-seller');
  await page.waitForSelector('#consent-title');
  assert.equal(await page.isDisabled('#consent-accept'), true, 'consent button starts disabled');
  await page.check('#consent-agree');
  await page.click('#consent-accept');
  await page.waitForSelector('#set-description');
  await page.fill('#set-description', description);
  await page.fill('#set-price', String(price));
  await page.click('#set-seller-save');
  await page.waitForSelector('#sell-title ~ .ok:has-text("Saved.")');
}

export async function goLive(page) {
  await go(page, '/live');
  await page.click('#live-go');
  await page.waitForSelector('#live-stop');
}

export async function stopLive(page) {
  await go(page, '/live');
  await page.click('#live-stop');
  await page.waitForSelector('#live-go');
}

export const markerSel = (userId) => `.kmg-marker[data-user-id="${userId}"]`;

export async function openMap(page) {
  await go(page, '/map');
  await page.waitForSelector('#map.leaflet-container');
}

export async function openProfile(page, sellerId) {
  await go(page, `/seller/${sellerId}`);
  await page.waitForSelector('#profile-name');
}

export async function uploadPicture(page, png) {
  await go(page, '/settings');
  await page.setInputFiles('#set-picture', { name: 'me.png', mimeType: 'image/png', buffer: png });
  await page.click('#set-profile-save');
  await page.waitForSelector('.pic-now img.avatar');
}
