/* netaddr — IPv4 and IPv6 socket addresses, built and taken apart.
 *
 * The one module that knows sockaddr_in from sockaddr_in6: the others give
 * (family, address bytes, port, scope id) and ask for them back. Address
 * bytes are in network order, ports in host order. A family other than
 * AF_INET or AF_INET6 is not an address: its length is 0. Pure, no I/O.
 *
 * It sits beside config because config is the lowest library (the relay, the
 * front end and the tests all link it) and a struct config_endpoint is a
 * socket address; the front end's packets and the relay's sockets use the
 * same helpers.
 */
#ifndef SYNGUARD_NETADDR_H
#define SYNGUARD_NETADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Room for netaddr_str(): "[" address "%" scope id "]:" port. */
#define NETADDR_STRLEN (INET6_ADDRSTRLEN + 20)

/* `ss`, zero-filled (equal addresses are equal bytes), from `family`, its
 * address bytes (4 or 16) and `port`. `scope_id` is the index of the
 * interface the address was reached on; it is kept only for an IPv6
 * link-local address (fe80::/10), which bind() and connect() refuse without
 * it, and ignored otherwise. Returns the address's length, or 0 (and `ss`
 * all zero) for another family. */
socklen_t netaddr_make(struct sockaddr_storage *ss, int family, const uint8_t *addr, uint16_t port,
                       uint32_t scope_id);

/* The length bind() and connect() want: 0 for another family. */
socklen_t netaddr_len(const struct sockaddr_storage *ss);

/* The address bytes (*addr points into `ss`). Returns their number, 4 or
 * 16, or 0 for another family (*addr untouched). */
size_t netaddr_raw(const struct sockaddr_storage *ss, const uint8_t **addr);

/* The port (0 for another family) and the IPv6 scope id (0 when none). */
uint16_t netaddr_port(const struct sockaddr_storage *ss);
uint32_t netaddr_scope_id(const struct sockaddr_storage *ss);

/* 0.0.0.0 or ::, the wildcard of a listen address. */
bool netaddr_is_any(const struct sockaddr_storage *ss);

/* The address alone, "192.0.2.1" / "2001:db8::1" (no scope id: for packet
 * headers and nft rules). Returns `buf`, or NULL for another family or a
 * `buf` too small. */
const char *netaddr_host(const struct sockaddr_storage *ss, char *buf, size_t buflen);

/* For logs: "192.0.2.1:80" / "[2001:db8::1]:443" / "[fe80::1%2]:80" (the
 * scope id as an index), "?" for another family. Returns `buf`, truncated
 * to `buflen`. */
const char *netaddr_str(const struct sockaddr_storage *ss, char *buf, size_t buflen);

#endif
