/* transport/addr: numeric socket addresses for the transport and its
 * owners: parse (no DNS: resolving belongs to RFC 3263 above us), print,
 * compare. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tp_int.h"

/* The longest host text we accept: an IPv6 address in brackets. */
#define ADDR_HOST_MAX (INET6_ADDRSTRLEN + 2)

int sb_addr_parse(struct sb_addr *a, const char *host, uint16_t port)
{
	char tmp[ADDR_HOST_MAX + 1];
	size_t n;

	memset(a, 0, sizeof *a);
	if (!host)
		return EINVAL;
	n = strlen(host);
	if (n == 0 || n > ADDR_HOST_MAX)
		return EINVAL;
	if (inet_pton(AF_INET, host, &a->u.in.sin_addr) == 1) {
		a->u.in.sin_family = AF_INET;
		a->u.in.sin_port = htons(port);
		a->len = sizeof a->u.in;
		return 0;
	}
	/* an IPv6reference (RFC 3261 §25.1) keeps its brackets in URIs */
	if (host[0] == '[') {
		if (n < 3 || host[n - 1] != ']')
			return EINVAL;
		memcpy(tmp, host + 1, n - 2);
		tmp[n - 2] = '\0';
	} else {
		memcpy(tmp, host, n + 1);
	}
	if (inet_pton(AF_INET6, tmp, &a->u.in6.sin6_addr) == 1) {
		a->u.in6.sin6_family = AF_INET6;
		a->u.in6.sin6_port = htons(port);
		a->len = sizeof a->u.in6;
		return 0;
	}
	memset(a, 0, sizeof *a);
	return EINVAL;
}

int sb_addr_from_sa(struct sb_addr *a, const struct sockaddr *sa, socklen_t len)
{
	memset(a, 0, sizeof *a);
	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof a->u.in) {
		memcpy(&a->u.in, sa, sizeof a->u.in);
		a->len = sizeof a->u.in;
		return 0;
	}
	if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof a->u.in6) {
		memcpy(&a->u.in6, sa, sizeof a->u.in6);
		a->len = sizeof a->u.in6;
		return 0;
	}
	return EAFNOSUPPORT;
}

const char *sb_addr_host_to_str(const struct sb_addr *a, char *buf, size_t cap)
{
	char h[INET6_ADDRSTRLEN] = "?";
	if (cap == 0)
		return buf;
	if (a->u.sa.sa_family == AF_INET)
		inet_ntop(AF_INET, &a->u.in.sin_addr, h, sizeof h);
	else if (a->u.sa.sa_family == AF_INET6)
		inet_ntop(AF_INET6, &a->u.in6.sin6_addr, h, sizeof h);
	snprintf(buf, cap, "%s", h);
	return buf;
}

const char *sb_addr_to_str(const struct sb_addr *a, char *buf, size_t cap)
{
	char h[INET6_ADDRSTRLEN];
	if (cap == 0)
		return buf;
	sb_addr_host_to_str(a, h, sizeof h);
	if (a->u.sa.sa_family == AF_INET6)
		snprintf(buf, cap, "[%s]:%u", h, (unsigned)sb_addr_port(a));
	else
		snprintf(buf, cap, "%s:%u", h, (unsigned)sb_addr_port(a));
	return buf;
}

bool sb_addr_ip_eq(const struct sb_addr *a, const struct sb_addr *b)
{
	if (a->u.sa.sa_family != b->u.sa.sa_family)
		return false;
	if (a->u.sa.sa_family == AF_INET)
		return a->u.in.sin_addr.s_addr == b->u.in.sin_addr.s_addr;
	if (a->u.sa.sa_family == AF_INET6)
		return memcmp(&a->u.in6.sin6_addr, &b->u.in6.sin6_addr,
			      sizeof a->u.in6.sin6_addr) == 0 &&
		       a->u.in6.sin6_scope_id == b->u.in6.sin6_scope_id;
	return false;
}

size_t sb_addr_peer_key(const struct sb_addr *a, unsigned char key[SB_ADDR_PEER_KEY_MAX])
{
	if (a->u.sa.sa_family == AF_INET) {
		memcpy(key, &a->u.in.sin_addr, 4);
		return 4;
	}
	if (a->u.sa.sa_family == AF_INET6) {
		const struct in6_addr *ip = &a->u.in6.sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(ip)) {
			memcpy(key, ip->s6_addr + 12, 4);
			return 4;
		}
		uint32_t scope = a->u.in6.sin6_scope_id;
		memcpy(key, ip->s6_addr, 8); /* the /64 */
		memcpy(key + 8, &scope, 4);
		return 12;
	}
	return 0;
}

bool sb_addr_same_peer(const struct sb_addr *a, const struct sb_addr *b)
{
	unsigned char ka[SB_ADDR_PEER_KEY_MAX], kb[SB_ADDR_PEER_KEY_MAX];
	size_t na = sb_addr_peer_key(a, ka), nb = sb_addr_peer_key(b, kb);
	return na != 0 && na == nb && memcmp(ka, kb, na) == 0;
}

bool sb_addr_eq(const struct sb_addr *a, const struct sb_addr *b)
{
	return sb_addr_ip_eq(a, b) && sb_addr_port(a) == sb_addr_port(b);
}

uint16_t sb_addr_port(const struct sb_addr *a)
{
	if (a->u.sa.sa_family == AF_INET)
		return ntohs(a->u.in.sin_port);
	if (a->u.sa.sa_family == AF_INET6)
		return ntohs(a->u.in6.sin6_port);
	return 0;
}

void sb_addr_set_port(struct sb_addr *a, uint16_t port)
{
	if (a->u.sa.sa_family == AF_INET)
		a->u.in.sin_port = htons(port);
	else if (a->u.sa.sa_family == AF_INET6)
		a->u.in6.sin6_port = htons(port);
}
