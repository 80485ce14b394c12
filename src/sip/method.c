/* sip/method: method names <-> enum sb_sip_method.  RFC 3261 §7.1: methods
 * are case-sensitive, so "invite" or "RE%47ISTER" (RFC 4475 esc02) are
 * extension methods, not INVITE or REGISTER. */
#include <string.h>

#include "switchboard/sip.h"

static const char *const names[] = {
	[SB_METHOD_OTHER] = "",
	[SB_METHOD_INVITE] = "INVITE",
	[SB_METHOD_ACK] = "ACK",
	[SB_METHOD_BYE] = "BYE",
	[SB_METHOD_CANCEL] = "CANCEL",
	[SB_METHOD_REGISTER] = "REGISTER",
	[SB_METHOD_OPTIONS] = "OPTIONS",
	[SB_METHOD_INFO] = "INFO",
	[SB_METHOD_PRACK] = "PRACK",
	[SB_METHOD_SUBSCRIBE] = "SUBSCRIBE",
	[SB_METHOD_NOTIFY] = "NOTIFY",
	[SB_METHOD_UPDATE] = "UPDATE",
	[SB_METHOD_MESSAGE] = "MESSAGE",
	[SB_METHOD_REFER] = "REFER",
	[SB_METHOD_PUBLISH] = "PUBLISH",
};

static enum sb_sip_method match(struct sb_slice s, enum sb_sip_method m)
{
	size_t n = strlen(names[m]);
	return (s.l == n && memcmp(s.p, names[m], n) == 0) ? m : SB_METHOD_OTHER;
}

enum sb_sip_method sb_sip_method_from(struct sb_slice s)
{
	if (s.l < 3)
		return SB_METHOD_OTHER;
	/* dispatch on the first byte: one memcmp for the common methods */
	switch (s.p[0]) {
	case 'I':
		return s.l == 6 ? match(s, SB_METHOD_INVITE) : match(s, SB_METHOD_INFO);
	case 'A':
		return match(s, SB_METHOD_ACK);
	case 'B':
		return match(s, SB_METHOD_BYE);
	case 'C':
		return match(s, SB_METHOD_CANCEL);
	case 'R':
		return s.l == 8 ? match(s, SB_METHOD_REGISTER) : match(s, SB_METHOD_REFER);
	case 'O':
		return match(s, SB_METHOD_OPTIONS);
	case 'P':
		return s.l == 5 ? match(s, SB_METHOD_PRACK) : match(s, SB_METHOD_PUBLISH);
	case 'S':
		return match(s, SB_METHOD_SUBSCRIBE);
	case 'N':
		return match(s, SB_METHOD_NOTIFY);
	case 'U':
		return match(s, SB_METHOD_UPDATE);
	case 'M':
		return match(s, SB_METHOD_MESSAGE);
	default:
		return SB_METHOD_OTHER;
	}
}

const char *sb_sip_method_name(enum sb_sip_method m)
{
	if ((unsigned)m >= SB_ARRAY_LEN(names))
		return "";
	return names[m];
}
