/* sip/hdr_names: header field names <-> enum sb_sip_hdr_id, long and compact
 * forms (RFC 3261 §7.3.3 and §20; compact forms of RFC 3515 r, RFC 3892 b,
 * RFC 6665 o/u).  Field names are case-insensitive (RFC 3261 §7.3.1).
 * Lookup is on every header of every message: a switch on the length and the
 * first letter, then one case-insensitive compare a word at a time. */
#include <string.h>

#include "switchboard/sip.h"

struct name_entry {
	const char *name;
	uint8_t len;
	uint8_t id;
};

#define E(s, id) { s, sizeof(s) - 1, id }

/* Canonical names: sb_sip_hdr_name() reads them; sb_sip_hdr_lookup() below is
 * generated from them (keep the two in step; test_msg checks every name). */
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

/* Case-insensitive compare of a header name against a lower-case literal of
 * the same length (2 to 24 bytes), a word at a time: overlapping loads of
 * 2, 4 or 8 bytes cover the name, all inside it.  In x = name ^ literal a
 * byte may differ only in bit 0x20, and only where the name byte is a
 * letter: the literal holds lower-case letters and '-', so the one other
 * byte that differs from it in just that bit is CR against '-', and CR lacks
 * the 0x40 bit every letter has.  n is a constant at each call, so the
 * branches on it fold away. */
static inline bool word_eq(uint64_t a, uint64_t b)
{
	uint64_t x = a ^ b, fold = 0x2020202020202020ull;
	return (x & ~fold) == 0 && (((x & fold) << 1) & ~a) == 0;
}

static inline uint64_t load(const char *p, size_t k)
{
	uint64_t w = 0;
	if (k == 8) {
		memcpy(&w, p, 8);
	} else if (k == 4) {
		uint32_t v;
		memcpy(&v, p, 4);
		w = v;
	} else {
		uint16_t v;
		memcpy(&v, p, 2);
		w = v;
	}
	return w;
}

static inline bool name_eq(const char *p, const char *lit, size_t n)
{
	size_t k = n >= 8 ? 8 : n >= 4 ? 4 : 2;
	if (!word_eq(load(p, k), load(lit, k)) ||
	    !word_eq(load(p + n - k, k), load(lit + n - k, k)))
		return false;
	for (size_t i = k; i + k < n; i += k)
		if (!word_eq(load(p + i, k), load(lit + i, k)))
			return false;
	return true;
}

enum sb_sip_hdr_id sb_sip_hdr_lookup(struct sb_slice name)
{
	const char *p = name.p;
	if (name.l == 1) {
		/* compact forms (RFC 3261 §7.3.3; RFC 3515 r, RFC 3892 b,
		 * RFC 6665 o and u) */
		switch (p[0] | 0x20) {
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
	if (name.l < 2)
		return SB_HDR_OTHER;
	/* generated from table[]: length, then first letter, then the rest */
	switch (name.l) {
	case 2:
		switch (p[0] | 0x20) {
		case 't':
			if (name_eq(p, "to", 2))
				return SB_HDR_TO;
			break;
		default:
			break;
		}
		break;
	case 3:
		switch (p[0] | 0x20) {
		case 'v':
			if (name_eq(p, "via", 3))
				return SB_HDR_VIA;
			break;
		default:
			break;
		}
		break;
	case 4:
		switch (p[0] | 0x20) {
		case 'c':
			if (name_eq(p, "cseq", 4))
				return SB_HDR_CSEQ;
			break;
		case 'd':
			if (name_eq(p, "date", 4))
				return SB_HDR_DATE;
			break;
		case 'f':
			if (name_eq(p, "from", 4))
				return SB_HDR_FROM;
			break;
		default:
			break;
		}
		break;
	case 5:
		switch (p[0] | 0x20) {
		case 'a':
			if (name_eq(p, "allow", 5))
				return SB_HDR_ALLOW;
			break;
		case 'e':
			if (name_eq(p, "event", 5))
				return SB_HDR_EVENT;
			break;
		case 'r':
			if (name_eq(p, "route", 5))
				return SB_HDR_ROUTE;
			break;
		default:
			break;
		}
		break;
	case 6:
		switch (p[0] | 0x20) {
		case 'a':
			if (name_eq(p, "accept", 6))
				return SB_HDR_ACCEPT;
			break;
		case 'r':
			if (name_eq(p, "reason", 6))
				return SB_HDR_REASON;
			break;
		case 's':
			if (name_eq(p, "server", 6))
				return SB_HDR_SERVER;
			break;
		default:
			break;
		}
		break;
	case 7:
		switch (p[0] | 0x20) {
		case 'c':
			if (name_eq(p, "call-id", 7))
				return SB_HDR_CALL_ID;
			if (name_eq(p, "contact", 7))
				return SB_HDR_CONTACT;
			break;
		case 'e':
			if (name_eq(p, "expires", 7))
				return SB_HDR_EXPIRES;
			break;
		case 'r':
			if (name_eq(p, "require", 7))
				return SB_HDR_REQUIRE;
			break;
		case 's':
			if (name_eq(p, "subject", 7))
				return SB_HDR_SUBJECT;
			break;
		case 'w':
			if (name_eq(p, "warning", 7))
				return SB_HDR_WARNING;
			break;
		default:
			break;
		}
		break;
	case 8:
		switch (p[0] | 0x20) {
		case 'r':
			if (name_eq(p, "refer-to", 8))
				return SB_HDR_REFER_TO;
			if (name_eq(p, "replaces", 8))
				return SB_HDR_REPLACES;
			break;
		default:
			break;
		}
		break;
	case 9:
		switch (p[0] | 0x20) {
		case 's':
			if (name_eq(p, "supported", 9))
				return SB_HDR_SUPPORTED;
			break;
		default:
			break;
		}
		break;
	case 10:
		switch (p[0] | 0x20) {
		case 'u':
			if (name_eq(p, "user-agent", 10))
				return SB_HDR_USER_AGENT;
			break;
		default:
			break;
		}
		break;
	case 11:
		switch (p[0] | 0x20) {
		case 'm':
			if (name_eq(p, "min-expires", 11))
				return SB_HDR_MIN_EXPIRES;
			break;
		case 'r':
			if (name_eq(p, "referred-by", 11))
				return SB_HDR_REFERRED_BY;
			if (name_eq(p, "retry-after", 11))
				return SB_HDR_RETRY_AFTER;
			break;
		case 'u':
			if (name_eq(p, "unsupported", 11))
				return SB_HDR_UNSUPPORTED;
			break;
		default:
			break;
		}
		break;
	case 12:
		switch (p[0] | 0x20) {
		case 'a':
			if (name_eq(p, "allow-events", 12))
				return SB_HDR_ALLOW_EVENTS;
			break;
		case 'c':
			if (name_eq(p, "content-type", 12))
				return SB_HDR_CONTENT_TYPE;
			break;
		case 'm':
			if (name_eq(p, "max-forwards", 12))
				return SB_HDR_MAX_FORWARDS;
			break;
		case 'r':
			if (name_eq(p, "record-route", 12))
				return SB_HDR_RECORD_ROUTE;
			break;
		default:
			break;
		}
		break;
	case 13:
		switch (p[0] | 0x20) {
		case 'a':
			if (name_eq(p, "authorization", 13))
				return SB_HDR_AUTHORIZATION;
			break;
		case 'p':
			if (name_eq(p, "proxy-require", 13))
				return SB_HDR_PROXY_REQUIRE;
			break;
		default:
			break;
		}
		break;
	case 14:
		switch (p[0] | 0x20) {
		case 'c':
			if (name_eq(p, "content-length", 14))
				return SB_HDR_CONTENT_LENGTH;
			break;
		default:
			break;
		}
		break;
	case 16:
		switch (p[0] | 0x20) {
		case 'c':
			if (name_eq(p, "content-encoding", 16))
				return SB_HDR_CONTENT_ENCODING;
			break;
		case 'w':
			if (name_eq(p, "www-authenticate", 16))
				return SB_HDR_WWW_AUTHENTICATE;
			break;
		default:
			break;
		}
		break;
	case 18:
		switch (p[0] | 0x20) {
		case 'p':
			if (name_eq(p, "proxy-authenticate", 18))
				return SB_HDR_PROXY_AUTHENTICATE;
			break;
		case 's':
			if (name_eq(p, "subscription-state", 18))
				return SB_HDR_SUBSCRIPTION_STATE;
			break;
		default:
			break;
		}
		break;
	case 19:
		switch (p[0] | 0x20) {
		case 'a':
			if (name_eq(p, "authentication-info", 19))
				return SB_HDR_AUTHENTICATION_INFO;
			break;
		case 'p':
			if (name_eq(p, "proxy-authorization", 19))
				return SB_HDR_PROXY_AUTHORIZATION;
			break;
		default:
			break;
		}
		break;
	default:
		break;
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
