/* ua: the user agent of the phone (sbphone): one SIP identity on one event
 * loop, registering with its registrar and making and taking calls.
 *
 *  - Registration (RFC 3261 §10.2): REGISTER with digest credentials when
 *    challenged (401 or 407, RFC 3261 §22.2, RFC 7616: SHA-256 or MD5,
 *    whichever challenge comes first that we support), refreshed before it
 *    expires, retried with a growing back-off after a failure, removed
 *    (Expires: 0) by sb_ua_unregister().
 *  - Calls (RFC 3261 §13-§15, §17 client and server transactions from
 *    transaction.h, dialogs §12): INVITE with an SDP offer (PCMU, PCMA,
 *    telephone-event; RFC 3264), 1xx/2xx, ACK, BYE, CANCEL; a 407 from
 *    our outbound proxy is answered with credentials (the Cisco 407 flow,
 *    phone side) when its realm is the registrar's (as learnt from the
 *    REGISTER's challenge) or our domain, a 401 only for the registrar's
 *    realm; any other challenge (a callee's, or any without a server)
 *    ends the call with its code, and no digest of the password leaves; a
 *    3xx is followed by calling its first Contact (the Yealink redirect
 *    flow, phone A side).  Requests in a dialog whose next hop is no
 *    numeric sip: URI (sips:, a host name: no TLS, no DNS) go to the
 *    server; without one, a call whose dialog cannot be followed (that,
 *    or a Record-Route we cannot take) is ACKed where its 2xx came from
 *    and ended at once (BYE there): ENDED "unroutable", no ANSWERED.  At
 *    most 8 other forks' 2xx per call are ACKed and BYEd; more are
 *    ignored.
 *  - Incoming calls ring (180) and are answered by sb_ua_answer(), or
 *    automatically after cfg.auto_answer_ms; rejected busy (486) or declined
 *    (603); do-not-disturb answers 486 to every call; with forwarding rules
 *    the phone answers 302 Moved Temporarily with the target as Contact
 *    (always, on busy, or after fwd_noanswer_ms of ringing: the Yealink
 *    forwarding flows, phone B side).  A second call during a call rings
 *    (call waiting); answering it holds the first.
 *  - In a call: hold and resume by re-INVITE with a=sendonly / a=inactive
 *    and back to sendrecv (RFC 3264 §8.4, RFC 6337); a re-INVITE removing
 *    the audio (port 0) is answered with port 0 and the call goes on
 *    without media; blind transfer with REFER (RFC 3515: 202, NOTIFY with
 *    message/sipfrag); transfer with consultation by REFER with Replaces
 *    (RFC 3891); DTMF (RFC 4733, through the media session).  Transfers
 *    one at a time each way: a REFER to us while one goes on gets 403;
 *    ours ends with TRANSFER_FAILED 408 when the transferee sends no final
 *    NOTIFY by the end of its subscription.
 *  - Media: one media session (media.h) per established call, from the
 *    offer/answer (the payload types the answer names; an offer of
 *    another address family than our media address gets 488).  An
 *    answer we cannot use ends the call with BYE (ENDED 488).
 *
 * Everything a user or a script needs to know comes out as events
 * (sb_ua_event_h), one per state change, in order.  The handler may call
 * any function of this header but sb_ua_free(): hang up the call the
 * event is about, place another, and so on.  (No event is told from
 * inside the media session: received DTMF digits come from a zero-delay
 * timer.)  The reason and peer of an event hold no control
 * bytes: any byte below 0x20 and 0x7f (from a reason phrase or a URI the
 * network sent) is replaced by '?'.
 *
 * Not thread-safe: a UA belongs to its loop's thread. */
#ifndef SWITCHBOARD_UA_H
#define SWITCHBOARD_UA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "switchboard/base.h"
#include "switchboard/loop.h"
#include "switchboard/proxy.h"
#include "switchboard/transport.h"

#define SB_UA_MAX_CALLS 4u              /* calls at a time (call waiting, consultation) */
#define SB_UA_MAX_NAME 128u             /* user, password, domain */
#define SB_UA_DEFAULT_EXPIRES 600u      /* registration, seconds */
#define SB_UA_MIN_RETRY_MS 1000u        /* registration back-off: 1 s, doubling */
#define SB_UA_MAX_RETRY_MS 60000u       /* ... up to a minute */
#define SB_UA_MAX_REDIRECTS 5u          /* 3xx followed per call */
#define SB_UA_MAX_DTMF 32u              /* digits waiting to be sent per call */

struct sb_ua;
struct sb_call;

enum sb_ua_event_kind {
	SB_UA_EV_REGISTERED = 1,  /* a 200 to our REGISTER; expires set */
	SB_UA_EV_REGISTER_FAILED, /* final failure (code, reason); a retry is scheduled */
	SB_UA_EV_UNREGISTERED,    /* our Expires: 0 was answered (or gave up) */
	SB_UA_EV_INCOMING,        /* a call rings here: call, peer */
	SB_UA_EV_RINGING,         /* our call rings there (180/183) */
	SB_UA_EV_REDIRECTED,      /* a 3xx: calling its Contact (peer) now */
	SB_UA_EV_FORWARDED,       /* we answered an incoming call 302 (peer: the target) */
	SB_UA_EV_ANSWERED,        /* the call is established */
	SB_UA_EV_HELD,            /* held (by us or by the other side: reason says) */
	SB_UA_EV_RESUMED,
	SB_UA_EV_TRANSFERRED,     /* a transfer we made succeeded (or one made to us) */
	SB_UA_EV_DTMF,            /* a digit received */
	SB_UA_EV_ENDED,           /* the call is over: code (0 for BYE), reason
	                           * ("unroutable": its dialog could not be followed) */
	SB_UA_EV_TRANSFER_FAILED, /* a transfer we made failed: code (the sipfrag's
	                           * or the REFER's status, 408 when no final
	                           * NOTIFY came); the call goes on */
};

/* Which events a call gets:
 *  - outgoing: [RINGING] [REDIRECTED ...] ANSWERED ... ENDED, or ENDED;
 *  - incoming that rings: INCOMING [ANSWERED ...] ENDED; forwarded after
 *    ringing (fwd_noanswer): INCOMING FORWARDED ENDED (code 302);
 *  - incoming refused at once by policy (busy, decline, dnd): one ENDED
 *    with call NULL (call_id is still a fresh number, peer the caller);
 *    forwarded at once (fwd_always, fwd_busy): one FORWARDED with call NULL.
 * A struct sb_call pointer is valid from its first event until its ENDED
 * event returns: do not keep it after that. */

/* "registered", "register_failed", ... as written in the events file. */
const char *sb_ua_event_name(enum sb_ua_event_kind k);

struct sb_ua_event {
	enum sb_ua_event_kind kind;
	struct sb_call *call;     /* NULL for registration events */
	unsigned call_id;         /* a small number naming the call for the user */
	unsigned code;            /* the SIP status that caused it, 0 if none */
	const char *reason;       /* a short text: "busy", "bye", "cancelled", "remote hold", ... */
	const char *peer;         /* the other side's URI (or the new target) */
	char digit;               /* DTMF */
	uint32_t expires;         /* REGISTERED */
};
typedef void (sb_ua_event_h)(const struct sb_ua_event *ev, void *arg);

/* What the phone does with an incoming call. */
enum sb_ua_incoming {
	SB_UA_IN_RING = 0,        /* ring until answered (or auto_answer_ms) */
	SB_UA_IN_BUSY,            /* 486 Busy Here */
	SB_UA_IN_DECLINE,         /* 603 Decline */
	SB_UA_IN_DND,             /* do not disturb: 486 to every call */
};

struct sb_ua_cfg {
	struct sb_loop *loop;             /* required */
	const char *user;                 /* required: the AOR is sip:user@domain */
	const char *password;             /* for digest challenges; NULL: none */
	const char *domain;               /* required: the AOR's host */
	struct sb_addr server;            /* required: registrar and outbound proxy */
	enum sb_tp_proto proto;           /* to the server: UDP (default) or TCP */
	struct sb_addr local;             /* SIP address to bind (port 0: any) */
	const char *media_ip;             /* the address written in SDP (default: local's) */
	uint32_t expires;                 /* registration; 0: SB_UA_DEFAULT_EXPIRES */
	bool no_register;                 /* do not register (calls only) */

	enum sb_ua_incoming incoming;
	int32_t auto_answer_ms;           /* <0: never; 0: at once; else after that */
	/* Forwarding by the phone (302 Moved Temporarily): NULL when off. */
	const char *fwd_always;
	const char *fwd_busy;             /* when busy: in a call, or incoming = BUSY */
	const char *fwd_noanswer;
	uint32_t fwd_noanswer_ms;         /* ringing this long: 302 */

	/* Media for every call (media.h): the source played and where the
	 * received audio is written (NULL: none).  tone_hz 0: no tone. */
	const char *play_wav;
	unsigned tone_hz;
	const char *record_wav;

	sb_ua_event_h *event_h;           /* required */
	void *event_arg;
	sb_log_h *log_h;                  /* NULL: no logs */
	void *log_arg;
	enum sb_log_level log_level;
	uint32_t t1_ms;                   /* 0: 500 */
};

/* Bind the SIP socket and get ready; registers at once unless no_register.
 * 0, EINVAL (a required field missing), EADDRINUSE, ENOMEM, or an errno
 * from the socket, with a sentence in err. */
int sb_ua_alloc(struct sb_ua **up, const struct sb_ua_cfg *cfg, char *err, size_t errcap);
/* Drops every call without signalling (call sb_ua_shutdown first for a
 * clean exit).  NULL is fine.  Never from inside an event handler; every
 * other function of this header may be called from one. */
void sb_ua_free(struct sb_ua *ua);

/* The SIP address bound (after port 0). */
void sb_ua_local(const struct sb_ua *ua, struct sb_addr *out);

/* A clean exit: hang up every call (BYE or CANCEL), unregister, and call
 * done_h once all of it is answered or timed out (bounded by 64*T1). */
void sb_ua_shutdown(struct sb_ua *ua, void (*done_h)(void *arg), void *arg);

/* Call target: "bob" (sip:bob@domain), "sip:bob@host:port", or a number.
 * 0 with *callp set (may be NULL), EINVAL (a target that is no URI, or
 * without a server one whose host is a name: no DNS; also after
 * sb_ua_shutdown), ENOSPC
 * (SB_UA_MAX_CALLS calls), or the errno of the first send (no call then,
 * and no event). */
int sb_ua_call(struct sb_ua *ua, const char *target, struct sb_call **callp);

/* Incoming: answer (200 with our SDP answer), reject (486 or 603).  A call
 * answered while another is established holds the other first (call
 * waiting).  0, EINVAL (not a ringing incoming call). */
int sb_ua_answer(struct sb_call *c);
int sb_ua_reject(struct sb_call *c, unsigned code);
/* End a call: BYE when established, CANCEL while our INVITE is pending,
 * 486 for a ringing incoming one.  0, EINVAL. */
int sb_ua_hangup(struct sb_call *c);
/* Hold (re-INVITE a=sendonly, or a=inactive when the other side holds us
 * too) and resume (a=sendrecv).  0, EINVAL (not established), EBUSY (a
 * re-INVITE in progress). */
int sb_ua_hold(struct sb_call *c);
int sb_ua_resume(struct sb_call *c);
/* Blind transfer: REFER the other side to target (RFC 3515).  Consultation
 * transfer: REFER c's other side to consult's other side, with Replaces
 * naming the consult dialog (RFC 3891).  0, EINVAL, EBUSY. */
int sb_ua_transfer(struct sb_call *c, const char *target);
int sb_ua_transfer_attended(struct sb_call *c, struct sb_call *consult);
/* Send DTMF digits (0-9, *, #, A-D) in the call's media (RFC 4733).
 * 0, EINVAL (not established, or a character that is no digit), ENOTSUP
 * (the peer took no telephone-event), ENOSPC (more than SB_UA_MAX_DTMF
 * would be waiting: nothing queued). */
int sb_ua_dtmf(struct sb_call *c, const char *digits);

/* Calls now: the one with the user's number n (sb_ua_event.call_id), and
 * the first established one.  NULL when none. */
struct sb_call *sb_ua_call_by_id(struct sb_ua *ua, unsigned n);
struct sb_call *sb_ua_current_call(struct sb_ua *ua);

/* One line per call for "status": its number, state, peer, hold. */
size_t sb_ua_status(struct sb_ua *ua, char *out, size_t cap);

/* Change the incoming policy (DND on and off from the prompt). */
void sb_ua_set_incoming(struct sb_ua *ua, enum sb_ua_incoming in);

#endif
