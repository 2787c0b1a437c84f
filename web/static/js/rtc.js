// rtc.js — one side of a watch session's WebRTC connection (placeholder until the session
// messages are final).

export class SessionPeer {
  constructor(rt, sessionId, role, opts = {}) {
    this.rt = rt;
    this.sessionId = sessionId;
    this.role = role;
    this.opts = opts;
  }

  close() {}
}
