/* proxy/context: the response context of RFC 3261 §16.7.  A request
 * context lives while it has work to do: until its final response has gone
 * upstream (or none will: the server transaction is gone) and every branch
 * has a final response or was given up.  Then it is freed at once
 * (px_req_settle) and the transactions that linger (Timers D, I, J, K, L,
 * M) are detached, but for the client INVITE transactions of a call:
 * they share a small record (struct px_call) with which a late 2xx (RFC
 * 6026 §8.1) still goes to the caller as while the context lived.  Responses
 * from the branches are relayed (provisionals, every 2xx to an INVITE) or
 * kept when best (§16.7 step 6) until every branch is answered; Timer C
 * (§16.6 step 11, §16.8) cancels or gives up a branch that hangs, and
 * either way the branch counts as a 408.  Before the final response goes
 * up, a busy forwarding rule may start new branches instead (fwd.c); the
 * branches a no-answer rule cancelled no longer count, nor are they waited
 * for.  When the caller's server transaction ends without a final
 * response, the pending branches are cancelled. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proxy_int.h"

static void free_targets(struct px_req *r)
{
	for (struct px_target *t = r->targets, *nt; t; t = nt) {
		nt = t->next;
		free(t);
	}
	r->targets = NULL;
}

void px_req_free(struct px_req *r)
{
	struct sb_proxy *p = r->p;
	sb_timer_stop(p->cfg.loop, &r->noanswer);
	for (struct px_branch *b = r->br, *nb; b; b = nb) {
		nb = b->next;
		sb_timer_stop(p->cfg.loop, &b->timer_c);
		free(b);
	}
	free_targets(r);
	if (p->rmsg_owner == r)
		p->rmsg_owner = NULL;
	if (r->st_key)
		sb_hash_remove(p->by_st, &r->node);
	if (r->prev)
		r->prev->next = r->next;
	else
		p->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	p->nreqs--;
	free(r->best);
	free(r->auth);
	free(r->fwd_user);
	free(r->buf);
	free(r);
}

struct sb_sip_msg *px_req_msg(struct px_req *r)
{
	struct sb_proxy *p = r->p;
	if (r->m)
		return r->m;
	if (p->rmsg_owner == r)
		return p->rmsg;
	p->rmsg_owner = NULL;
	if (!r->buf || sb_sip_parse(p->rmsg, r->buf, r->len, SB_SIP_DATAGRAM) != 0)
		return NULL;
	p->rmsg_owner = r;
	return p->rmsg;
}

/* What a freed context leaves behind.  A server transaction in
 * Completed, Confirmed or Accepted absorbs retransmissions (and ACKs) on
 * its own, and a non-INVITE client transaction only its own
 * retransmissions: both are detached (no owner).  A client INVITE
 * transaction in Completed or Accepted passes up every 2xx (a
 * retransmission, another fork downstream: RFC 6026 §7.2), which must
 * still reach the caller (§16.7 step 10, RFC 6026 §8.1) exactly as while
 * the context lived (branch_response without a server transaction): our
 * Via popped (§16.7 step 9), to the request's source over its transport
 * and connection (RFC 3261 §18.2.2, RFC 3581 §4: symmetric response
 * routing; the Via's sent-by is not where a NATed or TCP/TLS caller
 * listens).  So they share a struct px_call per call, the context's few
 * fields that needs, which goes with the last of them (Timer M, 32 s). */
static void call_unref(struct px_call *c)
{
	if (--c->refs)
		return;
	struct sb_proxy *p = c->p;
	if (c->prev)
		c->prev->next = c->next;
	else
		p->calls = c->next;
	if (c->next)
		c->next->prev = c->prev;
	free(c);
}

static void call_response_h(struct sb_tsx *t, unsigned status, struct sb_sip_msg *msg, void *arg)
{
	struct px_call *c = arg;
	struct sb_proxy *p = c->p;
	(void)t;
	if (status < 200 || status >= 300 || !msg || px_print_upstream(p, msg) != 0)
		return; /* the rest is nobody's business: the branch is over */
	struct sb_tp_dest d = { .proto = (enum sb_tp_proto)c->proto, .addr = c->src,
				.conn_id = c->conn_id, .local = c->local };
	(void)px_send(&d, p->out.p, p->out.len, p);
	/* stats: a call that failed upstream answered by a late fork counts
	 * once, whichever of its transactions relays first */
	if (!c->answered) {
		c->answered = true;
		p->st.calls_answered++;
	}
}

static void call_end_h(struct sb_tsx *t, enum sb_tsx_end why, void *arg)
{
	(void)t;
	(void)why;
	call_unref(arg);
}

/* The shared record of r's lingering client INVITE transactions, linked
 * in p->calls (sb_proxy_free frees what the layer never ended); NULL when
 * r has none or without memory. */
static struct px_call *call_new(struct px_req *r)
{
	uint32_t n = 0;
	for (const struct px_branch *b = r->br; b; b = b->next)
		if (b->ct && sb_tsx_kind(b->ct) == SB_TSX_CLIENT_INVITE)
			n++;
	if (!n)
		return NULL;
	struct px_call *c = malloc(sizeof *c);
	if (!c) {
		px_log(r->p, SB_LOG_WARN, "no memory for a call's lingering transactions: "
					  "a late 2xx goes by Via");
		return NULL;
	}
	struct sb_proxy *p = r->p;
	*c = (struct px_call){ .next = p->calls, .p = p, .src = r->src, .local = r->local,
			       .conn_id = r->conn_id, .refs = n, .proto = (uint8_t)r->proto,
			       .answered = !r->call_counted || r->answer_counted };
	if (p->calls)
		p->calls->prev = c;
	p->calls = c;
	return c;
}

void px_calls_free(struct sb_proxy *p)
{
	for (struct px_call *c = p->calls, *nc; c; c = nc) {
		nc = c->next;
		free(c);
	}
	p->calls = NULL;
}

/* Whether r has nothing left to do: its final response went upstream, or
 * none will (the server transaction is gone); no branch is pending (each
 * has its final response, or was given up: Timer C, a transport error),
 * so no Timer C runs and no CANCEL waits for a provisional response; the
 * no-answer rule cannot apply any more (fwd.c: not after the final
 * response, not without the server transaction). */
static bool req_done(const struct px_req *r)
{
	if (r->st && !r->final_sent)
		return false;
	for (const struct px_branch *b = r->br; b; b = b->next)
		if (px_branch_pending(b))
			return false;
	return true;
}

/* The fields a response we make copies from its request (RFC 3261
 * §8.2.6.2, sb_sip_print_response). */
static bool copied_to_response(enum sb_sip_hdr_id id)
{
	return id == SB_HDR_VIA || id == SB_HDR_FROM || id == SB_HDR_TO ||
	       id == SB_HDR_CALL_ID || id == SB_HDR_CSEQ;
}

/* Whether a branch may still start after request_h: a target not yet
 * tried (sequential forking), a 3xx's Contacts (§16.7 step 5 recursion),
 * or a user's busy or no-answer rule (fwd.c). */
static bool may_branch(const struct px_req *r)
{
	return r->next_target < r->ntargets || r->p->cfg.recurse_on_3xx || r->fwd_user;
}

void px_req_keep(struct px_req *r)
{
	struct sb_sip_msg *m = r->m;
	r->m = NULL;
	if (!m || req_done(r))
		return; /* freed at once by px_req_settle */
	if (may_branch(r)) {
		/* a new branch forwards the whole request */
		if ((r->buf = malloc(m->raw.l)) != NULL) {
			memcpy(r->buf, m->raw.p, m->raw.l);
			r->len = m->raw.l;
		}
		return;
	}
	/* every target has its branch and no other can come: the set is
	 * done with (its counts stay) */
	free_targets(r);
	/* only responses we make are left (408, 487, 500, a merged 401/407
	 * goes from the best response): the request line, the fields they
	 * copy, in their order, and the empty line */
	size_t need = m->start_line.l + 4;
	for (uint16_t k = 0; k < m->nhdrs; k++)
		if (copied_to_response(m->hdrs[k].id))
			need += m->hdrs[k].line.l;
	char *d = r->buf = malloc(need);
	if (!d)
		return; /* px_req_msg fails: px_upstream_generated copes */
	memcpy(d, m->start_line.p, m->start_line.l);
	d += m->start_line.l;
	memcpy(d, "\r\n", 2);
	d += 2;
	for (uint16_t k = 0; k < m->nhdrs; k++) {
		const struct sb_sip_hdr *h = &m->hdrs[k];
		if (copied_to_response(h->id)) {
			memcpy(d, h->line.p, h->line.l);
			d += h->line.l;
		}
	}
	memcpy(d, "\r\n", 2);
	r->len = need;
}

void px_req_settle(struct px_req *r)
{
	if (!req_done(r))
		return;
	struct px_call *c = call_new(r);
	struct sb_tsx_owner call = { .response_h = call_response_h, .end_h = call_end_h,
				     .arg = c };
	if (r->st)
		sb_tsx_set_owner(r->st, NULL);
	for (struct px_branch *b = r->br; b; b = b->next) {
		if (!b->ct)
			continue;
		/* without c (no memory) a 2xx of an ownerless client INVITE
		 * transaction goes to stray_h: relayed by Via, best effort */
		bool inv = sb_tsx_kind(b->ct) == SB_TSX_CLIENT_INVITE;
		sb_tsx_set_owner(b->ct, inv && c ? &call : NULL);
	}
	px_req_free(r);
}

void px_st_end_h(struct sb_tsx *t, enum sb_tsx_end why, void *arg)
{
	struct px_req *r = arg;
	(void)t;
	(void)why;
	if (r->st_key) {
		sb_hash_remove(r->p->by_st, &r->node);
		r->st_key = NULL;
	}
	r->st = NULL;
	if (!r->final_sent) {
		/* the caller is gone before its final response (a transport
		 * error): no rule rings anyone more (px_start_targets stops
		 * too), and the call is cancelled as if by a CANCEL; a 2xx
		 * that crosses still goes to the caller (RFC 6026) */
		sb_timer_stop(r->p->cfg.loop, &r->noanswer);
		if (r->mid == SB_METHOD_INVITE) {
			r->cancelled = true;
			px_cancel_others(r, NULL);
		}
	}
	px_req_settle(r);
}

/* Whether server transaction st still waits for its final response. */
static bool st_unanswered(const struct sb_tsx *st)
{
	enum sb_tsx_state s = sb_tsx_state(st);
	return s == SB_TSX_TRYING || s == SB_TSX_PROCEEDING;
}

/* Send a response upstream through the server transaction.  A final
 * response the transaction refuses (EMSGSIZE: past SB_SIP_MAX_MSG_SIZE;
 * ENOMEM) would leave it in Proceeding, which has no timer (RFC 3261
 * §17.2.1), holding its slot, with the caller never answered: a 500 we
 * make goes instead (§16.7 step 6 lets a proxy answer with a response it
 * makes), and failing that the transaction is ended. */
static void upstream(struct px_req *r, const char *buf, size_t len, unsigned code)
{
	if (!r->st)
		return;
	if (code >= 200)
		r->final_sent = true;
	int err = sb_tsx_respond(r->st, buf, len);
	if (!err)
		return;
	px_log(r->p, SB_LOG_WARN, "cannot send %u upstream: %s", code, strerror(err));
	if (code < 200 || !st_unanswered(r->st))
		return; /* a send error ends the transaction itself */
	if (code != 500) {
		r->final_sent = false;
		px_upstream_generated(r, 500, NULL);
	}
	if (r->st && st_unanswered(r->st)) {
		r->final_sent = true;
		sb_tsx_abandon(r->st);
	}
}

void px_upstream_generated(struct px_req *r, unsigned code, const char *reason)
{
	struct sb_proxy *p = r->p;
	struct sb_sip_msg *m = px_req_msg(r);
	if (m && px_print_response(p, m, code, reason, SB_SLICE_NULL) == 0) {
		upstream(r, p->out.p, p->out.len, code);
		return;
	}
	px_log(p, SB_LOG_WARN, "cannot print %u upstream", code);
	if (code >= 200 && r->st && !r->final_sent) {
		/* no final response can go up: the server transaction, which
		 * has no timer before it answers, is ended */
		r->final_sent = true;
		sb_tsx_abandon(r->st);
	}
}

bool px_branch_pending(const struct px_branch *b)
{
	return b->used && !b->final;
}

bool px_branch_live(const struct px_branch *b)
{
	return px_branch_pending(b) && !b->superseded;
}

/* §16.7 step 6: the best of the final responses: any 6xx, else the lowest
 * class; within a class the first.  For a non-INVITE request a 408 (a
 * timeout, or one received) is worse than anything: it is never sent
 * upstream (RFC 4320 §4.2), so any real answer beats it. */
bool px_better(unsigned neu, unsigned old, bool invite)
{
	if (old == 0)
		return true;
	if (!invite && (old == 408 || neu == 408))
		return old == 408 && neu != 408;
	if (old >= 600)
		return false;
	if (neu >= 600)
		return true;
	return neu / 100 < old / 100;
}

void px_store_best(struct px_req *r, unsigned status, const char *buf, size_t len)
{
	if (!px_better(status, r->best_status, r->mid == SB_METHOD_INVITE))
		return;
	free(r->best);
	r->best = NULL;
	r->best_len = 0;
	r->best_status = status;
	if (buf && (r->best = malloc(len)) != NULL) {
		memcpy(r->best, buf, len);
		r->best_len = len;
	}
}

/* Print msg with our Via popped (§16.7 step 9) into p->out. */
int px_print_upstream(struct sb_proxy *p, struct sb_sip_msg *msg)
{
	struct sb_sip_edits ed;
	sb_sip_edits_init(&ed);
	int err = sb_sip_edit_pop_via(&ed);
	sb_buf_reset(&p->out);
	return err ? err : sb_sip_print_edited(&p->out, msg, &ed);
}

static bool is_auth_hdr(const struct sb_sip_hdr *h)
{
	return h->id == SB_HDR_WWW_AUTHENTICATE || h->id == SB_HDR_PROXY_AUTHENTICATE;
}

/* §16.7 step 7: keep the challenges of a 401 or 407 from a branch. */
static void collect_auth(struct px_req *r, struct sb_sip_msg *msg)
{
	size_t need = 0;
	for (uint16_t k = 0; k < msg->nhdrs; k++)
		if (is_auth_hdr(&msg->hdrs[k]))
			need += msg->hdrs[k].line.l;
	if (!need || need > PX_MAX_AUTH - r->auth_len)
		return; /* none, or past the bound: that branch's are left out */
	char *a = realloc(r->auth, r->auth_len + need);
	if (!a)
		return;
	r->auth = a;
	for (uint16_t k = 0; k < msg->nhdrs; k++) {
		const struct sb_sip_hdr *h = &msg->hdrs[k];
		if (is_auth_hdr(h)) {
			memcpy(r->auth + r->auth_len, h->line.p, h->line.l);
			r->auth_len += h->line.l;
		}
	}
	r->auth_nbr++;
}

/* §16.7 step 7: "the proxy MUST collect any WWW-Authenticate and
 * Proxy-Authenticate header field values from all other 401 (Unauthorized)
 * and 407 (Proxy Authentication Required) responses received so far in
 * this response context and add them to this response": print the best
 * response with its own challenges replaced by all of them (its own
 * included) into p->out.  0 or an errno (EMSGSIZE when that is too long
 * to send: the caller sends the best response as it came instead). */
static int print_with_auth(struct px_req *r)
{
	struct sb_proxy *p = r->p;
	struct sb_sip_msg *m = p->tmsg;
	int err;
	if ((err = sb_sip_parse(m, r->best, r->best_len, SB_SIP_DATAGRAM)) != 0 || !m->nhdrs)
		return err ? err : EBADMSG;
	sb_buf_reset(&p->out);
	const char *hend = m->hdrs[0].line.p;
	sb_buf_append(&p->out, r->best, (size_t)(hend - r->best)); /* status line */
	bool put = false;
	for (uint16_t k = 0; k < m->nhdrs; k++) {
		const struct sb_sip_hdr *h = &m->hdrs[k];
		/* all of them where its first challenge was */
		if (is_auth_hdr(h) && !put) {
			sb_buf_append(&p->out, r->auth, r->auth_len);
			put = true;
		}
		if (!is_auth_hdr(h))
			sb_buf_append_slice(&p->out, h->line);
		hend = h->line.p + h->line.l;
	}
	if (!put)
		sb_buf_append(&p->out, r->auth, r->auth_len);
	/* the empty line and the body */
	sb_buf_append(&p->out, hend, r->best_len - (size_t)(hend - r->best));
	if (!p->out.err && p->out.len > SB_SIP_MAX_MSG_SIZE)
		return EMSGSIZE; /* the server transaction would refuse it */
	return p->out.err;
}

/* When every branch is answered and no target is left, send the best
 * response (§16.7 step 6), or 487 after a CANCEL (§16.10).  Branches a
 * no-answer rule superseded are not waited for: their answers no longer
 * count (but a 2xx of theirs still goes up). */
void px_try_finish(struct px_req *r)
{
again:
	px_start_targets(r);
	for (const struct px_branch *b = r->br; b; b = b->next)
		if (px_branch_live(b))
			return;
	if (r->next_target < r->ntargets && !r->cancelled && !r->no_new_branches)
		return;
	if (r->final_sent)
		return;
	if (r->cancelled && r->mid == SB_METHOD_INVITE) {
		px_upstream_generated(r, 487, NULL);
		return;
	}
	/* the called user's busy rule: new branches instead of the 486/600
	 * (bounded: each one spends one of SB_PROXY_MAX_FWD_HOPS) */
	if (px_fwd_busy(r))
		goto again;
	unsigned code = r->best_status ? r->best_status : 408;
	if (code == 408 && r->mid != SB_METHOD_INVITE) {
		/* RFC 4320 §4.2: "A SIP element MUST NOT send any response with
		 * a Status-Code of 408 to a non-INVITE request": nothing goes
		 * up.  The server transaction has no timer in Trying and would
		 * wait forever: it is ended here (the client's own Timer F,
		 * started before ours, has run out too) */
		r->final_sent = true;
		if (r->st)
			sb_tsx_abandon(r->st);
		return;
	}
	if (r->best && r->best_status != 503) {
		if ((code == 401 || code == 407) && r->auth_nbr > 1 && print_with_auth(r) == 0)
			upstream(r, r->p->out.p, r->p->out.len, code);
		else
			upstream(r, r->best, r->best_len, code);
		return;
	}
	/* §16.7 step 6: a 503 becomes 500 upstream; a timeout is a 408 */
	px_upstream_generated(r, code == 503 ? 500 : code, NULL);
}

static void branch_final(struct px_branch *b, unsigned status)
{
	b->final = true;
	b->status = status;
	sb_timer_stop(b->r->p->cfg.loop, &b->timer_c);
}

static void branch_response(struct px_branch *b, unsigned status, struct sb_sip_msg *msg)
{
	struct px_req *r = b->r;
	struct sb_proxy *p = r->p;
	bool invite = r->mid == SB_METHOD_INVITE;

	if (status < 200) {
		if (b->final)
			return;
		if (status > b->status)
			b->status = status;
		/* §16.7 step 2 / §16.8: a provisional response resets Timer C,
		 * "For 100 (Trying) responses, this step is not taken" */
		if (invite && status > 100 && !b->cancelled)
			sb_timer_start(p->cfg.loop, &b->timer_c, p->cfg.timer_c_ms, px_timer_c_h, b);
		/* §9.1: any provisional response, 100 included, lets the
		 * CANCEL waiting for it go */
		if (b->want_cancel && status >= 100) {
			b->want_cancel = false;
			b->cancelled = true;
			px_branch_send_cancel(b);
			return;
		}
		/* §16.7 step 5: provisional responses but 100 go upstream;
		 * not from a user the call was forwarded away from */
		if (status > 100 && msg && !r->final_sent && !r->cancelled && !b->superseded &&
		    px_print_upstream(p, msg) == 0)
			upstream(r, p->out.p, p->out.len, status);
		return;
	}

	if (status < 300) {
		bool first = !b->final;
		branch_final(b, status);
		/* §16.7 step 5: every 2xx to an INVITE goes upstream at once;
		 * to any other request only the first final */
		if (msg && (invite || !r->final_sent) && px_print_upstream(p, msg) == 0) {
			if (!r->st || (r->final_sent && sb_tsx_state(r->st) != SB_TSX_ACCEPTED)) {
				/* the server transaction is gone (Timer I, H, L,
				 * a transport error) or no longer takes it: every
				 * 2xx must still reach the caller (RFC 6026 §8.1;
				 * §16.7 step 9 still holds): forward statelessly
				 * to the request's source */
				struct sb_tp_dest d = { .proto = r->proto, .addr = r->src,
							.conn_id = r->conn_id,
							.local = r->local };
				r->final_sent = true;
				(void)px_send(&d, p->out.p, p->out.len, p);
			} else {
				upstream(r, p->out.p, p->out.len, status);
			}
			if (r->call_counted && !r->answer_counted) {
				r->answer_counted = true;
				p->st.calls_answered++;
			}
		}
		/* §16.7 step 10: a 2xx ends the other INVITE branches */
		if (invite && first)
			px_cancel_others(r, b);
		px_try_finish(r);
		return;
	}

	if (b->final)
		return;
	/* §16.8: Timer C cancelled the branch; its 487 is the end of a
	 * branch that gave no final response in time, a 408: the caller
	 * cancelled nothing */
	if (b->timer_c_fired && status == 487) {
		status = 408;
		msg = NULL;
	}
	branch_final(b, status);
	if (b->superseded) {
		/* cancelled by a no-answer rule: its 487 (or anything else)
		 * is not the caller's business */
		px_try_finish(r);
		return;
	}
	if (status >= 300 && status < 400 && p->cfg.recurse_on_3xx && msg && !r->cancelled &&
	    px_add_contacts(r, msg) > 0) {
		/* §16.7 step 5: recursion.  The Contacts recursed on "MUST be
		 * removed from the response" before it is stored; with all of
		 * them gone nothing is left worth relaying, so it is not */
		px_try_finish(r);
		return;
	}
	if (msg) {
		if ((status == 401 || status == 407))
			collect_auth(r, msg);
		if (px_print_upstream(p, msg) == 0)
			px_store_best(r, status, p->out.p, p->out.len);
	} else {
		px_store_best(r, status, NULL, 0); /* 408 timeout, 503 transport */
	}
	/* §16.7 step 5: after a 6xx "it MUST NOT create any new branches";
	 * step 10: "if a 6xx response is received ... SHOULD cancel all
	 * client pending transactions" */
	if (status >= 600)
		r->no_new_branches = true;
	if (invite && status >= 600)
		px_cancel_others(r, b);
	px_try_finish(r);
}

void px_branch_response(struct sb_tsx *t, unsigned status, struct sb_sip_msg *msg, void *arg)
{
	struct px_branch *b = arg;
	struct px_req *r = b->r;
	(void)t;
	branch_response(b, status, msg);
	px_req_settle(r);
}

void px_branch_end(struct sb_tsx *t, enum sb_tsx_end why, void *arg)
{
	struct px_branch *b = arg;
	struct px_req *r = b->r;
	(void)t;
	(void)why;
	b->ct = NULL;
	sb_timer_stop(r->p->cfg.loop, &b->timer_c);
	if (!b->final) {
		/* ended without a final response going up: count it as 408 */
		branch_final(b, 408);
		if (!b->superseded)
			px_store_best(r, 408, NULL, 0);
		px_try_finish(r);
	}
	px_req_settle(r);
}

/* RFC 3261 §16.8: Timer C fired.  With a provisional response the branch is
 * cancelled; without, it is as if it had timed out (408). */
void px_timer_c_h(void *arg)
{
	struct px_branch *b = arg;
	struct px_req *r = b->r;
	if (b->final)
		return; /* a stopped timer never fires: not reached */
	/* §16.8: "If the client transaction has received a provisional
	 * response, the proxy MUST generate a CANCEL request matching that
	 * transaction": any provisional, 100 Trying included */
	if (b->status >= 100 && !b->cancelled) {
		b->timer_c_fired = true;
		px_branch_cancel(b);
		px_req_settle(r);
		return;
	}
	/* no response at all, or none 64*T1 after our CANCEL (§9.1): the
	 * branch is given up as a 408 and "the client transaction MUST be
	 * destroyed" (§16.8).  Its end_h comes from the deferred free and
	 * drops the context's reference then. */
	branch_final(b, 408);
	if (!b->superseded)
		px_store_best(r, 408, NULL, 0);
	if (b->ct)
		sb_tsx_abandon(b->ct);
	px_try_finish(r);
	px_req_settle(r);
}
