/* Unit tests for what the proxy core does with users (users.h),
 * authentication (authn.h) and network call forwarding, on the real
 * transaction layer, location service, registrar, user directory, digest
 * verifier and authentication step, with the loop's manual clock and a
 * send callback that captures every message.  Each test injects messages
 * as a transport would and asserts the exact messages that leave:
 * RFC 3261 §22.3 (407, credentials removed, From ownership), 404 vs 480,
 * the forwarding rules (DND, always, unavailable, busy, no answer, a loop of
 * rules), the counters of sb_proxy_get_stats and the asynchronous REGISTER
 * answer. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "switchboard/auth.h"
#include "switchboard/authn.h"
#include "switchboard/location.h"
#include "switchboard/proxy.h"
#include "switchboard/registrar.h"
#include "switchboard/users.h"

#include "sipmsgutil.h"

#define MAX_SENT 256
#define REALM "example.com"
#define WALL_START 1700000000u

struct sent {
	char *buf;
	size_t len;
	struct sb_tp_dest dst;
};

/* What register_h does. */
enum reg_mode {
	REG_REGISTRAR = 0,  /* the registrar answers at once */
	REG_LATER,          /* EINPROGRESS: the test answers */
	REG_SILENT,         /* EAGAIN: a source locked out silently */
	REG_TRYING,         /* 100 Trying at once, the final answer never */
};

struct fx {
	struct sb_loop *loop;
	struct sb_location *loc;
	struct sb_registrar *reg;
	struct sb_users *users;
	struct sb_digest *digest;
	struct sb_authn *authn;
	struct sb_proxy *proxy;
	struct sent sent[MAX_SENT];
	unsigned nsent;
	unsigned seen;
	bool fail_send;
	bool fail_to_on;        /* sending to fail_to fails */
	struct sb_addr fail_to;
	enum reg_mode reg_mode;
	uint64_t token;         /* the last one register_h was given */
	uint64_t wall;
};

/* Options a test asks for through cmocka's initial state. */
struct opts {
	bool auth;              /* authn on INVITE and MESSAGE */
	bool users;             /* a user directory */
	bool lockout_silent;
	uint32_t max_failures;
	bool dialog_key;        /* dialog tokens in our Record-Route */
	bool sequential;        /* sequential forking */
};

static void log_h(enum sb_log_level lvl, const char *line, void *arg)
{
	(void)lvl;
	(void)line;
	(void)arg;
}

static int send_h(const struct sb_tp_dest *dst, const char *buf, size_t len, void *arg)
{
	struct fx *f = arg;
	if (f->fail_send || (f->fail_to_on && sb_addr_eq(&dst->addr, &f->fail_to)))
		return ECONNREFUSED;
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
	f->token = token;
	switch (f->reg_mode) {
	case REG_LATER:
		return EINPROGRESS;
	case REG_SILENT:
		return EAGAIN;
	case REG_TRYING: {
		struct sb_sip_response_spec spec = { .code = 100 };
		return sb_sip_print_response(out, rx->msg, &spec);
	}
	default:
		return sb_registrar_handle(f->reg, rx->msg, rx, token, out);
	}
}

static uint64_t wall_h(void *arg)
{
	struct fx *f = arg;
	return f->wall;
}

static void add_user(struct fx *f, const char *name, const char *pw)
{
	assert_int_equal(sb_users_put_password(f->users, sb_slice_cstr(name), SB_LIT(REALM),
					       sb_slice_cstr(pw), 0),
			 0);
}

static void set_rule(struct fx *f, const char *name, enum sb_store_fwd kind, const char *target,
		     uint32_t noanswer_s)
{
	assert_int_equal(sb_users_set_rule(f->users, sb_slice_cstr(name), kind,
					   sb_slice_cstr(target), noanswer_s),
			 0);
}

static int setup(void **state)
{
	static const struct opts none;
	const struct opts *o = *state ? *state : &none;
	struct fx *f = calloc(1, sizeof *f);
	assert_non_null(f);
	f->wall = WALL_START;
	struct sb_loop_cfg lc = { .manual_clock = true };
	assert_int_equal(sb_loop_alloc(&f->loop, &lc), 0);
	/* as many bindings per AOR as a request has targets */
	struct sb_location_cfg loc = { .loop = f->loop, .max_per_aor = SB_PROXY_MAX_TARGETS };
	assert_int_equal(sb_location_alloc(&f->loc, &loc), 0);
	static const char *const doms[] = { "example.com", "192.0.2.10", NULL };
	struct sb_registrar_cfg rc = { .location = f->loc, .loop = f->loop, .domains = doms };
	assert_int_equal(sb_registrar_alloc(&f->reg, &rc), 0);
	if (o->users || o->auth) {
		assert_int_equal(sb_users_alloc(&f->users, 0, 7), 0);
		add_user(f, "alice", "alicepw");
		add_user(f, "bob", "bobpw");
		add_user(f, "carol", "carolpw");
	}
	if (o->auth) {
		static const uint8_t secret[32] = "0123456789abcdef0123456789abcdef";
		struct sb_digest_cfg dc = {
			.realm = SB_LIT(REALM),
			.secret = secret,
			.secret_len = sizeof secret,
		};
		assert_int_equal(sb_digest_alloc(&f->digest, &dc), 0);
		struct sb_authn_cfg ac = {
			.digest = f->digest,
			.users = f->users,
			.max_failures = o->max_failures,
			.lockout_silent = o->lockout_silent,
			.seed = 3,
		};
		assert_int_equal(sb_authn_alloc(&f->authn, &ac), 0);
	}
	struct sb_proxy_cfg pc = {
		.loop = f->loop,
		.location = f->loc,
		.send_h = send_h,
		.send_arg = f,
		.register_h = register_h,
		.register_arg = f,
		.domains = { "example.com", "192.0.2.10" },
		.ndomains = 2,
		.nlisten = 1,
		.authn = f->authn,
		.auth_methods = o->auth ? (1u << SB_METHOD_INVITE) | (1u << SB_METHOD_MESSAGE) |
						  (1u << SB_METHOD_BYE)
					: 0,
		.users = o->users ? f->users : NULL,
		.wall_h = wall_h,
		.wall_arg = f,
		.dialog_key = o->dialog_key ? (const uint8_t *)"dialog-key-for-tests" : NULL,
		.dialog_key_len = o->dialog_key ? 20 : 0,
		.realm = o->auth ? REALM : NULL,
		.fork = o->sequential ? SB_FORK_SEQUENTIAL : SB_FORK_PARALLEL,
		.log_h = log_h,
		.log_arg = f,
		.log_level = SB_LOG_DEBUG,
	};
	pc.listen[0].proto = SB_TP_UDP;
	pc.listen[0].addr = addr("192.0.2.10", 5060);
	assert_int_equal(sb_proxy_alloc(&f->proxy, &pc), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	sb_proxy_free(f->proxy);
	sb_authn_free(f->authn);
	sb_digest_free(f->digest);
	sb_users_free(f->users);
	sb_registrar_free(f->reg);
	sb_location_free(f->loc);
	sb_loop_free(f->loop);
	for (unsigned k = 0; k < f->nsent; k++)
		free(f->sent[k].buf);
	free(f);
	return 0;
}

/* Inject text (LF line ends become CRLF) from ip:port over UDP. */
static void inject(struct fx *f, const char *text, const char *ip, uint16_t port)
{
	proxy_inject(f->proxy, text, SB_TP_UDP, ip, port);
}

static void from_alice(struct fx *f, const char *text)
{
	inject(f, text, "192.0.2.30", 5060);
}

static const struct sent *next_sent(struct fx *f, const char *ip, uint16_t port)
{
	if (f->seen >= f->nsent)
		fail_msg("nothing more was sent (want a message to %s:%u)", ip, port);
	const struct sent *s = &f->sent[f->seen++];
	struct sb_addr want = addr(ip, port);
	char a[SB_ADDR_STR_MAX], b[SB_ADDR_STR_MAX];
	if (!sb_addr_eq(&s->dst.addr, &want) || s->dst.proto != SB_TP_UDP)
		fail_msg("sent to %s, want %s:\n%s", sb_addr_to_str(&s->dst.addr, a, sizeof a),
			 sb_addr_to_str(&want, b, sizeof b), s->buf);
	return s;
}

/* next_sent(), and its first line is first_line. */
static const struct sent *expect_sent(struct fx *f, const char *ip, uint16_t port,
				      const char *first_line)
{
	const struct sent *s = next_sent(f, ip, port);
	size_t n = strlen(first_line);
	if (strncmp(s->buf, first_line, n) != 0 || strncmp(s->buf + n, "\r\n", 2) != 0)
		fail_msg("want \"%s\", got:\n%s", first_line, s->buf);
	return s;
}

static void no_more_sent(struct fx *f)
{
	if (f->seen != f->nsent)
		fail_msg("unexpected message:\n%s", f->sent[f->seen].buf);
}

/* Skip every message still to be looked at that starts with prefix
 * (retransmissions). */
static void skip_any(struct fx *f, const char *prefix)
{
	while (f->seen < f->nsent && strncmp(f->sent[f->seen].buf, prefix, strlen(prefix)) == 0)
		f->seen++;
}

/* The text after key in msg up to one of the bytes of stop (copied). */
static void extract(const char *msg, const char *key, const char *stop, char *out, size_t cap)
{
	const char *b = strstr(msg, key);
	if (!b)
		fail_msg("no %s in:\n%s", key, msg);
	b += strlen(key);
	size_t l = strcspn(b, stop);
	assert_true(l < cap);
	memcpy(out, b, l);
	out[l] = 0;
}

static void top_branch(const char *msg, char *out, size_t cap)
{
	extract(msg, "branch=", ";\r, ", out, cap);
}

/* Answer req with code from ip:port (the response is freed here). */
static void respond(struct fx *f, const char *req, unsigned code, const char *to_tag,
		    const char *ip, uint16_t port)
{
	char *r = response_to(req, code, to_tag);
	inject(f, r, ip, port);
	free(r);
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
	inject(f, msg, ip, port);
	(void)expect_sent(f, ip, port, "SIP/2.0 200 OK");
}

/* bob at 192.0.2.20:5062, carol at 192.0.2.40:5064. */
static void register_bob_carol(struct fx *f)
{
	register_contact(f, "bob", "192.0.2.20", 5062, 3600, 1);
	register_contact(f, "carol", "192.0.2.40", 5064, 3600, 1);
}

/* alice's INVITE to uri (CSeq cseq, Via branch z9hG4bKa<cseq>) with extra
 * header lines. */
static void invite_to(char *out, size_t cap, const char *uri, unsigned cseq, const char *extra)
{
	snprintf(out, cap,
		 "INVITE %s SIP/2.0\n"
		 "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKa%u;rport\n"
		 "Max-Forwards: 70\n"
		 "From: Alice <sip:alice@example.com>;tag=at1\n"
		 "To: Bob <%s>\n"
		 "Call-ID: call1@192.0.2.30\n"
		 "CSeq: %u INVITE\n"
		 "Contact: <sip:alice@192.0.2.30:5060>\n"
		 "%s"
		 "Content-Length: 0\n\n",
		 uri, cseq, uri, cseq, extra);
}

/* alice calls bob@example.com (CSeq 1): the 100 Trying is checked. */
static void call_bob(struct fx *f)
{
	char inv[2048];
	invite_to(inv, sizeof inv, "sip:bob@example.com", 1, "");
	from_alice(f, inv);
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 100 Trying");
}

/* The exact INVITE forwarded to ruri for alice's call to bob, with the
 * branch it carries. */
static void expect_forwarded_invite(const struct sent *s, const char *ruri)
{
	char br[128], want[2048];
	top_branch(s->buf, br, sizeof br);
	snprintf(want, sizeof want,
		 "INVITE %s SIP/2.0\n"
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
		 ruri, br);
	expect_text(s->buf, want);
}

/* Proxy-Authorization credentials for user/password computed from the
 * challenge in a 407, as a phone does (SHA-256, qop=auth). */
static void credentials(const char *resp407, const char *user, const char *pw,
			const char *method, const char *uri, const char *nc, char *out,
			size_t cap)
{
	char nonce[128], opaque[64], ha1[SB_DIGEST_HEX_CAP], rsp[SB_DIGEST_HEX_CAP];
	extract(resp407, "nonce=\"", "\"", nonce, sizeof nonce);
	extract(resp407, "opaque=\"", "\"", opaque, sizeof opaque);
	assert_int_equal(sb_digest_ha1(SB_DIGEST_SHA256, sb_slice_cstr(user), SB_LIT(REALM),
				       sb_slice_cstr(pw), ha1, sizeof ha1),
			 0);
	struct sb_digest_input in = {
		.alg = SB_DIGEST_SHA256,
		.ha1 = sb_slice_cstr(ha1),
		.nonce = sb_slice_cstr(nonce),
		.nc = sb_slice_cstr(nc),
		.cnonce = SB_LIT("c0ffee"),
		.qop = SB_LIT("auth"),
		.method = sb_slice_cstr(method),
		.uri = sb_slice_cstr(uri),
	};
	assert_int_equal(sb_digest_response(&in, rsp, sizeof rsp), 0);
	snprintf(out, cap,
		 "Proxy-Authorization: Digest username=\"%s\", realm=\"" REALM "\", "
		 "nonce=\"%s\", uri=\"%s\", response=\"%s\", algorithm=SHA-256, qop=auth, "
		 "nc=%s, cnonce=\"c0ffee\", opaque=\"%s\"\n",
		 user, nonce, uri, rsp, nc, opaque);
}

/* alice's INVITE to bob without credentials: the 407 (checked exactly)
 * is returned. */
static const struct sent *challenge_invite(struct fx *f)
{
	char inv[2048], want[2048], nonce[128], opaque[64], tag[64];
	invite_to(inv, sizeof inv, "sip:bob@example.com", 1, "");
	from_alice(f, inv);
	const struct sent *s = next_sent(f, "192.0.2.30", 5060);
	extract(s->buf, "nonce=\"", "\"", nonce, sizeof nonce);
	extract(s->buf, "opaque=\"", "\"", opaque, sizeof opaque);
	extract(s->buf, "To: Bob <sip:bob@example.com>;tag=", "\r", tag, sizeof tag);
	assert_int_equal(strlen(nonce), SB_DIGEST_NONCE_LEN);
	assert_int_equal(strlen(opaque), SB_DIGEST_OPAQUE_LEN);
	snprintf(want, sizeof want,
		 "SIP/2.0 407 Proxy Authentication Required\n"
		 "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKa1;rport\n"
		 "From: Alice <sip:alice@example.com>;tag=at1\n"
		 "To: Bob <sip:bob@example.com>;tag=%s\n"
		 "Call-ID: call1@192.0.2.30\n"
		 "CSeq: 1 INVITE\n"
		 "Proxy-Authenticate: Digest realm=\"example.com\", nonce=\"%s\", "
		 "opaque=\"%s\", algorithm=SHA-256, qop=\"auth\"\n"
		 "Proxy-Authenticate: Digest realm=\"example.com\", nonce=\"%s\", "
		 "opaque=\"%s\", algorithm=MD5, qop=\"auth\"\n"
		 "Content-Length: 0\n\n",
		 tag, nonce, opaque, nonce, opaque);
	expect_text(s->buf, want);
	return s;
}

/* ------------------------------------------------------ authentication */

static void test_auth_407_then_forwarded(void **state)
{
	struct fx *f = *state;
	register_bob_carol(f);
	const struct sent *c = challenge_invite(f);
	no_more_sent(f);
	/* the caller's ACK for the 407 (sent statelessly) is absorbed: it
	 * carries our To tag, so it goes nowhere */
	char tag[64], ack[1024];
	extract(c->buf, "To: Bob <sip:bob@example.com>;tag=", "\r", tag, sizeof tag);
	snprintf(ack, sizeof ack,
		 "ACK sip:bob@example.com SIP/2.0\n"
		 "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKa1;rport\n"
		 "Max-Forwards: 70\n"
		 "From: Alice <sip:alice@example.com>;tag=at1\n"
		 "To: Bob <sip:bob@example.com>;tag=%s\n"
		 "Call-ID: call1@192.0.2.30\n"
		 "CSeq: 1 ACK\n"
		 "Content-Length: 0\n\n",
		 tag);
	from_alice(f, ack);
	no_more_sent(f);

	/* again with our credentials and another realm's */
	char cred[1024], extra[2048], inv[4096];
	credentials(c->buf, "alice", "alicepw", "INVITE", "sip:bob@example.com", "00000001", cred,
		    sizeof cred);
	snprintf(extra, sizeof extra,
		 "Proxy-Authorization: Digest username=\"alice\", realm=\"other.net\", "
		 "nonce=\"x\", uri=\"sip:bob@example.com\", response=\"00\"\n"
		 "%s",
		 cred);
	invite_to(inv, sizeof inv, "sip:bob@example.com", 2, extra);
	from_alice(f, inv);
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 100 Trying");
	const struct sent *s = next_sent(f, "192.0.2.20", 5062);
	char br[128], want[4096];
	top_branch(s->buf, br, sizeof br);
	snprintf(want, sizeof want,
		 "INVITE sip:bob@192.0.2.20:5062 SIP/2.0\n"
		 "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=%s;rport\n"
		 "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKa2;rport=5060;received=192.0.2.30\n"
		 "Record-Route: <sip:192.0.2.10:5060;transport=udp;lr>\n"
		 "Max-Forwards: 69\n"
		 "From: Alice <sip:alice@example.com>;tag=at1\n"
		 "To: Bob <sip:bob@example.com>\n"
		 "Call-ID: call1@192.0.2.30\n"
		 "CSeq: 2 INVITE\n"
		 "Contact: <sip:alice@192.0.2.30:5060>\n"
		 "Proxy-Authorization: Digest username=\"alice\", realm=\"other.net\", "
		 "nonce=\"x\", uri=\"sip:bob@example.com\", response=\"00\"\n"
		 "Content-Length: 0\n\n",
		 br);
	expect_text(s->buf, want);
	no_more_sent(f);
	struct sb_proxy_stats st;
	sb_proxy_get_stats(f->proxy, &st);
	assert_int_equal(st.challenged, 1);
	assert_int_equal(st.calls, 1);

	/* the same credentials again (nc not above): challenged afresh */
	invite_to(inv, sizeof inv, "sip:bob@example.com", 3, cred);
	from_alice(f, inv);
	const struct sent *again = next_sent(f, "192.0.2.30", 5060);
	assert_true(strncmp(again->buf, "SIP/2.0 407 Proxy Authentication Required\r\n", 43) == 0);
	no_more_sent(f);
	sb_proxy_get_stats(f->proxy, &st);
	assert_int_equal(st.challenged, 2);
}

static void test_auth_from_not_owned(void **state)
{
	struct fx *f = *state;
	register_bob_carol(f);
	const struct sent *c = challenge_invite(f);
	/* alice's credentials, but the From says carol */
	char cred[1024], inv[4096];
	credentials(c->buf, "alice", "alicepw", "INVITE", "sip:bob@example.com", "00000001", cred,
		    sizeof cred);
	snprintf(inv, sizeof inv,
		 "INVITE sip:bob@example.com SIP/2.0\n"
		 "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKa2;rport\n"
		 "Max-Forwards: 70\n"
		 "From: Carol <sip:carol@example.com>;tag=ct1\n"
		 "To: Bob <sip:bob@example.com>\n"
		 "Call-ID: call2@192.0.2.30\n"
		 "CSeq: 2 INVITE\n"
		 "%s"
		 "Content-Length: 0\n\n",
		 cred);
	from_alice(f, inv);
	const struct sent *s = expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 403 Forbidden - From Not Owned");
	assert_non_null(strstr(s->buf, "\r\nTo: Bob <sip:bob@example.com>;tag="));
	no_more_sent(f);
	/* alice, but a From in a domain not ours, relayed to a domain not
	 * ours: must authenticate, and does not own that From */
	credentials(c->buf, "alice", "alicepw", "INVITE", "sip:dave@192.0.2.99", "00000002", cred,
		    sizeof cred);
	snprintf(inv, sizeof inv,
		 "INVITE sip:dave@192.0.2.99 SIP/2.0\n"
		 "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKa3;rport\n"
		 "Max-Forwards: 70\n"
		 "From: <sip:alice@elsewhere.net>;tag=ct2\n"
		 "To: <sip:dave@192.0.2.99>\n"
		 "Call-ID: call3@192.0.2.30\n"
		 "CSeq: 3 INVITE\n"
		 "%s"
		 "Content-Length: 0\n\n",
		 cred);
	from_alice(f, inv);
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 403 Forbidden - From Not Owned");
	no_more_sent(f);
	/* a call in from another domain learns nothing of who exists: an
	 * unknown user and a known one without phones both get 480 */
	from_alice(f, "INVITE sip:dave@example.com SIP/2.0\n"
		      "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKen1;rport\n"
		      "Max-Forwards: 70\n"
		      "From: <sip:zoe@elsewhere.net>;tag=z0\n"
		      "To: <sip:dave@example.com>\n"
		      "Call-ID: enum1@192.0.2.30\n"
		      "CSeq: 1 INVITE\n"
		      "Content-Length: 0\n\n");
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 100 Trying");
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 480 Temporarily Unavailable");
	no_more_sent(f);
	/* a call in from another domain to one of our users needs no
	 * credentials of ours: it reaches bob */
	from_alice(f, "INVITE sip:bob@example.com SIP/2.0\n"
		      "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKin1;rport\n"
		      "Max-Forwards: 70\n"
		      "From: <sip:zoe@elsewhere.net>;tag=z1\n"
		      "To: Bob <sip:bob@example.com>\n"
		      "Call-ID: inbound1@192.0.2.30\n"
		      "CSeq: 1 INVITE\n"
		      "Content-Length: 0\n\n");
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 100 Trying");
	(void)expect_sent(f, "192.0.2.20", 5062, "INVITE sip:bob@192.0.2.20:5062 SIP/2.0");
	no_more_sent(f);
	/* a wrong password: challenged again (no hint which part was wrong) */
	credentials(c->buf, "alice", "wrong", "INVITE", "sip:bob@example.com", "00000003", cred,
		    sizeof cred);
	invite_to(inv, sizeof inv, "sip:bob@example.com", 4, cred);
	from_alice(f, inv);
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 407 Proxy Authentication Required");
	no_more_sent(f);
}

/* Authenticate alice's INVITE to bob (CSeq 2, branch z9hG4bKa2): returns
 * the INVITE forwarded to bob. */
static const struct sent *authenticated_call(struct fx *f)
{
	const struct sent *c = challenge_invite(f);
	char cred[1024], inv[4096];
	credentials(c->buf, "alice", "alicepw", "INVITE", "sip:bob@example.com", "00000001", cred,
		    sizeof cred);
	invite_to(inv, sizeof inv, "sip:bob@example.com", 2, cred);
	from_alice(f, inv);
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 100 Trying");
	const struct sent *s = next_sent(f, "192.0.2.20", 5062);
	assert_null(strstr(s->buf, "Proxy-Authorization"));
	return s;
}

static void test_auth_cancel_ack_and_dialog_not_challenged(void **state)
{
	struct fx *f = *state;
	register_bob_carol(f);
	const struct sent *fw = authenticated_call(f);
	respond(f, fw->buf, 180, "bt1", "192.0.2.20", 5062);
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 180 Ringing");
	/* CANCEL carries no credentials and is never challenged (§22.1) */
	from_alice(f, "CANCEL sip:bob@example.com SIP/2.0\n"
		      "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKa2;rport\n"
		      "Max-Forwards: 70\n"
		      "From: Alice <sip:alice@example.com>;tag=at1\n"
		      "To: Bob <sip:bob@example.com>\n"
		      "Call-ID: call1@192.0.2.30\n"
		      "CSeq: 2 CANCEL\n"
		      "Content-Length: 0\n\n");
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 200 OK");
	const struct sent *cn = expect_sent(f, "192.0.2.20", 5062, "CANCEL sip:bob@192.0.2.20:5062 SIP/2.0");
	no_more_sent(f);
	respond(f, cn->buf, 200, "bt1", "192.0.2.20", 5062);
	respond(f, fw->buf, 487, "bt1", "192.0.2.20", 5062);
	(void)expect_sent(f, "192.0.2.20", 5062, "ACK sip:bob@192.0.2.20:5062 SIP/2.0");
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 487 Request Terminated");
	no_more_sent(f);

	/* in a dialog that went through us (a To tag and our Route first):
	 * an ACK for a 2xx and a BYE (a method in auth_methods) go through
	 * without credentials */
	from_alice(f, "ACK sip:bob@192.0.2.20:5062 SIP/2.0\n"
		      "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKack9;rport\n"
		      "Max-Forwards: 70\n"
		      "From: Alice <sip:alice@example.com>;tag=at1\n"
		      "To: Bob <sip:bob@example.com>;tag=bt7\n"
		      "Call-ID: call9@192.0.2.30\n"
		      "CSeq: 1 ACK\n"
		      "Content-Length: 0\n\n");
	(void)expect_sent(f, "192.0.2.20", 5062, "ACK sip:bob@192.0.2.20:5062 SIP/2.0");
	from_alice(f, "BYE sip:bob@192.0.2.20:5062 SIP/2.0\n"
		      "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKbye9;rport\n"
		      "Route: <sip:192.0.2.10:5060;transport=udp;lr>\n"
		      "Max-Forwards: 70\n"
		      "From: Alice <sip:alice@example.com>;tag=at1\n"
		      "To: Bob <sip:bob@example.com>;tag=bt7\n"
		      "Call-ID: call9@192.0.2.30\n"
		      "CSeq: 2 BYE\n"
		      "Content-Length: 0\n\n");
	(void)expect_sent(f, "192.0.2.20", 5062, "BYE sip:bob@192.0.2.20:5062 SIP/2.0");
	no_more_sent(f);
	/* a To tag alone is not a dialog of ours (anyone can write one) */
	from_alice(f, "BYE sip:bob@192.0.2.20:5062 SIP/2.0\n"
		      "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKbye8;rport\n"
		      "Max-Forwards: 70\n"
		      "From: Alice <sip:alice@example.com>;tag=at1\n"
		      "To: Bob <sip:bob@example.com>;tag=bt7\n"
		      "Call-ID: call8@192.0.2.30\n"
		      "CSeq: 2 BYE\n"
		      "Content-Length: 0\n\n");
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 407 Proxy Authentication Required");
	no_more_sent(f);
	/* the same BYE out of dialog is challenged */
	from_alice(f, "BYE sip:bob@192.0.2.20:5062 SIP/2.0\n"
		      "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKbye10;rport\n"
		      "Max-Forwards: 70\n"
		      "From: Alice <sip:alice@example.com>;tag=at1\n"
		      "To: Bob <sip:bob@example.com>\n"
		      "Call-ID: call10@192.0.2.30\n"
		      "CSeq: 2 BYE\n"
		      "Content-Length: 0\n\n");
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 407 Proxy Authentication Required");
	/* a method not in auth_methods is not */
	from_alice(f, "OPTIONS sip:bob@192.0.2.20:5062 SIP/2.0\n"
		      "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKo1;rport\n"
		      "Max-Forwards: 70\n"
		      "From: Alice <sip:alice@example.com>;tag=at1\n"
		      "To: Bob <sip:bob@example.com>\n"
		      "Call-ID: opt1@192.0.2.30\n"
		      "CSeq: 1 OPTIONS\n"
		      "Content-Length: 0\n\n");
	(void)expect_sent(f, "192.0.2.20", 5062, "OPTIONS sip:bob@192.0.2.20:5062 SIP/2.0");
	no_more_sent(f);
	sb_loop_advance(f->loop, 300000);
	assert_int_equal(sb_proxy_context_count(f->proxy), 0);
}

static void test_auth_loop_detected_not_challenged(void **state)
{
	struct fx *f = *state;
	/* an authenticated MESSAGE to a foreign target that comes back to us
	 * without our credentials is a loop (482), not a new request (407) */
	const char *msg1 = "MESSAGE sip:dave@192.0.2.99 SIP/2.0\n"
			   "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKm1\n"
			   "Max-Forwards: 70\n"
			   "From: <sip:alice@example.com>;tag=m1\n"
			   "To: <sip:dave@192.0.2.99>\n"
			   "Call-ID: msg1\n"
			   "CSeq: 1 MESSAGE\n"
			   "Content-Length: 0\n\n";
	from_alice(f, msg1);
	const struct sent *c = expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 407 Proxy Authentication Required");
	char cred[1024], msg2[2048];
	credentials(c->buf, "alice", "alicepw", "MESSAGE", "sip:dave@192.0.2.99", "00000001", cred,
		    sizeof cred);
	snprintf(msg2, sizeof msg2,
		 "MESSAGE sip:dave@192.0.2.99 SIP/2.0\n"
		 "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKm2\n"
		 "Max-Forwards: 70\n"
		 "From: <sip:alice@example.com>;tag=m1\n"
		 "To: <sip:dave@192.0.2.99>\n"
		 "Call-ID: msg1\n"
		 "CSeq: 2 MESSAGE\n"
		 "%s"
		 "Content-Length: 0\n\n",
		 cred);
	from_alice(f, msg2);
	const struct sent *s = expect_sent(f, "192.0.2.99", 5060, "MESSAGE sip:dave@192.0.2.99 SIP/2.0");
	assert_null(strstr(s->buf, "Proxy-Authorization"));
	inject(f, s->buf, "192.0.2.99", 5060);
	(void)expect_sent(f, "192.0.2.99", 5060, "SIP/2.0 482 Loop Detected");
	no_more_sent(f);
}

static void test_auth_lockout_silent(void **state)
{
	struct fx *f = *state;
	register_bob_carol(f);
	const struct sent *c = challenge_invite(f);
	char cred[1024], inv[4096];
	/* two wrong passwords: challenged; the source is then locked out
	 * and hears nothing, even with the right one */
	for (unsigned k = 0; k < 2; k++) {
		credentials(c->buf, "alice", "wrong", "INVITE", "sip:bob@example.com", "00000001",
			    cred, sizeof cred);
		invite_to(inv, sizeof inv, "sip:bob@example.com", 2 + k, cred);
		from_alice(f, inv);
		c = expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 407 Proxy Authentication Required");
	}
	credentials(c->buf, "alice", "alicepw", "INVITE", "sip:bob@example.com", "00000001", cred,
		    sizeof cred);
	invite_to(inv, sizeof inv, "sip:bob@example.com", 4, cred);
	from_alice(f, inv);
	no_more_sent(f);
	assert_int_equal(sb_proxy_context_count(f->proxy), 0);
}

/* --------------------------------------------------------------- users */

static void test_users_404_and_480(void **state)
{
	struct fx *f = *state;
	char inv[2048];
	/* dave is neither a user nor registered: 404 */
	invite_to(inv, sizeof inv, "sip:dave@example.com", 1, "");
	from_alice(f, inv);
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 100 Trying");
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 404 Not Found");
	no_more_sent(f);
	/* a name outside the directory that registered (an open registrar)
	 * is reached as before users existed, without rules */
	register_contact(f, "dave", "192.0.2.50", 5066, 3600, 1);
	invite_to(inv, sizeof inv, "sip:dave@example.com", 11, "");
	from_alice(f, inv);
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 100 Trying");
	(void)expect_sent(f, "192.0.2.50", 5066, "INVITE sip:dave@192.0.2.50:5066 SIP/2.0");
	no_more_sent(f);
	/* and once unregistered it is known: 480 */
	register_contact(f, "dave", "192.0.2.50", 5066, 0, 2);
	invite_to(inv, sizeof inv, "sip:dave@example.com", 12, "");
	from_alice(f, inv);
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 100 Trying");
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 480 Temporarily Unavailable");
	no_more_sent(f);
	/* bob is a user who never registered: 480 */
	invite_to(inv, sizeof inv, "sip:bob@example.com", 2, "");
	from_alice(f, inv);
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 100 Trying");
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 480 Temporarily Unavailable");
	no_more_sent(f);
	/* a MESSAGE too */
	from_alice(f, "MESSAGE sip:bob@example.com SIP/2.0\n"
		      "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKm1\n"
		      "Max-Forwards: 70\n"
		      "From: <sip:alice@example.com>;tag=m1\n"
		      "To: <sip:bob@example.com>\n"
		      "Call-ID: msg1\n"
		      "CSeq: 1 MESSAGE\n"
		      "Content-Length: 0\n\n");
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 480 Temporarily Unavailable");
	no_more_sent(f);
	/* bob registers: forwarded */
	register_contact(f, "bob", "192.0.2.20", 5062, 3600, 1);
	invite_to(inv, sizeof inv, "sip:bob@example.com", 3, "");
	from_alice(f, inv);
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 100 Trying");
	(void)expect_sent(f, "192.0.2.20", 5062, "INVITE sip:bob@192.0.2.20:5062 SIP/2.0");
	no_more_sent(f);
}

/* ---------------------------------------------------------- forwarding */

static void test_dnd(void **state)
{
	struct fx *f = *state;
	register_bob_carol(f);
	set_rule(f, "bob", SB_STORE_FWD_DND, "", 0);
	/* busy at once, bob's phone never rings */
	call_bob(f);
	const struct sent *s = expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 486 Busy Here");
	assert_non_null(strstr(s->buf, "\r\nTo: Bob <sip:bob@example.com>;tag="));
	no_more_sent(f);
	/* a MESSAGE is no call: DND leaves it alone */
	from_alice(f, "MESSAGE sip:bob@example.com SIP/2.0\n"
		      "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKm1\n"
		      "Max-Forwards: 70\n"
		      "From: <sip:alice@example.com>;tag=m1\n"
		      "To: <sip:bob@example.com>\n"
		      "Call-ID: msg1\n"
		      "CSeq: 1 MESSAGE\n"
		      "Content-Length: 0\n\n");
	(void)expect_sent(f, "192.0.2.20", 5062, "MESSAGE sip:bob@192.0.2.20:5062 SIP/2.0");
	no_more_sent(f);
	/* with a busy rule, DND sends the call there without ringing bob */
	set_rule(f, "bob", SB_STORE_FWD_BUSY, "sip:carol@example.com", 0);
	char inv[2048];
	invite_to(inv, sizeof inv, "sip:bob@example.com", 2, "");
	from_alice(f, inv);
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 100 Trying");
	s = expect_sent(f, "192.0.2.40", 5064, "INVITE sip:carol@192.0.2.40:5064 SIP/2.0");
	assert_non_null(strstr(s->buf, "\r\nCSeq: 2 INVITE\r\n"));
	no_more_sent(f);
	struct sb_proxy_stats st;
	sb_proxy_get_stats(f->proxy, &st);
	assert_int_equal(st.calls_forwarded, 1);
}

static void test_always(void **state)
{
	struct fx *f = *state;
	register_bob_carol(f);
	/* to a user of ours: her contact is the Request-URI */
	set_rule(f, "bob", SB_STORE_FWD_ALWAYS, "sip:carol@example.com", 0);
	call_bob(f);
	const struct sent *s = next_sent(f, "192.0.2.40", 5064);
	expect_forwarded_invite(s, "sip:carol@192.0.2.40:5064");
	no_more_sent(f);
	respond(f, s->buf, 180, "ct1", "192.0.2.40", 5064);
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 180 Ringing");
	respond(f, s->buf, 200, "ct1", "192.0.2.40", 5064);
	const struct sent *up = expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 200 OK");
	assert_non_null(strstr(up->buf, "\r\nTo: Bob <sip:bob@example.com>;tag=ct1\r\n"));
	no_more_sent(f);
	struct sb_proxy_stats st;
	sb_proxy_get_stats(f->proxy, &st);
	assert_int_equal(st.calls_forwarded, 1);
	assert_int_equal(st.calls_answered, 1);
}

static void test_always_foreign(void **state)
{
	struct fx *f = *state;
	register_bob_carol(f);
	/* to a target elsewhere: the target itself is the Request-URI */
	set_rule(f, "bob", SB_STORE_FWD_ALWAYS, "sip:voicemail@192.0.2.60:5070", 0);
	call_bob(f);
	const struct sent *s = next_sent(f, "192.0.2.60", 5070);
	expect_forwarded_invite(s, "sip:voicemail@192.0.2.60:5070");
	no_more_sent(f);
}

static void test_unavailable(void **state)
{
	struct fx *f = *state;
	register_contact(f, "carol", "192.0.2.40", 5064, 3600, 1);
	set_rule(f, "bob", SB_STORE_FWD_UNAVAILABLE, "sip:carol@example.com", 0);
	/* bob has no binding: carol instead of 480 */
	call_bob(f);
	const struct sent *s = next_sent(f, "192.0.2.40", 5064);
	expect_forwarded_invite(s, "sip:carol@192.0.2.40:5064");
	no_more_sent(f);
	/* once bob registers, he rings himself */
	register_contact(f, "bob", "192.0.2.20", 5062, 3600, 1);
	char inv[2048];
	invite_to(inv, sizeof inv, "sip:bob@example.com", 2, "");
	from_alice(f, inv);
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 100 Trying");
	(void)expect_sent(f, "192.0.2.20", 5062, "INVITE sip:bob@192.0.2.20:5062 SIP/2.0");
	no_more_sent(f);
}

static void test_busy(void **state)
{
	struct fx *f = *state;
	register_bob_carol(f);
	set_rule(f, "bob", SB_STORE_FWD_BUSY, "sip:carol@example.com", 0);
	call_bob(f);
	const struct sent *b = next_sent(f, "192.0.2.20", 5062);
	expect_forwarded_invite(b, "sip:bob@192.0.2.20:5062");
	char brb[128], want[2048];
	top_branch(b->buf, brb, sizeof brb);
	no_more_sent(f);
	respond(f, b->buf, 180, "bt1", "192.0.2.20", 5062);
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 180 Ringing");
	/* bob is busy: the proxy ACKs his 486 (hop by hop, §17.1.1.3) and
	 * calls carol; alice hears nothing of the 486 */
	respond(f, b->buf, 486, "bt1", "192.0.2.20", 5062);
	const struct sent *ack = next_sent(f, "192.0.2.20", 5062);
	snprintf(want, sizeof want,
		 "ACK sip:bob@192.0.2.20:5062 SIP/2.0\n"
		 "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=%s;rport\n"
		 "Max-Forwards: 69\n"
		 "To: Bob <sip:bob@example.com>;tag=bt1\n"
		 "From: Alice <sip:alice@example.com>;tag=at1\n"
		 "Call-ID: call1@192.0.2.30\n"
		 "CSeq: 1 ACK\n"
		 "Content-Length: 0\n\n",
		 brb);
	expect_text(ack->buf, want);
	const struct sent *c = next_sent(f, "192.0.2.40", 5064);
	expect_forwarded_invite(c, "sip:carol@192.0.2.40:5064");
	char brc[128];
	top_branch(c->buf, brc, sizeof brc);
	assert_string_not_equal(brb, brc);
	no_more_sent(f);
	respond(f, c->buf, 180, "ct1", "192.0.2.40", 5064);
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 180 Ringing");
	respond(f, c->buf, 200, "ct1", "192.0.2.40", 5064);
	const struct sent *up = next_sent(f, "192.0.2.30", 5060);
	expect_text(up->buf,
		    "SIP/2.0 200 OK\n"
		    "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKa1;rport=5060;received=192.0.2.30\n"
		    "From: Alice <sip:alice@example.com>;tag=at1\n"
		    "To: Bob <sip:bob@example.com>;tag=ct1\n"
		    "Call-ID: call1@192.0.2.30\n"
		    "CSeq: 1 INVITE\n"
		    "Content-Length: 0\n\n");
	no_more_sent(f);
	struct sb_proxy_stats st;
	sb_proxy_get_stats(f->proxy, &st);
	assert_int_equal(st.calls, 1);
	assert_int_equal(st.calls_answered, 1);
	assert_int_equal(st.calls_forwarded, 1);
	sb_loop_advance(f->loop, 300000);
	assert_int_equal(sb_proxy_context_count(f->proxy), 0);
}

static void test_busy_600_and_target_fails(void **state)
{
	struct fx *f = *state;
	register_bob_carol(f);
	set_rule(f, "bob", SB_STORE_FWD_BUSY, "sip:carol@example.com", 0);
	call_bob(f);
	const struct sent *b = next_sent(f, "192.0.2.20", 5062);
	/* 600 Busy Everywhere forwards too (§16.7 step 5 gives way) */
	respond(f, b->buf, 600, "bt1", "192.0.2.20", 5062);
	(void)expect_sent(f, "192.0.2.20", 5062, "ACK sip:bob@192.0.2.20:5062 SIP/2.0");
	const struct sent *c = expect_sent(f, "192.0.2.40", 5064, "INVITE sip:carol@192.0.2.40:5064 SIP/2.0");
	no_more_sent(f);
	/* carol fails too: the caller gets the best response of all, bob's */
	respond(f, c->buf, 480, "ct1", "192.0.2.40", 5064);
	(void)expect_sent(f, "192.0.2.40", 5064, "ACK sip:carol@192.0.2.40:5064 SIP/2.0");
	const struct sent *up = expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 600 Busy Everywhere");
	assert_non_null(strstr(up->buf, "\r\nTo: Bob <sip:bob@example.com>;tag=bt1\r\n"));
	no_more_sent(f);
}

static void test_noanswer(void **state)
{
	struct fx *f = *state;
	register_bob_carol(f);
	set_rule(f, "bob", SB_STORE_FWD_NOANSWER, "sip:carol@example.com", 10);
	call_bob(f);
	const struct sent *b = next_sent(f, "192.0.2.20", 5062);
	char brb[128], want[2048];
	top_branch(b->buf, brb, sizeof brb);
	respond(f, b->buf, 180, "bt1", "192.0.2.20", 5062);
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 180 Ringing");
	sb_loop_advance(f->loop, 9999);
	no_more_sent(f);
	/* 10 s of ringing: bob's branch is cancelled, carol's starts */
	sb_loop_advance(f->loop, 1);
	const struct sent *cn = next_sent(f, "192.0.2.20", 5062);
	snprintf(want, sizeof want,
		 "CANCEL sip:bob@192.0.2.20:5062 SIP/2.0\n"
		 "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=%s;rport\n"
		 "Max-Forwards: 70\n"
		 "To: Bob <sip:bob@example.com>\n"
		 "From: Alice <sip:alice@example.com>;tag=at1\n"
		 "Call-ID: call1@192.0.2.30\n"
		 "CSeq: 1 CANCEL\n"
		 "Content-Length: 0\n\n",
		 brb);
	expect_text(cn->buf, want);
	const struct sent *c = next_sent(f, "192.0.2.40", 5064);
	expect_forwarded_invite(c, "sip:carol@192.0.2.40:5064");
	no_more_sent(f);
	/* bob's 200 to the CANCEL and 487 stay here (the 487 is ACKed) */
	respond(f, cn->buf, 200, "bt1", "192.0.2.20", 5062);
	no_more_sent(f);
	respond(f, b->buf, 487, "bt1", "192.0.2.20", 5062);
	(void)expect_sent(f, "192.0.2.20", 5062, "ACK sip:bob@192.0.2.20:5062 SIP/2.0");
	no_more_sent(f);
	/* carol answers: her 200 is the one final response alice sees */
	respond(f, c->buf, 180, "ct1", "192.0.2.40", 5064);
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 180 Ringing");
	respond(f, c->buf, 200, "ct1", "192.0.2.40", 5064);
	const struct sent *up = expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 200 OK");
	assert_non_null(strstr(up->buf, "\r\nTo: Bob <sip:bob@example.com>;tag=ct1\r\n"));
	no_more_sent(f);
	struct sb_proxy_stats st;
	sb_proxy_get_stats(f->proxy, &st);
	assert_int_equal(st.calls_forwarded, 1);
	assert_int_equal(st.calls_answered, 1);
	assert_int_equal(st.responses_out[4], 0);
	sb_loop_advance(f->loop, 300000);
	assert_int_equal(sb_proxy_context_count(f->proxy), 0);
}

static void test_noanswer_target_fails(void **state)
{
	struct fx *f = *state;
	register_bob_carol(f);
	set_rule(f, "bob", SB_STORE_FWD_NOANSWER, "sip:carol@example.com", 5);
	call_bob(f);
	const struct sent *b = next_sent(f, "192.0.2.20", 5062);
	respond(f, b->buf, 180, "bt1", "192.0.2.20", 5062);
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 180 Ringing");
	sb_loop_advance(f->loop, 5000);
	const struct sent *cn = expect_sent(f, "192.0.2.20", 5062, "CANCEL sip:bob@192.0.2.20:5062 SIP/2.0");
	const struct sent *c = expect_sent(f, "192.0.2.40", 5064, "INVITE sip:carol@192.0.2.40:5064 SIP/2.0");
	/* carol declines first: the answer goes up at once, bob's cancelled
	 * branch is not waited for; his 487 comes later and is not the
	 * answer */
	respond(f, c->buf, 603, "ct1", "192.0.2.40", 5064);
	(void)expect_sent(f, "192.0.2.40", 5064, "ACK sip:carol@192.0.2.40:5064 SIP/2.0");
	const struct sent *up = expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 603 Decline");
	assert_non_null(strstr(up->buf, ";tag=ct1\r\n"));
	no_more_sent(f);
	respond(f, cn->buf, 200, "bt1", "192.0.2.20", 5062);
	respond(f, b->buf, 487, "bt1", "192.0.2.20", 5062);
	(void)expect_sent(f, "192.0.2.20", 5062, "ACK sip:bob@192.0.2.20:5062 SIP/2.0");
	no_more_sent(f);
	sb_loop_advance(f->loop, 300000);
	assert_int_equal(sb_proxy_context_count(f->proxy), 0);
}

static void test_noanswer_then_caller_cancels(void **state)
{
	struct fx *f = *state;
	register_bob_carol(f);
	set_rule(f, "bob", SB_STORE_FWD_NOANSWER, "sip:carol@example.com", 5);
	call_bob(f);
	const struct sent *b = next_sent(f, "192.0.2.20", 5062);
	respond(f, b->buf, 180, "bt1", "192.0.2.20", 5062);
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 180 Ringing");
	sb_loop_advance(f->loop, 5000);
	const struct sent *cb = expect_sent(f, "192.0.2.20", 5062, "CANCEL sip:bob@192.0.2.20:5062 SIP/2.0");
	const struct sent *c = expect_sent(f, "192.0.2.40", 5064, "INVITE sip:carol@192.0.2.40:5064 SIP/2.0");
	respond(f, c->buf, 180, "ct1", "192.0.2.40", 5064);
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 180 Ringing");
	/* alice hangs up: carol is cancelled, bob was already */
	from_alice(f, "CANCEL sip:bob@example.com SIP/2.0\n"
		      "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKa1;rport\n"
		      "Max-Forwards: 70\n"
		      "From: Alice <sip:alice@example.com>;tag=at1\n"
		      "To: Bob <sip:bob@example.com>\n"
		      "Call-ID: call1@192.0.2.30\n"
		      "CSeq: 1 CANCEL\n"
		      "Content-Length: 0\n\n");
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 200 OK");
	const struct sent *cc = expect_sent(f, "192.0.2.40", 5064, "CANCEL sip:carol@192.0.2.40:5064 SIP/2.0");
	no_more_sent(f);
	respond(f, cb->buf, 200, "bt1", "192.0.2.20", 5062);
	respond(f, b->buf, 487, "bt1", "192.0.2.20", 5062);
	(void)expect_sent(f, "192.0.2.20", 5062, "ACK sip:bob@192.0.2.20:5062 SIP/2.0");
	no_more_sent(f);
	respond(f, cc->buf, 200, "ct1", "192.0.2.40", 5064);
	respond(f, c->buf, 487, "ct1", "192.0.2.40", 5064);
	(void)expect_sent(f, "192.0.2.40", 5064, "ACK sip:carol@192.0.2.40:5064 SIP/2.0");
	const struct sent *up = expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 487 Request Terminated");
	assert_non_null(strstr(up->buf, "\r\nCSeq: 1 INVITE\r\n"));
	no_more_sent(f);
	sb_loop_advance(f->loop, 300000);
	assert_int_equal(sb_proxy_context_count(f->proxy), 0);
}

static void test_rules_with_auth(void **state)
{
	struct fx *f = *state;
	/* authentication and a rule together: bob forwards everything to
	 * carol, and our credentials do not reach her */
	register_bob_carol(f);
	set_rule(f, "bob", SB_STORE_FWD_ALWAYS, "sip:carol@example.com", 0);
	const struct sent *c = challenge_invite(f);
	char cred[1024], inv[4096];
	credentials(c->buf, "alice", "alicepw", "INVITE", "sip:bob@example.com", "00000001", cred,
		    sizeof cred);
	invite_to(inv, sizeof inv, "sip:bob@example.com", 2, cred);
	from_alice(f, inv);
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 100 Trying");
	const struct sent *s = expect_sent(f, "192.0.2.40", 5064, "INVITE sip:carol@192.0.2.40:5064 SIP/2.0");
	assert_null(strstr(s->buf, "Proxy-Authorization"));
	assert_non_null(strstr(s->buf, "\r\nTo: Bob <sip:bob@example.com>\r\n"));
	no_more_sent(f);
	struct sb_proxy_stats st;
	sb_proxy_get_stats(f->proxy, &st);
	assert_int_equal(st.challenged, 1);
	assert_int_equal(st.calls_forwarded, 1);
}

static void test_noanswer_answered_in_time(void **state)
{
	struct fx *f = *state;
	register_bob_carol(f);
	set_rule(f, "bob", SB_STORE_FWD_NOANSWER, "sip:carol@example.com", 10);
	call_bob(f);
	const struct sent *b = next_sent(f, "192.0.2.20", 5062);
	respond(f, b->buf, 200, "bt1", "192.0.2.20", 5062);
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 200 OK");
	/* the timer finds the call answered: nothing happens */
	sb_loop_advance(f->loop, 10000);
	no_more_sent(f);
	struct sb_proxy_stats st;
	sb_proxy_get_stats(f->proxy, &st);
	assert_int_equal(st.calls_forwarded, 0);
}

static void test_forwarding_loop_ends(void **state)
{
	struct fx *f = *state;
	register_bob_carol(f);
	/* bob -> carol -> bob -> carol: the third rule is the last one
	 * applied; carol's own phone rings */
	set_rule(f, "bob", SB_STORE_FWD_ALWAYS, "sip:carol@example.com", 0);
	set_rule(f, "carol", SB_STORE_FWD_ALWAYS, "sip:bob@example.com", 0);
	call_bob(f);
	const struct sent *s = next_sent(f, "192.0.2.40", 5064);
	expect_forwarded_invite(s, "sip:carol@192.0.2.40:5064");
	no_more_sent(f);
	struct sb_proxy_stats st;
	sb_proxy_get_stats(f->proxy, &st);
	assert_int_equal(st.calls_forwarded, 1);
	assert_int_equal(SB_PROXY_MAX_FWD_HOPS, 3);

	/* a loop of busy rules ends too: bob busy -> carol busy -> bob ... */
	sb_users_del_rule(f->users, SB_LIT("bob"), SB_STORE_FWD_ALWAYS);
	sb_users_del_rule(f->users, SB_LIT("carol"), SB_STORE_FWD_ALWAYS);
	set_rule(f, "bob", SB_STORE_FWD_BUSY, "sip:carol@example.com", 0);
	set_rule(f, "carol", SB_STORE_FWD_BUSY, "sip:bob@example.com", 0);
	char inv[2048];
	invite_to(inv, sizeof inv, "sip:bob@example.com", 2, "");
	from_alice(f, inv);
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 100 Trying");
	const char *who[] = { "bob", "carol", "bob", "carol" };
	const char *ip[] = { "192.0.2.20", "192.0.2.40", "192.0.2.20", "192.0.2.40" };
	uint16_t port[] = { 5062, 5064, 5062, 5064 };
	char line[128];
	for (unsigned k = 0; k < 4; k++) {
		snprintf(line, sizeof line, "INVITE sip:%s@%s:%u SIP/2.0", who[k], ip[k], port[k]);
		const struct sent *inv_k = expect_sent(f, ip[k], port[k], line);
		char *r = response_to(inv_k->buf, 486, "x");
		inject(f, r, ip[k], port[k]);
		free(r);
		snprintf(line, sizeof line, "ACK sip:%s@%s:%u SIP/2.0", who[k], ip[k], port[k]);
		(void)expect_sent(f, ip[k], port[k], line);
	}
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 486 Busy Here");
	no_more_sent(f);
}

static void test_no_rules_for_users_null(void **state)
{
	struct fx *f = *state;
	/* users NULL: the old rule (known from registrations) holds, dave
	 * who is no user is reached */
	register_contact(f, "dave", "192.0.2.50", 5066, 3600, 1);
	char inv[2048];
	invite_to(inv, sizeof inv, "sip:dave@example.com", 1, "");
	from_alice(f, inv);
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 100 Trying");
	(void)expect_sent(f, "192.0.2.50", 5066, "INVITE sip:dave@192.0.2.50:5066 SIP/2.0");
	no_more_sent(f);
}

/* --------------------------------------------------------------- stats */

static void test_stats(void **state)
{
	struct fx *f = *state;
	struct sb_proxy_stats st;
	sb_proxy_get_stats(f->proxy, &st);
	assert_int_equal(st.requests, 0);
	register_contact(f, "bob", "192.0.2.20", 5062, 3600, 1);
	call_bob(f);
	const struct sent *b = next_sent(f, "192.0.2.20", 5062);
	respond(f, b->buf, 180, "bt1", "192.0.2.20", 5062);
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 180 Ringing");
	sb_proxy_get_stats(f->proxy, &st);
	assert_int_equal(st.requests, 2);
	assert_int_equal(st.responses_in, 1);
	assert_int_equal(st.responses_out[1], 2);
	assert_int_equal(st.responses_out[2], 1);
	assert_int_equal(st.calls, 1);
	assert_int_equal(st.calls_answered, 0);
	assert_int_equal(st.contexts, 1);
	/* REGISTER (Completed), INVITE server and client */
	assert_int_equal(st.transactions, 3);
	respond(f, b->buf, 200, "bt1", "192.0.2.20", 5062);
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 200 OK");
	/* a retransmitted 2xx is relayed again, the call counted once */
	respond(f, b->buf, 200, "bt1", "192.0.2.20", 5062);
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 200 OK");
	sb_proxy_get_stats(f->proxy, &st);
	assert_int_equal(st.responses_in, 3);
	assert_int_equal(st.responses_out[2], 3);
	assert_int_equal(st.calls_answered, 1);
	/* a request answered statelessly: a 4xx */
	char inv[2048];
	invite_to(inv, sizeof inv, "sip:bob@example.com", 5, "Proxy-Require: foo\n");
	from_alice(f, inv);
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 420 Bad Extension");
	no_more_sent(f);
	sb_proxy_get_stats(f->proxy, &st);
	assert_int_equal(st.requests, 3);
	assert_int_equal(st.responses_out[4], 1);
	assert_int_equal(st.calls, 1);
	sb_loop_advance(f->loop, 300000);
	sb_proxy_get_stats(f->proxy, &st);
	assert_int_equal(st.transactions, 0);
	assert_int_equal(st.contexts, 0);
	assert_int_equal(st.challenged, 0);
}

/* ------------------------------------------------------ async REGISTER */

static const char register_bob[] = "REGISTER sip:example.com SIP/2.0\n"
				   "Via: SIP/2.0/UDP 192.0.2.20:5062;branch=z9hG4bKr1\n"
				   "Max-Forwards: 70\n"
				   "From: <sip:bob@example.com>;tag=r1\n"
				   "To: <sip:bob@example.com>\n"
				   "Call-ID: reg1\n"
				   "CSeq: 1 REGISTER\n"
				   "Contact: <sip:bob@192.0.2.20:5062>\n"
				   "Content-Length: 0\n\n";

/* What the registrar would print for register_bob (it runs for real,
 * its answer is held back by the test). */
static char *registrar_answer(struct fx *f, size_t *len)
{
	size_t n = strlen(register_bob), k = 0;
	char *buf = malloc(2 * n + 1);
	assert_non_null(buf);
	for (size_t i = 0; i < n; i++) {
		if (register_bob[i] == '\n')
			buf[k++] = '\r';
		buf[k++] = register_bob[i];
	}
	struct sb_sip_msg *m = malloc(sizeof *m);
	assert_non_null(m);
	assert_int_equal(sb_sip_parse(m, buf, k, SB_SIP_DATAGRAM), 0);
	struct sb_buf out;
	sb_buf_init(&out, 0);
	assert_int_equal(sb_registrar_handle(f->reg, m, NULL, 0, &out), 0);
	free(m);
	free(buf);
	*len = out.len;
	return out.p;
}

static void test_register_async(void **state)
{
	struct fx *f = *state;
	f->reg_mode = REG_LATER;
	inject(f, register_bob, "192.0.2.20", 5062);
	uint64_t token = f->token;
	assert_true(token != 0);
	no_more_sent(f);
	/* a retransmission is absorbed while the answer is awaited */
	inject(f, register_bob, "192.0.2.20", 5062);
	assert_int_equal(f->token, token);
	no_more_sent(f);
	size_t len;
	char *ans = registrar_answer(f, &len);
	assert_int_equal(sb_proxy_register_answer(f->proxy, token + 1, ans, len), ENOENT);
	assert_int_equal(sb_proxy_register_answer(f->proxy, token, ans, len), 0);
	const struct sent *s = expect_sent(f, "192.0.2.20", 5062, "SIP/2.0 200 OK");
	assert_int_equal(s->len, len);
	assert_memory_equal(s->buf, ans, len);
	no_more_sent(f);
	/* answered: the token is gone */
	assert_int_equal(sb_proxy_register_answer(f->proxy, token, ans, len), ENOENT);
	/* the retransmission now gets the 200 again, from the transaction */
	inject(f, register_bob, "192.0.2.20", 5062);
	(void)expect_sent(f, "192.0.2.20", 5062, "SIP/2.0 200 OK");
	no_more_sent(f);
	free(ans);
}

static void test_register_async_given_up(void **state)
{
	struct fx *f = *state;
	f->reg_mode = REG_LATER;
	inject(f, register_bob, "192.0.2.20", 5062);
	uint64_t token = f->token;
	assert_int_equal(sb_tsx_layer_count(sb_proxy_tsx_layer(f->proxy)), 1);
	/* no answer for 64*T1: the transaction is given up (the client's
	 * Timer F ran out), and the late answer finds nothing */
	sb_loop_advance(f->loop, 64 * SB_TSX_T1_MS);
	assert_int_equal(sb_tsx_layer_count(sb_proxy_tsx_layer(f->proxy)), 0);
	size_t len;
	char *ans = registrar_answer(f, &len);
	assert_int_equal(sb_proxy_register_answer(f->proxy, token, ans, len), ENOENT);
	no_more_sent(f);
	/* a transaction that ends in a transport error is forgotten too */
	inject(f, register_bob, "192.0.2.20", 5062);
	token = f->token;
	f->fail_send = true;
	assert_int_equal(sb_proxy_register_answer(f->proxy, token, ans, len), ECONNREFUSED);
	f->fail_send = false;
	assert_int_equal(sb_proxy_register_answer(f->proxy, token, ans, len), ENOENT);
	sb_loop_advance(f->loop, 1);
	assert_int_equal(sb_tsx_layer_count(sb_proxy_tsx_layer(f->proxy)), 0);
	no_more_sent(f);
	free(ans);
}

static void test_register_silent(void **state)
{
	struct fx *f = *state;
	f->reg_mode = REG_SILENT;
	inject(f, register_bob, "192.0.2.20", 5062);
	uint64_t token = f->token;
	no_more_sent(f);
	sb_loop_advance(f->loop, 1);
	assert_int_equal(sb_tsx_layer_count(sb_proxy_tsx_layer(f->proxy)), 0);
	assert_int_equal(sb_proxy_register_answer(f->proxy, token, "SIP/2.0 200 OK\r\n\r\n", 18),
			 ENOENT);
	/* a retransmission is judged again, and again gets nothing */
	inject(f, register_bob, "192.0.2.20", 5062);
	assert_true(f->token > token);
	no_more_sent(f);
}

/* With a dialog key, our Record-Route carries the dialog token; an
 * in-dialog request goes unchallenged only with it, and only towards an end
 * of that dialog: a forged To tag and Route, or a real token aimed at a
 * third host (a gateway), get 407. */
static void test_auth_dialog_token(void **state)
{
	struct fx *f = *state;
	register_bob_carol(f);
	const struct sent *fw = authenticated_call(f);
	const char *rr = strstr(fw->buf, "\r\nRecord-Route: <sip:192.0.2.10:5060;transport=udp;lr;sbd=");
	assert_non_null(rr);
	char route[256];
	const char *b = rr + strlen("\r\nRecord-Route: ");
	const char *e = strstr(b, "\r\n");
	assert_non_null(e);
	assert_true((size_t)(e - b) < sizeof route);
	memcpy(route, b, (size_t)(e - b));
	route[e - b] = 0;
	/* token "A.B": two 16-digit halves */
	const char *tok = strstr(route, ";sbd=") + 5;
	assert_int_equal(strlen(tok), 2 * 16 + 1 + 1); /* and the closing '>' */
	assert_int_equal(tok[16], '.');

	char req[2048];
	/* alice's BYE to bob's contact, Route as recorded: forwarded */
	snprintf(req, sizeof req,
		 "BYE sip:bob@192.0.2.20:5062 SIP/2.0\n"
		 "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKdt1;rport\n"
		 "Route: %s\n"
		 "Max-Forwards: 70\n"
		 "From: Alice <sip:alice@example.com>;tag=at1\n"
		 "To: Bob <sip:bob@example.com>;tag=bt1\n"
		 "Call-ID: call1@192.0.2.30\n"
		 "CSeq: 3 BYE\n"
		 "Content-Length: 0\n\n", route);
	from_alice(f, req);
	(void)expect_sent(f, "192.0.2.20", 5062, "BYE sip:bob@192.0.2.20:5062 SIP/2.0");
	no_more_sent(f);
	/* bob's request the other way, to alice's Contact: forwarded too */
	snprintf(req, sizeof req,
		 "BYE sip:alice@192.0.2.30:5060 SIP/2.0\n"
		 "Via: SIP/2.0/UDP 192.0.2.20:5062;branch=z9hG4bKdt2;rport\n"
		 "Route: %s\n"
		 "Max-Forwards: 70\n"
		 "From: Bob <sip:bob@example.com>;tag=bt1\n"
		 "To: Alice <sip:alice@example.com>;tag=at1\n"
		 "Call-ID: call1@192.0.2.30\n"
		 "CSeq: 1 BYE\n"
		 "Content-Length: 0\n\n", route);
	inject(f, req, "192.0.2.20", 5062);
	(void)expect_sent(f, "192.0.2.30", 5060, "BYE sip:alice@192.0.2.30:5060 SIP/2.0");
	no_more_sent(f);
	/* the real token aimed at a third host: challenged */
	snprintf(req, sizeof req,
		 "INVITE sip:+19005550100@192.0.2.99 SIP/2.0\n"
		 "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKdt3;rport\n"
		 "Route: %s\n"
		 "Max-Forwards: 70\n"
		 "From: Alice <sip:alice@example.com>;tag=at1\n"
		 "To: <sip:+19005550100@192.0.2.99>;tag=bt1\n"
		 "Call-ID: call1@192.0.2.30\n"
		 "CSeq: 4 INVITE\n"
		 "Content-Length: 0\n\n", route);
	from_alice(f, req);
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 407 Proxy Authentication Required");
	no_more_sent(f);
	/* a forged Route without the token, another Call-ID: challenged */
	from_alice(f, "INVITE sip:+19005550100@192.0.2.99 SIP/2.0\n"
		      "Via: SIP/2.0/UDP 203.0.113.5:5060;branch=z9hG4bKdt4;rport\n"
		      "Route: <sip:192.0.2.10:5060;transport=udp;lr>\n"
		      "Max-Forwards: 70\n"
		      "From: Alice <sip:alice@example.com>;tag=x1\n"
		      "To: <sip:+19005550100@192.0.2.99>;tag=forged\n"
		      "Call-ID: fraud@203.0.113.5\n"
		      "CSeq: 1 INVITE\n"
		      "Content-Length: 0\n\n");
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 407 Proxy Authentication Required");
	no_more_sent(f);
	/* a From of our domain with an odd port is still our user: not a
	 * call in from elsewhere, so challenged */
	from_alice(f, "INVITE sip:bob@example.com SIP/2.0\n"
		      "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKdt5;rport\n"
		      "Max-Forwards: 70\n"
		      "From: Alice <sip:alice@example.com:5999>;tag=x2\n"
		      "To: Bob <sip:bob@example.com>\n"
		      "Call-ID: port@192.0.2.30\n"
		      "CSeq: 1 INVITE\n"
		      "Content-Length: 0\n\n");
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 407 Proxy Authentication Required");
	no_more_sent(f);
	sb_loop_advance(f->loop, 300000);
}

/* ------------------------------------------- forwarding: the hard cases */

static const char cancel_from_alice[] = "CANCEL sip:bob@example.com SIP/2.0\n"
					"Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKa1;rport\n"
					"Max-Forwards: 70\n"
					"From: Alice <sip:alice@example.com>;tag=at1\n"
					"To: Bob <sip:bob@example.com>\n"
					"Call-ID: call1@192.0.2.30\n"
					"CSeq: 1 CANCEL\n"
					"Content-Length: 0\n\n";

/* Sequential forking: bob's first phone says 600 Busy Everywhere, his
 * second is untried.  The busy rule rings carol, not bob's other phone. */
static void test_busy_600_sequential(void **state)
{
	struct fx *f = *state;
	register_bob_carol(f);
	register_contact(f, "bob", "192.0.2.21", 5063, 3600, 2);
	set_rule(f, "bob", SB_STORE_FWD_BUSY, "sip:carol@example.com", 0);
	call_bob(f);
	/* the phone registered last comes first (q being equal) */
	const struct sent *b = expect_sent(f, "192.0.2.21", 5063, "INVITE sip:bob@192.0.2.21:5063 SIP/2.0");
	no_more_sent(f);
	respond(f, b->buf, 600, "bt1", "192.0.2.21", 5063);
	(void)expect_sent(f, "192.0.2.21", 5063, "ACK sip:bob@192.0.2.21:5063 SIP/2.0");
	/* carol, not bob's other phone */
	const struct sent *c = next_sent(f, "192.0.2.40", 5064);
	expect_forwarded_invite(c, "sip:carol@192.0.2.40:5064");
	no_more_sent(f);
	respond(f, c->buf, 200, "ct1", "192.0.2.40", 5064);
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 200 OK");
	no_more_sent(f);
	struct sb_proxy_stats st;
	sb_proxy_get_stats(f->proxy, &st);
	assert_int_equal(st.calls_forwarded, 1);
}

/* The no-answer timer fires after a 6xx from one of bob's phones while the
 * other's CANCEL is under way: the 600 is the answer, nobody else rings. */
static void test_noanswer_after_6xx(void **state)
{
	struct fx *f = *state;
	register_bob_carol(f);
	register_contact(f, "bob", "192.0.2.21", 5063, 3600, 2);
	set_rule(f, "bob", SB_STORE_FWD_NOANSWER, "sip:carol@example.com", 10);
	call_bob(f);
	const struct sent *b2 = expect_sent(f, "192.0.2.21", 5063, "INVITE sip:bob@192.0.2.21:5063 SIP/2.0");
	const struct sent *b1 = expect_sent(f, "192.0.2.20", 5062, "INVITE sip:bob@192.0.2.20:5062 SIP/2.0");
	respond(f, b1->buf, 180, "bt1", "192.0.2.20", 5062);
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 180 Ringing");
	respond(f, b2->buf, 180, "bt2", "192.0.2.21", 5063);
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 180 Ringing");
	respond(f, b1->buf, 600, "bt1", "192.0.2.20", 5062);
	(void)expect_sent(f, "192.0.2.20", 5062, "ACK sip:bob@192.0.2.20:5062 SIP/2.0");
	const struct sent *cn = expect_sent(f, "192.0.2.21", 5063, "CANCEL sip:bob@192.0.2.21:5063 SIP/2.0");
	respond(f, cn->buf, 200, "bt2", "192.0.2.21", 5063);
	no_more_sent(f);
	/* the rule's time comes: nothing happens */
	sb_loop_advance(f->loop, 10000);
	no_more_sent(f);
	respond(f, b2->buf, 487, "bt2", "192.0.2.21", 5063);
	(void)expect_sent(f, "192.0.2.21", 5063, "ACK sip:bob@192.0.2.21:5063 SIP/2.0");
	const struct sent *up = expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 600 Busy Everywhere");
	assert_non_null(strstr(up->buf, "\r\nTo: Bob <sip:bob@example.com>;tag=bt1\r\n"));
	no_more_sent(f);
	struct sb_proxy_stats st;
	sb_proxy_get_stats(f->proxy, &st);
	assert_int_equal(st.calls_forwarded, 0);
}

/* bob's branch, superseded by the no-answer rule, never answers its
 * CANCEL and is given up 64*T1 later; its late 487 matches no transaction
 * and must not reach alice, who is still ringing carol. */
static void test_late_487_of_given_up_branch(void **state)
{
	struct fx *f = *state;
	register_bob_carol(f);
	set_rule(f, "bob", SB_STORE_FWD_NOANSWER, "sip:carol@example.com", 5);
	call_bob(f);
	const struct sent *b = next_sent(f, "192.0.2.20", 5062);
	respond(f, b->buf, 180, "bt1", "192.0.2.20", 5062);
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 180 Ringing");
	sb_loop_advance(f->loop, 5000);
	(void)expect_sent(f, "192.0.2.20", 5062, "CANCEL sip:bob@192.0.2.20:5062 SIP/2.0");
	const struct sent *c = expect_sent(f, "192.0.2.40", 5064, "INVITE sip:carol@192.0.2.40:5064 SIP/2.0");
	respond(f, c->buf, 180, "ct1", "192.0.2.40", 5064);
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 180 Ringing");
	sb_loop_advance(f->loop, 64 * SB_TSX_T1_MS);
	skip_any(f, "CANCEL sip:bob@192.0.2.20:5062 SIP/2.0");
	no_more_sent(f);
	/* bob's INVITE transaction is gone: the 487 is a stray response */
	respond(f, b->buf, 487, "bt1", "192.0.2.20", 5062);
	no_more_sent(f);
	respond(f, c->buf, 200, "ct1", "192.0.2.40", 5064);
	const struct sent *up = expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 200 OK");
	assert_non_null(strstr(up->buf, ";tag=ct1\r\n"));
	no_more_sent(f);
}

/* Sequential forking: the no-answer rule rings carol at once, not when
 * bob's cancelled branch has ended. */
static void test_noanswer_sequential_at_once(void **state)
{
	struct fx *f = *state;
	register_bob_carol(f);
	set_rule(f, "bob", SB_STORE_FWD_NOANSWER, "sip:carol@example.com", 5);
	call_bob(f);
	const struct sent *b = next_sent(f, "192.0.2.20", 5062);
	respond(f, b->buf, 180, "bt1", "192.0.2.20", 5062);
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 180 Ringing");
	sb_loop_advance(f->loop, 5000);
	const struct sent *cn = expect_sent(f, "192.0.2.20", 5062, "CANCEL sip:bob@192.0.2.20:5062 SIP/2.0");
	const struct sent *c = next_sent(f, "192.0.2.40", 5064);
	expect_forwarded_invite(c, "sip:carol@192.0.2.40:5064");
	no_more_sent(f);
	respond(f, cn->buf, 200, "bt1", "192.0.2.20", 5062);
	respond(f, b->buf, 487, "bt1", "192.0.2.20", 5062);
	(void)expect_sent(f, "192.0.2.20", 5062, "ACK sip:bob@192.0.2.20:5062 SIP/2.0");
	no_more_sent(f);
	respond(f, c->buf, 200, "ct1", "192.0.2.40", 5064);
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 200 OK");
	no_more_sent(f);
}

/* alice cancels after the no-answer forward; carol answers her CANCEL at
 * once, bob is slow: alice's 487 does not wait for bob. */
static void test_noanswer_caller_cancel_not_held(void **state)
{
	struct fx *f = *state;
	register_bob_carol(f);
	set_rule(f, "bob", SB_STORE_FWD_NOANSWER, "sip:carol@example.com", 5);
	call_bob(f);
	const struct sent *b = next_sent(f, "192.0.2.20", 5062);
	respond(f, b->buf, 180, "bt1", "192.0.2.20", 5062);
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 180 Ringing");
	sb_loop_advance(f->loop, 5000);
	const struct sent *cb = expect_sent(f, "192.0.2.20", 5062, "CANCEL sip:bob@192.0.2.20:5062 SIP/2.0");
	const struct sent *c = expect_sent(f, "192.0.2.40", 5064, "INVITE sip:carol@192.0.2.40:5064 SIP/2.0");
	respond(f, c->buf, 180, "ct1", "192.0.2.40", 5064);
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 180 Ringing");
	from_alice(f, cancel_from_alice);
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 200 OK");
	const struct sent *cc = expect_sent(f, "192.0.2.40", 5064, "CANCEL sip:carol@192.0.2.40:5064 SIP/2.0");
	no_more_sent(f);
	respond(f, cc->buf, 200, "ct1", "192.0.2.40", 5064);
	respond(f, c->buf, 487, "ct1", "192.0.2.40", 5064);
	(void)expect_sent(f, "192.0.2.40", 5064, "ACK sip:carol@192.0.2.40:5064 SIP/2.0");
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 487 Request Terminated");
	no_more_sent(f);
	/* bob at last: ACKed, nothing more for alice */
	respond(f, cb->buf, 200, "bt1", "192.0.2.20", 5062);
	respond(f, b->buf, 487, "bt1", "192.0.2.20", 5062);
	(void)expect_sent(f, "192.0.2.20", 5062, "ACK sip:bob@192.0.2.20:5062 SIP/2.0");
	no_more_sent(f);
}

/* A no-answer delay longer than Timer C (181 s) fires before it, at
 * Timer C less a second: the call moves on, alice gets no 487. */
static void test_noanswer_longer_than_timer_c(void **state)
{
	struct fx *f = *state;
	register_bob_carol(f);
	set_rule(f, "bob", SB_STORE_FWD_NOANSWER, "sip:carol@example.com", 200);
	call_bob(f);
	const struct sent *b = next_sent(f, "192.0.2.20", 5062);
	respond(f, b->buf, 180, "bt1", "192.0.2.20", 5062);
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 180 Ringing");
	sb_loop_advance(f->loop, SB_PROXY_TIMER_C_MS - 1001);
	no_more_sent(f);
	sb_loop_advance(f->loop, 1);
	const struct sent *cn = expect_sent(f, "192.0.2.20", 5062, "CANCEL sip:bob@192.0.2.20:5062 SIP/2.0");
	const struct sent *c = expect_sent(f, "192.0.2.40", 5064, "INVITE sip:carol@192.0.2.40:5064 SIP/2.0");
	no_more_sent(f);
	respond(f, cn->buf, 200, "bt1", "192.0.2.20", 5062);
	respond(f, b->buf, 487, "bt1", "192.0.2.20", 5062);
	(void)expect_sent(f, "192.0.2.20", 5062, "ACK sip:bob@192.0.2.20:5062 SIP/2.0");
	no_more_sent(f);
	respond(f, c->buf, 200, "ct1", "192.0.2.40", 5064);
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 200 OK");
	no_more_sent(f);
}

/* RFC 3261 §16.8: Timer C cancels a ringing branch; its 487 is a timeout
 * to the caller, who cancelled nothing: 408. */
static void test_timer_c_gives_408(void **state)
{
	struct fx *f = *state;
	register_bob_carol(f);
	call_bob(f);
	const struct sent *b = next_sent(f, "192.0.2.20", 5062);
	respond(f, b->buf, 180, "bt1", "192.0.2.20", 5062);
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 180 Ringing");
	sb_loop_advance(f->loop, SB_PROXY_TIMER_C_MS);
	const struct sent *cn = expect_sent(f, "192.0.2.20", 5062, "CANCEL sip:bob@192.0.2.20:5062 SIP/2.0");
	no_more_sent(f);
	respond(f, cn->buf, 200, "bt1", "192.0.2.20", 5062);
	respond(f, b->buf, 487, "bt1", "192.0.2.20", 5062);
	(void)expect_sent(f, "192.0.2.20", 5062, "ACK sip:bob@192.0.2.20:5062 SIP/2.0");
	const struct sent *up = expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 408 Request Timeout");
	assert_non_null(strstr(up->buf, "\r\nCSeq: 1 INVITE\r\n"));
	no_more_sent(f);
}

/* alice's server transaction dies (relaying the 180 fails): her call is
 * cancelled, and the no-answer rule rings nobody. */
static void test_noanswer_caller_gone(void **state)
{
	struct fx *f = *state;
	register_bob_carol(f);
	set_rule(f, "bob", SB_STORE_FWD_NOANSWER, "sip:carol@example.com", 5);
	call_bob(f);
	const struct sent *b = next_sent(f, "192.0.2.20", 5062);
	f->fail_to = addr("192.0.2.30", 5060);
	f->fail_to_on = true;
	respond(f, b->buf, 180, "bt1", "192.0.2.20", 5062);
	sb_loop_advance(f->loop, 1);
	const struct sent *cn = expect_sent(f, "192.0.2.20", 5062, "CANCEL sip:bob@192.0.2.20:5062 SIP/2.0");
	respond(f, cn->buf, 200, "bt1", "192.0.2.20", 5062);
	no_more_sent(f);
	sb_loop_advance(f->loop, 5000);
	no_more_sent(f);
	respond(f, b->buf, 487, "bt1", "192.0.2.20", 5062);
	(void)expect_sent(f, "192.0.2.20", 5062, "ACK sip:bob@192.0.2.20:5062 SIP/2.0");
	no_more_sent(f);
	struct sb_proxy_stats st;
	sb_proxy_get_stats(f->proxy, &st);
	assert_int_equal(st.calls_forwarded, 0);
	sb_loop_advance(f->loop, 300000);
	assert_int_equal(sb_proxy_context_count(f->proxy), 0);
}

/* The same with the busy rule: bob's 486 (crossing our CANCEL) sends the
 * call nowhere. */
static void test_busy_caller_gone(void **state)
{
	struct fx *f = *state;
	register_bob_carol(f);
	set_rule(f, "bob", SB_STORE_FWD_BUSY, "sip:carol@example.com", 0);
	call_bob(f);
	const struct sent *b = next_sent(f, "192.0.2.20", 5062);
	f->fail_to = addr("192.0.2.30", 5060);
	f->fail_to_on = true;
	respond(f, b->buf, 180, "bt1", "192.0.2.20", 5062);
	sb_loop_advance(f->loop, 1);
	const struct sent *cn = expect_sent(f, "192.0.2.20", 5062, "CANCEL sip:bob@192.0.2.20:5062 SIP/2.0");
	respond(f, cn->buf, 200, "bt1", "192.0.2.20", 5062);
	respond(f, b->buf, 486, "bt1", "192.0.2.20", 5062);
	(void)expect_sent(f, "192.0.2.20", 5062, "ACK sip:bob@192.0.2.20:5062 SIP/2.0");
	no_more_sent(f);
	struct sb_proxy_stats st;
	sb_proxy_get_stats(f->proxy, &st);
	assert_int_equal(st.calls_forwarded, 0);
}

/* RFC 3261 §22.3: the Proxy-Authorization of our realm goes nowhere: not
 * on the ACK for a 2xx (forwarded statelessly; it repeats the INVITE's
 * credentials, §13.2.2.4), not on an in-dialog request; other realms'
 * fields go on. */
static void test_auth_credentials_never_forwarded(void **state)
{
	struct fx *f = *state;
	register_bob_carol(f);
	const struct sent *c = challenge_invite(f);
	char cred[1024], inv[4096];
	credentials(c->buf, "alice", "alicepw", "INVITE", "sip:bob@example.com", "00000001", cred,
		    sizeof cred);
	invite_to(inv, sizeof inv, "sip:bob@example.com", 2, cred);
	from_alice(f, inv);
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 100 Trying");
	const struct sent *b = next_sent(f, "192.0.2.20", 5062);
	assert_null(strstr(b->buf, "Proxy-Authorization"));
	respond(f, b->buf, 200, "bt1", "192.0.2.20", 5062);
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 200 OK");
	const char *other = "Proxy-Authorization: Digest username=\"alice\", realm=\"other.net\", "
			    "nonce=\"x\", uri=\"sip:bob@example.com\", response=\"00\"\n";
	/* ours once more, the realm escaped (RFC 3261 §25.1 quoted-pair) */
	const char *escaped = "Proxy-Authorization: Digest username=\"alice\", "
			      "realm=\"exa\\mple.com\", nonce=\"y\", uri=\"sip:bob@example.com\", "
			      "response=\"01\"\n";
	char ack[4096];
	snprintf(ack, sizeof ack,
		 "ACK sip:bob@192.0.2.20:5062 SIP/2.0\n"
		 "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKack2;rport\n"
		 "Route: <sip:192.0.2.10:5060;transport=udp;lr>\n"
		 "Max-Forwards: 70\n"
		 "From: Alice <sip:alice@example.com>;tag=at1\n"
		 "To: Bob <sip:bob@example.com>;tag=bt1\n"
		 "Call-ID: call1@192.0.2.30\n"
		 "CSeq: 2 ACK\n"
		 "%s%s%s"
		 "Content-Length: 0\n\n",
		 cred, other, escaped);
	from_alice(f, ack);
	const struct sent *a = expect_sent(f, "192.0.2.20", 5062, "ACK sip:bob@192.0.2.20:5062 SIP/2.0");
	char want[2048], br[128];
	top_branch(a->buf, br, sizeof br);
	snprintf(want, sizeof want,
		 "ACK sip:bob@192.0.2.20:5062 SIP/2.0\n"
		 "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=%s;rport\n"
		 "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKack2;rport=5060;received=192.0.2.30\n"
		 "Max-Forwards: 69\n"
		 "From: Alice <sip:alice@example.com>;tag=at1\n"
		 "To: Bob <sip:bob@example.com>;tag=bt1\n"
		 "Call-ID: call1@192.0.2.30\n"
		 "CSeq: 2 ACK\n"
		 "Proxy-Authorization: Digest username=\"alice\", realm=\"other.net\", "
		 "nonce=\"x\", uri=\"sip:bob@example.com\", response=\"00\"\n"
		 "Content-Length: 0\n\n",
		 br);
	expect_text(a->buf, want);
	no_more_sent(f);
	/* a BYE in the dialog, with them: forwarded statefully, the same */
	char bye[4096];
	snprintf(bye, sizeof bye,
		 "BYE sip:bob@192.0.2.20:5062 SIP/2.0\n"
		 "Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKbye2;rport\n"
		 "Route: <sip:192.0.2.10:5060;transport=udp;lr>\n"
		 "Max-Forwards: 70\n"
		 "From: Alice <sip:alice@example.com>;tag=at1\n"
		 "To: Bob <sip:bob@example.com>;tag=bt1\n"
		 "Call-ID: call1@192.0.2.30\n"
		 "CSeq: 3 BYE\n"
		 "%s%s%s"
		 "Content-Length: 0\n\n",
		 escaped, cred, other);
	from_alice(f, bye);
	const struct sent *by = expect_sent(f, "192.0.2.20", 5062, "BYE sip:bob@192.0.2.20:5062 SIP/2.0");
	assert_null(strstr(by->buf, "realm=\"example.com\""));
	assert_null(strstr(by->buf, "realm=\"exa\\mple.com\""));
	assert_non_null(strstr(by->buf, "\r\nProxy-Authorization: Digest username=\"alice\", "
					"realm=\"other.net\", nonce=\"x\""));
	no_more_sent(f);
}

/* busy -> carol, carol no answer -> voicemail, voicemail 480: alice gets
 * the best response of the whole chain, bob's 486. */
static void test_noanswer_keeps_earlier_best(void **state)
{
	struct fx *f = *state;
	register_bob_carol(f);
	set_rule(f, "bob", SB_STORE_FWD_BUSY, "sip:carol@example.com", 0);
	set_rule(f, "carol", SB_STORE_FWD_NOANSWER, "sip:vm@192.0.2.60:5070", 5);
	call_bob(f);
	const struct sent *b = next_sent(f, "192.0.2.20", 5062);
	respond(f, b->buf, 486, "bt1", "192.0.2.20", 5062);
	(void)expect_sent(f, "192.0.2.20", 5062, "ACK sip:bob@192.0.2.20:5062 SIP/2.0");
	const struct sent *c = expect_sent(f, "192.0.2.40", 5064, "INVITE sip:carol@192.0.2.40:5064 SIP/2.0");
	respond(f, c->buf, 180, "ct1", "192.0.2.40", 5064);
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 180 Ringing");
	sb_loop_advance(f->loop, 5000);
	const struct sent *cc = expect_sent(f, "192.0.2.40", 5064, "CANCEL sip:carol@192.0.2.40:5064 SIP/2.0");
	const struct sent *v = expect_sent(f, "192.0.2.60", 5070, "INVITE sip:vm@192.0.2.60:5070 SIP/2.0");
	no_more_sent(f);
	respond(f, v->buf, 480, "vt1", "192.0.2.60", 5070);
	(void)expect_sent(f, "192.0.2.60", 5070, "ACK sip:vm@192.0.2.60:5070 SIP/2.0");
	const struct sent *up = expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 486 Busy Here");
	assert_non_null(strstr(up->buf, "\r\nTo: Bob <sip:bob@example.com>;tag=bt1\r\n"));
	no_more_sent(f);
	respond(f, cc->buf, 200, "ct1", "192.0.2.40", 5064);
	respond(f, c->buf, 487, "ct1", "192.0.2.40", 5064);
	(void)expect_sent(f, "192.0.2.40", 5064, "ACK sip:carol@192.0.2.40:5064 SIP/2.0");
	no_more_sent(f);
	struct sb_proxy_stats st;
	sb_proxy_get_stats(f->proxy, &st);
	assert_int_equal(st.calls_forwarded, 1);
}

/* bob's phones fill the target set; the no-answer rule sends the call to
 * carol, who has a phone but no room is left for it: she is not
 * "unavailable" (her rule does not apply), the call fails with 500. */
static void test_full_target_set_not_unavailable(void **state)
{
	struct fx *f = *state;
	for (unsigned k = 0; k < SB_PROXY_MAX_TARGETS; k++)
		register_contact(f, "bob", "192.0.2.20", (uint16_t)(6000 + k), 3600, 1);
	register_contact(f, "carol", "192.0.2.40", 5064, 3600, 1);
	set_rule(f, "bob", SB_STORE_FWD_NOANSWER, "sip:carol@example.com", 5);
	set_rule(f, "carol", SB_STORE_FWD_UNAVAILABLE, "sip:dave@example.com", 0);
	call_bob(f);
	for (unsigned k = 0; k < SB_PROXY_MAX_TARGETS; k++) {
		const struct sent *s = next_sent(f, "192.0.2.20", sb_addr_port(&f->sent[f->seen].dst.addr));
		assert_true(strncmp(s->buf, "INVITE sip:bob@192.0.2.20:", 26) == 0);
	}
	no_more_sent(f);
	sb_loop_advance(f->loop, 5000);
	skip_any(f, "INVITE sip:bob@192.0.2.20:"); /* retransmissions */
	const struct sent *up = expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 500 Server Internal Error");
	assert_non_null(strstr(up->buf, "\r\nCSeq: 1 INVITE\r\n"));
	no_more_sent(f);
	struct sb_proxy_stats st;
	sb_proxy_get_stats(f->proxy, &st);
	assert_int_equal(st.calls_forwarded, 1);
}

/* With a directory, a name outside it that has bindings (not registered
 * through this proxy: restored from the store at start) is remembered as
 * known when it is called: once its binding has gone, 480, not 404. */
static void test_known_from_bindings(void **state)
{
	struct fx *f = *state;
	const char *reg = "REGISTER sip:example.com SIP/2.0\r\n"
			  "Via: SIP/2.0/UDP 192.0.2.50:5066;branch=z9hG4bKrd1\r\n"
			  "Max-Forwards: 70\r\n"
			  "From: <sip:dave@example.com>;tag=r1\r\n"
			  "To: <sip:dave@example.com>\r\n"
			  "Call-ID: reg-dave\r\n"
			  "CSeq: 1 REGISTER\r\n"
			  "Contact: <sip:dave@192.0.2.50:5066>\r\n"
			  "Expires: 60\r\n"
			  "Content-Length: 0\r\n\r\n";
	struct sb_sip_msg *m = malloc(sizeof *m);
	assert_non_null(m);
	assert_int_equal(sb_sip_parse(m, reg, strlen(reg), SB_SIP_DATAGRAM), 0);
	struct sb_buf out;
	sb_buf_init(&out, 0);
	struct sb_tp_rx rx = {
		.msg = m,
		.proto = SB_TP_UDP,
		.src = addr("192.0.2.50", 5066),
		.local = addr("192.0.2.10", 5060),
	};
	assert_int_equal(sb_registrar_handle(f->reg, m, &rx, 0, &out), 0);
	assert_true(strncmp(out.p, "SIP/2.0 200 OK", 14) == 0);
	sb_buf_free(&out);
	free(m);
	char inv[2048];
	invite_to(inv, sizeof inv, "sip:dave@example.com", 1, "");
	from_alice(f, inv);
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 100 Trying");
	const struct sent *d = expect_sent(f, "192.0.2.50", 5066, "INVITE sip:dave@192.0.2.50:5066 SIP/2.0");
	respond(f, d->buf, 486, "dt1", "192.0.2.50", 5066);
	(void)expect_sent(f, "192.0.2.50", 5066, "ACK sip:dave@192.0.2.50:5066 SIP/2.0");
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 486 Busy Here");
	/* the binding expires */
	sb_loop_advance(f->loop, 61000);
	skip_any(f, "SIP/2.0 486 Busy Here");
	no_more_sent(f);
	invite_to(inv, sizeof inv, "sip:dave@example.com", 2, "");
	from_alice(f, inv);
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 100 Trying");
	(void)expect_sent(f, "192.0.2.30", 5060, "SIP/2.0 480 Temporarily Unavailable");
	no_more_sent(f);
}

/* register_h answers 100 Trying at once and never more: the REGISTER is
 * given up 64*T1 later like one left in progress. */
static void test_register_provisional_given_up(void **state)
{
	struct fx *f = *state;
	f->reg_mode = REG_TRYING;
	inject(f, register_bob, "192.0.2.20", 5062);
	uint64_t token = f->token;
	(void)expect_sent(f, "192.0.2.20", 5062, "SIP/2.0 100 Trying");
	no_more_sent(f);
	assert_int_equal(sb_tsx_layer_count(sb_proxy_tsx_layer(f->proxy)), 1);
	sb_loop_advance(f->loop, 64 * SB_TSX_T1_MS);
	assert_int_equal(sb_tsx_layer_count(sb_proxy_tsx_layer(f->proxy)), 0);
	size_t len;
	char *ans = registrar_answer(f, &len);
	assert_int_equal(sb_proxy_register_answer(f->proxy, token, ans, len), ENOENT);
	no_more_sent(f);
	free(ans);
}

int main(void)
{
	static struct opts auth = { .auth = true };
	static struct opts lockout = { .auth = true, .lockout_silent = true, .max_failures = 2 };
	static struct opts users = { .users = true };
	static struct opts auth_users = { .auth = true, .users = true };
	static struct opts auth_dialog = { .auth = true, .dialog_key = true };
	static struct opts seq_users = { .users = true, .sequential = true };
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_prestate_setup_teardown(test_auth_407_then_forwarded, setup,
							 teardown, &auth),
		cmocka_unit_test_prestate_setup_teardown(test_auth_from_not_owned, setup, teardown,
							 &auth),
		cmocka_unit_test_prestate_setup_teardown(test_auth_dialog_token, setup, teardown,
							 &auth_dialog),
		cmocka_unit_test_prestate_setup_teardown(
			test_auth_cancel_ack_and_dialog_not_challenged, setup, teardown, &auth),
		cmocka_unit_test_prestate_setup_teardown(test_auth_loop_detected_not_challenged,
							 setup, teardown, &auth),
		cmocka_unit_test_prestate_setup_teardown(test_auth_lockout_silent, setup, teardown,
							 &lockout),
		cmocka_unit_test_prestate_setup_teardown(test_users_404_and_480, setup, teardown,
							 &users),
		cmocka_unit_test_prestate_setup_teardown(test_dnd, setup, teardown, &users),
		cmocka_unit_test_prestate_setup_teardown(test_always, setup, teardown, &users),
		cmocka_unit_test_prestate_setup_teardown(test_always_foreign, setup, teardown,
							 &users),
		cmocka_unit_test_prestate_setup_teardown(test_unavailable, setup, teardown, &users),
		cmocka_unit_test_prestate_setup_teardown(test_busy, setup, teardown, &users),
		cmocka_unit_test_prestate_setup_teardown(test_busy_600_and_target_fails, setup,
							 teardown, &users),
		cmocka_unit_test_prestate_setup_teardown(test_noanswer, setup, teardown, &users),
		cmocka_unit_test_prestate_setup_teardown(test_noanswer_target_fails, setup,
							 teardown, &users),
		cmocka_unit_test_prestate_setup_teardown(test_noanswer_then_caller_cancels, setup,
							 teardown, &users),
		cmocka_unit_test_prestate_setup_teardown(test_rules_with_auth, setup, teardown,
							 &auth_users),
		cmocka_unit_test_prestate_setup_teardown(test_noanswer_answered_in_time, setup,
							 teardown, &users),
		cmocka_unit_test_prestate_setup_teardown(test_forwarding_loop_ends, setup, teardown,
							 &users),
		cmocka_unit_test_setup_teardown(test_no_rules_for_users_null, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stats, setup, teardown),
		cmocka_unit_test_setup_teardown(test_register_async, setup, teardown),
		cmocka_unit_test_setup_teardown(test_register_async_given_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_register_silent, setup, teardown),
		cmocka_unit_test_prestate_setup_teardown(test_busy_600_sequential, setup, teardown,
							 &seq_users),
		cmocka_unit_test_prestate_setup_teardown(test_noanswer_after_6xx, setup, teardown,
							 &users),
		cmocka_unit_test_prestate_setup_teardown(test_late_487_of_given_up_branch, setup,
							 teardown, &users),
		cmocka_unit_test_prestate_setup_teardown(test_noanswer_sequential_at_once, setup,
							 teardown, &seq_users),
		cmocka_unit_test_prestate_setup_teardown(test_noanswer_caller_cancel_not_held,
							 setup, teardown, &users),
		cmocka_unit_test_prestate_setup_teardown(test_noanswer_longer_than_timer_c, setup,
							 teardown, &users),
		cmocka_unit_test_prestate_setup_teardown(test_timer_c_gives_408, setup, teardown,
							 &users),
		cmocka_unit_test_prestate_setup_teardown(test_noanswer_caller_gone, setup, teardown,
							 &users),
		cmocka_unit_test_prestate_setup_teardown(test_busy_caller_gone, setup, teardown,
							 &users),
		cmocka_unit_test_prestate_setup_teardown(test_auth_credentials_never_forwarded,
							 setup, teardown, &auth),
		cmocka_unit_test_prestate_setup_teardown(test_noanswer_keeps_earlier_best, setup,
							 teardown, &users),
		cmocka_unit_test_prestate_setup_teardown(test_full_target_set_not_unavailable,
							 setup, teardown, &users),
		cmocka_unit_test_prestate_setup_teardown(test_known_from_bindings, setup, teardown,
							 &users),
		cmocka_unit_test_setup_teardown(test_register_provisional_given_up, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
