/* transport: listening sockets, UDP receive and send, and the send dispatch
 * of RFC 3261 §18 (TCP connections live in conn.c).
 *
 * UDP datagrams are read in bursts of SB_TP_RX_BURST per readiness event (the
 * loop is level-triggered, so the rest waits for the next iteration),
 * SB_TP_UDP_BATCH per recvmmsg() call (one system call for a whole burst of
 * callers' messages, and none more once a batch comes back short), each
 * parsed as one message (RFC 3261 §18.3: Content-Length frames it, bytes
 * past it are discarded) and handed up with its source and the local
 * address it reached (IP_PKTINFO on wildcard sockets).  A datagram sent
 * with a local address (a response: RFC 3581 §4) leaves from the listener
 * bound to that address, or from a wildcard one with the source named in
 * IP_PKTINFO / IPV6_PKTINFO.  What the handlers of a received batch send
 * over UDP is queued and leaves in one sendmmsg() per socket once the batch
 * has been handed up (SB_TP_UDP_TX_BATCH); other sends leave at once. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tp_int.h"

bool tp_only_crlf(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != '\r' && p[i] != '\n')
			return false;
	return true;
}

void tp_deliver(struct sb_transport *tp, const struct sb_tp_rx *rx)
{
	tp->st.rx_msgs++;
	tp->st.rx_bytes += rx->msg->raw.l;
	tp->cfg.recv_h(rx, tp->cfg.arg);
}

/* The UDP receive batch, with the first UDP listener: each slot's iovec,
 * source and control buffer are set once; recvmmsg() fills them. */
static int udp_batch_alloc(struct sb_transport *tp)
{
	struct tp_udp_batch *b;

	if (tp->urx)
		return 0;
	b = calloc(1, sizeof *b);
	if (!b)
		return ENOMEM;
	b->slot = tp->cfg.udp_rx_max;
	/* not calloc: the pages stay unmapped until a datagram lands there */
	b->bufs = malloc(SB_TP_UDP_BATCH * b->slot);
	b->tx.arena = malloc(SB_TP_UDP_TX_BYTES);
	if (!b->bufs || !b->tx.arena) {
		free(b->bufs);
		free(b->tx.arena);
		free(b);
		return ENOMEM;
	}
	for (unsigned i = 0; i < SB_TP_UDP_BATCH; i++) {
		struct msghdr *mh = &b->mm[i].msg_hdr;
		b->iov[i] = (struct iovec){ b->bufs + i * b->slot, b->slot };
		mh->msg_name = &b->ss[i];
		mh->msg_iov = &b->iov[i];
		mh->msg_iovlen = 1;
		mh->msg_control = b->ctl[i].buf;
	}
	tp->urx = b;
	return 0;
}

static void udp_batch_free(struct sb_transport *tp)
{
	if (tp->urx) {
		free(tp->urx->bufs);
		free(tp->urx->tx.arena);
	}
	free(tp->urx);
	tp->urx = NULL;
}

/* Make max_conns fit RLIMIT_NOFILE: raise the soft limit toward the hard
 * one if it is short of max_conns + SB_TP_FD_RESERVE, else lower max_conns
 * to what the limit leaves.  Every open descriptor must be numbered below
 * the soft limit, so descriptors the process already holds count too: the
 * reserve is for them. */
static uint32_t fit_fd_limit(uint32_t max_conns)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)max_conns + SB_TP_FD_RESERVE;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur >= want)
		return max_conns;
	rlim_t to = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want ? rl.rlim_max : want;
	if (to > rl.rlim_cur) {
		struct rlimit raised = { .rlim_cur = to, .rlim_max = rl.rlim_max };
		/* EPERM past fs.nr_open: keep the old limit */
		if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
			rl.rlim_cur = to;
	}
	if (rl.rlim_cur >= want)
		return max_conns;
	rlim_t reserve = SB_TP_FD_RESERVE;
	if (reserve > rl.rlim_cur / 2)
		reserve = rl.rlim_cur / 2;
	rlim_t fit = rl.rlim_cur - reserve;
	return fit < 1 ? 1 : (uint32_t)fit; /* fit < max_conns here */
}

uint32_t sb_transport_max_conns(const struct sb_transport *tp)
{
	return tp->cfg.max_conns;
}

int sb_transport_alloc(struct sb_transport **tpp, const struct sb_transport_cfg *cfg)
{
	struct sb_transport *tp;
	int err;

	if (!tpp || !cfg || !cfg->loop || !cfg->recv_h)
		return EINVAL;
	tp = calloc(1, sizeof *tp);
	if (!tp)
		return ENOMEM;
	tp->cfg = *cfg;
	if (!tp->cfg.max_conns)
		tp->cfg.max_conns = SB_TP_DEF_MAX_CONNS;
	tp->cfg.max_conns = fit_fd_limit(tp->cfg.max_conns);
	if (!tp->cfg.max_conns_per_ip)
		tp->cfg.max_conns_per_ip = SB_TP_DEF_MAX_PER_IP;
	if (!tp->cfg.idle_ms)
		tp->cfg.idle_ms = SB_TP_DEF_IDLE_MS;
	if (!tp->cfg.msg_ms)
		tp->cfg.msg_ms = SB_TP_DEF_MSG_MS;
	if (!tp->cfg.max_conn_buf)
		tp->cfg.max_conn_buf = SB_TP_DEF_MAX_CONN_BUF;
	if (tp->cfg.max_conn_buf < 64)
		tp->cfg.max_conn_buf = 64; /* room for a start line at least */
	if (!tp->cfg.max_sendq)
		tp->cfg.max_sendq = SB_TP_DEF_MAX_SENDQ;
	if (!tp->cfg.udp_request_max)
		tp->cfg.udp_request_max = SB_TP_UDP_REQUEST_MAX;
	if (!tp->cfg.udp_rx_max || tp->cfg.udp_rx_max > SB_TP_DEF_UDP_RX_MAX)
		tp->cfg.udp_rx_max = SB_TP_DEF_UDP_RX_MAX;
	if (!tp->cfg.udp_rcvbuf)
		tp->cfg.udp_rcvbuf = SB_TP_DEF_UDP_RCVBUF;
	if (!tp->cfg.udp_sndbuf)
		tp->cfg.udp_sndbuf = SB_TP_DEF_UDP_SNDBUF;
	for (unsigned i = 0; i < SB_TP_MAX_LISTENERS; i++)
		tp->lis[i].fd = -1;
	err = tp_conns_init(tp);
	if (err) {
		free(tp);
		return err;
	}
	*tpp = tp;
	return 0;
}

void sb_transport_free(struct sb_transport *tp)
{
	if (!tp)
		return;
	tp_conns_fini(tp);
	for (unsigned i = 0; i < tp->nlis; i++) {
		sb_timer_stop(tp->cfg.loop, &tp->lis[i].backoff);
		sb_loop_fd_del(tp->cfg.loop, tp->lis[i].fd);
		close(tp->lis[i].fd);
	}
	udp_batch_free(tp);
	free(tp);
}

void sb_transport_stats(const struct sb_transport *tp, struct sb_tp_stats *out)
{
	*out = tp->st;
	out->conns_open = tp->nconns;
	out->buf_bytes = tp->buf_bytes;
}

int sb_transport_udp_bufs(const struct sb_transport *tp, const struct sb_addr *bound,
			  uint32_t *rcvbuf, uint32_t *sndbuf)
{
	for (unsigned i = 0; i < tp->nlis; i++) {
		const struct tp_listener *l = &tp->lis[i];
		if (l->proto != SB_TP_UDP || !sb_addr_eq(&l->local, bound))
			continue;
		if (rcvbuf)
			*rcvbuf = l->rcvbuf;
		if (sndbuf)
			*sndbuf = l->sndbuf;
		return 0;
	}
	return ENOENT;
}

static bool is_wildcard(const struct sb_addr *a)
{
	if (sb_addr_family(a) == AF_INET)
		return a->u.in.sin_addr.s_addr == htonl(INADDR_ANY);
	return memcmp(&a->u.in6.sin6_addr, &in6addr_any, sizeof in6addr_any) == 0;
}

/* Learn the address a datagram was sent to from its IP_PKTINFO or
 * IPV6_PKTINFO control message; keeps *local (the bound one) otherwise. */
static void udp_local_from_cmsg(struct msghdr *mh, struct sb_addr *local)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
		    sb_addr_family(local) == AF_INET) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof pi);
			local->u.in.sin_addr = pi.ipi_addr;
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
			   sb_addr_family(local) == AF_INET6) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof pi);
			local->u.in6.sin6_addr = pi.ipi6_addr;
		}
	}
}

/* Parse and hand up one datagram, or drop and count it. */
static void udp_datagram(struct sb_transport *tp, char *buf, size_t n,
			 const struct sb_addr *src, const struct sb_addr *local)
{
	if (tp_only_crlf(buf, n)) {
		tp->st.rx_keepalives++;
		return;
	}
	/* EBADMSG: not SIP, nobody to answer (RFC 3261 §18.3 and §16.3);
	 * ENODATA: a datagram cannot be continued */
	if (sb_sip_parse(&tp->msg, buf, n, SB_SIP_DATAGRAM) != 0) {
		tp->st.rx_bad++;
		return;
	}
	struct sb_tp_rx rx = {
		.msg = &tp->msg,
		.proto = SB_TP_UDP,
		.src = *src,
		.local = *local,
		.conn_id = 0,
	};
	tp_deliver(tp, &rx);
}

/* recvmmsg() up to want datagrams into the batch's first slots, resetting
 * what the kernel wrote back into them last time.  Returns what it does. */
static int udp_batch_recv(struct tp_udp_batch *b, int fd, unsigned want)
{
	for (unsigned i = 0; i < want; i++) {
		struct msghdr *mh = &b->mm[i].msg_hdr;
		mh->msg_namelen = sizeof b->ss[i];
		mh->msg_controllen = sizeof b->ctl[i].buf;
		mh->msg_flags = 0;
	}
	return recvmmsg(fd, b->mm, want, MSG_DONTWAIT, NULL);
}

/* Hand up slot i of the batch just received on l, or drop and count it. */
static void udp_slot(struct sb_transport *tp, const struct tp_listener *l, unsigned i)
{
	struct tp_udp_batch *b = tp->urx;
	struct msghdr *mh = &b->mm[i].msg_hdr;
	struct sb_addr src, local = l->local;

	if (mh->msg_flags & MSG_TRUNC) {
		tp->st.rx_too_large++; /* larger than udp_rx_max */
		return;
	}
	if (sb_addr_from_sa(&src, (struct sockaddr *)&b->ss[i], mh->msg_namelen) != 0)
		return;
	if (l->wildcard)
		udp_local_from_cmsg(mh, &local);
	udp_datagram(tp, b->iov[i].iov_base, b->mm[i].msg_len, &src, &local);
}

static void udp_txq_flush(struct sb_transport *tp); /* with the send path below */

/* Readable: up to SB_TP_RX_BURST datagrams, SB_TP_UDP_BATCH per recvmmsg(),
 * handed up in arrival order.  A short batch means the socket is drained;
 * a full burst leaves the rest for the next loop iteration. */
static void udp_read_h(int fd, unsigned events, void *arg)
{
	struct tp_listener *l = arg;
	struct sb_transport *tp = l->tp;

	(void)events;
	for (unsigned done = 0; done < SB_TP_RX_BURST;) {
		unsigned want = SB_TP_RX_BURST - done;
		if (want > SB_TP_UDP_BATCH)
			want = SB_TP_UDP_BATCH;
		int n = udp_batch_recv(tp->urx, fd, want);
		tp->st.rx_udp_calls++;
		if (n < 0) {
			if (errno == EINTR) {
				done++; /* bounded: counts against the burst */
				continue;
			}
			return; /* EAGAIN, or an ICMP error reported on the socket */
		}
		/* what handlers send meanwhile leaves in one sendmmsg() */
		tp->urx->tx_defer = true;
		for (unsigned i = 0; i < (unsigned)n; i++)
			udp_slot(tp, l, i);
		tp->urx->tx_defer = false;
		udp_txq_flush(tp);
		if ((unsigned)n < want)
			return;
		done += want;
	}
}

/* Ask for size bytes of socket buffer: the FORCE option first (past
 * rmem_max / wmem_max, with CAP_NET_ADMIN), else the plain one (capped by
 * the kernel).  Returns what the socket then has, in the kernel's
 * accounting, or 0 if it cannot tell. */
static uint32_t sock_buf(int fd, int force_opt, int opt, uint32_t size)
{
	int v = size > INT_MAX / 2 ? INT_MAX / 2 : (int)size;
	socklen_t sl = sizeof v;

	if (setsockopt(fd, SOL_SOCKET, force_opt, &v, sizeof v) != 0)
		(void)setsockopt(fd, SOL_SOCKET, opt, &v, sizeof v); /* keep the default */
	if (getsockopt(fd, SOL_SOCKET, opt, &v, &sl) != 0 || v < 0)
		return 0;
	return (uint32_t)v;
}

static int sock_open(int family, int type, const struct sb_addr *addr, int *fdp)
{
	int one = 1, fd, err;

	fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	/* TCP: rebind at once over TIME_WAIT connections after a restart.
	 * Not UDP: there Linux lets a second socket bind the same address and
	 * port, and two servers would silently split the traffic. */
	if (type == SOCK_STREAM &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0)
		goto fail;
	/* so that 0.0.0.0:5060 and [::]:5060 can both be bound */
	if (family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0)
		goto fail;
	if (type == SOCK_DGRAM && is_wildcard(addr)) {
		int r = family == AF_INET
				? setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one)
				: setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one);
		if (r != 0)
			goto fail;
	}
	if (bind(fd, &addr->u.sa, addr->len) != 0)
		goto fail;
	*fdp = fd;
	return 0;
fail:
	err = errno;
	close(fd);
	return err;
}

int sb_transport_listen(struct sb_transport *tp, enum sb_tp_proto proto,
			const struct sb_addr *addr, struct sb_addr *bound)
{
	struct tp_listener *l;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	int fd = -1, err, family = sb_addr_family(addr);

	if (proto != SB_TP_UDP && proto != SB_TP_TCP)
		return EPROTONOSUPPORT;
	if (family != AF_INET && family != AF_INET6)
		return EAFNOSUPPORT;
	if (tp->nlis >= SB_TP_MAX_LISTENERS)
		return ENOSPC;
	err = sock_open(family, proto == SB_TP_UDP ? SOCK_DGRAM : SOCK_STREAM, addr, &fd);
	if (err)
		return err;
	if (proto == SB_TP_TCP && listen(fd, SOMAXCONN) != 0)
		goto fail;
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
		goto fail;
	l = &tp->lis[tp->nlis];
	l->tp = tp;
	l->proto = proto;
	l->fd = fd;
	l->wildcard = is_wildcard(addr);
	l->rcvbuf = l->sndbuf = 0;
	if (proto == SB_TP_UDP) {
		if ((err = udp_batch_alloc(tp))) {
			close(fd);
			return err;
		}
		l->rcvbuf = sock_buf(fd, SO_RCVBUFFORCE, SO_RCVBUF, tp->cfg.udp_rcvbuf);
		l->sndbuf = sock_buf(fd, SO_SNDBUFFORCE, SO_SNDBUF, tp->cfg.udp_sndbuf);
	}
	sb_timer_init(&l->backoff);
	sb_addr_from_sa(&l->local, (struct sockaddr *)&ss, sl);
	err = sb_loop_fd_add(tp->cfg.loop, fd, SB_FD_READ,
			     proto == SB_TP_UDP ? udp_read_h : tp_tcp_accept_h, l);
	if (err) {
		close(fd);
		l->fd = -1;
		return err;
	}
	tp->nlis++;
	if (bound)
		*bound = l->local;
	return 0;
fail:
	err = errno;
	close(fd);
	return err;
}

static struct tp_listener *udp_listener(struct sb_transport *tp, int family)
{
	for (unsigned i = 0; i < tp->nlis; i++)
		if (tp->lis[i].proto == SB_TP_UDP && sb_addr_family(&tp->lis[i].local) == family)
			return &tp->lis[i];
	return NULL;
}

/* RFC 3581 §4: the listener a response to a request that reached local must
 * leave from: the one bound to exactly local, else a wildcard one of its
 * family and port (*pktinfo: name the source address).  NULL: none. */
static struct tp_listener *udp_listener_for(struct sb_transport *tp,
					     const struct sb_addr *local, bool *pktinfo)
{
	struct tp_listener *any = NULL;
	*pktinfo = false;
	for (unsigned i = 0; i < tp->nlis; i++) {
		struct tp_listener *l = &tp->lis[i];
		if (l->proto != SB_TP_UDP || sb_addr_family(&l->local) != sb_addr_family(local))
			continue;
		if (sb_addr_eq(&l->local, local))
			return l;
		if (!any && l->wildcard && sb_addr_port(&l->local) == sb_addr_port(local))
			any = l;
	}
	*pktinfo = any != NULL && !is_wildcard(local);
	return any;
}

/* The IP_PKTINFO / IPV6_PKTINFO control message naming from as the source
 * address, into ctl (CMSG_SPACE(sizeof(struct in6_pktinfo)) bytes, aligned).
 * Returns its length. */
static size_t udp_pktinfo_ctl(char *ctl, const struct sb_addr *from)
{
	struct cmsghdr *c = (struct cmsghdr *)(void *)ctl;
	memset(ctl, 0, CMSG_SPACE(sizeof(struct in6_pktinfo)));
	if (sb_addr_family(from) == AF_INET) {
		struct in_pktinfo pi = { .ipi_spec_dst = from->u.in.sin_addr };
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof pi);
		memcpy(CMSG_DATA(c), &pi, sizeof pi);
		return CMSG_SPACE(sizeof pi);
	}
	struct in6_pktinfo pi = { .ipi6_addr = from->u.in6.sin6_addr };
	c->cmsg_level = IPPROTO_IPV6;
	c->cmsg_type = IPV6_PKTINFO;
	c->cmsg_len = CMSG_LEN(sizeof pi);
	memcpy(CMSG_DATA(c), &pi, sizeof pi);
	return CMSG_SPACE(sizeof pi);
}

/* sendmsg from a wildcard socket with the source address in an
 * IP_PKTINFO / IPV6_PKTINFO control message.  Returns what sendmsg does. */
static ssize_t udp_sendmsg_from(int fd, const struct sb_addr *to, const struct sb_addr *from,
				const char *buf, size_t len)
{
	union {
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { (void *)(uintptr_t)buf, len };
	struct msghdr mh = {
		.msg_name = (void *)(uintptr_t)&to->u.sa,
		.msg_namelen = to->len,
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = ctl.buf,
	};
	mh.msg_controllen = udp_pktinfo_ctl(ctl.buf, from);
	return sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* Send one datagram now on l's socket, from *from (pktinfo) when not NULL.
 * 0 or the errno. */
static int udp_send_now(struct sb_transport *tp, const struct tp_listener *l,
			const struct sb_addr *to, const struct sb_addr *from,
			const char *buf, size_t len)
{
	for (;;) {
		tp->st.tx_udp_calls++;
		ssize_t n = from ? udp_sendmsg_from(l->fd, to, from, buf, len)
				 : sendto(l->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL,
					  &to->u.sa, to->len);
		if (n >= 0)
			return 0;
		if (from && (errno == EINVAL || errno == EADDRNOTAVAIL)) {
			/* the address is gone (or link-local, needing a scope we
			 * do not keep): better from another address than not at all */
			from = NULL;
			continue;
		}
		if (errno != EINTR)
			return errno; /* EAGAIN: the socket buffer is full: a loss UDP allows */
	}
}

/* Queued datagram i was refused by sendmmsg() with err: once more on its
 * own (which also drops a stale pktinfo source, as a send at once would),
 * unless the socket itself is full (EAGAIN, ENOBUFS: a retry would fail
 * alike and double the system calls of an overloaded server); then count
 * it and tell the owner. */
static void udp_txq_refused(struct sb_transport *tp, unsigned i, int err)
{
	struct tp_udp_txq *q = &tp->urx->tx;
	const struct sb_addr *from = sb_addr_family(&q->from[i]) ? &q->from[i] : NULL;
	if (err != EAGAIN && err != EWOULDBLOCK && err != ENOBUFS)
		err = udp_send_now(tp, q->lis[i], &q->to[i], from, q->iov[i].iov_base,
				   q->iov[i].iov_len);
	if (!err)
		return;
	tp->st.tx_late_errors++;
	if (tp->cfg.send_err_h)
		tp->cfg.send_err_h(&q->to[i], err, tp->cfg.arg);
}

/* Send what the queue holds, in order: one sendmmsg() per run of datagrams
 * on the same socket.  Sends made meanwhile (by send_err_h) go out at once. */
static void udp_txq_flush(struct sb_transport *tp)
{
	struct tp_udp_txq *q = &tp->urx->tx;
	unsigned i = 0;

	q->flushing = true;
	while (i < q->n) {
		unsigned j = i + 1;
		while (j < q->n && q->lis[j] == q->lis[i])
			j++;
		tp->st.tx_udp_calls++;
		int r = sendmmsg(q->lis[i]->fd, &q->mm[i], j - i, MSG_DONTWAIT | MSG_NOSIGNAL);
		int err = r < 0 ? errno : 0;
		if (r > 0)
			i += (unsigned)r;
		/* sendmmsg() stops at the first datagram refused (and returns
		 * how many went before it, if any): datagram i.  A partial
		 * return gives no errno: the refused one is tried alone. */
		if (r < 0 && err == EINTR)
			continue;
		if (r < 0 && (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS)) {
			/* the socket is full: the rest of this run is lost
			 * too, without a call each */
			while (i < j)
				udp_txq_refused(tp, i++, err);
		} else if (r < 0 || i < j) {
			udp_txq_refused(tp, i++, err);
		}
	}
	q->n = 0;
	q->used = 0;
	q->flushing = false;
}

/* The largest UDP payload over IPv4 (65535 - 20 - 8); a larger datagram is
 * sent at once, so that its EMSGSIZE reaches the owner. */
#define UDP_PAYLOAD_MAX 65507u

/* Queue a datagram for udp_txq_flush(), sending the queue first when it is
 * full.  false: larger than the queue can ever hold, or than UDP carries
 * (send it at once). */
static bool udp_txq_put(struct sb_transport *tp, struct tp_listener *l,
			const struct sb_addr *to, const struct sb_addr *from,
			const char *buf, size_t len)
{
	struct tp_udp_txq *q = &tp->urx->tx;

	if (len > SB_TP_UDP_TX_BYTES || len > UDP_PAYLOAD_MAX)
		return false;
	if (q->n == SB_TP_UDP_TX_BATCH || len > SB_TP_UDP_TX_BYTES - q->used)
		udp_txq_flush(tp);
	unsigned i = q->n++;
	char *p = q->arena + q->used;
	memcpy(p, buf, len);
	q->used += len;
	q->lis[i] = l;
	q->to[i] = *to;
	q->iov[i] = (struct iovec){ p, len };
	q->mm[i] = (struct mmsghdr){ .msg_hdr = {
		.msg_name = &q->to[i].u.sa,
		.msg_namelen = to->len,
		.msg_iov = &q->iov[i],
		.msg_iovlen = 1,
	} };
	memset(&q->from[i], 0, sizeof q->from[i]);
	if (from) {
		q->from[i] = *from;
		q->mm[i].msg_hdr.msg_control = q->ctl[i].buf;
		q->mm[i].msg_hdr.msg_controllen = udp_pktinfo_ctl(q->ctl[i].buf, from);
	}
	return true;
}

/* Whether a UDP send now goes to the queue: inside a received batch, not
 * while the queue is being sent, unless the owner wants every error. */
static bool udp_txq_open(const struct sb_transport *tp)
{
	return tp->urx && tp->urx->tx_defer && !tp->urx->tx.flushing && !tp->cfg.udp_tx_sync;
}

static bool is_response(const char *buf, size_t len)
{
	return len >= 4 && memcmp(buf, "SIP/", 4) == 0;
}

static int udp_send(struct sb_transport *tp, const struct sb_tp_dest *dst, const char *buf,
		    size_t len)
{
	/* RFC 3261 §18.1.1: a request larger than MTU - 200 goes over a
	 * congestion-controlled transport; the owner switches and rewrites
	 * the Via.  Responses follow the request's transport (§18.2.2). */
	if (len > tp->cfg.udp_request_max && !is_response(buf, len))
		return EMSGSIZE;
	/* RFC 3581 §4: a response leaves from where its request arrived, so
	 * that NATs and symmetric peers accept it */
	struct tp_listener *l = NULL;
	bool pktinfo = false;
	int family = sb_addr_family(&dst->addr);
	if (sb_addr_family(&dst->local) == family)
		l = udp_listener_for(tp, &dst->local, &pktinfo);
	if (!l)
		l = udp_listener(tp, family);
	if (!l)
		return EAFNOSUPPORT;
	const struct sb_addr *from = pktinfo ? &dst->local : NULL;
	if (udp_txq_open(tp)) {
		if (udp_txq_put(tp, l, &dst->addr, from, buf, len))
			return 0;
		/* sent at once (too large to queue): what is queued goes
		 * first, so that nothing overtakes it */
		udp_txq_flush(tp);
	}
	return udp_send_now(tp, l, &dst->addr, from, buf, len);
}

int sb_transport_send(struct sb_transport *tp, const struct sb_tp_dest *dst,
		      const char *buf, size_t len)
{
	int err;

	switch (dst->proto) {
	case SB_TP_UDP:
		err = udp_send(tp, dst, buf, len);
		break;
	case SB_TP_TCP:
		err = tp_tcp_send(tp, dst, buf, len);
		break;
	default:
		err = EPROTONOSUPPORT;
		break;
	}
	if (err) {
		tp->st.tx_errors++;
		return err;
	}
	tp->st.tx_msgs++;
	tp->st.tx_bytes += len;
	return 0;
}
