// flow.mjs — the whole product flow with two phones and an admin: seller registers, consents,
// sets a price, goes live; buyer finds the LIVE marker, previews, opens the profile, watches,
// is charged per minute, ends (or runs out of credits), rates; the history shows the session;
// the admin bans the seller and the marker leaves the buyer's map.

import assert from 'node:assert/strict';
import { startServer, launchBrowser, newClient, shot, createAdmin, grant, sleep, makePng, writeArtifact, DESKTOP } from './harness.mjs';
import * as act from './actions.mjs';

// Each step names itself in the failure, so a report says exactly where the flow stopped.
async function step(name, fn) {
  try {
    return await fn();
  } catch (e) {
    e.message = `step "${name}" failed: ${e.message}`;
    throw e;
  }
}

async function frames(page) {
  return page.evaluate(() => {
    const v = document.querySelector('#watch-video');
    return v && v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality().totalVideoFrames : 0;
  });
}

async function relayPackets(server) {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (/^kamegor_relay_packets_total[ {]/.test(line)) total += Number(line.split(' ').pop());
  }
  return total;
}

export async function wholeFlow({ label, sets = [], price, credits, endBy, expectPath, expectLow, sellerRestart }) {
  const server = await startServer(['server.log_level=debug', ...sets]);
  const browser = await launchBrowser();
  const name = (s) => `${label}-${s}`;
  try {
    const seller = await newClient(browser, server, 'seller');
    const buyer = await newClient(browser, server, 'buyer');
    const sp = seller.page;
    const bp = buyer.page;

    const s = await step('seller registers, consents, sets a price', async () => {
      const me = await act.register(sp, `sam_${label}`, 'Sam');
      await act.becomeSeller(sp, { description: 'Live from the harbour', price });
      await act.uploadPicture(sp, await makePng(20, 140, 200));
      await shot(sp, name('01-seller-settings'));
      return me;
    });
    await step('seller shares a location and goes live', async () => {
      if (sellerRestart) {
        await sp.evaluate(() => {
          window.kmgPcs = [];
          const addTrack = RTCPeerConnection.prototype.addTrack;
          RTCPeerConnection.prototype.addTrack = function (...a) { window.kmgPcs.push(this); return addTrack.apply(this, a); };
        });
      }
      await act.setLocation(sp, 48.8566, 2.3522);
      await act.goLive(sp);
      await shot(sp, name('02-seller-live'));
    });

    const b = await step('buyer registers and gets credits', async () => {
      const me = await act.register(bp, `bea_${label}`);
      grant(server, me.id, credits);
      await act.setLocation(bp, 48.8500, 2.3400);
      return me;
    });

    await step('buyer sees the LIVE marker and the preview', async () => {
      await act.openMap(bp);
      const marker = await bp.waitForSelector(`${act.markerSel(s.id)}.live`, { timeout: 15000 });
      assert.equal(await marker.$eval('.live-badge', (e) => e.textContent), 'LIVE');
      assert.ok(await marker.$('img.marker-pic'), 'the marker shows the profile picture');
      await shot(bp, name('03-buyer-map'));
      await marker.click();
      await bp.waitForSelector('#preview-status:has-text("Streaming Now")');
      assert.equal(await bp.textContent('#preview-name'), `sam_${label}`);
      await shot(bp, name('04-buyer-preview'));
      await bp.click('#preview-open');
      await bp.waitForSelector(`#watch-button:has-text("Watch Live (${price} credits/min)")`);
      await shot(bp, name('05-buyer-profile'));
    });

    const session = await step('buyer starts watching and the video decodes', async () => {
      await bp.click('#watch-button');
      await bp.waitForSelector('#watch-state[data-state="active"]', { timeout: 30000 });
      const path = await bp.getAttribute('#watch-state', 'data-path');
      if (expectPath) assert.equal(path, expectPath, 'session path');
      const f0 = await frames(bp);
      await sleep(2000);
      const f1 = await frames(bp);
      assert.ok(f1 > f0, `decoded frames grow (${f0} → ${f1})`);
      await shot(bp, name('06-buyer-watching'));
      await shot(sp, name('07-seller-streaming'));
      return { id: Number(await bp.getAttribute('#watch-state', 'data-session')), path };
    });

    if (expectPath === 'relay') {
      await step('frames flow through the relay', async () => {
        assert.ok((await relayPackets(server)) > 0, 'relay packet counters grow');
      });
    }

    if (sellerRestart) {
      await step('the seller\'s media stops: both are told, the seller page restarts ICE, video resumes', async () => {
        // Count ICE restarts; the relay connection's sender is found through the peer
        // connections the page made (addTrack runs on each of them).
        await sp.evaluate(() => {
          window.kmgRestarts = 0;
          const restart = RTCPeerConnection.prototype.restartIce;
          RTCPeerConnection.prototype.restartIce = function () { window.kmgRestarts++; return restart.call(this); };
        });
        const stopped = await sp.evaluate(async () => {
          const found = [...document.querySelectorAll('video')].map((v) => v.srcObject).find(Boolean);
          const track = found?.getVideoTracks()[0];
          window.kmgTrack = track;
          window.kmgSenders = [];
          for (const pc of window.kmgPcs || []) {
            for (const snd of pc.getSenders()) if (snd.track === track) window.kmgSenders.push(snd);
          }
          for (const snd of window.kmgSenders) await snd.replaceTrack(null);
          return window.kmgSenders.length;
        });
        assert.ok(stopped >= 1, `the seller's relay sender was found (${stopped})`);
        await bp.waitForSelector('#watch-state:has-text("reconnecting")', { timeout: 10000 });
        await sp.waitForFunction(() => window.kmgRestarts >= 1, null, { timeout: 10000 });
        await sp.evaluate(async () => { for (const snd of window.kmgSenders) await snd.replaceTrack(window.kmgTrack); });
        await bp.waitForSelector('#watch-state[data-state="active"]:not(:has-text("reconnecting"))', { timeout: 20000 });
        assert.equal(Number(await bp.getAttribute('#watch-state', 'data-session')), session.id, 'same session');
        const f0 = await frames(bp);
        await sleep(2000);
        const f1 = await frames(bp);
        assert.ok(f1 > f0, `decoded frames grow after the restart (${f0} → ${f1})`);
      });
    }

    await step('buyer is charged per minute', async () => {
      await bp.waitForFunction(() => Number(document.querySelector('#watch-minutes')?.textContent) >= 2,
                               null, { timeout: 30000 });
      const shown = await bp.textContent('#watch-balance');
      const wallet = await bp.evaluate(async () => (await fetch('/api/v1/me/wallet', {
        headers: { Authorization: `Bearer ${sessionStorage.getItem('kmg.token')}` } })).json());
      const minutes = wallet.transfers.filter((t) => t.kind === 'charge' && t.session_id === session.id).length;
      assert.ok(minutes >= 2, `at least two charged minutes in the wallet (${minutes})`);
      assert.ok(wallet.balance <= credits - 2 * price, `balance went down (${wallet.balance})`);
      assert.match(shown, /credits$/);
    });

    await step(endBy === 'balance' ? 'balance runs low, then out' : 'buyer ends the session', async () => {
      await sp.waitForFunction(() => /^[1-9]\d* credits$/.test(document.querySelector('#live-earned')?.textContent),
                               null, { timeout: 10000 });
      if (expectLow || endBy === 'balance') {
        await bp.waitForSelector('#low-balance:not([hidden])', { timeout: 40000 });
        await shot(bp, name('08-low-balance'));
      }
      if (endBy === 'balance') {
        await bp.waitForSelector('#watch-state[data-reason="insufficient_credits"]', { timeout: 40000 });
      } else {
        await bp.click('#watch-end');
        await bp.waitForSelector('#watch-state[data-reason="buyer_left"]', { timeout: 15000 });
      }
      await shot(bp, name('09-ended'));
    });

    await step('buyer rates the session', async () => {
      await bp.click('#rating button[data-stars="5"]');
      await bp.waitForSelector('#rating .ok:has-text("You rated 5 stars")');
    });

    await step('seller profile history shows the session', async () => {
      await act.openProfile(bp, s.id);
      await bp.waitForSelector('#history li');
      const text = await bp.textContent('#history');
      assert.match(text, /rated 5/);
      assert.match(await bp.textContent('#profile-rating'), /5\.0 \(1 rating\)/);
      await shot(bp, name('10-profile-history'));
    });

    await step('wallet pages show the transfers', async () => {
      await act.go(bp, '/wallet');
      await bp.waitForSelector('#wallet-rows tr');
      await shot(bp, name('11-buyer-wallet'));
      await act.go(sp, '/wallet');
      await sp.waitForSelector('#wallet-rows tr');
      await shot(sp, name('12-seller-wallet'));
      await act.go(sp, '/live');
    });

    await step('admin bans the seller and the marker leaves the map', async () => {
      await act.openMap(bp);
      await bp.waitForSelector(act.markerSel(s.id), { timeout: 15000 });
      await createAdmin(server, 'opsmanager', act.PASSWORD);
      const admin = await newClient(browser, server, 'admin', { viewport: DESKTOP, path: '/admin' });
      const ap = admin.page;
      await ap.fill('#admin-username', 'opsmanager');
      await ap.fill('#admin-password', act.PASSWORD);
      await ap.click('#admin-login');
      const row = await ap.waitForSelector(`#users-table tr[data-id="${s.id}"]`);
      await (await row.$('button[data-act=ban]')).click();
      await ap.fill('#dlg-reason', 'Breaking the rules in a browser test');
      await ap.click('#dlg-submit');
      await ap.waitForSelector(`#users-table tr[data-id="${s.id}"] td[data-col=banned]:text-is("yes")`);
      await shot(ap, name('13-admin-banned'));
      await bp.waitForSelector(act.markerSel(s.id), { state: 'detached', timeout: 15000 });
      await shot(bp, name('14-buyer-map-after-ban'));
      await ap.click('#tab-actions');
      await ap.waitForSelector('#actions-table');
      await shot(ap, name('15-admin-log'));
      await ap.click('#tab-sessions');
      await ap.click('button:text-is("Ended")');
      await ap.waitForSelector('#sessions-table');
      await shot(ap, name('16-admin-sessions'));
      await ap.click('#tab-ledger');
      await ap.waitForSelector('#audit-status');
      assert.equal(await ap.textContent('#audit-status'), 'Ledger audit: verified');
      await shot(ap, name('17-admin-ledger'));
    });
    return { seller: s, buyer: b, session };
  } catch (e) {
    writeArtifact(`${label}-server.log`, server.log.join(''));
    throw e;
  } finally {
    await browser.close();
    await server.stop();
  }
}
