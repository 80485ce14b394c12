/* media/rtcp: the RTCP compound packets a phone sends (RFC 3550 §6): a
 * Sender Report when we sent RTP since the last report, else a Receiver
 * Report, each with at most one report block (we play one source), then
 * SDES with our CNAME, then BYE when leaving.  §6.1: every compound packet
 * starts with SR or RR and carries a CNAME; we never pad.
 *
 * Received compounds are validated as in Appendix A.2 and their parts
 * counted; an SR's NTP time is kept for the LSR/DLSR of our next report
 * (§6.4.1). */
#include <errno.h>
#include <string.h>

#include "switchboard/media.h"

#define RTCP_HDR 4u
#define RTCP_BLOCK 24u
#define RTCP_SENDER_INFO 20u

static uint32_t rd32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* §6.4.1 common header: V=2, P=0, count, PT, length in 32-bit words
 * minus one. */
static void wr_hdr(uint8_t *p, unsigned count, unsigned pt, size_t bytes)
{
	p[0] = (uint8_t)((SB_RTP_VERSION << 6) | (count & 0x1F));
	p[1] = (uint8_t)pt;
	p[2] = (uint8_t)(((bytes / 4) - 1) >> 8);
	p[3] = (uint8_t)((bytes / 4) - 1);
}

static void wr_block(uint8_t *p, const struct sb_rtcp_block *b)
{
	int32_t lost = b->lost;

	/* §6.4.1: cumulative number of packets lost, 24-bit signed; clamp
	 * rather than wrap */
	if (lost > 0x7FFFFF)
		lost = 0x7FFFFF;
	if (lost < -0x800000)
		lost = -0x800000;
	wr32(p, b->ssrc);
	wr32(p + 4, ((uint32_t)b->fraction << 24) | ((uint32_t)lost & 0xFFFFFF));
	wr32(p + 8, b->ext_max);
	wr32(p + 12, b->jitter);
	wr32(p + 16, b->lsr);
	wr32(p + 20, b->dlsr);
}

int sb_rtcp_build(void *buf, size_t cap, size_t *len, const struct sb_rtcp_report *r)
{
	uint8_t *b = buf;
	size_t cname_len, off = 0, n, sdes;
	unsigned rc = r->has_block ? 1 : 0;

	if (!r->cname)
		return EINVAL;
	cname_len = strlen(r->cname);
	if (cname_len == 0 || cname_len > SB_RTCP_MAX_CNAME)
		return EINVAL;
	/* SDES chunk: SSRC, CNAME item (type, length, text), then at least
	 * one null octet ending the item list, padded to 32 bits (§6.5) */
	sdes = RTCP_HDR + 4 + ((2 + cname_len + 1 + 3) & ~(size_t)3);
	n = (r->sender ? RTCP_HDR + 4 + RTCP_SENDER_INFO : RTCP_HDR + 4) + rc * RTCP_BLOCK +
	    sdes + (r->bye ? RTCP_HDR + 4 : 0);
	if (n > cap)
		return ENOSPC;
	memset(b, 0, n);

	if (r->sender) {
		/* §6.4.1 SR */
		size_t l = RTCP_HDR + 4 + RTCP_SENDER_INFO + rc * RTCP_BLOCK;

		wr_hdr(b, rc, SB_RTCP_SR, l);
		wr32(b + 4, r->ssrc);
		wr32(b + 8, (uint32_t)(r->ntp >> 32));
		wr32(b + 12, (uint32_t)r->ntp);
		wr32(b + 16, r->rtp_ts);
		wr32(b + 20, r->packets);
		wr32(b + 24, r->octets);
		if (rc)
			wr_block(b + 28, &r->block);
		off = l;
	} else {
		/* §6.4.2 RR */
		size_t l = RTCP_HDR + 4 + rc * RTCP_BLOCK;

		wr_hdr(b, rc, SB_RTCP_RR, l);
		wr32(b + 4, r->ssrc);
		if (rc)
			wr_block(b + 8, &r->block);
		off = l;
	}

	/* §6.5 SDES with one chunk, §6.5.1 CNAME (item type 1) */
	wr_hdr(b + off, 1, SB_RTCP_SDES, sdes);
	wr32(b + off + 4, r->ssrc);
	b[off + 8] = 1;
	b[off + 9] = (uint8_t)cname_len;
	memcpy(b + off + 10, r->cname, cname_len);
	off += sdes; /* the null octets are already zero */

	if (r->bye) {
		/* §6.6 BYE, one SSRC, no reason */
		wr_hdr(b + off, 1, SB_RTCP_BYE, RTCP_HDR + 4);
		wr32(b + off + 4, r->ssrc);
		off += RTCP_HDR + 4;
	}
	*len = off;
	return 0;
}

int sb_rtcp_parse(struct sb_rtcp_info *info, const void *buf, size_t len)
{
	const uint8_t *b = buf;
	size_t off = 0;
	unsigned parts = 0;

	memset(info, 0, sizeof *info);
	if (!b || len < RTCP_HDR + 4 || len % 4)
		return EBADMSG;
	/* A.2: the first packet is SR or RR, with no padding */
	if ((b[0] & 0x20) || (b[1] != SB_RTCP_SR && b[1] != SB_RTCP_RR))
		return EBADMSG;
	while (off < len) {
		const uint8_t *p = b + off;
		size_t plen, rest = len - off;
		unsigned count, pt;

		if (++parts > SB_RTCP_MAX_PARTS || rest < RTCP_HDR)
			return EBADMSG;
		if ((p[0] >> 6) != SB_RTP_VERSION)
			return EBADMSG;
		count = p[0] & 0x1F;
		pt = p[1];
		plen = ((size_t)((p[2] << 8) | p[3]) + 1) * 4;
		if (plen > rest)
			return EBADMSG;
		/* A.2: only the last packet of a compound may be padded */
		if ((p[0] & 0x20) && plen != rest)
			return EBADMSG;
		switch (pt) {
		case SB_RTCP_SR:
			if (plen < RTCP_HDR + 4 + RTCP_SENDER_INFO + count * RTCP_BLOCK)
				return EBADMSG;
			info->sr++;
			info->sr_ssrc = rd32(p + 4);
			/* §6.4.1 LSR: the middle 32 bits of the NTP timestamp */
			info->sr_ntp_mid = (rd32(p + 8) << 16) | (rd32(p + 12) >> 16);
			break;
		case SB_RTCP_RR:
			if (plen < RTCP_HDR + 4 + count * RTCP_BLOCK)
				return EBADMSG;
			info->rr++;
			break;
		case SB_RTCP_SDES:
			info->sdes++;
			break;
		case SB_RTCP_BYE:
			if (plen < RTCP_HDR + (size_t)count * 4)
				return EBADMSG;
			info->bye++;
			if (count)
				info->bye_ssrc = rd32(p + 4);
			break;
		case SB_RTCP_APP:
			info->app++;
			break;
		default:
			info->other++;
			break;
		}
		off += plen;
	}
	return 0;
}
