/* Unit tests for the message parser (sip/msg, sip/hdr_names, sip/method):
 * start lines, header fields, folding, lists, framing of the body in a
 * datagram, the defects recorded, the bounds, and the lazy typed access;
 * and the edges the quick scanners could get wrong (name lookup, names
 * found from the ':', line ends found 16 bytes a step, cleared values). */
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

/* ------------------------------------------------- the quick scanners */

/* What sb_sip_hdr_lookup() gives a one-letter name (RFC 3261 §7.3.3 compact
 * forms; RFC 3515 r, RFC 3892 b, RFC 6665 o and u). */
static enum sb_sip_hdr_id compact_id(char c)
{
	switch (c | 0x20) {
	case 'v': return SB_HDR_VIA;
	case 'f': return SB_HDR_FROM;
	case 't': return SB_HDR_TO;
	case 'i': return SB_HDR_CALL_ID;
	case 'm': return SB_HDR_CONTACT;
	case 'c': return SB_HDR_CONTENT_TYPE;
	case 'l': return SB_HDR_CONTENT_LENGTH;
	case 'e': return SB_HDR_CONTENT_ENCODING;
	case 'k': return SB_HDR_SUPPORTED;
	case 's': return SB_HDR_SUBJECT;
	case 'r': return SB_HDR_REFER_TO;
	case 'b': return SB_HDR_REFERRED_BY;
	case 'o': return SB_HDR_EVENT;
	case 'u': return SB_HDR_ALLOW_EVENTS;
	default: return SB_HDR_OTHER;
	}
}

/* The lookup of an exact-size copy of s[0..l) (ASan sees a read past it). */
static enum sb_sip_hdr_id lookup_n(const char *s, size_t l)
{
	char *c = dup_exact(s, l);
	enum sb_sip_hdr_id id = sb_sip_hdr_lookup(sb_slice_from(c, l));
	free(c);
	return id;
}

/* The lookup compares whole names a word at a time once the length and the
 * first letter have picked the candidates: every case of every name, every
 * byte of it changed, names that share its length and first and last
 * letters, lengths around it. */
static void t_name_lookup_edges(void **state)
{
	char buf[40];
	for (int id = 1; id < SB_HDR__COUNT; id++) {
		const char *name = sb_sip_hdr_name((enum sb_sip_hdr_id)id);
		size_t n = strlen(name);
		assert_true(n >= 2 && n < sizeof buf - 2);
		for (size_t i = 0; i < n; i++) {
			buf[i] = (char)(name[i] >= 'a' && name[i] <= 'z' ? name[i] - 32 : name[i]);
		}
		assert_int_equal(lookup_n(buf, n), id); /* upper case */
		for (size_t i = 0; i < n; i++)
			buf[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
		assert_int_equal(lookup_n(buf, n), id); /* lower case */
		for (size_t i = 0; i < n; i++) {
			/* one byte changed: to a byte no name holds, to the byte
			 * 0x20 away (CR for '-': CR | 0x20 is '-'), to a letter */
			static const char subst[] = { '#', 0, 'q' };
			for (size_t k = 0; k < sizeof subst; k++) {
				memcpy(buf, name, n);
				buf[i] = subst[k] ? subst[k] : (char)(name[i] ^ 0x20);
				if (name[i] == '-' || (name[i] | 0x20) != (buf[i] | 0x20))
					assert_int_equal(lookup_n(buf, n), SB_HDR_OTHER);
			}
		}
		/* the same length, first and last letters */
		if (n > 2) {
			memset(buf, 'x', n);
			buf[0] = name[0];
			buf[n - 1] = name[n - 1];
			assert_int_equal(lookup_n(buf, n), SB_HDR_OTHER);
		}
		/* one byte more or less */
		memcpy(buf, name, n);
		buf[n] = name[n - 1];
		assert_int_equal(lookup_n(buf, n + 1), SB_HDR_OTHER);
		if (n > 2)
			assert_int_equal(lookup_n(name, n - 1), SB_HDR_OTHER);
	}
	assert_int_equal(lookup_n("Call\rID", 7), SB_HDR_OTHER);
	assert_int_equal(lookup_n("Call_ID", 7), SB_HDR_OTHER);
	assert_int_equal(lookup_n("Call-ID", 7), SB_HDR_CALL_ID);
	/* every length, none a name */
	memset(buf, 'z', sizeof buf);
	for (size_t n = 0; n <= sizeof buf; n++)
		assert_int_equal(lookup_n(buf, n), SB_HDR_OTHER);
	/* every one-byte name */
	for (int c = 0; c < 256; c++) {
		char b = (char)c;
		bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
		assert_int_equal(lookup_n(&b, 1), letter ? compact_id(b) : SB_HDR_OTHER);
	}
}

/* The exact-size copy msg was parsed from last, by parse_exact(). */
static char *parsed_copy;

/* sb_sip_parse() of an exact-size copy (ASan sees a read past the end),
 * kept until the next call or release_parsed(). */
static int parse_exact(const char *s)
{
	size_t n = strlen(s);
	free(parsed_copy);
	parsed_copy = dup_exact(s, n);
	return sb_sip_parse(&msg, parsed_copy, n, SB_SIP_DATAGRAM);
}

/* Teardown for tests that use parse_exact() (and exact()). */
static int release_parsed(void **state)
{
	free(parsed_copy);
	parsed_copy = NULL;
	return free_all(state);
}

/* Field names found from the ':' must be what the token scan finds: WS
 * before the colon, a colon past the first 32 bytes, a line without one. */
static void t_field_name_edges(void **state)
{
	char spaces[48];
	memset(spaces, ' ', sizeof spaces - 1);
	spaces[sizeof spaces - 1] = '\0';
	char text[512];
	snprintf(text, sizeof text,
		 "OPTIONS sip:a@b SIP/2.0\r\n"
		 "Via  :SIP/2.0/UDP h\r\n"            /* 0: WS before ':' */
		 "cALL-iD\t: x@y\r\n"                 /* 1 */
		 "To%s: <sip:t@h>\r\n"                /* 2: ':' after 49 bytes */
		 "X-A-Header-Named-Past-32-Bytes-Long: 1\r\n" /* 3 */
		 "X-Y:\r\n"                           /* 4: empty value */
		 "l : 0\r\n"                          /* 5: compact, WS */
		 "Contact\r\n"                        /* no ':' at all: defect */
		 "From x: <sip:f@h>\r\n"              /* not a name: defect */
		 ": nameless\r\n"                     /* defect */
		 "Call-ID-X: z\r\n"                   /* 6: a longer unknown name */
		 "\r\n",
		 spaces);
	assert_int_equal(parse_exact(text), 0);
	assert_int_equal(msg.defect, SB_DEFECT_BAD_HEADER_LINE);
	assert_int_equal(msg.nhdrs, 7);
	static const struct {
		const char *name, *value;
		enum sb_sip_hdr_id id;
	} want[] = {
		{ "Via", "SIP/2.0/UDP h", SB_HDR_VIA },
		{ "cALL-iD", "x@y", SB_HDR_CALL_ID },
		{ "To", "<sip:t@h>", SB_HDR_TO },
		{ "X-A-Header-Named-Past-32-Bytes-Long", "1", SB_HDR_OTHER },
		{ "X-Y", "", SB_HDR_OTHER },
		{ "l", "0", SB_HDR_CONTENT_LENGTH },
		{ "Call-ID-X", "z", SB_HDR_OTHER },
	};
	for (unsigned i = 0; i < SB_ARRAY_LEN(want); i++) {
		check_slice(msg.hdrs[i].name, want[i].name);
		check_slice(msg.hdrs[i].value, want[i].value);
		assert_int_equal(msg.hdrs[i].id, want[i].id);
	}
	assert_int_equal(msg.first[SB_HDR_FROM], SB_SIP_NO_HDR);
	assert_int_equal(msg.first[SB_HDR_CONTACT], SB_SIP_NO_HDR);
	assert_true(msg.has_content_length);
	/* a line without ':' whose next line has one near: still a defect,
	 * and the next line is read as its own field */
	assert_int_equal(parse_exact("OPTIONS sip:a@b SIP/2.0\r\nFoo\r\nVia: x\r\n\r\n"), 0);
	assert_int_equal(msg.defect, SB_DEFECT_BAD_HEADER_LINE);
	assert_int_equal(msg.nhdrs, 1);
	assert_int_equal(msg.hdrs[0].id, SB_HDR_VIA);
	check_slice(msg.hdrs[0].value, "x");
}

/* Line ends and commas found sixteen bytes a step, the last step
 * overlapping: every value length from 0 to 70, each with and without the
 * final CRLF, the comma at every place. */
static void t_line_lengths(void **state)
{
	char val[80], text[256];
	for (size_t k = 0; k <= 70; k++) {
		memset(val, 'a', k);
		val[k] = '\0';
		snprintf(text, sizeof text, "OPTIONS sip:a@b SIP/2.0\r\nX-H: %s\r\nv: x\r\n\r\n", val);
		assert_int_equal(parse_exact(text), 0);
		assert_int_equal(msg.defect, SB_DEFECT_NONE);
		assert_int_equal(msg.nhdrs, 2);
		check_slice(msg.hdrs[0].value, val);
		assert_int_equal(msg.hdrs[0].line.l, k + 7);
		/* the datagram ends inside the field: no line end to find */
		snprintf(text, sizeof text, "OPTIONS sip:a@b SIP/2.0\r\nX-H: %s", val);
		assert_int_equal(parse_exact(text), 0);
		assert_int_equal(msg.defect, SB_DEFECT_NO_EMPTY_LINE);
		assert_int_equal(msg.nhdrs, 1);
		check_slice(msg.hdrs[0].value, val);
		/* a folded value: the fold after k bytes */
		snprintf(text, sizeof text, "OPTIONS sip:a@b SIP/2.0\r\nX-H: %s\r\n b\r\n\r\n", val);
		assert_int_equal(parse_exact(text), 0);
		assert_int_equal(msg.nhdrs, 1);
		assert_int_equal(msg.hdrs[0].value.l, k ? k + 4 : 1);
		/* a comma after k bytes: two Via values */
		if (k) {
			snprintf(text, sizeof text, "OPTIONS sip:a@b SIP/2.0\r\nVia: %s,b\r\n\r\n", val);
			assert_int_equal(parse_exact(text), 0);
			assert_int_equal(msg.nvia, 2);
			struct sb_sip_values it;
			struct sb_slice v;
			sb_sip_values_init(&it, &msg, SB_HDR_VIA);
			assert_true(sb_sip_values_next(&it, &v, NULL));
			check_slice(v, val);
			assert_true(sb_sip_values_next(&it, &v, NULL));
			check_slice(v, "b");
			assert_false(sb_sip_values_next(&it, &v, NULL));
		}
	}
}

/* Call-ID bytes are checked sixteen at a time, the last step overlapping:
 * every length to 40, a byte outside 0x21..0x7e at every place. */
static void t_call_id_bytes(void **state)
{
	char id[48], text[128];
	static const unsigned char bad[] = { ' ', 0x7f, 0x80, 0xff, 0x01 };
	for (size_t k = 1; k <= 40; k++) {
		for (size_t at = 0; at <= k; at++) {
			for (size_t b = 0; b < (at < k ? sizeof bad : 1); b++) {
				for (size_t i = 0; i < k; i++)
					id[i] = (char)('!' + (i * 7) % 94); /* 0x21..0x7e */
				if (at < k)
					id[at] = (char)bad[b];
				id[k] = '\0';
				snprintf(text, sizeof text, "OPTIONS sip:a@b SIP/2.0\r\nCall-ID:%s\r\n\r\n", id);
				assert_int_equal(parse_exact(text), 0);
				struct sb_slice cid;
				/* a trailing SP is trimmed off the value: not a bad byte */
				bool ok = at == k || (bad[b] == ' ' && (at == 0 || at == k - 1));
				if (bad[b] == ' ' && at == 0 && k == 1)
					ok = false; /* nothing left: empty */
				assert_int_equal(sb_sip_msg_call_id(&msg, &cid), ok ? 0 : EBADMSG);
			}
		}
	}
}

/* What a parse does not set is absent, whatever the struct held before:
 * the parsers clear their structs field by field. */
static void t_typed_values_cleared(void **state)
{
	struct sb_via v;
	for (int k = 0; k < 2; k++) {
		memset(&v, 0xa5, sizeof v);
		if (k == 0) {
			assert_int_equal(sb_via_parse(&v, SB_SLICE_NULL), EBADMSG);
			check_absent(v.proto_name);
			check_absent(v.proto_version);
			check_absent(v.transport);
			check_absent(v.host);
			assert_int_equal(v.host_type, SB_HOST_NONE);
		} else {
			assert_int_equal(sb_via_parse(&v, exact("SIP/2.0/UDP h")), 0);
			check_slice(v.host, "h");
			assert_int_equal(v.host_type, SB_HOST_NAME);
		}
		assert_int_equal(v.port, 0);
		check_absent(v.params);
		check_absent(v.branch);
		check_absent(v.received);
		check_absent(v.maddr);
		check_absent(v.ttl);
		check_absent(v.rport);
	}

	struct sb_nameaddr na;
	static const char *const inputs[] = { "*", "\"unterminated <sip:a@b>", "<sip:a@b",
					      "<sip:h>" };
	for (unsigned i = 0; i < SB_ARRAY_LEN(inputs); i++) {
		memset(&na, 0xa5, sizeof na);
		int err = sb_nameaddr_parse(&na, exact(inputs[i]));
		assert_int_equal(err, i == 0 || i == 3 ? 0 : EBADMSG);
		assert_int_equal(na.star, i == 0);
		assert_int_equal(na.angle, i == 3);
		check_absent(na.display);
		check_absent(na.params);
		check_absent(na.tag);
		check_absent(na.q);
		check_absent(na.expires);
		if (i == 3) {
			check_slice(na.uri_s, "sip:h");
			assert_int_equal(na.uri.scheme, SB_URI_SIP);
			check_slice(na.uri.scheme_s, "sip");
			check_slice(na.uri.host, "h");
			assert_int_equal(na.uri.host_type, SB_HOST_NAME);
		} else {
			/* the URI was never reached */
			check_absent(na.uri_s);
			assert_int_equal(na.uri.scheme, SB_URI_OTHER);
			check_absent(na.uri.scheme_s);
			check_absent(na.uri.host);
			assert_int_equal(na.uri.host_type, SB_HOST_NONE);
		}
		check_absent(na.uri.user);
		check_absent(na.uri.password);
		assert_int_equal(na.uri.port, 0);
		check_absent(na.uri.params);
		check_absent(na.uri.headers);
		check_absent(na.uri.opaque);
		check_absent(na.uri.transport);
		check_absent(na.uri.maddr);
		check_absent(na.uri.user_param);
		check_absent(na.uri.method);
		check_absent(na.uri.ttl);
		assert_false(na.uri.lr);
	}
	/* a URI that fails keeps its scheme only */
	memset(&na, 0xa5, sizeof na);
	assert_int_equal(sb_nameaddr_parse(&na, exact("<sip:a@b:0>")), EBADMSG);
	check_slice(na.uri_s, "sip:a@b:0");
	assert_int_equal(na.uri.scheme, SB_URI_SIP);
	check_slice(na.uri.scheme_s, "sip");
	check_absent(na.uri.user);
	check_absent(na.uri.host);
	assert_int_equal(na.uri.port, 0);
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
		cmocka_unit_test_teardown(t_name_lookup_edges, free_all),
		cmocka_unit_test_teardown(t_field_name_edges, release_parsed),
		cmocka_unit_test_teardown(t_line_lengths, release_parsed),
		cmocka_unit_test_teardown(t_typed_values_cleared, free_all),
		cmocka_unit_test_teardown(t_call_id_bytes, release_parsed),
	};
	return cmocka_run_group_tests_name("msg", tests, NULL, NULL);
}
