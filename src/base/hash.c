/* base/hash: the chained hash table of hash.h, with redis-style incremental
 * rehashing.  Two bucket arrays exist only while a rehash runs: t[0] is the
 * old one, emptied bucket by bucket from index `rehash` upwards, t[1] the new
 * one, which receives every insert.  Buckets of t[0] below `rehash` are
 * empty; the bucket at `rehash` may be half moved, so a lookup checks both
 * arrays.  The work per step is bounded in nodes moved and empty buckets
 * visited, not in buckets, so one long chain cannot stall an operation. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "switchboard/hash.h"

struct sb_hash_tab {
	struct sb_hash_node **b;
	uint32_t mask; /* buckets - 1; b == NULL means no array */
};

struct sb_hash {
	struct sb_hash_tab t[2];
	uint32_t rehash;    /* next t[0] bucket to move, while t[1].b != NULL */
	uint32_t count;
	uint32_t max_count;
	uint32_t max_buckets;
	uint32_t seed;
};

/* Keys are branches, Call-IDs and AORs of 20 to 100 bytes: FNV-1a, a
 * multiply per byte in one dependency chain, cost ~3% of the proxy path
 * (perf, bench_core); 8 bytes a step cost an eighth. */
#define H64_K1 0x9e3779b97f4a7c15ull /* 2^64 / golden ratio */
#define H64_K2 0xff51afd7ed558ccdull /* fmix64 (MurmurHash3) */
#define H64_K3 0xc4ceb9fe1a85ec53ull

static uint64_t fmix64(uint64_t h)
{
	h ^= h >> 33;
	h *= H64_K2;
	h ^= h >> 33;
	h *= H64_K3;
	h ^= h >> 33;
	return h;
}

uint64_t sb_hash64(const void *p, size_t l, uint64_t seed)
{
	const unsigned char *s = p;
	uint64_t h = seed ^ H64_K3 ^ ((uint64_t)l * H64_K1);
	while (l >= 8) {
		uint64_t v;
		memcpy(&v, s, 8);
		h = (h ^ v) * H64_K1;
		h ^= h >> 29;
		s += 8;
		l -= 8;
	}
	uint64_t v = 0;
	for (size_t i = 0; i < l; i++)
		v |= (uint64_t)s[i] << (8 * i);
	h = (h ^ v) * H64_K1;
	return fmix64(h);
}

uint32_t sb_hash_bytes(const void *p, size_t l, uint32_t seed)
{
	uint64_t h = sb_hash64(p, l, (uint64_t)seed * H64_K3);
	return (uint32_t)(h ^ (h >> 32));
}

static uint32_t pow2_at_least(uint32_t n, uint32_t cap)
{
	uint32_t p = 1;
	while (p < n && p < cap)
		p <<= 1;
	return p;
}

static bool rehashing(const struct sb_hash *h)
{
	return h->t[1].b != NULL;
}

int sb_hash_alloc(struct sb_hash **hp, const struct sb_hash_cfg *cfg)
{
	struct sb_hash_cfg c = cfg ? *cfg : (struct sb_hash_cfg){ 0 };
	if (!c.max_count)
		c.max_count = SB_HASH_DEFAULT_MAX;
	if (!c.initial_buckets)
		c.initial_buckets = SB_HASH_DEFAULT_BUCKETS;
	struct sb_hash *h = calloc(1, sizeof *h);
	if (!h)
		return ENOMEM;
	h->max_count = c.max_count;
	/* load factor 1 at the bound: more buckets would never be filled */
	h->max_buckets = pow2_at_least(c.max_count, SB_HASH_MAX_BUCKETS);
	uint32_t n = pow2_at_least(c.initial_buckets, h->max_buckets);
	h->t[0].b = calloc(n, sizeof *h->t[0].b);
	if (!h->t[0].b) {
		free(h);
		return ENOMEM;
	}
	h->t[0].mask = n - 1;
	h->seed = c.seed;
	*hp = h;
	return 0;
}

void sb_hash_free(struct sb_hash *h)
{
	if (!h)
		return;
	free(h->t[0].b);
	free(h->t[1].b);
	free(h);
}

/* Move at most SB_HASH_REHASH_NODES nodes from t[0] to t[1], skipping at
 * most SB_HASH_REHASH_EMPTY empty buckets; finish the rehash when t[0] is
 * empty. */
static void rehash_step(struct sb_hash *h)
{
	if (!rehashing(h))
		return;
	unsigned moved = 0, empty = 0;
	uint32_t n0 = h->t[0].mask + 1;
	while (h->rehash < n0 && moved < SB_HASH_REHASH_NODES) {
		struct sb_hash_node **slot = &h->t[0].b[h->rehash];
		if (!*slot) {
			h->rehash++;
			if (++empty >= SB_HASH_REHASH_EMPTY)
				break;
			continue;
		}
		struct sb_hash_node *n = *slot;
		*slot = n->next;
		struct sb_hash_node **dst = &h->t[1].b[n->hash & h->t[1].mask];
		n->next = *dst;
		*dst = n;
		moved++;
	}
	if (h->rehash >= n0) {
		free(h->t[0].b);
		h->t[0] = h->t[1];
		h->t[1] = (struct sb_hash_tab){ NULL, 0 };
		h->rehash = 0;
	}
}

/* Start a rehash into an array twice as big when the load passes 1; an
 * allocation failure leaves the table as it is. */
static void maybe_grow(struct sb_hash *h)
{
	uint32_t n0 = h->t[0].mask + 1;
	if (rehashing(h) || h->count <= n0 || n0 >= h->max_buckets)
		return;
	struct sb_hash_node **b = calloc((size_t)n0 * 2, sizeof *b);
	if (!b)
		return;
	h->t[1].b = b;
	h->t[1].mask = n0 * 2 - 1;
	h->rehash = 0;
}

static struct sb_hash_node *chain_find(struct sb_hash_node *n, uint32_t hv, const void *key,
				       uint32_t klen)
{
	for (; n; n = n->next)
		if (n->hash == hv && n->klen == klen && memcmp(n->key, key, klen) == 0)
			return n;
	return NULL;
}

static struct sb_hash_node *lookup(struct sb_hash *h, uint32_t hv, const void *key, uint32_t klen)
{
	uint32_t i0 = hv & h->t[0].mask;
	struct sb_hash_node *n = NULL;
	/* buckets of t[0] below h->rehash have moved and are empty */
	if (!rehashing(h) || i0 >= h->rehash)
		n = chain_find(h->t[0].b[i0], hv, key, klen);
	if (!n && rehashing(h))
		n = chain_find(h->t[1].b[hv & h->t[1].mask], hv, key, klen);
	return n;
}

int sb_hash_insert(struct sb_hash *h, struct sb_hash_node *n, const void *key, size_t klen)
{
	if (klen > SB_HASH_MAX_KEY)
		return EINVAL;
	rehash_step(h);
	uint32_t hv = sb_hash_bytes(key, klen, h->seed);
	if (lookup(h, hv, key, (uint32_t)klen))
		return EEXIST;
	if (h->count >= h->max_count)
		return ENOSPC;
	n->key = key;
	n->klen = (uint32_t)klen;
	n->hash = hv;
	/* while rehashing, new nodes go to the new array (redis does the same):
	 * the old one only ever drains */
	struct sb_hash_tab *t = rehashing(h) ? &h->t[1] : &h->t[0];
	struct sb_hash_node **slot = &t->b[hv & t->mask];
	n->next = *slot;
	*slot = n;
	h->count++;
	maybe_grow(h);
	return 0;
}

struct sb_hash_node *sb_hash_find(struct sb_hash *h, const void *key, size_t klen)
{
	if (klen > SB_HASH_MAX_KEY)
		return NULL;
	rehash_step(h);
	return lookup(h, sb_hash_bytes(key, klen, h->seed), key, (uint32_t)klen);
}

/* Unlink n from the chain at *slot; true when it was there. */
static bool chain_unlink(struct sb_hash_node **slot, struct sb_hash_node *n)
{
	for (; *slot; slot = &(*slot)->next) {
		if (*slot == n) {
			*slot = n->next;
			n->next = NULL;
			return true;
		}
	}
	return false;
}

void sb_hash_remove(struct sb_hash *h, struct sb_hash_node *n)
{
	uint32_t i0 = n->hash & h->t[0].mask;
	bool done = false;
	if (!rehashing(h) || i0 >= h->rehash)
		done = chain_unlink(&h->t[0].b[i0], n);
	if (!done && rehashing(h))
		done = chain_unlink(&h->t[1].b[n->hash & h->t[1].mask], n);
	if (done)
		h->count--;
	/* step after unlinking: the step may finish the rehash and swap the
	 * arrays, which would invalidate i0 */
	rehash_step(h);
}

void sb_hash_walk(struct sb_hash *h, sb_hash_walk_h *fn, void *arg)
{
	for (unsigned k = 0; k < 2; k++) {
		struct sb_hash_tab *t = &h->t[k];
		if (!t->b)
			continue;
		for (uint32_t i = 0; i <= t->mask; i++) {
			for (struct sb_hash_node *n = t->b[i], *nx; n; n = nx) {
				nx = n->next;
				fn(n, arg);
			}
		}
	}
}

void sb_hash_clear(struct sb_hash *h, sb_hash_walk_h *fn, void *arg)
{
	for (unsigned k = 0; k < 2; k++) {
		struct sb_hash_tab *t = &h->t[k];
		if (!t->b)
			continue;
		for (uint32_t i = 0; i <= t->mask; i++) {
			struct sb_hash_node *n = t->b[i], *nx;
			t->b[i] = NULL;
			for (; n; n = nx) {
				nx = n->next;
				n->next = NULL;
				if (fn)
					fn(n, arg);
			}
		}
	}
	h->count = 0;
}

size_t sb_hash_count(const struct sb_hash *h)
{
	return h->count;
}

size_t sb_hash_buckets(const struct sb_hash *h)
{
	size_t n = (size_t)h->t[0].mask + 1;
	if (rehashing(h))
		n += (size_t)h->t[1].mask + 1;
	return n;
}

bool sb_hash_rehashing(const struct sb_hash *h)
{
	return rehashing(h);
}
