/* proxy: the proxy core's lifecycle and its request entry (proxy.h).
 *
 * Every message from the transport comes in at sb_proxy_recv(): it is
 * validated (RFC 3261 §8.2, §16.3) and broken requests are answered
 * statelessly; the rest goes to the transaction layer, which hands new
 * requests to request_h.  There CANCEL (cancel.c), REGISTER for our domains
 * (the registrar) and OPTIONS to the proxy itself are told apart from the
 * requests to forward: each of those gets the loop check of §16.3 step 4,
 * authentication when asked (§22.3: a stateless 407), a request context,
 * Route processing (§16.4, route.c) and a target set (§16.5, target.c;
 * users and forwarding rules, fwd.c), and its targets are started
 * (forward.c).  REGISTERs wait here, by token, for a registrar that answers
 * later.
 *
 * Also here: the log, the one place bytes leave for the wire, and the AORs
 * remembered as known users.  The other files of the core share
 * proxy_int.h: self.c (who we are), route.c (§16.4, the next hop),
 * target.c (§16.5), fwd.c (users, network call forwarding), forward.c
 * (§16.6), context.c (§16.7, Timer C), cancel.c (§16.10), stateless.c (the
 * responses we make, ACKs for 2xx, stray responses) and stats.c. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proxy_int.h"

/* Bytes of a log line. */
#define PX_LOG_LINE 512u
/* Bytes of one forwarded message: the largest SIP message plus our
 * additions (Via, Record-Route, rewritten fields). */
#define PX_OUT_MAX (SB_SIP_MAX_MSG_SIZE + 4096u)

void px_log(const struct sb_proxy *p, enum sb_log_level lvl, const char *fmt, ...)
{
	if (!p->cfg.log_h || lvl < p->cfg.log_level)
		return;
	char line[PX_LOG_LINE];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	p->cfg.log_h(lvl, line, p->cfg.log_arg);
}

static const char *proto_name(enum sb_tp_proto pr)
{
	return pr == SB_TP_UDP ? "UDP" : pr == SB_TP_TCP ? "TCP" : "TLS";
}

static size_t first_line_len(const char *buf, size_t len)
{
	const char *e = memchr(buf, '\r', len);
	return e ? (size_t)(e - buf) : len;
}

/* Every byte the proxy puts on the wire leaves here (the transaction layer's
 * send callback too), so that each is logged once. */
int px_send(const struct sb_tp_dest *dst, const char *buf, size_t len, void *arg)
{
	struct sb_proxy *p = arg;
	int err = p->cfg.send_h(dst, buf, len, p->cfg.send_arg);
	if (!err)
		px_stats_sent(p, buf, len);
	if (p->cfg.log_h && p->cfg.log_level <= SB_LOG_DEBUG) {
		char a[SB_ADDR_STR_MAX];
		px_log(p, SB_LOG_DEBUG, "send %s %s \"%.*s\"%s%s", proto_name(dst->proto),
		       sb_addr_to_str(&dst->addr, a, sizeof a), (int)first_line_len(buf, len), buf,
		       err ? ": " : "", err ? strerror(err) : "");
	}
	return err;
}

/* An AOR known as a user (proxy.h): it had bindings or registered since
 * the proxy started, so that §16.5 can tell 480 from 404. */
struct px_known {
	struct sb_hash_node node;
	size_t len;
	char key[];
};

bool px_known_has(struct sb_proxy *p, const char *aor, size_t len)
{
	return sb_hash_find(p->known, aor, len) != NULL;
}

void px_known_add(struct sb_proxy *p, const char *aor, size_t len)
{
	if (px_known_has(p, aor, len) || sb_hash_count(p->known) >= SB_PROXY_MAX_KNOWN_AORS)
		return;
	struct px_known *k = malloc(sizeof *k + len);
	if (!k)
		return;
	k->len = len;
	memcpy(k->key, aor, len);
	if (sb_hash_insert(p->known, &k->node, k->key, len) != 0)
		free(k);
}

static void known_free_h(struct sb_hash_node *n, void *arg)
{
	(void)arg;
	free(SB_HASH_OWNER(n, struct px_known, node));
}

static int req_alloc(struct sb_proxy *p, const struct sb_tp_rx *rx, struct px_req **rp)
{
	struct px_req *r = calloc(1, sizeof *r);
	if (!r)
		return ENOMEM;
	r->m = rx->msg;
	r->mid = rx->msg->mid;
	r->p = p;
	r->proto = rx->proto;
	r->src = rx->src;
	r->local = rx->local;
	r->conn_id = rx->conn_id;
	r->next = p->reqs;
	if (p->reqs)
		p->reqs->prev = r;
	p->reqs = r;
	p->nreqs++;
	*rp = r;
	return 0;
}

/* RFC 3261 §16.3 step 4: a Via of ours whose branch holds this request's
 * hash means the request came back unchanged: a loop.  A spiral (the
 * Request-URI or another hashed field changed) hashes differently. */
static bool is_loop(struct sb_proxy *p, struct sb_sip_msg *m, const char *hash)
{
	struct sb_sip_values it;
	struct sb_slice v;
	const size_t pl = sizeof SB_PROXY_BRANCH_PREFIX - 1;
	sb_sip_values_init(&it, m, SB_HDR_VIA);
	while (sb_sip_values_next(&it, &v, NULL)) {
		struct sb_via via;
		if (sb_via_parse(&via, sb_slice_trim(v)) != 0 || !px_via_is_ours(p, &via))
			continue;
		if (via.branch.l >= pl + PX_HASH_HEX &&
		    memcmp(via.branch.p, SB_PROXY_BRANCH_PREFIX, pl) == 0 &&
		    memcmp(via.branch.p + pl, hash, PX_HASH_HEX) == 0)
			return true;
	}
	return false;
}

/* A REGISTER whose registrar answer is awaited: its server transaction
 * under the token register_h was given.  It is forgotten when its final
 * response is sent, when the transaction ends (a transport error), or
 * 64*T1 after it came: the client's Timer F (RFC 3261 §17.1.2.2) has given
 * up by then, and a registrar that never answers must not hold it forever
 * (a non-INVITE server transaction has no timer before it responds).  A
 * late answer finds nothing: ENOENT. */
struct px_regw {
	struct sb_hash_node node;
	struct sb_proxy *p;
	uint64_t token;
	struct sb_tsx *st;
	struct sb_timer timer;      /* 64*T1 */
	size_t aorl;                /* the To AOR (known users); 0: none */
	char aor[];
};

static void regw_forget(struct px_regw *w)
{
	sb_timer_stop(w->p->cfg.loop, &w->timer);
	sb_hash_remove(w->p->reg_wait, &w->node);
	free(w);
}

static void regw_end_h(struct sb_tsx *t, enum sb_tsx_end why, void *arg)
{
	(void)t;
	(void)why;
	regw_forget(arg);
}

static void regw_free_h(struct sb_hash_node *n, void *arg)
{
	struct px_regw *w = SB_HASH_OWNER(n, struct px_regw, node);
	sb_timer_stop(w->p->cfg.loop, &w->timer);
	(void)arg;
	free(w);
}

/* Stop waiting for w's answer: its transaction ends with nothing sent. */
static void regw_drop(struct px_regw *w)
{
	sb_tsx_set_owner(w->st, NULL);
	sb_tsx_abandon(w->st);
	regw_forget(w);
}

static void regw_timer_h(void *arg)
{
	struct px_regw *w = arg;
	px_log(w->p, SB_LOG_WARN, "no answer from the registrar for REGISTER %llu: given up",
	       (unsigned long long)w->token);
	regw_drop(w);
}

/* Send the registrar's response buf/len through w's transaction and forget
 * w.  0 or sb_tsx_respond's error. */
static int regw_answer(struct px_regw *w, const char *buf, size_t len)
{
	/* a user that registered is known (404 vs 480 without a directory) */
	if (w->aorl && len > 8 && memcmp(buf, "SIP/2.0 2", 9) == 0)
		px_known_add(w->p, w->aor, w->aorl);
	int err = sb_tsx_respond(w->st, buf, len);
	if (!err && len > 8 && memcmp(buf, "SIP/2.0 1", 9) == 0)
		return 0; /* provisional: the final answer is still to come */
	/* the transaction runs on alone (Timer J absorbs retransmissions);
	 * one that took no response (not a status line) is ended */
	sb_tsx_set_owner(w->st, NULL);
	if (err)
		sb_tsx_abandon(w->st);
	regw_forget(w);
	return err;
}

static void handle_register(struct sb_proxy *p, const struct sb_tp_rx *rx)
{
	if (!p->cfg.register_h) {
		px_reply_stateless(p, rx, 501, NULL, SB_SLICE_NULL);
		return;
	}
	char aor[SB_LOC_MAX_AOR];
	size_t aorl;
	const struct sb_nameaddr *to;
	if (sb_sip_msg_to(rx->msg, &to) != 0 ||
	    sb_location_aor_key(&to->uri, aor, sizeof aor, &aorl) != 0)
		aorl = 0;
	struct px_regw *w = malloc(sizeof *w + aorl);
	if (!w) {
		px_reply_stateless(p, rx, 500, NULL, SB_SLICE_NULL);
		return;
	}
	w->p = p;
	sb_timer_init(&w->timer);
	w->token = ++p->reg_token;
	w->aorl = aorl;
	memcpy(w->aor, aor, aorl);
	struct sb_tsx_owner own = { .end_h = regw_end_h, .arg = w };
	int err = sb_tsx_server_alloc(&w->st, p->layer, rx, &own);
	if (err) {
		free(w);
		if (err == ENOSPC)
			px_reply_stateless(p, rx, 503, NULL, SB_SLICE_NULL);
		return;
	}
	if (sb_hash_insert(p->reg_wait, &w->node, &w->token, sizeof w->token) != 0) {
		/* tokens are unique; only the table's bound can refuse */
		sb_tsx_set_owner(w->st, NULL);
		if (px_print_response(p, rx->msg, 503, NULL, SB_SLICE_NULL) != 0 ||
		    sb_tsx_respond(w->st, p->out.p, p->out.len) != 0)
			sb_tsx_abandon(w->st);
		free(w);
		return;
	}
	/* the give-up timer runs from the start, whatever register_h does:
	 * an answer left in progress, or a provisional one (at once or
	 * later), keeps w waiting for a final answer that may never come */
	uint32_t t1 = p->cfg.t1_ms ? p->cfg.t1_ms : SB_TSX_T1_MS;
	if (sb_timer_start(p->cfg.loop, &w->timer, 64u * (sb_msec_t)t1, regw_timer_h, w) != 0) {
		/* no timer: it could wait forever; 500 now */
		if (px_print_response(p, rx->msg, 500, NULL, SB_SLICE_NULL) != 0)
			regw_drop(w);
		else
			(void)regw_answer(w, p->out.p, p->out.len);
		return;
	}
	uint64_t token = w->token;
	sb_buf_reset(&p->out);
	err = p->cfg.register_h(rx, token, &p->out, p->cfg.register_arg);
	/* register_h may have answered from inside (sb_proxy_register_answer) */
	struct sb_hash_node *n = sb_hash_find(p->reg_wait, &token, sizeof token);
	if (!n)
		return;
	w = SB_HASH_OWNER(n, struct px_regw, node);
	if (err == EINPROGRESS)
		return; /* sb_proxy_register_answer() comes later */
	if (err == EAGAIN) {
		/* a source locked out silently: nothing is sent.  A non-INVITE
		 * server transaction in Trying has no timer of its own and would
		 * wait forever, so it ends now; a retransmission makes a new one
		 * and is judged again */
		regw_drop(w);
		return;
	}
	if (err && px_print_response(p, rx->msg, 500, NULL, SB_SLICE_NULL) != 0) {
		regw_drop(w);
		return;
	}
	(void)regw_answer(w, p->out.p, p->out.len);
}

int sb_proxy_register_answer(struct sb_proxy *p, uint64_t token, const char *buf, size_t len)
{
	struct sb_hash_node *n = sb_hash_find(p->reg_wait, &token, sizeof token);
	if (!n)
		return ENOENT;
	return regw_answer(SB_HASH_OWNER(n, struct px_regw, node), buf, len);
}

static uint64_t wall_now(const struct sb_proxy *p)
{
	return p->cfg.wall_h ? p->cfg.wall_h(p->cfg.wall_arg) : (uint64_t)time(NULL);
}

/* Whether m belongs to a dialog that went through us: the first Route
 * value names us (it follows our Record-Route, RFC 3261 §16.6 step 4,
 * §12.2.1.1) and, with a dialog key, carries the dialog token for the end
 * m is sent to (dtoken.c). */
static bool in_our_dialog(const struct sb_proxy *p, struct sb_sip_msg *m, const struct sb_uri *ru,
			  bool ruri_ok)
{
	struct sb_sip_values it;
	struct sb_slice v;
	struct sb_nameaddr na;
	sb_sip_values_init(&it, m, SB_HDR_ROUTE);
	if (!sb_sip_values_next(&it, &v, NULL) || sb_nameaddr_parse(&na, sb_slice_trim(v)) != 0 ||
	    !sb_proxy_uri_is_us(p, &na.uri))
		return false;
	return !p->cfg.dialog_key || (ruri_ok && px_dtoken_check(p, m, &na.uri, ru));
}

/* RFC 3261 §22.3: whether m must carry credentials for this proxy: a
 * method in auth_methods, never ACK or CANCEL (§22.1: they cannot be
 * challenged), and not
 *  - in a dialog that went through us: a To tag and a first Route of ours
 *    with the dialog token for where it goes (in_our_dialog; the dialog
 *    was authenticated when it was made).  A To tag and a Route alone are
 *    not enough: anyone can write them, and an INVITE with forged ones
 *    would be a free call;
 *  - a call in from another domain: a From whose host is not one of our
 *    domains (any port) to a Request-URI in them (our users can be called
 *    from anywhere).
 * Everything else, our users' requests and relaying from elsewhere to
 * elsewhere, must authenticate. */
static bool needs_auth(const struct sb_proxy *p, struct sb_sip_msg *m, const struct sb_uri *ru,
		       bool ruri_ok)
{
	const struct sb_nameaddr *to, *from;
	if (!p->cfg.authn || m->mid == SB_METHOD_ACK || m->mid == SB_METHOD_CANCEL ||
	    (unsigned)m->mid >= 32u || !(p->cfg.auth_methods & (1u << m->mid)))
		return false;
	if (sb_sip_msg_to(m, &to) == 0 && to->tag.p && in_our_dialog(p, m, ru, ruri_ok))
		return false;
	if (ruri_ok && sb_proxy_uri_in_domain(p, ru) && sb_sip_msg_from(m, &from) == 0 &&
	    !px_host_in_domain(p, &from->uri))
		return false;
	return true;
}

/* RFC 3261 §22.3: judge the credentials of rx.  True when the request goes
 * on (*cred_hdr is the field with our credentials, to remove); false when
 * it was answered here (407, 403, 500) or dropped (a source locked out
 * silently).  Our answers are stateless: their To tag comes from the
 * Call-ID, so the ACK for a 407 is absorbed (px_ack_h). */
static bool authenticate(struct sb_proxy *p, const struct sb_tp_rx *rx, uint16_t *cred_hdr)
{
	struct sb_sip_msg *m = rx->msg;
	struct sb_authn_result res;
	switch (sb_authn_check(p->cfg.authn, m, &rx->src, SB_AUTHN_PROXY, wall_now(p), &res)) {
	case SB_AUTHN_OK:
		break;
	case SB_AUTHN_CHALLENGE:
		if (res.code == 407)
			p->st.challenged++;
		px_reply_stateless(p, rx, res.code, res.reason,
				   sb_slice_from(res.extra, res.extra_len));
		return false;
	case SB_AUTHN_LOCKED:
		if (res.silent) {
			px_log(p, SB_LOG_DEBUG, "locked out source: nothing sent");
			return false;
		}
		/* fall through */
	case SB_AUTHN_FORBIDDEN:
		px_reply_stateless(p, rx, 403, res.reason, SB_SLICE_NULL);
		return false;
	default:
		px_reply_stateless(p, rx, 500, NULL, SB_SLICE_NULL);
		return false;
	}
	/* RFC 3261 §22 (and §26.3.2.2): the authenticated user must own the
	 * From address: its user part, in one of our domains */
	const struct sb_nameaddr *from;
	if (sb_sip_msg_from(m, &from) != 0 ||
	    !sb_authn_owns(sb_slice_from(res.user, res.user_len), &from->uri) ||
	    !sb_proxy_uri_in_domain(p, &from->uri)) {
		px_log(p, SB_LOG_INFO, "user %s does not own the From URI", res.user);
		px_reply_stateless(p, rx, 403, "Forbidden - From Not Owned", SB_SLICE_NULL);
		return false;
	}
	*cred_hdr = res.cred_hdr;
	return true;
}

/* §16.3 step 4 (loop), §16.4, §16.5 and §16.6 for the new context r. */
static void forward(struct px_req *r, bool loop, const struct sb_uri *ru)
{
	struct sb_proxy *p = r->p;
	/* RFC 3261 §16.2: a stateful proxy sends 100 Trying to an INVITE at once */
	if (r->mid == SB_METHOD_INVITE)
		px_upstream_generated(r, 100, NULL);
	if (loop) {
		px_upstream_generated(r, 482, NULL);
		return;
	}
	struct px_routing rt;
	if (px_route(p, r->m, &rt) != 0) {
		px_upstream_generated(r, 400, "Bad Request - Malformed Route");
		return;
	}
	unsigned fail;
	if (rt.strict) {
		/* §16.4: the Request-URI came from the last Route; it is the
		 * target as it is */
		bool fits = rt.new_ruri.l > 0 && rt.new_ruri.l < SB_LOC_MAX_CONTACT;
		fail = !fits ? 414 : px_target_add(r, rt.new_ruri) ? 0 : 500;
	} else {
		px_target_set(r, ru, &fail);
	}
	if (fail) {
		px_upstream_generated(r, fail, NULL);
		return;
	}
	/* the first branches start now: their routing is this one */
	r->rt = &rt;
	px_start_targets(r);
	px_try_finish(r);
	r->rt = NULL;
}

static void request_h(const struct sb_tp_rx *rx, void *arg)
{
	struct sb_proxy *p = arg;
	struct sb_sip_msg *m = rx->msg;
	struct sb_uri ru;
	bool ruri_ok = sb_uri_parse(&ru, m->ruri) == 0;

	if (m->mid == SB_METHOD_CANCEL) {
		px_handle_cancel(p, rx);
		return;
	}
	if (m->mid == SB_METHOD_REGISTER && ruri_ok && sb_proxy_uri_in_domain(p, &ru)) {
		handle_register(p, rx);
		return;
	}
	/* OPTIONS to the proxy itself (no user, no Route): we answer */
	if (m->mid == SB_METHOD_OPTIONS && ruri_ok && !ru.user.p && sb_proxy_uri_is_us(p, &ru) &&
	    !sb_sip_hdr_first(m, SB_HDR_ROUTE)) {
		px_reply_stateless(p, rx, 200, NULL,
				   SB_LIT("Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, "
					  "SUBSCRIBE, NOTIFY, REFER, INFO, UPDATE, PRACK, MESSAGE\r\n"
					  "Accept: application/sdp\r\n"));
		return;
	}

	/* §16.3 step 4 first: a request of ours that came back lost our
	 * credentials on the way (§22.3) and must be told a loop, not be
	 * challenged (the hash leaves Proxy-Authorization out then) */
	char hash[PX_HASH_HEX + 1];
	px_loop_hash(p, m, hash);
	bool loop = is_loop(p, m, hash);
	bool has_cred = false;
	uint16_t cred_hdr = 0;
	if (!loop && needs_auth(p, m, &ru, ruri_ok)) {
		if (!authenticate(p, rx, &cred_hdr))
			return;
		has_cred = true;
	}

	struct px_req *r;
	if (req_alloc(p, rx, &r) != 0) {
		px_reply_stateless(p, rx, 500, NULL, SB_SLICE_NULL);
		return;
	}
	struct sb_tsx_owner own = { .end_h = px_st_end_h, .arg = r };
	int err = sb_tsx_server_alloc(&r->st, p->layer, rx, &own);
	if (err) {
		px_req_free(r);
		/* §16.3 / §21.5.4: no room for a transaction */
		if (err == ENOSPC)
			px_reply_stateless(p, rx, 503, NULL, SB_SLICE_NULL);
		return;
	}
	r->has_cred = has_cred;
	r->cred_hdr = cred_hdr;
	memcpy(r->hash, hash, sizeof hash);
	/* only an INVITE's context is looked for by a CANCEL (§9.2) */
	bool indexed = true;
	if (m->mid == SB_METHOD_INVITE) {
		r->st_key = r->st;
		if (sb_hash_insert(p->by_st, &r->node, &r->st_key, sizeof r->st_key) != 0) {
			r->st_key = NULL;
			indexed = false;
		}
	}
	if (indexed)
		forward(r, loop, ruri_ok ? &ru : NULL);
	else /* a CANCEL could not find it: not forwarded */
		px_upstream_generated(r, 500, NULL);
	/* from here on the request is parsed again when needed */
	px_req_keep(r);
	px_req_settle(r);
}

/* One INFO line per rejected request, bounded against a sender that
 * floods us with broken requests: at most SB_PROXY_REJECT_LOG_PER_SEC in a
 * window of one second; the first line of a later window is preceded by
 * one summary of those left out.  (A flood that stops leaves its count
 * until the next rejection.) */
static void log_rejected(struct sb_proxy *p, unsigned code, const char *reason)
{
	if (!p->cfg.log_h || SB_LOG_INFO < p->cfg.log_level)
		return;
	uint64_t now = sb_loop_now(p->cfg.loop);
	if (now - p->rej_window >= 1000 || now < p->rej_window) {
		if (p->rej_suppressed)
			px_log(p, SB_LOG_INFO, "%llu more rejections suppressed",
			       (unsigned long long)p->rej_suppressed);
		p->rej_window = now;
		p->rej_logged = 0;
		p->rej_suppressed = 0;
	}
	if (p->rej_logged >= SB_PROXY_REJECT_LOG_PER_SEC) {
		p->rej_suppressed++;
		return;
	}
	p->rej_logged++;
	px_log(p, SB_LOG_INFO, "rejected with %u: %s", code, reason ? reason : "");
}

void sb_proxy_recv(const struct sb_tp_rx *rx, void *arg)
{
	struct sb_proxy *p = arg;
	struct sb_sip_msg *m = rx->msg;
	if (m->is_request)
		p->st.requests++;
	else
		p->st.responses_in++;
	if (p->cfg.log_h && p->cfg.log_level <= SB_LOG_DEBUG) {
		char a[SB_ADDR_STR_MAX];
		px_log(p, SB_LOG_DEBUG, "recv %s %s \"%.*s\"", proto_name(rx->proto),
		       sb_addr_to_str(&rx->src, a, sizeof a), (int)m->start_line.l,
		       m->start_line.p);
	}
	struct sb_sip_validate_cfg vc = { .role = SB_ROLE_PROXY };
	struct sb_sip_verdict vd;
	struct sb_uri ru;
	if (m->is_request && m->mid == SB_METHOD_REGISTER && sb_uri_parse(&ru, m->ruri) == 0 &&
	    sb_proxy_uri_in_domain(p, &ru))
		vc.role = SB_ROLE_REGISTRAR;
	if (sb_sip_validate(m, &vc, &vd) != 0) {
		if (vd.drop || !m->is_request) {
			px_log(p, SB_LOG_DEBUG, "dropped: %s", vd.reason ? vd.reason : "invalid");
			return;
		}
		/* RFC 3261 §16.3 step 3 / §11: an element MAY answer an OPTIONS
		 * with Max-Forwards 0 itself */
		if (vd.code == 483 && m->mid == SB_METHOD_OPTIONS) {
			px_reply_stateless(p, rx, 200, NULL, SB_SLICE_NULL);
			return;
		}
		char extra[512];
		struct sb_buf eb;
		sb_buf_init_fixed(&eb, extra, sizeof extra);
		sb_sip_print_unsupported(&eb, &vd);
		log_rejected(p, vd.code, vd.reason);
		px_reply_stateless(p, rx, vd.code, vd.reason,
				   eb.len && !eb.err ? sb_buf_slice(&eb) : SB_SLICE_NULL);
		return;
	}
	int err = sb_tsx_layer_recv(p->layer, rx);
	if (err)
		px_log(p, SB_LOG_DEBUG, "dropped by the transaction layer: %s", strerror(err));
}

int sb_proxy_alloc(struct sb_proxy **pp, const struct sb_proxy_cfg *cfg)
{
	if (!cfg || !cfg->loop || !cfg->location || !cfg->send_h || cfg->nlisten == 0 ||
	    cfg->nlisten > SB_PROXY_MAX_LISTEN || cfg->ndomains > SB_PROXY_MAX_DOMAINS)
		return EINVAL;
	struct sb_proxy *p = calloc(1, sizeof *p);
	if (!p)
		return ENOMEM;
	p->cfg = *cfg;
	if (!p->cfg.timer_c_ms)
		p->cfg.timer_c_ms = SB_PROXY_TIMER_C_MS;
	if (cfg->realm && !(p->cfg.realm = p->realm = strdup(cfg->realm))) {
		free(p);
		return ENOMEM;
	}
	for (unsigned k = 0; k < cfg->ndomains; k++) {
		size_t l = strlen(cfg->domains[k]);
		if (l >= SB_PROXY_MAX_NAME) {
			free(p->realm);
			free(p);
			return EINVAL;
		}
		memcpy(p->domains[k], cfg->domains[k], l + 1);
		p->cfg.domains[k] = p->domains[k];
	}
	for (unsigned k = 0; k < cfg->nlisten; k++) {
		if (px_addr_host(&cfg->listen[k].addr, p->lhost[k], sizeof p->lhost[k]) != 0)
			continue;
		size_t hl = strlen(p->lhost[k]);
		memcpy(p->lhp[k], p->lhost[k], hl);
		p->lhp[k][hl++] = ':';
		hl += px_u64_dec(sb_addr_port(&cfg->listen[k].addr), p->lhp[k] + hl);
		p->lhp_len[k] = hl;
	}
	sb_buf_init(&p->out, PX_OUT_MAX);
	p->rmsg = malloc(sizeof *p->rmsg);
	p->tmsg = malloc(sizeof *p->tmsg);
	struct sb_hash_cfg hc = { .max_count = SB_PROXY_MAX_KNOWN_AORS, .seed = cfg->seed };
	struct sb_hash_cfg hs = { .seed = cfg->seed };
	struct sb_tsx_layer_cfg lc = {
		.loop = cfg->loop,
		.t1_ms = cfg->t1_ms,
		.max_tsx = cfg->max_tsx,
		.hash_seed = cfg->seed,
		.send_h = px_send,
		.request_h = request_h,
		.ack_h = px_ack_h,
		.stray_h = px_stray_h,
		.arg = p,
	};
	int err = ENOMEM;
	if (!p->rmsg || !p->tmsg ||
	    (cfg->dialog_key && (err = sb_hmac_alloc(&p->dmac, cfg->dialog_key,
						     cfg->dialog_key_len))) ||
	    (err = sb_hash_alloc(&p->known, &hc)) ||
	    (err = sb_hash_alloc(&p->by_st, &hs)) ||
	    (err = sb_hash_alloc(&p->reg_wait, &hs)) || (err = sb_tsx_layer_alloc(&p->layer, &lc))) {
		sb_proxy_free(p);
		return err;
	}
	*pp = p;
	return 0;
}

void sb_proxy_free(struct sb_proxy *p)
{
	if (!p)
		return;
	/* the layer goes first: it frees transactions without calling us */
	sb_tsx_layer_free(p->layer);
	while (p->reqs)
		px_req_free(p->reqs);
	px_calls_free(p);
	if (p->known) {
		sb_hash_clear(p->known, known_free_h, NULL);
		sb_hash_free(p->known);
	}
	sb_hash_free(p->by_st);
	if (p->reg_wait) {
		sb_hash_clear(p->reg_wait, regw_free_h, NULL);
		sb_hash_free(p->reg_wait);
	}
	sb_buf_free(&p->out);
	free(p->rmsg);
	free(p->tmsg);
	sb_hmac_free(p->dmac);
	free(p->realm);
	free(p);
}

size_t sb_proxy_context_count(const struct sb_proxy *p)
{
	return p->nreqs;
}

struct sb_tsx_layer *sb_proxy_tsx_layer(struct sb_proxy *p)
{
	return p->layer;
}
