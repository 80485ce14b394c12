/* hash: a generic hash table keyed by byte strings, with intrusive nodes.
 *
 * The node (struct sb_hash_node) is embedded in the object it indexes, so
 * linking an object allocates nothing; the key bytes belong to the owner and
 * must stay unchanged while the node is linked.  Collisions are chained.
 *
 * The bucket array is a power of two.  When the table holds more nodes than
 * buckets it grows to twice the size, and the nodes move over incrementally,
 * as redis dict.c does: every insert, find and remove moves at most
 * SB_HASH_REHASH_NODES nodes and looks at most SB_HASH_REHASH_EMPTY empty
 * buckets, so no single operation pauses for a full rehash.  While a rehash
 * runs a lookup looks in both arrays.  Tables never shrink: the count is
 * bounded (max_count), so the largest array is bounded too.
 *
 * Hash: FNV-1a (32 bit) over the key, with a per-table seed folded into the
 * offset basis so that two processes do not share bucket positions.  It is
 * not a keyed PRF (SipHash would be): keys chosen by a peer can still
 * collide, which costs chain length, never correctness.
 *
 * Not thread-safe. */
#ifndef SWITCHBOARD_HASH_H
#define SWITCHBOARD_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bounds of the incremental rehash: work done per operation. */
#define SB_HASH_REHASH_NODES 8u
#define SB_HASH_REHASH_EMPTY (10u * SB_HASH_REHASH_NODES)
/* Defaults when the cfg leaves a field 0. */
#define SB_HASH_DEFAULT_MAX     (1u << 20)
#define SB_HASH_DEFAULT_BUCKETS 16u
/* Hard ceilings: a key is at most this long; the array at most this big. */
#define SB_HASH_MAX_KEY     65536u
#define SB_HASH_MAX_BUCKETS (1u << 30)

/* Embed in the indexed object; the table fills it on insert. */
struct sb_hash_node {
	struct sb_hash_node *next;
	const void *key;
	uint32_t klen;
	uint32_t hash;
};

/* From a node to its owner, e.g. SB_HASH_OWNER(n, struct sb_tsx, node). */
#define SB_HASH_OWNER(n, type, member) \
	((type *)(void *)((char *)(n) - offsetof(type, member)))

struct sb_hash_cfg {
	uint32_t max_count;       /* bound on linked nodes; 0: SB_HASH_DEFAULT_MAX */
	uint32_t initial_buckets; /* rounded up to a power of two; 0: 16 */
	uint32_t seed;            /* mixed into the hash; 0 is allowed */
};

struct sb_hash;

/* 0 or ENOMEM.  cfg may be NULL for the defaults. */
int sb_hash_alloc(struct sb_hash **hp, const struct sb_hash_cfg *cfg);
/* Frees the table only: linked nodes belong to their owners (drain them
 * first with sb_hash_clear() if the owners are to be freed). */
void sb_hash_free(struct sb_hash *h);

/* Link n under key[0..klen).  Returns 0; EEXIST when an equal key is
 * linked (n is left unlinked); ENOSPC at max_count; EINVAL when klen is past
 * SB_HASH_MAX_KEY.  A failed growth is not an error: chains get longer. */
int sb_hash_insert(struct sb_hash *h, struct sb_hash_node *n, const void *key, size_t klen);
/* The node linked under an equal key, or NULL. */
struct sb_hash_node *sb_hash_find(struct sb_hash *h, const void *key, size_t klen);
/* Unlink n, which must be linked in h. */
void sb_hash_remove(struct sb_hash *h, struct sb_hash_node *n);

/* Visit every node once.  The handler must not insert or remove. */
typedef void (sb_hash_walk_h)(struct sb_hash_node *n, void *arg);
void sb_hash_walk(struct sb_hash *h, sb_hash_walk_h *fn, void *arg);
/* Unlink every node, handing each to fn (may be NULL) after it is unlinked:
 * fn may free the node's owner.  O(buckets + count). */
void sb_hash_clear(struct sb_hash *h, sb_hash_walk_h *fn, void *arg);

size_t sb_hash_count(const struct sb_hash *h);
/* Introspection for tests and stats: buckets of the array(s) in use. */
size_t sb_hash_buckets(const struct sb_hash *h);
bool sb_hash_rehashing(const struct sb_hash *h);

/* The table's hash function, exposed for tests. */
uint32_t sb_hash_bytes(const void *p, size_t l, uint32_t seed);
/* The 64-bit hash under it: 8 bytes a step (a multiply and a shift each),
 * the length mixed in, a final avalanche (MurmurHash3's fmix64).  Chained
 * calls (the result as the next seed) hash a list of fields; the length
 * keeps ("ab","c") apart from ("a","bc").  Spread, not secrecy: seed it. */
uint64_t sb_hash64(const void *p, size_t l, uint64_t seed);

#endif
