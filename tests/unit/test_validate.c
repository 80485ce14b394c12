/* Unit tests for validation (sip/validate): the response a server owes each
 * kind of broken request, per role, and the responses a proxy drops.  The
 * RFC 4475 cases are in tests/conformance; these cover the bounds and the
 * rules the corpus does not reach. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "switchboard/sip.h"

static struct sb_sip_msg msg;
static struct sb_sip_verdict verdict;
static const char *const supported[] = { "path", "100rel", NULL };

#define HEAD_FIELDS                                                   \
	"Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKabc\r\n"            \
	"To: <sip:bob@example.com>\r\n"                               \
	"From: <sip:alice@example.com>;tag=1\r\n"                     \
	"Call-ID: v1@example.com\r\n"

/* Validate s in role; returns the code owed (0 when acceptable). */
static unsigned check(const char *s, enum sb_sip_role role)
{
	assert_int_equal(sb_sip_parse(&msg, s, strlen(s), SB_SIP_DATAGRAM), 0);
	struct sb_sip_validate_cfg cfg = { .role = role, .supported = supported };
	int err = sb_sip_validate(&msg, &cfg, &verdict);
	assert_int_equal(err == 0, verdict.code == 0);
	return verdict.code;
}

static void t_good(void **state)
{
	const char *s = "INVITE sip:bob@example.com SIP/2.0\r\n" HEAD_FIELDS
			"CSeq: 1 INVITE\r\nMax-Forwards: 70\r\nRequire: 100rel\r\n"
			"Proxy-Require: path\r\nl: 0\r\n\r\n";
	assert_int_equal(check(s, SB_ROLE_PROXY), 0);
	assert_int_equal(check(s, SB_ROLE_UAS), 0);
	/* a missing Max-Forwards is not an error (RFC 2543 peers) */
	s = "OPTIONS sip:bob@example.com SIP/2.0\r\n" HEAD_FIELDS "CSeq: 1 OPTIONS\r\nl: 0\r\n\r\n";
	assert_int_equal(check(s, SB_ROLE_PROXY), 0);
	/* tel URIs and sips are routable schemes */
	s = "INVITE tel:+15551234567 SIP/2.0\r\n" HEAD_FIELDS "CSeq: 1 INVITE\r\nl: 0\r\n\r\n";
	assert_int_equal(check(s, SB_ROLE_PROXY), 0);
	s = "INVITE sips:bob@example.com SIP/2.0\r\n" HEAD_FIELDS "CSeq: 1 INVITE\r\nl: 0\r\n\r\n";
	assert_int_equal(check(s, SB_ROLE_PROXY), 0);
}

static void t_max_forwards(void **state)
{
	const char *s = "INVITE sip:bob@example.com SIP/2.0\r\n" HEAD_FIELDS
			"CSeq: 1 INVITE\r\nMax-Forwards: 0\r\nl: 0\r\n\r\n";
	assert_int_equal(check(s, SB_ROLE_PROXY), 483);
	assert_string_equal(verdict.reason, "Too Many Hops");
	assert_int_equal(check(s, SB_ROLE_UAS), 0);
	s = "INVITE sip:bob@example.com SIP/2.0\r\n" HEAD_FIELDS
	    "CSeq: 1 INVITE\r\nMax-Forwards: 256\r\nl: 0\r\n\r\n";
	assert_int_equal(check(s, SB_ROLE_PROXY), 400);
	assert_string_equal(verdict.reason, "Bad Request - Malformed Max-Forwards");
}

static void t_require(void **state)
{
	const char *s = "INVITE sip:bob@example.com SIP/2.0\r\n" HEAD_FIELDS
			"CSeq: 1 INVITE\r\nProxy-Require: path, foo\r\nRequire: bar\r\nl: 0\r\n\r\n";
	assert_int_equal(check(s, SB_ROLE_PROXY), 420);
	assert_int_equal(verdict.nunsupported, 1);
	assert_int_equal(verdict.unsupported[0].l, 3);
	assert_memory_equal(verdict.unsupported[0].p, "foo", 3);
	assert_int_equal(check(s, SB_ROLE_UAS), 420);
	assert_memory_equal(verdict.unsupported[0].p, "bar", 3);
	/* never 420 to ACK or CANCEL (RFC 3261 §8.2.2.3) */
	s = "CANCEL sip:bob@example.com SIP/2.0\r\n" HEAD_FIELDS
	    "CSeq: 1 CANCEL\r\nRequire: bar\r\nl: 0\r\n\r\n";
	assert_int_equal(check(s, SB_ROLE_UAS), 0);
	/* option tags are tokens, case-insensitive (RFC 3261 §7.3.1); more
	 * unsupported tags than the bound are capped */
	s = "OPTIONS sip:bob@example.com SIP/2.0\r\n" HEAD_FIELDS
	    "CSeq: 1 OPTIONS\r\nRequire: PATH,a,b,c,d,e,f,g,h,i,j\r\nl: 0\r\n\r\n";
	assert_int_equal(check(s, SB_ROLE_UAS), 420);
	assert_int_equal(verdict.nunsupported, SB_SIP_MAX_UNSUPPORTED);
	assert_memory_equal(verdict.unsupported[0].p, "a", 1);
}

static void t_ack_never_answered(void **state)
{
	const char *s = "ACK sip:bob@example.com SIP/7.0\r\n" HEAD_FIELDS "CSeq: 1 ACK\r\nl: 0\r\n\r\n";
	assert_int_equal(check(s, SB_ROLE_PROXY), 505);
	assert_true(verdict.drop);
	s = "INVITE sip:bob@example.com SIP/7.0\r\n" HEAD_FIELDS "CSeq: 1 INVITE\r\nl: 0\r\n\r\n";
	assert_int_equal(check(s, SB_ROLE_PROXY), 505);
	assert_false(verdict.drop);
}

static void t_missing(void **state)
{
	static const struct { const char *drop; const char *reason; } cases[] = {
		{ "Via:", "Bad Request - Missing Via" },
		{ "To:", "Bad Request - Missing To" },
		{ "From:", "Bad Request - Missing From" },
		{ "Call-ID:", "Bad Request - Missing Call-ID" },
		{ "CSeq:", "Bad Request - Missing CSeq" },
	};
	const char *full = "OPTIONS sip:bob@example.com SIP/2.0\r\n" HEAD_FIELDS "CSeq: 1 OPTIONS\r\n";
	for (size_t i = 0; i < SB_ARRAY_LEN(cases); i++) {
		char buf[512] = "";
		/* copy the message without the line that starts with cases[i].drop */
		const char *p = full;
		while (*p) {
			const char *e = strstr(p, "\r\n") + 2;
			if (strncmp(p, cases[i].drop, strlen(cases[i].drop)) != 0)
				strncat(buf, p, (size_t)(e - p));
			p = e;
		}
		strcat(buf, "l: 0\r\n\r\n");
		assert_int_equal(check(buf, SB_ROLE_PROXY), 400);
		assert_string_equal(verdict.reason, cases[i].reason);
	}
}

static void t_bounds(void **state)
{
	/* Request-URI longer than SB_SIP_MAX_URI_LEN: 414 */
	size_t cap = SB_SIP_MAX_URI_LEN + 512;
	char *s = malloc(cap);
	assert_non_null(s);
	char *user = malloc(SB_SIP_MAX_URI_LEN + 1);
	assert_non_null(user);
	memset(user, 'u', SB_SIP_MAX_URI_LEN);
	user[SB_SIP_MAX_URI_LEN] = '\0';
	snprintf(s, cap, "OPTIONS sip:%s@example.com SIP/2.0\r\n" HEAD_FIELDS "CSeq: 1 OPTIONS\r\nl: 0\r\n\r\n",
		 user);
	assert_int_equal(check(s, SB_ROLE_PROXY), 414);
	free(user);
	free(s);

	/* more Via values than SB_SIP_MAX_VIA: 513 */
	cap = 256 + (SB_SIP_MAX_VIA + 1) * 48;
	s = malloc(cap);
	assert_non_null(s);
	size_t n = (size_t)snprintf(s, cap, "OPTIONS sip:bob@example.com SIP/2.0\r\nVia: ");
	for (unsigned i = 0; i <= SB_SIP_MAX_VIA; i++)
		n += (size_t)snprintf(s + n, cap - n, "%sSIP/2.0/UDP h%u;branch=z9hG4bK%u",
				      i ? ", " : "", i, i);
	snprintf(s + n, cap - n, "\r\nTo: <sip:b@e>\r\nFrom: <sip:a@e>;tag=1\r\nCall-ID: c\r\n"
				 "CSeq: 1 OPTIONS\r\nl: 0\r\n\r\n");
	assert_int_equal(check(s, SB_ROLE_PROXY), 513);
	assert_string_equal(verdict.reason, "Message Too Large - Too Many Via Values");
	free(s);
}

static void t_responses(void **state)
{
	const char *s = "SIP/2.0 200 OK\r\n" HEAD_FIELDS "CSeq: 1 INVITE\r\nl: 0\r\n\r\n";
	assert_int_equal(check(s, SB_ROLE_PROXY), 0);
	assert_false(verdict.drop);
	/* second Via multicast: a proxy would send it there, so it drops it */
	s = "SIP/2.0 200 OK\r\n" HEAD_FIELDS "Via: SIP/2.0/UDP 224.0.1.75;branch=z9hG4bKx\r\n"
	    "CSeq: 1 INVITE\r\nl: 0\r\n\r\n";
	assert_int_equal(check(s, SB_ROLE_PROXY), 400);
	assert_true(verdict.drop);
	assert_int_equal(check(s, SB_ROLE_UAS), 0);
	s = "SIP/2.0 200 OK\r\n" HEAD_FIELDS "Via: SIP/2.0/UDP 192.0.2.200;branch=z9hG4bKx\r\n"
	    "CSeq: 1 INVITE\r\nl: 0\r\n\r\n";
	assert_int_equal(check(s, SB_ROLE_PROXY), 0);
	/* a response without Call-ID is dropped, never answered */
	s = "SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nTo: <sip:b@e>\r\n"
	    "From: <sip:a@e>;tag=1\r\nCSeq: 1 INVITE\r\nl: 0\r\n\r\n";
	assert_int_equal(check(s, SB_ROLE_PROXY), 400);
	assert_true(verdict.drop);
}

static void t_contact_star(void **state)
{
	/* RFC 3261 §20.10 / §10.2.2: "*" alone, and only in REGISTER */
	const char *s = "REGISTER sip:example.com SIP/2.0\r\n" HEAD_FIELDS
			"CSeq: 1 REGISTER\r\nContact: *\r\nExpires: 0\r\nl: 0\r\n\r\n";
	assert_int_equal(check(s, SB_ROLE_REGISTRAR), 0);
	s = "REGISTER sip:example.com SIP/2.0\r\n" HEAD_FIELDS
	    "CSeq: 1 REGISTER\r\nContact: *, <sip:a@h>\r\nExpires: 0\r\nl: 0\r\n\r\n";
	assert_int_equal(check(s, SB_ROLE_REGISTRAR), 400);
	assert_string_equal(verdict.reason, "Bad Request - Contact * Not Alone");
	s = "INVITE sip:bob@example.com SIP/2.0\r\n" HEAD_FIELDS
	    "CSeq: 1 INVITE\r\nContact: *\r\nl: 0\r\n\r\n";
	assert_int_equal(check(s, SB_ROLE_PROXY), 400);
	assert_string_equal(verdict.reason, "Bad Request - Contact * Outside REGISTER");
}

static void t_broadcast_received(void **state)
{
	/* the second Via's received= is where §18.2.2 sends it: check that */
	const char *s = "SIP/2.0 200 OK\r\n" HEAD_FIELDS
			"Via: SIP/2.0/UDP host.example.com;branch=z9hG4bK2;received=255.255.255.255\r\n"
			"CSeq: 1 INVITE\r\nl: 0\r\n\r\n";
	assert_int_equal(check(s, SB_ROLE_PROXY), 400);
	assert_true(verdict.drop);
	s = "SIP/2.0 200 OK\r\n" HEAD_FIELDS
	    "Via: SIP/2.0/UDP 192.0.2.7;branch=z9hG4bK2;maddr=239.1.1.1\r\n"
	    "CSeq: 1 INVITE\r\nl: 0\r\n\r\n";
	assert_int_equal(check(s, SB_ROLE_PROXY), 400);
}

/* The topmost Via's host is want. */
static void check_top(const struct sb_via *top, const char *want)
{
	assert_int_equal(top->host.l, strlen(want));
	assert_memory_equal(top->host.p, want, top->host.l);
}

/* Validation parses every Via value, the topmost through the message's
 * cache and the second for the broadcast check, each once: the verdicts
 * and the cache come out as if each were parsed apart. */
static void t_via_values_once(void **state)
{
	/* the second Via value is in the same field as the first */
	const char *s = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKa, "
			"SIP/2.0/UDP 224.0.0.1;branch=z9hG4bKb\r\n"
			"To: <sip:b@e>\r\nFrom: <sip:a@e>;tag=1\r\nCall-ID: c\r\n"
			"CSeq: 1 INVITE\r\nl: 0\r\n\r\n";
	assert_int_equal(check(s, SB_ROLE_PROXY), 400);
	assert_string_equal(verdict.reason, "Response Via Is a Broadcast Address");
	/* three values: only the second is where it would go */
	s = "SIP/2.0 200 OK\r\n" HEAD_FIELDS "Via: SIP/2.0/UDP 192.0.2.2;branch=z9hG4bKb, "
	    "SIP/2.0/UDP 255.255.255.255;branch=z9hG4bKc\r\nCSeq: 1 INVITE\r\nl: 0\r\n\r\n";
	assert_int_equal(check(s, SB_ROLE_PROXY), 0);
	/* a good top Via is left cached; the next caller gets it */
	assert_true(msg.parsed & SB_SIP_CACHE_VIA);
	const struct sb_via *top;
	assert_int_equal(sb_sip_msg_via(&msg, &top), 0);
	check_top(top, "192.0.2.1");

	/* a malformed top Via: 400, and the cache is left untried, as it was */
	s = "OPTIONS sip:b@e SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;;\r\n"
	    "To: <sip:b@e>\r\nFrom: <sip:a@e>;tag=1\r\nCall-ID: c\r\n"
	    "CSeq: 1 OPTIONS\r\nl: 0\r\n\r\n";
	assert_int_equal(check(s, SB_ROLE_PROXY), 400);
	assert_string_equal(verdict.reason, "Bad Request - Malformed Via");
	assert_false(msg.parsed & SB_SIP_CACHE_VIA);
	assert_int_equal(sb_sip_msg_via(&msg, &top), EBADMSG);
	/* asked for first, it stays failed */
	assert_int_equal(check(s, SB_ROLE_UAS), 400);
	assert_int_equal(sb_sip_msg_via(&msg, &top), EBADMSG);
	assert_int_equal(sb_sip_validate(&msg, &(struct sb_sip_validate_cfg){ .role = SB_ROLE_UAS },
					 &verdict), EBADMSG);
	assert_true(msg.bad & SB_SIP_CACHE_VIA);
	/* a malformed later value: 400 too */
	s = "OPTIONS sip:b@e SIP/2.0\r\n" HEAD_FIELDS "Via: SIP/2.0/UDP 192.0.2.9;branch\r\n"
	    "CSeq: 1 OPTIONS\r\nl: 0\r\n\r\n";
	assert_int_equal(check(s, SB_ROLE_PROXY), 400);
	assert_string_equal(verdict.reason, "Bad Request - Malformed Via");
	/* the verdict is cleared whole between calls */
	s = "OPTIONS sip:b@e SIP/2.0\r\n" HEAD_FIELDS "CSeq: 1 OPTIONS\r\nl: 0\r\n\r\n";
	memset(&verdict, 0xa5, sizeof verdict);
	assert_int_equal(check(s, SB_ROLE_PROXY), 0);
	assert_null(verdict.reason);
	assert_false(verdict.drop);
	assert_int_equal(verdict.nunsupported, 0);
	for (unsigned k = 0; k < SB_SIP_MAX_UNSUPPORTED; k++)
		assert_null(verdict.unsupported[k].p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_good),
		cmocka_unit_test(t_max_forwards),
		cmocka_unit_test(t_require),
		cmocka_unit_test(t_ack_never_answered),
		cmocka_unit_test(t_missing),
		cmocka_unit_test(t_bounds),
		cmocka_unit_test(t_responses),
		cmocka_unit_test(t_contact_star),
		cmocka_unit_test(t_broadcast_received),
		cmocka_unit_test(t_via_values_once),
	};
	return cmocka_run_group_tests_name("validate", tests, NULL, NULL);
}
