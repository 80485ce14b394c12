/* sip/charclass: the table behind sb_cc(), LWS skipping and the scanners
 * the sip parsers share (see charclass.h for their contracts). */
#include <string.h>

#include "charclass.h"

#define T SB_CC_TOKEN
#define D SB_CC_DIGIT
#define A SB_CC_ALPHA
#define H SB_CC_HEX
#define W SB_CC_WS
#define L SB_CC_LWS
#define N SB_CC_ALNUM
#define O SB_CC_HOST
#define P SB_CC_PARAM
#define R SB_CC_HOSTCH
#define Q SB_CC_QTEXT
#define U SB_CC_URI_USER
#define S SB_CC_URI_PASS
#define M SB_CC_URI_PARAM
#define V SB_CC_URI_HNV
/* RFC 3261 §25.1 unreserved (alphanum / mark) is in every URI set */
#define UN (U | S | M | V)
/* a digit, a hex letter, any other letter: in every class but WS and LWS */
#define DG (T | D | H | N | O | P | R | Q | UN)
#define HX (T | A | H | N | O | P | R | Q | UN)
#define LT (T | A | N | O | P | R | Q | UN)

/* generated from the definitions in charclass.h; test_uri checks every byte */
const uint16_t sb_sip_cc[256] = {
	0, 0, 0, 0, 0, 0, 0, 0,
	0, W|L|Q, L, 0, 0, L, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0,
	W|L|Q, T|P|Q|UN, 0, P|Q, P|Q|UN, T|P|Q, P|Q|U|S|M, T|P|Q|UN,
	P|Q|UN, P|Q|UN, T|P|Q|UN, T|P|Q|UN, Q|U|S, T|O|P|R|Q|UN, T|P|R|Q|UN, P|Q|U|M|V,
	DG, DG, DG, DG, DG, DG, DG, DG,
	DG, DG, P|Q|M|V, Q|U, Q, Q|U|S, Q, P|Q|U|V,
	P|Q, HX, HX, HX, HX, HX, HX, LT,
	LT, LT, LT, LT, LT, LT, LT, LT,
	LT, LT, LT, LT, LT, LT, LT, LT,
	LT, LT, LT, P|Q|M|V, P, P|Q|M|V, P|Q, T|P|Q|UN,
	T|P|Q, HX, HX, HX, HX, HX, HX, LT,
	LT, LT, LT, LT, LT, LT, LT, LT,
	LT, LT, LT, LT, LT, LT, LT, LT,
	LT, LT, LT, P|Q, P|Q, P|Q, T|P|Q|UN, 0,
	Q, Q, Q, Q, Q, Q, Q, Q,
	Q, Q, Q, Q, Q, Q, Q, Q,
	Q, Q, Q, Q, Q, Q, Q, Q,
	Q, Q, Q, Q, Q, Q, Q, Q,
	Q, Q, Q, Q, Q, Q, Q, Q,
	Q, Q, Q, Q, Q, Q, Q, Q,
	Q, Q, Q, Q, Q, Q, Q, Q,
	Q, Q, Q, Q, Q, Q, Q, Q,
	Q, Q, Q, Q, Q, Q, Q, Q,
	Q, Q, Q, Q, Q, Q, Q, Q,
	Q, Q, Q, Q, Q, Q, Q, Q,
	Q, Q, Q, Q, Q, Q, Q, Q,
	Q, Q, Q, Q, Q, Q, Q, Q,
	Q, Q, Q, Q, Q, Q, Q, Q,
	Q, Q, Q, Q, Q, Q, Q, Q,
	Q, Q, Q, Q, Q, Q, Q, Q,
};

size_t sb_skip_lws_slow(const char *p, size_t i, size_t n)
{
	for (;;) {
		while (i < n && sb_is_wsp(p[i]))
			i++;
		size_t j = i;
		if (j + 1 < n && p[j] == '\r' && p[j + 1] == '\n')
			j += 2;
		else if (j < n && p[j] == '\n')
			j++; /* a bare LF fold: liberal */
		if (j == i || j >= n || !sb_is_wsp(p[j]))
			return i;
		i = j;
	}
}

const char *sb_scan_quoted(const char *p, const char *end, struct sb_slice *inner)
{
	const char *start = ++p;
	for (;;) {
		/* the plain bytes in one run; the rest one step at a time */
		p += sb_scan_cc(p, 0, (size_t)(end - p), SB_CC_QTEXT);
		if (p == end)
			return NULL;
		if (*p == '"') {
			*inner = (struct sb_slice){ start, (size_t)(p - start) };
			return p + 1;
		}
		p = sb_qtext_step(p, end);
		if (!p)
			return NULL;
	}
}

/* 1*3DIGIT at most 255 from p[*i]: false when there is no digit or the value
 * is too large.  A fourth digit is left for the caller to refuse. */
static inline bool dec_octet(const char *p, size_t *i, size_t n, unsigned *out)
{
	const unsigned char *u = (const unsigned char *)p;
	size_t k = *i;
	unsigned v, d;
	if (k >= n || (v = (unsigned)u[k] - '0') > 9)
		return false;
	k++;
	if (k < n && (d = (unsigned)u[k] - '0') <= 9) {
		v = v * 10 + d;
		k++;
		if (k < n && (d = (unsigned)u[k] - '0') <= 9) {
			v = v * 10 + d;
			k++;
		}
	}
	*i = k;
	*out = v;
	return v <= 255;
}

/* The same with 15 bytes or more left, the longest address: no byte it
 * reads can be past the end, so it checks none. */
static inline bool dec_octet_15(const unsigned char **pp, unsigned *out)
{
	const unsigned char *u = *pp;
	unsigned v = (unsigned)u[0] - '0', d;
	if (v > 9)
		return false;
	u++;
	if ((d = (unsigned)u[0] - '0') <= 9) {
		v = v * 10 + d;
		u++;
		if ((d = (unsigned)u[0] - '0') <= 9) {
			v = v * 10 + d;
			u++;
		}
	}
	*pp = u;
	*out = v;
	return v <= 255;
}

size_t sb_scan_ipv4(const char *p, size_t i, size_t n, uint8_t out[4])
{
	unsigned v;
	if (i <= n && n - i >= 15) {
		/* octets of at most 3 digits and 3 dots: 15 bytes at most, and
		 * each step reads one byte past its digits only when it has
		 * fewer than 3, so never past the 15th */
		const unsigned char *u = (const unsigned char *)p + i;
		for (unsigned k = 0; k < 4; k++) {
			if (k && *u++ != '.')
				return SB_SCAN_BAD;
			if (!dec_octet_15(&u, &v))
				return SB_SCAN_BAD;
			out[k] = (uint8_t)v;
		}
		return (size_t)(u - (const unsigned char *)p);
	}
	for (unsigned k = 0; k < 4; k++) {
		if (k) {
			if (i >= n || p[i] != '.')
				return SB_SCAN_BAD;
			i++;
		}
		if (!dec_octet(p, &i, n, &v))
			return SB_SCAN_BAD;
		out[k] = (uint8_t)v;
	}
	return i;
}

/* The host of a hostport that is not an IPv6 reference, from p[i]: a run of
 * alphanum, '-' and '.' (hostname or IPv4address).  A dotted quad that the
 * run does not go past is read in the same pass; anything else is
 * classified as a whole (sb_host_classify).  Returns the end of the run. */
static size_t scan_host(const char *p, size_t i, size_t n, enum sb_host_type *type)
{
	uint8_t quad[4];
	size_t e = sb_scan_ipv4(p, i, n, quad);
	if (e != SB_SCAN_BAD && (e == n || !sb_cc((unsigned char)p[e], SB_CC_HOSTCH))) {
		*type = SB_HOST_IPV4;
		return e;
	}
	e = sb_scan_cc(p, i, n, SB_CC_HOSTCH);
	*type = sb_host_classify(sb_slice_from(p + i, e - i));
	return e;
}

size_t sb_scan_hostport(const char *p, size_t i, size_t n, bool lws, struct sb_slice *host,
			enum sb_host_type *type, uint16_t *port)
{
	size_t hs = i;
	if (i < n && p[i] == '[') {
		const char *rb = memchr(p + i, ']', n - i);
		if (!rb)
			return SB_SCAN_BAD;
		i = (size_t)(rb - p) + 1;
		*host = sb_slice_from(p + hs, i - hs);
		*type = sb_host_classify(*host);
	} else {
		i = scan_host(p, i, n, type);
		*host = sb_slice_from(p + hs, i - hs);
	}
	if (*type == SB_HOST_NONE)
		return SB_SCAN_BAD;
	size_t j = lws ? sb_skip_lws(p, i, n) : i;
	if (j == n || p[j] != ':')
		return i;
	j = lws ? sb_skip_lws(p, j + 1, n) : j + 1;
	unsigned v = 0;
	size_t ds = j;
	while (j < n && sb_is_digit(p[j])) {
		v = v * 10 + (unsigned)(p[j++] - '0');
		if (v > 65535)
			return SB_SCAN_BAD;
	}
	if (j == ds || v == 0)
		return SB_SCAN_BAD;
	*port = (uint16_t)v;
	return j;
}
