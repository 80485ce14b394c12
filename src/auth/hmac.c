/* auth/hmac.c: HMAC-SHA256 with the key set once (see switchboard/hmac.h).
 * The EVP_MAC context is keyed at alloc; each MAC re-initialises it with a
 * NULL key, which keeps the key and the fetched digest (OpenSSL 3
 * EVP_MAC_init: "key may be NULL to reuse the previous key"). */
#include <errno.h>
#include <stdlib.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "switchboard/hmac.h"

struct sb_hmac {
	EVP_MAC_CTX *ctx;
};

int sb_hmac_alloc(struct sb_hmac **hp, const uint8_t *key, size_t len)
{
	*hp = NULL;
	if (!key || !len)
		return EINVAL;
	struct sb_hmac *h = calloc(1, sizeof *h);
	if (!h)
		return ENOMEM;
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (mac)
		h->ctx = EVP_MAC_CTX_new(mac);
	EVP_MAC_free(mac); /* the context holds its own reference */
	char digest[] = "SHA256";
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
		OSSL_PARAM_construct_end(),
	};
	if (!h->ctx || EVP_MAC_init(h->ctx, key, len, params) != 1) {
		sb_hmac_free(h);
		return EIO;
	}
	*hp = h;
	return 0;
}

void sb_hmac_free(struct sb_hmac *h)
{
	if (!h)
		return;
	EVP_MAC_CTX_free(h->ctx);
	free(h);
}

int sb_hmac_sha256(struct sb_hmac *h, const struct sb_slice *parts, size_t n,
		   uint8_t out[SB_HMAC_SHA256_LEN])
{
	size_t olen = 0;
	if (EVP_MAC_init(h->ctx, NULL, 0, NULL) != 1)
		return EIO;
	for (size_t i = 0; i < n; i++)
		if (parts[i].l &&
		    EVP_MAC_update(h->ctx, (const unsigned char *)parts[i].p, parts[i].l) != 1)
			return EIO;
	if (EVP_MAC_final(h->ctx, out, &olen, SB_HMAC_SHA256_LEN) != 1 ||
	    olen != SB_HMAC_SHA256_LEN)
		return EIO;
	return 0;
}
