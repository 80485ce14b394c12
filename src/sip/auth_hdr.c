/* sip/auth_hdr: the authentication header fields.  Parses the challenges
 * (WWW-Authenticate, Proxy-Authenticate), the credentials (Authorization,
 * Proxy-Authorization) and Authentication-Info into slices over the caller's
 * bytes, and prints the Digest challenge a registrar or proxy sends in a 401
 * or 407.  One pass, no copies, no allocation: quoted values come back
 * without their quotes but still escaped, so a caller comparing them against
 * a stored nonce or realm must unescape first when they hold a backslash.
 *
 * Grammar (RFC 3261 §25.1, RFC 7616 §3.3-3.5, RFC 8760):
 *   challenge   = ("Digest" LWS digest-cln *(COMMA digest-cln)) / other-challenge
 *   credentials = ("Digest" LWS dig-resp *(COMMA dig-resp)) / other-response
 *   auth-param  = auth-param-name EQUAL ( token / quoted-string )
 *   EQUAL = SWS "=" SWS    COMMA = SWS "," SWS    LWS = [*WSP CRLF] 1*WSP
 */
#include <errno.h>
#include <stddef.h>

#include "switchboard/sip.h"

#include "charclass.h"

/* Cursor over a comma-separated auth-param list. */
struct ap_cursor {
	const char *p, *end;
};

/* Next auth-param of the list.  0 with *name and *value filled (value without
 * quotes when quoted), ENOENT at the end, EBADMSG when malformed.  An empty
 * element (",,", a trailing ",") is malformed: RFC 3261 §25.1 lists have no
 * empty elements. */
static int ap_next(struct ap_cursor *c, struct sb_slice *name, struct sb_slice *value)
{
	const char *p = c->p, *end = c->end;
	if (p == end)
		return ENOENT;
	const char *n = p;
	p = sb_scan_token(p, end);
	if (p == n)
		return EBADMSG;
	*name = (struct sb_slice){ n, (size_t)(p - n) };
	/* EQUAL = SWS "=" SWS */
	p = sb_skip_sws(p, end);
	if (p == end || *p != '=')
		return EBADMSG;
	p = sb_skip_sws(p + 1, end);
	if (p == end)
		return EBADMSG;
	if (*p == '"') {
		p = sb_scan_quoted(p, end, value);
		if (!p)
			return EBADMSG;
	} else {
		const char *v = p;
		p = sb_scan_token(p, end);
		if (p == v)
			return EBADMSG;
		*value = (struct sb_slice){ v, (size_t)(p - v) };
	}
	/* COMMA = SWS "," SWS, or the end */
	p = sb_skip_sws(p, end);
	if (p < end) {
		if (*p != ',')
			return EBADMSG;
		p = sb_skip_sws(p + 1, end);
		if (p == end)
			return EBADMSG; /* trailing comma */
	}
	c->p = p;
	return 0;
}

struct field_name {
	const char *name;
	size_t len;
	size_t off;
};

#define F(s, type, m) { s, sizeof(s) - 1, offsetof(struct type, m) }

/* RFC 7616 §3.3 (challenge), §3.4 (response), RFC 3261 §25.1. */
static const struct field_name auth_fields[] = {
	F("realm", sb_auth, realm),       F("nonce", sb_auth, nonce),
	F("opaque", sb_auth, opaque),     F("algorithm", sb_auth, algorithm),
	F("qop", sb_auth, qop),           F("stale", sb_auth, stale),
	F("domain", sb_auth, domain),     F("username", sb_auth, username),
	F("uri", sb_auth, uri),           F("response", sb_auth, response),
	F("cnonce", sb_auth, cnonce),     F("nc", sb_auth, nc),
	F("userhash", sb_auth, userhash),
};

/* RFC 7616 §3.5, RFC 3261 §20.6. */
static const struct field_name info_fields[] = {
	F("nextnonce", sb_auth_info, nextnonce), F("qop", sb_auth_info, qop),
	F("rspauth", sb_auth_info, rspauth),     F("cnonce", sb_auth_info, cnonce),
	F("nc", sb_auth_info, nc),
};

#undef F

/* Store value in the known field called name (names are case-insensitive,
 * RFC 7616 §3.3).  Unknown names (charset, extension auth-params) are
 * skipped; a known one seen twice is EBADMSG: two nonces or two responses
 * leave no way to tell which one the sender meant. */
static int store(void *obj, const struct field_name *tab, size_t n,
		 struct sb_slice name, struct sb_slice value)
{
	for (size_t i = 0; i < n; i++) {
		if (tab[i].len != name.l ||
		    !sb_slice_caseeq(name, (struct sb_slice){ tab[i].name, tab[i].len }))
			continue;
		struct sb_slice *f = (struct sb_slice *)((char *)obj + tab[i].off);
		if (f->p)
			return EBADMSG;
		*f = value;
		return 0;
	}
	return 0;
}

static int parse_list(void *obj, const struct field_name *tab, size_t n,
		      const char *p, const char *end)
{
	struct ap_cursor c = { p, end };
	struct sb_slice name, value;
	int err;
	if (p == end)
		return EBADMSG; /* at least one auth-param */
	while ((err = ap_next(&c, &name, &value)) == 0) {
		err = store(obj, tab, n, name, value);
		if (err)
			return err;
	}
	return err == ENOENT ? 0 : err;
}

/* Params of a scheme we do not know are kept raw (RFC 4475 §3.3.7 regaut01:
 * a proxy forwards them untouched).  Only check that the bytes cannot run a
 * reader past the value: quoted strings close and no bare control bytes. */
static int check_opaque_params(const char *p, const char *end)
{
	struct sb_slice inner;
	while (p < end) {
		/* outside quotes a backslash is an ordinary byte */
		p = *p == '"' ? sb_scan_quoted(p, end, &inner) : sb_text_step(p, end);
		if (!p)
			return EBADMSG;
	}
	return 0;
}

int sb_auth_parse(struct sb_auth *a, struct sb_slice value)
{
	*a = (struct sb_auth){ 0 };
	struct sb_slice v = sb_slice_trim(value);
	if (!v.p || v.l == 0)
		return EBADMSG;
	const char *p = v.p, *end = v.p + v.l;

	/* auth-scheme = token */
	const char *s = p;
	p = sb_scan_token(p, end);
	if (p == s)
		return EBADMSG;
	a->scheme = (struct sb_slice){ s, (size_t)(p - s) };
	/* RFC 7616 §3.3: the scheme name is case-insensitive. */
	a->digest = sb_slice_caseeq_cstr(a->scheme, "Digest");

	/* the scheme and its params are separated by LWS */
	const char *q = sb_skip_sws(p, end);
	if (q == p && p < end)
		return EBADMSG;
	p = q;
	a->params = (struct sb_slice){ p, (size_t)(end - p) };

	if (!a->digest) {
		/* RFC 3261 §25.1 other-challenge / other-response: the params
		 * belong to a scheme we cannot check, so keep them raw. */
		return check_opaque_params(p, end);
	}
	return parse_list(a, auth_fields, SB_ARRAY_LEN(auth_fields), p, end);
}

int sb_auth_info_parse(struct sb_auth_info *ai, struct sb_slice value)
{
	*ai = (struct sb_auth_info){ 0 };
	struct sb_slice v = sb_slice_trim(value);
	if (!v.p || v.l == 0)
		return EBADMSG;
	/* RFC 3261 §20.6: Authentication-Info = ainfo *(COMMA ainfo), no scheme */
	return parse_list(ai, info_fields, SB_ARRAY_LEN(info_fields), v.p, v.p + v.l);
}

/* A value that may go inside a quoted-string we print: no control bytes, so a
 * realm from configuration cannot end the header line early. */
static bool printable(struct sb_slice s)
{
	for (size_t i = 0; i < s.l; i++) {
		unsigned char c = (unsigned char)s.p[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
	}
	return true;
}

/* Append name="value", escaping '"' and '\' as quoted-pairs. */
static void put_quoted(struct sb_buf *out, const char *name, struct sb_slice v)
{
	sb_buf_append_cstr(out, name);
	sb_buf_append(out, "\"", 1);
	size_t run = 0;
	for (size_t i = 0; i < v.l; i++) {
		if (v.p[i] != '"' && v.p[i] != '\\')
			continue;
		sb_buf_append(out, v.p + run, i - run);
		sb_buf_append(out, "\\", 1);
		run = i; /* the special byte goes out with the next run */
	}
	sb_buf_append(out, v.p + run, v.l - run);
	sb_buf_append(out, "\"", 1);
}

int sb_auth_print_challenge(struct sb_buf *out, const struct sb_auth_challenge *c)
{
	/* RFC 7616 §3.3: realm and nonce are required. */
	if (!c->realm.p || !c->nonce.p)
		return EINVAL;
	if (!printable(c->realm) || !printable(c->nonce) ||
	    (c->opaque.p && !printable(c->opaque)))
		return EINVAL;
	/* RFC 7616 §3.3: algorithm is a token, never quoted. */
	if (c->algorithm.p && !sb_is_token(c->algorithm))
		return EINVAL;
	/* qop-options = "qop" EQUAL DQUOTE qop-value *("," qop-value) DQUOTE */
	if (c->qop.p && (c->qop.l == 0 || !printable(c->qop)))
		return EINVAL;

	size_t start = out->len;
	put_quoted(out, "Digest realm=", c->realm);
	put_quoted(out, ", nonce=", c->nonce);
	if (c->opaque.p)
		put_quoted(out, ", opaque=", c->opaque);
	if (c->algorithm.p) {
		sb_buf_append_cstr(out, ", algorithm=");
		sb_buf_append_slice(out, c->algorithm);
	}
	if (c->qop.p)
		put_quoted(out, ", qop=", c->qop);
	/* RFC 7616 §3.3: stale is a token, "true" when the nonce expired but
	 * the credentials were good; omitted otherwise. */
	if (c->stale)
		sb_buf_append_cstr(out, ", stale=true");
	if (out->err) {
		out->len = start;
		return out->err;
	}
	return 0;
}
