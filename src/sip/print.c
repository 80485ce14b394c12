/* sip/print: printing new messages.  A response is derived from the request it
 * answers (RFC 3261 §8.2.6), copying the fields that tie it to the request
 * byte for byte; a request is built from a spec in the order RFC 3261 §8.1.1
 * recommends.  Both write into a bounded sb_buf and never use printf: the
 * proxy answers every INVITE with a 100 and every failure with a final
 * response, so this is on the hot path.  (Edits to a received message that is
 * forwarded live in edit.c.) */
#include <errno.h>
#include <string.h>

#include "switchboard/sip.h"

#include "charclass.h"

const char *sb_sip_reason_phrase(unsigned code)
{
	switch (code) {
	/* RFC 3261 §21.1 */
	case 100: return "Trying";
	case 180: return "Ringing";
	case 181: return "Call Is Being Forwarded";
	case 182: return "Queued";
	case 183: return "Session Progress";
	case 199: return "Early Dialog Terminated";           /* RFC 6228 */
	/* RFC 3261 §21.2 */
	case 200: return "OK";
	case 202: return "Accepted";                          /* RFC 3515 */
	case 204: return "No Notification";                   /* RFC 5839 */
	/* RFC 3261 §21.3 */
	case 300: return "Multiple Choices";
	case 301: return "Moved Permanently";
	case 302: return "Moved Temporarily";
	case 305: return "Use Proxy";
	case 380: return "Alternative Service";
	/* RFC 3261 §21.4 */
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 402: return "Payment Required";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 407: return "Proxy Authentication Required";
	case 408: return "Request Timeout";
	case 410: return "Gone";
	case 412: return "Conditional Request Failed";        /* RFC 3903 */
	case 413: return "Request Entity Too Large";
	case 414: return "Request-URI Too Long";
	case 415: return "Unsupported Media Type";
	case 416: return "Unsupported URI Scheme";
	case 417: return "Unknown Resource-Priority";         /* RFC 4412 */
	case 420: return "Bad Extension";
	case 421: return "Extension Required";
	case 422: return "Session Interval Too Small";        /* RFC 4028 */
	case 423: return "Interval Too Brief";
	case 428: return "Use Identity Header";               /* RFC 8224 */
	case 429: return "Provide Referrer Identity";         /* RFC 3892 */
	case 433: return "Anonymity Disallowed";              /* RFC 5079 */
	case 436: return "Bad Identity Info";                 /* RFC 8224 */
	case 437: return "Unsupported Credential";            /* RFC 8224 */
	case 438: return "Invalid Identity Header";           /* RFC 8224 */
	case 439: return "First Hop Lacks Outbound Support";  /* RFC 5626 */
	case 440: return "Max-Breadth Exceeded";              /* RFC 5393 */
	case 469: return "Bad Info Package";                  /* RFC 6086 */
	case 470: return "Consent Needed";                    /* RFC 5360 */
	case 480: return "Temporarily Unavailable";
	case 481: return "Call/Transaction Does Not Exist";
	case 482: return "Loop Detected";
	case 483: return "Too Many Hops";
	case 484: return "Address Incomplete";
	case 485: return "Ambiguous";
	case 486: return "Busy Here";
	case 487: return "Request Terminated";
	case 488: return "Not Acceptable Here";
	case 489: return "Bad Event";                         /* RFC 6665 */
	case 491: return "Request Pending";
	case 493: return "Undecipherable";
	case 494: return "Security Agreement Required";       /* RFC 3329 */
	/* RFC 3261 §21.5 */
	case 500: return "Server Internal Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Server Time-out";
	case 505: return "Version Not Supported";
	case 513: return "Message Too Large";
	case 580: return "Precondition Failure";              /* RFC 3312 */
	/* RFC 3261 §21.6 */
	case 600: return "Busy Everywhere";
	case 603: return "Decline";
	case 604: return "Does Not Exist Anywhere";
	case 606: return "Not Acceptable";
	case 607: return "Unwanted";                          /* RFC 8197 */
	case 608: return "Rejected";                          /* RFC 8688 */
	default:  return "Unknown";
	}
}

/* Literal pieces: sizeof, not strlen. */
#define PUT(b, lit) sb_buf_append((b), "" lit, sizeof(lit) - 1)

/* "Name: value\r\n"; the name is a literal including ": ". */
static void put_field(struct sb_buf *b, const char *name_colon, size_t nl, struct sb_slice value)
{
	sb_buf_append(b, name_colon, nl);
	sb_buf_append_slice(b, value);
	PUT(b, "\r\n");
}
#define FIELD(b, lit, v) put_field((b), "" lit, sizeof(lit) - 1, (v))

/* A value printed on one line must not smuggle a line end in (header
 * injection); values copied from a parsed request may hold folded LWS and
 * are not checked. */
static bool one_line(struct sb_slice s)
{
	return !s.l || (!memchr(s.p, '\r', s.l) && !memchr(s.p, '\n', s.l));
}

/* Extra header lines: each "name: value" ending in CRLF (RFC 3261 §7.3),
 * the name a token, no empty line (it would end the header section early),
 * no line starting with whitespace (it would fold into the field before),
 * no bare CR or LF.  Anything else could inject fields or a body. */
static bool extra_lines_ok(struct sb_slice s)
{
	size_t i = 0;
	while (i < s.l) {
		size_t st = i;
		while (i < s.l && sb_is_tchar(s.p[i]))
			i++;
		if (i == st)
			return false; /* empty line, leading whitespace, bad name */
		while (i < s.l && sb_is_wsp(s.p[i]))
			i++;
		if (i >= s.l || s.p[i] != ':')
			return false;
		while (i < s.l && s.p[i] != '\r' && s.p[i] != '\n')
			i++;
		if (i + 1 >= s.l || s.p[i] != '\r' || s.p[i + 1] != '\n')
			return false;
		i += 2;
	}
	return true;
}

/* The end both printers share: the caller's extra header lines, then
 * Content-Type when there is a body, Content-Length always (RFC 3261 §20.14:
 * a stream transport needs it, and we do not know the transport here), the
 * empty line, the body.  Then the verdict on the whole message: on any error
 * the buffer goes back to len0, as if nothing had been printed. */
static int put_tail(struct sb_buf *b, size_t len0, struct sb_slice extra,
		    struct sb_slice content_type, struct sb_slice body)
{
	sb_buf_append(b, extra.p, extra.l);
	if (content_type.p)
		FIELD(b, "Content-Type: ", content_type);
	else
		body.l = 0;
	PUT(b, "Content-Length: ");
	sb_buf_append_u64(b, body.l);
	PUT(b, "\r\n\r\n");
	sb_buf_append(b, body.p, body.l);
	if (b->err) {
		b->len = len0;
		return b->err;
	}
	return 0;
}

/* Whether the To value carries a tag.  The parse cache is used when the
 * request's owner already filled it (req is const here, so we cannot fill
 * it); otherwise the value is parsed on the stack.  A To we cannot parse is
 * reported as tagged so that it is copied unchanged: guessing where a tag
 * would go in a malformed value could only make it worse. */
static bool to_has_tag(const struct sb_sip_msg *req, const struct sb_sip_hdr *to)
{
	if ((req->parsed & SB_SIP_CACHE_TO) && !(req->bad & SB_SIP_CACHE_TO))
		return req->to.tag.p != NULL;
	struct sb_nameaddr na;
	if (sb_nameaddr_parse(&na, to->value) != 0)
		return true;
	return na.tag.p != NULL;
}

int sb_sip_print_response(struct sb_buf *out, const struct sb_sip_msg *req,
			  const struct sb_sip_response_spec *spec)
{
	if (!req->is_request || spec->code < 100 || spec->code > 699)
		return EINVAL;
	if (!one_line(spec->reason) || (spec->to_tag.p && !sb_is_token(spec->to_tag)) ||
	    (spec->body.l && !spec->content_type.p) || !one_line(spec->content_type) ||
	    !extra_lines_ok(spec->extra))
		return EINVAL;
	const struct sb_sip_hdr *via = sb_sip_hdr_first(req, SB_HDR_VIA);
	const struct sb_sip_hdr *from = sb_sip_hdr_first(req, SB_HDR_FROM);
	const struct sb_sip_hdr *to = sb_sip_hdr_first(req, SB_HDR_TO);
	const struct sb_sip_hdr *call_id = sb_sip_hdr_first(req, SB_HDR_CALL_ID);
	const struct sb_sip_hdr *cseq = sb_sip_hdr_first(req, SB_HDR_CSEQ);
	/* RFC 3261 §8.1.1: these are the fields every request must carry; a
	 * response cannot be matched to its transaction without them */
	if (!via || !from || !to || !call_id || !cseq)
		return EBADMSG;
	if (out->err)
		return out->err;
	size_t len0 = out->len;

	/* RFC 3261 §7.2: Status-Line = SIP-Version SP Status-Code SP Reason-Phrase */
	PUT(out, "SIP/2.0 ");
	sb_buf_append_u32(out, spec->code);
	PUT(out, " ");
	if (spec->reason.p)
		sb_buf_append_slice(out, spec->reason);
	else
		sb_buf_append_cstr(out, sb_sip_reason_phrase(spec->code));
	PUT(out, "\r\n");

	/* RFC 3261 §8.2.6.2: the Via values equal the request's and keep their
	 * order; each field is copied as it came (a field holding several values
	 * stays one field) */
	for (; via; via = sb_sip_hdr_next(req, via))
		FIELD(out, "Via: ", via->value);
	/* RFC 3261 §8.2.6.2: From equals the request's */
	FIELD(out, "From: ", from->value);
	/* RFC 3261 §8.2.6.2: To equals the request's; if it has no tag the UAS
	 * adds one, except in a 100 (Trying), where a tag MAY be present and we
	 * leave it out: no dialog exists yet */
	PUT(out, "To: ");
	sb_buf_append_slice(out, to->value);
	if (spec->code > 100 && spec->to_tag.p && !to_has_tag(req, to)) {
		PUT(out, ";tag=");
		sb_buf_append_slice(out, spec->to_tag);
	}
	PUT(out, "\r\n");
	/* RFC 3261 §8.2.6.2: Call-ID and CSeq equal the request's */
	FIELD(out, "Call-ID: ", call_id->value);
	FIELD(out, "CSeq: ", cseq->value);
	return put_tail(out, len0, spec->extra, spec->content_type, spec->body);
}

int sb_sip_print_request(struct sb_buf *out, const struct sb_sip_request_spec *spec)
{
	if (!sb_is_token(spec->method) || !spec->ruri.l || !spec->via.l || !spec->from.l ||
	    !spec->to.l || !spec->call_id.l)
		return EINVAL;
	if (memchr(spec->ruri.p, ' ', spec->ruri.l) || !one_line(spec->ruri) ||
	    !one_line(spec->via) || !one_line(spec->from) || !one_line(spec->to) ||
	    !one_line(spec->call_id) || !one_line(spec->contact) ||
	    !one_line(spec->content_type) || (spec->body.l && !spec->content_type.p) ||
	    !extra_lines_ok(spec->extra))
		return EINVAL;
	if (out->err)
		return out->err;
	size_t len0 = out->len;

	/* RFC 3261 §7.1: Request-Line = Method SP Request-URI SP SIP-Version */
	sb_buf_append_slice(out, spec->method);
	PUT(out, " ");
	sb_buf_append_slice(out, spec->ruri);
	PUT(out, " SIP/2.0\r\n");
	/* RFC 3261 §8.1.1: the recommended order is Via, Max-Forwards, To,
	 * From, Call-ID, CSeq, Contact, then the rest */
	FIELD(out, "Via: ", spec->via);
	PUT(out, "Max-Forwards: ");
	sb_buf_append_u32(out, spec->max_forwards);
	PUT(out, "\r\n");
	FIELD(out, "To: ", spec->to);
	FIELD(out, "From: ", spec->from);
	FIELD(out, "Call-ID: ", spec->call_id);
	/* RFC 3261 §8.1.1.5: CSeq carries the request's own method */
	PUT(out, "CSeq: ");
	sb_buf_append_u32(out, spec->cseq);
	PUT(out, " ");
	sb_buf_append_slice(out, spec->method);
	PUT(out, "\r\n");
	if (spec->contact.p)
		FIELD(out, "Contact: ", spec->contact);
	return put_tail(out, len0, spec->extra, spec->content_type, spec->body);
}
