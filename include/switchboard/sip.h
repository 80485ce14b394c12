/* sip: the SIP message model (RFC 3261 sections 7, 20 and 25).
 *
 * A received message is parsed once into slices over the caller's bytes:
 * start line, header fields (name, value, whole line) and body.  Nothing is
 * copied and nothing is NUL-terminated, so the bytes must outlive the
 * struct sb_sip_msg.  Header values are parsed into typed structs only when
 * asked for (lazy, as Kamailio does); the typed structs are slices too.
 *
 * Sections: bounds; methods and header ids; the message and its parser; the
 * stream framer; typed values (URI, params, name-addr, Via, CSeq, digest,
 * extension headers); validation; the printer. */
#ifndef SWITCHBOARD_SIP_H
#define SWITCHBOARD_SIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "switchboard/base.h"

struct sb_sip_msg;

/* ---------------------------------------------------------------- bounds */

/* Every bound is named here; input past one gets the error named beside it. */
#define SB_SIP_MAX_MSG_SIZE   65535u /* bytes, start line to end of body: 513 */
#define SB_SIP_MAX_HEADERS    128u   /* header fields (lines) per message: 513 */
#define SB_SIP_MAX_VIA        64u    /* Via values per message: 513 */
#define SB_SIP_MAX_URI_LEN    2048u  /* Request-URI bytes: 414 */
#define SB_SIP_MAX_METHOD_LEN 64u    /* method token bytes: 400 */
#define SB_SIP_MAX_EDITS      32u    /* edits recorded against one message */
#define SB_SIP_NO_HDR         0xffffu

/* --------------------------------------------------- methods, header ids */

enum sb_sip_method {
	SB_METHOD_OTHER = 0, /* an extension method: compare by its slice */
	SB_METHOD_INVITE,
	SB_METHOD_ACK,
	SB_METHOD_BYE,
	SB_METHOD_CANCEL,
	SB_METHOD_REGISTER,
	SB_METHOD_OPTIONS,
	SB_METHOD_INFO,
	SB_METHOD_PRACK,
	SB_METHOD_SUBSCRIBE,
	SB_METHOD_NOTIFY,
	SB_METHOD_UPDATE,
	SB_METHOD_MESSAGE,
	SB_METHOD_REFER,
	SB_METHOD_PUBLISH,
};

/* Methods are case-sensitive (RFC 3261 §7.1): "invite" is an extension. */
enum sb_sip_method sb_sip_method_from(struct sb_slice s);
const char *sb_sip_method_name(enum sb_sip_method m);

enum sb_sip_hdr_id {
	SB_HDR_OTHER = 0, /* unknown: kept byte for byte */
	SB_HDR_VIA,
	SB_HDR_FROM,
	SB_HDR_TO,
	SB_HDR_CALL_ID,
	SB_HDR_CSEQ,
	SB_HDR_MAX_FORWARDS,
	SB_HDR_CONTACT,
	SB_HDR_EXPIRES,
	SB_HDR_MIN_EXPIRES,
	SB_HDR_ROUTE,
	SB_HDR_RECORD_ROUTE,
	SB_HDR_CONTENT_TYPE,
	SB_HDR_CONTENT_LENGTH,
	SB_HDR_CONTENT_ENCODING,
	SB_HDR_REQUIRE,
	SB_HDR_PROXY_REQUIRE,
	SB_HDR_SUPPORTED,
	SB_HDR_UNSUPPORTED,
	SB_HDR_ALLOW,
	SB_HDR_ACCEPT,
	SB_HDR_WWW_AUTHENTICATE,
	SB_HDR_PROXY_AUTHENTICATE,
	SB_HDR_AUTHORIZATION,
	SB_HDR_PROXY_AUTHORIZATION,
	SB_HDR_AUTHENTICATION_INFO,
	SB_HDR_REFER_TO,
	SB_HDR_REFERRED_BY,
	SB_HDR_REPLACES,
	SB_HDR_EVENT,
	SB_HDR_ALLOW_EVENTS,
	SB_HDR_SUBSCRIPTION_STATE,
	SB_HDR_REASON,
	SB_HDR_RETRY_AFTER,
	SB_HDR_WARNING,
	SB_HDR_SUBJECT,
	SB_HDR_USER_AGENT,
	SB_HDR_SERVER,
	SB_HDR_DATE,
	SB_HDR__COUNT
};

/* Long and compact names (RFC 3261 §7.3.3, §20), case-insensitive. */
enum sb_sip_hdr_id sb_sip_hdr_lookup(struct sb_slice name);
/* The canonical long name, e.g. "Call-ID"; "" for SB_HDR_OTHER. */
const char *sb_sip_hdr_name(enum sb_sip_hdr_id id);

/* --------------------------------------------------------- URI and params */

/* Parameters, and headers, per URI: more fail the parse (400), which keeps
 * the O(n*m) comparison of sb_uri_equal cheap. */
#define SB_URI_MAX_PARAMS 64u

enum sb_uri_scheme { SB_URI_OTHER = 0, SB_URI_SIP, SB_URI_SIPS, SB_URI_TEL };
enum sb_host_type { SB_HOST_NONE = 0, SB_HOST_NAME, SB_HOST_IPV4, SB_HOST_IPV6 };

struct sb_uri {
	enum sb_uri_scheme scheme;
	struct sb_slice scheme_s;  /* as written */
	struct sb_slice user;      /* still escaped; tel: the number */
	struct sb_slice password;
	struct sb_slice host;      /* IPv6 references keep their [] */
	enum sb_host_type host_type;
	uint16_t port;             /* 0 when absent */
	struct sb_slice params;    /* text after the first ';' up to '?' */
	struct sb_slice headers;   /* text after '?' */
	struct sb_slice opaque;    /* other schemes: all after ':' */
	/* well-known URI parameters (RFC 3261 §19.1.1), values still escaped */
	struct sb_slice transport, maddr, user_param, method, ttl;
	bool lr;
};

/* Parse a whole URI (no surrounding <> or LWS).  0 or EBADMSG. */
int sb_uri_parse(struct sb_uri *u, struct sb_slice s);
/* RFC 3261 §19.1.4 comparison (tel: RFC 3966 §4). */
bool sb_uri_equal(const struct sb_uri *a, const struct sb_uri *b);
/* Decode %HH escapes once.  Returns 0, EBADMSG on a bad escape, ENOSPC. */
int sb_uri_unescape(struct sb_slice in, char *out, size_t cap, size_t *outlen);

/* Classify a whole host: hostname, IPv4address or IPv6reference (RFC 3261
 * §25.1, RFC 5118); an IPv6 address needs its [].  SB_HOST_NONE if invalid. */
enum sb_host_type sb_host_classify(struct sb_slice host);
/* Parse a bare IPv6address (no []) into 16 bytes; tolerates the RFC 5118
 * §4.10 "2001:db8:::192.0.2.1" form.  False when malformed. */
bool sb_ipv6_parse(struct sb_slice s, uint8_t out[16]);

/* Iterate ';'-separated parameters "name[=value]" with optional LWS around
 * ';' and '=' (header params); value.p is NULL for a flag parameter, and a
 * quoted-string value is returned with its quotes.  Returns false at the end;
 * *bad (if not NULL) is set on a malformed parameter (e.g. empty name). */
bool sb_param_next(struct sb_slice *rest, struct sb_slice *name,
		   struct sb_slice *value, bool *bad);
/* Find a parameter by case-insensitive name: 0, ENOENT, or EBADMSG when a
 * malformed parameter is met before it.  *value as from sb_param_next. */
int sb_param_find(struct sb_slice params, const char *name, struct sb_slice *value);

/* ---------------------------------------------------- name-addr, Contact */

struct sb_nameaddr {
	struct sb_slice display;   /* as written (quotes kept), or absent */
	struct sb_slice uri_s;     /* URI text without <> */
	struct sb_uri uri;
	bool angle;                /* written as <...> */
	bool star;                 /* Contact: * */
	struct sb_slice params;    /* header params: text after the first ';'
	                              following the URI, raw; absent if none */
	struct sb_slice tag;       /* From/To tag */
	struct sb_slice q;         /* Contact q, raw */
	struct sb_slice expires;   /* Contact expires, raw */
};

/* One name-addr / addr-spec value with its parameters (From, To, Contact,
 * Route, Record-Route, Refer-To, Referred-By).  0 or EBADMSG. */
int sb_nameaddr_parse(struct sb_nameaddr *na, struct sb_slice s);
/* Contact q as thousandths (q=0.5 is 500); 1000 when absent.  0 or EBADMSG. */
int sb_contact_q(const struct sb_nameaddr *na, unsigned *q1000);
/* Contact expires param: 0, ENOENT, EBADMSG; large values clamp to UINT32_MAX. */
int sb_contact_expires(const struct sb_nameaddr *na, uint32_t *secs);

/* From and To of a message, parsed on first use and cached. */
int sb_sip_msg_from(struct sb_sip_msg *m, const struct sb_nameaddr **out);
int sb_sip_msg_to(struct sb_sip_msg *m, const struct sb_nameaddr **out);

/* ------------------------------------------------------------------- Via */

struct sb_via {
	struct sb_slice proto_name;    /* "SIP" */
	struct sb_slice proto_version; /* "2.0" */
	struct sb_slice transport;     /* "UDP", "TCP", ... as written */
	struct sb_slice host;          /* sent-by host; IPv6 keeps [] */
	enum sb_host_type host_type;
	uint16_t port;                 /* 0 when absent */
	struct sb_slice params;        /* text after the first ';', raw */
	struct sb_slice branch, received, maddr, ttl;
	struct sb_slice rport;         /* p != NULL when present; l == 0 if no value */
};

/* One Via value (RFC 3261 §20.42, RFC 3581, RFC 5118 §4.5).  0 or EBADMSG. */
int sb_via_parse(struct sb_via *v, struct sb_slice s);
/* The topmost Via of a message, cached. */
int sb_sip_msg_via(struct sb_sip_msg *m, const struct sb_via **out);

/* ------------------------------------------------------ message, parser */

struct sb_sip_hdr {
	struct sb_slice name;  /* as written, without trailing WS */
	struct sb_slice value; /* after ':' and LWS, up to the final CRLF, trailing
	                          LWS trimmed; may contain folded line ends */
	struct sb_slice line;  /* the whole field incl. its final CRLF */
	uint16_t id;           /* enum sb_sip_hdr_id */
	uint16_t next;         /* next field with the same id, or SB_SIP_NO_HDR */
};

/* Problems the parser found that do not stop it.  Validation turns them into
 * the response owed; the framer turns framing ones into a closed connection. */
enum sb_sip_defect {
	SB_DEFECT_NONE = 0,
	SB_DEFECT_BAD_REQUEST_LINE,  /* not "Method SP Request-URI SP SIP-Version" */
	SB_DEFECT_NO_EMPTY_LINE,     /* datagram whose header section never ends */
	SB_DEFECT_BAD_HEADER_LINE,   /* a field without ':' or a bad name */
	SB_DEFECT_BAD_CLEN,          /* Content-Length not a decimal */
	SB_DEFECT_MULTI_CLEN,        /* conflicting Content-Length values */
	SB_DEFECT_SHORT_BODY,        /* Content-Length past the end of data */
	SB_DEFECT_TOO_MANY_HEADERS,  /* SB_SIP_MAX_HEADERS */
	SB_DEFECT_TOO_LARGE,         /* SB_SIP_MAX_MSG_SIZE */
};

/* Lazily parsed values: filled the first time they are asked for. */
struct sb_cseq {
	uint32_t num;
	struct sb_slice method;
	enum sb_sip_method mid;
};

enum sb_sip_cache_bit {
	SB_SIP_CACHE_CSEQ = 1u << 0,
	SB_SIP_CACHE_CALL_ID = 1u << 1,
	SB_SIP_CACHE_MAX_FORWARDS = 1u << 2,
	SB_SIP_CACHE_EXPIRES = 1u << 3,
	SB_SIP_CACHE_FROM = 1u << 4,
	SB_SIP_CACHE_TO = 1u << 5,
	SB_SIP_CACHE_VIA = 1u << 6,
};

struct sb_sip_msg {
	struct sb_slice raw;        /* start line to end of body */
	struct sb_slice start_line; /* without its CRLF */
	bool is_request;
	/* request line */
	struct sb_slice method;
	enum sb_sip_method mid;
	struct sb_slice ruri;
	struct sb_slice version;    /* "SIP/2.0" as written */
	/* status line */
	unsigned status;            /* 100..699; 0 for requests */
	struct sb_slice reason;
	struct sb_slice headers;    /* first header byte up to the empty line */
	struct sb_slice body;
	enum sb_sip_defect defect;  /* first one found */
	unsigned nvia;              /* Via values counted while parsing */
	uint16_t nhdrs;
	uint16_t first[SB_HDR__COUNT];
	uint16_t last[SB_HDR__COUNT];
	uint32_t content_length;    /* valid when a Content-Length was read */
	bool has_content_length;
	/* lazy caches: see sb_sip_msg_cseq() etc.; bits SB_SIP_CACHE_* */
	uint32_t parsed;            /* bit per cache that was attempted */
	uint32_t bad;               /* bit per cache that failed to parse */
	struct sb_cseq cseq;
	struct sb_slice call_id;
	uint32_t max_forwards;
	uint32_t expires;
	struct sb_nameaddr from;
	struct sb_nameaddr to;
	struct sb_via via;          /* the topmost Via value */
	struct sb_sip_hdr hdrs[SB_SIP_MAX_HEADERS];
};

/* How the bytes arrived: a datagram frames a message by Content-Length and
 * discards what follows it (RFC 3261 §18.3); when Content-Length is absent the
 * body is the rest of the datagram.  A stream message must carry a
 * Content-Length (it comes from sb_sip_frame). */
enum sb_sip_transport_kind { SB_SIP_DATAGRAM, SB_SIP_STREAM };

/* Parse buf[0..len) into *m.  Returns 0 when the start line and the header
 * section were split (m->defect may still name a problem that validation
 * turns into a response), EBADMSG when the bytes are not a SIP message at all
 * (no response is possible: drop), ENODATA when a stream message's header
 * section is not terminated (need more bytes).  A datagram whose header
 * section never ends is parsed to its end with SB_DEFECT_NO_EMPTY_LINE. */
int sb_sip_parse(struct sb_sip_msg *m, const char *buf, size_t len,
		 enum sb_sip_transport_kind kind);

/* Header access.  Indexes are into m->hdrs. */
static inline const struct sb_sip_hdr *sb_sip_hdr_first(const struct sb_sip_msg *m,
							 enum sb_sip_hdr_id id)
{
	return m->first[id] == SB_SIP_NO_HDR ? NULL : &m->hdrs[m->first[id]];
}
static inline const struct sb_sip_hdr *sb_sip_hdr_next(const struct sb_sip_msg *m,
							const struct sb_sip_hdr *h)
{
	return h->next == SB_SIP_NO_HDR ? NULL : &m->hdrs[h->next];
}
unsigned sb_sip_hdr_count(const struct sb_sip_msg *m, enum sb_sip_hdr_id id);
/* Unknown headers by name (case-insensitive), e.g. "NewFangledHeader". */
const struct sb_sip_hdr *sb_sip_hdr_find(const struct sb_sip_msg *m, struct sb_slice name);

/* Split the next comma-separated value off *rest (RFC 3261 §7.3.1), not
 * splitting inside quoted strings or <...>.  Returns false when none is left.
 * Empty elements (",,") are returned as empty slices. */
bool sb_sip_list_next(struct sb_slice *rest, struct sb_slice *value);

/* Iterate every value of a list header across all its fields, in order. */
struct sb_sip_values {
	const struct sb_sip_msg *m;
	uint16_t hdr;
	struct sb_slice rest;
};
void sb_sip_values_init(struct sb_sip_values *it, const struct sb_sip_msg *m,
			enum sb_sip_hdr_id id);
/* *hdr_index, if not NULL, receives the field the value came from. */
bool sb_sip_values_next(struct sb_sip_values *it, struct sb_slice *value,
			uint16_t *hdr_index);

/* Typed access to single-valued headers, parsed on first use and cached.
 * Each returns 0, ENOENT when the header is absent, EBADMSG when it is
 * malformed or repeated with different values. */
int sb_sip_msg_cseq(struct sb_sip_msg *m, const struct sb_cseq **out);
int sb_sip_msg_call_id(struct sb_sip_msg *m, struct sb_slice *out);
int sb_sip_msg_max_forwards(struct sb_sip_msg *m, uint32_t *out);
int sb_sip_msg_expires(struct sb_sip_msg *m, uint32_t *out);

/* ---------------------------------------------------------------- framer */

/* Finds message boundaries in a stream (TCP, TLS).  RFC 3261 §18.3: a stream
 * message must have a Content-Length.  The header section ends where
 * sb_sip_parse() says it does: at the first empty line, line ends being LF
 * with an optional CR.
 *
 * Resumable, so a message arriving a byte at a time costs linear work: keep
 * the struct per connection, zero it when a new message starts, and pass it
 * back unchanged after ENODATA.  Then need (when not 0) is the total number
 * of bytes the message needs; calling again with fewer is wasted work. */
enum sb_sip_frame_kind {
	SB_FRAME_MESSAGE,   /* f->len bytes hold one message */
	SB_FRAME_PING,      /* CRLFCRLF keep-alive: answer CRLF (RFC 5626 §3.5.1) */
	SB_FRAME_PONG,      /* a CRLF followed by something else: consume it.  A
	                       CRLF (or CR, CRLFCR) with nothing after it is
	                       ENODATA: it may be the start of a ping; the
	                       transport takes it as a pong after a short wait */
};
struct sb_sip_frame {
	enum sb_sip_frame_kind kind;
	size_t len;         /* bytes to consume */
	enum sb_sip_defect defect; /* why EBADMSG/EMSGSIZE */
	size_t scanned;     /* in/out: header bytes already searched for the end */
	size_t need;        /* out on ENODATA: total bytes needed, or 0: unknown */
};
/* Returns 0 with *f filled, ENODATA when more bytes are needed, EBADMSG when
 * the stream cannot be framed (close the connection), EMSGSIZE when the
 * message would exceed max_size (answer 513 if possible, then close). */
int sb_sip_frame(const char *buf, size_t len, size_t max_size, struct sb_sip_frame *f);

/* ---------------------------------------------------------------- digest */

/* WWW-Authenticate, Proxy-Authenticate, Authorization, Proxy-Authorization
 * (RFC 3261 §25.1, RFC 7616 §3): a scheme and comma-separated auth-params.
 * Quoted values are returned without their quotes, still escaped. */
struct sb_auth {
	struct sb_slice scheme;        /* "Digest" or another scheme */
	bool digest;
	struct sb_slice realm, nonce, opaque, algorithm, qop, stale, domain;
	struct sb_slice username, uri, response, cnonce, nc, userhash;
	struct sb_slice params;        /* everything after the scheme, raw */
};
int sb_auth_parse(struct sb_auth *a, struct sb_slice value);

/* Authentication-Info (RFC 7616 §3.5): no scheme. */
struct sb_auth_info {
	struct sb_slice nextnonce, qop, rspauth, cnonce, nc;
};
int sb_auth_info_parse(struct sb_auth_info *ai, struct sb_slice value);

/* A Digest challenge to print (RFC 7616 §3.3).  realm and nonce are required;
 * opaque, algorithm and qop are left out when absent. */
struct sb_auth_challenge {
	struct sb_slice realm, nonce, opaque;
	struct sb_slice algorithm;     /* a token, e.g. "SHA-256"; printed unquoted */
	struct sb_slice qop;           /* e.g. "auth"; printed quoted */
	bool stale;                    /* prints stale=true */
};
/* Append the header value (no name, no CRLF), e.g. `Digest realm="x",
 * nonce="y", algorithm=SHA-256, qop="auth"`.  '"' and '\' in quoted values
 * are escaped.  0; EINVAL when realm or nonce is absent, algorithm is not a
 * token or a value holds a control character (no header injection); ENOSPC.
 * On error out->len is restored. */
int sb_auth_print_challenge(struct sb_buf *out, const struct sb_auth_challenge *c);

/* ----------------------------------------------------- other typed values */

/* Replaces (RFC 3891 §6.1). */
struct sb_replaces {
	struct sb_slice call_id, to_tag, from_tag;
	bool early_only;
};
int sb_replaces_parse(struct sb_replaces *r, struct sb_slice value);

/* Event (RFC 6665 §8.2.1). */
struct sb_event {
	struct sb_slice type, id, params;
};
int sb_event_parse(struct sb_event *e, struct sb_slice value);

/* Subscription-State (RFC 6665 §8.2.3). */
struct sb_substate {
	struct sb_slice state, reason;
	uint32_t expires, retry_after;
	bool has_expires, has_retry_after;
};
int sb_substate_parse(struct sb_substate *s, struct sb_slice value);

/* Reason (RFC 3326). */
struct sb_reason {
	struct sb_slice protocol, text;
	unsigned cause;
	bool has_cause;
};
int sb_reason_parse(struct sb_reason *r, struct sb_slice value);

/* Retry-After (RFC 3261 §20.33). */
struct sb_retry_after {
	uint32_t delta, duration;
	bool has_duration;
	struct sb_slice comment;
};
int sb_retry_after_parse(struct sb_retry_after *r, struct sb_slice value);

/* One Warning value (RFC 3261 §20.43): 3-digit code, agent, quoted text. */
struct sb_warning {
	unsigned code;
	struct sb_slice agent, text;
};
int sb_warning_parse(struct sb_warning *w, struct sb_slice value);

/* Content-Type (RFC 3261 §20.15): m-type "/" m-subtype *( ";" m-parameter ). */
struct sb_media_type {
	struct sb_slice type, subtype;
	struct sb_slice params;        /* after the first ';', raw */
};
int sb_media_type_parse(struct sb_media_type *mt, struct sb_slice value);
/* Case-insensitive match, e.g. sb_media_type_is(&mt, "application", "sdp"). */
bool sb_media_type_is(const struct sb_media_type *mt, const char *type, const char *subtype);

/* Option tags and methods lists (Require, Proxy-Require, Supported,
 * Unsupported, Allow): true when tag appears in any value of id. */
bool sb_sip_has_token(const struct sb_sip_msg *m, enum sb_sip_hdr_id id, struct sb_slice tag);

/* ------------------------------------------------------------ validation */

enum sb_sip_role { SB_ROLE_PROXY, SB_ROLE_UAS, SB_ROLE_REGISTRAR };

struct sb_sip_validate_cfg {
	enum sb_sip_role role;
	const char *const *supported; /* option tags we support, NULL-terminated */
};

#define SB_SIP_MAX_UNSUPPORTED 8u

/* What a server owes a broken request, or what to do with a broken response. */
struct sb_sip_verdict {
	unsigned code;             /* 0: the message is fine */
	const char *reason;        /* reason phrase naming the problem */
	bool drop;                 /* responses, or requests we cannot answer */
	struct sb_slice unsupported[SB_SIP_MAX_UNSUPPORTED]; /* for 420 */
	unsigned nunsupported;
};

/* RFC 3261 §8.2 and §16.3 checks.  Returns 0 when the message may be
 * processed, else fills *v and returns EBADMSG. */
int sb_sip_validate(struct sb_sip_msg *m, const struct sb_sip_validate_cfg *cfg,
		    struct sb_sip_verdict *v);

/* For a 420 verdict, append the header line that names what we do not
 * support (RFC 3261 §8.2.2.3): "Unsupported: tag1, tag2\r\n".  Nothing for
 * other verdicts.  On overflow out->err is set. */
void sb_sip_print_unsupported(struct sb_buf *out, const struct sb_sip_verdict *v);

/* --------------------------------------------------------------- printer */

/* The reason phrase RFC 3261 §21 gives a code, or "Unknown". */
const char *sb_sip_reason_phrase(unsigned code);

struct sb_sip_response_spec {
	unsigned code;
	struct sb_slice reason;        /* absent: sb_sip_reason_phrase(code) */
	struct sb_slice to_tag;        /* added when To has none and code > 100 */
	struct sb_slice extra;         /* more header lines, each ending CRLF */
	struct sb_slice content_type;  /* absent: no body */
	struct sb_slice body;
};
/* A response to req per RFC 3261 §8.2.6: Via fields, From, To (with a tag),
 * Call-ID and CSeq copied; Content-Length computed.  Fields are printed with
 * their long names; values are copied as written.  0; EBADMSG when req lacks
 * Via, From, To, Call-ID or CSeq; EINVAL for a bad spec (code outside
 * 100..699, CR/LF in reason, to_tag not a token, extra not ending in CRLF, a
 * body without content_type) or a req that is a response; ENOSPC.  On error
 * out->len is restored. */
int sb_sip_print_response(struct sb_buf *out, const struct sb_sip_msg *req,
			  const struct sb_sip_response_spec *spec);

struct sb_sip_request_spec {
	struct sb_slice method, ruri;
	struct sb_slice via;           /* whole Via value */
	struct sb_slice from, to, call_id;
	uint32_t cseq;
	uint32_t max_forwards;
	struct sb_slice contact;       /* absent: none */
	struct sb_slice extra;         /* more header lines, each ending CRLF */
	struct sb_slice content_type;
	struct sb_slice body;
};
/* A new request in the RFC 3261 §8.1.1 order (Request-Line, Via,
 * Max-Forwards, To, From, Call-ID, CSeq, Contact, extra, Content-Type,
 * Content-Length, body); CSeq is "cseq method".  0; EINVAL when a required
 * piece is absent, the method is not a token, a single-line value holds CR or
 * LF, or a body has no content_type; ENOSPC.  On error out->len is restored. */
int sb_sip_print_request(struct sb_buf *out, const struct sb_sip_request_spec *spec);

/* Edits to a received message, applied when it is printed again (Kamailio's
 * "lumps"): untouched bytes are copied, never re-serialised.  The slices an
 * edit holds must live until sb_sip_print_edited() returns. */
enum sb_sip_edit_op {
	SB_EDIT_DELETE,       /* remove field hdr */
	SB_EDIT_REPLACE,      /* replace the value of field hdr */
	SB_EDIT_INSERT,       /* insert "name: value" before field hdr (nhdrs: at end) */
	SB_EDIT_RURI,         /* new Request-URI */
	SB_EDIT_PUSH_VIA,     /* new topmost Via */
	SB_EDIT_POP_VIA,      /* remove the topmost Via value */
	SB_EDIT_BODY,         /* new body; Content-Length follows */
};
struct sb_sip_edit {
	enum sb_sip_edit_op op;
	uint16_t hdr;
	struct sb_slice name, value;
};
struct sb_sip_edits {
	struct sb_sip_edit e[SB_SIP_MAX_EDITS];
	unsigned n;
};
/* Recording returns 0, ENOSPC past SB_SIP_MAX_EDITS, or EINVAL for a value
 * that is absent or holds CR/LF, or an insert name that is not a token. */
void sb_sip_edits_init(struct sb_sip_edits *ed);
int sb_sip_edit_delete(struct sb_sip_edits *ed, uint16_t hdr);
int sb_sip_edit_replace(struct sb_sip_edits *ed, uint16_t hdr, struct sb_slice value);
int sb_sip_edit_insert(struct sb_sip_edits *ed, uint16_t before, struct sb_slice name,
		       struct sb_slice value);
int sb_sip_edit_ruri(struct sb_sip_edits *ed, struct sb_slice ruri);
int sb_sip_edit_push_via(struct sb_sip_edits *ed, struct sb_slice via_value);
int sb_sip_edit_pop_via(struct sb_sip_edits *ed);
int sb_sip_edit_body(struct sb_sip_edits *ed, struct sb_slice body);
/* Print m with the edits applied.  Replaced fields keep their name as
 * written; a body edit rewrites Content-Length (or appends one).  0, ENOSPC,
 * EINVAL (conflicting edits: two on one field, a pop of a Via field that is
 * also edited, a body edit plus an edit of Content-Length, a repeated RURI,
 * push, pop or body; or an edit m cannot take: field index past m->nhdrs,
 * RURI of a response, pop without a Via).  On error out->len is restored. */
int sb_sip_print_edited(struct sb_buf *out, const struct sb_sip_msg *m,
			const struct sb_sip_edits *ed);

#endif
