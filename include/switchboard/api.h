/* api: the operator's JSON API over HTTP (libmicrohttpd), served on the
 * SIP loop's thread: libmicrohttpd runs without threads of its own
 * (external epoll mode) and its epoll descriptor sits in our loop, so the
 * handlers read and change the user directory, the location service and
 * the store with no locking.  Writes answer once the store has committed
 * them (the connection is suspended until the store's done handler runs).
 *
 * Every request must carry "Authorization: Bearer TOKEN" (else 401; the
 * token is compared in constant time).
 * Resources (JSON in and out, errors as {"error": "a sentence"}):
 *   GET    /api/v1/users                          {"users": [USER...]} by name
 *   POST   /api/v1/users        {"name","password"}      201 USER; 409 exists
 *   GET    /api/v1/users/NAME                      USER; 404
 *   DELETE /api/v1/users/NAME                      204; 404 (its rules and
 *                                                  registrations go too)
 *   PUT    /api/v1/users/NAME/password {"password"}   204; 404
 *   GET    /api/v1/users/NAME/forward              {"name", "forward": RULES}
 *   PUT    /api/v1/users/NAME/forward/KIND {"target","after"}  204
 *   DELETE /api/v1/users/NAME/forward/KIND         204; 404 (no such rule)
 *   GET    /api/v1/registrations[?user=NAME]       {"registrations": [REG...]}
 *   DELETE /api/v1/registrations/NAME              200 {"removed": N}: every
 *                                                  binding of sip:NAME@DOMAIN
 *                                                  and sips:NAME@DOMAIN, each
 *                                                  of our domains; 404 if none
 *   GET    /api/v1/stats                           counters (below)
 * USER  = {"name", "created": "2024-05-01T12:00:00Z" (ISO 8601, UTC, whole
 *          seconds), "forward": RULES}
 * RULES = {KIND: {"target": URI or null (dnd), "after": seconds or null
 *          (noanswer only)}, ...}, only the kinds that are set
 * REG   = {"aor", "contact", "expires_in" (seconds left, rounded up), "q"
 *          (0..1), "call_id", "cseq", "source" ("udp 127.0.0.1:5062")},
 *          sorted by AOR then contact
 * stats = {"sip": {"requests", "responses_in", "responses_out": {"1xx"..
 *          "6xx"}, "calls", "calls_answered", "calls_forwarded",
 *          "challenged", "transactions", "contexts"} or null (no proxy),
 *          "registrations": {"bindings", "aors"}, "users": N,
 *          "auth": {"ok", "challenged", "failed", "stale", "replayed",
 *          "forbidden", "locked_out", "sources_locked"} or null (no authn),
 *          "store": {"batches", "committed", "failed", "outstanding"} or
 *          null (no store), "uptime_s"}
 * KIND is always, busy, noanswer, unavailable or dnd (store.h).  "target"
 * is a sip: or sips: URI, required except for dnd; "after" (1..
 * SB_STORE_MAX_NOANSWER_S) is required for noanswer and refused for the
 * others.  A name follows users.h's rules; a password is 1 to
 * SB_API_MAX_PASSWORD bytes.  In a path, NAME is %-escaped as needed.
 * Bodies are strict: unknown fields are refused.
 * Bad JSON or a bad value: 400 naming the field; an unknown path: 404; a
 * wrong method: 405 with Allow; a body over SB_API_MAX_BODY: 413; the
 * store's queue full: 503; anything else: 500.  Each request is logged at
 * INFO: method, path, status.
 *
 * A change is made in memory and queued to the store; the answer is sent
 * once the store has committed it.  A change the store cannot take at all
 * (its queue is full) is not made (503).
 *
 * Not thread-safe: it belongs to its loop's thread. */
#ifndef SWITCHBOARD_API_H
#define SWITCHBOARD_API_H

#include <stddef.h>
#include <stdint.h>

#include "switchboard/authn.h"
#include "switchboard/location.h"
#include "switchboard/loop.h"
#include "switchboard/proxy.h"
#include "switchboard/store.h"
#include "switchboard/transport.h"
#include "switchboard/users.h"

#define SB_API_DEFAULT_PORT 5081u
#define SB_API_MAX_BODY 65536u        /* bytes of a request body */
#define SB_API_MAX_CONNECTIONS 64u
#define SB_API_TIMEOUT_S 30u          /* idle connection */
#define SB_API_MIN_TOKEN 16u          /* bytes of a token, at least */
#define SB_API_MAX_TOKEN 256u
#define SB_API_MAX_PASSWORD 128u      /* bytes of a password */

struct sb_api;

struct sb_api_cfg {
	struct sb_loop *loop;           /* required */
	struct sb_addr listen;          /* required: TCP address and port (0: any) */
	const char *token;              /* required: SB_API_MIN_TOKEN..SB_API_MAX_TOKEN
					 * printable bytes, no spaces */
	const char *realm;              /* required: HA1s are computed for it */
	struct sb_users *users;         /* required */
	struct sb_location *location;   /* required */
	struct sb_store *store;         /* NULL: changes live in memory only */
	struct sb_proxy *proxy;         /* NULL: no SIP counters in stats */
	struct sb_authn *authn;         /* NULL: no auth counters in stats */
	const char *const *domains;     /* NULL-terminated: AORs sip:NAME@DOMAIN per user */
	sb_log_h *log_h;
	void *log_arg;
};

/* Listen and serve.  0, EINVAL (a required field missing, a short token),
 * EADDRINUSE, or another errno, with a sentence in err.  The strings of
 * cfg are copied; the objects must outlive the API. */
int sb_api_alloc(struct sb_api **ap, const struct sb_api_cfg *cfg, char *err, size_t errcap);
/* The address it listens on: cfg->listen with the port the kernel chose
 * when that was 0. */
void sb_api_bound(const struct sb_api *a, struct sb_addr *out);
/* Close every connection and stop.  Requests waiting for the store are
 * settled first (sb_store_flush), so free the API before the store.
 * NULL is fine. */
void sb_api_free(struct sb_api *a);

#endif
