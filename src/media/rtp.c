/* media/rtp: the RTP fixed header (RFC 3550 §5.1) read and written, and
 * the per-source receiver state of RFC 3550 Appendix A: sequence number
 * validation and extension (A.1), loss (A.3) and interarrival jitter
 * (A.8).  Parsing trusts nothing: every length is checked against the
 * datagram before it is used. */
#include <errno.h>
#include <string.h>

#include "switchboard/media.h"

#define RTP_SEQ_MOD (1u << 16)

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

int sb_rtp_parse(struct sb_rtp_pkt *p, const void *buf, size_t len)
{
	const uint8_t *b = buf;
	size_t off, end, i;

	memset(p, 0, sizeof *p);
	if (!b || len < SB_RTP_HDR_LEN)
		return EBADMSG;
	/* §5.1: V (2 bits) must be 2 */
	if ((b[0] >> 6) != SB_RTP_VERSION)
		return EPROTONOSUPPORT;
	p->cc = b[0] & 0x0F;
	p->marker = (b[1] & 0x80) != 0;
	p->pt = b[1] & 0x7F;
	p->seq = rd16(b + 2);
	p->ts = rd32(b + 4);
	p->ssrc = rd32(b + 8);

	/* §5.1 CC: 0 to 15 CSRC identifiers follow the fixed header */
	off = SB_RTP_HDR_LEN;
	if ((size_t)p->cc * 4 > len - off)
		return EBADMSG;
	for (i = 0; i < p->cc; i++)
		p->csrc[i] = rd32(b + off + 4 * i);
	off += (size_t)p->cc * 4;

	/* §5.3.1: 16 bits profile-defined, 16 bits length in 32-bit words
	 * (not counting this 4-byte header), then the extension */
	if (b[0] & 0x10) {
		size_t words;

		if (len - off < 4)
			return EBADMSG;
		p->has_ext = true;
		p->ext_profile = rd16(b + off);
		words = rd16(b + off + 2);
		off += 4;
		if (words * 4 > len - off)
			return EBADMSG;
		p->ext = b + off;
		p->ext_len = words * 4;
		off += words * 4;
	}

	/* §5.1 P: the last octet counts the padding octets, itself included */
	end = len;
	if (b[0] & 0x20) {
		uint8_t pad = b[len - 1];

		if (pad == 0 || pad > len - off)
			return EBADMSG;
		p->pad_len = pad;
		end -= pad;
	}
	p->payload = b + off;
	p->payload_len = end - off;
	return 0;
}

int sb_rtp_build(void *buf, size_t cap, size_t *len, const struct sb_rtp_pkt *p)
{
	uint8_t *b = buf;

	if (p->pt > 127 || (p->payload_len && !p->payload))
		return EINVAL;
	if (cap < SB_RTP_HDR_LEN || p->payload_len > cap - SB_RTP_HDR_LEN)
		return ENOSPC;
	b[0] = SB_RTP_VERSION << 6; /* P = X = 0, CC = 0 */
	b[1] = (uint8_t)((p->marker ? 0x80 : 0) | p->pt);
	wr16(b + 2, p->seq);
	wr32(b + 4, p->ts);
	wr32(b + 8, p->ssrc);
	if (p->payload_len)
		memcpy(b + SB_RTP_HDR_LEN, p->payload, p->payload_len);
	*len = SB_RTP_HDR_LEN + p->payload_len;
	return 0;
}

/* ------------------------------------------------- RFC 3550 Appendix A */

/* A.1 init_seq(): a fresh start at seq. */
static void init_seq(struct sb_rtp_source *s, uint16_t seq)
{
	s->base_seq = seq;
	s->max_seq = seq;
	s->bad_seq = RTP_SEQ_MOD + 1; /* so seq == bad_seq is false */
	s->cycles = 0;
	s->received = 0;
	s->received_prior = 0;
	s->expected_prior = 0;
}

void sb_rtp_source_init(struct sb_rtp_source *s, uint16_t seq)
{
	memset(s, 0, sizeof *s);
	/* A.1: "the source is not valid until MIN_SEQUENTIAL packets with
	 * sequential sequence numbers have been received" */
	init_seq(s, seq);
	s->max_seq = (uint16_t)(seq - 1);
	s->probation = SB_RTP_MIN_SEQUENTIAL;
}

bool sb_rtp_source_update(struct sb_rtp_source *s, uint16_t seq)
{
	uint16_t udelta = (uint16_t)(seq - s->max_seq);

	if (s->probation) {
		/* packets must be in sequence (modulo 2^16) */
		if (seq == (uint16_t)(s->max_seq + 1)) {
			s->probation--;
			s->max_seq = seq;
			if (s->probation == 0) {
				init_seq(s, seq);
				s->received++;
				return true;
			}
		} else {
			s->probation = SB_RTP_MIN_SEQUENTIAL - 1;
			s->max_seq = seq;
		}
		return false;
	} else if (udelta < SB_RTP_MAX_DROPOUT) {
		/* in order, with permissible gap */
		if (seq < s->max_seq)
			s->cycles += RTP_SEQ_MOD; /* wrapped */
		s->max_seq = seq;
	} else if (udelta <= RTP_SEQ_MOD - SB_RTP_MAX_MISORDER) {
		/* a very large jump: two sequential packets mean the source
		 * restarted (A.1), one alone is ignored */
		if (seq == s->bad_seq) {
			init_seq(s, seq);
		} else {
			s->bad_seq = (seq + 1) & (RTP_SEQ_MOD - 1);
			return false;
		}
	}
	/* else a duplicate or reordered packet: counted */
	s->received++;
	return true;
}

void sb_rtp_source_jitter(struct sb_rtp_source *s, uint32_t arrival, uint32_t ts)
{
	uint32_t transit = arrival - ts;
	int32_t d;

	if (!s->have_transit) {
		s->transit = transit;
		s->have_transit = true;
		return;
	}
	/* A.8: J += (|D| - J) / 16, kept scaled by 16 in integers */
	d = (int32_t)(transit - s->transit);
	s->transit = transit;
	if (d < 0)
		d = d == INT32_MIN ? INT32_MAX : -d;
	s->jitter += (uint32_t)d - ((s->jitter + 8) >> 4);
}

uint32_t sb_rtp_source_ext_max(const struct sb_rtp_source *s)
{
	return s->cycles + s->max_seq;
}

static uint32_t expected(const struct sb_rtp_source *s)
{
	return sb_rtp_source_ext_max(s) - s->base_seq + 1;
}

int64_t sb_rtp_source_lost(const struct sb_rtp_source *s)
{
	if (s->probation && s->received == 0)
		return 0;
	return (int64_t)expected(s) - (int64_t)s->received;
}

uint8_t sb_rtp_source_fraction(struct sb_rtp_source *s)
{
	uint32_t exp = expected(s);
	uint32_t exp_int = exp - s->expected_prior;
	uint32_t rec_int = s->received - s->received_prior;
	int64_t lost_int = (int64_t)exp_int - (int64_t)rec_int;

	s->expected_prior = exp;
	s->received_prior = s->received;
	/* A.3: fraction = lost_interval << 8 / expected_interval */
	if (s->probation || exp_int == 0 || lost_int <= 0)
		return 0;
	if (lost_int >= exp_int)
		return 255; /* 256/256 does not fit: everything lost */
	return (uint8_t)(((uint64_t)lost_int << 8) / exp_int);
}
