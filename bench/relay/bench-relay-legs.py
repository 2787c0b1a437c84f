#!/usr/bin/python3
# bench-relay-legs.py — many relayed viewer legs from one seller through a real kamegord, on
# loopback. Light load peers: one kamegor-peer process with --viewers N --no-decode (webrtcbin
# receivers that count RTP, no decoding). Prints kamegord CPU and RSS per leg (over the idle
# seller-only baseline), forwarded packets/s and loss between relay and viewers.
# Usage: bench-relay-legs.py [--legs 10] [--seconds 15] [--build DIR]
# The viewer peers share the machine: with 2 cores they, not the relay, run out of CPU first.

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

PASSWORD = 'correct horse battery'


def free_port(kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def proc_cpu_rss(pid):
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    ticks = os.sysconf('SC_CLK_TCK')
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    rss = int(fields[21]) * os.sysconf('SC_PAGE_SIZE')
    return cpu, rss


def metrics(url):
    m = {}
    for line in urllib.request.urlopen(url + '/metrics', timeout=5).read().decode().splitlines():
        if line and not line.startswith('#'):
            k, _, v = line.rpartition(' ')
            m[k] = float(v)
    return m


def sample(pid, url, seconds):
    c0, _ = proc_cpu_rss(pid)
    p0 = metrics(url).get('kamegor_relay_packets_total', 0)
    t0 = time.time()
    time.sleep(seconds)
    c1, rss = proc_cpu_rss(pid)
    p1 = metrics(url).get('kamegor_relay_packets_total', 0)
    dt = time.time() - t0
    return (c1 - c0) / dt, rss, (p1 - p0) / dt


def peer(build, url, *args):
    return [os.path.join(build, 'tools/kamegor-peer'), '--server', url, '--password', PASSWORD,
            '--json', '--allow-loopback'] + list(args)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--legs', type=int, default=10)
    ap.add_argument('--seconds', type=float, default=15)
    ap.add_argument('--build', default=os.environ.get('KMG_BUILD_DIR', 'build'))
    a = ap.parse_args()
    env = dict(os.environ, GST_PLUGIN_PATH=os.path.join(a.build, 'gst-plugins'))
    data = tempfile.mkdtemp(prefix='kmg-bench-legs-')
    port = free_port()
    url = 'http://127.0.0.1:%d' % port
    procs = []
    try:
        srv = subprocess.Popen([os.path.join(a.build, 'server/kamegord'), '-l', '127.0.0.1:%d' % port,
                                '-d', data, '--log-level', 'warning',
                                '--set', 'relay.policy=always', '--set', 'relay.allow_loopback=true',
                                '--set', 'relay.stun_port=%d' % free_port(socket.SOCK_DGRAM),
                                '--set', 'accounts.login_per_addr_per_5min=100000'],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(srv)
        for _ in range(100):
            try:
                urllib.request.urlopen(url + '/healthz', timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        reg = subprocess.run(peer(a.build, url, '--username', 'viewer', '--register', '--role', 'none',
                                  '--viewers', str(a.legs)), capture_output=True, text=True, env=env)
        ids = [json.loads(l)['user_id'] for l in reg.stdout.splitlines() if '"account"' in l]
        for uid in ids:
            subprocess.run([os.path.join(a.build, 'tools/kamegorctl'), '-d', data, 'grant', str(uid),
                            '100000', 'bench'], check=True, stdout=subprocess.DEVNULL)
        seller = subprocess.Popen(peer(a.build, url, '--username', 'benchseller', '--register',
                                       '--role', 'seller', '--price', '1'),
                                  stdout=subprocess.PIPE, text=True, env=env)
        procs.append(seller)
        seller_id = None
        for line in seller.stdout:
            o = json.loads(line)
            if o.get('event') == 'live':
                seller_id = o['user_id']
                break
        idle_cpu, idle_rss, _ = sample(srv.pid, url, 3)
        watch = a.seconds + 20
        viewers = subprocess.Popen(peer(a.build, url, '--username', 'viewer', '--role', 'buyer',
                                        '--seller-id', str(seller_id), '--viewers', str(a.legs),
                                        '--no-decode', '--duration', str(watch), '--timeout', '40'),
                                   stdout=subprocess.PIPE, text=True, env=env)
        procs.append(viewers)
        deadline = time.time() + 40
        while time.time() < deadline and \
                metrics(url).get('kamegor_sessions{path="relay"}', 0) < a.legs:
            time.sleep(0.5)
        time.sleep(3)  # every leg past its first keyframe
        m = metrics(url)
        cpu, rss, pps = sample(srv.pid, url, a.seconds)
        viewers.send_signal(signal.SIGTERM)
        out, _ = viewers.communicate(timeout=60)
        try:
            m_end = metrics(url)
        except OSError:
            m_end = {}
            print('kamegord did not survive the viewers leaving together (exit %s)' % srv.poll())
        sums = [json.loads(l) for l in out.splitlines() if '"summary"' in l]
        got = sum(s.get('packets_received', 0) for s in sums)
        sent = m_end.get('kamegor_relay_packets_total', 0)
        legs = int(m.get('kamegor_relay_legs{role="buyer"}', 0))
        print('legs requested %d, relayed buyer legs up %d, viewers with video %d' %
              (a.legs, legs, sum(1 for s in sums if s.get('frames_decoded', 0) > 0)))
        print('kamegord idle (seller only): %.1f %% of a core, RSS %.1f MB' %
              (idle_cpu * 100, idle_rss / 1e6))
        print('kamegord with legs: %.1f %% of a core, RSS %.1f MB, forwarded %.0f packets/s' %
              (cpu * 100, rss / 1e6, pps))
        if legs > 0:
            print('per leg: %.2f %% of a core, %.2f MB RSS, %.0f packets/s' %
                  ((cpu - idle_cpu) * 100 / legs, (rss - idle_rss) / 1e6 / legs, pps / legs))
            if pps > 0:
                print('relay CPU per forwarded packet: %.1f us' % ((cpu - idle_cpu) / pps * 1e6))
        if sent > 0:
            print('loss relay -> viewers: %.2f %% (%d forwarded, %d received)' %
                  (max(0.0, 1 - got / sent) * 100, sent, got))
        print('relay-added latency: not measured (no common clock between sender and receivers)')
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
        shutil.rmtree(data, ignore_errors=True)


if __name__ == '__main__':
    main()
