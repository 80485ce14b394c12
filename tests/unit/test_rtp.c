/* Unit tests for media/rtp, media/rtcp and media/dtmf: RTP header build
 * and parse, every malformed-packet error (on exact-size heap copies, so
 * ASan sees any read past the end), the RFC 3550 A.1/A.3/A.8 receiver
 * state across the 65535 wrap, RTCP compound packets both ways, and
 * RFC 4733 telephone-events: the packets one digit sends and the receiver
 * collapsing them to one report. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "switchboard/media.h"
#include "testutil.h"

/* Parse bytes from an exact-size heap copy; the copy is freed after, so
 * only length and scalar fields may be checked by the caller. */
static int parse_exact(const uint8_t *b, size_t n, struct sb_rtp_pkt *p)
{
	char *c = dup_exact((const char *)b, n);
	int err = sb_rtp_parse(p, c, n);

	free(c);
	return err;
}

static const uint8_t hdr12[12] = {
	0x80, 0x00, 0x12, 0x34, 0x00, 0x00, 0x00, 0xA0, 0xDE, 0xAD, 0xBE, 0xEF,
};

static void test_build_parse(void **state)
{
	uint8_t payload[160], buf[300];
	struct sb_rtp_pkt p, q;
	size_t len;
	char *c;

	(void)state;
	memset(payload, 0xD5, sizeof payload);
	memset(&p, 0, sizeof p);
	p.marker = true;
	p.pt = 8;
	p.seq = 65535;
	p.ts = 0xFFFFFF60u;
	p.ssrc = 0x01020304u;
	p.cc = 3; /* ignored on send: we never send CSRCs */
	p.payload = payload;
	p.payload_len = sizeof payload;
	assert_int_equal(sb_rtp_build(buf, sizeof buf, &len, &p), 0);
	assert_int_equal(len, 172);
	assert_int_equal(buf[0], 0x80); /* V=2, P=0, X=0, CC=0 */
	assert_int_equal(buf[1], 0x88); /* M=1, PT=8 */
	c = dup_exact((const char *)buf, len);
	assert_int_equal(sb_rtp_parse(&q, c, len), 0);
	assert_true(q.marker);
	assert_int_equal(q.pt, 8);
	assert_int_equal(q.seq, 65535);
	assert_int_equal(q.ts, 0xFFFFFF60u);
	assert_int_equal(q.ssrc, 0x01020304u);
	assert_int_equal(q.cc, 0);
	assert_false(q.has_ext);
	assert_int_equal(q.payload_len, 160);
	assert_ptr_equal(q.payload, (const uint8_t *)c + 12);
	free(c);

	assert_int_equal(sb_rtp_build(buf, 171, &len, &p), ENOSPC);
	assert_int_equal(sb_rtp_build(buf, 11, &len, &p), ENOSPC);
	p.pt = 128;
	assert_int_equal(sb_rtp_build(buf, sizeof buf, &len, &p), EINVAL);
}

static void test_parse_short_and_version(void **state)
{
	struct sb_rtp_pkt p;
	uint8_t b[12];
	size_t n;

	(void)state;
	/* every length below the fixed header */
	for (n = 0; n < 12; n++)
		assert_int_equal(parse_exact(hdr12, n, &p), EBADMSG);
	assert_int_equal(sb_rtp_parse(&p, NULL, 0), EBADMSG);
	/* exactly the header: an empty payload is fine */
	assert_int_equal(parse_exact(hdr12, 12, &p), 0);
	assert_int_equal(p.payload_len, 0);
	assert_int_equal(p.seq, 0x1234);
	assert_int_equal(p.ts, 160);
	assert_int_equal(p.ssrc, 0xDEADBEEFu);
	/* versions 0, 1, 3 */
	memcpy(b, hdr12, 12);
	b[0] = 0x00;
	assert_int_equal(parse_exact(b, 12, &p), EPROTONOSUPPORT);
	b[0] = 0x40;
	assert_int_equal(parse_exact(b, 12, &p), EPROTONOSUPPORT);
	b[0] = 0xC0;
	assert_int_equal(parse_exact(b, 12, &p), EPROTONOSUPPORT);
}

static void test_parse_csrc(void **state)
{
	uint8_t b[12 + 8 + 3];
	struct sb_rtp_pkt p;

	(void)state;
	memcpy(b, hdr12, 12);
	b[0] = 0x82; /* CC = 2 */
	memset(b + 12, 0, sizeof b - 12);
	b[15] = 7;
	b[19] = 9;
	/* the list cut short: 0..7 of its 8 bytes */
	for (size_t n = 12; n < 20; n++)
		assert_int_equal(parse_exact(b, n, &p), EBADMSG);
	assert_int_equal(parse_exact(b, 20, &p), 0);
	assert_int_equal(p.cc, 2);
	assert_int_equal(p.csrc[0], 7);
	assert_int_equal(p.csrc[1], 9);
	assert_int_equal(p.payload_len, 0);
	assert_int_equal(parse_exact(b, sizeof b, &p), 0);
	assert_int_equal(p.payload_len, 3);
	/* CC = 15 and nothing after the header */
	b[0] = 0x8F;
	assert_int_equal(parse_exact(b, sizeof b, &p), EBADMSG);
}

static void test_parse_extension(void **state)
{
	/* header, CSRC x1, extension header (profile 0xBEDE, 2 words),
	 * 8 bytes of extension, 2 bytes of payload */
	uint8_t b[12 + 4 + 4 + 8 + 2];
	struct sb_rtp_pkt p;
	size_t n;

	(void)state;
	memcpy(b, hdr12, 12);
	b[0] = 0x91; /* X = 1, CC = 1 */
	memset(b + 12, 0, sizeof b - 12);
	b[16] = 0xBE;
	b[17] = 0xDE;
	b[18] = 0x00;
	b[19] = 0x02;
	b[28] = 0xAA;
	b[29] = 0xBB;
	/* the extension header or its data cut short */
	for (n = 16; n < 28; n++)
		assert_int_equal(parse_exact(b, n, &p), EBADMSG);
	assert_int_equal(parse_exact(b, 28, &p), 0);
	assert_int_equal(p.payload_len, 0);
	assert_int_equal(parse_exact(b, sizeof b, &p), 0);
	assert_true(p.has_ext);
	assert_int_equal(p.ext_profile, 0xBEDE);
	assert_int_equal(p.ext_len, 8);
	assert_int_equal(p.payload_len, 2);
	/* a length of 0xFFFF words */
	b[18] = 0xFF;
	b[19] = 0xFF;
	assert_int_equal(parse_exact(b, sizeof b, &p), EBADMSG);
}

static void test_parse_padding(void **state)
{
	uint8_t b[12 + 6];
	struct sb_rtp_pkt p;

	(void)state;
	memcpy(b, hdr12, 12);
	b[0] = 0xA0; /* P = 1 */
	memset(b + 12, 0x11, 6);
	b[17] = 2; /* 4 bytes of payload, 2 of padding */
	assert_int_equal(parse_exact(b, sizeof b, &p), 0);
	assert_int_equal(p.pad_len, 2);
	assert_int_equal(p.payload_len, 4);
	b[17] = 6; /* everything after the header is padding */
	assert_int_equal(parse_exact(b, sizeof b, &p), 0);
	assert_int_equal(p.payload_len, 0);
	b[17] = 7; /* more padding than there is */
	assert_int_equal(parse_exact(b, sizeof b, &p), EBADMSG);
	b[17] = 0; /* a count of zero cannot include itself */
	assert_int_equal(parse_exact(b, sizeof b, &p), EBADMSG);
	b[17] = 255;
	assert_int_equal(parse_exact(b, sizeof b, &p), EBADMSG);
	/* padding with no room at all after a CSRC */
	b[0] = 0xA1;
	b[17] = 3;
	assert_int_equal(parse_exact(b, 16, &p), EBADMSG); /* pad byte b[15] = 0x11 */
	/* P set on a bare header: the count is the header's last byte */
	b[0] = 0xA0;
	assert_int_equal(parse_exact(b, 12, &p), EBADMSG);
}

/* ---- RFC 3550 A.1 / A.3 / A.8 ---- */

static void test_source_seq(void **state)
{
	struct sb_rtp_source s;
	uint16_t seq = 65530;
	int i;

	(void)state;
	sb_rtp_source_init(&s, seq);
	assert_false(sb_rtp_source_update(&s, seq)); /* probation */
	for (i = 1; i < 12; i++)
		assert_true(sb_rtp_source_update(&s, (uint16_t)(seq + i)));
	/* wrapped: 65531..65535, 0..5 */
	assert_int_equal(sb_rtp_source_ext_max(&s), 65536u + 5);
	assert_int_equal(sb_rtp_source_lost(&s), 0);
	/* skip 6 and 7 */
	assert_true(sb_rtp_source_update(&s, 8));
	assert_int_equal(sb_rtp_source_lost(&s), 2);
	/* fraction: 2 lost of 14 expected -> 2*256/14 = 36 */
	assert_int_equal(sb_rtp_source_fraction(&s), 36);
	assert_int_equal(sb_rtp_source_fraction(&s), 0);
	/* 7 arrives late: counted, loss goes down */
	assert_true(sb_rtp_source_update(&s, 7));
	assert_int_equal(sb_rtp_source_lost(&s), 1);
	/* a wild jump is ignored once, believed when the next follows it */
	assert_false(sb_rtp_source_update(&s, 30000));
	assert_int_equal(sb_rtp_source_ext_max(&s), 65536u + 8);
	assert_true(sb_rtp_source_update(&s, 30001));
	assert_int_equal(sb_rtp_source_ext_max(&s), 30001);
	assert_int_equal(sb_rtp_source_lost(&s), 0);
}

static void test_source_jitter(void **state)
{
	struct sb_rtp_source s;
	uint32_t ts = 1000, arr = 50000;
	int i;

	(void)state;
	sb_rtp_source_init(&s, 1);
	/* constant transit: no jitter */
	for (i = 0; i < 50; i++, ts += 160, arr += 160)
		sb_rtp_source_jitter(&s, arr, ts);
	assert_int_equal(sb_rtp_source_jitter_ts(&s), 0);
	/* transit alternating by 80 units: |D| = 80 each time, J -> 80 */
	for (i = 0; i < 400; i++, ts += 160, arr += 160)
		sb_rtp_source_jitter(&s, arr + (i % 2 ? 80 : 0), ts);
	assert_in_range(sb_rtp_source_jitter_ts(&s), 76, 80);
}

/* ---- RTCP ---- */

static void test_rtcp_sr(void **state)
{
	struct sb_rtcp_report r;
	struct sb_rtcp_info info;
	uint8_t buf[SB_RTCP_MAX_PACKET];
	size_t len;
	char *c;

	(void)state;
	memset(&r, 0, sizeof r);
	r.ssrc = 0x11223344u;
	r.sender = true;
	r.ntp = 0xAABBCCDD11223344ull;
	r.rtp_ts = 12345;
	r.packets = 50;
	r.octets = 8000;
	r.has_block = true;
	r.block.ssrc = 0x55667788u;
	r.block.lost = -3;
	r.block.fraction = 10;
	r.cname = "abc";
	r.bye = true;
	assert_int_equal(sb_rtcp_build(buf, sizeof buf, &len, &r), 0);
	/* SR 28 + block 24, SDES 4+4+(2+3+1 -> 8), BYE 8 */
	assert_int_equal(len, 52 + 16 + 8);
	assert_int_equal(buf[0], 0x81); /* V=2, RC=1 */
	assert_int_equal(buf[1], 200);
	assert_int_equal(buf[3], 52 / 4 - 1);
	/* cumulative lost -3 as 24-bit two's complement */
	assert_int_equal(buf[33], 0xFF);
	assert_int_equal(buf[35], 0xFD);
	assert_int_equal(buf[52 + 1], 202);
	assert_int_equal(buf[52 + 8], 1); /* CNAME */
	assert_int_equal(buf[52 + 9], 3);
	assert_memory_equal(buf + 52 + 10, "abc", 3);
	assert_int_equal(buf[68 + 1], 203);

	c = dup_exact((const char *)buf, len);
	assert_int_equal(sb_rtcp_parse(&info, c, len), 0);
	assert_int_equal(info.sr, 1);
	assert_int_equal(info.rr, 0);
	assert_int_equal(info.sdes, 1);
	assert_int_equal(info.bye, 1);
	assert_int_equal(info.sr_ssrc, 0x11223344u);
	assert_int_equal(info.sr_ntp_mid, 0xCCDD1122u);
	assert_int_equal(info.bye_ssrc, 0x11223344u);
	/* not a whole number of words; cut inside a packet */
	assert_int_equal(sb_rtcp_parse(&info, c, len - 1), EBADMSG);
	assert_int_equal(sb_rtcp_parse(&info, c, len - 4), EBADMSG);
	free(c);

	/* padding on a packet that is not the last */
	buf[52] |= 0x20;
	assert_int_equal(sb_rtcp_parse(&info, buf, len), EBADMSG);
	buf[52] &= (uint8_t)~0x20;
	/* the first packet must be SR or RR */
	assert_int_equal(sb_rtcp_parse(&info, buf + 52, len - 52), EBADMSG);
	/* a second version */
	buf[68] = 0x41;
	assert_int_equal(sb_rtcp_parse(&info, buf, len), EBADMSG);

	/* RR without block, no BYE */
	r.sender = false;
	r.has_block = false;
	r.bye = false;
	assert_int_equal(sb_rtcp_build(buf, sizeof buf, &len, &r), 0);
	assert_int_equal(len, 8 + 16);
	assert_int_equal(buf[1], 201);
	assert_int_equal(sb_rtcp_parse(&info, buf, len), 0);
	assert_int_equal(info.rr, 1);
	assert_int_equal(info.sr, 0);
	/* an RR whose count claims a block it does not have */
	buf[0] = 0x81;
	buf[3] = 1;
	assert_int_equal(sb_rtcp_parse(&info, buf, 8), EBADMSG);

	/* CNAME bounds, buffer bounds */
	r.cname = "";
	assert_int_equal(sb_rtcp_build(buf, sizeof buf, &len, &r), EINVAL);
	r.cname = "abc";
	assert_int_equal(sb_rtcp_build(buf, 20, &len, &r), ENOSPC);
}

/* ---- RFC 4733 ---- */

static void test_dtmf_codes(void **state)
{
	struct sb_dtmf_event ev = { .event = 11, .end = true, .volume = 10, .duration = 800 };
	uint8_t p[4];

	(void)state;
	assert_int_equal(sb_dtmf_code('0'), 0);
	assert_int_equal(sb_dtmf_code('9'), 9);
	assert_int_equal(sb_dtmf_code('*'), 10);
	assert_int_equal(sb_dtmf_code('#'), 11);
	assert_int_equal(sb_dtmf_code('a'), 12);
	assert_int_equal(sb_dtmf_code('D'), 15);
	assert_int_equal(sb_dtmf_code('!'), 16);
	assert_int_equal(sb_dtmf_code('x'), -1);
	assert_int_equal(sb_dtmf_digit(11), '#');
	assert_int_equal(sb_dtmf_digit(17), 0);
	sb_dtmf_write(p, &ev);
	assert_int_equal(p[0], 11);
	assert_int_equal(p[1], 0x8A);
	assert_int_equal(p[2], 0x03);
	assert_int_equal(p[3], 0x20);
	memset(&ev, 0, sizeof ev);
	assert_int_equal(sb_dtmf_parse(&ev, p, 4), 0);
	assert_int_equal(ev.event, 11);
	assert_true(ev.end);
	assert_int_equal(ev.volume, 10);
	assert_int_equal(ev.duration, 800);
	assert_int_equal(sb_dtmf_parse(&ev, p, 3), EBADMSG);
}

static void test_dtmf_tx(void **state)
{
	struct sb_dtmf_tx tx;
	struct sb_dtmf_tick t;
	struct sb_dtmf_event ev;
	uint32_t ts = 1000;
	unsigned i, sent = 0;

	(void)state;
	sb_dtmf_tx_init(&tx);
	assert_false(sb_dtmf_tx_busy(&tx));
	sb_dtmf_tx_tick(&tx, ts, &t);
	assert_false(t.send);
	assert_false(t.mute);
	assert_int_equal(sb_dtmf_tx_queue(&tx, "1x"), EINVAL);
	assert_false(sb_dtmf_tx_busy(&tx));
	assert_int_equal(sb_dtmf_tx_queue(&tx, "5"), 0);
	/* 4 updates, 3 end packets, then the gap */
	for (i = 0; i < SB_DTMF_TONE_FRAMES - 1 + SB_DTMF_END_REPEATS; i++, ts += 160) {
		sb_dtmf_tx_tick(&tx, ts, &t);
		assert_true(t.send);
		assert_true(t.mute);
		assert_int_equal(t.marker, i == 0);
		assert_int_equal(t.ts, 1000); /* the event's start, always */
		assert_int_equal(sb_dtmf_parse(&ev, t.payload, 4), 0);
		assert_int_equal(ev.event, 5);
		if (i < SB_DTMF_TONE_FRAMES - 1) {
			assert_false(ev.end);
			assert_int_equal(ev.duration, (i + 1) * 160);
		} else {
			assert_true(ev.end);
			assert_int_equal(ev.duration, SB_DTMF_TONE_FRAMES * 160);
		}
		sent++;
	}
	assert_int_equal(sent, 7);
	for (i = 0; i < SB_DTMF_GAP_FRAMES; i++, ts += 160) {
		assert_true(sb_dtmf_tx_busy(&tx));
		sb_dtmf_tx_tick(&tx, ts, &t);
		assert_false(t.send);
		assert_false(t.mute);
	}
	assert_false(sb_dtmf_tx_busy(&tx));
	/* the queue bound */
	char many[SB_DTMF_QUEUE + 2];
	memset(many, '1', sizeof many - 1);
	many[sizeof many - 1] = '\0';
	assert_int_equal(sb_dtmf_tx_queue(&tx, many), ENOSPC);
	many[SB_DTMF_QUEUE] = '\0';
	assert_int_equal(sb_dtmf_tx_queue(&tx, many), 0);
	assert_int_equal(sb_dtmf_tx_queue(&tx, "1"), ENOSPC);
}

static void test_dtmf_rx(void **state)
{
	struct sb_dtmf_rx rx;
	struct sb_dtmf_event ev = { .event = 1 };

	(void)state;
	sb_dtmf_rx_init(&rx);
	assert_int_equal(sb_dtmf_rx_packet(&rx, 7, 1000, &ev), '1');
	ev.duration = 320;
	assert_int_equal(sb_dtmf_rx_packet(&rx, 7, 1000, &ev), 0);
	ev.end = true;
	assert_int_equal(sb_dtmf_rx_packet(&rx, 7, 1000, &ev), 0);
	assert_int_equal(sb_dtmf_rx_packet(&rx, 7, 1000, &ev), 0);
	/* the next event; its marker packet lost, an update seen first */
	ev.event = 11;
	ev.end = false;
	assert_int_equal(sb_dtmf_rx_packet(&rx, 7, 2600, &ev), '#');
	/* a straggler of the old event */
	ev.event = 1;
	assert_int_equal(sb_dtmf_rx_packet(&rx, 7, 1000, &ev), 0);
	/* same digit again, a new event */
	assert_int_equal(sb_dtmf_rx_packet(&rx, 7, 4200, &ev), '1');
	/* not a DTMF event (e.g. 32, ANS) */
	ev.event = 32;
	assert_int_equal(sb_dtmf_rx_packet(&rx, 7, 5800, &ev), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_parse),
		cmocka_unit_test(test_parse_short_and_version),
		cmocka_unit_test(test_parse_csrc),
		cmocka_unit_test(test_parse_extension),
		cmocka_unit_test(test_parse_padding),
		cmocka_unit_test(test_source_seq),
		cmocka_unit_test(test_source_jitter),
		cmocka_unit_test(test_rtcp_sr),
		cmocka_unit_test(test_dtmf_codes),
		cmocka_unit_test(test_dtmf_tx),
		cmocka_unit_test(test_dtmf_rx),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
