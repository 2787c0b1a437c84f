// main.js — the admin console: admin log-in, tabs, and the admin's own token (kept apart from
// the client's).

import { get, post, getToken, setToken, useTokenKey } from '../api.js';
import { h, clear, errorBox, field } from '../ui.js';
import * as views from './views.js';

useTokenKey('kmg.admin.token');

const TABS = [
  ['users', 'Users', views.users],
  ['presence', 'Presence', views.presence],
  ['sessions', 'Sessions', views.sessions],
  ['ledger', 'Ledger & audit', views.ledger],
  ['actions', 'Moderation log', views.actions],
];

const root = document.getElementById('view');
const nav = document.getElementById('nav');
let cleanup = null;

function loginForm() {
  const err = errorBox();
  const user = h('input', { id: 'admin-username', autocomplete: 'username', required: true });
  const pass = h('input', { id: 'admin-password', type: 'password', autocomplete: 'current-password', required: true });
  clear(nav);
  clear(root, h('section', { class: 'card narrow', 'aria-labelledby': 'admin-login-title' },
    h('h1', { id: 'admin-login-title' }, 'Kamegor admin'),
    h('form', {
      novalidate: true,
      onsubmit: async (ev) => {
        ev.preventDefault();
        err.show(null);
        try {
          const r = await post('/api/v1/auth/login', { username: user.value, password: pass.value, device: 'admin console' });
          if (r.user.role !== 'admin') {
            setToken(r.token);
            await post('/api/v1/auth/logout').catch(() => {});
            setToken(null);
            throw new Error('this account is not an admin');
          }
          setToken(r.token);
          start(r.user);
        } catch (e) {
          err.show(e);
        }
      },
    }, field('Username', user), field('Password', pass), err,
    h('button', { type: 'submit', class: 'primary', id: 'admin-login' }, 'Log in'))));
}

function show(tab) {
  const entry = TABS.find((t) => t[0] === tab) || TABS[0];
  if (typeof cleanup === 'function') cleanup();
  for (const a of nav.querySelectorAll('a[data-tab]')) {
    a.setAttribute('aria-current', a.dataset.tab === entry[0] ? 'page' : 'false');
  }
  clear(root);
  root.dataset.tab = entry[0];
  cleanup = entry[2](root);
}

function start(me) {
  clear(nav,
    TABS.map(([id, label]) => h('a', { href: `#${id}`, dataset: { tab: id }, id: `tab-${id}` }, label)),
    h('span', { class: 'who' }, me.username),
    h('button', { type: 'button', class: 'link', id: 'admin-logout', onclick: async () => {
      await post('/api/v1/auth/logout').catch(() => {});
      setToken(null);
      if (typeof cleanup === 'function') cleanup();
      loginForm();
    } }, 'Log out'));
  show(location.hash.slice(1));
}

window.addEventListener('hashchange', () => { if (getToken()) show(location.hash.slice(1)); });

(async () => {
  if (getToken()) {
    try {
      const me = await get('/api/v1/me');
      if (me.role === 'admin') { start(me); return; }
    } catch { /* expired */ }
    setToken(null);
  }
  loginForm();
})();
