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
 *  - no authentication yet (steps 3 and 4): it comes with the auth issue.
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
};

/* 0, EINVAL (no location or loop, min_expires > max_expires, too many
 * domains, default_expires outside [min, max]), ENOMEM. */
int sb_registrar_alloc(struct sb_registrar **rp, const struct sb_registrar_cfg *cfg);
void sb_registrar_free(struct sb_registrar *r);

/* Whether the Request-URI host of req is one of ours (RFC 3261 §10.3 step
 * 1).  False for a Request-URI that does not parse. */
bool sb_registrar_serves(const struct sb_registrar *r, const struct sb_sip_msg *req);

/* Process req, a REGISTER that passed sb_sip_validate() with role
 * SB_ROLE_REGISTRAR, per RFC 3261 §10.3 steps 1, 5-8, and print the whole
 * response into out (a To tag is added).  rx->proto/src/conn_id are
 * recorded in the bindings as their source, so that the proxy can reach a
 * phone behind NAT over the flow it registered on.
 * Returns 0 when a response was printed (whatever its code); EINVAL when
 * req is not a REGISTER request; EBADMSG when it lacks a header a response
 * needs (nothing can be answered); ENOSPC when out is full.  On error
 * out->len is restored.  rx may be NULL (no source recorded). */
int sb_registrar_handle(struct sb_registrar *r, struct sb_sip_msg *req,
			const struct sb_tp_rx *rx, struct sb_buf *out);

#endif
