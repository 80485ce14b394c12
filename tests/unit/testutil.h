/* tests/unit/testutil: helpers the cmocka tests share (the unit tests and
 * tests/conformance).  Include it after <cmocka.h>.  Everything is static
 * inline, so a test program takes only what it uses.
 *
 * Parsers under test read exact-size heap copies of their input, with no NUL
 * or slack after the last byte, so that ASan catches a read one byte past the
 * end.  Two ways to keep such a copy alive while the parsed slices point
 * into it: exact_in() keeps one per test in the cmocka state (release() is
 * the teardown); exact() and exact_n() keep any number until free_all() (the
 * teardown). */
#ifndef SB_TESTUTIL_H
#define SB_TESTUTIL_H

#include <stdlib.h>
#include <string.h>

#include "switchboard/base.h"

/* An exact-size heap copy of p[0..l); the caller frees it. */
static inline char *dup_exact(const char *p, size_t l)
{
	char *c = malloc(l ? l : 1);
	assert_non_null(c);
	if (l)
		memcpy(c, p, l);
	return c;
}

/* A slice over an exact-size copy of text held in *keep, which frees the
 * copy held there before (so one per test, in its cmocka state). */
static inline struct sb_slice exact_in(void **keep, const char *text)
{
	size_t n = strlen(text);
	free(*keep);
	*keep = dup_exact(text, n);
	return sb_slice_from(*keep, n);
}

/* Teardown for exact_in(state, ...). */
static inline int release(void **state)
{
	free(*state);
	*state = NULL;
	return 0;
}

/* Heap blocks kept until free_all(). */
struct tu_pool {
	void *p[512];
	unsigned n;
};

static inline struct tu_pool *tu_pool(void)
{
	static struct tu_pool pool;
	return &pool;
}

/* Keep p (from malloc) until free_all(); returns p. */
static inline void *keep(void *p)
{
	struct tu_pool *pl = tu_pool();
	assert_true(pl->n < SB_ARRAY_LEN(pl->p));
	pl->p[pl->n++] = p;
	return p;
}

/* Teardown: free what keep() holds. */
static inline int free_all(void **state)
{
	(void)state;
	struct tu_pool *pl = tu_pool();
	while (pl->n)
		free(pl->p[--pl->n]);
	return 0;
}

/* A slice over an exact-size copy of s[0..l), kept until free_all(). */
static inline struct sb_slice exact_n(const char *s, size_t l)
{
	return sb_slice_from(keep(dup_exact(s, l)), l);
}

static inline struct sb_slice exact(const char *s)
{
	return exact_n(s, strlen(s));
}

/* s is present and holds exactly want; with want NULL, s is absent.  A
 * failure names both and is reported at the caller's line. */
#define check_slice(s, want) check_slice_at((s), (want), __FILE__, __LINE__)
#define check_absent(s) check_slice_at((s), NULL, __FILE__, __LINE__)

static inline void check_slice_at(struct sb_slice s, const char *want, const char *file, int line)
{
	if (!want) {
		if (s.p) {
			print_error("slice '%.*s' should be absent\n", (int)s.l, s.p);
			_fail(file, line);
		}
		return;
	}
	if (!s.p || s.l != strlen(want) || (s.l && memcmp(s.p, want, s.l) != 0)) {
		print_error("slice '%.*s' (%s) != '%s'\n", (int)s.l, s.p ? s.p : "",
			    s.p ? "present" : "absent", want);
		_fail(file, line);
	}
}

/* A parse of text gave err, and should have given want (0 or an error such
 * as EBADMSG); on a mismatch the input is printed before the failure. */
static inline void expect_parse(int err, int want, const char *text)
{
	if (err != want)
		print_error("%s: %s\n", want ? "accepted" : "rejected", text);
	assert_int_equal(err, want);
}

#endif
