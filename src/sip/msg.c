/* sip/msg: the message parser (RFC 3261 §7, §25) and access to header values.
 *
 * One pass over the bytes splits the start line and the header fields, links
 * fields of the same kind, reads Content-Length (framing needs it) and frames
 * the body.  Everything else is parsed when first asked for.  Problems that
 * still leave a message we can answer are recorded in m->defect; validation
 * turns them into the response owed.  Only bytes that are not SIP at all
 * return EBADMSG. */
#include <errno.h>
#include <string.h>

#include "switchboard/sip.h"

#include "charclass.h"

static void note(struct sb_sip_msg *m, enum sb_sip_defect d)
{
	if (m->defect == SB_DEFECT_NONE)
		m->defect = d;
}

/* "SIP/" in any case at p (4 bytes there): OR-ing 0x20 folds only the
 * upper-case letter onto each lower-case one. */
static inline bool sip_slash(const char *p)
{
	return (p[0] | 0x20) == 's' && (p[1] | 0x20) == 'i' && (p[2] | 0x20) == 'p' && p[3] == '/';
}

/* SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT (RFC 3261 §25.1).  The literal
 * is case-insensitive; the numbers are checked by validation (505). */
static bool is_version(struct sb_slice v)
{
	if (v.l < 7 || !sip_slash(v.p))
		return false;
	size_t i = 4, d1 = 0, d2 = 0;
	while (i < v.l && v.p[i] >= '0' && v.p[i] <= '9') {
		i++;
		d1++;
	}
	if (!d1 || i >= v.l || v.p[i] != '.')
		return false;
	i++;
	while (i < v.l && v.p[i] >= '0' && v.p[i] <= '9') {
		i++;
		d2++;
	}
	return d2 && i == v.l;
}

/* Status-Line = SIP-Version SP Status-Code SP Reason-Phrase (RFC 3261 §7.2).
 * A response we cannot read is dropped, never answered: EBADMSG. */
static int parse_status_line(struct sb_sip_msg *m, struct sb_slice line)
{
	const char *sp = sb_find_byte(line.p, line.p + line.l, ' ');
	if (!sp)
		return EBADMSG;
	m->version = sb_slice_from(line.p, (size_t)(sp - line.p));
	if (!is_version(m->version))
		return EBADMSG;
	const char *c = sp + 1, *end = line.p + line.l;
	/* Status-Code = 3DIGIT: RFC 4475 bigcode (4294967301) is dropped */
	if (end - c < 3)
		return EBADMSG;
	for (int i = 0; i < 3; i++)
		if (c[i] < '0' || c[i] > '9')
			return EBADMSG;
	unsigned code = (unsigned)(c[0] - '0') * 100 + (unsigned)(c[1] - '0') * 10 +
			(unsigned)(c[2] - '0');
	if (code < 100 || code > 699)
		return EBADMSG;
	c += 3;
	if (c < end && *c != ' ')
		return EBADMSG;
	m->status = code;
	/* RFC 4475 noreason: "SIP/2.0 100 " has an empty reason phrase */
	m->reason = c < end ? sb_slice_from(c + 1, (size_t)(end - c - 1)) : sb_slice_from(end, 0);
	m->is_request = false;
	return 0;
}

/* Request-Line = Method SP Request-URI SP SIP-Version CRLF (RFC 3261 §7.1).
 * Exactly one SP between the elements: RFC 4475 lwsstart, trws and lwsruri
 * are answered 400, so a bad line is a defect, not a drop, as long as a
 * method can be read. */
static int parse_request_line(struct sb_sip_msg *m, struct sb_slice line)
{
	const char *sp1 = sb_find_byte(line.p, line.p + line.l, ' ');
	if (!sp1 || sp1 == line.p)
		return EBADMSG;
	m->method = sb_slice_from(line.p, (size_t)(sp1 - line.p));
	if (!sb_is_token(m->method) || m->method.l > SB_SIP_MAX_METHOD_LEN)
		return EBADMSG;
	m->mid = sb_sip_method_from(m->method);
	m->is_request = true;

	const char *end = line.p + line.l;
	const char *u = sp1 + 1;
	const char *sp2 = sb_find_byte(u, end, ' ');
	if (!sp2) {
		m->ruri = sb_slice_from(u, (size_t)(end - u));
		m->version = sb_slice_from(end, 0);
		note(m, SB_DEFECT_BAD_REQUEST_LINE);
		return 0;
	}
	m->ruri = sb_slice_from(u, (size_t)(sp2 - u));
	m->version = sb_slice_from(sp2 + 1, (size_t)(end - sp2 - 1));
	if (m->ruri.l == 0 || !is_version(m->version))
		note(m, SB_DEFECT_BAD_REQUEST_LINE);
	return 0;
}

/* Count the comma-separated values of one Via field. */
static unsigned count_values(struct sb_slice v)
{
	if (!sb_find_byte(v.p, v.p + v.l, ','))
		return 1;
	unsigned n = 0;
	struct sb_slice one;
	while (sb_sip_list_next(&v, &one))
		n++;
	return n;
}

/* Record one field.  name is a token (the caller scanned it) and id what
 * sb_sip_hdr_lookup() says of it; value_start is just past the ':' and
 * value_end at the field's final line end. */
static void add_header(struct sb_sip_msg *m, struct sb_slice line, struct sb_slice name,
		       enum sb_sip_hdr_id id, const char *value_start, const char *value_end)
{
	if (m->nhdrs >= SB_SIP_MAX_HEADERS) {
		note(m, SB_DEFECT_TOO_MANY_HEADERS);
		return;
	}
	/* trim LWS; the usual one SP after the colon and one CR before the LF
	 * first, so the loops, which then find nothing, are predictable */
	const char *v = value_start, *ve = value_end;
	if (v < ve && *v == ' ')
		v++;
	while (v < ve && sb_cc((unsigned char)*v, SB_CC_LWS))
		v++;
	if (ve > v && ve[-1] == '\r')
		ve--;
	while (ve > v && sb_cc((unsigned char)ve[-1], SB_CC_LWS))
		ve--;

	uint16_t idx = m->nhdrs++;
	struct sb_sip_hdr *h = &m->hdrs[idx];
	h->name = name;
	h->value = sb_slice_from(v, (size_t)(ve - v));
	h->line = line;
	h->id = (uint16_t)id;
	h->next = SB_SIP_NO_HDR;
	if (m->first[id] == SB_SIP_NO_HDR)
		m->first[id] = idx;
	else
		m->hdrs[m->last[id]].next = idx;
	m->last[id] = idx;

	if (id == SB_HDR_VIA) {
		m->nvia += count_values(h->value);
	} else if (id == SB_HDR_CONTENT_LENGTH) {
		uint32_t cl;
		/* RFC 4475 ncl (-999) and "five": never a signed or guessed size */
		if (sb_slice_to_u32(h->value, &cl) != 0) {
			note(m, SB_DEFECT_BAD_CLEN);
		} else if (m->has_content_length && cl != m->content_length) {
			note(m, SB_DEFECT_MULTI_CLEN); /* RFC 4475 mcl01 */
		} else {
			m->content_length = cl;
			m->has_content_length = true;
		}
	}
}

/* How far field_name() looks for the ':': the longest name it knows
 * (Authentication-Info, 19 bytes) with room for WS before the colon. */
#define NAME_PEEK 32

/* The name of the field starting at p, and where it ends: RFC 3261 §7.3.1
 * field-name = token, then optional WS and ':' ("Via  :" in RFC 4475
 * longreq).  *q gets the first byte after the name and its WS (the ':' of
 * a well-formed field); *id what sb_sip_hdr_lookup() says of the name.
 *
 * The quick way first: the first ':' within NAME_PEEK bytes, the WS before
 * it trimmed, looked up.  A name it knows is letters and '-', all token
 * bytes, followed by WS or the ':', so the token scan would have stopped at
 * the same place.  When the lookup knows no such name, neither would it know
 * the token (the two are the same whenever the field is well formed), so
 * only a line without a ':' near its start is looked up twice. */
static struct sb_slice field_name(const char *p, const char *end, const char **q,
				  enum sb_sip_hdr_id *id)
{
	const char *lim = end - p > NAME_PEEK ? p + NAME_PEEK : end;
	const char *colon = sb_find_byte(p, lim, ':');
	struct sb_slice name;
	if (colon) {
		const char *ne = colon;
		while (ne > p && sb_is_wsp(ne[-1]))
			ne--;
		name = sb_slice_from(p, (size_t)(ne - p));
		*id = sb_sip_hdr_lookup(name);
		if (*id != SB_HDR_OTHER) {
			*q = colon;
			return name;
		}
	}
	const char *t = sb_scan_token(p, end);
	name = sb_slice_from(p, (size_t)(t - p));
	while (t < end && sb_is_wsp(*t))
		t++;
	*q = t;
	if (!colon)
		*id = sb_sip_hdr_lookup(name);
	return name;
}

int sb_sip_parse(struct sb_sip_msg *m, const char *buf, size_t len,
		 enum sb_sip_transport_kind kind)
{
	/* reset everything a caller may read, so a failed parse never shows
	 * the previous message's values */
	m->defect = SB_DEFECT_NONE;
	m->is_request = false;
	m->raw = SB_SLICE_NULL;
	m->start_line = SB_SLICE_NULL;
	m->version = SB_SLICE_NULL;
	m->headers = SB_SLICE_NULL;
	m->body = SB_SLICE_NULL;
	m->nhdrs = 0;
	m->nvia = 0;
	m->status = 0;
	m->mid = SB_METHOD_OTHER;
	m->method = SB_SLICE_NULL;
	m->ruri = SB_SLICE_NULL;
	m->reason = SB_SLICE_NULL;
	m->has_content_length = false;
	m->content_length = 0;
	m->parsed = m->bad = 0;
	memset(m->first, 0xff, sizeof m->first);

	const char *p = buf, *end = buf + len;
	/* RFC 3261 §7.5: ignore CRLFs before the start line */
	while (p < end && (*p == '\r' || *p == '\n'))
		p++;
	if (p == end)
		return kind == SB_SIP_STREAM ? ENODATA : EBADMSG;
	if ((size_t)(end - p) > SB_SIP_MAX_MSG_SIZE)
		note(m, SB_DEFECT_TOO_LARGE);

	const char *lf = sb_find_byte(p, end, '\n');
	if (!lf)
		return kind == SB_SIP_STREAM ? ENODATA : EBADMSG;
	struct sb_slice start = sb_slice_from(p, (size_t)(lf - p));
	if (start.l && start.p[start.l - 1] == '\r')
		start.l--;
	m->start_line = start;
	/* RFC 3261 §7.1: the version literal is case-insensitive */
	int err = (start.l >= 4 && sip_slash(start.p))
			  ? parse_status_line(m, start)
			  : parse_request_line(m, start);
	if (err) {
		m->is_request = false;
		m->start_line = SB_SLICE_NULL;
		m->version = SB_SLICE_NULL;
		return err;
	}

	const char *msg_start = p;
	p = lf + 1;
	m->headers.p = p;
	bool ended = false;
	while (p < end) {
		/* the empty line ends the header section */
		if (*p == '\n' || (*p == '\r' && p + 1 < end && p[1] == '\n')) {
			m->headers.l = (size_t)(p - m->headers.p);
			p += (*p == '\n') ? 1 : 2;
			ended = true;
			break;
		}
		const char *line = p, *q;
		enum sb_sip_hdr_id id;
		struct sb_slice name = field_name(p, end, &q, &id);
		bool named = name.l > 0 && q < end && *q == ':';
		/* a field runs to an LF not followed by SP/HT (folding, §7.3.1);
		 * the name and the WS after it hold none */
		const char *fe;
		p = q;
		for (;;) {
			const char *nl = sb_find_byte(p, end, '\n');
			if (!nl) {
				if (kind == SB_SIP_STREAM)
					return ENODATA;
				nl = end;
			}
			p = nl < end ? nl + 1 : end;
			if (p >= end || !sb_is_wsp(*p)) {
				fe = nl;
				break;
			}
		}
		if (!named || q >= fe) {
			note(m, SB_DEFECT_BAD_HEADER_LINE); /* "Foobar roobar", "Bad Name: x" */
			continue;
		}
		add_header(m, sb_slice_from(line, (size_t)(p - line)), name, id, q + 1, fe);
	}
	if (!ended) {
		if (kind == SB_SIP_STREAM)
			return ENODATA;
		m->headers.l = (size_t)(p - m->headers.p);
		note(m, SB_DEFECT_NO_EMPTY_LINE);
	}

	/* Body: Content-Length bytes; the rest of a datagram is discarded
	 * (RFC 3261 §18.3, RFC 4475 dblreq).  Without Content-Length a datagram's
	 * body is everything left (RFC 4475 inv2543). */
	size_t avail = (size_t)(end - p);
	size_t blen = avail;
	if (m->has_content_length) {
		if (m->content_length > avail)
			note(m, SB_DEFECT_SHORT_BODY); /* RFC 4475 clerr */
		else
			blen = m->content_length;
	}
	m->body = sb_slice_from(p, blen);
	m->raw = sb_slice_from(msg_start, (size_t)(p + blen - msg_start));
	return 0;
}

unsigned sb_sip_hdr_count(const struct sb_sip_msg *m, enum sb_sip_hdr_id id)
{
	unsigned n = 0;
	for (const struct sb_sip_hdr *h = sb_sip_hdr_first(m, id); h; h = sb_sip_hdr_next(m, h))
		n++;
	return n;
}

const struct sb_sip_hdr *sb_sip_hdr_find(const struct sb_sip_msg *m, struct sb_slice name)
{
	enum sb_sip_hdr_id id = sb_sip_hdr_lookup(name);
	if (id != SB_HDR_OTHER)
		return sb_sip_hdr_first(m, id);
	for (const struct sb_sip_hdr *h = sb_sip_hdr_first(m, SB_HDR_OTHER); h;
	     h = sb_sip_hdr_next(m, h))
		if (sb_slice_caseeq(h->name, name))
			return h;
	return NULL;
}

bool sb_sip_list_next(struct sb_slice *rest, struct sb_slice *value)
{
	if (!rest->p)
		return false;
	/* fast path: most fields hold one value and no comma at all */
	if (!sb_find_byte(rest->p, rest->p + rest->l, ',')) {
		/* a field's value comes trimmed already */
		bool trimmed = rest->l && !sb_is_lws(rest->p[0]) && !sb_is_lws(rest->p[rest->l - 1]);
		struct sb_slice one = trimmed ? *rest : sb_slice_trim(*rest);
		*value = one.l ? one : sb_slice_from(rest->p, 0);
		*rest = SB_SLICE_NULL;
		return true;
	}
	const char *p = rest->p, *end = rest->p + rest->l;
	bool quoted = false, angle = false;
	for (; p < end; p++) {
		char c = *p;
		if (quoted) {
			if (c == '\\' && p + 1 < end)
				p++;
			else if (c == '"')
				quoted = false;
		} else if (c == '"') {
			quoted = true;
		} else if (c == '<') {
			angle = true;
		} else if (c == '>') {
			angle = false;
		} else if (c == ',' && !angle) {
			break;
		}
	}
	struct sb_slice v = sb_slice_trim(sb_slice_from(rest->p, (size_t)(p - rest->p)));
	*value = v.l ? v : sb_slice_from(rest->p, 0);
	if (p < end) {
		/* after a comma there is always one more value, maybe empty:
		 * "a," yields "a" then "" so callers can reject it */
		rest->p = p + 1;
		rest->l = (size_t)(end - p - 1);
	} else {
		*rest = SB_SLICE_NULL;
	}
	return true;
}

void sb_sip_values_init(struct sb_sip_values *it, const struct sb_sip_msg *m,
			enum sb_sip_hdr_id id)
{
	it->m = m;
	it->hdr = m->first[id];
	it->rest = it->hdr == SB_SIP_NO_HDR ? SB_SLICE_NULL : m->hdrs[it->hdr].value;
}

bool sb_sip_values_next(struct sb_sip_values *it, struct sb_slice *value, uint16_t *hdr_index)
{
	while (it->hdr != SB_SIP_NO_HDR) {
		if (sb_sip_list_next(&it->rest, value)) {
			if (hdr_index)
				*hdr_index = it->hdr;
			return true;
		}
		it->hdr = it->m->hdrs[it->hdr].next;
		if (it->hdr != SB_SIP_NO_HDR)
			it->rest = it->m->hdrs[it->hdr].value;
	}
	return false;
}

/* Single-valued headers (RFC 3261 §7.3.1): a second field is allowed only
 * if it repeats the first value (RFC 4475 multi01 repeats with different
 * values and is answered 400).  Returns the value or an errno. */
static int single_value(const struct sb_sip_msg *m, enum sb_sip_hdr_id id, struct sb_slice *out)
{
	const struct sb_sip_hdr *h = sb_sip_hdr_first(m, id);
	if (!h)
		return ENOENT;
	for (const struct sb_sip_hdr *o = sb_sip_hdr_next(m, h); o; o = sb_sip_hdr_next(m, o))
		if (!sb_slice_eq(o->value, h->value))
			return EBADMSG;
	*out = h->value;
	return 0;
}

/* Run a cache: bit says whether it was attempted, m->bad whether it failed. */
static int cached(struct sb_sip_msg *m, uint32_t bit, int *err_out)
{
	if (!(m->parsed & bit))
		return 0;
	*err_out = (m->bad & bit) ? EBADMSG : 0;
	return 1;
}

static int remember(struct sb_sip_msg *m, uint32_t bit, int err)
{
	if (err == ENOENT)
		return err; /* absent: cheap to find again, not cached */
	m->parsed |= bit;
	if (err)
		m->bad |= bit;
	return err;
}

int sb_sip_msg_cseq(struct sb_sip_msg *m, const struct sb_cseq **out)
{
	int err;
	if (!cached(m, SB_SIP_CACHE_CSEQ, &err)) {
		struct sb_slice v;
		err = single_value(m, SB_HDR_CSEQ, &v);
		if (!err) {
			/* CSeq = 1*DIGIT LWS Method (RFC 3261 §20.16); the number
			 * fits 32 bits (§8.1.1.5, RFC 4475 scalar02) */
			size_t i = 0;
			while (i < v.l && v.p[i] >= '0' && v.p[i] <= '9')
				i++;
			struct sb_slice num = sb_slice_from(v.p, i);
			struct sb_slice meth = sb_slice_trim(sb_slice_from(v.p + i, v.l - i));
			if (i == v.l || !sb_is_lws(v.p[i]))
				err = EBADMSG;
			else if (sb_slice_to_u32(num, &m->cseq.num) != 0 || !sb_is_token(meth))
				err = EBADMSG;
			else {
				m->cseq.method = meth;
				m->cseq.mid = sb_sip_method_from(meth);
			}
		}
		err = remember(m, SB_SIP_CACHE_CSEQ, err);
	}
	if (!err)
		*out = &m->cseq;
	return err;
}

/* Non-empty, and every byte visible ASCII (0x21 to 0x7e). */
static bool is_word(struct sb_slice v)
{
	return v.l != 0 && sb_all_visible(v.p, v.l);
}

int sb_sip_msg_call_id(struct sb_sip_msg *m, struct sb_slice *out)
{
	int err;
	if (!cached(m, SB_SIP_CACHE_CALL_ID, &err)) {
		struct sb_slice v;
		err = single_value(m, SB_HDR_CALL_ID, &v);
		/* callid = word [ "@" word ]: no LWS inside (RFC 3261 §25.1) */
		if (!err && !is_word(v))
			err = EBADMSG;
		if (!err)
			m->call_id = v;
		err = remember(m, SB_SIP_CACHE_CALL_ID, err);
	}
	if (!err)
		*out = m->call_id;
	return err;
}

/* A numeric single-valued header into *slot, cached under bit. */
static int numeric(struct sb_sip_msg *m, enum sb_sip_hdr_id id, uint32_t bit, uint32_t *slot,
		   uint32_t *out)
{
	int err;
	if (!cached(m, bit, &err)) {
		struct sb_slice v;
		err = single_value(m, id, &v);
		if (!err && sb_slice_to_u32(v, slot) != 0)
			err = EBADMSG;
		err = remember(m, bit, err);
	}
	if (!err)
		*out = *slot;
	return err;
}

int sb_sip_msg_max_forwards(struct sb_sip_msg *m, uint32_t *out)
{
	/* Max-Forwards = 1*DIGIT, 0-255 (RFC 3261 §20.22); RFC 4475 wsinv
	 * has "0068"; a larger value is out of range (scalar02: 300) */
	uint32_t v;
	int err = numeric(m, SB_HDR_MAX_FORWARDS, SB_SIP_CACHE_MAX_FORWARDS, &m->max_forwards, &v);
	if (!err && v > 255) {
		m->bad |= SB_SIP_CACHE_MAX_FORWARDS;
		return EBADMSG;
	}
	if (!err)
		*out = v;
	return err;
}

int sb_sip_msg_expires(struct sb_sip_msg *m, uint32_t *out)
{
	return numeric(m, SB_HDR_EXPIRES, SB_SIP_CACHE_EXPIRES, &m->expires, out);
}
