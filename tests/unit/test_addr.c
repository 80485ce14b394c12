/* Unit tests for sip/addr and sip/via: name-addr / addr-spec values (From,
 * To, Contact, Route), Contact q and expires, the cached From/To/Via of a
 * message, and Via values, with the RFC 4475 and RFC 5118 header values.
 * Inputs are exact-size heap copies so ASan flags any read past a slice. */
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

/* ---------------------------------------------------------------- helpers */

static struct sb_nameaddr na_ok(const char *s)
{
	struct sb_nameaddr na;
	expect_parse(sb_nameaddr_parse(&na, exact(s)), 0, s);
	return na;
}

static void na_bad(const char *s)
{
	struct sb_nameaddr na;
	expect_parse(sb_nameaddr_parse(&na, exact(s)), EBADMSG, s);
}

static struct sb_via via_ok(const char *s)
{
	struct sb_via v;
	expect_parse(sb_via_parse(&v, exact(s)), 0, s);
	return v;
}

static void via_bad(const char *s)
{
	struct sb_via v;
	expect_parse(sb_via_parse(&v, exact(s)), EBADMSG, s);
}

/* A message with only the header table filled, as sb_sip_parse leaves it. */
static struct sb_sip_msg *msg_new(void)
{
	struct sb_sip_msg *m = calloc(1, sizeof *m);
	assert_non_null(m);
	keep(m);
	for (unsigned i = 0; i < SB_HDR__COUNT; i++)
		m->first[i] = m->last[i] = SB_SIP_NO_HDR;
	return m;
}

static void msg_add(struct sb_sip_msg *m, enum sb_sip_hdr_id id, const char *value)
{
	uint16_t idx = m->nhdrs++;
	struct sb_sip_hdr *h = &m->hdrs[idx];
	h->value = exact(value);
	h->id = (uint16_t)id;
	h->next = SB_SIP_NO_HDR;
	if (m->first[id] == SB_SIP_NO_HDR)
		m->first[id] = idx;
	else
		m->hdrs[m->last[id]].next = idx;
	m->last[id] = idx;
}

/* ------------------------------------------------------------ name-addr */

static void test_quoted_display(void **state)
{
	(void)state;
	/* RFC 4475 §3.1.1.1 wsinv From: escaped backslash and quote, LWS and
	 * folds before the params */
	struct sb_nameaddr na = na_ok("\"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>\r\n"
				      "  ;\r\n  tag = 98asjd8");
	check_slice(na.display, "\"J Rosenberg \\\\\\\"\"");
	assert_true(na.angle);
	assert_false(na.star);
	check_slice(na.uri_s, "sip:jdrosen@example.com");
	assert_int_equal(na.uri.scheme, SB_URI_SIP);
	check_slice(na.uri.user, "jdrosen");
	check_slice(na.uri.host, "example.com");
	check_slice(na.tag, "98asjd8");
	check_slice(na.params, "\r\n  tag = 98asjd8");
	check_slice(na.q, NULL);
	check_slice(na.expires, NULL);

	/* RFC 4475 §3.1.1.1 wsinv Contact */
	na = na_ok("\"Quoted string \\\"\\\"\" <sip:jdrosen@example.com> ; newparam =\r\n"
		   "      newvalue ;\r\n  secondparam ; q = 0.33");
	check_slice(na.display, "\"Quoted string \\\"\\\"\"");
	check_slice(na.q, "0.33");
	check_slice(na.tag, NULL);
	unsigned q;
	assert_int_equal(sb_contact_q(&na, &q), 0);
	assert_int_equal(q, 330);

	/* RFC 4475 §3.1.1.2 intmeth To: raw control bytes as quoted-pairs */
	static const char to[] = "\"BEL:\\\x07 NUL:\\\x00 DEL:\\\x7f\" <sip:1_unusual.URI~(to-be!sure)"
				 "&isn't+it$/crazy?,/;;*@example.com>";
	if (sb_nameaddr_parse(&na, exact_n(to, sizeof to - 1)) != 0)
		fail();
	assert_int_equal(na.display.l, 22);
	assert_memory_equal(na.display.p, "\"BEL:\\\x07 NUL:\\\x00 DEL:\\\x7f\"", 22);
	check_slice(na.uri.user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
	check_slice(na.uri.host, "example.com");
	check_slice(na.params, NULL);

	/* RFC 4475 §3.1.1.5 esc02: %Z%45 in a display name is literal */
	na = na_ok("\"%Z%45\" <sip:resource@example.com>;tag=f232jadfj23");
	check_slice(na.display, "\"%Z%45\"");
	check_slice(na.tag, "f232jadfj23");

	/* RFC 4475 §3.1.2.14 badaspec From: a quoted ',' is fine */
	na = na_ok("\"Bell, Alexander\" <sip:a.g.bell@example.com>;tag=433423");
	check_slice(na.display, "\"Bell, Alexander\"");
	check_slice(na.tag, "433423");

	/* quoted display with no LWS before '<', and an empty one */
	na = na_ok("\"x\"<sip:a@b.com>");
	check_slice(na.display, "\"x\"");
	na = na_ok("\"\" <sip:a@b.com>");
	check_slice(na.display, "\"\"");

	/* RFC 3261 §25.1 qdtext: a line end only as a fold, no bare control
	 * byte (they are fine escaped, as in intmeth above); the same rules
	 * for a quoted header parameter value */
	na = na_ok("\"A\r\n B\" <sip:a@b.com>;x=\"1\r\n\t2\"");
	check_slice(na.display, "\"A\r\n B\"");
	na_bad("\"A\r\nB\" <sip:a@b.com>");
	na_bad("\"A\x01B\" <sip:a@b.com>");
	na_bad("\"A\x7f\" <sip:a@b.com>");
	na_bad("\"A\\\r\n B\" <sip:a@b.com>");
	na_bad("<sip:a@b.com>;x=\"1\x01\"");
	na_bad("<sip:a@b.com>;x=\"1\r\n2\"");
}

static void test_token_display(void **state)
{
	(void)state;
	/* RFC 4475 §3.1.1.6 lwsdisp: no LWS before '<' */
	struct sb_nameaddr na = na_ok("caller<sip:caller@example.com>;tag=323");
	check_slice(na.display, "caller");
	check_slice(na.uri_s, "sip:caller@example.com");
	check_slice(na.tag, "323");

	/* RFC 4475 §3.1.1.2 intmeth From: every token character, a UTF-8
	 * quoted param value */
	na = na_ok("token1~` token2'+_ token3*%!.- <sip:mundane@example.com>;"
		   "fromParam''~+*_!.-%=\"\xd1\x80\xd0\xb0\xd0\xb1\xd0\xbe\xd1\x82\xd0\xb0\xd1\x8e"
		   "\xd1\x89\xd0\xb8\xd0\xb9\";tag=_token~1'+`*%!-.");
	check_slice(na.display, "token1~` token2'+_ token3*%!.-");
	check_slice(na.uri.user, "mundane");
	check_slice(na.tag, "_token~1'+`*%!-.");

	na = na_ok("  Alice   Smith \t <sip:alice@atlanta.com>  ");
	check_slice(na.display, "Alice   Smith");
	check_slice(na.params, NULL);

	/* no display at all */
	na = na_ok("<sip:alice@atlanta.com>");
	check_slice(na.display, NULL);
	assert_true(na.angle);

	/* RFC 5118 §4.9 */
	na = na_ok("\"T. desk phone\" <sip:ted@[::ffff:192.0.2.2]>");
	check_slice(na.uri.host, "[::ffff:192.0.2.2]");
	assert_int_equal(na.uri.host_type, SB_HOST_IPV6);
}

static void test_addr_spec(void **state)
{
	(void)state;
	/* RFC 4475 §3.1.1.1 wsinv To: LWS before the params */
	struct sb_nameaddr na = na_ok("sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n");
	assert_false(na.angle);
	check_slice(na.display, NULL);
	check_slice(na.uri_s, "sip:vivekg@chair-dnrc.example.com");
	check_slice(na.uri.host, "chair-dnrc.example.com");
	check_slice(na.tag, "1918181833n");

	/* RFC 4475 §3.3.12 cparam01: without <> the param is a header param */
	na = na_ok("sip:+19725552222@gw1.example.net;unknownparam");
	assert_false(na.angle);
	check_slice(na.uri_s, "sip:+19725552222@gw1.example.net");
	check_slice(na.uri.params, NULL);
	check_slice(na.params, "unknownparam");

	/* RFC 4475 §3.3.13 cparam02: inside <> it is a URI param */
	na = na_ok("<sip:+19725552222@gw1.example.net;unknownparam>");
	check_slice(na.uri.params, "unknownparam");
	check_slice(na.params, NULL);

	/* RFC 4475 §3.3.14 regescrt: headers are fine inside <> */
	na = na_ok("<sip:user@example.com?Route=%3Csip:sip.example.com%3E>");
	check_slice(na.uri.headers, "Route=%3Csip:sip.example.com%3E");

	/* the From/To/Contact of RFC 4475 §3.1.1.3 esc01 and §3.1.1.4 escnull */
	na = na_ok("sip:%75se%72@example.com");
	check_slice(na.uri.user, "%75se%72");
	na = na_ok("<sip:I%20have%20spaces@example.net>;tag=938");
	check_slice(na.uri.user, "I%20have%20spaces");
	check_slice(na.tag, "938");
	na = na_ok("<sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31>");
	assert_true(na.uri.lr);
	na = na_ok("sip:null-%00-null@example.com;tag=839923423");
	check_slice(na.uri.user, "null-%00-null");
	check_slice(na.tag, "839923423");

	/* RFC 4475 §3.3.4 unksm2: other schemes parse */
	na = na_ok("isbn:2983792873");
	assert_int_equal(na.uri.scheme, SB_URI_OTHER);
	check_slice(na.uri.opaque, "2983792873");
	na = na_ok("<http://www.example.com>;tag=3234233");
	check_slice(na.uri.scheme_s, "http");
	check_slice(na.tag, "3234233");
	na = na_ok("<name:John_Smith>");
	check_slice(na.uri.opaque, "John_Smith");

	/* RFC 3261 §20.10: in an addr-spec the first ';' ends the URI, so a
	 * semiuri-style user part reads as header params */
	na = na_ok("sip:user;par=u%40example.net@example.com");
	check_slice(na.uri_s, "sip:user");
	check_slice(na.params, "par=u%40example.net@example.com");
}

static void test_star(void **state)
{
	(void)state;
	struct sb_nameaddr na = na_ok("*");
	assert_true(na.star);
	assert_false(na.angle);
	na = na_ok(" \t* ");
	assert_true(na.star);
	na_bad("*;expires=0");
	na_bad("* *");
	na_bad("<*>");
}

static void test_nameaddr_rejects(void **state)
{
	(void)state;
	/* RFC 4475 §3.1.2.6 quotbal */
	na_bad("\"Mr. J. User <sip:j.user@example.com>");
	/* RFC 4475 §3.1.2.14 badaspec */
	na_bad("\"Watson, Thomas\" < sip:t.watson@example.org >");
	na_bad("<sip:t.watson@example.org >");
	na_bad("< sip:t.watson@example.org>");
	/* RFC 4475 §3.1.2.15 baddn */
	na_bad("Bell, Alexander <sip:a.g.bell@example.com>;tag=43");
	na_bad("Watson, Thomas <sip:t.watson@example.org>");
	/* RFC 4475 §3.1.2.13 regbadct */
	na_bad("sip:user@example.com?Route=%3Csip:sip.example.com%3E");
	/* RFC 4475 §3.1.2.1 badinv01 Contact */
	na_bad("\"Joe\" <sip:joe@example.org>;;;;");
	/* RFC 4475 §3.1.2.7 ltgtruri shape inside <> */
	na_bad("<<sip:a@b.com>>");

	na_bad("");
	na_bad("   ");
	na_bad("\"unterminated \\\"");
	na_bad("\"ends in backslash\\");
	na_bad("\"x\" sip:a@b.com");
	na_bad("\"x\"");
	na_bad("<sip:a@b.com");
	na_bad("<>");
	na_bad("<sip:a@b.com> junk");
	na_bad("<sip:a@b.com> <sip:c@d.com>");
	na_bad("<sip:a@b.com>, <sip:c@d.com>");
	na_bad("sip:a@b.com, sip:c@d.com");
	na_bad("sip:a@b.com,x");
	na_bad("<sip:a@b.com>;tag");
	na_bad("<sip:a@b.com>;tag=");
	na_bad("<sip:a@b.com>;q");
	na_bad("<sip:a@b.com>;expires");
	na_bad("<sip:a@b.com>;tag=1;");
	na_bad(";tag=1");
	na_bad("caller");
	na_bad("a\"b\" <sip:a@b.com>");
	na_bad("<sip:[2001:db8::1>");
	na_bad("sip:2001:db8::10");
	na_bad("J\xc3\xa9r\xc3\xb4me <sip:a@b.com>");  /* UTF-8 must be quoted */
}

static void test_nameaddr_bounds(void **state)
{
	(void)state;
	struct sb_nameaddr na;
	/* a slice that stops before the '>' of the underlying string */
	const char *s = "<sip:a@b.com>;tag=1";
	assert_int_equal(sb_nameaddr_parse(&na, sb_slice_from(s, 12)), EBADMSG);
	assert_int_equal(sb_nameaddr_parse(&na, sb_slice_from(s, 14)), EBADMSG);
	assert_int_equal(sb_nameaddr_parse(&na, sb_slice_from(s, 15)), 0);
	check_slice(na.params, "t");
	check_slice(na.tag, NULL);
	assert_int_equal(sb_nameaddr_parse(&na, sb_slice_from(s, 19)), 0);
	check_slice(na.tag, "1");
	assert_int_equal(sb_nameaddr_parse(&na, sb_slice_from(s, 18)), EBADMSG);
	assert_int_equal(sb_nameaddr_parse(&na, SB_SLICE_NULL), EBADMSG);
	/* cut inside a quoted display name */
	assert_int_equal(sb_nameaddr_parse(&na, exact_n("\"abc\" <sip:a@b.com>", 4)), EBADMSG);
}

static void test_contact_q(void **state)
{
	(void)state;
	struct sb_nameaddr na;
	unsigned q = 7;
	static const struct {
		const char *v;
		int err;
		unsigned q;
	} cases[] = {
		{ "<sip:a@b.com>", 0, 1000 },
		{ "<sip:a@b.com>;q=0.5", 0, 500 },
		{ "<sip:a@b.com>;q=1", 0, 1000 },
		{ "<sip:a@b.com>;q=1.", 0, 1000 },
		{ "<sip:a@b.com>;q=1.000", 0, 1000 },
		{ "<sip:a@b.com>;q=0", 0, 0 },
		{ "<sip:a@b.com>;q=0.", 0, 0 },
		{ "<sip:a@b.com>;q=0.001", 0, 1 },
		{ "<sip:a@b.com>;q=0.999", 0, 999 },
		{ "<sip:a@b.com>;Q=0.07", 0, 70 },
		{ "<sip:a@b.com>;q=1.001", EBADMSG, 0 },
		{ "<sip:a@b.com>;q=1.5", EBADMSG, 0 },
		{ "<sip:a@b.com>;q=2", EBADMSG, 0 },
		{ "<sip:a@b.com>;q=0.1234", EBADMSG, 0 },
		{ "<sip:a@b.com>;q=.5", EBADMSG, 0 },
		{ "<sip:a@b.com>;q=00.5", EBADMSG, 0 },
		{ "<sip:a@b.com>;q=0,5", EBADMSG, 0 },
		{ "<sip:a@b.com>;q=0.a", EBADMSG, 0 },
		{ "<sip:a@b.com>;q=\"0.5\"", EBADMSG, 0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int perr = sb_nameaddr_parse(&na, exact(cases[i].v));
		int err = perr ? perr : sb_contact_q(&na, &q);
		if (err != cases[i].err || (!err && q != cases[i].q))
			print_error("%s: err %d q %u\n", cases[i].v, err, q);
		assert_int_equal(err, cases[i].err);
		if (!err)
			assert_int_equal(q, cases[i].q);
	}
}

static void test_contact_expires(void **state)
{
	(void)state;
	struct sb_nameaddr na = na_ok("<sip:a@b.com>");
	uint32_t secs = 7;
	assert_int_equal(sb_contact_expires(&na, &secs), ENOENT);
	assert_int_equal(secs, 7);
	na = na_ok("<sip:a@b.com>;expires=3600");
	check_slice(na.expires, "3600");
	assert_int_equal(sb_contact_expires(&na, &secs), 0);
	assert_int_equal(secs, 3600);
	na = na_ok("<sip:a@b.com>;EXPIRES = 0");
	assert_int_equal(sb_contact_expires(&na, &secs), 0);
	assert_int_equal(secs, 0);
	na = na_ok("<sip:a@b.com>;expires=4294967295");
	assert_int_equal(sb_contact_expires(&na, &secs), 0);
	assert_int_equal(secs, UINT32_MAX);
	/* RFC 4475 §3.1.2.4 scalar02: huge values clamp */
	na = na_ok("<sip:user@host129.example.com>;expires=280297596632815");
	assert_int_equal(sb_contact_expires(&na, &secs), 0);
	assert_int_equal(secs, UINT32_MAX);
	na = na_ok("<sip:a@b.com>;expires=4294967296");
	assert_int_equal(sb_contact_expires(&na, &secs), 0);
	assert_int_equal(secs, UINT32_MAX);
	na = na_ok("<sip:a@b.com>;expires=1000000000000000000000000000000000000000000000000000000"
		   "0000000000000000000000000000000000000000000000");
	assert_int_equal(sb_contact_expires(&na, &secs), 0);
	assert_int_equal(secs, UINT32_MAX);
	na = na_ok("<sip:a@b.com>;expires=0003600");
	assert_int_equal(sb_contact_expires(&na, &secs), 0);
	assert_int_equal(secs, 3600);
	na = na_ok("<sip:a@b.com>;expires=12a");
	assert_int_equal(sb_contact_expires(&na, &secs), EBADMSG);
	na = na_ok("<sip:a@b.com>;expires=-1");
	assert_int_equal(sb_contact_expires(&na, &secs), EBADMSG);
	na = na_ok("<sip:a@b.com>;expires=\"10\"");
	assert_int_equal(sb_contact_expires(&na, &secs), EBADMSG);
	/* the first one counts */
	na = na_ok("<sip:a@b.com>;expires=10;expires=20");
	assert_int_equal(sb_contact_expires(&na, &secs), 0);
	assert_int_equal(secs, 10);
}

/* ------------------------------------------------------- From/To cache */

static void test_msg_from_to(void **state)
{
	(void)state;
	struct sb_sip_msg *m = msg_new();
	const struct sb_nameaddr *na = NULL;

	assert_int_equal(sb_sip_msg_from(m, &na), ENOENT);
	assert_int_equal(sb_sip_msg_to(m, &na), ENOENT);

	msg_add(m, SB_HDR_TO, "sip:user@example.com");
	msg_add(m, SB_HDR_FROM, "caller<sip:caller@example.com>;tag=323");
	assert_int_equal(sb_sip_msg_from(m, &na), 0);
	assert_ptr_equal(na, &m->from);
	check_slice(na->display, "caller");
	check_slice(na->tag, "323");
	assert_true(m->parsed & SB_SIP_CACHE_FROM);
	assert_false(m->bad & SB_SIP_CACHE_FROM);
	assert_false(m->parsed & SB_SIP_CACHE_TO);

	/* cached: a second call does not parse again */
	m->from.tag = SB_LIT("cached");
	na = NULL;
	assert_int_equal(sb_sip_msg_from(m, &na), 0);
	check_slice(na->tag, "cached");

	assert_int_equal(sb_sip_msg_to(m, &na), 0);
	assert_ptr_equal(na, &m->to);
	check_slice(na->uri.user, "user");
	check_slice(na->tag, NULL);
	assert_true(m->parsed & SB_SIP_CACHE_TO);
}

static void test_msg_from_to_bad(void **state)
{
	(void)state;
	const struct sb_nameaddr *na = NULL;

	/* RFC 4475 §3.3.8 multi01: two From and two To with other values */
	struct sb_sip_msg *m = msg_new();
	msg_add(m, SB_HDR_FROM, "sip:caller@example.com;tag=3413415");
	msg_add(m, SB_HDR_TO, "sip:user@example.com");
	msg_add(m, SB_HDR_TO, "sip:other@example.net");
	msg_add(m, SB_HDR_FROM, "sip:caller@example.net;tag=2923420123");
	assert_int_equal(sb_sip_msg_from(m, &na), EBADMSG);
	assert_int_equal(sb_sip_msg_to(m, &na), EBADMSG);
	assert_true(m->bad & SB_SIP_CACHE_FROM);
	assert_true(m->bad & SB_SIP_CACHE_TO);
	/* and it stays bad */
	assert_int_equal(sb_sip_msg_from(m, &na), EBADMSG);

	/* the same value twice is only redundant */
	m = msg_new();
	msg_add(m, SB_HDR_FROM, "<sip:a@b.com>;tag=1");
	msg_add(m, SB_HDR_FROM, "<sip:a@b.com>;tag=1");
	assert_int_equal(sb_sip_msg_from(m, &na), 0);
	check_slice(na->tag, "1");

	/* RFC 4475 §3.1.2.6 quotbal To; §3.1.2.15 baddn From */
	m = msg_new();
	msg_add(m, SB_HDR_TO, "\"Mr. J. User <sip:j.user@example.com>");
	msg_add(m, SB_HDR_FROM, "Bell, Alexander <sip:a.g.bell@example.com>;tag=43");
	assert_int_equal(sb_sip_msg_to(m, &na), EBADMSG);
	assert_int_equal(sb_sip_msg_from(m, &na), EBADMSG);

	/* a Contact star is not a From */
	m = msg_new();
	msg_add(m, SB_HDR_FROM, "*");
	assert_int_equal(sb_sip_msg_from(m, &na), EBADMSG);
}

/* ------------------------------------------------------------------ Via */

static void test_via_basic(void **state)
{
	(void)state;
	struct sb_via v = via_ok("SIP/2.0/UDP pc33.atlanta.com:5066;branch=z9hG4bK776asdhds;"
				 "received=192.0.2.1;rport=5066;maddr=224.2.0.1;ttl=16;x=y");
	check_slice(v.proto_name, "SIP");
	check_slice(v.proto_version, "2.0");
	check_slice(v.transport, "UDP");
	check_slice(v.host, "pc33.atlanta.com");
	assert_int_equal(v.host_type, SB_HOST_NAME);
	assert_int_equal(v.port, 5066);
	check_slice(v.params, "branch=z9hG4bK776asdhds;received=192.0.2.1;rport=5066;"
			    "maddr=224.2.0.1;ttl=16;x=y");
	check_slice(v.branch, "z9hG4bK776asdhds");
	check_slice(v.received, "192.0.2.1");
	check_slice(v.rport, "5066");
	check_slice(v.maddr, "224.2.0.1");
	check_slice(v.ttl, "16");

	/* RFC 3581: a bare rport is present and empty */
	v = via_ok("SIP/2.0/UDP 10.0.0.1;rport;branch=z9hG4bK1");
	assert_non_null(v.rport.p);
	assert_int_equal(v.rport.l, 0);
	assert_int_equal(v.host_type, SB_HOST_IPV4);
	assert_int_equal(v.port, 0);
	check_slice(v.branch, "z9hG4bK1");

	/* no params at all (RFC 4475 §3.4.1 inv2543) */
	v = via_ok("SIP/2.0/UDP iftgw.example.com");
	check_slice(v.params, NULL);
	check_slice(v.branch, NULL);
	check_slice(v.rport, NULL);

	/* RFC 4475 §3.2.1 badbranch: a bare cookie is still a branch */
	v = via_ok("SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK");
	check_slice(v.branch, "z9hG4bK");

	/* RFC 4475 §3.3.10 bcast */
	v = via_ok("SIP/2.0/UDP 255.255.255.255;branch=z9hG4bK1saber23");
	assert_int_equal(v.host_type, SB_HOST_IPV4);
	check_slice(v.host, "255.255.255.255");

	/* RFC 4475 §3.1.2.16 badvers: the version is kept for validation */
	v = via_ok("SIP/7.0/UDP c.example.com;branch=z9hG4bKkdjuw");
	check_slice(v.proto_version, "7.0");
}

static void test_via_lws(void **state)
{
	(void)state;
	/* RFC 4475 §3.1.1.1 wsinv: LWS and folds around '/' and before params */
	struct sb_via v = via_ok("SIP  /   2.0\r\n /UDP\r\n    192.0.2.2;branch=390skdjuw");
	check_slice(v.proto_name, "SIP");
	check_slice(v.proto_version, "2.0");
	check_slice(v.transport, "UDP");
	check_slice(v.host, "192.0.2.2");
	check_slice(v.branch, "390skdjuw");

	v = via_ok("SIP  / 2.0  / TCP     spindle.example.com   ;\r\n  branch  =   z9hG4bK9ikj8  ");
	check_slice(v.transport, "TCP");
	check_slice(v.host, "spindle.example.com");
	check_slice(v.branch, "z9hG4bK9ikj8");

	v = via_ok(" SIP  /    2.0   / UDP  192.168.255.111   ; branch=\r\n z9hG4bK30239");
	check_slice(v.host, "192.168.255.111");
	check_slice(v.branch, "z9hG4bK30239");

	/* LWS around the ':' of sent-by (COLON = SWS ":" SWS) */
	v = via_ok("SIP/2.0/TCP host.example.com : 5061 ;branch=z9hG4bK2");
	check_slice(v.host, "host.example.com");
	assert_int_equal(v.port, 5061);
}

static void test_via_transports(void **state)
{
	(void)state;
	/* RFC 4475 §3.1.1.10 transports: unknown ones parse */
	static const char *const t[] = { "UDP", "SCTP", "TLS", "UNKNOWN", "TCP", "WSS", "tls-sctp" };
	char buf[80];
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		size_t n = (size_t)snprintf(buf, sizeof buf, "SIP/2.0/%s t%zu.example.com;branch=z9hG4bKx", t[i], i);
		struct sb_via v;
		assert_int_equal(sb_via_parse(&v, exact_n(buf, n)), 0);
		check_slice(v.transport, t[i]);
	}
}

static void test_via_ipv6(void **state)
{
	(void)state;
	/* RFC 5118 §4.7 mult-ip-in-header */
	struct sb_via v = via_ok("SIP/2.0/UDP [2001:db8::9:1]:6050;branch=z9hG4bKas3-111");
	check_slice(v.host, "[2001:db8::9:1]");
	assert_int_equal(v.host_type, SB_HOST_IPV6);
	assert_int_equal(v.port, 6050);
	v = via_ok("SIP/2.0/TCP [2001:db8::9:255];branch=z9hG4bK451jj;received=192.0.2.200");
	check_slice(v.host, "[2001:db8::9:255]");
	assert_int_equal(v.port, 0);
	check_slice(v.received, "192.0.2.200");

	/* RFC 5118 §4.5: received with and without [] */
	v = via_ok("SIP/2.0/UDP [2001:db8::9:1];received=[2001:db8::9:255];branch=z9hG4bKas3-111");
	check_slice(v.received, "[2001:db8::9:255]");
	check_slice(v.branch, "z9hG4bKas3-111");
	v = via_ok("SIP/2.0/UDP [2001:db8::9:1];received=2001:db8::9:255;branch=z9hG4bKas3");
	check_slice(v.received, "2001:db8::9:255");
	check_slice(v.branch, "z9hG4bKas3");

	/* RFC 5118 §4.9 */
	v = via_ok("SIP/2.0/UDP [::ffff:192.0.2.10]:19823;branch=z9hG4bKbh19");
	check_slice(v.host, "[::ffff:192.0.2.10]");
	assert_int_equal(v.port, 19823);

	/* an IPv6 sent-by needs [] */
	via_bad("SIP/2.0/UDP 2001:db8::9:1;branch=z9hG4bK1");
	via_bad("SIP/2.0/UDP [2001:db8::9:1;branch=z9hG4bK1");
	via_bad("SIP/2.0/UDP [2001:db8::9:1]:;branch=z9hG4bK1");
	via_bad("SIP/2.0/UDP [::1];received=[::1");
}

static void test_via_rejects(void **state)
{
	(void)state;
	/* RFC 4475 §3.1.2.1 badinv01: "SIP/2.0/UDP 192.0.2.15;;,;,," split
	 * into values */
	via_bad("SIP/2.0/UDP 192.0.2.15;;");
	via_bad(";");
	via_bad("");
	via_bad("   ");

	via_bad("SIP/2.0/UDP");
	via_bad("SIP/2.0/UDP ");
	via_bad("SIP/2.0/UDPhost.example.com");
	via_bad("SIP/2.0 UDP host.example.com");
	via_bad("SIP/2.0/ host.example.com");
	via_bad("SIP//UDP host.example.com");
	via_bad("/2.0/UDP host.example.com");
	via_bad("SIP/2.0/UDP host.example.com;");
	via_bad("SIP/2.0/UDP host.example.com;branch");
	via_bad("SIP/2.0/UDP host.example.com;branch=");
	via_bad("SIP/2.0/UDP host.example.com junk");
	via_bad("SIP/2.0/UDP host.example.com, SIP/2.0/UDP b.example.com");
	via_bad("SIP/2.0/UDP host.example.com:0");
	via_bad("SIP/2.0/UDP host.example.com:65536");
	via_bad("SIP/2.0/UDP host.example.com:99999999999999999999");
	via_bad("SIP/2.0/UDP host.example.com:");
	via_bad("SIP/2.0/UDP host_x.example.com");
	via_bad("SIP/2.0/UDP 1.2.3.256");
	via_bad("SIP/2.0/UDP h.example.com;received=example.com");
	via_bad("SIP/2.0/UDP h.example.com;received");
	via_bad("SIP/2.0/UDP h.example.com;rport=0");
	via_bad("SIP/2.0/UDP h.example.com;rport=65536");
	via_bad("SIP/2.0/UDP h.example.com;rport=abc");
	via_bad("SIP/2.0/UDP h.example.com;ttl=256");
	via_bad("SIP/2.0/UDP h.example.com;ttl=0001");
	via_bad("SIP/2.0/UDP h.example.com;ttl");
	via_bad("SIP/2.0/UDP h.example.com;maddr=-bad-");
	via_bad("SIP/2.0/UDP h.example.com;branch=\"unterminated");

	/* a slice cut before the branch value */
	struct sb_via v;
	const char *s = "SIP/2.0/UDP h.example.com;branch=z9hG4bK1";
	assert_int_equal(sb_via_parse(&v, sb_slice_from(s, 33)), EBADMSG);
	assert_int_equal(sb_via_parse(&v, sb_slice_from(s, 26)), EBADMSG);
	assert_int_equal(sb_via_parse(&v, sb_slice_from(s, 25)), 0);
	check_slice(v.host, "h.example.com");
	check_slice(v.branch, NULL);
	assert_int_equal(sb_via_parse(&v, SB_SLICE_NULL), EBADMSG);
}

static void test_msg_via(void **state)
{
	(void)state;
	const struct sb_via *v = NULL;
	struct sb_sip_msg *m = msg_new();
	assert_int_equal(sb_sip_msg_via(m, &v), ENOENT);

	msg_add(m, SB_HDR_VIA, "SIP/2.0/UDP a.example.com;branch=z9hG4bK1 ,\r\n"
			       " SIP/2.0/TCP b.example.com;branch=z9hG4bK2");
	msg_add(m, SB_HDR_VIA, "SIP/2.0/UDP c.example.com;branch=z9hG4bK3");
	assert_int_equal(sb_sip_msg_via(m, &v), 0);
	assert_ptr_equal(v, &m->via);
	check_slice(v->host, "a.example.com");
	check_slice(v->transport, "UDP");
	check_slice(v->branch, "z9hG4bK1");
	assert_true(m->parsed & SB_SIP_CACHE_VIA);
	/* cached */
	m->via.branch = SB_LIT("cached");
	assert_int_equal(sb_sip_msg_via(m, &v), 0);
	check_slice(v->branch, "cached");

	/* a malformed topmost Via stays malformed */
	m = msg_new();
	msg_add(m, SB_HDR_VIA, "SIP/2.0/UDP 192.0.2.15;;,;,,");
	assert_int_equal(sb_sip_msg_via(m, &v), EBADMSG);
	assert_true(m->bad & SB_SIP_CACHE_VIA);
	assert_int_equal(sb_sip_msg_via(m, &v), EBADMSG);

	/* only the topmost value is parsed: a bad second value is not its
	 * business (validation checks every value) */
	m = msg_new();
	msg_add(m, SB_HDR_VIA, "SIP/2.0/UDP a.example.com;branch=z9hG4bK1, junk");
	assert_int_equal(sb_sip_msg_via(m, &v), 0);
	check_slice(v->host, "a.example.com");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_quoted_display, free_all),
		cmocka_unit_test_teardown(test_token_display, free_all),
		cmocka_unit_test_teardown(test_addr_spec, free_all),
		cmocka_unit_test_teardown(test_star, free_all),
		cmocka_unit_test_teardown(test_nameaddr_rejects, free_all),
		cmocka_unit_test_teardown(test_nameaddr_bounds, free_all),
		cmocka_unit_test_teardown(test_contact_q, free_all),
		cmocka_unit_test_teardown(test_contact_expires, free_all),
		cmocka_unit_test_teardown(test_msg_from_to, free_all),
		cmocka_unit_test_teardown(test_msg_from_to_bad, free_all),
		cmocka_unit_test_teardown(test_via_basic, free_all),
		cmocka_unit_test_teardown(test_via_lws, free_all),
		cmocka_unit_test_teardown(test_via_transports, free_all),
		cmocka_unit_test_teardown(test_via_ipv6, free_all),
		cmocka_unit_test_teardown(test_via_rejects, free_all),
		cmocka_unit_test_teardown(test_msg_via, free_all),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
