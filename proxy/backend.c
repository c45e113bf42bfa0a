#include "backend.h"

#include <stdlib.h>

struct backend {
	struct config_backend cfg;
	long current;        /* smooth weighted round-robin credit */
	bool failed;         /* last reported connect failed */
	uint64_t down_until; /* skipped until then (ms) unless nothing else is left */
};

struct backend_pool {
	unsigned refs; /* one thread's: not atomic */
	size_t n;
	struct backend b[];
};

struct backend_pool *backend_pool_new(const struct config *cfg)
{
	struct backend_pool *pool;

	pool = calloc(1, sizeof(*pool) + cfg->n_backends * sizeof(pool->b[0]));
	if (pool == NULL)
		return NULL;
	pool->refs = 1;
	pool->n = cfg->n_backends;
	for (size_t i = 0; i < pool->n; i++)
		pool->b[i].cfg = cfg->backends[i];
	return pool;
}

struct backend_pool *backend_pool_hold(struct backend_pool *pool)
{
	pool->refs++;
	return pool;
}

void backend_pool_free(struct backend_pool *pool)
{
	if (pool && --pool->refs == 0)
		free(pool);
}

size_t backend_count(const struct backend_pool *pool)
{
	return pool->n;
}

const struct config_backend *backend_get(const struct backend_pool *pool, size_t idx)
{
	return &pool->b[idx].cfg;
}

static bool backend_held_down(const struct backend *b, uint64_t now_ms)
{
	return b->failed && now_ms < b->down_until;
}

long backend_pick(struct backend_pool *pool, uint64_t now_ms, uint64_t *tried)
{
	struct backend *best = NULL;
	bool any_up = false;
	long total = 0;

	for (size_t i = 0; i < pool->n; i++)
		if (!(*tried & (UINT64_C(1) << i)) && !backend_held_down(&pool->b[i], now_ms))
			any_up = true;

	/* nginx's smooth WRR over the candidates: each gains its weight, the
	 * richest wins and pays the round's total. Held-down backends are
	 * candidates only once no healthy untried one is left. */
	for (size_t i = 0; i < pool->n; i++) {
		struct backend *b = &pool->b[i];

		if (*tried & (UINT64_C(1) << i))
			continue;
		if (any_up && backend_held_down(b, now_ms))
			continue;
		b->current += (long)b->cfg.weight;
		total += (long)b->cfg.weight;
		if (best == NULL || b->current > best->current)
			best = b;
	}
	if (best == NULL)
		return -1;
	best->current -= total;
	*tried |= UINT64_C(1) << (best - pool->b);
	return best - pool->b;
}

bool backend_report(struct backend_pool *pool, size_t idx, bool ok, uint64_t now_ms)
{
	struct backend *b = &pool->b[idx];
	bool changed = b->failed == ok;

	b->failed = !ok;
	if (!ok)
		b->down_until = now_ms + BACKEND_HOLD_DOWN_MS;
	return changed;
}
