/* transport/conn: TCP connections (RFC 3261 §18, RFC 5626 §3.5.1).
 *
 * Each connection has a read buffer that grows up to max_conn_buf, a write
 * queue bounded by max_sendq, and two timers embedded in it.  Bytes are
 * framed by sb_sip_frame() (Content-Length, §18.3), so several messages per
 * read and a message split across reads both work; what can never be framed
 * closes the connection.
 *
 * Time bounds, so that no peer holds a connection and its buffers by
 * trickling bytes (slowloris):
 * - the message deadline (msg_ms) starts with the first byte of a message or
 *   keep-alive and is cleared only when the framer completes it; a message
 *   that never completes (RFC 4475 clerr, or a header sent a byte a minute)
 *   closes the connection with ETIMEDOUT when it passes;
 * - the idle timer (idle_ms) restarts only on whole units of traffic: a
 *   message or keep-alive received, a message written out whole, the send
 *   queue drained.  Partial reads and partial writes do not restart it.
 * A CRLF with nothing after it is a pong or half a ping (RFC 5626 §3.5.1):
 * it waits SB_TP_PONG_WAIT_MS (at most msg_ms) for the rest of a ping, then
 * counts as a pong.  So a server answers split pings, and a client (the
 * phone) sees its pong without waiting for the next message.
 *
 * Buffers are released when empty: the read buffer beyond its first 4 KiB
 * after each message, the send queue once drained.
 *
 * Connections are found by id (responses go back on the connection their
 * request came on, §18.2.2) and by peer address (requests to the same target
 * reuse a connection, §18.1.1).  Ids are never 0 and never reused while the
 * connection they name is open.
 *
 * Lifetime: a handler (recv_h, close_h) may close any connection, including
 * the one being read.  A closed connection is unlinked and its socket closed
 * at once; its memory is freed when the last frame on the stack that holds
 * it lets go (conn_hold / conn_release). */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "switchboard/hash.h"

#include "tp_int.h"

#define CONN_RBUF_INIT   4096u   /* first read buffer; grows by doubling */
#define CONN_READ_MIN    1024u   /* grow when less room than this is left */
#define CONN_WBUF_KEEP   4096u   /* a drained send queue keeps at most this */
#define CONN_BUCKETS_MAX (1u << 20)

struct tp_conn {
	struct sb_transport *tp;
	uint32_t id;
	int fd;
	struct sb_addr peer;
	struct sb_addr local;
	bool outbound;          /* we connected; not counted per peer IP */
	bool connecting;        /* connect() in progress */
	bool dead;              /* closed: unlinked, fd closed, awaiting free */
	unsigned busy;          /* stack frames holding it */
	unsigned events;        /* SB_FD_* interest now registered */
	struct sb_timer idle;
	struct sb_timer msg;    /* the deadline of the message being read */
	sb_msec_t msg_t0;       /* when its first byte came */
	bool msg_open;          /* bytes of an incomplete frame are buffered */
	struct sb_sip_frame fr; /* framer state of the message being read */
	char *rbuf;
	size_t rlen, rcap;
	char *wbuf;             /* queued output is wbuf[woff..wlen) */
	size_t woff, wlen, wcap;
	struct tp_conn *id_next;
	struct tp_conn *ip_next;
};

/* ------------------------------------------------------------ tables */

/* By peer (sb_addr_peer_key: IPv4 address or IPv6 /64), so that inbound_from
 * finds every connection of a peer in one chain; a chain holds at most
 * max_conns_per_ip inbound connections of one peer. */
static uint32_t hash_ip(const struct sb_transport *tp, const struct sb_addr *a)
{
	unsigned char p[SB_ADDR_PEER_KEY_MAX];
	size_t n = sb_addr_peer_key(a, p);
	/* the hash table's FNV-1a with a per-transport random seed, so that
	 * peers cannot pick addresses that share a chain */
	uint32_t h = sb_hash_bytes(p, n, tp->hash_seed);
	return (h ^ (h >> 16)) & (tp->nbuckets - 1);
}

static struct tp_conn *find_id(const struct sb_transport *tp, uint32_t id)
{
	struct tp_conn *c = tp->by_id[id & (tp->nbuckets - 1)];
	while (c && c->id != id)
		c = c->id_next;
	return c;
}

static struct tp_conn *find_addr(const struct sb_transport *tp, const struct sb_addr *a)
{
	for (struct tp_conn *c = tp->by_ip[hash_ip(tp, a)]; c; c = c->ip_next)
		if (sb_addr_eq(&c->peer, a))
			return c;
	return NULL;
}

static uint32_t inbound_from(const struct sb_transport *tp, const struct sb_addr *a)
{
	uint32_t n = 0;
	for (struct tp_conn *c = tp->by_ip[hash_ip(tp, a)]; c; c = c->ip_next)
		if (!c->outbound && sb_addr_same_peer(&c->peer, a))
			n++;
	return n;
}

static void unlink_conn(struct sb_transport *tp, struct tp_conn *c)
{
	struct tp_conn **pp = &tp->by_id[c->id & (tp->nbuckets - 1)];
	while (*pp != c)
		pp = &(*pp)->id_next;
	*pp = c->id_next;
	pp = &tp->by_ip[hash_ip(tp, &c->peer)];
	while (*pp != c)
		pp = &(*pp)->ip_next;
	*pp = c->ip_next;
}

int tp_conns_init(struct sb_transport *tp)
{
	uint32_t nb = 16;
	while (nb < tp->cfg.max_conns && nb < CONN_BUCKETS_MAX)
		nb <<= 1;
	tp->nbuckets = nb;
	tp->by_id = calloc(nb, sizeof *tp->by_id);
	tp->by_ip = calloc(nb, sizeof *tp->by_ip);
	if (!tp->by_id || !tp->by_ip) {
		free(tp->by_id);
		free(tp->by_ip);
		return ENOMEM;
	}
	if (getrandom(&tp->hash_seed, sizeof tp->hash_seed, GRND_NONBLOCK) !=
	    (ssize_t)sizeof tp->hash_seed)
		tp->hash_seed = (uint32_t)(uintptr_t)tp; /* weaker, still per process */
	return 0;
}

static void conn_free(struct tp_conn *c)
{
	c->tp->buf_bytes -= c->rcap + c->wcap;
	free(c->rbuf);
	free(c->wbuf);
	free(c);
}

void tp_conns_fini(struct sb_transport *tp)
{
	for (uint32_t i = 0; i < tp->nbuckets; i++) {
		struct tp_conn *c = tp->by_id[i];
		while (c) {
			struct tp_conn *next = c->id_next;
			sb_timer_stop(tp->cfg.loop, &c->idle);
			sb_timer_stop(tp->cfg.loop, &c->msg);
			sb_loop_fd_del(tp->cfg.loop, c->fd);
			close(c->fd);
			conn_free(c);
			c = next;
		}
	}
	free(tp->by_id);
	free(tp->by_ip);
	tp->nconns = 0;
}

/* ---------------------------------------------------------- lifetime */

static void conn_hold(struct tp_conn *c)
{
	c->busy++;
}

static void conn_release(struct tp_conn *c)
{
	if (--c->busy == 0 && c->dead)
		conn_free(c);
}

/* Close c: unlink it, close its socket, drop queued bytes, tell the owner.
 * Safe on a connection already closed.  c may be freed on return unless the
 * caller holds it. */
static void conn_close(struct tp_conn *c, int err)
{
	struct sb_transport *tp = c->tp;
	if (c->dead)
		return;
	c->dead = true;
	unlink_conn(tp, c);
	tp->nconns--;
	sb_timer_stop(tp->cfg.loop, &c->idle);
	sb_timer_stop(tp->cfg.loop, &c->msg);
	sb_loop_fd_del(tp->cfg.loop, c->fd);
	close(c->fd);
	c->fd = -1;
	if (err && err != ETIMEDOUT)
		tp->st.conns_error_closed++;
	conn_hold(c);
	if (tp->cfg.close_h)
		tp->cfg.close_h(c->id, &c->peer, err, tp->cfg.arg);
	conn_release(c);
}

static void conn_idle_h(void *arg)
{
	struct tp_conn *c = arg;
	c->tp->st.conns_idle_closed++;
	conn_close(c, ETIMEDOUT);
}

static void conn_touch(struct tp_conn *c)
{
	/* ENOSPC (the loop's timer bound) leaves the old deadline running */
	(void)sb_timer_start(c->tp->cfg.loop, &c->idle, c->tp->cfg.idle_ms, conn_idle_h, c);
}

static void conn_set_events(struct tp_conn *c, unsigned events)
{
	if (c->dead || c->events == events)
		return;
	if (sb_loop_fd_mod(c->tp->cfg.loop, c->fd, events) == 0)
		c->events = events;
}

static void conn_io_h(int fd, unsigned events, void *arg);

static uint32_t next_id(struct sb_transport *tp)
{
	/* at most max_conns ids are taken, so this ends */
	do {
		tp->next_id++;
	} while (tp->next_id == 0 || find_id(tp, tp->next_id));
	return tp->next_id;
}

/* Take ownership of fd as a new connection.  On error fd is closed. */
static int conn_new(struct sb_transport *tp, int fd, const struct sb_addr *peer,
		    bool outbound, bool connecting, struct tp_conn **cp)
{
	struct tp_conn *c = calloc(1, sizeof *c);
	int err;
	if (!c) {
		close(fd);
		return ENOMEM;
	}
	c->tp = tp;
	c->fd = fd;
	c->peer = *peer;
	c->outbound = outbound;
	c->connecting = connecting;
	sb_timer_init(&c->idle);
	sb_timer_init(&c->msg);
	if (!connecting) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof ss;
		if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
			sb_addr_from_sa(&c->local, (struct sockaddr *)&ss, sl);
	}
	c->events = connecting ? SB_FD_WRITE : SB_FD_READ;
	err = sb_loop_fd_add(tp->cfg.loop, fd, c->events, conn_io_h, c);
	if (err) {
		close(fd);
		free(c);
		return err;
	}
	c->id = next_id(tp);
	c->id_next = tp->by_id[c->id & (tp->nbuckets - 1)];
	tp->by_id[c->id & (tp->nbuckets - 1)] = c;
	uint32_t h = hash_ip(tp, peer);
	c->ip_next = tp->by_ip[h];
	tp->by_ip[h] = c;
	tp->nconns++;
	/* the idle timer also bounds how long a connect may take */
	conn_touch(c);
	*cp = c;
	return 0;
}

/* ------------------------------------------------------------ output */

static void conn_wbuf_release(struct tp_conn *c)
{
	if (c->wcap > CONN_WBUF_KEEP) {
		c->tp->buf_bytes -= c->wcap;
		free(c->wbuf);
		c->wbuf = NULL;
		c->wcap = 0;
	}
}

static void conn_flush(struct tp_conn *c)
{
	while (c->woff < c->wlen) {
		ssize_t n = send(c->fd, c->wbuf + c->woff, c->wlen - c->woff,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			conn_close(c, errno);
			return;
		}
		c->woff += (size_t)n;
	}
	/* drained: whole messages went out (activity), and a slow reader
	 * that once filled the queue does not pin it for the connection's life */
	c->woff = c->wlen = 0;
	conn_wbuf_release(c);
	conn_touch(c);
	conn_set_events(c, SB_FD_READ);
}

/* Write or queue len bytes.  0, ENOBUFS (max_sendq), ENOMEM, or the socket
 * error that closed c. */
static int conn_write(struct tp_conn *c, const char *buf, size_t len)
{
	struct sb_transport *tp = c->tp;
	size_t queued = c->wlen - c->woff, done = 0;

	if (c->dead)
		return ENOTCONN;
	if (queued + len > tp->cfg.max_sendq)
		return ENOBUFS;
	if (queued == 0 && !c->connecting) {
		while (done < len) {
			ssize_t n = send(c->fd, buf + done, len - done, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				if (errno == EAGAIN || errno == EWOULDBLOCK)
					break;
				int err = errno;
				conn_close(c, err);
				return err;
			}
			done += (size_t)n;
		}
		if (done == len) {
			conn_touch(c); /* a whole message out */
			return 0;
		}
	}
	/* queue the rest; compact first so the queue never outgrows max_sendq */
	size_t rest = len - done;
	if (c->woff) {
		memmove(c->wbuf, c->wbuf + c->woff, queued);
		c->woff = 0;
		c->wlen = queued;
	}
	if (c->wlen + rest > c->wcap) {
		size_t cap = c->wcap ? c->wcap : CONN_RBUF_INIT;
		while (cap < c->wlen + rest)
			cap *= 2;
		if (cap > tp->cfg.max_sendq)
			cap = tp->cfg.max_sendq;
		char *p = realloc(c->wbuf, cap);
		if (!p) {
			/* part of the message may be out: the stream is torn */
			conn_close(c, ENOMEM);
			return ENOMEM;
		}
		c->wbuf = p;
		tp->buf_bytes += cap - c->wcap;
		c->wcap = cap;
	}
	memcpy(c->wbuf + c->wlen, buf + done, rest);
	c->wlen += rest;
	if (!c->connecting)
		conn_set_events(c, SB_FD_READ | SB_FD_WRITE);
	return 0;
}

/* ------------------------------------------------------------- input */

/* A frame (message or keep-alive) is complete: its deadline is met, and it
 * counts as activity. */
static void conn_frame_done(struct tp_conn *c)
{
	c->msg_open = false;
	sb_timer_stop(c->tp->cfg.loop, &c->msg);
	conn_touch(c);
}

static bool conn_lone_crlf(const struct tp_conn *c)
{
	return c->rlen == 2 && c->rbuf[0] == '\r' && c->rbuf[1] == '\n';
}

/* The message deadline passed.  A lone CRLF was a pong after all (no ping
 * followed); anything else is a message that did not complete in time. */
static void conn_msg_h(void *arg)
{
	struct tp_conn *c = arg;
	if (conn_lone_crlf(c)) {
		c->tp->st.rx_keepalives++;
		c->rlen = 0;
		memset(&c->fr, 0, sizeof c->fr);
		conn_frame_done(c);
		return;
	}
	c->tp->st.conns_slow_closed++;
	conn_close(c, ETIMEDOUT);
}

/* After a read: bytes of an incomplete frame are buffered (or not).  The
 * deadline counts from the frame's first byte, so later bytes never move it
 * further; a lone CRLF waits at most SB_TP_PONG_WAIT_MS more, and never
 * past the frame's deadline. */
static void conn_msg_deadline(struct tp_conn *c)
{
	struct sb_loop *loop = c->tp->cfg.loop;
	if (c->rlen == 0) {
		c->msg_open = false;
		sb_timer_stop(loop, &c->msg);
		return;
	}
	sb_msec_t now = sb_loop_now(loop);
	if (!c->msg_open) {
		c->msg_open = true;
		c->msg_t0 = now;
	}
	sb_msec_t end = c->msg_t0 + c->tp->cfg.msg_ms;
	if (conn_lone_crlf(c) && now + SB_TP_PONG_WAIT_MS < end)
		end = now + SB_TP_PONG_WAIT_MS;
	/* ENOSPC (the loop's timer bound): the idle timer still bounds it */
	(void)sb_timer_start(loop, &c->msg, end > now ? end - now : 0, conn_msg_h, c);
}

/* Frame, parse and hand up what the read buffer holds; keep the rest. */
static void conn_consume(struct tp_conn *c)
{
	struct sb_transport *tp = c->tp;
	size_t off = 0;
	/* the framer must see more than its bound to report EMSGSIZE before
	 * the buffer is full, so a full buffer never means "need more" */
	size_t max = tp->cfg.max_conn_buf - 1;
	if (max > SB_SIP_MAX_MSG_SIZE)
		max = SB_SIP_MAX_MSG_SIZE;

	while (!c->dead && off < c->rlen) {
		struct sb_sip_frame *fr = &c->fr;
		const char *p = c->rbuf + off;
		size_t avail = c->rlen - off;
		/* the framer resumes where it stopped, and says how many bytes
		 * the message needs: a trickle costs linear work, not quadratic */
		if (fr->need && avail < fr->need)
			break;
		int err = sb_sip_frame(p, avail, max, fr);
		if (err == ENODATA)
			break;
		struct sb_sip_frame f = *fr;
		memset(fr, 0, sizeof *fr);
		if (err == 0)
			conn_frame_done(c);
		if (err == EMSGSIZE) {
			/* no 513 (RFC 3261 §21.5.14): the header section may
			 * not even be complete; the stream cannot recover */
			tp->st.rx_too_large++;
			conn_close(c, EMSGSIZE);
			return;
		}
		if (err) {
			tp->st.rx_bad++;
			conn_close(c, EBADMSG); /* RFC 3261 §18.3: unframeable */
			return;
		}
		if (f.kind == SB_FRAME_PING) {
			/* RFC 5626 §3.5.1: answer a CRLFCRLF ping with a CRLF pong */
			tp->st.rx_keepalives++;
			off += f.len;
			conn_write(c, "\r\n", 2);
			continue;
		}
		if (f.kind == SB_FRAME_PONG) {
			/* never the last bytes: a CRLF at the end may be half a
			 * ping, so the framer waits for more (conn_msg_h) */
			tp->st.rx_keepalives++;
			off += f.len;
			continue;
		}
		if (sb_sip_parse(&tp->msg, p, f.len, SB_SIP_STREAM) != 0) {
			/* framed but not SIP: not a peer we can talk to */
			tp->st.rx_bad++;
			conn_close(c, EBADMSG);
			return;
		}
		struct sb_tp_rx rx = {
			.msg = &tp->msg,
			.proto = SB_TP_TCP,
			.src = c->peer,
			.local = c->local,
			.conn_id = c->id,
		};
		off += f.len;
		tp_deliver(tp, &rx);
	}
	if (c->dead)
		return;
	if (off) {
		memmove(c->rbuf, c->rbuf + off, c->rlen - off);
		c->rlen -= off;
	}
	conn_msg_deadline(c);
	/* an idle connection keeps at most the first small buffer */
	if (c->rlen == 0 && c->rcap > CONN_RBUF_INIT) {
		tp->buf_bytes -= c->rcap;
		free(c->rbuf);
		c->rbuf = NULL;
		c->rcap = 0;
	}
}

static void conn_read(struct tp_conn *c)
{
	size_t maxbuf = c->tp->cfg.max_conn_buf;

	if (c->rcap - c->rlen < CONN_READ_MIN && c->rcap < maxbuf) {
		size_t cap = c->rcap ? c->rcap * 2 : CONN_RBUF_INIT;
		if (cap > maxbuf)
			cap = maxbuf;
		char *p = realloc(c->rbuf, cap);
		if (!p) {
			conn_close(c, ENOMEM);
			return;
		}
		c->rbuf = p;
		c->tp->buf_bytes += cap - c->rcap;
		c->rcap = cap;
	}
	if (c->rlen == c->rcap) {
		/* unreachable while the framer's bound is below the buffer's */
		c->tp->st.rx_too_large++;
		conn_close(c, EMSGSIZE);
		return;
	}
	ssize_t n = recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, MSG_DONTWAIT);
	if (n == 0) {
		conn_close(c, 0);
		return;
	}
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			conn_close(c, errno);
		return;
	}
	/* no conn_touch: only whole messages count as activity */
	c->rlen += (size_t)n;
	conn_consume(c);
}

/* A non-blocking connect finished, or failed, or the event was stale. */
static void conn_connect_done(struct tp_conn *c)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	int soerr = 0;
	socklen_t el = sizeof soerr;

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &el) != 0)
		soerr = errno;
	if (soerr) {
		conn_close(c, soerr);
		return;
	}
	if (getpeername(c->fd, (struct sockaddr *)&ss, &sl) != 0)
		return; /* ENOTCONN: still connecting */
	c->connecting = false;
	sl = sizeof ss;
	if (getsockname(c->fd, (struct sockaddr *)&ss, &sl) == 0)
		sb_addr_from_sa(&c->local, (struct sockaddr *)&ss, sl);
	conn_set_events(c, c->wlen > c->woff ? SB_FD_READ | SB_FD_WRITE : SB_FD_READ);
}

static void conn_io_h(int fd, unsigned events, void *arg)
{
	struct tp_conn *c = arg;
	(void)fd;
	conn_hold(c);
	if (c->connecting && (events & (SB_FD_WRITE | SB_FD_ERROR)))
		conn_connect_done(c);
	if (!c->dead && !c->connecting && (events & (SB_FD_READ | SB_FD_ERROR)))
		conn_read(c);
	if (!c->dead && !c->connecting && (events & SB_FD_WRITE))
		conn_flush(c);
	conn_release(c);
}

/* ------------------------------------------------------- accept, send */

static void listener_resume_h(void *arg)
{
	struct tp_listener *l = arg;
	sb_loop_fd_mod(l->tp->cfg.loop, l->fd, SB_FD_READ);
}

/* Out of descriptors or memory (EMFILE, ENFILE, ENOBUFS): the pending
 * connection stays in the backlog and, the loop being level-triggered,
 * would wake us again at once.  Stop listening for a while instead. */
static void listener_backoff(struct tp_listener *l)
{
	struct sb_transport *tp = l->tp;
	tp->st.accept_errors++;
	/* the timer first: paused without one to resume it, the listener
	 * would stay deaf for good (ENOSPC: spinning is the lesser harm) */
	if (sb_timer_start(tp->cfg.loop, &l->backoff, SB_TP_ACCEPT_BACKOFF_MS,
			   listener_resume_h, l) == 0 &&
	    sb_loop_fd_mod(tp->cfg.loop, l->fd, 0) != 0)
		sb_timer_stop(tp->cfg.loop, &l->backoff);
}

void tp_tcp_accept_h(int fd, unsigned events, void *arg)
{
	struct tp_listener *l = arg;
	struct sb_transport *tp = l->tp;
	(void)events;

	for (unsigned i = 0; i < SB_TP_ACCEPT_BURST; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof ss;
		int cfd = accept4(fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				listener_backoff(l);
			return;
		}
		struct sb_addr peer;
		if (sb_addr_from_sa(&peer, (struct sockaddr *)&ss, sl) != 0) {
			close(cfd);
			continue;
		}
		/* the named bounds: refuse by closing, before reading a byte */
		if (tp->nconns >= tp->cfg.max_conns ||
		    inbound_from(tp, &peer) >= tp->cfg.max_conns_per_ip) {
			tp->st.conns_refused++;
			close(cfd);
			continue;
		}
		int one = 1;
		(void)setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		struct tp_conn *c;
		if (conn_new(tp, cfd, &peer, false, false, &c) == 0)
			tp->st.conns_accepted++;
	}
}

static int conn_connect(struct sb_transport *tp, const struct sb_addr *to, struct tp_conn **cp)
{
	int family = sb_addr_family(to), one = 1;
	if (family != AF_INET && family != AF_INET6)
		return EAFNOSUPPORT;
	if (tp->nconns >= tp->cfg.max_conns)
		return ENOSPC;
	int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	bool connecting = false;
	if (connect(fd, &to->u.sa, to->len) != 0) {
		if (errno != EINPROGRESS) {
			int err = errno;
			close(fd);
			return err;
		}
		connecting = true;
	}
	int err = conn_new(tp, fd, to, true, connecting, cp);
	if (!err)
		tp->st.conns_connected++;
	return err;
}

/* RFC 3261 §18.2.2: a response whose connection is gone goes to a new
 * connection to the top Via's received address (else its sent-by host when
 * numeric: we do no DNS) and its sent-by port (else 5060).  False when buf
 * is no response or no such address can be had. */
static bool response_addr(struct sb_transport *tp, const char *buf, size_t len,
			  struct sb_addr *to)
{
	struct sb_sip_msg *m = &tp->tx_msg;
	const struct sb_via *v;
	char host[SB_ADDR_STR_MAX];

	if (len < 4 || memcmp(buf, "SIP/", 4) != 0)
		return false;
	if (sb_sip_parse(m, buf, len, SB_SIP_DATAGRAM) != 0 || m->is_request ||
	    sb_sip_msg_via(m, &v) != 0)
		return false;
	struct sb_slice h = v->received.p && v->received.l ? v->received : v->host;
	if (h.l >= sizeof host)
		return false;
	sb_slice_to_cstr(h, host, sizeof host);
	return sb_addr_parse(to, host, v->port ? v->port : 5060) == 0;
}

int tp_tcp_send(struct sb_transport *tp, const struct sb_tp_dest *dst, const char *buf,
		size_t len)
{
	struct sb_addr to;

	struct tp_conn *c;
	int err;

	if (len == 0)
		return EINVAL;
	if (dst->conn_id) {
		/* RFC 3261 §18.2.2: the response goes back on the request's
		 * connection; if it is gone the owner picks the address */
		c = find_id(tp, dst->conn_id);
		if (!c) {
			if (!response_addr(tp, buf, len, &to))
				return ENOTCONN;
			c = find_addr(tp, &to);
			if (!c && (err = conn_connect(tp, &to, &c)) != 0)
				return err;
		}
	} else {
		/* §18.1.1: reuse a connection to the same target */
		c = find_addr(tp, &dst->addr);
		if (!c && (err = conn_connect(tp, &dst->addr, &c)) != 0)
			return err;
	}
	return conn_write(c, buf, len);
}

int sb_transport_conn_close(struct sb_transport *tp, uint32_t conn_id)
{
	struct tp_conn *c = conn_id ? find_id(tp, conn_id) : NULL;
	if (!c)
		return ENOENT;
	conn_close(c, 0);
	return 0;
}

bool sb_transport_conn_lookup(const struct sb_transport *tp, uint32_t conn_id,
			      struct sb_addr *peer)
{
	const struct tp_conn *c = conn_id ? find_id(tp, conn_id) : NULL;
	if (c && peer)
		*peer = c->peer;
	return c != NULL;
}
