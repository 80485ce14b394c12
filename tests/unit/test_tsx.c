/* Unit tests for the transaction layer (RFC 3261 §17, RFC 6026) on the
 * loop's manual clock: every message the layer puts on the wire is captured
 * with the time it left, so the tests assert the exact retransmission
 * schedule of each machine (Timers A, B, D, E, F, G, H, I, J, K, L, M), the
 * exact ACK of §17.1.1.3, what is passed up and what is absorbed, the
 * matching rules of §17.1.3 and §17.2.3 (RFC 2543 fallback, badbranch,
 * CANCEL lookup of §9.2), the bound on transactions, and that nothing
 * leaks (ASan) when transactions end or the layer is freed under them. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <cmocka.h>

#include "switchboard/transaction.h"

/* ------------------------------------------------------------- fixture */

#define MAX_SENT 64
#define MAX_EV 32

struct sent {
	sb_msec_t at;
	char *buf;
	size_t len;
	struct sb_tp_dest dst;
};

struct resp_ev {
	sb_msec_t at;
	unsigned status;
	bool has_msg;
	struct sb_tsx *t;
};

struct end_ev {
	sb_msec_t at;
	enum sb_tsx_end why;
	struct sb_tsx *t;
};

struct fx {
	struct sb_loop *loop;
	struct sb_tsx_layer *layer;
	struct sent sent[MAX_SENT];
	unsigned nsent;
	int send_err;                 /* what the send callback returns */
	bool quiet;                   /* the send callback only counts */
	unsigned nquiet;
	struct resp_ev resp[MAX_EV];
	unsigned nresp;
	struct end_ev ends[MAX_EV];
	unsigned nend;
	unsigned nrequest, nack, nack_matched, nstray;
	unsigned stray_status;        /* of the last stray response */
	struct sb_tsx *ack_tsx;
	bool create_on_request;       /* request_h makes a server transaction */
	struct sb_tsx *server;        /* the last one made */
	int server_err;
	unsigned answer_in_request;   /* request_h answers at once with this */
	size_t fp_in_request;         /* footprint of the server there */
	const char *nested;           /* request_h feeds the layer this request
	                                 (once) after making its transaction */
	struct sb_tsx *outer;         /* the transaction made before it */
	struct sb_tsx_owner owner;
};

static int send_h(const struct sb_tp_dest *dst, const char *buf, size_t len, void *arg)
{
	struct fx *f = arg;
	if (f->send_err)
		return f->send_err;
	if (f->quiet) {
		f->nquiet++;
		return 0;
	}
	assert_true(f->nsent < MAX_SENT);
	struct sent *s = &f->sent[f->nsent++];
	s->at = sb_loop_now(f->loop);
	s->buf = malloc(len + 1);
	assert_non_null(s->buf);
	memcpy(s->buf, buf, len);
	s->buf[len] = 0;
	s->len = len;
	s->dst = *dst;
	return 0;
}

static const char *mkresp(char *buf, size_t cap, unsigned code, const char *via,
			  const char *cseq_method, const char *to_tag);
#define UAC_VIA "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds"

static int inject(struct fx *f, const char *text, enum sb_tp_proto proto);

static void request_h(const struct sb_tp_rx *rx, void *arg)
{
	struct fx *f = arg;
	f->nrequest++;
	if (f->nested) {
		const char *inner = f->nested;
		f->nested = NULL;
		assert_int_equal(sb_tsx_server_alloc(&f->outer, f->layer, rx, &f->owner), 0);
		assert_int_equal(inject(f, inner, SB_TP_UDP), 0);
		return;
	}
	if (f->create_on_request)
		f->server_err = sb_tsx_server_alloc(&f->server, f->layer, rx, &f->owner);
	if (f->create_on_request && !f->server_err) {
		f->fp_in_request = sb_tsx_footprint(f->server);
		if (f->answer_in_request) {
			char buf[2048];
			mkresp(buf, sizeof buf, f->answer_in_request, UAC_VIA, "INVITE", NULL);
			assert_int_equal(sb_tsx_respond(f->server, buf, strlen(buf)), 0);
		}
	}
}

static void ack_h(struct sb_tsx *st, const struct sb_tp_rx *rx, void *arg)
{
	struct fx *f = arg;
	assert_int_equal(rx->msg->mid, SB_METHOD_ACK);
	f->nack++;
	if (st) {
		f->nack_matched++;
		f->ack_tsx = st;
	}
}

static void stray_h(const struct sb_tp_rx *rx, void *arg)
{
	struct fx *f = arg;
	assert_false(rx->msg->is_request);
	f->nstray++;
	f->stray_status = rx->msg->status;
}

static void response_h(struct sb_tsx *t, unsigned status, struct sb_sip_msg *msg, void *arg)
{
	struct fx *f = arg;
	assert_true(f->nresp < MAX_EV);
	if (msg)
		assert_int_equal(msg->status, status);
	f->resp[f->nresp++] = (struct resp_ev){ sb_loop_now(f->loop), status, msg != NULL, t };
}

static void end_h(struct sb_tsx *t, enum sb_tsx_end why, void *arg)
{
	struct fx *f = arg;
	assert_true(f->nend < MAX_EV);
	assert_int_equal(sb_tsx_state(t), SB_TSX_TERMINATED);
	f->ends[f->nend++] = (struct end_ev){ sb_loop_now(f->loop), why, t };
}

static struct fx *fx_new(uint32_t max_tsx)
{
	struct fx *f = calloc(1, sizeof *f);
	assert_non_null(f);
	struct sb_loop_cfg lc = { .manual_clock = true };
	assert_int_equal(sb_loop_alloc(&f->loop, &lc), 0);
	struct sb_tsx_layer_cfg c = {
		.loop = f->loop, .max_tsx = max_tsx, .send_h = send_h,
		.request_h = request_h, .ack_h = ack_h, .stray_h = stray_h, .arg = f,
	};
	assert_int_equal(sb_tsx_layer_alloc(&f->layer, &c), 0);
	f->owner = (struct sb_tsx_owner){ response_h, end_h, f };
	f->create_on_request = true;
	return f;
}

static int setup(void **state)
{
	*state = fx_new(0);
	return 0;
}

static void fx_clear_sent(struct fx *f)
{
	for (unsigned i = 0; i < f->nsent; i++)
		free(f->sent[i].buf);
	f->nsent = 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	sb_tsx_layer_free(f->layer);
	/* the layer stopped every timer it started */
	assert_int_equal(sb_loop_timer_count(f->loop), 0);
	sb_loop_free(f->loop);
	fx_clear_sent(f);
	free(f);
	return 0;
}

static void advance_to(struct fx *f, sb_msec_t t)
{
	sb_msec_t now = sb_loop_now(f->loop);
	assert_true(t >= now);
	sb_loop_advance(f->loop, t - now);
}

static struct sb_addr peer_addr(void)
{
	struct sb_addr a = { 0 };
	a.u.in.sin_family = AF_INET;
	a.u.in.sin_port = htons(5060);
	a.u.in.sin_addr.s_addr = htonl(0xc0000201); /* 192.0.2.1 */
	a.len = sizeof a.u.in;
	return a;
}

static struct sb_tp_dest next_hop(enum sb_tp_proto proto)
{
	struct sb_tp_dest d = { .proto = proto, .conn_id = proto == SB_TP_UDP ? 0 : 9 };
	d.addr.u.in.sin_family = AF_INET;
	d.addr.u.in.sin_port = htons(5062);
	d.addr.u.in.sin_addr.s_addr = htonl(0xc0000204); /* 192.0.2.4 */
	d.addr.len = sizeof d.addr.u.in;
	return d;
}

/* Parse text as the transport would and hand it to the layer. */
static int inject(struct fx *f, const char *text, enum sb_tp_proto proto)
{
	size_t len = strlen(text);
	char *copy = malloc(len);
	struct sb_sip_msg *m = malloc(sizeof *m);
	assert_non_null(copy);
	assert_non_null(m);
	memcpy(copy, text, len);
	assert_int_equal(sb_sip_parse(m, copy, len, SB_SIP_DATAGRAM), 0);
	struct sb_tp_rx rx = { .msg = m, .proto = proto, .src = peer_addr(),
			       .conn_id = proto == SB_TP_UDP ? 0 : 7 };
	int err = sb_tsx_layer_recv(f->layer, &rx);
	free(m);
	free(copy);
	return err;
}

/* ------------------------------------------------------------ messages */

#define CALL_ID "a84b4c76e66710@pc33.atlanta.example.com"
#define OUR_VIA "SIP/2.0/UDP proxy.example.com:5060;branch=z9hG4bKproxy1"

/* A request as a peer sends it.  NULL fields take the defaults. */
struct rq {
	const char *method, *ruri, *via, *to_tag, *cseq_method, *call_id, *extra;
	unsigned cseq;
	unsigned max_forwards; /* 0: 70 */
};

static const char *mkreq(char *buf, size_t cap, struct rq r)
{
	const char *method = r.method ? r.method : "INVITE";
	char to_tag[64] = "";
	if (r.to_tag)
		snprintf(to_tag, sizeof to_tag, ";tag=%s", r.to_tag);
	int n = snprintf(buf, cap,
		"%s %s SIP/2.0\r\n"
		"Via: %s\r\n"
		"%s"
		"Max-Forwards: %u\r\n"
		"To: Bob <sip:bob@biloxi.example.com>%s\r\n"
		"From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
		"Call-ID: %s\r\n"
		"CSeq: %u %s\r\n"
		"Contact: <sip:alice@192.0.2.1>\r\n"
		"Content-Length: 0\r\n\r\n",
		method, r.ruri ? r.ruri : "sip:bob@biloxi.example.com",
		r.via ? r.via : UAC_VIA, r.extra ? r.extra : "",
		r.max_forwards ? r.max_forwards : 70u, to_tag,
		r.call_id ? r.call_id : CALL_ID, r.cseq ? r.cseq : 314159u,
		r.cseq_method ? r.cseq_method : method);
	assert_true(n > 0 && (size_t)n < cap);
	return buf;
}

/* A response with Via value(s) `via`; to_tag NULL for none. */
static const char *mkresp(char *buf, size_t cap, unsigned code, const char *via,
			  const char *cseq_method, const char *to_tag)
{
	char tt[64] = "";
	if (to_tag)
		snprintf(tt, sizeof tt, ";tag=%s", to_tag);
	int n = snprintf(buf, cap,
		"SIP/2.0 %u %s\r\n"
		"Via: %s\r\n"
		"To: Bob <sip:bob@biloxi.example.com>%s\r\n"
		"From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
		"Call-ID: " CALL_ID "\r\n"
		"CSeq: 314159 %s\r\n"
		"Content-Length: 0\r\n\r\n",
		code, sb_sip_reason_phrase(code), via, tt, cseq_method);
	assert_true(n > 0 && (size_t)n < cap);
	return buf;
}

/* The Vias of a response to the request the proxy forwarded. */
#define FWD_VIAS OUR_VIA "\r\nVia: " UAC_VIA ";received=192.0.2.1"

/* The request the proxy forwards (client side): our Via on top, a Route. */
static const char *mkfwd(char *buf, size_t cap, const char *method)
{
	return mkreq(buf, cap, (struct rq){
		.method = method, .ruri = "sip:bob@192.0.2.4:5062",
		.via = FWD_VIAS, .max_forwards = 69,
		.extra = "Route: <sip:p2.example.com;lr>\r\nRoute: <sip:p3.example.com;lr>\r\n" });
}

static struct sb_tsx *client(struct fx *f, const char *method, enum sb_tp_proto proto)
{
	char buf[2048];
	mkfwd(buf, sizeof buf, method);
	struct sb_tsx_client_cfg cc = { .dst = next_hop(proto), .buf = buf, .len = strlen(buf),
					.owner = f->owner };
	struct sb_tsx *t = NULL;
	assert_int_equal(sb_tsx_client_alloc(&t, f->layer, &cc), 0);
	assert_non_null(t);
	return t;
}

static void reply_to_client(struct fx *f, unsigned code, const char *method, const char *to_tag)
{
	char buf[2048];
	mkresp(buf, sizeof buf, code, FWD_VIAS, method, to_tag);
	assert_int_equal(inject(f, buf, SB_TP_UDP), 0);
}

/* The server transaction for a request from the peer. */
static struct sb_tsx *server(struct fx *f, struct rq r, enum sb_tp_proto proto)
{
	char buf[2048];
	unsigned before = f->nrequest;
	f->server = NULL;
	assert_int_equal(inject(f, mkreq(buf, sizeof buf, r), proto), 0);
	assert_int_equal(f->nrequest, before + 1);
	assert_int_equal(f->server_err, 0);
	assert_non_null(f->server);
	return f->server;
}

/* The TU answers through st. */
static int respond(struct sb_tsx *st, unsigned code, const char *method, const char *to_tag)
{
	char buf[2048];
	mkresp(buf, sizeof buf, code, UAC_VIA, method, to_tag);
	return sb_tsx_respond(st, buf, strlen(buf));
}

static void assert_send_times(const struct fx *f, const sb_msec_t *at, unsigned n)
{
	if (f->nsent != n) {
		for (unsigned i = 0; i < f->nsent; i++)
			print_message("sent[%u] at %llu\n", i, (unsigned long long)f->sent[i].at);
	}
	assert_int_equal(f->nsent, n);
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(f->sent[i].at, at[i]);
}

static bool starts(const struct sent *s, const char *prefix)
{
	return strncmp(s->buf, prefix, strlen(prefix)) == 0;
}

/* ------------------------------------------------------ client INVITE */

/* RFC 3261 §17.1.1.2: A doubles without a cap; B at 64*T1 reports a
 * timeout (408, no message) and ends the transaction. */
static void test_cinv_udp_timer_a_and_b(void **state)
{
	struct fx *f = *state;
	struct sb_tsx *t = client(f, "INVITE", SB_TP_UDP);
	assert_int_equal(sb_tsx_kind(t), SB_TSX_CLIENT_INVITE);
	assert_int_equal(sb_tsx_state(t), SB_TSX_CALLING);
	advance_to(f, 31999);
	static const sb_msec_t at[] = { 0, 500, 1500, 3500, 7500, 15500, 31500 };
	assert_send_times(f, at, 7);
	for (unsigned i = 1; i < f->nsent; i++) {
		assert_int_equal(f->sent[i].len, f->sent[0].len);
		assert_memory_equal(f->sent[i].buf, f->sent[0].buf, f->sent[0].len);
		assert_int_equal(f->sent[i].dst.proto, SB_TP_UDP);
	}
	assert_int_equal(f->nresp, 0);
	assert_int_equal(f->nend, 0);
	advance_to(f, 32000);
	assert_int_equal(f->nresp, 1);
	assert_int_equal(f->resp[0].status, 408);
	assert_false(f->resp[0].has_msg);
	assert_int_equal(f->resp[0].at, 32000);
	assert_int_equal(f->nend, 1);
	assert_int_equal(f->ends[0].why, SB_TSX_END_TIMEOUT);
	assert_int_equal(f->ends[0].at, 32000);
	assert_int_equal(sb_tsx_layer_count(f->layer), 0);
	assert_int_equal(f->nsent, 7);
}

/* A provisional response stops retransmissions and Timer B; 2xx moves to
 * Accepted, where every 2xx goes up (RFC 6026 §7.2) and the rest is
 * absorbed; M ends it at 64*T1. */
static void test_cinv_provisional_then_2xx_accepted(void **state)
{
	struct fx *f = *state;
	struct sb_tsx *t = client(f, "INVITE", SB_TP_UDP);
	advance_to(f, 600);
	reply_to_client(f, 100, "INVITE", NULL);
	assert_int_equal(sb_tsx_state(t), SB_TSX_PROCEEDING);
	assert_int_equal(f->nresp, 1);
	assert_int_equal(f->resp[0].status, 100);
	assert_true(f->resp[0].has_msg);
	advance_to(f, 100000); /* no A, and no B in Proceeding */
	static const sb_msec_t at[] = { 0, 500 };
	assert_send_times(f, at, 2);
	assert_int_equal(f->nend, 0);
	reply_to_client(f, 180, "INVITE", "t1");
	reply_to_client(f, 180, "INVITE", "t1");
	assert_int_equal(f->nresp, 3); /* provisional responses all go up */
	reply_to_client(f, 200, "INVITE", "t1");
	assert_int_equal(sb_tsx_state(t), SB_TSX_ACCEPTED);
	assert_int_equal(f->nresp, 4);
	assert_int_equal(f->resp[3].status, 200);
	advance_to(f, 101000);
	reply_to_client(f, 200, "INVITE", "t1");       /* retransmitted 2xx */
	reply_to_client(f, 200, "INVITE", "t2");       /* another fork */
	reply_to_client(f, 486, "INVITE", "t3");       /* absorbed */
	reply_to_client(f, 183, "INVITE", "t3");       /* absorbed */
	assert_int_equal(f->nresp, 6);
	assert_int_equal(f->resp[4].status, 200);
	assert_int_equal(f->resp[5].status, 200);
	assert_int_equal(f->nsent, 2); /* the transaction never ACKs a 2xx */
	advance_to(f, 100000 + 32000 - 1);
	assert_int_equal(f->nend, 0);
	advance_to(f, 100000 + 32000);
	assert_int_equal(f->nend, 1);
	assert_int_equal(f->ends[0].why, SB_TSX_END_NORMAL);
	assert_int_equal(sb_tsx_layer_count(f->layer), 0);
	/* after Terminated a 2xx matches nothing: stray */
	reply_to_client(f, 200, "INVITE", "t1");
	assert_int_equal(f->nstray, 1);
	assert_int_equal(f->nresp, 6);
}

/* RFC 3261 §17.1.1.2: no retransmissions over a reliable transport; B
 * still runs. */
static void test_cinv_tcp_no_retransmission(void **state)
{
	struct fx *f = *state;
	client(f, "INVITE", SB_TP_TCP);
	advance_to(f, 31999);
	static const sb_msec_t at[] = { 0 };
	assert_send_times(f, at, 1);
	assert_int_equal(f->sent[0].dst.proto, SB_TP_TCP);
	assert_int_equal(f->sent[0].dst.conn_id, 9);
	advance_to(f, 32000);
	assert_int_equal(f->nresp, 1);
	assert_int_equal(f->resp[0].status, 408);
	assert_int_equal(f->nend, 1);
}

static const char expected_ack[] =
	"ACK sip:bob@192.0.2.4:5062 SIP/2.0\r\n"
	"Via: " OUR_VIA "\r\n"
	"Max-Forwards: 69\r\n"
	"To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf\r\n"
	"From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
	"Call-ID: " CALL_ID "\r\n"
	"CSeq: 314159 ACK\r\n"
	"Route: <sip:p2.example.com;lr>\r\n"
	"Route: <sip:p3.example.com;lr>\r\n"
	"Content-Length: 0\r\n\r\n";

/* RFC 3261 §17.1.1.3: the ACK for a 486, byte for byte, re-sent for each
 * retransmitted 486, which is not passed up; Timer D (32 s) ends it. */
static void test_cinv_486_ack(void **state)
{
	struct fx *f = *state;
	struct sb_tsx *t = client(f, "INVITE", SB_TP_UDP);
	advance_to(f, 700);
	reply_to_client(f, 486, "INVITE", "a6c85cf");
	assert_int_equal(sb_tsx_state(t), SB_TSX_COMPLETED);
	assert_int_equal(sb_tsx_status(t), 486);
	assert_int_equal(f->nresp, 1);
	assert_int_equal(f->resp[0].status, 486);
	assert_int_equal(f->nsent, 3); /* INVITE at 0 and 500, ACK at 700 */
	assert_string_equal(f->sent[2].buf, expected_ack);
	assert_int_equal(f->sent[2].at, 700);
	/* to the same address, port and transport as the INVITE */
	assert_memory_equal(&f->sent[2].dst, &f->sent[0].dst, sizeof f->sent[0].dst);
	/* the generated ACK parses and is an ACK */
	struct sb_sip_msg *m = malloc(sizeof *m);
	assert_non_null(m);
	assert_int_equal(sb_sip_parse(m, f->sent[2].buf, f->sent[2].len, SB_SIP_DATAGRAM), 0);
	assert_int_equal(m->mid, SB_METHOD_ACK);
	assert_int_equal(sb_sip_hdr_count(m, SB_HDR_VIA), 1);
	free(m);

	advance_to(f, 2000); /* no INVITE retransmission in Completed */
	assert_int_equal(f->nsent, 3);
	reply_to_client(f, 486, "INVITE", "a6c85cf");
	assert_int_equal(f->nsent, 4);
	assert_string_equal(f->sent[3].buf, expected_ack);
	assert_int_equal(f->nresp, 1);
	advance_to(f, 700 + 32000 - 1);
	assert_int_equal(f->nend, 0);
	advance_to(f, 700 + 32000);
	assert_int_equal(f->nend, 1);
	assert_int_equal(f->ends[0].why, SB_TSX_END_NORMAL);
	assert_int_equal(f->nsent, 4);
}

/* Over TCP Timer D is zero: the transaction ends right after the 486. */
static void test_cinv_486_tcp_timer_d_zero(void **state)
{
	struct fx *f = *state;
	client(f, "INVITE", SB_TP_TCP);
	reply_to_client(f, 486, "INVITE", "a6c85cf");
	assert_int_equal(f->nsent, 2);
	assert_string_equal(f->sent[1].buf, expected_ack);
	assert_int_equal(f->nend, 0); /* never freed under the caller */
	sb_loop_advance(f->loop, 0);
	assert_int_equal(f->nend, 1);
	assert_int_equal(f->ends[0].why, SB_TSX_END_NORMAL);
	assert_int_equal(sb_tsx_layer_count(f->layer), 0);
}

/* A 2xx from another fork after a 486 still reaches the TU. */
static void test_cinv_2xx_after_failure_passed_up(void **state)
{
	struct fx *f = *state;
	client(f, "INVITE", SB_TP_UDP);
	reply_to_client(f, 486, "INVITE", "x");
	reply_to_client(f, 200, "INVITE", "y");
	assert_int_equal(f->nresp, 2);
	assert_int_equal(f->resp[1].status, 200);
}

/* A transport error on a retransmission: 503 up, then the end. */
static void test_cinv_transport_error(void **state)
{
	struct fx *f = *state;
	client(f, "INVITE", SB_TP_UDP);
	f->send_err = ECONNREFUSED;
	advance_to(f, 500);
	assert_int_equal(f->nresp, 1);
	assert_int_equal(f->resp[0].status, 503);
	assert_false(f->resp[0].has_msg);
	assert_int_equal(f->nend, 1);
	assert_int_equal(f->ends[0].why, SB_TSX_END_TRANSPORT);
	/* a failure on the first send creates nothing */
	char buf[2048];
	mkfwd(buf, sizeof buf, "OPTIONS");
	struct sb_tsx_client_cfg cc = { .dst = next_hop(SB_TP_UDP), .buf = buf,
					.len = strlen(buf), .owner = f->owner };
	struct sb_tsx *t = NULL;
	assert_int_equal(sb_tsx_client_alloc(&t, f->layer, &cc), ECONNREFUSED);
	assert_int_equal(sb_tsx_layer_count(f->layer), 0);
}

/* ---------------------------------------------------- client non-INVITE */

/* RFC 3261 §17.1.2.2: E doubles up to T2; F at 64*T1. */
static void test_cnon_udp_timer_e_and_f(void **state)
{
	struct fx *f = *state;
	struct sb_tsx *t = client(f, "OPTIONS", SB_TP_UDP);
	assert_int_equal(sb_tsx_kind(t), SB_TSX_CLIENT_NON_INVITE);
	assert_int_equal(sb_tsx_state(t), SB_TSX_TRYING);
	advance_to(f, 31999);
	static const sb_msec_t at[] = { 0, 500, 1500, 3500, 7500, 11500, 15500,
					19500, 23500, 27500, 31500 };
	assert_send_times(f, at, SB_ARRAY_LEN(at));
	assert_int_equal(f->nresp, 0);
	advance_to(f, 32000);
	assert_int_equal(f->nresp, 1);
	assert_int_equal(f->resp[0].status, 408);
	assert_int_equal(f->nend, 1);
	assert_int_equal(f->ends[0].why, SB_TSX_END_TIMEOUT);
}

/* In Proceeding, E is reset to T2 each time; a final response goes up once,
 * retransmissions are absorbed, K (T4) ends it. */
static void test_cnon_proceeding_t2_and_timer_k(void **state)
{
	struct fx *f = *state;
	struct sb_tsx *t = client(f, "OPTIONS", SB_TP_UDP);
	advance_to(f, 100);
	reply_to_client(f, 100, "OPTIONS", NULL);
	assert_int_equal(sb_tsx_state(t), SB_TSX_PROCEEDING);
	advance_to(f, 13000);
	/* E was set to T1 at 0: fires at 500, then every T2 */
	static const sb_msec_t at[] = { 0, 500, 4500, 8500, 12500 };
	assert_send_times(f, at, SB_ARRAY_LEN(at));
	reply_to_client(f, 200, "OPTIONS", "z");
	assert_int_equal(sb_tsx_state(t), SB_TSX_COMPLETED);
	assert_int_equal(f->nresp, 2);
	reply_to_client(f, 200, "OPTIONS", "z");
	reply_to_client(f, 100, "OPTIONS", NULL);
	assert_int_equal(f->nresp, 2);
	advance_to(f, 17999);
	assert_int_equal(f->nsent, SB_ARRAY_LEN(at));
	assert_int_equal(f->nend, 0);
	advance_to(f, 18000);
	assert_int_equal(f->nend, 1);
	assert_int_equal(f->ends[0].why, SB_TSX_END_NORMAL);
}

static void test_cnon_tcp(void **state)
{
	struct fx *f = *state;
	client(f, "BYE", SB_TP_TCP);
	advance_to(f, 20000);
	assert_int_equal(f->nsent, 1);
	reply_to_client(f, 200, "BYE", "z");
	assert_int_equal(f->nresp, 1);
	sb_loop_advance(f->loop, 0); /* K is zero over TCP */
	assert_int_equal(f->nend, 1);
	assert_int_equal(sb_tsx_layer_count(f->layer), 0);
}

/* §17.1.3: the CSeq method takes part: a 200 to the CANCEL goes to the
 * CANCEL transaction, not to the INVITE with the same branch. */
static void test_client_match_by_method(void **state)
{
	struct fx *f = *state;
	struct sb_tsx *inv = client(f, "INVITE", SB_TP_UDP);
	struct sb_tsx *can = client(f, "CANCEL", SB_TP_UDP);
	reply_to_client(f, 200, "CANCEL", "c");
	assert_int_equal(f->nresp, 1);
	assert_ptr_equal(f->resp[0].t, can);
	assert_int_equal(sb_tsx_state(inv), SB_TSX_CALLING);
	reply_to_client(f, 487, "INVITE", "c");
	assert_int_equal(f->nresp, 2);
	assert_ptr_equal(f->resp[1].t, inv);
	/* same branch and method twice: refused */
	char buf[2048];
	mkfwd(buf, sizeof buf, "CANCEL");
	struct sb_tsx_client_cfg cc = { .dst = next_hop(SB_TP_UDP), .buf = buf,
					.len = strlen(buf), .owner = f->owner };
	struct sb_tsx *t;
	assert_int_equal(sb_tsx_client_alloc(&t, f->layer, &cc), EEXIST);
	/* a response with an unknown branch is stray */
	char r[2048];
	mkresp(r, sizeof r, 200, "SIP/2.0/UDP proxy.example.com:5060;branch=z9hG4bKother",
	       "INVITE", "q");
	assert_int_equal(inject(f, r, SB_TP_UDP), 0);
	assert_int_equal(f->nstray, 1);
	/* no branch at all: stray too */
	mkresp(r, sizeof r, 200, "SIP/2.0/UDP proxy.example.com:5060", "INVITE", "q");
	assert_int_equal(inject(f, r, SB_TP_UDP), 0);
	assert_int_equal(f->nstray, 2);
}

static void test_client_alloc_refuses(void **state)
{
	struct fx *f = *state;
	struct sb_tsx *t;
	char buf[2048];
	struct sb_tsx_client_cfg cc = { .dst = next_hop(SB_TP_UDP), .buf = buf, .owner = f->owner };
	/* ACK has no client transaction */
	mkreq(buf, sizeof buf, (struct rq){ .method = "ACK", .via = OUR_VIA });
	cc.len = strlen(buf);
	assert_int_equal(sb_tsx_client_alloc(&t, f->layer, &cc), EINVAL);
	/* no branch */
	mkreq(buf, sizeof buf, (struct rq){ .via = "SIP/2.0/UDP proxy.example.com" });
	cc.len = strlen(buf);
	assert_int_equal(sb_tsx_client_alloc(&t, f->layer, &cc), EINVAL);
	/* CSeq method differs from the method */
	mkreq(buf, sizeof buf, (struct rq){ .via = OUR_VIA, .cseq_method = "BYE" });
	cc.len = strlen(buf);
	assert_int_equal(sb_tsx_client_alloc(&t, f->layer, &cc), EINVAL);
	/* a response */
	mkresp(buf, sizeof buf, 200, FWD_VIAS, "INVITE", NULL);
	cc.len = strlen(buf);
	assert_int_equal(sb_tsx_client_alloc(&t, f->layer, &cc), EINVAL);
	assert_int_equal(f->nsent, 0);
	assert_int_equal(sb_tsx_layer_count(f->layer), 0);
}

/* ------------------------------------------------------ server INVITE */

/* RFC 3261 §17.2.1: the transaction sends 100 Trying itself when the TU
 * is silent for 200 ms, and re-sends it for a retransmitted INVITE. */
static void test_sinv_auto_100(void **state)
{
	struct fx *f = *state;
	struct sb_tsx *st = server(f, (struct rq){ 0 }, SB_TP_UDP);
	assert_int_equal(sb_tsx_kind(st), SB_TSX_SERVER_INVITE);
	assert_int_equal(sb_tsx_state(st), SB_TSX_PROCEEDING);
	advance_to(f, 199);
	assert_int_equal(f->nsent, 0);
	advance_to(f, 200);
	assert_int_equal(f->nsent, 1);
	assert_string_equal(f->sent[0].buf,
		"SIP/2.0 100 Trying\r\n"
		"Via: " UAC_VIA "\r\n"
		"From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
		"To: Bob <sip:bob@biloxi.example.com>\r\n"
		"Call-ID: " CALL_ID "\r\n"
		"CSeq: 314159 INVITE\r\n"
		"Content-Length: 0\r\n\r\n");
	/* back to the source of the request */
	struct sb_addr pa = peer_addr();
	assert_int_equal(f->sent[0].dst.proto, SB_TP_UDP);
	assert_memory_equal(&f->sent[0].dst.addr, &pa, sizeof pa);
	char buf[2048];
	assert_int_equal(inject(f, mkreq(buf, sizeof buf, (struct rq){ 0 }), SB_TP_UDP), 0);
	assert_int_equal(f->nrequest, 1); /* absorbed, not a new request */
	assert_int_equal(f->nsent, 2);
	assert_string_equal(f->sent[1].buf, f->sent[0].buf);
	advance_to(f, 10000);
	assert_int_equal(f->nsent, 2);
}

/* The 100 Trying is printed after request_h returns, and only when the TU
 * has not answered inside it (as a proxy does, RFC 3261 §16.2): the TU's
 * own 100 goes out, and no other. */
static void test_sinv_answer_in_request_h(void **state)
{
	struct fx *f = *state;
	f->answer_in_request = 100;
	struct sb_tsx *st = server(f, (struct rq){ 0 }, SB_TP_UDP);
	assert_int_equal(f->nsent, 1);
	assert_int_equal(sb_tsx_status(st), 100);
	size_t base = f->fp_in_request; /* nothing printed inside request_h */
	assert_int_equal(sb_tsx_footprint(st), base + f->sent[0].len);
	advance_to(f, 1000);
	assert_int_equal(f->nsent, 1);
	char buf[2048];
	inject(f, mkreq(buf, sizeof buf, (struct rq){ 0 }), SB_TP_UDP);
	assert_int_equal(f->nsent, 2); /* the TU's 100 again */
	assert_string_equal(f->sent[1].buf, f->sent[0].buf);
	/* a silent TU: the layer's 100 is printed once request_h returned */
	f->answer_in_request = 0;
	/* a branch as long as UAC_VIA's: a key of the same length */
	struct rq r2 = { .via = "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhdX" };
	struct sb_tsx *s2 = server(f, r2, SB_TP_UDP);
	assert_int_equal(f->fp_in_request, base);
	assert_true(sb_tsx_footprint(s2) > base);
	advance_to(f, 1200);
	assert_int_equal(f->nsent, 3);
	assert_true(starts(&f->sent[2], "SIP/2.0 100 Trying\r\n"));
	assert_int_equal(sb_tsx_footprint(s2), base + f->sent[2].len);
}

/* A request_h that feeds the layer another request before it returns
 * (a nested sb_tsx_layer_recv): each transaction's 100 Trying (§17.2.1)
 * is printed from its own request, with its own Via, and each is sent
 * once at 200 ms. */
static void test_sinv_nested_recv_in_request_h(void **state)
{
	struct fx *f = *state;
	char inner[2048];
	const char *inner_via = "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKinner1";
	f->nested = mkreq(inner, sizeof inner, (struct rq){ .via = inner_via });
	char outer[2048];
	assert_int_equal(inject(f, mkreq(outer, sizeof outer, (struct rq){ 0 }), SB_TP_UDP), 0);
	assert_int_equal(f->nrequest, 2);
	assert_non_null(f->outer);
	assert_non_null(f->server);
	assert_ptr_not_equal(f->outer, f->server);
	assert_int_equal(f->nsent, 0);
	advance_to(f, 200);
	assert_int_equal(f->nsent, 2);
	unsigned nouter = 0, ninner = 0;
	for (unsigned k = 0; k < 2; k++) {
		assert_true(starts(&f->sent[k], "SIP/2.0 100 Trying\r\n"));
		if (strstr(f->sent[k].buf, "\r\nVia: " UAC_VIA "\r\n"))
			nouter++;
		if (strstr(f->sent[k].buf, "branch=z9hG4bKinner1\r\n"))
			ninner++;
	}
	assert_int_equal(nouter, 1);
	assert_int_equal(ninner, 1);
	advance_to(f, 10000);
	assert_int_equal(f->nsent, 2);
}

/* A retransmission before 200 ms brings the 100 forward, once. */
static void test_sinv_retransmission_before_100(void **state)
{
	struct fx *f = *state;
	server(f, (struct rq){ 0 }, SB_TP_UDP);
	advance_to(f, 50);
	char buf[2048];
	assert_int_equal(inject(f, mkreq(buf, sizeof buf, (struct rq){ 0 }), SB_TP_UDP), 0);
	assert_int_equal(f->nsent, 1);
	assert_int_equal(f->sent[0].at, 50);
	assert_true(starts(&f->sent[0], "SIP/2.0 100 Trying\r\n"));
	advance_to(f, 1000);
	assert_int_equal(f->nsent, 1);
}

/* A TU that answers at once suppresses the 100; a retransmitted INVITE
 * gets the last provisional response. */
static void test_sinv_provisional_resent(void **state)
{
	struct fx *f = *state;
	struct sb_tsx *st = server(f, (struct rq){ 0 }, SB_TP_UDP);
	assert_int_equal(respond(st, 180, "INVITE", "srv"), 0);
	assert_int_equal(f->nsent, 1);
	assert_true(starts(&f->sent[0], "SIP/2.0 180 Ringing\r\n"));
	advance_to(f, 5000);
	assert_int_equal(f->nsent, 1); /* no 100, no retransmission of 1xx */
	char buf[2048];
	assert_int_equal(inject(f, mkreq(buf, sizeof buf, (struct rq){ 0 }), SB_TP_UDP), 0);
	assert_int_equal(f->nsent, 2);
	assert_string_equal(f->sent[1].buf, f->sent[0].buf);
	assert_int_equal(sb_tsx_status(st), 180);
}

/* RFC 3261 §17.2.1: a 486 is retransmitted by G (T1 doubling to T2) until
 * the ACK, which moves to Confirmed and is absorbed; I (T4) ends it. */
static void test_sinv_486_timer_g_until_ack(void **state)
{
	struct fx *f = *state;
	struct sb_tsx *st = server(f, (struct rq){ 0 }, SB_TP_UDP);
	assert_int_equal(respond(st, 486, "INVITE", "srv"), 0);
	assert_int_equal(sb_tsx_state(st), SB_TSX_COMPLETED);
	advance_to(f, 15999);
	static const sb_msec_t at[] = { 0, 500, 1500, 3500, 7500, 11500, 15500 };
	assert_send_times(f, at, SB_ARRAY_LEN(at));
	for (unsigned i = 0; i < f->nsent; i++)
		assert_true(starts(&f->sent[i], "SIP/2.0 486 Busy Here\r\n"));
	/* a retransmitted INVITE gets the 486 again */
	char buf[2048];
	assert_int_equal(inject(f, mkreq(buf, sizeof buf, (struct rq){ 0 }), SB_TP_UDP), 0);
	assert_int_equal(f->nsent, 8);
	advance_to(f, 16000);
	assert_int_equal(inject(f, mkreq(buf, sizeof buf, (struct rq){ .method = "ACK",
		.to_tag = "srv", .cseq_method = "ACK" }), SB_TP_UDP), 0);
	assert_int_equal(sb_tsx_state(st), SB_TSX_CONFIRMED);
	assert_int_equal(f->nack, 0); /* absorbed: the Yealink flow's F6 */
	assert_int_equal(f->nrequest, 1);
	advance_to(f, 20999);
	assert_int_equal(f->nsent, 8); /* G stopped */
	/* more ACKs and INVITEs are absorbed in Confirmed */
	inject(f, mkreq(buf, sizeof buf, (struct rq){ .method = "ACK", .to_tag = "srv",
		.cseq_method = "ACK" }), SB_TP_UDP);
	inject(f, mkreq(buf, sizeof buf, (struct rq){ 0 }), SB_TP_UDP);
	assert_int_equal(f->nack, 0);
	assert_int_equal(f->nsent, 8);
	assert_int_equal(f->nrequest, 1);
	assert_int_equal(f->nend, 0);
	advance_to(f, 21000); /* I = T4 after the ACK */
	assert_int_equal(f->nend, 1);
	assert_int_equal(f->ends[0].why, SB_TSX_END_NORMAL);
	assert_int_equal(sb_tsx_layer_count(f->layer), 0);
}

/* No ACK: G runs until H at 64*T1, which reports the failure. */
static void test_sinv_timer_h(void **state)
{
	struct fx *f = *state;
	struct sb_tsx *st = server(f, (struct rq){ 0 }, SB_TP_UDP);
	advance_to(f, 1000); /* the 100 goes at 200 */
	assert_int_equal(respond(st, 603, "INVITE", "srv"), 0);
	advance_to(f, 1000 + 31999);
	static const sb_msec_t at[] = { 200, 1000, 1500, 2500, 4500, 8500, 12500, 16500,
					20500, 24500, 28500, 32500 };
	assert_send_times(f, at, SB_ARRAY_LEN(at));
	assert_int_equal(f->nend, 0);
	advance_to(f, 1000 + 32000);
	assert_int_equal(f->nend, 1);
	assert_int_equal(f->ends[0].why, SB_TSX_END_TIMEOUT);
	assert_int_equal(f->nsent, SB_ARRAY_LEN(at));
}

/* RFC 6026 §7.1: 2xx moves to Accepted; INVITE retransmissions are absorbed
 * (2xx retransmission is the TU's job), the TU's 2xx retransmissions go
 * out, an ACK goes up; L ends it. */
static void test_sinv_2xx_accepted(void **state)
{
	struct fx *f = *state;
	struct sb_tsx *st = server(f, (struct rq){ 0 }, SB_TP_UDP);
	assert_int_equal(respond(st, 200, "INVITE", "srv"), 0);
	assert_int_equal(sb_tsx_state(st), SB_TSX_ACCEPTED);
	assert_int_equal(f->nsent, 1);
	char buf[2048];
	assert_int_equal(inject(f, mkreq(buf, sizeof buf, (struct rq){ 0 }), SB_TP_UDP), 0);
	assert_int_equal(f->nsent, 1);
	assert_int_equal(f->nrequest, 1);
	advance_to(f, 500);
	assert_int_equal(f->nsent, 1); /* no G for a 2xx */
	assert_int_equal(respond(st, 200, "INVITE", "srv"), 0);
	assert_int_equal(f->nsent, 2);
	assert_int_equal(respond(st, 486, "INVITE", "srv"), EINVAL);
	assert_int_equal(respond(st, 180, "INVITE", "srv"), EINVAL);
	/* the ACK for the 2xx, with a new branch as §17.1.1.3 wants: no match */
	assert_int_equal(inject(f, mkreq(buf, sizeof buf, (struct rq){ .method = "ACK",
		.via = "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKack2xx", .to_tag = "srv" }),
		SB_TP_UDP), 0);
	assert_int_equal(f->nack, 1);
	assert_int_equal(f->nack_matched, 0);
	/* one that reuses the INVITE's branch matches and goes up with it */
	assert_int_equal(inject(f, mkreq(buf, sizeof buf, (struct rq){ .method = "ACK",
		.to_tag = "srv" }), SB_TP_UDP), 0);
	assert_int_equal(f->nack, 2);
	assert_int_equal(f->nack_matched, 1);
	assert_ptr_equal(f->ack_tsx, st);
	advance_to(f, 31999);
	assert_int_equal(f->nend, 0);
	advance_to(f, 32000);
	assert_int_equal(f->nend, 1);
	assert_int_equal(f->ends[0].why, SB_TSX_END_NORMAL);
	/* gone: the INVITE is new again, as RFC 6026 intends after L */
	inject(f, mkreq(buf, sizeof buf, (struct rq){ 0 }), SB_TP_UDP);
	assert_int_equal(f->nrequest, 2);
}

/* Over TCP: no G; the ACK ends the transaction at once (I = 0). */
static void test_sinv_tcp(void **state)
{
	struct fx *f = *state;
	struct sb_tsx *st = server(f, (struct rq){ .via = "SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bKtcp1" },
				   SB_TP_TCP);
	assert_int_equal(respond(st, 486, "INVITE", "srv"), 0);
	assert_int_equal(f->sent[0].dst.proto, SB_TP_TCP);
	assert_int_equal(f->sent[0].dst.conn_id, 7);
	advance_to(f, 20000);
	assert_int_equal(f->nsent, 1);
	char buf[2048];
	assert_int_equal(inject(f, mkreq(buf, sizeof buf, (struct rq){ .method = "ACK",
		.via = "SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bKtcp1", .to_tag = "srv" }),
		SB_TP_TCP), 0);
	assert_int_equal(f->nack, 0);
	sb_loop_advance(f->loop, 0);
	assert_int_equal(f->nend, 1);
	assert_int_equal(f->ends[0].why, SB_TSX_END_NORMAL);
}

static void test_sinv_respond_errors(void **state)
{
	struct fx *f = *state;
	struct sb_tsx *st = server(f, (struct rq){ 0 }, SB_TP_UDP);
	assert_int_equal(sb_tsx_respond(st, "HTTP/1.1 200 OK\r\n\r\n", 19), EINVAL);
	assert_int_equal(sb_tsx_respond(st, "SIP/2.0 99 x\r\n\r\n", 16), EINVAL);
	assert_int_equal(sb_tsx_respond(st, "SIP/2.0 700 x\r\n\r\n", 17), EINVAL);
	assert_int_equal(sb_tsx_respond(st, "SIP/2.0 2000 x\r\n\r\n", 18), EINVAL);
	assert_int_equal(f->nsent, 0);
	assert_int_equal(respond(st, 404, "INVITE", "srv"), 0);
	assert_int_equal(respond(st, 500, "INVITE", "srv"), EINVAL);
	assert_int_equal(respond(st, 200, "INVITE", "srv"), EINVAL);
	assert_int_equal(f->nsent, 1);
	/* a client transaction takes no responses from a TU */
	struct sb_tsx *ct = client(f, "INVITE", SB_TP_UDP);
	assert_int_equal(respond(ct, 200, "INVITE", "x"), EINVAL);
}

/* A send failure on a response ends the transaction (§17.2.4), later. */
static void test_sinv_transport_error(void **state)
{
	struct fx *f = *state;
	struct sb_tsx *st = server(f, (struct rq){ 0 }, SB_TP_UDP);
	f->send_err = EHOSTUNREACH;
	assert_int_equal(respond(st, 486, "INVITE", "srv"), EHOSTUNREACH);
	assert_int_equal(sb_tsx_state(st), SB_TSX_TERMINATED);
	assert_int_equal(f->nend, 0);
	sb_loop_advance(f->loop, 0);
	assert_int_equal(f->nend, 1);
	assert_int_equal(f->ends[0].why, SB_TSX_END_TRANSPORT);
}

/* -------------------------------------------------- server non-INVITE */

/* RFC 3261 §17.2.2: retransmissions in Trying are absorbed silently, in
 * Proceeding and Completed the last response is re-sent; J (64*T1 over
 * UDP) ends it. */
static void test_snon_timer_j(void **state)
{
	struct fx *f = *state;
	char buf[2048];
	struct rq bye = { .method = "BYE", .to_tag = "srv", .cseq = 314160 };
	struct sb_tsx *st = server(f, bye, SB_TP_UDP);
	assert_int_equal(sb_tsx_kind(st), SB_TSX_SERVER_NON_INVITE);
	assert_int_equal(sb_tsx_state(st), SB_TSX_TRYING);
	advance_to(f, 1000);
	assert_int_equal(f->nsent, 0); /* no automatic 100 for non-INVITE */
	inject(f, mkreq(buf, sizeof buf, bye), SB_TP_UDP);
	assert_int_equal(f->nsent, 0);
	assert_int_equal(f->nrequest, 1);
	assert_int_equal(respond(st, 100, "BYE", NULL), 0);
	assert_int_equal(sb_tsx_state(st), SB_TSX_PROCEEDING);
	inject(f, mkreq(buf, sizeof buf, bye), SB_TP_UDP);
	assert_int_equal(f->nsent, 2);
	assert_true(starts(&f->sent[1], "SIP/2.0 100 Trying\r\n"));
	assert_int_equal(respond(st, 200, "BYE", "srv"), 0);
	assert_int_equal(sb_tsx_state(st), SB_TSX_COMPLETED);
	advance_to(f, 2000);
	inject(f, mkreq(buf, sizeof buf, bye), SB_TP_UDP);
	assert_int_equal(f->nsent, 4);
	assert_true(starts(&f->sent[3], "SIP/2.0 200 OK\r\n"));
	assert_string_equal(f->sent[3].buf, f->sent[2].buf);
	assert_int_equal(respond(st, 200, "BYE", "srv"), EINVAL);
	advance_to(f, 1000 + 32000 - 1);
	assert_int_equal(f->nend, 0);
	assert_int_equal(f->nsent, 4); /* a non-INVITE response is never retransmitted on its own */
	advance_to(f, 1000 + 32000);
	assert_int_equal(f->nend, 1);
	assert_int_equal(f->ends[0].why, SB_TSX_END_NORMAL);
	inject(f, mkreq(buf, sizeof buf, bye), SB_TP_UDP);
	assert_int_equal(f->nrequest, 2); /* a new transaction now */
}

static void test_snon_tcp_timer_j_zero(void **state)
{
	struct fx *f = *state;
	struct sb_tsx *st = server(f, (struct rq){ .method = "OPTIONS" }, SB_TP_TCP);
	assert_int_equal(respond(st, 200, "OPTIONS", "srv"), 0);
	assert_int_equal(f->nend, 0);
	sb_loop_advance(f->loop, 0);
	assert_int_equal(f->nend, 1);
	assert_int_equal(sb_tsx_layer_count(f->layer), 0);
}

/* ------------------------------------------------------------ matching */

/* §17.2.3: branch, sent-by and method make the key. */
static void test_match_branch_sentby_method(void **state)
{
	struct fx *f = *state;
	struct sb_tsx *a = server(f, (struct rq){ .via = "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKa" },
				  SB_TP_UDP);
	struct sb_tsx *b = server(f, (struct rq){ .via = "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKb" },
				  SB_TP_UDP);
	assert_ptr_not_equal(a, b);
	/* same branch from another sent-by: another transaction */
	struct sb_tsx *c = server(f, (struct rq){ .via = "SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bKa" },
				  SB_TP_UDP);
	/* same branch, other port */
	struct sb_tsx *d = server(f, (struct rq){ .via = "SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bKa" },
				  SB_TP_UDP);
	/* same branch and sent-by, other method: CANCEL is its own */
	struct sb_tsx *e = server(f, (struct rq){ .method = "CANCEL",
		.via = "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKa" }, SB_TP_UDP);
	assert_int_equal(sb_tsx_layer_count(f->layer), 5);
	assert_int_equal(sb_tsx_kind(e), SB_TSX_SERVER_NON_INVITE);
	assert_int_equal(respond(a, 486, "INVITE", "A"), 0);
	assert_int_equal(respond(b, 487, "INVITE", "B"), 0);
	assert_int_equal(respond(c, 480, "INVITE", "C"), 0);
	assert_int_equal(respond(d, 404, "INVITE", "D"), 0);
	/* a retransmission of b gets b's response, not a's, c's or d's */
	char buf[2048];
	inject(f, mkreq(buf, sizeof buf, (struct rq){ .via = "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKb" }),
	       SB_TP_UDP);
	assert_int_equal(f->nrequest, 5);
	assert_true(starts(&f->sent[f->nsent - 1], "SIP/2.0 487 "));
	/* the branch compares with case: z9hG4bKA is not z9hG4bKa */
	server(f, (struct rq){ .via = "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKA" }, SB_TP_UDP);
	assert_int_equal(f->nrequest, 6);
}

static void test_match_host_case(void **state)
{
	struct fx *f = *state;
	struct sb_tsx *a = server(f, (struct rq){ .via = "SIP/2.0/UDP PC33.Example.COM;branch=z9hG4bKh" },
				  SB_TP_UDP);
	assert_int_equal(respond(a, 180, "INVITE", "A"), 0);
	char buf[2048];
	inject(f, mkreq(buf, sizeof buf, (struct rq){ .via = "SIP/2.0/UDP pc33.example.com;branch=z9hG4bKh" }),
	       SB_TP_UDP);
	assert_int_equal(f->nrequest, 1);
	assert_int_equal(f->nsent, 2);
}

/* §9.2: the INVITE a CANCEL cancels. */
static void test_cancel_lookup(void **state)
{
	struct fx *f = *state;
	struct sb_tsx *inv = server(f, (struct rq){ 0 }, SB_TP_UDP);
	char buf[2048];
	struct sb_sip_msg *m = malloc(sizeof *m);
	assert_non_null(m);
	mkreq(buf, sizeof buf, (struct rq){ .method = "CANCEL" });
	assert_int_equal(sb_sip_parse(m, buf, strlen(buf), SB_SIP_DATAGRAM), 0);
	assert_ptr_equal(sb_tsx_find_invite_for_cancel(f->layer, m), inv);
	/* the CANCEL's own transaction does not disturb the lookup */
	struct sb_tsx *can = server(f, (struct rq){ .method = "CANCEL" }, SB_TP_UDP);
	assert_ptr_not_equal(can, inv);
	assert_ptr_equal(sb_tsx_find_invite_for_cancel(f->layer, m), inv);
	/* other branch: nothing */
	mkreq(buf, sizeof buf, (struct rq){ .method = "CANCEL",
		.via = "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKnope" });
	assert_int_equal(sb_sip_parse(m, buf, strlen(buf), SB_SIP_DATAGRAM), 0);
	assert_null(sb_tsx_find_invite_for_cancel(f->layer, m));
	/* a non-INVITE with that branch is not returned */
	server(f, (struct rq){ .method = "OPTIONS",
		.via = "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKopt" }, SB_TP_UDP);
	mkreq(buf, sizeof buf, (struct rq){ .method = "CANCEL",
		.via = "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKopt" });
	assert_int_equal(sb_sip_parse(m, buf, strlen(buf), SB_SIP_DATAGRAM), 0);
	assert_null(sb_tsx_find_invite_for_cancel(f->layer, m));
	free(m);
}

#define VIA_2543 "SIP/2.0/UDP 192.0.2.1:5060"

/* §17.2.3, RFC 2543 rules: no cookie, so the request fields are the key;
 * the ACK matches by the To tag of the response sent. */
static void test_match_rfc2543(void **state)
{
	struct fx *f = *state;
	char buf[2048];
	struct rq inv = { .via = VIA_2543 };
	struct sb_tsx *st = server(f, inv, SB_TP_UDP);
	assert_int_equal(respond(st, 486, "INVITE", "srv2543"), 0);
	/* retransmission: the 486 again */
	inject(f, mkreq(buf, sizeof buf, inv), SB_TP_UDP);
	assert_int_equal(f->nrequest, 1);
	assert_int_equal(f->nsent, 2);
	/* other CSeq number, other Request-URI, other Call-ID: new requests */
	f->create_on_request = false;
	inject(f, mkreq(buf, sizeof buf, (struct rq){ .via = VIA_2543, .cseq = 2 }), SB_TP_UDP);
	inject(f, mkreq(buf, sizeof buf, (struct rq){ .via = VIA_2543, .ruri = "sip:carol@x" }),
	       SB_TP_UDP);
	inject(f, mkreq(buf, sizeof buf, (struct rq){ .via = VIA_2543, .call_id = "other" }),
	       SB_TP_UDP);
	inject(f, mkreq(buf, sizeof buf, (struct rq){ .via = "SIP/2.0/UDP 192.0.2.1:5061" }),
	       SB_TP_UDP);
	const char *p = mkreq(buf, sizeof buf, inv);
	char other_from[2048];
	strcpy(other_from, p);
	memcpy(strstr(other_from, "tag=1928301774"), "tag=1928301775", 14);
	inject(f, other_from, SB_TP_UDP);
	assert_int_equal(f->nrequest, 6);
	/* an ACK with another To tag is not this transaction's */
	inject(f, mkreq(buf, sizeof buf, (struct rq){ .method = "ACK", .via = VIA_2543,
		.to_tag = "wrong", .cseq_method = "ACK" }), SB_TP_UDP);
	assert_int_equal(sb_tsx_state(st), SB_TSX_COMPLETED);
	assert_int_equal(f->nack, 1);
	assert_int_equal(f->nack_matched, 0);
	assert_int_equal(f->nsent, 2);
	/* the right one confirms it */
	inject(f, mkreq(buf, sizeof buf, (struct rq){ .method = "ACK", .via = VIA_2543,
		.to_tag = "srv2543", .cseq_method = "ACK" }), SB_TP_UDP);
	assert_int_equal(sb_tsx_state(st), SB_TSX_CONFIRMED);
	assert_int_equal(f->nack, 1);
	/* CANCEL lookup works on the RFC 2543 key too */
	struct sb_sip_msg *m = malloc(sizeof *m);
	assert_non_null(m);
	mkreq(buf, sizeof buf, (struct rq){ .method = "CANCEL", .via = VIA_2543 });
	assert_int_equal(sb_sip_parse(m, buf, strlen(buf), SB_SIP_DATAGRAM), 0);
	assert_ptr_equal(sb_tsx_find_invite_for_cancel(f->layer, m), st);
	free(m);
	/* a non-INVITE keyed by RFC 2543 includes the To tag */
	f->create_on_request = true;
	struct sb_tsx *b1 = server(f, (struct rq){ .method = "BYE", .via = VIA_2543, .to_tag = "t1" },
				   SB_TP_UDP);
	struct sb_tsx *b2 = server(f, (struct rq){ .method = "BYE", .via = VIA_2543, .to_tag = "t2" },
				   SB_TP_UDP);
	assert_ptr_not_equal(b1, b2);
}

/* RFC 4475 §3.1.2.13 badbranch: a branch that is just the cookie falls back
 * to RFC 2543 matching, without trouble. */
static void test_match_badbranch(void **state)
{
	struct fx *f = *state;
	char buf[2048];
	struct rq r1 = { .method = "OPTIONS", .via = "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK" };
	struct rq r2 = r1;
	r2.call_id = "another-call";
	struct sb_tsx *a = server(f, r1, SB_TP_UDP);
	struct sb_tsx *b = server(f, r2, SB_TP_UDP);
	assert_ptr_not_equal(a, b);
	assert_int_equal(respond(a, 200, "OPTIONS", "x"), 0);
	inject(f, mkreq(buf, sizeof buf, r1), SB_TP_UDP);
	assert_int_equal(f->nrequest, 2);
	assert_int_equal(f->nsent, 2);
	/* and a response whose branch is just the cookie is stray */
	char r[2048];
	mkresp(r, sizeof r, 200, "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK", "OPTIONS", "x");
	assert_int_equal(inject(f, r, SB_TP_UDP), 0);
	assert_int_equal(f->nstray, 1);
}

/* The real RFC 4475 badbranch message goes through without a crash. */
static void test_badbranch_torture(void **state)
{
	struct fx *f = *state;
	const char *msg =
		"OPTIONS sip:user@example.com SIP/2.0\r\n"
		"To: sip:user@example.com\r\n"
		"From: sip:caller@example.org;tag=33242\r\n"
		"Max-Forwards: 3\r\n"
		"Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK\r\n"
		"Accept: application/sdp\r\n"
		"Call-ID: badbranch.sadonfo23i420jv0as0derf3j3n\r\n"
		"CSeq: 8 OPTIONS\r\n"
		"l: 0\r\n\r\n";
	assert_int_equal(inject(f, msg, SB_TP_UDP), 0);
	assert_int_equal(f->nrequest, 1);
	assert_int_equal(f->server_err, 0);
	assert_int_equal(inject(f, msg, SB_TP_UDP), 0);
	assert_int_equal(f->nrequest, 1);
}

/* -------------------------------------------------------------- bounds */

static void test_max_transactions(void **state)
{
	(void)state;
	struct fx *f = fx_new(2);
	struct sb_tsx *a = server(f, (struct rq){ .method = "OPTIONS",
		.via = "SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bK1" }, SB_TP_TCP);
	client(f, "INVITE", SB_TP_UDP);
	char buf[2048];
	/* the third: ENOSPC, so the TU can answer 503 */
	inject(f, mkreq(buf, sizeof buf, (struct rq){ .method = "OPTIONS",
		.via = "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK2" }), SB_TP_UDP);
	assert_int_equal(f->server_err, ENOSPC);
	mkfwd(buf, sizeof buf, "BYE");
	struct sb_tsx_client_cfg cc = { .dst = next_hop(SB_TP_UDP), .buf = buf,
					.len = strlen(buf), .owner = f->owner };
	struct sb_tsx *t;
	assert_int_equal(sb_tsx_client_alloc(&t, f->layer, &cc), ENOSPC);
	assert_int_equal(sb_tsx_layer_count(f->layer), 2);
	/* once one ends there is room again */
	assert_int_equal(respond(a, 200, "OPTIONS", "x"), 0);
	assert_int_equal(sb_tsx_client_alloc(&t, f->layer, &cc), ENOSPC);
	sb_loop_advance(f->loop, 0); /* J is zero over TCP */
	assert_int_equal(sb_tsx_layer_count(f->layer), 1);
	/* a terminated transaction waiting for its reap still counts (it
	 * holds memory), though no message can match it any more */
	struct sb_tsx *b = server(f, (struct rq){ .method = "OPTIONS",
		.via = "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK4" }, SB_TP_UDP);
	f->send_err = EPIPE;
	assert_int_equal(respond(b, 200, "OPTIONS", "x"), EPIPE);
	f->send_err = 0;
	assert_int_equal(sb_tsx_state(b), SB_TSX_TERMINATED);
	assert_int_equal(sb_tsx_layer_count(f->layer), 2);
	assert_int_equal(sb_tsx_client_alloc(&t, f->layer, &cc), ENOSPC);
	sb_loop_advance(f->loop, 0);
	assert_int_equal(sb_tsx_layer_count(f->layer), 1);
	assert_int_equal(sb_tsx_client_alloc(&t, f->layer, &cc), 0);
	void *s = f;
	teardown(&s);
}

/* max_tsx 0 is SB_TSX_DEFAULT_MAX, 2^20: past the former 65536, which
 * 800 calls/s of lingering transactions filled. */
static void test_default_max(void **state)
{
	struct fx *f = *state;
	assert_int_equal(SB_TSX_DEFAULT_MAX, 1u << 20);
	f->quiet = true;
	static const char req[] = "OPTIONS sip:x SIP/2.0\r\n\r\n";
	char branch[32];
	struct sb_tsx_client_cfg cc = { .dst = next_hop(SB_TP_TCP), .buf = req,
					.len = sizeof req - 1, .method = SB_LIT("OPTIONS") };
	const unsigned n = 65536u + 2u;
	for (unsigned i = 0; i < n; i++) {
		int bl = snprintf(branch, sizeof branch, "z9hG4bK%u", i);
		cc.branch = sb_slice_from(branch, (size_t)bl);
		struct sb_tsx *t;
		assert_int_equal(sb_tsx_client_alloc(&t, f->layer, &cc), 0);
	}
	assert_int_equal(sb_tsx_layer_count(f->layer), n);
	assert_int_equal(f->nquiet, n);
}

/* A duplicate server_alloc (the TU calls it twice) is refused. */
static void test_server_alloc_refuses(void **state)
{
	struct fx *f = *state;
	char buf[2048];
	f->create_on_request = false;
	mkreq(buf, sizeof buf, (struct rq){ 0 });
	struct sb_sip_msg *m = malloc(sizeof *m);
	assert_non_null(m);
	assert_int_equal(sb_sip_parse(m, buf, strlen(buf), SB_SIP_DATAGRAM), 0);
	struct sb_tp_rx rx = { .msg = m, .proto = SB_TP_UDP, .src = peer_addr() };
	struct sb_tsx *t;
	assert_int_equal(sb_tsx_server_alloc(&t, f->layer, &rx, &f->owner), 0);
	assert_int_equal(sb_tsx_server_alloc(&t, f->layer, &rx, &f->owner), EEXIST);
	mkreq(buf, sizeof buf, (struct rq){ .method = "ACK", .to_tag = "x" });
	assert_int_equal(sb_sip_parse(m, buf, strlen(buf), SB_SIP_DATAGRAM), 0);
	assert_int_equal(sb_tsx_server_alloc(&t, f->layer, &rx, &f->owner), EINVAL);
	assert_int_equal(sb_tsx_layer_count(f->layer), 1);
	free(m);
}

/* Freeing the layer with transactions in every state (and one terminated,
 * waiting for its reap) frees them all without calling owners: ASan
 * reports any leak, and teardown checks that no timer is left. */
static void test_free_with_live_transactions(void **state)
{
	struct fx *f = *state;
	client(f, "INVITE", SB_TP_UDP);                 /* Calling */
	struct sb_tsx *c2 = client(f, "OPTIONS", SB_TP_UDP);
	(void)c2;
	struct sb_tsx *s1 = server(f, (struct rq){ 0 }, SB_TP_UDP);
	assert_int_equal(respond(s1, 486, "INVITE", "x"), 0); /* Completed */
	advance_to(f, 300);
	/* a transport error terminates s2; its reap waits for the loop */
	struct sb_tsx *s2 = server(f, (struct rq){ .method = "OPTIONS" }, SB_TP_TCP);
	f->send_err = EPIPE;
	assert_int_equal(respond(s2, 200, "OPTIONS", "x"), EPIPE);
	f->send_err = 0;
	assert_int_equal(sb_tsx_state(s2), SB_TSX_TERMINATED);
	assert_int_equal(sb_tsx_layer_count(f->layer), 4);
	unsigned ends = f->nend;
	/* teardown frees the layer: no owner is called then */
	sb_tsx_layer_free(f->layer);
	f->layer = NULL;
	assert_int_equal(f->nend, ends);
	assert_int_equal(sb_loop_timer_count(f->loop), 0);
	struct sb_tsx_layer_cfg c = { .loop = f->loop, .send_h = send_h, .arg = f };
	assert_int_equal(sb_tsx_layer_alloc(&f->layer, &c), 0);
}

/* Memory per transaction: the struct, its key, one message copy. */
static void test_footprint(void **state)
{
	struct fx *f = *state;
	/* a typical INVITE of about 900 bytes, with SDP */
	static const char sdp[] =
		"v=0\r\no=alice 2890844526 2890844526 IN IP4 192.0.2.1\r\ns=-\r\n"
		"c=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0 8 101\r\n"
		"a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
		"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=sendrecv\r\n";
	char buf[2048];
	int n = snprintf(buf, sizeof buf,
		"INVITE sip:bob@192.0.2.4:5062 SIP/2.0\r\n"
		"Via: " OUR_VIA "\r\n"
		"Via: " UAC_VIA ";received=192.0.2.1\r\n"
		"Max-Forwards: 69\r\n"
		"Record-Route: <sip:proxy.example.com;lr>\r\n"
		"To: Bob <sip:bob@biloxi.example.com>\r\n"
		"From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
		"Call-ID: " CALL_ID "\r\n"
		"CSeq: 314159 INVITE\r\n"
		"Contact: <sip:alice@192.0.2.1:5060>\r\n"
		"Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, REFER, NOTIFY\r\n"
		"Supported: replaces, timer\r\n"
		"User-Agent: Yealink SIP-T46S 66.86.0.15\r\n"
		"Content-Type: application/sdp\r\n"
		"Content-Length: %zu\r\n\r\n%s", sizeof sdp - 1, sdp);
	assert_true(n > 800 && n < 1000);
	struct sb_tsx_client_cfg cc = { .dst = next_hop(SB_TP_UDP), .buf = buf,
					.len = (size_t)n, .owner = f->owner };
	struct sb_tsx *t;
	assert_int_equal(sb_tsx_client_alloc(&t, f->layer, &cc), 0);
	size_t fp = sb_tsx_footprint(t);
	print_message("sizeof(struct sb_tsx) = %zu; client INVITE of %d bytes: %zu bytes\n",
		      sb_tsx_struct_size(), n, fp);
	assert_true(fp <= 2048);
	assert_true(fp >= (size_t)n + sb_tsx_struct_size());
	/* after a 486 the INVITE copy gives way to the smaller ACK */
	reply_to_client(f, 486, "INVITE", "a6c85cf");
	print_message("  in Completed (holding the ACK): %zu bytes\n", sb_tsx_footprint(t));
	assert_true(sb_tsx_footprint(t) < fp);
	if (sizeof(void *) == 8)
		assert_true(sb_tsx_struct_size() <= 232);
}

/* The footprint of each state: the struct and key, plus exactly the bytes
 * the state may still send again (see "Memory" in transaction.h). */
static void test_footprint_client_states(void **state)
{
	struct fx *f = *state;
	/* client INVITE: the request in Calling and Proceeding */
	struct sb_tsx *t = client(f, "INVITE", SB_TP_UDP);
	size_t req = f->sent[0].len;
	size_t calling = sb_tsx_footprint(t);
	size_t base = calling - req; /* struct + key */
	assert_true(base >= sb_tsx_struct_size());
	reply_to_client(f, 180, "INVITE", "t1");
	assert_int_equal(sb_tsx_state(t), SB_TSX_PROCEEDING);
	assert_int_equal(sb_tsx_footprint(t), calling); /* kept for CANCEL */
	size_t len;
	assert_non_null(sb_tsx_request(t, &len));
	assert_int_equal(len, req);
	/* Accepted: nothing (RFC 6026 §7.2: 2xx retransmissions go up, the
	 * request is never sent again) */
	reply_to_client(f, 200, "INVITE", "t1");
	assert_int_equal(sb_tsx_state(t), SB_TSX_ACCEPTED);
	assert_int_equal(sb_tsx_footprint(t), base);
	assert_null(sb_tsx_request(t, &len));
	reply_to_client(f, 200, "INVITE", "t1");
	assert_int_equal(f->nresp, 3); /* and still goes up */
	advance_to(f, 32000);
	assert_int_equal(f->nend, 1);

	/* client INVITE in Completed: the ACK only (same key length: the
	 * same branch and method, now that the first one has gone) */
	t = client(f, "INVITE", SB_TP_UDP);
	assert_int_equal(sb_tsx_footprint(t), calling);
	unsigned n = f->nsent;
	reply_to_client(f, 486, "INVITE", "a6c85cf");
	assert_int_equal(f->nsent, n + 1);
	size_t ack = f->sent[n].len;
	assert_int_equal(sb_tsx_footprint(t), base + ack);
	print_message("client INVITE: Calling/Proceeding %zu B (request %zu), Accepted %zu B, "
		      "Completed %zu B (ACK %zu)\n", calling, req, base, base + ack, ack);
	reply_to_client(f, 486, "INVITE", "a6c85cf");
	assert_int_equal(f->nsent, n + 2); /* re-sent from that copy */
	assert_string_equal(f->sent[n + 1].buf, f->sent[n].buf);

	/* client non-INVITE: the request in Trying, nothing in Completed
	 * (Timer K only absorbs retransmissions) */
	struct sb_tsx *o = client(f, "OPTIONS", SB_TP_UDP);
	size_t trying = sb_tsx_footprint(o);
	size_t oreq = f->sent[f->nsent - 1].len;
	reply_to_client(f, 200, "OPTIONS", "z");
	assert_int_equal(sb_tsx_state(o), SB_TSX_COMPLETED);
	assert_int_equal(sb_tsx_footprint(o), trying - oreq);
	print_message("client non-INVITE: Trying %zu B, Completed %zu B\n", trying, trying - oreq);
	n = f->nsent;
	reply_to_client(f, 200, "OPTIONS", "z");
	assert_int_equal(f->nsent, n);
	/* 180, 200, 200 again; 486; the OPTIONS' 200 once */
	assert_int_equal(f->nresp, 5);
}

static void test_footprint_server_states(void **state)
{
	struct fx *f = *state;
	char buf[2048];
	/* server INVITE, 2xx: Accepted keeps nothing (RFC 6026 §7.1) */
	struct rq r1 = { .via = "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKaaa1" };
	struct sb_tsx *a = server(f, r1, SB_TP_UDP);
	size_t with_100 = sb_tsx_footprint(a);
	assert_int_equal(respond(a, 180, "INVITE", "srv"), 0);
	size_t with_180 = sb_tsx_footprint(a);
	assert_int_equal(respond(a, 200, "INVITE", "srv"), 0);
	size_t base = sb_tsx_footprint(a);
	assert_int_equal(with_180, base + f->sent[0].len);
	assert_true(with_100 > base);
	/* a retransmitted INVITE in Accepted is absorbed */
	inject(f, mkreq(buf, sizeof buf, r1), SB_TP_UDP);
	assert_int_equal(f->nsent, 2);

	/* server INVITE, 486: Completed keeps it, Confirmed nothing */
	struct rq r2 = { .via = "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKaaa2" };
	struct sb_tsx *b = server(f, r2, SB_TP_UDP);
	advance_to(f, 200); /* the automatic 100: the pending copy was it */
	assert_int_equal(f->nsent, 3);
	assert_int_equal(with_100, base + f->sent[2].len);
	assert_int_equal(respond(b, 486, "INVITE", "srv"), 0);
	assert_int_equal(sb_tsx_footprint(b), base + f->sent[3].len);
	inject(f, mkreq(buf, sizeof buf, r2), SB_TP_UDP); /* the 486 again */
	assert_int_equal(f->nsent, 5);
	assert_string_equal(f->sent[4].buf, f->sent[3].buf);
	inject(f, mkreq(buf, sizeof buf, (struct rq){ .method = "ACK", .via = r2.via,
		.to_tag = "srv", .cseq_method = "ACK" }), SB_TP_UDP);
	assert_int_equal(sb_tsx_state(b), SB_TSX_CONFIRMED);
	assert_int_equal(sb_tsx_footprint(b), base);
	print_message("server INVITE: Proceeding %zu B (pending 100), %zu B (180), Completed "
		      "%zu B (486), Confirmed and Accepted %zu B\n", with_100, with_180,
		      base + f->sent[3].len, base);
	inject(f, mkreq(buf, sizeof buf, r2), SB_TP_UDP); /* absorbed */
	assert_int_equal(f->nsent, 5);

	/* server non-INVITE: Completed keeps the final response (Timer J) */
	struct rq r3 = { .method = "OPTIONS", .via = "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKaaa3" };
	struct sb_tsx *c = server(f, r3, SB_TP_UDP);
	size_t tr = sb_tsx_footprint(c);
	assert_int_equal(respond(c, 200, "OPTIONS", "srv"), 0);
	assert_int_equal(sb_tsx_footprint(c), tr + f->sent[5].len);
	print_message("server non-INVITE: Trying %zu B, Completed %zu B\n", tr, sb_tsx_footprint(c));
	assert_int_equal(f->nrequest, 3);
}

/* RFC 2543 server INVITE: in Confirmed and Accepted only the To tag of the
 * final response is kept, and the ACK is still matched by it (§17.2.3). */
static void test_footprint_rfc2543_tag_only(void **state)
{
	struct fx *f = *state;
	char buf[2048];
	/* Accepted */
	struct rq inv = { .via = VIA_2543 };
	struct sb_tsx *st = server(f, inv, SB_TP_UDP);
	assert_int_equal(respond(st, 180, "INVITE", "srv2543"), 0);
	size_t p180 = sb_tsx_footprint(st);
	assert_int_equal(respond(st, 200, "INVITE", "srv2543"), 0);
	assert_int_equal(sb_tsx_state(st), SB_TSX_ACCEPTED);
	size_t base = p180 - f->sent[0].len;
	assert_int_equal(sb_tsx_footprint(st), base + strlen("srv2543"));
	struct rq ack = { .method = "ACK", .via = VIA_2543, .to_tag = "other", .cseq_method = "ACK" };
	inject(f, mkreq(buf, sizeof buf, ack), SB_TP_UDP);
	assert_int_equal(f->nack, 1);
	assert_int_equal(f->nack_matched, 0);
	ack.to_tag = "srv2543";
	inject(f, mkreq(buf, sizeof buf, ack), SB_TP_UDP);
	assert_int_equal(f->nack, 2);
	assert_int_equal(f->nack_matched, 1);
	assert_ptr_equal(f->ack_tsx, st);

	/* Confirmed (another CSeq: another transaction, same key length) */
	struct rq inv2 = { .via = VIA_2543, .cseq = 314158 };
	struct sb_tsx *s2 = server(f, inv2, SB_TP_UDP);
	assert_int_equal(respond(s2, 486, "INVITE", "srv2543"), 0);
	ack = (struct rq){ .method = "ACK", .via = VIA_2543, .to_tag = "srv2543",
			   .cseq_method = "ACK", .cseq = 314158 };
	inject(f, mkreq(buf, sizeof buf, ack), SB_TP_UDP);
	assert_int_equal(sb_tsx_state(s2), SB_TSX_CONFIRMED);
	assert_int_equal(f->nack, 2); /* absorbed */
	assert_int_equal(sb_tsx_footprint(s2), base + strlen("srv2543"));
	inject(f, mkreq(buf, sizeof buf, ack), SB_TP_UDP);
	assert_int_equal(f->nack, 2); /* still matched, still absorbed */
	ack.to_tag = "other";
	inject(f, mkreq(buf, sizeof buf, ack), SB_TP_UDP);
	assert_int_equal(f->nack, 3); /* not this transaction's */
	assert_int_equal(f->nack_matched, 1);
	/* a final response without a To tag keeps nothing, and an ACK without
	 * one matches */
	struct rq inv3 = { .via = VIA_2543, .cseq = 314157 };
	struct sb_tsx *s3 = server(f, inv3, SB_TP_UDP);
	assert_int_equal(respond(s3, 200, "INVITE", NULL), 0);
	assert_int_equal(sb_tsx_footprint(s3), base);
	inject(f, mkreq(buf, sizeof buf, (struct rq){ .method = "ACK", .via = VIA_2543,
		.cseq_method = "ACK", .cseq = 314157 }), SB_TP_UDP);
	assert_int_equal(f->nack, 4);
	assert_int_equal(f->nack_matched, 2);
	assert_ptr_equal(f->ack_tsx, s3);
}

/* Terminated transactions are reaped in batches: one layer timer for all
 * of them, end_h in the order they terminated, then the free. */
static struct sb_tsx *chain_victim;

static void chain_end_h(struct sb_tsx *t, enum sb_tsx_end why, void *arg)
{
	end_h(t, why, arg);
	if (chain_victim) {
		/* terminated inside an end_h: its own end_h comes from the next
		 * drain, and meanwhile it is still valid */
		sb_tsx_abandon(chain_victim);
		assert_int_equal(sb_tsx_state(chain_victim), SB_TSX_TERMINATED);
		chain_victim = NULL;
	}
}

static void test_reap_batched(void **state)
{
	struct fx *f = *state;
	struct sb_tsx *t[4];
	for (unsigned i = 0; i < 4; i++) {
		char buf[2048];
		char via[128];
		snprintf(via, sizeof via, "SIP/2.0/TCP proxy.example.com;branch=z9hG4bKreap%u", i);
		mkreq(buf, sizeof buf, (struct rq){ .via = via, .ruri = "sip:bob@192.0.2.4:5062" });
		struct sb_tsx_client_cfg cc = { .dst = next_hop(SB_TP_TCP), .buf = buf,
						.len = strlen(buf), .owner = f->owner };
		assert_int_equal(sb_tsx_client_alloc(&t[i], f->layer, &cc), 0);
	}
	assert_int_equal(sb_loop_timer_count(f->loop), 4); /* Timer B each */
	struct sb_tsx_owner chain = { response_h, chain_end_h, f };
	sb_tsx_set_owner(t[0], &chain);
	chain_victim = t[3];
	sb_tsx_abandon(t[2]);
	sb_tsx_abandon(t[0]);
	sb_tsx_abandon(t[1]);
	sb_tsx_abandon(t[1]); /* no-op once Terminated */
	/* their timers stopped, one zero-delay timer for all three */
	assert_int_equal(sb_loop_timer_count(f->loop), 2);
	assert_int_equal(sb_tsx_layer_count(f->layer), 4);
	assert_int_equal(f->nend, 0);
	sb_loop_advance(f->loop, 0);
	assert_int_equal(f->nend, 4);
	assert_ptr_equal(f->ends[0].t, t[2]);
	assert_ptr_equal(f->ends[1].t, t[0]);
	assert_ptr_equal(f->ends[2].t, t[1]);
	assert_ptr_equal(f->ends[3].t, t[3]); /* the next drain */
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(f->ends[i].why, SB_TSX_END_TIMEOUT);
	assert_int_equal(sb_tsx_layer_count(f->layer), 0);
	assert_int_equal(sb_loop_timer_count(f->loop), 0);
	assert_null(chain_victim);
}

/* RFC 3261 §16.7 step 10, RFC 6026 §7.2: a client INVITE transaction with
 * no owner hands every 2xx it would pass up to stray_h, as if it had matched
 * nothing; everything else it still absorbs. */
static void test_detached_2xx_stray(void **state)
{
	struct fx *f = *state;
	struct sb_tsx *t = client(f, "INVITE", SB_TP_UDP);
	reply_to_client(f, 180, "INVITE", "a");
	sb_tsx_set_owner(t, NULL);
	reply_to_client(f, 183, "INVITE", "a"); /* provisional: absorbed */
	assert_int_equal(f->nstray, 0);
	reply_to_client(f, 200, "INVITE", "a");
	assert_int_equal(sb_tsx_state(t), SB_TSX_ACCEPTED);
	assert_int_equal(f->nstray, 1);
	assert_int_equal(f->stray_status, 200);
	reply_to_client(f, 200, "INVITE", "a");    /* retransmission */
	reply_to_client(f, 202, "INVITE", "b");    /* another fork */
	reply_to_client(f, 486, "INVITE", "c");    /* absorbed in Accepted */
	assert_int_equal(f->nstray, 3);
	assert_int_equal(f->stray_status, 202);
	assert_int_equal(f->nresp, 1);
	assert_int_equal(f->nsent, 1); /* the INVITE: a 2xx gets no ACK here */

	advance_to(f, 32000); /* Timer M: gone, the branch is free again */
	assert_int_equal(f->nend, 0); /* detached: nobody is told */
	assert_int_equal(sb_tsx_layer_count(f->layer), 0);

	/* in Completed (a 2xx from a fork after a failure) */
	struct sb_tsx *c = client(f, "INVITE", SB_TP_TCP);
	(void)c;
	f->nstray = 0;
	reply_to_client(f, 486, "INVITE", "x");
	assert_int_equal(f->nresp, 2); /* still owned: up */
	sb_tsx_set_owner(c, NULL);
	reply_to_client(f, 486, "INVITE", "x"); /* ACK again, nothing up */
	assert_int_equal(f->nstray, 0);
	reply_to_client(f, 200, "INVITE", "y");
	assert_int_equal(f->nstray, 1);
	assert_int_equal(f->nresp, 2);

	/* a non-INVITE's 2xx is not (§16.7 step 10 is about INVITE) */
	struct sb_tsx *o = client(f, "OPTIONS", SB_TP_UDP);
	sb_tsx_set_owner(o, NULL);
	reply_to_client(f, 200, "OPTIONS", "z");
	assert_int_equal(sb_tsx_state(o), SB_TSX_COMPLETED);
	assert_int_equal(f->nstray, 1);
	assert_int_equal(f->nresp, 2);
}

/* A caller who names the method and branch skips the parse: the layer
 * trusts them (the request bytes are sent and kept as they are). */
static void test_client_alloc_named(void **state)
{
	struct fx *f = *state;
	char buf[2048];
	mkfwd(buf, sizeof buf, "INVITE");
	struct sb_tsx_client_cfg cc = { .dst = next_hop(SB_TP_UDP), .buf = buf, .len = strlen(buf),
					.owner = f->owner, .method = SB_LIT("INVITE"),
					.branch = SB_LIT("z9hG4bKproxy1") };
	struct sb_tsx *t;
	assert_int_equal(sb_tsx_client_alloc(&t, f->layer, &cc), 0);
	assert_int_equal(sb_tsx_kind(t), SB_TSX_CLIENT_INVITE);
	assert_int_equal(sb_tsx_state(t), SB_TSX_CALLING);
	assert_int_equal(f->nsent, 1);
	assert_string_equal(f->sent[0].buf, buf);
	/* the same key as the parsed path: the same responses match */
	reply_to_client(f, 486, "INVITE", "a6c85cf");
	assert_int_equal(f->nresp, 1);
	assert_ptr_equal(f->resp[0].t, t);
	assert_string_equal(f->sent[1].buf, expected_ack);
	assert_int_equal(sb_tsx_client_alloc(&t, f->layer, &cc), EEXIST);
	/* not parsed: bytes no parser takes still make a transaction */
	static const char raw[] = "MESSAGE whatever";
	struct sb_tsx_client_cfg rc = { .dst = next_hop(SB_TP_UDP), .buf = raw,
					.len = sizeof raw - 1, .owner = f->owner,
					.method = SB_LIT("MESSAGE"), .branch = SB_LIT("z9hG4bKraw") };
	assert_int_equal(sb_tsx_client_alloc(&t, f->layer, &rc), 0);
	assert_int_equal(sb_tsx_kind(t), SB_TSX_CLIENT_NON_INVITE);
	assert_int_equal(sb_tsx_state(t), SB_TSX_TRYING);
	assert_int_equal(f->sent[2].len, sizeof raw - 1);
	/* refused: one without the other, empty, ACK, a long branch */
	unsigned n = f->nsent;
	struct sb_tsx_client_cfg bad = rc;
	bad.branch = SB_SLICE_NULL;
	assert_int_equal(sb_tsx_client_alloc(&t, f->layer, &bad), EINVAL);
	bad = rc;
	bad.method = SB_SLICE_NULL;
	assert_int_equal(sb_tsx_client_alloc(&t, f->layer, &bad), EINVAL);
	bad = rc;
	bad.len = 0;
	assert_int_equal(sb_tsx_client_alloc(&t, f->layer, &bad), EINVAL);
	bad = rc;
	bad.method = SB_LIT("ACK");
	assert_int_equal(sb_tsx_client_alloc(&t, f->layer, &bad), EINVAL);
	static char longb[SB_TSX_MAX_KEY + 1];
	memset(longb, 'x', sizeof longb);
	bad = rc;
	bad.branch = sb_slice_from(longb, sizeof longb);
	assert_int_equal(sb_tsx_client_alloc(&t, f->layer, &bad), E2BIG);
	assert_int_equal(f->nsent, n);
	assert_int_equal(sb_tsx_layer_count(f->layer), 2);
}

/* Owners may detach from inside a callback; a detached transaction runs on
 * silently. */
static void detach_h(struct sb_tsx *t, unsigned status, struct sb_sip_msg *msg, void *arg)
{
	response_h(t, status, msg, arg);
	sb_tsx_set_owner(t, NULL);
}

static void test_detach(void **state)
{
	struct fx *f = *state;
	struct sb_tsx *t = client(f, "INVITE", SB_TP_UDP);
	struct sb_tsx_owner o = { detach_h, end_h, f };
	sb_tsx_set_owner(t, &o);
	reply_to_client(f, 180, "INVITE", "a");
	reply_to_client(f, 486, "INVITE", "a");
	assert_int_equal(f->nresp, 1);
	assert_int_equal(f->nsent, 2); /* the ACK still went out */
	advance_to(f, 40000);
	assert_int_equal(f->nend, 0);
	assert_int_equal(sb_tsx_layer_count(f->layer), 0);
}

/* RFC 3261 §16.8: a TU that gives up destroys its client transaction; a
 * client INVITE in Proceeding has no timer of its own and would live
 * forever.  The owner hears only end_h, from the deferred free. */
static void test_abandon(void **state)
{
	struct fx *f = *state;
	struct sb_tsx *t = client(f, "INVITE", SB_TP_UDP);
	reply_to_client(f, 180, "INVITE", "x");
	assert_int_equal(sb_tsx_state(t), SB_TSX_PROCEEDING);
	unsigned nresp = f->nresp;
	sb_tsx_abandon(t);
	assert_int_equal(sb_tsx_state(t), SB_TSX_TERMINATED);
	assert_int_equal(f->nend, 0); /* not inside the call */
	advance_to(f, sb_loop_now(f->loop));
	assert_int_equal(f->nresp, nresp);
	assert_int_equal(f->nend, 1);
	assert_int_equal(f->ends[0].why, SB_TSX_END_TIMEOUT);
	assert_int_equal(sb_tsx_layer_count(f->layer), 0);
}

/* RFC 3261 §17.1.4: the transport lost a connection: client transactions
 * waiting on it for their first response fail with 503 from the loop; those
 * on another connection, over UDP, or already in Proceeding do not. */
static void test_conn_failed(void **state)
{
	struct fx *f = *state;
	struct sb_tsx *a = client(f, "INVITE", SB_TP_TCP);   /* conn 9 */
	reply_to_client(f, 100, "INVITE", NULL);             /* a in Proceeding */
	struct sb_tsx *b = client(f, "OPTIONS", SB_TP_TCP);  /* conn 9, Trying */
	struct sb_tsx *c = client(f, "MESSAGE", SB_TP_UDP);
	(void)c;
	char buf[2048];
	mkfwd(buf, sizeof buf, "INFO");
	struct sb_tsx_client_cfg cc = { .dst = next_hop(SB_TP_TCP), .buf = buf,
					.len = strlen(buf), .owner = f->owner };
	cc.dst.conn_id = 0; /* connecting */
	struct sb_tsx *d = NULL;
	assert_int_equal(sb_tsx_client_alloc(&d, f->layer, &cc), 0);
	unsigned nresp = f->nresp;
	/* another connection, another peer: nothing */
	struct sb_addr other = peer_addr();
	sb_tsx_layer_conn_failed(f->layer, 8, &other);
	advance_to(f, sb_loop_now(f->loop));
	assert_int_equal(f->nresp, nresp);
	/* connection 9 to the next hop */
	sb_tsx_layer_conn_failed(f->layer, 9, &cc.dst.addr);
	assert_int_equal(f->nresp, nresp); /* not inside the call */
	advance_to(f, sb_loop_now(f->loop));
	assert_int_equal(f->nresp, nresp + 2);
	for (unsigned k = nresp; k < f->nresp; k++) {
		assert_int_equal(f->resp[k].status, 503);
		assert_true(f->resp[k].t == b || f->resp[k].t == d);
	}
	assert_int_equal(f->nend, 2);
	assert_int_equal(f->ends[0].why, SB_TSX_END_TRANSPORT);
	assert_int_equal(sb_tsx_state(a), SB_TSX_PROCEEDING);
	assert_int_equal(sb_tsx_layer_count(f->layer), 2);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_cinv_udp_timer_a_and_b),
		T(test_cinv_provisional_then_2xx_accepted),
		T(test_cinv_tcp_no_retransmission),
		T(test_cinv_486_ack),
		T(test_cinv_486_tcp_timer_d_zero),
		T(test_cinv_2xx_after_failure_passed_up),
		T(test_cinv_transport_error),
		T(test_cnon_udp_timer_e_and_f),
		T(test_cnon_proceeding_t2_and_timer_k),
		T(test_cnon_tcp),
		T(test_client_match_by_method),
		T(test_client_alloc_refuses),
		T(test_sinv_auto_100),
		T(test_sinv_retransmission_before_100),
		T(test_sinv_answer_in_request_h),
		T(test_sinv_nested_recv_in_request_h),
		T(test_sinv_provisional_resent),
		T(test_sinv_486_timer_g_until_ack),
		T(test_sinv_timer_h),
		T(test_sinv_2xx_accepted),
		T(test_sinv_tcp),
		T(test_sinv_respond_errors),
		T(test_sinv_transport_error),
		T(test_snon_timer_j),
		T(test_snon_tcp_timer_j_zero),
		T(test_match_branch_sentby_method),
		T(test_match_host_case),
		T(test_cancel_lookup),
		T(test_match_rfc2543),
		T(test_match_badbranch),
		T(test_badbranch_torture),
		cmocka_unit_test(test_max_transactions),
		T(test_default_max),
		T(test_server_alloc_refuses),
		T(test_free_with_live_transactions),
		T(test_footprint),
		T(test_footprint_client_states),
		T(test_footprint_server_states),
		T(test_footprint_rfc2543_tag_only),
		T(test_reap_batched),
		T(test_detached_2xx_stray),
		T(test_client_alloc_named),
		T(test_detach),
		T(test_abandon),
		T(test_conn_failed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
