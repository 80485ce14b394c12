/* Unit tests for the registrar with authentication and the store
 * (registrar.h, RFC 3261 §10.3 steps 3 and 4, RFC 3665 §2): REGISTERs
 * written as C strings, credentials computed as a phone computes them
 * (sb_digest_response over the HA1), answered into a buffer and parsed back.
 * With a store (a real SQLite file under mkdtemp) the 200 comes only after
 * the commit, through done_h, and the binding is in the file. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "switchboard/auth.h"
#include "switchboard/authn.h"
#include "switchboard/registrar.h"
#include "switchboard/store.h"
#include "switchboard/users.h"

#define REALM "example.com"
#define NOW 1700000000u

struct fx {
	struct sb_loop *loop;
	struct sb_location *loc;
	struct sb_users *users;
	struct sb_digest *digest;
	struct sb_authn *authn;
	struct sb_store *store;
	struct sb_registrar *reg;
	struct sb_tp_rx rx;
	struct sb_buf out;
	char dir[64];
	uint64_t now;
	/* the last response: printed, or handed to done_h */
	char resp[8192];
	size_t resp_len;
	struct sb_sip_msg msg;
	uint64_t done_token;
	unsigned done_calls;
};

static uint64_t wall_h(void *arg)
{
	return ((struct fx *)arg)->now;
}

static void done_h(uint64_t token, const char *buf, size_t len, void *arg)
{
	struct fx *f = arg;
	assert_true(len < sizeof f->resp);
	memcpy(f->resp, buf, len);
	f->resp_len = len;
	f->done_token = token;
	f->done_calls++;
}

static void open_store(struct fx *f)
{
	char path[96], err[256];
	snprintf(path, sizeof path, "%s/sb.db", f->dir);
	struct sb_store_cfg sc = { .loop = f->loop, .path = path };
	assert_int_equal(sb_store_alloc(&f->store, &sc, err, sizeof err), 0);
}

static struct fx *fx_new(bool with_store)
{
	struct fx *f = calloc(1, sizeof *f);
	assert_non_null(f);
	f->now = NOW;
	struct sb_loop_cfg lc = { .manual_clock = true };
	assert_int_equal(sb_loop_alloc(&f->loop, &lc), 0);
	struct sb_location_cfg cfg = { .loop = f->loop };
	assert_int_equal(sb_location_alloc(&f->loc, &cfg), 0);
	assert_int_equal(sb_users_alloc(&f->users, 0, 1), 0);
	assert_int_equal(sb_users_put_password(f->users, SB_LIT("alice"), SB_LIT(REALM),
					       SB_LIT("wonderland"), NOW), 0);
	assert_int_equal(sb_users_put_password(f->users, SB_LIT("bob"), SB_LIT(REALM),
					       SB_LIT("builder"), NOW), 0);
	static const uint8_t secret[] = "0123456789abcdef0123456789abcdef";
	struct sb_digest_cfg dc = { .realm = SB_LIT(REALM), .secret = secret,
				    .secret_len = 32 };
	assert_int_equal(sb_digest_alloc(&f->digest, &dc), 0);
	struct sb_authn_cfg ac = { .digest = f->digest, .users = f->users, .max_failures = 3 };
	assert_int_equal(sb_authn_alloc(&f->authn, &ac), 0);
	strcpy(f->dir, "/tmp/sbregXXXXXX");
	assert_non_null(mkdtemp(f->dir));
	if (with_store)
		open_store(f);
	static const char *const doms[] = { REALM, NULL };
	struct sb_registrar_cfg rc = {
		.location = f->loc, .loop = f->loop, .domains = doms, .tag_seed = 1,
		.authn = f->authn, .store = f->store, .done_h = done_h, .done_arg = f,
		.wall_h = wall_h, .wall_arg = f,
	};
	assert_int_equal(sb_registrar_alloc(&f->reg, &rc), 0);
	f->rx.proto = SB_TP_UDP;
	assert_int_equal(sb_addr_parse(&f->rx.src, "192.0.2.10", 5060), 0);
	sb_buf_init(&f->out, 0);
	return f;
}

static void fx_free(struct fx *f)
{
	char path[128];
	sb_store_free(f->store);
	sb_registrar_free(f->reg);
	sb_authn_free(f->authn);
	sb_digest_free(f->digest);
	sb_users_free(f->users);
	sb_location_free(f->loc);
	sb_loop_free(f->loop);
	sb_buf_free(&f->out);
	const char *files[] = { "sb.db", "sb.db-wal", "sb.db-shm" };
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof path, "%s/%s", f->dir, files[i]);
		unlink(path);
	}
	rmdir(f->dir);
	free(f);
}

/* Send one REGISTER; returns sb_registrar_handle's result.  A printed
 * response is copied to f->resp and parsed. */
static int reg(struct fx *f, const char *text)
{
	static char copy[8192];
	size_t l = strlen(text);
	assert_true(l < sizeof copy);
	memcpy(copy, text, l);
	struct sb_sip_msg req;
	assert_int_equal(sb_sip_parse(&req, copy, l, SB_SIP_DATAGRAM), 0);
	f->rx.msg = &req;
	sb_buf_reset(&f->out);
	int err = sb_registrar_handle(f->reg, &req, &f->rx, 42, &f->out);
	if (err == 0) {
		memcpy(f->resp, f->out.p, f->out.len);
		f->resp_len = f->out.len;
		assert_int_equal(sb_sip_parse(&f->msg, f->resp, f->resp_len, SB_SIP_DATAGRAM), 0);
	}
	return err;
}

/* Run the loop until the store's done handler has answered. */
static void wait_done(struct fx *f)
{
	unsigned before = f->done_calls;
	for (int i = 0; i < 500 && f->done_calls == before; i++)
		assert_int_equal(sb_loop_poll(f->loop, 10) >= 0, true);
	assert_int_equal(f->done_calls, before + 1);
	assert_int_equal(f->done_token, 42);
	assert_int_equal(sb_sip_parse(&f->msg, f->resp, f->resp_len, SB_SIP_DATAGRAM), 0);
}

static unsigned status(struct fx *f)
{
	return f->msg.status;
}

/* The nonce of the challenge for alg in the last 401. */
static void challenge_nonce(struct fx *f, const char *alg, char *nonce, size_t cap)
{
	const struct sb_sip_hdr *h;
	for (h = sb_sip_hdr_first(&f->msg, SB_HDR_WWW_AUTHENTICATE); h;
	     h = sb_sip_hdr_next(&f->msg, h)) {
		struct sb_auth a;
		assert_int_equal(sb_auth_parse(&a, h->value), 0);
		if (sb_slice_caseeq_cstr(a.algorithm, alg)) {
			assert_true(a.nonce.l < cap);
			memcpy(nonce, a.nonce.p, a.nonce.l);
			nonce[a.nonce.l] = 0;
			return;
		}
	}
	fail_msg("no %s challenge", alg);
}

/* An Authorization header line as a phone computes it. */
static void credentials(char *out, size_t cap, const char *user, const char *password,
			enum sb_digest_alg alg, const char *nonce, const char *nc, const char *uri)
{
	char ha1[SB_DIGEST_HEX_CAP], resp[SB_DIGEST_HEX_CAP];
	assert_int_equal(sb_digest_ha1(alg, sb_slice_cstr(user), SB_LIT(REALM),
				       sb_slice_cstr(password), ha1, sizeof ha1), 0);
	struct sb_digest_input in = {
		.alg = alg, .ha1 = sb_slice_cstr(ha1), .nonce = sb_slice_cstr(nonce),
		.nc = sb_slice_cstr(nc), .cnonce = SB_LIT("0a4f113b"), .qop = SB_LIT("auth"),
		.method = SB_LIT("REGISTER"), .uri = sb_slice_cstr(uri),
	};
	assert_int_equal(sb_digest_response(&in, resp, sizeof resp), 0);
	snprintf(out, cap,
		 "Authorization: Digest username=\"%s\", realm=\"" REALM "\", nonce=\"%s\", "
		 "uri=\"%s\", response=\"%s\", algorithm=%s, cnonce=\"0a4f113b\", qop=auth, "
		 "nc=%s\r\n", user, nonce, uri, resp, sb_digest_alg_name(alg), nc);
}

static void make_register(char *out, size_t cap, const char *aor_user, unsigned cseq,
			  const char *contact, const char *auth)
{
	snprintf(out, cap,
		 "REGISTER sip:" REALM " SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKr%u\r\n"
		 "Max-Forwards: 70\r\n"
		 "From: <sip:%s@" REALM ">;tag=f1\r\n"
		 "To: <sip:%s@" REALM ">\r\n"
		 "Call-ID: reg-1@192.0.2.10\r\n"
		 "CSeq: %u REGISTER\r\n"
		 "%s%s%s"
		 "%s"
		 "Content-Length: 0\r\n\r\n",
		 cseq, aor_user, aor_user, cseq, contact ? "Contact: <" : "",
		 contact ? contact : "", contact ? ">;expires=600\r\n" : "", auth ? auth : "");
}

/* RFC 3665 §2.1: a new registration, 401 then 200. */
static void test_new_registration(void **state)
{
	(void)state;
	struct fx *f = fx_new(false);
	char req[4096], auth[1024], nonce[128];
	make_register(req, sizeof req, "alice", 1, "sip:alice@192.0.2.10:5060", NULL);
	assert_int_equal(reg(f, req), 0);
	assert_int_equal(status(f), 401);
	/* two challenges, SHA-256 first (RFC 8760 §2.4) */
	const struct sb_sip_hdr *h = sb_sip_hdr_first(&f->msg, SB_HDR_WWW_AUTHENTICATE);
	assert_non_null(h);
	assert_non_null(strstr(h->value.p, "algorithm=SHA-256"));
	h = sb_sip_hdr_next(&f->msg, h);
	assert_non_null(h);
	assert_true(memmem(h->value.p, h->value.l, "algorithm=MD5", 13) != NULL);
	assert_null(sb_sip_hdr_next(&f->msg, h));
	assert_int_equal(sb_location_count(f->loc), 0);

	challenge_nonce(f, "MD5", nonce, sizeof nonce);
	credentials(auth, sizeof auth, "alice", "wonderland", SB_DIGEST_MD5, nonce, "00000001",
		    "sip:" REALM);
	make_register(req, sizeof req, "alice", 2, "sip:alice@192.0.2.10:5060", auth);
	assert_int_equal(reg(f, req), 0);
	assert_int_equal(status(f), 200);
	assert_int_equal(sb_location_count(f->loc), 1);
	assert_non_null(sb_location_find(f->loc, SB_LIT("sip:alice@example.com"),
					 SB_LIT("sip:alice@192.0.2.10:5060")));
	fx_free(f);
}

/* SHA-256 credentials succeed too; a replay of the same nc is challenged
 * again; RFC 3665 §2.3 query and §2.4 cancellation (authenticated). */
static void test_sha256_replay_query_cancel(void **state)
{
	(void)state;
	struct fx *f = fx_new(false);
	char req[4096], auth[1024], nonce[128];
	make_register(req, sizeof req, "bob", 1, "sip:bob@192.0.2.20", NULL);
	assert_int_equal(reg(f, req), 0);
	challenge_nonce(f, "SHA-256", nonce, sizeof nonce);
	credentials(auth, sizeof auth, "bob", "builder", SB_DIGEST_SHA256, nonce, "00000001",
		    "sip:" REALM);
	make_register(req, sizeof req, "bob", 2, "sip:bob@192.0.2.20", auth);
	assert_int_equal(reg(f, req), 0);
	assert_int_equal(status(f), 200);
	/* the same credentials again: a replay, challenged, nothing changed */
	make_register(req, sizeof req, "bob", 3, "sip:bob@192.0.2.21", auth);
	assert_int_equal(reg(f, req), 0);
	assert_int_equal(status(f), 401);
	assert_int_equal(sb_location_count(f->loc), 1);
	/* nc 2 with the same nonce: a query (no Contact) lists the binding */
	credentials(auth, sizeof auth, "bob", "builder", SB_DIGEST_SHA256, nonce, "00000002",
		    "sip:" REALM);
	make_register(req, sizeof req, "bob", 4, NULL, auth);
	assert_int_equal(reg(f, req), 0);
	assert_int_equal(status(f), 200);
	const struct sb_sip_hdr *h = sb_sip_hdr_first(&f->msg, SB_HDR_CONTACT);
	assert_non_null(h);
	assert_true(memmem(h->value.p, h->value.l, "<sip:bob@192.0.2.20>;expires=600", 32));
	/* nc 3: cancellation with Contact: * and Expires: 0 */
	credentials(auth, sizeof auth, "bob", "builder", SB_DIGEST_SHA256, nonce, "00000003",
		    "sip:" REALM);
	char star[4096];
	snprintf(star, sizeof star,
		 "REGISTER sip:" REALM " SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKstar\r\n"
		 "Max-Forwards: 70\r\nFrom: <sip:bob@" REALM ">;tag=f1\r\n"
		 "To: <sip:bob@" REALM ">\r\nCall-ID: reg-1@192.0.2.10\r\nCSeq: 5 REGISTER\r\n"
		 "Contact: *\r\nExpires: 0\r\n%sContent-Length: 0\r\n\r\n", auth);
	assert_int_equal(reg(f, star), 0);
	assert_int_equal(status(f), 200);
	assert_int_equal(sb_location_count(f->loc), 0);
	fx_free(f);
}

/* RFC 3665 §2.5 wrong password: 401 again; a user registering another
 * user's AOR: 403 (step 4); an expired nonce: stale=true. */
static void test_wrong_password_forbidden_stale(void **state)
{
	(void)state;
	struct fx *f = fx_new(false);
	char req[4096], auth[1024], nonce[128];
	make_register(req, sizeof req, "alice", 1, "sip:alice@192.0.2.10", NULL);
	assert_int_equal(reg(f, req), 0);
	challenge_nonce(f, "MD5", nonce, sizeof nonce);

	credentials(auth, sizeof auth, "alice", "guess", SB_DIGEST_MD5, nonce, "00000001",
		    "sip:" REALM);
	make_register(req, sizeof req, "alice", 2, "sip:alice@192.0.2.10", auth);
	assert_int_equal(reg(f, req), 0);
	assert_int_equal(status(f), 401);
	assert_non_null(sb_sip_hdr_first(&f->msg, SB_HDR_WWW_AUTHENTICATE));

	/* alice's good credentials on bob's AOR */
	credentials(auth, sizeof auth, "alice", "wonderland", SB_DIGEST_MD5, nonce, "00000002",
		    "sip:" REALM);
	make_register(req, sizeof req, "bob", 3, "sip:alice@192.0.2.10", auth);
	assert_int_equal(reg(f, req), 0);
	assert_int_equal(status(f), 403);
	assert_true(sb_slice_eq(f->msg.reason, SB_LIT("Forbidden - Not Your Address of Record")));
	assert_int_equal(sb_location_count(f->loc), 0);

	/* the nonce's lifetime passes: the right password gets stale=true */
	f->now += SB_DIGEST_DEFAULT_LIFETIME_S + 1;
	credentials(auth, sizeof auth, "alice", "wonderland", SB_DIGEST_MD5, nonce, "00000003",
		    "sip:" REALM);
	make_register(req, sizeof req, "alice", 4, "sip:alice@192.0.2.10", auth);
	assert_int_equal(reg(f, req), 0);
	assert_int_equal(status(f), 401);
	const struct sb_sip_hdr *h = sb_sip_hdr_first(&f->msg, SB_HDR_WWW_AUTHENTICATE);
	assert_non_null(h);
	assert_true(memmem(h->value.p, h->value.l, "stale=true", 10) != NULL);
	fx_free(f);
}

/* With a store: the 200 waits for the commit and is handed to done_h; the
 * binding is in the database; a cancellation is committed as well. */
static void test_durable_200(void **state)
{
	(void)state;
	struct fx *f = fx_new(true);
	char req[4096], auth[1024], nonce[128];
	make_register(req, sizeof req, "alice", 1, "sip:alice@192.0.2.10:5062", NULL);
	assert_int_equal(reg(f, req), 0);
	assert_int_equal(status(f), 401);   /* a challenge needs no commit */
	challenge_nonce(f, "MD5", nonce, sizeof nonce);
	credentials(auth, sizeof auth, "alice", "wonderland", SB_DIGEST_MD5, nonce, "00000001",
		    "sip:" REALM);
	make_register(req, sizeof req, "alice", 2, "sip:alice@192.0.2.10:5062", auth);
	assert_int_equal(reg(f, req), EINPROGRESS);
	assert_int_equal(f->out.len, 0);
	assert_int_equal(sb_registrar_pending(f->reg), 1);
	wait_done(f);
	assert_int_equal(sb_registrar_pending(f->reg), 0);
	assert_int_equal(status(f), 200);
	assert_non_null(sb_sip_hdr_first(&f->msg, SB_HDR_CONTACT));

	/* a refresh that changes nothing still waits for its commit */
	credentials(auth, sizeof auth, "alice", "wonderland", SB_DIGEST_MD5, nonce, "00000002",
		    "sip:" REALM);
	make_register(req, sizeof req, "alice", 3, "sip:alice@192.0.2.10:5062", auth);
	assert_int_equal(reg(f, req), EINPROGRESS);
	wait_done(f);
	assert_int_equal(status(f), 200);
	/* a query changes nothing: answered at once */
	credentials(auth, sizeof auth, "alice", "wonderland", SB_DIGEST_MD5, nonce, "00000003",
		    "sip:" REALM);
	make_register(req, sizeof req, "alice", 4, NULL, auth);
	assert_int_equal(reg(f, req), 0);
	assert_int_equal(status(f), 200);
	assert_int_equal(f->done_calls, 2);
	fx_free(f);
}

static int count_binding(const struct sb_store_binding *b, void *arg)
{
	struct sb_store_binding *seen = arg;
	assert_true(sb_slice_eq(b->aor, SB_LIT("sip:alice@example.com")));
	assert_true(sb_slice_eq(b->contact, SB_LIT("sip:alice@192.0.2.10:5062")));
	assert_true(sb_slice_eq(b->source_proto, SB_LIT("udp")));
	assert_true(sb_slice_eq(b->source_addr, SB_LIT("192.0.2.10:5060")));
	seen->cseq = b->cseq;
	seen->expires_at = b->expires_at;
	return 0;
}

static int count_any(const struct sb_store_binding *b, void *arg)
{
	(void)b;
	(void)arg;
	return 0;
}

static void test_durable_binding_in_file(void **state)
{
	(void)state;
	struct fx *f = fx_new(true);
	char req[4096], auth[1024], nonce[128];
	make_register(req, sizeof req, "alice", 1, "sip:alice@192.0.2.10:5062", NULL);
	assert_int_equal(reg(f, req), 0);
	challenge_nonce(f, "SHA-256", nonce, sizeof nonce);
	credentials(auth, sizeof auth, "alice", "wonderland", SB_DIGEST_SHA256, nonce,
		    "00000001", "sip:" REALM);
	make_register(req, sizeof req, "alice", 2, "sip:alice@192.0.2.10:5062", auth);
	assert_int_equal(reg(f, req), EINPROGRESS);
	wait_done(f);
	assert_int_equal(status(f), 200);
	/* another process would see it: a second store on the same file */
	struct sb_store *other;
	char path[96], err[256];
	snprintf(path, sizeof path, "%s/sb.db", f->dir);
	struct sb_store_cfg sc = { .loop = f->loop, .path = path };
	assert_int_equal(sb_store_alloc(&other, &sc, err, sizeof err), 0);
	struct sb_store_binding seen = { 0 };
	struct sb_store_loader ld = { .binding = count_binding };
	struct sb_store_load_counts n;
	assert_int_equal(sb_store_load(other, (int64_t)f->now, &ld, &seen, &n), 0);
	assert_int_equal(n.bindings, 1);
	assert_int_equal(seen.cseq, 2);
	assert_int_equal(seen.expires_at, (int64_t)NOW + 600);
	sb_store_free(other);

	/* Contact: * (nc 2): the removal is committed before the 200 */
	credentials(auth, sizeof auth, "alice", "wonderland", SB_DIGEST_SHA256, nonce,
		    "00000002", "sip:" REALM);
	char star[4096];
	snprintf(star, sizeof star,
		 "REGISTER sip:" REALM " SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKstar\r\n"
		 "Max-Forwards: 70\r\nFrom: <sip:alice@" REALM ">;tag=f1\r\n"
		 "To: <sip:alice@" REALM ">\r\nCall-ID: reg-1@192.0.2.10\r\nCSeq: 3 REGISTER\r\n"
		 "Contact: *\r\nExpires: 0\r\n%sContent-Length: 0\r\n\r\n", auth);
	assert_int_equal(reg(f, star), EINPROGRESS);
	wait_done(f);
	assert_int_equal(status(f), 200);
	assert_int_equal(sb_store_alloc(&other, &sc, err, sizeof err), 0);
	assert_int_equal(sb_store_load(other, (int64_t)f->now, &ld, &seen, &n), 0);
	assert_int_equal(n.bindings, 0);
	sb_store_free(other);
	fx_free(f);
}

/* The store keys bindings by contact text, the location by URI equality:
 * a refresh spelled differently replaces the row, and a removal spelled
 * differently removes it, so nothing comes back at the next start. */
static void test_durable_contact_spelling(void **state)
{
	(void)state;
	struct fx *f = fx_new(true);
	char req[4096], auth[1024], nonce[128];
	make_register(req, sizeof req, "alice", 1, "sip:alice@192.0.2.10:5062;transport=udp", NULL);
	assert_int_equal(reg(f, req), 0);
	challenge_nonce(f, "MD5", nonce, sizeof nonce);
	credentials(auth, sizeof auth, "alice", "wonderland", SB_DIGEST_MD5, nonce, "00000001",
		    "sip:" REALM);
	make_register(req, sizeof req, "alice", 2, "sip:alice@192.0.2.10:5062;transport=udp", auth);
	assert_int_equal(reg(f, req), EINPROGRESS);
	wait_done(f);
	assert_int_equal(status(f), 200);
	/* the same contact, spelled with upper-case UDP: one binding */
	credentials(auth, sizeof auth, "alice", "wonderland", SB_DIGEST_MD5, nonce, "00000002",
		    "sip:" REALM);
	make_register(req, sizeof req, "alice", 3, "sip:alice@192.0.2.10:5062;transport=UDP", auth);
	assert_int_equal(reg(f, req), EINPROGRESS);
	wait_done(f);
	assert_int_equal(sb_location_count(f->loc), 1);
	struct sb_store *other;
	char path[96], err[256];
	snprintf(path, sizeof path, "%s/sb.db", f->dir);
	struct sb_store_cfg sc = { .loop = f->loop, .path = path };
	struct sb_store_load_counts n;
	struct sb_store_loader ld = { .binding = count_any };
	assert_int_equal(sb_store_alloc(&other, &sc, err, sizeof err), 0);
	assert_int_equal(sb_store_load(other, (int64_t)f->now, &ld, NULL, &n), 0);
	assert_int_equal(n.bindings, 1);   /* one row: the new spelling replaced the old */
	sb_store_free(other);
	/* removal spelled the first way */
	char rm[4096];
	credentials(auth, sizeof auth, "alice", "wonderland", SB_DIGEST_MD5, nonce, "00000003",
		    "sip:" REALM);
	snprintf(rm, sizeof rm,
		 "REGISTER sip:" REALM " SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKrm\r\n"
		 "Max-Forwards: 70\r\nFrom: <sip:alice@" REALM ">;tag=f1\r\n"
		 "To: <sip:alice@" REALM ">\r\nCall-ID: reg-1@192.0.2.10\r\nCSeq: 4 REGISTER\r\n"
		 "Contact: <sip:alice@192.0.2.10:5062;transport=udp>;expires=0\r\n"
		 "%sContent-Length: 0\r\n\r\n", auth);
	assert_int_equal(reg(f, rm), EINPROGRESS);
	wait_done(f);
	assert_int_equal(status(f), 200);
	assert_int_equal(sb_location_count(f->loc), 0);
	assert_int_equal(sb_store_alloc(&other, &sc, err, sizeof err), 0);
	assert_int_equal(sb_store_load(other, (int64_t)f->now, &ld, NULL, &n), 0);
	assert_int_equal(n.bindings, 0);
	sb_store_free(other);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_registration),
		cmocka_unit_test(test_sha256_replay_query_cancel),
		cmocka_unit_test(test_wrong_password_forbidden_stale),
		cmocka_unit_test(test_durable_200),
		cmocka_unit_test(test_durable_binding_in_file),
		cmocka_unit_test(test_durable_contact_spelling),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
