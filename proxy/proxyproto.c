#include "proxyproto.h"

#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "netaddr.h"

/* "PROXY TCP4 <src> <dst> <sport> <dport>\r\n" */
static size_t proxyproto_v1(const struct sockaddr_storage *src, const struct sockaddr_storage *dst,
                            unsigned char *buf, size_t cap)
{
	char sip[INET6_ADDRSTRLEN], dip[INET6_ADDRSTRLEN];
	char line[PROXYPROTO_MAX];
	int n;

	netaddr_host(src, sip, sizeof(sip));
	netaddr_host(dst, dip, sizeof(dip));
	n = snprintf(line, sizeof(line), "PROXY %s %s %s %u %u\r\n",
	             src->ss_family == AF_INET ? "TCP4" : "TCP6", sip, dip, (unsigned)netaddr_port(src),
	             (unsigned)netaddr_port(dst));
	if (n < 0 || (size_t)n >= sizeof(line) || (size_t)n > cap)
		return 0;
	memcpy(buf, line, (size_t)n);
	return (size_t)n;
}

/* Signature, version 2 + PROXY command, TCP over IPv4/IPv6, the length of
 * what follows; then source and destination addresses and ports. */
static size_t proxyproto_v2(const struct sockaddr_storage *src, const struct sockaddr_storage *dst,
                            unsigned char *buf, size_t cap)
{
	static const unsigned char sig[12] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
		                               0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a };
	const uint8_t *sip, *dip;
	size_t alen = netaddr_raw(src, &sip);
	uint16_t sport = netaddr_port(src), dport = netaddr_port(dst);
	size_t body = 2 * alen + 4;
	size_t len = sizeof(sig) + 4 + body;
	unsigned char *p = buf;

	if (len > cap)
		return 0;
	netaddr_raw(dst, &dip); /* of the same family, so as long */
	memcpy(p, sig, sizeof(sig));
	p += sizeof(sig);
	*p++ = 0x21;
	*p++ = src->ss_family == AF_INET ? 0x11 : 0x21;
	*p++ = (unsigned char)(body >> 8);
	*p++ = (unsigned char)body;
	memcpy(p, sip, alen);
	p += alen;
	memcpy(p, dip, alen);
	p += alen;
	*p++ = (unsigned char)(sport >> 8);
	*p++ = (unsigned char)sport;
	*p++ = (unsigned char)(dport >> 8);
	*p = (unsigned char)dport;
	return len;
}

size_t proxyproto_build(enum config_proxy_protocol version, const struct sockaddr_storage *client,
                        const struct sockaddr_storage *local, unsigned char *buf, size_t cap)
{
	if (client->ss_family != local->ss_family || netaddr_len(client) == 0)
		return 0;
	switch (version) {
	case CONFIG_PROXY_V1:
		return proxyproto_v1(client, local, buf, cap);
	case CONFIG_PROXY_V2:
		return proxyproto_v2(client, local, buf, cap);
	case CONFIG_PROXY_OFF:
		break;
	}
	return 0;
}
