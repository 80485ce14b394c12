/* ua/digest_client: the phone's side of digest authentication (RFC 3261
 * §22.2 and §22.3, RFC 7616, RFC 8760).  A 401 (WWW-Authenticate) or 407
 * (Proxy-Authenticate) may carry several challenges, the server's
 * preferred first (RFC 7616 §3.7); we answer the first whose algorithm we
 * support (SHA-256 or MD5) with qop=auth, or the RFC 2069 form when the
 * challenge has no qop.  The nonce count goes up by one with each request
 * under the same nonce (RFC 7616 §3.4), so a registration refresh can
 * carry credentials at once; the cnonce is fresh and random each time.
 *
 * Whom we answer.  A REGISTER goes to our registrar only: its challenge
 * is answered, and its realm remembered.  Any other request (an INVITE)
 * may be challenged by anybody on its path, the callee included, and a
 * digest of our password is something to guess the password from
 * offline: only a 407 from the outbound proxy path (a server is
 * configured) for the registrar's realm or our domain is answered, and a
 * 401 only for the registrar's realm. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ua_int.h"

/* Whether the qop-options of a challenge (a quoted, comma-separated list)
 * offer "auth". */
static bool offers_auth(struct sb_slice qop)
{
	struct sb_slice rest = qop, v;
	while (sb_sip_list_next(&rest, &v))
		if (sb_slice_caseeq_cstr(sb_slice_trim(v), "auth"))
			return true;
	return false;
}

/* A quoted value of a challenge, unescaped (quoted-pair), into out. */
static int unquote(struct sb_slice s, char *out, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < s.l; i++) {
		char ch = s.p[i];
		if (ch == '\\' && i + 1 < s.l)
			ch = s.p[++i];
		if (ch == '"' || ch == '\\' || (unsigned char)ch < 0x20)
			return EINVAL; /* we print it between quotes again */
		if (o + 1 >= cap)
			return ENOSPC;
		out[o++] = ch;
	}
	out[o] = 0;
	return 0;
}

bool ua_auth_realm_ok(const struct sb_ua *ua, const char *realm, bool proxy)
{
	if (!ua->has_server)
		return false; /* no outbound proxy: only the callee could ask */
	if (ua->reg_realm[0] && strcmp(realm, ua->reg_realm) == 0)
		return true;
	return proxy && strcasecmp(realm, ua->domain) == 0;
}

int ua_auth_take(struct ua_auth *a, struct sb_sip_msg *resp, const struct sb_ua *policy)
{
	bool proxy = resp->status == 407;
	enum sb_sip_hdr_id id = proxy ? SB_HDR_PROXY_AUTHENTICATE : SB_HDR_WWW_AUTHENTICATE;
	for (const struct sb_sip_hdr *h = sb_sip_hdr_first(resp, id); h;
	     h = sb_sip_hdr_next(resp, h)) {
		struct sb_auth ch;
		enum sb_digest_alg alg;
		if (sb_auth_parse(&ch, h->value) != 0 || !ch.digest || !ch.realm.p || !ch.nonce.p)
			continue;
		/* RFC 7616 §3.3: no algorithm means MD5; -sess and the rest
		 * we cannot compute */
		if (sb_digest_alg_parse(ch.algorithm, &alg) != 0)
			continue;
		if (ch.qop.p && !offers_auth(ch.qop))
			continue; /* auth-int only */
		struct ua_auth n = { .valid = true, .proxy = proxy, .alg = alg, .qop = ch.qop.p != NULL };
		if (unquote(ch.realm, n.realm, sizeof n.realm) ||
		    unquote(ch.nonce, n.nonce, sizeof n.nonce))
			continue;
		if (policy && !ua_auth_realm_ok(policy, n.realm, proxy))
			continue;
		if (ch.opaque.p) {
			if (unquote(ch.opaque, n.opaque, sizeof n.opaque))
				continue;
			n.has_opaque = true;
		}
		n.stale = ch.stale.p && sb_slice_caseeq_cstr(ch.stale, "true");
		/* the same nonce again: nc goes on from where it was */
		if (a->valid && strcmp(a->nonce, n.nonce) == 0 && strcmp(a->realm, n.realm) == 0)
			n.nc = a->nc;
		*a = n;
		return 0;
	}
	return ENOENT;
}

int ua_auth_line(struct ua_auth *a, const char *user, const char *password,
		 struct sb_slice method, struct sb_slice uri, struct sb_buf *out)
{
	if (!a->valid || !user || !password)
		return EINVAL;
	char ha1[SB_DIGEST_HEX_CAP], resp[SB_DIGEST_HEX_CAP];
	char cnonce[UA_TAG_HEX + 1], nc[9];
	int err = sb_digest_ha1(a->alg, sb_slice_cstr(user), sb_slice_cstr(a->realm),
				sb_slice_cstr(password), ha1, sizeof ha1);
	if (err)
		return err;
	ua_random_hex(cnonce, UA_TAG_HEX);
	a->nc++;
	snprintf(nc, sizeof nc, "%08x", (unsigned)a->nc);
	/* RFC 7616 §3.4.1; RFC 3261 §22.4: the uri is the Request-URI */
	struct sb_digest_input in = {
		.alg = a->alg,
		.ha1 = sb_slice_cstr(ha1),
		.nonce = sb_slice_cstr(a->nonce),
		.nc = sb_slice_cstr(nc),
		.cnonce = sb_slice_cstr(cnonce),
		.qop = a->qop ? SB_LIT("auth") : SB_SLICE_NULL,
		.method = method,
		.uri = uri,
	};
	if ((err = sb_digest_response(&in, resp, sizeof resp)) != 0)
		return err;
	if (memchr(uri.p, '"', uri.l) || memchr(uri.p, '\r', uri.l) || memchr(uri.p, '\n', uri.l))
		return EINVAL;
	size_t len0 = out->len;
	sb_buf_append_cstr(out, a->proxy ? "Proxy-Authorization: " : "Authorization: ");
	sb_buf_printf(out, "Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", uri=\"", user,
		      a->realm, a->nonce);
	sb_buf_append_slice(out, uri);
	sb_buf_printf(out, "\", response=\"%s\", algorithm=%s", resp, sb_digest_alg_name(a->alg));
	if (a->qop)
		sb_buf_printf(out, ", cnonce=\"%s\", qop=auth, nc=%s", cnonce, nc);
	if (a->has_opaque)
		sb_buf_printf(out, ", opaque=\"%s\"", a->opaque);
	sb_buf_append_cstr(out, "\r\n");
	if (out->err) {
		out->len = len0;
		return out->err;
	}
	return 0;
}
