#!/usr/bin/env python3
"""test_baresip.py: interop with baresip, a third-party SIP phone.

    test_baresip.py SWITCHBOARD SBPHONE TEST [--baresip PATH] [--keep] [--verbose]
    test_baresip.py --list

All on 127.0.0.1, authentication on.  The runner reuses the machinery of
tests/phone/run_phone_test.py (switchboard and sbphone as processes, their
--events files, the Goertzel check of a recording) and adds baresip:

  * headless and scripted: `baresip -f CONF -v -s` with a generated `config`
    and `accounts` in CONF; no audio device: the source is the aufile module
    playing a WAV file the test writes (8 kHz mono, 1000 Hz sine), there is no
    player, and the sndfile filter dumps what baresip decodes to a WAV file
    (its "recording");
  * only the g711 codec module is loaded and the account says
    audio_codecs=PCMU,PCMA, so G.711 is what baresip offers and accepts;
  * driven through its ctrl_tcp module (JSON in netstrings on a free TCP
    port): the runner sends commands (uanew, dial, hangup, quit) and reads the
    events (REGISTER_OK, CALL_ESTABLISHED, CALL_CLOSED, ...), each waited for
    with a deadline;
  * the account: <sip:alice@127.0.0.1>;auth_pass=pw;outbound="sip:127.0.0.1:P"
    (the server is its registrar and outbound proxy) with answermode=auto.

Tests: `calls` (baresip calls sbphone bob and plays the tone; bob records it)
and `called` (sbphone bob calls baresip and plays the tone; baresip records
it).  Checks are printed one a line, then `N passed, M failed`.  Exit status
0, 1 on a failed check, 77 (skipped) when baresip or a binary is missing.  The
working directory (server.log, bob.log, bob.events, baresip.log,
baresip.events, the recordings) is kept and printed on failure or --keep.

The server runs with --auth-algorithms MD5: baresip 1.0.0 on libre 1.1.0
(Debian 12) gives up ("Function not implemented") on a 401 that holds any
challenge other than MD5, even next to an MD5 one (see README.md).
"""

import argparse
import glob
import json
import math
import os
import re
import shutil
import signal
import socket
import struct
import sys
import threading
import time
import wave

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'phone'))
sys.dont_write_bytecode = True
import run_phone_test as pt  # noqa: E402  (the phone tests' machinery)

LOCAL = pt.LOCAL
BARESIP_MODULES = ('/usr/lib/baresip/modules', '/usr/local/lib/baresip/modules',
                   '/usr/lib/x86_64-linux-gnu/baresip/modules')
CTRL_WAIT = 5.0           # baresip's control port accepting
REGISTER_WAIT = 10.0      # its registration
EVENT_WAIT = 15.0         # any other event
EXIT_WAIT = 8.0           # after quit
CALL_S = 3.0              # the length of each call
TONE_HZ = 1000
AUTH_ALGORITHMS = 'MD5'   # the server's --auth-algorithms (see the docstring)


# ------------------------------------------------------------- baresip

def find_baresip(path=None):
    """(the baresip binary, its module directory) or (None, why)."""
    exe = path or shutil.which('baresip')
    if not exe or not os.access(exe, os.X_OK):
        return None, 'no baresip binary (apt-get install baresip-core)'
    for d in BARESIP_MODULES:
        if all(os.path.exists(os.path.join(d, m + '.so'))
               for m in ('g711', 'aufile', 'sndfile', 'ctrl_tcp', 'menu', 'account')):
            return exe, d
    return None, 'no baresip module directory with g711, aufile, sndfile, ctrl_tcp, menu'


def write_tone(path, freq, seconds, rate=8000, amp=12000):
    """An 8 kHz mono 16-bit WAV file of a sine (python's wave module)."""
    with wave.open(path, 'wb') as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b''.join(struct.pack('<h', int(amp * math.sin(2 * math.pi * freq * k
                                                                      / float(rate))))
                               for k in range(int(rate * seconds))))


class Baresip:
    """One baresip process, its config in DIR/baresip, driven over ctrl_tcp.
    Events are JSON objects kept in order (and written to baresip.events)."""

    def __init__(self, run, exe, moddir, user, password, source_wav):
        self.run = run
        self.name = 'baresip'
        self.user = user
        self.conf = os.path.join(run.dir, 'baresip')
        os.makedirs(self.conf, exist_ok=True)
        self.log_path = os.path.join(run.dir, 'baresip.log')
        self.events_path = os.path.join(run.dir, 'baresip.events')
        self.dumps = os.path.join(run.dir, 'dumps')
        os.makedirs(self.dumps, exist_ok=True)
        self._events = []
        self._responses = {}
        self._lock = threading.Condition()
        self._sock = None
        self._token = 0
        self.rc = None
        self.proc = None
        for attempt in range(3):
            if self._start(exe, moddir, user, password, source_wav, attempt):
                return
        run.c.ok(False, 'baresip: started', 'its ports were taken three times')
        raise pt.Failed()

    def _start(self, exe, moddir, user, password, source_wav, attempt):
        """Write the config with two free ports (SIP, ctrl_tcp), start baresip
        and connect to its control port once its log says it listens.  A port
        taken meanwhile (by a test running in parallel) is retried on others:
        False; a failure: a failed check and pt.Failed."""
        self.sip_port = pt.free_port()
        self.ctrl_port = pt.free_port()
        with open(os.path.join(self.conf, 'config'), 'w') as f:
            f.write(CONFIG % dict(sip=self.sip_port, ctrl=self.ctrl_port, src=source_wav,
                                  moddir=moddir, dumps=self.dumps))
        # the account is created over ctrl_tcp (register()), once the runner
        # listens: a registration at start could finish before it connects
        self.account = ('<sip:%s@%s>;auth_pass=%s;outbound="sip:%s:%d";regint=600;'
                        'audio_codecs=PCMU,PCMA;answermode=auto'
                        % (user, LOCAL, password, LOCAL, self.run.port))
        with open(os.path.join(self.conf, 'accounts'), 'w') as f:
            f.write('# none at start: test_baresip.py sends "uanew %s"\n' % self.account)
        if attempt:
            os.replace(self.log_path, self.log_path + '.%d' % (attempt - 1))
        # -v: debug; -s: the SIP trace; -t: quit by itself at the latest then
        argv = [exe, '-f', self.conf, '-v', '-s', '-t', '%d' % int(pt.DEADLINE)]
        print('  baresip: %s (SIP %s:%d, ctrl_tcp %d)' % (' '.join(argv[1:]), LOCAL,
                                                          self.sip_port, self.ctrl_port))
        self.proc = pt.spawn(argv, self.log_path, self.run.dir)
        what = 'baresip: ctrl_tcp accepts on %s:%d' % (LOCAL, self.ctrl_port)
        listening = 'ctrl_tcp: TCP socket listening on %s:%d' % (LOCAL, self.ctrl_port)
        until = min(self.run.until, time.monotonic() + CTRL_WAIT)
        why = 'not within %.0f s' % CTRL_WAIT
        while time.monotonic() < until:
            log = self.log()
            if 'Address already in use' in log:
                print('  baresip: a port was taken meanwhile: again on others')
                self.stop()
                return False
            if listening in log:
                try:
                    s = socket.create_connection((LOCAL, self.ctrl_port), timeout=1.0)
                except OSError as e:
                    why = 'connect: %s' % e
                    break
                s.settimeout(0.2)
                self._sock = s
                threading.Thread(target=self._reader, daemon=True).start()
                self.run.c.ok(True, what)
                return True
            if self.proc.poll() is not None:
                why = 'exited with %s' % self.proc.poll()
                break
            time.sleep(0.05)
        self.run.c.ok(False, what, '%s; log: %s' % (why, self.log()[-600:]))
        raise pt.Failed()

    def _reader(self):
        """Netstrings ("LEN:JSON,") from baresip: events and responses."""
        buf = b''
        out = open(self.events_path, 'a')
        while True:
            try:
                data = self._sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                break
            if not data:
                break
            buf += data
            while True:
                colon = buf.find(b':')
                if colon < 0 or not buf[:colon].isdigit():
                    break
                n = int(buf[:colon])
                if len(buf) < colon + 1 + n + 1:
                    break
                body = buf[colon + 1:colon + 1 + n]
                buf = buf[colon + 1 + n + 1:]
                try:
                    msg = json.loads(body.decode('utf-8', 'replace'))
                except ValueError:
                    msg = {'event': True, 'type': '<bad json: %r>' % body}
                msg['time'] = time.time()
                with self._lock:
                    if msg.get('response'):
                        self._responses[msg.get('token')] = msg
                    else:
                        self._events.append(msg)
                        out.write(json.dumps(msg) + '\n')
                        out.flush()
                    self._lock.notify_all()
        out.close()

    def command(self, cmd, params=None, timeout=5.0):
        """Send a command, wait (bounded) for its response; the response or None."""
        self._token += 1
        token = str(self._token)
        msg = {'command': cmd, 'token': token}
        if params is not None:
            msg['params'] = params
        body = json.dumps(msg).encode()
        print('  baresip <- %s %s' % (cmd, params or ''))
        try:
            self._sock.sendall(b'%d:%s,' % (len(body), body))
        except OSError as e:
            return {'ok': False, 'data': str(e)}
        until = time.monotonic() + timeout
        with self._lock:
            while token not in self._responses:
                left = until - time.monotonic()
                if left <= 0:
                    return None
                self._lock.wait(left)
            return self._responses.pop(token)

    def register(self):
        """Create the user agent (uanew): it registers at once."""
        resp = self.command('uanew', self.account)
        self.run.c.ok(resp is not None and resp.get('ok'), 'baresip: uanew accepted', resp)

    # ----- events

    def events(self):
        with self._lock:
            return list(self._events)

    def types(self):
        return [e.get('type') for e in self.events()]

    def find(self, etype, nth=1):
        k = 0
        for e in self.events():
            if e.get('type') == etype:
                k += 1
                if k == nth:
                    return e
        return None

    def wait(self, etype, timeout=EVENT_WAIT, nth=1, unless=()):
        """Wait (bounded) for the event; a failed check ends the test, at
        once if one of the events `unless` comes first (REGISTER_FAIL)."""
        until = min(self.run.until, time.monotonic() + timeout)
        bad = None
        with self._lock:
            while True:
                e = self.find_locked(etype, nth)
                if e is not None:
                    return e
                bad = next((x for x in self._events if x.get('type') in unless), None)
                left = until - time.monotonic()
                if bad or left <= 0 or self.proc.poll() is not None:
                    break
                self._lock.wait(min(left, 0.2))
        e = self.find(etype, nth)
        if e is not None:
            return e
        if bad:
            why = '%s (%s) instead' % (bad.get('type'), bad.get('param', ''))
        elif self.proc.poll() is not None:
            why = 'exited with %s' % self.proc.poll()
        else:
            why = 'not within %.0f s' % timeout
        self.run.c.ok(False, 'baresip: event %s' % etype,
                      '%s; events so far: %s' % (why, self.types()))
        raise pt.Failed()

    def find_locked(self, etype, nth):
        k = 0
        for e in self._events:
            if e.get('type') == etype:
                k += 1
                if k == nth:
                    return e
        return None

    # ----- the end

    def quit(self):
        """`quit` over ctrl_tcp (baresip unregisters and exits), then SIGTERM,
        then SIGKILL; the exit status (None: killed)."""
        if self.proc.poll() is None:
            self.command('quit', timeout=2.0)
            self.rc = pt.wait_exit(self.proc, time.monotonic() + EXIT_WAIT)
            if self.rc is None:
                print('  baresip: still running %.0f s after quit: SIGTERM' % EXIT_WAIT)
                self.stop()
        else:
            self.rc = self.proc.returncode
        if self._sock:
            try:
                self._sock.close()
            except OSError:
                pass
        return self.rc

    def stop(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            self.rc = pt.wait_exit(self.proc, time.monotonic() + 5)
            if self.rc is None:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        else:
            self.rc = self.proc.returncode
        return self.rc

    def log(self):
        try:
            return open(self.log_path, errors='replace').read()
        except OSError:
            return ''

    def recording(self):
        """The WAV file sndfile wrote of what baresip decoded, or None."""
        got = sorted(glob.glob(os.path.join(self.dumps, 'dump-*-dec.wav')))
        return got[-1] if got else None


CONFIG = """\
# written by tests/interop/test_baresip.py
poll_method             epoll
sip_listen              127.0.0.1:%(sip)d
net_interface           127.0.0.1
call_local_timeout      30
call_max_calls          2
audio_source            aufile,%(src)s
ausrc_srate             8000
ausrc_channels          1
auplay_srate            8000
auplay_channels         1
audio_level             no
ausrc_format            s16
auplay_format           s16
auenc_format            s16
audec_format            s16
audio_buffer            20-160
rtp_tos                 0
rtcp_mux                no
jitter_buffer_delay     1-10
rtp_stats               yes
statmode_default        off
ringback_disabled       yes
module_path             %(moddir)s
module                  g711.so
module                  aufile.so
module                  sndfile.so
module_tmp              account.so
module_app              menu.so
module_app              ctrl_tcp.so
ctrl_tcp_listen         127.0.0.1:%(ctrl)d
snd_path                %(dumps)s
"""


# ------------------------------------------------------------- checks

def check_baresip_common(r, b, direction, call_s_min=2.5, call_s_max=3.8):
    """What both tests check of baresip: registered (401 then 200 in the
    server's log), G.711 both ways, the call (with bob, in that direction)
    established and closed, about CALL_S long, RTP both ways, unregistered
    at its exit."""
    log = r.server_log()
    to_b = '%s:%d' % (LOCAL, b.sip_port)
    r.c.ok(re.search(r'send \w+ %s "SIP/2\.0 401' % re.escape(to_b), log),
           'server log: a 401 to baresip\'s REGISTER (%s)' % to_b)
    r.c.ok(re.search(r'send \w+ %s "SIP/2\.0 200 [^"]*"' % re.escape(to_b), log),
           'server log: a 200 to baresip')
    blog = b.log()
    r.c.ok(re.search(r'alice@127\.0\.0\.1: \{0/UDP/v4\} 200 OK', blog),
           'baresip log: its registration answered 200 OK')
    enc = re.findall(r'audio: Set audio encoder: (\S+)', blog)
    dec = re.findall(r'audio: Set audio decoder: (\S+)', blog)
    r.c.ok(enc and all(x in ('PCMU', 'PCMA') for x in enc),
           'baresip: G.711 encoder (%s)' % ','.join(enc), 'encoders %s' % enc)
    r.c.ok(dec and all(x in ('PCMU', 'PCMA') for x in dec),
           'baresip: G.711 decoder (%s)' % ','.join(dec), 'decoders %s' % dec)
    est, clo = b.find('CALL_ESTABLISHED'), b.find('CALL_CLOSED')
    r.c.ok(est is not None and est.get('direction') == direction and
           'bob' in (est.get('peeruri') or ''),
           'baresip: CALL_ESTABLISHED %s, with bob' % direction, json.dumps(est))
    if est and clo:
        d = clo['time'] - est['time']
        r.c.ok(call_s_min <= d <= call_s_max,
               'baresip: established to closed %.2f s (about %.0f s)' % (d, CALL_S))
    want = ['REGISTER_OK', 'CALL_ESTABLISHED', 'CALL_CLOSED']
    got = [t for t in b.types() if t in want]
    r.c.ok(got == want, 'baresip: events %s, once each, in order' % ' '.join(want),
           'got %s (all: %s)' % (got, b.types()))
    m = re.search(r'packets:\s+(\d+)\s+(\d+)', blog)
    if r.c.ok(m is not None, 'baresip: its RTP statistics at the end of the call'):
        tx, rx = int(m.group(1)), int(m.group(2))
        # 50 packets a second; a third of a 3 s call at least
        r.c.ok(tx >= 50 and rx >= 50, 'baresip: RTP sent %d, received %d packets' % (tx, rx))
    # quit: REGISTER with Contact ...;expires=0, challenged, answered 200
    k = blog.rfind(';expires=0')
    tail = blog[k:] if k >= 0 else ''
    r.c.ok(k >= 0 and re.search(r'SIP/2\.0 200 OK\r?\n(?:[^\n]*\n)*?CSeq: \d+ REGISTER', tail),
           'baresip: unregistered at its exit (REGISTER expires=0 answered 200)')


def t_calls(r, exe, moddir):
    """baresip registers, calls sbphone bob, plays 1000 Hz, hangs up after 3 s."""
    r.start_server(extra=('--auth-algorithms', AUTH_ALGORITHMS))
    src = os.path.join(r.dir, 'tone1000.wav')
    write_tone(src, TONE_HZ, 20)
    rec = os.path.join(r.dir, 'bob.wav')
    bob = r.phone('bob', '--answer-after', '0', '--record', rec)
    b = Baresip(r, exe, moddir, 'alice', pt.USERS['alice'], src)
    r.baresip = b
    b.register()
    e = b.wait('REGISTER_OK', timeout=REGISTER_WAIT, unless=('REGISTER_FAIL',))
    print('    (REGISTER_OK: %s)' % e.get('param'))
    resp = b.command('dial', 'sip:bob@%s' % LOCAL)
    r.c.ok(resp is not None and resp.get('ok'), 'baresip: dial accepted', resp)
    b.wait('CALL_ESTABLISHED', unless=('CALL_CLOSED',))
    bob.wait('answered')
    time.sleep(CALL_S)
    resp = b.command('hangup')
    r.c.ok(resp is not None and resp.get('ok'), 'baresip: hangup accepted', resp)
    b.wait('CALL_CLOSED')
    bob.wait('ended')
    rc = b.quit()
    r.c.eq(rc, 0, 'baresip: exit status 0 after quit')
    r.stop_all()
    r.seq(bob, ['registered', 'incoming', 'answered', 'ended', 'unregistered'])
    r.fact(bob, 'ended', 'by baresip\'s BYE (code 0, reason bye)', code=0, reason='bye')
    e = bob.find('incoming')
    r.c.ok(e is not None and 'alice' in (e.get('peer') or ''), 'bob: the call is alice\'s',
           json.dumps(e))
    log = r.server_log()
    to_b = '%s:%d' % (LOCAL, b.sip_port)
    r.c.ok(re.search(r'send \w+ %s "SIP/2\.0 407' % re.escape(to_b), log),
           'server log: a 407 to baresip\'s INVITE')
    r.c.ok(len(re.findall(r'recv \w+ %s "INVITE ' % re.escape(to_b), log)) >= 2,
           'server log: baresip sent the INVITE again with credentials')
    r.c.ok(re.search(r'recv \w+ %s "BYE ' % re.escape(to_b), log),
           'server log: baresip\'s BYE went through the server (Record-Route)')
    check_baresip_common(r, b, 'outgoing')
    a, e = bob.find('answered'), bob.find('ended')
    pt.check_tone(r, rec, 'bob', TONE_HZ, e['time'] - a['time'])


def t_called(r, exe, moddir):
    """sbphone bob calls baresip (auto answer) with 1000 Hz, hangs up after 3 s."""
    r.start_server(extra=('--auth-algorithms', AUTH_ALGORITHMS))
    src = os.path.join(r.dir, 'silence.wav')
    write_tone(src, 0, 20)     # baresip sends silence: what it records is bob's
    b = Baresip(r, exe, moddir, 'alice', pt.USERS['alice'], src)
    r.baresip = b
    b.register()
    e = b.wait('REGISTER_OK', timeout=REGISTER_WAIT, unless=('REGISTER_FAIL',))
    print('    (REGISTER_OK: %s)' % e.get('param'))
    bob = r.phone('bob', '--tone', '%d' % TONE_HZ, '--call', 'alice',
                  '--hangup-after', '%g' % CALL_S, '--exit-after-call', registered=False)
    bob.wait('registered', pt.REGISTER_WAIT)
    # answermode=auto: baresip 1.0.0 answers at once, with no CALL_INCOMING
    bob.wait('answered')
    b.wait('CALL_ESTABLISHED', unless=('CALL_CLOSED',))
    bob.wait('ended', timeout=CALL_S + EVENT_WAIT)
    b.wait('CALL_CLOSED')
    r.c.eq(bob.wait_exit(), 0, 'bob: exits 0 after the call')
    rc = b.quit()
    r.c.eq(rc, 0, 'baresip: exit status 0 after quit')
    r.stop_all()
    r.seq(bob, ['registered', 'ringing', 'answered', 'ended', 'unregistered'])
    r.fact(bob, 'ringing', 'code 180', code=180)
    r.fact(bob, 'answered', 'code 200', code=200)
    r.fact(bob, 'ended', 'by its own BYE (reason bye)', reason='bye')
    log = r.server_log()
    to_b = '%s:%d' % (LOCAL, b.sip_port)
    r.c.ok(re.search(r'send \w+ %s "INVITE ' % re.escape(to_b), log),
           'server log: the INVITE sent on to baresip\'s contact (%s)' % to_b)
    r.c.ok(re.search(r'send \w+ %s "BYE ' % re.escape(to_b), log),
           'server log: bob\'s BYE relayed to baresip (Record-Route)')
    check_baresip_common(r, b, 'incoming')
    a, e = bob.find('answered'), bob.find('ended')
    rec = b.recording()
    if r.c.ok(rec is not None, 'baresip: sndfile wrote what it decoded (dumps/dump-*-dec.wav)'):
        pt.check_tone(r, rec, 'baresip', TONE_HZ, e['time'] - a['time'])


TESTS = {
    'calls': t_calls,
    'called': t_called,
}


def run(switchboard, sbphone, name, baresip, keep, verbose):
    print('interop test baresip-%s: %s' % (name, TESTS[name].__doc__.strip().split('\n')[0]))
    for what, path in (('switchboard', switchboard), ('sbphone', sbphone)):
        if not path or not os.access(path, os.X_OK):
            print('SKIP: no %s binary (%s)' % (what, path))
            print('0 passed, 0 failed')
            return 77
    exe, moddir = find_baresip(baresip)
    if exe is None:
        print('SKIP: %s' % moddir)
        print('0 passed, 0 failed')
        return 77
    r = pt.Run(switchboard, sbphone, 'baresip-' + name, verbose)
    r.baresip = None
    try:
        try:
            TESTS[name](r, exe, moddir)
        except pt.Failed:
            pass
        except Exception as e:  # a broken test must still report and clean up
            import traceback
            r.c.ok(False, 'the test ran to the end', '%s: %s\n%s' % (type(e).__name__, e,
                                                                    traceback.format_exc()))
        if r.c.failed:
            if r.baresip is not None:
                r.baresip.stop()
            for p in r.phones:
                if p.proc.poll() is None:
                    p.stop()
        r.sanitizers()
    finally:
        pt.kill_all()
    good = r.c.failed == 0
    if verbose or not good:
        for p in r.phones:
            print('  %s events:' % p.name)
            for e in p.events():
                print('    %s' % json.dumps(e))
        if r.baresip is not None:
            print('  baresip events:')
            for e in r.baresip.events():
                print('    %s' % json.dumps(e))
    if good and not keep:
        shutil.rmtree(r.dir, ignore_errors=True)
    else:
        print('  logs kept in %s (server.log, bob.log, bob.events, baresip.log, '
              'baresip.events, baresip/, dumps/)' % r.dir)
    r.c.summary()
    return 0 if good else 1


def main():
    global AUTH_ALGORITHMS
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('switchboard', nargs='?')
    ap.add_argument('sbphone', nargs='?')
    ap.add_argument('test', nargs='?')
    ap.add_argument('--baresip', help='the baresip binary (default: baresip on PATH)')
    ap.add_argument('--auth-algorithms', default=AUTH_ALGORITHMS, metavar='LIST',
                    help='the server\'s digest algorithms (default %(default)s; '
                    'SHA-256,MD5 shows the libre 1.1.0 limitation)')
    ap.add_argument('--keep', action='store_true', help='keep the logs even on success')
    ap.add_argument('--verbose', '-v', action='store_true', help='print every event')
    ap.add_argument('--list', action='store_true', help='list the tests')
    a = ap.parse_args()
    if a.list or not a.test:
        for name, f in TESTS.items():
            print('%-8s %s' % (name, f.__doc__.strip().split('\n')[0]))
        return 0 if a.list else 2
    if a.test not in TESTS:
        print('unknown test %s; --list shows them' % a.test)
        return 2
    AUTH_ALGORITHMS = a.auth_algorithms
    signal.signal(signal.SIGTERM, pt.on_signal)
    signal.signal(signal.SIGINT, pt.on_signal)
    try:
        return run(a.switchboard and os.path.abspath(a.switchboard),
                   a.sbphone and os.path.abspath(a.sbphone), a.test, a.baresip, a.keep,
                   a.verbose)
    finally:
        pt.kill_all()


if __name__ == '__main__':
    sys.exit(main())
