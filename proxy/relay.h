/* relay — splice an adopted client socket to a backend, both ways.
 *
 * Per connection: a non-blocking connect to the backend the pool picks
 * (backends the active checks hold down last: health.h's up mask), with
 * a timeout and failover to the next backend; the PROXY protocol header if
 * the backend wants one; then bytes moved with splice() through two pipes
 * (zero copy), bounded by the pipes' size so a slow reader stops the other
 * side (back-pressure, never unbounded memory). A FIN is passed on as a
 * half-close; a reset on either side resets the other; a client whose
 * backends all fail is reset at once; a connection that moves no byte either
 * way for idle_timeout_s is closed (checked once a second). Urgent data
 * (MSG_OOB) is passed on in its place in the stream (SO_OOBINLINE), as
 * ordinary bytes. Every callback does bounded work, so no connection can
 * starve the others or the packet path sharing the loop. All on the
 * worker's event loop.
 *
 * splice() into a socket has no MSG_NOSIGNAL: the process must ignore SIGPIPE.
 *
 * Counters: conn_active counts connections from relay_start until they end;
 * each ends in exactly one of conn_closed (both sides closed cleanly),
 * conn_reset (a reset or error on either side, or relay_ctx_free),
 * backend_unavailable (no backend answered) and conn_idle_timeout. bytes_* count bytes taken from
 * the sending side (the PROXY header is not counted).
 */
#ifndef SYNGUARD_RELAY_H
#define SYNGUARD_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "backend.h"
#include "config.h"
#include "health.h"
#include "stats.h"

struct event_base;
struct relay_ctx;
struct connlimit;

/* Called once per connection, after both sockets are closed. */
typedef void (*relay_done_fn)(void *arg);

/* Per worker. The ctx holds `pool` (backend_pool_hold) and a reference to
 * `health` (whose up mask orders the picks and whose per-backend counters
 * it keeps) for new connections; each connection holds the pool and health
 * it started with, whose indexes its backend has, so a reload never changes
 * the backends under a connect in progress. `limit` (shared by all workers)
 * and `stats` are borrowed and must outlive the ctx. */
struct relay_ctx *relay_ctx_new(struct event_base *base, const struct config *cfg, struct backend_pool *pool,
                                struct health *health, struct connlimit *limit, struct stats *stats);

/* A reload: new connections get `pool` and cfg's timeouts and buffer size;
 * open ones keep theirs, except that idle_timeout_s applies to all. */
void relay_ctx_reconfigure(struct relay_ctx *ctx, const struct config *cfg, struct backend_pool *pool,
                           struct health *health);

/* Resets every open connection (calling their done callbacks) and frees. */
void relay_ctx_free(struct relay_ctx *ctx);

/* A slot of max_connections (counted over all workers), or false when none
 * is free. relay_start() takes over a reserved slot (given back when the
 * connection ends, or if it fails); relay_unreserve() gives back one that
 * was not used. */
bool relay_reserve(struct relay_ctx *ctx);
void relay_unreserve(struct relay_ctx *ctx);

/* Take ownership of `client_fd` (an ESTABLISHED TCP socket; made non-blocking
 * here). `client` is its peer, `local` the protected address it reached.
 * Returns 0; or -1 if nothing could be started, in which case the client has
 * been reset, the fd closed and `done` is NOT called. */
int relay_start(struct relay_ctx *ctx, int client_fd, const struct sockaddr_storage *client,
                const struct sockaddr_storage *local, relay_done_fn done, void *arg);

size_t relay_active(const struct relay_ctx *ctx);

#endif
