/* Unit tests for location: canonical AOR keys, add/refresh/remove, lookup
 * order (q, then newest), expiry exactly on time on the manual clock,
 * bounds (max_per_aor, max_bindings, check_room), and a table large enough
 * to rehash.  Inputs are exact-size heap copies (testutil.h) so that ASan
 * sees a read past the end. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "switchboard/location.h"
#include "testutil.h"

struct fx {
	struct sb_loop *loop;
	struct sb_location *loc;
};

static struct fx fx_new(uint32_t max_bindings, uint32_t max_per_aor)
{
	struct fx f = { 0 };
	struct sb_loop_cfg lc = { .manual_clock = true };
	assert_int_equal(sb_loop_alloc(&f.loop, &lc), 0);
	struct sb_location_cfg cfg = { .loop = f.loop, .max_bindings = max_bindings,
				       .max_per_aor = max_per_aor, .hash_seed = 42 };
	assert_int_equal(sb_location_alloc(&f.loc, &cfg), 0);
	return f;
}

static void fx_free(struct fx *f)
{
	sb_location_free(f->loc);
	assert_int_equal(sb_loop_timer_count(f->loop), 0);
	sb_loop_free(f->loop);
}

static int add(struct fx *f, const char *aor, const char *contact, const char *call_id,
	       uint32_t cseq, uint32_t expires, unsigned q1000)
{
	struct sb_binding_update u = {
		.aor = exact(aor),
		.contact = exact(contact),
		.call_id = exact(call_id),
		.cseq = cseq,
		.expires_s = expires,
		.q1000 = q1000,
	};
	return sb_location_update(f->loc, &u);
}

static const struct sb_binding *find(struct fx *f, const char *aor, const char *contact)
{
	return sb_location_find(f->loc, exact(aor), exact(contact));
}

/* The canonical key of a URI given as text. */
static int key_of(const char *uri_text, char *out, size_t cap)
{
	struct sb_uri u;
	assert_int_equal(sb_uri_parse(&u, exact(uri_text)), 0);
	size_t len = 0;
	int err = sb_location_aor_key(&u, out, cap - 1, &len); /* room for NUL */
	if (!err) {
		assert_true(len < cap);
		out[len] = '\0';
	}
	return err;
}

static void check_key(const char *uri_text, const char *want)
{
	char k[SB_LOC_MAX_AOR + 1];
	assert_int_equal(key_of(uri_text, k, sizeof k), 0);
	assert_string_equal(k, want);
}

/* ---- AOR keys ---- */

static void test_aor_key(void **state)
{
	(void)state;
	check_key("sip:Alice@Example.COM:5060;transport=udp?Subject=x", "sip:Alice@example.com");
	check_key("SIP:alice@example.com", "sip:alice@example.com");
	check_key("sips:bob@example.com", "sips:bob@example.com");
	check_key("sip:alice:secret@example.com", "sip:alice@example.com");
	check_key("sip:example.com", "sip:example.com");
	/* escapes: %61 is 'a'; '@' and NUL stay escaped, upper-case hex */
	check_key("sip:%61lice@example.com", "sip:alice@example.com");
	check_key("sip:a%40b@example.com", "sip:a%40b@example.com");
	check_key("sip:null-%00-null@example.com", "sip:null-%00-null@example.com");
	check_key("sip:%2b1%2B2@example.com", "sip:+1+2@example.com");
	check_key("sip:%e2%82%ac@example.com", "sip:%E2%82%AC@example.com");
	check_key("sip:+1-972;x=y@[2001:DB8::1]", "sip:+1-972;x=y@[2001:db8::1]");

	char k[SB_LOC_MAX_AOR + 1];
	struct sb_uri u;
	assert_int_equal(sb_uri_parse(&u, exact("tel:+15551234")), 0);
	size_t len;
	assert_int_equal(sb_location_aor_key(&u, k, sizeof k, &len), EINVAL);
	assert_int_equal(key_of("sip:alice@example.com", k, 10), ENOSPC);
	assert_int_equal(key_of("sip:alice@example.com", k, 21), ENOSPC); /* 21 + NUL */
	assert_int_equal(key_of("sip:alice@example.com", k, 22), 0);
	/* exactly cap bytes fit (no NUL is written) */
	assert_int_equal(sb_uri_parse(&u, exact("sip:alice@example.com")), 0);
	assert_int_equal(sb_location_aor_key(&u, k, 21, &len), 0);
	assert_int_equal(len, 21);
	assert_int_equal(sb_location_aor_key(&u, k, 20, &len), ENOSPC);
	/* a user that is long only once escaped */
	char big[300];
	memcpy(big, "sip:", 4);
	size_t n = 4;
	for (int i = 0; i < 90; i++) {
		big[n++] = '%';
		big[n++] = '0';
		big[n++] = '0';
	}
	memcpy(big + n, "@h", 3);
	assert_int_equal(key_of(big, k, sizeof k), ENOSPC);
}

/* ---- add, refresh, remove ---- */

static void test_add_find_refresh_remove(void **state)
{
	(void)state;
	struct fx f = fx_new(0, 0);
	assert_int_equal(add(&f, "sip:alice@example.com", "sip:alice@pc33.example.com:5060", "cid-1", 1,
			     3600, 1000), 0);
	assert_int_equal(sb_location_count(f.loc), 1);
	assert_int_equal(sb_location_aor_count(f.loc), 1);
	const struct sb_binding *b = find(&f, "sip:alice@example.com", "sip:alice@pc33.example.com:5060");
	assert_non_null(b);
	check_slice(b->contact, "sip:alice@pc33.example.com:5060");
	check_slice(b->call_id, "cid-1");
	assert_int_equal(b->cseq, 1);
	assert_int_equal(b->q1000, 1000);
	assert_int_equal(b->expires_at, 3600000);
	assert_null(find(&f, "sip:alice@example.com", "sip:alice@192.0.2.2:5060"));
	assert_null(find(&f, "sip:bob@example.com", "sip:alice@pc33.example.com:5060"));

	/* a refresh finds the binding by RFC 3261 §19.1.4 equality (host case
	 * differs, a parameter only one side has is ignored), takes the new text, Call-ID and CSeq */
	sb_loop_advance(f.loop, 1000);
	assert_int_equal(add(&f, "sip:alice@example.com", "sip:alice@PC33.Example.COM:5060;x=y",
			     "a-much-longer-call-id-than-before", 7, 60, 500), 0);
	assert_int_equal(add(&f, "sip:alice@example.com", "sip:alice@pc33.example.com:5060", "cid-2", 8,
			     120, 500), 0);
	assert_int_equal(sb_location_count(f.loc), 1);
	b = find(&f, "sip:alice@example.com", "sip:alice@pc33.example.com:5060");
	assert_non_null(b);
	check_slice(b->call_id, "cid-2");
	assert_int_equal(b->cseq, 8);
	assert_int_equal(b->q1000, 500);
	assert_int_equal(b->expires_at, 1000 + 120000);
	assert_int_equal(sb_loop_timer_count(f.loop), 1);

	/* expires 0 removes; again is a no-op */
	assert_int_equal(add(&f, "sip:alice@example.com", "sip:alice@pc33.example.com", "cid-2", 9, 0,
			     1000), 0);
	/* port 5060 explicit vs absent are different URIs: nothing removed */
	assert_int_equal(sb_location_count(f.loc), 1);
	assert_int_equal(add(&f, "sip:alice@example.com", "sip:alice@pc33.example.com:5060", "cid-2", 9,
			     0, 1000), 0);
	assert_int_equal(sb_location_count(f.loc), 0);
	assert_int_equal(sb_location_aor_count(f.loc), 0);
	assert_int_equal(sb_loop_timer_count(f.loop), 0);
	assert_int_equal(add(&f, "sip:alice@example.com", "sip:alice@pc33.example.com:5060", "cid-2", 10,
			     0, 1000), 0);
	fx_free(&f);
	free_all(NULL);
}

static void test_source_kept(void **state)
{
	(void)state;
	struct fx f = fx_new(0, 0);
	struct sb_binding_update u = {
		.aor = exact("sip:nat@example.com"),
		.contact = exact("sip:nat@10.0.0.7:5060"),
		.call_id = exact("c"),
		.cseq = 1,
		.expires_s = 300,
		.q1000 = 1000,
		.source = { .proto = SB_TP_TCP, .conn_id = 77 },
	};
	assert_int_equal(sb_addr_parse(&u.source.addr, "198.51.100.9", 40123), 0);
	assert_int_equal(sb_location_update(f.loc, &u), 0);
	const struct sb_binding *b = find(&f, "sip:nat@example.com", "sip:nat@10.0.0.7:5060");
	assert_non_null(b);
	assert_int_equal(b->source.proto, SB_TP_TCP);
	assert_int_equal(b->source.conn_id, 77);
	assert_true(sb_addr_eq(&b->source.addr, &u.source.addr));
	fx_free(&f);
	free_all(NULL);
}

static void test_invalid(void **state)
{
	(void)state;
	struct fx f = fx_new(0, 0);
	assert_int_equal(add(&f, "sip:a@x", "not a uri", "c", 1, 60, 1000), EINVAL);
	struct sb_binding_update u = { .aor = SB_SLICE_NULL, .contact = exact("sip:a@h"),
				       .call_id = exact("c"), .expires_s = 60 };
	assert_int_equal(sb_location_update(f.loc, &u), EINVAL);
	char longc[SB_LOC_MAX_CONTACT + 16];
	memcpy(longc, "sip:", 4);
	memset(longc + 4, 'a', sizeof longc - 4 - 3);
	memcpy(longc + sizeof longc - 3, "@h", 3);
	assert_int_equal(add(&f, "sip:a@x", longc, "c", 1, 60, 1000), EINVAL);
	assert_int_equal(sb_location_count(f.loc), 0);
	struct sb_location *l = NULL;
	struct sb_location_cfg cfg = { 0 };
	assert_int_equal(sb_location_alloc(&l, &cfg), EINVAL);
	fx_free(&f);
	free_all(NULL);
}

/* ---- lookup order ---- */

static void test_lookup_order(void **state)
{
	(void)state;
	struct fx f = fx_new(0, 0);
	const char *aor = "sip:bob@example.com";
	assert_int_equal(add(&f, aor, "sip:bob@192.0.2.1", "c", 1, 3600, 500), 0);
	assert_int_equal(add(&f, aor, "sip:bob@192.0.2.2", "c", 1, 3600, 1000), 0);
	assert_int_equal(add(&f, aor, "sip:bob@192.0.2.3", "c", 1, 3600, 100), 0);
	assert_int_equal(add(&f, aor, "sip:bob@192.0.2.4", "c", 1, 3600, 500), 0);
	const struct sb_binding *out[8];
	assert_int_equal(sb_location_lookup(f.loc, exact(aor), out, 8), 4);
	/* q descending; among the two q=0.5 the newer (.4) first */
	check_slice(out[0]->contact, "sip:bob@192.0.2.2");
	check_slice(out[1]->contact, "sip:bob@192.0.2.4");
	check_slice(out[2]->contact, "sip:bob@192.0.2.1");
	check_slice(out[3]->contact, "sip:bob@192.0.2.3");
	/* a refresh of .1 makes it the newest of its q */
	assert_int_equal(add(&f, aor, "sip:bob@192.0.2.1", "c", 2, 3600, 500), 0);
	assert_int_equal(sb_location_lookup(f.loc, exact(aor), out, 2), 4);
	check_slice(out[0]->contact, "sip:bob@192.0.2.2");
	check_slice(out[1]->contact, "sip:bob@192.0.2.1");
	/* and a new q moves it */
	assert_int_equal(add(&f, aor, "sip:bob@192.0.2.3", "c", 2, 3600, 1000), 0);
	assert_int_equal(sb_location_lookup(f.loc, exact(aor), out, 8), 4);
	check_slice(out[0]->contact, "sip:bob@192.0.2.3");
	check_slice(out[1]->contact, "sip:bob@192.0.2.2");
	assert_int_equal(sb_location_lookup(f.loc, exact("sip:nobody@example.com"), out, 8), 0);
	assert_int_equal(sb_location_remove_aor(f.loc, exact(aor)), 4);
	assert_int_equal(sb_location_count(f.loc), 0);
	assert_int_equal(sb_loop_timer_count(f.loop), 0);
	assert_int_equal(sb_location_remove_aor(f.loc, exact(aor)), 0);
	fx_free(&f);
	free_all(NULL);
}

/* RFC 4475 §3.1.1.4 escnull: %00 and %00%00 are two users, two bindings. */
static void test_escnull_two_bindings(void **state)
{
	(void)state;
	struct fx f = fx_new(0, 0);
	const char *aor = "sip:null-%00-null@example.com";
	assert_int_equal(add(&f, aor, "sip:%00@host5.example.com", "c", 1, 3600, 1000), 0);
	assert_int_equal(add(&f, aor, "sip:%00%00@host5.example.com", "c", 1, 3600, 1000), 0);
	assert_int_equal(sb_location_count(f.loc), 2);
	assert_non_null(find(&f, aor, "sip:%00@host5.example.com"));
	assert_non_null(find(&f, aor, "sip:%00%00@host5.example.com"));
	fx_free(&f);
	free_all(NULL);
}

/* ---- expiry ---- */

static void test_expiry_on_time(void **state)
{
	(void)state;
	struct fx f = fx_new(0, 0);
	const char *aor = "sip:carol@example.com";
	assert_int_equal(add(&f, aor, "sip:carol@192.0.2.1", "c", 1, 60, 1000), 0);
	assert_int_equal(add(&f, aor, "sip:carol@192.0.2.2", "c", 1, 90, 1000), 0);
	sb_loop_advance(f.loop, 59999);
	assert_int_equal(sb_location_count(f.loc), 2);
	sb_loop_advance(f.loop, 1);
	assert_int_equal(sb_location_count(f.loc), 1);
	assert_null(find(&f, aor, "sip:carol@192.0.2.1"));
	assert_non_null(find(&f, aor, "sip:carol@192.0.2.2"));

	/* a refresh pushes the deadline: at 60 s, 30 more from now */
	assert_int_equal(add(&f, aor, "sip:carol@192.0.2.2", "c", 2, 30, 1000), 0);
	sb_loop_advance(f.loop, 29999);
	assert_int_equal(sb_location_count(f.loc), 1);
	sb_loop_advance(f.loop, 1);
	assert_int_equal(sb_location_count(f.loc), 0);
	assert_int_equal(sb_location_aor_count(f.loc), 0);
	assert_int_equal(sb_loop_timer_count(f.loop), 0);
	fx_free(&f);
	free_all(NULL);
}

/* ---- bounds ---- */

static void test_bounds(void **state)
{
	(void)state;
	struct fx f = fx_new(3, 2);
	assert_int_equal(add(&f, "sip:a@x", "sip:a@1.1.1.1", "c", 1, 60, 1000), 0);
	assert_int_equal(add(&f, "sip:a@x", "sip:a@1.1.1.2", "c", 1, 60, 1000), 0);
	assert_int_equal(add(&f, "sip:a@x", "sip:a@1.1.1.3", "c", 1, 60, 1000), ENOSPC);
	/* a refresh of a full AOR is fine */
	assert_int_equal(add(&f, "sip:a@x", "sip:a@1.1.1.2", "c", 2, 60, 1000), 0);
	assert_int_equal(sb_location_check_room(f.loc, exact("sip:a@x"), 0, 1), EDQUOT);
	assert_int_equal(sb_location_check_room(f.loc, exact("sip:a@x"), 1, 1), 0);
	assert_int_equal(sb_location_check_room(f.loc, exact("sip:b@x"), 0, 1), 0);
	assert_int_equal(sb_location_check_room(f.loc, exact("sip:b@x"), 0, 2), ENOSPC);
	assert_int_equal(add(&f, "sip:b@x", "sip:b@1.1.1.1", "c", 1, 60, 1000), 0);
	assert_int_equal(add(&f, "sip:c@x", "sip:c@1.1.1.1", "c", 1, 60, 1000), ENOSPC);
	assert_int_equal(sb_location_check_room(f.loc, exact("sip:c@x"), 0, 1), ENOSPC);
	assert_int_equal(sb_location_count(f.loc), 3);
	assert_int_equal(sb_location_aor_count(f.loc), 2);
	/* room comes back when a binding expires */
	sb_loop_advance(f.loop, 60000);
	assert_int_equal(sb_location_count(f.loc), 0);
	assert_int_equal(add(&f, "sip:c@x", "sip:c@1.1.1.1", "c", 1, 60, 1000), 0);
	fx_free(&f);
	free_all(NULL);
}

/* The loop's timer bound is a bound of the location too. */
static void test_timer_bound(void **state)
{
	(void)state;
	struct fx f = { 0 };
	struct sb_loop_cfg lc = { .manual_clock = true, .max_timers = 1 };
	assert_int_equal(sb_loop_alloc(&f.loop, &lc), 0);
	struct sb_location_cfg cfg = { .loop = f.loop };
	assert_int_equal(sb_location_alloc(&f.loc, &cfg), 0);
	assert_int_equal(add(&f, "sip:a@x", "sip:a@1.1.1.1", "c", 1, 60, 1000), 0);
	assert_int_equal(add(&f, "sip:b@x", "sip:b@1.1.1.1", "c", 1, 60, 1000), ENOSPC);
	assert_int_equal(sb_location_count(f.loc), 1);
	assert_int_equal(sb_location_aor_count(f.loc), 1);
	/* a refresh reuses its own timer slot */
	assert_int_equal(add(&f, "sip:a@x", "sip:a@1.1.1.1", "a-longer-call-id", 2, 90, 1000), 0);
	fx_free(&f);
	free_all(NULL);
}

/* Enough AORs to rehash the table several times while lookups go on. */
static void test_many(void **state)
{
	(void)state;
	struct fx f = fx_new(0, 0);
	enum { N = 20000 };
	char aor[64], contact[96];
	for (int i = 0; i < N; i++) {
		snprintf(aor, sizeof aor, "sip:user%d@example.com", i);
		snprintf(contact, sizeof contact, "sip:user%d@192.0.2.%d:5060", i, i % 250);
		struct sb_binding_update u = {
			.aor = sb_slice_cstr(aor), .contact = sb_slice_cstr(contact),
			.call_id = SB_LIT("c"), .cseq = 1,
			.expires_s = 60 + (uint32_t)(i % 10), .q1000 = 1000,
		};
		assert_int_equal(sb_location_update(f.loc, &u), 0);
	}
	assert_int_equal(sb_location_count(f.loc), N);
	for (int i = 0; i < N; i++) {
		snprintf(aor, sizeof aor, "sip:user%d@example.com", i);
		const struct sb_binding *b;
		assert_int_equal(sb_location_lookup(f.loc, sb_slice_cstr(aor), &b, 1), 1);
		snprintf(contact, sizeof contact, "sip:user%d@192.0.2.%d:5060", i, i % 250);
		check_slice(b->contact, contact);
	}
	sb_loop_advance(f.loop, 64999);
	assert_int_equal(sb_location_count(f.loc), N / 2);
	sb_loop_advance(f.loop, 5000);
	assert_int_equal(sb_location_count(f.loc), 0);
	fx_free(&f);
}

/* Freeing a location with live bindings frees them and stops the timers
 * (ASan reports a leak otherwise; fx_free checks the timer count). */
static void test_free_live(void **state)
{
	(void)state;
	struct fx f = fx_new(0, 0);
	assert_int_equal(add(&f, "sip:a@x", "sip:a@1.1.1.1", "c", 1, 60, 1000), 0);
	assert_int_equal(add(&f, "sip:a@x", "sip:a@1.1.1.2", "c", 1, 60, 1000), 0);
	assert_int_equal(add(&f, "sip:b@x", "sip:b@1.1.1.1", "c", 1, 60, 1000), 0);
	assert_int_equal(sb_loop_timer_count(f.loop), 3);
	fx_free(&f);
	free_all(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_aor_key, free_all),
		cmocka_unit_test(test_add_find_refresh_remove),
		cmocka_unit_test(test_source_kept),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_lookup_order),
		cmocka_unit_test(test_escnull_two_bindings),
		cmocka_unit_test(test_expiry_on_time),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_timer_bound),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_free_live),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
