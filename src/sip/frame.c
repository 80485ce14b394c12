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
 * twice with different values (RFC 4475 mcl01). */
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
				if (sb_sip_hdr_lookup(name) == SB_HDR_CONTENT_LENGTH) {
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
						return EBADMSG;
					*cl = n;
					found = true;
				}
			}
		}
		p = nl ? nl + 1 : end;
	}
	return found ? 0 : ENOENT;
}

int sb_sip_frame(const char *buf, size_t len, size_t max_size, struct sb_sip_frame *f)
{
	f->defect = SB_DEFECT_NONE;
	if (len == 0)
		return ENODATA;
	/* RFC 5626 §3.5.1 keep-alives: CRLFCRLF is a ping (answer CRLF), a
	 * lone CRLF a pong.  RFC 3261 §7.5 lets a stream carry CRLFs between
	 * messages; they are consumed the same way. */
	if (buf[0] == '\r' || buf[0] == '\n') {
		if (len >= 4 && memcmp(buf, "\r\n\r\n", 4) == 0) {
			f->kind = SB_FRAME_PING;
			f->len = 4;
			return 0;
		}
		if (len >= 2 && buf[0] == '\r' && buf[1] == '\n') {
			f->kind = SB_FRAME_PONG;
			f->len = 2;
			return 0;
		}
		if (buf[0] == '\n') {
			f->kind = SB_FRAME_PONG;
			f->len = 1;
			return 0;
		}
		return ENODATA; /* a lone CR: wait for its LF */
	}
	const char *eoh = memmem(buf, len, "\r\n\r\n", 4);
	if (!eoh) {
		if (len > max_size) {
			f->defect = SB_DEFECT_TOO_LARGE;
			return EMSGSIZE;
		}
		return ENODATA;
	}
	size_t hlen = (size_t)(eoh - buf) + 4;
	uint32_t cl = 0;
	int err = find_content_length(buf, hlen - 2, &cl);
	if (err == ENOENT) {
		f->defect = SB_DEFECT_BAD_CLEN; /* mandatory on streams */
		return EBADMSG;
	}
	if (err) {
		f->defect = SB_DEFECT_BAD_CLEN;
		return EBADMSG;
	}
	if ((uint64_t)hlen + cl > max_size) {
		f->defect = SB_DEFECT_TOO_LARGE;
		return EMSGSIZE;
	}
	if (len < hlen + cl)
		return ENODATA; /* RFC 4475 clerr over TCP: wait; the transport times out */
	f->kind = SB_FRAME_MESSAGE;
	f->len = hlen + cl;
	return 0;
}
