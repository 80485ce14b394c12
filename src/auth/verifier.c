/* auth/verifier: the server side of Digest (auth.h): the context with the
 * secret and realm, stateless nonces, the nonce-count table, the checks on
 * credentials, and the challenges to send.
 *
 * Nonce (36 bytes, printed as 48 base64url characters, safe inside a
 * quoted-string and short enough for UDP):
 *   issue time (8 bytes, big-endian seconds) || random (12 bytes) ||
 *   HMAC-SHA256(secret, time || random || realm) truncated to 16 bytes
 * A nonce is checked by recomputing its MAC (constant-time compare), so no
 * state is kept per challenge; an attacker who floods us with requests for
 * challenges costs us a RAND_bytes and an HMAC each, no memory.  16 bytes of
 * MAC is the RFC 2104 §5 "not less than half the hash output" bound.
 *
 * The nc table remembers, per nonce that authenticated a request, the
 * highest nc accepted (RFC 7616 §3.4: the server should detect replays by
 * the nc).  Only verified requests create entries, so the table cannot be
 * filled by someone who does not hold a password.  Entries live in a hash
 * table by nonce bytes and in a binary min-heap by issue time: eviction
 * takes the oldest nonce, expired entries are dropped a few at a time
 * (SB_DIGEST_PRUNE_STEP), and max_nonces bounds both.  Whatever leaves the
 * table raises `forget_before` past its issue time; a nonce not in the table
 * but issued before that may have been seen, so it is answered STALE rather
 * than trusted: eviction never opens a replay window, it only makes an old
 * nonce's client fetch a new one. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "switchboard/auth.h"
#include "switchboard/hash.h"
#include "switchboard/hmac.h"

#define NONCE_TIME 8u
#define NONCE_RAND 12u
#define NONCE_MAC 16u
#define NONCE_RAW (NONCE_TIME + NONCE_RAND + NONCE_MAC)
#define OPAQUE_RAW 12u

_Static_assert(NONCE_RAW / 3 * 4 == SB_DIGEST_NONCE_LEN, "nonce length");
_Static_assert(OPAQUE_RAW / 3 * 4 == SB_DIGEST_OPAQUE_LEN, "opaque length");

struct nc_entry {
	struct sb_hash_node node;   /* key: raw */
	uint64_t ts;                /* the nonce's issue time */
	uint32_t nc;                /* highest accepted; UINT32_MAX: used once (RFC 2069) */
	unsigned char raw[NONCE_RAW];
};

struct sb_digest {
	char realm[SB_DIGEST_MAX_REALM];
	size_t realm_len;
	unsigned char secret[SB_DIGEST_MAX_SECRET];
	size_t secret_len;
	struct sb_hmac *mac;        /* keyed with secret once (hmac.h) */
	char opaque[SB_DIGEST_OPAQUE_LEN + 1];
	char dummy[SB_DIGEST_ALG_COUNT][SB_DIGEST_HEX_CAP];
	uint32_t lifetime_s;
	uint32_t max_nonces;
	unsigned algs;
	bool allow_rfc2069;

	struct sb_hash *seen;       /* nc_entry by nonce bytes */
	struct nc_entry **heap;     /* min-heap by ts */
	uint32_t n, cap;
	uint64_t forget_before;     /* nonces issued before this may have been forgotten */
};

/* ------------------------------------------------------------ base64url */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* n a multiple of 3: writes 4n/3 characters (RFC 4648 §5, no padding). */
static void b64url_encode(const unsigned char *in, size_t n, char *out)
{
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		*out++ = b64[v >> 18];
		*out++ = b64[(v >> 12) & 63];
		*out++ = b64[(v >> 6) & 63];
		*out++ = b64[v & 63];
	}
}

static int b64url_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/* s.l a multiple of 4: writes 3 s.l / 4 bytes.  false on a foreign byte. */
static bool b64url_decode(struct sb_slice s, unsigned char *out)
{
	for (size_t i = 0; i < s.l; i += 4) {
		uint32_t v = 0;
		for (size_t k = 0; k < 4; k++) {
			int x = b64url_value(s.p[i + k]);
			if (x < 0)
				return false;
			v = v << 6 | (uint32_t)x;
		}
		*out++ = (unsigned char)(v >> 16);
		*out++ = (unsigned char)(v >> 8);
		*out++ = (unsigned char)v;
	}
	return true;
}

/* ------------------------------------------------------------- MACs */

/* HMAC-SHA256 under the secret of label || data || realm, into mac[32].
 * data is at most NONCE_TIME + NONCE_RAND bytes. */
static int mac_realm(const struct sb_digest *d, const char *label, const unsigned char *data,
		     size_t dlen, struct sb_slice bind, unsigned char mac[32])
{
	unsigned char msg[16 + NONCE_TIME + NONCE_RAND + 1 + SB_DIGEST_MAX_BIND +
			  SB_DIGEST_MAX_REALM];
	size_t ll = strlen(label), n = 0;
	if (ll > 16 || dlen > NONCE_TIME + NONCE_RAND || bind.l > SB_DIGEST_MAX_BIND)
		return EINVAL;
	memcpy(msg, label, ll);
	n += ll;
	if (dlen)
		memcpy(msg + n, data, dlen);
	n += dlen;
	/* the bound bytes, after their length: no two bindings read alike */
	msg[n++] = (unsigned char)bind.l;
	if (bind.l)
		memcpy(msg + n, bind.p, bind.l);
	n += bind.l;
	memcpy(msg + n, d->realm, d->realm_len);
	n += d->realm_len;
	struct sb_slice part = { (const char *)msg, n };
	return sb_hmac_sha256(d->mac, &part, 1, mac) == 0 ? 0 : EIO;
}

static void put_u64(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (unsigned char)v;
		v >>= 8;
	}
}

static uint64_t get_u64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* A fresh nonce issued at now_s for bind, as SB_DIGEST_NONCE_LEN
 * characters + NUL. */
static int nonce_mint(const struct sb_digest *d, uint64_t now_s, struct sb_slice bind, char *out)
{
	unsigned char raw[NONCE_RAW], mac[32];
	put_u64(raw, now_s);
	if (RAND_bytes(raw + NONCE_TIME, NONCE_RAND) != 1)
		return EIO;
	/* label "" : the nonce MAC; other MACs under the secret carry a label,
	 * so no other value we derive can be passed off as a nonce */
	int err = mac_realm(d, "", raw, NONCE_TIME + NONCE_RAND, bind, mac);
	if (err)
		return err;
	memcpy(raw + NONCE_TIME + NONCE_RAND, mac, NONCE_MAC);
	b64url_encode(raw, NONCE_RAW, out);
	out[SB_DIGEST_NONCE_LEN] = '\0';
	return 0;
}

/* Whether s is a nonce we issued for bind; then raw and *ts are filled. */
static bool nonce_open(const struct sb_digest *d, struct sb_slice s, struct sb_slice bind,
		       unsigned char *raw, uint64_t *ts)
{
	unsigned char mac[32];
	if (s.l != SB_DIGEST_NONCE_LEN || !b64url_decode(s, raw))
		return false;
	if (mac_realm(d, "", raw, NONCE_TIME + NONCE_RAND, bind, mac) != 0)
		return false;
	if (CRYPTO_memcmp(mac, raw + NONCE_TIME + NONCE_RAND, NONCE_MAC) != 0)
		return false;
	*ts = get_u64(raw);
	return true;
}

/* ------------------------------------------------------------ nc table */

static bool heap_less(const struct nc_entry *a, const struct nc_entry *b)
{
	return a->ts < b->ts;
}

static void heap_push(struct sb_digest *d, struct nc_entry *e)
{
	uint32_t i = d->n++;
	while (i > 0) {
		uint32_t parent = (i - 1) / 2;
		if (!heap_less(e, d->heap[parent]))
			break;
		d->heap[i] = d->heap[parent];
		i = parent;
	}
	d->heap[i] = e;
}

static struct nc_entry *heap_pop(struct sb_digest *d)
{
	struct nc_entry *top = d->heap[0];
	struct nc_entry *last = d->heap[--d->n];
	uint32_t i = 0;
	for (;;) {
		uint32_t l = 2 * i + 1, m = i;
		if (l >= d->n)
			break;
		m = l;
		if (l + 1 < d->n && heap_less(d->heap[l + 1], d->heap[l]))
			m = l + 1;
		if (!heap_less(d->heap[m], last))
			break;
		d->heap[i] = d->heap[m];
		i = m;
	}
	if (d->n)
		d->heap[i] = last;
	return top;
}

/* Drop the oldest entry; its nonce (and any older one) is forgotten. */
static void forget_oldest(struct sb_digest *d)
{
	struct nc_entry *e = heap_pop(d);
	sb_hash_remove(d->seen, &e->node);
	if (e->ts + 1 > d->forget_before)
		d->forget_before = e->ts + 1;
	free(e);
}

static bool expired(const struct sb_digest *d, uint64_t ts, uint64_t now_s)
{
	return now_s > ts && now_s - ts > d->lifetime_s;
}

/* Remember nc for a nonce not in the table.  0 or ENOMEM. */
static int nc_record(struct sb_digest *d, const unsigned char *raw, uint64_t ts, uint32_t nc,
		     uint64_t now_s)
{
	/* expired entries are useless (their nonces are stale by age): drop a
	 * bounded number per call so that no request pays for a long idle */
	for (unsigned k = 0; k < SB_DIGEST_PRUNE_STEP && d->n && expired(d, d->heap[0]->ts, now_s); k++)
		forget_oldest(d);
	if (d->n == d->max_nonces)
		forget_oldest(d); /* the bound: the oldest live nonce goes */
	if (d->n == d->cap) {
		uint32_t cap = d->cap ? d->cap * 2 : 64;
		if (cap > d->max_nonces)
			cap = d->max_nonces;
		struct nc_entry **h = realloc(d->heap, cap * sizeof *h);
		if (!h)
			return ENOMEM;
		d->heap = h;
		d->cap = cap;
	}
	struct nc_entry *e = malloc(sizeof *e);
	if (!e)
		return ENOMEM;
	memcpy(e->raw, raw, NONCE_RAW);
	e->ts = ts;
	e->nc = nc;
	if (sb_hash_insert(d->seen, &e->node, e->raw, NONCE_RAW) != 0) {
		free(e); /* cannot happen: the caller looked it up, n < max */
		return ENOMEM;
	}
	heap_push(d, e);
	return 0;
}

static struct nc_entry *nc_find(struct sb_digest *d, const unsigned char *raw)
{
	struct sb_hash_node *n = sb_hash_find(d->seen, raw, NONCE_RAW);
	return n ? SB_HASH_OWNER(n, struct nc_entry, node) : NULL;
}

size_t sb_digest_nonce_count(const struct sb_digest *d)
{
	return d ? d->n : 0;
}

/* ------------------------------------------------------------- context */

static bool printable(struct sb_slice s)
{
	for (size_t i = 0; i < s.l; i++) {
		unsigned char c = (unsigned char)s.p[i];
		if (c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

static void to_hex(const unsigned char *in, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 15];
	}
	out[2 * n] = '\0';
}

int sb_digest_alloc(struct sb_digest **dp, const struct sb_digest_cfg *cfg)
{
	if (!dp || !cfg || !cfg->realm.p || cfg->realm.l == 0 ||
	    cfg->realm.l > SB_DIGEST_MAX_REALM || !printable(cfg->realm))
		return EINVAL;
	if (cfg->secret && (cfg->secret_len < SB_DIGEST_MIN_SECRET ||
			    cfg->secret_len > SB_DIGEST_MAX_SECRET))
		return EINVAL;
	if (cfg->nonce_lifetime_s > SB_DIGEST_MAX_LIFETIME_S)
		return EINVAL;
	unsigned all = SB_DIGEST_ALG_BIT(SB_DIGEST_MD5) | SB_DIGEST_ALG_BIT(SB_DIGEST_SHA256);
	if (cfg->algs & ~all)
		return EINVAL;

	struct sb_digest *d = calloc(1, sizeof *d);
	if (!d)
		return ENOMEM;
	int err = EIO;
	memcpy(d->realm, cfg->realm.p, cfg->realm.l);
	d->realm_len = cfg->realm.l;
	if (cfg->secret) {
		memcpy(d->secret, cfg->secret, cfg->secret_len);
		d->secret_len = cfg->secret_len;
	} else {
		d->secret_len = SB_DIGEST_SECRET_LEN;
		if (RAND_bytes(d->secret, (int)d->secret_len) != 1)
			goto fail;
	}
	if ((err = sb_hmac_alloc(&d->mac, d->secret, d->secret_len)) != 0)
		goto fail;
	err = EIO;
	d->lifetime_s = cfg->nonce_lifetime_s ? cfg->nonce_lifetime_s : SB_DIGEST_DEFAULT_LIFETIME_S;
	d->max_nonces = cfg->max_nonces ? cfg->max_nonces : SB_DIGEST_DEFAULT_MAX_NONCES;
	d->algs = cfg->algs ? cfg->algs : all;
	d->allow_rfc2069 = cfg->allow_rfc2069;

	/* opaque: fixed per secret and realm, so that it survives a restart
	 * with a configured secret; it carries nothing and is not checked */
	unsigned char mac[32];
	if ((err = mac_realm(d, "opaque", NULL, 0, SB_SLICE_NULL, mac)) != 0)
		goto fail;
	b64url_encode(mac, OPAQUE_RAW, d->opaque);
	d->opaque[SB_DIGEST_OPAQUE_LEN] = '\0';
	/* dummy HA1s: keyed, so nobody can compute a response that matches */
	if ((err = mac_realm(d, "dummy-ha1", NULL, 0, SB_SLICE_NULL, mac)) != 0)
		goto fail;
	for (unsigned a = 0; a < SB_DIGEST_ALG_COUNT; a++) {
		size_t hl = sb_digest_hex_len((enum sb_digest_alg)a);
		to_hex(mac, hl / 2, d->dummy[a]);
	}

	uint32_t seed = 0;
	if (RAND_bytes((unsigned char *)&seed, sizeof seed) != 1) {
		err = EIO;
		goto fail;
	}
	struct sb_hash_cfg hc = { .max_count = d->max_nonces, .seed = seed };
	if ((err = sb_hash_alloc(&d->seen, &hc)) != 0)
		goto fail;
	*dp = d;
	return 0;
fail:
	sb_hmac_free(d->mac);
	OPENSSL_cleanse(d->secret, sizeof d->secret);
	free(d);
	return err;
}

static void entry_free_h(struct sb_hash_node *n, void *arg)
{
	(void)arg;
	free(SB_HASH_OWNER(n, struct nc_entry, node));
}

void sb_digest_free(struct sb_digest *d)
{
	if (!d)
		return;
	sb_hash_clear(d->seen, entry_free_h, NULL);
	sb_hash_free(d->seen);
	free(d->heap);
	sb_hmac_free(d->mac);
	OPENSSL_cleanse(d->secret, sizeof d->secret);
	free(d);
}

struct sb_slice sb_digest_realm(const struct sb_digest *d)
{
	return sb_slice_from(d->realm, d->realm_len);
}

int sb_digest_dummy_ha1(const struct sb_digest *d, enum sb_digest_alg alg, char *out,
			size_t cap)
{
	if (!d || !out || (alg != SB_DIGEST_MD5 && alg != SB_DIGEST_SHA256))
		return EINVAL;
	size_t hl = sb_digest_hex_len(alg);
	if (cap < hl + 1)
		return ENOSPC;
	memcpy(out, d->dummy[alg], hl + 1);
	return 0;
}

int sb_digest_challenges(struct sb_digest *d, uint64_t now_s, bool stale,
			 struct sb_digest_challenges *out)
{
	return sb_digest_challenges_bound(d, now_s, stale, SB_SLICE_NULL, out);
}

int sb_digest_challenges_bound(struct sb_digest *d, uint64_t now_s, bool stale,
			       struct sb_slice bind, struct sb_digest_challenges *out)
{
	if (!d || !out || bind.l > SB_DIGEST_MAX_BIND)
		return EINVAL;
	memset(out, 0, sizeof *out);
	int err = nonce_mint(d, now_s, bind, out->nonce);
	if (err)
		return err;
	/* RFC 8760: several challenges, the preferred algorithm first;
	 * MD5 last, for phones that know nothing else. */
	static const enum sb_digest_alg order[] = { SB_DIGEST_SHA256, SB_DIGEST_MD5 };
	for (size_t i = 0; i < SB_ARRAY_LEN(order); i++) {
		if (!(d->algs & SB_DIGEST_ALG_BIT(order[i])))
			continue;
		struct sb_auth_challenge *c = &out->c[out->n++];
		c->realm = sb_slice_from(d->realm, d->realm_len);
		c->nonce = sb_slice_from(out->nonce, SB_DIGEST_NONCE_LEN);
		c->opaque = sb_slice_from(d->opaque, SB_DIGEST_OPAQUE_LEN);
		c->algorithm = sb_slice_cstr(sb_digest_alg_name(order[i]));
		/* RFC 3261 §22.4: servers MUST always send qop */
		c->qop = SB_LIT("auth");
		c->stale = stale;
	}
	return 0;
}

/* -------------------------------------------------------- verification */

const char *sb_digest_status_str(enum sb_digest_status s)
{
	switch (s) {
	case SB_DIGEST_OK: return "ok";
	case SB_DIGEST_STALE: return "stale";
	case SB_DIGEST_REPLAY: return "replay";
	case SB_DIGEST_BAD: return "bad";
	}
	return "?";
}

const char *sb_digest_why_str(enum sb_digest_why w)
{
	switch (w) {
	case SB_DIGEST_WHY_NONE: return "none";
	case SB_DIGEST_WHY_SCHEME: return "not Digest";
	case SB_DIGEST_WHY_MALFORMED: return "malformed credentials";
	case SB_DIGEST_WHY_REALM: return "other realm";
	case SB_DIGEST_WHY_ALGORITHM: return "algorithm not accepted";
	case SB_DIGEST_WHY_QOP: return "qop not accepted";
	case SB_DIGEST_WHY_USERHASH: return "userhash not accepted";
	case SB_DIGEST_WHY_NONCE: return "nonce not ours";
	case SB_DIGEST_WHY_URI: return "uri is not the Request-URI";
	case SB_DIGEST_WHY_RESPONSE: return "wrong response";
	case SB_DIGEST_WHY_EXPIRED: return "nonce expired";
	case SB_DIGEST_WHY_FORGOTTEN: return "nonce forgotten";
	case SB_DIGEST_WHY_NC: return "nonce-count replayed";
	}
	return "?";
}

/* A quoted value with its quoted-pairs undone (RFC 3261 §25.1): v itself
 * when it holds no backslash, else a copy in buf (max bytes).  false when
 * longer than max. */
static bool unq(struct sb_slice v, size_t max, char *buf, struct sb_slice *out)
{
	if (!memchr(v.p, '\\', v.l)) {
		*out = v;
		return v.l <= max;
	}
	size_t n = 0;
	for (size_t i = 0; i < v.l; i++) {
		if (v.p[i] == '\\' && i + 1 < v.l)
			i++;
		if (n == max)
			return false;
		buf[n++] = v.p[i];
	}
	*out = sb_slice_from(buf, n);
	return true;
}

static bool hex_digit(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* nc-value = 8LHEX (RFC 7616 §3.4); upper case tolerated, 0 refused. */
static bool parse_nc(struct sb_slice s, uint32_t *nc)
{
	uint32_t v = 0;
	if (s.l != 8)
		return false;
	for (size_t i = 0; i < 8; i++) {
		char c = s.p[i];
		if (!hex_digit(c))
			return false;
		unsigned x = c <= '9' ? (unsigned)(c - '0') : (unsigned)((c | 0x20) - 'a' + 10);
		v = v << 4 | x;
	}
	*nc = v;
	return v != 0;
}

/* The credentials, unescaped and checked for shape. */
struct cred_view {
	struct sb_slice realm, uri, cnonce, nonce, nc, qop, response;
	uint32_t nc_val;
	char realm_buf[SB_DIGEST_MAX_REALM];
	char uri_buf[SB_DIGEST_MAX_URI];
	char cnonce_buf[SB_DIGEST_MAX_CNONCE];
};

static int refuse(struct sb_digest_result *res, enum sb_digest_why why, int err)
{
	res->status = SB_DIGEST_BAD;
	res->why = why;
	return err;
}

/* sb_digest_inspect's checks, keeping what verification needs in *v. */
static int check_cred(const struct sb_digest *d, const struct sb_auth *a, struct cred_view *v,
		      struct sb_digest_result *res)
{
	memset(res, 0, sizeof *res);
	res->status = SB_DIGEST_BAD;
	if (!a->digest)
		return refuse(res, SB_DIGEST_WHY_SCHEME, ENOENT);
	/* RFC 3261 §22.3: credentials for other realms are not ours */
	if (!a->realm.p || !unq(a->realm, SB_DIGEST_MAX_REALM, v->realm_buf, &v->realm))
		return refuse(res, SB_DIGEST_WHY_MALFORMED, EBADMSG);
	if (!sb_slice_eq(v->realm, sb_slice_from(d->realm, d->realm_len)))
		return refuse(res, SB_DIGEST_WHY_REALM, ENOENT);

	struct sb_slice user;
	if (!a->username.p || a->username.l == 0 ||
	    !unq(a->username, SB_DIGEST_MAX_USER, res->user, &user))
		return refuse(res, SB_DIGEST_WHY_MALFORMED, EBADMSG);
	if (user.p != res->user)
		memcpy(res->user, user.p, user.l);
	res->user[user.l] = '\0';
	res->user_len = user.l;

	if (sb_digest_alg_parse(a->algorithm, &res->alg) != 0 ||
	    !(d->algs & SB_DIGEST_ALG_BIT(res->alg)))
		return refuse(res, SB_DIGEST_WHY_ALGORITHM, EBADMSG);
	/* RFC 7616 §3.4.4: userhash; we never offer it (§3.3 userhash=true) */
	if (a->userhash.p && sb_slice_caseeq_cstr(a->userhash, "true"))
		return refuse(res, SB_DIGEST_WHY_USERHASH, EBADMSG);

	if (!a->nonce.p || !a->uri.p || !a->response.p ||
	    !unq(a->uri, SB_DIGEST_MAX_URI, v->uri_buf, &v->uri))
		return refuse(res, SB_DIGEST_WHY_MALFORMED, EBADMSG);
	v->nonce = a->nonce;
	v->response = a->response;
	v->qop = a->qop;
	if (a->qop.p) {
		/* we offer qop="auth" only (RFC 3261 §22.4: servers MUST send
		 * qop); auth-int would need the body hashed */
		if (!sb_slice_caseeq_cstr(a->qop, "auth"))
			return refuse(res, SB_DIGEST_WHY_QOP, EBADMSG);
		/* RFC 7616 §3.4: with qop, cnonce and nc MUST be sent */
		if (!a->nc.p || !parse_nc(a->nc, &v->nc_val) || !a->cnonce.p ||
		    a->cnonce.l == 0 ||
		    !unq(a->cnonce, SB_DIGEST_MAX_CNONCE, v->cnonce_buf, &v->cnonce))
			return refuse(res, SB_DIGEST_WHY_MALFORMED, EBADMSG);
		v->nc = a->nc;
		res->nc = v->nc_val;
	} else {
		/* RFC 2069 form (RFC 3261 §22.4: qop "must unfortunately remain
		 * optional for clients and servers to receive") */
		if (!d->allow_rfc2069)
			return refuse(res, SB_DIGEST_WHY_QOP, EBADMSG);
		/* RFC 2617 §3.2.2: without qop, no cnonce and no nc */
		if (a->nc.p || a->cnonce.p)
			return refuse(res, SB_DIGEST_WHY_MALFORMED, EBADMSG);
		v->nc = v->cnonce = SB_SLICE_NULL;
		v->nc_val = 0;
	}
	res->status = SB_DIGEST_OK;
	res->why = SB_DIGEST_WHY_NONE;
	return 0;
}

int sb_digest_inspect(const struct sb_digest *d, const struct sb_auth *cred,
		      struct sb_digest_result *res)
{
	struct cred_view v;
	if (!d || !cred || !res)
		return EINVAL;
	return check_cred(d, cred, &v, res);
}

/* RFC 7616 §3.4.6: the uri parameter names the Request-URI's resource. */
static bool uri_matches(struct sb_slice digest_uri, struct sb_slice request_uri)
{
	if (sb_slice_eq(digest_uri, request_uri))
		return true;
	/* a phone may print the same URI differently (host case, escapes,
	 * parameter order): RFC 3261 §19.1.4 equality */
	struct sb_uri a, b;
	return sb_uri_parse(&a, digest_uri) == 0 && sb_uri_parse(&b, request_uri) == 0 &&
	       sb_uri_equal(&a, &b);
}

static int verdict(struct sb_digest_result *res, enum sb_digest_status st,
		   enum sb_digest_why why)
{
	res->status = st;
	res->why = why;
	return 0;
}

int sb_digest_verify(struct sb_digest *d, const struct sb_auth *cred, struct sb_slice method,
		     struct sb_slice request_uri, const char *ha1, uint64_t now_s,
		     struct sb_digest_result *res)
{
	return sb_digest_verify_bound(d, cred, method, request_uri, ha1, now_s, SB_SLICE_NULL,
				      res);
}

int sb_digest_verify_bound(struct sb_digest *d, const struct sb_auth *cred,
			   struct sb_slice method, struct sb_slice request_uri, const char *ha1,
			   uint64_t now_s, struct sb_slice bind, struct sb_digest_result *res)
{
	if (!res)
		return EINVAL;
	if (!d || !cred || !ha1 || !method.p || !request_uri.p || bind.l > SB_DIGEST_MAX_BIND) {
		memset(res, 0, sizeof *res);
		res->status = SB_DIGEST_BAD;
		return EINVAL;
	}
	struct cred_view v;
	if (check_cred(d, cred, &v, res) != 0)
		return 0; /* BAD, other realm included: not credentials we accept */

	size_t hl = sb_digest_hex_len(res->alg);
	struct sb_slice h = sb_slice_from(ha1, strnlen(ha1, hl + 1));
	if (h.l != hl) {
		res->status = SB_DIGEST_BAD;
		return EINVAL;
	}

	unsigned char raw[NONCE_RAW];
	uint64_t ts = 0;
	if (!nonce_open(d, v.nonce, bind, raw, &ts))
		return verdict(res, SB_DIGEST_BAD, SB_DIGEST_WHY_NONCE);
	if (!uri_matches(v.uri, request_uri))
		return verdict(res, SB_DIGEST_BAD, SB_DIGEST_WHY_URI);

	char want[SB_DIGEST_HEX_CAP], got[SB_DIGEST_HEX_CAP];
	struct sb_digest_input in = {
		.alg = res->alg, .ha1 = h, .nonce = v.nonce, .nc = v.nc, .cnonce = v.cnonce,
		.qop = v.qop, .method = method, .uri = v.uri,
	};
	int err = sb_digest_response(&in, want, sizeof want);
	if (err) {
		res->status = SB_DIGEST_BAD;
		return err; /* EINVAL: ha1 not hex; EIO, ENOMEM */
	}
	/* request-digest = DQUOTE 32LHEX / 64LHEX DQUOTE; case tolerated */
	if (v.response.l != hl)
		return verdict(res, SB_DIGEST_BAD, SB_DIGEST_WHY_RESPONSE);
	for (size_t i = 0; i < hl; i++) {
		char c = v.response.p[i];
		got[i] = (c >= 'A' && c <= 'F') ? (char)(c | 0x20) : c;
	}
	/* constant time: how much of a guess matched must not show */
	if (CRYPTO_memcmp(want, got, hl) != 0)
		return verdict(res, SB_DIGEST_BAD, SB_DIGEST_WHY_RESPONSE);

	/* RFC 7616 §3.3: stale=true only when the digest itself was valid,
	 * so age is judged after the response */
	if (expired(d, ts, now_s) || ts > now_s + SB_DIGEST_CLOCK_SKEW_S)
		return verdict(res, SB_DIGEST_STALE, SB_DIGEST_WHY_EXPIRED);

	struct nc_entry *e = nc_find(d, raw);
	if (e) {
		/* RFC 7616 §3.4: nc counts requests with this nonce; one not
		 * above the last accepted is a replay.  RFC 2069 credentials
		 * have no nc: their nonce is good once (nc UINT32_MAX). */
		if (!v.qop.p || v.nc_val <= e->nc)
			return verdict(res, SB_DIGEST_REPLAY, SB_DIGEST_WHY_NC);
		e->nc = v.nc_val;
		return verdict(res, SB_DIGEST_OK, SB_DIGEST_WHY_NONE);
	}
	if (ts < d->forget_before)
		return verdict(res, SB_DIGEST_STALE, SB_DIGEST_WHY_FORGOTTEN);
	err = nc_record(d, raw, ts, v.qop.p ? v.nc_val : UINT32_MAX, now_s);
	if (err) {
		res->status = SB_DIGEST_BAD;
		return err;
	}
	return verdict(res, SB_DIGEST_OK, SB_DIGEST_WHY_NONE);
}
