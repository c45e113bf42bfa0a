/* backend — which backend the next connection goes to.
 *
 * Smooth weighted round-robin (as nginx does it): over any window of
 * sum(weights) picks, each backend is chosen weight times, interleaved.
 * Passive health: a backend whose connect failed is skipped for a hold-down
 * period. Active health (health.h) comes in as the up mask: a backend its
 * checks hold down is skipped while any other is left. So a connect attempt
 * goes to, in order: an up backend not held down, an up one held down, a
 * down one.
 *
 * When no backend is up each is still tried, down ones last, rather than the
 * client refused: it has completed its handshake, and a refusal is certain
 * failure, whereas the checks lag the truth (a backend back up is marked so
 * only after rise x interval) and can be wrong (a backend that drops only
 * the probes). A backend that is really down refuses or times out as it
 * would have. Pure logic: callers pass the time and the mask. One pool per
 * worker thread; not thread-safe.
 */
#ifndef SYNGUARD_BACKEND_H
#define SYNGUARD_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define BACKEND_HOLD_DOWN_MS 2000

/* backend_pick records tried backends in a 64-bit set. */
_Static_assert(CONFIG_MAX_BACKENDS <= 64, "backend_pick's tried set holds 64 backends");

struct backend_pool;

/* A pool over cfg->backends (copied; cfg may go away), with one reference.
 * NULL on ENOMEM. */
struct backend_pool *backend_pool_new(const struct config *cfg);

/* Another reference (a connection keeps the pool it started with across a
 * reload); returns `pool`. */
struct backend_pool *backend_pool_hold(struct backend_pool *pool);

/* Drops a reference; the last frees. NULL is ignored. */
void backend_pool_free(struct backend_pool *pool);

size_t backend_count(const struct backend_pool *pool);
const struct config_backend *backend_get(const struct backend_pool *pool, size_t idx);

/* Index of the backend for one connect attempt at time `now_ms`, or -1 when
 * every backend was tried. `tried` is the connection's own record of the
 * backends it already tried (bit i stands for backend i; start at 0): the
 * pick is never one of them, and is added to it. So the first call is the
 * round-robin choice and each further call is the failover, one backend at a
 * time, held-down backends last and those not in `up_mask` (bit i: backend
 * i is up by its active checks) after them. */
long backend_pick(struct backend_pool *pool, uint64_t now_ms, uint64_t *tried, uint64_t up_mask);

/* Report the outcome of a connect to backend `idx`. Returns true when this
 * changed the backend's health (it went down, or came back up), so the caller
 * can log the transition once rather than every failed connect. */
bool backend_report(struct backend_pool *pool, size_t idx, bool ok, uint64_t now_ms);

#endif
