/* Unit tests for users (users.c): the user directory.  Put, find, replace
 * (new HA1s, same rules and created time) and delete; names and HA1s that
 * are refused; the max bound; forwarding rules (set, replace, delete, the
 * DND target ignored, bad URIs, unknown users); foreach and its early stop;
 * and the HA1s put_password derives, against the published vectors of
 * RFC 7616 §3.9.1 and RFC 2617 §3.5 (checked with md5sum and sha256sum). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "switchboard/users.h"

#include "testutil.h"

#define MD5_A "939e7578ed9e3c518a452acee763bce9"
#define MD5_B "3d78807defe7de2157e2b0b6573a855f"
#define SHA_A "7987c64c30e25f1b74be53f966b49b90f2808aa92faf9a00262392d7b4794232"

static struct sb_users *dir(uint32_t max)
{
	struct sb_users *u = NULL;
	assert_int_equal(sb_users_alloc(&u, max, 42), 0);
	assert_non_null(u);
	return u;
}

static int put(struct sb_users *u, const char *name, const char *md5, const char *sha,
	       int64_t created)
{
	return sb_users_put(u, exact(name), exact(md5), exact(sha), created);
}

static const struct sb_user *find(struct sb_users *u, const char *name)
{
	return sb_users_find(u, exact(name));
}

/* Put, find (byte for byte: case counts), replace and delete. */
static void test_put_find_replace_del(void **state)
{
	(void)state;
	struct sb_users *u = dir(0);
	assert_int_equal(sb_users_count(u), 0);
	/* upper-case hex is kept lower-case */
	assert_int_equal(put(u, "alice", "939E7578ED9E3C518A452ACEE763BCE9", "", 1000), 0);
	assert_int_equal(sb_users_count(u), 1);

	const struct sb_user *a = find(u, "alice");
	assert_non_null(a);
	assert_string_equal(a->name, "alice");
	assert_int_equal(a->name_len, 5);
	assert_string_equal(a->ha1[SB_DIGEST_MD5], MD5_A);
	assert_string_equal(a->ha1[SB_DIGEST_SHA256], "");
	assert_int_equal(a->created, 1000);
	for (unsigned k = 1; k <= SB_USERS_RULE_KINDS; k++) {
		assert_false(a->rule[k].set);
		assert_null(a->rule[k].target);
	}
	/* RFC 3261 §19.1.4: the user part is case-sensitive */
	assert_null(find(u, "Alice"));
	assert_null(find(u, "alic"));
	assert_null(find(u, "alice2"));
	assert_null(sb_users_find(u, SB_SLICE_NULL));

	/* a new password replaces both HA1s, keeps the rules and created */
	assert_int_equal(sb_users_set_rule(u, exact("alice"), SB_STORE_FWD_BUSY,
					   exact("sip:vm@example.com"), 0), 0);
	assert_int_equal(put(u, "alice", "", SHA_A, 2000), 0);
	assert_int_equal(sb_users_count(u), 1);
	a = find(u, "alice");
	assert_non_null(a);
	assert_string_equal(a->ha1[SB_DIGEST_MD5], "");
	assert_string_equal(a->ha1[SB_DIGEST_SHA256], SHA_A);
	assert_int_equal(a->created, 1000);
	assert_true(a->rule[SB_STORE_FWD_BUSY].set);
	assert_string_equal(a->rule[SB_STORE_FWD_BUSY].target, "sip:vm@example.com");

	/* a second user beside it */
	assert_int_equal(put(u, "bob", MD5_B, SHA_A, 3000), 0);
	assert_int_equal(sb_users_count(u), 2);
	assert_string_equal(find(u, "bob")->ha1[SB_DIGEST_MD5], MD5_B);

	/* delete: gone, rules and all (ASan checks the target was freed) */
	assert_int_equal(sb_users_del(u, exact("alice")), 0);
	assert_null(find(u, "alice"));
	assert_int_equal(sb_users_count(u), 1);
	assert_int_equal(sb_users_del(u, exact("alice")), ENOENT);
	assert_int_equal(sb_users_del(u, exact("nobody")), ENOENT);
	assert_non_null(find(u, "bob"));

	/* put again after delete: a new user, no rules */
	assert_int_equal(put(u, "alice", MD5_A, "", 4000), 0);
	a = find(u, "alice");
	assert_int_equal(a->created, 4000);
	assert_false(a->rule[SB_STORE_FWD_BUSY].set);
	sb_users_free(u);
	sb_users_free(NULL);
}

static void test_bad_names(void **state)
{
	(void)state;
	struct sb_users *u = dir(0);
	char longname[SB_USERS_MAX_NAME + 2];
	memset(longname, 'n', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';

	assert_int_equal(sb_users_put(u, SB_SLICE_NULL, exact(MD5_A), exact(""), 0), EINVAL);
	assert_int_equal(put(u, "", MD5_A, "", 0), EINVAL);
	assert_int_equal(put(u, longname, MD5_A, "", 0), EINVAL);  /* 129 bytes */
	/* "." and "..": dot segments of a path, which no client can address */
	const char *bad[] = { "a:b", "a@b", "a b", "a\tb", "a\r\nb", "a\x7f", "\x01", ".", ".." };
	for (size_t i = 0; i < SB_ARRAY_LEN(bad); i++)
		assert_int_equal(put(u, bad[i], MD5_A, "", 0), EINVAL);
	/* a NUL inside the name */
	assert_int_equal(sb_users_put(u, exact_n("a\0b", 3), exact(MD5_A), exact(""), 0), EINVAL);
	assert_int_equal(sb_users_count(u), 0);

	/* the longest name, and bytes that are fine: UTF-8, URI marks */
	longname[SB_USERS_MAX_NAME] = '\0';
	assert_int_equal(put(u, longname, MD5_A, "", 0), 0);
	assert_int_equal(find(u, longname)->name_len, SB_USERS_MAX_NAME);
	assert_int_equal(put(u, "j\xc3\xbcrgen", MD5_A, "", 0), 0);
	assert_int_equal(put(u, "first.last+tag_1-x!~*'()", MD5_A, "", 0), 0);
	assert_int_equal(put(u, "...", MD5_A, "", 0), 0);
	assert_int_equal(put(u, ".a", MD5_A, "", 0), 0);
	assert_int_equal(sb_users_count(u), 5);
	sb_users_free(u);
}

static void test_bad_ha1(void **state)
{
	(void)state;
	struct sb_users *u = dir(0);
	assert_int_equal(put(u, "a", "", "", 0), EINVAL);                  /* both empty */
	assert_int_equal(sb_users_put(u, exact("a"), SB_SLICE_NULL, SB_SLICE_NULL, 0), EINVAL);
	assert_int_equal(put(u, "a", MD5_A "0", "", 0), EINVAL);           /* 33 digits */
	assert_int_equal(put(u, "a", "939e7578ed9e3c518a452acee763bce", "", 0), EINVAL);
	assert_int_equal(put(u, "a", "939e7578ed9e3c518a452acee763bceg", "", 0), EINVAL);
	assert_int_equal(put(u, "a", "", MD5_A, 0), EINVAL);               /* MD5 length */
	assert_int_equal(put(u, "a", SHA_A, "", 0), EINVAL);               /* SHA length */
	assert_int_equal(put(u, "a", MD5_A, SHA_A "0", 0), EINVAL);        /* one good, one bad */
	assert_int_equal(put(u, "a", " 39e7578ed9e3c518a452acee763bce9", "", 0), EINVAL);
	assert_int_equal(sb_users_count(u), 0);

	/* a bad HA1 on an existing user leaves it as it was */
	assert_int_equal(put(u, "a", MD5_A, "", 0), 0);
	assert_int_equal(put(u, "a", "xyz", "", 0), EINVAL);
	assert_string_equal(find(u, "a")->ha1[SB_DIGEST_MD5], MD5_A);
	sb_users_free(u);
}

static void test_max(void **state)
{
	(void)state;
	struct sb_users *u = dir(2);
	assert_int_equal(put(u, "a", MD5_A, "", 0), 0);
	assert_int_equal(put(u, "b", MD5_A, "", 0), 0);
	assert_int_equal(put(u, "c", MD5_A, "", 0), ENOSPC);
	assert_null(find(u, "c"));
	/* replacing at the bound is fine */
	assert_int_equal(put(u, "a", MD5_B, "", 0), 0);
	assert_string_equal(find(u, "a")->ha1[SB_DIGEST_MD5], MD5_B);
	assert_int_equal(sb_users_count(u), 2);
	/* a delete makes room */
	assert_int_equal(sb_users_del(u, exact("b")), 0);
	assert_int_equal(put(u, "c", MD5_A, "", 0), 0);
	assert_int_equal(sb_users_count(u), 2);
	sb_users_free(u);
}

static int set(struct sb_users *u, const char *name, enum sb_store_fwd k, const char *target,
	       uint32_t noanswer_s)
{
	return sb_users_set_rule(u, exact(name), k, exact(target), noanswer_s);
}

static void test_rules(void **state)
{
	(void)state;
	struct sb_users *u = dir(0);
	assert_int_equal(put(u, "alice", MD5_A, "", 0), 0);
	const struct sb_user *a = find(u, "alice");

	/* set and replace */
	assert_int_equal(set(u, "alice", SB_STORE_FWD_ALWAYS, "sip:bob@example.com", 0), 0);
	assert_true(a->rule[SB_STORE_FWD_ALWAYS].set);
	assert_string_equal(a->rule[SB_STORE_FWD_ALWAYS].target, "sip:bob@example.com");
	assert_int_equal(a->rule[SB_STORE_FWD_ALWAYS].noanswer_s, 0);
	assert_int_equal(set(u, "alice", SB_STORE_FWD_ALWAYS, "sips:carol@example.com:5061", 0), 0);
	assert_string_equal(a->rule[SB_STORE_FWD_ALWAYS].target, "sips:carol@example.com:5061");

	/* noanswer_s: 1..SB_STORE_MAX_NOANSWER_S for NOANSWER, ignored else */
	assert_int_equal(set(u, "alice", SB_STORE_FWD_NOANSWER, "sip:vm@example.com", 0), EINVAL);
	assert_int_equal(set(u, "alice", SB_STORE_FWD_NOANSWER, "sip:vm@example.com",
			     SB_STORE_MAX_NOANSWER_S + 1), EINVAL);
	assert_false(a->rule[SB_STORE_FWD_NOANSWER].set);
	assert_int_equal(set(u, "alice", SB_STORE_FWD_NOANSWER, "sip:vm@example.com", 20), 0);
	assert_int_equal(a->rule[SB_STORE_FWD_NOANSWER].noanswer_s, 20);
	assert_int_equal(set(u, "alice", SB_STORE_FWD_NOANSWER, "sip:vm@example.com",
			     SB_STORE_MAX_NOANSWER_S), 0);
	assert_int_equal(a->rule[SB_STORE_FWD_NOANSWER].noanswer_s, SB_STORE_MAX_NOANSWER_S);
	assert_int_equal(set(u, "alice", SB_STORE_FWD_BUSY, "sip:vm@example.com", 15), 0);
	assert_int_equal(a->rule[SB_STORE_FWD_BUSY].noanswer_s, 0);

	/* DND: the target is ignored, whatever it is */
	assert_int_equal(set(u, "alice", SB_STORE_FWD_DND, "not a uri at all", 9), 0);
	assert_true(a->rule[SB_STORE_FWD_DND].set);
	assert_string_equal(a->rule[SB_STORE_FWD_DND].target, "");
	assert_int_equal(a->rule[SB_STORE_FWD_DND].noanswer_s, 0);
	assert_int_equal(sb_users_set_rule(u, exact("alice"), SB_STORE_FWD_DND, SB_SLICE_NULL, 0),
			 0);

	/* targets that are not sip/sips URIs; the rule stays as it was */
	char longuri[SB_USERS_MAX_TARGET + 2];
	memcpy(longuri, "sip:", 4);
	memset(longuri + 4, 'a', sizeof longuri - 5);
	longuri[sizeof longuri - 1] = '\0';
	const char *bad[] = { "", "bob", "not a uri", "tel:+15551234", "http://example.com/",
			      "sip:", "sip:bob@", "sip:bob@exa mple.com", "sip:bob@example.com\r\n",
			      longuri };
	for (size_t i = 0; i < SB_ARRAY_LEN(bad); i++)
		assert_int_equal(set(u, "alice", SB_STORE_FWD_UNAVAILABLE, bad[i], 0), EINVAL);
	assert_int_equal(sb_users_set_rule(u, exact("alice"), SB_STORE_FWD_UNAVAILABLE,
					   SB_SLICE_NULL, 0), EINVAL);
	assert_int_equal(set(u, "alice", SB_STORE_FWD_ALWAYS, "tel:+15551234", 0), EINVAL);
	assert_string_equal(a->rule[SB_STORE_FWD_ALWAYS].target, "sips:carol@example.com:5061");
	assert_false(a->rule[SB_STORE_FWD_UNAVAILABLE].set);
	/* one byte short of too long is fine */
	longuri[SB_USERS_MAX_TARGET] = '\0';
	assert_int_equal(set(u, "alice", SB_STORE_FWD_UNAVAILABLE, longuri, 0), 0);

	/* kinds out of range */
	assert_int_equal(set(u, "alice", (enum sb_store_fwd)0, "sip:b@x", 0), EINVAL);
	assert_int_equal(set(u, "alice", (enum sb_store_fwd)6, "sip:b@x", 0), EINVAL);

	/* unknown user */
	assert_int_equal(set(u, "carol", SB_STORE_FWD_ALWAYS, "sip:b@x", 0), ENOENT);
	assert_int_equal(sb_users_del_rule(u, exact("carol"), SB_STORE_FWD_ALWAYS), ENOENT);

	/* delete */
	assert_int_equal(sb_users_del_rule(u, exact("alice"), SB_STORE_FWD_ALWAYS), 0);
	assert_false(a->rule[SB_STORE_FWD_ALWAYS].set);
	assert_null(a->rule[SB_STORE_FWD_ALWAYS].target);
	assert_int_equal(sb_users_del_rule(u, exact("alice"), SB_STORE_FWD_ALWAYS), ENOENT);
	assert_int_equal(sb_users_del_rule(u, exact("alice"), (enum sb_store_fwd)9), ENOENT);
	assert_true(a->rule[SB_STORE_FWD_BUSY].set);

	/* freed with rules set: ASan's leak check sees every target go */
	sb_users_free(u);
}

struct seen {
	unsigned n;
	unsigned mask;   /* bit per user name "u0".."u9" */
	int stop_at;     /* return 7 on this call (1-based), 0: never */
};

static int each_h(const struct sb_user *usr, void *arg)
{
	struct seen *s = arg;
	s->n++;
	assert_int_equal(usr->name_len, 2);
	assert_int_equal(usr->name[0], 'u');
	s->mask |= 1u << (usr->name[1] - '0');
	return (int)s->n == s->stop_at ? 7 : 0;
}

static void test_foreach(void **state)
{
	(void)state;
	struct sb_users *u = dir(0);
	struct seen s = { 0 };
	assert_int_equal(sb_users_foreach(u, each_h, &s), 0);
	assert_int_equal(s.n, 0);
	char name[3] = "u0";
	for (int i = 0; i < 10; i++) {
		name[1] = (char)('0' + i);
		assert_int_equal(put(u, name, MD5_A, "", i), 0);
	}
	assert_int_equal(sb_users_foreach(u, each_h, &s), 0);
	assert_int_equal(s.n, 10);
	assert_int_equal(s.mask, 0x3ff);
	/* a non-zero return stops the walk and is returned */
	s = (struct seen){ .stop_at = 3 };
	assert_int_equal(sb_users_foreach(u, each_h, &s), 7);
	assert_int_equal(s.n, 3);
	sb_users_free(u);
}

/* put_password: the published HA1s.  RFC 7616 §3.9.1 (Mufasa, "Circle of
 * Life", http-auth@example.org): MD5 3d78807d..., SHA-256 7987c64c...
 * (`printf 'Mufasa:http-auth@example.org:Circle of Life' | md5sum`);
 * RFC 2617 §3.5 ("Circle Of Life", testrealm@host.com): 939e7578... */
static void test_put_password(void **state)
{
	(void)state;
	struct sb_users *u = dir(0);
	assert_int_equal(sb_users_put_password(u, exact("Mufasa"), exact("http-auth@example.org"),
					       exact("Circle of Life"), 77), 0);
	const struct sb_user *m = find(u, "Mufasa");
	assert_non_null(m);
	assert_string_equal(m->ha1[SB_DIGEST_MD5], MD5_B);
	assert_string_equal(m->ha1[SB_DIGEST_SHA256], SHA_A);
	assert_int_equal(m->created, 77);

	/* a new password under another realm replaces both */
	assert_int_equal(sb_users_put_password(u, exact("Mufasa"), exact("testrealm@host.com"),
					       exact("Circle Of Life"), 99), 0);
	assert_string_equal(m->ha1[SB_DIGEST_MD5], MD5_A);
	assert_int_equal(strlen(m->ha1[SB_DIGEST_SHA256]), SB_DIGEST_SHA256_HEX);
	assert_int_equal(m->created, 77);

	assert_int_equal(sb_users_put_password(u, exact("a:b"), exact("r"), exact("p"), 0), EINVAL);
	assert_int_equal(sb_users_put_password(u, exact("a"), exact(""), exact("p"), 0), EINVAL);
	assert_int_equal(sb_users_put_password(u, exact("a"), exact("r"), SB_SLICE_NULL, 0),
			 EINVAL);
	assert_int_equal(sb_users_count(u), 1);
	sb_users_free(u);
}

/* Enough users to grow the table through several incremental rehashes. */
static void test_many(void **state)
{
	(void)state;
	enum { N = 5000 };
	struct sb_users *u = dir(N);
	char name[16];
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof name, "user%d", i);
		assert_int_equal(sb_users_put(u, sb_slice_cstr(name), sb_slice_cstr(MD5_A),
					      SB_SLICE_NULL, i), 0);
	}
	assert_int_equal(sb_users_put(u, SB_LIT("one-more"), SB_LIT(MD5_A), SB_LIT(""), 0),
			 ENOSPC);
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof name, "user%d", i);
		const struct sb_user *x = sb_users_find(u, sb_slice_cstr(name));
		assert_non_null(x);
		assert_int_equal(x->created, i);
	}
	for (int i = 0; i < N; i += 2) {
		snprintf(name, sizeof name, "user%d", i);
		assert_int_equal(sb_users_del(u, sb_slice_cstr(name)), 0);
	}
	assert_int_equal(sb_users_count(u), N / 2);
	assert_null(sb_users_find(u, SB_LIT("user0")));
	assert_non_null(sb_users_find(u, SB_LIT("user1")));
	sb_users_free(u);
}

static void test_alloc_args(void **state)
{
	(void)state;
	assert_int_equal(sb_users_alloc(NULL, 0, 0), EINVAL);
	assert_int_equal(sb_users_count(NULL), 0);
	assert_null(sb_users_find(NULL, SB_LIT("a")));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_put_find_replace_del, free_all),
		cmocka_unit_test_teardown(test_bad_names, free_all),
		cmocka_unit_test_teardown(test_bad_ha1, free_all),
		cmocka_unit_test_teardown(test_max, free_all),
		cmocka_unit_test_teardown(test_rules, free_all),
		cmocka_unit_test_teardown(test_foreach, free_all),
		cmocka_unit_test_teardown(test_put_password, free_all),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_alloc_args),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
