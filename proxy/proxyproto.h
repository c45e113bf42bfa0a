/* proxyproto — the HAProxy PROXY protocol header (v1 text, v2 binary) that
 * tells a backend the real client address. Pure: builds bytes into a buffer.
 */
#ifndef SYNGUARD_PROXYPROTO_H
#define SYNGUARD_PROXYPROTO_H

#include <stddef.h>
#include <sys/socket.h>

#include "config.h"

/* Longest header we build (v2 with IPv6 addresses is 52 bytes; v1 107). */
#define PROXYPROTO_MAX 108

/* Header for a TCP connection from `client` to `local` (the protected
 * address). Both must be the same family. Returns its length, or 0 if the
 * version is CONFIG_PROXY_OFF, the families differ, or `cap` is too small. */
size_t proxyproto_build(enum config_proxy_protocol version, const struct sockaddr_storage *client,
                        const struct sockaddr_storage *local, unsigned char *buf, size_t cap);

#endif
