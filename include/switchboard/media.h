/* media: the phone's audio over RTP.  G.711 (PCMU/PCMA), the RTP packet
 * format and receiver statistics (RFC 3550 §5.1, A.1, A.3, A.8), RTCP
 * reports (RFC 3550 §6), a fixed-delay jitter buffer, WAV files
 * (libsndfile), a tone generator, DTMF as telephone-events (RFC 4733), and
 * the session that ties them to UDP sockets and a 20 ms clock on an sb_loop.
 *
 * The pieces below the session are plain functions over caller-owned
 * structs: no sockets, no allocation, no clock, so each is tested alone.
 *
 * Everything runs on the loop thread; there are no threads.  Audio is 8 kHz
 * mono 16-bit linear PCM everywhere, in frames of 20 ms (160 samples). */
#ifndef SWITCHBOARD_MEDIA_H
#define SWITCHBOARD_MEDIA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "switchboard/loop.h"
#include "switchboard/sdp.h"
#include "switchboard/transport.h" /* struct sb_addr */

/* ---------------------------------------------------------------- bounds */

#define SB_MEDIA_RATE          8000u /* Hz: G.711 and telephone-event clock */
#define SB_MEDIA_PTIME_MS      20u   /* packet time we send */
#define SB_MEDIA_FRAME         160u  /* samples per 20 ms frame */
/* An RTP datagram we send or accept; larger ones are dropped (truncated
 * reads are detected with MSG_TRUNC). */
#define SB_RTP_MAX_PACKET      1500u
/* The largest received audio payload we take: 60 ms of G.711.  A packet
 * with more samples is dropped (counted in rtp_ignored). */
#define SB_MEDIA_MAX_FRAME     480u

/* ================================================================ G.711 */

/* ITU-T G.711 µ-law (PCMU, RTP PT 0) and A-law (PCMA, PT 8), by bit
 * arithmetic over the segment (chord) and step: the same values as the
 * standard's tables.  Linear samples are 16-bit; µ-law uses the top 14
 * bits, A-law the top 13.  Code bytes are as sent on the wire (µ-law
 * inverted, A-law with even bits inverted: 0 encodes as 0xFF and 0xD5). */
uint8_t sb_g711_ulaw_encode(int16_t pcm);
int16_t sb_g711_ulaw_decode(uint8_t code);
uint8_t sb_g711_alaw_encode(int16_t pcm);
int16_t sb_g711_alaw_decode(uint8_t code);

#define SB_RTP_PT_PCMU 0u
#define SB_RTP_PT_PCMA 8u
#define SB_RTP_PT_CN   13u  /* RFC 3389 comfort noise: played as silence */
#define SB_RTP_PT_DTMF_DEFAULT 101u

/* n samples <-> n bytes for pt 0 or 8.  0, or EINVAL for another pt. */
int sb_g711_encode(unsigned pt, const int16_t *pcm, uint8_t *out, size_t n);
int sb_g711_decode(unsigned pt, const uint8_t *in, int16_t *pcm, size_t n);
/* The code byte of silence for pt 0 or 8 (0xFF, 0xD5). */
uint8_t sb_g711_silence(unsigned pt);

/* ================================================================== RTP */

#define SB_RTP_VERSION  2u
#define SB_RTP_HDR_LEN  12u
#define SB_RTP_MAX_CSRC 15u

/* One RTP packet (RFC 3550 §5.1).  After sb_rtp_parse() the pointers are
 * views into the caller's bytes. */
struct sb_rtp_pkt {
	bool marker;
	uint8_t pt;                 /* 0..127 */
	uint16_t seq;
	uint32_t ts;
	uint32_t ssrc;
	uint8_t cc;                 /* CSRC count */
	uint32_t csrc[SB_RTP_MAX_CSRC];
	bool has_ext;               /* X: header extension (§5.3.1) */
	uint16_t ext_profile;       /* its "defined by profile" field */
	const uint8_t *ext;         /* its data, ext_len bytes */
	size_t ext_len;
	uint8_t pad_len;            /* P: padding octets removed (count byte included) */
	const uint8_t *payload;
	size_t payload_len;
};

/* Parse one datagram, every length checked against len.  Returns 0;
 * EBADMSG for shorter than the fixed header, a CSRC list or extension that
 * runs past the end, or a padding count of 0 or longer than what is left
 * after the headers (§5.1 P); EPROTONOSUPPORT for a version other than 2. */
int sb_rtp_parse(struct sb_rtp_pkt *p, const void *buf, size_t len);

/* Write the fixed header (version 2, no padding, no extension, no CSRC
 * whatever p->cc says) and payload_len bytes of p->payload into buf.
 * *len gets the packet length.  0, EINVAL (pt > 127), ENOSPC (cap). */
int sb_rtp_build(void *buf, size_t cap, size_t *len, const struct sb_rtp_pkt *p);

/* The state RFC 3550 Appendix A.1 keeps per source, for the extended
 * highest sequence number, loss (A.3) and interarrival jitter (A.8). */
struct sb_rtp_source {
	uint16_t max_seq;
	uint32_t cycles;       /* shifted count of seq wraps */
	uint32_t base_seq;
	uint32_t bad_seq;      /* last 'bad' seq + 1 */
	uint32_t probation;    /* sequential packets till the source is valid */
	uint32_t received;     /* packets received (A.1) */
	uint32_t expected_prior;
	uint32_t received_prior;
	uint32_t transit;      /* relative transit time of the previous packet */
	uint32_t jitter;       /* estimate, scaled by 16 (A.8) */
	bool have_transit;
};

/* RFC 3550 A.1 constants. */
#define SB_RTP_MAX_DROPOUT    3000u
#define SB_RTP_MAX_MISORDER   100u
#define SB_RTP_MIN_SEQUENTIAL 2u

/* Start tracking a source whose first packet carries seq (A.1 probation). */
void sb_rtp_source_init(struct sb_rtp_source *s, uint16_t seq);
/* A.1 update_seq(): true when the packet counts (the source is valid and
 * seq is not a wild jump), false while on probation or for a bad jump. */
bool sb_rtp_source_update(struct sb_rtp_source *s, uint16_t seq);
/* A.8: the packet with RTP timestamp ts arrived at 'arrival' (in the same
 * clock units, e.g. samples since any epoch). */
void sb_rtp_source_jitter(struct sb_rtp_source *s, uint32_t arrival, uint32_t ts);
/* Extended highest sequence number received (A.3). */
uint32_t sb_rtp_source_ext_max(const struct sb_rtp_source *s);
/* Cumulative number of packets lost (A.3: expected - received; negative
 * with duplicates). */
int64_t sb_rtp_source_lost(const struct sb_rtp_source *s);
/* Fraction lost since the previous call, in 1/256 (A.3); updates the
 * "prior" counters, so call it once per report. */
uint8_t sb_rtp_source_fraction(struct sb_rtp_source *s);
/* The jitter estimate in timestamp units. */
static inline uint32_t sb_rtp_source_jitter_ts(const struct sb_rtp_source *s)
{
	return s->jitter >> 4;
}

/* ================================================================= RTCP */

#define SB_RTCP_SR   200u
#define SB_RTCP_RR   201u
#define SB_RTCP_SDES 202u
#define SB_RTCP_BYE  203u
#define SB_RTCP_APP  204u
#define SB_RTCP_MAX_PACKET  512u
#define SB_RTCP_MAX_CNAME   64u  /* bytes; SDES items allow 255, we need few */
/* A compound packet is walked for at most this many packets. */
#define SB_RTCP_MAX_PARTS   16u

/* One reception report block (§6.4.1). */
struct sb_rtcp_block {
	uint32_t ssrc;
	uint8_t fraction;
	int32_t lost;          /* 24-bit signed on the wire, clamped */
	uint32_t ext_max;
	uint32_t jitter;
	uint32_t lsr;          /* middle 32 bits of the last SR's NTP time */
	uint32_t dlsr;         /* delay since it, 1/65536 s */
};

/* What our compound report says: an SR when sender is set (§6.4.1), an RR
 * otherwise; at most one report block; SDES with CNAME (§6.5.1); a BYE
 * last when bye is set (§6.6).  RFC 3550 §6.1: the first packet is SR or
 * RR, CNAME is always there, no padding. */
struct sb_rtcp_report {
	uint32_t ssrc;
	bool sender;
	uint64_t ntp;          /* SR: NTP timestamp, 32.32 fixed point */
	uint32_t rtp_ts;       /* SR: the same instant in RTP units */
	uint32_t packets;      /* SR: sender's packet count */
	uint32_t octets;       /* SR: sender's payload octet count */
	bool has_block;
	struct sb_rtcp_block block;
	const char *cname;     /* NUL-terminated, 1..SB_RTCP_MAX_CNAME bytes */
	bool bye;
};

/* Write the compound packet.  0, EINVAL (no or too long CNAME), ENOSPC. */
int sb_rtcp_build(void *buf, size_t cap, size_t *len, const struct sb_rtcp_report *r);

/* What a received compound packet held. */
struct sb_rtcp_info {
	unsigned sr, rr, sdes, bye, app, other;
	uint32_t sr_ssrc;      /* of the last SR */
	uint32_t sr_ntp_mid;   /* middle 32 bits of its NTP time (for LSR) */
	uint32_t bye_ssrc;     /* first SSRC of the last BYE */
};

/* Validate and walk a compound packet (RFC 3550 §6.1 and A.2: version 2,
 * the first packet SR or RR without padding, each length within the rest,
 * the lengths adding up to the datagram).  0 or EBADMSG (info then holds
 * what was counted before the fault: do not use it). */
int sb_rtcp_parse(struct sb_rtcp_info *info, const void *buf, size_t len);

/* ========================================================= jitter buffer */

/* Fixed-delay playout (no adaptation): frames are held in a ring ordered
 * by extended sequence number; playout starts when the newest frame is
 * delay_frames ahead of the oldest, and then one 20 ms frame leaves per
 * sb_jitter_get() (the caller's 20 ms timer is the playout clock).  A frame
 * missing at its playout time is lost: it is concealed (a repeat of the
 * last frame, at most SB_JB_MAX_REPEAT times in a row, else silence).  A
 * packet for a frame already played or skipped is late and dropped.  When
 * nothing newer than the playout point has arrived (the sender went quiet:
 * hold, silence suppression, the end of a call) playout pauses and buffers
 * again instead of counting losses, which restores the delay.
 *
 * Each frame holds 1..SB_MEDIA_MAX_FRAME samples; playout takes 160
 * samples at a time across frame boundaries, so 10 or 30 ms packets play
 * at the right speed.  The delay is counted in frames (20 ms each at the
 * ptime we ask for). */
#define SB_JB_MAX_FRAMES      16u /* ring size bound (320 ms at 20 ms) */
#define SB_JB_DEFAULT_DELAY   3u  /* frames: 60 ms */
#define SB_JB_DEFAULT_MAX     10u /* frames: 200 ms */
#define SB_JB_MAX_REPEAT      2u  /* concealment repeats before silence */

struct sb_jitter_cfg {
	unsigned delay_frames;   /* 0: SB_JB_DEFAULT_DELAY */
	unsigned max_frames;     /* 0: SB_JB_DEFAULT_MAX; delay < max <= SB_JB_MAX_FRAMES */
	bool conceal_silence;    /* a lost frame plays silence, never a repeat */
};

struct sb_jitter_stats {
	uint64_t received;   /* frames accepted into the buffer */
	uint64_t played;     /* frames played from the buffer */
	uint64_t lost;       /* frames missing at playout time */
	uint64_t late;       /* arrived after their playout time: dropped */
	uint64_t duplicates; /* arrived twice: dropped */
	uint64_t overflow;   /* dropped to make room (max_frames span) */
	uint64_t resets;     /* sequence jumps that restarted the buffer */
	uint64_t underruns;  /* times playout paused for want of frames */
};

struct sb_jb_slot {
	uint64_t ext;        /* extended sequence number, valid when n > 0 */
	uint16_t n;          /* samples; 0: empty */
	int16_t pcm[SB_MEDIA_MAX_FRAME];
};

/* Embed it (about 16 KiB); fields are private to jitter.c.  The ring
 * holds the window [play_ext, play_ext + max) of extended sequence
 * numbers, slot ext % max. */
struct sb_jitter {
	unsigned delay, max;
	bool conceal_silence;
	bool have_seq;       /* a frame was put since init or reset */
	bool playing;        /* false: buffering */
	bool started;        /* played at least once since the last reset */
	uint64_t max_ext;    /* highest extended seq put */
	uint64_t play_ext;   /* next extended seq to play */
	uint64_t played_mask;/* bit i: frame play_ext-1-i was played (dups) */
	uint16_t bad_seq;    /* after a wild jump: the seq that confirms it */
	bool have_bad;
	/* the frame being played out: samples [cur_off, cur_n) of cur */
	uint16_t cur_n, cur_off;
	unsigned repeats;    /* concealment repeats in a row */
	int16_t cur[SB_MEDIA_MAX_FRAME];
	struct sb_jitter_stats st;
	struct sb_jb_slot slot[SB_JB_MAX_FRAMES];
};

/* cfg may be NULL (defaults).  0 or EINVAL. */
int sb_jitter_init(struct sb_jitter *jb, const struct sb_jitter_cfg *cfg);
/* Forget every frame and the sequence (a new source); keeps the stats. */
void sb_jitter_reset(struct sb_jitter *jb);
/* Put the frame with RTP sequence number seq: n samples of pcm, or n
 * samples of silence when pcm is NULL (a telephone-event or comfort-noise
 * packet that stands for that much time).  0; EEXIST for a duplicate,
 * ETIME for a late frame (both dropped and counted); ERANGE for a wild
 * jump (more than SB_RTP_MAX_DROPOUT ahead or SB_RTP_MAX_MISORDER behind:
 * dropped, but the next frame in sequence with it restarts the buffer, as
 * RFC 3550 A.1 does); EINVAL when n is 0 or past SB_MEDIA_MAX_FRAME. */
int sb_jitter_put(struct sb_jitter *jb, uint16_t seq, const int16_t *pcm, size_t n);
/* The next 20 ms: fills out[SB_MEDIA_FRAME].  Returns true when it holds
 * the stream (played or concealed), false for silence while buffering. */
bool sb_jitter_get(struct sb_jitter *jb, int16_t *out);
/* Frames held now. */
unsigned sb_jitter_count(const struct sb_jitter *jb);

/* ================================================================= tone */

/* A sine at freq Hz with peak amplitude amp (0..1 of full scale),
 * phase-continuous across calls: a 32-bit phase accumulator, so the
 * frequency never drifts, and a polynomial sine (no libm). */
struct sb_tone {
	uint32_t phase;
	uint32_t step;
	double amp;
};

/* 0, or EINVAL unless 0 < freq < rate/2 and 0 <= amp <= 1. */
int sb_tone_init(struct sb_tone *t, double freq, double amp, unsigned rate);
void sb_tone_fill(struct sb_tone *t, int16_t *out, size_t n);
/* sin(2*pi*turns), error below 1e-15 for |turns| < 2^20. */
double sb_tone_sin_turns(double turns);

/* ================================================================= WAV */

/* WAV (and every other format libsndfile reads) in, 8 kHz mono 16-bit
 * PCM WAV out.  libsndfile converts sample formats and we mix channels
 * down; it does not resample, so a file not at 8000 Hz is refused with
 * ENOTSUP and a reason in why (convert it first, e.g. with sox). */
struct sb_wav;

#define SB_WAV_MAX_CHANNELS 8u
/* A recording stops growing (quietly) at 24 hours: a WAV file must stay
 * under 4 GiB and a phone left running must not fill a disk. */
#define SB_WAV_MAX_WRITE_SAMPLES (24ull * 3600u * SB_MEDIA_RATE)

/* why (may be NULL) receives a one-line reason on failure.  0, ENOENT or
 * another errno for a file that cannot be opened, EBADMSG for one
 * libsndfile does not understand, ENOTSUP for a rate other than 8000 Hz,
 * E2BIG for more than SB_WAV_MAX_CHANNELS channels, ENOMEM. */
int sb_wav_open_read(struct sb_wav **wp, const char *path, char *why, size_t why_cap);
/* Create or truncate path as 8 kHz mono 16-bit PCM WAV.  The header is
 * kept current as samples are written, so a killed phone leaves a
 * playable file. */
int sb_wav_open_write(struct sb_wav **wp, const char *path, char *why, size_t why_cap);
/* Read up to n samples (mono); at the end, start again when loop is set.
 * Returns the number read: less than n only at the end of a file not
 * looped (0: the end; also for an empty file even when looped). */
size_t sb_wav_read(struct sb_wav *w, int16_t *out, size_t n, bool loop);
/* Append n samples.  0, ENOSPC past SB_WAV_MAX_WRITE_SAMPLES (nothing
 * written), EIO. */
int sb_wav_write(struct sb_wav *w, const int16_t *pcm, size_t n);
/* Samples read or written so far. */
uint64_t sb_wav_samples(const struct sb_wav *w);
/* Close (finishing the header).  NULL is a no-op. */
void sb_wav_close(struct sb_wav *w);

/* ================================================================= DTMF */

/* RFC 4733 telephone-events: 0-9 * # A-D and flash (event 16, '!'). */
struct sb_dtmf_event {
	uint8_t event;       /* 0..255 */
	bool end;            /* E */
	uint8_t volume;      /* 0..63, -dBm0 */
	uint16_t duration;   /* timestamp units */
};

/* '0'..'9', '*', '#', 'A'..'D' (or lower case), '!' (flash) -> 0..16; -1. */
int sb_dtmf_code(char digit);
/* 0..16 -> the digit character; 0 for other events. */
char sb_dtmf_digit(unsigned code);
/* RFC 4733 §2.3: the 4-byte payload.  EBADMSG when shorter than 4 bytes
 * (more is tolerated: RFC 4733 §2.5.1.5 allows redundancy, not used by
 * us). */
int sb_dtmf_parse(struct sb_dtmf_event *ev, const uint8_t *p, size_t len);
void sb_dtmf_write(uint8_t out[4], const struct sb_dtmf_event *ev);

/* Sending one digit at a time, one packet per 20 ms tick (RFC 4733
 * §2.5.1): the first packet with the marker bit, updates with the same
 * timestamp and a duration growing by 160, then the final duration with E
 * set, sent three times (§2.5.1.4); then a gap of silence before the next
 * digit.  Audio is replaced by the event packets while one is sent. */
#define SB_DTMF_QUEUE        32u  /* digits waiting */
#define SB_DTMF_TONE_FRAMES  5u   /* 100 ms of tone */
#define SB_DTMF_END_REPEATS  3u
#define SB_DTMF_GAP_FRAMES   3u   /* 60 ms of audio between digits */
#define SB_DTMF_VOLUME       10u  /* -10 dBm0 */

struct sb_dtmf_tx {
	char queue[SB_DTMF_QUEUE];
	unsigned head, count;
	int code;            /* the event being sent, -1: none */
	unsigned frame;      /* tick within it: tone, end repeats, gap */
	uint32_t ts;         /* its RTP timestamp */
};

/* What one tick sends: nothing (send audio), or one event packet. */
struct sb_dtmf_tick {
	bool send;           /* an event packet this tick */
	bool marker;
	uint32_t ts;
	uint8_t payload[4];
	bool mute;           /* no audio this tick (event or its gap) */
};

void sb_dtmf_tx_init(struct sb_dtmf_tx *tx);
/* Queue digits (sb_dtmf_code characters).  0, EINVAL for a character that
 * is not a digit (nothing queued), ENOSPC when they do not all fit
 * (nothing queued). */
int sb_dtmf_tx_queue(struct sb_dtmf_tx *tx, const char *digits);
/* One 20 ms tick whose audio would carry RTP timestamp ts. */
void sb_dtmf_tx_tick(struct sb_dtmf_tx *tx, uint32_t ts, struct sb_dtmf_tick *out);
/* Digits queued or being sent. */
static inline bool sb_dtmf_tx_busy(const struct sb_dtmf_tx *tx)
{
	return tx->count > 0 || tx->code >= 0;
}

/* Receiving: an event is known by its RTP timestamp (RFC 4733 §2.5.2.1);
 * its updates and end repeats carry the same one, so each event is
 * reported once, at the first packet seen of it (the marker may be lost). */
struct sb_dtmf_rx {
	bool have;
	uint32_t ts;         /* of the last event reported */
	uint8_t code;
	uint32_t ssrc;
};

void sb_dtmf_rx_init(struct sb_dtmf_rx *rx);
/* Returns the digit to report for this packet, or 0 (a repeat, or an event
 * that is not a DTMF digit). */
char sb_dtmf_rx_packet(struct sb_dtmf_rx *rx, uint32_t ssrc, uint32_t ts,
		       const struct sb_dtmf_event *ev);

/* ============================================================== session */

/* One audio stream: an RTP socket on an even port and RTCP on the next
 * (RFC 3550 §11), the remote from the SDP answer, a source, a sink, a
 * direction, and a 20 ms clock on the loop that sends one packet and
 * plays one frame per tick (drift-free: ticks are counted from the start,
 * and a late loop catches up at most SB_MEDIA_MAX_CATCHUP ticks).
 *
 * Recording follows wall time: from sb_media_start() to sb_media_stop()
 * every tick writes 160 samples to the sink, the jitter buffer's output
 * or silence (hold, recvonly-not-allowed, loss, nothing arriving), so a
 * recording lasts as long as the call.
 *
 * Sending without a source (SB_MEDIA_SRC_NONE) sends silence frames, so
 * the peer and any NAT on the path see a live stream. */
struct sb_media;

#define SB_MEDIA_MAX_CATCHUP       5u    /* ticks run at once after a stall */
#define SB_MEDIA_RX_BURST          64u   /* datagrams read per wake-up */
#define SB_MEDIA_RTCP_INTERVAL_MS  5000u /* RFC 3550 §6.2 minimum */
#define SB_MEDIA_PORT_TRIES        64u   /* even-port pair attempts */
/* A new SSRC replaces the one being played after this long without it. */
#define SB_MEDIA_SSRC_SWITCH_MS    200u

/* The direction in our own SDP's terms (RFC 3264 §5.1): sendrecv and
 * sendonly send, sendrecv and recvonly play what arrives.  NONE counts as
 * sendrecv. */
static inline bool sb_media_dir_sends(enum sb_sdp_dir d)
{
	return d == SB_SDP_DIR_NONE || d == SB_SDP_DIR_SENDRECV || d == SB_SDP_DIR_SENDONLY;
}
static inline bool sb_media_dir_receives(enum sb_sdp_dir d)
{
	return d == SB_SDP_DIR_NONE || d == SB_SDP_DIR_SENDRECV || d == SB_SDP_DIR_RECVONLY;
}

/* A received DTMF digit ('0'..'9', '*', '#', 'A'..'D', '!'), once each,
 * called from the session's receive handler on the loop thread.  It may
 * call any function, sb_media_free() of this very session included: the
 * session then reads nothing more (its sockets are closed at once) and
 * its memory is released when the receive handler returns; after
 * sb_media_free() the handler must not touch the session again. */
typedef void (sb_media_dtmf_h)(char digit, void *arg);

struct sb_media_cfg {
	/* Local address to bind (its port: 0 picks an even pair; else the even
	 * RTP port, RTCP on port + 1).  Family AF_INET or AF_INET6. */
	struct sb_addr local;
	/* With port 0: pick from [port_min, port_max] (both even; 0, 0: the
	 * kernel's ephemeral ports). */
	uint16_t port_min, port_max;
	const char *cname;            /* RTCP CNAME; NULL: random (RFC 7022) */
	struct sb_jitter_cfg jitter;  /* zeros: defaults */
	unsigned rtcp_interval_ms;    /* 0: SB_MEDIA_RTCP_INTERVAL_MS */
	sb_media_dtmf_h *dtmf_h;
	void *arg;
};

/* What the SDP exchange decided (RFC 3264 §6.1), for sb_media_update(). */
struct sb_media_params {
	struct sb_addr rtp;           /* remote RTP; zeroed (len 0): none */
	struct sb_addr rtcp;          /* remote RTCP; len 0: rtp port + 1 */
	uint8_t pt;                   /* 0 (PCMU) or 8 (PCMA) to send */
	int dtmf_pt;                  /* telephone-event PT 96..127, -1: none */
	enum sb_sdp_dir dir;          /* ours, as in sb_media_dir_sends() */
};

enum sb_media_src {
	SB_MEDIA_SRC_NONE = 0,        /* silence */
	SB_MEDIA_SRC_TONE,
	SB_MEDIA_SRC_WAV,
};

struct sb_media_stats {
	uint64_t rtp_sent, octets_sent;       /* payload octets (§6.4.1) */
	uint64_t rtp_recv, octets_recv;       /* accepted packets, payload octets */
	uint64_t rtp_bad;                     /* not RTP (sb_rtp_parse failed) */
	uint64_t rtp_ignored;                 /* unknown PT, other SSRC, not receiving, too big */
	uint64_t send_errors;                 /* sendto() failures (ICMP errors...) */
	int64_t lost;                         /* RFC 3550 A.3 cumulative */
	uint32_t jitter;                      /* RFC 3550 A.8, timestamp units (1/8 ms) */
	uint64_t rtcp_sent, rtcp_recv, rtcp_bad;
	uint64_t sr_recv, rr_recv, bye_recv;  /* RTCP packets inside compounds */
	uint64_t dtmf_sent, dtmf_recv;        /* digits */
	uint64_t ticks, ticks_skipped;        /* 20 ms ticks run, and given up */
	uint64_t rec_samples;                 /* samples written to the sink */
	struct sb_jitter_stats jb;
};

/* Open the sockets (bound, non-blocking) and watch them on l; the clock
 * does not run yet.  0, EINVAL (cfg), EADDRINUSE (a given port, or no
 * even pair found), ENOMEM, or a socket errno. */
int sb_media_alloc(struct sb_media **mp, struct sb_loop *l, const struct sb_media_cfg *cfg);
/* Stop (as sb_media_stop) and close everything.  NULL is a no-op. */
void sb_media_free(struct sb_media *m);

/* The bound RTP address (its port for m=, RTCP is port + 1). */
void sb_media_local(const struct sb_media *m, struct sb_addr *rtp);
uint16_t sb_media_local_port(const struct sb_media *m);

/* Apply the outcome of an offer/answer, at any time (re-INVITE).  A
 * direction that starts receiving again restarts the jitter buffer.  RTCP
 * goes to p->rtcp, else to the RTP port + 1; with RTP on port 65535 (no
 * port + 1) or an RTCP port of 0, no RTCP is sent.  0 or EINVAL (pt not
 * 0/8, dtmf_pt outside 96..127 and not -1, family of the remote unlike the
 * socket's). */
int sb_media_update(struct sb_media *m, const struct sb_media_params *p);
int sb_media_set_dir(struct sb_media *m, enum sb_sdp_dir dir);
enum sb_sdp_dir sb_media_dir(const struct sb_media *m);

/* Sources.  A WAV source is read 160 samples a tick; once, it ends in
 * silence.  why gets the reason of a failure (see sb_wav_open_read). */
void sb_media_source_none(struct sb_media *m);
int sb_media_source_tone(struct sb_media *m, double freq, double amp);
int sb_media_source_wav(struct sb_media *m, const char *path, bool loop, char *why, size_t why_cap);
/* True once a WAV source played once has reached its end. */
bool sb_media_source_done(const struct sb_media *m);

/* Record to path (8 kHz mono 16-bit WAV), replacing the current sink;
 * NULL stops recording (closes the file). */
int sb_media_sink_wav(struct sb_media *m, const char *path, char *why, size_t why_cap);

/* Start the 20 ms clock and RTCP (the call is up).  0, EALREADY, or the
 * loop's error. */
int sb_media_start(struct sb_media *m);
/* Send an RTCP BYE (if ever started and a remote is known), stop the
 * clock, close the sink.  Sockets stay open; start may be called again. */
void sb_media_stop(struct sb_media *m);
bool sb_media_running(const struct sb_media *m);

/* Queue DTMF digits to send as telephone-events.  0; EINVAL (a character
 * not a digit), ENOSPC (queue), ENOTSUP (no telephone-event negotiated). */
int sb_media_send_dtmf(struct sb_media *m, const char *digits);
bool sb_media_dtmf_busy(const struct sb_media *m);

void sb_media_get_stats(const struct sb_media *m, struct sb_media_stats *st);

/* From a parsed SDP answer (or an offer we answer): the remote address
 * (c=, numeric only), port (m=), RTCP (a=rtcp, RFC 3605, else port + 1),
 * the first of PCMU/PCMA among the m= formats, the first telephone-event/8000
 * among them (formats in the m= line's order; an rtpmap for a payload type
 * the line does not list is ignored), and
 * our effective direction: want (what we offered or answered) limited by
 * the mirror of theirs (they recvonly: we may only send).  A port of 0, a
 * c= of 0.0.0.0 (RFC 3264 §8.4 old-style hold) or no remote address makes
 * us not send.  media is the index of the m=audio line to use (the first
 * audio with RTP/AVP when SIZE_MAX).  0; ENOENT (no usable audio stream),
 * ENOTSUP (no G.711 format in it), EINVAL (an address that is not a
 * numeric IP: resolve names first). */
int sb_media_params_from_sdp(struct sb_media_params *p, const struct sb_sdp *remote,
			     size_t media, enum sb_sdp_dir want);

#endif
