/* Unit tests for sip/auth_hdr: the Digest challenge/credentials parser
 * (RFC 3261 §25.1, RFC 7616, RFC 8760), Authentication-Info, and the
 * challenge printer.  Uses the RFC 7616 §3.9.1 example headers and the
 * RFC 4475 §3.3.7 (regaut01) unknown-scheme credentials. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "switchboard/sip.h"

#include "testutil.h"

static struct sb_slice S(const char *s)
{
	return sb_slice_cstr(s);
}

/* Parses read an exact-size heap copy of text (testutil.h), held in the
 * test's cmocka state until the next parse or the end of the test. */
static int parse_exact_st(void **state, struct sb_auth *a, const char *text)
{
	return sb_auth_parse(a, exact_in(state, text));
}

static int info_exact_st(void **state, struct sb_auth_info *ai, const char *text)
{
	return sb_auth_info_parse(ai, exact_in(state, text));
}

#define parse_exact(a, text) parse_exact_st(state, (a), (text))
#define info_exact(ai, text) info_exact_st(state, (ai), (text))

/* RFC 7616 §3.9.1, first challenge, folded over lines as the RFC prints it. */
static void test_rfc7616_challenge_sha256(void **state)
{
	const char *v =
		"Digest\r\n"
		"       realm=\"http-auth@example.org\",\r\n"
		"       qop=\"auth, auth-int\",\r\n"
		"       algorithm=SHA-256,\r\n"
		"       nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\",\r\n"
		"       opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"";
	struct sb_auth a;
	assert_int_equal(sb_auth_parse(&a, S(v)), 0);
	assert_true(a.digest);
	check_slice(a.scheme, "Digest");
	check_slice(a.realm, "http-auth@example.org");
	check_slice(a.qop, "auth, auth-int");
	check_slice(a.algorithm, "SHA-256");
	check_slice(a.nonce, "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v");
	check_slice(a.opaque, "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS");
	check_absent(a.stale);
	check_absent(a.domain);
	check_absent(a.username);
	check_absent(a.response);
	check_absent(a.userhash);
	/* params: everything after the scheme and its LWS */
	assert_ptr_equal(a.params.p, strstr(v, "realm="));
	assert_int_equal(a.params.l, strlen(strstr(v, "realm=")));
}

/* RFC 7616 §3.9.1, second challenge (MD5), on one line. */
static void test_rfc7616_challenge_md5(void **state)
{
	struct sb_auth a;
	assert_int_equal(parse_exact(&a,
		"Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", "
		"algorithm=MD5, nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", "
		"opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\""), 0);
	assert_true(a.digest);
	check_slice(a.algorithm, "MD5");
	check_slice(a.qop, "auth, auth-int");
	check_slice(a.opaque, "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS");
}

/* RFC 7616 §3.9.1, the SHA-256 credentials. */
static void test_rfc7616_credentials_sha256(void **state)
{
	const char *v =
		"Digest username=\"Mufasa\",\r\n"
		"       realm=\"http-auth@example.org\",\r\n"
		"       uri=\"/dir/index.html\",\r\n"
		"       algorithm=SHA-256,\r\n"
		"       nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\",\r\n"
		"       nc=00000001,\r\n"
		"       cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\",\r\n"
		"       qop=auth,\r\n"
		"       response=\"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1\",\r\n"
		"       opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"";
	struct sb_auth a;
	assert_int_equal(parse_exact(&a, v), 0);
	assert_true(a.digest);
	check_slice(a.username, "Mufasa");
	check_slice(a.realm, "http-auth@example.org");
	check_slice(a.uri, "/dir/index.html");
	check_slice(a.algorithm, "SHA-256");
	check_slice(a.nonce, "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v");
	check_slice(a.nc, "00000001");
	check_slice(a.cnonce, "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ");
	check_slice(a.qop, "auth");
	check_slice(a.response,
		    "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
	check_slice(a.opaque, "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS");
	check_absent(a.stale);
	check_absent(a.userhash);
}

/* RFC 7616 §3.9.1, the MD5 credentials. */
static void test_rfc7616_credentials_md5(void **state)
{
	struct sb_auth a;
	assert_int_equal(parse_exact(&a,
		"Digest username=\"Mufasa\", realm=\"http-auth@example.org\", "
		"uri=\"/dir/index.html\", algorithm=MD5, "
		"nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", nc=00000001, "
		"cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\", qop=auth, "
		"response=\"8ca523f5e9506fed4657c9700eebdbec\", "
		"opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\""), 0);
	check_slice(a.algorithm, "MD5");
	check_slice(a.response, "8ca523f5e9506fed4657c9700eebdbec");
	check_slice(a.uri, "/dir/index.html");
}

/* A SIP Proxy-Authorization with a sip: URI and RFC 8760 userhash. */
static void test_sip_credentials_rfc8760(void **state)
{
	struct sb_auth a;
	assert_int_equal(parse_exact(&a,
		"Digest username=\"488869477bf257147b804c45308cd62ac4e25eb717b12b298c79e62dcea254ec\","
		"realm=\"biloxi.com\",uri=\"sip:bob@biloxi.com;transport=tcp\","
		"algorithm=SHA-512-256,nonce=\"5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK\","
		"nc=0000000a,cnonce=\"NTg6RKcb9boFIAS3KrFK9BGeh+iDa/sm6jUMp2wds69v\","
		"qop=auth,response=\"ae66e67d6b427bd3f120414a82e4acff38e8ecd9101d6c861229025f607a79dd\","
		"userhash=true"), 0);
	check_slice(a.username, "488869477bf257147b804c45308cd62ac4e25eb717b12b298c79e62dcea254ec");
	check_slice(a.uri, "sip:bob@biloxi.com;transport=tcp");
	check_slice(a.algorithm, "SHA-512-256");
	check_slice(a.nc, "0000000a");
	check_slice(a.userhash, "true");
}

/* Scheme and parameter names are case-insensitive (RFC 7616 §3.3); values
 * are returned as written. */
static void test_case_insensitive_names(void **state)
{
	struct sb_auth a;
	assert_int_equal(parse_exact(&a,
		"dIgEsT REALM=\"atlanta.com\", NoNcE=\"abc\", Stale=TRUE, ALGORITHM=md5, "
		"Domain=\"sip:ss1.carrier.com sip:ss2.carrier.com\""), 0);
	assert_true(a.digest);
	check_slice(a.scheme, "dIgEsT");
	check_slice(a.realm, "atlanta.com");
	check_slice(a.nonce, "abc");
	check_slice(a.stale, "TRUE");
	check_slice(a.algorithm, "md5");
	check_slice(a.domain, "sip:ss1.carrier.com sip:ss2.carrier.com");
}

/* LWS (spaces, tabs, folded CRLF) around '=' and ','. */
static void test_lws_around_separators(void **state)
{
	struct sb_auth a;
	assert_int_equal(parse_exact(&a,
		"Digest realm = \"a\" ,nonce= \"b\",\topaque =\t\"c\"  ,  qop\t=auth"), 0);
	check_slice(a.realm, "a");
	check_slice(a.nonce, "b");
	check_slice(a.opaque, "c");
	check_slice(a.qop, "auth");

	assert_int_equal(parse_exact(&a,
		"Digest\r\n realm\r\n\t=\r\n \"a\"\r\n ,\r\n nonce=\"b\""), 0);
	check_slice(a.realm, "a");
	check_slice(a.nonce, "b");

	/* a fold inside a quoted value stays part of it */
	assert_int_equal(parse_exact(&a, "Digest realm=\"a\r\n b\", nonce=\"n\""), 0);
	check_slice(a.realm, "a\r\n b");

	/* leading and trailing LWS of the header value */
	assert_int_equal(parse_exact(&a, "  Digest nonce=\"n\"  \r\n"), 0);
	check_slice(a.nonce, "n");
}

/* Quoted values come back without quotes and still escaped. */
static void test_quoted_escapes_and_empty(void **state)
{
	struct sb_auth a;
	assert_int_equal(parse_exact(&a,
		"Digest realm=\"a\\\"b\\\\c\", nonce=\"x,y=z\", opaque=\"\""), 0);
	check_slice(a.realm, "a\\\"b\\\\c");
	check_slice(a.nonce, "x,y=z");
	/* present but empty: p set, l == 0 */
	check_slice(a.opaque, "");
}

/* Unknown auth-params are skipped, even repeated; a known one twice is not. */
static void test_unknown_params_and_duplicates(void **state)
{
	struct sb_auth a;
	assert_int_equal(parse_exact(&a,
		"Digest charset=UTF-8, realm=\"r\", x-foo=\"1\", x-foo=2, nonce=\"n\""), 0);
	check_slice(a.realm, "r");
	check_slice(a.nonce, "n");

	assert_int_equal(parse_exact(&a, "Digest realm=\"a\", realm=\"b\""), EBADMSG);
	assert_int_equal(parse_exact(&a, "Digest nonce=\"a\", NONCE=\"a\""), EBADMSG);
	assert_int_equal(parse_exact(&a, "Digest response=\"a\", qop=auth, Response=b"), EBADMSG);
}

/* RFC 4475 §3.3.7 regaut01: "Authorization: NoOneKnowsThisScheme
 * opaque-data=here" must parse; the params are kept raw. */
static void test_regaut01_unknown_scheme(void **state)
{
	struct sb_auth a;
	assert_int_equal(parse_exact(&a, "NoOneKnowsThisScheme opaque-data=here"), 0);
	assert_false(a.digest);
	check_slice(a.scheme, "NoOneKnowsThisScheme");
	check_slice(a.params, "opaque-data=here");
	check_absent(a.opaque);
	check_absent(a.realm);
	check_absent(a.nonce);

	/* RFC 7235 token68 and a bare scheme are kept too */
	assert_int_equal(parse_exact(&a, "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="), 0);
	assert_false(a.digest);
	check_slice(a.scheme, "Basic");
	check_slice(a.params, "QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
	assert_int_equal(parse_exact(&a, "Negotiate"), 0);
	check_slice(a.scheme, "Negotiate");
	check_slice(a.params, "");

	/* "Digestx" is another scheme, not Digest */
	assert_int_equal(parse_exact(&a, "Digestx realm=\"r\""), 0);
	assert_false(a.digest);
	check_absent(a.realm);

	/* an unknown scheme still may not run a quote off the end */
	assert_int_equal(parse_exact(&a, "Foo x=\"y"), EBADMSG);
	assert_int_equal(parse_exact(&a, "Foo x=\"y\\"), EBADMSG);
	assert_int_equal(parse_exact(&a, "Foo x=y\r\nz=1"), EBADMSG);
}

static void test_rejects(void **state)
{
	static const char *const bad[] = {
		"",
		"   ",
		"\r\n ",
		"Digest",
		"Digest   ",
		"Digest realm",
		"Digest realm=",
		"Digest realm= ",
		"Digest =\"x\"",
		"Digest realm=\"x\" nonce=\"y\"",      /* no comma */
		"Digest realm=\"x\",",                 /* trailing comma */
		"Digest realm=\"x\", ",
		"Digest realm=\"x\",,nonce=\"y\"",     /* empty element */
		"Digest , realm=\"x\"",
		"Digest realm=\"unterminated",
		"Digest realm=\"a\\",                  /* escape at the end */
		"Digest realm=\"a\\\r\n b\"",          /* a line end cannot be escaped */
		"Digest realm=\"a\rb\"",               /* bare CR */
		"Digest realm=\"a\"\r\nnonce=\"b\"",   /* unfolded line end */
		"Digest realm=a/b",                    /* not a token */
		"Digest realm=\"a\"x, nonce=\"b\"",
		"Digest,realm=\"a\"",                  /* no LWS after the scheme */
		"Digest\"realm\"",
		"\"Digest\" realm=\"a\"",
		"=Digest",
		"Digest realm=\"a\x01\"",
		"Digest realm=\"a\x7f\"",
	};
	for (size_t i = 0; i < SB_ARRAY_LEN(bad); i++) {
		struct sb_auth a;
		int err = parse_exact(&a, bad[i]);
		if (err != EBADMSG)
			fail_msg("accepted or wrong error %d for [%s]", err, bad[i]);
	}
	/* a NUL byte inside a value */
	struct sb_auth a;
	static const char nul[] = "Digest realm=\"a\0b\"";
	assert_int_equal(sb_auth_parse(&a, sb_slice_from(nul, sizeof nul - 1)), EBADMSG);
	/* absent slice */
	assert_int_equal(sb_auth_parse(&a, SB_SLICE_NULL), EBADMSG);
}

static void test_auth_info(void **state)
{
	struct sb_auth_info ai;
	assert_int_equal(info_exact(&ai,
		"nextnonce=\"47364c23432d2e131a5fb210812c\", qop=auth, "
		"rspauth=\"6629fae49393a05397450978507c4ef1\", cnonce=\"0a4f113b\", nc=00000001"), 0);
	check_slice(ai.nextnonce, "47364c23432d2e131a5fb210812c");
	check_slice(ai.qop, "auth");
	check_slice(ai.rspauth, "6629fae49393a05397450978507c4ef1");
	check_slice(ai.cnonce, "0a4f113b");
	check_slice(ai.nc, "00000001");

	assert_int_equal(info_exact(&ai, "NextNonce = \"n\"\r\n , x=y"), 0);
	check_slice(ai.nextnonce, "n");
	check_absent(ai.qop);
	check_absent(ai.rspauth);

	assert_int_equal(info_exact(&ai, ""), EBADMSG);
	assert_int_equal(info_exact(&ai, "nextnonce=\"a\", nextnonce=\"b\""), EBADMSG);
	assert_int_equal(info_exact(&ai, "Digest nextnonce=\"a\""), EBADMSG);
	assert_int_equal(info_exact(&ai, "nextnonce=\"a"), EBADMSG);
	assert_int_equal(info_exact(&ai, "nextnonce=\"a\","), EBADMSG);
}

static void check_buf(const struct sb_buf *b, const char *want)
{
	check_slice(sb_buf_slice(b), want);
}

static void test_print_challenge(void **state)
{
	struct sb_buf b;
	sb_buf_init(&b, 0);
	struct sb_auth_challenge c = {
		.realm = SB_LIT("atlanta.com"),
		.nonce = SB_LIT("84a4cc6f3082121f32b42a2187831a9e"),
		.algorithm = SB_LIT("SHA-256"),
		.qop = SB_LIT("auth"),
		.stale = true,
	};
	assert_int_equal(sb_auth_print_challenge(&b, &c), 0);
	check_buf(&b, "Digest realm=\"atlanta.com\", nonce=\"84a4cc6f3082121f32b42a2187831a9e\", "
		      "algorithm=SHA-256, qop=\"auth\", stale=true");

	/* minimal, and opaque; appends after what is there */
	sb_buf_reset(&b);
	sb_buf_append_cstr(&b, "X: ");
	struct sb_auth_challenge m = {
		.realm = SB_LIT("r"), .nonce = SB_LIT("n"), .opaque = SB_LIT(""),
	};
	assert_int_equal(sb_auth_print_challenge(&b, &m), 0);
	check_buf(&b, "X: Digest realm=\"r\", nonce=\"n\", opaque=\"\"");

	/* '"' and '\' are escaped */
	sb_buf_reset(&b);
	struct sb_auth_challenge e = { .realm = SB_LIT("a\"b\\c"), .nonce = SB_LIT("\"") };
	assert_int_equal(sb_auth_print_challenge(&b, &e), 0);
	check_buf(&b, "Digest realm=\"a\\\"b\\\\c\", nonce=\"\\\"\"");
	sb_buf_free(&b);
}

/* What we print, we parse back to the same values. */
static void test_print_parse_roundtrip(void **state)
{
	struct sb_buf b;
	sb_buf_init(&b, 0);
	struct sb_auth_challenge c = {
		.realm = SB_LIT("biloxi.com"),
		.nonce = SB_LIT("5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK"),
		.opaque = SB_LIT("FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"),
		.algorithm = SB_LIT("MD5"),
		.qop = SB_LIT("auth,auth-int"),
	};
	assert_int_equal(sb_auth_print_challenge(&b, &c), 0);
	struct sb_auth a;
	assert_int_equal(sb_auth_parse(&a, sb_buf_slice(&b)), 0);
	assert_true(a.digest);
	check_slice(a.realm, "biloxi.com");
	check_slice(a.nonce, "5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK");
	check_slice(a.opaque, "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS");
	check_slice(a.algorithm, "MD5");
	check_slice(a.qop, "auth,auth-int");
	check_absent(a.stale);
	sb_buf_free(&b);
}

static void test_print_challenge_errors(void **state)
{
	struct sb_buf b;
	sb_buf_init(&b, 0);
	sb_buf_append_cstr(&b, "keep");
	struct sb_auth_challenge no_nonce = { .realm = SB_LIT("r") };
	assert_int_equal(sb_auth_print_challenge(&b, &no_nonce), EINVAL);
	struct sb_auth_challenge no_realm = { .nonce = SB_LIT("n") };
	assert_int_equal(sb_auth_print_challenge(&b, &no_realm), EINVAL);
	struct sb_auth_challenge inject = {
		.realm = SB_LIT("r\r\nVia: evil"), .nonce = SB_LIT("n"),
	};
	assert_int_equal(sb_auth_print_challenge(&b, &inject), EINVAL);
	struct sb_auth_challenge bad_alg = {
		.realm = SB_LIT("r"), .nonce = SB_LIT("n"), .algorithm = SB_LIT("SHA 256"),
	};
	assert_int_equal(sb_auth_print_challenge(&b, &bad_alg), EINVAL);
	struct sb_auth_challenge empty_alg = {
		.realm = SB_LIT("r"), .nonce = SB_LIT("n"), .algorithm = SB_LIT(""),
	};
	assert_int_equal(sb_auth_print_challenge(&b, &empty_alg), EINVAL);
	struct sb_auth_challenge empty_qop = {
		.realm = SB_LIT("r"), .nonce = SB_LIT("n"), .qop = SB_LIT(""),
	};
	assert_int_equal(sb_auth_print_challenge(&b, &empty_qop), EINVAL);
	check_buf(&b, "keep");
	assert_int_equal(b.err, 0);
	sb_buf_free(&b);

	/* too small: ENOSPC and the length is restored */
	char mem[24];
	sb_buf_init_fixed(&b, mem, sizeof mem);
	sb_buf_append_cstr(&b, "X: ");
	struct sb_auth_challenge c = { .realm = SB_LIT("atlanta.com"), .nonce = SB_LIT("n") };
	assert_int_equal(sb_auth_print_challenge(&b, &c), ENOSPC);
	assert_int_equal(b.len, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_rfc7616_challenge_sha256, release),
		cmocka_unit_test_teardown(test_rfc7616_challenge_md5, release),
		cmocka_unit_test_teardown(test_rfc7616_credentials_sha256, release),
		cmocka_unit_test_teardown(test_rfc7616_credentials_md5, release),
		cmocka_unit_test_teardown(test_sip_credentials_rfc8760, release),
		cmocka_unit_test_teardown(test_case_insensitive_names, release),
		cmocka_unit_test_teardown(test_lws_around_separators, release),
		cmocka_unit_test_teardown(test_quoted_escapes_and_empty, release),
		cmocka_unit_test_teardown(test_unknown_params_and_duplicates, release),
		cmocka_unit_test_teardown(test_regaut01_unknown_scheme, release),
		cmocka_unit_test_teardown(test_rejects, release),
		cmocka_unit_test_teardown(test_auth_info, release),
		cmocka_unit_test_teardown(test_print_challenge, release),
		cmocka_unit_test_teardown(test_print_parse_roundtrip, release),
		cmocka_unit_test_teardown(test_print_challenge_errors, release),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
