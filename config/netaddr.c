#include "netaddr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

socklen_t netaddr_make(struct sockaddr_storage *ss, int family, const uint8_t *addr, uint16_t port,
                       uint32_t scope_id)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	switch (family) {
	case AF_INET:
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, addr, sizeof(sin->sin_addr));
		return sizeof(*sin);
	case AF_INET6:
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, addr, sizeof(sin6->sin6_addr));
		if (IN6_IS_ADDR_LINKLOCAL(&sin6->sin6_addr))
			sin6->sin6_scope_id = scope_id;
		return sizeof(*sin6);
	default:
		return 0;
	}
}

socklen_t netaddr_len(const struct sockaddr_storage *ss)
{
	switch (ss->ss_family) {
	case AF_INET:
		return sizeof(struct sockaddr_in);
	case AF_INET6:
		return sizeof(struct sockaddr_in6);
	default:
		return 0;
	}
}

size_t netaddr_raw(const struct sockaddr_storage *ss, const uint8_t **addr)
{
	switch (ss->ss_family) {
	case AF_INET:
		*addr = (const uint8_t *)&((const struct sockaddr_in *)ss)->sin_addr;
		return 4;
	case AF_INET6:
		*addr = (const uint8_t *)&((const struct sockaddr_in6 *)ss)->sin6_addr;
		return 16;
	default:
		return 0;
	}
}

uint16_t netaddr_port(const struct sockaddr_storage *ss)
{
	switch (ss->ss_family) {
	case AF_INET:
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	case AF_INET6:
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	default:
		return 0;
	}
}

uint32_t netaddr_scope_id(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET6 ? ((const struct sockaddr_in6 *)ss)->sin6_scope_id : 0;
}

bool netaddr_is_any(const struct sockaddr_storage *ss)
{
	static const uint8_t any[16];
	const uint8_t *addr;
	size_t len = netaddr_raw(ss, &addr);

	return len > 0 && memcmp(addr, any, len) == 0;
}

const char *netaddr_host(const struct sockaddr_storage *ss, char *buf, size_t buflen)
{
	const uint8_t *addr;

	if (netaddr_raw(ss, &addr) == 0)
		return NULL;
	return inet_ntop(ss->ss_family, addr, buf, (socklen_t)buflen);
}

const char *netaddr_str(const struct sockaddr_storage *ss, char *buf, size_t buflen)
{
	char host[INET6_ADDRSTRLEN];
	uint32_t scope = netaddr_scope_id(ss);

	if (netaddr_host(ss, host, sizeof(host)) == NULL)
		snprintf(buf, buflen, "?");
	else if (ss->ss_family == AF_INET)
		snprintf(buf, buflen, "%s:%u", host, netaddr_port(ss));
	else if (scope != 0)
		snprintf(buf, buflen, "[%s%%%u]:%u", host, scope, netaddr_port(ss));
	else
		snprintf(buf, buflen, "[%s]:%u", host, netaddr_port(ss));
	return buf;
}
