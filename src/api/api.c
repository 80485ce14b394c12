/* api: the admin API's HTTP server (api.h): libmicrohttpd in external
 * epoll mode on the SIP loop's thread, the bearer token check, request
 * bodies read within their bound, answers queued, and requests that wait
 * for the store suspended until its done handler runs.
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
 * (sb_api_bound, for tests).  MHD closes it at MHD_stop_daemon().
 *
 * A request's life: the first call of the access handler (headers only)
 * checks the token and Content-Length and may answer at once (401, 413)
 * without reading the body; the next calls append the body, bounded; the
 * last one routes it (routes.c).  A handler that queued store operations
 * leaves the connection suspended; api_store_done() resumes it when the
 * last one is done, and MHD then calls the access handler once more, which
 * queues the answer. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	api_log(a, SB_LOG_WARN, "api: libmicrohttpd: %s", line);
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

/* ------------------------------------------------------------ answers */

/* r's path for a log line: bounded, and with no byte that could fake a
 * line or a terminal sequence (escaped bytes stay %-escaped). */
static const char *log_path(const struct api_req *r, char *buf, size_t cap)
{
	const char *p = r->path ? r->path : "?";
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

/* Hand r's answer to MHD (from the access handler only) and log it. */
static enum MHD_Result api_queue(struct api_req *r)
{
	struct sb_api *a = r->api;
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(r->resp_len, r->resp ? r->resp : (void *)"",
						MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	if (r->resp)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	if (r->status == 405 && r->allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
	if (r->status == 401)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					"Bearer realm=\"switchboard\"");
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
		r->api->ops_out++;
	} else if (!r->op_err) {
		r->op_err = err;
	}
	return err;
}

/* Turn the outcome of r's operations into its answer. */
static void api_settle(struct api_req *r)
{
	if (r->op_err) {
		json_decref(r->ok_body);
		r->ok_body = NULL;
		char path[API_LOG_PATH];
		api_log(r->api, SB_LOG_WARN, "api: %s %s: the store did not save the change: %s",
			r->method_s, log_path(r, path, sizeof path), strerror(r->op_err));
		if (r->op_err == EAGAIN)
			api_error(r, 503, "the store is busy (its queue is full): the change was made "
				  "in memory but not all of it was saved; try again shortly");
		else
			api_error(r, 500, "the change was made in memory but the store could not "
				  "save all of it: %s", strerror(r->op_err));
		return;
	}
	api_answer(r, r->ok_status, r->ok_body);
	r->ok_body = NULL;
}

void api_wait(struct api_req *r, unsigned ok_status, json_t *ok_body)
{
	r->ok_status = ok_status;
	r->ok_body = ok_body;
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
	if (err && !r->op_err)
		r->op_err = err;
	if (--r->ops_out)
		return;
	api_settle(r);
	if (r->suspended) {
		r->suspended = false;
		MHD_resume_connection(r->conn);
		/* MHD sees the resume on its channel; run it soon regardless */
		int e = sb_timer_start(a->loop, &a->timer, 0, api_timer_h, a);
		if (e)
			api_log(a, SB_LOG_ERROR, "api: cannot start the HTTP timer: %s",
				strerror(e));
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
	json_decref(r->ok_body);
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
 * token is wrong or the announced body is too big. */
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
	const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_LENGTH);
	uint64_t len;
	if (cl && sb_slice_to_u64(sb_slice_cstr(cl), UINT64_MAX, &len) == 0 &&
	    len > SB_API_MAX_BODY) {
		r->too_large = true;
		api_error(r, 413, "the body is larger than %u bytes", SB_API_MAX_BODY);
	}
}

static void req_append(struct api_req *r, const char *p, size_t n)
{
	if (r->too_large)
		return;
	if (n > SB_API_MAX_BODY - r->body_len) {
		r->too_large = true;
		free(r->body);
		r->body = NULL;
		r->body_len = r->body_cap = 0;
		return;
	}
	if (r->body_len + n > r->body_cap) {
		size_t cap = r->body_cap ? r->body_cap : 1024;
		while (cap < r->body_len + n)
			cap *= 2;
		if (cap > SB_API_MAX_BODY)
			cap = SB_API_MAX_BODY;
		char *nb = realloc(r->body, cap);
		if (!nb) {
			/* answered 500 once the body is in */
			r->op_err = ENOMEM;
			return;
		}
		r->body = nb;
		r->body_cap = cap;
	}
	memcpy(r->body + r->body_len, p, n);
	r->body_len += n;
}

static enum MHD_Result access_h(void *cls, struct MHD_Connection *conn, const char *url,
				const char *method, const char *version, const char *upload_data,
				size_t *upload_data_size, void **con_cls)
{
	struct sb_api *a = cls;
	struct api_req *r = *con_cls;

	if (!r) {
		r = calloc(1, sizeof *r);
		if (!r)
			return MHD_NO; /* MHD closes the connection */
		r->api = a;
		r->conn = conn;
		r->method = method_of(method);
		snprintf(r->method_s, sizeof r->method_s, "%s", method);
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
		/* answered early: whatever body follows is dropped */
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size) {
		req_append(r, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (r->ready) /* resumed after the store's done handler */
		return api_queue(r);
	if (r->suspended)
		return MHD_YES; /* cannot happen: MHD does not call a suspended one */
	if (r->too_large)
		api_error(r, 413, "the body is larger than %u bytes", SB_API_MAX_BODY);
	else if (r->op_err == ENOMEM)
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
				MHD_OPTION_CONNECTION_LIMIT, (unsigned int)SB_API_MAX_CONNECTIONS,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)SB_API_TIMEOUT_S,
				MHD_OPTION_NOTIFY_COMPLETED, completed_h, a,
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

void sb_api_free(struct sb_api *a)
{
	if (!a)
		return;
	/* Requests waiting for the store: let it finish, so that every done
	 * handler (which points at a request) has run before they go. */
	if (a->ops_out && a->store)
		sb_store_flush(a->store);
	if (a->epfd >= 0)
		sb_loop_fd_del(a->loop, a->epfd);
	if (a->loop)
		sb_timer_stop(a->loop, &a->timer);
	if (a->d)
		MHD_stop_daemon(a->d); /* closes the listening socket too */
	/* MHD told completed_h about every request it knew; anything left
	 * never reached it */
	while (a->reqs)
		req_free(a->reqs);
	free(a->realm);
	for (unsigned k = 0; k < a->ndomains; k++)
		free(a->domains[k]);
	free(a);
}
