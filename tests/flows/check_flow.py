#!/usr/bin/env python3
"""check_flow.py: read SIPp message logs and assert what a phone saw.

SIPp run with `-trace_msg -message_file F` writes every message it sends or
receives to F, each entry opened by a dashed line with a time stamp and a line
such as `UDP message sent (463 bytes):` or `TCP message received [287] bytes :`.
This module turns such a log into a list of `Msg` (direction, first line,
headers, body) and compares it with the sequence a flow expects.

A sequence is a list of tokens, one per message, in the order the phone saw
them:

    ">INVITE"        the phone sent an INVITE
    "<100"           the phone received a 100 (any CSeq method)
    "<200/BYE"       the phone received a 200 whose CSeq method is BYE
    "<100?"          zero or one 100 here (a trailing "?" makes a token optional)

Retransmissions (same direction, first line, CSeq, top Via branch and To tag
as an earlier message) are folded into the first copy and counted in
`Msg.copies`; they do not appear in the sequence.

Used by run_flow.py; also a small command-line tool to print a log as its
sequence, the quickest way to read a failure:

    python3 tests/flows/check_flow.py LOG [LOG...]
    python3 tests/flows/check_flow.py --selftest   (the checker's own test)
"""

import re
import sys

SEPARATOR = re.compile(r'^-{20,} \d{4}-\d\d-\d\d')
ENTRY = re.compile(r'^(UDP|TCP|TLS|SCTP) message (sent|received)')

COMPACT = {'v': 'via', 'f': 'from', 't': 'to', 'i': 'call-id', 'm': 'contact',
           'l': 'content-length', 'c': 'content-type', 'k': 'supported',
           'e': 'content-encoding', 's': 'subject', 'o': 'event', 'r': 'refer-to'}


def split_list(value):
    """Split a comma-separated header value, ignoring commas inside <> or ""."""
    out, cur, depth, quoted = [], [], 0, False
    for ch in value:
        if quoted:
            cur.append(ch)
            if ch == '"':
                quoted = False
            continue
        if ch == '"':
            quoted = True
        elif ch == '<':
            depth += 1
        elif ch == '>':
            depth -= 1
        elif ch == ',' and depth == 0:
            out.append(''.join(cur).strip())
            cur = []
            continue
        cur.append(ch)
    if ''.join(cur).strip():
        out.append(''.join(cur).strip())
    return out


class Msg:
    def __init__(self, direction, transport, text, stamp):
        self.dir = direction            # '>' sent by the phone, '<' received
        self.transport = transport
        self.stamp = stamp
        self.copies = 1
        head, _, self.body = text.partition('\n\n')
        lines = head.split('\n')
        self.first = lines[0].strip()
        self.headers = []               # [(lower-case name, value)], unfolded
        for line in lines[1:]:
            if line[:1] in (' ', '\t') and self.headers:
                n, v = self.headers[-1]
                self.headers[-1] = (n, v + ' ' + line.strip())
                continue
            name, sep, value = line.partition(':')
            if not sep:
                continue
            name = name.strip().lower()
            self.headers.append((COMPACT.get(name, name), value.strip()))
        self.is_request = not self.first.startswith('SIP/2.0')
        if self.is_request:
            parts = self.first.split()
            self.method = parts[0] if parts else ''
            self.ruri = parts[1] if len(parts) > 1 else ''
            self.code = None
        else:
            parts = self.first.split()
            self.code = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
            self.method = None
            self.ruri = None

    # -- header access --------------------------------------------------
    def all(self, name):
        """Every value of a header, comma lists split (Via, Route, ...)."""
        name = COMPACT.get(name.lower(), name.lower())
        out = []
        for n, v in self.headers:
            if n == name:
                out.extend(split_list(v) if n in LIST_HEADERS else [v])
        return out

    def get(self, name):
        vals = self.all(name)
        return vals[0] if vals else None

    def cseq(self):
        v = self.get('cseq') or ''
        parts = v.split()
        return (int(parts[0]) if parts and parts[0].isdigit() else -1,
                parts[1] if len(parts) > 1 else '')

    def cseq_method(self):
        return self.cseq()[1]

    def top_branch(self):
        return param(self.get('via') or '', 'branch')

    def to_tag(self):
        return param(self.get('to') or '', 'tag')

    def token(self):
        if self.is_request:
            return self.dir + self.method
        return '%s%d/%s' % (self.dir, self.code, self.cseq_method())

    def key(self):
        return (self.dir, self.first, self.get('cseq'), self.top_branch(),
                self.to_tag(), self.get('call-id'))

    def __repr__(self):
        return '%s %s' % (self.dir, self.first)


LIST_HEADERS = {'via', 'route', 'record-route', 'contact', 'supported',
                'require', 'proxy-require', 'unsupported', 'allow'}


def param(value, name):
    """A ;name=value parameter of a header value (outside <...>), or None."""
    v = value
    if '>' in v:
        v = v[v.rindex('>') + 1:]
    for p in v.split(';')[1:]:
        k, _, val = p.partition('=')
        if k.strip().lower() == name:
            return val.strip()
    return None


def uri_of(value):
    """The URI inside a name-addr (<...>) or an addr-spec without params."""
    if value is None:
        return None
    m = re.search(r'<([^>]*)>', value)
    if m:
        return m.group(1)
    return value.split(';')[0].strip()


def sent_by(via):
    """host:port of a Via value."""
    m = re.match(r'\s*SIP\s*/\s*2\.0\s*/\s*\w+\s+([^;\s]+)', via or '', re.I)
    return m.group(1) if m else None


def parse_log(path):
    """All messages of a SIPp message log, retransmissions folded."""
    try:
        with open(path, encoding='utf-8', errors='replace') as f:
            lines = f.read().replace('\r\n', '\n').replace('\r', '\n').split('\n')
    except FileNotFoundError:
        return []
    msgs, i = [], 0
    while i < len(lines):
        if not SEPARATOR.match(lines[i]):
            i += 1
            continue
        stamp = lines[i].split(' ', 1)[1].strip() if ' ' in lines[i] else ''
        j = i + 1
        if j >= len(lines) or not ENTRY.match(lines[j]):
            i = j
            continue
        m = ENTRY.match(lines[j])
        transport = m.group(1)
        direction = '>' if m.group(2) == 'sent' else '<'
        j += 1
        while j < len(lines) and lines[j] == '':
            j += 1
        start = j
        while j < len(lines) and not SEPARATOR.match(lines[j]):
            j += 1
        text = '\n'.join(lines[start:j]).rstrip('\n')
        if text:
            msgs.append(Msg(direction, transport, text, stamp))
        i = j
    folded, seen = [], {}
    for msg in msgs:
        k = msg.key()
        if k in seen:
            seen[k].copies += 1
            continue
        seen[k] = msg
        folded.append(msg)
    return folded


def match_sequence(msgs, expected):
    """True when the tokens of msgs match the expected list (with '?')."""
    got = [m.token() for m in msgs]

    def tok_eq(g, e):
        # "<200" matches "<200/INVITE"; "<200/BYE" must match exactly.
        return g == e or ('/' not in e and g.split('/')[0] == e)

    def rec(gi, ei):
        if ei == len(expected):
            return gi == len(got)
        e = expected[ei]
        if e.endswith('?'):
            e = e[:-1]
            if gi < len(got) and tok_eq(got[gi], e) and rec(gi + 1, ei + 1):
                return True
            return rec(gi, ei + 1)
        return gi < len(got) and tok_eq(got[gi], e) and rec(gi + 1, ei + 1)

    return rec(0, 0)


def format_sequence(msgs):
    out = []
    for m in msgs:
        extra = ' (x%d)' % m.copies if m.copies > 1 else ''
        out.append('    %s %-4s %s%s' % (m.stamp[11:23], m.transport,
                                        '%s %s' % (m.dir, m.first), extra))
    return '\n'.join(out) if out else '    (no messages)'


class Checker:
    """Collects named assertions and prints one line per result."""

    def __init__(self, out=sys.stdout):
        self.passed = 0
        self.failed = 0
        self.out = out

    def ok(self, cond, what, detail=''):
        if cond:
            self.passed += 1
            print('  ok    %s' % what, file=self.out)
        else:
            self.failed += 1
            print('  FAIL  %s%s' % (what, ('\n        ' + detail) if detail else ''),
                  file=self.out)
        return bool(cond)

    def eq(self, got, want, what):
        return self.ok(got == want, what, 'got %r, want %r' % (got, want))

    def sequence(self, role, msgs, expected):
        good = match_sequence(msgs, expected)
        detail = ''
        if not good:
            detail = 'want: %s\n        got:  %s\n%s' % (
                ' '.join(expected), ' '.join(m.token() for m in msgs),
                format_sequence(msgs))
        return self.ok(good, '%s: message sequence %s' % (role, ' '.join(expected)), detail)

    def summary(self):
        print('%d passed, %d failed' % (self.passed, self.failed), file=self.out)
        return self.failed == 0


def find(msgs, token, nth=0):
    """The nth message whose token matches (see match_sequence), or None."""
    hits = [m for m in msgs if m.token() == token or
            ('/' not in token and m.token().split('/')[0] == token)]
    return hits[nth] if len(hits) > nth else None


SAMPLE = """\
----------------------------------------------- 2026-01-01 00:00:00.000001
UDP message received [1] bytes :

INVITE sip:b@127.0.0.1:5062 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKp1
v: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKa1, SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKx
CSeq: 1 INVITE
Call-ID: c1
To: <sip:b@127.0.0.1>

----------------------------------------------- 2026-01-01 00:00:00.000002
UDP message sent (1 bytes):

SIP/2.0 302 Moved Temporarily
Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKp1
CSeq: 1 INVITE
Call-ID: c1
To: <sip:b@127.0.0.1>;tag=t1
Contact: <sip:c@127.0.0.1:5060>

----------------------------------------------- 2026-01-01 00:00:00.500000
UDP message sent (1 bytes):

SIP/2.0 302 Moved Temporarily
Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKp1
CSeq: 1 INVITE
Call-ID: c1
To: <sip:b@127.0.0.1>;tag=t1
Contact: <sip:c@127.0.0.1:5060>

----------------------------------------------- 2026-01-01 00:00:00.600000
UDP message received [1] bytes :

ACK sip:b@127.0.0.1:5062 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKp1
CSeq: 1 ACK
Call-ID: c1
To: <sip:b@127.0.0.1>;tag=t1

"""


def selftest():
    """The checker checking itself on a hand-written log: parsing, compact
    headers, Via lists, folding of retransmissions, sequence matching."""
    import os
    import tempfile
    fd, path = tempfile.mkstemp(suffix='.msg')
    with os.fdopen(fd, 'w') as f:
        f.write(SAMPLE)
    msgs = parse_log(path)
    os.unlink(path)
    c = Checker()
    c.eq([m.token() for m in msgs], ['<INVITE', '>302/INVITE', '<ACK'], 'tokens, retransmission folded')
    c.eq(msgs[1].copies, 2, 'the 302 was sent twice')
    c.eq(len(msgs[0].all('via')), 3, 'Via values across lines and commas, compact form')
    c.eq(sent_by(msgs[0].get('via')), '127.0.0.1:5060', 'sent-by of the top Via')
    c.eq(msgs[1].to_tag(), 't1', 'To tag')
    c.eq(uri_of(msgs[1].get('contact')), 'sip:c@127.0.0.1:5060', 'Contact URI')
    c.ok(match_sequence(msgs, ['<INVITE', '>302', '<ACK']), 'exact sequence matches')
    c.ok(match_sequence(msgs, ['<INVITE', '>100?', '>302', '<ACK']), 'optional token may be absent')
    c.ok(not match_sequence(msgs, ['<INVITE', '>302']), 'an extra (leaked) message fails')
    c.ok(not match_sequence(msgs, ['<INVITE', '>302', '<ACK', '<ACK']), 'a missing message fails')
    c.ok(not match_sequence(msgs, ['<INVITE', '>302/BYE', '<ACK']), 'CSeq method is compared')
    c.ok(not match_sequence(msgs, ['<INVITE', '<ACK', '>302']), 'order is compared')
    return 0 if c.summary() else 1


def main(argv):
    if len(argv) == 2 and argv[1] == '--selftest':
        return selftest()
    if len(argv) < 2:
        print(__doc__)
        return 2
    for path in argv[1:]:
        msgs = parse_log(path)
        print('%s:' % path)
        print('    sequence: %s' % ' '.join(m.token() for m in msgs))
        print(format_sequence(msgs))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
