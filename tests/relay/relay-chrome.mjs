// relay-chrome.mjs — real Chromium peers on the relay: a seller page (fake camera) and buyer pages
// signaled through relay-chrome-driver (JSON lines on stdin/stdout). Passes when every buyer
// decodes frames steadily. Usage: node relay-chrome.mjs DRIVER [--codec VP8|H264] [--buyers N]
// [--seconds S] [--loss P [--no-direct-udp]] [--verbose]. Needs Chromium and tests/browser's
// node_modules (playwright-core). With --loss, the last buyer loses that share of the relay's RTP
// (the others none) and must keep decoding on the relay's retransmissions; --no-direct-udp puts
// every buyer leg on its webrtcbin instead of the fan-out.

import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { createInterface } from 'node:readline';
import { launchBrowser } from '../browser/lib/harness.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const driverPath = args[0];
const codec = opt('--codec', 'VP8');
const nBuyers = Number(opt('--buyers', '1'));
const seconds = Number(opt('--seconds', '8'));
const verbose = args.includes('--verbose');
const loss = Number(opt('--loss', '0'));
const directUdp = !args.includes('--no-direct-udp');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (...a) => console.error('[relay-chrome]', ...a);

function fail(msg) {
  log('FAIL:', msg);
  process.exitCode = 1;
}

// The pages need a secure context for getUserMedia: a blank page on 127.0.0.1 is one.
const http = createServer((req, res) => { res.setHeader('content-type', 'text/html'); res.end('<!doctype html><title>relay</title>'); });
await new Promise((r) => http.listen(0, '127.0.0.1', r));
const origin = `http://127.0.0.1:${http.address().port}`;

const driver = spawn(driverPath, directUdp ? [] : ['--no-direct-udp'], { stdio: ['pipe', 'pipe', 'inherit'] });
const send = (m) => driver.stdin.write(JSON.stringify(m) + '\n');
const waiters = [];
const sdps = {};
let driverExited = false;
driver.on('exit', () => { driverExited = true; });

const browser = await launchBrowser();
const pages = {};

async function newPeer(tag, role) {
  const context = await browser.newContext();
  await context.grantPermissions(['camera'], { origin });
  const page = await context.newPage();
  page.on('console', (m) => { if (verbose || m.type() === 'error') log(`[${tag}]`, m.text()); });
  await page.exposeFunction('kmgSend', (m) => send({ ...m, leg: tag }));
  await page.goto(origin);
  await page.evaluate(async ({ role, codec }) => {
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    window.pc = pc;
    pc.onicecandidate = (e) => {
      if (e.candidate && e.candidate.candidate)
        window.kmgSend({ type: 'candidate', mline: e.candidate.sdpMLineIndex ?? 0, candidate: e.candidate.candidate });
    };
    if (role === 'seller') {
      const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 } });
      const tr = pc.addTransceiver(stream.getVideoTracks()[0], { direction: 'sendonly', streams: [stream] });
      const caps = RTCRtpSender.getCapabilities('video').codecs;
      const first = caps.filter((c) => c.mimeType === `video/${codec}`);
      tr.setCodecPreferences([...first, ...caps.filter((c) => c.mimeType !== `video/${codec}`)]);
    }
  }, { role, codec });
  pages[tag] = page;
  return page;
}

async function onDriver(m) {
  if (verbose && m.type !== 'candidate') log('driver →', m.type, m.leg ?? '', m.state ?? m.sdp_type ?? '');
  if (m.type === 'need-offer') {
    const offer = await pages.seller.evaluate(async () => {
      await window.pc.setLocalDescription();
      return window.pc.localDescription.sdp;
    });
    sdps['seller-offer'] = offer;
    send({ type: 'sdp', leg: 'seller', sdp_type: 'offer', sdp: offer });
  } else if (m.type === 'sdp') {
    sdps[`${m.leg}-${m.sdp_type}`] = m.sdp;
    const answer = await pages[m.leg].evaluate(async ({ type, sdp }) => {
      try {
        await window.pc.setRemoteDescription({ type, sdp });
      } catch (e) {
        return { error: e.message };
      }
      if (type !== 'offer') return {};
      await window.pc.setLocalDescription();
      return { sdp: window.pc.localDescription.sdp };
    }, { type: m.sdp_type, sdp: m.sdp });
    if (answer.error) fail(`${m.leg} rejected the relay's ${m.sdp_type}: ${answer.error}\n${m.sdp}`);
    if (answer.sdp) {
      sdps[`${m.leg}-answer`] = answer.sdp;
      send({ type: 'sdp', leg: m.leg, sdp_type: 'answer', sdp: answer.sdp });
    }
  } else if (m.type === 'candidate') {
    // By mid alone, as a W3C client may: the relay names the m-line by its a=mid.
    if (m.mid === undefined) fail(`${m.leg}: relay candidate without a mid: ${m.candidate}`);
    await pages[m.leg]?.evaluate(async ({ mid, candidate }) => {
      await window.pc.addIceCandidate({ candidate: candidate.replace(/^a=/, ''), sdpMid: mid });
    }, m);
  } else {
    for (const w of waiters.splice(0)) w(m);
  }
}

// Driver lines are handled one at a time, in order: an offer before its candidates.
let chain = Promise.resolve();
createInterface({ input: driver.stdout }).on('line', (line) => {
  const m = JSON.parse(line);
  chain = chain.then(() => onDriver(m)).catch((e) => fail(`handling ${m.type}: ${e.message}`));
});

async function inbound(page) {
  return page.evaluate(async () => {
    const out = {};
    (await window.pc.getStats()).forEach((r) => {
      if (r.type === 'inbound-rtp' && r.kind === 'video') {
        for (const k of ['packetsReceived', 'packetsLost', 'bytesReceived', 'framesDecoded', 'keyFramesDecoded',
                         'framesDropped', 'nackCount', 'pliCount', 'firCount', 'frameWidth', 'frameHeight',
                         'decoderImplementation', 'jitter', 'retransmittedPacketsReceived', 'freezeCount',
                         'totalFreezesDuration'])
          out[k] = r[k];
        out.ssrc = r.ssrc;
      }
      if (r.type === 'codec') out.codec = r.mimeType;
    });
    return out;
  });
}

// What the relay forwards unchanged must be what it declares to the buyer: the seller's payload
// type first, the seller's SSRC, and the header extensions under the ids the seller uses.
const mline = (sdp) => sdp.match(/^m=video \d+ \S+ (.*)$/m)[1].trim().split(' ');
const extmaps = (sdp) => [...sdp.matchAll(/^a=extmap:(\d+)(?:\/\S+)? (\S+)/gm)].map((m) => `${m[1]} ${m[2]}`).sort();
function checkForwarding(b, sellerAnswer, buyerOffer, ssrc) {
  if (mline(buyerOffer)[0] !== mline(sellerAnswer)[0])
    fail(`${b}: offer PT ${mline(buyerOffer)[0]}, seller sends ${mline(sellerAnswer)[0]}`);
  if (!new RegExp(`^a=ssrc:${ssrc} `, 'm').test(buyerOffer)) fail(`${b}: SSRC ${ssrc} not in the buyer offer`);
  if (extmaps(buyerOffer).join() !== extmaps(sellerAnswer).join())
    fail(`${b}: header extensions differ: seller [${extmaps(sellerAnswer)}], buyer [${extmaps(buyerOffer)}]`);
  if (!extmaps(sellerAnswer).some((e) => e.includes('transport-wide-cc'))) fail('no TWCC with the seller');
}

async function driverStats() {
  const reply = new Promise((resolve) => waiters.push(resolve));
  send({ type: 'stats' });
  return reply;
}

async function outbound(page) {
  return page.evaluate(async () => {
    const out = {};
    (await window.pc.getStats()).forEach((r) => {
      if (r.type === 'outbound-rtp' && r.kind === 'video')
        for (const k of ['packetsSent', 'retransmittedPacketsSent', 'bytesSent', 'framesEncoded', 'keyFramesEncoded',
                         'nackCount', 'pliCount', 'firCount', 'targetBitrate', 'encoderImplementation'])
          out[k] = r[k];
      if (r.type === 'remote-inbound-rtp' && r.kind === 'video') out.remoteLost = r.packetsLost;
    });
    return out;
  });
}

// Loss towards the last buyer only: over the same span it decodes ≥ 80 % of the frames a lossless
// buyer does, never freezes long, and its losses are repaired — Chromium NACKs, the relay resends
// (counted as sent), and with RTX negotiated Chromium counts retransmitted packets received.
async function judgeLoss(buyers, first) {
  const lossy = buyers.at(-1);
  const ref = buyers[0];
  const start = await driverStats();
  const begin = Object.fromEntries(await Promise.all(buyers.map(async (b) => [b, await inbound(pages[b])])));
  // Longest span without a new decoded frame, per buyer: a stall both show is the seller's or the
  // machine's, not the loss's.
  const last = Object.fromEntries(buyers.map((b) => [b, { frames: begin[b].framesDecoded, at: Date.now(), longest: 0 }]));
  const until = Date.now() + seconds * 1000;
  while (Date.now() < until) {
    await sleep(100);
    for (const b of [ref, lossy]) {
      const s = await inbound(pages[b]);
      const l = last[b];
      if (s.framesDecoded > l.frames) Object.assign(l, { frames: s.framesDecoded, at: Date.now() });
      l.longest = Math.max(l.longest, Date.now() - l.at);
    }
  }
  const end = Object.fromEntries(await Promise.all(buyers.map(async (b) => [b, await inbound(pages[b])])));
  const stats = await driverStats();
  const frames = (b) => end[b].framesDecoded - begin[b].framesDecoded;
  const rtx = (stats.retransmissions_sent ?? 0) - (start.retransmissions_sent ?? 0);
  const dropped = stats.lossy[lossy].rtp_dropped - start.lossy[lossy].rtp_dropped;
  const negotiatedRtx = /^a=rtpmap:\d+ rtx\//m.test(sdps[`${lossy}-answer`]);
  const figures = {
    path: directUdp ? 'fan-out' : 'webrtcbin', loss, seconds, rtx_negotiated: negotiatedRtx,
    frames_lossless: frames(ref), frames_lossy: frames(lossy),
    longest_stall_ms_lossless: last[ref].longest, longest_stall_ms_lossy: last[lossy].longest,
    rtp_dropped: dropped, nacks: end[lossy].nackCount - begin[lossy].nackCount,
    retransmitted_received: (end[lossy].retransmittedPacketsReceived ?? 0) - (begin[lossy].retransmittedPacketsReceived ?? 0),
    relay_retransmissions_sent: rtx, relay_retransmissions_refused: stats.retransmissions_refused - start.retransmissions_refused,
    packets_lost_lossy: end[lossy].packetsLost, packets_lost_lossless: end[ref].packetsLost,
    freezes_lossy: end[lossy].freezeCount, freezes_lossless: end[ref].freezeCount,
  };
  log('loss figures', JSON.stringify(figures));
  for (const b of buyers) log(b, JSON.stringify(end[b]));
  if (dropped < 20) fail(`only ${dropped} RTP packets dropped towards ${lossy}: no loss to repair`);
  if (frames(ref) < seconds * 10) fail(`the lossless buyer decoded only ${frames(ref)} frames in ${seconds} s`);
  if (frames(lossy) < 0.8 * frames(ref)) fail(`${lossy} decoded ${frames(lossy)} frames, the lossless buyer ${frames(ref)}`);
  if (last[lossy].longest > last[ref].longest + 1000)
    fail(`${lossy} froze for ${last[lossy].longest} ms, the lossless buyer ${last[ref].longest} ms`);
  if (!(figures.nacks > 0)) fail(`${lossy} sent no NACK`);
  if (!(rtx > 0)) fail(`the relay resent nothing (${JSON.stringify(stats)})`);
  if (negotiatedRtx && !(figures.retransmitted_received > 0)) fail(`${lossy} received no RTX packet`);
  if (stats.buyer_legs_direct !== (directUdp ? buyers.length : 0))
    fail(`${stats.buyer_legs_direct} of ${buyers.length} buyer legs on the fan-out`);
  first[lossy] = end[lossy];
}

try {
  await newPeer('seller', 'seller');
  const buyers = [];
  for (let i = 0; i < nBuyers; i++) buyers.push(`buyer-${i}`);
  for (const b of buyers) {
    await newPeer(b, 'buyer');
    send({ type: 'add-buyer', leg: b, loss: loss > 0 && b === buyers.at(-1) ? loss : 0 });
  }
  // Connected and decoding within 20 s, then frames keep coming for the measured span.
  const first = {};
  for (let t = 0; t < 200 && Object.keys(first).length < buyers.length && !process.exitCode; t++) {
    for (const b of buyers) if (!first[b] && (await inbound(pages[b])).framesDecoded > 0) first[b] = await inbound(pages[b]);
    await sleep(100);
  }
  log('seller', JSON.stringify(await outbound(pages.seller)));
  for (const b of buyers) if (!first[b]) fail(`${b} decoded no frame in 20 s: ${JSON.stringify(await inbound(pages[b]))}`);
  if (!process.exitCode && loss > 0) await judgeLoss(buyers, first);
  else if (!process.exitCode) {
    await sleep(seconds * 1000);
    log('seller', JSON.stringify(await outbound(pages.seller)));
    const answer = sdps['seller-answer'];
    for (const b of buyers) {
      const s = await inbound(pages[b]);
      checkForwarding(b, answer, sdps[`${b}-offer`], s.ssrc);
      const fps = (s.framesDecoded - first[b].framesDecoded) / seconds;
      log(b, JSON.stringify({ fps, ...s }));
      if (s.codec !== `video/${codec}`) fail(`${b} decodes ${s.codec}, not ${codec}`);
      if (fps < 10) fail(`${b} decodes ${fps.toFixed(1)} frames/s`);
      if (s.packetsLost > s.packetsReceived / 50) fail(`${b} lost ${s.packetsLost} of ${s.packetsReceived} packets`);
    }
    const stats = await driverStats();
    log('relay', JSON.stringify(stats));
    if (stats.buyer_legs_direct !== buyers.length)
      fail(`${stats.buyer_legs_direct} of ${buyers.length} buyer legs forwarded by the UDP fan-out`);
  }
  // Restarts are judged without loss.
  if (loss > 0) throw 'done';
  // A phone changing network: the relay restarts the first buyer's leg (new ICE credentials and
  // DTLS certificate, a fresh offer); the buyer answers on its existing peer connection and keeps
  // decoding, the other buyers see nothing of it.
  if (!process.exitCode) {
    const b0 = buyers[0];
    const before = Object.fromEntries(await Promise.all(buyers.map(async (b) => [b, await inbound(pages[b])])));
    const oldOffer = sdps[`${b0}-offer`];
    send({ type: 'restart', leg: b0 });
    let resumed = null;
    for (let t = 0; t < 150 && !resumed && !process.exitCode; t++) {
      await sleep(100);
      const s = await inbound(pages[b0]);
      if (sdps[`${b0}-offer`] !== oldOffer && s.framesDecoded >= before[b0].framesDecoded + 20) resumed = s;
    }
    if (!resumed) fail(`${b0} did not decode again after the ICE restart: ${JSON.stringify(await inbound(pages[b0]))}`);
    else log(b0, 'after the ICE restart', JSON.stringify(resumed));
    const ufrag = (sdp) => sdp.match(/^a=ice-ufrag:(\S+)/m)?.[1];
    if (ufrag(sdps[`${b0}-offer`]) === ufrag(oldOffer)) fail(`${b0}: the restart offer kept the old ICE credentials`);
    for (const b of buyers.slice(1)) {
      const s = await inbound(pages[b]);
      if (s.framesDecoded < before[b].framesDecoded + 20) fail(`${b} stalled during ${b0}'s restart`);
    }
    const stats = await driverStats();
    if (stats.buyer_legs !== buyers.length || stats.buyer_legs_direct !== buyers.length)
      fail(`after the restart: ${JSON.stringify(stats)}`);
  }
  // The seller's phone changes network: the seller restarts ICE (restartIce, a new offer on its
  // relay connection); the relay replaces its side of the seller leg, the buyers' legs go on and
  // every buyer keeps decoding.
  if (!process.exitCode) {
    const before = Object.fromEntries(await Promise.all(buyers.map(async (b) => [b, await inbound(pages[b])])));
    const offer = await pages.seller.evaluate(async () => {
      window.pc.restartIce();
      await window.pc.setLocalDescription();
      return window.pc.localDescription.sdp;
    });
    const oldAnswer = sdps['seller-answer'];
    send({ type: 'sdp', leg: 'seller', sdp_type: 'offer', sdp: offer });
    let resumed = false;
    for (let t = 0; t < 150 && !resumed && !process.exitCode; t++) {
      await sleep(100);
      const now = await Promise.all(buyers.map((b) => inbound(pages[b])));
      resumed = sdps['seller-answer'] !== oldAnswer
        && now.every((s, i) => s.framesDecoded >= before[buyers[i]].framesDecoded + 40);
    }
    if (!resumed)
      fail(`buyers did not keep decoding through the seller's ICE restart: ${JSON.stringify(
        await Promise.all(buyers.map((b) => inbound(pages[b]))))}`);
    else log('seller ICE restart: every buyer decoding again', JSON.stringify(await outbound(pages.seller)));
    const stats = await driverStats();
    if (stats.buyer_legs !== buyers.length || stats.buyer_legs_direct !== buyers.length)
      fail(`after the seller's restart: ${JSON.stringify(stats)}`);
  }
} catch (e) {
  if (e !== 'done') fail(e.stack);
} finally {
  if (verbose || process.exitCode) for (const [k, v] of Object.entries(sdps)) log(`--- ${k}\n${v}`);
  if (!driverExited) send({ type: 'quit' });
  await browser.close();
  http.close();
  for (let i = 0; i < 50 && !driverExited; i++) await sleep(100);
  if (!driverExited) driver.kill('SIGKILL');
}
if (!process.exitCode) log(`PASS (${codec}, ${nBuyers} buyer(s))`);
