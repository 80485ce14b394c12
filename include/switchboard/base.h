/* base: slices (pointer + length views into bytes we do not own), a growable
 * output buffer, and small helpers every layer above uses.  Nothing here
 * allocates except sb_buf. */
#ifndef SWITCHBOARD_BASE_H
#define SWITCHBOARD_BASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A view into bytes owned elsewhere: never NUL-terminated, never freed.
 * p == NULL means "absent"; p != NULL with l == 0 means "present, empty". */
struct sb_slice {
	const char *p;
	size_t l;
};

#define SB_SLICE_NULL ((struct sb_slice){ NULL, 0 })
/* Slice of a string literal, e.g. SB_LIT("INVITE"). */
#define SB_LIT(s) ((struct sb_slice){ "" s, sizeof(s) - 1 })

static inline struct sb_slice sb_slice_from(const char *p, size_t l)
{
	return (struct sb_slice){ p, l };
}
struct sb_slice sb_slice_cstr(const char *s);
static inline bool sb_slice_present(struct sb_slice s) { return s.p != NULL; }

/* Byte-exact equality. */
bool sb_slice_eq(struct sb_slice a, struct sb_slice b);
/* ASCII case-insensitive equality. */
bool sb_slice_caseeq(struct sb_slice a, struct sb_slice b);
bool sb_slice_caseeq_cstr(struct sb_slice a, const char *s);
/* Strip SP, HTAB, CR and LF on both ends (folded LWS included). */
struct sb_slice sb_slice_trim(struct sb_slice s);
/* Index of the first byte c, or -1. */
long sb_slice_chr(struct sb_slice s, char c);

/* Parse the whole slice as an unsigned decimal into *out.  Leading zeros are
 * allowed (RFC 4475 wsinv: "0068" is 68).  Returns 0, EINVAL when the slice is
 * empty or holds a non-digit, ERANGE when the value exceeds max. */
int sb_slice_to_u64(struct sb_slice s, uint64_t max, uint64_t *out);
int sb_slice_to_u32(struct sb_slice s, uint32_t *out);

/* Copy into a NUL-terminated C string of at most cap bytes (truncating);
 * for logs and tools only, never on the parse path. */
void sb_slice_to_cstr(struct sb_slice s, char *dst, size_t cap);

/* A growable byte buffer for printing messages.  Bounded: appends that would
 * pass max fail with ENOSPC and leave the buffer unchanged. */
struct sb_buf {
	char *p;
	size_t len;
	size_t cap;
	size_t max; /* hard bound; 0 means SB_BUF_DEFAULT_MAX */
	int err;    /* first error seen by an append; sticky */
	bool fixed; /* caller-owned storage: never grown, never freed */
};

#define SB_BUF_DEFAULT_MAX (1u << 20)

void sb_buf_init(struct sb_buf *b, size_t max);
/* Use caller-owned storage; the buffer will not grow past it. */
void sb_buf_init_fixed(struct sb_buf *b, char *mem, size_t cap);
void sb_buf_free(struct sb_buf *b);
void sb_buf_reset(struct sb_buf *b);
int sb_buf_append(struct sb_buf *b, const void *p, size_t l);
int sb_buf_append_slice(struct sb_buf *b, struct sb_slice s);
int sb_buf_append_cstr(struct sb_buf *b, const char *s);
/* Unsigned decimal, no leading zeros, without printf (printers on the hot
 * path use these). */
int sb_buf_append_u32(struct sb_buf *b, uint32_t v);
int sb_buf_append_u64(struct sb_buf *b, uint64_t v);
int sb_buf_printf(struct sb_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
struct sb_slice sb_buf_slice(const struct sb_buf *b);

#define SB_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* The value of a hex digit, or -1 (for %HH escapes). */
static inline int sb_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#endif
