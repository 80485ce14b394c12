/* media/g711: ITU-T G.711 µ-law and A-law companding by bit arithmetic.
 *
 * A companded byte is a sign, a 3-bit segment (chord) and a 4-bit step.
 * Encoding finds the segment of the magnitude and keeps its top four bits
 * below the segment's leading one; decoding returns the middle of the step
 * (G.711 Tables 1a/2a "decoder output").  The wire form inverts every bit
 * of µ-law and the even bits of A-law (G.711 §3.2 / §4.2, "character
 * signals"), which is why silence is 0xFF and 0xD5.  The arithmetic is the
 * classic one from the Sun reference implementation (public domain); the
 * unit tests check it against the standard's end points for every code. */
#include <errno.h>

#include "switchboard/media.h"

#define G711_SIGN  0x80
#define G711_QUANT 0x0F
#define G711_SEG_SHIFT 4
#define G711_SEG_MASK  0x70

/* µ-law works on 14-bit magnitudes with a bias of 33 (0x84 in 16-bit
 * units) so that every segment starts at a power of two. */
#define ULAW_BIAS 0x84
#define ULAW_CLIP 8159

/* Top of each segment: A-law on 13-bit (sign + 12), µ-law on biased 14. */
static const int16_t seg_aend[8] = { 0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF };
static const int16_t seg_uend[8] = { 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF };

static int seg_of(int v, const int16_t *end)
{
	int i;

	for (i = 0; i < 8; i++)
		if (v <= end[i])
			return i;
	return 8;
}

uint8_t sb_g711_alaw_encode(int16_t pcm)
{
	int v = pcm >> 3; /* 13 bits; arithmetic shift (floor) for negatives */
	int mask, seg, aval;

	if (v >= 0) {
		mask = 0xD5; /* sign bit set (positive), even bits inverted */
	} else {
		mask = 0x55;
		v = -v - 1;  /* one's complement magnitude, as G.711 Table 1 */
	}
	seg = seg_of(v, seg_aend);
	if (seg >= 8)
		return (uint8_t)(0x7F ^ mask);
	aval = seg << G711_SEG_SHIFT;
	/* segments 0 and 1 share the step size of 2 (13-bit units) */
	if (seg < 2)
		aval |= (v >> 1) & G711_QUANT;
	else
		aval |= (v >> seg) & G711_QUANT;
	return (uint8_t)(aval ^ mask);
}

int16_t sb_g711_alaw_decode(uint8_t code)
{
	int a = code ^ 0x55;
	int t = (a & G711_QUANT) << 4;
	int seg = (a & G711_SEG_MASK) >> G711_SEG_SHIFT;

	switch (seg) {
	case 0:
		t += 8;       /* middle of the step */
		break;
	case 1:
		t += 0x108;   /* 0x100: the segment's leading one */
		break;
	default:
		t += 0x108;
		t <<= seg - 1;
		break;
	}
	return (int16_t)((a & G711_SIGN) ? t : -t);
}

uint8_t sb_g711_ulaw_encode(int16_t pcm)
{
	int v = pcm >> 2; /* 14 bits */
	int mask, seg, uval;

	if (v < 0) {
		v = -v;
		mask = 0x7F;
	} else {
		mask = 0xFF;
	}
	if (v > ULAW_CLIP)
		v = ULAW_CLIP;
	v += ULAW_BIAS >> 2;
	seg = seg_of(v, seg_uend);
	if (seg >= 8)
		return (uint8_t)(0x7F ^ mask);
	uval = (seg << G711_SEG_SHIFT) | ((v >> (seg + 1)) & G711_QUANT);
	return (uint8_t)(uval ^ mask);
}

int16_t sb_g711_ulaw_decode(uint8_t code)
{
	int u = (uint8_t)~code;
	int t = ((u & G711_QUANT) << 3) + ULAW_BIAS;

	t <<= (u & G711_SEG_MASK) >> G711_SEG_SHIFT;
	return (int16_t)((u & G711_SIGN) ? (ULAW_BIAS - t) : (t - ULAW_BIAS));
}

int sb_g711_encode(unsigned pt, const int16_t *pcm, uint8_t *out, size_t n)
{
	size_t i;

	if (pt == SB_RTP_PT_PCMU) {
		for (i = 0; i < n; i++)
			out[i] = sb_g711_ulaw_encode(pcm[i]);
	} else if (pt == SB_RTP_PT_PCMA) {
		for (i = 0; i < n; i++)
			out[i] = sb_g711_alaw_encode(pcm[i]);
	} else {
		return EINVAL;
	}
	return 0;
}

int sb_g711_decode(unsigned pt, const uint8_t *in, int16_t *pcm, size_t n)
{
	size_t i;

	if (pt == SB_RTP_PT_PCMU) {
		for (i = 0; i < n; i++)
			pcm[i] = sb_g711_ulaw_decode(in[i]);
	} else if (pt == SB_RTP_PT_PCMA) {
		for (i = 0; i < n; i++)
			pcm[i] = sb_g711_alaw_decode(in[i]);
	} else {
		return EINVAL;
	}
	return 0;
}

uint8_t sb_g711_silence(unsigned pt)
{
	return pt == SB_RTP_PT_PCMA ? 0xD5 : 0xFF;
}
