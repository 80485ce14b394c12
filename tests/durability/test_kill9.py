#!/usr/bin/env python3
"""test_kill9.py: acknowledged registrations survive a kill -9 of the server.

    test_kill9.py SWITCHBOARD [N]

1. Start switchboard on loopback with a fresh SQLite store (authentication
   off: this test is about durability, the auth flows test the rest).
2. Send a burst of N REGISTERs for N distinct users (all at once over UDP),
   each binding sip:uK@127.0.0.1:PHONE, and wait for their 200 OKs.
3. The moment the last 200 arrives, kill -9 the server (no shutdown, no
   flush).
4. Restart it on the same store and port; check every acknowledged binding
   was loaded (the server's log line) and that a call to each user routes:
   an INVITE for uK reaches the phone socket with Request-URI uK's contact.
   The phone answers 486, the proxy ACKs it and relays the 486.

Prints one line per check and 'N passed, M failed'; exit 0, 1 on failure,
77 (skipped) without the server binary.  Bounded: every wait has a deadline.
"""
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

LOCAL = '127.0.0.1'


def free_port():
    """A port free for UDP and TCP on loopback."""
    for _ in range(50):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind((LOCAL, 0))
        port = u.getsockname()[1]
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            t.bind((LOCAL, port))
            return port
        except OSError:
            continue
        finally:
            t.close()
            u.close()
    raise RuntimeError('no free port')


class Checks:
    def __init__(self):
        self.passed = self.failed = 0

    def ok(self, cond, what, why=''):
        if cond:
            self.passed += 1
            print('  ok   %s' % what)
        else:
            self.failed += 1
            print('  FAIL %s%s' % (what, (': ' + why) if why else ''))
        return cond


def start(server, port, db, log):
    argv = [server, '--listen', 'udp:%s:%d' % (LOCAL, port),
            '--listen', 'tcp:%s:%d' % (LOCAL, port), '--domain', LOCAL,
            '--store', db, '--api', 'none', '--auth-methods', 'none', '--log-level', 'info']
    p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and p.poll() is None:
        try:
            socket.create_connection((LOCAL, port), timeout=0.2).close()
            return p
        except OSError:
            time.sleep(0.05)
    p.kill()
    raise RuntimeError('server did not start')


def register(k, port, phone_port):
    return ('REGISTER sip:{h}:{p} SIP/2.0\r\n'
            'Via: SIP/2.0/UDP {h}:{pp};branch=z9hG4bKk9r{k}\r\n'
            'Max-Forwards: 70\r\n'
            'From: <sip:u{k}@{h}>;tag=r{k}\r\n'
            'To: <sip:u{k}@{h}>\r\n'
            'Call-ID: kill9-{k}@{h}\r\n'
            'CSeq: 1 REGISTER\r\n'
            'Contact: <sip:u{k}@{h}:{pp}>\r\n'
            'Expires: 600\r\n'
            'Content-Length: 0\r\n\r\n').format(h=LOCAL, p=port, pp=phone_port, k=k)


def invite(k, port, caller_port):
    return ('INVITE sip:u{k}@{h}:{p} SIP/2.0\r\n'
            'Via: SIP/2.0/UDP {h}:{cp};branch=z9hG4bKk9i{k}\r\n'
            'Max-Forwards: 70\r\n'
            'From: <sip:caller@{h}>;tag=c{k}\r\n'
            'To: <sip:u{k}@{h}>\r\n'
            'Call-ID: kill9-call-{k}@{h}\r\n'
            'CSeq: 1 INVITE\r\n'
            'Contact: <sip:caller@{h}:{cp}>\r\n'
            'Content-Length: 0\r\n\r\n').format(h=LOCAL, p=port, cp=caller_port, k=k)


def first_line(data):
    return data.split(b'\r\n', 1)[0].decode('latin-1')


def header(data, name):
    m = re.search(rb'(?im)^' + name.encode() + rb'\s*:\s*(.*?)\r\n', data)
    return m.group(1).decode('latin-1') if m else None


def response_to(req, code, reason):
    """A response to a request of ours: its Via, From, To (+tag), Call-ID, CSeq."""
    lines = ['SIP/2.0 %d %s' % (code, reason)]
    for line in req.split(b'\r\n')[1:]:
        if not line:
            break
        name = line.split(b':', 1)[0].strip().lower()
        if name in (b'via', b'v', b'from', b'f', b'call-id', b'i', b'cseq'):
            lines.append(line.decode('latin-1'))
        elif name in (b'to', b't'):
            lines.append(line.decode('latin-1') + ';tag=callee')
    return ('\r\n'.join(lines) + '\r\nContent-Length: 0\r\n\r\n').encode()


def main():
    if len(sys.argv) < 2 or not os.access(sys.argv[1], os.X_OK):
        print('SKIP: no switchboard binary')
        return 77
    server = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    c = Checks()
    work = tempfile.mkdtemp(prefix='kill9-')
    db = os.path.join(work, 'switchboard.db')
    log = open(os.path.join(work, 'server.log'), 'w+')
    port = free_port()
    phone = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    phone.bind((LOCAL, 0))
    phone_port = phone.getsockname()[1]
    srv = start(server, port, db, log)
    procs = [srv]
    try:
        # 2. the burst
        phone.settimeout(0.5)
        for k in range(n):
            phone.sendto(register(k, port, phone_port).encode(), (LOCAL, port))
        acked = set()
        deadline = time.monotonic() + 15
        while len(acked) < n and time.monotonic() < deadline:
            try:
                data, _ = phone.recvfrom(65536)
            except socket.timeout:
                # UDP may drop under a burst: resend what is not acknowledged
                for k in range(n):
                    if k not in acked:
                        phone.sendto(register(k, port, phone_port).encode(), (LOCAL, port))
                continue
            if first_line(data).startswith('SIP/2.0 200'):
                m = re.match(r'kill9-(\d+)@', header(data, 'Call-ID') or '')
                if m:
                    acked.add(int(m.group(1)))
        # 3. kill -9 at once
        srv.send_signal(signal.SIGKILL)
        srv.wait(5)
        c.ok(len(acked) == n, 'all %d REGISTERs acknowledged before the kill' % n,
             '%d of %d' % (len(acked), n))
        # 4. restart on the same store
        log.write('---- restart after kill -9 ----\n')
        log.flush()
        srv = start(server, port, db, log)
        procs.append(srv)
        time.sleep(0.2)
        log.seek(0)
        m = re.findall(r'store .*: \d+ users, \d+ forwarding rules, (\d+) registrations', log.read())
        c.ok(len(m) == 2 and int(m[1]) == len(acked),
             'the restarted server loaded every acknowledged binding (%d)' % len(acked),
             'log says %s' % m)
        caller = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        caller.bind((LOCAL, 0))
        caller.settimeout(3)
        caller_port = caller.getsockname()[1]
        phone.settimeout(3)
        routed = 0
        bad = []
        for k in sorted(acked):
            caller.sendto(invite(k, port, caller_port).encode(), (LOCAL, port))
            got = None
            try:
                while True:
                    data, src = phone.recvfrom(65536)
                    if first_line(data).startswith('INVITE'):
                        got = data
                        break
            except socket.timeout:
                pass
            want = 'INVITE sip:u%d@%s:%d SIP/2.0' % (k, LOCAL, phone_port)
            if got is not None and first_line(got) == want:
                routed += 1
                phone.sendto(response_to(got, 486, 'Busy Here'), src)
                # the caller gets 100 and 486; ACK the 486
                try:
                    while True:
                        resp, _ = caller.recvfrom(65536)
                        if first_line(resp).startswith('SIP/2.0 486'):
                            break
                except socket.timeout:
                    bad.append('u%d: no 486 relayed' % k)
            else:
                bad.append('u%d: %s' % (k, first_line(got) if got else 'no INVITE'))
        c.ok(routed == len(acked) and not bad,
             'a call to each of the %d users reaches its contact after the restart' % len(acked),
             '; '.join(bad[:5]))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(5)
    log.seek(0)
    text = log.read()
    c.ok('ERROR: AddressSanitizer' not in text and 'runtime error' not in text,
         'no sanitizer report in the server log')
    print('%d passed, %d failed' % (c.passed, c.failed))
    if c.failed:
        print('server log: %s' % os.path.join(work, 'server.log'))
    return 1 if c.failed else 0


if __name__ == '__main__':
    sys.exit(main())
