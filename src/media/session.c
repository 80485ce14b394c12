/* media/session: one audio stream of a call on an sb_loop.
 *
 * Two UDP sockets, RTP on an even port and RTCP on the next one (RFC 3550
 * §11), and two timers: the 20 ms media clock and the RTCP report timer.
 * Each tick of the clock sends one packet (audio from the source, or a
 * DTMF event packet in its place) and plays one 20 ms frame out of the
 * jitter buffer into the sink.  The clock is drift-free: tick k is due at
 * start + 20k ms, and a loop that was held up runs the ticks it owes (at
 * most SB_MEDIA_MAX_CATCHUP, the rest are skipped and counted), so 50
 * packets leave per second on average and a recording keeps wall time.
 *
 * Direction (RFC 3264 §5.1, RFC 6337 §5.3 for hold): RTP is sent only
 * when our direction sends, and what arrives is decoded and played only
 * when it receives; RTCP flows in every direction, inactive included
 * (RFC 3264 §5.1: "RTCP is still sent").  While not receiving, the sink
 * gets silence, so a held call's recording still follows wall time.
 *
 * Received RTP is taken from any address (no source filtering: a peer
 * behind NAT sends from where it can), from one SSRC at a time; another
 * SSRC replaces it once the first has been quiet for
 * SB_MEDIA_SSRC_SWITCH_MS (a re-INVITE, a transfer, a B2BUA change).
 * Audio is decoded by its own payload type (PCMU or PCMA, whatever was
 * negotiated); telephone-event and comfort-noise packets stand for a frame
 * of silence in the jitter buffer, because senders replace audio with
 * them and their sequence numbers are not losses. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "switchboard/media.h"

/* Seconds from 1900 (NTP era 0) to 1970 (RFC 3550 §4 wallclock time). */
#define NTP_UNIX_OFFSET 2208988800u
/* Expedited Forwarding (RFC 3246), the usual DSCP for voice. */
#define DSCP_EF_TOS 0xB8

struct sb_media {
	struct sb_loop *loop;
	int rtp_fd, rtcp_fd;
	struct sb_addr local;           /* bound RTP address */

	/* negotiated (sb_media_update) */
	bool have_remote;
	bool have_rtcp;                 /* a remote RTCP port (not 0) */
	struct sb_addr remote_rtp, remote_rtcp;
	uint8_t pt;
	int dtmf_pt;
	enum sb_sdp_dir dir;

	char cname[SB_RTCP_MAX_CNAME + 1];
	unsigned rtcp_interval_ms;
	sb_media_dtmf_h *dtmf_h;
	void *arg;
	/* sb_media_free() from inside dtmf_h (called from on_rtp): the
	 * sockets are closed at once and the struct freed once on_rtp is
	 * done with it */
	bool in_rx;
	bool dead;

	/* the clock */
	bool running;
	struct sb_timer tick;
	struct sb_timer rtcp_timer;
	sb_msec_t t0;                   /* when tick 0 was due */
	uint64_t ticks_done;            /* ticks run or skipped since t0 */
	uint32_t ts_t0;                 /* RTP timestamp of tick 0 */

	/* sending (RFC 3550 §5.1: random initial SSRC, seq and timestamp) */
	uint32_t ssrc;
	uint16_t seq;
	uint32_t ts;
	bool talkspurt;                 /* the next audio packet gets the marker */
	bool sent_since_report;
	struct sb_dtmf_tx dtmf_tx;

	/* the source */
	enum sb_media_src src;
	struct sb_tone tone;
	struct sb_wav *src_wav;
	bool src_loop, src_done;

	/* receiving */
	bool have_src;
	uint32_t rx_ssrc;
	sb_msec_t rx_last;
	struct sb_rtp_source rxs;
	struct sb_dtmf_rx dtmf_rx;
	bool have_sr;                   /* for LSR/DLSR (§6.4.1) */
	uint32_t lsr;
	uint64_t lsr_at_us;
	struct sb_jitter_cfg jb_cfg;
	struct sb_jitter jb;

	struct sb_wav *sink;

	struct sb_media_stats st;
	uint64_t rng;                   /* xorshift64 for RTCP interval jitter */
	uint8_t pkt[SB_RTP_MAX_PACKET + 1]; /* one byte more: see MSG_TRUNC */
};

/* ---------------------------------------------------------------- helpers */

static uint64_t mono_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

/* RFC 3550 §4: NTP format, seconds since 1900 in 32.32 fixed point. */
static uint64_t ntp_now(void)
{
	struct timespec t;
	uint64_t frac;

	clock_gettime(CLOCK_REALTIME, &t);
	frac = ((uint64_t)t.tv_nsec << 32) / 1000000000u;
	return ((uint64_t)((uint64_t)t.tv_sec + NTP_UNIX_OFFSET) << 32) | (frac & 0xFFFFFFFFu);
}

static int random_bytes(void *p, size_t n)
{
	ssize_t r = getrandom(p, n, GRND_NONBLOCK);

	if (r < 0)
		return errno;
	return (size_t)r == n ? 0 : EIO;
}

static uint64_t rng_next(struct sb_media *m)
{
	uint64_t x = m->rng;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	m->rng = x;
	return x;
}

static uint16_t addr_port(const struct sb_addr *a)
{
	if (a->u.sa.sa_family == AF_INET)
		return ntohs(a->u.in.sin_port);
	if (a->u.sa.sa_family == AF_INET6)
		return ntohs(a->u.in6.sin6_port);
	return 0;
}

static void addr_set_port(struct sb_addr *a, uint16_t port)
{
	if (a->u.sa.sa_family == AF_INET)
		a->u.in.sin_port = htons(port);
	else if (a->u.sa.sa_family == AF_INET6)
		a->u.in6.sin6_port = htons(port);
}

/* ---------------------------------------------------------------- sockets */

static int udp_socket(int family, const struct sb_addr *a, int *fdp)
{
	int fd, err, tos = DSCP_EF_TOS;

	*fdp = -1;
	fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	if (family == AF_INET6) {
		int on = 1;

		/* the family asked for, not IPv4-mapped addresses too */
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_TCLASS, &tos, sizeof tos);
	} else {
		(void)setsockopt(fd, IPPROTO_IP, IP_TOS, &tos, sizeof tos);
	}
	if (bind(fd, &a->u.sa, a->len) < 0) {
		err = errno;
		close(fd);
		return err;
	}
	*fdp = fd;
	return 0;
}

/* Bind RTP on a (its port even, or 0 for the kernel's choice) and RTCP on
 * the port after it.  EAGAIN: the kernel gave an odd port or the RTCP port
 * was taken, try again. */
static int bind_pair(struct sb_media *m, const struct sb_addr *a)
{
	struct sb_addr ra = *a, ca;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	int rfd = -1, cfd = -1, err;
	uint16_t port;

	err = udp_socket(a->u.sa.sa_family, &ra, &rfd);
	if (err)
		return err;
	if (getsockname(rfd, (struct sockaddr *)&ss, &sl) < 0)
		err = errno;
	else
		err = sb_addr_from_sa(&ra, (struct sockaddr *)&ss, sl);
	if (err) {
		close(rfd);
		return err;
	}
	port = addr_port(&ra);
	/* RFC 3550 §11: RTP on an even port, RTCP on the next higher one */
	if (port % 2 || port == 65535) {
		close(rfd);
		return EAGAIN;
	}
	ca = ra;
	addr_set_port(&ca, (uint16_t)(port + 1));
	err = udp_socket(a->u.sa.sa_family, &ca, &cfd);
	if (err) {
		close(rfd);
		return err == EADDRINUSE ? EAGAIN : err;
	}
	m->rtp_fd = rfd;
	m->rtcp_fd = cfd;
	m->local = ra;
	return 0;
}

static int open_sockets(struct sb_media *m, const struct sb_media_cfg *cfg)
{
	struct sb_addr a = cfg->local;
	uint16_t port = addr_port(&a);
	unsigned i, span;
	uint16_t first;
	int err = EADDRINUSE;

	if (port) {
		if (port % 2 || port == 65535)
			return EINVAL;
		err = bind_pair(m, &a);
		return err == EAGAIN ? EADDRINUSE : err;
	}
	if (!cfg->port_min && !cfg->port_max) {
		for (i = 0; i < SB_MEDIA_PORT_TRIES; i++) {
			err = bind_pair(m, &a);
			if (err != EAGAIN)
				return err;
		}
		return EADDRINUSE;
	}
	if (cfg->port_min % 2 || cfg->port_max % 2 || cfg->port_min == 0 ||
	    cfg->port_min > cfg->port_max || cfg->port_max == 65534)
		return EINVAL;
	/* from a random even port of the range, upwards, wrapping */
	span = (unsigned)(cfg->port_max - cfg->port_min) / 2 + 1;
	first = (uint16_t)(rng_next(m) % span);
	for (i = 0; i < span && i < SB_MEDIA_PORT_TRIES; i++) {
		addr_set_port(&a, (uint16_t)(cfg->port_min + 2 * ((first + i) % span)));
		err = bind_pair(m, &a);
		if (err != EAGAIN && err != EADDRINUSE)
			return err;
	}
	return EADDRINUSE;
}

static void sendto_addr(struct sb_media *m, int fd, const struct sb_addr *to, const void *p,
			size_t n)
{
	if (sendto(fd, p, n, 0, &to->u.sa, to->len) < 0)
		m->st.send_errors++;
}

/* ------------------------------------------------------------------ RTCP */

/* Our report (§6.4): SR if we sent RTP since the last one, else RR; a
 * report block on the source we play; BYE when leaving (§6.6). */
static void send_report(struct sb_media *m, bool bye)
{
	struct sb_rtcp_report r;
	uint8_t buf[SB_RTCP_MAX_PACKET];
	size_t len;

	/* no remote, or none for RTCP (RTP on 65535: port + 1 is no port) */
	if (!m->have_remote || !m->have_rtcp)
		return;
	memset(&r, 0, sizeof r);
	r.ssrc = m->ssrc;
	r.cname = m->cname;
	r.bye = bye;
	r.sender = m->sent_since_report;
	if (r.sender) {
		/* the RTP timestamp of this instant, from the media clock */
		sb_msec_t now = sb_loop_now(m->loop);

		r.ntp = ntp_now();
		r.rtp_ts = m->ts_t0 + (uint32_t)((now - m->t0) * (SB_MEDIA_RATE / 1000u));
		r.packets = (uint32_t)m->st.rtp_sent;
		r.octets = (uint32_t)m->st.octets_sent;
	}
	if (m->have_src) {
		struct sb_rtcp_block *b = &r.block;
		int64_t lost = sb_rtp_source_lost(&m->rxs);

		r.has_block = true;
		b->ssrc = m->rx_ssrc;
		b->fraction = sb_rtp_source_fraction(&m->rxs);
		b->lost = lost > INT32_MAX ? INT32_MAX : lost < INT32_MIN ? INT32_MIN : (int32_t)lost;
		b->ext_max = sb_rtp_source_ext_max(&m->rxs);
		b->jitter = sb_rtp_source_jitter_ts(&m->rxs);
		if (m->have_sr) {
			uint64_t d = mono_us() - m->lsr_at_us;

			b->lsr = m->lsr;
			/* DLSR in units of 1/65536 s */
			b->dlsr = (uint32_t)((d << 16) / 1000000u);
		}
	}
	if (sb_rtcp_build(buf, sizeof buf, &len, &r) != 0)
		return;
	sendto_addr(m, m->rtcp_fd, &m->remote_rtcp, buf, len);
	m->st.rtcp_sent++;
	m->sent_since_report = false;
}

/* RFC 3550 §6.3.1: the interval randomised over [0.5, 1.5] of itself, so
 * that reports of many participants do not synchronise. */
static sb_msec_t rtcp_delay(struct sb_media *m, unsigned base)
{
	return base / 2 + rng_next(m) % (base + 1);
}

static void on_rtcp_timer(void *arg)
{
	struct sb_media *m = arg;

	send_report(m, false);
	(void)sb_timer_start(m->loop, &m->rtcp_timer, rtcp_delay(m, m->rtcp_interval_ms),
			     on_rtcp_timer, m);
}

static void on_rtcp(int fd, unsigned events, void *arg)
{
	struct sb_media *m = arg;
	unsigned i;

	for (i = 0; i < SB_MEDIA_RX_BURST; i++) {
		struct sb_rtcp_info info;
		ssize_t n = recv(fd, m->pkt, sizeof m->pkt, MSG_TRUNC);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			break; /* EAGAIN, or an error for a datagram we cannot use */
		}
		if ((size_t)n > SB_RTP_MAX_PACKET || sb_rtcp_parse(&info, m->pkt, (size_t)n) != 0) {
			m->st.rtcp_bad++;
			continue;
		}
		m->st.rtcp_recv++;
		m->st.sr_recv += info.sr;
		m->st.rr_recv += info.rr;
		m->st.bye_recv += info.bye;
		if (info.sr && (!m->have_src || info.sr_ssrc == m->rx_ssrc)) {
			m->have_sr = true;
			m->lsr = info.sr_ntp_mid;
			m->lsr_at_us = mono_us();
		}
	}
}

/* ------------------------------------------------------------------- RTP */

static void take_source(struct sb_media *m, const struct sb_rtp_pkt *p)
{
	m->have_src = true;
	m->rx_ssrc = p->ssrc;
	sb_rtp_source_init(&m->rxs, p->seq);
	sb_jitter_reset(&m->jb);
	m->have_sr = false;
}

static void handle_rtp(struct sb_media *m, const uint8_t *b, size_t n)
{
	struct sb_rtp_pkt p;
	int16_t pcm[SB_MEDIA_MAX_FRAME];
	sb_msec_t now = sb_loop_now(m->loop);
	char digit = 0;

	if (sb_rtp_parse(&p, b, n) != 0) {
		m->st.rtp_bad++;
		return;
	}
	/* RFC 3264 §5.1: what a recvonly-less direction receives is not
	 * played; before start there is no call to play it into */
	if (!m->running || !sb_media_dir_receives(m->dir)) {
		m->st.rtp_ignored++;
		return;
	}
	if (!m->have_src || p.ssrc != m->rx_ssrc) {
		if (m->have_src && now - m->rx_last < SB_MEDIA_SSRC_SWITCH_MS) {
			m->st.rtp_ignored++;
			return;
		}
		take_source(m, &p);
	}

	if (p.pt == SB_RTP_PT_PCMU || p.pt == SB_RTP_PT_PCMA) {
		if (p.payload_len == 0 || p.payload_len > SB_MEDIA_MAX_FRAME) {
			m->st.rtp_ignored++;
			return;
		}
		(void)sb_g711_decode(p.pt, p.payload, pcm, p.payload_len);
		/* A.8: arrival time in timestamp units (8 per ms) */
		sb_rtp_source_jitter(&m->rxs, (uint32_t)(mono_us() * SB_MEDIA_RATE / 1000000u),
				     p.ts);
		(void)sb_jitter_put(&m->jb, p.seq, pcm, p.payload_len);
	} else if (m->dtmf_pt >= 0 && p.pt == m->dtmf_pt) {
		struct sb_dtmf_event ev;

		if (sb_dtmf_parse(&ev, p.payload, p.payload_len) != 0) {
			m->st.rtp_ignored++;
			return;
		}
		digit = sb_dtmf_rx_packet(&m->dtmf_rx, p.ssrc, p.ts, &ev);
		(void)sb_jitter_put(&m->jb, p.seq, NULL, SB_MEDIA_FRAME);
	} else if (p.pt == SB_RTP_PT_CN) {
		(void)sb_jitter_put(&m->jb, p.seq, NULL, SB_MEDIA_FRAME);
	} else {
		m->st.rtp_ignored++;
		return;
	}
	m->rx_last = now;
	(void)sb_rtp_source_update(&m->rxs, p.seq);
	m->st.rtp_recv++;
	m->st.octets_recv += p.payload_len;
	if (digit) {
		m->st.dtmf_recv++;
		/* the handler may free the session: nothing of m after it */
		if (m->dtmf_h)
			m->dtmf_h(digit, m->arg);
	}
}

static void on_rtp(int fd, unsigned events, void *arg)
{
	struct sb_media *m = arg;
	unsigned i;

	/* a DTMF handler may call sb_media_free(m): it then only marks m dead
	 * (its sockets closed, its timers stopped) and the struct is freed
	 * here, once nothing reads or writes it any more */
	m->in_rx = true;
	for (i = 0; i < SB_MEDIA_RX_BURST && !m->dead; i++) {
		ssize_t n = recv(fd, m->pkt, sizeof m->pkt, MSG_TRUNC);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if ((size_t)n > SB_RTP_MAX_PACKET) {
			m->st.rtp_ignored++; /* truncated: larger than we take */
			continue;
		}
		handle_rtp(m, m->pkt, (size_t)n);
	}
	m->in_rx = false;
	if (m->dead)
		free(m);
}

/* ---------------------------------------------------------------- clock */

static void source_fill(struct sb_media *m, int16_t *pcm)
{
	size_t got = 0;

	switch (m->src) {
	case SB_MEDIA_SRC_TONE:
		sb_tone_fill(&m->tone, pcm, SB_MEDIA_FRAME);
		return;
	case SB_MEDIA_SRC_WAV:
		if (!m->src_done)
			got = sb_wav_read(m->src_wav, pcm, SB_MEDIA_FRAME, m->src_loop);
		if (got < SB_MEDIA_FRAME)
			m->src_done = true;
		break;
	case SB_MEDIA_SRC_NONE:
		break;
	}
	memset(pcm + got, 0, (SB_MEDIA_FRAME - got) * sizeof *pcm);
}

static void send_rtp(struct sb_media *m, uint8_t pt, bool marker, uint32_t ts,
		     const uint8_t *payload, size_t plen)
{
	struct sb_rtp_pkt p;
	uint8_t buf[SB_RTP_HDR_LEN + SB_MEDIA_FRAME];
	size_t len;

	memset(&p, 0, sizeof p);
	p.marker = marker;
	p.pt = pt;
	p.seq = m->seq;
	p.ts = ts;
	p.ssrc = m->ssrc;
	p.payload = payload;
	p.payload_len = plen;
	if (sb_rtp_build(buf, sizeof buf, &len, &p) != 0)
		return;
	sendto_addr(m, m->rtp_fd, &m->remote_rtp, buf, len);
	m->seq++; /* §5.1: increments by one for each RTP data packet sent */
	m->st.rtp_sent++;
	m->st.octets_sent += plen;
	m->sent_since_report = true;
}

/* One 20 ms tick: send a packet, play a frame. */
static void run_tick(struct sb_media *m)
{
	int16_t pcm[SB_MEDIA_FRAME];
	uint8_t enc[SB_MEDIA_FRAME];
	bool sending = m->have_remote && sb_media_dir_sends(m->dir);

	m->st.ticks++;
	/* the source runs on wall time, like a microphone, sent or not */
	source_fill(m, pcm);
	if (sending) {
		struct sb_dtmf_tick dt = { 0 };

		if (m->dtmf_pt >= 0)
			sb_dtmf_tx_tick(&m->dtmf_tx, m->ts, &dt);
		if (dt.send) {
			send_rtp(m, (uint8_t)m->dtmf_pt, dt.marker, dt.ts, dt.payload,
				 sizeof dt.payload);
			m->st.dtmf_sent += dt.marker;
		} else {
			if (dt.mute)
				memset(pcm, 0, sizeof pcm);
			(void)sb_g711_encode(m->pt, pcm, enc, SB_MEDIA_FRAME);
			/* RFC 3551 §4.1: the marker on the first packet of a
			 * talkspurt: the first sent, and the first after hold */
			send_rtp(m, m->pt, m->talkspurt, m->ts, enc, SB_MEDIA_FRAME);
			m->talkspurt = false;
		}
	} else {
		m->talkspurt = true;
	}
	/* the timestamp follows the clock whether or not we sent (§5.1) */
	m->ts += SB_MEDIA_FRAME;

	/* playout: the stream, or silence while not receiving (hold) */
	if (sb_media_dir_receives(m->dir))
		(void)sb_jitter_get(&m->jb, pcm);
	else
		memset(pcm, 0, sizeof pcm);
	if (m->sink) {
		if (sb_wav_write(m->sink, pcm, SB_MEDIA_FRAME) == 0)
			m->st.rec_samples += SB_MEDIA_FRAME;
	}
}

static void on_tick(void *arg)
{
	struct sb_media *m = arg;
	sb_msec_t now = sb_loop_now(m->loop);
	uint64_t due = (now - m->t0) / SB_MEDIA_PTIME_MS + 1; /* ticks due by now */
	uint64_t todo = due > m->ticks_done ? due - m->ticks_done : 0;
	sb_msec_t next;

	if (todo > SB_MEDIA_MAX_CATCHUP) {
		uint64_t skip = todo - SB_MEDIA_MAX_CATCHUP;

		/* a long stall: time went on without us; keep the timestamp
		 * in step with it (§5.1) but do not burst the backlog */
		m->st.ticks_skipped += skip;
		m->ticks_done += skip;
		m->ts += (uint32_t)(skip * SB_MEDIA_FRAME);
		todo = SB_MEDIA_MAX_CATCHUP;
	}
	while (todo--) {
		run_tick(m);
		m->ticks_done++;
	}
	next = m->t0 + m->ticks_done * SB_MEDIA_PTIME_MS;
	(void)sb_timer_start(m->loop, &m->tick, next > now ? next - now : 0, on_tick, m);
}

/* ------------------------------------------------------------------ API */

int sb_media_alloc(struct sb_media **mp, struct sb_loop *l, const struct sb_media_cfg *cfg)
{
	struct sb_media *m;
	uint8_t rnd[12];
	int err;
	size_t i;

	*mp = NULL;
	if (!l || !cfg || (cfg->local.u.sa.sa_family != AF_INET &&
			   cfg->local.u.sa.sa_family != AF_INET6))
		return EINVAL;
	if (cfg->cname && (cfg->cname[0] == '\0' || strlen(cfg->cname) > SB_RTCP_MAX_CNAME))
		return EINVAL;
	m = calloc(1, sizeof *m);
	if (!m)
		return ENOMEM;
	m->loop = l;
	m->rtp_fd = m->rtcp_fd = -1;
	m->pt = SB_RTP_PT_PCMU;
	m->dtmf_pt = -1;
	m->dir = SB_SDP_DIR_SENDRECV;
	m->rtcp_interval_ms = cfg->rtcp_interval_ms ? cfg->rtcp_interval_ms
						     : SB_MEDIA_RTCP_INTERVAL_MS;
	m->dtmf_h = cfg->dtmf_h;
	m->arg = cfg->arg;
	m->jb_cfg = cfg->jitter;
	m->talkspurt = true;
	sb_dtmf_tx_init(&m->dtmf_tx);
	sb_dtmf_rx_init(&m->dtmf_rx);
	err = sb_jitter_init(&m->jb, &m->jb_cfg);
	if (err)
		goto fail;
	/* §5.1: SSRC, initial sequence number and timestamp are random */
	err = random_bytes(&m->ssrc, sizeof m->ssrc);
	if (!err)
		err = random_bytes(&m->seq, sizeof m->seq);
	if (!err)
		err = random_bytes(&m->ts, sizeof m->ts);
	if (!err)
		err = random_bytes(&m->rng, sizeof m->rng);
	if (!err)
		err = random_bytes(rnd, sizeof rnd);
	if (err)
		goto fail;
	m->rng |= 1; /* xorshift must not start at 0 */
	if (cfg->cname) {
		snprintf(m->cname, sizeof m->cname, "%s", cfg->cname);
	} else {
		/* RFC 7022 §4.2: a random CNAME per session (96 bits, hex) */
		for (i = 0; i < sizeof rnd; i++)
			snprintf(m->cname + 2 * i, 3, "%02x", rnd[i]);
	}
	err = open_sockets(m, cfg);
	if (err)
		goto fail;
	err = sb_loop_fd_add(l, m->rtp_fd, SB_FD_READ, on_rtp, m);
	if (err)
		goto fail;
	err = sb_loop_fd_add(l, m->rtcp_fd, SB_FD_READ, on_rtcp, m);
	if (err) {
		sb_loop_fd_del(l, m->rtp_fd);
		goto fail;
	}
	*mp = m;
	return 0;
fail:
	if (m->rtp_fd >= 0)
		close(m->rtp_fd);
	if (m->rtcp_fd >= 0)
		close(m->rtcp_fd);
	free(m);
	return err;
}

void sb_media_free(struct sb_media *m)
{
	if (!m || m->dead)
		return;
	sb_media_stop(m);
	sb_loop_fd_del(m->loop, m->rtp_fd);
	sb_loop_fd_del(m->loop, m->rtcp_fd);
	close(m->rtp_fd);
	close(m->rtcp_fd);
	m->rtp_fd = m->rtcp_fd = -1;
	sb_wav_close(m->src_wav);
	m->src_wav = NULL;
	if (m->in_rx) {
		/* inside our own receive handler (a DTMF handler freed us):
		 * on_rtp frees the struct when it returns */
		m->dead = true;
		return;
	}
	free(m);
}

void sb_media_local(const struct sb_media *m, struct sb_addr *rtp)
{
	*rtp = m->local;
}

uint16_t sb_media_local_port(const struct sb_media *m)
{
	return addr_port(&m->local);
}

int sb_media_set_dir(struct sb_media *m, enum sb_sdp_dir dir)
{
	if (dir > SB_SDP_DIR_INACTIVE)
		return EINVAL;
	if (!sb_media_dir_receives(m->dir) && sb_media_dir_receives(dir)) {
		/* receiving again: whatever source comes is taken afresh */
		sb_jitter_reset(&m->jb);
		m->have_src = false;
	}
	if (!sb_media_dir_sends(m->dir) && sb_media_dir_sends(dir))
		m->talkspurt = true;
	m->dir = dir;
	return 0;
}

enum sb_sdp_dir sb_media_dir(const struct sb_media *m)
{
	return m->dir;
}

int sb_media_update(struct sb_media *m, const struct sb_media_params *p)
{
	int family = m->local.u.sa.sa_family;

	if (p->pt != SB_RTP_PT_PCMU && p->pt != SB_RTP_PT_PCMA)
		return EINVAL;
	if (p->dtmf_pt != -1 && (p->dtmf_pt < 96 || p->dtmf_pt > 127))
		return EINVAL;
	if (p->dir > SB_SDP_DIR_INACTIVE)
		return EINVAL;
	if (p->rtp.len && (p->rtp.u.sa.sa_family != family || addr_port(&p->rtp) == 0))
		return EINVAL;
	if (p->rtp.len && p->rtcp.len && p->rtcp.u.sa.sa_family != family)
		return EINVAL;
	m->have_remote = p->rtp.len != 0;
	m->have_rtcp = false;
	if (m->have_remote) {
		m->remote_rtp = p->rtp;
		if (p->rtcp.len) {
			m->remote_rtcp = p->rtcp;
			m->have_rtcp = addr_port(&p->rtcp) != 0;
		} else {
			/* RFC 3550 §11: the next higher port; RTP on 65535 has
			 * none, and then no RTCP is sent */
			uint16_t rp = addr_port(&p->rtp);

			m->remote_rtcp = p->rtp;
			addr_set_port(&m->remote_rtcp, (uint16_t)(rp + 1));
			m->have_rtcp = rp < 65535;
		}
	}
	m->pt = p->pt;
	m->dtmf_pt = p->dtmf_pt;
	return sb_media_set_dir(m, p->dir);
}

static void drop_source(struct sb_media *m)
{
	sb_wav_close(m->src_wav);
	m->src_wav = NULL;
	m->src = SB_MEDIA_SRC_NONE;
	m->src_done = false;
}

void sb_media_source_none(struct sb_media *m)
{
	drop_source(m);
}

int sb_media_source_tone(struct sb_media *m, double freq, double amp)
{
	struct sb_tone t;
	int err = sb_tone_init(&t, freq, amp, SB_MEDIA_RATE);

	if (err)
		return err;
	drop_source(m);
	m->tone = t;
	m->src = SB_MEDIA_SRC_TONE;
	return 0;
}

int sb_media_source_wav(struct sb_media *m, const char *path, bool loop, char *why, size_t why_cap)
{
	struct sb_wav *w;
	int err = sb_wav_open_read(&w, path, why, why_cap);

	if (err)
		return err;
	drop_source(m);
	m->src_wav = w;
	m->src_loop = loop;
	m->src = SB_MEDIA_SRC_WAV;
	return 0;
}

bool sb_media_source_done(const struct sb_media *m)
{
	return m->src == SB_MEDIA_SRC_WAV && m->src_done;
}

int sb_media_sink_wav(struct sb_media *m, const char *path, char *why, size_t why_cap)
{
	struct sb_wav *w = NULL;
	int err;

	if (path) {
		err = sb_wav_open_write(&w, path, why, why_cap);
		if (err)
			return err;
	}
	sb_wav_close(m->sink);
	m->sink = w;
	return 0;
}

int sb_media_start(struct sb_media *m)
{
	int err;

	if (m->running)
		return EALREADY;
	m->t0 = sb_loop_now(m->loop);
	m->ticks_done = 0;
	m->ts_t0 = m->ts;
	m->talkspurt = true;
	err = sb_timer_start(m->loop, &m->tick, 0, on_tick, m);
	if (err)
		return err;
	/* §6.2: the first report after half the minimum interval */
	err = sb_timer_start(m->loop, &m->rtcp_timer, rtcp_delay(m, m->rtcp_interval_ms / 2),
			     on_rtcp_timer, m);
	if (err) {
		sb_timer_stop(m->loop, &m->tick);
		return err;
	}
	m->running = true;
	return 0;
}

void sb_media_stop(struct sb_media *m)
{
	if (!m->running)
		return;
	/* §6.6: BYE in a compound packet with a report and the CNAME */
	send_report(m, true);
	sb_timer_stop(m->loop, &m->tick);
	sb_timer_stop(m->loop, &m->rtcp_timer);
	m->running = false;
	sb_wav_close(m->sink);
	m->sink = NULL;
}

bool sb_media_running(const struct sb_media *m)
{
	return m->running;
}

int sb_media_send_dtmf(struct sb_media *m, const char *digits)
{
	if (m->dtmf_pt < 0)
		return ENOTSUP;
	return sb_dtmf_tx_queue(&m->dtmf_tx, digits);
}

bool sb_media_dtmf_busy(const struct sb_media *m)
{
	return sb_dtmf_tx_busy(&m->dtmf_tx);
}

void sb_media_get_stats(const struct sb_media *m, struct sb_media_stats *st)
{
	*st = m->st;
	st->lost = m->have_src ? sb_rtp_source_lost(&m->rxs) : 0;
	st->jitter = m->have_src ? sb_rtp_source_jitter_ts(&m->rxs) : 0;
	st->jb = m->jb.st;
}

/* ------------------------------------------------------------ from SDP */

static bool is_audio_rtp(const struct sb_sdp_media *md)
{
	return sb_slice_caseeq_cstr(md->type, "audio") && sb_slice_caseeq_cstr(md->proto, "RTP/AVP");
}

/* A numeric address from an SDP connection line; port 0 marks a c= of
 * 0.0.0.0 or :: (no address). */
static int conn_addr(struct sb_addr *a, const struct sb_sdp_conn *c, uint16_t port)
{
	char host[SB_ADDR_STR_MAX];

	if (!c || !c->addr.p || c->addr.l >= sizeof host)
		return EINVAL;
	sb_slice_to_cstr(c->addr, host, sizeof host);
	if (sb_addr_parse(a, host, port) != 0)
		return EINVAL;
	if ((a->u.sa.sa_family == AF_INET && a->u.in.sin_addr.s_addr == htonl(INADDR_ANY)) ||
	    (a->u.sa.sa_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&a->u.in6.sin6_addr)))
		memset(a, 0, sizeof *a);
	return 0;
}

int sb_media_params_from_sdp(struct sb_media_params *p, const struct sb_sdp *remote,
			     size_t media, enum sb_sdp_dir want)
{
	const struct sb_sdp_media *md = NULL;
	struct sb_sdp_rtpmap map;
	bool have_pt = false;
	size_t i;
	int err;

	memset(p, 0, sizeof *p);
	p->dtmf_pt = -1;
	if (media == SIZE_MAX) {
		for (i = 0; i < remote->nmedia && !md; i++)
			if (is_audio_rtp(&remote->media[i]))
				md = &remote->media[i];
	} else if (media < remote->nmedia && is_audio_rtp(&remote->media[media])) {
		md = &remote->media[media];
	}
	if (!md)
		return ENOENT;

	/* the first G.711 format listed (RFC 3264 §6.1: in preference order) */
	for (i = 0; i < md->nfmt && !have_pt; i++) {
		uint32_t pt;

		if (sb_slice_to_u32(md->fmts[i], &pt) != 0 || pt > 127)
			continue;
		if (sb_sdp_find_rtpmap(md, pt, &map) != 0 || map.clock != SB_MEDIA_RATE)
			continue;
		if ((pt == SB_RTP_PT_PCMU && sb_slice_caseeq_cstr(map.encoding, "PCMU")) ||
		    (pt == SB_RTP_PT_PCMA && sb_slice_caseeq_cstr(map.encoding, "PCMA"))) {
			p->pt = (uint8_t)pt;
			have_pt = true;
		}
	}
	if (!have_pt)
		return ENOTSUP;
	/* RFC 4733 §7.1.1: telephone-event/8000 on a dynamic payload type;
	 * the first one the m= line lists (an rtpmap for a format the line
	 * does not list counts for nothing), as an answer to it would pick */
	for (i = 0; i < md->nfmt && p->dtmf_pt < 0; i++) {
		uint32_t pt;

		if (sb_slice_to_u32(md->fmts[i], &pt) != 0 || pt < 96 || pt > 127)
			continue;
		if (sb_sdp_find_rtpmap(md, pt, &map) == 0 &&
		    sb_slice_caseeq_cstr(map.encoding, "telephone-event") &&
		    map.clock == SB_MEDIA_RATE)
			p->dtmf_pt = (int)pt;
	}
	/* RFC 3264 §6.1: we send what they receive and receive what they
	 * send, within what we want */
	p->dir = sb_sdp_dir_answer(sb_sdp_media_dir(remote, md), want);
	if (md->port == 0) {
		/* RFC 3264 §6: a rejected stream */
		p->dir = SB_SDP_DIR_INACTIVE;
		return 0;
	}
	err = conn_addr(&p->rtp, sb_sdp_media_conn(remote, md), md->port);
	if (err)
		return err;
	if (p->rtp.len == 0) {
		/* RFC 3264 §8.4: c=0.0.0.0, the old hold: nothing to send to */
		if (p->dir == SB_SDP_DIR_SENDRECV)
			p->dir = SB_SDP_DIR_RECVONLY;
		else if (p->dir == SB_SDP_DIR_SENDONLY)
			p->dir = SB_SDP_DIR_INACTIVE;
		return 0;
	}
	if (md->has_rtcp) {
		/* RFC 3605: a=rtcp:port [addr] */
		if (md->rtcp_conn.addr.p) {
			err = conn_addr(&p->rtcp, &md->rtcp_conn, md->rtcp_port);
			if (err)
				return err;
		} else {
			p->rtcp = p->rtp;
			addr_set_port(&p->rtcp, md->rtcp_port);
		}
		if (addr_port(&p->rtcp) == 0)
			memset(&p->rtcp, 0, sizeof p->rtcp);
	}
	return 0;
}
