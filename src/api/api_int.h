/* api_int: what the files of the admin API share (private to src/api/):
 * the API object, one request's state, and the helpers the resource
 * handlers (routes.c) answer with.  api.c owns the HTTP server and the
 * request lifecycle; json.c reads request bodies and writes answers;
 * routes.c maps paths to handlers and implements the resources. */
#ifndef SB_API_INT_H
#define SB_API_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <microhttpd.h>

#include "switchboard/api.h"

/* Domains the API knows users' AORs under (as many as the proxy has). */
#define API_MAX_DOMAINS SB_PROXY_MAX_DOMAINS
/* Bytes of an error sentence. */
#define API_MAX_ERROR 512u
/* Segments of a path we serve (/api/v1/users/NAME/forward/KIND: 6). */
#define API_MAX_SEGS 8u
/* Bytes of a method in a log line (longer ones end in "..."). */
#define API_LOG_METHOD 16u

enum api_method {
	API_OTHER = 0,
	API_GET = 1u << 0,
	API_POST = 1u << 1,
	API_PUT = 1u << 2,
	API_DELETE = 1u << 3,
};

struct api_req;
struct api_conn;

struct sb_api {
	struct sb_loop *loop;
	struct sb_users *users;
	struct sb_location *location;
	struct sb_store *store;
	struct sb_proxy *proxy;
	struct sb_authn *authn;
	sb_log_h *log_h;
	void *log_arg;
	char *realm;
	char *domains[API_MAX_DOMAINS];
	unsigned ndomains;
	unsigned char token_hash[32];    /* SHA-256 of the token */

	struct MHD_Daemon *d;
	int epfd;                        /* MHD's epoll descriptor, in our loop */
	struct sb_addr bound;            /* where we listen (the port read back) */
	struct sb_timer timer;           /* MHD_get_timeout */
	struct sb_timer guard;           /* the next SB_API_AUTH_DEADLINE_S of a connection */
	sb_msec_t started;               /* loop clock at start, for uptime */
	struct api_req *reqs;            /* every live request */
	struct api_conn *conns;          /* every open connection, oldest last */
	unsigned nconns;
	uint32_t ops_out;                /* store operations awaiting done */
	bool closing;                    /* sb_api_free() is draining */
};

/* One TCP connection, from accept to close (MHD_OPTION_NOTIFY_CONNECTION). */
struct api_conn {
	struct MHD_Connection *conn;
	struct api_conn *next, **pprev;  /* in api->conns */
	sb_msec_t accepted;              /* loop clock */
	bool trusted;                    /* a request with our token came on it */
	bool shut;                       /* we shut its socket down */
};

/* A binding a change removes, as it was when the request came: removed
 * from memory once the store has committed, only if it is still that
 * binding (a REGISTER queued after us refreshed or replaced it in both). */
struct api_snap {
	char *aor;                       /* canonical AOR, NUL-terminated */
	char *contact;
	char *call_id;
	size_t contact_len, call_id_len;
	uint32_t cseq;
};

/* Makes a committed change in memory and sets the answer (routes.c). */
typedef void (api_apply_h)(struct api_req *r);

/* One HTTP request, from its first header line to the connection's
 * completion notice. */
struct api_req {
	struct sb_api *api;
	struct MHD_Connection *conn;
	struct api_req *next, **pprev;   /* in api->reqs */
	enum api_method method;
	char method_s[API_LOG_METHOD];   /* sanitised, for logs and errors */
	char *path;                      /* raw (still %-escaped), for logs and routing */
	char *body;                      /* request body, at most SB_API_MAX_BODY */
	size_t body_len, body_cap;
	size_t dropped;                  /* body bytes dropped after an early answer */
	bool too_large;                  /* the body passed SB_API_MAX_BODY */
	bool queued;                     /* a response went to MHD */
	bool suspended;
	/* the answer, once known */
	bool ready;
	unsigned status;
	char *resp;                      /* malloc'd body, or NULL (204) */
	size_t resp_len;
	const char *allow;               /* 405: the Allow header */
	bool close;                      /* answer with Connection: close */
	/* store operations this request waits for */
	unsigned ops_out;                /* queued, done handler not run yet */
	unsigned ops_queued;             /* queued in all */
	unsigned ops_ok;                 /* committed */
	int op_err;                      /* first error: of queueing or of a commit */
	bool queue_failed;               /* an operation could not be queued */
	int alloc_err;                   /* ENOMEM while reading the body */
	/* the change, made in memory by apply once every operation committed */
	api_apply_h *apply;
	bool locked;                     /* name is being changed: other writes wait */
	char name[SB_USERS_MAX_NAME + 1];
	size_t name_len;
	char ha1[SB_DIGEST_ALG_COUNT][SB_DIGEST_HEX_CAP];
	int64_t created;
	enum sb_store_fwd kind;
	char *target;                    /* malloc'd */
	uint32_t after;
	bool existed;                    /* DELETE of a user: memory had it */
	struct api_snap *snap;           /* bindings it removes */
	size_t nsnap;
};

/* ------------------------------------------------------------ api.c */

void api_log(struct sb_api *a, enum sb_log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Account for a store operation: err is what the sb_store_*() call that
 * queued it (with api_store_done and r) returned.  Returns err. */
int api_op(struct api_req *r, int err);
/* The done handler of every store operation a request queues. */
void api_store_done(int err, void *arg);
/* The request's operations are queued (or none was needed): once every
 * one has committed, r->apply makes the change in memory and sets the
 * answer; if any failed, memory is left as it is and the answer says
 * what the store may hold.  At once when nothing is outstanding, else the
 * connection is suspended until the last done handler. */
void api_wait(struct api_req *r);

/* ------------------------------------------------------------ json.c */

/* Set r's answer: status with body (taken; NULL for no body). */
void api_answer(struct api_req *r, unsigned status, json_t *body);
/* Set r's answer: status with {"error": a sentence}. */
void api_error(struct api_req *r, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The errno of a failed store or directory call as an answer: EAGAIN 503,
 * ENOSPC 503, the rest 500, with what names the action. */
void api_error_errno(struct api_req *r, int err, const char *what);

/* r's body as a JSON object whose members are all among allowed
 * (NULL-terminated); NULL after answering 400. */
json_t *api_body_object(struct api_req *r, const char *const *allowed);
/* A string member: 0 with *out (valid while o lives; absent: p NULL);
 * -1 after answering 400 (not a string, or missing when required). */
int api_get_string(struct api_req *r, json_t *o, const char *key, bool required,
		   struct sb_slice *out);
/* An integer member in lo..hi: 0 with *out (*present false when absent);
 * -1 after answering 400. */
int api_get_uint(struct api_req *r, json_t *o, const char *key, uint32_t lo, uint32_t hi,
		 uint32_t *out, bool *present);

/* A JSON string of the slice's bytes (invalid UTF-8 becomes U+FFFD). */
json_t *api_json_slice(struct sb_slice s);
/* "2024-05-01T12:00:00Z" for wall clock seconds. */
json_t *api_json_time(int64_t t);

/* ------------------------------------------------------------ routes.c */

/* Answer r (or start the store operations it waits for). */
void api_route(struct api_req *r);
/* Free what r's change holds (its target, its snapshot). */
void api_change_free(struct api_req *r);

#endif
