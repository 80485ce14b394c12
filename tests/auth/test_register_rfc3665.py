#!/usr/bin/env python3
"""test_register_rfc3665.py: REGISTER with digest authentication against a
live switchboard, over real UDP sockets on loopback, as RFC 3665 §2 draws it.

    test_register_rfc3665.py SWITCHBOARD

The phone is this script: it computes digest credentials itself (hashlib,
RFC 7616 §3.4.1) for MD5 and SHA-256, so both algorithms are tested (SIPp
computes MD5 only).  Checks, in order:
  2.1 new registration: 401 with SHA-256 then MD5 challenges, then 200
  2.2 update of contacts: a second contact (SHA-256 credentials), 200 lists both
  2.3 query: no Contact, 200 lists both
  2.4 cancellation: Contact: *, Expires: 0, 200 lists none
  2.5 wrong password: 401 again (a new challenge), nothing bound
  replay: the same nonce and nc again is challenged; nc+1 is accepted
  stale: after the nonce lifetime (1 s here) the right password gets
         stale=true
  403: bob's good credentials on alice's AOR
  lockout: max_failures (3) wrong passwords lock the source: 403 Too Many
           Failures, even with the right password
Prints one line per check and 'N passed, M failed'; exit 0, 1, or 77 without
the binary.  Every receive has a timeout.
"""
import hashlib
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

LOCAL = '127.0.0.1'
REALM = 'rfc3665.test'
USERS = {'alice': 'wonderland', 'bob': 'builder'}


class Checks:
    def __init__(self):
        self.passed = self.failed = 0

    def ok(self, cond, what, why=''):
        print('  %s %s%s' % ('ok  ' if cond else 'FAIL', what, '' if cond else ': ' + str(why)))
        if cond:
            self.passed += 1
        else:
            self.failed += 1
        return cond

    def eq(self, got, want, what):
        return self.ok(got == want, what, 'got %r, want %r' % (got, want))


def free_port():
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


def H(alg, s):
    h = hashlib.md5 if alg == 'MD5' else hashlib.sha256
    return h(s.encode()).hexdigest()


class Phone:
    """A registering phone on its own UDP socket."""

    def __init__(self, server_port):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((LOCAL, 0))
        self.sock.settimeout(3)
        self.port = self.sock.getsockname()[1]
        self.server = (LOCAL, server_port)
        self.cseq = 0
        self.branch = 0

    def register(self, aor_user, contacts=(), expires=None, auth=None, star=False):
        self.cseq += 1
        self.branch += 1
        lines = ['REGISTER sip:%s:%d SIP/2.0' % (LOCAL, self.server[1]),
                 'Via: SIP/2.0/UDP %s:%d;branch=z9hG4bK3665x%d' % (LOCAL, self.port, self.branch),
                 'Max-Forwards: 70',
                 'From: <sip:%s@%s>;tag=t3665' % (aor_user, LOCAL),
                 'To: <sip:%s@%s>' % (aor_user, LOCAL),
                 'Call-ID: rfc3665-%s-%d@%s' % (aor_user, self.port, LOCAL),
                 'CSeq: %d REGISTER' % self.cseq]
        if star:
            lines.append('Contact: *')
        for c in contacts:
            lines.append('Contact: <%s>' % c)
        if expires is not None:
            lines.append('Expires: %d' % expires)
        if auth:
            lines.append('Authorization: ' + auth)
        lines += ['Content-Length: 0', '', '']
        self.sock.sendto('\r\n'.join(lines).encode(), self.server)
        while True:
            data, _ = self.sock.recvfrom(65536)
            resp = Response(data)
            if resp.code >= 200:   # no provisional responses to REGISTER
                return resp


class Response:
    def __init__(self, data):
        text = data.decode('latin-1')
        head = text.split('\r\n\r\n', 1)[0].split('\r\n')
        m = re.match(r'SIP/2\.0 (\d{3}) (.*)', head[0])
        self.code = int(m.group(1)) if m else 0
        self.reason = m.group(2) if m else ''
        self.headers = []
        for line in head[1:]:
            n, _, v = line.partition(':')
            self.headers.append((n.strip().lower(), v.strip()))

    def all(self, name):
        return [v for n, v in self.headers if n == name]

    def challenges(self):
        """[(algorithm, params dict)] of the WWW-Authenticate fields, in order."""
        out = []
        for v in self.all('www-authenticate'):
            params = dict((k, a or b) for k, a, b in
                          re.findall(r'(\w+)=(?:"([^"]*)"|([^,\s]+))', v))
            out.append((params.get('algorithm', 'MD5').upper(), params))
        return out

    def contacts(self):
        return sorted(re.sub(r'^<([^>]*)>.*$', r'\1', v) for v in self.all('contact'))


def credentials(ch, alg, user, password, uri, nc=1, cnonce='0a4f113b'):
    """An Authorization value answering challenge ch (RFC 7616 §3.4)."""
    ha1 = H(alg, '%s:%s:%s' % (user, ch['realm'], password))
    ha2 = H(alg, 'REGISTER:%s' % uri)
    ncs = '%08x' % nc
    resp = H(alg, '%s:%s:%s:%s:auth:%s' % (ha1, ch['nonce'], ncs, cnonce, ha2))
    return ('Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", '
            'algorithm=%s, cnonce="%s", qop=auth, nc=%s, opaque="%s"'
            % (user, ch['realm'], ch['nonce'], uri, resp, alg, cnonce, ncs,
               ch.get('opaque', '')))


def main():
    if len(sys.argv) < 2 or not os.access(sys.argv[1], os.X_OK):
        print('SKIP: no switchboard binary')
        return 77
    c = Checks()
    work = tempfile.mkdtemp(prefix='rfc3665-')
    port = free_port()
    ini = os.path.join(work, 'sb.ini')
    with open(ini, 'w') as f:
        f.write('[auth]\nrealm = %s\nnonce_lifetime_s = 1\nmax_failures = 3\n'
                'failure_window_s = 60\nlockout_s = 60\n[users]\n' % REALM)
        for u, p in USERS.items():
            f.write('%s = %s\n' % (u, p))
    log = open(os.path.join(work, 'server.log'), 'w+')
    srv = subprocess.Popen([sys.argv[1], '-c', ini, '--listen', 'udp:%s:%d' % (LOCAL, port),
                            '--listen', 'tcp:%s:%d' % (LOCAL, port), '--domain', LOCAL,
                            '--store', os.path.join(work, 'sb.db'), '--api', 'none',
                            '--log-level', 'info'], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection((LOCAL, port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        uri = 'sip:%s:%d' % (LOCAL, port)
        ph = Phone(port)
        c1 = 'sip:alice@%s:%d' % (LOCAL, ph.port)
        c2 = 'sip:alice@%s:%d;transport=tcp' % (LOCAL, ph.port)

        print('RFC 3665 2.1: new registration')
        r = ph.register('alice', [c1], 600)
        c.eq(r.code, 401, 'F1/F2: REGISTER without credentials gets 401')
        chs = r.challenges()
        c.eq([a for a, _ in chs], ['SHA-256', 'MD5'],
             'F2: challenges for SHA-256 then MD5 (RFC 8760 §2.4)')
        c.ok(all(p.get('qop') == 'auth' and p.get('realm') == REALM for _, p in chs),
             'F2: each with qop="auth" and our realm', chs)
        c.ok(len(set(p['nonce'] for _, p in chs)) == 1, 'F2: one nonce for both', chs)
        md5 = dict(chs)['MD5']
        r = ph.register('alice', [c1], 600, credentials(md5, 'MD5', 'alice', 'wonderland', uri))
        c.eq(r.code, 200, 'F3/F4: REGISTER with MD5 credentials gets 200')
        c.eq(r.contacts(), [c1], 'F4: the 200 lists the binding')

        print('RFC 3665 2.2: update of contacts (SHA-256)')
        r = ph.register('alice', [c2], 600)
        sha = dict(r.challenges())['SHA-256']
        r = ph.register('alice', [c2], 600,
                        credentials(sha, 'SHA-256', 'alice', 'wonderland', uri))
        c.eq(r.code, 200, 'REGISTER with SHA-256 credentials gets 200')
        c.eq(r.contacts(), sorted([c1, c2]), 'the 200 lists both contacts')

        print('replay and nc')
        auth = credentials(sha, 'SHA-256', 'alice', 'wonderland', uri, nc=2)
        r = ph.register('alice', [], None, auth)
        c.eq(r.code, 200, 'RFC 3665 2.3 query (nc 2): 200')
        c.eq(r.contacts(), sorted([c1, c2]), '2.3: the 200 lists both contacts')
        r = ph.register('alice', [], None, auth)
        c.eq(r.code, 401, 'the same nonce and nc again: challenged (a replay)')

        print('RFC 3665 2.4: cancellation')
        r = ph.register('alice', star=True, expires=0,
                        auth=credentials(sha, 'SHA-256', 'alice', 'wonderland', uri, nc=3))
        c.eq(r.code, 200, 'Contact: * with Expires: 0 gets 200')
        c.eq(r.contacts(), [], 'no binding left')

        print('stale nonce')
        time.sleep(2.2)
        r = ph.register('alice', [c1], 600,
                        credentials(sha, 'SHA-256', 'alice', 'wonderland', uri, nc=4))
        c.eq(r.code, 401, 'the right password with an expired nonce: 401')
        c.ok(all(p.get('stale') == 'true' for _, p in r.challenges()) and r.challenges(),
             'with stale=true (RFC 7616 §3.3)', r.all('www-authenticate'))

        print('403: another user\'s address of record')
        r = ph.register('alice', [c1], 600)
        md5 = dict(r.challenges())['MD5']
        r = ph.register('alice', [c1], 600, credentials(md5, 'MD5', 'bob', 'builder', uri))
        c.eq(r.code, 403, 'bob\'s good credentials on alice\'s AOR: 403')
        c.eq(r.reason, 'Forbidden - Not Your Address of Record', 'its reason phrase')

        print('RFC 3665 2.5: wrong password, then lockout')
        r = ph.register('alice', [c1], 600)
        md5 = dict(r.challenges())['MD5']
        for k in range(3):
            r = ph.register('alice', [c1], 600,
                            credentials(md5, 'MD5', 'alice', 'guess%d' % k, uri, nc=k + 1))
            if k == 0:
                c.eq(r.code, 401, '2.5: a wrong password gets 401 with a new challenge')
                c.ok(len(r.challenges()) == 2, '2.5: the 401 carries challenges again')
        c.eq(r.code, 401, 'the third wrong password is still answered 401')
        r = ph.register('alice', [c1], 600, credentials(md5, 'MD5', 'alice', 'wonderland', uri,
                                                        nc=9))
        c.eq((r.code, r.reason), (403, 'Forbidden - Too Many Failures'),
             'past max_failures the source is locked out, right password or not')
        log.seek(0)
        text = log.read()
        c.ok(re.search(r'warn .*127\.0\.0\.1.*lock', text, re.I) is not None,
             'the log says the source was locked out', text[-500:])
    finally:
        srv.terminate()
        try:
            srv.wait(5)
        except subprocess.TimeoutExpired:
            srv.kill()
    log.seek(0)
    text = log.read()
    c.ok('AddressSanitizer' not in text and 'runtime error' not in text,
         'no sanitizer report in the server log')
    c.ok('wonderland' not in text and 'builder' not in text, 'no password in the log')
    # the UDP listener's socket buffers as the kernel granted them (transport.h)
    c.ok(re.search(r'udp %s:%d: socket buffers [0-9]+ KiB receive, [0-9]+ KiB send'
                   % (re.escape(LOCAL), port), text) is not None,
         'the log tells the UDP socket buffers')
    print('%d passed, %d failed' % (c.passed, c.failed))
    if c.failed:
        print('server log: %s' % os.path.join(work, 'server.log'))
    return 1 if c.failed else 0


if __name__ == '__main__':
    sys.exit(main())
