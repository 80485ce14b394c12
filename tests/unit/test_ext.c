/* Unit tests for sip/ext_hdrs: Replaces (RFC 3891), Event and
 * Subscription-State (RFC 6665), Reason (RFC 3326), Retry-After and Warning
 * (RFC 3261, with the RFC 4475 §3.1.2.5 scalarlg values), and option-tag and
 * method lookup across header fields (sb_sip_has_token). */
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

/* Parsers read an exact-size heap copy (testutil.h); the copy lives in the
 * test's cmocka state until the next one. */
#define X(text) exact_in(state, (text))

/* ----------------------------------------------------------- Replaces */

static void test_replaces(void **state)
{
	struct sb_replaces r;
	/* RFC 3891 §6.1 example */
	assert_int_equal(sb_replaces_parse(&r,
		X("98732@sip.example.com;from-tag=r33th4x0r;to-tag=ff87ff")), 0);
	check_slice(r.call_id, "98732@sip.example.com");
	check_slice(r.from_tag, "r33th4x0r");
	check_slice(r.to_tag, "ff87ff");
	assert_false(r.early_only);

	/* RFC 3891 §6.1 second example, with early-only */
	assert_int_equal(sb_replaces_parse(&r,
		X("12345600@atlanta.example.com;from-tag=1234567;to-tag=12345;early-only")), 0);
	check_slice(r.call_id, "12345600@atlanta.example.com");
	check_slice(r.from_tag, "1234567");
	check_slice(r.to_tag, "12345");
	assert_true(r.early_only);

	/* LWS around ';' and '=', names case-insensitive, generic params */
	assert_int_equal(sb_replaces_parse(&r,
		X(" a{b}:c@[x] ;\r\n TO-TAG = t1 ; x-foo=\"bar\" ;From-Tag=\tf1;Early-Only ")), 0);
	check_slice(r.call_id, "a{b}:c@[x]");
	check_slice(r.to_tag, "t1");
	check_slice(r.from_tag, "f1");
	assert_true(r.early_only);

	/* a Call-ID without '@' */
	assert_int_equal(sb_replaces_parse(&r, X("abc;to-tag=1;from-tag=2")), 0);
	check_slice(r.call_id, "abc");
}

static void test_replaces_rejects(void **state)
{
	static const char *const bad[] = {
		"",
		"abc",                                  /* no tags */
		"abc;to-tag=1",                         /* RFC 3891 §6.1: both tags */
		"abc;from-tag=1",
		";to-tag=1;from-tag=2",                 /* no Call-ID */
		"a@@b;to-tag=1;from-tag=2",
		"a@;to-tag=1;from-tag=2",
		"a b;to-tag=1;from-tag=2",
		"abc;to-tag=1;to-tag=3;from-tag=2",     /* duplicate */
		"abc;to-tag=1;from-tag=2;from-tag=2",
		"abc;to-tag=1;from-tag=2;early-only=yes",
		"abc;to-tag=1;from-tag=2;early-only;early-only",
		"abc;to-tag=\"1\";from-tag=2",          /* token, not quoted-string */
		"abc;to-tag;from-tag=2",
		"abc;to-tag=;from-tag=2",
		"abc;to-tag=1;from-tag=2;",             /* trailing ';' */
		"abc;to-tag=1;;from-tag=2",
		"abc;to-tag=1;from-tag=2;x=\"open",
		"abc,def;to-tag=1;from-tag=2",
	};
	for (size_t i = 0; i < SB_ARRAY_LEN(bad); i++) {
		struct sb_replaces r;
		int err = sb_replaces_parse(&r, X(bad[i]));
		if (err != EBADMSG)
			fail_msg("got %d for [%s]", err, bad[i]);
	}
}

/* -------------------------------------------------------------- Event */

static void test_event(void **state)
{
	struct sb_event e;
	assert_int_equal(sb_event_parse(&e, X("presence")), 0);
	check_slice(e.type, "presence");
	assert_null(e.id.p);
	assert_null(e.params.p);

	/* RFC 6665 §8.2.1: event-package *( "." event-template ) */
	assert_int_equal(sb_event_parse(&e, X("presence.winfo")), 0);
	check_slice(e.type, "presence.winfo");
	assert_int_equal(sb_event_parse(&e, X("a.b.c")), 0);
	check_slice(e.type, "a.b.c");

	/* RFC 3515 §2.4.4 refer with an id */
	assert_int_equal(sb_event_parse(&e, X("refer;id=93809824")), 0);
	check_slice(e.type, "refer");
	check_slice(e.id, "93809824");
	check_slice(e.params, "id=93809824");

	assert_int_equal(sb_event_parse(&e, X("dialog ;\r\n foo=bar; ID = abc ;call-id=\"x;y\"")), 0);
	check_slice(e.type, "dialog");
	check_slice(e.id, "abc");
	check_slice(e.params, "foo=bar; ID = abc ;call-id=\"x;y\"");
}

static void test_event_rejects(void **state)
{
	static const char *const bad[] = {
		"", " ", ".presence", "presence.", "presence..winfo", "pres ence",
		"presence;id", "presence;id=", "presence;id=1;id=2", "presence;id=\"q\"",
		"presence;", "pres/ence", "presence;x=\"open", "presence,dialog",
	};
	for (size_t i = 0; i < SB_ARRAY_LEN(bad); i++) {
		struct sb_event e;
		int err = sb_event_parse(&e, X(bad[i]));
		if (err != EBADMSG)
			fail_msg("got %d for [%s]", err, bad[i]);
	}
}

/* ------------------------------------------------- Subscription-State */

static void test_substate(void **state)
{
	struct sb_substate s;
	assert_int_equal(sb_substate_parse(&s, X("active;expires=600")), 0);
	check_slice(s.state, "active");
	assert_true(s.has_expires);
	assert_int_equal(s.expires, 600);
	assert_false(s.has_retry_after);
	assert_null(s.reason.p);

	assert_int_equal(sb_substate_parse(&s, X("terminated;reason=timeout")), 0);
	check_slice(s.state, "terminated");
	check_slice(s.reason, "timeout");
	assert_false(s.has_expires);

	assert_int_equal(sb_substate_parse(&s,
		X("terminated ; Reason = probation ; retry-after=30 ; x=y")), 0);
	check_slice(s.reason, "probation");
	assert_true(s.has_retry_after);
	assert_int_equal(s.retry_after, 30);

	assert_int_equal(sb_substate_parse(&s, X("pending")), 0);
	check_slice(s.state, "pending");

	/* extension-substate is a token */
	assert_int_equal(sb_substate_parse(&s, X("waiting;flag")), 0);
	check_slice(s.state, "waiting");

	/* the largest delta-seconds that fits */
	assert_int_equal(sb_substate_parse(&s, X("active;expires=4294967295")), 0);
	assert_int_equal(s.expires, UINT32_MAX);
	assert_int_equal(sb_substate_parse(&s, X("active;expires=0000")), 0);
	assert_int_equal(s.expires, 0);
}

static void test_substate_rejects(void **state)
{
	static const char *const bad[] = {
		"", ";expires=1", "active;expires=4294967296",
		"active;expires=949302838503028349304023988",
		"active;retry-after=99999999999", "active;expires=", "active;expires",
		"active;expires=abc", "active;expires=-1", "active;expires=1;expires=1",
		"active;expires=\"60\"", "terminated;reason=a;reason=b",
		"terminated;reason=\"timeout\"", "active expires=1", "active;",
	};
	for (size_t i = 0; i < SB_ARRAY_LEN(bad); i++) {
		struct sb_substate s;
		int err = sb_substate_parse(&s, X(bad[i]));
		if (err != EBADMSG)
			fail_msg("got %d for [%s]", err, bad[i]);
	}
}

/* ------------------------------------------------------------- Reason */

static void test_reason(void **state)
{
	struct sb_reason r;
	/* RFC 3326 §2 examples */
	assert_int_equal(sb_reason_parse(&r,
		X("SIP ;cause=200 ;text=\"Call completed elsewhere\"")), 0);
	check_slice(r.protocol, "SIP");
	assert_true(r.has_cause);
	assert_int_equal(r.cause, 200);
	check_slice(r.text, "Call completed elsewhere");

	assert_int_equal(sb_reason_parse(&r, X("Q.850 ;cause=16 ;text=\"Terminated\"")), 0);
	check_slice(r.protocol, "Q.850");
	assert_int_equal(r.cause, 16);
	check_slice(r.text, "Terminated");

	assert_int_equal(sb_reason_parse(&r, X("SIP")), 0);
	check_slice(r.protocol, "SIP");
	assert_false(r.has_cause);
	assert_null(r.text.p);

	/* text kept escaped; extension params skipped; names case-insensitive */
	assert_int_equal(sb_reason_parse(&r,
		X("Q.850;CAUSE=17;Text=\"say \\\"busy\\\"\";x-ext=1")), 0);
	assert_int_equal(r.cause, 17);
	check_slice(r.text, "say \\\"busy\\\"");

	/* a token text is taken as is */
	assert_int_equal(sb_reason_parse(&r, X("Q.850;cause=17;text=Busy")), 0);
	check_slice(r.text, "Busy");
}

static void test_reason_rejects(void **state)
{
	static const char *const bad[] = {
		"", ";cause=1", "SIP;cause=abc", "SIP;cause=", "SIP;cause",
		"SIP;cause=99999999999", "SIP;cause=\"16\"", "SIP;cause=1;cause=2",
		"SIP;text=\"a\";text=\"b\"", "SIP;text=\"open",
		"SIP;cause=1, Q.850;cause=2", /* one reason-value at a time */
		"S I P", "SIP;text",
	};
	for (size_t i = 0; i < SB_ARRAY_LEN(bad); i++) {
		struct sb_reason r;
		int err = sb_reason_parse(&r, X(bad[i]));
		if (err != EBADMSG)
			fail_msg("got %d for [%s]", err, bad[i]);
	}
}

/* -------------------------------------------------------- Retry-After */

static void test_retry_after(void **state)
{
	struct sb_retry_after r;
	/* RFC 3261 §20.33 examples */
	assert_int_equal(sb_retry_after_parse(&r, X("18000;duration=3600")), 0);
	assert_int_equal(r.delta, 18000);
	assert_true(r.has_duration);
	assert_int_equal(r.duration, 3600);
	assert_null(r.comment.p);

	assert_int_equal(sb_retry_after_parse(&r, X("120 (I'm in a meeting)")), 0);
	assert_int_equal(r.delta, 120);
	assert_false(r.has_duration);
	check_slice(r.comment, "I'm in a meeting");

	/* nested comment, quoted-pair, then params */
	assert_int_equal(sb_retry_after_parse(&r,
		X("5(  out (to \\) lunch) ) ; Duration = 60 ; foo=\"bar\"")), 0);
	assert_int_equal(r.delta, 5);
	check_slice(r.comment, "out (to \\) lunch)");
	assert_int_equal(r.duration, 60);

	assert_int_equal(sb_retry_after_parse(&r, X("0")), 0);
	assert_int_equal(r.delta, 0);
	assert_int_equal(sb_retry_after_parse(&r, X("4294967295")), 0);
	assert_int_equal(r.delta, UINT32_MAX);
}

static void test_retry_after_rejects(void **state)
{
	static const char *const bad[] = {
		/* RFC 4475 §3.1.2.5 scalarlg */
		"949302838503028349304023988",
		"4294967296", "", "abc", "-1", "12a", "120 (unterminated",
		"120 (a (b)", "120;duration=", "120;duration", "120;duration=99999999999",
		"120;duration=1;duration=2", "120;duration=\"5\"", "120 (x) (y)",
		"120 junk", "120;", "120 (bad \x01 byte)",
	};
	for (size_t i = 0; i < SB_ARRAY_LEN(bad); i++) {
		struct sb_retry_after r;
		int err = sb_retry_after_parse(&r, X(bad[i]));
		if (err != EBADMSG)
			fail_msg("got %d for [%s]", err, bad[i]);
	}
}

/* ------------------------------------------------------------ Warning */

static void test_warning(void **state)
{
	struct sb_warning w;
	/* RFC 3261 §20.43 examples */
	assert_int_equal(sb_warning_parse(&w,
		X("307 isi.edu \"Session parameter 'foo' not understood\"")), 0);
	assert_int_equal(w.code, 307);
	check_slice(w.agent, "isi.edu");
	check_slice(w.text, "Session parameter 'foo' not understood");

	assert_int_equal(sb_warning_parse(&w,
		X("301 isi.edu \"Incompatible network address type 'E.164'\"")), 0);
	assert_int_equal(w.code, 301);
	check_slice(w.text, "Incompatible network address type 'E.164'");

	assert_int_equal(sb_warning_parse(&w, X("370 192.0.2.1:5060 \"Insufficient bandwidth\"")), 0);
	assert_int_equal(w.code, 370);
	check_slice(w.agent, "192.0.2.1:5060");

	assert_int_equal(sb_warning_parse(&w, X("399 [2001:db8::1]:5061 \"Misc\"")), 0);
	check_slice(w.agent, "[2001:db8::1]:5061");
	assert_int_equal(sb_warning_parse(&w, X("399 [2001:db8::1] \"\"")), 0);
	check_slice(w.agent, "[2001:db8::1]");
	check_slice(w.text, "");

	/* pseudonym, folded LWS, escaped text */
	assert_int_equal(sb_warning_parse(&w, X("399\r\n devnull\t\"say \\\"hi\\\"\"")), 0);
	check_slice(w.agent, "devnull");
	check_slice(w.text, "say \\\"hi\\\"");
}

static void test_warning_rejects(void **state)
{
	static const char *const bad[] = {
		/* RFC 4475 §3.1.2.5 scalarlg: a 4-digit warn-code */
		"1812 overture \"In Progress\"",
		"30 isi.edu \"x\"", "", "307", "307 isi.edu", "307 isi.edu text",
		"307 \"x\"", "307isi.edu \"x\"", "307 isi.edu\"x\"",
		"307 isi.edu \"x\" extra", "307 host:99999 \"x\"", "307 host: \"x\"",
		"307 isi.edu \"unterminated", "3a7 isi.edu \"x\"", "307 [::1 \"x\"",
		"307 [] \"x\"", "307 isi.edu \"a\", 308 isi.edu \"b\"",
	};
	for (size_t i = 0; i < SB_ARRAY_LEN(bad); i++) {
		struct sb_warning w;
		int err = sb_warning_parse(&w, X(bad[i]));
		if (err != EBADMSG)
			fail_msg("got %d for [%s]", err, bad[i]);
	}
}

/* ----------------------------------------------------- sb_sip_has_token */

static void test_has_token(void **state)
{
	static const char msg[] =
		"INVITE sip:bob@biloxi.com SIP/2.0\r\n"
		"Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds\r\n"
		"Max-Forwards: 70\r\n"
		"To: Bob <sip:bob@biloxi.com>\r\n"
		"From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n"
		"Call-ID: a84b4c76e66710@pc33.atlanta.com\r\n"
		"CSeq: 314159 INVITE\r\n"
		"Supported: timer ,100rel\r\n"
		"Require: replaces\r\n"
		"Allow: INVITE, ACK\r\n"
		"k: path,\r\n gruu\r\n"
		"Allow: BYE\r\n"
		"Content-Length: 0\r\n"
		"\r\n";
	struct sb_sip_msg *m = malloc(sizeof *m);
	assert_non_null(m);
	struct sb_slice raw = X(msg);
	assert_int_equal(sb_sip_parse(m, raw.p, raw.l, SB_SIP_DATAGRAM), 0);

	/* every value of every field, compact form included */
	assert_true(sb_sip_has_token(m, SB_HDR_SUPPORTED, SB_LIT("timer")));
	assert_true(sb_sip_has_token(m, SB_HDR_SUPPORTED, SB_LIT("100rel")));
	assert_true(sb_sip_has_token(m, SB_HDR_SUPPORTED, SB_LIT("path")));
	assert_true(sb_sip_has_token(m, SB_HDR_SUPPORTED, SB_LIT("gruu")));
	assert_false(sb_sip_has_token(m, SB_HDR_SUPPORTED, SB_LIT("replaces")));
	assert_false(sb_sip_has_token(m, SB_HDR_SUPPORTED, SB_LIT("time")));
	assert_false(sb_sip_has_token(m, SB_HDR_SUPPORTED, SB_LIT("")));
	assert_true(sb_sip_has_token(m, SB_HDR_REQUIRE, SB_LIT("replaces")));
	assert_false(sb_sip_has_token(m, SB_HDR_REQUIRE, SB_LIT("100rel")));
	/* RFC 3261 §7.3.1: tokens, option tags among them, compare without case */
	assert_true(sb_sip_has_token(m, SB_HDR_SUPPORTED, SB_LIT("100REL")));
	assert_true(sb_sip_has_token(m, SB_HDR_REQUIRE, SB_LIT("Replaces")));
	/* RFC 3261 §7.1: methods are case-sensitive */
	assert_true(sb_sip_has_token(m, SB_HDR_ALLOW, SB_LIT("INVITE")));
	assert_true(sb_sip_has_token(m, SB_HDR_ALLOW, SB_LIT("ACK")));
	assert_true(sb_sip_has_token(m, SB_HDR_ALLOW, SB_LIT("BYE")));
	assert_false(sb_sip_has_token(m, SB_HDR_ALLOW, SB_LIT("invite")));
	assert_false(sb_sip_has_token(m, SB_HDR_ALLOW, SB_LIT("CANCEL")));
	/* absent headers and bad ids */
	assert_false(sb_sip_has_token(m, SB_HDR_PROXY_REQUIRE, SB_LIT("timer")));
	assert_false(sb_sip_has_token(m, SB_HDR_UNSUPPORTED, SB_LIT("timer")));
	assert_false(sb_sip_has_token(m, SB_HDR_OTHER, SB_LIT("timer")));
	assert_false(sb_sip_has_token(m, SB_HDR__COUNT, SB_LIT("timer")));
	free(m);
}

/* Content-Type (RFC 3261 §20.15), values from the RFC 4475 corpus. */
static void test_media_type(void **state)
{
	struct sb_media_type mt;
	assert_int_equal(sb_media_type_parse(&mt, SB_LIT("application/sdp")), 0);
	assert_true(sb_media_type_is(&mt, "application", "sdp"));
	assert_null(mt.params.p);
	assert_int_equal(sb_media_type_parse(&mt, SB_LIT("multipart/mixed;boundary=7a9cbec02ceef655")), 0);
	assert_true(sb_media_type_is(&mt, "Multipart", "MIXED"));
	assert_int_equal(mt.params.l, strlen("boundary=7a9cbec02ceef655"));
	assert_int_equal(sb_media_type_parse(&mt, SB_LIT("text/plain ; charset = \"utf-8\"")), 0);
	assert_int_equal(mt.subtype.l, 5);
	assert_int_equal(sb_media_type_parse(&mt, SB_LIT("application/unknownformat")), 0);
	assert_false(sb_media_type_is(&mt, "application", "sdp"));
	static const char *const bad[] = { "", "application", "application/", "/sdp",
					   "application/sdp;", "application/sdp;x",
					   "application/sdp x", "app lication/sdp",
					   "text/plain;charset=\"utf-8" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (sb_media_type_parse(&mt, sb_slice_cstr(bad[i])) != EBADMSG)
			fail_msg("accepted \"%s\"", bad[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_replaces, release),
		cmocka_unit_test_teardown(test_replaces_rejects, release),
		cmocka_unit_test_teardown(test_event, release),
		cmocka_unit_test_teardown(test_event_rejects, release),
		cmocka_unit_test_teardown(test_substate, release),
		cmocka_unit_test_teardown(test_substate_rejects, release),
		cmocka_unit_test_teardown(test_reason, release),
		cmocka_unit_test_teardown(test_reason_rejects, release),
		cmocka_unit_test_teardown(test_retry_after, release),
		cmocka_unit_test_teardown(test_retry_after_rejects, release),
		cmocka_unit_test_teardown(test_warning, release),
		cmocka_unit_test_teardown(test_warning_rejects, release),
		cmocka_unit_test_teardown(test_has_token, release),
		cmocka_unit_test(test_media_type),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
