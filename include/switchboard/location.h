/* location: the location service (RFC 3261 §10.3, §16.5): bindings from an
 * address of record to contact addresses, in memory, found in O(1) by AOR,
 * expired on time by a timer per binding.  The registrar writes it; the proxy
 * reads it to build a target set.  A persistent store comes with the users
 * and authentication issue: it will sit behind this same interface.
 *
 * Not thread-safe: it belongs to its loop's thread. */
#ifndef SWITCHBOARD_LOCATION_H
#define SWITCHBOARD_LOCATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "switchboard/base.h"
#include "switchboard/loop.h"
#include "switchboard/sip.h"
#include "switchboard/transport.h"

#define SB_LOC_DEFAULT_MAX_BINDINGS (1u << 21) /* all AORs together */
#define SB_LOC_DEFAULT_MAX_PER_AOR 10u         /* contacts per AOR */
#define SB_LOC_MAX_AOR 256u                    /* bytes of a canonical AOR */
#define SB_LOC_MAX_CONTACT 512u                /* bytes of a contact URI */
#define SB_LOC_MAX_CALL_ID 256u                /* bytes of a stored Call-ID */

struct sb_location;

struct sb_location_cfg {
	struct sb_loop *loop;    /* required: the expiry timers run on it */
	uint32_t max_bindings;   /* 0: SB_LOC_DEFAULT_MAX_BINDINGS */
	uint32_t max_per_aor;    /* 0: SB_LOC_DEFAULT_MAX_PER_AOR */
	uint64_t hash_seed;
};

/* A binding as the proxy and registrar see it: a view valid until the next
 * change to the location (update, removal, expiry).  Its AOR is the one it
 * was looked up by; it is not repeated here, to keep a binding small. */
struct sb_binding {
	struct sb_slice contact;   /* the contact URI, as registered, without <> */
	struct sb_slice call_id;
	uint32_t cseq;
	unsigned q1000;            /* q as thousandths, 1000 when absent */
	sb_msec_t expires_at;      /* on the loop's clock */
	struct sb_tp_dest source;  /* where the REGISTER came from (its flow) */
};

/* 0, EINVAL (no loop), ENOMEM. */
int sb_location_alloc(struct sb_location **lp, const struct sb_location_cfg *cfg);
/* Frees every binding and stops its timer; NULL is fine. */
void sb_location_free(struct sb_location *l);

/* The canonical AOR of a SIP or SIPS URI (RFC 3261 §10.3 steps 5 and 7):
 * "sip:" or "sips:", the user with its escapes normalised, "@", the host
 * lower-cased; no password, port or parameters.  A URI without a user gives
 * "sip:host".  Escapes are normalised (RFC 3261 §19.1.4: "%61" equals "a"):
 * every escape is decoded, then each byte that is not alphanumeric, mark or
 * user-unreserved is written back as an upper-case %HH, so the key is
 * printable and one-to-one ("a%40b" and "a@b" cannot collide; "%00" and
 * "%00%00" stay two keys, RFC 4475 escnull).
 * 0, EINVAL (not sip/sips, or a bad escape), ENOSPC (longer than cap or
 * SB_LOC_MAX_AOR). */
int sb_location_aor_key(const struct sb_uri *uri, char *out, size_t cap, size_t *len);

/* Add or refresh the binding of aor to contact (contacts compared by
 * sb_uri_equal, RFC 3261 §10.3 step 7), expiring after expires_s seconds;
 * expires_s == 0 removes it (0 also when there was none).  A refresh takes
 * the new contact text, Call-ID, CSeq, q and source.  The location does not
 * check the Call-ID/CSeq order: that is the registrar's rule.
 * 0, ENOSPC (max_per_aor, max_bindings, or the loop's max_timers), EINVAL
 * (contact not a URI, empty aor, or aor/contact/call_id past
 * SB_LOC_MAX_AOR/SB_LOC_MAX_CONTACT/SB_LOC_MAX_CALL_ID), ENOMEM. */
struct sb_binding_update {
	struct sb_slice aor;
	struct sb_slice contact;
	struct sb_slice call_id;
	uint32_t cseq;
	uint32_t expires_s;
	unsigned q1000;
	struct sb_tp_dest source;
};
int sb_location_update(struct sb_location *l, const struct sb_binding_update *u);

/* Find aor's binding for contact, or NULL. */
const struct sb_binding *sb_location_find(struct sb_location *l, struct sb_slice aor,
					  struct sb_slice contact);

/* aor's bindings, highest q first (ties: most recently refreshed first), at
 * most max of them; returns how many there are in all. */
size_t sb_location_lookup(struct sb_location *l, struct sb_slice aor,
			  const struct sb_binding **out, size_t max);

/* Remove every binding of aor; returns how many went. */
size_t sb_location_remove_aor(struct sb_location *l, struct sb_slice aor);

/* Whether adding `adds` new bindings to aor, after removing `removes` of
 * its existing ones, stays within max_per_aor and max_bindings: the
 * registrar checks this before it changes anything, so that a REGISTER is
 * applied whole or not at all (RFC 3261 §10.3 step 7).  0, EDQUOT
 * (max_per_aor: this AOR is full) or ENOSPC (max_bindings: the location is
 * full), so that the two can be answered apart. */
int sb_location_check_room(struct sb_location *l, struct sb_slice aor, size_t removes,
			   size_t adds);

/* Call h for every binding, with the canonical AOR it is kept under, AOR
 * by AOR in no particular order (an AOR's bindings in lookup order).  A
 * non-zero return stops the walk and is returned; 0 when every binding
 * was seen; EINVAL for a NULL l or h.  h must not change the location (no
 * update, removal or expiry). */
typedef int (sb_location_each_h)(struct sb_slice aor, const struct sb_binding *b, void *arg);
int sb_location_foreach(const struct sb_location *l, sb_location_each_h *h, void *arg);

/* Bindings in all, and AORs with at least one binding. */
size_t sb_location_count(const struct sb_location *l);
size_t sb_location_aor_count(const struct sb_location *l);

#endif
