// harness.mjs — a real kamegord on a free loopback port with a temp data dir, kamegorctl, and
// headless Chromium clients with a fake camera.

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const sourceDir = process.env.KMG_SOURCE_DIR || resolve(here, '../../..');
const buildDir = process.env.KMG_BUILD_DIR || join(sourceDir, 'build');
export const kamegordPath = process.env.KAMEGORD || join(buildDir, 'server/kamegord');
export const kamegorctlPath = process.env.KAMEGORCTL || join(buildDir, 'tools/kamegorctl');
export const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
export const artifactsDir = process.env.KMG_ARTIFACTS || join(sourceDir, 'tests/artifacts/browser');

// Flags known to work for a headless Chromium talking WebRTC on this kind of machine.
const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
  // Hidden or occluded pages must keep running timers and media like a foreground app.
  '--disable-background-timer-throttling', '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
  // Real host addresses in ICE candidates (no mDNS names: nothing resolves them here).
  '--disable-features=WebRtcHideLocalIpsWithMdns',
];

export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 800 };

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

function freeUdpPort() {
  return new Promise((res, rej) => {
    const s = createSocket('udp4');
    s.once('error', rej);
    s.bind(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function startServer(extraSets = []) {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'kmg-browser-'));
  const url = `http://127.0.0.1:${port}`;
  const sets = [
    `server.allowed_origins=${url}`,
    'billing.minute_s=6',
    'billing.min_billable_s=2',
    // Its own STUN port, so several servers (other suites) can run on one machine.
    `relay.stun_port=${await freeUdpPort()}`,
    // Chromium runs on this very host: its candidates are the server's own addresses.
    'relay.deny_host_addresses=false',
    ...extraSets,
  ];
  const args = ['-l', `127.0.0.1:${port}`, '-d', dataDir, '--log-level', 'info'];
  for (const s of sets) args.push('--set', s);
  const proc = spawn(kamegordPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const log = [];
  proc.stdout.on('data', (d) => log.push(d.toString()));
  proc.stderr.on('data', (d) => log.push(d.toString()));
  let exited = null;
  proc.on('exit', (code, sig) => { exited = { code, sig }; });

  for (let i = 0; i < 100; i++) {
    if (exited) throw new Error(`kamegord exited (${JSON.stringify(exited)}):\n${log.join('')}`);
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.ok) break;
    } catch { /* not listening yet */ }
    await sleep(100);
  }

  const server = {
    url, port, dataDir, proc, log,
    ctl(cmdArgs, input) {
      const r = spawnSync(kamegorctlPath, ['-d', dataDir, ...cmdArgs], { input, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`kamegorctl ${cmdArgs.join(' ')}: ${r.stderr}${r.stdout}`);
      return r.stdout;
    },
    async stop() {
      if (!exited) {
        proc.kill('SIGTERM');
        for (let i = 0; i < 50 && !exited; i++) await sleep(100);
        if (!exited) proc.kill('SIGKILL');
      }
      if (process.env.KMG_KEEP_DATA) console.log('data kept in', dataDir);
      else rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return server;
}

export async function createAdmin(server, username, password) {
  const out = server.ctl(['create-admin', username], `${password}\n`);
  const m = out.match(/id (\d+)/);
  return m ? Number(m[1]) : null;
}

export function grant(server, userId, amount, reason = 'browser test credits') {
  server.ctl(['grant', String(userId), String(amount), reason]);
}

export async function launchBrowser() {
  return chromium.launch({ executablePath: chromiumPath, headless: true, args: CHROMIUM_ARGS });
}

// One "device": its own context (own sessionStorage), phone-sized, camera allowed.
export async function newClient(browser, server, name, { viewport = PHONE, path = '/' } = {}) {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
  await context.grantPermissions(['camera', 'microphone', 'geolocation'], { origin: server.url });
  const page = await context.newPage();
  page.on('pageerror', (e) => console.log(`[${name}] page error:`, e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') console.log(`[${name}] console.${m.type()}:`, m.text());
  });
  await page.goto(server.url + path);
  return { name, context, page };
}

export async function shot(page, name) {
  mkdirSync(artifactsDir, { recursive: true });
  const path = join(artifactsDir, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

export function writeArtifact(name, text) {
  mkdirSync(artifactsDir, { recursive: true });
  writeFileSync(join(artifactsDir, name), text);
}

export { sleep };

// A small solid-colour PNG made here (no binary test files): 64×64 RGB, one IDAT.
export async function makePng(r, g, b, size = 64) {
  const { deflateSync, crc32 } = await import('node:zlib');
  const row = Buffer.alloc(1 + size * 3);
  for (let x = 0; x < size; x++) row.set([r, g, b], 1 + x * 3);
  const raw = Buffer.concat(Array.from({ length: size }, () => row));
  const chunk = (type, data) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(td) >>> 0);
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0); ihdr.writeUInt32BE(size, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}
