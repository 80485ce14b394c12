/* tests/fuzz/fuzzutil: what the fuzz targets share.  A parser must hand back
 * only slices inside its input; checking that here makes a bad offset fail
 * even when the bytes it points at happen to be mapped (ASan would not see
 * the read). */
#ifndef SB_FUZZUTIL_H
#define SB_FUZZUTIL_H

#include <stdlib.h>

#include "switchboard/base.h"

/* The fuzzer's bytes as a present slice: never NULL, even when empty. */
static inline struct sb_slice fuzz_input(const uint8_t *data, size_t size)
{
	return sb_slice_from(size ? (const char *)data : "", size);
}

/* Abort unless s is absent or lies inside in. */
static inline void fuzz_check_in(struct sb_slice in, struct sb_slice s)
{
	if (s.p && (s.p < in.p || s.l > in.l || (size_t)(s.p - in.p) > in.l - s.l))
		abort();
}

#endif
