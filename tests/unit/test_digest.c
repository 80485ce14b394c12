/* Unit tests for auth (digest.c, verifier.c): HA1 and request-digest
 * against the published examples (RFC 7616 §3.9.1 MD5 and SHA-256,
 * RFC 2617 §3.5, and its RFC 2069 form), then the server context with a
 * manual clock: nonce round trip, expiry (STALE), forged or tampered nonces
 * (BAD), nonce-count replays (REPLAY), the bound on remembered nonces,
 * wrong password / uri / realm, unknown users, and REGISTER credentials the
 * test computes itself the way a phone does. */
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
#include "switchboard/hmac.h"
#include "switchboard/sip.h"

#include "testutil.h"

#define REALM "sip.example.com"
#define T0 1700000000u /* a wall-clock second; any value works */

static const uint8_t secret[32] = "0123456789abcdef0123456789abcdef";

static struct sb_slice S(const char *s)
{
	return sb_slice_cstr(s);
}

/* ------------------------------------------------- published examples */

/* RFC 7616 §3.9.1: GET /dir/index.html, Mufasa / "Circle of Life" (lower-
 * case "of", erratum 4495), realm http-auth@example.org, qop=auth. */
static void rfc7616_check(enum sb_digest_alg alg, const char *want_ha1, const char *want)
{
	char ha1[SB_DIGEST_HEX_CAP], resp[SB_DIGEST_HEX_CAP];
	assert_int_equal(sb_digest_ha1(alg, S("Mufasa"), S("http-auth@example.org"),
				       S("Circle of Life"), ha1, sizeof ha1), 0);
	assert_string_equal(ha1, want_ha1);
	struct sb_digest_input in = {
		.alg = alg,
		.ha1 = S(ha1),
		.nonce = S("7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"),
		.nc = S("00000001"),
		.cnonce = S("f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"),
		.qop = S("auth"),
		.method = S("GET"),
		.uri = S("/dir/index.html"),
	};
	assert_int_equal(sb_digest_response(&in, resp, sizeof resp), 0);
	assert_string_equal(resp, want);
}

static void test_rfc7616_md5(void **state)
{
	(void)state;
	rfc7616_check(SB_DIGEST_MD5, "3d78807defe7de2157e2b0b6573a855f",
		      "8ca523f5e9506fed4657c9700eebdbec");
}

static void test_rfc7616_sha256(void **state)
{
	(void)state;
	rfc7616_check(SB_DIGEST_SHA256,
		      "7987c64c30e25f1b74be53f966b49b90f2808aa92faf9a00262392d7b4794232",
		      "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
}

/* RFC 2617 §3.5: Mufasa / "Circle Of Life" (capital O), testrealm@host.com. */
static void test_rfc2617_md5(void **state)
{
	(void)state;
	char ha1[SB_DIGEST_HEX_CAP], resp[SB_DIGEST_HEX_CAP];
	assert_int_equal(sb_digest_ha1(SB_DIGEST_MD5, S("Mufasa"), S("testrealm@host.com"),
				       S("Circle Of Life"), ha1, sizeof ha1), 0);
	assert_string_equal(ha1, "939e7578ed9e3c518a452acee763bce9");
	struct sb_digest_input in = {
		.alg = SB_DIGEST_MD5, .ha1 = S(ha1),
		.nonce = S("dcd98b7102dd2f0e8b11d0f600bfb0c093"),
		.nc = S("00000001"), .cnonce = S("0a4f113b"), .qop = S("auth"),
		.method = S("GET"), .uri = S("/dir/index.html"),
	};
	assert_int_equal(sb_digest_response(&in, resp, sizeof resp), 0);
	assert_string_equal(resp, "6629fae49393a05397450978507c4ef1");

	/* the RFC 2069 form of the same request: KD(HA1, nonce:HA2) */
	in.qop = in.nc = in.cnonce = SB_SLICE_NULL;
	assert_int_equal(sb_digest_response(&in, resp, sizeof resp), 0);
	assert_string_equal(resp, "670fd8c2df070c60b045671b8b24ff02");

	/* an upper-case stored HA1 gives the same digest */
	in.ha1 = S("939E7578ED9E3C518A452ACEE763BCE9");
	assert_int_equal(sb_digest_response(&in, resp, sizeof resp), 0);
	assert_string_equal(resp, "670fd8c2df070c60b045671b8b24ff02");
}

static void test_compute_errors(void **state)
{
	(void)state;
	char out[SB_DIGEST_HEX_CAP];
	assert_int_equal(sb_digest_ha1(SB_DIGEST_SHA256, S("a"), S("r"), S("p"), out, 64), ENOSPC);
	assert_int_equal(sb_digest_ha1(SB_DIGEST_MD5, S("a"), S("r"), S("p"), out, 33), 0);
	assert_int_equal(strlen(out), 32);
	assert_int_equal(sb_digest_ha1((enum sb_digest_alg)7, S("a"), S("r"), S("p"), out, sizeof out),
			 EINVAL);
	struct sb_digest_input in = {
		.alg = SB_DIGEST_MD5, .ha1 = S("939e7578ed9e3c518a452acee763bce9"),
		.nonce = S("n"), .nc = S("00000001"), .cnonce = S("c"), .qop = S("auth-int"),
		.method = S("GET"), .uri = S("/"),
	};
	assert_int_equal(sb_digest_response(&in, out, sizeof out), EINVAL); /* auth-int */
	in.qop = S("auth");
	in.ha1 = S("939e7578ed9e3c518a452acee763bce"); /* 31 characters */
	assert_int_equal(sb_digest_response(&in, out, sizeof out), EINVAL);
	in.ha1 = S("939e7578ed9e3c518a452acee763bcgz"); /* not hex */
	assert_int_equal(sb_digest_response(&in, out, sizeof out), EINVAL);
	in.ha1 = S("939e7578ed9e3c518a452acee763bce9");
	in.alg = SB_DIGEST_SHA256; /* MD5-length HA1 for SHA-256 */
	assert_int_equal(sb_digest_response(&in, out, sizeof out), EINVAL);
}

static void test_alg_parse(void **state)
{
	(void)state;
	enum sb_digest_alg a = SB_DIGEST_SHA256;
	assert_int_equal(sb_digest_alg_parse(SB_SLICE_NULL, &a), 0);
	assert_int_equal(a, SB_DIGEST_MD5); /* RFC 7616 §3.3: absent is MD5 */
	assert_int_equal(sb_digest_alg_parse(S("sha-256"), &a), 0);
	assert_int_equal(a, SB_DIGEST_SHA256);
	assert_int_equal(sb_digest_alg_parse(S("MD5"), &a), 0);
	assert_int_equal(a, SB_DIGEST_MD5);
	assert_int_equal(sb_digest_alg_parse(S("MD5-sess"), &a), ENOTSUP);
	assert_int_equal(sb_digest_alg_parse(S("SHA-256-sess"), &a), ENOTSUP);
	assert_int_equal(sb_digest_alg_parse(S("SHA-512-256"), &a), ENOTSUP);
	assert_string_equal(sb_digest_alg_name(SB_DIGEST_SHA256), "SHA-256");
	assert_string_equal(sb_digest_alg_name(SB_DIGEST_MD5), "MD5");
}

/* ------------------------------------------------------ server context */

static struct sb_digest *ctx_cfg(struct sb_digest_cfg cfg)
{
	struct sb_digest *d = NULL;
	if (!cfg.realm.p)
		cfg.realm = S(REALM);
	assert_int_equal(sb_digest_alloc(&d, &cfg), 0);
	return d;
}

static struct sb_digest *ctx(void)
{
	return ctx_cfg((struct sb_digest_cfg){ .secret = secret, .secret_len = sizeof secret });
}

/* A fresh nonce from d's challenges, issued at t. */
static const char *nonce_at(struct sb_digest *d, uint64_t t)
{
	struct sb_digest_challenges ch;
	assert_int_equal(sb_digest_challenges(d, t, false, &ch), 0);
	char *n = keep(malloc(sizeof ch.nonce));
	memcpy(n, ch.nonce, sizeof ch.nonce);
	return n;
}

/* What a phone puts in its Authorization header. */
struct phone {
	const char *user;          /* as hashed */
	const char *user_hdr;      /* as printed (escaped); NULL: user */
	const char *password;
	const char *realm;         /* NULL: REALM */
	enum sb_digest_alg alg;
	bool no_alg_param;         /* leave algorithm= out (means MD5) */
	const char *method;
	const char *uri;
	const char *nonce;
	uint32_t nc;
	const char *cnonce;        /* NULL: "0a4f113b" */
	bool no_qop;               /* RFC 2069 form */
	const char *extra;         /* appended verbatim, e.g. ", userhash=true" */
};

/* Compute the response as the phone does, print the header value and parse
 * it back from an exact-size copy (kept until free_all). */
static struct sb_auth phone_auth(const struct phone *p)
{
	const char *realm = p->realm ? p->realm : REALM;
	const char *cnonce = p->cnonce ? p->cnonce : "0a4f113b";
	char ha1[SB_DIGEST_HEX_CAP], resp[SB_DIGEST_HEX_CAP], nc[16];
	snprintf(nc, sizeof nc, "%08x", (unsigned)p->nc);
	assert_int_equal(sb_digest_ha1(p->alg, S(p->user), S(realm), S(p->password), ha1,
				       sizeof ha1), 0);
	struct sb_digest_input in = {
		.alg = p->alg, .ha1 = S(ha1), .nonce = S(p->nonce),
		.nc = p->no_qop ? SB_SLICE_NULL : S(nc),
		.cnonce = p->no_qop ? SB_SLICE_NULL : S(cnonce),
		.qop = p->no_qop ? SB_SLICE_NULL : S("auth"),
		.method = S(p->method), .uri = S(p->uri),
	};
	assert_int_equal(sb_digest_response(&in, resp, sizeof resp), 0);

	char hdr[1024], qop[128] = "", alg[32] = "";
	if (!p->no_qop)
		snprintf(qop, sizeof qop, ", qop=auth, nc=%s, cnonce=\"%s\"", nc, cnonce);
	if (!p->no_alg_param)
		snprintf(alg, sizeof alg, ", algorithm=%s", sb_digest_alg_name(p->alg));
	snprintf(hdr, sizeof hdr,
		 "Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", uri=\"%s\", "
		 "response=\"%s\"%s%s, opaque=\"whatever\"%s",
		 p->user_hdr ? p->user_hdr : p->user, realm, p->nonce, p->uri, resp, alg, qop,
		 p->extra ? p->extra : "");
	struct sb_auth a;
	assert_int_equal(sb_auth_parse(&a, exact(hdr)), 0);
	return a;
}

/* The store's HA1 for (user, password) under REALM. */
static const char *store_ha1(enum sb_digest_alg alg, const char *user, const char *password)
{
	char *h = keep(malloc(SB_DIGEST_HEX_CAP));
	assert_int_equal(sb_digest_ha1(alg, S(user), S(REALM), S(password), h, SB_DIGEST_HEX_CAP), 0);
	return h;
}

/* Verify p's credentials against the store's HA1 of password at now;
 * returns the result, asserting the call itself succeeded. */
static struct sb_digest_result check(struct sb_digest *d, const struct phone *p,
				     const char *request_uri, const char *password, uint64_t now)
{
	struct sb_auth a = phone_auth(p);
	struct sb_digest_result r;
	assert_int_equal(sb_digest_verify(d, &a, S(p->method), S(request_uri),
					  store_ha1(p->alg, p->user, password), now, &r), 0);
	return r;
}

#define expect(r, st, w)                                                                  \
	do {                                                                              \
		struct sb_digest_result r_ = (r);                                         \
		if (r_.status != (st) || r_.why != (w))                                   \
			print_error("got %s/%s\n", sb_digest_status_str(r_.status),       \
				    sb_digest_why_str(r_.why));                           \
		assert_int_equal(r_.status, (st));                                        \
		assert_int_equal(r_.why, (w));                                            \
	} while (0)

#define REG_URI "sip:" REALM

static struct phone alice(const char *nonce, uint32_t nc)
{
	return (struct phone){
		.user = "alice", .password = "wonderland", .alg = SB_DIGEST_SHA256,
		.method = "REGISTER", .uri = REG_URI, .nonce = nonce, .nc = nc,
		.cnonce = "a1b2c3d4",
	};
}

/* The challenges a 401 carries: SHA-256 then MD5, one nonce, qop="auth",
 * our opaque, printed and parsed back as a phone reads them. */
static void test_challenges(void **state)
{
	(void)state;
	struct sb_digest *d = ctx();
	struct sb_digest_challenges ch;
	assert_int_equal(sb_digest_challenges(d, T0, false, &ch), 0);
	assert_int_equal(ch.n, 2);
	assert_int_equal(strlen(ch.nonce), SB_DIGEST_NONCE_LEN);
	const char *algs[] = { "SHA-256", "MD5" };
	for (size_t i = 0; i < 2; i++) {
		char mem[512];
		struct sb_buf b;
		sb_buf_init_fixed(&b, mem, sizeof mem);
		assert_int_equal(sb_auth_print_challenge(&b, &ch.c[i]), 0);
		struct sb_auth a;
		assert_int_equal(sb_auth_parse(&a, exact_n(b.p, b.len)), 0);
		assert_true(a.digest);
		check_slice(a.realm, REALM);
		check_slice(a.nonce, ch.nonce);
		check_slice(a.algorithm, algs[i]);
		check_slice(a.qop, "auth");
		assert_int_equal(a.opaque.l, SB_DIGEST_OPAQUE_LEN);
		check_absent(a.stale);
	}
	/* stale=true when asked for; a new nonce each time */
	struct sb_digest_challenges ch2;
	assert_int_equal(sb_digest_challenges(d, T0, true, &ch2), 0);
	assert_true(ch2.c[0].stale && ch2.c[1].stale);
	assert_string_not_equal(ch.nonce, ch2.nonce);
	char mem[512];
	struct sb_buf b;
	sb_buf_init_fixed(&b, mem, sizeof mem);
	assert_int_equal(sb_auth_print_challenge(&b, &ch2.c[1]), 0);
	assert_non_null(memmem(b.p, b.len, "stale=true", 10));
	sb_digest_free(d);

	/* only the algorithms configured are offered */
	d = ctx_cfg((struct sb_digest_cfg){ .algs = SB_DIGEST_ALG_BIT(SB_DIGEST_SHA256) });
	assert_int_equal(sb_digest_challenges(d, T0, false, &ch), 0);
	assert_int_equal(ch.n, 1);
	check_slice(ch.c[0].algorithm, "SHA-256");
	sb_digest_free(d);
}

static void test_alloc_errors(void **state)
{
	(void)state;
	struct sb_digest *d = NULL;
	struct sb_digest_cfg cfg = { 0 };
	assert_int_equal(sb_digest_alloc(&d, &cfg), EINVAL); /* no realm */
	cfg.realm = S("bad\r\nrealm");
	assert_int_equal(sb_digest_alloc(&d, &cfg), EINVAL);
	cfg.realm = S(REALM);
	cfg.secret = secret;
	cfg.secret_len = SB_DIGEST_MIN_SECRET - 1;
	assert_int_equal(sb_digest_alloc(&d, &cfg), EINVAL);
	cfg.secret_len = sizeof secret;
	cfg.nonce_lifetime_s = SB_DIGEST_MAX_LIFETIME_S + 1;
	assert_int_equal(sb_digest_alloc(&d, &cfg), EINVAL);
	cfg.nonce_lifetime_s = 0;
	cfg.algs = 1u << 5;
	assert_int_equal(sb_digest_alloc(&d, &cfg), EINVAL);
	assert_null(d);
	sb_digest_free(NULL);
}

/* SIP-style: REGISTER with credentials the test computes as a phone does,
 * SHA-256 and MD5, and the MD5 default when algorithm= is left out. */
static void test_register_ok(void **state)
{
	(void)state;
	struct sb_digest *d = ctx();
	struct phone p = alice(nonce_at(d, T0), 1);
	struct sb_digest_result r = check(d, &p, REG_URI, "wonderland", T0 + 2);
	expect(r, SB_DIGEST_OK, SB_DIGEST_WHY_NONE);
	assert_string_equal(r.user, "alice");
	assert_int_equal(r.user_len, 5);
	assert_int_equal(r.alg, SB_DIGEST_SHA256);
	assert_int_equal(r.nc, 1);

	p = alice(nonce_at(d, T0), 1);
	p.alg = SB_DIGEST_MD5;
	r = check(d, &p, REG_URI, "wonderland", T0 + 2);
	expect(r, SB_DIGEST_OK, SB_DIGEST_WHY_NONE);
	assert_int_equal(r.alg, SB_DIGEST_MD5);

	p = alice(nonce_at(d, T0), 1);
	p.alg = SB_DIGEST_MD5;
	p.no_alg_param = true;
	r = check(d, &p, REG_URI, "wonderland", T0 + 2);
	expect(r, SB_DIGEST_OK, SB_DIGEST_WHY_NONE);
	assert_int_equal(r.alg, SB_DIGEST_MD5);

	/* an INVITE whose Request-URI is printed differently (host case) but
	 * is the same URI (RFC 3261 §19.1.4) */
	p = alice(nonce_at(d, T0), 1);
	p.method = "INVITE";
	p.uri = "sip:bob@SIP.example.com";
	r = check(d, &p, "sip:bob@sip.example.com", "wonderland", T0 + 2);
	expect(r, SB_DIGEST_OK, SB_DIGEST_WHY_NONE);
	assert_int_equal(sb_digest_nonce_count(d), 4);
	sb_digest_free(d);
}

/* A literal REGISTER as a phone sends it, parsed by the message parser,
 * its Authorization computed by the test and verified. */
static void test_register_message(void **state)
{
	(void)state;
	struct sb_digest *d = ctx();
	const char *nonce = nonce_at(d, T0);
	char ha1[SB_DIGEST_HEX_CAP], resp[SB_DIGEST_HEX_CAP];
	assert_int_equal(sb_digest_ha1(SB_DIGEST_SHA256, S("bob"), S(REALM), S("s3cret!"), ha1,
				       sizeof ha1), 0);
	struct sb_digest_input in = {
		.alg = SB_DIGEST_SHA256, .ha1 = S(ha1), .nonce = S(nonce), .nc = S("00000001"),
		.cnonce = S("6b8b4567"), .qop = S("auth"), .method = S("REGISTER"),
		.uri = S("sip:sip.example.com"),
	};
	assert_int_equal(sb_digest_response(&in, resp, sizeof resp), 0);
	char msg[2048];
	snprintf(msg, sizeof msg,
		 "REGISTER sip:sip.example.com SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 192.0.2.4:5060;branch=z9hG4bKnashds7\r\n"
		 "Max-Forwards: 70\r\n"
		 "To: Bob <sip:bob@sip.example.com>\r\n"
		 "From: Bob <sip:bob@sip.example.com>;tag=456248\r\n"
		 "Call-ID: 843817637684230@998sdasdh09\r\n"
		 "CSeq: 1827 REGISTER\r\n"
		 "Contact: <sip:bob@192.0.2.4>\r\n"
		 "Authorization: Digest username=\"bob\", realm=\"" REALM "\",\r\n"
		 "  nonce=\"%s\", uri=\"sip:sip.example.com\",\r\n"
		 "  response=\"%s\", algorithm=SHA-256, cnonce=\"6b8b4567\", qop=auth,\r\n"
		 "  nc=00000001\r\n"
		 "Expires: 7200\r\n"
		 "Content-Length: 0\r\n\r\n",
		 nonce, resp);
	struct sb_slice m = exact(msg);
	struct sb_sip_msg *sm = keep(malloc(sizeof *sm));
	assert_int_equal(sb_sip_parse(sm, m.p, m.l, SB_SIP_DATAGRAM), 0);
	const struct sb_sip_hdr *h = sb_sip_hdr_first(sm, SB_HDR_AUTHORIZATION);
	assert_non_null(h);
	struct sb_auth a;
	assert_int_equal(sb_auth_parse(&a, h->value), 0);

	struct sb_digest_result r;
	assert_int_equal(sb_digest_inspect(d, &a, &r), 0);
	assert_string_equal(r.user, "bob");
	assert_int_equal(r.alg, SB_DIGEST_SHA256);
	assert_int_equal(sb_digest_verify(d, &a, sm->method, sm->ruri, ha1, T0 + 1, &r), 0);
	expect(r, SB_DIGEST_OK, SB_DIGEST_WHY_NONE);
	/* the same message again (a replay, not a retransmission: those are
	 * absorbed by the transaction layer before they get here) */
	assert_int_equal(sb_digest_verify(d, &a, sm->method, sm->ruri, ha1, T0 + 1, &r), 0);
	expect(r, SB_DIGEST_REPLAY, SB_DIGEST_WHY_NC);
	sb_digest_free(d);
}

static void test_nonce_expiry(void **state)
{
	(void)state;
	struct sb_digest *d = ctx_cfg((struct sb_digest_cfg){
		.secret = secret, .secret_len = sizeof secret, .nonce_lifetime_s = 300 });
	const char *n = nonce_at(d, T0);
	struct phone p = alice(n, 1);
	/* at the end of its lifetime it is still good */
	expect(check(d, &p, REG_URI, "wonderland", T0 + 300), SB_DIGEST_OK, SB_DIGEST_WHY_NONE);
	/* one second later a good digest is STALE (challenge with stale=true) */
	p.nc = 2;
	expect(check(d, &p, REG_URI, "wonderland", T0 + 301), SB_DIGEST_STALE,
	       SB_DIGEST_WHY_EXPIRED);
	/* and a wrong password with an expired nonce is BAD, not STALE: stale
	 * only when the digest was valid (RFC 7616 §3.3) */
	p.nc = 3;
	expect(check(d, &p, REG_URI, "other", T0 + 301), SB_DIGEST_BAD, SB_DIGEST_WHY_RESPONSE);
	/* a nonce from the future (clock reset) is stale, within skew fine */
	p = alice(nonce_at(d, T0 + 1000), 1);
	expect(check(d, &p, REG_URI, "wonderland", T0), SB_DIGEST_STALE, SB_DIGEST_WHY_EXPIRED);
	p = alice(nonce_at(d, T0 + SB_DIGEST_CLOCK_SKEW_S), 1);
	expect(check(d, &p, REG_URI, "wonderland", T0), SB_DIGEST_OK, SB_DIGEST_WHY_NONE);
	sb_digest_free(d);
}

/* Replace the character at i of a nonce with another base64url one. */
static const char *tamper(const char *nonce, size_t i)
{
	char *t = keep(strdup(nonce));
	t[i] = t[i] == 'A' ? 'B' : 'A';
	return t;
}

/* The phone computes a correct response over the tampered nonce, so only
 * the nonce's MAC can make it fail. */
static void test_forged_nonce(void **state)
{
	(void)state;
	struct sb_digest *d = ctx();
	const char *n = nonce_at(d, T0);
	struct phone p = alice(tamper(n, 5), 1); /* in the timestamp bytes */
	expect(check(d, &p, REG_URI, "wonderland", T0), SB_DIGEST_BAD, SB_DIGEST_WHY_NONCE);
	p = alice(tamper(n, 20), 1); /* in the random bytes */
	expect(check(d, &p, REG_URI, "wonderland", T0), SB_DIGEST_BAD, SB_DIGEST_WHY_NONCE);
	p = alice(tamper(n, SB_DIGEST_NONCE_LEN - 1), 1); /* in the MAC */
	expect(check(d, &p, REG_URI, "wonderland", T0), SB_DIGEST_BAD, SB_DIGEST_WHY_NONCE);
	p = alice("7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", 1); /* RFC's, not ours */
	expect(check(d, &p, REG_URI, "wonderland", T0), SB_DIGEST_BAD, SB_DIGEST_WHY_NONCE);
	char longer[SB_DIGEST_NONCE_LEN + 5];
	snprintf(longer, sizeof longer, "%sAAAA", n);
	p = alice(longer, 1);
	expect(check(d, &p, REG_URI, "wonderland", T0), SB_DIGEST_BAD, SB_DIGEST_WHY_NONCE);

	/* a nonce of another secret (another server, or before a restart with
	 * a random secret) is not ours */
	struct sb_digest *other = ctx_cfg((struct sb_digest_cfg){ 0 });
	p = alice(nonce_at(other, T0), 1);
	expect(check(d, &p, REG_URI, "wonderland", T0), SB_DIGEST_BAD, SB_DIGEST_WHY_NONCE);
	sb_digest_free(other);

	/* ...but with the same configured secret it is: nonces survive a restart */
	struct sb_digest *again = ctx();
	p = alice(nonce_at(again, T0), 1);
	expect(check(d, &p, REG_URI, "wonderland", T0), SB_DIGEST_OK, SB_DIGEST_WHY_NONE);
	sb_digest_free(again);

	/* untampered, the original verifies: the failures above were the tampering */
	p = alice(n, 1);
	expect(check(d, &p, REG_URI, "wonderland", T0), SB_DIGEST_OK, SB_DIGEST_WHY_NONE);
	sb_digest_free(d);
}

static void test_nc_replay(void **state)
{
	(void)state;
	struct sb_digest *d = ctx();
	struct phone p = alice(nonce_at(d, T0), 1);
	expect(check(d, &p, REG_URI, "wonderland", T0), SB_DIGEST_OK, SB_DIGEST_WHY_NONE);
	/* same nc twice */
	expect(check(d, &p, REG_URI, "wonderland", T0), SB_DIGEST_REPLAY, SB_DIGEST_WHY_NC);
	p.nc = 2;
	expect(check(d, &p, REG_URI, "wonderland", T0 + 1), SB_DIGEST_OK, SB_DIGEST_WHY_NONE);
	/* lower nc, equal nc */
	p.nc = 1;
	expect(check(d, &p, REG_URI, "wonderland", T0 + 1), SB_DIGEST_REPLAY, SB_DIGEST_WHY_NC);
	p.nc = 2;
	expect(check(d, &p, REG_URI, "wonderland", T0 + 1), SB_DIGEST_REPLAY, SB_DIGEST_WHY_NC);
	/* gaps are fine (requests may be lost), then lower again is not */
	p.nc = 7;
	struct sb_digest_result r = check(d, &p, REG_URI, "wonderland", T0 + 2);
	expect(r, SB_DIGEST_OK, SB_DIGEST_WHY_NONE);
	assert_int_equal(r.nc, 7);
	p.nc = 5;
	expect(check(d, &p, REG_URI, "wonderland", T0 + 2), SB_DIGEST_REPLAY, SB_DIGEST_WHY_NC);
	/* a replay with a wrong password is BAD, and leaves the count alone */
	p.nc = 8;
	expect(check(d, &p, REG_URI, "nope", T0 + 2), SB_DIGEST_BAD, SB_DIGEST_WHY_RESPONSE);
	expect(check(d, &p, REG_URI, "wonderland", T0 + 2), SB_DIGEST_OK, SB_DIGEST_WHY_NONE);
	/* nc=00000000 is not a count */
	p.nc = 0;
	expect(check(d, &p, REG_URI, "wonderland", T0 + 2), SB_DIGEST_BAD,
	       SB_DIGEST_WHY_MALFORMED);
	/* one nonce in the table for all of it */
	assert_int_equal(sb_digest_nonce_count(d), 1);
	sb_digest_free(d);
}

/* The table never holds more than max_nonces; a nonce it forgot is STALE
 * on its next use (never accepted again with an nc it might have seen),
 * while nonces issued after the forgetting are unaffected. */
static void test_nonce_bound(void **state)
{
	(void)state;
	enum { MAX = 4 };
	struct sb_digest *d = ctx_cfg((struct sb_digest_cfg){
		.secret = secret, .secret_len = sizeof secret, .max_nonces = MAX,
		.nonce_lifetime_s = 300 });
	const char *n[10];
	for (unsigned i = 0; i < 10; i++) {
		n[i] = nonce_at(d, T0 + i);
		struct phone p = alice(n[i], 1);
		expect(check(d, &p, REG_URI, "wonderland", T0 + i), SB_DIGEST_OK,
		       SB_DIGEST_WHY_NONE);
		assert_true(sb_digest_nonce_count(d) <= MAX);
	}
	assert_int_equal(sb_digest_nonce_count(d), MAX);
	/* n[0..5] were evicted (oldest first): a replay of their nc=1 must not
	 * pass, and neither does a higher nc: the count is unknown */
	struct phone p = alice(n[0], 1);
	expect(check(d, &p, REG_URI, "wonderland", T0 + 10), SB_DIGEST_STALE,
	       SB_DIGEST_WHY_FORGOTTEN);
	p = alice(n[5], 2);
	expect(check(d, &p, REG_URI, "wonderland", T0 + 10), SB_DIGEST_STALE,
	       SB_DIGEST_WHY_FORGOTTEN);
	/* the ones still held keep counting */
	p = alice(n[6], 1);
	expect(check(d, &p, REG_URI, "wonderland", T0 + 10), SB_DIGEST_REPLAY, SB_DIGEST_WHY_NC);
	p = alice(n[9], 2);
	expect(check(d, &p, REG_URI, "wonderland", T0 + 10), SB_DIGEST_OK, SB_DIGEST_WHY_NONE);
	/* a nonce issued after the last eviction, used for the first time */
	p = alice(nonce_at(d, T0 + 11), 1);
	expect(check(d, &p, REG_URI, "wonderland", T0 + 11), SB_DIGEST_OK, SB_DIGEST_WHY_NONE);
	assert_int_equal(sb_digest_nonce_count(d), MAX);

	/* expired entries go by themselves, a few per new entry */
	uint64_t later = T0 + 11 + 301;
	p = alice(nonce_at(d, later), 1);
	expect(check(d, &p, REG_URI, "wonderland", later), SB_DIGEST_OK, SB_DIGEST_WHY_NONE);
	assert_int_equal(sb_digest_nonce_count(d), 1);
	sb_digest_free(d);

	/* many nonces, no growth past the bound */
	d = ctx_cfg((struct sb_digest_cfg){ .max_nonces = 16 });
	for (unsigned i = 0; i < 1000; i++) {
		p = alice(nonce_at(d, T0 + i / 10), 1);
		expect(check(d, &p, REG_URI, "wonderland", T0 + i / 10), SB_DIGEST_OK,
		       SB_DIGEST_WHY_NONE);
		assert_true(sb_digest_nonce_count(d) <= 16);
		free_all(NULL);
	}
	assert_int_equal(sb_digest_nonce_count(d), 16);
	sb_digest_free(d);
}

/* Wrong password and unknown user: the same BAD, through the same path. */
static void test_wrong_password_and_unknown_user(void **state)
{
	(void)state;
	struct sb_digest *d = ctx();
	struct phone p = alice(nonce_at(d, T0), 1);
	struct sb_digest_result r = check(d, &p, REG_URI, "Wonderland", T0);
	expect(r, SB_DIGEST_BAD, SB_DIGEST_WHY_RESPONSE);
	assert_string_equal(r.user, "alice");
	/* the failure did not consume the nonce: the right password still works */
	expect(check(d, &p, REG_URI, "wonderland", T0), SB_DIGEST_OK, SB_DIGEST_WHY_NONE);

	/* unknown user "mallory": the caller verifies against the dummy HA1 */
	p = alice(nonce_at(d, T0), 1);
	p.user = "mallory";
	p.password = "guess";
	struct sb_auth a = phone_auth(&p);
	struct sb_digest_result r2;
	assert_int_equal(sb_digest_inspect(d, &a, &r2), 0);
	assert_string_equal(r2.user, "mallory");
	char dummy[SB_DIGEST_HEX_CAP];
	assert_int_equal(sb_digest_dummy_ha1(d, r2.alg, dummy, sizeof dummy), 0);
	assert_int_equal(strlen(dummy), SB_DIGEST_SHA256_HEX);
	assert_int_equal(sb_digest_verify(d, &a, S("REGISTER"), S(REG_URI), dummy, T0, &r2), 0);
	expect(r2, SB_DIGEST_BAD, SB_DIGEST_WHY_RESPONSE);
	assert_int_equal(sb_digest_dummy_ha1(d, SB_DIGEST_MD5, dummy, sizeof dummy), 0);
	assert_int_equal(strlen(dummy), SB_DIGEST_MD5_HEX);
	assert_int_equal(sb_digest_dummy_ha1(d, SB_DIGEST_MD5, dummy, 32), ENOSPC);
	/* HA1 of the wrong length for the algorithm is the caller's bug */
	assert_int_equal(sb_digest_verify(d, &a, S("REGISTER"), S(REG_URI), dummy, T0, &r2),
			 EINVAL);
	sb_digest_free(d);
}

static void test_wrong_uri(void **state)
{
	(void)state;
	struct sb_digest *d = ctx();
	struct phone p = alice(nonce_at(d, T0), 1);
	/* credentials computed for another Request-URI */
	expect(check(d, &p, "sip:other.example.com", "wonderland", T0), SB_DIGEST_BAD,
	       SB_DIGEST_WHY_URI);
	p.method = "INVITE";
	p.uri = "sip:bob@sip.example.com";
	expect(check(d, &p, "sip:carol@sip.example.com", "wonderland", T0), SB_DIGEST_BAD,
	       SB_DIGEST_WHY_URI);
	/* right uri, but hashed for another method */
	struct sb_auth a = phone_auth(&p);
	struct sb_digest_result r;
	assert_int_equal(sb_digest_verify(d, &a, S("BYE"), S(p.uri),
					  store_ha1(p.alg, "alice", "wonderland"), T0, &r), 0);
	expect(r, SB_DIGEST_BAD, SB_DIGEST_WHY_RESPONSE);
	sb_digest_free(d);
}

static void test_wrong_realm(void **state)
{
	(void)state;
	struct sb_digest *d = ctx();
	struct phone p = alice(nonce_at(d, T0), 1);
	p.realm = "elsewhere.example.org";
	struct sb_auth a = phone_auth(&p);
	struct sb_digest_result r;
	/* not ours: a proxy keeps it and looks for another (RFC 3261 §22.3) */
	assert_int_equal(sb_digest_inspect(d, &a, &r), ENOENT);
	assert_int_equal(r.why, SB_DIGEST_WHY_REALM);
	assert_int_equal(sb_digest_verify(d, &a, S("REGISTER"), S(REG_URI),
					  store_ha1(p.alg, "alice", "wonderland"), T0, &r), 0);
	expect(r, SB_DIGEST_BAD, SB_DIGEST_WHY_REALM);
	/* a realm differing only in case is another realm */
	p.realm = "SIP.example.com";
	a = phone_auth(&p);
	assert_int_equal(sb_digest_inspect(d, &a, &r), ENOENT);
	sb_digest_free(d);
}

/* What inspect and verify refuse before any hashing. */
static void test_refused_forms(void **state)
{
	(void)state;
	struct sb_digest *d = ctx();
	struct sb_digest_result r;
	struct sb_auth a;
	const char *n = nonce_at(d, T0);
	char hdr[512];
	static const struct {
		const char *params;
		int err;
		enum sb_digest_why why;
	} cases[] = {
		{ "algorithm=MD5-sess, qop=auth, nc=00000001, cnonce=\"x\"", EBADMSG,
		  SB_DIGEST_WHY_ALGORITHM },
		{ "algorithm=SHA-512-256, qop=auth, nc=00000001, cnonce=\"x\"", EBADMSG,
		  SB_DIGEST_WHY_ALGORITHM },
		{ "qop=auth-int, nc=00000001, cnonce=\"x\"", EBADMSG, SB_DIGEST_WHY_QOP },
		{ "algorithm=MD5", EBADMSG, SB_DIGEST_WHY_QOP }, /* RFC 2069 form, not allowed */
		{ "qop=auth, cnonce=\"x\"", EBADMSG, SB_DIGEST_WHY_MALFORMED },  /* no nc */
		{ "qop=auth, nc=00000001", EBADMSG, SB_DIGEST_WHY_MALFORMED },   /* no cnonce */
		{ "qop=auth, nc=1, cnonce=\"x\"", EBADMSG, SB_DIGEST_WHY_MALFORMED }, /* not 8LHEX */
		{ "qop=auth, nc=0000000g, cnonce=\"x\"", EBADMSG, SB_DIGEST_WHY_MALFORMED },
		{ "qop=auth, nc=00000001, cnonce=\"x\", userhash=true", EBADMSG,
		  SB_DIGEST_WHY_USERHASH },
	};
	for (size_t i = 0; i < SB_ARRAY_LEN(cases); i++) {
		snprintf(hdr, sizeof hdr,
			 "Digest username=\"alice\", realm=\"" REALM "\", nonce=\"%s\", "
			 "uri=\"" REG_URI "\", response=\"%s\", %s",
			 n, "0123456789abcdef0123456789abcdef", cases[i].params);
		assert_int_equal(sb_auth_parse(&a, exact(hdr)), 0);
		if (sb_digest_inspect(d, &a, &r) != cases[i].err || r.why != cases[i].why)
			print_error("case %zu: %s\n", i, cases[i].params);
		assert_int_equal(sb_digest_inspect(d, &a, &r), cases[i].err);
		assert_int_equal(r.why, cases[i].why);
		assert_int_equal(r.status, SB_DIGEST_BAD);
	}
	/* fields missing */
	assert_int_equal(sb_auth_parse(&a, exact("Digest realm=\"" REALM "\", nonce=\"x\"")), 0);
	assert_int_equal(sb_digest_inspect(d, &a, &r), EBADMSG); /* no username */
	assert_int_equal(sb_auth_parse(&a, exact("Digest username=\"alice\", realm=\"" REALM
						 "\", uri=\"" REG_URI "\", response=\"ab\", "
						 "qop=auth, nc=00000001, cnonce=\"x\"")), 0);
	assert_int_equal(sb_digest_inspect(d, &a, &r), EBADMSG); /* no nonce */
	assert_int_equal(r.why, SB_DIGEST_WHY_MALFORMED);
	/* not Digest */
	assert_int_equal(sb_auth_parse(&a, exact("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")), 0);
	assert_int_equal(sb_digest_inspect(d, &a, &r), ENOENT);
	assert_int_equal(r.why, SB_DIGEST_WHY_SCHEME);
	/* algorithm SHA-256 when only MD5 is enabled */
	struct sb_digest *md5only = ctx_cfg((struct sb_digest_cfg){
		.secret = secret, .secret_len = sizeof secret,
		.algs = SB_DIGEST_ALG_BIT(SB_DIGEST_MD5) });
	struct phone p = alice(n, 1);
	expect(check(md5only, &p, REG_URI, "wonderland", T0), SB_DIGEST_BAD,
	       SB_DIGEST_WHY_ALGORITHM);
	p.alg = SB_DIGEST_MD5;
	expect(check(md5only, &p, REG_URI, "wonderland", T0), SB_DIGEST_OK, SB_DIGEST_WHY_NONE);
	sb_digest_free(md5only);
	sb_digest_free(d);
}

/* Quoted-pairs in the username: the user hashed and returned is the
 * unescaped one. */
static void test_escaped_username(void **state)
{
	(void)state;
	struct sb_digest *d = ctx();
	struct phone p = alice(nonce_at(d, T0), 1);
	p.user = "al\"ice";
	p.user_hdr = "al\\\"ice";
	struct sb_digest_result r = check(d, &p, REG_URI, "wonderland", T0);
	expect(r, SB_DIGEST_OK, SB_DIGEST_WHY_NONE);
	assert_string_equal(r.user, "al\"ice");
	assert_int_equal(r.user_len, 6);
	sb_digest_free(d);
}

/* RFC 2069 credentials (no qop): refused by default; when allowed, each
 * nonce is good once, since there is no nc to count. */
static void test_rfc2069(void **state)
{
	(void)state;
	struct sb_digest *d = ctx();
	struct phone p = alice(nonce_at(d, T0), 0);
	p.no_qop = true;
	p.alg = SB_DIGEST_MD5;
	expect(check(d, &p, REG_URI, "wonderland", T0), SB_DIGEST_BAD, SB_DIGEST_WHY_QOP);
	sb_digest_free(d);

	d = ctx_cfg((struct sb_digest_cfg){ .secret = secret, .secret_len = sizeof secret,
					    .allow_rfc2069 = true });
	p.nonce = nonce_at(d, T0);
	struct sb_digest_result r = check(d, &p, REG_URI, "wonderland", T0);
	expect(r, SB_DIGEST_OK, SB_DIGEST_WHY_NONE);
	assert_int_equal(r.nc, 0);
	expect(check(d, &p, REG_URI, "wonderland", T0), SB_DIGEST_REPLAY, SB_DIGEST_WHY_NC);
	/* nor can the used nonce be reused with qop */
	p.no_qop = false;
	p.nc = 1;
	expect(check(d, &p, REG_URI, "wonderland", T0), SB_DIGEST_REPLAY, SB_DIGEST_WHY_NC);
	/* wrong password in the 2069 form is still BAD */
	p = alice(nonce_at(d, T0), 0);
	p.no_qop = true;
	expect(check(d, &p, REG_URI, "x", T0), SB_DIGEST_BAD, SB_DIGEST_WHY_RESPONSE);
	sb_digest_free(d);
}

/* Upper-case hex from the client or the store is the same digest. */
static void test_hex_case(void **state)
{
	(void)state;
	struct sb_digest *d = ctx();
	struct phone p = alice(nonce_at(d, T0), 1);
	struct sb_auth a = phone_auth(&p);
	char resp_up[SB_DIGEST_HEX_CAP], ha1_up[SB_DIGEST_HEX_CAP], hdr[1024];
	for (size_t i = 0; i < a.response.l; i++)
		resp_up[i] = (char)(a.response.p[i] >= 'a' ? a.response.p[i] - 32 : a.response.p[i]);
	resp_up[a.response.l] = '\0';
	snprintf(hdr, sizeof hdr,
		 "Digest username=\"alice\", realm=\"" REALM "\", nonce=\"%s\", uri=\"" REG_URI
		 "\", response=\"%s\", algorithm=SHA-256, qop=auth, nc=00000001, "
		 "cnonce=\"a1b2c3d4\"", p.nonce, resp_up);
	assert_int_equal(sb_auth_parse(&a, exact(hdr)), 0);
	const char *ha1 = store_ha1(SB_DIGEST_SHA256, "alice", "wonderland");
	for (size_t i = 0; i <= strlen(ha1); i++)
		ha1_up[i] = (char)(ha1[i] >= 'a' ? ha1[i] - 32 : ha1[i]);
	struct sb_digest_result r;
	assert_int_equal(sb_digest_verify(d, &a, S("REGISTER"), S(REG_URI), ha1_up, T0, &r), 0);
	expect(r, SB_DIGEST_OK, SB_DIGEST_WHY_NONE);
	sb_digest_free(d);
}

/* RFC 4231 §4.3 (test case 2): the keyed context gives the published MAC,
 * again on reuse (the key survives re-initialisation), with the data split
 * across parts, and a second context with another key differs. */
static void test_hmac_rfc4231(void **state)
{
	(void)state;
	static const uint8_t want[SB_HMAC_SHA256_LEN] = {
		0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24,
		0x26, 0x08, 0x95, 0x75, 0xc7, 0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27,
		0x39, 0x83, 0x9d, 0xec, 0x58, 0xb9, 0x64, 0xec, 0x38, 0x43,
	};
	struct sb_hmac *h = NULL, *other = NULL;
	assert_int_equal(sb_hmac_alloc(&h, (const uint8_t *)"Jefe", 4), 0);
	struct sb_slice whole = { "what do ya want for nothing?", 28 };
	struct sb_slice split[3] = { { "what do ya", 10 }, SB_SLICE_NULL,
				     { " want for nothing?", 18 } };
	uint8_t out[SB_HMAC_SHA256_LEN];
	for (int round = 0; round < 3; round++) {
		memset(out, 0, sizeof out);
		assert_int_equal(sb_hmac_sha256(h, &whole, 1, out), 0);
		assert_memory_equal(out, want, sizeof want);
	}
	memset(out, 0, sizeof out);
	assert_int_equal(sb_hmac_sha256(h, split, 3, out), 0);
	assert_memory_equal(out, want, sizeof want);
	assert_int_equal(sb_hmac_alloc(&other, (const uint8_t *)"Jeff", 4), 0);
	assert_int_equal(sb_hmac_sha256(other, &whole, 1, out), 0);
	assert_memory_not_equal(out, want, sizeof want);
	sb_hmac_free(other);
	sb_hmac_free(h);
	/* no key: refused, nothing returned */
	h = (struct sb_hmac *)&want;
	assert_int_equal(sb_hmac_alloc(&h, NULL, 0), EINVAL);
	assert_null(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hmac_rfc4231),
		cmocka_unit_test(test_rfc7616_md5),
		cmocka_unit_test(test_rfc7616_sha256),
		cmocka_unit_test(test_rfc2617_md5),
		cmocka_unit_test(test_compute_errors),
		cmocka_unit_test(test_alg_parse),
		cmocka_unit_test_teardown(test_challenges, free_all),
		cmocka_unit_test(test_alloc_errors),
		cmocka_unit_test_teardown(test_register_ok, free_all),
		cmocka_unit_test_teardown(test_register_message, free_all),
		cmocka_unit_test_teardown(test_nonce_expiry, free_all),
		cmocka_unit_test_teardown(test_forged_nonce, free_all),
		cmocka_unit_test_teardown(test_nc_replay, free_all),
		cmocka_unit_test_teardown(test_nonce_bound, free_all),
		cmocka_unit_test_teardown(test_wrong_password_and_unknown_user, free_all),
		cmocka_unit_test_teardown(test_wrong_uri, free_all),
		cmocka_unit_test_teardown(test_wrong_realm, free_all),
		cmocka_unit_test_teardown(test_refused_forms, free_all),
		cmocka_unit_test_teardown(test_escaped_username, free_all),
		cmocka_unit_test_teardown(test_rfc2069, free_all),
		cmocka_unit_test_teardown(test_hex_case, free_all),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
