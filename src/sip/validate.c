/* sip/validate: what a server owes a request it cannot process (RFC 3261
 * §8.2, §16.3), and which responses must be dropped (§16.7, §18.1.2).
 *
 * The parser records defects and leaves values unparsed; this is where each
 * value a server relies on is parsed and checked, in the order RFC 3261 gives,
 * so that the response names the first problem.  The RFC 4475 torture tests
 * are cited beside the rules they exercise. */
#include <errno.h>
#include <string.h>

#include "switchboard/sip.h"

static int verdict(struct sb_sip_verdict *v, unsigned code, const char *reason)
{
	v->code = code;
	v->reason = reason;
	return EBADMSG;
}

static const char *defect_reason(enum sb_sip_defect d)
{
	switch (d) {
	case SB_DEFECT_BAD_REQUEST_LINE: return "Bad Request - Malformed Request-Line";
	case SB_DEFECT_NO_EMPTY_LINE: return "Bad Request - Header Section Not Terminated";
	case SB_DEFECT_BAD_HEADER_LINE: return "Bad Request - Malformed Header Line";
	case SB_DEFECT_BAD_CLEN: return "Bad Request - Malformed Content-Length";
	case SB_DEFECT_MULTI_CLEN: return "Bad Request - Conflicting Content-Length";
	case SB_DEFECT_SHORT_BODY: return "Bad Request - Body Shorter Than Content-Length";
	case SB_DEFECT_TOO_MANY_HEADERS: return "Message Too Large - Too Many Header Fields";
	case SB_DEFECT_TOO_LARGE: return "Message Too Large";
	case SB_DEFECT_NONE: break;
	}
	return "Bad Request";
}

/* The topmost Via, through the message's cache (which a caller reads next
 * anyway), so it is parsed once.  A failure leaves the cache as it found it,
 * as when validation parsed it into a copy. */
static bool top_via_ok(struct sb_sip_msg *m)
{
	const struct sb_via *top;
	uint32_t was = m->parsed & SB_SIP_CACHE_VIA;
	if (sb_sip_msg_via(m, &top) == 0)
		return true;
	if (!was) {
		m->parsed &= ~(uint32_t)SB_SIP_CACHE_VIA;
		m->bad &= ~(uint32_t)SB_SIP_CACHE_VIA;
	}
	return false;
}

/* RFC 3261 §8.1.1: the fields every message carries (To, From, Call-ID,
 * CSeq, Via) must be present and well formed; shared by requests and
 * responses.  Returns a reason phrase naming the problem, or NULL.  The
 * second Via value, when there is one, is left parsed in *second (a
 * response's next hop), and second->host.p is NULL when there is none. */
static const char *check_core(struct sb_sip_msg *m, struct sb_via *second)
{
	const struct sb_nameaddr *na;
	const struct sb_cseq *cs;
	struct sb_slice cid;
	int err;

	/* RFC 4475 insuf: To, From or Call-ID missing */
	if ((err = sb_sip_msg_to(m, &na)) != 0)
		return err == ENOENT ? "Bad Request - Missing To" : "Bad Request - Malformed To";
	if ((err = sb_sip_msg_from(m, &na)) != 0)
		return err == ENOENT ? "Bad Request - Missing From" : "Bad Request - Malformed From";
	if ((err = sb_sip_msg_call_id(m, &cid)) != 0)
		return err == ENOENT ? "Bad Request - Missing Call-ID" : "Bad Request - Malformed Call-ID";
	if ((err = sb_sip_msg_cseq(m, &cs)) != 0)
		return err == ENOENT ? "Bad Request - Missing CSeq" : "Bad Request - Malformed CSeq";

	/* every Via value, not only the top one: RFC 4475 badinv01.  The
	 * first value is the topmost Via (sb_sip_msg_via) */
	struct sb_sip_values it;
	struct sb_slice val;
	unsigned n = 0;
	second->host = SB_SLICE_NULL;
	sb_sip_values_init(&it, m, SB_HDR_VIA);
	while (sb_sip_values_next(&it, &val, NULL)) {
		struct sb_via spare;
		bool ok = n == 0 ? top_via_ok(m) : sb_via_parse(n == 1 ? second : &spare, val) == 0;
		if (!ok)
			return "Bad Request - Malformed Via";
		n++;
	}
	if (n == 0)
		return "Bad Request - Missing Via";
	return NULL;
}

/* RFC 3261 §7.1: the version is "SIP/2.0", compared case-insensitively;
 * anything else gets 505 (§21.5.7). */
static bool version_ok(struct sb_slice v)
{
	return sb_slice_caseeq(v, SB_LIT("SIP/2.0"));
}

static bool is_supported(const struct sb_sip_validate_cfg *cfg, struct sb_slice tag)
{
	if (!cfg->supported)
		return false;
	/* option-tag = token (§19.2), and tokens are case-insensitive (§7.3.1) */
	for (const char *const *s = cfg->supported; *s; s++)
		if (sb_slice_caseeq(tag, sb_slice_cstr(*s)))
			return true;
	return false;
}

/* RFC 3261 §8.2.2.3 (UAS: Require) and §16.3 step 6 (proxy: Proxy-Require):
 * collect every option tag we do not support for the 420's Unsupported. */
static void collect_unsupported(const struct sb_sip_msg *m, enum sb_sip_hdr_id id,
				const struct sb_sip_validate_cfg *cfg, struct sb_sip_verdict *v)
{
	struct sb_sip_values it;
	struct sb_slice tag;
	sb_sip_values_init(&it, m, id);
	while (sb_sip_values_next(&it, &tag, NULL)) {
		if (tag.l == 0 || is_supported(cfg, tag))
			continue;
		if (v->nunsupported < SB_SIP_MAX_UNSUPPORTED)
			v->unsupported[v->nunsupported++] = tag;
	}
}

/* Every Contact value must parse; "*" (RFC 3261 §20.10: STAR stands alone)
 * is the only value when present, and only in a REGISTER (§10.2.2).
 * Returns the reason phrase owed, or NULL. */
static const char *validate_contacts(struct sb_sip_msg *m)
{
	struct sb_sip_values it;
	struct sb_slice val;
	unsigned n = 0;
	bool star = false;
	sb_sip_values_init(&it, m, SB_HDR_CONTACT);
	while (sb_sip_values_next(&it, &val, NULL)) {
		struct sb_nameaddr na;
		if (sb_nameaddr_parse(&na, val) != 0)
			return "Bad Request - Malformed Contact";
		star = star || na.star;
		n++;
	}
	if (star && n > 1)
		return "Bad Request - Contact * Not Alone";
	if (star && m->mid != SB_METHOD_REGISTER)
		return "Bad Request - Contact * Outside REGISTER";
	return NULL;
}

static int validate_request(struct sb_sip_msg *m, const struct sb_sip_validate_cfg *cfg,
			    struct sb_sip_verdict *v)
{
	/* bounds first: nothing else is worth reading in an oversized message */
	if (m->defect == SB_DEFECT_TOO_LARGE || m->defect == SB_DEFECT_TOO_MANY_HEADERS)
		return verdict(v, 513, defect_reason(m->defect));
	if (m->nvia > SB_SIP_MAX_VIA)
		return verdict(v, 513, "Message Too Large - Too Many Via Values");
	if (m->defect == SB_DEFECT_BAD_REQUEST_LINE)
		return verdict(v, 400, defect_reason(m->defect));
	/* RFC 3261 §8.2 / RFC 4475 badvers: SIP/7.0 gets 505 */
	if (!version_ok(m->version))
		return verdict(v, 505, "Version Not Supported");
	if (m->defect != SB_DEFECT_NONE)
		return verdict(v, 400, defect_reason(m->defect));

	struct sb_via second;
	const char *why = check_core(m, &second);
	if (why)
		return verdict(v, 400, why);

	/* RFC 3261 §8.2.1: a UAS rejects a method it does not know with 501
	 * (RFC 4475 intmeth, esc02, mismatch02); a proxy forwards it. */
	if (cfg->role != SB_ROLE_PROXY && m->mid == SB_METHOD_OTHER)
		return verdict(v, 501, "Not Implemented");

	/* RFC 3261 §8.1.1.5: the CSeq method matches the request method
	 * (RFC 4475 mismatch01, mismatch02) */
	const struct sb_cseq *cs;
	(void)sb_sip_msg_cseq(m, &cs);
	if (!sb_slice_eq(cs->method, m->method))
		return verdict(v, 400, "Bad Request - CSeq Method Does Not Match");

	uint32_t mf;
	int err = sb_sip_msg_max_forwards(m, &mf);
	if (err == EBADMSG)
		return verdict(v, 400, "Bad Request - Malformed Max-Forwards");

	if ((why = validate_contacts(m)) != NULL)
		return verdict(v, 400, why);

	/* Request-URI (RFC 3261 §8.2.2.1, §16.3 step 2) */
	if (m->ruri.l > SB_SIP_MAX_URI_LEN)
		return verdict(v, 414, "Request-URI Too Long");
	struct sb_uri ruri;
	if (sb_uri_parse(&ruri, m->ruri) != 0)
		return verdict(v, 400, "Bad Request - Malformed Request-URI");
	/* RFC 4475 unkscm, novelsc */
	if (ruri.scheme == SB_URI_OTHER)
		return verdict(v, 416, "Unsupported URI Scheme");
	/* RFC 4475 escruri: headers never belong in a Request-URI (§19.1.5) */
	if (ruri.headers.p)
		return verdict(v, 400, "Bad Request - Headers in Request-URI");

	/* RFC 3261 §10.3 step 2 (via RFC 4475 unksm2): an address of record is a
	 * SIP or SIPS URI */
	if (cfg->role == SB_ROLE_REGISTRAR && m->mid == SB_METHOD_REGISTER) {
		const struct sb_nameaddr *to;
		(void)sb_sip_msg_to(m, &to);
		if (to->uri.scheme != SB_URI_SIP && to->uri.scheme != SB_URI_SIPS)
			return verdict(v, 400, "Bad Request - Address of Record Not SIP");
	}

	/* RFC 3261 §16.3 step 3: Max-Forwards 0 is not forwarded (RFC 4475 zeromf) */
	if (cfg->role == SB_ROLE_PROXY && err == 0 && mf == 0)
		return verdict(v, 483, "Too Many Hops");

	/* RFC 3261 §8.2.2.3 / §16.3 step 6; never 420 to ACK or CANCEL */
	if (m->mid != SB_METHOD_ACK && m->mid != SB_METHOD_CANCEL) {
		collect_unsupported(m, cfg->role == SB_ROLE_PROXY ? SB_HDR_PROXY_REQUIRE : SB_HDR_REQUIRE,
				    cfg, v);
		if (v->nunsupported)
			return verdict(v, 420, "Bad Extension");
	}
	return 0;
}

/* 255.255.255.255, multicast and reserved IPv4 (first octet 224 and up): a
 * proxy never sends a response there (RFC 4475 bcast).  The address checked
 * is where RFC 3261 §18.2.2 would send it: maddr, else received, else the
 * sent-by host. */
static bool is_broadcast(const struct sb_via *via)
{
	struct sb_slice host = via->maddr.p ? via->maddr : via->received.p ? via->received : via->host;
	if (sb_host_classify(host) != SB_HOST_IPV4)
		return false;
	unsigned octet = 0;
	for (size_t i = 0; i < host.l && i < 3 && host.p[i] != '.'; i++)
		octet = octet * 10 + (unsigned)(host.p[i] - '0');
	return octet >= 224;
}

static int validate_response(struct sb_sip_msg *m, const struct sb_sip_validate_cfg *cfg,
			     struct sb_sip_verdict *v)
{
	v->drop = true;
	if (m->defect != SB_DEFECT_NONE)
		return verdict(v, 400, defect_reason(m->defect));
	if (!version_ok(m->version))
		return verdict(v, 505, "Version Not Supported");
	struct sb_via second;
	const char *why = check_core(m, &second);
	if (why)
		return verdict(v, 400, why); /* RFC 4475 scalarlg: CSeq > 2^32-1 */
	/* the second Via is where a proxy would send it (check_core parsed it) */
	if (cfg->role == SB_ROLE_PROXY && second.host.p && is_broadcast(&second))
		return verdict(v, 400, "Response Via Is a Broadcast Address");
	v->drop = false;
	return 0;
}

int sb_sip_validate(struct sb_sip_msg *m, const struct sb_sip_validate_cfg *cfg,
		    struct sb_sip_verdict *v)
{
	/* field by field: memset() of this size is a string instruction whose
	 * start-up costs more than the stores */
	v->code = 0;
	v->reason = NULL;
	v->drop = false;
	for (unsigned k = 0; k < SB_SIP_MAX_UNSUPPORTED; k++)
		v->unsupported[k] = SB_SLICE_NULL;
	v->nunsupported = 0;
	int err = m->is_request ? validate_request(m, cfg, v) : validate_response(m, cfg, v);
	/* RFC 3261 §17.2.3 / §8.2: an ACK is never answered */
	if (err && m->is_request && m->mid == SB_METHOD_ACK)
		v->drop = true;
	return err;
}

void sb_sip_print_unsupported(struct sb_buf *out, const struct sb_sip_verdict *v)
{
	if (v->code != 420 || !v->nunsupported)
		return;
	/* RFC 3261 §8.2.2.3: name what we do not support */
	sb_buf_append_cstr(out, "Unsupported: ");
	for (unsigned k = 0; k < v->nunsupported; k++) {
		if (k)
			sb_buf_append_cstr(out, ", ");
		sb_buf_append_slice(out, v->unsupported[k]);
	}
	sb_buf_append_cstr(out, "\r\n");
}
