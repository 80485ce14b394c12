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
};

/* Parse "udp:ADDR:PORT" or "tcp:ADDR:PORT" (ADDR numeric, IPv6 in []).
 * 0 or EINVAL. */
int sb_config_parse_listen(struct sb_config_listen *l, const char *s);

/* Fill c from argv (and from the file named by -c/--config, read first).
 * Listeners and domains given on the command line replace those of the
 * file.  The defaults of what is still unset are applied by
 * sb_config_finish().  0, or EINVAL with err holding the reason. */
int sb_config_load(struct sb_config *c, int argc, char **argv, char *err, size_t errcap);

/* Read an INI file into c (keys: [server] listen, domain, log_level,
 * recurse_on_3xx, fork, t1_ms).  0, ENOENT, or EINVAL with err set. */
int sb_config_load_file(struct sb_config *c, const char *path, char *err, size_t errcap);

/* Apply defaults: UDP and TCP on 0.0.0.0:5060 and [::]:5060 when no
 * listener is set; the host name and its addresses when no domain is. */
void sb_config_finish(struct sb_config *c);

const char *sb_config_usage(void);
const char *sb_log_level_name(enum sb_log_level l);

#endif
