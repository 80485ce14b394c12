/* Unit tests for authn (authn.c, guard.c): the authentication step of the
 * registrar and the proxy.  Requests are written as C strings and parsed
 * with sb_sip_parse; credentials are computed with sb_digest_response from
 * the nonce of a challenge, the way a phone does.  Covered: the challenges
 * (401 / 407, SHA-256 first), good MD5 and SHA-256 credentials, wrong
 * password and unknown user looking the same, replays, stale nonces, a
 * digest uri that is not the Request-URI, other realms, garbled
 * credentials, the lockout per peer (IPv4 address, IPv6 /64) with its log
 * lines, its end and its reset, eviction from the bounded tables, and
 * sb_authn_owns. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "switchboard/authn.h"

#include "testutil.h"

#define REALM "sip.example.com"
#define T0 1700000000u
#define LIFETIME 300u
#define MAX_FAIL 3u
#define WINDOW 60u
#define LOCKOUT 600u
#define REG_URI "sip:" REALM

static const uint8_t secret[32] = "0123456789abcdef0123456789abcdef";

/* ---------------------------------------------------------------- fixture */

#define MAX_LOGS 16

struct fx {
	struct sb_digest *digest;
	struct sb_users *users;
	struct sb_authn *authn;
	struct sb_authn_result res;
	char logs[MAX_LOGS][512];
	enum sb_log_level log_lvl[MAX_LOGS];
	unsigned nlogs;
};

static void log_h(enum sb_log_level lvl, const char *line, void *arg)
{
	struct fx *f = arg;
	assert_true(f->nlogs < MAX_LOGS);
	f->log_lvl[f->nlogs] = lvl;
	snprintf(f->logs[f->nlogs++], sizeof f->logs[0], "%s", line);
}

struct fx_opts {
	bool silent;
	uint32_t max_tracked;
	uint32_t max_failures;
};

static struct fx *fx_new(struct fx_opts o)
{
	struct fx *f = keep(calloc(1, sizeof *f));
	assert_non_null(f);
	struct sb_digest_cfg dc = { .realm = SB_LIT(REALM), .secret = secret,
				    .secret_len = sizeof secret, .nonce_lifetime_s = LIFETIME };
	assert_int_equal(sb_digest_alloc(&f->digest, &dc), 0);
	assert_int_equal(sb_users_alloc(&f->users, 0, 1), 0);
	assert_int_equal(sb_users_put_password(f->users, SB_LIT("alice"), SB_LIT(REALM),
					       SB_LIT("wonderland"), T0), 0);
	/* carol has an MD5 HA1 only */
	char ha1[SB_DIGEST_HEX_CAP];
	assert_int_equal(sb_digest_ha1(SB_DIGEST_MD5, SB_LIT("carol"), SB_LIT(REALM),
				       SB_LIT("secret"), ha1, sizeof ha1), 0);
	assert_int_equal(sb_users_put(f->users, SB_LIT("carol"), sb_slice_cstr(ha1),
				      SB_SLICE_NULL, T0), 0);
	struct sb_authn_cfg ac = {
		.digest = f->digest, .users = f->users,
		.max_failures = o.max_failures ? o.max_failures : MAX_FAIL,
		.window_s = WINDOW, .lockout_s = LOCKOUT, .lockout_silent = o.silent,
		.log_h = log_h, .log_arg = f, .seed = 5, .max_tracked = o.max_tracked,
	};
	assert_int_equal(sb_authn_alloc(&f->authn, &ac), 0);
	return f;
}

static void fx_free(struct fx *f)
{
	sb_authn_free(f->authn);
	sb_users_free(f->users);
	sb_digest_free(f->digest);
}

static struct sb_addr addr(const char *host, uint16_t port)
{
	struct sb_addr a;
	assert_int_equal(sb_addr_parse(&a, host, port), 0);
	return a;
}

/* ---------------------------------------------------------------- requests */

/* A request with these extra header lines (each ending CRLF), parsed from
 * an exact-size copy kept until free_all. */
static struct sb_sip_msg *request(const char *method, const char *ruri, const char *hdrs)
{
	char buf[8192];
	int n = snprintf(buf, sizeof buf,
			 "%s %s SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds\r\n"
			 "Max-Forwards: 70\r\n"
			 "To: <sip:alice@" REALM ">\r\n"
			 "From: <sip:alice@" REALM ">;tag=1928301774\r\n"
			 "Call-ID: a84b4c76e66710\r\n"
			 "CSeq: 1 %s\r\n"
			 "Contact: <sip:alice@192.0.2.10>\r\n"
			 "%s"
			 "Content-Length: 0\r\n\r\n",
			 method, ruri, method, hdrs);
	assert_true(n > 0 && (size_t)n < sizeof buf);
	struct sb_slice s = exact_n(buf, (size_t)n);
	struct sb_sip_msg *m = keep(malloc(sizeof *m));
	assert_non_null(m);
	assert_int_equal(sb_sip_parse(m, s.p, s.l, SB_SIP_DATAGRAM), 0);
	assert_int_equal(m->defect, SB_DEFECT_NONE);
	return m;
}

static struct sb_sip_msg *reg(const char *hdrs)
{
	return request("REGISTER", REG_URI, hdrs);
}

/* A fresh nonce, as the server puts in a challenge at t. */
/* A nonce issued at t to peer (nonces are bound to the peer they went to). */
static const char *nonce_at(struct fx *f, uint64_t t, const struct sb_addr *peer)
{
	struct sb_digest_challenges ch;
	unsigned char key[SB_ADDR_PEER_KEY_MAX];
	struct sb_slice bind = sb_slice_from((const char *)key, sb_addr_peer_key(peer, key));
	assert_int_equal(sb_digest_challenges_bound(f->digest, t, false, bind, &ch), 0);
	char *n = keep(malloc(sizeof ch.nonce));
	memcpy(n, ch.nonce, sizeof ch.nonce);
	return n;
}

/* What the phone puts in its Authorization / Proxy-Authorization. */
struct cred {
	const char *hdr;       /* NULL: "Authorization" */
	const char *user;
	const char *password;
	const char *realm;     /* NULL: REALM */
	enum sb_digest_alg alg;
	const char *method;    /* NULL: REGISTER */
	const char *uri;       /* NULL: REG_URI */
	const char *nonce;
	uint32_t nc;           /* 0: 1 */
	const char *extra;     /* appended to the value */
	bool no_nonce;         /* leave nonce= out (garbled) */
};

/* The whole header line, CRLF included, kept until free_all. */
static const char *cred_line(const struct cred *c)
{
	const char *realm = c->realm ? c->realm : REALM;
	const char *method = c->method ? c->method : "REGISTER";
	const char *uri = c->uri ? c->uri : REG_URI;
	char ha1[SB_DIGEST_HEX_CAP], resp[SB_DIGEST_HEX_CAP], nc[16];
	snprintf(nc, sizeof nc, "%08x", (unsigned)(c->nc ? c->nc : 1));
	assert_int_equal(sb_digest_ha1(c->alg, sb_slice_cstr(c->user), sb_slice_cstr(realm),
				       sb_slice_cstr(c->password), ha1, sizeof ha1), 0);
	struct sb_digest_input in = {
		.alg = c->alg, .ha1 = sb_slice_cstr(ha1), .nonce = sb_slice_cstr(c->nonce),
		.nc = sb_slice_cstr(nc), .cnonce = SB_LIT("0a4f113b"), .qop = SB_LIT("auth"),
		.method = sb_slice_cstr(method), .uri = sb_slice_cstr(uri),
	};
	assert_int_equal(sb_digest_response(&in, resp, sizeof resp), 0);
	char *line = keep(malloc(1024));
	char nonce[128] = "";
	if (!c->no_nonce)
		snprintf(nonce, sizeof nonce, " nonce=\"%s\",", c->nonce);
	snprintf(line, 1024,
		 "%s: Digest username=\"%s\", realm=\"%s\",%s uri=\"%s\", "
		 "response=\"%s\", algorithm=%s, qop=auth, nc=%s, cnonce=\"0a4f113b\", "
		 "opaque=\"whatever\"%s\r\n",
		 c->hdr ? c->hdr : "Authorization", c->user, realm, nonce, uri, resp,
		 sb_digest_alg_name(c->alg), nc, c->extra ? c->extra : "");
	return line;
}

static struct cred alice(const char *nonce)
{
	return (struct cred){ .user = "alice", .password = "wonderland", .alg = SB_DIGEST_SHA256,
			      .nonce = nonce };
}

static enum sb_authn_verdict check(struct fx *f, const struct sb_sip_msg *m,
				   const struct sb_addr *src, enum sb_authn_kind kind, uint64_t now)
{
	return sb_authn_check(f->authn, m, src, kind, now, &f->res);
}

static enum sb_authn_verdict check_reg(struct fx *f, const char *hdrs, const struct sb_addr *src,
				       uint64_t now)
{
	return check(f, reg(hdrs), src, SB_AUTHN_WWW, now);
}

static struct sb_authn_stats stats(struct fx *f, uint64_t now)
{
	struct sb_authn_stats st;
	sb_authn_get_stats(f->authn, now, &st);
	return st;
}

/* ------------------------------------------------------------ challenges */

/* res->extra is exactly two lines "NAME: <challenge>\r\n", SHA-256 then MD5,
 * with one fresh nonce and our opaque: the text is rebuilt from the nonce
 * and opaque parsed back, and compared whole.  Returns the nonce. */
static const char *expect_challenge(const struct sb_authn_result *r, const char *name,
				    bool stale)
{
	assert_int_equal(r->extra_len, strlen(r->extra));
	const char *eol = strstr(r->extra, "\r\n");
	assert_non_null(eol);
	size_t nl = strlen(name);
	assert_memory_equal(r->extra, name, nl);
	assert_memory_equal(r->extra + nl, ": ", 2);
	struct sb_auth a;
	struct sb_slice v = exact_n(r->extra + nl + 2, (size_t)(eol - r->extra) - nl - 2);
	assert_int_equal(sb_auth_parse(&a, v), 0);
	assert_int_equal(a.nonce.l, SB_DIGEST_NONCE_LEN);
	assert_int_equal(a.opaque.l, SB_DIGEST_OPAQUE_LEN);
	char *nonce = keep(calloc(1, a.nonce.l + 1));
	memcpy(nonce, a.nonce.p, a.nonce.l);
	char opaque[SB_DIGEST_OPAQUE_LEN + 1] = "";
	memcpy(opaque, a.opaque.p, a.opaque.l);

	char want[SB_AUTHN_EXTRA_MAX];
	const char *st = stale ? ", stale=true" : "";
	snprintf(want, sizeof want,
		 "%s: Digest realm=\"" REALM "\", nonce=\"%s\", opaque=\"%s\", "
		 "algorithm=SHA-256, qop=\"auth\"%s\r\n"
		 "%s: Digest realm=\"" REALM "\", nonce=\"%s\", opaque=\"%s\", "
		 "algorithm=MD5, qop=\"auth\"%s\r\n",
		 name, nonce, opaque, st, name, nonce, opaque, st);
	assert_string_equal(r->extra, want);
	assert_int_equal(r->stale, stale);
	return nonce;
}

static void expect_www(const struct sb_authn_result *r, enum sb_digest_why why, bool stale)
{
	assert_int_equal(r->verdict, SB_AUTHN_CHALLENGE);
	assert_int_equal(r->code, 401);
	assert_null(r->reason);
	assert_int_equal(r->why, why);
	assert_int_equal(r->user_len, 0);
	assert_int_equal(r->cred_hdr, SB_SIP_NO_HDR);
	expect_challenge(r, "WWW-Authenticate", stale);
}

static void expect_ok(const struct sb_authn_result *r, const char *user, uint16_t hdr)
{
	if (r->verdict != SB_AUTHN_OK)
		print_error("verdict %d why %s\n", r->verdict, sb_digest_why_str(r->why));
	assert_int_equal(r->verdict, SB_AUTHN_OK);
	assert_int_equal(r->code, 0);
	assert_string_equal(r->user, user);
	assert_int_equal(r->user_len, strlen(user));
	assert_int_equal(r->cred_hdr, hdr);
	assert_int_equal(r->extra_len, 0);
}

static void expect_locked(const struct sb_authn_result *r, bool silent)
{
	assert_int_equal(r->verdict, SB_AUTHN_LOCKED);
	assert_int_equal(r->code, 403);
	assert_non_null(r->reason);
	assert_string_equal(r->reason, "Forbidden - Too Many Failures");
	assert_int_equal(r->silent, silent);
	assert_int_equal(r->extra_len, 0);
}

/* No credentials: 401 with two WWW-Authenticate lines for a REGISTER,
 * 407 with two Proxy-Authenticate lines for an INVITE through the proxy;
 * no failure is counted. */
static void test_no_credentials(void **state)
{
	(void)state;
	struct fx *f = fx_new((struct fx_opts){ 0 });
	struct sb_addr src = addr("192.0.2.10", 5060);

	assert_int_equal(check_reg(f, "", &src, T0), SB_AUTHN_CHALLENGE);
	expect_www(&f->res, SB_DIGEST_WHY_NONE, false);

	struct sb_sip_msg *inv = request("INVITE", "sip:bob@" REALM, "");
	assert_int_equal(check(f, inv, &src, SB_AUTHN_PROXY, T0), SB_AUTHN_CHALLENGE);
	assert_int_equal(f->res.code, 407);
	assert_int_equal(f->res.why, SB_DIGEST_WHY_NONE);
	expect_challenge(&f->res, "Proxy-Authenticate", false);

	/* good credentials in the other header do not count for this kind */
	const char *n = nonce_at(f, T0, &src);
	struct cred c = alice(n);
	c.method = "INVITE";
	c.uri = "sip:bob@" REALM;
	inv = request("INVITE", "sip:bob@" REALM, cred_line(&c));
	assert_int_equal(check(f, inv, &src, SB_AUTHN_PROXY, T0), SB_AUTHN_CHALLENGE);
	assert_int_equal(f->res.code, 407);
	c.hdr = "Proxy-Authorization";
	struct sb_sip_msg *reg_m = reg(cred_line(&c));
	assert_int_equal(check(f, reg_m, &src, SB_AUTHN_WWW, T0), SB_AUTHN_CHALLENGE);
	assert_int_equal(f->res.code, 401);

	/* each challenge carries a new nonce */
	assert_int_equal(check_reg(f, "", &src, T0), SB_AUTHN_CHALLENGE);
	const char *n1 = expect_challenge(&f->res, "WWW-Authenticate", false);
	assert_int_equal(check_reg(f, "", &src, T0), SB_AUTHN_CHALLENGE);
	const char *n2 = expect_challenge(&f->res, "WWW-Authenticate", false);
	assert_string_not_equal(n1, n2);

	struct sb_authn_stats st = stats(f, T0);
	assert_int_equal(st.challenged, 6);
	assert_int_equal(st.failed, 0);
	assert_int_equal(st.ok, 0);
	assert_int_equal(f->nlogs, 0);
	fx_free(f);
}

/* The phone's round: challenge, then credentials from its nonce. */
static void test_good_credentials(void **state)
{
	(void)state;
	struct fx *f = fx_new((struct fx_opts){ 0 });
	struct sb_addr src = addr("192.0.2.10", 5060);

	/* SHA-256, with the nonce of the 401 */
	assert_int_equal(check_reg(f, "", &src, T0), SB_AUTHN_CHALLENGE);
	const char *n = expect_challenge(&f->res, "WWW-Authenticate", false);
	struct sb_sip_msg *m = reg(cred_line(&(struct cred){
		.user = "alice", .password = "wonderland", .alg = SB_DIGEST_SHA256, .nonce = n }));
	assert_int_equal(check(f, m, &src, SB_AUTHN_WWW, T0 + 1), SB_AUTHN_OK);
	expect_ok(&f->res, "alice", m->first[SB_HDR_AUTHORIZATION]);
	assert_int_equal(f->res.cred_hdr, 7); /* after Via .. Contact */
	assert_int_equal(m->hdrs[f->res.cred_hdr].id, SB_HDR_AUTHORIZATION);

	/* MD5, the phone's second choice */
	n = nonce_at(f, T0, &src);
	m = reg(cred_line(&(struct cred){
		.user = "alice", .password = "wonderland", .alg = SB_DIGEST_MD5, .nonce = n }));
	assert_int_equal(check(f, m, &src, SB_AUTHN_WWW, T0 + 2), SB_AUTHN_OK);
	expect_ok(&f->res, "alice", 7);

	/* carol has MD5 only: MD5 passes, SHA-256 meets the dummy HA1 */
	n = nonce_at(f, T0, &src);
	m = reg(cred_line(&(struct cred){
		.user = "carol", .password = "secret", .alg = SB_DIGEST_MD5, .nonce = n }));
	assert_int_equal(check(f, m, &src, SB_AUTHN_WWW, T0 + 3), SB_AUTHN_OK);
	expect_ok(&f->res, "carol", 7);
	n = nonce_at(f, T0, &src);
	m = reg(cred_line(&(struct cred){
		.user = "carol", .password = "secret", .alg = SB_DIGEST_SHA256, .nonce = n }));
	assert_int_equal(check(f, m, &src, SB_AUTHN_WWW, T0 + 3), SB_AUTHN_CHALLENGE);
	expect_www(&f->res, SB_DIGEST_WHY_RESPONSE, false);

	/* the proxy: Proxy-Authorization on an INVITE, and its index */
	n = nonce_at(f, T0, &src);
	struct cred c = alice(n);
	c.hdr = "Proxy-Authorization";
	c.method = "INVITE";
	c.uri = "sip:bob@" REALM;
	m = request("INVITE", "sip:bob@" REALM, cred_line(&c));
	assert_int_equal(check(f, m, &src, SB_AUTHN_PROXY, T0 + 4), SB_AUTHN_OK);
	expect_ok(&f->res, "alice", 7);
	assert_int_equal(m->hdrs[7].id, SB_HDR_PROXY_AUTHORIZATION);

	struct sb_authn_stats st = stats(f, T0 + 4);
	assert_int_equal(st.ok, 4);
	assert_int_equal(st.challenged, 2);
	assert_int_equal(st.failed, 1);
	fx_free(f);
}

/* Replace the nonce (48 characters after `nonce="`) in every line of a
 * copy of extra with N's, so two challenges can be compared. */
static char *mask_nonces(const struct sb_authn_result *r)
{
	char *s = keep(calloc(1, r->extra_len + 1));
	memcpy(s, r->extra, r->extra_len);
	for (char *p = s; (p = strstr(p, "nonce=\"")) != NULL; p += 7)
		memset(p + 7, 'N', SB_DIGEST_NONCE_LEN);
	return s;
}

/* Wrong password and unknown user: the same CHALLENGE, the same why, the
 * same extra but for the nonce; both count a failure. */
static void test_wrong_password_unknown_user(void **state)
{
	(void)state;
	struct fx *f = fx_new((struct fx_opts){ 0 });
	struct sb_addr src = addr("192.0.2.10", 5060);

	struct cred c = alice(nonce_at(f, T0, &src));
	c.password = "guess";
	assert_int_equal(check_reg(f, cred_line(&c), &src, T0), SB_AUTHN_CHALLENGE);
	expect_www(&f->res, SB_DIGEST_WHY_RESPONSE, false);
	char *wrong = mask_nonces(&f->res);
	size_t wrong_len = f->res.extra_len;

	c = alice(nonce_at(f, T0, &src));
	c.user = "mallory";
	assert_int_equal(check_reg(f, cred_line(&c), &src, T0), SB_AUTHN_CHALLENGE);
	expect_www(&f->res, SB_DIGEST_WHY_RESPONSE, false);
	assert_int_equal(f->res.extra_len, wrong_len);
	assert_string_equal(mask_nonces(&f->res), wrong);

	/* MD5 too */
	c = alice(nonce_at(f, T0 + 1, &src));
	c.user = "mallory";
	c.alg = SB_DIGEST_MD5;
	assert_int_equal(check_reg(f, cred_line(&c), &src, T0 + 1), SB_AUTHN_CHALLENGE);
	expect_www(&f->res, SB_DIGEST_WHY_RESPONSE, false);

	struct sb_authn_stats st = stats(f, T0 + 1);
	assert_int_equal(st.failed, 3);
	assert_int_equal(st.challenged, 3);
	assert_int_equal(st.ok, 0);
	fx_free(f);
}

/* The same nonce and nc twice: the second is a replay, challenged, not a
 * failure; a higher nc goes through. */
static void test_replay(void **state)
{
	(void)state;
	struct fx *f = fx_new((struct fx_opts){ 0 });
	struct sb_addr src = addr("192.0.2.10", 5060);
	struct cred c = alice(nonce_at(f, T0, &src));
	const char *line = cred_line(&c);
	assert_int_equal(check_reg(f, line, &src, T0), SB_AUTHN_OK);
	assert_int_equal(check_reg(f, line, &src, T0 + 1), SB_AUTHN_CHALLENGE);
	expect_www(&f->res, SB_DIGEST_WHY_NC, false);
	c.nc = 2;
	assert_int_equal(check_reg(f, cred_line(&c), &src, T0 + 2), SB_AUTHN_OK);

	struct sb_authn_stats st = stats(f, T0 + 2);
	assert_int_equal(st.ok, 2);
	assert_int_equal(st.replayed, 1);
	assert_int_equal(st.challenged, 1);
	assert_int_equal(st.failed, 0);
	fx_free(f);
}

/* A nonce past its lifetime with the right digest: stale=true in both
 * challenges; not a failure.  The wrong digest with it is plain BAD. */
static void test_stale(void **state)
{
	(void)state;
	struct fx *f = fx_new((struct fx_opts){ 0 });
	struct sb_addr src = addr("192.0.2.10", 5060);
	struct cred c = alice(nonce_at(f, T0, &src));
	assert_int_equal(check_reg(f, cred_line(&c), &src, T0 + LIFETIME + 1),
			 SB_AUTHN_CHALLENGE);
	expect_www(&f->res, SB_DIGEST_WHY_EXPIRED, true);

	c.password = "guess";
	assert_int_equal(check_reg(f, cred_line(&c), &src, T0 + LIFETIME + 1),
			 SB_AUTHN_CHALLENGE);
	expect_www(&f->res, SB_DIGEST_WHY_RESPONSE, false);

	struct sb_authn_stats st = stats(f, T0 + LIFETIME + 1);
	assert_int_equal(st.stale, 1);
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.challenged, 2);
	fx_free(f);
}

/* RFC 3261 §22.4 item 3: the digest uri must be the Request-URI. */
static void test_uri_mismatch(void **state)
{
	(void)state;
	struct fx *f = fx_new((struct fx_opts){ 0 });
	struct sb_addr src = addr("192.0.2.10", 5060);
	struct cred c = alice(nonce_at(f, T0, &src));
	c.uri = "sip:other.example.com";
	assert_int_equal(check_reg(f, cred_line(&c), &src, T0), SB_AUTHN_CHALLENGE);
	expect_www(&f->res, SB_DIGEST_WHY_URI, false);
	/* the same digest against a request to that URI passes */
	struct sb_sip_msg *m = request("REGISTER", "sip:other.example.com", cred_line(&c));
	assert_int_equal(check(f, m, &src, SB_AUTHN_WWW, T0), SB_AUTHN_OK);
	assert_int_equal(stats(f, T0).failed, 1);
	fx_free(f);
}

/* RFC 3261 §22.3: credentials of another realm are skipped and kept; ours,
 * after them, are verified and their index returned.  Only another realm's:
 * a challenge, not a failure. */
static void test_other_realm(void **state)
{
	(void)state;
	struct fx *f = fx_new((struct fx_opts){ 0 });
	struct sb_addr src = addr("192.0.2.10", 5060);
	struct cred other = alice(nonce_at(f, T0, &src));
	other.hdr = "Proxy-Authorization";
	other.realm = "elsewhere.example.org";
	other.method = "INVITE";
	other.uri = "sip:bob@" REALM;
	struct cred ours = other;
	ours.realm = NULL;
	ours.nonce = nonce_at(f, T0, &src);

	char hdrs[4096];
	snprintf(hdrs, sizeof hdrs, "%s%s%s", cred_line(&other),
		 "Proxy-Authorization: Basic YWxpY2U6d29uZGVybGFuZA==\r\n", cred_line(&ours));
	struct sb_sip_msg *m = request("INVITE", "sip:bob@" REALM, hdrs);
	assert_int_equal(check(f, m, &src, SB_AUTHN_PROXY, T0), SB_AUTHN_OK);
	expect_ok(&f->res, "alice", 9);
	assert_int_equal(m->first[SB_HDR_PROXY_AUTHORIZATION], 7);

	snprintf(hdrs, sizeof hdrs, "%s%s", cred_line(&other),
		 "Proxy-Authorization: Basic YWxpY2U6d29uZGVybGFuZA==\r\n");
	m = request("INVITE", "sip:bob@" REALM, hdrs);
	assert_int_equal(check(f, m, &src, SB_AUTHN_PROXY, T0), SB_AUTHN_CHALLENGE);
	assert_int_equal(f->res.code, 407);
	assert_int_equal(f->res.why, SB_DIGEST_WHY_NONE);
	expect_challenge(&f->res, "Proxy-Authenticate", false);

	struct sb_authn_stats st = stats(f, T0);
	assert_int_equal(st.ok, 1);
	assert_int_equal(st.challenged, 1);
	assert_int_equal(st.failed, 0);
	fx_free(f);
}

/* Ours but unusable (inspect's EBADMSG): a failure and a challenge. */
static void test_garbled(void **state)
{
	(void)state;
	struct fx *f = fx_new((struct fx_opts){ .max_failures = 10 });
	struct sb_addr src = addr("192.0.2.10", 5060);
	struct cred c = alice(nonce_at(f, T0, &src));
	c.no_nonce = true;
	assert_int_equal(check_reg(f, cred_line(&c), &src, T0), SB_AUTHN_CHALLENGE);
	expect_www(&f->res, SB_DIGEST_WHY_MALFORMED, false);

	c = alice(nonce_at(f, T0, &src));
	c.extra = ", userhash=true";
	assert_int_equal(check_reg(f, cred_line(&c), &src, T0), SB_AUTHN_CHALLENGE);
	expect_www(&f->res, SB_DIGEST_WHY_USERHASH, false);

	/* a nonce we never issued */
	c = alice("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	assert_int_equal(check_reg(f, cred_line(&c), &src, T0), SB_AUTHN_CHALLENGE);
	expect_www(&f->res, SB_DIGEST_WHY_NONCE, false);

	/* a value that does not parse names no realm: skipped */
	assert_int_equal(check_reg(f, "Authorization: Digest ,,,=\"\r\n", &src, T0),
			 SB_AUTHN_CHALLENGE);
	assert_int_equal(f->res.why, SB_DIGEST_WHY_NONE);

	assert_int_equal(stats(f, T0).failed, 3);
	fx_free(f);
}

/* ---------------------------------------------------------------- lockout */

static void fail_as(struct fx *f, const char *user, const struct sb_addr *src, uint64_t now)
{
	struct cred c = alice(nonce_at(f, now, src));
	c.user = user;
	c.password = "guess";
	assert_int_equal(check_reg(f, cred_line(&c), src, now), SB_AUTHN_CHALLENGE);
	assert_int_equal(f->res.why, SB_DIGEST_WHY_RESPONSE);
}

static enum sb_authn_verdict login(struct fx *f, const struct sb_addr *src, uint64_t now)
{
	return check_reg(f, cred_line(&(struct cred){ .user = "alice", .password = "wonderland",
						     .alg = SB_DIGEST_SHA256,
						     .nonce = nonce_at(f, now, src) }),
			 src, now);
}

/* max_failures BAD attempts lock the peer (its other ports too) for
 * lockout_s; another peer is not affected; the lock is logged once, the
 * user reaching the limit once. */
static void test_lockout(void **state)
{
	(void)state;
	struct fx *f = fx_new((struct fx_opts){ 0 });
	struct sb_addr a = addr("192.0.2.10", 5060);
	struct sb_addr a2 = addr("192.0.2.10", 5099);
	struct sb_addr b = addr("198.51.100.7", 5060);

	fail_as(f, "alice", &a, T0);
	fail_as(f, "alice", &a2, T0 + 1);
	assert_int_equal(f->nlogs, 0);
	assert_int_equal(stats(f, T0 + 1).sources_locked, 0);
	/* the third failure is still answered with a challenge, and locks */
	fail_as(f, "alice", &a, T0 + 2);
	assert_int_equal(f->nlogs, 2);
	assert_int_equal(f->log_lvl[0], SB_LOG_WARN);
	assert_string_equal(f->logs[0], "authn: 192.0.2.10:5060 locked out for 600 s after 3 "
					"failures in 60 s (last user \"alice\")");
	assert_int_equal(f->log_lvl[1], SB_LOG_WARN);
	assert_string_equal(f->logs[1], "authn: user \"alice\" has 3 failures in 60 s "
					"(last from 192.0.2.10:5060)");

	/* locked: refused before anything is looked at, from any port, even
	 * with the right password; no more log lines */
	assert_int_equal(check_reg(f, "", &a2, T0 + 3), SB_AUTHN_LOCKED);
	expect_locked(&f->res, false);
	assert_int_equal(login(f, &a, T0 + 4), SB_AUTHN_LOCKED);
	expect_locked(&f->res, false);
	assert_int_equal(check(f, request("INVITE", "sip:bob@" REALM, ""), &a, SB_AUTHN_PROXY,
			       T0 + 4), SB_AUTHN_LOCKED);
	assert_int_equal(f->nlogs, 2);

	/* another peer is not affected; its failure on alice is not logged
	 * again (the user already reached the limit in this window) */
	assert_int_equal(login(f, &b, T0 + 5), SB_AUTHN_OK);
	fail_as(f, "alice", &b, T0 + 5);
	assert_int_equal(f->nlogs, 2);

	struct sb_authn_stats st = stats(f, T0 + 5);
	assert_int_equal(st.sources_locked, 1);
	assert_int_equal(st.locked_out, 3);
	assert_int_equal(st.lockouts, 1);
	assert_int_equal(st.failed, 4);
	assert_int_equal(st.ok, 1);

	/* the lock lasts lockout_s from the locking failure, then ends with
	 * the count cleared */
	assert_int_equal(check_reg(f, "", &a, T0 + 2 + LOCKOUT - 1), SB_AUTHN_LOCKED);
	assert_int_equal(stats(f, T0 + 2 + LOCKOUT).sources_locked, 0);
	assert_int_equal(check_reg(f, "", &a, T0 + 2 + LOCKOUT), SB_AUTHN_CHALLENGE);
	fail_as(f, "alice", &a, T0 + 2 + LOCKOUT);
	fail_as(f, "alice", &a, T0 + 2 + LOCKOUT);
	assert_int_equal(login(f, &a, T0 + 2 + LOCKOUT + 1), SB_AUTHN_OK);
	fx_free(f);
}

static void test_lockout_silent(void **state)
{
	(void)state;
	struct fx *f = fx_new((struct fx_opts){ .silent = true });
	struct sb_addr a = addr("192.0.2.10", 5060);
	for (unsigned i = 0; i < MAX_FAIL; i++)
		fail_as(f, "bob", &a, T0);
	assert_int_equal(check_reg(f, "", &a, T0), SB_AUTHN_LOCKED);
	expect_locked(&f->res, true);
	/* bob is not a user: the user line names him all the same */
	assert_int_equal(f->nlogs, 2);
	assert_non_null(strstr(f->logs[0], "(last user \"bob\")"));
	fx_free(f);
}

/* A success does not clear the peer's count (one good account must not buy
 * endless guesses at the others); failures outside the window start a new
 * count. */
static void test_lockout_reset(void **state)
{
	(void)state;
	struct fx *f = fx_new((struct fx_opts){ 0 });
	struct sb_addr z = addr("192.0.2.11", 5060);
	fail_as(f, "carol", &z, T0);
	assert_int_equal(login(f, &z, T0 + 1), SB_AUTHN_OK);
	fail_as(f, "carol", &z, T0 + 1);
	assert_int_equal(login(f, &z, T0 + 1), SB_AUTHN_OK);
	fail_as(f, "carol", &z, T0 + 1);
	assert_int_equal(check_reg(f, "", &z, T0 + 2), SB_AUTHN_LOCKED);

	struct sb_addr a = addr("192.0.2.10", 5060);
	fail_as(f, "alice", &a, T0 + 2);
	fail_as(f, "alice", &a, T0 + 2);
	assert_int_equal(check_reg(f, "", &a, T0 + 2), SB_AUTHN_CHALLENGE);

	/* the window runs from the first failure: T0 + 2 .. T0 + 2 + WINDOW */
	fail_as(f, "alice", &a, T0 + 2 + WINDOW);
	fail_as(f, "alice", &a, T0 + 2 + WINDOW);
	assert_int_equal(check_reg(f, "", &a, T0 + 2 + WINDOW), SB_AUTHN_CHALLENGE);
	fail_as(f, "alice", &a, T0 + 2 + WINDOW + 1);
	assert_int_equal(check_reg(f, "", &a, T0 + 3 + WINDOW), SB_AUTHN_LOCKED);
	/* replays and stale nonces are not failures */
	struct sb_addr b = addr("198.51.100.7", 5060);
	struct cred c = alice(nonce_at(f, T0, &b));
	const char *line = cred_line(&c);
	assert_int_equal(check_reg(f, line, &b, T0), SB_AUTHN_OK);
	for (unsigned i = 0; i < 2 * MAX_FAIL; i++) {
		assert_int_equal(check_reg(f, line, &b, T0), SB_AUTHN_CHALLENGE);
		assert_int_equal(f->res.why, SB_DIGEST_WHY_NC);
		assert_int_equal(check_reg(f, line, &b, T0 + LIFETIME + 1), SB_AUTHN_CHALLENGE);
		assert_true(f->res.stale);
	}
	assert_int_equal(check_reg(f, "", &b, T0 + LIFETIME + 1), SB_AUTHN_CHALLENGE);
	fx_free(f);
}

/* A spoofed UDP source cannot lock anyone out: a nonce issued to another
 * peer, a forged nonce or garbled credentials are challenged again but not
 * counted, however many come; only wrong responses to a nonce of this peer
 * count. */
static void test_spoofed_source_not_counted(void **state)
{
	(void)state;
	struct fx *f = fx_new((struct fx_opts){ 0 });
	struct sb_addr victim = addr("192.0.2.50", 5060);
	struct sb_addr attacker = addr("203.0.113.9", 5060);
	for (unsigned i = 0; i < 4 * MAX_FAIL; i++) {
		/* the attacker's own nonce, sent as if from the victim */
		struct cred c = alice(nonce_at(f, T0, &attacker));
		c.password = "guess";
		assert_int_equal(check_reg(f, cred_line(&c), &victim, T0), SB_AUTHN_CHALLENGE);
		assert_int_equal(f->res.why, SB_DIGEST_WHY_NONCE);
		c.nonce = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
		assert_int_equal(check_reg(f, cred_line(&c), &victim, T0), SB_AUTHN_CHALLENGE);
		assert_int_equal(f->res.why, SB_DIGEST_WHY_NONCE);
		assert_int_equal(check_reg(f, "Authorization: Digest username=\"alice\", "
					      "realm=\"" REALM "\"\r\n", &victim, T0),
				 SB_AUTHN_CHALLENGE);
	}
	/* the victim still logs in, and nothing was locked */
	assert_int_equal(login(f, &victim, T0 + 1), SB_AUTHN_OK);
	assert_int_equal(stats(f, T0 + 1).lockouts, 0);
	/* its own nonce with wrong passwords does count */
	for (unsigned i = 0; i < MAX_FAIL; i++)
		fail_as(f, "alice", &victim, T0 + 2);
	assert_int_equal(check_reg(f, "", &victim, T0 + 2), SB_AUTHN_LOCKED);
	fx_free(f);
}

/* Peers: an IPv6 /64 is one peer, the next /64 another; an IPv4-mapped
 * address is its IPv4 address. */
static void test_lockout_peers(void **state)
{
	(void)state;
	struct fx *f = fx_new((struct fx_opts){ 0 });
	struct sb_addr v6[] = {
		addr("2001:db8::1", 5060), addr("2001:db8::2", 5060),
		addr("2001:db8::ffff:1:2", 6000),
	};
	for (unsigned i = 0; i < MAX_FAIL; i++)
		fail_as(f, "alice", &v6[i], T0);
	struct sb_addr same = addr("2001:db8:0:0:abcd::9", 5060);
	struct sb_addr next = addr("2001:db8:0:1::1", 5060);
	assert_int_equal(check_reg(f, "", &same, T0), SB_AUTHN_LOCKED);
	assert_int_equal(check_reg(f, "", &next, T0), SB_AUTHN_CHALLENGE);
	assert_non_null(strstr(f->logs[0], "authn: [2001:db8::ffff:1:2]:6000 locked out"));

	struct sb_addr v4 = addr("192.0.2.33", 5060);
	struct sb_addr mapped = addr("::ffff:192.0.2.33", 7000);
	fail_as(f, "alice", &v4, T0);
	fail_as(f, "alice", &mapped, T0);
	fail_as(f, "alice", &v4, T0);
	assert_int_equal(check_reg(f, "", &mapped, T0), SB_AUTHN_LOCKED);
	assert_int_equal(stats(f, T0).sources_locked, 2);
	fx_free(f);
}

/* The tables hold max_tracked entries each; a new one evicts the least
 * recently touched, a locked peer that keeps knocking staying fresh. */
static void test_eviction(void **state)
{
	(void)state;
	struct fx *f = fx_new((struct fx_opts){ .max_tracked = 2, .max_failures = 2 });
	struct sb_addr a = addr("192.0.2.1", 5060);
	struct sb_addr b = addr("192.0.2.2", 5060);
	struct sb_addr c = addr("192.0.2.3", 5060);

	/* a locked, b one failure: newest first b, a */
	fail_as(f, "u1", &a, T0);
	fail_as(f, "u2", &a, T0);
	fail_as(f, "u3", &b, T0 + 1);
	/* a knocks: a, b; c's failure evicts the oldest, b, and a stays locked */
	assert_int_equal(check_reg(f, "", &a, T0 + 2), SB_AUTHN_LOCKED);
	fail_as(f, "u4", &c, T0 + 3);
	assert_int_equal(stats(f, T0 + 3).sources_locked, 1); /* looks without touching */
	/* b lost its count: one failure again is not two; it evicts a */
	fail_as(f, "u5", &b, T0 + 4);
	assert_int_equal(check_reg(f, "", &b, T0 + 4), SB_AUTHN_CHALLENGE);
	assert_int_equal(check_reg(f, "", &a, T0 + 4), SB_AUTHN_CHALLENGE);
	assert_int_equal(stats(f, T0 + 4).sources_locked, 0);
	/* while tracked, the count holds: b's second failure locks it */
	fail_as(f, "u6", &b, T0 + 5);
	assert_int_equal(check_reg(f, "", &b, T0 + 5), SB_AUTHN_LOCKED);
	assert_int_equal(stats(f, T0 + 5).sources_locked, 1);
	/* two lock lines so far (a, b), no user reached 2 failures */
	assert_int_equal(f->nlogs, 2);
	assert_non_null(strstr(f->logs[0], "authn: 192.0.2.1:5060 locked out"));
	assert_non_null(strstr(f->logs[1], "authn: 192.0.2.2:5060 locked out"));
	fx_free(f);
}

/* The user table is bounded the same way: u1 reached the limit and was
 * logged; evicted by u2 and u3, it counts from zero again. */
static void test_eviction_users(void **state)
{
	(void)state;
	struct fx *f = fx_new((struct fx_opts){ .max_tracked = 2, .max_failures = 2 });
	struct sb_addr s[6];
	for (unsigned i = 0; i < 6; i++) {
		char host[32];
		snprintf(host, sizeof host, "192.0.2.%u", 11 + i);
		s[i] = addr(host, 5060);
	}
	fail_as(f, "u1", &s[0], T0);
	fail_as(f, "u1", &s[1], T0);
	assert_int_equal(f->nlogs, 1);
	assert_string_equal(f->logs[0], "authn: user \"u1\" has 2 failures in 60 s "
					"(last from 192.0.2.12:5060)");
	fail_as(f, "u2", &s[2], T0);
	fail_as(f, "u3", &s[3], T0);
	fail_as(f, "u1", &s[4], T0);
	assert_int_equal(f->nlogs, 1);
	fail_as(f, "u1", &s[5], T0);
	assert_int_equal(f->nlogs, 2);
	assert_string_equal(f->logs[1], "authn: user \"u1\" has 2 failures in 60 s "
					"(last from 192.0.2.16:5060)");
	/* no peer failed twice: nothing is locked */
	assert_int_equal(stats(f, T0).sources_locked, 0);
	fx_free(f);
}

/* Long or hostile user names are quoted safely in log lines. */
static void test_log_names(void **state)
{
	(void)state;
	struct fx *f = fx_new((struct fx_opts){ .max_failures = 1 });
	struct sb_addr a = addr("192.0.2.1", 5060);
	char name[200];
	memset(name, 'x', sizeof name - 1);
	name[sizeof name - 1] = '\0';
	fail_as(f, name, &a, T0);
	assert_int_equal(f->nlogs, 2);
	char want[300];
	snprintf(want, sizeof want, "(last user \"%.64s...\")", name);
	assert_non_null(strstr(f->logs[0], want));

	/* a quoted-pair in the username: the name as unescaped ("a"b"),
	 * with the quote masked in the log */
	struct sb_addr b = addr("192.0.2.2", 5060);
	fail_as(f, "a\\\"b", &b, T0);
	assert_int_equal(f->nlogs, 4);
	assert_non_null(strstr(f->logs[2], "(last user \"a?b\")"));
	fx_free(f);
}

static void test_args(void **state)
{
	(void)state;
	struct sb_authn *a = NULL;
	struct sb_authn_cfg cfg = { 0 };
	assert_int_equal(sb_authn_alloc(&a, &cfg), EINVAL);
	assert_int_equal(sb_authn_alloc(NULL, &cfg), EINVAL);
	assert_int_equal(sb_authn_alloc(&a, NULL), EINVAL);
	assert_null(a);
	sb_authn_free(NULL);

	struct fx *f = fx_new((struct fx_opts){ 0 });
	struct sb_addr src = addr("192.0.2.10", 5060);
	struct sb_sip_msg *m = reg("");
	assert_int_equal(sb_authn_check(f->authn, NULL, &src, SB_AUTHN_WWW, T0, &f->res),
			 SB_AUTHN_ERROR);
	assert_int_equal(f->res.code, 500);
	assert_int_equal(sb_authn_check(f->authn, m, NULL, SB_AUTHN_WWW, T0, &f->res),
			 SB_AUTHN_ERROR);
	assert_int_equal(sb_authn_check(f->authn, m, &src, (enum sb_authn_kind)2, T0, &f->res),
			 SB_AUTHN_ERROR);
	assert_int_equal(sb_authn_check(f->authn, m, &src, SB_AUTHN_WWW, T0, NULL),
			 SB_AUTHN_ERROR);
	fx_free(f);
}

/* ------------------------------------------------------------------ owns */

static bool owns(const char *user, const char *uri)
{
	struct sb_uri u;
	assert_int_equal(sb_uri_parse(&u, exact(uri)), 0);
	return sb_authn_owns(exact(user), &u);
}

static void test_owns(void **state)
{
	(void)state;
	assert_true(owns("alice", "sip:alice@" REALM));
	assert_true(owns("alice", "sips:alice@" REALM ";transport=tcp"));
	assert_true(owns("alice", "sip:alice:secret@" REALM));
	assert_true(owns("alice", "sip:al%69ce@" REALM));      /* %69 is 'i' */
	assert_true(owns("alice", "sip:%61%6C%69%63%65@" REALM));
	assert_true(owns("a@b", "sip:a%40b@" REALM));
	assert_true(owns("+15551234", "sip:+15551234@" REALM ";user=phone"));
	/* RFC 3261 §19.1.4: the user part is case-sensitive */
	assert_false(owns("alice", "sip:Alice@" REALM));
	assert_false(owns("alice", "sip:alice2@" REALM));
	assert_false(owns("alice", "sip:alic@" REALM));
	assert_false(owns("alice", "sip:" REALM));                /* no user part */
	assert_false(owns("", "sip:alice@" REALM));
	assert_false(owns("+15551234", "tel:+15551234"));
	assert_false(owns("alice", "mailto:alice@" REALM));
	assert_false(sb_authn_owns(SB_LIT("alice"), NULL));

	/* a broken escape owns nothing */
	struct sb_uri u;
	memset(&u, 0, sizeof u);
	u.scheme = SB_URI_SIP;
	u.user = SB_LIT("al%6");
	assert_false(sb_authn_owns(SB_LIT("al%6"), &u));
	u.user = SB_LIT("al%zzce");
	assert_false(sb_authn_owns(SB_LIT("al%zzce"), &u));
	/* a user part longer than any credentials can carry */
	char big[SB_DIGEST_MAX_USER + 2];
	memset(big, 'a', sizeof big);
	u.user = sb_slice_from(big, sizeof big);
	assert_false(sb_authn_owns(sb_slice_from(big, sizeof big), &u));
	u.user = sb_slice_from(big, SB_DIGEST_MAX_USER);
	assert_true(sb_authn_owns(sb_slice_from(big, SB_DIGEST_MAX_USER), &u));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_no_credentials, free_all),
		cmocka_unit_test_teardown(test_good_credentials, free_all),
		cmocka_unit_test_teardown(test_wrong_password_unknown_user, free_all),
		cmocka_unit_test_teardown(test_replay, free_all),
		cmocka_unit_test_teardown(test_stale, free_all),
		cmocka_unit_test_teardown(test_uri_mismatch, free_all),
		cmocka_unit_test_teardown(test_other_realm, free_all),
		cmocka_unit_test_teardown(test_garbled, free_all),
		cmocka_unit_test_teardown(test_lockout, free_all),
		cmocka_unit_test_teardown(test_lockout_silent, free_all),
		cmocka_unit_test_teardown(test_lockout_reset, free_all),
		cmocka_unit_test_teardown(test_spoofed_source_not_counted, free_all),
		cmocka_unit_test_teardown(test_lockout_peers, free_all),
		cmocka_unit_test_teardown(test_eviction, free_all),
		cmocka_unit_test_teardown(test_eviction_users, free_all),
		cmocka_unit_test_teardown(test_log_names, free_all),
		cmocka_unit_test_teardown(test_args, free_all),
		cmocka_unit_test_teardown(test_owns, free_all),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
