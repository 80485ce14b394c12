/* floor_relay: the least a UDP SIP relay can do per message, so that
 * bench/bench.sh can measure in the same run what the kernel alone costs
 * per call (issue 6 asks for at most 0.2x Kamailio's CPU per call).
 *
 * No SIP at all: one UDP socket, and every datagram forwarded unchanged
 * (no Via, no Record-Route, no 100 Trying).  A datagram from the callee's
 * address goes to the caller, which is the last source that was not the
 * callee; any other datagram goes to the callee.  The callee is given on the
 * command line, so there is no REGISTER: SIPp's caller, which sends every
 * request to the relay, and SIPp's callee, which answers to the source of
 * the request, both talk only to the relay.
 *
 * Per readiness event it does what switchboard's UDP receive path does
 * (src/transport/transport.c, udp_read_h): a level-triggered epoll_wait,
 * then recvmsg one datagram at a time until EAGAIN or SB_TP_RX_BURST (64)
 * datagrams, with no recvmmsg/sendmmsg batching, and one sendto (a
 * sendmsg without ancillary data, like the proxy's on a socket bound to
 * one address) for each datagram received.  A call of bench/call_uac.xml
 * and tests/flows/scenarios/uas.xml (INVITE, 180, 200, ACK, BYE, 200) is
 * thus 6 datagrams received and 6 sent, where a proxy receives the same 6
 * and sends 7 (its own 100 Trying besides).
 *
 *   floor_relay --listen 127.0.0.1:PORT --callee 127.0.0.1:PORT
 *
 * SIGTERM or SIGINT (through a signalfd in the same epoll set, so nothing
 * costs more per datagram) end it with status 0 and its counters on stderr;
 * bad arguments exit 2, a socket that cannot be set up 1. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define FLOOR_RX_BURST     64u    /* recvmsg per wakeup, as SB_TP_RX_BURST */
#define FLOOR_MAX_DATAGRAM 65535u /* the largest UDP payload, and more */
#define FLOOR_MAX_EVENTS   2      /* the socket and the signalfd */

struct floor_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

struct floor_stats {
	unsigned long long rx, tx, no_caller, too_large, send_errors;
};

struct floor_relay {
	int fd;
	struct floor_addr callee, caller;
	bool have_caller;
	struct floor_stats st;
	char buf[FLOOR_MAX_DATAGRAM + 1];
};

static void usage(FILE *f)
{
	fputs("usage: floor_relay --listen HOST:PORT --callee HOST:PORT\n"
	      "  forwards every UDP datagram unchanged: from the callee to the last\n"
	      "  other source (the caller), from anyone else to the callee.\n"
	      "  HOST is an IPv4 address or [IPv6]; SIGTERM ends it (status 0).\n",
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

/* Send one datagram on; a full socket buffer or an ICMP error is a loss,
 * as UDP allows and as the proxy counts it. */
static void forward(struct floor_relay *r, size_t n, const struct floor_addr *to)
{
	for (;;) {
		if (sendto(r->fd, r->buf, n, MSG_DONTWAIT | MSG_NOSIGNAL,
			   (const struct sockaddr *)&to->ss, to->len) >= 0) {
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

/* One readiness event: up to FLOOR_RX_BURST datagrams, each forwarded as
 * soon as it is read (the proxy, too, answers or relays each message
 * before it reads the next). */
static void relay_burst(struct floor_relay *r)
{
	for (unsigned i = 0; i < FLOOR_RX_BURST; i++) {
		struct sockaddr_storage src;
		struct iovec iov = { r->buf, sizeof r->buf };
		struct msghdr mh = {
			.msg_name = &src,
			.msg_namelen = sizeof src,
			.msg_iov = &iov,
			.msg_iovlen = 1,
		};
		ssize_t n = recvmsg(r->fd, &mh, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return; /* EAGAIN, or an ICMP error reported on the socket */
		}
		r->st.rx++;
		if (mh.msg_flags & MSG_TRUNC) {
			r->st.too_large++;
			continue;
		}
		const struct floor_addr *to = route(r, &src, mh.msg_namelen);
		if (!to) {
			r->st.no_caller++;
			continue;
		}
		forward(r, (size_t)n, to);
	}
}

static int open_socket(const struct floor_addr *listen_on)
{
	int fd = socket(listen_on->ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
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
			relay_burst(r);
		}
	}
}

/* Arguments into listen_on and r->callee; false on a usage error. */
static bool parse_args(int argc, char **argv, struct floor_addr *listen_on,
		       struct floor_relay *r)
{
	bool have_listen = false, have_callee = false;
	for (int i = 1; i < argc; i += 2) {
		const char *opt = argv[i];
		struct floor_addr *a;
		if (strcmp(opt, "--listen") == 0) {
			a = listen_on;
			have_listen = true;
		} else if (strcmp(opt, "--callee") == 0) {
			a = &r->callee;
			have_callee = true;
		} else {
			fprintf(stderr, "floor_relay: unknown argument %s\n", opt);
			return false;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "floor_relay: %s needs HOST:PORT\n", opt);
			return false;
		}
		if (parse_addr(argv[i + 1], a) != 0) {
			fprintf(stderr, "floor_relay: %s %s: not a numeric HOST:PORT\n", opt,
				argv[i + 1]);
			return false;
		}
	}
	if (!have_listen || !have_callee) {
		fprintf(stderr, "floor_relay: --listen and --callee are both required\n");
		return false;
	}
	return true;
}

int main(int argc, char **argv)
{
	static struct floor_relay relay; /* 64 KiB buffer: not on the stack */
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
		"floor_relay: %llu datagrams received, %llu sent; dropped: %llu from the "
		"callee before any caller, %llu too large, %llu sends failed\n",
		r->st.rx, r->st.tx, r->st.no_caller, r->st.too_large, r->st.send_errors);
	close(ep);
	close(sfd);
	close(r->fd);
	return rc;
}
