/* sip/via: one Via value (RFC 3261 §20.42, §25.1 via-parm; RFC 3581 rport;
 * RFC 5118 §4.5 IPv6 received) and the cached topmost Via of a message,
 * which the transaction layer and the response path read on every message. */
#include <errno.h>

#include "switchboard/sip.h"

#include "charclass.h"

/* The token starting at i into *t (empty when none); returns where it ends. */
static size_t take_token(const char *p, size_t i, size_t n, struct sb_slice *t)
{
	size_t st = i;
	i = sb_scan_cc(p, i, n, SB_CC_TOKEN);
	*t = sb_slice_from(p + st, i - st);
	return i;
}

/* 1*DIGIT within lo..hi, the whole slice. */
static bool num_in(struct sb_slice s, unsigned lo, unsigned hi)
{
	unsigned v = 0;
	if (s.l == 0)
		return false;
	for (size_t i = 0; i < s.l; i++) {
		if (!sb_is_digit(s.p[i]))
			return false;
		v = v * 10 + (unsigned)(s.p[i] - '0');
		if (v > hi)
			return false;
	}
	return v >= lo;
}

/* RFC 3261 §20.42 via-received = "received" EQUAL (IPv4address /
 * IPv6address); RFC 5118 §4.5: accept the IPv6 address with or without []. */
static bool received_ok(struct sb_slice r)
{
	enum sb_host_type t = sb_host_classify(r);
	uint8_t b[16];
	return t == SB_HOST_IPV4 || t == SB_HOST_IPV6 || sb_ipv6_parse(r, b);
}

/* Every field absent, one at a time (see sb_uri_clear); keep in step with
 * struct sb_via (test_msg checks every field). */
static void via_clear(struct sb_via *v)
{
	v->proto_name = SB_SLICE_NULL;
	v->proto_version = SB_SLICE_NULL;
	v->transport = SB_SLICE_NULL;
	v->host = SB_SLICE_NULL;
	v->host_type = SB_HOST_NONE;
	v->port = 0;
	v->params = SB_SLICE_NULL;
	v->branch = SB_SLICE_NULL;
	v->received = SB_SLICE_NULL;
	v->maddr = SB_SLICE_NULL;
	v->ttl = SB_SLICE_NULL;
	v->rport = SB_SLICE_NULL;
}

int sb_via_parse(struct sb_via *v, struct sb_slice s)
{
	via_clear(v);
	if (!s.p)
		return EBADMSG;
	const char *p = s.p;
	size_t i, n = sb_lws_bounds(p, s.l, &i);

	/* sent-protocol = protocol-name SLASH protocol-version SLASH transport,
	 * SLASH = SWS "/" SWS: RFC 4475 §3.1.1.1 wsinv folds lines here */
	struct sb_slice *part[3] = { &v->proto_name, &v->proto_version, &v->transport };
	for (unsigned k = 0; k < 3; k++) {
		if (k) {
			i = sb_skip_lws(p, i, n);
			if (i == n || p[i] != '/')
				return EBADMSG;
			i = sb_skip_lws(p, i + 1, n);
		}
		i = take_token(p, i, n, part[k]);
		if (part[k]->l == 0)
			return EBADMSG;
	}

	/* LWS sent-by; sent-by = host [ COLON port ] */
	size_t hs = sb_skip_lws(p, i, n);
	if (hs == i || hs == n)
		return EBADMSG;
	i = sb_scan_hostport(p, hs, n, true, &v->host, &v->host_type, &v->port);
	if (i == SB_SCAN_BAD)
		return EBADMSG;

	/* *( SEMI via-params ) */
	i = sb_skip_lws(p, i, n);
	if (i == n)
		return 0;
	if (p[i] != ';')
		return EBADMSG;
	v->params = sb_slice_from(p + i + 1, n - i - 1);

	struct sb_slice rest = v->params, name, val;
	bool bad;
	unsigned count = 0;
	while (sb_param_next(&rest, &name, &val, &bad)) {
		count++;
		if (SB_NAME_IS(name, "branch")) {
			if (!val.p)
				return EBADMSG;
			if (!v->branch.p)
				v->branch = val;
		} else if (SB_NAME_IS(name, "received")) {
			if (!val.p || !received_ok(val))
				return EBADMSG;
			if (!v->received.p)
				v->received = val;
		} else if (SB_NAME_IS(name, "rport")) {
			/* RFC 3581 §3: response-port = "rport" [EQUAL 1*DIGIT];
			 * a bare rport is present with an empty value */
			if (val.p && !num_in(val, 1, 65535))
				return EBADMSG;
			if (!v->rport.p)
				v->rport = val.p ? val : sb_slice_from(name.p + name.l, 0);
		} else if (SB_NAME_IS(name, "maddr")) {
			if (!val.p || sb_host_classify(val) == SB_HOST_NONE)
				return EBADMSG;
			if (!v->maddr.p)
				v->maddr = val;
		} else if (SB_NAME_IS(name, "ttl")) {
			/* ttl = 1*3DIGIT, 0 to 255 */
			if (!val.p || val.l > 3 || !num_in(val, 0, 255))
				return EBADMSG;
			if (!v->ttl.p)
				v->ttl = val;
		}
	}
	/* RFC 4475 §3.1.2.1 badinv01: "192.0.2.15;;"; a ';' with nothing
	 * after it is as empty */
	return bad || count == 0 ? EBADMSG : 0;
}

int sb_sip_msg_via(struct sb_sip_msg *m, const struct sb_via **out)
{
	const struct sb_sip_hdr *h = sb_sip_hdr_first(m, SB_HDR_VIA);
	if (!h)
		return ENOENT;
	if (!(m->parsed & SB_SIP_CACHE_VIA)) {
		m->parsed |= SB_SIP_CACHE_VIA;
		/* the topmost Via is the first value of the first Via field */
		struct sb_slice rest = h->value, first;
		int err = EBADMSG;
		if (sb_sip_list_next(&rest, &first))
			err = sb_via_parse(&m->via, first);
		if (err)
			m->bad |= SB_SIP_CACHE_VIA;
	}
	if (m->bad & SB_SIP_CACHE_VIA)
		return EBADMSG;
	*out = &m->via;
	return 0;
}
