/* routes: the admin API's resources (api.h): the path table, and one
 * handler per method and resource over the user directory, the location
 * service and the store.
 *
 * A change is checked against memory, queued to the store, and made in
 * memory only once the store has committed every operation of it (the
 * request's apply handler, run by api_store_done).  When the store fails
 * any of them, memory is left as it was and the answer says so (api.c:
 * api_settle); the operations are all idempotent upserts and deletes, so
 * repeating the request completes what the store may hold in part.  While
 * a change to a user waits for the store, other changes to that user (or
 * to its registrations) are refused with 409, so that what apply finds in
 * memory is what the request saw.  Registrations are also changed by the
 * registrar meanwhile: a removal takes out only the bindings it saw, and
 * only those still as they were (api_snap).
 *
 * Lists come in pages (api.h): the smallest keys after the cursor are
 * picked with a bounded heap, so a page costs one walk of the table and
 * no sort of all of it.
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

/* Whether name follows users.h's rules; else answers 400 naming the field.
 * "." and ".." are refused too: in a path they are dot segments, which
 * clients remove (RFC 3986 §5.2.4), so the user could not be addressed. */
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
	if (name.l <= 2 && !memcmp(name.p, "..", name.l)) {
		api_error(r, 400, "the field \"%s\" must not be \".\" or \"..\"", field);
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

/* A forwarding target as users.c takes it (sb_users_set_rule): a sip or
 * sips URI that parses, within SB_USERS_MAX_TARGET bytes.  Checked before
 * the store is asked, since memory is changed only after. */
static bool target_ok(struct sb_slice target)
{
	struct sb_uri uri;
	if (!target.l || target.l > SB_USERS_MAX_TARGET || memchr(target.p, '\0', target.l))
		return false;
	if (sb_uri_parse(&uri, target) != 0)
		return false;
	return uri.scheme == SB_URI_SIP || uri.scheme == SB_URI_SIPS;
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

/* ------------------------------------------------------------ changes */

/* Claim name for r's change: false after answering 409 when another
 * request's change to it is waiting for the store. */
static bool claim(struct api_req *r, struct sb_slice name)
{
	for (const struct api_req *o = r->api->reqs; o; o = o->next) {
		if (o == r || !o->locked || o->name_len != name.l ||
		    memcmp(o->name, name.p, name.l) != 0)
			continue;
		api_error(r, 409, "a change to \"%.*s\" is still being saved; try again shortly",
			  (int)name.l, name.p);
		return false;
	}
	memcpy(r->name, name.p, name.l);
	r->name[name.l] = '\0';
	r->name_len = name.l;
	return true;
}

static struct sb_slice req_name(const struct api_req *r)
{
	return sb_slice_from(r->name, r->name_len);
}

/* Queue r's first store operation (err is what queueing it returned):
 * false after answering when it could not be, and then nothing changed. */
static bool first_op(struct api_req *r, int err, const char *what)
{
	if (!api_op(r, err)) {
		r->locked = true; /* until api_settle */
		return true;
	}
	api_error_errno(r, err, what);
	return false;
}

void api_change_free(struct api_req *r)
{
	free(r->target);
	r->target = NULL;
	for (size_t i = 0; i < r->nsnap; i++) {
		free(r->snap[i].aor);
		free(r->snap[i].contact);
		free(r->snap[i].call_id);
	}
	free(r->snap);
	r->snap = NULL;
	r->nsnap = 0;
}

static char *memdup0(const char *p, size_t n)
{
	char *s = malloc(n + 1);
	if (s) {
		if (n)
			memcpy(s, p, n);
		s[n] = '\0';
	}
	return s;
}

/* Add aor's bindings to r's snapshot: how many it has, or -1 for ENOMEM. */
static long snap_aor(struct api_req *r, struct sb_slice aor)
{
	struct sb_location *loc = r->api->location;
	size_t n = sb_location_lookup(loc, aor, NULL, 0);
	if (!n)
		return 0;
	const struct sb_binding **bs = calloc(n, sizeof *bs);
	struct api_snap *v = realloc(r->snap, (r->nsnap + n) * sizeof *v);
	if (v)
		r->snap = v;
	if (!bs || !v) {
		free(bs);
		return -1;
	}
	size_t got = sb_location_lookup(loc, aor, bs, n);
	if (got > n)
		got = n;
	long ret = (long)got;
	for (size_t i = 0; i < got; i++) {
		struct api_snap *e = &r->snap[r->nsnap++];
		memset(e, 0, sizeof *e);
		e->aor = memdup0(aor.p, aor.l);
		e->contact = memdup0(bs[i]->contact.p, bs[i]->contact.l);
		e->call_id = memdup0(bs[i]->call_id.p, bs[i]->call_id.l);
		e->contact_len = bs[i]->contact.l;
		e->call_id_len = bs[i]->call_id.l;
		e->cseq = bs[i]->cseq;
		if (!e->aor || !e->contact || !e->call_id)
			ret = -1;
	}
	free(bs);
	return ret;
}

/* Remove the bindings of r's snapshot that are still as they were; a
 * binding refreshed or replaced since (by a REGISTER queued to the store
 * after r's removal) is the store's too, and stays.  Returns how many
 * went. */
static size_t snap_remove(struct api_req *r)
{
	struct sb_location *loc = r->api->location;
	size_t removed = 0;
	for (size_t i = 0; i < r->nsnap; i++) {
		const struct api_snap *e = &r->snap[i];
		struct sb_slice aor = sb_slice_cstr(e->aor);
		struct sb_slice contact = sb_slice_from(e->contact, e->contact_len);
		struct sb_slice call_id = sb_slice_from(e->call_id, e->call_id_len);
		const struct sb_binding *b = sb_location_find(loc, aor, contact);
		if (!b || b->cseq != e->cseq || !sb_slice_eq(b->call_id, call_id))
			continue;
		struct sb_binding_update u = { .aor = aor, .contact = contact, .call_id = call_id,
					       .cseq = e->cseq, .expires_s = 0 };
		if (sb_location_update(loc, &u) == 0)
			removed++;
	}
	return removed;
}

/* The canonical AORs of name in our domains (sip: and sips:), into
 * keys[0..*n). */
static void name_aors(struct sb_api *a, struct sb_slice name,
		      char keys[][SB_LOC_MAX_AOR + 1], size_t lens[], size_t *n)
{
	*n = 0;
	for (unsigned d = 0; d < a->ndomains; d++)
		for (int sips = 0; sips < 2; sips++)
			if (user_aor(name, a->domains[d], sips, keys[*n], SB_LOC_MAX_AOR + 1,
				     &lens[*n]) == 0)
				(*n)++;
}

#define API_MAX_AORS (2u * API_MAX_DOMAINS)

/* ------------------------------------------------------------ pages */

/* The cap smallest of the elements offered, under cmp: a max-heap whose
 * root is the largest kept. */
struct topk {
	char *v;
	size_t size, n, cap;
	int (*cmp)(const void *, const void *);
};

#define TOPK_MAX_SIZE 32u

static void *topk_at(struct topk *t, size_t i)
{
	return t->v + i * t->size;
}

static void topk_swap(struct topk *t, size_t i, size_t j)
{
	char tmp[TOPK_MAX_SIZE];
	memcpy(tmp, topk_at(t, i), t->size);
	memcpy(topk_at(t, i), topk_at(t, j), t->size);
	memcpy(topk_at(t, j), tmp, t->size);
}

static void topk_add(struct topk *t, const void *e)
{
	size_t i;
	if (t->n < t->cap) {
		i = t->n++;
		memcpy(topk_at(t, i), e, t->size);
		while (i && t->cmp(topk_at(t, (i - 1) / 2), topk_at(t, i)) < 0) {
			topk_swap(t, i, (i - 1) / 2);
			i = (i - 1) / 2;
		}
		return;
	}
	if (!t->cap || t->cmp(e, topk_at(t, 0)) >= 0)
		return;
	memcpy(topk_at(t, 0), e, t->size);
	for (i = 0;;) {
		size_t l = 2 * i + 1, m = i;
		if (l < t->n && t->cmp(topk_at(t, l), topk_at(t, m)) > 0)
			m = l;
		if (l + 1 < t->n && t->cmp(topk_at(t, l + 1), topk_at(t, m)) > 0)
			m = l + 1;
		if (m == i)
			break;
		topk_swap(t, i, m);
		i = m;
	}
}

/* ?limit=: 1..SB_API_PAGE_MAX, SB_API_PAGE_DEFAULT when absent; false
 * after answering 400. */
static bool page_limit(struct api_req *r, size_t *limit)
{
	const char *q = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "limit");
	uint64_t v = SB_API_PAGE_DEFAULT;
	if (q && (sb_slice_to_u64(sb_slice_cstr(q), SB_API_PAGE_MAX, &v) != 0 || v == 0)) {
		api_error(r, 400, "the parameter \"limit\" must be a whole number from 1 to %u",
			  SB_API_PAGE_MAX);
		return false;
	}
	*limit = (size_t)v;
	return true;
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

/* The query parameter key, %-decoded into buf (at most cap bytes): 1 with
 * *len, 0 when absent, -1 after answering 400 (a bad escape, too long). */
static int query_param(struct api_req *r, const char *key, char *buf, size_t cap, size_t *len)
{
	const char *q = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
	if (!q)
		return 0;
	size_t ql = strlen(q);
	long n = -1;
	if (ql <= 3 * cap) {
		char *raw = malloc(ql + 1);
		if (!raw) {
			api_error(r, 500, "out of memory");
			return -1;
		}
		memcpy(raw, q, ql + 1);
		n = pct_decode(raw, ql);
		if (n >= 0 && (size_t)n <= cap)
			memcpy(buf, raw, (size_t)n);
		else
			n = -1;
		free(raw);
	}
	if (n < 0) {
		api_error(r, 400, "the parameter \"%s\" is not valid", key);
		return -1;
	}
	*len = (size_t)n;
	return 1;
}

/* A cursor: the key's bytes (two parts joined by a space) %-escaped but
 * for ALPHA, DIGIT, "-", ".", "_" and "~", so that it can go back into a
 * query as it is, and holds only ASCII whatever the key's bytes. */
static json_t *cursor_json(struct sb_slice k1, struct sb_slice k2)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t total = k1.l + (k2.p ? 1 + k2.l : 0);
	char *out = malloc(3 * total + 1);
	if (!out)
		return NULL;
	size_t n = 0;
	for (size_t i = 0; i < total; i++) {
		unsigned char c = i < k1.l ? (unsigned char)k1.p[i] :
				  i == k1.l ? ' ' : (unsigned char)k2.p[i - k1.l - 1];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			out[n++] = (char)c;
		} else {
			out[n++] = '%';
			out[n++] = hex[c >> 4];
			out[n++] = hex[c & 15];
		}
	}
	json_t *j = json_stringn(out, n);
	free(out);
	return j;
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

struct user_page {
	struct topk heap;
	struct sb_slice after;       /* p NULL: from the start */
};

static int slice_cmp(struct sb_slice x, struct sb_slice y)
{
	size_t n = x.l < y.l ? x.l : y.l;
	int c = n ? memcmp(x.p, y.p, n) : 0;
	if (c)
		return c;
	return x.l < y.l ? -1 : x.l > y.l;
}

static int page_user_h(const struct sb_user *user, void *arg)
{
	struct user_page *pg = arg;
	if (pg->after.p && slice_cmp(sb_slice_from(user->name, user->name_len), pg->after) <= 0)
		return 0;
	topk_add(&pg->heap, &user);
	return 0;
}

static void users_list(struct api_req *r, const struct sb_slice *args)
{
	size_t limit, al = 0;
	char after[SB_USERS_MAX_NAME];
	int has_after;
	if (!page_limit(r, &limit) ||
	    (has_after = query_param(r, "after", after, sizeof after, &al)) < 0)
		return;
	struct user_page pg = {
		.heap = { .size = sizeof(const struct sb_user *), .cap = limit + 1,
			  .cmp = user_cmp },
		.after = has_after ? sb_slice_from(after, al) : SB_SLICE_NULL,
	};
	pg.heap.v = malloc(pg.heap.cap * pg.heap.size);
	json_t *arr = json_array();
	json_t *o = json_object();
	if (!pg.heap.v || !arr || !o) {
		free(pg.heap.v);
		json_decref(arr);
		json_decref(o);
		api_error(r, 500, "out of memory");
		return;
	}
	sb_users_foreach(r->api->users, page_user_h, &pg);
	const struct sb_user **v = (const struct sb_user **)(void *)pg.heap.v;
	qsort(v, pg.heap.n, sizeof *v, user_cmp);
	size_t n = pg.heap.n < limit ? pg.heap.n : limit;
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, user_json(v[i]));
	json_object_set_new(o, "users", arr);
	json_object_set_new(o, "next", pg.heap.n > limit ?
			    cursor_json(sb_slice_from(v[n - 1]->name, v[n - 1]->name_len),
					SB_SLICE_NULL) : json_null());
	free(pg.heap.v);
	api_answer(r, 200, o);
}

static void user_show(struct api_req *r, const struct sb_slice *args)
{
	const struct sb_user *u = user_get(r, args[0]);
	if (u)
		api_answer(r, 200, user_json(u));
}

/* The HA1s of name's password under our realm, into r->ha1; false after
 * answering 500. */
static bool ha1s(struct api_req *r, struct sb_slice name, struct sb_slice pw)
{
	struct sb_slice realm = sb_slice_cstr(r->api->realm);
	int err = sb_digest_ha1(SB_DIGEST_MD5, name, realm, pw, r->ha1[SB_DIGEST_MD5],
				SB_DIGEST_HEX_CAP);
	if (!err)
		err = sb_digest_ha1(SB_DIGEST_SHA256, name, realm, pw, r->ha1[SB_DIGEST_SHA256],
				    SB_DIGEST_HEX_CAP);
	if (err)
		api_error(r, 500, "computing the password hashes failed: %s", strerror(err));
	return !err;
}

/* The store record of r's user. */
static struct sb_store_user store_user(const struct api_req *r)
{
	return (struct sb_store_user){
		.name = req_name(r),
		.realm = sb_slice_cstr(r->api->realm),
		.ha1_md5 = sb_slice_cstr(r->ha1[SB_DIGEST_MD5]),
		.ha1_sha256 = sb_slice_cstr(r->ha1[SB_DIGEST_SHA256]),
		.created = r->created,
	};
}

static void add_apply(struct api_req *r)
{
	struct sb_api *a = r->api;
	struct sb_slice name = req_name(r);
	char ln[SB_USERS_MAX_NAME + 1];
	int err = sb_users_put(a->users, name, sb_slice_cstr(r->ha1[SB_DIGEST_MD5]),
			       sb_slice_cstr(r->ha1[SB_DIGEST_SHA256]), r->created);
	if (err) {
		/* saved, but memory cannot take it: out of the store again, so
		 * that a restart does not bring back a user that was refused */
		api_log(a, SB_LOG_ERROR, "api: user %s saved but not added in memory: %s",
			log_name(name, ln, sizeof ln), strerror(err));
		if (a->store)
			(void)sb_store_del_user(a->store, name, sb_slice_cstr(a->realm), NULL, NULL);
		if (err == ENOSPC)
			api_error(r, 503, "the user directory is full: the user was not added");
		else
			api_error(r, 500, "the user could not be added: %s", strerror(err));
		return;
	}
	api_log(a, SB_LOG_INFO, "api: user %s added", log_name(name, ln, sizeof ln));
	api_answer(r, 201, user_json(sb_users_find(a->users, name)));
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
	if (!claim(r, name) || !ha1s(r, name, pw))
		goto out;
	r->created = (int64_t)time(NULL);
	r->apply = add_apply;
	if (a->store) {
		struct sb_store_user su = store_user(r);
		if (!first_op(r, sb_store_put_user(a->store, &su, api_store_done, r),
			      "adding the user"))
			goto out;
	}
	api_wait(r);
out:
	json_decref(o);
}

static void delete_apply(struct api_req *r)
{
	struct sb_api *a = r->api;
	struct sb_slice name = req_name(r);
	(void)sb_users_del(a->users, name);
	size_t regs = snap_remove(r);
	if (!r->existed) {
		/* what the store held under the name is gone too */
		api_error(r, 404, "there is no user \"%.*s\"", (int)name.l, name.p);
		return;
	}
	char ln[SB_USERS_MAX_NAME + 1];
	api_log(a, SB_LOG_INFO, "api: user %s deleted with %zu registrations",
		log_name(name, ln, sizeof ln), regs);
	api_answer(r, 204, NULL);
}

static void user_delete(struct api_req *r, const struct sb_slice *args)
{
	struct sb_api *a = r->api;
	struct sb_slice name = args[0];
	r->existed = name.l && sb_users_find(a->users, name);
	/* absent from memory: still cleared from the store, which may hold
	 * part of an earlier deletion that failed; without one, a 404 */
	if ((!r->existed && !a->store) || !name.l || name.l > SB_USERS_MAX_NAME) {
		user_get(r, name);
		return;
	}
	if (!claim(r, name))
		return;
	r->apply = delete_apply;
	char keys[API_MAX_AORS][SB_LOC_MAX_AOR + 1];
	size_t lens[API_MAX_AORS], nk;
	name_aors(a, name, keys, lens, &nk);
	for (size_t i = 0; i < nk; i++) {
		if (snap_aor(r, sb_slice_from(keys[i], lens[i])) < 0) {
			api_error(r, 500, "out of memory");
			return;
		}
	}
	if (a->store) {
		/* the user first: if that cannot be queued, nothing changes */
		if (!first_op(r, sb_store_del_user(a->store, name, sb_slice_cstr(a->realm),
						   api_store_done, r), "deleting the user"))
			return;
		bool ok = true;
		for (unsigned k = 1; ok && k <= SB_USERS_RULE_KINDS; k++)
			ok = !api_op(r, sb_store_del_rule(a->store, name, (enum sb_store_fwd)k,
							  api_store_done, r));
		for (size_t i = 0; ok && i < nk; i++)
			ok = !api_op(r, sb_store_del_aor(a->store, sb_slice_from(keys[i], lens[i]),
							 api_store_done, r));
	}
	api_wait(r);
}

static void passwd_apply(struct api_req *r)
{
	struct sb_api *a = r->api;
	struct sb_slice name = req_name(r);
	char ln[SB_USERS_MAX_NAME + 1];
	int err = sb_users_put(a->users, name, sb_slice_cstr(r->ha1[SB_DIGEST_MD5]),
			       sb_slice_cstr(r->ha1[SB_DIGEST_SHA256]), r->created);
	if (err) {
		api_log(a, SB_LOG_ERROR, "api: password of %s saved but not set in memory: %s",
			log_name(name, ln, sizeof ln), strerror(err));
		api_error(r, 500, "the password was saved but could not be set in memory (%s): "
			  "repeat the request", strerror(err));
		return;
	}
	api_log(a, SB_LOG_INFO, "api: password of %s changed", log_name(name, ln, sizeof ln));
	api_answer(r, 204, NULL);
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
	if (api_get_string(r, o, "password", true, &pw) || !password_ok(r, pw) ||
	    !claim(r, name) || !ha1s(r, name, pw))
		goto out;
	r->created = u->created;
	r->apply = passwd_apply;
	if (a->store) {
		struct sb_store_user su = store_user(r);
		if (!first_op(r, sb_store_put_user(a->store, &su, api_store_done, r),
			      "changing the password"))
			goto out;
	}
	api_wait(r);
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

static void rule_put_apply(struct api_req *r)
{
	struct sb_api *a = r->api;
	struct sb_slice name = req_name(r);
	char ln[SB_USERS_MAX_NAME + 1];
	int err = sb_users_set_rule(a->users, name, r->kind, sb_slice_cstr(r->target), r->after);
	if (err) {
		api_log(a, SB_LOG_ERROR, "api: %s rule of %s saved but not set in memory: %s",
			sb_store_fwd_name(r->kind), log_name(name, ln, sizeof ln), strerror(err));
		api_error(r, 500, "the rule was saved but could not be set in memory (%s): "
			  "repeat the request", strerror(err));
		return;
	}
	api_log(a, SB_LOG_INFO, "api: %s rule of %s set", sb_store_fwd_name(r->kind),
		log_name(name, ln, sizeof ln));
	api_answer(r, 204, NULL);
}

static void fwd_put(struct api_req *r, const struct sb_slice *args)
{
	static const char *const fields[] = { "target", "after", NULL };
	struct sb_api *a = r->api;
	struct sb_slice name = args[0];
	enum sb_store_fwd k;
	if (!kind_get(r, args[1], &k))
		return;
	if (!user_get(r, name))
		return;
	json_t *o = api_body_object(r, fields);
	if (!o)
		return;
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
	} else if (!target_ok(target)) {
		api_error(r, 400, "the field \"target\" must be a sip: or sips: URI");
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
	if (!claim(r, name))
		goto out;
	r->kind = k;
	r->after = k == SB_STORE_FWD_NOANSWER ? after : 0;
	if (!(r->target = memdup0(target.p, target.l))) {
		api_error(r, 500, "out of memory");
		goto out;
	}
	r->apply = rule_put_apply;
	if (a->store) {
		struct sb_store_rule sr = { .user = name, .kind = k, .target = target,
					    .noanswer_s = r->after };
		if (!first_op(r, sb_store_put_rule(a->store, &sr, api_store_done, r),
			      "setting the rule"))
			goto out;
	}
	api_wait(r);
out:
	json_decref(o);
}

static void rule_del_apply(struct api_req *r)
{
	struct sb_api *a = r->api;
	struct sb_slice name = req_name(r);
	(void)sb_users_del_rule(a->users, name, r->kind);
	char ln[SB_USERS_MAX_NAME + 1];
	api_log(a, SB_LOG_INFO, "api: %s rule of %s deleted", sb_store_fwd_name(r->kind),
		log_name(name, ln, sizeof ln));
	api_answer(r, 204, NULL);
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
	if (!claim(r, name))
		return;
	r->kind = k;
	r->apply = rule_del_apply;
	if (a->store &&
	    !first_op(r, sb_store_del_rule(a->store, name, k, api_store_done, r),
		      "deleting the rule"))
		return;
	api_wait(r);
}

/* ------------------------------------------------------------ registrations */

struct reg_entry {
	struct sb_slice aor;
	const struct sb_binding *b;
};

struct reg_page {
	struct topk heap;
	const char *user;            /* escaped as in a key; NULL: all */
	size_t user_len;
	bool has_after;
	struct sb_slice after_aor, after_contact;
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

static int page_reg_h(struct sb_slice aor, const struct sb_binding *b, void *arg)
{
	struct reg_page *pg = arg;
	if (pg->user) {
		struct sb_slice u = aor_user(aor);
		if (u.l != pg->user_len || memcmp(u.p, pg->user, u.l) != 0)
			return 0;
	}
	if (pg->has_after) {
		int c = slice_cmp(aor, pg->after_aor);
		if (c < 0 || (c == 0 && slice_cmp(b->contact, pg->after_contact) <= 0))
			return 0;
	}
	struct reg_entry e = { aor, b };
	topk_add(&pg->heap, &e);
	return 0;
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

static void regs_list(struct api_req *r, const struct sb_slice *args)
{
	struct sb_api *a = r->api;
	size_t limit, ul = 0, al = 0;
	char esc[3 * SB_USERS_MAX_NAME + 1];
	char user[SB_USERS_MAX_NAME];
	char after[SB_LOC_MAX_AOR + 1 + SB_LOC_MAX_CONTACT];
	struct reg_page pg = { 0 };
	int has;
	if (!page_limit(r, &limit) ||
	    (has = query_param(r, "user", user, sizeof user, &ul)) < 0)
		return;
	if (has) {
		if (!name_ok(r, sb_slice_from(user, ul), "user"))
			return;
		if (escape_user(sb_slice_from(user, ul), esc, sizeof esc) != 0) {
			api_error(r, 400, "the parameter \"user\" is too long");
			return;
		}
		pg.user = esc;
		pg.user_len = strlen(esc);
	}
	if ((has = query_param(r, "after", after, sizeof after, &al)) < 0)
		return;
	if (has) {
		/* "AOR CONTACT": a canonical AOR holds no space */
		char *sp = memchr(after, ' ', al);
		pg.has_after = true;
		pg.after_aor = sb_slice_from(after, sp ? (size_t)(sp - after) : al);
		pg.after_contact = sp ? sb_slice_from(sp + 1, al - (size_t)(sp - after) - 1) :
				   sb_slice_from(after, 0);
	}
	pg.heap = (struct topk){ .size = sizeof(struct reg_entry), .cap = limit + 1,
				 .cmp = reg_cmp };
	pg.heap.v = malloc(pg.heap.cap * pg.heap.size);
	json_t *arr = json_array();
	json_t *o = json_object();
	int err = pg.heap.v && arr && o ? sb_location_foreach(a->location, page_reg_h, &pg) :
		  ENOMEM;
	if (err) {
		free(pg.heap.v);
		json_decref(arr);
		json_decref(o);
		api_error(r, 500, "listing the registrations failed: %s", strerror(err));
		return;
	}
	struct reg_entry *v = (struct reg_entry *)(void *)pg.heap.v;
	qsort(v, pg.heap.n, sizeof *v, reg_cmp);
	size_t n = pg.heap.n < limit ? pg.heap.n : limit;
	sb_msec_t now = sb_loop_now(a->loop);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, reg_json(a, &v[i], now));
	json_object_set_new(o, "registrations", arr);
	json_object_set_new(o, "next", pg.heap.n > limit ?
			    cursor_json(v[n - 1].aor, v[n - 1].b->contact) : json_null());
	free(pg.heap.v);
	api_answer(r, 200, o);
}

static void regs_delete_apply(struct api_req *r)
{
	struct sb_slice name = req_name(r);
	size_t n = snap_remove(r);
	char ln[SB_USERS_MAX_NAME + 1];
	api_log(r->api, SB_LOG_INFO, "api: %zu registrations of %s removed (%zu were still "
		"as they were)", r->nsnap, log_name(name, ln, sizeof ln), n);
	json_t *o = json_object();
	if (o)
		json_object_set_new(o, "removed", json_integer((json_int_t)r->nsnap));
	api_answer(r, 200, o);
}

static void regs_delete(struct api_req *r, const struct sb_slice *args)
{
	struct sb_api *a = r->api;
	struct sb_slice name = args[0];
	char keys[API_MAX_AORS][SB_LOC_MAX_AOR + 1];
	size_t lens[API_MAX_AORS], nk = 0;
	bool with[API_MAX_AORS] = { false };
	if (name.l && name.l <= SB_USERS_MAX_NAME)
		name_aors(a, name, keys, lens, &nk);
	for (size_t i = 0; i < nk; i++) {
		long n = snap_aor(r, sb_slice_from(keys[i], lens[i]));
		if (n < 0) {
			api_error(r, 500, "out of memory");
			return;
		}
		with[i] = n > 0;
	}
	if (!r->nsnap) {
		api_error(r, 404, "there are no registrations for \"%.*s\"",
			  (int)(name.l > 128 ? 128 : name.l), name.p);
		return;
	}
	if (!claim(r, name))
		return;
	r->apply = regs_delete_apply;
	if (a->store) {
		bool first = true, ok = true;
		for (size_t i = 0; ok && i < nk; i++) {
			if (!with[i])
				continue;
			int err = sb_store_del_aor(a->store, sb_slice_from(keys[i], lens[i]),
						   api_store_done, r);
			if (first) {
				if (!first_op(r, err, "removing the registrations"))
					return;
				first = false;
			} else {
				ok = !api_op(r, err);
			}
		}
	}
	api_wait(r);
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
