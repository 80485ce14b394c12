/* users: the user directory in memory: the users of our realm with their
 * digest HA1s (RFC 7616 §3.4.2: passwords are never kept) and their network
 * call-forwarding rules (the Cisco 7960 appendix: always, busy, no answer,
 * unavailable, do-not-disturb).
 *
 * The SIP loop reads it on every authenticated request and every routed
 * call, so it lives in memory with an O(1) lookup by name; the store
 * (store.h) is where it is made durable.  Whoever changes a user (the admin
 * API, the demo users at start, the loader) changes both: this directory
 * and the store.
 *
 * Names are compared byte for byte (RFC 3261 §19.1.4: the user part of a
 * SIP URI is case-sensitive), as the unescaped user of a URI or the
 * username of digest credentials.
 *
 * Not thread-safe: it belongs to its loop's thread. */
#ifndef SWITCHBOARD_USERS_H
#define SWITCHBOARD_USERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "switchboard/auth.h"
#include "switchboard/base.h"
#include "switchboard/store.h"

#define SB_USERS_DEFAULT_MAX 1000000u   /* users in the directory */
#define SB_USERS_MAX_NAME SB_STORE_MAX_NAME
#define SB_USERS_MAX_TARGET SB_STORE_MAX_TARGET
/* The kinds of rule, indexed by enum sb_store_fwd (1..SB_USERS_RULE_KINDS). */
#define SB_USERS_RULE_KINDS 5u

struct sb_users;

/* One forwarding rule of a user.  target is NUL-terminated ("" for DND). */
struct sb_user_rule {
	bool set;
	char *target;               /* owned by the directory; NULL when !set */
	uint32_t noanswer_s;        /* SB_STORE_FWD_NOANSWER only */
};

/* A user, as the directory keeps it: a view valid until that user is
 * changed or deleted.  ha1[alg] is lower-case hex with a NUL, "" when the
 * user has no HA1 for that algorithm. */
struct sb_user {
	const char *name;           /* NUL-terminated */
	size_t name_len;
	char ha1[SB_DIGEST_ALG_COUNT][SB_DIGEST_HEX_CAP];
	int64_t created;            /* wall clock seconds */
	struct sb_user_rule rule[SB_USERS_RULE_KINDS + 1]; /* [enum sb_store_fwd]; [0] unused */
};

/* 0, ENOMEM.  max 0: SB_USERS_DEFAULT_MAX. */
int sb_users_alloc(struct sb_users **up, uint32_t max, uint64_t seed);
void sb_users_free(struct sb_users *u);   /* NULL is fine */

/* The user called name, or NULL. */
const struct sb_user *sb_users_find(const struct sb_users *u, struct sb_slice name);

/* Add the user, or replace its HA1s (a new password), keeping its rules and
 * its created time.  ha1_md5 / ha1_sha256: hex of the right length (any
 * case; kept lower-case) or empty, not both empty.  0, EINVAL (a bad name:
 * empty, "." or "..", longer than SB_USERS_MAX_NAME, or holding a control
 * byte, ':', '@' or space; a bad HA1), ENOSPC (max users), ENOMEM. */
int sb_users_put(struct sb_users *u, struct sb_slice name, struct sb_slice ha1_md5,
		 struct sb_slice ha1_sha256, int64_t created);
/* Both HA1s from a password: sb_digest_ha1() for MD5 and SHA-256 under
 * realm.  0, EINVAL, ENOSPC, ENOMEM, EIO. */
int sb_users_put_password(struct sb_users *u, struct sb_slice name, struct sb_slice realm,
			  struct sb_slice password, int64_t created);
/* 0 or ENOENT. */
int sb_users_del(struct sb_users *u, struct sb_slice name);

/* Set a rule: target a sip/sips URI (it must parse; empty for DND, where it
 * is ignored), noanswer_s in 1..SB_STORE_MAX_NOANSWER_S for NOANSWER (else
 * ignored).  0, ENOENT (no such user), EINVAL, ENOMEM. */
int sb_users_set_rule(struct sb_users *u, struct sb_slice name, enum sb_store_fwd kind,
		      struct sb_slice target, uint32_t noanswer_s);
/* 0, ENOENT (no such user or no such rule). */
int sb_users_del_rule(struct sb_users *u, struct sb_slice name, enum sb_store_fwd kind);

size_t sb_users_count(const struct sb_users *u);

/* Call h for every user, in no particular order; a non-zero return stops
 * the walk and is returned.  h must not change the directory. */
typedef int (sb_users_each_h)(const struct sb_user *user, void *arg);
int sb_users_foreach(const struct sb_users *u, sb_users_each_h *h, void *arg);

#endif
