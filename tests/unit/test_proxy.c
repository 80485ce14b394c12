/* Unit tests for the proxy core (RFC 3261 §16) on the real transaction
 * layer, location service and registrar, with the loop's manual clock and a
 * send callback that captures every message instead of a transport.  Each
 * test injects messages as a transport would and asserts the exact
 * messages that leave: forwarding (§16.6), the stateless errors (§16.3),
 * loop detection, response relay and hop-by-hop ACK (§16.7), CANCEL
 * (§16.10) and parallel forking. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>

#include <cmocka.h>

#include "switchboard/location.h"
#include "switchboard/proxy.h"
#include "switchboard/registrar.h"

#include "sipmsgutil.h"

#define MAX_SENT 256

struct sent {
	char *buf;
	size_t len;
	struct sb_tp_dest dst;
};

struct fx {
	struct sb_loop *loop;
	struct sb_location *loc;
	struct sb_registrar *reg;
	struct sb_proxy *proxy;
	struct sent sent[MAX_SENT];
	unsigned nsent;
	unsigned seen;          /* sent[] entries already looked at */
	unsigned nlog_rejected; /* INFO "rejected with" lines logged */
	unsigned nlog_suppressed; /* "... suppressed" summary lines */
	char last_suppressed[256];
};

static void log_h(enum sb_log_level lvl, const char *line, void *arg)
{
	struct fx *f = arg;
	(void)lvl;
	if (strncmp(line, "rejected with ", 14) == 0)
		f->nlog_rejected++;
	if (strstr(line, "suppressed")) {
		f->nlog_suppressed++;
		snprintf(f->last_suppressed, sizeof f->last_suppressed, "%s", line);
	}
}

static int send_h(const struct sb_tp_dest *dst, const char *buf, size_t len, void *arg)
{
	struct fx *f = arg;
	/* the transport's RFC 3261 §18.1.1 rule */
	if (dst->proto == SB_TP_UDP && len > SB_TP_UDP_REQUEST_MAX && strncmp(buf, "SIP/", 4) != 0)
		return EMSGSIZE;
	assert_true(f->nsent < MAX_SENT);
	struct sent *s = &f->sent[f->nsent++];
	s->buf = malloc(len + 1);
	assert_non_null(s->buf);
	memcpy(s->buf, buf, len);
	s->buf[len] = 0;
	s->len = len;
	s->dst = *dst;
	return 0;
}

static int register_h(const struct sb_tp_rx *rx, uint64_t token, struct sb_buf *out, void *arg)
{
	struct fx *f = arg;
	return sb_registrar_handle(f->reg, rx->msg, rx, token, out);
}

/* Options a test asks for through cmocka's initial state. */
struct opts {
	bool recurse;
	enum sb_proxy_fork fork;
};

static int setup(void **state)
{
	const struct opts *o = *state;
	struct fx *f = calloc(1, sizeof *f);
	assert_non_null(f);
	struct sb_loop_cfg lc = { .manual_clock = true };
	assert_int_equal(sb_loop_alloc(&f->loop, &lc), 0);
	struct sb_location_cfg loc = { .loop = f->loop };
	assert_int_equal(sb_location_alloc(&f->loc, &loc), 0);
	static const char *const doms[] = { "example.com", "192.0.2.10", NULL };
	struct sb_registrar_cfg rc = { .location = f->loc, .loop = f->loop, .domains = doms };
	assert_int_equal(sb_registrar_alloc(&f->reg, &rc), 0);
	struct sb_proxy_cfg pc = {
		.loop = f->loop,
		.location = f->loc,
		.send_h = send_h,
		.send_arg = f,
		.register_h = register_h,
		.register_arg = f,
		.domains = { "example.com", "192.0.2.10" },
		.ndomains = 2,
		.nlisten = 2,
		.recurse_on_3xx = o ? o->recurse : false,
		.fork = o ? o->fork : SB_FORK_PARALLEL,
		.log_h = log_h,
		.log_arg = f,
		.log_level = SB_LOG_INFO,
	};
	pc.listen[0].proto = SB_TP_UDP;
	pc.listen[0].addr = addr("192.0.2.10", 5060);
	pc.listen[1].proto = SB_TP_TCP;
	pc.listen[1].addr = addr("192.0.2.10", 5060);
	assert_int_equal(sb_proxy_alloc(&f->proxy, &pc), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	sb_proxy_free(f->proxy);
	sb_registrar_free(f->reg);
	sb_location_free(f->loc);
	sb_loop_free(f->loop);
	for (unsigned k = 0; k < f->nsent; k++)
		free(f->sent[k].buf);
	free(f);
	return 0;
}

/* Inject text (LF line ends become CRLF) from src over proto, as the
 * transport would. */
static void inject_from(struct fx *f, const char *text, enum sb_tp_proto proto, const char *ip,
			uint16_t port)
{
	proxy_inject(f->proxy, text, proto, ip, port);
}

/* Inject a message sent by the proxy back as if it came from ip:port. */
static void inject_raw(struct fx *f, const char *buf, const char *ip, uint16_t port)
{
	inject_from(f, buf, SB_TP_UDP, ip, port);
}

/* The next message sent, checked to go to ip:port over proto. */
static const struct sent *next_sent(struct fx *f, enum sb_tp_proto proto, const char *ip,
				    uint16_t port)
{
	assert_true(f->seen < f->nsent);
	const struct sent *s = &f->sent[f->seen++];
	struct sb_addr want = addr(ip, port);
	char a[SB_ADDR_STR_MAX], b[SB_ADDR_STR_MAX];
	if (!sb_addr_eq(&s->dst.addr, &want) || s->dst.proto != proto)
		fail_msg("sent to %s/%d, want %s/%d:\n%s", sb_addr_to_str(&s->dst.addr, a, sizeof a),
			 s->dst.proto, sb_addr_to_str(&want, b, sizeof b), proto, s->buf);
	return s;
}

static void no_more_sent(struct fx *f)
{
	if (f->seen != f->nsent)
		fail_msg("unexpected message:\n%s", f->sent[f->seen].buf);
}

/* next_sent(), and the message starts with the n bytes of prefix. */
static const struct sent *expect_sent(struct fx *f, enum sb_tp_proto proto, const char *ip,
				      uint16_t port, const char *prefix, size_t n)
{
	const struct sent *s = next_sent(f, proto, ip, port);
	assert_true(strncmp(s->buf, prefix, n) == 0);
	return s;
}

/* Inject text from alice (192.0.2.30:5060 over UDP). */
static void from_alice(struct fx *f, const char *text)
{
	inject_from(f, text, SB_TP_UDP, "192.0.2.30", 5060);
}

/* The branch of the top Via of a sent message (copied into out). */
static void top_branch(const char *msg, char *out, size_t cap)
{
	const char *b = strstr(msg, "branch=");
	assert_non_null(b);
	b += 7;
	size_t l = strcspn(b, ";\r, ");
	assert_true(l < cap);
	memcpy(out, b, l);
	out[l] = 0;
}

/* response_to() injected as if it came from ip:port; the caller frees
 * the response. */
static char *respond(struct fx *f, const char *req, unsigned code, const char *to_tag,
		     const char *ip, uint16_t port)
{
	char *r = response_to(req, code, to_tag);
	inject_raw(f, r, ip, port);
	return r;
}

static void register_contact(struct fx *f, const char *user, const char *ip, uint16_t port,
			     unsigned expires, unsigned cseq)
{
	char msg[1024];
	snprintf(msg, sizeof msg,
		 "REGISTER sip:example.com SIP/2.0\n"
		 "Via: SIP/2.0/UDP %s:%u;branch=z9hG4bKreg%u%u\n"
		 "Max-Forwards: 70\n"
		 "From: <sip:%s@example.com>;tag=r1\n"
		 "To: <sip:%s@example.com>\n"
		 "Call-ID: reg-%s-%u@%s\n"
		 "CSeq: %u REGISTER\n"
		 "Contact: <sip:%s@%s:%u>\n"
		 "Expires: %u\n"
		 "Content-Length: 0\n\n",
		 ip, port, cseq, port, user, user, user, port, ip, cseq, user, ip, port, expires);
	inject_from(f, msg, SB_TP_UDP, ip, port);
	const struct sent *s = next_sent(f, SB_TP_UDP, ip, port);
	assert_true(strncmp(s->buf, "SIP/2.0 200 OK\r\n", 16) == 0);
}

static const char invite_alice[] =
	"INVITE sip:bob@example.com SIP/2.0\n"
	"Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKa1;rport\n"
	"Max-Forwards: 70\n"
	"From: Alice <sip:alice@example.com>;tag=at1\n"
	"To: Bob <sip:bob@example.com>\n"
	"Call-ID: call1@192.0.2.30\n"
	"CSeq: 1 INVITE\n"
	"Contact: <sip:alice@192.0.2.30:5060>\n"
	"Content-Length: 0\n\n";

/* The caller's CANCEL for alice's INVITE. */
static const char cancel_alice[] =
	"CANCEL sip:bob@example.com SIP/2.0\n"
	"Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKa1;rport\n"
	"Max-Forwards: 70\n"
	"From: Alice <sip:alice@example.com>;tag=at1\n"
	"To: Bob <sip:bob@example.com>\n"
	"Call-ID: call1@192.0.2.30\n"
	"CSeq: 1 CANCEL\n"
	"Content-Length: 0\n\n";

/* alice's INVITE with another Max-Forwards, CSeq and extra header lines. */
static void invite_variant(char *out, size_t cap, unsigned mf, unsigned cseq, const char *extra)
{
	snprintf(out, cap,
		 "INVITE sip:bob@example.com SIP/2.0\n"
		 "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKa%u;rport\n"
		 "Max-Forwards: %u\n"
		 "From: Alice <sip:alice@example.com>;tag=at1\n"
		 "To: Bob <sip:bob@example.com>\n"
		 "Call-ID: call1@192.0.2.30\n"
		 "CSeq: %u INVITE\n"
		 "Contact: <sip:alice@192.0.2.30:5060>\n"
		 "%s"
		 "Content-Length: 0\n\n",
		 cseq, mf, cseq, extra);
}

/* Register bob, send alice's INVITE; returns the forwarded INVITE after
 * checking the 100 Trying. */
static const struct sent *basic_invite(struct fx *f)
{
	register_contact(f, "bob", "192.0.2.20", 5062, 3600, 1);
	from_alice(f, invite_alice);
	const struct sent *t = next_sent(f, SB_TP_UDP, "192.0.2.30", 5060);
	expect_text(t->buf,
		    "SIP/2.0 100 Trying\n"
		    "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKa1;rport\n"
		    "From: Alice <sip:alice@example.com>;tag=at1\n"
		    "To: Bob <sip:bob@example.com>\n"
		    "Call-ID: call1@192.0.2.30\n"
		    "CSeq: 1 INVITE\n"
		    "Content-Length: 0\n\n");
	return next_sent(f, SB_TP_UDP, "192.0.2.20", 5062);
}

/* ------------------------------------------------------------- tests */

static void test_basic_forward(void **state)
{
	struct fx *f = *state;
	const struct sent *s = basic_invite(f);
	char br[128], want[2048];
	top_branch(s->buf, br, sizeof br);
	assert_true(strncmp(br, SB_PROXY_BRANCH_PREFIX, strlen(SB_PROXY_BRANCH_PREFIX)) == 0);
	snprintf(want, sizeof want,
		 "INVITE sip:bob@192.0.2.20:5062 SIP/2.0\n"
		 "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=%s;rport\n"
		 "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKa1;rport=5060;received=192.0.2.30\n"
		 "Record-Route: <sip:192.0.2.10:5060;transport=udp;lr>\n"
		 "Max-Forwards: 69\n"
		 "From: Alice <sip:alice@example.com>;tag=at1\n"
		 "To: Bob <sip:bob@example.com>\n"
		 "Call-ID: call1@192.0.2.30\n"
		 "CSeq: 1 INVITE\n"
		 "Contact: <sip:alice@192.0.2.30:5060>\n"
		 "Content-Length: 0\n\n",
		 br);
	expect_text(s->buf, want);
	no_more_sent(f);
	/* the 100 from downstream stays here; the 180 goes up, our Via off */
	char *r100 = respond(f, s->buf, 100, NULL, "192.0.2.20", 5062);
	no_more_sent(f);
	char *r180 = respond(f, s->buf, 180, "bt1", "192.0.2.20", 5062);
	const struct sent *up = next_sent(f, SB_TP_UDP, "192.0.2.30", 5060);
	expect_text(up->buf,
		    "SIP/2.0 180 Ringing\n"
		    "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKa1;rport=5060;received=192.0.2.30\n"
		    "From: Alice <sip:alice@example.com>;tag=at1\n"
		    "To: Bob <sip:bob@example.com>;tag=bt1\n"
		    "Call-ID: call1@192.0.2.30\n"
		    "CSeq: 1 INVITE\n"
		    "Content-Length: 0\n\n");
	/* a 200 goes up at once */
	char *r200 = respond(f, s->buf, 200, "bt1", "192.0.2.20", 5062);
	up = expect_sent(f, SB_TP_UDP, "192.0.2.30", 5060, "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.30:5060;", 48);
	no_more_sent(f);
	/* the ACK for the 2xx follows the route set, statelessly, to bob */
	inject_from(f,
		    "ACK sip:bob@192.0.2.20:5062 SIP/2.0\n"
		    "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKack1;rport\n"
		    "Route: <sip:192.0.2.10:5060;transport=udp;lr>\n"
		    "Max-Forwards: 70\n"
		    "From: Alice <sip:alice@example.com>;tag=at1\n"
		    "To: Bob <sip:bob@example.com>;tag=bt1\n"
		    "Call-ID: call1@192.0.2.30\n"
		    "CSeq: 1 ACK\n"
		    "Content-Length: 0\n\n",
		    SB_TP_UDP, "192.0.2.30", 5060);
	const struct sent *ack = next_sent(f, SB_TP_UDP, "192.0.2.20", 5062);
	top_branch(ack->buf, br, sizeof br);
	snprintf(want, sizeof want,
		 "ACK sip:bob@192.0.2.20:5062 SIP/2.0\n"
		 "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=%s;rport\n"
		 "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKack1;rport=5060;received=192.0.2.30\n"
		 "Max-Forwards: 69\n"
		 "From: Alice <sip:alice@example.com>;tag=at1\n"
		 "To: Bob <sip:bob@example.com>;tag=bt1\n"
		 "Call-ID: call1@192.0.2.30\n"
		 "CSeq: 1 ACK\n"
		 "Content-Length: 0\n\n",
		 br);
	expect_text(ack->buf, want);
	/* a 2xx retransmission (no transaction left to match once Accepted
	 * ends) is relayed statelessly to the next Via */
	sb_loop_advance(f->loop, 64 * SB_TSX_T1_MS + 1000);
	inject_raw(f, r200, "192.0.2.20", 5062);
	up = expect_sent(f, SB_TP_UDP, "192.0.2.30", 5060, "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.30:5060;", 48);
	assert_null(strstr(up->buf, "192.0.2.10:5060;branch"));
	free(r100);
	free(r180);
	free(r200);
	sb_loop_advance(f->loop, 300000);
	assert_int_equal(sb_proxy_context_count(f->proxy), 0);
}

static void test_not_found_and_unavailable(void **state)
{
	struct fx *f = *state;
	/* nobody ever registered as bob: 404 */
	from_alice(f, invite_alice);
	(void)expect_sent(f, SB_TP_UDP, "192.0.2.30", 5060, "SIP/2.0 100 Trying\r\n", 20);
	(void)expect_sent(f, SB_TP_UDP, "192.0.2.30", 5060, "SIP/2.0 404 Not Found\r\n", 23);
	no_more_sent(f);
	/* bob registers and unregisters: known, no binding, 480 */
	register_contact(f, "bob", "192.0.2.20", 5062, 3600, 1);
	register_contact(f, "bob", "192.0.2.20", 5062, 0, 2);
	char inv[1024];
	invite_variant(inv, sizeof inv, 70, 2, "");
	from_alice(f, inv);
	(void)expect_sent(f, SB_TP_UDP, "192.0.2.30", 5060, "SIP/2.0 100 Trying\r\n", 20);
	(void)expect_sent(f, SB_TP_UDP, "192.0.2.30", 5060, "SIP/2.0 480 Temporarily Unavailable\r\n", 37);
	/* the caller's ACK for the 480 is absorbed */
	inject_from(f,
		    "ACK sip:bob@example.com SIP/2.0\n"
		    "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKa2;rport\n"
		    "Max-Forwards: 70\n"
		    "From: Alice <sip:alice@example.com>;tag=at1\n"
		    "To: Bob <sip:bob@example.com>;tag=x\n"
		    "Call-ID: call1@192.0.2.30\n"
		    "CSeq: 2 ACK\n"
		    "Content-Length: 0\n\n",
		    SB_TP_UDP, "192.0.2.30", 5060);
	no_more_sent(f);
}

static void test_too_many_hops(void **state)
{
	struct fx *f = *state;
	register_contact(f, "bob", "192.0.2.20", 5062, 3600, 1);
	char inv[1024];
	invite_variant(inv, sizeof inv, 0, 1, "");
	from_alice(f, inv);
	const struct sent *s = expect_sent(f, SB_TP_UDP, "192.0.2.30", 5060, "SIP/2.0 483 Too Many Hops\r\n", 27);
	assert_non_null(strstr(s->buf, "\r\nTo: Bob <sip:bob@example.com>;tag="));
	no_more_sent(f);
	/* but an OPTIONS with Max-Forwards 0 is answered by the proxy */
	inject_from(f,
		    "OPTIONS sip:bob@example.com SIP/2.0\n"
		    "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKo1\n"
		    "Max-Forwards: 0\n"
		    "From: <sip:alice@example.com>;tag=o1\n"
		    "To: <sip:bob@example.com>\n"
		    "Call-ID: opt1\n"
		    "CSeq: 1 OPTIONS\n"
		    "Content-Length: 0\n\n",
		    SB_TP_UDP, "192.0.2.30", 5060);
	s = expect_sent(f, SB_TP_UDP, "192.0.2.30", 5060, "SIP/2.0 200 OK\r\n", 16);
	no_more_sent(f);
}

static void test_loop_and_spiral(void **state)
{
	struct fx *f = *state;
	/* a foreign target keeps its Request-URI: sent back to us, it loops */
	inject_from(f,
		    "MESSAGE sip:carol@192.0.2.99 SIP/2.0\n"
		    "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKm1\n"
		    "Max-Forwards: 70\n"
		    "From: <sip:alice@example.com>;tag=m1\n"
		    "To: <sip:carol@192.0.2.99>\n"
		    "Call-ID: msg1\n"
		    "CSeq: 1 MESSAGE\n"
		    "Content-Length: 0\n\n",
		    SB_TP_UDP, "192.0.2.30", 5060);
	const struct sent *s = expect_sent(f, SB_TP_UDP, "192.0.2.99", 5060, "MESSAGE sip:carol@192.0.2.99 SIP/2.0\r\n", 38);
	/* no Record-Route on a MESSAGE */
	assert_null(strstr(s->buf, "Record-Route"));
	inject_raw(f, s->buf, "192.0.2.99", 5060);
	s = expect_sent(f, SB_TP_UDP, "192.0.2.99", 5060, "SIP/2.0 482 Loop Detected\r\n", 27);
	no_more_sent(f);

	/* a spiral: the INVITE to bob@example.com comes back with bob's
	 * contact as Request-URI: forwarded again, not a loop */
	const struct sent *fw = basic_invite(f);
	inject_raw(f, fw->buf, "192.0.2.99", 5060);
	s = expect_sent(f, SB_TP_UDP, "192.0.2.99", 5060, "SIP/2.0 100 Trying\r\n", 20);
	s = expect_sent(f, SB_TP_UDP, "192.0.2.20", 5062, "INVITE sip:bob@192.0.2.20:5062 SIP/2.0\r\n", 40);
	/* three Vias now: ours twice, alice's */
	const char *v = s->buf;
	unsigned nvia = 0;
	while ((v = strstr(v, "\r\nVia: ")) != NULL) {
		nvia++;
		v++;
	}
	assert_int_equal(nvia, 3);
}

static void test_bad_extension(void **state)
{
	struct fx *f = *state;
	register_contact(f, "bob", "192.0.2.20", 5062, 3600, 1);
	char inv[1024];
	invite_variant(inv, sizeof inv, 70, 1, "Proxy-Require: foo, bar\n");
	from_alice(f, inv);
	const struct sent *s = expect_sent(f, SB_TP_UDP, "192.0.2.30", 5060, "SIP/2.0 420 Bad Extension\r\n", 27);
	assert_non_null(strstr(s->buf, "\r\nUnsupported: foo, bar\r\n"));
	no_more_sent(f);
}

static void test_busy_relayed_with_hop_by_hop_ack(void **state)
{
	struct fx *f = *state;
	const struct sent *fw = basic_invite(f);
	char br[128], want[2048];
	top_branch(fw->buf, br, sizeof br);
	char *r486 = respond(f, fw->buf, 486, "bt9", "192.0.2.20", 5062);
	/* the client transaction ACKs the 486 itself (§17.1.1.3) */
	const struct sent *ack = next_sent(f, SB_TP_UDP, "192.0.2.20", 5062);
	snprintf(want, sizeof want,
		 "ACK sip:bob@192.0.2.20:5062 SIP/2.0\n"
		 "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=%s;rport\n"
		 "Max-Forwards: 69\n"
		 "To: Bob <sip:bob@example.com>;tag=bt9\n"
		 "From: Alice <sip:alice@example.com>;tag=at1\n"
		 "Call-ID: call1@192.0.2.30\n"
		 "CSeq: 1 ACK\n"
		 "Content-Length: 0\n\n",
		 br);
	expect_text(ack->buf, want);
	const struct sent *up = next_sent(f, SB_TP_UDP, "192.0.2.30", 5060);
	expect_text(up->buf,
		    "SIP/2.0 486 Busy Here\n"
		    "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKa1;rport=5060;received=192.0.2.30\n"
		    "From: Alice <sip:alice@example.com>;tag=at1\n"
		    "To: Bob <sip:bob@example.com>;tag=bt9\n"
		    "Call-ID: call1@192.0.2.30\n"
		    "CSeq: 1 INVITE\n"
		    "Content-Length: 0\n\n");
	no_more_sent(f);
	/* the final response went up and no branch is pending: the context
	 * is gone, its transactions linger (Timers D and H) on their own */
	assert_int_equal(sb_proxy_context_count(f->proxy), 0);
	/* the caller's ACK ends at the server transaction */
	inject_from(f,
		    "ACK sip:bob@example.com SIP/2.0\n"
		    "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKa1;rport\n"
		    "Max-Forwards: 70\n"
		    "From: Alice <sip:alice@example.com>;tag=at1\n"
		    "To: Bob <sip:bob@example.com>;tag=bt9\n"
		    "Call-ID: call1@192.0.2.30\n"
		    "CSeq: 1 ACK\n"
		    "Content-Length: 0\n\n",
		    SB_TP_UDP, "192.0.2.30", 5060);
	no_more_sent(f);
	struct sb_proxy_stats st;
	sb_proxy_get_stats(f->proxy, &st);
	assert_int_equal(st.calls, 1);
	assert_int_equal(st.calls_answered, 0);
	/* a fork further down answers after all (RFC 6026): the 2xx reaches
	 * the client transaction in Completed, goes up, and the call counts
	 * as answered, once however often the 2xx comes */
	char *r200 = respond(f, fw->buf, 200, "bt8", "192.0.2.20", 5062);
	up = next_sent(f, SB_TP_UDP, "192.0.2.30", 5060);
	expect_text(up->buf,
		    "SIP/2.0 200 OK\n"
		    "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKa1;rport=5060;received=192.0.2.30\n"
		    "From: Alice <sip:alice@example.com>;tag=at1\n"
		    "To: Bob <sip:bob@example.com>;tag=bt8\n"
		    "Call-ID: call1@192.0.2.30\n"
		    "CSeq: 1 INVITE\n"
		    "Content-Length: 0\n\n");
	no_more_sent(f);
	inject_raw(f, r200, "192.0.2.20", 5062);
	(void)expect_sent(f, SB_TP_UDP, "192.0.2.30", 5060, "SIP/2.0 200 OK\r\n", 16);
	no_more_sent(f);
	sb_proxy_get_stats(f->proxy, &st);
	assert_int_equal(st.calls_answered, 1);
	free(r200);
	free(r486);
	sb_loop_advance(f->loop, 64 * SB_TSX_T1_MS + 1000);
	assert_int_equal(sb_proxy_context_count(f->proxy), 0);
}

/* A context is freed the moment its final response has gone up with no
 * branch pending; the transactions that linger belong to nobody but still
 * do their part: a 2xx retransmission from the callee goes up statelessly
 * (RFC 6026 §8.1), a late CANCEL is answered 200 and goes nowhere (§9.2,
 * §16.10: the INVITE was answered), and the BYE's context is gone as soon
 * as its 200 has gone up. */
static void test_context_freed_at_final_response(void **state)
{
	struct fx *f = *state;
	const struct sent *fw = basic_invite(f);
	assert_int_equal(sb_proxy_context_count(f->proxy), 1);
	char *r180 = respond(f, fw->buf, 180, "bt1", "192.0.2.20", 5062);
	(void)expect_sent(f, SB_TP_UDP, "192.0.2.30", 5060, "SIP/2.0 180 Ringing\r\n", 21);
	assert_int_equal(sb_proxy_context_count(f->proxy), 1);
	char *r200 = respond(f, fw->buf, 200, "bt1", "192.0.2.20", 5062);
	const struct sent *up = next_sent(f, SB_TP_UDP, "192.0.2.30", 5060);
	static const char ok_up[] =
		"SIP/2.0 200 OK\n"
		"Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKa1;rport=5060;received=192.0.2.30\n"
		"From: Alice <sip:alice@example.com>;tag=at1\n"
		"To: Bob <sip:bob@example.com>;tag=bt1\n"
		"Call-ID: call1@192.0.2.30\n"
		"CSeq: 1 INVITE\n"
		"Content-Length: 0\n\n";
	expect_text(up->buf, ok_up);
	no_more_sent(f);
	assert_int_equal(sb_proxy_context_count(f->proxy), 0);
	/* both INVITE transactions linger in Accepted (Timers L and M), with
	 * the REGISTER's (Timer J) */
	struct sb_tsx_layer *l = sb_proxy_tsx_layer(f->proxy);
	assert_int_equal(sb_tsx_layer_count(l), 3);
	struct sb_proxy_stats st;
	sb_proxy_get_stats(f->proxy, &st);
	assert_int_equal(st.calls, 1);
	assert_int_equal(st.calls_answered, 1);
	assert_int_equal(st.contexts, 0);
	/* bob did not hear our ACK yet: his 2xx retransmission reaches the
	 * client transaction, which the call's shared record (struct px_call)
	 * owns now, and goes up as it is, to the request's source */
	sb_loop_advance(f->loop, 1000);
	inject_raw(f, r200, "192.0.2.20", 5062);
	up = next_sent(f, SB_TP_UDP, "192.0.2.30", 5060);
	expect_text(up->buf, ok_up);
	no_more_sent(f);
	sb_proxy_get_stats(f->proxy, &st);
	assert_int_equal(st.calls_answered, 1);
	/* a CANCEL crossing the 200: answered, forwarded nowhere */
	inject_from(f, cancel_alice, SB_TP_UDP, "192.0.2.30", 5060);
	up = next_sent(f, SB_TP_UDP, "192.0.2.30", 5060);
	expect_text(up->buf,
		    "SIP/2.0 200 OK\n"
		    "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKa1;rport\n"
		    "From: Alice <sip:alice@example.com>;tag=at1\n"
		    "To: Bob <sip:bob@example.com>;tag=affb30de\n"
		    "Call-ID: call1@192.0.2.30\n"
		    "CSeq: 1 CANCEL\n"
		    "Content-Length: 0\n\n");
	no_more_sent(f);
	assert_int_equal(sb_proxy_context_count(f->proxy), 0);
	/* the BYE: a context while it is forwarded, none once its 200 went up */
	inject_from(f,
		    "BYE sip:bob@192.0.2.20:5062 SIP/2.0\n"
		    "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKbye1;rport\n"
		    "Route: <sip:192.0.2.10:5060;transport=udp;lr>\n"
		    "Max-Forwards: 70\n"
		    "From: Alice <sip:alice@example.com>;tag=at1\n"
		    "To: Bob <sip:bob@example.com>;tag=bt1\n"
		    "Call-ID: call1@192.0.2.30\n"
		    "CSeq: 2 BYE\n"
		    "Content-Length: 0\n\n",
		    SB_TP_UDP, "192.0.2.30", 5060);
	const struct sent *bye = expect_sent(f, SB_TP_UDP, "192.0.2.20", 5062, "BYE ", 4);
	no_more_sent(f);
	assert_int_equal(sb_proxy_context_count(f->proxy), 1);
	char *rbye = respond(f, bye->buf, 200, NULL, "192.0.2.20", 5062);
	up = next_sent(f, SB_TP_UDP, "192.0.2.30", 5060);
	expect_text(up->buf,
		    "SIP/2.0 200 OK\n"
		    "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKbye1;rport=5060;received=192.0.2.30\n"
		    "From: Alice <sip:alice@example.com>;tag=at1\n"
		    "To: Bob <sip:bob@example.com>;tag=bt1\n"
		    "Call-ID: call1@192.0.2.30\n"
		    "CSeq: 2 BYE\n"
		    "Content-Length: 0\n\n");
	no_more_sent(f);
	assert_int_equal(sb_proxy_context_count(f->proxy), 0);
	/* a retransmission of the BYE's 200 is absorbed by the lingering
	 * client transaction (Completed, Timer K) */
	inject_raw(f, rbye, "192.0.2.20", 5062);
	no_more_sent(f);
	free(r180);
	free(r200);
	free(rbye);
	sb_loop_advance(f->loop, 300000);
	assert_int_equal(sb_tsx_layer_count(l), 0);
	sb_proxy_get_stats(f->proxy, &st);
	assert_int_equal(st.calls, 1);
	assert_int_equal(st.calls_answered, 1);
}

static void test_cancel(void **state)
{
	struct fx *f = *state;
	const struct sent *fw = basic_invite(f);
	char br[128], want[2048];
	top_branch(fw->buf, br, sizeof br);
	char *r180 = respond(f, fw->buf, 180, "bt2", "192.0.2.20", 5062);
	(void)next_sent(f, SB_TP_UDP, "192.0.2.30", 5060); /* 180 upstream */
	inject_from(f,
		    cancel_alice, SB_TP_UDP, "192.0.2.30", 5060);
	const struct sent *ok = expect_sent(f, SB_TP_UDP, "192.0.2.30", 5060, "SIP/2.0 200 OK\r\n", 16);
	assert_non_null(strstr(ok->buf, "\r\nCSeq: 1 CANCEL\r\n"));
	/* §9.1: the same Request-URI, Call-ID, To, From, CSeq number and top
	 * Via as the INVITE on that branch */
	const struct sent *c = next_sent(f, SB_TP_UDP, "192.0.2.20", 5062);
	snprintf(want, sizeof want,
		 "CANCEL sip:bob@192.0.2.20:5062 SIP/2.0\n"
		 "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=%s;rport\n"
		 "Max-Forwards: 70\n"
		 "To: Bob <sip:bob@example.com>\n"
		 "From: Alice <sip:alice@example.com>;tag=at1\n"
		 "Call-ID: call1@192.0.2.30\n"
		 "CSeq: 1 CANCEL\n"
		 "Content-Length: 0\n\n",
		 br);
	expect_text(c->buf, want);
	no_more_sent(f);
	/* bob answers 200 to the CANCEL and 487 to the INVITE */
	char *c200 = respond(f, c->buf, 200, "bt2", "192.0.2.20", 5062);
	no_more_sent(f);
	char *r487 = respond(f, fw->buf, 487, "bt2", "192.0.2.20", 5062);
	(void)expect_sent(f, SB_TP_UDP, "192.0.2.20", 5062, "ACK sip:bob@192.0.2.20:5062 SIP/2.0\r\n", 37);
	const struct sent *up = expect_sent(f, SB_TP_UDP, "192.0.2.30", 5060, "SIP/2.0 487 Request Terminated\r\n", 32);
	assert_non_null(strstr(up->buf, "\r\nCSeq: 1 INVITE\r\n"));
	no_more_sent(f);
	free(r180);
	free(c200);
	free(r487);

	/* a CANCEL matching no context is forwarded statelessly (§16.10),
	 * to the user's binding */
	inject_from(f,
		    "CANCEL sip:bob@example.com SIP/2.0\n"
		    "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKnone\n"
		    "Max-Forwards: 70\n"
		    "From: Alice <sip:alice@example.com>;tag=at1\n"
		    "To: Bob <sip:bob@example.com>\n"
		    "Call-ID: nothing\n"
		    "CSeq: 1 CANCEL\n"
		    "Content-Length: 0\n\n",
		    SB_TP_UDP, "192.0.2.30", 5060);
	up = expect_sent(f, SB_TP_UDP, "192.0.2.20", 5062, "CANCEL sip:bob@192.0.2.20:5062 SIP/2.0\r\n", 40);
	no_more_sent(f);
}

static void test_parallel_fork(void **state)
{
	struct fx *f = *state;
	register_contact(f, "bob", "192.0.2.20", 5062, 3600, 1);
	register_contact(f, "bob", "192.0.2.21", 5064, 3600, 1);
	from_alice(f, invite_alice);
	(void)next_sent(f, SB_TP_UDP, "192.0.2.30", 5060); /* 100 */
	/* most recently refreshed first */
	const struct sent *a = next_sent(f, SB_TP_UDP, "192.0.2.21", 5064);
	const struct sent *b = next_sent(f, SB_TP_UDP, "192.0.2.20", 5062);
	assert_true(strncmp(a->buf, "INVITE sip:bob@192.0.2.21:5064 SIP/2.0\r\n", 40) == 0);
	assert_true(strncmp(b->buf, "INVITE sip:bob@192.0.2.20:5062 SIP/2.0\r\n", 40) == 0);
	char bra[128], brb[128];
	top_branch(a->buf, bra, sizeof bra);
	top_branch(b->buf, brb, sizeof brb);
	assert_string_not_equal(bra, brb);
	no_more_sent(f);
	char *a180 = response_to(a->buf, 180, "ta");
	char *b180 = response_to(b->buf, 180, "tb");
	inject_raw(f, a180, "192.0.2.21", 5064);
	inject_raw(f, b180, "192.0.2.20", 5062);
	(void)next_sent(f, SB_TP_UDP, "192.0.2.30", 5060);
	(void)next_sent(f, SB_TP_UDP, "192.0.2.30", 5060);
	/* b answers: its 200 goes up, a is cancelled */
	char *b200 = respond(f, b->buf, 200, "tb", "192.0.2.20", 5062);
	const struct sent *up = expect_sent(f, SB_TP_UDP, "192.0.2.30", 5060, "SIP/2.0 200 OK\r\n", 16);
	assert_non_null(strstr(up->buf, ";tag=tb\r\n"));
	const struct sent *c = expect_sent(f, SB_TP_UDP, "192.0.2.21", 5064, "CANCEL sip:bob@192.0.2.21:5064 SIP/2.0\r\n", 40);
	char brc[128];
	top_branch(c->buf, brc, sizeof brc);
	assert_string_equal(brc, bra);
	no_more_sent(f);
	/* a's 487 is ACKed and goes nowhere else */
	char *a487 = respond(f, a->buf, 487, "ta", "192.0.2.21", 5064);
	(void)expect_sent(f, SB_TP_UDP, "192.0.2.21", 5064, "ACK sip:bob@192.0.2.21:5064 SIP/2.0\r\n", 37);
	no_more_sent(f);
	/* every branch answered, the 200 went up: the context is gone */
	assert_int_equal(sb_proxy_context_count(f->proxy), 0);
	/* a 2xx that comes on a after its 487 (a fork further down, RFC 6026)
	 * reaches a's client transaction in Completed, the call record's
	 * now: it still goes up, with our Via popped */
	char *a200 = respond(f, a->buf, 200, "ta2", "192.0.2.21", 5064);
	up = next_sent(f, SB_TP_UDP, "192.0.2.30", 5060);
	expect_text(up->buf,
		    "SIP/2.0 200 OK\n"
		    "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKa1;rport=5060;received=192.0.2.30\n"
		    "From: Alice <sip:alice@example.com>;tag=at1\n"
		    "To: Bob <sip:bob@example.com>;tag=ta2\n"
		    "Call-ID: call1@192.0.2.30\n"
		    "CSeq: 1 INVITE\n"
		    "Content-Length: 0\n\n");
	no_more_sent(f);
	struct sb_proxy_stats st;
	sb_proxy_get_stats(f->proxy, &st);
	assert_int_equal(st.calls, 1);
	assert_int_equal(st.calls_answered, 1);
	free(a180);
	free(b180);
	free(b200);
	free(a487);
	free(a200);
}

static void test_timeout_is_408(void **state)
{
	struct fx *f = *state;
	const struct sent *fw = basic_invite(f);
	(void)fw;
	/* Timer B (64*T1) with no answer: 408 upstream */
	sb_loop_advance(f->loop, 64 * SB_TSX_T1_MS);
	while (f->seen < f->nsent &&
	       strncmp(f->sent[f->seen].buf, "INVITE ", 7) == 0)
		f->seen++; /* Timer A retransmissions */
	(void)expect_sent(f, SB_TP_UDP, "192.0.2.30", 5060, "SIP/2.0 408 Request Timeout\r\n", 29);
	no_more_sent(f);
}

/* The response the proxy makes long after the request came (here Timer
 * B's 408) copies the request's Vias, From, To, Call-ID and CSeq exactly
 * (§8.2.6.2): the context keeps only those of a request that no new
 * branch can need, and nothing of its other fields or body leaks in. */
static void test_generated_response_from_kept_fields(void **state)
{
	struct fx *f = *state;
	register_contact(f, "bob", "192.0.2.20", 5062, 3600, 1);
	inject_from(f,
		    "INVITE sip:bob@example.com SIP/2.0\n"
		    "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKk1;rport\n"
		    "Max-Forwards: 70\n"
		    "v: SIP/2.0/UDP 192.0.2.99:5070;branch=z9hG4bKk0,\n"
		    " SIP/2.0/TCP 192.0.2.98;branch=z9hG4bKkk\n"
		    "f: Alice <sip:alice@example.com>;tag=at1\n"
		    "Contact: <sip:alice@192.0.2.30:5060>\n"
		    "To: Bob <sip:bob@example.com>\n"
		    "Subject: kept out\n"
		    "Call-ID: kept@192.0.2.30\n"
		    "CSeq: 7 INVITE\n"
		    "Content-Type: application/sdp\n"
		    "Content-Length: 10\n\n"
		    "v=0\r\no=x\r\n",
		    SB_TP_UDP, "192.0.2.30", 5060);
	(void)expect_sent(f, SB_TP_UDP, "192.0.2.30", 5060, "SIP/2.0 100 Trying\r\n", 20);
	(void)expect_sent(f, SB_TP_UDP, "192.0.2.20", 5062, "INVITE ", 7);
	no_more_sent(f);
	assert_int_equal(sb_proxy_context_count(f->proxy), 1);
	sb_loop_advance(f->loop, 64 * SB_TSX_T1_MS);
	while (f->seen < f->nsent && strncmp(f->sent[f->seen].buf, "INVITE ", 7) == 0)
		f->seen++; /* Timer A retransmissions */
	const struct sent *up = next_sent(f, SB_TP_UDP, "192.0.2.30", 5060);
	expect_text(up->buf,
		    "SIP/2.0 408 Request Timeout\n"
		    "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKk1;rport\n"
		    "Via: SIP/2.0/UDP 192.0.2.99:5070;branch=z9hG4bKk0,\n"
		    " SIP/2.0/TCP 192.0.2.98;branch=z9hG4bKkk\n"
		    "From: Alice <sip:alice@example.com>;tag=at1\n"
		    "To: Bob <sip:bob@example.com>;tag=a1d5abac\n"
		    "Call-ID: kept@192.0.2.30\n"
		    "CSeq: 7 INVITE\n"
		    "Content-Length: 0\n\n");
	no_more_sent(f);
	assert_int_equal(sb_proxy_context_count(f->proxy), 0);
}

static void test_double_record_route_udp_to_tcp(void **state)
{
	struct fx *f = *state;
	/* a foreign target over TCP: the request leaves on another transport */
	inject_from(f,
		    "SUBSCRIBE sip:carol@192.0.2.99;transport=tcp SIP/2.0\n"
		    "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKs1\n"
		    "Max-Forwards: 70\n"
		    "From: <sip:alice@example.com>;tag=s1\n"
		    "To: <sip:carol@192.0.2.99>\n"
		    "Call-ID: sub1\n"
		    "CSeq: 1 SUBSCRIBE\n"
		    "Event: presence\n"
		    "Contact: <sip:alice@192.0.2.30>\n"
		    "Content-Length: 0\n\n",
		    SB_TP_UDP, "192.0.2.30", 5060);
	const struct sent *s = next_sent(f, SB_TP_TCP, "192.0.2.99", 5060);
	char br[128], want[2048];
	top_branch(s->buf, br, sizeof br);
	snprintf(want, sizeof want,
		 "SUBSCRIBE sip:carol@192.0.2.99;transport=tcp SIP/2.0\n"
		 "Via: SIP/2.0/TCP 192.0.2.10:5060;branch=%s;rport\n"
		 "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKs1\n"
		 "Record-Route: <sip:192.0.2.10:5060;transport=tcp;lr>\n"
		 "Record-Route: <sip:192.0.2.10:5060;transport=udp;lr>\n"
		 "Max-Forwards: 69\n"
		 "From: <sip:alice@example.com>;tag=s1\n"
		 "To: <sip:carol@192.0.2.99>\n"
		 "Call-ID: sub1\n"
		 "CSeq: 1 SUBSCRIBE\n"
		 "Event: presence\n"
		 "Contact: <sip:alice@192.0.2.30>\n"
		 "Content-Length: 0\n\n",
		 br);
	expect_text(s->buf, want);
}

static void test_route_processing(void **state)
{
	struct fx *f = *state;
	/* our own Route (both of a double Record-Route) goes, the next one is
	 * where the request is sent; the Request-URI stays */
	inject_from(f,
		    "BYE sip:alice@192.0.2.30 SIP/2.0\n"
		    "Via: SIP/2.0/UDP 192.0.2.20:5062;branch=z9hG4bKb1\n"
		    "Route: <sip:192.0.2.10:5060;transport=tcp;lr>, <sip:192.0.2.10;lr>\n"
		    "Route: <sip:192.0.2.77:5080;lr>\n"
		    "Max-Forwards: 70\n"
		    "From: <sip:bob@example.com>;tag=b1\n"
		    "To: <sip:alice@example.com>;tag=a1\n"
		    "Call-ID: dlg1\n"
		    "CSeq: 5 BYE\n"
		    "Content-Length: 0\n\n",
		    SB_TP_UDP, "192.0.2.20", 5062);
	const struct sent *s = next_sent(f, SB_TP_UDP, "192.0.2.77", 5080);
	char br[128], want[2048];
	top_branch(s->buf, br, sizeof br);
	snprintf(want, sizeof want,
		 "BYE sip:alice@192.0.2.30 SIP/2.0\n"
		 "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=%s;rport\n"
		 "Via: SIP/2.0/UDP 192.0.2.20:5062;branch=z9hG4bKb1\n"
		 "Route: <sip:192.0.2.77:5080;lr>\n"
		 "Max-Forwards: 69\n"
		 "From: <sip:bob@example.com>;tag=b1\n"
		 "To: <sip:alice@example.com>;tag=a1\n"
		 "Call-ID: dlg1\n"
		 "CSeq: 5 BYE\n"
		 "Content-Length: 0\n\n",
		 br);
	expect_text(s->buf, want);
	/* a strict router upstream: the Request-URI is ours, the last Route
	 * becomes the Request-URI */
	inject_from(f,
		    "BYE sip:192.0.2.10:5060;lr SIP/2.0\n"
		    "Via: SIP/2.0/UDP 192.0.2.20:5062;branch=z9hG4bKb2\n"
		    "Route: <sip:alice@192.0.2.30:5070>\n"
		    "Max-Forwards: 70\n"
		    "From: <sip:bob@example.com>;tag=b1\n"
		    "To: <sip:alice@example.com>;tag=a1\n"
		    "Call-ID: dlg1\n"
		    "CSeq: 6 BYE\n"
		    "Content-Length: 0\n\n",
		    SB_TP_UDP, "192.0.2.20", 5062);
	s = expect_sent(f, SB_TP_UDP, "192.0.2.30", 5070, "BYE sip:alice@192.0.2.30:5070 SIP/2.0\r\n", 39);
	assert_null(strstr(s->buf, "Route:"));

	/* a phone with us as outbound proxy: its preloaded Route goes, our
	 * Record-Route takes its place */
	register_contact(f, "bob", "192.0.2.20", 5062, 3600, 1);
	inject_from(f,
		    "INVITE sip:bob@example.com SIP/2.0\n"
		    "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKob1\n"
		    "Route: <sip:example.com;lr>\n"
		    "Max-Forwards: 70\n"
		    "From: <sip:alice@example.com>;tag=a9\n"
		    "To: <sip:bob@example.com>\n"
		    "Call-ID: ob1\n"
		    "CSeq: 1 INVITE\n"
		    "Content-Length: 0\n\n",
		    SB_TP_UDP, "192.0.2.30", 5060);
	(void)next_sent(f, SB_TP_UDP, "192.0.2.30", 5060); /* 100 */
	s = next_sent(f, SB_TP_UDP, "192.0.2.20", 5062);
	top_branch(s->buf, br, sizeof br);
	snprintf(want, sizeof want,
		 "INVITE sip:bob@192.0.2.20:5062 SIP/2.0\n"
		 "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=%s;rport\n"
		 "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKob1\n"
		 "Record-Route: <sip:192.0.2.10:5060;transport=udp;lr>\n"
		 "Max-Forwards: 69\n"
		 "From: <sip:alice@example.com>;tag=a9\n"
		 "To: <sip:bob@example.com>\n"
		 "Call-ID: ob1\n"
		 "CSeq: 1 INVITE\n"
		 "Content-Length: 0\n\n",
		 br);
	expect_text(s->buf, want);
}

static void test_unsupported_scheme_and_options_to_us(void **state)
{
	struct fx *f = *state;
	inject_from(f,
		    "OPTIONS sip:192.0.2.10 SIP/2.0\n"
		    "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKo2\n"
		    "Max-Forwards: 70\n"
		    "From: <sip:alice@example.com>;tag=o2\n"
		    "To: <sip:192.0.2.10>\n"
		    "Call-ID: opt2\n"
		    "CSeq: 1 OPTIONS\n"
		    "Content-Length: 0\n\n",
		    SB_TP_UDP, "192.0.2.30", 5060);
	const struct sent *s = expect_sent(f, SB_TP_UDP, "192.0.2.30", 5060, "SIP/2.0 200 OK\r\n", 16);
	assert_non_null(strstr(s->buf, "\r\nAllow: INVITE, ACK, CANCEL, BYE"));
	inject_from(f,
		    "INVITE foo:bar SIP/2.0\n"
		    "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKu1\n"
		    "Max-Forwards: 70\n"
		    "From: <sip:alice@example.com>;tag=u1\n"
		    "To: <sip:bob@example.com>\n"
		    "Call-ID: u1\n"
		    "CSeq: 1 INVITE\n"
		    "Content-Length: 0\n\n",
		    SB_TP_UDP, "192.0.2.30", 5060);
	s = expect_sent(f, SB_TP_UDP, "192.0.2.30", 5060, "SIP/2.0 416 ", 12);
	no_more_sent(f);
}


/* Skip retransmissions of requests already seen (Timer A/E). */
static void skip_retransmissions(struct fx *f, const char *start)
{
	while (f->seen < f->nsent && strncmp(f->sent[f->seen].buf, start, strlen(start)) == 0)
		f->seen++;
}

static char *response_with(const char *req, unsigned code, const char *to_tag, const char *extra)
{
	struct sb_sip_msg *m = malloc(sizeof *m);
	assert_non_null(m);
	assert_int_equal(sb_sip_parse(m, req, strlen(req), SB_SIP_DATAGRAM), 0);
	struct sb_buf out;
	sb_buf_init(&out, 0);
	struct sb_sip_response_spec spec = { .code = code, .to_tag = sb_slice_cstr(to_tag),
					     .extra = sb_slice_cstr(extra) };
	assert_int_equal(sb_sip_print_response(&out, m, &spec), 0);
	assert_int_equal(sb_buf_append(&out, "", 1), 0);
	free(m);
	return out.p;
}

static void test_redirect_relayed(void **state)
{
	struct fx *f = *state;
	const struct sent *fw = basic_invite(f);
	/* the Yealink flow: the 302 is ACKed hop by hop and relayed */
	char *r302 = response_with(fw->buf, 302, "b3", "Contact: <sip:carol@192.0.2.40:5070>\r\n");
	inject_raw(f, r302, "192.0.2.20", 5062);
	(void)expect_sent(f, SB_TP_UDP, "192.0.2.20", 5062, "ACK sip:bob@192.0.2.20:5062 SIP/2.0\r\n", 37);
	const struct sent *up = expect_sent(f, SB_TP_UDP, "192.0.2.30", 5060, "SIP/2.0 302 Moved Temporarily\r\n", 31);
	assert_non_null(strstr(up->buf, "\r\nContact: <sip:carol@192.0.2.40:5070>\r\n"));
	no_more_sent(f);
	free(r302);
}

static void test_redirect_recursed(void **state)
{
	struct fx *f = *state;
	const struct sent *fw = basic_invite(f);
	char *r302 = response_with(fw->buf, 302, "b3", "Contact: <sip:carol@192.0.2.40:5070>\r\n");
	inject_raw(f, r302, "192.0.2.20", 5062);
	(void)next_sent(f, SB_TP_UDP, "192.0.2.20", 5062); /* ACK */
	/* the proxy calls the Contact itself; the caller never sees the 302 */
	const struct sent *c = expect_sent(f, SB_TP_UDP, "192.0.2.40", 5070, "INVITE sip:carol@192.0.2.40:5070 SIP/2.0\r\n", 42);
	assert_non_null(strstr(c->buf, "\r\nMax-Forwards: 69\r\n"));
	no_more_sent(f);
	char *r200 = respond(f, c->buf, 200, "c1", "192.0.2.40", 5070);
	const struct sent *up = expect_sent(f, SB_TP_UDP, "192.0.2.30", 5060, "SIP/2.0 200 OK\r\n", 16);
	assert_non_null(strstr(up->buf, ";tag=c1\r\n"));
	no_more_sent(f);
	free(r302);
	free(r200);
}

static void test_sequential_fork(void **state)
{
	struct fx *f = *state;
	register_contact(f, "bob", "192.0.2.20", 5062, 3600, 1);
	register_contact(f, "bob", "192.0.2.21", 5064, 3600, 1);
	from_alice(f, invite_alice);
	(void)next_sent(f, SB_TP_UDP, "192.0.2.30", 5060); /* 100 */
	const struct sent *a = next_sent(f, SB_TP_UDP, "192.0.2.21", 5064);
	no_more_sent(f); /* one at a time */
	char *a480 = respond(f, a->buf, 480, "ta", "192.0.2.21", 5064);
	(void)next_sent(f, SB_TP_UDP, "192.0.2.21", 5064); /* ACK */
	const struct sent *b = expect_sent(f, SB_TP_UDP, "192.0.2.20", 5062, "INVITE sip:bob@192.0.2.20:5062 SIP/2.0\r\n", 40);
	no_more_sent(f);
	char *b486 = respond(f, b->buf, 486, "tb", "192.0.2.20", 5062);
	(void)next_sent(f, SB_TP_UDP, "192.0.2.20", 5062); /* ACK */
	/* §16.7 step 6: both 4xx; the first stored wins */
	(void)expect_sent(f, SB_TP_UDP, "192.0.2.30", 5060, "SIP/2.0 480 ", 12);
	no_more_sent(f);
	free(a480);
	free(b486);
}

static void test_best_response_6xx_cancels(void **state)
{
	struct fx *f = *state;
	register_contact(f, "bob", "192.0.2.20", 5062, 3600, 1);
	register_contact(f, "bob", "192.0.2.21", 5064, 3600, 1);
	from_alice(f, invite_alice);
	(void)next_sent(f, SB_TP_UDP, "192.0.2.30", 5060);
	const struct sent *a = next_sent(f, SB_TP_UDP, "192.0.2.21", 5064);
	const struct sent *b = next_sent(f, SB_TP_UDP, "192.0.2.20", 5062);
	char *b180 = respond(f, b->buf, 180, "tb", "192.0.2.20", 5062);
	(void)next_sent(f, SB_TP_UDP, "192.0.2.30", 5060);
	char *a603 = respond(f, a->buf, 603, "ta", "192.0.2.21", 5064);
	(void)next_sent(f, SB_TP_UDP, "192.0.2.21", 5064); /* ACK */
	/* §16.7 step 10: the 6xx cancels the ringing branch */
	(void)expect_sent(f, SB_TP_UDP, "192.0.2.20", 5062, "CANCEL sip:bob@192.0.2.20:5062 SIP/2.0\r\n", 40);
	no_more_sent(f);
	char *b487 = respond(f, b->buf, 487, "tb", "192.0.2.20", 5062);
	(void)next_sent(f, SB_TP_UDP, "192.0.2.20", 5062); /* ACK */
	/* the 6xx beats the 487 */
	(void)expect_sent(f, SB_TP_UDP, "192.0.2.30", 5060, "SIP/2.0 603 Decline\r\n", 21);
	no_more_sent(f);
	free(b180);
	free(a603);
	free(b487);
}

static void test_timer_c(void **state)
{
	struct fx *f = *state;
	const struct sent *fw = basic_invite(f);
	char *r180 = respond(f, fw->buf, 180, "b1", "192.0.2.20", 5062);
	(void)next_sent(f, SB_TP_UDP, "192.0.2.30", 5060);
	/* a provisional response restarts Timer C */
	sb_loop_advance(f->loop, SB_PROXY_TIMER_C_MS - 1000);
	skip_retransmissions(f, "SIP/2.0 180");
	no_more_sent(f);
	inject_raw(f, r180, "192.0.2.20", 5062);
	(void)next_sent(f, SB_TP_UDP, "192.0.2.30", 5060);
	sb_loop_advance(f->loop, SB_PROXY_TIMER_C_MS - 1);
	no_more_sent(f);
	/* Timer C fires: the branch is cancelled (§16.8) */
	sb_loop_advance(f->loop, 1);
	(void)expect_sent(f, SB_TP_UDP, "192.0.2.20", 5062, "CANCEL sip:bob@192.0.2.20:5062 SIP/2.0\r\n", 40);
	char *r487 = respond(f, fw->buf, 487, "b1", "192.0.2.20", 5062);
	(void)next_sent(f, SB_TP_UDP, "192.0.2.20", 5062); /* ACK */
	/* the caller cancelled nothing: the branch timed out, 408 */
	(void)expect_sent(f, SB_TP_UDP, "192.0.2.30", 5060, "SIP/2.0 408 ", 12);
	free(r180);
	free(r487);
}

static void test_max_forwards_inserted(void **state)
{
	struct fx *f = *state;
	/* RFC 3261 §16.6 step 3: none in the request: one with 70 */
	inject_from(f,
		    "MESSAGE sip:carol@[2001:db8::9]:5070 SIP/2.0\n"
		    "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKnomf\n"
		    "From: <sip:alice@example.com>;tag=m1\n"
		    "To: <sip:carol@example.org>\n"
		    "Call-ID: nomf\n"
		    "CSeq: 1 MESSAGE\n"
		    "Content-Length: 0\n\n",
		    SB_TP_UDP, "192.0.2.30", 5060);
	/* no IPv6 listener: the target cannot be reached; a local 503
	 * goes up as 500 (§16.7 step 6) */
	const struct sent *s = expect_sent(f, SB_TP_UDP, "192.0.2.30", 5060, "SIP/2.0 500 ", 12);
	inject_from(f,
		    "MESSAGE sip:carol@192.0.2.99 SIP/2.0\n"
		    "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKnomf2\n"
		    "From: <sip:alice@example.com>;tag=m1\n"
		    "To: <sip:carol@example.org>\n"
		    "Call-ID: nomf2\n"
		    "CSeq: 1 MESSAGE\n"
		    "Content-Length: 0\n\n",
		    SB_TP_UDP, "192.0.2.30", 5060);
	s = next_sent(f, SB_TP_UDP, "192.0.2.99", 5060);
	assert_non_null(strstr(s->buf, "\r\nContent-Length: 0\r\nMax-Forwards: 70\r\n\r\n"));
	/* a host name: no DNS yet, 502 */
	inject_from(f,
		    "MESSAGE sip:carol@example.org SIP/2.0\n"
		    "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKnomf3\n"
		    "Max-Forwards: 10\n"
		    "From: <sip:alice@example.com>;tag=m1\n"
		    "To: <sip:carol@example.org>\n"
		    "Call-ID: nomf3\n"
		    "CSeq: 1 MESSAGE\n"
		    "Content-Length: 0\n\n",
		    SB_TP_UDP, "192.0.2.30", 5060);
	s = expect_sent(f, SB_TP_UDP, "192.0.2.30", 5060, "SIP/2.0 502 ", 12);
	no_more_sent(f);
}

static void test_cancelled_branch_never_answers(void **state)
{
	struct fx *f = *state;
	const struct sent *fw = basic_invite(f);
	char *r180 = respond(f, fw->buf, 180, "b1", "192.0.2.20", 5062);
	(void)next_sent(f, SB_TP_UDP, "192.0.2.30", 5060);
	inject_from(f,
		    cancel_alice, SB_TP_UDP, "192.0.2.30", 5060);
	(void)next_sent(f, SB_TP_UDP, "192.0.2.30", 5060); /* 200 CANCEL */
	(void)next_sent(f, SB_TP_UDP, "192.0.2.20", 5062); /* CANCEL */
	/* bob answers neither: 64*T1 later the branch is given up and the
	 * caller gets its 487 */
	sb_loop_advance(f->loop, 64 * SB_TSX_T1_MS - 1);
	skip_retransmissions(f, "CANCEL ");
	no_more_sent(f);
	sb_loop_advance(f->loop, 1);
	skip_retransmissions(f, "CANCEL ");
	(void)expect_sent(f, SB_TP_UDP, "192.0.2.30", 5060, "SIP/2.0 487 ", 12);
	/* everything ends: no context is left behind */
	sb_loop_advance(f->loop, 400000);
	assert_int_equal(sb_proxy_context_count(f->proxy), 0);
	free(r180);
}

static void test_large_request_goes_tcp(void **state)
{
	struct fx *f = *state;
	char big[4096], body[1500];
	memset(body, 'a', sizeof body - 1);
	body[sizeof body - 1] = 0;
	snprintf(big, sizeof big,
		 "MESSAGE sip:carol@192.0.2.99 SIP/2.0\n"
		 "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKbig\n"
		 "Max-Forwards: 70\n"
		 "From: <sip:alice@example.com>;tag=m1\n"
		 "To: <sip:carol@192.0.2.99>\n"
		 "Call-ID: big1\n"
		 "CSeq: 1 MESSAGE\n"
		 "Content-Type: text/plain\n"
		 "Content-Length: %zu\n\n%s",
		 strlen(body), body);
	from_alice(f, big);
	/* RFC 3261 §18.1.1: over 1300 bytes, TCP, and the Via says so */
	const struct sent *s = next_sent(f, SB_TP_TCP, "192.0.2.99", 5060);
	assert_non_null(strstr(s->buf, "\r\nVia: SIP/2.0/TCP 192.0.2.10:5060;branch=z9hG4bKsb"));
	no_more_sent(f);
}



/* Skip every message still to be looked at that starts with one of the
 * given prefixes (retransmissions). */
static void skip_any(struct fx *f, const char *a, const char *b)
{
	while (f->seen < f->nsent &&
	       (strncmp(f->sent[f->seen].buf, a, strlen(a)) == 0 ||
		(b && strncmp(f->sent[f->seen].buf, b, strlen(b)) == 0)))
		f->seen++;
}

/* RFC 3261 §16.8 (defects 1, 2): Timer C fires on a branch that got only
 * 100 Trying: it is cancelled, not given up at once; when no final response
 * follows 64*T1 later the client transaction is destroyed, not leaked. */
static void test_timer_c_after_100_cancels_and_frees(void **state)
{
	struct fx *f = *state;
	const struct sent *fw = basic_invite(f);
	char *r100 = respond(f, fw->buf, 100, NULL, "192.0.2.20", 5062);
	no_more_sent(f); /* a 100 does not go upstream */
	/* §16.7 step 2: a 100 does not restart Timer C */
	sb_loop_advance(f->loop, SB_PROXY_TIMER_C_MS - 1);
	no_more_sent(f);
	sb_loop_advance(f->loop, 1);
	(void)expect_sent(f, SB_TP_UDP, "192.0.2.20", 5062, "CANCEL sip:bob@192.0.2.20:5062 SIP/2.0\r\n", 40);
	no_more_sent(f);
	/* bob never answers: 64*T1 later the branch is given up */
	sb_loop_advance(f->loop, 64 * SB_TSX_T1_MS);
	skip_any(f, "CANCEL ", NULL);
	(void)expect_sent(f, SB_TP_UDP, "192.0.2.30", 5060, "SIP/2.0 408 ", 12);
	sb_loop_advance(f->loop, 2 * 3600 * 1000);
	skip_any(f, "SIP/2.0 408 ", "CANCEL ");
	no_more_sent(f);
	/* nothing left: no context, no transaction */
	assert_int_equal(sb_proxy_context_count(f->proxy), 0);
	assert_int_equal(sb_tsx_layer_count(sb_proxy_tsx_layer(f->proxy)), 0);
	free(r100);
}

/* RFC 3261 §9.1 / §16.8 (defect 1): a cancelled branch that never sends its
 * final response: 64*T1 after the CANCEL its client INVITE transaction
 * (in Proceeding, without a timer of its own) is destroyed. */
static void test_given_up_branch_frees_transaction(void **state)
{
	struct fx *f = *state;
	const struct sent *fw = basic_invite(f);
	char *r180 = respond(f, fw->buf, 180, "b1", "192.0.2.20", 5062);
	(void)next_sent(f, SB_TP_UDP, "192.0.2.30", 5060); /* 180 */
	from_alice(f, cancel_alice);
	(void)next_sent(f, SB_TP_UDP, "192.0.2.30", 5060); /* 200 CANCEL */
	const struct sent *c = next_sent(f, SB_TP_UDP, "192.0.2.20", 5062);
	char *c200 = respond(f, c->buf, 200, "b1", "192.0.2.20", 5062);
	sb_loop_advance(f->loop, 64 * SB_TSX_T1_MS);
	(void)expect_sent(f, SB_TP_UDP, "192.0.2.30", 5060, "SIP/2.0 487 ", 12);
	sb_loop_advance(f->loop, 3600 * 1000);
	assert_int_equal(sb_proxy_context_count(f->proxy), 0);
	assert_int_equal(sb_tsx_layer_count(sb_proxy_tsx_layer(f->proxy)), 0);
	free(r180);
	free(c200);
}

/* RFC 3261 §9.1, §16.10 (defect 3): a branch that sent only 100 Trying is
 * cancelled at once when the caller cancels. */
static void test_cancel_after_100_only(void **state)
{
	struct fx *f = *state;
	const struct sent *fw = basic_invite(f);
	char *r100 = respond(f, fw->buf, 100, NULL, "192.0.2.20", 5062);
	from_alice(f, cancel_alice);
	(void)expect_sent(f, SB_TP_UDP, "192.0.2.30", 5060, "SIP/2.0 200 OK\r\n", 16);
	(void)expect_sent(f, SB_TP_UDP, "192.0.2.20", 5062, "CANCEL sip:bob@192.0.2.20:5062 SIP/2.0\r\n", 40);
	no_more_sent(f);
	char *r487 = respond(f, fw->buf, 487, "b1", "192.0.2.20", 5062);
	(void)next_sent(f, SB_TP_UDP, "192.0.2.20", 5062); /* ACK */
	(void)expect_sent(f, SB_TP_UDP, "192.0.2.30", 5060, "SIP/2.0 487 ", 12);
	no_more_sent(f);
	free(r100);
	free(r487);
}

/* RFC 3261 §16.10 (defect 4): a CANCEL without a response context is
 * forwarded statelessly, with the same branch when retransmitted; its 200
 * comes back as a stray response and is relayed.  One for a user of ours
 * with no binding has no target: 481. */
static void test_cancel_without_context_forwarded(void **state)
{
	struct fx *f = *state;
	static const char cx[] =
		"CANCEL sip:carol@192.0.2.99 SIP/2.0\n"
		"Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKzz;rport\n"
		"Max-Forwards: 70\n"
		"From: <sip:alice@example.com>;tag=at1\n"
		"To: <sip:carol@192.0.2.99>\n"
		"Call-ID: cx@192.0.2.30\n"
		"CSeq: 1 CANCEL\n"
		"Content-Length: 0\n\n";
	from_alice(f, cx);
	const struct sent *c = next_sent(f, SB_TP_UDP, "192.0.2.99", 5060);
	char br[128], br2[128], want[2048];
	top_branch(c->buf, br, sizeof br);
	snprintf(want, sizeof want,
		 "CANCEL sip:carol@192.0.2.99 SIP/2.0\n"
		 "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=%s;rport\n"
		 "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKzz;rport=5060;received=192.0.2.30\n"
		 "Max-Forwards: 69\n"
		 "From: <sip:alice@example.com>;tag=at1\n"
		 "To: <sip:carol@192.0.2.99>\n"
		 "Call-ID: cx@192.0.2.30\n"
		 "CSeq: 1 CANCEL\n"
		 "Content-Length: 0\n\n",
		 br);
	expect_text(c->buf, want);
	no_more_sent(f);
	from_alice(f, cx);
	c = next_sent(f, SB_TP_UDP, "192.0.2.99", 5060);
	top_branch(c->buf, br2, sizeof br2);
	assert_string_equal(br, br2);
	no_more_sent(f);
	char *ok = respond(f, c->buf, 200, "ct", "192.0.2.99", 5060);
	const struct sent *up = expect_sent(f, SB_TP_UDP, "192.0.2.30", 5060, "SIP/2.0 200 OK\r\n", 16);
	assert_null(strstr(up->buf, "192.0.2.10"));
	no_more_sent(f);
	free(ok);
	inject_from(f,
		    "CANCEL sip:nobody@example.com SIP/2.0\n"
		    "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKyy;rport\n"
		    "Max-Forwards: 70\n"
		    "From: <sip:alice@example.com>;tag=at1\n"
		    "To: <sip:nobody@example.com>\n"
		    "Call-ID: cy@192.0.2.30\n"
		    "CSeq: 1 CANCEL\n"
		    "Content-Length: 0\n\n",
		    SB_TP_UDP, "192.0.2.30", 5060);
	up = expect_sent(f, SB_TP_UDP, "192.0.2.30", 5060, "SIP/2.0 481 ", 12);
	no_more_sent(f);
}

/* RFC 3261 §16.7 step 5 (defect 5): after a 6xx no new branch starts. */
static void test_no_new_branch_after_6xx(void **state)
{
	struct fx *f = *state;
	register_contact(f, "bob", "192.0.2.20", 5062, 3600, 1);
	register_contact(f, "bob", "192.0.2.21", 5064, 3600, 1);
	from_alice(f, invite_alice);
	(void)next_sent(f, SB_TP_UDP, "192.0.2.30", 5060); /* 100 */
	const struct sent *a = next_sent(f, SB_TP_UDP, "192.0.2.21", 5064);
	no_more_sent(f);
	char *a603 = respond(f, a->buf, 603, "ta", "192.0.2.21", 5064);
	(void)next_sent(f, SB_TP_UDP, "192.0.2.21", 5064); /* ACK */
	(void)expect_sent(f, SB_TP_UDP, "192.0.2.30", 5060, "SIP/2.0 603 ", 12);
	no_more_sent(f);
	free(a603);
}

/* RFC 6026, RFC 3261 §16.7 step 5 (defect 6): a 2xx from another fork after
 * the server transaction has ended is forwarded statelessly upstream. */
static void test_late_2xx_forwarded_statelessly(void **state)
{
	struct fx *f = *state;
	const struct sent *fw = basic_invite(f);
	char *r486 = respond(f, fw->buf, 486, "b1", "192.0.2.20", 5062);
	(void)next_sent(f, SB_TP_UDP, "192.0.2.20", 5062); /* ACK */
	(void)next_sent(f, SB_TP_UDP, "192.0.2.30", 5060); /* 486 */
	inject_from(f,
		    "ACK sip:bob@example.com SIP/2.0\n"
		    "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKa1;rport\n"
		    "Max-Forwards: 70\n"
		    "From: Alice <sip:alice@example.com>;tag=at1\n"
		    "To: Bob <sip:bob@example.com>;tag=b1\n"
		    "Call-ID: call1@192.0.2.30\n"
		    "CSeq: 1 ACK\n"
		    "Content-Length: 0\n\n",
		    SB_TP_UDP, "192.0.2.30", 5060);
	sb_loop_advance(f->loop, SB_TSX_T4_MS + 1000); /* Timer I ends it */
	no_more_sent(f);
	char *r200 = respond(f, fw->buf, 200, "b2", "192.0.2.20", 5062);
	const struct sent *up = expect_sent(f, SB_TP_UDP, "192.0.2.30", 5060, "SIP/2.0 200 OK\r\n", 16);
	assert_non_null(strstr(up->buf, ";tag=b2\r\n"));
	assert_null(strstr(up->buf, "192.0.2.10"));
	no_more_sent(f);
	free(r486);
	free(r200);
}

/* RFC 3261 §16.7 step 7 (defect 7): the challenges of every 401 and 407
 * go upstream in the one response chosen. */
static void test_auth_challenges_aggregated(void **state)
{
	struct fx *f = *state;
	register_contact(f, "bob", "192.0.2.20", 5062, 3600, 1);
	register_contact(f, "bob", "192.0.2.21", 5064, 3600, 1);
	from_alice(f, invite_alice);
	(void)next_sent(f, SB_TP_UDP, "192.0.2.30", 5060);
	const struct sent *a = next_sent(f, SB_TP_UDP, "192.0.2.21", 5064);
	const struct sent *b = next_sent(f, SB_TP_UDP, "192.0.2.20", 5062);
	char *ra = response_with(a->buf, 401, "x1",
				 "WWW-Authenticate: Digest realm=\"a\", nonce=\"1\"\r\n");
	char *rb = response_with(b->buf, 407, "x2",
				 "Proxy-Authenticate: Digest realm=\"b\", nonce=\"2\"\r\n"
				 "Proxy-Authenticate: Digest realm=\"c\", nonce=\"3\"\r\n");
	inject_raw(f, ra, "192.0.2.21", 5064);
	(void)next_sent(f, SB_TP_UDP, "192.0.2.21", 5064); /* ACK */
	inject_raw(f, rb, "192.0.2.20", 5062);
	(void)next_sent(f, SB_TP_UDP, "192.0.2.20", 5062); /* ACK */
	const struct sent *up = expect_sent(f, SB_TP_UDP, "192.0.2.30", 5060, "SIP/2.0 401 ", 12);
	const char *w = strstr(up->buf, "\r\nWWW-Authenticate: Digest realm=\"a\", nonce=\"1\"\r\n");
	assert_non_null(w);
	assert_null(strstr(w + 3, "WWW-Authenticate"));
	assert_non_null(strstr(up->buf, "\r\nProxy-Authenticate: Digest realm=\"b\", nonce=\"2\"\r\n"));
	assert_non_null(strstr(up->buf, "\r\nProxy-Authenticate: Digest realm=\"c\", nonce=\"3\"\r\n"));
	assert_non_null(strstr(up->buf, "\r\nContent-Length: 0\r\n\r\n"));
	no_more_sent(f);
	free(ra);
	free(rb);
}

/* RFC 4320 §4.2 (defect 8): no 408 to a non-INVITE request; when its only
 * outcome is a timeout nothing goes upstream, and nothing is left behind. */
static void test_non_invite_timeout_sends_nothing(void **state)
{
	struct fx *f = *state;
	register_contact(f, "bob", "192.0.2.20", 5062, 3600, 1);
	inject_from(f,
		    "OPTIONS sip:bob@example.com SIP/2.0\n"
		    "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKo1;rport\n"
		    "Max-Forwards: 70\n"
		    "From: <sip:alice@example.com>;tag=at1\n"
		    "To: <sip:bob@example.com>\n"
		    "Call-ID: o1@x\n"
		    "CSeq: 1 OPTIONS\n"
		    "Content-Length: 0\n\n",
		    SB_TP_UDP, "192.0.2.30", 5060);
	unsigned from = f->nsent;
	sb_loop_advance(f->loop, 3600 * 1000);
	for (unsigned k = from; k < f->nsent; k++)
		if (strncmp(f->sent[k].buf, "SIP/", 4) == 0)
			fail_msg("sent upstream:\n%s", f->sent[k].buf);
	f->seen = f->nsent;
	assert_int_equal(sb_proxy_context_count(f->proxy), 0);
	assert_int_equal(sb_tsx_layer_count(sb_proxy_tsx_layer(f->proxy)), 0);
}

/* RFC 3261 §17.1.4 (defect 9): a TCP target that refuses the connection:
 * the transport reports it, and the caller has its answer at once instead
 * of after Timer B. */
static void test_tcp_connect_refused(void **state)
{
	struct fx *f = *state;
	inject_from(f,
		    "INVITE sip:carol@192.0.2.99;transport=tcp SIP/2.0\n"
		    "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKt1;rport\n"
		    "Max-Forwards: 70\n"
		    "From: <sip:alice@example.com>;tag=at1\n"
		    "To: <sip:carol@192.0.2.99>\n"
		    "Call-ID: t1@x\n"
		    "CSeq: 1 INVITE\n"
		    "Contact: <sip:alice@192.0.2.30>\n"
		    "Content-Length: 0\n\n",
		    SB_TP_UDP, "192.0.2.30", 5060);
	(void)next_sent(f, SB_TP_UDP, "192.0.2.30", 5060); /* 100 */
	(void)next_sent(f, SB_TP_TCP, "192.0.2.99", 5060);
	no_more_sent(f);
	/* another peer's connection is none of its business */
	struct sb_addr other = addr("192.0.2.98", 5060), peer = addr("192.0.2.99", 5060);
	sb_tsx_layer_conn_failed(sb_proxy_tsx_layer(f->proxy), 3, &other);
	sb_loop_advance(f->loop, 0);
	no_more_sent(f);
	sb_tsx_layer_conn_failed(sb_proxy_tsx_layer(f->proxy), 4, &peer);
	no_more_sent(f); /* not from inside the call */
	sb_loop_advance(f->loop, 0);
	const struct sent *up = next_sent(f, SB_TP_UDP, "192.0.2.30", 5060);
	/* a transport error is a 503, which §16.7 step 6 sends up as 500 */
	assert_true(strncmp(up->buf, "SIP/2.0 500 ", 12) == 0);
	no_more_sent(f);
}

/* Every RFC 4475 torture message, as a request from a client and as a
 * response from a server: nothing crashes (ASan, UBSan), nothing leaks, and
 * whatever the proxy answers goes back to the sender. */
static void test_torture_corpus(void **state)
{
	struct fx *f = *state;
	char dir[512];
	const char *src = __FILE__, *slash = strrchr(src, '/');
	snprintf(dir, sizeof dir, "%.*s/../conformance/rfc4475", slash ? (int)(slash - src) : 1,
		 slash ? src : ".");
	DIR *d = opendir(dir);
	if (!d)
		fail_msg("cannot open %s (run from the build directory)", dir);
	register_contact(f, "bob", "192.0.2.20", 5062, 3600, 1);
	struct dirent *e;
	unsigned n = 0;
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);
		if (l < 5 || strcmp(e->d_name + l - 4, ".dat") != 0)
			continue;
		char path[1024];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		FILE *fp = fopen(path, "rb");
		assert_non_null(fp);
		char *buf = malloc(SB_SIP_MAX_MSG_SIZE + 1);
		assert_non_null(buf);
		size_t len = fread(buf, 1, SB_SIP_MAX_MSG_SIZE + 1, fp);
		fclose(fp);
		struct sb_sip_msg *m = malloc(sizeof *m);
		assert_non_null(m);
		if (sb_sip_parse(m, buf, len, SB_SIP_DATAGRAM) == 0) {
			struct sb_tp_rx rx = {
				.msg = m,
				.proto = SB_TP_UDP,
				.src = addr("192.0.2.30", 5060),
				.local = addr("192.0.2.10", 5060),
			};
			unsigned before = f->nsent;
			sb_proxy_recv(&rx, f->proxy);
			for (unsigned k = before; k < f->nsent; k++)
				if (strncmp(f->sent[k].buf, "SIP/", 4) == 0) {
					struct sb_addr want = addr("192.0.2.30", 5060);
					assert_true(sb_addr_eq(&f->sent[k].dst.addr, &want));
				}
			n++;
		}
		free(m);
		free(buf);
		/* keep the capture small: forget what was sent */
		for (unsigned k = 0; k < f->nsent; k++)
			free(f->sent[k].buf);
		f->nsent = f->seen = 0;
		sb_loop_advance(f->loop, 1000);
		for (unsigned k = 0; k < f->nsent; k++)
			free(f->sent[k].buf);
		f->nsent = f->seen = 0;
	}
	closedir(d);
	assert_true(n >= 40);
	sb_loop_advance(f->loop, 400000);
	for (unsigned k = 0; k < f->nsent && k < MAX_SENT; k++)
		free(f->sent[k].buf);
	f->nsent = f->seen = 0;
}

/* RFC 3261 §16.4: only a Request-URI that is one of our Record-Route
 * values (a listener's host and port, its transport if named, and lr)
 * means a strict router upstream.  A request to our address without lr
 * (to the domain) is not rewritten to its last Route: it is handled as a
 * request to the domain. */
static void test_strict_route_needs_our_record_route(void **state)
{
	struct fx *f = *state;
	inject_from(f,
		    "SUBSCRIBE sip:192.0.2.10:5060 SIP/2.0\n"
		    "Via: SIP/2.0/UDP 192.0.2.20:5062;branch=z9hG4bKsr1\n"
		    "Route: <sip:192.0.2.77:5080;lr>\n"
		    "Max-Forwards: 70\n"
		    "From: <sip:bob@example.com>;tag=b1\n"
		    "To: <sip:192.0.2.10:5060>\n"
		    "Call-ID: sr1\n"
		    "CSeq: 1 SUBSCRIBE\n"
		    "Event: presence\n"
		    "Content-Length: 0\n\n",
		    SB_TP_UDP, "192.0.2.20", 5062);
	/* §16.5 then looks the domain's Request-URI up: no such user */
	const struct sent *s = expect_sent(f, SB_TP_UDP, "192.0.2.20", 5062,
					   "SIP/2.0 404 Not Found\r\n", 23);
	assert_non_null(strstr(s->buf, "\r\nCSeq: 1 SUBSCRIBE\r\n"));
	no_more_sent(f);
	/* lr but a transport we do not listen on there: not ours either */
	inject_from(f,
		    "BYE sip:192.0.2.10:5060;transport=tls;lr SIP/2.0\n"
		    "Via: SIP/2.0/UDP 192.0.2.20:5062;branch=z9hG4bKsr2\n"
		    "Route: <sip:192.0.2.77:5080;lr>\n"
		    "Max-Forwards: 70\n"
		    "From: <sip:bob@example.com>;tag=b1\n"
		    "To: <sip:alice@example.com>;tag=a1\n"
		    "Call-ID: sr2\n"
		    "CSeq: 2 BYE\n"
		    "Content-Length: 0\n\n",
		    SB_TP_UDP, "192.0.2.20", 5062);
	s = expect_sent(f, SB_TP_UDP, "192.0.2.20", 5062, "SIP/2.0 404 Not Found\r\n", 23);
	assert_non_null(strstr(s->buf, "\r\nCSeq: 2 BYE\r\n"));
	no_more_sent(f);
	/* our Record-Route exactly as we write it: a strict router upstream */
	inject_from(f,
		    "BYE sip:192.0.2.10:5060;transport=udp;lr SIP/2.0\n"
		    "Via: SIP/2.0/UDP 192.0.2.20:5062;branch=z9hG4bKsr3\n"
		    "Route: <sip:alice@192.0.2.30:5070>\n"
		    "Max-Forwards: 70\n"
		    "From: <sip:bob@example.com>;tag=b1\n"
		    "To: <sip:alice@example.com>;tag=a1\n"
		    "Call-ID: sr3\n"
		    "CSeq: 3 BYE\n"
		    "Content-Length: 0\n\n",
		    SB_TP_UDP, "192.0.2.20", 5062);
	s = expect_sent(f, SB_TP_UDP, "192.0.2.30", 5070,
			"BYE sip:alice@192.0.2.30:5070 SIP/2.0\r\n", 39);
	assert_null(strstr(s->buf, "Route:"));
	no_more_sent(f);
}

static void reset_sent(struct fx *f)
{
	for (unsigned k = 0; k < f->nsent; k++)
		free(f->sent[k].buf);
	f->nsent = f->seen = 0;
}

/* A flood of broken requests logs a bounded number of lines: at most
 * SB_PROXY_REJECT_LOG_PER_SEC a second, then one summary line. */
static void test_reject_log_rate_limited(void **state)
{
	struct fx *f = *state;
	char inv[1024];
	for (unsigned k = 0; k < 100; k++) {
		invite_variant(inv, sizeof inv, 0, k + 1, "");
		from_alice(f, inv);
	}
	assert_int_equal(f->nsent, 100); /* every one is still answered */
	reset_sent(f);
	assert_int_equal(f->nlog_rejected, SB_PROXY_REJECT_LOG_PER_SEC);
	assert_int_equal(f->nlog_suppressed, 0);
	sb_loop_advance(f->loop, 999);
	invite_variant(inv, sizeof inv, 0, 200, "");
	from_alice(f, inv);
	assert_int_equal(f->nlog_rejected, SB_PROXY_REJECT_LOG_PER_SEC);
	assert_int_equal(f->nlog_suppressed, 0);
	/* a new second: the summary, then lines again */
	sb_loop_advance(f->loop, 1);
	for (unsigned k = 0; k < 100; k++) {
		invite_variant(inv, sizeof inv, 0, 300 + k, "");
		from_alice(f, inv);
	}
	reset_sent(f);
	assert_int_equal(f->nlog_suppressed, 1);
	assert_string_equal(f->last_suppressed, "91 more rejections suppressed");
	assert_int_equal(f->nlog_rejected, 2 * SB_PROXY_REJECT_LOG_PER_SEC);
}

/* Inject text (LF line ends become CRLF) from ip:port over proto on
 * connection conn_id, as a connection-oriented transport would. */
static void inject_conn(struct fx *f, const char *text, enum sb_tp_proto proto, const char *ip,
			uint16_t port, uint32_t conn_id)
{
	proxy_inject_conn(f->proxy, text, proto, ip, port, conn_id);
}

/* The caller of a late-fork test: where its INVITE came from. */
struct caller {
	enum sb_tp_proto proto;
	uint16_t port;          /* its source port on 192.0.2.30 */
	uint32_t conn_id;
	const char *via;        /* its Via value */
};

/* The next message sent goes back to the caller exactly as the request
 * came (symmetric response routing: RFC 3261 §18.2.2 over a connection,
 * RFC 3581 §4), and starts with prefix. */
static const struct sent *to_caller(struct fx *f, const struct caller *c, const char *prefix)
{
	const struct sent *s = next_sent(f, c->proto, "192.0.2.30", c->port);
	struct sb_addr local = addr("192.0.2.10", 5060);
	assert_int_equal(s->dst.conn_id, c->conn_id);
	assert_true(sb_addr_eq(&s->dst.local, &local));
	if (strncmp(s->buf, prefix, strlen(prefix)) != 0)
		fail_msg("want %s, sent:\n%s", prefix, s->buf);
	return s;
}

/* How many times needle occurs in hay. */
static unsigned occurrences(const char *hay, const char *needle)
{
	unsigned n = 0;
	for (const char *q = hay; (q = strstr(q, needle)) != NULL; q += strlen(needle))
		n++;
	return n;
}

/* c's INVITE forked to bob's two phones: b answers, a is cancelled and
 * says 487, and the context is freed; then a fork behind a answers late,
 * and again (a retransmission).  RFC 6026 §8.1, §16.7 step 10: each 2xx
 * goes to the caller, our Via popped, where the first went: to the
 * request's source, its transport and connection, not to the Via's
 * sent-by.  The call is answered once. */
static void late_fork_2xx_goes_to_source(struct fx *f, const struct caller *c)
{
	register_contact(f, "bob", "192.0.2.20", 5062, 3600, 1);
	register_contact(f, "bob", "192.0.2.21", 5064, 3600, 1);
	char inv[1024];
	snprintf(inv, sizeof inv,
		 "INVITE sip:bob@example.com SIP/2.0\n"
		 "Via: %s\n"
		 "Max-Forwards: 70\n"
		 "From: Alice <sip:alice@example.com>;tag=at1\n"
		 "To: Bob <sip:bob@example.com>\n"
		 "Call-ID: late@192.0.2.30\n"
		 "CSeq: 1 INVITE\n"
		 "Contact: <sip:alice@192.0.2.30:5060>\n"
		 "Content-Length: 0\n\n",
		 c->via);
	inject_conn(f, inv, c->proto, "192.0.2.30", c->port, c->conn_id);
	(void)to_caller(f, c, "SIP/2.0 100 Trying\r\n");
	const struct sent *a = expect_sent(f, SB_TP_UDP, "192.0.2.21", 5064,
					   "INVITE sip:bob@192.0.2.21", 25);
	const struct sent *b = expect_sent(f, SB_TP_UDP, "192.0.2.20", 5062,
					   "INVITE sip:bob@192.0.2.20", 25);
	no_more_sent(f);
	char *a180 = respond(f, a->buf, 180, "ta", "192.0.2.21", 5064);
	(void)to_caller(f, c, "SIP/2.0 180 ");
	char *b200 = respond(f, b->buf, 200, "tb", "192.0.2.20", 5062);
	(void)to_caller(f, c, "SIP/2.0 200 OK\r\n");
	const struct sent *cancel = expect_sent(f, SB_TP_UDP, "192.0.2.21", 5064, "CANCEL ", 7);
	char *c200 = respond(f, cancel->buf, 200, "ta", "192.0.2.21", 5064);
	char *a487 = respond(f, a->buf, 487, "ta", "192.0.2.21", 5064);
	(void)expect_sent(f, SB_TP_UDP, "192.0.2.21", 5064, "ACK ", 4);
	no_more_sent(f);
	assert_int_equal(sb_proxy_context_count(f->proxy), 0);

	char *a200 = respond(f, a->buf, 200, "ta2", "192.0.2.21", 5064);
	const struct sent *late = to_caller(f, c, "SIP/2.0 200 OK\r\n");
	assert_non_null(strstr(late->buf, ";tag=ta2\r\n"));
	assert_int_equal(occurrences(late->buf, "\r\nVia: "), 1); /* ours popped */
	char via[256];
	snprintf(via, sizeof via, "\r\nVia: %.*s", (int)strcspn(c->via, ";"), c->via);
	assert_non_null(strstr(late->buf, via));
	no_more_sent(f);
	inject_raw(f, a200, "192.0.2.21", 5064); /* retransmitted */
	const struct sent *again = to_caller(f, c, "SIP/2.0 200 OK\r\n");
	assert_string_equal(again->buf, late->buf);
	no_more_sent(f);

	struct sb_proxy_stats st;
	sb_proxy_get_stats(f->proxy, &st);
	assert_int_equal(st.calls, 1);
	assert_int_equal(st.calls_answered, 1);
	/* Timer M ends the transactions and their shared record goes
	 * (ASan: no leak) */
	sb_loop_advance(f->loop, 64 * SB_TSX_T1_MS + 1000);
	assert_int_equal(sb_tsx_layer_count(sb_proxy_tsx_layer(f->proxy)), 0);
	no_more_sent(f);
	free(a180);
	free(b200);
	free(c200);
	free(a487);
	free(a200);
}

/* A TCP caller: ephemeral source port 40000 on connection 7, its Via
 * names port 5060 (no rport): the late 2xx goes over connection 7, as
 * the first did, not over a new connection to 5060. */
static void test_late_fork_2xx_tcp_to_source(void **state)
{
	struct caller c = { SB_TP_TCP, 40000, 7, "SIP/2.0/TCP 192.0.2.30:5060;branch=z9hG4bKt1" };
	late_fork_2xx_goes_to_source(*state, &c);
}

/* A TLS caller: the late 2xx goes over its connection (the Via relay
 * knows UDP and TCP only, and would drop it). */
static void test_late_fork_2xx_tls_to_source(void **state)
{
	struct caller c = { SB_TP_TLS, 40001, 9,
			    "SIP/2.0/TLS 192.0.2.30:5061;branch=z9hG4bKt2;rport" };
	late_fork_2xx_goes_to_source(*state, &c);
}

/* A UDP caller behind a NAT that does not ask for rport: source port
 * 6000, Via 5060; responses go to 6000 (RFC 3581 §4 symmetric, as every
 * response of the call did). */
static void test_late_fork_2xx_udp_nat_to_source(void **state)
{
	struct caller c = { SB_TP_UDP, 6000, 0, "SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKu1" };
	late_fork_2xx_goes_to_source(*state, &c);
}

/* Both branches fail and the 486 goes up (the context is freed); then
 * both forks answer late: both 2xx reach the caller, and the call counts
 * as answered once. */
static void test_late_answers_of_a_failed_call_counted_once(void **state)
{
	struct fx *f = *state;
	register_contact(f, "bob", "192.0.2.20", 5062, 3600, 1);
	register_contact(f, "bob", "192.0.2.21", 5064, 3600, 1);
	from_alice(f, invite_alice);
	(void)next_sent(f, SB_TP_UDP, "192.0.2.30", 5060); /* 100 */
	const struct sent *a = next_sent(f, SB_TP_UDP, "192.0.2.21", 5064);
	const struct sent *b = next_sent(f, SB_TP_UDP, "192.0.2.20", 5062);
	char *a486 = respond(f, a->buf, 486, "ta", "192.0.2.21", 5064);
	(void)expect_sent(f, SB_TP_UDP, "192.0.2.21", 5064, "ACK ", 4);
	char *b486 = respond(f, b->buf, 486, "tb", "192.0.2.20", 5062);
	(void)expect_sent(f, SB_TP_UDP, "192.0.2.20", 5062, "ACK ", 4);
	(void)expect_sent(f, SB_TP_UDP, "192.0.2.30", 5060, "SIP/2.0 486 ", 12);
	no_more_sent(f);
	assert_int_equal(sb_proxy_context_count(f->proxy), 0);
	struct sb_proxy_stats st;
	sb_proxy_get_stats(f->proxy, &st);
	assert_int_equal(st.calls, 1);
	assert_int_equal(st.calls_answered, 0);
	char *a200 = respond(f, a->buf, 200, "ta2", "192.0.2.21", 5064);
	const struct sent *up = expect_sent(f, SB_TP_UDP, "192.0.2.30", 5060,
					    "SIP/2.0 200 OK\r\n", 16);
	assert_non_null(strstr(up->buf, ";tag=ta2\r\n"));
	char *b200 = respond(f, b->buf, 200, "tb2", "192.0.2.20", 5062);
	up = expect_sent(f, SB_TP_UDP, "192.0.2.30", 5060, "SIP/2.0 200 OK\r\n", 16);
	assert_non_null(strstr(up->buf, ";tag=tb2\r\n"));
	no_more_sent(f);
	sb_proxy_get_stats(f->proxy, &st);
	assert_int_equal(st.calls, 1);
	assert_int_equal(st.calls_answered, 1);
	free(a486);
	free(b486);
	free(a200);
	free(b200);
}

/* A response of code with to_tag to req whose header section ends with
 * extra (CRLF-terminated lines) followed by a pad field of pad bytes
 * (none when 0); the caller frees it. */
static char *big_response(const char *req, unsigned code, const char *to_tag, const char *extra,
			  size_t pad)
{
	char *r = response_to(req, code, to_tag);
	const char *end = strstr(r, "\r\n\r\n");
	assert_non_null(end);
	size_t pre = (size_t)(end - r) + 2, ne = strlen(extra);
	char *out = malloc(pre + ne + pad + 16);
	assert_non_null(out);
	memcpy(out, r, pre);
	memcpy(out + pre, extra, ne);
	size_t k = pre + ne;
	if (pad) {
		memcpy(out + k, "X-Pad: ", 7);
		k += 7;
		memset(out + k, 'x', pad);
		k += pad;
		memcpy(out + k, "\r\n", 2);
		k += 2;
	}
	memcpy(out + k, "\r\n", 3);
	free(r);
	return out;
}

/* §16.7 step 7 with two 401s whose merged challenges would pass
 * SB_SIP_MAX_MSG_SIZE, which the server transaction refuses: the best
 * response goes up as it came (with its own challenge only), and the
 * transaction completes and ends (no slot held, no CANCEL answered 200
 * long after). */
static void test_merged_challenges_too_long_best_goes_as_is(void **state)
{
	struct fx *f = *state;
	register_contact(f, "bob", "192.0.2.20", 5062, 3600, 1);
	register_contact(f, "bob", "192.0.2.21", 5064, 3600, 1);
	from_alice(f, invite_alice);
	(void)next_sent(f, SB_TP_UDP, "192.0.2.30", 5060); /* 100 */
	const struct sent *a = next_sent(f, SB_TP_UDP, "192.0.2.21", 5064);
	const struct sent *b = next_sent(f, SB_TP_UDP, "192.0.2.20", 5062);
	char *ra = big_response(a->buf, 401, "ta",
				"WWW-Authenticate: Digest realm=\"a\", nonce=\"1\"\r\n", 62000);
	char challenges[8000];
	size_t k = 0;
	for (int i = 0; i < 60; i++)
		k += (size_t)snprintf(challenges + k, sizeof challenges - k,
				      "WWW-Authenticate: Digest realm=\"b%02d\", nonce=\"%070d\"\r\n",
				      i, i);
	char *rb = big_response(b->buf, 401, "tb", challenges, 0);
	inject_raw(f, ra, "192.0.2.21", 5064);
	(void)expect_sent(f, SB_TP_UDP, "192.0.2.21", 5064, "ACK ", 4);
	inject_raw(f, rb, "192.0.2.20", 5062);
	(void)expect_sent(f, SB_TP_UDP, "192.0.2.20", 5062, "ACK ", 4);
	const struct sent *up = expect_sent(f, SB_TP_UDP, "192.0.2.30", 5060, "SIP/2.0 401 ", 12);
	/* a's 401 with our Via popped */
	const char *our_via = strstr(ra, "\r\nVia: ");
	assert_non_null(our_via);
	size_t via_len = strcspn(our_via + 2, "\r") + 2;
	assert_int_equal(up->len, strlen(ra) - via_len);
	assert_non_null(strstr(up->buf, "\r\nWWW-Authenticate: Digest realm=\"a\", nonce=\"1\"\r\n"));
	assert_null(strstr(up->buf, "realm=\"b00\""));
	no_more_sent(f);
	assert_int_equal(sb_proxy_context_count(f->proxy), 0);
	/* Completed: Timer G re-sends it; Timer H ends it without an ACK */
	sb_loop_advance(f->loop, 64 * SB_TSX_T1_MS + 1000);
	assert_true(f->nsent > f->seen);
	for (; f->seen < f->nsent; f->seen++)
		assert_string_equal(f->sent[f->seen].buf, up->buf);
	assert_int_equal(sb_tsx_layer_count(sb_proxy_tsx_layer(f->proxy)), 0);
	free(ra);
	free(rb);
}

int main(void)
{
	static struct opts recurse = { .recurse = true };
	static struct opts sequential = { .fork = SB_FORK_SEQUENTIAL };
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_basic_forward, setup, teardown),
		cmocka_unit_test_setup_teardown(test_context_freed_at_final_response, setup, teardown),
		cmocka_unit_test_setup_teardown(test_generated_response_from_kept_fields, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_not_found_and_unavailable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_many_hops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loop_and_spiral, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_extension, setup, teardown),
		cmocka_unit_test_setup_teardown(test_busy_relayed_with_hop_by_hop_ack, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parallel_fork, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout_is_408, setup, teardown),
		cmocka_unit_test_setup_teardown(test_double_record_route_udp_to_tcp, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_route_processing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unsupported_scheme_and_options_to_us, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_redirect_relayed, setup, teardown),
		cmocka_unit_test_prestate_setup_teardown(test_redirect_recursed, setup, teardown,
							 &recurse),
		cmocka_unit_test_prestate_setup_teardown(test_sequential_fork, setup, teardown,
							 &sequential),
		cmocka_unit_test_setup_teardown(test_best_response_6xx_cancels, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timer_c, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_request_goes_tcp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_forwards_inserted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torture_corpus, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancelled_branch_never_answers, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_timer_c_after_100_cancels_and_frees, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_given_up_branch_frees_transaction, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_cancel_after_100_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_without_context_forwarded, setup,
						teardown),
		cmocka_unit_test_prestate_setup_teardown(test_no_new_branch_after_6xx, setup,
							 teardown, &sequential),
		cmocka_unit_test_setup_teardown(test_late_2xx_forwarded_statelessly, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_auth_challenges_aggregated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_non_invite_timeout_sends_nothing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_tcp_connect_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_strict_route_needs_our_record_route, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reject_log_rate_limited, setup, teardown),
		cmocka_unit_test_setup_teardown(test_late_fork_2xx_tcp_to_source, setup, teardown),
		cmocka_unit_test_setup_teardown(test_late_fork_2xx_tls_to_source, setup, teardown),
		cmocka_unit_test_setup_teardown(test_late_fork_2xx_udp_nat_to_source, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_late_answers_of_a_failed_call_counted_once,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_merged_challenges_too_long_best_goes_as_is,
						setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
