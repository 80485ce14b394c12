/* base/buf: a bounded, growable output buffer for printing messages.  The
 * first failed append is remembered in b->err so a printer can append a run
 * of pieces and check once at the end. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "switchboard/base.h"

void sb_buf_init(struct sb_buf *b, size_t max)
{
	*b = (struct sb_buf){ .max = max ? max : SB_BUF_DEFAULT_MAX };
}

void sb_buf_init_fixed(struct sb_buf *b, char *mem, size_t cap)
{
	*b = (struct sb_buf){ .p = mem, .cap = cap, .max = cap, .fixed = true };
}

void sb_buf_free(struct sb_buf *b)
{
	if (!b->fixed)
		free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
	b->err = 0;
}

void sb_buf_reset(struct sb_buf *b)
{
	b->len = 0;
	b->err = 0;
}

static int grow(struct sb_buf *b, size_t need)
{
	if (need <= b->cap)
		return 0;
	if (need > b->max || b->fixed)
		return ENOSPC;
	size_t cap = b->cap ? b->cap : 512;
	while (cap < need)
		cap *= 2;
	if (cap > b->max)
		cap = b->max;
	char *p = realloc(b->p, cap);
	if (!p)
		return ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

int sb_buf_append(struct sb_buf *b, const void *p, size_t l)
{
	if (b->err)
		return b->err;
	if (l > b->max - b->len) {
		b->err = ENOSPC;
		return b->err;
	}
	int err = grow(b, b->len + l);
	if (err) {
		b->err = err;
		return err;
	}
	if (l)
		memcpy(b->p + b->len, p, l);
	b->len += l;
	return 0;
}

int sb_buf_append_slice(struct sb_buf *b, struct sb_slice s)
{
	return sb_buf_append(b, s.p, s.l);
}

int sb_buf_append_cstr(struct sb_buf *b, const char *s)
{
	return sb_buf_append(b, s, strlen(s));
}

int sb_buf_append_u64(struct sb_buf *b, uint64_t v)
{
	char tmp[20]; /* UINT64_MAX has 20 digits */
	size_t i = sizeof tmp;
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return sb_buf_append(b, tmp + i, sizeof tmp - i);
}

int sb_buf_append_u32(struct sb_buf *b, uint32_t v)
{
	return sb_buf_append_u64(b, v);
}

int sb_buf_printf(struct sb_buf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->err = b->err ? b->err : EINVAL;
		return b->err;
	}
	if ((size_t)n < sizeof tmp)
		return sb_buf_append(b, tmp, (size_t)n);
	/* rare: long output, formatted into a scratch copy so that only the
	 * bytes themselves, not vsnprintf's NUL, count against the bound */
	if (b->err)
		return b->err;
	char *big = malloc((size_t)n + 1);
	if (!big) {
		b->err = ENOMEM;
		return b->err;
	}
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	int err = sb_buf_append(b, big, (size_t)n);
	free(big);
	return err;
}

struct sb_slice sb_buf_slice(const struct sb_buf *b)
{
	return (struct sb_slice){ b->p ? b->p : "", b->len };
}
