/* auth/authn: the authentication step of the registrar and the proxy
 * (authn.h): find our credentials in a request, verify them against the
 * user directory with the digest verifier, and turn the outcome into a
 * verdict the caller can answer with (200-path, 401/407 with challenges,
 * 403, silence, 500).  The guard (guard.c) counts the failures and locks
 * out sources that keep guessing.
 *
 * Order of the work, so that nothing tells an attacker more than "no":
 *  - a locked source is refused before anything is parsed;
 *  - an unknown user, or a user without an HA1 for the algorithm, is
 *    verified against the dummy HA1, so it costs the same work and gets
 *    the same CHALLENGE as a wrong password (no user enumeration). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "switchboard/authn.h"

#include "guard.h"

/* Bytes of a log line, and of a user name quoted in one. */
#define AUTHN_LOG_LINE 512u
#define AUTHN_LOG_USER 64u

static const char reason_locked[] = "Forbidden - Too Many Failures";

struct sb_authn {
	struct sb_authn_cfg cfg;    /* defaults filled in */
	struct ag_guard *guard;
	struct sb_authn_stats st;   /* sources_locked is computed when asked */
};

int sb_authn_alloc(struct sb_authn **ap, const struct sb_authn_cfg *cfg)
{
	if (!ap)
		return EINVAL;
	*ap = NULL;
	if (!cfg || !cfg->digest || !cfg->users)
		return EINVAL;
	struct sb_authn *a = calloc(1, sizeof *a);
	if (!a)
		return ENOMEM;
	a->cfg = *cfg;
	if (!a->cfg.max_failures)
		a->cfg.max_failures = SB_AUTHN_DEFAULT_MAX_FAILURES;
	if (!a->cfg.window_s)
		a->cfg.window_s = SB_AUTHN_DEFAULT_WINDOW_S;
	if (!a->cfg.lockout_s)
		a->cfg.lockout_s = SB_AUTHN_DEFAULT_LOCKOUT_S;
	if (!a->cfg.max_tracked)
		a->cfg.max_tracked = SB_AUTHN_MAX_TRACKED;
	struct ag_cfg gc = {
		.max_tracked = a->cfg.max_tracked,
		.max_failures = a->cfg.max_failures,
		.window_s = a->cfg.window_s,
		.lockout_s = a->cfg.lockout_s,
		.seed = a->cfg.seed,
	};
	int err = ag_alloc(&a->guard, &gc);
	if (err) {
		free(a);
		return err;
	}
	*ap = a;
	return 0;
}

void sb_authn_free(struct sb_authn *a)
{
	if (!a)
		return;
	ag_free(a->guard);
	free(a);
}

/* ------------------------------------------------------------------ logs */

static void authn_log(const struct sb_authn *a, enum sb_log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void authn_log(const struct sb_authn *a, enum sb_log_level lvl, const char *fmt, ...)
{
	if (!a->cfg.log_h)
		return;
	char line[AUTHN_LOG_LINE];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	a->cfg.log_h(lvl, line, a->cfg.log_arg);
}

/* A user name as the credentials gave it, fit for a log line: printable
 * ASCII but '"' and '\', the rest as '?' (no forged log lines), cut at
 * AUTHN_LOG_USER bytes. */
static void log_name(struct sb_slice name, char out[AUTHN_LOG_USER + 4])
{
	size_t n = name.l < AUTHN_LOG_USER ? name.l : AUTHN_LOG_USER;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name.p[i];
		out[i] = (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? (char)c : '?';
	}
	if (n < name.l) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
}

/* -------------------------------------------------------------- verdicts */

static void result_reset(struct sb_authn_result *res)
{
	res->verdict = SB_AUTHN_ERROR;
	res->code = 0;
	res->reason = NULL;
	res->silent = false;
	res->stale = false;
	res->why = SB_DIGEST_WHY_NONE;
	res->user[0] = '\0';
	res->user_len = 0;
	res->cred_hdr = SB_SIP_NO_HDR;
	res->extra[0] = '\0';
	res->extra_len = 0;
}

static enum sb_authn_verdict server_error(struct sb_authn_result *res)
{
	res->verdict = SB_AUTHN_ERROR;
	res->code = 500;
	res->extra[0] = '\0';
	res->extra_len = 0;
	return res->verdict;
}

static enum sb_authn_verdict locked(struct sb_authn *a, struct sb_authn_result *res)
{
	a->st.locked_out++;
	res->verdict = SB_AUTHN_LOCKED;
	res->code = 403;
	res->reason = reason_locked;
	res->silent = a->cfg.lockout_silent;
	return res->verdict;
}

/* RFC 3261 §22.2 (401, WWW-Authenticate) and §22.3 (407,
 * Proxy-Authenticate): one header field per challenge, SHA-256 first
 * (RFC 8760 §2.4), with a fresh nonce; stale=true (RFC 7616 §3.3) when the
 * digest was right but the nonce was not. */
static enum sb_authn_verdict challenge(struct sb_authn *a, const struct sb_addr *src,
				       enum sb_authn_kind kind, uint64_t now_s, bool stale,
				       struct sb_authn_result *res)
{
	struct sb_digest_challenges ch;
	unsigned char key[SB_ADDR_PEER_KEY_MAX];
	struct sb_slice bind = sb_slice_from((const char *)key, sb_addr_peer_key(src, key));
	if (sb_digest_challenges_bound(a->cfg.digest, now_s, stale, bind, &ch) != 0)
		return server_error(res); /* EIO: no randomness */
	const char *name = kind == SB_AUTHN_WWW ? "WWW-Authenticate: " : "Proxy-Authenticate: ";
	struct sb_buf b;
	sb_buf_init_fixed(&b, res->extra, sizeof res->extra - 1); /* room for the NUL */
	for (size_t i = 0; i < ch.n; i++) {
		sb_buf_append_cstr(&b, name);
		if (!b.err && sb_auth_print_challenge(&b, &ch.c[i]) != 0)
			return server_error(res);
		sb_buf_append(&b, "\r\n", 2);
	}
	if (b.err)
		return server_error(res); /* ENOSPC: a realm too long for one response */
	res->extra_len = b.len;
	res->extra[b.len] = '\0';
	res->verdict = SB_AUTHN_CHALLENGE;
	res->code = kind == SB_AUTHN_WWW ? 401 : 407;
	res->stale = stale;
	a->st.challenged++;
	if (stale)
		a->st.stale++;
	return res->verdict;
}

/* A BAD verdict: a CHALLENGE.  A wrong response to a nonce we issued to
 * this peer (res->why RESPONSE: a wrong password, or an unknown user) is a
 * guess: one failure for the source and one for the user named.  Anything
 * else (a nonce of another peer or a forged one, garbled credentials, a
 * wrong digest uri) proves no exchange with us and may come from a spoofed
 * UDP source: counting it would let anyone lock anyone out.  The moment a
 * source is locked, and the moment a user reaches the limit, is logged
 * once. */
static enum sb_authn_verdict refuse(struct sb_authn *a, const struct sb_addr *src,
				    struct sb_slice user, enum sb_authn_kind kind, uint64_t now_s,
				    struct sb_authn_result *res)
{
	struct ag_fail_result fr;
	a->st.failed++;
	if (res->why != SB_DIGEST_WHY_RESPONSE)
		return challenge(a, src, kind, now_s, false, res);
	int err = ag_fail(a->guard, src, user, now_s, &fr);
	if (fr.src_locked_now || fr.user_limit_now) {
		char addr[SB_ADDR_STR_MAX], name[AUTHN_LOG_USER + 4];
		sb_addr_to_str(src, addr, sizeof addr);
		log_name(user, name);
		if (fr.src_locked_now) {
			a->st.lockouts++;
			authn_log(a, SB_LOG_WARN,
				  "authn: %s locked out for %u s after %u failures in %u s "
				  "(last user \"%s\")", addr, a->cfg.lockout_s, fr.src_count,
				  a->cfg.window_s, name);
		}
		if (fr.user_limit_now)
			authn_log(a, SB_LOG_WARN,
				  "authn: user \"%s\" has %u failures in %u s (last from %s)", name,
				  fr.user_count, a->cfg.window_s, addr);
	}
	if (err)
		return server_error(res); /* ENOMEM: the guard could not count it */
	return challenge(a, src, kind, now_s, false, res);
}

static enum sb_authn_verdict grant(struct sb_authn *a, const struct sb_sip_msg *req,
				   const struct sb_sip_hdr *h, const struct sb_digest_result *vr,
				   struct sb_authn_result *res)
{
	/* the source's failures are not cleared: one good account must not
	 * buy endless guesses at the others; they end with their window */
	memcpy(res->user, vr->user, vr->user_len);
	res->user[vr->user_len] = '\0';
	res->user_len = vr->user_len;
	res->cred_hdr = (uint16_t)(h - req->hdrs);
	res->verdict = SB_AUTHN_OK;
	res->code = 0;
	a->st.ok++;
	return res->verdict;
}

/* Credentials of our realm that inspect found usable (dr): verify them
 * against the user's HA1, or against the dummy HA1 when there is none. */
static enum sb_authn_verdict verify(struct sb_authn *a, const struct sb_sip_msg *req,
				    const struct sb_sip_hdr *h, const struct sb_auth *cred,
				    const struct sb_digest_result *dr, const struct sb_addr *src,
				    enum sb_authn_kind kind, uint64_t now_s,
				    struct sb_authn_result *res)
{
	struct sb_slice name = sb_slice_from(dr->user, dr->user_len);
	const struct sb_user *usr = sb_users_find(a->cfg.users, name);
	bool known = usr && usr->ha1[dr->alg][0] != '\0';
	char dummy[SB_DIGEST_HEX_CAP];
	const char *ha1 = dummy;
	if (known)
		ha1 = usr->ha1[dr->alg];
	else if (sb_digest_dummy_ha1(a->cfg.digest, dr->alg, dummy, sizeof dummy) != 0)
		return server_error(res);

	/* RFC 3261 §22.4 item 3, RFC 7616 §3.4.6: the digest uri is the
	 * Request-URI */
	struct sb_digest_result vr;
	unsigned char key[SB_ADDR_PEER_KEY_MAX];
	struct sb_slice bind = sb_slice_from((const char *)key, sb_addr_peer_key(src, key));
	if (sb_digest_verify_bound(a->cfg.digest, cred, req->method, req->ruri, ha1, now_s, bind,
				   &vr) != 0)
		return server_error(res); /* ENOMEM, EIO */
	res->why = vr.why;
	switch (vr.status) {
	case SB_DIGEST_OK:
		/* the dummy HA1 cannot match without the secret; be strict
		 * all the same */
		if (!known) {
			res->why = SB_DIGEST_WHY_RESPONSE;
			return refuse(a, src, name, kind, now_s, res);
		}
		return grant(a, req, h, &vr, res);
	case SB_DIGEST_STALE:
		/* RFC 7616 §3.3: the client knew the password; a new nonce */
		return challenge(a, src, kind, now_s, true, res);
	case SB_DIGEST_REPLAY:
		/* RFC 7616 §3.4: an nc seen before; not a guess, so not a
		 * failure, but nothing is accepted twice */
		a->st.replayed++;
		return challenge(a, src, kind, now_s, false, res);
	case SB_DIGEST_BAD:
		break;
	}
	return refuse(a, src, name, kind, now_s, res);
}

enum sb_authn_verdict sb_authn_check(struct sb_authn *a, const struct sb_sip_msg *req,
				     const struct sb_addr *src, enum sb_authn_kind kind,
				     uint64_t now_s, struct sb_authn_result *res)
{
	if (!res)
		return SB_AUTHN_ERROR;
	result_reset(res);
	if (!a || !req || !src || !req->is_request || !req->method.p || !req->ruri.p ||
	    (kind != SB_AUTHN_WWW && kind != SB_AUTHN_PROXY))
		return server_error(res);
	if (ag_src_locked(a->guard, src, now_s))
		return locked(a, res);

	enum sb_sip_hdr_id id =
		kind == SB_AUTHN_WWW ? SB_HDR_AUTHORIZATION : SB_HDR_PROXY_AUTHORIZATION;
	for (const struct sb_sip_hdr *h = sb_sip_hdr_first(req, id); h;
	     h = sb_sip_hdr_next(req, h)) {
		struct sb_auth cred;
		struct sb_digest_result dr;
		/* a value that does not even parse names no realm: it may be
		 * another proxy's business, and verifies nothing */
		if (sb_auth_parse(&cred, h->value) != 0)
			continue;
		int err = sb_digest_inspect(a->cfg.digest, &cred, &dr);
		/* RFC 3261 §22.3: credentials of other realms (or schemes)
		 * are not ours; look on */
		if (err == ENOENT)
			continue;
		if (err == EBADMSG) {
			res->why = dr.why;
			return refuse(a, src, sb_slice_from(dr.user, dr.user_len), kind, now_s,
				      res);
		}
		if (err)
			return server_error(res);
		/* the first credentials of our realm are the ones judged */
		return verify(a, req, h, &cred, &dr, src, kind, now_s, res);
	}
	/* RFC 3261 §22.1: no credentials of ours: challenge, not a failure */
	return challenge(a, src, kind, now_s, false, res);
}

/* ----------------------------------------------------------------- owns */

bool sb_authn_owns(struct sb_slice user, const struct sb_uri *uri)
{
	char buf[SB_DIGEST_MAX_USER];
	size_t n = 0;
	if (!uri || (uri->scheme != SB_URI_SIP && uri->scheme != SB_URI_SIPS))
		return false;
	/* no user part owns nothing; nor does a name longer than any
	 * credentials can carry (SB_DIGEST_MAX_USER) */
	if (!user.p || user.l == 0 || user.l > sizeof buf || !uri->user.p)
		return false;
	/* RFC 3261 §19.1.4: the user part compares unescaped, case-sensitive */
	if (sb_uri_unescape(uri->user, buf, sizeof buf, &n) != 0)
		return false;
	return n == user.l && memcmp(buf, user.p, n) == 0;
}

/* ---------------------------------------------------------------- stats */

void sb_authn_get_stats(const struct sb_authn *a, uint64_t now_s, struct sb_authn_stats *st)
{
	if (!st)
		return;
	if (!a) {
		memset(st, 0, sizeof *st);
		return;
	}
	*st = a->st;
	st->sources_locked = ag_src_locked_count(a->guard, now_s);
}
