/* ua/call: calls we make (RFC 3261 §13.2), ending calls (§9.1 CANCEL,
 * §15 BYE), hold and resume by re-INVITE (§14, RFC 3264 §8.4) and DTMF.
 *
 * An outgoing call: INVITE with an SDP offer to the Request-URI (through
 * the outbound proxy when there is one).  Its responses:
 *  - 1xx: 180/183 tell RINGING once; a hangup waiting for a provisional
 *    (§9.1: "a CANCEL ... SHOULD NOT be sent ... before a provisional
 *    response") sends its CANCEL now;
 *  - 2xx: the dialog (§12.1.2), our ACK through the route set
 *    (§13.2.2.4, re-sent for every retransmission of the 2xx), media from
 *    the answer, ANSWERED; a 2xx after our CANCEL is ACKed and BYEd; a 2xx
 *    from a second fork is ACKed and BYEd (§13.2.2.4), for at most
 *    UA_MAX_FORKS forks a call (the rest are ignored).  A dialog we cannot
 *    follow (a Record-Route we cannot take, or without a server a first
 *    hop that is no numeric sip: URI) is ACKed at the 2xx's source, since
 *    the ACK is required, and ended at once with a BYE there: ENDED
 *    "unroutable", no ANSWERED;
 *  - 401/407: the INVITE again with credentials, CSeq + 1, same Call-ID
 *    and From tag (§22.2), only for a challenge ua_auth_realm_ok() allows
 *    (our outbound proxy's, never the callee's); the transaction layer
 *    ACKs the 4xx;
 *  - 3xx: REDIRECTED and a new INVITE to the first Contact (§8.1.3.4), at
 *    most SB_UA_MAX_REDIRECTS times;
 *  - anything else: ENDED with the code and a word for it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ua_int.h"

/* A word for a final status, for ENDED. */
static const char *end_reason(unsigned status, bool have_msg)
{
	switch (status) {
	case 486:
	case 600:
		return "busy";
	case 603:
		return "declined";
	case 404:
	case 604:
		return "not found";
	case 480:
		return "unavailable";
	case 487:
		return "cancelled";
	case 488:
	case 606:
		return "not acceptable";
	case 401:
	case 407:
		return "unauthorized";
	case 403:
		return "forbidden";
	case 408:
		return have_msg ? "request timeout" : "timeout";
	case 503:
		return have_msg ? "service unavailable" : "transport error";
	default:
		if (status >= 300 && status < 400)
			return "redirected";
		return "failed";
	}
}

static unsigned live_calls(const struct sb_ua *ua)
{
	unsigned n = 0;
	for (const struct sb_call *c = ua->calls; c; c = c->next)
		n += ua_is_live(c);
	return n;
}

/* Forget a call that never got going: no event, the reaper frees it. */
static void discard(struct sb_call *c)
{
	c->state = UA_CALL_ENDED;
	ua_media_stop(c);
	ua_reap_soon(c->ua);
}

int ua_call_invite(struct sb_call *c)
{
	struct sb_ua *ua = c->ua;
	struct sb_tp_dest dst;
	int err = ua_out_dest(ua, sb_slice_cstr(c->ruri), &dst);
	if (err)
		return err;
	char via[256], from[UA_MAX_URI + UA_MAX_TAG + 16], contact[UA_MAX_URI];
	ua_via(ua, dst.proto, via, sizeof via);
	ua_contact(ua, dst.proto, contact, sizeof contact);
	snprintf(from, sizeof from, "<%s>;tag=%s", ua->aor, c->dlg.local_tag);
	uint32_t cseq = ++c->inv_cseq;

	struct sb_buf extra, sdp, b;
	sb_buf_init(&extra, UA_OUT_MAX);
	sb_buf_init(&sdp, UA_OUT_MAX);
	sb_buf_init(&b, UA_OUT_MAX);
	c->auth_line[0] = 0;
	if (c->auth.valid && c->auth_tries) {
		/* RFC 3261 §22.2: credentials for the Request-URI */
		size_t l0 = extra.len;
		err = ua_auth_line(&c->auth, ua->user, ua->cfg.password ? ua->cfg.password : "",
				   SB_LIT("INVITE"), sb_slice_cstr(c->ruri), &extra);
		if (!err && extra.len - l0 < sizeof c->auth_line) {
			memcpy(c->auth_line, extra.p + l0, extra.len - l0);
			c->auth_line[extra.len - l0] = 0;
		}
	}
	sb_buf_append_cstr(&extra, UA_ALLOW UA_SUPPORTED "User-Agent: sbphone\r\n");
	sb_buf_append_cstr(&extra, c->extra);
	if (!err)
		err = extra.err ? extra.err : ua_sdp_offer(c, SB_SDP_DIR_SENDRECV, &sdp);
	struct sb_sip_request_spec spec = {
		.method = SB_LIT("INVITE"),
		.ruri = sb_slice_cstr(c->ruri),
		.via = sb_slice_cstr(via),
		.from = sb_slice_cstr(from),
		.to = sb_slice_cstr(c->to_hdr),
		.call_id = sb_slice_cstr(c->dlg.call_id),
		.cseq = cseq,
		.max_forwards = 70,
		.contact = sb_slice_cstr(contact),
		.extra = sb_buf_slice(&extra),
		.content_type = SB_LIT("application/sdp"),
		.body = sb_buf_slice(&sdp),
	};
	if (!err)
		err = sb_sip_print_request(&b, &spec);
	char *copy = NULL;
	if (!err && !(copy = malloc(b.len)))
		err = ENOMEM;
	if (!err) {
		memcpy(copy, b.p, b.len);
		struct ua_req *r;
		err = ua_req_start(ua, c, UA_REQ_INVITE, cseq, &dst, b.p, b.len, &r);
		if (!err) {
			free(c->inv_buf);
			c->inv_buf = copy;
			c->inv_len = b.len;
			c->inv_dst = dst;
			c->inv = r;
			copy = NULL;
			c->provisional = false;
			c->state = UA_CALL_OUT_CALLING;
		}
	}
	free(copy);
	sb_buf_free(&extra);
	sb_buf_free(&sdp);
	sb_buf_free(&b);
	return err;
}

int sb_ua_call(struct sb_ua *ua, const char *target, struct sb_call **callp)
{
	return ua_call_out(ua, target, "", callp);
}

int ua_call_out(struct sb_ua *ua, const char *target, const char *extra, struct sb_call **callp)
{
	if (callp)
		*callp = NULL;
	char uri[UA_MAX_URI];
	if (!ua || ua->shutting || ua_expand_target(ua, target, uri, sizeof uri) != 0)
		return EINVAL;
	if (live_calls(ua) >= SB_UA_MAX_CALLS)
		return ENOSPC;
	struct sb_call *c = ua_call_new(ua, true);
	if (!c)
		return ENOMEM;
	snprintf(c->ruri, sizeof c->ruri, "%s", uri);
	snprintf(c->peer, sizeof c->peer, "%s", uri);
	snprintf(c->to_hdr, sizeof c->to_hdr, "<%s>", uri);
	snprintf(c->extra, sizeof c->extra, "%s", extra ? extra : "");
	/* RFC 3261 §8.1.1.4, §19.3: a Call-ID and a tag of our own */
	char cid[2 * UA_TAG_HEX + 1];
	ua_random_hex(cid, 2 * UA_TAG_HEX);
	snprintf(c->dlg.call_id, sizeof c->dlg.call_id, "%s@%s", cid, ua->host);
	ua_random_hex(c->dlg.local_tag, UA_TAG_HEX);
	int err = ua_call_invite(c);
	if (err) {
		ua_log(ua, SB_LOG_WARN, "call to %s failed: %s", uri, strerror(err));
		discard(c);
		return err;
	}
	ua_log(ua, SB_LOG_INFO, "call %u: calling %s", c->id, uri);
	if (callp)
		*callp = c;
	return 0;
}

/* ------------------------------------------------------------------ ACK */

/* RFC 3261 §13.2.2.4: the ACK for a 2xx is a request in the dialog, with
 * the INVITE's CSeq number and credentials, through the route set; it is
 * kept to be sent again for each retransmission of the 2xx. */
static void send_ack(struct sb_call *c, struct ua_dialog *d, uint32_t cseq)
{
	struct sb_ua *ua = c->ua;
	struct sb_buf b;
	struct sb_tp_dest dst;
	sb_buf_init(&b, UA_OUT_MAX);
	struct sb_slice extra = cseq == c->inv_cseq ? sb_slice_cstr(c->auth_line) : SB_SLICE_NULL;
	int err = ua_dialog_request(ua, d, "ACK", cseq, extra, SB_SLICE_NULL, SB_SLICE_NULL, &b,
				    &dst, NULL);
	if (err) {
		ua_log(ua, SB_LOG_WARN, "call %u: cannot build the ACK: %s", c->id, strerror(err));
		sb_buf_free(&b);
		return;
	}
	(void)ua_send(ua, &dst, b.p, b.len);
	if (d == &c->dlg) {
		char *copy = malloc(b.len);
		if (copy) {
			memcpy(copy, b.p, b.len);
			free(c->ack_buf);
			c->ack_buf = copy;
			c->ack_len = b.len;
			c->ack_cseq = cseq;
			c->ack_dst = dst;
		}
	}
	sb_buf_free(&b);
}

static void resend_ack(struct sb_call *c, uint32_t cseq)
{
	if (c->ack_buf && c->ack_cseq == cseq)
		(void)ua_send(c->ua, &c->ack_dst, c->ack_buf, c->ack_len);
	else
		send_ack(c, &c->dlg, cseq);
}

void ua_stray_2xx(struct sb_ua *ua, struct sb_sip_msg *m)
{
	const struct sb_cseq *cs;
	struct sb_call *c = ua_call_by_dialog(ua, m, true);
	if (c && sb_sip_msg_cseq(m, &cs) == 0)
		resend_ack(c, cs->num);
}

/* Whether dialog d can be followed; if not, pin it to the source of the
 * message being dispatched (its 2xx), where at least the ACK goes. */
static bool routable_or_pin(struct sb_ua *ua, struct ua_dialog *d)
{
	struct sb_tp_dest dst;
	if (!d->routes_bad && ua_dialog_dest(ua, d, &dst) == 0)
		return true;
	(void)ua_dialog_pin_source(ua, d);
	return false;
}

/* RFC 3261 §13.2.2.4: a 2xx from another fork than the one we took: ACK
 * it and end that dialog with BYE (bye false: a retransmission of a 2xx
 * whose fork we BYEd already: the ACK again). */
static void ack_and_bye_fork(struct sb_call *c, struct sb_sip_msg *req, struct sb_sip_msg *resp,
			     bool bye)
{
	struct sb_ua *ua = c->ua;
	struct ua_dialog *d = calloc(1, sizeof *d);
	const struct sb_cseq *cs;
	if (!d)
		return;
	if (ua_dialog_uac(d, req, resp, c->inv_dst.proto) == 0 && sb_sip_msg_cseq(resp, &cs) == 0) {
		(void)routable_or_pin(ua, d);
		send_ack(c, d, cs->num);
		if (!bye) {
			free(d);
			return;
		}
		struct sb_buf b;
		struct sb_tp_dest dst;
		uint32_t cseq;
		sb_buf_init(&b, UA_OUT_MAX);
		if (ua_dialog_request(ua, d, "BYE", 0, SB_SLICE_NULL, SB_SLICE_NULL, SB_SLICE_NULL,
				      &b, &dst, &cseq) == 0)
			(void)ua_req_start(ua, NULL, UA_REQ_OTHER, cseq, &dst, b.p, b.len, NULL);
		sb_buf_free(&b);
	}
	free(d);
}

/* ----------------------------------------------------------------- media */

void ua_apply_media(struct sb_call *c, const struct ua_media *m)
{
	if (ua_media_start(c, m) != 0)
		ua_log(c->ua, SB_LOG_WARN, "call %u: no media", c->id);
}

/* ------------------------------------------------------- INVITE answers */

static void send_cancel(struct sb_call *c);

/* Our INVITE was answered 2xx: the call is up (or, cancelled meanwhile,
 * ended at once). */
static void answered(struct sb_call *c, struct ua_req *r, struct sb_sip_msg *msg)
{
	struct sb_ua *ua = c->ua;
	struct sb_sip_msg *req = malloc(sizeof *req);
	int err = req ? sb_sip_parse(req, c->inv_buf, c->inv_len, SB_SIP_DATAGRAM) : ENOMEM;
	if (!err)
		err = ua_dialog_uac(&c->dlg, req, msg, c->inv_dst.proto);
	free(req);
	if (err) {
		/* no dialog (no To tag, a value too long to keep): nothing to
		 * ACK with; the peer's Timer H ends it */
		ua_log(ua, SB_LOG_WARN, "call %u: 2xx without a usable dialog: %s", c->id,
		       strerror(err));
		ua_call_end(c, 500, "bad answer");
		return;
	}
	/* RFC 3261 §13.2.2.4: the ACK is required even for a dialog we
	 * cannot follow: then it goes where the 2xx came from */
	bool routable = routable_or_pin(ua, &c->dlg);
	sb_timer_stop(ua->cfg.loop, &c->cancel_timer);
	send_ack(c, &c->dlg, r->cseq);
	if (c->cancel_wanted || c->cancel_sent || c->state == UA_CALL_ENDING) {
		/* RFC 3261 §9.1: the CANCEL lost the race; the call is BYEd */
		ua_call_bye(c, 487, "cancelled");
		return;
	}
	if (!routable) {
		/* a call whose requests would not reach the peer (no BYE, no
		 * re-INVITE through its proxies): ended at once, with a BYE
		 * to the 2xx's source */
		ua_log(ua, SB_LOG_WARN, "call %u: the dialog cannot be followed (route set or "
		       "remote target %s unreachable): ending it", c->id, c->dlg.target);
		ua_call_bye(c, 500, "unroutable");
		return;
	}
	struct ua_media m;
	const struct sb_sip_hdr *ct = sb_sip_hdr_first(msg, SB_HDR_CONTENT_TYPE);
	if (!ct || !msg->body.l || ua_sdp_take_answer(c, msg->body, &m) != 0) {
		/* RFC 3261 §13.2.2.4 / RFC 3264: an answer we cannot use: ACK
		 * (done) and BYE */
		ua_log(ua, SB_LOG_WARN, "call %u: the 2xx has no usable SDP answer", c->id);
		ua_call_bye(c, 488, "not acceptable");
		return;
	}
	c->remote_hold = m.remote_hold;
	c->state = UA_CALL_ESTABLISHED;
	ua_apply_media(c, &m);
	ua_emit(ua, SB_UA_EV_ANSWERED, c, msg->status, "answered", NULL);
	if (c->xfer_orig)
		ua_refer_progress(c, msg->status);
}

void ua_invite_response(struct ua_req *r, unsigned status, struct sb_sip_msg *msg)
{
	struct sb_call *c = r->call;
	if (!c || !ua_is_live(c))
		return;
	struct sb_ua *ua = c->ua;
	if (status >= 200 && status < 300 && msg) {
		const struct sb_nameaddr *to;
		if (c->dlg.up) {
			/* a retransmission, or another fork (§13.2.2.4) */
			if (sb_sip_msg_to(msg, &to) != 0)
				return;
			if (sb_slice_eq(to->tag, sb_slice_cstr(c->dlg.remote_tag))) {
				resend_ack(c, r->cseq);
				return;
			}
			/* another fork: ACK and BYE it once, for at most
			 * UA_MAX_FORKS of them */
			unsigned k;
			for (k = 0; k < c->nforks; k++)
				if (sb_slice_eq(to->tag, sb_slice_cstr(c->forks[k])))
					break;
			bool known = k < c->nforks;
			if (!known && (c->nforks >= UA_MAX_FORKS || to->tag.l >= UA_MAX_TAG)) {
				ua_log(ua, SB_LOG_DEBUG, "call %u: 2xx of one fork too many: ignored",
				       c->id);
				return;
			}
			if (!known)
				sb_slice_to_cstr(to->tag, c->forks[c->nforks++], UA_MAX_TAG);
			struct sb_sip_msg *req = malloc(sizeof *req);
			if (req && sb_sip_parse(req, c->inv_buf, c->inv_len, SB_SIP_DATAGRAM) == 0)
				ack_and_bye_fork(c, req, msg, !known);
			free(req);
			return;
		}
		if (r != c->inv) {
			/* a late 2xx to an INVITE we already moved past (a
			 * challenge, a redirect): take it as the answer */
			ua_log(ua, SB_LOG_INFO, "call %u: 2xx to an earlier INVITE", c->id);
		}
		answered(c, r, msg);
		return;
	}
	if (r != c->inv)
		return; /* an earlier INVITE of this call: its answer is old */
	if (status < 200) {
		if (c->state != UA_CALL_OUT_CALLING && c->state != UA_CALL_OUT_EARLY &&
		    c->state != UA_CALL_ENDING)
			return;
		c->provisional = true;
		if (c->cancel_wanted && !c->cancel_sent) {
			send_cancel(c);
			return;
		}
		if (status >= 180 && !c->rang && !c->cancel_sent) {
			c->rang = true;
			c->state = UA_CALL_OUT_EARLY;
			ua_emit(ua, SB_UA_EV_RINGING, c, status,
				status == 183 ? "session progress" : "ringing", NULL);
			if (c->xfer_orig)
				ua_refer_progress(c, status);
		}
		return;
	}
	bool cancelling = c->cancel_wanted || c->cancel_sent;
	sb_timer_stop(ua->cfg.loop, &c->cancel_timer);
	if ((status == 401 || status == 407) && msg && ua->cfg.password && !cancelling &&
	    c->auth_tries < UA_MAX_AUTH_TRIES) {
		char old[sizeof c->auth.nonce];
		snprintf(old, sizeof old, "%s", c->auth.nonce);
		bool had = c->auth_tries > 0;
		/* only our outbound proxy's challenge (ua_auth_realm_ok): a
		 * callee's 401 gets no digest of our password */
		if (ua_auth_take(&c->auth, msg, ua) == 0 &&
		    (!had || c->auth.stale || strcmp(old, c->auth.nonce) != 0)) {
			/* RFC 3261 §22.2: again with credentials, CSeq + 1 */
			c->auth_tries++;
			if (ua_call_invite(c) == 0)
				return;
		}
	}
	if (status >= 300 && status < 400 && msg && !cancelling &&
	    c->redirects < SB_UA_MAX_REDIRECTS) {
		/* RFC 3261 §8.1.3.4: try the first Contact we can reach */
		struct sb_sip_values it;
		struct sb_slice v;
		sb_sip_values_init(&it, msg, SB_HDR_CONTACT);
		while (sb_sip_values_next(&it, &v, NULL)) {
			struct sb_nameaddr na;
			struct sb_tp_dest d;
			if (sb_nameaddr_parse(&na, sb_slice_trim(v)) != 0 || na.star ||
			    na.uri_s.l >= sizeof c->ruri || na.uri.scheme != SB_URI_SIP)
				continue;
			char uri[UA_MAX_URI];
			ua_copy_unfold(uri, sizeof uri, na.uri_s);
			if (!ua->has_server && ua_uri_dest(sb_slice_cstr(uri), &d) != 0)
				continue;
			c->redirects++;
			snprintf(c->ruri, sizeof c->ruri, "%s", uri);
			snprintf(c->peer, sizeof c->peer, "%s", uri);
			c->rang = false;
			c->auth_tries = 0;
			ua_emit(ua, SB_UA_EV_REDIRECTED, c, status, "redirected", uri);
			if (!ua_is_live(c))
				return;
			if (c->cancel_wanted) {
				/* hung up from the event: no new INVITE */
				ua_call_end(c, status, "cancelled");
				return;
			}
			if (ua_call_invite(c) == 0)
				return;
			break;
		}
	}
	if (cancelling) {
		ua_call_end(c, status, "cancelled");
		return;
	}
	ua_call_end(c, status, end_reason(status, msg != NULL));
}

/* ------------------------------------------------------------- CANCEL */

static void cancel_timer_h(void *arg)
{
	struct sb_call *c = arg;
	/* RFC 3261 §9.1: no final response 64*T1 after the CANCEL: the
	 * INVITE client transaction is destroyed */
	if (c->inv && c->inv->t)
		sb_tsx_abandon(c->inv->t);
	ua_call_end(c, 487, "cancelled");
}

/* RFC 3261 §9.1: CANCEL copies the INVITE's Request-URI, Call-ID, To,
 * From, CSeq number, top Via (same branch) and Route. */
static void send_cancel(struct sb_call *c)
{
	struct sb_ua *ua = c->ua;
	struct sb_sip_msg *m = malloc(sizeof *m);
	struct sb_buf b, extra;
	sb_buf_init(&b, UA_OUT_MAX);
	sb_buf_init(&extra, UA_OUT_MAX);
	int err = m ? sb_sip_parse(m, c->inv_buf, c->inv_len, SB_SIP_DATAGRAM) : ENOMEM;
	struct sb_slice cid;
	const struct sb_sip_hdr *from = NULL, *to = NULL;
	struct sb_sip_values it;
	struct sb_slice via = SB_SLICE_NULL;
	if (!err) {
		from = sb_sip_hdr_first(m, SB_HDR_FROM);
		to = sb_sip_hdr_first(m, SB_HDR_TO);
		sb_sip_values_init(&it, m, SB_HDR_VIA);
		sb_sip_values_next(&it, &via, NULL);
		if (!from || !to || !via.p || sb_sip_msg_call_id(m, &cid))
			err = EBADMSG;
	}
	if (!err) {
		for (const struct sb_sip_hdr *h = sb_sip_hdr_first(m, SB_HDR_ROUTE); h;
		     h = sb_sip_hdr_next(m, h))
			sb_buf_append_slice(&extra, h->line);
		struct sb_sip_request_spec spec = {
			.method = SB_LIT("CANCEL"),
			.ruri = m->ruri,
			.via = sb_slice_trim(via),
			.from = from->value,
			.to = to->value,
			.call_id = cid,
			.cseq = c->inv->cseq,
			.max_forwards = 70,
			.extra = sb_buf_slice(&extra),
		};
		err = sb_sip_print_request(&b, &spec);
	}
	if (!err)
		err = ua_req_start(ua, c, UA_REQ_CANCEL, c->inv->cseq, &c->inv_dst, b.p, b.len, NULL);
	free(m);
	sb_buf_free(&b);
	sb_buf_free(&extra);
	c->cancel_sent = true;
	c->state = UA_CALL_ENDING;
	if (err) {
		ua_log(ua, SB_LOG_WARN, "call %u: cannot CANCEL: %s", c->id, strerror(err));
		if (c->inv && c->inv->t)
			sb_tsx_abandon(c->inv->t);
		ua_call_end(c, 487, "cancelled");
		return;
	}
	(void)sb_timer_start(ua->cfg.loop, &c->cancel_timer, 64u * (sb_msec_t)ua->t1_ms,
			     cancel_timer_h, c);
}

void ua_cancel_response(struct ua_req *r, unsigned status, struct sb_sip_msg *msg)
{
	/* the INVITE's own final response (487, or a 2xx that won) ends the
	 * call; a 481 means the INVITE was answered meanwhile */
	(void)msg;
	if (r->call && status >= 300)
		ua_log(r->ua, SB_LOG_DEBUG, "call %u: CANCEL answered %u", r->call->id, status);
}

/* ----------------------------------------------------------------- BYE */

void ua_call_bye(struct sb_call *c, unsigned code, const char *reason)
{
	if (!ua_is_live(c))
		return;
	ua_stop_2xx(c);
	ua_media_stop(c);
	c->end_code = code;
	c->end_reason = reason;
	c->state = UA_CALL_ENDING;
	sb_timer_stop(c->ua->cfg.loop, &c->reinv_timer);
	/* RFC 3261 §15.1.1: BYE in the dialog; the call is over when it is
	 * answered (or times out) */
	if (ua_dialog_send(c, "BYE", UA_REQ_BYE, SB_SLICE_NULL, SB_SLICE_NULL, SB_SLICE_NULL,
			   NULL) != 0)
		ua_call_end(c, code, reason);
}

void ua_bye_response(struct ua_req *r, unsigned status, struct sb_sip_msg *msg)
{
	struct sb_call *c = r->call;
	(void)msg;
	if (status < 200 || !ua_is_live(c))
		return;
	ua_call_end(c, c->end_code, c->end_reason ? c->end_reason : "bye");
}

int sb_ua_hangup(struct sb_call *c)
{
	if (!ua_is_live(c))
		return EINVAL;
	switch (c->state) {
	case UA_CALL_OUT_CALLING:
	case UA_CALL_OUT_EARLY:
		if (c->cancel_wanted || c->cancel_sent)
			return 0;
		c->cancel_wanted = true;
		if (c->provisional)
			send_cancel(c);
		return 0;
	case UA_CALL_IN_RINGING:
		return sb_ua_reject(c, 486);
	case UA_CALL_IN_ANSWERED:
		/* RFC 3261 §15: no BYE before the ACK of our 2xx (or its
		 * timeout); it goes once the ACK is here */
		c->hangup_pending = true;
		return 0;
	case UA_CALL_ESTABLISHED:
		ua_call_bye(c, 0, "bye");
		return 0;
	default:
		return 0;
	}
}

/* -------------------------------------------------------- hold, resume */

static void reinv_retry_h(void *arg)
{
	struct sb_call *c = arg;
	if (c->state == UA_CALL_ESTABLISHED && !c->reinv && !c->reinv_in)
		(void)ua_reinvite(c);
}

int ua_reinvite(struct sb_call *c)
{
	struct sb_buf sdp;
	sb_buf_init(&sdp, UA_OUT_MAX);
	int err = ua_sdp_offer(c, ua_offer_dir(c), &sdp);
	if (!err)
		err = ua_dialog_send(c, "INVITE", UA_REQ_REINVITE,
				     SB_LIT(UA_ALLOW UA_SUPPORTED "User-Agent: sbphone\r\n"),
				     SB_LIT("application/sdp"), sb_buf_slice(&sdp), &c->reinv);
	sb_buf_free(&sdp);
	if (err)
		c->want_hold = c->local_hold;
	return err;
}

void ua_reinvite_response(struct ua_req *r, unsigned status, struct sb_sip_msg *msg)
{
	struct sb_call *c = r->call;
	if (!ua_is_live(c) || status < 200)
		return;
	struct sb_ua *ua = c->ua;
	if (status < 300 && msg) {
		if (c->ack_buf && c->ack_cseq == r->cseq) {
			resend_ack(c, r->cseq); /* a retransmission */
			return;
		}
		send_ack(c, &c->dlg, r->cseq);
		if (c->reinv == r)
			c->reinv = NULL;
		if (c->state != UA_CALL_ESTABLISHED)
			return;
		/* RFC 3261 §12.2.1.2: the 2xx refreshes the remote target */
		ua_dialog_refresh_target(ua, &c->dlg, msg);
		struct ua_media m;
		if (!msg->body.l || ua_sdp_take_answer(c, msg->body, &m) != 0) {
			ua_log(ua, SB_LOG_WARN, "call %u: re-INVITE answer unusable", c->id);
			c->want_hold = c->local_hold;
			return;
		}
		bool was = c->local_hold;
		c->local_hold = c->want_hold;
		if (c->offer_dir == SB_SDP_DIR_SENDRECV)
			c->remote_hold = m.remote_hold;
		ua_apply_media(c, &m);
		if (c->local_hold && !was)
			ua_emit(ua, SB_UA_EV_HELD, c, status, "local hold", NULL);
		else if (!c->local_hold && was)
			ua_emit(ua, SB_UA_EV_RESUMED, c, status, "local resume", NULL);
		return;
	}
	if (c->reinv == r)
		c->reinv = NULL;
	if (status == 491 && c->glare_tries < UA_MAX_GLARE_TRIES) {
		/* RFC 3261 §14.1: glare; try again after a random time, longer
		 * for the owner of the Call-ID (the caller) */
		uint32_t ms = c->outgoing
				      ? UA_491_OWNER_MIN_MS + ua_random_u32() % UA_491_OWNER_SPAN_MS
				      : ua_random_u32() % UA_491_OTHER_SPAN_MS;
		c->glare_tries++;
		ua_log(ua, SB_LOG_INFO, "call %u: 491, re-INVITE again in %u ms", c->id, ms);
		(void)sb_timer_start(ua->cfg.loop, &c->reinv_timer, ms, reinv_retry_h, c);
		return;
	}
	c->want_hold = c->local_hold;
	if (status == 481 || status == 408) {
		/* RFC 3261 §12.2.1.2: the dialog is gone */
		ua_call_end(c, status, "gone");
		return;
	}
	ua_log(ua, SB_LOG_WARN, "call %u: re-INVITE refused with %u", c->id, status);
}

static int set_hold(struct sb_call *c, bool hold)
{
	if (!ua_is_live(c) || c->state != UA_CALL_ESTABLISHED)
		return EINVAL;
	if (c->reinv || c->reinv_in || sb_timer_running(&c->reinv_timer))
		return EBUSY;
	if (c->local_hold == hold)
		return 0;
	c->want_hold = hold;
	c->glare_tries = 0;
	return ua_reinvite(c);
}

int sb_ua_hold(struct sb_call *c)
{
	return set_hold(c, true);
}

int sb_ua_resume(struct sb_call *c)
{
	return set_hold(c, false);
}

int sb_ua_dtmf(struct sb_call *c, const char *digits)
{
	if (!ua_is_live(c) || c->state != UA_CALL_ESTABLISHED || !digits || !*digits)
		return EINVAL;
	for (const char *p = digits; *p; p++)
		if (sb_dtmf_code(*p) < 0)
			return EINVAL;
	return ua_media_dtmf(c, digits);
}
