// live.js — the seller's Go Live screen and active stream screen: camera preview, viewers, elapsed
// time, earnings, Stop.

import { h, clear, errorBox, formatDuration } from './ui.js';

export function render(ctx, root) {
  const desk = ctx.desk;
  const err = errorBox();
  const video = h('video', { id: 'live-preview', autoplay: true, muted: true, playsInline: true,
                             'aria-label': 'Your camera' });
  const stage = h('div', { class: 'stage' }, video);
  const stats = h('dl', { class: 'stats' });
  const actions = h('div', { class: 'row' });
  const title = h('h1', { id: 'live-title' });
  let tick = null;

  const stat = (label, id, value) => h('div', { class: 'stat' }, h('dt', {}, label), h('dd', { id }, value));

  const draw = () => {
    if (video.srcObject !== desk.stream) video.srcObject = desk.stream;
    stage.querySelector('.on-air')?.remove();
    if (desk.live) stage.append(h('span', { class: 'on-air' }, 'LIVE'));
    title.textContent = desk.live ? 'You are live' : 'Go Live';
    clear(stats,
      desk.live ? stat('Elapsed', 'live-elapsed', formatDuration((Date.now() - desk.startedAt) / 1000)) : null,
      desk.live ? stat('Viewers', 'live-viewers', String(desk.viewers)) : null,
      desk.live ? stat('Earned', 'live-earned', `${desk.earned} credits`) : null);
    if (!ctx.me.is_seller) {
      clear(actions, h('p', {}, 'Only sellers can go live. ', h('a', { href: '#/consent' }, 'Become a Seller')));
    } else if (desk.live) {
      clear(actions, h('button', { type: 'button', class: 'danger', id: 'live-stop', onclick: stop }, 'Stop'));
    } else {
      clear(actions,
        desk.stream ? null : h('button', { type: 'button', id: 'live-camera', onclick: camera }, 'Preview camera'),
        h('button', { type: 'button', class: 'primary live', id: 'live-go', onclick: goLive }, 'Go Live'));
    }
  };

  const camera = async () => {
    err.show(null);
    try { await desk.openCamera(); } catch (e) { err.show(e); }
  };
  const goLive = async () => {
    err.show(null);
    try { await desk.goLive(); } catch (e) { err.show(e); }
  };
  const stop = async () => {
    err.show(null);
    try { await desk.stop(); } catch (e) { err.show(e); }
  };

  root.append(title, stage, stats, err, actions,
    h('p', { class: 'muted' }, 'While you are live your marker shows your position to about 11 m. ' +
                               'Keep this page open in the foreground.'));
  const off = desk.onChange(draw);
  tick = setInterval(() => { if (desk.live) draw(); }, 1000);
  draw();
  return () => { off(); clearInterval(tick); };
}
