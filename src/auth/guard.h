/* auth/guard: the failure counter behind authn.h's lockout, private to
 * src/auth/.
 *
 * Two tables of the same shape: failures per source (keyed by peer: an
 * IPv4 address, or an IPv6 /64, as the transport counts connections per
 * peer, so that rotating through the addresses of one /64 gains nothing)
 * and failures per user name.  Each counts failures in a window of
 * window_s seconds from the first one; a source whose count reaches
 * max_failures is locked for lockout_s seconds, a user only reported.
 *
 * Both tables are bounded (max_tracked entries each): one allocation per
 * entry, kept on an LRU list, and a new entry in a full table evicts the
 * least recently touched one.  Entries expire lazily (when next looked at,
 * or a few per call from the cold end of the list); time comes in as now_s
 * and is never read here. */
#ifndef SB_AUTH_GUARD_H
#define SB_AUTH_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "switchboard/base.h"
#include "switchboard/transport.h"

/* Expired entries dropped from the cold end per call, at most. */
#define AG_PRUNE_STEP 8u

struct ag_guard;

struct ag_cfg {
	uint32_t max_tracked;      /* entries per table; > 0 */
	uint32_t max_failures;     /* > 0 */
	uint32_t window_s;
	uint32_t lockout_s;
	uint64_t seed;
};

/* What one counted failure did. */
struct ag_fail_result {
	uint32_t src_count;        /* failures of the source in its window */
	uint32_t user_count;       /* of the user; 0 when no user was named */
	bool src_locked_now;       /* this failure locked the source */
	bool user_limit_now;       /* this failure took the user to max_failures */
};

/* 0, EINVAL, ENOMEM. */
int ag_alloc(struct ag_guard **gp, const struct ag_cfg *cfg);
void ag_free(struct ag_guard *g);   /* NULL is fine */

/* Whether src's peer is locked out at now_s.  A lock that has run out is
 * dropped with its count. */
bool ag_src_locked(struct ag_guard *g, const struct sb_addr *src, uint64_t now_s);

/* Count one failure for src's peer and, if user is not empty, for user.
 * 0 or ENOMEM (nothing counted for the table that could not grow). */
int ag_fail(struct ag_guard *g, const struct sb_addr *src, struct sb_slice user,
	    uint64_t now_s, struct ag_fail_result *out);


/* Sources locked at now_s; entries per table (for tests and stats). */
uint32_t ag_src_locked_count(const struct ag_guard *g, uint64_t now_s);
size_t ag_src_tracked(const struct ag_guard *g);
size_t ag_user_tracked(const struct ag_guard *g);

#endif
