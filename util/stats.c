#include "stats.h"

#include <string.h>

static const char *const stats_names[STAT_COUNT] = {
#define STATS_NAME(name, help) #name,
	STATS_COUNTERS(STATS_NAME)
#undef STATS_NAME
};

static const char *const stats_helps[STAT_COUNT] = {
#define STATS_HELP(name, help) help,
	STATS_COUNTERS(STATS_HELP)
#undef STATS_HELP
};

const char *stats_name(enum stats_id id)
{
	return stats_names[id];
}

const char *stats_help(enum stats_id id)
{
	return stats_helps[id];
}

int stats_is_gauge(enum stats_id id)
{
	return strncmp(stats_helps[id], "gauge:", 6) == 0;
}

void stats_sum(uint64_t out[STAT_COUNT], struct stats *const *all, size_t n)
{
	memset(out, 0, sizeof(uint64_t) * STAT_COUNT);
	for (size_t w = 0; w < n; w++)
		for (size_t i = 0; i < STAT_COUNT; i++)
			out[i] += atomic_load_explicit(&all[w]->v[i], memory_order_relaxed);
}
