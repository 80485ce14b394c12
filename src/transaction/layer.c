/* transaction/layer: the transaction layer object, the lifecycle every
 * transaction shares (allocation, the hash, termination and the deferred
 * free), and the dispatch of received messages to the client and server
 * machines or up to the TU.  The machines themselves are in client.c and
 * server.c, the keys in match.c.
 *
 * Lifecycle: a live transaction is in the hash (that is also how the layer
 * finds all of them).  On Terminated it leaves the hash and joins the reap
 * list, one per layer, which one zero-delay timer drains: each transaction's
 * end_h, then its free.  One timer per drain instead of one per
 * transaction: at 4 transactions per call that was 4 timer-heap insertions
 * and removals per call. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tsx_int.h"

int sb_tsx_layer_alloc(struct sb_tsx_layer **lp, const struct sb_tsx_layer_cfg *cfg)
{
	if (!cfg || !cfg->loop || !cfg->send_h)
		return EINVAL;
	struct sb_tsx_layer *l = calloc(1, sizeof *l);
	if (!l)
		return ENOMEM;
	l->cfg = *cfg;
	if (!l->cfg.t1_ms)
		l->cfg.t1_ms = SB_TSX_T1_MS;
	if (!l->cfg.t2_ms)
		l->cfg.t2_ms = SB_TSX_T2_MS;
	if (!l->cfg.t4_ms)
		l->cfg.t4_ms = SB_TSX_T4_MS;
	if (!l->cfg.trying_ms)
		l->cfg.trying_ms = SB_TSX_TRYING_MS;
	if (!l->cfg.max_tsx)
		l->cfg.max_tsx = SB_TSX_DEFAULT_MAX;
	sb_timer_init(&l->reap);
	struct sb_hash_cfg hc = { .max_count = l->cfg.max_tsx, .seed = l->cfg.hash_seed };
	int err = sb_hash_alloc(&l->tab, &hc);
	if (err) {
		free(l);
		return err;
	}
	*lp = l;
	return 0;
}

/* Stop t's timers and free it; it is in no list any more. */
static void tsx_free(struct sb_tsx *t)
{
	struct sb_loop *loop = t->layer->cfg.loop;
	sb_timer_stop(loop, &t->retx);
	sb_timer_stop(loop, &t->life);
	t->layer->count--;
	free(t->msg);
	free(t);
}

static void free_node(struct sb_hash_node *n, void *arg)
{
	(void)arg;
	tsx_free(SB_HASH_OWNER(n, struct sb_tsx, node));
}

/* The next transaction on the reap list after t, or NULL. */
static struct sb_tsx *reap_next(const struct sb_tsx *t)
{
	return t->node.next ? SB_HASH_OWNER(t->node.next, struct sb_tsx, node) : NULL;
}

void sb_tsx_layer_free(struct sb_tsx_layer *l)
{
	if (!l)
		return;
	/* the live transactions are in the hash, the terminated ones on the
	 * reap list: between them, every one (owners are not called) */
	sb_hash_clear(l->tab, free_node, NULL);
	for (struct sb_tsx *t = l->reap_head, *nx; t; t = nx) {
		nx = reap_next(t);
		tsx_free(t);
	}
	sb_timer_stop(l->cfg.loop, &l->reap);
	sb_hash_free(l->tab);
	free(l);
}

size_t sb_tsx_layer_count(const struct sb_tsx_layer *l)
{
	return l->count;
}

uint32_t tsx_64t1(const struct sb_tsx_layer *l)
{
	return 64u * l->cfg.t1_ms;
}

uint32_t tsx_backoff(const struct sb_tsx *t, bool cap_t2)
{
	const struct sb_tsx_layer_cfg *c = &t->layer->cfg;
	uint64_t v = t->nretx >= 32 ? UINT64_MAX : (uint64_t)c->t1_ms << t->nretx;
	if (cap_t2 && v > c->t2_ms)
		v = c->t2_ms;
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

int tsx_new(struct sb_tsx **tp, struct sb_tsx_layer *l, enum sb_tsx_kind kind,
	    const struct tsx_key *k)
{
	/* RFC 3261 says nothing of a bound; DESIGN.md wants one: past it the
	 * caller answers 503 (server) or reports failure (client) */
	if (l->count >= l->cfg.max_tsx)
		return ENOSPC;
	struct sb_tsx *t = calloc(1, sizeof *t + k->len);
	if (!t)
		return ENOMEM;
	t->layer = l;
	t->kind = (uint8_t)kind;
	sb_timer_init(&t->retx);
	sb_timer_init(&t->life);
	memcpy(t->key, k->b, k->len);
	t->klen = (uint16_t)k->len;
	if (k->rfc2543)
		t->flags |= TSX_F_2543;
	l->count++;
	*tp = t;
	return 0;
}

int tsx_link(struct sb_tsx *t)
{
	return sb_hash_insert(t->layer->tab, &t->node, t->key, t->klen);
}

static bool linked(const struct sb_tsx *t)
{
	return t->node.key != NULL;
}

static void unlink_hash(struct sb_tsx *t)
{
	if (linked(t)) {
		sb_hash_remove(t->layer->tab, &t->node);
		t->node.key = NULL;
	}
}

void tsx_destroy(struct sb_tsx *t)
{
	unlink_hash(t);
	tsx_free(t);
}

/* The zero-delay timer of the reap list: tell each owner, then free.  The
 * list is taken whole first: a transaction that an end_h terminates joins a
 * new list, drained by the next run of this timer (started again by
 * reap_push), so one drain is bounded by what was terminated before it. */
static void reap_h(void *arg)
{
	struct sb_tsx_layer *l = arg;
	struct sb_tsx *t = l->reap_head;
	l->reap_head = l->reap_tail = NULL;
	while (t) {
		struct sb_tsx *nx = reap_next(t);
		if (t->owner.end_h)
			t->owner.end_h(t, (enum sb_tsx_end)t->end, t->owner.arg);
		tsx_free(t);
		t = nx;
	}
}

static void reap_push(struct sb_tsx *t)
{
	struct sb_tsx_layer *l = t->layer;
	t->node.next = NULL;
	if (l->reap_tail)
		l->reap_tail->node.next = &t->node;
	else
		l->reap_head = t;
	l->reap_tail = t;
	/* Should the loop refuse the timer, the list waits for the next
	 * push that gets one, or for sb_tsx_layer_free; its transactions
	 * count against max_tsx: bounded, not leaked */
	if (!sb_timer_running(&l->reap))
		(void)sb_timer_start(l->cfg.loop, &l->reap, 0, reap_h, l);
}

void tsx_terminate(struct sb_tsx *t, enum sb_tsx_end why)
{
	if (t->state == SB_TSX_TERMINATED)
		return;
	struct sb_loop *loop = t->layer->cfg.loop;
	t->state = SB_TSX_TERMINATED;
	t->end = (uint8_t)why;
	unlink_hash(t);
	sb_timer_stop(loop, &t->retx);
	sb_timer_stop(loop, &t->life);
	/* freeing here could pull the transaction from under a caller that is
	 * still using it (a TU inside sb_tsx_respond, the dispatch after a
	 * callback); the reap runs from the loop, with nobody on the stack */
	reap_push(t);
}

void tsx_timer(struct sb_tsx *t, struct sb_timer *tm, sb_msec_t ms, sb_timer_h *h)
{
	if (sb_timer_start(t->layer->cfg.loop, tm, ms, h, t) != 0)
		tsx_terminate(t, SB_TSX_END_TRANSPORT);
}

int tsx_send(struct sb_tsx *t, const char *buf, size_t len)
{
	const struct sb_tsx_layer_cfg *c = &t->layer->cfg;
	return c->send_h(&t->dst, buf, len, c->arg);
}

int tsx_store(struct sb_tsx *t, const char *buf, size_t len)
{
	if (len > SB_SIP_MAX_MSG_SIZE)
		return EMSGSIZE;
	if (!len) {
		tsx_drop_msg(t);
		return 0;
	}
	if (len != t->msg_len) {
		/* exact size: a transaction keeps one message for seconds,
		 * lingering transactions are most of the table, and
		 * sb_tsx_footprint tells the truth */
		char *p = realloc(t->msg, len);
		if (!p)
			return ENOMEM;
		t->msg = p;
	}
	memcpy(t->msg, buf, len);
	t->msg_len = (uint16_t)len;
	return 0;
}

void tsx_drop_msg(struct sb_tsx *t)
{
	free(t->msg);
	t->msg = NULL;
	t->msg_len = 0;
}

/* ------------------------------------------------------------ dispatch */

static int recv_response(struct sb_tsx_layer *l, const struct sb_tp_rx *rx)
{
	struct sb_sip_msg *m = rx->msg;
	const struct sb_via *via;
	const struct sb_cseq *cseq;
	if (sb_sip_msg_via(m, &via) || sb_sip_msg_cseq(m, &cseq))
		return EBADMSG;
	struct tsx_key k;
	struct sb_hash_node *n = NULL;
	/* RFC 3261 §17.1.3: a response without a branch cannot match; one
	 * whose key is too long cannot be ours */
	if (via->branch.p && tsx_key_client(&k, cseq->method, via->branch) == 0)
		n = sb_hash_find(l->tab, k.b, k.len);
	if (!n) {
		/* RFC 3261 §18.1.2 / §16.7: the core decides (a proxy forwards
		 * it statelessly, a UA drops it) */
		if (l->cfg.stray_h)
			l->cfg.stray_h(rx, l->cfg.arg);
		return 0;
	}
	tsx_client_recv(SB_HASH_OWNER(n, struct sb_tsx, node), rx);
	return 0;
}

static int recv_request(struct sb_tsx_layer *l, const struct sb_tp_rx *rx)
{
	struct sb_sip_msg *m = rx->msg;
	bool ack = m->mid == SB_METHOD_ACK;
	struct tsx_key k;
	/* RFC 3261 §17.2.3: "the method of the request matches the one that
	 * created the transaction, except for ACK, where the method of the
	 * request that created the transaction is INVITE" */
	int err = tsx_key_server(&k, m, ack ? SB_LIT("INVITE") : m->method);
	if (err)
		return err;
	struct sb_hash_node *n = sb_hash_find(l->tab, k.b, k.len);
	if (n) {
		tsx_server_recv(SB_HASH_OWNER(n, struct sb_tsx, node), rx);
		return 0;
	}
	if (ack) {
		if (l->cfg.ack_h)
			l->cfg.ack_h(NULL, rx, l->cfg.arg);
	} else if (l->cfg.request_h) {
		/* saved and restored: a request_h that feeds the layer another
		 * message (sb_tsx_layer_recv from inside it) must neither take
		 * the 100 of this one's transaction nor leave it to the inner
		 * message (tsx_server_after_request_h prints it from rx) */
		const struct sb_tp_rx *outer_rx = l->rx_now;
		struct sb_tsx *outer_defer = l->defer_100;
		l->rx_now = rx;
		l->defer_100 = NULL;
		l->cfg.request_h(rx, l->cfg.arg);
		tsx_server_after_request_h(l, rx);
		l->rx_now = outer_rx;
		l->defer_100 = outer_defer;
	}
	return 0;
}

int sb_tsx_layer_recv(struct sb_tsx_layer *l, const struct sb_tp_rx *rx)
{
	if (!rx || !rx->msg)
		return EINVAL;
	return rx->msg->is_request ? recv_request(l, rx) : recv_response(l, rx);
}

/* ------------------------------------------------------------ common */

void sb_tsx_set_owner(struct sb_tsx *t, const struct sb_tsx_owner *owner)
{
	t->owner = owner ? *owner : (struct sb_tsx_owner){ 0 };
}

void sb_tsx_abandon(struct sb_tsx *t)
{
	/* terminate stops retx and turns life into the reap timer, so no
	 * timer of the machine can fire any more */
	tsx_terminate(t, SB_TSX_END_TIMEOUT);
}

enum sb_tsx_kind sb_tsx_kind(const struct sb_tsx *t)
{
	return (enum sb_tsx_kind)t->kind;
}

enum sb_tsx_state sb_tsx_state(const struct sb_tsx *t)
{
	return (enum sb_tsx_state)t->state;
}

unsigned sb_tsx_status(const struct sb_tsx *t)
{
	return t->status;
}

const char *sb_tsx_request(const struct sb_tsx *t, size_t *len)
{
	bool client = t->kind == SB_TSX_CLIENT_INVITE || t->kind == SB_TSX_CLIENT_NON_INVITE;
	bool pending = t->state == SB_TSX_CALLING || t->state == SB_TSX_TRYING ||
		       t->state == SB_TSX_PROCEEDING;
	if (!client || !pending || !t->msg) {
		*len = 0;
		return NULL;
	}
	*len = t->msg_len;
	return t->msg;
}

size_t sb_tsx_footprint(const struct sb_tsx *t)
{
	return sizeof *t + t->klen + t->msg_len;
}

size_t sb_tsx_struct_size(void)
{
	return sizeof(struct sb_tsx);
}

const char *sb_tsx_state_name(enum sb_tsx_state s)
{
	switch (s) {
	case SB_TSX_CALLING: return "Calling";
	case SB_TSX_TRYING: return "Trying";
	case SB_TSX_PROCEEDING: return "Proceeding";
	case SB_TSX_COMPLETED: return "Completed";
	case SB_TSX_CONFIRMED: return "Confirmed";
	case SB_TSX_ACCEPTED: return "Accepted";
	case SB_TSX_TERMINATED: return "Terminated";
	}
	return "?";
}
