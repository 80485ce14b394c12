/* transaction/tsx_int.h: what the files of the transaction layer share and
 * nobody else sees: the layer and transaction structs, the matching keys
 * (match.c), the common lifecycle (layer.c) and the client and server
 * machines (client.c, server.c). */
#ifndef SB_TSX_INT_H
#define SB_TSX_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "switchboard/hash.h"
#include "switchboard/transaction.h"

struct sb_tsx_layer {
	struct sb_tsx_layer_cfg cfg;  /* defaults filled in */
	struct sb_hash *tab;          /* client and server keys, told apart by
	                                 their first byte; every live (not
	                                 Terminated) transaction is in it */
	struct sb_tsx *reap_head;     /* Terminated, waiting for end_h and the
	                                 free, oldest first; linked by node.next */
	struct sb_tsx *reap_tail;
	struct sb_timer reap;         /* zero-delay: drains the reap list */
	/* both saved and restored around request_h (recv_request), so that
	 * a nested sb_tsx_layer_recv from inside it keeps its own */
	const struct sb_tp_rx *rx_now; /* the request inside request_h */
	struct sb_tsx *defer_100;     /* created from rx_now: its 100 Trying is
	                                 printed after request_h, if still due */
	uint32_t count;               /* live + waiting on the reap list */
};

enum tsx_flag {
	TSX_F_RELIABLE = 1u << 0,     /* no retransmissions (§17.1.1.2, §17.2.1) */
	TSX_F_2543 = 1u << 1,         /* keyed by the RFC 2543 rules */
	TSX_F_PENDING_100 = 1u << 2,  /* msg holds a 100 Trying not yet sent */
	TSX_F_FINAL_UP = 1u << 3,     /* client: a final response went up */
	TSX_F_TAG_ONLY = 1u << 4,     /* RFC 2543 server INVITE in Confirmed or
	                                 Accepted: msg holds only the To tag of
	                                 the final response sent (may be empty,
	                                 msg NULL) */
};

/* Fields ordered by size so that nothing pads: 232 bytes on LP64 (264
 * before the reap list replaced the prev/next list of every transaction,
 * 16-bit fields took the place of 32-bit ones and a count of
 * retransmissions the place of the current interval). */
struct sb_tsx {
	struct sb_hash_node node;     /* in layer->tab while not Terminated;
	                                 then node.next links the reap list */
	struct sb_tsx_layer *layer;
	struct sb_timer retx;         /* A, E, G, or the delayed 100 Trying */
	struct sb_timer life;         /* B, D, F, H, I, J, K, L, M */
	struct sb_tp_dest dst;        /* where requests (client) or responses
	                                 (server) go */
	struct sb_tsx_owner owner;
	char *msg;                    /* the bytes to re-send: request, ACK,
	                                 last response; NULL when none; exactly
	                                 msg_len bytes are allocated */
	uint16_t msg_len;             /* <= SB_SIP_MAX_MSG_SIZE (65535) */
	uint16_t tag_off, tag_len;    /* RFC 2543 server INVITE: To tag of the
	                                 final response, inside msg */
	uint16_t status;
	uint16_t klen;                /* <= SB_TSX_MAX_KEY */
	uint8_t kind;                 /* enum sb_tsx_kind */
	uint8_t state;                /* enum sb_tsx_state */
	uint8_t flags;                /* enum tsx_flag */
	uint8_t end;                  /* enum sb_tsx_end, once Terminated */
	uint8_t nretx;                /* retransmissions by A, E or G so far:
	                                 the interval is T1 * 2^nretx */
	char key[];                   /* the matching key, node.key points here */
};

/* ------------------------------------------------------------ match.c */

/* Key buffers live on the stack, SB_TSX_MAX_KEY bytes. */
struct tsx_key {
	char b[SB_TSX_MAX_KEY];
	size_t len;
	bool rfc2543;
};

/* The §17.1.3 key of a client transaction: method and branch. */
int tsx_key_client(struct tsx_key *k, struct sb_slice method, struct sb_slice branch);
/* The §17.2.3 key of request m taken as a request of method `method`
 * (INVITE for an ACK, or for the CANCEL lookup of §9.2).  0, EBADMSG, E2BIG. */
int tsx_key_server(struct tsx_key *k, struct sb_sip_msg *m, struct sb_slice method);
/* RFC 3261 §17.2.3: a branch that starts with the magic cookie (and has
 * more after it) is unique; anything else falls back to RFC 2543 rules. */
bool tsx_branch_3261(struct sb_slice branch);

/* ------------------------------------------------------------ layer.c */

/* Allocate a transaction with room for its key, link it in the list (not
 * yet in the hash).  0, ENOSPC (max_tsx), ENOMEM. */
int tsx_new(struct sb_tsx **tp, struct sb_tsx_layer *l, enum sb_tsx_kind kind,
	    const struct tsx_key *k);
/* Put it in the hash: 0 or EEXIST, ENOSPC. */
int tsx_link(struct sb_tsx *t);
/* Free a transaction that failed to start (not yet on the reap list): stop
 * its timers, unlink it from the hash, free it. */
void tsx_destroy(struct sb_tsx *t);
/* Move to Terminated: unlink, stop the timers, and put it on the layer's
 * reap list, which a zero-delay timer drains (end_h, then the free). */
void tsx_terminate(struct sb_tsx *t, enum sb_tsx_end why);
/* Hand buf to the send callback. */
int tsx_send(struct sb_tsx *t, const char *buf, size_t len);
/* Replace the retransmission copy with buf[0..len), allocated to its exact
 * size.  0, EMSGSIZE (past SB_SIP_MAX_MSG_SIZE) or ENOMEM. */
int tsx_store(struct sb_tsx *t, const char *buf, size_t len);
/* Drop the retransmission copy. */
void tsx_drop_msg(struct sb_tsx *t);
/* Start a timer; a failure (loop's max_timers) terminates t as a transport
 * error would, since the machine could no longer keep its promises. */
void tsx_timer(struct sb_tsx *t, struct sb_timer *tm, sb_msec_t ms, sb_timer_h *h);
/* 64*T1: Timers B, F, H, J (UDP), L, M. */
uint32_t tsx_64t1(const struct sb_tsx_layer *l);
/* The next retransmission interval: T1 * 2^t->nretx, saturated, and at
 * most T2 when cap_t2 (Timers E and G; A has no cap). */
uint32_t tsx_backoff(const struct sb_tsx *t, bool cap_t2);

/* ----------------------------------------------------- client.c, server.c */

void tsx_client_recv(struct sb_tsx *t, const struct sb_tp_rx *rx);
void tsx_server_recv(struct sb_tsx *t, const struct sb_tp_rx *rx);
/* After request_h returned: the 100 Trying of the server INVITE transaction
 * it created, unless the TU has answered already. */
void tsx_server_after_request_h(struct sb_tsx_layer *l, const struct sb_tp_rx *rx);

#endif
