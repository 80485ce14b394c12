/* proxy: the transaction-stateful proxy core of RFC 3261 §16 (proxy.h).
 *
 * One request context (struct px_req) per forwarded request: the server
 * transaction, a copy of the request, the target set and one branch per
 * target with its client transaction, Timer C and the CANCEL it may send.
 * The context counts the transactions it owns and is freed when the last of
 * them has ended, so that a late 2xx from another fork (RFC 6026) still
 * finds it.
 *
 * Stateless paths: errors found by validation, OPTIONS to the proxy itself,
 * ACKs for 2xx (ack_h) and stray 2xx retransmissions (stray_h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "switchboard/hash.h"
#include "switchboard/proxy.h"

/* Route values looked at per request; more are left untouched. */
#define PX_MAX_ROUTES 64u
/* Bytes of our Via value, Record-Route value and similar short strings. */
#define PX_SHORT 320u
/* Scratch bytes for rewritten field values of one forwarded request. */
#define PX_SCRATCH 8192u
/* Bytes of a log line. */
#define PX_LOG_LINE 512u
/* Bytes of one forwarded message: the largest SIP message plus our
 * additions (Via, Record-Route, rewritten fields). */
#define PX_OUT_MAX (SB_SIP_MAX_MSG_SIZE + 4096u)
/* Hex digits of the loop-detection hash in our branch. */
#define PX_HASH_HEX 16u
/* FNV-1a, 64 bits: branch hashes and our To tags need spread, not
 * secrecy (the seed keeps them apart between runs). */
#define PX_FNV_OFFSET 14695981039346656037ull
#define PX_FNV_PRIME  1099511628211ull
/* Hex digits of the To tag of the responses we make. */
#define PX_TAG_LEN 8u

struct px_known {
	struct sb_hash_node node;
	size_t len;
	char key[];
};

struct px_target {
	char uri[SB_LOC_MAX_CONTACT];
	size_t len;
	unsigned q1000;
	bool has_dest;              /* a binding's flow (RFC 5626 style) */
	struct sb_tp_dest dest;
};

struct px_req;

struct px_branch {
	struct px_req *r;
	struct sb_tsx *ct;          /* NULL once ended or detached */
	char *buf;                  /* the request as forwarded */
	size_t len;
	struct sb_tp_dest dst;
	unsigned status;            /* last response: final when >= 200 */
	bool used, final, want_cancel, cancelled;
	struct sb_timer timer_c;    /* RFC 3261 §16.6 step 11 */
};

struct px_req {
	struct px_req *prev, *next;
	struct sb_hash_node node;   /* keyed by the server transaction pointer */
	struct sb_tsx *st_key;
	struct sb_proxy *p;
	struct sb_tsx *st;          /* NULL once ended */
	unsigned refs;              /* live transactions owned */
	char *buf;                  /* the request as received */
	size_t len;
	struct sb_sip_msg msg;      /* parsed over buf */
	enum sb_tp_proto proto;
	struct sb_addr src, local;
	uint32_t conn_id;
	char hash[PX_HASH_HEX + 1];
	struct px_target targets[SB_PROXY_MAX_TARGETS];
	unsigned ntargets, next_target;
	struct px_branch br[SB_PROXY_MAX_TARGETS];
	unsigned nbr;
	char *best;                 /* the best final response so far, printed */
	size_t best_len;
	unsigned best_status;       /* 0: none; with best NULL: generate it */
	bool final_sent, cancelled;
};

struct sb_proxy {
	struct sb_proxy_cfg cfg;
	char domains[SB_PROXY_MAX_DOMAINS][SB_PROXY_MAX_NAME];
	char lhost[SB_PROXY_MAX_LISTEN][SB_ADDR_STR_MAX]; /* listener hosts, IPv6 in [] */
	struct sb_tsx_layer *layer;
	struct sb_hash *known;
	struct sb_hash *by_st;
	struct px_req *reqs;
	size_t nreqs;
	uint64_t counter;
	struct sb_buf out;          /* print buffer, reused */
};

/* ------------------------------------------------------------ logging */

static void px_log(const struct sb_proxy *p, enum sb_log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void px_log(const struct sb_proxy *p, enum sb_log_level lvl, const char *fmt, ...)
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
static int px_send(const struct sb_tp_dest *dst, const char *buf, size_t len, void *arg)
{
	struct sb_proxy *p = arg;
	int err = p->cfg.send_h(dst, buf, len, p->cfg.send_arg);
	if (p->cfg.log_h && p->cfg.log_level <= SB_LOG_DEBUG) {
		char a[SB_ADDR_STR_MAX];
		px_log(p, SB_LOG_DEBUG, "send %s %s \"%.*s\"%s%s", proto_name(dst->proto),
		       sb_addr_to_str(&dst->addr, a, sizeof a), (int)first_line_len(buf, len), buf,
		       err ? ": " : "", err ? strerror(err) : "");
	}
	return err;
}

/* ------------------------------------------------------- who we are */

static bool host_eq(struct sb_slice h, const char *s)
{
	return sb_slice_caseeq_cstr(h, s);
}

static bool port_is_ours(const struct sb_proxy *p, uint16_t port)
{
	if (port == 0)
		port = 5060;
	for (unsigned k = 0; k < p->cfg.nlisten; k++)
		if (sb_addr_port(&p->cfg.listen[k].addr) == port)
			return true;
	return false;
}

static bool host_is_ours(const struct sb_proxy *p, struct sb_slice host)
{
	for (unsigned k = 0; k < p->cfg.nlisten; k++)
		if (host_eq(host, p->lhost[k]))
			return true;
	for (unsigned k = 0; k < p->cfg.ndomains; k++)
		if (host_eq(host, p->domains[k]))
			return true;
	return false;
}

bool sb_proxy_uri_is_us(const struct sb_proxy *p, const struct sb_uri *uri)
{
	if (uri->scheme != SB_URI_SIP && uri->scheme != SB_URI_SIPS)
		return false;
	return host_is_ours(p, uri->host) && port_is_ours(p, uri->port);
}

/* A domain matches with no port or one of our ports: "sip:bob@127.0.0.1:5070"
 * is a phone on our host, not our domain. */
bool sb_proxy_uri_in_domain(const struct sb_proxy *p, const struct sb_uri *uri)
{
	if (uri->scheme != SB_URI_SIP && uri->scheme != SB_URI_SIPS)
		return false;
	if (uri->port && !port_is_ours(p, uri->port))
		return false;
	for (unsigned k = 0; k < p->cfg.ndomains; k++)
		if (host_eq(uri->host, p->domains[k]))
			return true;
	return false;
}

static bool via_is_ours(const struct sb_proxy *p, const struct sb_via *v)
{
	return host_is_ours(p, v->host) && port_is_ours(p, v->port);
}

/* The local address to write for proto towards family fam. */
static const struct sb_proxy_listen *pick_listen(const struct sb_proxy *p, enum sb_tp_proto pr,
						 int fam)
{
	for (unsigned k = 0; k < p->cfg.nlisten; k++)
		if (p->cfg.listen[k].proto == pr && sb_addr_family(&p->cfg.listen[k].addr) == fam)
			return &p->cfg.listen[k];
	return NULL;
}

/* The listener a request arrived on: the one whose advertised address is
 * its local address, else the first of its protocol and family. */
static const struct sb_proxy_listen *in_listen(const struct sb_proxy *p, enum sb_tp_proto pr,
					       const struct sb_addr *local, int fam)
{
	for (unsigned k = 0; k < p->cfg.nlisten; k++)
		if (p->cfg.listen[k].proto == pr && sb_addr_eq(&p->cfg.listen[k].addr, local))
			return &p->cfg.listen[k];
	return pick_listen(p, pr, fam);
}

/* ------------------------------------------------------- known users */

static bool known_has(struct sb_proxy *p, const char *aor, size_t len)
{
	return sb_hash_find(p->known, aor, len) != NULL;
}

static void known_add(struct sb_proxy *p, const char *aor, size_t len)
{
	if (known_has(p, aor, len) || sb_hash_count(p->known) >= SB_PROXY_MAX_KNOWN_AORS)
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

/* ------------------------------------------------------- hashing */

static uint64_t fnv(uint64_t h, struct sb_slice s)
{
	for (size_t k = 0; k < s.l; k++) {
		h ^= (unsigned char)s.p[k];
		h *= PX_FNV_PRIME;
	}
	/* a separator, so that ("ab","c") and ("a","bc") differ */
	h ^= 0xff;
	h *= PX_FNV_PRIME;
	return h;
}

static void hex64(uint64_t v, char *out)
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
 * match (a known erratum). */
static void loop_hash(const struct sb_proxy *p, struct sb_sip_msg *m, char out[PX_HASH_HEX + 1])
{
	uint64_t h = PX_FNV_OFFSET ^ p->cfg.seed;
	const struct sb_nameaddr *na;
	const struct sb_cseq *cs;
	struct sb_slice s;
	h = fnv(h, m->ruri);
	h = fnv(h, sb_sip_msg_to(m, &na) == 0 ? na->tag : SB_SLICE_NULL);
	h = fnv(h, sb_sip_msg_from(m, &na) == 0 ? na->tag : SB_SLICE_NULL);
	h = fnv(h, sb_sip_msg_call_id(m, &s) == 0 ? s : SB_SLICE_NULL);
	if (sb_sip_msg_cseq(m, &cs) == 0) {
		char num[16];
		int n = snprintf(num, sizeof num, "%u", cs->num);
		h = fnv(h, sb_slice_from(num, (size_t)n));
	}
	static const enum sb_sip_hdr_id ids[] = { SB_HDR_PROXY_REQUIRE, SB_HDR_PROXY_AUTHORIZATION,
						  SB_HDR_ROUTE };
	for (unsigned k = 0; k < SB_ARRAY_LEN(ids); k++)
		for (const struct sb_sip_hdr *f = sb_sip_hdr_first(m, ids[k]); f;
		     f = sb_sip_hdr_next(m, f))
			h = fnv(h, f->value);
	hex64(h, out);
}

/* ------------------------------------------------------- stateless sends */

static struct sb_tp_dest rx_dest(const struct sb_tp_rx *rx)
{
	struct sb_tp_dest d = { .proto = rx->proto, .addr = rx->src, .conn_id = rx->conn_id };
	return d;
}

/* The To tag of the responses the proxy makes itself: a hash of the
 * Call-ID, so that the ACK for one (which matches no transaction when the
 * response was sent statelessly) is known as ours and absorbed. */
static void own_tag(const struct sb_proxy *p, struct sb_sip_msg *m, char tag[PX_HASH_HEX + 1])
{
	struct sb_slice cid = SB_SLICE_NULL;
	(void)sb_sip_msg_call_id(m, &cid);
	hex64(fnv(PX_FNV_OFFSET ^ p->cfg.seed ^ 0x5b, cid), tag);
	tag[PX_TAG_LEN] = 0;
}

static bool acks_our_response(const struct sb_proxy *p, struct sb_sip_msg *ack)
{
	const struct sb_nameaddr *to;
	char tag[PX_HASH_HEX + 1];
	if (sb_sip_msg_to(ack, &to) != 0 || !to->tag.p)
		return false;
	own_tag(p, ack, tag);
	return sb_slice_eq(to->tag, sb_slice_from(tag, PX_TAG_LEN));
}

/* Print a response to req into p->out.  0 or an errno. */
static int print_response(struct sb_proxy *p, const struct sb_sip_msg *req, unsigned code,
			  const char *reason, struct sb_slice extra)
{
	struct sb_sip_response_spec spec = {
		.code = code,
		.reason = reason ? sb_slice_cstr(reason) : SB_SLICE_NULL,
		.extra = extra,
	};
	char tag[PX_HASH_HEX + 1];
	if (code > 100) {
		/* RFC 3261 §8.2.6.2: a To tag, the same for retransmissions */
		own_tag(p, (struct sb_sip_msg *)req, tag);
		spec.to_tag = sb_slice_from(tag, PX_TAG_LEN);
	}
	sb_buf_reset(&p->out);
	return sb_sip_print_response(&p->out, req, &spec);
}

static void reply_stateless(struct sb_proxy *p, const struct sb_tp_rx *rx, unsigned code,
			    const char *reason, struct sb_slice extra)
{
	if (rx->msg->mid == SB_METHOD_ACK)
		return; /* RFC 3261 §17.1.1.3: an ACK is never answered */
	if (print_response(p, rx->msg, code, reason, extra) != 0)
		return;
	struct sb_tp_dest d = rx_dest(rx);
	(void)px_send(&d, p->out.p, p->out.len, p);
}

/* ------------------------------------------------------- contexts */

static void req_free(struct px_req *r)
{
	struct sb_proxy *p = r->p;
	for (unsigned k = 0; k < r->nbr; k++) {
		sb_timer_stop(p->cfg.loop, &r->br[k].timer_c);
		free(r->br[k].buf);
	}
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
	free(r->buf);
	free(r);
}

static void req_unref(struct px_req *r)
{
	if (--r->refs == 0)
		req_free(r);
}

static void st_end_h(struct sb_tsx *t, enum sb_tsx_end why, void *arg)
{
	struct px_req *r = arg;
	(void)t;
	(void)why;
	if (r->st_key) {
		sb_hash_remove(r->p->by_st, &r->node);
		r->st_key = NULL;
	}
	r->st = NULL;
	req_unref(r);
}

/* Send a response upstream through the server transaction. */
static void upstream(struct px_req *r, const char *buf, size_t len, unsigned code)
{
	if (!r->st)
		return;
	if (code >= 200)
		r->final_sent = true;
	int err = sb_tsx_respond(r->st, buf, len);
	if (err)
		px_log(r->p, SB_LOG_WARN, "cannot send %u upstream: %s", code, strerror(err));
}

static void upstream_generated(struct px_req *r, unsigned code, const char *reason)
{
	struct sb_proxy *p = r->p;
	if (print_response(p, &r->msg, code, reason, SB_SLICE_NULL) == 0)
		upstream(r, p->out.p, p->out.len, code);
}

/* ------------------------------------------------------- forwarding */

/* Scratch space for the values the edits of one message point to. */
struct px_scratch {
	char mem[PX_SCRATCH];
	size_t used;
};

static struct sb_slice scratch_put(struct px_scratch *s, const char *p, size_t l)
{
	if (l > sizeof s->mem - s->used)
		return SB_SLICE_NULL;
	char *d = s->mem + s->used;
	memcpy(d, p, l);
	s->used += l;
	return sb_slice_from(d, l);
}

static struct sb_slice scratch_printf(struct px_scratch *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static struct sb_slice scratch_printf(struct px_scratch *s, const char *fmt, ...)
{
	va_list ap;
	size_t room = sizeof s->mem - s->used;
	va_start(ap, fmt);
	int n = vsnprintf(s->mem + s->used, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room)
		return SB_SLICE_NULL;
	struct sb_slice r = sb_slice_from(s->mem + s->used, (size_t)n);
	s->used += (size_t)n;
	return r;
}

struct px_route_val {
	struct sb_slice v;
	uint16_t hdr;
};

/* The outcome of RFC 3261 §16.4 for a request. */
struct px_routing {
	struct px_route_val rv[PX_MAX_ROUTES];
	unsigned nrv;
	unsigned first_kept;        /* values before it are ours and removed */
	bool strict;                /* the last value becomes the Request-URI */
	struct sb_slice new_ruri;   /* strict: the last Route's URI */
	struct sb_nameaddr next;    /* the first kept Route, when has_next */
	bool has_next;
};

static int routing(const struct sb_proxy *p, struct sb_sip_msg *m, struct px_routing *rt)
{
	memset(rt, 0, sizeof *rt);
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
	 * Route header field, and remove that value" (a strict router upstream) */
	struct sb_uri ru;
	if (rt->nrv > 0 && sb_uri_parse(&ru, m->ruri) == 0 && !ru.user.p &&
	    sb_proxy_uri_is_us(p, &ru)) {
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
static int routing_edits(const struct px_routing *rt, const struct sb_sip_msg *m,
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
	sb_addr_host_to_str(src, ip, sizeof ip);
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
	while (v->params.p && sb_param_next(&pr, &name, &val, NULL)) {
		if (sb_slice_caseeq_cstr(name, "received"))
			continue;
		if (sb_slice_caseeq_cstr(name, "rport")) {
			if (!scratch_printf(sc, ";rport=%u", sb_addr_port(src)).p)
				return ENOSPC;
			continue;
		}
		const char *e = val.p ? val.p + val.l : name.p + name.l;
		if (!scratch_put(sc, ";", 1).p || !scratch_put(sc, name.p, (size_t)(e - name.p)).p)
			return ENOSPC;
	}
	if (!scratch_printf(sc, ";received=%s", ip).p)
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

static int addr_host(const struct sb_addr *a, char *buf, size_t cap)
{
	char h[SB_ADDR_STR_MAX];
	sb_addr_host_to_str(a, h, sizeof h);
	bool v6 = sb_addr_family(a) == AF_INET6;
	size_t l = strlen(h), need = l + (v6 ? 2 : 0);
	if (need >= cap)
		return ENOSPC;
	char *d = buf;
	if (v6)
		*d++ = '[';
	memcpy(d, h, l);
	d += l;
	if (v6)
		*d++ = ']';
	*d = 0;
	return 0;
}

static struct sb_slice listen_uri_host(const struct sb_proxy_listen *l, struct px_scratch *sc)
{
	char h[SB_ADDR_STR_MAX + 2];
	if (addr_host(&l->addr, h, sizeof h))
		return SB_SLICE_NULL;
	return scratch_printf(sc, "%s:%u", h, sb_addr_port(&l->addr));
}

/* What to write in a forwarded request, for one target. */
struct px_fwd {
	struct sb_slice ruri;            /* absent: unchanged */
	bool record_route;
	const struct sb_proxy_listen *in;
	const struct sb_tp_rx *rx_stamp; /* stamp the top Via from this source */
	const struct sb_addr *src;
	const char *branch;
};

/* Print m forwarded to dst (RFC 3261 §16.6 steps 1-8) into p->out. */
static int print_forward(struct sb_proxy *p, struct sb_sip_msg *m, const struct px_routing *rt,
			 const struct px_fwd *fw, const struct sb_tp_dest *dst)
{
	struct sb_sip_edits ed;
	static const char *const tp_param[] = { "udp", "tcp", "tls" };
	struct px_scratch *sc = malloc(sizeof *sc);
	int err;
	if (!sc)
		return ENOMEM;
	sc->used = 0;
	sb_sip_edits_init(&ed);

	const struct sb_proxy_listen *out = pick_listen(p, dst->proto, sb_addr_family(&dst->addr));
	if (!out) {
		err = EAFNOSUPPORT;
		goto out;
	}
	/* step 2: the Request-URI; §16.4 strict routing replaced it already */
	struct sb_slice ruri = rt->strict ? rt->new_ruri : fw->ruri;
	if (ruri.p && (err = sb_sip_edit_ruri(&ed, ruri)))
		goto out;
	/* step 3: Max-Forwards */
	uint32_t mf;
	if (sb_sip_msg_max_forwards(m, &mf) == 0) {
		struct sb_slice v = scratch_printf(sc, "%u", mf ? mf - 1 : 0);
		err = sb_sip_edit_replace(&ed, m->first[SB_HDR_MAX_FORWARDS], v);
	} else {
		err = sb_sip_edit_insert(&ed, m->nhdrs, SB_LIT("Max-Forwards"),
					 SB_LIT("70"));
	}
	if (err)
		goto out;
	/* step 4: Record-Route; RFC 5658 §3.3: twice when the request leaves
	 * on another transport or address than it came in on, so that each
	 * side of the dialog sees the address it can reach */
	if (fw->record_route) {
		uint16_t at = m->first[SB_HDR_RECORD_ROUTE];
		if (at == SB_SIP_NO_HDR)
			at = m->first[SB_HDR_VIA] != SB_SIP_NO_HDR ? m->last[SB_HDR_VIA] + 1 : 0;
		if (at > m->nhdrs)
			at = m->nhdrs;
		struct sb_slice hp = listen_uri_host(out, sc);
		struct sb_slice rr = scratch_printf(sc, "<sip:%.*s;transport=%s;lr>", (int)hp.l,
						    hp.p, tp_param[out->proto]);
		if ((err = sb_sip_edit_insert(&ed, at, SB_LIT("Record-Route"), rr)))
			goto out;
		const struct sb_proxy_listen *in = fw->in;
		if (in && (in->proto != out->proto || !sb_addr_eq(&in->addr, &out->addr))) {
			struct sb_slice hp2 = listen_uri_host(in, sc);
			struct sb_slice rr2 = scratch_printf(sc, "<sip:%.*s;transport=%s;lr>",
							     (int)hp2.l, hp2.p,
							     tp_param[in->proto]);
			if ((err = sb_sip_edit_insert(&ed, at, SB_LIT("Record-Route"), rr2)))
				goto out;
		}
	}
	/* §16.4 / §16.6 step 6: our Route values go */
	if ((err = routing_edits(rt, m, &ed)))
		goto out;
	if (fw->src && (err = stamp_top_via(m, fw->src, sc, &ed)))
		goto out;
	/* step 8: our Via on top, with rport (RFC 3581) */
	struct sb_slice hp = listen_uri_host(out, sc);
	static const char *const tp_via[] = { "UDP", "TCP", "TLS" };
	struct sb_slice via = scratch_printf(sc, "SIP/2.0/%s %.*s;branch=%s;rport", tp_via[out->proto],
					     (int)hp.l, hp.p, fw->branch);
	if ((err = sb_sip_edit_push_via(&ed, via)))
		goto out;
	sb_buf_reset(&p->out);
	err = sb_sip_print_edited(&p->out, m, &ed);
out:
	free(sc);
	return err;
}

/* RFC 3261 §16.6 step 7 / §18.1.1: where a URI sends us (numeric hosts
 * only, no DNS yet). */
static int uri_dest(const struct sb_uri *u, struct sb_tp_dest *d)
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
static bool use_flow(const struct px_target *tg, const struct sb_uri *contact)
{
	struct sb_slice ob;
	if (tg->dest.proto != SB_TP_UDP || sb_param_find(contact->params, "ob", &ob) == 0)
		return true;
	struct sb_tp_dest cd;
	if (uri_dest(contact, &cd) != 0)
		return true;
	return !sb_addr_ip_eq(&cd.addr, &tg->dest.addr);
}

static void make_branch(struct sb_proxy *p, const char *hash, char *out, size_t cap)
{
	snprintf(out, cap, SB_PROXY_BRANCH_PREFIX "%s.%llx", hash, (unsigned long long)++p->counter);
}

/* ------------------------------------------------------- branches */

static void branch_response(struct sb_tsx *t, unsigned status, struct sb_sip_msg *msg, void *arg);
static void branch_end(struct sb_tsx *t, enum sb_tsx_end why, void *arg);
static void timer_c_h(void *arg);
static void try_finish(struct px_req *r);

static bool branch_pending(const struct px_branch *b)
{
	return b->used && !b->final;
}

static void cancel_end(struct sb_tsx *t, enum sb_tsx_end why, void *arg)
{
	(void)t;
	(void)why;
	req_unref(arg);
}

/* RFC 3261 §9.1: a CANCEL with the Request-URI, Call-ID, To, From, CSeq
 * number and top Via of the request it cancels, and its Route fields. */
static void branch_send_cancel(struct px_branch *b)
{
	struct px_req *r = b->r;
	struct sb_proxy *p = r->p;
	struct sb_sip_msg *m = malloc(sizeof *m);
	if (!m)
		return;
	if (sb_sip_parse(m, b->buf, b->len, SB_SIP_DATAGRAM) != 0)
		goto out;
	const struct sb_sip_hdr *via = sb_sip_hdr_first(m, SB_HDR_VIA);
	const struct sb_sip_hdr *from = sb_sip_hdr_first(m, SB_HDR_FROM);
	const struct sb_sip_hdr *to = sb_sip_hdr_first(m, SB_HDR_TO);
	const struct sb_cseq *cs;
	struct sb_slice cid;
	if (!via || !from || !to || sb_sip_msg_cseq(m, &cs) || sb_sip_msg_call_id(m, &cid))
		goto out;
	struct sb_slice v0 = via->value, top;
	if (!sb_sip_list_next(&v0, &top))
		goto out;
	struct sb_buf extra;
	sb_buf_init(&extra, SB_SIP_MAX_MSG_SIZE);
	for (const struct sb_sip_hdr *h = sb_sip_hdr_first(m, SB_HDR_ROUTE); h;
	     h = sb_sip_hdr_next(m, h))
		sb_buf_append_slice(&extra, h->line);
	struct sb_sip_request_spec spec = {
		.method = SB_LIT("CANCEL"),
		.ruri = m->ruri,
		.via = top,
		.from = from->value,
		.to = to->value,
		.call_id = cid,
		.cseq = cs->num,
		.max_forwards = SB_PROXY_DEFAULT_MAX_FORWARDS,
		.extra = extra.len ? sb_buf_slice(&extra) : SB_SLICE_NULL,
	};
	sb_buf_reset(&p->out);
	int err = extra.err ? extra.err : sb_sip_print_request(&p->out, &spec);
	sb_buf_free(&extra);
	if (err)
		goto out;
	struct sb_tsx_client_cfg cc = {
		.dst = b->dst,
		.buf = p->out.p,
		.len = p->out.len,
		.owner = { .end_h = cancel_end, .arg = r },
	};
	struct sb_tsx *ct;
	if ((err = sb_tsx_client_alloc(&ct, p->layer, &cc)) == 0)
		r->refs++;
	else
		px_log(p, SB_LOG_WARN, "cannot send CANCEL: %s", strerror(err));
	/* RFC 3261 §9.1: without a final response 64*T1 after the CANCEL,
	 * the INVITE is given up (timer_c_h on a cancelled branch) */
	uint32_t t1 = p->cfg.t1_ms ? p->cfg.t1_ms : SB_TSX_T1_MS;
	sb_timer_start(p->cfg.loop, &b->timer_c, 64u * (sb_msec_t)t1, timer_c_h, b);
out:
	free(m);
}

/* RFC 3261 §16.7 step 10, §16.10: cancel a pending INVITE branch; §9.1: not
 * before a provisional response has come (it is sent when one does). */
static void branch_cancel(struct px_branch *b)
{
	if (!branch_pending(b) || b->cancelled || !b->ct)
		return;
	if (b->status < 101) {
		b->want_cancel = true;
		return;
	}
	b->cancelled = true;
	branch_send_cancel(b);
}

static void cancel_others(struct px_req *r, const struct px_branch *except)
{
	for (unsigned k = 0; k < r->nbr; k++)
		if (&r->br[k] != except)
			branch_cancel(&r->br[k]);
}

/* Start a branch to target tg (§16.6).  0, or an errno: the branch then
 * counts as answered with the status *fail. */
static int branch_start(struct px_req *r, struct px_target *tg, unsigned *fail)
{
	struct sb_proxy *p = r->p;
	struct sb_sip_msg *m = &r->msg;
	struct px_routing rt;
	struct sb_uri tu;
	struct sb_tp_dest dst;
	bool flow = false;
	int err;

	*fail = 500;
	if (r->nbr >= SB_PROXY_MAX_TARGETS)
		return ENOSPC;
	if ((err = routing(p, m, &rt)))
		return err;
	if (sb_uri_parse(&tu, sb_slice_from(tg->uri, tg->len)) != 0) {
		*fail = 400;
		return EBADMSG;
	}
	/* §16.6 step 7: the next hop is the first Route left, else the target */
	if (rt.has_next) {
		err = uri_dest(&rt.next.uri, &dst);
	} else if (tg->has_dest && use_flow(tg, &tu)) {
		dst = tg->dest;
		flow = true;
		err = 0;
	} else {
		struct sb_uri du;
		if (rt.strict && sb_uri_parse(&du, rt.new_ruri) == 0)
			err = uri_dest(&du, &dst);
		else
			err = uri_dest(&tu, &dst);
	}
	if (err) {
		*fail = err == EHOSTUNREACH ? 502 : 503;
		return err;
	}

	struct px_branch *b = &r->br[r->nbr];
	memset(b, 0, sizeof *b);
	b->r = r;
	char branch[64];
	make_branch(p, r->hash, branch, sizeof branch);
	struct px_fwd fw = {
		.ruri = sb_slice_from(tg->uri, tg->len),
		.record_route = dialog_creating(m->mid) && !has_to_tag(m),
		.in = in_listen(p, r->proto, &r->local, sb_addr_family(&r->src)),
		.src = &r->src,
		.branch = branch,
	};
	if (sb_slice_eq(fw.ruri, m->ruri))
		fw.ruri = SB_SLICE_NULL;
	struct sb_tsx *ct = NULL;
	for (int attempt = 0; attempt < 3; attempt++) {
		if ((err = print_forward(p, m, &rt, &fw, &dst))) {
			*fail = 503;
			return err;
		}
		struct sb_tsx_client_cfg cc = {
			.dst = dst,
			.buf = p->out.p,
			.len = p->out.len,
			.owner = { .response_h = branch_response, .end_h = branch_end, .arg = b },
		};
		err = sb_tsx_client_alloc(&ct, p->layer, &cc);
		/* RFC 3261 §18.1.1: a request too large for UDP goes over TCP,
		 * with the Via transport rewritten */
		if (err == EMSGSIZE && dst.proto == SB_TP_UDP && !flow) {
			dst.proto = SB_TP_TCP;
			dst.conn_id = 0;
			make_branch(p, r->hash, branch, sizeof branch);
			continue;
		}
		/* the flow a binding registered on is gone (RFC 5626 §5.3):
		 * reach the Contact itself, as RFC 3261 §18.1.1 would, over
		 * the flow's transport unless the Contact names one */
		if (flow && (err == ENOTCONN || err == ECONNRESET || err == EPIPE)) {
			enum sb_tp_proto fp = dst.proto;
			if (uri_dest(&tu, &dst) != 0)
				break;
			if (!tu.transport.p)
				dst.proto = fp;
			flow = false;
			make_branch(p, r->hash, branch, sizeof branch);
			continue;
		}
		break;
	}
	if (err) {
		*fail = 503;
		return err;
	}
	b->buf = malloc(p->out.len);
	if (b->buf) {
		memcpy(b->buf, p->out.p, p->out.len);
		b->len = p->out.len;
	}
	b->ct = ct;
	b->dst = dst;
	b->used = true;
	r->nbr++;
	r->refs++;
	if (m->mid == SB_METHOD_INVITE)
		sb_timer_start(p->cfg.loop, &b->timer_c, p->cfg.timer_c_ms, timer_c_h, b);
	return 0;
}

/* §16.7 step 6: the best of the final responses: any 6xx, else the lowest
 * class; within a class the first. */
static bool better(unsigned neu, unsigned old)
{
	if (old == 0)
		return true;
	if (old >= 600)
		return false;
	if (neu >= 600)
		return true;
	return neu / 100 < old / 100;
}

static void store_best(struct px_req *r, unsigned status, const char *buf, size_t len)
{
	if (!better(status, r->best_status))
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
static int print_upstream(struct sb_proxy *p, struct sb_sip_msg *msg)
{
	struct sb_sip_edits ed;
	sb_sip_edits_init(&ed);
	int err = sb_sip_edit_pop_via(&ed);
	sb_buf_reset(&p->out);
	return err ? err : sb_sip_print_edited(&p->out, msg, &ed);
}

/* §16.7 step 5 with --recurse-on-3xx: the Contacts of a 3xx join the
 * target set.  Returns how many were added. */
static unsigned add_contacts(struct px_req *r, struct sb_sip_msg *msg)
{
	struct sb_sip_values it;
	struct sb_slice v;
	unsigned added = 0;
	sb_sip_values_init(&it, msg, SB_HDR_CONTACT);
	while (r->ntargets < SB_PROXY_MAX_TARGETS && sb_sip_values_next(&it, &v, NULL)) {
		struct sb_nameaddr na;
		if (sb_nameaddr_parse(&na, sb_slice_trim(v)) != 0 || na.star ||
		    na.uri_s.l >= SB_LOC_MAX_CONTACT)
			continue;
		/* a target already tried is not tried again (§16.5) */
		bool dup = false;
		for (unsigned k = 0; k < r->ntargets && !dup; k++)
			dup = sb_slice_eq(sb_slice_from(r->targets[k].uri, r->targets[k].len),
					  na.uri_s);
		if (dup)
			continue;
		struct px_target *t = &r->targets[r->ntargets++];
		memset(t, 0, sizeof *t);
		memcpy(t->uri, na.uri_s.p, na.uri_s.l);
		t->len = na.uri_s.l;
		if (sb_contact_q(&na, &t->q1000) != 0)
			t->q1000 = 1000;
		added++;
	}
	return added;
}

/* Start targets not yet tried: all of them (parallel), or the next one
 * when nothing is pending (sequential). */
static void start_targets(struct px_req *r)
{
	struct sb_proxy *p = r->p;
	while (r->next_target < r->ntargets && !r->final_sent && !r->cancelled) {
		if (p->cfg.fork == SB_FORK_SEQUENTIAL) {
			bool pending = false;
			for (unsigned k = 0; k < r->nbr; k++)
				pending |= branch_pending(&r->br[k]);
			if (pending)
				return;
		}
		unsigned fail;
		struct px_target *tg = &r->targets[r->next_target++];
		if (branch_start(r, tg, &fail) != 0) {
			px_log(p, SB_LOG_INFO, "cannot forward to %.*s: %u", (int)tg->len, tg->uri,
			       fail);
			store_best(r, fail, NULL, 0);
		}
	}
}

/* When every branch is answered and no target is left, send the best
 * response (§16.7 step 6), or 487 after a CANCEL (§16.10). */
static void try_finish(struct px_req *r)
{
	start_targets(r);
	for (unsigned k = 0; k < r->nbr; k++)
		if (branch_pending(&r->br[k]))
			return;
	if (r->next_target < r->ntargets && !r->cancelled)
		return;
	if (r->final_sent)
		return;
	if (r->cancelled && r->msg.mid == SB_METHOD_INVITE) {
		upstream_generated(r, 487, NULL);
		return;
	}
	if (r->best && r->best_status != 503) {
		upstream(r, r->best, r->best_len, r->best_status);
		return;
	}
	/* §16.7 step 6: a 503 becomes 500 upstream; a timeout is a 408 */
	unsigned code = r->best_status ? r->best_status : 408;
	upstream_generated(r, code == 503 ? 500 : code, NULL);
}

static void branch_final(struct px_branch *b, unsigned status)
{
	b->final = true;
	b->status = status;
	sb_timer_stop(b->r->p->cfg.loop, &b->timer_c);
}

static void branch_response(struct sb_tsx *t, unsigned status, struct sb_sip_msg *msg, void *arg)
{
	struct px_branch *b = arg;
	struct px_req *r = b->r;
	struct sb_proxy *p = r->p;
	bool invite = r->msg.mid == SB_METHOD_INVITE;
	(void)t;

	if (status < 200) {
		if (b->final)
			return;
		if (status > b->status)
			b->status = status;
		/* §16.7 step 2 / §16.8: a provisional response resets Timer C */
		if (invite && status > 100 && !b->cancelled)
			sb_timer_start(p->cfg.loop, &b->timer_c, p->cfg.timer_c_ms, timer_c_h, b);
		if (b->want_cancel && status > 100) {
			b->want_cancel = false;
			b->cancelled = true;
			branch_send_cancel(b);
			return;
		}
		/* §16.7 step 5: provisional responses but 100 go upstream */
		if (status > 100 && msg && !r->final_sent && !r->cancelled &&
		    print_upstream(p, msg) == 0)
			upstream(r, p->out.p, p->out.len, status);
		return;
	}

	if (status < 300) {
		bool first = !b->final;
		branch_final(b, status);
		/* §16.7 step 5: every 2xx to an INVITE goes upstream at once;
		 * to any other request only the first final */
		if (msg && (invite || !r->final_sent) && print_upstream(p, msg) == 0) {
			if (r->final_sent && r->st && sb_tsx_state(r->st) != SB_TSX_ACCEPTED) {
				/* the server transaction no longer takes it:
				 * forward statelessly (§16.7 step 9 still holds) */
				struct sb_tp_dest d = { .proto = r->proto, .addr = r->src,
							.conn_id = r->conn_id };
				(void)px_send(&d, p->out.p, p->out.len, p);
			} else {
				upstream(r, p->out.p, p->out.len, status);
			}
		}
		/* §16.7 step 10: a 2xx ends the other INVITE branches */
		if (invite && first)
			cancel_others(r, b);
		try_finish(r);
		return;
	}

	if (b->final)
		return;
	branch_final(b, status);
	if (status >= 300 && status < 400 && p->cfg.recurse_on_3xx && msg && !r->cancelled &&
	    add_contacts(r, msg) > 0) {
		/* §16.7 step 5: recursion.  The Contacts recursed on "MUST be
		 * removed from the response" before it is stored; with all of
		 * them gone nothing is left worth relaying, so it is not */
		try_finish(r);
		return;
	}
	if (msg) {
		if (print_upstream(p, msg) == 0)
			store_best(r, status, p->out.p, p->out.len);
	} else {
		store_best(r, status, NULL, 0); /* 408 timeout, 503 transport */
	}
	/* §16.7 step 10: "if a 6xx response is received ... SHOULD cancel all
	 * client pending transactions" */
	if (invite && status >= 600)
		cancel_others(r, b);
	try_finish(r);
}

static void branch_end(struct sb_tsx *t, enum sb_tsx_end why, void *arg)
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
		store_best(r, 408, NULL, 0);
		try_finish(r);
	}
	req_unref(r);
}

/* RFC 3261 §16.8: Timer C fired.  With a provisional response the branch is
 * cancelled; without, it is as if it had timed out (408). */
static void timer_c_h(void *arg)
{
	struct px_branch *b = arg;
	struct px_req *r = b->r;
	if (b->final)
		return;
	if (b->status >= 101 && !b->cancelled) {
		branch_cancel(b);
		return;
	}
	/* no response at all, or none 64*T1 after our CANCEL (§9.1): the
	 * branch is given up as a 408 and its transaction left to itself */
	branch_final(b, 408);
	store_best(r, 408, NULL, 0);
	bool detach = b->ct != NULL;
	if (detach) {
		sb_tsx_set_owner(b->ct, NULL);
		b->ct = NULL;
		r->refs++; /* held across try_finish, dropped below */
	}
	try_finish(r);
	if (detach) {
		req_unref(r); /* the detached transaction's reference */
		req_unref(r);
	}
}

/* ------------------------------------------------------- requests */

static int req_alloc(struct sb_proxy *p, const struct sb_tp_rx *rx, struct px_req **rp)
{
	struct px_req *r = calloc(1, sizeof *r);
	if (!r)
		return ENOMEM;
	const struct sb_sip_msg *m = rx->msg;
	r->buf = malloc(m->raw.l);
	if (!r->buf) {
		free(r);
		return ENOMEM;
	}
	memcpy(r->buf, m->raw.p, m->raw.l);
	r->len = m->raw.l;
	if (sb_sip_parse(&r->msg, r->buf, r->len, SB_SIP_DATAGRAM) != 0) {
		free(r->buf);
		free(r);
		return EBADMSG;
	}
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

/* §16.5: the target set. */
static void target_set(struct px_req *r, unsigned *fail)
{
	struct sb_proxy *p = r->p;
	struct sb_sip_msg *m = &r->msg;
	struct sb_uri ru;
	*fail = 0;
	if (sb_uri_parse(&ru, m->ruri) != 0) {
		*fail = 400;
		return;
	}
	/* foreign domains go to the Request-URI as it is; §16.5 makes no
	 * exception for requests inside a dialog: a UA that sends its BYE to
	 * the AOR (SIPp's uac does) reaches the bindings */
	if (!sb_proxy_uri_in_domain(p, &ru)) {
		struct px_target *t = &r->targets[r->ntargets++];
		memcpy(t->uri, m->ruri.p, m->ruri.l < sizeof t->uri ? m->ruri.l : 0);
		t->len = m->ruri.l < sizeof t->uri ? m->ruri.l : 0;
		t->q1000 = 1000;
		if (!t->len) {
			r->ntargets = 0;
			*fail = 414;
		}
		return;
	}
	char aor[SB_LOC_MAX_AOR];
	size_t aorl;
	if (sb_location_aor_key(&ru, aor, sizeof aor, &aorl) != 0) {
		*fail = 404;
		return;
	}
	const struct sb_binding *bs[SB_PROXY_MAX_TARGETS];
	size_t n = sb_location_lookup(p->cfg.location, sb_slice_from(aor, aorl), bs,
				      SB_PROXY_MAX_TARGETS);
	if (n > SB_PROXY_MAX_TARGETS)
		n = SB_PROXY_MAX_TARGETS;
	if (n == 0) {
		*fail = known_has(p, aor, aorl) ? 480 : 404;
		return;
	}
	known_add(p, aor, aorl);
	for (size_t k = 0; k < n; k++) {
		if (bs[k]->contact.l >= SB_LOC_MAX_CONTACT)
			continue;
		struct px_target *t = &r->targets[r->ntargets++];
		memcpy(t->uri, bs[k]->contact.p, bs[k]->contact.l);
		t->len = bs[k]->contact.l;
		t->q1000 = bs[k]->q1000;
		t->has_dest = true;
		t->dest = bs[k]->source;
	}
	/* sb_location_lookup gives highest q first: the sequential order */
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
		if (sb_via_parse(&via, sb_slice_trim(v)) != 0 || !via_is_ours(p, &via))
			continue;
		if (via.branch.l >= pl + PX_HASH_HEX &&
		    memcmp(via.branch.p, SB_PROXY_BRANCH_PREFIX, pl) == 0 &&
		    memcmp(via.branch.p + pl, hash, PX_HASH_HEX) == 0)
			return true;
	}
	return false;
}

static void handle_cancel(struct sb_proxy *p, const struct sb_tp_rx *rx)
{
	struct sb_tsx *inv = sb_tsx_find_invite_for_cancel(p->layer, rx->msg);
	struct sb_tsx *st;
	struct sb_tsx_owner none = { 0 };
	if (sb_tsx_server_alloc(&st, p->layer, rx, &none) != 0)
		return;
	struct sb_hash_node *n = inv ? sb_hash_find(p->by_st, &inv, sizeof inv) : NULL;
	/* §16.10: with a response context, 200 to the CANCEL and cancel the
	 * pending branches; without one, 481 (§9.2) */
	unsigned code = n ? 200 : 481;
	if (print_response(p, rx->msg, code, NULL, SB_SLICE_NULL) == 0)
		(void)sb_tsx_respond(st, p->out.p, p->out.len);
	if (!n)
		return;
	struct px_req *r = SB_HASH_OWNER(n, struct px_req, node);
	if (r->final_sent || r->cancelled)
		return;
	r->cancelled = true;
	cancel_others(r, NULL);
	/* branches without a provisional response cannot be cancelled yet
	 * (§9.1); 487 need not wait for them */
	bool waiting = false;
	for (unsigned k = 0; k < r->nbr; k++)
		waiting |= branch_pending(&r->br[k]) && r->br[k].cancelled;
	if (!waiting && r->msg.mid == SB_METHOD_INVITE)
		upstream_generated(r, 487, NULL);
	else
		try_finish(r);
}

static void handle_register(struct sb_proxy *p, const struct sb_tp_rx *rx)
{
	struct sb_tsx *st;
	struct sb_tsx_owner none = { 0 };
	if (!p->cfg.register_h) {
		reply_stateless(p, rx, 501, NULL, SB_SLICE_NULL);
		return;
	}
	int err = sb_tsx_server_alloc(&st, p->layer, rx, &none);
	if (err) {
		if (err == ENOSPC)
			reply_stateless(p, rx, 503, NULL, SB_SLICE_NULL);
		return;
	}
	sb_buf_reset(&p->out);
	if (p->cfg.register_h(rx, &p->out, p->cfg.register_arg) != 0 &&
	    print_response(p, rx->msg, 500, NULL, SB_SLICE_NULL) != 0)
		return;
	if (p->out.len > 8 && memcmp(p->out.p, "SIP/2.0 2", 9) == 0) {
		const struct sb_nameaddr *to;
		char aor[SB_LOC_MAX_AOR];
		size_t l;
		if (sb_sip_msg_to(rx->msg, &to) == 0 &&
		    sb_location_aor_key(&to->uri, aor, sizeof aor, &l) == 0)
			known_add(p, aor, l);
	}
	(void)sb_tsx_respond(st, p->out.p, p->out.len);
}

static void request_h(const struct sb_tp_rx *rx, void *arg)
{
	struct sb_proxy *p = arg;
	struct sb_sip_msg *m = rx->msg;
	struct sb_uri ru;
	bool ruri_ok = sb_uri_parse(&ru, m->ruri) == 0;

	if (m->mid == SB_METHOD_CANCEL) {
		handle_cancel(p, rx);
		return;
	}
	if (m->mid == SB_METHOD_REGISTER && ruri_ok && sb_proxy_uri_in_domain(p, &ru)) {
		handle_register(p, rx);
		return;
	}
	/* OPTIONS to the proxy itself (no user, no Route): we answer */
	if (m->mid == SB_METHOD_OPTIONS && ruri_ok && !ru.user.p && sb_proxy_uri_is_us(p, &ru) &&
	    !sb_sip_hdr_first(m, SB_HDR_ROUTE)) {
		reply_stateless(p, rx, 200, NULL,
				SB_LIT("Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, "
				       "SUBSCRIBE, NOTIFY, REFER, INFO, UPDATE, PRACK, MESSAGE\r\n"
				       "Accept: application/sdp\r\n"));
		return;
	}

	struct px_req *r;
	if (req_alloc(p, rx, &r) != 0) {
		reply_stateless(p, rx, 500, NULL, SB_SLICE_NULL);
		return;
	}
	struct sb_tsx_owner own = { .end_h = st_end_h, .arg = r };
	int err = sb_tsx_server_alloc(&r->st, p->layer, rx, &own);
	if (err) {
		req_free(r);
		/* §16.3 / §21.5.4: no room for a transaction */
		if (err == ENOSPC)
			reply_stateless(p, rx, 503, NULL, SB_SLICE_NULL);
		return;
	}
	r->refs = 1;
	r->st_key = r->st;
	(void)sb_hash_insert(p->by_st, &r->node, &r->st_key, sizeof r->st_key);
	/* RFC 3261 §16.2: a stateful proxy sends 100 Trying to an INVITE at once */
	if (m->mid == SB_METHOD_INVITE)
		upstream_generated(r, 100, NULL);

	loop_hash(p, &r->msg, r->hash);
	if (is_loop(p, &r->msg, r->hash)) {
		upstream_generated(r, 482, NULL);
		return;
	}
	struct px_routing rt;
	if (routing(p, &r->msg, &rt) != 0) {
		upstream_generated(r, 400, "Bad Request - Malformed Route");
		return;
	}
	unsigned fail;
	if (rt.strict) {
		/* §16.4: the Request-URI came from the last Route; it is the
		 * target as it is */
		struct px_target *t = &r->targets[r->ntargets++];
		size_t l = rt.new_ruri.l < sizeof t->uri ? rt.new_ruri.l : 0;
		memcpy(t->uri, rt.new_ruri.p, l);
		t->len = l;
		t->q1000 = 1000;
		fail = l ? 0 : 414;
	} else {
		target_set(r, &fail);
	}
	if (fail) {
		upstream_generated(r, fail, NULL);
		return;
	}
	start_targets(r);
	try_finish(r);
}

/* Stateless forwarding of an ACK for a 2xx (or one passed up in
 * Accepted): §16.4 routing, Max-Forwards, our Via, to the next hop. */
static void ack_send(struct sb_proxy *p, const struct sb_tp_rx *rx, const struct px_routing *rt,
		     struct sb_slice ruri, const struct sb_tp_dest *dst)
{
	struct sb_sip_msg *m = rx->msg;
	/* the same branch for a retransmitted ACK: a hash of its own */
	char hash[PX_HASH_HEX + 1], hh[PX_HASH_HEX + 1], branch[64];
	const struct sb_via *v;
	uint64_t h = fnv(PX_FNV_OFFSET ^ p->cfg.seed, ruri.p ? ruri : m->ruri);
	if (sb_sip_msg_via(m, &v) == 0)
		h = fnv(h, v->branch);
	loop_hash(p, m, hash);
	hex64(h, hh);
	snprintf(branch, sizeof branch, SB_PROXY_BRANCH_PREFIX "%s.a%s", hash, hh);
	struct px_fwd fw = { .ruri = ruri, .src = &rx->src, .branch = branch };
	if (print_forward(p, m, rt, &fw, dst) == 0)
		(void)px_send(dst, p->out.p, p->out.len, p);
}

static void ack_h(struct sb_tsx *st, const struct sb_tp_rx *rx, void *arg)
{
	struct sb_proxy *p = arg;
	struct sb_sip_msg *m = rx->msg;
	struct px_routing rt;
	struct sb_tp_dest dst;
	struct sb_uri ru;
	(void)st;
	/* RFC 3261 §17.2.1: the ACK for a non-2xx we sent statelessly (a
	 * validation error) ends here */
	if (acks_our_response(p, m))
		return;
	if (routing(p, m, &rt) != 0)
		return;
	const struct sb_uri *to_uri;
	struct sb_uri du;
	if (rt.has_next) {
		to_uri = &rt.next.uri;
	} else if (rt.strict) {
		if (sb_uri_parse(&du, rt.new_ruri) != 0)
			return;
		to_uri = &du;
	} else {
		if (sb_uri_parse(&ru, m->ruri) != 0)
			return;
		if (sb_proxy_uri_in_domain(p, &ru)) {
			/* §16.5: an ACK to one of our users (a UA that did not
			 * keep the remote target) goes to each of its bindings;
			 * only the one holding the dialog takes it */
			char aor[SB_LOC_MAX_AOR];
			size_t aorl;
			const struct sb_binding *bs[SB_PROXY_MAX_TARGETS];
			if (sb_location_aor_key(&ru, aor, sizeof aor, &aorl) != 0)
				return;
			size_t n = sb_location_lookup(p->cfg.location, sb_slice_from(aor, aorl),
						      bs, SB_PROXY_MAX_TARGETS);
			if (n > SB_PROXY_MAX_TARGETS)
				n = SB_PROXY_MAX_TARGETS;
			struct px_target tg;
			for (size_t k = 0; k < n; k++) {
				if (bs[k]->contact.l >= sizeof tg.uri)
					continue;
				memset(&tg, 0, sizeof tg);
				memcpy(tg.uri, bs[k]->contact.p, bs[k]->contact.l);
				tg.len = bs[k]->contact.l;
				tg.has_dest = true;
				tg.dest = bs[k]->source;
				struct sb_uri cu;
				if (sb_uri_parse(&cu, sb_slice_from(tg.uri, tg.len)) != 0)
					continue;
				if (use_flow(&tg, &cu))
					dst = tg.dest;
				else if (uri_dest(&cu, &dst) != 0)
					continue;
				ack_send(p, rx, &rt, sb_slice_from(tg.uri, tg.len), &dst);
			}
			return;
		}
		if (sb_proxy_uri_is_us(p, &ru))
			return; /* to us: absorbed */
		to_uri = &ru;
	}
	if (uri_dest(to_uri, &dst) != 0)
		return;
	ack_send(p, rx, &rt, SB_SLICE_NULL, &dst);
}

/* §16.7 / §18.1.2: a response matching no transaction (a 2xx
 * retransmission): pop our Via and send it to the next one. */
static void stray_h(const struct sb_tp_rx *rx, void *arg)
{
	struct sb_proxy *p = arg;
	struct sb_sip_msg *m = rx->msg;
	struct sb_sip_values it;
	struct sb_slice v;
	struct sb_via top, next;
	sb_sip_values_init(&it, m, SB_HDR_VIA);
	if (!sb_sip_values_next(&it, &v, NULL) || sb_via_parse(&top, sb_slice_trim(v)) != 0)
		return;
	if (!via_is_ours(p, &top) ||
	    !(top.branch.l > sizeof SB_PROXY_BRANCH_PREFIX - 1 &&
	      memcmp(top.branch.p, SB_PROXY_BRANCH_PREFIX, sizeof SB_PROXY_BRANCH_PREFIX - 1) == 0))
		return; /* §18.1.2: not ours, dropped */
	if (!sb_sip_values_next(&it, &v, NULL) || sb_via_parse(&next, sb_slice_trim(v)) != 0)
		return;
	/* RFC 3261 §18.2.2, RFC 3581 §4: received and rport win */
	struct sb_tp_dest d = { .proto = SB_TP_UDP };
	if (sb_slice_caseeq_cstr(next.transport, "TCP"))
		d.proto = SB_TP_TCP;
	else if (!sb_slice_caseeq_cstr(next.transport, "UDP"))
		return;
	char host[SB_ADDR_STR_MAX];
	sb_slice_to_cstr(next.received.p ? next.received : next.host, host, sizeof host);
	uint32_t port = next.port ? next.port : 5060;
	if (next.rport.p && next.rport.l && sb_slice_to_u32(next.rport, &port) != 0)
		return;
	if (port > 65535 || sb_addr_parse(&d.addr, host, (uint16_t)port) != 0)
		return;
	if (print_upstream(p, m) == 0)
		(void)px_send(&d, p->out.p, p->out.len, p);
}

/* ------------------------------------------------------- entry */

void sb_proxy_recv(const struct sb_tp_rx *rx, void *arg)
{
	struct sb_proxy *p = arg;
	struct sb_sip_msg *m = rx->msg;
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
			reply_stateless(p, rx, 200, NULL, SB_SLICE_NULL);
			return;
		}
		char extra[512];
		struct sb_buf eb;
		sb_buf_init_fixed(&eb, extra, sizeof extra);
		if (vd.code == 420 && vd.nunsupported) {
			/* RFC 3261 §8.2.2.3: name what we do not support */
			sb_buf_append_cstr(&eb, "Unsupported: ");
			for (unsigned k = 0; k < vd.nunsupported; k++) {
				if (k)
					sb_buf_append_cstr(&eb, ", ");
				sb_buf_append_slice(&eb, vd.unsupported[k]);
			}
			sb_buf_append_cstr(&eb, "\r\n");
		}
		px_log(p, SB_LOG_INFO, "rejected with %u: %s", vd.code, vd.reason ? vd.reason : "");
		reply_stateless(p, rx, vd.code, vd.reason,
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
	for (unsigned k = 0; k < cfg->ndomains; k++) {
		size_t l = strlen(cfg->domains[k]);
		if (l >= SB_PROXY_MAX_NAME) {
			free(p);
			return EINVAL;
		}
		memcpy(p->domains[k], cfg->domains[k], l + 1);
		p->cfg.domains[k] = p->domains[k];
	}
	for (unsigned k = 0; k < cfg->nlisten; k++)
		(void)addr_host(&cfg->listen[k].addr, p->lhost[k], sizeof p->lhost[k]);
	sb_buf_init(&p->out, PX_OUT_MAX);
	struct sb_hash_cfg hc = { .max_count = SB_PROXY_MAX_KNOWN_AORS, .seed = cfg->seed };
	struct sb_hash_cfg hs = { .seed = cfg->seed };
	struct sb_tsx_layer_cfg lc = {
		.loop = cfg->loop,
		.t1_ms = cfg->t1_ms,
		.max_tsx = cfg->max_tsx,
		.hash_seed = cfg->seed,
		.send_h = px_send,
		.request_h = request_h,
		.ack_h = ack_h,
		.stray_h = stray_h,
		.arg = p,
	};
	int err;
	if ((err = sb_hash_alloc(&p->known, &hc)) || (err = sb_hash_alloc(&p->by_st, &hs)) ||
	    (err = sb_tsx_layer_alloc(&p->layer, &lc))) {
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
		req_free(p->reqs);
	if (p->known) {
		sb_hash_clear(p->known, known_free_h, NULL);
		sb_hash_free(p->known);
	}
	sb_hash_free(p->by_st);
	sb_buf_free(&p->out);
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
