/* sip/param: the ';'-separated "name[=value]" parameter lists that follow a
 * URI or a header value (RFC 3261 §25.1 generic-param, uri-parameter).
 * Header parameters may carry LWS, folded line ends included, around ';' and
 * '=' (RFC 3261 §25.1: SEMI = SWS ";" SWS, EQUAL = SWS "=" SWS).  Values are
 * returned as written: escapes kept, quoted strings with their quotes. */
#include <errno.h>

#include "switchboard/sip.h"

#include "charclass.h"

/* The bytes of a parameter name or unquoted value are SB_CC_PARAM: visible
 * ASCII except the separators that end one.  This covers token (header
 * params), paramchar (URI params: "[]/:&+$" and %HH) and host values such as
 * an IPv6 reference (RFC 5118 §4.5 received=[2001:db8::9:255]). */

bool sb_param_next(struct sb_slice *rest, struct sb_slice *name, struct sb_slice *value,
		   bool *bad)
{
	const char *p = rest->p;
	size_t n = rest->l, i, j;

	if (bad)
		*bad = false;
	*name = SB_SLICE_NULL;
	*value = SB_SLICE_NULL;
	if (!p)
		return false;
	i = sb_skip_lws(p, 0, n);
	if (i == n) {
		rest->p = p + n;
		rest->l = 0;
		return false;
	}
	/* the separator before this parameter; the first one is optional so a
	 * list may be given with or without its leading ';' */
	if (p[i] == ';')
		i = sb_skip_lws(p, i + 1, n);

	size_t ns = i;
	i = sb_scan_param(p, i, n);
	if (i == ns)
		goto malformed; /* ";;", a trailing ';' or a stray byte (RFC 4475 badinv01) */
	*name = sb_slice_from(p + ns, i - ns);

	j = sb_skip_lws(p, i, n);
	if (j < n && p[j] == '=') {
		j = sb_skip_lws(p, j + 1, n);
		size_t vs = j;
		if (j < n && p[j] == '"') {
			/* RFC 3261 §25.1 quoted-string; the value keeps its quotes */
			struct sb_slice inner;
			const char *qe = sb_scan_quoted(p + j, p + n, &inner);
			if (!qe)
				goto malformed; /* unterminated, or a bare control byte */
			j = (size_t)(qe - p);
		} else {
			j = sb_scan_param(p, j, n);
			if (j == vs)
				goto malformed; /* "name=" with no value */
		}
		*value = sb_slice_from(p + vs, j - vs);
		i = j;
	}

	/* what follows a parameter is LWS, then ';' or the end */
	j = sb_skip_lws(p, i, n);
	if (j < n && p[j] != ';')
		goto malformed;
	rest->p = p + j;
	rest->l = n - j;
	return true;

malformed:
	if (bad)
		*bad = true;
	*name = SB_SLICE_NULL;
	*value = SB_SLICE_NULL;
	rest->p = p + n;
	rest->l = 0;
	return false;
}

/* ASCII case-insensitive compare of a slice with a C string, without
 * measuring the C string first. */
static bool name_is(struct sb_slice s, const char *name)
{
	size_t i = 0;
	for (; i < s.l; i++) {
		unsigned char a = (unsigned char)s.p[i], b = (unsigned char)name[i];
		if (b == '\0')
			return false;
		if (a >= 'A' && a <= 'Z')
			a |= 0x20;
		if (b >= 'A' && b <= 'Z')
			b |= 0x20;
		if (a != b)
			return false;
	}
	return name[i] == '\0';
}

int sb_param_find(struct sb_slice params, const char *name, struct sb_slice *value)
{
	struct sb_slice n, v;
	bool bad;

	while (sb_param_next(&params, &n, &v, &bad)) {
		if (name_is(n, name)) {
			*value = v;
			return 0;
		}
	}
	return bad ? EBADMSG : ENOENT;
}
