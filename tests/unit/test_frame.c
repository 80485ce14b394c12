/* Unit tests for the stream framer (sip/frame): several messages in one
 * read, one message split across reads at every byte, CRLF keep-alives
 * (RFC 5626 §3.5.1), "need more bytes" versus "malformed", and the bound. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "switchboard/sip.h"

#define MSG1 "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nl: 5\r\n\r\nhello"
#define MSG2 "SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n"

static int frame(const char *s, size_t len, struct sb_sip_frame *f)
{
	return sb_sip_frame(s, len, SB_SIP_MAX_MSG_SIZE, f);
}

static void t_several_in_one_read(void **state)
{
	const char *s = MSG1 "\r\n\r\n" MSG2 "\r\n" MSG1;
	size_t len = strlen(s), off = 0;
	struct sb_sip_frame f;
	enum sb_sip_frame_kind want[] = { SB_FRAME_MESSAGE, SB_FRAME_PING, SB_FRAME_MESSAGE,
					  SB_FRAME_PONG, SB_FRAME_MESSAGE };
	size_t want_len[] = { strlen(MSG1), 4, strlen(MSG2), 2, strlen(MSG1) };
	for (unsigned i = 0; i < 5; i++) {
		assert_int_equal(frame(s + off, len - off, &f), 0);
		assert_int_equal(f.kind, want[i]);
		assert_int_equal(f.len, want_len[i]);
		off += f.len;
	}
	assert_int_equal(off, len);
	assert_int_equal(frame(s + off, 0, &f), ENODATA);
}

static void t_split_at_every_byte(void **state)
{
	const char *s = MSG1;
	size_t len = strlen(s);
	struct sb_sip_frame f;
	/* every proper prefix needs more bytes; heap copies so ASan sees overreads */
	for (size_t cut = 1; cut < len; cut++) {
		char *part = malloc(cut);
		assert_non_null(part);
		memcpy(part, s, cut);
		if (frame(part, cut, &f) != ENODATA)
			fail_msg("prefix of %zu bytes did not ask for more", cut);
		free(part);
	}
	assert_int_equal(frame(s, len, &f), 0);
	assert_int_equal(f.len, len);
	/* and the framed bytes parse as a stream message */
	static struct sb_sip_msg m;
	assert_int_equal(sb_sip_parse(&m, s, f.len, SB_SIP_STREAM), 0);
	assert_int_equal(m.body.l, 5);
}

static void t_keepalives(void **state)
{
	struct sb_sip_frame f;
	assert_int_equal(frame("\r\n\r\n", 4, &f), 0);
	assert_int_equal(f.kind, SB_FRAME_PING);
	/* a CRLF with nothing after it may be half a ping: wait */
	assert_int_equal(frame("\r\n", 2, &f), ENODATA);
	assert_int_equal(frame("\r\nINVITE", 8, &f), 0);
	assert_int_equal(f.kind, SB_FRAME_PONG);
	assert_int_equal(f.len, 2);
	assert_int_equal(frame("\r", 1, &f), ENODATA);
	assert_int_equal(frame("\n", 1, &f), 0);
	assert_int_equal(f.kind, SB_FRAME_PONG);
	assert_int_equal(f.len, 1);
}

static void t_malformed(void **state)
{
	struct sb_sip_frame f;
	/* RFC 3261 §18.3: Content-Length is mandatory on a stream */
	const char *s = "OPTIONS sip:a@b SIP/2.0\r\nVia: x\r\n\r\n";
	assert_int_equal(frame(s, strlen(s), &f), EBADMSG);
	s = "OPTIONS sip:a@b SIP/2.0\r\nContent-Length: five\r\n\r\n";
	assert_int_equal(frame(s, strlen(s), &f), EBADMSG);
	assert_int_equal(f.defect, SB_DEFECT_BAD_CLEN);
	s = "OPTIONS sip:a@b SIP/2.0\r\nl: 1\r\nContent-Length: 2\r\n\r\nab";
	assert_int_equal(frame(s, strlen(s), &f), EBADMSG);
	/* a folded Content-Length is still read */
	s = "OPTIONS sip:a@b SIP/2.0\r\nContent-Length:\r\n 2\r\n\r\nab";
	assert_int_equal(frame(s, strlen(s), &f), 0);
	assert_int_equal(f.len, strlen(s));
}

/* RFC 3261 §7.5: only CRLFs may precede a start line; a CR followed by
 * anything but LF can never be framed (before: ENODATA until the bound). */
static void t_bare_cr(void **state)
{
	struct sb_sip_frame f;
	assert_int_equal(frame("\r", 1, &f), ENODATA);
	assert_int_equal(frame("\rX", 2, &f), EBADMSG);
	assert_int_equal(frame("\r\r\n", 3, &f), EBADMSG);
	const char *s = "\r" MSG2;
	assert_int_equal(frame(s, strlen(s), &f), EBADMSG);
}

/* RFC 5626 §3.5.1: a proper prefix of CRLFCRLF may be a ping still
 * arriving: wait for it (before: "\r\n\r" was taken as a pong, and the
 * ping's last LF then never made one). */
static void t_ping_prefix(void **state)
{
	struct sb_sip_frame f;
	assert_int_equal(frame("\r\n", 2, &f), ENODATA);
	assert_int_equal(frame("\r\n\r", 3, &f), ENODATA);
	assert_int_equal(frame("\r\n\r\n", 4, &f), 0);
	assert_int_equal(f.kind, SB_FRAME_PING);
	/* a CRLF followed by anything else is a pong */
	assert_int_equal(frame("\r\nO", 3, &f), 0);
	assert_int_equal(f.kind, SB_FRAME_PONG);
	assert_int_equal(f.len, 2);
	assert_int_equal(frame("\r\n\n", 3, &f), 0);
	assert_int_equal(f.kind, SB_FRAME_PONG);
	assert_int_equal(f.len, 2);
	assert_int_equal(frame("\r\n\rX", 4, &f), 0);
	assert_int_equal(f.kind, SB_FRAME_PONG);
	assert_int_equal(f.len, 2);
}

static void t_bound(void **state)
{
	struct sb_sip_frame f;
	/* a Content-Length that would pass the bound: EMSGSIZE at once */
	const char *s = "MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 4294967295\r\n\r\n";
	assert_int_equal(frame(s, strlen(s), &f), EMSGSIZE);
	assert_int_equal(f.defect, SB_DEFECT_TOO_LARGE);
	assert_int_equal(sb_sip_frame(s, strlen(s), 100, &f), EMSGSIZE);
	/* a header section that never ends and passes the bound */
	size_t n = 300;
	char *big = malloc(n);
	assert_non_null(big);
	memset(big, 'x', n);
	memcpy(big, "OPTIONS sip:a@b SIP/2.0\r\nX: ", 28);
	assert_int_equal(sb_sip_frame(big, n, 1000, &f), ENODATA);
	assert_int_equal(sb_sip_frame(big, n, 200, &f), EMSGSIZE);
	free(big);
}

/* The framer ends the header section where the parser does (bare LF line
 * ends too), so no message hides inside another one's body. */
static void t_agrees_with_parser(void **state)
{
	static struct sb_sip_msg m;
	struct sb_sip_frame f = { 0 };
	const char *s = "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n"
			"Content-Length: 0\n\nINVITE sip:victim@example.com SIP/2.0\r\n"
			"Content-Length: 0\r\n\r\n";
	size_t len = strlen(s);
	assert_int_equal(frame(s, len, &f), 0);
	assert_int_equal(sb_sip_parse(&m, s, f.len, SB_SIP_STREAM), 0);
	assert_int_equal(m.raw.l, f.len);
	assert_int_equal(m.mid, SB_METHOD_OPTIONS);
	/* the INVITE is the next frame, not swallowed */
	struct sb_sip_frame g = { 0 };
	assert_int_equal(frame(s + f.len, len - f.len, &g), 0);
	assert_int_equal(sb_sip_parse(&m, s + f.len, g.len, SB_SIP_STREAM), 0);
	assert_int_equal(m.mid, SB_METHOD_INVITE);
	assert_int_equal(f.len + g.len, len);
	/* LF-only line ends frame too */
	s = "OPTIONS sip:a@b SIP/2.0\nl: 2\n\nok";
	memset(&f, 0, sizeof f);
	assert_int_equal(frame(s, strlen(s), &f), 0);
	assert_int_equal(f.len, strlen(s));
}

/* Resumable: fed a byte at a time with its state kept, the framer never
 * searches a byte twice for the header end, and once the header section is
 * read it says how many bytes the message needs. */
static void t_resumable(void **state)
{
	const char *s = MSG1;
	size_t len = strlen(s), hdr = strstr(s, "\r\n\r\n") + 4 - s;
	struct sb_sip_frame f = { 0 };
	for (size_t cut = 1; cut < len; cut++) {
		assert_int_equal(frame(s, cut, &f), ENODATA);
		if (cut < hdr) {
			assert_true(f.scanned + 2 >= cut);
			assert_int_equal(f.need, 0);
		} else {
			assert_int_equal(f.need, len);
		}
	}
	assert_int_equal(frame(s, len, &f), 0);
	assert_int_equal(f.len, len);
	assert_int_equal(f.scanned, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_several_in_one_read),
		cmocka_unit_test(t_split_at_every_byte),
		cmocka_unit_test(t_keepalives),
		cmocka_unit_test(t_malformed),
		cmocka_unit_test(t_bare_cr),
		cmocka_unit_test(t_ping_prefix),
		cmocka_unit_test(t_bound),
		cmocka_unit_test(t_agrees_with_parser),
		cmocka_unit_test(t_resumable),
	};
	return cmocka_run_group_tests_name("frame", tests, NULL, NULL);
}
