// map.test.mjs — clusters and live diffs on the map: two online sellers in one ~5 km cell show as
// one cluster (online positions are the cell's centre); one goes live and the cluster says so;
// zoomed in past the clustering zoom they are two markers, one with the LIVE badge.

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

test('clusters, live badge and diffs on the map', async () => {
  const a = await newClient(browser, server, 'seller-a');
  const b = await newClient(browser, server, 'seller-b');
  const buyer = await newClient(browser, server, 'buyer');
  const sa = await act.register(a.page, 'anna_map');
  await act.becomeSeller(a.page, { description: 'A', price: 2 });
  const sb = await act.register(b.page, 'ben_map');
  await act.becomeSeller(b.page, { description: 'B', price: 4 });
  await act.register(buyer.page, 'buyer_map');
  await act.setLocation(buyer.page, 48.8570, 2.3520);
  await act.openMap(buyer.page);

  // Both in the same geohash-5 cell, about 300 m apart.
  await act.setLocation(a.page, 48.8566, 2.3522);
  await act.setLocation(b.page, 48.8590, 2.3550);
  const cluster = await buyer.page.waitForSelector('.kmg-cluster .count:text-is("2")', { timeout: 15000 });
  assert.ok(cluster);
  await shot(buyer.page, 'map-1-cluster');

  await act.goLive(a.page);
  // Live, its position is its own (~11 m) instead of the cell's centre: depending on the grid it
  // is still in the cluster (which then counts one live) or a marker of its own.
  await buyer.page.waitForSelector(`.kmg-cluster.has-live .live-count:text-is("1 live"), ${act.markerSel(sa.id)}.live`,
                                   { timeout: 15000 });
  await shot(buyer.page, 'map-2-live');

  // Zoom in until the live seller is a marker, whatever the clustering zoom is.
  for (let i = 0; i < 4 && !(await buyer.page.$(`${act.markerSel(sa.id)}.live`)); i++) {
    await buyer.page.click('.leaflet-control-zoom-in');
    await buyer.page.waitForTimeout(700);
  }
  await buyer.page.waitForSelector(`${act.markerSel(sa.id)}.live`, { timeout: 10000 });
  await shot(buyer.page, 'map-3-zoomed');

  // Seller B leaves: the map drops its marker or cluster share through a diff.
  await b.page.click('#logout');
  await buyer.page.waitForFunction((id) => !document.querySelector(`.kmg-marker[data-user-id="${id}"]`) &&
    ![...document.querySelectorAll('.kmg-cluster .count')].some((e) => e.textContent === '2'), sb.id, { timeout: 15000 });
  assert.ok(await buyer.page.$(`${act.markerSel(sa.id)}.live`), 'the live seller stays');
});
