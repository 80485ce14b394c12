/* proxy/forward: building and sending one branch (RFC 3261 §16.6).  The
 * request is printed again with edits (Request-URI, Max-Forwards,
 * Record-Route, our Route values and our Proxy-Authorization removed,
 * received/rport on the top Via, our Via on top) rather than copied and
 * rewritten, and handed to a client transaction (what is forwarded
 * statelessly is printed the same way).  Our branch carries the
 * loop-detection hash of §16.6 step 8 (checked by §16.3 step 4 in
 * proxy.c).  A request too large for UDP goes over TCP (§18.1.1); a
 * binding whose flow has closed is reached at its Contact. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include "proxy_int.h"

uint64_t px_hash(uint64_t h, struct sb_slice s)
{
	/* the length mixed in keeps ("ab","c") and ("a","bc") apart */
	return sb_hash64(s.p, s.l, h);
}

size_t px_u64_dec(uint64_t v, char *out)
{
	char tmp[20];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t k = 0; k < n; k++)
		out[k] = tmp[n - 1 - k];
	return n;
}

void px_hex64(uint64_t v, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (unsigned k = 0; k < PX_HASH_HEX; k++)
		out[k] = digits[(v >> (4 * (PX_HASH_HEX - 1 - k))) & 15];
	out[PX_HASH_HEX] = 0;
}

/* RFC 3261 §16.6 step 8 / §16.3 step 4: a hash of the fields that decide
 * whether a request came back unchanged: the Request-URI as received, To
 * tag, From tag, Call-ID, CSeq number, Proxy-Require, Proxy-Authorization
 * and Route.  The topmost Via the RFC also lists is left out: a looped
 * request carries another hop's Via on top, so with it no loop would ever
 * match (a known erratum).  With authentication on (or a realm),
 * Proxy-Authorization is left out too: we remove our credentials when
 * forwarding (§22.3), so a request of ours that comes back would otherwise
 * never match. */
void px_loop_hash(const struct sb_proxy *p, struct sb_sip_msg *m, char out[PX_HASH_HEX + 1])
{
	uint64_t h = PX_HASH_SEED ^ p->cfg.seed;
	const struct sb_nameaddr *na;
	const struct sb_cseq *cs;
	struct sb_slice s;
	h = px_hash(h, m->ruri);
	h = px_hash(h, sb_sip_msg_to(m, &na) == 0 ? na->tag : SB_SLICE_NULL);
	h = px_hash(h, sb_sip_msg_from(m, &na) == 0 ? na->tag : SB_SLICE_NULL);
	h = px_hash(h, sb_sip_msg_call_id(m, &s) == 0 ? s : SB_SLICE_NULL);
	if (sb_sip_msg_cseq(m, &cs) == 0) {
		char num[20];
		h = px_hash(h, sb_slice_from(num, px_u64_dec(cs->num, num)));
	}
	static const enum sb_sip_hdr_id ids[] = { SB_HDR_PROXY_REQUIRE, SB_HDR_PROXY_AUTHORIZATION,
						  SB_HDR_ROUTE };
	for (unsigned k = 0; k < SB_ARRAY_LEN(ids); k++) {
		if (ids[k] == SB_HDR_PROXY_AUTHORIZATION && (p->cfg.authn || p->cfg.realm))
			continue;
		for (const struct sb_sip_hdr *f = sb_sip_hdr_first(m, ids[k]); f;
		     f = sb_sip_hdr_next(m, f))
			h = px_hash(h, f->value);
	}
	px_hex64(h, out);
}

/* The scratch space (struct sb_proxy) holds the values the edits of one
 * message point to; they are written with direct appends (no printf on
 * the forwarding path).  A value is built from its start (scratch_mark)
 * by appends and taken with scratch_take; an append that does not fit
 * sets err, and the value taken then is absent. */
static void scratch_put_raw(struct px_scratch *s, const char *p, size_t l, bool *err)
{
	if (l > sizeof s->mem - s->used) {
		*err = true;
		return;
	}
	memcpy(s->mem + s->used, p, l);
	s->used += l;
}

static struct sb_slice scratch_put(struct px_scratch *s, const char *p, size_t l)
{
	bool err = false;
	size_t at = s->used;
	scratch_put_raw(s, p, l, &err);
	return err ? SB_SLICE_NULL : sb_slice_from(s->mem + at, l);
}

static void scratch_cstr(struct px_scratch *s, const char *c, bool *err)
{
	scratch_put_raw(s, c, strlen(c), err);
}

static void scratch_u64(struct px_scratch *s, uint64_t v, bool *err)
{
	char num[20];
	scratch_put_raw(s, num, px_u64_dec(v, num), err);
}

static struct sb_slice scratch_take(struct px_scratch *s, size_t mark, bool err)
{
	return err ? SB_SLICE_NULL : sb_slice_from(s->mem + mark, s->used - mark);
}

/* The host of a as text, NUL-terminated in buf (SB_ADDR_STR_MAX bytes):
 * an IPv4 address printed here in dotted decimal (inet_ntop goes through
 * sprintf, a cost on every forwarded request), anything else by
 * sb_addr_host_to_str. */
static void addr_host_text(const struct sb_addr *a, char buf[SB_ADDR_STR_MAX])
{
	if (a->u.sa.sa_family != AF_INET) {
		sb_addr_host_to_str(a, buf, SB_ADDR_STR_MAX);
		return;
	}
	const unsigned char *b = (const unsigned char *)&a->u.in.sin_addr.s_addr;
	char *d = buf;
	for (unsigned k = 0; k < 4; k++) {
		if (k)
			*d++ = '.';
		d += px_u64_dec(b[k], d);
	}
	*d = 0;
}

/* RFC 3581 §4 / RFC 3261 §18.2.1: the top Via gets received (the source
 * address) and, when the client asked with rport, rport (the source port),
 * so that responses find their way back through NAT. */
static int stamp_top_via(struct sb_sip_msg *m, const struct sb_addr *src, struct px_scratch *sc,
			 struct sb_sip_edits *ed)
{
	const struct sb_via *v;
	uint16_t hi = m->first[SB_HDR_VIA];
	if (hi == SB_SIP_NO_HDR || sb_sip_msg_via(m, &v) != 0)
		return 0;
	char ip[SB_ADDR_STR_MAX];
	addr_host_text(src, ip);
	struct sb_slice host = v->host;
	if (host.l >= 2 && host.p[0] == '[')
		host = sb_slice_from(host.p + 1, host.l - 2);
	bool need_received = !sb_slice_caseeq_cstr(host, ip);
	bool need_rport = v->rport.p && v->rport.l == 0;
	if (!need_received && !need_rport)
		return 0;
	/* the first value of the field, and what follows it */
	struct sb_slice rest = m->hdrs[hi].value, first;
	if (!sb_sip_list_next(&rest, &first))
		return 0;
	const char *fend = first.p + first.l;
	size_t start = sc->used;
	const char *params = v->params.p ? v->params.p - 1 : fend; /* at its ';' */
	if (!scratch_put(sc, first.p, (size_t)(params - first.p)).p)
		return ENOSPC;
	struct sb_slice pr = v->params, name, val;
	bool full = false;
	while (v->params.p && sb_param_next(&pr, &name, &val, NULL)) {
		if (sb_slice_caseeq_cstr(name, "received"))
			continue;
		if (sb_slice_caseeq_cstr(name, "rport")) {
			scratch_cstr(sc, ";rport=", &full);
			scratch_u64(sc, sb_addr_port(src), &full);
			continue;
		}
		const char *e = val.p ? val.p + val.l : name.p + name.l;
		scratch_put_raw(sc, ";", 1, &full);
		scratch_put_raw(sc, name.p, (size_t)(e - name.p), &full);
	}
	scratch_cstr(sc, ";received=", &full);
	scratch_cstr(sc, ip, &full);
	if (full)
		return ENOSPC;
	/* the other values of the field, unchanged */
	const char *vend = m->hdrs[hi].value.p + m->hdrs[hi].value.l;
	if (fend < vend && !scratch_put(sc, fend, (size_t)(vend - fend)).p)
		return ENOSPC;
	return sb_sip_edit_replace(ed, hi, sb_slice_from(sc->mem + start, sc->used - start));
}

static bool dialog_creating(enum sb_sip_method mid)
{
	/* RFC 3261 §12, RFC 6665 §4.1, RFC 3515 §2.4.4 */
	return mid == SB_METHOD_INVITE || mid == SB_METHOD_SUBSCRIBE || mid == SB_METHOD_REFER;
}

static bool has_to_tag(struct sb_sip_msg *m)
{
	const struct sb_nameaddr *to;
	return sb_sip_msg_to(m, &to) == 0 && to->tag.p;
}

/* "host:port" of listener l, printed once (sb_proxy_alloc). */
static struct sb_slice listen_uri_host(const struct sb_proxy *p, const struct sb_proxy_listen *l)
{
	size_t k = (size_t)(l - p->cfg.listen);
	return sb_slice_from(p->lhp[k], p->lhp_len[k]);
}

/* RFC 3261 §16.6 step 4: our Record-Route value for listener l, with the
 * dialog token tok (dtoken.c) when there is one. */
static struct sb_slice record_route_value(const struct sb_proxy *p,
					  const struct sb_proxy_listen *l, const char *tok,
					  struct px_scratch *sc)
{
	static const char *const tp_param[] = { "udp", "tcp", "tls" };
	struct sb_slice hp = listen_uri_host(p, l);
	size_t mark = sc->used;
	bool full = false;
	scratch_cstr(sc, "<sip:", &full);
	scratch_put_raw(sc, hp.p, hp.l, &full);
	scratch_cstr(sc, ";transport=", &full);
	scratch_cstr(sc, tp_param[l->proto], &full);
	scratch_cstr(sc, ";lr", &full);
	if (tok) {
		scratch_cstr(sc, ";sbd=", &full);
		scratch_cstr(sc, tok, &full);
	}
	scratch_put_raw(sc, ">", 1, &full);
	return scratch_take(sc, mark, full);
}

bool px_cred_is_ours(const struct sb_proxy *p, struct sb_slice v)
{
	struct sb_auth a;
	if (!p->cfg.realm || sb_auth_parse(&a, v) != 0 || !a.realm.p)
		return false;
	/* the realm comes quoted and still escaped: unescape as we compare,
	 * byte for byte like the verifier (RFC 3261 §25.1 quoted-pair) */
	const char *want = p->cfg.realm;
	size_t wl = strlen(want), k = 0;
	for (size_t i = 0; i < a.realm.l; i++) {
		char c = a.realm.p[i];
		if (c == '\\' && i + 1 < a.realm.l)
			c = a.realm.p[++i];
		if (k >= wl || want[k++] != c)
			return false;
	}
	return k == wl;
}

/* RFC 3261 §22.3: delete the Proxy-Authorization fields that were for us:
 * the one that authenticated the request and every one of our realm;
 * those of other realms go on to their proxies. */
static int delete_our_cred(const struct sb_proxy *p, const struct sb_sip_msg *m,
			   const struct px_fwd *fw, struct sb_sip_edits *ed)
{
	int err;
	for (uint16_t k = 0; k < m->nhdrs; k++) {
		const struct sb_sip_hdr *h = &m->hdrs[k];
		if (h->id != SB_HDR_PROXY_AUTHORIZATION)
			continue;
		if ((fw->del_cred && k == fw->cred_hdr) || px_cred_is_ours(p, h->value))
			if ((err = sb_sip_edit_delete(ed, k)))
				return err;
	}
	return 0;
}

/* Print m forwarded to dst (RFC 3261 §16.6 steps 1-8) into p->out. */
int px_print_forward(struct sb_proxy *p, struct sb_sip_msg *m, const struct px_routing *rt,
		     const struct px_fwd *fw, const struct sb_tp_dest *dst)
{
	struct sb_sip_edits ed;
	struct px_scratch *sc = &p->scratch;
	int err;
	sc->used = 0;
	sb_sip_edits_init(&ed);

	const struct sb_proxy_listen *out = px_pick_listen(p, dst->proto, sb_addr_family(&dst->addr));
	if (!out)
		return EAFNOSUPPORT;
	/* step 2: the Request-URI; §16.4 strict routing replaced it already */
	struct sb_slice ruri = rt->strict ? rt->new_ruri : fw->ruri;
	if (ruri.p && (err = sb_sip_edit_ruri(&ed, ruri)))
		return err;
	/* step 3: Max-Forwards */
	uint32_t mf;
	if (sb_sip_msg_max_forwards(m, &mf) == 0) {
		char num[20];
		struct sb_slice v = scratch_put(sc, num, px_u64_dec(mf ? mf - 1 : 0, num));
		err = sb_sip_edit_replace(&ed, m->first[SB_HDR_MAX_FORWARDS], v);
	} else {
		err = sb_sip_edit_insert(&ed, m->nhdrs, SB_LIT("Max-Forwards"),
					 SB_LIT("70"));
	}
	if (err)
		return err;
	/* step 4: Record-Route; RFC 5658 §3.3: twice when the request leaves
	 * on another transport or address than it came in on, so that each
	 * side of the dialog sees the address it can reach */
	if (fw->record_route) {
		uint16_t at = m->first[SB_HDR_RECORD_ROUTE];
		if (at == SB_SIP_NO_HDR)
			at = m->first[SB_HDR_VIA] != SB_SIP_NO_HDR ? m->last[SB_HDR_VIA] + 1 : 0;
		if (at > m->nhdrs)
			at = m->nhdrs;
		/* the dialog token (dtoken.c) for the Request-URI as sent */
		char tok[PX_DTOKEN_LEN + 1];
		bool has_tok = dialog_creating(m->mid) && !has_to_tag(m) &&
			       px_dtoken_make(p, m, ruri.p ? ruri : m->ruri, tok);
		struct sb_slice rr = record_route_value(p, out, has_tok ? tok : NULL, sc);
		if ((err = sb_sip_edit_insert(&ed, at, SB_LIT("Record-Route"), rr)))
			return err;
		const struct sb_proxy_listen *in = fw->in;
		if (in && (in->proto != out->proto || !sb_addr_eq(&in->addr, &out->addr))) {
			struct sb_slice rr2 = record_route_value(p, in, has_tok ? tok : NULL, sc);
			if ((err = sb_sip_edit_insert(&ed, at, SB_LIT("Record-Route"), rr2)))
				return err;
		}
	}
	/* §16.4 / §16.6 step 6: our Route values go */
	if ((err = px_route_edits(rt, m, &ed)))
		return err;
	/* §22.3: the credentials for our realm were for us; those of other
	 * realms go on to their proxies */
	if ((err = delete_our_cred(p, m, fw, &ed)))
		return err;
	if (fw->src && (err = stamp_top_via(m, fw->src, sc, &ed)))
		return err;
	/* step 8: our Via on top, with rport (RFC 3581) */
	static const char *const tp_via[] = { "SIP/2.0/UDP ", "SIP/2.0/TCP ", "SIP/2.0/TLS " };
	struct sb_slice hp = listen_uri_host(p, out);
	size_t mark = sc->used;
	bool full = false;
	scratch_cstr(sc, tp_via[out->proto], &full);
	scratch_put_raw(sc, hp.p, hp.l, &full);
	scratch_cstr(sc, ";branch=", &full);
	scratch_cstr(sc, fw->branch, &full);
	scratch_cstr(sc, ";rport", &full);
	if ((err = sb_sip_edit_push_via(&ed, scratch_take(sc, mark, full))))
		return err;
	sb_buf_reset(&p->out);
	return sb_sip_print_edited(&p->out, m, &ed);
}

char *px_branch_head(const char *hash, char *out)
{
	const size_t pl = sizeof SB_PROXY_BRANCH_PREFIX - 1;
	memcpy(out, SB_PROXY_BRANCH_PREFIX, pl);
	memcpy(out + pl, hash, PX_HASH_HEX);
	out[pl + PX_HASH_HEX] = '.';
	return out + pl + PX_HASH_HEX + 1;
}

/* Our branch for a new client transaction: SB_PROXY_BRANCH_PREFIX, the
 * loop hash, '.' and the counter in hex (no leading zeros). */
static void make_branch(struct sb_proxy *p, const char *hash, char out[PX_BRANCH_MAX])
{
	static const char digits[] = "0123456789abcdef";
	char *d = px_branch_head(hash, out);
	uint64_t c = ++p->counter;
	unsigned shift = 60;
	while (shift && !(c >> shift))
		shift -= 4;
	for (;; shift -= 4) {
		*d++ = digits[(c >> shift) & 15];
		if (!shift)
			break;
	}
	*d = 0;
}

/* Start a branch to target tg (§16.6).  0, or an errno: the branch then
 * counts as answered with the status *fail. */
int px_branch_start(struct px_req *r, struct px_target *tg, unsigned *fail)
{
	struct sb_proxy *p = r->p;
	struct sb_sip_msg *m = px_req_msg(r);
	struct px_routing own;
	const struct px_routing *rt = r->rt;
	struct sb_uri tu;
	struct sb_tp_dest dst;
	bool flow = false;
	int err;

	*fail = 500;
	if (r->nbr >= SB_PROXY_MAX_TARGETS)
		return ENOSPC;
	if (!m)
		return EBADMSG;
	if (!rt) {
		if ((err = px_route(p, m, &own)))
			return err;
		rt = &own;
	}
	if (sb_uri_parse(&tu, sb_slice_from(tg->uri, tg->len)) != 0) {
		*fail = 400;
		return EBADMSG;
	}
	/* §16.6 step 7: the next hop is the first Route left, else the target */
	if (rt->has_next) {
		err = px_uri_dest(&rt->next.uri, &dst);
	} else if (tg->has_dest && px_use_flow(&tg->dest, &tu)) {
		dst = tg->dest;
		flow = true;
		err = 0;
	} else {
		struct sb_uri du;
		if (rt->strict && sb_uri_parse(&du, rt->new_ruri) == 0)
			err = px_uri_dest(&du, &dst);
		else
			err = px_uri_dest(&tu, &dst);
	}
	if (err) {
		*fail = err == EHOSTUNREACH ? 502 : 503;
		return err;
	}

	/* one allocation per branch: its client transaction's owner points
	 * at it */
	struct px_branch *b = calloc(1, sizeof *b);
	if (!b)
		return ENOMEM;
	b->r = r;
	sb_timer_init(&b->timer_c);
	char branch[PX_BRANCH_MAX];
	make_branch(p, r->hash, branch);
	struct px_fwd fw = {
		.ruri = sb_slice_from(tg->uri, tg->len),
		.record_route = dialog_creating(m->mid) && !has_to_tag(m),
		.in = px_in_listen(p, r->proto, &r->local, sb_addr_family(&r->src)),
		.src = &r->src,
		.branch = branch,
		.del_cred = r->has_cred,
		.cred_hdr = r->cred_hdr,
	};
	if (sb_slice_eq(fw.ruri, m->ruri))
		fw.ruri = SB_SLICE_NULL;
	struct sb_tsx *ct = NULL;
	for (int attempt = 0; attempt < 3; attempt++) {
		if ((err = px_print_forward(p, m, rt, &fw, &dst)))
			break;
		struct sb_tsx_client_cfg cc = {
			.dst = dst,
			.buf = p->out.p,
			.len = p->out.len,
			.owner = { .response_h = px_branch_response, .end_h = px_branch_end, .arg = b },
			/* we printed it: the method is the request's (validation
			 * checked its CSeq's) and the top Via carries our branch,
			 * so the transaction need not parse it again */
			.method = m->method,
			.branch = sb_slice_from(branch, strlen(branch)),
		};
		err = sb_tsx_client_alloc(&ct, p->layer, &cc);
		/* RFC 3261 §18.1.1: a request too large for UDP goes over TCP,
		 * with the Via transport rewritten */
		if (err == EMSGSIZE && dst.proto == SB_TP_UDP && !flow) {
			dst.proto = SB_TP_TCP;
			dst.conn_id = 0;
			make_branch(p, r->hash, branch);
			continue;
		}
		/* the flow a binding registered on is gone (RFC 5626 §5.3):
		 * reach the Contact itself, as RFC 3261 §18.1.1 would, over
		 * the flow's transport unless the Contact names one */
		if (flow && (err == ENOTCONN || err == ECONNRESET || err == EPIPE)) {
			enum sb_tp_proto fp = dst.proto;
			if (px_uri_dest(&tu, &dst) != 0)
				break;
			if (!tu.transport.p)
				dst.proto = fp;
			flow = false;
			make_branch(p, r->hash, branch);
			continue;
		}
		break;
	}
	if (err) {
		free(b);
		*fail = 503;
		return err;
	}
	b->ct = ct;
	b->dst = dst;
	b->used = true;
	b->idx = r->nbr++;
	if (r->br_last)
		r->br_last->next = b;
	else
		r->br = b;
	r->br_last = b;
	if (m->mid == SB_METHOD_INVITE) {
		sb_timer_start(p->cfg.loop, &b->timer_c, p->cfg.timer_c_ms, px_timer_c_h, b);
		if (!r->call_counted && !has_to_tag(m)) {
			r->call_counted = true;
			p->st.calls++;
		}
	}
	return 0;
}
