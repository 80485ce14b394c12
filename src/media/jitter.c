/* media/jitter: a fixed-delay playout buffer for one RTP source.
 *
 * Sequence numbers are extended to 64 bits against the highest one seen
 * (the 16-bit difference read as signed, RFC 3550 A.1), so order survives
 * the wrap at 65535.  The ring covers the window [play_ext, play_ext + max)
 * and slot ext % max holds frame ext; frames leave the ring when they are
 * played, skipped or overtaken, so a slot outside the window is empty.
 *
 * Playout is driven from outside: each sb_jitter_get() is one 20 ms tick
 * of the caller's loop timer.  A frame is copied out of its slot when its
 * turn comes (into cur, which concealment repeats), so nothing points into
 * the ring. */
#include <errno.h>
#include <string.h>

#include "switchboard/media.h"

int sb_jitter_init(struct sb_jitter *jb, const struct sb_jitter_cfg *cfg)
{
	unsigned delay = cfg && cfg->delay_frames ? cfg->delay_frames : SB_JB_DEFAULT_DELAY;
	unsigned max = cfg && cfg->max_frames ? cfg->max_frames : SB_JB_DEFAULT_MAX;

	if (delay >= max || max > SB_JB_MAX_FRAMES)
		return EINVAL;
	memset(jb, 0, sizeof *jb);
	jb->delay = delay;
	jb->max = max;
	jb->conceal_silence = cfg && cfg->conceal_silence;
	return 0;
}

void sb_jitter_reset(struct sb_jitter *jb)
{
	struct sb_jitter_stats st = jb->st;
	struct sb_jitter_cfg cfg = {
		.delay_frames = jb->delay,
		.max_frames = jb->max,
		.conceal_silence = jb->conceal_silence,
	};

	(void)sb_jitter_init(jb, &cfg); /* valid: it was before */
	jb->st = st;
}

static struct sb_jb_slot *slot_of(struct sb_jitter *jb, uint64_t ext)
{
	return &jb->slot[ext % jb->max];
}

static void store(struct sb_jitter *jb, uint64_t ext, const int16_t *pcm, size_t n)
{
	struct sb_jb_slot *s = slot_of(jb, ext);

	s->ext = ext;
	s->n = (uint16_t)n;
	if (pcm)
		memcpy(s->pcm, pcm, n * sizeof *pcm);
	else
		memset(s->pcm, 0, n * sizeof *pcm);
	jb->st.received++;
}

/* The first frame, or the first after a reset: the window starts at it.
 * Extended numbers start one cycle up so that frames just before it stay
 * positive. */
static void start_at(struct sb_jitter *jb, uint16_t seq)
{
	jb->have_seq = true;
	jb->max_ext = (1u << 16) + (uint64_t)seq;
	jb->play_ext = jb->max_ext;
}

static void shift_mask(struct sb_jitter *jb, uint64_t by, bool played)
{
	jb->played_mask = by >= 64 ? 0 : jb->played_mask << by;
	if (played)
		jb->played_mask |= 1;
}

/* Move the window so that ext fits: frames overtaken are dropped (overflow),
 * holes skipped are lost. */
static void overtake(struct sb_jitter *jb, uint64_t ext)
{
	uint64_t new_play = ext - jb->max + 1;
	uint64_t skip = new_play - jb->play_ext;
	uint64_t scan = skip < jb->max ? skip : jb->max;
	uint64_t k, held = 0;

	for (k = 0; k < scan; k++) {
		uint64_t e = jb->play_ext + k;
		struct sb_jb_slot *s = slot_of(jb, e);

		if (s->n && s->ext == e) {
			s->n = 0;
			held++;
		}
	}
	jb->st.overflow += held;
	jb->st.lost += skip - held;
	shift_mask(jb, skip, false);
	jb->play_ext = new_play;
}

int sb_jitter_put(struct sb_jitter *jb, uint16_t seq, const int16_t *pcm, size_t n)
{
	struct sb_jb_slot *s;
	int32_t delta;
	uint64_t ext;

	if (n == 0 || n > SB_MEDIA_MAX_FRAME)
		return EINVAL;
	if (!jb->have_seq) {
		start_at(jb, seq);
		store(jb, jb->max_ext, pcm, n);
		return 0;
	}
	delta = (int16_t)(uint16_t)(seq - (uint16_t)jb->max_ext);

	/* RFC 3550 A.1: a jump past MAX_DROPOUT ahead or MAX_MISORDER behind
	 * is believed only when the next packet follows it in sequence */
	if (delta > (int32_t)SB_RTP_MAX_DROPOUT || delta < -(int32_t)SB_RTP_MAX_MISORDER) {
		if (jb->have_bad && seq == jb->bad_seq) {
			sb_jitter_reset(jb);
			jb->st.resets++;
			start_at(jb, seq);
			store(jb, jb->max_ext, pcm, n);
			return 0;
		}
		jb->bad_seq = (uint16_t)(seq + 1);
		jb->have_bad = true;
		return ERANGE;
	}
	jb->have_bad = false;
	ext = (uint64_t)((int64_t)jb->max_ext + delta);

	if (ext < jb->play_ext) {
		/* before the first playout an earlier frame (reordered at the
		 * start) still fits: the window moves back to it */
		if (!jb->started && jb->max_ext - ext < jb->max) {
			jb->play_ext = ext;
		} else {
			uint64_t back = jb->play_ext - 1 - ext;

			if (back < 64 && (jb->played_mask >> back) & 1) {
				jb->st.duplicates++;
				return EEXIST;
			}
			jb->st.late++;
			return ETIME;
		}
	}
	if (ext - jb->play_ext >= jb->max)
		overtake(jb, ext);
	s = slot_of(jb, ext);
	if (s->n && s->ext == ext) {
		jb->st.duplicates++;
		return EEXIST;
	}
	if (ext > jb->max_ext)
		jb->max_ext = ext;
	store(jb, ext, pcm, n);
	return 0;
}

/* The next frame into cur: the one due, else a concealment.  False when
 * nothing newer than the playout point has arrived (underrun). */
static bool next_frame(struct sb_jitter *jb)
{
	struct sb_jb_slot *s = slot_of(jb, jb->play_ext);

	if (s->n && s->ext == jb->play_ext) {
		memcpy(jb->cur, s->pcm, s->n * sizeof s->pcm[0]);
		jb->cur_n = s->n;
		s->n = 0;
		jb->repeats = 0;
		jb->st.played++;
		shift_mask(jb, 1, true);
		jb->play_ext++;
	} else if (jb->play_ext > jb->max_ext) {
		return false;
	} else {
		/* a hole with later frames behind it: lost */
		jb->st.lost++;
		shift_mask(jb, 1, false);
		jb->play_ext++;
		if (jb->cur_n == 0)
			jb->cur_n = SB_MEDIA_FRAME;
		if (jb->conceal_silence || jb->repeats >= SB_JB_MAX_REPEAT)
			memset(jb->cur, 0, jb->cur_n * sizeof jb->cur[0]);
		else
			jb->repeats++; /* cur still holds the last frame */
	}
	jb->cur_off = 0;
	return true;
}

bool sb_jitter_get(struct sb_jitter *jb, int16_t *out)
{
	size_t done = 0;

	if (!jb->have_seq)
		goto silence;
	if (!jb->playing) {
		/* fixed delay: wait until the newest frame is delay ahead */
		if (jb->max_ext + 1 < jb->play_ext + jb->delay)
			goto silence;
		jb->playing = true;
		jb->started = true;
		jb->cur_n = jb->cur_off = 0;
	}
	while (done < SB_MEDIA_FRAME) {
		size_t k;

		if (jb->cur_off >= jb->cur_n && !next_frame(jb)) {
			/* the sender went quiet: buffer again */
			jb->playing = false;
			jb->st.underruns++;
			jb->cur_n = jb->cur_off = 0;
			memset(out + done, 0, (SB_MEDIA_FRAME - done) * sizeof *out);
			return done > 0;
		}
		k = (size_t)(jb->cur_n - jb->cur_off);
		if (k > SB_MEDIA_FRAME - done)
			k = SB_MEDIA_FRAME - done;
		memcpy(out + done, jb->cur + jb->cur_off, k * sizeof *out);
		jb->cur_off = (uint16_t)(jb->cur_off + k);
		done += k;
	}
	return true;

silence:
	memset(out, 0, SB_MEDIA_FRAME * sizeof *out);
	return false;
}

unsigned sb_jitter_count(const struct sb_jitter *jb)
{
	unsigned i, n = 0;

	for (i = 0; i < jb->max; i++)
		if (jb->slot[i].n)
			n++;
	return n;
}
