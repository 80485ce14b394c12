#!/usr/bin/env python3
"""run_flow.py: run one end-to-end call flow against a live switchboard.

    run_flow.py --server build/switchboard FLOW [--keep] [--verbose]
    run_flow.py --list

What it does, in order, all on 127.0.0.1 with ports chosen free at random:

  1. starts `switchboard --listen udp:127.0.0.1:P --listen tcp:127.0.0.1:P
     --domain 127.0.0.1 [flow options] --log-level debug` and waits until its
     TCP port accepts;
  2. registers each phone that takes calls (UAS role) with one REGISTER
     (scenarios/register.xml) binding sip:USER@127.0.0.1 to the phone's
     port/transport, sent from that same port by a short SIPp run, then
     starts the phone's SIPp on that port;
  3. adds any extra bindings the flow lists (e.g. a user bound to the proxy);
  4. runs the calling phones (UAC roles) one after the other;
  5. waits for the UAS phones to finish (or ends those that never do), stops
     the server, and kills anything still running, also on failure or ^C;
  6. parses every phone's SIPp message log (-trace_msg) with check_flow.py and
     asserts the exact message sequence per phone and the flow's key headers.

Every test stops by itself: each SIPp gets -timeout, and the whole run is
bounded by DEADLINE seconds after which everything is killed.  The run prints
one line per assertion and closes with `N passed, M failed`; exit status is
0 when nothing failed, 1 otherwise, 77 (meson's "skipped") when the server
binary or sipp is missing or the flow needs a server option that is absent.

The working directory (server log, SIPp logs and screens) is kept when the run
fails, or always with --keep; its path is printed.  The `selftest` flow runs a
SIPp caller straight against a SIPp callee, without a server, to prove the
harness itself.
"""

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SCEN = os.path.join(HERE, 'scenarios')
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import check_flow as cf  # noqa: E402
from flows import FLOWS  # noqa: E402

DEADLINE = 28.0          # seconds for the whole run, server start included
SIPP_TIMEOUT = 22        # seconds, each SIPp's own -timeout
LOCAL = '127.0.0.1'

_children = []           # every Popen we started, killed at exit


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


_reserved = set()


def free_port(tcp_too=True, span=1):
    """A port free for UDP (and TCP), not handed out before in this run."""
    for _ in range(200):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((LOCAL, 0))
        port = s.getsockname()[1]
        s.close()
        if port + span > 65535 or any(port + k in _reserved for k in range(span)):
            continue
        ok = True
        for k in range(span):
            for kind in ((socket.SOCK_DGRAM, socket.SOCK_STREAM) if tcp_too
                         else (socket.SOCK_DGRAM,)):
                t = socket.socket(socket.AF_INET, kind)
                try:
                    t.bind((LOCAL, port + k))
                except OSError:
                    ok = False
                finally:
                    t.close()
        if ok:
            _reserved.update(port + k for k in range(span))
            return port
    raise RuntimeError('no free port')


def _child_setup():
    """In the child: its own process group (killed as a whole), and
    SIGKILL when the runner dies, even by SIGKILL (Linux PR_SET_PDEATHSIG)."""
    os.setsid()
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def spawn(argv, log_path, cwd):
    out = open(log_path, 'w')
    p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=cwd,
                         stdin=subprocess.DEVNULL, preexec_fn=_child_setup)
    out.close()
    _children.append(p)
    return p


def wait_for(p, until):
    """Wait for p to exit until the monotonic time `until`; rc or None."""
    while time.monotonic() < until:
        rc = p.poll()
        if rc is not None:
            return rc
        time.sleep(0.02)
    return p.poll()


def stop(p, grace=2.0):
    if p.poll() is None:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        if wait_for(p, time.monotonic() + grace) is None:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()
    return p.returncode


def port_bound(port, tcp):
    """True once something listens on port (we cannot bind it ourselves)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM)
    try:
        s.bind((LOCAL, port))
        return False
    except OSError:
        return True
    finally:
        s.close()


def server_help(server):
    try:
        return subprocess.run([server, '--help'], capture_output=True, text=True,
                              timeout=5).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ''


class Role:
    """One SIPp phone of a flow, as described in flows.py."""

    def __init__(self, spec):
        self.name = spec['name']
        self.scenario = spec['scenario']
        self.kind = spec['kind']                     # 'uas' or 'uac'
        self.transport = spec.get('transport', 'udp')
        self.register = spec.get('register')         # user name or None
        self.keys = dict(spec.get('keys', {}))
        self.service = spec.get('service')           # UAC: the user called
        self.remote = spec.get('remote', 'server')   # 'server' or a role name
        self.endless = spec.get('endless', False)    # UAS ended by the runner
        self.register_from = spec.get('register_from', 'self')  # or 'other'
        self.register_transport = spec.get('register_transport', self.transport)
        self.password = spec.get('password')         # digest password (-au/-ap)
        self.port = None
        self.proc = None
        self.rc = None
        self.msgs = []


def sipp_argv(role, ctx, workdir, remote):
    argv = ['sipp']
    if remote:
        argv.append(remote)
    argv += ['-sf', os.path.join(SCEN, role.scenario),
             '-i', LOCAL, '-p', str(role.port),
             '-t', 't1' if role.transport == 'tcp' else 'u1',
             '-m', '1', '-l', '1', '-nostdin',
             '-cp', str(free_port(tcp_too=False)),
             '-mp', str(free_port(tcp_too=False, span=4)),
             '-trace_msg', '-message_file', os.path.join(workdir, role.name + '.msg'),
             '-trace_err', '-error_file', os.path.join(workdir, role.name + '.err'),
             '-default_behaviors', 'abortunexp',
             '-timeout', '%ds' % SIPP_TIMEOUT, '-timeout_error',
             '-max_retrans', '12']
    if role.service:
        argv += ['-s', role.service]
    if role.password:
        argv += ['-au', role.register or role.name.lower(), '-ap', role.password]
        # SIPp's digest uri is remote_ip:remote_port unless told; RFC 3261
        # §22.4 wants the Request-URI, which names the user called
        if role.service and remote:
            argv += ['-auth_uri', '%s@%s' % (role.service, remote)]
    keys = {'user': role.register or role.name.lower()}
    keys.update({k: v.format(**ctx) for k, v in role.keys.items()})
    for k, v in keys.items():
        argv += ['-key', k, v]
    return argv


def run(flow_name, server, keep, verbose, sbctl=None):
    flow = FLOWS[flow_name]
    c = cf.Checker()
    print('flow %s: %s' % (flow_name, flow['title']))
    if shutil.which('sipp') is None:
        print('SKIP: sipp not installed (Debian package sip-tester)')
        print('0 passed, 0 failed')
        return 77
    needs_server = flow.get('server', True)
    if needs_server and (not server or not os.access(server, os.X_OK)):
        print('SKIP: no switchboard binary (%s)' % server)
        print('0 passed, 0 failed')
        return 77
    if flow.get('setup') and (not sbctl or not os.access(sbctl, os.X_OK)):
        print('SKIP: this flow sets rules with sbctl (--sbctl): %s' % sbctl)
        print('0 passed, 0 failed')
        return 77
    sargs = list(flow.get('server_args', []))
    if needs_server and flow.get('needs_option'):
        opt = flow['needs_option']
        found = [w.strip('[],=') for w in server_help(server).split()
                 if w.strip('[]').startswith(opt)]
        if not found:
            print('SKIP: this flow needs a server option %s... (not in --help)' % opt)
            print('0 passed, 0 failed')
            return 77
        sargs = [a.replace('{t1_opt}', found[0].split('=')[0]) for a in sargs]

    workdir = tempfile.mkdtemp(prefix='flow-%s-' % flow_name)
    start = time.monotonic()
    until = start + DEADLINE
    roles = [Role(s) for s in flow['roles']]
    ctx = {'local': LOCAL}
    sp = free_port() if needs_server else None
    ctx['P'] = '%s:%d' % (LOCAL, sp) if sp else ''
    ctx['proxy_port'] = str(sp or '')
    for r in roles:
        r.port = free_port()
        ctx[r.name + '_port'] = str(r.port)
        ctx[r.name] = '%s:%d' % (LOCAL, r.port)
    srv = None
    try:
        # 1. the server
        if needs_server:
            argv = [server, '--listen', 'udp:%s:%d' % (LOCAL, sp),
                    '--listen', 'tcp:%s:%d' % (LOCAL, sp),
                    '--domain', LOCAL,
                    '--store', os.path.join(workdir, 'switchboard.db')]
            # the admin API only for flows that set rules through sbctl
            api_port = free_port() if flow.get('setup') else None
            token = os.path.join(workdir, 'api.token')
            argv += (['--api', '%s:%d' % (LOCAL, api_port), '--api-token-file', token]
                     if api_port else ['--api', 'none'])
            # flows without 'auth' run as before authentication existed;
            # 'users' are created at start (--user NAME:PASSWORD)
            if not flow.get('auth'):
                argv += ['--auth-methods', 'none']
            for name, pw in flow.get('users', {}).items():
                argv += ['--user', '%s:%s' % (name, pw)]
            argv += [a.format(**ctx) for a in sargs] + ['--log-level', 'debug']
            print('  server: %s' % ' '.join(argv))
            srv = spawn(argv, os.path.join(workdir, 'server.log'), workdir)
            up = False
            while time.monotonic() < start + 5 and srv.poll() is None:
                try:
                    socket.create_connection((LOCAL, sp), timeout=0.2).close()
                    up = True
                    break
                except OSError:
                    time.sleep(0.05)
            if not c.ok(up, 'server listening on %s' % ctx['P'],
                        'exit status %s' % srv.poll()):
                return finish(c, workdir, roles, keep=True, srv_log=True)

        # the operator's settings for the flow (forwarding rules), through
        # sbctl and the admin API, as an operator sets them
        for cmd in flow.get('setup', []):
            argv = [sbctl, '--server', '%s:%d' % (LOCAL, api_port), '--token-file', token] + \
                   [a.format(**ctx) for a in cmd]
            r = subprocess.run(argv, capture_output=True, text=True, timeout=15)
            if not c.ok(r.returncode == 0, 'sbctl %s' % ' '.join(argv[5:]),
                        'exit %d: %s' % (r.returncode, (r.stderr or r.stdout).strip())):
                return finish(c, workdir, roles, keep=True, srv_log=True)

        def remote_of(r):
            if r.remote == 'server':
                return ctx['P']
            return ctx[r.remote]

        # 2. the phones that take calls, each registered first.  A phone
        # registers from its own port (the REGISTER is sent by a short SIPp
        # run bound to that port, which exits before the phone's SIPp binds
        # it), unless the role says register_from='other'.
        for r in roles:
            if r.kind != 'uas':
                continue
            if r.register and needs_server:
                reg = Role({'name': r.name + '-register',
                            'scenario': 'register_auth.xml' if r.password else 'register.xml',
                            'kind': 'uac', 'register': r.register, 'password': r.password,
                            'transport': r.register_transport,
                            'keys': {'contact_port': str(r.port),
                                     'contact_transport': r.transport}})
                reg.port = r.port if r.register_from == 'self' else free_port()
                p = spawn(sipp_argv(reg, ctx, workdir, ctx['P']),
                          os.path.join(workdir, reg.name + '.out'), workdir)
                rc = wait_for(p, min(until, time.monotonic() + 6))
                if not c.ok(rc == 0, '%s registers as %s from %s (REGISTER -> 200)'
                            % (r.name, r.register, 'its own port' if r.register_from == 'self'
                               else 'another port'),
                            'sipp exit %s; see %s.msg' % (rc, reg.name)):
                    stop(p)
                # the phone can bind the port once the register run let go
                t = time.monotonic() + 3
                while time.monotonic() < t and port_bound(r.port, r.register_transport == 'tcp'):
                    time.sleep(0.02)
            r.proc = spawn(sipp_argv(r, ctx, workdir, None),
                           os.path.join(workdir, r.name + '.out'), workdir)
            t = time.monotonic() + 3
            while time.monotonic() < t and not port_bound(r.port, r.transport == 'tcp'):
                time.sleep(0.02)
        for extra in flow.get('registrations', []):
            reg = Role({'name': 'reg-' + extra['user'], 'scenario': 'register.xml',
                        'kind': 'uac', 'register': extra['user'],
                        'keys': {'contact_port': extra['contact_port'].format(**ctx),
                                 'contact_transport': extra.get('transport', 'udp')}})
            reg.port = free_port()
            p = spawn(sipp_argv(reg, ctx, workdir, ctx['P']),
                      os.path.join(workdir, reg.name + '.out'), workdir)
            rc = wait_for(p, min(until, time.monotonic() + 6))
            if not c.ok(rc == 0, 'registration of %s (REGISTER -> 200)' % extra['user'],
                        'sipp exit %s' % rc):
                stop(p)
        # 4. the callers, one after the other
        for r in roles:
            if r.kind != 'uac':
                continue
            r.proc = spawn(sipp_argv(r, ctx, workdir, remote_of(r)),
                           os.path.join(workdir, r.name + '.out'), workdir)
            r.rc = wait_for(r.proc, until)
            if r.rc is None:
                stop(r.proc)
        # 5. the callees finish their scenario (or are ended)
        callers_done = time.monotonic()
        for r in roles:
            if r.kind != 'uas':
                continue
            if r.endless:
                wait_for(r.proc, min(until, time.monotonic() + flow.get('linger', 1.0)))
                r.rc = r.proc.poll()
                stop(r.proc)
            else:
                # every UAS scenario ends at most ~1.5 s after its last
                # message; a phone still waiting 4 s after the callers are
                # done waits for something that will not come.
                r.rc = wait_for(r.proc, min(until, callers_done + 4.0))
                if r.rc is None:
                    stop(r.proc)
        for r in roles:
            if r.endless:
                continue
            c.ok(r.rc == 0, '%s: SIPp scenario %s completed' % (r.name, r.scenario),
                 'sipp exit %s (None: killed at the deadline); see %s.out / %s.err'
                 % (r.rc, r.name, r.name))
        if srv is not None:
            c.ok(srv.poll() is None, 'server still running after the flow',
                 'server exited with %s' % srv.poll())
            stop(srv)
            log = open(os.path.join(workdir, 'server.log'), errors='replace').read()
            bad = [w for w in ('ERROR: AddressSanitizer', 'ERROR: LeakSanitizer',
                               'runtime error:') if w in log]
            c.ok(not bad, 'no sanitizer report in the server log (leaks checked at exit)',
                 'server.log has: %s' % ', '.join(bad))
        # 6. what each phone saw
        for r in roles:
            r.msgs = cf.parse_log(os.path.join(workdir, r.name + '.msg'))
            if verbose:
                print('  %s saw:\n%s' % (r.name, cf.format_sequence(r.msgs)))
        logs = {r.name: r.msgs for r in roles}
        for r in roles:
            want = flow['expect'].get(r.name)
            if want is not None:
                c.sequence(r.name, r.msgs, want)
        check = flow.get('check')
        if check:
            try:
                check(c, logs, ctx)
            except Exception as e:  # a missing message must not hide the rest
                import traceback
                c.ok(False, 'header checks ran to the end',
                     '%s: %s\n%s' % (type(e).__name__, e, traceback.format_exc()))
        return finish(c, workdir, roles, keep)
    finally:
        kill_all()


def finish(c, workdir, roles, keep, srv_log=False):
    good = c.failed == 0
    if srv_log:
        try:
            print(open(os.path.join(workdir, 'server.log'), errors='replace').read()[-3000:])
        except OSError:
            pass
    if good and not keep:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print('  logs kept in %s (server.log, ROLE.msg = SIPp messages, ROLE.out = SIPp screen)'
              % workdir)
        if not good:
            for r in roles:
                print('  %s saw:\n%s' % (r.name, cf.format_sequence(r.msgs)))
    c.summary()
    return 0 if good else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('flow', nargs='?')
    ap.add_argument('--server', help='path to the switchboard binary')
    ap.add_argument('--sbctl', help='path to sbctl (flows with a "setup")')
    ap.add_argument('--keep', action='store_true', help='keep the logs even on success')
    ap.add_argument('--verbose', '-v', action='store_true', help='print each phone\'s messages')
    ap.add_argument('--list', action='store_true')
    a = ap.parse_args()
    if a.list or not a.flow:
        for name, f in FLOWS.items():
            print('%-20s %s' % (name, f['title']))
        return 0
    if a.flow not in FLOWS:
        print('unknown flow %s; --list shows them' % a.flow)
        return 2
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        return run(a.flow, a.server and os.path.abspath(a.server), a.keep, a.verbose,
                   a.sbctl and os.path.abspath(a.sbctl))
    finally:
        kill_all()


if __name__ == '__main__':
    sys.exit(main())
