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

/* How late a backend comes in the failover: 0 up and not held down, 1 up
 * but held down, 2 down by its active checks. */
static int backend_rank(const struct backend *b, uint64_t now_ms, bool up)
{
	if (!up)
		return 2;
	return backend_held_down(b, now_ms) ? 1 : 0;
}

long backend_pick(struct backend_pool *pool, uint64_t now_ms, uint64_t *tried, uint64_t up_mask)
{
	struct backend *best = NULL;
	int rank[CONFIG_MAX_BACKENDS];
	int first = 3; /* the best rank among the untried */
	long total = 0;

	for (size_t i = 0; i < pool->n; i++) {
		rank[i] = backend_rank(&pool->b[i], now_ms, (up_mask >> i) & 1);
		if (!(*tried & (UINT64_C(1) << i)) && rank[i] < first)
			first = rank[i];
	}

	/* nginx's smooth WRR over the candidates: each gains its weight, the
	 * richest wins and pays the round's total. The candidates are the
	 * untried backends of the best rank left. */
	for (size_t i = 0; i < pool->n; i++) {
		struct backend *b = &pool->b[i];

		if ((*tried & (UINT64_C(1) << i)) || rank[i] != first)
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
