// app.js — boot, session state, hash routing between screens, app_state reporting.
// Each screen module exports render(ctx, root, params) and may return a cleanup function.

import { get, getToken, setToken, post } from './api.js';
import { Realtime } from './ws.js';
import { LocationReporter } from './location.js';
import { SellerDesk } from './seller-desk.js';
import { setIceServers } from './rtc.js';
import { h, clear } from './ui.js';
import * as auth from './auth.js';
import * as settings from './settings.js';
import * as consent from './consent.js';
import * as map from './map.js';
import * as profile from './profile.js';
import * as live from './live.js';
import * as watch from './watch.js';
import * as wallet from './wallet.js';

const routes = [
  { re: /^\/login$/, screen: auth, params: () => ({ mode: 'login' }), open: true },
  { re: /^\/register$/, screen: auth, params: () => ({ mode: 'register' }), open: true },
  { re: /^\/map$/, screen: map },
  { re: /^\/settings$/, screen: settings },
  { re: /^\/consent$/, screen: consent },
  { re: /^\/seller\/(\d+)$/, screen: profile, params: (m) => ({ id: Number(m[1]) }) },
  { re: /^\/live$/, screen: live },
  { re: /^\/watch\/(\d+)$/, screen: watch, params: (m) => ({ sellerId: Number(m[1]) }) },
  { re: /^\/wallet$/, screen: wallet },
];

const rt = new Realtime();
const ctx = {
  me: null,
  rt,
  location: new LocationReporter(rt),
  navigate: (path) => { location.hash = `#${path}`; },
  setMe: (me) => { ctx.me = me; renderNav(); },
  signIn,
  signOut,
};
ctx.desk = new SellerDesk(ctx);

const view = document.getElementById('view');
const nav = document.getElementById('nav');
const banner = document.getElementById('link-banner');
let cleanup = null;

function renderNav() {
  const me = ctx.me;
  if (!me) {
    clear(nav, h('a', { href: '#/login' }, 'Log in'), h('a', { href: '#/register' }, 'Register'));
    return;
  }
  clear(nav,
    h('a', { href: '#/map' }, 'Map'),
    me.is_seller ? h('a', { href: '#/live', id: 'nav-live' }, 'Go Live') : null,
    h('a', { href: '#/wallet' }, 'Wallet'),
    h('a', { href: '#/settings', id: 'nav-settings' }, 'Settings'),
    h('span', { class: 'who', id: 'nav-user' }, me.display_name || me.username),
    h('button', { type: 'button', class: 'link', id: 'logout', onclick: signOut }, 'Log out'));
}

async function signIn(reply) {
  setToken(reply.token);
  ctx.setMe(reply.user);
  rt.connect(reply.token);
  ctx.navigate('/map');
}

async function signOut() {
  try { await post('/api/v1/auth/logout'); } catch { /* the token may already be gone */ }
  rt.close();
  setToken(null);
  ctx.setMe(null);
  ctx.navigate('/login');
}

function route() {
  const path = location.hash.replace(/^#/, '') || (ctx.me ? '/map' : '/login');
  let found = null;
  let m = null;
  for (const r of routes) {
    if ((m = path.match(r.re))) { found = r; break; }
  }
  if (!found) { ctx.navigate(ctx.me ? '/map' : '/login'); return; }
  if (!found.open && !ctx.me) { ctx.navigate('/login'); return; }
  if (typeof cleanup === 'function') cleanup();
  cleanup = null;
  clear(view);
  view.dataset.screen = path.split('/')[1];
  cleanup = found.screen.render(ctx, view, found.params ? found.params(m) : {});
  view.focus({ preventScroll: true });
}

// Foreground/background is what makes a seller visible (DESIGN §3): report every change.
function reportAppState() {
  rt.send('app_state', { foreground: document.visibilityState === 'visible' });
}

rt.on('ready', () => {
  rt.send('hello', { foreground: document.visibilityState === 'visible', platform: 'web', app_version: '1' });
  get('/api/v1/rtc').then((r) => setIceServers(r.ice_servers)).catch(() => {});
});
rt.on('link', ({ state }) => {
  banner.hidden = state === 'ready' || !ctx.me;
  banner.textContent = state === 'connecting' ? 'Connecting…' : 'Connection lost, retrying…';
});
rt.on('fatal', (msg) => {
  banner.hidden = false;
  banner.textContent = msg.message || 'Signed out by the server';
  if (msg.code === 'banned' || msg.code === 'auth_failed') {
    setToken(null);
    ctx.setMe(null);
    ctx.navigate('/login');
  }
});
// Replies to fire-and-forget messages have no ref: log them so problems are visible.
rt.on('error', (msg) => { if (msg.ref === undefined) console.warn('server:', msg.code, msg.message); });
document.addEventListener('visibilitychange', reportAppState);
window.addEventListener('hashchange', route);

async function boot() {
  renderNav();
  const token = getToken();
  if (token) {
    try {
      ctx.setMe(await get('/api/v1/me'));
      rt.connect(token);
    } catch {
      setToken(null);
    }
  }
  route();
}

boot();
