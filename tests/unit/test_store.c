/* Unit tests for store: the SQLite backend on a real file under a mkdtemp
 * directory, and the write-behind front on a real loop driven by
 * sb_loop_poll().  Schema creation, the migration of a v1 file written by
 * the test itself, refusal of newer and foreign files, put/delete of every
 * record kind read back by a second store on the same file, done handlers
 * on the loop thread after the commit (checked from a second connection),
 * group commit (made deterministic by a backend that holds the first
 * transaction), the queue bound, expired bindings dropped at load, a clean
 * shutdown that commits what is queued, and a child process killed with
 * SIGKILL whose acknowledged bindings must all be in the file.
 *
 * Every wait has a deadline, so a broken store fails a test instead of
 * hanging it. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sys/stat.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "switchboard/store.h"

#define WAIT_MS 10000 /* safety net for every wait */

static const char HA1_MD5[] = "0123456789abcdef0123456789abcdef";
static const char HA1_SHA[] = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

/* ------------------------------------------------------------ fixture */

struct fx {
	char dir[64];
	char path[96];
	struct sb_loop *loop;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	assert_non_null(f);
	snprintf(f->dir, sizeof f->dir, "/tmp/sb-store-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof f->path, "%s/sb.db", f->dir);
	assert_int_equal(sb_loop_alloc(&f->loop, NULL), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	sb_loop_free(f->loop);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static struct sb_store *open_store(struct fx *f, uint32_t max_queue, uint32_t max_batch)
{
	struct sb_store_cfg cfg = { .loop = f->loop, .path = f->path,
				    .max_queue = max_queue, .max_batch = max_batch };
	struct sb_store *s = NULL;
	char err[256];
	int e = sb_store_alloc(&s, &cfg, err, sizeof err);
	if (e)
		fail_msg("sb_store_alloc: %d %s", e, err);
	return s;
}

static sb_msec_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (sb_msec_t)ts.tv_sec * 1000 + (sb_msec_t)ts.tv_nsec / 1000000;
}

/* Poll the loop until *n reaches want, or fail after WAIT_MS. */
static void poll_until(struct sb_loop *l, const int *n, int want)
{
	sb_msec_t end = mono_ms() + WAIT_MS;
	while (*n < want) {
		if (mono_ms() > end)
			fail_msg("timed out: %d of %d done", *n, want);
		assert_int_equal(sb_loop_poll(l, 50), 0);
	}
}

/* A second connection to the file: what another process would see. */
static sqlite3 *peek_open(const struct fx *f)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, WAIT_MS);
	return db;
}

static int64_t peek_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int64_t v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int64_t file_int(const struct fx *f, const char *sql)
{
	sqlite3 *db = peek_open(f);
	int64_t v = peek_int(db, sql);
	sqlite3_close(db);
	return v;
}

static void file_exec(const struct fx *f, const char *sql)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s", msg);
	sqlite3_close(db);
}

/* ------------------------------------------------------------ records */

static struct sb_store_user user(const char *name, const char *md5, const char *sha,
				 int64_t created)
{
	return (struct sb_store_user){ .name = sb_slice_cstr(name),
				       .realm = SB_LIT("example.com"),
				       .ha1_md5 = sb_slice_cstr(md5),
				       .ha1_sha256 = sb_slice_cstr(sha),
				       .created = created };
}

static struct sb_store_binding binding(const char *aor, const char *contact, uint32_t cseq,
				       int64_t expires_at)
{
	return (struct sb_store_binding){ .aor = sb_slice_cstr(aor),
					  .contact = sb_slice_cstr(contact),
					  .call_id = SB_LIT("cid-1@host"),
					  .cseq = cseq,
					  .expires_at = expires_at,
					  .q1000 = 500,
					  .source_proto = SB_LIT("tcp"),
					  .source_addr = SB_LIT("192.0.2.9:5062"),
					  .source_conn = SB_LIT("17") };
}

/* What a load saw, flattened to text lines in load order. */
struct seen {
	char line[64][200];
	int n;
	int stop_after; /* a handler returns ECANCELED once n reaches it; 0: never */
};

static int add_line(struct seen *sn, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int add_line(struct seen *sn, const char *fmt, ...)
{
	assert_true(sn->n < 64);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sn->line[sn->n++], sizeof sn->line[0], fmt, ap);
	va_end(ap);
	return sn->stop_after && sn->n >= sn->stop_after ? ECANCELED : 0;
}

static int seen_user(const struct sb_store_user *u, void *arg)
{
	return add_line(arg, "user %.*s@%.*s md5=%.*s sha=%.*s created=%lld",
			(int)u->name.l, u->name.p, (int)u->realm.l, u->realm.p,
			(int)u->ha1_md5.l, u->ha1_md5.p, (int)u->ha1_sha256.l, u->ha1_sha256.p,
			(long long)u->created);
}

static int seen_rule(const struct sb_store_rule *r, void *arg)
{
	return add_line(arg, "rule %.*s %s %.*s %u", (int)r->user.l, r->user.p,
			sb_store_fwd_name(r->kind), (int)r->target.l, r->target.p, r->noanswer_s);
}

static int seen_binding(const struct sb_store_binding *b, void *arg)
{
	return add_line(arg, "binding %.*s %.*s %.*s %u %lld q=%u %.*s/%.*s/%.*s",
			(int)b->aor.l, b->aor.p, (int)b->contact.l, b->contact.p,
			(int)b->call_id.l, b->call_id.p, b->cseq, (long long)b->expires_at,
			b->q1000, (int)b->source_proto.l, b->source_proto.p,
			(int)b->source_addr.l, b->source_addr.p, (int)b->source_conn.l,
			b->source_conn.p);
}

static const struct sb_store_loader all_loader = {
	.user = seen_user, .rule = seen_rule, .binding = seen_binding,
};

static void load_all(struct sb_store *s, int64_t now, struct seen *sn,
		     struct sb_store_load_counts *c)
{
	memset(sn, 0, sizeof *sn);
	assert_int_equal(sb_store_load(s, now, &all_loader, sn, c), 0);
}

/* A done handler that counts successes and records the first error. */
struct tally {
	int done;
	int ok;
	int last_err;
};

static void tally_h(int err, void *arg)
{
	struct tally *t = arg;
	t->done++;
	if (err == 0)
		t->ok++;
	else
		t->last_err = err;
}

/* ------------------------------------------------------------ schema */

static void test_schema_fresh(void **state)
{
	struct fx *f = *state;
	struct sb_store *s = open_store(f, 0, 0);
	assert_int_equal(file_int(f, "SELECT version FROM schema_version"),
			 SB_STORE_SCHEMA_VERSION);
	assert_int_equal(file_int(f, "SELECT count(*) FROM schema_version"), 1);
	assert_int_equal(file_int(f, "SELECT count(*) FROM sqlite_schema WHERE type = 'table'"
				     " AND name IN ('users', 'bindings', 'rules')"), 3);
	/* WAL is a property of the file: a second connection sees it */
	sqlite3 *db = peek_open(f);
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	sqlite3_close(db);
	sb_store_free(s);

	/* reopening an up-to-date file changes nothing */
	s = open_store(f, 0, 0);
	assert_int_equal(file_int(f, "SELECT version FROM schema_version"),
			 SB_STORE_SCHEMA_VERSION);
	assert_int_equal(file_int(f, "SELECT count(*) FROM schema_version"), 1);
	sb_store_free(s);
}

/* The v1 schema exactly as a v1 build wrote it (kept here on purpose, not
 * taken from sqlite.c: the test must notice if the migration's idea of v1
 * drifts). */
static const char V1_SQL[] =
	"CREATE TABLE schema_version (version INTEGER NOT NULL);"
	"INSERT INTO schema_version VALUES (1);"
	"CREATE TABLE users(name TEXT NOT NULL, realm TEXT NOT NULL, ha1_md5 TEXT NOT NULL,"
	" created INTEGER NOT NULL, PRIMARY KEY (name, realm));"
	"CREATE TABLE bindings(aor TEXT NOT NULL, contact TEXT NOT NULL, call_id TEXT NOT NULL,"
	" cseq INTEGER NOT NULL, expires_at INTEGER NOT NULL, q1000 INTEGER NOT NULL,"
	" source TEXT NOT NULL, PRIMARY KEY (aor, contact));"
	"INSERT INTO users VALUES ('alice', 'example.com', '0123456789abcdef0123456789abcdef', 1700000000);"
	"INSERT INTO bindings VALUES ('sip:alice@example.com', 'sip:alice@192.0.2.7:5061',"
	" 'c1', 7, 4000000000, 1000, 'tcp/192.0.2.7:5061');"
	"INSERT INTO bindings VALUES ('sip:alice@example.com', 'sip:alice@[2001:db8::1]',"
	" 'c2', 3, 4000000001, 100, '[2001:db8::1]:5060');";

static void test_migrate_v1(void **state)
{
	struct fx *f = *state;
	file_exec(f, V1_SQL);
	struct sb_store *s = open_store(f, 0, 0);
	assert_int_equal(file_int(f, "SELECT version FROM schema_version"), 2);
	assert_int_equal(file_int(f, "SELECT count(*) FROM pragma_table_info('bindings')"
				     " WHERE name = 'source'"), 0);

	struct seen sn;
	struct sb_store_load_counts c;
	load_all(s, 1800000000, &sn, &c);
	assert_int_equal(sn.n, 3);
	assert_int_equal(c.users, 1);
	assert_int_equal(c.bindings, 2);
	assert_int_equal(c.expired, 0);
	assert_string_equal(sn.line[0], "user alice@example.com md5=0123456789abcdef0123456789abcdef"
					" sha= created=1700000000");
	/* the v1 source text split into proto and address; none gives "" */
	assert_string_equal(sn.line[1], "binding sip:alice@example.com sip:alice@192.0.2.7:5061"
					" c1 7 4000000000 q=1000 tcp/192.0.2.7:5061/");
	assert_string_equal(sn.line[2], "binding sip:alice@example.com sip:alice@[2001:db8::1]"
					" c2 3 4000000001 q=100 /[2001:db8::1]:5060/");

	/* the v2 parts work: a SHA-256 HA1 and a forwarding rule */
	struct tally t = { 0 };
	struct sb_store_user u = user("alice", HA1_MD5, HA1_SHA, 0);
	assert_int_equal(sb_store_put_user(s, &u, tally_h, &t), 0);
	struct sb_store_rule r = { .user = SB_LIT("alice"), .kind = SB_STORE_FWD_BUSY,
				   .target = SB_LIT("sip:voicemail@example.com") };
	assert_int_equal(sb_store_put_rule(s, &r, tally_h, &t), 0);
	poll_until(f->loop, &t.done, 2);
	assert_int_equal(t.ok, 2);
	load_all(s, 1800000000, &sn, NULL);
	assert_int_equal(sn.n, 4);
	/* created is the v1 one: a put over a user keeps it */
	assert_string_equal(sn.line[0], "user alice@example.com md5=0123456789abcdef0123456789abcdef"
					" sha=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
					" created=1700000000");
	assert_string_equal(sn.line[1], "rule alice busy sip:voicemail@example.com 0");
	sb_store_free(s);
}

static void test_refused_files(void **state)
{
	struct fx *f = *state;
	struct sb_store_cfg cfg = { .loop = f->loop, .path = f->path };
	struct sb_store *s = NULL;
	char err[256];

	/* a newer schema: refused, untouched, with a message that says why */
	file_exec(f, "CREATE TABLE schema_version (version INTEGER NOT NULL);"
		     "INSERT INTO schema_version VALUES (99);"
		     "CREATE TABLE future (x);");
	assert_int_equal(sb_store_alloc(&s, &cfg, err, sizeof err), ENOTSUP);
	assert_null(s);
	assert_non_null(strstr(err, "99"));
	assert_non_null(strstr(err, "newer"));
	assert_int_equal(file_int(f, "SELECT version FROM schema_version"), 99);
	assert_int_equal(file_int(f, "SELECT count(*) FROM sqlite_schema WHERE name = 'users'"), 0);
	assert_int_equal(sb_loop_fd_count(f->loop), 0);

	/* someone else's SQLite database */
	assert_int_equal(unlink(f->path), 0);
	file_exec(f, "CREATE TABLE foo (x); INSERT INTO foo VALUES (1);");
	assert_int_equal(sb_store_alloc(&s, &cfg, err, sizeof err), EBADMSG);
	assert_non_null(strstr(err, "not Switchboard's"));
	assert_int_equal(file_int(f, "SELECT count(*) FROM sqlite_schema"), 1);

	/* not a database at all */
	assert_int_equal(unlink(f->path), 0);
	FILE *fp = fopen(f->path, "w");
	assert_non_null(fp);
	for (int i = 0; i < 100; i++)
		fputs("this is not an SQLite file\n", fp);
	fclose(fp);
	assert_int_equal(sb_store_alloc(&s, &cfg, err, sizeof err), EBADMSG);

	/* a directory that does not exist */
	cfg.path = "/nonexistent-dir/sb.db";
	assert_int_not_equal(sb_store_alloc(&s, &cfg, err, sizeof err), 0);
	assert_non_null(strstr(err, "/nonexistent-dir/sb.db"));

	/* no path, no loop */
	cfg.path = NULL;
	assert_int_equal(sb_store_alloc(&s, &cfg, err, sizeof err), EINVAL);
	cfg.path = f->path;
	cfg.loop = NULL;
	assert_int_equal(sb_store_alloc(&s, &cfg, NULL, 0), EINVAL);
	assert_null(s);
}

/* ------------------------------------------------------------ round trip */

static void test_roundtrip(void **state)
{
	struct fx *f = *state;
	struct sb_store *s = open_store(f, 0, 0);
	struct tally t = { 0 };
	int n = 0;

	struct sb_store_user u = user("alice", HA1_MD5, "", 1700000001);
	assert_int_equal(sb_store_put_user(s, &u, tally_h, &t), 0), n++;
	u = user("bob", "", HA1_SHA, 1700000002);
	assert_int_equal(sb_store_put_user(s, &u, tally_h, &t), 0), n++;
	u = user("carol", HA1_MD5, HA1_SHA, 1700000003);
	assert_int_equal(sb_store_put_user(s, &u, tally_h, &t), 0), n++;
	/* update bob: both HA1s; created stays the first one */
	u = user("bob", HA1_MD5, HA1_SHA, 1799999999);
	assert_int_equal(sb_store_put_user(s, &u, tally_h, &t), 0), n++;
	assert_int_equal(sb_store_del_user(s, SB_LIT("carol"), SB_LIT("example.com"), tally_h, &t), 0), n++;
	/* a user of the same name in another realm is another user */
	assert_int_equal(sb_store_del_user(s, SB_LIT("alice"), SB_LIT("other.org"), tally_h, &t), 0), n++;

	int64_t exp = 4000000000;
	struct sb_store_binding b = binding("sip:alice@example.com", "sip:alice@192.0.2.1", 1, exp);
	assert_int_equal(sb_store_put_binding(s, &b, tally_h, &t), 0), n++;
	b = binding("sip:alice@example.com", "sip:alice@192.0.2.2", 2, exp + 1);
	assert_int_equal(sb_store_put_binding(s, &b, tally_h, &t), 0), n++;
	/* refresh of the first: new cseq, expiry, q, source */
	b = binding("sip:alice@example.com", "sip:alice@192.0.2.1", 5, exp + 5);
	b.q1000 = 1000;
	b.source_proto = SB_LIT("udp");
	b.source_conn = SB_LIT("");
	assert_int_equal(sb_store_put_binding(s, &b, tally_h, &t), 0), n++;
	assert_int_equal(sb_store_del_binding(s, SB_LIT("sip:alice@example.com"),
					      SB_LIT("sip:alice@192.0.2.2"), tally_h, &t), 0), n++;
	b = binding("sip:bob@example.com", "sip:bob@192.0.2.3", 1, exp);
	assert_int_equal(sb_store_put_binding(s, &b, tally_h, &t), 0), n++;
	b = binding("sip:bob@example.com", "sip:bob@192.0.2.4", 1, exp);
	assert_int_equal(sb_store_put_binding(s, &b, tally_h, &t), 0), n++;
	assert_int_equal(sb_store_del_aor(s, SB_LIT("sip:bob@example.com"), tally_h, &t), 0), n++;
	b = binding("sip:carol@example.com", "sip:carol@192.0.2.5", 9, exp);
	assert_int_equal(sb_store_put_binding(s, &b, NULL, NULL), 0); /* no handler */

	struct sb_store_rule r = { .user = SB_LIT("alice"), .kind = SB_STORE_FWD_NOANSWER,
				   .target = SB_LIT("sip:carol@example.com"), .noanswer_s = 20 };
	assert_int_equal(sb_store_put_rule(s, &r, tally_h, &t), 0), n++;
	r = (struct sb_store_rule){ .user = SB_LIT("alice"), .kind = SB_STORE_FWD_BUSY,
				    .target = SB_LIT("sip:bob@example.com") };
	assert_int_equal(sb_store_put_rule(s, &r, tally_h, &t), 0), n++;
	r.target = SB_LIT("sip:voicemail@example.com"); /* replaces the busy rule */
	assert_int_equal(sb_store_put_rule(s, &r, tally_h, &t), 0), n++;
	r = (struct sb_store_rule){ .user = SB_LIT("bob"), .kind = SB_STORE_FWD_DND };
	assert_int_equal(sb_store_put_rule(s, &r, tally_h, &t), 0), n++;
	r = (struct sb_store_rule){ .user = SB_LIT("bob"), .kind = SB_STORE_FWD_ALWAYS,
				    .target = SB_LIT("sip:alice@example.com") };
	assert_int_equal(sb_store_put_rule(s, &r, tally_h, &t), 0), n++;
	assert_int_equal(sb_store_del_rule(s, SB_LIT("bob"), SB_STORE_FWD_ALWAYS, tally_h, &t), 0), n++;

	/* nothing runs inside the calls */
	assert_int_equal(t.done, 0);
	poll_until(f->loop, &t.done, n);
	assert_int_equal(t.ok, n);
	sb_store_flush(s); /* the handler-less put is committed too */
	struct sb_store_stats st;
	sb_store_get_stats(s, &st);
	assert_int_equal(st.committed, n + 1);
	assert_int_equal(st.failed, 0);
	assert_int_equal(st.outstanding, 0);

	/* a second store on the same file while the first is open (WAL) */
	struct sb_store *s2 = open_store(f, 0, 0);
	struct seen sn;
	struct sb_store_load_counts c;
	load_all(s2, 1800000000, &sn, &c);
	const char *want[] = {
		"user alice@example.com md5=0123456789abcdef0123456789abcdef sha= created=1700000001",
		"user bob@example.com md5=0123456789abcdef0123456789abcdef"
		" sha=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
		" created=1700000002",
		"rule alice busy sip:voicemail@example.com 0",
		"rule alice noanswer sip:carol@example.com 20",
		"rule bob dnd  0",
		"binding sip:alice@example.com sip:alice@192.0.2.1 cid-1@host 5 4000000005 q=1000"
		" udp/192.0.2.9:5062/",
		"binding sip:carol@example.com sip:carol@192.0.2.5 cid-1@host 9 4000000000 q=500"
		" tcp/192.0.2.9:5062/17",
	};
	assert_int_equal(sn.n, (int)SB_ARRAY_LEN(want));
	for (size_t i = 0; i < SB_ARRAY_LEN(want); i++)
		assert_string_equal(sn.line[i], want[i]);
	assert_int_equal(c.users, 2);
	assert_int_equal(c.rules, 3);
	assert_int_equal(c.bindings, 2);
	sb_store_free(s2);
	sb_store_free(s);

	/* and after both closed: same content, and a handler can stop the load */
	s = open_store(f, 0, 0);
	load_all(s, 1800000000, &sn, NULL);
	assert_int_equal(sn.n, (int)SB_ARRAY_LEN(want));
	memset(&sn, 0, sizeof sn);
	sn.stop_after = 2;
	assert_int_equal(sb_store_load(s, 1800000000, &all_loader, &sn, NULL), ECANCELED);
	assert_int_equal(sn.n, 2);
	/* a loader with only bindings */
	memset(&sn, 0, sizeof sn);
	struct sb_store_loader only_b = { .binding = seen_binding };
	assert_int_equal(sb_store_load(s, 1800000000, &only_b, &sn, &c), 0);
	assert_int_equal(sn.n, 2);
	assert_int_equal(c.users, 0);
	sb_store_free(s);
}

/* ------------------------------------------------------------ done */

struct visible {
	const struct fx *f;
	pthread_t loop_thread;
	int done;
	int on_loop_thread;
	int rows_seen;   /* bindings with this contact visible to another connection */
	int err;
};

static void visible_h(int err, void *arg)
{
	struct visible *v = arg;
	v->err = err;
	v->on_loop_thread += pthread_equal(pthread_self(), v->loop_thread) != 0;
	char sql[160];
	snprintf(sql, sizeof sql, "SELECT count(*) FROM bindings WHERE contact ="
		 " 'sip:x@192.0.2.%d'", v->done);
	/* a separate connection: it sees only committed transactions */
	v->rows_seen += (int)file_int(v->f, sql);
	v->done++;
}

static void test_done_after_commit(void **state)
{
	struct fx *f = *state;
	struct sb_store *s = open_store(f, 0, 0);
	struct visible v = { .f = f, .loop_thread = pthread_self() };
	enum { N = 20 };
	char contact[N][32];
	for (int i = 0; i < N; i++) {
		snprintf(contact[i], sizeof contact[i], "sip:x@192.0.2.%d", i);
		struct sb_store_binding b = binding("sip:x@example.com", contact[i], 1, 4000000000);
		assert_int_equal(sb_store_put_binding(s, &b, visible_h, &v), 0);
	}
	/* the contact strings are copied: scribble over them */
	memset(contact, 'Z', sizeof contact);
	assert_int_equal(v.done, 0);
	poll_until(f->loop, &v.done, N);
	assert_int_equal(v.err, 0);
	assert_int_equal(v.on_loop_thread, N);
	assert_int_equal(v.rows_seen, N);
	sb_store_free(s);
}

/* A done handler may queue the next change (the registrar will). */
struct chain {
	struct sb_store *s;
	int done;
};

static void chain_h(int err, void *arg)
{
	struct chain *c = arg;
	assert_int_equal(err, 0);
	c->done++;
	if (c->done < 5) {
		struct sb_store_binding b = binding("sip:chain@example.com", "sip:chain@192.0.2.1",
						    (uint32_t)c->done + 1, 4000000000);
		assert_int_equal(sb_store_put_binding(c->s, &b, chain_h, c), 0);
	}
}

static void test_done_requeues(void **state)
{
	struct fx *f = *state;
	struct chain c = { .s = open_store(f, 1, 0) }; /* a bound of one: the handler's op fits */
	struct sb_store_binding b = binding("sip:chain@example.com", "sip:chain@192.0.2.1", 1,
					    4000000000);
	assert_int_equal(sb_store_put_binding(c.s, &b, chain_h, &c), 0);
	poll_until(f->loop, &c.done, 5);
	assert_int_equal(file_int(f, "SELECT cseq FROM bindings"), 5);
	sb_store_free(c.s);
}

/* ------------------------------------------------------------ group commit */

/* The SQLite backend, with a gate: the first commit waits until the test
 * opens it, so everything queued meanwhile must go in the next batches. */
struct gate {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	void *inner;
	bool entered;
	bool released;
	int commits;
	size_t max_n;
	size_t total;
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
	g->commits++;
	g->total += n;
	if (n > g->max_n)
		g->max_n = n;
	if (g->commits == 1) {
		g->entered = true;
		pthread_cond_broadcast(&g->cv);
		while (!g->released)
			pthread_cond_wait(&g->cv, &g->mu);
	}
	pthread_mutex_unlock(&g->mu);
	return sb_store_backend_sqlite.commit(g->inner, ops, n);
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

static void wait_entered(struct gate *g)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += WAIT_MS / 1000;
	pthread_mutex_lock(&g->mu);
	int e = 0;
	while (!g->entered && e == 0)
		e = pthread_cond_timedwait(&g->cv, &g->mu, &ts);
	bool entered = g->entered;
	pthread_mutex_unlock(&g->mu);
	assert_true(entered);
}

static void release_gate(struct gate *g)
{
	pthread_mutex_lock(&g->mu);
	g->released = true;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

static void group_commit(struct fx *f, uint32_t max_batch, int want_commits)
{
	enum { N = 1000 };
	struct gate g = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };
	struct sb_store_cfg cfg = { .loop = f->loop, .path = f->path, .backend = &gate_backend,
				    .backend_arg = &g, .max_batch = max_batch };
	struct sb_store *s = NULL;
	assert_int_equal(sb_store_alloc(&s, &cfg, NULL, 0), 0);
	struct tally t = { 0 };
	char aor[64];
	for (int i = 0; i < N; i++) {
		snprintf(aor, sizeof aor, "sip:u%d@example.com", i);
		struct sb_store_binding b = binding(aor, "sip:u@192.0.2.1", 1, 4000000000);
		assert_int_equal(sb_store_put_binding(s, &b, tally_h, &t), 0);
		if (i == 0)
			wait_entered(&g); /* the writer holds a batch of one */
	}
	release_gate(&g);
	poll_until(f->loop, &t.done, N);
	assert_int_equal(t.ok, N);
	struct sb_store_stats st;
	sb_store_get_stats(s, &st);
	assert_int_equal(g.commits, want_commits);
	assert_int_equal(st.batches, want_commits);
	assert_int_equal(st.committed, N);
	assert_int_equal(g.total, N);
	assert_true(g.max_n <= (max_batch ? max_batch : SB_STORE_DEFAULT_MAX_BATCH));
	assert_int_equal(file_int(f, "SELECT count(*) FROM bindings"), N);
	sb_store_free(s);
	file_exec(f, "DELETE FROM bindings");
}

static void test_group_commit(void **state)
{
	struct fx *f = *state;
	/* 1 then 999 in one transaction */
	group_commit(f, 0, 2);
	/* 1 then 999 in batches of at most 100 */
	group_commit(f, 100, 11);
}

/* ------------------------------------------------------------ bounds */

static void test_queue_bound(void **state)
{
	struct fx *f = *state;
	enum { MAXQ = 8 };
	struct sb_store *s = open_store(f, MAXQ, 0);
	struct tally t = { 0 };
	char contact[64];
	for (int i = 0; i < MAXQ; i++) {
		snprintf(contact, sizeof contact, "sip:q@192.0.2.%d", i);
		struct sb_store_binding b = binding("sip:q@example.com", contact, 1, 4000000000);
		assert_int_equal(sb_store_put_binding(s, &b, tally_h, &t), 0);
	}
	/* full, whatever the kind of change; full until the handlers have run,
	 * even once the writer has committed everything */
	struct sb_store_binding b = binding("sip:q@example.com", "sip:q@192.0.2.200", 1, 4000000000);
	assert_int_equal(sb_store_put_binding(s, &b, tally_h, &t), EAGAIN);
	struct sb_store_user u = user("q", HA1_MD5, "", 0);
	assert_int_equal(sb_store_put_user(s, &u, tally_h, &t), EAGAIN);
	assert_int_equal(sb_store_del_aor(s, SB_LIT("sip:q@example.com"), tally_h, &t), EAGAIN);
	sb_store_flush(s);
	assert_int_equal(t.done, MAXQ);
	assert_int_equal(t.ok, MAXQ);
	assert_int_equal(file_int(f, "SELECT count(*) FROM bindings"), MAXQ);
	assert_int_equal(file_int(f, "SELECT count(*) FROM bindings"
				     " WHERE contact = 'sip:q@192.0.2.200'"), 0);
	/* room again */
	assert_int_equal(sb_store_put_binding(s, &b, tally_h, &t), 0);
	poll_until(f->loop, &t.done, MAXQ + 1);
	assert_int_equal(file_int(f, "SELECT count(*) FROM bindings"), MAXQ + 1);
	sb_store_free(s);
}

static void test_invalid(void **state)
{
	struct fx *f = *state;
	struct sb_store *s = open_store(f, 0, 0);
	char big[SB_STORE_MAX_CONTACT + 2];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';

	struct sb_store_binding b = binding("sip:v@example.com", big, 1, 4000000000);
	assert_int_equal(sb_store_put_binding(s, &b, NULL, NULL), EINVAL);
	b.contact.l = SB_STORE_MAX_CONTACT; /* exactly at the bound: fine */
	assert_int_equal(sb_store_put_binding(s, &b, NULL, NULL), 0);
	b = binding("", "sip:v@192.0.2.1", 1, 4000000000);
	assert_int_equal(sb_store_put_binding(s, &b, NULL, NULL), EINVAL);
	b = binding("sip:v@example.com", "sip:v@192.0.2.1", 1, 4000000000);
	b.q1000 = 1001;
	assert_int_equal(sb_store_put_binding(s, &b, NULL, NULL), EINVAL);
	assert_int_equal(sb_store_del_binding(s, SB_LIT("sip:v@example.com"), SB_LIT(""), NULL, NULL),
			 EINVAL);

	struct sb_store_user u = user("v", "", "", 0); /* no HA1 at all */
	assert_int_equal(sb_store_put_user(s, &u, NULL, NULL), EINVAL);
	u = user("v", "0123456789ABCDEF0123456789ABCDEF", "", 0); /* upper-case hex */
	assert_int_equal(sb_store_put_user(s, &u, NULL, NULL), EINVAL);
	u = user("v", "0123456789abcdef", "", 0); /* short */
	assert_int_equal(sb_store_put_user(s, &u, NULL, NULL), EINVAL);
	u = user("v", "", HA1_MD5, 0); /* an MD5-sized SHA-256 */
	assert_int_equal(sb_store_put_user(s, &u, NULL, NULL), EINVAL);
	u = user("", HA1_MD5, "", 0);
	assert_int_equal(sb_store_put_user(s, &u, NULL, NULL), EINVAL);

	struct sb_store_rule r = { .user = SB_LIT("v"), .kind = SB_STORE_FWD_NOANSWER,
				   .target = SB_LIT("sip:w@example.com") };
	assert_int_equal(sb_store_put_rule(s, &r, NULL, NULL), EINVAL); /* no delay */
	r.noanswer_s = SB_STORE_MAX_NOANSWER_S + 1;
	assert_int_equal(sb_store_put_rule(s, &r, NULL, NULL), EINVAL);
	r.kind = SB_STORE_FWD_BUSY;
	r.noanswer_s = 5; /* a delay on a busy rule means a confused caller */
	assert_int_equal(sb_store_put_rule(s, &r, NULL, NULL), EINVAL);
	r.noanswer_s = 0;
	r.target = SB_LIT("");
	assert_int_equal(sb_store_put_rule(s, &r, NULL, NULL), EINVAL);
	r = (struct sb_store_rule){ .user = SB_LIT("v"), .kind = SB_STORE_FWD_DND,
				    .target = SB_LIT("sip:w@example.com") };
	assert_int_equal(sb_store_put_rule(s, &r, NULL, NULL), EINVAL);
	r.kind = (enum sb_store_fwd)0;
	assert_int_equal(sb_store_put_rule(s, &r, NULL, NULL), EINVAL);
	assert_int_equal(sb_store_del_rule(s, SB_LIT("v"), (enum sb_store_fwd)6, NULL, NULL), EINVAL);

	sb_store_flush(s);
	struct sb_store_stats st;
	sb_store_get_stats(s, &st);
	assert_int_equal(st.committed, 1); /* only the binding at the bound */
	assert_int_equal(st.outstanding, 0);
	sb_store_free(s);
}

static void test_fwd_names(void **state)
{
	(void)state;
	for (int k = SB_STORE_FWD_ALWAYS; k <= SB_STORE_FWD_DND; k++) {
		const char *name = sb_store_fwd_name((enum sb_store_fwd)k);
		assert_non_null(name);
		enum sb_store_fwd back = 0;
		assert_int_equal(sb_store_fwd_parse(sb_slice_cstr(name), &back), 0);
		assert_int_equal(back, k);
	}
	enum sb_store_fwd k;
	assert_int_equal(sb_store_fwd_parse(SB_LIT("NoAnswer"), &k), 0);
	assert_int_equal(k, SB_STORE_FWD_NOANSWER);
	assert_int_equal(sb_store_fwd_parse(SB_LIT("sometimes"), &k), EINVAL);
	assert_null(sb_store_fwd_name((enum sb_store_fwd)0));
	assert_null(sb_store_fwd_name((enum sb_store_fwd)99));
}

/* ------------------------------------------------------------ load */

static void test_expired_dropped(void **state)
{
	struct fx *f = *state;
	struct sb_store *s = open_store(f, 0, 0);
	const int64_t now = 1800000000;
	struct sb_store_binding b = binding("sip:e@example.com", "sip:e@192.0.2.1", 1, now - 100);
	assert_int_equal(sb_store_put_binding(s, &b, NULL, NULL), 0);
	b = binding("sip:e@example.com", "sip:e@192.0.2.2", 1, now); /* expires this second */
	assert_int_equal(sb_store_put_binding(s, &b, NULL, NULL), 0);
	b = binding("sip:e@example.com", "sip:e@192.0.2.3", 1, now + 1);
	assert_int_equal(sb_store_put_binding(s, &b, NULL, NULL), 0);
	b = binding("sip:f@example.com", "sip:f@192.0.2.4", 1, now - 1);
	assert_int_equal(sb_store_put_binding(s, &b, NULL, NULL), 0);
	/* load waits for what is queued before it */
	struct seen sn;
	struct sb_store_load_counts c;
	load_all(s, now, &sn, &c);
	assert_int_equal(c.expired, 3);
	assert_int_equal(c.bindings, 1);
	assert_int_equal(sn.n, 1);
	assert_non_null(strstr(sn.line[0], "sip:e@192.0.2.3"));
	/* dropped from the file, not just skipped */
	assert_int_equal(file_int(f, "SELECT count(*) FROM bindings"), 1);
	sb_store_free(s);
}

/* ------------------------------------------------------------ shutdown */

static void test_free_commits_queue(void **state)
{
	struct fx *f = *state;
	struct sb_store *s = open_store(f, 0, 0);
	struct tally t = { 0 };
	char aor[64];
	for (int i = 0; i < 300; i++) {
		snprintf(aor, sizeof aor, "sip:s%d@example.com", i);
		struct sb_store_binding b = binding(aor, "sip:s@192.0.2.1", 1, 4000000000);
		assert_int_equal(sb_store_put_binding(s, &b, tally_h, &t), 0);
	}
	sb_store_free(s); /* without polling the loop */
	assert_int_equal(t.done, 0); /* handlers of a freed store never run */
	assert_int_equal(sb_loop_fd_count(f->loop), 0);
	assert_int_equal(file_int(f, "SELECT count(*) FROM bindings"), 300);
	/* nothing left for the loop to deliver */
	assert_int_equal(sb_loop_poll(f->loop, 0), 0);
	assert_int_equal(t.done, 0);
}

/* ------------------------------------------------------------ kill -9 */

/* The child: queue bindings as fast as the bound allows, report each on the
 * pipe as its done handler runs (that is the 200 OK), and die by SIGKILL
 * with more still in flight.  No cmocka here: exit codes only. */
struct child {
	struct sb_store *s;
	int fd;
	int acked;
	int failed;
};

struct child_op {
	struct child *c;
	uint32_t idx;
};

static void child_op_h(int err, void *arg)
{
	struct child_op *o = arg;
	if (err) {
		o->c->failed++;
		return;
	}
	if (write(o->c->fd, &o->idx, sizeof o->idx) != (ssize_t)sizeof o->idx)
		o->c->failed++;
	o->c->acked++;
}

enum { CHILD_ACKS = 400, CHILD_OPS = 4096 };

static void child_main(const char *path, int fd)
{
	struct sb_loop *l = NULL;
	if (sb_loop_alloc(&l, NULL))
		_exit(10);
	struct sb_store_cfg cfg = { .loop = l, .path = path, .max_queue = 64 };
	struct child c = { .fd = fd };
	if (sb_store_alloc(&c.s, &cfg, NULL, 0))
		_exit(11);
	static struct child_op ops[CHILD_OPS];
	uint32_t next = 0;
	sb_msec_t end = mono_ms() + WAIT_MS;
	while (c.acked < CHILD_ACKS) {
		if (c.failed || mono_ms() > end || next >= CHILD_OPS)
			_exit(12);
		/* keep the queue full */
		for (;;) {
			char aor[64];
			snprintf(aor, sizeof aor, "sip:k%u@example.com", next);
			struct sb_store_binding b = binding(aor, "sip:k@192.0.2.1", next, 4000000000);
			ops[next] = (struct child_op){ .c = &c, .idx = next };
			int e = sb_store_put_binding(c.s, &b, child_op_h, &ops[next]);
			if (e == EAGAIN)
				break;
			if (e)
				_exit(13);
			if (++next >= CHILD_OPS)
				break;
		}
		sb_loop_poll(l, 10);
	}
	/* The queue is full of unacknowledged bindings being written now. */
	raise(SIGKILL);
	_exit(14);
}

static void test_kill9(void **state)
{
	struct fx *f = *state;
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		child_main(f->path, p[1]);
	}
	close(p[1]);
	static uint8_t acked[CHILD_OPS];
	memset(acked, 0, sizeof acked);
	int n = 0;
	uint32_t idx;
	ssize_t r;
	while ((r = read(p[0], &idx, sizeof idx)) == (ssize_t)sizeof idx) {
		assert_true(idx < CHILD_OPS);
		acked[idx] = 1;
		n++;
	}
	close(p[0]);
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFSIGNALED(status))
		fail_msg("child exited with %d instead of dying by SIGKILL",
			 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	assert_int_equal(WTERMSIG(status), SIGKILL);
	assert_true(n >= CHILD_ACKS);

	/* the file as the restarted server finds it */
	struct sb_store *s = open_store(f, 0, 0);
	assert_int_equal(sb_store_load(s, 1800000000, NULL, NULL, NULL), 0);
	sb_store_free(s);
	sqlite3 *db = peek_open(f);
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT cseq FROM bindings WHERE aor = ?1", -1,
					    &st, NULL), SQLITE_OK);
	int found = 0;
	for (uint32_t i = 0; i < CHILD_OPS; i++) {
		if (!acked[i])
			continue;
		char aor[64];
		snprintf(aor, sizeof aor, "sip:k%u@example.com", i);
		sqlite3_bind_text(st, 1, aor, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 0) == i)
			found++;
		else
			fail_msg("acknowledged binding %s lost", aor);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	/* at least every acknowledged one; in-flight ones may or may not be */
	assert_true(peek_int(db, "SELECT count(*) FROM bindings") >= n);
	sqlite3_close(db);
	assert_int_equal(found, n);
}

/* The database holds every HA1: owner only, whatever the umask, also its
 * -wal and -shm files; an existing file readable by others is tightened;
 * a path that is not a regular file is refused. */
static void test_file_mode(void **state)
{
	struct fx *f = *state;
	mode_t old = umask(022);
	struct sb_store *s = open_store(f, 0, 0);
	struct sb_store_user u = { .name = SB_LIT("alice"), .realm = SB_LIT("r"),
				   .ha1_md5 = SB_LIT("0123456789abcdef0123456789abcdef") };
	assert_int_equal(sb_store_put_user(s, &u, NULL, NULL), 0);
	sb_store_flush(s);
	const char *suffix[] = { "", "-wal", "-shm" };
	for (size_t i = 0; i < 3; i++) {
		char p[128];
		struct stat st;
		snprintf(p, sizeof p, "%s%s", f->path, suffix[i]);
		assert_int_equal(stat(p, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
	}
	sb_store_free(s);
	assert_int_equal(chmod(f->path, 0644), 0);
	s = open_store(f, 0, 0);
	struct stat st;
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	sb_store_free(s);
	umask(old);

	struct sb_store_cfg cfg = { .loop = f->loop, .path = f->dir };
	char err[256];
	assert_int_not_equal(sb_store_alloc(&s, &cfg, err, sizeof err), 0);
	assert_non_null(strstr(err, f->dir));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_schema_fresh, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_v1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_done_after_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_done_requeues, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid, setup, teardown),
		cmocka_unit_test(test_fwd_names),
		cmocka_unit_test_setup_teardown(test_expired_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_commits_queue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill9, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
