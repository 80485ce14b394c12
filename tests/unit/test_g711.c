/* Unit tests for media/g711: the µ-law and A-law code points against the
 * decoder output values of ITU-T G.711 Tables 1 and 2 (written here from
 * the standard's segment start values and step sizes, independently of
 * the implementation's arithmetic), silence, the extremes, every code
 * byte's round trip, and the quantisation error and monotonicity of the
 * encoder over the whole 16-bit range. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "switchboard/media.h"

/* G.711 Table 2 (µ-law), decoder output magnitudes in 14-bit units: the
 * first value of each segment and the step within it. */
static const int ulaw_start[8] = { 0, 33, 99, 231, 495, 1023, 2079, 4191 };
static const int ulaw_step[8] = { 2, 4, 8, 16, 32, 64, 128, 256 };
/* G.711 Table 1 (A-law), decoder output magnitudes in 13-bit units. */
static const int alaw_start[8] = { 1, 33, 66, 132, 264, 528, 1056, 2112 };
static const int alaw_step[8] = { 2, 2, 4, 8, 16, 32, 64, 128 };

static void test_silence_and_extremes(void **state)
{
	(void)state;
	/* silence: µ-law 0 -> 0xFF, A-law 0 -> 0xD5 */
	assert_int_equal(sb_g711_ulaw_encode(0), 0xFF);
	assert_int_equal(sb_g711_alaw_encode(0), 0xD5);
	assert_int_equal(sb_g711_silence(SB_RTP_PT_PCMU), 0xFF);
	assert_int_equal(sb_g711_silence(SB_RTP_PT_PCMA), 0xD5);
	/* µ-law has two zeros: 0xFF (+0) and 0x7F (-0) */
	assert_int_equal(sb_g711_ulaw_decode(0xFF), 0);
	assert_int_equal(sb_g711_ulaw_decode(0x7F), 0);
	/* A-law has no zero: the smallest steps are +-1 (13-bit) = +-8 */
	assert_int_equal(sb_g711_alaw_decode(0xD5), 8);
	assert_int_equal(sb_g711_alaw_decode(0x55), -8);
	assert_int_equal(sb_g711_alaw_encode(-1), 0x55);
	/* extremes: µ-law +-8031 (x4), A-law +-4032 (x8) */
	assert_int_equal(sb_g711_ulaw_decode(0x80), 32124);
	assert_int_equal(sb_g711_ulaw_decode(0x00), -32124);
	assert_int_equal(sb_g711_alaw_decode(0xAA), 32256);
	assert_int_equal(sb_g711_alaw_decode(0x2A), -32256);
	assert_int_equal(sb_g711_ulaw_encode(32767), 0x80);
	assert_int_equal(sb_g711_ulaw_encode(-32768), 0x00);
	assert_int_equal(sb_g711_alaw_encode(32767), 0xAA);
	assert_int_equal(sb_g711_alaw_encode(-32768), 0x2A);
	/* a few inner points: µ-law 0xFE = +2 (14-bit), 0xEF = +33 */
	assert_int_equal(sb_g711_ulaw_decode(0xFE), 8);
	assert_int_equal(sb_g711_ulaw_decode(0xEF), 132);
	assert_int_equal(sb_g711_alaw_decode(0xD4), 24);
}

static void test_ulaw_table(void **state)
{
	int s, q;

	(void)state;
	for (s = 0; s < 8; s++) {
		for (q = 0; q < 16; q++) {
			int v = 4 * (ulaw_start[s] + ulaw_step[s] * q);
			/* positive: sign bit 1; every bit inverted on the wire */
			uint8_t pos = (uint8_t)(0xFF ^ ((s << 4) | q));
			uint8_t neg = (uint8_t)(0x7F ^ ((s << 4) | q));

			assert_int_equal(sb_g711_ulaw_decode(pos), v);
			assert_int_equal(sb_g711_ulaw_decode(neg), -v);
		}
	}
}

static void test_alaw_table(void **state)
{
	int s, q;

	(void)state;
	for (s = 0; s < 8; s++) {
		for (q = 0; q < 16; q++) {
			int v = 8 * (alaw_start[s] + alaw_step[s] * q);
			/* sign bit 1 for positive; even bits inverted (0x55) */
			uint8_t pos = (uint8_t)((0x80 | (s << 4) | q) ^ 0x55);
			uint8_t neg = (uint8_t)(((s << 4) | q) ^ 0x55);

			assert_int_equal(sb_g711_alaw_decode(pos), v);
			assert_int_equal(sb_g711_alaw_decode(neg), -v);
		}
	}
}

/* Every code decodes to a value that encodes back to it (µ-law -0 comes
 * back as +0). */
static void test_round_trip_codes(void **state)
{
	unsigned c;

	(void)state;
	for (c = 0; c < 256; c++) {
		uint8_t u = sb_g711_ulaw_encode(sb_g711_ulaw_decode((uint8_t)c));

		assert_int_equal(u, c == 0x7F ? 0xFF : c);
		assert_int_equal(sb_g711_alaw_encode(sb_g711_alaw_decode((uint8_t)c)), c);
	}
}

/* Over every 16-bit input: the error is within one step of its segment
 * (half a step and the segment edges, rounded up), and decode(encode(x))
 * never decreases as x grows. */
static void test_error_and_monotonic(void **state)
{
	int x, prev_u = -40000, prev_a = -40000;

	(void)state;
	for (x = -32768; x <= 32767; x++) {
		int du = sb_g711_ulaw_decode(sb_g711_ulaw_encode((int16_t)x));
		int da = sb_g711_alaw_decode(sb_g711_alaw_encode((int16_t)x));
		int mag = x < 0 ? -x : x;
		/* largest step: 256 (14-bit) = 1024, 128 (13-bit) = 1024;
		 * tighter for small inputs (µ-law's first segment: half of
		 * the next segment's step at the edge, and the 2 bits below
		 * the 14 it keeps) */
		int tol_u = mag < 124 ? 12 : mag < 1000 ? 64 : 1024;
		int tol_a = mag < 512 ? 16 : mag < 4096 ? 128 : 1024;

		if (mag > 32124) /* beyond µ-law's largest output: clipped */
			tol_u = mag - 32124 + 1024;
		if (mag > 32256)
			tol_a = mag - 32256 + 1024;
		assert_true(abs(du - x) <= tol_u);
		assert_true(abs(da - x) <= tol_a);
		assert_true(du >= prev_u);
		assert_true(da >= prev_a);
		prev_u = du;
		prev_a = da;
	}
}

static void test_buffers(void **state)
{
	int16_t pcm[4] = { 0, 1000, -1000, 32767 }, back[4];
	uint8_t enc[4];

	(void)state;
	assert_int_equal(sb_g711_encode(SB_RTP_PT_PCMU, pcm, enc, 4), 0);
	assert_int_equal(enc[0], 0xFF);
	assert_int_equal(enc[3], 0x80);
	assert_int_equal(sb_g711_decode(SB_RTP_PT_PCMU, enc, back, 4), 0);
	assert_int_equal(back[0], 0);
	assert_true(abs(back[1] - 1000) < 40 && abs(back[2] + 1000) < 40);
	assert_int_equal(sb_g711_encode(SB_RTP_PT_PCMA, pcm, enc, 4), 0);
	assert_int_equal(enc[0], 0xD5);
	assert_int_equal(enc[3], 0xAA);
	assert_int_equal(sb_g711_encode(9, pcm, enc, 4), EINVAL);
	assert_int_equal(sb_g711_decode(18, enc, back, 4), EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_silence_and_extremes),
		cmocka_unit_test(test_ulaw_table),
		cmocka_unit_test(test_alaw_table),
		cmocka_unit_test(test_round_trip_codes),
		cmocka_unit_test(test_error_and_monotonic),
		cmocka_unit_test(test_buffers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
