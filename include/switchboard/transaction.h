/* transaction: the RFC 3261 §17 transaction layer, with the RFC 6026
 * Accepted states.  It sits between the transport (below) and a transaction
 * user, the proxy core or a UA (above).
 *
 * Four state machines:
 *   client INVITE      Calling, Proceeding, Completed, Accepted, Terminated
 *   client non-INVITE  Trying, Proceeding, Completed, Terminated
 *   server INVITE      Proceeding, Completed, Confirmed, Accepted, Terminated
 *   server non-INVITE  Trying, Proceeding, Completed, Terminated
 * with timers A..M at the values of RFC 3261 Table 4 / RFC 6026 §8.
 *
 * Flow.  Every parsed, validated message from the transport goes into
 * sb_tsx_layer_recv().  A response is matched to a client transaction
 * (§17.1.3); a request to a server transaction (§17.2.3), where it is
 * absorbed as a retransmission.  What matches nothing goes up through the
 * layer's callbacks: a new request (request_h: the TU decides whether to
 * create a server transaction with sb_tsx_server_alloc(), and answers 503
 * itself when that fails with ENOSPC), an ACK (ack_h: ACKs for 2xx, which a
 * proxy forwards), or a stray response (stray_h: a proxy forwards it
 * statelessly, §16.7 / §18.1.2).  Everything that goes on the wire leaves
 * through the send callback.
 *
 * Choices:
 *  - 100 Trying (§17.2.1): a server INVITE transaction sends 100 Trying on its
 *    own when the TU has not sent a response trying_ms (200 ms) after the
 *    INVITE arrived, or at once when the INVITE is retransmitted before that.
 *    A TU that wants it sent at once simply responds 100 itself.  For a
 *    transaction made inside request_h from its rx, the 100 is prepared
 *    when request_h returns, and not at all if the TU has answered by then
 *    (a proxy's immediate 100, §16.2, costs no second one).
 *  - Responses from a server transaction go to the source of the request
 *    (protocol, address, connection): symmetric response routing, which is
 *    RFC 3581 with rport and what works through NAT.  Resolving the §18.2.2
 *    rules (maddr, sent-by port) is the transport's business.
 *  - A transaction never disappears inside a call you make or a callback it
 *    makes: when it terminates it is unlinked at once (no message matches it
 *    any more) and put on the layer's list of terminated transactions, which
 *    one zero-delay timer drains from the loop: for each, the owner's end_h,
 *    then the free.  A pointer to a transaction is therefore valid until its
 *    end_h has returned (or until sb_tsx_set_owner(t, NULL)).  A transaction
 *    terminated inside an end_h (sb_tsx_abandon) has its own end_h from the
 *    next drain, a zero-delay timer later.
 *  - A 2xx that reaches a client INVITE transaction in Completed (a second
 *    fork answering after a failure response) is passed up like one in
 *    Accepted: dropping it would leave a call nobody acknowledges.
 *  - A 2xx that a client INVITE transaction would pass up while it has no
 *    owner (sb_tsx_set_owner(t, NULL), or no response_h) goes to stray_h as
 *    if it had matched nothing: RFC 3261 §16.7 step 10 and RFC 6026 §7.2
 *    want every 2xx to reach the UAC, and a proxy that has freed its request
 *    context relays it statelessly from there.  Other responses to an
 *    ownerless transaction are absorbed as before.
 *  - RFC 2543 matching (no "z9hG4bK" branch, or exactly "z9hG4bK", RFC 4475
 *    badbranch): Request-URI, From tag, Call-ID, CSeq number and top Via
 *    (and for non-INVITE requests the To tag) form the key.  An ACK matches an
 *    INVITE transaction on the same key and then the To tag of the final
 *    response sent is compared.  The To tag of a retransmitted INVITE is not
 *    compared: two INVITEs equal in every other field are one request.
 *  - Sent-by in the §17.2.3 key is the host (case-insensitive) and the port
 *    as written: "a.example" and "a.example:5060" differ, as the RFC's
 *    "equal" says.
 *
 * Memory: the transaction struct with its key in one allocation, and the
 * bytes it may still have to send again in one more, and only while it may:
 *   client INVITE      the request in Calling and Proceeding (re-sent by
 *                      Timer A; sb_tsx_request() for a CANCEL), the ACK in
 *                      Completed (re-sent for each retransmitted final
 *                      response), nothing in Accepted (RFC 6026 §7.2)
 *   client non-INVITE  the request in Trying and Proceeding, nothing in
 *                      Completed (Timer K only absorbs)
 *   server INVITE      the last response in Proceeding (and the 100 Trying
 *                      it will send by itself) and Completed, nothing in
 *                      Confirmed and Accepted (RFC 6026 §7.1), where an
 *                      RFC 2543 transaction keeps just the To tag it sent
 *   server non-INVITE  the last response in Proceeding and Completed
 * sb_tsx_footprint() tells the total.  A lingering transaction (Completed
 * with nothing to send, Confirmed, Accepted: the 32 s of Timers J, L, M
 * or D that make up most of a busy table) is sizeof(struct sb_tsx), 232 B
 * on LP64, plus its key (about 40 to 80 B), plus what it keeps (nothing, an
 * ACK of about 400 B, or a non-INVITE final response); malloc adds about
 * 16 B per allocation.
 *
 * Not thread-safe: a layer belongs to its loop's thread. */
#ifndef SWITCHBOARD_TRANSACTION_H
#define SWITCHBOARD_TRANSACTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "switchboard/loop.h"
#include "switchboard/sip.h"
#include "switchboard/transport.h"

/* RFC 3261 §17.1.1.1 Table 4 defaults, in ms. */
#define SB_TSX_T1_MS 500u
#define SB_TSX_T2_MS 4000u
#define SB_TSX_T4_MS 5000u
/* RFC 3261 §17.2.1: send 100 Trying unless the TU answers within 200 ms. */
#define SB_TSX_TRYING_MS 200u
/* RFC 3261 §17.1.1.2: Timer D is at least 32 s for unreliable transports. */
#define SB_TSX_TIMER_D_MS 32000u
/* Bound on live transactions when the cfg leaves it 0.  At 800 calls/s
 * every call leaves about 4 transactions lingering for 32 s (Timers D, J,
 * L, M): some 100,000, which the former 65536 turned into 503s.  What it
 * bounds: 2^20 lingering transactions of about 320 B each (struct, key,
 * malloc's header; see "Memory" above), plus a hash-table slot and up to
 * two timer-heap slots each, are about 350 MiB; the worst case, every one
 * holding a message of SB_SIP_MAX_MSG_SIZE, is 2^20 * (320 B + 64 KiB).
 * The loop's default max_timers (2^22) holds the two timers each needs. */
#define SB_TSX_DEFAULT_MAX (1u << 20)
/* Bound on a matching key (branch + sent-by + method, or the RFC 2543
 * fields); a request whose key is longer is refused with E2BIG. */
#define SB_TSX_MAX_KEY 4096u

struct sb_tsx_layer;
struct sb_tsx;

enum sb_tsx_kind {
	SB_TSX_CLIENT_INVITE,
	SB_TSX_CLIENT_NON_INVITE,
	SB_TSX_SERVER_INVITE,
	SB_TSX_SERVER_NON_INVITE,
};

enum sb_tsx_state {
	SB_TSX_CALLING,     /* client INVITE */
	SB_TSX_TRYING,      /* non-INVITE */
	SB_TSX_PROCEEDING,
	SB_TSX_COMPLETED,
	SB_TSX_CONFIRMED,   /* server INVITE */
	SB_TSX_ACCEPTED,    /* INVITE, RFC 6026 */
	SB_TSX_TERMINATED,
};

/* Why a transaction ended, as told to end_h. */
enum sb_tsx_end {
	SB_TSX_END_NORMAL,    /* its last timer ran out (D, K, I, J, L, M) */
	SB_TSX_END_TIMEOUT,   /* B or F (no final response), H (no ACK) */
	SB_TSX_END_TRANSPORT, /* the send callback failed (§17.1.4, §17.2.4) */
};

/* Put buf[0..len) on the wire to dst.  0, or an errno: the transaction
 * treats a failure as a transport error.  buf is valid during the call. */
typedef int (sb_tsx_send_h)(const struct sb_tp_dest *dst, const char *buf, size_t len,
			    void *arg);
/* A request (not ACK) that matched no server transaction.  rx is valid
 * during the call; create the server transaction from it there. */
typedef void (sb_tsx_request_h)(const struct sb_tp_rx *rx, void *arg);
/* An ACK the layer does not absorb: one matching no transaction (the ACK for
 * a 2xx, RFC 3261 §17.1.1.3 / §13.2.2.4), or one matching a server INVITE
 * transaction in Accepted (RFC 6026 §7.1: passed to the TU); st is that
 * transaction or NULL. */
typedef void (sb_tsx_ack_h)(struct sb_tsx *st, const struct sb_tp_rx *rx, void *arg);
/* A response that matched no client transaction. */
typedef void (sb_tsx_stray_h)(const struct sb_tp_rx *rx, void *arg);

/* Owner of one transaction.
 * response_h (client transactions): each response that must go up, i.e.
 * provisional responses, the final response once (retransmissions are
 * absorbed), and for INVITE every 2xx in Accepted (RFC 6026 §7.2); msg is
 * valid during the call.  A timeout (Timer B, F) comes as status 408 and a
 * transport error as 503, both with msg NULL (RFC 3261 §16.7 step 2 / §16.8
 * treat them so).
 * end_h: the transaction has terminated and is freed when this returns. */
typedef void (sb_tsx_response_h)(struct sb_tsx *t, unsigned status, struct sb_sip_msg *msg,
				 void *arg);
typedef void (sb_tsx_end_h)(struct sb_tsx *t, enum sb_tsx_end why, void *arg);
struct sb_tsx_owner {
	sb_tsx_response_h *response_h;
	sb_tsx_end_h *end_h;
	void *arg;
};

struct sb_tsx_layer_cfg {
	struct sb_loop *loop;      /* required; its max_timers must allow two
	                              timers per transaction */
	uint32_t t1_ms, t2_ms, t4_ms; /* 0: SB_TSX_T1_MS, T2, T4 */
	uint32_t trying_ms;        /* 0: SB_TSX_TRYING_MS */
	uint32_t max_tsx;          /* 0: SB_TSX_DEFAULT_MAX; ENOSPC past it */
	uint32_t hash_seed;
	sb_tsx_send_h *send_h;     /* required */
	sb_tsx_request_h *request_h;
	sb_tsx_ack_h *ack_h;
	sb_tsx_stray_h *stray_h;
	void *arg;                 /* for the four callbacks above */
};

/* 0, EINVAL (no loop or send_h), ENOMEM. */
int sb_tsx_layer_alloc(struct sb_tsx_layer **lp, const struct sb_tsx_layer_cfg *cfg);
/* Frees every transaction still alive, without calling owners (their timers
 * are stopped; nothing is sent). */
void sb_tsx_layer_free(struct sb_tsx_layer *l);

/* Dispatch one message from the transport (parsed, and validated by
 * sb_sip_validate).  0 when it was handled: matched and absorbed, or handed
 * to a transaction's owner or to a layer callback (a response whose key is
 * too long is simply stray); EBADMSG when a request lacks what matching
 * needs (top Via, CSeq, and for RFC 2543 requests From and Call-ID), E2BIG
 * when a request's key passes SB_TSX_MAX_KEY: both are dropped.  Callbacks
 * may create transactions, respond, and detach, but must not call
 * sb_tsx_layer_recv() or sb_tsx_layer_free() on the same layer. */
int sb_tsx_layer_recv(struct sb_tsx_layer *l, const struct sb_tp_rx *rx);

/* Live transactions (including terminated ones not yet freed). */
size_t sb_tsx_layer_count(const struct sb_tsx_layer *l);

/* ------------------------------------------------------------ client */

struct sb_tsx_client_cfg {
	struct sb_tp_dest dst;     /* where the request goes (§18.1.1) */
	const char *buf;           /* the request as it goes on the wire; its top
	                              Via carries our branch (§8.1.1.7) */
	size_t len;
	struct sb_tsx_owner owner;
	/* Optional, both or neither: the request's method (as in its start
	 * line, equal to its CSeq method) and the branch parameter of its top
	 * Via, as the caller who printed the request knows them.  Given, they
	 * are trusted and buf is not parsed (the caller vouches that buf is
	 * such a request); they need only be valid during the call. */
	struct sb_slice method;
	struct sb_slice branch;
};

/* Start a client transaction: copy the request, send it, start the timers
 * (A and B for INVITE, E and F otherwise; A and E only over UDP).  Returns
 * 0; EINVAL when buf is not a request, is an ACK (ACKs have no client
 * transaction, §17), or lacks a branch, CSeq or a CSeq method equal to the
 * request method; E2BIG when the branch passes SB_TSX_MAX_KEY; EMSGSIZE
 * when len passes SB_SIP_MAX_MSG_SIZE (and buf is not parsed: see below);
 * EEXIST when a client transaction with this
 * branch and method exists; ENOSPC at max_tsx; ENOMEM; or the send
 * callback's error (then nothing is created).  Parsing buf uses about
 * 13 KiB of stack (a parsed message) and most of the call's time.
 * With cfg->method and cfg->branch set, buf is not parsed and the EINVAL
 * checks become: both set and not empty, buf not empty, method not "ACK";
 * a method "INVITE" makes an INVITE transaction.  Setting only one of them
 * is EINVAL. */
int sb_tsx_client_alloc(struct sb_tsx **tp, struct sb_tsx_layer *l,
			const struct sb_tsx_client_cfg *cfg);

/* RFC 3261 §17.1.4: the transport lost the connection conn_id to peer (a
 * TCP connect refused, a reset, a close: the transport's close_h).  Every
 * client transaction still waiting for its first response (Calling,
 * Trying) that was sent on conn_id, or with conn_id 0 to peer over a
 * stream transport (conn_id may then be the connection being opened), fails
 * with a transport error: its owner sees 503 and end_h with
 * SB_TSX_END_TRANSPORT.  Once a provisional response came the request was
 * delivered and the response may come on a new connection (§18.2.2), so
 * Proceeding is left alone.  The failures are delivered from a zero-delay
 * timer, never inside this call (close_h may run inside a send).  peer may
 * be NULL (only conn_id is matched then). */
void sb_tsx_layer_conn_failed(struct sb_tsx_layer *l, uint32_t conn_id,
			      const struct sb_addr *peer);

/* ------------------------------------------------------------ server */

/* Create the server transaction for rx->msg, a request that is not an ACK
 * (normally from request_h).  Returns 0; EINVAL for an ACK or a response;
 * EBADMSG without top Via or CSeq; EEXIST when it matches a transaction
 * already; E2BIG; ENOSPC at max_tsx (the caller answers 503, §16.3 / §21.5.4);
 * ENOMEM. */
int sb_tsx_server_alloc(struct sb_tsx **tp, struct sb_tsx_layer *l, const struct sb_tp_rx *rx,
			const struct sb_tsx_owner *owner);

/* Send a response from the TU through server transaction st.  buf holds the
 * whole response ("SIP/2.0 NNN ..."); the transaction keeps a copy when it
 * may have to re-send it.  Returns 0; EINVAL when buf is no status line or
 * the state takes no such response (anything after a final response, except
 * 2xx retransmissions in Accepted, RFC 6026 §7.1); ENOMEM; or the send
 * error (the transaction then terminates with SB_TSX_END_TRANSPORT). */
int sb_tsx_respond(struct sb_tsx *st, const char *buf, size_t len);

/* RFC 3261 §9.2: the server INVITE transaction that the CANCEL cancel
 * matches (the §17.2.3 rules with method INVITE), or NULL. */
struct sb_tsx *sb_tsx_find_invite_for_cancel(struct sb_tsx_layer *l, struct sb_sip_msg *cancel);

/* ------------------------------------------------------------ common */

/* Replace the owner; NULL detaches (the transaction runs on, and tells
 * nobody).  Safe from inside the owner's callbacks. */
void sb_tsx_set_owner(struct sb_tsx *t, const struct sb_tsx_owner *owner);
/* Terminate t now, whatever its state, sending nothing and telling the
 * owner nothing but end_h (why SB_TSX_END_TIMEOUT), from the usual
 * deferred free.  For a TU that has given up on a transaction: a proxy's
 * Timer C, or 64*T1 after its CANCEL (RFC 3261 §9.1, §16.8: "the client
 * transaction MUST be destroyed"), or a non-INVITE server transaction that
 * must not be answered with 408 (RFC 4320 §4.2).  No-op once Terminated. */
void sb_tsx_abandon(struct sb_tsx *t);
enum sb_tsx_kind sb_tsx_kind(const struct sb_tsx *t);
enum sb_tsx_state sb_tsx_state(const struct sb_tsx *t);
/* The last status sent (server) or received (client); 0 before any. */
unsigned sb_tsx_status(const struct sb_tsx *t);
/* A client transaction's request as it went on the wire (the copy it keeps
 * to retransmit), for building its CANCEL (RFC 3261 §9.1); NULL once it
 * keeps none (a final response came, or it is a server transaction).  Valid
 * until the transaction's next state change. */
const char *sb_tsx_request(const struct sb_tsx *t, size_t *len);
/* Bytes held on the heap by t: the struct, its key and its message copy. */
size_t sb_tsx_footprint(const struct sb_tsx *t);
/* sizeof(struct sb_tsx), for reports. */
size_t sb_tsx_struct_size(void);

const char *sb_tsx_state_name(enum sb_tsx_state s);

#endif
