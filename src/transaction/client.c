/* transaction/client: the client transactions of RFC 3261 §17.1, the
 * INVITE machine (§17.1.1, with the RFC 6026 §7.2 Accepted state) and the
 * non-INVITE machine (§17.1.2), and the ACK the INVITE machine sends for a
 * non-2xx final response (§17.1.1.3).
 *
 * Timers: `retx` is A (INVITE) or E (non-INVITE), run only over UDP; `life`
 * is B or F while waiting, then D, K or M. */
#include <errno.h>
#include <string.h>

#include "tsx_int.h"

static bool is_invite(const struct sb_tsx *t)
{
	return t->kind == SB_TSX_CLIENT_INVITE;
}

/* Tell the owner the request failed (408 for a timeout, 503 for a transport
 * error, RFC 3261 §16.7 step 2 / §16.8 / §17.1.4), unless a final response
 * already went up, and terminate. */
static void client_fail(struct sb_tsx *t, enum sb_tsx_end why)
{
	if (!(t->flags & TSX_F_FINAL_UP)) {
		t->flags |= TSX_F_FINAL_UP;
		t->status = why == SB_TSX_END_TIMEOUT ? 408 : 503;
		if (t->owner.response_h)
			t->owner.response_h(t, t->status, NULL, t->owner.arg);
	}
	tsx_terminate(t, why);
}

/* Hand a response to the owner.  A 2xx to an INVITE that nobody owns any
 * more (sb_tsx_set_owner(t, NULL)) goes to the layer's stray_h as if it had
 * matched nothing: RFC 3261 §16.7 step 10 and RFC 6026 §7.2 want every 2xx
 * to reach the UAC, and a proxy that has freed its request context relays
 * it statelessly from there. */
static void pass_up(struct sb_tsx *t, const struct sb_tp_rx *rx)
{
	struct sb_sip_msg *resp = rx->msg;
	const struct sb_tsx_layer_cfg *c = &t->layer->cfg;
	t->status = (uint16_t)resp->status;
	if (resp->status >= 200)
		t->flags |= TSX_F_FINAL_UP;
	if (t->owner.response_h)
		t->owner.response_h(t, resp->status, resp, t->owner.arg);
	else if (is_invite(t) && resp->status >= 200 && resp->status < 300 && c->stray_h)
		c->stray_h(rx, c->arg);
}

/* Timer A (INVITE, Calling) or E (non-INVITE, Trying or Proceeding). */
static void retx_h(void *arg)
{
	struct sb_tsx *t = arg;
	const struct sb_tsx_layer_cfg *c = &t->layer->cfg;
	bool waiting = is_invite(t) ? t->state == SB_TSX_CALLING
				    : t->state == SB_TSX_TRYING || t->state == SB_TSX_PROCEEDING;
	if (!waiting)
		return;
	if (t->nretx < UINT8_MAX)
		t->nretx++;
	uint32_t next;
	if (is_invite(t)) {
		/* RFC 3261 §17.1.1.2: "When timer A fires 2*T1 seconds later,
		 * the request MUST be retransmitted again ... and timer A reset
		 * with a value of 4*T1": doubling, no cap (B ends it) */
		next = tsx_backoff(t, false);
	} else if (t->state == SB_TSX_TRYING) {
		/* RFC 3261 §17.1.2.2: "reset with a value of MIN(2*T1, T2) ...
		 * MIN(4*T1, T2)": doubling, capped at T2 */
		next = tsx_backoff(t, true);
	} else {
		/* RFC 3261 §17.1.2.2: in Proceeding "Timer E MUST be reset with
		 * a value of T2 seconds" */
		next = c->t2_ms;
	}
	if (tsx_send(t, t->msg, t->msg_len) != 0) {
		client_fail(t, SB_TSX_END_TRANSPORT);
		return;
	}
	tsx_timer(t, &t->retx, next, retx_h);
}

/* Timer B, F (no final response), D, K, M (done waiting for strays). */
static void life_h(void *arg)
{
	struct sb_tsx *t = arg;
	switch (t->state) {
	case SB_TSX_CALLING:
		/* RFC 3261 §17.1.1.2: Timer B, "the client transaction SHOULD
		 * inform the TU that a timeout has occurred" */
	case SB_TSX_TRYING:
	case SB_TSX_PROCEEDING:
		/* RFC 3261 §17.1.2.2: Timer F in Trying or Proceeding */
		client_fail(t, SB_TSX_END_TIMEOUT);
		break;
	case SB_TSX_COMPLETED: /* D (§17.1.1.2), K (§17.1.2.2) */
	case SB_TSX_ACCEPTED:  /* M (RFC 6026 §7.2) */
		tsx_terminate(t, SB_TSX_END_NORMAL);
		break;
	default:
		break;
	}
}

/* The method and top-Via branch of the request in buf, found by parsing it
 * (the slices point into buf); 0 or EINVAL.  Apart, and not inlined, so
 * that a caller who names them does not pay for the 13 KiB message on its
 * stack. */
static __attribute__((noinline)) int parse_request(const char *buf, size_t len,
						   struct sb_slice *method, struct sb_slice *branch)
{
	struct sb_sip_msg m;
	const struct sb_via *via;
	const struct sb_cseq *cseq;
	if (!buf || sb_sip_parse(&m, buf, len, SB_SIP_DATAGRAM) != 0 || !m.is_request ||
	    m.mid == SB_METHOD_ACK)
		return EINVAL;
	/* RFC 3261 §17.1.3 matches on the branch and the CSeq method */
	if (sb_sip_msg_via(&m, &via) || !via->branch.p || sb_sip_msg_cseq(&m, &cseq) ||
	    !sb_slice_eq(cseq->method, m.method))
		return EINVAL;
	*method = m.method;
	*branch = via->branch;
	return 0;
}

/* Method and branch from the cfg when the caller names both (trusted, see
 * the header), else from parsing the request. */
static int request_ids(const struct sb_tsx_client_cfg *cfg, struct sb_slice *method,
		       struct sb_slice *branch)
{
	bool has_m = cfg->method.p && cfg->method.l;
	bool has_b = cfg->branch.p && cfg->branch.l;
	if (!has_m && !has_b)
		return parse_request(cfg->buf, cfg->len, method, branch);
	/* both or neither; ACKs have no client transaction (§17) */
	if (!has_m || !has_b || !cfg->buf || !cfg->len || sb_slice_eq(cfg->method, SB_LIT("ACK")))
		return EINVAL;
	*method = cfg->method;
	*branch = cfg->branch;
	return 0;
}

int sb_tsx_client_alloc(struct sb_tsx **tp, struct sb_tsx_layer *l,
			const struct sb_tsx_client_cfg *cfg)
{
	struct sb_slice method, branch;
	int err = request_ids(cfg, &method, &branch);
	if (err)
		return err;
	struct tsx_key k;
	if ((err = tsx_key_client(&k, method, branch)) != 0)
		return err;
	bool invite = sb_slice_eq(method, SB_LIT("INVITE"));
	struct sb_tsx *t;
	err = tsx_new(&t, l, invite ? SB_TSX_CLIENT_INVITE : SB_TSX_CLIENT_NON_INVITE, &k);
	if (err)
		return err;
	t->dst = cfg->dst;
	t->owner = cfg->owner;
	if (sb_tp_reliable(cfg->dst.proto))
		t->flags |= TSX_F_RELIABLE;
	/* RFC 3261 §17.1.1.2 / §17.1.2.2: Calling / Trying on creation */
	t->state = invite ? SB_TSX_CALLING : SB_TSX_TRYING;
	if ((err = tsx_store(t, cfg->buf, cfg->len)) != 0 || (err = tsx_link(t)) != 0 ||
	    (err = tsx_send(t, t->msg, t->msg_len)) != 0) {
		tsx_destroy(t);
		return err;
	}
	/* RFC 3261 §17.1.1.2: "If an unreliable transport is being used, the
	 * client transaction MUST start timer A with a value of T1 ... For any
	 * transport, the client transaction MUST start timer B with a value
	 * of 64*T1"; §17.1.2.2 the same for E and F */
	if (!(t->flags & TSX_F_RELIABLE)) {
		tsx_timer(t, &t->retx, l->cfg.t1_ms, retx_h);
	}
	tsx_timer(t, &t->life, tsx_64t1(l), life_h);
	*tp = t;
	return 0;
}

/* The first Via value of m, as written. */
static struct sb_slice top_via(const struct sb_sip_msg *m)
{
	struct sb_sip_values it;
	struct sb_slice v = SB_SLICE_NULL;
	sb_sip_values_init(&it, m, SB_HDR_VIA);
	sb_sip_values_next(&it, &v, NULL);
	return v;
}

/* RFC 3261 §17.1.1.3: the ACK for a non-2xx final response, built from the
 * request in t->msg and the response.  Values are copied as written (folded
 * LWS included), so this does not go through sb_sip_print_request, which
 * refuses line ends inside values. */
static int build_ack(struct sb_tsx *t, struct sb_sip_msg *resp, struct sb_buf *out)
{
	struct sb_sip_msg req;
	if (sb_sip_parse(&req, t->msg, t->msg_len, SB_SIP_DATAGRAM) != 0)
		return EBADMSG;
	const struct sb_cseq *cseq;
	struct sb_slice call_id;
	const struct sb_sip_hdr *from = sb_sip_hdr_first(&req, SB_HDR_FROM);
	const struct sb_sip_hdr *to = sb_sip_hdr_first(resp, SB_HDR_TO);
	struct sb_slice via = top_via(&req);
	if (!from || !to || !via.p || sb_sip_msg_cseq(&req, &cseq) ||
	    sb_sip_msg_call_id(&req, &call_id))
		return EBADMSG;
	uint32_t mf;
	if (sb_sip_msg_max_forwards(&req, &mf) != 0)
		mf = 70; /* RFC 3261 §8.1.1.6 */

	/* "The Request-URI of the ACK MUST be the same as the Request-URI of
	 * the original request" */
	sb_buf_append_cstr(out, "ACK ");
	sb_buf_append_slice(out, req.ruri);
	sb_buf_append_cstr(out, " SIP/2.0\r\nVia: ");
	/* "The ACK MUST contain a single Via header field, and this MUST be
	 * equal to the top Via header field of the original request" */
	sb_buf_append_slice(out, via);
	sb_buf_printf(out, "\r\nMax-Forwards: %u\r\nTo: ", (unsigned)mf);
	/* "The To header field in the ACK MUST equal the To header field in
	 * the response being acknowledged" (it carries the tag) */
	sb_buf_append_slice(out, to->value);
	/* "The Call-ID, From, and Request-URI ... MUST be equal to the values
	 * of those header fields in the request passed to the transport by the
	 * client transaction" */
	sb_buf_append_cstr(out, "\r\nFrom: ");
	sb_buf_append_slice(out, from->value);
	sb_buf_append_cstr(out, "\r\nCall-ID: ");
	sb_buf_append_slice(out, call_id);
	/* "the CSeq header field in the ACK MUST contain the same value for the
	 * sequence number as was present in the original request, but the
	 * method parameter MUST be equal to "ACK"" */
	sb_buf_printf(out, "\r\nCSeq: %u ACK\r\n", (unsigned)cseq->num);
	/* "If the INVITE request whose response is being acknowledged had
	 * Route header fields, those header fields MUST appear in the ACK" */
	for (const struct sb_sip_hdr *r = sb_sip_hdr_first(&req, SB_HDR_ROUTE); r;
	     r = sb_sip_hdr_next(&req, r))
		sb_buf_append_slice(out, r->line);
	sb_buf_append_cstr(out, "Content-Length: 0\r\n\r\n");
	return out->err;
}

/* A non-2xx final response in Calling or Proceeding: Completed, ACK, up. */
static void invite_failed(struct sb_tsx *t, const struct sb_tp_rx *rx)
{
	struct sb_sip_msg *resp = rx->msg;
	struct sb_tsx_layer *l = t->layer;
	sb_timer_stop(l->cfg.loop, &t->retx);
	sb_timer_stop(l->cfg.loop, &t->life);
	t->state = SB_TSX_COMPLETED;
	struct sb_buf ack;
	sb_buf_init(&ack, SB_SIP_MAX_MSG_SIZE);
	int err = build_ack(t, resp, &ack);
	/* in Completed the request is never sent again: its copy makes room
	 * for the ACK, which is sent again for every retransmitted response */
	if (!err) {
		tsx_drop_msg(t);
		err = tsx_store(t, ack.p, ack.len);
	}
	sb_buf_free(&ack);
	if (!err)
		err = tsx_send(t, t->msg, t->msg_len);
	pass_up(t, rx);
	if (err) {
		tsx_terminate(t, SB_TSX_END_TRANSPORT);
		return;
	}
	/* RFC 3261 §17.1.1.2: "The client transaction SHOULD start timer D
	 * when it enters the Completed state, with a value of at least 32
	 * seconds for unreliable transports, and a value of zero seconds for
	 * reliable transports" */
	tsx_timer(t, &t->life, (t->flags & TSX_F_RELIABLE) ? 0 : SB_TSX_TIMER_D_MS, life_h);
}

static void invite_recv(struct sb_tsx *t, const struct sb_tp_rx *rx)
{
	struct sb_tsx_layer *l = t->layer;
	unsigned code = rx->msg->status;
	switch (t->state) {
	case SB_TSX_CALLING:
	case SB_TSX_PROCEEDING:
		if (code < 200) {
			/* RFC 3261 §17.1.1.2: a provisional response moves
			 * Calling to Proceeding; no more retransmissions, and
			 * Timer B only guards Calling (a proxy runs Timer C,
			 * §16.6 step 11) */
			t->state = SB_TSX_PROCEEDING;
			sb_timer_stop(l->cfg.loop, &t->retx);
			sb_timer_stop(l->cfg.loop, &t->life);
			pass_up(t, rx);
		} else if (code < 300) {
			/* RFC 6026 §7.2: a 2xx moves to Accepted and starts
			 * Timer M = 64*T1; the request copy is no longer needed */
			t->state = SB_TSX_ACCEPTED;
			sb_timer_stop(l->cfg.loop, &t->retx);
			tsx_drop_msg(t);
			tsx_timer(t, &t->life, tsx_64t1(l), life_h);
			pass_up(t, rx);
		} else {
			invite_failed(t, rx);
		}
		break;
	case SB_TSX_COMPLETED:
		if (code >= 300) {
			/* RFC 3261 §17.1.1.2: "Any retransmissions of the final
			 * response that are received while in the Completed
			 * state MUST cause the ACK to be re-passed to the
			 * transport layer for retransmission, but the newly
			 * received response MUST NOT be passed up to the TU" */
			if (t->msg && tsx_send(t, t->msg, t->msg_len) != 0)
				tsx_terminate(t, SB_TSX_END_TRANSPORT);
		} else if (code >= 200) {
			/* a 2xx from another fork after a failure: see the
			 * header, it must reach the TU */
			pass_up(t, rx);
		}
		break;
	case SB_TSX_ACCEPTED:
		/* RFC 6026 §7.2: every 2xx that matches in Accepted is passed
		 * up to the TU (it ACKs them, §13.2.2.4); the rest is
		 * absorbed */
		if (code >= 200 && code < 300)
			pass_up(t, rx);
		break;
	default:
		break;
	}
}

static void non_invite_recv(struct sb_tsx *t, const struct sb_tp_rx *rx)
{
	struct sb_tsx_layer *l = t->layer;
	unsigned code = rx->msg->status;
	if (t->state != SB_TSX_TRYING && t->state != SB_TSX_PROCEEDING)
		return; /* Completed: RFC 3261 §17.1.2.2 absorbs retransmissions */
	if (code < 200) {
		/* RFC 3261 §17.1.2.2: Trying to Proceeding; Timer E keeps
		 * running and takes T2 the next time it fires */
		t->state = SB_TSX_PROCEEDING;
		pass_up(t, rx);
		return;
	}
	/* RFC 3261 §17.1.2.2: a final response moves to Completed and starts
	 * Timer K: T4 for unreliable transports, zero for reliable ones */
	t->state = SB_TSX_COMPLETED;
	sb_timer_stop(l->cfg.loop, &t->retx);
	tsx_drop_msg(t);
	tsx_timer(t, &t->life, (t->flags & TSX_F_RELIABLE) ? 0 : l->cfg.t4_ms, life_h);
	pass_up(t, rx);
}

void tsx_client_recv(struct sb_tsx *t, const struct sb_tp_rx *rx)
{
	if (is_invite(t))
		invite_recv(t, rx);
	else
		non_invite_recv(t, rx);
}

/* The deferred half of sb_tsx_layer_conn_failed(): Timer B or F is replaced
 * by this zero-delay timer, so the owner hears of the failure from the loop,
 * never from inside the send that noticed it. */
static void conn_fail_h(void *arg)
{
	struct sb_tsx *t = arg;
	if (t->state == SB_TSX_CALLING || t->state == SB_TSX_TRYING)
		client_fail(t, SB_TSX_END_TRANSPORT);
}

struct conn_lost {
	uint32_t conn_id;
	const struct sb_addr *peer;
};

/* One transaction of the walk over the layer's hash (live transactions). */
static void conn_lost_h(struct sb_hash_node *n, void *arg)
{
	const struct conn_lost *cl = arg;
	struct sb_tsx *t = SB_HASH_OWNER(n, struct sb_tsx, node);
	if (t->kind != SB_TSX_CLIENT_INVITE && t->kind != SB_TSX_CLIENT_NON_INVITE)
		return;
	/* RFC 3261 §17.1.4: waiting for the first response only; in
	 * Proceeding the request was delivered */
	if (t->state != SB_TSX_CALLING && t->state != SB_TSX_TRYING)
		return;
	if (!sb_tp_reliable(t->dst.proto))
		return;
	bool on_conn = cl->conn_id && t->dst.conn_id == cl->conn_id;
	bool to_peer = !t->dst.conn_id && cl->peer && sb_addr_eq(&t->dst.addr, cl->peer);
	if (!on_conn && !to_peer)
		return;
	struct sb_loop *loop = t->layer->cfg.loop;
	sb_timer_stop(loop, &t->retx);
	/* Timer B or F runs in Calling and Trying, and moving a running timer
	 * cannot fail: nothing here leaves the hash during the walk */
	(void)sb_timer_start(loop, &t->life, 0, conn_fail_h, t);
}

void sb_tsx_layer_conn_failed(struct sb_tsx_layer *l, uint32_t conn_id,
			      const struct sb_addr *peer)
{
	struct conn_lost cl = { conn_id, peer };
	sb_hash_walk(l->tab, conn_lost_h, &cl);
}
