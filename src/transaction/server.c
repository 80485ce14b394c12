/* transaction/server: the server transactions of RFC 3261 §17.2, the INVITE
 * machine (§17.2.1, with the RFC 6026 §7.1 Accepted state) and the
 * non-INVITE machine (§17.2.2), responses from the TU, absorbed request
 * retransmissions, ACKs, and the §9.2 lookup of the INVITE a CANCEL
 * cancels.
 *
 * Timers: `retx` is the delayed 100 Trying, then G (UDP only); `life` is H,
 * then I, or J, or L.
 *
 * What it keeps: the last response while a request retransmission may
 * still want it again (Proceeding, Completed); nothing in Confirmed and
 * Accepted, where retransmissions are absorbed (RFC 3261 §17.2.1, RFC 6026
 * §7.1), except for an RFC 2543 INVITE, which keeps the To tag of its final
 * response (a few bytes) to match the ACK by. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tsx_int.h"

static bool is_invite(const struct sb_tsx *t)
{
	return t->kind == SB_TSX_SERVER_INVITE;
}

static int send_or_fail(struct sb_tsx *t, const char *buf, size_t len)
{
	int err = tsx_send(t, buf, len);
	/* RFC 3261 §17.2.4: a transport failure moves the transaction to
	 * Terminated and the TU is told (end_h, SB_TSX_END_TRANSPORT) */
	if (err)
		tsx_terminate(t, SB_TSX_END_TRANSPORT);
	return err;
}

/* The delayed 100 Trying, then Timer G. */
static void retx_h(void *arg)
{
	struct sb_tsx *t = arg;
	if (t->state == SB_TSX_PROCEEDING && (t->flags & TSX_F_PENDING_100)) {
		/* RFC 3261 §17.2.1: the TU has not answered within 200 ms */
		t->flags &= (uint8_t)~TSX_F_PENDING_100;
		t->status = 100;
		send_or_fail(t, t->msg, t->msg_len);
		return;
	}
	if (t->state != SB_TSX_COMPLETED)
		return;
	/* RFC 3261 §17.2.1: "If timer G fires, the response is passed to the
	 * transport layer once more for retransmission, and timer G is set to
	 * fire in MIN(2*T1, T2) seconds.  From then on ... reset with a value
	 * that doubles, unless that value exceeds T2" */
	if (send_or_fail(t, t->msg, t->msg_len) != 0)
		return;
	if (t->nretx < UINT8_MAX)
		t->nretx++;
	tsx_timer(t, &t->retx, tsx_backoff(t, true), retx_h);
}

/* Timers H, I, J, L. */
static void life_h(void *arg)
{
	struct sb_tsx *t = arg;
	switch (t->state) {
	case SB_TSX_COMPLETED:
		/* RFC 3261 §17.2.1: Timer H means the ACK never came, "the
		 * server transaction MUST transition to the Terminated state,
		 * and MUST indicate to the TU that a transaction failure has
		 * occurred"; §17.2.2: Timer J ends a non-INVITE normally */
		tsx_terminate(t, is_invite(t) ? SB_TSX_END_TIMEOUT : SB_TSX_END_NORMAL);
		break;
	case SB_TSX_CONFIRMED: /* I, RFC 3261 §17.2.1 */
	case SB_TSX_ACCEPTED:  /* L, RFC 6026 §7.1 */
		tsx_terminate(t, SB_TSX_END_NORMAL);
		break;
	default:
		break;
	}
}

/* RFC 3261 §17.2.1: "The server transaction MUST generate a 100 (Trying)
 * response unless it knows that the TU will generate a provisional or final
 * response within 200 ms".  It is printed while the request m is at hand
 * and sent if the TU stays silent for trying_ms.  A request it cannot be
 * printed for simply gets none. */
static void prepare_100(struct sb_tsx *t, struct sb_sip_msg *m)
{
	struct sb_buf b;
	sb_buf_init(&b, SB_SIP_MAX_MSG_SIZE);
	struct sb_sip_response_spec spec = { .code = 100 };
	if (sb_sip_print_response(&b, m, &spec) == 0 && tsx_store(t, b.p, b.len) == 0) {
		t->flags |= TSX_F_PENDING_100;
		tsx_timer(t, &t->retx, t->layer->cfg.trying_ms, retx_h);
	}
	sb_buf_free(&b);
}

int sb_tsx_server_alloc(struct sb_tsx **tp, struct sb_tsx_layer *l, const struct sb_tp_rx *rx,
			const struct sb_tsx_owner *owner)
{
	struct sb_sip_msg *m = rx->msg;
	const struct sb_cseq *cseq;
	if (!m || !m->is_request || m->mid == SB_METHOD_ACK)
		return EINVAL;
	if (sb_sip_msg_cseq(m, &cseq))
		return EBADMSG;
	struct tsx_key k;
	int err = tsx_key_server(&k, m, m->method);
	if (err)
		return err;
	bool invite = m->mid == SB_METHOD_INVITE;
	struct sb_tsx *t;
	err = tsx_new(&t, l, invite ? SB_TSX_SERVER_INVITE : SB_TSX_SERVER_NON_INVITE, &k);
	if (err)
		return err;
	/* responses go back where the request came from; see the header */
	t->dst = (struct sb_tp_dest){ .proto = rx->proto, .addr = rx->src, .conn_id = rx->conn_id,
				      .local = rx->local }; /* RFC 3581 §4: from where it came */
	if (owner)
		t->owner = *owner;
	if (sb_tp_reliable(rx->proto))
		t->flags |= TSX_F_RELIABLE;
	/* RFC 3261 §17.2.1: Proceeding on creation; §17.2.2: Trying */
	t->state = invite ? SB_TSX_PROCEEDING : SB_TSX_TRYING;
	if ((err = tsx_link(t)) != 0) {
		tsx_destroy(t);
		return err;
	}
	if (invite) {
		/* made from request_h with the request being dispatched: the
		 * TU may answer before request_h returns (a proxy sends its
		 * 100 at once, §16.2), and then no 100 need be printed */
		if (l->rx_now == rx && !l->defer_100)
			l->defer_100 = t;
		else
			prepare_100(t, m);
	}
	*tp = t;
	return 0;
}

void tsx_server_after_request_h(struct sb_tsx_layer *l, const struct sb_tp_rx *rx)
{
	struct sb_tsx *t = l->defer_100;
	if (!t)
		return;
	l->defer_100 = NULL;
	/* t cannot have been freed: the reap runs from the loop.  A TU that
	 * has answered (or a transaction that has ended) needs no 100. */
	if (t->state == SB_TSX_PROCEEDING && !t->status)
		prepare_100(t, rx->msg);
}

/* "SIP/2.0 NNN": the status code, or 0 when buf does not start so. */
static unsigned status_of(const char *buf, size_t len)
{
	static const char v[] = "SIP/2.0 ";
	size_t n = sizeof v - 1;
	if (!buf || len < n + 3 || memcmp(buf, v, n) != 0)
		return 0;
	unsigned code = 0;
	for (size_t i = n; i < n + 3; i++) {
		if (buf[i] < '0' || buf[i] > '9')
			return 0;
		code = code * 10 + (unsigned)(buf[i] - '0');
	}
	if (len > n + 3 && buf[n + 3] != ' ')
		return 0;
	return code >= 100 && code <= 699 ? code : 0;
}

/* RFC 2543 transactions: remember where the To tag of the final response
 * (now in t->msg) is, for matching the ACK. */
static void remember_tag(struct sb_tsx *t)
{
	struct sb_sip_msg r;
	const struct sb_nameaddr *to;
	t->tag_off = t->tag_len = 0;
	if (sb_sip_parse(&r, t->msg, t->msg_len, SB_SIP_DATAGRAM) != 0 ||
	    sb_sip_msg_to(&r, &to) != 0 || !to->tag.p)
		return;
	t->tag_off = (uint16_t)(to->tag.p - t->msg);
	t->tag_len = (uint16_t)to->tag.l;
}

/* RFC 2543 transactions entering Confirmed or Accepted: of the final
 * response in t->msg only the To tag is needed any more (the ACK is
 * matched by it, §17.2.3); keep just that. */
static void keep_tag_only(struct sb_tsx *t)
{
	if (t->msg && t->tag_len) {
		memmove(t->msg, t->msg + t->tag_off, t->tag_len);
		/* shrinking in place; should realloc refuse, the longer
		 * buffer still holds the tag */
		char *p = realloc(t->msg, t->tag_len);
		if (p)
			t->msg = p;
		t->msg_len = t->tag_len;
	} else {
		tsx_drop_msg(t);
	}
	t->tag_off = 0;
	t->flags |= TSX_F_TAG_ONLY;
}

static void stop_trying(struct sb_tsx *t)
{
	sb_timer_stop(t->layer->cfg.loop, &t->retx);
	t->flags &= (uint8_t)~TSX_F_PENDING_100;
}

static int invite_respond(struct sb_tsx *t, unsigned code, const char *buf, size_t len)
{
	struct sb_tsx_layer *l = t->layer;
	bool keep_tag = t->flags & TSX_F_2543;
	int err;
	if (t->state == SB_TSX_ACCEPTED) {
		/* RFC 6026 §7.1: 2xx retransmissions from the TU in Accepted
		 * are passed to the transport */
		if (code < 200 || code >= 300)
			return EINVAL;
		return send_or_fail(t, buf, len);
	}
	if (t->state != SB_TSX_PROCEEDING)
		return EINVAL;
	if (code < 200) {
		/* RFC 3261 §17.2.1: provisional responses go out and the last
		 * one is kept for request retransmissions */
		if ((err = tsx_store(t, buf, len)) != 0)
			return err;
		stop_trying(t);
		t->status = (uint16_t)code;
		return send_or_fail(t, t->msg, t->msg_len);
	}
	if (code < 300) {
		/* RFC 6026 §7.1: a 2xx moves to Accepted and starts Timer L =
		 * 64*T1; 2xx retransmissions are the TU's (§13.3.1.4), so the
		 * copy is kept only where the ACK's To tag must be checked */
		if (keep_tag) {
			if ((err = tsx_store(t, buf, len)) != 0)
				return err;
			remember_tag(t);
			keep_tag_only(t);
		} else {
			tsx_drop_msg(t);
		}
		stop_trying(t);
		t->status = (uint16_t)code;
		t->state = SB_TSX_ACCEPTED;
		tsx_timer(t, &t->life, tsx_64t1(l), life_h);
		return send_or_fail(t, buf, len);
	}
	if ((err = tsx_store(t, buf, len)) != 0)
		return err;
	if (keep_tag)
		remember_tag(t);
	stop_trying(t);
	t->status = (uint16_t)code;
	/* RFC 3261 §17.2.1: 300-699 moves to Completed; "For unreliable
	 * transports, timer G is set to fire in T1 seconds ... When the
	 * Completed state is entered, timer H MUST be set to fire in 64*T1
	 * seconds for all transports" */
	t->state = SB_TSX_COMPLETED;
	if (!(t->flags & TSX_F_RELIABLE)) {
		t->nretx = 0;
		tsx_timer(t, &t->retx, l->cfg.t1_ms, retx_h);
	}
	tsx_timer(t, &t->life, tsx_64t1(l), life_h);
	return send_or_fail(t, t->msg, t->msg_len);
}

static int non_invite_respond(struct sb_tsx *t, unsigned code, const char *buf, size_t len)
{
	struct sb_tsx_layer *l = t->layer;
	if (t->state != SB_TSX_TRYING && t->state != SB_TSX_PROCEEDING)
		return EINVAL;
	int err = tsx_store(t, buf, len);
	if (err)
		return err;
	t->status = (uint16_t)code;
	if (code < 200) {
		/* RFC 3261 §17.2.2: Trying to Proceeding on a provisional */
		t->state = SB_TSX_PROCEEDING;
	} else {
		/* RFC 3261 §17.2.2: a final response moves to Completed and
		 * starts Timer J: 64*T1 for unreliable transports, zero for
		 * reliable ones */
		t->state = SB_TSX_COMPLETED;
		tsx_timer(t, &t->life, (t->flags & TSX_F_RELIABLE) ? 0 : tsx_64t1(l), life_h);
	}
	return send_or_fail(t, t->msg, t->msg_len);
}

int sb_tsx_respond(struct sb_tsx *t, const char *buf, size_t len)
{
	unsigned code = status_of(buf, len);
	if (!code || (t->kind != SB_TSX_SERVER_INVITE && t->kind != SB_TSX_SERVER_NON_INVITE))
		return EINVAL;
	return is_invite(t) ? invite_respond(t, code, buf, len)
			    : non_invite_respond(t, code, buf, len);
}

/* An ACK that matched server INVITE transaction t by key. */
static void server_ack(struct sb_tsx *t, const struct sb_tp_rx *rx)
{
	struct sb_tsx_layer *l = t->layer;
	if (t->flags & TSX_F_2543) {
		/* RFC 3261 §17.2.3 (RFC 2543): "the To tag of the ACK matches
		 * the To tag of the response sent by the server transaction" */
		const struct sb_nameaddr *to;
		bool known = t->msg || (t->flags & TSX_F_TAG_ONLY);
		struct sb_slice mine = t->msg ? sb_slice_from(t->msg + t->tag_off, t->tag_len)
					      : SB_SLICE_NULL;
		struct sb_slice theirs = SB_SLICE_NULL;
		if (sb_sip_msg_to(rx->msg, &to) == 0)
			theirs = to->tag;
		if (!known || mine.l != theirs.l || (mine.l && !sb_slice_eq(mine, theirs))) {
			if (l->cfg.ack_h)
				l->cfg.ack_h(NULL, rx, l->cfg.arg);
			return;
		}
	}
	switch (t->state) {
	case SB_TSX_COMPLETED:
		/* RFC 3261 §17.2.1: the ACK moves Completed to Confirmed, stops
		 * G, and starts Timer I: T4 for unreliable transports, zero
		 * for reliable ones.  The ACK is not passed up. */
		t->state = SB_TSX_CONFIRMED;
		sb_timer_stop(l->cfg.loop, &t->retx);
		/* nothing is re-sent in Confirmed (§17.2.1 absorbs INVITE
		 * retransmissions) */
		if (t->flags & TSX_F_2543)
			keep_tag_only(t);
		else
			tsx_drop_msg(t);
		tsx_timer(t, &t->life, (t->flags & TSX_F_RELIABLE) ? 0 : l->cfg.t4_ms, life_h);
		break;
	case SB_TSX_ACCEPTED:
		/* RFC 6026 §7.1 (Figure 7): in Accepted the ACK goes to the TU */
		if (l->cfg.ack_h)
			l->cfg.ack_h(t, rx, l->cfg.arg);
		break;
	default:
		/* Confirmed: RFC 3261 §17.2.1 absorbs further ACKs; Proceeding:
		 * an ACK before any final response acknowledges nothing */
		break;
	}
}

void tsx_server_recv(struct sb_tsx *t, const struct sb_tp_rx *rx)
{
	if (rx->msg->mid == SB_METHOD_ACK) {
		if (is_invite(t))
			server_ack(t, rx);
		return;
	}
	/* a retransmission of the request */
	switch (t->state) {
	case SB_TSX_PROCEEDING:
		/* RFC 3261 §17.2.1, §17.2.2: "the most recent provisional
		 * response that was received from the TU MUST be passed to the
		 * transport layer for retransmission"; a 100 Trying still
		 * waiting for its 200 ms goes now: the peer is already
		 * retransmitting */
		if (t->flags & TSX_F_PENDING_100) {
			stop_trying(t);
			t->status = 100;
		}
		if (t->msg)
			send_or_fail(t, t->msg, t->msg_len);
		break;
	case SB_TSX_COMPLETED:
		/* RFC 3261 §17.2.1, §17.2.2: the final response again */
		if (t->msg)
			send_or_fail(t, t->msg, t->msg_len);
		break;
	default:
		/* Trying (§17.2.2), Confirmed (§17.2.1), Accepted (RFC 6026
		 * §7.1): absorbed */
		break;
	}
}

struct sb_tsx *sb_tsx_find_invite_for_cancel(struct sb_tsx_layer *l, struct sb_sip_msg *cancel)
{
	struct tsx_key k;
	/* RFC 3261 §9.2: the transaction a CANCEL cancels is found with the
	 * §17.2.3 rules, taking the method as INVITE (the CANCEL has the
	 * INVITE's top Via, Request-URI, Call-ID, From, To and CSeq number,
	 * §9.1) */
	if (!cancel || !cancel->is_request || tsx_key_server(&k, cancel, SB_LIT("INVITE")) != 0)
		return NULL;
	struct sb_hash_node *n = sb_hash_find(l->tab, k.b, k.len);
	if (!n)
		return NULL;
	struct sb_tsx *t = SB_HASH_OWNER(n, struct sb_tsx, node);
	return t->kind == SB_TSX_SERVER_INVITE ? t : NULL;
}
