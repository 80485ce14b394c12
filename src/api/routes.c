/* routes: the admin API's resources (api.h): the path table, and one
 * handler per method and resource over the user directory, the location
 * service and the store.
 *
 * Every change is made in memory and queued to the store; the answer waits
 * for the store (api_wait).  A change that cannot be queued at all (the
 * store's queue is full) is undone or not made, and answered 503, so that
 * memory and store agree; only a change of several operations whose later
 * ones fail to queue is left in part, and says so (api.c: api_settle).
 *
 * Paths arrive still %-escaped: they are split on '/' first and each
 * segment decoded, so a user name may hold any byte its rules allow. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_int.h"

typedef void (api_handler_h)(struct api_req *r, const struct sb_slice *args);

/* ------------------------------------------------------------ names and AORs */

/* RFC 3261 §25.1 user-part bytes that location.c keeps literal in a
 * canonical AOR (alphanum, mark, user-unreserved); the rest it writes as
 * upper-case %HH.  Escaping a name the same way gives the key's user part
 * byte for byte. */
static bool user_literal(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c && strchr("-_.!~*'()&=+$,;?/", c) != NULL;
}

/* name escaped for the user part of a SIP URI, NUL-terminated.  0 or
 * ENOSPC. */
static int escape_user(struct sb_slice name, char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;
	for (size_t i = 0; i < name.l; i++) {
		unsigned char c = (unsigned char)name.p[i];
		if (n + 4 > cap)
			return ENOSPC;
		if (user_literal(c)) {
			out[n++] = (char)c;
		} else {
			out[n++] = '%';
			out[n++] = hex[c >> 4];
			out[n++] = hex[c & 15];
		}
	}
	if (n >= cap)
		return ENOSPC;
	out[n] = '\0';
	return 0;
}

/* The canonical AOR (sb_location_aor_key) of sip:NAME@DOMAIN, or sips:
 * when sips.  0, EINVAL, ENOSPC. */
static int user_aor(struct sb_slice name, const char *domain, bool sips, char *key,
		    size_t cap, size_t *len)
{
	char user[3 * SB_USERS_MAX_NAME + 1];
	char uri[sizeof user + SB_PROXY_MAX_NAME + 16];
	int err = escape_user(name, user, sizeof user);
	if (err)
		return err;
	/* an IPv6 domain is kept in [] (config.c); accept one without */
	bool bracket = strchr(domain, ':') && domain[0] != '[';
	int n = snprintf(uri, sizeof uri, "%s:%s@%s%s%s", sips ? "sips" : "sip", user,
			 bracket ? "[" : "", domain, bracket ? "]" : "");
	if (n < 0 || (size_t)n >= sizeof uri)
		return ENOSPC;
	struct sb_uri u;
	if (sb_uri_parse(&u, sb_slice_from(uri, (size_t)n)) != 0)
		return EINVAL;
	return sb_location_aor_key(&u, key, cap, len);
}

/* name for a log line: bytes that could fake a line or a terminal
 * sequence become '?'. */
static const char *log_name(struct sb_slice name, char *buf, size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; i < name.l && n + 1 < cap; i++) {
		unsigned char c = (unsigned char)name.p[i];
		buf[n++] = c >= 0x20 && c != 0x7f ? (char)c : '?';
	}
	buf[n] = '\0';
	return buf;
}

/* Whether name follows users.h's rules; else answers 400 naming the field. */
static bool name_ok(struct api_req *r, struct sb_slice name, const char *field)
{
	if (!name.l) {
		api_error(r, 400, "the field \"%s\" must not be empty", field);
		return false;
	}
	if (name.l > SB_USERS_MAX_NAME) {
		api_error(r, 400, "the field \"%s\" must be at most %u bytes", field,
			  SB_USERS_MAX_NAME);
		return false;
	}
	for (size_t i = 0; i < name.l; i++) {
		unsigned char c = (unsigned char)name.p[i];
		if (c < 0x20 || c == 0x7f || c == ':' || c == '@' || c == ' ') {
			api_error(r, 400, "the field \"%s\" must not hold control characters, "
				  "':', '@' or spaces", field);
			return false;
		}
	}
	return true;
}

static bool password_ok(struct api_req *r, struct sb_slice pw)
{
	if (!pw.l) {
		api_error(r, 400, "the field \"password\" must not be empty");
		return false;
	}
	if (pw.l > SB_API_MAX_PASSWORD) {
		api_error(r, 400, "the field \"password\" must be at most %u bytes",
			  SB_API_MAX_PASSWORD);
		return false;
	}
	return true;
}

/* The user named by a path segment, or NULL after answering 404. */
static const struct sb_user *user_get(struct api_req *r, struct sb_slice name)
{
	const struct sb_user *u = name.l ? sb_users_find(r->api->users, name) : NULL;
	if (!u)
		api_error(r, 404, "there is no user \"%.*s\"", (int)(name.l > 128 ? 128 : name.l),
			  name.p);
	return u;
}

static bool kind_get(struct api_req *r, struct sb_slice s, enum sb_store_fwd *k)
{
	if (sb_store_fwd_parse(s, k) == 0)
		return true;
	api_error(r, 400, "unknown forwarding kind \"%.*s\": use always, busy, noanswer, "
		  "unavailable or dnd", (int)(s.l > 32 ? 32 : s.l), s.p);
	return false;
}

/* ------------------------------------------------------------ JSON views */

static json_t *rules_json(const struct sb_user *u)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	for (unsigned k = 1; k <= SB_USERS_RULE_KINDS; k++) {
		const struct sb_user_rule *rule = &u->rule[k];
		if (!rule->set)
			continue;
		json_t *v = json_object();
		if (!v)
			continue;
		if (k == SB_STORE_FWD_DND || !rule->target)
			json_object_set_new(v, "target", json_null());
		else
			json_object_set_new(v, "target",
					    api_json_slice(sb_slice_cstr(rule->target)));
		json_object_set_new(v, "after", k == SB_STORE_FWD_NOANSWER ?
				    json_integer(rule->noanswer_s) : json_null());
		json_object_set_new(o, sb_store_fwd_name((enum sb_store_fwd)k), v);
	}
	return o;
}

static json_t *user_json(const struct sb_user *u)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	json_object_set_new(o, "name", api_json_slice(sb_slice_from(u->name, u->name_len)));
	json_object_set_new(o, "created", api_json_time(u->created));
	json_object_set_new(o, "forward", rules_json(u));
	return o;
}

/* ------------------------------------------------------------ users */

struct user_list {
	const struct sb_user **v;
	size_t n, cap;
};

static int collect_user_h(const struct sb_user *user, void *arg)
{
	struct user_list *l = arg;
	if (l->n >= l->cap)
		return ENOSPC; /* cannot happen: cap is the count */
	l->v[l->n++] = user;
	return 0;
}

static int user_cmp(const void *a, const void *b)
{
	const struct sb_user *x = *(const struct sb_user *const *)a;
	const struct sb_user *y = *(const struct sb_user *const *)b;
	size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
	int c = memcmp(x->name, y->name, n);
	if (c)
		return c;
	return x->name_len < y->name_len ? -1 : x->name_len > y->name_len;
}

static void users_list(struct api_req *r, const struct sb_slice *args)
{
	struct user_list l = { .cap = sb_users_count(r->api->users) };
	l.v = calloc(l.cap ? l.cap : 1, sizeof *l.v);
	json_t *arr = json_array();
	json_t *o = json_object();
	if (!l.v || !arr || !o) {
		free(l.v);
		json_decref(arr);
		json_decref(o);
		api_error(r, 500, "out of memory");
		return;
	}
	sb_users_foreach(r->api->users, collect_user_h, &l);
	qsort(l.v, l.n, sizeof *l.v, user_cmp);
	for (size_t i = 0; i < l.n; i++)
		json_array_append_new(arr, user_json(l.v[i]));
	free(l.v);
	json_object_set_new(o, "users", arr);
	api_answer(r, 200, o);
}

static void user_show(struct api_req *r, const struct sb_slice *args)
{
	const struct sb_user *u = user_get(r, args[0]);
	if (u)
		api_answer(r, 200, user_json(u));
}

/* The store record of user u. */
static struct sb_store_user store_user(const struct sb_api *a, const struct sb_user *u)
{
	return (struct sb_store_user){
		.name = sb_slice_from(u->name, u->name_len),
		.realm = sb_slice_cstr(a->realm),
		.ha1_md5 = sb_slice_cstr(u->ha1[SB_DIGEST_MD5]),
		.ha1_sha256 = sb_slice_cstr(u->ha1[SB_DIGEST_SHA256]),
		.created = u->created,
	};
}

/* sb_users_put*() errors as answers. */
static void put_error(struct api_req *r, int err)
{
	if (err == EINVAL)
		api_error(r, 400, "the user could not be stored: the name or password is not valid");
	else if (err == ENOSPC)
		api_error(r, 503, "the user directory is full");
	else
		api_error(r, 500, "computing the password hashes failed: %s", strerror(err));
}

static void users_add(struct api_req *r, const struct sb_slice *args)
{
	static const char *const fields[] = { "name", "password", NULL };
	struct sb_api *a = r->api;
	json_t *o = api_body_object(r, fields);
	if (!o)
		return;
	struct sb_slice name, pw;
	if (api_get_string(r, o, "name", true, &name) ||
	    api_get_string(r, o, "password", true, &pw) || !name_ok(r, name, "name") ||
	    !password_ok(r, pw))
		goto out;
	if (sb_users_find(a->users, name)) {
		api_error(r, 409, "the user \"%.*s\" already exists", (int)name.l, name.p);
		goto out;
	}
	int err = sb_users_put_password(a->users, name, sb_slice_cstr(a->realm), pw,
					(int64_t)time(NULL));
	if (err) {
		put_error(r, err);
		goto out;
	}
	const struct sb_user *u = sb_users_find(a->users, name);
	if (a->store) {
		struct sb_store_user su = store_user(a, u);
		err = api_op(r, sb_store_put_user(a->store, &su, api_store_done, r));
		if (err) {
			sb_users_del(a->users, name);
			api_error_errno(r, err, "adding the user");
			goto out;
		}
	}
	char ln[SB_USERS_MAX_NAME + 1];
	api_log(a, SB_LOG_INFO, "api: user %s added", log_name(name, ln, sizeof ln));
	api_wait(r, 201, user_json(u));
out:
	json_decref(o);
}

/* The AORs of name in our domains (sip: and sips:), removed from the
 * location and the store: those with bindings, or every one when every
 * (a deleted user leaves nothing behind).  Returns the bindings that went.
 * An AOR whose store removal cannot be queued stays (r->op_err says so). */
static size_t remove_registrations(struct api_req *r, struct sb_slice name, bool every)
{
	struct sb_api *a = r->api;
	size_t total = 0;
	for (unsigned d = 0; d < a->ndomains; d++) {
		for (int sips = 0; sips < 2; sips++) {
			char key[SB_LOC_MAX_AOR + 1];
			size_t kl;
			if (user_aor(name, a->domains[d], sips, key, sizeof key, &kl) != 0)
				continue;
			struct sb_slice aor = sb_slice_from(key, kl);
			size_t n = sb_location_lookup(a->location, aor, NULL, 0);
			if (!n && !every)
				continue;
			if (a->store &&
			    api_op(r, sb_store_del_aor(a->store, aor, api_store_done, r)) != 0)
				continue;
			total += sb_location_remove_aor(a->location, aor);
		}
	}
	return total;
}

static void user_delete(struct api_req *r, const struct sb_slice *args)
{
	struct sb_api *a = r->api;
	struct sb_slice name = args[0];
	if (!user_get(r, name))
		return;
	/* the user first: if that cannot be queued, nothing changes */
	if (a->store) {
		int err = api_op(r, sb_store_del_user(a->store, name, sb_slice_cstr(a->realm),
						      api_store_done, r));
		if (err) {
			api_error_errno(r, err, "deleting the user");
			return;
		}
		for (unsigned k = 1; k <= SB_USERS_RULE_KINDS; k++)
			api_op(r, sb_store_del_rule(a->store, name, (enum sb_store_fwd)k,
						    api_store_done, r));
	}
	size_t regs = remove_registrations(r, name, true);
	sb_users_del(a->users, name);
	char ln[SB_USERS_MAX_NAME + 1];
	api_log(a, SB_LOG_INFO, "api: user %s deleted with %zu registrations",
		log_name(name, ln, sizeof ln), regs);
	api_wait(r, 204, NULL);
}

static void user_passwd(struct api_req *r, const struct sb_slice *args)
{
	static const char *const fields[] = { "password", NULL };
	struct sb_api *a = r->api;
	struct sb_slice name = args[0];
	const struct sb_user *u = user_get(r, name);
	if (!u)
		return;
	json_t *o = api_body_object(r, fields);
	if (!o)
		return;
	struct sb_slice pw;
	if (api_get_string(r, o, "password", true, &pw) || !password_ok(r, pw))
		goto out;
	char old[SB_DIGEST_ALG_COUNT][SB_DIGEST_HEX_CAP];
	memcpy(old, u->ha1, sizeof old);
	int err = sb_users_put_password(a->users, name, sb_slice_cstr(a->realm), pw, u->created);
	if (err) {
		put_error(r, err);
		goto out;
	}
	u = sb_users_find(a->users, name);
	if (a->store) {
		struct sb_store_user su = store_user(a, u);
		err = api_op(r, sb_store_put_user(a->store, &su, api_store_done, r));
		if (err) {
			/* undo: the old hashes were valid, so this cannot fail */
			sb_users_put(a->users, name, sb_slice_cstr(old[SB_DIGEST_MD5]),
				     sb_slice_cstr(old[SB_DIGEST_SHA256]), u->created);
			api_error_errno(r, err, "changing the password");
			goto out;
		}
	}
	char ln[SB_USERS_MAX_NAME + 1];
	api_log(a, SB_LOG_INFO, "api: password of %s changed", log_name(name, ln, sizeof ln));
	api_wait(r, 204, NULL);
out:
	json_decref(o);
}

/* ------------------------------------------------------------ forwarding */

static void fwd_list(struct api_req *r, const struct sb_slice *args)
{
	const struct sb_user *u = user_get(r, args[0]);
	if (!u)
		return;
	json_t *o = json_object();
	if (o) {
		json_object_set_new(o, "name", api_json_slice(sb_slice_from(u->name, u->name_len)));
		json_object_set_new(o, "forward", rules_json(u));
	}
	api_answer(r, 200, o);
}

/* Put back a rule as it was (after a store failure). */
static void rule_restore(struct sb_api *a, struct sb_slice name, enum sb_store_fwd k,
			 bool set, const char *target, uint32_t after)
{
	if (set)
		sb_users_set_rule(a->users, name, k, sb_slice_cstr(target ? target : ""), after);
	else
		sb_users_del_rule(a->users, name, k);
}

static void fwd_put(struct api_req *r, const struct sb_slice *args)
{
	static const char *const fields[] = { "target", "after", NULL };
	struct sb_api *a = r->api;
	struct sb_slice name = args[0];
	enum sb_store_fwd k;
	if (!kind_get(r, args[1], &k))
		return;
	const struct sb_user *u = user_get(r, name);
	if (!u)
		return;
	json_t *o = api_body_object(r, fields);
	if (!o)
		return;
	char *old_target = NULL;
	struct sb_slice target;
	uint32_t after = 0;
	bool has_after;
	if (api_get_string(r, o, "target", k != SB_STORE_FWD_DND, &target) ||
	    api_get_uint(r, o, "after", 1, SB_STORE_MAX_NOANSWER_S, &after, &has_after))
		goto out;
	if (k == SB_STORE_FWD_DND) {
		if (target.l) {
			api_error(r, 400, "the field \"target\" must be empty for dnd");
			goto out;
		}
		target = SB_LIT("");
	} else if (!target.l) {
		api_error(r, 400, "the field \"target\" must not be empty");
		goto out;
	} else if (target.l > SB_USERS_MAX_TARGET) {
		api_error(r, 400, "the field \"target\" must be at most %u bytes",
			  SB_USERS_MAX_TARGET);
		goto out;
	}
	if (k == SB_STORE_FWD_NOANSWER && !has_after) {
		api_error(r, 400, "the field \"after\" (seconds of ringing) is required for "
			  "noanswer");
		goto out;
	}
	if (k != SB_STORE_FWD_NOANSWER && has_after) {
		api_error(r, 400, "the field \"after\" applies to noanswer only");
		goto out;
	}
	const struct sb_user_rule *was = &u->rule[k];
	bool old_set = was->set;
	uint32_t old_after = was->noanswer_s;
	if (was->set && was->target && !(old_target = strdup(was->target))) {
		api_error(r, 500, "out of memory");
		goto out;
	}
	int err = sb_users_set_rule(a->users, name, k, target, after);
	if (err == EINVAL) {
		api_error(r, 400, "the field \"target\" must be a sip: or sips: URI");
		goto out;
	}
	if (err) {
		api_error_errno(r, err, "setting the rule");
		goto out;
	}
	if (a->store) {
		struct sb_store_rule sr = { .user = name, .kind = k, .target = target,
					    .noanswer_s = k == SB_STORE_FWD_NOANSWER ? after : 0 };
		err = api_op(r, sb_store_put_rule(a->store, &sr, api_store_done, r));
		if (err) {
			rule_restore(a, name, k, old_set, old_target, old_after);
			api_error_errno(r, err, "setting the rule");
			goto out;
		}
	}
	char ln[SB_USERS_MAX_NAME + 1];
	api_log(a, SB_LOG_INFO, "api: %s rule of %s set", sb_store_fwd_name(k),
		log_name(name, ln, sizeof ln));
	api_wait(r, 204, NULL);
out:
	free(old_target);
	json_decref(o);
}

static void fwd_del(struct api_req *r, const struct sb_slice *args)
{
	struct sb_api *a = r->api;
	struct sb_slice name = args[0];
	enum sb_store_fwd k;
	if (!kind_get(r, args[1], &k))
		return;
	const struct sb_user *u = user_get(r, name);
	if (!u)
		return;
	if (!u->rule[k].set) {
		api_error(r, 404, "the user \"%.*s\" has no %s rule", (int)name.l, name.p,
			  sb_store_fwd_name(k));
		return;
	}
	if (a->store) {
		int err = api_op(r, sb_store_del_rule(a->store, name, k, api_store_done, r));
		if (err) {
			api_error_errno(r, err, "deleting the rule");
			return;
		}
	}
	sb_users_del_rule(a->users, name, k);
	char ln[SB_USERS_MAX_NAME + 1];
	api_log(a, SB_LOG_INFO, "api: %s rule of %s deleted", sb_store_fwd_name(k),
		log_name(name, ln, sizeof ln));
	api_wait(r, 204, NULL);
}

/* ------------------------------------------------------------ registrations */

struct reg_entry {
	struct sb_slice aor;
	const struct sb_binding *b;
};

struct reg_list {
	struct reg_entry *v;
	size_t n, cap;
	const char *user;            /* escaped as in a key; NULL: all */
	size_t user_len;
	int err;
};

/* The user part of a canonical AOR ("sip:USER@host"), or an empty slice. */
static struct sb_slice aor_user(struct sb_slice aor)
{
	long c = sb_slice_chr(aor, ':');
	if (c < 0)
		return SB_SLICE_NULL;
	struct sb_slice rest = sb_slice_from(aor.p + c + 1, aor.l - (size_t)c - 1);
	long at = sb_slice_chr(rest, '@'); /* a '@' of the user is %40 in a key */
	if (at < 0)
		return SB_SLICE_NULL;
	return sb_slice_from(rest.p, (size_t)at);
}

static int collect_reg_h(struct sb_slice aor, const struct sb_binding *b, void *arg)
{
	struct reg_list *l = arg;
	if (l->user) {
		struct sb_slice u = aor_user(aor);
		if (u.l != l->user_len || memcmp(u.p, l->user, u.l) != 0)
			return 0;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		struct reg_entry *v = realloc(l->v, cap * sizeof *v);
		if (!v)
			return ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = (struct reg_entry){ aor, b };
	return 0;
}

static int slice_cmp(struct sb_slice x, struct sb_slice y)
{
	size_t n = x.l < y.l ? x.l : y.l;
	int c = n ? memcmp(x.p, y.p, n) : 0;
	if (c)
		return c;
	return x.l < y.l ? -1 : x.l > y.l;
}

static int reg_cmp(const void *a, const void *b)
{
	const struct reg_entry *x = a, *y = b;
	int c = slice_cmp(x->aor, y->aor);
	return c ? c : slice_cmp(x->b->contact, y->b->contact);
}

static const char *proto_name(enum sb_tp_proto p)
{
	switch (p) {
	case SB_TP_UDP:
		return "udp";
	case SB_TP_TCP:
		return "tcp";
	case SB_TP_TLS:
		return "tls";
	}
	return "?";
}

static json_t *reg_json(struct sb_api *a, const struct reg_entry *e, sb_msec_t now)
{
	const struct sb_binding *b = e->b;
	json_t *o = json_object();
	if (!o)
		return NULL;
	char as[SB_ADDR_STR_MAX], src[SB_ADDR_STR_MAX + 8];
	snprintf(src, sizeof src, "%s %s", proto_name(b->source.proto),
		 sb_addr_to_str(&b->source.addr, as, sizeof as));
	sb_msec_t left = b->expires_at > now ? b->expires_at - now : 0;
	json_object_set_new(o, "aor", api_json_slice(e->aor));
	json_object_set_new(o, "contact", api_json_slice(b->contact));
	json_object_set_new(o, "expires_in", json_integer((json_int_t)((left + 999) / 1000)));
	json_object_set_new(o, "q", json_real(b->q1000 / 1000.0));
	json_object_set_new(o, "call_id", api_json_slice(b->call_id));
	json_object_set_new(o, "cseq", json_integer(b->cseq));
	json_object_set_new(o, "source", json_string(src));
	return o;
}

/* Decode %HH escapes of s in place; the new length, or -1 for a bad one. */
static long pct_decode(char *s, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '%') {
			s[o++] = s[i];
			continue;
		}
		if (i + 2 >= n)
			return -1;
		int hi = sb_hexval(s[i + 1]), lo = sb_hexval(s[i + 2]);
		if (hi < 0 || lo < 0)
			return -1;
		s[o++] = (char)(hi << 4 | lo);
		i += 2;
	}
	return (long)o;
}

static void regs_list(struct api_req *r, const struct sb_slice *args)
{
	struct sb_api *a = r->api;
	struct reg_list l = { 0 };
	char esc[3 * SB_USERS_MAX_NAME + 1];
	const char *q = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "user");
	if (q) {
		char raw[SB_USERS_MAX_NAME * 3 + 1];
		size_t ql = strlen(q);
		long n = -1;
		if (ql < sizeof raw) {
			memcpy(raw, q, ql);
			n = pct_decode(raw, ql);
		}
		if (n < 0) {
			api_error(r, 400, "the parameter \"user\" is not a valid user name");
			return;
		}
		if (!name_ok(r, sb_slice_from(raw, (size_t)n), "user"))
			return;
		if (escape_user(sb_slice_from(raw, (size_t)n), esc, sizeof esc) != 0) {
			api_error(r, 400, "the parameter \"user\" is too long");
			return;
		}
		l.user = esc;
		l.user_len = strlen(esc);
	}
	json_t *arr = json_array();
	json_t *o = json_object();
	int err = arr && o ? sb_location_foreach(a->location, collect_reg_h, &l) : ENOMEM;
	if (err) {
		free(l.v);
		json_decref(arr);
		json_decref(o);
		api_error(r, 500, "listing the registrations failed: %s", strerror(err));
		return;
	}
	if (l.n)
		qsort(l.v, l.n, sizeof *l.v, reg_cmp);
	sb_msec_t now = sb_loop_now(a->loop);
	for (size_t i = 0; i < l.n; i++)
		json_array_append_new(arr, reg_json(a, &l.v[i], now));
	free(l.v);
	json_object_set_new(o, "registrations", arr);
	api_answer(r, 200, o);
}

static void regs_delete(struct api_req *r, const struct sb_slice *args)
{
	struct sb_slice name = args[0];
	size_t n = name.l && name.l <= SB_USERS_MAX_NAME ? remove_registrations(r, name, false) : 0;
	if (!n && !r->op_err) {
		api_error(r, 404, "there are no registrations for \"%.*s\"",
			  (int)(name.l > 128 ? 128 : name.l), name.p);
		return;
	}
	if (!n) {
		api_error_errno(r, r->op_err, "removing the registrations");
		return;
	}
	char ln[SB_USERS_MAX_NAME + 1];
	api_log(r->api, SB_LOG_INFO, "api: %zu registrations of %s removed", n,
		log_name(name, ln, sizeof ln));
	json_t *o = json_object();
	if (o)
		json_object_set_new(o, "removed", json_integer((json_int_t)n));
	api_wait(r, 200, o);
}

/* ------------------------------------------------------------ stats */

static json_t *u64(uint64_t v)
{
	return json_integer(v > (uint64_t)INT64_MAX ? INT64_MAX : (json_int_t)v);
}

static void stats(struct api_req *r, const struct sb_slice *args)
{
	struct sb_api *a = r->api;
	json_t *o = json_object();
	if (!o) {
		api_error(r, 500, "out of memory");
		return;
	}
	json_t *sip = json_null();
	if (a->proxy) {
		struct sb_proxy_stats ps;
		sb_proxy_get_stats(a->proxy, &ps);
		json_t *cls = json_object();
		for (unsigned c = 1; c <= 6; c++) {
			char k[4] = { (char)('0' + c), 'x', 'x', '\0' };
			json_object_set_new(cls, k, u64(ps.responses_out[c]));
		}
		sip = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
				"requests", u64(ps.requests), "responses_in", u64(ps.responses_in),
				"responses_out", cls, "calls", u64(ps.calls),
				"calls_answered", u64(ps.calls_answered),
				"calls_forwarded", u64(ps.calls_forwarded),
				"challenged", u64(ps.challenged),
				"transactions", u64(ps.transactions), "contexts", u64(ps.contexts));
	}
	json_t *auth = json_null();
	if (a->authn) {
		struct sb_authn_stats as;
		sb_authn_get_stats(a->authn, (uint64_t)time(NULL), &as);
		auth = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "ok", u64(as.ok),
				 "challenged", u64(as.challenged), "failed", u64(as.failed),
				 "stale", u64(as.stale), "replayed", u64(as.replayed),
				 "forbidden", u64(as.forbidden), "locked_out", u64(as.locked_out),
				 "sources_locked", u64(as.sources_locked));
	}
	json_t *store = json_null();
	if (a->store) {
		struct sb_store_stats ss;
		sb_store_get_stats(a->store, &ss);
		store = json_pack("{s:o, s:o, s:o, s:o}", "batches", u64(ss.batches),
				  "committed", u64(ss.committed), "failed", u64(ss.failed),
				  "outstanding", u64(ss.outstanding));
	}
	json_object_set_new(o, "sip", sip);
	json_object_set_new(o, "registrations",
			    json_pack("{s:o, s:o}", "bindings", u64(sb_location_count(a->location)),
				      "aors", u64(sb_location_aor_count(a->location))));
	json_object_set_new(o, "users", u64(sb_users_count(a->users)));
	json_object_set_new(o, "auth", auth);
	json_object_set_new(o, "store", store);
	json_object_set_new(o, "uptime_s", u64((sb_loop_now(a->loop) - a->started) / 1000));
	api_answer(r, 200, o);
}

/* ------------------------------------------------------------ the table */

struct route {
	const char *segs[API_MAX_SEGS];  /* after /api/v1; "*" takes any; NULL ends */
	const char *allow;
	struct {
		enum api_method m;
		api_handler_h *h;
	} ops[2];
};

static const struct route routes[] = {
	{ { "users" }, "GET, POST", { { API_GET, users_list }, { API_POST, users_add } } },
	{ { "users", "*" }, "GET, DELETE",
	  { { API_GET, user_show }, { API_DELETE, user_delete } } },
	{ { "users", "*", "password" }, "PUT", { { API_PUT, user_passwd } } },
	{ { "users", "*", "forward" }, "GET", { { API_GET, fwd_list } } },
	{ { "users", "*", "forward", "*" }, "PUT, DELETE",
	  { { API_PUT, fwd_put }, { API_DELETE, fwd_del } } },
	{ { "registrations" }, "GET", { { API_GET, regs_list } } },
	{ { "registrations", "*" }, "DELETE", { { API_DELETE, regs_delete } } },
	{ { "stats" }, "GET", { { API_GET, stats } } },
};

void api_route(struct api_req *r)
{
	size_t plen = strlen(r->path);
	char *buf = malloc(plen + 1);
	if (!buf) {
		api_error(r, 500, "out of memory");
		return;
	}
	memcpy(buf, r->path, plen + 1);
	/* split: "/api/v1/users/x/" gives api, v1, users, x */
	struct sb_slice seg[API_MAX_SEGS + 2];
	size_t nseg = 0;
	bool bad = buf[0] != '/';
	char *p = buf + 1;
	if (plen > 1 && buf[plen - 1] == '/')
		buf[--plen] = '\0'; /* one trailing '/' is fine */
	while (!bad && *p) {
		char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (!n || nseg == SB_ARRAY_LEN(seg)) {
			bad = true;
			break;
		}
		long dl = pct_decode(p, n);
		if (dl < 0) {
			free(buf);
			api_error(r, 400, "the path holds a bad %%-escape");
			return;
		}
		seg[nseg++] = sb_slice_from(p, (size_t)dl);
		if (!e)
			break;
		p = e + 1;
	}
	if (bad || nseg < 3 || !sb_slice_eq(seg[0], SB_LIT("api")) ||
	    !sb_slice_eq(seg[1], SB_LIT("v1"))) {
		free(buf);
		api_error(r, 404, "there is no resource at this path (the API is under /api/v1/)");
		return;
	}
	for (size_t i = 0; i < SB_ARRAY_LEN(routes); i++) {
		const struct route *rt = &routes[i];
		struct sb_slice args[API_MAX_SEGS];
		size_t nargs = 0, k = 0;
		for (; k < API_MAX_SEGS && rt->segs[k]; k++) {
			if (k + 2 >= nseg)
				break;
			if (!strcmp(rt->segs[k], "*"))
				args[nargs++] = seg[k + 2];
			else if (!sb_slice_eq(seg[k + 2], sb_slice_cstr(rt->segs[k])))
				break;
		}
		if ((k < API_MAX_SEGS && rt->segs[k]) || k + 2 != nseg)
			continue;
		for (size_t m = 0; m < SB_ARRAY_LEN(rt->ops); m++) {
			if (rt->ops[m].h && rt->ops[m].m == r->method) {
				rt->ops[m].h(r, args);
				free(buf);
				return;
			}
		}
		free(buf);
		r->allow = rt->allow;
		api_error(r, 405, "%s is not allowed here (allowed: %s)", r->method_s, rt->allow);
		return;
	}
	free(buf);
	api_error(r, 404, "there is no resource at this path");
}
