#include "proxyproto.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* The parts of a socket address the header carries. */
struct proxyproto_addr {
	const void *ip; /* network order, `len` bytes */
	size_t len;
	uint16_t port;  /* network order */
};

static int proxyproto_addr(const struct sockaddr_storage *ss, struct proxyproto_addr *a)
{
	switch (ss->ss_family) {
	case AF_INET: {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

		*a = (struct proxyproto_addr){ &sin->sin_addr, sizeof(sin->sin_addr), sin->sin_port };
		return 0;
	}
	case AF_INET6: {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

		*a = (struct proxyproto_addr){ &sin6->sin6_addr, sizeof(sin6->sin6_addr), sin6->sin6_port };
		return 0;
	}
	default:
		return -1;
	}
}

/* "PROXY TCP4 <src> <dst> <sport> <dport>\r\n" */
static size_t proxyproto_v1(int family, const struct proxyproto_addr *src,
			    const struct proxyproto_addr *dst, unsigned char *buf, size_t cap)
{
	char sip[INET6_ADDRSTRLEN], dip[INET6_ADDRSTRLEN];
	char line[PROXYPROTO_MAX];
	int n;

	inet_ntop(family, src->ip, sip, sizeof(sip));
	inet_ntop(family, dst->ip, dip, sizeof(dip));
	n = snprintf(line, sizeof(line), "PROXY %s %s %s %u %u\r\n",
		     family == AF_INET ? "TCP4" : "TCP6", sip, dip,
		     (unsigned)ntohs(src->port), (unsigned)ntohs(dst->port));
	if (n < 0 || (size_t)n >= sizeof(line) || (size_t)n > cap)
		return 0;
	memcpy(buf, line, (size_t)n);
	return (size_t)n;
}

/* Signature, version 2 + PROXY command, TCP over IPv4/IPv6, the length of
 * what follows; then source and destination addresses and ports. */
static size_t proxyproto_v2(int family, const struct proxyproto_addr *src,
			    const struct proxyproto_addr *dst, unsigned char *buf, size_t cap)
{
	static const unsigned char sig[12] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
					       0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a };
	size_t body = 2 * src->len + 4;
	size_t len = sizeof(sig) + 4 + body;
	unsigned char *p = buf;

	if (len > cap)
		return 0;
	memcpy(p, sig, sizeof(sig));
	p += sizeof(sig);
	*p++ = 0x21;
	*p++ = family == AF_INET ? 0x11 : 0x21;
	*p++ = (unsigned char)(body >> 8);
	*p++ = (unsigned char)body;
	memcpy(p, src->ip, src->len);
	p += src->len;
	memcpy(p, dst->ip, dst->len);
	p += dst->len;
	memcpy(p, &src->port, 2);
	memcpy(p + 2, &dst->port, 2);
	return len;
}

size_t proxyproto_build(enum config_proxy_protocol version, const struct sockaddr_storage *client,
			const struct sockaddr_storage *local, unsigned char *buf, size_t cap)
{
	struct proxyproto_addr src, dst;

	if (client->ss_family != local->ss_family || proxyproto_addr(client, &src) < 0 ||
	    proxyproto_addr(local, &dst) < 0)
		return 0;
	switch (version) {
	case CONFIG_PROXY_V1:
		return proxyproto_v1(client->ss_family, &src, &dst, buf, cap);
	case CONFIG_PROXY_V2:
		return proxyproto_v2(client->ss_family, &src, &dst, buf, cap);
	case CONFIG_PROXY_OFF:
		break;
	}
	return 0;
}
