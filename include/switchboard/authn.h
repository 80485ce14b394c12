/* authn: the authentication step of the registrar (RFC 3261 §10.3 steps 3
 * and 4: 401 and WWW-Authenticate) and of the proxy (§22.3: 407 and
 * Proxy-Authenticate), over the digest verifier (auth.h), the user
 * directory (users.h) and a guard against password guessing.
 *
 * sb_authn_check() looks at the credentials of one request and returns a
 * verdict with everything the caller needs to answer it:
 *  - OK: res->user is authenticated; res->cred_hdr is the index of the
 *    header field that carried our credentials (a proxy deletes it before
 *    forwarding, RFC 3261 §22.3 keeps credentials of other realms);
 *  - CHALLENGE: answer res->code (401 or 407) with res->extra (the
 *    WWW-Authenticate / Proxy-Authenticate lines, stale=true when the
 *    digest was right but the nonce expired);
 *  - FORBIDDEN: answer 403 (res->reason);
 *  - LOCKED: the source is locked out after too many failures: answer 403
 *    or send nothing (res->silent);
 *  - ERROR: answer 500 (no memory, no randomness).
 *
 * No enumeration: an unknown user is verified against a dummy HA1
 * (sb_digest_dummy_ha1), so it gets the same CHALLENGE after the same work
 * as a known user with a wrong password.
 *
 * Nonces are bound to the peer they were issued to (sb_digest_*_bound with
 * sb_addr_peer_key), so only a sender that received our challenge holds a
 * valid one.  The guard: a wrong response to such a nonce (a wrong password,
 * or an unknown user) counts one failure for the source address and one for
 * the user named; other BAD credentials (another peer's or a forged nonce,
 * garbled fields, a wrong digest uri) are challenged again without counting,
 * since a spoofed UDP source could send them.  max_failures failures of a
 * source within window_s lock it out for lockout_s seconds (logged once,
 * with the user named last); a user with max_failures failures within
 * window_s is logged (it is not locked, or anyone could lock anyone out).
 * A success does not clear the source's count (one good account must not
 * buy endless guesses at others).  Sources are counted by peer, as the transport counts
 * connections (sb_addr_same_peer: an IPv4 address or an IPv6 /64, any
 * port).  The tables are bounded (max_tracked, by default
 * SB_AUTHN_MAX_TRACKED, entries each; the least recently touched go first).
 *
 * Not thread-safe: it belongs to its loop's thread. */
#ifndef SWITCHBOARD_AUTHN_H
#define SWITCHBOARD_AUTHN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "switchboard/auth.h"
#include "switchboard/proxy.h"
#include "switchboard/sip.h"
#include "switchboard/transport.h"
#include "switchboard/users.h"

#define SB_AUTHN_DEFAULT_MAX_FAILURES 10u
#define SB_AUTHN_DEFAULT_WINDOW_S 60u
#define SB_AUTHN_DEFAULT_LOCKOUT_S 300u
#define SB_AUTHN_MAX_TRACKED 65536u     /* sources, and users, with a count */
/* Bytes of the challenge lines of one response. */
#define SB_AUTHN_EXTRA_MAX 1024u

struct sb_authn;

struct sb_authn_cfg {
	struct sb_digest *digest;   /* required; not owned */
	struct sb_users *users;     /* required; not owned */
	uint32_t max_failures;      /* 0: SB_AUTHN_DEFAULT_MAX_FAILURES */
	uint32_t window_s;          /* 0: SB_AUTHN_DEFAULT_WINDOW_S */
	uint32_t lockout_s;         /* 0: SB_AUTHN_DEFAULT_LOCKOUT_S */
	bool lockout_silent;        /* locked sources get nothing, not 403 */
	sb_log_h *log_h;            /* NULL: no logs */
	void *log_arg;
	uint64_t seed;
	uint32_t max_tracked;       /* entries per guard table; 0: SB_AUTHN_MAX_TRACKED */
};

/* 0, EINVAL, ENOMEM. */
int sb_authn_alloc(struct sb_authn **ap, const struct sb_authn_cfg *cfg);
void sb_authn_free(struct sb_authn *a);   /* NULL is fine */

enum sb_authn_kind {
	SB_AUTHN_WWW = 0,    /* registrar: Authorization, 401, WWW-Authenticate */
	SB_AUTHN_PROXY,      /* proxy: Proxy-Authorization, 407, Proxy-Authenticate */
};

enum sb_authn_verdict {
	SB_AUTHN_OK = 0,
	SB_AUTHN_CHALLENGE,
	SB_AUTHN_FORBIDDEN,
	SB_AUTHN_LOCKED,
	SB_AUTHN_ERROR,
};

struct sb_authn_result {
	enum sb_authn_verdict verdict;
	unsigned code;              /* 401, 407, 403, 500; 0 for OK */
	const char *reason;         /* a reason phrase for code, or NULL: the default */
	bool silent;                /* LOCKED with lockout_silent */
	bool stale;                 /* CHALLENGE with stale=true */
	enum sb_digest_why why;     /* what was wrong, for logs and tests */
	/* OK: the authenticated user (NUL-terminated) and the header index
	 * (into req->hdrs) of the field with our credentials. */
	char user[SB_DIGEST_MAX_USER + 1];
	size_t user_len;
	uint16_t cred_hdr;
	/* CHALLENGE: complete header lines, CRLF-terminated, to add to the
	 * response; extra_len bytes, followed by a NUL.  Empty otherwise. */
	char extra[SB_AUTHN_EXTRA_MAX];
	size_t extra_len;
};

/* Judge req (validated; its Request-URI is the digest uri to match) from
 * src at now_s (wall clock seconds).  The first credentials of our realm in
 * the kind's header are verified; none gives a CHALLENGE (without counting
 * a failure).  Always fills res and returns its verdict. */
enum sb_authn_verdict sb_authn_check(struct sb_authn *a, const struct sb_sip_msg *req,
				     const struct sb_addr *src, enum sb_authn_kind kind,
				     uint64_t now_s, struct sb_authn_result *res);

/* Whether the authenticated user owns uri (RFC 3261 §22: "the authenticated
 * user must own the From (INVITE) or To (REGISTER) address"): a sip/sips
 * URI whose unescaped user part equals user byte for byte.  The caller
 * checks the host is one of its domains. */
bool sb_authn_owns(struct sb_slice user, const struct sb_uri *uri);

/* Verdicts and events since sb_authn_alloc: ok, challenged, forbidden and
 * locked_out count verdicts (locked_out: requests refused because their
 * source was locked); failed counts failures (BAD), stale and replayed the
 * challenges for those reasons; lockouts counts sources that got locked. */
struct sb_authn_stats {
	uint64_t ok, challenged, failed, stale, replayed, forbidden, locked_out;
	uint32_t sources_locked;    /* now */
	uint64_t lockouts;
};
/* sources_locked walks the source table: O(max_tracked), for stats only. */
void sb_authn_get_stats(const struct sb_authn *a, uint64_t now_s, struct sb_authn_stats *st);

#endif
