/* ua/incoming: requests that reach the phone (RFC 3261 §8.2, §12.2.2,
 * §13.3) and our answers to INVITEs.
 *
 *  - A new INVITE: the incoming policy first (DND and BUSY: 486, DECLINE:
 *    603, SB_UA_MAX_CALLS calls: 486), forwarding by the phone (302 with
 *    the target as Contact: always, when busy, after fwd_noanswer_ms of
 *    ringing), else 100, 180 with our To tag (an early dialog, §12.1.1)
 *    and INCOMING; answered by sb_ua_answer() or after auto_answer_ms.
 *  - Our 2xx is retransmitted by us until its ACK (§13.3.1.4: T1
 *    doubling up to T2; the transaction layer passes 2xx retransmissions
 *    to the TU, RFC 6026); no ACK in 64*T1 ends the call with BYE.
 *  - CANCEL (§9.2): 200 to the CANCEL, 487 to the INVITE, ENDED.
 *  - In a dialog: BYE (200, ENDED "bye"), re-INVITE (hold and resume by
 *    the peer, RFC 3264 §8.4; 491 while ours is pending, §14.2), REFER and
 *    NOTIFY (refer.c), OPTIONS and INFO (200).  A request for a dialog we
 *    do not have gets 481 (§12.2.2), one out of order 500.
 *  - Outside a dialog: OPTIONS 200 (§11.2), other methods 405 with Allow.
 *  - An INVITE with Replaces (RFC 3891) naming a call of ours is answered
 *    at once and the replaced call is ended with BYE after the ACK.
 *  - A dialog whose first hop we cannot reach (a sips: or host-name
 *    Contact, no server) sends its requests where the INVITE came from.
 *  - An answer we cannot use in the ACK (our offer was in the 2xx) ends
 *    the call with BYE (ENDED 488, no ANSWERED for a new call). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ua_int.h"

/* RFC 3581 §4: the response goes back where the request came from */
static struct sb_tp_dest rx_dest(const struct sb_tp_rx *rx)
{
	return ua_rx_dest(rx);
}

/* An event for an INVITE we refused or forwarded at once: no call. */
static void emit_nocall(struct sb_ua *ua, enum sb_ua_event_kind kind, unsigned code,
			const char *reason, const char *peer)
{
	struct sb_ua_event ev = {
		.kind = kind,
		.call_id = ++ua->next_id,
		.code = code,
		.reason = reason,
		.peer = peer,
	};
	ua_deliver(ua, &ev);
}

/* The Record-Route lines of req: RFC 3261 §12.1.1, a UAS copies them
 * into every response that makes a dialog (18x, 2xx). */
static void copy_record_route(struct sb_sip_msg *req, struct sb_buf *out)
{
	for (const struct sb_sip_hdr *h = sb_sip_hdr_first(req, SB_HDR_RECORD_ROUTE); h;
	     h = sb_sip_hdr_next(req, h))
		sb_buf_append_slice(out, h->line);
}

/* Print a response of ours to the INVITE of c (with our To tag). */
static int print_invite_response(struct sb_call *c, struct sb_sip_msg *req, unsigned code,
				 const char *reason, struct sb_slice extra, struct sb_slice ctype,
				 struct sb_slice body, struct sb_buf *out)
{
	struct sb_buf ex;
	sb_buf_init(&ex, UA_OUT_MAX);
	if (code > 100 && code < 300)
		copy_record_route(req, &ex);
	if (code >= 180 && code < 300) {
		char contact[UA_MAX_URI];
		ua_contact(c->ua, c->in_src.proto, contact, sizeof contact);
		sb_buf_printf(&ex, "Contact: %s\r\n", contact);
	}
	sb_buf_append_slice(&ex, extra);
	struct sb_sip_response_spec spec = {
		.code = code,
		.reason = reason ? sb_slice_cstr(reason) : SB_SLICE_NULL,
		.to_tag = sb_slice_cstr(c->dlg.local_tag),
		.extra = sb_buf_slice(&ex),
		.content_type = ctype,
		.body = body,
	};
	int err = ex.err ? ex.err : sb_sip_print_response(out, req, &spec);
	sb_buf_free(&ex);
	return err;
}

/* A final response other than 2xx to the pending INVITE of c. */
static void respond_invite(struct sb_call *c, unsigned code, const char *reason,
			   struct sb_slice extra)
{
	if (!c->st || !c->in_msg)
		return;
	struct sb_buf b;
	sb_buf_init(&b, UA_OUT_MAX);
	if (print_invite_response(c, c->in_msg, code, reason, extra, SB_SLICE_NULL, SB_SLICE_NULL,
				  &b) == 0)
		(void)sb_tsx_respond(c->st, b.p, b.len);
	sb_buf_free(&b);
}

/* ---------------------------------------------------- 2xx until the ACK */

static void resp_timer_h(void *arg)
{
	struct sb_call *c = arg;
	struct sb_ua *ua = c->ua;
	sb_msec_t now = sb_loop_now(ua->cfg.loop);
	if (now - c->resp_start >= 64u * (sb_msec_t)ua->t1_ms) {
		/* RFC 3261 §13.3.1.4: "If the server retransmits the 2xx
		 * response for 64*T1 seconds without receiving an ACK, the
		 * dialog is confirmed, but the session SHOULD be terminated ...
		 * with a BYE" */
		ua_log(ua, SB_LOG_WARN, "call %u: no ACK for our 2xx", c->id);
		free(c->resp_buf);
		c->resp_buf = NULL;
		c->reinv_in = false;
		if (c->state == UA_CALL_IN_ANSWERED)
			c->state = UA_CALL_ESTABLISHED;
		ua_call_bye(c, 408, "no ACK");
		return;
	}
	(void)ua_send(ua, &c->resp_dst, c->resp_buf, c->resp_len);
	/* "an interval that starts at T1 seconds and doubles for each
	 * retransmission until it reaches T2 seconds" */
	c->resp_iv = c->resp_iv * 2 > SB_TSX_T2_MS ? SB_TSX_T2_MS : c->resp_iv * 2;
	(void)sb_timer_start(ua->cfg.loop, &c->resp_timer, c->resp_iv, resp_timer_h, c);
}

int ua_send_2xx(struct sb_call *c, struct sb_tsx *st, const struct sb_tp_dest *dst,
		struct sb_buf *resp, uint32_t cseq, bool reinvite, bool offer)
{
	struct sb_ua *ua = c->ua;
	char *copy = malloc(resp->len);
	if (!copy)
		return ENOMEM;
	memcpy(copy, resp->p, resp->len);
	ua_stop_2xx(c);
	c->resp_buf = copy;
	c->resp_len = resp->len;
	c->resp_cseq = cseq;
	c->resp_reinvite = reinvite;
	c->resp_offer = offer;
	c->resp_dst = *dst;
	c->resp_iv = ua->t1_ms;
	c->resp_start = sb_loop_now(ua->cfg.loop);
	int err = st ? sb_tsx_respond(st, copy, resp->len) : ua_send(ua, dst, copy, resp->len);
	/* the ACK may have come inside the send (a loop on one thread);
	 * retransmit only while still waiting */
	if (c->resp_buf == copy)
		(void)sb_timer_start(ua->cfg.loop, &c->resp_timer, c->resp_iv, resp_timer_h, c);
	return err;
}

void ua_stop_2xx(struct sb_call *c)
{
	sb_timer_stop(c->ua->cfg.loop, &c->resp_timer);
	free(c->resp_buf);
	c->resp_buf = NULL;
}

/* -------------------------------------------------------------- answer */

static void st_end_h(struct sb_tsx *t, enum sb_tsx_end why, void *arg)
{
	struct sb_call *c = arg;
	(void)why;
	if (c->st == t)
		c->st = NULL;
}

int sb_ua_answer(struct sb_call *c)
{
	if (!ua_is_live(c) || c->state != UA_CALL_IN_RINGING || !c->st || !c->in_msg)
		return EINVAL;
	struct sb_ua *ua = c->ua;
	sb_timer_stop(ua->cfg.loop, &c->ring_timer);
	sb_timer_stop(ua->cfg.loop, &c->noanswer_timer);
	/* call waiting: the call we are in goes on hold first */
	if (!c->replaces) {
		struct sb_call *o;
		for (o = ua->calls; o; o = o->next)
			if (o != c && o->state == UA_CALL_ESTABLISHED && !o->local_hold &&
			    !o->want_hold)
				(void)sb_ua_hold(o);
	}
	struct sb_buf sdp, b;
	sb_buf_init(&sdp, UA_OUT_MAX);
	sb_buf_init(&b, UA_OUT_MAX);
	struct ua_media m;
	bool offer = !c->in_msg->body.l;
	int err;
	if (offer) {
		/* RFC 3261 §13.3.1.1: no offer in the INVITE: ours goes in the
		 * 2xx, the answer comes in the ACK */
		err = ua_sdp_offer(c, SB_SDP_DIR_SENDRECV, &sdp);
	} else {
		err = ua_sdp_answer(c, c->in_msg->body, SB_SDP_DIR_SENDRECV, false, &sdp, &m);
	}
	if (err) {
		sb_buf_free(&sdp);
		sb_buf_free(&b);
		/* RFC 3264 §6 / RFC 3261 §13.3.1.3: nothing in common */
		respond_invite(c, 488, NULL, SB_SLICE_NULL);
		ua_call_end(c, 488, "not acceptable");
		return 0;
	}
	err = print_invite_response(c, c->in_msg, 200, NULL,
				    SB_LIT(UA_ALLOW UA_SUPPORTED "User-Agent: sbphone\r\n"),
				    SB_LIT("application/sdp"), sb_buf_slice(&sdp), &b);
	const struct sb_cseq *cs;
	if (!err && sb_sip_msg_cseq(c->in_msg, &cs) != 0)
		err = EBADMSG;
	if (!err) {
		c->state = UA_CALL_IN_ANSWERED;
		if (!offer) {
			c->remote_hold = m.remote_hold;
			ua_apply_media(c, &m);
		}
		err = ua_send_2xx(c, c->st, &c->in_src, &b, cs->num, false, offer);
	}
	sb_buf_free(&sdp);
	sb_buf_free(&b);
	if (err) {
		ua_log(ua, SB_LOG_WARN, "call %u: cannot answer: %s", c->id, strerror(err));
		ua_call_end(c, 500, "failed");
	}
	return 0;
}

int sb_ua_reject(struct sb_call *c, unsigned code)
{
	if (!ua_is_live(c) || c->state != UA_CALL_IN_RINGING || !c->st)
		return EINVAL;
	if (code < 300 || code > 699)
		code = 486;
	respond_invite(c, code, NULL, SB_SLICE_NULL);
	ua_call_end(c, code, code == 603 ? "declined" : code == 486 ? "busy" : "rejected");
	return 0;
}

static void ring_timer_h(void *arg)
{
	(void)sb_ua_answer(arg);
}

/* RFC 3261 §21.3.3: 302 Moved Temporarily, the target as Contact. */
static void forward(struct sb_call *c, const char *target)
{
	char extra[UA_MAX_URI + 16];
	snprintf(extra, sizeof extra, "Contact: <%s>\r\n", target);
	respond_invite(c, 302, NULL, sb_slice_cstr(extra));
	ua_emit(c->ua, SB_UA_EV_FORWARDED, c, 302, "no answer", target);
	ua_call_end(c, 302, "forwarded");
}

static void noanswer_timer_h(void *arg)
{
	struct sb_call *c = arg;
	if (c->state == UA_CALL_IN_RINGING && c->ua->cfg.fwd_noanswer)
		forward(c, c->ua->cfg.fwd_noanswer);
}

/* ------------------------------------------------------------ requests */

/* A response to rx at once, from a new server transaction, keeping the
 * request's To tag (in a dialog) or giving one. */
static void reply_extra(struct sb_ua *ua, const struct sb_tp_rx *rx, unsigned code,
			const char *reason, const char *extra)
{
	ua_reply(ua, rx, code, reason, NULL, extra ? sb_slice_cstr(extra) : SB_SLICE_NULL);
}

/* The peer's URI (From) of a request into out. */
static void from_uri(struct sb_sip_msg *m, char *out, size_t cap)
{
	const struct sb_nameaddr *from;
	out[0] = 0;
	if (sb_sip_msg_from(m, &from) == 0 && from->uri_s.l < cap)
		ua_copy_unfold(out, cap, from->uri_s);
}

/* Refuse or forward a new INVITE at once, by policy. */
static void refuse(struct sb_ua *ua, const struct sb_tp_rx *rx, unsigned code,
		   const char *reason, const char *target)
{
	char peer[UA_MAX_URI];
	from_uri(rx->msg, peer, sizeof peer);
	if (target) {
		char extra[UA_MAX_URI + 16];
		snprintf(extra, sizeof extra, "Contact: <%s>\r\n", target);
		reply_extra(ua, rx, 302, NULL, extra);
		emit_nocall(ua, SB_UA_EV_FORWARDED, 302, reason, target);
		return;
	}
	reply_extra(ua, rx, code, NULL, NULL);
	emit_nocall(ua, SB_UA_EV_ENDED, code, reason, peer);
}

static unsigned live_count(const struct sb_ua *ua, bool established)
{
	unsigned n = 0;
	for (const struct sb_call *c = ua->calls; c; c = c->next)
		if (ua_is_live(c) && (!established || c->state == UA_CALL_ESTABLISHED))
			n++;
	return n;
}

static void invite_new(struct sb_ua *ua, const struct sb_tp_rx *rx)
{
	struct sb_sip_msg *m = rx->msg;
	struct sb_slice cid;
	const struct sb_nameaddr *from;
	const struct sb_cseq *cs;
	if (sb_sip_msg_call_id(m, &cid) || sb_sip_msg_from(m, &from) || sb_sip_msg_cseq(m, &cs))
		return;
	/* RFC 3261 §8.2.2.2: the same request by another path (a fork that
	 * came back): 482 */
	for (struct sb_call *c = ua->calls; c; c = c->next) {
		const struct sb_cseq *ccs;
		if (!ua_is_live(c) || c->outgoing || !c->in_msg ||
		    !sb_slice_eq(cid, sb_slice_cstr(c->dlg.call_id)) ||
		    !sb_slice_eq(from->tag, sb_slice_cstr(c->dlg.remote_tag)) ||
		    sb_sip_msg_cseq(c->in_msg, &ccs) || ccs->num != cs->num)
			continue;
		reply_extra(ua, rx, 482, NULL, NULL);
		return;
	}
	if (ua->shutting) {
		reply_extra(ua, rx, 480, NULL, NULL);
		return;
	}
	struct sb_call *replaced = NULL;
	if (sb_sip_hdr_first(m, SB_HDR_REPLACES)) {
		unsigned code = 481;
		replaced = ua_replaces_find(ua, m, &code);
		if (!replaced) {
			/* RFC 3891 §3: no such dialog: 481 (a malformed one 400;
			 * early-only for a confirmed dialog 486) */
			reply_extra(ua, rx, code, NULL, NULL);
			return;
		}
	}
	if (live_count(ua, false) >= SB_UA_MAX_CALLS) {
		refuse(ua, rx, 486, "busy", replaced ? NULL : ua->cfg.fwd_busy);
		return;
	}
	if (!replaced) {
		bool in_call = live_count(ua, true) > 0;
		if (ua->cfg.fwd_always) {
			refuse(ua, rx, 302, "always", ua->cfg.fwd_always);
			return;
		}
		switch (ua->cfg.incoming) {
		case SB_UA_IN_DND:
			refuse(ua, rx, 486, "do not disturb", NULL);
			return;
		case SB_UA_IN_BUSY:
			refuse(ua, rx, 486, "busy", ua->cfg.fwd_busy);
			return;
		case SB_UA_IN_DECLINE:
			refuse(ua, rx, 603, "declined", NULL);
			return;
		default:
			break;
		}
		if (in_call && ua->cfg.fwd_busy) {
			refuse(ua, rx, 486, "busy", ua->cfg.fwd_busy);
			return;
		}
	}

	struct sb_call *c = ua_call_new(ua, false);
	if (!c) {
		reply_extra(ua, rx, 500, NULL, NULL);
		return;
	}
	c->in_buf = malloc(m->raw.l);
	c->in_msg = malloc(sizeof *c->in_msg);
	int err = c->in_buf && c->in_msg ? 0 : ENOMEM;
	if (!err) {
		memcpy(c->in_buf, m->raw.p, m->raw.l);
		c->in_len = m->raw.l;
		err = sb_sip_parse(c->in_msg, c->in_buf, c->in_len, SB_SIP_DATAGRAM);
	}
	c->in_src = rx_dest(rx);
	ua_random_hex(c->dlg.local_tag, UA_TAG_HEX);
	char tag[UA_TAG_HEX + 1];
	memcpy(tag, c->dlg.local_tag, sizeof tag);
	if (!err)
		err = ua_dialog_uas(&c->dlg, c->in_msg, tag, rx->proto);
	struct sb_tp_dest hop;
	if (!err && ua_dialog_dest(ua, &c->dlg, &hop) != 0) {
		/* a Contact (or first route) we cannot reach, and no server:
		 * our requests in the dialog go where the INVITE came from */
		c->dlg.pin = rx_dest(rx);
		c->dlg.pinned = true;
	}
	if (err) {
		c->state = UA_CALL_ENDED;
		ua_reap_soon(ua);
		reply_extra(ua, rx, err == ENOMEM ? 500 : 400, NULL, NULL);
		return;
	}
	struct sb_tsx_owner own = { .end_h = st_end_h, .arg = c };
	err = sb_tsx_server_alloc(&c->st, ua->layer, rx, &own);
	if (err) {
		c->st = NULL;
		c->state = UA_CALL_ENDED;
		ua_reap_soon(ua);
		if (err == ENOSPC)
			reply_extra(ua, rx, 503, NULL, NULL);
		return;
	}
	snprintf(c->peer, sizeof c->peer, "%s", c->dlg.remote_uri);
	c->state = UA_CALL_IN_RINGING;
	c->replaced = replaced;
	c->replaces = replaced != NULL;
	/* RFC 3261 §8.2.6.1 / §17.2.1: 100 Trying at once; then 180 with our
	 * tag (§13.3.1.1) */
	struct sb_buf b;
	sb_buf_init(&b, UA_OUT_MAX);
	if (print_invite_response(c, c->in_msg, 100, NULL, SB_SLICE_NULL, SB_SLICE_NULL,
				  SB_SLICE_NULL, &b) == 0)
		(void)sb_tsx_respond(c->st, b.p, b.len);
	sb_buf_reset(&b);
	if (!replaced && print_invite_response(c, c->in_msg, 180, NULL, SB_SLICE_NULL,
					       SB_SLICE_NULL, SB_SLICE_NULL, &b) == 0)
		(void)sb_tsx_respond(c->st, b.p, b.len);
	sb_buf_free(&b);
	ua_emit(ua, SB_UA_EV_INCOMING, c, 0, replaced ? "replaces" : "ringing", NULL);
	if (!ua_is_live(c) || c->state != UA_CALL_IN_RINGING)
		return; /* answered or refused from the event */
	if (replaced || ua->cfg.auto_answer_ms >= 0) {
		/* RFC 3891 §3: a Replaces for a confirmed dialog is accepted
		 * without ringing */
		uint32_t ms = replaced ? 0 : (uint32_t)ua->cfg.auto_answer_ms;
		(void)sb_timer_start(ua->cfg.loop, &c->ring_timer, ms, ring_timer_h, c);
	}
	if (!replaced && ua->cfg.fwd_noanswer)
		(void)sb_timer_start(ua->cfg.loop, &c->noanswer_timer,
				     ua->cfg.fwd_noanswer_ms ? ua->cfg.fwd_noanswer_ms : 1,
				     noanswer_timer_h, c);
}

/* A re-INVITE in the dialog of c (RFC 3261 §14.2). */
static void reinvite_in(struct sb_call *c, const struct sb_tp_rx *rx)
{
	struct sb_ua *ua = c->ua;
	struct sb_sip_msg *m = rx->msg;
	if (c->state != UA_CALL_ESTABLISHED) {
		reply_extra(ua, rx, c->state == UA_CALL_ENDING ? 481 : 491, NULL, NULL);
		return;
	}
	if (c->reinv) {
		/* §14.2: our own re-INVITE is pending: 491 Request Pending */
		reply_extra(ua, rx, 491, NULL, NULL);
		return;
	}
	if (c->reinv_in || c->resp_buf) {
		/* §14.2: the previous INVITE is not done: 500 with Retry-After */
		char ra[64];
		snprintf(ra, sizeof ra, "Retry-After: %u\r\n", 1 + ua_random_u32() % 10);
		reply_extra(ua, rx, 500, NULL, ra);
		return;
	}
	const struct sb_cseq *cs;
	if (sb_sip_msg_cseq(m, &cs) != 0)
		return;
	struct sb_buf sdp, b;
	sb_buf_init(&sdp, UA_OUT_MAX);
	sb_buf_init(&b, UA_OUT_MAX);
	struct ua_media mm;
	bool offer = !m->body.l;
	int err;
	/* RFC 3264 §8.4: we keep our own hold in the answer */
	enum sb_sdp_dir want = c->local_hold ? SB_SDP_DIR_SENDONLY : SB_SDP_DIR_SENDRECV;
	if (offer)
		err = ua_sdp_offer(c, ua_offer_dir(c), &sdp);
	else
		err = ua_sdp_answer(c, m->body, want, true, &sdp, &mm);
	if (err) {
		/* RFC 3261 §14.2: the session stays as it was */
		reply_extra(ua, rx, err == EPROTO ? 488 : 400, NULL, NULL);
		goto out;
	}
	struct sb_tsx *st;
	if (sb_tsx_server_alloc(&st, ua->layer, rx, NULL) != 0)
		goto out;
	ua_dialog_refresh_target(ua, &c->dlg, m);
	char contact[UA_MAX_URI], extra[UA_MAX_URI + 256];
	ua_contact(ua, rx->proto, contact, sizeof contact);
	snprintf(extra, sizeof extra, "Contact: %s\r\n" UA_ALLOW UA_SUPPORTED, contact);
	struct sb_sip_response_spec spec = {
		.code = 200,
		.extra = sb_slice_cstr(extra),
		.content_type = SB_LIT("application/sdp"),
		.body = sb_buf_slice(&sdp),
	};
	if (sb_sip_print_response(&b, m, &spec) != 0) {
		sb_tsx_abandon(st);
		goto out;
	}
	struct sb_tp_dest d = rx_dest(rx);
	c->reinv_in = true;
	if (!offer)
		ua_apply_media(c, &mm);
	(void)ua_send_2xx(c, st, &d, &b, cs->num, true, offer);
	if (!offer) {
		bool was = c->remote_hold;
		c->remote_hold = mm.remote_hold;
		if (c->remote_hold && !was)
			ua_emit(ua, SB_UA_EV_HELD, c, 0, "remote hold", NULL);
		else if (!c->remote_hold && was)
			ua_emit(ua, SB_UA_EV_RESUMED, c, 0, "remote resume", NULL);
	}
out:
	sb_buf_free(&sdp);
	sb_buf_free(&b);
}

static void bye_in(struct sb_call *c, const struct sb_tp_rx *rx)
{
	reply_extra(c->ua, rx, 200, NULL, NULL);
	/* RFC 3261 §15.1.2: requests still pending get 487 */
	if (c->state == UA_CALL_IN_RINGING)
		respond_invite(c, 487, NULL, SB_SLICE_NULL);
	ua_stop_2xx(c);
	/* our own BYE crossed theirs: the call ends for our reason */
	if (c->state == UA_CALL_ENDING && c->end_reason)
		ua_call_end(c, c->end_code, c->end_reason);
	else
		ua_call_end(c, 0, "bye");
}

static void cancel_in(struct sb_ua *ua, const struct sb_tp_rx *rx)
{
	struct sb_tsx *inv = sb_tsx_find_invite_for_cancel(ua->layer, rx->msg);
	struct sb_call *c = NULL;
	for (struct sb_call *k = ua->calls; inv && k; k = k->next)
		if (ua_is_live(k) && k->st == inv)
			c = k;
	/* RFC 3261 §9.2: 200 to a CANCEL that matches, 481 otherwise; the To
	 * tag of the INVITE's responses */
	ua_reply(ua, rx, inv ? 200 : 481, NULL, c ? c->dlg.local_tag : NULL, SB_SLICE_NULL);
	if (c && c->state == UA_CALL_IN_RINGING) {
		/* "the UAS MUST ... respond to the original request with a 487" */
		respond_invite(c, 487, NULL, SB_SLICE_NULL);
		ua_call_end(c, 487, "cancelled");
	}
}

void ua_request_h(const struct sb_tp_rx *rx, void *arg)
{
	struct sb_ua *ua = arg;
	struct sb_sip_msg *m = rx->msg;
	const struct sb_nameaddr *to;
	if (m->mid == SB_METHOD_CANCEL) {
		cancel_in(ua, rx);
		return;
	}
	if (sb_sip_msg_to(m, &to) != 0)
		return;
	if (to->tag.p) {
		struct sb_call *c = ua_call_by_dialog(ua, m, false);
		if (!c) {
			/* RFC 3261 §12.2.2 */
			reply_extra(ua, rx, 481, NULL, NULL);
			return;
		}
		if (!ua_dialog_remote_cseq(&c->dlg, m)) {
			reply_extra(ua, rx, 500, "Out of Order", NULL);
			return;
		}
		switch (m->mid) {
		case SB_METHOD_INVITE:
			reinvite_in(c, rx);
			return;
		case SB_METHOD_BYE:
			bye_in(c, rx);
			return;
		case SB_METHOD_REFER:
			ua_refer_in(c, rx);
			return;
		case SB_METHOD_NOTIFY:
			ua_notify_in(c, rx);
			return;
		case SB_METHOD_OPTIONS:
		case SB_METHOD_INFO:
			reply_extra(ua, rx, 200, NULL, NULL);
			return;
		default:
			reply_extra(ua, rx, 405, NULL, UA_ALLOW);
			return;
		}
	}
	switch (m->mid) {
	case SB_METHOD_INVITE:
		invite_new(ua, rx);
		return;
	case SB_METHOD_OPTIONS:
		/* RFC 3261 §11.2: what we would say to an INVITE, and our
		 * capabilities */
		reply_extra(ua, rx, 200, NULL,
			    UA_ALLOW UA_SUPPORTED "Accept: application/sdp\r\n");
		return;
	case SB_METHOD_BYE:
	case SB_METHOD_NOTIFY:
		reply_extra(ua, rx, 481, NULL, NULL);
		return;
	default:
		reply_extra(ua, rx, 405, NULL, UA_ALLOW);
		return;
	}
}

/* An ACK the transaction layer passed up: for a 2xx of ours
 * (RFC 3261 §13.3.1.4, RFC 6026 §7.1), or for nothing we know. */
void ua_ack_h(struct sb_tsx *st, const struct sb_tp_rx *rx, void *arg)
{
	struct sb_ua *ua = arg;
	struct sb_sip_msg *m = rx->msg;
	const struct sb_cseq *cs;
	(void)st;
	struct sb_call *c = ua_call_by_dialog(ua, m, false);
	if (!c || sb_sip_msg_cseq(m, &cs) != 0 || !c->resp_buf || cs->num != c->resp_cseq)
		return;
	bool offer = c->resp_offer;
	ua_stop_2xx(c);
	if (offer) {
		/* our offer was in the 2xx: the answer is in the ACK */
		struct ua_media mm;
		if (m->body.l && ua_sdp_take_answer(c, m->body, &mm) == 0) {
			c->remote_hold = mm.remote_hold;
			ua_apply_media(c, &mm);
		} else {
			/* RFC 3261 §13.3.1.4 / RFC 3264: no answer we can use
			 * means no session: a silent call helps nobody.  The
			 * dialog is confirmed by the ACK; BYE it */
			ua_log(ua, SB_LOG_WARN, "call %u: ACK without a usable answer: ending the "
			       "call", c->id);
			c->reinv_in = false;
			if (c->state == UA_CALL_IN_ANSWERED)
				c->state = UA_CALL_ESTABLISHED;
			ua_call_bye(c, 488, "not acceptable");
			return;
		}
	}
	if (c->resp_reinvite) {
		c->reinv_in = false;
		return;
	}
	if (c->state != UA_CALL_IN_ANSWERED)
		return;
	c->state = UA_CALL_ESTABLISHED;
	ua_emit(ua, SB_UA_EV_ANSWERED, c, 200, c->replaces ? "replaces" : "answered", NULL);
	if (!ua_is_live(c))
		return;
	ua_dtmf_flush_soon(c); /* digits that came before the ACK */
	if (c->replaced && ua_is_live(c->replaced)) {
		/* RFC 3891 §3: the replaced dialog ends with BYE */
		struct sb_call *old = c->replaced;
		c->replaced = NULL;
		if (old->state == UA_CALL_ESTABLISHED)
			ua_call_bye(old, 0, "replaced");
		else
			(void)sb_ua_hangup(old);
	}
	if (c->hangup_pending)
		ua_call_bye(c, 0, "bye");
}
