/* Unit tests for base: slices, number parsing, the bounded buffer. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "switchboard/base.h"

static void t_compare(void **state)
{
	assert_true(sb_slice_eq(SB_LIT("abc"), SB_LIT("abc")));
	assert_false(sb_slice_eq(SB_LIT("abc"), SB_LIT("abd")));
	assert_false(sb_slice_eq(SB_LIT("abc"), SB_LIT("ab")));
	assert_true(sb_slice_caseeq(SB_LIT("Call-ID"), SB_LIT("call-id")));
	assert_false(sb_slice_caseeq(SB_LIT("Call-ID"), SB_LIT("call-ie")));
	assert_true(sb_slice_caseeq_cstr(SB_LIT("VIA"), "via"));
	assert_true(sb_slice_eq(SB_LIT(""), sb_slice_from("x", 0)));
	/* only ASCII letters fold: '@' and '`', '[' and '{', 0xc1 and 0xe1
	 * differ in the same bit as 'A' and 'a' but are not letters */
	assert_false(sb_slice_caseeq(SB_LIT("a@"), SB_LIT("a`")));
	assert_false(sb_slice_caseeq(SB_LIT("["), SB_LIT("{")));
	assert_false(sb_slice_caseeq(SB_LIT("\xc1"), SB_LIT("\xe1")));
	assert_true(sb_slice_caseeq(SB_LIT("\xc1Z"), SB_LIT("\xc1z")));
	assert_true(sb_slice_caseeq(SB_LIT(""), SB_LIT("")));
	assert_false(sb_slice_caseeq(SB_LIT("a"), SB_LIT("")));
}

static void t_trim(void **state)
{
	struct sb_slice s = sb_slice_trim(SB_LIT(" \t\r\n a b\r\n "));
	assert_int_equal(s.l, 3);
	assert_memory_equal(s.p, "a b", 3);
	s = sb_slice_trim(SB_LIT("   "));
	assert_int_equal(s.l, 0);
	assert_null(sb_slice_trim(SB_SLICE_NULL).p);
	assert_int_equal(sb_slice_chr(SB_LIT("a;b"), ';'), 1);
	assert_int_equal(sb_slice_chr(SB_LIT("ab"), ';'), -1);
}

static void t_numbers(void **state)
{
	uint32_t v;
	assert_int_equal(sb_slice_to_u32(SB_LIT("0068"), &v), 0);
	assert_int_equal(v, 68);
	assert_int_equal(sb_slice_to_u32(SB_LIT("4294967295"), &v), 0);
	assert_int_equal(v, UINT32_MAX);
	/* RFC 4475 scalar02 and bigcode: no wrap-around */
	assert_int_equal(sb_slice_to_u32(SB_LIT("4294967296"), &v), ERANGE);
	assert_int_equal(sb_slice_to_u32(SB_LIT("36893488147419103232"), &v), ERANGE);
	assert_int_equal(sb_slice_to_u32(SB_LIT("-999"), &v), EINVAL);
	assert_int_equal(sb_slice_to_u32(SB_LIT("five"), &v), EINVAL);
	assert_int_equal(sb_slice_to_u32(SB_LIT(""), &v), EINVAL);
	assert_int_equal(sb_slice_to_u32(SB_LIT("99999999999x"), &v), EINVAL);
	uint64_t w;
	assert_int_equal(sb_slice_to_u64(SB_LIT("18446744073709551615"), UINT64_MAX, &w), 0);
	assert_true(w == UINT64_MAX);
	assert_int_equal(sb_slice_to_u64(SB_LIT("18446744073709551616"), UINT64_MAX, &w), ERANGE);
}

static void t_buf(void **state)
{
	struct sb_buf b;
	sb_buf_init(&b, 16);
	assert_int_equal(sb_buf_append_cstr(&b, "SIP/2.0 "), 0);
	assert_int_equal(sb_buf_printf(&b, "%u", 200u), 0);
	assert_int_equal(b.len, 11);
	assert_memory_equal(b.p, "SIP/2.0 200", 11);
	/* past the bound: ENOSPC, the contents unchanged, the error sticky */
	assert_int_equal(sb_buf_append_cstr(&b, " OK and more"), ENOSPC);
	assert_int_equal(b.len, 11);
	assert_int_equal(sb_buf_append_cstr(&b, "!"), ENOSPC);
	sb_buf_reset(&b);
	assert_int_equal(sb_buf_append_cstr(&b, "x"), 0);
	sb_buf_free(&b);

	char mem[8];
	sb_buf_init_fixed(&b, mem, sizeof mem);
	assert_int_equal(sb_buf_append_cstr(&b, "12345678"), 0);
	assert_int_equal(sb_buf_append_cstr(&b, "9"), ENOSPC);
	assert_ptr_equal(b.p, mem);
	sb_buf_free(&b);

	/* a long printf goes through the slow path */
	sb_buf_init(&b, 0);
	char longs[600];
	memset(longs, 'a', sizeof longs - 1);
	longs[sizeof longs - 1] = '\0';
	assert_int_equal(sb_buf_printf(&b, "<%s>", longs), 0);
	assert_int_equal(b.len, 601);
	assert_int_equal(b.p[600], '>');
	sb_buf_free(&b);
}

static void t_buf_numbers(void **state)
{
	(void)state;
	struct sb_buf b;
	sb_buf_init(&b, 0);
	assert_int_equal(sb_buf_append_u32(&b, 0), 0);
	assert_int_equal(sb_buf_append_cstr(&b, " "), 0);
	assert_int_equal(sb_buf_append_u32(&b, 7), 0);
	assert_int_equal(sb_buf_append_cstr(&b, " "), 0);
	assert_int_equal(sb_buf_append_u32(&b, 100), 0);
	assert_int_equal(sb_buf_append_cstr(&b, " "), 0);
	assert_int_equal(sb_buf_append_u32(&b, UINT32_MAX), 0);
	assert_int_equal(sb_buf_append_cstr(&b, " "), 0);
	assert_int_equal(sb_buf_append_u64(&b, UINT64_MAX), 0);
	const char want[] = "0 7 100 4294967295 18446744073709551615";
	assert_int_equal(b.len, sizeof want - 1);
	assert_memory_equal(b.p, want, sizeof want - 1);
	sb_buf_free(&b);

	/* a number that does not fit is not cut short: ENOSPC, nothing written */
	char mem[4];
	sb_buf_init_fixed(&b, mem, sizeof mem);
	assert_int_equal(sb_buf_append_u32(&b, 123), 0);
	assert_int_equal(sb_buf_append_u32(&b, 45), ENOSPC);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.p, "123", 3);
}

static void t_review_edges(void **state)
{
	uint64_t w;
	/* a bound below 9: 7 is out of range, not wrapped in */
	assert_int_equal(sb_slice_to_u64(SB_LIT("7"), 5, &w), ERANGE);
	assert_int_equal(sb_slice_to_u64(SB_LIT("5"), 5, &w), 0);
	assert_int_equal(w, 5);
	/* a long printf that exactly fills a fixed buffer fits */
	char mem[300];
	struct sb_buf b;
	sb_buf_init_fixed(&b, mem, sizeof mem);
	assert_int_equal(sb_buf_append(&b, "x", 1), 0);
	char fill[300];
	memset(fill, 'y', 299);
	fill[299] = '\0';
	assert_int_equal(sb_buf_printf(&b, "%s", fill), 0);
	assert_int_equal(b.len, 300);
	assert_int_equal(sb_buf_printf(&b, "%s", "z"), ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_compare),
		cmocka_unit_test(t_trim),
		cmocka_unit_test(t_numbers),
		cmocka_unit_test(t_buf),
		cmocka_unit_test(t_buf_numbers),
		cmocka_unit_test(t_review_edges),
	};
	return cmocka_run_group_tests_name("base", tests, NULL, NULL);
}
