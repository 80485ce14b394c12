/* proxy/self: who the proxy is.  Whether a URI or a Via names this proxy
 * (RFC 3261 §16.4 Route and strict routing, §16.3 step 4 our own Via),
 * whether a URI is in one of our domains (§16.5), and which of our
 * listeners a request came in on and goes out from (Via, Record-Route). */
#include <errno.h>
#include <string.h>

#include "proxy_int.h"

static bool host_eq(struct sb_slice h, const char *s)
{
	return sb_slice_caseeq_cstr(h, s);
}

static bool port_is_ours(const struct sb_proxy *p, uint16_t port)
{
	if (port == 0)
		port = 5060;
	for (unsigned k = 0; k < p->cfg.nlisten; k++)
		if (sb_addr_port(&p->cfg.listen[k].addr) == port)
			return true;
	return false;
}

static bool host_is_ours(const struct sb_proxy *p, struct sb_slice host)
{
	for (unsigned k = 0; k < p->cfg.nlisten; k++)
		if (host_eq(host, p->lhost[k]))
			return true;
	for (unsigned k = 0; k < p->cfg.ndomains; k++)
		if (host_eq(host, p->domains[k]))
			return true;
	return false;
}

bool sb_proxy_uri_is_us(const struct sb_proxy *p, const struct sb_uri *uri)
{
	if (uri->scheme != SB_URI_SIP && uri->scheme != SB_URI_SIPS)
		return false;
	return host_is_ours(p, uri->host) && port_is_ours(p, uri->port);
}

/* A domain matches with no port or one of our ports: "sip:bob@127.0.0.1:5070"
 * is a phone on our host, not our domain. */
bool sb_proxy_uri_in_domain(const struct sb_proxy *p, const struct sb_uri *uri)
{
	if (uri->scheme != SB_URI_SIP && uri->scheme != SB_URI_SIPS)
		return false;
	if (uri->port && !port_is_ours(p, uri->port))
		return false;
	for (unsigned k = 0; k < p->cfg.ndomains; k++)
		if (host_eq(uri->host, p->domains[k]))
			return true;
	return false;
}

/* Whether uri's host is one of our domains, whatever its port: for
 * telling our users from others ("sip:alice@example.com:5999" still claims
 * to be our alice). */
bool px_host_in_domain(const struct sb_proxy *p, const struct sb_uri *uri)
{
	if (uri->scheme != SB_URI_SIP && uri->scheme != SB_URI_SIPS)
		return false;
	for (unsigned k = 0; k < p->cfg.ndomains; k++)
		if (host_eq(uri->host, p->domains[k]))
			return true;
	return false;
}

/* RFC 3261 §16.4 strict routing: whether uri is a value we place in a
 * Record-Route (forward.c writes "<sip:HOST:PORT;transport=T;lr>" for a
 * listener).  The exact rule: scheme sip, no user part, the lr parameter,
 * and one listener whose host (as printed, IPv6 in []) is uri's host, whose
 * port is uri's port (5060 when absent), and whose transport is the one the
 * transport parameter names (any of that host and port when the parameter
 * is absent).  Our domains, other schemes and URIs without lr are not ours
 * in this sense: "sip:192.0.2.10" addresses the domain, and its Route is a
 * loose one to follow. */
bool px_uri_is_our_rr(const struct sb_proxy *p, const struct sb_uri *uri)
{
	static const char *const tp_param[] = { "udp", "tcp", "tls" };
	if (uri->scheme != SB_URI_SIP || uri->user.p || !uri->lr)
		return false;
	uint16_t port = uri->port ? uri->port : 5060;
	for (unsigned k = 0; k < p->cfg.nlisten; k++) {
		const struct sb_proxy_listen *l = &p->cfg.listen[k];
		if (!host_eq(uri->host, p->lhost[k]) || sb_addr_port(&l->addr) != port)
			continue;
		if (!uri->transport.p ||
		    ((unsigned)l->proto < sizeof tp_param / sizeof tp_param[0] &&
		     sb_slice_caseeq_cstr(uri->transport, tp_param[l->proto])))
			return true;
	}
	return false;
}

bool px_via_is_ours(const struct sb_proxy *p, const struct sb_via *v)
{
	return host_is_ours(p, v->host) && port_is_ours(p, v->port);
}

int px_addr_host(const struct sb_addr *a, char *buf, size_t cap)
{
	char h[SB_ADDR_STR_MAX];
	sb_addr_host_to_str(a, h, sizeof h);
	bool v6 = sb_addr_family(a) == AF_INET6;
	size_t l = strlen(h), need = l + (v6 ? 2 : 0);
	if (need >= cap)
		return ENOSPC;
	char *d = buf;
	if (v6)
		*d++ = '[';
	memcpy(d, h, l);
	d += l;
	if (v6)
		*d++ = ']';
	*d = 0;
	return 0;
}

/* The local address to write for proto towards family fam. */
const struct sb_proxy_listen *px_pick_listen(const struct sb_proxy *p, enum sb_tp_proto pr,
					     int fam)
{
	for (unsigned k = 0; k < p->cfg.nlisten; k++)
		if (p->cfg.listen[k].proto == pr && sb_addr_family(&p->cfg.listen[k].addr) == fam)
			return &p->cfg.listen[k];
	return NULL;
}

/* The listener a request arrived on: the one whose advertised address is
 * its local address, else the first of its protocol and family. */
const struct sb_proxy_listen *px_in_listen(const struct sb_proxy *p, enum sb_tp_proto pr,
					   const struct sb_addr *local, int fam)
{
	for (unsigned k = 0; k < p->cfg.nlisten; k++)
		if (p->cfg.listen[k].proto == pr && sb_addr_eq(&p->cfg.listen[k].addr, local))
			return &p->cfg.listen[k];
	return px_pick_listen(p, pr, fam);
}
