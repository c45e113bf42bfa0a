/* sockdiag — destroy the kernel socket occupying a 4-tuple (SOCK_DESTROY).
 *
 * A client may reuse its source port while our side of its previous
 * connection is still in TIME_WAIT (we closed first). A repair-mode connect
 * replaces such a socket only if that connection used timestamps; otherwise
 * we remove it, as `ss -K` would. Needs CAP_NET_ADMIN and
 * CONFIG_INET_DIAG_DESTROY.
 */
#ifndef SYNGUARD_SOCKDIAG_H
#define SYNGUARD_SOCKDIAG_H

#include <sys/socket.h>

/* Destroy the TCP socket local<->peer if it is in TIME_WAIT. Returns 0 if
 * one was destroyed, -1 with errno otherwise (ENOENT: there was none;
 * EBUSY: it is in another state, left alone). */
int sockdiag_destroy(const struct sockaddr_storage *local, const struct sockaddr_storage *peer);

#endif
