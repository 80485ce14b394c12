/* sip/addr: name-addr and addr-spec values with their header parameters
 * (From, To, Contact, Route, Record-Route, Refer-To, Referred-By; RFC 3261
 * §20.10, §20.20, §20.39, §25.1), the Contact q and expires parameters, and
 * the cached From and To of a message. */
#include <errno.h>
#include <string.h>

#include "switchboard/sip.h"

#include "charclass.h"

/* sb_nameaddr_parse() with every field but uri already absent; uri is
 * parsed (and so set) exactly when uri_s is set. */
static int parse_nameaddr(struct sb_nameaddr *na, struct sb_slice s)
{
	if (!s.p)
		return EBADMSG;
	const char *p = s.p;
	size_t i, n = sb_lws_bounds(p, s.l, &i);
	if (i == n)
		return EBADMSG;

	/* RFC 3261 §20.10: Contact: STAR */
	if (n - i == 1 && p[i] == '*') {
		na->star = true;
		return 0;
	}

	/* RFC 3261 §25.1 name-addr = [ display-name ] LAQUOT addr-spec RAQUOT
	 * display-name = *(token LWS) / quoted-string */
	if (p[i] == '"') {
		/* RFC 4475 §3.1.2.6 quotbal: an unterminated quote is malformed;
		 * never read past the value looking for it */
		struct sb_slice inner;
		const char *qe = sb_scan_quoted(p + i, p + n, &inner);
		if (!qe)
			return EBADMSG;
		na->display = sb_slice_from(p + i, (size_t)(qe - (p + i))); /* with its quotes */
		i = (size_t)(qe - p);
		i = sb_skip_lws(p, i, n);
		if (i == n || p[i] != '<')
			return EBADMSG;
	} else if (p[i] != '<') {
		/* tokens and LWS up to '<' make a display name (RFC 4475 §3.1.1.6
		 * lwsdisp: "caller<sip:...>" needs no LWS); anything else that
		 * stops the run means there is no display name and the value is
		 * an addr-spec. */
		size_t j = i, de = i;
		for (;;) {
			while (j < n && sb_is_tchar(p[j]))
				de = ++j;
			size_t k = sb_skip_lws(p, j, n);
			if (k == j)
				break;
			j = k;
		}
		if (j < n && p[j] == '<') {
			na->display = sb_slice_from(p + i, de - i);
			i = j;
		} else if (j < n && p[j] == ',' && de > i) {
			/* RFC 4475 §3.1.2.15 baddn: "Bell, Alexander <sip:...>" —
			 * a display name with ',' must be quoted */
			return EBADMSG;
		}
	}

	if (p[i] == '<') {
		size_t us = i + 1;
		const char *gt = sb_find_byte(p + us, p + n, '>');
		if (!gt)
			return EBADMSG;
		size_t ue = (size_t)(gt - p);
		na->angle = true;
		na->uri_s = sb_slice_from(p + us, ue - us);
		/* RFC 4475 §3.1.2.14 badaspec: "< sip:... >" — LWS is not part of
		 * a URI, and the URI parser refuses it */
		if (sb_uri_parse(&na->uri, na->uri_s) != 0)
			return EBADMSG;
		i = ue + 1;
	} else {
		/* RFC 3261 §20.10: without <>, the URI ends at the first ';' or
		 * LWS and every ';' after it starts a header parameter (RFC 4475
		 * §3.3.12 cparam01); a URI holding ',' '?' or ';' must be in <>
		 * (RFC 4475 §3.1.2.13 regbadct: "?Route=" outside <>). */
		size_t us = i;
		while (i < n && p[i] != ';' && !sb_is_lws(p[i])) {
			if (p[i] == '?' || p[i] == ',')
				return EBADMSG;
			i++;
		}
		na->uri_s = sb_slice_from(p + us, i - us);
		if (sb_uri_parse(&na->uri, na->uri_s) != 0)
			return EBADMSG;
	}

	/* *( SEMI generic-param ) */
	i = sb_skip_lws(p, i, n);
	if (i == n)
		return 0;
	if (p[i] != ';')
		return EBADMSG; /* e.g. a second value: "<sip:a@b> <sip:c@d>" */
	na->params = sb_slice_from(p + i + 1, n - i - 1);

	struct sb_slice rest = na->params, name, value;
	bool bad;
	unsigned count = 0;
	while (sb_param_next(&rest, &name, &value, &bad)) {
		count++;
		struct sb_slice *f = NULL;
		if (SB_NAME_IS(name, "tag"))
			f = &na->tag;          /* RFC 3261 §20.20, §20.39 */
		else if (SB_NAME_IS(name, "q"))
			f = &na->q;            /* RFC 3261 §20.10 c-p-q */
		else if (SB_NAME_IS(name, "expires"))
			f = &na->expires;      /* RFC 3261 §20.10 c-p-expires */
		if (!f)
			continue;
		if (!value.p)
			return EBADMSG;        /* each of them needs "=value" */
		if (!f->p)
			*f = value;
	}
	/* RFC 4475 §3.1.2.1 badinv01: "<sip:joe@example.org>;;;;"; a ';'
	 * with nothing after it is as empty */
	return bad || count == 0 ? EBADMSG : 0;
}

int sb_nameaddr_parse(struct sb_nameaddr *na, struct sb_slice s)
{
	/* field by field, and uri only when it is not parsed (which sets it):
	 * see sb_uri_clear; keep in step with struct sb_nameaddr (test_msg
	 * checks every field) */
	na->display = SB_SLICE_NULL;
	na->uri_s = SB_SLICE_NULL;
	na->angle = na->star = false;
	na->params = SB_SLICE_NULL;
	na->tag = SB_SLICE_NULL;
	na->q = SB_SLICE_NULL;
	na->expires = SB_SLICE_NULL;
	int err = parse_nameaddr(na, s);
	if (!na->uri_s.p)
		sb_uri_clear(&na->uri);
	return err;
}

int sb_contact_q(const struct sb_nameaddr *na, unsigned *q1000)
{
	/* RFC 3261 §25.1: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ) */
	struct sb_slice q = na->q;
	if (!q.p) {
		*q1000 = 1000;
		return 0;
	}
	if (q.l == 0 || (q.p[0] != '0' && q.p[0] != '1'))
		return EBADMSG;
	unsigned v = (unsigned)(q.p[0] - '0') * 1000, scale = 100;
	if (q.l > 1) {
		if (q.p[1] != '.' || q.l > 5)
			return EBADMSG;
		for (size_t i = 2; i < q.l; i++, scale /= 10) {
			unsigned d = (unsigned)((unsigned char)q.p[i] - '0');
			if (d > 9 || (v == 1000 && d != 0))
				return EBADMSG;
			v += d * scale;
		}
	}
	*q1000 = v;
	return 0;
}

int sb_contact_expires(const struct sb_nameaddr *na, uint32_t *secs)
{
	/* RFC 3261 §20.10: delta-seconds; RFC 4475 §3.1.2.4 scalar02 carries
	 * expires=280297596632815, which clamps instead of wrapping */
	struct sb_slice e = na->expires;
	if (!e.p)
		return ENOENT;
	if (e.l == 0)
		return EBADMSG;
	uint32_t v = 0;
	for (size_t i = 0; i < e.l; i++) {
		unsigned d = (unsigned)((unsigned char)e.p[i] - '0');
		if (d > 9)
			return EBADMSG;
		if (v > (UINT32_MAX - d) / 10)
			v = UINT32_MAX;
		else
			v = v * 10 + d;
	}
	*secs = v;
	return 0;
}

/* From and To: parse the first field once, cache the result (and a failure)
 * in m.  RFC 3261 §7.3.1 allows no list here: a second field with another
 * value makes the message malformed (RFC 4475 §3.3.8 multi01). */
static int msg_nameaddr(struct sb_sip_msg *m, enum sb_sip_hdr_id id, uint32_t bit,
			struct sb_nameaddr *na, const struct sb_nameaddr **out)
{
	const struct sb_sip_hdr *h = sb_sip_hdr_first(m, id);
	if (!h)
		return ENOENT;
	if (!(m->parsed & bit)) {
		m->parsed |= bit;
		int err = sb_nameaddr_parse(na, h->value);
		for (const struct sb_sip_hdr *o = sb_sip_hdr_next(m, h); !err && o;
		     o = sb_sip_hdr_next(m, o))
			if (!sb_slice_eq(sb_slice_trim(o->value), sb_slice_trim(h->value)))
				err = EBADMSG;
		/* a star is for Contact only */
		if (!err && na->star)
			err = EBADMSG;
		if (err)
			m->bad |= bit;
	}
	if (m->bad & bit)
		return EBADMSG;
	*out = na;
	return 0;
}

int sb_sip_msg_from(struct sb_sip_msg *m, const struct sb_nameaddr **out)
{
	return msg_nameaddr(m, SB_HDR_FROM, SB_SIP_CACHE_FROM, &m->from, out);
}

int sb_sip_msg_to(struct sb_sip_msg *m, const struct sb_nameaddr **out)
{
	return msg_nameaddr(m, SB_HDR_TO, SB_SIP_CACHE_TO, &m->to, out);
}
