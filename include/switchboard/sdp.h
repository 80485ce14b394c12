/* sdp: Session Description Protocol bodies (RFC 8866) as used by SIP
 * offer/answer (RFC 3264): a zero-copy parser, a printer, and a small
 * builder for the offers and answers a phone sends.
 *
 * sb_sdp_parse() fills a struct sb_sdp with slices into the caller's body
 * bytes (which must outlive it) and fixed arrays: it never allocates.  The
 * struct is large (tens of KiB: every array is sized by a bound below), so
 * keep it in a dialog or on the heap rather than on a hot stack.
 *
 * The attributes offer/answer needs are parsed into typed fields (direction,
 * rtpmap, fmtp, ptime, rtcp); every other a= line is kept raw, in order, in
 * attrs[].  sb_sdp_print() writes the typed fields and then the raw ones, so
 * parse -> print -> parse gives the same values (attribute order between
 * typed and raw ones is normalised, RFC 8866 §5.13 gives it no meaning). */
#ifndef SWITCHBOARD_SDP_H
#define SWITCHBOARD_SDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "switchboard/base.h"

/* ---------------------------------------------------------------- bounds */

/* Input past any of these makes sb_sdp_parse() return E2BIG. */
#define SB_SDP_MAX_MEDIA      8u  /* m= sections per body */
#define SB_SDP_MAX_FORMATS    32u /* formats per m=; also rtpmap and fmtp lines per m= */
#define SB_SDP_MAX_ATTRS      32u /* a= lines per level (session, or one m=) */
#define SB_SDP_MAX_BANDWIDTHS 4u  /* b= lines per level */
#define SB_SDP_MAX_TIMES      4u  /* t= lines per body */
#define SB_SDP_MAX_REPEATS    4u  /* r= lines per t= */
#define SB_SDP_MAX_CONTACTS   4u  /* e= lines, and p= lines, per body */
/* RFC 8866 §5.7 allows several c= per m= (layered multicast); a phone and a
 * proxy never need that, so one c= per m= is our bound (a second: E2BIG). */

/* ----------------------------------------------------------------- types */

/* Media direction, RFC 8866 §6.7 / RFC 3264 §5.1.  NONE: no attribute. */
enum sb_sdp_dir {
	SB_SDP_DIR_NONE = 0,
	SB_SDP_DIR_SENDRECV,
	SB_SDP_DIR_SENDONLY,
	SB_SDP_DIR_RECVONLY,
	SB_SDP_DIR_INACTIVE,
};

/* Address family from the addrtype token (RFC 8866 §5.7). */
enum sb_sdp_af {
	SB_SDP_AF_OTHER = 0, /* an extension addrtype: look at the slice */
	SB_SDP_AF_IP4,
	SB_SDP_AF_IP6,
};

/* c= (and the address part of o= and a=rtcp).  addr.p == NULL: absent. */
struct sb_sdp_conn {
	struct sb_slice nettype;   /* "IN" */
	struct sb_slice addrtype;  /* "IP4", "IP6" */
	enum sb_sdp_af af;
	struct sb_slice addr;      /* IPv4/IPv6 literal or FQDN, without "/ttl" */
	struct sb_slice multicast; /* "ttl[/count]" or "count" after the first
				    * '/', digits only; absent for unicast */
};

/* o= (RFC 8866 §5.2). */
struct sb_sdp_origin {
	struct sb_slice username; /* "-" when the host has no user ids */
	uint64_t sess_id;
	uint64_t sess_version;
	struct sb_slice nettype;
	struct sb_slice addrtype;
	enum sb_sdp_af af;
	struct sb_slice addr;
};

/* b=<type>:<value> (RFC 8866 §5.8), e.g. AS:64 (kbit/s). */
struct sb_sdp_bw {
	struct sb_slice type;
	uint64_t value;
};

/* t= with its r= lines kept raw (RFC 8866 §5.9, §5.10). */
struct sb_sdp_time {
	uint64_t start;
	uint64_t stop;
	struct sb_slice repeat[SB_SDP_MAX_REPEATS];
	size_t nrepeat;
};

/* a=<name>[:<value>]; value.p == NULL for a property attribute (a=foo),
 * present-but-empty for a=foo: (RFC 8866 §5.13). */
struct sb_sdp_attr {
	struct sb_slice name;
	struct sb_slice value;
};

/* a=rtpmap:<pt> <encoding>/<clock>[/<channels>] (RFC 8866 §6.6). */
struct sb_sdp_rtpmap {
	uint8_t pt;               /* 0..127 */
	struct sb_slice encoding; /* "PCMU", "telephone-event" */
	uint32_t clock;           /* Hz; 0 when the line has none (RFC 4475 wsinv) */
	uint32_t channels;        /* 0 when not given (means 1 for audio) */
};

/* a=fmtp:<pt> <params> (RFC 8866 §6.15). */
struct sb_sdp_fmtp {
	uint8_t pt;
	struct sb_slice params; /* raw, e.g. "0-16" */
};

/* One m= section and what belongs to it (RFC 8866 §5.14). */
struct sb_sdp_media {
	struct sb_slice type;  /* "audio", "video", ... */
	uint16_t port;         /* 0: stream rejected/disabled (RFC 3264 §6) */
	uint32_t port_count;   /* the "/count" of m=, 0 when absent */
	struct sb_slice proto; /* "RTP/AVP", "RTP/SAVP", "udptl", ... */
	struct sb_slice fmts[SB_SDP_MAX_FORMATS];
	size_t nfmt;

	struct sb_slice info;    /* i=, absent when p == NULL */
	struct sb_sdp_conn conn; /* c=, absent when conn.addr.p == NULL */
	struct sb_sdp_bw bw[SB_SDP_MAX_BANDWIDTHS];
	size_t nbw;
	struct sb_slice key;     /* k= (obsolete, RFC 8866 §5.12), kept raw */

	enum sb_sdp_dir dir;     /* this level only; see sb_sdp_media_dir() */
	struct sb_sdp_rtpmap rtpmap[SB_SDP_MAX_FORMATS];
	size_t nrtpmap;
	struct sb_sdp_fmtp fmtp[SB_SDP_MAX_FORMATS];
	size_t nfmtp;
	uint32_t ptime;          /* a=ptime in ms, 0 when absent */
	bool has_rtcp;           /* a=rtcp (RFC 3605) */
	uint16_t rtcp_port;
	struct sb_sdp_conn rtcp_conn; /* optional address of a=rtcp */
	struct sb_sdp_attr attrs[SB_SDP_MAX_ATTRS]; /* every other a=, in order */
	size_t nattr;
};

/* A whole body.  Session-level fields in RFC 8866 §5 order. */
struct sb_sdp {
	struct sb_sdp_origin origin;   /* o= */
	struct sb_slice name;          /* s= (the corpus has empty ones) */
	struct sb_slice info;          /* i= */
	struct sb_slice uri;           /* u= */
	struct sb_slice emails[SB_SDP_MAX_CONTACTS]; /* e= */
	size_t nemail;
	struct sb_slice phones[SB_SDP_MAX_CONTACTS]; /* p= */
	size_t nphone;
	struct sb_sdp_conn conn;       /* c=, absent when conn.addr.p == NULL */
	struct sb_sdp_bw bw[SB_SDP_MAX_BANDWIDTHS];
	size_t nbw;
	struct sb_sdp_time times[SB_SDP_MAX_TIMES];
	size_t ntime;
	struct sb_slice zone;          /* z=, raw */
	struct sb_slice key;           /* k=, raw */
	enum sb_sdp_dir dir;           /* session-level direction attribute */
	struct sb_sdp_attr attrs[SB_SDP_MAX_ATTRS]; /* every other a=, in order */
	size_t nattr;
	struct sb_sdp_media media[SB_SDP_MAX_MEDIA];
	size_t nmedia;
};

/* ---------------------------------------------------------------- parser */

/* Parse a whole SDP body.  Lines end in CRLF or bare LF (RFC 8866 §5); the
 * last line must end too (a body without one was cut short).  Returns 0,
 * EBADMSG when malformed, E2BIG when past a bound above.  On error *s is
 * left zeroed or partly filled: do not use it. */
int sb_sdp_parse(struct sb_sdp *s, struct sb_slice body);

/* ------------------------------------------------------------- accessors */

/* Effective direction of a stream: its own attribute, else the session's,
 * else sendrecv (RFC 3264 §5.1).  Never SB_SDP_DIR_NONE. */
enum sb_sdp_dir sb_sdp_media_dir(const struct sb_sdp *s, const struct sb_sdp_media *m);

/* Effective connection of a stream: its own c=, else the session c=
 * (RFC 8866 §5.7).  NULL when neither exists (a malformed offer). */
const struct sb_sdp_conn *sb_sdp_media_conn(const struct sb_sdp *s,
					    const struct sb_sdp_media *m);

/* The rtpmap for payload type pt in m: its a=rtpmap line, else the static
 * assignment of RFC 3551 §6 (0 PCMU/8000, 8 PCMA/8000, ...).  Returns 0 and
 * fills *out, or ENOENT. */
int sb_sdp_find_rtpmap(const struct sb_sdp_media *m, unsigned pt, struct sb_sdp_rtpmap *out);

/* The first a=fmtp for pt in m, or NULL. */
const struct sb_sdp_fmtp *sb_sdp_find_fmtp(const struct sb_sdp_media *m, unsigned pt);

/* "sendrecv", "sendonly", "recvonly", "inactive"; "" for NONE. */
const char *sb_sdp_dir_name(enum sb_sdp_dir d);

/* The direction an answer may carry (RFC 3264 §6.1): what the offerer sends
 * the answerer may receive and vice versa, limited by what the answerer
 * wants (e.g. want = SENDRECV, or SENDONLY when it puts the call on hold).
 * NONE counts as sendrecv.  Offer sendonly + want sendrecv -> recvonly. */
enum sb_sdp_dir sb_sdp_dir_answer(enum sb_sdp_dir offered, enum sb_sdp_dir want);

/* --------------------------------------------------------------- printer */

/* Write s as an SDP body with CRLF line ends, fields in RFC 8866 §5 order:
 * v o s i u e p c b (t r)* z k a*, then per m=: i c b k a*.  Returns 0,
 * EINVAL when a field cannot be printed as valid SDP (a token with a space,
 * text with CR/LF/NUL, a count past its bound, no t=), or the buffer's
 * error (ENOSPC); on error out->len is restored. */
int sb_sdp_print(struct sb_buf *out, const struct sb_sdp *s);

/* One payload type of an offer or answer. */
struct sb_sdp_codec {
	uint8_t pt;           /* 0..127 */
	struct sb_slice name; /* encoding name, e.g. SB_LIT("PCMU") */
	uint32_t clock;       /* Hz */
	uint32_t channels;    /* 0: not printed */
	struct sb_slice fmtp; /* absent (p == NULL): no a=fmtp */
};

/* Convenience initialisers for automatic arrays of struct sb_sdp_codec. */
#define SB_SDP_CODEC_PCMU { 0, SB_LIT("PCMU"), 8000, 0, SB_SLICE_NULL }
#define SB_SDP_CODEC_PCMA { 8, SB_LIT("PCMA"), 8000, 0, SB_SLICE_NULL }
/* RFC 4733 §7.1.1: DTMF events 0-15 (and 16, hook flash). */
#define SB_SDP_CODEC_TELEPHONE_EVENT \
	{ 101, SB_LIT("telephone-event"), 8000, 0, SB_LIT("0-16") }

/* A phone's single-audio-stream offer or answer (RFC 3264 §5, §6). */
struct sb_sdp_offer_spec {
	struct sb_slice user;         /* o= username; absent: "-" */
	uint64_t sess_id;
	uint64_t sess_version;        /* RFC 3264 §8: +1 for every new offer */
	enum sb_sdp_af af;            /* SB_SDP_AF_IP4 or SB_SDP_AF_IP6 */
	struct sb_slice addr;         /* o= and c= address */
	struct sb_slice session_name; /* s=; absent: "-" */
	uint16_t port;                /* RTP port; 0 rejects the stream */
	const struct sb_sdp_codec *codecs; /* in order of preference */
	size_t ncodecs;               /* 1..SB_SDP_MAX_FORMATS */
	uint32_t ptime;               /* ms; 0: no a=ptime */
	enum sb_sdp_dir dir;          /* NONE: no attribute (means sendrecv) */
};

/* Print the body for spec: v o s c t, one m=audio RTP/AVP with rtpmap (and
 * fmtp) for every codec, ptime and direction.  Returns 0, EINVAL for a bad
 * spec, or the buffer's error; on error out->len is restored. */
int sb_sdp_print_offer(struct sb_buf *out, const struct sb_sdp_offer_spec *spec);

#endif
