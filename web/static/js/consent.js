// consent.js — the explicit opt-in to become a seller: says exactly when and how the location is
// shown before anything is shared (DESIGN §4).

import { patch } from './api.js';
import { h, errorBox } from './ui.js';

export function render(ctx, root) {
  const err = errorBox();
  const agree = h('input', { type: 'checkbox', id: 'consent-agree' });
  const go = h('button', { type: 'button', class: 'primary', id: 'consent-accept', disabled: true },
               'Become a Seller');
  agree.addEventListener('change', () => { go.disabled = !agree.checked; });
  go.addEventListener('click', async () => {
    err.show(null);
    go.disabled = true;
    try {
      ctx.setMe(await patch('/api/v1/me', { is_seller: true, location_consent: true }));
      ctx.navigate('/settings');
    } catch (e) {
      err.show(e);
      go.disabled = !agree.checked;
    }
  });

  root.append(h('section', { class: 'card narrow', 'aria-labelledby': 'consent-title' },
    h('h1', { id: 'consent-title' }, 'Become a Seller: your location'),
    h('p', {}, 'As a seller, your profile picture appears as a marker on the public map. ' +
               'Please read exactly when and how your location is shown:'),
    h('ul', { class: 'consent-list' },
      h('li', {}, h('strong', {}, 'Only while this app is open in the foreground. '),
        'When you close it, switch tabs or lock your phone, your marker disappears ' +
        '(after at most 20 seconds if the connection drops without notice).'),
      h('li', {}, h('strong', {}, 'Online: blurred to an area of about 5 km. '),
        'Your marker is placed at the centre of a fixed grid cell of about 5 km × 5 km ' +
        'around you, never at your real position.'),
      h('li', {}, h('strong', {}, 'Streaming: about 11 m. '),
        'While you are live, your marker is shown at your position rounded to about 11 metres, ' +
        'so buyers can see where the stream comes from.'),
      h('li', {}, 'Your precise position is kept in the server\u2019s memory only, never stored ' +
                  'or logged, and is not shown to anyone.'),
      h('li', {}, 'You can stop being a seller at any time in Settings; your marker goes away at once.')),
    h('p', { class: 'check' }, agree,
      h('label', { for: 'consent-agree' }, 'I understand and agree to my location being shown this way.')),
    err,
    h('div', { class: 'row' }, go, h('a', { href: '#/settings', class: 'button' }, 'Not now'))));
}
