// views.js — the admin console's tabs: users, live presence, sessions, ledger + audit,
// moderation log. Each view renders into a root and may return a cleanup function.

import { get, patch, post } from '../api.js';
import { h, clear } from '../ui.js';
import { table, askReason, section, refreshable } from './widgets.js';

const PAGE = 50;

export function users(root) {
  let offset = 0;
  const search = h('input', { id: 'user-search', type: 'search', placeholder: 'part of a username' });
  const pager = h('div', { class: 'row' });
  const view = refreshable(async (reload) => {
    const q = new URLSearchParams({ search: search.value, offset, limit: PAGE });
    const { items } = await get(`/api/v1/admin/users?${q}`);
    clear(pager,
      offset > 0 ? h('button', { type: 'button', onclick: () => { offset -= PAGE; reload(); } }, 'Previous') : null,
      items.length === PAGE ? h('button', { type: 'button', onclick: () => { offset += PAGE; reload(); } }, 'Next') : null);
    return table(items, {
      id: 'users-table',
      columns: ['id', 'username', 'display_name', 'role', 'is_seller', 'banned', 'status', 'created_at'],
      empty: 'No user matches.',
      actions: (u) => [
        h('button', { type: 'button', class: 'small', dataset: { act: 'seller' },
          onclick: () => askReason(`${u.is_seller ? 'Remove' : 'Give'} seller role: ${u.username}`, {
            onSubmit: async (v) => { await patch(`/api/v1/admin/users/${u.id}`, { is_seller: !u.is_seller, reason: v.reason }); reload(); },
          }) }, u.is_seller ? 'Unset seller' : 'Set seller'),
        h('button', { type: 'button', class: 'small', dataset: { act: 'describe' },
          onclick: async () => {
            let current = '';
            try { current = (await get(`/api/v1/sellers/${u.id}`)).description || ''; } catch { /* not public */ }
            askReason(`Seller description: ${u.username}`, {
              fields: [{ name: 'description', label: 'Description', textarea: true, value: current }],
              onSubmit: async (v) => { await patch(`/api/v1/admin/users/${u.id}`, { seller_description: v.description, reason: v.reason }); reload(); },
            });
          } }, 'Edit description'),
        h('button', { type: 'button', class: `small ${u.banned ? '' : 'danger'}`, dataset: { act: u.banned ? 'unban' : 'ban' },
          onclick: () => askReason(`${u.banned ? 'Unban' : 'Ban'} ${u.username}`, {
            submitLabel: u.banned ? 'Unban' : 'Ban',
            onSubmit: async (v) => { await post(`/api/v1/admin/users/${u.id}/${u.banned ? 'unban' : 'ban'}`, { reason: v.reason }); reload(); },
          }) }, u.banned ? 'Unban' : 'Ban'),
        h('button', { type: 'button', class: 'small', dataset: { act: 'grant' },
          onclick: () => askReason(`Grant credits to ${u.username}`, {
            fields: [{ name: 'amount', label: 'Credits', type: 'number', inputmode: 'numeric' }],
            submitLabel: 'Grant',
            onSubmit: async (v) => {
              const n = Number(v.amount);
              await post(`/api/v1/admin/users/${u.id}/grant`, { amount: v.amount.trim() === '' || Number.isNaN(n) ? v.amount : n, reason: v.reason });
              reload();
            },
          }) }, 'Grant'),
      ],
    });
  });
  root.append(section('Users', 'users',
    h('form', { class: 'row', role: 'search', onsubmit: (e) => { e.preventDefault(); offset = 0; view.load(); } },
      search, h('button', { type: 'submit' }, 'Search')),
    view.el, pager));
  view.load();
}

export function presence(root) {
  const view = refreshable(async () => {
    const p = await get('/api/v1/admin/presence');
    const counts = p.counts || {};
    return [
      h('p', { id: 'presence-counts' },
        `Online ${counts.online ?? 0} · streaming ${counts.streaming ?? 0} · connections ${p.connections ?? 0}`),
      table(p.users, { id: 'presence-table', empty: 'Nobody is online.' }),
    ];
  });
  root.append(section('Live presence', 'presence',
    h('p', { class: 'muted' }, 'Positions are the displayed ones (blurred while online), as on the map.'),
    view.el));
  view.load();
  const timer = setInterval(view.load, 3000);
  return () => clearInterval(timer);
}

export function sessions(root) {
  let state = 'live';
  const tabs = h('div', { class: 'row', role: 'group', 'aria-label': 'Session state' });
  const view = refreshable(async (reload) => {
    const { items } = await get(`/api/v1/admin/sessions?state=${state}`);
    return table(items, {
      id: 'sessions-table',
      empty: state === 'live' ? 'No live session.' : 'No ended session.',
      actions: (s) => state === 'live'
        ? h('button', { type: 'button', class: 'small danger', dataset: { act: 'end' },
            onclick: () => askReason(`End session ${s.id}`, { submitLabel: 'End session',
              onSubmit: async (v) => { await post(`/api/v1/admin/sessions/${s.id}/end`, { reason: v.reason }); reload(); } }) },
          'End')
        : h('button', { type: 'button', class: 'small', dataset: { act: 'refund' },
            onclick: () => askReason(`Refund session ${s.id} (all charged minutes)`, { submitLabel: 'Refund',
              onSubmit: async (v) => { await post(`/api/v1/admin/sessions/${s.id}/refund`, { reason: v.reason }); reload(); } }) },
          'Refund'),
    });
  });
  const drawTabs = () => clear(tabs, ['live', 'ended'].map((s) => h('button', {
    type: 'button', class: s === state ? 'primary' : '', 'aria-pressed': String(s === state),
    onclick: () => { state = s; drawTabs(); view.load(); },
  }, s === 'live' ? 'Live' : 'Ended')));
  drawTabs();
  root.append(section('Sessions', 'sessions', tabs, view.el));
  view.load();
  const timer = setInterval(() => { if (state === 'live' && !document.querySelector('dialog[open]')) view.load(); }, 5000);
  return () => clearInterval(timer);
}

export function ledger(root) {
  let before = 0;
  const audit = refreshable(async () => {
    const a = await get('/api/v1/admin/audit');
    return [
      h('p', { id: 'audit-status', class: a.ok ? 'ok-badge' : 'error' },
        a.ok ? 'Ledger audit: verified' : 'Ledger audit: FAILED'),
      h('p', { class: 'muted' },
        `${a.transfers ?? '?'} transfers · ${a.accounts ?? '?'} accounts · sum ${a.ledger_sum ?? '?'} · ` +
        `${a.sessions ?? '?'} sessions · ${a.charged_minutes ?? '?'} charged minutes`),
      a.problems && a.problems.length ? h('ul', {}, a.problems.map((p) => h('li', {}, p))) : null,
    ];
  });
  const older = h('button', { type: 'button', hidden: true }, 'Older');
  const list = refreshable(async () => {
    const q = before ? `?before=${before}&limit=${PAGE}` : `?limit=${PAGE}`;
    const { items } = await get(`/api/v1/admin/ledger${q}`);
    older.hidden = items.length < PAGE;
    if (items.length) before = items[items.length - 1].id;
    return table(items, { id: 'ledger-table', empty: 'No transfers.' });
  });
  older.addEventListener('click', list.load);
  root.append(
    section('Audit', 'audit', audit.el, h('button', { type: 'button', onclick: audit.load }, 'Run audit again')),
    section('Ledger', 'ledger', list.el, older));
  audit.load();
  list.load();
}

export function actions(root) {
  const view = refreshable(async () => {
    const { items } = await get('/api/v1/admin/actions?limit=100');
    return table(items, { id: 'actions-table', empty: 'No admin action yet.' });
  });
  root.append(section('Moderation log', 'actions', view.el));
  view.load();
}
