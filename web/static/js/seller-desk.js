// seller-desk.js — the seller's side of streaming, kept across screens: camera, live state,
// incoming watch sessions and their peer connections, earnings.

import { get } from './api.js';
import { MSG, PathPeer, iceServers } from './rtc.js';

export class SellerDesk {
  constructor(ctx) {
    this.ctx = ctx;
    this.stream = null;
    this.live = false;
    this.startedAt = 0;
    this.earned = 0;
    this.balanceAtStart = null;
    this.sessions = new Map(); // session_id -> { peer, buyer_id, state, path, minutes, reconnecting }
    this.relayLeg = null;      // one shared leg to the relay for all relayed viewers
    this.listeners = new Set();
    const rt = ctx.rt;
    rt.on('presence', (msg) => {
      const wasLive = this.live;
      this.live = msg.state === 'streaming';
      if (this.live && !wasLive) this.startedAt = Date.now();
      this.changed();
    });
    rt.on('ready', (msg) => { this.live = msg.state === 'streaming'; this.changed(); });
    // Being live means accepting viewers: sessions are answered at once.
    rt.on('session.offer', (msg) => this.onOffer(msg));
    rt.on('session.state', (msg) => this.onState(msg));
    rt.on('session.ended', (msg) => this.onEnded(msg));
    rt.on('session.use_p2p', (msg) => this.onUseP2p(msg));
    rt.on('session.use_relay', (msg) => this.onUseRelay(msg));
    rt.on('signal', (msg) => this.onSignal(msg));
    // Our side of every P2P connection, so a buyer that stops reporting can be noticed.
    setInterval(() => this.reportStats(), 2000);
    rt.on('billing.earned', (msg) => {
      const s = this.sessions.get(msg.session_id);
      if (s) s.minutes = msg.minutes_charged;
      // The message carries this minute's share; without it (an older server, a forgotten
      // session) the wallet tells.
      if (Number.isInteger(msg.amount)) {
        this.earned += msg.amount;
        this.changed();
      } else {
        this.refreshEarned();
      }
    });
  }

  onChange(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  changed() {
    for (const fn of this.listeners) fn(this);
  }

  get viewers() {
    return [...this.sessions.values()].filter((s) => s.state === 'active').length;
  }

  async openCamera() {
    if (this.stream) return this.stream;
    this.stream = await navigator.mediaDevices.getUserMedia({
      video: { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 24 } },
      audio: false,
    });
    this.changed();
    return this.stream;
  }

  closeCamera() {
    if (this.stream) this.stream.getTracks().forEach((t) => t.stop());
    this.stream = null;
    this.changed();
  }

  // Earnings of this stream from the wallet: the balance now minus the balance when it started
  // (what the ledger credited, the platform fee already taken).
  async refreshEarned() {
    try {
      const w = await get('/api/v1/me/wallet?limit=1');
      if (this.balanceAtStart === null) this.balanceAtStart = w.balance;
      this.earned = w.balance - this.balanceAtStart;
      this.changed();
    } catch { /* shown at the next charge */ }
  }

  async goLive() {
    await this.openCamera();
    this.balanceAtStart = null;
    await this.refreshEarned();
    await this.ctx.rt.request('go_live');
    this.live = true;
    this.startedAt = Date.now();
    this.earned = 0;
    this.changed();
  }

  async stop() {
    try {
      await this.ctx.rt.request('stop_live');
    } finally {
      for (const s of this.sessions.values()) s.peer?.close();
      this.sessions.clear();
      this.relayLeg?.close();
      this.relayLeg = null;
      this.live = false;
      this.closeCamera();
    }
  }

  async onOffer(msg) {
    if (!this.live || !this.stream) {
      this.ctx.rt.send(MSG.decline, { session_id: msg.session_id });
      return;
    }
    this.sessions.set(msg.session_id, { peer: null, buyer_id: msg.buyer_id, state: 'requested', minutes: 0 });
    this.changed();
    try {
      await this.ctx.rt.request(MSG.accept, { session_id: msg.session_id });
    } catch (e) {
      console.warn('accept refused:', e.message);
      this.sessions.delete(msg.session_id);
      this.changed();
    }
  }

  // P2P: the seller offers its camera straight to the buyer.
  onUseP2p(msg) {
    const s = this.sessions.get(msg.session_id);
    if (!s || !this.stream) return;
    s.peer?.close();
    s.path = 'p2p';
    s.peer = new PathPeer(this.ctx.rt, { sessionId: msg.session_id, path: 'p2p', role: 'seller',
                                        stream: this.stream, servers: iceServers(msg) });
    s.peer.offer().catch((e) => console.warn('p2p offer:', e.message));
  }

  // Relay: the P2P peer of that session goes; the shared leg to the relay is (re)made on request.
  onUseRelay(msg) {
    const s = this.sessions.get(msg.session_id);
    if (s) {
      s.peer?.close();
      s.peer = null;
      s.path = 'relay';
    }
    if (!this.stream || (!msg.offer_needed && this.relayLeg)) return;
    this.relayLeg?.close();
    const leg = new PathPeer(this.ctx.rt, { sessionId: msg.session_id, path: 'relay', role: 'seller',
                                           stream: this.stream, servers: iceServers(msg),
                                           onIceState: (state) => {
                                             if (state === 'disconnected' && leg === this.relayLeg) this.restartRelay();
                                           } });
    this.relayLeg = leg;
    this.relayRestartAt = 0;
    leg.offer().catch((e) => console.warn('relay offer:', e.message));
  }

  // protocol.md: the seller restarts ICE on its relay connection when it goes disconnected, or
  // when a relayed session turns "reconnecting" (the relay lost our media; our side may still
  // look connected). One restart covers both signs of the same outage.
  restartRelay(sessionId) {
    const leg = this.relayLeg;
    if (!leg || Date.now() - (this.relayRestartAt || 0) < 3000) return;
    if (!sessionId) {
      for (const [id, s] of this.sessions) if (s.path === 'relay') sessionId = id;
    }
    if (!sessionId) return;
    this.relayRestartAt = Date.now();
    leg.restartIce(sessionId).catch((e) => console.warn('relay ICE restart:', e.message));
  }

  // P2P send statistics (protocol.md, stats from the seller): the outbound video counters and what
  // the buyer's RTCP receiver reports said. Cumulative; rr_count is the browser's count of
  // receiver reports, or ours when it has none.
  async reportStats() {
    for (const [id, s] of this.sessions) {
      if (s.path !== 'p2p' || !s.peer || (s.state !== 'connecting_p2p' && s.state !== 'active')) continue;
      let out = null, rr = null;
      try {
        (await s.peer.pc.getStats()).forEach((r) => {
          if (r.type === 'outbound-rtp' && r.kind === 'video') out = r;
          if (r.type === 'remote-inbound-rtp' && r.kind === 'video') rr = r;
        });
      } catch { continue; /* closed meanwhile */ }
      if (!out) continue;
      if (rr && rr.timestamp !== s.rrStamp) {
        s.rrStamp = rr.timestamp;
        s.rrSeen = (s.rrSeen || 0) + 1;
      }
      const body = {
        session_id: id,
        packets_sent: out.packetsSent || 0,
        bytes_sent: out.bytesSent || 0,
        rr_count: Number.isInteger(rr?.roundTripTimeMeasurements) ? rr.roundTripTimeMeasurements : (s.rrSeen || 0),
        timestamp_ms: Date.now(),
      };
      if (typeof rr?.fractionLost === 'number') body.fraction_lost = Math.min(1, Math.max(0, rr.fractionLost));
      this.ctx.rt.send(MSG.stats, body);
    }
  }

  onSignal(msg) {
    const s = msg.session_id !== undefined ? this.sessions.get(msg.session_id) : null;
    const peer = msg.path === 'relay' ? this.relayLeg : s?.peer;
    if (peer) peer.handle(msg).catch((e) => console.warn('signal:', e.message));
  }

  onState(msg) {
    const s = this.sessions.get(msg.session_id);
    if (!s) return;
    const turned = msg.reconnecting === true && !s.reconnecting;
    s.state = msg.state;
    s.path = msg.path;
    s.reconnecting = msg.reconnecting === true;
    if (turned && msg.path === 'relay') this.restartRelay(msg.session_id);
    this.changed();
  }

  onEnded(msg) {
    const s = this.sessions.get(msg.session_id);
    if (!s) return;
    s.peer?.close();
    this.sessions.delete(msg.session_id);
    if (this.sessions.size === 0 && !this.live) {
      this.relayLeg?.close();
      this.relayLeg = null;
    }
    this.changed();
  }
}
