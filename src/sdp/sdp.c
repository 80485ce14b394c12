/* sdp: parse and print SDP bodies (RFC 8866) for SIP offer/answer
 * (RFC 3264).  The parser walks the body once, line by line, storing slices
 * into fixed arrays sized by the SB_SDP_MAX_* bounds; it never allocates and
 * never reads outside the body slice.  The printer checks every field it
 * writes, so whatever it prints parses again. */
#include <errno.h>
#include <string.h>

#include "switchboard/sdp.h"

/* ------------------------------------------------------- character sets */

/* RFC 8866 §9: token-char = %x21 / %x23-27 / %x2A-2B / %x2D-2E / %x30-39
 * / %x41-5A / %x5E-7E */
static bool is_token_char(unsigned char c)
{
	return c == 0x21 || (c >= 0x23 && c <= 0x27) || c == 0x2A || c == 0x2B ||
	       c == 0x2D || c == 0x2E || (c >= 0x30 && c <= 0x39) ||
	       (c >= 0x41 && c <= 0x5A) || (c >= 0x5E && c <= 0x7E);
}

static bool is_token(struct sb_slice s)
{
	if (!s.p || s.l == 0)
		return false;
	for (size_t i = 0; i < s.l; i++)
		if (!is_token_char((unsigned char)s.p[i]))
			return false;
	return true;
}

/* RFC 8866 §9: non-ws-string = 1*(VCHAR/%x80-FF) */
static bool is_nonws(struct sb_slice s)
{
	if (!s.p || s.l == 0)
		return false;
	for (size_t i = 0; i < s.l; i++) {
		unsigned char c = (unsigned char)s.p[i];
		if (c <= 0x20 || c == 0x7F)
			return false;
	}
	return true;
}

/* RFC 8866 §9: text / byte-string: any octet but NUL, CR and LF.  Empty is
 * allowed here (s= is empty in RFC 5118 mult-ip-in-sdp). */
static bool is_text(struct sb_slice s)
{
	if (!s.p)
		return false;
	for (size_t i = 0; i < s.l; i++)
		if (s.p[i] == '\0' || s.p[i] == '\r' || s.p[i] == '\n')
			return false;
	return true;
}

/* proto = token *("/" token) (RFC 8866 §9; '/' is not a token-char) */
static bool is_proto(struct sb_slice s)
{
	if (!s.p || s.l == 0)
		return false;
	size_t seg = 0; /* length of the current token */
	for (size_t i = 0; i < s.l; i++) {
		if (s.p[i] == '/') {
			if (seg == 0)
				return false;
			seg = 0;
		} else if (is_token_char((unsigned char)s.p[i])) {
			seg++;
		} else {
			return false;
		}
	}
	return seg > 0;
}

static bool is_digits(struct sb_slice s)
{
	if (s.l == 0)
		return false;
	for (size_t i = 0; i < s.l; i++)
		if (s.p[i] < '0' || s.p[i] > '9')
			return false;
	return true;
}

/* ------------------------------------------------------- field splitting */

/* Next run of non-SP bytes of *rest, skipping SPs before it; false at the
 * end.  RFC 8866 §5 separates fields with one SP; runs of SP are accepted. */
static bool next_field(struct sb_slice *rest, struct sb_slice *field)
{
	size_t i = 0;
	while (i < rest->l && rest->p[i] == ' ')
		i++;
	if (i == rest->l) {
		rest->p += i;
		rest->l = 0;
		return false;
	}
	size_t start = i;
	while (i < rest->l && rest->p[i] != ' ')
		i++;
	*field = sb_slice_from(rest->p + start, i - start);
	rest->p += i;
	rest->l -= i;
	return true;
}

static bool only_spaces(struct sb_slice s)
{
	for (size_t i = 0; i < s.l; i++)
		if (s.p[i] != ' ')
			return false;
	return true;
}

/* Split s at the first c: head before it, tail after it (tail absent when
 * there is no c). */
static void split_at(struct sb_slice s, char c, struct sb_slice *head, struct sb_slice *tail)
{
	long i = sb_slice_chr(s, c);
	if (i < 0) {
		*head = s;
		*tail = SB_SLICE_NULL;
		return;
	}
	*head = sb_slice_from(s.p, (size_t)i);
	*tail = sb_slice_from(s.p + i + 1, s.l - (size_t)i - 1);
}

static enum sb_sdp_af af_of(struct sb_slice addrtype)
{
	if (sb_slice_eq(addrtype, SB_LIT("IP4")))
		return SB_SDP_AF_IP4;
	if (sb_slice_eq(addrtype, SB_LIT("IP6")))
		return SB_SDP_AF_IP6;
	return SB_SDP_AF_OTHER;
}

/* ------------------------------------------------------------ line parsers */

/* "<nettype> <addrtype> <address>[/ttl[/count]]" (RFC 8866 §5.7).  The
 * multicast suffix is allowed only where c= allows it. */
static int parse_conn(struct sb_slice v, bool multicast_ok, struct sb_sdp_conn *c)
{
	struct sb_slice net, type, addr, extra;
	if (!next_field(&v, &net) || !next_field(&v, &type) || !next_field(&v, &addr) ||
	    next_field(&v, &extra))
		return EBADMSG;
	if (!is_token(net) || !is_token(type))
		return EBADMSG;
	struct sb_slice host, suffix;
	split_at(addr, '/', &host, &suffix);
	if (!is_nonws(host))
		return EBADMSG;
	if (suffix.p) {
		/* RFC 8866 §5.7: IP4 "/ttl[/count]", IP6 "/count": digits only */
		struct sb_slice a, b;
		split_at(suffix, '/', &a, &b);
		if (!multicast_ok || !is_digits(a) || (b.p && !is_digits(b)))
			return EBADMSG;
	}
	*c = (struct sb_sdp_conn){ .nettype = net, .addrtype = type, .af = af_of(type),
				   .addr = host, .multicast = suffix };
	return 0;
}

/* o=<username> <sess-id> <sess-version> <nettype> <addrtype> <address>
 * (RFC 8866 §5.2) */
static int parse_origin(struct sb_slice v, struct sb_sdp_origin *o)
{
	struct sb_slice user, id, ver;
	if (!next_field(&v, &user) || !next_field(&v, &id) || !next_field(&v, &ver))
		return EBADMSG;
	if (!is_nonws(user))
		return EBADMSG;
	/* RFC 8866 §5.2: sess-id and sess-version are numeric; 64 bits is
	 * what every implementation keeps (RFC 5118 ipv6-in-sdp has 18 digits) */
	if (sb_slice_to_u64(id, UINT64_MAX, &o->sess_id) ||
	    sb_slice_to_u64(ver, UINT64_MAX, &o->sess_version))
		return EBADMSG;
	struct sb_sdp_conn c;
	int err = parse_conn(v, false, &c);
	if (err)
		return err;
	o->username = user;
	o->nettype = c.nettype;
	o->addrtype = c.addrtype;
	o->af = c.af;
	o->addr = c.addr;
	return 0;
}

/* b=<bwtype>:<bandwidth> (RFC 8866 §5.8) */
static int parse_bw(struct sb_slice v, struct sb_sdp_bw *bw, size_t *n)
{
	struct sb_slice type, val;
	uint64_t value;
	split_at(v, ':', &type, &val);
	if (!is_token(type) || !val.p || sb_slice_to_u64(val, UINT64_MAX, &value))
		return EBADMSG;
	if (*n >= SB_SDP_MAX_BANDWIDTHS)
		return E2BIG;
	bw[(*n)++] = (struct sb_sdp_bw){ type, value };
	return 0;
}

/* t=<start-time> <stop-time> (RFC 8866 §5.9) */
static int parse_time(struct sb_slice v, struct sb_sdp *s)
{
	struct sb_slice a, b, extra;
	uint64_t start, stop;
	if (!next_field(&v, &a) || !next_field(&v, &b) || next_field(&v, &extra))
		return EBADMSG;
	if (sb_slice_to_u64(a, UINT64_MAX, &start) || sb_slice_to_u64(b, UINT64_MAX, &stop))
		return EBADMSG;
	if (s->ntime >= SB_SDP_MAX_TIMES)
		return E2BIG;
	s->times[s->ntime++] = (struct sb_sdp_time){ .start = start, .stop = stop };
	return 0;
}

/* m=<media> <port>[/<number of ports>] <proto> <fmt> ... (RFC 8866 §5.14) */
static int parse_mline(struct sb_slice v, struct sb_sdp_media *m)
{
	struct sb_slice type, port, proto, fmt;
	if (!next_field(&v, &type) || !next_field(&v, &port) || !next_field(&v, &proto))
		return EBADMSG;
	if (!is_token(type) || !is_proto(proto))
		return EBADMSG;
	struct sb_slice pnum, count;
	split_at(port, '/', &pnum, &count);
	uint64_t p, c = 0;
	/* RFC 8866 §5.14: port is a 16-bit UDP/TCP port */
	if (sb_slice_to_u64(pnum, UINT16_MAX, &p))
		return EBADMSG;
	if (count.p && (sb_slice_to_u64(count, UINT32_MAX, &c) || c == 0))
		return EBADMSG;
	m->type = type;
	m->port = (uint16_t)p;
	m->port_count = (uint32_t)c;
	m->proto = proto;
	while (next_field(&v, &fmt)) {
		if (!is_token(fmt))
			return EBADMSG;
		if (m->nfmt >= SB_SDP_MAX_FORMATS)
			return E2BIG;
		m->fmts[m->nfmt++] = fmt;
	}
	/* RFC 8866 §5.14: at least one fmt, even for a rejected stream */
	return m->nfmt ? 0 : EBADMSG;
}

static enum sb_sdp_dir dir_of(struct sb_slice name)
{
	/* RFC 8866 §6.7: attribute names are case-sensitive */
	if (sb_slice_eq(name, SB_LIT("sendrecv")))
		return SB_SDP_DIR_SENDRECV;
	if (sb_slice_eq(name, SB_LIT("sendonly")))
		return SB_SDP_DIR_SENDONLY;
	if (sb_slice_eq(name, SB_LIT("recvonly")))
		return SB_SDP_DIR_RECVONLY;
	if (sb_slice_eq(name, SB_LIT("inactive")))
		return SB_SDP_DIR_INACTIVE;
	return SB_SDP_DIR_NONE;
}

/* Payload type: 0..127 (RFC 3551 §3, 7-bit PT). */
static bool parse_pt(struct sb_slice s, uint8_t *pt)
{
	uint64_t v;
	if (sb_slice_to_u64(s, 127, &v))
		return false;
	*pt = (uint8_t)v;
	return true;
}

/* a=rtpmap:<pt> <encoding name>/<clock rate>[/<encoding parameters>]
 * (RFC 8866 §6.6).  The clock rate may be missing: RFC 4475's wsinv has
 * "a=rtpmap:31 LPC".  false: malformed, keep the line raw. */
static bool parse_rtpmap(struct sb_slice v, struct sb_sdp_rtpmap *r)
{
	struct sb_slice pt, enc, extra;
	if (!next_field(&v, &pt) || !next_field(&v, &enc) || next_field(&v, &extra))
		return false;
	struct sb_slice name, rest, clock, chans;
	split_at(enc, '/', &name, &rest);
	if (!parse_pt(pt, &r->pt) || !is_token(name))
		return false;
	r->encoding = name;
	r->clock = r->channels = 0;
	if (!rest.p)
		return true;
	split_at(rest, '/', &clock, &chans);
	if (sb_slice_to_u32(clock, &r->clock))
		return false;
	if (chans.p && sb_slice_to_u32(chans, &r->channels))
		return false;
	return true;
}

/* a=fmtp:<format> <format specific parameters> (RFC 8866 §6.15), for RTP
 * payload type formats; anything else stays raw. */
static bool parse_fmtp(struct sb_slice v, struct sb_sdp_fmtp *f)
{
	struct sb_slice pt;
	if (!next_field(&v, &pt) || !parse_pt(pt, &f->pt))
		return false;
	while (v.l && v.p[0] == ' ') {
		v.p++;
		v.l--;
	}
	if (v.l == 0)
		return false;
	f->params = v;
	return true;
}

/* a=rtcp:<port> [<nettype> <addrtype> <connection-address>] (RFC 3605 §2.1) */
static bool parse_rtcp(struct sb_slice v, struct sb_sdp_media *m)
{
	struct sb_slice port;
	uint64_t p;
	if (!next_field(&v, &port) || sb_slice_to_u64(port, UINT16_MAX, &p))
		return false;
	struct sb_sdp_conn c = { 0 };
	if (!only_spaces(v) && parse_conn(v, true, &c))
		return false;
	m->has_rtcp = true;
	m->rtcp_port = (uint16_t)p;
	m->rtcp_conn = c;
	return true;
}

/* The attributes of one level: the session or one m= section. */
struct level {
	enum sb_sdp_dir *dir;
	struct sb_sdp_attr *attrs;
	size_t *nattr;
	size_t nlines; /* every a= line, typed or raw, against SB_SDP_MAX_ATTRS */
	struct sb_sdp_media *m; /* NULL at session level */
};

/* a=<attribute>[:<value>] (RFC 8866 §5.13) */
static int parse_attr(struct sb_slice v, struct level *lv)
{
	struct sb_slice name, value;
	split_at(v, ':', &name, &value);
	if (!value.p) {
		/* a property attribute; tolerate trailing blanks after it */
		while (name.l && (name.p[name.l - 1] == ' ' || name.p[name.l - 1] == '\t'))
			name.l--;
	}
	if (!is_token(name))
		return EBADMSG;
	if (++lv->nlines > SB_SDP_MAX_ATTRS)
		return E2BIG;

	enum sb_sdp_dir d = value.p ? SB_SDP_DIR_NONE : dir_of(name);
	if (d != SB_SDP_DIR_NONE) {
		/* RFC 3264 §5.1: one direction per level; two contradict */
		if (*lv->dir != SB_SDP_DIR_NONE)
			return EBADMSG;
		*lv->dir = d;
		return 0;
	}
	struct sb_sdp_media *m = lv->m;
	if (m && value.p) {
		if (sb_slice_eq(name, SB_LIT("rtpmap"))) {
			struct sb_sdp_rtpmap r;
			if (parse_rtpmap(value, &r)) {
				if (m->nrtpmap >= SB_SDP_MAX_FORMATS)
					return E2BIG;
				m->rtpmap[m->nrtpmap++] = r;
				return 0;
			}
		} else if (sb_slice_eq(name, SB_LIT("fmtp"))) {
			struct sb_sdp_fmtp f;
			if (parse_fmtp(value, &f)) {
				if (m->nfmtp >= SB_SDP_MAX_FORMATS)
					return E2BIG;
				m->fmtp[m->nfmtp++] = f;
				return 0;
			}
		} else if (sb_slice_eq(name, SB_LIT("ptime")) && m->ptime == 0) {
			/* RFC 8866 §6.4: milliseconds; a later duplicate stays raw */
			uint32_t ms;
			if (!sb_slice_to_u32(value, &ms) && ms > 0) {
				m->ptime = ms;
				return 0;
			}
		} else if (sb_slice_eq(name, SB_LIT("rtcp")) && !m->has_rtcp) {
			if (parse_rtcp(value, m))
				return 0;
		}
	}
	/* RFC 8866 §5.13: attributes we do not understand are kept, unparsed
	 * (and so are malformed known ones: a proxy passes them on) */
	lv->attrs[(*lv->nattr)++] = (struct sb_sdp_attr){ name, value };
	return 0;
}

/* --------------------------------------------------------------- parser */

/* Line types allowed at session level and inside an m= section
 * (RFC 8866 §5: v o s i u e p c b t r z k a, then m i c b k a). */
static bool session_type(char t)
{
	return t && strchr("vosiuepcbtrzkam", t) != NULL;
}

static bool media_type(char t)
{
	return t && strchr("icbkam", t) != NULL;
}

/* Set a single-valued slice; a second occurrence is malformed. */
static int set_once(struct sb_slice *dst, struct sb_slice v)
{
	if (dst->p)
		return EBADMSG;
	*dst = v;
	return 0;
}

static int session_line(struct sb_sdp *s, char type, struct sb_slice v, struct level *lv)
{
	switch (type) {
	case 'i':
		return set_once(&s->info, v);
	case 'u':
		return set_once(&s->uri, v);
	case 'e':
		if (s->nemail >= SB_SDP_MAX_CONTACTS)
			return E2BIG;
		s->emails[s->nemail++] = v;
		return 0;
	case 'p':
		if (s->nphone >= SB_SDP_MAX_CONTACTS)
			return E2BIG;
		s->phones[s->nphone++] = v;
		return 0;
	case 'c':
		/* RFC 8866 §5: at most one c= at session level */
		if (s->conn.addr.p)
			return EBADMSG;
		return parse_conn(v, true, &s->conn);
	case 'b':
		return parse_bw(v, s->bw, &s->nbw);
	case 't':
		return parse_time(v, s);
	case 'r': {
		/* RFC 8866 §5.10: r= belongs to the t= before it */
		if (s->ntime == 0)
			return EBADMSG;
		struct sb_sdp_time *t = &s->times[s->ntime - 1];
		if (t->nrepeat >= SB_SDP_MAX_REPEATS)
			return E2BIG;
		t->repeat[t->nrepeat++] = v;
		return 0;
	}
	case 'z':
		return set_once(&s->zone, v);
	case 'k':
		return set_once(&s->key, v);
	case 'a':
		return parse_attr(v, lv);
	default:
		/* v, o, s out of place (RFC 8866 §5: exactly once, first) */
		return EBADMSG;
	}
}

static int media_line(struct sb_sdp_media *m, char type, struct sb_slice v, struct level *lv)
{
	switch (type) {
	case 'i':
		return set_once(&m->info, v);
	case 'c':
		if (m->conn.addr.p)
			return E2BIG; /* see SB_SDP_MAX_* in sdp.h */
		return parse_conn(v, true, &m->conn);
	case 'b':
		return parse_bw(v, m->bw, &m->nbw);
	case 'k':
		return set_once(&m->key, v);
	case 'a':
		return parse_attr(v, lv);
	default:
		return EBADMSG;
	}
}

int sb_sdp_parse(struct sb_sdp *s, struct sb_slice body)
{
	memset(s, 0, sizeof *s);
	if (!body.p)
		return EBADMSG;

	struct level lv = { .dir = &s->dir, .attrs = s->attrs, .nattr = &s->nattr };
	struct sb_sdp_media *m = NULL;
	size_t pos = 0, nline = 0;
	bool blank = false;

	while (pos < body.l) {
		const char *start = body.p + pos;
		const char *lf = memchr(start, '\n', body.l - pos);
		/* RFC 8866 §9: every line ends in CRLF (LF accepted, §5); a last
		 * line without one means the body was cut short */
		if (!lf)
			return EBADMSG;
		size_t len = (size_t)(lf - start);
		pos += len + 1;
		if (len && start[len - 1] == '\r')
			len--;
		if (len == 0) {
			/* tolerate blank lines only at the very end */
			blank = true;
			continue;
		}
		if (blank)
			return EBADMSG;
		struct sb_slice line = sb_slice_from(start, len);
		/* RFC 8866 §9: no NUL and no bare CR anywhere in a line */
		if (memchr(line.p, '\0', line.l) || memchr(line.p, '\r', line.l))
			return EBADMSG;
		/* RFC 8866 §5: <type>=<value>, one lowercase letter, no blanks
		 * around '=' */
		if (line.l < 2 || line.p[1] != '=' || line.p[0] < 'a' || line.p[0] > 'z')
			return EBADMSG;
		char type = line.p[0];
		struct sb_slice v = sb_slice_from(line.p + 2, line.l - 2);
		int err = 0;

		/* RFC 8866 §5: v=, o=, s= come first, in that order */
		if (nline == 0) {
			if (type != 'v' || !sb_slice_eq(v, SB_LIT("0")))
				return EBADMSG; /* RFC 8866 §5.1: version 0 */
		} else if (nline == 1) {
			if (type != 'o')
				return EBADMSG;
			err = parse_origin(v, &s->origin);
		} else if (nline == 2) {
			if (type != 's')
				return EBADMSG;
			/* RFC 8866 §5.3: "s= " (one space) says there is no name;
			 * read it as empty, which is how the printer writes one */
			s->name = sb_slice_eq(v, SB_LIT(" ")) ? sb_slice_from(v.p, 0) : v;
		} else if (type == 'm') {
			/* RFC 8866 §5.9: the time description is session-level and
			 * mandatory, so it precedes the first m= */
			if (s->ntime == 0)
				return EBADMSG;
			if (s->nmedia >= SB_SDP_MAX_MEDIA)
				return E2BIG;
			m = &s->media[s->nmedia++];
			lv = (struct level){ .dir = &m->dir, .attrs = m->attrs,
					     .nattr = &m->nattr, .m = m };
			err = parse_mline(v, m);
		} else if (!m) {
			/* RFC 8866 §5: an unknown type letter: reject the body */
			if (!session_type(type))
				return EBADMSG;
			err = session_line(s, type, v, &lv);
		} else {
			if (!media_type(type))
				return EBADMSG;
			err = media_line(m, type, v, &lv);
		}
		if (err)
			return err;
		nline++;
	}
	/* RFC 8866 §5: v, o, s and at least one t= are mandatory */
	if (nline < 3 || s->ntime == 0)
		return EBADMSG;
	return 0;
}

/* ------------------------------------------------------------ accessors */

enum sb_sdp_dir sb_sdp_media_dir(const struct sb_sdp *s, const struct sb_sdp_media *m)
{
	/* RFC 3264 §5.1 / RFC 8866 §6.7: media-level overrides session-level;
	 * neither means sendrecv */
	if (m && m->dir != SB_SDP_DIR_NONE)
		return m->dir;
	if (s && s->dir != SB_SDP_DIR_NONE)
		return s->dir;
	return SB_SDP_DIR_SENDRECV;
}

const struct sb_sdp_conn *sb_sdp_media_conn(const struct sb_sdp *s,
					    const struct sb_sdp_media *m)
{
	/* RFC 8866 §5.7: a media-level c= overrides the session one */
	if (m && m->conn.addr.p)
		return &m->conn;
	if (s && s->conn.addr.p)
		return &s->conn;
	return NULL;
}

int sb_sdp_find_rtpmap(const struct sb_sdp_media *m, unsigned pt, struct sb_sdp_rtpmap *out)
{
	if (m) {
		for (size_t i = 0; i < m->nrtpmap; i++) {
			if (m->rtpmap[i].pt == pt) {
				*out = m->rtpmap[i];
				return 0;
			}
		}
	}
	/* RFC 3551 §6, tables 4 and 5: static payload types */
	static const struct {
		uint8_t pt;
		const char *name;
		uint32_t clock;
		uint32_t channels;
	} st[] = {
		{ 0, "PCMU", 8000, 0 },   { 3, "GSM", 8000, 0 },     { 4, "G723", 8000, 0 },
		{ 5, "DVI4", 8000, 0 },   { 6, "DVI4", 16000, 0 },   { 7, "LPC", 8000, 0 },
		{ 8, "PCMA", 8000, 0 },   { 9, "G722", 8000, 0 },    { 10, "L16", 44100, 2 },
		{ 11, "L16", 44100, 0 },  { 12, "QCELP", 8000, 0 },  { 13, "CN", 8000, 0 },
		{ 14, "MPA", 90000, 0 },  { 15, "G728", 8000, 0 },   { 16, "DVI4", 11025, 0 },
		{ 17, "DVI4", 22050, 0 }, { 18, "G729", 8000, 0 },   { 25, "CelB", 90000, 0 },
		{ 26, "JPEG", 90000, 0 }, { 28, "nv", 90000, 0 },    { 31, "H261", 90000, 0 },
		{ 32, "MPV", 90000, 0 },  { 33, "MP2T", 90000, 0 },  { 34, "H263", 90000, 0 },
	};
	for (size_t i = 0; i < SB_ARRAY_LEN(st); i++) {
		if (st[i].pt == pt) {
			*out = (struct sb_sdp_rtpmap){ .pt = st[i].pt,
						       .encoding = sb_slice_cstr(st[i].name),
						       .clock = st[i].clock,
						       .channels = st[i].channels };
			return 0;
		}
	}
	return ENOENT;
}

const struct sb_sdp_fmtp *sb_sdp_find_fmtp(const struct sb_sdp_media *m, unsigned pt)
{
	for (size_t i = 0; m && i < m->nfmtp; i++)
		if (m->fmtp[i].pt == pt)
			return &m->fmtp[i];
	return NULL;
}

const char *sb_sdp_dir_name(enum sb_sdp_dir d)
{
	switch (d) {
	case SB_SDP_DIR_SENDRECV:
		return "sendrecv";
	case SB_SDP_DIR_SENDONLY:
		return "sendonly";
	case SB_SDP_DIR_RECVONLY:
		return "recvonly";
	case SB_SDP_DIR_INACTIVE:
		return "inactive";
	default:
		return "";
	}
}

static bool dir_sends(enum sb_sdp_dir d)
{
	return d == SB_SDP_DIR_NONE || d == SB_SDP_DIR_SENDRECV || d == SB_SDP_DIR_SENDONLY;
}

static bool dir_recvs(enum sb_sdp_dir d)
{
	return d == SB_SDP_DIR_NONE || d == SB_SDP_DIR_SENDRECV || d == SB_SDP_DIR_RECVONLY;
}

enum sb_sdp_dir sb_sdp_dir_answer(enum sb_sdp_dir offered, enum sb_sdp_dir want)
{
	/* RFC 3264 §6.1: sendonly is answered recvonly (or inactive),
	 * recvonly with sendonly, inactive with inactive */
	bool send = dir_recvs(offered) && dir_sends(want);
	bool recv = dir_sends(offered) && dir_recvs(want);
	if (send && recv)
		return SB_SDP_DIR_SENDRECV;
	if (send)
		return SB_SDP_DIR_SENDONLY;
	if (recv)
		return SB_SDP_DIR_RECVONLY;
	return SB_SDP_DIR_INACTIVE;
}

/* --------------------------------------------------------------- printer */

/* A printer run: the first error (EINVAL for a field that is not valid SDP)
 * is kept; the buffer keeps its own. */
struct pr {
	struct sb_buf *out;
	int err;
};

static void pr_fail(struct pr *p)
{
	if (!p->err)
		p->err = EINVAL;
}

static void pr_raw(struct pr *p, const char *s)
{
	sb_buf_append_cstr(p->out, s);
}

/* check: one of is_token, is_nonws, is_text, is_proto */
static void pr_slice(struct pr *p, struct sb_slice s, bool (*check)(struct sb_slice))
{
	if (!check(s)) {
		pr_fail(p);
		return;
	}
	sb_buf_append_slice(p->out, s);
}

static void pr_u64(struct pr *p, uint64_t v)
{
	sb_buf_append_u64(p->out, v);
}

static void pr_ptime(struct pr *p, uint32_t ms)
{
	pr_raw(p, "a=ptime:");
	pr_u64(p, ms);
	pr_raw(p, "\r\n");
}

/* A "<type>=<text>" line; absent slices print nothing. */
static void pr_text_line(struct pr *p, const char *prefix, struct sb_slice v)
{
	if (!v.p)
		return;
	pr_raw(p, prefix);
	pr_slice(p, v, is_text);
	pr_raw(p, "\r\n");
}

/* "<nettype> <addrtype> <addr>[/<multicast>]" */
static void pr_conn_fields(struct pr *p, struct sb_slice net, struct sb_slice type,
			   struct sb_slice addr, struct sb_slice multicast)
{
	pr_slice(p, net, is_token);
	pr_raw(p, " ");
	pr_slice(p, type, is_token);
	pr_raw(p, " ");
	if (sb_slice_chr(addr, '/') >= 0)
		pr_fail(p);
	pr_slice(p, addr, is_nonws);
	if (multicast.p) {
		struct sb_slice a, b;
		split_at(multicast, '/', &a, &b);
		if (!is_digits(a) || (b.p && !is_digits(b)))
			pr_fail(p);
		pr_raw(p, "/");
		sb_buf_append_slice(p->out, multicast);
	}
}

static void pr_conn(struct pr *p, const struct sb_sdp_conn *c)
{
	if (!c->addr.p)
		return;
	pr_raw(p, "c=");
	pr_conn_fields(p, c->nettype, c->addrtype, c->addr, c->multicast);
	pr_raw(p, "\r\n");
}

static void pr_bw(struct pr *p, const struct sb_sdp_bw *bw, size_t n)
{
	if (n > SB_SDP_MAX_BANDWIDTHS) {
		pr_fail(p);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		pr_raw(p, "b=");
		pr_slice(p, bw[i].type, is_token);
		pr_raw(p, ":");
		pr_u64(p, bw[i].value);
		pr_raw(p, "\r\n");
	}
}

static void pr_dir(struct pr *p, enum sb_sdp_dir d)
{
	if (d == SB_SDP_DIR_NONE)
		return;
	if (d > SB_SDP_DIR_INACTIVE) {
		pr_fail(p);
		return;
	}
	pr_raw(p, "a=");
	pr_raw(p, sb_sdp_dir_name(d));
	pr_raw(p, "\r\n");
}

static void pr_attrs(struct pr *p, const struct sb_sdp_attr *a, size_t n)
{
	if (n > SB_SDP_MAX_ATTRS) {
		pr_fail(p);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		pr_raw(p, "a=");
		pr_slice(p, a[i].name, is_token);
		if (a[i].value.p) {
			pr_raw(p, ":");
			pr_slice(p, a[i].value, is_text);
		}
		pr_raw(p, "\r\n");
	}
}

static void pr_rtpmap(struct pr *p, const struct sb_sdp_rtpmap *r)
{
	if (r->pt > 127)
		pr_fail(p);
	pr_raw(p, "a=rtpmap:");
	pr_u64(p, r->pt);
	pr_raw(p, " ");
	pr_slice(p, r->encoding, is_token);
	if (r->clock || r->channels) {
		pr_raw(p, "/");
		pr_u64(p, r->clock);
	}
	if (r->channels) {
		pr_raw(p, "/");
		pr_u64(p, r->channels);
	}
	pr_raw(p, "\r\n");
}

static void pr_fmtp(struct pr *p, const struct sb_sdp_fmtp *f)
{
	/* params must not start with SP: the parser skips those */
	if (f->pt > 127 || !f->params.l || f->params.p[0] == ' ')
		pr_fail(p);
	pr_raw(p, "a=fmtp:");
	pr_u64(p, f->pt);
	pr_raw(p, " ");
	pr_slice(p, f->params, is_text);
	pr_raw(p, "\r\n");
}

static void pr_media(struct pr *p, const struct sb_sdp_media *m)
{
	if (m->nfmt == 0 || m->nfmt > SB_SDP_MAX_FORMATS || m->nrtpmap > SB_SDP_MAX_FORMATS ||
	    m->nfmtp > SB_SDP_MAX_FORMATS) {
		pr_fail(p);
		return;
	}
	pr_raw(p, "m=");
	pr_slice(p, m->type, is_token);
	pr_raw(p, " ");
	pr_u64(p, m->port);
	if (m->port_count) {
		pr_raw(p, "/");
		pr_u64(p, m->port_count);
	}
	pr_raw(p, " ");
	pr_slice(p, m->proto, is_proto);
	for (size_t i = 0; i < m->nfmt; i++) {
		pr_raw(p, " ");
		pr_slice(p, m->fmts[i], is_token);
	}
	pr_raw(p, "\r\n");
	/* RFC 8866 §5: m= i* c* b* k? a* */
	pr_text_line(p, "i=", m->info);
	pr_conn(p, &m->conn);
	pr_bw(p, m->bw, m->nbw);
	pr_text_line(p, "k=", m->key);
	/* each rtpmap with the fmtp lines of its payload type, then the rest */
	bool used[SB_SDP_MAX_FORMATS] = { false };
	for (size_t i = 0; i < m->nrtpmap; i++) {
		pr_rtpmap(p, &m->rtpmap[i]);
		for (size_t j = 0; j < m->nfmtp; j++) {
			if (!used[j] && m->fmtp[j].pt == m->rtpmap[i].pt) {
				pr_fmtp(p, &m->fmtp[j]);
				used[j] = true;
			}
		}
	}
	for (size_t j = 0; j < m->nfmtp; j++)
		if (!used[j])
			pr_fmtp(p, &m->fmtp[j]);
	if (m->ptime)
		pr_ptime(p, m->ptime);
	if (m->has_rtcp) {
		pr_raw(p, "a=rtcp:");
		pr_u64(p, m->rtcp_port);
		if (m->rtcp_conn.addr.p) {
			pr_raw(p, " ");
			pr_conn_fields(p, m->rtcp_conn.nettype, m->rtcp_conn.addrtype,
				       m->rtcp_conn.addr, m->rtcp_conn.multicast);
		}
		pr_raw(p, "\r\n");
	}
	pr_attrs(p, m->attrs, m->nattr);
	pr_dir(p, m->dir);
}

/* Finish a run: on any error put out->len back where it started. */
static int pr_end(struct pr *p, size_t start)
{
	int err = p->err ? p->err : p->out->err;
	if (err && p->out->len > start)
		p->out->len = start;
	return err;
}

int sb_sdp_print(struct sb_buf *out, const struct sb_sdp *s)
{
	struct pr p = { .out = out };
	size_t start = out->len;
	if (out->err)
		return out->err;
	if (s->nemail > SB_SDP_MAX_CONTACTS || s->nphone > SB_SDP_MAX_CONTACTS ||
	    s->ntime == 0 || s->ntime > SB_SDP_MAX_TIMES || s->nmedia > SB_SDP_MAX_MEDIA)
		return EINVAL;

	/* RFC 8866 §5.1, §5.2, §5.3 */
	pr_raw(&p, "v=0\r\no=");
	const struct sb_sdp_origin *o = &s->origin;
	pr_slice(&p, o->username, is_nonws);
	pr_raw(&p, " ");
	pr_u64(&p, o->sess_id);
	pr_raw(&p, " ");
	pr_u64(&p, o->sess_version);
	pr_raw(&p, " ");
	pr_conn_fields(&p, o->nettype, o->addrtype, o->addr, SB_SLICE_NULL);
	pr_raw(&p, "\r\ns=");
	/* an absent or empty name prints as RFC 8866 §5.3's "s= ": the line
	 * MUST NOT be empty */
	pr_slice(&p, s->name.l ? s->name : SB_LIT(" "), is_text);
	pr_raw(&p, "\r\n");
	pr_text_line(&p, "i=", s->info);
	pr_text_line(&p, "u=", s->uri);
	for (size_t i = 0; i < s->nemail; i++)
		pr_text_line(&p, "e=", s->emails[i]);
	for (size_t i = 0; i < s->nphone; i++)
		pr_text_line(&p, "p=", s->phones[i]);
	pr_conn(&p, &s->conn);
	pr_bw(&p, s->bw, s->nbw);
	/* RFC 8866 §5.9, §5.10: each t= followed by its r= lines */
	for (size_t i = 0; i < s->ntime; i++) {
		const struct sb_sdp_time *t = &s->times[i];
		pr_raw(&p, "t=");
		pr_u64(&p, t->start);
		pr_raw(&p, " ");
		pr_u64(&p, t->stop);
		pr_raw(&p, "\r\n");
		if (t->nrepeat > SB_SDP_MAX_REPEATS) {
			pr_fail(&p);
			break;
		}
		for (size_t j = 0; j < t->nrepeat; j++)
			pr_text_line(&p, "r=", t->repeat[j]);
	}
	pr_text_line(&p, "z=", s->zone);
	pr_text_line(&p, "k=", s->key);
	pr_attrs(&p, s->attrs, s->nattr);
	pr_dir(&p, s->dir);
	for (size_t i = 0; i < s->nmedia; i++)
		pr_media(&p, &s->media[i]);
	return pr_end(&p, start);
}

int sb_sdp_print_offer(struct sb_buf *out, const struct sb_sdp_offer_spec *spec)
{
	struct pr p = { .out = out };
	size_t start = out->len;
	if (out->err)
		return out->err;
	if (!spec->codecs || spec->ncodecs == 0 || spec->ncodecs > SB_SDP_MAX_FORMATS ||
	    (spec->af != SB_SDP_AF_IP4 && spec->af != SB_SDP_AF_IP6))
		return EINVAL;
	struct sb_slice addrtype = spec->af == SB_SDP_AF_IP6 ? SB_LIT("IP6") : SB_LIT("IP4");

	pr_raw(&p, "v=0\r\no=");
	pr_slice(&p, spec->user.p ? spec->user : SB_LIT("-"), is_nonws);
	pr_raw(&p, " ");
	pr_u64(&p, spec->sess_id);
	pr_raw(&p, " ");
	pr_u64(&p, spec->sess_version);
	pr_raw(&p, " ");
	pr_conn_fields(&p, SB_LIT("IN"), addrtype, spec->addr, SB_SLICE_NULL);
	pr_raw(&p, "\r\ns=");
	pr_slice(&p, spec->session_name.p ? spec->session_name : SB_LIT("-"), is_text);
	pr_raw(&p, "\r\nc=");
	pr_conn_fields(&p, SB_LIT("IN"), addrtype, spec->addr, SB_SLICE_NULL);
	/* RFC 3264 §5: t= of an offer/answer session is "0 0" */
	pr_raw(&p, "\r\nt=0 0\r\n");
	pr_raw(&p, "m=audio ");
	pr_u64(&p, spec->port);
	pr_raw(&p, " RTP/AVP");
	for (size_t i = 0; i < spec->ncodecs; i++) {
		pr_raw(&p, " ");
		pr_u64(&p, spec->codecs[i].pt);
	}
	pr_raw(&p, "\r\n");
	for (size_t i = 0; i < spec->ncodecs; i++) {
		const struct sb_sdp_codec *c = &spec->codecs[i];
		/* RFC 8866 §6.6: rtpmap even for static types, so the answerer
		 * need not know RFC 3551's table */
		if (c->clock == 0)
			pr_fail(&p);
		pr_rtpmap(&p, &(struct sb_sdp_rtpmap){ .pt = c->pt, .encoding = c->name,
						       .clock = c->clock,
						       .channels = c->channels });
		if (c->fmtp.p)
			pr_fmtp(&p, &(struct sb_sdp_fmtp){ .pt = c->pt, .params = c->fmtp });
	}
	if (spec->ptime)
		pr_ptime(&p, spec->ptime);
	pr_dir(&p, spec->dir);
	return pr_end(&p, start);
}
