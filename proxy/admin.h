/* admin — the HTTP endpoint operators and monitoring read.
 *
 *   GET /metrics  Prometheus text: every counter of stats.h, summed over workers
 *   GET /health   "ok" while the daemon runs
 *
 * Served by evhttp on the main thread's event loop; it only reads counters.
 */
#ifndef SYNGUARD_ADMIN_H
#define SYNGUARD_ADMIN_H

#include <stddef.h>

#include "config.h"
#include "stats.h"

struct event_base;
struct admin;

/* Listen on `ep`. `all` holds `n` workers' stats (borrowed). NULL with a
 * message in `err`. */
struct admin *admin_new(struct event_base *base, const struct config_endpoint *ep,
			struct stats *const *all, size_t n, char *err, size_t errlen);
void admin_free(struct admin *a);

/* The /metrics body for `values` into `buf`. Returns its length (truncated
 * to cap - 1 if needed). Pure, for tests. */
size_t admin_format_metrics(const uint64_t values[STAT_COUNT], char *buf, size_t cap);

#endif
