// profile.js — a seller's full profile: picture, name, rating, score/tier, description, live
// status (kept current by profile.watch), history, and the conditional Watch Live button.

import { get } from './api.js';
import { h, clear, avatar, stars, statusLabel, errorBox } from './ui.js';

function actionButton(ctx, p, status) {
  if (ctx.me && ctx.me.id === p.id) {
    return h('button', { type: 'button', id: 'watch-button', disabled: true }, 'This is your profile');
  }
  if (status === 'streaming') {
    return h('button', { type: 'button', class: 'primary live', id: 'watch-button',
                         onclick: () => ctx.navigate(`/watch/${p.id}`) },
             `Watch Live (${p.price_per_minute} credits/min)`);
  }
  return h('button', { type: 'button', id: 'watch-button', disabled: true },
           status === 'online' ? 'Not currently streaming' : 'Offline');
}

function historyList(items) {
  if (!items || items.length === 0) return h('p', { class: 'empty', id: 'history-empty' }, 'No sessions yet.');
  return h('ul', { class: 'history', id: 'history' },
    items.map((it) => h('li', {}, it.text || `Streamed ${it.minutes} min`)));
}

export function render(ctx, root, { id }) {
  const err = errorBox();
  const body = h('div', { class: 'profile' }, h('p', {}, 'Loading…'));
  root.append(err, body);
  let status = 'offline';
  let profile = null;
  const statusEl = h('p', { id: 'profile-status', role: 'status', 'aria-live': 'polite' });
  const actionEl = h('div', { class: 'action' });

  const showStatus = () => {
    statusEl.className = `status status-${status}`;
    statusEl.textContent = `Status: ${statusLabel(status)}`;
    if (profile) clear(actionEl, actionButton(ctx, profile, status));
  };

  const watch = () => ctx.rt.request('profile.watch', { seller_id: id })
    .catch((e) => console.warn('profile.watch:', e.message));
  const offs = [
    ctx.rt.on('profile.status', (msg) => {
      if (msg.seller_id !== id) return;
      status = msg.status;
      showStatus();
    }),
    ctx.rt.on('ready', watch),
  ];

  (async () => {
    try {
      profile = await get(`/api/v1/sellers/${id}`);
    } catch (e) {
      clear(body);
      err.show(e);
      return;
    }
    const p = profile;
    const r = p.rating || { count: 0 };
    if (p.status) status = p.status;
    clear(body,
      h('section', { class: 'card profile-head', 'aria-labelledby': 'profile-name' },
        avatar(p.picture_url, p.username, 'avatar big'),
        h('div', {},
          h('h1', { id: 'profile-name' }, p.display_name || p.username),
          p.display_name ? h('p', { class: 'muted' }, `@${p.username}`) : null,
          h('p', { class: 'rating', id: 'profile-rating' }, stars(r.average, r.count)),
          h('p', { class: 'score', id: 'profile-score' },
            `Reputation: ${r.score ?? 0}/100 · tier ${r.tier || 'new'}`),
          statusEl)),
      h('section', { class: 'card' },
        h('h2', {}, 'About'),
        h('p', { class: 'description', id: 'profile-description' }, p.description || 'No description.'),
        h('p', {}, `Price: ${p.price_per_minute} credits per minute`),
        actionEl),
      h('section', { class: 'card', 'aria-labelledby': 'hist-title' },
        h('h2', { id: 'hist-title' }, 'History'),
        historyList(p.history)));
    showStatus();
    watch();
  })();

  return () => {
    offs.forEach((off) => off());
    ctx.rt.send('profile.unwatch', { seller_id: id });
  };
}
