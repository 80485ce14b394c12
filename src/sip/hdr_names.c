/* sip/hdr_names: header field names <-> enum sb_sip_hdr_id, long and compact
 * forms (RFC 3261 §7.3.3 and §20; compact forms of RFC 3515 r, RFC 3892 b,
 * RFC 6665 o/u).  Field names are case-insensitive (RFC 3261 §7.3.1).
 * Lookup is on every header of every message: dispatch on the length and
 * first letter, then one case-insensitive compare. */
#include <string.h>

#include "switchboard/sip.h"

struct name_entry {
	const char *name;
	uint8_t len;
	uint8_t id;
};

#define E(s, id) { s, sizeof(s) - 1, id }

/* Long names, sorted by length; by_len[n]..by_len[n+1] are those of length n
 * (generated: keep the order when adding a name). */
static const struct name_entry table[] = {
	E("To", SB_HDR_TO),
	E("Via", SB_HDR_VIA),
	E("From", SB_HDR_FROM),
	E("CSeq", SB_HDR_CSEQ),
	E("Date", SB_HDR_DATE),
	E("Route", SB_HDR_ROUTE),
	E("Allow", SB_HDR_ALLOW),
	E("Event", SB_HDR_EVENT),
	E("Accept", SB_HDR_ACCEPT),
	E("Reason", SB_HDR_REASON),
	E("Server", SB_HDR_SERVER),
	E("Call-ID", SB_HDR_CALL_ID),
	E("Contact", SB_HDR_CONTACT),
	E("Expires", SB_HDR_EXPIRES),
	E("Require", SB_HDR_REQUIRE),
	E("Warning", SB_HDR_WARNING),
	E("Subject", SB_HDR_SUBJECT),
	E("Refer-To", SB_HDR_REFER_TO),
	E("Replaces", SB_HDR_REPLACES),
	E("Supported", SB_HDR_SUPPORTED),
	E("User-Agent", SB_HDR_USER_AGENT),
	E("Min-Expires", SB_HDR_MIN_EXPIRES),
	E("Unsupported", SB_HDR_UNSUPPORTED),
	E("Referred-By", SB_HDR_REFERRED_BY),
	E("Retry-After", SB_HDR_RETRY_AFTER),
	E("Max-Forwards", SB_HDR_MAX_FORWARDS),
	E("Record-Route", SB_HDR_RECORD_ROUTE),
	E("Content-Type", SB_HDR_CONTENT_TYPE),
	E("Allow-Events", SB_HDR_ALLOW_EVENTS),
	E("Proxy-Require", SB_HDR_PROXY_REQUIRE),
	E("Authorization", SB_HDR_AUTHORIZATION),
	E("Content-Length", SB_HDR_CONTENT_LENGTH),
	E("Content-Encoding", SB_HDR_CONTENT_ENCODING),
	E("WWW-Authenticate", SB_HDR_WWW_AUTHENTICATE),
	E("Proxy-Authenticate", SB_HDR_PROXY_AUTHENTICATE),
	E("Subscription-State", SB_HDR_SUBSCRIPTION_STATE),
	E("Proxy-Authorization", SB_HDR_PROXY_AUTHORIZATION),
	E("Authentication-Info", SB_HDR_AUTHENTICATION_INFO),
};

static const uint8_t by_len[] = {0, 0, 0, 1, 2, 5, 8, 11, 17, 19, 20, 21, 25, 29, 31, 32, 32, 34, 34, 36, 38};

static inline unsigned char lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c | 0x20) : c;
}

static bool caseeq_n(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
			return false;
	return true;
}

enum sb_sip_hdr_id sb_sip_hdr_lookup(struct sb_slice name)
{
	if (name.l == 1) {
		/* compact forms (RFC 3261 §7.3.3) */
		switch (lower((unsigned char)name.p[0])) {
		case 'v': return SB_HDR_VIA;
		case 'f': return SB_HDR_FROM;
		case 't': return SB_HDR_TO;
		case 'i': return SB_HDR_CALL_ID;
		case 'm': return SB_HDR_CONTACT;
		case 'c': return SB_HDR_CONTENT_TYPE;
		case 'l': return SB_HDR_CONTENT_LENGTH;
		case 'e': return SB_HDR_CONTENT_ENCODING;
		case 'k': return SB_HDR_SUPPORTED;
		case 's': return SB_HDR_SUBJECT;
		case 'r': return SB_HDR_REFER_TO;
		case 'b': return SB_HDR_REFERRED_BY;
		case 'o': return SB_HDR_EVENT;
		case 'u': return SB_HDR_ALLOW_EVENTS;
		default: return SB_HDR_OTHER;
		}
	}
	if (name.l == 0 || name.l >= SB_ARRAY_LEN(by_len) - 1)
		return SB_HDR_OTHER;
	unsigned char c0 = lower((unsigned char)name.p[0]);
	for (unsigned i = by_len[name.l]; i < by_len[name.l + 1]; i++) {
		const struct name_entry *e = &table[i];
		if (lower((unsigned char)e->name[0]) == c0 && caseeq_n(e->name, name.p, name.l))
			return (enum sb_sip_hdr_id)e->id;
	}
	return SB_HDR_OTHER;
}

const char *sb_sip_hdr_name(enum sb_sip_hdr_id id)
{
	if (id == SB_HDR_OTHER)
		return "";
	for (size_t i = 0; i < SB_ARRAY_LEN(table); i++)
		if (table[i].id == id)
			return table[i].name;
	return "";
}
