/* sipmsgutil.h: helpers the proxy test fixtures share (test_proxy.c,
 * test_proxy_fwd.c): an address from text, a comparison of printed bytes
 * with a text written with LF line ends, and a response to a request as its
 * UAS would print it, and a message handed to a proxy as the transport
 * would hand it.  Include after cmocka.h and the switchboard headers. */
#ifndef SB_TESTS_SIPMSGUTIL_H
#define SB_TESTS_SIPMSGUTIL_H

#include <stdlib.h>
#include <string.h>

#include "switchboard/proxy.h"
#include "switchboard/sip.h"
#include "switchboard/transport.h"

static inline struct sb_addr addr(const char *host, uint16_t port)
{
	struct sb_addr a;
	assert_int_equal(sb_addr_parse(&a, host, port), 0);
	return a;
}

/* got must equal want_lf with every LF written as CRLF. */
static inline void expect_text(const char *got, const char *want_lf)
{
	size_t n = strlen(want_lf), k = 0;
	char *want = malloc(2 * n + 1);
	assert_non_null(want);
	for (size_t i = 0; i < n; i++) {
		if (want_lf[i] == '\n')
			want[k++] = '\r';
		want[k++] = want_lf[i];
	}
	want[k] = 0;
	if (strcmp(got, want) != 0)
		fail_msg("got:\n%s\nwant:\n%s", got, want);
	free(want);
}

/* The response a UAS prints to req (RFC 3261 §8.2.6), NUL-terminated, with
 * to_tag (NULL: none); free() it. */
static inline char *response_to(const char *req, unsigned code, const char *to_tag)
{
	struct sb_sip_msg *m = malloc(sizeof *m);
	assert_non_null(m);
	assert_int_equal(sb_sip_parse(m, req, strlen(req), SB_SIP_DATAGRAM), 0);
	struct sb_buf out;
	sb_buf_init(&out, 0);
	struct sb_sip_response_spec spec = { .code = code };
	if (to_tag)
		spec.to_tag = sb_slice_cstr(to_tag);
	assert_int_equal(sb_sip_print_response(&out, m, &spec), 0);
	assert_int_equal(sb_buf_append(&out, "", 1), 0);
	free(m);
	return out.p;
}

/* Hand text (LF line ends become CRLF) to proxy as received from ip:port
 * over proto on connection conn_id (0: none) on the local address
 * 192.0.2.10:5060, as the transport would. */
static inline void proxy_inject_conn(struct sb_proxy *proxy, const char *text,
				     enum sb_tp_proto proto, const char *ip, uint16_t port,
				     uint32_t conn_id)
{
	size_t n = strlen(text), k = 0;
	char *buf = malloc(2 * n + 1);
	assert_non_null(buf);
	for (size_t i = 0; i < n; i++) {
		if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r'))
			buf[k++] = '\r';
		buf[k++] = text[i];
	}
	struct sb_sip_msg *m = malloc(sizeof *m);
	assert_non_null(m);
	assert_int_equal(sb_sip_parse(m, buf, k, SB_SIP_DATAGRAM), 0);
	struct sb_tp_rx rx = {
		.msg = m,
		.proto = proto,
		.src = addr(ip, port),
		.local = addr("192.0.2.10", 5060),
		.conn_id = conn_id,
	};
	sb_proxy_recv(&rx, proxy);
	free(m);
	free(buf);
}

static inline void proxy_inject(struct sb_proxy *proxy, const char *text, enum sb_tp_proto proto,
				const char *ip, uint16_t port)
{
	proxy_inject_conn(proxy, text, proto, ip, port, 0);
}

#endif
