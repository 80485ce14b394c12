/* proxy/proxy_int.h: what the files of the proxy core share and nobody
 * else sees: the proxy, request context, branch and target structs, the
 * outcome of Route processing, and the functions one file calls in
 * another.
 *
 * One request context (struct px_req) per forwarded request: the server
 * transaction, the request's bytes, the target set and one branch per
 * target with its client transaction, Timer C and the CANCEL it may send.
 * The context is freed as soon as its work is done (px_req_settle,
 * context.c); the transactions that linger are detached, but a call's
 * client INVITE transactions, which share a struct px_call. */
#ifndef SB_PROXY_INT_H
#define SB_PROXY_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "switchboard/authn.h"
#include "switchboard/hash.h"
#include "switchboard/hmac.h"
#include "switchboard/proxy.h"
#include "switchboard/users.h"

/* Route values looked at per request; more are left untouched. */
#define PX_MAX_ROUTES 64u
/* Bytes of challenges (§16.7 step 7) collected per request. */
#define PX_MAX_AUTH 8192u
/* Scratch bytes for rewritten field values of one forwarded request. */
#define PX_SCRATCH 8192u
/* Bytes of one of our branches (SB_PROXY_BRANCH_PREFIX, hash, '.', and a
 * counter or a kind letter and a hash), NUL included. */
#define PX_BRANCH_MAX 64u
/* Hex digits of the loop-detection hash in our branch. */
#define PX_HASH_HEX 16u
/* sb_hash64 (hash.h): branch hashes and our To tags need spread, not
 * secrecy (the configured seed keeps them apart between runs). */
#define PX_HASH_SEED 14695981039346656037ull

/* One target of the set (§16.5): the URI at its exact length, in one
 * allocation with the struct; the set is a list in the order targets were
 * added. */
struct px_target {
	struct px_target *next;
	unsigned q1000;
	bool has_dest;              /* a binding's flow (RFC 5626 style) */
	struct sb_tp_dest dest;
	size_t len;
	char uri[];                 /* len bytes, < SB_LOC_MAX_CONTACT */
};

struct px_req;

/* One branch (§16.6): allocated when it starts, so that the pointer its
 * client transaction's owner holds stays put; the request as forwarded is
 * kept by that client transaction alone (sb_tsx_request, for CANCEL). */
struct px_branch {
	struct px_branch *next;     /* the context's branches, in start order */
	struct px_req *r;
	struct sb_tsx *ct;          /* NULL once ended or detached */
	struct sb_tp_dest dst;
	unsigned idx;               /* position in the list, from 0 */
	unsigned status;            /* last response: final when >= 200 */
	bool used, final, want_cancel, cancelled;
	/* a forwarding rule moved the call on (no answer): its responses no
	 * longer count and its provisionals stay here (fwd.c); while it is
	 * pending it delays nothing (px_branch_live) */
	bool superseded;
	/* Timer C cancelled it (§16.8): its 487 counts as the 408 of a branch
	 * that gave no final response, the caller asked for no CANCEL */
	bool timer_c_fired;
	struct sb_timer timer_c;    /* RFC 3261 §16.6 step 11 */
};

struct px_req {
	struct px_req *prev, *next;
	struct sb_hash_node node;   /* in by_st: an INVITE's, while st lives */
	struct sb_tsx *st_key;      /* the key; NULL when not in by_st */
	struct sb_proxy *p;
	struct sb_tsx *st;          /* NULL once ended */
	/* what is kept of the request once request_h is done (px_req_keep):
	 * all of it, or what the responses we make copy; NULL before */
	char *buf;
	size_t len;
	/* the request parsed: the transport's while request_h runs, NULL
	 * after (px_req_msg parses buf again when it is needed) */
	struct sb_sip_msg *m;
	const struct px_routing *rt; /* §16.4 for m, while request_h runs */
	enum sb_sip_method mid;
	enum sb_tp_proto proto;
	struct sb_addr src, local;
	uint32_t conn_id;
	char hash[PX_HASH_HEX + 1];
	/* ntargets of them, a list; freed (NULL) once every target has its
	 * branch and no other can come (px_req_keep) */
	struct px_target *targets;
	unsigned ntargets, next_target;
	struct px_branch *br, *br_last; /* nbr of them, a list */
	unsigned nbr;
	char *best;                 /* the best final response so far, printed */
	size_t best_len;
	unsigned best_status;       /* 0: none; with best NULL: generate it */
	bool final_sent, cancelled;
	bool no_new_branches;       /* §16.7 step 5: a 6xx came */
	char *auth;                 /* §16.7 step 7: the WWW-Authenticate and
	                               Proxy-Authenticate lines of every 401 and
	                               407, as received */
	size_t auth_len;
	unsigned auth_nbr;          /* branches that contributed to auth */
	/* RFC 3261 §22.3: the Proxy-Authorization field with our credentials,
	 * removed from what is forwarded */
	bool has_cred;
	uint16_t cred_hdr;
	bool call_counted;          /* stats: an out-of-dialog INVITE forwarded */
	bool answer_counted;        /* stats: and a 2xx relayed for it */
	/* Network call forwarding (fwd.c).  A group is the branches that ring
	 * one user's bindings (or one forwarding target): from branch grp_br
	 * on.  fwd_user names that user while its busy and no-answer rules
	 * may still apply (NULL otherwise; on the heap). */
	bool rules;                 /* the user's rules apply (an out-of-dialog INVITE) */
	bool fwd_counted;           /* stats: calls_forwarded counted */
	unsigned fwd_hops;          /* rules applied along the chain */
	unsigned grp_br;
	char *fwd_user;
	size_t fwd_user_len;
	struct sb_timer noanswer;   /* the no-answer rule of fwd_user */
};

/* What the client INVITE transactions a freed context leaves share
 * (context.c, px_req_settle): where a late 2xx goes (the request's
 * source, as while the context lived) and whether the call's answer was
 * counted.  One per call until the last of them ends (Timer M, 32 s):
 * kept small. */
struct px_call {
	struct px_call *prev, *next; /* in p->calls */
	struct sb_proxy *p;
	struct sb_addr src, local;
	uint32_t conn_id;
	uint32_t refs;               /* transactions that still own it */
	uint8_t proto;               /* enum sb_tp_proto */
	bool answered;               /* stats: calls_answered counted */
};

struct sb_proxy {
	struct sb_proxy_cfg cfg;
	char domains[SB_PROXY_MAX_DOMAINS][SB_PROXY_MAX_NAME];
	char lhost[SB_PROXY_MAX_LISTEN][SB_ADDR_STR_MAX]; /* listener hosts, IPv6 in [] */
	/* "host:port" of each listener, for Via and Record-Route; lhp_len 0
	 * when it could not be printed */
	char lhp[SB_PROXY_MAX_LISTEN][SB_ADDR_STR_MAX + 8];
	size_t lhp_len[SB_PROXY_MAX_LISTEN];
	/* the values the edits of one forwarded request point to */
	struct px_scratch {
		char mem[PX_SCRATCH];
		size_t used;
	} scratch;
	struct sb_tsx_layer *layer;
	struct sb_hash *known;
	struct sb_hash *by_st;      /* INVITE contexts by server transaction */
	struct px_req *reqs;
	size_t nreqs;
	struct px_call *calls;      /* of freed contexts, a list */
	size_t ncalls;
	uint64_t counter;
	struct sb_buf out;          /* print buffer, reused */
	/* a context's request parsed again (px_req_msg) for rmsg_owner, and
	 * a second message for one-off parses (a CANCEL's INVITE, a 401/407
	 * to merge): one each per proxy, the loop is single-threaded */
	struct sb_sip_msg *rmsg;
	const struct px_req *rmsg_owner;
	struct sb_sip_msg *tmsg;
	/* the "rejected" log line, at most SB_PROXY_REJECT_LOG_PER_SEC in
	 * each second from rej_window (loop time, ms) */
	uint64_t rej_window;
	unsigned rej_logged;        /* lines in this window */
	uint64_t rej_suppressed;    /* not logged since the last summary */
	/* REGISTERs whose answer register_h left in progress, by token */
	struct sb_hash *reg_wait;
	uint64_t reg_token;
	struct sb_proxy_stats st;   /* counters; the gauges are read when asked */
	char *realm;                /* cfg.realm, copied (or NULL) */
	struct sb_hmac *dmac;       /* keyed with cfg.dialog_key (dtoken.c) */
};

/* What §16.4 makes of a request (route.c). */

struct px_route_val {
	struct sb_slice v;
	uint16_t hdr;
};

/* The outcome of RFC 3261 §16.4 for a request. */
struct px_routing {
	struct px_route_val rv[PX_MAX_ROUTES];
	unsigned nrv;
	unsigned first_kept;        /* values before it are ours and removed */
	bool strict;                /* the last value becomes the Request-URI */
	struct sb_slice new_ruri;   /* strict: the last Route's URI */
	struct sb_nameaddr next;    /* the first kept Route, when has_next */
	bool has_next;
};

/* What to write in a forwarded request, for one target. */
struct px_fwd {
	struct sb_slice ruri;            /* absent: unchanged */
	bool record_route;
	const struct sb_proxy_listen *in;
	const struct sb_tp_rx *rx_stamp; /* stamp the top Via from this source */
	const struct sb_addr *src;
	const char *branch;
	/* RFC 3261 §22.3: delete field cred_hdr (the credentials that
	 * authenticated the request); every field of our realm goes too */
	bool del_cred;
	uint16_t cred_hdr;
};

/* proxy.c: the log, the one exit to the wire (also the transaction
 * layer's send_h), and the AORs known as users. */
void px_log(const struct sb_proxy *p, enum sb_log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int px_send(const struct sb_tp_dest *dst, const char *buf, size_t len, void *arg);
bool px_known_has(struct sb_proxy *p, const char *aor, size_t len);
void px_known_add(struct sb_proxy *p, const char *aor, size_t len);

/* self.c: who we are. */
bool px_via_is_ours(const struct sb_proxy *p, const struct sb_via *v);
bool px_uri_is_our_rr(const struct sb_proxy *p, const struct sb_uri *uri);
int px_addr_host(const struct sb_addr *a, char *buf, size_t cap);
const struct sb_proxy_listen *px_pick_listen(const struct sb_proxy *p, enum sb_tp_proto pr,
					     int fam);
const struct sb_proxy_listen *px_in_listen(const struct sb_proxy *p, enum sb_tp_proto pr,
					   const struct sb_addr *local, int fam);

/* self.c: uri's host is one of our domains, any port. */
bool px_host_in_domain(const struct sb_proxy *p, const struct sb_uri *uri);

/* dtoken.c: the dialog token of our Record-Route (";sbd=A.B", see the
 * file).  px_dtoken_make: for m forwarded with Request-URI ruri; false
 * without a dialog_key or a usable Call-ID/Request-URI.  px_dtoken_check:
 * whether the Route value route (ours) carries a token of m's Call-ID for
 * the end m is sent to (ruri). */
#define PX_DTOKEN_HALF 16u
#define PX_DTOKEN_LEN (2u * PX_DTOKEN_HALF + 1u)
bool px_dtoken_make(const struct sb_proxy *p, struct sb_sip_msg *m, struct sb_slice ruri,
		    char out[PX_DTOKEN_LEN + 1]);
bool px_dtoken_check(const struct sb_proxy *p, struct sb_sip_msg *m, const struct sb_uri *route,
		     const struct sb_uri *ruri);

/* route.c: §16.4 and the next hop.  px_route: 0 or EBADMSG (a Route
 * value that does not parse). */
int px_route(const struct sb_proxy *p, struct sb_sip_msg *m, struct px_routing *rt);
int px_route_edits(const struct px_routing *rt, const struct sb_sip_msg *m,
		   struct sb_sip_edits *ed);
int px_uri_dest(const struct sb_uri *u, struct sb_tp_dest *d);
/* Whether to reach a binding registered over flow at contact over that
 * flow. */
bool px_use_flow(const struct sb_tp_dest *flow, const struct sb_uri *contact);

/* target.c: §16.5. */
/* A new target for uri (q 1000, no flow) at the end of r's set; NULL at
 * SB_PROXY_MAX_TARGETS, for a URI of SB_LOC_MAX_CONTACT bytes or more, or
 * without memory. */
struct px_target *px_target_add(struct px_req *r, struct sb_slice uri);
/* The k-th target of r's set (k < ntargets). */
struct px_target *px_target_nth(struct px_req *r, unsigned k);
/* §16.5 for r's Request-URI, parsed as ru (NULL: it does not parse). */
void px_target_set(struct px_req *r, const struct sb_uri *ru, unsigned *fail);
unsigned px_add_contacts(struct px_req *r, struct sb_sip_msg *msg);
/* 480 or 404 for an AOR without bindings (who may learn who exists). */
unsigned px_no_binding_status(struct px_req *r, const char *aor, size_t aorl);
void px_start_targets(struct px_req *r);

/* forward.c: §16.6. */
/* RFC 3261 §22.3: whether the Proxy-Authorization value v holds
 * credentials for our realm (cfg.realm): those were for us and are removed
 * from everything forwarded. */
bool px_cred_is_ours(const struct sb_proxy *p, struct sb_slice v);
/* forward.c: h chained with field s (sb_hash64). */
uint64_t px_hash(uint64_t h, struct sb_slice s);
void px_hex64(uint64_t v, char *out);
/* v in decimal at out (room for 20 digits, no NUL); how many digits. */
size_t px_u64_dec(uint64_t v, char *out);
void px_loop_hash(const struct sb_proxy *p, struct sb_sip_msg *m, char out[PX_HASH_HEX + 1]);
/* forward.c: write SB_PROXY_BRANCH_PREFIX, the loop hash and '.' into out
 * (a PX_BRANCH_MAX buffer); returns where the branch's own part goes. */
char *px_branch_head(const char *hash, char *out);
int px_print_forward(struct sb_proxy *p, struct sb_sip_msg *m, const struct px_routing *rt,
		     const struct px_fwd *fw, const struct sb_tp_dest *dst);
int px_branch_start(struct px_req *r, struct px_target *tg, unsigned *fail);

/* context.c: §16.7, Timer C. */
void px_req_free(struct px_req *r);
/* r's request parsed: the transport's while request_h runs, else parsed
 * again from r->buf into p->rmsg (valid until the next px_req_msg of
 * another context); NULL when that fails. */
struct sb_sip_msg *px_req_msg(struct px_req *r);
/* Free r when its work is done (see context.c), its lingering
 * transactions detached, or its client INVITE transactions given the
 * call's struct px_call.  The last thing each entry point of a context
 * (a callback, a timer, request_h) does with it. */
void px_req_settle(struct px_req *r);
/* Free every struct px_call (sb_proxy_free, after the layer). */
void px_calls_free(struct sb_proxy *p);
/* The end of request_h for r: keep what r still needs of its request
 * (r->m, which goes away) in r->buf. */
void px_req_keep(struct px_req *r);
void px_st_end_h(struct sb_tsx *t, enum sb_tsx_end why, void *arg);
void px_upstream_generated(struct px_req *r, unsigned code, const char *reason);
bool px_branch_pending(const struct px_branch *b);
/* Pending and still the caller's: not superseded by a forwarding rule.
 * Only these delay the next target (sequential forking), the final
 * response and the 487 after a CANCEL. */
bool px_branch_live(const struct px_branch *b);
bool px_better(unsigned neu, unsigned old, bool invite);
void px_store_best(struct px_req *r, unsigned status, const char *buf, size_t len);
int px_print_upstream(struct sb_proxy *p, struct sb_sip_msg *msg);
void px_try_finish(struct px_req *r);
void px_branch_response(struct sb_tsx *t, unsigned status, struct sb_sip_msg *msg, void *arg);
void px_branch_end(struct sb_tsx *t, enum sb_tsx_end why, void *arg);
void px_timer_c_h(void *arg);

/* cancel.c: §16.10, §9.1. */
void px_branch_send_cancel(struct px_branch *b);
void px_branch_cancel(struct px_branch *b);
void px_cancel_others(struct px_req *r, const struct px_branch *except);
void px_handle_cancel(struct sb_proxy *p, const struct sb_tp_rx *rx);

/* target.c: the bindings of aor as targets of r; how many were added.
 * *full: some binding found no room (SB_PROXY_MAX_TARGETS, or no memory),
 * so 0 added does not mean "no bindings". */
unsigned px_add_bindings(struct px_req *r, const char *aor, size_t aorl, bool *full);

/* fwd.c: users (404 / 480) and network call forwarding.  px_user_targets:
 * the target set of a Request-URI in our domains with a user directory
 * (§16.5), with the user's rules when r->rules; *fail 0 or the status to
 * answer.  px_fwd_busy: from px_try_finish when r's final response would
 * go upstream: whether a busy rule started new targets instead. */
void px_user_targets(struct px_req *r, const struct sb_uri *ru, unsigned *fail);
bool px_fwd_busy(struct px_req *r);

/* stats.c: counting what is sent (px_send). */
void px_stats_sent(struct sb_proxy *p, const char *buf, size_t len);

/* stateless.c: the responses we make, ACK for 2xx, stray responses. */
int px_print_response(struct sb_proxy *p, const struct sb_sip_msg *req, unsigned code,
		      const char *reason, struct sb_slice extra);
void px_reply_stateless(struct sb_proxy *p, const struct sb_tp_rx *rx, unsigned code,
			const char *reason, struct sb_slice extra);
void px_ack_h(struct sb_tsx *st, const struct sb_tp_rx *rx, void *arg);
/* RFC 3261 §16.10: forward a CANCEL that has no response context
 * statelessly; how many copies went out (0: no target). */
unsigned px_cancel_stateless(struct sb_proxy *p, const struct sb_tp_rx *rx);
void px_stray_h(const struct sb_tp_rx *rx, void *arg);
/* §16.7 step 9, §18.2.2: relay the response m with our Via popped to the
 * next Via's received/rport (or sent-by): for a stray response, which
 * has no better destination. */
void px_relay_by_via(struct sb_proxy *p, struct sb_sip_msg *m);

#endif
