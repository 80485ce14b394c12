#!/usr/bin/env python3
"""run_phone_test.py: sbphone end to end, phones and server as real processes.

    run_phone_test.py SWITCHBOARD SBPHONE TEST [--keep] [--verbose]
    run_phone_test.py --list

All on 127.0.0.1.  The runner

  1. starts `switchboard --listen udp:127.0.0.1:P --listen tcp:127.0.0.1:P
     --domain 127.0.0.1 --store TMP/db --api none --user alice:pw --user bob:pw
     --user carol:pw --log-level debug` (authentication on, the default) on a
     free port and waits until it accepts;
  2. starts the phones the test names (`sbphone --user NAME --password pw
     --server 127.0.0.1:P --events TMP/NAME.events --log-level debug ...`), the
     ones taking calls first, each waited for until it reports `registered`;
  3. waits, with a deadline for every wait, for the events the test names
     (read from the --events files as they grow), stops the phones with
     SIGTERM (a clean shutdown: they unregister), then the server;
  4. checks the exact sequence of event names each phone wrote, the exit
     status of every process, key facts (codes, reasons, peers), the absence
     of sanitizer reports in every log, and for the audio tests the tone in
     the recording (a Goertzel filter) and its length.

One line per check, then `N passed, M failed`.  Exit status 0, 1 on a failed
check, 77 (meson's "skipped") when a binary is missing.  The working directory
(server.log, NAME.log = a phone's stdout and stderr, NAME.events, recordings)
is kept and its path printed when a test fails, or always with --keep.
"""

import argparse
import json
import math
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import wave

LOCAL = '127.0.0.1'
DEADLINE = 50.0          # seconds for a whole test (meson's timeout is 60)
REGISTER_WAIT = 10.0     # a phone's registration
EVENT_WAIT = 15.0        # any other event
EXIT_WAIT = 10.0         # a phone that exits by itself (--exit-after-call)
STOP_WAIT = 8.0          # after SIGTERM (sbphone's shutdown is bounded by 64*T1)
USERS = {'alice': 'pw', 'bob': 'pw', 'carol': 'pw'}
SANITIZER = ('ERROR: AddressSanitizer', 'ERROR: LeakSanitizer', 'runtime error:')

_children = []


# ------------------------------------------------------------- processes

def _child_setup():
    """In the child: its own process group, and SIGKILL when the runner dies
    (Linux PR_SET_PDEATHSIG), so nothing outlives a test."""
    os.setsid()
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def kill_all():
    for p in _children:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    for p in _children:
        try:
            p.wait(timeout=2)
        except subprocess.TimeoutExpired:
            pass


def on_signal(signum, _frame):
    kill_all()
    sys.exit(128 + signum)


def spawn(argv, log_path, cwd, stdin=None):
    out = open(log_path, 'w')
    p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=cwd,
                         stdin=stdin if stdin is not None else subprocess.DEVNULL,
                         preexec_fn=_child_setup)
    out.close()
    _children.append(p)
    return p


def wait_exit(p, until):
    while time.monotonic() < until:
        rc = p.poll()
        if rc is not None:
            return rc
        time.sleep(0.02)
    return p.poll()


_reserved = set()


def free_port():
    """A port free for both UDP and TCP, not handed out before in this run."""
    for _ in range(200):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((LOCAL, 0))
        port = s.getsockname()[1]
        s.close()
        if port in _reserved:
            continue
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            t.bind((LOCAL, port))
        except OSError:
            continue
        finally:
            t.close()
        _reserved.add(port)
        return port
    raise RuntimeError('no free port')


# ------------------------------------------------------------- checks

class Checks:
    def __init__(self):
        self.passed = self.failed = 0

    def ok(self, cond, what, why=''):
        print('  %s %s%s' % ('ok  ' if cond else 'FAIL', what, '' if cond else ': ' + str(why)))
        sys.stdout.flush()
        if cond:
            self.passed += 1
        else:
            self.failed += 1
        return cond

    def eq(self, got, want, what):
        return self.ok(got == want, what, 'got %r, want %r' % (got, want))

    def summary(self):
        print('%d passed, %d failed' % (self.passed, self.failed))


class Failed(Exception):
    """A check the rest of the test depends on failed: stop here."""


# ------------------------------------------------------------- the run

class Phone:
    def __init__(self, run, name, args, user=None, stdin_pipe=False):
        self.run = run
        self.name = name
        self.user = user or name
        self.events_path = os.path.join(run.dir, name + '.events')
        self.log_path = os.path.join(run.dir, name + '.log')
        argv = [run.sbphone, '--user', self.user, '--password', USERS.get(self.user, 'pw'),
                '--server', '%s:%d' % (LOCAL, run.port), '--events', self.events_path,
                '--log-level', 'debug'] + list(args)
        self.argv = argv
        print('  %s: %s' % (name, ' '.join(argv[1:])))
        self.proc = spawn(argv, self.log_path, run.dir,
                          stdin=subprocess.PIPE if stdin_pipe else None)
        self.rc = None
        self.expected_rc = 0
        run.phones.append(self)

    def events(self):
        """Every complete line of the events file, parsed."""
        try:
            with open(self.events_path, errors='replace') as f:
                data = f.read()
        except OSError:
            return []
        out = []
        for line in data.split('\n')[:-1]:   # the last piece may be unfinished
            try:
                out.append(json.loads(line))
            except ValueError:
                out.append({'event': '<bad json: %s>' % line})
        return out

    def names(self):
        return [e.get('event') for e in self.events()]

    def find(self, event, nth=1, **facts):
        """The nth event of that name with those facts, or None."""
        k = 0
        for e in self.events():
            if e.get('event') == event and all(e.get(a) == v for a, v in facts.items()):
                k += 1
                if k == nth:
                    return e
        return None

    def wait(self, event, timeout=EVENT_WAIT, nth=1, **facts):
        """Wait for the event (bounded); a failed check ends the test."""
        until = min(self.run.until, time.monotonic() + timeout)
        while True:
            e = self.find(event, nth, **facts)
            if e is not None:
                return e
            if self.proc.poll() is not None or time.monotonic() >= until:
                break
            time.sleep(0.02)
        e = self.find(event, nth, **facts)
        if e is not None:
            return e
        why = 'exited with %s' % self.proc.poll() if self.proc.poll() is not None \
            else 'not within %.0f s' % timeout
        self.run.c.ok(False, '%s: event %s%s' % (self.name, event,
                                                   ' %r' % facts if facts else ''),
                      '%s; events so far: %s' % (why, self.names()))
        raise Failed()

    def send(self, line):
        """A command on the prompt (--interactive)."""
        self.proc.stdin.write((line + '\n').encode())
        self.proc.stdin.flush()

    def wait_exit(self, timeout=EXIT_WAIT):
        self.rc = wait_exit(self.proc, min(self.run.until, time.monotonic() + timeout))
        return self.rc

    def stop(self, timeout=STOP_WAIT):
        """SIGTERM, and the exit status (None: it had to be killed)."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            self.rc = wait_exit(self.proc, time.monotonic() + timeout)
            if self.rc is None:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        else:
            self.rc = self.proc.returncode
        return self.rc

    def local_port(self):
        """The SIP port the phone bound, from its first line."""
        try:
            m = re.search(r' on (?:udp|tcp):127\.0\.0\.1:(\d+)', open(self.log_path).read())
        except OSError:
            return None
        return int(m.group(1)) if m else None

    def log(self):
        try:
            return open(self.log_path, errors='replace').read()
        except OSError:
            return ''


class Run:
    def __init__(self, switchboard, sbphone, name, verbose):
        self.switchboard = switchboard
        self.sbphone = sbphone
        self.name = name
        self.verbose = verbose
        self.c = Checks()
        self.dir = tempfile.mkdtemp(prefix='phone-%s-' % name)
        self.start = time.monotonic()
        self.until = self.start + DEADLINE
        self.phones = []
        self.srv = None
        self.port = free_port()

    def start_server(self, extra=()):
        """The server on a free port, ready once its log says it runs.  A
        port taken between our probe and its bind (by a test running in
        parallel) is retried on another one."""
        for attempt in range(3):
            if attempt:
                self.port = free_port()
            argv = [self.switchboard, '--listen', 'udp:%s:%d' % (LOCAL, self.port),
                    '--listen', 'tcp:%s:%d' % (LOCAL, self.port), '--domain', LOCAL,
                    '--store', os.path.join(self.dir, 'db%d' % attempt), '--api', 'none']
            for u, pw in USERS.items():
                argv += ['--user', '%s:%s' % (u, pw)]
            argv += list(extra) + ['--log-level', 'debug']
            print('  server: %s' % ' '.join(argv[1:]))
            log = os.path.join(self.dir, 'server.log')
            if attempt:
                os.replace(log, os.path.join(self.dir, 'server-%d.log' % (attempt - 1)))
            self.srv = spawn(argv, log, self.dir)
            t = time.monotonic() + 5
            up = False
            while time.monotonic() < t and self.srv.poll() is None:
                if 'switchboard running' in self.server_log():
                    up = True
                    break
                time.sleep(0.05)
            if up and self.srv.poll() is None:
                self.c.ok(True, 'server running on %s:%d' % (LOCAL, self.port))
                return
            if self.srv.poll() is not None and 'Address already in use' in self.server_log():
                continue
            break
        self.c.ok(False, 'server running on %s:%d' % (LOCAL, self.port),
                  'exit status %s; %s' % (self.srv.poll(), self.server_log()[-800:]))
        raise Failed()

    def phone(self, name, *args, registered=True, user=None, stdin_pipe=False):
        """Start a phone; by default wait until it registered."""
        p = Phone(self, name, args, user=user, stdin_pipe=stdin_pipe)
        if registered:
            p.wait('registered', timeout=REGISTER_WAIT)
        return p

    def server_log(self):
        try:
            return open(os.path.join(self.dir, 'server.log'), errors='replace').read()
        except OSError:
            return ''

    # --------------------------------------------------------- checks

    def seq(self, phone, want):
        got = phone.names()
        self.c.ok(got == want, '%s: events %s' % (phone.name, ' '.join(want)),
                  'got %s' % ' '.join(str(g) for g in got))

    def fact(self, phone, event, what, nth=1, **facts):
        """An event with these facts exists (e.g. code=486)."""
        e = phone.find(event, nth)
        ok = e is not None and all(e.get(a) == v for a, v in facts.items())
        self.c.ok(ok, '%s: %s %s' % (phone.name, event, what),
                  'event: %s' % json.dumps(e) if e else 'no such event')
        return e

    def stop_all(self):
        """Every phone still running gets SIGTERM; each must exit 0."""
        for p in self.phones:
            was_running = p.proc.poll() is None
            rc = p.stop()
            self.c.ok(rc == p.expected_rc, '%s: exit status %d%s'
                      % (p.name, p.expected_rc, ' after SIGTERM' if was_running else ''),
                      'exit status %s (None: killed)' % rc)
        if self.srv is not None:
            self.c.ok(self.srv.poll() is None, 'server still running',
                      'exited with %s' % self.srv.poll())
            if self.srv.poll() is None:
                os.killpg(self.srv.pid, signal.SIGTERM)
                if wait_exit(self.srv, time.monotonic() + 5) is None:
                    os.killpg(self.srv.pid, signal.SIGKILL)
                    self.srv.wait()

    def sanitizers(self):
        logs = ([('server.log', self.server_log())] if self.srv else []) + \
               [(p.name + '.log', p.log()) for p in self.phones]
        for name, text in logs:
            bad = [w for w in SANITIZER if w in text]
            self.c.ok(not bad, 'no sanitizer report in %s' % name, ', '.join(bad))


# ------------------------------------------------------------- audio

def read_wav(path):
    """(rate, samples as floats in -1..1) of a mono or stereo WAV file: PCM
    through python's wave module; G.711 (formats 6 and 7), which wave does
    not read, by hand."""
    try:
        with wave.open(path, 'rb') as w:
            rate, n, width, ch = (w.getframerate(), w.getnframes(), w.getsampwidth(),
                                  w.getnchannels())
            raw = w.readframes(n)
        if width == 2:
            vals = struct.unpack('<%dh' % (len(raw) // 2), raw)
            scale = 32768.0
        elif width == 1:
            vals = [b - 128 for b in raw]
            scale = 128.0
        elif width == 4:
            vals = struct.unpack('<%di' % (len(raw) // 4), raw)
            scale = 2147483648.0
        else:
            raise ValueError('%d-byte samples' % width)
        return rate, [v / scale for v in vals[::ch]]
    except wave.Error:
        pass
    data = open(path, 'rb').read()
    if data[:4] != b'RIFF' or data[8:12] != b'WAVE':
        raise ValueError('not a WAV file')
    pos, fmt, rate, ch, body = 12, None, None, 1, None
    while pos + 8 <= len(data):
        cid, size = data[pos:pos + 4], struct.unpack('<I', data[pos + 4:pos + 8])[0]
        chunk = data[pos + 8:pos + 8 + size]
        if cid == b'fmt ':
            fmt, ch, rate = struct.unpack('<HHI', chunk[:8])
        elif cid == b'data':
            body = chunk
        pos += 8 + size + (size & 1)
    if fmt not in (6, 7) or body is None:
        raise ValueError('unsupported WAV format %s' % fmt)

    def ulaw(b):
        b = ~b & 0xff
        t = (((b & 0x0f) << 3) + 0x84) << ((b & 0x70) >> 4)
        return (0x84 - t if b & 0x80 else t - 0x84) / 32768.0

    def alaw(b):
        b ^= 0x55
        t = (b & 0x0f) << 4
        seg = (b & 0x70) >> 4
        t = t + 8 if seg == 0 else (t + 0x108) << (seg - 1)
        return (t if b & 0x80 else -t) / 32768.0

    dec = ulaw if fmt == 7 else alaw
    return rate, [dec(b) for b in body[::ch]]


def goertzel(block, rate, freq):
    """The power of freq in block (Goertzel)."""
    coeff = 2.0 * math.cos(2.0 * math.pi * freq / rate)
    s1 = s2 = 0.0
    for x in block:
        s1, s2 = x + coeff * s1 - s2, s1
    return s1 * s1 + s2 * s2 - coeff * s1 * s2


def check_tone(run, path, who, freq, call_s):
    """The recording holds freq, stronger than freq/2 and 2*freq, in most of
    its 200 ms blocks, and lasts as long as the call (±0.5 s)."""
    c = run.c
    if not c.ok(os.path.exists(path) and os.path.getsize(path) > 44,
                '%s: recording %s written' % (who, os.path.basename(path)), 'missing or empty'):
        return
    try:
        rate, s = read_wav(path)
    except (ValueError, OSError, struct.error, EOFError) as e:
        c.ok(False, '%s: recording readable' % who, e)
        return
    dur = len(s) / float(rate)
    c.ok(abs(dur - call_s) <= 0.5, '%s: recording lasts as long as the call (%.2f s, call %.2f s)'
         % (who, dur, call_s), 'differs by %.2f s' % (dur - call_s))
    # the middle, away from the start and end of media
    n = int(rate * 0.2)
    mid = s[int(rate * 0.5):max(int(rate * 0.5), len(s) - int(rate * 0.5))]
    blocks = [mid[k:k + n] for k in range(0, len(mid) - n + 1, n)]
    if not c.ok(len(blocks) >= 3, '%s: at least 0.6 s of recording to analyse' % who,
                '%d blocks of 200 ms' % len(blocks)):
        return
    good = 0
    worst = None
    for b in blocks:
        p = goertzel(b, rate, freq)
        lo, hi = goertzel(b, rate, freq / 2.0), goertzel(b, rate, freq * 2.0)
        ratio = p / max(lo, hi, 1e-12)
        worst = ratio if worst is None else min(worst, ratio)
        if ratio >= 10.0:
            good += 1
    rms = math.sqrt(sum(x * x for x in mid) / len(mid))
    c.ok(rms > 0.01, '%s: the recording is not silent (RMS %.3f)' % (who, rms), 'too quiet')
    c.ok(good >= 0.8 * len(blocks),
         '%s: %d Hz dominates %d and %d Hz in %d of %d blocks of 200 ms'
         % (who, freq, freq // 2, freq * 2, good, len(blocks)),
         'worst ratio %.2f' % (worst or 0))


# ------------------------------------------------------------- the tests

def t_basic(r):
    """alice calls bob, bob answers after 1 s, alice hangs up 2 s later."""
    r.start_server()
    bob = r.phone('bob', '--answer-after', '1')
    alice = r.phone('alice', '--call', 'bob', '--hangup-after', '2', '--exit-after-call',
                    registered=False)
    alice.wait('registered', REGISTER_WAIT)
    alice.wait('answered')
    bob.wait('answered')
    alice.wait('ended')
    bob.wait('ended')
    r.c.eq(alice.wait_exit(), 0, 'alice: exits 0 after the call (--exit-after-call)')
    r.stop_all()
    r.seq(alice, ['registered', 'ringing', 'answered', 'ended', 'unregistered'])
    r.seq(bob, ['registered', 'incoming', 'answered', 'ended', 'unregistered'])
    r.fact(alice, 'registered', 'code 200, expires > 0', code=200)
    r.c.ok((alice.find('registered') or {}).get('expires', 0) > 0, 'alice: registered expires > 0')
    r.fact(alice, 'ringing', 'code 180', code=180)
    r.fact(alice, 'answered', 'code 200', code=200)
    e = bob.find('incoming')
    r.c.ok(e is not None and 'alice' in (e.get('peer') or ''), 'bob: incoming from alice',
           json.dumps(e))
    r.fact(bob, 'ended', 'by a BYE (code 0)', code=0)
    r.c.ok(same_call(alice) and same_call(bob), 'one call number per phone')
    a, b = bob.find('answered'), bob.find('ended')
    dur = b['time'] - a['time'] if a and b else 0
    r.c.ok(1.5 <= dur <= 3.0, 'the call lasted about 2 s (%.2f s)' % dur)


def same_call(phone):
    calls = {e['call'] for e in phone.events() if 'call' in e}
    return len(calls) == 1


def t_busy(r):
    """bob rejects busy: alice's call ends 486."""
    r.start_server()
    bob = r.phone('bob', '--reject', 'busy')
    alice = r.phone('alice', '--call', 'bob', '--exit-after-call', registered=False)
    alice.wait('ended')
    r.c.eq(alice.wait_exit(), 0, 'alice: exits 0 after the call')
    bob.wait('ended')
    r.stop_all()
    r.seq(alice, ['registered', 'ended', 'unregistered'])
    # refused at once by policy: one "ended" (ua.h), no "incoming"
    r.seq(bob, ['registered', 'ended', 'unregistered'])
    r.fact(alice, 'ended', 'code 486', code=486)
    e = r.fact(bob, 'ended', 'code 486', code=486)
    r.c.ok(e is not None and 'alice' in (e.get('peer') or ''), 'bob: the refused call was alice\'s',
           json.dumps(e))


def t_noanswer(r):
    """bob rings and never answers; alice gives up (CANCEL) after 2 s."""
    r.start_server()
    bob = r.phone('bob')
    alice = r.phone('alice', '--call', 'bob', '--cancel-after', '2', '--exit-after-call',
                    registered=False)
    alice.wait('ringing')
    end = alice.wait('ended')
    r.c.eq(alice.wait_exit(), 0, 'alice: exits 0 after the call')
    bob.wait('ended')
    r.stop_all()
    r.seq(alice, ['registered', 'ringing', 'ended', 'unregistered'])
    r.seq(bob, ['registered', 'incoming', 'ended', 'unregistered'])
    r.fact(alice, 'ended', 'reason cancelled', reason='cancelled')
    r.fact(bob, 'ended', 'reason cancelled', reason='cancelled')
    inc = bob.find('incoming')
    if inc:
        d = end['time'] - inc['time']
        r.c.ok(1.5 <= d <= 3.0, 'cancelled about 2 s after it rang (%.2f s)' % d)


def t_auth(r):
    """alice's INVITE is challenged (407) by the server and still connects."""
    r.start_server()
    bob = r.phone('bob', '--answer-after', '0')
    alice = r.phone('alice', '--call', 'bob', '--hangup-after', '1', '--exit-after-call',
                    registered=False)
    alice.wait('answered')
    alice.wait('ended')
    r.c.eq(alice.wait_exit(), 0, 'alice: exits 0 after the call')
    bob.wait('ended')
    r.stop_all()
    r.seq(alice, ['registered', 'ringing', 'answered', 'ended', 'unregistered']
          if alice.find('ringing') else ['registered', 'answered', 'ended', 'unregistered'])
    r.seq(bob, ['registered', 'incoming', 'answered', 'ended', 'unregistered'])
    log = r.server_log()
    port = alice.local_port()
    if not r.c.ok(port is not None, 'alice: its SIP port is in its log'):
        return
    to_alice = '127.0.0.1:%d' % port
    r407 = re.findall(r'send \w+ %s "SIP/2\.0 407[^"]*"' % re.escape(to_alice), log)
    r.c.ok(len(r407) >= 1, 'server log: a 407 sent to alice (%s)' % to_alice,
           'no "send ... %s \\"SIP/2.0 407" line' % to_alice)
    r401 = re.findall(r'send \w+ %s "SIP/2\.0 401' % re.escape(to_alice), log)
    r.c.ok(len(r401) >= 1, 'server log: a 401 to alice\'s REGISTER')
    invites = re.findall(r'recv \w+ %s "INVITE ' % re.escape(to_alice), log)
    r.c.ok(len(invites) >= 2, 'server log: alice sent the INVITE twice (%d: without and '
           'with credentials)' % len(invites))
    ok200 = re.findall(r'send \w+ %s "SIP/2\.0 200 [^"]*"' % re.escape(to_alice), log)
    r.c.ok(len(ok200) >= 1, 'server log: a 200 reached alice')


def fwd_test(r, bob_args, alice_extra_events, bob_events):
    r.start_server()
    carol = r.phone('carol', '--answer-after', '1')
    bob = r.phone('bob', *bob_args)
    alice = r.phone('alice', '--call', 'bob', '--hangup-after', '2', '--exit-after-call',
                    registered=False)
    red = alice.wait('redirected')
    alice.wait('answered')
    carol.wait('answered')
    alice.wait('ended')
    r.c.eq(alice.wait_exit(), 0, 'alice: exits 0 after the call')
    carol.wait('ended')
    bob.wait('forwarded')
    r.stop_all()
    r.seq(alice, ['registered'] + alice_extra_events +
          ['redirected', 'ringing', 'answered', 'ended', 'unregistered'])
    r.seq(bob, bob_events)
    r.seq(carol, ['registered', 'incoming', 'answered', 'ended', 'unregistered'])
    r.c.ok('carol' in (red.get('peer') or ''), 'alice: redirected to carol',
           json.dumps(red))
    r.fact(alice, 'redirected', 'code 302', code=302)
    e = bob.find('forwarded')
    r.c.ok(e is not None and 'carol' in (e.get('peer') or ''), 'bob: forwarded to carol',
           json.dumps(e))
    e = carol.find('incoming')
    r.c.ok(e is not None and 'alice' in (e.get('peer') or ''), 'carol: the call is alice\'s',
           json.dumps(e))
    r.c.ok(same_call(alice), 'alice: one call number throughout')
    return bob


def t_fwd_always(r):
    """bob --forward-always carol: alice is redirected and carol answers."""
    # forwarded at once: bob's one event for the call is "forwarded" (ua.h)
    fwd_test(r, ['--forward-always', 'carol'], [],
             ['registered', 'forwarded', 'unregistered'])


def t_fwd_busy(r):
    """bob --reject busy --forward-busy carol: 302 instead of 486."""
    fwd_test(r, ['--reject', 'busy', '--forward-busy', 'carol'], [],
             ['registered', 'forwarded', 'unregistered'])


def t_fwd_noanswer(r):
    """bob --forward-noanswer carol --forward-after 1: rings 1 s, then 302."""
    bob = fwd_test(r, ['--forward-noanswer', 'carol', '--forward-after', '1'], ['ringing'],
                   ['registered', 'incoming', 'forwarded', 'ended', 'unregistered'])
    if bob:
        r.fact(bob, 'ended', 'code 302', code=302)
        inc, fwd = bob.find('incoming'), bob.find('forwarded')
        if inc and fwd:
            d = fwd['time'] - inc['time']
            r.c.ok(0.8 <= d <= 2.0, 'bob: forwarded about 1 s after it rang (%.2f s)' % d)


def audio_test(r, caller_plays):
    """A 3 s call carrying a 1000 Hz tone one way, recorded the other."""
    r.start_server()
    rec = os.path.join(r.dir, ('bob' if caller_plays else 'alice') + '.wav')
    bob = r.phone('bob', '--answer-after', '0',
                  *(['--record', rec] if caller_plays else ['--tone', '1000']))
    alice = r.phone('alice', '--call', 'bob', '--hangup-after', '3', '--exit-after-call',
                    *(['--tone', '1000'] if caller_plays else ['--record', rec]),
                    registered=False)
    alice.wait('answered')
    alice.wait('ended', timeout=EVENT_WAIT)
    r.c.eq(alice.wait_exit(), 0, 'alice: exits 0 after the call')
    bob.wait('ended')
    r.stop_all()
    r.seq(bob, ['registered', 'incoming', 'answered', 'ended', 'unregistered'])
    who = bob if caller_plays else alice
    a, e = who.find('answered'), who.find('ended')
    call_s = e['time'] - a['time']
    r.c.ok(2.5 <= call_s <= 3.6, '%s: the call lasted about 3 s (%.2f s)' % (who.name, call_s))
    check_tone(r, rec, who.name, 1000, call_s)


def t_audio(r):
    """alice plays 1000 Hz, bob records it."""
    audio_test(r, True)


def t_audio_reverse(r):
    """bob plays 1000 Hz, alice records it."""
    audio_test(r, False)


def t_audio_play(r):
    """alice --play a WAV file (a 700 Hz tone, written here), bob records it."""
    r.start_server()
    src = os.path.join(r.dir, 'tone700.wav')
    with wave.open(src, 'wb') as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b''.join(struct.pack('<h', int(10000 * math.sin(2 * math.pi * 700 * k
                                                                       / 8000.0)))
                               for k in range(8000 * 6)))
    rec = os.path.join(r.dir, 'bob.wav')
    bob = r.phone('bob', '--answer-after', '0', '--record', rec)
    alice = r.phone('alice', '--call', 'bob', '--hangup-after', '3', '--exit-after-call',
                    '--play', src, registered=False)
    alice.wait('ended')
    r.c.eq(alice.wait_exit(), 0, 'alice: exits 0 after the call')
    bob.wait('ended')
    r.stop_all()
    a, e = bob.find('answered'), bob.find('ended')
    check_tone(r, rec, 'bob', 700, e['time'] - a['time'])


def t_dtmf(r):
    """alice sends 1, 2 and # after the answer; bob reports each digit."""
    r.start_server()
    bob = r.phone('bob', '--answer-after', '0')
    alice = r.phone('alice', '--call', 'bob', '--dtmf', '12#', '--hangup-after', '3',
                    '--exit-after-call', registered=False)
    alice.wait('ended')
    r.c.eq(alice.wait_exit(), 0, 'alice: exits 0 after the call')
    bob.wait('ended')
    r.stop_all()
    digits = ''.join(e.get('digit', '?') for e in bob.events() if e.get('event') == 'dtmf')
    r.c.eq(digits, '12#', 'bob: the digits received, in order')
    r.seq(bob, ['registered', 'incoming', 'answered', 'dtmf', 'dtmf', 'dtmf', 'ended',
                'unregistered'])


def t_interactive(r):
    """The prompt through a pipe: call, hold, resume, status, hangup, quit."""
    r.start_server()
    bob = r.phone('bob', '--answer-after', '0')
    alice = r.phone('alice', '--interactive', stdin_pipe=True)
    alice.send('call bob')
    alice.wait('answered')
    bob.wait('answered')
    alice.send('hold')
    alice.wait('held')
    bob.wait('held')
    alice.send('resume')
    alice.wait('resumed')
    bob.wait('resumed')
    alice.send('status')
    # more digits than the call's queue takes: the prompt says so, in its
    # own words (not "too many calls"), and nothing is sent
    alice.send('dtmf ' + '1' * 33)
    alice.send('hangup')
    alice.wait('ended')
    bob.wait('ended')
    alice.send('quit')
    r.c.eq(alice.wait_exit(), 0, 'alice: exits 0 after quit')
    r.stop_all()
    r.seq(alice, ['registered', 'ringing', 'answered', 'held', 'resumed', 'ended',
                  'unregistered'] if alice.find('ringing') else
          ['registered', 'answered', 'held', 'resumed', 'ended', 'unregistered'])
    r.seq(bob, ['registered', 'incoming', 'answered', 'held', 'resumed', 'ended',
                'unregistered'])
    out = alice.log()
    r.c.ok('call 1: answered' in out, 'alice: the readable line "call 1: answered"')
    r.c.ok('registered at 127.0.0.1:%d' % r.port in out, 'alice: status shows the registration')
    r.c.ok('dtmf: too many digits waiting to be sent (at most 32)' in out,
           'alice: "dtmf" with 33 digits: "too many digits waiting to be sent"')
    r.c.ok('too many calls' not in out, 'alice: no "too many calls" for digits')


def t_register_fail(r):
    """A wrong password: sbphone says why and exits 1 (well within 10 s)."""
    r.start_server()
    t0 = time.monotonic()
    p = Phone(r, 'alice', ['--password', 'wrong'])
    p.expected_rc = 1
    p.wait_exit(timeout=12)
    took = time.monotonic() - t0
    log = p.log()
    m = re.search(r'sbphone: cannot register alice at 127\.0\.0\.1:%d: (.*)' % r.port, log)
    r.c.ok(m is not None, 'alice: "sbphone: cannot register alice at ...: WHY"',
           log[-500:])
    if m:
        print('    (%s)' % m.group(0))
    r.c.ok(took < 10.0, 'alice: gave up at once, not at the 10 s bound (%.1f s)' % took)
    r.stop_all()
    r.c.ok('registered' not in p.names(), 'alice: never registered', p.names())


def t_unreachable(r):
    """No server: sbphone gives up after its 10 s bound and exits 1."""
    t0 = time.monotonic()
    p = Phone(r, 'alice', [])
    p.expected_rc = 1
    p.wait_exit(timeout=14)
    took = time.monotonic() - t0
    log = p.log()
    r.c.ok(re.search(r'sbphone: cannot register alice at 127\.0\.0\.1:%d: ' % r.port, log),
           'alice: "sbphone: cannot register alice at ..."', log[-500:])
    r.c.ok(9.0 <= took <= 12.5, 'alice: gave up after about 10 s (%.1f s)' % took)
    r.stop_all()


def t_bad_options(r):
    """Bad options: exit 2, a message naming the problem, and the usage."""
    cases = [
        ([], '--user is required'),
        (['--user', 'alice'], '--server is required'),
        (['--user', 'alice', '--server', '127.0.0.1', '--proto', 'sctp'], "bad --proto 'sctp'"),
        (['--user', 'alice', '--server', '127.0.0.1', '--tone', 'loud'], "bad --tone 'loud'"),
        (['--user', 'alice', '--server', '127.0.0.1', '--frobnicate'],
         "unknown option '--frobnicate'"),
        (['--user', 'alice', '--server', '127.0.0.1:99999'], "bad --server"),
        (['--user', 'alice', '--server', '127.0.0.1', '--forward-noanswer', 'carol'],
         '--forward-noanswer and --forward-after go together'),
        (['--user', 'alice', '--server', '127.0.0.1', '--reject', 'maybe'], "bad --reject"),
        (['--user', 'alice', '--server', '127.0.0.1', '--hangup-after', '-1'],
         "bad --hangup-after"),
        # more than the call's DTMF queue (32) would fail only once answered
        (['--user', 'alice', '--server', '127.0.0.1', '--dtmf', '1' * 33], "bad --dtmf"),
    ]
    for args, msg in cases:
        p = subprocess.run([r.sbphone] + args, capture_output=True, text=True, timeout=10,
                           stdin=subprocess.DEVNULL)
        r.c.ok(p.returncode == 2 and msg in p.stderr and 'usage: sbphone' in p.stderr,
               'sbphone %s: exit 2, "%s", usage' % (' '.join(args), msg),
               'exit %d, stderr %r' % (p.returncode, p.stderr[:200]))
    p = subprocess.run([r.sbphone, '--help'], capture_output=True, text=True, timeout=10)
    r.c.ok(p.returncode == 0 and p.stdout.startswith('usage: sbphone'),
           'sbphone --help: usage on stdout, exit 0')


def per_call(phone):
    """{call number: [event names]} in order."""
    out = {}
    for e in phone.events():
        if 'call' in e:
            out.setdefault(e['call'], []).append(e.get('event'))
    return out


def call_peer(phone, n, event):
    e = phone.find(event, call=n)
    return (e or {}).get('peer') or ''


def t_basic_tcp(r):
    """basic over TCP: both phones reach the server over TCP."""
    r.start_server()
    bob = r.phone('bob', '--proto', 'tcp', '--answer-after', '1')
    alice = r.phone('alice', '--proto', 'tcp', '--call', 'bob', '--hangup-after', '2',
                    '--exit-after-call', registered=False)
    alice.wait('ended')
    r.c.eq(alice.wait_exit(), 0, 'alice: exits 0 after the call')
    bob.wait('ended')
    r.stop_all()
    r.seq(alice, ['registered', 'ringing', 'answered', 'ended', 'unregistered'])
    r.seq(bob, ['registered', 'incoming', 'answered', 'ended', 'unregistered'])
    r.fact(bob, 'ended', 'by a BYE (code 0)', code=0)
    log = r.server_log()
    r.c.ok(re.search(r'(?i)recv tcp 127\.0\.0\.1:\d+ "INVITE ', log), 'server log: the INVITE came over TCP')


def t_sigterm(r):
    """SIGTERM during a call: alice hangs up (BYE), unregisters, exits 0."""
    r.start_server()
    bob = r.phone('bob', '--answer-after', '0')
    alice = r.phone('alice', '--call', 'bob', registered=False)
    alice.wait('answered')
    bob.wait('answered')
    t0 = time.monotonic()
    rc = alice.stop()
    took = time.monotonic() - t0
    r.c.eq(rc, 0, 'alice: exit status 0 after SIGTERM')
    r.c.ok(took < 3.0, 'alice: shut down in %.2f s' % took)
    bob.wait('ended')
    r.stop_all()
    # sb_ua_shutdown sends the BYE and the REGISTER (Expires: 0) together:
    # ua.h does not order their answers, so "ended" and "unregistered" may
    # come either way round
    got = alice.names()
    r.c.ok(got[:3] == ['registered', 'ringing', 'answered'] and
           sorted(got[3:]) == ['ended', 'unregistered'],
           'alice: events registered ringing answered, then ended and unregistered '
           '(either order)', 'got %s' % ' '.join(got))
    r.seq(bob, ['registered', 'incoming', 'answered', 'ended', 'unregistered'])
    r.fact(bob, 'ended', 'by alice\'s BYE (code 0)', code=0)
    r.fact(alice, 'unregistered', 'code 200', code=200)


def t_transfer(r):
    """Blind transfer: alice calls bob, then transfers him to carol (REFER)."""
    r.start_server()
    carol = r.phone('carol', '--answer-after', '0', '--hangup-after', '2')
    bob = r.phone('bob', '--answer-after', '0')
    alice = r.phone('alice', '--interactive', stdin_pipe=True)
    alice.send('call bob')
    alice.wait('answered')
    bob.wait('answered')
    alice.send('transfer carol')
    alice.wait('transferred')
    alice.wait('ended')
    carol.wait('answered')
    bob.wait('answered', nth=2)
    carol.wait('ended')
    bob.wait('ended', nth=2)
    alice.send('quit')
    r.c.eq(alice.wait_exit(), 0, 'alice: exits 0 after quit')
    r.stop_all()
    a, b = per_call(alice), per_call(bob)
    r.c.eq(a.get(1), ['ringing', 'answered', 'transferred', 'ended'], 'alice: call 1 events')
    r.c.ok('carol' in call_peer(alice, 1, 'transferred'), 'alice: transferred to carol')
    r.c.ok(b.get(1, [])[:2] == ['incoming', 'answered'] and b.get(1, [])[-1:] == ['ended'],
           'bob: call 1 incoming, answered, ..., ended', b.get(1))
    calls2 = [n for n in b if n != 1]
    r.c.ok(len(calls2) == 1, 'bob: one new call (to carol)', b)
    if calls2:
        n = calls2[0]
        r.c.ok(b[n][-2:] == ['answered', 'ended'], 'bob: call %d answered then ended' % n, b[n])
        r.c.ok('carol' in call_peer(bob, n, 'answered'), 'bob: call %d is with carol' % n)
    r.seq(carol, ['registered', 'incoming', 'answered', 'ended', 'unregistered'])
    r.c.ok('bob' in call_peer(carol, 1, 'incoming'), 'carol: the call comes from bob')


def t_call_waiting(r):
    """bob in a call with alice; carol calls: bob answers her (alice held),
    hangs up, resumes alice."""
    r.start_server()
    bob = r.phone('bob', '--interactive', stdin_pipe=True)
    alice = r.phone('alice', '--call', 'bob', '--exit-after-call', registered=False)
    bob.wait('incoming')
    bob.send('answer')
    alice.wait('answered')
    carol = r.phone('carol', '--call', 'bob', '--exit-after-call', registered=False)
    bob.wait('incoming', nth=2)
    carol.wait('ringing')
    bob.send('answer 2')
    alice.wait('held')
    carol.wait('answered')
    bob.send('hangup 2')
    carol.wait('ended')
    r.c.eq(carol.wait_exit(), 0, 'carol: exits 0 after the call')
    bob.send('resume 1')
    alice.wait('resumed')
    bob.send('hangup 1')
    alice.wait('ended')
    r.c.eq(alice.wait_exit(), 0, 'alice: exits 0 after the call')
    bob.send('quit')
    r.c.eq(bob.wait_exit(), 0, 'bob: exits 0 after quit')
    r.stop_all()
    r.seq(alice, ['registered', 'ringing', 'answered', 'held', 'resumed', 'ended',
                  'unregistered'])
    r.seq(carol, ['registered', 'ringing', 'answered', 'ended', 'unregistered'])
    b = per_call(bob)
    r.c.eq(b.get(1), ['incoming', 'answered', 'held', 'resumed', 'ended'], 'bob: call 1 events')
    r.c.eq(b.get(2), ['incoming', 'answered', 'ended'], 'bob: call 2 events')
    h, a2 = bob.find('held', call=1), bob.find('answered', call=2)
    r.c.ok(h and a2 and h['time'] <= a2['time'] + 0.2,
           'bob: call 1 held as call 2 is answered')


def t_transfer_attended(r):
    """Consultation: alice calls bob, holds, calls carol, then transfers bob
    to carol (REFER with Replaces): bob and carol end up in a call."""
    r.start_server()
    carol = r.phone('carol', '--answer-after', '0')
    bob = r.phone('bob', '--answer-after', '0')
    alice = r.phone('alice', '--interactive', stdin_pipe=True)
    alice.send('call bob')
    alice.wait('answered')
    alice.send('hold 1')
    alice.wait('held')
    bob.wait('held')
    alice.send('call carol')
    alice.wait('answered', nth=2)
    carol.wait('answered')
    alice.send('transfer 1 2')
    alice.wait('transferred')
    alice.wait('ended', nth=2)
    bob.wait('answered', nth=2)
    carol.wait('answered', nth=2)
    carol.wait('ended')           # alice's call, replaced
    alice.send('quit')
    r.c.eq(alice.wait_exit(), 0, 'alice: exits 0 after quit')
    bob_calls = per_call(bob)
    carol_calls = per_call(carol)
    r.stop_all()
    a = per_call(alice)
    r.c.eq(a.get(1), ['ringing', 'answered', 'held', 'transferred', 'ended'],
           'alice: call 1 (bob) events')
    r.c.eq(a.get(2), ['ringing', 'answered', 'ended'], 'alice: call 2 (carol) events')
    r.c.ok(bob_calls.get(1, [])[:3] == ['incoming', 'answered', 'held'] and
           bob_calls.get(1, [])[-1:] == ['ended'], 'bob: call 1 incoming, answered, held, ..., ended',
           bob_calls.get(1))
    new = [n for n in bob_calls if n != 1]
    r.c.ok(len(new) == 1 and 'answered' in bob_calls[new[0]],
           'bob: a new call answered (by carol)', bob_calls)
    if new:
        r.c.ok('carol' in call_peer(bob, new[0], 'answered'), 'bob: the new call is with carol')
    r.c.eq(carol_calls.get(1), ['incoming', 'answered', 'ended'], 'carol: call 1 (alice) events')
    r.c.eq(carol_calls.get(2), ['incoming', 'answered'], 'carol: call 2 (bob, replacing alice)')
    r.c.ok('bob' in call_peer(carol, 2, 'incoming'), 'carol: call 2 comes from bob')
    r.fact(carol, 'incoming', 'reason replaces', nth=2, reason='replaces')


def t_signals(r):
    """SIGHUP and SIGQUIT: the same clean shutdown as SIGTERM."""
    r.start_server()
    bob = r.phone('bob', '--answer-after', '0')
    alice = r.phone('alice', '--call', 'bob', registered=False)
    alice.wait('answered')
    bob.wait('answered')
    os.killpg(alice.proc.pid, signal.SIGHUP)
    r.c.eq(alice.wait_exit(timeout=5), 0, 'alice: exit status 0 after SIGHUP')
    bob.wait('ended')
    os.killpg(bob.proc.pid, signal.SIGQUIT)
    r.c.eq(bob.wait_exit(timeout=5), 0, 'bob: exit status 0 after SIGQUIT')
    r.stop_all()
    got = alice.names()
    r.c.ok(got[:3] == ['registered', 'ringing', 'answered'] and
           sorted(got[3:]) == ['ended', 'unregistered'],
           'alice: events registered ringing answered, then ended and unregistered '
           '(either order)', 'got %s' % ' '.join(got))
    r.seq(bob, ['registered', 'incoming', 'answered', 'ended', 'unregistered'])
    r.fact(bob, 'ended', 'by alice\'s BYE (code 0)', code=0)
    r.fact(alice, 'unregistered', 'code 200', code=200)
    r.fact(bob, 'unregistered', 'code 200', code=200)


def _answer_register(sock, reason, until, proc):
    """A scripted registrar: every REGISTER gets 403 with this reason."""
    sock.settimeout(0.1)
    n = 0
    while proc.poll() is None and time.monotonic() < until:
        try:
            data, src = sock.recvfrom(65535)
        except socket.timeout:
            continue
        msg = data.decode('latin-1')
        if not msg.startswith('REGISTER '):
            continue
        n += 1
        head = msg.split('\r\n\r\n')[0].split('\r\n')[1:]
        keep = [h for h in head
                if h.split(':')[0].strip().lower() in ('via', 'from', 'to', 'call-id', 'cseq')]
        keep = [h + ';tag=r1' if h.lower().startswith('to:') and 'tag=' not in h else h
                for h in keep]
        resp = 'SIP/2.0 403 %s\r\n%s\r\nContent-Length: 0\r\n\r\n' % (reason, '\r\n'.join(keep))
        sock.sendto(resp.encode('latin-1'), src)
    return n


def t_control_bytes(r):
    """Escape sequences in a registrar's reason phrase never reach the terminal.

    Not stdout, not stderr, not the debug log: '?' stands for each control
    byte."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((LOCAL, r.port))
    try:
        p = Phone(r, 'alice', [])
        p.expected_rc = 1
        n = _answer_register(sock, 'Go\x1b[31mAway\x07\x7f', time.monotonic() + 8, p.proc)
        p.wait_exit(timeout=5)
    finally:
        sock.close()
    r.c.ok(n >= 1, 'the scripted registrar answered %d REGISTER' % n)
    log = p.log()
    bad = sorted({'%02x' % ord(ch) for ch in log if (ord(ch) < 0x20 and ch not in '\n') or
                  ord(ch) == 0x7f})
    r.c.ok(not bad, 'alice: no control byte in its output', 'found bytes %s' % ', '.join(bad))
    r.c.ok('403 Go?[31mAway??' in log, 'alice: the reason with "?" for each control byte',
           log[-600:])
    r.c.ok(re.search(r'sbphone: cannot register alice at 127\.0\.0\.1:%d: 403 Go\?\[31mAway\?\?'
                     % r.port, log), 'alice: "sbphone: cannot register ...: 403 Go?[31mAway??"')
    e = p.find('register_failed')
    r.c.ok(e is not None and e.get('reason') == 'Go?[31mAway??',
           'alice: register_failed reason "Go?[31mAway??"', json.dumps(e))
    r.stop_all()


TESTS = {
    'basic': t_basic,
    'basic-tcp': t_basic_tcp,
    'sigterm': t_sigterm,
    'busy': t_busy,
    'noanswer': t_noanswer,
    'auth': t_auth,
    'fwd-always': t_fwd_always,
    'fwd-busy': t_fwd_busy,
    'fwd-noanswer': t_fwd_noanswer,
    'audio': t_audio,
    'audio-reverse': t_audio_reverse,
    'audio-play': t_audio_play,
    'dtmf': t_dtmf,
    'interactive': t_interactive,
    'call-waiting': t_call_waiting,
    'transfer': t_transfer,
    'transfer-attended': t_transfer_attended,
    'register-fail': t_register_fail,
    'unreachable': t_unreachable,
    'bad-options': t_bad_options,
    'signals': t_signals,
    'control-bytes': t_control_bytes,
}


def run(switchboard, sbphone, name, keep, verbose):
    print('phone test %s: %s' % (name, TESTS[name].__doc__.strip().split('\n')[0]))
    for what, path in (('switchboard', switchboard), ('sbphone', sbphone)):
        if not path or not os.access(path, os.X_OK):
            print('SKIP: no %s binary (%s)' % (what, path))
            print('0 passed, 0 failed')
            return 77
    r = Run(switchboard, sbphone, name, verbose)
    try:
        try:
            TESTS[name](r)
        except Failed:
            pass
        except Exception as e:  # a broken test must still report and clean up
            import traceback
            r.c.ok(False, 'the test ran to the end', '%s: %s\n%s' % (type(e).__name__, e,
                                                                    traceback.format_exc()))
        if r.c.failed:
            for p in r.phones:
                if p.proc.poll() is None:
                    p.stop()
        r.sanitizers()
    finally:
        kill_all()
    good = r.c.failed == 0
    if verbose or not good:
        for p in r.phones:
            print('  %s events:' % p.name)
            for e in p.events():
                print('    %s' % json.dumps(e))
    if good and not keep:
        shutil.rmtree(r.dir, ignore_errors=True)
    else:
        print('  logs kept in %s (server.log, NAME.log, NAME.events)' % r.dir)
    r.c.summary()
    return 0 if good else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('switchboard', nargs='?')
    ap.add_argument('sbphone', nargs='?')
    ap.add_argument('test', nargs='?')
    ap.add_argument('--keep', action='store_true', help='keep the logs even on success')
    ap.add_argument('--verbose', '-v', action='store_true', help='print every event')
    ap.add_argument('--list', action='store_true', help='list the tests')
    a = ap.parse_args()
    if a.list or not a.test:
        for name, f in TESTS.items():
            print('%-18s %s' % (name, f.__doc__.strip().split('\n')[0]))
        return 0 if a.list else 2
    if a.test not in TESTS:
        print('unknown test %s; --list shows them' % a.test)
        return 2
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        return run(a.switchboard and os.path.abspath(a.switchboard),
                   a.sbphone and os.path.abspath(a.sbphone), a.test, a.keep, a.verbose)
    finally:
        kill_all()


if __name__ == '__main__':
    sys.dont_write_bytecode = True
    sys.exit(main())
