/* Unit tests for the phone's user agent (ua.h): two or three UAs on real
 * loopback sockets on one real loop, with
 *  - no server between them (no_register, calls to sip:x@127.0.0.1:PORT):
 *    ring, answer, BYE; busy; decline; CANCEL; 302 forwarding (always, no
 *    answer, busy) followed by the caller; hold and resume; call waiting;
 *    DTMF; blind and attended transfer;
 *  - a scripted peer (a raw UDP socket written by the test) where the
 *    exact messages matter: the ACK for a 2xx goes to the route set with
 *    the Contact as Request-URI, CSeq counts up, credentials for a 407 name
 *    the Request-URI, 481 and OPTIONS, the registration's refresh and
 *    back-off;
 *  - the library's own proxy, registrar, digest verifier and user
 *    directory on a real transport in the same loop: REGISTER with 401
 *    (MD5 or SHA-256), a call through the proxy with its 407 and
 *    Record-Route, and a clean shutdown that unregisters;
 *  - what the review of the phone found, each against the scripted peer:
 *    an event handler that hangs up and calls again on a DTMF digit (with
 *    more digits waiting in the socket), challenges from anybody but our
 *    proxy, dialogs we cannot follow, REFER after REFER and a transferee
 *    that never NOTIFYs, the telephone-event payload type of the answer,
 *    a storm of forked 2xx, control bytes in a reason phrase, a Replaces
 *    too long for the INVITE, early-only Replaces, and SDP edge cases.
 * Every wait is bounded in time and in loop iterations. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "switchboard/auth.h"
#include "switchboard/authn.h"
#include "switchboard/location.h"
#include "switchboard/proxy.h"
#include "switchboard/registrar.h"
#include "switchboard/transport.h"
#include "switchboard/ua.h"
#include "switchboard/users.h"

#define MAX_EV 64
#define MAX_MSGS 128
#define WAIT_MS 5000u
#define DOMAIN "example.com"
#define REALM "example.com"

struct ev {
	enum sb_ua_event_kind kind;
	struct sb_call *call;
	unsigned call_id, code;
	char reason[64];
	char peer[256];
	char digit;
	uint32_t expires;
};

struct phone {
	const char *name;
	struct sb_ua *ua;
	struct ev ev[MAX_EV];
	unsigned nev;
	uint16_t port;
	bool done;              /* sb_ua_shutdown finished */
	bool answer_incoming;   /* answer from inside the INCOMING event */
	const char *redial;     /* on the first DTMF: hang up, open a socket, call this */
	bool redialed;
	int junk;               /* the socket opened then (> 0) */
};

/* The library's proxy and registrar on a real socket, capturing what it
 * receives and sends. */
struct srv {
	struct sb_transport *tp;
	struct sb_proxy *proxy;
	struct sb_location *loc;
	struct sb_registrar *reg;
	struct sb_users *users;
	struct sb_digest *digest;
	struct sb_authn *authn;
	uint16_t port;
	char *rx[MAX_MSGS];
	unsigned nrx;
};

struct fx {
	struct sb_loop *loop;
	struct phone ph[3];
	struct srv *srv;
	int raw;                /* a scripted peer's socket, or -1 */
	uint16_t raw_port;
};

static struct sb_addr addr(const char *host, uint16_t port)
{
	struct sb_addr a;
	assert_int_equal(sb_addr_parse(&a, host, port), 0);
	return a;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void event_h(const struct sb_ua_event *e, void *arg)
{
	struct phone *p = arg;
	assert_true(p->nev < MAX_EV);
	struct ev *v = &p->ev[p->nev++];
	v->kind = e->kind;
	v->call = e->call;
	v->call_id = e->call_id;
	v->code = e->code;
	v->digit = e->digit;
	v->expires = e->expires;
	assert_non_null(e->reason);
	assert_non_null(e->peer);
	snprintf(v->reason, sizeof v->reason, "%s", e->reason);
	snprintf(v->peer, sizeof v->peer, "%s", e->peer);
	if (getenv("UA_TEST_VERBOSE"))
		fprintf(stderr, "[%s] %s call %u code %u %s %s\n", p->name,
			sb_ua_event_name(e->kind), e->call_id, e->code, e->reason, e->peer);
	if (e->kind == SB_UA_EV_INCOMING && p->answer_incoming)
		assert_int_equal(sb_ua_answer(e->call), 0);
	if (e->kind == SB_UA_EV_DTMF && p->redial && !p->redialed) {
		/* ua.h: a handler may call anything.  Hang up (the media session
		 * goes), open a socket as any other code might (it takes the
		 * lowest free descriptor: the session's RTP socket's number) with
		 * a datagram waiting on it, and place a call (another session) */
		p->redialed = true;
		assert_int_equal(sb_ua_hangup(e->call), 0);
		p->junk = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		assert_true(p->junk > 0);
		struct sb_addr a;
		assert_int_equal(sb_addr_parse(&a, "127.0.0.1", 0), 0);
		assert_int_equal(bind(p->junk, &a.u.sa, a.len), 0);
		a.len = sizeof a.u;
		assert_int_equal(getsockname(p->junk, &a.u.sa, &a.len), 0);
		char junk[200];
		memset(junk, 'A', sizeof junk);
		assert_int_equal(sendto(p->junk, junk, sizeof junk, 0, &a.u.sa, a.len),
				 (ssize_t)sizeof junk);
		assert_int_equal(sb_ua_call(p->ua, p->redial, NULL), 0);
	}
}

static void log_h(enum sb_log_level lvl, const char *line, void *arg)
{
	struct phone *p = arg;
	(void)lvl;
	if (getenv("UA_TEST_VERBOSE"))
		fprintf(stderr, "  %s: %s\n", p->name, line);
}

static void dump_events(const struct phone *p)
{
	for (unsigned k = 0; k < p->nev; k++)
		fprintf(stderr, "  %s event %u: %s call %u code %u %s %s\n", p->name, k,
			sb_ua_event_name(p->ev[k].kind), p->ev[k].call_id, p->ev[k].code,
			p->ev[k].reason, p->ev[k].peer);
}

/* The nth (0-based) event of kind, or NULL. */
static struct ev *find_ev(struct phone *p, enum sb_ua_event_kind kind, unsigned nth)
{
	for (unsigned k = 0; k < p->nev; k++)
		if (p->ev[k].kind == kind && nth-- == 0)
			return &p->ev[k];
	return NULL;
}

static unsigned count_ev(struct phone *p, enum sb_ua_event_kind kind)
{
	unsigned n = 0;
	for (unsigned k = 0; k < p->nev; k++)
		n += p->ev[k].kind == kind;
	return n;
}

/* Run the loop for at most ms (and a bounded number of iterations). */
static void run_for(struct fx *f, unsigned ms)
{
	uint64_t end = now_ms() + ms;
	for (unsigned i = 0; i < 100000 && now_ms() < end; i++)
		assert_int_equal(sb_loop_poll(f->loop, 5), 0);
}

static struct ev *wait_ev(struct fx *f, struct phone *p, enum sb_ua_event_kind kind,
			  unsigned nth)
{
	uint64_t end = now_ms() + WAIT_MS;
	for (unsigned i = 0; i < 100000; i++) {
		struct ev *e = find_ev(p, kind, nth);
		if (e)
			return e;
		if (now_ms() > end)
			break;
		assert_int_equal(sb_loop_poll(f->loop, 5), 0);
	}
	dump_events(p);
	fail_msg("%s: no %s event #%u", p->name, sb_ua_event_name(kind), nth);
	return NULL;
}

/* ------------------------------------------------------------- phones */

struct phone_opts {
	enum sb_ua_incoming incoming;
	int32_t auto_answer_ms;
	const char *fwd_always, *fwd_busy, *fwd_noanswer;
	uint32_t fwd_noanswer_ms;
	bool with_server;        /* register at f->srv (or the raw peer) */
	const char *password;
	bool raw_server;         /* the scripted peer is the server */
	uint32_t expires;
	unsigned tone_hz;
	bool tcp;                /* the server over TCP */
	uint32_t t1_ms;
};

static void phone_start(struct fx *f, unsigned i, const char *name, const struct phone_opts *o)
{
	struct phone *p = &f->ph[i];
	memset(p, 0, sizeof *p);
	p->name = name;
	struct sb_ua_cfg c = {
		.loop = f->loop,
		.user = name,
		.password = o->password,
		.domain = DOMAIN,
		.local = addr("127.0.0.1", 0),
		.no_register = !o->with_server && !o->raw_server,
		.incoming = o->incoming,
		.auto_answer_ms = o->auto_answer_ms,
		.fwd_always = o->fwd_always,
		.fwd_busy = o->fwd_busy,
		.fwd_noanswer = o->fwd_noanswer,
		.fwd_noanswer_ms = o->fwd_noanswer_ms,
		.expires = o->expires,
		.tone_hz = o->tone_hz,
		.proto = o->tcp ? SB_TP_TCP : SB_TP_UDP,
		.t1_ms = o->t1_ms,
		.event_h = event_h,
		.event_arg = p,
		.log_h = log_h,
		.log_arg = p,
		.log_level = SB_LOG_DEBUG,
	};
	if (o->with_server)
		c.server = addr("127.0.0.1", f->srv->port);
	if (o->raw_server)
		c.server = addr("127.0.0.1", f->raw_port);
	char err[256];
	int rc = sb_ua_alloc(&p->ua, &c, err, sizeof err);
	if (rc)
		fail_msg("sb_ua_alloc(%s): %s", name, err);
	struct sb_addr a;
	sb_ua_local(p->ua, &a);
	p->port = sb_addr_port(&a);
	assert_true(p->port != 0);
}

static void uri_of(struct fx *f, unsigned i, char *out, size_t cap)
{
	snprintf(out, cap, "sip:%s@127.0.0.1:%u", f->ph[i].name, (unsigned)f->ph[i].port);
}

static const struct phone_opts ringing = { .auto_answer_ms = -1 };

/* ---------------------------------------------------------- raw peer */

static void raw_open(struct fx *f)
{
	f->raw = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(f->raw >= 0);
	struct sb_addr a = addr("127.0.0.1", 0);
	assert_int_equal(bind(f->raw, &a.u.sa, a.len), 0);
	a.len = sizeof a.u;
	assert_int_equal(getsockname(f->raw, &a.u.sa, &a.len), 0);
	f->raw_port = sb_addr_port(&a);
}

/* Send text (LF becomes CRLF; Content-Length is computed when the text
 * has "Content-Length: *") to 127.0.0.1:port. */
static void raw_send(struct fx *f, uint16_t port, const char *text)
{
	char buf[8192];
	size_t k = 0;
	for (const char *s = text; *s && k + 2 < sizeof buf; s++) {
		if (*s == '\n')
			buf[k++] = '\r';
		buf[k++] = *s;
	}
	buf[k] = 0;
	char *cl = strstr(buf, "Content-Length: *");
	if (cl) {
		char *body = strstr(buf, "\r\n\r\n");
		assert_non_null(body);
		body += 4;
		char tmp[8192];
		size_t blen = k - (size_t)(body - buf);
		int n = snprintf(tmp, sizeof tmp, "%.*sContent-Length: %zu%s",
				 (int)(cl - buf), buf, blen, cl + strlen("Content-Length: *"));
		assert_true(n > 0 && (size_t)n < sizeof tmp);
		memcpy(buf, tmp, (size_t)n + 1);
		k = (size_t)n;
	}
	struct sb_addr to = addr("127.0.0.1", port);
	assert_int_equal(sendto(f->raw, buf, k, 0, &to.u.sa, to.len), (ssize_t)k);
}

/* The next datagram the raw peer receives whose first line starts with
 * prefix (others are skipped: retransmissions, provisionals), within
 * WAIT_MS; *from gets its source port. */
static char *raw_recv(struct fx *f, const char *prefix, uint16_t *from)
{
	/* a ring of buffers: a test keeps a few messages at once */
	static char ring[8][65536];
	static unsigned next;
	char *buf = ring[next++ % 8];
	uint64_t end = now_ms() + WAIT_MS;
	for (unsigned i = 0; i < 100000 && now_ms() < end; i++) {
		struct sb_addr src = { .len = sizeof src.u };
		ssize_t n = recvfrom(f->raw, buf, sizeof ring[0] - 1, 0, &src.u.sa, &src.len);
		if (n > 0) {
			buf[n] = 0;
			if (getenv("UA_TEST_VERBOSE"))
				fprintf(stderr, "  raw got:\n%s\n", buf);
			if (strncmp(buf, prefix, strlen(prefix)) == 0) {
				if (from)
					*from = sb_addr_port(&src);
				return buf;
			}
			continue;
		}
		assert_int_equal(sb_loop_poll(f->loop, 5), 0);
	}
	fail_msg("the raw peer got no \"%s\"", prefix);
	return NULL;
}

/* Forget what the raw peer has received so far. */
static void raw_drain(struct fx *f)
{
	char buf[2048];
	for (unsigned i = 0; i < 10000 && recv(f->raw, buf, sizeof buf, 0) > 0; i++)
		;
}

/* The value of header name (at a line start) in msg, copied. */
static void hdr(const char *msg, const char *name, char *out, size_t cap)
{
	char key[64];
	snprintf(key, sizeof key, "\r\n%s: ", name);
	const char *b = strstr(msg, key);
	if (!b)
		fail_msg("no %s in:\n%s", name, msg);
	b += strlen(key);
	size_t l = strcspn(b, "\r");
	assert_true(l < cap);
	memcpy(out, b, l);
	out[l] = 0;
}

/* Every line of msg that starts with name ": ", concatenated. */
static void all_hdrs(const char *msg, const char *name, char *out, size_t cap)
{
	char key[64];
	snprintf(key, sizeof key, "\r\n%s: ", name);
	size_t o = 0;
	out[0] = 0;
	for (const char *b = strstr(msg, key); b; b = strstr(b + 1, key)) {
		const char *v = b + 2;
		size_t l = strcspn(v, "\r") + 2;
		assert_true(o + l < cap);
		memcpy(out + o, v, l);
		o += l;
		out[o] = 0;
	}
}

static void param(const char *value, const char *name, char *out, size_t cap)
{
	char key[64];
	snprintf(key, sizeof key, "%s=", name);
	const char *b = strstr(value, key);
	if (!b)
		fail_msg("no %s in %s", name, value);
	b += strlen(key);
	bool q = *b == '"';
	if (q)
		b++;
	size_t l = strcspn(b, q ? "\"" : ",;> \r");
	assert_true(l < cap);
	memcpy(out, b, l);
	out[l] = 0;
}

/* A response to the request req by the raw peer: its Via, From, To (with
 * to_tag if the To has none), Call-ID, CSeq, then extra (LF lines). */
static void raw_respond(struct fx *f, uint16_t port, const char *req, const char *status,
			const char *to_tag, const char *extra)
{
	char via[1024], from[512], to[512], cid[256], cseq[64], text[8192];
	hdr(req, "Via", via, sizeof via);
	hdr(req, "From", from, sizeof from);
	hdr(req, "To", to, sizeof to);
	hdr(req, "Call-ID", cid, sizeof cid);
	hdr(req, "CSeq", cseq, sizeof cseq);
	snprintf(text, sizeof text,
		 "SIP/2.0 %s\nVia: %s\nFrom: %s\nTo: %s%s%s\nCall-ID: %s\nCSeq: %s\n%s", status,
		 via, from, to, to_tag && !strstr(to, "tag=") ? ";tag=" : "",
		 to_tag && !strstr(to, "tag=") ? to_tag : "", cid, cseq,
		 extra ? extra : "Content-Length: 0\n\n");
	raw_send(f, port, text);
}

/* ------------------------------------------------------- proxy server */

static int srv_register_h(const struct sb_tp_rx *rx, uint64_t token, struct sb_buf *out,
			  void *arg)
{
	struct srv *s = arg;
	return sb_registrar_handle(s->reg, rx->msg, rx, token, out);
}

static int srv_send_h(const struct sb_tp_dest *dst, const char *buf, size_t len, void *arg)
{
	struct srv *s = arg;
	return sb_transport_send(s->tp, dst, buf, len);
}

static void srv_recv_h(const struct sb_tp_rx *rx, void *arg)
{
	struct srv *s = arg;
	if (s->nrx < MAX_MSGS) {
		char *c = malloc(rx->msg->raw.l + 1);
		assert_non_null(c);
		memcpy(c, rx->msg->raw.p, rx->msg->raw.l);
		c[rx->msg->raw.l] = 0;
		s->rx[s->nrx++] = c;
	}
	sb_proxy_recv(rx, s->proxy);
}

static void srv_close_h(uint32_t conn_id, const struct sb_addr *peer, int err, void *arg)
{
	struct srv *s = arg;
	(void)err;
	if (s->proxy)
		sb_tsx_layer_conn_failed(sb_proxy_tsx_layer(s->proxy), conn_id, peer);
}

static void srv_start(struct fx *f, bool auth_invite, unsigned algs)
{
	struct srv *s = calloc(1, sizeof *s);
	assert_non_null(s);
	f->srv = s;
	struct sb_transport_cfg tc = { .loop = f->loop, .recv_h = srv_recv_h,
				       .close_h = srv_close_h, .arg = s };
	struct sb_addr bound, a = addr("127.0.0.1", 0);
	/* UDP on a free port, and TCP on the same port: that one may be taken
	 * (other programs on the machine), then another pair */
	int err = EADDRINUSE;
	for (unsigned tries = 0; err == EADDRINUSE && tries < 16; tries++) {
		if (s->tp)
			sb_transport_free(s->tp);
		assert_int_equal(sb_transport_alloc(&s->tp, &tc), 0);
		assert_int_equal(sb_transport_listen(s->tp, SB_TP_UDP, &a, &bound), 0);
		err = sb_transport_listen(s->tp, SB_TP_TCP, &bound, NULL);
	}
	assert_int_equal(err, 0);
	s->port = sb_addr_port(&bound);
	struct sb_location_cfg lc = { .loop = f->loop };
	assert_int_equal(sb_location_alloc(&s->loc, &lc), 0);
	assert_int_equal(sb_users_alloc(&s->users, 0, 1), 0);
	const char *names[] = { "alice", "bob", "carol" };
	for (unsigned k = 0; k < 3; k++) {
		char pw[32];
		snprintf(pw, sizeof pw, "%s-secret", names[k]);
		assert_int_equal(sb_users_put_password(s->users, sb_slice_cstr(names[k]),
						       SB_LIT(REALM), sb_slice_cstr(pw), 0),
				 0);
	}
	static const uint8_t secret[32] = "0123456789abcdef0123456789abcdef";
	struct sb_digest_cfg dc = { .realm = SB_LIT(REALM), .secret = secret,
				    .secret_len = sizeof secret, .algs = algs };
	assert_int_equal(sb_digest_alloc(&s->digest, &dc), 0);
	struct sb_authn_cfg ac = { .digest = s->digest, .users = s->users };
	assert_int_equal(sb_authn_alloc(&s->authn, &ac), 0);
	static const char *const doms[] = { DOMAIN, NULL };
	struct sb_registrar_cfg rc = { .location = f->loop ? s->loc : NULL, .loop = f->loop,
				       .domains = doms, .authn = s->authn };
	assert_int_equal(sb_registrar_alloc(&s->reg, &rc), 0);
	struct sb_proxy_cfg pc = {
		.loop = f->loop,
		.location = s->loc,
		.send_h = srv_send_h,
		.send_arg = s,
		.domains = { DOMAIN },
		.ndomains = 1,
		.nlisten = 1,
		.register_h = srv_register_h,
		.register_arg = s,
		.authn = s->authn,
		.auth_methods = auth_invite ? 1u << SB_METHOD_INVITE : 0,
		.realm = REALM,
		.users = s->users,
	};
	pc.listen[0].proto = SB_TP_UDP;
	pc.listen[0].addr = bound;
	pc.listen[1].proto = SB_TP_TCP;
	pc.listen[1].addr = bound;
	pc.nlisten = 2;
	assert_int_equal(sb_proxy_alloc(&s->proxy, &pc), 0);
}

static void srv_free(struct srv *s)
{
	if (!s)
		return;
	sb_proxy_free(s->proxy);
	sb_transport_free(s->tp);
	sb_registrar_free(s->reg);
	sb_authn_free(s->authn);
	sb_digest_free(s->digest);
	sb_users_free(s->users);
	sb_location_free(s->loc);
	for (unsigned k = 0; k < s->nrx; k++)
		free(s->rx[k]);
	free(s);
}

/* The nth message the server received whose first line starts with
 * prefix, or NULL. */
static const char *srv_got(struct srv *s, const char *prefix, unsigned nth)
{
	for (unsigned k = 0; k < s->nrx; k++)
		if (strncmp(s->rx[k], prefix, strlen(prefix)) == 0 && nth-- == 0)
			return s->rx[k];
	return NULL;
}

/* ------------------------------------------------------------ fixture */

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	assert_non_null(f);
	assert_int_equal(sb_loop_alloc(&f->loop, NULL), 0);
	f->raw = -1;
	*state = f;
	return 0;
}

static void done_h(void *arg)
{
	((struct phone *)arg)->done = true;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	for (unsigned k = 0; k < 3; k++) {
		sb_ua_free(f->ph[k].ua);
		if (f->ph[k].junk > 0)
			close(f->ph[k].junk);
	}
	srv_free(f->srv);
	if (f->raw >= 0)
		close(f->raw);
	sb_loop_free(f->loop);
	free(f);
	return 0;
}

/* alice (0) calls bob (1) directly; bob answers; both ANSWERED.  Returns
 * bob's call; *ac gets alice's. */
static struct sb_call *connect_ab(struct fx *f, struct sb_call **ac)
{
	char uri[128];
	uri_of(f, 1, uri, sizeof uri);
	assert_int_equal(sb_ua_call(f->ph[0].ua, uri, ac), 0);
	unsigned n = count_ev(&f->ph[1], SB_UA_EV_INCOMING);
	struct ev *in = wait_ev(f, &f->ph[1], SB_UA_EV_INCOMING, n);
	unsigned na = count_ev(&f->ph[0], SB_UA_EV_ANSWERED);
	unsigned nb = count_ev(&f->ph[1], SB_UA_EV_ANSWERED);
	assert_int_equal(sb_ua_answer(in->call), 0);
	wait_ev(f, &f->ph[0], SB_UA_EV_ANSWERED, na);
	wait_ev(f, &f->ph[1], SB_UA_EV_ANSWERED, nb);
	return in->call;
}

/* --------------------------------------------------------------- tests */

static void test_event_names(void **state)
{
	(void)state;
	assert_string_equal(sb_ua_event_name(SB_UA_EV_REGISTERED), "registered");
	assert_string_equal(sb_ua_event_name(SB_UA_EV_ENDED), "ended");
	assert_string_equal(sb_ua_event_name(SB_UA_EV_TRANSFER_FAILED), "transfer_failed");
	assert_string_equal(sb_ua_event_name((enum sb_ua_event_kind)99), "unknown");
}

static void test_alloc_errors(void **state)
{
	struct fx *f = *state;
	struct sb_ua *ua = NULL;
	char err[256];
	struct phone p = { .name = "x" };
	struct sb_ua_cfg c = { .loop = f->loop, .user = "alice", .domain = DOMAIN,
			       .event_h = event_h, .event_arg = &p };
	/* registering needs a server */
	assert_int_equal(sb_ua_alloc(&ua, &c, err, sizeof err), EINVAL);
	assert_true(strlen(err) > 0);
	c.no_register = true;
	c.user = "al ice";
	assert_int_equal(sb_ua_alloc(&ua, &c, err, sizeof err), EINVAL);
	c.user = "alice";
	c.fwd_always = "<bad>";
	assert_int_equal(sb_ua_alloc(&ua, &c, err, sizeof err), EINVAL);
	c.fwd_always = NULL;
	/* a port taken */
	c.local = addr("127.0.0.1", 0);
	assert_int_equal(sb_ua_alloc(&ua, &c, err, sizeof err), 0);
	struct sb_addr a;
	sb_ua_local(ua, &a);
	struct sb_ua *ub = NULL;
	c.local = a;
	assert_int_equal(sb_ua_alloc(&ub, &c, err, sizeof err), EADDRINUSE);
	assert_non_null(strstr(err, "bind"));
	/* targets */
	struct sb_call *call;
	assert_int_equal(sb_ua_call(ua, "sips:bob@127.0.0.1", &call), EINVAL);
	assert_int_equal(sb_ua_call(ua, "bob smith", &call), EINVAL);
	assert_int_equal(sb_ua_call(ua, "", &call), EINVAL);
	assert_null(call);
	assert_int_equal(sb_ua_answer(NULL), EINVAL);
	assert_int_equal(sb_ua_hangup(NULL), EINVAL);
	sb_ua_free(ua);
}

static void test_call_answer_bye(void **state)
{
	struct fx *f = *state;
	phone_start(f, 0, "alice", &ringing);
	phone_start(f, 1, "bob", &ringing);
	char uri[128];
	uri_of(f, 1, uri, sizeof uri);
	struct sb_call *ac;
	assert_int_equal(sb_ua_call(f->ph[0].ua, uri, &ac), 0);
	assert_non_null(ac);
	struct ev *in = wait_ev(f, &f->ph[1], SB_UA_EV_INCOMING, 0);
	struct ev *rg = wait_ev(f, &f->ph[0], SB_UA_EV_RINGING, 0);
	assert_int_equal(rg->code, 180);
	assert_ptr_equal(rg->call, ac);
	assert_string_equal(in->peer, "sip:alice@" DOMAIN);
	assert_int_equal(sb_ua_call_by_id(f->ph[1].ua, in->call_id) == in->call, true);
	char st[512];
	sb_ua_status(f->ph[1].ua, st, sizeof st);
	assert_non_null(strstr(st, "incoming"));
	assert_int_equal(sb_ua_answer(in->call), 0);
	assert_int_equal(sb_ua_answer(in->call), EINVAL); /* not ringing any more */
	wait_ev(f, &f->ph[0], SB_UA_EV_ANSWERED, 0);
	wait_ev(f, &f->ph[1], SB_UA_EV_ANSWERED, 0);
	assert_ptr_equal(sb_ua_current_call(f->ph[0].ua), ac);
	sb_ua_status(f->ph[0].ua, st, sizeof st);
	assert_non_null(strstr(st, "established"));
	/* some media flows for a while */
	run_for(f, 200);
	assert_int_equal(sb_ua_hangup(ac), 0);
	struct ev *ea = wait_ev(f, &f->ph[0], SB_UA_EV_ENDED, 0);
	struct ev *eb = wait_ev(f, &f->ph[1], SB_UA_EV_ENDED, 0);
	assert_int_equal(ea->code, 0);
	assert_string_equal(ea->reason, "bye");
	assert_int_equal(eb->code, 0);
	assert_string_equal(eb->reason, "bye");
	run_for(f, 20);
	assert_null(sb_ua_current_call(f->ph[0].ua));
	assert_null(sb_ua_call_by_id(f->ph[1].ua, in->call_id));
	/* events in order: ringing, answered, ended */
	assert_int_equal(f->ph[0].ev[0].kind, SB_UA_EV_RINGING);
	assert_int_equal(f->ph[0].ev[1].kind, SB_UA_EV_ANSWERED);
	assert_int_equal(f->ph[0].ev[2].kind, SB_UA_EV_ENDED);
	assert_int_equal(f->ph[0].nev, 3);
	assert_int_equal(f->ph[1].nev, 3);
}

static void test_busy_decline_dnd(void **state)
{
	struct fx *f = *state;
	struct phone_opts o = ringing;
	phone_start(f, 0, "alice", &ringing);
	o.incoming = SB_UA_IN_BUSY;
	phone_start(f, 1, "bob", &o);
	o.incoming = SB_UA_IN_DECLINE;
	phone_start(f, 2, "carol", &o);
	char uri[128];
	uri_of(f, 1, uri, sizeof uri);
	assert_int_equal(sb_ua_call(f->ph[0].ua, uri, NULL), 0);
	struct ev *e = wait_ev(f, &f->ph[0], SB_UA_EV_ENDED, 0);
	assert_int_equal(e->code, 486);
	assert_string_equal(e->reason, "busy");
	e = wait_ev(f, &f->ph[1], SB_UA_EV_ENDED, 0);
	assert_int_equal(e->code, 486);
	assert_null(e->call);
	assert_true(e->call_id > 0);
	assert_string_equal(e->peer, "sip:alice@" DOMAIN);

	uri_of(f, 2, uri, sizeof uri);
	assert_int_equal(sb_ua_call(f->ph[0].ua, uri, NULL), 0);
	e = wait_ev(f, &f->ph[0], SB_UA_EV_ENDED, 1);
	assert_int_equal(e->code, 603);
	assert_string_equal(e->reason, "declined");

	/* DND from the prompt, then off again */
	sb_ua_set_incoming(f->ph[2].ua, SB_UA_IN_DND);
	assert_int_equal(sb_ua_call(f->ph[0].ua, uri, NULL), 0);
	e = wait_ev(f, &f->ph[0], SB_UA_EV_ENDED, 2);
	assert_int_equal(e->code, 486);
	e = wait_ev(f, &f->ph[2], SB_UA_EV_ENDED, 1);
	assert_string_equal(e->reason, "do not disturb");
	sb_ua_set_incoming(f->ph[2].ua, SB_UA_IN_RING);
	assert_int_equal(sb_ua_call(f->ph[0].ua, uri, NULL), 0);
	struct ev *in = wait_ev(f, &f->ph[2], SB_UA_EV_INCOMING, 0);
	/* rejected by hand with 603 */
	assert_int_equal(sb_ua_reject(in->call, 603), 0);
	e = wait_ev(f, &f->ph[0], SB_UA_EV_ENDED, 3);
	assert_int_equal(e->code, 603);
	/* no retransmission keeps anything alive */
	run_for(f, 50);
	assert_int_equal(count_ev(&f->ph[0], SB_UA_EV_ANSWERED), 0);
}

static void test_cancel(void **state)
{
	struct fx *f = *state;
	phone_start(f, 0, "alice", &ringing);
	phone_start(f, 1, "bob", &ringing);
	char uri[128];
	uri_of(f, 1, uri, sizeof uri);
	struct sb_call *ac;
	assert_int_equal(sb_ua_call(f->ph[0].ua, uri, &ac), 0);
	/* hung up before anything came back: the CANCEL waits for a
	 * provisional (RFC 3261 §9.1) */
	assert_int_equal(sb_ua_hangup(ac), 0);
	struct ev *e = wait_ev(f, &f->ph[0], SB_UA_EV_ENDED, 0);
	assert_int_equal(e->code, 487);
	assert_string_equal(e->reason, "cancelled");
	e = wait_ev(f, &f->ph[1], SB_UA_EV_ENDED, 0);
	assert_int_equal(e->code, 487);
	assert_string_equal(e->reason, "cancelled");
	assert_int_equal(count_ev(&f->ph[1], SB_UA_EV_INCOMING), 1);

	/* and while it rings */
	assert_int_equal(sb_ua_call(f->ph[0].ua, uri, &ac), 0);
	wait_ev(f, &f->ph[0], SB_UA_EV_RINGING, 0);
	assert_int_equal(sb_ua_hangup(ac), 0);
	e = wait_ev(f, &f->ph[0], SB_UA_EV_ENDED, 1);
	assert_int_equal(e->code, 487);
	e = wait_ev(f, &f->ph[1], SB_UA_EV_ENDED, 1);
	assert_string_equal(e->reason, "cancelled");
	assert_int_equal(count_ev(&f->ph[0], SB_UA_EV_ANSWERED), 0);
}

static void test_forward_always(void **state)
{
	struct fx *f = *state;
	phone_start(f, 0, "alice", &ringing);
	struct phone_opts oc = { .auto_answer_ms = 0 };
	phone_start(f, 2, "carol", &oc);
	char carol[128], uri[128];
	uri_of(f, 2, carol, sizeof carol);
	struct phone_opts ob = { .auto_answer_ms = -1, .fwd_always = carol };
	phone_start(f, 1, "bob", &ob);
	uri_of(f, 1, uri, sizeof uri);
	assert_int_equal(sb_ua_call(f->ph[0].ua, uri, NULL), 0);
	struct ev *e = wait_ev(f, &f->ph[1], SB_UA_EV_FORWARDED, 0);
	assert_string_equal(e->peer, carol);
	assert_int_equal(e->code, 302);
	assert_null(e->call);
	e = wait_ev(f, &f->ph[0], SB_UA_EV_REDIRECTED, 0);
	assert_string_equal(e->peer, carol);
	assert_int_equal(e->code, 302);
	wait_ev(f, &f->ph[2], SB_UA_EV_INCOMING, 0);
	e = wait_ev(f, &f->ph[0], SB_UA_EV_ANSWERED, 0);
	assert_string_equal(e->peer, carol);
	wait_ev(f, &f->ph[2], SB_UA_EV_ANSWERED, 0);
	assert_int_equal(count_ev(&f->ph[1], SB_UA_EV_INCOMING), 0);
	assert_int_equal(sb_ua_hangup(e->call), 0);
	wait_ev(f, &f->ph[2], SB_UA_EV_ENDED, 0);
}

static void test_forward_noanswer_and_busy(void **state)
{
	struct fx *f = *state;
	phone_start(f, 0, "alice", &ringing);
	struct phone_opts oc = { .auto_answer_ms = 0 };
	phone_start(f, 2, "carol", &oc);
	char carol[128], uri[128];
	uri_of(f, 2, carol, sizeof carol);
	struct phone_opts ob = { .auto_answer_ms = -1, .fwd_noanswer = carol,
				 .fwd_noanswer_ms = 300, .fwd_busy = carol };
	phone_start(f, 1, "bob", &ob);
	uri_of(f, 1, uri, sizeof uri);
	uint64_t t0 = now_ms();
	assert_int_equal(sb_ua_call(f->ph[0].ua, uri, NULL), 0);
	wait_ev(f, &f->ph[1], SB_UA_EV_INCOMING, 0);
	wait_ev(f, &f->ph[0], SB_UA_EV_RINGING, 0);
	struct ev *e = wait_ev(f, &f->ph[1], SB_UA_EV_FORWARDED, 0);
	assert_true(now_ms() - t0 >= 300);
	assert_string_equal(e->peer, carol);
	assert_non_null(e->call);
	e = wait_ev(f, &f->ph[1], SB_UA_EV_ENDED, 0);
	assert_int_equal(e->code, 302);
	wait_ev(f, &f->ph[0], SB_UA_EV_REDIRECTED, 0);
	e = wait_ev(f, &f->ph[0], SB_UA_EV_ANSWERED, 0);
	wait_ev(f, &f->ph[2], SB_UA_EV_ANSWERED, 0);
	assert_int_equal(sb_ua_hangup(e->call), 0);
	wait_ev(f, &f->ph[2], SB_UA_EV_ENDED, 0);
	wait_ev(f, &f->ph[0], SB_UA_EV_ENDED, 0);

	/* busy: bob is in a call (with carol) and forwards the next one */
	char bob[128];
	uri_of(f, 1, bob, sizeof bob);
	assert_int_equal(sb_ua_call(f->ph[2].ua, bob, NULL), 0);
	struct ev *in = wait_ev(f, &f->ph[1], SB_UA_EV_INCOMING, 1);
	assert_int_equal(sb_ua_answer(in->call), 0);
	wait_ev(f, &f->ph[1], SB_UA_EV_ANSWERED, 0);
	assert_int_equal(sb_ua_call(f->ph[0].ua, uri, NULL), 0);
	e = wait_ev(f, &f->ph[1], SB_UA_EV_FORWARDED, 1);
	assert_null(e->call);
	assert_string_equal(e->reason, "busy");
	wait_ev(f, &f->ph[0], SB_UA_EV_REDIRECTED, 1);
	/* carol answers alice's redirected call automatically: a second call */
	wait_ev(f, &f->ph[0], SB_UA_EV_ANSWERED, 1);
}

static void test_hold_resume(void **state)
{
	struct fx *f = *state;
	phone_start(f, 0, "alice", &ringing);
	phone_start(f, 1, "bob", &ringing);
	struct sb_call *ac;
	struct sb_call *bc = connect_ab(f, &ac);
	assert_int_equal(sb_ua_resume(ac), 0); /* not held: nothing to do */
	assert_int_equal(sb_ua_hold(ac), 0);
	assert_int_equal(sb_ua_hold(ac), EBUSY); /* the re-INVITE is in flight */
	struct ev *e = wait_ev(f, &f->ph[0], SB_UA_EV_HELD, 0);
	assert_string_equal(e->reason, "local hold");
	e = wait_ev(f, &f->ph[1], SB_UA_EV_HELD, 0);
	assert_string_equal(e->reason, "remote hold");
	char st[512];
	sb_ua_status(f->ph[1].ua, st, sizeof st);
	assert_non_null(strstr(st, "remote-hold"));
	/* bob holds too: inactive */
	run_for(f, 50);
	assert_int_equal(sb_ua_hold(bc), 0);
	wait_ev(f, &f->ph[1], SB_UA_EV_HELD, 1);
	run_for(f, 50);
	assert_int_equal(sb_ua_resume(bc), 0);
	wait_ev(f, &f->ph[1], SB_UA_EV_RESUMED, 0);
	run_for(f, 50);
	assert_int_equal(sb_ua_resume(ac), 0);
	e = wait_ev(f, &f->ph[0], SB_UA_EV_RESUMED, 1);
	assert_string_equal(e->reason, "local resume");
	/* alice saw bob's hold and resume as remote ones */
	e = wait_ev(f, &f->ph[0], SB_UA_EV_HELD, 1);
	assert_string_equal(e->reason, "remote hold");
	e = wait_ev(f, &f->ph[0], SB_UA_EV_RESUMED, 0);
	assert_string_equal(e->reason, "remote resume");
	e = wait_ev(f, &f->ph[1], SB_UA_EV_RESUMED, 1);
	assert_string_equal(e->reason, "remote resume");
	assert_int_equal(count_ev(&f->ph[0], SB_UA_EV_HELD), 2);
	assert_int_equal(count_ev(&f->ph[1], SB_UA_EV_HELD), 2);
	assert_int_equal(sb_ua_hangup(bc), 0);
	wait_ev(f, &f->ph[0], SB_UA_EV_ENDED, 0);
}

static void test_call_waiting(void **state)
{
	struct fx *f = *state;
	phone_start(f, 0, "alice", &ringing);
	phone_start(f, 1, "bob", &ringing);
	phone_start(f, 2, "carol", &ringing);
	struct sb_call *ac;
	struct sb_call *b1 = connect_ab(f, &ac);
	char bob[128];
	uri_of(f, 1, bob, sizeof bob);
	assert_int_equal(sb_ua_call(f->ph[2].ua, bob, NULL), 0);
	struct ev *in = wait_ev(f, &f->ph[1], SB_UA_EV_INCOMING, 1);
	wait_ev(f, &f->ph[2], SB_UA_EV_RINGING, 0);
	assert_ptr_not_equal(in->call, b1);
	/* answering the second holds the first */
	assert_int_equal(sb_ua_answer(in->call), 0);
	wait_ev(f, &f->ph[2], SB_UA_EV_ANSWERED, 0);
	struct ev *h = wait_ev(f, &f->ph[1], SB_UA_EV_HELD, 0);
	assert_ptr_equal(h->call, b1);
	wait_ev(f, &f->ph[0], SB_UA_EV_HELD, 0);
	assert_ptr_equal(sb_ua_current_call(f->ph[1].ua), in->call);
	/* carol hangs up; bob resumes alice */
	assert_int_equal(sb_ua_hangup(in->call), 0);
	wait_ev(f, &f->ph[2], SB_UA_EV_ENDED, 0);
	assert_int_equal(sb_ua_resume(b1), 0);
	wait_ev(f, &f->ph[0], SB_UA_EV_RESUMED, 0);
}

static void test_dtmf(void **state)
{
	struct fx *f = *state;
	phone_start(f, 0, "alice", &ringing);
	phone_start(f, 1, "bob", &ringing);
	struct sb_call *ac;
	connect_ab(f, &ac);
	assert_int_equal(sb_ua_dtmf(ac, "1x"), EINVAL);
	assert_int_equal(sb_ua_dtmf(ac, "12#"), 0);
	struct ev *d = wait_ev(f, &f->ph[1], SB_UA_EV_DTMF, 2);
	assert_int_equal(d->digit, '#');
	assert_int_equal(find_ev(&f->ph[1], SB_UA_EV_DTMF, 0)->digit, '1');
	assert_int_equal(find_ev(&f->ph[1], SB_UA_EV_DTMF, 1)->digit, '2');
	assert_int_equal(count_ev(&f->ph[1], SB_UA_EV_DTMF), 3);
}

static void test_blind_transfer(void **state)
{
	struct fx *f = *state;
	phone_start(f, 0, "alice", &ringing);
	phone_start(f, 1, "bob", &ringing);
	struct phone_opts oc = { .auto_answer_ms = 0 };
	phone_start(f, 2, "carol", &oc);
	struct sb_call *ac;
	connect_ab(f, &ac);
	char carol[128];
	uri_of(f, 2, carol, sizeof carol);
	/* alice transfers bob to carol */
	assert_int_equal(sb_ua_transfer(ac, carol), 0);
	assert_int_equal(sb_ua_transfer(ac, carol), EBUSY);
	wait_ev(f, &f->ph[2], SB_UA_EV_ANSWERED, 0);
	struct ev *t = wait_ev(f, &f->ph[0], SB_UA_EV_TRANSFERRED, 0);
	assert_int_equal(t->code, 200);
	assert_string_equal(t->peer, carol);
	t = wait_ev(f, &f->ph[1], SB_UA_EV_TRANSFERRED, 0);
	assert_string_equal(t->peer, carol);
	/* the first call ends on both sides; bob and carol talk */
	struct ev *ae = wait_ev(f, &f->ph[0], SB_UA_EV_ENDED, 0);
	assert_string_equal(ae->reason, "transferred");
	wait_ev(f, &f->ph[1], SB_UA_EV_ENDED, 0);
	struct ev *a = wait_ev(f, &f->ph[1], SB_UA_EV_ANSWERED, 1);
	run_for(f, 100);
	assert_non_null(sb_ua_call_by_id(f->ph[1].ua, a->call_id));
	assert_int_equal(count_ev(&f->ph[2], SB_UA_EV_ENDED), 0);
	assert_int_equal(sb_ua_hangup(a->call), 0);
	wait_ev(f, &f->ph[2], SB_UA_EV_ENDED, 0);
}

static void test_attended_transfer(void **state)
{
	struct fx *f = *state;
	phone_start(f, 0, "alice", &ringing);
	phone_start(f, 1, "bob", &ringing);
	phone_start(f, 2, "carol", &ringing);
	struct sb_call *ab;
	connect_ab(f, &ab);
	/* alice holds bob and consults carol */
	assert_int_equal(sb_ua_hold(ab), 0);
	wait_ev(f, &f->ph[0], SB_UA_EV_HELD, 0);
	char carol[128];
	uri_of(f, 2, carol, sizeof carol);
	struct sb_call *acons;
	assert_int_equal(sb_ua_call(f->ph[0].ua, carol, &acons), 0);
	struct ev *in = wait_ev(f, &f->ph[2], SB_UA_EV_INCOMING, 0);
	assert_int_equal(sb_ua_answer(in->call), 0);
	wait_ev(f, &f->ph[0], SB_UA_EV_ANSWERED, 1);
	wait_ev(f, &f->ph[2], SB_UA_EV_ANSWERED, 0);
	/* REFER bob to carol, replacing alice's dialog with carol */
	assert_int_equal(sb_ua_transfer_attended(ab, acons), 0);
	struct ev *r = wait_ev(f, &f->ph[2], SB_UA_EV_INCOMING, 1);
	assert_string_equal(r->reason, "replaces");
	wait_ev(f, &f->ph[2], SB_UA_EV_ANSWERED, 1);
	/* carol's call with alice ended, replaced */
	struct ev *e = wait_ev(f, &f->ph[2], SB_UA_EV_ENDED, 0);
	assert_string_equal(e->reason, "replaced");
	struct ev *tr = wait_ev(f, &f->ph[0], SB_UA_EV_TRANSFERRED, 0);
	assert_string_equal(tr->peer, carol);
	/* alice has no call left */
	wait_ev(f, &f->ph[0], SB_UA_EV_ENDED, 1);
	run_for(f, 100);
	assert_null(sb_ua_current_call(f->ph[0].ua));
	struct sb_call *bc = sb_ua_current_call(f->ph[1].ua);
	assert_non_null(bc);
	assert_int_equal(sb_ua_hangup(bc), 0);
	wait_ev(f, &f->ph[2], SB_UA_EV_ENDED, 1);
}

/* The ACK for a 2xx goes to the route set (the Record-Route reversed),
 * with the Contact as Request-URI and the INVITE's CSeq; the BYE after
 * it takes the next CSeq the same way (RFC 3261 §12.1.2, §13.2.2.4). */
static void test_scripted_ack_route_set(void **state)
{
	struct fx *f = *state;
	raw_open(f);
	phone_start(f, 0, "alice", &ringing);
	char uri[128];
	snprintf(uri, sizeof uri, "sip:bob@127.0.0.1:%u", (unsigned)f->raw_port);
	struct sb_call *ac;
	assert_int_equal(sb_ua_call(f->ph[0].ua, uri, &ac), 0);
	uint16_t from;
	char *inv = raw_recv(f, "INVITE ", &from);
	assert_int_equal(from, f->ph[0].port);
	char line[512], v[512];
	snprintf(line, sizeof line, "INVITE %s SIP/2.0\r\n", uri);
	assert_int_equal(strncmp(inv, line, strlen(line)), 0);
	hdr(inv, "CSeq", v, sizeof v);
	assert_string_equal(v, "1 INVITE");
	hdr(inv, "To", v, sizeof v);
	snprintf(line, sizeof line, "<%s>", uri);
	assert_string_equal(v, line);
	hdr(inv, "From", v, sizeof v);
	assert_non_null(strstr(v, "<sip:alice@" DOMAIN ">;tag="));
	hdr(inv, "Contact", v, sizeof v);
	snprintf(line, sizeof line, "<sip:alice@127.0.0.1:%u>", (unsigned)f->ph[0].port);
	assert_string_equal(v, line);
	hdr(inv, "Content-Type", v, sizeof v);
	assert_string_equal(v, "application/sdp");
	assert_non_null(strstr(inv, "m=audio "));
	assert_non_null(strstr(inv, " RTP/AVP 0 8 101\r\n"));
	assert_non_null(strstr(inv, "a=rtpmap:101 telephone-event/8000\r\n"));
	assert_non_null(strstr(inv, "c=IN IP4 127.0.0.1\r\n"));
	char via[512];
	hdr(inv, "Via", via, sizeof via);
	snprintf(line, sizeof line, "SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bK",
		 (unsigned)f->ph[0].port);
	assert_int_equal(strncmp(via, line, strlen(line)), 0);

	raw_respond(f, from, inv, "180 Ringing", "bt1", NULL);
	wait_ev(f, &f->ph[0], SB_UA_EV_RINGING, 0);
	char extra[2048];
	snprintf(extra, sizeof extra,
		 "Contact: <sip:bob@127.0.0.1:%u>\n"
		 "Record-Route: <sip:127.0.0.1:9;lr>, <sip:127.0.0.1:%u;lr>\n"
		 "Content-Type: application/sdp\nContent-Length: *\n\n"
		 "v=0\no=- 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\n"
		 "m=audio 40000 RTP/AVP 8 101\na=rtpmap:8 PCMA/8000\n"
		 "a=rtpmap:101 telephone-event/8000\na=fmtp:101 0-16\n",
		 (unsigned)f->raw_port, (unsigned)f->raw_port);
	raw_respond(f, from, inv, "200 OK", "bt1", extra);
	char *ack = raw_recv(f, "ACK ", NULL);
	snprintf(line, sizeof line, "ACK sip:bob@127.0.0.1:%u SIP/2.0\r\n", (unsigned)f->raw_port);
	assert_int_equal(strncmp(ack, line, strlen(line)), 0);
	all_hdrs(ack, "Route", v, sizeof v);
	snprintf(line, sizeof line, "Route: <sip:127.0.0.1:%u;lr>\r\nRoute: <sip:127.0.0.1:9;lr>\r\n",
		 (unsigned)f->raw_port);
	assert_string_equal(v, line);
	hdr(ack, "CSeq", v, sizeof v);
	assert_string_equal(v, "1 ACK");
	hdr(ack, "To", v, sizeof v);
	assert_non_null(strstr(v, ";tag=bt1"));
	char via2[512];
	hdr(ack, "Via", via2, sizeof via2);
	assert_string_not_equal(via, via2); /* §13.2.2.4: a new branch */
	wait_ev(f, &f->ph[0], SB_UA_EV_ANSWERED, 0);
	/* the 2xx again: the same ACK again (§13.2.2.4) */
	raw_respond(f, from, inv, "200 OK", "bt1", extra);
	char *ack2 = raw_recv(f, "ACK ", NULL);
	hdr(ack2, "Via", v, sizeof v);
	assert_string_equal(v, via2);

	assert_int_equal(sb_ua_hangup(ac), 0);
	char *bye = raw_recv(f, "BYE ", NULL);
	snprintf(line, sizeof line, "BYE sip:bob@127.0.0.1:%u SIP/2.0\r\n", (unsigned)f->raw_port);
	assert_int_equal(strncmp(bye, line, strlen(line)), 0);
	hdr(bye, "CSeq", v, sizeof v);
	assert_string_equal(v, "2 BYE");
	all_hdrs(bye, "Route", v, sizeof v);
	assert_non_null(strstr(v, "Route: <sip:127.0.0.1:9;lr>"));
	raw_respond(f, from, bye, "200 OK", NULL, NULL);
	struct ev *e = wait_ev(f, &f->ph[0], SB_UA_EV_ENDED, 0);
	assert_string_equal(e->reason, "bye");
}

/* A 407 is answered with a new INVITE (CSeq + 1, same Call-ID and From
 * tag) whose Proxy-Authorization names the Request-URI and carries the
 * response RFC 7616 computes (RFC 3261 §22.2); a 401 from a second hop
 * after that adds credentials the same way. */
static void test_scripted_invite_auth(void **state)
{
	struct fx *f = *state;
	raw_open(f);
	struct phone_opts o = { .auto_answer_ms = -1, .raw_server = true,
				.password = "alice-secret" };
	/* a server that never answers REGISTER gets none: the UA is made
	 * with no_register off, so drop its REGISTER first */
	phone_start(f, 0, "alice", &o);
	(void)raw_recv(f, "REGISTER ", NULL);
	struct sb_call *ac;
	assert_int_equal(sb_ua_call(f->ph[0].ua, "bob", &ac), 0);
	uint16_t from;
	char *inv = raw_recv(f, "INVITE ", &from);
	assert_int_equal(strncmp(inv, "INVITE sip:bob@" DOMAIN " SIP/2.0\r\n", 34), 0);
	char cid1[256], from1[512], v[1024];
	hdr(inv, "Call-ID", cid1, sizeof cid1);
	hdr(inv, "From", from1, sizeof from1);
	raw_respond(f, from, inv, "407 Proxy Authentication Required", "p1",
		    "Proxy-Authenticate: Digest realm=\"" REALM "\", nonce=\"n0nce\", "
		    "algorithm=SHA-512-256, qop=\"auth\"\n"
		    "Proxy-Authenticate: Digest realm=\"" REALM "\", nonce=\"abc123\", "
		    "algorithm=MD5, qop=\"auth\", opaque=\"op\"\n"
		    "Content-Length: 0\n\n");
	/* the transaction layer ACKs the 407 */
	char *ack = raw_recv(f, "ACK ", NULL);
	hdr(ack, "CSeq", v, sizeof v);
	assert_string_equal(v, "1 ACK");
	char *inv2 = raw_recv(f, "INVITE ", NULL);
	hdr(inv2, "CSeq", v, sizeof v);
	assert_string_equal(v, "2 INVITE");
	hdr(inv2, "Call-ID", v, sizeof v);
	assert_string_equal(v, cid1);
	hdr(inv2, "From", v, sizeof v);
	assert_string_equal(v, from1);
	char pa[1024], uri[256], nc[16], cnonce[64], resp[80], alg[32], opaque[32];
	hdr(inv2, "Proxy-Authorization", pa, sizeof pa);
	param(pa, "uri", uri, sizeof uri);
	assert_string_equal(uri, "sip:bob@" DOMAIN); /* = the Request-URI */
	param(pa, "nc", nc, sizeof nc);
	assert_string_equal(nc, "00000001");
	param(pa, "algorithm", alg, sizeof alg);
	assert_string_equal(alg, "MD5"); /* SHA-512-256 is skipped */
	param(pa, "opaque", opaque, sizeof opaque);
	assert_string_equal(opaque, "op");
	param(pa, "cnonce", cnonce, sizeof cnonce);
	param(pa, "response", resp, sizeof resp);
	char ha1[SB_DIGEST_HEX_CAP], want[SB_DIGEST_HEX_CAP];
	assert_int_equal(sb_digest_ha1(SB_DIGEST_MD5, SB_LIT("alice"), SB_LIT(REALM),
				       SB_LIT("alice-secret"), ha1, sizeof ha1), 0);
	struct sb_digest_input in = {
		.alg = SB_DIGEST_MD5, .ha1 = sb_slice_cstr(ha1), .nonce = SB_LIT("abc123"),
		.nc = sb_slice_cstr(nc), .cnonce = sb_slice_cstr(cnonce), .qop = SB_LIT("auth"),
		.method = SB_LIT("INVITE"), .uri = sb_slice_cstr(uri),
	};
	assert_int_equal(sb_digest_response(&in, want, sizeof want), 0);
	assert_string_equal(resp, want);
	/* wrong again without stale: the call fails, no third try */
	raw_respond(f, from, inv2, "407 Proxy Authentication Required", "p1",
		    "Proxy-Authenticate: Digest realm=\"" REALM "\", nonce=\"abc123\", "
		    "algorithm=MD5, qop=\"auth\"\nContent-Length: 0\n\n");
	struct ev *e = wait_ev(f, &f->ph[0], SB_UA_EV_ENDED, 0);
	assert_int_equal(e->code, 407);
}

/* Requests for dialogs we do not have get 481; OPTIONS 200; an unknown
 * method 501 (RFC 3261 §12.2.2, §11.2, §8.2.1). */
static void test_scripted_481_options(void **state)
{
	struct fx *f = *state;
	raw_open(f);
	phone_start(f, 0, "alice", &ringing);
	char text[2048];
	unsigned rp = f->raw_port;
	snprintf(text, sizeof text,
		 "BYE sip:alice@127.0.0.1:%u SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKb1\n"
		 "Max-Forwards: 70\nFrom: <sip:x@h>;tag=1\nTo: <sip:alice@h>;tag=2\nCall-ID: nope\n"
		 "CSeq: 5 BYE\nContent-Length: 0\n\n",
		 (unsigned)f->ph[0].port, rp);
	raw_send(f, f->ph[0].port, text);
	char *r = raw_recv(f, "SIP/2.0 ", NULL);
	assert_int_equal(strncmp(r, "SIP/2.0 481 ", 12), 0);
	snprintf(text, sizeof text,
		 "OPTIONS sip:alice@127.0.0.1:%u SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKo1\n"
		 "Max-Forwards: 70\nFrom: <sip:x@h>;tag=1\nTo: <sip:alice@h>\nCall-ID: opt\n"
		 "CSeq: 1 OPTIONS\nContent-Length: 0\n\n",
		 (unsigned)f->ph[0].port, rp);
	raw_send(f, f->ph[0].port, text);
	r = raw_recv(f, "SIP/2.0 ", NULL);
	assert_int_equal(strncmp(r, "SIP/2.0 200 ", 12), 0);
	assert_non_null(strstr(r, "\r\nAllow: INVITE, ACK, CANCEL, BYE, OPTIONS, REFER"));
	snprintf(text, sizeof text,
		 "FOO sip:alice@127.0.0.1:%u SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKf1\n"
		 "Max-Forwards: 70\nFrom: <sip:x@h>;tag=1\nTo: <sip:alice@h>\nCall-ID: foo\n"
		 "CSeq: 1 FOO\nContent-Length: 0\n\n",
		 (unsigned)f->ph[0].port, rp);
	raw_send(f, f->ph[0].port, text);
	r = raw_recv(f, "SIP/2.0 ", NULL);
	assert_int_equal(strncmp(r, "SIP/2.0 501 ", 12), 0);
	/* an INVITE with no offer gets ours in the 200 and the answer in the ACK */
	snprintf(text, sizeof text,
		 "INVITE sip:alice@127.0.0.1:%u SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKi1\n"
		 "Max-Forwards: 70\nFrom: <sip:x@127.0.0.1>;tag=99\nTo: <sip:alice@h>\nCall-ID: inv1\n"
		 "CSeq: 1 INVITE\nContact: <sip:x@127.0.0.1:%u>\nContent-Length: 0\n\n",
		 (unsigned)f->ph[0].port, rp, rp);
	raw_send(f, f->ph[0].port, text);
	(void)raw_recv(f, "SIP/2.0 100 ", NULL);
	r = raw_recv(f, "SIP/2.0 180 ", NULL);
	char to[256];
	hdr(r, "To", to, sizeof to);
	struct ev *in = wait_ev(f, &f->ph[0], SB_UA_EV_INCOMING, 0);
	assert_int_equal(sb_ua_answer(in->call), 0);
	r = raw_recv(f, "SIP/2.0 200 ", NULL);
	assert_non_null(strstr(r, "m=audio "));
	char to2[256];
	hdr(r, "To", to2, sizeof to2);
	assert_string_equal(to, to2); /* the same tag in 180 and 200 */
	/* no ACK: the 2xx comes again (RFC 3261 §13.3.1.4) */
	r = raw_recv(f, "SIP/2.0 200 ", NULL);
	snprintf(text, sizeof text,
		 "ACK sip:alice@127.0.0.1:%u SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKa1\n"
		 "Max-Forwards: 70\nFrom: <sip:x@127.0.0.1>;tag=99\nTo: %s\nCall-ID: inv1\n"
		 "CSeq: 1 ACK\nContent-Type: application/sdp\nContent-Length: *\n\n"
		 "v=0\no=- 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\n"
		 "m=audio 40002 RTP/AVP 0\n",
		 (unsigned)f->ph[0].port, rp, to);
	raw_send(f, f->ph[0].port, text);
	wait_ev(f, &f->ph[0], SB_UA_EV_ANSWERED, 0);
	/* a BYE with an old CSeq... no: BYE ends it */
	snprintf(text, sizeof text,
		 "BYE sip:alice@127.0.0.1:%u SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKb2\n"
		 "Max-Forwards: 70\nFrom: <sip:x@127.0.0.1>;tag=99\nTo: %s\nCall-ID: inv1\n"
		 "CSeq: 2 BYE\nContent-Length: 0\n\n",
		 (unsigned)f->ph[0].port, rp, to);
	raw_send(f, f->ph[0].port, text);
	r = raw_recv(f, "SIP/2.0 ", NULL);
	assert_int_equal(strncmp(r, "SIP/2.0 200 ", 12), 0);
	struct ev *e = wait_ev(f, &f->ph[0], SB_UA_EV_ENDED, 0);
	assert_int_equal(e->code, 0);
	assert_string_equal(e->reason, "bye");
}

/* An INVITE from the scripted peer with SDP in it. */
static void raw_invite(struct fx *f, const char *cid, const char *branch, const char *sdp)
{
	char text[4096];
	unsigned rp = f->raw_port;
	snprintf(text, sizeof text,
		 "INVITE sip:alice@127.0.0.1:%u SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:%u;branch=%s\n"
		 "Max-Forwards: 70\nFrom: <sip:x@127.0.0.1>;tag=99\nTo: <sip:alice@h>\nCall-ID: %s\n"
		 "CSeq: 1 INVITE\nContact: <sip:x@127.0.0.1:%u>\nContent-Type: application/sdp\n"
		 "Content-Length: *\n\n%s",
		 (unsigned)f->ph[0].port, rp, branch, cid, rp, sdp);
	raw_send(f, f->ph[0].port, text);
}

/* RFC 3264 §6: the answer keeps every m= line (the ones we do not take
 * with port 0) and takes the first common codec; nothing in common is
 * 488.  A re-INVITE with a=sendonly holds us (HELD "remote hold", answer
 * recvonly); one that crosses our own re-INVITE gets 491 (§14.2). */
static void test_scripted_sdp(void **state)
{
	struct fx *f = *state;
	raw_open(f);
	phone_start(f, 0, "alice", &ringing);
	raw_invite(f, "sdp1", "z9hG4bKs1",
		   "v=0\no=- 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\n"
		   "m=video 5000 RTP/AVP 31\n"
		   "m=audio 40004 RTP/AVP 18 8 0 96\na=rtpmap:96 telephone-event/8000\n");
	struct ev *in = wait_ev(f, &f->ph[0], SB_UA_EV_INCOMING, 0);
	assert_int_equal(sb_ua_answer(in->call), 0);
	char *r = raw_recv(f, "SIP/2.0 200 ", NULL);
	char *video = strstr(r, "m=video 0 RTP/AVP 31\r\n");
	char *audio = strstr(r, "m=audio ");
	assert_non_null(video);
	assert_non_null(audio);
	assert_true(video < audio);
	assert_non_null(strstr(audio, " RTP/AVP 8 96\r\n"));
	assert_non_null(strstr(r, "a=rtpmap:96 telephone-event/8000\r\n"));
	assert_non_null(strstr(r, "a=sendrecv\r\n"));
	char to[256], text[4096];
	hdr(r, "To", to, sizeof to);
	unsigned rp = f->raw_port;
	snprintf(text, sizeof text,
		 "ACK sip:alice@127.0.0.1:%u SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKa9\n"
		 "Max-Forwards: 70\nFrom: <sip:x@127.0.0.1>;tag=99\nTo: %s\nCall-ID: sdp1\n"
		 "CSeq: 1 ACK\nContent-Length: 0\n\n",
		 (unsigned)f->ph[0].port, rp, to);
	raw_send(f, f->ph[0].port, text);
	wait_ev(f, &f->ph[0], SB_UA_EV_ANSWERED, 0);

	/* the peer holds us */
	snprintf(text, sizeof text,
		 "INVITE sip:alice@127.0.0.1:%u SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKr1\n"
		 "Max-Forwards: 70\nFrom: <sip:x@127.0.0.1>;tag=99\nTo: %s\nCall-ID: sdp1\n"
		 "CSeq: 2 INVITE\nContact: <sip:x@127.0.0.1:%u>\nContent-Type: application/sdp\n"
		 "Content-Length: *\n\n"
		 "v=0\no=- 1 2 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\n"
		 "m=video 0 RTP/AVP 31\nm=audio 40004 RTP/AVP 8 96\na=rtpmap:96 telephone-event/8000\n"
		 "a=sendonly\n",
		 (unsigned)f->ph[0].port, rp, to, rp);
	raw_send(f, f->ph[0].port, text);
	r = raw_recv(f, "SIP/2.0 200 ", NULL);
	hdr(r, "CSeq", text, sizeof text);
	assert_string_equal(text, "2 INVITE");
	assert_non_null(strstr(r, "a=recvonly\r\n"));
	struct ev *h = wait_ev(f, &f->ph[0], SB_UA_EV_HELD, 0);
	assert_string_equal(h->reason, "remote hold");
	/* no hold of ours while their re-INVITE waits for its ACK */
	assert_int_equal(sb_ua_hold(in->call), EBUSY);
	snprintf(text, sizeof text,
		 "ACK sip:alice@127.0.0.1:%u SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKa8\n"
		 "Max-Forwards: 70\nFrom: <sip:x@127.0.0.1>;tag=99\nTo: %s\nCall-ID: sdp1\n"
		 "CSeq: 2 ACK\nContent-Length: 0\n\n",
		 (unsigned)f->ph[0].port, rp, to);
	raw_send(f, f->ph[0].port, text);
	run_for(f, 30);
	/* our hold now (inactive: they hold us), and theirs crossing it: 491 */
	assert_int_equal(sb_ua_hold(in->call), 0);
	r = raw_recv(f, "INVITE ", NULL);
	assert_non_null(strstr(r, "a=inactive\r\n"));
	snprintf(text, sizeof text,
		 "INVITE sip:alice@127.0.0.1:%u SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKr2\n"
		 "Max-Forwards: 70\nFrom: <sip:x@127.0.0.1>;tag=99\nTo: %s\nCall-ID: sdp1\n"
		 "CSeq: 3 INVITE\nContact: <sip:x@127.0.0.1:%u>\nContent-Length: 0\n\n",
		 (unsigned)f->ph[0].port, rp, to, rp);
	raw_send(f, f->ph[0].port, text);
	r = raw_recv(f, "SIP/2.0 491 ", NULL);

	/* nothing in common: 488 */
	raw_invite(f, "sdp2", "z9hG4bKs2",
		   "v=0\no=- 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\n"
		   "m=audio 40006 RTP/AVP 18\n");
	in = wait_ev(f, &f->ph[0], SB_UA_EV_INCOMING, 1);
	assert_int_equal(sb_ua_answer(in->call), 0);
	r = raw_recv(f, "SIP/2.0 488 ", NULL);
	struct ev *e = wait_ev(f, &f->ph[0], SB_UA_EV_ENDED, 0);
	assert_int_equal(e->code, 488);
}

/* The timers, with T1 = 20 ms (64*T1 = 1.28 s): a peer that never
 * answers (Timer B: 408), a CANCEL never followed by 487 (§9.1: given up
 * after 64*T1), our 2xx never ACKed (§13.3.1.4: BYE), a registrar that
 * never answers (Timer F: REGISTER_FAILED 408). */
static void test_scripted_timeouts(void **state)
{
	struct fx *f = *state;
	raw_open(f);
	struct phone_opts o = { .auto_answer_ms = -1, .t1_ms = 20, .raw_server = true,
				.password = "pw" };
	phone_start(f, 0, "alice", &o);
	uint64_t t0 = now_ms();
	struct ev *e = wait_ev(f, &f->ph[0], SB_UA_EV_REGISTER_FAILED, 0);
	assert_int_equal(e->code, 408);
	assert_string_equal(e->reason, "timeout");
	assert_true(now_ms() - t0 >= 1280);

	struct sb_call *ac;
	t0 = now_ms();
	assert_int_equal(sb_ua_call(f->ph[0].ua, "bob", &ac), 0);
	e = wait_ev(f, &f->ph[0], SB_UA_EV_ENDED, 0);
	assert_int_equal(e->code, 408);
	assert_string_equal(e->reason, "timeout");
	assert_true(now_ms() - t0 >= 1280);

	raw_drain(f); /* the retransmissions of that INVITE */
	assert_int_equal(sb_ua_call(f->ph[0].ua, "bob", &ac), 0);
	uint16_t from;
	char *inv = raw_recv(f, "INVITE ", &from);
	raw_respond(f, from, inv, "180 Ringing", "t1", NULL);
	wait_ev(f, &f->ph[0], SB_UA_EV_RINGING, 0);
	t0 = now_ms();
	assert_int_equal(sb_ua_hangup(ac), 0);
	char *can = raw_recv(f, "CANCEL ", NULL);
	raw_respond(f, from, can, "200 OK", "t1", NULL);
	e = wait_ev(f, &f->ph[0], SB_UA_EV_ENDED, 1);
	assert_int_equal(e->code, 487);
	assert_string_equal(e->reason, "cancelled");
	assert_true(now_ms() - t0 >= 1280);

	/* an incoming call answered and never ACKed */
	char text[4096];
	unsigned rp = f->raw_port;
	snprintf(text, sizeof text,
		 "INVITE sip:alice@127.0.0.1:%u SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKn1\n"
		 "Max-Forwards: 70\nFrom: <sip:x@127.0.0.1>;tag=77\nTo: <sip:alice@h>\nCall-ID: noack\n"
		 "CSeq: 1 INVITE\nContact: <sip:x@127.0.0.1:%u>\nContent-Length: 0\n\n",
		 (unsigned)f->ph[0].port, rp, rp);
	raw_send(f, f->ph[0].port, text);
	struct ev *in = wait_ev(f, &f->ph[0], SB_UA_EV_INCOMING, 0);
	assert_int_equal(sb_ua_answer(in->call), 0);
	char *bye = raw_recv(f, "BYE ", NULL);
	raw_respond(f, rp, bye, "200 OK", NULL, NULL);
	e = wait_ev(f, &f->ph[0], SB_UA_EV_ENDED, 2);
	assert_int_equal(e->code, 408);
	assert_string_equal(e->reason, "no ACK");
	assert_int_equal(count_ev(&f->ph[0], SB_UA_EV_ANSWERED), 0);
}

/* Registration with the library's registrar and digest verifier: 401,
 * credentials for the Request-URI, CSeq + 1, REGISTERED; a wrong
 * password fails once and is tried again after the back-off. */
static void test_register_auth(void **state)
{
	struct fx *f = *state;
	srv_start(f, false, SB_DIGEST_ALG_BIT(SB_DIGEST_SHA256) | SB_DIGEST_ALG_BIT(SB_DIGEST_MD5));
	struct phone_opts o = { .auto_answer_ms = -1, .with_server = true,
				.password = "alice-secret", .expires = 120 };
	phone_start(f, 0, "alice", &o);
	struct ev *e = wait_ev(f, &f->ph[0], SB_UA_EV_REGISTERED, 0);
	assert_int_equal(e->expires, 120);
	assert_null(e->call);
	const char *r1 = srv_got(f->srv, "REGISTER ", 0);
	const char *r2 = srv_got(f->srv, "REGISTER ", 1);
	assert_non_null(r1);
	assert_non_null(r2);
	assert_int_equal(strncmp(r1, "REGISTER sip:" DOMAIN " SIP/2.0\r\n", 29), 0);
	assert_null(strstr(r1, "Authorization:"));
	char v[1024], w[256];
	hdr(r1, "CSeq", v, sizeof v);
	assert_string_equal(v, "1 REGISTER");
	hdr(r2, "CSeq", v, sizeof v);
	assert_string_equal(v, "2 REGISTER");
	hdr(r1, "Call-ID", v, sizeof v);
	hdr(r2, "Call-ID", w, sizeof w);
	assert_string_equal(v, w);
	hdr(r2, "Contact", v, sizeof v);
	snprintf(w, sizeof w, "<sip:alice@127.0.0.1:%u>", (unsigned)f->ph[0].port);
	assert_string_equal(v, w);
	hdr(r2, "Expires", v, sizeof v);
	assert_string_equal(v, "120");
	hdr(r2, "Authorization", v, sizeof v);
	param(v, "uri", w, sizeof w);
	assert_string_equal(w, "sip:" DOMAIN);
	param(v, "algorithm", w, sizeof w);
	assert_string_equal(w, "SHA-256"); /* the first challenge */
	param(v, "nc", w, sizeof w);
	assert_string_equal(w, "00000001");
	/* the registrar holds the binding */
	const struct sb_binding *bs[2];
	assert_int_equal(sb_location_lookup(f->srv->loc, SB_LIT("sip:alice@" DOMAIN), bs, 2), 1);

	/* a wrong password */
	struct phone_opts ob = o;
	ob.password = "wrong";
	phone_start(f, 1, "bob", &ob);
	e = wait_ev(f, &f->ph[1], SB_UA_EV_REGISTER_FAILED, 0);
	assert_int_equal(e->code, 401);
	assert_int_equal(count_ev(&f->ph[1], SB_UA_EV_REGISTERED), 0);

	/* a clean shutdown unregisters */
	sb_ua_shutdown(f->ph[0].ua, done_h, &f->ph[0]);
	e = wait_ev(f, &f->ph[0], SB_UA_EV_UNREGISTERED, 0);
	assert_int_equal(e->code, 200);
	for (unsigned i = 0; i < 1000 && !f->ph[0].done; i++)
		assert_int_equal(sb_loop_poll(f->loop, 5), 0);
	assert_true(f->ph[0].done);
	assert_int_equal(sb_location_lookup(f->srv->loc, SB_LIT("sip:alice@" DOMAIN), bs, 2), 0);
	const char *un = NULL;
	for (unsigned k = 0; k < f->srv->nrx; k++)
		if (strncmp(f->srv->rx[k], "REGISTER ", 9) == 0 &&
		    strstr(f->srv->rx[k], "\r\nFrom: <sip:alice@"))
			un = f->srv->rx[k];
	assert_non_null(un);
	hdr(un, "Expires", v, sizeof v);
	assert_string_equal(v, "0");
}

/* A scripted registrar: the expiry granted comes from our Contact's
 * expires; the refresh comes at about 80% of it, with credentials at once
 * (nc 2 for the same nonce); after a failure the back-off doubles. */
static void test_scripted_refresh_backoff(void **state)
{
	struct fx *f = *state;
	raw_open(f);
	struct phone_opts o = { .auto_answer_ms = -1, .raw_server = true,
				.password = "alice-secret", .expires = 3600 };
	phone_start(f, 0, "alice", &o);
	uint16_t from;
	char *r = raw_recv(f, "REGISTER ", &from);
	raw_respond(f, from, r, "401 Unauthorized", "r1",
		    "WWW-Authenticate: Digest realm=\"" REALM "\", nonce=\"nn\", qop=\"auth\"\n"
		    "Content-Length: 0\n\n");
	r = raw_recv(f, "REGISTER ", NULL);
	char v[1024], w[64];
	hdr(r, "Authorization", v, sizeof v);
	param(v, "nc", w, sizeof w);
	assert_string_equal(w, "00000001");
	char extra[512];
	snprintf(extra, sizeof extra,
		 "Contact: <sip:other@192.0.2.1>;expires=100, <sip:alice@127.0.0.1:%u>;expires=2\n"
		 "Content-Length: 0\n\n",
		 (unsigned)f->ph[0].port);
	raw_respond(f, from, r, "200 OK", "r1", extra);
	struct ev *e = wait_ev(f, &f->ph[0], SB_UA_EV_REGISTERED, 0);
	assert_int_equal(e->expires, 2);
	uint64_t t0 = now_ms();
	r = raw_recv(f, "REGISTER ", NULL);
	uint64_t dt = now_ms() - t0;
	assert_true(dt >= 1400 && dt <= 2000); /* 80% of 2 s */
	hdr(r, "CSeq", v, sizeof v);
	assert_string_equal(v, "3 REGISTER");
	hdr(r, "Authorization", v, sizeof v);
	param(v, "nc", w, sizeof w);
	assert_string_equal(w, "00000002");
	raw_respond(f, from, r, "503 Service Unavailable", "r1", NULL);
	e = wait_ev(f, &f->ph[0], SB_UA_EV_REGISTER_FAILED, 0);
	assert_int_equal(e->code, 503);
	t0 = now_ms();
	r = raw_recv(f, "REGISTER ", NULL);
	dt = now_ms() - t0;
	assert_true(dt >= 900 && dt <= 1500);
	raw_respond(f, from, r, "503 Service Unavailable", "r1", NULL);
	wait_ev(f, &f->ph[0], SB_UA_EV_REGISTER_FAILED, 1);
	t0 = now_ms();
	r = raw_recv(f, "REGISTER ", NULL);
	dt = now_ms() - t0;
	assert_true(dt >= 1900 && dt <= 2600);
}

/* Through the library's proxy: both register (401), alice calls "bob"
 * (the proxy challenges the INVITE with 407), bob answers, the ACK and
 * the BYE follow the proxy's Record-Route. */
static void test_proxy_call(void **state)
{
	struct fx *f = *state;
	srv_start(f, true, 0);
	struct phone_opts oa = { .auto_answer_ms = -1, .with_server = true,
				 .password = "alice-secret" };
	struct phone_opts ob = { .auto_answer_ms = -1, .with_server = true,
				 .password = "bob-secret" };
	phone_start(f, 0, "alice", &oa);
	phone_start(f, 1, "bob", &ob);
	wait_ev(f, &f->ph[0], SB_UA_EV_REGISTERED, 0);
	wait_ev(f, &f->ph[1], SB_UA_EV_REGISTERED, 0);
	struct sb_call *ac;
	assert_int_equal(sb_ua_call(f->ph[0].ua, "bob", &ac), 0);
	struct ev *in = wait_ev(f, &f->ph[1], SB_UA_EV_INCOMING, 0);
	assert_string_equal(in->peer, "sip:alice@" DOMAIN);
	wait_ev(f, &f->ph[0], SB_UA_EV_RINGING, 0);
	assert_int_equal(sb_ua_answer(in->call), 0);
	wait_ev(f, &f->ph[0], SB_UA_EV_ANSWERED, 0);
	wait_ev(f, &f->ph[1], SB_UA_EV_ANSWERED, 0);
	const char *i1 = srv_got(f->srv, "INVITE sip:bob@" DOMAIN " ", 0);
	const char *i2 = srv_got(f->srv, "INVITE sip:bob@" DOMAIN " ", 1);
	assert_non_null(i1);
	assert_non_null(i2);
	assert_null(strstr(i1, "Proxy-Authorization"));
	char v[1024], w[256];
	hdr(i2, "CSeq", v, sizeof v);
	assert_string_equal(v, "2 INVITE");
	hdr(i2, "Proxy-Authorization", v, sizeof v);
	param(v, "uri", w, sizeof w);
	assert_string_equal(w, "sip:bob@" DOMAIN);
	/* alice's ACK: to bob's Contact through the proxy */
	char want[256];
	snprintf(want, sizeof want, "ACK sip:bob@127.0.0.1:%u SIP/2.0\r\n", (unsigned)f->ph[1].port);
	const char *ack = NULL;
	for (unsigned i = 0; i < 200 && !(ack = srv_got(f->srv, want, 0)); i++)
		run_for(f, 5);
	assert_non_null(ack);
	all_hdrs(ack, "Route", v, sizeof v);
	snprintf(want, sizeof want, "Route: <sip:127.0.0.1:%u;transport=udp;lr>\r\n",
		 (unsigned)f->srv->port);
	assert_string_equal(v, want);
	hdr(ack, "CSeq", v, sizeof v);
	assert_string_equal(v, "2 ACK");
	/* bob hangs up: his BYE goes through the proxy too */
	assert_int_equal(sb_ua_hangup(in->call), 0);
	wait_ev(f, &f->ph[0], SB_UA_EV_ENDED, 0);
	wait_ev(f, &f->ph[1], SB_UA_EV_ENDED, 0);
	snprintf(want, sizeof want, "BYE sip:alice@127.0.0.1:%u SIP/2.0\r\n",
		 (unsigned)f->ph[0].port);
	assert_non_null(srv_got(f->srv, want, 0));
	/* shutdown with a registration and no calls */
	sb_ua_shutdown(f->ph[1].ua, done_h, &f->ph[1]);
	for (unsigned i = 0; i < 1000 && !f->ph[1].done; i++)
		assert_int_equal(sb_loop_poll(f->loop, 5), 0);
	assert_true(f->ph[1].done);
	assert_int_equal(count_ev(&f->ph[1], SB_UA_EV_UNREGISTERED), 1);
}

/* alice registers and calls over TCP, bob over UDP, through the proxy;
 * then bob calls alice back over her TCP flow. */
static void test_tcp(void **state)
{
	struct fx *f = *state;
	srv_start(f, false, 0);
	struct phone_opts oa = { .auto_answer_ms = 0, .with_server = true,
				 .password = "alice-secret", .tcp = true };
	struct phone_opts ob = { .auto_answer_ms = 0, .with_server = true,
				 .password = "bob-secret" };
	phone_start(f, 0, "alice", &oa);
	phone_start(f, 1, "bob", &ob);
	wait_ev(f, &f->ph[0], SB_UA_EV_REGISTERED, 0);
	wait_ev(f, &f->ph[1], SB_UA_EV_REGISTERED, 0);
	const char *r = srv_got(f->srv, "REGISTER ", 0);
	for (unsigned k = 0; r && !strstr(r, "From: <sip:alice@"); k++)
		r = srv_got(f->srv, "REGISTER ", k + 1);
	assert_non_null(r);
	char v[512], w[256];
	hdr(r, "Via", v, sizeof v);
	assert_int_equal(strncmp(v, "SIP/2.0/TCP ", 12), 0);
	hdr(r, "Contact", v, sizeof v);
	snprintf(w, sizeof w, "<sip:alice@127.0.0.1:%u;transport=tcp>", (unsigned)f->ph[0].port);
	assert_string_equal(v, w);
	struct sb_call *ac;
	assert_int_equal(sb_ua_call(f->ph[0].ua, "bob", &ac), 0);
	wait_ev(f, &f->ph[0], SB_UA_EV_ANSWERED, 0);
	wait_ev(f, &f->ph[1], SB_UA_EV_ANSWERED, 0);
	assert_int_equal(sb_ua_hangup(ac), 0);
	wait_ev(f, &f->ph[1], SB_UA_EV_ENDED, 0);
	wait_ev(f, &f->ph[0], SB_UA_EV_ENDED, 0);
	struct sb_call *bc;
	assert_int_equal(sb_ua_call(f->ph[1].ua, "alice", &bc), 0);
	wait_ev(f, &f->ph[1], SB_UA_EV_ANSWERED, 1);
	wait_ev(f, &f->ph[0], SB_UA_EV_ANSWERED, 1);
	assert_int_equal(sb_ua_hangup(bc), 0);
	wait_ev(f, &f->ph[0], SB_UA_EV_ENDED, 1);
	wait_ev(f, &f->ph[1], SB_UA_EV_ENDED, 1);
}

/* sb_ua_shutdown hangs up calls (BYE) and tells done_h. */
static void test_shutdown_calls(void **state)
{
	struct fx *f = *state;
	phone_start(f, 0, "alice", &ringing);
	phone_start(f, 1, "bob", &ringing);
	phone_start(f, 2, "carol", &ringing);
	struct sb_call *ac;
	connect_ab(f, &ac);
	char carol[128];
	uri_of(f, 2, carol, sizeof carol);
	assert_int_equal(sb_ua_call(f->ph[0].ua, carol, NULL), 0);
	wait_ev(f, &f->ph[2], SB_UA_EV_INCOMING, 0);
	sb_ua_shutdown(f->ph[0].ua, done_h, &f->ph[0]);
	assert_int_equal(sb_ua_call(f->ph[0].ua, carol, NULL), EINVAL);
	for (unsigned i = 0; i < 1000 && !f->ph[0].done; i++)
		assert_int_equal(sb_loop_poll(f->loop, 5), 0);
	assert_true(f->ph[0].done);
	assert_int_equal(count_ev(&f->ph[0], SB_UA_EV_ENDED), 2);
	wait_ev(f, &f->ph[1], SB_UA_EV_ENDED, 0);
	struct ev *e = wait_ev(f, &f->ph[2], SB_UA_EV_ENDED, 0);
	assert_string_equal(e->reason, "cancelled");
}

/* Answering from inside the INCOMING event, and the auto answer. */
static void test_answer_in_event(void **state)
{
	struct fx *f = *state;
	phone_start(f, 0, "alice", &ringing);
	phone_start(f, 1, "bob", &ringing);
	f->ph[1].answer_incoming = true;
	char uri[128];
	uri_of(f, 1, uri, sizeof uri);
	struct sb_call *ac;
	assert_int_equal(sb_ua_call(f->ph[0].ua, uri, &ac), 0);
	wait_ev(f, &f->ph[0], SB_UA_EV_ANSWERED, 0);
	wait_ev(f, &f->ph[1], SB_UA_EV_ANSWERED, 0);
	assert_int_equal(sb_ua_hangup(ac), 0);
	wait_ev(f, &f->ph[1], SB_UA_EV_ENDED, 0);
}

/* ------------------------------------------------- what the review found */

#define RAW_SDP_HEAD "v=0\no=- 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\n"

/* A UDP socket on 127.0.0.1 standing for the scripted peer's RTP. */
static int rtp_open(uint16_t *port)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct sb_addr a = addr("127.0.0.1", 0);
	assert_int_equal(bind(fd, &a.u.sa, a.len), 0);
	a.len = sizeof a.u;
	assert_int_equal(getsockname(fd, &a.u.sa, &a.len), 0);
	*port = sb_addr_port(&a);
	return fd;
}

/* An RTP telephone-event packet (RFC 4733) for digit code ev. */
static void rtp_dtmf(int fd, uint16_t to, uint8_t pt, uint16_t seq, uint32_t ts, uint8_t ev)
{
	uint8_t b[16] = { 0x80, (uint8_t)(0x80 | pt), (uint8_t)(seq >> 8), (uint8_t)seq,
			  (uint8_t)(ts >> 24), (uint8_t)(ts >> 16), (uint8_t)(ts >> 8), (uint8_t)ts,
			  0x12, 0x34, 0x56, 0x78, ev, 10, 0, 160 };
	struct sb_addr a = addr("127.0.0.1", to);
	assert_int_equal(sendto(fd, b, sizeof b, 0, &a.u.sa, a.len), (ssize_t)sizeof b);
}

/* The port of the first m=audio of msg. */
static uint16_t audio_port(const char *msg)
{
	const char *m = strstr(msg, "m=audio ");
	assert_non_null(m);
	return (uint16_t)atoi(m + 8);
}

/* A request from the scripted peer to alice (phone 0): From
 * <sip:x@127.0.0.1>;tag=99, the To given, a new branch; extra lines (LF)
 * and an SDP body (or none). */
static void raw_request(struct fx *f, const char *method, const char *cid, const char *to,
			unsigned cseq, const char *extra, const char *sdp)
{
	static unsigned branch;
	char text[8192];
	unsigned rp = f->raw_port;
	snprintf(text, sizeof text,
		 "%s sip:alice@127.0.0.1:%u SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKq%u\n"
		 "Max-Forwards: 70\nFrom: <sip:x@127.0.0.1>;tag=99\nTo: %s\nCall-ID: %s\n"
		 "CSeq: %u %s\nContact: <sip:x@127.0.0.1:%u>\n%s%sContent-Length: *\n\n%s",
		 method, (unsigned)f->ph[0].port, rp, ++branch, to, cid, cseq, method, rp,
		 extra ? extra : "", sdp ? "Content-Type: application/sdp\n" : "", sdp ? sdp : "");
	raw_send(f, f->ph[0].port, text);
}

/* The scripted peer calls alice with sdp; alice answers (answer_incoming)
 * and gets the ACK.  to (the To of the 200, with alice's tag) for the
 * requests that follow; the port alice's answer names. */
static uint16_t raw_call_alice(struct fx *f, const char *cid, const char *sdp, char *to,
			       size_t cap)
{
	raw_request(f, "INVITE", cid, "<sip:alice@h>", 1, NULL, sdp);
	char *r = raw_recv(f, "SIP/2.0 200 ", NULL);
	hdr(r, "To", to, cap);
	uint16_t port = audio_port(r);
	raw_request(f, "ACK", cid, to, 1, NULL, NULL);
	return port;
}

/* Run the loop for ms; fail if the raw peer receives a message starting
 * with prefix meanwhile.  Others are dropped. */
static void raw_expect_none(struct fx *f, const char *prefix, unsigned ms)
{
	char buf[8192];
	uint64_t end = now_ms() + ms;
	for (unsigned i = 0; i < 100000 && now_ms() < end; i++) {
		ssize_t n = recv(f->raw, buf, sizeof buf - 1, 0);
		if (n > 0) {
			buf[n] = 0;
			if (strncmp(buf, prefix, strlen(prefix)) == 0)
				fail_msg("the raw peer got an unexpected \"%s\":\n%s", prefix, buf);
			continue;
		}
		assert_int_equal(sb_loop_poll(f->loop, 5), 0);
	}
}

/* HIGH: the user's handler hangs up on the first DTMF digit (the media
 * session goes), opens a socket and calls again, while a second DTMF
 * packet waits in the session's socket.  The session must not be read
 * into after it is freed (ASan), and the second digit is not told for a
 * call that was hung up. */
static void test_dtmf_handler_hangs_up(void **state)
{
	struct fx *f = *state;
	raw_open(f);
	uint16_t rport;
	int rtp = rtp_open(&rport);
	phone_start(f, 0, "alice", &ringing);
	char again[128], sdp[512], to[256];
	snprintf(again, sizeof again, "sip:bob@127.0.0.1:%u", (unsigned)f->raw_port);
	f->ph[0].answer_incoming = true;
	f->ph[0].redial = again;
	snprintf(sdp, sizeof sdp,
		 RAW_SDP_HEAD "m=audio %u RTP/AVP 0 101\na=rtpmap:101 telephone-event/8000\n",
		 (unsigned)rport);
	uint16_t mport = raw_call_alice(f, "dt1", sdp, to, sizeof to);
	wait_ev(f, &f->ph[0], SB_UA_EV_ANSWERED, 0);
	/* two digits, both waiting before the phone reads */
	rtp_dtmf(rtp, mport, 101, 100, 8000, 1);
	rtp_dtmf(rtp, mport, 101, 101, 16000, 2);
	struct ev *d = wait_ev(f, &f->ph[0], SB_UA_EV_DTMF, 0);
	assert_int_equal(d->digit, '1');
	char *bye = raw_recv(f, "BYE ", NULL);
	raw_respond(f, f->ph[0].port, bye, "200 OK", NULL, NULL);
	(void)raw_recv(f, "INVITE ", NULL); /* the call placed from the handler */
	struct ev *e = wait_ev(f, &f->ph[0], SB_UA_EV_ENDED, 0);
	assert_string_equal(e->reason, "bye");
	run_for(f, 100);
	assert_int_equal(count_ev(&f->ph[0], SB_UA_EV_DTMF), 1);
	close(rtp);
}

/* MEDIUM: our password answers only our outbound proxy's challenges: a
 * 407 for the registrar's realm (learnt from its 401) or the domain, a
 * 401 for the registrar's realm; a callee's 401 for another realm ends
 * the call with 401 and no second INVITE; without a server nothing is
 * answered. */
static void test_scripted_invite_auth_policy(void **state)
{
	struct fx *f = *state;
	raw_open(f);
	struct phone_opts o = { .auto_answer_ms = -1, .raw_server = true, .password = "pw" };
	phone_start(f, 0, "alice", &o);
	uint16_t from;
	char *r = raw_recv(f, "REGISTER ", &from);
	raw_respond(f, from, r, "401 Unauthorized", "r1",
		    "WWW-Authenticate: Digest realm=\"corp\", nonce=\"rn\", qop=\"auth\"\n"
		    "Content-Length: 0\n\n");
	r = raw_recv(f, "REGISTER ", NULL);
	char v[1024], w[256], extra[512];
	hdr(r, "Authorization", v, sizeof v);
	param(v, "realm", w, sizeof w);
	assert_string_equal(w, "corp");
	snprintf(extra, sizeof extra, "Contact: <sip:alice@127.0.0.1:%u>;expires=600\n"
		 "Content-Length: 0\n\n", (unsigned)f->ph[0].port);
	raw_respond(f, from, r, "200 OK", "r1", extra);
	wait_ev(f, &f->ph[0], SB_UA_EV_REGISTERED, 0);

	static const struct {
		const char *status, *challenge;
		bool answered;
		const char *cred;
	} cases[] = {
		{ "401 Unauthorized", "WWW-Authenticate: Digest realm=\"evil\", nonce=\"e1\"\n", false,
		  NULL },
		{ "407 Proxy Authentication Required",
		  "Proxy-Authenticate: Digest realm=\"evil\", nonce=\"e2\"\n", false, NULL },
		{ "407 Proxy Authentication Required",
		  "Proxy-Authenticate: Digest realm=\"corp\", nonce=\"c1\"\n", true,
		  "Proxy-Authorization" },
		{ "401 Unauthorized", "WWW-Authenticate: Digest realm=\"corp\", nonce=\"c2\"\n", true,
		  "Authorization" },
		{ "407 Proxy Authentication Required",
		  "Proxy-Authenticate: Digest realm=\"" DOMAIN "\", nonce=\"c3\"\n", true,
		  "Proxy-Authorization" },
		/* the domain is a proxy's realm, not a callee's 401 */
		{ "401 Unauthorized", "WWW-Authenticate: Digest realm=\"" DOMAIN "\", nonce=\"e3\"\n",
		  false, NULL },
	};
	for (unsigned k = 0; k < SB_ARRAY_LEN(cases); k++) {
		struct sb_call *ac;
		assert_int_equal(sb_ua_call(f->ph[0].ua, "bob", &ac), 0);
		char *inv = raw_recv(f, "INVITE ", NULL);
		assert_null(strstr(inv, "Authorization:"));
		char ch[512];
		snprintf(ch, sizeof ch, "%sContent-Length: 0\n\n", cases[k].challenge);
		raw_respond(f, from, inv, cases[k].status, "c1", ch);
		if (cases[k].answered) {
			inv = raw_recv(f, "INVITE ", NULL);
			hdr(inv, cases[k].cred, v, sizeof v);
			param(v, "realm", w, sizeof w);
			assert_string_not_equal(w, "evil");
			raw_respond(f, from, inv, "486 Busy Here", "c1", NULL);
			struct ev *e = wait_ev(f, &f->ph[0], SB_UA_EV_ENDED, k);
			assert_int_equal(e->code, 486);
		} else {
			struct ev *e = wait_ev(f, &f->ph[0], SB_UA_EV_ENDED, k);
			assert_int_equal(e->code, (unsigned)atoi(cases[k].status));
			raw_expect_none(f, "INVITE ", 300);
		}
	}

	/* no server: even the domain's 407 is the callee's */
	struct phone_opts oc = { .auto_answer_ms = -1, .password = "pw" };
	phone_start(f, 1, "carol", &oc);
	char uri[128];
	snprintf(uri, sizeof uri, "sip:bob@127.0.0.1:%u", (unsigned)f->raw_port);
	assert_int_equal(sb_ua_call(f->ph[1].ua, uri, NULL), 0);
	char *inv = raw_recv(f, "INVITE ", &from);
	raw_respond(f, from, inv, "407 Proxy Authentication Required", "d1",
		    "Proxy-Authenticate: Digest realm=\"" DOMAIN "\", nonce=\"d1\"\n"
		    "Content-Length: 0\n\n");
	struct ev *e = wait_ev(f, &f->ph[1], SB_UA_EV_ENDED, 0);
	assert_int_equal(e->code, 407);
	raw_expect_none(f, "INVITE ", 300);
}

/* MEDIUM: a dialog we cannot follow.  Without a server (a sips: Contact, a
 * host name, an unparsable Record-Route, 17 of them): the ACK still goes,
 * to the 2xx's source, then a BYE; ENDED "unroutable" and no ANSWERED.
 * With a server: a Contact that is no numeric sip: URI is reached through
 * it, and the call goes on. */
static void test_scripted_unroutable(void **state)
{
	struct fx *f = *state;
	raw_open(f);
	phone_start(f, 0, "alice", &ringing);
	char uri[128], sdp[256], many[2048], extra[4096];
	unsigned rp = f->raw_port;
	snprintf(uri, sizeof uri, "sip:bob@127.0.0.1:%u", rp);
	snprintf(sdp, sizeof sdp, RAW_SDP_HEAD "m=audio 40000 RTP/AVP 0\n");
	size_t o = 0;
	for (unsigned k = 0; k < 17; k++)
		o += (size_t)snprintf(many + o, sizeof many - o, "Record-Route: <sip:127.0.0.1:%u;lr>\n",
				      rp);
	char c_sips[128], c_host[128], c_ok[128], rr_bad[256];
	snprintf(c_sips, sizeof c_sips, "Contact: <sips:bob@127.0.0.1:%u>\n", rp);
	snprintf(c_host, sizeof c_host, "Contact: <sip:bob@host.invalid>\n");
	snprintf(c_ok, sizeof c_ok, "Contact: <sip:bob@127.0.0.1:%u>\n", rp);
	snprintf(rr_bad, sizeof rr_bad, "Record-Route: <sip:127.0.0.1:%u;lr>, @@@garbage\n", rp);
	const char *cases[][2] = {
		{ c_sips, "" }, { c_host, "" }, { c_ok, rr_bad }, { c_ok, many },
	};
	for (unsigned k = 0; k < SB_ARRAY_LEN(cases); k++) {
		assert_int_equal(sb_ua_call(f->ph[0].ua, uri, NULL), 0);
		uint16_t from;
		char *inv = raw_recv(f, "INVITE ", &from);
		snprintf(extra, sizeof extra,
			 "%s%sContent-Type: application/sdp\nContent-Length: *\n\n%s", cases[k][0],
			 cases[k][1], sdp);
		char tag[16];
		snprintf(tag, sizeof tag, "u%u", k);
		raw_respond(f, from, inv, "200 OK", tag, extra);
		char *ack = raw_recv(f, "ACK ", NULL);
		char v[256];
		hdr(ack, "To", v, sizeof v);
		assert_non_null(strstr(v, tag));
		char *bye = raw_recv(f, "BYE ", NULL);
		raw_respond(f, from, bye, "200 OK", NULL, NULL);
		struct ev *e = wait_ev(f, &f->ph[0], SB_UA_EV_ENDED, k);
		assert_string_equal(e->reason, "unroutable");
		assert_int_equal(count_ev(&f->ph[0], SB_UA_EV_ANSWERED), 0);
	}
}

/* With a server, a Contact that is no numeric sip: URI (a host name, a
 * sips: URI) is reached through it: the ACK and the BYE go there, and
 * the call is a call. */
static void test_scripted_unroutable_via_server(void **state)
{
	struct fx *f = *state;
	raw_open(f);
	char sdp[256], extra[4096];
	snprintf(sdp, sizeof sdp, RAW_SDP_HEAD "m=audio 40000 RTP/AVP 0\n");
	struct phone_opts os = { .auto_answer_ms = -1, .raw_server = true };
	phone_start(f, 1, "carol", &os);
	(void)raw_recv(f, "REGISTER ", NULL);
	const char *contacts[] = { "Contact: <sip:bob@host.invalid>\n",
				   "Contact: <sips:bob@127.0.0.1:5061>\n" };
	for (unsigned k = 0; k < SB_ARRAY_LEN(contacts); k++) {
		struct sb_call *cc;
		assert_int_equal(sb_ua_call(f->ph[1].ua, "bob", &cc), 0);
		uint16_t from;
		char *inv = raw_recv(f, "INVITE ", &from);
		snprintf(extra, sizeof extra, "%sContent-Type: application/sdp\nContent-Length: *\n\n%s",
			 contacts[k], sdp);
		raw_respond(f, from, inv, "200 OK", "s1", extra);
		char *ack = raw_recv(f, "ACK ", NULL);
		const char *want = k ? "ACK sips:bob@127.0.0.1:5061 " : "ACK sip:bob@host.invalid ";
		assert_int_equal(strncmp(ack, want, strlen(want)), 0);
		wait_ev(f, &f->ph[1], SB_UA_EV_ANSWERED, k);
		assert_int_equal(sb_ua_hangup(cc), 0);
		char *bye = raw_recv(f, "BYE ", NULL);
		raw_respond(f, from, bye, "200 OK", NULL, NULL);
		struct ev *e = wait_ev(f, &f->ph[1], SB_UA_EV_ENDED, k);
		assert_string_equal(e->reason, "bye");
	}
}

/* The other side of it: an INVITE whose Contact we cannot reach (sips:,
 * no server).  Our requests in that dialog (the BYE) go where the INVITE
 * came from, instead of nowhere. */
static void test_scripted_uas_unroutable_contact(void **state)
{
	struct fx *f = *state;
	raw_open(f);
	phone_start(f, 0, "alice", &ringing);
	f->ph[0].answer_incoming = true;
	char text[4096], sdp[256], to[256];
	unsigned rp = f->raw_port;
	snprintf(sdp, sizeof sdp, RAW_SDP_HEAD "m=audio 40000 RTP/AVP 0\n");
	snprintf(text, sizeof text,
		 "INVITE sip:alice@127.0.0.1:%u SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKus1\n"
		 "Max-Forwards: 70\nFrom: <sip:x@127.0.0.1>;tag=99\nTo: <sip:alice@h>\nCall-ID: us1\n"
		 "CSeq: 1 INVITE\nContact: <sips:x@127.0.0.1:%u>\nContent-Type: application/sdp\n"
		 "Content-Length: *\n\n%s",
		 (unsigned)f->ph[0].port, rp, rp, sdp);
	raw_send(f, f->ph[0].port, text);
	char *r = raw_recv(f, "SIP/2.0 200 ", NULL);
	hdr(r, "To", to, sizeof to);
	raw_request(f, "ACK", "us1", to, 1, NULL, NULL);
	struct ev *a = wait_ev(f, &f->ph[0], SB_UA_EV_ANSWERED, 0);
	assert_int_equal(sb_ua_hangup(a->call), 0);
	char *bye = raw_recv(f, "BYE ", NULL);
	assert_int_equal(strncmp(bye, "BYE sips:x@127.0.0.1:", 21), 0);
	raw_respond(f, f->ph[0].port, bye, "200 OK", NULL, NULL);
	struct ev *e = wait_ev(f, &f->ph[0], SB_UA_EV_ENDED, 0);
	assert_string_equal(e->reason, "bye");
}

/* MEDIUM: transferee.  A REFER whose new call fails ends its
 * subscription with the final NOTIFY: the next REFER gets 202 again; one
 * while a transfer goes on gets 403; a Replaces too long for the INVITE
 * gets 400 "Replaces Too Long" (and no INVITE). */
static void test_scripted_refer_again(void **state)
{
	struct fx *f = *state;
	raw_open(f);
	phone_start(f, 0, "alice", &ringing);
	f->ph[0].answer_incoming = true;
	char to[256], sdp[256], rt[256], v[512];
	snprintf(sdp, sizeof sdp, RAW_SDP_HEAD "m=audio 40000 RTP/AVP 0\n");
	(void)raw_call_alice(f, "rf1", sdp, to, sizeof to);
	wait_ev(f, &f->ph[0], SB_UA_EV_ANSWERED, 0);
	snprintf(rt, sizeof rt, "Refer-To: <sip:carol@127.0.0.1:%u>\n", (unsigned)f->raw_port);
	unsigned cseq = 2;
	char events[2][64];
	for (unsigned round = 0; round < 2; round++, cseq++) {
		raw_request(f, "REFER", "rf1", to, cseq, rt, NULL);
		char *inv = raw_recv(f, "INVITE ", NULL);
		char *r = raw_recv(f, "SIP/2.0 ", NULL);
		assert_int_equal(strncmp(r, "SIP/2.0 202 ", 12), 0);
		char *n = raw_recv(f, "NOTIFY ", NULL);
		hdr(n, "Event", events[round], sizeof events[0]);
		raw_respond(f, f->ph[0].port, n, "200 OK", NULL, NULL);
		if (round == 1) {
			/* not now: this transfer goes on */
			raw_request(f, "REFER", "rf1", to, ++cseq, rt, NULL);
			r = raw_recv(f, "SIP/2.0 ", NULL);
			assert_int_equal(strncmp(r, "SIP/2.0 403 ", 12), 0);
		}
		raw_respond(f, f->ph[0].port, inv, "486 Busy Here", "t1", NULL);
		n = raw_recv(f, "NOTIFY ", NULL);
		assert_non_null(strstr(n, "\r\n\r\nSIP/2.0 486 "));
		hdr(n, "Subscription-State", v, sizeof v);
		assert_int_equal(strncmp(v, "terminated", 10), 0);
		raw_respond(f, f->ph[0].port, n, "200 OK", NULL, NULL);
		run_for(f, 50);
	}
	/* RFC 3515 §2.4.6: the NOTIFYs name their REFER by its CSeq */
	assert_string_equal(events[0], "refer;id=2");
	assert_string_equal(events[1], "refer;id=3");
	/* a Replaces that cannot go into the INVITE (it would not replace) */
	char big[2048];
	int l = snprintf(big, sizeof big, "Refer-To: <sip:carol@127.0.0.1:%u?Replaces=abc%%3Bto-tag%%3D1"
			 "%%3Bfrom-tag%%3D2", (unsigned)f->raw_port);
	for (unsigned k = 0; k < 990; k++)
		big[l++] = 'x';
	snprintf(big + l, sizeof big - (size_t)l, ">\nReferred-By: <sip:x@127.0.0.1>\n");
	raw_request(f, "REFER", "rf1", to, cseq++, big, NULL);
	char *r = raw_recv(f, "SIP/2.0 ", NULL);
	assert_int_equal(strncmp(r, "SIP/2.0 400 Replaces Too Long\r\n", 31), 0);
	raw_expect_none(f, "INVITE ", 200);
	/* the two calls to carol ended (486); the call with x goes on */
	assert_int_equal(count_ev(&f->ph[0], SB_UA_EV_ENDED), 2);
	assert_non_null(sb_ua_call_by_id(f->ph[0].ua, find_ev(&f->ph[0], SB_UA_EV_ANSWERED, 0)->call_id));
}

/* MEDIUM: transferor.  A 202 and then no NOTIFY: TRANSFER_FAILED 408
 * after 64*T1; a new transfer works after it (its NOTIFYs name it by its
 * CSeq; one naming the old REFER gets 481). */
static void test_scripted_refer_timeout(void **state)
{
	struct fx *f = *state;
	raw_open(f);
	struct phone_opts o = { .auto_answer_ms = -1, .t1_ms = 20 };
	phone_start(f, 0, "alice", &o);
	char uri[128], extra[1024];
	snprintf(uri, sizeof uri, "sip:bob@127.0.0.1:%u", (unsigned)f->raw_port);
	struct sb_call *ac;
	assert_int_equal(sb_ua_call(f->ph[0].ua, uri, &ac), 0);
	uint16_t from;
	char *inv = raw_recv(f, "INVITE ", &from);
	snprintf(extra, sizeof extra,
		 "Contact: <sip:bob@127.0.0.1:%u>\nContent-Type: application/sdp\nContent-Length: *\n\n"
		 RAW_SDP_HEAD "m=audio 40000 RTP/AVP 0\n", (unsigned)f->raw_port);
	raw_respond(f, from, inv, "200 OK", "x1", extra);
	(void)raw_recv(f, "ACK ", NULL);
	wait_ev(f, &f->ph[0], SB_UA_EV_ANSWERED, 0);
	assert_int_equal(sb_ua_transfer(ac, "sip:carol@127.0.0.1:9"), 0);
	char *ref = raw_recv(f, "REFER ", NULL);
	char cs1[64], v[512];
	hdr(ref, "CSeq", cs1, sizeof cs1);
	raw_respond(f, from, ref, "202 Accepted", NULL, NULL);
	uint64_t t0 = now_ms();
	struct ev *e = wait_ev(f, &f->ph[0], SB_UA_EV_TRANSFER_FAILED, 0);
	assert_int_equal(e->code, 408);
	assert_true(now_ms() - t0 >= 64 * 20 - 50);
	/* again */
	assert_int_equal(sb_ua_transfer(ac, "sip:carol@127.0.0.1:9"), 0);
	ref = raw_recv(f, "REFER ", NULL);
	char cs2[64];
	hdr(ref, "CSeq", cs2, sizeof cs2);
	raw_respond(f, from, ref, "202 Accepted", NULL, NULL);
	hdr(ref, "To", v, sizeof v); /* the REFER's To: alice's From */
	char from_hdr[256], to_hdr[256], cid[256];
	hdr(ref, "From", from_hdr, sizeof from_hdr);
	hdr(ref, "To", to_hdr, sizeof to_hdr);
	hdr(ref, "Call-ID", cid, sizeof cid);
	char text[4096];
	for (unsigned k = 0; k < 2; k++) {
		/* the old REFER's subscription is over: 481; then ours */
		snprintf(text, sizeof text,
			 "NOTIFY sip:alice@127.0.0.1:%u SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:%u;"
			 "branch=z9hG4bKnt%u\nMax-Forwards: 70\nFrom: %s\nTo: %s\nCall-ID: %s\n"
			 "CSeq: %u NOTIFY\nContact: <sip:bob@127.0.0.1:%u>\nEvent: refer;id=%u\n"
			 "Subscription-State: terminated;reason=noresource\n"
			 "Content-Type: message/sipfrag;version=2.0\nContent-Length: *\n\nSIP/2.0 200 OK\n",
			 (unsigned)f->ph[0].port, (unsigned)f->raw_port, k, to_hdr, from_hdr, cid,
			 10 + k, (unsigned)f->raw_port, (unsigned)atoi(k ? cs2 : cs1));
		raw_send(f, f->ph[0].port, text);
		char *r = raw_recv(f, "SIP/2.0 ", NULL);
		assert_int_equal(strncmp(r, k ? "SIP/2.0 200 " : "SIP/2.0 481 ", 12), 0);
	}
	e = wait_ev(f, &f->ph[0], SB_UA_EV_TRANSFERRED, 0);
	assert_int_equal(e->code, 200);
	char *bye = raw_recv(f, "BYE ", NULL);
	raw_respond(f, from, bye, "200 OK", NULL, NULL);
	e = wait_ev(f, &f->ph[0], SB_UA_EV_ENDED, 0);
	assert_string_equal(e->reason, "transferred");
	assert_int_equal(count_ev(&f->ph[0], SB_UA_EV_TRANSFER_FAILED), 1);
}

/* The telephone-event payload type our answer names is the one the media
 * session uses: an offer "0 101 100" whose rtpmap for 100 comes first is
 * answered with 101 (the m= line's order), our digits go out as 101, and
 * a packet of 100 (not in the answer) is no digit. */
static void test_scripted_te_order(void **state)
{
	struct fx *f = *state;
	raw_open(f);
	uint16_t rport;
	int rtp = rtp_open(&rport);
	phone_start(f, 0, "alice", &ringing);
	f->ph[0].answer_incoming = true;
	char sdp[512], to[256];
	snprintf(sdp, sizeof sdp,
		 RAW_SDP_HEAD "m=audio %u RTP/AVP 0 101 100\na=rtpmap:100 telephone-event/8000\n"
		 "a=rtpmap:101 telephone-event/8000\n", (unsigned)rport);
	raw_request(f, "INVITE", "te1", "<sip:alice@h>", 1, NULL, sdp);
	char *r = raw_recv(f, "SIP/2.0 200 ", NULL);
	assert_non_null(strstr(r, " RTP/AVP 0 101\r\n"));
	assert_non_null(strstr(r, "a=rtpmap:101 telephone-event/8000\r\n"));
	assert_null(strstr(r, "a=rtpmap:100"));
	hdr(r, "To", to, sizeof to);
	uint16_t mport = audio_port(r);
	raw_request(f, "ACK", "te1", to, 1, NULL, NULL);
	struct ev *a = wait_ev(f, &f->ph[0], SB_UA_EV_ANSWERED, 0);
	assert_int_equal(sb_ua_dtmf(a->call, "5"), 0);
	/* what the phone sends: audio (0) and events, as 101 */
	bool te101 = false, te100 = false;
	uint64_t end = now_ms() + 1500;
	while (now_ms() < end && !te101) {
		uint8_t b[2048];
		ssize_t n = recv(rtp, b, sizeof b, 0);
		if (n >= 12) {
			te101 |= (b[1] & 0x7f) == 101;
			te100 |= (b[1] & 0x7f) == 100;
			continue;
		}
		assert_int_equal(sb_loop_poll(f->loop, 5), 0);
	}
	assert_true(te101);
	assert_false(te100);
	/* what it takes: 101, not 100 */
	rtp_dtmf(rtp, mport, 100, 200, 8000, 7);
	rtp_dtmf(rtp, mport, 101, 201, 16000, 3);
	struct ev *d = wait_ev(f, &f->ph[0], SB_UA_EV_DTMF, 0);
	assert_int_equal(d->digit, '3');
	run_for(f, 100);
	assert_int_equal(count_ev(&f->ph[0], SB_UA_EV_DTMF), 1);
	close(rtp);
}

/* 50 forks answer 2xx: at most UA_MAX_FORKS (8) of them are ACKed and
 * BYEd; the first is the call. */
static void test_scripted_forks(void **state)
{
	struct fx *f = *state;
	raw_open(f);
	phone_start(f, 0, "alice", &ringing);
	char uri[128], extra[1024];
	snprintf(uri, sizeof uri, "sip:bob@127.0.0.1:%u", (unsigned)f->raw_port);
	assert_int_equal(sb_ua_call(f->ph[0].ua, uri, NULL), 0);
	uint16_t from;
	char *inv = raw_recv(f, "INVITE ", &from);
	snprintf(extra, sizeof extra,
		 "Contact: <sip:bob@127.0.0.1:%u>\nContent-Type: application/sdp\nContent-Length: *\n\n"
		 RAW_SDP_HEAD "m=audio 40000 RTP/AVP 0\n", (unsigned)f->raw_port);
	for (unsigned k = 0; k < 50; k++) {
		char tag[16];
		snprintf(tag, sizeof tag, "fork%u", k);
		raw_respond(f, from, inv, "200 OK", tag, extra);
	}
	/* every BYE the phone sends in 1.5 s, by To tag */
	char tags[64][32];
	unsigned ntags = 0, nbyes = 0;
	uint64_t end = now_ms() + 1500;
	char buf[8192];
	while (now_ms() < end) {
		ssize_t n = recv(f->raw, buf, sizeof buf - 1, 0);
		if (n <= 0) {
			assert_int_equal(sb_loop_poll(f->loop, 5), 0);
			continue;
		}
		buf[n] = 0;
		if (strncmp(buf, "BYE ", 4) != 0)
			continue;
		nbyes++;
		char to[256], t[32];
		hdr(buf, "To", to, sizeof to);
		param(to, "tag", t, sizeof t);
		unsigned k;
		for (k = 0; k < ntags && strcmp(tags[k], t); k++)
			;
		if (k == ntags && ntags < 64)
			snprintf(tags[ntags++], sizeof tags[0], "%s", t);
		raw_respond(f, from, buf, "200 OK", NULL, NULL);
	}
	assert_true(ntags >= 1);
	assert_true(ntags <= 8);
	assert_true(nbyes <= 8);
	struct ev *a = wait_ev(f, &f->ph[0], SB_UA_EV_ANSWERED, 0);
	assert_int_equal(a->code, 200);
}

/* Control bytes in a reason phrase do not reach the user: '?'. */
static void test_scripted_control_bytes(void **state)
{
	struct fx *f = *state;
	raw_open(f);
	struct phone_opts o = { .auto_answer_ms = -1, .raw_server = true, .password = "pw" };
	phone_start(f, 0, "alice", &o);
	uint16_t from;
	char *r = raw_recv(f, "REGISTER ", &from);
	raw_respond(f, from, r, "403 Go\x1b[31mAway\x7f", "r1", NULL);
	struct ev *e = wait_ev(f, &f->ph[0], SB_UA_EV_REGISTER_FAILED, 0);
	assert_int_equal(e->code, 403);
	assert_string_equal(e->reason, "Go?[31mAway?");
}

/* RFC 3891 §3: a Replaces with early-only naming a confirmed dialog: 486. */
static void test_scripted_replaces_early_only(void **state)
{
	struct fx *f = *state;
	raw_open(f);
	phone_start(f, 0, "alice", &ringing);
	f->ph[0].answer_incoming = true;
	char to[256], sdp[256], tag[64], extra[512];
	snprintf(sdp, sizeof sdp, RAW_SDP_HEAD "m=audio 40000 RTP/AVP 0\n");
	(void)raw_call_alice(f, "eo1", sdp, to, sizeof to);
	wait_ev(f, &f->ph[0], SB_UA_EV_ANSWERED, 0);
	param(to, "tag", tag, sizeof tag);
	snprintf(extra, sizeof extra, "Replaces: eo1;to-tag=%s;from-tag=99;early-only\n", tag);
	raw_request(f, "INVITE", "eo2", "<sip:alice@h>", 1, extra, sdp);
	char *r = raw_recv(f, "SIP/2.0 ", NULL);
	assert_int_equal(strncmp(r, "SIP/2.0 486 ", 12), 0);
	/* without early-only it replaces */
	snprintf(extra, sizeof extra, "Replaces: eo1;to-tag=%s;from-tag=99\n", tag);
	raw_request(f, "INVITE", "eo3", "<sip:alice@h>", 1, extra, sdp);
	struct ev *in = wait_ev(f, &f->ph[0], SB_UA_EV_INCOMING, 1);
	assert_string_equal(in->reason, "replaces");
}

/* An IPv6 offer to an IPv4 phone: 488, not a 200 without media. */
static void test_scripted_offer_v6(void **state)
{
	struct fx *f = *state;
	raw_open(f);
	phone_start(f, 0, "alice", &ringing);
	f->ph[0].answer_incoming = true;
	raw_request(f, "INVITE", "v6", "<sip:alice@h>", 1, NULL,
		    "v=0\no=- 1 1 IN IP6 ::1\ns=-\nc=IN IP6 ::1\nt=0 0\nm=audio 40000 RTP/AVP 0\n");
	char *r = raw_recv(f, "SIP/2.0 ", NULL);
	if (strncmp(r, "SIP/2.0 1", 9) == 0)
		r = raw_recv(f, "SIP/2.0 4", NULL);
	assert_int_equal(strncmp(r, "SIP/2.0 488 ", 12), 0);
	struct ev *e = wait_ev(f, &f->ph[0], SB_UA_EV_ENDED, 0);
	assert_int_equal(e->code, 488);
	assert_int_equal(count_ev(&f->ph[0], SB_UA_EV_ANSWERED), 0);
}

/* RFC 3264 §8.2: a re-INVITE removing the audio (port 0) is answered
 * with port 0, and the call goes on (and gets its audio back later). */
static void test_scripted_reinvite_port0(void **state)
{
	struct fx *f = *state;
	raw_open(f);
	phone_start(f, 0, "alice", &ringing);
	f->ph[0].answer_incoming = true;
	char *r;
	char to[256], sdp[256];
	snprintf(sdp, sizeof sdp, RAW_SDP_HEAD "m=audio 40000 RTP/AVP 0\n");
	(void)raw_call_alice(f, "p0", sdp, to, sizeof to);
	wait_ev(f, &f->ph[0], SB_UA_EV_ANSWERED, 0);
	raw_request(f, "INVITE", "p0", to, 2, NULL,
		    RAW_SDP_HEAD "m=audio 0 RTP/AVP 0\n");
	r = raw_recv(f, "SIP/2.0 ", NULL);
	assert_int_equal(strncmp(r, "SIP/2.0 200 ", 12), 0);
	assert_non_null(strstr(r, "\r\nm=audio 0 RTP/AVP 0\r\n"));
	raw_request(f, "ACK", "p0", to, 2, NULL, NULL);
	/* and back */
	raw_request(f, "INVITE", "p0", to, 3, NULL, sdp);
	r = raw_recv(f, "SIP/2.0 ", NULL);
	assert_int_equal(strncmp(r, "SIP/2.0 200 ", 12), 0);
	assert_null(strstr(r, "m=audio 0 "));
	raw_request(f, "ACK", "p0", to, 3, NULL, NULL);
	run_for(f, 50);
	assert_int_equal(count_ev(&f->ph[0], SB_UA_EV_ENDED), 0);
}

/* Our offer in the 2xx, an answer in the ACK we cannot use: BYE, ENDED
 * 488, no ANSWERED (not a silent call). */
static void test_scripted_ack_unusable(void **state)
{
	struct fx *f = *state;
	raw_open(f);
	phone_start(f, 0, "alice", &ringing);
	f->ph[0].answer_incoming = true;
	char *r;
	struct ev *e;
	raw_request(f, "INVITE", "ak", "<sip:alice@h>", 1, NULL, NULL);
	r = raw_recv(f, "SIP/2.0 200 ", NULL);
	char to2[256];
	hdr(r, "To", to2, sizeof to2);
	raw_request(f, "ACK", "ak", to2, 1, NULL, RAW_SDP_HEAD "m=audio 40000 RTP/AVP 18\n");
	char *bye = raw_recv(f, "BYE ", NULL);
	char v[256];
	hdr(bye, "Call-ID", v, sizeof v);
	assert_string_equal(v, "ak");
	raw_respond(f, f->ph[0].port, bye, "200 OK", NULL, NULL);
	e = wait_ev(f, &f->ph[0], SB_UA_EV_ENDED, 0);
	assert_int_equal(e->code, 488);
	assert_int_equal(count_ev(&f->ph[0], SB_UA_EV_ANSWERED), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_event_names),
		cmocka_unit_test_setup_teardown(test_alloc_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_call_answer_bye, setup, teardown),
		cmocka_unit_test_setup_teardown(test_answer_in_event, setup, teardown),
		cmocka_unit_test_setup_teardown(test_busy_decline_dnd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forward_always, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forward_noanswer_and_busy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scripted_ack_route_set, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scripted_invite_auth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scripted_481_options, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scripted_sdp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scripted_timeouts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_register_auth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scripted_refresh_backoff, setup, teardown),
		cmocka_unit_test_setup_teardown(test_proxy_call, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hold_resume, setup, teardown),
		cmocka_unit_test_setup_teardown(test_call_waiting, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dtmf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blind_transfer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_attended_transfer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shutdown_calls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dtmf_handler_hangs_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scripted_invite_auth_policy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scripted_unroutable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scripted_unroutable_via_server, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scripted_uas_unroutable_contact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scripted_refer_again, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scripted_refer_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scripted_te_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scripted_forks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scripted_control_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scripted_replaces_early_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scripted_offer_v6, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scripted_reinvite_port0, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scripted_ack_unusable, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
