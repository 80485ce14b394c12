/* ua: the user agent's lifecycle (ua.h) and its plumbing: the transport
 * (UDP, and TCP when the server is reached over TCP) bound at cfg.local,
 * the transaction layer with the UA as its transaction user, the dispatch
 * of responses to the requests that caused them, events, logging, the
 * calls' bookkeeping (numbers, the reaper) and a clean shutdown.
 *
 * Every message from the transport is validated as a UAS would
 * (RFC 3261 §8.2) and broken requests are answered statelessly; the rest
 * goes through the transaction layer, which hands new requests to
 * incoming.c, ACKs for our 2xx to incoming.c, and responses to the owner
 * of their client transaction (a struct ua_req, whose kind says which
 * file handles it). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ua_int.h"

static const char *const event_names[] = {
	[SB_UA_EV_REGISTERED] = "registered",
	[SB_UA_EV_REGISTER_FAILED] = "register_failed",
	[SB_UA_EV_UNREGISTERED] = "unregistered",
	[SB_UA_EV_INCOMING] = "incoming",
	[SB_UA_EV_RINGING] = "ringing",
	[SB_UA_EV_REDIRECTED] = "redirected",
	[SB_UA_EV_FORWARDED] = "forwarded",
	[SB_UA_EV_ANSWERED] = "answered",
	[SB_UA_EV_HELD] = "held",
	[SB_UA_EV_RESUMED] = "resumed",
	[SB_UA_EV_TRANSFERRED] = "transferred",
	[SB_UA_EV_DTMF] = "dtmf",
	[SB_UA_EV_ENDED] = "ended",
	[SB_UA_EV_TRANSFER_FAILED] = "transfer_failed",
};

const char *sb_ua_event_name(enum sb_ua_event_kind k)
{
	if ((unsigned)k >= SB_ARRAY_LEN(event_names) || !event_names[k])
		return "unknown";
	return event_names[k];
}

void ua_log(const struct sb_ua *ua, enum sb_log_level lvl, const char *fmt, ...)
{
	if (!ua->cfg.log_h || lvl < ua->cfg.log_level)
		return;
	char line[UA_LOG_LINE];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	ua->cfg.log_h(lvl, line, ua->cfg.log_arg);
}

/* s with every control byte (< 0x20, 0x7f) replaced by '?': text that
 * came from the network (a reason phrase, a URI) may reach a terminal. */
static const char *printable(const char *s, char *buf, size_t cap)
{
	size_t i;
	for (i = 0; s[i]; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			break;
	if (!s[i])
		return s;
	for (i = 0; s[i] && i + 1 < cap; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	buf[i] = 0;
	return buf;
}

void ua_deliver(struct sb_ua *ua, const struct sb_ua_event *in)
{
	char rb[256], pb[2 * UA_MAX_URI];
	struct sb_ua_event ev = *in;
	ev.reason = printable(ev.reason ? ev.reason : "", rb, sizeof rb);
	ev.peer = printable(ev.peer ? ev.peer : "", pb, sizeof pb);
	if (ev.kind == SB_UA_EV_DTMF)
		ua_log(ua, SB_LOG_INFO, "event dtmf call %u digit %c", ev.call_id, ev.digit);
	else
		ua_log(ua, SB_LOG_INFO, "event %s call %u code %u %s %s",
		       sb_ua_event_name(ev.kind), ev.call_id, ev.code, ev.reason, ev.peer);
	ua->cfg.event_h(&ev, ua->cfg.event_arg);
}

void ua_emit(struct sb_ua *ua, enum sb_ua_event_kind kind, struct sb_call *c, unsigned code,
	     const char *reason, const char *peer)
{
	struct sb_ua_event ev = {
		.kind = kind,
		.call = c,
		.call_id = c ? c->id : 0,
		.code = code,
		.reason = reason ? reason : "",
		.peer = peer ? peer : c ? c->peer : "",
	};
	if (kind == SB_UA_EV_REGISTERED)
		ev.expires = ua->reg.granted;
	ua_deliver(ua, &ev);
}

struct sb_tp_dest ua_rx_dest(const struct sb_tp_rx *rx)
{
	struct sb_tp_dest d = { .proto = rx->proto, .addr = rx->src, .conn_id = rx->conn_id,
				.local = rx->local };
	return d;
}

/* Randomness for tags, branches, Call-IDs, cnonces and SDP session ids
 * (RFC 3261 §19.3: tags and Call-IDs must be globally unique and, for
 * tags, cryptographically random).  getrandom() does not fail for small
 * requests once the pool is initialised; should it, the clock and the
 * address of a local stand in (unique enough, not secret). */
static void random_bytes(void *p, size_t n)
{
	unsigned char *b = p;
	size_t got = 0;
	while (got < n) {
		ssize_t r = getrandom(b + got, n - got, 0);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	if (got < n) {
		uint64_t x = (uint64_t)(uintptr_t)&got ^ (uint64_t)clock();
		for (size_t i = got; i < n; i++) {
			x = x * 6364136223846793005ull + 1442695040888963407ull;
			b[i] = (unsigned char)(x >> 56);
		}
	}
}

void ua_random_hex(char *out, size_t nhex)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char b[64];
	size_t nb = (nhex + 1) / 2;
	if (nb > sizeof b)
		nb = sizeof b;
	random_bytes(b, nb);
	for (size_t i = 0; i < nhex && i / 2 < nb; i++)
		out[i] = hex[(b[i / 2] >> ((i & 1) ? 0 : 4)) & 15];
	out[nhex] = 0;
}

uint32_t ua_random_u32(void)
{
	uint32_t v;
	random_bytes(&v, sizeof v);
	return v;
}

static const char *proto_token(enum sb_tp_proto p)
{
	return p == SB_TP_TCP ? "TCP" : p == SB_TP_TLS ? "TLS" : "UDP";
}

void ua_via(const struct sb_ua *ua, enum sb_tp_proto proto, char *out, size_t cap)
{
	char branch[UA_TAG_HEX + 1];
	ua_random_hex(branch, UA_TAG_HEX);
	/* RFC 3261 §8.1.1.7: the branch starts with the magic cookie; RFC
	 * 3581 §3: rport asks for the source port in the response */
	snprintf(out, cap, "SIP/2.0/%s %s:%u;branch=z9hG4bK%s;rport", proto_token(proto), ua->host,
		 (unsigned)ua->port, branch);
}

void ua_contact(const struct sb_ua *ua, enum sb_tp_proto proto, char *out, size_t cap)
{
	snprintf(out, cap, "<sip:%s@%s:%u%s>", ua->user, ua->host, (unsigned)ua->port,
		 proto == SB_TP_TCP ? ";transport=tcp" : "");
}

static size_t first_line_len(const char *buf, size_t len)
{
	const char *e = memchr(buf, '\r', len);
	return e ? (size_t)(e - buf) : len;
}

/* Every byte the UA puts on the wire leaves here, so that each message is
 * logged once. */
int ua_send(struct sb_ua *ua, const struct sb_tp_dest *dst, const char *buf, size_t len)
{
	int err = sb_transport_send(ua->tp, dst, buf, len);
	if (ua->cfg.log_h && ua->cfg.log_level <= SB_LOG_DEBUG) {
		char a[SB_ADDR_STR_MAX];
		ua_log(ua, SB_LOG_DEBUG, "send %s %s \"%.*s\"%s%s", proto_token(dst->proto),
		       sb_addr_to_str(&dst->addr, a, sizeof a), (int)first_line_len(buf, len), buf,
		       err ? ": " : "", err ? strerror(err) : "");
	}
	return err;
}

static int tsx_send_h(const struct sb_tp_dest *dst, const char *buf, size_t len, void *arg)
{
	return ua_send(arg, dst, buf, len);
}

int ua_uri_dest(struct sb_slice s, struct sb_tp_dest *dst)
{
	struct sb_uri u;
	char host[SB_ADDR_STR_MAX];
	if (sb_uri_parse(&u, s) != 0 || u.scheme != SB_URI_SIP)
		return EINVAL;
	/* no DNS (as the proxy): a numeric host, IPv6 without its [] */
	struct sb_slice h = u.maddr.p ? u.maddr : u.host;
	if (h.l >= 2 && h.p[0] == '[')
		h = sb_slice_from(h.p + 1, h.l - 2);
	if (h.l >= sizeof host)
		return EINVAL;
	sb_slice_to_cstr(h, host, sizeof host);
	memset(dst, 0, sizeof *dst);
	if (sb_addr_parse(&dst->addr, host, u.port ? u.port : 5060) != 0)
		return EINVAL;
	dst->proto = SB_TP_UDP;
	if (u.transport.p) {
		if (sb_slice_caseeq_cstr(u.transport, "tcp"))
			dst->proto = SB_TP_TCP;
		else if (!sb_slice_caseeq_cstr(u.transport, "udp"))
			return EINVAL;
	}
	return 0;
}

int ua_out_dest(const struct sb_ua *ua, struct sb_slice ruri, struct sb_tp_dest *dst)
{
	if (ua->has_server) {
		/* RFC 3261 §8.1.2: the outbound proxy takes every request
		 * outside a dialog */
		memset(dst, 0, sizeof *dst);
		dst->proto = ua->cfg.proto;
		dst->addr = ua->cfg.server;
		return 0;
	}
	return ua_uri_dest(ruri, dst);
}

/* ------------------------------------------------------------- requests */

static void req_unlink(struct ua_req *r)
{
	struct sb_ua *ua = r->ua;
	if (r->prev)
		r->prev->next = r->next;
	else
		ua->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
}

static void req_response_h(struct sb_tsx *t, unsigned status, struct sb_sip_msg *msg, void *arg)
{
	struct ua_req *r = arg;
	(void)t;
	if (r->orphan)
		return;
	switch (r->kind) {
	case UA_REQ_REGISTER:
		ua_reg_response(r, status, msg);
		break;
	case UA_REQ_INVITE:
		ua_invite_response(r, status, msg);
		break;
	case UA_REQ_REINVITE:
		ua_reinvite_response(r, status, msg);
		break;
	case UA_REQ_BYE:
		ua_bye_response(r, status, msg);
		break;
	case UA_REQ_CANCEL:
		ua_cancel_response(r, status, msg);
		break;
	case UA_REQ_REFER:
		ua_refer_response(r, status, msg);
		break;
	case UA_REQ_NOTIFY:
		ua_notify_response(r, status, msg);
		break;
	default:
		break;
	}
}

static void req_end_h(struct sb_tsx *t, enum sb_tsx_end why, void *arg)
{
	struct ua_req *r = arg;
	(void)t;
	(void)why;
	r->t = NULL;
	struct sb_call *c = r->call;
	if (c) {
		if (c->inv == r)
			c->inv = NULL;
		if (c->reinv == r)
			c->reinv = NULL;
	}
	if (r->ua->reg.req == r)
		r->ua->reg.req = NULL;
	struct sb_ua *ua = r->ua;
	req_unlink(r);
	free(r);
	ua_maybe_done(ua);
}

int ua_req_start(struct sb_ua *ua, struct sb_call *c, enum ua_req_kind kind, uint32_t cseq,
		 const struct sb_tp_dest *dst, const char *buf, size_t len, struct ua_req **out)
{
	struct ua_req *r = calloc(1, sizeof *r);
	if (!r)
		return ENOMEM;
	r->ua = ua;
	r->call = c;
	r->kind = kind;
	r->cseq = cseq;
	r->next = ua->reqs;
	if (ua->reqs)
		ua->reqs->prev = r;
	ua->reqs = r;
	struct sb_tsx_client_cfg cc = {
		.dst = *dst,
		.buf = buf,
		.len = len,
		.owner = { .response_h = req_response_h, .end_h = req_end_h, .arg = r },
	};
	int err = sb_tsx_client_alloc(&r->t, ua->layer, &cc);
	if (err) {
		ua_log(ua, SB_LOG_WARN, "cannot send %.*s: %s", (int)first_line_len(buf, len), buf,
		       strerror(err));
		req_unlink(r);
		free(r);
		return err;
	}
	if (out)
		*out = r;
	return 0;
}

/* ------------------------------------------------------------ responses */

void ua_reply(struct sb_ua *ua, const struct sb_tp_rx *rx, unsigned code, const char *reason,
	      const char *tag, struct sb_slice extra)
{
	struct sb_sip_msg *m = rx->msg;
	if (m->mid == SB_METHOD_ACK)
		return; /* RFC 3261 §17.1.1.3: an ACK is never answered */
	char mytag[UA_TAG_HEX + 1];
	if (!tag) {
		ua_random_hex(mytag, UA_TAG_HEX);
		tag = mytag;
	}
	struct sb_sip_response_spec spec = {
		.code = code,
		.reason = reason ? sb_slice_cstr(reason) : SB_SLICE_NULL,
		.to_tag = code > 100 ? sb_slice_cstr(tag) : SB_SLICE_NULL,
		.extra = extra,
	};
	struct sb_buf b;
	sb_buf_init(&b, UA_OUT_MAX);
	if (sb_sip_print_response(&b, m, &spec) != 0) {
		sb_buf_free(&b);
		return;
	}
	struct sb_tsx *st;
	if (sb_tsx_server_alloc(&st, ua->layer, rx, NULL) == 0) {
		(void)sb_tsx_respond(st, b.p, b.len);
	} else {
		/* no transaction (none left, a broken request): stateless,
		 * back where it came from (RFC 3581 §4) */
		struct sb_tp_dest d = ua_rx_dest(rx);
		(void)ua_send(ua, &d, b.p, b.len);
	}
	sb_buf_free(&b);
}

/* ------------------------------------------------------------- receiving */

static void recv_h(const struct sb_tp_rx *rx, void *arg)
{
	struct sb_ua *ua = arg;
	struct sb_sip_msg *m = rx->msg;
	if (ua->cfg.log_h && ua->cfg.log_level <= SB_LOG_DEBUG) {
		char a[SB_ADDR_STR_MAX];
		ua_log(ua, SB_LOG_DEBUG, "recv %s %s \"%.*s\"", proto_token(rx->proto),
		       sb_addr_to_str(&rx->src, a, sizeof a), (int)m->start_line.l,
		       m->start_line.p);
	}
	static const char *const supported[] = { "replaces", NULL };
	struct sb_sip_validate_cfg vc = { .role = SB_ROLE_UAS, .supported = supported };
	struct sb_sip_verdict vd;
	if (sb_sip_validate(m, &vc, &vd) != 0) {
		if (vd.drop || !m->is_request) {
			ua_log(ua, SB_LOG_DEBUG, "dropped: %s", vd.reason ? vd.reason : "invalid");
			return;
		}
		char extra[512];
		struct sb_buf eb;
		sb_buf_init_fixed(&eb, extra, sizeof extra);
		sb_sip_print_unsupported(&eb, &vd);
		if (vd.code == 501 || vd.code == 405) {
			sb_buf_append_cstr(&eb, UA_ALLOW);
		}
		ua_log(ua, SB_LOG_INFO, "rejected with %u: %s", vd.code, vd.reason ? vd.reason : "");
		ua_reply(ua, rx, vd.code, vd.reason, NULL,
			 eb.len && !eb.err ? sb_buf_slice(&eb) : SB_SLICE_NULL);
		return;
	}
	/* responses reach their owners inside: they may want the source
	 * (an ACK to a 2xx we cannot route, RFC 3261 §13.2.2.4) */
	ua->rx_now = rx;
	int err = sb_tsx_layer_recv(ua->layer, rx);
	ua->rx_now = NULL;
	if (err)
		ua_log(ua, SB_LOG_DEBUG, "dropped by the transaction layer: %s", strerror(err));
}

/* RFC 3261 §17.1.4: a TCP connection that broke fails what waits on it. */
static void close_h(uint32_t conn_id, const struct sb_addr *peer, int err, void *arg)
{
	struct sb_ua *ua = arg;
	char a[SB_ADDR_STR_MAX];
	ua_log(ua, SB_LOG_DEBUG, "connection %u to %s closed: %s", conn_id,
	       sb_addr_to_str(peer, a, sizeof a), err ? strerror(err) : "orderly");
	if (ua->layer)
		sb_tsx_layer_conn_failed(ua->layer, conn_id, peer);
}

/* A response that matched no client transaction: a 2xx retransmission
 * after the INVITE transaction ended (RFC 3261 §13.2.2.4), else dropped
 * (§18.1.2). */
static void stray_h(const struct sb_tp_rx *rx, void *arg)
{
	struct sb_ua *ua = arg;
	struct sb_sip_msg *m = rx->msg;
	const struct sb_cseq *cs;
	if (m->status >= 200 && m->status < 300 && sb_sip_msg_cseq(m, &cs) == 0 &&
	    cs->mid == SB_METHOD_INVITE)
		ua_stray_2xx(ua, m);
}

/* ---------------------------------------------------------------- calls */

bool ua_is_live(const struct sb_call *c)
{
	return c && c->state != UA_CALL_ENDED;
}

struct sb_call *ua_call_new(struct sb_ua *ua, bool outgoing)
{
	struct sb_call *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->ua = ua;
	c->outgoing = outgoing;
	c->id = ++ua->next_id;
	if (c->id == 0)
		c->id = ++ua->next_id;
	c->media.p.dtmf_pt = -1;
	c->sess_id = ua_random_u32();
	c->sess_ver = 1;
	sb_timer_init(&c->cancel_timer);
	sb_timer_init(&c->ring_timer);
	sb_timer_init(&c->noanswer_timer);
	sb_timer_init(&c->resp_timer);
	sb_timer_init(&c->reinv_timer);
	sb_timer_init(&c->dtmf_timer);
	sb_timer_init(&c->xfer_timer);
	c->next = ua->calls;
	if (ua->calls)
		ua->calls->prev = c;
	ua->calls = c;
	ua->ncalls++;
	return c;
}

static void call_stop_timers(struct sb_call *c)
{
	struct sb_loop *l = c->ua->cfg.loop;
	sb_timer_stop(l, &c->cancel_timer);
	sb_timer_stop(l, &c->ring_timer);
	sb_timer_stop(l, &c->noanswer_timer);
	sb_timer_stop(l, &c->resp_timer);
	sb_timer_stop(l, &c->reinv_timer);
	sb_timer_stop(l, &c->dtmf_timer);
	sb_timer_stop(l, &c->xfer_timer);
}

/* Free c now: its transactions are detached, nothing is sent. */
static void call_free(struct sb_call *c)
{
	struct sb_ua *ua = c->ua;
	call_stop_timers(c);
	ua_media_stop(c);
	if (c->st && ua->layer) /* sb_ua_free frees the layer first */
		sb_tsx_set_owner(c->st, NULL);
	for (struct ua_req *r = ua->reqs; r; r = r->next)
		if (r->call == c)
			r->call = NULL;
	for (struct sb_call *o = ua->calls; o; o = o->next) {
		if (o->xfer_orig == c)
			o->xfer_orig = NULL;
		if (o->xfer_new == c)
			o->xfer_new = NULL;
		if (o->replaced == c)
			o->replaced = NULL;
	}
	if (c->prev)
		c->prev->next = c->next;
	else
		ua->calls = c->next;
	if (c->next)
		c->next->prev = c->prev;
	ua->ncalls--;
	free(c->inv_buf);
	free(c->ack_buf);
	free(c->in_buf);
	free(c->in_msg);
	free(c->resp_buf);
	free(c);
}

static void reaper_h(void *arg)
{
	struct sb_ua *ua = arg;
	struct sb_call *c = ua->calls;
	while (c) {
		struct sb_call *next = c->next;
		if (c->state == UA_CALL_ENDED)
			call_free(c);
		c = next;
	}
	ua_maybe_done(ua);
}

void ua_reap_soon(struct sb_ua *ua)
{
	(void)sb_timer_start(ua->cfg.loop, &ua->reaper, 0, reaper_h, ua);
}

void ua_call_end(struct sb_call *c, unsigned code, const char *reason)
{
	struct sb_ua *ua = c->ua;
	if (c->state == UA_CALL_ENDED)
		return;
	c->state = UA_CALL_ENDED;
	call_stop_timers(c);
	ua_media_stop(c);
	if (c->st) {
		sb_tsx_set_owner(c->st, NULL);
		c->st = NULL;
	}
	/* a call we made for a REFER tells the referrer how it ended */
	if (c->xfer_orig)
		ua_refer_progress(c, code ? code : 200);
	c->end_code = code;
	c->end_reason = reason;
	ua_emit(ua, SB_UA_EV_ENDED, c, code, reason, NULL);
	ua_reap_soon(ua);
}

struct sb_call *ua_call_by_dialog(struct sb_ua *ua, struct sb_sip_msg *m, bool response)
{
	struct sb_slice cid;
	const struct sb_nameaddr *from, *to;
	if (sb_sip_msg_call_id(m, &cid) != 0 || sb_sip_msg_from(m, &from) != 0 ||
	    sb_sip_msg_to(m, &to) != 0)
		return NULL;
	/* RFC 3261 §12.2.2: Call-ID, the local tag in To (our requests'
	 * responses carry it in From), the remote tag in the other */
	struct sb_slice local = response ? from->tag : to->tag;
	struct sb_slice remote = response ? to->tag : from->tag;
	for (struct sb_call *c = ua->calls; c; c = c->next) {
		if (!ua_is_live(c) || !c->dlg.up)
			continue;
		if (sb_slice_eq(cid, sb_slice_cstr(c->dlg.call_id)) &&
		    sb_slice_eq(local, sb_slice_cstr(c->dlg.local_tag)) &&
		    sb_slice_eq(remote, sb_slice_cstr(c->dlg.remote_tag)))
			return c;
	}
	return NULL;
}

struct sb_call *ua_other_active(struct sb_ua *ua, const struct sb_call *c)
{
	for (struct sb_call *o = ua->calls; o; o = o->next)
		if (o != c && o->state == UA_CALL_ESTABLISHED && !o->local_hold)
			return o;
	return NULL;
}

struct sb_call *sb_ua_call_by_id(struct sb_ua *ua, unsigned n)
{
	for (struct sb_call *c = ua->calls; c; c = c->next)
		if (c->id == n && ua_is_live(c))
			return c;
	return NULL;
}

struct sb_call *sb_ua_current_call(struct sb_ua *ua)
{
	struct sb_call *held = NULL;
	for (struct sb_call *c = ua->calls; c; c = c->next) {
		if (c->state != UA_CALL_ESTABLISHED)
			continue;
		if (!c->local_hold)
			return c;
		if (!held)
			held = c;
	}
	return held;
}

static const char *state_name(const struct sb_call *c)
{
	switch (c->state) {
	case UA_CALL_OUT_CALLING:
		return "calling";
	case UA_CALL_OUT_EARLY:
		return "ringing";
	case UA_CALL_IN_RINGING:
		return "incoming";
	case UA_CALL_IN_ANSWERED:
		return "answering";
	case UA_CALL_ESTABLISHED:
		return "established";
	case UA_CALL_ENDING:
		return "ending";
	default:
		return "ended";
	}
}

size_t sb_ua_status(struct sb_ua *ua, char *out, size_t cap)
{
	struct sb_buf b;
	char tmp[64];
	if (!cap)
		return 0;
	sb_buf_init_fixed(&b, out, cap - 1);
	snprintf(tmp, sizeof tmp, "registration: %s\n",
		 ua->cfg.no_register ? "off" : ua->reg.registered ? "registered" : "not registered");
	sb_buf_append_cstr(&b, tmp);
	for (struct sb_call *c = ua->calls; c; c = c->next) {
		if (!ua_is_live(c))
			continue;
		char line[UA_MAX_URI + 128];
		snprintf(line, sizeof line, "call %u %s %s %s%s%s\n", c->id, state_name(c),
			 c->outgoing ? "to" : "from", c->peer, c->local_hold ? " held" : "",
			 c->remote_hold ? " remote-hold" : "");
		if (sb_buf_append_cstr(&b, line) != 0)
			break;
	}
	out[b.len] = 0;
	return b.len;
}

void sb_ua_set_incoming(struct sb_ua *ua, enum sb_ua_incoming in)
{
	ua->cfg.incoming = in;
}

void sb_ua_local(const struct sb_ua *ua, struct sb_addr *out)
{
	*out = ua->bound;
}

/* --------------------------------------------------------------- targets */

static bool user_char(char ch)
{
	/* RFC 3261 §25.1 user: unreserved / escaped / user-unreserved */
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       strchr("-_.!~*'()&=+$,;?/%", ch) != NULL;
}

int ua_expand_target(const struct sb_ua *ua, const char *target, char *out, size_t cap)
{
	if (!target || !*target)
		return EINVAL;
	size_t l = strlen(target);
	int n;
	if (strncasecmp(target, "sip:", 4) == 0)
		n = snprintf(out, cap, "%s", target);
	else if (strncasecmp(target, "sips:", 5) == 0 || strchr(target, '<') ||
		 strchr(target, ' ') || strchr(target, '"'))
		return EINVAL; /* no TLS; no name-addr */
	else if (strchr(target, '@'))
		n = snprintf(out, cap, "sip:%s", target);
	else {
		for (size_t i = 0; i < l; i++)
			if (!user_char(target[i]))
				return EINVAL;
		n = snprintf(out, cap, "sip:%s@%s", target, ua->domain);
	}
	if (n < 0 || (size_t)n >= cap)
		return EINVAL;
	struct sb_uri u;
	if (sb_uri_parse(&u, sb_slice_cstr(out)) != 0 || u.scheme != SB_URI_SIP)
		return EINVAL;
	return 0;
}

/* -------------------------------------------------------------- shutdown */

static void done_timer_h(void *arg)
{
	struct sb_ua *ua = arg;
	if (ua->done_told)
		return;
	ua->done_told = true;
	sb_timer_stop(ua->cfg.loop, &ua->shutdown_timer);
	if (ua->done_h)
		ua->done_h(ua->done_arg);
}

void ua_maybe_done(struct sb_ua *ua)
{
	if (!ua->shutting || ua->done_told || ua->ncalls || ua_reg_busy(ua))
		return;
	(void)sb_timer_start(ua->cfg.loop, &ua->done_timer, 0, done_timer_h, ua);
}

static void shutdown_timer_h(void *arg)
{
	struct sb_ua *ua = arg;
	ua_log(ua, SB_LOG_WARN, "shutdown: gave up waiting for answers");
	done_timer_h(ua);
}

void sb_ua_shutdown(struct sb_ua *ua, void (*done_h)(void *arg), void *arg)
{
	ua->done_h = done_h;
	ua->done_arg = arg;
	if (ua->shutting) {
		ua_maybe_done(ua);
		return;
	}
	ua->shutting = true;
	for (struct sb_call *c = ua->calls; c; c = c->next)
		if (ua_is_live(c) && c->state != UA_CALL_ENDING)
			(void)sb_ua_hangup(c);
	ua_reg_unregister(ua);
	/* bounded: every transaction is over by 64*T1 */
	(void)sb_timer_start(ua->cfg.loop, &ua->shutdown_timer, 64u * (sb_msec_t)ua->t1_ms + 1000,
			     shutdown_timer_h, ua);
	ua_maybe_done(ua);
}

/* --------------------------------------------------------------- alloc */

static int copy_name(char *dst, size_t cap, const char *src, bool required, const char *bad)
{
	if (!src) {
		dst[0] = 0;
		return required ? EINVAL : 0;
	}
	size_t l = strlen(src);
	if ((required && !l) || l >= cap)
		return EINVAL;
	for (size_t i = 0; i < l; i++)
		if ((unsigned char)src[i] < 0x20 || src[i] == 0x7f || strchr(bad, src[i]))
			return EINVAL;
	memcpy(dst, src, l + 1);
	return 0;
}

/* The address written in Via and Contact when we bind a wildcard: the
 * source address the kernel picks toward the server (a connected UDP
 * socket sends nothing), else the loopback. */
static void pick_host(struct sb_ua *ua)
{
	struct sb_addr a = ua->bound;
	bool wildcard = sb_addr_family(&a) == AF_INET
				? a.u.in.sin_addr.s_addr == htonl(INADDR_ANY)
				: IN6_IS_ADDR_UNSPECIFIED(&a.u.in6.sin6_addr);
	if (wildcard) {
		struct sb_addr to;
		if (ua->has_server && sb_addr_family(&ua->cfg.server) == sb_addr_family(&a))
			to = ua->cfg.server;
		else
			(void)sb_addr_parse(&to, sb_addr_family(&a) == AF_INET ? "192.0.2.1"
									     : "2001:db8::1", 5060);
		int fd = socket(sb_addr_family(&a), SOCK_DGRAM | SOCK_CLOEXEC, 0);
		struct sb_addr got = { .len = sizeof got.u };
		bool ok = fd >= 0 && connect(fd, &to.u.sa, to.len) == 0 &&
			  getsockname(fd, &got.u.sa, &got.len) == 0;
		if (fd >= 0)
			close(fd);
		if (ok) {
			uint16_t port = sb_addr_port(&a);
			(void)sb_addr_from_sa(&a, &got.u.sa, got.len);
			sb_addr_set_port(&a, port);
		} else {
			(void)sb_addr_parse(&a, sb_addr_family(&a) == AF_INET ? "127.0.0.1" : "::1",
					    sb_addr_port(&a));
		}
	}
	char h[SB_ADDR_STR_MAX];
	sb_addr_host_to_str(&a, h, sizeof h);
	struct sb_buf hb;
	sb_buf_init_fixed(&hb, ua->host, sizeof ua->host - 1);
	bool v6 = sb_addr_family(&a) == AF_INET6;
	sb_buf_append_cstr(&hb, v6 ? "[" : "");
	sb_buf_append_cstr(&hb, h);
	sb_buf_append_cstr(&hb, v6 ? "]" : "");
	ua->host[hb.len] = 0;
	ua->port = sb_addr_port(&a);
	if (!ua->media_ip[0])
		snprintf(ua->media_ip, sizeof ua->media_ip, "%s", h);
}

#define FAIL(e, ...)                                      \
	do {                                              \
		if (err && errcap)                        \
			snprintf(err, errcap, __VA_ARGS__); \
		rc = (e);                                 \
		goto out;                                 \
	} while (0)

int sb_ua_alloc(struct sb_ua **up, const struct sb_ua_cfg *cfg, char *err, size_t errcap)
{
	int rc = 0;
	struct sb_ua *ua = NULL;
	if (err && errcap)
		err[0] = 0;
	if (!up || !cfg || !cfg->loop || !cfg->event_h)
		FAIL(EINVAL, "a loop and an event handler are required");
	ua = calloc(1, sizeof *ua);
	if (!ua)
		FAIL(ENOMEM, "out of memory");
	ua->cfg = *cfg;
	/* names go into quoted strings and URIs: no control bytes, no quote */
	if (copy_name(ua->user, sizeof ua->user, cfg->user, true, " \"<>@:;\\"))
		FAIL(EINVAL, "a user name is required (no spaces, quotes, '@', ':' or ';')");
	if (copy_name(ua->domain, sizeof ua->domain, cfg->domain, true, " \"<>@;\\"))
		FAIL(EINVAL, "a domain is required (no spaces, quotes, '@' or ';')");
	if (copy_name(ua->password, sizeof ua->password, cfg->password, false, ""))
		FAIL(EINVAL, "the password is too long or holds control characters");
	if (copy_name(ua->media_ip, sizeof ua->media_ip, cfg->media_ip, false, " \"<>@;\\"))
		FAIL(EINVAL, "bad media address");
	if (ua->media_ip[0]) {
		struct sb_addr t;
		if (sb_addr_parse(&t, ua->media_ip, 0) != 0)
			FAIL(EINVAL, "media address %s is not a numeric IP address", ua->media_ip);
	}
	const char *const *fw[] = { &cfg->fwd_always, &cfg->fwd_busy, &cfg->fwd_noanswer };
	char *fwo[] = { ua->fwd_always, ua->fwd_busy, ua->fwd_noanswer };
	for (unsigned k = 0; k < 3; k++) {
		if (!*fw[k] || !**fw[k])
			continue;
		if (ua_expand_target(ua, *fw[k], fwo[k], UA_MAX_URI) != 0)
			FAIL(EINVAL, "forwarding target %s is not a SIP URI or user", *fw[k]);
	}
	if (copy_name(ua->play_wav, sizeof ua->play_wav, cfg->play_wav, false, "") ||
	    copy_name(ua->record_wav, sizeof ua->record_wav, cfg->record_wav, false, ""))
		FAIL(EINVAL, "a WAV file name is too long");
	ua->cfg.user = ua->user;
	ua->cfg.domain = ua->domain;
	ua->cfg.password = ua->password[0] ? ua->password : NULL;
	ua->cfg.media_ip = NULL;
	ua->cfg.fwd_always = ua->fwd_always[0] ? ua->fwd_always : NULL;
	ua->cfg.fwd_busy = ua->fwd_busy[0] ? ua->fwd_busy : NULL;
	ua->cfg.fwd_noanswer = ua->fwd_noanswer[0] ? ua->fwd_noanswer : NULL;
	ua->cfg.play_wav = ua->play_wav[0] ? ua->play_wav : NULL;
	ua->cfg.record_wav = ua->record_wav[0] ? ua->record_wav : NULL;
	if (cfg->proto != SB_TP_UDP && cfg->proto != SB_TP_TCP)
		FAIL(EINVAL, "the server is reached over UDP or TCP");
	ua->has_server = sb_addr_family(&cfg->server) == AF_INET ||
			 sb_addr_family(&cfg->server) == AF_INET6;
	if (!ua->has_server && !cfg->no_register)
		FAIL(EINVAL, "a server address is required to register");
	ua->t1_ms = cfg->t1_ms ? cfg->t1_ms : SB_TSX_T1_MS;
	ua->reg.expires = cfg->expires ? cfg->expires : SB_UA_DEFAULT_EXPIRES;
	snprintf(ua->aor, sizeof ua->aor, "sip:%s@%s", ua->user, ua->domain);
	{
		struct sb_uri au;
		if (sb_uri_parse(&au, sb_slice_cstr(ua->aor)) != 0)
			FAIL(EINVAL, "sip:%s@%s is not a SIP URI", ua->user, ua->domain);
	}

	struct sb_addr local = cfg->local;
	if (sb_addr_family(&local) != AF_INET && sb_addr_family(&local) != AF_INET6) {
		int fam = ua->has_server ? sb_addr_family(&cfg->server) : AF_INET;
		(void)sb_addr_parse(&local, fam == AF_INET6 ? "::" : "0.0.0.0", 0);
	}
	char as[SB_ADDR_STR_MAX];
	/* UDP, and for a server over TCP the same port on TCP (requests from
	 * the server may come on a new connection to our Contact).  With port
	 * 0 the UDP port the kernel picks may be taken on TCP: a few tries */
	for (unsigned attempt = 0;; attempt++) {
		struct sb_transport_cfg tc = { .loop = cfg->loop, .recv_h = recv_h,
					       .close_h = close_h, .arg = ua };
		if ((rc = sb_transport_alloc(&ua->tp, &tc)))
			FAIL(rc, "transport: %s", strerror(rc));
		if ((rc = sb_transport_listen(ua->tp, SB_TP_UDP, &local, &ua->bound)))
			FAIL(rc, "cannot bind SIP UDP %s: %s",
			     sb_addr_to_str(&local, as, sizeof as), strerror(rc));
		if (cfg->proto != SB_TP_TCP)
			break;
		rc = sb_transport_listen(ua->tp, SB_TP_TCP, &ua->bound, NULL);
		if (!rc)
			break;
		if (rc != EADDRINUSE || sb_addr_port(&local) != 0 || attempt + 1 >= UA_BIND_TRIES)
			FAIL(rc, "cannot listen on SIP TCP %s: %s",
			     sb_addr_to_str(&ua->bound, as, sizeof as), strerror(rc));
		sb_transport_free(ua->tp);
		ua->tp = NULL;
	}
	pick_host(ua);
	ua_contact(ua, cfg->proto, ua->contact, sizeof ua->contact);

	struct sb_tsx_layer_cfg lc = {
		.loop = cfg->loop,
		.t1_ms = ua->t1_ms,
		.max_tsx = 1024,
		.hash_seed = ua_random_u32(),
		.send_h = tsx_send_h,
		.request_h = ua_request_h,
		.ack_h = ua_ack_h,
		.stray_h = stray_h,
		.arg = ua,
	};
	if ((rc = sb_tsx_layer_alloc(&ua->layer, &lc)))
		FAIL(rc, "transaction layer: %s", strerror(rc));
	sb_timer_init(&ua->reaper);
	sb_timer_init(&ua->done_timer);
	sb_timer_init(&ua->shutdown_timer);
	ua_log(ua, SB_LOG_INFO, "%s at %s:%u", ua->aor, ua->host, (unsigned)ua->port);
	if (!cfg->no_register)
		ua_reg_start(ua);
	*up = ua;
	return 0;
out:
	sb_ua_free(ua);
	return rc;
}

void sb_ua_free(struct sb_ua *ua)
{
	if (!ua)
		return;
	/* the layer first: it frees its transactions without calling us */
	sb_tsx_layer_free(ua->layer);
	ua->layer = NULL;
	while (ua->calls)
		call_free(ua->calls);
	while (ua->reqs) {
		struct ua_req *r = ua->reqs;
		req_unlink(r);
		free(r);
	}
	ua_reg_free(ua);
	sb_timer_stop(ua->cfg.loop, &ua->reaper);
	sb_timer_stop(ua->cfg.loop, &ua->done_timer);
	sb_timer_stop(ua->cfg.loop, &ua->shutdown_timer);
	sb_transport_free(ua->tp);
	free(ua);
}

void ua_copy_unfold(char *dst, size_t cap, struct sb_slice s)
{
	size_t o = 0;
	bool ws = false;
	if (!cap)
		return;
	for (size_t i = 0; i < s.l && o + 1 < cap; i++) {
		char ch = s.p[i];
		if (ch == '\r' || ch == '\n' || ch == '\t' || ch == ' ') {
			ws = true;
			continue;
		}
		if (ws && o) {
			dst[o++] = ' ';
			if (o + 1 >= cap)
				break;
		}
		ws = false;
		dst[o++] = ch;
	}
	dst[o] = 0;
}
