/* proxy/cancel: CANCEL both ways.  A CANCEL from upstream is answered and
 * cancels the pending branches of its request's context (RFC 3261 §16.10);
 * one whose INVITE server transaction lingers after its context was freed
 * (the final response was sent) is answered 200 and goes nowhere; one
 * without either is forwarded statelessly.  A branch is cancelled with a
 * CANCEL built from the request as forwarded, which its client transaction
 * keeps (§9.1), not before a provisional response has come, and given up
 * 64*T1 later when no final response follows.  The CANCEL's own client
 * transaction belongs to nobody: its response changes nothing. */
#include <stdlib.h>
#include <string.h>

#include "proxy_int.h"

/* RFC 3261 §9.1: a CANCEL with the Request-URI, Call-ID, To, From, CSeq
 * number and top Via of the request it cancels, and its Route fields. */
void px_branch_send_cancel(struct px_branch *b)
{
	struct px_req *r = b->r;
	struct sb_proxy *p = r->p;
	struct sb_sip_msg *m = p->tmsg;
	size_t len;
	const char *req = b->ct ? sb_tsx_request(b->ct, &len) : NULL;
	if (!req || sb_sip_parse(m, req, len, SB_SIP_DATAGRAM) != 0) {
		px_log(p, SB_LOG_WARN, "no request to build a CANCEL from");
		goto give_up;
	}
	const struct sb_sip_hdr *via = sb_sip_hdr_first(m, SB_HDR_VIA);
	const struct sb_sip_hdr *from = sb_sip_hdr_first(m, SB_HDR_FROM);
	const struct sb_sip_hdr *to = sb_sip_hdr_first(m, SB_HDR_TO);
	const struct sb_cseq *cs;
	struct sb_slice cid;
	if (!via || !from || !to || sb_sip_msg_cseq(m, &cs) || sb_sip_msg_call_id(m, &cid))
		goto give_up;
	struct sb_slice v0 = via->value, top;
	if (!sb_sip_list_next(&v0, &top))
		goto give_up;
	struct sb_buf extra;
	sb_buf_init(&extra, SB_SIP_MAX_MSG_SIZE);
	for (const struct sb_sip_hdr *h = sb_sip_hdr_first(m, SB_HDR_ROUTE); h;
	     h = sb_sip_hdr_next(m, h))
		sb_buf_append_slice(&extra, h->line);
	struct sb_sip_request_spec spec = {
		.method = SB_LIT("CANCEL"),
		.ruri = m->ruri,
		.via = top,
		.from = from->value,
		.to = to->value,
		.call_id = cid,
		.cseq = cs->num,
		.max_forwards = SB_PROXY_DEFAULT_MAX_FORWARDS,
		.extra = extra.len ? sb_buf_slice(&extra) : SB_SLICE_NULL,
	};
	sb_buf_reset(&p->out);
	int err = extra.err ? extra.err : sb_sip_print_request(&p->out, &spec);
	sb_buf_free(&extra);
	if (err)
		goto give_up;
	struct sb_tsx_client_cfg cc = {
		.dst = b->dst,
		.buf = p->out.p,
		.len = p->out.len,
	};
	struct sb_tsx *ct;
	if ((err = sb_tsx_client_alloc(&ct, p->layer, &cc)) != 0)
		px_log(p, SB_LOG_WARN, "cannot send CANCEL: %s", strerror(err));
give_up:;
	/* RFC 3261 §9.1: without a final response 64*T1 after the CANCEL,
	 * the INVITE is given up (px_timer_c_h on a cancelled branch) */
	uint32_t t1 = p->cfg.t1_ms ? p->cfg.t1_ms : SB_TSX_T1_MS;
	sb_timer_start(p->cfg.loop, &b->timer_c, 64u * (sb_msec_t)t1, px_timer_c_h, b);
}

/* RFC 3261 §16.7 step 10, §16.10: cancel a pending INVITE branch; §9.1: not
 * before a provisional response has come (it is sent when one does). */
void px_branch_cancel(struct px_branch *b)
{
	if (!px_branch_pending(b) || b->cancelled || !b->ct)
		return;
	/* §9.1: "a CANCEL ... SHOULD NOT be sent" before "a provisional
	 * response" has come: any, 100 Trying included (§16.10) */
	if (b->status < 100) {
		b->want_cancel = true;
		return;
	}
	b->cancelled = true;
	px_branch_send_cancel(b);
}

void px_cancel_others(struct px_req *r, const struct px_branch *except)
{
	for (struct px_branch *b = r->br; b; b = b->next)
		if (b != except)
			px_branch_cancel(b);
}

void px_handle_cancel(struct sb_proxy *p, const struct sb_tp_rx *rx)
{
	struct sb_tsx *inv = sb_tsx_find_invite_for_cancel(p->layer, rx->msg);
	struct sb_hash_node *n = inv ? sb_hash_find(p->by_st, &inv, sizeof inv) : NULL;
	/* every server INVITE transaction is a context's: one that lingers
	 * without it sent its final response, and the context was freed.
	 * §9.2: the CANCEL "has no effect" on a request that was answered:
	 * 200, and (§16.10) nothing to cancel downstream */
	bool answered = inv && !n;
	/* §16.10: "If a response context is not found, the element does not
	 * have any knowledge of the request to apply the CANCEL to.  It MUST
	 * statelessly forward the CANCEL request" (the request may have gone
	 * through a stateless element, or through us before a restart).  No
	 * server transaction: a retransmission is forwarded again, and the
	 * 200 comes back as a stray response, relayed like any (px_stray_h) */
	if (!n && !answered && px_cancel_stateless(p, rx) > 0)
		return;
	struct sb_tsx *st;
	struct sb_tsx_owner none = { 0 };
	if (sb_tsx_server_alloc(&st, p->layer, rx, &none) != 0)
		return;
	/* with a response context, 200 to the CANCEL and cancel the pending
	 * branches; without one and without a target to forward it to (a
	 * user of ours with no binding, a Request-URI naming us, an address
	 * that cannot be reached), 481 (§9.2) */
	unsigned code = n || answered ? 200 : 481;
	if (px_print_response(p, rx->msg, code, NULL, SB_SLICE_NULL) == 0)
		(void)sb_tsx_respond(st, p->out.p, p->out.len);
	if (!n)
		return;
	struct px_req *r = SB_HASH_OWNER(n, struct px_req, node);
	if (r->final_sent || r->cancelled)
		return;
	r->cancelled = true;
	px_cancel_others(r, NULL);
	/* branches without a provisional response cannot be cancelled yet
	 * (§9.1); 487 need not wait for them, nor for those a no-answer rule
	 * superseded (their answers no longer count) */
	bool waiting = false;
	for (const struct px_branch *b = r->br; b; b = b->next)
		waiting |= px_branch_live(b) && b->cancelled;
	if (!waiting && r->mid == SB_METHOD_INVITE)
		px_upstream_generated(r, 487, NULL);
	else
		px_try_finish(r);
	px_req_settle(r);
}
