/* media/tone: a sine generator for the phone's test source.
 *
 * The phase is a 32-bit accumulator (a full turn is 2^32), advanced by a
 * fixed step per sample: the tone is phase-continuous across frames and
 * its frequency never drifts however long it runs.  The sine itself is a
 * Taylor polynomial on a quarter turn (error below 1e-15), so the library
 * needs no libm. */
#include <errno.h>

#include "switchboard/media.h"

#define TWO_PI 6.283185307179586476925286766559

/* sin(x) for x in [0, pi/2]: the Taylor series to x^19, evaluated by
 * Horner (term k+2 is term k times -x^2 / ((k+1)(k+2))).  The first term
 * left out, (pi/2)^21 / 21!, is below 3e-16. */
static double sin_quarter(double x)
{
	double x2 = x * x;

	return x * (1.0 - x2 / 6.0 * (1.0 - x2 / 20.0 * (1.0 - x2 / 42.0 * (1.0 - x2 / 72.0 *
	       (1.0 - x2 / 110.0 * (1.0 - x2 / 156.0 * (1.0 - x2 / 210.0 *
	       (1.0 - x2 / 272.0 * (1.0 - x2 / 342.0)))))))));
}

double sb_tone_sin_turns(double turns)
{
	double t = turns - (double)(int64_t)turns; /* (-1, 1) */
	double sign = 1.0;

	if (t < 0)
		t += 1.0;
	/* sin(2pi(t + 1/2)) = -sin(2pi t); sin(2pi(1/2 - t)) = sin(2pi t) */
	if (t >= 0.5) {
		t -= 0.5;
		sign = -1.0;
	}
	if (t > 0.25)
		t = 0.5 - t;
	return sign * sin_quarter(TWO_PI * t);
}

int sb_tone_init(struct sb_tone *t, double freq, double amp, unsigned rate)
{
	/* the negated tests also refuse NaN */
	if (!(rate > 0) || !(freq > 0) || !(freq < rate / 2.0) || !(amp >= 0) || !(amp <= 1))
		return EINVAL;
	t->phase = 0;
	t->step = (uint32_t)(freq / rate * 4294967296.0 + 0.5);
	t->amp = amp * 32767.0;
	return 0;
}

void sb_tone_fill(struct sb_tone *t, int16_t *out, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		double v = t->amp * sb_tone_sin_turns(t->phase / 4294967296.0);

		out[i] = (int16_t)(v >= 0 ? v + 0.5 : v - 0.5);
		t->phase += t->step; /* wraps modulo a turn */
	}
}
