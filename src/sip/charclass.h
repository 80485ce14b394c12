/* sip/charclass: one table of RFC 3261 §25.1 character classes, so the
 * scanners test a byte with one load instead of a chain of comparisons.
 * Private to src/sip/. */
#ifndef SB_SIP_CHARCLASS_H
#define SB_SIP_CHARCLASS_H

#include <stdbool.h>
#include <stdint.h>

enum {
	SB_CC_TOKEN = 1u << 0, /* token: alphanum / "-" "." "!" "%" "*" "_" "+" "`" "'" "~" */
	SB_CC_DIGIT = 1u << 1,
	SB_CC_ALPHA = 1u << 2,
	SB_CC_HEX = 1u << 3,
	SB_CC_WS = 1u << 4,    /* SP, HTAB */
	SB_CC_LWS = 1u << 5,   /* SP, HTAB, CR, LF */
};

extern const uint8_t sb_sip_cc[256];

static inline bool sb_cc(unsigned char c, unsigned cls)
{
	return (sb_sip_cc[c] & cls) != 0;
}

#endif
