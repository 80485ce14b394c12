/* api: the admin API's HTTP server (api.h): libmicrohttpd in external
 * epoll mode on the SIP loop's thread, the bearer token check, request
 * bodies read within their bound, answers queued, requests that wait for
 * the store suspended until its done handler runs, and the guard that
 * keeps connections without our token from holding the server.
 *
 * How MHD sits in our loop: it is started with MHD_USE_EPOLL and no
 * threads, so it keeps one epoll descriptor of its own (the listening
 * socket, every connection, and its inter-thread channel for resumes).
 * That descriptor is readable whenever MHD has something to do, so it is
 * watched in our loop like any socket, and MHD_run() is called when it is.
 * MHD also has deadlines (idle connections, data it holds back): after
 * every run a loop timer is set to MHD_get_timeout(), and MHD_run() is
 * called when it fires.
 *
 * We bind the listening socket ourselves and hand it over
 * (MHD_OPTION_LISTEN_SOCKET) rather than passing MHD_OPTION_SOCK_ADDR:
 * that way a busy port is reported as EADDRINUSE (MHD_start_daemon() only
 * says NULL), and the port the kernel chose for port 0 can be read back
 * (sb_api_bound, for tests).  MHD closes it at MHD_stop_daemon(), unless
 * MHD_quiesce_daemon() handed it back first.
 *
 * A request's life: the first call of the access handler (headers only)
 * checks the token and Content-Length and may answer at once (401, 413)
 * without reading the body; the next calls append the body, bounded; the
 * last one routes it (routes.c).  A handler that queued store operations
 * leaves the connection suspended; api_store_done() makes the change in
 * memory once the last one has committed (or answers the failure without
 * changing anything) and resumes it, and MHD then calls the access handler
 * once more, which queues the answer.
 *
 * Connections: MHD's idle timeout is SB_API_AUTH_TIMEOUT_S until a request
 * with our token has come on the connection, then SB_API_TIMEOUT_S (set per
 * connection).  An idle timeout restarts with every byte, so a connection
 * that sends a byte a second would never reach it: the guard timer also
 * shuts down every connection that has not brought a request with our
 * token within SB_API_AUTH_TIMEOUT_S of its accept, and a connection
 * beyond SB_API_MAX_CONNECTIONS pushes out the oldest one without our
 * token.  MHD's own limit is a little higher, so that it accepts the one
 * that does the pushing. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "api_int.h"

/* MHD's deadlines can be far away; the loop's timer holds any value, but
 * waking once a minute costs nothing and bounds a clock surprise. */
#define API_MAX_WAIT_MS 60000u
/* Bytes of a path in a log line. */
#define API_LOG_PATH 200u
/* Connections MHD takes beyond SB_API_MAX_CONNECTIONS: room for the new
 * one that pushes out an old one without our token, while that one is
 * being closed. */
#define API_SPARE_CONNECTIONS 8u

void api_log(struct sb_api *a, enum sb_log_level lvl, const char *fmt, ...)
{
	if (!a->log_h)
		return;
	char line[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	a->log_h(lvl, line, a->log_arg);
}

/* What MHD says about a client that went away, sent something malformed
 * or could not be written to: the client's business, so DEBUG; so is the
 * close that follows our MHD_NO ("Application reported internal error":
 * access_h logs why itself).  The rest (our own resources, limits) WARN. */
static enum sb_log_level mhd_log_level(const char *line)
{
	static const char *const peer[] = {
		"remote", "disconnected", "socket is closed", "no longer available",
		"Failed to send", "Error processing request", "without `Host'",
		"Failed to parse `Content-Length'", "Too late", "reset by peer",
		"Broken pipe", "Application reported internal error",
	};
	for (size_t i = 0; i < SB_ARRAY_LEN(peer); i++)
		if (strstr(line, peer[i]))
			return SB_LOG_DEBUG;
	return SB_LOG_WARN;
}

static void mhd_log_h(void *cls, const char *fmt, va_list ap)
{
	struct sb_api *a = cls;
	if (!a->log_h)
		return;
	char line[512];
	vsnprintf(line, sizeof line, fmt, ap);
	/* MHD's messages end in a newline; ours do not */
	size_t n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	/* a path or header MHD quotes is the client's: no control bytes */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = '?';
	api_log(a, mhd_log_level(line), "api: libmicrohttpd: %s", line);
}

/* ------------------------------------------------------------ MHD in our loop */

static void api_timer_h(void *arg);

/* Set our timer to MHD's next deadline (none: stopped). */
static void api_rearm(struct sb_api *a)
{
	MHD_UNSIGNED_LONG_LONG ms = 0;
	if (MHD_get_timeout(a->d, &ms) != MHD_YES) {
		sb_timer_stop(a->loop, &a->timer);
		return;
	}
	if (ms > API_MAX_WAIT_MS)
		ms = API_MAX_WAIT_MS;
	int err = sb_timer_start(a->loop, &a->timer, (sb_msec_t)ms, api_timer_h, a);
	if (err)
		api_log(a, SB_LOG_ERROR, "api: cannot start the HTTP timer: %s", strerror(err));
}

static void api_pump(struct sb_api *a)
{
	MHD_run(a->d);
	api_rearm(a);
}

static void api_timer_h(void *arg)
{
	api_pump(arg);
}

static void api_fd_h(int fd, unsigned events, void *arg)
{
	api_pump(arg);
}

/* ------------------------------------------------------------ connections */

static void guard_h(void *arg);

/* Close a connection from outside MHD: shut its socket down, and MHD,
 * seeing it readable at its end, closes it and says so (conn_h). */
static void conn_shut(struct sb_api *a, struct api_conn *c, const char *why)
{
	if (c->shut)
		return;
	c->shut = true;
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci)
		(void)shutdown(ci->connect_fd, SHUT_RDWR);
	api_log(a, SB_LOG_DEBUG, "api: closing a connection: %s", why);
}

/* Start the guard for the first deadline of a connection without our
 * token, if there is one. */
static void guard_rearm(struct sb_api *a)
{
	sb_msec_t now = sb_loop_now(a->loop), first = 0;
	bool any = false;
	for (struct api_conn *c = a->conns; c; c = c->next) {
		if (c->trusted || c->shut)
			continue;
		sb_msec_t due = c->accepted + (sb_msec_t)SB_API_AUTH_TIMEOUT_S * 1000;
		if (!any || due < first)
			first = due;
		any = true;
	}
	if (!any) {
		sb_timer_stop(a->loop, &a->guard);
		return;
	}
	int err = sb_timer_start(a->loop, &a->guard, first > now ? first - now : 0, guard_h, a);
	if (err)
		api_log(a, SB_LOG_ERROR, "api: cannot start the connection timer: %s",
			strerror(err));
}

static void guard_h(void *arg)
{
	struct sb_api *a = arg;
	sb_msec_t now = sb_loop_now(a->loop);
	char why[96];
	snprintf(why, sizeof why, "no request with the token within %u s of its start",
		 SB_API_AUTH_TIMEOUT_S);
	for (struct api_conn *c = a->conns; c; c = c->next)
		if (!c->trusted && !c->shut &&
		    now - c->accepted >= (sb_msec_t)SB_API_AUTH_TIMEOUT_S * 1000)
			conn_shut(a, c, why);
	guard_rearm(a);
	api_pump(a);
}

/* The oldest connection without our token that is still open, or NULL;
 * *live: the connections not shut down. */
static struct api_conn *oldest_untrusted(struct sb_api *a, struct api_conn *not, unsigned *live)
{
	struct api_conn *found = NULL;
	*live = 0;
	for (struct api_conn *c = a->conns; c; c = c->next) {
		if (c->shut)
			continue;
		(*live)++;
		if (c != not && !c->trusted)
			found = c; /* the list is newest first */
	}
	return found;
}

static void conn_h(void *cls, struct MHD_Connection *conn, void **socket_context,
		   enum MHD_ConnectionNotificationCode toe)
{
	struct sb_api *a = cls;
	if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		struct api_conn *c = *socket_context;
		if (!c)
			return;
		*c->pprev = c->next;
		if (c->next)
			c->next->pprev = c->pprev;
		a->nconns--;
		free(c);
		*socket_context = NULL;
		return;
	}
	if (toe != MHD_CONNECTION_NOTIFY_STARTED)
		return;
	struct api_conn *c = calloc(1, sizeof *c);
	*socket_context = c;
	if (!c) {
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		if (ci)
			(void)shutdown(ci->connect_fd, SHUT_RDWR);
		return;
	}
	c->conn = conn;
	c->accepted = sb_loop_now(a->loop);
	c->next = a->conns;
	if (a->conns)
		a->conns->pprev = &c->next;
	a->conns = c;
	c->pprev = &a->conns;
	a->nconns++;
	unsigned live;
	struct api_conn *old = oldest_untrusted(a, c, &live);
	if (a->closing) {
		conn_shut(a, c, "the API is stopping");
	} else if (live > SB_API_MAX_CONNECTIONS) {
		/* full: the oldest one that has not shown our token makes
		 * room; if every one has, the new one goes */
		if (old)
			conn_shut(a, old, "room for a new connection (the oldest without "
				  "the token goes)");
		else
			conn_shut(a, c, "every connection has shown the token");
	}
	if (!sb_timer_running(&a->guard))
		guard_rearm(a);
}

/* The connection r came on, as conn_h keeps it (NULL if it could not). */
static struct api_conn *conn_of(struct api_req *r)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

/* ------------------------------------------------------------ answers */

/* s for a log line: bounded, and with no byte that could fake a line or a
 * terminal sequence (escaped bytes stay %-escaped). */
static const char *log_clean(const char *s, char *buf, size_t cap)
{
	const char *p = s ? s : "?";
	size_t n = 0;
	for (; *p && n + 4 < cap; p++)
		buf[n++] = (unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f ? *p : '?';
	if (*p) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}

static const char *log_path(const struct api_req *r, char *buf, size_t cap)
{
	return log_clean(r->path, buf, cap);
}

/* Hand r's answer to MHD (from the access handler only) and log it.  The
 * body goes to MHD as it is (MHD frees it). */
static enum MHD_Result api_queue(struct api_req *r)
{
	struct sb_api *a = r->api;
	struct MHD_Response *resp;
	if (r->resp && r->resp_len) {
		resp = MHD_create_response_from_buffer(r->resp_len, r->resp, MHD_RESPMEM_MUST_FREE);
		if (resp)
			r->resp = NULL; /* MHD's now */
	} else {
		resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	}
	if (!resp)
		return MHD_NO;
	if (r->resp_len)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	if (r->status == 405 && r->allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
	if (r->status == 401)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					"Bearer realm=\"switchboard\"");
	/* no second request on a connection without our token, nor while
	 * stopping */
	if (r->close || r->status == 401 || a->closing)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
	enum MHD_Result ret = MHD_queue_response(r->conn, r->status, resp);
	MHD_destroy_response(resp);
	r->queued = true;
	char path[API_LOG_PATH];
	api_log(a, SB_LOG_INFO, "api: %s %s %u", r->method_s, log_path(r, path, sizeof path),
		r->status);
	return ret;
}

/* ------------------------------------------------------------ store operations */

int api_op(struct api_req *r, int err)
{
	if (!err) {
		r->ops_out++;
		r->ops_queued++;
		r->api->ops_out++;
	} else {
		r->queue_failed = true;
		if (!r->op_err)
			r->op_err = err;
	}
	return err;
}

static void req_free(struct api_req *r);

/* Turn the outcome of r's operations into its answer: the change made in
 * memory when every one committed, else nothing changed and an error. */
static void api_settle(struct api_req *r)
{
	r->locked = false;
	if (!r->op_err) {
		if (r->apply)
			r->apply(r);
		else if (!r->ready)
			api_error(r, 500, "internal error: no answer");
		return;
	}
	char path[API_LOG_PATH];
	api_log(r->api, SB_LOG_WARN, "api: %s %s: the store did not save the change: %s",
		r->method_s, log_path(r, path, sizeof path), strerror(r->op_err));
	if (!r->ops_ok) {
		/* nothing committed: nothing changed anywhere */
		if (r->op_err == EAGAIN || r->op_err == EBUSY)
			api_error(r, 503, "the store is busy (%s): nothing was changed; try again "
				  "shortly", strerror(r->op_err));
		else
			api_error(r, 500, "the store could not save the change (%s): nothing was "
				  "changed", strerror(r->op_err));
		return;
	}
	api_error(r, 500, "the store saved only part of the change (%s): nothing was changed "
		  "in memory and the store may hold part of it; repeating the request "
		  "completes it", strerror(r->op_err));
}

void api_wait(struct api_req *r)
{
	if (!r->ops_out) {
		api_settle(r);
		return;
	}
	MHD_suspend_connection(r->conn);
	r->suspended = true;
}

void api_store_done(int err, void *arg)
{
	struct api_req *r = arg;
	struct sb_api *a = r->api;
	a->ops_out--;
	if (err) {
		if (!r->op_err)
			r->op_err = err;
	} else {
		r->ops_ok++;
	}
	if (--r->ops_out)
		return;
	api_settle(r);
	if (!r->conn) {
		/* its connection went while it waited: the change is made, no
		 * one is left to answer */
		req_free(r);
		return;
	}
	if (r->suspended) {
		r->suspended = false;
		MHD_resume_connection(r->conn);
		/* MHD sees the resume on its channel; run it soon regardless */
		if (!a->closing) {
			int e = sb_timer_start(a->loop, &a->timer, 0, api_timer_h, a);
			if (e)
				api_log(a, SB_LOG_ERROR, "api: cannot start the HTTP timer: %s",
					strerror(e));
		}
	}
}

/* ------------------------------------------------------------ requests */

static void req_free(struct api_req *r)
{
	if (!r)
		return;
	if (r->pprev) {
		*r->pprev = r->next;
		if (r->next)
			r->next->pprev = r->pprev;
	}
	api_change_free(r);
	free(r->path);
	free(r->body);
	free(r->resp);
	free(r);
}

static enum api_method method_of(const char *m)
{
	if (!strcmp(m, MHD_HTTP_METHOD_GET))
		return API_GET;
	if (!strcmp(m, MHD_HTTP_METHOD_POST))
		return API_POST;
	if (!strcmp(m, MHD_HTTP_METHOD_PUT))
		return API_PUT;
	if (!strcmp(m, MHD_HTTP_METHOD_DELETE))
		return API_DELETE;
	return API_OTHER;
}

static bool sha256(const void *p, size_t n, unsigned char out[32])
{
	unsigned int len = 32;
	return EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) == 1 && len == 32;
}

/* Whether the request carries "Authorization: Bearer TOKEN" with our
 * token.  The hashes are compared, in constant time, so that neither the
 * token's bytes nor its length show in the time taken. */
static bool token_ok(struct api_req *r, bool *missing)
{
	const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
						    MHD_HTTP_HEADER_AUTHORIZATION);
	*missing = !h;
	if (!h)
		return false;
	if (strncasecmp(h, "Bearer", 6) != 0 || (h[6] != ' ' && h[6] != '\t')) {
		*missing = true;
		return false;
	}
	const char *t = h + 6;
	while (*t == ' ' || *t == '\t')
		t++;
	size_t n = strlen(t);
	while (n && (t[n - 1] == ' ' || t[n - 1] == '\t'))
		n--;
	unsigned char got[32];
	if (!sha256(t, n, got))
		return false;
	return CRYPTO_memcmp(got, r->api->token_hash, sizeof got) == 0;
}

/* The first call of a request: headers only.  Answers at once when the
 * token is wrong or the announced body is too big.  A good token makes
 * the connection trusted: the long idle timeout, and no deadline. */
static void req_start(struct api_req *r)
{
	bool missing;
	if (!token_ok(r, &missing)) {
		if (missing)
			api_error(r, 401, "this API needs an \"Authorization: Bearer TOKEN\" header");
		else
			api_error(r, 401, "the token is not valid");
		return;
	}
	struct api_conn *c = conn_of(r);
	if (c && !c->trusted) {
		c->trusted = true;
		MHD_set_connection_option(r->conn, MHD_CONNECTION_OPTION_TIMEOUT,
					  (unsigned int)SB_API_TIMEOUT_S);
	}
	if (r->api->closing) {
		r->close = true;
		api_error(r, 503, "the server is stopping");
		return;
	}
	const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_LENGTH);
	uint64_t len;
	if (cl && sb_slice_to_u64(sb_slice_cstr(cl), UINT64_MAX, &len) == 0 &&
	    len > SB_API_MAX_BODY) {
		r->too_large = true;
		r->close = true;
		api_error(r, 413, "the body is larger than %u bytes", SB_API_MAX_BODY);
	}
}

/* Append to r's body; false once it passes SB_API_MAX_BODY. */
static bool req_append(struct api_req *r, const char *p, size_t n)
{
	if (n > SB_API_MAX_BODY - r->body_len) {
		r->too_large = true;
		return false;
	}
	if (r->alloc_err)
		return true; /* answered 500 once the body is in */
	if (r->body_len + n > r->body_cap) {
		size_t cap = r->body_cap ? r->body_cap : 1024;
		while (cap < r->body_len + n)
			cap *= 2;
		if (cap > SB_API_MAX_BODY)
			cap = SB_API_MAX_BODY;
		char *nb = realloc(r->body, cap);
		if (!nb) {
			r->alloc_err = ENOMEM;
			r->body_len += n; /* counted against the bound all the same */
			return true;
		}
		r->body = nb;
		r->body_cap = cap;
	}
	memcpy(r->body + r->body_len, p, n);
	r->body_len += n;
	return true;
}

static enum MHD_Result access_h(void *cls, struct MHD_Connection *conn, const char *url,
				const char *method, const char *version, const char *upload_data,
				size_t *upload_data_size, void **con_cls)
{
	struct sb_api *a = cls;
	struct api_req *r = *con_cls;
	char path[API_LOG_PATH];

	if (!r) {
		r = calloc(1, sizeof *r);
		if (!r) {
			api_log(a, SB_LOG_ERROR, "api: out of memory for a request: connection "
				"closed");
			return MHD_NO; /* MHD closes the connection */
		}
		r->api = a;
		r->conn = conn;
		r->method = method_of(method);
		log_clean(method, r->method_s, sizeof r->method_s);
		r->path = strdup(url);
		r->next = a->reqs;
		if (a->reqs)
			a->reqs->pprev = &r->next;
		a->reqs = r;
		r->pprev = &a->reqs;
		*con_cls = r;
		if (!r->path)
			api_error(r, 500, "out of memory");
		else
			req_start(r);
		if (r->ready)
			return api_queue(r);
		return MHD_YES;
	}

	if (r->queued) {
		/* answered early: whatever body follows is dropped, up to the
		 * bound; past it the connection goes */
		r->dropped += *upload_data_size;
		*upload_data_size = 0;
		return r->dropped > SB_API_MAX_BODY ? MHD_NO : MHD_YES;
	}
	if (*upload_data_size) {
		bool ok = req_append(r, upload_data, *upload_data_size);
		*upload_data_size = 0;
		if (ok)
			return MHD_YES;
		/* a body with no Content-Length (chunked) past the bound:
		 * close rather than read the rest */
		api_log(a, SB_LOG_INFO, "api: %s %s 413 (the body passed %u bytes: connection "
			"closed)", r->method_s, log_path(r, path, sizeof path), SB_API_MAX_BODY);
		r->queued = true; /* nothing more to log */
		return MHD_NO;
	}
	if (r->ready) /* resumed after the store's done handler */
		return api_queue(r);
	if (r->suspended)
		return MHD_YES; /* cannot happen: MHD does not call a suspended one */
	if (r->too_large)
		api_error(r, 413, "the body is larger than %u bytes", SB_API_MAX_BODY);
	else if (r->alloc_err)
		api_error(r, 500, "out of memory");
	else
		api_route(r);
	if (r->ready)
		return api_queue(r);
	return MHD_YES; /* suspended until the store is done */
}

static void completed_h(void *cls, struct MHD_Connection *conn, void **con_cls,
			enum MHD_RequestTerminationCode toe)
{
	struct api_req *r = *con_cls;
	if (!r)
		return;
	char path[API_LOG_PATH];
	if (!r->queued)
		api_log(r->api, SB_LOG_INFO, "api: %s %s closed before an answer", r->method_s,
			log_path(r, path, sizeof path));
	*con_cls = NULL;
	if (r->ops_out) {
		/* still waiting for the store (MHD closes even a suspended
		 * connection when it stops): its done handler frees it */
		r->conn = NULL;
		return;
	}
	req_free(r);
}

/* Keep the URL and query as they came (%-escapes included): routes.c
 * splits the path on '/' first and decodes each segment, so that a user
 * name holding "%2F" stays one segment. */
static size_t unescape_none_h(void *cls, struct MHD_Connection *c, char *s)
{
	return strlen(s);
}

/* ------------------------------------------------------------ start and stop */

static int listen_socket(const struct sb_addr *addr, int *fdp, struct sb_addr *bound,
			 char *err, size_t errcap)
{
	char as[SB_ADDR_STR_MAX];
	sb_addr_to_str(addr, as, sizeof as);
	int family = sb_addr_family(addr);
	int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errcap, "cannot open a socket for the API: %s", strerror(e));
		return e;
	}
	int one = 1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
	    (family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0)) {
		int e = errno;
		close(fd);
		snprintf(err, errcap, "cannot set up the API socket: %s", strerror(e));
		return e;
	}
	if (bind(fd, &addr->u.sa, addr->len) != 0) {
		int e = errno;
		close(fd);
		if (e == EADDRINUSE)
			snprintf(err, errcap, "the API address %s is already in use "
				 "(is another switchboard running?)", as);
		else
			snprintf(err, errcap, "cannot listen for the API on %s: %s", as,
				 strerror(e));
		return e;
	}
	if (listen(fd, (int)SB_API_MAX_CONNECTIONS) != 0) {
		int e = errno;
		close(fd);
		snprintf(err, errcap, "cannot listen for the API on %s: %s", as, strerror(e));
		return e;
	}
	union {
		struct sockaddr sa;
		struct sockaddr_storage ss;
	} u;
	socklen_t len = sizeof u;
	if (getsockname(fd, &u.sa, &len) != 0 || sb_addr_from_sa(bound, &u.sa, len) != 0)
		*bound = *addr;
	*fdp = fd;
	return 0;
}

/* After a failed MHD_start_daemon(): close the listening socket unless
 * MHD already did (whether it does is not documented), telling it from a
 * descriptor that took its number by what it is bound to. */
static void close_if_ours(int fd, const struct sb_addr *bound)
{
	int listening = 0;
	socklen_t ll = sizeof listening;
	union {
		struct sockaddr sa;
		struct sockaddr_storage ss;
	} u;
	socklen_t len = sizeof u;
	struct sb_addr now;
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &ll) != 0 || !listening ||
	    getsockname(fd, &u.sa, &len) != 0 || sb_addr_from_sa(&now, &u.sa, len) != 0 ||
	    !sb_addr_eq(&now, bound))
		return;
	close(fd);
}

static bool token_printable(const char *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f)
			return false;
	return true;
}

static int api_copy_cfg(struct sb_api *a, const struct sb_api_cfg *cfg, char *err,
			size_t errcap)
{
	if (!cfg->loop || !cfg->users || !cfg->location) {
		snprintf(err, errcap, "the API needs a loop, a user directory and a location service");
		return EINVAL;
	}
	int fam = cfg->listen.len ? sb_addr_family(&cfg->listen) : 0;
	if (fam != AF_INET && fam != AF_INET6) {
		snprintf(err, errcap, "the API needs an IPv4 or IPv6 address to listen on");
		return EINVAL;
	}
	size_t tl = cfg->token ? strlen(cfg->token) : 0;
	if (tl < SB_API_MIN_TOKEN || tl > SB_API_MAX_TOKEN || !token_printable(cfg->token, tl)) {
		snprintf(err, errcap, "the API token must be %u to %u printable characters "
			 "without spaces", SB_API_MIN_TOKEN, SB_API_MAX_TOKEN);
		return EINVAL;
	}
	if (!cfg->realm || !*cfg->realm || strlen(cfg->realm) > SB_STORE_MAX_REALM) {
		snprintf(err, errcap, "the API needs the realm (1 to %u bytes) to compute HA1s",
			 SB_STORE_MAX_REALM);
		return EINVAL;
	}
	a->loop = cfg->loop;
	a->users = cfg->users;
	a->location = cfg->location;
	a->store = cfg->store;
	a->proxy = cfg->proxy;
	a->authn = cfg->authn;
	a->log_h = cfg->log_h;
	a->log_arg = cfg->log_arg;
	if (!sha256(cfg->token, tl, a->token_hash)) {
		snprintf(err, errcap, "cannot hash the API token (libcrypto failed)");
		return EIO;
	}
	a->realm = strdup(cfg->realm);
	if (!a->realm)
		goto nomem;
	for (const char *const *d = cfg->domains; d && *d; d++) {
		if (a->ndomains >= API_MAX_DOMAINS) {
			snprintf(err, errcap, "the API takes at most %u domains", API_MAX_DOMAINS);
			return EINVAL;
		}
		if (!**d || strlen(*d) > SB_PROXY_MAX_NAME) {
			snprintf(err, errcap, "bad domain \"%.64s\" for the API", *d);
			return EINVAL;
		}
		a->domains[a->ndomains] = strdup(*d);
		if (!a->domains[a->ndomains])
			goto nomem;
		a->ndomains++;
	}
	return 0;
nomem:
	snprintf(err, errcap, "out of memory");
	return ENOMEM;
}

int sb_api_alloc(struct sb_api **ap, const struct sb_api_cfg *cfg, char *err, size_t errcap)
{
	char dummy[8];
	if (!err || !errcap) {
		err = dummy;
		errcap = sizeof dummy;
	}
	err[0] = '\0';
	if (!ap || !cfg) {
		snprintf(err, errcap, "no API configuration");
		return EINVAL;
	}
	struct sb_api *a = calloc(1, sizeof *a);
	if (!a) {
		snprintf(err, errcap, "out of memory");
		return ENOMEM;
	}
	a->epfd = -1;
	int ret = api_copy_cfg(a, cfg, err, errcap);
	if (ret) {
		sb_api_free(a);
		return ret;
	}
	int lfd = -1;
	ret = listen_socket(&cfg->listen, &lfd, &a->bound, err, errcap);
	if (ret) {
		sb_api_free(a);
		return ret;
	}
	unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	if (sb_addr_family(&cfg->listen) == AF_INET6)
		flags |= MHD_USE_IPv6;
	a->d = MHD_start_daemon(flags, sb_addr_port(&a->bound), NULL, NULL, access_h, a,
				MHD_OPTION_EXTERNAL_LOGGER, mhd_log_h, a,
				MHD_OPTION_LISTEN_SOCKET, (MHD_socket)lfd,
				MHD_OPTION_CONNECTION_LIMIT,
				(unsigned int)(SB_API_MAX_CONNECTIONS + API_SPARE_CONNECTIONS),
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)SB_API_AUTH_TIMEOUT_S,
				MHD_OPTION_NOTIFY_COMPLETED, completed_h, a,
				MHD_OPTION_NOTIFY_CONNECTION, conn_h, a,
				MHD_OPTION_UNESCAPE_CALLBACK, unescape_none_h, a,
				MHD_OPTION_END);
	if (!a->d) {
		close_if_ours(lfd, &a->bound);
		snprintf(err, errcap, "cannot start the HTTP server (libmicrohttpd refused it)");
		sb_api_free(a);
		return EIO;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(a->d, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info || info->epoll_fd < 0) {
		snprintf(err, errcap, "libmicrohttpd has no epoll descriptor (built without epoll?)");
		sb_api_free(a);
		return ENOTSUP;
	}
	ret = sb_loop_fd_add(a->loop, info->epoll_fd, SB_FD_READ, api_fd_h, a);
	if (ret) {
		snprintf(err, errcap, "cannot watch the API's descriptor: %s", strerror(ret));
		sb_api_free(a);
		return ret;
	}
	a->epfd = info->epoll_fd;
	a->started = sb_loop_now(a->loop);
	api_rearm(a);
	char as[SB_ADDR_STR_MAX];
	api_log(a, SB_LOG_DEBUG, "api: listening on http://%s/api/v1/",
		sb_addr_to_str(&a->bound, as, sizeof as));
	*ap = a;
	return 0;
}

void sb_api_bound(const struct sb_api *a, struct sb_addr *out)
{
	*out = a->bound;
}

static sb_msec_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (sb_msec_t)ts.tv_sec * 1000 + (sb_msec_t)ts.tv_nsec / 1000000;
}

/* Whether a request has its answer but MHD has not finished sending it. */
static bool answers_unsent(const struct sb_api *a)
{
	for (const struct api_req *r = a->reqs; r; r = r->next)
		if (r->ready && r->conn && !r->suspended)
			return true;
	return false;
}

/* At shutdown: accept nothing new, and run MHD (on our own, not the
 * loop) until every answer already made is sent, for at most
 * SB_API_DRAIN_MS. */
static void api_drain(struct sb_api *a)
{
	MHD_socket lfd = MHD_quiesce_daemon(a->d);
	if (lfd != MHD_INVALID_SOCKET)
		close(lfd); /* ours now (external polling: MHD holds no copy) */
	sb_msec_t end = mono_ms() + SB_API_DRAIN_MS;
	for (;;) {
		MHD_run(a->d);
		if (!answers_unsent(a))
			break;
		sb_msec_t now = mono_ms();
		if (now >= end) {
			api_log(a, SB_LOG_WARN, "api: stopping with answers not sent after %u ms",
				SB_API_DRAIN_MS);
			break;
		}
		MHD_UNSIGNED_LONG_LONG ms = end - now;
		MHD_UNSIGNED_LONG_LONG t;
		if (MHD_get_timeout(a->d, &t) == MHD_YES && t < ms)
			ms = t;
		struct pollfd p = { .fd = a->epfd, .events = POLLIN };
		(void)poll(&p, 1, (int)ms);
	}
}

void sb_api_free(struct sb_api *a)
{
	if (!a)
		return;
	a->closing = true;
	/* Requests waiting for the store: let it finish, so that every done
	 * handler (which points at a request) has run before they go, and
	 * their answers are made. */
	if (a->ops_out && a->store)
		sb_store_flush(a->store);
	if (a->d && a->epfd >= 0)
		api_drain(a);
	if (a->epfd >= 0)
		sb_loop_fd_del(a->loop, a->epfd);
	if (a->loop) {
		sb_timer_stop(a->loop, &a->timer);
		sb_timer_stop(a->loop, &a->guard);
	}
	if (a->d)
		MHD_stop_daemon(a->d); /* closes the listening socket too, unless quiesced */
	/* MHD told completed_h about every request it knew; anything left
	 * never reached it, or waits for a store that is gone */
	while (a->reqs)
		req_free(a->reqs);
	/* and conn_h about every connection */
	while (a->conns) {
		struct api_conn *c = a->conns;
		a->conns = c->next;
		free(c);
	}
	free(a->realm);
	for (unsigned k = 0; k < a->ndomains; k++)
		free(a->domains[k]);
	free(a);
}
