/* store/sqlite: the embedded SQLite backend of store.h: one database file in
 * WAL mode, a versioned schema upgraded in place by an array of migration
 * steps, and prepared statements for every write.
 *
 * Durability.  In WAL mode a commit appends the transaction's pages to the
 * -wal file with write(); with synchronous=NORMAL it does not fsync.  Once
 * write() has returned the bytes belong to the kernel's page cache, not to
 * the process, so a kill -9 (or a crash, or abort) of the server loses no
 * committed transaction: the next open replays the WAL.  What NORMAL leaves
 * to chance is power loss or a kernel crash, which can roll back the last
 * transactions since the last fsync (the WAL is fsynced at checkpoints) but
 * never corrupts the file.  The issue asks for "survives kill -9", so NORMAL
 * is the default; cfg->sync_full selects FULL (an fsync of the WAL per
 * commit), which group commit makes affordable: one fsync per batch, not
 * per REGISTER.
 *
 * Schema history (migrations[i] takes version i to i + 1; all steps needed
 * run in one transaction, so an upgrade is all or nothing):
 *   1: users with an MD5 HA1; bindings with their source as one text,
 *      "proto/address".
 *   2: SHA-256 HA1 (RFC 8760); the binding's source split into proto,
 *      address and connection; an index for dropping expired bindings;
 *      forwarding rules.
 * A file whose version is newer than this build's is refused (ENOTSUP):
 * an old binary must not write into a schema it does not know. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "switchboard/store.h"

static const char *const migrations[] = {
	/* 0 -> 1 */
	"CREATE TABLE users("
	" name TEXT NOT NULL,"
	" realm TEXT NOT NULL,"
	" ha1_md5 TEXT NOT NULL,"
	" created INTEGER NOT NULL,"
	" PRIMARY KEY (name, realm));"
	"CREATE TABLE bindings("
	" aor TEXT NOT NULL,"
	" contact TEXT NOT NULL,"
	" call_id TEXT NOT NULL,"
	" cseq INTEGER NOT NULL,"
	" expires_at INTEGER NOT NULL,"
	" q1000 INTEGER NOT NULL,"
	" source TEXT NOT NULL,"
	" PRIMARY KEY (aor, contact));",
	/* 1 -> 2 */
	"ALTER TABLE users ADD COLUMN ha1_sha256 TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE bindings ADD COLUMN source_proto TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE bindings ADD COLUMN source_addr TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE bindings ADD COLUMN source_conn TEXT NOT NULL DEFAULT '';"
	"UPDATE bindings SET"
	" source_proto = CASE WHEN instr(source, '/') > 0"
	"  THEN substr(source, 1, instr(source, '/') - 1) ELSE '' END,"
	" source_addr = CASE WHEN instr(source, '/') > 0"
	"  THEN substr(source, instr(source, '/') + 1) ELSE source END;"
	"ALTER TABLE bindings DROP COLUMN source;"
	"CREATE INDEX bindings_expiry ON bindings(expires_at);"
	"CREATE TABLE rules("
	" user TEXT NOT NULL,"
	" kind TEXT NOT NULL"
	"  CHECK (kind IN ('always', 'busy', 'noanswer', 'unavailable', 'dnd')),"
	" target TEXT NOT NULL,"
	" noanswer_s INTEGER NOT NULL DEFAULT 0,"
	" PRIMARY KEY (user, kind));",
};

_Static_assert(SB_ARRAY_LEN(migrations) == SB_STORE_SCHEMA_VERSION,
	       "one migration step per schema version");

enum stmt {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_PUT_USER,
	ST_DEL_USER,
	ST_PUT_BINDING,
	ST_DEL_BINDING,
	ST_DEL_AOR,
	ST_PUT_RULE,
	ST_DEL_RULE,
	ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
	/* IMMEDIATE: take the write lock at once, so that a busy database
	 * shows at BEGIN (where busy_timeout waits) and not halfway. */
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	/* A put over an existing user keeps its created time. */
	[ST_PUT_USER] = "INSERT INTO users (name, realm, ha1_md5, ha1_sha256, created)"
			" VALUES (?1, ?2, ?3, ?4, ?5)"
			" ON CONFLICT (name, realm) DO UPDATE SET"
			" ha1_md5 = excluded.ha1_md5, ha1_sha256 = excluded.ha1_sha256",
	[ST_DEL_USER] = "DELETE FROM users WHERE name = ?1 AND realm = ?2",
	[ST_PUT_BINDING] = "INSERT INTO bindings (aor, contact, call_id, cseq, expires_at,"
			   " q1000, source_proto, source_addr, source_conn)"
			   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
			   " ON CONFLICT (aor, contact) DO UPDATE SET"
			   " call_id = excluded.call_id, cseq = excluded.cseq,"
			   " expires_at = excluded.expires_at, q1000 = excluded.q1000,"
			   " source_proto = excluded.source_proto,"
			   " source_addr = excluded.source_addr,"
			   " source_conn = excluded.source_conn",
	[ST_DEL_BINDING] = "DELETE FROM bindings WHERE aor = ?1 AND contact = ?2",
	[ST_DEL_AOR] = "DELETE FROM bindings WHERE aor = ?1",
	[ST_PUT_RULE] = "INSERT INTO rules (user, kind, target, noanswer_s)"
			" VALUES (?1, ?2, ?3, ?4)"
			" ON CONFLICT (user, kind) DO UPDATE SET"
			" target = excluded.target, noanswer_s = excluded.noanswer_s",
	[ST_DEL_RULE] = "DELETE FROM rules WHERE user = ?1 AND kind = ?2",
};

struct sq {
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT];
};

/* An errno for an SQLite result code. */
static int map_rc(sqlite3 *db, int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_NOMEM:
		return ENOMEM;
	case SQLITE_FULL:
		return ENOSPC;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return EBUSY;
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return EACCES;
	case SQLITE_CANTOPEN: {
		int e = db ? sqlite3_system_errno(db) : 0;
		return e ? e : ENOENT;
	}
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return EBADMSG;
	case SQLITE_CONSTRAINT:
	case SQLITE_TOOBIG:
	case SQLITE_MISMATCH:
	case SQLITE_RANGE:
		return EINVAL;
	default:
		return EIO;
	}
}

/* Whether rc refuses one statement only (the transaction goes on). */
static bool rc_is_per_op(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_CONSTRAINT:
	case SQLITE_TOOBIG:
	case SQLITE_MISMATCH:
	case SQLITE_RANGE:
		return true;
	default:
		return false;
	}
}

static void sq_close(void *bep)
{
	struct sq *q = bep;
	if (!q)
		return;
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(q->st[i]);
	sqlite3_close(q->db);
	free(q);
}

/* ------------------------------------------------------------ open */

/* Run sql (one statement) and return its single integer result in *out
 * (0 when there is no row). */
static int query_int(sqlite3 *db, const char *sql, int64_t *out)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	*out = 0;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

/* Bring the schema to SB_STORE_SCHEMA_VERSION in one transaction. */
static int migrate(sqlite3 *db, const char *path, char *err, size_t errcap)
{
	int64_t has_version = 0, tables = 0, version = 0;
	int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		goto sqlerr;
	rc = query_int(db, "SELECT count(*) FROM sqlite_schema WHERE type = 'table'"
			   " AND name = 'schema_version'", &has_version);
	if (rc != SQLITE_OK)
		goto sqlerr;
	if (!has_version) {
		rc = query_int(db, "SELECT count(*) FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'",
			       &tables);
		if (rc != SQLITE_OK)
			goto sqlerr;
		if (tables) {
			snprintf(err, errcap, "store: %s is an SQLite database but not Switchboard's"
				 " (no schema_version table)", path);
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			return EBADMSG;
		}
		rc = sqlite3_exec(db, "CREATE TABLE schema_version (version INTEGER NOT NULL);"
				      "INSERT INTO schema_version (version) VALUES (0)",
				  NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			goto sqlerr;
	}
	rc = query_int(db, "SELECT max(version) FROM schema_version", &version);
	if (rc != SQLITE_OK)
		goto sqlerr;
	if (version > SB_STORE_SCHEMA_VERSION || version < 0) {
		snprintf(err, errcap, "store: %s has schema version %lld, newer than this build"
			 " supports (%d): upgrade Switchboard or use another file",
			 path, (long long)version, SB_STORE_SCHEMA_VERSION);
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return ENOTSUP;
	}
	for (int64_t v = version; v < SB_STORE_SCHEMA_VERSION; v++) {
		rc = sqlite3_exec(db, migrations[v], NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			snprintf(err, errcap, "store: %s: migration to schema version %lld failed: %s",
				 path, (long long)v + 1, sqlite3_errmsg(db));
			int e = map_rc(db, rc);
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			return e;
		}
	}
	if (version != SB_STORE_SCHEMA_VERSION) {
		char sql[64];
		snprintf(sql, sizeof sql, "UPDATE schema_version SET version = %d",
			 SB_STORE_SCHEMA_VERSION);
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			goto sqlerr;
	}
	rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		goto sqlerr;
	return 0;
sqlerr:
	snprintf(err, errcap, "store: %s: %s", path, sqlite3_errmsg(db));
	int e = map_rc(db, rc);
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return e;
}

static int sq_open(void **bep, const struct sb_store_cfg *cfg, char *errp, size_t errcap)
{
	char dummy[1];
	char *err = errp && errcap ? errp : dummy;
	if (!errp || !errcap)
		errcap = sizeof dummy;
	if (!cfg->path || !cfg->path[0]) {
		snprintf(err, errcap, "store: no database path");
		return EINVAL;
	}
	struct sq *q = calloc(1, sizeof *q);
	if (!q) {
		snprintf(err, errcap, "store: out of memory");
		return ENOMEM;
	}
	int e;
	const char *what = "open";
	/* The file holds every user's HA1, as good as a password for digest
	 * (RFC 7616 §5.1): owner only.  Created (or tightened) here before
	 * SQLite opens it; SQLite gives the -wal and -shm files its mode. */
	int fd = open(cfg->path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	struct stat fst;
	e = 0;
	if (fd < 0 || fstat(fd, &fst) != 0)
		e = errno ? errno : EIO;
	else if (!S_ISREG(fst.st_mode))
		e = EINVAL;
	else if ((fst.st_mode & 077) && fchmod(fd, fst.st_mode & 0700) != 0)
		e = errno ? errno : EIO;
	if (fd >= 0)
		close(fd);
	if (e) {
		snprintf(err, errcap, "store: %s: %s", cfg->path,
			 e == EINVAL ? "not a regular file" : strerror(e));
		free(q);
		return e;
	}
	int rc = sqlite3_open_v2(cfg->path, &q->db,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
				 NULL);
	if (rc != SQLITE_OK)
		goto sqlerr;
	sqlite3_busy_timeout(q->db, (int)SB_STORE_BUSY_TIMEOUT_MS);

	/* WAL: readers (a second process, sbctl, a test) never block the
	 * writer, and a commit is one append to the log. */
	what = "journal_mode=WAL";
	sqlite3_stmt *st = NULL;
	rc = sqlite3_prepare_v2(q->db, "PRAGMA journal_mode=WAL", -1, &st, NULL);
	if (rc != SQLITE_OK)
		goto sqlerr;
	rc = sqlite3_step(st);
	bool wal = rc == SQLITE_ROW && sqlite3_column_text(st, 0) &&
		   strcmp((const char *)sqlite3_column_text(st, 0), "wal") == 0;
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		goto sqlerr;
	if (!wal) {
		snprintf(err, errcap, "store: %s: cannot use WAL mode on this file system",
			 cfg->path);
		e = EIO;
		goto fail;
	}
	what = "synchronous";
	rc = sqlite3_exec(q->db, cfg->sync_full ? "PRAGMA synchronous=FULL"
						: "PRAGMA synchronous=NORMAL",
			  NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		goto sqlerr;

	e = migrate(q->db, cfg->path, err, errcap);
	if (e)
		goto fail;

	what = "prepare";
	for (int i = 0; i < ST_COUNT; i++) {
		rc = sqlite3_prepare_v3(q->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
					&q->st[i], NULL);
		if (rc != SQLITE_OK)
			goto sqlerr;
	}
	*bep = q;
	return 0;
sqlerr:
	e = map_rc(q->db, rc);
	snprintf(err, errcap, "store: %s: %s: %s", cfg->path, what,
		 q->db ? sqlite3_errmsg(q->db) : sqlite3_errstr(rc));
fail:
	sq_close(q);
	return e;
}

/* ------------------------------------------------------------ commit */

static void bind_s(sqlite3_stmt *st, int i, struct sb_slice v)
{
	/* strings are bounded far below INT_MAX by store.h */
	sqlite3_bind_text(st, i, v.l ? v.p : "", (int)v.l, SQLITE_STATIC);
}

static int run(struct sq *q, enum stmt i)
{
	int rc = sqlite3_step(q->st[i]);
	sqlite3_reset(q->st[i]);
	sqlite3_clear_bindings(q->st[i]);
	return rc;
}

/* One value for a statement parameter: a string, or with num an integer;
 * with end, the last of a list (and no value). */
struct bindv {
	bool end;
	bool num;
	struct sb_slice s;
	int64_t n;
};

#define BS(v) {.s = (v)}
#define BN(v) {.num = true, .n = (int64_t)(v)}

/* Bind v[0..end) to parameters 1, 2, ... of statement i and run() it. */
static int run_with(struct sq *q, enum stmt i, const struct bindv *v)
{
	sqlite3_stmt *st = q->st[i];
	for (int k = 0; !v[k].end; k++) {
		if (v[k].num)
			sqlite3_bind_int64(st, k + 1, v[k].n);
		else
			bind_s(st, k + 1, v[k].s);
	}
	return run(q, i);
}

/* run_with() over the listed values (BS() and BN()). */
#define RUN(q, i, ...) run_with((q), (i), (const struct bindv[]){__VA_ARGS__, {.end = true}})

/* One operation; returns an SQLite result code (SQLITE_DONE on success). */
static int apply(struct sq *q, const struct sb_store_op *o)
{
	const struct sb_store_user *u = &o->u.user;
	const struct sb_store_binding *b = &o->u.binding;
	const struct sb_store_rule *r = &o->u.rule;
	switch (o->kind) {
	case SB_STORE_OP_PUT_USER:
		return RUN(q, ST_PUT_USER, BS(u->name), BS(u->realm), BS(u->ha1_md5),
			   BS(u->ha1_sha256), BN(u->created));
	case SB_STORE_OP_DEL_USER:
		return RUN(q, ST_DEL_USER, BS(u->name), BS(u->realm));
	case SB_STORE_OP_PUT_BINDING:
		return RUN(q, ST_PUT_BINDING, BS(b->aor), BS(b->contact), BS(b->call_id),
			   BN(b->cseq), BN(b->expires_at), BN(b->q1000), BS(b->source_proto),
			   BS(b->source_addr), BS(b->source_conn));
	case SB_STORE_OP_DEL_BINDING:
		return RUN(q, ST_DEL_BINDING, BS(b->aor), BS(b->contact));
	case SB_STORE_OP_DEL_AOR:
		return RUN(q, ST_DEL_AOR, BS(b->aor));
	case SB_STORE_OP_PUT_RULE:
		return RUN(q, ST_PUT_RULE, BS(r->user),
			   BS(sb_slice_cstr(sb_store_fwd_name(r->kind))), BS(r->target),
			   BN(r->noanswer_s));
	case SB_STORE_OP_DEL_RULE:
		return RUN(q, ST_DEL_RULE, BS(r->user),
			   BS(sb_slice_cstr(sb_store_fwd_name(r->kind))));
	}
	return SQLITE_MISUSE;
}

static int sq_commit(void *bep, struct sb_store_op *const *ops, size_t n)
{
	struct sq *q = bep;
	int rc = run(q, ST_BEGIN);
	if (rc != SQLITE_DONE)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		rc = apply(q, ops[i]);
		if (rc == SQLITE_DONE) {
			ops[i]->err = 0;
		} else if (rc_is_per_op(rc)) {
			/* SQLite undid this statement only; the rest commits. */
			ops[i]->err = map_rc(q->db, rc);
		} else {
			goto fail;
		}
	}
	rc = run(q, ST_COMMIT);
	if (rc != SQLITE_DONE)
		goto fail;
	return 0;
fail:;
	int e = map_rc(q->db, rc);
	if (!e)
		e = EIO;
	if (!sqlite3_get_autocommit(q->db))
		run(q, ST_ROLLBACK);
	for (size_t i = 0; i < n; i++)
		ops[i]->err = e;
	return e;
}

/* ------------------------------------------------------------ load */

static struct sb_slice col_s(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	int l = sqlite3_column_bytes(st, i);
	if (!t)
		return sb_slice_from("", 0);
	return sb_slice_from((const char *)t, (size_t)l);
}

static uint32_t col_u32(sqlite3_stmt *st, int i)
{
	int64_t v = sqlite3_column_int64(st, i);
	return v < 0 ? 0 : v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/* Step through sql calling row() on each row.  Returns 0, an errno, or the
 * handler's first non-zero return. */
static int each_row(struct sq *q, const char *sql,
		    int (*row)(sqlite3_stmt *st, const struct sb_store_loader *ld, void *arg),
		    const struct sb_store_loader *ld, void *arg, uint64_t *count)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(q->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return map_rc(q->db, rc);
	int ret = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		ret = row(st, ld, arg);
		if (ret)
			break;
		(*count)++;
	}
	if (!ret && rc != SQLITE_DONE)
		ret = map_rc(q->db, rc);
	sqlite3_finalize(st);
	return ret;
}

static int user_row(sqlite3_stmt *st, const struct sb_store_loader *ld, void *arg)
{
	struct sb_store_user u = {
		.name = col_s(st, 0),
		.realm = col_s(st, 1),
		.ha1_md5 = col_s(st, 2),
		.ha1_sha256 = col_s(st, 3),
		.created = sqlite3_column_int64(st, 4),
	};
	return ld->user(&u, arg);
}

static int rule_row(sqlite3_stmt *st, const struct sb_store_loader *ld, void *arg)
{
	struct sb_store_rule r = {
		.user = col_s(st, 0),
		.target = col_s(st, 2),
		.noanswer_s = col_u32(st, 3),
	};
	if (sb_store_fwd_parse(col_s(st, 1), &r.kind))
		return EBADMSG; /* the CHECK constraint makes this a corrupt file */
	return ld->rule(&r, arg);
}

static int binding_row(sqlite3_stmt *st, const struct sb_store_loader *ld, void *arg)
{
	int64_t q = sqlite3_column_int64(st, 5);
	struct sb_store_binding b = {
		.aor = col_s(st, 0),
		.contact = col_s(st, 1),
		.call_id = col_s(st, 2),
		.cseq = col_u32(st, 3),
		.expires_at = sqlite3_column_int64(st, 4),
		.q1000 = q < 0 ? 0 : q > 1000 ? 1000 : (unsigned)q,
		.source_proto = col_s(st, 6),
		.source_addr = col_s(st, 7),
		.source_conn = col_s(st, 8),
	};
	return ld->binding(&b, arg);
}

static int sq_load(void *bep, int64_t now, const struct sb_store_loader *ld, void *arg,
		   struct sb_store_load_counts *counts)
{
	struct sq *q = bep;
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(q->db, "DELETE FROM bindings WHERE expires_at <= ?1", -1,
				    &st, NULL);
	if (rc != SQLITE_OK)
		return map_rc(q->db, rc);
	sqlite3_bind_int64(st, 1, now);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return map_rc(q->db, rc);
	counts->expired = (uint64_t)sqlite3_changes64(q->db);

	/* One read transaction: the three tables as of one moment. */
	rc = sqlite3_exec(q->db, "BEGIN", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return map_rc(q->db, rc);
	int ret = 0;
	if (ld->user)
		ret = each_row(q, "SELECT name, realm, ha1_md5, ha1_sha256, created FROM users"
				  " ORDER BY name, realm",
			       user_row, ld, arg, &counts->users);
	if (!ret && ld->rule)
		ret = each_row(q, "SELECT user, kind, target, noanswer_s FROM rules"
				  " ORDER BY user, kind",
			       rule_row, ld, arg, &counts->rules);
	if (!ret && ld->binding)
		ret = each_row(q, "SELECT aor, contact, call_id, cseq, expires_at, q1000,"
				  " source_proto, source_addr, source_conn FROM bindings"
				  " ORDER BY aor, contact",
			       binding_row, ld, arg, &counts->bindings);
	sqlite3_exec(q->db, "COMMIT", NULL, NULL, NULL);
	return ret;
}

const struct sb_store_backend sb_store_backend_sqlite = {
	.name = "sqlite",
	.open = sq_open,
	.commit = sq_commit,
	.load = sq_load,
	.close = sq_close,
};
