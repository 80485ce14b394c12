/* Unit tests for base/hash: insert, find, remove, the bound, FNV-1a test
 * vectors, and the incremental rehash: a growth must spread over many
 * operations (bounded work each), every key must stay findable at every
 * step of it, and removal must work on both arrays while it runs. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "switchboard/hash.h"

struct item {
	struct sb_hash_node node;
	char key[24];
	size_t klen;
	bool seen;
};

static struct item *items_new(size_t n)
{
	struct item *it = calloc(n, sizeof *it);
	assert_non_null(it);
	for (size_t i = 0; i < n; i++)
		it[i].klen = (size_t)snprintf(it[i].key, sizeof it[i].key, "key-%zu", i);
	return it;
}

static struct item *find(struct sb_hash *h, const char *key)
{
	struct sb_hash_node *n = sb_hash_find(h, key, strlen(key));
	return n ? SB_HASH_OWNER(n, struct item, node) : NULL;
}

/* sb_hash64: pinned values (a change of the function shows here), the
 * seed and the length in the value, every tail length, chained fields. */
static void test_hash64(void **state)
{
	(void)state;
	assert_true(sb_hash64("", 0, 0) == 0x62e644ad06b573afull);
	assert_true(sb_hash64("a", 1, 0) == 0xc68c61361c937a09ull);
	assert_true(sb_hash64("z9hG4bK.branch-of-a-call", 24, 7) == 0xd9f2b183f1cba41aull);
	assert_int_equal(sb_hash_bytes("foobar", 6, 0), 0x25ee4fd6u);
	assert_int_equal(sb_hash_bytes("foobar", 6, 1), 0xc1f6bdd5u);
	/* prefixes of one string, 0 to 24 bytes (every tail length, one to
	 * three 8-byte steps), and the same with a zero byte appended: all
	 * differ */
	static const char s[] = "abcdefghijklmnopqrstuvwx";
	char z[32] = { 0 };
	uint64_t seen[50];
	unsigned n = 0;
	for (size_t l = 0; l <= 24; l++) {
		memcpy(z, s, l);
		seen[n++] = sb_hash64(s, l, 42);
		seen[n++] = sb_hash64(z, l + 1, 42);
	}
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = i + 1; j < n; j++)
			assert_true(seen[i] != seen[j]);
	/* chained: ("ab","c") and ("a","bc") differ; the seed matters */
	assert_true(sb_hash64("c", 1, sb_hash64("ab", 2, 9)) !=
		    sb_hash64("bc", 2, sb_hash64("a", 1, 9)));
	assert_true(sb_hash64("foobar", 6, 1) != sb_hash64("foobar", 6, 2));
}

static void test_basic(void **state)
{
	(void)state;
	struct sb_hash *h;
	assert_int_equal(sb_hash_alloc(&h, NULL), 0);
	struct item *it = items_new(3);
	assert_int_equal(sb_hash_insert(h, &it[0].node, it[0].key, it[0].klen), 0);
	assert_int_equal(sb_hash_insert(h, &it[1].node, it[1].key, it[1].klen), 0);
	assert_int_equal(sb_hash_count(h), 2);
	assert_ptr_equal(find(h, "key-0"), &it[0]);
	assert_ptr_equal(find(h, "key-1"), &it[1]);
	assert_null(find(h, "key-2"));
	assert_null(find(h, "key-"));   /* a prefix is not the key */
	assert_null(find(h, "key-10")); /* nor is a longer one */
	/* an equal key (other storage) is refused */
	struct item dup = { .klen = 5 };
	memcpy(dup.key, "key-0", 5);
	assert_int_equal(sb_hash_insert(h, &dup.node, dup.key, dup.klen), EEXIST);
	assert_int_equal(sb_hash_count(h), 2);
	sb_hash_remove(h, &it[0].node);
	assert_null(find(h, "key-0"));
	assert_ptr_equal(find(h, "key-1"), &it[1]);
	assert_int_equal(sb_hash_count(h), 1);
	/* re-insert after removal */
	assert_int_equal(sb_hash_insert(h, &it[0].node, it[0].key, it[0].klen), 0);
	assert_ptr_equal(find(h, "key-0"), &it[0]);
	/* the empty key is a key */
	assert_int_equal(sb_hash_insert(h, &it[2].node, "", 0), 0);
	assert_non_null(sb_hash_find(h, "", 0));
	sb_hash_free(h);
	free(it);
}

static void test_bound(void **state)
{
	(void)state;
	struct sb_hash *h;
	struct sb_hash_cfg cfg = { .max_count = 5, .initial_buckets = 2 };
	assert_int_equal(sb_hash_alloc(&h, &cfg), 0);
	struct item *it = items_new(6);
	for (int i = 0; i < 5; i++)
		assert_int_equal(sb_hash_insert(h, &it[i].node, it[i].key, it[i].klen), 0);
	assert_int_equal(sb_hash_insert(h, &it[5].node, it[5].key, it[5].klen), ENOSPC);
	assert_null(find(h, "key-5"));
	sb_hash_remove(h, &it[2].node);
	assert_int_equal(sb_hash_insert(h, &it[5].node, it[5].key, it[5].klen), 0);
	/* the array never outgrows the bound: 5 nodes need at most 8 */
	for (int i = 0; i < 100; i++)
		sb_hash_find(h, "x", 1);
	assert_false(sb_hash_rehashing(h));
	assert_true(sb_hash_buckets(h) <= 8);
	/* an over-long key */
	static char big[SB_HASH_MAX_KEY + 1];
	struct item b;
	assert_int_equal(sb_hash_insert(h, &b.node, big, sizeof big), EINVAL);
	sb_hash_free(h);
	free(it);
}

/* Every key in it[0..n) is found iff present[i]. */
static void check_all(struct sb_hash *h, struct item *it, size_t n, const bool *present)
{
	for (size_t i = 0; i < n; i++) {
		struct item *f = find(h, it[i].key);
		if (present[i])
			assert_ptr_equal(f, &it[i]);
		else
			assert_null(f);
	}
}

static void test_incremental_rehash(void **state)
{
	(void)state;
	enum { N = 3000 };
	struct sb_hash *h;
	struct sb_hash_cfg cfg = { .initial_buckets = 4, .seed = 42 };
	assert_int_equal(sb_hash_alloc(&h, &cfg), 0);
	struct item *it = items_new(N);
	bool *present = calloc(N, sizeof *present);
	assert_non_null(present);
	size_t growths = 0, steps_in_rehash = 0, longest = 0, run = 0;
	for (size_t i = 0; i < N; i++) {
		bool before = sb_hash_rehashing(h);
		assert_int_equal(sb_hash_insert(h, &it[i].node, it[i].key, it[i].klen), 0);
		present[i] = true;
		if (!before && sb_hash_rehashing(h))
			growths++;
		if (sb_hash_rehashing(h)) {
			steps_in_rehash++;
			run++;
			if (run > longest)
				longest = run;
			/* the worst moment: check everything mid-rehash (only
			 * now and then, it is quadratic) */
			if (i % 97 == 0)
				check_all(h, it, N, present);
		} else {
			run = 0;
		}
	}
	check_all(h, it, N, present);
	/* 4 -> 4096 buckets: ten doublings */
	assert_int_equal(growths, 10);
	/* a growth from 2048 buckets with 8 nodes a step takes many steps:
	 * that is the bounded work per operation */
	assert_true(longest >= 2048 / SB_HASH_REHASH_EMPTY);
	assert_true(steps_in_rehash > 0);

	/* force a rehash and remove nodes while it runs, from both arrays */
	while (sb_hash_rehashing(h))
		sb_hash_find(h, "nothing", 7);
	size_t n0 = sb_hash_buckets(h);
	struct item *more = items_new(N + n0);
	for (size_t i = N; sb_hash_count(h) <= n0; i++)
		assert_int_equal(sb_hash_insert(h, &more[i].node, more[i].key, more[i].klen), 0);
	assert_true(sb_hash_rehashing(h));
	for (size_t i = 0; i < N; i += 2) {
		sb_hash_remove(h, &it[i].node);
		present[i] = false;
	}
	check_all(h, it, N, present);
	while (sb_hash_rehashing(h))
		sb_hash_find(h, "nothing", 7);
	check_all(h, it, N, present);
	assert_int_equal(sb_hash_count(h), N / 2 + (n0 + 1 - N));

	sb_hash_clear(h, NULL, NULL);
	assert_int_equal(sb_hash_count(h), 0);
	assert_null(find(h, "key-1"));
	sb_hash_free(h);
	free(it);
	free(more);
	free(present);
}

/* Growth work is spread: finishing a rehash of n nodes takes at least
 * n / SB_HASH_REHASH_NODES operations, each moving a bounded number. */
static void test_rehash_work_is_bounded(void **state)
{
	(void)state;
	enum { N = 1025 };
	struct sb_hash *h;
	struct sb_hash_cfg cfg = { .initial_buckets = 1024 };
	assert_int_equal(sb_hash_alloc(&h, &cfg), 0);
	struct item *it = items_new(N);
	for (size_t i = 0; i < N - 1; i++)
		assert_int_equal(sb_hash_insert(h, &it[i].node, it[i].key, it[i].klen), 0);
	assert_false(sb_hash_rehashing(h));
	assert_int_equal(sb_hash_buckets(h), 1024);
	assert_int_equal(sb_hash_insert(h, &it[N - 1].node, it[N - 1].key, it[N - 1].klen), 0);
	assert_true(sb_hash_rehashing(h));
	size_t ops = 0;
	while (sb_hash_rehashing(h)) {
		assert_ptr_equal(find(h, it[ops % N].key), &it[ops % N]);
		ops++;
		assert_true(ops <= N);
	}
	assert_true(ops >= N / SB_HASH_REHASH_NODES - 1);
	assert_int_equal(sb_hash_buckets(h), 2048);
	for (size_t i = 0; i < N; i++)
		assert_ptr_equal(find(h, it[i].key), &it[i]);
	sb_hash_free(h);
	free(it);
}

/* A bucket longer than one step is half moved between operations: its
 * nodes are found, and removed, in either array. */
static void test_half_moved_bucket(void **state)
{
	(void)state;
	enum { N = 17 };
	struct sb_hash *h;
	struct sb_hash_cfg cfg = { .initial_buckets = 16 };
	assert_int_equal(sb_hash_alloc(&h, &cfg), 0);
	/* N keys that all fall in bucket 0 of 16 */
	struct item *it = calloc(N, sizeof *it);
	assert_non_null(it);
	for (unsigned i = 0, c = 0; i < N; c++) {
		char k[24];
		int l = snprintf(k, sizeof k, "c-%u", c);
		if (sb_hash_bytes(k, (size_t)l, 0) & 15u)
			continue;
		memcpy(it[i].key, k, (size_t)l + 1);
		it[i].klen = (size_t)l;
		i++;
	}
	for (size_t i = 0; i < N; i++)
		assert_int_equal(sb_hash_insert(h, &it[i].node, it[i].key, it[i].klen), 0);
	assert_true(sb_hash_rehashing(h));
	/* each lookup moves SB_HASH_REHASH_NODES (8) of the 17 chained nodes:
	 * after the first, the bucket is split between the arrays */
	bool present[N];
	for (size_t i = 0; i < N; i++)
		present[i] = true;
	assert_ptr_equal(find(h, it[0].key), &it[0]);
	assert_true(sb_hash_rehashing(h));
	check_all(h, it, N, present);
	/* remove while split (remove steps too) */
	struct sb_hash *h2;
	assert_int_equal(sb_hash_alloc(&h2, &cfg), 0);
	for (size_t i = 0; i < N; i++)
		assert_int_equal(sb_hash_insert(h2, &it[i].node, it[i].key, it[i].klen), 0);
	sb_hash_find(h2, "x", 1); /* one step: bucket 0 half moved */
	assert_true(sb_hash_rehashing(h2));
	for (size_t i = 0; i < N; i += 3) {
		sb_hash_remove(h2, &it[i].node);
		present[i] = false;
		check_all(h2, it, N, present);
	}
	assert_int_equal(sb_hash_count(h2), N - (N + 2) / 3);
	sb_hash_free(h2);
	sb_hash_free(h);
	free(it);
}

static void mark_h(struct sb_hash_node *n, void *arg)
{
	size_t *count = arg;
	struct item *it = SB_HASH_OWNER(n, struct item, node);
	assert_false(it->seen);
	it->seen = true;
	(*count)++;
}

static void test_walk_and_clear(void **state)
{
	(void)state;
	enum { N = 100 };
	struct sb_hash *h;
	struct sb_hash_cfg cfg = { .initial_buckets = 4 };
	assert_int_equal(sb_hash_alloc(&h, &cfg), 0);
	struct item *it = items_new(N);
	for (size_t i = 0; i < N; i++)
		assert_int_equal(sb_hash_insert(h, &it[i].node, it[i].key, it[i].klen), 0);
	size_t count = 0;
	sb_hash_walk(h, mark_h, &count);
	assert_int_equal(count, N);
	for (size_t i = 0; i < N; i++) {
		assert_true(it[i].seen);
		it[i].seen = false;
	}
	count = 0;
	sb_hash_clear(h, mark_h, &count);
	assert_int_equal(count, N);
	assert_int_equal(sb_hash_count(h), 0);
	for (size_t i = 0; i < N; i++)
		assert_null(find(h, it[i].key));
	sb_hash_free(h);
	free(it);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash64),
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_bound),
		cmocka_unit_test(test_incremental_rehash),
		cmocka_unit_test(test_rehash_work_is_bounded),
		cmocka_unit_test(test_half_moved_bucket),
		cmocka_unit_test(test_walk_and_clear),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
