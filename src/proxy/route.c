/* proxy/route: where a request goes next.  RFC 3261 §16.4 Route
 * processing (our own Route values removed, a strict router upstream
 * undone) and the edits that carry it out, and the next hop of §16.6
 * step 7: a URI's address (§18.1.1, numeric hosts only) or the flow a
 * binding registered on (RFC 5626). */
#include <errno.h>
#include <string.h>

#include "proxy_int.h"

int px_route(const struct sb_proxy *p, struct sb_sip_msg *m, struct px_routing *rt)
{
	/* only what is used: rv up to nrv, next when has_next */
	rt->nrv = 0;
	rt->first_kept = 0;
	rt->strict = false;
	rt->new_ruri = SB_SLICE_NULL;
	rt->has_next = false;
	struct sb_sip_values it;
	struct sb_slice v;
	uint16_t hi;
	sb_sip_values_init(&it, m, SB_HDR_ROUTE);
	while (rt->nrv < PX_MAX_ROUTES && sb_sip_values_next(&it, &v, &hi)) {
		v = sb_slice_trim(v);
		if (v.l == 0)
			continue;
		rt->rv[rt->nrv].v = v;
		rt->rv[rt->nrv].hdr = hi;
		rt->nrv++;
	}
	unsigned last = rt->nrv;
	/* RFC 3261 §16.4: "If the Request-URI contains a value this proxy
	 * previously placed into a Record-Route header field, the proxy MUST
	 * replace the Request-URI in the request with the last value from the
	 * Route header field, and remove that value" (a strict router upstream).
	 * Our Record-Route values carry lr, so only a Request-URI that is one
	 * of them (px_uri_is_our_rr) counts: a request to our address or domain
	 * with a preloaded Route keeps both */
	struct sb_uri ru;
	if (rt->nrv > 0 && sb_uri_parse(&ru, m->ruri) == 0 && px_uri_is_our_rr(p, &ru)) {
		struct sb_nameaddr na;
		if (sb_nameaddr_parse(&na, rt->rv[rt->nrv - 1].v) != 0)
			return EBADMSG;
		rt->strict = true;
		rt->new_ruri = na.uri_s;
		last = rt->nrv - 1;
	}
	/* RFC 3261 §16.4: "If the first value in the Route header field
	 * indicates this proxy, the proxy MUST remove that value"; RFC 5658
	 * §3.2: both of a double Record-Route come back, so every leading value
	 * that is us goes */
	while (rt->first_kept < last && rt->first_kept < SB_PROXY_MAX_ROUTE_POPS) {
		struct sb_nameaddr na;
		if (sb_nameaddr_parse(&na, rt->rv[rt->first_kept].v) != 0)
			return EBADMSG;
		if (!sb_proxy_uri_is_us(p, &na.uri))
			break;
		rt->first_kept++;
	}
	if (rt->first_kept < last) {
		if (sb_nameaddr_parse(&rt->next, rt->rv[rt->first_kept].v) != 0)
			return EBADMSG;
		rt->has_next = true;
	}
	return 0;
}

/* Record the edits that remove our Route values: for each field, keep the
 * values not removed (they are contiguous). */
int px_route_edits(const struct px_routing *rt, const struct sb_sip_msg *m,
		   struct sb_sip_edits *ed)
{
	unsigned kept_end = rt->strict ? rt->nrv - 1 : rt->nrv;
	unsigned k = 0;
	int err = 0;
	while (k < rt->nrv && !err) {
		uint16_t hdr = rt->rv[k].hdr;
		unsigned a = k, b = k;
		while (b < rt->nrv && rt->rv[b].hdr == hdr)
			b++;
		k = b;
		/* values [a, b) are this field's; keep those in [first_kept, kept_end) */
		unsigned ka = a > rt->first_kept ? a : rt->first_kept;
		unsigned kb = b < kept_end ? b : kept_end;
		if (ka == a && kb == b)
			continue; /* untouched */
		if (ka >= kb) {
			err = sb_sip_edit_delete(ed, hdr);
		} else {
			const char *s = rt->rv[ka].v.p;
			const char *e = rt->rv[kb - 1].v.p + rt->rv[kb - 1].v.l;
			err = sb_sip_edit_replace(ed, hdr, sb_slice_from(s, (size_t)(e - s)));
		}
	}
	(void)m;
	return err;
}

/* RFC 3261 §16.6 step 7 / §18.1.1: where a URI sends us (numeric hosts
 * only, no DNS yet). */
int px_uri_dest(const struct sb_uri *u, struct sb_tp_dest *d)
{
	char host[SB_ADDR_STR_MAX];
	memset(d, 0, sizeof *d);
	if (u->host_type != SB_HOST_IPV4 && u->host_type != SB_HOST_IPV6)
		return EHOSTUNREACH;
	sb_slice_to_cstr(u->host, host, sizeof host);
	if (sb_addr_parse(&d->addr, host, u->port ? u->port : 5060) != 0)
		return EHOSTUNREACH;
	d->proto = SB_TP_UDP;
	if (u->transport.p) {
		if (sb_slice_caseeq_cstr(u->transport, "tcp"))
			d->proto = SB_TP_TCP;
		else if (!sb_slice_caseeq_cstr(u->transport, "udp"))
			return EPROTONOSUPPORT;
	}
	return 0;
}

/* Whether to reach a binding over the flow its REGISTER came on rather
 * than at its Contact: always over a stream (the connection is the flow,
 * RFC 5626 §5.3) or when the contact asks for it (";ob"); over UDP when
 * the contact's address is not the source's (a NAT rewrote it).  A UA that
 * registers from another port of its own address is reached at its
 * Contact. */
bool px_use_flow(const struct sb_tp_dest *flow, const struct sb_uri *contact)
{
	struct sb_slice ob;
	if (flow->proto != SB_TP_UDP || sb_param_find(contact->params, "ob", &ob) == 0)
		return true;
	struct sb_tp_dest cd;
	if (px_uri_dest(contact, &cd) != 0)
		return true;
	return !sb_addr_ip_eq(&cd.addr, &flow->addr);
}
