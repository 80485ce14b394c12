/* Unit tests for transport: UDP and TCP over real sockets on 127.0.0.1 and
 * ::1 with ephemeral ports, driven by sb_loop_poll() on the real clock.
 * Every wait has a deadline (WAIT_MS) so a broken transport fails a test
 * instead of hanging it; nothing sleeps. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "switchboard/transport.h"

#define WAIT_MS 2000   /* safety net for every wait */
#define REC_MAX 80     /* more than SB_TP_RX_BURST: bursts are recorded whole */
#define REC_BYTES 4096

#define REQ(n) "OPTIONS sip:bob@example.com SIP/2.0\r\n" \
	"Via: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK" n "\r\n" \
	"Max-Forwards: 70\r\n" \
	"To: <sip:bob@example.com>\r\n" \
	"From: <sip:alice@example.com>;tag=1\r\n" \
	"Call-ID: call-" n "\r\n" \
	"CSeq: 1 OPTIONS\r\n" \
	"Content-Length: 0\r\n\r\n"
#define MSG_BODY "MESSAGE sip:bob@example.com SIP/2.0\r\n" \
	"Via: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bKm\r\n" \
	"To: <sip:bob@example.com>\r\nFrom: <sip:a@example.com>;tag=2\r\n" \
	"Call-ID: m1\r\nCSeq: 2 MESSAGE\r\nContent-Type: text/plain\r\n" \
	"Content-Length: 5\r\n\r\nhello"
#define RESP "SIP/2.0 200 OK\r\n" \
	"Via: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK1\r\n" \
	"To: <sip:bob@example.com>;tag=9\r\nFrom: <sip:alice@example.com>;tag=1\r\n" \
	"Call-ID: call-1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"

/* ------------------------------------------------------------ fixture */

struct rec {
	char raw[REC_BYTES];
	size_t len;
	enum sb_sip_method mid;
	bool is_request;
	enum sb_tp_proto proto;
	struct sb_addr src, local;
	uint32_t conn_id;
	char call_id[64];
	enum sb_sip_defect defect;
};

struct fx {
	struct sb_loop *loop;
	struct sb_transport *tp;
	struct rec rx[REC_MAX];
	size_t nrx;
	uint32_t closed_id[REC_MAX];
	int closed_err[REC_MAX];
	size_t nclosed;
	/* an optional reply sent from inside recv_h on the same connection */
	const char *auto_reply;
	int auto_reply_err;
	/* optional: send each message back to its source echo_times times,
	 * from where it arrived; a message whose Call-ID is bad_call_id goes to
	 * bad_to instead.  echo_err[i]: what the sends for rx[i] returned */
	unsigned echo_times;
	const char *bad_call_id;
	struct sb_addr bad_to;
	int echo_err[REC_MAX];
	/* send_err_h */
	struct sb_addr late_to[REC_MAX];
	int late_err[REC_MAX];
	size_t nlate;
};

static void echo(struct fx *f, const struct sb_tp_rx *rx, struct rec *r)
{
	struct sb_tp_dest d = { .proto = rx->proto, .addr = rx->src, .conn_id = rx->conn_id,
				.local = rx->local };
	if (f->bad_call_id && strcmp(r->call_id, f->bad_call_id) == 0)
		d.addr = f->bad_to;
	for (unsigned k = 0; k < f->echo_times; k++) {
		int err = sb_transport_send(f->tp, &d, rx->msg->raw.p, rx->msg->raw.l);
		f->echo_err[f->nrx - 1] = f->echo_err[f->nrx - 1] ? f->echo_err[f->nrx - 1] : err;
	}
}

static void recv_h(const struct sb_tp_rx *rx, void *arg)
{
	struct fx *f = arg;
	if (f->nrx >= REC_MAX)
		return;
	struct rec *r = &f->rx[f->nrx++];
	r->len = rx->msg->raw.l < REC_BYTES ? rx->msg->raw.l : REC_BYTES;
	memcpy(r->raw, rx->msg->raw.p, r->len);
	r->mid = rx->msg->mid;
	r->is_request = rx->msg->is_request;
	r->proto = rx->proto;
	r->src = rx->src;
	r->local = rx->local;
	r->conn_id = rx->conn_id;
	r->defect = rx->msg->defect;
	struct sb_slice cid;
	if (sb_sip_msg_call_id(rx->msg, &cid) == 0)
		sb_slice_to_cstr(cid, r->call_id, sizeof r->call_id);
	echo(f, rx, r);
	if (f->auto_reply) {
		struct sb_tp_dest d = { .proto = rx->proto, .addr = rx->src, .conn_id = rx->conn_id,
					.local = rx->local };
		f->auto_reply_err = sb_transport_send(f->tp, &d, f->auto_reply,
						      strlen(f->auto_reply));
	}
}

static void close_h(uint32_t conn_id, const struct sb_addr *peer, int err, void *arg)
{
	struct fx *f = arg;
	(void)peer;
	if (f->nclosed < REC_MAX) {
		f->closed_id[f->nclosed] = conn_id;
		f->closed_err[f->nclosed] = err;
		f->nclosed++;
	}
}

static void send_err_h(const struct sb_addr *to, int err, void *arg)
{
	struct fx *f = arg;
	if (f->nlate < REC_MAX) {
		f->late_to[f->nlate] = *to;
		f->late_err[f->nlate] = err;
		f->nlate++;
	}
}

static struct fx *fx_new(const struct sb_transport_cfg *over)
{
	struct fx *f = calloc(1, sizeof *f);
	assert_non_null(f);
	assert_int_equal(sb_loop_alloc(&f->loop, NULL), 0);
	struct sb_transport_cfg cfg = over ? *over : (struct sb_transport_cfg){ 0 };
	cfg.loop = f->loop;
	cfg.recv_h = recv_h;
	cfg.close_h = close_h;
	cfg.send_err_h = send_err_h;
	cfg.arg = f;
	assert_int_equal(sb_transport_alloc(&f->tp, &cfg), 0);
	return f;
}

static void fx_free(struct fx *f)
{
	sb_transport_free(f->tp);
	sb_loop_free(f->loop);
	free(f);
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static struct sb_addr addr(const char *host, uint16_t port)
{
	struct sb_addr a;
	assert_int_equal(sb_addr_parse(&a, host, port), 0);
	return a;
}

static struct sb_addr listen_on(struct fx *f, enum sb_tp_proto proto, const char *host)
{
	struct sb_addr a = addr(host, 0), bound;
	assert_int_equal(sb_transport_listen(f->tp, proto, &a, &bound), 0);
	assert_int_not_equal(sb_addr_port(&bound), 0);
	return bound;
}

static struct sb_tp_stats stats(struct fx *f)
{
	struct sb_tp_stats s;
	sb_transport_stats(f->tp, &s);
	return s;
}

/* Poll until *count reaches want, or WAIT_MS passes. */
static void wait_count(struct fx *f, const size_t *count, size_t want)
{
	uint64_t end = now_ms() + WAIT_MS;
	while (*count < want && now_ms() < end)
		sb_loop_poll(f->loop, 5);
	assert_true(*count >= want);
}

static void poll_for(struct fx *f, unsigned ms)
{
	uint64_t end = now_ms() + ms;
	while (now_ms() < end)
		sb_loop_poll(f->loop, 1);
}

/* A client socket bound to host:0, non-blocking. */
static int client(int type, const char *host, struct sb_addr *bound)
{
	struct sb_addr a = addr(host, 0);
	int fd = socket(sb_addr_family(&a), type, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, &a.u.sa, a.len), 0);
	if (bound) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof ss;
		assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &sl), 0);
		assert_int_equal(sb_addr_from_sa(bound, (struct sockaddr *)&ss, sl), 0);
	}
	return fd;
}

static int tcp_client(const struct sb_addr *to, const char *host, struct sb_addr *bound)
{
	int fd = client(SOCK_STREAM, host, bound);
	/* loopback connects complete in the kernel's backlog, before accept */
	assert_int_equal(connect(fd, &to->u.sa, to->len), 0);
	assert_int_equal(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	return fd;
}

static void write_all(int fd, const char *s, size_t len)
{
	assert_int_equal(send(fd, s, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* Read from fd while polling the loop until want bytes, EOF or ms pass.
 * Returns bytes read; *eof is set on EOF or a reset. */
static size_t read_poll_ms(struct fx *f, int fd, char *buf, size_t cap, size_t want, bool *eof,
			   unsigned ms)
{
	size_t got = 0;
	uint64_t end = now_ms() + ms;
	bool busy = false;
	*eof = false;
	while (got < want && now_ms() < end) {
		sb_loop_poll(f->loop, busy ? 0 : 1);
		ssize_t n = recv(fd, buf + got, cap - got, MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno == ECONNRESET)) {
			*eof = true;
			break;
		}
		busy = n > 0;
		if (n > 0)
			got += (size_t)n;
	}
	return got;
}

static size_t read_poll(struct fx *f, int fd, char *buf, size_t cap, size_t want, bool *eof)
{
	return read_poll_ms(f, fd, buf, cap, want, eof, WAIT_MS);
}

/* write_all() of a string. */
static void write_str(int fd, const char *s)
{
	write_all(fd, s, strlen(s));
}

/* A datagram of the string s from fd to `to`; sendto()'s result. */
static ssize_t send_str_to(int fd, const char *s, const struct sb_addr *to)
{
	return sendto(fd, s, strlen(s), 0, &to->u.sa, to->len);
}

/* Read exactly the len bytes of want from fd (polling the loop). */
static void expect_read(struct fx *f, int fd, const char *want, size_t len)
{
	char buf[2048];
	bool eof;
	assert_true(len <= sizeof buf);
	assert_int_equal(read_poll(f, fd, buf, sizeof buf, len, &eof), len);
	assert_memory_equal(buf, want, len);
}

/* The CRLF pong to a ping (RFC 5626 §3.5.1) arrives on fd. */
static void expect_pong(struct fx *f, int fd)
{
	char buf[16];
	bool eof;
	assert_int_equal(read_poll(f, fd, buf, sizeof buf, 2, &eof), 2);
	assert_memory_equal(buf, "\r\n", 2);
}

/* Nothing arrives on fd for ms, and it stays open. */
static void expect_quiet(struct fx *f, int fd, unsigned ms)
{
	char buf[16];
	bool eof;
	assert_int_equal(read_poll_ms(f, fd, buf, sizeof buf, 1, &eof, ms), 0);
	assert_false(eof);
}

/* fd reaches EOF (or a reset) before cap bytes arrive. */
static void expect_eof(struct fx *f, int fd, size_t cap)
{
	char buf[1024];
	bool eof;
	assert_true(cap <= sizeof buf);
	read_poll(f, fd, buf, cap, cap, &eof);
	assert_true(eof);
}

/* Poll until the transport has accepted want connections, or WAIT_MS
 * passes. */
static void wait_accepted(struct fx *f, uint64_t want)
{
	uint64_t end = now_ms() + WAIT_MS;
	while (stats(f).conns_accepted < want && now_ms() < end)
		sb_loop_poll(f->loop, 5);
	assert_int_equal(stats(f).conns_accepted, want);
}

/* A datagram on fd, waited for until end (a now_ms() time); recvfrom()'s
 * result, with the sender in *ss when ss is not NULL. */
static ssize_t recv_until(int fd, char *buf, size_t cap, uint64_t end,
			  struct sockaddr_storage *ss, socklen_t *sl)
{
	ssize_t n = -1;
	while (n < 0 && now_ms() < end) {
		if (sl)
			*sl = sizeof *ss;
		n = recvfrom(fd, buf, cap, MSG_DONTWAIT, (struct sockaddr *)ss, sl);
	}
	return n;
}

/* Send chunk to d until the transport refuses (at most 1000 times),
 * polling the loop once after each; with vary, chunk i is filled with
 * 'a' + i % 26 first.  Returns the bytes accepted; *err is the refusal. */
static size_t fill_sendq(struct fx *f, const struct sb_tp_dest *d, char *chunk, size_t len,
			 bool vary, int *err)
{
	size_t sent = 0;
	*err = 0;
	for (unsigned i = 0; i < 1000 && *err == 0; i++) {
		if (vary)
			memset(chunk, 'a' + (int)(i % 26), len);
		*err = sb_transport_send(f->tp, d, chunk, len);
		if (*err == 0)
			sent += len;
		sb_loop_poll(f->loop, 0);
	}
	return sent;
}

/* A fixture (with cfg, or the defaults) listening on TCP 127.0.0.1 (its
 * address in *srv when srv is not NULL) and a client connected to it. */
static struct fx *tcp_fx(const struct sb_transport_cfg *cfg, struct sb_addr *srv, int *fd)
{
	struct fx *f = fx_new(cfg);
	struct sb_addr a = listen_on(f, SB_TP_TCP, "127.0.0.1");
	*fd = tcp_client(&a, "127.0.0.1", NULL);
	if (srv)
		*srv = a;
	return f;
}

/* ------------------------------------------------------------ addresses */

static void t_addr(void **state)
{
	(void)state;
	struct sb_addr a, b;
	char s[SB_ADDR_STR_MAX];

	assert_int_equal(sb_addr_parse(&a, "192.0.2.1", 5060), 0);
	assert_int_equal(sb_addr_family(&a), AF_INET);
	assert_int_equal(sb_addr_port(&a), 5060);
	assert_string_equal(sb_addr_to_str(&a, s, sizeof s), "192.0.2.1:5060");

	assert_int_equal(sb_addr_parse(&b, "[2001:db8::1]", 5061), 0);
	assert_int_equal(sb_addr_family(&b), AF_INET6);
	assert_string_equal(sb_addr_to_str(&b, s, sizeof s), "[2001:db8::1]:5061");
	assert_string_equal(sb_addr_host_to_str(&b, s, sizeof s), "2001:db8::1");
	assert_int_equal(sb_addr_parse(&a, "2001:DB8:0::1", 5061), 0);
	assert_true(sb_addr_eq(&a, &b));
	sb_addr_set_port(&a, 5062);
	assert_int_equal(sb_addr_port(&a), 5062);
	assert_false(sb_addr_eq(&a, &b));
	assert_true(sb_addr_ip_eq(&a, &b));

	const char *bad[] = { "", "example.com", "1.2.3", "1.2.3.256", "[::1", "::1]",
			      "[192.0.2.1]", "fe80::1%eth0", "[]" };
	for (size_t i = 0; i < SB_ARRAY_LEN(bad); i++)
		assert_int_equal(sb_addr_parse(&a, bad[i], 1), EINVAL);
	assert_int_equal(sb_addr_parse(&a, NULL, 1), EINVAL);
	/* v4 and v6 never compare equal */
	assert_int_equal(sb_addr_parse(&a, "127.0.0.1", 1), 0);
	assert_int_equal(sb_addr_parse(&b, "::ffff:127.0.0.1", 1), 0);
	assert_false(sb_addr_eq(&a, &b));
}

/* Per-peer accounting: an IPv4 address, an IPv6 /64, a mapped address as
 * its IPv4 one. */
static void t_addr_same_peer(void **state)
{
	(void)state;
	static const struct {
		const char *a, *b;
		bool same;
	} cases[] = {
		{ "2001:db8::1", "2001:db8::2", true },
		{ "2001:db8::1", "2001:db8::ffff:ffff:ffff:ffff", true },
		{ "2001:db8::1", "2001:db8:0:1::1", false },
		{ "::ffff:192.0.2.1", "192.0.2.1", true },
		{ "::ffff:192.0.2.1", "::ffff:192.0.2.2", false },
		{ "192.0.2.1", "192.0.2.1", true },
		{ "192.0.2.1", "192.0.2.2", false },
		{ "::1", "::2", true },
		{ "::1", "127.0.0.1", false },
	};
	for (size_t i = 0; i < SB_ARRAY_LEN(cases); i++) {
		struct sb_addr a = addr(cases[i].a, 5060), b = addr(cases[i].b, 5070);
		if (sb_addr_same_peer(&a, &b) != cases[i].same ||
		    sb_addr_same_peer(&b, &a) != cases[i].same)
			fail_msg("%s vs %s: want %s", cases[i].a, cases[i].b,
				 cases[i].same ? "same" : "different");
	}
	/* link-local prefixes repeat on every link */
	struct sb_addr a = addr("fe80::1", 1), b = addr("fe80::2", 1);
	assert_true(sb_addr_same_peer(&a, &b));
	b.u.in6.sin6_scope_id = 2;
	assert_false(sb_addr_same_peer(&a, &b));
	struct sb_addr none = { 0 };
	assert_false(sb_addr_same_peer(&none, &none));
}

/* ------------------------------------------------------------ UDP */

static void udp_round_trip(const char *host)
{
	struct fx *f = fx_new(NULL);
	struct sb_addr srv = listen_on(f, SB_TP_UDP, host), cl;
	int fd = client(SOCK_DGRAM, host, &cl);

	assert_int_equal(send_str_to(fd, REQ("1"), &srv),
			 (ssize_t)strlen(REQ("1")));
	wait_count(f, &f->nrx, 1);
	struct rec *r = &f->rx[0];
	assert_int_equal(r->proto, SB_TP_UDP);
	assert_int_equal(r->conn_id, 0);
	assert_int_equal(r->mid, SB_METHOD_OPTIONS);
	assert_string_equal(r->call_id, "call-1");
	assert_int_equal(r->len, strlen(REQ("1")));
	assert_true(sb_addr_eq(&r->src, &cl));      /* RFC 3581: where it came from */
	assert_true(sb_addr_eq(&r->local, &srv));

	/* the response goes back to the source address and port */
	struct sb_tp_dest d = { .proto = SB_TP_UDP, .addr = r->src };
	assert_int_equal(sb_transport_send(f->tp, &d, RESP, strlen(RESP)), 0);
	char buf[2048];
	ssize_t n = recv_until(fd, buf, sizeof buf, now_ms() + WAIT_MS, NULL, NULL);
	assert_int_equal(n, (ssize_t)strlen(RESP));
	assert_memory_equal(buf, RESP, strlen(RESP));

	struct sb_tp_stats s = stats(f);
	assert_int_equal(s.rx_msgs, 1);
	assert_int_equal(s.tx_msgs, 1);
	assert_int_equal(s.rx_bad, 0);
	close(fd);
	fx_free(f);
}

static void t_udp4(void **state)
{
	(void)state;
	udp_round_trip("127.0.0.1");
}

static bool have_ipv6(void)
{
	struct sb_addr a = addr("::1", 0);
	int fd = socket(AF_INET6, SOCK_DGRAM, 0);
	bool ok = fd >= 0 && bind(fd, &a.u.sa, a.len) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

static void t_udp6(void **state)
{
	(void)state;
	if (!have_ipv6())
		skip();
	udp_round_trip("::1");
}

/* 0.0.0.0 and :: share a port (IPV6_V6ONLY); a wildcard socket reports the
 * address a datagram was sent to, not 0.0.0.0. */
static void t_udp_wildcard(void **state)
{
	(void)state;
	struct fx *f = fx_new(NULL);
	struct sb_addr any4 = listen_on(f, SB_TP_UDP, "0.0.0.0");
	if (have_ipv6()) {
		struct sb_addr any6 = addr("::", sb_addr_port(&any4)), b6;
		assert_int_equal(sb_transport_listen(f->tp, SB_TP_UDP, &any6, &b6), 0);
		assert_int_equal(sb_addr_port(&b6), sb_addr_port(&any4));
	}
	struct sb_addr to = addr("127.0.0.1", sb_addr_port(&any4));
	int fd = client(SOCK_DGRAM, "127.0.0.1", NULL);
	assert_true(send_str_to(fd, REQ("2"), &to) > 0);
	wait_count(f, &f->nrx, 1);
	assert_true(sb_addr_eq(&f->rx[0].local, &to));
	close(fd);
	fx_free(f);
}

static void t_udp_garbage(void **state)
{
	(void)state;
	struct fx *f = fx_new(NULL);
	struct sb_addr srv = listen_on(f, SB_TP_UDP, "127.0.0.1");
	int fd = client(SOCK_DGRAM, "127.0.0.1", NULL);
	const char *junk[] = { "hello world", "\x01\x02\x03\x04", "INVITE\r\n\r\n",
			       "SIP/2.0 abc OK\r\n\r\n" };
	for (size_t i = 0; i < SB_ARRAY_LEN(junk); i++)
		assert_true(send_str_to(fd, junk[i], &srv) > 0);
	assert_true(sendto(fd, "\r\n\r\n", 4, 0, &srv.u.sa, srv.len) == 4);
	/* SIP, but broken: handed up for the owner to answer 400 (§8.2) */
	const char *broken = "OPTIONS sip:a@b SIP/2.0\r\nVia: x";
	assert_true(send_str_to(fd, broken, &srv) > 0);
	assert_true(send_str_to(fd, REQ("3"), &srv) > 0);
	wait_count(f, &f->nrx, 2);
	poll_for(f, 5);
	assert_int_equal(f->nrx, 2); /* none of the junk */
	assert_int_not_equal(f->rx[0].defect, SB_DEFECT_NONE);
	assert_string_equal(f->rx[1].call_id, "call-3");
	assert_int_equal(f->rx[1].defect, SB_DEFECT_NONE);
	struct sb_tp_stats s = stats(f);
	assert_int_equal(s.rx_bad, SB_ARRAY_LEN(junk));
	assert_int_equal(s.rx_keepalives, 1);
	assert_int_equal(s.rx_msgs, 2);
	close(fd);
	fx_free(f);
}

/* RFC 3261 §18.1.1: a request over 1300 bytes must not go over UDP; a
 * response may. */
static void t_udp_large_request(void **state)
{
	(void)state;
	struct fx *f = fx_new(NULL);
	listen_on(f, SB_TP_UDP, "127.0.0.1");
	struct sb_addr cl;
	int fd = client(SOCK_DGRAM, "127.0.0.1", &cl);
	static char big[1400];
	memset(big, 'x', sizeof big);
	memcpy(big, "OPTIONS ", 8);
	struct sb_tp_dest d = { .proto = SB_TP_UDP, .addr = cl };
	assert_int_equal(sb_transport_send(f->tp, &d, big, sizeof big), EMSGSIZE);
	assert_int_equal(sb_transport_send(f->tp, &d, big, SB_TP_UDP_REQUEST_MAX), 0);
	memcpy(big, "SIP/2.0 ", 8);
	assert_int_equal(sb_transport_send(f->tp, &d, big, sizeof big), 0);
	char buf[2048];
	uint64_t end = now_ms() + WAIT_MS;
	ssize_t n1 = recv_until(fd, buf, sizeof buf, end, NULL, NULL);
	ssize_t n2 = recv_until(fd, buf, sizeof buf, end, NULL, NULL);
	assert_int_equal(n1, SB_TP_UDP_REQUEST_MAX);
	assert_int_equal(n2, sizeof big);
	/* no socket of that family */
	struct sb_tp_dest d6 = { .proto = SB_TP_UDP, .addr = addr("::1", 5060) };
	assert_int_equal(sb_transport_send(f->tp, &d6, RESP, strlen(RESP)), EAFNOSUPPORT);
	struct sb_tp_stats s = stats(f);
	assert_int_equal(s.tx_msgs, 2);
	assert_int_equal(s.tx_errors, 2);
	close(fd);
	fx_free(f);
}

/* ------------------------------------------------------------ TCP in */

static void t_tcp_one(void **state)
{
	(void)state;
	struct fx *f = fx_new(NULL);
	struct sb_addr srv = listen_on(f, SB_TP_TCP, "127.0.0.1"), cl;
	int fd = tcp_client(&srv, "127.0.0.1", &cl);
	write_str(fd, MSG_BODY);
	wait_count(f, &f->nrx, 1);
	struct rec *r = &f->rx[0];
	assert_int_equal(r->proto, SB_TP_TCP);
	assert_int_not_equal(r->conn_id, 0);
	assert_int_equal(r->mid, SB_METHOD_MESSAGE);
	assert_int_equal(r->len, strlen(MSG_BODY));
	assert_memory_equal(r->raw + r->len - 5, "hello", 5);
	assert_true(sb_addr_eq(&r->src, &cl));
	assert_true(sb_addr_eq(&r->local, &srv));
	struct sb_addr peer;
	assert_true(sb_transport_conn_lookup(f->tp, r->conn_id, &peer));
	assert_true(sb_addr_eq(&peer, &cl));
	struct sb_tp_stats s = stats(f);
	assert_int_equal(s.conns_open, 1);
	assert_int_equal(s.conns_accepted, 1);

	/* the peer closes: the connection goes, close_h says 0 */
	close(fd);
	wait_count(f, &f->nclosed, 1);
	assert_int_equal(f->closed_id[0], r->conn_id);
	assert_int_equal(f->closed_err[0], 0);
	assert_int_equal(stats(f).conns_open, 0);
	assert_false(sb_transport_conn_lookup(f->tp, r->conn_id, NULL));
	fx_free(f);
}

static void t_tcp6(void **state)
{
	(void)state;
	if (!have_ipv6())
		skip();
	struct fx *f = fx_new(NULL);
	struct sb_addr srv = listen_on(f, SB_TP_TCP, "::1"), cl;
	int fd = tcp_client(&srv, "::1", &cl);
	write_str(fd, REQ("6"));
	wait_count(f, &f->nrx, 1);
	assert_true(sb_addr_eq(&f->rx[0].src, &cl));
	assert_int_equal(sb_addr_family(&f->rx[0].local), AF_INET6);
	close(fd);
	fx_free(f);
}

static void t_tcp_several_in_one_write(void **state)
{
	(void)state;
	int fd;
	struct fx *f = tcp_fx(NULL, NULL, &fd);
	const char *s = REQ("a") REQ("b") "\r\n" REQ("c");
	write_str(fd, s);
	wait_count(f, &f->nrx, 3);
	poll_for(f, 5);
	assert_int_equal(f->nrx, 3);
	assert_string_equal(f->rx[0].call_id, "call-a");
	assert_string_equal(f->rx[1].call_id, "call-b");
	assert_string_equal(f->rx[2].call_id, "call-c");
	assert_int_equal(f->rx[0].conn_id, f->rx[2].conn_id);
	assert_int_equal(f->rx[1].len, strlen(REQ("b")));
	close(fd);
	fx_free(f);
}

static void t_tcp_byte_by_byte(void **state)
{
	(void)state;
	int fd;
	struct fx *f = tcp_fx(NULL, NULL, &fd);
	const char *s = MSG_BODY;
	size_t len = strlen(s);
	for (size_t i = 0; i < len; i++) {
		write_all(fd, s + i, 1);
		/* let the transport read what there is, byte or not */
		sb_loop_poll(f->loop, 0);
		sb_loop_poll(f->loop, 0);
		if (i + 1 < len)
			assert_int_equal(f->nrx, 0);
	}
	wait_count(f, &f->nrx, 1);
	assert_int_equal(f->rx[0].len, len);
	assert_memory_equal(f->rx[0].raw, s, len);
	close(fd);
	fx_free(f);
}

/* RFC 5626 §3.5.1: CRLFCRLF is answered with CRLF, also when it arrives in
 * two halves; a lone CRLF (pong) needs no answer. */
static void t_tcp_ping_pong(void **state)
{
	(void)state;
	int fd;
	struct fx *f = tcp_fx(NULL, NULL, &fd);

	write_all(fd, "\r\n\r\n", 4);
	expect_pong(f, fd);

	write_all(fd, "\r\n", 2);
	poll_for(f, 5);
	write_all(fd, "\r\n", 2);
	expect_pong(f, fd);

	/* a pong followed by a message: no answer to the pong */
	const char *s = "\r\n" REQ("p");
	write_str(fd, s);
	wait_count(f, &f->nrx, 1);
	expect_quiet(f, fd, 20);
	assert_int_equal(stats(f).rx_keepalives, 3);
	assert_int_equal(stats(f).conns_open, 1);
	close(fd);
	fx_free(f);
}

static void expect_closed(struct fx *f, int fd, int err)
{
	expect_eof(f, fd, 64);
	assert_int_equal(f->nclosed, 1);
	assert_int_equal(f->closed_err[0], err);
	assert_int_equal(stats(f).conns_open, 0);
}

static void t_tcp_bad_content_length(void **state)
{
	(void)state;
	int fd;
	struct fx *f = tcp_fx(NULL, NULL, &fd);
	const char *s = "OPTIONS sip:a@b SIP/2.0\r\nCall-ID: x\r\nContent-Length: -999\r\n\r\n"
			REQ("never");
	write_str(fd, s);
	expect_closed(f, fd, EBADMSG);
	assert_int_equal(f->nrx, 0);
	assert_int_equal(stats(f).rx_bad, 1);
	assert_int_equal(stats(f).conns_error_closed, 1);
	close(fd);
	fx_free(f);
}

static void t_tcp_no_content_length(void **state)
{
	(void)state;
	int fd;
	struct fx *f = tcp_fx(NULL, NULL, &fd);
	const char *s = "OPTIONS sip:a@b SIP/2.0\r\nCall-ID: x\r\n\r\n"; /* §18.3 */
	write_str(fd, s);
	expect_closed(f, fd, EBADMSG);
	assert_int_equal(f->nrx, 0);
	close(fd);
	fx_free(f);
}

/* RFC 4475 clerr: Content-Length promises more than ever comes. */
static void t_tcp_idle_timeout(void **state)
{
	(void)state;
	struct sb_transport_cfg cfg = { .idle_ms = 50 };
	int fd;
	struct fx *f = tcp_fx(&cfg, NULL, &fd);
	const char *s = "INVITE sip:a@b SIP/2.0\r\nCall-ID: x\r\nContent-Length: 9999\r\n\r\nv=0\r\n";
	uint64_t t0 = now_ms();
	write_str(fd, s);
	wait_count(f, &f->nclosed, 1);
	uint64_t dt = now_ms() - t0;
	assert_true(dt >= 50);
	assert_true(dt < 1000);
	expect_closed(f, fd, ETIMEDOUT);
	assert_int_equal(f->nrx, 0);
	assert_int_equal(stats(f).conns_idle_closed, 1);
	close(fd);
	fx_free(f);
}

/* Activity keeps a connection open past the idle time. */
static void t_tcp_idle_reset_by_traffic(void **state)
{
	(void)state;
	struct sb_transport_cfg cfg = { .idle_ms = 200 };
	int fd;
	struct fx *f = tcp_fx(&cfg, NULL, &fd);
	char buf[8];
	bool eof;
	uint64_t t0 = now_ms();
	while (now_ms() - t0 < 300) {
		poll_for(f, 20);
		write_all(fd, "\r\n\r\n", 4);
		assert_int_equal(read_poll(f, fd, buf, sizeof buf, 2, &eof), 2);
	}
	assert_int_equal(f->nclosed, 0); /* 300 ms > 200 ms, but never idle */
	fx_free(f);
	close(fd);
}

static void t_tcp_too_large(void **state)
{
	(void)state;
	struct sb_transport_cfg cfg = { .max_conn_buf = 1024 };
	struct sb_addr srv;
	int fd;
	struct fx *f = tcp_fx(&cfg, &srv, &fd);
	static char big[3000];
	memset(big, 'a', sizeof big);
	memcpy(big, "OPTIONS sip:a@b SIP/2.0\r\nX: ", 28); /* never ends its headers */
	write_all(fd, big, sizeof big);
	expect_closed(f, fd, EMSGSIZE);
	assert_int_equal(stats(f).rx_too_large, 1);
	close(fd);

	/* a Content-Length past the bound is refused before the body comes */
	fd = tcp_client(&srv, "127.0.0.1", NULL);
	const char *s = "OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 5000\r\n\r\n";
	write_str(fd, s);
	f->nclosed = 0;
	expect_closed(f, fd, EMSGSIZE);
	close(fd);
	fx_free(f);
}

static void t_tcp_per_peer_limit(void **state)
{
	(void)state;
	struct sb_transport_cfg cfg = { .max_conns_per_ip = 2 };
	struct sb_addr srv;
	int a;
	struct fx *f = tcp_fx(&cfg, &srv, &a);
	int b = tcp_client(&srv, "127.0.0.1", NULL);
	wait_accepted(f, 2);

	int c = tcp_client(&srv, "127.0.0.1", NULL);
	expect_eof(f, c, 8);           /* refused by closing */
	struct sb_tp_stats s = stats(f);
	assert_int_equal(s.conns_refused, 1);
	assert_int_equal(s.conns_open, 2);
	assert_int_equal(f->nclosed, 0); /* never was a connection */

	/* the two admitted ones still work */
	write_str(b, REQ("b"));
	wait_count(f, &f->nrx, 1);
	/* another address is not limited by 127.0.0.1's count */
	int d = tcp_client(&srv, "127.0.0.2", NULL);
	write_str(d, REQ("d"));
	wait_count(f, &f->nrx, 2);
	assert_int_equal(stats(f).conns_open, 3);
	close(a);
	close(b);
	close(c);
	close(d);
	fx_free(f);
}

static void t_tcp_max_conns(void **state)
{
	(void)state;
	struct sb_transport_cfg cfg = { .max_conns = 1 };
	struct sb_addr srv;
	int a;
	struct fx *f = tcp_fx(&cfg, &srv, &a);
	write_str(a, REQ("a"));
	wait_count(f, &f->nrx, 1);
	int b = tcp_client(&srv, "127.0.0.2", NULL);
	expect_eof(f, b, 8);
	assert_int_equal(stats(f).conns_refused, 1);
	/* nor may we open one ourselves */
	struct sb_tp_dest d = { .proto = SB_TP_TCP, .addr = addr("127.0.0.1", 9) };
	assert_int_equal(sb_transport_send(f->tp, &d, REQ("x"), strlen(REQ("x"))), ENOSPC);
	close(a);
	close(b);
	fx_free(f);
}

/* Out of descriptors, the listener pauses for SB_TP_ACCEPT_BACKOFF_MS
 * instead of spinning on a backlog it cannot drain, then resumes. */
static void t_tcp_accept_emfile(void **state)
{
	(void)state;
	struct sb_addr srv;
	int a;
	struct fx *f = tcp_fx(NULL, &srv, &a);
	int b = tcp_client(&srv, "127.0.0.1", NULL);
	struct rlimit old, low;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = (rlim_t)(b > a ? b : a) + 1; /* no room for one more */
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	uint64_t t0 = now_ms();
	poll_for(f, 30);
	struct sb_tp_stats s = stats(f);
	uint64_t dt = now_ms() - t0;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	/* once per back-off period, not once per loop iteration */
	assert_in_range(s.accept_errors, 1, 1 + dt / SB_TP_ACCEPT_BACKOFF_MS);
	assert_int_equal(s.conns_accepted, 0);
	wait_accepted(f, 2);
	close(a);
	close(b);
	fx_free(f);
}

/* max_conns must fit RLIMIT_NOFILE.  Each case runs in a child, whose
 * limits (the hard one cannot be raised again) do not touch ours; it
 * returns 0 or the line of the check that failed. */
static int fd_limit_case(rlim_t soft, rlim_t hard, uint32_t max_conns, uint32_t want_max,
			 rlim_t want_soft)
{
	struct rlimit rl = { .rlim_cur = soft, .rlim_max = hard };
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		return __LINE__;
	struct sb_loop *loop;
	if (sb_loop_alloc(&loop, NULL) != 0)
		return __LINE__;
	struct sb_transport *tp;
	struct sb_transport_cfg cfg = { .loop = loop, .recv_h = recv_h, .max_conns = max_conns };
	if (sb_transport_alloc(&tp, &cfg) != 0)
		return __LINE__;
	int ret = 0;
	if (sb_transport_max_conns(tp) != want_max)
		ret = __LINE__;
	if (!ret && (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur != want_soft))
		ret = __LINE__;
	sb_transport_free(tp);
	sb_loop_free(loop);
	return ret;
}

static void fd_limit_in_child(rlim_t soft, rlim_t hard, uint32_t max_conns, uint32_t want_max,
			      rlim_t want_soft)
{
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int line = fd_limit_case(soft, hard, max_conns, want_max, want_soft);
		if (line)
			fprintf(stderr, "fd_limit_case: check at line %d failed\n", line);
		_exit(line ? 1 : 0);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void t_fd_limit(void **state)
{
	(void)state;
	struct rlimit old;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	assert_true(old.rlim_max >= 256);
	/* the hard limit is too low: the bound comes down to fit */
	fd_limit_in_child(256, 256, 4096, 256 - SB_TP_FD_RESERVE, 256);
	/* a tiny limit still leaves connections half of it */
	fd_limit_in_child(40, 40, 4096, 20, 40);
	/* a bound that fits changes nothing */
	fd_limit_in_child(256, 256, 100, 100, 256);
	/* room under the hard limit: the soft one goes up, the bound stays */
	rlim_t want = 4096 + SB_TP_FD_RESERVE;
	if (old.rlim_max != RLIM_INFINITY && old.rlim_max < want)
		want = old.rlim_max;
	fd_limit_in_child(256, old.rlim_max, 4096,
			  want == 4096 + SB_TP_FD_RESERVE ? 4096 : (uint32_t)(want - SB_TP_FD_RESERVE),
			  want);
	/* and ours is untouched */
	struct rlimit now;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &now), 0);
	assert_int_equal(now.rlim_cur, old.rlim_cur);
	assert_int_equal(now.rlim_max, old.rlim_max);
}

/* ------------------------------------------------------------ TCP out */

/* RFC 3261 §18.2.2: the response goes back on the request's connection,
 * here from inside recv_h. */
static void t_tcp_reply_on_conn(void **state)
{
	(void)state;
	int fd;
	struct fx *f = tcp_fx(NULL, NULL, &fd);
	f->auto_reply = RESP;
	write_str(fd, REQ("1"));
	expect_read(f, fd, RESP, strlen(RESP));
	assert_int_equal(f->auto_reply_err, 0);
	f->auto_reply = NULL;

	/* later, from outside the handler, by conn_id */
	uint32_t id = f->rx[0].conn_id;
	struct sb_tp_dest d = { .proto = SB_TP_TCP, .addr = f->rx[0].src, .conn_id = id };
	assert_int_equal(sb_transport_send(f->tp, &d, RESP, strlen(RESP)), 0);
	char buf[1024];
	bool eof;
	assert_int_equal(read_poll(f, fd, buf, sizeof buf, strlen(RESP), &eof), strlen(RESP));
	assert_int_equal(stats(f).conns_connected, 0); /* nothing new opened */

	/* gone: a request on it fails (RFC 5626: the flow failed) */
	assert_int_equal(sb_transport_conn_close(f->tp, id), 0);
	assert_int_equal(sb_transport_conn_close(f->tp, id), ENOENT);
	assert_int_equal(sb_transport_send(f->tp, &d, REQ("2"), strlen(REQ("2"))), ENOTCONN);
	expect_eof(f, fd, sizeof buf);
	close(fd);
	fx_free(f);
}

/* A handler may close the connection it is reading from; what else arrived
 * in the same read is not delivered. */
static void close_in_recv_h(const struct sb_tp_rx *rx, void *arg)
{
	struct fx *f = arg;
	f->nrx++;
	assert_int_equal(sb_transport_conn_close(f->tp, rx->conn_id), 0);
}

static void t_tcp_close_in_handler(void **state)
{
	(void)state;
	struct fx *f = calloc(1, sizeof *f);
	assert_int_equal(sb_loop_alloc(&f->loop, NULL), 0);
	struct sb_transport_cfg cfg = { .loop = f->loop, .recv_h = close_in_recv_h,
					.close_h = close_h, .arg = f };
	assert_int_equal(sb_transport_alloc(&f->tp, &cfg), 0);
	struct sb_addr srv = listen_on(f, SB_TP_TCP, "127.0.0.1");
	int fd = tcp_client(&srv, "127.0.0.1", NULL);
	const char *s = REQ("1") REQ("2") "\r\n\r\n";
	write_str(fd, s);
	expect_closed(f, fd, 0);
	assert_int_equal(f->nrx, 1);
	close(fd);
	fx_free(f);
}

static int plain_listener(const char *host, struct sb_addr *bound, int rcvbuf)
{
	int fd = client(SOCK_STREAM, host, bound);
	if (rcvbuf)
		assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf), 0);
	assert_int_equal(listen(fd, 8), 0);
	assert_int_equal(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	return fd;
}

static int accept_poll(struct fx *f, int lfd)
{
	uint64_t end = now_ms() + WAIT_MS;
	while (now_ms() < end) {
		int fd = accept(lfd, NULL, NULL);
		if (fd >= 0) {
			assert_int_equal(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
			return fd;
		}
		sb_loop_poll(f->loop, 2);
	}
	fail_msg("no connection");
	return -1;
}

/* §18.1.1: a request to a new target opens a connection; the next one to
 * the same target reuses it, and what the target sends back arrives on it. */
static void t_tcp_send_new(void **state)
{
	(void)state;
	struct fx *f = fx_new(NULL);
	struct sb_addr peer;
	int lfd = plain_listener("127.0.0.1", &peer, 0);
	struct sb_tp_dest d = { .proto = SB_TP_TCP, .addr = peer };
	assert_int_equal(sb_transport_send(f->tp, &d, REQ("1"), strlen(REQ("1"))), 0);
	int pfd = accept_poll(f, lfd);
	size_t want = strlen(REQ("1"));
	expect_read(f, pfd, REQ("1"), want);

	assert_int_equal(sb_transport_send(f->tp, &d, REQ("2"), strlen(REQ("2"))), 0);
	expect_read(f, pfd, REQ("2"), want);
	assert_int_equal(accept(lfd, NULL, NULL), -1); /* no second connection */
	struct sb_tp_stats s = stats(f);
	assert_int_equal(s.conns_connected, 1);
	assert_int_equal(s.conns_open, 1);

	write_str(pfd, RESP);
	wait_count(f, &f->nrx, 1);
	assert_false(f->rx[0].is_request);
	assert_true(sb_addr_eq(&f->rx[0].src, &peer));
	struct sb_addr got;
	assert_true(sb_transport_conn_lookup(f->tp, f->rx[0].conn_id, &got));
	assert_true(sb_addr_eq(&got, &peer));
	close(pfd);
	close(lfd);
	fx_free(f);
}

/* RFC 3261 §18.2.2: when the request's connection is gone, a response goes
 * on a new connection to the Via's received address and sent-by port. */
static void t_tcp_response_fallback(void **state)
{
	(void)state;
	struct fx *f = fx_new(NULL);
	struct sb_addr peer;
	int lfd = plain_listener("127.0.0.1", &peer, 0);
	char resp[512];
	int n = snprintf(resp, sizeof resp,
			 "SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP ua.example.com:%u;branch=z9hG4bK1"
			 ";received=127.0.0.1;rport=40000\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n"
			 "Content-Length: 0\r\n\r\n", (unsigned)sb_addr_port(&peer));
	/* conn 777 never existed; addr (the old source port) is not used */
	struct sb_tp_dest d = { .proto = SB_TP_TCP, .addr = addr("127.0.0.1", 40000),
				.conn_id = 777 };
	assert_int_equal(sb_transport_send(f->tp, &d, resp, (size_t)n), 0);
	int pfd = accept_poll(f, lfd);
	expect_read(f, pfd, resp, (size_t)n);
	assert_int_equal(stats(f).conns_connected, 1);

	/* a sent-by name without received: no DNS here, so ENOTCONN */
	const char *named = "SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP ua.example.com;branch=z9hG4bK1"
			    "\r\nContent-Length: 0\r\n\r\n";
	assert_int_equal(sb_transport_send(f->tp, &d, named, strlen(named)), ENOTCONN);
	close(pfd);
	close(lfd);
	fx_free(f);
}

/* The connect fails after send returned: close_h reports it. */
static void t_tcp_connect_refused(void **state)
{
	(void)state;
	struct fx *f = fx_new(NULL);
	struct sb_addr dead;
	int fd = client(SOCK_STREAM, "127.0.0.1", &dead); /* bound, not listening */
	struct sb_tp_dest d = { .proto = SB_TP_TCP, .addr = dead };
	int err = sb_transport_send(f->tp, &d, REQ("1"), strlen(REQ("1")));
	if (err == 0) {
		wait_count(f, &f->nclosed, 1);
		assert_int_equal(f->closed_err[0], ECONNREFUSED);
	} else {
		assert_int_equal(err, ECONNREFUSED);
	}
	assert_int_equal(stats(f).conns_open, 0);
	close(fd);
	fx_free(f);
}

/* A peer that does not read: bytes queue up to max_sendq, then ENOBUFS;
 * once it reads, everything accepted arrives, in order. */
static void t_tcp_send_queue(void **state)
{
	(void)state;
	struct sb_transport_cfg cfg = { .max_sendq = 64 * 1024 };
	struct fx *f = fx_new(&cfg);
	struct sb_addr peer;
	int lfd = plain_listener("127.0.0.1", &peer, 4096);
	struct sb_tp_dest d = { .proto = SB_TP_TCP, .addr = peer };
	static char chunk[16 * 1024];
	int err;
	size_t sent = fill_sendq(f, &d, chunk, sizeof chunk, true, &err);
	assert_int_equal(err, ENOBUFS);
	assert_true(sent >= cfg.max_sendq);

	int pfd = accept_poll(f, lfd);
	static char got[4 * 1024 * 1024];
	assert_true(sent <= sizeof got);
	bool eof;
	assert_int_equal(read_poll(f, pfd, got, sizeof got, sent, &eof), sent);
	for (size_t i = 0; i < sent; i += sizeof chunk)
		assert_int_equal(got[i], 'a' + (int)((i / sizeof chunk) % 26));
	/* the queue drained: sending works again */
	assert_int_equal(sb_transport_send(f->tp, &d, REQ("1"), strlen(REQ("1"))), 0);
	close(pfd);
	close(lfd);
	fx_free(f);
}

/* ------------------------------------------------------ review fixes */

/* Slowloris: one byte of a header that never ends, every 50 ms.  Partial
 * reads do not restart the idle timer, so the connection closes once
 * idle_ms has passed since it opened (before: every byte restarted it and
 * the connection stayed open for as long as the trickle lasted). */
static void t_tcp_slowloris(void **state)
{
	(void)state;
	struct sb_transport_cfg cfg = { .idle_ms = 300 };
	int fd;
	struct fx *f = tcp_fx(&cfg, NULL, &fd);
	const char *hdr = "OPTIONS sip:bob@example.com SIP/2.0\r\nX-Slow: aaaaaaaaaaaaaaaaaaaa";
	uint64_t t0 = now_ms();
	for (size_t i = 0; hdr[i] && f->nclosed == 0 && now_ms() - t0 < 2000; i++) {
		(void)send(fd, hdr + i, 1, MSG_NOSIGNAL);
		poll_for(f, 50);
	}
	assert_int_equal(f->nclosed, 1);
	assert_int_equal(f->closed_err[0], ETIMEDOUT);
	assert_true(now_ms() - t0 < 1200);
	assert_int_equal(stats(f).conns_open, 0);
	assert_int_equal(f->nrx, 0);
	close(fd);
	fx_free(f);
}

/* The per-message deadline: a message must complete within msg_ms of its
 * first byte; a completed message clears it, and a message in progress
 * does not keep the connection open past it however busy the trickle. */
static void t_tcp_msg_deadline(void **state)
{
	(void)state;
	struct sb_transport_cfg cfg = { .idle_ms = 10000, .msg_ms = 300 };
	int fd;
	struct fx *f = tcp_fx(&cfg, NULL, &fd);
	const char *m = REQ("d");
	size_t half = strlen(m) / 2;

	/* three messages, each split with 120 ms between halves: 360 ms in
	 * all, past msg_ms, but each message alone is within it */
	for (size_t k = 0; k < 3; k++) {
		write_all(fd, m, half);
		poll_for(f, 120);
		write_all(fd, m + half, strlen(m) - half);
		wait_count(f, &f->nrx, k + 1);
	}
	assert_int_equal(f->nclosed, 0);

	/* a message whose bytes keep coming, never ending */
	uint64_t t0 = now_ms();
	write_all(fd, "OPTIONS sip:a@b SIP/2.0\r\n", 25);
	for (unsigned i = 0; i < 100 && f->nclosed == 0; i++) {
		(void)send(fd, "a", 1, MSG_NOSIGNAL);
		poll_for(f, 20);
	}
	uint64_t dt = now_ms() - t0;
	assert_int_equal(f->nclosed, 1);
	assert_int_equal(f->closed_err[0], ETIMEDOUT);
	assert_true(dt >= 300);
	assert_true(dt < 1500);
	assert_int_equal(stats(f).conns_slow_closed, 1);
	assert_int_equal(stats(f).conns_idle_closed, 0);
	close(fd);
	fx_free(f);
}

/* RFC 5626 §3.5.1: a CRLFCRLF ping split 3+1 or 2+2 gets exactly one CRLF
 * pong; a lone CRLF with nothing after it is taken as a pong once a short
 * wait shows no ping follows (no answer, and the connection stays). */
static void t_tcp_ping_split(void **state)
{
	(void)state;
	struct sb_transport_cfg cfg = { .msg_ms = 300 };
	int fd;
	struct fx *f = tcp_fx(&cfg, NULL, &fd);
	static const size_t first[] = { 3, 2, 1 };
	static const char ping[] = "\r\n\r\n";

	for (unsigned i = 0; i < 3; i++) {
		write_all(fd, ping, first[i]);
		poll_for(f, 20);
		write_all(fd, &ping[first[i]], 4 - first[i]);
		expect_pong(f, fd);
		/* exactly one */
		expect_quiet(f, fd, 30);
	}
	assert_int_equal(stats(f).rx_keepalives, 3);

	/* a pong alone: consumed after the wait, not answered, not closed */
	write_all(fd, "\r\n", 2);
	expect_quiet(f, fd, 600);
	assert_int_equal(stats(f).rx_keepalives, 4);
	assert_int_equal(f->nclosed, 0);
	assert_true(stats(f).buf_bytes <= 4096); /* the first read buffer */
	close(fd);
	fx_free(f);
}

/* A CR not followed by LF can start neither a keep-alive nor a message
 * (RFC 3261 §7.5): the stream is closed at once, not stalled. */
static void t_tcp_bare_cr(void **state)
{
	(void)state;
	int fd;
	struct fx *f = tcp_fx(NULL, NULL, &fd);
	const char *s = "\r" REQ("cr");
	write_str(fd, s);
	expect_closed(f, fd, EBADMSG);
	assert_int_equal(f->nrx, 0);
	close(fd);
	fx_free(f);
}

/* A slow reader's send queue is released once it drains, not kept for the
 * life of the connection. */
static void t_tcp_sendq_released(void **state)
{
	(void)state;
	struct sb_transport_cfg cfg = { .max_sendq = 64 * 1024 };
	struct fx *f = fx_new(&cfg);
	struct sb_addr peer;
	int lfd = plain_listener("127.0.0.1", &peer, 4096);
	struct sb_tp_dest d = { .proto = SB_TP_TCP, .addr = peer };
	static char chunk[16 * 1024];
	memset(chunk, 'q', sizeof chunk);
	int err;
	size_t sent = fill_sendq(f, &d, chunk, sizeof chunk, false, &err);
	assert_int_equal(err, ENOBUFS);
	assert_true(stats(f).buf_bytes >= 32 * 1024);

	int pfd = accept_poll(f, lfd);
	static char got[4 * 1024 * 1024];
	bool eof;
	assert_int_equal(read_poll(f, pfd, got, sizeof got, sent, &eof), sent);
	poll_for(f, 20);
	assert_int_equal(stats(f).conns_open, 1);
	assert_true(stats(f).buf_bytes <= 4096);
	close(pfd);
	close(lfd);
	fx_free(f);
}

static bool have_127_0_0_2(void)
{
	struct sb_addr a = addr("127.0.0.2", 0);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	bool ok = fd >= 0 && bind(fd, &a.u.sa, a.len) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

/* ------------------------------------------------------------ UDP batches */

/* An OPTIONS whose Call-ID is cid, padded with a body to exactly len bytes
 * (at least its headers' length) in buf; returns len. */
static size_t sized_req(char *buf, size_t cap, const char *cid, size_t len)
{
	static const char fmt[] = "OPTIONS sip:bob@example.com SIP/2.0\r\n"
				  "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK%s\r\n"
				  "To: <sip:bob@example.com>\r\nFrom: <sip:a@example.com>;tag=1\r\n"
				  "Call-ID: %s\r\nCSeq: 1 OPTIONS\r\nContent-Type: text/plain\r\n"
				  "Content-Length: %05zu\r\n\r\n";
	int h = snprintf(buf, cap, fmt, cid, cid, (size_t)0);
	assert_true(h > 0 && (size_t)h <= len && len <= cap);
	snprintf(buf, cap, fmt, cid, cid, len - (size_t)h);
	memset(buf + h, 'b', len - (size_t)h);
	return len;
}

/* More datagrams than one recvmmsg() batch and than one readiness event's
 * burst, queued before the loop runs, from two sources to two addresses of
 * a wildcard listener: all are handed up in the order sent, each with its
 * own source and local address (IP_PKTINFO per datagram), in exactly three
 * recvmmsg() calls (32 + 32, the burst bound; then 5, short: drained, no
 * call more). */
static void t_udp_batch_burst(void **state)
{
	(void)state;
	enum { N = 2 * SB_TP_UDP_BATCH + 5 };
	_Static_assert(N > SB_TP_RX_BURST && N <= REC_MAX, "a burst and a batch more");
	_Static_assert(SB_TP_RX_BURST == 2 * SB_TP_UDP_BATCH, "two batches per event");
	struct fx *f = fx_new(NULL);
	f->echo_times = 3;
	struct sb_addr any = listen_on(f, SB_TP_UDP, "0.0.0.0"), cl[2];
	struct sb_addr to[2] = { addr("127.0.0.1", sb_addr_port(&any)),
				 addr("127.0.0.2", sb_addr_port(&any)) };
	int fd[2] = { client(SOCK_DGRAM, "127.0.0.1", &cl[0]),
		      client(SOCK_DGRAM, "127.0.0.1", &cl[1]) };
	int big = 1 << 20; /* room for every echo */
	for (unsigned k = 0; k < 2; k++)
		assert_int_equal(setsockopt(fd[k], SOL_SOCKET, SO_RCVBUF, &big, sizeof big), 0);
	char buf[512], cid[16];
	for (unsigned i = 0; i < N; i++) {
		snprintf(cid, sizeof cid, "b%u", i);
		size_t len = sized_req(buf, sizeof buf, cid, 400);
		/* sources alternate 0 1 0 1, destinations 0 0 1 1 */
		assert_int_equal(sendto(fd[i % 2], buf, len, 0, &to[i / 2 % 2].u.sa,
					to[i / 2 % 2].len), (ssize_t)len);
	}
	sb_loop_poll(f->loop, WAIT_MS);
	assert_int_equal(f->nrx, SB_TP_RX_BURST); /* one event's bound, no more */
	wait_count(f, &f->nrx, N);
	poll_for(f, 5);
	assert_int_equal(f->nrx, N);
	for (unsigned i = 0; i < N; i++) {
		snprintf(cid, sizeof cid, "b%u", i);
		assert_string_equal(f->rx[i].call_id, cid);
		assert_int_equal(f->rx[i].len, 400);
		assert_int_equal(f->rx[i].proto, SB_TP_UDP);
		assert_true(sb_addr_eq(&f->rx[i].src, &cl[i % 2]));
		assert_true(sb_addr_eq(&f->rx[i].local, &to[i / 2 % 2]));
	}
	struct sb_tp_stats s = stats(f);
	assert_int_equal(s.rx_msgs, N);
	assert_int_equal(s.rx_bytes, N * 400);
	assert_int_equal(s.rx_udp_calls, 3);

	/* the echoes: each client gets its own, in order, three of each, from
	 * the address each request was sent to (IP_PKTINFO on the queued
	 * sends); 96 sends per full batch: one sendmmsg() when the queue of
	 * 64 fills, one at the end of the batch; 15 for the last batch */
	_Static_assert(3 * SB_TP_UDP_BATCH > SB_TP_UDP_TX_BATCH &&
		       3 * SB_TP_UDP_BATCH <= 2 * SB_TP_UDP_TX_BATCH, "two sendmmsg per batch");
	for (unsigned i = 0; i < N; i++) {
		assert_int_equal(f->echo_err[i], 0);
		for (unsigned k = 0; k < 3; k++) {
			struct sockaddr_storage ss;
			socklen_t sl;
			char got[512];
			ssize_t n = recv_until(fd[i % 2], got, sizeof got, now_ms() + WAIT_MS, &ss, &sl);
			assert_int_equal(n, 400);
			assert_memory_equal(got, f->rx[i].raw, 400);
			struct sb_addr from;
			assert_int_equal(sb_addr_from_sa(&from, (struct sockaddr *)&ss, sl), 0);
			assert_true(sb_addr_eq(&from, &to[i / 2 % 2]));
		}
	}
	assert_int_equal(s.tx_msgs, 3 * N);
	assert_int_equal(s.tx_udp_calls, 2 + 2 + 1);
	assert_int_equal(s.tx_errors, 0);
	assert_int_equal(s.tx_late_errors, 0);
	close(fd[0]);
	close(fd[1]);
	fx_free(f);
}

/* A datagram over udp_rx_max (truncated by the kernel) and one that is not
 * SIP, inside one batch, are dropped and counted; their neighbours arrive
 * whole and in order.  Exactly udp_rx_max bytes still passes. */
static void t_udp_batch_truncated(void **state)
{
	(void)state;
	enum { MAX = 1024 };
	struct sb_transport_cfg cfg = { .udp_rx_max = MAX };
	struct fx *f = fx_new(&cfg);
	struct sb_addr srv = listen_on(f, SB_TP_UDP, "127.0.0.1");
	int fd = client(SOCK_DGRAM, "127.0.0.1", NULL);
	static char buf[4096];
	const size_t sizes[] = { 300, MAX + 1, MAX, 3000, 500 };
	for (unsigned i = 0; i < SB_ARRAY_LEN(sizes); i++) {
		char cid[16];
		snprintf(cid, sizeof cid, "t%u", i);
		size_t len = sized_req(buf, sizeof buf, cid, sizes[i]);
		assert_int_equal(sendto(fd, buf, len, 0, &srv.u.sa, srv.len), (ssize_t)len);
		if (i == 2)
			assert_true(send_str_to(fd, "not SIP at all", &srv) > 0);
	}
	wait_count(f, &f->nrx, 3);
	poll_for(f, 5);
	assert_int_equal(f->nrx, 3);
	assert_string_equal(f->rx[0].call_id, "t0");
	assert_int_equal(f->rx[0].len, 300);
	assert_string_equal(f->rx[1].call_id, "t2");
	assert_int_equal(f->rx[1].len, MAX);
	assert_int_equal(f->rx[1].defect, SB_DEFECT_NONE);
	assert_string_equal(f->rx[2].call_id, "t4");
	assert_int_equal(f->rx[2].len, 500);
	struct sb_tp_stats s = stats(f);
	assert_int_equal(s.rx_too_large, 2);
	assert_int_equal(s.rx_bad, 1);
	assert_int_equal(s.rx_msgs, 3);
	assert_int_equal(s.rx_udp_calls, 1); /* all six in one batch */
	close(fd);
	fx_free(f);
}

/* A queued send the kernel refuses (a broadcast address without
 * SO_BROADCAST) does not stop the datagrams queued around it; it is counted
 * and told to send_err_h with the errno that a send at once returns, and
 * sb_transport_send() returned 0 for it.  With udp_tx_sync the error comes
 * back from sb_transport_send() and nothing is queued. */
static void udp_late_error(bool sync)
{
	struct sb_transport_cfg cfg = { .udp_tx_sync = sync };
	struct fx *f = fx_new(&cfg);
	f->echo_times = 1;
	f->bad_call_id = "e1";
	f->bad_to = addr("255.255.255.255", 5060);
	struct sb_addr srv = listen_on(f, SB_TP_UDP, "127.0.0.1");
	int fd = client(SOCK_DGRAM, "127.0.0.1", NULL);

	/* outside a batch: at once, the kernel's error */
	struct sb_tp_dest d = { .proto = SB_TP_UDP, .addr = f->bad_to };
	int want = sb_transport_send(f->tp, &d, RESP, strlen(RESP));
	assert_int_not_equal(want, 0);

	char buf[512];
	for (unsigned i = 0; i < 3; i++) {
		char cid[16];
		snprintf(cid, sizeof cid, "e%u", i);
		size_t len = sized_req(buf, sizeof buf, cid, 300);
		assert_int_equal(sendto(fd, buf, len, 0, &srv.u.sa, srv.len), (ssize_t)len);
	}
	wait_count(f, &f->nrx, 3);
	for (unsigned i = 0; i < 3; i += 2) { /* e0 and e2 came back, in order */
		char got[512];
		ssize_t n = recv_until(fd, got, sizeof got, now_ms() + WAIT_MS, NULL, NULL);
		assert_int_equal(n, 300);
		assert_memory_equal(got, f->rx[i].raw, 300);
	}
	assert_int_equal(f->echo_err[0], 0);
	assert_int_equal(f->echo_err[2], 0);
	struct sb_tp_stats s = stats(f);
	if (sync) {
		assert_int_equal(f->echo_err[1], want);
		assert_int_equal(f->nlate, 0);
		assert_int_equal(s.tx_errors, 2);
		assert_int_equal(s.tx_late_errors, 0);
		assert_int_equal(s.tx_udp_calls, 1 + 3);
	} else {
		assert_int_equal(f->echo_err[1], 0);
		assert_int_equal(f->nlate, 1);
		assert_int_equal(f->late_err[0], want);
		assert_true(sb_addr_eq(&f->late_to[0], &f->bad_to));
		assert_int_equal(s.tx_errors, 1);
		assert_int_equal(s.tx_late_errors, 1);
		assert_int_equal(s.tx_msgs, 3);
		/* the first, sendmmsg() stops at e1: e1 once more alone, the rest */
		assert_int_equal(s.tx_udp_calls, 1 + 3);
	}
	close(fd);
	fx_free(f);
}

static void t_udp_late_error(void **state)
{
	(void)state;
	udp_late_error(false);
}

static void t_udp_tx_sync(void **state)
{
	(void)state;
	udp_late_error(true);
}

/* A send the kernel refuses for its size (EMSGSIZE: too large for UDP at
 * all) is not queued inside a batch: the error comes back at once. */
static void t_udp_batch_emsgsize(void **state)
{
	(void)state;
	struct fx *f = fx_new(NULL);
	static char huge[65521]; /* 65520 bytes: over UDP's 65507, within the queue */
	memset(huge, 'x', sizeof huge - 1);
	memcpy(huge, "SIP/2.0 200 OK\r\n", 16); /* a response: no 1300-byte rule */
	f->auto_reply = huge;
	f->auto_reply_err = -1;
	struct sb_addr srv = listen_on(f, SB_TP_UDP, "127.0.0.1");
	int fd = client(SOCK_DGRAM, "127.0.0.1", NULL);
	assert_true(send_str_to(fd, REQ("z"), &srv) > 0);
	wait_count(f, &f->nrx, 1);
	assert_int_equal(f->auto_reply_err, EMSGSIZE);
	struct sb_tp_stats s = stats(f);
	assert_int_equal(s.tx_errors, 1);
	assert_int_equal(s.tx_late_errors, 0);
	close(fd);
	fx_free(f);
}

/* A datagram sent at once inside a batch (too large for the queue's rule:
 * 65520 bytes, legal over IPv6) does not overtake what was queued before it:
 * the queue is sent first.  The echo (queued) must arrive before the large
 * reply (sent at once). */
static void t_udp_batch_order_kept(void **state)
{
	(void)state;
	struct fx *f = fx_new(NULL);
	static char big[65521];
	memset(big, 'x', sizeof big - 1);
	memcpy(big, "SIP/2.0 200 OK\r\n", 16);
	f->echo_times = 1;
	f->auto_reply = big;
	f->auto_reply_err = -1;
	struct sb_addr srv = listen_on(f, SB_TP_UDP, "::1");
	int fd = client(SOCK_DGRAM, "::1", NULL);
	char req[512];
	size_t len = sized_req(req, sizeof req, "o1", 300);
	assert_int_equal(sendto(fd, req, len, 0, &srv.u.sa, srv.len), (ssize_t)len);
	wait_count(f, &f->nrx, 1);
	assert_int_equal(f->auto_reply_err, 0);
	static char got[70000];
	ssize_t n = recv_until(fd, got, sizeof got, now_ms() + WAIT_MS, NULL, NULL);
	assert_int_equal(n, 300); /* the echo first */
	assert_memory_equal(got, req, 300);
	n = recv_until(fd, got, sizeof got, now_ms() + WAIT_MS, NULL, NULL);
	assert_int_equal(n, (ssize_t)(sizeof big - 1));
	close(fd);
	fx_free(f);
}

/* /proc/sys/net/core/NAME, or 0. */
static uint32_t sysctl_core(const char *name)
{
	char path[64];
	unsigned long v = 0;
	snprintf(path, sizeof path, "/proc/sys/net/core/%s", name);
	FILE *fp = fopen(path, "r");
	if (fp) {
		if (fscanf(fp, "%lu", &v) != 1)
			v = 0;
		fclose(fp);
	}
	return (uint32_t)v;
}

/* What SO_RCVBUF / SO_SNDBUF report after asking for want: Linux doubles
 * the value set (for its bookkeeping); without CAP_NET_ADMIN the plain
 * option caps it at the sysctl first. */
static bool buf_obtained(uint32_t got, uint32_t want, uint32_t sys_max)
{
	uint32_t capped = sys_max && sys_max < want ? sys_max : want;
	return got == 2 * want || got == 2 * capped;
}

/* UDP sockets get big buffers (defaults, or the cfg's), and the sizes
 * obtained are reported per listener; TCP listeners and unknown addresses
 * have none. */
static void t_udp_bufs(void **state)
{
	(void)state;
	struct fx *f = fx_new(NULL);
	struct sb_addr u = listen_on(f, SB_TP_UDP, "127.0.0.1");
	struct sb_addr t = listen_on(f, SB_TP_TCP, "127.0.0.1");
	uint32_t rcv = 0, snd = 0;
	assert_int_equal(sb_transport_udp_bufs(f->tp, &u, &rcv, &snd), 0);
	assert_true(buf_obtained(rcv, SB_TP_DEF_UDP_RCVBUF, sysctl_core("rmem_max")));
	assert_true(buf_obtained(snd, SB_TP_DEF_UDP_SNDBUF, sysctl_core("wmem_max")));
	assert_true(rcv > 2 * 212992u || sysctl_core("rmem_max") <= 212992u);
	assert_int_equal(sb_transport_udp_bufs(f->tp, &t, &rcv, &snd), ENOENT);
	struct sb_addr other = u;
	sb_addr_set_port(&other, (uint16_t)(sb_addr_port(&u) + 1));
	assert_int_equal(sb_transport_udp_bufs(f->tp, &other, NULL, NULL), ENOENT);
	fx_free(f);

	/* the cfg's sizes, small enough that no cap applies */
	struct sb_transport_cfg cfg = { .udp_rcvbuf = 96 * 1024, .udp_sndbuf = 48 * 1024 };
	f = fx_new(&cfg);
	u = listen_on(f, SB_TP_UDP, "127.0.0.1");
	assert_int_equal(sb_transport_udp_bufs(f->tp, &u, &rcv, &snd), 0);
	assert_int_equal(rcv, 2 * 96 * 1024);
	assert_int_equal(snd, 2 * 48 * 1024);
	fx_free(f);
}

/* Send a request to `to` from a client socket and return where the answer
 * (auto_reply with dst.local = rx->local) came from. */
static struct sb_addr udp_answer_from(struct fx *f, const struct sb_addr *to)
{
	int fd = client(SOCK_DGRAM, "127.0.0.1", NULL);
	size_t n0 = f->nrx;
	assert_true(send_str_to(fd, REQ("s"), to) > 0);
	wait_count(f, &f->nrx, n0 + 1);
	assert_int_equal(f->auto_reply_err, 0);
	assert_true(sb_addr_eq(&f->rx[n0].local, to));
	char buf[2048];
	struct sockaddr_storage ss;
	socklen_t sl;
	ssize_t n = recv_until(fd, buf, sizeof buf, now_ms() + WAIT_MS, &ss, &sl);
	assert_int_equal(n, (ssize_t)strlen(RESP));
	struct sb_addr from;
	assert_int_equal(sb_addr_from_sa(&from, (struct sockaddr *)&ss, sl), 0);
	close(fd);
	return from;
}

/* RFC 3581 §4: a UDP response leaves from the address and port its request
 * was sent to: the listener bound to it, or a wildcard listener naming the
 * source with IP_PKTINFO. */
static void t_udp_symmetric_source(void **state)
{
	(void)state;
	if (!have_127_0_0_2())
		skip();
	struct fx *f = fx_new(NULL);
	f->auto_reply = RESP;
	struct sb_addr a1 = listen_on(f, SB_TP_UDP, "127.0.0.1");
	struct sb_addr a2 = addr("127.0.0.2", sb_addr_port(&a1)), b2;
	assert_int_equal(sb_transport_listen(f->tp, SB_TP_UDP, &a2, &b2), 0);
	struct sb_addr a3 = listen_on(f, SB_TP_UDP, "127.0.0.2"); /* another port */
	struct sb_addr from = udp_answer_from(f, &b2);
	assert_true(sb_addr_eq(&from, &b2));
	from = udp_answer_from(f, &a3);
	assert_true(sb_addr_eq(&from, &a3));
	from = udp_answer_from(f, &a1);
	assert_true(sb_addr_eq(&from, &a1));
	fx_free(f);

	/* a wildcard listener answers from the address the request reached */
	f = fx_new(NULL);
	f->auto_reply = RESP;
	struct sb_addr any = listen_on(f, SB_TP_UDP, "0.0.0.0");
	struct sb_addr to = addr("127.0.0.2", sb_addr_port(&any));
	from = udp_answer_from(f, &to);
	assert_true(sb_addr_eq(&from, &to));
	to = addr("127.0.0.1", sb_addr_port(&any));
	from = udp_answer_from(f, &to);
	assert_true(sb_addr_eq(&from, &to));
	fx_free(f);
}

static void t_bad_args(void **state)
{
	(void)state;
	struct sb_transport *tp = NULL;
	struct sb_transport_cfg cfg = { 0 };
	assert_int_equal(sb_transport_alloc(&tp, &cfg), EINVAL);
	struct fx *f = fx_new(NULL);
	struct sb_addr a = addr("127.0.0.1", 0);
	assert_int_equal(sb_transport_listen(f->tp, SB_TP_TLS, &a, NULL), EPROTONOSUPPORT);
	struct sb_tp_dest d = { .proto = SB_TP_TLS, .addr = a };
	assert_int_equal(sb_transport_send(f->tp, &d, "x", 1), EPROTONOSUPPORT);
	/* a busy port */
	struct sb_addr b = listen_on(f, SB_TP_UDP, "127.0.0.1");
	struct sb_transport *tp2;
	cfg.loop = f->loop;
	cfg.recv_h = recv_h;
	assert_int_equal(sb_transport_alloc(&tp2, &cfg), 0);
	assert_int_equal(sb_transport_listen(tp2, SB_TP_UDP, &b, NULL), EADDRINUSE);
	sb_transport_free(tp2);
	sb_transport_free(NULL);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_addr),
		cmocka_unit_test(t_addr_same_peer),
		cmocka_unit_test(t_udp4),
		cmocka_unit_test(t_udp6),
		cmocka_unit_test(t_udp_wildcard),
		cmocka_unit_test(t_udp_garbage),
		cmocka_unit_test(t_udp_large_request),
		cmocka_unit_test(t_tcp_one),
		cmocka_unit_test(t_tcp6),
		cmocka_unit_test(t_tcp_several_in_one_write),
		cmocka_unit_test(t_tcp_byte_by_byte),
		cmocka_unit_test(t_tcp_ping_pong),
		cmocka_unit_test(t_tcp_bad_content_length),
		cmocka_unit_test(t_tcp_no_content_length),
		cmocka_unit_test(t_tcp_idle_timeout),
		cmocka_unit_test(t_tcp_idle_reset_by_traffic),
		cmocka_unit_test(t_tcp_too_large),
		cmocka_unit_test(t_tcp_per_peer_limit),
		cmocka_unit_test(t_tcp_max_conns),
		cmocka_unit_test(t_tcp_accept_emfile),
		cmocka_unit_test(t_fd_limit),
		cmocka_unit_test(t_tcp_reply_on_conn),
		cmocka_unit_test(t_tcp_close_in_handler),
		cmocka_unit_test(t_tcp_send_new),
		cmocka_unit_test(t_tcp_response_fallback),
		cmocka_unit_test(t_tcp_connect_refused),
		cmocka_unit_test(t_tcp_send_queue),
		cmocka_unit_test(t_tcp_slowloris),
		cmocka_unit_test(t_tcp_msg_deadline),
		cmocka_unit_test(t_tcp_ping_split),
		cmocka_unit_test(t_tcp_bare_cr),
		cmocka_unit_test(t_tcp_sendq_released),
		cmocka_unit_test(t_udp_symmetric_source),
		cmocka_unit_test(t_udp_batch_burst),
		cmocka_unit_test(t_udp_batch_truncated),
		cmocka_unit_test(t_udp_bufs),
		cmocka_unit_test(t_udp_late_error),
		cmocka_unit_test(t_udp_tx_sync),
		cmocka_unit_test(t_udp_batch_emsgsize),
		cmocka_unit_test(t_udp_batch_order_kept),
		cmocka_unit_test(t_bad_args),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
