/* Unit tests for the media session and its file and signal pieces: the
 * tone generator (sine accuracy, phase continuity, its spectrum by
 * Goertzel), WAV files through libsndfile (round trip, the 8 kHz refusal,
 * stereo mixed down, errors, looping), the SDP-to-session mapping, and
 * two sessions on loopback sockets on a real loop:
 *
 *   - A sends a 1000 Hz tone for about a second to B, which records it:
 *     B's file has strong 1000 Hz and weak 500/2000 Hz energy (Goertzel),
 *     lasts as long as B ran, and the stats agree (about 50 packets a
 *     second, all received, none lost, RTCP SR and BYE seen);
 *   - DTMF: A sends "1#", B's callback reports exactly '1' then '#';
 *   - hold (RFC 3264 / RFC 6337): A sendonly and B recvonly, then both
 *     inactive, then sendrecv again: nothing flows where the direction
 *     forbids it, and both recordings keep growing with wall time
 *     (silence while nothing is played);
 *   - a DTMF handler that frees its own session while another event
 *     waits in the socket (clean under ASan); RTP on port 65535 (no RTCP
 *     port: none sent); the telephone-event of the m= line's order.
 *
 * Every wait is bounded in time and in loop iterations. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sndfile.h>

#include "switchboard/media.h"
#include "switchboard/sdp.h"
#include "switchboard/transport.h"

/* 2cos(2*pi*f/8000), the Goertzel coefficients, as exact constants. */
#define COEF_500  1.8477590650225735 /* 2cos(pi/8) */
#define COEF_1000 1.4142135623730951 /* 2cos(pi/4) */
#define COEF_2000 0.0                /* 2cos(pi/2) */

#define MAX_POLLS 200000u

/* ---- helpers ---- */

static uint64_t mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

static double goertzel(const int16_t *x, size_t n, double coef)
{
	double s1 = 0, s2 = 0;

	for (size_t i = 0; i < n; i++) {
		double s0 = x[i] + coef * s1 - s2;

		s2 = s1;
		s1 = s0;
	}
	return s1 * s1 + s2 * s2 - coef * s1 * s2;
}

typedef bool (done_fn)(void *arg);

/* Run the loop for ms, or until done(arg); bounded by MAX_POLLS too.
 * Returns true when done() became true. */
static bool run(struct sb_loop *l, unsigned ms, done_fn *done, void *arg)
{
	uint64_t end = mono_ms() + ms;
	unsigned polls = 0;

	while (polls++ < MAX_POLLS) {
		uint64_t now = mono_ms();

		if (done && done(arg))
			return true;
		if (now >= end)
			break;
		assert_int_equal(sb_loop_poll(l, (int)(end - now < 10 ? end - now : 10)), 0);
	}
	assert_true(polls < MAX_POLLS);
	return done && done(arg);
}

struct tmp {
	char dir[64];
	char path[8][128];
	unsigned n;
};

static const char *tmp_file(struct tmp *t, const char *name)
{
	char buf[sizeof t->path[0]];

	assert_true(t->n < SB_ARRAY_LEN(t->path));
	/* through buf: GCC 12 -O2 -Wrestrict sees t->dir and t->path as
	 * one object */
	snprintf(buf, sizeof buf, "%s/%s", t->dir, name);
	memcpy(t->path[t->n], buf, sizeof buf);
	return t->path[t->n++];
}

static void tmp_init(struct tmp *t)
{
	memset(t, 0, sizeof *t);
	snprintf(t->dir, sizeof t->dir, "/tmp/sb-media-XXXXXX");
	assert_non_null(mkdtemp(t->dir));
}

static void tmp_clean(struct tmp *t)
{
	for (unsigned i = 0; i < t->n; i++)
		unlink(t->path[i]);
	rmdir(t->dir);
}

/* The whole file as 16-bit mono; frees with free(). */
static int16_t *read_all(const char *path, size_t *n, int *rate)
{
	SF_INFO info;
	SNDFILE *sf;
	int16_t *pcm;

	memset(&info, 0, sizeof info);
	sf = sf_open(path, SFM_READ, &info);
	assert_non_null(sf);
	assert_int_equal(info.channels, 1);
	*rate = info.samplerate;
	pcm = calloc((size_t)info.frames + 1, sizeof *pcm);
	assert_non_null(pcm);
	*n = (size_t)sf_readf_short(sf, pcm, info.frames);
	assert_int_equal(*n, (size_t)info.frames);
	sf_close(sf);
	return pcm;
}

static void write_file(const char *path, int rate, int channels, const int16_t *pcm, size_t frames)
{
	SF_INFO info = { .samplerate = rate, .channels = channels,
			 .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16 };
	SNDFILE *sf = sf_open(path, SFM_WRITE, &info);

	assert_non_null(sf);
	assert_int_equal(sf_writef_short(sf, pcm, (sf_count_t)frames), (sf_count_t)frames);
	sf_close(sf);
}

/* ---- tone ---- */

static bool near(double a, double b, double eps)
{
	return a - b < eps && b - a < eps;
}

static void test_sine(void **state)
{
	(void)state;
	assert_true(sb_tone_sin_turns(0) == 0.0);
	assert_true(near(sb_tone_sin_turns(0.25), 1, 1e-14));
	assert_true(near(sb_tone_sin_turns(0.75), -1, 1e-14));
	assert_true(near(sb_tone_sin_turns(1.0 / 12), 0.5, 1e-14));       /* 30 degrees */
	assert_true(near(sb_tone_sin_turns(0.125), 0.70710678118654752, 1e-14));
	assert_true(near(sb_tone_sin_turns(-0.125), -0.70710678118654752, 1e-14));
	assert_true(near(sb_tone_sin_turns(1.0 / 6), 0.86602540378443865, 1e-14));
	assert_true(near(sb_tone_sin_turns(3.5), 0, 1e-14));
	assert_true(near(sb_tone_sin_turns(-2.75), 1, 1e-14));
	/* sin^2 + cos^2 = 1 all round the circle */
	for (int i = 0; i < 1000; i++) {
		double t = i / 1000.0, sn = sb_tone_sin_turns(t), cs = sb_tone_sin_turns(t + 0.25);

		assert_true(near(sn * sn + cs * cs, 1, 1e-14));
	}
}

static void test_tone(void **state)
{
	struct sb_tone t, u;
	int16_t a[1600], b[1600];
	double p1000, p500, p2000;
	int peak = 0;

	(void)state;
	assert_int_equal(sb_tone_init(&t, 0, 0.5, 8000), EINVAL);
	assert_int_equal(sb_tone_init(&t, 4000, 0.5, 8000), EINVAL);
	assert_int_equal(sb_tone_init(&t, 1000, 1.5, 8000), EINVAL);
	assert_int_equal(sb_tone_init(&t, 1000, 0.5, 8000), 0);
	u = t;
	/* frame by frame equals all at once: phase-continuous */
	for (size_t i = 0; i < 10; i++)
		sb_tone_fill(&t, a + 160 * i, 160);
	sb_tone_fill(&u, b, 1600);
	assert_memory_equal(a, b, sizeof a);
	for (size_t i = 0; i < 1600; i++)
		peak = abs(a[i]) > peak ? abs(a[i]) : peak;
	assert_in_range(peak, 16380, 16384);
	/* 1000 Hz at 8 kHz: 0, A/sqrt2, A, ... */
	assert_int_equal(a[0], 0);
	assert_in_range(a[2], 16383, 16384);
	assert_in_range(a[6], -16384, -16383);
	p1000 = goertzel(a, 1600, COEF_1000);
	p500 = goertzel(a, 1600, COEF_500);
	p2000 = goertzel(a, 1600, COEF_2000);
	assert_true(p1000 > 1e6 * p500);
	assert_true(p1000 > 1e6 * p2000);
}

/* ---- WAV ---- */

static void test_wav(void **state)
{
	struct tmp t;
	struct sb_wav *w;
	int16_t pcm[800], st[2 * 400], back[1000];
	char why[256];
	size_t n;
	int rate;
	int16_t *all;
	FILE *f;

	(void)state;
	tmp_init(&t);
	for (size_t i = 0; i < 800; i++)
		pcm[i] = (int16_t)(i * 40 - 16000);

	/* write, then read back with libsndfile and with sb_wav */
	const char *p = tmp_file(&t, "w.wav");
	assert_int_equal(sb_wav_open_write(&w, p, why, sizeof why), 0);
	assert_int_equal(sb_wav_write(w, pcm, 800), 0);
	assert_int_equal(sb_wav_samples(w), 800);
	sb_wav_close(w);
	all = read_all(p, &n, &rate);
	assert_int_equal(n, 800);
	assert_int_equal(rate, 8000);
	assert_memory_equal(all, pcm, sizeof pcm);
	free(all);
	assert_int_equal(sb_wav_open_read(&w, p, why, sizeof why), 0);
	assert_int_equal(sb_wav_read(w, back, 500, false), 500);
	assert_int_equal(sb_wav_read(w, back + 500, 500, false), 300);
	assert_memory_equal(back, pcm, sizeof pcm);
	assert_int_equal(sb_wav_read(w, back, 10, false), 0);
	/* looped: starts again */
	assert_int_equal(sb_wav_read(w, back, 1000, true), 1000);
	assert_memory_equal(back, pcm, sizeof pcm);
	assert_memory_equal(back + 800, pcm, 200 * sizeof *pcm);
	sb_wav_close(w);

	/* 16 kHz is refused, and the reason says what to do */
	p = tmp_file(&t, "16k.wav");
	write_file(p, 16000, 1, pcm, 800);
	assert_int_equal(sb_wav_open_read(&w, p, why, sizeof why), ENOTSUP);
	assert_null(w);
	assert_non_null(strstr(why, "16000"));
	assert_non_null(strstr(why, "8000"));

	/* stereo at 8 kHz: mixed down */
	for (size_t i = 0; i < 400; i++) {
		st[2 * i] = 1000;
		st[2 * i + 1] = 3000;
	}
	p = tmp_file(&t, "st.wav");
	write_file(p, 8000, 2, st, 400);
	assert_int_equal(sb_wav_open_read(&w, p, why, sizeof why), 0);
	assert_int_equal(sb_wav_read(w, back, 1000, false), 400);
	assert_int_equal(back[0], 2000);
	assert_int_equal(back[399], 2000);
	sb_wav_close(w);

	/* missing, and not audio */
	p = tmp_file(&t, "none.wav");
	assert_int_equal(sb_wav_open_read(&w, p, why, sizeof why), ENOENT);
	assert_non_null(strstr(why, "none.wav"));
	p = tmp_file(&t, "junk.wav");
	f = fopen(p, "w");
	assert_non_null(f);
	fputs("this is not a RIFF file, just text\n", f);
	fclose(f);
	assert_int_equal(sb_wav_open_read(&w, p, why, sizeof why), EBADMSG);
	/* an empty (header only) file looped does not spin */
	p = tmp_file(&t, "empty.wav");
	write_file(p, 8000, 1, pcm, 0);
	assert_int_equal(sb_wav_open_read(&w, p, NULL, 0), 0);
	assert_int_equal(sb_wav_read(w, back, 160, true), 0);
	sb_wav_close(w);
	sb_wav_close(NULL);
	tmp_clean(&t);
}

/* ---- SDP to session parameters ---- */

static int from_sdp(const char *text, enum sb_sdp_dir want, struct sb_media_params *p)
{
	struct sb_sdp *s = calloc(1, sizeof *s);
	int err;

	assert_non_null(s);
	assert_int_equal(sb_sdp_parse(s, sb_slice_cstr(text)), 0);
	err = sb_media_params_from_sdp(p, s, SIZE_MAX, want);
	free(s);
	return err;
}

#define SDP_HEAD "v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n"

static void test_params_from_sdp(void **state)
{
	struct sb_media_params p;
	struct sb_addr want;

	(void)state;
	/* an answer: PCMA first, telephone-event, they only receive */
	assert_int_equal(from_sdp(SDP_HEAD "m=audio 40000 RTP/AVP 8 0 101\r\n"
				  "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n"
				  "a=recvonly\r\n", SB_SDP_DIR_SENDRECV, &p), 0);
	assert_int_equal(p.pt, 8);
	assert_int_equal(p.dtmf_pt, 101);
	assert_int_equal(p.dir, SB_SDP_DIR_SENDONLY);
	assert_int_equal(sb_addr_parse(&want, "192.0.2.10", 40000), 0);
	assert_true(sb_addr_eq(&p.rtp, &want));
	assert_int_equal(p.rtcp.len, 0); /* port + 1 */

	/* we hold (sendonly), they answer recvonly: we send */
	assert_int_equal(from_sdp(SDP_HEAD "m=audio 40000 RTP/AVP 0\r\na=recvonly\r\n",
				  SB_SDP_DIR_SENDONLY, &p), 0);
	assert_int_equal(p.dir, SB_SDP_DIR_SENDONLY);
	assert_int_equal(p.dtmf_pt, -1);
	/* they hold us (sendonly offer), we want sendrecv: recvonly */
	assert_int_equal(from_sdp(SDP_HEAD "m=audio 40000 RTP/AVP 0\r\na=sendonly\r\n",
				  SB_SDP_DIR_SENDRECV, &p), 0);
	assert_int_equal(p.dir, SB_SDP_DIR_RECVONLY);
	/* the old hold: c=0.0.0.0 */
	assert_int_equal(from_sdp("v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\n"
				  "c=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n",
				  SB_SDP_DIR_SENDRECV, &p), 0);
	assert_int_equal(p.rtp.len, 0);
	assert_int_equal(p.dir, SB_SDP_DIR_RECVONLY);
	/* rejected stream */
	assert_int_equal(from_sdp(SDP_HEAD "m=audio 0 RTP/AVP 0\r\n", SB_SDP_DIR_SENDRECV, &p), 0);
	assert_int_equal(p.dir, SB_SDP_DIR_INACTIVE);
	assert_int_equal(p.rtp.len, 0);
	/* a=rtcp with an address (RFC 3605) */
	assert_int_equal(from_sdp(SDP_HEAD "m=audio 40000 RTP/AVP 0\r\n"
				  "a=rtcp:40005 IN IP4 192.0.2.11\r\n", SB_SDP_DIR_SENDRECV, &p), 0);
	assert_int_equal(sb_addr_parse(&want, "192.0.2.11", 40005), 0);
	assert_true(sb_addr_eq(&p.rtcp, &want));
	/* no G.711, no audio, a name instead of an address */
	assert_int_equal(from_sdp(SDP_HEAD "m=audio 40000 RTP/AVP 18\r\n", SB_SDP_DIR_SENDRECV, &p),
			 ENOTSUP);
	assert_int_equal(from_sdp(SDP_HEAD "m=video 40000 RTP/AVP 31\r\n", SB_SDP_DIR_SENDRECV, &p),
			 ENOENT);
	assert_int_equal(from_sdp("v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\n"
				  "c=IN IP4 host.example\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n",
				  SB_SDP_DIR_SENDRECV, &p), EINVAL);
}

/* ---- sessions on loopback ---- */

struct peer {
	struct sb_media *m;
	char digits[16];
	unsigned ndigits;
};

static void on_digit(char d, void *arg)
{
	struct peer *p = arg;

	if (p->ndigits < sizeof p->digits - 1)
		p->digits[p->ndigits++] = d;
}

static void peer_open(struct sb_loop *l, struct peer *p)
{
	struct sb_media_cfg cfg;

	memset(p, 0, sizeof *p);
	memset(&cfg, 0, sizeof cfg);
	assert_int_equal(sb_addr_parse(&cfg.local, "127.0.0.1", 0), 0);
	cfg.rtcp_interval_ms = 300;
	cfg.dtmf_h = on_digit;
	cfg.arg = p;
	assert_int_equal(sb_media_alloc(&p->m, l, &cfg), 0);
	/* RFC 3550 §11: an even RTP port */
	assert_int_equal(sb_media_local_port(p->m) % 2, 0);
}

/* a sends to b's sockets, with direction dir. */
static void aim(struct peer *a, struct peer *b, enum sb_sdp_dir dir)
{
	struct sb_media_params p;

	memset(&p, 0, sizeof p);
	sb_media_local(b->m, &p.rtp);
	p.pt = SB_RTP_PT_PCMU;
	p.dtmf_pt = 101;
	p.dir = dir;
	assert_int_equal(sb_media_update(a->m, &p), 0);
}

static struct sb_media_stats stats(const struct peer *p)
{
	struct sb_media_stats st;

	sb_media_get_stats(p->m, &st);
	return st;
}

static void test_alloc_ports(void **state)
{
	struct sb_loop *l;
	struct sb_media *m, *m2;
	struct sb_media_cfg cfg;
	uint16_t port;

	(void)state;
	assert_int_equal(sb_loop_alloc(&l, NULL), 0);
	memset(&cfg, 0, sizeof cfg);
	assert_int_equal(sb_addr_parse(&cfg.local, "127.0.0.1", 0), 0);
	assert_int_equal(sb_media_alloc(&m, l, &cfg), 0);
	port = sb_media_local_port(m);
	assert_int_equal(port % 2, 0);
	assert_int_equal(sb_loop_fd_count(l), 2);
	/* the same pair again: taken */
	assert_int_equal(sb_addr_parse(&cfg.local, "127.0.0.1", port), 0);
	assert_int_equal(sb_media_alloc(&m2, l, &cfg), EADDRINUSE);
	sb_media_free(m);
	assert_int_equal(sb_loop_fd_count(l), 0);
	/* now free: an explicit even port binds */
	assert_int_equal(sb_media_alloc(&m, l, &cfg), 0);
	assert_int_equal(sb_media_local_port(m), port);
	sb_media_free(m);
	/* from a range of one pair */
	assert_int_equal(sb_addr_parse(&cfg.local, "127.0.0.1", 0), 0);
	cfg.port_min = cfg.port_max = port;
	assert_int_equal(sb_media_alloc(&m, l, &cfg), 0);
	assert_int_equal(sb_media_local_port(m), port);
	sb_media_free(m);
	/* what sb_media_update refuses */
	{
		struct sb_media_params p;

		assert_int_equal(sb_addr_parse(&cfg.local, "127.0.0.1", 0), 0);
		cfg.port_min = cfg.port_max = 0;
		assert_int_equal(sb_media_alloc(&m, l, &cfg), 0);
		memset(&p, 0, sizeof p);
		p.dtmf_pt = -1;
		p.dir = SB_SDP_DIR_SENDRECV;
		assert_int_equal(sb_addr_parse(&p.rtp, "127.0.0.1", 4000), 0);
		assert_int_equal(sb_media_update(m, &p), 0);
		p.pt = 9;
		assert_int_equal(sb_media_update(m, &p), EINVAL);
		p.pt = 8;
		p.dtmf_pt = 50;
		assert_int_equal(sb_media_update(m, &p), EINVAL);
		p.dtmf_pt = 101;
		assert_int_equal(sb_addr_parse(&p.rtp, "::1", 4000), 0);
		assert_int_equal(sb_media_update(m, &p), EINVAL); /* family */
		assert_int_equal(sb_addr_parse(&p.rtp, "127.0.0.1", 0), 0);
		assert_int_equal(sb_media_update(m, &p), EINVAL); /* port 0 */
		memset(&p.rtp, 0, sizeof p.rtp); /* no remote: fine */
		p.dir = SB_SDP_DIR_INACTIVE;
		assert_int_equal(sb_media_update(m, &p), 0);
		assert_int_equal(sb_media_dir(m), SB_SDP_DIR_INACTIVE);
		sb_media_free(m);
	}
	/* IPv6, where the host has it */
	assert_int_equal(sb_addr_parse(&cfg.local, "::1", 0), 0);
	if (sb_media_alloc(&m, l, &cfg) == 0) {
		assert_int_equal(sb_media_local_port(m) % 2, 0);
		sb_media_free(m);
	}
	/* odd ports, a bad range, a long CNAME */
	assert_int_equal(sb_addr_parse(&cfg.local, "127.0.0.1", 0), 0);
	cfg.port_min = 3;
	assert_int_equal(sb_media_alloc(&m, l, &cfg), EINVAL);
	cfg.port_min = cfg.port_max = 0;
	assert_int_equal(sb_addr_parse(&cfg.local, "127.0.0.1", 5001), 0);
	assert_int_equal(sb_media_alloc(&m, l, &cfg), EINVAL);
	assert_int_equal(sb_addr_parse(&cfg.local, "127.0.0.1", 0), 0);
	cfg.cname = "0123456789012345678901234567890123456789012345678901234567890123456789";
	assert_int_equal(sb_media_alloc(&m, l, &cfg), EINVAL);
	sb_loop_free(l);
}

static void test_tone_to_recording(void **state)
{
	struct sb_loop *l;
	struct peer a, b;
	struct tmp t;
	struct sb_media_stats sa, sb;
	uint64_t b0, b1;
	int16_t *pcm;
	size_t n;
	int rate;
	char why[256];

	(void)state;
	tmp_init(&t);
	assert_int_equal(sb_loop_alloc(&l, NULL), 0);
	peer_open(l, &a);
	peer_open(l, &b);
	aim(&a, &b, SB_SDP_DIR_SENDRECV);
	aim(&b, &a, SB_SDP_DIR_SENDRECV);
	assert_int_equal(sb_media_source_tone(a.m, 1000, 0.5), 0);
	const char *path = tmp_file(&t, "b.wav");
	assert_int_equal(sb_media_sink_wav(b.m, path, why, sizeof why), 0);

	b0 = mono_ms();
	assert_int_equal(sb_media_start(b.m), 0);
	assert_int_equal(sb_media_start(a.m), 0);
	assert_int_equal(sb_media_start(a.m), EALREADY);
	run(l, 1000, NULL, NULL);
	sb_media_stop(a.m); /* its BYE goes out now */
	run(l, 200, NULL, NULL);
	sb_media_stop(b.m);
	b1 = mono_ms();

	sa = stats(&a);
	sb = stats(&b);
	/* ~1 s at 50 packets a second, all of them received */
	assert_in_range(sa.rtp_sent, 47, 56);
	assert_int_equal(sa.octets_sent, sa.rtp_sent * 160);
	assert_int_equal(sb.rtp_recv, sa.rtp_sent);
	assert_int_equal(sb.octets_recv, sa.octets_sent);
	assert_int_equal(sb.lost, 0);
	assert_int_equal(sb.rtp_bad, 0);
	assert_int_equal(sb.jb.lost, 0);
	assert_int_equal(sb.jb.late, 0);
	assert_int_equal(sb.jb.duplicates, 0);
	assert_true(sb.jitter < 8 * 20); /* under 20 ms on loopback */
	/* RTCP: A's SRs (300 ms interval) and its BYE reached B */
	assert_true(sb.sr_recv >= 1);
	assert_int_equal(sb.bye_recv, 1);
	assert_true(sa.rtcp_recv >= 1);
	assert_int_equal(sa.rtcp_bad + sb.rtcp_bad, 0);

	/* B's recording: as long as B ran (within 3 ticks and scheduling) */
	pcm = read_all(path, &n, &rate);
	assert_int_equal(rate, 8000);
	assert_int_equal(n, sb.rec_samples);
	assert_int_equal(n, sb.ticks * 160);
	assert_true(n / 8 + 80 >= b1 - b0 && n / 8 <= b1 - b0 + 20);
	/* the tone between 0.2 s and 0.8 s */
	{
		const size_t off = 1600, len = 4800;
		double p1000 = goertzel(pcm + off, len, COEF_1000);
		double p500 = goertzel(pcm + off, len, COEF_500);
		double p2000 = goertzel(pcm + off, len, COEF_2000);
		double full = (16383.0 * len / 2) * (16383.0 * len / 2);

		assert_true(n >= off + len);
		assert_true(p1000 > 0.5 * full);
		assert_true(p1000 > 1000 * p500);
		assert_true(p1000 > 1000 * p2000);
	}
	free(pcm);
	sb_media_free(a.m);
	sb_media_free(b.m);
	assert_int_equal(sb_loop_timer_count(l), 0);
	sb_loop_free(l);
	tmp_clean(&t);
}

static bool dtmf_done(void *arg)
{
	struct peer **pp = arg;

	return pp[1]->ndigits >= 2 && !sb_media_dtmf_busy(pp[0]->m);
}

static void test_dtmf(void **state)
{
	struct sb_loop *l;
	struct peer a, b;
	struct peer *pp[2] = { &a, &b };
	struct sb_media_stats sa, sb;

	(void)state;
	assert_int_equal(sb_loop_alloc(&l, NULL), 0);
	peer_open(l, &a);
	peer_open(l, &b);
	aim(&a, &b, SB_SDP_DIR_SENDRECV);
	aim(&b, &a, SB_SDP_DIR_SENDRECV);
	assert_int_equal(sb_media_start(a.m), 0);
	assert_int_equal(sb_media_start(b.m), 0);
	assert_int_equal(sb_media_send_dtmf(a.m, "1x"), EINVAL);
	assert_int_equal(sb_media_send_dtmf(a.m, "1#"), 0);
	assert_true(sb_media_dtmf_busy(a.m));
	assert_true(run(l, 3000, dtmf_done, pp));
	run(l, 200, NULL, NULL); /* any stray repeat would show now */
	assert_int_equal(b.ndigits, 2);
	assert_memory_equal(b.digits, "1#", 2);
	assert_int_equal(a.ndigits, 0);
	/* quiesce A so that everything it sent has arrived */
	sb_media_stop(a.m);
	run(l, 100, NULL, NULL);
	sa = stats(&a);
	sb = stats(&b);
	assert_int_equal(sa.dtmf_sent, 2);
	assert_int_equal(sb.dtmf_recv, 2);
	/* the event packets took their place in the sequence: no loss */
	assert_int_equal(sb.lost, 0);
	assert_int_equal(sb.jb.lost, 0);
	assert_int_equal(sb.rtp_recv, sa.rtp_sent);
	sb_media_free(a.m);
	sb_media_free(b.m);

	/* without a negotiated telephone-event */
	peer_open(l, &a);
	assert_int_equal(sb_media_send_dtmf(a.m, "1"), ENOTSUP);
	sb_media_free(a.m);
	sb_loop_free(l);
}

static bool all_zero(const int16_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static void test_hold(void **state)
{
	struct sb_loop *l;
	struct peer a, b;
	struct tmp t;
	struct sb_media_stats sa, sb, sa1, sb1;
	uint64_t t0, t1, t2, t3;
	int16_t *pcm;
	size_t n, i;
	int rate;
	bool heard = false;

	(void)state;
	tmp_init(&t);
	assert_int_equal(sb_loop_alloc(&l, NULL), 0);
	peer_open(l, &a);
	peer_open(l, &b);
	assert_int_equal(sb_media_source_tone(a.m, 1000, 0.5), 0);
	assert_int_equal(sb_media_source_tone(b.m, 440, 0.5), 0);
	const char *pa = tmp_file(&t, "a.wav");
	const char *pb = tmp_file(&t, "b.wav");
	assert_int_equal(sb_media_sink_wav(a.m, pa, NULL, 0), 0);
	assert_int_equal(sb_media_sink_wav(b.m, pb, NULL, 0), 0);

	/* A holds: a=sendonly, B answers a=recvonly (RFC 6337 §5.3) */
	aim(&a, &b, SB_SDP_DIR_SENDONLY);
	aim(&b, &a, SB_SDP_DIR_RECVONLY);
	t0 = mono_ms();
	assert_int_equal(sb_media_start(a.m), 0);
	assert_int_equal(sb_media_start(b.m), 0);
	run(l, 500, NULL, NULL);
	sa = stats(&a);
	sb = stats(&b);
	assert_int_equal(sb.rtp_sent, 0);   /* recvonly B sends nothing */
	assert_int_equal(sa.rtp_recv, 0);   /* so the holder receives nothing */
	assert_true(sb.rtp_recv >= 20);     /* and B hears the holder */
	assert_true(sa.rtcp_recv >= 1);     /* RTCP flows regardless */

	/* both inactive: B receives nothing either */
	aim(&a, &b, SB_SDP_DIR_INACTIVE);
	aim(&b, &a, SB_SDP_DIR_INACTIVE);
	run(l, 60, NULL, NULL); /* packets in flight */
	sb = stats(&b);
	t1 = mono_ms();
	run(l, 500, NULL, NULL);
	t2 = mono_ms();
	sb1 = stats(&b);
	sa1 = stats(&a);
	assert_int_equal(sb1.rtp_recv, sb.rtp_recv);
	assert_int_equal(sa1.rtp_recv, 0);
	assert_int_equal(sa1.rtp_sent, sa.rtp_sent);
	/* the recordings kept wall time meanwhile */
	assert_true(sb1.rec_samples - sb.rec_samples >= (t2 - t1 - 60) * 8);

	/* resume: sendrecv both ways */
	aim(&a, &b, SB_SDP_DIR_SENDRECV);
	aim(&b, &a, SB_SDP_DIR_SENDRECV);
	run(l, 500, NULL, NULL);
	sb_media_stop(a.m);
	sb_media_stop(b.m);
	t3 = mono_ms();
	sa = stats(&a);
	sb = stats(&b);
	assert_true(sa.rtp_recv >= 15);
	assert_true(sb.rtp_recv > sb1.rtp_recv + 15);
	assert_int_equal(sa.jb.lost + sb.jb.lost, 0);

	/* A's recording: as long as the call, silent until the resume */
	pcm = read_all(pa, &n, &rate);
	assert_int_equal(n, sa.rec_samples);
	assert_true(n / 8 + 80 >= t3 - t0 && n / 8 <= t3 - t0 + 20);
	assert_true(all_zero(pcm, (t2 - t0) * 8));
	for (i = (t2 - t0 + 150) * 8; i < n; i++)
		heard |= pcm[i] != 0;
	assert_true(heard);
	free(pcm);
	/* B's: silent while inactive (after the jitter buffer drained) */
	pcm = read_all(pb, &n, &rate);
	assert_int_equal(n, sb.rec_samples);
	assert_true(n / 8 + 80 >= t3 - t0);
	assert_true(all_zero(pcm + (t1 - t0 + 150) * 8, (t2 - t1 - 150) * 8));
	assert_false(all_zero(pcm + 2400, 800)); /* the held tone at 0.3 s */
	free(pcm);

	sb_media_free(a.m);
	sb_media_free(b.m);
	sb_loop_free(l);
	tmp_clean(&t);
}

static bool src_done(void *arg)
{
	return sb_media_source_done(arg);
}

/* A WAV file played once, then silence. */
static void test_wav_source(void **state)
{
	struct sb_loop *l;
	struct peer a, b;
	struct tmp t;
	struct sb_tone tone;
	int16_t pcm[2400];
	char why[256];

	(void)state;
	tmp_init(&t);
	assert_int_equal(sb_tone_init(&tone, 1000, 0.5, 8000), 0);
	sb_tone_fill(&tone, pcm, 2400);
	const char *p = tmp_file(&t, "src.wav");
	write_file(p, 8000, 1, pcm, 2400); /* 300 ms */
	assert_int_equal(sb_loop_alloc(&l, NULL), 0);
	peer_open(l, &a);
	peer_open(l, &b);
	aim(&a, &b, SB_SDP_DIR_SENDONLY);
	aim(&b, &a, SB_SDP_DIR_RECVONLY);
	assert_int_equal(sb_media_source_wav(a.m, "/nonexistent/x.wav", false, why, sizeof why),
			 ENOENT);
	assert_int_equal(sb_media_source_wav(a.m, p, false, why, sizeof why), 0);
	assert_false(sb_media_source_done(a.m));
	assert_int_equal(sb_media_start(a.m), 0);
	assert_int_equal(sb_media_start(b.m), 0);
	assert_true(run(l, 1000, src_done, a.m));
	run(l, 100, NULL, NULL);
	assert_true(stats(&b).rtp_recv >= 15);
	sb_media_free(a.m);
	sb_media_free(b.m);
	sb_loop_free(l);
	tmp_clean(&t);
}

/* ---- what the review found ---- */

/* The first telephone-event the m= line lists, as an answer would take it:
 * "0 101 100" with the rtpmap of 100 first is 101; an rtpmap for a format
 * the line does not list counts for nothing. */
static void test_params_te_order(void **state)
{
	struct sb_media_params p;

	(void)state;
	assert_int_equal(from_sdp(SDP_HEAD "m=audio 40000 RTP/AVP 0 101 100\r\n"
				  "a=rtpmap:100 telephone-event/8000\r\n"
				  "a=rtpmap:101 telephone-event/8000\r\n", SB_SDP_DIR_SENDRECV, &p), 0);
	assert_int_equal(p.dtmf_pt, 101);
	assert_int_equal(from_sdp(SDP_HEAD "m=audio 40000 RTP/AVP 0\r\n"
				  "a=rtpmap:101 telephone-event/8000\r\n", SB_SDP_DIR_SENDRECV, &p), 0);
	assert_int_equal(p.dtmf_pt, -1);
	assert_int_equal(from_sdp(SDP_HEAD "m=audio 40000 RTP/AVP 0 96 97\r\n"
				  "a=rtpmap:96 opus/48000/2\r\n"
				  "a=rtpmap:97 telephone-event/8000\r\n", SB_SDP_DIR_SENDRECV, &p), 0);
	assert_int_equal(p.dtmf_pt, 97);
}

struct freer {
	struct sb_media *m;
	unsigned digits;
	int junk;
};

/* A DTMF handler that frees its own session (media.h allows it), then
 * opens a socket as other code might: it takes the lowest free descriptor,
 * the session's RTP socket's number, and has a datagram waiting. */
static void free_on_digit(char d, void *arg)
{
	struct freer *f = arg;
	struct sb_addr a;
	char junk[200];

	(void)d;
	f->digits++;
	if (!f->m)
		return;
	sb_media_free(f->m);
	f->m = NULL;
	f->junk = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(f->junk >= 0);
	assert_int_equal(sb_addr_parse(&a, "127.0.0.1", 0), 0);
	assert_int_equal(bind(f->junk, &a.u.sa, a.len), 0);
	a.len = sizeof a.u;
	assert_int_equal(getsockname(f->junk, &a.u.sa, &a.len), 0);
	memset(junk, 'A', sizeof junk);
	assert_int_equal(sendto(f->junk, junk, sizeof junk, 0, &a.u.sa, a.len), (ssize_t)sizeof junk);
}

static void send_dtmf_pkt(int fd, const struct sb_addr *to, uint16_t seq, uint32_t ts, uint8_t ev)
{
	uint8_t b[16] = { 0x80, 0x80 | 101, (uint8_t)(seq >> 8), (uint8_t)seq,
			  (uint8_t)(ts >> 24), (uint8_t)(ts >> 16), (uint8_t)(ts >> 8), (uint8_t)ts,
			  1, 2, 3, 4, ev, 10, 0, 160 };

	assert_int_equal(sendto(fd, b, sizeof b, 0, &to->u.sa, to->len), (ssize_t)sizeof b);
}

/* sb_media_free() from inside the DTMF handler, with a second event
 * waiting in the socket: nothing is read into the freed session (ASan),
 * the handler runs once, the session's descriptors and timers are gone. */
static void test_free_in_dtmf_handler(void **state)
{
	struct sb_loop *l;
	struct sb_media_cfg cfg;
	struct sb_media_params p;
	struct freer fr = { .junk = -1 };
	struct sb_addr to;
	int tx;

	(void)state;
	assert_int_equal(sb_loop_alloc(&l, NULL), 0);
	memset(&cfg, 0, sizeof cfg);
	assert_int_equal(sb_addr_parse(&cfg.local, "127.0.0.1", 0), 0);
	cfg.dtmf_h = free_on_digit;
	cfg.arg = &fr;
	assert_int_equal(sb_media_alloc(&fr.m, l, &cfg), 0);
	tx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(tx >= 0);
	assert_int_equal(sb_addr_parse(&to, "127.0.0.1", 0), 0);
	assert_int_equal(bind(tx, &to.u.sa, to.len), 0);
	memset(&p, 0, sizeof p);
	to.len = sizeof to.u;
	assert_int_equal(getsockname(tx, &to.u.sa, &to.len), 0);
	p.rtp = to; /* it sends to tx; tx does not read */
	p.pt = SB_RTP_PT_PCMU;
	p.dtmf_pt = 101;
	p.dir = SB_SDP_DIR_SENDRECV;
	assert_int_equal(sb_media_update(fr.m, &p), 0);
	assert_int_equal(sb_media_start(fr.m), 0);
	sb_media_local(fr.m, &to);
	send_dtmf_pkt(tx, &to, 10, 8000, 1);
	send_dtmf_pkt(tx, &to, 11, 16000, 2);
	run(l, 200, NULL, NULL);
	assert_int_equal(fr.digits, 1);
	assert_null(fr.m);
	assert_int_equal(sb_loop_fd_count(l), 0);
	assert_int_equal(sb_loop_timer_count(l), 0);
	close(fr.junk);
	close(tx);
	sb_loop_free(l);
}

/* RTP on port 65535: port + 1 is no port, so no RTCP is sent at all
 * (not even the BYE), and RTP still flows. */
static void test_rtcp_port_65535(void **state)
{
	struct sb_loop *l;
	struct peer a;
	struct sb_media_params p;
	struct sb_media_stats st;

	(void)state;
	assert_int_equal(sb_loop_alloc(&l, NULL), 0);
	peer_open(l, &a); /* RTCP every 300 ms */
	memset(&p, 0, sizeof p);
	assert_int_equal(sb_addr_parse(&p.rtp, "127.0.0.1", 65535), 0);
	p.pt = SB_RTP_PT_PCMU;
	p.dtmf_pt = -1;
	p.dir = SB_SDP_DIR_SENDRECV;
	assert_int_equal(sb_media_update(a.m, &p), 0);
	assert_int_equal(sb_media_start(a.m), 0);
	run(l, 700, NULL, NULL);
	sb_media_stop(a.m);
	st = stats(&a);
	assert_true(st.rtp_sent >= 20);
	assert_int_equal(st.rtcp_sent, 0);
	assert_int_equal(st.send_errors, 0);
	sb_media_free(a.m);
	sb_loop_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sine),
		cmocka_unit_test(test_tone),
		cmocka_unit_test(test_wav),
		cmocka_unit_test(test_params_from_sdp),
		cmocka_unit_test(test_alloc_ports),
		cmocka_unit_test(test_tone_to_recording),
		cmocka_unit_test(test_dtmf),
		cmocka_unit_test(test_hold),
		cmocka_unit_test(test_wav_source),
		cmocka_unit_test(test_params_te_order),
		cmocka_unit_test(test_free_in_dtmf_handler),
		cmocka_unit_test(test_rtcp_port_65535),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
