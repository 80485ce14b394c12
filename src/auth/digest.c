/* auth/digest: the stateless arithmetic of Digest (RFC 7616 §3.4, RFC 2617
 * §3.2.2 for the RFC 2069 form): algorithm names, HA1, and the
 * request-digest.  The hashes are libcrypto's (EVP); nothing here keeps
 * state, so the registrar, the proxy, the phone and the tests share it.
 *
 * Every hash is H(part ":" part ":" ...) over slices fed to one EVP_MD_CTX,
 * so nothing is concatenated into a buffer first. */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <openssl/evp.h>

#include "switchboard/auth.h"

/* Parts of one H(a ":" b ":" ...) at most: KD's input has seven. */
#define DIGEST_MAX_PARTS 8u

const char *sb_digest_alg_name(enum sb_digest_alg alg)
{
	return alg == SB_DIGEST_SHA256 ? "SHA-256" : "MD5";
}

size_t sb_digest_hex_len(enum sb_digest_alg alg)
{
	return alg == SB_DIGEST_SHA256 ? SB_DIGEST_SHA256_HEX : SB_DIGEST_MD5_HEX;
}

int sb_digest_alg_parse(struct sb_slice s, enum sb_digest_alg *alg)
{
	/* RFC 7616 §3.3: "If this is not present, it is assumed to be MD5." */
	if (!s.p || sb_slice_caseeq_cstr(s, "MD5")) {
		*alg = SB_DIGEST_MD5;
		return 0;
	}
	if (sb_slice_caseeq_cstr(s, "SHA-256")) {
		*alg = SB_DIGEST_SHA256;
		return 0;
	}
	/* -sess variants, SHA-512-256 and unknown tokens: never offered by us,
	 * so a client answering with them did not answer our challenge. */
	return ENOTSUP;
}

/* The digests, fetched once: EVP_md5() and EVP_sha256() make every
 * EVP_DigestInit_ex fetch the implementation again (OpenSSL 3 "implicit
 * fetch"), which doubled the cost of a hash.  Fetched objects are
 * reference-counted and may be shared between threads. */
static EVP_MD *fetched[SB_DIGEST_ALG_COUNT];
static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;

static void fetch_all(void)
{
	fetched[SB_DIGEST_MD5] = EVP_MD_fetch(NULL, "MD5", NULL);
	fetched[SB_DIGEST_SHA256] = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static const EVP_MD *evp_md(enum sb_digest_alg alg)
{
	pthread_once(&fetch_once, fetch_all);
	switch (alg) {
	case SB_DIGEST_MD5:
	case SB_DIGEST_SHA256:
		return fetched[alg] ? fetched[alg] : alg == SB_DIGEST_MD5 ? EVP_md5() : EVP_sha256();
	}
	return NULL;
}

static bool valid_alg(enum sb_digest_alg alg)
{
	return alg == SB_DIGEST_MD5 || alg == SB_DIGEST_SHA256;
}

/* out = lower-case hex of H(parts[0] ":" parts[1] ":" ...), NUL-terminated;
 * out has room (the callers check cap).  0 or EIO. */
static int hash_hex(enum sb_digest_alg alg, const struct sb_slice *parts, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int err = EIO;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	if (!c)
		return ENOMEM;
	if (EVP_DigestInit_ex2(c, evp_md(alg), NULL) != 1)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (i && EVP_DigestUpdate(c, ":", 1) != 1)
			goto out;
		if (parts[i].l && EVP_DigestUpdate(c, parts[i].p, parts[i].l) != 1)
			goto out;
	}
	if (EVP_DigestFinal_ex(c, md, &mdlen) != 1 || mdlen * 2 != sb_digest_hex_len(alg))
		goto out;
	for (unsigned i = 0; i < mdlen; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[2 * mdlen] = '\0';
	err = 0;
out:
	EVP_MD_CTX_free(c);
	return err;
}

int sb_digest_ha1(enum sb_digest_alg alg, struct sb_slice user, struct sb_slice realm,
		  struct sb_slice password, char *out, size_t cap)
{
	if (!valid_alg(alg) || !out)
		return EINVAL;
	if (cap < sb_digest_hex_len(alg) + 1)
		return ENOSPC;
	/* RFC 7616 §3.4.2: A1 = unq(username) ":" unq(realm) ":" passwd */
	const struct sb_slice parts[] = { user, realm, password };
	return hash_hex(alg, parts, SB_ARRAY_LEN(parts), out);
}

static bool is_hex(struct sb_slice s)
{
	for (size_t i = 0; i < s.l; i++) {
		char c = s.p[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			return false;
	}
	return true;
}

int sb_digest_response(const struct sb_digest_input *in, char *out, size_t cap)
{
	if (!in || !out || !valid_alg(in->alg))
		return EINVAL;
	size_t hl = sb_digest_hex_len(in->alg);
	if (!in->ha1.p || in->ha1.l != hl || !is_hex(in->ha1))
		return EINVAL;
	if (in->qop.p && !sb_slice_caseeq_cstr(in->qop, "auth"))
		return EINVAL; /* auth-int would need H(entity-body) */
	if (cap < hl + 1)
		return ENOSPC;

	/* KD hashes HA1 as lower-case hex (RFC 7616 §3.4.1: the hex of
	 * H(A1)); a store keeping it upper-case must not change the result. */
	char ha1[SB_DIGEST_HEX_CAP];
	for (size_t i = 0; i < hl; i++) {
		char c = in->ha1.p[i];
		ha1[i] = (c >= 'A' && c <= 'F') ? (char)(c - 'A' + 'a') : c;
	}

	/* RFC 7616 §3.4.3: qop=auth, A2 = Method ":" request-uri */
	char ha2[SB_DIGEST_HEX_CAP];
	const struct sb_slice a2[] = { in->method, in->uri };
	int err = hash_hex(in->alg, a2, SB_ARRAY_LEN(a2), ha2);
	if (err)
		return err;

	struct sb_slice kd[DIGEST_MAX_PARTS];
	size_t n = 0;
	kd[n++] = sb_slice_from(ha1, hl);
	kd[n++] = in->nonce;
	if (in->qop.p) {
		/* RFC 7616 §3.4.1: KD(H(A1), nonce:nc:cnonce:qop:H(A2)) */
		kd[n++] = in->nc;
		kd[n++] = in->cnonce;
		kd[n++] = in->qop;
	}
	/* RFC 2617 §3.2.2.1 (RFC 2069 compatibility): KD(H(A1), nonce:H(A2)) */
	kd[n++] = sb_slice_from(ha2, hl);
	return hash_hex(in->alg, kd, n, out);
}
