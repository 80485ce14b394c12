/* ua/ua_int.h: what the files of the user agent share and nobody else
 * sees: the UA, call, dialog, registration and request structs, the
 * helpers one file calls in another, and the small media interface every
 * media call goes through (offer.c implements it over media.h).
 *
 * Files: ua.c (lifecycle, transport and transaction layer, dispatch of
 * what arrives, events, logging, status), reg.c (registration, RFC 3261
 * §10.2), digest_client.c (credentials, RFC 7616), dialog.c (dialogs and
 * in-dialog requests, §12), offer.c (SDP offer/answer, RFC 3264, and the
 * media glue), call.c (outgoing calls §13.2, hangup §9.1/§15, hold and
 * resume §14), incoming.c (incoming requests: INVITE §13.3, ACK, CANCEL,
 * BYE, OPTIONS, 481) and refer.c (transfers, RFC 3515 and RFC 3891).
 *
 * Lifetimes.  Every client transaction is owned by a struct ua_req (its
 * kind says what the response means); a req names its call, and a call
 * that ends detaches its reqs (req->call = NULL) so a late response finds
 * nothing.  A call that ended is freed from a zero-delay timer (the
 * reaper), never inside an event or a callback, so a pointer to it stays
 * valid until the current handler returns. */
#ifndef SB_UA_INT_H
#define SB_UA_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "switchboard/auth.h"
#include "switchboard/media.h"
#include "switchboard/sdp.h"
#include "switchboard/sip.h"
#include "switchboard/transaction.h"
#include "switchboard/transport.h"
#include "switchboard/ua.h"

/* Bounds of what a call keeps (bytes, NUL included).  Longer values in a
 * message we must keep make the request fail with 500 (ours) or be
 * refused (theirs). */
#define UA_MAX_URI 512u           /* a URI: target, Contact, Route entry */
#define UA_MAX_HDR 1024u          /* a From or To value with its tag */
#define UA_MAX_ROUTES 2048u       /* the route set, as Route lines */
#define UA_MAX_CALL_ID 256u
#define UA_MAX_TAG 128u
#define UA_TAG_HEX 16u            /* our tags, branches, Call-IDs: random hex */
#define UA_MAX_AUTH_LINE 2048u    /* one Authorization line */
#define UA_OUT_MAX SB_SIP_MAX_MSG_SIZE
#define UA_MAX_AUTH_TRIES 3u      /* credentialed attempts per request */
#define UA_LOG_LINE 512u
#define UA_BIND_TRIES 16u         /* port 0 over TCP: UDP and TCP ports to agree */
/* RFC 3261 §14.1: after a 491, a UAC that owns the Call-ID waits 2.1-4 s,
 * one that does not 0-2 s, before it tries the re-INVITE again. */
#define UA_491_OWNER_MIN_MS 2100u
#define UA_491_OWNER_SPAN_MS 1900u
#define UA_491_OTHER_SPAN_MS 2000u
#define UA_MAX_GLARE_TRIES 3u
/* Expiry refreshed at this share of what the registrar granted. */
#define UA_REFRESH_PERCENT 80u
/* Subscription expiry in the NOTIFYs of a REFER we accepted (RFC 3515). */
#define UA_REFER_EXPIRES_S 60u
/* Transferor: the longest subscription expiry we wait out (a NOTIFY's
 * expires is cut to it). */
#define UA_REFER_MAX_WAIT_S 3600u
/* 2xx from other forks than the one taken, ACKed and BYEd per call; more
 * are ignored (each would make us send to an address the peer picks). */
#define UA_MAX_FORKS 8u
/* Received DTMF digits waiting to be told (offer.c). */
#define UA_DTMF_RX_QUEUE 32u

#define UA_ALLOW "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, REFER, NOTIFY, INFO\r\n"
#define UA_SUPPORTED "Supported: replaces\r\n"

/* ---------------------------------------------------------------- digest */

/* A challenge we answer (digest_client.c): the one picked from a 401 or
 * 407, with the nonce count we reached under its nonce. */
struct ua_auth {
	bool valid;
	bool proxy;                /* 407: Proxy-Authorization */
	bool stale;                /* the challenge said stale=true */
	enum sb_digest_alg alg;
	bool qop;                  /* qop=auth (else the RFC 2069 form) */
	char realm[SB_DIGEST_MAX_REALM + 1];
	char nonce[256];
	char opaque[256];
	bool has_opaque;
	uint32_t nc;               /* last nc sent with this nonce */
};

/* Take the first challenge of resp (WWW-Authenticate for 401,
 * Proxy-Authenticate for 407) whose algorithm we support (MD5, SHA-256)
 * and whose qop offers auth (or that has no qop).  With policy (requests
 * other than REGISTER), only a challenge ua_auth_realm_ok() allows.  A new
 * nonce restarts nc.  0, ENOENT (none we can answer). */
int ua_auth_take(struct ua_auth *a, struct sb_sip_msg *resp, const struct sb_ua *policy);
/* Whether our password may answer a challenge of realm to a request other
 * than REGISTER: only through our outbound proxy (a server configured),
 * a 407 for the registrar's realm or our domain, a 401 for the
 * registrar's realm.  Anybody else (the callee, a redirect target) gets
 * no digest of our password. */
bool ua_auth_realm_ok(const struct sb_ua *ua, const char *realm, bool proxy);
/* Append the whole credentials line ("Authorization: Digest ...\r\n") for
 * method and uri (the Request-URI, RFC 3261 §22.4), counting nc up.
 * 0, EINVAL, ENOSPC, EIO. */
int ua_auth_line(struct ua_auth *a, const char *user, const char *password,
		 struct sb_slice method, struct sb_slice uri, struct sb_buf *out);

/* ---------------------------------------------------------------- dialog */

/* RFC 3261 §12: the state of a dialog, copied out of the messages that
 * made it.  local_hdr / remote_hdr are the From and To values (tags
 * included) our requests in the dialog carry. */
struct ua_dialog {
	bool up;                   /* early or confirmed: the tags are known */
	char call_id[UA_MAX_CALL_ID];
	char local_tag[UA_MAX_TAG];
	char remote_tag[UA_MAX_TAG];
	char local_hdr[UA_MAX_HDR];
	char remote_hdr[UA_MAX_HDR];
	char remote_uri[UA_MAX_URI];   /* the peer's URI (From or To, no tag) */
	char target[UA_MAX_URI];       /* remote target: the peer's Contact */
	char routes[UA_MAX_ROUTES];    /* route set as "Route: <...>\r\n" lines */
	size_t routes_len;
	unsigned nroutes;
	char first_route[UA_MAX_URI];  /* URI of the first route ("" none) */
	bool strict;                   /* the first route has no lr (§12.2.1.1) */
	bool routes_bad;               /* UAC: a Record-Route we could not take
	                                * (unparsable, too many, too long): no
	                                * route set, the dialog cannot be followed */
	bool pinned;                   /* every request goes to pin: the first hop
	                                * cannot be reached (no server, not a
	                                * numeric sip: URI, or routes_bad) */
	struct sb_tp_dest pin;
	uint32_t local_cseq;
	uint32_t remote_cseq;
	bool remote_cseq_set;
	enum sb_tp_proto proto;        /* for our requests in the dialog */
};

/* ---------------------------------------------------------------- media */

/* What offer/answer decided for a call's stream. */
struct ua_media {
	struct sb_media_params p;  /* remote, payload types, our direction */
	bool remote_hold;          /* the peer's SDP holds us (sendonly, inactive, 0.0.0.0) */
};

/* ----------------------------------------------------------------- calls */

enum ua_call_state {
	UA_CALL_OUT_CALLING = 0,  /* our INVITE sent, nothing but 100 back */
	UA_CALL_OUT_EARLY,        /* 180/183 came: ringing there */
	UA_CALL_IN_RINGING,       /* an INVITE to us rings */
	UA_CALL_IN_ANSWERED,      /* our 2xx sent, waiting for its ACK */
	UA_CALL_ESTABLISHED,
	UA_CALL_ENDING,           /* BYE or CANCEL sent, waiting for its end */
	UA_CALL_ENDED,            /* the reaper frees it */
};

enum ua_xfer {
	UA_XFER_NONE = 0,
	UA_XFER_REFER_SENT,       /* our REFER is pending */
	UA_XFER_ACCEPTED,         /* 2xx to it: waiting for the final NOTIFY */
};

struct ua_req;

struct sb_call {
	struct sb_call *prev, *next;
	struct sb_ua *ua;
	unsigned id;               /* the user's number */
	enum ua_call_state state;
	bool outgoing;
	char peer[UA_MAX_URI];     /* the other side's URI */
	struct ua_dialog dlg;

	/* outgoing (call.c) */
	char ruri[UA_MAX_URI];     /* Request-URI of the initial INVITE */
	char to_hdr[UA_MAX_HDR];   /* To of the INVITE (no tag) */
	struct ua_req *inv;        /* the initial INVITE, while pending */
	char *inv_buf;             /* the INVITE as sent (CANCEL copies it) */
	size_t inv_len;
	struct sb_tp_dest inv_dst;
	uint32_t inv_cseq;
	bool provisional;          /* a provisional came (§9.1: CANCEL allowed) */
	bool cancel_wanted;        /* hangup before any provisional */
	bool cancel_sent;
	bool rang;                 /* RINGING told */
	unsigned redirects;
	unsigned auth_tries;
	struct ua_auth auth;
	char forks[UA_MAX_FORKS][UA_MAX_TAG]; /* To tags of other forks' 2xx, ACKed and BYEd */
	unsigned nforks;
	char *ack_buf;             /* our ACK for the 2xx (re-sent on 2xx retransmissions) */
	size_t ack_len;
	uint32_t ack_cseq;
	struct sb_tp_dest ack_dst;
	struct sb_timer cancel_timer;  /* 64*T1 after CANCEL: give the INVITE up */
	char extra[UA_MAX_HDR];    /* more lines for the INVITE (Replaces, Referred-By) */
	char auth_line[UA_MAX_AUTH_LINE]; /* the INVITE's credentials (the ACK repeats them) */
	bool hangup_pending;       /* hung up before the ACK of our 2xx: BYE once it comes */
	bool bye_after_notify;     /* referred: BYE once the final NOTIFY is answered */

	/* incoming (incoming.c) */
	struct sb_tsx *st;         /* the server INVITE transaction, while alive */
	char *in_buf;              /* the INVITE as received */
	size_t in_len;
	struct sb_sip_msg *in_msg; /* parsed over in_buf */
	struct sb_tp_dest in_src;
	struct sb_timer ring_timer;    /* auto answer */
	struct sb_timer noanswer_timer;
	bool replaces;             /* an INVITE with Replaces: answered at once */
	struct sb_call *replaced;  /* ... the call it replaces */

	/* our 2xx to an INVITE (initial or re-INVITE), until its ACK
	 * (RFC 3261 §13.3.1.4) */
	char *resp_buf;
	size_t resp_len;
	uint32_t resp_cseq;
	bool resp_reinvite;
	bool resp_offer;           /* it carried an offer: the answer is in the ACK */
	struct sb_tp_dest resp_dst;
	struct sb_timer resp_timer;
	uint32_t resp_iv;
	sb_msec_t resp_start;

	/* offer/answer and media (offer.c) */
	uint64_t sess_id, sess_ver;
	bool media_on;
	struct ua_media media;
	struct sb_media *ms;       /* the media session, from the first SDP on */
	uint16_t rtp_port;
	enum sb_sdp_dir offer_dir; /* of our last offer */
	/* digits from the media session, told from a zero-delay timer so that
	 * the user's handler never runs inside the session's receive handler */
	char dtmf_rx[UA_DTMF_RX_QUEUE];
	unsigned dtmf_rx_n;
	struct sb_timer dtmf_timer;

	/* hold (call.c): ours, theirs; a re-INVITE of ours in flight */
	bool local_hold, remote_hold;
	bool want_hold;
	struct ua_req *reinv;
	bool reinv_in;             /* a re-INVITE from the peer waits for its ACK */
	struct sb_timer reinv_timer;   /* 491 back-off */
	unsigned glare_tries;      /* 491s answered for this hold or resume */

	/* transfer (refer.c) */
	enum ua_xfer xfer;
	char xfer_target[UA_MAX_URI];
	uint32_t xfer_cseq;        /* of our REFER (the NOTIFYs' Event id) */
	struct sb_timer xfer_timer; /* no final NOTIFY by the subscription's end: 408 */
	bool xfer_done;            /* TRANSFERRED told */
	struct sb_call *xfer_orig; /* we were referred: the call that asked */
	struct sb_call *xfer_new;  /* we were referred: the call we made */
	bool refer_sub;            /* we owe the orig NOTIFYs (a REFER subscription);
	                            * cleared by the final NOTIFY */
	bool refer_final;          /* the last NOTIFY of the latest REFER went */
	uint32_t refer_cseq;       /* CSeq of the REFER accepted (Event: refer;id=) */

	/* why it ended, for the event */
	unsigned end_code;
	const char *end_reason;
};

/* A client transaction of ours: what its response means. */
enum ua_req_kind {
	UA_REQ_REGISTER = 0,
	UA_REQ_INVITE,
	UA_REQ_REINVITE,
	UA_REQ_BYE,
	UA_REQ_CANCEL,
	UA_REQ_REFER,
	UA_REQ_NOTIFY,
	UA_REQ_OTHER,
};

struct ua_req {
	struct ua_req *prev, *next;
	struct sb_ua *ua;
	struct sb_call *call;      /* NULL: no call, or the call is gone */
	enum ua_req_kind kind;
	struct sb_tsx *t;          /* NULL once ended */
	bool orphan;               /* nobody wants its response */
	uint32_t cseq;
};

/* ----------------------------------------------------------- registration */

enum ua_reg_state {
	UA_REG_IDLE = 0,           /* nothing in flight, no timer */
	UA_REG_SENT,               /* a REGISTER is in flight */
	UA_REG_WAIT,               /* registered: the refresh timer runs */
	UA_REG_RETRY,              /* failed: the back-off timer runs */
	UA_REG_UNREG,              /* our Expires: 0 is in flight */
	UA_REG_OFF,                /* unregistered (or shutting down) */
};

struct ua_reg {
	enum ua_reg_state state;
	bool registered;           /* the registrar holds our binding */
	char call_id[2 * UA_TAG_HEX + 1];
	char from_tag[UA_TAG_HEX + 1];
	uint32_t cseq;
	uint32_t expires;          /* what we ask for */
	uint32_t granted;
	uint32_t retry_ms;
	unsigned auth_tries;
	bool interval_tried;       /* a 423 was answered once */
	struct ua_auth auth;
	struct ua_req *req;
	struct sb_timer timer;
};

/* --------------------------------------------------------------------- ua */

struct sb_ua {
	struct sb_ua_cfg cfg;
	char user[SB_UA_MAX_NAME], password[SB_UA_MAX_NAME], domain[SB_UA_MAX_NAME];
	char media_ip[SB_ADDR_STR_MAX];
	char fwd_always[UA_MAX_URI], fwd_busy[UA_MAX_URI], fwd_noanswer[UA_MAX_URI];
	char play_wav[UA_MAX_URI], record_wav[UA_MAX_URI];
	bool has_server;
	struct sb_transport *tp;
	struct sb_tsx_layer *layer;
	struct sb_addr bound;      /* the SIP address bound */
	char host[SB_ADDR_STR_MAX];    /* our address as written in Via/Contact (IPv6 in []) */
	uint16_t port;
	char contact[UA_MAX_URI];  /* "<sip:user@host:port>" */
	char aor[UA_MAX_URI];      /* "sip:user@domain" */
	struct ua_reg reg;
	/* the realm of the registrar's challenge: the only one besides our
	 * domain whose challenges to other requests we answer */
	char reg_realm[SB_DIGEST_MAX_REALM + 1];
	/* the message being dispatched (recv_h), for its source */
	const struct sb_tp_rx *rx_now;
	struct sb_call *calls;
	unsigned ncalls;
	unsigned next_id;
	struct ua_req *reqs;
	struct sb_call *recording; /* the call whose audio goes to record_wav */
	struct sb_timer reaper;
	/* sb_ua_shutdown */
	bool shutting;
	bool done_told;
	void (*done_h)(void *arg);
	void *done_arg;
	struct sb_timer done_timer;    /* zero delay: tell done_h */
	struct sb_timer shutdown_timer; /* 64*T1: give up waiting */
	uint32_t t1_ms;
};

/* ua.c */
void ua_log(const struct sb_ua *ua, enum sb_log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void ua_emit(struct sb_ua *ua, enum sb_ua_event_kind kind, struct sb_call *c, unsigned code,
	     const char *reason, const char *peer);
/* Every event leaves here: logged, and its reason and peer with control
 * bytes (< 0x20, 0x7f) replaced by '?' before the user sees them. */
void ua_deliver(struct sb_ua *ua, const struct sb_ua_event *ev);
/* Where a response to rx goes, and where rx came from (RFC 3581 §4). */
struct sb_tp_dest ua_rx_dest(const struct sb_tp_rx *rx);
void ua_random_hex(char *out, size_t nhex);
uint32_t ua_random_u32(void);
/* "SIP/2.0/UDP host:port;branch=z9hG4bK...;rport" into out. */
void ua_via(const struct sb_ua *ua, enum sb_tp_proto proto, char *out, size_t cap);
/* Our Contact for proto: "<sip:user@host:port>" (";transport=tcp" for TCP). */
void ua_contact(const struct sb_ua *ua, enum sb_tp_proto proto, char *out, size_t cap);
int ua_send(struct sb_ua *ua, const struct sb_tp_dest *dst, const char *buf, size_t len);
/* Where a request to uri goes: its numeric host and port (5060), its
 * transport parameter (no DNS).  0, EINVAL (not sip, a host name). */
int ua_uri_dest(struct sb_slice uri, struct sb_tp_dest *dst);
/* Where an out-of-dialog request to ruri goes: the outbound proxy
 * (cfg.server) when there is one, else ruri itself. */
int ua_out_dest(const struct sb_ua *ua, struct sb_slice ruri, struct sb_tp_dest *dst);
/* Start a client transaction for buf (a request built with a Via of
 * ua_via); its responses come to the kind's handler.  0 or an errno. */
int ua_req_start(struct sb_ua *ua, struct sb_call *c, enum ua_req_kind kind, uint32_t cseq,
		 const struct sb_tp_dest *dst, const char *buf, size_t len, struct ua_req **out);
/* Our own answer to a request, with a To tag (tag NULL: the dialog's or a
 * made-up one), through a new server transaction (NULL owner) or, for an
 * ACK nothing, statelessly when that fails. */
void ua_reply(struct sb_ua *ua, const struct sb_tp_rx *rx, unsigned code, const char *reason,
	      const char *tag, struct sb_slice extra);
/* A target as the user writes it ("bob", "bob@host", "sip:bob@host:port")
 * as a URI into out.  0, EINVAL. */
int ua_expand_target(const struct sb_ua *ua, const char *target, char *out, size_t cap);
struct sb_call *ua_call_new(struct sb_ua *ua, bool outgoing);
/* The call ends: ENDED (code, reason) once, media stops, transactions are
 * detached, the reaper frees it. */
void ua_call_end(struct sb_call *c, unsigned code, const char *reason);
/* Free ended calls from the loop soon (a zero-delay timer). */
void ua_reap_soon(struct sb_ua *ua);
/* The call whose dialog m belongs to (Call-ID, To tag ours, From tag
 * theirs; for a response the other way round), or NULL. */
struct sb_call *ua_call_by_dialog(struct sb_ua *ua, struct sb_sip_msg *m, bool response);
bool ua_is_live(const struct sb_call *c);
void ua_maybe_done(struct sb_ua *ua);
void ua_copy_unfold(char *dst, size_t cap, struct sb_slice s);
/* Another established call not on hold by us, other than c (call waiting). */
struct sb_call *ua_other_active(struct sb_ua *ua, const struct sb_call *c);

/* reg.c */
void ua_reg_start(struct sb_ua *ua);
void ua_reg_unregister(struct sb_ua *ua);
void ua_reg_response(struct ua_req *r, unsigned status, struct sb_sip_msg *msg);
void ua_reg_free(struct sb_ua *ua);
bool ua_reg_busy(const struct sb_ua *ua);

/* dialog.c */
/* RFC 3261 §12.1.2: the UAC's dialog from a 2xx (or 1xx with a To tag).
 * A Record-Route that cannot be taken leaves the dialog without a route
 * set and routes_bad set (the caller decides: ACK to the source, end). */
int ua_dialog_uac(struct ua_dialog *d, struct sb_sip_msg *req, struct sb_sip_msg *resp,
		  enum sb_tp_proto proto);
/* RFC 3261 §12.1.1: the UAS's dialog from the request, with our tag. */
int ua_dialog_uas(struct ua_dialog *d, struct sb_sip_msg *req, const char *local_tag,
		  enum sb_tp_proto proto);
/* RFC 3261 §12.2.1.2 target refresh: a new Contact in m becomes the target
 * (unless the dialog could no longer reach it: no route set, no server, not
 * pinned, and the new target no numeric sip: URI). */
void ua_dialog_refresh_target(struct sb_ua *ua, struct ua_dialog *d, struct sb_sip_msg *m);
/* Where requests in d go: the pinned address; else the first route, or the
 * remote target, when it is a sip: URI with a numeric host; else, with a
 * server configured, the server.  0, EINVAL (unroutable). */
int ua_dialog_dest(struct sb_ua *ua, const struct ua_dialog *d, struct sb_tp_dest *dst);
/* Pin d to the source of the message being dispatched (ua->rx_now).
 * 0, ENOENT (none). */
int ua_dialog_pin_source(struct sb_ua *ua, struct ua_dialog *d);
/* RFC 3261 §12.2.1.1: print a request in the dialog (cseq 0: the next
 * local one; ACK takes the INVITE's) with extra lines and a body, and say
 * where it goes (the first route, or the remote target). */
int ua_dialog_request(struct sb_ua *ua, struct ua_dialog *d, const char *method, uint32_t cseq,
		      struct sb_slice extra, struct sb_slice ctype, struct sb_slice body,
		      struct sb_buf *out, struct sb_tp_dest *dst, uint32_t *cseq_out);
/* The same, sent in a client transaction of kind. */
int ua_dialog_send(struct sb_call *c, const char *method, enum ua_req_kind kind,
		   struct sb_slice extra, struct sb_slice ctype, struct sb_slice body,
		   struct ua_req **out);
/* RFC 3261 §12.2.2: whether m (a request in the dialog) is in order; it
 * records its CSeq.  False: answer 500. */
bool ua_dialog_remote_cseq(struct ua_dialog *d, struct sb_sip_msg *m);

/* offer.c: SDP */
int ua_sdp_offer(struct sb_call *c, enum sb_sdp_dir dir, struct sb_buf *out);
/* RFC 3264 §6: answer the offer in body with want; *mp gets what was
 * agreed (the payload types are the ones the answer names).  With
 * may_disable (a re-INVITE), an offer whose audio streams all have port 0
 * is answered with port 0 for every stream (§8.2) and *mp stops the
 * media.  0, EPROTO (no common codec, or an address family other than
 * our media address's: 488), EBADMSG (not SDP). */
int ua_sdp_answer(struct sb_call *c, struct sb_slice body, enum sb_sdp_dir want,
		  bool may_disable, struct sb_buf *out, struct ua_media *mp);
/* RFC 3264 §5/§6: take the answer in body to our offer. */
int ua_sdp_take_answer(struct sb_call *c, struct sb_slice body, struct ua_media *mp);
/* The direction we offer now (RFC 3264 §8.4, RFC 6337). */
enum sb_sdp_dir ua_offer_dir(const struct sb_call *c);

/* offer.c: the media interface.  Every media call of the UA goes here. */
/* A session with its RTP port (for the SDP), before any offer. */
int ua_media_prepare(struct sb_call *c);
/* Start (or change) the stream to what offer/answer agreed. */
int ua_media_start(struct sb_call *c, const struct ua_media *m);
void ua_media_set_dir(struct sb_call *c, enum sb_sdp_dir dir);
void ua_media_stop(struct sb_call *c);
int ua_media_dtmf(struct sb_call *c, const char *digits);
/* Tell the received digits waiting (the call just got established). */
void ua_dtmf_flush_soon(struct sb_call *c);

/* call.c */
/* sb_ua_call with extra header lines for the INVITE (Replaces, Referred-By). */
int ua_call_out(struct sb_ua *ua, const char *target, const char *extra, struct sb_call **callp);
int ua_call_invite(struct sb_call *c);
void ua_invite_response(struct ua_req *r, unsigned status, struct sb_sip_msg *msg);
void ua_reinvite_response(struct ua_req *r, unsigned status, struct sb_sip_msg *msg);
void ua_bye_response(struct ua_req *r, unsigned status, struct sb_sip_msg *msg);
void ua_cancel_response(struct ua_req *r, unsigned status, struct sb_sip_msg *msg);
/* A 2xx that matched no transaction (RFC 3261 §13.2.2.4: ACK it again). */
void ua_stray_2xx(struct sb_ua *ua, struct sb_sip_msg *m);
/* BYE the dialog of c and end it with (code, reason) when that is done. */
void ua_call_bye(struct sb_call *c, unsigned code, const char *reason);
int ua_reinvite(struct sb_call *c);
/* Media follows a new answer. */
void ua_apply_media(struct sb_call *c, const struct ua_media *m);

/* incoming.c */
void ua_request_h(const struct sb_tp_rx *rx, void *arg);
void ua_ack_h(struct sb_tsx *st, const struct sb_tp_rx *rx, void *arg);
/* Send our 2xx (printed in resp) and retransmit it until the ACK. */
int ua_send_2xx(struct sb_call *c, struct sb_tsx *st, const struct sb_tp_dest *dst,
		struct sb_buf *resp, uint32_t cseq, bool reinvite, bool offer);
void ua_stop_2xx(struct sb_call *c);

/* refer.c */
void ua_refer_in(struct sb_call *c, const struct sb_tp_rx *rx);
void ua_notify_in(struct sb_call *c, const struct sb_tp_rx *rx);
void ua_refer_response(struct ua_req *r, unsigned status, struct sb_sip_msg *msg);
void ua_notify_response(struct ua_req *r, unsigned status, struct sb_sip_msg *msg);
/* A call we made because of a REFER moved on: NOTIFY the referrer. */
void ua_refer_progress(struct sb_call *newc, unsigned code);
/* An INVITE with Replaces: the call it names, or NULL with *code the
 * answer (400 malformed, 481 no such dialog, 486 early-only for a
 * confirmed dialog, RFC 3891 §3). */
struct sb_call *ua_replaces_find(struct sb_ua *ua, struct sb_sip_msg *m, unsigned *code);

#endif
