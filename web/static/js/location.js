// location.js — the position this app reports: from the browser's geolocation or typed by hand
// (desktops, tests). Sent on every (re)connection, spaced as the server asks.

import { h, errorBox, field } from './ui.js';

export class LocationReporter {
  constructor(rt) {
    this.rt = rt;
    this.fix = null;      // { lat, lon, accuracy?, source }
    this.watchId = null;
    this.timer = null;
    this.listeners = new Set();
    rt.on('ready', () => this.push());
  }

  onChange(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  set(fix) {
    this.fix = fix;
    for (const fn of this.listeners) fn(fix);
    this.push();
  }

  setManual(lat, lon) {
    this.stopDevice();
    this.set({ lat, lon, source: 'manual' });
  }

  useDevice(onError) {
    if (!navigator.geolocation) {
      onError(new Error('this browser has no geolocation; enter a position by hand'));
      return;
    }
    this.stopDevice();
    this.watchId = navigator.geolocation.watchPosition(
      (p) => this.set({ lat: p.coords.latitude, lon: p.coords.longitude,
                        accuracy: p.coords.accuracy, source: 'device' }),
      (e) => onError(new Error(e.message || 'location unavailable')),
      { enableHighAccuracy: true, maximumAge: 10000 });
  }

  stopDevice() {
    if (this.watchId !== null) navigator.geolocation.clearWatch(this.watchId);
    this.watchId = null;
  }

  async push() {
    clearTimeout(this.timer);
    if (!this.fix || !this.rt.ready) return;
    const body = { lat: this.fix.lat, lon: this.fix.lon };
    if (this.fix.accuracy !== undefined) body.accuracy = Math.min(this.fix.accuracy, 1e6);
    try {
      await this.rt.request('location', body);
    } catch (e) {
      // Updates closer together than the server accepts are retried when it says.
      if (e.code === 'too_soon') this.timer = setTimeout(() => this.push(), 1000);
      else console.warn('location refused:', e.message);
    }
  }

  // A small form: current position, "use device location", manual lat/lon.
  widget() {
    const err = errorBox();
    const lat = h('input', { id: 'loc-lat', type: 'number', step: 'any', min: -90, max: 90,
                             required: true, inputmode: 'decimal' });
    const lon = h('input', { id: 'loc-lon', type: 'number', step: 'any', min: -180, max: 180,
                             required: true, inputmode: 'decimal' });
    const now = h('p', { class: 'loc-now', 'aria-live': 'polite' });
    const show = (fix) => {
      now.textContent = fix
        ? `Reporting ${fix.lat.toFixed(4)}, ${fix.lon.toFixed(4)} (${fix.source})`
        : 'No location reported: you are not shown on the map.';
      if (fix) { lat.value = fix.lat; lon.value = fix.lon; }
    };
    show(this.fix);
    const off = this.onChange(show);
    const form = h('form', {
      class: 'loc-form', 'aria-label': 'Location',
      onsubmit: (ev) => {
        ev.preventDefault();
        err.show(null);
        this.setManual(Number(lat.value), Number(lon.value));
      },
    },
    now,
    h('div', { class: 'row' }, field('Latitude', lat), field('Longitude', lon)),
    h('div', { class: 'row' },
      h('button', { id: 'loc-set', type: 'submit' }, 'Set location'),
      h('button', { type: 'button', onclick: () => { err.show(null); this.useDevice(err.show); } },
        'Use device location')),
    err);
    form.cleanup = off;
    return form;
  }
}
