/* acceptor — one worker's share of the kernel path in relay mode.
 *
 * On the kernel path the kernel itself builds each verified connection
 * (fastpath.h) and queues it on a listening socket of the protected
 * endpoint. Every worker has its own listening socket per endpoint, joined
 * with SO_REUSEPORT so the kernel spreads connections over the workers;
 * it accepts them (a bounded number per wakeup) and hands them to its relay,
 * past max_connections it resets them (conn_limit_rejected).
 */
#ifndef SYNGUARD_ACCEPTOR_H
#define SYNGUARD_ACCEPTOR_H

#include <stddef.h>

#include "config.h"
#include "runconf.h"
#include "stats.h"

struct event_base;
struct acceptor;
struct connlimit;

/* Listen on every endpoint of `run`'s config (now, so that errors, such as
 * a port in use by another program, surface at start) and accept on `base`,
 * relaying to its backends with its health checks. The caller holds `run`
 * for as long as the acceptor uses it; `limit` (max_connections, all
 * workers') and `stats` are borrowed. NULL with a message in `err`. */
struct acceptor *acceptor_new(struct event_base *base, const struct runconf *run, struct connlimit *limit,
                              struct stats *stats, char *err, size_t errlen);

/* Closes the listening sockets, resets open connections, frees. */
void acceptor_free(struct acceptor *a);

/* A listening socket on `ep` that joins every worker's (SO_REUSEPORT).
 * Returns the descriptor, or -1 with the reason in `err`. */
int acceptor_listen_fd(const struct config_endpoint *ep, char *err, size_t errlen);

/* A reload, on the worker's thread: listen on `run`'s endpoints. An
 * endpoint the acceptor has keeps its socket and queue; one it lacks gets a
 * new socket (one that cannot be had is logged, and the other workers take
 * all of its clients; the main thread tried each before the reload, so only
 * a race can cause it); sockets of endpoints no longer listed are closed,
 * resetting the clients queued on them. New connections go to its
 * backends; `run` is then held as acceptor_new's. Returns 0, or -1 (out of
 * memory) with nothing changed. */
int acceptor_reconfigure(struct acceptor *a, const struct runconf *run, char *err, size_t errlen);

#endif
