/* ua/refer: call transfer (RFC 3515 REFER, RFC 3891 Replaces, the flows of
 * RFC 5589).
 *
 *  - Transferor: REFER in the call's dialog with Refer-To (the target, or
 *    for a transfer with consultation the consulted party's URI with a
 *    Replaces naming the consultation dialog, RFC 5589 §7).  The 202 opens
 *    an implicit subscription; the NOTIFYs carry message/sipfrag status
 *    lines; a final 2xx one is TRANSFERRED and the call is ended with BYE,
 *    a final failure is TRANSFER_FAILED and the call goes on.  No NOTIFY
 *    within 64*T1 of the 202 (RFC 6665 §4.1.2.4), or no final one by the
 *    end of the subscription the last NOTIFY announced (its expires, at
 *    most UA_REFER_MAX_WAIT_S, plus 64*T1), is TRANSFER_FAILED 408: a
 *    transferee that goes quiet does not block transfers for good.  A
 *    NOTIFY whose Event id is not our REFER's CSeq gets 481.
 *  - Transferee: a REFER in a call is accepted (202), the Refer-To target
 *    is called (with its Replaces header, if any, and Referred-By), each
 *    step is NOTIFYed ("SIP/2.0 100 Trying", 180, the final status with
 *    Subscription-State: terminated; Event: refer;id=CSeq of the REFER),
 *    and when the new call is answered the original one is TRANSFERRED
 *    and ended with BYE.  One REFER at a time: another one while ours
 *    goes on, or one outside an established call, gets 403; after the
 *    final NOTIFY the next REFER is accepted again.  A Refer-To whose
 *    Replaces does not fit the INVITE gets 400 "Replaces Too Long".
 *  - Transfer target: an INVITE with Replaces (incoming.c) for a
 *    confirmed dialog of ours is answered at once and the dialog it
 *    replaces is ended (ua_replaces_find finds it, RFC 3891 §3); with
 *    early-only it gets 486. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ua_int.h"

/* A REFER we accept carries at most this much in Refer-To headers. */
#define UA_MAX_REFER_HDRS 1024u

static int send_refer(struct sb_call *c, const char *refer_to, const char *shown)
{
	struct sb_ua *ua = c->ua;
	if (!ua_is_live(c) || c->state != UA_CALL_ESTABLISHED)
		return EINVAL;
	if (c->xfer != UA_XFER_NONE)
		return EBUSY;
	struct sb_buf extra;
	struct ua_req *r = NULL;
	sb_buf_init(&extra, UA_OUT_MAX);
	/* RFC 3515 §2.1: Refer-To; RFC 3892: Referred-By */
	sb_buf_printf(&extra, "Refer-To: <%s>\r\nReferred-By: <%s>\r\n", refer_to, ua->aor);
	int err = extra.err ? extra.err
			    : ua_dialog_send(c, "REFER", UA_REQ_REFER, sb_buf_slice(&extra),
					     SB_SLICE_NULL, SB_SLICE_NULL, &r);
	sb_buf_free(&extra);
	if (err)
		return err == EBUSY ? EBUSY : EINVAL;
	c->xfer = UA_XFER_REFER_SENT;
	c->xfer_cseq = r ? r->cseq : 0;
	sb_timer_stop(ua->cfg.loop, &c->xfer_timer);
	c->xfer_done = false;
	snprintf(c->xfer_target, sizeof c->xfer_target, "%s", shown);
	ua_log(ua, SB_LOG_INFO, "call %u: REFER to %s", c->id, shown);
	return 0;
}

int sb_ua_transfer(struct sb_call *c, const char *target)
{
	char uri[UA_MAX_URI];
	if (!ua_is_live(c) || ua_expand_target(c->ua, target, uri, sizeof uri) != 0 ||
	    strchr(uri, '?'))
		return EINVAL;
	return send_refer(c, uri, uri);
}

/* Escape s for a URI header value (RFC 3261 §19.1.1: hvalue is hnv-unreserved,
 * unreserved or escaped). */
static void escape_hvalue(struct sb_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		bool plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			     (ch >= '0' && ch <= '9') || strchr("-_.!~*'()[]/:+$", ch);
		if (plain) {
			sb_buf_append(b, s, 1);
		} else {
			char e[3] = { '%', hex[ch >> 4], hex[ch & 15] };
			sb_buf_append(b, e, 3);
		}
	}
}

int sb_ua_transfer_attended(struct sb_call *c, struct sb_call *consult)
{
	if (!ua_is_live(c) || !ua_is_live(consult) || c == consult ||
	    consult->state != UA_CALL_ESTABLISHED || !consult->dlg.up)
		return EINVAL;
	/* RFC 5589 §7, RFC 3891 §6.1: Refer-To names the consulted party
	 * with a Replaces for the consultation dialog as that party sees
	 * it: to-tag is its tag (our remote tag), from-tag ours */
	struct sb_buf b;
	sb_buf_init(&b, UA_MAX_URI * 2);
	sb_buf_append_cstr(&b, consult->dlg.remote_uri);
	sb_buf_append_cstr(&b, strchr(consult->dlg.remote_uri, '?') ? "&Replaces=" : "?Replaces=");
	escape_hvalue(&b, consult->dlg.call_id);
	sb_buf_append_cstr(&b, "%3Bto-tag%3D");
	escape_hvalue(&b, consult->dlg.remote_tag);
	sb_buf_append_cstr(&b, "%3Bfrom-tag%3D");
	escape_hvalue(&b, consult->dlg.local_tag);
	sb_buf_append(&b, "", 1);
	int err = b.err ? EINVAL : send_refer(c, b.p, consult->dlg.remote_uri);
	sb_buf_free(&b);
	return err;
}

/* The transfer we asked for is over without a final NOTIFY. */
static void xfer_timer_h(void *arg)
{
	struct sb_call *c = arg;
	if (!ua_is_live(c) || c->xfer == UA_XFER_NONE)
		return;
	ua_log(c->ua, SB_LOG_WARN, "call %u: no final NOTIFY for our REFER: giving it up", c->id);
	c->xfer = UA_XFER_NONE;
	ua_emit(c->ua, SB_UA_EV_TRANSFER_FAILED, c, 408, "transfer timeout", c->xfer_target);
}

/* Wait secs (the subscription) plus 64*T1 (its last NOTIFY's transaction). */
static void xfer_wait(struct sb_call *c, uint32_t secs)
{
	struct sb_ua *ua = c->ua;
	if (secs > UA_REFER_MAX_WAIT_S)
		secs = UA_REFER_MAX_WAIT_S;
	(void)sb_timer_start(ua->cfg.loop, &c->xfer_timer,
			     (sb_msec_t)secs * 1000u + 64u * (sb_msec_t)ua->t1_ms, xfer_timer_h, c);
}

void ua_refer_response(struct ua_req *r, unsigned status, struct sb_sip_msg *msg)
{
	struct sb_call *c = r->call;
	(void)msg;
	if (!ua_is_live(c) || status < 200 || c->xfer == UA_XFER_NONE || r->cseq != c->xfer_cseq)
		return;
	if (status < 300) {
		/* RFC 3515 §2.4.2: 202, the NOTIFYs tell the rest (one may
		 * have come already, and set the wait); RFC 6665 §4.1.2.4:
		 * none within 64*T1 and the subscription is over */
		if (c->xfer == UA_XFER_REFER_SENT)
			c->xfer = UA_XFER_ACCEPTED;
		if (!sb_timer_running(&c->xfer_timer))
			xfer_wait(c, 0);
		return;
	}
	c->xfer = UA_XFER_NONE;
	sb_timer_stop(c->ua->cfg.loop, &c->xfer_timer);
	ua_emit(c->ua, SB_UA_EV_TRANSFER_FAILED, c, status, "refer refused", c->xfer_target);
}

/* "SIP/2.0 NNN ..." at the start of a sipfrag body: NNN, or 0. */
static unsigned sipfrag_status(struct sb_slice body)
{
	static const char v[] = "SIP/2.0 ";
	size_t n = sizeof v - 1;
	if (body.l < n + 3 || memcmp(body.p, v, n) != 0)
		return 0;
	unsigned code = 0;
	for (size_t i = n; i < n + 3; i++) {
		if (body.p[i] < '0' || body.p[i] > '9')
			return 0;
		code = code * 10 + (unsigned)(body.p[i] - '0');
	}
	return code >= 100 && code <= 699 ? code : 0;
}

void ua_notify_in(struct sb_call *c, const struct sb_tp_rx *rx)
{
	struct sb_ua *ua = c->ua;
	struct sb_sip_msg *m = rx->msg;
	const struct sb_sip_hdr *eh = sb_sip_hdr_first(m, SB_HDR_EVENT);
	struct sb_event ev;
	if (!eh || sb_event_parse(&ev, eh->value) != 0 || !sb_slice_caseeq_cstr(ev.type, "refer")) {
		/* RFC 6665 §8.3.1: an event package we do not know */
		ua_reply(ua, rx, 489, NULL, NULL, SB_SLICE_NULL);
		return;
	}
	uint32_t id;
	if (c->xfer == UA_XFER_NONE ||
	    (ev.id.p && (sb_slice_to_u32(ev.id, &id) != 0 || id != c->xfer_cseq))) {
		/* RFC 6665 §4.1.3: no such subscription (RFC 3515 §2.4.6:
		 * the id names the REFER by its CSeq: an older one's) */
		ua_reply(ua, rx, 481, NULL, NULL, SB_SLICE_NULL);
		return;
	}
	ua_reply(ua, rx, 200, NULL, NULL, SB_SLICE_NULL);
	unsigned code = sipfrag_status(m->body);
	const struct sb_sip_hdr *sh = sb_sip_hdr_first(m, SB_HDR_SUBSCRIPTION_STATE);
	struct sb_substate ss;
	bool parsed = sh && sb_substate_parse(&ss, sh->value) == 0;
	bool terminated = parsed && sb_slice_caseeq_cstr(ss.state, "terminated");
	ua_log(ua, SB_LOG_INFO, "call %u: transfer progress %u%s", c->id, code,
	       terminated ? " (terminated)" : "");
	if (code >= 200 || terminated)
		sb_timer_stop(ua->cfg.loop, &c->xfer_timer);
	else /* the subscription lasts what this NOTIFY says */
		xfer_wait(c, parsed && ss.has_expires ? ss.expires : UA_REFER_EXPIRES_S);
	if (code >= 200 && code < 300) {
		c->xfer = UA_XFER_NONE;
		c->xfer_done = true;
		ua_emit(ua, SB_UA_EV_TRANSFERRED, c, code, "transferred", c->xfer_target);
		/* RFC 5589 §6: the transferor ends the call */
		if (ua_is_live(c) && c->state == UA_CALL_ESTABLISHED)
			ua_call_bye(c, 0, "transferred");
		return;
	}
	if (code >= 300 || terminated) {
		c->xfer = UA_XFER_NONE;
		ua_emit(ua, SB_UA_EV_TRANSFER_FAILED, c, code, "transfer failed", c->xfer_target);
	}
}

/* ------------------------------------------------------------ referred */

static void send_notify(struct sb_call *orig, unsigned code, bool final)
{
	char frag[96], extra[192];
	snprintf(frag, sizeof frag, "SIP/2.0 %u %s\r\n", code, sb_sip_reason_phrase(code));
	/* RFC 3515 §2.4.4, RFC 6665: Event: refer (with the REFER's CSeq as
	 * its id, §2.4.6: a dialog may see several REFERs) and the
	 * subscription's state; the last NOTIFY terminates it */
	if (final)
		snprintf(extra, sizeof extra,
			 "Event: refer;id=%u\r\nSubscription-State: terminated;reason=noresource\r\n",
			 (unsigned)orig->refer_cseq);
	else
		snprintf(extra, sizeof extra,
			 "Event: refer;id=%u\r\nSubscription-State: active;expires=%u\r\n",
			 (unsigned)orig->refer_cseq, UA_REFER_EXPIRES_S);
	/* the answer to the final one may hang up (ua_notify_response) */
	(void)ua_dialog_send(orig, "NOTIFY", UA_REQ_NOTIFY, sb_slice_cstr(extra),
			     SB_LIT("message/sipfrag;version=2.0"), sb_slice_cstr(frag), NULL);
	if (final) {
		/* the subscription is over: the next REFER may come */
		orig->refer_final = true;
		orig->refer_sub = false;
	}
}

void ua_notify_response(struct ua_req *r, unsigned status, struct sb_sip_msg *msg)
{
	struct sb_call *c = r->call;
	(void)msg;
	if (status < 200 || !ua_is_live(c) || !c->refer_final || !c->bye_after_notify)
		return;
	/* the referrer heard the outcome: the original call ends now (the
	 * referrer may BYE it first; either BYE ends it) */
	c->bye_after_notify = false;
	if (c->state == UA_CALL_ESTABLISHED)
		ua_call_bye(c, 0, "transferred");
}

void ua_refer_progress(struct sb_call *newc, unsigned code)
{
	struct sb_call *orig = newc->xfer_orig;
	if (!orig || !ua_is_live(orig) || !orig->refer_sub || orig->refer_final)
		return;
	if (code < 200) {
		if (code >= 180)
			send_notify(orig, code, false);
		return;
	}
	newc->xfer_orig = NULL;
	orig->xfer_new = NULL;
	if (code < 300) {
		orig->bye_after_notify = true;
		send_notify(orig, code, true);
		orig->xfer_done = true;
		ua_emit(orig->ua, SB_UA_EV_TRANSFERRED, orig, code, "transferred", newc->peer);
		return;
	}
	send_notify(orig, code, true);
}

/* Take the Replaces header out of the headers of a Refer-To URI
 * ("Replaces=...&..."), unescaped, into out.  0, ENOENT, EBADMSG, ENOSPC
 * (longer than cap - 1). */
static int refer_to_replaces(struct sb_slice hdrs, char *out, size_t cap)
{
	struct sb_slice rest = hdrs;
	while (rest.l) {
		long amp = sb_slice_chr(rest, '&');
		struct sb_slice one = amp < 0 ? rest : sb_slice_from(rest.p, (size_t)amp);
		rest = amp < 0 ? sb_slice_from(rest.p + rest.l, 0)
			       : sb_slice_from(rest.p + amp + 1, rest.l - (size_t)amp - 1);
		long eq = sb_slice_chr(one, '=');
		if (eq < 0)
			continue;
		if (!sb_slice_caseeq_cstr(sb_slice_from(one.p, (size_t)eq), "Replaces"))
			continue;
		size_t l;
		int err = sb_uri_unescape(sb_slice_from(one.p + eq + 1, one.l - (size_t)eq - 1),
					  out, cap - 1, &l);
		if (err)
			return err == ENOSPC ? ENOSPC : EBADMSG;
		out[l] = 0;
		for (size_t i = 0; i < l; i++)
			if ((unsigned char)out[i] < 0x20)
				return EBADMSG;
		return 0;
	}
	return ENOENT;
}

void ua_refer_in(struct sb_call *c, const struct sb_tp_rx *rx)
{
	struct sb_ua *ua = c->ua;
	struct sb_sip_msg *m = rx->msg;
	const struct sb_cseq *cs;
	if (c->state != UA_CALL_ESTABLISHED || c->refer_sub || c->bye_after_notify ||
	    ua->shutting || sb_sip_msg_cseq(m, &cs) != 0) {
		/* not now: one transfer at a time (until its final NOTIFY),
		 * none in a call that is not up or going away.  403: 491 is
		 * for crossing INVITEs (RFC 3261 §14.2), not for REFER */
		ua_reply(ua, rx, 403, NULL, NULL, SB_SLICE_NULL);
		return;
	}
	/* RFC 3515 §2.4.1: exactly one Refer-To, else 400 */
	struct sb_nameaddr na;
	const struct sb_sip_hdr *rt = sb_sip_hdr_first(m, SB_HDR_REFER_TO);
	if (!rt || sb_sip_hdr_next(m, rt) || sb_nameaddr_parse(&na, rt->value) != 0 ||
	    na.uri.scheme != SB_URI_SIP) {
		ua_reply(ua, rx, 400, "Bad Refer-To", NULL, SB_SLICE_NULL);
		return;
	}
	/* the target without its headers; a Replaces among them goes into
	 * the INVITE (RFC 3891 §6.1) */
	struct sb_slice target = na.uri_s;
	char replaces[UA_MAX_REFER_HDRS] = "";
	if (na.uri.headers.p) {
		target.l = (size_t)(na.uri.headers.p - 1 - target.p);
		int err = refer_to_replaces(na.uri.headers, replaces, sizeof replaces);
		if (err == EBADMSG) {
			ua_reply(ua, rx, 400, "Bad Replaces", NULL, SB_SLICE_NULL);
			return;
		}
		if (err == ENOSPC) {
			ua_reply(ua, rx, 400, "Replaces Too Long", NULL, SB_SLICE_NULL);
			return;
		}
	}
	char uri[UA_MAX_URI];
	if (target.l >= sizeof uri) {
		ua_reply(ua, rx, 400, "Refer-To Too Long", NULL, SB_SLICE_NULL);
		return;
	}
	ua_copy_unfold(uri, sizeof uri, target);
	/* the Replaces and Referred-By go into the INVITE (and into the ones
	 * a challenge or a redirect make it send again) */
	char extra[UA_MAX_HDR];
	struct sb_buf ex;
	sb_buf_init_fixed(&ex, extra, sizeof extra - 1);
	if (replaces[0]) {
		sb_buf_printf(&ex, "Replaces: %s\r\n", replaces);
		if (ex.err) {
			/* without it the INVITE would make a new call instead
			 * of replacing one: refuse rather than drop it */
			ua_reply(ua, rx, 400, "Replaces Too Long", NULL, SB_SLICE_NULL);
			return;
		}
	}
	const struct sb_sip_hdr *rb = sb_sip_hdr_first(m, SB_HDR_REFERRED_BY);
	if (rb && rb->value.l < UA_MAX_URI && !memchr(rb->value.p, '\r', rb->value.l) &&
	    !memchr(rb->value.p, '\n', rb->value.l)) {
		/* optional (RFC 3892): left out when it does not fit */
		size_t l0 = ex.len;
		sb_buf_append_cstr(&ex, "Referred-By: ");
		sb_buf_append_slice(&ex, rb->value);
		sb_buf_append_cstr(&ex, "\r\n");
		if (ex.err) {
			ex.err = 0;
			ex.len = l0;
		}
	}
	extra[ex.len] = 0;
	struct sb_call *nc = NULL;
	int err = ua_call_out(ua, uri, extra, &nc);
	if (err || !nc) {
		ua_reply(ua, rx, err == ENOSPC ? 486 : 400, NULL, NULL, SB_SLICE_NULL);
		return;
	}
	nc->xfer_orig = c;
	c->xfer_new = nc;
	c->refer_sub = true;
	c->refer_final = false;
	c->refer_cseq = cs->num;
	ua_reply(ua, rx, 202, NULL, NULL, SB_SLICE_NULL);
	ua_log(ua, SB_LOG_INFO, "call %u: referred to %s (call %u)", c->id, uri, nc->id);
	send_notify(c, 100, false);
}

struct sb_call *ua_replaces_find(struct sb_ua *ua, struct sb_sip_msg *m, unsigned *code)
{
	const struct sb_sip_hdr *h = sb_sip_hdr_first(m, SB_HDR_REPLACES);
	struct sb_replaces r;
	*code = 481;
	if (!h || sb_sip_hdr_next(m, h) || sb_replaces_parse(&r, h->value) != 0 || !r.to_tag.p ||
	    !r.from_tag.p) {
		*code = 400;
		return NULL;
	}
	/* RFC 3891 §3: Call-ID, to-tag (our local tag) and from-tag (the
	 * remote one) name a confirmed dialog of ours */
	for (struct sb_call *c = ua->calls; c; c = c->next) {
		if (!ua_is_live(c) || !c->dlg.up || c->state != UA_CALL_ESTABLISHED)
			continue;
		if (!sb_slice_eq(r.call_id, sb_slice_cstr(c->dlg.call_id)) ||
		    !sb_slice_eq(r.to_tag, sb_slice_cstr(c->dlg.local_tag)) ||
		    !sb_slice_eq(r.from_tag, sb_slice_cstr(c->dlg.remote_tag)))
			continue;
		if (r.early_only) {
			/* RFC 3891 §3: "If the Replaces header field matches a
			 * confirmed dialog ... and contains the early-only flag,
			 * the UAS MUST ... respond with a 486 Busy Here" */
			*code = 486;
			return NULL;
		}
		return c;
	}
	return NULL;
}
