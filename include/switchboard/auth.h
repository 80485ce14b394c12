/* auth: Digest authentication for SIP (RFC 3261 §22, RFC 7616, RFC 8760),
 * the server side: HA1 computation (the form users are stored in: passwords
 * are never kept), stateless nonces, nonce-count replay protection,
 * verification of Authorization / Proxy-Authorization credentials, and the
 * values of the challenges a 401 or 407 carries.
 *
 * Algorithms: MD5 and SHA-256.  The -sess variants, SHA-512-256, qop=auth-int
 * and userhash are not offered in our challenges and are refused in
 * credentials.  The RFC 2069 form (no qop) is refused unless the
 * configuration allows it (RFC 3261 §22.4 keeps it legal to receive); then
 * each nonce is good for one request only, since there is no nc to count.
 *
 * Nonces carry their issue time, 12 random bytes and a MAC under the
 * server secret, so any nonce we issued can be checked without state.  What
 * is kept is the highest nonce-count accepted per nonce, in a table bounded
 * by max_nonces (see sb_digest_verify for what happens past the bound).
 *
 * Time is passed in by the caller in seconds (now_s), never read here, so
 * tests are deterministic.  Use a wall clock (time(NULL)) when the secret is
 * configured, so that nonces stay valid across a restart.
 *
 * Not thread-safe: a context belongs to its loop's thread. */
#ifndef SWITCHBOARD_AUTH_H
#define SWITCHBOARD_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "switchboard/base.h"
#include "switchboard/sip.h"

enum sb_digest_alg {
	SB_DIGEST_MD5 = 0,
	SB_DIGEST_SHA256 = 1,
};
#define SB_DIGEST_ALG_COUNT 2u
#define SB_DIGEST_ALG_BIT(a) (1u << (a))

/* Hex digests: 32 characters for MD5, 64 for SHA-256; buffers for either
 * need SB_DIGEST_HEX_CAP bytes (the NUL included). */
#define SB_DIGEST_MD5_HEX 32u
#define SB_DIGEST_SHA256_HEX 64u
#define SB_DIGEST_HEX_CAP (SB_DIGEST_SHA256_HEX + 1u)

/* Bounds on credential fields; longer ones are refused (BAD, malformed). */
#define SB_DIGEST_MAX_USER 256u    /* username, unescaped */
#define SB_DIGEST_MAX_REALM 256u
#define SB_DIGEST_MAX_CNONCE 256u
#define SB_DIGEST_MAX_URI SB_SIP_MAX_URI_LEN

/* The server secret: at least SB_DIGEST_MIN_SECRET bytes, at most
 * SB_DIGEST_MAX_SECRET; a random one of SB_DIGEST_SECRET_LEN when none is
 * configured. */
#define SB_DIGEST_MIN_SECRET 16u
#define SB_DIGEST_MAX_SECRET 64u
#define SB_DIGEST_SECRET_LEN 32u

/* A nonce we issue: 48 base64url characters (36 bytes: issue time, random,
 * truncated HMAC-SHA256).  The opaque is 16 base64url characters. */
#define SB_DIGEST_NONCE_LEN 48u
#define SB_DIGEST_OPAQUE_LEN 16u

#define SB_DIGEST_DEFAULT_LIFETIME_S 300u     /* nonce lifetime */
#define SB_DIGEST_MAX_LIFETIME_S 86400u
#define SB_DIGEST_DEFAULT_MAX_NONCES (1u << 16) /* nonces with a remembered nc */
/* A nonce issued up to this far in the future still counts (several nodes
 * sharing a secret, clocks a little apart); further is stale. */
#define SB_DIGEST_CLOCK_SKEW_S 30u
/* Expired table entries dropped per verification, at most: bounded work. */
#define SB_DIGEST_PRUNE_STEP 8u

/* ------------------------------------------------- stateless computation */

/* "MD5" or "SHA-256". */
const char *sb_digest_alg_name(enum sb_digest_alg alg);
/* Hex length of a digest of alg: 32 or 64. */
size_t sb_digest_hex_len(enum sb_digest_alg alg);
/* The algorithm parameter of credentials or a challenge, case-insensitive;
 * absent (s.p == NULL) is MD5 (RFC 7616 §3.3).  0, or ENOTSUP for every
 * other value ("MD5-sess", "SHA-256-sess", "SHA-512-256", ...). */
int sb_digest_alg_parse(struct sb_slice s, enum sb_digest_alg *alg);

/* HA1 = H(username ":" realm ":" password) as lower-case hex (RFC 7616
 * §3.4.2), the form the user store keeps per realm and algorithm.  out gets
 * sb_digest_hex_len(alg) characters and a NUL.  0, EINVAL (bad alg),
 * ENOSPC (cap too small), EIO (libcrypto failed, e.g. MD5 in FIPS mode),
 * ENOMEM. */
int sb_digest_ha1(enum sb_digest_alg alg, struct sb_slice user, struct sb_slice realm,
		  struct sb_slice password, char *out, size_t cap);

/* What a request-digest is computed from (RFC 7616 §3.4.1).  All values
 * unescaped, as the client hashed them.  qop absent (p == NULL) gives the
 * RFC 2069 form KD(HA1, nonce ":" HA2), and nc and cnonce are not used. */
struct sb_digest_input {
	enum sb_digest_alg alg;
	struct sb_slice ha1;       /* hex, sb_digest_hex_len(alg) characters */
	struct sb_slice nonce, nc, cnonce, qop;
	struct sb_slice method, uri;
};
/* response = KD(HA1, nonce ":" nc ":" cnonce ":" qop ":" HA2), with
 * HA2 = H(method ":" digest-uri) and KD(s, d) = H(s ":" d), as lower-case
 * hex with a NUL.  Only qop=auth is computed (auth-int needs the body).
 * 0, EINVAL (bad alg, ha1 not hex of the right length, qop not "auth"),
 * ENOSPC, EIO, ENOMEM. */
int sb_digest_response(const struct sb_digest_input *in, char *out, size_t cap);

/* ------------------------------------------------------ server context */

struct sb_digest;

struct sb_digest_cfg {
	struct sb_slice realm;       /* required: 1..SB_DIGEST_MAX_REALM printable bytes */
	const uint8_t *secret;       /* NULL: a random secret per context */
	size_t secret_len;           /* SB_DIGEST_MIN_SECRET..SB_DIGEST_MAX_SECRET */
	uint32_t nonce_lifetime_s;   /* 0: SB_DIGEST_DEFAULT_LIFETIME_S */
	uint32_t max_nonces;         /* 0: SB_DIGEST_DEFAULT_MAX_NONCES */
	unsigned algs;               /* SB_DIGEST_ALG_BIT()s offered and accepted; 0: both */
	bool allow_rfc2069;          /* accept credentials without qop, once per nonce */
};

/* 0, EINVAL (no realm, a bad secret length, lifetime past
 * SB_DIGEST_MAX_LIFETIME_S, unknown alg bits), ENOMEM, EIO (no randomness). */
int sb_digest_alloc(struct sb_digest **dp, const struct sb_digest_cfg *cfg);
/* NULL is fine. */
void sb_digest_free(struct sb_digest *d);

/* Our realm, as configured (a view valid while d lives). */
struct sb_slice sb_digest_realm(const struct sb_digest *d);

/* Challenges for a 401 (WWW-Authenticate) or 407 (Proxy-Authenticate): one
 * per enabled algorithm, SHA-256 first (RFC 8760: the preferred algorithm
 * first, MD5 last for old phones), each with qop="auth", the context's
 * opaque and stale=true when asked for.  Both carry the same fresh nonce.
 * Print each with sb_auth_print_challenge() into its own header field.
 * The slices point into *out and into d: do not copy or move *out while
 * they are in use.  0, EIO (no randomness). */
struct sb_digest_challenges {
	char nonce[SB_DIGEST_NONCE_LEN + 1];
	struct sb_auth_challenge c[SB_DIGEST_ALG_COUNT];
	size_t n;
};
int sb_digest_challenges(struct sb_digest *d, uint64_t now_s, bool stale,
			 struct sb_digest_challenges *out);

/* Nonces bound to a peer: the bytes of bind (at most SB_DIGEST_MAX_BIND;
 * authn uses the peer key of the request's source, sb_addr_peer_key) enter
 * the nonce's MAC, so a nonce is only good from the peer it was issued to.
 * A sender that never received our challenge (a spoofed UDP source) cannot
 * present a valid nonce, so its attempts are not counted as password
 * failures of that source.  sb_digest_challenges() and sb_digest_verify()
 * are these with an empty bind. */
#define SB_DIGEST_MAX_BIND 32u
int sb_digest_challenges_bound(struct sb_digest *d, uint64_t now_s, bool stale,
			       struct sb_slice bind, struct sb_digest_challenges *out);

enum sb_digest_status {
	SB_DIGEST_OK = 0,
	SB_DIGEST_STALE,   /* good digest, nonce expired or forgotten: challenge with stale=true */
	SB_DIGEST_REPLAY,  /* good digest, nc not above the last accepted: challenge again */
	SB_DIGEST_BAD,     /* wrong password, unknown user, forged nonce, garbled: challenge, count a failure */
};

/* Why, for logs and counters. */
enum sb_digest_why {
	SB_DIGEST_WHY_NONE = 0,
	SB_DIGEST_WHY_SCHEME,     /* not Digest */
	SB_DIGEST_WHY_MALFORMED,  /* a field missing, too long, or not of its form */
	SB_DIGEST_WHY_REALM,      /* not our realm */
	SB_DIGEST_WHY_ALGORITHM,  /* not MD5/SHA-256, or not enabled */
	SB_DIGEST_WHY_QOP,        /* not "auth" (or absent, RFC 2069 not allowed) */
	SB_DIGEST_WHY_USERHASH,   /* userhash=true: we never offer it */
	SB_DIGEST_WHY_NONCE,      /* not a nonce of ours (forged, other secret) */
	SB_DIGEST_WHY_URI,        /* digest uri is not the Request-URI */
	SB_DIGEST_WHY_RESPONSE,   /* response does not match */
	SB_DIGEST_WHY_EXPIRED,    /* STALE: past the lifetime (or from the future) */
	SB_DIGEST_WHY_FORGOTTEN,  /* STALE: its nc may have been evicted from the table */
	SB_DIGEST_WHY_NC,         /* REPLAY */
};
const char *sb_digest_status_str(enum sb_digest_status s);
const char *sb_digest_why_str(enum sb_digest_why w);

struct sb_digest_result {
	enum sb_digest_status status;
	enum sb_digest_why why;
	enum sb_digest_alg alg;      /* of the credentials, when readable */
	uint32_t nc;                 /* of the credentials (0 for RFC 2069) */
	/* The user the credentials name, unescaped and NUL-terminated; empty
	 * when there was no readable username.  Authenticated only with OK. */
	char user[SB_DIGEST_MAX_USER + 1];
	size_t user_len;
};

/* Whether credentials are ours to judge, and for whom, before the caller
 * looks up the HA1: checks the scheme, realm, algorithm, qop, username and
 * the presence of the other fields, and fills res->user and res->alg.
 * 0: look up res->user's HA1 for res->alg (or sb_digest_dummy_ha1()) and call
 * sb_digest_verify(); ENOENT: not Digest or another realm (a proxy keeps
 * such a Proxy-Authorization and tries the next one, RFC 3261 §22.3);
 * EBADMSG: ours but unusable, res->status is BAD and res->why says why. */
int sb_digest_inspect(const struct sb_digest *d, const struct sb_auth *cred,
		      struct sb_digest_result *res);

/* An HA1 for users that do not exist, so that an unknown user costs the
 * same verification as a known one with a wrong password and gets the same
 * BAD (no user enumeration).  Fixed per context, derived from the secret:
 * no response can match it without the secret.  0, EINVAL, ENOSPC. */
int sb_digest_dummy_ha1(const struct sb_digest *d, enum sb_digest_alg alg, char *out,
			size_t cap);

/* Verify credentials (the parsed value of an Authorization or
 * Proxy-Authorization field) for a request with this method and
 * Request-URI, against ha1 (hex, for the credentials' algorithm, upper or
 * lower case), at now_s.  RFC 7616 §3.4.1 and RFC 3261 §22.4, in order:
 *  - inspect (above): anything unusable is BAD;
 *  - the nonce must be one we issued (its MAC under our secret): else BAD;
 *  - the digest uri must be the Request-URI, byte for byte or by
 *    sb_uri_equal (RFC 7616 §3.4.6; RFC 3261 §22.4 item 3: digest-uri-value
 *    = Request-URI): else BAD;
 *  - the response is compared in constant time: a mismatch is BAD;
 *  - only then the nonce's age: past the lifetime, or more than
 *    SB_DIGEST_CLOCK_SKEW_S ahead, is STALE (RFC 7616 §3.3: stale only when
 *    the digest was valid);
 *  - nc must be above the last nc accepted with this nonce: else REPLAY.
 *    A nonce not in the table whose issue time is not after the latest
 *    eviction may have been forgotten: STALE, since its past cannot be told;
 *  - OK: the nc is remembered.
 * res is filled in every case.  Returns 0 with a verdict in res; EINVAL
 * (NULL argument, ha1 not hex of the algorithm's length), ENOMEM (the table
 * could not grow: answer 500, nothing was accepted). */
int sb_digest_verify(struct sb_digest *d, const struct sb_auth *cred, struct sb_slice method,
		     struct sb_slice request_uri, const char *ha1, uint64_t now_s,
		     struct sb_digest_result *res);

int sb_digest_verify_bound(struct sb_digest *d, const struct sb_auth *cred,
			   struct sb_slice method, struct sb_slice request_uri, const char *ha1,
			   uint64_t now_s, struct sb_slice bind, struct sb_digest_result *res);

/* Nonces whose nc is remembered now (for tests and statistics). */
size_t sb_digest_nonce_count(const struct sb_digest *d);

#endif
