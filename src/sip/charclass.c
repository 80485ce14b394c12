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

const uint16_t sb_sip_cc[256] = {
	0, 0, 0, 0, 0, 0, 0, 0,
	0, W|L, L, 0, 0, L, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0,
	W|L, T|P, 0, P, P, T|P, P, T|P,
	P, P, T|P, T|P, 0, T|O|P, T|P, P,
	T|D|H|N|O|P, T|D|H|N|O|P, T|D|H|N|O|P, T|D|H|N|O|P, T|D|H|N|O|P, T|D|H|N|O|P, T|D|H|N|O|P, T|D|H|N|O|P,
	T|D|H|N|O|P, T|D|H|N|O|P, P, 0, 0, 0, 0, P,
	P, T|A|H|N|O|P, T|A|H|N|O|P, T|A|H|N|O|P, T|A|H|N|O|P, T|A|H|N|O|P, T|A|H|N|O|P, T|A|N|O|P,
	T|A|N|O|P, T|A|N|O|P, T|A|N|O|P, T|A|N|O|P, T|A|N|O|P, T|A|N|O|P, T|A|N|O|P, T|A|N|O|P,
	T|A|N|O|P, T|A|N|O|P, T|A|N|O|P, T|A|N|O|P, T|A|N|O|P, T|A|N|O|P, T|A|N|O|P, T|A|N|O|P,
	T|A|N|O|P, T|A|N|O|P, T|A|N|O|P, P, P, P, P, T|P,
	T|P, T|A|H|N|O|P, T|A|H|N|O|P, T|A|H|N|O|P, T|A|H|N|O|P, T|A|H|N|O|P, T|A|H|N|O|P, T|A|N|O|P,
	T|A|N|O|P, T|A|N|O|P, T|A|N|O|P, T|A|N|O|P, T|A|N|O|P, T|A|N|O|P, T|A|N|O|P, T|A|N|O|P,
	T|A|N|O|P, T|A|N|O|P, T|A|N|O|P, T|A|N|O|P, T|A|N|O|P, T|A|N|O|P, T|A|N|O|P, T|A|N|O|P,
	T|A|N|O|P, T|A|N|O|P, T|A|N|O|P, P, P, P, T|P, 0,
	0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0,
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
	while (p < end) {
		if (*p == '"') {
			*inner = (struct sb_slice){ start, (size_t)(p - start) };
			return p + 1;
		}
		p = sb_qtext_step(p, end);
		if (!p)
			return NULL;
	}
	return NULL;
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
	} else {
		/* hostname or IPv4: alphanum, '-' and '.' */
		while (i < n && (sb_is_alnum(p[i]) || p[i] == '-' || p[i] == '.'))
			i++;
	}
	*host = sb_slice_from(p + hs, i - hs);
	*type = sb_host_classify(*host);
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
