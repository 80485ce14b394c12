/* switchboard: the SIP server.  Reads its settings (config.h), listens on
 * UDP and TCP, and runs the stateful proxy (proxy.h) with the registrar and
 * the location service on one event loop until SIGTERM or SIGINT.
 *
 * Exit status: 0 after a clean shutdown, 2 for bad options or
 * configuration, 1 when it cannot start (a port in use, no memory). */
#include <errno.h>
#include <stdarg.h>
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/signalfd.h>

#include "switchboard/config.h"
#include "switchboard/location.h"
#include "switchboard/loop.h"
#include "switchboard/proxy.h"
#include "switchboard/registrar.h"
#include "switchboard/transport.h"

/* Everything the server holds: no globals. */
struct server {
	struct sb_config cfg;
	struct sb_loop *loop;
	struct sb_transport *tp;
	struct sb_location *loc;
	struct sb_registrar *reg;
	struct sb_proxy *proxy;
	int sigfd;
};

static void log_line(enum sb_log_level lvl, const char *line, void *arg)
{
	const struct server *s = arg;
	if (lvl < s->cfg.log_level)
		return;
	struct timespec ts;
	struct tm tm;
	char when[32];
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ldZ %-5s %s\n", when, ts.tv_nsec / 1000000L, sb_log_level_name(lvl),
		line);
}

static void logf_(struct server *s, enum sb_log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void logf_(struct server *s, enum sb_log_level lvl, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	log_line(lvl, line, s);
}

static void recv_h(const struct sb_tp_rx *rx, void *arg)
{
	struct server *s = arg;
	if (s->proxy)
		sb_proxy_recv(rx, s->proxy);
}

static int send_h(const struct sb_tp_dest *dst, const char *buf, size_t len, void *arg)
{
	struct server *s = arg;
	return sb_transport_send(s->tp, dst, buf, len);
}

/* RFC 3261 §17.1.4: a TCP connection failed or closed (a connect refused
 * included): the client transactions waiting on it fail now with a
 * transport error rather than at Timer B or F. */
static void close_h(uint32_t conn_id, const struct sb_addr *peer, int err, void *arg)
{
	struct server *s = arg;
	(void)err;
	if (s->proxy)
		sb_tsx_layer_conn_failed(sb_proxy_tsx_layer(s->proxy), conn_id, peer);
}

static int register_h(const struct sb_tp_rx *rx, struct sb_buf *out, void *arg)
{
	struct server *s = arg;
	return sb_registrar_handle(s->reg, rx->msg, rx, out);
}

static void signal_h(int fd, unsigned events, void *arg)
{
	struct server *s = arg;
	struct signalfd_siginfo si;
	(void)events;
	if (read(fd, &si, sizeof si) == (ssize_t)sizeof si) {
		logf_(s, SB_LOG_INFO, "signal %u: shutting down", si.ssi_signo);
		sb_loop_stop(s->loop);
	}
}

static bool is_wildcard(const struct sb_addr *a)
{
	if (sb_addr_family(a) == AF_INET)
		return a->u.in.sin_addr.s_addr == htonl(INADDR_ANY);
	return IN6_IS_ADDR_UNSPECIFIED(&a->u.in6.sin6_addr);
}

/* The address to advertise for a wildcard listener: the first address of
 * that family on an interface that is up and not loopback, else loopback.
 * Multi-homed hosts should listen on explicit addresses. */
static void advertise(struct sb_addr *a)
{
	int fam = sb_addr_family(a);
	uint16_t port = sb_addr_port(a);
	struct ifaddrs *ifa, *i;
	bool found = false;
	if (getifaddrs(&ifa) == 0) {
		for (i = ifa; i && !found; i = i->ifa_next) {
			if (!i->ifa_addr || i->ifa_addr->sa_family != fam || !(i->ifa_flags & IFF_UP) ||
			    (i->ifa_flags & IFF_LOOPBACK))
				continue;
			if (fam == AF_INET6 &&
			    IN6_IS_ADDR_LINKLOCAL(&((struct sockaddr_in6 *)(void *)i->ifa_addr)->sin6_addr))
				continue;
			found = sb_addr_from_sa(a, i->ifa_addr,
						fam == AF_INET ? sizeof(struct sockaddr_in)
							       : sizeof(struct sockaddr_in6)) == 0;
		}
		freeifaddrs(ifa);
	}
	if (!found)
		(void)sb_addr_parse(a, fam == AF_INET ? "127.0.0.1" : "::1", port);
	sb_addr_set_port(a, port);
}

static int setup(struct server *s)
{
	int err;
	char a[SB_ADDR_STR_MAX];
	if ((err = sb_loop_alloc(&s->loop, NULL)))
		return err;
	struct sb_transport_cfg tc = { .loop = s->loop, .recv_h = recv_h, .close_h = close_h,
				       .arg = s };
	if ((err = sb_transport_alloc(&s->tp, &tc)))
		return err;
	struct sb_location_cfg lc = { .loop = s->loop, .hash_seed = (uint64_t)getpid() * 2654435761u };
	if ((err = sb_location_alloc(&s->loc, &lc)))
		return err;

	const char *doms[SB_CFG_MAX_DOMAINS + 1];
	for (unsigned k = 0; k < s->cfg.ndomains; k++)
		doms[k] = s->cfg.domains[k];
	doms[s->cfg.ndomains] = NULL;
	struct sb_registrar_cfg rc = { .location = s->loc, .loop = s->loop, .domains = doms,
				       .tag_seed = (uint32_t)getpid() };
	if ((err = sb_registrar_alloc(&s->reg, &rc)))
		return err;

	struct sb_proxy_cfg pc = {
		.loop = s->loop,
		.location = s->loc,
		.send_h = send_h,
		.send_arg = s,
		.fork = s->cfg.fork,
		.recurse_on_3xx = s->cfg.recurse_on_3xx,
		.t1_ms = s->cfg.t1_ms,
		.register_h = register_h,
		.register_arg = s,
		.log_h = log_line,
		.log_arg = s,
		.log_level = s->cfg.log_level,
		.seed = (uint32_t)time(NULL) ^ (uint32_t)getpid(),
	};
	for (unsigned k = 0; k < s->cfg.nlisten; k++) {
		struct sb_config_listen *l = &s->cfg.listen[k];
		struct sb_addr bound;
		const char *pn = l->proto == SB_TP_UDP ? "udp" : "tcp";
		if ((err = sb_transport_listen(s->tp, l->proto, &l->addr, &bound))) {
			/* a host without IPv6 still runs on the defaults */
			if (s->cfg.listen_defaulted && sb_addr_family(&l->addr) == AF_INET6 &&
			    (err == EAFNOSUPPORT || err == EADDRNOTAVAIL)) {
				logf_(s, SB_LOG_WARN, "no IPv6: not listening on %s:%s", pn,
				      sb_addr_to_str(&l->addr, a, sizeof a));
				continue;
			}
			logf_(s, SB_LOG_ERROR, "cannot listen on %s:%s: %s", pn,
			      sb_addr_to_str(&l->addr, a, sizeof a), strerror(err));
			return err;
		}
		char b[SB_ADDR_STR_MAX];
		sb_addr_to_str(&bound, b, sizeof b);
		if (is_wildcard(&bound)) {
			advertise(&bound);
			logf_(s, SB_LOG_INFO, "listening on %s %s, advertised as %s", pn, b,
			      sb_addr_to_str(&bound, a, sizeof a));
		} else {
			logf_(s, SB_LOG_INFO, "listening on %s %s", pn, b);
		}
		pc.listen[pc.nlisten].proto = l->proto;
		pc.listen[pc.nlisten].addr = bound;
		pc.nlisten++;
	}
	for (unsigned k = 0; k < s->cfg.ndomains; k++)
		pc.domains[pc.ndomains++] = s->cfg.domains[k];
	if ((err = sb_proxy_alloc(&s->proxy, &pc)))
		return err;

	/* SIGTERM and SIGINT come through the loop, not an async handler */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
		return errno;
	if ((s->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
		return errno;
	if ((err = sb_loop_fd_add(s->loop, s->sigfd, SB_FD_READ, signal_h, s)))
		return err;
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

static void teardown(struct server *s)
{
	if (s->sigfd >= 0) {
		(void)sb_loop_fd_del(s->loop, s->sigfd);
		close(s->sigfd);
	}
	sb_proxy_free(s->proxy);
	sb_registrar_free(s->reg);
	sb_location_free(s->loc);
	sb_transport_free(s->tp);
	sb_loop_free(s->loop);
}

int main(int argc, char **argv)
{
	struct server *s = calloc(1, sizeof *s);
	char err[SB_CFG_ERR_MAX];
	if (!s)
		return 1;
	s->sigfd = -1;
	if (sb_config_load(&s->cfg, argc, argv, err, sizeof err) != 0) {
		fprintf(stderr, "switchboard: %s\n%s", err, sb_config_usage());
		free(s);
		return 2;
	}
	if (s->cfg.help) {
		fputs(sb_config_usage(), stdout);
		free(s);
		return 0;
	}
	sb_config_finish(&s->cfg);
	int rc = 0;
	int e = setup(s);
	if (e) {
		logf_(s, SB_LOG_ERROR, "cannot start: %s", strerror(e));
		rc = 1;
	} else {
		char doms[1024] = "";
		for (unsigned k = 0; k < s->cfg.ndomains; k++)
			snprintf(doms + strlen(doms), sizeof doms - strlen(doms), "%s%s", k ? " " : "",
				 s->cfg.domains[k]);
		logf_(s, SB_LOG_INFO, "switchboard running; domains: %s", doms);
		e = sb_loop_run(s->loop);
		if (e) {
			logf_(s, SB_LOG_ERROR, "loop: %s", strerror(e));
			rc = 1;
		}
		logf_(s, SB_LOG_INFO, "stopped");
	}
	teardown(s);
	free(s);
	return rc;
}
