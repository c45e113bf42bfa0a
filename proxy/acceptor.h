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
#include "health.h"
#include "stats.h"

struct event_base;
struct acceptor;

/* Listen on every cfg->listen endpoint (now, so that errors, such as a port
 * in use by another program, surface at start) and accept on `base`. `cfg`
 * and `stats` are borrowed; `health` goes to the relay (relay.h). NULL with
 * a message in `err`. */
struct acceptor *acceptor_new(struct event_base *base, const struct config *cfg, struct health *health,
                              struct stats *stats, char *err, size_t errlen);

/* Closes the listening sockets, resets open connections, frees. */
void acceptor_free(struct acceptor *a);

#endif
