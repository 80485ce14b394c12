/* config: the server's settings, from its defaults, an INI file (parsed with
 * libinih) and the command line, in that order: each later source overrides
 * the earlier ones, so the command line wins over the file.
 *
 * Errors are written as one readable sentence into the caller's buffer; the
 * program prints it and exits 2. */
#ifndef SWITCHBOARD_CONFIG_H
#define SWITCHBOARD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "switchboard/proxy.h"
#include "switchboard/transport.h"

#define SB_CFG_MAX_LISTEN   SB_PROXY_MAX_LISTEN
#define SB_CFG_MAX_DOMAINS  SB_PROXY_MAX_DOMAINS
#define SB_CFG_MAX_NAME     SB_PROXY_MAX_NAME
#define SB_CFG_MAX_PATH     4096u
#define SB_CFG_ERR_MAX      512u
#define SB_CFG_DEFAULT_PORT 5060u
/* --t1 / t1_ms bounds: short values make timeout tests fast. */
#define SB_CFG_MIN_T1_MS    10u
#define SB_CFG_MAX_T1_MS    60000u

struct sb_config_listen {
	enum sb_tp_proto proto;
	struct sb_addr addr;
};

/* Users the configuration creates at start when they do not exist yet (the
 * demo users of `make run`): [users] NAME = PASSWORD, or --user NAME:PASSWORD. */
#define SB_CFG_MAX_USERS    64u
#define SB_CFG_MAX_USER     128u   /* bytes of a name, and of a password */
#define SB_CFG_MAX_TOKEN    256u
#define SB_CFG_DEFAULT_STORE "switchboard.db"
#define SB_CFG_DEFAULT_API_PORT 5081u
/* Methods challenged by default (RFC 3261 §22): REGISTER with 401,
 * out-of-dialog INVITE with 407. */
#define SB_CFG_DEFAULT_AUTH_METHODS ((1u << SB_METHOD_REGISTER) | (1u << SB_METHOD_INVITE))

struct sb_config_user {
	char name[SB_CFG_MAX_USER];
	char password[SB_CFG_MAX_USER];
};

struct sb_config {
	char file[SB_CFG_MAX_PATH];            /* "" when none */
	struct sb_config_listen listen[SB_CFG_MAX_LISTEN];
	unsigned nlisten;
	bool listen_defaulted;                 /* the defaults: IPv6 may be missing */
	char domains[SB_CFG_MAX_DOMAINS][SB_CFG_MAX_NAME];
	unsigned ndomains;
	enum sb_log_level log_level;
	bool recurse_on_3xx;
	enum sb_proxy_fork fork;
	uint32_t t1_ms;                        /* 0: RFC 3261's 500 ms */
	bool help;                             /* --help was given */

	/* [auth] */
	char realm[SB_CFG_MAX_NAME];           /* "": the first domain */
	unsigned auth_methods;                 /* bits 1u << enum sb_sip_method; 0: none */
	unsigned auth_algs;                    /* SB_DIGEST_ALG_BIT()s offered; 0: both */
	char secret_file[SB_CFG_MAX_PATH];     /* "": a random secret per run */
	uint32_t nonce_lifetime_s;             /* 0: the digest default */
	uint32_t max_failures, failure_window_s, lockout_s; /* 0: authn defaults */
	bool lockout_silent;                   /* lockout_action = silent */
	/* [store] */
	char store_path[SB_CFG_MAX_PATH];      /* SQLite file */
	bool store_sync_full;                  /* sync = full */
	/* [api] */
	bool api_enabled;                      /* listen = none disables it */
	struct sb_addr api_listen;             /* TCP */
	char api_token[SB_CFG_MAX_TOKEN];      /* "": read (or create) token_file */
	char api_token_file[SB_CFG_MAX_PATH];  /* "": the store path + ".token" */
	/* [users] */
	struct sb_config_user users[SB_CFG_MAX_USERS];
	unsigned nusers;
};

/* Parse a comma- or space-separated list of method names ("INVITE,
 * REGISTER", case-sensitive per RFC 3261 §7.1) or "none" into bits.  ACK and
 * CANCEL are refused (RFC 3261 §22.1: they cannot be challenged).
 * 0 or EINVAL. */
int sb_config_parse_methods(const char *s, unsigned *bits);

/* Parse a list of digest algorithms ("SHA-256, MD5", RFC 8760) into
 * SB_DIGEST_ALG_BIT()s.  0 or EINVAL. */
int sb_config_parse_algorithms(const char *s, unsigned *bits);

/* Parse "udp:ADDR:PORT" or "tcp:ADDR:PORT" (ADDR numeric, IPv6 in []).
 * 0 or EINVAL. */
int sb_config_parse_listen(struct sb_config_listen *l, const char *s);

/* Fill c from argv (and from the file named by -c/--config, read first).
 * Listeners and domains given on the command line replace those of the
 * file.  The defaults of what is still unset are applied by
 * sb_config_finish().  0, or EINVAL with err holding the reason. */
int sb_config_load(struct sb_config *c, int argc, char **argv, char *err, size_t errcap);

/* Read an INI file into c (sections and keys: [server] listen, domain,
 * log_level, recurse_on_3xx, fork, t1_ms; [auth] realm, methods,
 * secret_file, nonce_lifetime_s, max_failures, failure_window_s, lockout_s,
 * lockout_action; [store] path, sync; [api] listen, token, token_file;
 * [users] NAME = PASSWORD).  0, ENOENT, or EINVAL with err set. */
int sb_config_load_file(struct sb_config *c, const char *path, char *err, size_t errcap);

/* Apply defaults: UDP and TCP on 0.0.0.0:5060 and [::]:5060 when no
 * listener is set; the host name and its addresses when no domain is. */
void sb_config_finish(struct sb_config *c);

const char *sb_config_usage(void);
const char *sb_log_level_name(enum sb_log_level l);

#endif
