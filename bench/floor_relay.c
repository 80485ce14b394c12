/* floor_relay: the least a UDP SIP relay can do per message, so that
 * bench/bench.sh can measure in the same run what the kernel alone costs
 * per call (issue 6 asks for at most 0.2x Kamailio's CPU per call).
 *
 * No SIP routing: one UDP socket, and every datagram forwarded unchanged
 * (no Via, no Record-Route).  A datagram from the callee's address goes to
 * the caller, which is the last source that was not the callee; any other
 * datagram goes to the callee.  The callee is given on the command line, so
 * there is no REGISTER: SIPp's caller, which sends every request to the
 * relay, and SIPp's callee, which answers to the source of the request,
 * both talk only to the relay.
 *
 * Receiving (--rx):
 *   mmsg (default)  recvmmsg, FLOOR_RX_BATCH (32) datagrams per call and at
 *                   most FLOOR_RX_BURST (64) per readiness event; a short
 *                   batch means the socket is drained, so no call returns
 *                   EAGAIN.  This is switchboard's UDP path from the
 *                   transport branch on (SB_TP_UDP_BATCH, SB_TP_RX_BURST),
 *                   and the fewest calls per datagram at low rates.
 *   msg             recvmsg one datagram at a time until EAGAIN, at most
 *                   64 per event: switchboard's UDP path before that.
 * Either way the loop is a level-triggered epoll_wait, and each datagram
 * leaves with its own sendto (a sendmsg without ancillary data, as the
 * proxy's on a socket bound to one address), in arrival order, once the
 * batch it came in is read: no sendmmsg, as the proxy sends each message
 * as it handles it.  The socket buffers are asked for as the proxy's are
 * (4 MiB receive, 1 MiB send), so the floor drops no more than it.
 *
 * --trying: answer each INVITE at once with a 100 Trying to its source,
 * printed from its Via, From, To, Call-ID and CSeq lines (RFC 3261
 * §8.2.6.1; a stateful proxy sends it, §16.2 and §17.2.1).  Then a call of
 * bench/call_uac.xml and tests/flows/scenarios/uas.xml (INVITE, 180, 200,
 * ACK, BYE, 200) is 6 datagrams in and 7 out, as through a proxy, and the
 * caller stops retransmitting its INVITE (Timer A) when the callee is slow.
 * Without it, 6 in and 6 out: the strict floor.
 *
 *   floor_relay --listen 127.0.0.1:PORT --callee 127.0.0.1:PORT
 *               [--rx mmsg|msg] [--trying]
 *
 * SIGTERM or SIGINT (through a signalfd in the same epoll set, so nothing
 * costs more per datagram) end it with status 0 and its counters on stderr;
 * bad arguments exit 2, a socket that cannot be set up 1. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define FLOOR_RX_BURST     64u         /* datagrams per wakeup, SB_TP_RX_BURST */
#define FLOOR_RX_BATCH     32u         /* per recvmmsg, SB_TP_UDP_BATCH */
#define FLOOR_MAX_DATAGRAM 65535u      /* the largest UDP payload, and more */
#define FLOOR_RCVBUF       (4u << 20)  /* as switchboard's UDP sockets */
#define FLOOR_SNDBUF       (1u << 20)
#define FLOOR_MAX_EVENTS   2           /* the socket and the signalfd */

struct floor_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

struct floor_stats {
	unsigned long long rx, tx, rx_calls, trying, no_caller, too_large, send_errors;
};

/* The receive slots: FLOOR_RX_BATCH buffers, addresses and headers, set up
 * once; msg mode uses slot 0 only. */
struct floor_rx {
	struct mmsghdr mm[FLOOR_RX_BATCH];
	struct iovec iov[FLOOR_RX_BATCH];
	struct sockaddr_storage src[FLOOR_RX_BATCH];
	char buf[FLOOR_RX_BATCH][FLOOR_MAX_DATAGRAM + 1];
};

struct floor_relay {
	int fd;
	bool use_mmsg, trying;
	struct floor_addr callee, caller;
	bool have_caller;
	struct floor_stats st;
	struct floor_rx rx;
	char out[FLOOR_MAX_DATAGRAM + 1]; /* the 100 Trying being printed */
};

static void usage(FILE *f)
{
	fputs("usage: floor_relay --listen HOST:PORT --callee HOST:PORT [--rx mmsg|msg] [--trying]\n"
	      "  forwards every UDP datagram unchanged: from the callee to the last\n"
	      "  other source (the caller), from anyone else to the callee.\n"
	      "  HOST is an IPv4 address or [IPv6].  --rx: recvmmsg (default) or one\n"
	      "  recvmsg per datagram; --trying: answer each INVITE with a 100 Trying.\n"
	      "  SIGTERM ends it (status 0).\n",
	      f);
}

/* "1.2.3.4:5060" or "[::1]:5060", numeric only (no DNS in a benchmark). */
static int parse_addr(const char *s, struct floor_addr *a)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *colon = strrchr(s, ':');
	const char *h = s;
	size_t hl;
	if (!colon || colon == s)
		return -1;
	hl = (size_t)(colon - s);
	if (s[0] == '[') {
		if (hl < 3 || s[hl - 1] != ']')
			return -1;
		h = s + 1;
		hl -= 2;
	}
	if (hl >= sizeof host)
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';

	char *end;
	errno = 0;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || port == 0 || port > 65535)
		return -1;

	memset(a, 0, sizeof *a);
	struct sockaddr_in *in4 = (struct sockaddr_in *)&a->ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a->ss;
	if (s[0] != '[' && inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		a->len = sizeof *in4;
		return 0;
	}
	if (s[0] == '[' && inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		a->len = sizeof *in6;
		return 0;
	}
	return -1;
}

/* Same family, address and port (an IPv6 scope or flow label is ignored). */
static bool same_addr(const struct sockaddr_storage *x, const struct floor_addr *y)
{
	if (x->ss_family != y->ss.ss_family)
		return false;
	if (x->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)x, *b = (const void *)&y->ss;
		return a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *a = (const void *)x, *b = (const void *)&y->ss;
	return a->sin6_port == b->sin6_port &&
	       memcmp(&a->sin6_addr, &b->sin6_addr, sizeof a->sin6_addr) == 0;
}

/* ---------------------------------------------------------- 100 Trying */

/* The header lines a 100 Trying copies, long and compact forms
 * (RFC 3261 §8.2.6.1: From, Call-ID, CSeq, Via and To, §7.3.3). */
static int trying_header(const char *name, size_t len)
{
	static const char *const names[] = { "Via", "v", "From", "f", "To", "t",
					     "Call-ID", "i", "CSeq" };
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strlen(names[i]) == len && strncasecmp(name, names[i], len) == 0)
			return (int)(i / 2); /* 0 Via, 1 From, 2 To, 3 Call-ID, 4 CSeq */
	return -1;
}

/* Append p[0..n) to out at *at, bounded by cap; false when it does not fit. */
static bool put(char *out, size_t cap, size_t *at, const char *p, size_t n)
{
	if (n > cap - *at)
		return false;
	memcpy(out + *at, p, n);
	*at += n;
	return true;
}

/* Print into out the 100 Trying for the INVITE req[0..n): its status line,
 * its Via, From, To, Call-ID and CSeq lines as they are (a folded line with
 * its continuations), Content-Length 0.  Returns its length, or 0 when req
 * is no INVITE or lacks one of those headers. */
static size_t trying_print(const char *req, size_t n, char *out, size_t cap)
{
	static const char status[] = "SIP/2.0 100 Trying\r\n";
	static const char tail[] = "Content-Length: 0\r\n\r\n";
	const char *p = req, *end = req + n;
	size_t at = 0;
	unsigned seen = 0;
	bool copying = false;

	/* RFC 3261 §7.1: the method is case-sensitive */
	if (n < 7 || memcmp(req, "INVITE ", 7) != 0)
		return 0;
	p = memchr(p, '\n', n);
	if (!p || !put(out, cap, &at, status, sizeof status - 1))
		return 0;
	for (p++; p < end;) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *line_end = eol ? eol : end;
		size_t len = (size_t)(line_end - p);
		if (len > 0 && p[len - 1] == '\r')
			len--;
		if (len == 0)
			break; /* the blank line: the body follows */
		if (p[0] == ' ' || p[0] == '\t') {
			/* a continuation (RFC 3261 §7.3.1) goes with its header */
		} else {
			const char *colon = memchr(p, ':', len);
			size_t nl = colon ? (size_t)(colon - p) : 0;
			while (nl > 0 && (p[nl - 1] == ' ' || p[nl - 1] == '\t'))
				nl--;
			int h = colon ? trying_header(p, nl) : -1;
			copying = h >= 0;
			if (copying)
				seen |= 1u << h;
		}
		if (copying && !(put(out, cap, &at, p, len) && put(out, cap, &at, "\r\n", 2)))
			return 0;
		p = eol ? eol + 1 : end;
	}
	if (seen != 0x1f || !put(out, cap, &at, tail, sizeof tail - 1))
		return 0;
	return at;
}

/* ------------------------------------------------------------- relaying */

/* Send one datagram; a full socket buffer or an ICMP error is a loss, as
 * UDP allows and as the proxy counts it. */
static void send_to(struct floor_relay *r, const char *p, size_t n, const struct sockaddr *to,
		    socklen_t to_len)
{
	for (;;) {
		if (sendto(r->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL, to, to_len) >= 0) {
			r->st.tx++;
			return;
		}
		if (errno != EINTR) {
			r->st.send_errors++;
			return;
		}
	}
}

/* Where one datagram from src goes, or NULL when nowhere (the callee
 * speaking before any caller). */
static const struct floor_addr *route(struct floor_relay *r,
				      const struct sockaddr_storage *src, socklen_t len)
{
	if (same_addr(src, &r->callee))
		return r->have_caller ? &r->caller : NULL;
	if (len > sizeof r->caller.ss)
		return NULL;
	memcpy(&r->caller.ss, src, len);
	r->caller.len = len;
	r->have_caller = true;
	return &r->callee;
}

/* Slot i, just received: the 100 Trying first if asked for (as the
 * proxy's server transaction sends it before the request goes on), then
 * the datagram on. */
static void relay_slot(struct floor_relay *r, unsigned i)
{
	struct msghdr *mh = &r->rx.mm[i].msg_hdr;
	size_t n = r->rx.mm[i].msg_len;
	const struct sockaddr_storage *src = &r->rx.src[i];

	r->st.rx++;
	if (mh->msg_flags & MSG_TRUNC) {
		r->st.too_large++;
		return;
	}
	const struct floor_addr *to = route(r, src, mh->msg_namelen);
	if (!to) {
		r->st.no_caller++;
		return;
	}
	if (r->trying && to == &r->callee) {
		size_t tn = trying_print(r->rx.buf[i], n, r->out, sizeof r->out);
		if (tn > 0) {
			send_to(r, r->out, tn, (const struct sockaddr *)src, mh->msg_namelen);
			r->st.trying++;
		}
	}
	send_to(r, r->rx.buf[i], n, (const struct sockaddr *)&to->ss, to->len);
}

/* Reset the first want slots for the kernel to fill. */
static void rx_reset(struct floor_rx *rx, unsigned want)
{
	for (unsigned i = 0; i < want; i++) {
		struct msghdr *mh = &rx->mm[i].msg_hdr;
		mh->msg_namelen = sizeof rx->src[i];
		mh->msg_flags = 0;
	}
}

/* --rx mmsg: up to FLOOR_RX_BURST datagrams, FLOOR_RX_BATCH per recvmmsg;
 * a short batch means the socket is drained. */
static void relay_burst_mmsg(struct floor_relay *r)
{
	for (unsigned done = 0; done < FLOOR_RX_BURST;) {
		unsigned want = FLOOR_RX_BURST - done;
		if (want > FLOOR_RX_BATCH)
			want = FLOOR_RX_BATCH;
		rx_reset(&r->rx, want);
		int n = recvmmsg(r->fd, r->rx.mm, want, MSG_DONTWAIT, NULL);
		r->st.rx_calls++;
		if (n < 0) {
			if (errno == EINTR) {
				done++; /* bounded: counts against the burst */
				continue;
			}
			return; /* EAGAIN, or an ICMP error reported on the socket */
		}
		for (unsigned i = 0; i < (unsigned)n; i++)
			relay_slot(r, i);
		if ((unsigned)n < want)
			return;
		done += want;
	}
}

/* --rx msg: one recvmsg per datagram until EAGAIN, at most FLOOR_RX_BURST. */
static void relay_burst_msg(struct floor_relay *r)
{
	for (unsigned i = 0; i < FLOOR_RX_BURST; i++) {
		rx_reset(&r->rx, 1);
		ssize_t n = recvmsg(r->fd, &r->rx.mm[0].msg_hdr, MSG_DONTWAIT);
		r->st.rx_calls++;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return; /* EAGAIN, or an ICMP error reported on the socket */
		}
		r->rx.mm[0].msg_len = (unsigned)n;
		relay_slot(r, 0);
	}
}

static void rx_init(struct floor_rx *rx)
{
	for (unsigned i = 0; i < FLOOR_RX_BATCH; i++) {
		rx->iov[i] = (struct iovec){ rx->buf[i], sizeof rx->buf[i] };
		rx->mm[i].msg_hdr = (struct msghdr){
			.msg_name = &rx->src[i],
			.msg_namelen = sizeof rx->src[i],
			.msg_iov = &rx->iov[i],
			.msg_iovlen = 1,
		};
	}
}

/* ----------------------------------------------------------- the setup */

/* As switchboard asks: the FORCE option (past rmem_max / wmem_max, with
 * CAP_NET_ADMIN), else the plain one, capped by the kernel. */
static void sock_buf(int fd, int force_opt, int opt, unsigned size)
{
	int v = size > INT_MAX / 2 ? INT_MAX / 2 : (int)size;
	if (setsockopt(fd, SOL_SOCKET, force_opt, &v, sizeof v) != 0)
		(void)setsockopt(fd, SOL_SOCKET, opt, &v, sizeof v); /* else the default */
}

static int open_socket(const struct floor_addr *listen_on)
{
	int fd = socket(listen_on->ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	sock_buf(fd, SO_RCVBUFFORCE, SO_RCVBUF, FLOOR_RCVBUF);
	sock_buf(fd, SO_SNDBUFFORCE, SO_SNDBUF, FLOOR_SNDBUF);
	if (bind(fd, (const struct sockaddr *)&listen_on->ss, listen_on->len) != 0) {
		int err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

/* SIGTERM and SIGINT blocked and read from a signalfd: the loop sees them
 * as one more readable descriptor, with no race and no per-datagram cost. */
static int open_signalfd(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
		return -1;
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

static int epoll_add(int ep, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

/* The loop, until a signal; 0, or 1 when epoll fails. */
static int run(struct floor_relay *r, int ep, int sfd)
{
	struct epoll_event evs[FLOOR_MAX_EVENTS];
	for (;;) {
		int n = epoll_wait(ep, evs, FLOOR_MAX_EVENTS, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("floor_relay: epoll_wait");
			return 1;
		}
		for (int i = 0; i < n; i++) {
			if (evs[i].data.fd == sfd)
				return 0;
			if (r->use_mmsg)
				relay_burst_mmsg(r);
			else
				relay_burst_msg(r);
		}
	}
}

/* Arguments into listen_on and r; false on a usage error. */
static bool parse_args(int argc, char **argv, struct floor_addr *listen_on,
		       struct floor_relay *r)
{
	bool have_listen = false, have_callee = false;
	r->use_mmsg = true;
	for (int i = 1; i < argc; i++) {
		const char *opt = argv[i];
		if (strcmp(opt, "--trying") == 0) {
			r->trying = true;
			continue;
		}
		if (strcmp(opt, "--listen") != 0 && strcmp(opt, "--callee") != 0 &&
		    strcmp(opt, "--rx") != 0) {
			fprintf(stderr, "floor_relay: unknown argument %s\n", opt);
			return false;
		}
		if (++i >= argc) {
			fprintf(stderr, "floor_relay: %s needs a value\n", opt);
			return false;
		}
		const char *v = argv[i];
		if (strcmp(opt, "--rx") == 0) {
			if (strcmp(v, "mmsg") != 0 && strcmp(v, "msg") != 0) {
				fprintf(stderr, "floor_relay: --rx takes mmsg or msg, not %s\n", v);
				return false;
			}
			r->use_mmsg = strcmp(v, "mmsg") == 0;
			continue;
		}
		bool is_listen = strcmp(opt, "--listen") == 0;
		if (parse_addr(v, is_listen ? listen_on : &r->callee) != 0) {
			fprintf(stderr, "floor_relay: %s %s: not a numeric HOST:PORT\n", opt, v);
			return false;
		}
		if (is_listen)
			have_listen = true;
		else
			have_callee = true;
	}
	if (!have_listen || !have_callee) {
		fprintf(stderr, "floor_relay: --listen and --callee are both required\n");
		return false;
	}
	return true;
}

int main(int argc, char **argv)
{
	static struct floor_relay relay; /* 2 MiB of buffers: not on the stack */
	struct floor_relay *r = &relay;
	struct floor_addr listen_on;

	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	if (!parse_args(argc, argv, &listen_on, r)) {
		usage(stderr);
		return 2;
	}
	rx_init(&r->rx);
	r->fd = open_socket(&listen_on);
	if (r->fd < 0) {
		perror("floor_relay: UDP socket on --listen");
		return 1;
	}
	int sfd = open_signalfd();
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (sfd < 0 || ep < 0 || epoll_add(ep, r->fd) != 0 || epoll_add(ep, sfd) != 0) {
		perror("floor_relay: epoll or signalfd");
		return 1;
	}
	int rc = run(r, ep, sfd);
	fprintf(stderr,
		"floor_relay: %llu datagrams received in %llu %s calls, %llu sent (%llu 100 Trying); "
		"dropped: %llu from the callee before any caller, %llu too large, %llu sends failed\n",
		r->st.rx, r->st.rx_calls, r->use_mmsg ? "recvmmsg" : "recvmsg", r->st.tx,
		r->st.trying, r->st.no_caller, r->st.too_large, r->st.send_errors);
	close(ep);
	close(sfd);
	close(r->fd);
	return rc;
}
