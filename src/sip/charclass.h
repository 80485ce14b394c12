/* sip/charclass: one table of RFC 3261 §25.1 character classes, so the
 * scanners test a byte with one load instead of a chain of comparisons, and
 * the small scanners the sip parsers share (LWS, token, quoted-string,
 * hostport, parameter names).  Private to src/sip/. */
#ifndef SB_SIP_CHARCLASS_H
#define SB_SIP_CHARCLASS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "switchboard/sip.h"

enum {
	SB_CC_TOKEN = 1u << 0,  /* token: alphanum / "-" "." "!" "%" "*" "_" "+" "`" "'" "~" */
	SB_CC_DIGIT = 1u << 1,
	SB_CC_ALPHA = 1u << 2,
	SB_CC_HEX = 1u << 3,
	SB_CC_WS = 1u << 4,     /* SP, HTAB */
	SB_CC_LWS = 1u << 5,    /* SP, HTAB, CR, LF */
	SB_CC_ALNUM = 1u << 6,
	SB_CC_HOST = 1u << 7,   /* a hostname label byte: alphanum / "-" */
	SB_CC_PARAM = 1u << 8,  /* a parameter name or unquoted value byte: visible
	                           ASCII but ; = , " < > (token, paramchar, [v6]) */
	SB_CC_HOSTCH = 1u << 9, /* a byte of a hostname or IPv4address run:
	                           alphanum / "-" / "." */
	SB_CC_QTEXT = 1u << 10, /* a quoted-string byte that needs no second look:
	                           HTAB, SP, visible ASCII but DQUOTE and "\",
	                           and every byte >= 0x80 (qdtext, ctext) */
	/* the RFC 3261 §25.1 URI sets: unreserved (alphanum / mark:
	 * - _ . ! ~ * ' ( )) plus the set's own bytes; "%" HEXDIG HEXDIG
	 * escapes are the scanner's business */
	SB_CC_URI_USER = 1u << 11,  /* user-unreserved: & = + $ , ; ? / */
	SB_CC_URI_PASS = 1u << 12,  /* password: & = + $ , */
	SB_CC_URI_PARAM = 1u << 13, /* param-unreserved: [ ] / : & + $ */
	SB_CC_URI_HNV = 1u << 14,   /* hnv-unreserved: [ ] / ? : + $ */
};

extern const uint16_t sb_sip_cc[256];

static inline bool sb_cc(unsigned char c, unsigned cls)
{
	return (sb_sip_cc[c] & cls) != 0;
}

static inline bool sb_is_digit(char c)
{
	return sb_cc((unsigned char)c, SB_CC_DIGIT);
}

static inline bool sb_is_alpha(char c)
{
	return sb_cc((unsigned char)c, SB_CC_ALPHA);
}

static inline bool sb_is_alnum(char c)
{
	return sb_cc((unsigned char)c, SB_CC_ALNUM);
}

static inline bool sb_is_tchar(char c)
{
	return sb_cc((unsigned char)c, SB_CC_TOKEN);
}

/* The first byte c in [p, end), or NULL: memchr() without the call, for the
 * short distances of a header line or value.  Sixteen bytes a step with
 * SSE2 (every x86-64 has it), the last step overlapping the one before so
 * that no byte is looked at alone; spans under 16 bytes, and other machines,
 * eight bytes a step: in x = word ^ c*0x01..01, (x - 0x01..01) & ~x &
 * 0x80..80 flags every zero byte, and only the first flag is sure (a borrow
 * can flag a byte after it), which is the lowest one in little-endian order.
 * Never reads outside [p, end). */
static inline const char *sb_find_byte(const char *p, const char *end, char c)
{
#if defined(__SSE2__)
	if (end - p >= 16) {
		const __m128i pat = _mm_set1_epi8(c);
		for (;;) {
			const char *at = end - p >= 16 ? p : end - 16;
			__m128i w = _mm_loadu_si128((const __m128i *)(const void *)at);
			/* the bytes of a last step before p were looked at in
			 * the step before it, and are not c */
			unsigned mask = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(w, pat));
			if (mask)
				return at + __builtin_ctz(mask);
			if (end - at <= 16)
				return NULL;
			p = at + 16;
		}
	}
#endif
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
	const uint64_t pat8 = ones * (unsigned char)c;
	while (end - p >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		w ^= pat8;
		uint64_t z = (w - ones) & ~w & highs;
		if (z)
			return p + (__builtin_ctzll(z) >> 3);
		p += 8;
	}
#endif
	for (; p < end; p++)
		if (*p == c)
			return p;
	return NULL;
}

/* Whether every byte of [p, p + n) is visible ASCII (0x21 to 0x7e): the
 * bytes of an RFC 3261 §25.1 word, as in a Call-ID.  Sixteen bytes a step
 * with SSE2, the last step overlapping; as signed bytes the visible ones are
 * those above 0x20 and below 0x7f, and 0x80 to 0xff are negative. */
static inline bool sb_all_visible(const char *p, size_t n)
{
	const unsigned char *u = (const unsigned char *)p;
	size_t i = 0;
#if defined(__SSE2__)
	if (n >= 16) {
		const __m128i lo = _mm_set1_epi8(0x20), hi = _mm_set1_epi8(0x7f);
		for (;;) {
			size_t at = n - i >= 16 ? i : n - 16;
			__m128i w = _mm_loadu_si128((const __m128i *)(const void *)(p + at));
			__m128i ok = _mm_and_si128(_mm_cmpgt_epi8(w, lo), _mm_cmplt_epi8(w, hi));
			if (_mm_movemask_epi8(ok) != 0xffff)
				return false;
			if (n - at <= 16)
				return true;
			i = at + 16;
		}
	}
#endif
	for (; i < n; i++)
		if ((unsigned)(u[i] - 0x21) > 0x7e - 0x21)
			return false;
	return true;
}

/* RFC 3261 §25.1 token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" /
 * "+" / "`" / "'" / "~"): a whole slice, non-empty. */

static inline bool sb_is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* SP, HTAB, CR or LF: a byte of LWS. */
static inline bool sb_is_lws(char c)
{
	return sb_cc((unsigned char)c, SB_CC_LWS);
}

/* The end of the run of bytes of class cls starting at p[i], at most p[n]:
 * the inner loop of every scanner, four bytes a step while four remain. */
static inline size_t sb_scan_cc(const char *p, size_t i, size_t n, unsigned cls)
{
	const unsigned char *u = (const unsigned char *)p;
	while (i + 4 <= n && (sb_sip_cc[u[i]] & sb_sip_cc[u[i + 1]] & sb_sip_cc[u[i + 2]] &
			      sb_sip_cc[u[i + 3]] & cls))
		i += 4;
	while (i < n && (sb_sip_cc[u[i]] & cls))
		i++;
	return i;
}

/* sb_scan_cc(p, i, n, SB_CC_PARAM): the end of a parameter name or unquoted
 * value (the long ones are branches, tags and the like), sixteen bytes a
 * step with SSE2: the bytes above 0x20 and below 0x7f as signed bytes (so
 * none of 0x80 to 0xff) that are none of ; = , " < >. */
static inline size_t sb_scan_param(const char *p, size_t i, size_t n)
{
#if defined(__SSE2__)
	const __m128i lo = _mm_set1_epi8(0x20), hi = _mm_set1_epi8(0x7f);
	while (i + 16 <= n) {
		__m128i w = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
		__m128i sep = _mm_or_si128(
			_mm_or_si128(_mm_cmpeq_epi8(w, _mm_set1_epi8(';')),
				     _mm_cmpeq_epi8(w, _mm_set1_epi8('='))),
			_mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(w, _mm_set1_epi8(',')),
						  _mm_cmpeq_epi8(w, _mm_set1_epi8('"'))),
				     _mm_or_si128(_mm_cmpeq_epi8(w, _mm_set1_epi8('<')),
						  _mm_cmpeq_epi8(w, _mm_set1_epi8('>')))));
		__m128i ok = _mm_andnot_si128(sep, _mm_and_si128(_mm_cmpgt_epi8(w, lo),
								 _mm_cmplt_epi8(w, hi)));
		unsigned stop = ~(unsigned)_mm_movemask_epi8(ok) & 0xffffu;
		if (stop)
			return i + (size_t)__builtin_ctz(stop);
		i += 16;
	}
#endif
	return sb_scan_cc(p, i, n, SB_CC_PARAM);
}

/* The end of the run of token bytes starting at p. */
static inline const char *sb_scan_token(const char *p, const char *end)
{
	return p + sb_scan_cc(p, 0, (size_t)(end - p), SB_CC_TOKEN);
}

/* RFC 3261 §25.1 token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" /
 * "+" / "`" / "'" / "~"): a whole slice, non-empty. */
static inline bool sb_is_token(struct sb_slice s)
{
	return s.l != 0 && sb_scan_cc(s.p, 0, s.l, SB_CC_TOKEN) == s.l;
}

/* Case-insensitive match of a parameter name against a lowercase, letters
 * only literal: c | 0x20 lowers a letter and maps no other byte onto one.
 * SB_NAME_IS(name, "branch") measures the literal at compile time. */
static inline bool sb_name_is(struct sb_slice s, const char *lit, size_t l)
{
	if (s.l != l)
		return false;
	for (size_t i = 0; i < l; i++)
		if (((unsigned char)s.p[i] | 0x20) != (unsigned char)lit[i])
			return false;
	return true;
}
#define SB_NAME_IS(s, lit) sb_name_is((s), "" lit, sizeof(lit) - 1)

size_t sb_skip_lws_slow(const char *p, size_t i, size_t n);

/* RFC 3261 §25.1: LWS = [*WSP CRLF] 1*WSP, SWS = [LWS]: skip whitespace
 * and folded line ends (CRLF or a bare LF, then SP/HT) from p[i], at most to
 * p[n]; a line end that does not fold is left for the caller to reject.
 * One load when there is nothing to skip, the common case. */
static inline size_t sb_skip_lws(const char *p, size_t i, size_t n)
{
	if (i >= n || !sb_cc((unsigned char)p[i], SB_CC_LWS))
		return i;
	return sb_skip_lws_slow(p, i, n);
}

/* The same over a [p, end) range. */
static inline const char *sb_skip_sws(const char *p, const char *end)
{
	return p + sb_skip_lws(p, 0, (size_t)(end - p));
}

/* The bounds of a header value without the LWS around it: *i past the
 * leading LWS (folds only, as sb_skip_lws), the end returned before the
 * trailing SP, HTAB, CR and LF. */
static inline size_t sb_lws_bounds(const char *p, size_t n, size_t *i)
{
	*i = sb_skip_lws(p, 0, n);
	while (n > *i && sb_is_lws(p[n - 1]))
		n--;
	return n;
}

/* One step, from p < end, through text that RFC 3261 §25.1 allows in a
 * quoted-string or comment (qdtext, ctext: LWS, visible bytes, UTF8-NONASCII):
 * a line end only as part of a fold, which is stepped over whole, and no
 * control byte but HTAB.  Returns where the next step starts, or NULL. */
static inline const char *sb_text_step(const char *p, const char *end)
{
	unsigned char c = (unsigned char)*p;
	if (c == '\r' || c == '\n') {
		const char *q = sb_skip_sws(p, end);
		return q == p ? NULL : q; /* NULL: a line end that does not fold */
	}
	if ((c < 0x20 && c != '\t') || c == 0x7f)
		return NULL;
	return p + 1;
}

/* The same where "\" starts a quoted-pair: RFC 3261 §25.1 quoted-pair =
 * "\" (%x00-09 / %x0B-0C / %x0E-7F), taken here as any byte but CR and LF. */
static inline const char *sb_qtext_step(const char *p, const char *end)
{
	if (*p == '\\')
		return end - p < 2 || p[1] == '\r' || p[1] == '\n' ? NULL : p + 2;
	return sb_text_step(p, end);
}

/* p points at '"'.  RFC 3261 §25.1:
 *   quoted-string = SWS DQUOTE *(qdtext / quoted-pair ) DQUOTE  (SWS: the caller's)
 *   qdtext        = LWS / %x21 / %x23-5B / %x5D-7E / UTF8-NONASCII
 *   quoted-pair   = "\" (%x00-09 / %x0B-0C / %x0E-7F)
 * so inside the quotes: any visible byte or SP/HTAB, bytes >= 0x80, line
 * ends only when they fold (CRLF or a bare LF, then SP/HT), and a backslash
 * escaping any byte but CR and LF.  *inner gets the bytes between the quotes,
 * still escaped; returns the byte after the closing quote, or NULL when the
 * string does not close or holds a bare control byte (NUL, DEL, CR or LF
 * that does not fold...), which could otherwise end a header early in the
 * hands of whoever reads the value next. */
const char *sb_scan_quoted(const char *p, const char *end, struct sb_slice *inner);

/* Returned by the index scanners below for malformed input. */
#define SB_SCAN_BAD ((size_t)-1)

/* RFC 3261 §25.1 IPv4address = 1*3DIGIT "." 1*3DIGIT "." 1*3DIGIT "."
 * 1*3DIGIT, each at most 255 (leading zeros allowed: "010" is 10), read in
 * one pass from p[i], at most to p[n].  Fills out[4] and returns where the
 * address ends (the caller decides what may follow it), or SB_SCAN_BAD. */
size_t sb_scan_ipv4(const char *p, size_t i, size_t n, uint8_t out[4]);

/* RFC 3261 §25.1 hostport = host [ ":" port ] from p[i], at most to p[n].
 * host is an IPv6reference (to the first ']'; sb_host_classify checks it) or
 * a run of alphanum, '-' and '.' (hostname or IPv4address); port = 1*DIGIT,
 * 1 to 65535 (a zero port addresses nothing).  With lws, LWS may stand on
 * either side of the colon (Via sent-by, where COLON = SWS ":" SWS).  Fills
 * *host and *type, and *port when a port is given (untouched otherwise);
 * returns where the hostport ends (before any LWS after the host when there
 * is no port), or SB_SCAN_BAD. */
size_t sb_scan_hostport(const char *p, size_t i, size_t n, bool lws, struct sb_slice *host,
			enum sb_host_type *type, uint16_t *port);

/* Set every field of *u absent, one field at a time: a compiler clears a
 * struct this size ("*u = (struct sb_uri){ 0 }") with a string instruction
 * whose start-up costs more than the stores, on every URI parsed.  (Not
 * "a = b = SB_SLICE_NULL" either: that stores b, then loads it back as one
 * 16-byte value the two 8-byte stores cannot forward, a stall per slice.)
 * Keep in step with struct sb_uri (test_uri checks every field). */
void sb_uri_clear(struct sb_uri *u);

#endif
