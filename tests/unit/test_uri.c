/* Unit tests for sip/uri and sip/param: URI parsing (SIP, SIPS, tel, opaque
 * schemes; RFC 3261 §19.1, RFC 5118 IPv6), RFC 3261 §19.1.4 comparison,
 * unescaping and the parameter iterator; the shared class table, checked
 * byte by byte against the RFC 3261 §25.1 sets.  Every input is copied into
 * a heap block of its exact size so ASan flags any read past the slice. */
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

#include "../../src/sip/charclass.h" /* the class table, checked below */
#include "testutil.h"

/* ---------------------------------------------------------------- helpers */

static struct sb_uri uri_ok(const char *s)
{
	struct sb_uri u;
	expect_parse(sb_uri_parse(&u, exact(s)), 0, s);
	return u;
}

static void uri_bad(const char *s)
{
	struct sb_uri u;
	expect_parse(sb_uri_parse(&u, exact(s)), EBADMSG, s);
}

static bool ueq(const char *a, const char *b)
{
	struct sb_uri x = uri_ok(a), y = uri_ok(b);
	bool r = sb_uri_equal(&x, &y);
	/* the comparison is symmetric */
	assert_int_equal(r, sb_uri_equal(&y, &x));
	return r;
}

/* ------------------------------------------------------------ SIP URIs */

static void test_full_sip_uri(void **state)
{
	(void)state;
	struct sb_uri u = uri_ok("sip:alice:secret@example.com:5070;transport=tcp;lr;"
				 "maddr=239.255.255.1;ttl=15;user=phone;method=INVITE;x=y"
				 "?Subject=hi&Priority=urgent");
	assert_int_equal(u.scheme, SB_URI_SIP);
	check_slice(u.scheme_s, "sip");
	check_slice(u.user, "alice");
	check_slice(u.password, "secret");
	check_slice(u.host, "example.com");
	assert_int_equal(u.host_type, SB_HOST_NAME);
	assert_int_equal(u.port, 5070);
	check_slice(u.params, "transport=tcp;lr;maddr=239.255.255.1;ttl=15;user=phone;method=INVITE;x=y");
	check_slice(u.headers, "Subject=hi&Priority=urgent");
	check_slice(u.transport, "tcp");
	check_slice(u.maddr, "239.255.255.1");
	check_slice(u.ttl, "15");
	check_slice(u.user_param, "phone");
	check_slice(u.method, "INVITE");
	assert_true(u.lr);
	check_slice(u.opaque, NULL);
}

static void test_minimal_sip_uri(void **state)
{
	(void)state;
	struct sb_uri u = uri_ok("sip:example.com");
	assert_int_equal(u.scheme, SB_URI_SIP);
	check_slice(u.user, NULL);
	check_slice(u.password, NULL);
	check_slice(u.host, "example.com");
	assert_int_equal(u.port, 0);
	check_slice(u.params, NULL);
	check_slice(u.headers, NULL);
	check_slice(u.transport, NULL);
	assert_false(u.lr);

	/* empty password is present and empty */
	u = uri_ok("sip:bob:@example.com");
	check_slice(u.user, "bob");
	check_slice(u.password, "");
}

static void test_scheme_case(void **state)
{
	(void)state;
	struct sb_uri u = uri_ok("SIP:bob@Biloxi.COM");
	assert_int_equal(u.scheme, SB_URI_SIP);
	check_slice(u.scheme_s, "SIP");
	check_slice(u.host, "Biloxi.COM");
	u = uri_ok("SiPs:bob@biloxi.com");
	assert_int_equal(u.scheme, SB_URI_SIPS);
	u = uri_ok("TEL:+1234");
	assert_int_equal(u.scheme, SB_URI_TEL);
}

static void test_semiuri(void **state)
{
	(void)state;
	/* RFC 4475 §3.1.1.9: ';' and an escaped '@' in the user part */
	struct sb_uri u = uri_ok("sip:user;par=u%40example.net@example.com");
	check_slice(u.user, "user;par=u%40example.net");
	check_slice(u.host, "example.com");
	check_slice(u.params, NULL);
	check_slice(u.password, NULL);
}

static void test_intmeth_uri(void **state)
{
	(void)state;
	/* RFC 4475 §3.1.1.2: every legal user and password character */
	struct sb_uri u = uri_ok("sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:"
				 "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com");
	check_slice(u.user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
	check_slice(u.password, "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
	check_slice(u.host, "example.com");
	check_slice(u.params, NULL);
	check_slice(u.headers, NULL);
}

static void test_escaped_uris(void **state)
{
	(void)state;
	/* RFC 4475 §3.1.1.3 esc01 */
	struct sb_uri u = uri_ok("sip:sips%3Auser%40example.com@example.net");
	assert_int_equal(u.scheme, SB_URI_SIP);
	check_slice(u.user, "sips%3Auser%40example.com");
	check_slice(u.host, "example.net");

	/* escaped parameter names still count: %6C%72 is lr */
	u = uri_ok("sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31");
	check_slice(u.user, "cal%6Cer");
	assert_true(u.lr);
	check_slice(u.params, "%6C%72;n%61me=v%61lue%25%34%31");
	u = uri_ok("sip:h.example.com;%74ransport=tcp");
	check_slice(u.transport, "tcp");

	/* RFC 4475 §3.1.1.4 escnull */
	u = uri_ok("sip:null-%00-null@example.com");
	check_slice(u.user, "null-%00-null");

	/* broken escapes */
	uri_bad("sip:%4@example.com");
	uri_bad("sip:%zz@example.com");
	uri_bad("sip:a@example.com;x=%4");
	uri_bad("sip:a@example.com;x=%");
	uri_bad("sip:a@example.com?x=%g0");
}

static void test_ipv6_hosts(void **state)
{
	(void)state;
	/* RFC 5118 §4.1 ipv6-good */
	struct sb_uri u = uri_ok("sip:[2001:db8::10]");
	check_slice(u.host, "[2001:db8::10]");
	assert_int_equal(u.host_type, SB_HOST_IPV6);
	assert_int_equal(u.port, 0);
	check_slice(u.user, NULL);

	/* §4.3 port-ambiguous: the last group is not a port */
	u = uri_ok("sip:[2001:db8::10:5070]");
	check_slice(u.host, "[2001:db8::10:5070]");
	assert_int_equal(u.port, 0);

	/* §4.4 port-unambiguous */
	u = uri_ok("sip:[2001:db8::10]:5070");
	check_slice(u.host, "[2001:db8::10]");
	assert_int_equal(u.port, 5070);

	/* §4.9 IPv4-mapped */
	u = uri_ok("sip:ted@[::ffff:192.0.2.2]");
	check_slice(u.user, "ted");
	check_slice(u.host, "[::ffff:192.0.2.2]");
	assert_int_equal(u.host_type, SB_HOST_IPV6);

	/* §4.10: both forms */
	u = uri_ok("sip:user@[2001:db8::192.0.2.1]");
	assert_int_equal(u.host_type, SB_HOST_IPV6);
	u = uri_ok("sip:user@[2001:db8:::192.0.2.1]");
	assert_int_equal(u.host_type, SB_HOST_IPV6);
	check_slice(u.host, "[2001:db8:::192.0.2.1]");

	u = uri_ok("sip:[::1]");
	u = uri_ok("sip:[::]");
	u = uri_ok("sip:[1:2:3:4:5:6:7:8]:1");
	assert_int_equal(u.port, 1);
	u = uri_ok("sip:[1:2:3:4:5:6:1.2.3.4]");

	/* §4.2 ipv6-bad: an IPv6 address without [] is not a host */
	uri_bad("sip:2001:db8::10");
	uri_bad("sip:user@2001:db8::10");
	uri_bad("sip:[2001:db8::10");
	uri_bad("sip:[]");
	uri_bad("sip:[:]");
	uri_bad("sip:[2001:db8:::10]");      /* ":::" only before an IPv4 tail */
	uri_bad("sip:[1::2::3]");
	uri_bad("sip:[1:2:3:4:5:6:7:8:9]");
	uri_bad("sip:[1:2:3:4:5:6:7]");       /* 7 groups and no "::" */
	uri_bad("sip:[1:2:3:4:5:6:7:8::]");   /* "::" stands for at least 1 group */
	uri_bad("sip:[12345::1]");
	uri_bad("sip:[1::g]");
	uri_bad("sip:[1:]");
	uri_bad("sip:[:1]");
	uri_bad("sip:[1::256.0.0.1]");
	uri_bad("sip:[1:2:3:4:5:6:7:1.2.3.4]");
	uri_bad("sip:[2001:db8::10]x");
	uri_bad("sip:[2001:db8::10]:");
}

static void test_ipv6_bytes(void **state)
{
	(void)state;
	uint8_t b[16];
	static const uint8_t mapped[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 2 };
	static const uint8_t db8[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
					 0, 0, 0, 0, 0xc0, 0, 2, 1 };
	assert_true(sb_ipv6_parse(SB_LIT("::ffff:192.0.2.2"), b));
	assert_memory_equal(b, mapped, 16);
	assert_true(sb_ipv6_parse(SB_LIT("2001:db8::192.0.2.1"), b));
	assert_memory_equal(b, db8, 16);
	assert_true(sb_ipv6_parse(SB_LIT("2001:db8:::192.0.2.1"), b));
	assert_memory_equal(b, db8, 16);
	assert_true(sb_ipv6_parse(SB_LIT("2001:DB8:0:0:0:0:C000:201"), b));
	assert_memory_equal(b, db8, 16);
	assert_false(sb_ipv6_parse(SB_LIT("[2001:db8::1]"), b));
	assert_false(sb_ipv6_parse(SB_LIT(""), b));
}

static void test_ipv4_and_names(void **state)
{
	(void)state;
	struct sb_uri u = uri_ok("sip:192.0.2.1:5060");
	assert_int_equal(u.host_type, SB_HOST_IPV4);
	assert_int_equal(u.port, 5060);
	u = uri_ok("sip:255.255.255.255");
	assert_int_equal(u.host_type, SB_HOST_IPV4);
	u = uri_ok("sip:a-b.example.com.");
	assert_int_equal(u.host_type, SB_HOST_NAME);
	u = uri_ok("sip:x@h1");
	assert_int_equal(u.host_type, SB_HOST_NAME);

	uri_bad("sip:256.0.0.1");
	uri_bad("sip:1.2.3");
	uri_bad("sip:1.2.3.4.5");
	uri_bad("sip:1.2.3.1234");
	uri_bad("sip:-a.example.com");
	uri_bad("sip:a-.example.com");
	uri_bad("sip:a..example.com");
	uri_bad("sip:example.1com");       /* toplabel starts with ALPHA */
	uri_bad("sip:user@");
	uri_bad("sip:");
	uri_bad("sip:@example.com");       /* empty user */
	uri_bad("sip:a@b@example.com");
	uri_bad("sip:ex_ample.com");

	assert_int_equal(sb_host_classify(SB_LIT("example.com")), SB_HOST_NAME);
	assert_int_equal(sb_host_classify(SB_LIT("10.0.0.1")), SB_HOST_IPV4);
	assert_int_equal(sb_host_classify(SB_LIT("[::1]")), SB_HOST_IPV6);
	assert_int_equal(sb_host_classify(SB_LIT("::1")), SB_HOST_NONE);
	assert_int_equal(sb_host_classify(SB_SLICE_NULL), SB_HOST_NONE);
}

static void test_ports(void **state)
{
	(void)state;
	assert_int_equal(uri_ok("sip:a@b.com:1").port, 1);
	assert_int_equal(uri_ok("sip:a@b.com:65535").port, 65535);
	assert_int_equal(uri_ok("sip:a@b.com:05060").port, 5060);
	uri_bad("sip:a@b.com:65536");
	uri_bad("sip:a@b.com:0");
	uri_bad("sip:a@b.com:");
	uri_bad("sip:a@b.com:99999999999999999999999");
	uri_bad("sip:a@b.com:50a");
	uri_bad("sip:a@b.com:-1");
}

static void test_params_and_headers(void **state)
{
	(void)state;
	/* RFC 4475 §3.3.13 cparam02 */
	struct sb_uri u = uri_ok("sip:+19725552222@gw1.example.net;unknownparam");
	check_slice(u.user, "+19725552222");
	check_slice(u.params, "unknownparam");
	/* RFC 4475 §3.3.14 regescrt */
	u = uri_ok("sip:user@example.com?Route=%3Csip:sip.example.com%3E");
	check_slice(u.headers, "Route=%3Csip:sip.example.com%3E");
	check_slice(u.params, NULL);
	/* RFC 4475 §3.1.1.1 wsinv Route URI */
	u = uri_ok("sip:services.example.com;lr;unknownwith=value;unknown-no-value");
	assert_true(u.lr);
	check_slice(u.params, "lr;unknownwith=value;unknown-no-value");
	/* a flag form of a well-known parameter is present and empty */
	u = uri_ok("sip:a@b.com;transport");
	check_slice(u.transport, "");
	/* first value wins */
	u = uri_ok("sip:a@b.com;transport=udp;transport=tcp");
	check_slice(u.transport, "udp");
	/* empty header value is allowed */
	u = uri_ok("sip:a@b.com?a=&b=c");
	check_slice(u.headers, "a=&b=c");
	/* ':' '[' ']' '/' '&' '+' '$' in parameters */
	u = uri_ok("sip:a@b.com;x=[a]:/&+$;maddr=[2001:db8::1]");
	check_slice(u.maddr, "[2001:db8::1]");

	uri_bad("sip:a@b.com;");
	uri_bad("sip:a@b.com;;lr");       /* RFC 4475 §3.1.2.1 badinv01 shape */
	uri_bad("sip:a@b.com;x=");
	uri_bad("sip:a@b.com;=x");
	uri_bad("sip:a@b.com?");
	uri_bad("sip:a@b.com?a");
	uri_bad("sip:a@b.com?a=b&");
	uri_bad("sip:a@b.com?=b");
	uri_bad("sip:a@b.com;x=a@b");
}

static void test_lws_and_brackets_rejected(void **state)
{
	(void)state;
	uri_bad("sip:user@example.com; lr");     /* RFC 4475 §3.1.2.8 lwsruri */
	uri_bad("<sip:user@example.com>");        /* RFC 4475 §3.1.2.7 ltgtruri */
	uri_bad("sip:user@example.com>");
	uri_bad("sip:<user@example.com");
	uri_bad(" sip:user@example.com");
	uri_bad("sip:user@example.com ");
	uri_bad("sip:us er@example.com");
	uri_bad("sip:user@example.com\r\n");
	uri_bad("sip:user@exa\tmple.com");
	uri_bad("nobodyKnowsThisScheme:a b");
	uri_bad("foo:<bar>");
	uri_bad("foo:\"bar\"");
}

static void test_bound(void **state)
{
	(void)state;
	struct sb_uri u;
	char buf[SB_SIP_MAX_URI_LEN + 1];
	memcpy(buf, "sip:", 4);
	memset(buf + 4, 'a', sizeof buf - 4 - 4);
	memcpy(buf + sizeof buf - 4, ".com", 4);
	assert_int_equal(sb_uri_parse(&u, exact_n(buf, sizeof buf)), EBADMSG);
	/* one byte shorter fits */
	memcpy(buf + sizeof buf - 5, ".com", 4);
	assert_int_equal(sb_uri_parse(&u, exact_n(buf, sizeof buf - 1)), 0);
	assert_int_equal(u.host.l, SB_SIP_MAX_URI_LEN - 4);

	/* SB_URI_MAX_PARAMS parameters, and headers, fit; one more does not */
	char many[16 + 4 * (SB_URI_MAX_PARAMS + 1)];
	for (unsigned hdrs = 0; hdrs < 2; hdrs++) {
		size_t l = (size_t)snprintf(many, sizeof many, "sip:h.com");
		for (unsigned k = 0; k < SB_URI_MAX_PARAMS; k++)
			l += (size_t)snprintf(many + l, sizeof many - l, hdrs ? "%cp=" : "%cp",
					      hdrs ? (k ? '&' : '?') : ';');
		assert_int_equal(sb_uri_parse(&u, exact_n(many, l)), 0);
		l += (size_t)snprintf(many + l, sizeof many - l, hdrs ? "&p=" : ";p");
		assert_int_equal(sb_uri_parse(&u, exact_n(many, l)), EBADMSG);
	}

	assert_int_equal(sb_uri_parse(&u, SB_SLICE_NULL), EBADMSG);
	assert_int_equal(sb_uri_parse(&u, exact("")), EBADMSG);
}

static void test_slice_bounds(void **state)
{
	(void)state;
	/* the parser stops at the end of the slice, not at the NUL */
	const char *s = "sip:a@b.com;lr?x=y";
	struct sb_uri u;
	assert_int_equal(sb_uri_parse(&u, sb_slice_from(s, 11)), 0);
	check_slice(u.host, "b.com");
	check_slice(u.params, NULL);
	assert_false(u.lr);
	assert_int_equal(sb_uri_parse(&u, sb_slice_from(s, 14)), 0);
	assert_true(u.lr);
	check_slice(u.headers, NULL);
	/* cut inside an escape or an IPv6 reference */
	assert_int_equal(sb_uri_parse(&u, exact_n("sip:%41@h", 6)), EBADMSG);
	assert_int_equal(sb_uri_parse(&u, exact_n("sip:[::1]", 8)), EBADMSG);
}

static void test_tel(void **state)
{
	(void)state;
	struct sb_uri u = uri_ok("tel:+1-201-555-0123;ext=1234;phone-context=example.com");
	assert_int_equal(u.scheme, SB_URI_TEL);
	check_slice(u.user, "+1-201-555-0123");
	check_slice(u.params, "ext=1234;phone-context=example.com");
	check_slice(u.host, NULL);
	u = uri_ok("tel:7042;phone-context=example.com");
	check_slice(u.user, "7042");
	u = uri_ok("tel:*21#;phone-context=+1201");
	check_slice(u.user, "*21#");
	u = uri_ok("tel:+1(201)555.0123");
	check_slice(u.user, "+1(201)555.0123");

	uri_bad("tel:");
	uri_bad("tel:+");
	uri_bad("tel:+-");
	uri_bad("tel:+12a");
	uri_bad("tel:+12;");
	uri_bad("tel:+12 ");
	uri_bad("tel:+1?x=y");
}

static void test_other_schemes(void **state)
{
	(void)state;
	/* RFC 4475 §3.3.2 unkscm, §3.3.3 novelsc, §3.3.4 unksm2 */
	struct sb_uri u = uri_ok("nobodyKnowsThisScheme:totallyopaquecontent");
	assert_int_equal(u.scheme, SB_URI_OTHER);
	check_slice(u.scheme_s, "nobodyKnowsThisScheme");
	check_slice(u.opaque, "totallyopaquecontent");
	check_slice(u.host, NULL);
	u = uri_ok("soap.beep://192.0.2.103:3002");
	check_slice(u.scheme_s, "soap.beep");
	check_slice(u.opaque, "//192.0.2.103:3002");
	u = uri_ok("isbn:2983792873");
	check_slice(u.opaque, "2983792873");
	u = uri_ok("http://www.example.com");
	assert_int_equal(u.scheme, SB_URI_OTHER);
	u = uri_ok("name:John_Smith");
	check_slice(u.opaque, "John_Smith");
	/* "sipx" is not "sip" */
	u = uri_ok("sipx:foo");
	assert_int_equal(u.scheme, SB_URI_OTHER);

	uri_bad("foo:");
	uri_bad("foo");
	uri_bad(":foo");
	uri_bad("1foo:bar");
	uri_bad("f_o:bar");
}

/* ---------------------------------------------------------- comparison */

static void test_equal_rfc3261_examples(void **state)
{
	(void)state;
	/* RFC 3261 §19.1.4: equivalent pairs */
	assert_true(ueq("sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp"));
	assert_true(ueq("sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5"));
	assert_true(ueq("sip:carol@chicago.com", "sip:carol@chicago.com;security=on"));
	assert_true(ueq("sip:carol@chicago.com;newparam=5", "sip:carol@chicago.com;security=on"));
	assert_true(ueq("sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
			"sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com"));
	assert_true(ueq("sip:alice@atlanta.com?subject=project%20x&priority=urgent",
			"sip:alice@atlanta.com?priority=urgent&subject=project%20x"));

	/* RFC 3261 §19.1.4: non-equivalent pairs */
	assert_false(ueq("SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP"));
	assert_false(ueq("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"));
	assert_false(ueq("sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp"));
	assert_false(ueq("sip:bob@biloxi.com", "sip:bob@biloxi.com:6000;transport=tcp"));
	assert_false(ueq("sip:carol@chicago.com", "sip:carol@chicago.com?Subject=next%20meeting"));
	assert_false(ueq("sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4"));
	assert_false(ueq("sip:carol@chicago.com;security=on", "sip:carol@chicago.com;security=off"));
}

static void test_equal_components(void **state)
{
	(void)state;
	assert_true(ueq("sip:a@b.com", "sip:a@b.com"));
	/* sip and sips differ */
	assert_false(ueq("sip:a@b.com", "sips:a@b.com"));
	/* scheme name case does not matter */
	assert_true(ueq("SIP:a@b.com", "sip:a@b.com"));
	/* userinfo is case-sensitive, host is not */
	assert_false(ueq("sip:Alice@b.com", "sip:alice@b.com"));
	assert_true(ueq("sip:alice@B.Com", "sip:alice@b.com"));
	assert_false(ueq("sip:a:pw@b.com", "sip:a:PW@b.com"));
	assert_false(ueq("sip:a:pw@b.com", "sip:a@b.com"));
	assert_true(ueq("sip:a:p%77@b.com", "sip:a:pw@b.com"));
	assert_false(ueq("sip:a@b.com", "sip:b.com"));
	/* ports */
	assert_true(ueq("sip:a@b.com:5060", "sip:a@b.com:5060"));
	assert_false(ueq("sip:a@b.com:5060", "sip:a@b.com:5061"));
	/* the five must-match parameters */
	assert_false(ueq("sip:+1@b.com;user=phone", "sip:+1@b.com"));
	assert_true(ueq("sip:+1@b.com;user=phone", "sip:+1@b.com;USER=Phone"));
	assert_false(ueq("sip:b.com;ttl=1", "sip:b.com"));
	assert_false(ueq("sip:b.com;ttl=1", "sip:b.com;ttl=2"));
	assert_false(ueq("sip:b.com;method=INVITE", "sip:b.com"));
	assert_false(ueq("sip:b.com;maddr=10.0.0.1", "sip:b.com"));
	assert_false(ueq("sip:b.com;maddr=10.0.0.1", "sip:b.com;maddr=10.0.0.2"));
	assert_true(ueq("sip:b.com;%74ransport=tcp", "sip:b.com;transport=TCP"));
	assert_false(ueq("sip:b.com;transport", "sip:b.com;transport=udp"));
	/* other parameters only when in both: lr is one of them */
	assert_true(ueq("sip:b.com;lr", "sip:b.com"));
	assert_true(ueq("sip:b.com;lr", "sip:b.com;LR"));
	assert_false(ueq("sip:b.com;lr", "sip:b.com;lr=on"));
	assert_true(ueq("sip:b.com;foo=Bar", "sip:b.com;FOO=bar"));
	assert_true(ueq("sip:b.com;n%61me=v%61lue", "sip:b.com;name=value"));
	/* a repeated name counts once, with its first value (found by the
	 * fuzzer: such a URI did not equal itself) */
	assert_true(ueq("sip:b.com;x=1;x=2", "sip:b.com;x=1;x=2"));
	assert_true(ueq("sip:b.com;x=1;x=2", "sip:b.com;x=1"));
	assert_false(ueq("sip:b.com;x=2;x=1", "sip:b.com;x=1"));
	assert_true(ueq("tel:+1;ext=1;ext=2", "tel:+1;ext=1;ext=2"));
	assert_true(ueq("sip:b.com?a=1&a=2", "sip:b.com?a=2&a=1"));
	/* headers: all must match, in any order */
	assert_false(ueq("sip:b.com?a=1", "sip:b.com?a=1&b=2"));
	assert_false(ueq("sip:b.com?a=1&a=2", "sip:b.com?a=1&b=2"));
	assert_true(ueq("sip:b.com?A=1", "sip:b.com?a=1"));
	assert_false(ueq("sip:b.com?a=x", "sip:b.com?a=X"));
	assert_true(ueq("sip:b.com?a=%41", "sip:b.com?a=A"));
	/* other schemes: name case-insensitive, the rest exact */
	assert_true(ueq("FOO:bar", "foo:bar"));
	assert_false(ueq("foo:bar", "foo:BAR"));
	assert_false(ueq("foo:bar", "fo:bar"));
	assert_false(ueq("tel:+1", "sip:+1@b.com"));
}

static void test_equal_escapes(void **state)
{
	(void)state;
	/* RFC 4475 §3.1.1.3 esc01 */
	assert_true(ueq("sip:%75se%72@example.com", "sip:user@example.com"));
	assert_true(ueq("sip:%75se%72@example.com", "sip:%75SE%72@example.com") == false);
	assert_true(ueq("sip:user@example.com", "sip:us%65r@example.com"));
	/* RFC 3261 §19.1.4: only characters outside the reserved set equal
	 * their escaped form; hex digit case does not matter */
	assert_false(ueq("sip:a%3bb@example.com", "sip:a;b@example.com"));
	assert_true(ueq("sip:a%3bb@example.com", "sip:a%3Bb@example.com"));
	/* RFC 4475 §3.1.1.4 escnull: %00 and %00%00 are distinct, and the
	 * comparison does not stop at the NUL */
	assert_false(ueq("sip:%00@host5.example.com", "sip:%00%00@host5.example.com"));
	assert_true(ueq("sip:%00@host5.example.com", "sip:%00@host5.example.com"));
	assert_false(ueq("sip:null-%00-null@example.com", "sip:null-%00-nulx@example.com"));
	assert_true(ueq("sip:null-%00-null@example.com", "sip:null-%00-null@example.com"));
}

static void test_equal_ipv6(void **state)
{
	(void)state;
	assert_true(ueq("sip:[2001:db8::10]", "sip:[2001:DB8:0:0::10]"));
	assert_true(ueq("sip:[2001:db8::192.0.2.1]", "sip:[2001:db8:::192.0.2.1]"));
	assert_true(ueq("sip:[::ffff:192.0.2.2]", "sip:[::FFFF:c000:202]"));
	assert_false(ueq("sip:[2001:db8::10]", "sip:[2001:db8::11]"));
	assert_false(ueq("sip:[2001:db8::10]", "sip:[2001:db8::10]:5060"));
	assert_false(ueq("sip:[::1]", "sip:localhost"));
}

static void test_equal_tel(void **state)
{
	(void)state;
	/* RFC 3966 §4 */
	assert_true(ueq("tel:+1-201-555-0123", "tel:+12015550123"));
	assert_true(ueq("tel:+1(201)555.0123;EXT=12", "tel:+12015550123;ext=12"));
	assert_true(ueq("tel:+1;a=1;b=2", "tel:+1;b=2;a=1"));
	assert_false(ueq("tel:+12015550123;ext=12", "tel:+12015550123"));
	assert_false(ueq("tel:+12015550123;ext=12", "tel:+12015550123;ext=13"));
	assert_false(ueq("tel:+12015550123", "tel:+12015550124"));
	assert_false(ueq("tel:+1201555012", "tel:+12015550123"));
	assert_false(ueq("tel:5550123;phone-context=+1201", "tel:+12015550123"));
	assert_true(ueq("tel:7aB;phone-context=x", "tel:7Ab;phone-context=X"));
}

/* ------------------------------------------------------------ unescape */

static void test_unescape(void **state)
{
	(void)state;
	char out[32];
	size_t n = 99;
	/* RFC 4475 §3.1.1.3: decoded once, never recursively */
	assert_int_equal(sb_uri_unescape(SB_LIT("v%61lue%25%34%31"), out, sizeof out, &n), 0);
	assert_int_equal(n, 8);
	assert_memory_equal(out, "value%41", 8);
	assert_int_equal(sb_uri_unescape(SB_LIT("a%00b"), out, sizeof out, &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(out, "a\0b", 3);
	assert_int_equal(sb_uri_unescape(SB_LIT("%7e%7E"), out, sizeof out, &n), 0);
	assert_memory_equal(out, "~~", 2);
	assert_int_equal(sb_uri_unescape(SB_LIT(""), out, sizeof out, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(sb_uri_unescape(exact("ab%4"), out, sizeof out, &n), EBADMSG);
	assert_int_equal(sb_uri_unescape(exact("%"), out, sizeof out, &n), EBADMSG);
	assert_int_equal(sb_uri_unescape(SB_LIT("%g1"), out, sizeof out, &n), EBADMSG);
	assert_int_equal(sb_uri_unescape(SB_LIT("abcd"), out, 3, &n), ENOSPC);
	assert_int_equal(sb_uri_unescape(SB_LIT("a%41"), out, 2, &n), 0);
	assert_int_equal(n, 2);
	assert_memory_equal(out, "aA", 2);
}

/* -------------------------------------------------------------- params */

static void test_param_next(void **state)
{
	(void)state;
	struct sb_slice rest, name, value;
	bool bad = true;

	/* RFC 4475 §3.1.1.1 wsinv: LWS, folds, around ';' and '=' */
	rest = exact(" ; newparam =\r\n      newvalue ;\r\n  secondparam ; q = 0.33");
	assert_true(sb_param_next(&rest, &name, &value, &bad));
	assert_false(bad);
	check_slice(name, "newparam");
	check_slice(value, "newvalue");
	assert_true(sb_param_next(&rest, &name, &value, &bad));
	check_slice(name, "secondparam");
	check_slice(value, NULL);
	assert_true(sb_param_next(&rest, &name, &value, &bad));
	check_slice(name, "q");
	check_slice(value, "0.33");
	assert_false(sb_param_next(&rest, &name, &value, &bad));
	assert_false(bad);

	/* no leading ';'; quoted values keep quotes and escapes */
	rest = exact("a=\"x;\\\"y\\\\\";b=[2001:db8::1]");
	assert_true(sb_param_next(&rest, &name, &value, &bad));
	check_slice(name, "a");
	check_slice(value, "\"x;\\\"y\\\\\"");
	assert_true(sb_param_next(&rest, &name, &value, &bad));
	check_slice(name, "b");
	check_slice(value, "[2001:db8::1]");
	assert_false(sb_param_next(&rest, &name, &value, &bad));
	assert_false(bad);

	/* a NULL bad pointer is allowed */
	rest = exact("x");
	assert_true(sb_param_next(&rest, &name, &value, NULL));
	assert_false(sb_param_next(&rest, &name, &value, NULL));
	rest = SB_SLICE_NULL;
	assert_false(sb_param_next(&rest, &name, &value, &bad));
	assert_false(bad);
}

static void param_bad(const char *s, unsigned good_before)
{
	struct sb_slice rest = exact(s), name, value;
	bool bad = false;
	unsigned n = 0;
	while (sb_param_next(&rest, &name, &value, &bad))
		n++;
	if (!bad || n != good_before)
		print_error("params '%s': bad=%d after %u\n", s, bad, n);
	assert_true(bad);
	assert_int_equal(n, good_before);
}

static void test_param_malformed(void **state)
{
	(void)state;
	param_bad(";;;;", 0);                  /* RFC 4475 §3.1.2.1 badinv01 */
	param_bad("a;;b", 1);
	param_bad("a;", 1);
	param_bad("a=", 0);
	param_bad("a = ", 0);
	param_bad("=b", 0);
	param_bad("a=\"unterminated", 0);
	param_bad("a=\"ends in backslash\\", 0);
	param_bad("a=\"x\"y", 0);
	param_bad("a b", 0);
	param_bad("a=b c", 0);
	param_bad("a\r\nb", 0);                /* a line end that is not a fold */
	param_bad("a,b", 0);
}

static void test_param_find(void **state)
{
	(void)state;
	struct sb_slice v;
	struct sb_slice p = exact("branch=z9hG4bK1;RPort;Received=192.0.2.1");
	assert_int_equal(sb_param_find(p, "received", &v), 0);
	check_slice(v, "192.0.2.1");
	assert_int_equal(sb_param_find(p, "rport", &v), 0);
	check_slice(v, NULL);
	assert_int_equal(sb_param_find(p, "BRANCH", &v), 0);
	check_slice(v, "z9hG4bK1");
	assert_int_equal(sb_param_find(p, "branc", &v), ENOENT);
	assert_int_equal(sb_param_find(p, "branchx", &v), ENOENT);
	assert_int_equal(sb_param_find(p, "maddr", &v), ENOENT);
	assert_int_equal(sb_param_find(exact("a;;b"), "b", &v), EBADMSG);
	assert_int_equal(sb_param_find(SB_SLICE_NULL, "b", &v), ENOENT);
}

/* ------------------------------------------------ the class table */

static bool in(const char *set, int c)
{
	return c != 0 && strchr(set, c) != NULL;
}

/* Every byte of the table against the RFC 3261 §25.1 definitions. */
static void test_class_table(void **state)
{
	(void)state;
	const char *alpha = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
	const char *digit = "0123456789", *hex = "0123456789abcdefABCDEF";
	const char *mark = "-_.!~*'()";
	for (int c = 0; c < 256; c++) {
		bool a = in(alpha, c), d = in(digit, c), an = a || d, un = an || in(mark, c);
		unsigned want = 0;
		if (an || in("-.!%*_+`'~", c))
			want |= SB_CC_TOKEN;
		if (d)
			want |= SB_CC_DIGIT;
		if (a)
			want |= SB_CC_ALPHA;
		if (in(hex, c))
			want |= SB_CC_HEX;
		if (c == ' ' || c == '\t')
			want |= SB_CC_WS;
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			want |= SB_CC_LWS;
		if (an)
			want |= SB_CC_ALNUM;
		if (an || c == '-')
			want |= SB_CC_HOST;
		if (c > 0x20 && c < 0x7f && !in(";=,\"<>", c))
			want |= SB_CC_PARAM;
		if (an || c == '-' || c == '.')
			want |= SB_CC_HOSTCH;
		if ((c == '\t' || (c >= 0x20 && c != 0x7f)) && c != '"' && c != '\\')
			want |= SB_CC_QTEXT;
		if (un || in("&=+$,;?/", c))
			want |= SB_CC_URI_USER;
		if (un || in("&=+$,", c))
			want |= SB_CC_URI_PASS;
		if (un || in("[]/:&+$", c))
			want |= SB_CC_URI_PARAM;
		if (un || in("[]/?:+$", c))
			want |= SB_CC_URI_HNV;
		if (sb_sip_cc[c] != want)
			print_error("byte 0x%02x: 0x%04x, want 0x%04x\n", c, sb_sip_cc[c], want);
		assert_int_equal(sb_sip_cc[c], want);
	}
}

/* IPv4 is read in one pass with the hostport; a run that goes on past a
 * dotted quad is classified whole, as before. */
static void test_ipv4_edges(void **state)
{
	(void)state;
	static const struct {
		const char *host;
		enum sb_host_type type;
	} hosts[] = {
		{ "0.0.0.0", SB_HOST_IPV4 },          { "255.255.255.255", SB_HOST_IPV4 },
		{ "010.001.000.009", SB_HOST_IPV4 },  /* leading zeros: 1*3DIGIT */
		{ "256.1.1.1", SB_HOST_NONE },        { "1.256.1.1", SB_HOST_NONE },
		{ "1.1.1.256", SB_HOST_NONE },        { "1.2.3", SB_HOST_NONE },
		{ "1.2.3.4.5", SB_HOST_NONE },        { "1.2.3.4.", SB_HOST_NONE },
		{ ".1.2.3.4", SB_HOST_NONE },         { "1..2.3", SB_HOST_NONE },
		{ "0001.1.1.1", SB_HOST_NONE },       { "1.1.1.0001", SB_HOST_NONE },
		{ "1.2.3.4a", SB_HOST_NONE },         /* toplabel "4a" */
		{ "1.2.3.a4", SB_HOST_NAME },         /* toplabel "a4" */
		{ "1.2.3.4-x", SB_HOST_NONE },        { "1-2.example", SB_HOST_NAME },
		{ "999.999.999.999", SB_HOST_NONE },  { "1", SB_HOST_NONE },
	};
	char text[64];
	for (size_t i = 0; i < SB_ARRAY_LEN(hosts); i++) {
		const char *h = hosts[i].host;
		assert_int_equal(sb_host_classify(exact(h)), hosts[i].type);
		/* the same host in a URI, alone, with a port and with params */
		static const char *const forms[] = { "sip:%s", "sip:u@%s:5060", "sip:%s;lr" };
		for (size_t f = 0; f < SB_ARRAY_LEN(forms); f++) {
			snprintf(text, sizeof text, forms[f], h);
			struct sb_uri u;
			int err = sb_uri_parse(&u, exact(text));
			expect_parse(err, hosts[i].type == SB_HOST_NONE ? EBADMSG : 0, text);
			if (!err) {
				check_slice(u.host, h);
				assert_int_equal(u.host_type, hosts[i].type);
				assert_int_equal(u.port, f == 1 ? 5060 : 0);
			}
		}
		/* and as a Via sent-by, LWS around the colon */
		snprintf(text, sizeof text, "SIP/2.0/UDP %s : 5070 ;branch=z9hG4bKx", h);
		struct sb_via v;
		int err = sb_via_parse(&v, exact(text));
		expect_parse(err, hosts[i].type == SB_HOST_NONE ? EBADMSG : 0, text);
		if (!err) {
			check_slice(v.host, h);
			assert_int_equal(v.port, 5070);
		}
	}
	uri_bad("sip:1.2.3.4:0");
	assert_int_equal(uri_ok("sip:1.2.3.4:65535").port, 65535);
}

/* Parameters with LWS and folds around ';' and '=', quoted values with
 * escaped quotes, at lengths around the scanners' 4-byte steps. */
static void test_param_lws_and_quotes(void **state)
{
	(void)state;
	struct sb_slice rest, name, value;
	bool bad;
	rest = exact("  ;\tbranch = z9hG4bK776 ;rport; x=\"a\\\"b;c\" ;\r\n y = \"\\\\\" ;"
		     " long-name-of-many-bytes=value-of-many-bytes-too");
	static const char *const want[][2] = {
		{ "branch", "z9hG4bK776" }, { "rport", NULL },  { "x", "\"a\\\"b;c\"" },
		{ "y", "\"\\\\\"" },        { "long-name-of-many-bytes", "value-of-many-bytes-too" },
	};
	for (size_t i = 0; i < SB_ARRAY_LEN(want); i++) {
		assert_true(sb_param_next(&rest, &name, &value, &bad));
		assert_false(bad);
		check_slice(name, want[i][0]);
		check_slice(value, want[i][1]);
	}
	assert_false(sb_param_next(&rest, &name, &value, &bad));
	assert_false(bad);
	/* quoted text of every length to 40, escapes at the end */
	char text[64], q[48];
	for (size_t k = 0; k <= 40; k++) {
		memset(q, 'q', k);
		q[k] = '\0';
		snprintf(text, sizeof text, "a=\"%s\\\"\";b", q);
		rest = exact(text);
		assert_true(sb_param_next(&rest, &name, &value, &bad));
		assert_int_equal(value.l, k + 4);
		assert_true(sb_param_next(&rest, &name, &value, &bad));
		check_slice(name, "b");
		/* unterminated, or a bare control byte inside: malformed */
		snprintf(text, sizeof text, "a=\"%s\\\"", q);
		rest = exact(text);
		assert_false(sb_param_next(&rest, &name, &value, &bad));
		assert_true(bad);
		snprintf(text, sizeof text, "a=\"%s\x01\"", q);
		rest = exact(text);
		assert_false(sb_param_next(&rest, &name, &value, &bad));
		assert_true(bad);
	}
	/* unquoted values of every length to 40 (scanned 16 bytes a step),
	 * a byte that ends one at every place: ';' starts the next parameter,
	 * anything else there is malformed but LWS at the end */
	static const char enders[] = { ';', '=', ',', '"', '<', '>', ' ', '\t', 0x7f,
				       (char)0x80, (char)0xff, 0x01 };
	for (size_t k = 2; k <= 40; k++) {
		for (size_t at = 1; at < k; at++) {
			for (size_t e = 0; e < sizeof enders; e++) {
				char v[48];
				memset(v, 'v', k);
				v[at] = enders[e];
				snprintf(text, sizeof text, "n=%.*s", (int)k, v);
				char *copy = dup_exact(text, k + 2);
				rest = sb_slice_from(copy, k + 2);
				bool got = sb_param_next(&rest, &name, &value, &bad);
				/* LWS at the very end is trimmed, not malformed */
				bool lws_last = (enders[e] == ' ' || enders[e] == '\t') && at == k - 1;
				if (enders[e] == ';' || lws_last) {
					assert_true(got);
					check_slice(name, "n");
					assert_int_equal(value.l, at);
				} else {
					assert_false(got);
					assert_true(bad);
				}
				free(copy);
			}
			/* and as a name */
			char *nm = malloc(k); /* exact size: ASan sees a read past it */
			assert_non_null(nm);
			memset(nm, 'n', k);
			nm[at] = ';';
			rest = sb_slice_from(nm, k);
			assert_true(sb_param_next(&rest, &name, &value, &bad));
			assert_int_equal(name.l, at);
			free(nm);
		}
	}
	/* UTF-8, HTAB and a fold are quoted text */
	rest = exact("a=\"\xc3\xa9\tx\r\n y\"");
	assert_true(sb_param_next(&rest, &name, &value, &bad));
	check_slice(value, "\"\xc3\xa9\tx\r\n y\"");
	rest = exact("a=\"x\r\ny\"");
	assert_false(sb_param_next(&rest, &name, &value, &bad));
	assert_true(bad);
}

/* A URI parse sets every field it does not fill absent. */
static void test_uri_cleared(void **state)
{
	(void)state;
	static const char *const inputs[] = { "x", "sip:h", "tel:+1", "sip:a@b:0", "urn:x" };
	for (size_t i = 0; i < SB_ARRAY_LEN(inputs); i++) {
		struct sb_uri u;
		memset(&u, 0xa5, sizeof u);
		int err = sb_uri_parse(&u, exact(inputs[i]));
		expect_parse(err, i == 0 || i == 3 ? EBADMSG : 0, inputs[i]);
		assert_int_equal(u.scheme, i == 0 ? SB_URI_OTHER : i == 2 ? SB_URI_TEL
					   : i == 4 ? SB_URI_OTHER : SB_URI_SIP);
		if (i == 0)
			check_absent(u.scheme_s);
		if (i != 2)
			check_absent(u.user);
		check_absent(u.password);
		if (i != 1)
			check_absent(u.host);
		assert_int_equal(u.host_type, i == 1 ? SB_HOST_NAME : SB_HOST_NONE);
		assert_int_equal(u.port, 0);
		check_absent(u.params);
		check_absent(u.headers);
		if (i != 4)
			check_absent(u.opaque);
		check_absent(u.transport);
		check_absent(u.maddr);
		check_absent(u.user_param);
		check_absent(u.method);
		check_absent(u.ttl);
		assert_false(u.lr);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_full_sip_uri, free_all),
		cmocka_unit_test_teardown(test_minimal_sip_uri, free_all),
		cmocka_unit_test_teardown(test_scheme_case, free_all),
		cmocka_unit_test_teardown(test_semiuri, free_all),
		cmocka_unit_test_teardown(test_intmeth_uri, free_all),
		cmocka_unit_test_teardown(test_escaped_uris, free_all),
		cmocka_unit_test_teardown(test_ipv6_hosts, free_all),
		cmocka_unit_test_teardown(test_ipv6_bytes, free_all),
		cmocka_unit_test_teardown(test_ipv4_and_names, free_all),
		cmocka_unit_test_teardown(test_ports, free_all),
		cmocka_unit_test_teardown(test_params_and_headers, free_all),
		cmocka_unit_test_teardown(test_lws_and_brackets_rejected, free_all),
		cmocka_unit_test_teardown(test_bound, free_all),
		cmocka_unit_test_teardown(test_slice_bounds, free_all),
		cmocka_unit_test_teardown(test_tel, free_all),
		cmocka_unit_test_teardown(test_other_schemes, free_all),
		cmocka_unit_test_teardown(test_equal_rfc3261_examples, free_all),
		cmocka_unit_test_teardown(test_equal_components, free_all),
		cmocka_unit_test_teardown(test_equal_escapes, free_all),
		cmocka_unit_test_teardown(test_equal_ipv6, free_all),
		cmocka_unit_test_teardown(test_equal_tel, free_all),
		cmocka_unit_test_teardown(test_unescape, free_all),
		cmocka_unit_test_teardown(test_param_next, free_all),
		cmocka_unit_test_teardown(test_param_malformed, free_all),
		cmocka_unit_test_teardown(test_param_find, free_all),
		cmocka_unit_test_teardown(test_class_table, free_all),
		cmocka_unit_test_teardown(test_ipv4_edges, free_all),
		cmocka_unit_test_teardown(test_param_lws_and_quotes, free_all),
		cmocka_unit_test_teardown(test_uri_cleared, free_all),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
