/* location: the in-memory location service of location.h.
 *
 * Layout, chosen for a million bindings in little memory:
 *  - one struct loc_aor per address of record, linked in an sb_hash table
 *    under its canonical AOR (the key bytes live in the record itself, a
 *    flexible array), holding a short singly linked list of its bindings;
 *  - one struct loc_binding per contact, ONE allocation: the public view
 *    (struct sb_binding), the list link, the expiry timer and the contact
 *    and Call-ID bytes (a flexible array).  Nothing else is allocated per
 *    binding; the loop's timer wheel links the embedded timer into a slot.
 * The list of an AOR is kept sorted the way sb_location_lookup() returns it
 * (highest q first, the most recently refreshed first among equals), so a
 * lookup is a hash probe and a copy of at most max_per_aor pointers.
 *
 * A refresh reallocates the binding only when its strings change length;
 * the timer is stopped first, because the wheel points into the block. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "switchboard/hash.h"
#include "switchboard/location.h"

struct loc_binding;

struct loc_aor {
	struct sb_hash_node node;   /* key: key[0..node.klen) */
	struct loc_binding *head;   /* sorted: q descending, newest first */
	struct sb_location *loc;    /* for the expiry handler */
	uint32_t n;                 /* bindings in the list */
	char key[];
};

struct loc_binding {
	struct sb_binding b;        /* the view handed out; slices into str/aor */
	struct loc_binding *next;
	struct loc_aor *aor;
	struct sb_timer timer;
	char str[];                 /* contact, then call_id */
};

struct sb_location {
	struct sb_loop *loop;
	struct sb_hash *aors;
	uint32_t max_bindings;
	uint32_t max_per_aor;
	size_t count;               /* bindings */
};

int sb_location_alloc(struct sb_location **lp, const struct sb_location_cfg *cfg)
{
	if (!lp || !cfg || !cfg->loop)
		return EINVAL;
	struct sb_location *l = calloc(1, sizeof *l);
	if (!l)
		return ENOMEM;
	l->loop = cfg->loop;
	l->max_bindings = cfg->max_bindings ? cfg->max_bindings : SB_LOC_DEFAULT_MAX_BINDINGS;
	l->max_per_aor = cfg->max_per_aor ? cfg->max_per_aor : SB_LOC_DEFAULT_MAX_PER_AOR;
	/* an AOR has at least one binding, so max_bindings bounds the AORs too */
	struct sb_hash_cfg hc = {
		.max_count = l->max_bindings,
		.seed = (uint32_t)(cfg->hash_seed ^ (cfg->hash_seed >> 32)),
	};
	int err = sb_hash_alloc(&l->aors, &hc);
	if (err) {
		free(l);
		return err;
	}
	*lp = l;
	return 0;
}

/* Stop the timers of and free every binding of a (the AOR record stays). */
static void free_bindings(struct sb_location *l, struct loc_aor *a)
{
	struct loc_binding *b = a->head;
	while (b) {
		struct loc_binding *next = b->next;
		sb_timer_stop(l->loop, &b->timer);
		free(b);
		b = next;
	}
	a->head = NULL;
}

static void aor_free_h(struct sb_hash_node *n, void *arg)
{
	struct sb_location *l = arg;
	struct loc_aor *a = SB_HASH_OWNER(n, struct loc_aor, node);
	free_bindings(l, a);
	free(a);
}

void sb_location_free(struct sb_location *l)
{
	if (!l)
		return;
	sb_hash_clear(l->aors, aor_free_h, l);
	sb_hash_free(l->aors);
	free(l);
}

/* ------------------------------------------------------------ AOR keys */

/* Bytes that stay literal in a canonical user part: RFC 3261 §25.1
 * alphanum, mark and user-unreserved.  Everything else is %HH. */
static bool user_literal(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c && strchr("-_.!~*'()&=+$,;?/", c) != NULL;
}

int sb_location_aor_key(const struct sb_uri *uri, char *out, size_t cap, size_t *len)
{
	static const char hex[] = "0123456789ABCDEF";
	if (!uri || (uri->scheme != SB_URI_SIP && uri->scheme != SB_URI_SIPS) || !uri->host.l)
		return EINVAL;
	if (cap > SB_LOC_MAX_AOR)
		cap = SB_LOC_MAX_AOR;
	size_t n = 0;
#define PUT(c) do { if (n >= cap) return ENOSPC; out[n++] = (char)(c); } while (0)
	const char *scheme = uri->scheme == SB_URI_SIPS ? "sips:" : "sip:";
	for (const char *s = scheme; *s; s++)
		PUT(*s);
	if (uri->user.p) {
		const char *u = uri->user.p;
		for (size_t i = 0; i < uri->user.l; i++) {
			unsigned char c = (unsigned char)u[i];
			if (c == '%') {
				int hi, lo;
				if (i + 2 >= uri->user.l)
					return EINVAL;
				hi = sb_hexval(u[i + 1]);
				lo = sb_hexval(u[i + 2]);
				if (hi < 0 || lo < 0)
					return EINVAL;
				c = (unsigned char)(hi << 4 | lo);
				i += 2;
			}
			if (user_literal(c)) {
				PUT(c);
			} else {
				PUT('%');
				PUT(hex[c >> 4]);
				PUT(hex[c & 15]);
			}
		}
		PUT('@');
	}
	for (size_t i = 0; i < uri->host.l; i++) {
		char c = uri->host.p[i];
		PUT(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
	}
#undef PUT
	*len = n;
	return 0;
}

/* ------------------------------------------------------------- bindings */

static struct loc_aor *aor_find(struct sb_location *l, struct sb_slice aor)
{
	if (!aor.p || !aor.l || aor.l > SB_LOC_MAX_AOR)
		return NULL;
	struct sb_hash_node *n = sb_hash_find(l->aors, aor.p, aor.l);
	return n ? SB_HASH_OWNER(n, struct loc_aor, node) : NULL;
}

/* The binding of a whose contact equals uri (RFC 3261 §19.1.4).  *prevp
 * receives the link that points to it, for unlinking. */
static struct loc_binding *binding_find(struct loc_aor *a, const struct sb_uri *uri,
					struct loc_binding ***prevp)
{
	for (struct loc_binding **pp = &a->head; *pp; pp = &(*pp)->next) {
		struct sb_uri have;
		if (sb_uri_parse(&have, (*pp)->b.contact) != 0)
			continue; /* cannot happen: parsed before it was stored */
		if (sb_uri_equal(&have, uri)) {
			if (prevp)
				*prevp = pp;
			return *pp;
		}
	}
	return NULL;
}

/* Link b into a's list in lookup order: before the first binding whose q
 * is not higher, so it ranks first among equals (newest first). */
static void binding_link(struct loc_aor *a, struct loc_binding *b)
{
	struct loc_binding **pp = &a->head;
	while (*pp && (*pp)->b.q1000 > b->b.q1000)
		pp = &(*pp)->next;
	b->next = *pp;
	*pp = b;
	a->n++;
}

static void binding_unlink(struct loc_aor *a, struct loc_binding **pp)
{
	*pp = (*pp)->next;
	a->n--;
}

/* Drop an AOR record whose list became empty. */
static void aor_release(struct sb_location *l, struct loc_aor *a)
{
	if (a->n)
		return;
	sb_hash_remove(l->aors, &a->node);
	free(a);
}

static void binding_remove(struct sb_location *l, struct loc_aor *a, struct loc_binding **pp)
{
	struct loc_binding *b = *pp;
	binding_unlink(a, pp);
	sb_timer_stop(l->loop, &b->timer);
	free(b);
	l->count--;
	aor_release(l, a);
}

static void binding_expire_h(void *arg)
{
	struct loc_binding *b = arg;
	struct loc_aor *a = b->aor;
	for (struct loc_binding **pp = &a->head; *pp; pp = &(*pp)->next) {
		if (*pp == b) {
			binding_remove(a->loc, a, pp);
			return;
		}
	}
}

/* Fill b's strings and view from u; b has room for them. */
static void binding_fill(struct sb_location *l, struct loc_binding *b, struct loc_aor *a,
			 const struct sb_binding_update *u)
{
	memcpy(b->str, u->contact.p, u->contact.l);
	if (u->call_id.l)
		memcpy(b->str + u->contact.l, u->call_id.p, u->call_id.l);
	b->aor = a;
	b->b.contact = sb_slice_from(b->str, u->contact.l);
	b->b.call_id = sb_slice_from(b->str + u->contact.l, u->call_id.l);
	b->b.cseq = u->cseq;
	b->b.q1000 = u->q1000 > 1000 ? 1000 : u->q1000;
	b->b.expires_at = sb_loop_now(l->loop) + (sb_msec_t)u->expires_s * 1000u;
	b->b.source = u->source;
}

static int binding_arm(struct sb_location *l, struct loc_binding *b, uint32_t expires_s)
{
	return sb_timer_start(l->loop, &b->timer, (sb_msec_t)expires_s * 1000u,
			      binding_expire_h, b);
}

int sb_location_update(struct sb_location *l, const struct sb_binding_update *u)
{
	if (!l || !u || !u->aor.p || !u->aor.l || u->aor.l > SB_LOC_MAX_AOR || !u->contact.p ||
	    !u->contact.l || u->contact.l > SB_LOC_MAX_CONTACT || u->call_id.l > SB_LOC_MAX_CALL_ID)
		return EINVAL;
	struct sb_uri uri;
	if (sb_uri_parse(&uri, u->contact) != 0)
		return EINVAL;
	struct loc_aor *a = aor_find(l, u->aor);
	struct loc_binding **pp = NULL;
	struct loc_binding *b = a ? binding_find(a, &uri, &pp) : NULL;
	size_t need = sizeof *b + u->contact.l + u->call_id.l;

	if (u->expires_s == 0) {
		if (b)
			binding_remove(l, a, pp);
		return 0;
	}

	if (b) {
		/* Refresh: the strings may change length (another Call-ID, the
		 * contact written differently but equal), so the block may move;
		 * its timer must be idle while it does. */
		size_t have = sizeof *b + b->b.contact.l + b->b.call_id.l;
		binding_unlink(a, pp);
		sb_timer_stop(l->loop, &b->timer);
		if (need != have) {
			struct loc_binding *nb = realloc(b, need);
			if (!nb) {
				binding_link(a, b);
				binding_arm(l, b, (uint32_t)((b->b.expires_at - sb_loop_now(l->loop) + 999) / 1000));
				return ENOMEM;
			}
			b = nb;
		}
		binding_fill(l, b, a, u);
		binding_link(a, b);
		int err = binding_arm(l, b, u->expires_s);
		if (err) {
			/* ENOSPC cannot happen here (the old timer was just stopped);
			 * ENOMEM can: do not keep a binding that would never expire */
			for (pp = &a->head; *pp != b; pp = &(*pp)->next)
				;
			binding_unlink(a, pp);
			free(b);
			l->count--;
			aor_release(l, a);
		}
		return err;
	}

	/* New binding: bounds first (RFC 3261 leaves the limit to policy). */
	if (l->count >= l->max_bindings || (a && a->n >= l->max_per_aor))
		return ENOSPC;
	bool new_aor = false;
	if (!a) {
		a = calloc(1, sizeof *a + u->aor.l);
		if (!a)
			return ENOMEM;
		memcpy(a->key, u->aor.p, u->aor.l);
		a->loc = l;
		int err = sb_hash_insert(l->aors, &a->node, a->key, u->aor.l);
		if (err) {
			free(a);
			return err;
		}
		new_aor = true;
	}
	b = malloc(need);
	if (!b) {
		if (new_aor)
			aor_release(l, a);
		return ENOMEM;
	}
	memset(b, 0, sizeof *b);
	binding_fill(l, b, a, u);
	int err = binding_arm(l, b, u->expires_s);
	if (err) {
		free(b);
		if (new_aor)
			aor_release(l, a);
		return err;
	}
	binding_link(a, b);
	l->count++;
	return 0;
}

const struct sb_binding *sb_location_find(struct sb_location *l, struct sb_slice aor,
					  struct sb_slice contact)
{
	struct loc_aor *a = aor_find(l, aor);
	struct sb_uri uri;
	if (!a || !contact.p || sb_uri_parse(&uri, contact) != 0)
		return NULL;
	struct loc_binding *b = binding_find(a, &uri, NULL);
	return b ? &b->b : NULL;
}

size_t sb_location_lookup(struct sb_location *l, struct sb_slice aor,
			  const struct sb_binding **out, size_t max)
{
	struct loc_aor *a = aor_find(l, aor);
	if (!a)
		return 0;
	size_t i = 0;
	for (struct loc_binding *b = a->head; b && i < max; b = b->next)
		out[i++] = &b->b;
	return a->n;
}

size_t sb_location_remove_aor(struct sb_location *l, struct sb_slice aor)
{
	struct loc_aor *a = aor_find(l, aor);
	if (!a)
		return 0;
	size_t n = a->n;
	free_bindings(l, a);
	l->count -= n;
	a->n = 0;
	aor_release(l, a);
	return n;
}

int sb_location_check_room(struct sb_location *l, struct sb_slice aor, size_t removes,
			   size_t adds)
{
	struct loc_aor *a = aor_find(l, aor);
	size_t have = a ? a->n : 0;
	if (removes > have)
		removes = have;
	size_t after = have - removes + adds;
	if (after > l->max_per_aor)
		return EDQUOT;
	if (adds > removes && l->count + (adds - removes) > l->max_bindings)
		return ENOSPC;
	return 0;
}

/* ------------------------------------------------------------- walking */

struct foreach_ctx {
	sb_location_each_h *h;
	void *arg;
	int ret;                    /* the first non-zero return: stop */
};

static void foreach_aor_h(struct sb_hash_node *n, void *arg)
{
	struct foreach_ctx *c = arg;
	if (c->ret)
		return; /* sb_hash_walk cannot stop early: skip the rest */
	const struct loc_aor *a = SB_HASH_OWNER(n, struct loc_aor, node);
	struct sb_slice aor = sb_slice_from(a->key, n->klen);
	for (const struct loc_binding *b = a->head; b && !c->ret; b = b->next)
		c->ret = c->h(aor, &b->b, c->arg);
}

int sb_location_foreach(const struct sb_location *l, sb_location_each_h *h, void *arg)
{
	if (!l || !h)
		return EINVAL;
	struct foreach_ctx c = { .h = h, .arg = arg };
	sb_hash_walk(l->aors, foreach_aor_h, &c);
	return c.ret;
}

size_t sb_location_count(const struct sb_location *l)
{
	return l->count;
}

size_t sb_location_aor_count(const struct sb_location *l)
{
	return sb_hash_count(l->aors);
}
