/* sip/charclass: the table behind sb_cc() (see charclass.h). */
#include "charclass.h"

#define T SB_CC_TOKEN
#define D SB_CC_DIGIT
#define A SB_CC_ALPHA
#define H SB_CC_HEX
#define W SB_CC_WS
#define L SB_CC_LWS

const uint8_t sb_sip_cc[256] = {
	0, 0, 0, 0, 0, 0, 0, 0,
	0, W|L, L, 0, 0, L, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0,
	W|L, T, 0, 0, 0, T, 0, T,
	0, 0, T, T, 0, T, T, 0,
	T|D|H, T|D|H, T|D|H, T|D|H, T|D|H, T|D|H, T|D|H, T|D|H,
	T|D|H, T|D|H, 0, 0, 0, 0, 0, 0,
	0, T|A|H, T|A|H, T|A|H, T|A|H, T|A|H, T|A|H, T|A,
	T|A, T|A, T|A, T|A, T|A, T|A, T|A, T|A,
	T|A, T|A, T|A, T|A, T|A, T|A, T|A, T|A,
	T|A, T|A, T|A, 0, 0, 0, 0, T,
	T, T|A|H, T|A|H, T|A|H, T|A|H, T|A|H, T|A|H, T|A,
	T|A, T|A, T|A, T|A, T|A, T|A, T|A, T|A,
	T|A, T|A, T|A, T|A, T|A, T|A, T|A, T|A,
	T|A, T|A, T|A, 0, 0, 0, T, 0,
	0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0,
};
