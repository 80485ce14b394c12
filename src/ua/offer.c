/* ua/offer: SDP offer/answer for a call (RFC 3264) and the media session
 * behind it (media.h).
 *
 * Our offer is one audio stream: PCMU (0), PCMA (8) and telephone-event
 * (101, RFC 4733), 20 ms, with the direction hold asks for (RFC 3264
 * §8.4, RFC 6337: sendonly to hold, inactive when the peer holds us too,
 * sendrecv to resume).  An answer to an offer keeps the offer's m= lines
 * (§6: "the answer MUST contain exactly the same number of m= lines"):
 * the first RTP/AVP audio stream gets the first of PCMU/PCMA the offer
 * lists and the first telephone-event it lists (m= format order), every
 * other stream port 0; the media session uses exactly the payload types
 * the answer names.  An offer whose address family is not that of our
 * media address gets 488 (we could not send to it).  A re-INVITE whose
 * audio has port 0 (the stream removed, §8.2) is answered with port 0
 * and the media stops sending and playing.
 *
 * Each call has one media session from its first SDP on (its RTP port
 * goes in the SDP); it starts sending and playing when the call is
 * established and follows every later offer/answer (hold).  The rest of
 * the UA reaches media only through the ua_media_* functions at the end
 * of this file.  Received DTMF digits are queued and told from a
 * zero-delay timer, never from inside the session's receive handler: the
 * user's handler may hang up (freeing the session) or do anything else. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ua_int.h"

#define UA_TE_FMTP "0-16"

_Static_assert(SB_UA_MAX_DTMF == SB_DTMF_QUEUE, "ua.h tells the media's DTMF queue");

static const struct sb_sdp_codec our_codecs[] = {
	SB_SDP_CODEC_PCMU,
	SB_SDP_CODEC_PCMA,
	SB_SDP_CODEC_TELEPHONE_EVENT,
};

static enum sb_sdp_af media_af(const struct sb_call *c)
{
	return strchr(c->ua->media_ip, ':') ? SB_SDP_AF_IP6 : SB_SDP_AF_IP4;
}

enum sb_sdp_dir ua_offer_dir(const struct sb_call *c)
{
	/* RFC 6337 §5.3: hold is sendonly, or inactive when the other side
	 * holds us already; resuming offers sendrecv */
	if (c->want_hold)
		return c->remote_hold ? SB_SDP_DIR_INACTIVE : SB_SDP_DIR_SENDONLY;
	return SB_SDP_DIR_SENDRECV;
}

int ua_sdp_offer(struct sb_call *c, enum sb_sdp_dir dir, struct sb_buf *out)
{
	int err = ua_media_prepare(c);
	if (err)
		return err;
	struct sb_sdp_offer_spec spec = {
		.user = SB_LIT("sbphone"),
		.sess_id = c->sess_id,
		/* RFC 3264 §8: every new offer counts the version up */
		.sess_version = c->sess_ver++,
		.af = media_af(c),
		.addr = sb_slice_cstr(c->ua->media_ip),
		.port = c->rtp_port,
		.codecs = our_codecs,
		.ncodecs = SB_ARRAY_LEN(our_codecs),
		.ptime = SB_MEDIA_PTIME_MS,
		.dir = dir,
	};
	c->offer_dir = dir;
	return sb_sdp_print_offer(out, &spec);
}

static int parse(struct sb_slice body, struct sb_sdp **sp)
{
	struct sb_sdp *s = malloc(sizeof *s);
	if (!s)
		return ENOMEM;
	if (!body.l || sb_sdp_parse(s, body) != 0) {
		free(s);
		return EBADMSG;
	}
	*sp = s;
	return 0;
}

/* The first audio stream over RTP/AVP with a port, or SIZE_MAX. */
static size_t find_audio(const struct sb_sdp *s, bool need_port)
{
	for (size_t k = 0; k < s->nmedia; k++) {
		const struct sb_sdp_media *m = &s->media[k];
		if (sb_slice_caseeq_cstr(m->type, "audio") &&
		    sb_slice_caseeq_cstr(m->proto, "RTP/AVP") && (m->port || !need_port))
			return k;
	}
	return SIZE_MAX;
}

static bool is_zero_addr(const struct sb_sdp_conn *cn)
{
	return cn && (sb_slice_eq(cn->addr, SB_LIT("0.0.0.0")) || sb_slice_eq(cn->addr, SB_LIT("::")));
}

/* Whether what the SDP asks us to send to is of our media address's family
 * (an IPv6 peer of an IPv4 phone: nothing could be sent). */
static bool same_family(const struct sb_call *c, const struct sb_sdp_conn *cn,
			const struct sb_media_params *p)
{
	int fam = media_af(c) == SB_SDP_AF_IP6 ? AF_INET6 : AF_INET;
	if (cn && cn->af != SB_SDP_AF_OTHER && cn->af != media_af(c))
		return false;
	if (p->rtp.len && sb_addr_family(&p->rtp) != fam)
		return false;
	return !p->rtcp.len || sb_addr_family(&p->rtcp) == fam;
}

/* RFC 3264 §6: the formats we take from m, in its order: the first G.711
 * and telephone-event. */
static int pick(const struct sb_sdp_media *m, struct sb_sdp_codec out[2], size_t *n)
{
	bool audio = false, te = false;
	*n = 0;
	for (size_t k = 0; k < m->nfmt; k++) {
		uint32_t pt;
		struct sb_sdp_rtpmap rm;
		if (sb_slice_to_u32(m->fmts[k], &pt) != 0 || pt > 127 ||
		    sb_sdp_find_rtpmap(m, pt, &rm) != 0)
			continue;
		if (!audio && (rm.clock == 8000 || rm.clock == 0) &&
		    ((pt == SB_RTP_PT_PCMU && sb_slice_caseeq_cstr(rm.encoding, "PCMU")) ||
		     (pt == SB_RTP_PT_PCMA && sb_slice_caseeq_cstr(rm.encoding, "PCMA")))) {
			out[0] = pt == SB_RTP_PT_PCMU ? (struct sb_sdp_codec)SB_SDP_CODEC_PCMU
						      : (struct sb_sdp_codec)SB_SDP_CODEC_PCMA;
			audio = true;
		} else if (!te && pt >= 96 && rm.clock == 8000 &&
			   sb_slice_caseeq_cstr(rm.encoding, "telephone-event")) {
			out[1] = (struct sb_sdp_codec)SB_SDP_CODEC_TELEPHONE_EVENT;
			out[1].pt = (uint8_t)pt;
			out[1].fmtp = SB_LIT(UA_TE_FMTP);
			te = true;
		}
	}
	if (!audio)
		return EPROTO;
	*n = te ? 2 : 1;
	if (!te)
		out[1] = out[0];
	return 0;
}

int ua_sdp_answer(struct sb_call *c, struct sb_slice body, enum sb_sdp_dir want,
		  bool may_disable, struct sb_buf *out, struct ua_media *mp)
{
	struct sb_sdp *s;
	int err = parse(body, &s);
	if (err)
		return err;
	struct sb_buf one;
	sb_buf_init(&one, UA_OUT_MAX);
	size_t idx = find_audio(s, true);
	struct sb_sdp_codec cs[2] = { SB_SDP_CODEC_PCMU, SB_SDP_CODEC_PCMU };
	size_t n = 1;
	/* RFC 3264 §8.2: a re-INVITE may remove the audio (port 0): the
	 * answer has port 0 too, and the call goes on without media */
	bool disable = idx == SIZE_MAX && may_disable && find_audio(s, false) != SIZE_MAX;
	if (!disable && (idx == SIZE_MAX || pick(&s->media[idx], cs, &n) != 0)) {
		err = EPROTO; /* RFC 3264 §6: nothing in common: 488 */
		goto out;
	}
	const struct sb_sdp_media *m = disable ? NULL : &s->media[idx];
	const struct sb_sdp_conn *cn = m ? sb_sdp_media_conn(s, m) : NULL;
	enum sb_sdp_dir offered = m ? sb_sdp_media_dir(s, m) : SB_SDP_DIR_INACTIVE;
	bool zero = is_zero_addr(cn);
	/* RFC 3264 §8.4: c=0.0.0.0 is the old way to hold: they will not
	 * receive */
	if (zero)
		offered = (offered == SB_SDP_DIR_RECVONLY || offered == SB_SDP_DIR_INACTIVE)
				  ? SB_SDP_DIR_INACTIVE
				  : SB_SDP_DIR_SENDONLY;
	enum sb_sdp_dir ans = disable ? SB_SDP_DIR_INACTIVE : sb_sdp_dir_answer(offered, want);
	memset(mp, 0, sizeof *mp);
	if (!disable) {
		if (sb_media_params_from_sdp(&mp->p, s, idx, ans) != 0 ||
		    !same_family(c, cn, &mp->p)) {
			err = EPROTO; /* an address we cannot send to: 488 */
			goto out;
		}
	}
	if ((err = ua_media_prepare(c)))
		goto out;
	struct sb_sdp_offer_spec spec = {
		.user = SB_LIT("sbphone"),
		.sess_id = c->sess_id,
		.sess_version = c->sess_ver++,
		.af = media_af(c),
		.addr = sb_slice_cstr(c->ua->media_ip),
		.port = c->rtp_port,
		.codecs = cs,
		.ncodecs = n,
		.ptime = SB_MEDIA_PTIME_MS,
		.dir = ans,
	};
	if ((err = sb_sdp_print_offer(&one, &spec)))
		goto out;
	/* §6: one m= line per offered one, in order; the others rejected */
	const char *ms = one.p ? memmem(one.p, one.len, "\r\nm=audio", 9) : NULL;
	if (!ms) {
		err = EINVAL;
		goto out;
	}
	ms += 2;
	size_t sess_len = (size_t)(ms - one.p);
	size_t len0 = out->len;
	sb_buf_append(out, one.p, sess_len);
	for (size_t k = 0; k < s->nmedia; k++) {
		const struct sb_sdp_media *o = &s->media[k];
		if (k == idx && !disable) {
			sb_buf_append(out, ms, one.len - sess_len);
			continue;
		}
		sb_buf_append_cstr(out, "m=");
		sb_buf_append_slice(out, o->type);
		sb_buf_append_cstr(out, " 0 ");
		sb_buf_append_slice(out, o->proto);
		sb_buf_append_cstr(out, " ");
		sb_buf_append_slice(out, o->nfmt ? o->fmts[0] : SB_LIT("0"));
		sb_buf_append_cstr(out, "\r\n");
	}
	if (out->err) {
		err = out->err;
		out->len = len0;
		goto out;
	}
	if (disable) {
		/* no remote, nothing sent or played; hold state as it was */
		mp->p.pt = c->media.p.pt;
		mp->p.dtmf_pt = -1;
		mp->p.dir = SB_SDP_DIR_INACTIVE;
		mp->remote_hold = c->remote_hold;
		goto out;
	}
	/* the payload types of our answer, exactly: the peer sends what it
	 * reads there */
	mp->p.pt = cs[0].pt;
	mp->p.dtmf_pt = n == 2 ? (int)cs[1].pt : -1;
	mp->p.dir = ans;
	mp->remote_hold = offered == SB_SDP_DIR_SENDONLY || offered == SB_SDP_DIR_INACTIVE;
out:
	sb_buf_free(&one);
	free(s);
	return err;
}

int ua_sdp_take_answer(struct sb_call *c, struct sb_slice body, struct ua_media *mp)
{
	struct sb_sdp *s;
	int err = parse(body, &s);
	if (err)
		return err;
	size_t idx = find_audio(s, false);
	memset(mp, 0, sizeof *mp);
	if (idx == SIZE_MAX || !s->media[idx].port ||
	    sb_media_params_from_sdp(&mp->p, s, idx, c->offer_dir) != 0 ||
	    !same_family(c, sb_sdp_media_conn(s, &s->media[idx]), &mp->p)) {
		free(s);
		return EPROTO; /* the stream was refused, or nothing we can play */
	}
	/* RFC 6337 §5.3: an answer of sendonly or inactive to an offer that
	 * wanted to receive means the peer holds us */
	enum sb_sdp_dir theirs = sb_sdp_media_dir(s, &s->media[idx]);
	bool wanted_recv = c->offer_dir == SB_SDP_DIR_SENDRECV || c->offer_dir == SB_SDP_DIR_RECVONLY;
	mp->remote_hold = wanted_recv &&
			  (theirs == SB_SDP_DIR_SENDONLY || theirs == SB_SDP_DIR_INACTIVE);
	/* our direction: what we offered, limited by the mirror of theirs */
	mp->p.dir = sb_sdp_dir_answer(theirs, c->offer_dir);
	free(s);
	return 0;
}

/* ------------------------------------------------------------ the media */

/* Tell the digits received, in order, while the call is established; a
 * handler that ends the call (or hangs up) drops the rest.  Before our
 * 2xx is ACKed they wait: DTMF comes after ANSWERED. */
static void dtmf_timer_h(void *arg)
{
	struct sb_call *c = arg;
	struct sb_ua *ua = c->ua;
	if (c->state == UA_CALL_IN_ANSWERED)
		return; /* ua_dtmf_flush_soon() once established */
	while (c->dtmf_rx_n && ua_is_live(c) && c->state == UA_CALL_ESTABLISHED) {
		char digit = c->dtmf_rx[0];
		c->dtmf_rx_n--;
		memmove(c->dtmf_rx, c->dtmf_rx + 1, c->dtmf_rx_n);
		struct sb_ua_event ev = {
			.kind = SB_UA_EV_DTMF,
			.call = c,
			.call_id = c->id,
			.reason = "",
			.peer = c->peer,
			.digit = digit,
		};
		ua_deliver(ua, &ev);
	}
	/* the call is freed by the reaper, a later timer: c is still ours */
	c->dtmf_rx_n = 0;
}

void ua_dtmf_flush_soon(struct sb_call *c)
{
	if (c->dtmf_rx_n)
		(void)sb_timer_start(c->ua->cfg.loop, &c->dtmf_timer, 0, dtmf_timer_h, c);
}

/* From the media session's receive handler: queue only.  The user's
 * handler runs from the timer, where it may do anything (hang up and free
 * this very session, place another call). */
static void dtmf_h(char digit, void *arg)
{
	struct sb_call *c = arg;
	if (c->dtmf_rx_n >= UA_DTMF_RX_QUEUE) {
		ua_log(c->ua, SB_LOG_WARN, "call %u: dtmf %c dropped (queue full)", c->id, digit);
		return;
	}
	c->dtmf_rx[c->dtmf_rx_n++] = digit;
	ua_dtmf_flush_soon(c);
}

int ua_media_prepare(struct sb_call *c)
{
	struct sb_ua *ua = c->ua;
	if (c->ms)
		return 0;
	struct sb_media_cfg mc = { .dtmf_h = dtmf_h, .arg = c };
	if (sb_addr_parse(&mc.local, ua->media_ip, 0) != 0)
		return EINVAL;
	int err = sb_media_alloc(&c->ms, ua->cfg.loop, &mc);
	if (err) {
		ua_log(ua, SB_LOG_ERROR, "call %u: no media socket: %s", c->id, strerror(err));
		c->ms = NULL;
		return err;
	}
	c->rtp_port = sb_media_local_port(c->ms);
	char why[256] = "";
	if (ua->cfg.tone_hz) {
		if (sb_media_source_tone(c->ms, ua->cfg.tone_hz, 0.5) != 0)
			ua_log(ua, SB_LOG_WARN, "call %u: tone of %u Hz refused", c->id,
			       ua->cfg.tone_hz);
	} else if (ua->cfg.play_wav &&
		   sb_media_source_wav(c->ms, ua->cfg.play_wav, true, why, sizeof why) != 0) {
		ua_log(ua, SB_LOG_WARN, "call %u: cannot play %s: %s", c->id, ua->cfg.play_wav, why);
	}
	return 0;
}

int ua_media_start(struct sb_call *c, const struct ua_media *m)
{
	struct sb_ua *ua = c->ua;
	int err = ua_media_prepare(c);
	if (err)
		return err;
	c->media = *m;
	char a[SB_ADDR_STR_MAX];
	ua_log(ua, SB_LOG_INFO, "call %u: media to %s pt %u dtmf %d %s", c->id,
	       m->p.rtp.len ? sb_addr_to_str(&m->p.rtp, a, sizeof a) : "-", m->p.pt, m->p.dtmf_pt,
	       sb_sdp_dir_name(m->p.dir));
	if ((err = sb_media_update(c->ms, &m->p)) != 0) {
		ua_log(ua, SB_LOG_WARN, "call %u: media refused the answer: %s", c->id,
		       strerror(err));
		return err;
	}
	if (!sb_media_running(c->ms)) {
		char why[256] = "";
		if (ua->cfg.record_wav && !ua->recording) {
			if (sb_media_sink_wav(c->ms, ua->cfg.record_wav, why, sizeof why) == 0)
				ua->recording = c;
			else
				ua_log(ua, SB_LOG_WARN, "call %u: cannot record to %s: %s", c->id,
				       ua->cfg.record_wav, why);
		}
		if ((err = sb_media_start(c->ms)) != 0 && err != EALREADY)
			return err;
	}
	c->media_on = true;
	return 0;
}

void ua_media_set_dir(struct sb_call *c, enum sb_sdp_dir dir)
{
	c->media.p.dir = dir;
	if (c->ms)
		(void)sb_media_set_dir(c->ms, dir);
}

void ua_media_stop(struct sb_call *c)
{
	if (c->ua->recording == c)
		c->ua->recording = NULL;
	c->media_on = false;
	if (c->ms) {
		sb_media_free(c->ms);
		c->ms = NULL;
	}
}

int ua_media_dtmf(struct sb_call *c, const char *digits)
{
	if (!c->ms || !c->media_on)
		return EINVAL;
	return sb_media_send_dtmf(c->ms, digits);
}
