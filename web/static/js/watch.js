// watch.js — the buyer's watch screen: starts a paid session, shows the video, elapsed time,
// minutes charged, balance and the low-balance warning; End; then the rating prompt.

import { get, post } from './api.js';
import { h, clear, errorBox, formatDuration, avatar } from './ui.js';
import { MSG, PathPeer, iceServers } from './rtc.js';

const END_TEXT = {
  buyer_left: 'You ended the session.', seller_left: 'The seller stopped the stream.',
  insufficient_credits: 'Your balance ran out.', seller_gone: 'The seller went offline.',
  banned: 'The session was stopped by moderation.', admin: 'The session was ended by support.',
  declined: 'The seller declined.', no_answer: 'The seller did not answer.',
  ice_failed: 'The video connection failed.', relay_error: 'The video relay failed.',
  server_restart: 'The server restarted.', buyer_gone: 'You were disconnected.',
  unattested: 'This app stopped confirming the video it received.',
};

function ratingPrompt(sessionId) {
  const err = errorBox();
  const done = h('p', { class: 'ok', role: 'status' });
  const box = h('section', { class: 'card', id: 'rating', 'aria-labelledby': 'rate-title' },
    h('h2', { id: 'rate-title' }, 'Rate this session'));
  const row = h('div', { class: 'stars-input', role: 'group', 'aria-label': 'Stars' });
  for (let n = 1; n <= 5; n++) {
    row.append(h('button', { type: 'button', dataset: { stars: n }, 'aria-label': `${n} star${n > 1 ? 's' : ''}`,
      onclick: async () => {
        err.show(null);
        try {
          await post(`/api/v1/sessions/${sessionId}/rating`, { stars: n });
          row.remove();
          done.textContent = `Thanks! You rated ${n} star${n > 1 ? 's' : ''}.`;
        } catch (e) { err.show(e); }
      } }, `${n} ★`));
  }
  box.append(row, err, done);
  return box;
}

export function render(ctx, root, { sellerId }) {
  const rt = ctx.rt;
  const err = errorBox();
  const video = h('video', { id: 'watch-video', autoplay: true, playsInline: true, muted: true,
                             'aria-label': 'Live video' });
  const stateEl = h('p', { id: 'watch-state', role: 'status', 'aria-live': 'polite' }, 'Starting…');
  const warning = h('p', { class: 'warning', id: 'low-balance', role: 'alert', hidden: true });
  const stats = h('dl', { class: 'stats' });
  const after = h('div', {});
  const endBtn = h('button', { type: 'button', class: 'danger', id: 'watch-end', disabled: true }, 'End');
  const head = h('div', { class: 'preview-head' });
  root.append(head, h('div', { class: 'stage' }, video), stateEl, warning, stats, err,
              h('div', { class: 'row' }, endBtn), after);

  const s = { id: null, state: 'requested', path: 'none', minutes: 0, balance: null,
              activeAt: 0, ended: false, peers: new Map(), firstFrameSent: new Set() };

  const stat = (label, id, value) => h('div', { class: 'stat' }, h('dt', {}, label), h('dd', { id }, value));
  const draw = () => clear(stats,
    stat('Elapsed', 'watch-elapsed',
         formatDuration(s.activeAt ? ((s.endedAt || Date.now()) - s.activeAt) / 1000 : 0)),
    stat('Minutes charged', 'watch-minutes', String(s.minutes)),
    stat('Balance', 'watch-balance', s.balance === null ? '…' : `${s.balance} credits`));
  const tick = setInterval(draw, 1000);
  draw();

  get('/api/v1/me/wallet?limit=1').then((w) => { if (s.balance === null) { s.balance = w.balance; draw(); } })
    .catch(() => {});
  get(`/api/v1/sellers/${sellerId}`).then((p) => clear(head, avatar(p.picture_url, p.username),
    h('div', {}, h('h1', {}, `Watching ${p.display_name || p.username}`),
      h('p', {}, `${p.price_per_minute} credits per minute`)))).catch(() => {});

  const mine = (msg) => s.id !== null && msg.session_id === s.id;

  const onFrame = (path) => {
    if (s.firstFrameSent.has(path) || s.ended) return;
    s.firstFrameSent.add(path);
    rt.send(MSG.firstFrame, { session_id: s.id, path });
  };

  const openPath = (path, msg) => {
    for (const [p, peer] of s.peers) if (p !== path) { peer.close(); s.peers.delete(p); }
    if (s.peers.has(path)) return;
    const peer = new PathPeer(rt, {
      sessionId: s.id, path, role: 'buyer', servers: iceServers(msg),
      onTrack: (stream) => {
        video.srcObject = stream;
        video.play().catch(() => {});
        const wait = () => {
          if (video.readyState >= 2 && video.videoWidth > 0) onFrame(path);
          else if (!s.ended) setTimeout(wait, 100);
        };
        wait();
      },
    });
    s.peers.set(path, peer);
  };

  // Decoded-frame reports back the P2P billing (≤ 5 s apart).
  const statsTimer = setInterval(async () => {
    if (s.ended || s.id === null) return;
    for (const [path, peer] of s.peers) {
      let frames = 0, bytes = 0;
      (await peer.pc.getStats()).forEach((r) => {
        if (r.type === 'inbound-rtp' && r.kind === 'video') {
          frames += r.framesDecoded || 0;
          bytes += r.bytesReceived || 0;
        }
      });
      rt.send(MSG.stats, { session_id: s.id, frames_decoded: frames, bytes_received: bytes,
                           timestamp_ms: Date.now() });
    }
  }, 2000);

  const finish = (msg) => {
    if (s.ended) return;
    s.ended = true;
    s.endedAt = Date.now();
    s.state = 'ended';
    for (const peer of s.peers.values()) peer.close();
    s.peers.clear();
    endBtn.disabled = true;
    stateEl.textContent = `Session ended. ${END_TEXT[msg.reason] || msg.reason || ''}`;
    stateEl.dataset.reason = msg.reason || '';
    if (s.minutes > 0) after.append(ratingPrompt(s.id));
    after.append(h('p', {}, h('a', { href: `#/seller/${sellerId}` }, 'Back to the profile'), ' · ',
                 h('a', { href: '#/map' }, 'Map')));
  };

  const offs = [
    rt.on('session.state', (msg) => {
      if (!mine(msg)) return;
      s.state = msg.state;
      s.path = msg.path;
      if (msg.state === 'active' && !s.activeAt) s.activeAt = Date.now();
      stateEl.textContent = msg.state === 'active'
        ? `Live${msg.path === 'relay' ? ' (relayed)' : ''}${msg.reconnecting ? ' — reconnecting…' : ''}`
        : msg.state === 'requested' ? 'Waiting for the seller…' : 'Connecting…';
      stateEl.dataset.state = msg.state;
      stateEl.dataset.path = msg.path;
    }),
    rt.on('session.use_p2p', (msg) => { if (mine(msg)) openPath('p2p', msg); }),
    rt.on('session.use_relay', (msg) => { if (mine(msg)) openPath('relay', msg); }),
    rt.on('signal', (msg) => {
      if (!mine(msg)) return;
      const peer = s.peers.get(msg.path);
      if (peer) peer.handle(msg).catch((e) => console.warn('signal:', e.message));
    }),
    rt.on('session.ended', (msg) => { if (mine(msg)) finish(msg); }),
    rt.on('billing.charged', (msg) => {
      if (!mine(msg)) return;
      s.minutes = msg.minutes_charged;
      s.balance = msg.balance;
      draw();
    }),
    rt.on('billing.low_balance', (msg) => {
      if (!mine(msg)) return;
      s.balance = msg.balance;
      warning.hidden = false;
      warning.textContent = `Low balance: ${msg.balance} credits left, less than two minutes.`;
      draw();
    }),
  ];

  endBtn.addEventListener('click', async () => {
    err.show(null);
    try { await rt.request(MSG.leave, { session_id: s.id }); } catch (e) { err.show(e); }
  });

  (async () => {
    try {
      const reply = await rt.request(MSG.start, { seller_id: sellerId });
      s.id = reply.session_id;
      endBtn.disabled = false;
      stateEl.textContent = 'Waiting for the seller…';
      stateEl.dataset.session = String(s.id);
    } catch (e) {
      stateEl.textContent = 'Could not start watching.';
      err.show(e);
    }
  })();

  return () => {
    clearInterval(tick);
    clearInterval(statsTimer);
    offs.forEach((off) => off());
    if (s.id !== null && !s.ended) rt.send(MSG.leave, { session_id: s.id });
    for (const peer of s.peers.values()) peer.close();
  };
}
