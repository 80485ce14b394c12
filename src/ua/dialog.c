/* ua/dialog: dialogs (RFC 3261 §12).  A dialog is made from the request
 * and the response that established it (§12.1.1 for the UAS, §12.1.2 for
 * the UAC): Call-ID, the two tags, the From and To values our requests
 * carry, the remote target (the peer's Contact) and the route set (the
 * Record-Route of the message, reversed for the UAC).  Requests in the
 * dialog are printed here (§12.2.1.1): loose routing puts the remote
 * target in the Request-URI and the route set in Route; a strict first
 * route (no lr) becomes the Request-URI and the remote target the last
 * Route.  They go to the first route, or to the remote target; when that
 * is no sip: URI with a numeric host (a sips: or tel: URI, a host name: no
 * TLS, no DNS here), to the server if one is configured.  A dialog pinned
 * to an address (nothing else reaches the peer: the source of its 2xx or
 * INVITE) sends everything there. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ua_int.h"

/* Record-Route values kept per dialog. */
#define UA_MAX_ROUTE_VALUES 16u

static int copy_slice(char *dst, size_t cap, struct sb_slice s)
{
	if (s.l >= cap)
		return ENOSPC;
	ua_copy_unfold(dst, cap, s);
	return 0;
}

/* The first Contact URI of m into out.  0, ENOENT, EBADMSG, ENOSPC. */
static int contact_uri(struct sb_sip_msg *m, char *out, size_t cap)
{
	struct sb_sip_values it;
	struct sb_slice v;
	struct sb_nameaddr na;
	sb_sip_values_init(&it, m, SB_HDR_CONTACT);
	if (!sb_sip_values_next(&it, &v, NULL))
		return ENOENT;
	if (sb_nameaddr_parse(&na, sb_slice_trim(v)) != 0 || na.star)
		return EBADMSG;
	return copy_slice(out, cap, na.uri_s);
}

/* The route set from m's Record-Route, in order or reversed. */
static int route_set(struct ua_dialog *d, struct sb_sip_msg *m, bool reverse)
{
	struct sb_slice vals[UA_MAX_ROUTE_VALUES];
	unsigned n = 0;
	struct sb_sip_values it;
	struct sb_slice v;
	sb_sip_values_init(&it, m, SB_HDR_RECORD_ROUTE);
	while (sb_sip_values_next(&it, &v, NULL)) {
		v = sb_slice_trim(v);
		if (!v.l)
			continue;
		if (n == UA_MAX_ROUTE_VALUES)
			return E2BIG;
		vals[n++] = v;
	}
	struct sb_buf b;
	sb_buf_init_fixed(&b, d->routes, sizeof d->routes - 1);
	d->first_route[0] = 0;
	d->strict = false;
	for (unsigned k = 0; k < n; k++) {
		struct sb_slice rv = vals[reverse ? n - 1 - k : k];
		struct sb_nameaddr na;
		if (sb_nameaddr_parse(&na, rv) != 0)
			return EBADMSG;
		if (k == 0) {
			if (copy_slice(d->first_route, sizeof d->first_route, na.uri_s))
				return ENOSPC;
			/* RFC 3261 §12.2.1.1: no lr means a strict router */
			d->strict = !na.uri.lr;
		}
		char one[UA_MAX_URI * 2];
		if (copy_slice(one, sizeof one, rv))
			return ENOSPC;
		sb_buf_append_cstr(&b, "Route: ");
		sb_buf_append_cstr(&b, one);
		sb_buf_append_cstr(&b, "\r\n");
	}
	if (b.err)
		return ENOSPC;
	d->routes[b.len] = 0;
	d->routes_len = b.len;
	d->nroutes = n;
	return 0;
}

int ua_dialog_uac(struct ua_dialog *d, struct sb_sip_msg *req, struct sb_sip_msg *resp,
		  enum sb_tp_proto proto)
{
	struct sb_slice cid;
	const struct sb_nameaddr *from, *to;
	const struct sb_cseq *cs;
	const struct sb_sip_hdr *fh = sb_sip_hdr_first(req, SB_HDR_FROM);
	const struct sb_sip_hdr *th = sb_sip_hdr_first(resp, SB_HDR_TO);
	if (sb_sip_msg_call_id(req, &cid) || sb_sip_msg_from(req, &from) ||
	    sb_sip_msg_to(resp, &to) || sb_sip_msg_cseq(req, &cs) || !fh || !th || !to->tag.p)
		return EBADMSG;
	struct ua_dialog n = { .proto = proto };
	int err;
	if ((err = copy_slice(n.call_id, sizeof n.call_id, cid)) ||
	    (err = copy_slice(n.local_tag, sizeof n.local_tag, from->tag)) ||
	    (err = copy_slice(n.remote_tag, sizeof n.remote_tag, to->tag)) ||
	    (err = copy_slice(n.local_hdr, sizeof n.local_hdr, fh->value)) ||
	    (err = copy_slice(n.remote_hdr, sizeof n.remote_hdr, th->value)) ||
	    (err = copy_slice(n.remote_uri, sizeof n.remote_uri, to->uri_s)))
		return err;
	/* RFC 3261 §12.1.2: "The remote target MUST be set to the URI from
	 * the Contact header field of the response"; a response without
	 * one (a broken peer) keeps the Request-URI */
	if (contact_uri(resp, n.target, sizeof n.target) != 0 &&
	    (err = copy_slice(n.target, sizeof n.target, req->ruri)))
		return err;
	/* "The route set MUST be set to the list of URIs in the
	 * Record-Route header field from the response, taken in reverse
	 * order"; one we cannot take (unparsable, more than
	 * UA_MAX_ROUTE_VALUES, too long) leaves a dialog we cannot follow:
	 * the caller ACKs to the source and ends it */
	if (route_set(&n, resp, true) != 0) {
		n.routes[0] = 0;
		n.routes_len = 0;
		n.nroutes = 0;
		n.first_route[0] = 0;
		n.strict = false;
		n.routes_bad = true;
	}
	n.local_cseq = cs->num;
	n.up = true;
	*d = n;
	return 0;
}

int ua_dialog_uas(struct ua_dialog *d, struct sb_sip_msg *req, const char *local_tag,
		  enum sb_tp_proto proto)
{
	struct sb_slice cid;
	const struct sb_nameaddr *from;
	const struct sb_cseq *cs;
	const struct sb_sip_hdr *fh = sb_sip_hdr_first(req, SB_HDR_FROM);
	const struct sb_sip_hdr *th = sb_sip_hdr_first(req, SB_HDR_TO);
	if (sb_sip_msg_call_id(req, &cid) || sb_sip_msg_from(req, &from) ||
	    sb_sip_msg_cseq(req, &cs) || !fh || !th || !from->tag.p)
		return EBADMSG;
	struct ua_dialog n = { .proto = proto };
	int err;
	char to[UA_MAX_HDR];
	if ((err = copy_slice(n.call_id, sizeof n.call_id, cid)) ||
	    (err = copy_slice(n.remote_tag, sizeof n.remote_tag, from->tag)) ||
	    (err = copy_slice(n.local_tag, sizeof n.local_tag, sb_slice_cstr(local_tag))) ||
	    (err = copy_slice(n.remote_hdr, sizeof n.remote_hdr, fh->value)) ||
	    (err = copy_slice(to, sizeof to - UA_MAX_TAG - 8, th->value)) ||
	    (err = copy_slice(n.remote_uri, sizeof n.remote_uri, from->uri_s)))
		return err;
	/* RFC 3261 §12.1.1: our To carries the tag we gave the response */
	struct sb_buf lh;
	sb_buf_init_fixed(&lh, n.local_hdr, sizeof n.local_hdr - 1);
	sb_buf_append_cstr(&lh, to);
	sb_buf_append_cstr(&lh, ";tag=");
	sb_buf_append_cstr(&lh, local_tag);
	if (lh.err)
		return ENOSPC;
	n.local_hdr[lh.len] = 0;
	if ((err = contact_uri(req, n.target, sizeof n.target)))
		return err == ENOENT ? EBADMSG : err;
	/* "The route set MUST be set to the list of URIs in the
	 * Record-Route header field from the request, taken in order" */
	if ((err = route_set(&n, req, false)))
		return err;
	n.remote_cseq = cs->num;
	n.remote_cseq_set = true;
	/* §12.1.1: the local sequence number is empty; ours start at 1 */
	n.local_cseq = 0;
	n.up = true;
	*d = n;
	return 0;
}

void ua_dialog_refresh_target(struct sb_ua *ua, struct ua_dialog *d, struct sb_sip_msg *m)
{
	char t[UA_MAX_URI];
	struct sb_tp_dest dst;
	/* RFC 3261 §12.2.1.2, §12.2.2: a target refresh request or its 2xx
	 * replaces the remote target */
	if (contact_uri(m, t, sizeof t) != 0)
		return;
	if (!d->pinned && !d->first_route[0] && !ua->has_server &&
	    ua_uri_dest(sb_slice_cstr(t), &dst) != 0) {
		/* the next hop would be gone: keep the one that works */
		ua_log(ua, SB_LOG_WARN, "new remote target %s cannot be reached: kept %s", t,
		       d->target);
		return;
	}
	memcpy(d->target, t, sizeof t);
}

bool ua_dialog_remote_cseq(struct ua_dialog *d, struct sb_sip_msg *m)
{
	const struct sb_cseq *cs;
	if (sb_sip_msg_cseq(m, &cs) != 0)
		return false;
	if (m->mid == SB_METHOD_ACK || m->mid == SB_METHOD_CANCEL)
		return true;
	/* RFC 3261 §12.2.2: "If the remote sequence number was not empty,
	 * but the sequence number of the request is lower than the remote
	 * sequence number, the request is out of order and MUST be
	 * rejected with a 500" (equal is a retransmission the transaction
	 * layer absorbs, or a new request: also refused) */
	if (d->remote_cseq_set && cs->num <= d->remote_cseq)
		return false;
	d->remote_cseq = cs->num;
	d->remote_cseq_set = true;
	return true;
}

int ua_dialog_dest(struct sb_ua *ua, const struct ua_dialog *d, struct sb_tp_dest *dst)
{
	if (d->pinned) {
		*dst = d->pin;
		return 0;
	}
	const char *uri = d->first_route[0] ? d->first_route : d->target;
	int err = ua_uri_dest(sb_slice_cstr(uri), dst);
	if (err) {
		if (!ua->has_server)
			return err;
		/* a first hop we cannot reach ourselves (sips:, tel:, a host
		 * name): the outbound proxy can */
		memset(dst, 0, sizeof *dst);
		dst->proto = ua->cfg.proto;
		dst->addr = ua->cfg.server;
		return 0;
	}
	/* the server reached over TCP: so are requests routed through it */
	struct sb_uri u;
	if (ua->has_server && sb_addr_eq(&dst->addr, &ua->cfg.server) &&
	    sb_uri_parse(&u, sb_slice_cstr(uri)) == 0 && !u.transport.p)
		dst->proto = ua->cfg.proto;
	return 0;
}

int ua_dialog_pin_source(struct sb_ua *ua, struct ua_dialog *d)
{
	if (!ua->rx_now)
		return ENOENT;
	d->pin = ua_rx_dest(ua->rx_now);
	d->pinned = true;
	return 0;
}

int ua_dialog_request(struct sb_ua *ua, struct ua_dialog *d, const char *method, uint32_t cseq,
		      struct sb_slice extra, struct sb_slice ctype, struct sb_slice body,
		      struct sb_buf *out, struct sb_tp_dest *dst, uint32_t *cseq_out)
{
	if (!d->up)
		return EINVAL;
	int err = ua_dialog_dest(ua, d, dst);
	if (err)
		return err;
	if (cseq == 0)
		cseq = ++d->local_cseq; /* RFC 3261 §12.2.1.1: one more */
	const char *ruri = d->target;
	struct sb_buf lines;
	sb_buf_init(&lines, UA_OUT_MAX);
	if (d->strict && d->first_route[0]) {
		/* RFC 3261 §12.2.1.1: a strict first route is the
		 * Request-URI; the rest and then the remote target are Route */
		ruri = d->first_route;
		const char *rest = strstr(d->routes, "\r\n");
		if (rest)
			sb_buf_append_cstr(&lines, rest + 2);
		sb_buf_printf(&lines, "Route: <%s>\r\n", d->target);
	} else {
		sb_buf_append(&lines, d->routes, d->routes_len);
	}
	sb_buf_append_slice(&lines, extra);
	char via[256], contact[UA_MAX_URI];
	ua_via(ua, dst->proto, via, sizeof via);
	bool want_contact = strcmp(method, "INVITE") == 0 || strcmp(method, "REFER") == 0 ||
			    strcmp(method, "NOTIFY") == 0 || strcmp(method, "UPDATE") == 0 ||
			    strcmp(method, "SUBSCRIBE") == 0;
	ua_contact(ua, dst->proto, contact, sizeof contact);
	struct sb_sip_request_spec spec = {
		.method = sb_slice_cstr(method),
		.ruri = sb_slice_cstr(ruri),
		.via = sb_slice_cstr(via),
		.from = sb_slice_cstr(d->local_hdr),
		.to = sb_slice_cstr(d->remote_hdr),
		.call_id = sb_slice_cstr(d->call_id),
		.cseq = cseq,
		.max_forwards = 70,
		.contact = want_contact ? sb_slice_cstr(contact) : SB_SLICE_NULL,
		.extra = sb_buf_slice(&lines),
		.content_type = ctype,
		.body = body,
	};
	err = lines.err ? lines.err : sb_sip_print_request(out, &spec);
	sb_buf_free(&lines);
	if (!err && cseq_out)
		*cseq_out = cseq;
	return err;
}

int ua_dialog_send(struct sb_call *c, const char *method, enum ua_req_kind kind,
		   struct sb_slice extra, struct sb_slice ctype, struct sb_slice body,
		   struct ua_req **out)
{
	struct sb_ua *ua = c->ua;
	struct sb_buf b;
	struct sb_tp_dest dst;
	uint32_t cseq;
	sb_buf_init(&b, UA_OUT_MAX);
	int err = ua_dialog_request(ua, &c->dlg, method, 0, extra, ctype, body, &b, &dst, &cseq);
	if (!err)
		err = ua_req_start(ua, c, kind, cseq, &dst, b.p, b.len, out);
	else
		ua_log(ua, SB_LOG_WARN, "call %u: cannot build %s: %s", c->id, method,
		       strerror(err));
	sb_buf_free(&b);
	return err;
}
