/* switchboard: the SIP server.  Reads its settings (config.h), opens its
 * store (store.h) and loads users, forwarding rules and unexpired
 * registrations from it, creates the configured users that do not exist
 * yet, listens on UDP and TCP, and runs the stateful proxy (proxy.h) with
 * the registrar, digest authentication (authn.h) and the admin API (api.h)
 * on one event loop until SIGTERM or SIGINT.
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

#include "switchboard/api.h"
#include "switchboard/auth.h"
#include "switchboard/authn.h"
#include "switchboard/config.h"
#include "switchboard/location.h"
#include "switchboard/loop.h"
#include "switchboard/proxy.h"
#include "switchboard/registrar.h"
#include "switchboard/store.h"
#include "switchboard/transport.h"
#include "switchboard/users.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "secrets.h"

/* Everything the server holds: no globals. */
struct server {
	struct sb_config cfg;
	struct sb_loop *loop;
	struct sb_transport *tp;
	struct sb_location *loc;
	struct sb_store *store;
	struct sb_users *users;
	struct sb_digest *digest;
	struct sb_authn *authn;
	struct sb_registrar *reg;
	struct sb_proxy *proxy;
	struct sb_api *api;
	int sigfd;
	uint64_t skipped_users;    /* of another realm, at load */
	/* the key of the dialog tokens in our Record-Route (proxy.h),
	 * derived from the secret, so that dialogs survive a restart */
	uint8_t dialog_key[32];
	/* late UDP send errors (transport.h send_err_h): at most
	 * SEND_ERR_LOG_PER_SEC lines in each second */
	time_t send_err_sec;
	unsigned send_err_logged;
	uint64_t send_err_suppressed;
};

#define SEND_ERR_LOG_PER_SEC 10u

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

/* A UDP datagram queued during a receive batch that the kernel refused
 * when the batch was sent (transport.h): the transaction that sent it saw
 * success and learns of a lasting problem at its next retransmission, so
 * the operator hears it here, a few lines a second at most. */
static void send_err_h(const struct sb_addr *to, int err, void *arg)
{
	struct server *s = arg;
	time_t now = time(NULL);
	if (now != s->send_err_sec) {
		if (s->send_err_suppressed)
			logf_(s, SB_LOG_WARN, "udp send failures not logged in the last second: %llu",
			      (unsigned long long)s->send_err_suppressed);
		s->send_err_sec = now;
		s->send_err_logged = 0;
		s->send_err_suppressed = 0;
	}
	if (s->send_err_logged >= SEND_ERR_LOG_PER_SEC) {
		s->send_err_suppressed++;
		return;
	}
	s->send_err_logged++;
	char a[SB_ADDR_STR_MAX];
	logf_(s, SB_LOG_WARN, "udp send to %s failed: %s", sb_addr_to_str(to, a, sizeof a),
	      strerror(err));
}

static int register_h(const struct sb_tp_rx *rx, uint64_t token, struct sb_buf *out, void *arg)
{
	struct server *s = arg;
	return sb_registrar_handle(s->reg, rx->msg, rx, token, out);
}

/* A REGISTER's response, once its bindings are committed. */
static void register_done_h(uint64_t token, const char *buf, size_t len, void *arg)
{
	struct server *s = arg;
	if (len && s->proxy)
		(void)sb_proxy_register_answer(s->proxy, token, buf, len);
}

/* ------------------------------------------------- the durable state */

static int load_user_h(const struct sb_store_user *u, void *arg)
{
	struct server *s = arg;
	/* HA1s are per realm (RFC 7616 §3.4.2): another realm's cannot be used */
	if (!sb_slice_eq(u->realm, sb_slice_cstr(s->cfg.realm))) {
		s->skipped_users++;
		return 0;
	}
	int err = sb_users_put(s->users, u->name, u->ha1_md5, u->ha1_sha256, u->created);
	if (err)
		logf_(s, SB_LOG_WARN, "store: user '%.*s' not loaded: %s", (int)u->name.l,
		      u->name.p, strerror(err));
	return 0;
}

static int load_rule_h(const struct sb_store_rule *r, void *arg)
{
	struct server *s = arg;
	int err = sb_users_set_rule(s->users, r->user, r->kind, r->target, r->noanswer_s);
	if (err)
		logf_(s, SB_LOG_WARN, "store: %s rule of '%.*s' not loaded: %s",
		      sb_store_fwd_name(r->kind), (int)r->user.l, r->user.p, strerror(err));
	return 0;
}

/* "192.0.2.1:5060" or "[2001:db8::1]:5060", as sb_addr_to_str writes. */
static int parse_hostport(struct sb_addr *a, char *s)
{
	char *colon = strrchr(s, ':');
	if (!colon)
		return EINVAL;
	*colon = 0;
	char *host = s;
	size_t hl = strlen(host);
	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
		host[hl - 1] = 0;
		host++;
	}
	char *end;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (*end || port == 0 || port > 65535)
		return EINVAL;
	return sb_addr_parse(a, host, (uint16_t)port);
}

/* A binding from before the restart.  A UDP source is kept (a phone
 * behind NAT is reached where its REGISTER came from); a TCP connection
 * is gone, so the Contact is used until the phone registers again. */
static int load_binding_h(const struct sb_store_binding *b, void *arg)
{
	struct server *s = arg;
	int64_t left = b->expires_at - (int64_t)time(NULL);
	if (left <= 0)
		return 0;
	struct sb_binding_update u = {
		.aor = b->aor,
		.contact = b->contact,
		.call_id = b->call_id,
		.cseq = b->cseq,
		.expires_s = (uint32_t)(left > UINT32_MAX ? UINT32_MAX : left),
		.q1000 = b->q1000,
	};
	if (sb_slice_eq(b->source_proto, SB_LIT("udp")) && b->source_addr.l < SB_ADDR_STR_MAX) {
		char a[SB_ADDR_STR_MAX];
		memcpy(a, b->source_addr.p, b->source_addr.l);
		a[b->source_addr.l] = 0;
		struct sb_addr src;
		if (parse_hostport(&src, a) == 0)
			u.source = (struct sb_tp_dest){ .proto = SB_TP_UDP, .addr = src };
	}
	int err = sb_location_update(s->loc, &u);
	if (err)
		logf_(s, SB_LOG_WARN, "store: binding of %.*s not loaded: %s", (int)b->aor.l,
		      b->aor.p, strerror(err));
	return 0;
}

/* Users of the configuration ([users], --user) that do not exist yet: the
 * demo users of `make run`.  An existing user keeps its password. */
static int create_config_users(struct server *s)
{
	unsigned made = 0;
	for (unsigned k = 0; k < s->cfg.nusers; k++) {
		const struct sb_config_user *cu = &s->cfg.users[k];
		struct sb_slice name = sb_slice_cstr(cu->name);
		if (sb_users_find(s->users, name))
			continue;
		int err = sb_users_put_password(s->users, name, sb_slice_cstr(s->cfg.realm),
						sb_slice_cstr(cu->password), (int64_t)time(NULL));
		const struct sb_user *u = err ? NULL : sb_users_find(s->users, name);
		if (!u) {
			logf_(s, SB_LOG_ERROR, "cannot create user '%s': %s", cu->name,
			      strerror(err ? err : ENOMEM));
			return err ? err : ENOMEM;
		}
		struct sb_store_user su = {
			.name = name,
			.realm = sb_slice_cstr(s->cfg.realm),
			.ha1_md5 = sb_slice_cstr(u->ha1[SB_DIGEST_MD5]),
			.ha1_sha256 = sb_slice_cstr(u->ha1[SB_DIGEST_SHA256]),
			.created = u->created,
		};
		if ((err = sb_store_put_user(s->store, &su, NULL, NULL))) {
			logf_(s, SB_LOG_ERROR, "cannot store user '%s': %s", cu->name, strerror(err));
			return err;
		}
		logf_(s, SB_LOG_WARN, "user '%s' created with the password of the configuration: "
		      "change it (sbctl user passwd %s) on a server others can reach", cu->name,
		      cu->name);
		made++;
	}
	if (made) {
		sb_store_flush(s->store);
		logf_(s, SB_LOG_INFO, "created %u user(s) of the configuration", made);
	}
	return 0;
}

static int open_store(struct server *s)
{
	char why[512] = "";
	struct sb_store_cfg sc = { .loop = s->loop, .path = s->cfg.store_path,
				   .sync_full = s->cfg.store_sync_full };
	int err = sb_store_alloc(&s->store, &sc, why, sizeof why);
	if (err) {
		logf_(s, SB_LOG_ERROR, "cannot open the store %s: %s", s->cfg.store_path,
		      why[0] ? why : strerror(err));
		return err;
	}
	if ((err = sb_users_alloc(&s->users, 0, (uint64_t)getpid() * 40503u)))
		return err;
	struct sb_store_loader ld = { .user = load_user_h, .rule = load_rule_h,
				      .binding = load_binding_h };
	struct sb_store_load_counts n;
	if ((err = sb_store_load(s->store, (int64_t)time(NULL), &ld, s, &n))) {
		logf_(s, SB_LOG_ERROR, "cannot load the store %s: %s", s->cfg.store_path,
		      strerror(err));
		return err;
	}
	logf_(s, SB_LOG_INFO, "store %s: %llu users, %llu forwarding rules, %llu registrations "
	      "(%llu expired ones dropped)", s->cfg.store_path, (unsigned long long)n.users,
	      (unsigned long long)n.rules, (unsigned long long)n.bindings,
	      (unsigned long long)n.expired);
	if (s->skipped_users)
		logf_(s, SB_LOG_WARN, "%llu users of another realm than '%s' were not loaded: "
		      "their passwords must be set again", (unsigned long long)s->skipped_users,
		      s->cfg.realm);
	return create_config_users(s);
}

/* The digest context (the nonce secret beside the store, so that nonces
 * survive a restart) and the authentication step over it. */
static int setup_auth(struct server *s)
{
	char path[SB_CFG_MAX_PATH + 8], secret[2 * SB_DIGEST_SECRET_LEN + 1], why[512];
	bool created;
	if (s->cfg.secret_file[0])
		snprintf(path, sizeof path, "%s", s->cfg.secret_file);
	else
		snprintf(path, sizeof path, "%s.secret", s->cfg.store_path);
	int err = secret_file_load(path, SB_DIGEST_SECRET_LEN, secret, sizeof secret, &created,
				   why, sizeof why);
	if (err) {
		logf_(s, SB_LOG_ERROR, "digest secret: %s", why);
		return err;
	}
	size_t sl = strlen(secret);
	if (sl < SB_DIGEST_MIN_SECRET || sl > SB_DIGEST_MAX_SECRET) {
		logf_(s, SB_LOG_ERROR, "digest secret in %s: %zu bytes, want %u to %u", path, sl,
		      SB_DIGEST_MIN_SECRET, SB_DIGEST_MAX_SECRET);
		return EINVAL;
	}
	/* a key of its own for the dialog tokens: HMAC(secret, label) */
	unsigned int kl = 0;
	if (!HMAC(EVP_sha256(), secret, (int)sl, (const unsigned char *)"switchboard dialog token",
		  24, s->dialog_key, &kl) || kl != sizeof s->dialog_key) {
		logf_(s, SB_LOG_ERROR, "cannot derive the dialog key");
		return EIO;
	}
	struct sb_digest_cfg dc = {
		.realm = sb_slice_cstr(s->cfg.realm),
		.secret = (const uint8_t *)secret,
		.secret_len = sl,
		.nonce_lifetime_s = s->cfg.nonce_lifetime_s,
		.algs = s->cfg.auth_algs,
	};
	if ((err = sb_digest_alloc(&s->digest, &dc))) {
		logf_(s, SB_LOG_ERROR, "digest: %s (realm '%s')", strerror(err), s->cfg.realm);
		return err;
	}
	struct sb_authn_cfg ac = {
		.digest = s->digest,
		.users = s->users,
		.max_failures = s->cfg.max_failures,
		.window_s = s->cfg.failure_window_s,
		.lockout_s = s->cfg.lockout_s,
		.lockout_silent = s->cfg.lockout_silent,
		.log_h = log_line,
		.log_arg = s,
		.seed = (uint64_t)time(NULL) * 2654435761u,
	};
	return sb_authn_alloc(&s->authn, &ac);
}

/* The admin API on its local address, with its token (configured, or read
 * from its file, created at the first start). */
static int setup_api(struct server *s, const char *const *doms)
{
	if (!s->cfg.api_enabled)
		return 0;
	char token[SB_CFG_MAX_TOKEN], why[512] = "";
	if (s->cfg.api_token[0]) {
		snprintf(token, sizeof token, "%s", s->cfg.api_token);
	} else {
		bool created;
		int err = secret_file_load(s->cfg.api_token_file, 24, token, sizeof token, &created,
					   why, sizeof why);
		if (err) {
			logf_(s, SB_LOG_ERROR, "api token: %s", why);
			return err;
		}
		if (created)
			logf_(s, SB_LOG_INFO, "api token created in %s", s->cfg.api_token_file);
	}
	struct sb_api_cfg ac = {
		.loop = s->loop,
		.listen = s->cfg.api_listen,
		.token = token,
		.realm = s->cfg.realm,
		.users = s->users,
		.location = s->loc,
		.store = s->store,
		.proxy = s->proxy,
		.authn = s->authn,
		.domains = doms,
		.log_h = log_line,
		.log_arg = s,
	};
	int err = sb_api_alloc(&s->api, &ac, why, sizeof why);
	char a[SB_ADDR_STR_MAX];
	if (err)
		logf_(s, SB_LOG_ERROR, "cannot start the admin API on %s: %s",
		      sb_addr_to_str(&s->cfg.api_listen, a, sizeof a), why[0] ? why : strerror(err));
	else
		logf_(s, SB_LOG_INFO, "admin API on http://%s/api/v1",
		      sb_addr_to_str(&s->cfg.api_listen, a, sizeof a));
	return err;
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
				       .send_err_h = send_err_h, .arg = s };
	if ((err = sb_transport_alloc(&s->tp, &tc)))
		return err;
	struct sb_location_cfg lc = { .loop = s->loop, .hash_seed = (uint64_t)getpid() * 2654435761u };
	if ((err = sb_location_alloc(&s->loc, &lc)))
		return err;

	if ((err = open_store(s)) || (err = setup_auth(s)))
		return err;

	static const char *doms[SB_CFG_MAX_DOMAINS + 1];
	for (unsigned k = 0; k < s->cfg.ndomains; k++)
		doms[k] = s->cfg.domains[k];
	doms[s->cfg.ndomains] = NULL;
	struct sb_registrar_cfg rc = {
		.location = s->loc,
		.loop = s->loop,
		.domains = doms,
		.tag_seed = (uint32_t)getpid(),
		.authn = (s->cfg.auth_methods & (1u << SB_METHOD_REGISTER)) ? s->authn : NULL,
		.store = s->store,
		.done_h = register_done_h,
		.done_arg = s,
	};
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
		.authn = s->authn,
		.auth_methods = s->cfg.auth_methods & ~(1u << SB_METHOD_REGISTER),
		.realm = s->cfg.realm,
		.dialog_key = s->dialog_key,
		.dialog_key_len = sizeof s->dialog_key,
		.users = s->users,
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
		/* asked before advertise() rewrites a wildcard bound address;
		 * the kernel reports twice what it grants (socket(7)), and less
		 * than asked for means rmem_max capped it */
		uint32_t rb = 0, wb = 0;
		bool bufs = l->proto == SB_TP_UDP &&
			    sb_transport_udp_bufs(s->tp, &bound, &rb, &wb) == 0;
		if (is_wildcard(&bound)) {
			advertise(&bound);
			logf_(s, SB_LOG_INFO, "listening on %s %s, advertised as %s", pn, b,
			      sb_addr_to_str(&bound, a, sizeof a));
		} else {
			logf_(s, SB_LOG_INFO, "listening on %s %s", pn, b);
		}
		if (bufs) {
			bool capped = rb < 2 * SB_TP_DEF_UDP_RCVBUF;
			logf_(s, capped ? SB_LOG_WARN : SB_LOG_INFO,
			      "udp %s: socket buffers %u KiB receive, %u KiB send%s", b,
			      (unsigned)(rb / 1024), (unsigned)(wb / 1024),
			      capped ? " (capped: raise net.core.rmem_max or grant CAP_NET_ADMIN)" : "");
		}
		pc.listen[pc.nlisten].proto = l->proto;
		pc.listen[pc.nlisten].addr = bound;
		pc.nlisten++;
	}
	for (unsigned k = 0; k < s->cfg.ndomains; k++)
		pc.domains[pc.ndomains++] = s->cfg.domains[k];
	if ((err = sb_proxy_alloc(&s->proxy, &pc)) || (err = setup_api(s, doms)))
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
	/* what is queued is committed and answered before the proxy goes */
	if (s->store)
		sb_store_flush(s->store);
	sb_api_free(s->api);
	sb_proxy_free(s->proxy);
	sb_store_free(s->store);
	sb_registrar_free(s->reg);
	sb_authn_free(s->authn);
	sb_digest_free(s->digest);
	sb_users_free(s->users);
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
		/* failures after the last logged second are told here */
		if (s->send_err_suppressed)
			logf_(s, SB_LOG_WARN, "udp send failures not logged: %llu",
			      (unsigned long long)s->send_err_suppressed);
		logf_(s, SB_LOG_INFO, "stopped");
	}
	teardown(s);
	free(s);
	return rc;
}
