/* bench_core: the whole proxy path of a call, in memory, on one core.
 *
 * Call flow 1 (issue 3) through a transaction-stateful, record-routing
 * proxy (struct sb_proxy, src/proxy), with no sockets: 14 messages per
 * call, 7 in and 7 out.
 *
 *   alice -> proxy  INVITE          proxy -> alice  100 Trying
 *                                   proxy -> bob    INVITE
 *   bob   -> proxy  100 Trying      (absorbed)
 *   bob   -> proxy  180 Ringing     proxy -> alice  180 Ringing
 *   bob   -> proxy  200 OK          proxy -> alice  200 OK
 *   alice -> proxy  ACK             proxy -> bob    ACK (stateless, Route)
 *   alice -> proxy  BYE             proxy -> bob    BYE
 *   bob   -> proxy  200 OK          proxy -> alice  200 OK
 *
 * The messages are written as desk phones write them (bench/messages: a
 * Yealink caller with a 272-byte SDP, a Cisco callee with a 270-byte SDP in
 * its 200).  Each inbound message takes the server's path: sb_sip_parse()
 * (SB_SIP_DATAGRAM) into one reused struct sb_sip_msg, as the transport
 * does, then sb_proxy_recv() with an sb_tp_rx.  The proxy's send callback
 * copies each outbound message into a capture slot and sends nothing.  The
 * loop runs on the manual clock, which moves --step ms (10) after each call,
 * so that transactions end as they would at 100 calls/s: those of calls
 * older than 32 s of clock (Timers J, L, M; K is 5 s) end and are freed as
 * new ones start, the live state levels off at about 3200 calls (10,000
 * transactions, 6,400 request contexts) and must stay under a bound, or
 * the run stops: the figure is the steady state, not a growing table.
 * With --batch B, calls come 1 ms apart in batches of B and the clock
 * moves 40 s after each batch, draining everything to 0 (glibc then trims
 * the heap and grows it again: page faults a real server at a steady rate
 * does not see as much).  Each round ends with such a drain, and no
 * transaction or context may be left alive then.
 *
 * The user agents (UA side) cost as little as possible: alice's requests
 * are templates whose Call-ID, From tag, To tag and branch are fixed-width
 * hex fields patched in place per call; bob parses the INVITE and the BYE
 * the proxy forwards (he must: the proxy's branch is new each time) and
 * copies Via, Record-Route, From, To, Call-ID and CSeq into his responses.
 * Every outbound message is checked (start line and destination): a proxy
 * that misroutes cannot report a speed.
 *
 * Timing (CLOCK_MONOTONIC, one thread): "proxy" is the sum of the timed
 * regions, each one inbound message's parse + sb_proxy_recv (with the
 * capture copies its sends make), plus the clock moves (the timers that
 * fire, the frees); the cost of one clock read is measured at start and
 * subtracted per region.  "with UA" is the whole round's wall time, the
 * same correction made for every clock read.  Median of the rounds.
 *
 * --tsx-memory [M]: M calls (100,000) left in flight: M INVITEs forwarded
 * (100 sent, nothing from bob), then bob's 100 and 180 for each (ringing).
 * Memory per INVITE transaction in flight is the growth of the heap in use
 * (glibc mallinfo2: uordblks + hblkhd) and of the resident set
 * (/proc/self/statm) divided by M: one server transaction, one client
 * transaction and the request context that joins them, with everything
 * they hold (copies of the messages, the target, hash-table slots, timer
 * wheel links, malloc's headers).  sb_tsx_footprint() of one server and
 * one client transaction built alone on a second layer tells the
 * transactions' share.
 *
 *   ./build-bench/bench/bench_core [--calls N] [--rounds R] [--step MS | --batch B]
 *                                  [--quick] [--no-callee-100]
 *   ./build-bench/bench/bench_core --show    (the 14 messages of one call)
 *   ./build-bench/bench/bench_core --tsx-memory [M]
 *
 * Exit: 0 with figures; 1 when a message was not what call flow 1 says
 * or state did not drain; 2 for bad arguments. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* mallinfo2 */
#endif
#include <errno.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "switchboard/location.h"
#include "switchboard/loop.h"
#include "switchboard/proxy.h"
#include "switchboard/transaction.h"

/* ------------------------------------------------------------ the phones */

#define PROXY_IP "192.168.1.10"
#define ALICE_IP "192.168.1.101"
#define BOB_IP "192.168.1.102"
#define SIP_PORT 5060
#define AOR "sip:2002@" PROXY_IP
#define BOB_CONTACT "sip:2002@" BOB_IP ":5060"

#define ALLOW "Allow: INVITE, INFO, PRACK, ACK, BYE, CANCEL, OPTIONS, NOTIFY, REGISTER, " \
	"SUBSCRIBE, REFER, PUBLISH, UPDATE, MESSAGE\r\n"

static const char alice_sdp[] =
	"v=0\r\n"
	"o=- 20022 20022 IN IP4 " ALICE_IP "\r\n"
	"s=SDP data\r\n"
	"c=IN IP4 " ALICE_IP "\r\n"
	"t=0 0\r\n"
	"m=audio 11796 RTP/AVP 0 8 101\r\n"
	"a=rtpmap:0 PCMU/8000\r\n"
	"a=rtpmap:8 PCMA/8000\r\n"
	"a=rtpmap:101 telephone-event/8000\r\n"
	"a=fmtp:101 0-15\r\n"
	"a=ptime:20\r\n"
	"a=rtcp:11797 IN IP4 " ALICE_IP "\r\n"
	"a=sendrecv\r\n";

static const char bob_sdp[] =
	"v=0\r\n"
	"o=- 8271 8271 IN IP4 " BOB_IP "\r\n"
	"s=SDP data\r\n"
	"c=IN IP4 " BOB_IP "\r\n"
	"t=0 0\r\n"
	"m=audio 20480 RTP/AVP 0 8 101\r\n"
	"a=rtpmap:0 PCMU/8000\r\n"
	"a=rtpmap:8 PCMA/8000\r\n"
	"a=rtpmap:101 telephone-event/8000\r\n"
	"a=fmtp:101 0-15\r\n"
	"a=ptime:20\r\n"
	"a=rtcp:20481 IN IP4 " BOB_IP "\r\n"
	"a=sendrecv\r\n";

/* Placeholders, 8 bytes each, patched per call with 8 hex digits. */
enum field { F_CALL_ID, F_FROM_TAG, F_BRANCH, F_TO_TAG, F__COUNT };
static const char *const placeholder[F__COUNT] = { "CCCCCCCC", "FFFFFFFF", "BBBBBBBB",
						   "TTTTTTTT" };
#define FIELD_LEN 8u
#define MAX_PATCH 8u
#define MSG_CAP 4096u

struct tmpl {
	char buf[MSG_CAP];
	size_t len;
	struct {
		uint32_t off;
		uint8_t field;
	} patch[MAX_PATCH];
	unsigned npatch;
};

static void tmpl_set(struct tmpl *t, const char *text)
{
	t->len = strlen(text);
	if (t->len >= sizeof t->buf) {
		fprintf(stderr, "template too long\n");
		exit(1);
	}
	memcpy(t->buf, text, t->len + 1);
	t->npatch = 0;
	for (unsigned f = 0; f < F__COUNT; f++)
		for (const char *p = t->buf; (p = strstr(p, placeholder[f])) != NULL; p += FIELD_LEN) {
			if (t->npatch == MAX_PATCH) {
				fprintf(stderr, "too many fields in a template\n");
				exit(1);
			}
			t->patch[t->npatch].off = (uint32_t)(p - t->buf);
			t->patch[t->npatch].field = (uint8_t)f;
			t->npatch++;
		}
}

static void hex8(char *out, uint32_t v)
{
	static const char digits[] = "0123456789abcdef";
	for (int k = 7; k >= 0; k--) {
		out[k] = digits[v & 15];
		v >>= 4;
	}
}

/* The fields of call n: each a bijection of n, so no two calls share one. */
struct call_ids {
	char hex[F__COUNT][FIELD_LEN];
};

static void call_ids(struct call_ids *c, uint32_t n)
{
	hex8(c->hex[F_CALL_ID], n * 0x9E3779B1u);
	hex8(c->hex[F_FROM_TAG], (n * 0x85EBCA6Bu) ^ 0x1b873593u);
	hex8(c->hex[F_BRANCH], (n * 0xC2B2AE35u) ^ 0x27d4eb2fu);
	hex8(c->hex[F_TO_TAG], (n * 0x165667B1u) ^ 0x61c88647u);
}

static void tmpl_patch(struct tmpl *t, const struct call_ids *c)
{
	for (unsigned k = 0; k < t->npatch; k++)
		memcpy(t->buf + t->patch[k].off, c->hex[t->patch[k].field], FIELD_LEN);
}

/* alice's INVITE; her ACK and BYE get the route set once it is known. */
static struct tmpl t_invite, t_ack, t_bye;
static char route_set[512];
static size_t route_len;

static void build_invite(void)
{
	char text[MSG_CAP];
	snprintf(text, sizeof text,
		 "INVITE " AOR " SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP " ALICE_IP ":5060;branch=z9hG4bKBBBBBBBBi;rport\r\n"
		 "Max-Forwards: 70\r\n"
		 "Contact: <sip:2001@" ALICE_IP ":5060>\r\n"
		 "To: <" AOR ">\r\n"
		 "From: \"Alice\" <sip:2001@" PROXY_IP ">;tag=FFFFFFFF\r\n"
		 "Call-ID: 0_CCCCCCCC@" ALICE_IP "\r\n"
		 "CSeq: 1 INVITE\r\n"
		 ALLOW
		 "Supported: replaces,timer\r\n"
		 "User-Agent: Yealink SIP-T46S 66.86.0.15\r\n"
		 "Allow-Events: talk,hold,conference,refer,check-sync\r\n"
		 "Content-Type: application/sdp\r\n"
		 "Content-Length: %zu\r\n"
		 "\r\n"
		 "%s",
		 sizeof alice_sdp - 1, alice_sdp);
	tmpl_set(&t_invite, text);
}

/* The ACK and BYE along the route set rs (the Record-Route of the dialog,
 * one value here: the proxy's). */
static void build_in_dialog(const char *rs, size_t rsl)
{
	static const char fmt[] =
		"%s sip:2002@" BOB_IP ":5060 SIP/2.0\r\n"
		"Via: SIP/2.0/UDP " ALICE_IP ":5060;branch=z9hG4bKBBBBBBBB%c;rport\r\n"
		"Route: %.*s\r\n"
		"Max-Forwards: 70\r\n"
		"Contact: <sip:2001@" ALICE_IP ":5060>\r\n"
		"To: <" AOR ">;tag=TTTTTTTT\r\n"
		"From: \"Alice\" <sip:2001@" PROXY_IP ">;tag=FFFFFFFF\r\n"
		"Call-ID: 0_CCCCCCCC@" ALICE_IP "\r\n"
		"CSeq: %s\r\n"
		"User-Agent: Yealink SIP-T46S 66.86.0.15\r\n"
		"Content-Length: 0\r\n"
		"\r\n";
	char text[MSG_CAP];
	snprintf(text, sizeof text, fmt, "ACK", 'a', (int)rsl, rs, "1 ACK");
	tmpl_set(&t_ack, text);
	snprintf(text, sizeof text, fmt, "BYE", 'b', (int)rsl, rs, "2 BYE");
	tmpl_set(&t_bye, text);
	memcpy(route_set, rs, rsl);
	route_len = rsl;
}

/* bob's response to the request m the proxy forwarded him: the status
 * line, Via, Record-Route, From, To (with to_tag when given and it has
 * none), Call-ID and CSeq copied in their order, then tail. */
static size_t bob_response(char *out, size_t cap, const struct sb_sip_msg *m, const char *status,
			   const char *to_tag, const char *tail, size_t tail_len)
{
	size_t n = strlen(status);
	memcpy(out, status, n);
	for (unsigned k = 0; k < m->nhdrs; k++) {
		const struct sb_sip_hdr *h = &m->hdrs[k];
		switch (h->id) {
		case SB_HDR_VIA:
		case SB_HDR_RECORD_ROUTE:
		case SB_HDR_FROM:
		case SB_HDR_CALL_ID:
		case SB_HDR_CSEQ:
			if (n + h->line.l > cap)
				return 0;
			memcpy(out + n, h->line.p, h->line.l);
			n += h->line.l;
			break;
		case SB_HDR_TO:
			if (n + h->line.l + 16 > cap)
				return 0;
			if (to_tag && !m->to.tag.p) {
				/* the line without its CRLF, then ";tag=..." */
				memcpy(out + n, h->line.p, h->line.l - 2);
				n += h->line.l - 2;
				memcpy(out + n, ";tag=", 5);
				memcpy(out + n + 5, to_tag, FIELD_LEN);
				memcpy(out + n + 5 + FIELD_LEN, "\r\n", 2);
				n += 5 + FIELD_LEN + 2;
			} else {
				memcpy(out + n, h->line.p, h->line.l);
				n += h->line.l;
			}
			break;
		default:
			break;
		}
	}
	if (n + tail_len > cap)
		return 0;
	memcpy(out + n, tail, tail_len);
	return n + tail_len;
}

static char tail_100[256], tail_180[512], tail_200[1024], tail_bye200[256];
static size_t tail_100_len, tail_180_len, tail_200_len, tail_bye200_len;

static void build_tails(void)
{
	tail_100_len = (size_t)snprintf(tail_100, sizeof tail_100,
					"Server: Cisco-CP7960G/8.0\r\n"
					"Content-Length: 0\r\n\r\n");
	tail_180_len = (size_t)snprintf(tail_180, sizeof tail_180,
					"Contact: <" BOB_CONTACT ">\r\n"
					"Server: Cisco-CP7960G/8.0\r\n" ALLOW
					"Content-Length: 0\r\n\r\n");
	tail_200_len = (size_t)snprintf(tail_200, sizeof tail_200,
					"Contact: <" BOB_CONTACT ">\r\n"
					"Server: Cisco-CP7960G/8.0\r\n" ALLOW
					"Supported: replaces\r\n"
					"Content-Type: application/sdp\r\n"
					"Content-Length: %zu\r\n\r\n%s",
					sizeof bob_sdp - 1, bob_sdp);
	tail_bye200_len = (size_t)snprintf(tail_bye200, sizeof tail_bye200,
					   "Server: Cisco-CP7960G/8.0\r\n"
					   "Content-Length: 0\r\n\r\n");
}

/* ------------------------------------------------------ the wire, captured */

#define MAX_CAP 8u

struct capture {
	char buf[MSG_CAP];
	size_t len;
	struct sb_tp_dest dst;
};

static struct capture caps[MAX_CAP];
static unsigned ncap;
static bool capturing = true;
static bool show; /* --show: print the messages of one call */
static uint64_t sent_total, sent_bytes, recv_bytes;

/* The transport: copy what the proxy sends (the UA side needs it) and send
 * nothing.  Not capturing (draining), only count. */
static int send_h(const struct sb_tp_dest *dst, const char *buf, size_t len, void *arg)
{
	(void)arg;
	sent_total++;
	sent_bytes += len;
	if (!capturing)
		return 0;
	if (ncap == MAX_CAP || len > MSG_CAP) {
		fprintf(stderr, "more sent than call flow 1 allows:\n%.*s\n", (int)len, buf);
		exit(1);
	}
	struct capture *c = &caps[ncap++];
	if (show) {
		char a[SB_ADDR_STR_MAX];
		printf("---- proxy -> %s\n%.*s", sb_addr_to_str(&dst->addr, a, sizeof a), (int)len,
		       buf);
	}
	memcpy(c->buf, buf, len);
	c->len = len;
	c->dst = *dst;
	return 0;
}

/* ------------------------------------------------------------ the harness */

static inline uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Cost of one now_ns(), the least of several tries. */
static double clock_cost_ns(void)
{
	double best = 1e9;
	for (int t = 0; t < 5; t++) {
		const unsigned reps = 200000;
		uint64_t t0 = now_ns(), sink = 0;
		for (unsigned k = 0; k < reps; k++)
			sink += now_ns();
		uint64_t t1 = now_ns();
		double c = (double)(t1 - t0) / reps;
		if (c < best && sink)
			best = c;
	}
	return best;
}

/* The timed steps of a call: the 7 inbound messages and the clock. */
enum step { S_INVITE, S_100, S_180, S_200, S_ACK, S_BYE, S_BYE_200, S_CLOCK, S__COUNT,
	    S_UNTIMED = -1 };
static const char *const step_name[S__COUNT] = {
	"INVITE in: 100 + INVITE out", "bob's 100 in (absorbed)", "180 in, 180 out",
	"200 in, 200 out", "ACK in, ACK out (stateless)", "BYE in, BYE out",
	"BYE's 200 in, 200 out", "clock: timers, ends, frees",
};

struct bench {
	struct sb_loop *loop;
	struct sb_location *loc;
	struct sb_proxy *proxy;
	struct sb_addr alice, bob, local;
	bool callee_100;
	uint32_t next_call;     /* call numbers never repeat in a run */
	uint32_t bob_cseq;
	/* per round */
	uint64_t proxy_ns;      /* timed regions, raw */
	uint64_t regions;       /* timed regions */
	uint64_t clock_reads;   /* every now_ns() of the round */
	uint64_t peak_tsx, peak_ctx;
	/* all rounds: raw ns and regions per step */
	uint64_t step_ns[S__COUNT], step_regions[S__COUNT];
};

static struct sb_sip_msg in_msg; /* the transport's message: reused */
static struct sb_sip_msg ua_msg; /* bob's parse of what he receives */

static void refresh_binding(struct bench *b)
{
	struct sb_binding_update u = {
		.aor = SB_LIT(AOR),
		.contact = SB_LIT(BOB_CONTACT),
		.call_id = SB_LIT("0_2764419513@" BOB_IP),
		.cseq = ++b->bob_cseq,
		.expires_s = 3600,
		.q1000 = 1000,
		.source = { .proto = SB_TP_UDP, .addr = b->bob },
	};
	int err = sb_location_update(b->loc, &u);
	if (err) {
		fprintf(stderr, "binding: %s\n", strerror(err));
		exit(1);
	}
}

static struct sb_addr addr_of(const char *ip)
{
	struct sb_addr a;
	if (sb_addr_parse(&a, ip, SIP_PORT) != 0)
		exit(1);
	return a;
}

/* The dialog token's key (the server makes one at start: apps/switchboard.c). */
static const uint8_t dialog_key[32] = "bench_core dialog token key 32B";

static void setup(struct bench *b, uint32_t max_tsx)
{
	memset(b, 0, sizeof *b);
	b->alice = addr_of(ALICE_IP);
	b->bob = addr_of(BOB_IP);
	b->local = addr_of(PROXY_IP);
	struct sb_loop_cfg lc = { .manual_clock = true };
	struct sb_location_cfg loc = { 0 };
	if (sb_loop_alloc(&b->loop, &lc) != 0)
		exit(1);
	loc.loop = b->loop;
	if (sb_location_alloc(&b->loc, &loc) != 0)
		exit(1);
	struct sb_proxy_cfg pc = {
		.loop = b->loop,
		.location = b->loc,
		.send_h = send_h,
		.domains = { PROXY_IP },
		.ndomains = 1,
		.nlisten = 1,
		.max_tsx = max_tsx,
		.seed = 0x5eed,
		/* as the server runs: our Record-Route carries a dialog token */
		.dialog_key = dialog_key,
		.dialog_key_len = sizeof dialog_key,
	};
	pc.listen[0].proto = SB_TP_UDP;
	pc.listen[0].addr = b->local;
	if (sb_proxy_alloc(&b->proxy, &pc) != 0) {
		fprintf(stderr, "sb_proxy_alloc failed\n");
		exit(1);
	}
	refresh_binding(b);
}

static void teardown(struct bench *b)
{
	sb_proxy_free(b->proxy);
	sb_location_free(b->loc);
	sb_loop_free(b->loop);
}

static _Noreturn void flow_broken(const char *what, unsigned i)
{
	fprintf(stderr, "call flow 1 broken at %s", what);
	if (i < ncap)
		fprintf(stderr, ", message %u:\n%.*s\n", i, (int)caps[i].len, caps[i].buf);
	else
		fprintf(stderr, ": %u messages sent\n", ncap);
	exit(1);
}

/* What the proxy sent for one inbound message: n messages, each starting
 * with its prefix and going to its address. */
static void expect(const char *step, unsigned n, const char *const *prefix,
		   const struct sb_addr *const *to)
{
	if (ncap != n)
		flow_broken(step, n < ncap ? n : ncap);
	for (unsigned k = 0; k < n; k++) {
		size_t l = strlen(prefix[k]);
		if (caps[k].len < l || memcmp(caps[k].buf, prefix[k], l) != 0 ||
		    caps[k].dst.proto != SB_TP_UDP || !sb_addr_eq(&caps[k].dst.addr, to[k]))
			flow_broken(step, k);
	}
}

/* One inbound message, the server's way: parse, then the proxy.  Timed
 * when timed is set. */
static void deliver(struct bench *b, const char *buf, size_t len, const struct sb_addr *src,
		    int step)
{
	bool timed = step != S_UNTIMED;
	ncap = 0;
	recv_bytes += len;
	if (show) {
		char a[SB_ADDR_STR_MAX];
		printf("---- %s -> proxy\n%.*s", sb_addr_to_str(src, a, sizeof a), (int)len, buf);
	}
	struct sb_tp_rx rx = { .msg = &in_msg, .proto = SB_TP_UDP, .src = *src, .local = b->local };
	uint64_t t0 = timed ? now_ns() : 0;
	int err = sb_sip_parse(&in_msg, buf, len, SB_SIP_DATAGRAM);
	if (!err)
		sb_proxy_recv(&rx, b->proxy);
	if (timed) {
		uint64_t d = now_ns() - t0;
		b->proxy_ns += d;
		b->regions++;
		b->clock_reads += 2;
		b->step_ns[step] += d;
		b->step_regions[step]++;
	}
	if (err) {
		fprintf(stderr, "parse: %s\n%.*s\n", strerror(err), (int)len, buf);
		exit(1);
	}
}

static void advance(struct bench *b, sb_msec_t ms)
{
	uint64_t t0 = now_ns();
	sb_loop_advance(b->loop, ms);
	uint64_t d = now_ns() - t0;
	b->proxy_ns += d;
	b->step_ns[S_CLOCK] += d;
	b->step_regions[S_CLOCK]++;
	b->regions++;
	b->clock_reads += 2;
}

static void ua_parse(const struct capture *c, const char *what)
{
	if (sb_sip_parse(&ua_msg, c->buf, c->len, SB_SIP_DATAGRAM) != 0) {
		fprintf(stderr, "bob cannot parse the %s the proxy sent:\n%.*s\n", what,
			(int)c->len, c->buf);
		exit(1);
	}
	const struct sb_nameaddr *to;
	if (sb_sip_msg_to(&ua_msg, &to) != 0)
		flow_broken(what, 1);
}

/* bob's route set for alice: the Record-Route of the INVITE he got (his
 * 200 carries it back to her unchanged). */
static void learn_route_set(void)
{
	const struct sb_sip_hdr *rr = sb_sip_hdr_first(&ua_msg, SB_HDR_RECORD_ROUTE);
	if (!rr || rr->value.l >= sizeof route_set)
		flow_broken("Record-Route", 1);
	if (rr->value.l != route_len || memcmp(rr->value.p, route_set, route_len) != 0)
		build_in_dialog(rr->value.p, rr->value.l);
}

/* One call of flow 1. */
static void one_call(struct bench *b, bool timed)
{
	static const char *const p_inv[2] = { "SIP/2.0 100 Trying\r\n", "INVITE " BOB_CONTACT " " };
	static const char *const p_180[1] = { "SIP/2.0 180 Ringing\r\n" };
	static const char *const p_200[1] = { "SIP/2.0 200 OK\r\n" };
	static const char *const p_ack[1] = { "ACK " BOB_CONTACT " " };
	static const char *const p_bye[1] = { "BYE " BOB_CONTACT " " };
	const struct sb_addr *const to_inv[2] = { &b->alice, &b->bob };
	const struct sb_addr *const to_alice[1] = { &b->alice };
	const struct sb_addr *const to_bob[1] = { &b->bob };
	static char r100[MSG_CAP], r180[MSG_CAP], r200[MSG_CAP], rbye[MSG_CAP];

	struct call_ids ids;
	call_ids(&ids, b->next_call++);

	tmpl_patch(&t_invite, &ids);
	deliver(b, t_invite.buf, t_invite.len, &b->alice, timed ? S_INVITE : S_UNTIMED);
	expect("INVITE", 2, p_inv, to_inv);

	/* bob answers what the proxy forwarded */
	ua_parse(&caps[1], "INVITE");
	learn_route_set();
	const char *tag = ids.hex[F_TO_TAG];
	size_t l100 = b->callee_100 ? bob_response(r100, sizeof r100, &ua_msg,
						   "SIP/2.0 100 Trying\r\n", NULL, tail_100,
						   tail_100_len)
				    : 1;
	size_t l180 = bob_response(r180, sizeof r180, &ua_msg, "SIP/2.0 180 Ringing\r\n", tag,
				   tail_180, tail_180_len);
	size_t l200 = bob_response(r200, sizeof r200, &ua_msg, "SIP/2.0 200 OK\r\n", tag, tail_200,
				   tail_200_len);
	if (!l100 || !l180 || !l200)
		flow_broken("bob's responses", 0);

	if (b->callee_100) {
		deliver(b, r100, l100, &b->bob, timed ? S_100 : S_UNTIMED);
		expect("bob's 100", 0, NULL, NULL);
	}
	deliver(b, r180, l180, &b->bob, timed ? S_180 : S_UNTIMED);
	expect("180", 1, p_180, to_alice);
	deliver(b, r200, l200, &b->bob, timed ? S_200 : S_UNTIMED);
	expect("200 for the INVITE", 1, p_200, to_alice);

	tmpl_patch(&t_ack, &ids);
	deliver(b, t_ack.buf, t_ack.len, &b->alice, timed ? S_ACK : S_UNTIMED);
	expect("ACK", 1, p_ack, to_bob);

	tmpl_patch(&t_bye, &ids);
	deliver(b, t_bye.buf, t_bye.len, &b->alice, timed ? S_BYE : S_UNTIMED);
	expect("BYE", 1, p_bye, to_bob);

	ua_parse(&caps[0], "BYE");
	size_t lbye = bob_response(rbye, sizeof rbye, &ua_msg, "SIP/2.0 200 OK\r\n", NULL,
				   tail_bye200, tail_bye200_len);
	if (!lbye)
		flow_broken("bob's 200 for the BYE", 0);
	deliver(b, rbye, lbye, &b->bob, timed ? S_BYE_200 : S_UNTIMED);
	expect("200 for the BYE", 1, p_200, to_alice);
}

static void check_drained(struct bench *b, const char *when)
{
	size_t tsx = sb_tsx_layer_count(sb_proxy_tsx_layer(b->proxy));
	size_t ctx = sb_proxy_context_count(b->proxy);
	if (tsx || ctx) {
		fprintf(stderr, "%s: %zu transactions and %zu contexts still alive\n", when, tsx,
			ctx);
		exit(1);
	}
}

/* Drain: move the clock 40 s, past Timers J, L, M (32 s) and K (5 s); every
 * transaction and context must be gone then, with nothing sent. */
static void drain(struct bench *b)
{
	capturing = false; /* nothing may be sent now; counted if it were */
	uint64_t before = sent_total;
	advance(b, 40000);
	capturing = true;
	if (sent_total != before) {
		fprintf(stderr, "the proxy sent %llu messages while transactions ended\n",
			(unsigned long long)(sent_total - before));
		exit(1);
	}
	check_drained(b, "after a drain");
}

static void note_live(struct bench *b)
{
	size_t tsx = sb_tsx_layer_count(sb_proxy_tsx_layer(b->proxy));
	size_t ctx = sb_proxy_context_count(b->proxy);
	if (tsx > b->peak_tsx)
		b->peak_tsx = tsx;
	if (ctx > b->peak_ctx)
		b->peak_ctx = ctx;
}

/* n calls; returns the round's wall time in ns.
 * Steady mode (batch 0): each call moves the clock step ms, so the
 * transactions of calls older than 32 s of clock end as new ones start:
 * the live state levels off at about 32000/step calls, and must stay under
 * a bound (4 transactions and 2 contexts per call of that window).
 * Batch mode: batches of `batch` calls, 1 ms apart, each drained to 0.
 * Either way the round ends drained. */
static uint64_t run_calls(struct bench *b, uint32_t n, uint32_t step, uint32_t batch)
{
	b->proxy_ns = b->regions = b->clock_reads = 0;
	b->peak_tsx = b->peak_ctx = 0;
	uint64_t t0 = now_ns();
	for (uint32_t i = 0; i < n; i++) {
		if (i % 1000 == 0) {
			refresh_binding(b);
			note_live(b);
		}
		one_call(b, true);
		if (batch && (i + 1) % batch == 0) {
			note_live(b);
			drain(b);
		} else {
			advance(b, batch ? 1 : step);
		}
	}
	note_live(b);
	if (!batch) {
		/* calls younger than 64*T1 (32 s), a second of slack */
		uint64_t window = 33000u / step + 2u;
		if (b->peak_tsx > 4 * window || b->peak_ctx > 2 * window) {
			fprintf(stderr, "live state grows: %llu transactions, %llu contexts\n",
				(unsigned long long)b->peak_tsx, (unsigned long long)b->peak_ctx);
			exit(1);
		}
	}
	drain(b);
	uint64_t t1 = now_ns();
	b->clock_reads += 2;
	return t1 - t0;
}

static double sum_steps(const struct bench *b, double clk)
{
	double t = 0;
	for (unsigned k = 0; k < S__COUNT; k++)
		t += (double)b->step_ns[k] - clk * (double)b->step_regions[k];
	return t;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, unsigned n)
{
	qsort(v, n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void print_machine(void)
{
	char model[256] = "unknown";
	FILE *f = fopen("/proc/cpuinfo", "r");
	if (f) {
		char line[512];
		while (fgets(line, sizeof line, f)) {
			if (strncmp(line, "model name", 10) == 0) {
				char *c = strchr(line, ':');
				if (c) {
					c += 1 + (c[1] == ' ');
					c[strcspn(c, "\n")] = 0;
					snprintf(model, sizeof model, "%s", c);
				}
				break;
			}
		}
		fclose(f);
	}
	time_t now = time(NULL);
	char date[64];
	strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime(&now));
#if defined(__clang__)
	const char *cc = "clang " __clang_version__;
#elif defined(__GNUC__)
	const char *cc = "gcc " __VERSION__;
#else
	const char *cc = "unknown compiler";
#endif
	const char *build =
#if defined(__SANITIZE_ADDRESS__)
		"ASan build: figures are not meaningful";
#elif defined(__OPTIMIZE__) && defined(NDEBUG)
		"optimised, NDEBUG";
#elif defined(__OPTIMIZE__)
		"optimised, assertions on";
#else
		"not optimised: figures are not meaningful";
#endif
	printf("machine: %s, %ld CPUs online, %s, %s (%s)\n", model, sysconf(_SC_NPROCESSORS_ONLN),
	       date, cc, build);
}

/* ------------------------------------------------------------ memory */

struct mem {
	size_t heap; /* mallinfo2: uordblks + hblkhd */
	long rss;    /* resident bytes */
};

static struct mem mem_now(void)
{
	struct mem m = { 0, -1 };
	struct mallinfo2 mi = mallinfo2();
	m.heap = mi.uordblks + mi.hblkhd;
	FILE *f = fopen("/proc/self/statm", "r");
	long size, res;
	if (f) {
		if (fscanf(f, "%ld %ld", &size, &res) == 2)
			m.rss = res * sysconf(_SC_PAGESIZE);
		fclose(f);
	}
	return m;
}

/* sb_tsx_footprint of a server transaction for alice's INVITE (after the
 * 100 and the 180 it keeps to re-send) and a client transaction for the
 * INVITE the proxy forwards, each alone on a second layer. */
static void footprints(struct bench *b, const struct capture *fwd_invite,
		       const struct capture *trying, const char *ringing, size_t ringing_len)
{
	struct sb_tsx_layer *l;
	struct sb_tsx_layer_cfg lc = { .loop = b->loop, .send_h = send_h };
	if (sb_tsx_layer_alloc(&l, &lc) != 0)
		return;
	struct sb_tsx *st = NULL, *ct = NULL;
	struct call_ids ids;
	call_ids(&ids, 0xfffffff0u);
	tmpl_patch(&t_invite, &ids);
	if (sb_sip_parse(&in_msg, t_invite.buf, t_invite.len, SB_SIP_DATAGRAM) != 0)
		return;
	struct sb_tp_rx rx = { .msg = &in_msg, .proto = SB_TP_UDP, .src = b->alice,
			       .local = b->local };
	struct sb_tsx_owner none = { 0 };
	capturing = false;
	size_t fs0 = 0, fs1 = 0, fs2 = 0, fc = 0;
	if (sb_tsx_server_alloc(&st, l, &rx, &none) == 0) {
		fs0 = sb_tsx_footprint(st);
		(void)sb_tsx_respond(st, trying->buf, trying->len);
		fs1 = sb_tsx_footprint(st);
		(void)sb_tsx_respond(st, ringing, ringing_len);
		fs2 = sb_tsx_footprint(st);
	}
	struct sb_tsx_client_cfg cc = { .dst = fwd_invite->dst, .buf = fwd_invite->buf,
					.len = fwd_invite->len };
	if (sb_tsx_client_alloc(&ct, l, &cc) == 0)
		fc = sb_tsx_footprint(ct);
	capturing = true;
	printf("sb_tsx_footprint: server INVITE %zu B (%zu with its 100, %zu with the 180), "
	       "client INVITE %zu B (the %zu-byte request); sizeof(struct sb_tsx) %zu B\n",
	       fs0, fs1, fs2, fc, fwd_invite->len, sb_tsx_struct_size());
	printf("  server (ringing) + client: %zu B\n", fs2 + fc);
	sb_tsx_layer_free(l);
}

static int tsx_memory(uint32_t m)
{
	struct bench b;
	setup(&b, 2 * m + 4096);
	b.callee_100 = true;
	/* warm up: full calls, drained, so one-time allocations are done */
	(void)run_calls(&b, 2000, 1, 1000);

	/* bob's 100 and 180 for every call are prepared during the first
	 * phase, into memory allocated and touched before the baseline */
	const size_t slot = 1024;
	char *arena = malloc((size_t)m * 2 * slot);
	uint16_t *lens = malloc((size_t)m * 2 * sizeof *lens);
	if (!arena || !lens) {
		fprintf(stderr, "no memory for %u calls\n", m);
		return 1;
	}
	memset(arena, 0, (size_t)m * 2 * slot);
	memset(lens, 0, (size_t)m * 2 * sizeof *lens);
	static struct capture first_fwd, first_100;
	static char first_180[MSG_CAP];
	size_t first_180_len = 0;

	refresh_binding(&b);
	static const char *const p_inv[2] = { "SIP/2.0 100 Trying\r\n", "INVITE " BOB_CONTACT " " };
	static const char *const p_180[1] = { "SIP/2.0 180 Ringing\r\n" };
	const struct sb_addr *const to_inv[2] = { &b.alice, &b.bob };
	const struct sb_addr *const to_alice[1] = { &b.alice };
	uint32_t first = b.next_call;

	struct mem m0 = mem_now();
	uint64_t t0 = now_ns();
	for (uint32_t i = 0; i < m; i++) {
		struct call_ids ids;
		call_ids(&ids, first + i);
		tmpl_patch(&t_invite, &ids);
		deliver(&b, t_invite.buf, t_invite.len, &b.alice, S_UNTIMED);
		expect("INVITE", 2, p_inv, to_inv);
		ua_parse(&caps[1], "INVITE");
		char *s100 = arena + (size_t)i * 2 * slot, *s180 = s100 + slot;
		size_t l100 = bob_response(s100, slot, &ua_msg, "SIP/2.0 100 Trying\r\n", NULL,
					   tail_100, tail_100_len);
		size_t l180 = bob_response(s180, slot, &ua_msg, "SIP/2.0 180 Ringing\r\n",
					   ids.hex[F_TO_TAG], tail_180, tail_180_len);
		if (!l100 || !l180)
			flow_broken("bob's responses", 0);
		lens[2 * i] = (uint16_t)l100;
		lens[2 * i + 1] = (uint16_t)l180;
		if (i == 0) {
			first_fwd = caps[1];
			first_100 = caps[0];
		}
	}
	uint64_t t1 = now_ns();
	struct mem m1 = mem_now();
	size_t tsx1 = sb_tsx_layer_count(sb_proxy_tsx_layer(b.proxy));
	size_t ctx1 = sb_proxy_context_count(b.proxy);

	for (uint32_t i = 0; i < m; i++) {
		char *s100 = arena + (size_t)i * 2 * slot, *s180 = s100 + slot;
		deliver(&b, s100, lens[2 * i], &b.bob, S_UNTIMED);
		expect("bob's 100", 0, NULL, NULL);
		deliver(&b, s180, lens[2 * i + 1], &b.bob, S_UNTIMED);
		expect("180", 1, p_180, to_alice);
		if (i == 0) {
			first_180_len = lens[1];
			memcpy(first_180, s180, first_180_len);
		}
	}
	struct mem m2 = mem_now();
	size_t tsx2 = sb_tsx_layer_count(sb_proxy_tsx_layer(b.proxy));
	size_t ctx2 = sb_proxy_context_count(b.proxy);

	print_machine();
	printf("INVITE transactions in flight: %u calls, alice's INVITE %zu B, forwarded %zu B\n",
	       m, t_invite.len, first_fwd.len);
	printf("  (%.0f INVITEs/s forwarded while they piled up)\n", m / ((t1 - t0) / 1e9));
	printf("%-34s %8s %8s %10s %10s\n", "state", "tsx", "contexts", "heap B/call",
	       "RSS B/call");
	/* under ASan malloc is not glibc's: mallinfo2 sees nothing */
	bool heap_known = m2.heap > m0.heap;
	char h1[32] = "n/a", h2[32] = "n/a";
	if (heap_known) {
		snprintf(h1, sizeof h1, "%.0f", (double)(m1.heap - m0.heap) / m);
		snprintf(h2, sizeof h2, "%.0f", (double)(m2.heap - m0.heap) / m);
	}
	printf("%-34s %8zu %8zu %10s %10.0f\n", "INVITE forwarded, 100 sent", tsx1, ctx1, h1,
	       (double)(m1.rss - m0.rss) / m);
	printf("%-34s %8zu %8zu %10s %10.0f\n", "bob's 100 and 180 in, 180 relayed", tsx2, ctx2,
	       h2, (double)(m2.rss - m0.rss) / m);
	printf("one call in flight = 1 server + 1 client INVITE transaction + 1 request context;\n"
	       "heap: mallinfo2 uordblks+hblkhd growth / calls (malloc headers included);\n"
	       "RSS: /proc/self/statm resident growth / calls (fragmentation and page rounding too)\n");
	footprints(&b, &first_fwd, &first_100, first_180, first_180_len);
	double per = heap_known ? (double)(m2.heap - m0.heap) / m : (double)(m2.rss - m0.rss) / m;
	printf("memory per INVITE transaction in flight (ringing, %s): %.0f B (goal 2048: %s)\n",
	       heap_known ? "heap" : "RSS", per, per <= 2048.0 ? "met" : "NOT met");

	/* let everything end: Timer C (181 s) cancels, the CANCELs end */
	capturing = false;
	sb_loop_advance(b.loop, 600000);
	capturing = true;
	printf("after 600 s on the clock: %zu transactions, %zu contexts\n",
	       sb_tsx_layer_count(sb_proxy_tsx_layer(b.proxy)), sb_proxy_context_count(b.proxy));
	free(arena);
	free(lens);
	teardown(&b);
	return 0;
}

/* ------------------------------------------------------------ main */

static void usage(const char *argv0)
{
	fprintf(stderr,
		"usage: %s [--calls N] [--rounds R] [--step MS | --batch B] [--quick]\n"
		"          [--no-callee-100]\n"
		"       %s --show\n"
		"       %s --tsx-memory [M]\n",
		argv0, argv0, argv0);
	exit(2);
}

static uint32_t num_arg(const char *s, const char *argv0, uint32_t max)
{
	char *end;
	unsigned long v = s ? strtoul(s, &end, 10) : 0;
	if (!s || *end || v == 0 || v > max)
		usage(argv0);
	return (uint32_t)v;
}

#define MAX_ROUNDS 15u

int main(int argc, char **argv)
{
	uint32_t calls = 200000, rounds = 5, batch = 0, step = 10, mem_calls = 0;
	bool callee_100 = true;
	for (int k = 1; k < argc; k++) {
		if (!strcmp(argv[k], "--calls"))
			calls = num_arg(argv[++k < argc ? k : 0], argv[0], 100000000u);
		else if (!strcmp(argv[k], "--rounds"))
			rounds = num_arg(argv[++k < argc ? k : 0], argv[0], MAX_ROUNDS);
		else if (!strcmp(argv[k], "--batch"))
			batch = num_arg(argv[++k < argc ? k : 0], argv[0], 10000u);
		else if (!strcmp(argv[k], "--step"))
			step = num_arg(argv[++k < argc ? k : 0], argv[0], 32000u);
		else if (!strcmp(argv[k], "--quick")) {
			calls = 2000;
			rounds = 1;
		} else if (!strcmp(argv[k], "--show"))
			show = true;
		else if (!strcmp(argv[k], "--no-callee-100"))
			callee_100 = false;
		else if (!strcmp(argv[k], "--tsx-memory")) {
			mem_calls = 100000;
			if (k + 1 < argc && argv[k + 1][0] != '-')
				mem_calls = num_arg(argv[++k], argv[0], 1000000u);
		} else
			usage(argv[0]);
	}
	build_invite();
	build_tails();
	if (mem_calls)
		return tsx_memory(mem_calls);

	struct bench b;
	setup(&b, 0);
	b.callee_100 = callee_100;
	if (show) {
		one_call(&b, false);
		teardown(&b);
		return 0;
	}
	const unsigned msgs = callee_100 ? 14 : 13;
	double clk = clock_cost_ns();

	/* warm up: caches, branch predictors, the proxy's tables */
	(void)run_calls(&b, calls / 10 < 20000 ? calls / 10 + 1 : 20000, step, batch);

	memset(b.step_ns, 0, sizeof b.step_ns);
	memset(b.step_regions, 0, sizeof b.step_regions);
	double proxy_ns[MAX_ROUNDS], total_ns[MAX_ROUNDS];
	uint64_t peak_tsx = 0, peak_ctx = 0, sent0 = sent_total, bytes0 = sent_bytes;
	uint64_t rbytes0 = recv_bytes;
	struct sb_proxy_stats st0, st1;
	sb_proxy_get_stats(b.proxy, &st0);
	for (unsigned r = 0; r < rounds; r++) {
		uint64_t wall = run_calls(&b, calls, step, batch);
		proxy_ns[r] = (double)b.proxy_ns - clk * (double)b.regions;
		total_ns[r] = (double)wall - clk * (double)b.clock_reads;
		if (b.peak_tsx > peak_tsx)
			peak_tsx = b.peak_tsx;
		if (b.peak_ctx > peak_ctx)
			peak_ctx = b.peak_ctx;
	}
	sb_proxy_get_stats(b.proxy, &st1);
	uint64_t done = (uint64_t)calls * rounds;
	if (st1.calls - st0.calls != done || st1.calls_answered - st0.calls_answered != done ||
	    sent_total - sent0 != done * 7) {
		fprintf(stderr, "stats disagree: %llu calls, %llu answered, %llu sent for %llu calls\n",
			(unsigned long long)(st1.calls - st0.calls),
			(unsigned long long)(st1.calls_answered - st0.calls_answered),
			(unsigned long long)(sent_total - sent0), (unsigned long long)done);
		return 1;
	}
	double pmed = median(proxy_ns, rounds), tmed = median(total_ns, rounds);
	double pcall = pmed / calls, tcall = tmed / calls;

	printf("proxy core, call flow 1 in memory (%u messages per call: %u in, 7 out), one thread\n",
	       msgs, msgs - 7);
	if (batch)
		printf("%u calls per round, median of %u rounds; batches of %u calls 1 ms apart, "
		       "drained to 0 after each\n",
		       calls, rounds, batch);
	else
		printf("%u calls per round, median of %u rounds; steady state: the clock moves %u ms "
		       "per call\n(%.0f calls/s of clock time), transactions end as they do at that "
		       "rate\n",
		       calls, rounds, step, 1000.0 / step);
	printf("%-30s %12s %10s %10s\n", "", "calls/s", "ns/call", "ns/msg");
	printf("%-30s %12.0f %10.0f %10.0f\n", "proxy (parse+proxy+timers)", 1e9 / pcall, pcall,
	       pcall / msgs);
	printf("%-30s %12.0f %10.0f %10.0f\n", "with the UA side", 1e9 / tcall, tcall,
	       tcall / msgs);
	printf("%-30s %12s %10.0f\n", "UA side alone", "", tcall - pcall);
	printf("per call, mean of all rounds:\n");
	for (unsigned k = 0; k < S__COUNT; k++) {
		if (!b.step_regions[k])
			continue;
		double ns = ((double)b.step_ns[k] - clk * (double)b.step_regions[k]) / (double)done;
		printf("  %-30s %8.0f ns %5.1f%%\n", step_name[k], ns,
		       100.0 * ns * (double)done /
			       sum_steps(&b, clk));
	}
	printf("rounds (proxy calls/s):");
	for (unsigned r = 0; r < rounds; r++)
		printf(" %.0f", 1e9 * calls / proxy_ns[r]);
	printf("\n");
	printf("bytes per call: in %.0f, out %.0f (alice's INVITE %zu, ACK %zu, BYE %zu)\n",
	       (double)(recv_bytes - rbytes0) / (double)done,
	       (double)(sent_bytes - bytes0) / (double)done, t_invite.len, t_ack.len, t_bye.len);
	printf("live at most: %llu transactions, %llu contexts; 0 after each drain\n",
	       (unsigned long long)peak_tsx, (unsigned long long)peak_ctx);
	printf("clock read: %.1f ns, subtracted per timed region (%llu regions per round)\n", clk,
	       (unsigned long long)b.regions);
	print_machine();
	printf("core calls/s: %.0f (goal 100000: %s)\n", 1e9 / pcall,
	       1e9 / pcall >= 100000 ? "met" : "NOT met");
	teardown(&b);
	return 0;
}
