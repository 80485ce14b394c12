/* registrar: REGISTER processing, RFC 3261 §10.3, over location.h.
 *
 * One pass reads and checks everything the request asks for (domain, AOR,
 * every Contact with its expiry, the Call-ID/CSeq order, the bounds) into a
 * small array; only when all of it passes are the bindings changed, so a
 * REGISTER is applied whole or not at all (§10.3 step 7).  Then the 200 OK
 * lists every current binding of the AOR (§10.3 step 8).  The choices the
 * RFC leaves open are listed in registrar.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "switchboard/authn.h"
#include "switchboard/hash.h"
#include "switchboard/registrar.h"
#include "switchboard/store.h"

/* A response waiting for the store: sent once its last change is
 * committed (or a 500 if one failed). */
struct reg_pending {
	struct reg_pending *prev, *next;
	struct sb_registrar *r;
	uint64_t token;
	unsigned outstanding;     /* store operations not yet done */
	int err;                  /* the first failure */
	char *fail;               /* the 500 to send instead, printed ahead */
	size_t fail_len;
	size_t len;
	char *resp;               /* the response to send */
};

struct sb_registrar {
	struct sb_location *loc;
	struct sb_loop *loop;
	uint32_t min_expires, max_expires, default_expires;
	uint32_t tag_seed;
	size_t ndomains;
	char **domains;
	struct sb_authn *authn;
	struct sb_store *store;
	sb_registrar_done_h *done_h;
	void *done_arg;
	uint64_t (*wall_h)(void *arg);
	void *wall_arg;
	struct reg_pending *pending;
	size_t npending;
};

/* One Contact value of the request, checked, waiting to be applied. */
struct reg_contact {
	struct sb_slice uri_s;   /* URI text without <> or contact params */
	struct sb_uri uri;
	uint32_t expires;        /* seconds after min/max; 0 removes */
	unsigned q1000;
	bool exists;             /* the AOR has a binding for it now */
	bool superseded;         /* a later value in the request names it too */
};

void sb_registrar_free(struct sb_registrar *r)
{
	if (!r)
		return;
	/* the store is freed (or flushed) first: no done handler comes later */
	while (r->pending) {
		struct reg_pending *pd = r->pending;
		r->pending = pd->next;
		free(pd->fail);
		free(pd->resp);
		free(pd);
	}
	for (size_t i = 0; i < r->ndomains; i++)
		free(r->domains[i]);
	free(r->domains);
	free(r);
}

int sb_registrar_alloc(struct sb_registrar **rp, const struct sb_registrar_cfg *cfg)
{
	if (!rp || !cfg || !cfg->location || !cfg->loop || (cfg->store && !cfg->done_h))
		return EINVAL;
	uint32_t min = cfg->min_expires ? cfg->min_expires : SB_REG_DEFAULT_MIN_EXPIRES;
	uint32_t max = cfg->max_expires ? cfg->max_expires : SB_REG_DEFAULT_MAX_EXPIRES;
	uint32_t def = cfg->default_expires ? cfg->default_expires : SB_REG_DEFAULT_EXPIRES;
	if (min > max || def < min || def > max)
		return EINVAL;
	size_t nd = 0;
	while (cfg->domains && cfg->domains[nd])
		if (++nd > SB_REG_MAX_DOMAINS)
			return EINVAL;
	struct sb_registrar *r = calloc(1, sizeof *r);
	if (!r)
		return ENOMEM;
	r->loc = cfg->location;
	r->loop = cfg->loop;
	r->min_expires = min;
	r->max_expires = max;
	r->default_expires = def;
	r->tag_seed = cfg->tag_seed;
	r->authn = cfg->authn;
	r->store = cfg->store;
	r->done_h = cfg->done_h;
	r->done_arg = cfg->done_arg;
	r->wall_h = cfg->wall_h;
	r->wall_arg = cfg->wall_arg;
	if (nd) {
		r->domains = calloc(nd, sizeof *r->domains);
		if (!r->domains) {
			free(r);
			return ENOMEM;
		}
		for (; r->ndomains < nd; r->ndomains++) {
			r->domains[r->ndomains] = strdup(cfg->domains[r->ndomains]);
			if (!r->domains[r->ndomains]) {
				sb_registrar_free(r);
				return ENOMEM;
			}
		}
	}
	*rp = r;
	return 0;
}

static bool serves_host(const struct sb_registrar *r, struct sb_slice host)
{
	if (!r->ndomains)
		return true;
	for (size_t i = 0; i < r->ndomains; i++)
		if (sb_slice_caseeq_cstr(host, r->domains[i]))
			return true;
	return false;
}

bool sb_registrar_serves(const struct sb_registrar *r, const struct sb_sip_msg *req)
{
	struct sb_uri ruri;
	if (!req->is_request || sb_uri_parse(&ruri, req->ruri) != 0)
		return false;
	if (ruri.scheme != SB_URI_SIP && ruri.scheme != SB_URI_SIPS)
		return false;
	return serves_host(r, ruri.host);
}

/* ------------------------------------------------------------ responses */

/* The To tag of our responses: RFC 3261 §8.2.6.2 asks for one on every
 * response but 100.  A REGISTER makes no dialog, so the tag only has to be
 * a token; deriving it from Call-ID and CSeq makes a retransmission that
 * reaches us get the same response. */
static void make_tag(const struct sb_registrar *r, struct sb_sip_msg *req, char tag[9])
{
	static const char hex[] = "0123456789abcdef";
	struct sb_slice cid = SB_SLICE_NULL;
	const struct sb_cseq *cs = NULL;
	uint32_t h = r->tag_seed;
	if (sb_sip_msg_call_id(req, &cid) == 0)
		h = sb_hash_bytes(cid.p, cid.l, h);
	if (sb_sip_msg_cseq(req, &cs) == 0)
		h = sb_hash_bytes(&cs->num, sizeof cs->num, h);
	for (int i = 0; i < 8; i++)
		tag[i] = hex[(h >> (28 - 4 * i)) & 15];
	tag[8] = '\0';
}

static int respond(struct sb_registrar *r, struct sb_sip_msg *req, struct sb_buf *out,
		   unsigned code, const char *reason, struct sb_slice extra)
{
	char tag[9];
	make_tag(r, req, tag);
	struct sb_sip_response_spec spec = {
		.code = code,
		.reason = reason ? sb_slice_cstr(reason) : SB_SLICE_NULL,
		.to_tag = sb_slice_from(tag, 8),
		.extra = extra,
	};
	return sb_sip_print_response(out, req, &spec);
}

static int respond_plain(struct sb_registrar *r, struct sb_sip_msg *req, struct sb_buf *out,
			 unsigned code, const char *reason)
{
	return respond(r, req, out, code, reason, SB_SLICE_NULL);
}

/* q as RFC 3261 §25.1 writes it: "0.5", "0.25", "0.125", "0". */
static void append_q(struct sb_buf *b, unsigned q1000)
{
	char s[6] = "0.";
	size_t n = 2;
	unsigned d[3] = { q1000 / 100, q1000 / 10 % 10, q1000 % 10 };
	size_t last = 0;
	for (size_t i = 0; i < 3; i++)
		if (d[i])
			last = i + 1;
	for (size_t i = 0; i < last; i++)
		s[n++] = (char)('0' + d[i]);
	sb_buf_append(b, s, last ? n : 1);
}

/* RFC 3261 §10.3 step 8: a 200 OK listing every current binding of aor,
 * each with the seconds it has left as its expires param. */
static int respond_bindings(struct sb_registrar *r, struct sb_sip_msg *req, struct sb_buf *out,
			    struct sb_slice aor)
{
	const struct sb_binding *some[SB_LOC_DEFAULT_MAX_PER_AOR];
	const struct sb_binding **bs = some;
	size_t n = sb_location_lookup(r->loc, aor, some, SB_ARRAY_LEN(some));
	if (n > SB_ARRAY_LEN(some)) {
		bs = malloc(n * sizeof *bs);
		if (!bs)
			return respond_plain(r, req, out, 500, "Out of Memory");
		n = sb_location_lookup(r->loc, aor, bs, n);
	}
	struct sb_buf extra;
	sb_buf_init(&extra, SB_SIP_MAX_MSG_SIZE);
	sb_msec_t now = sb_loop_now(r->loop);
	for (size_t i = 0; i < n; i++) {
		sb_msec_t left = bs[i]->expires_at > now ? bs[i]->expires_at - now : 0;
		sb_buf_append_cstr(&extra, "Contact: <");
		sb_buf_append_slice(&extra, bs[i]->contact);
		sb_buf_append_cstr(&extra, ">;expires=");
		/* round up: a binding still there has at least a second left */
		sb_buf_append_u64(&extra, (left + 999) / 1000);
		if (bs[i]->q1000 < 1000) {
			sb_buf_append_cstr(&extra, ";q=");
			append_q(&extra, bs[i]->q1000);
		}
		sb_buf_append_cstr(&extra, "\r\n");
	}
	if (bs != some)
		free(bs);
	int err = extra.err;
	if (!err)
		err = respond(r, req, out, 200, NULL, sb_buf_slice(&extra));
	sb_buf_free(&extra);
	return err;
}

/* ----------------------------------------------------------- durability */

static uint64_t wall_now(const struct sb_registrar *r)
{
	return r->wall_h ? r->wall_h(r->wall_arg) : (uint64_t)time(NULL);
}

size_t sb_registrar_pending(const struct sb_registrar *r)
{
	return r->npending;
}

static void pending_unlink(struct sb_registrar *r, struct reg_pending *pd)
{
	if (pd->prev)
		pd->prev->next = pd->next;
	else
		r->pending = pd->next;
	if (pd->next)
		pd->next->prev = pd->prev;
	r->npending--;
}

/* The store's done handler, on the loop thread, in commit order: the
 * response goes once every change of its REGISTER is durable. */
static void pending_done(int err, void *arg)
{
	struct reg_pending *pd = arg;
	if (err && !pd->err)
		pd->err = err;
	if (--pd->outstanding)
		return;
	struct sb_registrar *r = pd->r;
	pending_unlink(r, pd);
	if (pd->err)
		r->done_h(pd->token, pd->fail, pd->fail_len, r->done_arg);
	else
		r->done_h(pd->token, pd->resp, pd->len, r->done_arg);
	free(pd->fail);
	free(pd->resp);
	free(pd);
}

static struct reg_pending *pending_new(struct sb_registrar *r, uint64_t token)
{
	struct reg_pending *pd = calloc(1, sizeof *pd);
	if (!pd)
		return NULL;
	pd->r = r;
	pd->token = token;
	return pd;
}

/* The source of a binding as text, for a restarted server (store.h). */
static void source_text(const struct sb_tp_rx *rx, char proto[8], char addr[SB_ADDR_STR_MAX],
			char conn[16])
{
	proto[0] = addr[0] = conn[0] = 0;
	if (!rx)
		return;
	snprintf(proto, 8, "%s", rx->proto == SB_TP_UDP ? "udp" : rx->proto == SB_TP_TCP ? "tcp"
												: "tls");
	sb_addr_to_str(&rx->src, addr, SB_ADDR_STR_MAX);
	if (rx->conn_id)
		snprintf(conn, 16, "%u", (unsigned)rx->conn_id);
}

/* Queue the store operations for one applied change of the location.  The
 * store keys a binding by its contact text, the location by URI equality
 * (RFC 3261 §10.3 step 7): old is the text the binding had before the
 * change (empty when it is new), so that a removal, or a refresh spelled
 * differently (";transport=UDP" for ";transport=udp"), removes the row that
 * is there and no stale row comes back at the next start. */
static int persist_change(struct sb_registrar *r, struct reg_pending *pd,
			  const struct sb_binding_update *u, struct sb_slice old,
			  const struct sb_tp_rx *rx)
{
	int err;
	if (u->expires_s == 0 || (old.l && !sb_slice_eq(old, u->contact))) {
		err = sb_store_del_binding(r->store, u->aor, old.l ? old : u->contact, pending_done,
					   pd);
		if (err)
			return err;
		pd->outstanding++;
		if (u->expires_s == 0)
			return 0;
	}
	char proto[8], addr[SB_ADDR_STR_MAX], conn[16];
	source_text(rx, proto, addr, conn);
	struct sb_store_binding b = {
		.aor = u->aor,
		.contact = u->contact,
		.call_id = u->call_id,
		.cseq = u->cseq,
		.expires_at = (int64_t)(wall_now(r) + u->expires_s),
		.q1000 = u->q1000,
		.source_proto = sb_slice_cstr(proto),
		.source_addr = sb_slice_cstr(addr),
		.source_conn = sb_slice_cstr(conn),
	};
	err = sb_store_put_binding(r->store, &b, pending_done, pd);
	if (!err)
		pd->outstanding++;
	return err;
}

/* Hand a response printed at out[mark..] to the pending record, or send
 * it now when nothing was queued.  A queueing failure after some changes
 * were queued still waits for them, then answers the 500 (or 503 when the
 * queue was full). */
static int finish_pending(struct sb_registrar *r, struct sb_sip_msg *req, struct reg_pending *pd,
			  int qerr, struct sb_buf *out, size_t mark, int perr);

/* -------------------------------------------------------------- REGISTER */

/* RFC 3261 §10.3 step 7: "If the Call-ID value in the existing binding
 * differs from the Call-ID value in the request, the binding MUST be
 * removed if the expiration time is zero and updated otherwise.  If they
 * are the same, the registrar compares the CSeq value.  If the value is
 * higher than that of the existing binding, it MUST update or remove the
 * binding as above.  If not, the update MUST be aborted and the request
 * fails."  True when b may be changed by this request. */
static bool in_order(const struct sb_binding *b, struct sb_slice call_id, uint32_t cseq)
{
	return !sb_slice_eq(b->call_id, call_id) || cseq > b->cseq;
}

/* The seconds a contact asks for: its expires param, else the Expires
 * header, else our default (RFC 3261 §10.3 step 7, §10.2.1.1). */
static int contact_expiry(const struct sb_registrar *r, const struct sb_nameaddr *na,
			  bool have_hdr, uint32_t hdr, uint32_t *secs)
{
	int err = sb_contact_expires(na, secs);
	if (err == ENOENT) {
		*secs = have_hdr ? hdr : r->default_expires;
		return 0;
	}
	return err;
}

static int handle_authenticated(struct sb_registrar *r, struct sb_sip_msg *req,
				const struct sb_tp_rx *rx, uint64_t token, struct sb_buf *out,
				size_t mark, const struct sb_authn_result *ares);

/* A response printed apart, into a heap copy (the failure answer of a
 * pending record). */
static int print_apart(struct sb_registrar *r, struct sb_sip_msg *req, unsigned code,
		       const char *reason, char **out, size_t *len)
{
	struct sb_buf b;
	sb_buf_init(&b, SB_SIP_MAX_MSG_SIZE);
	int err = respond_plain(r, req, &b, code, reason);
	if (!err) {
		free(*out);
		*out = malloc(b.len);
		if (*out) {
			memcpy(*out, b.p, b.len);
			*len = b.len;
		} else {
			err = ENOMEM;
		}
	}
	sb_buf_free(&b);
	return err;
}

static int finish_pending(struct sb_registrar *r, struct sb_sip_msg *req, struct reg_pending *pd,
			  int qerr, struct sb_buf *out, size_t mark, int perr)
{
	if (!pd)
		return perr;
	if (qerr == EAGAIN)
		(void)print_apart(r, req, 503, "Service Unavailable - Store Busy", &pd->fail,
				  &pd->fail_len);
	if (!pd->outstanding) {
		/* nothing went to the store: answer now */
		out->len = mark;
		int err = perr;
		if (qerr && pd->fail) {
			err = sb_buf_append(out, pd->fail, pd->fail_len);
			err = err ? err : out->err;
		}
		free(pd->fail);
		free(pd);
		return err;
	}
	if (qerr || perr)
		pd->err = qerr ? qerr : perr;
	if (!pd->err) {
		pd->len = out->len - mark;
		pd->resp = malloc(pd->len);
		if (pd->resp)
			memcpy(pd->resp, out->p + mark, pd->len);
		else
			pd->err = ENOMEM;
	}
	/* without a failure answer (pd->fail NULL: no memory to print one), a
	 * failed commit sends nothing: the phone retransmits and tries again */
	out->len = mark;
	pd->next = r->pending;
	if (r->pending)
		r->pending->prev = pd;
	r->pending = pd;
	r->npending++;
	return EINPROGRESS;
}

/* RFC 3261 §10.3 steps 3 and 4: authenticate (401 with challenges), then
 * the authenticated user must own the AOR (403).  Returns -1 to go on, or
 * the result of the response printed (EAGAIN: silence). */
static int authenticate(struct sb_registrar *r, struct sb_sip_msg *req,
			const struct sb_tp_rx *rx, struct sb_buf *out,
			struct sb_authn_result *res)
{
	struct sb_addr none = { 0 };
	enum sb_authn_verdict v = sb_authn_check(r->authn, req, rx ? &rx->src : &none,
						 SB_AUTHN_WWW, wall_now(r), res);
	switch (v) {
	case SB_AUTHN_OK:
		return -1;
	case SB_AUTHN_CHALLENGE:
		return respond(r, req, out, 401, NULL, sb_slice_from(res->extra, res->extra_len));
	case SB_AUTHN_LOCKED:
		if (res->silent)
			return EAGAIN;
		return respond_plain(r, req, out, 403, res->reason);
	case SB_AUTHN_FORBIDDEN:
		return respond_plain(r, req, out, 403, res->reason);
	case SB_AUTHN_ERROR:
		break;
	}
	return respond_plain(r, req, out, 500, NULL);
}

int sb_registrar_handle(struct sb_registrar *r, struct sb_sip_msg *req,
			const struct sb_tp_rx *rx, uint64_t token, struct sb_buf *out)
{
	if (!r || !req || !out || !req->is_request || req->mid != SB_METHOD_REGISTER)
		return EINVAL;
	struct sb_authn_result *ares = NULL;
	size_t mark = out->len;

	/* RFC 3261 §10.3 step 1: bindings of domains we do not serve are not
	 * ours to change (a proxy may forward them: sb_registrar_serves). */
	struct sb_uri ruri;
	if (sb_uri_parse(&ruri, req->ruri) != 0)
		return respond_plain(r, req, out, 400, "Bad Request-URI");
	if ((ruri.scheme != SB_URI_SIP && ruri.scheme != SB_URI_SIPS) ||
	    !serves_host(r, ruri.host))
		return respond_plain(r, req, out, 404, "Domain Not Served");

	/* Step 3: authentication (RFC 3261 §22.2, authn.h) */
	if (r->authn) {
		ares = malloc(sizeof *ares);
		if (!ares)
			return respond_plain(r, req, out, 500, "Out of Memory");
		int a = authenticate(r, req, rx, out, ares);
		if (a != -1) {
			free(ares);
			return a;
		}
	}
	int err = handle_authenticated(r, req, rx, token, out, mark, ares);
	free(ares);
	return err;
}

/* Steps 4 to 8, once the request is authenticated (ares, or NULL when
 * authentication is off). */
static int handle_authenticated(struct sb_registrar *r, struct sb_sip_msg *req,
				const struct sb_tp_rx *rx, uint64_t token, struct sb_buf *out,
				size_t mark, const struct sb_authn_result *ares)
{
	/* Step 5: the AOR is the To URI, canonicalised.  A non-SIP AOR cannot
	 * be registered (RFC 4475 §3.3.4 unksm2: 400). */
	const struct sb_nameaddr *to;
	if (sb_sip_msg_to(req, &to) != 0)
		return respond_plain(r, req, out, 400, "Bad To Header");
	if (to->uri.scheme != SB_URI_SIP && to->uri.scheme != SB_URI_SIPS)
		return respond_plain(r, req, out, 400, "Address of Record Not SIP");
	if (!serves_host(r, to->uri.host))
		return respond_plain(r, req, out, 404, "Domain Not Served");
	/* Step 4: "the registrar MUST determine if the authenticated user is
	 * authorized to modify registrations for this address-of-record" */
	if (ares && !sb_authn_owns(sb_slice_from(ares->user, ares->user_len), &to->uri))
		return respond_plain(r, req, out, 403, "Forbidden - Not Your Address of Record");
	char aor_buf[SB_LOC_MAX_AOR];
	size_t aor_len;
	int err = sb_location_aor_key(&to->uri, aor_buf, sizeof aor_buf, &aor_len);
	if (err)
		return respond_plain(r, req, out, 400,
				     err == ENOSPC ? "Address of Record Too Long"
						   : "Bad Address of Record");
	struct sb_slice aor = sb_slice_from(aor_buf, aor_len);

	struct sb_slice call_id;
	const struct sb_cseq *cseq;
	if (sb_sip_msg_call_id(req, &call_id) != 0)
		return respond_plain(r, req, out, 400, "Bad Call-ID");
	if (call_id.l > SB_LOC_MAX_CALL_ID)
		return respond_plain(r, req, out, 400, "Call-ID Too Long");
	if (sb_sip_msg_cseq(req, &cseq) != 0)
		return respond_plain(r, req, out, 400, "Bad CSeq");
	uint32_t hdr_expires = 0;
	err = sb_sip_msg_expires(req, &hdr_expires);
	if (err && err != ENOENT)
		return respond_plain(r, req, out, 400, "Bad Expires");
	bool have_hdr = err == 0;

	/* Read every Contact value before changing anything. */
	struct reg_contact cs[SB_REG_MAX_CONTACTS];
	size_t n = 0;
	bool star = false;
	struct sb_sip_values it;
	struct sb_slice v;
	sb_sip_values_init(&it, req, SB_HDR_CONTACT);
	while (sb_sip_values_next(&it, &v, NULL)) {
		struct sb_nameaddr na;
		if (sb_nameaddr_parse(&na, v) != 0)
			return respond_plain(r, req, out, 400, "Bad Contact");
		if (na.star) {
			star = true;
			n++;
			continue;
		}
		if (n >= SB_REG_MAX_CONTACTS)
			return respond_plain(r, req, out, 503, "Too Many Contacts");
		struct reg_contact *c = &cs[n];
		memset(c, 0, sizeof *c);
		c->uri_s = na.uri_s;
		c->uri = na.uri;
		if (c->uri_s.l > SB_LOC_MAX_CONTACT)
			return respond_plain(r, req, out, 400, "Contact Too Long");
		if (sb_contact_q(&na, &c->q1000) != 0)
			return respond_plain(r, req, out, 400, "Bad Contact q");
		if (contact_expiry(r, &na, have_hdr, hdr_expires, &c->expires) != 0)
			return respond_plain(r, req, out, 400, "Bad Contact expires");
		n++;
	}

	/* Step 6: "*" removes every binding, but only alone and with
	 * Expires: 0; otherwise the request is invalid (400). */
	if (star) {
		if (n != 1 || !have_hdr || hdr_expires != 0)
			return respond_plain(r, req, out, 400, "Invalid Request");
		const struct sb_binding *bs[SB_LOC_DEFAULT_MAX_PER_AOR];
		const struct sb_binding **all = bs;
		size_t nb = sb_location_lookup(r->loc, aor, bs, SB_ARRAY_LEN(bs));
		if (nb > SB_ARRAY_LEN(bs)) {
			all = malloc(nb * sizeof *all);
			if (!all)
				return respond_plain(r, req, out, 500, "Out of Memory");
			nb = sb_location_lookup(r->loc, aor, all, nb);
		}
		/* Step 6: each binding goes only if its Call-ID differs or the
		 * CSeq is higher; "otherwise, the update MUST be aborted and the
		 * request fails". */
		bool ok = true;
		for (size_t i = 0; i < nb && ok; i++)
			ok = in_order(all[i], call_id, cseq->num);
		if (all != bs)
			free(all);
		if (!ok)
			return respond_plain(r, req, out, 500, "Out of Order CSeq");
		struct reg_pending *pd = NULL;
		int qerr = 0;
		if (r->store && nb) {
			if (!(pd = pending_new(r, token)))
				return respond_plain(r, req, out, 500, "Out of Memory");
			(void)print_apart(r, req, 500, "Server Error - Store Failure", &pd->fail,
					  &pd->fail_len);
			qerr = sb_store_del_aor(r->store, aor, pending_done, pd);
			if (!qerr)
				pd->outstanding++;
		}
		if (!qerr)
			sb_location_remove_aor(r->loc, aor);
		int perr = qerr ? 0 : respond_bindings(r, req, out, aor);
		return finish_pending(r, req, pd, qerr, out, mark, perr);
	}

	/* Step 7, for each contact: the interval, then the order. */
	size_t removes = 0, adds = 0;
	for (size_t i = 0; i < n; i++) {
		struct reg_contact *c = &cs[i];
		/* "If and only if the expiration interval is greater than zero
		 * AND smaller than one hour AND less than a registrar-configured
		 * minimum, the registrar MAY reject the registration with a
		 * response of 423" (min_expires <= max_expires, see alloc, and
		 * we reject below the minimum whatever it is). */
		if (c->expires != 0 && c->expires < r->min_expires) {
			char mh[32];
			struct sb_buf b;
			sb_buf_init_fixed(&b, mh, sizeof mh);
			sb_buf_append_cstr(&b, "Min-Expires: ");
			sb_buf_append_u32(&b, r->min_expires);
			sb_buf_append_cstr(&b, "\r\n");
			return respond(r, req, out, 423, NULL, sb_buf_slice(&b));
		}
		/* "the registrar MAY shorten the expiration interval" */
		if (c->expires > r->max_expires)
			c->expires = r->max_expires;
		for (size_t j = 0; j < i; j++)
			if (!cs[j].superseded && sb_uri_equal(&cs[j].uri, &c->uri))
				cs[j].superseded = true; /* the last value wins */
		const struct sb_binding *b = sb_location_find(r->loc, aor, c->uri_s);
		c->exists = b != NULL;
		if (b && !in_order(b, call_id, cseq->num))
			return respond_plain(r, req, out, 500, "Out of Order CSeq");
	}
	for (size_t i = 0; i < n; i++) {
		if (cs[i].superseded)
			continue;
		if (cs[i].exists && cs[i].expires == 0)
			removes++;
		else if (!cs[i].exists && cs[i].expires != 0)
			adds++;
	}
	err = sb_location_check_room(r->loc, aor, removes, adds);
	if (err)
		return respond_plain(r, req, out, 503,
				     err == EDQUOT ? "Too Many Contacts" : "Too Many Bindings");

	/* Commit.  Removals first, so that their room is free for the adds. */
	struct sb_binding_update u = {
		.aor = aor,
		.call_id = call_id,
		.cseq = cseq->num,
	};
	if (rx)
		u.source = (struct sb_tp_dest){ .proto = rx->proto, .addr = rx->src,
						.conn_id = rx->conn_id, .local = rx->local };
	struct reg_pending *pd = NULL;
	int qerr = 0;
	if (r->store && n) {
		if (!(pd = pending_new(r, token)))
			return respond_plain(r, req, out, 500, "Out of Memory");
		(void)print_apart(r, req, 500, "Server Error - Store Failure", &pd->fail,
				  &pd->fail_len);
	}
	for (int pass = 0; pass < 2 && !qerr; pass++) {
		for (size_t i = 0; i < n; i++) {
			if (cs[i].superseded || (cs[i].expires == 0) != (pass == 0))
				continue;
			u.contact = cs[i].uri_s;
			u.expires_s = cs[i].expires;
			u.q1000 = cs[i].q1000;
			/* a removal of what is not there changes nothing */
			bool change = u.expires_s != 0 || cs[i].exists;
			char old_buf[SB_LOC_MAX_CONTACT];
			struct sb_slice old = SB_SLICE_NULL;
			const struct sb_binding *ob =
				pd ? sb_location_find(r->loc, aor, cs[i].uri_s) : NULL;
			if (ob && ob->contact.l <= sizeof old_buf) {
				memcpy(old_buf, ob->contact.p, ob->contact.l);
				old = sb_slice_from(old_buf, ob->contact.l);
			}
			err = sb_location_update(r->loc, &u);
			/* Only ENOMEM (or a loop at max_timers) can get here
			 * after the checks above; the RFC's answer to a failed
			 * commit is 500 (step 7).  Earlier changes of this request
			 * stay: memory is short, and undoing needs more of it. */
			if (err) {
				if (!pd)
					return respond_plain(r, req, out, 500,
							     err == EINVAL ? "Bad Contact"
									   : "Server Error");
				qerr = err;
				break;
			}
			if (pd && change && (qerr = persist_change(r, pd, &u, old, rx)))
				break;
		}
	}
	int perr = qerr ? 0 : respond_bindings(r, req, out, aor);
	return finish_pending(r, req, pd, qerr, out, mark, perr);
}
