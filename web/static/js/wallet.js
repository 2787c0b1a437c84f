// wallet.js — the user's balance and transfers (charges, earnings, top-ups, refunds), paged.

import { get } from './api.js';
import { h, clear, errorBox } from './ui.js';

const KIND_LABEL = { topup: 'Top-up', grant: 'Credits granted', refund: 'Refund' };

function row(t) {
  const when = new Date(t.created_at * 1000).toLocaleString();
  const what = t.kind === 'charge' ? (t.amount < 0 ? 'Minute watched' : 'Minute earned')
    : KIND_LABEL[t.kind] || t.kind;
  const minute = t.minute_index !== undefined ? ` · minute ${t.minute_index + 1}` : '';
  const session = t.session_id ? ` · session ${t.session_id}` : '';
  return h('tr', {},
    h('td', {}, when),
    h('td', {}, what + session + minute, t.memo ? h('small', { class: 'muted' }, ` ${t.memo}`) : null),
    h('td', { class: `amount ${t.amount < 0 ? 'neg' : 'pos'}` }, (t.amount > 0 ? '+' : '') + t.amount));
}

export function render(ctx, root) {
  const err = errorBox();
  const balance = h('p', { class: 'balance', id: 'wallet-balance' }, '…');
  const tbody = h('tbody', { id: 'wallet-rows' });
  const more = h('button', { type: 'button', hidden: true }, 'Older transfers');
  let before = null;

  const load = async () => {
    err.show(null);
    try {
      const q = before ? `?before=${before}` : '';
      const w = await get(`/api/v1/me/wallet${q}`);
      balance.textContent = `${w.balance} credits`;
      balance.dataset.balance = w.balance;
      for (const t of w.transfers) tbody.append(row(t));
      before = w.next_before;
      more.hidden = !before;
    } catch (e) {
      err.show(e);
    }
  };
  more.addEventListener('click', load);

  const refresh = () => { clear(tbody); before = null; load(); };
  const offs = ['billing.charged', 'billing.earned'].map((t) => ctx.rt.on(t, refresh));

  root.append(h('section', { class: 'card', 'aria-labelledby': 'wallet-title' },
    h('h1', { id: 'wallet-title' }, 'Wallet'),
    balance,
    h('p', { class: 'muted' }, 'Credits are added by a payment through the operator, or by support.'),
    err,
    h('table', { class: 'transfers' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'When'), h('th', { scope: 'col' }, 'What'),
                     h('th', { scope: 'col' }, 'Credits'))),
      tbody),
    more));
  load();
  return () => offs.forEach((off) => off());
}
