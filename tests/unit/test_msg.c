/* Unit tests for the message parser (sip/msg, sip/hdr_names, sip/method):
 * start lines, header fields, folding, lists, framing of the body in a
 * datagram, the defects recorded, the bounds, and the lazy typed access. */
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

#include "testutil.h"

static struct sb_sip_msg msg; /* big: keep it off the test's stack */

static int parse(const char *s)
{
	return sb_sip_parse(&msg, s, strlen(s), SB_SIP_DATAGRAM);
}

#define INVITE_HEAD                                                      \
	"INVITE sip:bob@example.com SIP/2.0\r\n"                         \
	"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds;rport\r\n" \
	"Max-Forwards: 70\r\n"                                           \
	"To: Bob <sip:bob@example.com>\r\n"                              \
	"From: Alice <sip:alice@example.com>;tag=1928301774\r\n"         \
	"Call-ID: a84b4c76e66710@pc33.example.com\r\n"                   \
	"CSeq: 314159 INVITE\r\n"                                        \
	"Contact: <sip:alice@192.0.2.1>\r\n"

static void t_request(void **state)
{
	const char *s = INVITE_HEAD "Content-Type: application/sdp\r\n"
				    "Content-Length: 4\r\n\r\nv=0\n";
	assert_int_equal(parse(s), 0);
	assert_true(msg.is_request);
	assert_int_equal(msg.mid, SB_METHOD_INVITE);
	check_slice(msg.method, "INVITE");
	check_slice(msg.ruri, "sip:bob@example.com");
	check_slice(msg.version, "SIP/2.0");
	assert_int_equal(msg.defect, SB_DEFECT_NONE);
	assert_int_equal(msg.nhdrs, 9);
	assert_int_equal(msg.nvia, 1);
	check_slice(msg.body, "v=0\n");
	assert_int_equal(msg.raw.l, strlen(s));
	check_slice(sb_sip_hdr_first(&msg, SB_HDR_TO)->value, "Bob <sip:bob@example.com>");
	check_slice(sb_sip_hdr_first(&msg, SB_HDR_TO)->line, "To: Bob <sip:bob@example.com>\r\n");
	assert_null(sb_sip_hdr_first(&msg, SB_HDR_ROUTE));

	const struct sb_cseq *cs;
	assert_int_equal(sb_sip_msg_cseq(&msg, &cs), 0);
	assert_int_equal(cs->num, 314159);
	assert_int_equal(cs->mid, SB_METHOD_INVITE);
	check_slice(cs->method, "INVITE");
	struct sb_slice cid;
	assert_int_equal(sb_sip_msg_call_id(&msg, &cid), 0);
	check_slice(cid, "a84b4c76e66710@pc33.example.com");
	uint32_t mf, ex;
	assert_int_equal(sb_sip_msg_max_forwards(&msg, &mf), 0);
	assert_int_equal(mf, 70);
	assert_int_equal(sb_sip_msg_expires(&msg, &ex), ENOENT);
	/* cached: the second call returns the same object */
	const struct sb_cseq *cs2;
	assert_int_equal(sb_sip_msg_cseq(&msg, &cs2), 0);
	assert_ptr_equal(cs, cs2);
	assert_true(msg.parsed & SB_SIP_CACHE_CSEQ);
}

static void t_response(void **state)
{
	assert_int_equal(parse("SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
			       "CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"), 0);
	assert_false(msg.is_request);
	assert_int_equal(msg.status, 180);
	check_slice(msg.reason, "Ringing");
	assert_int_equal(msg.body.l, 0);
	assert_int_equal(parse("SIP/2.0 200\r\nCSeq: 1 INVITE\r\n\r\n"), 0);
	assert_int_equal(msg.status, 200);
	assert_int_equal(msg.reason.l, 0);
	/* unreadable status lines are dropped: EBADMSG */
	assert_int_equal(parse("SIP/2.0 2000 OK\r\n\r\n"), EBADMSG);
	assert_int_equal(parse("SIP/2.0 099 Low\r\n\r\n"), EBADMSG);
	assert_int_equal(parse("SIP/2.0 700 High\r\n\r\n"), EBADMSG);
	assert_int_equal(parse("SIP/2.0 20x OK\r\n\r\n"), EBADMSG);
	assert_int_equal(parse("SIP/2.0 4294967301 Huge\r\n\r\n"), EBADMSG);
	assert_int_equal(parse("SIP/2.0\r\n\r\n"), EBADMSG);
	assert_int_equal(parse("SIP/x.0 200 OK\r\n\r\n"), EBADMSG);
}

static void t_request_line_defects(void **state)
{
	assert_int_equal(parse("INVITE  sip:a@b SIP/2.0\r\n\r\n"), 0);
	assert_int_equal(msg.defect, SB_DEFECT_BAD_REQUEST_LINE);
	assert_int_equal(parse("INVITE sip:a@b SIP/2.0 \r\n\r\n"), 0);
	assert_int_equal(msg.defect, SB_DEFECT_BAD_REQUEST_LINE);
	assert_int_equal(parse("INVITE sip:a@b\r\n\r\n"), 0);
	assert_int_equal(msg.defect, SB_DEFECT_BAD_REQUEST_LINE);
	/* not SIP at all: nothing to answer */
	assert_int_equal(parse("\r\n\r\n"), EBADMSG);
	assert_int_equal(parse(" INVITE sip:a@b SIP/2.0\r\n\r\n"), EBADMSG);
	assert_int_equal(parse("IN<VITE sip:a@b SIP/2.0\r\n\r\n"), EBADMSG);
	assert_int_equal(parse("garbage"), EBADMSG);
	/* leading CRLFs are skipped (RFC 3261 §7.5) */
	assert_int_equal(parse("\r\n\r\nOPTIONS sip:a@b SIP/2.0\r\nl: 0\r\n\r\n"), 0);
	assert_int_equal(msg.mid, SB_METHOD_OPTIONS);
	assert_int_equal(msg.defect, SB_DEFECT_NONE);
	/* methods are case-sensitive */
	assert_int_equal(parse("invite sip:a@b SIP/2.0\r\n\r\n"), 0);
	assert_int_equal(msg.mid, SB_METHOD_OTHER);
}

static void t_names(void **state)
{
	static const struct { const char *name; enum sb_sip_hdr_id id; } cases[] = {
		{ "v", SB_HDR_VIA }, { "V", SB_HDR_VIA }, { "vIA", SB_HDR_VIA },
		{ "f", SB_HDR_FROM }, { "t", SB_HDR_TO }, { "i", SB_HDR_CALL_ID },
		{ "m", SB_HDR_CONTACT }, { "c", SB_HDR_CONTENT_TYPE },
		{ "l", SB_HDR_CONTENT_LENGTH }, { "e", SB_HDR_CONTENT_ENCODING },
		{ "k", SB_HDR_SUPPORTED }, { "s", SB_HDR_SUBJECT }, { "r", SB_HDR_REFER_TO },
		{ "b", SB_HDR_REFERRED_BY }, { "o", SB_HDR_EVENT }, { "u", SB_HDR_ALLOW_EVENTS },
		{ "call-id", SB_HDR_CALL_ID }, { "CSEQ", SB_HDR_CSEQ },
		{ "max-forwards", SB_HDR_MAX_FORWARDS }, { "Record-Route", SB_HDR_RECORD_ROUTE },
		{ "proxy-authorization", SB_HDR_PROXY_AUTHORIZATION },
		{ "Authentication-Info", SB_HDR_AUTHENTICATION_INFO },
		{ "WWW-Authenticate", SB_HDR_WWW_AUTHENTICATE },
		{ "Subscription-State", SB_HDR_SUBSCRIPTION_STATE },
		{ "Replaces", SB_HDR_REPLACES }, { "Retry-After", SB_HDR_RETRY_AFTER },
		{ "x", SB_HDR_OTHER }, { "Vias", SB_HDR_OTHER }, { "", SB_HDR_OTHER },
		{ "C%6Fntact", SB_HDR_OTHER },
		{ "Proxy-Authorization-Extra-Long-Name", SB_HDR_OTHER },
	};
	for (size_t i = 0; i < SB_ARRAY_LEN(cases); i++)
		assert_int_equal(sb_sip_hdr_lookup(sb_slice_cstr(cases[i].name)), cases[i].id);
	/* every id has a long name that looks itself up */
	for (int id = 1; id < SB_HDR__COUNT; id++) {
		const char *n = sb_sip_hdr_name((enum sb_sip_hdr_id)id);
		assert_true(n[0] != '\0');
		assert_int_equal(sb_sip_hdr_lookup(sb_slice_cstr(n)), id);
	}
	for (int m = SB_METHOD_INVITE; m <= SB_METHOD_PUBLISH; m++)
		assert_int_equal(sb_sip_method_from(sb_slice_cstr(sb_sip_method_name(m))), m);
	assert_int_equal(sb_sip_method_from(SB_LIT("INVITES")), SB_METHOD_OTHER);
	assert_int_equal(sb_sip_method_from(SB_LIT("Invite")), SB_METHOD_OTHER);
}

static void t_folding_and_lists(void **state)
{
	const char *s = "OPTIONS sip:a@b SIP/2.0\r\n"
			"Via: SIP/2.0/UDP a;branch=z9hG4bK1,\r\n SIP/2.0/UDP b;branch=z9hG4bK2\r\n"
			"v: SIP/2.0/TCP c;branch=z9hG4bK3\r\n"
			"Contact: \"Bob, Jr.\" <sip:bob@c>;q=0.5, <sip:bob@d;x=a,b>\r\n"
			"X-Odd  :   value\r\n\tmore\r\n"
			"Supported:\r\n"
			"l: 0\r\n\r\n";
	assert_int_equal(parse(s), 0);
	assert_int_equal(msg.nvia, 3);
	assert_int_equal(sb_sip_hdr_count(&msg, SB_HDR_VIA), 2);
	struct sb_sip_values it;
	struct sb_slice v;
	uint16_t idx;
	const char *want[] = { "SIP/2.0/UDP a;branch=z9hG4bK1", "SIP/2.0/UDP b;branch=z9hG4bK2",
			       "SIP/2.0/TCP c;branch=z9hG4bK3" };
	unsigned n = 0;
	sb_sip_values_init(&it, &msg, SB_HDR_VIA);
	while (sb_sip_values_next(&it, &v, &idx)) {
		assert_true(n < 3);
		check_slice(v, want[n]);
		assert_int_equal(msg.hdrs[idx].id, SB_HDR_VIA);
		n++;
	}
	assert_int_equal(n, 3);
	/* commas inside quotes and <> do not split */
	n = 0;
	sb_sip_values_init(&it, &msg, SB_HDR_CONTACT);
	while (sb_sip_values_next(&it, &v, NULL))
		n++;
	assert_int_equal(n, 2);
	const struct sb_sip_hdr *h = sb_sip_hdr_find(&msg, SB_LIT("x-odd"));
	assert_non_null(h);
	check_slice(h->name, "X-Odd");
	check_slice(h->value, "value\r\n\tmore");
	h = sb_sip_hdr_first(&msg, SB_HDR_SUPPORTED);
	assert_non_null(h);
	assert_int_equal(h->value.l, 0);
	assert_null(sb_sip_hdr_find(&msg, SB_LIT("X-Missing")));
}

static void t_list_next(void **state)
{
	struct sb_slice rest = SB_LIT("a, \"x,\\\"y\" <u,v> , ,b,");
	struct sb_slice v;
	const char *want[] = { "a", "\"x,\\\"y\" <u,v>", "", "b", "" };
	for (unsigned i = 0; i < 5; i++) {
		assert_true(sb_sip_list_next(&rest, &v));
		if (want[i][0])
			check_slice(v, want[i]);
		else
			assert_int_equal(v.l, 0);
	}
	assert_false(sb_sip_list_next(&rest, &v));
	rest = SB_SLICE_NULL;
	assert_false(sb_sip_list_next(&rest, &v));
}

static void t_body_framing(void **state)
{
	/* Content-Length shorter than the datagram: the rest is discarded */
	assert_int_equal(parse("MESSAGE sip:a@b SIP/2.0\r\nl: 3\r\n\r\nabcdef"), 0);
	check_slice(msg.body, "abc");
	assert_int_equal(msg.raw.l, strlen("MESSAGE sip:a@b SIP/2.0\r\nl: 3\r\n\r\nabc"));
	/* no Content-Length: the rest of the datagram */
	assert_int_equal(parse("MESSAGE sip:a@b SIP/2.0\r\nVia: x\r\n\r\nabcdef"), 0);
	check_slice(msg.body, "abcdef");
	assert_false(msg.has_content_length);
	/* longer than the datagram */
	assert_int_equal(parse("MESSAGE sip:a@b SIP/2.0\r\nl: 30\r\n\r\nabc"), 0);
	assert_int_equal(msg.defect, SB_DEFECT_SHORT_BODY);
	assert_int_equal(parse("MESSAGE sip:a@b SIP/2.0\r\nl: -3\r\n\r\nabc"), 0);
	assert_int_equal(msg.defect, SB_DEFECT_BAD_CLEN);
	assert_int_equal(parse("MESSAGE sip:a@b SIP/2.0\r\nl: 3\r\nContent-Length: 4\r\n\r\nabcd"), 0);
	assert_int_equal(msg.defect, SB_DEFECT_MULTI_CLEN);
	/* the same value twice is not a conflict */
	assert_int_equal(parse("MESSAGE sip:a@b SIP/2.0\r\nl: 3\r\nContent-Length: 3\r\n\r\nabc"), 0);
	assert_int_equal(msg.defect, SB_DEFECT_NONE);
	/* bare LF line ends are accepted */
	assert_int_equal(parse("OPTIONS sip:a@b SIP/2.0\nVia: x\nl: 2\n\nok"), 0);
	assert_int_equal(msg.defect, SB_DEFECT_NONE);
	check_slice(msg.body, "ok");
	check_slice(sb_sip_hdr_first(&msg, SB_HDR_VIA)->value, "x");
}

static void t_header_defects(void **state)
{
	assert_int_equal(parse("OPTIONS sip:a@b SIP/2.0\r\nFoobar roobar\r\nl: 0\r\n\r\n"), 0);
	assert_int_equal(msg.defect, SB_DEFECT_BAD_HEADER_LINE);
	assert_int_equal(parse("OPTIONS sip:a@b SIP/2.0\r\nBad Name: x\r\nl: 0\r\n\r\n"), 0);
	assert_int_equal(msg.defect, SB_DEFECT_BAD_HEADER_LINE);
	assert_int_equal(parse("OPTIONS sip:a@b SIP/2.0\r\n: x\r\nl: 0\r\n\r\n"), 0);
	assert_int_equal(msg.defect, SB_DEFECT_BAD_HEADER_LINE);
	/* a datagram that never ends its header section */
	assert_int_equal(parse("OPTIONS sip:a@b SIP/2.0\r\nl: 0\r\n"), 0);
	assert_int_equal(msg.defect, SB_DEFECT_NO_EMPTY_LINE);
	assert_int_equal(msg.nhdrs, 1);
	/* over a stream the same bytes mean "need more" */
	const char *s = "OPTIONS sip:a@b SIP/2.0\r\nl: 0\r\n";
	assert_int_equal(sb_sip_parse(&msg, s, strlen(s), SB_SIP_STREAM), ENODATA);
	assert_int_equal(sb_sip_parse(&msg, s, 10, SB_SIP_STREAM), ENODATA);
}

static void t_bounds(void **state)
{
	/* one more header field than SB_SIP_MAX_HEADERS */
	size_t cap = 64 + (SB_SIP_MAX_HEADERS + 1) * 16;
	char *s = malloc(cap);
	assert_non_null(s);
	size_t n = (size_t)snprintf(s, cap, "OPTIONS sip:a@b SIP/2.0\r\n");
	for (unsigned i = 0; i <= SB_SIP_MAX_HEADERS; i++)
		n += (size_t)snprintf(s + n, cap - n, "X-H%u: v\r\n", i);
	n += (size_t)snprintf(s + n, cap - n, "\r\n");
	assert_int_equal(sb_sip_parse(&msg, s, n, SB_SIP_DATAGRAM), 0);
	assert_int_equal(msg.defect, SB_DEFECT_TOO_MANY_HEADERS);
	assert_int_equal(msg.nhdrs, SB_SIP_MAX_HEADERS);
	free(s);

	/* a message past SB_SIP_MAX_MSG_SIZE */
	size_t big = SB_SIP_MAX_MSG_SIZE + 100;
	s = malloc(big);
	assert_non_null(s);
	memset(s, 'a', big);
	const char *head = "MESSAGE sip:a@b SIP/2.0\r\nl: 65600\r\n\r\n";
	memcpy(s, head, strlen(head));
	assert_int_equal(sb_sip_parse(&msg, s, big, SB_SIP_DATAGRAM), 0);
	assert_int_equal(msg.defect, SB_DEFECT_TOO_LARGE);
	free(s);

	/* a method longer than SB_SIP_MAX_METHOD_LEN is not answered */
	char meth[SB_SIP_MAX_METHOD_LEN + 40];
	memset(meth, 'M', SB_SIP_MAX_METHOD_LEN + 1);
	strcpy(meth + SB_SIP_MAX_METHOD_LEN + 1, " sip:a@b SIP/2.0\r\n\r\n");
	assert_int_equal(parse(meth), EBADMSG);
}

static void t_single_valued(void **state)
{
	const struct sb_cseq *cs;
	struct sb_slice cid;
	uint32_t v;
	/* two different CSeq values: EBADMSG (RFC 4475 multi01) */
	assert_int_equal(parse("OPTIONS sip:a@b SIP/2.0\r\nCSeq: 1 OPTIONS\r\nCSeq: 2 OPTIONS\r\n"
			       "i: x@y\r\ni: x@y\r\nMax-Forwards: 300\r\nExpires: 99999999999\r\n\r\n"), 0);
	assert_int_equal(sb_sip_msg_cseq(&msg, &cs), EBADMSG);
	assert_int_equal(sb_sip_msg_cseq(&msg, &cs), EBADMSG); /* cached failure */
	assert_int_equal(sb_sip_msg_call_id(&msg, &cid), 0);  /* repeated, same value */
	check_slice(cid, "x@y");
	assert_int_equal(sb_sip_msg_max_forwards(&msg, &v), EBADMSG);
	assert_int_equal(sb_sip_msg_expires(&msg, &v), EBADMSG);

	static const char *const bad_cseq[] = { "CSeq: 4294967296 OPTIONS", "CSeq: 1",
						"CSeq: OPTIONS", "CSeq: 1OPTIONS",
						"CSeq: -1 OPTIONS", "CSeq: 1 OPT<IONS" };
	char buf[128];
	for (size_t i = 0; i < SB_ARRAY_LEN(bad_cseq); i++) {
		snprintf(buf, sizeof buf, "OPTIONS sip:a@b SIP/2.0\r\n%s\r\n\r\n", bad_cseq[i]);
		assert_int_equal(parse(buf), 0);
		if (sb_sip_msg_cseq(&msg, &cs) != EBADMSG)
			fail_msg("accepted %s", bad_cseq[i]);
	}
	assert_int_equal(parse("OPTIONS sip:a@b SIP/2.0\r\nCSeq:  0009 \r\n  OPTIONS\r\n"
			       "Call-ID: has space\r\nExpires: 3600\r\n\r\n"), 0);
	assert_int_equal(sb_sip_msg_cseq(&msg, &cs), 0);
	assert_int_equal(cs->num, 9);
	assert_int_equal(cs->mid, SB_METHOD_OPTIONS);
	assert_int_equal(sb_sip_msg_call_id(&msg, &cid), EBADMSG);
	assert_int_equal(sb_sip_msg_expires(&msg, &v), 0);
	assert_int_equal(v, 3600);
	assert_int_equal(sb_sip_msg_max_forwards(&msg, &v), ENOENT);
}

/* Review findings: a failed parse shows nothing of the previous message;
 * the status-line version is case-insensitive; an out-of-range Max-Forwards
 * leaves the output alone; CR never folds onto '-' in a header name. */
static void t_reuse_and_edges(void **state)
{
	assert_int_equal(parse("MESSAGE sip:a@b SIP/2.0\r\nl: 4\r\n\r\nbody"), 0);
	assert_int_equal(parse("SIP/2.0 9999 x\r\n\r\n"), EBADMSG);
	assert_false(msg.is_request);
	assert_null(msg.body.p);
	assert_null(msg.raw.p);
	assert_null(msg.version.p);
	assert_int_equal(parse("sip/2.0 200 OK\r\nl: 0\r\n\r\n"), 0);
	assert_false(msg.is_request);
	assert_int_equal(msg.status, 200);
	uint32_t mf = 7;
	assert_int_equal(parse("OPTIONS sip:a@b SIP/2.0\r\nMax-Forwards: 300\r\n\r\n"), 0);
	assert_int_equal(sb_sip_msg_max_forwards(&msg, &mf), EBADMSG);
	assert_int_equal(mf, 7);
	assert_int_equal(sb_sip_hdr_lookup(SB_LIT("Call\rID")), SB_HDR_OTHER);
	assert_int_equal(sb_sip_hdr_lookup(SB_LIT("Content\rLength")), SB_HDR_OTHER);
	assert_int_equal(sb_sip_hdr_lookup(SB_LIT("CALL-ID")), SB_HDR_CALL_ID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_request),
		cmocka_unit_test(t_response),
		cmocka_unit_test(t_request_line_defects),
		cmocka_unit_test(t_names),
		cmocka_unit_test(t_folding_and_lists),
		cmocka_unit_test(t_list_next),
		cmocka_unit_test(t_body_framing),
		cmocka_unit_test(t_header_defects),
		cmocka_unit_test(t_bounds),
		cmocka_unit_test(t_single_valued),
		cmocka_unit_test(t_reuse_and_edges),
	};
	return cmocka_run_group_tests_name("msg", tests, NULL, NULL);
}
