/* proxy: the transaction-stateful proxy core of RFC 3261 §16.
 *
 * The proxy owns a transaction layer (RFC 3261 §17) and sits on it as its
 * transaction user.  Every message from the transport goes into
 * sb_proxy_recv(): it is validated (RFC 3261 §8.2, §16.3), broken requests are
 * answered statelessly, and the rest is dispatched by the transaction layer.
 * New requests are routed (§16.4), given a target set (§16.5: the location
 * service for our domains, the Request-URI host otherwise) and forwarded
 * (§16.6) through client transactions; responses are collected in a response
 * context and the best one is sent upstream (§16.7); CANCEL cancels the
 * pending branches (§16.10).  ACKs for 2xx and stray 2xx retransmissions are
 * forwarded statelessly.
 *
 * REGISTER for one of our domains is handed to register_h (the registrar),
 * which prints the response at once or later (sb_proxy_register_answer).
 * A user of ours is "known" when it is in the user directory (cfg.users),
 * or its AOR was registered successfully, or was called at its bindings,
 * since the proxy started (an open registrar, or bindings restored from a
 * store; the only way without a directory).  An unknown user gets 404 (480
 * with authentication on, to a caller who did not authenticate), a known
 * one without bindings 480.  The network
 * forwarding rules of the users in the directory apply to calls
 * (SB_PROXY_MAX_FWD_HOPS bounds a chain of them).
 *
 * With cfg.authn, out-of-dialog requests of the methods in auth_methods
 * are challenged statelessly with 407 (RFC 3261 §22.3); the authenticated
 * user must own the From URI (403 otherwise) and our credentials (those of
 * cfg.realm) are removed from every request forwarded.
 *
 * Targets outside our domains must have a numeric host (no DNS yet): a name
 * gets 502.  A binding is reached over the flow its REGISTER came on (its
 * source: TCP connection, or UDP address when a NAT rewrote the Contact's)
 * and at its Contact otherwise, or when that flow has closed.
 *
 * Loop detection (§16.3 step 4): our branch is SB_PROXY_BRANCH_PREFIX, a
 * hash of the §16.6 step 8 fields (without the top Via, which would defeat
 * it), "." and a counter.  A request carrying a Via of ours with its own
 * hash came back unchanged: 482.  A spiral changed the Request-URI (or
 * another hashed field) and is forwarded.
 *
 * The responses the proxy makes itself carry a To tag derived from the
 * Call-ID, so that the ACK for a stateless error response is absorbed.
 *
 * Not thread-safe: a proxy belongs to its loop's thread. */
#ifndef SWITCHBOARD_PROXY_H
#define SWITCHBOARD_PROXY_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "switchboard/base.h"
#include "switchboard/location.h"
#include "switchboard/loop.h"
#include "switchboard/sip.h"
#include "switchboard/transaction.h"
#include "switchboard/transport.h"

/* Bounds. */
#define SB_PROXY_MAX_LISTEN       16u   /* local addresses the proxy is */
#define SB_PROXY_MAX_DOMAINS      16u   /* domains it is responsible for */
#define SB_PROXY_MAX_NAME         256u  /* bytes of a domain name */
#define SB_PROXY_MAX_TARGETS      16u   /* targets of one request (§16.5) */
#define SB_PROXY_MAX_KNOWN_AORS   65536u /* AORs remembered as "known" */
#define SB_PROXY_MAX_ROUTE_POPS   4u    /* our own Route values removed (RFC 5658) */
/* Network forwarding rules applied along one call's chain (a forwards to
 * b, b to c, ...); past it a rule is not applied, so a loop of rules ends. */
#define SB_PROXY_MAX_FWD_HOPS     3u
/* Rejected requests logged per second; the rest are counted and summed up
 * in one line ("N more rejections suppressed") with the next one logged. */
#define SB_PROXY_REJECT_LOG_PER_SEC 10u
/* RFC 3261 §16.6 step 3: Max-Forwards when the request has none. */
#define SB_PROXY_DEFAULT_MAX_FORWARDS 70u
/* RFC 3261 §16.6 step 11: Timer C, greater than 3 minutes. */
#define SB_PROXY_TIMER_C_MS       181000u
/* The magic cookie of RFC 3261 §8.1.1.7 and our own prefix after it. */
#define SB_PROXY_BRANCH_PREFIX    "z9hG4bKsb"

enum sb_log_level { SB_LOG_DEBUG = 0, SB_LOG_INFO, SB_LOG_WARN, SB_LOG_ERROR };

/* One formatted log line (no newline). */
typedef void (sb_log_h)(enum sb_log_level lvl, const char *line, void *arg);

enum sb_proxy_fork { SB_FORK_PARALLEL = 0, SB_FORK_SEQUENTIAL };

/* A local address: what the proxy writes in Via and Record-Route and how it
 * recognises itself in Route, Request-URI and Via.  addr is the advertised
 * address (never a wildcard). */
struct sb_proxy_listen {
	enum sb_tp_proto proto;
	struct sb_addr addr;
};

/* The registrar: answer the REGISTER rx->msg.  Either print the whole
 * response into out and return 0 (sent at once), or return EINPROGRESS
 * and answer later with sb_proxy_register_answer(p, token, ...) (once the
 * binding is durable).  Any other errno: the proxy answers 500. */
typedef int (sb_proxy_register_h)(const struct sb_tp_rx *rx, uint64_t token,
				  struct sb_buf *out, void *arg);

/* Wall clock seconds (digest nonces, durable expiry).  NULL: time(NULL). */
typedef uint64_t (sb_proxy_wall_h)(void *arg);

struct sb_authn;
struct sb_users;

struct sb_proxy_cfg {
	struct sb_loop *loop;                  /* required */
	struct sb_location *location;          /* required */
	sb_tsx_send_h *send_h;                 /* required: puts bytes on the wire */
	void *send_arg;
	struct sb_proxy_listen listen[SB_PROXY_MAX_LISTEN];
	unsigned nlisten;                      /* at least one */
	const char *domains[SB_PROXY_MAX_DOMAINS]; /* copied */
	unsigned ndomains;
	enum sb_proxy_fork fork;
	bool recurse_on_3xx;                   /* §16.7 step 5: recurse, else relay */
	sb_proxy_register_h *register_h;       /* NULL: REGISTER gets 501 */
	void *register_arg;
	/* RFC 3261 §22.3: out-of-dialog requests (no To tag) whose method is
	 * in auth_methods (bits 1u << enum sb_method) are challenged with 407
	 * unless they carry good Proxy-Authorization for our realm; the
	 * authenticated user must own the From URI (else 403); our
	 * Proxy-Authorization is removed before forwarding.  ACK and CANCEL
	 * are never challenged.  authn NULL or auth_methods 0: none. */
	struct sb_authn *authn;
	unsigned auth_methods;
	/* The realm of our challenges (the digest's, sb_digest_realm).  Every
	 * Proxy-Authorization field for it (its realm unescaped, compared
	 * byte for byte) was for us and is removed from everything forwarded,
	 * statelessly too: the ACK for a 2xx repeats the INVITE's credentials
	 * (§13.2.2.4), in-dialog requests may carry them; other realms'
	 * fields go on (§22.3).  Copied.  NULL: only the field that
	 * authenticated a request is removed, from that request. */
	const char *realm;
	/* The key of the dialog token in our Record-Route (proxy/dtoken.c):
	 * with it, an in-dialog request (To tag, our Route first) goes
	 * unchallenged only when its Route carries a token of its Call-ID for
	 * the host it is sent to.  NULL: a To tag and our Route suffice (as a
	 * plain RFC 3261 proxy; forgeable).  Not copied: keep it alive. */
	const uint8_t *dialog_key;
	size_t dialog_key_len;
	/* The user directory: a user of ours is "known" when it is in it
	 * (404 vs 480; a name outside it is known from registrations and
	 * calls to its bindings, as without a directory), and its network forwarding rules apply to
	 * calls (always, busy, noanswer, unavailable, dnd: fwd.c).  A
	 * no-answer delay is cut to fire before Timer C (timer_c_ms less a
	 * second), which would otherwise cancel the ringing first.  NULL:
	 * users are known from registrations, no rules. */
	struct sb_users *users;
	sb_proxy_wall_h *wall_h;
	void *wall_arg;
	sb_log_h *log_h;                       /* NULL: no logs */
	void *log_arg;
	enum sb_log_level log_level;
	uint32_t t1_ms;                        /* 0: the transaction layer's default */
	uint32_t timer_c_ms;                   /* 0: SB_PROXY_TIMER_C_MS */
	uint32_t max_tsx;                      /* 0: SB_TSX_DEFAULT_MAX */
	uint32_t seed;                         /* hashes and branches */
};

struct sb_proxy;

/* 0, EINVAL (a required field missing, a domain too long), ENOMEM. */
int sb_proxy_alloc(struct sb_proxy **pp, const struct sb_proxy_cfg *cfg);
/* Frees every request context and transaction without sending. */
void sb_proxy_free(struct sb_proxy *p);

/* One message from the transport: the transport's recv_h. */
void sb_proxy_recv(const struct sb_tp_rx *rx, void *arg);

/* Whether uri names this proxy: a sip/sips URI whose host is one of our
 * addresses or domains and whose port (5060 when absent) is one we listen
 * on.  Used for Route (§16.4) and our own Via; strict routing asks for
 * one of our Record-Route values (with lr) instead. */
bool sb_proxy_uri_is_us(const struct sb_proxy *p, const struct sb_uri *uri);
/* Whether uri is in one of our domains (§16.5): its host is one and its
 * port is absent or one we listen on ("sip:bob@127.0.0.1:5070" is a phone
 * on our host, not our domain). */
bool sb_proxy_uri_in_domain(const struct sb_proxy *p, const struct sb_uri *uri);

/* Answer a REGISTER its register_h left in progress: buf/len is the whole
 * response.  0; ENOENT when that transaction is gone (nothing is sent). */
int sb_proxy_register_answer(struct sb_proxy *p, uint64_t token, const char *buf, size_t len);

/* Counters since start, and gauges now. */
struct sb_proxy_stats {
	uint64_t requests;            /* requests received, valid or not */
	uint64_t responses_in;        /* responses received */
	uint64_t responses_out[7];    /* responses sent, by class: [1] 1xx .. [6] 6xx */
	uint64_t calls;               /* out-of-dialog INVITEs forwarded */
	uint64_t calls_answered;      /* of them, answered 2xx */
	uint64_t calls_forwarded;     /* redirected by a network forwarding rule */
	uint64_t challenged;          /* 407s sent */
	uint64_t transactions;        /* alive now */
	uint64_t contexts;            /* request contexts alive now */
};
void sb_proxy_get_stats(const struct sb_proxy *p, struct sb_proxy_stats *st);

/* Request contexts alive (for tests and stats). */
size_t sb_proxy_context_count(const struct sb_proxy *p);
struct sb_tsx_layer *sb_proxy_tsx_layer(struct sb_proxy *p);

#endif
