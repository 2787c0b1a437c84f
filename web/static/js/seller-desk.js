// seller-desk.js — the seller's side of streaming, kept across screens: camera, live state,
// incoming watch sessions and their peer connections, earnings.

import { SessionPeer } from './rtc.js';

export class SellerDesk {
  constructor(ctx) {
    this.ctx = ctx;
    this.stream = null;
    this.live = false;
    this.startedAt = 0;
    this.earned = 0;
    this.sessions = new Map(); // session_id -> { peer, buyer_id, state, path }
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
    rt.on('billing.earned', (msg) => {
      const s = this.sessions.get(msg.session_id);
      if (s) s.minutes = msg.minutes_charged;
      this.earned += msg.amount ?? 0;
      this.changed();
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

  async goLive() {
    await this.openCamera();
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
      for (const s of this.sessions.values()) s.peer.close();
      this.sessions.clear();
      this.live = false;
      this.closeCamera();
    }
  }

  async onOffer(msg) {
    if (!this.live || !this.stream) {
      this.ctx.rt.send('session.decline', { session_id: msg.session_id });
      return;
    }
    const peer = new SessionPeer(this.ctx.rt, msg.session_id, 'seller', { stream: this.stream });
    this.sessions.set(msg.session_id, { peer, buyer_id: msg.buyer_id, state: 'requested', minutes: 0 });
    this.changed();
    try {
      await this.ctx.rt.request('session.accept', { session_id: msg.session_id });
    } catch (e) {
      console.warn('accept refused:', e.message);
      peer.close();
      this.sessions.delete(msg.session_id);
      this.changed();
    }
  }

  onState(msg) {
    const s = this.sessions.get(msg.session_id);
    if (!s) return;
    s.state = msg.state;
    s.path = msg.path;
    this.changed();
  }

  onEnded(msg) {
    const s = this.sessions.get(msg.session_id);
    if (!s) return;
    s.peer.close();
    this.sessions.delete(msg.session_id);
    this.changed();
  }
}
