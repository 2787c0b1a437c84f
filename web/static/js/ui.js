// ui.js — tiny DOM helpers shared by every screen: element builder, error display, formatting.

// h('button', { class: 'primary', onclick: fn }, 'Text', child...)
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// An alert box that shows exactly what the server said.
export function errorBox() {
  const box = h('p', { class: 'error', role: 'alert', hidden: true });
  box.show = (err) => {
    box.textContent = err ? (err.message || String(err)) : '';
    box.hidden = !err;
  };
  return box;
}

export function field(label, input, hint) {
  const id = input.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  input.id = id;
  return h('div', { class: 'field' },
    h('label', { for: id }, label), input, hint ? h('small', { class: 'hint' }, hint) : null);
}

export function formatDuration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const m = Math.floor(s / 60);
  return `${m}:${String(s % 60).padStart(2, '0')}`;
}

export function formatDate(unix) {
  return new Date(unix * 1000).toISOString().slice(0, 10);
}

export function statusLabel(status) {
  return { streaming: 'Streaming Now', online: 'Online', offline: 'Offline' }[status] || 'Offline';
}

export function avatar(url, name, cls = 'avatar') {
  if (url) return h('img', { class: cls, src: url, alt: `Picture of ${name}` });
  return h('span', { class: `${cls} avatar-initial`, 'aria-hidden': 'true' },
           (name || '?').slice(0, 1).toUpperCase());
}

export function stars(avg, count) {
  if (!count) return 'No ratings yet';
  return `★ ${Number(avg).toFixed(1)} (${count} rating${count === 1 ? '' : 's'})`;
}
