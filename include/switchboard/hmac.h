/* hmac: HMAC-SHA256 under a key set once (OpenSSL's EVP_MAC), for the MACs
 * computed per message: the nonces of digest authentication (auth/verifier.c)
 * and the dialog token of our Record-Route (proxy/dtoken.c).
 *
 * OpenSSL's one-shot HMAC() fetches the digest and sets the key on every
 * call (about 5 µs here); a context keyed once and re-initialised per MAC
 * costs under 1 µs.  A context is not thread-safe: one per owner, used on
 * its loop's thread. */
#ifndef SWITCHBOARD_HMAC_H
#define SWITCHBOARD_HMAC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "switchboard/base.h"

#define SB_HMAC_SHA256_LEN 32u

struct sb_hmac;

/* A context keyed with key[0..len).  0, EINVAL (no key), ENOMEM, EIO. */
int sb_hmac_alloc(struct sb_hmac **hp, const uint8_t *key, size_t len);
void sb_hmac_free(struct sb_hmac *h);
/* out = HMAC-SHA256(key, parts[0] || parts[1] || ...).  0 or EIO. */
int sb_hmac_sha256(struct sb_hmac *h, const struct sb_slice *parts, size_t n,
		   uint8_t out[SB_HMAC_SHA256_LEN]);

#endif
