/* sip/frame: message boundaries in a byte stream (TCP, TLS).
 *
 * RFC 3261 §18.3: over a stream the Content-Length header field MUST be used
 * to find the end of each message.  The framer reads only the header section
 * (to its empty line) and Content-Length, so a transport can call it on every
 * read without parsing the message twice; it tells "need more bytes"
 * (ENODATA) from "this stream can never be framed" (EBADMSG: close it). */
#include <errno.h>
#include <string.h>

#include "switchboard/sip.h"

#include "charclass.h"

/* Find the Content-Length in a complete header section hdrs[0..len).
 * Returns 0 with *cl, ENOENT when absent, EBADMSG when malformed or given
 * twice with different values (ERANGE, RFC 4475 mcl01). */
static int find_content_length(const char *hdrs, size_t len, uint32_t *cl)
{
	const char *p = hdrs, *end = hdrs + len;
	bool found = false;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		if (!sb_is_wsp(*p)) {
			const char *colon = memchr(p, ':', (size_t)(le - p));
			if (colon) {
				struct sb_slice name = sb_slice_trim(sb_slice_from(p, (size_t)(colon - p)));
				if (sb_is_token(name) &&
				    sb_sip_hdr_lookup(name) == SB_HDR_CONTENT_LENGTH) {
					/* the value may be folded onto following lines */
					const char *ve = le;
					while (ve + 1 < end && sb_is_wsp(ve[1])) {
						const char *n2 = memchr(ve + 1, '\n', (size_t)(end - ve - 1));
						ve = n2 ? n2 : end;
					}
					struct sb_slice v = sb_slice_trim(
						sb_slice_from(colon + 1, (size_t)(ve - colon - 1)));
					uint32_t n;
					if (sb_slice_to_u32(v, &n) != 0)
						return EBADMSG; /* RFC 4475 ncl: -999 */
					if (found && n != *cl)
						return ERANGE; /* conflicting values */
					*cl = n;
					found = true;
				}
			}
		}
		p = nl ? nl + 1 : end;
	}
	return found ? 0 : ENOENT;
}

/* The end of the header section: just past the first empty line, line ends
 * being LF with an optional CR, the rule sb_sip_parse() follows.  Searches
 * from byte from on; returns 0 when the section has not ended yet. */
static size_t header_end(const char *buf, size_t len, size_t from)
{
	size_t i = from;
	while (i < len) {
		const char *nl = memchr(buf + i, '\n', len - i);
		if (!nl)
			return 0;
		size_t k = (size_t)(nl - buf) + 1;
		if (k < len && buf[k] == '\n')
			return k + 1;
		if (k + 1 < len && buf[k] == '\r' && buf[k + 1] == '\n')
			return k + 2;
		i = k;
	}
	return 0;
}

int sb_sip_frame(const char *buf, size_t len, size_t max_size, struct sb_sip_frame *f)
{
	f->defect = SB_DEFECT_NONE;
	f->need = 0;
	if (len == 0)
		return ENODATA;
	/* RFC 5626 §3.5.1 keep-alives: CRLFCRLF is a ping (answer CRLF), a
	 * lone CRLF a pong.  RFC 3261 §7.5 lets a stream carry CRLFs between
	 * messages; they are consumed the same way.  A proper prefix of
	 * CRLFCRLF may be a ping still arriving, so it waits (ENODATA): a
	 * CRLF at the end of the bytes is a pong only once the caller knows
	 * nothing follows it (the transport waits a moment for more). */
	if (buf[0] == '\r' || buf[0] == '\n') {
		f->scanned = 0;
		if (buf[0] == '\n') {
			f->kind = SB_FRAME_PONG;
			f->len = 1;
			return 0;
		}
		if (len >= 2 && buf[1] != '\n') {
			/* §7.5 allows CRLF, not a bare CR, before a start line */
			f->defect = SB_DEFECT_BAD_REQUEST_LINE;
			return EBADMSG;
		}
		if (len < 4 && memcmp(buf, "\r\n\r", len) == 0)
			return ENODATA; /* "\r", "\r\n", "\r\n\r": maybe a ping */
		if (len >= 4 && memcmp(buf, "\r\n\r\n", 4) == 0) {
			f->kind = SB_FRAME_PING;
			f->len = 4;
			return 0;
		}
		f->kind = SB_FRAME_PONG;
		f->len = 2;
		return 0;
	}
	size_t hlen = header_end(buf, len, f->scanned < len ? f->scanned : 0);
	if (!hlen) {
		/* an end still to come starts at an LF no earlier than len - 2 */
		f->scanned = len >= 2 ? len - 2 : 0;
		if (len > max_size) {
			f->defect = SB_DEFECT_TOO_LARGE;
			return EMSGSIZE;
		}
		return ENODATA;
	}
	uint32_t cl = 0;
	int err = find_content_length(buf, hlen, &cl);
	if (err == ENOENT) {
		f->defect = SB_DEFECT_BAD_CLEN; /* mandatory on streams */
		return EBADMSG;
	}
	if (err) {
		f->defect = err == ERANGE ? SB_DEFECT_MULTI_CLEN : SB_DEFECT_BAD_CLEN;
		return EBADMSG;
	}
	if ((uint64_t)hlen + cl > max_size) {
		f->defect = SB_DEFECT_TOO_LARGE;
		return EMSGSIZE;
	}
	if (len < hlen + cl) {
		/* RFC 4475 clerr over TCP: wait; the transport times out */
		f->need = hlen + cl;
		return ENODATA;
	}
	f->kind = SB_FRAME_MESSAGE;
	f->len = hlen + cl;
	f->scanned = 0;
	return 0;
}
