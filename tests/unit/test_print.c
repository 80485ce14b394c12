/* Unit tests for sip/print and sip/edit: reason phrases, responses derived
 * from a request (RFC 3261 §8.2.6), requests built from a spec (§8.1.1), and
 * received messages printed again with edits (a proxy forwarding a request,
 * §16.6; a response going upstream, §16.7).  Every expected message is written
 * out byte for byte; printed messages are parsed again to check they still
 * mean the same thing.  The RFC 4475 §3.1.1.1 wsinv torture message checks
 * that untouched bytes (folding, odd whitespace, unknown headers) survive. */
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

/* ------------------------------------------------------------- fixtures */

struct fx {
	struct sb_sip_msg m;  /* the input */
	struct sb_sip_msg m2; /* the output, parsed again */
	char *in, *out;       /* exact-size heap copies the messages point into */
	struct sb_buf b;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	assert_non_null(f);
	sb_buf_init(&f->b, 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	free(f->in);
	free(f->out);
	sb_buf_free(&f->b);
	free(f);
	return 0;
}

/* Parse text as a datagram into f->m; it must be clean. */
static struct sb_sip_msg *parse_in(struct fx *f, const char *text)
{
	free(f->in);
	size_t l = strlen(text);
	f->in = dup_exact(text, l);
	assert_int_equal(sb_sip_parse(&f->m, f->in, l, SB_SIP_DATAGRAM), 0);
	assert_int_equal(f->m.defect, SB_DEFECT_NONE);
	return &f->m;
}

/* Parse what was printed into f->m2; it must be clean and whole. */
static struct sb_sip_msg *parse_out(struct fx *f)
{
	free(f->out);
	f->out = dup_exact(f->b.p, f->b.len);
	assert_int_equal(sb_sip_parse(&f->m2, f->out, f->b.len, SB_SIP_DATAGRAM), 0);
	assert_int_equal(f->m2.defect, SB_DEFECT_NONE);
	assert_true(f->m2.has_content_length);
	assert_int_equal(f->m2.raw.l, f->b.len);
	return &f->m2;
}

/* The buffer holds exactly want (compared as strings first for a readable
 * diff on failure). */
static void check_out(const struct sb_buf *b, const char *want)
{
	char *got = malloc(b->len + 1);
	assert_non_null(got);
	if (b->len)
		memcpy(got, b->p, b->len);
	got[b->len] = '\0';
	assert_string_equal(got, want);
	assert_int_equal(b->len, strlen(want));
	free(got);
}

static void check_same(struct sb_slice a, struct sb_slice b)
{
	assert_non_null(a.p);
	assert_non_null(b.p);
	assert_int_equal(a.l, b.l);
	if (a.l)
		assert_memory_equal(a.p, b.p, a.l);
}

/* The idx-th value (across fields) of a list header. */
static struct sb_slice nth_value(const struct sb_sip_msg *m, enum sb_sip_hdr_id id, unsigned idx)
{
	struct sb_sip_values it;
	struct sb_slice v = SB_SLICE_NULL;
	sb_sip_values_init(&it, m, id);
	for (unsigned i = 0; i <= idx; i++)
		assert_true(sb_sip_values_next(&it, &v, NULL));
	return v;
}

/* ------------------------------------------------------------- messages */

/* An INVITE as it reaches biloxi's proxy: two Vias, the second in compact
 * form (RFC 3261 §7.3.3), a body. */
#define INV_RLINE "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
#define INV_VIA1_V "SIP/2.0/UDP proxy.atlanta.example.com:5060;branch=z9hG4bK2d4790.1"
#define INV_VIA2_V "SIP/2.0/UDP client.atlanta.example.com:5060;branch=z9hG4bK74bf9;received=192.0.2.101"
#define INV_VIAS "Via: " INV_VIA1_V "\r\n" "v: " INV_VIA2_V "\r\n"
#define INV_MF "Max-Forwards: 69\r\n"
#define INV_TO "To: Bob <sip:bob@biloxi.example.com>\r\n"
#define INV_FROM "From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n"
#define INV_CID "Call-ID: 3848276298220188511@atlanta.example.com\r\n"
#define INV_CSEQ "CSeq: 1 INVITE\r\n"
#define INV_CONTACT "Contact: <sip:alice@client.atlanta.example.com;transport=tcp>\r\n"
#define INV_CT "Content-Type: application/sdp\r\n"
#define INV_CL "Content-Length: 32\r\n"
#define INV_BODY "v=0\r\ns=-\r\nc=IN IP4 192.0.2.101\r\n"
#define INVITE                                                                           \
	INV_RLINE INV_VIAS INV_MF INV_TO INV_FROM INV_CID INV_CSEQ INV_CONTACT INV_CT INV_CL \
	"\r\n" INV_BODY
/* field indexes in INVITE */
enum { I_VIA1, I_VIA2, I_MF, I_TO, I_FROM, I_CID, I_CSEQ, I_CONTACT, I_CT, I_CL, I_N };

/* The same INVITE inside a dialog: compact To (tagged), From, Call-ID. */
#define REINVITE                                                                  \
	"INVITE sip:bob@192.0.2.4 SIP/2.0\r\n" INV_VIAS INV_MF                         \
	"t: Bob <sip:bob@biloxi.example.com> ; tag=314159\r\n"                        \
	"f: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n"                 \
	"i: 3848276298220188511@atlanta.example.com\r\n"                              \
	"CSeq: 2 INVITE\r\n"                                                          \
	"l: 0\r\n"                                                                    \
	"\r\n"

/* What every response to INVITE starts with, after the status line. */
#define RSP_VIAS "Via: " INV_VIA1_V "\r\n" "Via: " INV_VIA2_V "\r\n"
#define RSP_FROM INV_FROM
#define RSP_TO_TAGGED "To: Bob <sip:bob@biloxi.example.com>;tag=8321234356\r\n"

/* RFC 4475 §3.1.1.1 wsinv, split where the tests edit it. */
#define WS_RLINE "INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0\r\n"
#define WS_TO                                                                            \
	"TO :\r\n"                                                                       \
	" sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n\r\n"
#define WS_FROM                                                                          \
	"from   : \"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>\r\n"              \
	"  ;\r\n"                                                                        \
	"  tag = 98asjd8\r\n"
#define WS_MF "MaX-fOrWaRdS: 0068\r\n"
#define WS_CID "Call-ID: wsinv.ndaksdj@192.0.2.1\r\n"
#define WS_CL "Content-Length   : 150\r\n"
#define WS_CSEQ                                                                          \
	"cseq: 0009\r\n"                                                                 \
	"  INVITE\r\n"
#define WS_VIA                                                                           \
	"Via  : SIP  /   2.0\r\n"                                                        \
	" /UDP\r\n"                                                                      \
	"    192.0.2.2;branch=390skdjuw\r\n"
#define WS_SUBJ "s :\r\n"
#define WS_NEWFANGLED                                                                    \
	"NewFangledHeader:   newfangled value\r\n"                                       \
	" continued newfangled value\r\n"
#define WS_REST                                                                          \
	"UnknownHeaderWithUnusualValue: ;;,,;;,;\r\n"                                    \
	"Content-Type: application/sdp\r\n"                                              \
	"Route:\r\n"                                                                     \
	" <sip:services.example.com;lr;unknownwith=value;unknown-no-value>\r\n"          \
	"v:  SIP  / 2.0  / TCP     spindle.example.com   ;\r\n"                         \
	"  branch  =   z9hG4bK9ikj8  ,\r\n"                                              \
	" SIP  /    2.0   / UDP  192.168.255.111   ; branch=\r\n"                        \
	" z9hG4bK30239\r\n"                                                              \
	"m:\"Quoted string \\\"\\\"\" <sip:jdrosen@example.com> ; newparam =\r\n"         \
	"      newvalue ;\r\n"                                                           \
	"  secondparam ; q = 0.33\r\n"                                                   \
	"\r\n"                                                                           \
	"v=0\r\n"                                                                        \
	"o=mhandley 29739 7272939 IN IP4 192.0.2.3\r\n"                                  \
	"s=-\r\n"                                                                        \
	"c=IN IP4 192.0.2.4\r\n"                                                         \
	"t=0 0\r\n"                                                                      \
	"m=audio 49217 RTP/AVP 0 12\r\n"                                                 \
	"m=video 3227 RTP/AVP 31\r\n"                                                    \
	"a=rtpmap:31 LPC\r\n"
#define WSINV                                                                            \
	WS_RLINE WS_TO WS_FROM WS_MF WS_CID WS_CL WS_CSEQ WS_VIA WS_SUBJ WS_NEWFANGLED WS_REST
enum { W_TO, W_FROM, W_MF, W_CID, W_CL, W_CSEQ, W_VIA, W_SUBJ, W_NEWFANGLED, W_UNKNOWN,
       W_CT, W_ROUTE, W_V, W_M, W_N };

/* -------------------------------------------------------- reason phrase */

static void test_reason_phrases(void **state)
{
	(void)state;
	static const struct {
		unsigned code;
		const char *phrase;
	} want[] = {
		{ 100, "Trying" }, { 180, "Ringing" }, { 181, "Call Is Being Forwarded" },
		{ 182, "Queued" }, { 183, "Session Progress" }, { 199, "Early Dialog Terminated" },
		{ 200, "OK" }, { 202, "Accepted" }, { 204, "No Notification" },
		{ 300, "Multiple Choices" }, { 301, "Moved Permanently" },
		{ 302, "Moved Temporarily" }, { 305, "Use Proxy" }, { 380, "Alternative Service" },
		{ 400, "Bad Request" }, { 401, "Unauthorized" }, { 402, "Payment Required" },
		{ 403, "Forbidden" }, { 404, "Not Found" }, { 405, "Method Not Allowed" },
		{ 406, "Not Acceptable" }, { 407, "Proxy Authentication Required" },
		{ 408, "Request Timeout" }, { 410, "Gone" }, { 412, "Conditional Request Failed" },
		{ 413, "Request Entity Too Large" }, { 414, "Request-URI Too Long" },
		{ 415, "Unsupported Media Type" }, { 416, "Unsupported URI Scheme" },
		{ 417, "Unknown Resource-Priority" }, { 420, "Bad Extension" },
		{ 421, "Extension Required" }, { 422, "Session Interval Too Small" },
		{ 423, "Interval Too Brief" }, { 428, "Use Identity Header" },
		{ 429, "Provide Referrer Identity" }, { 433, "Anonymity Disallowed" },
		{ 437, "Unsupported Credential" }, { 439, "First Hop Lacks Outbound Support" },
		{ 440, "Max-Breadth Exceeded" }, { 469, "Bad Info Package" },
		{ 470, "Consent Needed" }, { 480, "Temporarily Unavailable" },
		{ 481, "Call/Transaction Does Not Exist" }, { 482, "Loop Detected" },
		{ 483, "Too Many Hops" }, { 484, "Address Incomplete" }, { 485, "Ambiguous" },
		{ 486, "Busy Here" }, { 487, "Request Terminated" }, { 488, "Not Acceptable Here" },
		{ 489, "Bad Event" }, { 491, "Request Pending" }, { 493, "Undecipherable" },
		{ 494, "Security Agreement Required" }, { 500, "Server Internal Error" },
		{ 501, "Not Implemented" }, { 502, "Bad Gateway" }, { 503, "Service Unavailable" },
		{ 504, "Server Time-out" }, { 505, "Version Not Supported" },
		{ 513, "Message Too Large" }, { 580, "Precondition Failure" },
		{ 600, "Busy Everywhere" }, { 603, "Decline" }, { 604, "Does Not Exist Anywhere" },
		{ 606, "Not Acceptable" }, { 607, "Unwanted" }, { 608, "Rejected" },
		/* not codes anyone defined */
		{ 0, "Unknown" }, { 99, "Unknown" }, { 101, "Unknown" }, { 299, "Unknown" },
		{ 409, "Unknown" }, { 499, "Unknown" }, { 699, "Unknown" }, { 700, "Unknown" },
		{ 4294967295u, "Unknown" },
	};
	for (size_t i = 0; i < SB_ARRAY_LEN(want); i++)
		assert_string_equal(sb_sip_reason_phrase(want[i].code), want[i].phrase);
}

/* ------------------------------------------------------------ responses */

/* 180 to an INVITE whose To has no tag: the tag is added, both Vias come
 * back in order (the compact one printed long), Contact and the body do
 * not. */
static void test_response_180_adds_tag(void **state)
{
	struct fx *f = *state;
	struct sb_sip_msg *req = parse_in(f, INVITE);
	struct sb_sip_response_spec rs = { .code = 180, .to_tag = SB_LIT("8321234356") };
	assert_int_equal(sb_sip_print_response(&f->b, req, &rs), 0);
	check_out(&f->b, "SIP/2.0 180 Ringing\r\n"
			 RSP_VIAS RSP_FROM RSP_TO_TAGGED INV_CID INV_CSEQ
			 "Content-Length: 0\r\n"
			 "\r\n");

	/* parsed again it answers the same transaction and names the dialog */
	struct sb_sip_msg *r = parse_out(f);
	assert_false(r->is_request);
	assert_int_equal(r->status, 180);
	check_slice(r->reason, "Ringing");
	assert_int_equal(sb_sip_hdr_count(r, SB_HDR_VIA), 2);
	assert_int_equal(r->nvia, 2);
	check_same(nth_value(r, SB_HDR_VIA, 0), nth_value(req, SB_HDR_VIA, 0));
	check_same(nth_value(r, SB_HDR_VIA, 1), nth_value(req, SB_HDR_VIA, 1));
	const struct sb_nameaddr *to, *from;
	assert_int_equal(sb_sip_msg_to(r, &to), 0);
	check_slice(to->tag, "8321234356");
	check_slice(to->uri_s, "sip:bob@biloxi.example.com");
	assert_int_equal(sb_sip_msg_from(r, &from), 0);
	check_slice(from->tag, "9fxced76sl");
	struct sb_slice cid;
	assert_int_equal(sb_sip_msg_call_id(r, &cid), 0);
	check_slice(cid, "3848276298220188511@atlanta.example.com");
	const struct sb_cseq *cs;
	assert_int_equal(sb_sip_msg_cseq(r, &cs), 0);
	assert_int_equal(cs->num, 1);
	assert_int_equal(cs->mid, SB_METHOD_INVITE);
	assert_int_equal(r->content_length, 0);
	assert_int_equal(r->body.l, 0);
	assert_null(sb_sip_hdr_first(r, SB_HDR_CONTACT));
}

/* 486 with the same derivation, then with a phrase of our own; a second
 * response appends after the first (the buffer is not reset). */
static void test_response_486(void **state)
{
	struct fx *f = *state;
	struct sb_sip_msg *req = parse_in(f, INVITE);
	struct sb_sip_response_spec rs = { .code = 486, .to_tag = SB_LIT("a6c85cf") };
	assert_int_equal(sb_sip_print_response(&f->b, req, &rs), 0);
	rs.reason = SB_LIT("Busy Here, Try Later");
	assert_int_equal(sb_sip_print_response(&f->b, req, &rs), 0);
#define R486_TAIL                                                                 \
	RSP_VIAS RSP_FROM "To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf\r\n"  \
	INV_CID INV_CSEQ "Content-Length: 0\r\n\r\n"
	check_out(&f->b, "SIP/2.0 486 Busy Here\r\n" R486_TAIL
			 "SIP/2.0 486 Busy Here, Try Later\r\n" R486_TAIL);
#undef R486_TAIL
}

/* A To that already has a tag (a request inside a dialog) is copied as it
 * is; compact From/To/Call-ID are printed with their long names. */
static void test_response_tag_present(void **state)
{
	struct fx *f = *state;
	struct sb_sip_msg *req = parse_in(f, REINVITE);
	struct sb_sip_response_spec rs = { .code = 486, .to_tag = SB_LIT("8321234356") };
	assert_int_equal(sb_sip_print_response(&f->b, req, &rs), 0);
	check_out(&f->b, "SIP/2.0 486 Busy Here\r\n"
			 RSP_VIAS
			 "From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n"
			 "To: Bob <sip:bob@biloxi.example.com> ; tag=314159\r\n"
			 "Call-ID: 3848276298220188511@atlanta.example.com\r\n"
			 "CSeq: 2 INVITE\r\n"
			 "Content-Length: 0\r\n"
			 "\r\n");
	const struct sb_nameaddr *to;
	struct sb_sip_msg *r = parse_out(f);
	assert_int_equal(sb_sip_msg_to(r, &to), 0);
	check_slice(to->tag, "314159");
}

/* The tag is found through the request's parse cache when it is filled, and
 * the answer is the same as without it. */
static void test_response_uses_to_cache(void **state)
{
	struct fx *f = *state;
	struct sb_sip_msg *req = parse_in(f, INVITE);
	const struct sb_nameaddr *to;
	assert_int_equal(sb_sip_msg_to(req, &to), 0);
	assert_null(to->tag.p);
	struct sb_sip_response_spec rs = { .code = 180, .to_tag = SB_LIT("8321234356") };
	assert_int_equal(sb_sip_print_response(&f->b, req, &rs), 0);
	check_out(&f->b, "SIP/2.0 180 Ringing\r\n" RSP_VIAS RSP_FROM RSP_TO_TAGGED INV_CID
			 INV_CSEQ "Content-Length: 0\r\n\r\n");

	sb_buf_reset(&f->b);
	req = parse_in(f, REINVITE);
	assert_int_equal(sb_sip_msg_to(req, &to), 0);
	assert_int_equal(sb_sip_print_response(&f->b, req, &rs), 0);
	assert_non_null(memmem(f->b.p, f->b.len, "To: Bob <sip:bob@biloxi.example.com> ; tag=314159\r\n",
			       strlen("To: Bob <sip:bob@biloxi.example.com> ; tag=314159\r\n")));
	assert_null(memmem(f->b.p, f->b.len, "8321234356", 10));
}

/* RFC 3261 §8.2.6.2: a 100 (Trying) gets no tag even when one is offered;
 * a later response without one offered gets none either. */
static void test_response_100_no_tag(void **state)
{
	struct fx *f = *state;
	struct sb_sip_msg *req = parse_in(f, INVITE);
	struct sb_sip_response_spec rs = { .code = 100, .to_tag = SB_LIT("8321234356") };
	assert_int_equal(sb_sip_print_response(&f->b, req, &rs), 0);
	check_out(&f->b, "SIP/2.0 100 Trying\r\n" RSP_VIAS RSP_FROM INV_TO INV_CID INV_CSEQ
			 "Content-Length: 0\r\n\r\n");
	const struct sb_nameaddr *to;
	assert_int_equal(sb_sip_msg_to(parse_out(f), &to), 0);
	assert_null(to->tag.p);

	sb_buf_reset(&f->b);
	struct sb_sip_response_spec rs2 = { .code = 183 };
	assert_int_equal(sb_sip_print_response(&f->b, req, &rs2), 0);
	check_out(&f->b, "SIP/2.0 183 Session Progress\r\n" RSP_VIAS RSP_FROM INV_TO INV_CID
			 INV_CSEQ "Content-Length: 0\r\n\r\n");
}

/* Extra header lines go after CSeq; a body brings Content-Type and its
 * length. */
static void test_response_extra_and_body(void **state)
{
	struct fx *f = *state;
	struct sb_sip_msg *req = parse_in(f, INVITE);
#define SDP "v=0\r\no=bob 2890844527 2890844527 IN IP4 192.0.2.4\r\ns=-\r\n"
	struct sb_sip_response_spec rs = {
		.code = 200,
		.to_tag = SB_LIT("8321234356"),
		.extra = SB_LIT("Contact: <sip:bob@192.0.2.4>\r\nSupported: timer\r\n"),
		.content_type = SB_LIT("application/sdp"),
		.body = SB_LIT(SDP),
	};
	assert_int_equal(strlen(SDP), 56);
	assert_int_equal(sb_sip_print_response(&f->b, req, &rs), 0);
	check_out(&f->b, "SIP/2.0 200 OK\r\n" RSP_VIAS RSP_FROM RSP_TO_TAGGED INV_CID INV_CSEQ
			 "Contact: <sip:bob@192.0.2.4>\r\n"
			 "Supported: timer\r\n"
			 "Content-Type: application/sdp\r\n"
			 "Content-Length: 56\r\n"
			 "\r\n" SDP);
	struct sb_sip_msg *r = parse_out(f);
	assert_int_equal(r->status, 200);
	assert_int_equal(r->content_length, 56);
	check_slice(r->body, SDP);
	check_slice(sb_sip_hdr_first(r, SB_HDR_CONTACT)->value, "<sip:bob@192.0.2.4>");
	check_slice(sb_sip_hdr_first(r, SB_HDR_CONTENT_TYPE)->value, "application/sdp");
	assert_true(sb_sip_has_token(r, SB_HDR_SUPPORTED, SB_LIT("timer")));
#undef SDP
}

/* An addr-spec To (no <>): the tag goes after the URI, where it is a header
 * parameter (RFC 3261 §20.10). */
static void test_response_addr_spec_to(void **state)
{
	struct fx *f = *state;
	struct sb_sip_msg *req = parse_in(f, "OPTIONS sip:bob@biloxi.example.com SIP/2.0\r\n"
					     "Via: SIP/2.0/TCP c.example.com;branch=z9hG4bKx1\r\n"
					     "To: sip:bob@biloxi.example.com\r\n"
					     "From: sip:alice@atlanta.example.com;tag=1\r\n"
					     "Call-ID: c1\r\n"
					     "CSeq: 7 OPTIONS\r\n"
					     "\r\n");
	struct sb_sip_response_spec rs = { .code = 200, .to_tag = SB_LIT("t-2") };
	assert_int_equal(sb_sip_print_response(&f->b, req, &rs), 0);
	check_out(&f->b, "SIP/2.0 200 OK\r\n"
			 "Via: SIP/2.0/TCP c.example.com;branch=z9hG4bKx1\r\n"
			 "From: sip:alice@atlanta.example.com;tag=1\r\n"
			 "To: sip:bob@biloxi.example.com;tag=t-2\r\n"
			 "Call-ID: c1\r\n"
			 "CSeq: 7 OPTIONS\r\n"
			 "Content-Length: 0\r\n\r\n");
	const struct sb_nameaddr *to;
	assert_int_equal(sb_sip_msg_to(parse_out(f), &to), 0);
	check_slice(to->tag, "t-2");
	check_slice(to->uri_s, "sip:bob@biloxi.example.com");
}

/* A response to RFC 4475 wsinv: the folded Via and the odd To come back as
 * their values were written, the To tag written with LWS around '=' is
 * found, and the message parses again. */
static void test_response_wsinv(void **state)
{
	struct fx *f = *state;
	struct sb_sip_msg *req = parse_in(f, WSINV);
	struct sb_sip_response_spec rs = { .code = 488, .to_tag = SB_LIT("x") };
	assert_int_equal(sb_sip_print_response(&f->b, req, &rs), 0);
	check_out(&f->b, "SIP/2.0 488 Not Acceptable Here\r\n"
			 "Via: SIP  /   2.0\r\n"
			 " /UDP\r\n"
			 "    192.0.2.2;branch=390skdjuw\r\n"
			 "Via: SIP  / 2.0  / TCP     spindle.example.com   ;\r\n"
			 "  branch  =   z9hG4bK9ikj8  ,\r\n"
			 " SIP  /    2.0   / UDP  192.168.255.111   ; branch=\r\n"
			 " z9hG4bK30239\r\n"
			 "From: \"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>\r\n"
			 "  ;\r\n"
			 "  tag = 98asjd8\r\n"
			 "To: sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n\r\n"
			 "Call-ID: wsinv.ndaksdj@192.0.2.1\r\n"
			 "CSeq: 0009\r\n"
			 "  INVITE\r\n"
			 "Content-Length: 0\r\n\r\n");
	struct sb_sip_msg *r = parse_out(f);
	assert_int_equal(r->nvia, 3);
	const struct sb_cseq *cs;
	assert_int_equal(sb_sip_msg_cseq(r, &cs), 0);
	assert_int_equal(cs->num, 9);
	assert_int_equal(cs->mid, SB_METHOD_INVITE);
	const struct sb_nameaddr *to;
	assert_int_equal(sb_sip_msg_to(r, &to), 0);
	check_slice(to->tag, "1918181833n");
}

static void test_response_errors(void **state)
{
	struct fx *f = *state;
	struct sb_sip_response_spec rs = { .code = 400 };
	static const char *const lacking[] = {
		/* no Via */
		"OPTIONS sip:b@h SIP/2.0\r\nTo: <sip:b@h>\r\nFrom: <sip:a@h>;tag=1\r\n"
		"Call-ID: c\r\nCSeq: 1 OPTIONS\r\n\r\n",
		/* no From */
		"OPTIONS sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
		"To: <sip:b@h>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n\r\n",
		/* no To */
		"OPTIONS sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
		"From: <sip:a@h>;tag=1\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n\r\n",
		/* no Call-ID */
		"OPTIONS sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
		"To: <sip:b@h>\r\nFrom: <sip:a@h>;tag=1\r\nCSeq: 1 OPTIONS\r\n\r\n",
		/* no CSeq */
		"OPTIONS sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
		"To: <sip:b@h>\r\nFrom: <sip:a@h>;tag=1\r\nCall-ID: c\r\n\r\n",
	};
	sb_buf_append_cstr(&f->b, "keep");
	for (size_t i = 0; i < SB_ARRAY_LEN(lacking); i++) {
		struct sb_sip_msg *req = parse_in(f, lacking[i]);
		assert_int_equal(sb_sip_print_response(&f->b, req, &rs), EBADMSG);
		check_out(&f->b, "keep");
		assert_int_equal(f->b.err, 0);
	}

	struct sb_sip_msg *req = parse_in(f, INVITE);
	struct sb_sip_response_spec bad[] = {
		{ .code = 99 },
		{ .code = 700 },
		{ .code = 200, .reason = SB_LIT("OK\r\nX-Injected: 1") },
		{ .code = 200, .to_tag = SB_LIT("a b") },
		{ .code = 200, .extra = SB_LIT("Supported: timer") }, /* no CRLF */
		{ .code = 200, .body = SB_LIT("v=0\r\n") },           /* no type */
	};
	for (size_t i = 0; i < SB_ARRAY_LEN(bad); i++)
		assert_int_equal(sb_sip_print_response(&f->b, req, &bad[i]), EINVAL);
	check_out(&f->b, "keep");

	/* a response is not answered */
	parse_in(f, "SIP/2.0 200 OK\r\n" RSP_VIAS RSP_FROM RSP_TO_TAGGED INV_CID INV_CSEQ
		    "Content-Length: 0\r\n\r\n");
	assert_int_equal(sb_sip_print_response(&f->b, &f->m, &rs), EINVAL);
	check_out(&f->b, "keep");
}

/* The bound of a fixed buffer: one byte short is ENOSPC with the buffer
 * left as it was; exactly enough succeeds. */
static void test_response_enospc(void **state)
{
	struct fx *f = *state;
	struct sb_sip_msg *req = parse_in(f, INVITE);
	struct sb_sip_response_spec rs = { .code = 180, .to_tag = SB_LIT("8321234356") };
	assert_int_equal(sb_sip_print_response(&f->b, req, &rs), 0);
	size_t need = f->b.len;

	char small[64];
	struct sb_buf fb;
	sb_buf_init_fixed(&fb, small, sizeof small);
	assert_int_equal(sb_buf_append_cstr(&fb, "abc"), 0);
	assert_int_equal(sb_sip_print_response(&fb, req, &rs), ENOSPC);
	assert_int_equal(fb.len, 3);
	assert_int_equal(fb.err, ENOSPC);
	/* sticky: nothing more goes in until the buffer is reset */
	assert_int_equal(sb_sip_print_response(&fb, req, &rs), ENOSPC);

	char *mem = malloc(need);
	assert_non_null(mem);
	sb_buf_init_fixed(&fb, mem, need - 1);
	assert_int_equal(sb_sip_print_response(&fb, req, &rs), ENOSPC);
	assert_int_equal(fb.len, 0);
	sb_buf_init_fixed(&fb, mem, need);
	assert_int_equal(sb_sip_print_response(&fb, req, &rs), 0);
	assert_int_equal(fb.len, need);
	assert_memory_equal(mem, f->b.p, need);
	free(mem);
}

/* ------------------------------------------------------------- requests */

static void test_print_request(void **state)
{
	struct fx *f = *state;
	struct sb_sip_request_spec rq = {
		.method = SB_LIT("INVITE"),
		.ruri = SB_LIT("sip:bob@biloxi.example.com"),
		.via = SB_LIT("SIP/2.0/UDP client.atlanta.example.com:5060;branch=z9hG4bK74bf9;rport"),
		.from = SB_LIT("Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl"),
		.to = SB_LIT("Bob <sip:bob@biloxi.example.com>"),
		.call_id = SB_LIT("3848276298220188511@atlanta.example.com"),
		.cseq = 4294967295u,
		.max_forwards = 70,
		.contact = SB_LIT("<sip:alice@client.atlanta.example.com>"),
		.extra = SB_LIT("Allow: INVITE, ACK, CANCEL, BYE\r\nSupported: replaces\r\n"),
		.content_type = SB_LIT("application/sdp"),
		.body = SB_LIT(INV_BODY),
	};
	assert_int_equal(sb_sip_print_request(&f->b, &rq), 0);
	check_out(&f->b, "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP client.atlanta.example.com:5060;branch=z9hG4bK74bf9;rport\r\n"
			 "Max-Forwards: 70\r\n"
			 "To: Bob <sip:bob@biloxi.example.com>\r\n"
			 "From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n"
			 "Call-ID: 3848276298220188511@atlanta.example.com\r\n"
			 "CSeq: 4294967295 INVITE\r\n"
			 "Contact: <sip:alice@client.atlanta.example.com>\r\n"
			 "Allow: INVITE, ACK, CANCEL, BYE\r\n"
			 "Supported: replaces\r\n"
			 "Content-Type: application/sdp\r\n"
			 "Content-Length: 32\r\n"
			 "\r\n" INV_BODY);
	struct sb_sip_msg *r = parse_out(f);
	assert_true(r->is_request);
	assert_int_equal(r->mid, SB_METHOD_INVITE);
	check_slice(r->ruri, "sip:bob@biloxi.example.com");
	check_slice(r->version, "SIP/2.0");
	uint32_t mf;
	assert_int_equal(sb_sip_msg_max_forwards(r, &mf), 0);
	assert_int_equal(mf, 70);
	const struct sb_cseq *cs;
	assert_int_equal(sb_sip_msg_cseq(r, &cs), 0);
	assert_int_equal(cs->num, 4294967295u);
	assert_int_equal(cs->mid, SB_METHOD_INVITE);
	const struct sb_via *via;
	assert_int_equal(sb_sip_msg_via(r, &via), 0);
	check_slice(via->branch, "z9hG4bK74bf9");
	check_slice(r->body, INV_BODY);
	assert_int_equal(r->content_length, 32);

	/* no Contact, no body, an extension method, Max-Forwards 0 */
	sb_buf_reset(&f->b);
	struct sb_sip_request_spec o = {
		.method = SB_LIT("FOO"),
		.ruri = SB_LIT("sip:x.example.com"),
		.via = SB_LIT("SIP/2.0/TCP h.example.com;branch=z9hG4bK1"),
		.from = SB_LIT("<sip:a@h.example.com>;tag=1"),
		.to = SB_LIT("<sip:x.example.com>"),
		.call_id = SB_LIT("c2"),
		.cseq = 1,
	};
	assert_int_equal(sb_sip_print_request(&f->b, &o), 0);
	check_out(&f->b, "FOO sip:x.example.com SIP/2.0\r\n"
			 "Via: SIP/2.0/TCP h.example.com;branch=z9hG4bK1\r\n"
			 "Max-Forwards: 0\r\n"
			 "To: <sip:x.example.com>\r\n"
			 "From: <sip:a@h.example.com>;tag=1\r\n"
			 "Call-ID: c2\r\n"
			 "CSeq: 1 FOO\r\n"
			 "Content-Length: 0\r\n"
			 "\r\n");
	r = parse_out(f);
	assert_int_equal(r->mid, SB_METHOD_OTHER);
	check_slice(r->method, "FOO");

	/* missing or unsafe pieces */
	sb_buf_reset(&f->b);
	struct sb_sip_request_spec bad = o;
	bad.from = SB_SLICE_NULL;
	assert_int_equal(sb_sip_print_request(&f->b, &bad), EINVAL);
	bad = o;
	bad.method = SB_LIT("IN VITE");
	assert_int_equal(sb_sip_print_request(&f->b, &bad), EINVAL);
	bad = o;
	bad.ruri = SB_LIT("sip:a@b SIP/2.0");
	assert_int_equal(sb_sip_print_request(&f->b, &bad), EINVAL);
	bad = o;
	bad.to = SB_LIT("<sip:x@y>\r\nX: 1");
	assert_int_equal(sb_sip_print_request(&f->b, &bad), EINVAL);
	bad = o;
	bad.body = SB_LIT("x");
	assert_int_equal(sb_sip_print_request(&f->b, &bad), EINVAL);
	assert_int_equal(f->b.len, 0);

	/* bounded */
	char small[100];
	struct sb_buf fb;
	sb_buf_init_fixed(&fb, small, sizeof small);
	assert_int_equal(sb_sip_print_request(&fb, &rq), ENOSPC);
	assert_int_equal(fb.len, 0);
}

/* ---------------------------------------------------------------- edits */

/* RFC 3261 §16.6: a proxy forwards the INVITE: new Request-URI (step 6
 * target), Max-Forwards decremented (step 3), Record-Route inserted (step 4),
 * its own Via on top (step 8).  Everything else is the original bytes. */
static void test_edit_proxy_forward(void **state)
{
	struct fx *f = *state;
	struct sb_sip_msg *m = parse_in(f, INVITE);
	assert_int_equal(m->nhdrs, I_N);
	assert_int_equal(m->first[SB_HDR_MAX_FORWARDS], I_MF);
	struct sb_sip_edits ed;
	sb_sip_edits_init(&ed);
	assert_int_equal(sb_sip_edit_ruri(&ed, SB_LIT("sip:bob@192.0.2.4")), 0);
	assert_int_equal(sb_sip_edit_push_via(&ed, SB_LIT("SIP/2.0/UDP bigbox3.site3.atlanta.example.com;branch=z9hG4bK77ef4c2312983.1")), 0);
	assert_int_equal(sb_sip_edit_replace(&ed, I_MF, SB_LIT("68")), 0);
	assert_int_equal(sb_sip_edit_insert(&ed, I_MF, SB_LIT("Record-Route"),
					    SB_LIT("<sip:bigbox3.site3.atlanta.example.com;lr>")), 0);
	assert_int_equal(sb_sip_print_edited(&f->b, m, &ed), 0);
	check_out(&f->b, "INVITE sip:bob@192.0.2.4 SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP bigbox3.site3.atlanta.example.com;branch=z9hG4bK77ef4c2312983.1\r\n"
			 INV_VIAS
			 "Record-Route: <sip:bigbox3.site3.atlanta.example.com;lr>\r\n"
			 "Max-Forwards: 68\r\n"
			 INV_TO INV_FROM INV_CID INV_CSEQ INV_CONTACT INV_CT INV_CL
			 "\r\n" INV_BODY);

	struct sb_sip_msg *r = parse_out(f);
	check_slice(r->ruri, "sip:bob@192.0.2.4");
	assert_int_equal(r->nvia, 3);
	const struct sb_via *via;
	assert_int_equal(sb_sip_msg_via(r, &via), 0);
	check_slice(via->branch, "z9hG4bK77ef4c2312983.1");
	check_slice(nth_value(r, SB_HDR_VIA, 1), INV_VIA1_V);
	check_slice(nth_value(r, SB_HDR_VIA, 2), INV_VIA2_V);
	uint32_t mf;
	assert_int_equal(sb_sip_msg_max_forwards(r, &mf), 0);
	assert_int_equal(mf, 68);
	check_slice(sb_sip_hdr_first(r, SB_HDR_RECORD_ROUTE)->value,
		    "<sip:bigbox3.site3.atlanta.example.com;lr>");
	check_same(r->body, m->body);
	assert_int_equal(r->content_length, 32);
	/* the edits did not change the message they were made against */
	check_slice(m->ruri, "sip:bob@biloxi.example.com");
}

/* The same forward of RFC 4475 wsinv: the name of a replaced field stays as
 * written ("MaX-fOrWaRdS"), and every field not edited, with its folding
 * and odd whitespace, comes through byte for byte. */
static void test_edit_wsinv_untouched_bytes(void **state)
{
	struct fx *f = *state;
	struct sb_sip_msg *m = parse_in(f, WSINV);
	assert_int_equal(m->nhdrs, W_N);
	assert_int_equal(m->first[SB_HDR_MAX_FORWARDS], W_MF);
	assert_int_equal(m->body.l, 150);

	/* no edits: the message itself */
	struct sb_sip_edits ed;
	sb_sip_edits_init(&ed);
	assert_int_equal(sb_sip_print_edited(&f->b, m, &ed), 0);
	check_out(&f->b, WSINV);

	sb_buf_reset(&f->b);
	assert_int_equal(sb_sip_edit_insert(&ed, 0, SB_LIT("Record-Route"), SB_LIT("<sip:p1.example.com;lr>")), 0);
	assert_int_equal(sb_sip_edit_replace(&ed, W_MF, SB_LIT("67")), 0);
	assert_int_equal(sb_sip_edit_push_via(&ed, SB_LIT("SIP/2.0/UDP p1.example.com;branch=z9hG4bKp1")), 0);
	assert_int_equal(sb_sip_edit_ruri(&ed, SB_LIT("sip:vivekg@192.0.2.200")), 0);
	assert_int_equal(sb_sip_print_edited(&f->b, m, &ed), 0);
	check_out(&f->b, "INVITE sip:vivekg@192.0.2.200 SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP p1.example.com;branch=z9hG4bKp1\r\n"
			 "Record-Route: <sip:p1.example.com;lr>\r\n"
			 WS_TO WS_FROM
			 "MaX-fOrWaRdS: 67\r\n"
			 WS_CID WS_CL WS_CSEQ WS_VIA WS_SUBJ WS_NEWFANGLED WS_REST);

	struct sb_sip_msg *r = parse_out(f);
	assert_int_equal(r->nvia, 4);
	const struct sb_sip_hdr *nf = sb_sip_hdr_find(r, SB_LIT("NewFangledHeader"));
	assert_non_null(nf);
	check_slice(nf->line, WS_NEWFANGLED);
	check_same(nf->value, m->hdrs[W_NEWFANGLED].value);
	check_same(sb_sip_hdr_find(r, SB_LIT("UnknownHeaderWithUnusualValue"))->line,
		   m->hdrs[W_UNKNOWN].line);
	uint32_t mf;
	assert_int_equal(sb_sip_msg_max_forwards(r, &mf), 0);
	assert_int_equal(mf, 67);
	const struct sb_nameaddr *to, *from;
	assert_int_equal(sb_sip_msg_to(r, &to), 0);
	check_slice(to->tag, "1918181833n");
	assert_int_equal(sb_sip_msg_from(r, &from), 0);
	check_slice(from->tag, "98asjd8");
	check_same(r->body, m->body);
}

/* RFC 3261 §16.7 step 3: a response going upstream loses its topmost Via
 * value.  Here the first Via field holds two values: the field stays with
 * the second one. */
#define RSP_TAIL                                                                 \
	"From: <sip:a@atlanta.example.com>;tag=1\r\n"                            \
	"To: <sip:b@biloxi.example.com>;tag=2\r\n"                               \
	"Call-ID: pop1\r\n"                                                      \
	"CSeq: 1 INVITE\r\n"                                                     \
	"Content-Length: 0\r\n"                                                  \
	"\r\n"
static void test_edit_pop_via_multi(void **state)
{
	struct fx *f = *state;
	struct sb_sip_msg *m = parse_in(f, "SIP/2.0 200 OK\r\n"
					   "Via: SIP/2.0/UDP p1.example.com;branch=z9hG4bKp1 ,  SIP/2.0/UDP c.example.com;branch=z9hG4bKc\r\n"
					   "Via: SIP/2.0/TCP d.example.com;branch=z9hG4bKd\r\n"
					   RSP_TAIL);
	assert_int_equal(m->nvia, 3);
	struct sb_sip_edits ed;
	sb_sip_edits_init(&ed);
	assert_int_equal(sb_sip_edit_pop_via(&ed), 0);
	assert_int_equal(sb_sip_print_edited(&f->b, m, &ed), 0);
	check_out(&f->b, "SIP/2.0 200 OK\r\n"
			 "Via: SIP/2.0/UDP c.example.com;branch=z9hG4bKc\r\n"
			 "Via: SIP/2.0/TCP d.example.com;branch=z9hG4bKd\r\n"
			 RSP_TAIL);
	struct sb_sip_msg *r = parse_out(f);
	assert_int_equal(r->nvia, 2);
	const struct sb_via *via;
	assert_int_equal(sb_sip_msg_via(r, &via), 0);
	check_slice(via->branch, "z9hG4bKc");

	/* wsinv's folded compact field: the rest keeps its folding and its
	 * name as written */
	sb_buf_reset(&f->b);
	m = parse_in(f, "SIP/2.0 180 Ringing\r\n"
			"v:  SIP  / 2.0  / TCP     spindle.example.com   ;\r\n"
			"  branch  =   z9hG4bK9ikj8  ,\r\n"
			" SIP  /    2.0   / UDP  192.168.255.111   ; branch=\r\n"
			" z9hG4bK30239\r\n"
			RSP_TAIL);
	assert_int_equal(sb_sip_print_edited(&f->b, m, &ed), 0);
	check_out(&f->b, "SIP/2.0 180 Ringing\r\n"
			 "v: SIP  /    2.0   / UDP  192.168.255.111   ; branch=\r\n"
			 " z9hG4bK30239\r\n"
			 RSP_TAIL);
	r = parse_out(f);
	assert_int_equal(r->nvia, 1);
	assert_int_equal(sb_sip_msg_via(r, &via), 0);
	check_slice(via->branch, "z9hG4bK30239");
	check_slice(via->host, "192.168.255.111");
}

/* A first Via field with one value goes as a whole. */
static void test_edit_pop_via_single(void **state)
{
	struct fx *f = *state;
	struct sb_sip_msg *m = parse_in(f, "SIP/2.0 486 Busy Here\r\n"
					   "Via: SIP/2.0/UDP p1.example.com;branch=z9hG4bKp1\r\n"
					   "X-Odd:\t spaced  \r\n"
					   "v: SIP/2.0/UDP c.example.com;branch=z9hG4bKc, SIP/2.0/UDP e.example.com;branch=z9hG4bKe\r\n"
					   RSP_TAIL);
	struct sb_sip_edits ed;
	sb_sip_edits_init(&ed);
	assert_int_equal(sb_sip_edit_pop_via(&ed), 0);
	assert_int_equal(sb_sip_print_edited(&f->b, m, &ed), 0);
	check_out(&f->b, "SIP/2.0 486 Busy Here\r\n"
			 "X-Odd:\t spaced  \r\n"
			 "v: SIP/2.0/UDP c.example.com;branch=z9hG4bKc, SIP/2.0/UDP e.example.com;branch=z9hG4bKe\r\n"
			 RSP_TAIL);
	struct sb_sip_msg *r = parse_out(f);
	assert_int_equal(r->nvia, 2);
	check_slice(nth_value(r, SB_HDR_VIA, 0), "SIP/2.0/UDP c.example.com;branch=z9hG4bKc");

	/* the last Via of all: none left */
	sb_buf_reset(&f->b);
	m = parse_in(f, "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP p1.example.com;branch=z9hG4bKp1\r\n" RSP_TAIL);
	assert_int_equal(sb_sip_print_edited(&f->b, m, &ed), 0);
	check_out(&f->b, "SIP/2.0 200 OK\r\n" RSP_TAIL);
	assert_int_equal(parse_out(f)->nvia, 0);

	/* no Via to pop */
	sb_buf_reset(&f->b);
	m = parse_in(f, "SIP/2.0 200 OK\r\n" RSP_TAIL);
	assert_int_equal(sb_sip_print_edited(&f->b, m, &ed), EINVAL);
	assert_int_equal(f->b.len, 0);
}

/* Delete a field, replace one written in compact form, insert at the end
 * and before a deleted field. */
static void test_edit_delete_replace_insert(void **state)
{
	struct fx *f = *state;
	struct sb_sip_msg *m = parse_in(f, INVITE);
	struct sb_sip_edits ed;
	sb_sip_edits_init(&ed);
	assert_int_equal(sb_sip_edit_delete(&ed, I_CONTACT), 0);
	assert_int_equal(sb_sip_edit_replace(&ed, I_VIA2, SB_LIT("SIP/2.0/UDP x.example.com;branch=z9hG4bKx")), 0);
	assert_int_equal(sb_sip_edit_insert(&ed, I_N, SB_LIT("X-End"), SB_LIT("1")), 0);
	assert_int_equal(sb_sip_edit_insert(&ed, I_CONTACT, SB_LIT("Subject"), SB_LIT("")), 0);
	assert_int_equal(sb_sip_edit_insert(&ed, I_N, SB_LIT("X-End"), SB_LIT("2")), 0);
	assert_int_equal(sb_sip_edit_delete(&ed, I_VIA1), 0);
	assert_int_equal(sb_sip_print_edited(&f->b, m, &ed), 0);
	check_out(&f->b, INV_RLINE
			 "v: SIP/2.0/UDP x.example.com;branch=z9hG4bKx\r\n"
			 INV_MF INV_TO INV_FROM INV_CID INV_CSEQ
			 "Subject: \r\n"
			 INV_CT INV_CL
			 "X-End: 1\r\n"
			 "X-End: 2\r\n"
			 "\r\n" INV_BODY);
	struct sb_sip_msg *r = parse_out(f);
	assert_int_equal(r->nvia, 1);
	assert_null(sb_sip_hdr_first(r, SB_HDR_CONTACT));
	assert_non_null(sb_sip_hdr_first(r, SB_HDR_SUBJECT));
	assert_int_equal(sb_sip_hdr_first(r, SB_HDR_SUBJECT)->value.l, 0);
	check_slice(sb_sip_hdr_find(r, SB_LIT("x-end"))->value, "1");
}

/* A new body rewrites Content-Length: in place (name as written, compact
 * too), or appended after the last field when the datagram had none. */
static void test_edit_body(void **state)
{
	struct fx *f = *state;
#define NEWSDP "v=0\r\no=- 1 1 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\n"
	assert_int_equal(strlen(NEWSDP), 63);
	struct sb_sip_msg *m = parse_in(f, INVITE);
	struct sb_sip_edits ed;
	sb_sip_edits_init(&ed);
	assert_int_equal(sb_sip_edit_body(&ed, SB_LIT(NEWSDP)), 0);
	assert_int_equal(sb_sip_print_edited(&f->b, m, &ed), 0);
	check_out(&f->b, INV_RLINE INV_VIAS INV_MF INV_TO INV_FROM INV_CID INV_CSEQ INV_CONTACT
			 INV_CT "Content-Length: 63\r\n\r\n" NEWSDP);
	struct sb_sip_msg *r = parse_out(f);
	assert_int_equal(r->content_length, 63);
	check_slice(r->body, NEWSDP);

	/* compact "l", repeated (same value, which the parser accepts): the
	 * first is rewritten, the repeat goes */
	sb_buf_reset(&f->b);
	m = parse_in(f, "MESSAGE sip:b@h SIP/2.0\r\n"
			"Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
			"l:   5\r\n"
			"To: <sip:b@h>\r\nFrom: <sip:a@h>;tag=1\r\nCall-ID: m1\r\nCSeq: 1 MESSAGE\r\n"
			"Content-Length: 5\r\n"
			"c: text/plain\r\n"
			"\r\nhello");
	assert_int_equal(sb_sip_print_edited(&f->b, m, &ed), 0);
	check_out(&f->b, "MESSAGE sip:b@h SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
			 "l: 63\r\n"
			 "To: <sip:b@h>\r\nFrom: <sip:a@h>;tag=1\r\nCall-ID: m1\r\nCSeq: 1 MESSAGE\r\n"
			 "c: text/plain\r\n"
			 "\r\n" NEWSDP);
	r = parse_out(f);
	assert_int_equal(r->content_length, 63);
	assert_int_equal(sb_sip_hdr_count(r, SB_HDR_CONTENT_LENGTH), 1);

	/* no Content-Length at all (UDP, RFC 3261 §18.3): one is appended,
	 * after a field inserted at the end; an empty body */
	sb_buf_reset(&f->b);
	m = parse_in(f, "MESSAGE sip:b@h SIP/2.0\r\n"
			"Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
			"To: <sip:b@h>\r\nFrom: <sip:a@h>;tag=1\r\nCall-ID: m1\r\nCSeq: 1 MESSAGE\r\n"
			"\r\nhello");
	check_slice(m->body, "hello");
	sb_sip_edits_init(&ed);
	assert_int_equal(sb_sip_edit_body(&ed, SB_LIT("")), 0);
	assert_int_equal(sb_sip_edit_insert(&ed, m->nhdrs, SB_LIT("X-Last"), SB_LIT("y")), 0);
	assert_int_equal(sb_sip_print_edited(&f->b, m, &ed), 0);
	check_out(&f->b, "MESSAGE sip:b@h SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
			 "To: <sip:b@h>\r\nFrom: <sip:a@h>;tag=1\r\nCall-ID: m1\r\nCSeq: 1 MESSAGE\r\n"
			 "X-Last: y\r\n"
			 "Content-Length: 0\r\n"
			 "\r\n");
	r = parse_out(f);
	assert_int_equal(r->content_length, 0);
	assert_int_equal(r->body.l, 0);
#undef NEWSDP
}

/* A datagram whose header section never ended (SB_DEFECT_NO_EMPTY_LINE)
 * gets its empty line when printed, after any field appended at the end, so
 * the output always frames. */
static void test_edit_no_empty_line(void **state)
{
	struct fx *f = *state;
	static const char text[] = "MESSAGE sip:b@h SIP/2.0\r\n"
				   "Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
				   "To: <sip:b@h>\r\nFrom: <sip:a@h>;tag=1\r\nCall-ID: m1\r\n"
				   "CSeq: 1 MESSAGE\r\n";
	f->in = dup_exact(text, strlen(text));
	assert_int_equal(sb_sip_parse(&f->m, f->in, strlen(text), SB_SIP_DATAGRAM), 0);
	assert_int_equal(f->m.defect, SB_DEFECT_NO_EMPTY_LINE);
	struct sb_sip_edits ed;
	sb_sip_edits_init(&ed);
	assert_int_equal(sb_sip_print_edited(&f->b, &f->m, &ed), 0);
	check_out(&f->b, "MESSAGE sip:b@h SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
			 "To: <sip:b@h>\r\nFrom: <sip:a@h>;tag=1\r\nCall-ID: m1\r\n"
			 "CSeq: 1 MESSAGE\r\n"
			 "\r\n");

	sb_buf_reset(&f->b);
	assert_int_equal(sb_sip_edit_body(&ed, SB_LIT("hi")), 0);
	assert_int_equal(sb_sip_edit_insert(&ed, f->m.nhdrs, SB_LIT("Content-Type"), SB_LIT("text/plain")), 0);
	assert_int_equal(sb_sip_print_edited(&f->b, &f->m, &ed), 0);
	check_out(&f->b, "MESSAGE sip:b@h SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
			 "To: <sip:b@h>\r\nFrom: <sip:a@h>;tag=1\r\nCall-ID: m1\r\n"
			 "CSeq: 1 MESSAGE\r\n"
			 "Content-Type: text/plain\r\n"
			 "Content-Length: 2\r\n"
			 "\r\n"
			 "hi");
	check_slice(parse_out(f)->body, "hi");
}

/* Two edits of one field, or two of a one-per-message kind: EINVAL, and the
 * buffer is left as it was. */
static void test_edit_conflicts(void **state)
{
	struct fx *f = *state;
	struct sb_sip_msg *m = parse_in(f, INVITE);
	struct sb_sip_edits ed;
	sb_buf_append_cstr(&f->b, "keep");

	sb_sip_edits_init(&ed);
	sb_sip_edit_delete(&ed, I_MF);
	sb_sip_edit_replace(&ed, I_MF, SB_LIT("1"));
	assert_int_equal(sb_sip_print_edited(&f->b, m, &ed), EINVAL);

	sb_sip_edits_init(&ed);
	sb_sip_edit_replace(&ed, I_TO, SB_LIT("<sip:x@y>"));
	sb_sip_edit_replace(&ed, I_TO, SB_LIT("<sip:x@z>"));
	assert_int_equal(sb_sip_print_edited(&f->b, m, &ed), EINVAL);

	sb_sip_edits_init(&ed);
	sb_sip_edit_ruri(&ed, SB_LIT("sip:a@b"));
	sb_sip_edit_ruri(&ed, SB_LIT("sip:a@c"));
	assert_int_equal(sb_sip_print_edited(&f->b, m, &ed), EINVAL);

	/* popping the Via field that is also deleted */
	sb_sip_edits_init(&ed);
	sb_sip_edit_delete(&ed, I_VIA1);
	sb_sip_edit_pop_via(&ed);
	assert_int_equal(sb_sip_print_edited(&f->b, m, &ed), EINVAL);

	/* a new body owns Content-Length */
	sb_sip_edits_init(&ed);
	sb_sip_edit_body(&ed, SB_LIT("x"));
	sb_sip_edit_replace(&ed, I_CL, SB_LIT("1"));
	assert_int_equal(sb_sip_print_edited(&f->b, m, &ed), EINVAL);

	sb_sip_edits_init(&ed);
	sb_sip_edit_body(&ed, SB_LIT("x"));
	sb_sip_edit_body(&ed, SB_LIT("y"));
	assert_int_equal(sb_sip_print_edited(&f->b, m, &ed), EINVAL);

	sb_sip_edits_init(&ed);
	sb_sip_edit_push_via(&ed, SB_LIT("SIP/2.0/UDP a;branch=z9hG4bK1"));
	sb_sip_edit_push_via(&ed, SB_LIT("SIP/2.0/UDP b;branch=z9hG4bK2"));
	assert_int_equal(sb_sip_print_edited(&f->b, m, &ed), EINVAL);

	/* fields the message does not have */
	sb_sip_edits_init(&ed);
	sb_sip_edit_delete(&ed, I_N);
	assert_int_equal(sb_sip_print_edited(&f->b, m, &ed), EINVAL);
	sb_sip_edits_init(&ed);
	sb_sip_edit_insert(&ed, I_N + 1, SB_LIT("X"), SB_LIT("y"));
	assert_int_equal(sb_sip_print_edited(&f->b, m, &ed), EINVAL);
	check_out(&f->b, "keep");
	assert_int_equal(f->b.err, 0);

	/* a Request-URI for a response */
	m = parse_in(f, "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP p1;branch=z9hG4bKp1\r\n" RSP_TAIL);
	sb_sip_edits_init(&ed);
	sb_sip_edit_ruri(&ed, SB_LIT("sip:a@b"));
	assert_int_equal(sb_sip_print_edited(&f->b, m, &ed), EINVAL);

	/* not conflicts: an insert before a deleted or replaced field, pop and
	 * push together */
	m = parse_in(f, INVITE);
	sb_sip_edits_init(&ed);
	sb_sip_edit_delete(&ed, I_TO);
	sb_sip_edit_insert(&ed, I_TO, SB_LIT("To"), SB_LIT("<sip:carol@chicago.example.com>"));
	sb_sip_edit_pop_via(&ed);
	sb_sip_edit_push_via(&ed, SB_LIT("SIP/2.0/UDP a;branch=z9hG4bK1"));
	sb_buf_reset(&f->b);
	assert_int_equal(sb_sip_print_edited(&f->b, m, &ed), 0);
	check_out(&f->b, INV_RLINE
			 "Via: SIP/2.0/UDP a;branch=z9hG4bK1\r\n"
			 "v: " INV_VIA2_V "\r\n"
			 INV_MF "To: <sip:carol@chicago.example.com>\r\n"
			 INV_FROM INV_CID INV_CSEQ INV_CONTACT INV_CT INV_CL "\r\n" INV_BODY);
}

/* Recording edits: bounded by SB_SIP_MAX_EDITS, and values that would
 * inject a field or break a line are refused. */
static void test_edit_recording_bounds(void **state)
{
	(void)state;
	struct sb_sip_edits ed;
	sb_sip_edits_init(&ed);
	for (unsigned i = 0; i < SB_SIP_MAX_EDITS; i++)
		assert_int_equal(sb_sip_edit_insert(&ed, 0, SB_LIT("X-A"), SB_LIT("v")), 0);
	assert_int_equal(ed.n, SB_SIP_MAX_EDITS);
	assert_int_equal(sb_sip_edit_insert(&ed, 0, SB_LIT("X-A"), SB_LIT("v")), ENOSPC);
	assert_int_equal(sb_sip_edit_pop_via(&ed), ENOSPC);
	assert_int_equal(sb_sip_edit_body(&ed, SB_LIT("")), ENOSPC);
	assert_int_equal(ed.n, SB_SIP_MAX_EDITS);

	sb_sip_edits_init(&ed);
	assert_int_equal(ed.n, 0);
	assert_int_equal(sb_sip_edit_replace(&ed, 0, SB_LIT("a\r\nX-Injected: 1")), EINVAL);
	assert_int_equal(sb_sip_edit_replace(&ed, 0, SB_SLICE_NULL), EINVAL);
	assert_int_equal(sb_sip_edit_replace(&ed, SB_SIP_MAX_HEADERS, SB_LIT("x")), EINVAL);
	assert_int_equal(sb_sip_edit_delete(&ed, SB_SIP_NO_HDR), EINVAL);
	assert_int_equal(sb_sip_edit_insert(&ed, 0, SB_LIT("Bad Name"), SB_LIT("v")), EINVAL);
	assert_int_equal(sb_sip_edit_insert(&ed, 0, SB_LIT("X:"), SB_LIT("v")), EINVAL);
	assert_int_equal(sb_sip_edit_insert(&ed, 0, SB_LIT(""), SB_LIT("v")), EINVAL);
	assert_int_equal(sb_sip_edit_insert(&ed, 0, SB_LIT("X"), SB_LIT("v\n")), EINVAL);
	assert_int_equal(sb_sip_edit_ruri(&ed, SB_LIT("sip:a@b SIP/2.0")), EINVAL);
	assert_int_equal(sb_sip_edit_ruri(&ed, SB_LIT("")), EINVAL);
	assert_int_equal(sb_sip_edit_push_via(&ed, SB_LIT("")), EINVAL);
	assert_int_equal(ed.n, 0);
}

/* Printing an edited message into a fixed buffer: one byte short is ENOSPC
 * and leaves the buffer as it was; exactly enough succeeds. */
static void test_edit_enospc(void **state)
{
	struct fx *f = *state;
	struct sb_sip_msg *m = parse_in(f, INVITE);
	struct sb_sip_edits ed;
	sb_sip_edits_init(&ed);
	sb_sip_edit_push_via(&ed, SB_LIT("SIP/2.0/UDP p1.example.com;branch=z9hG4bKp1"));
	sb_sip_edit_replace(&ed, I_MF, SB_LIT("68"));
	assert_int_equal(sb_sip_print_edited(&f->b, m, &ed), 0);
	size_t need = f->b.len;

	char *mem = malloc(need);
	assert_non_null(mem);
	struct sb_buf fb;
	sb_buf_init_fixed(&fb, mem, need - 1);
	assert_int_equal(sb_sip_print_edited(&fb, m, &ed), ENOSPC);
	assert_int_equal(fb.len, 0);
	assert_int_equal(fb.err, ENOSPC);
	sb_buf_init_fixed(&fb, mem, need);
	assert_int_equal(sb_sip_print_edited(&fb, m, &ed), 0);
	assert_int_equal(fb.len, need);
	assert_memory_equal(mem, f->b.p, need);

	char small[32];
	sb_buf_init_fixed(&fb, small, sizeof small);
	assert_int_equal(sb_sip_print_edited(&fb, m, &ed), ENOSPC);
	assert_int_equal(fb.len, 0);
	free(mem);
}

/* A datagram whose last field has no line end and no empty line follows:
 * an inserted field must not be glued onto it, and the output must frame. */
static void test_edit_unterminated_last_line(void **state)
{
	struct fx *f = *state;
	const char *text = "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nCall-ID: abc";
	free(f->in);
	size_t l = strlen(text);
	f->in = dup_exact(text, l);
	assert_int_equal(sb_sip_parse(&f->m, f->in, l, SB_SIP_DATAGRAM), 0);
	assert_int_equal(f->m.defect, SB_DEFECT_NO_EMPTY_LINE);
	struct sb_sip_edits ed;
	sb_sip_edits_init(&ed);
	assert_int_equal(sb_sip_edit_insert(&ed, f->m.nhdrs, SB_LIT("Record-Route"), SB_LIT("<sip:p;lr>")), 0);
	assert_int_equal(sb_sip_edit_body(&ed, SB_LIT("hello")), 0);
	assert_int_equal(sb_sip_print_edited(&f->b, &f->m, &ed), 0);
	check_out(&f->b, "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
			 "Call-ID: abc\r\nRecord-Route: <sip:p;lr>\r\nContent-Length: 5\r\n\r\nhello");
	/* no edits at all: the line is ended and the empty line added */
	sb_buf_reset(&f->b);
	sb_sip_edits_init(&ed);
	assert_int_equal(sb_sip_print_edited(&f->b, &f->m, &ed), 0);
	check_out(&f->b, "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
			 "Call-ID: abc\r\n\r\n");
}

/* Extra lines that would end the header section early, fold into the field
 * before, or end in a bare LF are refused. */
static void test_extra_injection_refused(void **state)
{
	struct fx *f = *state;
	parse_in(f, INVITE);
	static const char *const bad[] = {
		"X-A: 1\r\n\r\nINVITE sip:evil SIP/2.0\r\n",
		"X-A: 1\n",
		" folded: in\r\n",
		"X-A: 1\r\nno colon\r\n",
		"X-A: 1\rX-B: 2\r\n",
	};
	for (size_t i = 0; i < SB_ARRAY_LEN(bad); i++) {
		struct sb_sip_response_spec spec = { .code = 486, .to_tag = SB_LIT("t1"),
						     .extra = sb_slice_cstr(bad[i]) };
		sb_buf_reset(&f->b);
		if (sb_sip_print_response(&f->b, &f->m, &spec) != EINVAL)
			fail_msg("accepted extra \"%s\"", bad[i]);
		assert_int_equal(f->b.len, 0);
	}
	struct sb_sip_response_spec ok = { .code = 486, .to_tag = SB_LIT("t1"),
					   .extra = SB_LIT("Retry-After: 60\r\nX-B:2\r\n") };
	sb_buf_reset(&f->b);
	assert_int_equal(sb_sip_print_response(&f->b, &f->m, &ok), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reason_phrases),
		cmocka_unit_test_setup_teardown(test_response_180_adds_tag, setup, teardown),
		cmocka_unit_test_setup_teardown(test_response_486, setup, teardown),
		cmocka_unit_test_setup_teardown(test_response_tag_present, setup, teardown),
		cmocka_unit_test_setup_teardown(test_response_uses_to_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_response_100_no_tag, setup, teardown),
		cmocka_unit_test_setup_teardown(test_response_extra_and_body, setup, teardown),
		cmocka_unit_test_setup_teardown(test_response_addr_spec_to, setup, teardown),
		cmocka_unit_test_setup_teardown(test_response_wsinv, setup, teardown),
		cmocka_unit_test_setup_teardown(test_response_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_response_enospc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_print_request, setup, teardown),
		cmocka_unit_test_setup_teardown(test_edit_proxy_forward, setup, teardown),
		cmocka_unit_test_setup_teardown(test_edit_wsinv_untouched_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_edit_pop_via_multi, setup, teardown),
		cmocka_unit_test_setup_teardown(test_edit_pop_via_single, setup, teardown),
		cmocka_unit_test_setup_teardown(test_edit_delete_replace_insert, setup, teardown),
		cmocka_unit_test_setup_teardown(test_edit_body, setup, teardown),
		cmocka_unit_test_setup_teardown(test_edit_no_empty_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_edit_conflicts, setup, teardown),
		cmocka_unit_test(test_edit_recording_bounds),
		cmocka_unit_test_setup_teardown(test_edit_enospc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_edit_unterminated_last_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_extra_injection_refused, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
