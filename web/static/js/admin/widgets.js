// widgets.js — admin console building blocks: a data table and a reason dialog (every admin
// action needs a reason; it is recorded with who and when).

import { h, clear, errorBox, field } from '../ui.js';

function cell(v) {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

const TIME_KEYS = /(_at|^at|started|ended)$/;

function formatValue(key, v) {
  if (typeof v === 'number' && TIME_KEYS.test(key) && v > 1e9) {
    return new Date(v * (v > 1e12 ? 1 : 1000)).toISOString().replace('T', ' ').slice(0, 19);
  }
  return cell(v);
}

// columns: keys to show (default: the keys of the first row); actions(row) → nodes.
export function table(rows, { columns, actions, id, empty = 'Nothing here.' } = {}) {
  if (!rows || rows.length === 0) return h('p', { class: 'empty', id }, empty);
  const cols = columns || Object.keys(rows[0]);
  return h('div', { class: 'table-wrap' },
    h('table', { class: 'data', id },
      h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col' }, c)),
                     actions ? h('th', { scope: 'col' }, 'actions') : null)),
      h('tbody', {}, rows.map((r) => h('tr', { dataset: { id: r.id ?? r.user_id ?? '' } },
        cols.map((c) => h('td', { dataset: { col: c } }, formatValue(c, r[c]))),
        actions ? h('td', { class: 'actions' }, actions(r)) : null)))));
}

// Opens a modal asking for a reason (and optional extra fields); onSubmit(values) may throw an
// ApiError, whose message is shown as is.
export function askReason(title, { fields = [], submitLabel = 'Confirm', onSubmit }) {
  const err = errorBox();
  const reason = h('textarea', { id: 'dlg-reason', rows: 3, required: true });
  const inputs = fields.map((f) => ({ ...f, el: f.textarea
    ? h('textarea', { id: `dlg-${f.name}`, rows: 3 })
    : h('input', { id: `dlg-${f.name}`, type: f.type || 'text', inputmode: f.inputmode }) }));
  for (const f of inputs) if (f.value !== undefined) f.el.value = f.value;
  const dlg = h('dialog', { class: 'dialog', 'aria-labelledby': 'dlg-title' });
  const close = () => { dlg.close(); dlg.remove(); };
  const submit = h('button', { type: 'submit', class: 'primary', id: 'dlg-submit' }, submitLabel);
  const form = h('form', {
    novalidate: true,
    onsubmit: async (ev) => {
      ev.preventDefault();
      err.show(null);
      submit.disabled = true;
      const values = { reason: reason.value };
      for (const f of inputs) values[f.name] = f.el.value;
      try {
        await onSubmit(values);
        close();
      } catch (e) {
        err.show(e);
      } finally {
        submit.disabled = false;
      }
    },
  },
  h('h2', { id: 'dlg-title' }, title),
  inputs.map((f) => field(f.label, f.el, f.hint)),
  field('Reason (recorded in the moderation log)', reason),
  err,
  h('div', { class: 'row' }, submit, h('button', { type: 'button', onclick: close }, 'Cancel')));
  dlg.append(form);
  document.body.append(dlg);
  dlg.showModal();
  (inputs[0]?.el || reason).focus();
}

export function section(title, id, ...children) {
  return h('section', { class: 'card', 'aria-labelledby': `${id}-title` },
    h('h2', { id: `${id}-title` }, title), ...children);
}

export function refreshable(loader) {
  const box = h('div', {});
  const err = errorBox();
  const load = async () => {
    err.show(null);
    try {
      clear(box, await loader(load));
    } catch (e) {
      err.show(e);
    }
  };
  return { el: h('div', {}, err, box), load };
}
