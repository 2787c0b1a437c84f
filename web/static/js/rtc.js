// rtc.js — one party's WebRTC side of a watch session. The server picks the path: P2P (the seller
// offers to the buyer) or relay (each side talks to the server's relay). Signals carry the path
// they belong to, so late messages from an abandoned path are ignored.

// Client → server message names of the watch-session protocol, in one place.
export const MSG = {
  start: 'watch.start',
  accept: 'session.accept',
  decline: 'session.decline',
  signal: 'signal',
  iceState: 'ice_state',
  firstFrame: 'first_frame',
  stats: 'stats',
  leave: 'session.leave',
};

// ICE servers from GET /api/v1/rtc (fetched at sign-in); a session message may bring its own.
let defaultIceServers = [];

export function setIceServers(list) {
  defaultIceServers = Array.isArray(list) ? list : [];
}

function iceServers(msg) {
  return Array.isArray(msg?.ice_servers) ? msg.ice_servers : defaultIceServers;
}

// VP8 first: every browser decodes it and the relay forwards it unchanged to any buyer; the
// other codecs stay listed after it as fallbacks.
function preferVp8(pc) {
  const caps = window.RTCRtpSender?.getCapabilities?.('video');
  if (!caps) return;
  const rank = (c) => (/vp8/i.test(c.mimeType) ? 0 : /rtx|red|ulpfec/i.test(c.mimeType) ? 1 : 2);
  const codecs = [...caps.codecs].sort((a, b) => rank(a) - rank(b));
  for (const t of pc.getTransceivers()) {
    try { t.setCodecPreferences(codecs); } catch { /* not supported: keep the defaults */ }
  }
}

// A peer connection bound to one (session, path). role: 'buyer' receives, 'seller' sends.
export class PathPeer {
  constructor(rt, { sessionId, path, role, stream, servers, onTrack, onIceState }) {
    this.rt = rt;
    this.sessionId = sessionId;
    this.path = path;
    this.role = role;
    this.pc = new RTCPeerConnection({ iceServers: servers || [], bundlePolicy: 'max-bundle' });
    this.pendingCandidates = [];
    if (stream) for (const track of stream.getTracks()) this.pc.addTrack(track, stream);
    else this.pc.addTransceiver('video', { direction: 'recvonly' });
    preferVp8(this.pc);
    this.pc.onicecandidate = (ev) => this.sendSignal('ice_candidate', {
      candidate: ev.candidate ? ev.candidate.candidate : '',
      sdp_mid: ev.candidate?.sdpMid ?? undefined,
      sdp_mline_index: ev.candidate?.sdpMLineIndex ?? undefined,
    });
    this.pc.oniceconnectionstatechange = () => {
      const state = this.pc.iceConnectionState;
      this.rt.send(MSG.iceState, { session_id: this.sessionId, path: this.path, state });
      onIceState?.(state);
    };
    if (onTrack) this.pc.ontrack = (ev) => onTrack(ev.streams[0] || new MediaStream([ev.track]));
  }

  sendSignal(kind, fields) {
    const body = { path: this.path, kind, ...fields };
    if (this.sessionId) body.session_id = this.sessionId;
    for (const k of Object.keys(body)) if (body[k] === undefined) delete body[k];
    this.rt.request(MSG.signal, body).catch((e) => console.warn(`signal ${kind}:`, e.message));
  }

  async offer() {
    const desc = await this.pc.createOffer();
    await this.pc.setLocalDescription(desc);
    this.sendSignal('sdp_offer', { sdp: this.pc.localDescription.sdp });
  }

  // ICE restart on this connection (protocol.md, "Who restarts ICE"): new credentials, then a
  // new offer; the relay answers it from a fresh transport. sessionId: the session to name when
  // the one this connection was made for has ended (a shared relay connection).
  async restartIce(sessionId) {
    if (sessionId) this.sessionId = sessionId;
    this.restarts = (this.restarts || 0) + 1;
    this.pc.restartIce();
    await this.offer();
  }

  // A signal from the other side (or the relay) for this path.
  async handle(msg) {
    if (msg.kind === 'sdp_offer') {
      await this.pc.setRemoteDescription({ type: 'offer', sdp: msg.sdp });
      await this.flushCandidates();
      const answer = await this.pc.createAnswer();
      await this.pc.setLocalDescription(answer);
      this.sendSignal('sdp_answer', { sdp: this.pc.localDescription.sdp });
    } else if (msg.kind === 'sdp_answer') {
      await this.pc.setRemoteDescription({ type: 'answer', sdp: msg.sdp });
      await this.flushCandidates();
    } else if (msg.kind === 'ice_candidate') {
      const c = { candidate: msg.candidate, sdpMid: msg.sdp_mid ?? null,
                  sdpMLineIndex: msg.sdp_mline_index ?? (msg.sdp_mid ? null : 0) };
      if (!this.pc.remoteDescription) this.pendingCandidates.push(c);
      else await this.addCandidate(c);
    }
  }

  async flushCandidates() {
    const list = this.pendingCandidates;
    this.pendingCandidates = [];
    for (const c of list) await this.addCandidate(c);
  }

  async addCandidate(c) {
    try {
      if (c.candidate === '') await this.pc.addIceCandidate(null);
      else await this.pc.addIceCandidate(c);
    } catch (e) {
      console.warn('candidate refused:', e.message);
    }
  }

  close() {
    try { this.pc.close(); } catch { /* already closed */ }
  }
}

export { iceServers };
