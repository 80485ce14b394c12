/* Unit tests for api: the admin API over a real socket on 127.0.0.1 (the
 * kernel picks the port), on a real loop, with a real user directory,
 * location service and SQLite store in a mkdtemp directory.
 *
 * Each request is made by a small HTTP/1.1 client on a plain socket in a
 * second thread (Connection: close, read to EOF), while the main thread
 * runs the loop until the client is done; the checks run on the main
 * thread afterwards (cmocka's asserts are not for other threads).  The
 * store's backend is SQLite behind a gate that can hold commits, so that
 * the answer waiting for the store (a suspended connection) and the full
 * queue (503) are seen for real, and can fail them (all, or the
 * operations of one kind), so that a failed or partly saved change is too.
 *
 * Every wait has a deadline, so a broken server fails a test instead of
 * hanging it. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <jansson.h>

#include "switchboard/api.h"
#include "switchboard/auth.h"
#include "switchboard/authn.h"
#include "switchboard/location.h"
#include "switchboard/store.h"
#include "switchboard/users.h"

#define WAIT_MS 10000
#define TOKEN "test-token-0123456789abcdef"
#define REALM "example.com"

/* ------------------------------------------------------------ a gated store */

/* SQLite, with commits held while hold is set, and failed with EIO while
 * fail is set: every operation (GATE_FAIL_ALL) or those of one kind (the
 * others commit). */
#define GATE_FAIL_ALL (-1)
struct gate {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	void *inner;
	bool hold;
	int waiting;                /* commits held now */
	int fail;                   /* 0, GATE_FAIL_ALL or an enum sb_store_op_kind */
};

static int gate_open(void **bep, const struct sb_store_cfg *cfg, char *err, size_t cap)
{
	struct gate *g = cfg->backend_arg;
	int e = sb_store_backend_sqlite.open(&g->inner, cfg, err, cap);
	*bep = g;
	return e;
}

static int gate_commit(void *be, struct sb_store_op *const *ops, size_t n)
{
	struct gate *g = be;
	pthread_mutex_lock(&g->mu);
	g->waiting++;
	pthread_cond_broadcast(&g->cv);
	while (g->hold)
		pthread_cond_wait(&g->cv, &g->mu);
	g->waiting--;
	int fail = g->fail;
	pthread_mutex_unlock(&g->mu);
	if (fail == GATE_FAIL_ALL) {
		for (size_t i = 0; i < n; i++)
			ops[i]->err = EIO;
		return EIO;
	}
	if (!fail)
		return sb_store_backend_sqlite.commit(g->inner, ops, n);
	/* the database refuses the operations of that kind alone */
	struct sb_store_op **keep = calloc(n ? n : 1, sizeof *keep);
	size_t k = 0;
	if (!keep)
		return ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if ((int)ops[i]->kind == fail)
			ops[i]->err = EIO;
		else
			keep[k++] = ops[i];
	}
	int e = k ? sb_store_backend_sqlite.commit(g->inner, keep, k) : 0;
	free(keep);
	return e;
}

static int gate_load(void *be, int64_t now, const struct sb_store_loader *ld, void *arg,
		     struct sb_store_load_counts *c)
{
	struct gate *g = be;
	return sb_store_backend_sqlite.load(g->inner, now, ld, arg, c);
}

static void gate_close(void *be)
{
	struct gate *g = be;
	sb_store_backend_sqlite.close(g->inner);
}

static const struct sb_store_backend gate_backend = {
	.name = "gated-sqlite",
	.open = gate_open,
	.commit = gate_commit,
	.load = gate_load,
	.close = gate_close,
};

static void gate_set(struct gate *g, bool hold)
{
	pthread_mutex_lock(&g->mu);
	g->hold = hold;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

static void gate_fail(struct gate *g, int fail)
{
	pthread_mutex_lock(&g->mu);
	g->fail = fail;
	pthread_mutex_unlock(&g->mu);
}

/* ------------------------------------------------------------ fixture */

struct fx {
	char dir[64];
	char path[96];
	struct gate gate;
	struct sb_loop *loop;
	struct sb_users *users;
	struct sb_location *loc;
	struct sb_store *store;
	struct sb_digest *digest;
	struct sb_authn *authn;
	struct sb_api *api;
	uint16_t port;
	char log[256][256];
	int nlog;
};

static void log_h(enum sb_log_level lvl, const char *line, void *arg)
{
	struct fx *f = arg;
	if (getenv("SB_TEST_LOG"))
		fprintf(stderr, "log: %d %s\n", (int)lvl, line);
	if (f->nlog < (int)SB_ARRAY_LEN(f->log))
		snprintf(f->log[f->nlog++], sizeof f->log[0], "%d %s", (int)lvl, line);
}

static bool logged(const struct fx *f, const char *s)
{
	for (int i = 0; i < f->nlog; i++)
		if (strstr(f->log[i], s))
			return true;
	return false;
}

static const char *const domains[] = { "example.com", "127.0.0.1", NULL };

static struct sb_api_cfg api_cfg(struct fx *f)
{
	struct sb_api_cfg c = {
		.loop = f->loop,
		.token = TOKEN,
		.realm = REALM,
		.users = f->users,
		.location = f->loc,
		.store = f->store,
		.authn = f->authn,
		.domains = domains,
		.log_h = log_h,
		.log_arg = f,
	};
	assert_int_equal(sb_addr_parse(&c.listen, "127.0.0.1", 0), 0);
	return c;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	assert_non_null(f);
	pthread_mutex_init(&f->gate.mu, NULL);
	pthread_cond_init(&f->gate.cv, NULL);
	snprintf(f->dir, sizeof f->dir, "/tmp/sb-api-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof f->path, "%s/sb.db", f->dir);
	assert_int_equal(sb_loop_alloc(&f->loop, NULL), 0);
	assert_int_equal(sb_users_alloc(&f->users, 0, 42), 0);
	struct sb_location_cfg lc = { .loop = f->loop };
	assert_int_equal(sb_location_alloc(&f->loc, &lc), 0);
	struct sb_store_cfg sc = { .loop = f->loop, .path = f->path, .backend = &gate_backend,
				   .backend_arg = &f->gate };
	char err[256];
	int e = sb_store_alloc(&f->store, &sc, err, sizeof err);
	if (e)
		fail_msg("sb_store_alloc: %s", err);
	struct sb_digest_cfg dc = { .realm = SB_LIT(REALM) };
	assert_int_equal(sb_digest_alloc(&f->digest, &dc), 0);
	struct sb_authn_cfg ac = { .digest = f->digest, .users = f->users };
	assert_int_equal(sb_authn_alloc(&f->authn, &ac), 0);
	struct sb_api_cfg c = api_cfg(f);
	e = sb_api_alloc(&f->api, &c, err, sizeof err);
	if (e)
		fail_msg("sb_api_alloc: %d %s", e, err);
	struct sb_addr bound;
	sb_api_bound(f->api, &bound);
	f->port = sb_addr_port(&bound);
	assert_true(f->port != 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	gate_set(&f->gate, false);
	sb_api_free(f->api);
	sb_store_free(f->store);
	sb_authn_free(f->authn);
	sb_digest_free(f->digest);
	sb_location_free(f->loc);
	sb_users_free(f->users);
	sb_loop_free(f->loop);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static sb_msec_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (sb_msec_t)ts.tv_sec * 1000 + (sb_msec_t)ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------ the client */

struct call {
	struct sb_loop *loop;
	uint16_t port;
	char *req;
	size_t req_len;
	char *raw;                  /* the whole response */
	size_t raw_len;
	size_t sent;                /* bytes of req the server took */
	int err;
	atomic_int done;
	pthread_t th;
};

static void *client_main(void *arg)
{
	struct call *c = arg;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(c->port) };
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	struct timeval tv = { .tv_sec = WAIT_MS / 1000 };
	if (fd < 0) {
		c->err = errno;
		goto out;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (connect(fd, (struct sockaddr *)&sin, sizeof sin) != 0) {
		c->err = errno;
		goto out;
	}
	/* the server may answer (413, 401) and close before all is sent:
	 * a failed send is fine, the answer is still there to read */
	for (c->sent = 0; c->sent < c->req_len;) {
		ssize_t n = send(fd, c->req + c->sent, c->req_len - c->sent, MSG_NOSIGNAL);
		if (n <= 0)
			break;
		c->sent += (size_t)n;
	}
	size_t cap = 65536;
	c->raw = malloc(cap + 1);
	for (;;) {
		if (c->raw_len == cap) {
			cap *= 2;
			c->raw = realloc(c->raw, cap + 1);
		}
		ssize_t n = recv(fd, c->raw + c->raw_len, cap - c->raw_len, 0);
		if (n < 0 && c->raw_len == 0)
			c->err = errno;
		if (n <= 0)
			break;
		c->raw_len += (size_t)n;
	}
	c->raw[c->raw_len] = '\0';
out:
	if (fd >= 0)
		close(fd);
	atomic_store(&c->done, 1);
	sb_loop_wake(c->loop); /* the one call another thread may make */
	return NULL;
}

struct resp {
	int status;
	char *head;                 /* status line and header fields */
	char *body;
	json_t *json;               /* the body parsed, if it is JSON */
};

static void resp_free(struct resp *r)
{
	free(r->head);
	free(r->body);
	json_decref(r->json);
	memset(r, 0, sizeof *r);
}

static void call_start(struct fx *f, struct call *c, const char *method, const char *path,
		       const char *auth, const char *extra_hdrs, const char *body)
{
	memset(c, 0, sizeof *c);
	c->loop = f->loop;
	c->port = f->port;
	size_t bl = body ? strlen(body) : 0;
	size_t cap = 1024 + strlen(path) + (extra_hdrs ? strlen(extra_hdrs) : 0) + bl;
	c->req = malloc(cap);
	assert_non_null(c->req);
	int n = snprintf(c->req, cap, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
			 "%s%s%s%s",
			 method, path, auth ? "Authorization: " : "", auth ? auth : "",
			 auth ? "\r\n" : "", extra_hdrs ? extra_hdrs : "");
	if (body)
		n += snprintf(c->req + n, cap - (size_t)n,
			      "Content-Type: application/json\r\nContent-Length: %zu\r\n", bl);
	n += snprintf(c->req + n, cap - (size_t)n, "\r\n");
	if (body) {
		memcpy(c->req + n, body, bl);
		n += (int)bl;
	}
	c->req_len = (size_t)n;
	atomic_init(&c->done, 0);
	assert_int_equal(pthread_create(&c->th, NULL, client_main, c), 0);
}

/* Run the loop until the client of c is done. */
static void call_wait(struct fx *f, struct call *c)
{
	sb_msec_t end = mono_ms() + WAIT_MS;
	while (!atomic_load(&c->done)) {
		if (mono_ms() > end)
			fail_msg("timed out waiting for an answer to: %.60s", c->req);
		assert_int_equal(sb_loop_poll(f->loop, 20), 0);
	}
	pthread_join(c->th, NULL);
	free(c->req);
	c->req = NULL;
}

/* Run the loop until c is answered, then parse what came back. */
static void call_finish(struct fx *f, struct call *c, struct resp *out)
{
	call_wait(f, c);
	memset(out, 0, sizeof *out);
	if (c->err)
		fail_msg("the client failed: %s", strerror(c->err));
	assert_non_null(c->raw);
	char *sep = strstr(c->raw, "\r\n\r\n");
	if (!sep)
		fail_msg("no header section in: %.200s", c->raw);
	*sep = '\0';
	out->head = strdup(c->raw);
	out->body = strdup(sep + 4);
	free(c->raw);
	assert_int_equal(sscanf(out->head, "HTTP/1.1 %d", &out->status), 1);
	if (out->body[0])
		out->json = json_loads(out->body, 0, NULL);
}

static void http_ex(struct fx *f, struct resp *out, const char *method, const char *path,
		    const char *auth, const char *extra_hdrs, const char *body)
{
	struct call c;
	call_start(f, &c, method, path, auth, extra_hdrs, body);
	call_finish(f, &c, out);
}

/* A request with our token. */
static void http(struct fx *f, struct resp *out, const char *method, const char *path,
		 const char *body)
{
	http_ex(f, out, method, path, "Bearer " TOKEN, NULL, body);
}

static const char *jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static long long jint(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_integer(v))
		fail_msg("\"%s\" is not an integer", key);
	return json_integer_value(v);
}

/* Expect status and, for an error, a sentence holding want. */
static void expect(struct resp *r, int status, const char *want)
{
	if (r->status != status)
		fail_msg("status %d, wanted %d; body: %s", r->status, status, r->body);
	if (want) {
		const char *e = jstr(r->json, "error");
		if (!e || !strstr(e, want))
			fail_msg("error \"%s\" does not hold \"%s\"", e ? e : "(none)", want);
	}
}

static void expect_header(const struct resp *r, const char *line)
{
	if (!strcasestr(r->head, line))
		fail_msg("no \"%s\" in:\n%s", line, r->head);
}

/* ------------------------------------------------------------ store checks */

struct seen {
	char line[32][400];
	int n;
};

static int seen_user(const struct sb_store_user *u, void *arg)
{
	struct seen *s = arg;
	if (s->n < 32)
		snprintf(s->line[s->n++], sizeof s->line[0], "user %.*s@%.*s %.*s %.*s",
			 (int)u->name.l, u->name.p, (int)u->realm.l, u->realm.p,
			 (int)u->ha1_md5.l, u->ha1_md5.p, (int)u->ha1_sha256.l, u->ha1_sha256.p);
	return 0;
}

static int seen_rule(const struct sb_store_rule *r, void *arg)
{
	struct seen *s = arg;
	if (s->n < 32)
		snprintf(s->line[s->n++], sizeof s->line[0], "rule %.*s %s %.*s %u",
			 (int)r->user.l, r->user.p, sb_store_fwd_name(r->kind),
			 (int)r->target.l, r->target.p, r->noanswer_s);
	return 0;
}

static int seen_binding(const struct sb_store_binding *b, void *arg)
{
	struct seen *s = arg;
	if (s->n < 32)
		snprintf(s->line[s->n++], sizeof s->line[0], "binding %.*s %.*s", (int)b->aor.l,
			 b->aor.p, (int)b->contact.l, b->contact.p);
	return 0;
}

/* What a second store on the same file loads: what survives a restart. */
static void reload(struct fx *f, struct seen *s)
{
	struct sb_store_cfg sc = { .loop = f->loop, .path = f->path };
	struct sb_store *st = NULL;
	char err[256];
	if (sb_store_alloc(&st, &sc, err, sizeof err))
		fail_msg("reopen: %s", err);
	struct sb_store_loader ld = { .user = seen_user, .rule = seen_rule,
				      .binding = seen_binding };
	memset(s, 0, sizeof *s);
	assert_int_equal(sb_store_load(st, (int64_t)time(NULL), &ld, s, NULL), 0);
	sb_store_free(st);
}

static bool seen_has(const struct seen *s, const char *prefix)
{
	for (int i = 0; i < s->n; i++)
		if (!strncmp(s->line[i], prefix, strlen(prefix)))
			return true;
	return false;
}

static void ha1(enum sb_digest_alg alg, const char *user, const char *pw, char *out)
{
	assert_int_equal(sb_digest_ha1(alg, sb_slice_cstr(user), SB_LIT(REALM),
				       sb_slice_cstr(pw), out, SB_DIGEST_HEX_CAP), 0);
}

/* ------------------------------------------------------------ tests */

static void test_token(void **state)
{
	struct fx *f = *state;
	struct resp r;

	http_ex(f, &r, "GET", "/api/v1/stats", NULL, NULL, NULL);
	expect(&r, 401, "Authorization: Bearer");
	expect_header(&r, "WWW-Authenticate: Bearer");
	resp_free(&r);

	http_ex(f, &r, "GET", "/api/v1/stats", "Bearer not-the-token-at-all", NULL, NULL);
	expect(&r, 401, "token is not valid");
	resp_free(&r);

	/* a prefix of the token, the token with a byte more, another scheme */
	http_ex(f, &r, "GET", "/api/v1/stats", "Bearer test-token-0123456789abcde", NULL, NULL);
	expect(&r, 401, NULL);
	resp_free(&r);
	http_ex(f, &r, "GET", "/api/v1/stats", "Bearer " TOKEN "x", NULL, NULL);
	expect(&r, 401, NULL);
	resp_free(&r);
	http_ex(f, &r, "GET", "/api/v1/stats", "Basic dXNlcjpwYXNz", NULL, NULL);
	expect(&r, 401, NULL);
	resp_free(&r);

	/* 401 before anything else: an unknown path does not show */
	http_ex(f, &r, "DELETE", "/nowhere", NULL, NULL, NULL);
	expect(&r, 401, NULL);
	resp_free(&r);
	/* nor is a body read */
	http_ex(f, &r, "POST", "/api/v1/users", NULL, NULL, "{\"name\":\"x\",\"password\":\"y\"}");
	expect(&r, 401, NULL);
	resp_free(&r);
	assert_null(sb_users_find(f->users, SB_LIT("x")));

	/* the scheme is case-insensitive; spaces around the token are fine */
	http_ex(f, &r, "GET", "/api/v1/stats", "bearer   " TOKEN "  ", NULL, NULL);
	expect(&r, 200, NULL);
	resp_free(&r);

	assert_true(logged(f, "api: GET /api/v1/stats 401"));
	assert_true(logged(f, "api: GET /api/v1/stats 200"));
	assert_true(logged(f, "1 api: GET /api/v1/stats 200")); /* at INFO */
}

static void test_users(void **state)
{
	struct fx *f = *state;
	struct resp r;

	http(f, &r, "POST", "/api/v1/users", "{\"name\":\"carol\",\"password\":\"c-secret\"}");
	expect(&r, 201, NULL);
	assert_string_equal(jstr(r.json, "name"), "carol");
	const char *created = jstr(r.json, "created");
	assert_non_null(created);
	/* ISO 8601 UTC, whole seconds */
	assert_int_equal(strlen(created), 20);
	assert_true(created[4] == '-' && created[10] == 'T' && created[19] == 'Z');
	assert_true(json_is_object(json_object_get(r.json, "forward")));
	assert_int_equal(json_object_size(json_object_get(r.json, "forward")), 0);
	resp_free(&r);
	/* the answer came after the commit: the user is in the file */
	struct seen s;
	char md5[SB_DIGEST_HEX_CAP], sha[SB_DIGEST_HEX_CAP], want[400];
	ha1(SB_DIGEST_MD5, "carol", "c-secret", md5);
	ha1(SB_DIGEST_SHA256, "carol", "c-secret", sha);
	snprintf(want, sizeof want, "user carol@" REALM " %s %s", md5, sha);
	reload(f, &s);
	assert_true(seen_has(&s, want));
	/* and in the directory, with the same hashes */
	const struct sb_user *u = sb_users_find(f->users, SB_LIT("carol"));
	assert_non_null(u);
	assert_string_equal(u->ha1[SB_DIGEST_MD5], md5);

	http(f, &r, "POST", "/api/v1/users", "{\"name\":\"carol\",\"password\":\"other\"}");
	expect(&r, 409, "already exists");
	resp_free(&r);

	http(f, &r, "POST", "/api/v1/users", "{\"name\":\"alice\",\"password\":\"a\"}");
	expect(&r, 201, NULL);
	resp_free(&r);
	http(f, &r, "POST", "/api/v1/users", "{\"name\":\"bob\",\"password\":\"b\"}");
	expect(&r, 201, NULL);
	resp_free(&r);
	/* a name with bytes a path must escape */
	http(f, &r, "POST", "/api/v1/users", "{\"name\":\"a/b%c\",\"password\":\"x\"}");
	expect(&r, 201, NULL);
	resp_free(&r);

	/* bad input names the field */
	http(f, &r, "POST", "/api/v1/users", "{\"name\":\"bad name\",\"password\":\"x\"}");
	expect(&r, 400, "\"name\"");
	resp_free(&r);
	http(f, &r, "POST", "/api/v1/users", "{\"name\":\"x@y\",\"password\":\"x\"}");
	expect(&r, 400, "\"name\"");
	resp_free(&r);
	http(f, &r, "POST", "/api/v1/users", "{\"name\":\"\",\"password\":\"x\"}");
	expect(&r, 400, "\"name\" must not be empty");
	resp_free(&r);
	http(f, &r, "POST", "/api/v1/users", "{\"name\":\"dave\"}");
	expect(&r, 400, "\"password\" is required");
	resp_free(&r);
	http(f, &r, "POST", "/api/v1/users", "{\"name\":\"dave\",\"password\":\"\"}");
	expect(&r, 400, "\"password\" must not be empty");
	resp_free(&r);
	char big[400];
	snprintf(big, sizeof big, "{\"name\":\"dave\",\"password\":\"%0129d\"}", 0);
	http(f, &r, "POST", "/api/v1/users", big);
	expect(&r, 400, "at most 128 bytes");
	resp_free(&r);
	http(f, &r, "POST", "/api/v1/users", "{\"name\":7,\"password\":\"x\"}");
	expect(&r, 400, "\"name\" must be a string");
	resp_free(&r);
	assert_null(sb_users_find(f->users, SB_LIT("dave")));

	/* the list, by name */
	http(f, &r, "GET", "/api/v1/users", NULL);
	expect(&r, 200, NULL);
	json_t *arr = json_object_get(r.json, "users");
	assert_int_equal(json_array_size(arr), 4);
	assert_string_equal(jstr(json_array_get(arr, 0), "name"), "a/b%c");
	assert_string_equal(jstr(json_array_get(arr, 1), "name"), "alice");
	assert_string_equal(jstr(json_array_get(arr, 2), "name"), "bob");
	assert_string_equal(jstr(json_array_get(arr, 3), "name"), "carol");
	expect_header(&r, "Content-Type: application/json");
	resp_free(&r);

	http(f, &r, "GET", "/api/v1/users/alice", NULL);
	expect(&r, 200, NULL);
	assert_string_equal(jstr(r.json, "name"), "alice");
	resp_free(&r);
	http(f, &r, "GET", "/api/v1/users/a%2Fb%25c", NULL);
	expect(&r, 200, NULL);
	assert_string_equal(jstr(r.json, "name"), "a/b%c");
	resp_free(&r);
	http(f, &r, "GET", "/api/v1/users/nobody", NULL);
	expect(&r, 404, "no user \"nobody\"");
	resp_free(&r);

	/* a new password: new hashes in the directory and the file */
	http(f, &r, "PUT", "/api/v1/users/carol/password", "{\"password\":\"new-one\"}");
	expect(&r, 204, NULL);
	assert_string_equal(r.body, "");
	resp_free(&r);
	ha1(SB_DIGEST_MD5, "carol", "new-one", md5);
	ha1(SB_DIGEST_SHA256, "carol", "new-one", sha);
	assert_string_equal(sb_users_find(f->users, SB_LIT("carol"))->ha1[SB_DIGEST_MD5], md5);
	snprintf(want, sizeof want, "user carol@" REALM " %s %s", md5, sha);
	reload(f, &s);
	assert_true(seen_has(&s, want));
	http(f, &r, "PUT", "/api/v1/users/nobody/password", "{\"password\":\"x\"}");
	expect(&r, 404, NULL);
	resp_free(&r);
	http(f, &r, "PUT", "/api/v1/users/carol/password", "{\"pass\":\"x\"}");
	expect(&r, 400, "unknown field \"pass\"");
	resp_free(&r);

	http(f, &r, "DELETE", "/api/v1/users/carol", NULL);
	expect(&r, 204, NULL);
	resp_free(&r);
	assert_null(sb_users_find(f->users, SB_LIT("carol")));
	reload(f, &s);
	assert_false(seen_has(&s, "user carol@"));
	assert_true(seen_has(&s, "user alice@"));
	http(f, &r, "DELETE", "/api/v1/users/carol", NULL);
	expect(&r, 404, NULL);
	resp_free(&r);

	assert_true(logged(f, "api: POST /api/v1/users 201"));
	assert_true(logged(f, "api: DELETE /api/v1/users/carol 404"));
}

static void add_user(struct fx *f, const char *name)
{
	assert_int_equal(sb_users_put_password(f->users, sb_slice_cstr(name), SB_LIT(REALM),
					       SB_LIT("pw"), 1700000000), 0);
}

static void test_forward(void **state)
{
	struct fx *f = *state;
	struct resp r;
	add_user(f, "alice");

	http(f, &r, "PUT", "/api/v1/users/alice/forward/always",
	     "{\"target\":\"sip:voicemail@example.com\"}");
	expect(&r, 204, NULL);
	resp_free(&r);
	http(f, &r, "PUT", "/api/v1/users/alice/forward/noanswer",
	     "{\"target\":\"sip:bob@example.com\",\"after\":20}");
	expect(&r, 204, NULL);
	resp_free(&r);
	http(f, &r, "PUT", "/api/v1/users/alice/forward/DND", "{}");
	expect(&r, 204, NULL);
	resp_free(&r);

	http(f, &r, "GET", "/api/v1/users/alice/forward", NULL);
	expect(&r, 200, NULL);
	json_t *fw = json_object_get(r.json, "forward");
	assert_int_equal(json_object_size(fw), 3);
	assert_string_equal(jstr(json_object_get(fw, "always"), "target"),
			    "sip:voicemail@example.com");
	assert_true(json_is_null(json_object_get(json_object_get(fw, "always"), "after")));
	assert_int_equal(jint(json_object_get(fw, "noanswer"), "after"), 20);
	assert_true(json_is_null(json_object_get(json_object_get(fw, "dnd"), "target")));
	resp_free(&r);
	/* the user shows them too */
	http(f, &r, "GET", "/api/v1/users/alice", NULL);
	expect(&r, 200, NULL);
	assert_int_equal(json_object_size(json_object_get(r.json, "forward")), 3);
	resp_free(&r);

	struct seen s;
	reload(f, &s);
	assert_true(seen_has(&s, "rule alice always sip:voicemail@example.com 0"));
	assert_true(seen_has(&s, "rule alice noanswer sip:bob@example.com 20"));
	assert_true(seen_has(&s, "rule alice dnd  0"));

	/* bad input */
	http(f, &r, "PUT", "/api/v1/users/alice/forward/sometimes", "{\"target\":\"sip:x@y\"}");
	expect(&r, 400, "unknown forwarding kind \"sometimes\"");
	resp_free(&r);
	http(f, &r, "PUT", "/api/v1/users/alice/forward/noanswer", "{\"target\":\"sip:x@y\"}");
	expect(&r, 400, "\"after\"");
	resp_free(&r);
	http(f, &r, "PUT", "/api/v1/users/alice/forward/noanswer",
	     "{\"target\":\"sip:x@y\",\"after\":0}");
	expect(&r, 400, "\"after\" must be a whole number from 1 to 3600");
	resp_free(&r);
	http(f, &r, "PUT", "/api/v1/users/alice/forward/busy",
	     "{\"target\":\"sip:x@y\",\"after\":5}");
	expect(&r, 400, "noanswer only");
	resp_free(&r);
	http(f, &r, "PUT", "/api/v1/users/alice/forward/busy", "{\"target\":\"mailto:x@y\"}");
	expect(&r, 400, "\"target\" must be a sip: or sips: URI");
	resp_free(&r);
	http(f, &r, "PUT", "/api/v1/users/alice/forward/busy", "{}");
	expect(&r, 400, "\"target\" is required");
	resp_free(&r);
	http(f, &r, "PUT", "/api/v1/users/nobody/forward/busy", "{\"target\":\"sip:x@y\"}");
	expect(&r, 404, "no user");
	resp_free(&r);
	/* the refused busy rule was not set */
	assert_false(sb_users_find(f->users, SB_LIT("alice"))->rule[SB_STORE_FWD_BUSY].set);

	/* replacing keeps one rule per kind */
	http(f, &r, "PUT", "/api/v1/users/alice/forward/always",
	     "{\"target\":\"sips:c@example.com\"}");
	expect(&r, 204, NULL);
	resp_free(&r);
	const struct sb_user *u = sb_users_find(f->users, SB_LIT("alice"));
	assert_string_equal(u->rule[SB_STORE_FWD_ALWAYS].target, "sips:c@example.com");

	http(f, &r, "DELETE", "/api/v1/users/alice/forward/busy", NULL);
	expect(&r, 404, "has no busy rule");
	resp_free(&r);
	http(f, &r, "DELETE", "/api/v1/users/alice/forward/always", NULL);
	expect(&r, 204, NULL);
	resp_free(&r);
	http(f, &r, "DELETE", "/api/v1/users/alice/forward/always", NULL);
	expect(&r, 404, NULL);
	resp_free(&r);
	reload(f, &s);
	assert_false(seen_has(&s, "rule alice always"));
	assert_true(seen_has(&s, "rule alice noanswer"));

	/* deleting the user deletes its rules */
	http(f, &r, "DELETE", "/api/v1/users/alice", NULL);
	expect(&r, 204, NULL);
	resp_free(&r);
	reload(f, &s);
	assert_false(seen_has(&s, "rule alice"));
}

static void test_errors(void **state)
{
	struct fx *f = *state;
	struct resp r;

	http(f, &r, "POST", "/api/v1/users", "{\"name\": \"x\",");
	expect(&r, 400, "not valid JSON");
	resp_free(&r);
	http(f, &r, "POST", "/api/v1/users", "[1, 2]");
	expect(&r, 400, "must be a JSON object");
	resp_free(&r);
	http(f, &r, "POST", "/api/v1/users", NULL);
	expect(&r, 400, "needs a JSON object");
	resp_free(&r);
	http(f, &r, "POST", "/api/v1/users", "{\"name\":\"x\",\"password\":\"y\",\"admin\":true}");
	expect(&r, 400, "unknown field \"admin\"");
	resp_free(&r);

	http(f, &r, "PATCH", "/api/v1/users", "{}");
	expect(&r, 405, "PATCH is not allowed");
	expect_header(&r, "Allow: GET, POST");
	resp_free(&r);
	http(f, &r, "DELETE", "/api/v1/stats", NULL);
	expect(&r, 405, NULL);
	expect_header(&r, "Allow: GET");
	resp_free(&r);
	http(f, &r, "POST", "/api/v1/users/alice/forward/busy", "{}");
	expect(&r, 405, NULL);
	expect_header(&r, "Allow: PUT, DELETE");
	resp_free(&r);

	http(f, &r, "GET", "/api/v1/nothing", NULL);
	expect(&r, 404, "no resource");
	resp_free(&r);
	http(f, &r, "GET", "/", NULL);
	expect(&r, 404, NULL);
	resp_free(&r);
	http(f, &r, "GET", "/api/v1/users/alice/forward/busy/more", NULL);
	expect(&r, 404, NULL);
	resp_free(&r);
	http(f, &r, "GET", "/api/v1/users/%zz", NULL);
	expect(&r, 400, "%-escape");
	resp_free(&r);
	/* one trailing slash is fine */
	http(f, &r, "GET", "/api/v1/users/", NULL);
	expect(&r, 200, NULL);
	resp_free(&r);

	/* too big, announced: answered at once, the body is not read */
	http_ex(f, &r, "POST", "/api/v1/users", "Bearer " TOKEN,
		"Content-Length: 70000\r\n", NULL);
	expect(&r, 413, "larger than 65536 bytes");
	resp_free(&r);
	assert_true(logged(f, "api: POST /api/v1/users 413"));
	assert_true(logged(f, "api: PATCH /api/v1/users 405"));
}

/* A chunked body past SB_API_MAX_BODY, so no Content-Length to refuse it
 * by: the connection is closed as soon as the body passes the bound, with
 * no answer, rather than the rest read (far more than socket buffers
 * hold, so the client sees its sending cut short). */
static void test_chunked_too_big(void **state)
{
	struct fx *f = *state;
	size_t n = 32u << 20;
	size_t cap = n + 256;
	char *raw = malloc(cap);
	assert_non_null(raw);
	int k = snprintf(raw, cap, "POST /api/v1/users HTTP/1.1\r\nHost: x\r\n"
			 "Connection: close\r\nAuthorization: Bearer " TOKEN "\r\n"
			 "Transfer-Encoding: chunked\r\n\r\n%zx\r\n", n);
	memset(raw + k, ' ', n);
	k += (int)n;
	k += snprintf(raw + k, cap - (size_t)k, "\r\n0\r\n\r\n");
	struct call c;
	memset(&c, 0, sizeof c);
	c.loop = f->loop;
	c.port = f->port;
	c.req = raw; /* call_wait frees it */
	c.req_len = (size_t)k;
	atomic_init(&c.done, 0);
	assert_int_equal(pthread_create(&c.th, NULL, client_main, &c), 0);
	size_t total = c.req_len;
	call_wait(f, &c);
	if (c.sent >= total)
		fail_msg("the whole body (%zu bytes) was read", total);
	if (c.raw_len)
		fail_msg("an answer came: %.100s", c.raw);
	free(c.raw);
	assert_true(logged(f, "api: POST /api/v1/users 413"));
	assert_int_equal(sb_users_count(f->users), 0);
	/* the close is the client's doing: nothing at WARN */
	for (int i = 0; i < f->nlog; i++)
		if (f->log[i][0] != '0' && f->log[i][0] != '1')
			fail_msg("logged above INFO: %s", f->log[i]);
}

static void reg_bind(struct fx *f, const char *aor, const char *contact, unsigned q1000,
		 uint32_t expires, uint16_t port)
{
	struct sb_binding_update u = {
		.aor = sb_slice_cstr(aor),
		.contact = sb_slice_cstr(contact),
		.call_id = SB_LIT("call-1@phone"),
		.cseq = 7,
		.expires_s = expires,
		.q1000 = q1000,
		.source = { .proto = SB_TP_UDP },
	};
	assert_int_equal(sb_addr_parse(&u.source.addr, "127.0.0.1", port), 0);
	assert_int_equal(sb_location_update(f->loc, &u), 0);
}

static void test_registrations(void **state)
{
	struct fx *f = *state;
	struct resp r;
	reg_bind(f, "sip:alice@example.com", "sip:alice@192.0.2.10:5062", 500, 3600, 5062);
	reg_bind(f, "sip:alice@127.0.0.1", "sip:alice@192.0.2.11", 1000, 60, 5064);
	reg_bind(f, "sip:bob@example.com", "sip:bob@192.0.2.20;transport=tcp", 1000, 120, 5070);
	reg_bind(f, "sip:alicia@example.com", "sip:alicia@192.0.2.30", 1000, 120, 5080);

	http(f, &r, "GET", "/api/v1/registrations", NULL);
	expect(&r, 200, NULL);
	json_t *arr = json_object_get(r.json, "registrations");
	assert_int_equal(json_array_size(arr), 4);
	/* sorted by AOR */
	assert_string_equal(jstr(json_array_get(arr, 0), "aor"), "sip:alice@127.0.0.1");
	assert_string_equal(jstr(json_array_get(arr, 1), "aor"), "sip:alice@example.com");
	assert_string_equal(jstr(json_array_get(arr, 2), "aor"), "sip:alicia@example.com");
	assert_string_equal(jstr(json_array_get(arr, 3), "aor"), "sip:bob@example.com");
	json_t *a = json_array_get(arr, 1);
	assert_string_equal(jstr(a, "contact"), "sip:alice@192.0.2.10:5062");
	long long left = jint(a, "expires_in");
	assert_true(left >= 3599 && left <= 3600);
	assert_true(json_is_real(json_object_get(a, "q")));
	assert_true(json_real_value(json_object_get(a, "q")) == 0.5);
	assert_string_equal(jstr(a, "call_id"), "call-1@phone");
	assert_int_equal(jint(a, "cseq"), 7);
	assert_string_equal(jstr(a, "source"), "udp 127.0.0.1:5062");
	/* the printed q is short */
	assert_non_null(strstr(r.body, "\"q\": 0.5,"));
	resp_free(&r);

	http(f, &r, "GET", "/api/v1/registrations?user=alice", NULL);
	expect(&r, 200, NULL);
	arr = json_object_get(r.json, "registrations");
	assert_int_equal(json_array_size(arr), 2);
	assert_string_equal(jstr(json_array_get(arr, 1), "aor"), "sip:alice@example.com");
	resp_free(&r);
	http(f, &r, "GET", "/api/v1/registrations?user=nobody", NULL);
	expect(&r, 200, NULL);
	assert_int_equal(json_array_size(json_object_get(r.json, "registrations")), 0);
	resp_free(&r);
	http(f, &r, "GET", "/api/v1/registrations?user=a%20b", NULL);
	expect(&r, 400, "\"user\"");
	resp_free(&r);

	http(f, &r, "DELETE", "/api/v1/registrations/alice", NULL);
	expect(&r, 200, NULL);
	assert_int_equal(jint(r.json, "removed"), 2);
	resp_free(&r);
	assert_int_equal(sb_location_count(f->loc), 2);
	assert_int_equal(sb_location_lookup(f->loc, SB_LIT("sip:alicia@example.com"), NULL, 0), 1);
	http(f, &r, "DELETE", "/api/v1/registrations/alice", NULL);
	expect(&r, 404, "no registrations for \"alice\"");
	resp_free(&r);
	http(f, &r, "GET", "/api/v1/registrations/alice", NULL);
	expect(&r, 405, NULL);
	resp_free(&r);

	/* deleting a user takes its registrations along */
	add_user(f, "bob");
	http(f, &r, "DELETE", "/api/v1/users/bob", NULL);
	expect(&r, 204, NULL);
	resp_free(&r);
	assert_int_equal(sb_location_count(f->loc), 1);
	assert_int_equal(sb_location_lookup(f->loc, SB_LIT("sip:bob@example.com"), NULL, 0), 0);
}

struct walk {
	int calls;
	int stop_at;                /* return 7 at this call; 0: never */
	char seen[8][128];
};

static int walk_h(struct sb_slice aor, const struct sb_binding *b, void *arg)
{
	struct walk *w = arg;
	if (w->calls < 8)
		snprintf(w->seen[w->calls], sizeof w->seen[0], "%.*s %.*s", (int)aor.l, aor.p,
			 (int)b->contact.l, b->contact.p);
	w->calls++;
	return w->calls == w->stop_at ? 7 : 0;
}

/* sb_location_foreach (location.h), which the registrations listing
 * walks: every binding once with its AOR; a non-zero return stops it. */
static void test_location_foreach(void **state)
{
	struct fx *f = *state;
	struct walk w = { 0 };
	assert_int_equal(sb_location_foreach(f->loc, walk_h, &w), 0);
	assert_int_equal(w.calls, 0);
	reg_bind(f, "sip:a@example.com", "sip:a@192.0.2.1", 1000, 60, 5062);
	reg_bind(f, "sip:a@example.com", "sip:a@192.0.2.2", 500, 60, 5062);
	reg_bind(f, "sip:b@example.com", "sip:b@192.0.2.3", 1000, 60, 5062);
	assert_int_equal(sb_location_foreach(f->loc, walk_h, &w), 0);
	assert_int_equal(w.calls, 3);
	int a1 = -1, a2 = -1, b = -1;
	for (int i = 0; i < 3; i++) {
		if (!strcmp(w.seen[i], "sip:a@example.com sip:a@192.0.2.1"))
			a1 = i;
		else if (!strcmp(w.seen[i], "sip:a@example.com sip:a@192.0.2.2"))
			a2 = i;
		else if (!strcmp(w.seen[i], "sip:b@example.com sip:b@192.0.2.3"))
			b = i;
	}
	assert_true(a1 >= 0 && a2 >= 0 && b >= 0);
	assert_true(a1 + 1 == a2); /* an AOR's bindings together, in lookup order */
	w = (struct walk){ .stop_at = 2 };
	assert_int_equal(sb_location_foreach(f->loc, walk_h, &w), 7);
	assert_int_equal(w.calls, 2);
	assert_int_equal(sb_location_foreach(NULL, walk_h, &w), EINVAL);
	assert_int_equal(sb_location_foreach(f->loc, NULL, &w), EINVAL);
}

static void test_stats(void **state)
{
	struct fx *f = *state;
	struct resp r;
	add_user(f, "alice");
	add_user(f, "bob");
	reg_bind(f, "sip:alice@example.com", "sip:alice@192.0.2.10", 1000, 60, 5062);
	reg_bind(f, "sip:alice@example.com", "sip:alice@192.0.2.11", 1000, 60, 5062);
	reg_bind(f, "sip:bob@example.com", "sip:bob@192.0.2.12", 1000, 60, 5062);

	http(f, &r, "GET", "/api/v1/stats", NULL);
	expect(&r, 200, NULL);
	json_t *o = r.json;
	assert_true(json_is_null(json_object_get(o, "sip"))); /* no proxy here */
	json_t *reg = json_object_get(o, "registrations");
	assert_int_equal(jint(reg, "bindings"), 3);
	assert_int_equal(jint(reg, "aors"), 2);
	assert_int_equal(jint(o, "users"), 2);
	json_t *auth = json_object_get(o, "auth");
	const char *const auth_keys[] = { "ok", "challenged", "failed", "stale", "replayed",
					  "forbidden", "locked_out", "sources_locked" };
	for (size_t i = 0; i < SB_ARRAY_LEN(auth_keys); i++)
		assert_int_equal(jint(auth, auth_keys[i]), 0);
	json_t *st = json_object_get(o, "store");
	jint(st, "batches");
	jint(st, "committed");
	jint(st, "failed");
	assert_int_equal(jint(st, "outstanding"), 0);
	assert_true(jint(o, "uptime_s") >= 0);
	assert_int_equal(json_object_size(o), 6);
	resp_free(&r);
}

/* The answer waits for the commit; a full queue is 503 and changes nothing. */
static void test_store_wait_and_full(void **state)
{
	struct fx *f = *state;
	/* a store with room for one operation */
	gate_set(&f->gate, false);
	sb_api_free(f->api);
	f->api = NULL;
	sb_store_free(f->store);
	struct sb_store_cfg sc = { .loop = f->loop, .path = f->path, .backend = &gate_backend,
				   .backend_arg = &f->gate, .max_queue = 1 };
	assert_int_equal(sb_store_alloc(&f->store, &sc, NULL, 0), 0);
	struct sb_api_cfg c = api_cfg(f);
	char err[256];
	assert_int_equal(sb_api_alloc(&f->api, &c, err, sizeof err), 0);
	struct sb_addr b;
	sb_api_bound(f->api, &b);
	f->port = sb_addr_port(&b);

	gate_set(&f->gate, true);
	struct call slow;
	call_start(f, &slow, "POST", "/api/v1/users", "Bearer " TOKEN, NULL,
		   "{\"name\":\"alice\",\"password\":\"a\"}");
	/* run the loop until the commit is held */
	sb_msec_t end = mono_ms() + WAIT_MS;
	for (;;) {
		pthread_mutex_lock(&f->gate.mu);
		int w = f->gate.waiting;
		pthread_mutex_unlock(&f->gate.mu);
		if (w)
			break;
		if (mono_ms() > end)
			fail_msg("the commit never started");
		assert_int_equal(sb_loop_poll(f->loop, 20), 0);
	}
	/* not answered yet, and not in memory until the store has it */
	for (int i = 0; i < 10; i++)
		assert_int_equal(sb_loop_poll(f->loop, 10), 0);
	assert_int_equal(atomic_load(&slow.done), 0);
	assert_null(sb_users_find(f->users, SB_LIT("alice")));

	/* the queue is full: 503, and bob is not added */
	struct resp r;
	http(f, &r, "POST", "/api/v1/users", "{\"name\":\"bob\",\"password\":\"b\"}");
	expect(&r, 503, "try again");
	resp_free(&r);
	assert_null(sb_users_find(f->users, SB_LIT("bob")));
	/* reads go on meanwhile, and see what is saved */
	http(f, &r, "GET", "/api/v1/users/alice", NULL);
	expect(&r, 404, NULL);
	resp_free(&r);
	/* another change to alice waits its turn */
	http(f, &r, "POST", "/api/v1/users", "{\"name\":\"alice\",\"password\":\"x\"}");
	expect(&r, 409, "still being saved");
	resp_free(&r);

	gate_set(&f->gate, false);
	call_finish(f, &slow, &r);
	expect(&r, 201, NULL);
	assert_string_equal(jstr(r.json, "name"), "alice");
	resp_free(&r);
	assert_non_null(sb_users_find(f->users, SB_LIT("alice")));
	http(f, &r, "POST", "/api/v1/users", "{\"name\":\"bob\",\"password\":\"b\"}");
	expect(&r, 201, NULL);
	resp_free(&r);
}

/* Without a store, changes answer at once. */
static void test_no_store(void **state)
{
	struct fx *f = *state;
	sb_api_free(f->api);
	struct sb_api_cfg c = api_cfg(f);
	c.store = NULL;
	c.authn = NULL;
	char err[256];
	assert_int_equal(sb_api_alloc(&f->api, &c, err, sizeof err), 0);
	struct sb_addr b;
	sb_api_bound(f->api, &b);
	f->port = sb_addr_port(&b);
	struct resp r;
	http(f, &r, "POST", "/api/v1/users", "{\"name\":\"alice\",\"password\":\"a\"}");
	expect(&r, 201, NULL);
	resp_free(&r);
	http(f, &r, "PUT", "/api/v1/users/alice/forward/busy", "{\"target\":\"sip:b@x\"}");
	expect(&r, 204, NULL);
	resp_free(&r);
	http(f, &r, "GET", "/api/v1/stats", NULL);
	expect(&r, 200, NULL);
	assert_true(json_is_null(json_object_get(r.json, "store")));
	assert_true(json_is_null(json_object_get(r.json, "auth")));
	resp_free(&r);
	struct seen s;
	reload(f, &s);
	assert_false(seen_has(&s, "user alice"));
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void test_alloc_errors(void **state)
{
	struct fx *f = *state;
	struct sb_api_cfg c = api_cfg(f);
	struct sb_api *a = NULL;
	char err[256];

	/* the port is taken (by the fixture's API) */
	assert_int_equal(sb_addr_parse(&c.listen, "127.0.0.1", f->port), 0);
	assert_int_equal(sb_api_alloc(&a, &c, err, sizeof err), EADDRINUSE);
	assert_non_null(strstr(err, "already in use"));
	assert_null(a);

	c = api_cfg(f);
	c.token = "short";
	assert_int_equal(sb_api_alloc(&a, &c, err, sizeof err), EINVAL);
	assert_non_null(strstr(err, "token"));
	c = api_cfg(f);
	c.token = "a token with spaces in it";
	assert_int_equal(sb_api_alloc(&a, &c, err, sizeof err), EINVAL);
	c = api_cfg(f);
	c.realm = NULL;
	assert_int_equal(sb_api_alloc(&a, &c, err, sizeof err), EINVAL);
	c = api_cfg(f);
	c.users = NULL;
	assert_int_equal(sb_api_alloc(&a, &c, err, sizeof err), EINVAL);
	c = api_cfg(f);
	c.listen = (struct sb_addr){ 0 };
	assert_int_equal(sb_api_alloc(&a, &c, err, sizeof err), EINVAL);

	/* IPv6, and nothing left open after a free */
	int before = count_fds();
	c = api_cfg(f);
	if (sb_addr_parse(&c.listen, "::1", 0) == 0) {
		int e = sb_api_alloc(&a, &c, err, sizeof err);
		if (e == 0) {
			struct sb_addr b;
			sb_api_bound(a, &b);
			assert_int_equal(sb_addr_family(&b), AF_INET6);
			assert_true(sb_addr_port(&b) != 0);
			sb_api_free(a);
		} else {
			assert_int_equal(e, EADDRNOTAVAIL); /* no IPv6 here */
		}
	}
	assert_int_equal(count_fds(), before);
	sb_api_free(NULL);
}

/* ------------------------------------------------------------ review: the store fails */

/* Run the loop until the gate holds a commit. */
static void wait_held(struct fx *f)
{
	sb_msec_t end = mono_ms() + WAIT_MS;
	for (;;) {
		pthread_mutex_lock(&f->gate.mu);
		int w = f->gate.waiting;
		pthread_mutex_unlock(&f->gate.mu);
		if (w)
			break;
		if (mono_ms() > end)
			fail_msg("the commit never started");
		assert_int_equal(sb_loop_poll(f->loop, 20), 0);
	}
}

/* A change is made in memory only once the store has committed all of
 * it: a failed one changes nothing in memory, a partly saved one says so,
 * and repeating the request completes it. */
static void test_commit_fails(void **state)
{
	struct fx *f = *state;
	struct resp r;
	struct seen s;
	char md5[SB_DIGEST_HEX_CAP];

	/* POST: 500, in neither memory nor the file; the retry adds it */
	gate_fail(&f->gate, GATE_FAIL_ALL);
	http(f, &r, "POST", "/api/v1/users", "{\"name\":\"alice\",\"password\":\"a\"}");
	expect(&r, 500, "nothing was changed");
	resp_free(&r);
	assert_null(sb_users_find(f->users, SB_LIT("alice")));
	reload(f, &s);
	assert_false(seen_has(&s, "user alice@"));
	gate_fail(&f->gate, 0);
	http(f, &r, "POST", "/api/v1/users", "{\"name\":\"alice\",\"password\":\"a\"}");
	expect(&r, 201, NULL);
	resp_free(&r);
	assert_non_null(sb_users_find(f->users, SB_LIT("alice")));
	reload(f, &s);
	assert_true(seen_has(&s, "user alice@"));

	/* a rule, a password: refused, nothing changed */
	gate_fail(&f->gate, GATE_FAIL_ALL);
	http(f, &r, "PUT", "/api/v1/users/alice/forward/busy", "{\"target\":\"sip:b@x\"}");
	expect(&r, 500, "nothing was changed");
	resp_free(&r);
	assert_false(sb_users_find(f->users, SB_LIT("alice"))->rule[SB_STORE_FWD_BUSY].set);
	http(f, &r, "PUT", "/api/v1/users/alice/password", "{\"password\":\"new\"}");
	expect(&r, 500, NULL);
	resp_free(&r);
	ha1(SB_DIGEST_MD5, "alice", "a", md5);
	assert_string_equal(sb_users_find(f->users, SB_LIT("alice"))->ha1[SB_DIGEST_MD5], md5);
	reload(f, &s);
	assert_false(seen_has(&s, "rule alice busy"));
	char want[400];
	snprintf(want, sizeof want, "user alice@" REALM " %s ", md5);
	assert_true(seen_has(&s, want));
	gate_fail(&f->gate, 0);
	http(f, &r, "PUT", "/api/v1/users/alice/forward/busy", "{\"target\":\"sip:b@x\"}");
	expect(&r, 204, NULL);
	resp_free(&r);
	gate_fail(&f->gate, GATE_FAIL_ALL);
	http(f, &r, "DELETE", "/api/v1/users/alice/forward/busy", NULL);
	expect(&r, 500, NULL);
	resp_free(&r);
	assert_true(sb_users_find(f->users, SB_LIT("alice"))->rule[SB_STORE_FWD_BUSY].set);

	/* registrations stay when the store cannot remove them */
	reg_bind(f, "sip:alice@example.com", "sip:alice@192.0.2.10", 1000, 3600, 5062);
	http(f, &r, "DELETE", "/api/v1/registrations/alice", NULL);
	expect(&r, 500, NULL);
	resp_free(&r);
	assert_int_equal(sb_location_count(f->loc), 1);

	/* DELETE of the user: 500, and it stays, in memory and the file */
	http(f, &r, "DELETE", "/api/v1/users/alice", NULL);
	expect(&r, 500, "nothing was changed");
	resp_free(&r);
	assert_non_null(sb_users_find(f->users, SB_LIT("alice")));
	assert_int_equal(sb_location_count(f->loc), 1);
	reload(f, &s);
	assert_true(seen_has(&s, "user alice@"));
	assert_true(seen_has(&s, "rule alice busy"));

	/* partly saved: the user leaves the file, its rule does not; memory
	 * keeps all of it, and the answer says the store may hold part */
	gate_fail(&f->gate, SB_STORE_OP_DEL_RULE);
	http(f, &r, "DELETE", "/api/v1/users/alice", NULL);
	expect(&r, 500, "may hold part of it");
	resp_free(&r);
	const struct sb_user *u = sb_users_find(f->users, SB_LIT("alice"));
	assert_non_null(u);
	assert_true(u->rule[SB_STORE_FWD_BUSY].set);
	assert_int_equal(sb_location_count(f->loc), 1);
	reload(f, &s);
	assert_false(seen_has(&s, "user alice@"));
	assert_true(seen_has(&s, "rule alice busy"));
	/* the retry completes it: gone from both */
	gate_fail(&f->gate, 0);
	http(f, &r, "DELETE", "/api/v1/users/alice", NULL);
	expect(&r, 204, NULL);
	resp_free(&r);
	assert_null(sb_users_find(f->users, SB_LIT("alice")));
	assert_int_equal(sb_location_count(f->loc), 0);
	reload(f, &s);
	assert_false(seen_has(&s, "user alice@"));
	assert_false(seen_has(&s, "rule alice"));
	http(f, &r, "DELETE", "/api/v1/users/alice", NULL);
	expect(&r, 404, "no user \"alice\"");
	resp_free(&r);

	/* the file holds a user memory does not (an earlier failure): a
	 * DELETE still clears it there, and answers 404 */
	char sha[SB_DIGEST_HEX_CAP];
	ha1(SB_DIGEST_MD5, "ghost", "g", md5);
	ha1(SB_DIGEST_SHA256, "ghost", "g", sha);
	struct sb_store_user su = { .name = SB_LIT("ghost"), .realm = SB_LIT(REALM),
				    .ha1_md5 = sb_slice_cstr(md5), .ha1_sha256 = sb_slice_cstr(sha) };
	struct sb_store_rule sr = { .user = SB_LIT("ghost"), .kind = SB_STORE_FWD_DND,
				    .target = SB_LIT("") };
	assert_int_equal(sb_store_put_user(f->store, &su, NULL, NULL), 0);
	assert_int_equal(sb_store_put_rule(f->store, &sr, NULL, NULL), 0);
	sb_store_flush(f->store);
	reload(f, &s);
	assert_true(seen_has(&s, "user ghost@"));
	http(f, &r, "DELETE", "/api/v1/users/ghost", NULL);
	expect(&r, 404, "no user \"ghost\"");
	resp_free(&r);
	reload(f, &s);
	assert_false(seen_has(&s, "user ghost@"));
	assert_false(seen_has(&s, "rule ghost"));
}

static void reg_bind_cseq(struct fx *f, const char *aor, const char *contact, uint32_t cseq)
{
	struct sb_binding_update u = {
		.aor = sb_slice_cstr(aor),
		.contact = sb_slice_cstr(contact),
		.call_id = SB_LIT("call-1@phone"),
		.cseq = cseq,
		.expires_s = 3600,
		.q1000 = 1000,
		.source = { .proto = SB_TP_UDP },
	};
	assert_int_equal(sb_addr_parse(&u.source.addr, "127.0.0.1", 5062), 0);
	assert_int_equal(sb_location_update(f->loc, &u), 0);
}

/* A registration removal takes out what it saw, once saved; a binding a
 * REGISTER refreshed meanwhile (saved after the removal) stays. */
static void test_reg_delete_refreshed(void **state)
{
	struct fx *f = *state;
	reg_bind_cseq(f, "sip:alice@example.com", "sip:alice@192.0.2.10", 7);
	reg_bind_cseq(f, "sip:alice@example.com", "sip:alice@192.0.2.11", 7);
	gate_set(&f->gate, true);
	struct call c;
	call_start(f, &c, "DELETE", "/api/v1/registrations/alice", "Bearer " TOKEN, NULL, NULL);
	wait_held(f);
	assert_int_equal(sb_location_count(f->loc), 2); /* not yet */
	reg_bind_cseq(f, "sip:alice@example.com", "sip:alice@192.0.2.10", 8);
	gate_set(&f->gate, false);
	struct resp r;
	call_finish(f, &c, &r);
	expect(&r, 200, NULL);
	assert_int_equal(jint(r.json, "removed"), 2);
	resp_free(&r);
	assert_int_equal(sb_location_count(f->loc), 1);
	assert_non_null(sb_location_find(f->loc, SB_LIT("sip:alice@example.com"),
					 SB_LIT("sip:alice@192.0.2.10")));
}

/* ------------------------------------------------------------ review: pages */

/* GET path page by page; every "name" (users) or "aor contact"
 * (registrations) in order into out (one string, a line each); the number
 * of pages. */
static int get_pages(struct fx *f, const char *path, const char *key, char **out, size_t *items)
{
	size_t cap = 1 << 16, len = 0;
	char *all = malloc(cap);
	assert_non_null(all);
	all[0] = '\0';
	int pages = 0;
	char url[1024];
	snprintf(url, sizeof url, "%s", path);
	*items = 0;
	for (;;) {
		struct resp r;
		http(f, &r, "GET", url, NULL);
		expect(&r, 200, NULL);
		pages++;
		json_t *arr = json_object_get(r.json, key);
		assert_true(json_is_array(arr));
		size_t i;
		json_t *v;
		json_array_foreach(arr, i, v) {
			char line[1200];
			if (!strcmp(key, "users"))
				snprintf(line, sizeof line, "%s\n", jstr(v, "name"));
			else
				snprintf(line, sizeof line, "%s %s\n", jstr(v, "aor"), jstr(v, "contact"));
			size_t ll = strlen(line);
			if (len + ll + 1 > cap) {
				cap *= 2;
				all = realloc(all, cap);
				assert_non_null(all);
			}
			memcpy(all + len, line, ll + 1);
			len += ll;
			(*items)++;
		}
		json_t *next = json_object_get(r.json, "next");
		assert_non_null(next);
		if (json_is_null(next)) {
			resp_free(&r);
			break;
		}
		assert_true(json_is_string(next));
		snprintf(url, sizeof url, "%s%safter=%s", path, strchr(path, '?') ? "&" : "?",
			 json_string_value(next));
		resp_free(&r);
		assert_true(pages < 100);
	}
	*out = all;
	return pages;
}

static void test_pages(void **state)
{
	struct fx *f = *state;
	struct resp r;
	/* 2500 users, added in no order */
	for (unsigned i = 0; i < 2500; i++) {
		char name[16];
		snprintf(name, sizeof name, "u%04u", (i * 7919u) % 2500u);
		assert_int_equal(sb_users_put(f->users, sb_slice_cstr(name),
					      SB_LIT("0123456789abcdef0123456789abcdef"), SB_LIT(""),
					      1700000000), 0);
	}
	http(f, &r, "GET", "/api/v1/users", NULL);
	expect(&r, 200, NULL);
	assert_int_equal(json_array_size(json_object_get(r.json, "users")), 1000);
	assert_string_equal(jstr(json_array_get(json_object_get(r.json, "users"), 0), "name"),
			    "u0000");
	assert_string_equal(jstr(r.json, "next"), "u0999");
	resp_free(&r);

	char *all;
	size_t n;
	assert_int_equal(get_pages(f, "/api/v1/users", "users", &all, &n), 3);
	assert_int_equal(n, 2500);
	/* each once, in order */
	const char *p = all;
	for (unsigned i = 0; i < 2500; i++) {
		char want[16];
		snprintf(want, sizeof want, "u%04u\n", i);
		assert_memory_equal(p, want, strlen(want));
		p += strlen(want);
	}
	free(all);

	/* limit */
	http(f, &r, "GET", "/api/v1/users?limit=10000", NULL);
	expect(&r, 200, NULL);
	assert_int_equal(json_array_size(json_object_get(r.json, "users")), 2500);
	assert_true(json_is_null(json_object_get(r.json, "next")));
	resp_free(&r);
	const char *bad[] = { "0", "10001", "x", "", "-1" };
	for (size_t i = 0; i < SB_ARRAY_LEN(bad); i++) {
		char url[64];
		snprintf(url, sizeof url, "/api/v1/users?limit=%s", bad[i]);
		http(f, &r, "GET", url, NULL);
		expect(&r, 400, "\"limit\"");
		resp_free(&r);
	}
	http(f, &r, "GET", "/api/v1/users?after=%zz", NULL);
	expect(&r, 400, "\"after\"");
	resp_free(&r);

	/* a cursor holds only URL-safe ASCII, whatever the name's bytes */
	assert_int_equal(sb_users_put(f->users, SB_LIT("zz/%"), SB_LIT("0123456789abcdef0123456789abcdef"),
				      SB_LIT(""), 1), 0);
	assert_int_equal(sb_users_put(f->users, SB_LIT("\xffz"), SB_LIT("0123456789abcdef0123456789abcdef"),
				      SB_LIT(""), 1), 0);
	assert_int_equal(sb_users_put(f->users, SB_LIT("\xff\xff"),
				      SB_LIT("0123456789abcdef0123456789abcdef"), SB_LIT(""), 1), 0);
	http(f, &r, "GET", "/api/v1/users?after=u2499&limit=1", NULL);
	expect(&r, 200, NULL);
	assert_string_equal(jstr(json_array_get(json_object_get(r.json, "users"), 0), "name"),
			    "zz/%");
	assert_string_equal(jstr(r.json, "next"), "zz%2F%25");
	resp_free(&r);
	http(f, &r, "GET", "/api/v1/users?after=zz%2F%25&limit=1", NULL);
	expect(&r, 200, NULL);
	assert_string_equal(jstr(r.json, "next"), "%FFz");
	resp_free(&r);
	http(f, &r, "GET", "/api/v1/users?after=%FFz&limit=1", NULL);
	expect(&r, 200, NULL);
	assert_string_equal(jstr(json_array_get(json_object_get(r.json, "users"), 0), "name"),
			    "\xef\xbf\xbd\xef\xbf\xbd"); /* not UTF-8: U+FFFD each */
	assert_true(json_is_null(json_object_get(r.json, "next")));
	resp_free(&r);
	http(f, &r, "GET", "/api/v1/users?after=%FF%FF", NULL);
	expect(&r, 200, NULL);
	assert_int_equal(json_array_size(json_object_get(r.json, "users")), 0);
	assert_true(json_is_null(json_object_get(r.json, "next")));
	resp_free(&r);

	/* registrations: by AOR then contact, each once */
	for (unsigned i = 0; i < 25; i++) {
		char aor[64], contact[64];
		snprintf(aor, sizeof aor, "sip:r%02u@example.com", (i * 7u) % 25u);
		snprintf(contact, sizeof contact, "sip:r@192.0.2.%u", i);
		reg_bind(f, aor, contact, 1000, 3600, 5062);
	}
	for (unsigned i = 0; i < 3; i++) {
		char contact[64];
		snprintf(contact, sizeof contact, "sip:rx@192.0.2.%u", 3 - i);
		reg_bind(f, "sip:rx@example.com", contact, 1000, 3600, 5062);
	}
	assert_int_equal(get_pages(f, "/api/v1/registrations?limit=10", "registrations", &all, &n),
			 3);
	assert_int_equal(n, 28);
	assert_true(!strncmp(all, "sip:r00@example.com ", 20));
	assert_non_null(strstr(all, "sip:r24@example.com sip:r@192.0.2.") );
	assert_non_null(strstr(all, "sip:rx@example.com sip:rx@192.0.2.1\n"
				    "sip:rx@example.com sip:rx@192.0.2.2\n"
				    "sip:rx@example.com sip:rx@192.0.2.3\n"));
	free(all);
	/* one user's, one at a time */
	assert_int_equal(get_pages(f, "/api/v1/registrations?user=rx&limit=1", "registrations",
				   &all, &n), 3);
	assert_int_equal(n, 3);
	free(all);
	http(f, &r, "GET", "/api/v1/registrations?user=rx&limit=2", NULL);
	expect(&r, 200, NULL);
	assert_string_equal(jstr(r.json, "next"), "sip%3Arx%40example.com%20sip%3Arx%40192.0.2.2");
	resp_free(&r);
}

/* ------------------------------------------------------------ review: names, logs */

static void test_dot_names(void **state)
{
	struct fx *f = *state;
	struct resp r;
	http(f, &r, "POST", "/api/v1/users", "{\"name\":\".\",\"password\":\"x\"}");
	expect(&r, 400, "must not be \".\" or \"..\"");
	resp_free(&r);
	http(f, &r, "POST", "/api/v1/users", "{\"name\":\"..\",\"password\":\"x\"}");
	expect(&r, 400, "\"name\"");
	resp_free(&r);
	assert_int_equal(sb_users_count(f->users), 0);
	http(f, &r, "POST", "/api/v1/users", "{\"name\":\"...\",\"password\":\"x\"}");
	expect(&r, 201, NULL);
	resp_free(&r);
	http(f, &r, "GET", "/api/v1/users/...", NULL);
	expect(&r, 200, NULL);
	resp_free(&r);
	http(f, &r, "GET", "/api/v1/registrations?user=..", NULL);
	expect(&r, 400, "\"user\"");
	resp_free(&r);
}

static void test_method_logged_clean(void **state)
{
	struct fx *f = *state;
	struct resp r;
	http_ex(f, &r, "GE\x1bT", "/api/v1/stats", "Bearer " TOKEN, NULL, NULL);
	expect(&r, 405, "GE?T is not allowed");
	resp_free(&r);
	http_ex(f, &r, "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "/api/v1/stats", "Bearer " TOKEN, NULL, NULL);
	expect(&r, 405, NULL);
	resp_free(&r);
	assert_true(logged(f, "api: GE?T /api/v1/stats 405"));
	assert_true(logged(f, "api: ABCDEFGHIJKL... /api/v1/stats 405"));
	for (int i = 0; i < f->nlog; i++)
		if (strchr(f->log[i], '\x1b'))
			fail_msg("a log line with ESC: %s", f->log[i]);
}

/* A client that goes away mid-request is its own business: what
 * libmicrohttpd says about it is logged at DEBUG, not WARN. */
static void test_peer_close_debug(void **state)
{
	struct fx *f = *state;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(f->port) };
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	static const char part[] = "GET /api/v1/stats HTTP/1.1\r\nHo";
	assert_int_equal(send(fd, part, strlen(part), MSG_NOSIGNAL), (ssize_t)strlen(part));
	for (int i = 0; i < 10; i++)
		assert_int_equal(sb_loop_poll(f->loop, 10), 0);
	close(fd);
	for (int i = 0; i < 20; i++)
		assert_int_equal(sb_loop_poll(f->loop, 10), 0);
	bool said = false;
	for (int i = 0; i < f->nlog; i++) {
		if (!strstr(f->log[i], "libmicrohttpd"))
			continue;
		said = true;
		if (f->log[i][0] != '0')
			fail_msg("not at DEBUG: %s", f->log[i]);
	}
	assert_true(said);
}

/* ------------------------------------------------------------ review: slow connections */

struct drip {
	uint16_t port;
	atomic_int connected;
	atomic_int closed;          /* seen closed by the server */
	atomic_int stop;
	pthread_t th;
};

/* SB_API_MAX_CONNECTIONS connections, each sending a byte a second of a
 * header section that never ends. */
static void *drip_main(void *arg)
{
	struct drip *d = arg;
	static const char msg[] = "GET /api/v1/stats HTTP/1.1\r\nHost: x\r\nX-Slow: "
				  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	int fd[SB_API_MAX_CONNECTIONS];
	bool open_[SB_API_MAX_CONNECTIONS];
	for (unsigned i = 0; i < SB_API_MAX_CONNECTIONS; i++) {
		fd[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(d->port) };
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		open_[i] = fd[i] >= 0 && connect(fd[i], (struct sockaddr *)&sin, sizeof sin) == 0;
		if (open_[i])
			atomic_fetch_add(&d->connected, 1);
	}
	for (size_t k = 0; !atomic_load(&d->stop) && k < sizeof msg - 1; k++) {
		for (unsigned i = 0; i < SB_API_MAX_CONNECTIONS; i++) {
			if (!open_[i])
				continue;
			char b;
			ssize_t got = recv(fd[i], &b, 1, MSG_DONTWAIT);
			if (got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK) ||
			    send(fd[i], msg + k, 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
				open_[i] = false;
				atomic_fetch_add(&d->closed, 1);
			}
		}
		for (int t = 0; t < 10 && !atomic_load(&d->stop); t++)
			usleep(100000);
	}
	for (unsigned i = 0; i < SB_API_MAX_CONNECTIONS; i++)
		if (fd[i] >= 0)
			close(fd[i]);
	return NULL;
}

/* One request on an open keep-alive connection, the loop run meanwhile:
 * its status, or -1 when the connection was closed. */
static int ka_request(struct fx *f, int fd, const char *req)
{
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req))
		return -1;
	char buf[8192];
	size_t len = 0;
	sb_msec_t end = mono_ms() + WAIT_MS;
	while (mono_ms() < end) {
		assert_int_equal(sb_loop_poll(f->loop, 20), 0);
		ssize_t n = recv(fd, buf + len, sizeof buf - 1 - len, MSG_DONTWAIT);
		if (n == 0)
			return -1;
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			return -1;
		}
		len += (size_t)n;
		buf[len] = '\0';
		char *sep = strstr(buf, "\r\n\r\n");
		const char *cl = strcasestr(buf, "Content-Length:");
		if (!sep || !cl)
			continue;
		if (len >= (size_t)(sep + 4 - buf) + strtoul(cl + 15, NULL, 10)) {
			int status = 0;
			sscanf(buf, "HTTP/1.1 %d", &status);
			return status;
		}
	}
	return -1;
}

/* Connections without the token that send a byte a second fill every
 * slot: a request with the token still gets through, they are closed
 * SB_API_AUTH_TIMEOUT_S after their start whatever they send, and a
 * connection that showed the token may stay idle past that. */
static void test_slow_connections(void **state)
{
	struct fx *f = *state;
	static const char get[] = "GET /api/v1/stats HTTP/1.1\r\nHost: x\r\n"
				  "Authorization: Bearer " TOKEN "\r\n\r\n";
	int ka = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(f->port) };
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(ka, (struct sockaddr *)&sin, sizeof sin), 0);
	assert_int_equal(ka_request(f, ka, get), 200);

	struct drip d = { .port = f->port };
	atomic_init(&d.connected, 0);
	atomic_init(&d.closed, 0);
	atomic_init(&d.stop, 0);
	sb_msec_t t0 = mono_ms();
	assert_int_equal(pthread_create(&d.th, NULL, drip_main, &d), 0);
	while (atomic_load(&d.connected) < (int)SB_API_MAX_CONNECTIONS && mono_ms() - t0 < WAIT_MS)
		assert_int_equal(sb_loop_poll(f->loop, 20), 0);
	for (int i = 0; i < 20; i++)
		assert_int_equal(sb_loop_poll(f->loop, 20), 0);
	assert_int_equal(atomic_load(&d.connected), SB_API_MAX_CONNECTIONS);

	sb_msec_t t1 = mono_ms();
	struct resp r;
	http(f, &r, "GET", "/api/v1/stats", NULL);
	expect(&r, 200, NULL);
	resp_free(&r);
	sb_msec_t took = mono_ms() - t1;
	if (took >= 10000)
		fail_msg("the request took %llu ms", (unsigned long long)took);

	/* every slow one closed, SB_API_AUTH_TIMEOUT_S after its start (the
	 * thread notices within a second) */
	while (atomic_load(&d.closed) < (int)SB_API_MAX_CONNECTIONS &&
	       mono_ms() - t0 < (SB_API_AUTH_TIMEOUT_S + 4) * 1000)
		assert_int_equal(sb_loop_poll(f->loop, 20), 0);
	atomic_store(&d.stop, 1);
	pthread_join(d.th, NULL);
	assert_int_equal(atomic_load(&d.closed), SB_API_MAX_CONNECTIONS);
	assert_true(mono_ms() - t0 >= SB_API_AUTH_TIMEOUT_S * 1000);

	/* the one with the token, idle all along, is still there */
	assert_int_equal(ka_request(f, ka, get), 200);
	close(ka);
}

/* ------------------------------------------------------------ review: shutdown */

static void *release_later(void *arg)
{
	struct fx *f = arg;
	usleep(200000);
	gate_set(&f->gate, false);
	return NULL;
}

/* sb_api_free() with a request waiting for the store: the store commits,
 * the change is made, and the answer is sent before the server goes. */
static void test_free_sends_answers(void **state)
{
	struct fx *f = *state;
	static const char post[] = "POST /api/v1/users HTTP/1.1\r\nHost: x\r\n"
				   "Authorization: Bearer " TOKEN "\r\nContent-Length: 31\r\n\r\n"
				   "{\"name\":\"alice\",\"password\":\"a\"}";
	gate_set(&f->gate, true);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(f->port) };
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	assert_int_equal(send(fd, post, strlen(post), MSG_NOSIGNAL), (ssize_t)strlen(post));
	wait_held(f);
	for (int i = 0; i < 10; i++)
		assert_int_equal(sb_loop_poll(f->loop, 10), 0);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, release_later, f), 0);
	sb_api_free(f->api);
	f->api = NULL;
	pthread_join(th, NULL);
	struct timeval tv = { .tv_sec = 2 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	char buf[2048];
	size_t len = 0;
	for (;;) {
		ssize_t n = recv(fd, buf + len, sizeof buf - 1 - len, 0);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	close(fd);
	if (strncmp(buf, "HTTP/1.1 201", 12) != 0)
		fail_msg("no 201 before the server went: \"%.80s\"", buf);
	assert_non_null(strstr(buf, "\"alice\""));
	assert_non_null(sb_users_find(f->users, SB_LIT("alice")));
	assert_true(logged(f, "api: POST /api/v1/users 201"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_token, setup, teardown),
		cmocka_unit_test_setup_teardown(test_users, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forward, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chunked_too_big, setup, teardown),
		cmocka_unit_test_setup_teardown(test_registrations, setup, teardown),
		cmocka_unit_test_setup_teardown(test_location_foreach, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stats, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_wait_and_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_store, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alloc_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_commit_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reg_delete_refreshed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dot_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_method_logged_clean, setup, teardown),
		cmocka_unit_test_setup_teardown(test_peer_close_debug, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_connections, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_sends_answers, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
