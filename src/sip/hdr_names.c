/* sip/hdr_names: header field names <-> enum sb_sip_hdr_id, long and compact
 * forms (RFC 3261 §7.3.3 and §20; compact forms of RFC 3515 r, RFC 3892 b,
 * RFC 6665 o/u).  Field names are case-insensitive (RFC 3261 §7.3.1).
 * Lookup is on every header of every message: a hash of the length and the
 * first and last letters picks the one candidate, then one case-insensitive
 * compare a word at a time. */
#include <string.h>

#include "switchboard/sip.h"

struct name_entry {
	const char *name;
	uint8_t len;
	uint8_t id;
};

#define E(s, id) { s, sizeof(s) - 1, id }

/* Canonical names: sb_sip_hdr_name() reads them; the slots sb_sip_hdr_lookup()
 * uses below are generated from them (keep the two in step; test_msg checks
 * every name). */
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
 * the 0x40 bit every letter has. */
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

/* The long names (2 to LONGEST bytes) by a hash of the length and the first
 * and last letters: no two collide in 128 slots, so one compare settles a
 * lookup.  "& 31" gives a letter's place in the alphabet whatever its case.
 * The slots are generated from table[], lower-cased (test_msg looks every
 * canonical name up, so a slot missing or misplaced fails it). */
#define LONGEST 19
#define HASH_SLOTS 128

static inline unsigned name_hash(const char *p, size_t n)
{
	return ((unsigned)n * 3 + ((unsigned char)p[0] & 31u) * 7 +
		((unsigned char)p[n - 1] & 31u) * 5) & (HASH_SLOTS - 1);
}

static const struct name_entry by_hash[HASH_SLOTS] = {
	[9] = { "allow", 5, SB_HDR_ALLOW },
	[10] = { "allow-events", 12, SB_HDR_ALLOW_EVENTS },
	[11] = { "authentication-info", 19, SB_HDR_AUTHENTICATION_INFO },
	[14] = { "contact", 7, SB_HDR_CONTACT },
	[21] = { "user-agent", 10, SB_HDR_USER_AGENT },
	[22] = { "event", 5, SB_HDR_EVENT },
	[23] = { "expires", 7, SB_HDR_EXPIRES },
	[28] = { "referred-by", 11, SB_HDR_REFERRED_BY },
	[38] = { "route", 5, SB_HDR_ROUTE },
	[40] = { "via", 3, SB_HDR_VIA },
	[44] = { "require", 7, SB_HDR_REQUIRE },
	[48] = { "proxy-require", 13, SB_HDR_PROXY_REQUIRE },
	[52] = { "supported", 9, SB_HDR_SUPPORTED },
	[59] = { "record-route", 12, SB_HDR_RECORD_ROUTE },
	[62] = { "call-id", 7, SB_HDR_CALL_ID },
	[63] = { "proxy-authenticate", 18, SB_HDR_PROXY_AUTHENTICATE },
	[65] = { "date", 4, SB_HDR_DATE },
	[72] = { "unsupported", 11, SB_HDR_UNSUPPORTED },
	[82] = { "content-type", 12, SB_HDR_CONTENT_TYPE },
	[84] = { "subscription-state", 18, SB_HDR_SUBSCRIPTION_STATE },
	[86] = { "reason", 6, SB_HDR_REASON },
	[89] = { "warning", 7, SB_HDR_WARNING },
	[91] = { "min-expires", 11, SB_HDR_MIN_EXPIRES },
	[93] = { "to", 2, SB_HDR_TO },
	[94] = { "max-forwards", 12, SB_HDR_MAX_FORWARDS },
	[97] = { "refer-to", 8, SB_HDR_REFER_TO },
	[103] = { "content-length", 14, SB_HDR_CONTENT_LENGTH },
	[104] = { "content-encoding", 16, SB_HDR_CONTENT_ENCODING },
	[106] = { "www-authenticate", 16, SB_HDR_WWW_AUTHENTICATE },
	[111] = { "proxy-authorization", 19, SB_HDR_PROXY_AUTHORIZATION },
	[113] = { "server", 6, SB_HDR_SERVER },
	[116] = { "authorization", 13, SB_HDR_AUTHORIZATION },
	[117] = { "replaces", 8, SB_HDR_REPLACES },
	[118] = { "cseq", 4, SB_HDR_CSEQ },
	[119] = { "from", 4, SB_HDR_FROM },
	[121] = { "retry-after", 11, SB_HDR_RETRY_AFTER },
	[125] = { "accept", 6, SB_HDR_ACCEPT },
	[126] = { "subject", 7, SB_HDR_SUBJECT },
};

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
	if (name.l < 2 || name.l > LONGEST)
		return SB_HDR_OTHER;
	const struct name_entry *e = &by_hash[name_hash(p, name.l)];
	if (e->len == name.l && name_eq(p, e->name, name.l))
		return (enum sb_sip_hdr_id)e->id;
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
