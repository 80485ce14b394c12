/* registrar: the REGISTER processing of RFC 3261 §10.3, over the location
 * service (location.h).  It answers one validated REGISTER with a complete
 * response printed into a buffer; sending it (through the server
 * transaction) is the caller's job.
 *
 * Choices where RFC 3261 leaves room, each traced in registrar.c:
 *  - §10.3 step 1, a Request-URI (or To, step 5) for a domain we do not
 *    serve: 404 "Domain Not Served".  A proxy that would rather forward such
 *    a REGISTER asks sb_registrar_serves() before handing it over.
 *  - step 5, a To URI that is not sip/sips (RFC 4475 unksm2): 400
 *    "Address of Record Not SIP".
 *  - step 7, the Call-ID/CSeq order: a request whose Call-ID equals a
 *    binding's and whose CSeq is not higher "MUST be aborted and the request
 *    fails": 500 "Out of Order CSeq", nothing changed.
 *  - a bound (max_per_aor, max_bindings, SB_REG_MAX_CONTACTS): 503 "Too Many
 *    Contacts" / "Too Many Bindings", nothing changed (Kamailio answers its
 *    max_contacts with 503 too).
 *  - bindings are applied whole or not at all (step 7 last paragraph):
 *    every check runs before the first change.
 *  - steps 3 and 4, with cfg.authn: a REGISTER without good credentials
 *    gets 401 with WWW-Authenticate (authn.h); the authenticated user must
 *    own the To AOR (its user part, in one of our domains), else 403.
 *  - with cfg.store, the 200 is sent only once every change of the request
 *    is committed (store.h), so an acknowledged binding survives a kill -9;
 *    a failed commit answers 500 (the bindings in memory stay: the next
 *    REGISTER writes them again).
 *  - the 200 OK carries no Date (step 8 says SHOULD): responses stay
 *    byte-exact for tests; a Date can come with the server.
 *
 * Not thread-safe: it belongs to its loop's thread. */
#ifndef SWITCHBOARD_REGISTRAR_H
#define SWITCHBOARD_REGISTRAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "switchboard/base.h"
#include "switchboard/location.h"
#include "switchboard/loop.h"
#include "switchboard/sip.h"
#include "switchboard/transport.h"

#define SB_REG_DEFAULT_MIN_EXPIRES 60u     /* seconds; below: 423 */
#define SB_REG_DEFAULT_MAX_EXPIRES 3600u   /* seconds; above: clamped */
#define SB_REG_DEFAULT_EXPIRES     3600u   /* neither param nor header */
#define SB_REG_MAX_CONTACTS        32u     /* Contact values per REGISTER: 503 */
#define SB_REG_MAX_DOMAINS         64u     /* entries of cfg.domains */

struct sb_registrar;
struct sb_authn;
struct sb_store;

typedef void (sb_registrar_done_h)(uint64_t token, const char *buf, size_t len, void *arg);

struct sb_registrar_cfg {
	struct sb_location *location; /* required */
	struct sb_loop *loop;         /* required: "now" for remaining expiry */
	uint32_t min_expires;         /* 0: SB_REG_DEFAULT_MIN_EXPIRES */
	uint32_t max_expires;         /* 0: SB_REG_DEFAULT_MAX_EXPIRES */
	uint32_t default_expires;     /* 0: SB_REG_DEFAULT_EXPIRES */
	/* Host names or addresses we are the registrar for, compared
	 * case-insensitively with the host of the Request-URI and of the To URI
	 * (IPv6 with its [], as written in URIs); NULL-terminated, copied.
	 * NULL or empty: every domain. */
	const char *const *domains;
	uint32_t tag_seed;            /* mixed into the To tags we add */
	struct sb_authn *authn;       /* NULL: no authentication */
	struct sb_store *store;       /* NULL: bindings in memory only */
	/* A response left in progress (sb_registrar_handle returned
	 * EINPROGRESS) is handed here, whole, once the store has committed. */
	sb_registrar_done_h *done_h;
	void *done_arg;
	/* Wall clock seconds (nonces, durable expiry).  NULL: time(NULL). */
	uint64_t (*wall_h)(void *arg);
	void *wall_arg;
};

/* 0, EINVAL (no location or loop, min_expires > max_expires, too many
 * domains, default_expires outside [min, max]), ENOMEM. */
int sb_registrar_alloc(struct sb_registrar **rp, const struct sb_registrar_cfg *cfg);
void sb_registrar_free(struct sb_registrar *r);

/* Whether the Request-URI host of req is one of ours (RFC 3261 §10.3 step
 * 1).  False for a Request-URI that does not parse. */
bool sb_registrar_serves(const struct sb_registrar *r, const struct sb_sip_msg *req);

/* Process req, a REGISTER that passed sb_sip_validate() with role
 * SB_ROLE_REGISTRAR, per RFC 3261 §10.3 steps 1, 3-8, and print the whole
 * response into out (a To tag is added).  rx->proto/src/conn_id are
 * recorded in the bindings as their source, so that the proxy can reach a
 * phone behind NAT over the flow it registered on.
 * Returns 0 when a response was printed (whatever its code); EINPROGRESS
 * when the response waits for the store: done_h(token, ...) gets it later
 * (nothing is in out); EAGAIN when nothing should be sent (a source locked
 * out with lockout_silent); EINVAL when req is not a REGISTER request;
 * EBADMSG when it lacks a header a response needs (nothing can be
 * answered); ENOSPC when out is full.  On error out->len is restored.  rx
 * may be NULL (no source recorded, no authentication by source). */
int sb_registrar_handle(struct sb_registrar *r, struct sb_sip_msg *req,
			const struct sb_tp_rx *rx, uint64_t token, struct sb_buf *out);

/* Responses waiting for the store now (tests, stats). */
size_t sb_registrar_pending(const struct sb_registrar *r);

#endif
