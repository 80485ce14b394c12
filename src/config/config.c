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

#include "switchboard/auth.h"
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
	       "                   [--t1 MS] [--realm NAME] [--auth-methods LIST|none]\n"
	       "                   [--auth-algorithms SHA-256,MD5]\n"
	       "                   [--store PATH] [--api ADDR:PORT|none] [--api-token-file PATH]\n"
	       "                   [--user NAME:PASSWORD ...]\n";
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

/* A bounded copy of a string setting. */
static int set_str(char *dst, size_t cap, const char *v, const char *what, char *err,
		   size_t errcap)
{
	size_t l = strlen(v);
	if (l >= cap) {
		seterr(err, errcap, "%s too long (at most %zu bytes)", what, cap - 1);
		return EINVAL;
	}
	memcpy(dst, v, l + 1);
	return 0;
}

static int parse_u32(const char *v, uint32_t lo, uint32_t hi, uint32_t *out)
{
	char *end;
	errno = 0;
	unsigned long n = strtoul(v, &end, 10);
	if (errno || end == v || *end || v[0] == '-' || n < lo || n > hi)
		return EINVAL;
	*out = (uint32_t)n;
	return 0;
}

/* The next item of a list separated by commas, spaces or tabs: its first
 * byte and length, *p moved past it; false at the end. */
static bool next_item(const char **p, const char **item, size_t *len)
{
	const char *s = *p;
	while (*s == ' ' || *s == ',' || *s == '\t')
		s++;
	const char *e = s;
	while (*e && *e != ' ' && *e != ',' && *e != '\t')
		e++;
	*p = e;
	*item = s;
	*len = (size_t)(e - s);
	return e != s;
}

int sb_config_parse_methods(const char *s, unsigned *bits)
{
	unsigned b = 0;
	const char *p = s, *it;
	size_t l;
	if (!strcmp(s, "none")) {
		*bits = 0;
		return 0;
	}
	while (next_item(&p, &it, &l)) {
		enum sb_sip_method m = sb_sip_method_from(sb_slice_from(it, l));
		/* RFC 3261 §22.1: ACK and CANCEL are never challenged */
		if (m == SB_METHOD_OTHER || m == SB_METHOD_ACK || m == SB_METHOD_CANCEL)
			return EINVAL;
		b |= 1u << m;
	}
	if (!b)
		return EINVAL;
	*bits = b;
	return 0;
}

int sb_config_parse_algorithms(const char *s, unsigned *bits)
{
	unsigned b = 0;
	const char *p = s, *it;
	size_t l;
	while (next_item(&p, &it, &l)) {
		enum sb_digest_alg a;
		if (sb_digest_alg_parse(sb_slice_from(it, l), &a) != 0)
			return EINVAL;
		b |= SB_DIGEST_ALG_BIT(a);
	}
	if (!b)
		return EINVAL;
	*bits = b;
	return 0;
}

/* "ADDR:PORT" (IPv6 in []) or "none". */
static int parse_api_listen(struct sb_config *c, const char *v, char *err, size_t cap)
{
	if (!strcmp(v, "none")) {
		c->api_enabled = false;
		return 0;
	}
	char buf[SB_ADDR_STR_MAX + 8];
	struct sb_config_listen l;
	if ((size_t)snprintf(buf, sizeof buf, "tcp:%s", v) >= sizeof buf ||
	    sb_config_parse_listen(&l, buf) != 0) {
		seterr(err, cap, "bad api listen address '%s' (want ADDR:PORT, ADDR numeric, "
			    "IPv6 in [], or none)", v);
		return EINVAL;
	}
	c->api_enabled = true;
	c->api_listen = l.addr;
	return 0;
}

/* NAME:PASSWORD or, from the file, NAME and PASSWORD apart. */
static int add_user(struct sb_config *c, const char *name, size_t nl, const char *pw,
		    char *err, size_t cap)
{
	if (nl == 0 || nl >= SB_CFG_MAX_USER || memchr(name, '@', nl) || memchr(name, ':', nl) ||
	    memchr(name, ' ', nl)) {
		seterr(err, cap, "bad user name '%.*s'", (int)(nl > 64 ? 64 : nl), name);
		return EINVAL;
	}
	size_t pl = strlen(pw);
	if (pl == 0 || pl >= SB_CFG_MAX_USER) {
		seterr(err, cap, "user '%.*s': the password must be 1 to %u bytes", (int)nl, name,
		       SB_CFG_MAX_USER - 1);
		return EINVAL;
	}
	for (unsigned k = 0; k < c->nusers; k++)
		if (strlen(c->users[k].name) == nl && !memcmp(c->users[k].name, name, nl)) {
			memcpy(c->users[k].password, pw, pl + 1);
			return 0;
		}
	if (c->nusers >= SB_CFG_MAX_USERS) {
		seterr(err, cap, "too many users (at most %u)", SB_CFG_MAX_USERS);
		return EINVAL;
	}
	struct sb_config_user *u = &c->users[c->nusers++];
	memcpy(u->name, name, nl);
	u->name[nl] = 0;
	memcpy(u->password, pw, pl + 1);
	return 0;
}

static int ini_server(struct sb_config *c, const char *name, const char *value, char *why,
		      size_t wcap);
static int ini_auth(struct sb_config *c, const char *name, const char *value, char *why,
		    size_t wcap);
static int ini_store(struct sb_config *c, const char *name, const char *value, char *why,
		     size_t wcap);
static int ini_api(struct sb_config *c, const char *name, const char *value, char *why,
		   size_t wcap);

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
	int err;
	if (!strcmp(section, "server")) {
		err = ini_server(c, name, value, why, sizeof why);
	} else if (!strcmp(section, "auth")) {
		err = ini_auth(c, name, value, why, sizeof why);
	} else if (!strcmp(section, "store")) {
		err = ini_store(c, name, value, why, sizeof why);
	} else if (!strcmp(section, "api")) {
		err = ini_api(c, name, value, why, sizeof why);
	} else if (!strcmp(section, "users")) {
		err = add_user(c, name, strlen(name), value, why, sizeof why);
	} else {
		snprintf(why, sizeof why, "unknown section [%s]", section);
		err = EINVAL;
	}
	if (err && !x->failed) {
		x->failed = 1;
		seterr(x->err, x->cap, "%s", why);
	}
	return err ? 0 : 1;
}

static int ini_server(struct sb_config *c, const char *name, const char *value, char *why,
		      size_t wcap)
{
	int err = 0;
	if (!strcmp(name, "listen")) {
		err = add_listen(c, value, why, wcap);
	} else if (!strcmp(name, "domain")) {
		err = add_domain(c, value, why, wcap);
	} else if (!strcmp(name, "log_level")) {
		if ((err = parse_level(value, &c->log_level)))
			snprintf(why, wcap, "bad log_level '%s'", value);
	} else if (!strcmp(name, "recurse_on_3xx")) {
		if ((err = parse_bool(value, &c->recurse_on_3xx)))
			snprintf(why, wcap, "bad recurse_on_3xx '%s' (yes or no)", value);
	} else if (!strcmp(name, "fork")) {
		if ((err = parse_fork(value, &c->fork)))
			snprintf(why, wcap, "bad fork '%s' (parallel or sequential)", value);
	} else if (!strcmp(name, "t1_ms")) {
		if ((err = parse_t1(value, &c->t1_ms)))
			snprintf(why, wcap, "bad t1_ms '%s' (%u to %u)", value, SB_CFG_MIN_T1_MS,
				 SB_CFG_MAX_T1_MS);
	} else {
		snprintf(why, wcap, "unknown key '%s' in [server]", name);
		err = EINVAL;
	}
	return err;
}

static int ini_auth(struct sb_config *c, const char *name, const char *value, char *why,
		    size_t wcap)
{
	int err = 0;
	if (!strcmp(name, "realm")) {
		if (!value[0] || strpbrk(value, "\"\\"))
			err = EINVAL;
		else
			err = set_str(c->realm, sizeof c->realm, value, "realm", why, wcap);
		if (err && !why[0])
			snprintf(why, wcap, "bad realm '%s'", value);
	} else if (!strcmp(name, "methods")) {
		if ((err = sb_config_parse_methods(value, &c->auth_methods)))
			snprintf(why, wcap, "bad methods '%s' (SIP method names other than ACK and "
				 "CANCEL, or none)", value);
	} else if (!strcmp(name, "algorithms")) {
		if ((err = sb_config_parse_algorithms(value, &c->auth_algs)))
			snprintf(why, wcap, "bad algorithms '%s' (SHA-256 and/or MD5)", value);
	} else if (!strcmp(name, "secret_file")) {
		err = set_str(c->secret_file, sizeof c->secret_file, value, "secret_file", why,
			      wcap);
	} else if (!strcmp(name, "nonce_lifetime_s")) {
		if ((err = parse_u32(value, 1, 86400, &c->nonce_lifetime_s)))
			snprintf(why, wcap, "bad nonce_lifetime_s '%s' (1 to 86400)", value);
	} else if (!strcmp(name, "max_failures")) {
		if ((err = parse_u32(value, 1, 100000, &c->max_failures)))
			snprintf(why, wcap, "bad max_failures '%s' (1 to 100000)", value);
	} else if (!strcmp(name, "failure_window_s")) {
		if ((err = parse_u32(value, 1, 86400, &c->failure_window_s)))
			snprintf(why, wcap, "bad failure_window_s '%s' (1 to 86400)", value);
	} else if (!strcmp(name, "lockout_s")) {
		if ((err = parse_u32(value, 1, 86400, &c->lockout_s)))
			snprintf(why, wcap, "bad lockout_s '%s' (1 to 86400)", value);
	} else if (!strcmp(name, "lockout_action")) {
		if (!strcmp(value, "403"))
			c->lockout_silent = false;
		else if (!strcmp(value, "silent"))
			c->lockout_silent = true;
		else {
			snprintf(why, wcap, "bad lockout_action '%s' (403 or silent)", value);
			err = EINVAL;
		}
	} else {
		snprintf(why, wcap, "unknown key '%s' in [auth]", name);
		err = EINVAL;
	}
	return err;
}

static int ini_store(struct sb_config *c, const char *name, const char *value, char *why,
		     size_t wcap)
{
	int err = 0;
	if (!strcmp(name, "path")) {
		if (!value[0]) {
			snprintf(why, wcap, "empty store path");
			err = EINVAL;
		} else {
			err = set_str(c->store_path, sizeof c->store_path, value, "store path", why,
				      wcap);
		}
	} else if (!strcmp(name, "sync")) {
		if (!strcmp(value, "normal"))
			c->store_sync_full = false;
		else if (!strcmp(value, "full"))
			c->store_sync_full = true;
		else {
			snprintf(why, wcap, "bad sync '%s' (normal or full)", value);
			err = EINVAL;
		}
	} else {
		snprintf(why, wcap, "unknown key '%s' in [store]", name);
		err = EINVAL;
	}
	return err;
}

static int ini_api(struct sb_config *c, const char *name, const char *value, char *why,
		   size_t wcap)
{
	int err = 0;
	if (!strcmp(name, "listen")) {
		err = parse_api_listen(c, value, why, wcap);
	} else if (!strcmp(name, "token")) {
		err = set_str(c->api_token, sizeof c->api_token, value, "api token", why, wcap);
	} else if (!strcmp(name, "token_file")) {
		err = set_str(c->api_token_file, sizeof c->api_token_file, value, "token_file", why,
			      wcap);
	} else {
		snprintf(why, wcap, "unknown key '%s' in [api]", name);
		err = EINVAL;
	}
	return err;
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

enum { OPT_LISTEN = 256, OPT_DOMAIN, OPT_LEVEL, OPT_RECURSE, OPT_FORK, OPT_HELP, OPT_T1,
       OPT_REALM, OPT_AUTH_METHODS, OPT_AUTH_ALGS, OPT_STORE, OPT_API, OPT_API_TOKEN_FILE,
       OPT_USER };

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
	{ "realm", required_argument, NULL, OPT_REALM },
	{ "auth-methods", required_argument, NULL, OPT_AUTH_METHODS },
	{ "auth-algorithms", required_argument, NULL, OPT_AUTH_ALGS },
	{ "store", required_argument, NULL, OPT_STORE },
	{ "api", required_argument, NULL, OPT_API },
	{ "api-token-file", required_argument, NULL, OPT_API_TOKEN_FILE },
	{ "user", required_argument, NULL, OPT_USER },
	{ NULL, 0, NULL, 0 },
};

int sb_config_load(struct sb_config *c, int argc, char **argv, char *err, size_t errcap)
{
	memset(c, 0, sizeof *c);
	c->log_level = SB_LOG_INFO;
	c->auth_methods = SB_CFG_DEFAULT_AUTH_METHODS;
	memcpy(c->store_path, SB_CFG_DEFAULT_STORE, sizeof SB_CFG_DEFAULT_STORE);
	c->api_enabled = true;
	(void)sb_addr_parse(&c->api_listen, "127.0.0.1", SB_CFG_DEFAULT_API_PORT);

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
		case OPT_REALM: {
			char why[SB_CFG_ERR_MAX] = "";
			if (ini_auth(c, "realm", optarg, why, sizeof why)) {
				seterr(err, errcap, "--realm: %s", why);
				return EINVAL;
			}
			break;
		}
		case OPT_AUTH_METHODS:
			if (sb_config_parse_methods(optarg, &c->auth_methods)) {
				seterr(err, errcap, "bad --auth-methods '%s' (SIP method names other "
				       "than ACK and CANCEL, comma-separated, or none)", optarg);
				return EINVAL;
			}
			break;
		case OPT_AUTH_ALGS:
			if (sb_config_parse_algorithms(optarg, &c->auth_algs)) {
				seterr(err, errcap, "bad --auth-algorithms '%s' (SHA-256 and/or MD5)",
				       optarg);
				return EINVAL;
			}
			break;
		case OPT_STORE:
			if (!optarg[0] || set_str(c->store_path, sizeof c->store_path, optarg,
						  "--store", err, errcap)) {
				if (!optarg[0])
					seterr(err, errcap, "--store needs a file path");
				return EINVAL;
			}
			break;
		case OPT_API:
			if (parse_api_listen(c, optarg, err, errcap))
				return EINVAL;
			break;
		case OPT_API_TOKEN_FILE:
			if (set_str(c->api_token_file, sizeof c->api_token_file, optarg,
				    "--api-token-file", err, errcap))
				return EINVAL;
			break;
		case OPT_USER: {
			const char *colon = strchr(optarg, ':');
			if (!colon) {
				seterr(err, errcap, "bad --user '%s' (want NAME:PASSWORD)", optarg);
				return EINVAL;
			}
			if (add_user(c, optarg, (size_t)(colon - optarg), colon + 1, err, errcap))
				return EINVAL;
			break;
		}
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
	if (!c->api_token_file[0]) {
		/* beside the store: "switchboard.db" gives "switchboard.db.token" */
		size_t l = strlen(c->store_path);
		if (l + sizeof ".token" <= sizeof c->api_token_file) {
			memcpy(c->api_token_file, c->store_path, l);
			memcpy(c->api_token_file + l, ".token", sizeof ".token");
		}
	}
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
	/* the realm users are hashed under: stable across restarts, so the
	 * first domain, not an address that may change, when not set */
	if (!c->realm[0] && c->ndomains)
		memcpy(c->realm, c->domains[0], strlen(c->domains[0]) + 1);
}
