// settings.js — profile settings: display name, picture, the seller section (consent, description,
// price, always-relay), location and the map tile server.

import { patch, put } from './api.js';
import { h, errorBox, field, avatar } from './ui.js';
import { getTileUrl, setTileUrl } from './map.js';

function profileForm(ctx) {
  const me = ctx.me;
  const err = errorBox();
  const ok = h('p', { class: 'ok', role: 'status' });
  const name = h('input', { id: 'set-display', value: me.display_name || '', autocomplete: 'nickname' });
  const pic = h('input', { id: 'set-picture', type: 'file', accept: 'image/png,image/jpeg,image/webp' });
  const current = h('div', { class: 'pic-now' }, avatar(me.picture_url, me.username, 'avatar big'));

  const save = async (ev) => {
    ev.preventDefault();
    err.show(null); ok.textContent = '';
    try {
      ctx.setMe(await patch('/api/v1/me', { display_name: name.value }));
      if (pic.files[0]) {
        ctx.setMe(await put('/api/v1/me/picture', pic.files[0]));
        current.replaceChildren(avatar(ctx.me.picture_url, ctx.me.username, 'avatar big'));
        pic.value = '';
      }
      ok.textContent = 'Saved.';
    } catch (e) {
      err.show(e);
    }
  };
  return h('form', { class: 'card', onsubmit: save, 'aria-labelledby': 'prof-title', novalidate: true },
    h('h2', { id: 'prof-title' }, 'Profile'),
    h('p', {}, `Username: ${me.username}`),
    current,
    field('Display name', name),
    field('Profile picture', pic, 'PNG, JPEG or WebP, up to 2 MiB'),
    err, ok,
    h('button', { type: 'submit', class: 'primary', id: 'set-profile-save' }, 'Save profile'));
}

function sellerForm(ctx, rerender) {
  const me = ctx.me;
  const err = errorBox();
  const ok = h('p', { class: 'ok', role: 'status' });
  if (!me.is_seller) {
    return h('section', { class: 'card', 'aria-labelledby': 'sell-title' },
      h('h2', { id: 'sell-title' }, 'Become a Seller'),
      h('p', {}, 'Sellers appear on the map while the app is open and can go live to sell ' +
                 'their video by the minute.'),
      h('a', { href: '#/consent', class: 'button primary', id: 'become-seller' }, 'Become a Seller'));
  }
  const desc = h('textarea', { id: 'set-description', rows: 4, maxlength: 2000 });
  desc.value = me.seller_description || '';
  const price = h('input', { id: 'set-price', type: 'number', step: 1, inputmode: 'numeric',
                             value: String(me.price_per_minute) });
  const relay = h('input', { id: 'set-relay', type: 'checkbox', checked: !!me.always_relay });
  const save = async (ev) => {
    ev.preventDefault();
    err.show(null); ok.textContent = '';
    const n = Number(price.value);
    try {
      ctx.setMe(await patch('/api/v1/me', {
        seller_description: desc.value,
        // Sent as typed (even if not a whole number) so the server's rule is what the user reads.
        price_per_minute: price.value.trim() === '' || Number.isNaN(n) ? price.value : n,
        always_relay: relay.checked,
      }));
      ok.textContent = 'Saved.';
    } catch (e) {
      err.show(e);
    }
  };
  const stop = async () => {
    err.show(null);
    try {
      ctx.setMe(await patch('/api/v1/me', { is_seller: false }));
      rerender();
    } catch (e) {
      err.show(e);
    }
  };
  return h('form', { class: 'card', onsubmit: save, 'aria-labelledby': 'sell-title', novalidate: true },
    h('h2', { id: 'sell-title' }, 'Seller'),
    h('p', { class: 'badge-line' }, h('span', { class: 'badge' }, 'Seller'),
      ' You agreed to be shown on the map (blurred to ~5 km while online, ~11 m while streaming, ' +
      'only while the app is open).'),
    field('Seller description', desc, 'Up to 1000 characters'),
    field('Price (credits per minute)', price, '1 to 10000'),
    h('p', { class: 'check' }, relay,
      h('label', { for: 'set-relay' }, 'Always relay my video through the server ' +
        '(buyers never see my IP address)')),
    err, ok,
    h('div', { class: 'row' },
      h('button', { type: 'submit', class: 'primary', id: 'set-seller-save' }, 'Save seller settings'),
      h('button', { type: 'button', id: 'stop-selling', onclick: stop }, 'Stop selling')));
}

function tilesForm() {
  const url = h('input', { id: 'set-tiles', type: 'url', value: getTileUrl(),
                           placeholder: 'https://tiles.example/{z}/{x}/{y}.png' });
  const ok = h('p', { class: 'ok', role: 'status' });
  return h('form', {
    class: 'card', 'aria-labelledby': 'tiles-title',
    onsubmit: (ev) => { ev.preventDefault(); setTileUrl(url.value.trim()); ok.textContent = 'Saved.'; },
  },
  h('h2', { id: 'tiles-title' }, 'Map tiles'),
  field('Tile URL template', url, 'Empty: a plain grid, no tile server contacted'),
  ok,
  h('button', { type: 'submit' }, 'Save'));
}

export function render(ctx, root) {
  let loc = null;
  const draw = () => {
    if (loc) loc.cleanup();
    loc = ctx.location.widget();
    root.replaceChildren(
      h('h1', {}, 'Settings'),
      profileForm(ctx),
      sellerForm(ctx, draw),
      h('section', { class: 'card', 'aria-labelledby': 'loc-title' },
        h('h2', { id: 'loc-title' }, 'Location'), loc),
      tilesForm());
  };
  draw();
  return () => loc && loc.cleanup();
}
