/* Unit tests for media/jitter: the fixed delay, order restored from
 * reordering, loss concealed (repeat, then silence), duplicates and late
 * frames dropped and counted, the sequence wrap at 65535, overflow past
 * the window, a pause (underrun) that re-buffers instead of counting
 * losses, a confirmed sequence jump, and frames that are not 20 ms.
 *
 * Frames are tagged: every sample of frame seq holds tag(seq), so what
 * comes out names the frame it came from. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "switchboard/media.h"

static int16_t tag(uint16_t seq)
{
	return (int16_t)(1 + seq % 30000);
}

static int put(struct sb_jitter *jb, uint16_t seq)
{
	int16_t pcm[SB_MEDIA_FRAME];

	for (size_t i = 0; i < SB_MEDIA_FRAME; i++)
		pcm[i] = tag(seq);
	return sb_jitter_put(jb, seq, pcm, SB_MEDIA_FRAME);
}

/* One tick; returns the tag of the frame played (0: silence), checking
 * the frame is uniform. */
static int16_t get(struct sb_jitter *jb, bool *audio)
{
	int16_t out[SB_MEDIA_FRAME];
	bool a = sb_jitter_get(jb, out);

	for (size_t i = 1; i < SB_MEDIA_FRAME; i++)
		assert_int_equal(out[i], out[0]);
	if (audio)
		*audio = a;
	return out[0];
}

static void init(struct sb_jitter *jb, unsigned delay, unsigned max, bool silence)
{
	struct sb_jitter_cfg cfg = { .delay_frames = delay, .max_frames = max,
				     .conceal_silence = silence };

	assert_int_equal(sb_jitter_init(jb, &cfg), 0);
}

static void test_cfg(void **state)
{
	static struct sb_jitter jb;
	struct sb_jitter_cfg cfg = { .delay_frames = 10, .max_frames = 10 };

	(void)state;
	assert_int_equal(sb_jitter_init(&jb, NULL), 0);
	assert_int_equal(jb.delay, SB_JB_DEFAULT_DELAY);
	assert_int_equal(jb.max, SB_JB_DEFAULT_MAX);
	assert_int_equal(sb_jitter_init(&jb, &cfg), EINVAL);
	cfg.max_frames = SB_JB_MAX_FRAMES + 1;
	assert_int_equal(sb_jitter_init(&jb, &cfg), EINVAL);
	assert_int_equal(sb_jitter_put(&jb, 1, NULL, 0), EINVAL);
	assert_int_equal(sb_jitter_put(&jb, 1, NULL, SB_MEDIA_MAX_FRAME + 1), EINVAL);
}

static void test_delay_and_order(void **state)
{
	static struct sb_jitter jb;
	bool audio;

	(void)state;
	init(&jb, 3, 10, false);
	/* nothing yet: silence, not audio */
	assert_int_equal(get(&jb, &audio), 0);
	assert_false(audio);
	assert_int_equal(put(&jb, 100), 0);
	assert_int_equal(get(&jb, &audio), 0);
	assert_false(audio);
	assert_int_equal(put(&jb, 101), 0);
	assert_int_equal(get(&jb, NULL), 0);
	/* the third frame: 60 ms held, playout starts */
	assert_int_equal(put(&jb, 102), 0);
	assert_int_equal(sb_jitter_count(&jb), 3);
	assert_int_equal(get(&jb, &audio), tag(100));
	assert_true(audio);
	assert_int_equal(put(&jb, 103), 0);
	assert_int_equal(get(&jb, NULL), tag(101));
	assert_int_equal(get(&jb, NULL), tag(102));
	assert_int_equal(get(&jb, NULL), tag(103));
	assert_int_equal(jb.st.played, 4);
	assert_int_equal(jb.st.lost, 0);
}

static void test_reorder(void **state)
{
	static struct sb_jitter jb;
	static const uint16_t in[] = { 11, 10, 13, 12, 15, 14, 16, 18, 17 };
	uint16_t want = 10;

	(void)state;
	init(&jb, 3, 10, false);
	/* reordered before playout, even the first frame */
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(put(&jb, in[i]), 0);
	assert_int_equal(get(&jb, NULL), tag(want++));
	for (size_t i = 3; i < SB_ARRAY_LEN(in); i++) {
		assert_int_equal(put(&jb, in[i]), 0);
		assert_int_equal(get(&jb, NULL), tag(want++));
	}
	assert_int_equal(jb.st.lost, 0);
	assert_int_equal(jb.st.late, 0);
	assert_int_equal(jb.st.received, SB_ARRAY_LEN(in));
}

static void test_loss_concealment(void **state)
{
	static struct sb_jitter jb;
	uint16_t s;

	(void)state;
	init(&jb, 2, 10, false);
	/* 1, 2, then 3..5 lost, then 6..8 */
	assert_int_equal(put(&jb, 1), 0);
	assert_int_equal(put(&jb, 2), 0);
	for (s = 6; s <= 8; s++)
		assert_int_equal(put(&jb, s), 0);
	assert_int_equal(get(&jb, NULL), tag(1));
	assert_int_equal(get(&jb, NULL), tag(2));
	/* two repeats of the last frame, then silence */
	assert_int_equal(get(&jb, NULL), tag(2));
	assert_int_equal(get(&jb, NULL), tag(2));
	assert_int_equal(get(&jb, NULL), 0);
	assert_int_equal(get(&jb, NULL), tag(6));
	assert_int_equal(jb.st.lost, 3);
	/* a frame of a loss that arrives after its time is late */
	assert_int_equal(put(&jb, 4), ETIME);
	assert_int_equal(jb.st.late, 1);

	/* silence concealment */
	init(&jb, 2, 10, true);
	assert_int_equal(put(&jb, 1), 0);
	assert_int_equal(put(&jb, 3), 0);
	assert_int_equal(get(&jb, NULL), tag(1));
	assert_int_equal(get(&jb, NULL), 0);
	assert_int_equal(get(&jb, NULL), tag(3));
	assert_int_equal(jb.st.lost, 1);
}

static void test_duplicates(void **state)
{
	static struct sb_jitter jb;

	(void)state;
	init(&jb, 2, 10, false);
	assert_int_equal(put(&jb, 500), 0);
	assert_int_equal(put(&jb, 500), EEXIST);
	assert_int_equal(put(&jb, 501), 0);
	assert_int_equal(get(&jb, NULL), tag(500));
	/* a copy of a frame already played is a duplicate, not late */
	assert_int_equal(put(&jb, 500), EEXIST);
	assert_int_equal(put(&jb, 501), EEXIST);
	assert_int_equal(jb.st.duplicates, 3);
	assert_int_equal(jb.st.late, 0);
	/* one never received before the playout point is late */
	assert_int_equal(put(&jb, 499), ETIME);
	assert_int_equal(jb.st.late, 1);
	assert_int_equal(get(&jb, NULL), tag(501));
	assert_int_equal(jb.st.received, 2);
}

static void test_wrap(void **state)
{
	static struct sb_jitter jb;
	static const uint16_t in[] = { 65534, 65533, 0, 65535, 2, 1, 3, 4, 5 };
	static const uint16_t out[] = { 65533, 65534, 65535, 0, 1, 2, 3 };

	(void)state;
	init(&jb, 3, 10, false);
	for (size_t i = 0; i < SB_ARRAY_LEN(in); i++)
		assert_int_equal(put(&jb, in[i]), 0);
	for (size_t i = 0; i < SB_ARRAY_LEN(out); i++)
		assert_int_equal(get(&jb, NULL), tag(out[i]));
	/* across the wrap: 65535 is behind 3 (late), 4 ahead */
	assert_int_equal(put(&jb, 65535), EEXIST);
	assert_int_equal(put(&jb, 65532), ETIME);
	assert_int_equal(get(&jb, NULL), tag(4));
	assert_int_equal(jb.st.lost, 0);
	assert_int_equal(jb.st.duplicates, 1);
	assert_int_equal(jb.st.late, 1);
}

static void test_overflow(void **state)
{
	static struct sb_jitter jb;
	uint16_t s;

	(void)state;
	init(&jb, 3, 10, false);
	/* 25 frames while nothing plays: the window keeps the newest 10 */
	for (s = 0; s < 25; s++)
		assert_int_equal(put(&jb, (uint16_t)(65530 + s)), 0);
	assert_int_equal(sb_jitter_count(&jb), 10);
	assert_int_equal(jb.st.overflow, 15);
	assert_int_equal(jb.st.lost, 0);
	for (s = 15; s < 25; s++)
		assert_int_equal(get(&jb, NULL), tag((uint16_t)(65530 + s)));
	/* a jump ahead by more than the window, within MAX_DROPOUT: the
	 * frames skipped are lost */
	assert_int_equal(put(&jb, (uint16_t)(65530 + 25 + 30)), 0);
	assert_int_equal(jb.st.lost, 30 - 9);
	assert_int_equal(sb_jitter_count(&jb), 1);
}

static void test_underrun_rebuffers(void **state)
{
	static struct sb_jitter jb;
	bool audio;
	int i;

	(void)state;
	init(&jb, 3, 10, false);
	for (i = 0; i < 3; i++)
		assert_int_equal(put(&jb, (uint16_t)(7 + i)), 0);
	for (i = 0; i < 3; i++)
		assert_int_equal(get(&jb, NULL), tag((uint16_t)(7 + i)));
	/* the sender goes quiet (hold): silence, no losses */
	for (i = 0; i < 50; i++) {
		assert_int_equal(get(&jb, &audio), 0);
		assert_false(audio);
	}
	assert_int_equal(jb.st.lost, 0);
	assert_int_equal(jb.st.underruns, 1);
	/* it comes back with the next sequence number: buffers 3 again */
	assert_int_equal(put(&jb, 10), 0);
	assert_int_equal(get(&jb, NULL), 0);
	assert_int_equal(put(&jb, 11), 0);
	assert_int_equal(put(&jb, 12), 0);
	assert_int_equal(get(&jb, NULL), tag(10));
	assert_int_equal(jb.st.lost, 0);
}

static void test_jump(void **state)
{
	static struct sb_jitter jb;

	(void)state;
	init(&jb, 2, 10, false);
	assert_int_equal(put(&jb, 1000), 0);
	assert_int_equal(put(&jb, 1001), 0);
	assert_int_equal(get(&jb, NULL), tag(1000));
	/* far ahead: once is a stray, twice in sequence a restart */
	assert_int_equal(put(&jb, 40000), ERANGE);
	assert_int_equal(jb.st.resets, 0);
	assert_int_equal(put(&jb, 40001), 0);
	assert_int_equal(jb.st.resets, 1);
	assert_int_equal(put(&jb, 40002), 0);
	assert_int_equal(get(&jb, NULL), tag(40001));
	/* far behind as well */
	assert_int_equal(put(&jb, 20000), ERANGE);
	assert_int_equal(put(&jb, 40003), 0);
	assert_int_equal(put(&jb, 20001), ERANGE); /* 20000 was not confirmed */
	assert_int_equal(put(&jb, 20002), 0);
	assert_int_equal(jb.st.resets, 2);
}

static void test_frame_sizes(void **state)
{
	static struct sb_jitter jb;
	int16_t pcm[240], out[SB_MEDIA_FRAME];
	size_t i;

	(void)state;
	init(&jb, 2, 10, false);
	/* 10 ms frames: two make one tick */
	for (uint16_t s = 0; s < 4; s++) {
		for (i = 0; i < 80; i++)
			pcm[i] = (int16_t)(s + 1);
		assert_int_equal(sb_jitter_put(&jb, s, pcm, 80), 0);
	}
	assert_true(sb_jitter_get(&jb, out));
	assert_int_equal(out[0], 1);
	assert_int_equal(out[79], 1);
	assert_int_equal(out[80], 2);
	assert_int_equal(out[159], 2);
	assert_true(sb_jitter_get(&jb, out));
	assert_int_equal(out[0], 3);
	assert_int_equal(out[159], 4);

	/* 30 ms frames: three ticks take two frames */
	init(&jb, 2, 10, false);
	for (uint16_t s = 0; s < 3; s++) {
		for (i = 0; i < 240; i++)
			pcm[i] = (int16_t)(s + 1);
		assert_int_equal(sb_jitter_put(&jb, s, pcm, 240), 0);
	}
	assert_true(sb_jitter_get(&jb, out));
	assert_int_equal(out[159], 1);
	assert_true(sb_jitter_get(&jb, out));
	assert_int_equal(out[79], 1);
	assert_int_equal(out[80], 2);
	assert_true(sb_jitter_get(&jb, out));
	assert_int_equal(out[0], 2);
	assert_int_equal(out[159], 2);
	assert_int_equal(jb.st.played, 2);

	/* NULL: a frame of silence standing for a telephone-event packet */
	init(&jb, 2, 10, false);
	assert_int_equal(sb_jitter_put(&jb, 9, NULL, SB_MEDIA_FRAME), 0);
	assert_int_equal(put(&jb, 10), 0);
	assert_int_equal(get(&jb, NULL), 0);
	assert_int_equal(get(&jb, NULL), tag(10));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cfg),
		cmocka_unit_test(test_delay_and_order),
		cmocka_unit_test(test_reorder),
		cmocka_unit_test(test_loss_concealment),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_wrap),
		cmocka_unit_test(test_overflow),
		cmocka_unit_test(test_underrun_rebuffers),
		cmocka_unit_test(test_jump),
		cmocka_unit_test(test_frame_sizes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
