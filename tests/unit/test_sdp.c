/* Unit tests for the SDP module (RFC 8866, RFC 3264): exact fields of the
 * SDP bodies in the RFC 4475 / RFC 5118 corpus (copied here as literals),
 * a desk phone's offer, hold and its answer, parse -> print -> parse round
 * trips, the offer builder, the accessors, and the inputs the parser must
 * reject. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "switchboard/sdp.h"

#include "testutil.h"

/* The struct is tens of KiB; tests keep theirs on the heap. */
static struct sb_sdp *new_sdp(void)
{
	struct sb_sdp *s = malloc(sizeof *s);
	assert_non_null(s);
	return s;
}

static int parse_str(struct sb_sdp *s, const char *body)
{
	return sb_sdp_parse(s, sb_slice_cstr(body));
}

static int parse_mem(struct sb_sdp *s, const char *body, size_t len)
{
	return sb_sdp_parse(s, sb_slice_from(body, len));
}

/* ------------------------------------------------------ corpus bodies */

/* RFC 4475 §3.1.1.1 wsinv (also the body of sdp01, clerr, ncl, longreq,
 * with other addresses). */
static const char wsinv_body[] = "v=0\r\n"
				 "o=mhandley 29739 7272939 IN IP4 192.0.2.3\r\n"
				 "s=-\r\n"
				 "c=IN IP4 192.0.2.4\r\n"
				 "t=0 0\r\n"
				 "m=audio 49217 RTP/AVP 0 12\r\n"
				 "m=video 3227 RTP/AVP 31\r\n"
				 "a=rtpmap:31 LPC\r\n";

/* RFC 4475 §3.4.1 inv2543 */
static const char inv2543_body[] = "v=0\r\n"
				   "o=mhandley 29739 7272939 IN IP4 192.0.2.5\r\n"
				   "s=-\r\n"
				   "c=IN IP4 192.0.2.5\r\n"
				   "t=0 0\r\n"
				   "m=audio 49217 RTP/AVP 0\r\n";

/* RFC 4475 §3.1.2.18 mismatch02: no s= and no t= */
static const char mismatch02_body[] = "v=0\r\n"
				      "o=mhandley 29739 7272939 IN IP4 192.0.2.1\r\n"
				      "c=IN IP4 192.0.2.1\r\n"
				      "m=audio 49217 RTP/AVP 0 12\r\n"
				      "m=video 3227 RTP/AVP 31\r\n"
				      "a=rtpmap:31 LPC\r\n";

/* RFC 5118 §4.6 ipv6-in-sdp (wire form, CRLF) */
static const char ipv6_in_sdp_body[] = "v=0\r\n"
				       "o=assistant 971731711378798081 0 IN IP6 2001:db8::20\r\n"
				       "s=Live video feed for today's meeting\r\n"
				       "c=IN IP6 2001:db8::20\r\n"
				       "t=3338481189 3370017201\r\n"
				       "m=audio 6000 RTP/AVP 2\r\n"
				       "a=rtpmap:2 G726-32/8000\r\n"
				       "m=video 6024 RTP/AVP 107\r\n"
				       "a=rtpmap:107 H263-1998/90000\r\n";

/* RFC 5118 §4.8 mult-ip-in-sdp, as in the RFC's archive: bare LF */
static const char mult_ip_in_sdp_lf_body[] = "v=0\n"
					     "o=bob 280744730 28977631 IN IP4 host.example.com\n"
					     "s=\n"
					     "t=0 0\n"
					     "m=audio 22334 RTP/AVP 0\n"
					     "c=IN IP4 192.0.2.1\n"
					     "m=video 6024 RTP/AVP 107\n"
					     "c=IN IP6 2001:db8::1\n"
					     "a=rtpmap:107 H263-1998/90000\n";

/* RFC 5118 §4.9 ipv4-mapped-ipv6 */
static const char ipv4_mapped_body[] = "v=0\r\n"
				       "o=assistant 971731711378798081 0 IN IP6 ::ffff:192.0.2.2\r\n"
				       "s=Call me soon, please!\r\n"
				       "c=IN IP6 ::ffff:192.0.2.2\r\n"
				       "t=3338481189 3370017201\r\n"
				       "m=audio 6000 RTP/AVP 2\r\n"
				       "a=rtpmap:2 G726-32/8000\r\n"
				       "m=video 6024 RTP/AVP 107\r\n"
				       "a=rtpmap:107 H263-1998/90000\r\n";

/* --------------------------------------------------------- phone bodies */

static const char phone_offer[] = "v=0\r\n"
				  "o=alice 2890844526 2890844526 IN IP4 192.0.2.10\r\n"
				  "s=-\r\n"
				  "c=IN IP4 192.0.2.10\r\n"
				  "t=0 0\r\n"
				  "m=audio 49170 RTP/AVP 0 8 101\r\n"
				  "a=rtpmap:0 PCMU/8000\r\n"
				  "a=rtpmap:8 PCMA/8000\r\n"
				  "a=rtpmap:101 telephone-event/8000\r\n"
				  "a=fmtp:101 0-16\r\n"
				  "a=ptime:20\r\n"
				  "a=sendrecv\r\n";

/* RFC 3264 §8.4: hold is a re-offer with sendonly and a higher version */
static const char hold_offer[] = "v=0\r\n"
				 "o=alice 2890844526 2890844527 IN IP4 192.0.2.10\r\n"
				 "s=-\r\n"
				 "c=IN IP4 192.0.2.10\r\n"
				 "t=0 0\r\n"
				 "m=audio 49170 RTP/AVP 0 101\r\n"
				 "a=rtpmap:0 PCMU/8000\r\n"
				 "a=rtpmap:101 telephone-event/8000\r\n"
				 "a=fmtp:101 0-16\r\n"
				 "a=ptime:20\r\n"
				 "a=sendonly\r\n";

static const char hold_answer[] = "v=0\r\n"
				  "o=bob 2808844564 2808844565 IN IP4 192.0.2.20\r\n"
				  "s=-\r\n"
				  "c=IN IP4 192.0.2.20\r\n"
				  "t=0 0\r\n"
				  "m=audio 3456 RTP/AVP 0 101\r\n"
				  "a=rtpmap:0 PCMU/8000\r\n"
				  "a=rtpmap:101 telephone-event/8000\r\n"
				  "a=fmtp:101 0-16\r\n"
				  "a=recvonly\r\n";

/* Every session-level line type, plus multicast, port count and rtcp. */
static const char full_body[] = "v=0\r\n"
				"o=jdoe 3724394400 3724394405 IN IP4 198.51.100.1\r\n"
				"s=Call to John Smith\r\n"
				"i=SDP Offer #1\r\n"
				"u=http://www.jdoe.example.com/home.html\r\n"
				"e=Jane Doe <jane@jdoe.example.com>\r\n"
				"p=+1 617 555-6011\r\n"
				"c=IN IP4 198.51.100.1\r\n"
				"b=AS:128\r\n"
				"t=0 0\r\n"
				"r=7d 1h 0 25h\r\n"
				"z=2882844526 -1h 2898848070 0\r\n"
				"k=prompt\r\n"
				"a=recvonly\r\n"
				"a=tool:sbphone 0.1\r\n"
				"m=audio 49170 RTP/AVP 0\r\n"
				"i=voice\r\n"
				"b=TIAS:64000\r\n"
				"m=video 51372 RTP/AVP 99\r\n"
				"c=IN IP6 2001:db8::2\r\n"
				"a=rtpmap:99 h263-1998/90000\r\n"
				"a=rtcp:53020 IN IP6 2001:db8::2\r\n"
				"a=inactive\r\n"
				"m=application 32416/2 udp wb\r\n"
				"c=IN IP4 224.2.17.12/127/2\r\n"
				"a=orient:portrait\r\n"
				"a=recvonly:x\r\n"
				"a=ptime:abc\r\n";

/* ------------------------------------------------------- corpus tests */

static void test_wsinv(void **state)
{
	(void)state;
	struct sb_sdp *s = new_sdp();
	assert_int_equal(parse_str(s, wsinv_body), 0);
	check_slice(s->origin.username, "mhandley");
	assert_int_equal(s->origin.sess_id, 29739);
	assert_int_equal(s->origin.sess_version, 7272939);
	check_slice(s->origin.nettype, "IN");
	check_slice(s->origin.addrtype, "IP4");
	assert_int_equal(s->origin.af, SB_SDP_AF_IP4);
	check_slice(s->origin.addr, "192.0.2.3");
	check_slice(s->name, "-");
	check_slice(s->conn.nettype, "IN");
	assert_int_equal(s->conn.af, SB_SDP_AF_IP4);
	check_slice(s->conn.addr, "192.0.2.4");
	check_absent(s->conn.multicast);
	assert_int_equal(s->ntime, 1);
	assert_int_equal(s->times[0].start, 0);
	assert_int_equal(s->times[0].stop, 0);
	assert_int_equal(s->dir, SB_SDP_DIR_NONE);
	assert_int_equal(s->nattr, 0);
	assert_int_equal(s->nmedia, 2);

	const struct sb_sdp_media *a = &s->media[0], *v = &s->media[1];
	check_slice(a->type, "audio");
	assert_int_equal(a->port, 49217);
	assert_int_equal(a->port_count, 0);
	check_slice(a->proto, "RTP/AVP");
	assert_int_equal(a->nfmt, 2);
	check_slice(a->fmts[0], "0");
	check_slice(a->fmts[1], "12");
	assert_int_equal(a->nrtpmap, 0);
	check_absent(a->conn.addr);

	check_slice(v->type, "video");
	assert_int_equal(v->port, 3227);
	check_slice(v->proto, "RTP/AVP");
	assert_int_equal(v->nfmt, 1);
	check_slice(v->fmts[0], "31");
	assert_int_equal(v->nrtpmap, 1);
	assert_int_equal(v->rtpmap[0].pt, 31);
	check_slice(v->rtpmap[0].encoding, "LPC"); /* no clock rate on the line */
	assert_int_equal(v->rtpmap[0].clock, 0);
	assert_int_equal(v->rtpmap[0].channels, 0);
	assert_int_equal(v->nattr, 0);

	/* both streams use the session c= and default to sendrecv */
	const struct sb_sdp_conn *c = sb_sdp_media_conn(s, a);
	assert_ptr_equal(c, &s->conn);
	assert_ptr_equal(sb_sdp_media_conn(s, v), &s->conn);
	assert_int_equal(sb_sdp_media_dir(s, a), SB_SDP_DIR_SENDRECV);

	/* static PT 0 and 12 come from RFC 3551; the explicit rtpmap for 31
	 * wins over the static H261 */
	struct sb_sdp_rtpmap r;
	assert_int_equal(sb_sdp_find_rtpmap(a, 0, &r), 0);
	check_slice(r.encoding, "PCMU");
	assert_int_equal(r.clock, 8000);
	assert_int_equal(sb_sdp_find_rtpmap(a, 12, &r), 0);
	check_slice(r.encoding, "QCELP");
	assert_int_equal(sb_sdp_find_rtpmap(v, 31, &r), 0);
	check_slice(r.encoding, "LPC");
	assert_int_equal(r.clock, 0);
	assert_int_equal(sb_sdp_find_rtpmap(a, 31, &r), 0);
	check_slice(r.encoding, "H261");
	assert_int_equal(sb_sdp_find_rtpmap(a, 96, &r), ENOENT);
	free(s);
}

static void test_inv2543(void **state)
{
	(void)state;
	struct sb_sdp *s = new_sdp();
	assert_int_equal(parse_str(s, inv2543_body), 0);
	check_slice(s->origin.addr, "192.0.2.5");
	check_slice(s->conn.addr, "192.0.2.5");
	assert_int_equal(s->nmedia, 1);
	assert_int_equal(s->media[0].port, 49217);
	assert_int_equal(s->media[0].nfmt, 1);
	check_slice(s->media[0].fmts[0], "0");
	free(s);
}

static void test_mismatch02_missing_s_and_t(void **state)
{
	(void)state;
	struct sb_sdp *s = new_sdp();
	/* RFC 8866 §5: s= is mandatory and comes third */
	assert_int_equal(parse_str(s, mismatch02_body), EBADMSG);
	free(s);
}

static void test_ipv6_in_sdp(void **state)
{
	(void)state;
	struct sb_sdp *s = new_sdp();
	assert_int_equal(parse_str(s, ipv6_in_sdp_body), 0);
	check_slice(s->origin.username, "assistant");
	assert_true(s->origin.sess_id == 971731711378798081ull);
	assert_int_equal(s->origin.sess_version, 0);
	check_slice(s->origin.addrtype, "IP6");
	assert_int_equal(s->origin.af, SB_SDP_AF_IP6);
	check_slice(s->origin.addr, "2001:db8::20");
	check_slice(s->name, "Live video feed for today's meeting");
	check_slice(s->conn.addrtype, "IP6");
	assert_int_equal(s->conn.af, SB_SDP_AF_IP6);
	check_slice(s->conn.addr, "2001:db8::20");
	assert_int_equal(s->ntime, 1);
	assert_true(s->times[0].start == 3338481189ull);
	assert_true(s->times[0].stop == 3370017201ull);
	assert_int_equal(s->nmedia, 2);

	const struct sb_sdp_media *a = &s->media[0], *v = &s->media[1];
	check_slice(a->type, "audio");
	assert_int_equal(a->port, 6000);
	check_slice(a->fmts[0], "2");
	assert_int_equal(a->nrtpmap, 1);
	assert_int_equal(a->rtpmap[0].pt, 2);
	check_slice(a->rtpmap[0].encoding, "G726-32");
	assert_int_equal(a->rtpmap[0].clock, 8000);
	check_slice(v->type, "video");
	assert_int_equal(v->port, 6024);
	check_slice(v->fmts[0], "107");
	assert_int_equal(v->rtpmap[0].pt, 107);
	check_slice(v->rtpmap[0].encoding, "H263-1998");
	assert_int_equal(v->rtpmap[0].clock, 90000);
	assert_ptr_equal(sb_sdp_media_conn(s, v), &s->conn);
	free(s);
}

static void test_mult_ip_in_sdp(void **state)
{
	(void)state;
	struct sb_sdp *s = new_sdp();
	/* the RFC's archive bytes: bare LF line ends (RFC 8866 §5) */
	assert_int_equal(parse_str(s, mult_ip_in_sdp_lf_body), 0);
	check_slice(s->origin.username, "bob");
	assert_int_equal(s->origin.sess_id, 280744730);
	assert_int_equal(s->origin.sess_version, 28977631);
	check_slice(s->origin.addr, "host.example.com");
	check_slice(s->name, ""); /* present, empty */
	check_absent(s->conn.addr);
	assert_int_equal(s->nmedia, 2);

	const struct sb_sdp_media *a = &s->media[0], *v = &s->media[1];
	assert_int_equal(a->port, 22334);
	assert_int_equal(a->conn.af, SB_SDP_AF_IP4);
	check_slice(a->conn.addr, "192.0.2.1");
	assert_int_equal(v->port, 6024);
	assert_int_equal(v->conn.af, SB_SDP_AF_IP6);
	check_slice(v->conn.addrtype, "IP6");
	check_slice(v->conn.addr, "2001:db8::1");
	assert_int_equal(v->nrtpmap, 1);
	check_slice(v->rtpmap[0].encoding, "H263-1998");

	/* effective addresses: each stream its own */
	assert_ptr_equal(sb_sdp_media_conn(s, a), &a->conn);
	assert_ptr_equal(sb_sdp_media_conn(s, v), &v->conn);
	free(s);

	/* the wire form (CRLF) gives the same values */
	static const char crlf[] = "v=0\r\n"
				   "o=bob 280744730 28977631 IN IP4 host.example.com\r\n"
				   "s= \r\n" /* RFC 8866 §5.3: never an empty s= line */
				   "t=0 0\r\n"
				   "m=audio 22334 RTP/AVP 0\r\n"
				   "c=IN IP4 192.0.2.1\r\n"
				   "m=video 6024 RTP/AVP 107\r\n"
				   "c=IN IP6 2001:db8::1\r\n"
				   "a=rtpmap:107 H263-1998/90000\r\n";
	s = new_sdp();
	assert_int_equal(parse_str(s, crlf), 0);
	check_slice(s->media[1].conn.addr, "2001:db8::1");
	check_slice(s->media[0].conn.addr, "192.0.2.1");
	free(s);
}

static void test_ipv4_mapped_ipv6(void **state)
{
	(void)state;
	struct sb_sdp *s = new_sdp();
	assert_int_equal(parse_str(s, ipv4_mapped_body), 0);
	assert_int_equal(s->origin.af, SB_SDP_AF_IP6);
	check_slice(s->origin.addr, "::ffff:192.0.2.2");
	check_slice(s->name, "Call me soon, please!");
	assert_int_equal(s->conn.af, SB_SDP_AF_IP6);
	check_slice(s->conn.addr, "::ffff:192.0.2.2");
	assert_int_equal(s->nmedia, 2);
	check_slice(s->media[0].rtpmap[0].encoding, "G726-32");
	assert_int_equal(s->media[1].rtpmap[0].clock, 90000);
	free(s);
}

/* ---------------------------------------------------------- phone tests */

static void test_phone_offer(void **state)
{
	(void)state;
	struct sb_sdp *s = new_sdp();
	assert_int_equal(parse_str(s, phone_offer), 0);
	assert_int_equal(s->nmedia, 1);
	const struct sb_sdp_media *m = &s->media[0];
	assert_int_equal(m->port, 49170);
	assert_int_equal(m->nfmt, 3);
	check_slice(m->fmts[2], "101");
	assert_int_equal(m->nrtpmap, 3);
	assert_int_equal(m->rtpmap[2].pt, 101);
	check_slice(m->rtpmap[2].encoding, "telephone-event");
	assert_int_equal(m->rtpmap[2].clock, 8000);
	assert_int_equal(m->nfmtp, 1);
	assert_int_equal(m->fmtp[0].pt, 101);
	check_slice(m->fmtp[0].params, "0-16");
	assert_ptr_equal(sb_sdp_find_fmtp(m, 101), &m->fmtp[0]);
	assert_null(sb_sdp_find_fmtp(m, 0));
	assert_int_equal(m->ptime, 20);
	assert_int_equal(m->dir, SB_SDP_DIR_SENDRECV);
	assert_int_equal(m->nattr, 0); /* all typed */
	assert_int_equal(sb_sdp_media_dir(s, m), SB_SDP_DIR_SENDRECV);

	struct sb_sdp_rtpmap r;
	assert_int_equal(sb_sdp_find_rtpmap(m, 8, &r), 0);
	check_slice(r.encoding, "PCMA");
	assert_int_equal(r.clock, 8000);
	free(s);
}

static void test_hold_offer_and_answer(void **state)
{
	(void)state;
	struct sb_sdp *o = new_sdp(), *a = new_sdp();
	assert_int_equal(parse_str(o, hold_offer), 0);
	assert_int_equal(o->origin.sess_version, 2890844527ull);
	assert_int_equal(o->media[0].dir, SB_SDP_DIR_SENDONLY);
	assert_int_equal(sb_sdp_media_dir(o, &o->media[0]), SB_SDP_DIR_SENDONLY);

	assert_int_equal(parse_str(a, hold_answer), 0);
	assert_int_equal(sb_sdp_media_dir(a, &a->media[0]), SB_SDP_DIR_RECVONLY);
	assert_int_equal(a->media[0].ptime, 0);
	assert_int_equal(a->media[0].port, 3456);

	/* RFC 3264 §6.1 */
	assert_int_equal(sb_sdp_dir_answer(SB_SDP_DIR_SENDONLY, SB_SDP_DIR_SENDRECV),
			 SB_SDP_DIR_RECVONLY);
	assert_int_equal(sb_sdp_dir_answer(SB_SDP_DIR_RECVONLY, SB_SDP_DIR_SENDRECV),
			 SB_SDP_DIR_SENDONLY);
	assert_int_equal(sb_sdp_dir_answer(SB_SDP_DIR_SENDRECV, SB_SDP_DIR_SENDRECV),
			 SB_SDP_DIR_SENDRECV);
	assert_int_equal(sb_sdp_dir_answer(SB_SDP_DIR_NONE, SB_SDP_DIR_NONE),
			 SB_SDP_DIR_SENDRECV);
	assert_int_equal(sb_sdp_dir_answer(SB_SDP_DIR_INACTIVE, SB_SDP_DIR_SENDRECV),
			 SB_SDP_DIR_INACTIVE);
	assert_int_equal(sb_sdp_dir_answer(SB_SDP_DIR_SENDONLY, SB_SDP_DIR_SENDONLY),
			 SB_SDP_DIR_INACTIVE);
	assert_int_equal(sb_sdp_dir_answer(SB_SDP_DIR_SENDRECV, SB_SDP_DIR_SENDONLY),
			 SB_SDP_DIR_SENDONLY);
	assert_string_equal(sb_sdp_dir_name(SB_SDP_DIR_RECVONLY), "recvonly");
	assert_string_equal(sb_sdp_dir_name(SB_SDP_DIR_NONE), "");
	free(o);
	free(a);
}

static void test_session_direction_inherited(void **state)
{
	(void)state;
	static const char body[] = "v=0\r\n"
				   "o=- 1 2 IN IP4 192.0.2.10\r\n"
				   "s= \r\n"
				   "c=IN IP4 0.0.0.0\r\n"
				   "t=0 0\r\n"
				   "a=inactive\r\n"
				   "m=audio 49170 RTP/AVP 0\r\n"
				   "m=audio 49172 RTP/AVP 8\r\n"
				   "a=sendrecv\r\n";
	struct sb_sdp *s = new_sdp();
	assert_int_equal(parse_str(s, body), 0);
	assert_int_equal(s->dir, SB_SDP_DIR_INACTIVE);
	/* "s= " is RFC 8866 §5.3's "no name": read as empty */
	assert_non_null(s->name.p);
	assert_int_equal(s->name.l, 0);
	assert_int_equal(s->media[0].dir, SB_SDP_DIR_NONE);
	assert_int_equal(sb_sdp_media_dir(s, &s->media[0]), SB_SDP_DIR_INACTIVE);
	assert_int_equal(sb_sdp_media_dir(s, &s->media[1]), SB_SDP_DIR_SENDRECV);
	check_slice(sb_sdp_media_conn(s, &s->media[0])->addr, "0.0.0.0");
	/* no rtpmap lines: the static assignments of RFC 3551 §6 */
	struct sb_sdp_rtpmap r;
	assert_int_equal(sb_sdp_find_rtpmap(&s->media[1], 8, &r), 0);
	assert_int_equal(r.pt, 8);
	check_slice(r.encoding, "PCMA");
	assert_int_equal(r.clock, 8000);
	assert_int_equal(r.channels, 0);
	assert_int_equal(sb_sdp_find_rtpmap(&s->media[0], 0, &r), 0);
	check_slice(r.encoding, "PCMU");
	assert_int_equal(r.clock, 8000);
	assert_int_equal(sb_sdp_find_rtpmap(&s->media[0], 101, &r), ENOENT);
	free(s);
}

static void test_full_session(void **state)
{
	(void)state;
	struct sb_sdp *s = new_sdp();
	assert_int_equal(parse_str(s, full_body), 0);
	check_slice(s->info, "SDP Offer #1");
	check_slice(s->uri, "http://www.jdoe.example.com/home.html");
	assert_int_equal(s->nemail, 1);
	check_slice(s->emails[0], "Jane Doe <jane@jdoe.example.com>");
	assert_int_equal(s->nphone, 1);
	check_slice(s->phones[0], "+1 617 555-6011");
	assert_int_equal(s->nbw, 1);
	check_slice(s->bw[0].type, "AS");
	assert_int_equal(s->bw[0].value, 128);
	assert_int_equal(s->times[0].nrepeat, 1);
	check_slice(s->times[0].repeat[0], "7d 1h 0 25h");
	check_slice(s->zone, "2882844526 -1h 2898848070 0");
	check_slice(s->key, "prompt");
	assert_int_equal(s->dir, SB_SDP_DIR_RECVONLY);
	assert_int_equal(s->nattr, 1);
	check_slice(s->attrs[0].name, "tool");
	check_slice(s->attrs[0].value, "sbphone 0.1");
	assert_int_equal(s->nmedia, 3);

	const struct sb_sdp_media *a = &s->media[0], *v = &s->media[1], *w = &s->media[2];
	check_slice(a->info, "voice");
	assert_int_equal(a->nbw, 1);
	check_slice(a->bw[0].type, "TIAS");
	assert_int_equal(a->bw[0].value, 64000);
	assert_int_equal(sb_sdp_media_dir(s, a), SB_SDP_DIR_RECVONLY);

	check_slice(v->conn.addr, "2001:db8::2");
	assert_true(v->has_rtcp);
	assert_int_equal(v->rtcp_port, 53020);
	check_slice(v->rtcp_conn.addrtype, "IP6");
	check_slice(v->rtcp_conn.addr, "2001:db8::2");
	assert_int_equal(sb_sdp_media_dir(s, v), SB_SDP_DIR_INACTIVE);

	check_slice(w->type, "application");
	assert_int_equal(w->port, 32416);
	assert_int_equal(w->port_count, 2);
	check_slice(w->proto, "udp");
	check_slice(w->fmts[0], "wb");
	check_slice(w->conn.addr, "224.2.17.12");
	check_slice(w->conn.multicast, "127/2");
	/* unknown, a direction with a value, malformed ptime: all kept raw */
	assert_int_equal(w->nattr, 3);
	check_slice(w->attrs[0].name, "orient");
	check_slice(w->attrs[0].value, "portrait");
	check_slice(w->attrs[1].name, "recvonly");
	check_slice(w->attrs[1].value, "x");
	check_slice(w->attrs[2].name, "ptime");
	check_slice(w->attrs[2].value, "abc");
	assert_int_equal(w->ptime, 0);
	assert_int_equal(w->dir, SB_SDP_DIR_NONE);
	free(s);
}

static void test_property_and_empty_attr(void **state)
{
	(void)state;
	static const char body[] = "v=0\r\n"
				   "o=- 1 1 IN IP4 192.0.2.1\r\n"
				   "s=-\r\n"
				   "t=0 0\r\n"
				   "a=ice-lite\r\n"
				   "a=x-empty:\r\n"
				   "m=audio 5004 RTP/AVP 0\r\n"
				   "a=sendonly \r\n"; /* trailing blank tolerated */
	struct sb_sdp *s = new_sdp();
	assert_int_equal(parse_str(s, body), 0);
	assert_int_equal(s->nattr, 2);
	check_slice(s->attrs[0].name, "ice-lite");
	check_absent(s->attrs[0].value);
	check_slice(s->attrs[1].name, "x-empty");
	check_slice(s->attrs[1].value, "");
	assert_int_equal(s->media[0].dir, SB_SDP_DIR_SENDONLY);
	/* no c= anywhere: no effective address */
	assert_null(sb_sdp_media_conn(s, &s->media[0]));
	free(s);
}

/* -------------------------------------------------------- round trips */

static void round_trip(const char *body)
{
	struct sb_sdp *a = new_sdp(), *b = new_sdp();
	struct sb_buf out;
	assert_int_equal(parse_str(a, body), 0);
	sb_buf_init(&out, 0);
	assert_int_equal(sb_sdp_print(&out, a), 0);
	assert_int_equal(parse_mem(b, out.p, out.len), 0);

	assert_int_equal(a->nmedia, b->nmedia);
	assert_true(sb_slice_eq(a->origin.username, b->origin.username));
	assert_true(a->origin.sess_id == b->origin.sess_id);
	assert_true(a->origin.sess_version == b->origin.sess_version);
	assert_true(sb_slice_eq(a->origin.addr, b->origin.addr));
	assert_true(sb_slice_eq(a->name, b->name));
	assert_true(sb_slice_eq(a->conn.addr, b->conn.addr));
	assert_int_equal(a->dir, b->dir);
	assert_int_equal(a->nattr, b->nattr);
	assert_int_equal(a->ntime, b->ntime);
	for (size_t i = 0; i < a->nmedia; i++) {
		const struct sb_sdp_media *x = &a->media[i], *y = &b->media[i];
		assert_true(sb_slice_eq(x->type, y->type));
		assert_int_equal(x->port, y->port);
		assert_int_equal(x->port_count, y->port_count);
		assert_true(sb_slice_eq(x->proto, y->proto));
		assert_int_equal(x->nfmt, y->nfmt);
		for (size_t j = 0; j < x->nfmt; j++)
			assert_true(sb_slice_eq(x->fmts[j], y->fmts[j]));
		assert_int_equal(x->nrtpmap, y->nrtpmap);
		for (size_t j = 0; j < x->nrtpmap; j++) {
			assert_int_equal(x->rtpmap[j].pt, y->rtpmap[j].pt);
			assert_true(sb_slice_eq(x->rtpmap[j].encoding, y->rtpmap[j].encoding));
			assert_int_equal(x->rtpmap[j].clock, y->rtpmap[j].clock);
			assert_int_equal(x->rtpmap[j].channels, y->rtpmap[j].channels);
		}
		assert_int_equal(x->nfmtp, y->nfmtp);
		assert_int_equal(x->ptime, y->ptime);
		assert_int_equal(x->dir, y->dir);
		assert_true(sb_slice_eq(x->conn.addr, y->conn.addr));
		assert_true(sb_slice_eq(x->conn.multicast, y->conn.multicast));
		assert_int_equal(x->nattr, y->nattr);
		assert_int_equal(x->has_rtcp, y->has_rtcp);
		assert_int_equal(x->rtcp_port, y->rtcp_port);
	}
	/* printing the re-parse gives the very same bytes (a fixed point) */
	struct sb_buf out2;
	sb_buf_init(&out2, 0);
	assert_int_equal(sb_sdp_print(&out2, b), 0);
	assert_int_equal(out.len, out2.len);
	assert_memory_equal(out.p, out2.p, out.len);
	sb_buf_free(&out);
	sb_buf_free(&out2);
	free(a);
	free(b);
}

static void test_round_trip_all(void **state)
{
	(void)state;
	round_trip(wsinv_body);
	round_trip(inv2543_body);
	round_trip(ipv6_in_sdp_body);
	round_trip(mult_ip_in_sdp_lf_body);
	round_trip(ipv4_mapped_body);
	round_trip(phone_offer);
	round_trip(hold_offer);
	round_trip(hold_answer);
	round_trip(full_body);
}

static void test_print_exact(void **state)
{
	(void)state;
	/* a body already in printer order and form prints back byte for byte */
	struct sb_sdp *s = new_sdp();
	struct sb_buf out;
	const char *bodies[] = { wsinv_body, inv2543_body, ipv6_in_sdp_body, phone_offer,
				 hold_offer, hold_answer };
	for (size_t i = 0; i < SB_ARRAY_LEN(bodies); i++) {
		assert_int_equal(parse_str(s, bodies[i]), 0);
		sb_buf_init(&out, 0);
		assert_int_equal(sb_sdp_print(&out, s), 0);
		assert_int_equal(out.len, strlen(bodies[i]));
		assert_memory_equal(out.p, bodies[i], out.len);
		sb_buf_free(&out);
	}
	/* LF input prints as CRLF */
	assert_int_equal(parse_str(s, mult_ip_in_sdp_lf_body), 0);
	sb_buf_init(&out, 0);
	assert_int_equal(sb_sdp_print(&out, s), 0);
	static const char want[] = "v=0\r\n"
				   "o=bob 280744730 28977631 IN IP4 host.example.com\r\n"
				   "s= \r\n" /* RFC 8866 §5.3: never an empty s= line */
				   "t=0 0\r\n"
				   "m=audio 22334 RTP/AVP 0\r\n"
				   "c=IN IP4 192.0.2.1\r\n"
				   "m=video 6024 RTP/AVP 107\r\n"
				   "c=IN IP6 2001:db8::1\r\n"
				   "a=rtpmap:107 H263-1998/90000\r\n";
	assert_int_equal(out.len, strlen(want));
	assert_memory_equal(out.p, want, out.len);
	sb_buf_free(&out);
	free(s);
}

static void test_print_edit_hold(void **state)
{
	(void)state;
	/* what a phone does for hold: take its last offer, bump the version,
	 * set sendonly, print (RFC 3264 §8, §8.4) */
	struct sb_sdp *s = new_sdp();
	assert_int_equal(parse_str(s, phone_offer), 0);
	s->origin.sess_version++;
	s->media[0].dir = SB_SDP_DIR_SENDONLY;
	struct sb_buf out;
	sb_buf_init(&out, 0);
	assert_int_equal(sb_sdp_print(&out, s), 0);
	struct sb_sdp *h = new_sdp();
	assert_int_equal(parse_mem(h, out.p, out.len), 0);
	assert_true(h->origin.sess_version == 2890844527ull);
	assert_int_equal(sb_sdp_media_dir(h, &h->media[0]), SB_SDP_DIR_SENDONLY);
	sb_buf_free(&out);
	free(h);
	free(s);
}

static void test_print_rejects_bad_fields(void **state)
{
	(void)state;
	struct sb_sdp *s = new_sdp();
	struct sb_buf out;
	sb_buf_init(&out, 0);
	sb_buf_append_cstr(&out, "keep");

	assert_int_equal(parse_str(s, phone_offer), 0);
	s->name = SB_LIT("evil\r\na=injected");
	assert_int_equal(sb_sdp_print(&out, s), EINVAL);
	assert_int_equal(out.len, 4); /* restored */

	assert_int_equal(parse_str(s, phone_offer), 0);
	s->origin.username = SB_LIT("two words");
	assert_int_equal(sb_sdp_print(&out, s), EINVAL);

	assert_int_equal(parse_str(s, phone_offer), 0);
	s->media[0].rtpmap[0].encoding = SB_LIT("PC/MU");
	assert_int_equal(sb_sdp_print(&out, s), EINVAL);

	assert_int_equal(parse_str(s, phone_offer), 0);
	s->ntime = 0;
	assert_int_equal(sb_sdp_print(&out, s), EINVAL);

	assert_int_equal(parse_str(s, phone_offer), 0);
	s->media[0].nfmt = 0;
	assert_int_equal(sb_sdp_print(&out, s), EINVAL);
	assert_int_equal(out.len, 4);
	assert_int_equal(out.err, 0);
	sb_buf_free(&out);

	/* a buffer too small: ENOSPC and the buffer unchanged */
	char mem[64];
	sb_buf_init_fixed(&out, mem, sizeof mem);
	assert_int_equal(parse_str(s, phone_offer), 0);
	assert_int_equal(sb_sdp_print(&out, s), ENOSPC);
	assert_int_equal(out.len, 0);
	free(s);
}

/* ----------------------------------------------------- offer builder */

static void test_print_offer(void **state)
{
	(void)state;
	struct sb_sdp_codec codecs[] = { SB_SDP_CODEC_PCMU, SB_SDP_CODEC_PCMA,
					 SB_SDP_CODEC_TELEPHONE_EVENT };
	struct sb_sdp_offer_spec spec = {
		.user = SB_LIT("alice"),
		.sess_id = 2890844526ull,
		.sess_version = 2890844526ull,
		.af = SB_SDP_AF_IP4,
		.addr = SB_LIT("192.0.2.10"),
		.port = 49170,
		.codecs = codecs,
		.ncodecs = SB_ARRAY_LEN(codecs),
		.ptime = 20,
		.dir = SB_SDP_DIR_SENDRECV,
	};
	struct sb_buf out;
	sb_buf_init(&out, 0);
	assert_int_equal(sb_sdp_print_offer(&out, &spec), 0);
	/* exactly the typical desk-phone offer */
	assert_int_equal(out.len, strlen(phone_offer));
	assert_memory_equal(out.p, phone_offer, out.len);

	/* hold re-offer: same session, version + 1, sendonly, no PCMA */
	struct sb_sdp_codec hold_codecs[] = { SB_SDP_CODEC_PCMU, SB_SDP_CODEC_TELEPHONE_EVENT };
	spec.sess_version++;
	spec.codecs = hold_codecs;
	spec.ncodecs = 2;
	spec.dir = SB_SDP_DIR_SENDONLY;
	sb_buf_reset(&out);
	assert_int_equal(sb_sdp_print_offer(&out, &spec), 0);
	assert_int_equal(out.len, strlen(hold_offer));
	assert_memory_equal(out.p, hold_offer, out.len);

	/* IPv6, anonymous user, no ptime, no direction */
	struct sb_sdp_offer_spec v6 = {
		.af = SB_SDP_AF_IP6,
		.addr = SB_LIT("2001:db8::20"),
		.sess_id = 1,
		.sess_version = 1,
		.port = 6000,
		.codecs = codecs,
		.ncodecs = 1,
	};
	sb_buf_reset(&out);
	assert_int_equal(sb_sdp_print_offer(&out, &v6), 0);
	static const char want6[] = "v=0\r\n"
				    "o=- 1 1 IN IP6 2001:db8::20\r\n"
				    "s=-\r\n"
				    "c=IN IP6 2001:db8::20\r\n"
				    "t=0 0\r\n"
				    "m=audio 6000 RTP/AVP 0\r\n"
				    "a=rtpmap:0 PCMU/8000\r\n";
	assert_int_equal(out.len, strlen(want6));
	assert_memory_equal(out.p, want6, out.len);

	/* bad specs */
	v6.ncodecs = 0;
	assert_int_equal(sb_sdp_print_offer(&out, &v6), EINVAL);
	v6.ncodecs = 1;
	v6.addr = SB_LIT("2001:db8::20 x");
	assert_int_equal(sb_sdp_print_offer(&out, &v6), EINVAL);
	v6.addr = SB_SLICE_NULL;
	assert_int_equal(sb_sdp_print_offer(&out, &v6), EINVAL);
	v6.addr = SB_LIT("::1");
	v6.af = SB_SDP_AF_OTHER;
	assert_int_equal(sb_sdp_print_offer(&out, &v6), EINVAL);
	assert_int_equal(out.len, strlen(want6)); /* untouched by failures */
	sb_buf_free(&out);
}

/* ---------------------------------------------------------- rejections */

static void test_reject_missing_version(void **state)
{
	(void)state;
	struct sb_sdp *s = new_sdp();
	assert_int_equal(parse_str(s, "o=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n"), EBADMSG);
	assert_int_equal(parse_str(s, "v=1\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n"),
			 EBADMSG);
	assert_int_equal(parse_str(s, "v=00\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n"),
			 EBADMSG);
	assert_int_equal(parse_str(s, ""), EBADMSG);
	assert_int_equal(sb_sdp_parse(s, SB_SLICE_NULL), EBADMSG);
	assert_int_equal(parse_str(s, "\r\n"), EBADMSG);
	/* order: o= must follow v=, s= must follow o= */
	assert_int_equal(parse_str(s, "v=0\r\ns=-\r\no=- 1 1 IN IP4 192.0.2.1\r\nt=0 0\r\n"),
			 EBADMSG);
	/* a second o= or s= */
	assert_int_equal(parse_str(s, "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n"
				      "o=- 1 1 IN IP4 192.0.2.1\r\n"),
			 EBADMSG);
	/* no t= at all */
	assert_int_equal(parse_str(s, "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\n"
				      "m=audio 5004 RTP/AVP 0\r\n"),
			 EBADMSG);
	assert_int_equal(parse_str(s, "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\n"), EBADMSG);
	free(s);
}

#define HEAD "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n"

static void test_reject_bad_lines(void **state)
{
	(void)state;
	struct sb_sdp *s = new_sdp();
	assert_int_equal(parse_str(s, HEAD "m=audio 5004 RTP/AVP 0\r\n"), 0);
	/* no '=' */
	assert_int_equal(parse_str(s, HEAD "this is not sdp\r\n"), EBADMSG);
	assert_int_equal(parse_str(s, HEAD "a\r\n"), EBADMSG);
	/* blanks around '=' (RFC 8866 §5) */
	assert_int_equal(parse_str(s, HEAD "m =audio 5004 RTP/AVP 0\r\n"), EBADMSG);
	/* unknown or upper-case type letter */
	assert_int_equal(parse_str(s, HEAD "x=foo\r\n"), EBADMSG);
	assert_int_equal(parse_str(s, HEAD "A=sendrecv\r\n"), EBADMSG);
	/* session-only line inside a media section */
	assert_int_equal(parse_str(s, HEAD "m=audio 5004 RTP/AVP 0\r\nt=0 0\r\n"), EBADMSG);
	/* a blank line inside the body; trailing ones are tolerated */
	assert_int_equal(parse_str(s, "v=0\r\n\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n"),
			 EBADMSG);
	assert_int_equal(parse_str(s, HEAD "m=audio 5004 RTP/AVP 0\r\n\r\n\r\n"), 0);
	/* bare CR inside a line */
	assert_int_equal(parse_str(s, HEAD "a=tool:x\ry\r\n"), EBADMSG);
	/* malformed fields */
	assert_int_equal(parse_str(s, HEAD "c=IN IP4\r\n"), EBADMSG);
	assert_int_equal(parse_str(s, HEAD "c=IN IP4 1.2.3.4 extra\r\n"), EBADMSG);
	assert_int_equal(parse_str(s, HEAD "c=IN IP4 224.2.1.1/ttl\r\n"), EBADMSG);
	assert_int_equal(parse_str(s, HEAD "c=IN IP4 1.2.3.4\r\nc=IN IP4 1.2.3.5\r\n"), EBADMSG);
	assert_int_equal(parse_str(s, HEAD "b=AS\r\n"), EBADMSG);
	assert_int_equal(parse_str(s, HEAD "b=AS:fast\r\n"), EBADMSG);
	assert_int_equal(parse_str(s, HEAD "a=\r\n"), EBADMSG);
	assert_int_equal(parse_str(s, HEAD "a=:x\r\n"), EBADMSG);
	assert_int_equal(parse_str(s, HEAD "i=a\r\ni=b\r\n"), EBADMSG);
	/* two directions at one level (RFC 3264 §5.1) */
	assert_int_equal(parse_str(s, HEAD "m=audio 5004 RTP/AVP 0\r\na=sendonly\r\na=recvonly\r\n"),
			 EBADMSG);
	/* r= before any t= */
	assert_int_equal(parse_str(s, "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nr=1d 1h 0\r\n"
				      "t=0 0\r\n"),
			 EBADMSG);
	assert_int_equal(parse_str(s, "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0\r\n"),
			 EBADMSG);
	free(s);
}

static void test_reject_bad_origin(void **state)
{
	(void)state;
	struct sb_sdp *s = new_sdp();
	const char *bad[] = {
		"v=0\r\no=- 1 1 IN IP4\r\ns=-\r\nt=0 0\r\n",
		"v=0\r\no=- x 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n",
		"v=0\r\no=- 1 -1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n",
		/* 2^64: past u64 */
		"v=0\r\no=- 18446744073709551616 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n",
		"v=0\r\no=- 1 1 IN IP4 192.0.2.1 extra\r\ns=-\r\nt=0 0\r\n",
		"v=0\r\no=- 1 1 IN IP4 224.2.1.1/127\r\ns=-\r\nt=0 0\r\n",
		"v=0\r\no=\r\ns=-\r\nt=0 0\r\n",
	};
	for (size_t i = 0; i < SB_ARRAY_LEN(bad); i++)
		assert_int_equal(parse_str(s, bad[i]), EBADMSG);
	assert_int_equal(parse_str(s, "v=0\r\no=- 18446744073709551615 1 IN IP4 192.0.2.1\r\n"
				      "s=-\r\nt=0 0\r\n"),
			 0);
	assert_true(s->origin.sess_id == UINT64_MAX);
	free(s);
}

static void test_reject_bad_media(void **state)
{
	(void)state;
	struct sb_sdp *s = new_sdp();
	/* port out of range (RFC 8866 §5.14: 16 bits) */
	assert_int_equal(parse_str(s, HEAD "m=audio 65536 RTP/AVP 0\r\n"), EBADMSG);
	assert_int_equal(parse_str(s, HEAD "m=audio 99999999999999999999999 RTP/AVP 0\r\n"), EBADMSG);
	assert_int_equal(parse_str(s, HEAD "m=audio -1 RTP/AVP 0\r\n"), EBADMSG);
	assert_int_equal(parse_str(s, HEAD "m=audio 5004/0 RTP/AVP 0\r\n"), EBADMSG);
	assert_int_equal(parse_str(s, HEAD "m=audio 5004/ RTP/AVP 0\r\n"), EBADMSG);
	assert_int_equal(parse_str(s, HEAD "m=audio 65535 RTP/AVP 0\r\n"), 0);
	assert_int_equal(s->media[0].port, 65535);
	assert_int_equal(parse_str(s, HEAD "m=audio 0 RTP/AVP 0\r\n"), 0);
	assert_int_equal(s->media[0].port, 0);
	/* no format, bad proto */
	assert_int_equal(parse_str(s, HEAD "m=audio 5004 RTP/AVP\r\n"), EBADMSG);
	assert_int_equal(parse_str(s, HEAD "m=audio 5004 RTP//AVP 0\r\n"), EBADMSG);
	assert_int_equal(parse_str(s, HEAD "m=audio 5004 RTP/AVP/ 0\r\n"), EBADMSG);
	/* m= before t= */
	assert_int_equal(parse_str(s, "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\n"
				      "m=audio 5004 RTP/AVP 0\r\nt=0 0\r\n"),
			 EBADMSG);
	/* malformed rtpmap/fmtp/rtcp are kept raw, not typed */
	assert_int_equal(parse_str(s, HEAD "m=audio 5004 RTP/AVP 0\r\n"
					   "a=rtpmap:128 X/8000\r\n"
					   "a=rtpmap:0 PCMU/\r\n"
					   "a=fmtp:101\r\n"
					   "a=rtcp:70000\r\n"
					   "a=ptime:0\r\n"),
			 0);
	assert_int_equal(s->media[0].nrtpmap, 0);
	assert_int_equal(s->media[0].nfmtp, 0);
	assert_false(s->media[0].has_rtcp);
	assert_int_equal(s->media[0].ptime, 0);
	assert_int_equal(s->media[0].nattr, 5);
	free(s);
}

static void test_reject_truncated(void **state)
{
	(void)state;
	struct sb_sdp *s = new_sdp();
	/* every proper prefix of a good body fails, none crashes (ASan sees a
	 * heap copy of exactly that length) */
	size_t n = strlen(phone_offer);
	/* the shortest valid prefix ends with the t= line */
	size_t min_ok = (size_t)(strstr(phone_offer, "t=0 0\r\n") - phone_offer) + 7;
	size_t nok = 0;
	for (size_t len = 0; len < n; len++) {
		char *cut = malloc(len ? len : 1);
		assert_non_null(cut);
		memcpy(cut, phone_offer, len);
		int err = parse_mem(s, cut, len);
		/* only prefixes made of whole lines from t= on are valid (and
		 * shorter) bodies */
		bool whole = len >= min_ok && phone_offer[len - 1] == '\n';
		assert_int_equal(err, whole ? 0 : EBADMSG);
		nok += whole;
		free(cut);
	}
	assert_int_equal(nok, 7); /* t= m= 3*rtpmap fmtp ptime */
	assert_int_equal(parse_mem(s, phone_offer, n), 0);
	/* the last line without its line end: cut short */
	assert_int_equal(parse_str(s, HEAD "m=audio 5004 RTP/AVP 0"), EBADMSG);
	assert_int_equal(parse_str(s, HEAD "m=audio 5004 RTP/AVP 0\r"), EBADMSG);
	/* lines cut inside */
	assert_int_equal(parse_str(s, HEAD "m=audio 5004\r\n"), EBADMSG);
	assert_int_equal(parse_str(s, HEAD "m=audio\r\n"), EBADMSG);
	assert_int_equal(parse_str(s, HEAD "m=\r\n"), EBADMSG);
	assert_int_equal(parse_str(s, "v=0\r\no=- 1\r\ns=-\r\nt=0 0\r\n"), EBADMSG);
	free(s);
}

static void test_reject_nul(void **state)
{
	(void)state;
	struct sb_sdp *s = new_sdp();
	static const char with_nul[] = HEAD "m=audio 5004 RTP/AVP 0\r\na=tool:x\0y\r\n";
	assert_int_equal(parse_mem(s, with_nul, sizeof with_nul - 1), EBADMSG);
	static const char nul_line[] = HEAD "\0\r\n";
	assert_int_equal(parse_mem(s, nul_line, sizeof nul_line - 1), EBADMSG);
	static const char nul_s[] = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=\0\r\nt=0 0\r\n";
	assert_int_equal(parse_mem(s, nul_s, sizeof nul_s - 1), EBADMSG);
	/* the same body without the NUL is fine: the NUL is what fails */
	static const char ok[] = HEAD "m=audio 5004 RTP/AVP 0\r\na=tool:xy\r\n";
	assert_int_equal(parse_mem(s, ok, sizeof ok - 1), 0);
	free(s);
}

/* Body with n copies of line after HEAD (and after one m= if in_media). */
static char *repeat_body(const char *line, size_t n, bool in_media)
{
	size_t cap = strlen(HEAD) + 32 + n * strlen(line) + 1;
	char *b = malloc(cap);
	assert_non_null(b);
	strcpy(b, HEAD);
	if (in_media)
		strcat(b, "m=audio 5004 RTP/AVP 0\r\n");
	for (size_t i = 0; i < n; i++)
		strcat(b, line);
	return b;
}

static void test_bounds(void **state)
{
	(void)state;
	struct sb_sdp *s = new_sdp();
	char *b;

	b = repeat_body("m=audio 5004 RTP/AVP 0\r\n", SB_SDP_MAX_MEDIA, false);
	assert_int_equal(parse_str(s, b), 0);
	assert_int_equal(s->nmedia, SB_SDP_MAX_MEDIA);
	free(b);
	b = repeat_body("m=audio 5004 RTP/AVP 0\r\n", SB_SDP_MAX_MEDIA + 1, false);
	assert_int_equal(parse_str(s, b), E2BIG);
	free(b);

	b = repeat_body("a=x\r\n", SB_SDP_MAX_ATTRS, true);
	assert_int_equal(parse_str(s, b), 0);
	assert_int_equal(s->media[0].nattr, SB_SDP_MAX_ATTRS);
	free(b);
	b = repeat_body("a=x\r\n", SB_SDP_MAX_ATTRS + 1, true);
	assert_int_equal(parse_str(s, b), E2BIG);
	free(b);
	/* typed attributes count against the same bound */
	b = repeat_body("a=rtpmap:0 PCMU/8000\r\n", SB_SDP_MAX_ATTRS + 1, true);
	assert_int_equal(parse_str(s, b), E2BIG);
	free(b);
	b = repeat_body("a=x\r\n", SB_SDP_MAX_ATTRS + 1, false);
	assert_int_equal(parse_str(s, b), E2BIG);
	free(b);

	b = repeat_body("b=AS:1\r\n", SB_SDP_MAX_BANDWIDTHS + 1, true);
	assert_int_equal(parse_str(s, b), E2BIG);
	free(b);
	b = repeat_body("t=0 0\r\n", SB_SDP_MAX_TIMES, false);
	assert_int_equal(parse_str(s, b), E2BIG); /* HEAD has one t= already */
	free(b);
	b = repeat_body("r=1d 1h 0\r\n", SB_SDP_MAX_REPEATS + 1, false);
	assert_int_equal(parse_str(s, b), E2BIG);
	free(b);
	b = repeat_body("e=a@example.com\r\n", SB_SDP_MAX_CONTACTS + 1, false);
	assert_int_equal(parse_str(s, b), E2BIG);
	free(b);
	/* a second c= in one m= (multicast layering) is past our bound */
	b = repeat_body("c=IN IP4 192.0.2.1\r\n", 2, true);
	assert_int_equal(parse_str(s, b), E2BIG);
	free(b);

	/* formats: 32 fit, 33 do not */
	char line[256] = "m=audio 5004 RTP/AVP";
	for (unsigned i = 0; i < SB_SDP_MAX_FORMATS; i++) {
		char f[8];
		snprintf(f, sizeof f, " %u", 96 + i);
		strcat(line, f);
	}
	char *ok = malloc(strlen(HEAD) + strlen(line) + 8);
	assert_non_null(ok);
	sprintf(ok, "%s%s\r\n", HEAD, line);
	assert_int_equal(parse_str(s, ok), 0);
	assert_int_equal(s->media[0].nfmt, SB_SDP_MAX_FORMATS);
	check_slice(s->media[0].fmts[SB_SDP_MAX_FORMATS - 1], "127");
	sprintf(ok, "%s%s 0\r\n", HEAD, line);
	assert_int_equal(parse_str(s, ok), E2BIG);
	free(ok);
	free(s);
}

/* RFC 8866 §5.3: s= must not be empty; an empty name prints as "s= " and
 * reads back as empty. */
static void test_empty_session_name(void **state)
{
	struct sb_sdp *s = new_sdp();
	assert_int_equal(parse_str(s, "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=\r\nt=0 0\r\n"), 0);
	assert_int_equal(s->name.l, 0);
	struct sb_buf b;
	sb_buf_init(&b, 0);
	assert_int_equal(sb_sdp_print(&b, s), 0);
	assert_non_null(memmem(b.p, b.len, "\r\ns= \r\n", 7));
	struct sb_sdp *s2 = new_sdp();
	assert_int_equal(parse_mem(s2, b.p, b.len), 0);
	assert_int_equal(s2->name.l, 0);
	sb_buf_free(&b);
	free(s);
	free(s2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wsinv),
		cmocka_unit_test(test_inv2543),
		cmocka_unit_test(test_mismatch02_missing_s_and_t),
		cmocka_unit_test(test_ipv6_in_sdp),
		cmocka_unit_test(test_mult_ip_in_sdp),
		cmocka_unit_test(test_ipv4_mapped_ipv6),
		cmocka_unit_test(test_phone_offer),
		cmocka_unit_test(test_hold_offer_and_answer),
		cmocka_unit_test(test_session_direction_inherited),
		cmocka_unit_test(test_full_session),
		cmocka_unit_test(test_property_and_empty_attr),
		cmocka_unit_test(test_round_trip_all),
		cmocka_unit_test(test_print_exact),
		cmocka_unit_test(test_print_edit_hold),
		cmocka_unit_test(test_print_rejects_bad_fields),
		cmocka_unit_test(test_print_offer),
		cmocka_unit_test(test_reject_missing_version),
		cmocka_unit_test(test_reject_bad_lines),
		cmocka_unit_test(test_reject_bad_origin),
		cmocka_unit_test(test_reject_bad_media),
		cmocka_unit_test(test_reject_truncated),
		cmocka_unit_test(test_reject_nul),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_empty_session_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
