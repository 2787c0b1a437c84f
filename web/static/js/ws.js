// ws.js — the WebSocket link: auth by first message, request/reply by `ref`, listeners by type,
// reconnect with backoff. Screens re-send their state (location, subscriptions) on 'ready'.

import { ApiError } from './api.js';

const FATAL = new Set(['auth_failed', 'banned', 'unauthorized']);

export class Realtime {
  constructor() {
    this.ws = null;
    this.token = null;
    this.ready = false;
    this.nextRef = 1;
    this.pending = new Map();
    this.listeners = new Map();
    this.retryMs = 500;
    this.retryTimer = null;
    this.info = null; // auth_ok body
  }

  on(type, fn) {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type).add(fn);
    return () => this.listeners.get(type).delete(fn);
  }

  emit(type, msg) {
    for (const key of [type, '*']) {
      for (const fn of [...(this.listeners.get(key) || [])]) {
        try { fn(msg); } catch (e) { console.error('listener for', type, e); }
      }
    }
  }

  connect(token) {
    this.close();
    this.token = token;
    this.stopped = false;
    this.open();
  }

  open() {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${scheme}//${location.host}/api/v1/ws`, ['kamegor.v1']);
    this.ws = ws;
    this.emit('link', { state: 'connecting' });
    // The token goes in the first message, never in the URL (URLs end up in logs).
    ws.onopen = () => ws.send(JSON.stringify({ type: 'auth', token: this.token, ref: 'auth' }));
    ws.onmessage = (ev) => this.onMessage(ws, ev.data);
    ws.onclose = (ev) => this.onClose(ws, ev);
  }

  onMessage(ws, data) {
    let msg;
    try { msg = JSON.parse(data); } catch { return; }
    if (ws !== this.ws) return;
    if (msg.type === 'auth_ok') {
      this.ready = true;
      this.retryMs = 500;
      this.info = msg;
      this.emit('link', { state: 'ready' });
      this.emit('ready', msg);
      return;
    }
    if (msg.type === 'error' && (msg.ref === 'auth' || (!this.ready && FATAL.has(msg.code)))) {
      this.fatal = msg;
      this.emit('fatal', msg);
      return;
    }
    if (msg.ref !== undefined && this.pending.has(msg.ref)) {
      const { resolve, reject } = this.pending.get(msg.ref);
      this.pending.delete(msg.ref);
      if (msg.type === 'error') reject(new ApiError(0, msg.code, msg.message));
      else resolve(msg);
    }
    this.emit(msg.type, msg);
  }

  onClose(ws, ev) {
    if (ws !== this.ws) return;
    this.ready = false;
    this.ws = null;
    for (const { reject } of this.pending.values()) reject(new ApiError(0, 'closed', 'connection closed'));
    this.pending.clear();
    this.emit('link', { state: 'closed', code: ev.code, reason: ev.reason });
    if (this.stopped || this.fatal) return;
    this.retryTimer = setTimeout(() => this.open(), this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, 8000);
  }

  send(type, body = {}) {
    if (!this.ready) return false;
    this.ws.send(JSON.stringify({ type, ...body }));
    return true;
  }

  // Resolves with the reply carrying the same ref; rejects with the server's error.
  request(type, body = {}) {
    if (!this.ready) return Promise.reject(new ApiError(0, 'offline', 'not connected to the server'));
    const ref = `r${this.nextRef++}`;
    return new Promise((resolve, reject) => {
      this.pending.set(ref, { resolve, reject });
      this.ws.send(JSON.stringify({ type, ref, ...body }));
    });
  }

  close() {
    this.stopped = true;
    this.fatal = null;
    clearTimeout(this.retryTimer);
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      this.ready = false;
      try { ws.send(JSON.stringify({ type: 'bye' })); } catch { /* already closing */ }
      ws.close(1000, 'bye');
    }
  }
}
