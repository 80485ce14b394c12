/* proxy/stateless: what the proxy sends outside a response context.  The
 * responses it makes itself (validation errors, OPTIONS to itself, the
 * answers a context generates) carry a To tag derived from the Call-ID, so
 * that the ACK for one is known and absorbed; ACKs for 2xx and CANCELs
 * without a response context (§16.10) are forwarded statelessly (§16.4,
 * and §16.5 for our users' bindings), without the Proxy-Authorization of
 * our realm (§22.3: the ACK repeats the INVITE's); responses matching no
 * transaction are relayed with our Via popped (§16.7, §18.1.2): 2xx
 * retransmissions (RFC 6026) and answers to what we forwarded
 * statelessly, but not a late non-2xx to an INVITE of ours, whose branch
 * was given up or whose transaction has ended. */
#include <string.h>

#include "proxy_int.h"

/* Hex digits of the To tag of the responses we make. */
#define PX_TAG_LEN 8u

static struct sb_tp_dest rx_dest(const struct sb_tp_rx *rx)
{
	/* RFC 3581 §4: the response leaves from where the request came in */
	struct sb_tp_dest d = { .proto = rx->proto, .addr = rx->src, .conn_id = rx->conn_id,
				.local = rx->local };
	return d;
}

/* The To tag of the responses the proxy makes itself: a hash of the
 * Call-ID, so that the ACK for one (which matches no transaction when the
 * response was sent statelessly) is known as ours and absorbed. */
static void own_tag(const struct sb_proxy *p, struct sb_sip_msg *m, char tag[PX_HASH_HEX + 1])
{
	struct sb_slice cid = SB_SLICE_NULL;
	(void)sb_sip_msg_call_id(m, &cid);
	px_hex64(px_hash(PX_HASH_SEED ^ p->cfg.seed ^ 0x5b, cid), tag);
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
int px_print_response(struct sb_proxy *p, const struct sb_sip_msg *req, unsigned code,
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

void px_reply_stateless(struct sb_proxy *p, const struct sb_tp_rx *rx, unsigned code,
			const char *reason, struct sb_slice extra)
{
	if (rx->msg->mid == SB_METHOD_ACK)
		return; /* RFC 3261 §17.1.1.3: an ACK is never answered */
	if (px_print_response(p, rx->msg, code, reason, extra) != 0)
		return;
	struct sb_tp_dest d = rx_dest(rx);
	(void)px_send(&d, p->out.p, p->out.len, p);
}

/* Send one statelessly forwarded copy of rx: §16.4 routing, Max-Forwards,
 * our Via, our realm's Proxy-Authorization removed, to the next hop.  The
 * branch is the same for a retransmission (a hash of the Request-URI and
 * the top Via's branch), and kind ('a' for ACK, 'c' for CANCEL) keeps it
 * apart from the branch of another method. */
static void stateless_send(struct sb_proxy *p, const struct sb_tp_rx *rx,
			   const struct px_routing *rt, struct sb_slice ruri,
			   const struct sb_tp_dest *dst, char kind)
{
	struct sb_sip_msg *m = rx->msg;
	char hash[PX_HASH_HEX + 1], branch[PX_BRANCH_MAX];
	const struct sb_via *v;
	uint64_t h = px_hash(PX_HASH_SEED ^ p->cfg.seed, ruri.p ? ruri : m->ruri);
	if (sb_sip_msg_via(m, &v) == 0)
		h = px_hash(h, v->branch);
	px_loop_hash(p, m, hash);
	/* SB_PROXY_BRANCH_PREFIX, the loop hash, '.', kind, h in hex */
	char *d = px_branch_head(hash, branch);
	*d++ = kind;
	px_hex64(h, d); /* and its NUL */
	struct px_fwd fw = { .ruri = ruri, .src = &rx->src, .branch = branch };
	if (px_print_forward(p, m, rt, &fw, dst) == 0)
		(void)px_send(dst, p->out.p, p->out.len, p);
}

/* Forward rx statelessly to the target §16.4 and §16.5 give it: the first
 * Route left, the Request-URI a strict route made, each binding of one of
 * our users, or a foreign Request-URI.  Returns how many copies went out;
 * 0 when there is no target (a request to us, a user without bindings, an
 * address that cannot be reached). */
static unsigned forward_stateless(struct sb_proxy *p, const struct sb_tp_rx *rx, char kind)
{
	struct sb_sip_msg *m = rx->msg;
	struct px_routing rt;
	struct sb_tp_dest dst;
	struct sb_uri ru;
	if (px_route(p, m, &rt) != 0)
		return 0;
	const struct sb_uri *to_uri;
	struct sb_uri du;
	if (rt.has_next) {
		to_uri = &rt.next.uri;
	} else if (rt.strict) {
		if (sb_uri_parse(&du, rt.new_ruri) != 0)
			return 0;
		to_uri = &du;
	} else {
		if (sb_uri_parse(&ru, m->ruri) != 0)
			return 0;
		if (sb_proxy_uri_in_domain(p, &ru)) {
			/* §16.5: to one of our users, each of its bindings;
			 * only the one holding the dialog (the transaction)
			 * takes it */
			char aor[SB_LOC_MAX_AOR];
			size_t aorl;
			const struct sb_binding *bs[SB_PROXY_MAX_TARGETS];
			unsigned sent = 0;
			if (sb_location_aor_key(&ru, aor, sizeof aor, &aorl) != 0)
				return 0;
			size_t n = sb_location_lookup(p->cfg.location, sb_slice_from(aor, aorl),
						      bs, SB_PROXY_MAX_TARGETS);
			if (n > SB_PROXY_MAX_TARGETS)
				n = SB_PROXY_MAX_TARGETS;
			for (size_t k = 0; k < n; k++) {
				struct sb_slice c = bs[k]->contact;
				struct sb_uri cu;
				if (c.l >= SB_LOC_MAX_CONTACT || sb_uri_parse(&cu, c) != 0)
					continue;
				if (px_use_flow(&bs[k]->source, &cu))
					dst = bs[k]->source;
				else if (px_uri_dest(&cu, &dst) != 0)
					continue;
				stateless_send(p, rx, &rt, c, &dst, kind);
				sent++;
			}
			return sent;
		}
		if (sb_proxy_uri_is_us(p, &ru))
			return 0; /* to us: nothing to forward */
		to_uri = &ru;
	}
	if (px_uri_dest(to_uri, &dst) != 0)
		return 0;
	stateless_send(p, rx, &rt, SB_SLICE_NULL, &dst, kind);
	return 1;
}

void px_ack_h(struct sb_tsx *st, const struct sb_tp_rx *rx, void *arg)
{
	struct sb_proxy *p = arg;
	(void)st;
	/* RFC 3261 §17.2.1: the ACK for a non-2xx we sent statelessly (a
	 * validation error) ends here */
	if (acks_our_response(p, rx->msg))
		return;
	(void)forward_stateless(p, rx, 'a');
}

unsigned px_cancel_stateless(struct sb_proxy *p, const struct sb_tp_rx *rx)
{
	return forward_stateless(p, rx, 'c');
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* Whether br is the branch of a client transaction of ours (forward.c,
 * make_branch: prefix, loop hash, '.', a hex counter), not of a request
 * forwarded statelessly (stateless_send: '.', a kind letter, 16 hex
 * digits: one byte longer than any counter). */
static bool stateful_branch(struct sb_slice br)
{
	const size_t pl = sizeof SB_PROXY_BRANCH_PREFIX - 1;
	if (br.l < pl + PX_HASH_HEX + 2 || br.l > pl + PX_HASH_HEX + 1 + PX_HASH_HEX ||
	    br.p[pl + PX_HASH_HEX] != '.')
		return false;
	for (size_t k = pl + PX_HASH_HEX + 1; k < br.l; k++)
		if (!is_hex(br.p[k]))
			return false;
	return true;
}

/* §16.7 / §18.1.2: a response matching no transaction: pop our Via and
 * send it to the next one.  Only a 2xx needs that among the responses to
 * an INVITE we forwarded statefully (RFC 6026 §8.1: the client transaction
 * is gone once the first 2xx went through); any other (a 487 or 408 of a
 * branch given up after Timer C or 64*T1, of one a no-answer rule
 * superseded) belongs to a branch that is over, and must not reach a
 * caller who may still be ringing elsewhere: dropped. */
void px_stray_h(const struct sb_tp_rx *rx, void *arg)
{
	struct sb_proxy *p = arg;
	struct sb_sip_msg *m = rx->msg;
	struct sb_sip_values it;
	struct sb_slice v;
	struct sb_via top;
	sb_sip_values_init(&it, m, SB_HDR_VIA);
	if (!sb_sip_values_next(&it, &v, NULL) || sb_via_parse(&top, sb_slice_trim(v)) != 0)
		return;
	if (!px_via_is_ours(p, &top) ||
	    !(top.branch.l > sizeof SB_PROXY_BRANCH_PREFIX - 1 &&
	      memcmp(top.branch.p, SB_PROXY_BRANCH_PREFIX, sizeof SB_PROXY_BRANCH_PREFIX - 1) == 0))
		return; /* §18.1.2: not ours, dropped */
	const struct sb_cseq *cs;
	if ((m->status < 200 || m->status >= 300) && sb_sip_msg_cseq(m, &cs) == 0 &&
	    cs->mid == SB_METHOD_INVITE && stateful_branch(top.branch)) {
		px_log(p, SB_LOG_DEBUG, "late %u of a branch that is over: dropped", m->status);
		return;
	}
	px_relay_by_via(p, m);
}

void px_relay_by_via(struct sb_proxy *p, struct sb_sip_msg *m)
{
	struct sb_sip_values it;
	struct sb_slice v;
	struct sb_via next;
	sb_sip_values_init(&it, m, SB_HDR_VIA);
	if (!sb_sip_values_next(&it, &v, NULL) || !sb_sip_values_next(&it, &v, NULL) ||
	    sb_via_parse(&next, sb_slice_trim(v)) != 0)
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
	if (px_print_upstream(p, m) == 0)
		(void)px_send(&d, p->out.p, p->out.len, p);
}
