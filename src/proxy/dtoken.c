/* proxy/dtoken.c: the dialog token our Record-Route carries, so that an
 * in-dialog request is let through without credentials only inside a dialog
 * that really went through us, and only towards one of that dialog's ends.
 *
 * RFC 3261 §16.6 step 4 lets a proxy put what it likes in the URI it
 * records; §12.1.1 and §12.2.1.1 make both user agents copy it into the
 * Route of every request of the dialog.  When the dialog-creating request
 * is forwarded we write ";sbd=A.B" into our Record-Route, with
 *   A = HMAC-SHA256(key, Call-ID LF host:port of the caller's Contact),
 *   B = HMAC-SHA256(key, Call-ID LF host:port of the Request-URI we sent),
 * each cut to PX_DTOKEN_HALF hex digits.  An in-dialog request goes to the
 * other side's Contact, so its Request-URI's host:port, hashed with its
 * Call-ID, must give A or B.  A To tag and a Route to us are easy to forge;
 * this is not without the key, and a party to one dialog cannot aim an
 * "in-dialog" request at a third host (a gateway: toll fraud).  A phone
 * whose 2xx Contact names another host than the one it registered from
 * is challenged for its in-dialog requests of the authenticated methods,
 * and answers with credentials as for any 407. */
#include <string.h>

#include <openssl/crypto.h>

#include "proxy_int.h"

/* Bytes hashed: a Call-ID, LF and a host:port. */
#define PX_DTOKEN_MSG 1024u

/* "host:port" of a sip/sips URI, host lower-cased, the default port of its
 * scheme written out, so that "sip:a@H" and "sip:b@h:5060" name one end. */
static size_t end_of(const struct sb_uri *u, char *out, size_t cap)
{
	if ((u->scheme != SB_URI_SIP && u->scheme != SB_URI_SIPS) || !u->host.l ||
	    u->host.l + 7 > cap)
		return 0;
	for (size_t i = 0; i < u->host.l; i++) {
		char c = u->host.p[i];
		out[i] = (c >= 'A' && c <= 'Z') ? (char)(c | 0x20) : c;
	}
	size_t n = u->host.l;
	unsigned port = u->port ? u->port : u->scheme == SB_URI_SIPS ? 5061u : 5060u;
	out[n++] = ':';
	char digits[6];
	size_t d = 0;
	do {
		digits[d++] = (char)('0' + port % 10);
		port /= 10;
	} while (port);
	while (d)
		out[n++] = digits[--d];
	return n;
}

/* PX_DTOKEN_HALF hex digits of HMAC(key, Call-ID LF end) into out. */
static bool half(const struct sb_proxy *p, struct sb_slice call_id, const struct sb_uri *u,
		 char *out)
{
	static const char hex[] = "0123456789abcdef";
	/* Call-ID LF host:port; longer than PX_DTOKEN_MSG: no token */
	char end[PX_DTOKEN_MSG];
	if (call_id.l + 1 >= PX_DTOKEN_MSG)
		return false;
	size_t el = end_of(u, end, sizeof end - call_id.l - 1);
	struct sb_slice parts[3] = { call_id, { "\n", 1 }, { end, el } };
	uint8_t mac[SB_HMAC_SHA256_LEN];
	if (!el || !p->dmac || sb_hmac_sha256(p->dmac, parts, 3, mac) != 0)
		return false;
	for (size_t i = 0; i < PX_DTOKEN_HALF / 2; i++) {
		out[2 * i] = hex[mac[i] >> 4];
		out[2 * i + 1] = hex[mac[i] & 15];
	}
	return true;
}

bool px_dtoken_make(const struct sb_proxy *p, struct sb_sip_msg *m, struct sb_slice ruri,
		    char out[PX_DTOKEN_LEN + 1])
{
	struct sb_slice call_id;
	struct sb_uri target;
	const struct sb_sip_hdr *h = sb_sip_hdr_first(m, SB_HDR_CONTACT);
	struct sb_nameaddr caller;
	if (!p->cfg.dialog_key || sb_sip_msg_call_id(m, &call_id) != 0 ||
	    sb_uri_parse(&target, ruri) != 0)
		return false;
	/* no usable Contact: the caller's end matches nothing */
	bool have_caller = false;
	if (h) {
		struct sb_sip_values it;
		struct sb_slice v;
		sb_sip_values_init(&it, m, SB_HDR_CONTACT);
		have_caller = sb_sip_values_next(&it, &v, NULL) &&
			      sb_nameaddr_parse(&caller, sb_slice_trim(v)) == 0 && !caller.star;
	}
	if (!have_caller || !half(p, call_id, &caller.uri, out))
		memset(out, '0', PX_DTOKEN_HALF);
	out[PX_DTOKEN_HALF] = '.';
	if (!half(p, call_id, &target, out + PX_DTOKEN_HALF + 1))
		return false;
	out[PX_DTOKEN_LEN] = '\0';
	return true;
}

bool px_dtoken_check(const struct sb_proxy *p, struct sb_sip_msg *m, const struct sb_uri *route,
		     const struct sb_uri *ruri)
{
	struct sb_slice tok, call_id;
	char want[PX_DTOKEN_HALF];
	if (!p->cfg.dialog_key || sb_param_find(route->params, "sbd", &tok) != 0 ||
	    tok.l != PX_DTOKEN_LEN || tok.p[PX_DTOKEN_HALF] != '.' ||
	    sb_sip_msg_call_id(m, &call_id) != 0 || !half(p, call_id, ruri, want))
		return false;
	/* either end of the dialog; constant time, so nothing leaks how much
	 * of a guess matched */
	bool a = CRYPTO_memcmp(want, tok.p, PX_DTOKEN_HALF) == 0;
	bool b = CRYPTO_memcmp(want, tok.p + PX_DTOKEN_HALF + 1, PX_DTOKEN_HALF) == 0;
	return a || b;
}
