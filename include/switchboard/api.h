/* api: the operator's JSON API over HTTP (libmicrohttpd), served on the
 * SIP loop's thread: libmicrohttpd runs without threads of its own
 * (external epoll mode) and its epoll descriptor sits in our loop, so the
 * handlers read and change the user directory, the location service and
 * the store with no locking.  Writes answer once the store has committed
 * them (the connection is suspended until the store's done handler runs).
 *
 * Every request must carry "Authorization: Bearer TOKEN" (else 401, and
 * the connection is closed; the token is compared in constant time).
 * Resources (JSON in and out, errors as {"error": "a sentence"}):
 *   GET    /api/v1/users[?limit=N&after=NAME]     {"users": [USER...],
 *                                                  "next": CURSOR} by name
 *   POST   /api/v1/users        {"name","password"}      201 USER; 409 exists
 *   GET    /api/v1/users/NAME                      USER; 404
 *   DELETE /api/v1/users/NAME                      204; 404 (its rules and
 *                                                  registrations go too)
 *   PUT    /api/v1/users/NAME/password {"password"}   204; 404
 *   GET    /api/v1/users/NAME/forward              {"name", "forward": RULES}
 *   PUT    /api/v1/users/NAME/forward/KIND {"target","after"}  204
 *   DELETE /api/v1/users/NAME/forward/KIND         204; 404 (no such rule)
 *   GET    /api/v1/registrations[?user=NAME&limit=N&after=CURSOR]
 *                                                  {"registrations": [REG...],
 *                                                   "next": CURSOR}
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
 * others.  A name follows users.h's rules and is not "." or ".." (a path
 * could not hold it); a password is 1 to SB_API_MAX_PASSWORD bytes.  In a
 * path or a query, NAME is %-escaped as needed.
 * Bodies are strict: unknown fields are refused.
 *
 * Lists come in pages, in their order (users by name, registrations by
 * AOR then contact, bytes compared): "limit" (1..SB_API_PAGE_MAX, default
 * SB_API_PAGE_DEFAULT) items after the key "after" (%-escaped; absent:
 * from the start).  "next" is null on the last page, else a CURSOR: the
 * key of the page's last item, %-escaped but for ALPHA, DIGIT and "-._~",
 * so that it goes back as it is: ?after=CURSOR.  A user's cursor is its
 * name; a registration's is its AOR, a space, and its contact.  What is
 * added or removed between pages shows or not as its key falls after the
 * cursor or not; an item is listed once, unless its key changes between
 * pages (a refresh that spells the contact anew).
 *
 * Bad JSON, a bad value or a bad parameter: 400 naming it; an unknown
 * path: 404; a wrong method: 405 with Allow; a body over SB_API_MAX_BODY:
 * 413 when Content-Length says so, else (chunked) the connection is closed
 * as the body passes it; a change to a user (or its registrations) while
 * another change to it is still being saved: 409; the store's queue full
 * or the store busy, the user directory full, the server stopping: 503;
 * anything else: 500.
 * Each request is logged at INFO: method and path (control bytes
 * replaced), status.
 *
 * Changes: checked against memory, queued to the store, and made in
 * memory only once the store has committed all of them; then answered.
 * When the store cannot take or save them, memory is not changed: 503 if
 * nothing was queued (its queue full) or the store was busy, else 500; the
 * sentence says whether the store may hold part of a change of several
 * operations (deleting a user: the user, its rules, its registrations).
 * Repeating the request completes it: a DELETE of a user memory does not
 * have still clears what the store holds under that name, then answers
 * 404.  A registration removed is one the request saw; a REGISTER that
 * refreshed it meanwhile keeps it.
 *
 * Connections: at most SB_API_MAX_CONNECTIONS.  One that has not brought
 * a request with the token (its headers complete) within
 * SB_API_AUTH_TIMEOUT_S of its start is closed, whatever it sends, and
 * when all are taken a new one pushes out the oldest of those; once it
 * has, it may stay idle for SB_API_TIMEOUT_S.
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
#define SB_API_TIMEOUT_S 30u          /* idle connection, once it showed the token */
#define SB_API_AUTH_TIMEOUT_S 5u      /* from accept to a request with the token */
#define SB_API_PAGE_DEFAULT 1000u     /* items of a list page */
#define SB_API_PAGE_MAX 10000u
#define SB_API_DRAIN_MS 2000u         /* sb_api_free(): sending answers made */
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
 * settled first (sb_store_flush), so free the API before the store; then
 * no new connection is accepted, a new request is answered 503, and the
 * answers already made are sent, for at most SB_API_DRAIN_MS (the loop is
 * not run meanwhile: MHD is run on its own).  NULL is fine. */
void sb_api_free(struct sb_api *a);

#endif
