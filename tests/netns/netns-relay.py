#!/usr/bin/python3
# netns-relay.py — watch sessions across real NATs: seller and buyer each behind a NAT namespace,
# a router, a server namespace running kamegord. Topologies: open (P2P), blocked (fallback to the
# relay), udp-blocked (relay over ICE-TCP), lossy (5 % loss through the relay), roam (the buyer's
# NAT moves it to a new address), seller-drop (all the seller's UDP dropped for a while: the relay
# notices, both parties are told, the seller restarts ICE and the session carries on) and
# seller-gone (the seller's media never comes back: the session ends ice_failed, today before the
# grace runs out when the rebuilt seller transport fails its checks). Plus privacy
# (relay mode: nobody learns the other party's address, candidates or SDP) and abuse checks
# (metadata-address candidates refused and never contacted; signaling by a stranger refused).
#
# Needs root and `ip netns`; exits 77 (skip) otherwise. Namespaces are created and removed here,
# with unique names, on every exit path.
# Environment: KAMEGORD, KAMEGORCTL, KAMEGOR_PEER (built binaries), KMG_NETNS_ONLY=open,blocked,...
# KMG_NETNS_KEEP=1 keeps the work directory (logs). KMG_NETNS_STUN=reference: clients use
# `turnserver --stun-only` (coturn) in the server namespace instead of kamegord's STUN port.

import atexit
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

SKIP = 77
PASSWORD = 'correct horse battery'
P2P_TIMEOUT_MS = 3000
TAG = 'k%d' % (os.getpid() % 100000)  # unique namespace / interface prefix
SUB = 100 + os.getpid() % 100         # 10.SUB.x.0/24 on the router side
NS = {r: '%s-%s' % (TAG, r) for r in ('srv', 'rtr', 'nat1', 'nat2', 'sel', 'buy')}
SERVER_IP = '10.%d.0.2' % SUB
WAN = {1: '10.%d.1.2' % SUB, 2: '10.%d.2.2' % SUB}
LAN = {1: '192.168.71.2', 2: '192.168.72.2'}
METADATA = ['candidate:1 1 udp 2130706431 169.254.169.254 5000 typ host',
            'candidate:2 1 udp 2130706431 ::ffff:169.254.169.254 5000 typ host']

failures = []
procs = []
workdir = None


def log(*a):
    print(*a, flush=True)


def check(cond, what):
    log(('ok   ' if cond else 'FAIL ') + what)
    if not cond:
        failures.append(what)


def sh(*args, ns=None, check_rc=True, capture=False):
    cmd = (['ip', 'netns', 'exec', NS[ns]] if ns else []) + list(args)
    r = subprocess.run(cmd, stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    if check_rc and r.returncode != 0:
        raise RuntimeError('%s: %s' % (' '.join(cmd), r.stderr.strip()))
    return r.stdout if capture else r.returncode


# ---- namespaces --------------------------------------------------------------------------

def cleanup():
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
            p.wait()
    for n in NS.values():
        subprocess.run(['ip', 'netns', 'del', n], stderr=subprocess.DEVNULL)
    if workdir and not os.environ.get('KMG_NETNS_KEEP'):
        shutil.rmtree(workdir, ignore_errors=True)
    elif workdir:
        log('work directory kept:', workdir)


def link(a, a_name, a_addr, b, b_name, b_addr, n):
    ta, tb = '%s%da' % (TAG, n), '%s%db' % (TAG, n)
    sh('ip', 'link', 'add', ta, 'type', 'veth', 'peer', 'name', tb)
    sh('ip', 'link', 'set', ta, 'netns', NS[a], 'name', a_name)
    sh('ip', 'link', 'set', tb, 'netns', NS[b], 'name', b_name)
    sh('ip', 'addr', 'add', a_addr, 'dev', a_name, ns=a)
    sh('ip', 'addr', 'add', b_addr, 'dev', b_name, ns=b)
    sh('ip', 'link', 'set', a_name, 'up', ns=a)
    sh('ip', 'link', 'set', b_name, 'up', ns=b)


def build_topology():
    for n in NS.values():
        sh('ip', 'netns', 'add', n)
    for r in NS:
        sh('ip', 'link', 'set', 'lo', 'up', ns=r)
    link('rtr', 'to-srv', '10.%d.0.1/24' % SUB, 'srv', 'eth0', SERVER_IP + '/24', 0)
    for i, client in ((1, 'sel'), (2, 'buy')):
        nat = 'nat%d' % i
        link('rtr', 'to-nat%d' % i, '10.%d.%d.1/24' % (SUB, i), nat, 'wan', WAN[i] + '/24', i)
        link(nat, 'lan', '192.168.7%d.1/24' % i, client, 'eth0', LAN[i] + '/24', 10 + i)
        sh('ip', 'route', 'add', 'default', 'via', '10.%d.%d.1' % (SUB, i), ns=nat)
        sh('ip', 'route', 'add', 'default', 'via', '192.168.7%d.1' % i, ns=client)
        sh('sysctl', '-qw', 'net.ipv4.ip_forward=1', ns=nat)
        sh('iptables', '-t', 'nat', '-A', 'POSTROUTING', '-o', 'wan', '-j', 'MASQUERADE', ns=nat)
        # Unsolicited packets vanish (a real NAT does not answer with port-unreachable).
        sh('iptables', '-A', 'INPUT', '-i', 'wan', '-j', 'DROP', ns=nat)
    sh('ip', 'route', 'add', 'default', 'via', '10.%d.0.1' % SUB, ns='srv')
    sh('sysctl', '-qw', 'net.ipv4.ip_forward=1', ns='rtr')
    # Counters: nothing may ever go to the metadata address.
    for r in ('srv', 'sel', 'buy', 'nat1', 'nat2', 'rtr'):
        for chain in ('OUTPUT', 'FORWARD'):
            sh('iptables', '-A', chain, '-d', '169.254.169.254', '-j', 'DROP', ns=r)


def metadata_packets():
    total = 0
    for r in ('srv', 'sel', 'buy', 'nat1', 'nat2', 'rtr'):
        out = sh('iptables', '-L', '-v', '-n', '-x', ns=r, capture=True)
        for line in out.splitlines():
            if '169.254.169.254' in line:
                total += int(line.split()[0])
    return total


ROAM_WAN = '10.%d.2.3' % SUB
roam_seen = {}  # what the roam topology observed mid-session


def roam_buyer():
    """The buyer's network changes under it: its NAT gets a new public address for new UDP flows
    and the old UDP mappings stop working (the WebSocket over TCP survives)."""
    sh('ip', 'addr', 'add', ROAM_WAN + '/24', 'dev', 'wan', ns='nat2')
    sh('iptables', '-t', 'nat', '-I', 'POSTROUTING', '1', '-o', 'wan', '-p', 'udp', '-j', 'SNAT',
       '--to-source', ROAM_WAN, ns='nat2')
    for flag in ('-s', '-d'):
        sh('iptables', '-I', 'FORWARD', '1', '-p', 'udp', flag, WAN[2], '-j', 'DROP', ns='rtr')


def unroam_buyer():
    sh('iptables', '-t', 'nat', '-D', 'POSTROUTING', '-o', 'wan', '-p', 'udp', '-j', 'SNAT',
       '--to-source', ROAM_WAN, ns='nat2', check_rc=False)
    sh('ip', 'addr', 'del', ROAM_WAN + '/24', 'dev', 'wan', ns='nat2', check_rc=False)


SELLER_DROP_S = 8  # under presence.grace_s (20 s)


def drop_seller(keep_tcp_port):
    """The seller's uplink dies for media: all its UDP both ways and all its TCP but the
    server's HTTP port (so ICE-TCP cannot save it; the WebSocket stays)."""
    rules = [['-p', 'udp', flag, WAN[1]] for flag in ('-s', '-d')]
    rules += [['-p', 'tcp', '-s', WAN[1], '!', '--dport', str(keep_tcp_port)],
              ['-p', 'tcp', '-d', WAN[1], '!', '--sport', str(keep_tcp_port)]]
    for r in rules:
        sh('iptables', '-I', 'FORWARD', '1', *r, '-j', 'DROP', ns='rtr')
    return rules


def restore_seller(rules):
    for r in rules:
        sh('iptables', '-D', 'FORWARD', *r, '-j', 'DROP', ns='rtr', check_rc=False)


def wait_log(path, pred, timeout, after=None):
    """Seconds until a received message matching pred appears in a --log-messages file (with
    after: one that follows a message matching after)."""
    start = time.time()
    while time.time() - start < timeout:
        try:
            armed = after is None
            for line in received(path):
                try:
                    m = json.loads(line)
                except ValueError:
                    continue
                if armed and pred(m):
                    return time.time() - start
                armed = armed or after(m)
        except FileNotFoundError:
            pass
        time.sleep(0.2)
    return None


def reconnecting(value):
    return lambda m: m.get('type') == 'session.state' and m.get('reconnecting') is value


def seller_outage(topo, port, seller, slog, blog):
    """Mid-session: the seller's uplink dies (seller-drop: for SELLER_DROP_S, then comes back;
    seller-gone: for good). Records what both parties were told, and when."""
    t0 = time.time()
    seen = {'t_drop': t0}
    rules = drop_seller(keep_tcp_port=port)
    # The relay's media watch (3 s) plus its once-a-second check: well within 6 s.
    seen['buyer_told'] = wait_log(blog, reconnecting(True), 10)
    seen['seller_told'] = wait_log(slog, reconnecting(True), 1)
    seen['restart'] = seller.wait_event('relay_restart', max(1, 10 - (time.time() - t0)))
    if seen['restart']:
        seen['restart_after_s'] = time.time() - t0
    if topo == 'seller-drop':
        time.sleep(max(0, SELLER_DROP_S - (time.time() - t0)))
        restore_seller(rules)
        seen['buyer_back'] = wait_log(blog, reconnecting(False), 20, after=reconnecting(True))
    return seen, rules


def set_router_rules(topology):
    sh('iptables', '-F', 'FORWARD', ns='rtr')
    sh('iptables', '-A', 'FORWARD', '-d', '169.254.169.254', '-j', 'DROP', ns='rtr')
    net1, net2 = '10.%d.1.0/24' % SUB, '10.%d.2.0/24' % SUB
    if topology == 'blocked':
        sh('iptables', '-A', 'FORWARD', '-s', net1, '-d', net2, '-j', 'DROP', ns='rtr')
        sh('iptables', '-A', 'FORWARD', '-s', net2, '-d', net1, '-j', 'DROP', ns='rtr')
    elif topology == 'udp-blocked':
        sh('iptables', '-A', 'FORWARD', '-p', 'udp', '-j', 'DROP', ns='rtr')
    elif topology == 'lossy':
        sh('iptables', '-A', 'FORWARD', '-m', 'statistic', '--mode', 'random', '--probability',
           '0.05', '-j', 'DROP', ns='rtr')


# ---- processes ---------------------------------------------------------------------------

class Proc:
    """A child in a namespace whose stdout JSON lines are collected as they come."""

    def __init__(self, ns, args, name):
        self.name = name
        self.err = open(os.path.join(workdir, name + '.err'), 'w')
        self.p = subprocess.Popen(['ip', 'netns', 'exec', NS[ns]] + args, stdout=subprocess.PIPE,
                                  stderr=self.err, text=True)
        procs.append(self.p)
        self.lines = []
        self.cv = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            with self.cv:
                self.lines.append(obj)
                self.cv.notify_all()
        with self.cv:
            self.cv.notify_all()

    def wait_event(self, event, timeout):
        end = time.time() + timeout
        with self.cv:
            while True:
                for o in self.lines:
                    if o.get('event') == event:
                        return o
                left = end - time.time()
                if left <= 0 or self.p.poll() is not None:
                    return None
                self.cv.wait(min(left, 0.5))

    def finish(self, timeout):
        try:
            self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(8)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        time.sleep(0.2)
        return self.wait_event('summary', 1)

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
        return self.finish(10)


def start_server(data, port, stun_port, sets):
    args = [os.environ['KAMEGORD'], '-l', '%s:%d' % (SERVER_IP, port), '-d', data,
            '--log-level', 'info',
            '--set', 'relay.stun_port=%d' % stun_port,
            '--set', 'relay.p2p_timeout_ms=%d' % P2P_TIMEOUT_MS,
            '--set', 'relay.ice_tcp=true',
            '--set', 'billing.minute_s=6', '--set', 'billing.min_billable_s=2'] + \
        sum((['--set', s] for s in sets), [])
    err = open(os.path.join(workdir, 'kamegord-%d.log' % port), 'w')
    p = subprocess.Popen(['ip', 'netns', 'exec', NS['srv']] + args, stdout=err, stderr=err)
    procs.append(p)
    for _ in range(100):
        if p.poll() is not None:
            raise RuntimeError('kamegord exited, see ' + err.name)
        if sh('curl', '-sf', '-o', '/dev/null', 'http://%s:%d/healthz' % (SERVER_IP, port),
              ns='srv', check_rc=False) == 0:
            return p
        time.sleep(0.1)
    raise RuntimeError('kamegord did not come up')


_stun = {}


def reference_stun(port):
    if port not in _stun:
        _stun[port] = subprocess.Popen(['ip', 'netns', 'exec', NS['srv'], 'turnserver', '--stun-only',
                                        '-L', SERVER_IP, '-p', str(port), '--no-cli', '-n'],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(_stun[port])
        time.sleep(0.5)
    return port


def stop_server(p):
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def metrics(port):
    out = sh('curl', '-sf', 'http://%s:%d/metrics' % (SERVER_IP, port), ns='srv', capture=True)
    m = {}
    for line in out.splitlines():
        if line.startswith('#') or not line.strip():
            continue
        key, _, val = line.rpartition(' ')
        m[key] = float(val)
    return m


def peer(ns, url, user, role, *extra, name=None):
    args = [os.environ['KAMEGOR_PEER'], '--server', url, '--username', user, '--password', PASSWORD,
            '--role', role, '--json'] + list(extra)
    return Proc(ns, args, name or user)


# ---- checks ------------------------------------------------------------------------------

def sent_secrets(logfile):
    """What a party revealed: its SDP ufrag/fingerprint and candidate addresses."""
    secrets = set()
    for line in open(logfile):
        if not line.startswith('> '):
            continue
        msg = json.loads(line[2:])
        if msg.get('type') != 'signal':
            continue
        for text in (msg.get('sdp', ''), msg.get('candidate', '')):
            secrets.update(re.findall(r'a=ice-ufrag:(\S+)', text))
            secrets.update(re.findall(r'a=fingerprint:\S+ (\S+)', text))
            for c in re.findall(r'candidate:\S+ \d+ \S+ \d+ (\S+) (\d+)', text):
                secrets.add('%s %s' % c)
    return secrets


def received(logfile):
    return [l for l in open(logfile) if not l.startswith('> ')]


def privacy_check(seller_log, buyer_log):
    for me, other, other_addrs in (('buyer', seller_log, [LAN[1], WAN[1]]),
                                   ('seller', buyer_log, [LAN[2], WAN[2]])):
        mine = received(buyer_log if me == 'buyer' else seller_log)
        secrets = sent_secrets(other) | set(other_addrs)
        leaked = sorted(s for s in secrets if any(s in l for l in mine))
        check(len(secrets) > 2 and not leaked,
              'privacy: the %s received nothing of the other party (%d secrets checked, leaked: %s)'
              % (me, len(secrets), leaked))


def run_topology(topo, data, port, seller_id, ctx):
    log('--- topology %s' % topo)
    set_router_rules(topo)
    sets = ['relay.policy=always'] if topo in ('lossy', 'roam', 'seller-drop', 'seller-gone') else []
    if os.environ.get('KMG_NETNS_STUN') == 'reference':
        sets.append('relay.stun_server=%s:%d' % (SERVER_IP, reference_stun(port + 2)))
    srv = start_server(data, port, port + 1, sets)
    url = 'http://%s:%d' % (SERVER_IP, port)
    slog = os.path.join(workdir, '%s-seller.msgs' % topo)
    blog = os.path.join(workdir, '%s-buyer.msgs' % topo)
    watch_s = {'lossy': 12, 'roam': 16, 'seller-drop': 24, 'seller-gone': 60}.get(topo, 6)
    outage = topo in ('seller-drop', 'seller-gone')
    outage_rules = []
    seen = {}
    try:
        seller = peer('sel', url, 'seller', 'seller', '--duration', '60', '--log-messages', slog,
                      name='%s-seller' % topo)
        if not seller.wait_event('live', 15):
            check(False, '%s: seller went live' % topo)
            return
        extra = ['--inject-candidate', METADATA[0], '--inject-candidate', METADATA[1]] \
            if topo in ('open', 'lossy') else []
        if outage:
            # The buyer never reports a stall itself: what it is told comes from the relay's
            # watch on the seller's media.
            extra = ['--stall', '0']
        buyer = peer('buy', url, 'buyer', 'buyer', '--seller-id', str(seller_id), '--duration',
                     str(watch_s), '--timeout', str(watch_s + 30 if outage else 25),
                     '--log-messages', blog, *extra, name='%s-buyer' % topo)
        sess = buyer.wait_event('session', 15)
        mid = None
        if sess and buyer.wait_event('first_frame', 25):
            time.sleep(2)
            mid = metrics(port)
            if topo == 'roam':
                time.sleep(1)
                roam_buyer()
                roam_seen['restart'] = buyer.wait_event('relay_restart', 20)
                time.sleep(4)
                roam_seen['metrics'] = metrics(port)
            if outage:
                time.sleep(1)
                seen, outage_rules = seller_outage(topo, port, seller, slog, blog)
            if topo == 'open':
                probe = peer('sel', url, 'intruder', 'none', '--send', json.dumps(
                    {'type': 'signal', 'ref': 'x', 'session_id': sess['session_id'],
                     'kind': 'ice_candidate', 'sdp_mline_index': 0,
                     'candidate': 'candidate:1 1 udp 2130706431 10.9.9.9 5000 typ host'}),
                    name='open-intruder')
                ps = probe.finish(15)
                codes = [r.get('code') for r in (ps or {}).get('replies', [])]
                check(codes == ['not_participant'],
                      'abuse: signaling for a session one is not part of is refused (%s)' % codes)
        summary = buyer.finish(watch_s + 30)
        if outage and summary:
            seen['ended_after_s'] = time.time() - seen.get('t_drop', time.time())
        seller_summary = seller.stop()
        end = metrics(port)
    finally:
        stop_server(srv)
        if topo == 'roam':
            unroam_buyer()
        restore_seller(outage_rules)
    if not summary:
        check(False, '%s: buyer printed a summary' % topo)
        return
    log('     buyer: ' + json.dumps(summary))
    with buyer.cv:
        timeline = ['%s %s at %s ms' % (o['event'], o.get('path', ''), o['ms'])
                    for o in buyer.lines if 'ms' in o]
    log('     buyer timeline: ' + ', '.join(timeline))
    ctx[topo] = summary
    check(summary['ok'] and summary['frames_decoded'] > 0,
          '%s: buyer decoded frames (%d)' % (topo, summary['frames_decoded']))
    if topo == 'open':
        check(summary['path'] == 'p2p' and not summary['fell_back'], 'open: path p2p')
        check(mid is not None and mid.get('kamegor_relay_legs{role="buyer"}') == 0
              and mid.get('kamegor_relay_legs{role="seller"}') == 0
              and end.get('kamegor_relay_sessions_total') == 0,
              'open: relay idle during the session (legs 0, relayed sessions 0)')
    elif topo == 'blocked':
        check(summary['path'] == 'relay' and summary['fell_back'], 'blocked: fell back to the relay')
        check(0 < summary['ttff_ms'] <= P2P_TIMEOUT_MS + 1000,
              'blocked: first frame %d ms <= p2p_timeout + 1 s' % summary['ttff_ms'])
        check(mid is not None and mid.get('kamegor_relay_legs{role="buyer"}') == 1,
              'blocked: one relayed buyer leg while watching')
        check(mid is not None and mid.get('kamegor_relay_direct_legs') == 1,
              'blocked: the leg is on UDP, forwarded by the fan-out')
    elif topo == 'udp-blocked':
        check(summary['path'] == 'relay', 'udp-blocked: relay (over ICE-TCP)')
        check(mid is not None and mid.get('kamegor_relay_legs{role="buyer"}') == 1
              and mid.get('kamegor_relay_direct_legs') == 0,
              'udp-blocked: the TCP leg goes through webrtcbin, not the UDP fan-out')
    elif topo == 'roam':
        check(summary['path'] == 'relay' and summary['session_id'] == sess['session_id'],
              'roam: same relayed session throughout (%s)' % summary['session_id'])
        check(roam_seen.get('restart') is not None and summary['relay_restarts'] == 1,
              'roam: the relay restarted the buyer leg once (%d)' % summary['relay_restarts'])
        check(summary['frames_after_restart'] >= 30,
              'roam: video resumed after the network change (%d frames)' % summary['frames_after_restart'])
        rm = roam_seen.get('metrics') or {}
        check(rm.get('kamegor_relay_legs{role="buyer"}') == 1 and rm.get('kamegor_relay_direct_legs') == 1,
              'roam: one buyer leg, back on the UDP fan-out')
        check(summary['end_reason'] == 'buyer_left' and summary['minutes_charged'] >= 1,
              'roam: ended by the buyer, billed (%s, %d min)' % (summary['end_reason'],
                                                                summary['minutes_charged']))
    elif outage:
        told = [seen.get('buyer_told'), seen.get('seller_told')]
        check(told[0] is not None and told[0] <= 6 and told[1] is not None,
              '%s: both parties got session.state reconnecting:true within 6 s of the outage '
              '(buyer %s s, seller by then: %s)' % (topo, told[0], told[1] is not None))
        r = seen.get('restart') or {}
        check(r.get('path') == 'relay' and seen.get('restart_after_s', 99) <= 8,
              '%s: the seller restarted ICE towards the relay (%s, %.1f s after the outage)'
              % (topo, r.get('why'), seen.get('restart_after_s', -1)))
        check(summary['path'] == 'relay' and summary['session_id'] == sess['session_id'],
              '%s: same relayed session throughout (%s)' % (topo, summary['session_id']))
    if topo == 'seller-drop':
        check(seen.get('buyer_back') is not None,
              'seller-drop: reconnecting:false once the seller is back (%s s after the restore)'
              % seen.get('buyer_back'))
        check(summary['longest_gap_ms'] >= 3000 and summary['frames_after_gap'] >= 30,
              'seller-drop: video resumed for the buyer after the outage (gap %d ms, %d frames after)'
              % (summary['longest_gap_ms'], summary['frames_after_gap']))
        check(summary['end_reason'] == 'buyer_left' and summary['minutes_charged'] >= 1,
              'seller-drop: ended by the buyer, billed (%s, %d min)' % (summary['end_reason'],
                                                                     summary['minutes_charged']))
        check(seller_summary is not None and seller_summary.get('relay_restarts', 0) >= 1,
              'seller-drop: the seller summary counts its restart (%s)'
              % (seller_summary or {}).get('relay_restarts'))
    elif topo == 'seller-gone':
        # protocol.md: a seller leg disconnected for presence.grace_s (20 s) ends it ice_failed;
        # the relay's restarted transport failing its checks first ends it ice_failed sooner.
        ended = seen.get('ended_after_s', -1)
        check(summary['end_reason'] == 'ice_failed' and 5 <= ended <= 30,
              'seller-gone: the session ended ice_failed, within the grace (%.1f s after the outage)'
              % ended)
    elif topo == 'lossy':
        check(summary['path'] == 'relay', 'lossy: relay')
        check(mid is not None and mid.get('kamegor_relay_direct_legs') == 1, 'lossy: fan-out leg')
        fps = summary['frames_decoded'] / max(summary['seconds_watched'], 1)
        check(fps >= 5, 'lossy: frames keep flowing (%.1f frames/s)' % fps)
        fwd = end.get('kamegor_relay_keyframe_requests_total{outcome="forwarded"}', 0)
        drop = end.get('kamegor_relay_keyframe_requests_total{outcome="dropped"}', 0)
        # The relay spaces keyframe requests towards the seller (default at most one per
        # second or so): over the watch time the forwarded ones stay about one per second.
        check(fwd <= watch_s + 4, 'lossy: keyframe requests throttled (forwarded %d, dropped %d, '
              'over %d s)' % (fwd, drop, watch_s))
        resent = end.get('kamegor_relay_retransmissions_total{outcome="sent"}')
        refused = end.get('kamegor_relay_retransmissions_total{outcome="refused"}')
        check(resent is not None and refused == 0,
              'lossy: NACKs from an honest buyer stay within its budget (resent %s, refused %s)'
              % (resent, refused))
        privacy_check(slog, blog)
    if topo in ('open', 'lossy'):
        replies = [r['reply'] for r in summary.get('inject_replies', [])]
        check(replies == ['denied_address', 'denied_address'],
              '%s: metadata-address candidates refused (%s)' % (topo, replies))
        check(not any('169.254.169.254' in l for l in received(slog)),
              '%s: the seller never received the metadata address' % topo)
    check(metadata_packets() == 0, '%s: no packet ever went to 169.254.169.254' % topo)


def main():
    global workdir
    if os.geteuid() != 0:
        log('SKIP: the netns suite needs root')
        return SKIP
    if shutil.which('ip') is None or shutil.which('iptables') is None or \
            subprocess.run(['ip', 'netns', 'list'], capture_output=True).returncode != 0:
        log('SKIP: ip netns / iptables unavailable')
        return SKIP
    for var in ('KAMEGORD', 'KAMEGORCTL', 'KAMEGOR_PEER'):
        if not os.access(os.environ.get(var, ''), os.X_OK):
            log('SKIP: %s not set to a built binary' % var)
            return SKIP
    workdir = tempfile.mkdtemp(prefix='kmg-netns-')
    atexit.register(cleanup)
    for s in (signal.SIGTERM, signal.SIGINT):
        signal.signal(s, lambda *a: sys.exit(1))
    try:
        build_topology()
    except RuntimeError as e:
        log('SKIP: cannot build the namespaces:', e)
        return SKIP
    data = os.path.join(workdir, 'data')
    port = 18000 + os.getpid() % 1000 * 2
    srv = start_server(data, port, port + 1, [])
    url = 'http://%s:%d' % (SERVER_IP, port)
    try:
        ids = {}
        for user, ns, args in (('seller', 'sel', ['--role', 'seller', '--price', '1', '--duration', '0.1']),
                               ('buyer', 'buy', ['--role', 'none']),
                               ('intruder', 'sel', ['--role', 'none'])):
            p = Proc(ns, [os.environ['KAMEGOR_PEER'], '--server', url, '--username', user,
                          '--password', PASSWORD, '--register', '--json'] + args, 'setup-' + user)
            s = p.finish(30)
            ids[user] = s and s.get('user_id')
        subprocess.run([os.environ['KAMEGORCTL'], '-d', data, 'grant', str(ids['buyer']), '1000',
                        'netns test credits'], check=True, stdout=subprocess.DEVNULL)
    finally:
        stop_server(srv)
    check(all(ids.values()), 'accounts set up (%s)' % ids)
    if failures:
        return 1
    only = os.environ.get('KMG_NETNS_ONLY')
    topologies = only.split(',') if only else ['open', 'blocked', 'udp-blocked', 'lossy', 'roam',
                                               'seller-drop', 'seller-gone']
    ctx = {}
    for topo in topologies:
        run_topology(topo, data, port, ids['seller'], ctx)
    log('--- time to first frame: ' + ', '.join('%s %s ms (%s)' % (t, s['ttff_ms'], s['path'])
                                              for t, s in ctx.items()))
    if failures:
        log('%d check(s) failed' % len(failures))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
