/* base/slice: comparisons and number parsing over sb_slice views.  These run
 * on every header of every message, so they stay branch-light and never read
 * past s.l. */
#include <errno.h>
#include <string.h>

#include "switchboard/base.h"

struct sb_slice sb_slice_cstr(const char *s)
{
	return (struct sb_slice){ s, s ? strlen(s) : 0 };
}

bool sb_slice_eq(struct sb_slice a, struct sb_slice b)
{
	return a.l == b.l && (a.l == 0 || memcmp(a.p, b.p, a.l) == 0);
}

static inline unsigned char lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c | 0x20) : c;
}

bool sb_slice_caseeq(struct sb_slice a, struct sb_slice b)
{
	if (a.l != b.l)
		return false;
	/* most bytes compared are equal as they stand: fold only those that
	 * are not */
	for (size_t i = 0; i < a.l; i++)
		if (a.p[i] != b.p[i] && lower((unsigned char)a.p[i]) != lower((unsigned char)b.p[i]))
			return false;
	return true;
}

bool sb_slice_caseeq_cstr(struct sb_slice a, const char *s)
{
	return sb_slice_caseeq(a, sb_slice_cstr(s));
}

static inline bool is_lws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

struct sb_slice sb_slice_trim(struct sb_slice s)
{
	if (!s.p)
		return s;
	while (s.l && is_lws(s.p[0])) {
		s.p++;
		s.l--;
	}
	while (s.l && is_lws(s.p[s.l - 1]))
		s.l--;
	return s;
}

long sb_slice_chr(struct sb_slice s, char c)
{
	if (!s.l)
		return -1;
	const char *q = memchr(s.p, c, s.l);
	return q ? (long)(q - s.p) : -1;
}

int sb_slice_to_u64(struct sb_slice s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	if (!s.p || s.l == 0)
		return EINVAL;
	for (size_t i = 0; i < s.l; i++) {
		unsigned d = (unsigned char)s.p[i] - '0';
		if (d > 9)
			return EINVAL;
		/* Check before multiplying so no value ever wraps (RFC 4475
		 * scalar02: CSeq 36893488147419103232). */
		if (d > max || v > (max - d) / 10) {
			/* keep scanning: a non-digit later is EINVAL, not ERANGE */
			for (size_t j = i + 1; j < s.l; j++)
				if ((unsigned char)s.p[j] - '0' > 9)
					return EINVAL;
			return ERANGE;
		}
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int sb_slice_to_u32(struct sb_slice s, uint32_t *out)
{
	uint64_t v;
	int err = sb_slice_to_u64(s, UINT32_MAX, &v);
	if (!err)
		*out = (uint32_t)v;
	return err;
}

void sb_slice_to_cstr(struct sb_slice s, char *dst, size_t cap)
{
	if (!cap)
		return;
	size_t n = s.l < cap - 1 ? s.l : cap - 1;
	if (n)
		memcpy(dst, s.p, n);
	dst[n] = '\0';
}
