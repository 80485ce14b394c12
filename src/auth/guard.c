/* auth/guard: failure counting and source lockout for authn.c (guard.h).
 *
 * Each table is an sb_hash (hash.h) of entries, one allocation each (the
 * key inline), threaded on a doubly linked LRU list, newest first.  Every
 * counted failure and every refused request of a locked source moves its
 * entry to the front; a new entry in a full table evicts the entry at the
 * back, locked or not.  Evicting a lock needs max_tracked other peers
 * failing after it, and each of those peers is then subject to its own
 * lockout, so the bound costs an attacker more than it frees.
 *
 * A window starts at the first failure and lasts window_s seconds; the
 * count starts over after it.  A source lock lasts lockout_s seconds and
 * ends with its count cleared, so a source starts over when it ends. */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "switchboard/auth.h"
#include "switchboard/hash.h"

#include "guard.h"

/* A peer key: an IPv4 address (4 bytes), or an IPv6 /64 (8 bytes) with
 * its scope id (4 bytes: link-local prefixes repeat on every link). */
#define AG_PEER_KEY_MAX SB_ADDR_PEER_KEY_MAX
/* A user key: the name the credentials gave, as unescaped. */
#define AG_USER_KEY_MAX SB_DIGEST_MAX_USER

struct ag_entry {
	struct sb_hash_node node;   /* key: key[0..node.klen) */
	struct ag_entry *newer, *older;
	uint64_t first_s;           /* the first failure of the window */
	uint64_t locked_until;      /* sources, when locked */
	uint32_t count;             /* failures in the window */
	bool locked;                /* sources: locked until locked_until */
	bool flagged;               /* users: reached max_failures in this window */
	unsigned char key[];
};

struct ag_table {
	struct sb_hash *h;
	struct ag_entry *newest, *oldest;
	uint32_t max;
};

struct ag_guard {
	struct ag_cfg cfg;
	struct ag_table src;
	struct ag_table user;
};

/* ------------------------------------------------------------ peer keys */

/* The transport's notion of a peer (sb_addr_peer_key, transport.h): the
 * port never counts, an IPv4-mapped IPv6 address is its IPv4 address, and
 * an IPv6 host is its /64, since one host commonly has a whole /64. */
static size_t peer_key(const struct sb_addr *a, unsigned char key[AG_PEER_KEY_MAX])
{
	size_t n = sb_addr_peer_key(a, key);
	if (n)
		return n;
	key[0] = 0; /* no such peer arrives from the transport; all share one */
	return 1;
}

/* ---------------------------------------------------------------- tables */

static int table_init(struct ag_table *t, uint32_t max, uint64_t seed)
{
	struct sb_hash_cfg hc = {
		.max_count = max,
		.seed = (uint32_t)(seed ^ (seed >> 32)),
	};
	t->max = max;
	return sb_hash_alloc(&t->h, &hc);
}

static void entry_free_h(struct sb_hash_node *n, void *arg)
{
	(void)arg;
	free(SB_HASH_OWNER(n, struct ag_entry, node));
}

static void table_fini(struct ag_table *t)
{
	if (!t->h)
		return;
	sb_hash_clear(t->h, entry_free_h, NULL);
	sb_hash_free(t->h);
	t->h = NULL;
	t->newest = t->oldest = NULL;
}

static void lru_unlink(struct ag_table *t, struct ag_entry *e)
{
	if (e->newer)
		e->newer->older = e->older;
	else
		t->newest = e->older;
	if (e->older)
		e->older->newer = e->newer;
	else
		t->oldest = e->newer;
	e->newer = e->older = NULL;
}

static void lru_push(struct ag_table *t, struct ag_entry *e)
{
	e->newer = NULL;
	e->older = t->newest;
	if (t->newest)
		t->newest->newer = e;
	else
		t->oldest = e;
	t->newest = e;
}

static void touch(struct ag_table *t, struct ag_entry *e)
{
	if (t->newest == e)
		return;
	lru_unlink(t, e);
	lru_push(t, e);
}

static void drop(struct ag_table *t, struct ag_entry *e)
{
	sb_hash_remove(t->h, &e->node);
	lru_unlink(t, e);
	free(e);
}

/* Whether e no longer counts at now_s: its lock, or else its window, is
 * over.  A clock that went back leaves the entry as it is. */
static bool expired(const struct ag_guard *g, const struct ag_entry *e, uint64_t now_s)
{
	if (e->locked)
		return now_s >= e->locked_until;
	return now_s >= e->first_s && now_s - e->first_s >= g->cfg.window_s;
}

/* Bounded work: drop at most AG_PRUNE_STEP expired entries from the cold
 * end.  The rest go when looked at, or when evicted. */
static void prune(const struct ag_guard *g, struct ag_table *t, uint64_t now_s)
{
	for (unsigned i = 0; i < AG_PRUNE_STEP && t->oldest; i++) {
		if (!expired(g, t->oldest, now_s))
			break;
		drop(t, t->oldest);
	}
}

static struct ag_entry *find(const struct ag_table *t, const void *key, size_t klen)
{
	struct sb_hash_node *n = sb_hash_find(t->h, key, klen);
	return n ? SB_HASH_OWNER(n, struct ag_entry, node) : NULL;
}

static void restart(struct ag_entry *e, uint64_t now_s)
{
	e->first_s = now_s;
	e->locked_until = 0;
	e->count = 0;
	e->locked = false;
	e->flagged = false;
}

/* The entry of key with a live window at now_s, made (evicting the oldest
 * when the table is full) if there is none, and moved to the front.
 * NULL: ENOMEM. */
static struct ag_entry *get(const struct ag_guard *g, struct ag_table *t, const void *key,
			    size_t klen, uint64_t now_s)
{
	struct ag_entry *e = find(t, key, klen);
	if (e) {
		if (expired(g, e, now_s))
			restart(e, now_s);
		touch(t, e);
		return e;
	}
	if (sb_hash_count(t->h) >= t->max && t->oldest)
		drop(t, t->oldest);
	e = calloc(1, sizeof *e + klen);
	if (!e)
		return NULL;
	memcpy(e->key, key, klen);
	restart(e, now_s);
	if (sb_hash_insert(t->h, &e->node, e->key, klen) != 0) {
		free(e); /* cannot happen: not found above, and room was made */
		return NULL;
	}
	lru_push(t, e);
	return e;
}

/* ---------------------------------------------------------------- guard */

int ag_alloc(struct ag_guard **gp, const struct ag_cfg *cfg)
{
	if (!gp || !cfg || cfg->max_tracked == 0 || cfg->max_failures == 0)
		return EINVAL;
	*gp = NULL;
	struct ag_guard *g = calloc(1, sizeof *g);
	if (!g)
		return ENOMEM;
	g->cfg = *cfg;
	int err = table_init(&g->src, cfg->max_tracked, cfg->seed);
	if (!err)
		err = table_init(&g->user, cfg->max_tracked, cfg->seed * 31u + 7u);
	if (err) {
		ag_free(g);
		return err;
	}
	*gp = g;
	return 0;
}

void ag_free(struct ag_guard *g)
{
	if (!g)
		return;
	table_fini(&g->src);
	table_fini(&g->user);
	free(g);
}

bool ag_src_locked(struct ag_guard *g, const struct sb_addr *src, uint64_t now_s)
{
	unsigned char key[AG_PEER_KEY_MAX];
	size_t klen = peer_key(src, key);
	prune(g, &g->src, now_s);
	struct ag_entry *e = find(&g->src, key, klen);
	if (!e)
		return false;
	if (expired(g, e, now_s)) {
		drop(&g->src, e);
		return false;
	}
	if (!e->locked)
		return false;
	touch(&g->src, e); /* a locked peer that keeps trying stays fresh */
	return true;
}

static uint32_t add_one(uint32_t n)
{
	return n == UINT32_MAX ? n : n + 1;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

int ag_fail(struct ag_guard *g, const struct sb_addr *src, struct sb_slice user,
	    uint64_t now_s, struct ag_fail_result *out)
{
	unsigned char key[AG_PEER_KEY_MAX];
	size_t klen = peer_key(src, key);
	memset(out, 0, sizeof *out);
	prune(g, &g->src, now_s);
	prune(g, &g->user, now_s);

	struct ag_entry *e = get(g, &g->src, key, klen, now_s);
	if (!e)
		return ENOMEM;
	e->count = add_one(e->count);
	out->src_count = e->count;
	if (!e->locked && e->count >= g->cfg.max_failures) {
		e->locked = true;
		e->locked_until = add_sat(now_s, g->cfg.lockout_s);
		out->src_locked_now = true;
	}

	if (!user.p || user.l == 0)
		return 0;
	/* longer names (authn never passes one) count by their prefix */
	e = get(g, &g->user, user.p, user.l < AG_USER_KEY_MAX ? user.l : AG_USER_KEY_MAX, now_s);
	if (!e)
		return ENOMEM;
	e->count = add_one(e->count);
	out->user_count = e->count;
	/* users are never locked (anyone could lock anyone out): reported
	 * once per window */
	if (!e->flagged && e->count >= g->cfg.max_failures) {
		e->flagged = true;
		out->user_limit_now = true;
	}
	return 0;
}

uint32_t ag_src_locked_count(const struct ag_guard *g, uint64_t now_s)
{
	uint32_t n = 0;
	for (const struct ag_entry *e = g->src.newest; e; e = e->older)
		if (e->locked && now_s < e->locked_until)
			n++;
	return n;
}

size_t ag_src_tracked(const struct ag_guard *g)
{
	return sb_hash_count(g->src.h);
}

size_t ag_user_tracked(const struct ag_guard *g)
{
	return sb_hash_count(g->user.h);
}
