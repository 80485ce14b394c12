/* libFuzzer target for the RTP receive path of the media layer: the packet
 * parser, the fixed-header builder, G.711 decoding, RFC 4733 telephone-event
 * parsing and the DTMF receiver, the RFC 3550 A.1/A.8 source state and the
 * jitter buffer, fed as the session's receive handler feeds them.
 *
 * Every input is used twice:
 *   1. as one datagram: parsed, every view checked to lie inside it and the
 *      header lengths to add up to it, rebuilt with sb_rtp_build and parsed
 *      again (the same header fields and payload), then received into a
 *      fresh jitter buffer and played out;
 *   2. as a stream: byte 0 configures the jitter buffer, then records
 *      [ctl][len hi][len lo][len bytes] (the last one may be short) are each
 *      one datagram received into the same state; ctl & 3 is the number of
 *      20 ms playout ticks after it, ctl & 4 forces a new source.
 * Payload types: 0 and 8 are G.711, 13 comfort noise, 96..127 are taken as
 * telephone-event, anything else is ignored (as the session does).
 * Aborts on a view outside the input, a round trip that differs, or jitter
 * buffer accounting that does not add up. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "switchboard/media.h"

#include "fuzzutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_rtp: %s\n", what);
	abort();
}

static uint32_t rd32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* What the receive side keeps for one stream. */
struct rx {
	struct sb_jitter jb;
	struct sb_dtmf_rx dtmf;
	struct sb_rtp_source src;
	unsigned max;           /* the buffer's max_frames */
	bool have_src;
	uint32_t ssrc;
	uint32_t tick;          /* 20 ms ticks played */
	uint64_t dropped;       /* frames held when the buffer was reset by us */
	uint64_t resets_seen;   /* jb.st.resets already accounted for */
};

/* The jitter buffer's frames are all accounted for: each frame accepted is
 * played, dropped for room, still held, or was held when the buffer
 * restarted. */
static void check_jitter(struct rx *r)
{
	const struct sb_jitter_stats *st = &r->jb.st;
	unsigned held = sb_jitter_count(&r->jb);

	if (held > r->max)
		fail("jitter: more frames held than max_frames");
	if (st->played + st->overflow + held + r->dropped != st->received)
		fail("jitter: received != played + overflow + held + dropped");
}

static void jb_put(struct rx *r, uint16_t seq, const int16_t *pcm, size_t n)
{
	unsigned held = sb_jitter_count(&r->jb);
	int err = sb_jitter_put(&r->jb, seq, pcm, n);

	if (err != 0 && err != EEXIST && err != ETIME && err != ERANGE)
		fail("jitter: unexpected error from put");
	if (r->jb.st.resets != r->resets_seen) {
		/* a confirmed wild jump restarted the buffer: what it held went */
		if (r->jb.st.resets != r->resets_seen + 1 || err != 0)
			fail("jitter: reset accounting");
		r->resets_seen = r->jb.st.resets;
		r->dropped += held;
	}
	check_jitter(r);
}

static void play(struct rx *r, unsigned ticks)
{
	int16_t out[SB_MEDIA_FRAME];

	while (ticks--) {
		memset(out, 0x55, sizeof out);
		bool got = sb_jitter_get(&r->jb, out);
		if (!got)
			for (size_t i = 0; i < SB_MEDIA_FRAME; i++)
				if (out[i] != 0)
					fail("jitter: get returned false with sound");
		r->tick++;
		check_jitter(r);
	}
}

static void rx_init(struct rx *r, const struct sb_jitter_cfg *cfg)
{
	memset(r, 0, sizeof *r);
	if (sb_jitter_init(&r->jb, cfg) != 0)
		fail("jitter: init refused a valid configuration");
	r->max = cfg && cfg->max_frames ? cfg->max_frames : SB_JB_DEFAULT_MAX;
	sb_dtmf_rx_init(&r->dtmf);
}

/* Parse p out of in and check it against the bytes. */
static int parse_checked(struct sb_rtp_pkt *p, struct sb_slice in)
{
	const uint8_t *b = (const uint8_t *)in.p;
	int err = sb_rtp_parse(p, b, in.l);

	if (err == EPROTONOSUPPORT) {
		if (in.l < SB_RTP_HDR_LEN || (b[0] >> 6) == SB_RTP_VERSION)
			fail("rtp: EPROTONOSUPPORT for a version 2 header");
		return err;
	}
	if (err) {
		if (err != EBADMSG)
			fail("rtp: unexpected error");
		return err;
	}
	if (in.l < SB_RTP_HDR_LEN || (b[0] >> 6) != SB_RTP_VERSION)
		fail("rtp: accepted a short packet or a version other than 2");

	/* the fields are the header's */
	if (p->marker != ((b[1] & 0x80) != 0) || p->pt != (b[1] & 0x7F) ||
	    p->seq != (uint16_t)((b[2] << 8) | b[3]) || p->ts != rd32(b + 4) ||
	    p->ssrc != rd32(b + 8) || p->cc != (b[0] & 0x0F) ||
	    p->has_ext != ((b[0] & 0x10) != 0) || (p->pad_len != 0) != ((b[0] & 0x20) != 0))
		fail("rtp: fields differ from the header");
	for (size_t i = 0; i < p->cc; i++)
		if (p->csrc[i] != rd32(b + 12 + 4 * i))
			fail("rtp: csrc differs");

	/* views inside the input, in order, adding up to it */
	struct sb_slice pl = sb_slice_from((const char *)p->payload, p->payload_len);
	if (!p->payload)
		fail("rtp: no payload pointer");
	fuzz_check_in(in, pl);
	size_t off = SB_RTP_HDR_LEN + 4u * p->cc;
	if (p->has_ext) {
		if (!p->ext)
			fail("rtp: no extension pointer");
		fuzz_check_in(in, sb_slice_from((const char *)p->ext, p->ext_len));
		if (p->ext != b + off + 4 || p->ext_len % 4 ||
		    p->ext_len != 4u * (size_t)((b[off + 2] << 8) | b[off + 3]) ||
		    p->ext_profile != (uint16_t)((b[off] << 8) | b[off + 1]))
			fail("rtp: extension view");
		off += 4 + p->ext_len;
	} else if (p->ext || p->ext_len) {
		fail("rtp: extension without X");
	}
	if (p->payload != b + off)
		fail("rtp: payload does not follow the headers");
	if (off + p->payload_len + p->pad_len != in.l)
		fail("rtp: lengths do not add up to the datagram");
	if (p->pad_len && p->pad_len != b[in.l - 1])
		fail("rtp: padding length is not the last octet");
	return 0;
}

/* sb_rtp_build then sb_rtp_parse: the fixed header fields and the payload
 * come back; a packet without CSRC, extension or padding comes back byte
 * for byte. */
static void round_trip(const struct sb_rtp_pkt *p, struct sb_slice in)
{
	size_t cap = SB_RTP_HDR_LEN + p->payload_len, len = 0;
	uint8_t *out = malloc(cap);
	if (!out)
		abort();
	/* one byte short first: ENOSPC, and nothing written past cap - 1 */
	if (sb_rtp_build(out, cap - 1, &len, p) != ENOSPC)
		fail("rtp build: no ENOSPC one byte short");
	if (sb_rtp_build(out, cap, &len, p) != 0)
		fail("rtp build: failed");
	if (len != cap)
		fail("rtp build: length");
	const uint8_t *b = (const uint8_t *)in.p;
	if ((b[0] & 0x3F) == 0 && (len != in.l || memcmp(out, b, len) != 0))
		fail("rtp build: plain packet not rebuilt byte for byte");

	struct sb_rtp_pkt q;
	if (sb_rtp_parse(&q, out, len) != 0)
		fail("rtp build: output does not parse");
	if (q.marker != p->marker || q.pt != p->pt || q.seq != p->seq || q.ts != p->ts ||
	    q.ssrc != p->ssrc || q.cc != 0 || q.has_ext || q.pad_len != 0 ||
	    q.payload_len != p->payload_len || q.payload != out + SB_RTP_HDR_LEN ||
	    (p->payload_len && memcmp(q.payload, p->payload, p->payload_len) != 0))
		fail("rtp build: round trip differs");
	free(out);

	/* pt > 127 is refused */
	struct sb_rtp_pkt bad = *p;
	uint8_t tiny[SB_RTP_HDR_LEN];
	bad.pt = (uint8_t)(128 | p->pt);
	if (sb_rtp_build(tiny, sizeof tiny, &len, &bad) != EINVAL)
		fail("rtp build: pt > 127 accepted");
}

/* G.711: decoded samples re-encode to the same code (µ-law's -0 is +0). */
static void check_g711(unsigned pt, const uint8_t *code, const int16_t *pcm, size_t n)
{
	uint8_t again[SB_MEDIA_MAX_FRAME];

	if (sb_g711_encode(pt, pcm, again, n) != 0)
		fail("g711: encode refused pt 0/8");
	for (size_t i = 0; i < n; i++) {
		uint8_t want = pt == SB_RTP_PT_PCMU && code[i] == 0x7F ? 0xFF : code[i];
		if (again[i] != want)
			fail("g711: decode/encode round trip differs");
	}
}

/* One datagram into r, as the session's handle_rtp does. */
static void receive(struct rx *r, struct sb_slice in, bool new_source)
{
	struct sb_rtp_pkt p;
	int16_t pcm[SB_MEDIA_MAX_FRAME];

	if (parse_checked(&p, in) != 0)
		return;
	round_trip(&p, in);

	if (!r->have_src || p.ssrc != r->ssrc || new_source) {
		r->have_src = true;
		r->ssrc = p.ssrc;
		sb_rtp_source_init(&r->src, p.seq);
		r->dropped += sb_jitter_count(&r->jb);
		sb_jitter_reset(&r->jb);
		check_jitter(r);
	}

	if (p.pt == SB_RTP_PT_PCMU || p.pt == SB_RTP_PT_PCMA) {
		if (p.payload_len > SB_MEDIA_MAX_FRAME) {
			/* still decodable: check the first frame's worth */
			if (sb_g711_decode(p.pt, p.payload, pcm, SB_MEDIA_MAX_FRAME) != 0)
				fail("g711: decode refused pt 0/8");
			check_g711(p.pt, p.payload, pcm, SB_MEDIA_MAX_FRAME);
			return;
		}
		if (sb_g711_decode(p.pt, p.payload, pcm, p.payload_len) != 0)
			fail("g711: decode refused pt 0/8");
		check_g711(p.pt, p.payload, pcm, p.payload_len);
		if (p.payload_len == 0) {
			if (sb_jitter_put(&r->jb, p.seq, pcm, 0) != EINVAL)
				fail("jitter: an empty frame accepted");
			return;
		}
		sb_rtp_source_jitter(&r->src, r->tick * SB_MEDIA_FRAME, p.ts);
		jb_put(r, p.seq, pcm, p.payload_len);
	} else if (p.pt >= 96) {
		struct sb_dtmf_event ev;
		if (sb_dtmf_parse(&ev, p.payload, p.payload_len) != 0) {
			if (p.payload_len >= 4)
				fail("dtmf: 4 bytes refused");
			return;
		}
		if (p.payload_len < 4)
			fail("dtmf: short payload accepted");
		uint8_t w[4];
		struct sb_dtmf_event ev2;
		sb_dtmf_write(w, &ev);
		if (sb_dtmf_parse(&ev2, w, sizeof w) != 0 || ev2.event != ev.event ||
		    ev2.end != ev.end || ev2.volume != ev.volume || ev2.duration != ev.duration ||
		    w[0] != p.payload[0] || w[1] != (p.payload[1] & 0xBF) || w[2] != p.payload[2] ||
		    w[3] != p.payload[3])
			fail("dtmf: parse/write round trip differs");
		bool had = r->dtmf.have && r->dtmf.ssrc == p.ssrc;
		uint32_t last = r->dtmf.ts;
		char digit = sb_dtmf_rx_packet(&r->dtmf, p.ssrc, p.ts, &ev);
		bool fresh = !had || (int32_t)(p.ts - last) > 0;
		if (digit != (fresh ? sb_dtmf_digit(ev.event) : 0))
			fail("dtmf: digit reported wrongly");
		if (digit && sb_dtmf_code(digit) != ev.event)
			fail("dtmf: digit and code disagree");
		jb_put(r, p.seq, NULL, SB_MEDIA_FRAME);
	} else if (p.pt == SB_RTP_PT_CN) {
		jb_put(r, p.seq, NULL, SB_MEDIA_FRAME);
	} else {
		return;
	}
	(void)sb_rtp_source_update(&r->src, p.seq);
	(void)sb_rtp_source_ext_max(&r->src);
	(void)sb_rtp_source_lost(&r->src);
	if (sb_rtp_source_fraction(&r->src) && r->src.probation)
		fail("rtp source: a loss fraction on probation");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rx r;
	struct sb_slice in = fuzz_input(data, size);
	const uint8_t *b = (const uint8_t *)in.p;

	/* 1. the input as one datagram, into the default buffer */
	rx_init(&r, NULL);
	receive(&r, in, false);
	play(&r, SB_JB_DEFAULT_DELAY + 2);

	/* 2. the input as a stream of datagrams */
	if (size < 1)
		return 0;
	struct sb_jitter_cfg cfg = { 0 };
	cfg.delay_frames = 1 + (b[0] & 7);                                  /* 1..8 */
	cfg.max_frames = cfg.delay_frames + 1 + ((b[0] >> 3) & 7);          /* ..16 */
	cfg.conceal_silence = (b[0] & 0x40) != 0;
	rx_init(&r, &cfg);
	size_t off = 1;
	while (size - off >= 3) {
		uint8_t ctl = b[off];
		size_t len = ((size_t)b[off + 1] << 8) | b[off + 2];
		off += 3;
		if (len > size - off)
			len = size - off;
		/* an exact-size copy, so ASan sees a read past this datagram */
		uint8_t *dg = malloc(len ? len : 1);
		if (!dg)
			abort();
		if (len)
			memcpy(dg, b + off, len);
		receive(&r, sb_slice_from((const char *)dg, len), (ctl & 4) != 0);
		free(dg);
		off += len;
		play(&r, ctl & 3);
	}
	play(&r, cfg.max_frames + 1);
	return 0;
}
