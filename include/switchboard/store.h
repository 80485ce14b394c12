/* store: what must outlive the process (users with their digest HA1s,
 * registrations, forwarding rules), behind an interface with an embedded
 * SQLite backend (the default) and, later, a Redis backend shared by several
 * nodes.
 *
 * The SIP loop never waits on the database.  Reads are served from memory:
 * at start, sb_store_load() (blocking, before serving) hands every user,
 * rule and unexpired binding to the caller, who fills its own tables
 * (location, users, rules).  Writes are write-behind: sb_store_put_*() and
 * sb_store_del_*() copy the record into a bounded queue and return at once; a
 * writer thread commits what is queued in groups (one transaction per batch)
 * and the done handler then runs on the loop thread, so a REGISTER can be
 * answered 200 only once its binding is durable.
 *
 * Guarantees:
 *  - operations are committed in the order they were queued, and their done
 *    handlers run in that order, on the loop thread, after the commit;
 *  - a done handler that saw err == 0 means the change is in the database
 *    file and survives a kill -9 of the process (see sqlite.c on
 *    synchronous=NORMAL vs FULL for power loss);
 *  - memory is bounded: at most max_queue operations exist at a time,
 *    counted from the call that queues one until its done handler has run.
 *
 * Not thread-safe: a store belongs to its loop's thread; only the writer
 * thread it owns runs concurrently, and it never calls back. */
#ifndef SWITCHBOARD_STORE_H
#define SWITCHBOARD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "switchboard/base.h"
#include "switchboard/loop.h"

/* ------------------------------------------------------------ bounds */

#define SB_STORE_DEFAULT_MAX_QUEUE 65536u  /* operations queued or awaiting done */
#define SB_STORE_DEFAULT_MAX_BATCH 1024u   /* operations per transaction */
#define SB_STORE_BUSY_TIMEOUT_MS   5000u   /* wait this long for another process's lock */

/* Bytes of each stored string (past them: EINVAL, nothing queued).  The
 * binding bounds equal location.h's SB_LOC_MAX_* so that whatever the
 * location accepts the store accepts. */
#define SB_STORE_MAX_NAME       128u  /* user name */
#define SB_STORE_MAX_REALM      128u
#define SB_STORE_MAX_AOR        256u
#define SB_STORE_MAX_CONTACT    512u
#define SB_STORE_MAX_CALL_ID    256u
#define SB_STORE_MAX_SOURCE     64u   /* each of proto, address, conn */
#define SB_STORE_MAX_TARGET     512u  /* forwarding target URI */
#define SB_STORE_MAX_NOANSWER_S 3600u /* no-answer forwarding delay */
#define SB_STORE_HA1_MD5_LEN    32u   /* lower-case hex of MD5 */
#define SB_STORE_HA1_SHA256_LEN 64u   /* lower-case hex of SHA-256 */

/* The schema version this build writes (sqlite.c keeps the migrations). */
#define SB_STORE_SCHEMA_VERSION 2

/* ------------------------------------------------------------ records */

/* Records are views: passed in, they are copied before the call returns;
 * handed out by sb_store_load(), they are valid while the handler runs. */

/* A user of a realm.  Passwords are never stored: only HA1 =
 * H(name ":" realm ":" password) per RFC 7616 §3.4.2, for MD5 and SHA-256
 * (RFC 8760), each empty when unknown (not both). */
struct sb_store_user {
	struct sb_slice name;
	struct sb_slice realm;
	struct sb_slice ha1_md5;     /* SB_STORE_HA1_MD5_LEN hex digits, or empty */
	struct sb_slice ha1_sha256;  /* SB_STORE_HA1_SHA256_LEN hex digits, or empty */
	int64_t created;             /* wall clock, seconds since 1970; 0 on put: now.
				      * A put over an existing user keeps its created. */
};

/* A registration.  Key: (aor, contact), the contact as the location keeps
 * it.  The source is text because a restarted server has new connections:
 * the loader decides what a stale one means. */
struct sb_store_binding {
	struct sb_slice aor;         /* canonical AOR (sb_location_aor_key) */
	struct sb_slice contact;     /* contact URI without <> */
	struct sb_slice call_id;
	uint32_t cseq;
	int64_t expires_at;          /* wall clock, seconds since 1970 */
	unsigned q1000;              /* q in thousandths, 0..1000 */
	struct sb_slice source_proto;  /* "udp", "tcp", ... (may be empty) */
	struct sb_slice source_addr;   /* "192.0.2.1:5060", "[2001:db8::1]:5060" */
	struct sb_slice source_conn;   /* the connection, as the caller spells it */
};

/* Network call forwarding (the Cisco 7960 appendix).  Key: (user, kind). */
enum sb_store_fwd {
	SB_STORE_FWD_ALWAYS = 1,     /* unconditional */
	SB_STORE_FWD_BUSY,           /* on 486 or 600 */
	SB_STORE_FWD_NOANSWER,       /* after noanswer_s seconds of ringing */
	SB_STORE_FWD_UNAVAILABLE,    /* no binding */
	SB_STORE_FWD_DND,            /* do not disturb: target empty */
};

struct sb_store_rule {
	struct sb_slice user;
	enum sb_store_fwd kind;
	struct sb_slice target;      /* a URI; empty for DND */
	uint32_t noanswer_s;         /* NOANSWER only: 1..SB_STORE_MAX_NOANSWER_S */
};

/* "always", "busy", "noanswer", "unavailable", "dnd"; NULL if out of range. */
const char *sb_store_fwd_name(enum sb_store_fwd k);
/* The inverse (case-insensitive).  0 or EINVAL. */
int sb_store_fwd_parse(struct sb_slice s, enum sb_store_fwd *k);

/* ------------------------------------------------------------ backends */

/* The operation a writer hands its backend.  The record's slices point into
 * the operation's own copy. */
enum sb_store_op_kind {
	SB_STORE_OP_PUT_USER = 1,    /* upsert u.user */
	SB_STORE_OP_DEL_USER,        /* key: u.user.name, u.user.realm */
	SB_STORE_OP_PUT_BINDING,     /* upsert u.binding */
	SB_STORE_OP_DEL_BINDING,     /* key: u.binding.aor, u.binding.contact */
	SB_STORE_OP_DEL_AOR,         /* every binding of u.binding.aor */
	SB_STORE_OP_PUT_RULE,        /* upsert u.rule */
	SB_STORE_OP_DEL_RULE,        /* key: u.rule.user, u.rule.kind */
};

typedef void (sb_store_done_h)(int err, void *arg);

struct sb_store_op {
	enum sb_store_op_kind kind;
	union {
		struct sb_store_user user;
		struct sb_store_binding binding;
		struct sb_store_rule rule;
	} u;
	int err;                     /* set by the backend's commit */
	/* the store's own */
	struct sb_store_op *next;
	sb_store_done_h *done;
	void *arg;
	char data[];
};

/* Handlers for sb_store_load(): a non-zero return stops the load and is
 * returned by it. */
typedef int (sb_store_user_h)(const struct sb_store_user *u, void *arg);
typedef int (sb_store_rule_h)(const struct sb_store_rule *r, void *arg);
typedef int (sb_store_binding_h)(const struct sb_store_binding *b, void *arg);

struct sb_store_loader {
	sb_store_user_h *user;       /* each NULL: that table is skipped */
	sb_store_rule_h *rule;
	sb_store_binding_h *binding;
};

/* What a load found. */
struct sb_store_load_counts {
	uint64_t users;
	uint64_t rules;
	uint64_t bindings;
	uint64_t expired;            /* bindings dropped from the database */
};

struct sb_store_cfg;

/* A backend.  The store calls open, load and close on the loop thread and
 * commit on its writer thread, never two at once, so a backend needs no
 * locking of its own. */
struct sb_store_backend {
	const char *name;
	/* Open (create, migrate) the database.  0 or an errno, with a reason
	 * in err (NUL-terminated, at most errcap bytes). */
	int (*open)(void **bep, const struct sb_store_cfg *cfg, char *err, size_t errcap);
	/* Apply ops[0..n) in order as ONE transaction and set each op->err:
	 * 0 when the transaction committed it; an errno for an operation the
	 * database refused alone (the others still commit); the same errno
	 * for every operation when the transaction as a whole failed, which
	 * is then also returned. */
	int (*commit)(void *be, struct sb_store_op *const *ops, size_t n);
	/* Delete bindings with expires_at <= now, then hand every user, rule
	 * and binding to ld's handlers.  0, an errno, or a handler's return. */
	int (*load)(void *be, int64_t now, const struct sb_store_loader *ld, void *arg,
		    struct sb_store_load_counts *counts);
	void (*close)(void *be);
};

/* The embedded SQLite backend (sqlite.c): cfg->path is its file. */
extern const struct sb_store_backend sb_store_backend_sqlite;

/* ------------------------------------------------------------ the store */

struct sb_store;

struct sb_store_cfg {
	struct sb_loop *loop;        /* required: done handlers run on it */
	const struct sb_store_backend *backend; /* NULL: sb_store_backend_sqlite */
	const char *path;            /* SQLite: the database file (created if absent) */
	/* SQLite: synchronous=FULL, an fsync of the WAL at every commit, so
	 * that acknowledged writes survive power loss too; false (the
	 * default): NORMAL, which survives a kill -9 of the process. */
	bool sync_full;
	uint32_t max_queue;          /* 0: SB_STORE_DEFAULT_MAX_QUEUE */
	uint32_t max_batch;          /* 0: SB_STORE_DEFAULT_MAX_BATCH */
	void *backend_arg;           /* for a backend's own settings */
};

/* Open the backend and start the writer thread (with every signal blocked,
 * so a signalfd on the loop thread keeps receiving them).  0, EINVAL,
 * ENOMEM, ENOTSUP (the file's schema is newer than SB_STORE_SCHEMA_VERSION),
 * EBADMSG (not a Switchboard database, or corrupt), EIO, or another errno,
 * with the reason in err (may be NULL). */
int sb_store_alloc(struct sb_store **sp, const struct sb_store_cfg *cfg, char *err,
		   size_t errcap);

/* Commit everything queued, stop the writer thread, close the database.
 * Done handlers not yet run are NOT called (their owners may be gone at
 * shutdown): call sb_store_flush() first to run them.  Blocks.  Not from a
 * done handler; before the loop is freed.  NULL is a no-op.  Do not fork()
 * while a store is open (its thread and lock would not come along). */
void sb_store_free(struct sb_store *s);

/* Wait until everything queued is committed, then run the pending done
 * handlers.  Blocks: for shutdown and tests, not for the SIP path.
 * Not from a done handler. */
void sb_store_flush(struct sb_store *s);

/* Wait until everything queued is committed, then, with the writer idle,
 * delete bindings that expired by now (wall clock seconds) and call ld's
 * handlers for every user, rule and binding left.  Blocks: call at start
 * on the loop thread before serving.  counts may be NULL.  0, an errno,
 * or the first non-zero return of a handler. */
int sb_store_load(struct sb_store *s, int64_t now, const struct sb_store_loader *ld,
		  void *arg, struct sb_store_load_counts *counts);

/* Queue a change.  done (may be NULL) runs later on the loop thread with 0
 * once it is committed, or with the errno why not; arg must stay valid until
 * then (or until sb_store_free).  Never calls done from inside the call.
 * 0; EINVAL (a field out of its bound, a bad HA1, an unknown kind); EAGAIN
 * (max_queue operations exist: answer 503 and retry later); ESHUTDOWN (the
 * writer has stopped); ENOMEM. */
int sb_store_put_user(struct sb_store *s, const struct sb_store_user *u,
		      sb_store_done_h *done, void *arg);
int sb_store_del_user(struct sb_store *s, struct sb_slice name, struct sb_slice realm,
		      sb_store_done_h *done, void *arg);
int sb_store_put_binding(struct sb_store *s, const struct sb_store_binding *b,
			 sb_store_done_h *done, void *arg);
int sb_store_del_binding(struct sb_store *s, struct sb_slice aor, struct sb_slice contact,
			 sb_store_done_h *done, void *arg);
/* Every binding of aor (REGISTER with Contact: *). */
int sb_store_del_aor(struct sb_store *s, struct sb_slice aor, sb_store_done_h *done,
		     void *arg);
int sb_store_put_rule(struct sb_store *s, const struct sb_store_rule *r,
		      sb_store_done_h *done, void *arg);
int sb_store_del_rule(struct sb_store *s, struct sb_slice user, enum sb_store_fwd kind,
		      sb_store_done_h *done, void *arg);

struct sb_store_stats {
	uint64_t batches;            /* commit calls (transactions) so far */
	uint64_t committed;          /* operations committed */
	uint64_t failed;             /* operations reported with an error */
	uint32_t outstanding;        /* operations queued or awaiting done */
};
void sb_store_get_stats(struct sb_store *s, struct sb_store_stats *st);

#endif
