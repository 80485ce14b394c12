/* ua/reg: the registration client of RFC 3261 §10.2.
 *
 * One binding: our Contact (sip:user@host:port) for the AOR
 * sip:user@domain, at cfg.server.  The REGISTERs of one UA share a Call-ID
 * and From tag and count CSeq up (§10.2: "A UA MUST increment the CSeq
 * value by one for each REGISTER request with the same Call-ID").
 *  - 401/407: answered with credentials (digest_client.c), at most
 *    UA_MAX_AUTH_TRIES in a row; a second challenge for the same nonce
 *    without stale=true means the password is wrong.  Refreshes carry
 *    credentials for the last nonce at once (nc counting up).  The
 *    challenge's realm is remembered: it is the one realm (besides our
 *    domain) whose challenges to our INVITEs we answer.
 *  - 423 Interval Too Brief: asked again once with its Min-Expires
 *    (§10.2.8).
 *  - 2xx: the expiry granted is our Contact's expires parameter in the
 *    response, else its Expires header, else what we asked (§10.2.4);
 *    refreshed at UA_REFRESH_PERCENT of it.
 *  - a failure (any other final response, a timeout, a transport error):
 *    REGISTER_FAILED, and again after SB_UA_MIN_RETRY_MS, doubling up to
 *    SB_UA_MAX_RETRY_MS.
 *  - ua_reg_unregister(): Expires: 0 for our Contact (§10.2.2). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ua_int.h"

static void reg_send(struct sb_ua *ua, uint32_t expires, bool with_auth);

static void timer_h(void *arg)
{
	struct sb_ua *ua = arg;
	if (ua->reg.state == UA_REG_WAIT || ua->reg.state == UA_REG_RETRY)
		reg_send(ua, ua->reg.expires, true);
}

static void fail(struct sb_ua *ua, unsigned code, const char *reason)
{
	struct ua_reg *g = &ua->reg;
	g->registered = false;
	g->auth_tries = 0;
	if (!g->retry_ms)
		g->retry_ms = SB_UA_MIN_RETRY_MS;
	g->state = UA_REG_RETRY;
	ua_log(ua, SB_LOG_WARN, "registration failed: %u %s; again in %u ms", code, reason,
	       (unsigned)g->retry_ms);
	(void)sb_timer_start(ua->cfg.loop, &g->timer, g->retry_ms, timer_h, ua);
	/* back-off: doubling up to the bound */
	g->retry_ms = g->retry_ms * 2 > SB_UA_MAX_RETRY_MS ? SB_UA_MAX_RETRY_MS : g->retry_ms * 2;
	ua_emit(ua, SB_UA_EV_REGISTER_FAILED, NULL, code, reason, ua->aor);
}

static void unregistered(struct sb_ua *ua, unsigned code, const char *reason)
{
	struct ua_reg *g = &ua->reg;
	g->registered = false;
	g->state = UA_REG_OFF;
	ua_emit(ua, SB_UA_EV_UNREGISTERED, NULL, code, reason, ua->aor);
	ua_maybe_done(ua);
}

static void reg_send(struct sb_ua *ua, uint32_t expires, bool with_auth)
{
	struct ua_reg *g = &ua->reg;
	char ruri[UA_MAX_URI], via[256], from[UA_MAX_URI + 64], to[UA_MAX_URI + 8];
	snprintf(ruri, sizeof ruri, "sip:%s", ua->domain);
	ua_via(ua, ua->cfg.proto, via, sizeof via);
	snprintf(to, sizeof to, "<%s>", ua->aor);
	snprintf(from, sizeof from, "<%s>;tag=%s", ua->aor, g->from_tag);
	g->cseq++;

	struct sb_buf extra;
	sb_buf_init(&extra, UA_OUT_MAX);
	sb_buf_printf(&extra, "Expires: %u\r\n", (unsigned)expires);
	if (with_auth && g->auth.valid && ua->cfg.password &&
	    ua_auth_line(&g->auth, ua->user, ua->cfg.password, SB_LIT("REGISTER"),
			 sb_slice_cstr(ruri), &extra) != 0)
		ua_log(ua, SB_LOG_WARN, "cannot compute credentials");
	sb_buf_append_cstr(&extra, UA_ALLOW "User-Agent: sbphone\r\n");

	struct sb_sip_request_spec spec = {
		.method = SB_LIT("REGISTER"),
		.ruri = sb_slice_cstr(ruri),
		.via = sb_slice_cstr(via),
		.from = sb_slice_cstr(from),
		.to = sb_slice_cstr(to),
		.call_id = sb_slice_cstr(g->call_id),
		.cseq = g->cseq,
		.max_forwards = 70,
		.contact = sb_slice_cstr(ua->contact),
		.extra = sb_buf_slice(&extra),
	};
	struct sb_buf b;
	sb_buf_init(&b, UA_OUT_MAX);
	struct sb_tp_dest dst;
	int err = extra.err ? extra.err : sb_sip_print_request(&b, &spec);
	if (!err)
		err = ua_out_dest(ua, sb_slice_cstr(ruri), &dst);
	struct ua_req *r = NULL;
	if (!err)
		err = ua_req_start(ua, NULL, UA_REQ_REGISTER, g->cseq, &dst, b.p, b.len, &r);
	sb_buf_free(&b);
	sb_buf_free(&extra);
	sb_timer_stop(ua->cfg.loop, &g->timer);
	if (err) {
		if (expires == 0)
			unregistered(ua, 503, strerror(err));
		else
			fail(ua, 503, strerror(err));
		return;
	}
	g->req = r;
	g->state = expires ? UA_REG_SENT : UA_REG_UNREG;
}

void ua_reg_start(struct sb_ua *ua)
{
	struct ua_reg *g = &ua->reg;
	sb_timer_init(&g->timer);
	ua_random_hex(g->call_id, 2 * UA_TAG_HEX);
	ua_random_hex(g->from_tag, UA_TAG_HEX);
	g->cseq = 0;
	reg_send(ua, g->expires, false);
}

void ua_reg_unregister(struct sb_ua *ua)
{
	struct ua_reg *g = &ua->reg;
	if (ua->cfg.no_register || g->state == UA_REG_UNREG || g->state == UA_REG_OFF)
		return;
	sb_timer_stop(ua->cfg.loop, &g->timer);
	bool maybe_bound = g->registered || g->state == UA_REG_SENT;
	if (g->req) {
		/* its answer no longer matters: the binding goes now */
		g->req->orphan = true;
		g->req = NULL;
	}
	if (!maybe_bound) {
		g->state = UA_REG_OFF;
		ua_maybe_done(ua);
		return;
	}
	g->auth_tries = 0;
	reg_send(ua, 0, true);
}

bool ua_reg_busy(const struct sb_ua *ua)
{
	return ua->reg.state == UA_REG_UNREG;
}

void ua_reg_free(struct sb_ua *ua)
{
	sb_timer_stop(ua->cfg.loop, &ua->reg.timer);
}

/* RFC 3261 §10.2.4: the expiry the registrar granted our Contact. */
static uint32_t granted(struct sb_ua *ua, struct sb_sip_msg *m, uint32_t asked)
{
	struct sb_uri mine;
	char uri[UA_MAX_URI];
	size_t l = strlen(ua->contact);
	snprintf(uri, sizeof uri, "%.*s", (int)(l - 2), ua->contact + 1);
	if (sb_uri_parse(&mine, sb_slice_cstr(uri)) == 0) {
		struct sb_sip_values it;
		struct sb_slice v;
		sb_sip_values_init(&it, m, SB_HDR_CONTACT);
		while (sb_sip_values_next(&it, &v, NULL)) {
			struct sb_nameaddr na;
			uint32_t e;
			if (sb_nameaddr_parse(&na, sb_slice_trim(v)) != 0 || na.star ||
			    !sb_uri_equal(&na.uri, &mine))
				continue;
			if (sb_contact_expires(&na, &e) == 0)
				return e;
		}
	}
	uint32_t e;
	if (sb_sip_msg_expires(m, &e) == 0)
		return e;
	return asked;
}

void ua_reg_response(struct ua_req *r, unsigned status, struct sb_sip_msg *msg)
{
	struct sb_ua *ua = r->ua;
	struct ua_reg *g = &ua->reg;
	if (status < 200 || g->req != r)
		return;
	g->req = NULL;
	bool unreg = g->state == UA_REG_UNREG;
	char reason[128];
	if (msg)
		sb_slice_to_cstr(msg->reason, reason, sizeof reason);
	else
		snprintf(reason, sizeof reason, "%s", status == 408 ? "timeout" : "transport error");

	if ((status == 401 || status == 407) && msg && ua->cfg.password) {
		char old_nonce[sizeof g->auth.nonce];
		snprintf(old_nonce, sizeof old_nonce, "%s", g->auth.nonce);
		bool had = g->auth.valid && g->auth.nc > 0;
		int taken = ua_auth_take(&g->auth, msg, NULL);
		if (taken == 0) /* the realm whose challenges to our calls we answer */
			snprintf(ua->reg_realm, sizeof ua->reg_realm, "%s", g->auth.realm);
		if (taken == 0 && g->auth_tries < UA_MAX_AUTH_TRIES &&
		    (!had || g->auth.stale || strcmp(old_nonce, g->auth.nonce) != 0 ||
		     g->auth_tries == 0)) {
			/* RFC 3261 §22.2: again, with credentials (and CSeq + 1) */
			g->auth_tries++;
			reg_send(ua, unreg ? 0 : g->expires, true);
			return;
		}
		g->auth.valid = false;
		if (unreg) {
			unregistered(ua, status, reason);
			return;
		}
		fail(ua, status, "bad credentials");
		return;
	}
	g->auth_tries = 0;
	if (unreg) {
		unregistered(ua, status, reason);
		return;
	}
	if (status == 423 && msg && !g->interval_tried) {
		/* RFC 3261 §10.2.8: ask again with at least Min-Expires */
		const struct sb_sip_hdr *h = sb_sip_hdr_first(msg, SB_HDR_MIN_EXPIRES);
		uint32_t min;
		if (h && sb_slice_to_u32(sb_slice_trim(h->value), &min) == 0 && min > g->expires) {
			g->interval_tried = true;
			g->expires = min;
			reg_send(ua, g->expires, true);
			return;
		}
	}
	if (status >= 300) {
		fail(ua, status, reason);
		return;
	}
	uint32_t e = granted(ua, msg, g->expires);
	if (e == 0) {
		fail(ua, status, "no expiry granted");
		return;
	}
	g->granted = e;
	g->registered = true;
	g->retry_ms = 0;
	g->state = UA_REG_WAIT;
	/* refresh before it runs out; at least a second from now */
	uint64_t ms = (uint64_t)e * 10u * UA_REFRESH_PERCENT;
	if (ms < 1000)
		ms = 1000;
	(void)sb_timer_start(ua->cfg.loop, &g->timer, ms, timer_h, ua);
	ua_emit(ua, SB_UA_EV_REGISTERED, NULL, status, "", ua->aor);
}
