#!/usr/bin/python3
# soak.py — long-running load on a real kamegord, on loopback, watching for leaks and errors.
#
# Starts its own kamegord (temp data dir, free loopback ports, relay.policy=always), registers the
# accounts, grants the buyers credits, then runs for --minutes:
# - --clients WebSocket clients (build/bench/ws/ws-load --mode=soak): authenticated, in the
#   foreground, a location every map.min_update_s + 1 s (the --sellers-pct sellers among them are
#   live and move ~50 m per update), a map viewport re-subscribed every ~60 s;
# - --sessions relayed watch sessions at all times (build/tools/kamegor-peer buyers, one process
#   per session, --no-decode), each watching --session-s MIN-MAX seconds after its first frame;
#   when one ends the next starts (watch.start, accept, SDP/ICE with the relay). The peer sellers
#   stream 320x240 15 fps VP8 to the relay.
# Every minute it prints kamegord's RSS, open fds, threads and CPU (% of one core, from
# /proc/PID/stat of kamegord alone), WebSocket connections, live sessions, errors so far, and the
# CPU the load generators themselves used; at the end the verdict against the goals.
#
# Usage: bench/soak/soak.py [--minutes 60] [--clients 5000] [--sessions 50] [--build build]
# Short run: bench/soak/soak.py --minutes 5 --clients 1000 --sessions 10
#
# Errors counted: a WebSocket client's upgrade refused or connection closed by the server, any
# `error` reply a client gets (by code), a watch session that fails (peer exit status not 0, no
# summary, an error, a path other than the relay, no frame received, an end reason other than
# buyer_left), and a peer seller that stops or reports an error.

import argparse
import concurrent.futures
import json
import os
import random
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

PASSWORD = 'correct horse battery'
CLK = os.sysconf('SC_CLK_TCK')
PAGE = os.sysconf('SC_PAGE_SIZE')


def free_port(kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def proc_cpu_s(pid):
    """utime + stime of one process, in seconds (0 if gone)."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            fields = f.read().rsplit(')', 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK


def proc_status(pid):
    out = {}
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            k, _, v = line.partition(':')
            out[k] = v.strip()
    return out


def machine_busy():
    """(busy, total) jiffies of all cores, from /proc/stat."""
    with open('/proc/stat') as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v) - idle, sum(v)


def http(url, method='GET', body=None, token=None, timeout=30):
    req = urllib.request.Request(url, method=method,
                                 data=json.dumps(body).encode() if body is not None else None)
    req.add_header('Content-Type', 'application/json')
    if token:
        req.add_header('Authorization', 'Bearer ' + token)
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read() or b'null')


def metrics(url):
    m = {}
    for line in urllib.request.urlopen(url + '/metrics', timeout=10).read().decode().splitlines():
        if line and not line.startswith('#'):
            k, _, v = line.rpartition(' ')
            m[k] = float(v)
    return m


class Soak:
    def __init__(self, a):
        self.a = a
        self.build = a.build
        self.env = dict(os.environ, GST_PLUGIN_PATH=os.path.join(a.build, 'gst-plugins'))
        self.data = tempfile.mkdtemp(prefix='kmg-soak-')
        self.port = free_port()
        self.url = 'http://127.0.0.1:%d' % self.port
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.procs = []              # long-lived processes we started, stopped in reverse
        self.buyers = {}             # pid -> Popen of live buyer peers
        self.ws_line = {}            # last counter line of ws-load
        self.session_errors = []     # descriptions
        self.seller_errors = []
        self.sessions_ok = 0
        self.sessions_started = 0
        self.relay_restarts = 0
        self.ttff = []

    # ---- processes ----

    def peer_cmd(self, *args):
        return [os.path.join(self.build, 'tools/kamegor-peer'), '--server', self.url,
                '--password', PASSWORD, '--json', '--allow-loopback'] + list(args)

    def start_server(self):
        a = self.a
        self.log_path = os.path.join(self.data, 'kamegord.log')
        self.log = open(self.log_path, 'w')
        sets = ['relay.policy=always', 'relay.allow_loopback=true',
                'relay.stun_port=%d' % free_port(socket.SOCK_DGRAM),
                'accounts.login_per_addr_per_5min=100000', 'accounts.login_per_user_per_5min=10000',
                'accounts.register_per_addr_per_hour=1000000', 'http.max_connections_per_address=0',
                'ws.max_per_address=1000000', 'ws.max_per_user=10000',
                'map.min_update_s=%g' % a.min_update_s,
                'ws.max_connections=%d' % max(19000, a.clients + 1000)]
        cmd = [os.path.join(self.build, 'server/kamegord'), '-l', '127.0.0.1:%d' % self.port,
               '-d', self.data, '--log-level', 'warning']
        for s in sets:
            cmd += ['--set', s]
        self.srv = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        self.procs.append(self.srv)
        for _ in range(200):
            try:
                urllib.request.urlopen(self.url + '/healthz', timeout=1)
                return
            except OSError:
                if self.srv.poll() is not None:
                    sys.exit('kamegord exited at start (%s), see %s' % (self.srv.returncode, self.log_path))
                time.sleep(0.1)
        sys.exit('kamegord did not answer /healthz')

    def register(self, name, seller=False):
        r = http(self.url + '/api/v1/auth/register', 'POST',
                 {'username': name, 'password': PASSWORD, 'device': 'soak'})
        if seller:
            http(self.url + '/api/v1/me', 'PATCH', {'location_consent': True, 'is_seller': True},
                 token=r['token'])
        return r['user']['id'], r['token']

    def create_accounts(self):
        a = self.a
        n_sellers = int(round(a.clients * a.sellers_pct / 100.0))
        # Sellers have an account each; the other clients share --accounts - sellers accounts when
        # --accounts is below --clients (each registration costs one argon2id hash).
        n_others = max(1, min(a.accounts or a.clients, a.clients) - n_sellers)
        t0 = time.time()
        names = [('soak%d' % i, i < n_sellers) for i in range(n_sellers + min(n_others, a.clients - n_sellers))]
        names += [('soakbuyer%d' % i, False) for i in range(self.n_buyer_accounts())]
        with concurrent.futures.ThreadPoolExecutor(4) as ex:
            res = list(ex.map(lambda nt: self.register(*nt), names))
        n_client_accounts = len(names) - self.n_buyer_accounts()
        tokens = [t for _, t in res[:n_client_accounts]]
        self.tokens_path = os.path.join(self.data, 'tokens.txt')
        with open(self.tokens_path, 'w') as f:
            for i in range(a.clients):
                if i < n_sellers:
                    f.write('%s seller\n' % tokens[i])
                else:
                    f.write('%s\n' % tokens[n_sellers + (i - n_sellers) % (n_client_accounts - n_sellers)])
        self.buyer_names = [n for n, _ in names[n_client_accounts:]]
        for uid, _ in res[n_client_accounts:]:
            subprocess.run([os.path.join(self.build, 'tools/kamegorctl'), '-d', self.data, 'grant',
                            str(uid), '10000000', 'soak'], check=True, stdout=subprocess.DEVNULL)
        print('accounts: %d clients on %d accounts (%d sellers, one account each), %d buyer accounts for the '
              'sessions, registered in %.0f s' % (a.clients, n_client_accounts, n_sellers, len(self.buyer_names),
                                                  time.time() - t0), flush=True)

    def n_buyer_accounts(self):
        return 2 * self.a.sessions + 4

    def start_sellers(self):
        a = self.a
        self.seller_ids = []
        n = a.peer_sellers or max(1, (a.sessions + 9) // 10) if a.sessions > 0 else 0
        for j in range(n):
            p = subprocess.Popen(self.peer_cmd('--username', 'soakseller%d' % j, '--register', '--role', 'seller',
                                               '--price', '1', '--location',
                                               '%.4f,%.4f' % (48.85 + 0.01 * j, 2.35)),
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=self.env)
            self.procs.append(p)
            for line in p.stdout:
                o = json.loads(line)
                if o.get('event') == 'live':
                    self.seller_ids.append(o['user_id'])
                    break
            else:
                sys.exit('peer seller %d did not go live' % j)
            threading.Thread(target=self.watch_seller, args=(j, p), daemon=True).start()
        if n:
            print('peer sellers: %d live (320x240 15 fps VP8 to the relay)' % n, flush=True)

    def watch_seller(self, j, p):
        for line in p.stdout:
            try:
                o = json.loads(line)
            except ValueError:
                continue
            if o.get('event') in ('media_error', 'summary') and not self.stopping.is_set():
                with self.lock:
                    self.seller_errors.append('seller %d: %s' % (j, line.strip()[:300]))
        if not self.stopping.is_set():
            with self.lock:
                self.seller_errors.append('seller %d exited (%s)' % (j, p.wait()))

    def start_clients(self):
        a = self.a
        self.wsl = subprocess.Popen([os.path.join(self.build, 'bench/ws/ws-load'), '--mode=soak',
                                     '--port', str(self.port), '--tokens', self.tokens_path, '--duration=0',
                                     '--min-update-s', '%g' % a.min_update_s, '--report-s', '5'],
                                    stdout=subprocess.PIPE, stderr=open(os.path.join(self.data, 'ws-load.err'), 'w'),
                                    text=True)
        self.procs.append(self.wsl)
        for line in self.wsl.stdout:
            if line.startswith('soak setup'):
                print('clients: ' + line.strip()[len('soak setup '):], flush=True)
                break
        threading.Thread(target=self.read_ws_load, daemon=True).start()

    def read_ws_load(self):
        for line in self.wsl.stdout:
            if line.startswith('soak t='):
                d = dict(kv.split('=', 1) for kv in line.split()[1:])
                with self.lock:
                    self.ws_line = d

    # ---- sessions ----

    def run_session(self, name, seller_id, seconds):
        p = subprocess.Popen(self.peer_cmd('--username', name, '--role', 'buyer', '--seller-id', str(seller_id),
                                           '--no-decode', '--duration', '%.0f' % seconds, '--timeout', '40'),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=self.env)
        with self.lock:
            self.buyers[p.pid] = p
            self.sessions_started += 1
        out, err = p.communicate()
        with self.lock:
            del self.buyers[p.pid]
        if self.stopping.is_set():
            return  # stopped by us before its time: not judged
        summary = None
        for line in out.splitlines():
            try:
                o = json.loads(line)
            except ValueError:
                continue
            if o.get('event') == 'summary':
                summary = o
        problem = None
        if summary is None:
            problem = 'no summary (exit %s) %s' % (p.returncode, err.strip()[-200:])
        elif p.returncode != 0 or not summary.get('ok') or summary.get('error'):
            problem = 'failed (exit %s)' % p.returncode
        elif summary.get('path') != 'relay':
            problem = 'path %s' % summary.get('path')
        elif summary.get('packets_received', 0) == 0 or summary.get('frames_decoded', 0) == 0:
            problem = 'no media'
        elif summary.get('end_reason') != 'buyer_left':
            problem = 'ended %s' % summary.get('end_reason')
        with self.lock:
            if summary is not None:
                self.relay_restarts += summary.get('relay_restarts', 0)
                if summary.get('ttff_ms', 0) > 0:
                    self.ttff.append(summary['ttff_ms'])
            if problem:
                self.session_errors.append('%s -> seller %d: %s %s' % (
                    name, seller_id, problem, json.dumps(summary)[:300] if summary else ''))
            else:
                self.sessions_ok += 1

    def session_slot(self, slot, free):
        a = self.a
        # Stagger the first starts so the ends spread out.
        if self.stopping.wait(random.uniform(0, min(30.0, a.session_min))):
            return
        while not self.stopping.is_set():
            with self.lock:
                name = free.pop(0)
            seller = self.seller_ids[slot % len(self.seller_ids)]
            self.run_session(name, seller, random.uniform(a.session_min, a.session_max))
            with self.lock:
                free.append(name)

    def start_sessions(self):
        free = list(self.buyer_names)
        self.slots = [threading.Thread(target=self.session_slot, args=(i, free), daemon=True)
                      for i in range(self.a.sessions)]
        for t in self.slots:
            t.start()

    # ---- sampling ----

    def load_cpu_s(self):
        """CPU seconds of everything we started except kamegord: live processes plus reaped ones."""
        with self.lock:
            pids = [p.pid for p in self.procs if p is not self.srv] + list(self.buyers)
        live = sum(proc_cpu_s(pid) for pid in pids)
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        return live + ru.ru_utime + ru.ru_stime

    def sample(self):
        st = proc_status(self.srv.pid)
        m = metrics(self.url)
        with self.lock:
            ws = dict(self.ws_line)
            errors = (int(ws.get('errors', 0)) + len(self.session_errors) + len(self.seller_errors))
        return {
            't': time.time(),
            'rss': int(st['VmRSS'].split()[0]) * 1024,
            'threads': int(st['Threads']),
            'fds': len(os.listdir('/proc/%d/fd' % self.srv.pid)),
            'cpu': proc_cpu_s(self.srv.pid),
            'load_cpu': self.load_cpu_s(),
            'machine': machine_busy(),
            'ws': int(m.get('kamegor_ws_connections', 0)),
            'sessions': int(sum(v for k, v in m.items() if k.startswith('kamegor_sessions{'))),
            'relay_sessions': int(m.get('kamegor_sessions{path="relay"}', 0)),
            'buyer_legs': int(m.get('kamegor_relay_legs{role="buyer"}', 0)),
            'errors': errors,
            'ws_line': ws,
        }

    def run(self):
        a = self.a
        self.start_server()
        self.create_accounts()
        self.start_sellers()
        self.start_clients()
        if a.sessions > 0:
            self.start_sessions()
        print('load running: %d minutes, samples every %d s, verdict after a %d-minute warm-up'
              % (a.minutes, a.sample_s, self.warmup), flush=True)
        print('%4s %9s %6s %7s %9s %6s %8s %6s %10s %10s' % (
            'min', 'RSS MiB', 'fds', 'threads', 'CPU %core', 'ws', 'sessions', 'errors', 'peers %core',
            'machine %'), flush=True)
        t0 = time.time()
        self.samples = [self.sample()]
        minute_marks = [self.samples[0]]
        next_t = t0
        while time.time() - t0 < a.minutes * 60:
            next_t += a.sample_s
            time.sleep(max(0.0, next_t - time.time()))
            if self.srv.poll() is not None:
                print('kamegord exited (%s) at %.1f min' % (self.srv.returncode, (time.time() - t0) / 60))
                self.crashed = True
                return
            s = self.sample()
            s['minute'] = (s['t'] - t0) / 60
            self.samples.append(s)
            if s['t'] - minute_marks[-1]['t'] >= 59.5:
                p = minute_marks[-1]
                dt = s['t'] - p['t']
                mb, mt = s['machine'][0] - p['machine'][0], s['machine'][1] - p['machine'][1]
                print('%4.0f %9.1f %6d %7d %9.1f %6d %8d %6d %10.1f %10.1f' % (
                    s['minute'], s['rss'] / 2**20, s['fds'], s['threads'], 100 * (s['cpu'] - p['cpu']) / dt,
                    s['ws'], s['sessions'], s['errors'], 100 * (s['load_cpu'] - p['load_cpu']) / dt,
                    100 * mb / mt if mt else 0), flush=True)
                minute_marks.append(s)
        self.minute_marks = minute_marks
        self.crashed = False

    def stop(self):
        self.stopping.set()
        with self.lock:
            buyers = list(self.buyers.values())
        for p in buyers + list(reversed(self.procs)):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in buyers + list(reversed(self.procs)):
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    # ---- verdict ----

    def verdict(self):
        a = self.a
        if getattr(self, 'crashed', True):
            print('VERDICT: FAIL (kamegord did not run to the end)')
            return 1
        after = [s for s in self.samples[1:] if s['minute'] >= self.warmup]
        ok = True
        print()
        print('== verdict (%d clients, %d sessions, %d minutes, warm-up %d minutes) ==' % (
            a.clients, a.sessions, a.minutes, self.warmup))
        if len(after) < 2:
            print('too short for a verdict after the warm-up')
            return 1
        first, last = after[0], after[-1]
        growth = (last['rss'] - first['rss']) / first['rss'] * 100
        print('RSS: %.1f MiB at minute %.1f -> %.1f MiB at the end (%+.1f %%; goal < 5 %%), min %.1f max %.1f MiB'
              % (first['rss'] / 2**20, first['minute'], last['rss'] / 2**20, growth,
                 min(s['rss'] for s in after) / 2**20, max(s['rss'] for s in after) / 2**20))
        ok &= growth < 5
        # fds move with the live relay legs, sessions and WebSocket connections. Like for like:
        # samples after the warm-up with the same numbers of relayed buyer legs, live sessions and
        # WebSocket connections are grouped; growth is the fd count of the last sample of a group
        # minus its first one.
        groups = {}
        for s in after:
            groups.setdefault((s['buyer_legs'], s['sessions'], s['ws']), []).append(s)
        worst = None
        compared = 0
        for key, g in groups.items():
            if len(g) < 2:
                continue
            compared += 1
            d = g[-1]['fds'] - g[0]['fds']
            if worst is None or d > worst[0]:
                worst = (d, key, g[0], g[-1], len(g))
        if worst is None:
            print('fds: no two samples after the warm-up with the same live legs and connections')
            ok = False
        else:
            d, key, g0, g1, n = worst
            print('fds: like-for-like groups compared: %d (samples every %d s after the warm-up grouped by '
                  '(relayed buyer legs, live sessions, WebSocket connections)); largest growth %+d fds: %d -> %d '
                  'between minute %.1f and %.1f at %d legs / %d sessions / %d connections (%d samples); goal 0'
                  % (compared, a.sample_s, d, g0['fds'], g1['fds'], g0['minute'], g1['minute'], key[0], key[1],
                     key[2], n))
            per_min = {}
            for s in after:
                per_min.setdefault(int(s['minute']), []).append(s['fds'])
            print('fds, lowest of each minute after the warm-up: ' +
                  ' '.join('%d' % min(v) for _, v in sorted(per_min.items())))
            ok &= d <= 0
        thr = [s['threads'] for s in after]
        print('threads after the warm-up: min %d max %d, first %d last %d' % (min(thr), max(thr), thr[0], thr[-1]))
        ws = self.final_ws or {}
        with self.lock:
            sess_err = list(self.session_errors)
            sell_err = list(self.seller_errors)
        ws_err = int(ws.get('errors', 0))
        print('WebSocket clients: %s of %s open at the end, upgrades refused %s, closed by the server %s, '
              'error replies: %s; sent %s, received %s (%s snapshots, %s diffs)' % (
                  ws.get('open'), ws.get('clients'), ws.get('failed_opens'), ws.get('closed'),
                  ws.get('codes'), ws.get('sent'), ws.get('received'), ws.get('snapshots'), ws.get('diffs')))
        ttff = sorted(self.ttff)
        print('watch sessions: %d started, %d ended as expected (buyer_left, relay, media), %d failed; '
              'time to first frame p50 %s ms p99 %s ms; relay leg restarts %d' % (
                  self.sessions_started, self.sessions_ok, len(sess_err),
                  ttff[len(ttff) // 2] if ttff else '-', ttff[min(len(ttff) - 1, int(len(ttff) * .99))] if ttff else '-',
                  self.relay_restarts))
        for e in sess_err[:10]:
            print('  session error: ' + e)
        for e in sell_err[:10]:
            print('  seller error: ' + e)
        with open(self.log_path) as f:
            warnings = [l for l in f if 'WARNING' in l or 'CRITICAL' in l or 'ERROR' in l]
        print('kamegord log: %d warning/critical lines%s' % (len(warnings), (': ' + warnings[0].strip()[:200])
                                                               if warnings else ''))
        errors = ws_err + len(sess_err) + len(sell_err)
        print('errors: %d (goal 0)' % errors)
        ok &= errors == 0
        span = self.samples[-1]['t'] - self.samples[0]['t']
        print('load generators (ws-load + peers) used %.0f %% of a core on average; kamegord %.0f %%' % (
            100 * (self.samples[-1]['load_cpu'] - self.samples[0]['load_cpu']) / span,
            100 * (self.samples[-1]['cpu'] - self.samples[0]['cpu']) / span))
        print('VERDICT: %s' % ('PASS' if ok else 'FAIL'))
        return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description='Soak kamegord: WebSocket clients and relayed sessions.')
    ap.add_argument('--minutes', type=float, default=60)
    ap.add_argument('--clients', type=int, default=5000)
    ap.add_argument('--sessions', type=int, default=50, help='relayed watch sessions live at any time')
    ap.add_argument('--session-min', type=float, default=30, help='shortest watch, seconds')
    ap.add_argument('--session-max', type=float, default=120, help='longest watch, seconds')
    ap.add_argument('--peer-sellers', type=int, default=0, help='default: one per 10 sessions')
    ap.add_argument('--accounts', type=int, default=0,
                    help='accounts the clients use (default: one per client; fewer registers faster)')
    ap.add_argument('--sellers-pct', type=float, default=5, help='share of the clients that are live sellers')
    ap.add_argument('--min-update-s', type=float, default=5, help='map.min_update_s')
    ap.add_argument('--warmup', type=float, default=None, help='minutes (default 10, or a third of a shorter run)')
    ap.add_argument('--sample-s', type=int, default=5)
    ap.add_argument('--build', default=os.environ.get('KMG_BUILD_DIR', 'build'))
    ap.add_argument('--keep', action='store_true', help='keep the data dir (logs, database)')
    a = ap.parse_args()
    s = Soak(a)
    s.warmup = a.warmup if a.warmup is not None else (10 if a.minutes >= 30 else max(1, int(a.minutes / 3)))
    s.final_ws = None
    rc = 1
    try:
        s.run()
        s.stopping.set()
        # The last counters before anything is stopped.
        s.wsl.send_signal(signal.SIGTERM)
        s.wsl.wait(15)
        time.sleep(0.5)
        with s.lock:
            s.final_ws = dict(s.ws_line)
    finally:
        s.stop()
        if getattr(s, 'srv', None) is not None and s.srv.returncode not in (0, None):
            print('kamegord exit status %s' % s.srv.returncode)
    rc = s.verdict()
    with open(os.path.join(s.data, 'samples.jsonl'), 'w') as f:
        for x in getattr(s, 'samples', []):
            f.write(json.dumps({k: v for k, v in x.items() if k != 'ws_line'}) + '\n')
    if a.keep:
        print('data dir kept: %s' % s.data)
    else:
        shutil.rmtree(s.data, ignore_errors=True)
    return rc


if __name__ == '__main__':
    sys.exit(main())
