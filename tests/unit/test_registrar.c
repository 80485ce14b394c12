/* Unit tests for registrar: RFC 3261 §10.3 on REGISTER requests written as
 * C strings, parsed with sb_sip_parse, answered into a buffer and parsed
 * back.  The loop runs on the manual clock, so expiry is checked to the
 * millisecond.  RFC 4475 cases: escnull, unksm2, cparam01, cparam02,
 * regescrt (their INDEX.md outcomes). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "switchboard/registrar.h"
#include "testutil.h"

struct fx {
	struct sb_loop *loop;
	struct sb_location *loc;
	struct sb_registrar *reg;
	struct sb_tp_rx rx;
	struct sb_buf out;
	struct sb_sip_msg req;     /* the last request */
	struct sb_sip_msg resp;    /* its response, parsed */
	char *resp_copy;
};

static struct fx *fx_new(uint32_t max_bindings, uint32_t max_per_aor, const char *const *domains)
{
	struct fx *f = calloc(1, sizeof *f);
	assert_non_null(f);
	struct sb_loop_cfg lc = { .manual_clock = true };
	assert_int_equal(sb_loop_alloc(&f->loop, &lc), 0);
	struct sb_location_cfg cfg = { .loop = f->loop, .max_bindings = max_bindings,
				       .max_per_aor = max_per_aor };
	assert_int_equal(sb_location_alloc(&f->loc, &cfg), 0);
	struct sb_registrar_cfg rc = { .location = f->loc, .loop = f->loop, .domains = domains,
				       .tag_seed = 1 };
	assert_int_equal(sb_registrar_alloc(&f->reg, &rc), 0);
	f->rx.proto = SB_TP_TCP;
	f->rx.conn_id = 5;
	assert_int_equal(sb_addr_parse(&f->rx.src, "203.0.113.5", 34567), 0);
	sb_buf_init(&f->out, 0);
	return f;
}

static void fx_free(struct fx *f)
{
	sb_registrar_free(f->reg);
	sb_location_free(f->loc);
	assert_int_equal(sb_loop_timer_count(f->loop), 0);
	sb_loop_free(f->loop);
	sb_buf_free(&f->out);
	free(f->resp_copy);
	free(f);
	free_all(NULL);
}

/* Handle one REGISTER (text with \r\n line ends); returns the status code. */
static unsigned reg(struct fx *f, const char *text)
{
	struct sb_slice s = exact(text);
	assert_int_equal(sb_sip_parse(&f->req, s.p, s.l, SB_SIP_DATAGRAM), 0);
	sb_buf_reset(&f->out);
	f->rx.msg = &f->req;
	assert_int_equal(sb_registrar_handle(f->reg, &f->req, &f->rx, 0, &f->out), 0);
	free(f->resp_copy);
	f->resp_copy = dup_exact(f->out.p, f->out.len);
	assert_int_equal(sb_sip_parse(&f->resp, f->resp_copy, f->out.len, SB_SIP_DATAGRAM), 0);
	assert_false(f->resp.is_request);
	return f->resp.status;
}

/* The i-th Contact of the last response: its URI and expires param. */
static unsigned resp_contacts(struct fx *f)
{
	return sb_sip_hdr_count(&f->resp, SB_HDR_CONTACT);
}

static void resp_contact(struct fx *f, unsigned i, const char *uri, uint32_t expires,
			 const char *q)
{
	struct sb_sip_values it;
	struct sb_slice v;
	sb_sip_values_init(&it, &f->resp, SB_HDR_CONTACT);
	for (unsigned k = 0; k <= i; k++)
		assert_true(sb_sip_values_next(&it, &v, NULL));
	struct sb_nameaddr na;
	assert_int_equal(sb_nameaddr_parse(&na, v), 0);
	check_slice(na.uri_s, uri);
	uint32_t e;
	assert_int_equal(sb_contact_expires(&na, &e), 0);
	assert_int_equal(e, expires);
	if (q)
		check_slice(na.q, q);
	else
		check_absent(na.q);
}

static size_t bindings(struct fx *f, const char *aor, const struct sb_binding **out, size_t max)
{
	return sb_location_lookup(f->loc, sb_slice_cstr(aor), out, max);
}

#define HDRS(cid, cseq)                                                  \
	"REGISTER sip:example.com SIP/2.0\r\n"                           \
	"Via: SIP/2.0/TCP 10.0.0.7:5060;branch=z9hG4bK" cid cseq "\r\n"  \
	"Max-Forwards: 70\r\n"                                           \
	"From: <sip:alice@example.com>;tag=f1\r\n"                       \
	"To: <sip:alice@example.com>\r\n"                                \
	"Call-ID: " cid "\r\n"                                           \
	"CSeq: " cseq " REGISTER\r\n"
#define END "Content-Length: 0\r\n\r\n"
#define AOR "sip:alice@example.com"

/* ---- the basic cycle ---- */

static void test_add_exact_response(void **state)
{
	(void)state;
	struct fx *f = fx_new(0, 0, NULL);
	assert_int_equal(reg(f, HDRS("c1", "1")
			     "Contact: \"Alice\" <sip:alice@10.0.0.7:5060;transport=tcp>;q=0.5\r\n"
			     "Expires: 1800\r\n" END), 200);
	const char *want =
		"SIP/2.0 200 OK\r\n"
		"Via: SIP/2.0/TCP 10.0.0.7:5060;branch=z9hG4bKc11\r\n"
		"From: <sip:alice@example.com>;tag=f1\r\n"
		"To: <sip:alice@example.com>;tag=%s\r\n"
		"Call-ID: c1\r\n"
		"CSeq: 1 REGISTER\r\n"
		"Contact: <sip:alice@10.0.0.7:5060;transport=tcp>;expires=1800;q=0.5\r\n"
		"Content-Length: 0\r\n"
		"\r\n";
	const struct sb_nameaddr *to;
	assert_int_equal(sb_sip_msg_to(&f->resp, &to), 0);
	assert_int_equal(to->tag.l, 8);
	char tag[9], expect[1024];
	sb_slice_to_cstr(to->tag, tag, sizeof tag);
	snprintf(expect, sizeof expect, want, tag);
	assert_int_equal(f->out.len, strlen(expect));
	assert_memory_equal(f->out.p, expect, f->out.len);

	/* the binding, with the flow it came over */
	const struct sb_binding *b[4];
	assert_int_equal(bindings(f, AOR, b, 4), 1);
	check_slice(b[0]->contact, "sip:alice@10.0.0.7:5060;transport=tcp");
	check_slice(b[0]->call_id, "c1");
	assert_int_equal(b[0]->cseq, 1);
	assert_int_equal(b[0]->q1000, 500);
	assert_int_equal(b[0]->expires_at, 1800000);
	assert_int_equal(b[0]->source.proto, SB_TP_TCP);
	assert_int_equal(b[0]->source.conn_id, 5);
	assert_true(sb_addr_eq(&b[0]->source.addr, &f->rx.src));

	/* the same request again (a retransmission past the transaction)
	 * gets the same tag, and fails the CSeq order */
	assert_int_equal(reg(f, HDRS("c1", "1")
			     "Contact: <sip:alice@10.0.0.7:5060;transport=tcp>\r\n" END), 500);
	assert_int_equal(sb_sip_msg_to(&f->resp, &to), 0);
	check_slice(to->tag, tag);
	fx_free(f);
}

static void test_refresh_remove_query(void **state)
{
	(void)state;
	struct fx *f = fx_new(0, 0, NULL);
	assert_int_equal(reg(f, HDRS("c1", "1")
			     "Contact: <sip:alice@10.0.0.7>, <sip:alice@10.0.0.8>\r\n"
			     "Expires: 600\r\n" END), 200);
	assert_int_equal(resp_contacts(f), 2);
	sb_loop_advance(f->loop, 100500);
	/* refresh .7 only: listed first (newest among equal q), both listed */
	assert_int_equal(reg(f, HDRS("c1", "2")
			     "Contact: <sip:alice@10.0.0.7>;expires=900\r\n" END), 200);
	assert_int_equal(resp_contacts(f), 2);
	resp_contact(f, 0, "sip:alice@10.0.0.7", 900, NULL);
	resp_contact(f, 1, "sip:alice@10.0.0.8", 500, NULL); /* 499.5 s left: rounded up */
	assert_int_equal(sb_location_count(f->loc), 2);

	/* a query (no Contact) changes nothing and lists what is there */
	sb_loop_advance(f->loop, 10000);
	assert_int_equal(reg(f, HDRS("c1", "3") END), 200);
	assert_int_equal(resp_contacts(f), 2);
	resp_contact(f, 0, "sip:alice@10.0.0.7", 890, NULL);
	resp_contact(f, 1, "sip:alice@10.0.0.8", 490, NULL);

	/* remove one */
	assert_int_equal(reg(f, HDRS("c1", "4")
			     "Contact: <sip:alice@10.0.0.8>;expires=0\r\n" END), 200);
	assert_int_equal(resp_contacts(f), 1);
	resp_contact(f, 0, "sip:alice@10.0.0.7", 890, NULL);
	assert_int_equal(sb_location_count(f->loc), 1);
	fx_free(f);
}

static void test_star(void **state)
{
	(void)state;
	struct fx *f = fx_new(0, 0, NULL);
	assert_int_equal(reg(f, HDRS("c1", "1")
			     "Contact: <sip:alice@10.0.0.7>, <sip:alice@10.0.0.8>\r\n" END), 200);
	/* RFC 3261 §10.3 step 6: * only alone and with Expires: 0 */
	assert_int_equal(reg(f, HDRS("c1", "2") "Contact: *\r\n" END), 400);
	assert_int_equal(reg(f, HDRS("c1", "3") "Contact: *\r\nExpires: 10\r\n" END), 400);
	assert_int_equal(reg(f, HDRS("c1", "4")
			     "Contact: *\r\nContact: <sip:alice@10.0.0.9>\r\nExpires: 0\r\n" END),
			 400);
	assert_int_equal(sb_location_count(f->loc), 2);
	/* same Call-ID, CSeq not higher: the whole request fails */
	assert_int_equal(reg(f, HDRS("c1", "1") "Contact: *\r\nExpires: 0\r\n" END), 500);
	assert_int_equal(sb_location_count(f->loc), 2);
	assert_int_equal(reg(f, HDRS("c1", "5") "Contact: *\r\nExpires: 0\r\n" END), 200);
	assert_int_equal(resp_contacts(f), 0);
	assert_int_equal(sb_location_count(f->loc), 0);
	assert_int_equal(sb_loop_timer_count(f->loop), 0);
	/* another Call-ID may remove whatever its CSeq */
	assert_int_equal(reg(f, HDRS("c1", "6") "Contact: <sip:alice@10.0.0.7>\r\n" END), 200);
	assert_int_equal(reg(f, HDRS("c2", "1") "Contact: *\r\nExpires: 0\r\n" END), 200);
	assert_int_equal(sb_location_count(f->loc), 0);
	fx_free(f);
}

static void test_expiry_on_time(void **state)
{
	(void)state;
	struct fx *f = fx_new(0, 0, NULL);
	assert_int_equal(reg(f, HDRS("c1", "1")
			     "Contact: <sip:alice@10.0.0.7>\r\nExpires: 60\r\n" END), 200);
	resp_contact(f, 0, "sip:alice@10.0.0.7", 60, NULL);
	sb_loop_advance(f->loop, 59999);
	assert_int_equal(reg(f, HDRS("c1", "2") END), 200);
	assert_int_equal(resp_contacts(f), 1);
	resp_contact(f, 0, "sip:alice@10.0.0.7", 1, NULL);
	sb_loop_advance(f->loop, 1);
	assert_int_equal(reg(f, HDRS("c1", "3") END), 200);
	assert_int_equal(resp_contacts(f), 0);
	assert_int_equal(sb_location_count(f->loc), 0);
	fx_free(f);
}

/* ---- expiry intervals ---- */

static void test_interval_rules(void **state)
{
	(void)state;
	struct fx *f = fx_new(0, 0, NULL);
	/* RFC 3261 §10.3 step 7: below the minimum, 423 with Min-Expires */
	assert_int_equal(reg(f, HDRS("c1", "1")
			     "Contact: <sip:alice@10.0.0.7>\r\nExpires: 30\r\n" END), 423);
	const struct sb_sip_hdr *h = sb_sip_hdr_first(&f->resp, SB_HDR_MIN_EXPIRES);
	assert_non_null(h);
	check_slice(h->value, "60");
	check_slice(f->resp.reason, "Interval Too Brief");
	assert_int_equal(sb_location_count(f->loc), 0);
	/* one brief contact fails the whole request */
	assert_int_equal(reg(f, HDRS("c1", "2")
			     "Contact: <sip:alice@10.0.0.7>, <sip:alice@10.0.0.8>;expires=59\r\n"
			     END), 423);
	assert_int_equal(sb_location_count(f->loc), 0);
	/* the contact's expires param overrides the header */
	assert_int_equal(reg(f, HDRS("c1", "3")
			     "Contact: <sip:alice@10.0.0.7>;expires=120\r\nExpires: 30\r\n" END), 200);
	resp_contact(f, 0, "sip:alice@10.0.0.7", 120, NULL);
	/* the header overrides the default (3600) */
	assert_int_equal(reg(f, HDRS("c1", "4")
			     "Contact: <sip:alice@10.0.0.7>\r\nExpires: 100\r\n" END), 200);
	resp_contact(f, 0, "sip:alice@10.0.0.7", 100, NULL);
	assert_int_equal(reg(f, HDRS("c1", "5") "Contact: <sip:alice@10.0.0.7>\r\n" END), 200);
	resp_contact(f, 0, "sip:alice@10.0.0.7", 3600, NULL);
	/* above the maximum: shortened to it */
	assert_int_equal(reg(f, HDRS("c1", "6")
			     "Contact: <sip:alice@10.0.0.7>\r\nExpires: 7200\r\n" END), 200);
	resp_contact(f, 0, "sip:alice@10.0.0.7", 3600, NULL);
	assert_int_equal(reg(f, HDRS("c1", "7")
			     "Contact: <sip:alice@10.0.0.7>;expires=280297596632815\r\n" END), 200);
	resp_contact(f, 0, "sip:alice@10.0.0.7", 3600, NULL);
	/* malformed expiry values */
	assert_int_equal(reg(f, HDRS("c1", "8")
			     "Contact: <sip:alice@10.0.0.7>;expires=soon\r\n" END), 400);
	assert_int_equal(reg(f, HDRS("c1", "9")
			     "Contact: <sip:alice@10.0.0.7>\r\nExpires: soon\r\n" END), 400);
	assert_int_equal(reg(f, HDRS("c1", "10")
			     "Contact: <sip:alice@10.0.0.7>;q=2\r\n" END), 400);
	fx_free(f);
}

/* ---- Call-ID / CSeq order ---- */

static void test_cseq_order(void **state)
{
	(void)state;
	struct fx *f = fx_new(0, 0, NULL);
	assert_int_equal(reg(f, HDRS("c1", "10")
			     "Contact: <sip:alice@10.0.0.7>\r\nExpires: 600\r\n" END), 200);
	/* same Call-ID, CSeq equal or lower: aborted, 500, nothing changed */
	assert_int_equal(reg(f, HDRS("c1", "10")
			     "Contact: <sip:alice@10.0.0.7>\r\nExpires: 300\r\n" END), 500);
	check_slice(f->resp.reason, "Out of Order CSeq");
	assert_int_equal(reg(f, HDRS("c1", "9")
			     "Contact: <sip:alice@10.0.0.7>\r\nExpires: 0\r\n" END), 500);
	/* atomic: the new contact in the failed request was not added */
	assert_int_equal(reg(f, HDRS("c1", "9")
			     "Contact: <sip:alice@10.0.0.9>, <sip:alice@10.0.0.7>\r\n" END), 500);
	const struct sb_binding *b[4];
	assert_int_equal(bindings(f, AOR, b, 4), 1);
	assert_int_equal(b[0]->cseq, 10);
	assert_int_equal(b[0]->expires_at, 600000);
	/* another Call-ID (the phone rebooted) updates with any CSeq */
	assert_int_equal(reg(f, HDRS("c2", "1")
			     "Contact: <sip:alice@10.0.0.7>\r\nExpires: 300\r\n" END), 200);
	assert_int_equal(bindings(f, AOR, b, 4), 1);
	check_slice(b[0]->call_id, "c2");
	assert_int_equal(b[0]->cseq, 1);
	assert_int_equal(b[0]->expires_at, 300000);
	/* and then a higher CSeq of that Call-ID */
	assert_int_equal(reg(f, HDRS("c2", "2")
			     "Contact: <sip:alice@10.0.0.7>\r\nExpires: 0\r\n" END), 200);
	assert_int_equal(sb_location_count(f->loc), 0);
	fx_free(f);
}

/* ---- q order ---- */

static void test_q_order(void **state)
{
	(void)state;
	struct fx *f = fx_new(0, 0, NULL);
	assert_int_equal(reg(f, HDRS("c1", "1")
			     "Contact: <sip:alice@10.0.0.7>;q=0.5\r\n"
			     "Contact: <sip:alice@10.0.0.8>;q=0.9, <sip:alice@10.0.0.9>;q=0.125\r\n"
			     END), 200);
	const struct sb_binding *b[4];
	assert_int_equal(bindings(f, AOR, b, 4), 3);
	check_slice(b[0]->contact, "sip:alice@10.0.0.8");
	check_slice(b[1]->contact, "sip:alice@10.0.0.7");
	check_slice(b[2]->contact, "sip:alice@10.0.0.9");
	resp_contact(f, 0, "sip:alice@10.0.0.8", 3600, "0.9");
	resp_contact(f, 1, "sip:alice@10.0.0.7", 3600, "0.5");
	resp_contact(f, 2, "sip:alice@10.0.0.9", 3600, "0.125");
	fx_free(f);
}

/* The same contact twice in one REGISTER: the last value counts. */
static void test_duplicate_contact(void **state)
{
	(void)state;
	struct fx *f = fx_new(0, 1, NULL);
	assert_int_equal(reg(f, HDRS("c1", "1")
			     "Contact: <sip:alice@10.0.0.7>;expires=0, <sip:alice@10.0.0.7>;expires=300\r\n"
			     END), 200);
	assert_int_equal(resp_contacts(f), 1);
	resp_contact(f, 0, "sip:alice@10.0.0.7", 300, NULL);
	assert_int_equal(reg(f, HDRS("c1", "2")
			     "Contact: <sip:alice@10.0.0.7>;expires=300, <sip:ALICE@10.0.0.7>;expires=0\r\n"
			     END), 200);
	assert_int_equal(resp_contacts(f), 1); /* user parts are case-sensitive */
	assert_int_equal(reg(f, HDRS("c1", "3")
			     "Contact: <sip:alice@10.0.0.7>;expires=300, <sip:alice@10.0.0.7>;expires=0\r\n"
			     END), 200);
	assert_int_equal(resp_contacts(f), 0);
	fx_free(f);
}

/* ---- RFC 4475 ---- */

static void test_rfc4475_escnull(void **state)
{
	(void)state;
	struct fx *f = fx_new(0, 0, NULL);
	assert_int_equal(reg(f,
		"REGISTER sip:example.com SIP/2.0\r\n"
		"To: sip:null-%00-null@example.com\r\n"
		"From: sip:null-%00-null@example.com;tag=839923423\r\n"
		"Max-Forwards: 70\r\n"
		"Call-ID: escnull.39203ndfvkjdasfkq3w4otrq0adsfdfnavd\r\n"
		"CSeq: 14398234 REGISTER\r\n"
		"Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bKkdjuw\r\n"
		"Contact: <sip:%00@host5.example.com>\r\n"
		"Contact: <sip:%00%00@host5.example.com>\r\n"
		"L:0\r\n\r\n"), 200);
	const struct sb_binding *b[4];
	assert_int_equal(bindings(f, "sip:null-%00-null@example.com", b, 4), 2);
	check_slice(b[0]->contact, "sip:%00%00@host5.example.com");
	check_slice(b[1]->contact, "sip:%00@host5.example.com");
	assert_int_equal(resp_contacts(f), 2);
	fx_free(f);
}

static void test_rfc4475_unksm2(void **state)
{
	(void)state;
	struct fx *f = fx_new(0, 0, NULL);
	assert_int_equal(reg(f,
		"REGISTER sip:example.com SIP/2.0\r\n"
		"To: isbn:2983792873\r\n"
		"From: <http://www.example.com>;tag=3234233\r\n"
		"Call-ID: unksm2.daksdj@hyphenated-host.example.com\r\n"
		"CSeq: 234902 REGISTER\r\n"
		"Max-Forwards: 70\r\n"
		"Via: SIP/2.0/UDP 192.0.2.21:5060;branch=z9hG4bKkdjuw\r\n"
		"Contact: <name:John_Smith>\r\n"
		"l: 0\r\n\r\n"), 400);
	check_slice(f->resp.reason, "Address of Record Not SIP");
	assert_int_equal(sb_location_count(f->loc), 0);
	fx_free(f);
}

static void test_rfc4475_cparam_regescrt(void **state)
{
	(void)state;
	struct fx *f = fx_new(0, 0, NULL);
	const struct sb_binding *b[4];
	/* cparam01: without <>, ;unknownparam is a contact param, not stored */
	assert_int_equal(reg(f,
		"REGISTER sip:example.com SIP/2.0\r\n"
		"Via: SIP/2.0/UDP saturn.example.com:5060;branch=z9hG4bKkdjuw\r\n"
		"Max-Forwards: 70\r\n"
		"From: sip:watson@example.com;tag=DkfVgjkrtMwaerKKpe\r\n"
		"To: sip:watson@example.com\r\n"
		"Call-ID: cparam01.70710@saturn.example.com\r\n"
		"CSeq: 2 REGISTER\r\n"
		"Contact: sip:+19725552222@gw1.example.net;unknownparam\r\n"
		"l: 0\r\n\r\n"), 200);
	assert_int_equal(bindings(f, "sip:watson@example.com", b, 4), 1);
	check_slice(b[0]->contact, "sip:+19725552222@gw1.example.net");
	resp_contact(f, 0, "sip:+19725552222@gw1.example.net", 3600, NULL);
	/* cparam02: inside <> it is a URI param, kept (and the same URI as
	 * cparam01's by §19.1.4, so it replaces that binding's text) */
	assert_int_equal(reg(f,
		"REGISTER sip:example.com SIP/2.0\r\n"
		"Via: SIP/2.0/UDP saturn.example.com:5060;branch=z9hG4bKkdjuw\r\n"
		"Max-Forwards: 70\r\n"
		"From: sip:watson@example.com;tag=838293\r\n"
		"To: sip:watson@example.com\r\n"
		"Call-ID: cparam02.70710@saturn.example.com\r\n"
		"CSeq: 3 REGISTER\r\n"
		"Contact: <sip:+19725552222@gw1.example.net;unknownparam>\r\n"
		"l: 0\r\n\r\n"), 200);
	assert_int_equal(bindings(f, "sip:watson@example.com", b, 4), 1);
	check_slice(b[0]->contact, "sip:+19725552222@gw1.example.net;unknownparam");
	resp_contact(f, 0, "sip:+19725552222@gw1.example.net;unknownparam", 3600, NULL);
	/* regescrt: the escaped Route header stays inside the URI */
	assert_int_equal(reg(f,
		"REGISTER sip:example.com SIP/2.0\r\n"
		"To: sip:user@example.com\r\n"
		"From: sip:user@example.com;tag=8\r\n"
		"Max-Forwards: 70\r\n"
		"Call-ID: regescrt.k345asrl3fdbv@192.0.2.1\r\n"
		"CSeq: 14398234 REGISTER\r\n"
		"Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bKkdjuw\r\n"
		"M: <sip:user@example.com?Route=%3Csip:sip.example.com%3E>\r\n"
		"L:0\r\n\r\n"), 200);
	assert_int_equal(bindings(f, "sip:user@example.com", b, 4), 1);
	check_slice(b[0]->contact, "sip:user@example.com?Route=%3Csip:sip.example.com%3E");
	resp_contact(f, 0, "sip:user@example.com?Route=%3Csip:sip.example.com%3E", 3600, NULL);
	fx_free(f);
}

/* ---- domains, bounds, misuse ---- */

static void test_domains(void **state)
{
	(void)state;
	static const char *const domains[] = { "example.com", "192.0.2.1", NULL };
	struct fx *f = fx_new(0, 0, domains);
	assert_true(sb_registrar_serves(f->reg, &(struct sb_sip_msg){ 0 }) == false);
	assert_int_equal(reg(f, HDRS("c1", "1") "Contact: <sip:alice@10.0.0.7>\r\n" END), 200);
	assert_true(sb_registrar_serves(f->reg, &f->req));
	/* Request-URI of another domain */
	assert_int_equal(reg(f,
		"REGISTER sip:other.example.net SIP/2.0\r\n"
		"Via: SIP/2.0/UDP 10.0.0.7;branch=z9hG4bKx\r\n"
		"From: <sip:alice@example.com>;tag=f1\r\nTo: <sip:alice@example.com>\r\n"
		"Call-ID: d1\r\nCSeq: 1 REGISTER\r\nContact: <sip:alice@10.0.0.7>\r\n" END), 404);
	check_slice(f->resp.reason, "Domain Not Served");
	assert_false(sb_registrar_serves(f->reg, &f->req));
	/* To of another domain (RFC 3261 §10.3 step 5) */
	assert_int_equal(reg(f,
		"REGISTER sip:EXAMPLE.com SIP/2.0\r\n"
		"Via: SIP/2.0/UDP 10.0.0.7;branch=z9hG4bKx\r\n"
		"From: <sip:alice@example.com>;tag=f1\r\nTo: <sip:alice@other.example.net>\r\n"
		"Call-ID: d2\r\nCSeq: 1 REGISTER\r\nContact: <sip:alice@10.0.0.7>\r\n" END), 404);
	/* an address is a domain too */
	assert_int_equal(reg(f,
		"REGISTER sip:192.0.2.1 SIP/2.0\r\n"
		"Via: SIP/2.0/UDP 10.0.0.7;branch=z9hG4bKx\r\n"
		"From: <sip:bob@192.0.2.1>;tag=f1\r\nTo: <sip:bob@192.0.2.1>\r\n"
		"Call-ID: d3\r\nCSeq: 1 REGISTER\r\nContact: <sip:bob@10.0.0.8>\r\n" END), 200);
	assert_int_equal(sb_location_count(f->loc), 2);
	fx_free(f);
}

static void test_bounds(void **state)
{
	(void)state;
	struct fx *f = fx_new(3, 2, NULL);
	assert_int_equal(reg(f, HDRS("c1", "1")
			     "Contact: <sip:alice@10.0.0.7>, <sip:alice@10.0.0.8>\r\n" END), 200);
	/* a third contact for the AOR: 503, nothing changed */
	assert_int_equal(reg(f, HDRS("c1", "2")
			     "Contact: <sip:alice@10.0.0.9>, <sip:alice@10.0.0.7>;expires=900\r\n"
			     END), 503);
	check_slice(f->resp.reason, "Too Many Contacts");
	const struct sb_binding *b[4];
	assert_int_equal(bindings(f, AOR, b, 4), 2);
	assert_int_equal(b[0]->expires_at, 3600000);
	/* removing one in the same request makes room */
	assert_int_equal(reg(f, HDRS("c1", "3")
			     "Contact: <sip:alice@10.0.0.9>, <sip:alice@10.0.0.7>;expires=0\r\n"
			     END), 200);
	assert_int_equal(resp_contacts(f), 2);
	assert_null(sb_location_find(f->loc, SB_LIT(AOR), SB_LIT("sip:alice@10.0.0.7")));
	assert_non_null(sb_location_find(f->loc, SB_LIT(AOR), SB_LIT("sip:alice@10.0.0.9")));
	/* the location is full at 3 bindings */
	assert_int_equal(reg(f,
		"REGISTER sip:example.com SIP/2.0\r\n"
		"Via: SIP/2.0/UDP 10.0.0.7;branch=z9hG4bKx\r\n"
		"From: <sip:bob@example.com>;tag=f1\r\nTo: <sip:bob@example.com>\r\n"
		"Call-ID: b1\r\nCSeq: 1 REGISTER\r\n"
		"Contact: <sip:bob@10.0.0.1>, <sip:bob@10.0.0.2>\r\n" END), 503);
	check_slice(f->resp.reason, "Too Many Bindings");
	assert_int_equal(sb_location_count(f->loc), 2);
	fx_free(f);
}

static void test_misuse(void **state)
{
	(void)state;
	struct fx *f = fx_new(0, 0, NULL);
	const char *inv = "OPTIONS sip:example.com SIP/2.0\r\n"
			  "Via: SIP/2.0/UDP 10.0.0.7;branch=z9hG4bKx\r\n"
			  "From: <sip:a@example.com>;tag=1\r\nTo: <sip:a@example.com>\r\n"
			  "Call-ID: x\r\nCSeq: 1 OPTIONS\r\n" END;
	struct sb_slice s = exact(inv);
	assert_int_equal(sb_sip_parse(&f->req, s.p, s.l, SB_SIP_DATAGRAM), 0);
	sb_buf_reset(&f->out);
	assert_int_equal(sb_registrar_handle(f->reg, &f->req, NULL, 0, &f->out), EINVAL);
	assert_int_equal(f->out.len, 0);
	/* a full output buffer: ENOSPC, nothing printed, nothing changed */
	s = exact(HDRS("c1", "1") "Contact: <sip:alice@10.0.0.7>\r\n" END);
	assert_int_equal(sb_sip_parse(&f->req, s.p, s.l, SB_SIP_DATAGRAM), 0);
	char small[64];
	struct sb_buf tiny;
	sb_buf_init_fixed(&tiny, small, sizeof small);
	assert_int_equal(sb_registrar_handle(f->reg, &f->req, NULL, 0, &tiny), ENOSPC);
	assert_int_equal(tiny.len, 0);
	/* bad configurations */
	struct sb_registrar *r = NULL;
	struct sb_registrar_cfg rc = { .location = f->loc, .loop = f->loop,
				       .min_expires = 600, .max_expires = 60 };
	assert_int_equal(sb_registrar_alloc(&r, &rc), EINVAL);
	rc = (struct sb_registrar_cfg){ .location = f->loc };
	assert_int_equal(sb_registrar_alloc(&r, &rc), EINVAL);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_exact_response),
		cmocka_unit_test(test_refresh_remove_query),
		cmocka_unit_test(test_star),
		cmocka_unit_test(test_expiry_on_time),
		cmocka_unit_test(test_interval_rules),
		cmocka_unit_test(test_cseq_order),
		cmocka_unit_test(test_q_order),
		cmocka_unit_test(test_duplicate_contact),
		cmocka_unit_test(test_rfc4475_escnull),
		cmocka_unit_test(test_rfc4475_unksm2),
		cmocka_unit_test(test_rfc4475_cparam_regescrt),
		cmocka_unit_test(test_domains),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_misuse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
