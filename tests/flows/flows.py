"""flows.py: the call flows run_flow.py knows, and what each must show.

A flow is a dict:

  title        one line, printed first
  server       False for a SIPp-against-SIPp self test (no switchboard)
  server_args  extra switchboard options ({P}, {proxy_port}, {ROLE_port} expand)
  needs_option a switchboard option the flow cannot run without; skipped (77)
               when `switchboard --help` does not mention it
  roles        the phones, started UAS first; each role:
                 name      A, B, C... (also the log file name: A.msg)
                 scenario  file in scenarios/
                 kind      'uas' (takes calls) or 'uac' (calls, run in order)
                 transport 'udp' (default) or 'tcp'
                 register  user name to REGISTER the phone as, before calls
                 register_from  'self' (default: the REGISTER leaves from the
                           phone's own port) or 'other' (a third party's port)
                 register_transport  transport of the REGISTER (default: the
                           phone's); the Contact always names the phone's
                 service   UAC: the user called (Request-URI sip:USER@P)
                 keys      SIPp -key values ({P}, {proxy_port}... expand)
                 remote    UAC: 'server' (default) or a role name (self tests)
                 endless   UAS that never finishes by itself: ended 1 s after
                           the callers are done; its exit status is not checked
  registrations  extra bindings [{user, contact_port, transport}]
  expect       role -> token list (see check_flow.py): the exact sequence
  check        function(checker, logs, ctx) asserting key headers

In the checks, logs[ROLE] is that phone's message list; find(msgs, '<INVITE')
picks the first received INVITE, find(msgs, '>200/INVITE') the first 200 it
sent for an INVITE.  ctx['P'] is the proxy's host:port, ctx['B_port'] the port
of role B.
"""

import datetime
import re

from check_flow import find, param, sent_by, uri_of

# -- helpers shared by the checks --------------------------------------------


def uris(msg, header):
    return [uri_of(v) for v in msg.all(header)] if msg else []


def is_proxy(uri, ctx):
    """The URI names the proxy (host:port P)."""
    return bool(uri) and re.match(r'sips?:([^@;>]*@)?%s(;|$)' % re.escape(ctx['P']),
                                  uri) is not None


def same_uri(a, b):
    """Two URIs equal up to case of scheme/host and of the transport value."""
    return (a or '').lower() == (b or '').lower()


def contact_of(role, user, ctx, transport='udp'):
    return 'sip:%s@127.0.0.1:%s;transport=%s' % (user, ctx[role + '_port'], transport)


def need(c, msg, what):
    c.ok(msg is not None, 'message present: %s' % what)
    return msg


def check_forwarded_request(c, who, msg, ctx, ruri=None, vias=2, mf=None):
    """A request the proxy forwarded: its Via on top, Route for itself gone."""
    if msg is None:
        c.ok(False, '%s: %s forwarded by the proxy' % (who, 'request'))
        return
    name = '%s: %s' % (who, msg.method)
    if ruri:
        c.ok(same_uri(msg.ruri, ruri), '%s Request-URI is %s' % (name, ruri),
             'got %s' % msg.ruri)
    v = msg.all('via')
    c.eq(sent_by(v[0]) if v else None, ctx['P'], '%s top Via is the proxy' % name)
    c.ok((param(v[0], 'branch') or '').startswith('z9hG4bK') if v else False,
         '%s proxy Via branch has the magic cookie' % name)
    if vias is not None:
        c.eq(len(v), vias, '%s carries %d Via values' % (name, vias))
    c.ok(not any(is_proxy(u, ctx) for u in uris(msg, 'route')),
         '%s: the proxy removed its own Route entry (RFC 3261 §16.4)' % name,
         'Route: %s' % msg.all('route'))
    if mf is not None:
        c.eq(msg.get('max-forwards'), str(mf), '%s Max-Forwards decremented' % name)


def check_response_to_caller(c, who, resp, invite, what):
    """A response relayed to the caller: only the caller's own Via remains."""
    if resp is None or invite is None:
        c.ok(False, '%s: %s present' % (who, what))
        return
    c.eq(resp.all('via'), invite.all('via'),
         '%s: %s carries exactly the caller\'s Via (proxy Via removed)' % (who, what))
    c.eq(resp.get('call-id'), invite.get('call-id'), '%s: %s Call-ID' % (who, what))


def check_hop_ack(c, who, ack, invite, final, what):
    """RFC 3261 §17.1.1.3: the proxy's own ACK for a non-2xx final response."""
    if ack is None or invite is None or final is None:
        c.ok(False, '%s: %s present' % (who, what))
        return
    c.eq(ack.all('via'), invite.all('via')[:1],
         '%s: %s has one Via, the one of the INVITE it acknowledges (same branch)' % (who, what))
    c.ok(same_uri(ack.ruri, invite.ruri), '%s: %s Request-URI equals the INVITE\'s' % (who, what),
         'ACK %s, INVITE %s' % (ack.ruri, invite.ruri))
    c.eq(ack.cseq(), (invite.cseq()[0], 'ACK'), '%s: %s CSeq number of the INVITE' % (who, what))
    c.eq(ack.to_tag(), final.to_tag(), '%s: %s To tag of the response' % (who, what))
    c.eq(ack.get('call-id'), invite.get('call-id'), '%s: %s Call-ID' % (who, what))
    c.eq(ack.get('from'), invite.get('from'), '%s: %s From' % (who, what))


def check_dialog_along_route(c, logs, ctx, caller='A', callee='B', callee_user='b',
                             callee_transport='udp', rr_count=1):
    """A basic answered call: INVITE, 200, ACK and BYE through the proxy."""
    A, B = logs[caller], logs[callee]
    inv_a = find(A, '>INVITE')
    inv_b = find(B, '<INVITE')
    ok_b = find(B, '>200/INVITE')
    ok_a = find(A, '<200/INVITE')
    ack_a, ack_b = find(A, '>ACK'), find(B, '<ACK')
    bye_a, bye_b = find(A, '>BYE'), find(B, '<BYE')
    contact = contact_of(callee, callee_user, ctx, callee_transport)
    check_forwarded_request(c, callee, inv_b, ctx, ruri=contact, mf=69)
    if inv_b and inv_a:
        c.eq(inv_b.all('via')[1:], inv_a.all('via'), '%s: INVITE keeps the caller\'s Via below the proxy\'s' % callee)
        c.eq(inv_b.get('call-id'), inv_a.get('call-id'), '%s: INVITE Call-ID unchanged' % callee)
        c.eq(inv_b.get('from'), inv_a.get('from'), '%s: INVITE From unchanged' % callee)
        c.ok(inv_b.transport.lower() == callee_transport,
             '%s: INVITE arrived over %s' % (callee, callee_transport.upper()),
             'got %s' % inv_b.transport)
    rr = uris(inv_b, 'record-route')
    c.ok(len(rr) == rr_count and all(is_proxy(u, ctx) and ';lr' in u for u in rr),
         '%s: INVITE has %d Record-Route for the proxy with ;lr' % (callee, rr_count),
         'Record-Route: %s' % (inv_b.all('record-route') if inv_b else None))
    check_response_to_caller(c, caller, ok_a, inv_a, '200 OK')
    if ok_a and ok_b:
        c.eq(uris(ok_a, 'record-route'), uris(ok_b, 'record-route'),
             '%s: 200 OK Record-Route as the callee sent it' % caller)
        c.eq(ok_a.to_tag(), ok_b.to_tag(), '%s: 200 OK To tag is the callee\'s' % caller)
        c.eq(uri_of(ok_a.get('contact')), uri_of(ok_b.get('contact')),
             '%s: 200 OK Contact is the callee\'s' % caller)
    # The caller's ACK and BYE: to the remote target, with the route set.
    for req in (ack_a, bye_a):
        if req is None or ok_a is None:
            c.ok(False, '%s: ACK and BYE sent' % caller)
            continue
        c.ok(same_uri(req.ruri, uri_of(ok_a.get('contact'))),
             '%s: %s Request-URI is the remote target (200 Contact)' % (caller, req.method))
        c.eq(uris(req, 'route'), list(reversed(uris(ok_a, 'record-route'))),
             '%s: %s Route set is the reversed Record-Route' % (caller, req.method))
    for req, sent in ((ack_b, ack_a), (bye_b, bye_a)):
        if req is None:
            c.ok(False, '%s: ACK and BYE reached the callee' % callee)
            continue
        check_forwarded_request(c, callee, req, ctx, ruri=uri_of(ok_b.get('contact')) if ok_b else None)
        if sent:
            c.eq(req.all('via')[1:], sent.all('via'), '%s: %s keeps the caller\'s Via' % (callee, req.method))
            c.eq(req.cseq(), sent.cseq(), '%s: %s CSeq unchanged' % (callee, req.method))
        c.ok(req.transport.lower() == callee_transport,
             '%s: %s arrived over %s' % (callee, req.method, callee_transport.upper()))
    check_response_to_caller(c, caller, find(A, '<200/BYE'), bye_a, '200 for the BYE')


# -- the flows ----------------------------------------------------------------

CALLER = ['>INVITE', '<100', '<180', '<200/INVITE', '>ACK', '>BYE', '<200/BYE']
CALLEE = ['<INVITE', '>180', '>200/INVITE', '<ACK', '<BYE', '>200/BYE']


def check_selftest(c, logs, ctx):
    A, B = logs['A'], logs['B']
    inv_a, inv_b = find(A, '>INVITE'), find(B, '<INVITE')
    c.ok(inv_a is not None and inv_b is not None and inv_a.first == inv_b.first,
         'B received the INVITE A sent')
    c.eq(find(A, '>BYE').ruri if find(A, '>BYE') else None,
         uri_of(find(A, '<200/INVITE').get('contact')) if find(A, '<200/INVITE') else 0,
         'A: BYE to the remote target')


def check_selftest_lost200(c, logs, ctx):
    ok_a = find(logs['A'], '<200/INVITE')
    ok_b = find(logs['B'], '>200/INVITE')
    c.ok(ok_b and ok_b.copies >= 2, 'B retransmitted its 200 OK',
         'sent %d time(s)' % (ok_b.copies if ok_b else 0))
    c.ok(ok_a and ok_a.copies >= 2, 'A received the 200 OK more than once',
         'received %d time(s)' % (ok_a.copies if ok_a else 0))


def check_basic(c, logs, ctx):
    check_dialog_along_route(c, logs, ctx)
    A = logs['A']
    inv_a = find(A, '>INVITE')
    for code in ('<100', '<180'):
        check_response_to_caller(c, 'A', find(A, code), inv_a, code[1:])


def check_redirect(c, logs, ctx, recurse=False):
    A, B, C = logs['A'], logs['B'], logs['C']
    target = 'sip:c@%s' % ctx['P']
    f1 = find(A, '>INVITE')
    f2 = find(B, '<INVITE')
    f3 = find(B, '>302')
    f4 = find(B, '<ACK')
    check_forwarded_request(c, 'B', f2, ctx, ruri=contact_of('B', 'b', ctx), mf=69)   # F2
    check_hop_ack(c, 'B', f4, f2, f3, 'F4 ACK for the 302')                          # F4
    c.ok(all(len(m.all('via')) == 1 for m in B if m.method == 'ACK'),
         'B: no ACK carrying the caller\'s Via (F6 absorbed by the proxy)')        # F6
    if not recurse:
        f5 = find(A, '<302')
        check_response_to_caller(c, 'A', f5, f1, 'F5 302')
        c.eq(uri_of(f5.get('contact')) if f5 else None, target,
             'A: F5 302 Contact is the new target (C)')
        c.eq(f5.to_tag() if f5 else None, f3.to_tag() if f3 else 0,
             'A: F5 302 To tag is B\'s')
        f6 = find(A, '>ACK')
        c.ok(f6 is not None and f5 is not None and f6.top_branch() == f1.top_branch(),
             'A: F6 ACK in the INVITE transaction (same branch)')
        f7 = find(A, '>INVITE', 1)
        c.ok(f7 is not None and same_uri(f7.ruri, target), 'A: F7 INVITE to the 302 Contact',
             'got %s' % (f7.ruri if f7 else None))
        inv_c = find(C, '<INVITE')
        check_forwarded_request(c, 'C', inv_c, ctx, ruri=contact_of('C', 'c', ctx), mf=69)
        if inv_c and f7:
            c.eq(inv_c.get('call-id'), f7.get('call-id'), 'C: INVITE Call-ID is A\'s')
            c.eq(inv_c.cseq(), (2, 'INVITE'), 'C: INVITE CSeq is F7\'s')
        # The rest of the call follows C's Record-Route.
        sub = {'A': [m for m in A if m.cseq()[0] >= 2], 'C': C}
        check_dialog_along_route(c, {'A': sub['A'], 'C': C}, ctx, caller='A', callee='C',
                                 callee_user='c')
    else:
        inv_c = find(C, '<INVITE')
        check_forwarded_request(c, 'C', inv_c, ctx, ruri=contact_of('C', 'c', ctx), vias=None)
        if inv_c and f1:
            c.eq(inv_c.all('via')[-1:], f1.all('via'), 'C: INVITE keeps A\'s Via at the bottom')
            c.eq(inv_c.get('call-id'), f1.get('call-id'), 'C: INVITE Call-ID is A\'s')
        if inv_c and f2:
            c.ok(inv_c.top_branch() != f2.top_branch(), 'C: new branch for the new target')
        ok_a, ok_c = find(A, '<200/INVITE'), find(C, '>200/INVITE')
        check_response_to_caller(c, 'A', ok_a, f1, '200 OK')
        c.eq(ok_a.to_tag() if ok_a else None, ok_c.to_tag() if ok_c else 0,
             'A: the 200 OK is C\'s (To tag)')
        ring_a = find(A, '<180')
        c.eq(ring_a.to_tag() if ring_a else None, find(C, '>180').to_tag() if find(C, '>180') else 0,
             'A: the 180 is C\'s (To tag)')
        ack_c, bye_c = find(C, '<ACK'), find(C, '<BYE')
        for req in (ack_c, bye_c):
            c.ok(req is not None and sent_by(req.get('via')) == ctx['P'],
                 'C: ACK/BYE arrive through the proxy (Record-Route)')


def check_reject(c, logs, ctx, code, callee='B', user='b', extra=None):
    A = logs['A']
    inv_a, fin_a = find(A, '>INVITE'), find(A, '<%d' % code)
    check_response_to_caller(c, 'A', fin_a, inv_a, str(code))
    c.ok(fin_a is not None and fin_a.to_tag(), 'A: %d has a To tag' % code)
    ack_a = find(A, '>ACK')
    c.ok(ack_a is not None and inv_a is not None and ack_a.top_branch() == inv_a.top_branch(),
         'A: ACK for the %d in the INVITE transaction' % code)
    if callee and callee in logs and find(logs[callee], '<INVITE'):
        B = logs[callee]
        inv_b, fin_b, ack_b = find(B, '<INVITE'), find(B, '>%d' % code), find(B, '<ACK')
        check_forwarded_request(c, callee, inv_b, ctx, ruri=contact_of(callee, user, ctx), mf=69)
        check_hop_ack(c, callee, ack_b, inv_b, fin_b, 'ACK for the %d (hop by hop)' % code)
        c.eq(fin_a.to_tag() if fin_a else None, fin_b.to_tag() if fin_b else 0,
             'A: the %d is the callee\'s (To tag)' % code)
    if extra:
        extra(c, fin_a)


def check_cancel(c, logs, ctx, callee='B'):
    A, B = logs['A'], logs[callee]
    inv_a, cancel_a = find(A, '>INVITE'), find(A, '>CANCEL')
    c.ok(cancel_a and inv_a and cancel_a.top_branch() == inv_a.top_branch(),
         'A: CANCEL has the INVITE\'s branch (scenario sanity)')
    check_response_to_caller(c, 'A', find(A, '<200/CANCEL'), cancel_a, '200 for the CANCEL')
    check_response_to_caller(c, 'A', find(A, '<487'), inv_a, '487')
    inv_b, cancel_b = find(B, '<INVITE'), find(B, '<CANCEL')
    if cancel_b and inv_b:
        c.eq(cancel_b.all('via'), inv_b.all('via')[:1],
             '%s: CANCEL has one Via, the INVITE\'s top Via (RFC 3261 §9.1, §16.10)' % callee)
        c.ok(same_uri(cancel_b.ruri, inv_b.ruri), '%s: CANCEL Request-URI is the INVITE\'s' % callee)
        c.eq(cancel_b.cseq(), (inv_b.cseq()[0], 'CANCEL'), '%s: CANCEL CSeq number is the INVITE\'s' % callee)
        c.eq(cancel_b.get('call-id'), inv_b.get('call-id'), '%s: CANCEL Call-ID' % callee)
        c.eq(cancel_b.to_tag(), None, '%s: CANCEL To has no tag' % callee)
    else:
        c.ok(False, '%s: INVITE and CANCEL received' % callee)
    check_hop_ack(c, callee, find(B, '<ACK'), inv_b, find(B, '>487'), 'ACK for the 487 (hop by hop)')


def check_fork(c, logs, ctx):
    A, B1, B2 = logs['A'], logs['B1'], logs['B2']
    check_dialog_along_route(c, {'A': A, 'B1': B1}, ctx, caller='A', callee='B1', callee_user='b')
    i1, i2 = find(B1, '<INVITE'), find(B2, '<INVITE')
    check_forwarded_request(c, 'B2', i2, ctx, ruri=contact_of('B2', 'b', ctx), mf=69)
    if i1 and i2:
        c.ok(i1.top_branch() != i2.top_branch(), 'B1, B2: one branch each')
        c.eq(i1.get('call-id'), i2.get('call-id'), 'B1, B2: same Call-ID')
    cancel_b = find(B2, '<CANCEL')
    if cancel_b and i2:
        c.eq(cancel_b.all('via'), i2.all('via')[:1], 'B2: CANCEL has the INVITE\'s top Via only')
    check_hop_ack(c, 'B2', find(B2, '<ACK'), i2, find(B2, '>487'), 'ACK for the 487 (hop by hop)')
    ring = find(A, '<180')
    c.eq(ring.to_tag() if ring else None, find(B2, '>180').to_tag() if find(B2, '>180') else 0,
         'A: the 180 is B2\'s')


def check_mixed(c, logs, ctx, caller_transport, callee_transport):
    check_dialog_along_route(c, logs, ctx, callee_transport=callee_transport, rr_count=2)
    A = logs['A']
    ok_a, ack_a = find(A, '<200/INVITE'), find(A, '>ACK')
    rr = uris(ok_a, 'record-route')
    c.ok(any('transport=tcp' in u.lower() for u in rr),
         'A: one Record-Route names transport=tcp', 'Record-Route: %s' % rr)
    routes = uris(ack_a, 'route')
    first_tcp = bool(routes) and 'transport=tcp' in routes[0].lower()
    c.eq(first_tcp, caller_transport == 'tcp',
         'A: the first Route (the proxy\'s side facing A) is for %s' % caller_transport.upper())
    inv_a = find(A, '>INVITE')
    c.ok(inv_a is not None and inv_a.transport.lower() == caller_transport,
         'A: call made over %s' % caller_transport.upper())
    for tok in ('<100', '<180', '<200/INVITE', '<200/BYE'):
        m = find(A, tok)
        c.ok(m is not None and m.transport.lower() == caller_transport,
             'A: %s came back over %s' % (tok[1:], caller_transport.upper()))


def check_unsupported(c, fin):
    c.eq(fin.all('unsupported') if fin else None, ['x-no-such-extension'],
         'A: 420 names the extension in Unsupported (RFC 3261 §8.2.2.3)')


def stamp_s(msg):
    """Seconds of a SIPp log time stamp (HH:MM:SS.micro part)."""
    h, m, sec = msg.stamp.split()[-1].split(':')
    return int(h) * 3600 + int(m) * 60 + float(sec)


def check_timeout(c, logs, ctx):
    check_reject(c, logs, ctx, 408, callee=None)
    inv_a, fin_a = find(logs['A'], '>INVITE'), find(logs['A'], '<408')
    if inv_a and fin_a:
        # T1 = 50 ms: Timer B = 64*T1 = 3.2 s (RFC 3261 §17.1.1.2)
        dt = stamp_s(fin_a) - stamp_s(inv_a)
        c.ok(2.9 <= dt <= 6.0, '408 after Timer B (64*T1 = 3.2 s)', 'after %.3f s' % dt)
    inv_b = find(logs['B'], '<INVITE')
    c.ok(inv_b is not None and inv_b.copies >= 2,
         'B: the proxy retransmitted the INVITE (Timer A)',
         'received %d time(s)' % (inv_b.copies if inv_b else 0))
    check_forwarded_request(c, 'B', inv_b, ctx, ruri=contact_of('B', 'b', ctx), mf=69)


def check_lost200(c, logs, ctx):
    check_dialog_along_route(c, logs, ctx)
    ok_a = find(logs['A'], '<200/INVITE')
    ok_b = find(logs['B'], '>200/INVITE')
    c.ok(ok_b is not None and ok_b.copies >= 2, 'B retransmitted its 200 OK (no ACK yet)',
         'sent %d time(s)' % (ok_b.copies if ok_b else 0))
    c.ok(ok_a is not None and ok_a.copies >= 2,
         'A received the 200 OK retransmissions (the proxy forwarded them)',
         'received %d time(s) of %d sent' % (ok_a.copies if ok_a else 0, ok_b.copies if ok_b else 0))


def uac(scenario='uac.xml', service='b', **kw):
    d = {'name': 'A', 'scenario': scenario, 'kind': 'uac', 'service': service}
    d.update(kw)
    return d


def uas(name='B', scenario='uas.xml', user='b', **kw):
    d = {'name': name, 'scenario': scenario, 'kind': 'uas', 'register': user}
    d.update(kw)
    return d


REJECT_KEYS = {'max_forwards': '70', 'extra_header': 'X-Flow-Test: reject'}

def seconds(stamp):
    """A SIPp trace time stamp ('2026-01-01 00:00:00.000001') in seconds."""
    return datetime.datetime.strptime(stamp, '%Y-%m-%d %H:%M:%S.%f').timestamp()


# Users of the forwarding flows: rules belong to users (authentication off)
FWD_USERS = {'b': 'b-secret', 'c': 'c-secret'}


def check_forwarded(c, logs, ctx, kind):
    """A call to b that the proxy forwarded to c by b's rule: c gets the
    INVITE for c's contact with b's To (the caller's dialog is with c), the
    caller sees one final response, c's 200, and its dialog goes to c."""
    A, C = logs['A'], logs['C']
    inv_a, inv_c = find(A, '>INVITE'), find(C, '<INVITE')
    if not need(c, inv_c, 'C: the forwarded INVITE') or inv_a is None:
        return
    c.ok(same_uri(inv_c.ruri, contact_of('C', 'c', ctx)),
         'C: the INVITE is for c\'s contact (%s)' % kind, inv_c.ruri)
    check_forwarded_request(c, 'C', inv_c, ctx, vias=2, mf=69)
    for h in ('from', 'to', 'call-id', 'cseq'):
        c.eq(inv_c.get(h), inv_a.get(h), 'C: %s is the caller\'s (one call, serial fork)' % h)
    ok_a, ok_c = find(A, '<200/INVITE'), find(C, '>200/INVITE')
    if need(c, ok_a, 'A: 200') and ok_c is not None:
        c.eq(ok_a.to_tag(), ok_c.to_tag(), 'A: the 200 is c\'s (its To tag)')
    c.eq([m.code for m in A if not m.is_request and m.code >= 300], [],
         'A: no failure response reaches the caller')
    if kind in ('busy', 'noanswer'):
        B = logs['B']
        inv_b = find(B, '<INVITE')
        if need(c, inv_b, 'B: the INVITE'):
            c.ok(same_uri(inv_b.ruri, contact_of('B', 'b', ctx)), 'B: rang first', inv_b.ruri)
            c.ok(inv_b.top_branch() != inv_c.top_branch(),
                 'B and C: a branch each', '%s %s' % (inv_b.top_branch(), inv_c.top_branch()))
    if kind == 'busy':
        check_hop_ack(c, 'B', find(logs['B'], '<ACK'), find(logs['B'], '<INVITE'),
                      find(logs['B'], '>486'), 'the proxy\'s ACK for the 486')
    if kind == 'noanswer':
        B = logs['B']
        cn, inv_b = find(B, '<CANCEL'), find(B, '<INVITE')
        if need(c, cn, 'B: CANCEL') and inv_b is not None:
            c.eq(cn.top_branch(), inv_b.top_branch(), 'B: the CANCEL has the INVITE\'s branch')
            gap = seconds(cn.stamp) - seconds(inv_b.stamp)
            c.ok(gap >= 1.9, 'B: the CANCEL comes after the 2 s of the rule', '%.2f s' % gap)


# Digest users of the authentication flows (--user NAME:PASSWORD)
AUTH_USERS = {'a': 'a-secret', 'b': 'b-secret'}


def check_challenge(c, who, resp, header, code):
    """A 401/407 of ours: one challenge per configured algorithm (the SIPp
    flows run with MD5 only), each with qop="auth", a realm and a nonce."""
    if not need(c, resp, '%s: %d' % (who, code)):
        return
    ch = resp.all(header)
    algs = [(param(v.replace(',', ';'), 'algorithm') or '').upper() for v in ch]
    c.eq(algs, ['MD5'], '%s: %d offers the configured algorithm (MD5)' % (who, code))
    for v in ch:
        c.ok(v.startswith('Digest '), '%s: %s uses the Digest scheme' % (who, header), v)
        c.ok('qop="auth"' in v, '%s: %s asks qop="auth"' % (who, header), v)
        c.ok('nonce="' in v and 'realm="' in v, '%s: %s has realm and nonce' % (who, header), v)


def check_auth_invite(c, logs, ctx):
    """The Cisco 7960 flow "407 Authentication Error" (shared/seeds/004)."""
    A, B = logs['A'], logs['B']
    inv1, inv2 = find(A, '>INVITE'), find(A, '>INVITE', 1)
    r407 = find(A, '<407/INVITE')
    check_challenge(c, 'A', r407, 'proxy-authenticate', 407)
    ack = find(A, '>ACK')
    if need(c, ack, 'A: ACK for the 407') and inv1 and r407:
        c.eq(ack.top_branch(), inv1.top_branch(), 'A: the ACK for the 407 has the INVITE\'s branch')
        c.eq(ack.to_tag(), r407.to_tag(), 'A: the ACK for the 407 has its To tag')
    if need(c, inv2, 'A: the INVITE with credentials'):
        c.ok(inv2.get('proxy-authorization') is not None,
             'A: the second INVITE carries Proxy-Authorization')
        c.eq(inv2.get('call-id'), inv1.get('call-id') if inv1 else None,
             'A: the second INVITE keeps the Call-ID')
    inv_b = find(B, '<INVITE')
    if need(c, inv_b, 'B: the INVITE'):
        c.eq(inv_b.get('proxy-authorization'), None,
             'B: the proxy removed the Proxy-Authorization of its realm (RFC 3261 §22.3)')
        c.eq(inv_b.cseq(), (2, 'INVITE'), 'B: only the authenticated INVITE (CSeq 2) arrives')

FLOWS = {
    # -- the harness proving itself: SIPp against SIPp, no server ----------
    'selftest': {
        'title': 'harness self test: SIPp caller straight to a SIPp callee, no server',
        'server': False,
        'roles': [uas(register=None), uac(remote='B')],
        'expect': {'A': ['>INVITE', '<180', '<200/INVITE', '>ACK', '>BYE', '<200/BYE'],
                   'B': CALLEE},
        'check': check_selftest,
    },
    'selftest-cancel': {
        'title': 'harness self test: CANCEL scenarios straight against each other',
        'server': False,
        'roles': [uas(scenario='uas_cancel.xml', register=None),
                  uac(scenario='uac_cancel.xml', remote='B')],
        'expect': {'A': ['>INVITE', '<180', '>CANCEL', '<200/CANCEL', '<487', '>ACK'],
                   'B': ['<INVITE', '>180', '<CANCEL', '>200/CANCEL', '>487', '<ACK']},
    },
    'selftest-reject': {
        'title': 'harness self test: 486 scenarios straight against each other',
        'server': False,
        'roles': [uas(scenario='uas_486.xml', register=None),
                  uac(scenario='uac_reject.xml', remote='B', keys=REJECT_KEYS)],
        'expect': {'A': ['>INVITE', '<486', '>ACK'], 'B': ['<INVITE', '>486', '<ACK']},
    },
    'selftest-lost-200': {
        'title': 'harness self test: a 200 OK ignored once is retransmitted',
        'server': False,
        'roles': [uas(register=None), uac(scenario='uac_lost200.xml', remote='B')],
        'expect': {'A': ['>INVITE', '<180', '<200/INVITE', '>ACK', '>BYE', '<200/BYE'],
                   'B': CALLEE},
        'check': check_selftest_lost200,
    },
    # -- 1 ------------------------------------------------------------------
    'basic': {
        'title': 'basic call: A calls B through the proxy; ACK and BYE follow the Record-Route',
        'roles': [uas(), uac()],
        'expect': {'A': CALLER, 'B': CALLEE},
        'check': check_basic,
    },
    'register-contact': {
        'title': 'basic call, B registered by a third party (REGISTER from another port): '
                 'the INVITE must go to the Contact, RFC 3261 §16.5/§16.6',
        'roles': [uas(register_from='other'), uac()],
        'expect': {'A': CALLER, 'B': CALLEE},
        'check': check_basic,
    },
    # -- 2 ------------------------------------------------------------------
    'redirect': {
        'title': 'Yealink redirect F1-F7: B answers 302 (Contact C), A calls C through the proxy',
        'roles': [uas(scenario='uas_302.xml', keys={'redirect_to': 'sip:c@{P}'}),
                  uas(name='C', user='c'),
                  uac(scenario='uac_redirect.xml')],
        'expect': {'A': ['>INVITE', '<100?', '<302', '>ACK',
                         '>INVITE', '<100', '<180', '<200/INVITE', '>ACK', '>BYE', '<200/BYE'],
                   'B': ['<INVITE', '>302', '<ACK'],
                   'C': CALLEE},
        'check': check_redirect,
    },
    # -- 3 ------------------------------------------------------------------
    'redirect-recurse': {
        'title': 'redirect with --recurse-on-3xx: the proxy calls C itself; A never sees the 302',
        'server_args': ['--recurse-on-3xx'],
        'roles': [uas(scenario='uas_302.xml', keys={'redirect_to': 'sip:c@{P}'}),
                  uas(name='C', user='c'),
                  uac(scenario='uac_recurse.xml')],
        'expect': {'A': CALLER, 'B': ['<INVITE', '>302', '<ACK'], 'C': CALLEE},
        'check': lambda c, logs, ctx: check_redirect(c, logs, ctx, recurse=True),
    },
    # -- 4 ------------------------------------------------------------------
    'busy': {
        'title': 'busy: B answers 486; ACK hop by hop on each side, A\'s ACK not forwarded',
        'roles': [uas(scenario='uas_486.xml'),
                  uac(scenario='uac_reject.xml', keys=REJECT_KEYS)],
        'expect': {'A': ['>INVITE', '<100?', '<486', '>ACK'], 'B': ['<INVITE', '>486', '<ACK']},
        'check': lambda c, logs, ctx: check_reject(c, logs, ctx, 486),
    },
    'notfound': {
        'title': 'not found: A calls an unregistered user; 404, ACK absorbed; B sees nothing',
        'roles': [uas(scenario='uas_silent.xml', endless=True),
                  uac(scenario='uac_reject.xml', service='nobody', keys=REJECT_KEYS)],
        'expect': {'A': ['>INVITE', '<100?', '<404', '>ACK'], 'B': []},
        'check': lambda c, logs, ctx: check_reject(c, logs, ctx, 404),
    },
    # -- 5 ------------------------------------------------------------------
    'cancel': {
        'title': 'no answer: A CANCELs while B rings; 200 for the CANCEL, 487 for the INVITE',
        'roles': [uas(scenario='uas_cancel.xml'), uac(scenario='uac_cancel.xml')],
        'expect': {'A': ['>INVITE', '<100', '<180', '>CANCEL', '<200/CANCEL', '<487', '>ACK'],
                   'B': ['<INVITE', '>180', '<CANCEL', '>200/CANCEL', '>487', '<ACK']},
        'check': check_cancel,
    },
    # -- 6 ------------------------------------------------------------------
    'fork': {
        'title': 'parallel forking: b has two bindings; B1 answers, B2 (ringing) is CANCELled',
        'server_args': ['--fork', 'parallel'],
        'roles': [uas(name='B1', scenario='uas_late_answer.xml'),
                  uas(name='B2', scenario='uas_cancel.xml'),
                  uac()],
        'expect': {'A': CALLER,
                   'B1': ['<INVITE', '>200/INVITE', '<ACK', '<BYE', '>200/BYE'],
                   'B2': ['<INVITE', '>180', '<CANCEL', '>200/CANCEL', '>487', '<ACK']},
        'check': check_fork,
    },
    # -- 7 ------------------------------------------------------------------
    'udp-tcp': {
        'title': 'A on UDP calls B on TCP: double Record-Route, ACK/BYE cross transports '
                 '(B registers over UDP with Contact ;transport=tcp)',
        'roles': [uas(transport='tcp', register_transport='udp'), uac()],
        'expect': {'A': CALLER, 'B': CALLEE},
        'check': lambda c, logs, ctx: check_mixed(c, logs, ctx, 'udp', 'tcp'),
    },
    'tcp-closed': {
        'title': 'A on UDP calls B on TCP; B registered over a TCP connection that has since '
                 'closed: the proxy must connect anew to the Contact (RFC 3261 §18.1.1)',
        'roles': [uas(transport='tcp'), uac()],
        'expect': {'A': CALLER, 'B': CALLEE},
        'check': lambda c, logs, ctx: check_mixed(c, logs, ctx, 'udp', 'tcp'),
    },
    'tcp-udp': {
        'title': 'A on TCP calls B on UDP: double Record-Route, ACK/BYE cross transports',
        'roles': [uas(), uac(transport='tcp')],
        'expect': {'A': CALLER, 'B': CALLEE},
        'check': lambda c, logs, ctx: check_mixed(c, logs, ctx, 'tcp', 'udp'),
    },
    # -- 8 ------------------------------------------------------------------
    'max-forwards': {
        'title': 'Max-Forwards: 0 -> 483 Too Many Hops; nothing reaches B',
        'roles': [uas(scenario='uas_silent.xml', endless=True),
                  uac(scenario='uac_reject.xml', keys=dict(REJECT_KEYS, max_forwards='0'))],
        'expect': {'A': ['>INVITE', '<100?', '<483', '>ACK'], 'B': []},
        'check': lambda c, logs, ctx: check_reject(c, logs, ctx, 483),
    },
    'loop': {
        'title': 'loop: user "loop" is bound to the proxy itself -> 482 Loop Detected',
        'registrations': [{'user': 'loop', 'contact_port': '{proxy_port}'}],
        'roles': [uac(scenario='uac_reject.xml', service='loop', keys=REJECT_KEYS)],
        'expect': {'A': ['>INVITE', '<100?', '<482', '>ACK']},
        'check': lambda c, logs, ctx: check_reject(c, logs, ctx, 482, callee=None),
    },
    'proxy-require': {
        'title': 'Proxy-Require: x-no-such-extension -> 420 Bad Extension; nothing reaches B',
        'roles': [uas(scenario='uas_silent.xml', endless=True),
                  uac(scenario='uac_reject.xml',
                      keys=dict(REJECT_KEYS, extra_header='Proxy-Require: x-no-such-extension'))],
        'expect': {'A': ['>INVITE', '<100?', '<420', '>ACK'], 'B': []},
        'check': lambda c, logs, ctx: check_reject(c, logs, ctx, 420, extra=check_unsupported),
    },
    # -- 9 ------------------------------------------------------------------
    'timeout': {
        'title': 'callee never answers: the proxy answers 408 when Timer B fires (short T1)',
        'needs_option': '--t1',
        'server_args': ['{t1_opt}', '50'],
        'roles': [uas(scenario='uas_silent.xml', endless=True),
                  uac(scenario='uac_reject.xml', keys=REJECT_KEYS)],
        'expect': {'A': ['>INVITE', '<100', '<408', '>ACK'], 'B': ['<INVITE']},
        'check': check_timeout,
    },
    # -- authentication (issue 4) --------------------------------------------
    'auth-invite': {
        'title': 'Cisco 407: INVITE, 407 with a digest challenge, ACK, INVITE with '
                 'credentials, then the call (B registers with 401 then 200)',
        'auth': True,
        'users': AUTH_USERS,
        # SIPp's [authentication] computes MD5 only and gives up on a
        # SHA-256 challenge listed first; test_auth_sha256.py covers both
        'server_args': ['--auth-algorithms', 'MD5'],
        'roles': [uas(password=AUTH_USERS['b']),
                  uac(scenario='uac_auth.xml', password=AUTH_USERS['a'])],
        'expect': {'A': ['>INVITE', '<407', '>ACK', '>INVITE', '<100', '<180', '<200/INVITE',
                         '>ACK', '>BYE', '<200/BYE'],
                   'B': CALLEE},
        'check': check_auth_invite,
    },
    # -- network call forwarding (issue 4; the Cisco 7960 appendix) -------
    'fwd-always': {
        'title': 'forward always: b forwards every call to c; the proxy calls c, b never rings',
        'users': FWD_USERS,
        'setup': [['forward', 'b', 'always', 'sip:c@{P}']],
        'roles': [uas(scenario='uas_silent.xml', endless=True),
                  uas(name='C', user='c'),
                  uac(scenario='uac_fwd.xml')],
        'expect': {'A': CALLER, 'B': [], 'C': CALLEE},
        'check': lambda c, logs, ctx: check_forwarded(c, logs, ctx, 'always'),
    },
    'fwd-busy': {
        'title': 'forward on busy: b answers 486, the proxy ACKs it and calls c; '
                 'A never sees the 486',
        'users': FWD_USERS,
        'setup': [['forward', 'b', 'busy', 'sip:c@{P}']],
        'roles': [uas(scenario='uas_486.xml'),
                  uas(name='C', user='c'),
                  uac(scenario='uac_fwd.xml')],
        'expect': {'A': CALLER, 'B': ['<INVITE', '>486', '<ACK'], 'C': CALLEE},
        'check': lambda c, logs, ctx: check_forwarded(c, logs, ctx, 'busy'),
    },
    'fwd-noanswer': {
        'title': 'forward on no answer: b rings for 2 s, the proxy CANCELs it and calls c',
        'users': FWD_USERS,
        'setup': [['forward', 'b', 'noanswer', 'sip:c@{P}', '--after', '2']],
        'roles': [uas(scenario='uas_cancel.xml'),
                  uas(name='C', user='c'),
                  uac(scenario='uac_fwd.xml')],
        'expect': {'A': ['>INVITE', '<100', '<180', '<180', '<200/INVITE', '>ACK', '>BYE',
                         '<200/BYE'],
                   'B': ['<INVITE', '>180', '<CANCEL', '>200/CANCEL', '>487', '<ACK'],
                   'C': CALLEE},
        'check': lambda c, logs, ctx: check_forwarded(c, logs, ctx, 'noanswer'),
    },
    'fwd-dnd': {
        'title': 'do not disturb: b is on DND; the proxy answers 486 and b never rings',
        'users': FWD_USERS,
        'setup': [['forward', 'b', 'dnd']],
        'roles': [uas(scenario='uas_silent.xml', endless=True),
                  uac(scenario='uac_reject.xml', keys=REJECT_KEYS)],
        'expect': {'A': ['>INVITE', '<100?', '<486', '>ACK'], 'B': []},
        'check': lambda c, logs, ctx: check_reject(c, logs, ctx, 486, callee=None),
    },
    'lost-200': {
        'title': 'a 200 OK lost on the way: B retransmits it, the proxy forwards each copy',
        'roles': [uas(), uac(scenario='uac_lost200.xml')],
        'expect': {'A': CALLER, 'B': CALLEE},
        'check': check_lost200,
    },
}
