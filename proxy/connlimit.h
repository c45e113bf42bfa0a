/* connlimit — max_connections, counted over all workers together.
 *
 * One per daemon, shared by every worker's relay: a slot is taken before a
 * connection is adopted or accepted and given back when it ends. The limit
 * can be lowered or raised at any time (SIGHUP); connections already open
 * above a lowered limit run on, and no new one is taken until they fall
 * below it. Lock-free; any thread.
 */
#ifndef SYNGUARD_CONNLIMIT_H
#define SYNGUARD_CONNLIMIT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

struct connlimit {
	_Atomic size_t open;
	_Atomic size_t max;
};

static inline void connlimit_init(struct connlimit *l, size_t max)
{
	atomic_init(&l->open, 0);
	atomic_init(&l->max, max);
}

static inline void connlimit_set_max(struct connlimit *l, size_t max)
{
	atomic_store_explicit(&l->max, max, memory_order_relaxed);
}

/* A slot, or false when `max` are open. */
static inline bool connlimit_take(struct connlimit *l)
{
	size_t n = atomic_load_explicit(&l->open, memory_order_relaxed);

	do {
		if (n >= atomic_load_explicit(&l->max, memory_order_relaxed))
			return false;
	} while (!atomic_compare_exchange_weak_explicit(&l->open, &n, n + 1, memory_order_relaxed,
	                                                memory_order_relaxed));
	return true;
}

static inline void connlimit_give(struct connlimit *l)
{
	atomic_fetch_sub_explicit(&l->open, 1, memory_order_relaxed);
}

static inline size_t connlimit_open(struct connlimit *l)
{
	return atomic_load_explicit(&l->open, memory_order_relaxed);
}

#endif
