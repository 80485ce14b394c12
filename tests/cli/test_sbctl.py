#!/usr/bin/env python3
"""sbctl as an operator meets it, against the real server: every command
with its exact output, and its errors (server down, wrong token, bad
kind, unknown user, bad usage), a registration made by a REGISTER sent
over UDP (digest authentication included), and the users still there after
a restart (the store); and, against a fake server, how sbctl takes an
answer it does not expect, a server that never answers, and a list in
pages.

Usage: test_sbctl.py SWITCHBOARD SBCTL

The server runs as
  switchboard --listen udp:127.0.0.1:PORT --domain 127.0.0.1 --store TMP/db
              --api 127.0.0.1:APIPORT --api-token-file TMP/token
on free ports.  Times that move (created, expires, uptime) are replaced by
placeholders before outputs are compared."""

import hashlib
import http.client
import http.server
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

SERVER, SBCTL = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
TMP = tempfile.mkdtemp(prefix="sb-sbctl-")
failures = []
passes = 0


def free_port(kind):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


SIP_PORT = free_port(socket.SOCK_DGRAM)
API_PORT = free_port(socket.SOCK_STREAM)
API = "127.0.0.1:%d" % API_PORT
TOKEN_FILE = os.path.join(TMP, "token")
DB = os.path.join(TMP, "db")

# Leak reports of a sanitizer build would change exit statuses.
ENV = dict(os.environ)
ENV.pop("SWITCHBOARD_TOKEN", None)
ENV.setdefault("ASAN_OPTIONS", "detect_leaks=1")

TIME_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def normalise(text):
    text = TIME_RE.sub("TIME", text)
    text = re.sub(r"\b(359\d|3600)s\b", "3600s", text)   # expires in
    text = re.sub(r"(uptime\s+)\S+", r"\1UP", text)
    text = text.replace(":%d" % SIP_PORT, ":SIPPORT")
    text = text.replace(":%d" % API_PORT, ":APIPORT")
    return text


def sbctl(*args, stdin=None, token=True, server=True, env=None):
    cmd = [SBCTL]
    if server:
        cmd += ["--server", API]
    if token:
        cmd += ["--token-file", TOKEN_FILE]
    cmd += list(args)
    p = subprocess.run(cmd, input=stdin, capture_output=True, text=True,
                       env=env or ENV, cwd=TMP, timeout=30)
    return p.returncode, p.stdout, p.stderr


def check(name, got, status, out=None, err=None):
    """got is (status, stdout, stderr); out/err exact after normalise()
    (None: not checked; err "" means nothing on stderr)."""
    global passes
    rc, o, e = got
    o, e = normalise(o), normalise(e)
    problems = []
    if rc != status:
        problems.append("status %d, wanted %d" % (rc, status))
    if out is not None and o != out:
        problems.append("stdout:\n%s\nwanted:\n%s" % (o, out))
    if err is not None and e != err:
        problems.append("stderr:\n%s\nwanted:\n%s" % (e, err))
    if problems:
        failures.append(name)
        print("FAIL: %s\n  %s" % (name, "\n  ".join(problems)), file=sys.stderr)
    else:
        passes += 1


def run(name, args, status, out=None, err=None, **kw):
    check(name, sbctl(*args, **kw), status, out, err)


# ------------------------------------------------------------ the server

server = None


def start_server():
    global server
    log = open(os.path.join(TMP, "server.log"), "a")
    server = subprocess.Popen(
        [SERVER, "--listen", "udp:127.0.0.1:%d" % SIP_PORT, "--domain", "127.0.0.1",
         "--store", DB, "--api", API, "--api-token-file", TOKEN_FILE],
        stdout=log, stderr=log, env=ENV)
    deadline = time.time() + 10
    while time.time() < deadline:
        if server.poll() is not None:
            sys.exit("the server exited at start (%s):\n%s" % (
                server.returncode, open(os.path.join(TMP, "server.log")).read()))
        try:
            socket.create_connection(("127.0.0.1", API_PORT), timeout=0.2).close()
            if os.path.exists(TOKEN_FILE):
                return
        except OSError:
            pass
        time.sleep(0.05)
    sys.exit("the server's API did not come up")


def stop_server():
    global server
    if server and server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    server = None


# ------------------------------------------------------------ a SIP phone

def sip_request(sock, method, user, cseq, call_id, extra=""):
    local = sock.getsockname()
    uri = "sip:127.0.0.1:%d" % SIP_PORT
    branch = "z9hG4bK%08x" % random.getrandbits(32)
    return (
        "%s %s SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=%s;rport\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:%s@127.0.0.1>;tag=t%d\r\n"
        "To: <sip:%s@127.0.0.1>\r\n"
        "Call-ID: %s\r\n"
        "CSeq: %d %s\r\n"
        "Contact: <sip:%s@127.0.0.1:%d>\r\n"
        "Expires: 3600\r\n"
        "%s"
        "Content-Length: 0\r\n\r\n" % (
            method, uri, local[1], branch, user, cseq, user, call_id, cseq, method,
            user, local[1], extra)).encode(), uri


def parse_challenge(value):
    """The parameters of a Digest challenge as a dict."""
    return {k: a or b for k, a, b in re.findall(r'(\w+)=(?:"([^"]*)"|([^,\s]+))', value)}


def register(user, password):
    """REGISTER user from a UDP socket, answering a digest challenge.
    Returns (final status code, the source port)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    call_id = "reg-%08x@127.0.0.1" % random.getrandbits(32)
    msg, uri = sip_request(sock, "REGISTER", user, 1, call_id)
    sock.sendto(msg, ("127.0.0.1", SIP_PORT))
    resp = sock.recv(65535).decode(errors="replace")
    code = int(resp.split()[1])
    if code == 401:
        # RFC 7616: answer the MD5 challenge (the server offers SHA-256 first)
        chals = re.findall(r"^WWW-Authenticate:\s*Digest\s+(.*)$", resp, re.M | re.I)
        chosen = None
        for c in chals:
            p = parse_challenge(c)
            if p.get("algorithm", "MD5").upper() == "MD5":
                chosen = p
        assert chosen, "no MD5 challenge in:\n" + resp
        realm, nonce = chosen["realm"], chosen["nonce"]
        cnonce, nc = "%08x" % random.getrandbits(32), "00000001"
        h = lambda s: hashlib.md5(s.encode()).hexdigest()
        ha1 = h("%s:%s:%s" % (user, realm, password))
        ha2 = h("REGISTER:%s" % uri)
        response = h("%s:%s:%s:%s:auth:%s" % (ha1, nonce, nc, cnonce, ha2))
        auth = ('Authorization: Digest username="%s", realm="%s", nonce="%s", uri="%s", '
                'response="%s", algorithm=MD5, qop=auth, nc=%s, cnonce="%s"%s\r\n' % (
                    user, realm, nonce, uri, response, nc, cnonce,
                    ', opaque="%s"' % chosen["opaque"] if "opaque" in chosen else ""))
        msg, uri = sip_request(sock, "REGISTER", user, 2, call_id, auth)
        sock.sendto(msg, ("127.0.0.1", SIP_PORT))
        resp = sock.recv(65535).decode(errors="replace")
        code = int(resp.split()[1])
    port = sock.getsockname()[1]
    sock.close()
    return code, port


# ------------------------------------------------------------ a fake API

FAKE_TOKEN = "0123456789abcdef0123"

class Fake:
    """An HTTP server on a free port answering from a table:
    answers[(method, path)] = (status, body bytes); requests lists the
    (method, path) it was asked.  With silent, it reads requests and never
    answers."""

    def __init__(self, silent=False):
        self.answers, self.requests, self.silent = {}, [], silent
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def handle_one_request(self):
                if fake.silent:
                    self.rfile.readline()
                    fake.requests.append(("?", "?"))
                    time.sleep(15)
                    return
                super().handle_one_request()

            def answer(self):
                n = int(self.headers.get("Content-Length") or 0)
                if n:
                    self.rfile.read(n)
                fake.requests.append((self.command, self.path))
                status, body = fake.answers.get((self.command, self.path), (404, b""))
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = answer

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.addr = "127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def api_call(conn, method, path, body=None):
    """One request on a kept-alive http.client connection: (status, JSON)."""
    token = open(TOKEN_FILE).read().strip()
    hdrs = {"Authorization": "Bearer " + token}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        hdrs["Content-Type"] = "application/json"
    conn.request(method, path, body=data, headers=hdrs)
    r = conn.getresponse()
    raw = r.read()
    return r.status, json.loads(raw) if raw else None


# ------------------------------------------------------------ the tests

DOWN = ("sbctl: cannot reach the switchboard API at 127.0.0.1:APIPORT: Connection refused "
        "(is the server running?)\n")

try:
    # usage, before any server
    run("no command", [], 2, out="", token=False, server=False)
    rc, o, e = sbctl("--help", token=False, server=False)
    check("--help", (rc, "", e), 0, err="")
    assert o.startswith("usage: sbctl [--server HOST:PORT]"), o
    assert "forward NAME KIND --delete" in o and "reg delete NAME" in o, o
    rc, o2, e = sbctl("help", token=False, server=False)
    check("help", (rc, "", e), 0, err="")
    assert o2 == o
    run("unknown command", ["frobnicate"], 2, out="",
        err="sbctl: unknown command 'frobnicate' (see sbctl --help)\n")
    run("unknown option", ["--frobnicate", "stats"], 2, out="",
        err="sbctl: unknown option '--frobnicate' (see sbctl --help)\n")
    run("user add without a name", ["user", "add"], 2, out="",
        err="usage: sbctl user add NAME [--password P | --password-file F]\n")
    run("reg with a bad verb", ["reg", "drop", "x"], 2, out="",
        err="usage: sbctl reg list [NAME] | reg delete NAME\n")
    run("stats with an argument", ["stats", "now"], 2, out="", err="usage: sbctl stats\n")
    run("bad kind", ["forward", "alice", "sometimes", "sip:x@127.0.0.1"], 2, out="",
        err="sbctl: unknown forwarding kind 'sometimes': use always, busy, noanswer, "
            "unavailable or dnd\n")
    run("noanswer without --after", ["forward", "alice", "noanswer", "sip:x@127.0.0.1"], 2,
        out="", err="sbctl: forward NAME noanswer TARGET needs --after SECONDS (how long it "
                    "rings first)\n")
    run("--after on busy", ["forward", "alice", "busy", "sip:x@127.0.0.1", "--after", "5"], 2,
        out="", err="sbctl: --after applies to noanswer only\n")
    run("--after out of range", ["forward", "alice", "noanswer", "sip:x@127.0.0.1",
                                 "--after", "0"], 2,
        out="", err="sbctl: --after wants 1 to 3600 seconds, not '0'\n")
    run("--password where it means nothing", ["user", "show", "alice", "--password", "x"], 2,
        out="", err="usage: sbctl user show NAME\n")
    run("no token", ["stats"], 2, out="", token=False,
        err="sbctl: no API token: give --token or --token-file, set SWITCHBOARD_TOKEN, or "
            "name a token_file in the [api] section of the config (-c); the server's "
            "default, switchboard.db.token, does not exist here\n")
    run("an empty NAME", ["user", "show", ""], 2, out="",
        err="sbctl: NAME must not be empty\n")
    run("an empty NAME (reg list)", ["reg", "list", ""], 2, out="",
        err="sbctl: NAME must not be empty\n")
    run("an empty NAME (forward)", ["forward", "", "dnd"], 2, out="",
        err="sbctl: NAME must not be empty\n")

    # answers sbctl does not expect: exit 1, whatever the status class
    fake = Fake()
    fake.answers[("GET", "/api/v1/stats")] = (200, b"hello, not JSON")
    fake.answers[("DELETE", "/api/v1/users/bob")] = (200, b"{}")
    fake.answers[("GET", "/api/v1/users/bob")] = (200, b"[1, 2]")
    fake.answers[("PUT", "/api/v1/users/bob/password")] = (201, b"")
    for name, args, why in [
            ("200 not JSON", ["stats"], "status 200 without a JSON object"),
            ("200 for a DELETE", ["user", "delete", "bob"], "status 200, wanted 204"),
            ("JSON not an object", ["user", "show", "bob"], "status 200 without a JSON object"),
            ("201 for a PUT", ["user", "passwd", "bob", "--password", "x"],
             "status 201, wanted 204")]:
        run("unexpected answer: " + name,
            ["--server", fake.addr, "--token", FAKE_TOKEN] + args, 1, server=False, token=False,
            out="", err="sbctl: unexpected answer from the server (%s)\n" % why)
    # a list in pages: "next" followed to the end, with ?user=
    page1 = {"registrations": [{"aor": "sip:a@x", "contact": "sip:a@1", "expires_in": 60,
                                "q": 1, "source": "udp 1.2.3.4:5"}], "next": "sip%3Aa%40x"}
    page2 = {"registrations": [{"aor": "sip:a@x", "contact": "sip:a@2", "expires_in": 60,
                                "q": 0.5, "source": "udp 1.2.3.4:6"}], "next": None}
    fake.answers[("GET", "/api/v1/registrations?user=a")] = (200, json.dumps(page1).encode())
    fake.answers[("GET", "/api/v1/registrations?user=a&after=sip%3Aa%40x")] = (
        200, json.dumps(page2).encode())
    run("reg list follows next", ["--server", fake.addr, "--token", FAKE_TOKEN, "reg", "list",
                                  "a"], 0, server=False, token=False, err="",
        out=("AOR      CONTACT  EXPIRES  Q    SOURCE\n"
             "sip:a@x  sip:a@1  60s      1    udp 1.2.3.4:5\n"
             "sip:a@x  sip:a@2  60s      0.5  udp 1.2.3.4:6\n"))
    rc, o, e = sbctl("--server", fake.addr, "--token", FAKE_TOKEN, "--json", "reg", "list", "a",
                     server=False, token=False)
    check("--json reg list follows next", (rc, "", e), 0, err="")
    assert json.loads(o) == {"registrations": page1["registrations"] + page2["registrations"],
                             "next": None}, o
    # a cursor that would loop, or could not go in a URL
    page1["next"] = "a b"
    fake.answers[("GET", "/api/v1/registrations?user=a")] = (200, json.dumps(page1).encode())
    run("reg list, a bad next", ["--server", fake.addr, "--token", FAKE_TOKEN, "reg", "list",
                                 "a"], 1, server=False, token=False, out="",
        err='sbctl: unexpected answer from the server (a bad "next")\n')
    fake.close()

    # a server that takes the request and never answers: not "unreachable"
    fake = Fake(silent=True)
    t0 = time.time()
    rc, o, e = sbctl("--server", fake.addr, "--token", FAKE_TOKEN, "user", "delete", "bob",
                     server=False, token=False)
    check("sent, no answer", (rc, o, e.replace(fake.addr, "FAKE")), 1, out="",
          err="sbctl: the request was sent to FAKE but no answer came in 10 s: it may or may "
              "not have been applied\n")
    assert 9 < time.time() - t0 < 20, time.time() - t0
    fake.close()
    run("server down", ["--token", "0123456789abcdef0123", "stats"], 1, out="", err=DOWN,
        token=False)

    start_server()

    run("wrong token", ["--token", "wrong-token-wrong-token", "user", "list"], 1, out="",
        err="sbctl: the server refused the token (401)\n", token=False)
    run("empty list", ["user", "list"], 0, out="no users\n", err="")

    # users
    run("user add", ["user", "add", "alice", "--password", "alice-pw"], 0,
        out="user alice added\n", err="")
    pwfile = os.path.join(TMP, "bob.pw")
    with open(pwfile, "w") as f:
        f.write("bob-pw\n")
    run("user add --password-file", ["user", "add", "bob", "--password-file", pwfile], 0,
        out="user bob added\n", err="")
    run("user add from stdin", ["user", "add", "carol"], 0, out="user carol added\n", err="",
        stdin="carol-pw\n")
    run("user add, empty password", ["user", "add", "dave"], 2, out="",
        err="sbctl: the password must not be empty\n", stdin="\n")
    run("user add twice", ["user", "add", "alice", "--password", "x"], 1, out="",
        err='sbctl: the user "alice" already exists\n')
    run("user add, bad name", ["user", "add", "a@b", "--password", "x"], 1, out="",
        err="sbctl: the field \"name\" must not hold control characters, ':', '@' or "
            "spaces\n")
    run("user list", ["user", "list"], 0, err="", out=(
        "NAME   CREATED               FORWARDING\n"
        "alice  TIME  -\n"
        "bob    TIME  -\n"
        "carol  TIME  -\n"))
    run("user show", ["user", "show", "alice"], 0, err="", out=(
        "name        alice\n"
        "created     TIME\n"
        "forwarding  none\n"))
    run("unknown user", ["user", "show", "nobody"], 1, out="",
        err='sbctl: there is no user "nobody"\n')
    run("user passwd", ["user", "passwd", "carol", "--password", "carol-pw2"], 0,
        out="password of carol changed\n", err="")
    run("user passwd, unknown user", ["user", "passwd", "nobody", "--password", "x"], 1,
        out="", err='sbctl: there is no user "nobody"\n')

    # "." and "..": refused as names, and never a step along the path
    run("user add ..", ["user", "add", "..", "--password", "x"], 1, out="",
        err='sbctl: the field "name" must not be "." or ".."\n')
    run("user add .", ["user", "add", ".", "--password", "x"], 1, out="",
        err='sbctl: the field "name" must not be "." or ".."\n')
    run("user show ..", ["user", "show", ".."], 1, out="",
        err='sbctl: there is no user ".."\n')
    run("user show .", ["user", "show", "."], 1, out="",
        err='sbctl: there is no user "."\n')
    run("user delete ..", ["user", "delete", ".."], 1, out="",
        err='sbctl: there is no user ".."\n')
    run("reg delete .", ["reg", "delete", "."], 1, out="",
        err='sbctl: there are no registrations for "."\n')

    # a password file: the first line, its line end not counted
    pw128 = os.path.join(TMP, "pw128")
    with open(pw128, "w") as f:
        f.write("p" * 128 + "\r\n")
    run("--password-file, 128 bytes and CRLF", ["user", "passwd", "carol", "--password-file",
                                                pw128], 0, out="password of carol changed\n",
        err="")
    with open(pw128, "w") as f:
        f.write("p" * 128 + "\n" + "more lines\n")
    run("--password-file, 128 bytes, more lines", ["user", "passwd", "carol",
                                                   "--password-file", pw128], 0,
        out="password of carol changed\n", err="")
    with open(pw128, "w") as f:
        f.write("p" * 129 + "\n")
    run("--password-file, 129 bytes", ["user", "passwd", "carol", "--password-file", pw128], 2,
        out="", err="sbctl: the password in %s is longer than 128 bytes\n" % pw128)
    run("user passwd back", ["user", "passwd", "carol", "--password", "carol-pw2"], 0,
        out="password of carol changed\n", err="")

    # forwarding
    run("forward always", ["forward", "alice", "always", "sip:voicemail@127.0.0.1"], 0,
        out="alice: always -> sip:voicemail@127.0.0.1\n", err="")
    run("forward noanswer", ["forward", "alice", "noanswer", "sip:bob@127.0.0.1",
                             "--after", "20"], 0,
        out="alice: noanswer -> sip:bob@127.0.0.1 after 20 s\n", err="")
    run("forward dnd", ["forward", "bob", "dnd"], 0, out="bob: dnd on\n", err="")
    run("forward bad target", ["forward", "alice", "busy", "mailto:alice@example.com"], 1,
        out="", err='sbctl: the field "target" must be a sip: or sips: URI\n')
    run("forward unknown user", ["forward", "nobody", "busy", "sip:x@127.0.0.1"], 1, out="",
        err='sbctl: there is no user "nobody"\n')
    run("forward show", ["forward", "alice"], 0, err="", out=(
        "KIND      TARGET\n"
        "always    sip:voicemail@127.0.0.1\n"
        "noanswer  sip:bob@127.0.0.1 after 20 s\n"))
    run("forward list", ["forward", "list", "bob"], 0, err="", out=(
        "KIND  TARGET\n"
        "dnd   on\n"))
    run("forward none", ["forward", "carol"], 0, err="",
        out="carol has no forwarding rules\n")
    run("user list with rules", ["user", "list"], 0, err="", out=(
        "NAME   CREATED               FORWARDING\n"
        "alice  TIME  always sip:voicemail@127.0.0.1; noanswer sip:bob@127.0.0.1 after 20 s\n"
        "bob    TIME  dnd on\n"
        "carol  TIME  -\n"))
    run("user show with rules", ["user", "show", "alice"], 0, err="", out=(
        "name      alice\n"
        "created   TIME\n"
        "always    sip:voicemail@127.0.0.1\n"
        "noanswer  sip:bob@127.0.0.1 after 20 s\n"))
    run("forward delete", ["forward", "alice", "always", "--delete"], 0,
        out="alice: always rule deleted\n", err="")
    run("forward delete again", ["forward", "alice", "always", "--delete"], 1, out="",
        err='sbctl: the user "alice" has no always rule\n')

    # --json
    rc, o, e = sbctl("--json", "user", "show", "alice")
    check("--json user show", (rc, "", e), 0, err="")
    j = json.loads(o)
    assert j["name"] == "alice" and j["forward"]["noanswer"] == {
        "target": "sip:bob@127.0.0.1", "after": 20}, j
    assert o.startswith('{\n  "name": "alice",\n'), o
    rc, o, e = sbctl("user", "list", "--json")
    check("--json user list", (rc, "", e), 0, err="")
    assert [u["name"] for u in json.loads(o)["users"]] == ["alice", "bob", "carol"], o

    # the token from the environment, and from a config file
    token = open(TOKEN_FILE).read().strip()
    env = dict(ENV, SWITCHBOARD_TOKEN=token)
    run("token from SWITCHBOARD_TOKEN", ["user", "show", "carol"], 0, token=False, env=env,
        err="")
    os.makedirs(os.path.join(TMP, "etc"), exist_ok=True)
    with open(os.path.join(TMP, "etc", "switchboard.ini"), "w") as f:
        f.write("[server]\nlog_level = info\n\n[api]\nlisten = 127.0.0.1:%d\n"
                "token_file = %s\n" % (API_PORT, TOKEN_FILE))
    run("server and token from etc/switchboard.ini", ["user", "show", "carol"], 0,
        token=False, server=False, err="")
    with open(os.path.join(TMP, "other.ini"), "w") as f:
        f.write("[api]\nlisten = 0.0.0.0:%d\ntoken = wrong-token-wrong-token\n" % API_PORT)
    run("-c CONFIG (a wildcard listen is reached on loopback)",
        ["-c", os.path.join(TMP, "other.ini"), "stats"], 1, token=False, server=False,
        out="", err="sbctl: the server refused the token (401)\n")
    run("-c a missing file", ["-c", os.path.join(TMP, "none.ini"), "stats"], 2,
        token=False, server=False, out="",
        err="sbctl: cannot read the config file %s: No such file or directory\n"
            % os.path.join(TMP, "none.ini"))
    os.unlink(os.path.join(TMP, "etc", "switchboard.ini"))
    # no token_file: the server's default, [store] path + ".token"; a relative
    # path from the current directory (TMP), not the config file's
    os.makedirs(os.path.join(TMP, "conf"), exist_ok=True)
    with open(os.path.join(TMP, "db2.token"), "w") as f:
        f.write(token + "\n")
    with open(os.path.join(TMP, "conf", "store.ini"), "w") as f:
        f.write("[store]\npath = db2\n\n[api]\nlisten = 127.0.0.1:%d\n" % API_PORT)
    run("token beside [store] path", ["-c", "conf/store.ini", "user", "show", "carol"], 0,
        token=False, server=False, err="")
    with open(os.path.join(TMP, "conf", "nostore.ini"), "w") as f:
        f.write("[api]\nlisten = 127.0.0.1:%d\n" % API_PORT)
    run("no [store] path: switchboard.db.token, missing", ["-c", "conf/nostore.ini", "stats"],
        2, token=False, server=False, out="",
        err="sbctl: no API token: give --token or --token-file, set SWITCHBOARD_TOKEN, or "
            "name a token_file in the [api] section of the config (-c); the server's "
            "default, switchboard.db.token, does not exist here\n")
    with open(os.path.join(TMP, "switchboard.db.token"), "w") as f:
        f.write(token + "\n")
    run("no [store] path: switchboard.db.token", ["-c", "conf/nostore.ini", "user", "show",
                                                  "carol"], 0, token=False, server=False,
        err="")
    os.unlink(os.path.join(TMP, "switchboard.db.token"))
    with open(os.path.join(TMP, "conf", "tok"), "w") as f:
        f.write(token + "\n")
    with open(os.path.join(TMP, "conf", "rel.ini"), "w") as f:
        f.write("[api]\nlisten = 127.0.0.1:%d\ntoken_file = tok\n" % API_PORT)
    run("a relative token_file is from the current directory", ["-c", "conf/rel.ini", "stats"],
        2, token=False, server=False, out="",
        err="sbctl: cannot read the token file tok (token_file in the config): No such file "
            "or directory\n")

    # registrations
    run("reg list, none", ["reg", "list"], 0, out="no registrations\n", err="")
    code, phone = register("alice", "alice-pw")
    if code != 200:
        failures.append("REGISTER")
        print("FAIL: REGISTER got %d" % code, file=sys.stderr)
    code_bad, _ = register("bob", "wrong-pw")
    assert code_bad in (401, 403), code_bad
    contact = "sip:alice@127.0.0.1:%d" % phone
    table = ("AOR                  " + "CONTACT".ljust(len(contact)) + "  EXPIRES  Q  SOURCE\n"
             "sip:alice@127.0.0.1  " + contact + "  3600s    1  udp 127.0.0.1:%d\n" % phone)
    run("reg list", ["reg", "list"], 0, err="", out=table)
    run("reg list NAME", ["reg", "list", "alice"], 0, err="", out=table)
    run("reg list NAME, none", ["reg", "list", "bob"], 0, out="no registrations for bob\n",
        err="")
    rc, o, e = sbctl("--json", "reg", "list")
    check("--json reg list", (rc, "", e), 0, err="")
    r = json.loads(o)["registrations"][0]
    assert r["aor"] == "sip:alice@127.0.0.1" and r["cseq"] == 2 and r["q"] == 1, r
    assert r["source"] == "udp 127.0.0.1:%d" % phone, r
    rc, o, e = sbctl("stats")
    check("stats", (rc, "", e), 0, err="")
    o = normalise(o)
    for line in ["uptime             UP\n", "users              3\n",
                 "registrations      1 bindings of 1 AORs\n", "sip requests       4\n",
                 "sip responses out  1xx 0, 2xx 1, 3xx 0, 4xx 3, 5xx 0, 6xx 0\n",
                 "auth               ok 1, challenged 3, failed 1, stale 0, replayed 0, "
                 "forbidden 0, locked out 0\n"]:
        if line not in o:
            failures.append("stats")
            print("FAIL: stats: no %r in:\n%s" % (line, o), file=sys.stderr)
    rc, o, e = sbctl("stats", "--json")
    check("--json stats", (rc, "", e), 0, err="")
    assert set(json.loads(o)) == {"sip", "registrations", "users", "auth", "store",
                                  "uptime_s"}, o
    run("reg delete", ["reg", "delete", "alice"], 0,
        out="removed 1 registration of alice\n", err="")
    run("reg delete again", ["reg", "delete", "alice"], 1, out="",
        err='sbctl: there are no registrations for "alice"\n')
    run("reg list, empty again", ["reg", "list"], 0, out="no registrations\n", err="")

    # deleting a user
    run("user delete", ["user", "delete", "carol"], 0, out="user carol deleted\n", err="")
    run("user delete again", ["user", "delete", "carol"], 1, out="",
        err='sbctl: there is no user "carol"\n')

    # a restart keeps users and rules (the store)
    stop_server()
    run("server down after a stop", ["user", "list"], 1, out="", err=DOWN)
    start_server()
    run("user list after a restart", ["user", "list"], 0, err="", out=(
        "NAME   CREATED               FORWARDING\n"
        "alice  TIME  noanswer sip:bob@127.0.0.1 after 20 s\n"
        "bob    TIME  dnd on\n"))
    code, _ = register("alice", "alice-pw")
    assert code == 200, code

    # more users than a page: sbctl reads every page
    conn = http.client.HTTPConnection("127.0.0.1", API_PORT, timeout=10)
    for i in range(1100):
        st, _ = api_call(conn, "POST", "/api/v1/users", {"name": "bulk%04d" % i,
                                                         "password": "x"})
        assert st == 201, st
    st, j = api_call(conn, "GET", "/api/v1/users")
    assert st == 200 and len(j["users"]) == 1000 and j["next"] == "bulk0997", (st, j["next"])
    conn.close()
    rc, o, e = sbctl("--json", "user", "list")
    check("--json user list, 1102 users", (rc, "", e), 0, err="")
    names = [u["name"] for u in json.loads(o)["users"]]
    assert names == ["alice", "bob"] + ["bulk%04d" % i for i in range(1100)], names[:5]
    assert json.loads(o)["next"] is None
    rc, o, e = sbctl("user", "list")
    check("user list, 1102 users", (rc, "", e), 0, err="")
    assert len(o.splitlines()) == 1 + 1102 and "bulk1099" in o.splitlines()[-1], o[-200:]
finally:
    stop_server()

log = open(os.path.join(TMP, "server.log")).read()
for want in ["api: POST /api/v1/users 201", "api: GET /api/v1/users 401",
             "api: DELETE /api/v1/registrations/alice 404"]:
    if want not in log:
        failures.append("server log")
        print("FAIL: no %r in the server's log" % want, file=sys.stderr)

print("%d passed, %d failed" % (passes, len(failures)))
if failures:
    print("server log kept in %s" % TMP, file=sys.stderr)
    sys.exit(1)
shutil.rmtree(TMP)
