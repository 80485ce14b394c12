/* transport: SIP over UDP and TCP (TLS later) on one event loop, RFC 3261
 * §18.  It owns the sockets and connections; it frames stream bytes into
 * messages (sb_sip_frame), parses each message once, and hands it up with
 * where it came from.  Sending picks or opens the connection.
 *
 * What it does not do: validation (every message that parses is handed up,
 * defects and all: the owner runs sb_sip_validate() and answers statelessly),
 * Via received/rport (RFC 3581: the owner stamps them from rx->src), and the
 * §18.1.1 switch from UDP to TCP (send refuses with EMSGSIZE; the owner
 * rewrites the Via and sends again over TCP).
 *
 * Not thread-safe: a transport belongs to the thread running its loop. */
#ifndef SWITCHBOARD_TRANSPORT_H
#define SWITCHBOARD_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "switchboard/loop.h"
#include "switchboard/sip.h"

enum sb_tp_proto {
	SB_TP_UDP = 0,
	SB_TP_TCP,
	SB_TP_TLS,
};

/* RFC 3261 §18: everything but UDP is reliable (no retransmissions). */
static inline bool sb_tp_reliable(enum sb_tp_proto p)
{
	return p != SB_TP_UDP;
}

/* An IPv4 or IPv6 address and port. */
struct sb_addr {
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} u;
	socklen_t len;
};

/* Where to send: a protocol, an address, and for streams optionally the
 * connection a request came in on (responses go back on it, §18.2.2); for
 * UDP optionally the local address to send from (a response leaves from the
 * address and port its request reached, RFC 3581 §4: copy rx->local). */
struct sb_tp_dest {
	enum sb_tp_proto proto;
	struct sb_addr addr;
	uint32_t conn_id;      /* 0: any connection to addr, or a new one */
	struct sb_addr local;  /* UDP source; zeroed: any listener of the family */
};

/* One received message, valid during the receive callback only. */
struct sb_tp_rx {
	struct sb_sip_msg *msg;     /* parsed; bytes owned by the transport */
	enum sb_tp_proto proto;
	struct sb_addr src;         /* the peer (RFC 3581 received/rport) */
	struct sb_addr local;       /* the local address it arrived on */
	uint32_t conn_id;           /* stream connection, 0 for UDP */
};

/* ------------------------------------------------------------ addresses */

/* "[" + 45-char IPv6 text + "]:" + 5 digits + NUL, rounded up. */
#define SB_ADDR_STR_MAX 64u

/* Numeric IPv4 ("192.0.2.1") or IPv6 ("2001:db8::1", with or without []),
 * no DNS, no scope ids.  0 or EINVAL. */
int sb_addr_parse(struct sb_addr *a, const char *host, uint16_t port);
/* From a socket address of family AF_INET or AF_INET6.  0 or EAFNOSUPPORT. */
int sb_addr_from_sa(struct sb_addr *a, const struct sockaddr *sa, socklen_t len);
/* "192.0.2.1:5060" or "[2001:db8::1]:5060" into buf (NUL-terminated,
 * truncated to cap).  Returns buf, for use in logs. */
const char *sb_addr_to_str(const struct sb_addr *a, char *buf, size_t cap);
/* The host alone, without brackets ("2001:db8::1"): for Via received=. */
const char *sb_addr_host_to_str(const struct sb_addr *a, char *buf, size_t cap);
/* Same family, address and port. */
bool sb_addr_eq(const struct sb_addr *a, const struct sb_addr *b);
/* Same family and address, any port. */
bool sb_addr_ip_eq(const struct sb_addr *a, const struct sb_addr *b);
/* Same peer for per-peer accounting (max_conns_per_ip), any port: the same
 * IPv4 address, or the same IPv6 /64 (one host is commonly given a whole
 * /64, so counting exact IPv6 addresses would not bound it).  An
 * IPv4-mapped IPv6 address (::ffff:192.0.2.1) counts as its IPv4 address. */
bool sb_addr_same_peer(const struct sb_addr *a, const struct sb_addr *b);
/* The bytes that name a's peer in that sense, for tables keyed by peer
 * (the transport's connections, the authentication guard): an IPv4 address
 * (4 bytes, also from an IPv4-mapped IPv6 one), or an IPv6 /64 prefix and
 * its scope id (12 bytes: link-local prefixes repeat on every link).
 * Peers that are the same have equal keys.  Returns the length, 0 for
 * other families. */
#define SB_ADDR_PEER_KEY_MAX 12u
size_t sb_addr_peer_key(const struct sb_addr *a, unsigned char key[SB_ADDR_PEER_KEY_MAX]);
uint16_t sb_addr_port(const struct sb_addr *a);
void sb_addr_set_port(struct sb_addr *a, uint16_t port);
static inline int sb_addr_family(const struct sb_addr *a)
{
	return a->u.sa.sa_family;
}

/* ------------------------------------------------------------ transport */

/* Bounds, each overridable in sb_transport_cfg (0 takes the default). */
#define SB_TP_MAX_LISTENERS      16u      /* listening sockets per transport */
#define SB_TP_DEF_MAX_CONNS      4096u    /* TCP connections in all */
#define SB_TP_DEF_MAX_PER_IP     32u      /* TCP connections per peer
					   * (sb_addr_same_peer: IPv4 address
					   * or IPv6 /64) */
#define SB_TP_DEF_IDLE_MS        120000u  /* close a TCP connection idle this long */
/* A message (or keep-alive) must arrive whole within this time of its first
 * byte, or the connection closes: a peer trickling bytes (slowloris) cannot
 * hold a connection and its buffer.  Idleness counts from the last complete
 * message or keep-alive, in either direction, never from a partial read. */
#define SB_TP_DEF_MSG_MS         5000u
/* A CRLF with nothing after it may be a pong or the first half of a ping
 * (RFC 5626 §3.5.1); after this long without more bytes it is a pong. */
#define SB_TP_PONG_WAIT_MS       1000u
/* A connection buffers at most one whole message plus what follows it in
 * the same read; the framer needs more than SB_SIP_MAX_MSG_SIZE to tell "too
 * large" (EMSGSIZE) from "need more". */
#define SB_TP_DEF_MAX_CONN_BUF   (SB_SIP_MAX_MSG_SIZE + 4096u)
#define SB_TP_DEF_MAX_SENDQ      (256u * 1024u) /* queued output per connection */
/* RFC 3261 §18.1.1: a request within 200 bytes of the path MTU (1500 when
 * unknown) must go over a congestion-controlled transport. */
#define SB_TP_UDP_REQUEST_MAX    1300u
/* Datagrams (and accepts) handled per readiness event, so one busy socket
 * cannot starve the rest of the loop (TCP, timers); the loop is
 * level-triggered, so what is left waits for the next iteration. */
#define SB_TP_RX_BURST           64u
/* UDP datagrams taken from the kernel per recvmmsg(): one readiness event
 * makes at most SB_TP_RX_BURST / SB_TP_UDP_BATCH calls, and a call that
 * returns fewer than it asked for means the socket is drained.  Each slot
 * of the batch holds a whole datagram (udp_rx_max bytes): the batch is
 * SB_TP_UDP_BATCH * udp_rx_max bytes of address space per transport, of
 * which only the pages datagrams were written to are resident. */
#define SB_TP_UDP_BATCH          32u
/* The largest datagram received (a larger one is dropped and counted in
 * rx_too_large); IPv4 and IPv6 datagrams cannot exceed it. */
#define SB_TP_DEF_UDP_RX_MAX     SB_SIP_MAX_MSG_SIZE
/* UDP sends made while a received batch is handed up (the answers and
 * forwards it causes) are copied into a queue and leave together, one
 * sendmmsg() per socket, when the batch has been handed up: at most
 * SB_TP_UDP_TX_BATCH datagrams and SB_TP_UDP_TX_BYTES bytes (a full queue is
 * sent first; a datagram larger than the queue is sent alone, at once).
 * sb_transport_send() then returns 0 for a queued datagram: an error the
 * kernel reports when the queue is sent is counted (tx_late_errors) and
 * told to send_err_h.  Sends outside a batch (timers: retransmissions) and
 * over TCP are made at once. */
#define SB_TP_UDP_TX_BATCH       64u
#define SB_TP_UDP_TX_BYTES       (64u * 1024u)
/* UDP socket buffers asked for (SO_RCVBUFFORCE / SO_SNDBUFFORCE, which need
 * CAP_NET_ADMIN, else SO_RCVBUF / SO_SNDBUF, which the kernel caps at
 * net.core.rmem_max / wmem_max): room for the bursts of many callers, so that
 * the kernel does not drop datagrams while the loop is busy.  Memory is
 * charged only for datagrams actually queued. */
#define SB_TP_DEF_UDP_RCVBUF     (4u * 1024u * 1024u)
#define SB_TP_DEF_UDP_SNDBUF     (1u * 1024u * 1024u)
#define SB_TP_ACCEPT_BURST       16u
/* Out of descriptors (EMFILE), a listener stops accepting this long rather
 * than spin on a backlog it cannot drain. */
#define SB_TP_ACCEPT_BACKOFF_MS  100u
/* Descriptors RLIMIT_NOFILE must leave beyond max_conns: listeners, the
 * loop's own, stdio, the store and whatever else the process holds (at most
 * half the limit when the limit is tiny). */
#define SB_TP_FD_RESERVE         64u

struct sb_transport;

/* A message arrived.  rx and everything it points to live until the handler
 * returns.  The handler may send, and may close connections (even
 * rx->conn_id); it must not free the transport. */
typedef void (sb_tp_recv_h)(const struct sb_tp_rx *rx, void *arg);
/* A TCP connection closed: err is 0 for an orderly close by the peer or by
 * sb_transport_conn_close(), ETIMEDOUT for the idle timer or a message that
 * did not complete within msg_ms, else why it broke
 * (ECONNREFUSED, EBADMSG for an unframeable stream, EMSGSIZE, ...).  Queued
 * output is lost: transactions waiting on it see a transport error
 * (RFC 3261 §17.1.4), flows fail (RFC 5626 §5.2).  Also called from inside
 * sb_transport_send() when a write breaks the connection (send then returns
 * the same error).  Must not free the transport. */
typedef void (sb_tp_conn_close_h)(uint32_t conn_id, const struct sb_addr *peer, int err,
				  void *arg);
/* A UDP datagram that sb_transport_send() queued (SB_TP_UDP_TX_BATCH) was
 * refused by the kernel when the queue was sent, even after one retry on its
 * own: err is the errno (ENETUNREACH, EAGAIN, ...).  For the owner's log: the
 * send has already returned 0, so the transaction that made it learns of
 * the loss only by its timers (its next retransmission, sent at once, gets
 * the error).  It may send; it must not free the transport. */
typedef void (sb_tp_send_err_h)(const struct sb_addr *to, int err, void *arg);

struct sb_transport_cfg {
	struct sb_loop *loop;          /* required */
	sb_tp_recv_h *recv_h;          /* required */
	sb_tp_conn_close_h *close_h;   /* optional */
	sb_tp_send_err_h *send_err_h;  /* optional */
	void *arg;                     /* for the handlers */
	uint32_t max_conns;            /* 0: SB_TP_DEF_MAX_CONNS */
	uint32_t max_conns_per_ip;     /* 0: SB_TP_DEF_MAX_PER_IP (inbound only,
					* per sb_addr_same_peer) */
	uint32_t idle_ms;              /* 0: SB_TP_DEF_IDLE_MS */
	uint32_t msg_ms;               /* 0: SB_TP_DEF_MSG_MS */
	uint32_t max_conn_buf;         /* 0: SB_TP_DEF_MAX_CONN_BUF */
	uint32_t max_sendq;            /* 0: SB_TP_DEF_MAX_SENDQ */
	uint32_t udp_request_max;      /* 0: SB_TP_UDP_REQUEST_MAX; UINT32_MAX: off */
	uint32_t udp_rx_max;           /* 0: SB_TP_DEF_UDP_RX_MAX (at most that) */
	uint32_t udp_rcvbuf;           /* bytes; 0: SB_TP_DEF_UDP_RCVBUF */
	uint32_t udp_sndbuf;           /* bytes; 0: SB_TP_DEF_UDP_SNDBUF */
	bool udp_tx_sync;              /* never queue UDP sends: every send's
					* error is returned by sb_transport_send() */
};

struct sb_tp_stats {
	uint64_t rx_msgs;          /* messages handed to recv_h */
	uint64_t rx_bytes;         /* bytes of those messages */
	uint64_t rx_bad;           /* dropped: did not parse as SIP (EBADMSG) */
	uint64_t rx_too_large;     /* dropped: datagram over udp_rx_max (truncated),
				    * EMSGSIZE stream */
	uint64_t rx_udp_calls;     /* recvmmsg() calls, each up to SB_TP_UDP_BATCH
				    * datagrams (system calls on the UDP receive path) */
	uint64_t rx_keepalives;    /* CRLF pings/pongs and empty datagrams */
	uint64_t tx_msgs;          /* sb_transport_send() calls that succeeded */
	uint64_t tx_bytes;
	uint64_t tx_errors;        /* sb_transport_send() calls that failed */
	uint64_t tx_late_errors;   /* queued UDP datagrams the kernel refused
				    * (send_err_h), included in tx_msgs */
	uint64_t tx_udp_calls;     /* UDP send system calls (sendto, sendmsg,
				    * sendmmsg) */
	uint64_t conns_open;       /* gauge: TCP connections now open */
	uint64_t conns_accepted;
	uint64_t conns_refused;    /* max_conns or max_conns_per_ip */
	uint64_t conns_connected;  /* outbound connections opened */
	uint64_t conns_idle_closed;
	uint64_t conns_slow_closed;  /* a message did not complete within msg_ms */
	uint64_t conns_error_closed; /* framing, size, socket errors */
	uint64_t accept_errors;    /* EMFILE and the like: accepting paused */
	uint64_t buf_bytes;        /* gauge: bytes allocated now for connections'
				    * read buffers and send queues */
};

/* Every connection is a descriptor, so max_conns must fit RLIMIT_NOFILE:
 * when the soft limit is below max_conns + SB_TP_FD_RESERVE, alloc raises
 * it (for the whole process) toward the hard limit, and if it still falls
 * short lowers the transport's max_conns to fit; nothing is logged here:
 * sb_transport_max_conns() tells the owner, who may.  (The raised limit may
 * exceed FD_SETSIZE: nothing here uses select().)  Each transport reckons
 * alone: several in one process share the limit.
 * 0, EINVAL (no loop or recv_h), ENOMEM. */
int sb_transport_alloc(struct sb_transport **tpp, const struct sb_transport_cfg *cfg);
/* The bound on TCP connections in force: cfg->max_conns (or its default),
 * or less when RLIMIT_NOFILE could not be raised to fit it. */
uint32_t sb_transport_max_conns(const struct sb_transport *tp);
/* Close every socket without calling close_h.  NULL is fine. */
void sb_transport_free(struct sb_transport *tp);

/* Listen on addr (port 0: an ephemeral port) for UDP or TCP.  Sockets are
 * non-blocking, SO_REUSEADDR, and IPv6 ones IPV6_V6ONLY so that 0.0.0.0 and
 * :: can share a port.  *bound (if not NULL) receives the bound address.
 * 0, EPROTONOSUPPORT (TLS), ENOSPC (SB_TP_MAX_LISTENERS), or the errno of
 * socket/bind/listen. */
int sb_transport_listen(struct sb_transport *tp, enum sb_tp_proto proto,
			const struct sb_addr *addr, struct sb_addr *bound);

/* Send one message.  UDP: at once (or, from inside recv_h for a datagram,
 * queued until the batch it came in has been handed up: SB_TP_UDP_TX_BATCH),
 * from dst->local when set (the listener bound to exactly that address and
 * port, else a wildcard listener of that port with IP_PKTINFO/IPV6_PKTINFO
 * naming the source address), else from the first listening socket of the
 * address family.  TCP: on dst->conn_id when set; when that
 * connection is gone, a response goes where RFC 3261 §18.2.2 says (a
 * connection to the top Via's received, or numeric sent-by, host and its
 * sent-by port or 5060) and a request fails with ENOTCONN (RFC 5626: the
 * flow failed).  With conn_id 0: an open connection to dst->addr, else a new
 * one.  Bytes that cannot be written now are queued and sent as the socket
 * allows.
 * Returns 0 (sent or queued: a queued UDP datagram's refusal by the kernel
 * goes to send_err_h), EMSGSIZE (a UDP request over udp_request_max,
 * RFC 3261 §18.1.1: resend over TCP; or a datagram too large for UDP at all),
 * ENOBUFS (send queue full), ENOSPC (max_conns), EAFNOSUPPORT (no UDP socket
 * of that family), EPROTONOSUPPORT (TLS), ENOTCONN, or a socket errno.
 * Requests and responses are told apart by the "SIP/" a status line starts
 * with. */
int sb_transport_send(struct sb_transport *tp, const struct sb_tp_dest *dst,
		      const char *buf, size_t len);

/* Close a TCP connection now (queued output is dropped; close_h is called
 * with err 0).  0 or ENOENT. */
int sb_transport_conn_close(struct sb_transport *tp, uint32_t conn_id);
/* Whether conn_id is an open connection; *peer (if not NULL) its address. */
bool sb_transport_conn_lookup(const struct sb_transport *tp, uint32_t conn_id,
			      struct sb_addr *peer);

void sb_transport_stats(const struct sb_transport *tp, struct sb_tp_stats *out);

/* The socket buffer sizes the UDP listener bound to *bound (as
 * sb_transport_listen() returned it) obtained, as getsockopt(SO_RCVBUF /
 * SO_SNDBUF) reported them just after they were set: in the kernel's
 * accounting, which on Linux is twice the size asked for (the other half
 * pays for its bookkeeping), and capped at twice rmem_max / wmem_max when
 * the FORCE options were refused.  For the owner's log: a figure well below
 * 2 * udp_rcvbuf means the kernel will drop datagrams sooner in bursts.
 * 0 or ENOENT (no UDP listener bound there). */
int sb_transport_udp_bufs(const struct sb_transport *tp, const struct sb_addr *bound,
			  uint32_t *rcvbuf, uint32_t *sndbuf);

#endif
