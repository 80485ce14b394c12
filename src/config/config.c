/* config: the server's settings from defaults, an INI file and the command
 * line (config.h).  libinih reads the file; the command line is read twice:
 * once to find -c, then, after the file, to override it. */
#include <errno.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netdb.h>

#include <ini.h>

#include "switchboard/config.h"

static void seterr(char *err, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t cap, const char *fmt, ...)
{
	va_list ap;
	if (!err || !cap)
		return;
	va_start(ap, fmt);
	vsnprintf(err, cap, fmt, ap);
	va_end(ap);
}

const char *sb_log_level_name(enum sb_log_level l)
{
	switch (l) {
	case SB_LOG_DEBUG: return "debug";
	case SB_LOG_INFO: return "info";
	case SB_LOG_WARN: return "warn";
	case SB_LOG_ERROR: return "error";
	}
	return "?";
}

const char *sb_config_usage(void)
{
	return "usage: switchboard [-c FILE] [--listen udp:ADDR:PORT|tcp:ADDR:PORT ...]\n"
	       "                   [--domain NAME ...] [--log-level debug|info|warn|error]\n"
	       "                   [--recurse-on-3xx] [--fork parallel|sequential]\n"
	       "                   [--t1 MS]\n";
}

int sb_config_parse_listen(struct sb_config_listen *l, const char *s)
{
	if (strncmp(s, "udp:", 4) == 0)
		l->proto = SB_TP_UDP;
	else if (strncmp(s, "tcp:", 4) == 0)
		l->proto = SB_TP_TCP;
	else
		return EINVAL;
	s += 4;
	const char *colon = strrchr(s, ':');
	if (!colon || colon == s)
		return EINVAL;
	char host[SB_ADDR_STR_MAX];
	size_t hl = (size_t)(colon - s);
	if (hl >= sizeof host)
		return EINVAL;
	memcpy(host, s, hl);
	host[hl] = 0;
	char *end;
	errno = 0;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (errno || *end || end == colon + 1 || port > 65535)
		return EINVAL;
	return sb_addr_parse(&l->addr, host, (uint16_t)port);
}

static int parse_level(const char *v, enum sb_log_level *out)
{
	static const char *const names[] = { "debug", "info", "warn", "error" };
	for (unsigned k = 0; k < SB_ARRAY_LEN(names); k++)
		if (strcmp(v, names[k]) == 0) {
			*out = (enum sb_log_level)k;
			return 0;
		}
	return EINVAL;
}

static int parse_fork(const char *v, enum sb_proxy_fork *out)
{
	if (strcmp(v, "parallel") == 0)
		*out = SB_FORK_PARALLEL;
	else if (strcmp(v, "sequential") == 0)
		*out = SB_FORK_SEQUENTIAL;
	else
		return EINVAL;
	return 0;
}

static int parse_bool(const char *v, bool *out)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "on") || !strcmp(v, "1"))
		*out = true;
	else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "off") || !strcmp(v, "0"))
		*out = false;
	else
		return EINVAL;
	return 0;
}

static int add_listen(struct sb_config *c, const char *v, char *err, size_t cap)
{
	if (c->nlisten >= SB_CFG_MAX_LISTEN) {
		seterr(err, cap, "too many listen addresses (at most %u)", SB_CFG_MAX_LISTEN);
		return EINVAL;
	}
	if (sb_config_parse_listen(&c->listen[c->nlisten], v) != 0) {
		seterr(err, cap, "bad listen address '%s' (want udp:ADDR:PORT or tcp:ADDR:PORT, "
			    "ADDR numeric, IPv6 in [])", v);
		return EINVAL;
	}
	c->nlisten++;
	return 0;
}

static int add_domain(struct sb_config *c, const char *v, char *err, size_t cap)
{
	if (c->ndomains >= SB_CFG_MAX_DOMAINS) {
		seterr(err, cap, "too many domains (at most %u)", SB_CFG_MAX_DOMAINS);
		return EINVAL;
	}
	size_t l = strlen(v);
	if (l == 0 || l >= SB_CFG_MAX_NAME || strpbrk(v, " \t;,<>@:\"") ) {
		/* an IPv6 domain is written in [] and may hold ':' */
		if (!(l > 2 && l < SB_CFG_MAX_NAME && v[0] == '[' && v[l - 1] == ']')) {
			seterr(err, cap, "bad domain '%s'", v);
			return EINVAL;
		}
	}
	for (unsigned k = 0; k < c->ndomains; k++)
		if (strcasecmp(c->domains[k], v) == 0)
			return 0;
	memcpy(c->domains[c->ndomains++], v, l + 1);
	return 0;
}

static int parse_t1(const char *v, uint32_t *out);

struct ini_ctx {
	struct sb_config *c;
	char *err;
	size_t cap;
	int failed;
};

static int ini_h(void *user, const char *section, const char *name, const char *value)
{
	struct ini_ctx *x = user;
	struct sb_config *c = x->c;
	char why[SB_CFG_ERR_MAX] = "";
	int err = 0;
	if (strcmp(section, "server") != 0) {
		snprintf(why, sizeof why, "unknown section [%s]", section);
		err = EINVAL;
	} else if (!strcmp(name, "listen")) {
		err = add_listen(c, value, why, sizeof why);
	} else if (!strcmp(name, "domain")) {
		err = add_domain(c, value, why, sizeof why);
	} else if (!strcmp(name, "log_level")) {
		if ((err = parse_level(value, &c->log_level)))
			snprintf(why, sizeof why, "bad log_level '%s'", value);
	} else if (!strcmp(name, "recurse_on_3xx")) {
		if ((err = parse_bool(value, &c->recurse_on_3xx)))
			snprintf(why, sizeof why, "bad recurse_on_3xx '%s' (yes or no)", value);
	} else if (!strcmp(name, "fork")) {
		if ((err = parse_fork(value, &c->fork)))
			snprintf(why, sizeof why, "bad fork '%s' (parallel or sequential)", value);
	} else if (!strcmp(name, "t1_ms")) {
		if ((err = parse_t1(value, &c->t1_ms)))
			snprintf(why, sizeof why, "bad t1_ms '%s' (%u to %u)", value, SB_CFG_MIN_T1_MS,
				 SB_CFG_MAX_T1_MS);
	} else {
		snprintf(why, sizeof why, "unknown key '%s'", name);
		err = EINVAL;
	}
	if (err && !x->failed) {
		x->failed = 1;
		seterr(x->err, x->cap, "%s", why);
	}
	return err ? 0 : 1;
}

int sb_config_load_file(struct sb_config *c, const char *path, char *err, size_t errcap)
{
	struct ini_ctx x = { .c = c, .err = err, .cap = errcap };
	char why[SB_CFG_ERR_MAX] = "";
	x.err = why;
	x.cap = sizeof why;
	int r = ini_parse(path, ini_h, &x);
	if (r == -1) {
		seterr(err, errcap, "%s: cannot open: %s", path, strerror(errno ? errno : ENOENT));
		return ENOENT;
	}
	if (r != 0) {
		seterr(err, errcap, "%s:%d: %s", path, r, why[0] ? why : "syntax error");
		return EINVAL;
	}
	return 0;
}

enum { OPT_LISTEN = 256, OPT_DOMAIN, OPT_LEVEL, OPT_RECURSE, OPT_FORK, OPT_HELP, OPT_T1 };

/* RFC 3261 §17.1.1.1: T1 in ms, SB_CFG_MIN_T1_MS..SB_CFG_MAX_T1_MS. */
static int parse_t1(const char *v, uint32_t *out)
{
	char *end;
	errno = 0;
	unsigned long n = strtoul(v, &end, 10);
	if (errno || end == v || *end || n < SB_CFG_MIN_T1_MS || n > SB_CFG_MAX_T1_MS)
		return EINVAL;
	*out = (uint32_t)n;
	return 0;
}

static const struct option long_opts[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "domain", required_argument, NULL, OPT_DOMAIN },
	{ "log-level", required_argument, NULL, OPT_LEVEL },
	{ "recurse-on-3xx", no_argument, NULL, OPT_RECURSE },
	{ "fork", required_argument, NULL, OPT_FORK },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "t1", required_argument, NULL, OPT_T1 },
	{ NULL, 0, NULL, 0 },
};

int sb_config_load(struct sb_config *c, int argc, char **argv, char *err, size_t errcap)
{
	memset(c, 0, sizeof *c);
	c->log_level = SB_LOG_INFO;

	/* pass 1: the file, so that the command line overrides it */
	for (int k = 1; k < argc; k++) {
		const char *a = argv[k], *path = NULL;
		if ((!strcmp(a, "-c") || !strcmp(a, "--config")) && k + 1 < argc)
			path = argv[k + 1];
		else if (!strncmp(a, "--config=", 9))
			path = a + 9;
		else if (!strncmp(a, "-c", 2) && a[2] && a[1] != '-')
			path = a + 2;
		if (!strcmp(a, "--"))
			break;
		if (path) {
			if (strlen(path) >= sizeof c->file) {
				seterr(err, errcap, "config path too long");
				return EINVAL;
			}
			strcpy(c->file, path);
		}
	}
	if (c->file[0]) {
		int e = sb_config_load_file(c, c->file, err, errcap);
		if (e)
			return EINVAL;
	}

	bool cli_listen = false, cli_domain = false;
	opterr = 0;
	optind = 1;
	int o;
	while ((o = getopt_long(argc, argv, ":c:", long_opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			break;
		case OPT_LISTEN:
			if (!cli_listen) {
				c->nlisten = 0;
				cli_listen = true;
			}
			if (add_listen(c, optarg, err, errcap))
				return EINVAL;
			break;
		case OPT_DOMAIN:
			if (!cli_domain) {
				c->ndomains = 0;
				cli_domain = true;
			}
			if (add_domain(c, optarg, err, errcap))
				return EINVAL;
			break;
		case OPT_LEVEL:
			if (parse_level(optarg, &c->log_level)) {
				seterr(err, errcap, "bad --log-level '%s' (debug, info, warn or error)",
				       optarg);
				return EINVAL;
			}
			break;
		case OPT_RECURSE:
			c->recurse_on_3xx = true;
			break;
		case OPT_FORK:
			if (parse_fork(optarg, &c->fork)) {
				seterr(err, errcap, "bad --fork '%s' (parallel or sequential)", optarg);
				return EINVAL;
			}
			break;
		case OPT_HELP:
			c->help = true;
			break;
		case OPT_T1:
			if (parse_t1(optarg, &c->t1_ms)) {
				seterr(err, errcap, "bad --t1 '%s' (milliseconds, %u to %u)", optarg,
				       SB_CFG_MIN_T1_MS, SB_CFG_MAX_T1_MS);
				return EINVAL;
			}
			break;
		case ':':
			seterr(err, errcap, "option '%s' needs a value", argv[optind - 1]);
			return EINVAL;
		default:
			seterr(err, errcap, "unknown option '%s'", argv[optind - 1]);
			return EINVAL;
		}
	}
	if (optind < argc) {
		seterr(err, errcap, "unexpected argument '%s'", argv[optind]);
		return EINVAL;
	}
	return 0;
}

static void add_host_addr(struct sb_config *c, const struct sockaddr *sa)
{
	char host[INET6_ADDRSTRLEN + 2], txt[INET6_ADDRSTRLEN];
	if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, txt,
			  sizeof txt);
		snprintf(host, sizeof host, "%s", txt);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;
		if (IN6_IS_ADDR_LINKLOCAL(&s6->sin6_addr))
			return; /* needs a scope id: not a SIP host */
		inet_ntop(AF_INET6, &s6->sin6_addr, txt, sizeof txt);
		snprintf(host, sizeof host, "[%s]", txt);
	} else {
		return;
	}
	(void)add_domain(c, host, NULL, 0);
}

void sb_config_finish(struct sb_config *c)
{
	if (c->nlisten == 0) {
		c->listen_defaulted = true;
		static const char *const defs[] = { "udp:0.0.0.0:5060", "tcp:0.0.0.0:5060",
						     "udp:[::]:5060", "tcp:[::]:5060" };
		for (unsigned k = 0; k < SB_ARRAY_LEN(defs); k++)
			(void)sb_config_parse_listen(&c->listen[c->nlisten++], defs[k]);
	}
	if (c->ndomains == 0) {
		char name[SB_CFG_MAX_NAME];
		if (gethostname(name, sizeof name) == 0) {
			name[sizeof name - 1] = 0;
			(void)add_domain(c, name, NULL, 0);
		}
		struct ifaddrs *ifa, *i;
		if (getifaddrs(&ifa) == 0) {
			for (i = ifa; i; i = i->ifa_next)
				if (i->ifa_addr && (i->ifa_flags & IFF_UP))
					add_host_addr(c, i->ifa_addr);
			freeifaddrs(ifa);
		}
	}
}
