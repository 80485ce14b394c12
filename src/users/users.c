/* users: the in-memory user directory of users.h.
 *
 * One struct user_rec per user, ONE allocation: the public view (struct
 * sb_user, with both HA1s inline), the hash node, and the name bytes (a
 * flexible array, NUL-terminated) that are also the node's key.  The
 * records are linked in an sb_hash table (hash.h) by name, so a lookup on
 * the SIP path is one hash probe with bounded rehash work.  Forwarding
 * targets are the only other allocations: one malloc'd string per rule set.
 *
 * The directory holds no password: sb_users_put_password() hashes the
 * password into the two HA1s (RFC 7616 §3.4.2) and forgets it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "switchboard/hash.h"
#include "switchboard/users.h"

_Static_assert(SB_STORE_HA1_MD5_LEN == SB_DIGEST_MD5_HEX, "MD5 HA1 length");
_Static_assert(SB_STORE_HA1_SHA256_LEN == SB_DIGEST_SHA256_HEX, "SHA-256 HA1 length");
_Static_assert(SB_USERS_RULE_KINDS == SB_STORE_FWD_DND, "one rule slot per kind");

struct user_rec {
	struct sb_hash_node node;   /* key: name[0..u.name_len) */
	struct sb_user u;           /* the view handed out; u.name points to name */
	char name[];
};

struct sb_users {
	struct sb_hash *by_name;    /* user_rec by name */
	uint32_t max;
};

int sb_users_alloc(struct sb_users **up, uint32_t max, uint64_t seed)
{
	if (!up)
		return EINVAL;
	*up = NULL;
	struct sb_users *u = calloc(1, sizeof *u);
	if (!u)
		return ENOMEM;
	u->max = max ? max : SB_USERS_DEFAULT_MAX;
	struct sb_hash_cfg hc = {
		.max_count = u->max,
		.seed = (uint32_t)(seed ^ (seed >> 32)),
	};
	int err = sb_hash_alloc(&u->by_name, &hc);
	if (err) {
		free(u);
		return err;
	}
	*up = u;
	return 0;
}

static void rules_free(struct sb_user *usr)
{
	for (size_t k = 1; k <= SB_USERS_RULE_KINDS; k++) {
		free(usr->rule[k].target);
		usr->rule[k] = (struct sb_user_rule){ 0 };
	}
}

static void rec_free_h(struct sb_hash_node *n, void *arg)
{
	(void)arg;
	struct user_rec *r = SB_HASH_OWNER(n, struct user_rec, node);
	rules_free(&r->u);
	free(r);
}

void sb_users_free(struct sb_users *u)
{
	if (!u)
		return;
	sb_hash_clear(u->by_name, rec_free_h, NULL);
	sb_hash_free(u->by_name);
	free(u);
}

/* ------------------------------------------------------------- checks */

/* users.h: 1..SB_USERS_MAX_NAME bytes, no control byte, ':' (the digest
 * A1 separator, RFC 7616 §3.4.2), '@' (the URI user/host separator) or
 * space.  Other bytes, UTF-8 included, are the name's own. */
static bool name_ok(struct sb_slice name)
{
	if (!name.p || name.l == 0 || name.l > SB_USERS_MAX_NAME || (name.l <= 2 && !memcmp(name.p, "..", name.l)))
		return false;
	for (size_t i = 0; i < name.l; i++) {
		unsigned char c = (unsigned char)name.p[i];
		if (c < 0x20 || c == 0x7f || c == ':' || c == '@' || c == ' ')
			return false;
	}
	return true;
}

/* An HA1 as given: empty (out gets "") or exactly hexlen hex digits in any
 * case (out gets them lower-cased).  false for anything else. */
static bool ha1_norm(struct sb_slice s, size_t hexlen, char out[SB_DIGEST_HEX_CAP])
{
	out[0] = '\0';
	if (s.l == 0)
		return true;
	if (!s.p || s.l != hexlen)
		return false;
	for (size_t i = 0; i < hexlen; i++) {
		char c = s.p[i];
		if (sb_hexval(c) < 0)
			return false;
		out[i] = (c >= 'A' && c <= 'F') ? (char)(c | 0x20) : c;
	}
	out[hexlen] = '\0';
	return true;
}

static struct user_rec *rec_find(const struct sb_users *u, struct sb_slice name)
{
	if (!u || !name.p || name.l == 0 || name.l > SB_USERS_MAX_NAME)
		return NULL;
	struct sb_hash_node *n = sb_hash_find(u->by_name, name.p, name.l);
	return n ? SB_HASH_OWNER(n, struct user_rec, node) : NULL;
}

const struct sb_user *sb_users_find(const struct sb_users *u, struct sb_slice name)
{
	struct user_rec *r = rec_find(u, name);
	return r ? &r->u : NULL;
}

/* -------------------------------------------------------------- users */

int sb_users_put(struct sb_users *u, struct sb_slice name, struct sb_slice ha1_md5,
		 struct sb_slice ha1_sha256, int64_t created)
{
	char ha1[SB_DIGEST_ALG_COUNT][SB_DIGEST_HEX_CAP];
	if (!u || !name_ok(name))
		return EINVAL;
	if (!ha1_norm(ha1_md5, SB_DIGEST_MD5_HEX, ha1[SB_DIGEST_MD5]) ||
	    !ha1_norm(ha1_sha256, SB_DIGEST_SHA256_HEX, ha1[SB_DIGEST_SHA256]))
		return EINVAL;
	if (!ha1[SB_DIGEST_MD5][0] && !ha1[SB_DIGEST_SHA256][0])
		return EINVAL;

	struct user_rec *r = rec_find(u, name);
	if (r) {
		/* a new password: both HA1s change, the rules and the
		 * created time stay */
		memcpy(r->u.ha1, ha1, sizeof ha1);
		return 0;
	}
	if (sb_hash_count(u->by_name) >= u->max)
		return ENOSPC;
	r = calloc(1, sizeof *r + name.l + 1);
	if (!r)
		return ENOMEM;
	memcpy(r->name, name.p, name.l);
	r->name[name.l] = '\0';
	r->u.name = r->name;
	r->u.name_len = name.l;
	memcpy(r->u.ha1, ha1, sizeof ha1);
	r->u.created = created;
	int err = sb_hash_insert(u->by_name, &r->node, r->name, name.l);
	if (err) {
		free(r);
		return err; /* ENOSPC; EEXIST cannot happen: looked up above */
	}
	return 0;
}

int sb_users_put_password(struct sb_users *u, struct sb_slice name, struct sb_slice realm,
			  struct sb_slice password, int64_t created)
{
	char md5[SB_DIGEST_HEX_CAP], sha256[SB_DIGEST_HEX_CAP];
	if (!u || !name_ok(name) || !realm.p || realm.l == 0 || !password.p)
		return EINVAL;
	/* RFC 7616 §3.4.2: HA1 = H(username ":" realm ":" password), one per
	 * algorithm we accept (RFC 8760: SHA-256, and MD5 for old phones) */
	int err = sb_digest_ha1(SB_DIGEST_MD5, name, realm, password, md5, sizeof md5);
	if (!err)
		err = sb_digest_ha1(SB_DIGEST_SHA256, name, realm, password, sha256,
				    sizeof sha256);
	if (err)
		return err;
	return sb_users_put(u, name, sb_slice_cstr(md5), sb_slice_cstr(sha256), created);
}

int sb_users_del(struct sb_users *u, struct sb_slice name)
{
	struct user_rec *r = rec_find(u, name);
	if (!r)
		return ENOENT;
	sb_hash_remove(u->by_name, &r->node);
	rec_free_h(&r->node, NULL);
	return 0;
}

size_t sb_users_count(const struct sb_users *u)
{
	return u ? sb_hash_count(u->by_name) : 0;
}

/* -------------------------------------------------------------- rules */

static bool kind_ok(enum sb_store_fwd kind)
{
	return kind >= SB_STORE_FWD_ALWAYS && kind <= SB_STORE_FWD_DND;
}

/* A forwarding target: a sip or sips URI that parses (RFC 3261 §19.1),
 * within SB_USERS_MAX_TARGET bytes.  A tel: URI or a name would have to be
 * routed by something we do not have. */
static bool target_ok(struct sb_slice target)
{
	struct sb_uri uri;
	if (!target.p || target.l == 0 || target.l > SB_USERS_MAX_TARGET)
		return false;
	if (memchr(target.p, '\0', target.l))
		return false;
	if (sb_uri_parse(&uri, target) != 0)
		return false;
	return uri.scheme == SB_URI_SIP || uri.scheme == SB_URI_SIPS;
}

int sb_users_set_rule(struct sb_users *u, struct sb_slice name, enum sb_store_fwd kind,
		      struct sb_slice target, uint32_t noanswer_s)
{
	if (!u || !kind_ok(kind))
		return EINVAL;
	if (kind == SB_STORE_FWD_DND) {
		/* do not disturb has no target: whatever came is ignored */
		target = SB_LIT("");
	} else if (!target_ok(target)) {
		return EINVAL;
	}
	if (kind == SB_STORE_FWD_NOANSWER) {
		if (noanswer_s == 0 || noanswer_s > SB_STORE_MAX_NOANSWER_S)
			return EINVAL;
	} else {
		noanswer_s = 0;
	}
	struct user_rec *r = rec_find(u, name);
	if (!r)
		return ENOENT;

	/* the copy first: on ENOMEM the old rule is left as it was */
	char *copy = malloc(target.l + 1);
	if (!copy)
		return ENOMEM;
	memcpy(copy, target.p, target.l);
	copy[target.l] = '\0';
	struct sb_user_rule *rule = &r->u.rule[kind];
	free(rule->target);
	rule->set = true;
	rule->target = copy;
	rule->noanswer_s = noanswer_s;
	return 0;
}

int sb_users_del_rule(struct sb_users *u, struct sb_slice name, enum sb_store_fwd kind)
{
	struct user_rec *r = rec_find(u, name);
	if (!r || !kind_ok(kind) || !r->u.rule[kind].set)
		return ENOENT;
	free(r->u.rule[kind].target);
	r->u.rule[kind] = (struct sb_user_rule){ 0 };
	return 0;
}

/* ------------------------------------------------------------ foreach */

struct each_ctx {
	sb_users_each_h *h;
	void *arg;
	int ret;
};

static void each_h(struct sb_hash_node *n, void *arg)
{
	struct each_ctx *c = arg;
	if (c->ret)
		return; /* stopped: sb_hash_walk cannot be cut short */
	c->ret = c->h(&SB_HASH_OWNER(n, struct user_rec, node)->u, c->arg);
}

int sb_users_foreach(const struct sb_users *u, sb_users_each_h *h, void *arg)
{
	if (!u || !h)
		return EINVAL;
	struct each_ctx c = { .h = h, .arg = arg, .ret = 0 };
	sb_hash_walk(u->by_name, each_h, &c);
	return c.ret;
}
