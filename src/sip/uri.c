/* sip/uri: SIP, SIPS and tel URIs parsed into slices in one pass (RFC 3261
 * §19.1, §25.1; RFC 3966; RFC 5118 for IPv6), their comparison (RFC 3261
 * §19.1.4, RFC 3966 §4) and the host classification shared with Via.  Other
 * schemes are kept whole as an opaque part (RFC 4475 §3.3.2 unkscm). */
#include <errno.h>
#include <string.h>

#include "switchboard/sip.h"

#include "charclass.h"

/* ------------------------------------------------------- character classes */

/* RFC 3261 §25.1 character sets: the SB_CC_URI_* bits of the shared table
 * (charclass.h), where unreserved (alphanum and mark) carries every bit. */
enum {
	C_USER = SB_CC_URI_USER,   /* user-unreserved: & = + $ , ; ? / */
	C_PASS = SB_CC_URI_PASS,   /* password: & = + $ , */
	C_PARAM = SB_CC_URI_PARAM, /* param-unreserved: [ ] / : & + $ */
	C_HNV = SB_CC_URI_HNV,     /* hnv-unreserved: [ ] / ? : + $ */
};

static inline unsigned char lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c | 0x20) : c;
}

/* Scan bytes of class cls or "%" HEXDIG HEXDIG (RFC 3261 §25.1 escaped) from
 * i; returns where the run stops, or (size_t)-1 on a broken escape. */
static size_t scan_class(const char *p, size_t i, size_t n, unsigned cls)
{
	for (;;) {
		i = sb_scan_cc(p, i, n, cls);
		if (i >= n || p[i] != '%')
			return i;
		if (n - i < 3 || sb_hexval(p[i + 1]) < 0 || sb_hexval(p[i + 2]) < 0)
			return (size_t)-1;
		i += 3;
	}
}

/* --------------------------------------------------------------- hosts */

/* RFC 3261 §25.1 IPv4address: the whole of p[0..n) must be the address. */
static bool ipv4_parse(const char *p, size_t n, uint8_t out[4])
{
	return sb_scan_ipv4(p, 0, n, out) == n;
}

bool sb_ipv6_parse(struct sb_slice s, uint8_t out[16])
{
	/* RFC 3261 §25.1 (as corrected by RFC 5118 §4.10):
	 * IPv6address = hexpart [ ":" IPv4address ]
	 * hexpart = hexseq / hexseq "::" [ hexseq ] / "::" [ hexseq ] */
	const char *p = s.p;
	size_t n = s.l, i = 0;
	uint16_t g[8];
	unsigned ng = 0;
	int dbl = -1;           /* group index where "::" stands */
	bool need_v4 = false;

	if (!p || n < 2)
		return false;
	if (p[0] == ':') {
		if (p[1] != ':')
			return false;
		dbl = 0;
		i = 2;
		if (i == n)
			goto done;
	}
	for (;;) {
		size_t st = i;
		unsigned v = 0;
		while (i < n && i - st < 5 && sb_hexval(p[i]) >= 0)
			v = v * 16 + (unsigned)sb_hexval(p[i++]);
		if (i < n && p[i] == '.') {
			/* the dotted IPv4 tail stands for the last two groups */
			uint8_t v4[4];
			if (ng > 6 || !ipv4_parse(p + st, n - st, v4))
				return false;
			g[ng++] = (uint16_t)(v4[0] << 8 | v4[1]);
			g[ng++] = (uint16_t)(v4[2] << 8 | v4[3]);
			break;
		}
		if (need_v4 || i == st || i - st > 4 || ng == 8)
			return false;
		g[ng++] = (uint16_t)v;
		if (i == n)
			break;
		if (p[i] != ':' || ++i == n)
			return false; /* a stray byte or a trailing single ':' */
		if (p[i] == ':') {
			if (dbl >= 0)
				return false; /* a second "::" */
			dbl = (int)ng;
			if (++i == n)
				break;
			/* RFC 5118 §4.10: tolerate "2001:db8:::192.0.2.1" (an ABNF
			 * bug in RFC 3261 made it look legal): an extra ':' before
			 * an IPv4 tail only. */
			if (p[i] == ':') {
				i++;
				need_v4 = true;
			}
		}
	}
done:
	if (dbl < 0 ? ng != 8 : ng > 7)
		return false;
	memset(out, 0, 16);
	unsigned head = dbl < 0 ? ng : (unsigned)dbl;
	for (unsigned k = 0; k < head; k++) {
		out[2 * k] = (uint8_t)(g[k] >> 8);
		out[2 * k + 1] = (uint8_t)g[k];
	}
	for (unsigned k = head; k < ng; k++) {
		unsigned at = 8 - ng + k; /* groups after "::" sit at the end */
		out[2 * at] = (uint8_t)(g[k] >> 8);
		out[2 * at + 1] = (uint8_t)g[k];
	}
	return true;
}

/* One pass over a host that is not an IPv6 reference.
 * RFC 3261 §25.1 hostname = *( domainlabel "." ) toplabel [ "." ];
 * domainlabel = alphanum / alphanum *( alphanum / "-" ) alphanum;
 * toplabel starts with ALPHA.  A run of digits and dots can only be an
 * IPv4address, since no toplabel starts with a digit. */
static enum sb_host_type name_or_ipv4(const char *p, size_t n)
{
	/* fast path: most hosts a proxy meets are dotted quads */
	uint8_t quad[4];
	if (n && sb_is_digit(p[0]) && ipv4_parse(p, n, quad))
		return SB_HOST_IPV4;
	/* hostname = *( domainlabel "." ) toplabel [ "." ]; a label starts and
	 * ends with alphanum.  One pass: "all" keeps the classes every byte
	 * shares, so all & DIGIT means digits and dots only: an IPv4 look-alike
	 * the fast path refused ("1.2.3.256"), and no hostname either. */
	size_t i = 0;
	unsigned char first = 0;
	unsigned all = SB_CC_DIGIT;
	while (i < n) {
		size_t st = i;
		while (i < n && sb_cc((unsigned char)p[i], SB_CC_HOST))
			all &= sb_sip_cc[(unsigned char)p[i++]];
		if (i == st || p[st] == '-' || p[i - 1] == '-')
			return SB_HOST_NONE;
		first = (unsigned char)p[st];
		if (i < n) {
			if (p[i] != '.')
				return SB_HOST_NONE;
			i++;
		}
	}
	if (all & SB_CC_DIGIT)
		return SB_HOST_NONE; /* digits and dots, not a valid IPv4address */
	return sb_cc(first, SB_CC_ALPHA) ? SB_HOST_NAME : SB_HOST_NONE;
}

enum sb_host_type sb_host_classify(struct sb_slice h)
{
	if (!h.p || h.l == 0)
		return SB_HOST_NONE;
	if (h.p[0] == '[') {
		/* RFC 3261 §25.1 IPv6reference = "[" IPv6address "]" */
		uint8_t b[16];
		if (h.l < 4 || h.p[h.l - 1] != ']' ||
		    !sb_ipv6_parse(sb_slice_from(h.p + 1, h.l - 2), b))
			return SB_HOST_NONE;
		return SB_HOST_IPV6;
	}
	return name_or_ipv4(h.p, h.l);
}

/* ----------------------------------------------------------- parsing */

/* RFC 2396 §2.2 reserved = ";" / "/" / "?" / ":" / "@" / "&" / "=" / "+" /
 * "$" / "," */
static inline bool is_reserved(unsigned char c)
{
	switch (c) {
	case ';': case '/': case '?': case ':': case '@': case '&': case '=':
	case '+': case '$': case ',':
		return true;
	default:
		return false;
	}
}

/* Decode the byte at *i and advance.  RFC 3261 §19.1.4: characters other
 * than the reserved ones are equivalent to their %HH form, so an escaped
 * reserved character is returned as 0x100 | c, equal only to itself escaped.
 * A '%' without two hex digits is taken literally (the parser has already
 * refused those in SIP URIs). */
static unsigned esc_get(const char *p, size_t n, size_t *i)
{
	unsigned char c = (unsigned char)p[*i];
	if (c == '%' && n - *i >= 3) {
		int hi = sb_hexval(p[*i + 1]), lo = sb_hexval(p[*i + 2]);
		if (hi >= 0 && lo >= 0) {
			unsigned char d = (unsigned char)(hi << 4 | lo);
			*i += 3;
			return is_reserved(d) ? 0x100u | d : d;
		}
	}
	(*i)++;
	return c;
}

/* Equality after decoding %HH on both sides, so "%75se%72" equals "user"
 * and "%00" differs from "%00%00" (RFC 4475 §3.1.1.3 esc01, §3.1.1.4
 * escnull): nothing stops at a NUL. */
static bool esc_eq(struct sb_slice a, struct sb_slice b, bool icase)
{
	size_t i = 0, j = 0;
	if (a.l == b.l && (a.l == 0 || memcmp(a.p, b.p, a.l) == 0))
		return true;
	/* the common case: nothing escaped on either side */
	if (!memchr(a.p, '%', a.l) && !memchr(b.p, '%', b.l))
		return icase ? sb_slice_caseeq(a, b) : false;
	while (i < a.l && j < b.l) {
		unsigned x = esc_get(a.p, a.l, &i), y = esc_get(b.p, b.l, &j);
		if (icase) {
			x = x < 0x100 ? lower((unsigned char)x) : x;
			y = y < 0x100 ? lower((unsigned char)y) : y;
		}
		if (x != y)
			return false;
	}
	return i == a.l && j == b.l;
}

/* The RFC 3261 §19.1.4 parameters that must match when either URI has
 * them; index into the sb_uri fields below.  Escaped names count too
 * ("%6C%72" is "lr", RFC 4475 esc01). */
enum uri_known { K_TRANSPORT, K_MADDR, K_USER, K_METHOD, K_TTL, K_LR, K_NONE };

static enum uri_known known_param(struct sb_slice name)
{
	static const struct {
		const char *s;
		size_t l;
	} known[] = {
		[K_TRANSPORT] = { "transport", 9 }, [K_MADDR] = { "maddr", 5 },
		[K_USER] = { "user", 4 },           [K_METHOD] = { "method", 6 },
		[K_TTL] = { "ttl", 3 },             [K_LR] = { "lr", 2 },
	};
	if (name.l < 2)
		return K_NONE;
	/* most parameters are ruled out by their first byte */
	switch (lower((unsigned char)name.p[0])) {
	case 't': case 'm': case 'u': case 'l': case '%':
		break;
	default:
		return K_NONE;
	}
	bool escaped = memchr(name.p, '%', name.l) != NULL;
	for (unsigned k = 0; k < K_NONE; k++) {
		struct sb_slice kn = sb_slice_from(known[k].s, known[k].l);
		if (escaped ? esc_eq(name, kn, true)
			    : name.l == kn.l && sb_slice_caseeq(name, kn))
			return (enum uri_known)k;
	}
	return K_NONE;
}

static struct sb_slice *known_field(struct sb_uri *u, enum uri_known k)
{
	switch (k) {
	case K_TRANSPORT: return &u->transport;
	case K_MADDR: return &u->maddr;
	case K_USER: return &u->user_param;
	case K_METHOD: return &u->method;
	case K_TTL: return &u->ttl;
	default: return NULL;
	}
}

/* uri-parameters = *( ";" uri-parameter ), uri-parameter = pname [ "=" pvalue ]
 * (RFC 3261 §19.1.1; tel: RFC 3966 §3, same paramchar).  i is just past the
 * first ';'.  Returns where the list ends, (size_t)-1 when malformed. */
static size_t parse_params(struct sb_uri *u, const char *p, size_t i, size_t n, bool note)
{
	size_t ps = i;
	for (unsigned count = 1;; count++) {
		size_t ns = i;
		if (count > SB_URI_MAX_PARAMS)
			return (size_t)-1;
		i = scan_class(p, i, n, C_PARAM);
		if (i == (size_t)-1 || i == ns)
			return (size_t)-1; /* bad escape or empty name (";;") */
		struct sb_slice name = sb_slice_from(p + ns, i - ns);
		struct sb_slice value = sb_slice_from(p + i, 0); /* flag: present, empty */
		if (i < n && p[i] == '=') {
			size_t vs = ++i;
			i = scan_class(p, i, n, C_PARAM);
			if (i == (size_t)-1 || i == vs)
				return (size_t)-1;
			value = sb_slice_from(p + vs, i - vs);
		}
		if (note) {
			enum uri_known k = known_param(name);
			if (k == K_LR) {
				u->lr = true;
			} else if (k != K_NONE) {
				struct sb_slice *f = known_field(u, k);
				if (!f->p)
					*f = value;
			}
		}
		if (i < n && p[i] == ';') {
			i++;
			continue;
		}
		break;
	}
	u->params = sb_slice_from(p + ps, i - ps);
	return i;
}

/* headers = "?" header *( "&" header ), header = hname "=" hvalue
 * (RFC 3261 §19.1.1, §25.1).  i is just past the '?'. */
static int parse_headers(struct sb_uri *u, const char *p, size_t i, size_t n)
{
	size_t hs = i;
	for (unsigned count = 1;; count++) {
		size_t ns = i;
		if (count > SB_URI_MAX_PARAMS)
			return EBADMSG;
		i = scan_class(p, i, n, C_HNV);
		if (i == (size_t)-1 || i == ns || i == n || p[i] != '=')
			return EBADMSG;
		i = scan_class(p, i + 1, n, C_HNV); /* hvalue may be empty */
		if (i == (size_t)-1)
			return EBADMSG;
		if (i < n && p[i] == '&') {
			i++;
			continue;
		}
		break;
	}
	if (i != n)
		return EBADMSG;
	u->headers = sb_slice_from(p + hs, i - hs);
	return 0;
}

/* SIP-URI = "sip:" [ userinfo ] hostport uri-parameters [ headers ]
 * (RFC 3261 §19.1.1, §25.1).  i is just past "sip:". */
static int parse_sip(struct sb_uri *u, const char *p, size_t i, size_t n)
{
	/* '@' is allowed nowhere but after userinfo (not in user, password,
	 * params or headers), so the first one ends the userinfo; an escaped
	 * %40 does not (RFC 4475 §3.1.1.9 semiuri). */
	const char *at = sb_find_byte(p + i, p + n, '@');
	if (at) {
		size_t e = (size_t)(at - p), us = i;
		i = scan_class(p, i, e, C_USER);
		if (i == (size_t)-1 || i == us)
			return EBADMSG;
		u->user = sb_slice_from(p + us, i - us);
		if (i < e) {
			if (p[i] != ':')
				return EBADMSG;
			size_t ps = ++i;
			i = scan_class(p, i, e, C_PASS);
			if (i != e)
				return EBADMSG;
			u->password = sb_slice_from(p + ps, e - ps);
		}
		i = e + 1;
	}

	/* hostport = host [ ":" port ] */
	/* RFC 5118 §4.2 ipv6-bad: "sip:2001:db8::10" reads as host "2001" and
	 * a port that is not a number, so it fails. */
	i = sb_scan_hostport(p, i, n, false, &u->host, &u->host_type, &u->port);
	if (i == SB_SCAN_BAD)
		return EBADMSG;
	if (i < n && p[i] == ';') {
		i = parse_params(u, p, i + 1, n, true);
		if (i == (size_t)-1)
			return EBADMSG;
	}
	if (i < n && p[i] == '?')
		return parse_headers(u, p, i + 1, n);
	/* whatever is left is not URI: LWS (RFC 4475 §3.1.2.8 lwsruri), '<' or
	 * '>' (ltgtruri), or any other stray byte */
	return i == n ? 0 : EBADMSG;
}

/* RFC 3966 §3: telephone-subscriber = global-number / local-number, each a
 * number followed by parameters. */
static inline bool is_visual_sep(char c)
{
	return c == '-' || c == '.' || c == '(' || c == ')';
}

static int parse_tel(struct sb_uri *u, const char *p, size_t i, size_t n)
{
	size_t ns = i;
	bool global = i < n && p[i] == '+', digits = false;
	if (global)
		i++;
	for (; i < n; i++) {
		char c = p[i];
		if (sb_is_digit(c) || (!global && (sb_hexval(c) >= 0 || c == '*' || c == '#')))
			digits = true;
		else if (!is_visual_sep(c))
			break;
	}
	if (!digits)
		return EBADMSG;
	u->user = sb_slice_from(p + ns, i - ns);
	if (i < n && p[i] == ';') {
		i = parse_params(u, p, i + 1, n, false);
		if (i == (size_t)-1)
			return EBADMSG;
	}
	return i == n ? 0 : EBADMSG;
}

void sb_uri_clear(struct sb_uri *u)
{
	u->scheme = SB_URI_OTHER;
	u->scheme_s = SB_SLICE_NULL;
	u->user = SB_SLICE_NULL;
	u->password = SB_SLICE_NULL;
	u->host = SB_SLICE_NULL;
	u->host_type = SB_HOST_NONE;
	u->port = 0;
	u->params = SB_SLICE_NULL;
	u->headers = SB_SLICE_NULL;
	u->opaque = SB_SLICE_NULL;
	u->transport = SB_SLICE_NULL;
	u->maddr = SB_SLICE_NULL;
	u->user_param = SB_SLICE_NULL;
	u->method = SB_SLICE_NULL;
	u->ttl = SB_SLICE_NULL;
	u->lr = false;
}

/* A failed parse keeps only the scheme. */
static void reset_parts(struct sb_uri *u)
{
	enum sb_uri_scheme sc = u->scheme;
	struct sb_slice ss = u->scheme_s;
	sb_uri_clear(u);
	u->scheme = sc;
	u->scheme_s = ss;
}

/* parse_sip(), then reset_parts() when it fails. */
static int parse_sip_uri(struct sb_uri *u, const char *p, size_t i, size_t n)
{
	int err = parse_sip(u, p, i, n);
	if (err)
		reset_parts(u);
	return err;
}

int sb_uri_parse(struct sb_uri *u, struct sb_slice s)
{
	sb_uri_clear(u);
	/* SB_SIP_MAX_URI_LEN bounds every URI we keep, not only Request-URIs */
	if (!s.p || s.l == 0 || s.l > SB_SIP_MAX_URI_LEN)
		return EBADMSG;
	const char *p = s.p;
	size_t n = s.l, i;

	/* RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ),
	 * case-insensitive */
	if (!sb_is_alpha(p[0]))
		return EBADMSG;
	if (n > 4 && p[3] == ':' && (p[0] | 0x20) == 's' && (p[1] | 0x20) == 'i' &&
	    (p[2] | 0x20) == 'p') {
		/* "sip:", nearly every URI a proxy reads (OR-ing 0x20 folds only
		 * the upper-case letter onto each lower-case one) */
		u->scheme_s = sb_slice_from(p, 3);
		u->scheme = SB_URI_SIP;
		return parse_sip_uri(u, p, 4, n);
	}
	for (i = 1; i < n && (sb_is_alnum(p[i]) || p[i] == '+' || p[i] == '-' || p[i] == '.'); i++)
		;
	if (i == n || p[i] != ':')
		return EBADMSG;
	u->scheme_s = sb_slice_from(p, i);
	if (i == 3 || i == 4) {
		unsigned char a = lower((unsigned char)p[0]), b = lower((unsigned char)p[1]),
			      c = lower((unsigned char)p[2]);
		if (a == 's' && b == 'i' && c == 'p')
			u->scheme = i == 3 ? SB_URI_SIP
			      : lower((unsigned char)p[3]) == 's' ? SB_URI_SIPS : SB_URI_OTHER;
		else if (i == 3 && a == 't' && b == 'e' && c == 'l')
			u->scheme = SB_URI_TEL;
	}
	i++;

	int err;
	switch (u->scheme) {
	case SB_URI_SIP:
	case SB_URI_SIPS:
		return parse_sip_uri(u, p, i, n);
	case SB_URI_TEL:
		err = parse_tel(u, p, i, n);
		break;
	default:
		/* RFC 3261 §25.1 absoluteURI: kept opaque, but never with LWS,
		 * quotes, angle brackets or control bytes inside */
		if (i == n)
			return EBADMSG;
		for (size_t j = i; j < n; j++) {
			unsigned char c = (unsigned char)p[j];
			if (c <= 0x20 || c >= 0x7f || c == '<' || c == '>' || c == '"')
				return EBADMSG;
		}
		u->opaque = sb_slice_from(p + i, n - i);
		err = 0;
		break;
	}
	if (err)
		reset_parts(u);
	return err;
}

/* --------------------------------------------------------- comparison */

/* Both absent, or both present and equal after unescaping. */
static bool opt_eq(struct sb_slice a, struct sb_slice b, bool icase)
{
	if (!a.p || !b.p)
		return !a.p && !b.p;
	return esc_eq(a, b, icase);
}

/* A parameter of list by (escaped, case-insensitive) name: true if found,
 * with its value (p NULL for a flag). */
static bool param_lookup(struct sb_slice list, struct sb_slice name, struct sb_slice *value)
{
	struct sb_slice n, v;
	while (sb_param_next(&list, &n, &v, NULL)) {
		if (esc_eq(n, name, true)) {
			*value = v;
			return true;
		}
	}
	return false;
}

/* Is n (a name inside list) a repeat of an earlier name in list? */
static bool param_repeated(struct sb_slice list, struct sb_slice n)
{
	struct sb_slice unused;
	return param_lookup(sb_slice_from(list.p, (size_t)(n.p - list.p)), n, &unused);
}

/* RFC 3261 §19.1.4: a parameter other than the five above is compared only
 * when both URIs carry it.  With all_required (tel: RFC 3966 §4), a name
 * found in only one of them makes the URIs differ.  A repeated name counts
 * once, with its first value, as for the sb_uri fields, so every URI equals
 * itself. */
static bool params_eq(struct sb_slice a, struct sb_slice b, bool all_required)
{
	struct sb_slice n, v, w;
	struct sb_slice rest = a;
	while (sb_param_next(&rest, &n, &v, NULL)) {
		enum uri_known k = all_required ? K_NONE : known_param(n);
		if (k != K_NONE && k != K_LR)
			continue; /* compared through the sb_uri fields */
		if (param_repeated(a, n))
			continue;
		if (!param_lookup(b, n, &w)) {
			if (all_required)
				return false;
			continue;
		}
		if (!opt_eq(v, w, true))
			return false;
	}
	if (all_required) {
		rest = b;
		while (sb_param_next(&rest, &n, &v, NULL))
			if (!param_lookup(a, n, &w))
				return false;
	}
	return true;
}

/* The header of a URI's headers list ("hname=hvalue", split at '&') that
 * starts at *i: its name and value (an empty value when it has no '=').
 * Moves *i past it and its '&'; false at the end of the list. */
static bool header_next(struct sb_slice list, size_t *i, struct sb_slice *name,
			struct sb_slice *value)
{
	if (!list.p || *i >= list.l)
		return false;
	size_t st = *i, e = st;
	while (e < list.l && list.p[e] != '&')
		e++;
	struct sb_slice h = sb_slice_from(list.p + st, e - st);
	long eq = sb_slice_chr(h, '=');
	*name = sb_slice_from(h.p, eq < 0 ? h.l : (size_t)eq);
	*value = eq < 0 ? sb_slice_from(h.p + h.l, 0)
			: sb_slice_from(h.p + eq + 1, h.l - (size_t)eq - 1);
	*i = e + 1;
	return true;
}

/* Is every header of a also in b with the same value? */
static bool headers_sub(struct sb_slice a, struct sb_slice b)
{
	size_t i = 0;
	struct sb_slice hn, hv, gn, gv;
	while (header_next(a, &i, &hn, &hv)) {
		bool found = false;
		size_t j = 0;
		/* header names are case-insensitive; the values are compared as
		 * written after unescaping */
		while (!found && header_next(b, &j, &gn, &gv))
			found = esc_eq(hn, gn, true) && esc_eq(hv, gv, false);
		if (!found)
			return false;
	}
	return true;
}

/* RFC 3966 §4: numbers are equal after removing visual separators; hex
 * digits compare case-insensitively. */
static bool tel_number_eq(struct sb_slice a, struct sb_slice b)
{
	size_t i = 0, j = 0;
	for (;;) {
		while (i < a.l && is_visual_sep(a.p[i]))
			i++;
		while (j < b.l && is_visual_sep(b.p[j]))
			j++;
		if (i == a.l || j == b.l)
			return i == a.l && j == b.l;
		if (lower((unsigned char)a.p[i++]) != lower((unsigned char)b.p[j++]))
			return false;
	}
}

bool sb_uri_equal(const struct sb_uri *a, const struct sb_uri *b)
{
	/* RFC 3261 §19.1.4: a SIP and a SIPS URI are never equal */
	if (a->scheme != b->scheme)
		return false;
	switch (a->scheme) {
	case SB_URI_TEL:
		/* RFC 3966 §4: global and local numbers never match; every
		 * parameter must be in both, compared case-insensitively */
		return tel_number_eq(a->user, b->user) && params_eq(a->params, b->params, true);
	case SB_URI_SIP:
	case SB_URI_SIPS:
		break;
	default:
		return sb_slice_caseeq(a->scheme_s, b->scheme_s) && sb_slice_eq(a->opaque, b->opaque);
	}

	/* RFC 3261 §19.1.4: userinfo is case-sensitive, everything else is
	 * not; escaped characters equal their decoded form */
	if (!opt_eq(a->user, b->user, false) || !opt_eq(a->password, b->password, false))
		return false;
	if (a->host_type == SB_HOST_IPV6 && b->host_type == SB_HOST_IPV6) {
		/* RFC 5118 §4.1: IPv6 references are compared as addresses */
		uint8_t x[16], y[16];
		if (!sb_ipv6_parse(sb_slice_from(a->host.p + 1, a->host.l - 2), x) ||
		    !sb_ipv6_parse(sb_slice_from(b->host.p + 1, b->host.l - 2), y) ||
		    memcmp(x, y, 16) != 0)
			return false;
	} else if (!sb_slice_caseeq(a->host, b->host)) {
		return false;
	}
	/* an absent port is not 5060: sip:host != sip:host:5060 */
	if (a->port != b->port)
		return false;
	/* user, ttl, method, maddr and transport must match when either URI
	 * has them */
	if (!opt_eq(a->user_param, b->user_param, true) || !opt_eq(a->ttl, b->ttl, true) ||
	    !opt_eq(a->method, b->method, true) || !opt_eq(a->maddr, b->maddr, true) ||
	    !opt_eq(a->transport, b->transport, true))
		return false;
	/* byte-identical lists (the common case) are equal without a walk */
	if (!sb_slice_eq(a->params, b->params) && !params_eq(a->params, b->params, false))
		return false;
	/* every header must be present in both and match */
	return sb_slice_eq(a->headers, b->headers) ||
	       (headers_sub(a->headers, b->headers) && headers_sub(b->headers, a->headers));
}

int sb_uri_unescape(struct sb_slice in, char *out, size_t cap, size_t *outlen)
{
	size_t i = 0, o = 0;
	while (i < in.l) {
		char c = in.p[i];
		if (c == '%') {
			if (in.l - i < 3 || sb_hexval(in.p[i + 1]) < 0 || sb_hexval(in.p[i + 2]) < 0)
				return EBADMSG;
			c = (char)(sb_hexval(in.p[i + 1]) << 4 | sb_hexval(in.p[i + 2]));
			i += 3;
		} else {
			i++;
		}
		if (o == cap)
			return ENOSPC;
		out[o++] = c;
	}
	*outlen = o;
	return 0;
}
