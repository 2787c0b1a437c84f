// map.js — the live map: Leaflet without a build step, markers (pictures, LIVE badge) and clusters
// from map.subscribe snapshots and map.diff updates, a preview sheet on tap.

import { h, clear, avatar, stars, statusLabel } from './ui.js';

const TILE_KEY = 'kmg.tileUrl';
const DEFAULT_CENTER = [48.8566, 2.3522];

export function getTileUrl() {
  return localStorage.getItem(TILE_KEY) || '';
}

export function setTileUrl(url) {
  if (url) localStorage.setItem(TILE_KEY, url);
  else localStorage.removeItem(TILE_KEY);
}

function markerIcon(item) {
  const live = item.status === 'streaming';
  const el = h('div', { class: `kmg-marker${live ? ' live' : ''}`, dataset: { userId: item.user_id } },
    avatar(item.picture_url, item.username, 'marker-pic'),
    live ? h('span', { class: 'live-badge' }, 'LIVE') : null);
  return L.divIcon({ className: 'kmg-marker-wrap', html: el, iconSize: [48, 48], iconAnchor: [24, 24] });
}

function clusterIcon(item) {
  const el = h('div', { class: `kmg-cluster${item.streaming_count ? ' has-live' : ''}` },
    h('span', { class: 'count' }, String(item.count)),
    item.streaming_count ? h('span', { class: 'live-count' }, `${item.streaming_count} live`) : null);
  return L.divIcon({ className: 'kmg-cluster-wrap', html: el, iconSize: [56, 56], iconAnchor: [28, 28] });
}

export function render(ctx, root) {
  const mapEl = h('div', { id: 'map', class: 'map', role: 'application', 'aria-label': 'Map of sellers' });
  const sheet = h('aside', { id: 'preview', class: 'sheet', hidden: true, 'aria-live': 'polite',
                             'aria-label': 'Seller preview' });
  const list = h('ul', { id: 'seller-list', class: 'seller-list' });
  const locBox = ctx.location.widget();
  root.append(
    h('h1', { class: 'visually-hidden' }, 'Map'),
    h('div', { class: 'map-wrap' }, mapEl, sheet),
    h('section', { class: 'card', 'aria-labelledby': 'list-title' },
      h('h2', { id: 'list-title' }, 'Sellers in view'), list),
    h('details', { class: 'card' }, h('summary', {}, 'Your location'), locBox));

  const fix = ctx.location.fix;
  const map = L.map(mapEl, { zoomControl: true, worldCopyJump: true })
    .setView(fix ? [fix.lat, fix.lon] : DEFAULT_CENTER, 12);
  const tiles = getTileUrl();
  if (tiles) L.tileLayer(tiles, { maxZoom: 19 }).addTo(map);
  else mapEl.classList.add('no-tiles');

  const items = new Map(); // id -> { item, layer }
  let previewId = null;

  function showPreview(id) {
    const entry = items.get(id);
    previewId = id;
    if (!entry) { sheet.hidden = true; return; }
    const it = entry.item;
    clear(sheet,
      h('button', { type: 'button', class: 'close', 'aria-label': 'Close preview',
                    onclick: () => { sheet.hidden = true; previewId = null; } }, '×'),
      h('div', { class: 'preview-head' },
        avatar(it.picture_url, it.username, 'avatar'),
        h('div', {},
          h('p', { class: 'name', id: 'preview-name' }, it.username),
          h('p', { class: 'rating' }, stars(it.rating, it.rating_count)),
          h('p', { class: `status status-${it.status}`, id: 'preview-status' }, statusLabel(it.status)))),
      h('button', { type: 'button', class: 'primary', id: 'preview-open',
                    onclick: () => ctx.navigate(`/seller/${it.user_id}`) }, 'View full profile'));
    sheet.hidden = false;
  }

  function upsert(item) {
    const old = items.get(item.id);
    if (old) map.removeLayer(old.layer);
    let layer;
    if (item.kind === 'cluster') {
      layer = L.marker([item.lat, item.lon], { icon: clusterIcon(item), keyboard: true,
                                               title: `${item.count} sellers` })
        .on('click', () => map.setView([item.lat, item.lon], Math.min(map.getZoom() + 2, 18)));
    } else {
      layer = L.marker([item.lat, item.lon], { icon: markerIcon(item), keyboard: true,
                                               title: item.username, alt: item.username,
                                               zIndexOffset: item.status === 'streaming' ? 1000 : 0 })
        .on('click', () => showPreview(item.id));
    }
    layer.addTo(map);
    items.set(item.id, { item, layer });
    if (previewId === item.id) showPreview(item.id);
  }

  function remove(id) {
    const old = items.get(id);
    if (!old) return;
    map.removeLayer(old.layer);
    items.delete(id);
    if (previewId === id) showPreview(id);
  }

  function renderList() {
    const all = [...items.values()].map((e) => e.item);
    const markers = all.filter((it) => it.kind !== 'cluster');
    const clustered = all.filter((it) => it.kind === 'cluster').reduce((n, c) => n + c.count, 0);
    markers.sort((a, b) => (b.status === 'streaming') - (a.status === 'streaming')
                            || a.username.localeCompare(b.username));
    clear(list, markers.length === 0 && clustered === 0
      ? h('li', { class: 'empty' }, 'No sellers in this area right now.') : null,
    clustered > 0 ? h('li', { class: 'muted' }, `${clustered} more in groups: zoom in to see them.`) : null,
      markers.map((it) => h('li', {},
        h('button', { type: 'button', class: 'link', dataset: { userId: it.user_id },
                      onclick: () => showPreview(it.id) },
          it.username, ' — ', statusLabel(it.status)))));
  }

  const onSnapshot = (msg) => {
    const seen = new Set();
    for (const it of msg.items || []) { upsert(it); seen.add(it.id); }
    for (const id of [...items.keys()]) if (!seen.has(id)) remove(id);
    renderList();
  };
  const onDiff = (msg) => {
    for (const it of msg.add || []) upsert(it);
    for (const it of msg.update || []) upsert(it);
    for (const id of msg.remove || []) remove(id);
    renderList();
  };

  let timer = null;
  const subscribe = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      const b = map.getBounds();
      ctx.rt.request('map.subscribe', {
        bbox: { south: b.getSouth(), west: b.getWest(), north: b.getNorth(), east: b.getEast() },
        zoom: map.getZoom(),
      }).catch((e) => console.warn('map.subscribe:', e.message));
    }, 150);
  };

  const offs = [
    ctx.rt.on('map.snapshot', onSnapshot),
    ctx.rt.on('map.diff', onDiff),
    ctx.rt.on('ready', subscribe),
    ctx.location.onChange((f) => { if (f && items.size === 0) map.setView([f.lat, f.lon]); }),
  ];
  map.on('moveend', subscribe);
  subscribe();
  renderList();

  return () => {
    offs.forEach((off) => off());
    locBox.cleanup();
    clearTimeout(timer);
    ctx.rt.send('map.unsubscribe');
    map.remove();
  };
}
