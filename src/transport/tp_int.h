/* transport internals shared by transport.c (sockets, UDP, send dispatch)
 * and conn.c (TCP connections).  Not installed. */
#ifndef SWITCHBOARD_TP_INT_H
#define SWITCHBOARD_TP_INT_H

#include "switchboard/transport.h"

struct tp_conn;

struct tp_listener {
	struct sb_transport *tp;
	enum sb_tp_proto proto;
	int fd;
	struct sb_addr local;
	bool wildcard;              /* bound to 0.0.0.0 or ::: ask for pktinfo */
	struct sb_timer backoff;    /* TCP: accepting paused after EMFILE */
	uint32_t rcvbuf, sndbuf;    /* UDP: socket buffers obtained (getsockopt) */
};

/* UDP datagrams queued while a received batch is handed up, sent with
 * sendmmsg() (SB_TP_UDP_TX_BATCH): each with its socket, destination, and
 * for a wildcard socket its source address in an IP_PKTINFO / IPV6_PKTINFO
 * control message; the bytes are copied into arena. */
struct tp_udp_txq {
	unsigned n;
	size_t used;                /* bytes of arena taken */
	bool flushing;              /* being sent: sends go out at once */
	struct tp_listener *lis[SB_TP_UDP_TX_BATCH];
	struct mmsghdr mm[SB_TP_UDP_TX_BATCH];
	struct iovec iov[SB_TP_UDP_TX_BATCH];
	struct sb_addr to[SB_TP_UDP_TX_BATCH];
	struct sb_addr from[SB_TP_UDP_TX_BATCH]; /* family 0: no pktinfo */
	union {
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} ctl[SB_TP_UDP_TX_BATCH];
	char *arena;                /* SB_TP_UDP_TX_BYTES */
};

/* One recvmmsg() batch: SB_TP_UDP_BATCH slots, each a datagram's source,
 * control messages (IP_PKTINFO / IPV6_PKTINFO) and bytes.  Allocated with the
 * first UDP listener; bufs is SB_TP_UDP_BATCH * slot bytes. */
struct tp_udp_batch {
	struct mmsghdr mm[SB_TP_UDP_BATCH];
	struct iovec iov[SB_TP_UDP_BATCH];
	struct sockaddr_storage ss[SB_TP_UDP_BATCH];
	union {
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) +
			 CMSG_SPACE(sizeof(struct in_pktinfo))];
		struct cmsghdr align;
	} ctl[SB_TP_UDP_BATCH];
	size_t slot;                /* bytes per datagram: udp_rx_max */
	char *bufs;
	bool tx_defer;              /* handing a batch up: queue UDP sends */
	struct tp_udp_txq tx;
};

struct sb_transport {
	struct sb_transport_cfg cfg;  /* defaults applied */
	struct sb_tp_stats st;
	struct tp_listener lis[SB_TP_MAX_LISTENERS];
	unsigned nlis;

	/* TCP connections, hashed by id and by peer IP (chains) */
	struct tp_conn **by_id;
	struct tp_conn **by_ip;
	uint32_t nbuckets;            /* power of two */
	uint32_t nconns;
	uint32_t next_id;
	uint32_t hash_seed;
	size_t buf_bytes;             /* connections' rbuf and wbuf capacity */

	/* scratch for the message being handed up: one at a time, since
	 * handlers never receive re-entrantly */
	struct sb_sip_msg msg;
	/* scratch for reading the Via of a response being sent, which may
	 * happen while msg is being handed up */
	struct sb_sip_msg tx_msg;
	/* UDP receive batch, shared by the UDP listeners (one is read at a
	 * time); NULL until the first UDP listener */
	struct tp_udp_batch *urx;
};


/* Count and hand one parsed message to the owner. */
void tp_deliver(struct sb_transport *tp, const struct sb_tp_rx *rx);
/* Datagrams made only of CR and LF are keep-alives (RFC 5626 §4.4.1 lets UAs
 * use them; RFC 3261 §7.5 ignores CRLF before a start line). */
bool tp_only_crlf(const char *p, size_t len);

/* conn.c */
int tp_conns_init(struct sb_transport *tp);
void tp_conns_fini(struct sb_transport *tp);
void tp_tcp_accept_h(int fd, unsigned events, void *arg);
int tp_tcp_send(struct sb_transport *tp, const struct sb_tp_dest *dst, const char *buf,
		size_t len);

#endif
