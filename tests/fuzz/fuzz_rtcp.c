/* libFuzzer target for RTCP (RFC 3550 §6): the compound-packet parser and
 * the report builder.  Every input is used twice:
 *   1. as a received datagram: sb_rtcp_parse is compared with a walk of the
 *      compound written here from RFC 3550 §6.4 and A.2 (version 2, the
 *      first packet SR or RR without padding, only the last one padded,
 *      each length within the rest and the lengths adding up to the
 *      datagram, SR/RR long enough for their report blocks, BYE for its
 *      SSRCs, at most SB_RTCP_MAX_PARTS packets): the same verdict, and on
 *      success the same counts, SR SSRC and NTP middle bits, BYE SSRC;
 *   2. as the fields of a report (struct sb_rtcp_report, a CNAME and a
 *      buffer size): sb_rtcp_build into an exact-size buffer must refuse
 *      what the header says it refuses, write exactly the packet
 *      RFC 3550 describes, and that packet must parse back to the fields.
 * Aborts on any difference. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "switchboard/media.h"

#include "fuzzutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_rtcp: %s\n", what);
	abort();
}

static uint32_t rd32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* ------------------------------------------------------- 1. the parser */

/* RFC 3550 A.2 and §6.4, §6.6 minimum lengths.  0 or -1. */
static int reference_walk(struct sb_rtcp_info *ri, const uint8_t *b, size_t len)
{
	size_t off = 0;
	unsigned parts = 0;

	memset(ri, 0, sizeof *ri);
	if (len < 8 || len % 4 != 0)
		return -1;
	if ((b[0] & 0x20) || (b[1] != 200 && b[1] != 201))
		return -1;
	while (off < len) {
		const uint8_t *p = b + off;
		size_t rest = len - off;

		if (rest < 4 || ++parts > SB_RTCP_MAX_PARTS || (p[0] >> 6) != 2)
			return -1;
		unsigned count = p[0] & 0x1F;
		size_t plen = 4 * ((size_t)((p[2] << 8) | p[3]) + 1);
		if (plen > rest || ((p[0] & 0x20) && plen != rest))
			return -1;
		switch (p[1]) {
		case 200: /* SR: header, SSRC, 20 octets sender info, blocks */
			if (plen < 28 + 24 * (size_t)count)
				return -1;
			ri->sr++;
			ri->sr_ssrc = rd32(p + 4);
			ri->sr_ntp_mid = (uint32_t)((((uint64_t)rd32(p + 8) << 32) | rd32(p + 12)) >> 16);
			break;
		case 201: /* RR: header, SSRC, blocks */
			if (plen < 8 + 24 * (size_t)count)
				return -1;
			ri->rr++;
			break;
		case 202:
			ri->sdes++;
			break;
		case 203: /* BYE: header, count SSRC/CSRCs */
			if (plen < 4 + 4 * (size_t)count)
				return -1;
			ri->bye++;
			if (count)
				ri->bye_ssrc = rd32(p + 4);
			break;
		case 204:
			ri->app++;
			break;
		default:
			ri->other++;
			break;
		}
		off += plen;
	}
	return 0;
}

static void check_parse(const uint8_t *b, size_t len)
{
	struct sb_rtcp_info info, ref;
	int err = sb_rtcp_parse(&info, b, len);
	int rerr = reference_walk(&ref, b, len);

	if (err != 0 && err != EBADMSG)
		fail("parse: unexpected error");
	if ((err == 0) != (rerr == 0)) {
		fprintf(stderr, "fuzz_rtcp: parse says %d, RFC 3550 walk says %s (len %zu)\n", err,
			rerr ? "invalid" : "valid", len);
		abort();
	}
	if (err)
		return;
	if (info.sr != ref.sr || info.rr != ref.rr || info.sdes != ref.sdes ||
	    info.bye != ref.bye || info.app != ref.app || info.other != ref.other)
		fail("parse: packet counts differ");
	if (info.sr + info.rr == 0 ||
	    info.sr + info.rr + info.sdes + info.bye + info.app + info.other > SB_RTCP_MAX_PARTS)
		fail("parse: impossible counts");
	if (ref.sr && (info.sr_ssrc != ref.sr_ssrc || info.sr_ntp_mid != ref.sr_ntp_mid))
		fail("parse: SR SSRC or NTP differ");
	if (ref.bye && info.bye_ssrc != ref.bye_ssrc)
		fail("parse: BYE SSRC differs");
}

/* ------------------------------------------------------ 2. the builder */

/* The input's bytes as fields; zeros once they run out. */
struct cursor {
	const uint8_t *p;
	size_t n;
};

static uint8_t u8(struct cursor *c)
{
	if (!c->n)
		return 0;
	c->n--;
	return *c->p++;
}

static uint32_t u32(struct cursor *c)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++)
		v = (v << 8) | u8(c);
	return v;
}

static int32_t clamp24(int32_t v)
{
	return v > 0x7FFFFF ? 0x7FFFFF : v < -0x800000 ? -0x800000 : v;
}

static void check_build(const uint8_t *data, size_t size)
{
	struct cursor c = { data, size };
	struct sb_rtcp_report r;
	char cname[256];

	memset(&r, 0, sizeof r);
	uint8_t flags = u8(&c);
	r.sender = flags & 1;
	r.has_block = flags & 2;
	r.bye = flags & 4;
	r.ssrc = u32(&c);
	r.ntp = (uint64_t)u32(&c) << 32;
	r.ntp |= u32(&c);
	r.rtp_ts = u32(&c);
	r.packets = u32(&c);
	r.octets = u32(&c);
	r.block.ssrc = u32(&c);
	r.block.fraction = u8(&c);
	r.block.lost = (int32_t)u32(&c);
	r.block.ext_max = u32(&c);
	r.block.jitter = u32(&c);
	r.block.lsr = u32(&c);
	r.block.dlsr = u32(&c);
	uint8_t capsel = u8(&c);
	size_t cl = u8(&c) % (SB_RTCP_MAX_CNAME + 8);
	for (size_t i = 0; i < cl; i++)
		cname[i] = (char)u8(&c);
	cname[cl] = 0;
	cl = strlen(cname); /* an embedded NUL ends it */
	r.cname = (flags & 8) ? NULL : cname;

	size_t rc = r.has_block ? 1 : 0;
	size_t first = (r.sender ? 28 : 8) + 24 * rc;
	size_t sdes = 8 + ((2 + cl + 1 + 3) & ~(size_t)3);
	size_t n = first + sdes + (r.bye ? 8 : 0);
	/* the exact size, a little less, or a little more */
	size_t cap = (capsel & 0x80) ? n + (capsel & 7) : n - (capsel & 0x7F) % 9;
	uint8_t *buf = malloc(cap ? cap : 1);
	if (!buf)
		abort();
	size_t len = 0;
	int err = sb_rtcp_build(buf, cap, &len, &r);

	if (!r.cname || cl == 0 || cl > SB_RTCP_MAX_CNAME) {
		if (err != EINVAL)
			fail("build: bad CNAME not refused with EINVAL");
		free(buf);
		return;
	}
	if (n > cap) {
		if (err != ENOSPC)
			fail("build: short buffer not refused with ENOSPC");
		free(buf);
		return;
	}
	if (err != 0)
		fail("build: valid report refused");
	if (len != n || len % 4 != 0)
		fail("build: length");

	/* the bytes, as RFC 3550 §6.4-6.6 lays them out */
	const uint8_t *p = buf;
	if (p[0] != (0x80 | rc) || p[1] != (r.sender ? 200 : 201) ||
	    (size_t)((p[2] << 8) | p[3]) != first / 4 - 1 || rd32(p + 4) != r.ssrc)
		fail("build: SR/RR header");
	const uint8_t *blk = p + 8;
	if (r.sender) {
		if (rd32(p + 8) != (uint32_t)(r.ntp >> 32) || rd32(p + 12) != (uint32_t)r.ntp ||
		    rd32(p + 16) != r.rtp_ts || rd32(p + 20) != r.packets || rd32(p + 24) != r.octets)
			fail("build: sender info");
		blk = p + 28;
	}
	if (rc) {
		uint32_t w = rd32(blk + 4);
		int32_t lost = (int32_t)(w & 0xFFFFFF);
		if (lost & 0x800000)
			lost -= 0x1000000;
		if (rd32(blk) != r.block.ssrc || (w >> 24) != r.block.fraction ||
		    lost != clamp24(r.block.lost) || rd32(blk + 8) != r.block.ext_max ||
		    rd32(blk + 12) != r.block.jitter || rd32(blk + 16) != r.block.lsr ||
		    rd32(blk + 20) != r.block.dlsr)
			fail("build: report block");
	}
	const uint8_t *sd = p + first;
	if (sd[0] != 0x81 || sd[1] != 202 || (size_t)((sd[2] << 8) | sd[3]) != sdes / 4 - 1 ||
	    rd32(sd + 4) != r.ssrc || sd[8] != 1 || sd[9] != cl || memcmp(sd + 10, cname, cl) != 0)
		fail("build: SDES CNAME");
	for (size_t i = 10 + cl; i < sdes; i++)
		if (sd[i] != 0)
			fail("build: SDES not ended by null octets");
	if (r.bye) {
		const uint8_t *by = sd + sdes;
		if (by[0] != 0x81 || by[1] != 203 || by[2] != 0 || by[3] != 1 || rd32(by + 4) != r.ssrc)
			fail("build: BYE");
	}

	/* and it parses back */
	struct sb_rtcp_info info;
	if (sb_rtcp_parse(&info, buf, len) != 0)
		fail("build: output does not parse");
	if (info.sr != (r.sender ? 1u : 0u) || info.rr != (r.sender ? 0u : 1u) || info.sdes != 1 ||
	    info.bye != (r.bye ? 1u : 0u) || info.app || info.other)
		fail("build: parsed counts differ");
	if (r.sender && (info.sr_ssrc != r.ssrc || info.sr_ntp_mid != (uint32_t)(r.ntp >> 16)))
		fail("build: parsed SR differs");
	if (r.bye && info.bye_ssrc != r.ssrc)
		fail("build: parsed BYE differs");
	check_parse(buf, len);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sb_slice in = fuzz_input(data, size);

	check_parse((const uint8_t *)in.p, in.l);
	check_build((const uint8_t *)in.p, in.l);
	return 0;
}
