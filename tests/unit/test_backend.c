/* backend: smooth weighted round-robin, failover order, passive hold-down,
 * the active checks' up mask. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "backend.h"

#define ALL_UP UINT64_MAX

static struct backend_pool *pool_with_weights(const unsigned *weights, size_t n)
{
	static struct config cfg;

	memset(&cfg, 0, sizeof(cfg));
	for (size_t i = 0; i < n; i++)
		cfg.backends[i].weight = weights[i];
	cfg.n_backends = n;
	return backend_pool_new(&cfg);
}

/* A first attempt, as a new connection makes it. */
static long pick_first(struct backend_pool *pool, uint64_t now)
{
	uint64_t tried = 0;

	return backend_pick(pool, now, &tried, ALL_UP);
}

static void test_weighted_interleaved(void **state)
{
	static const unsigned w[] = { 5, 1, 1 };
	/* nginx's documented sequence for weights {5, 1, 1}. */
	static const long expect[] = { 0, 0, 1, 0, 2, 0, 0 };
	struct backend_pool *pool = pool_with_weights(w, 3);
	size_t count[3] = { 0 };

	(void)state;
	assert_non_null(pool);
	assert_int_equal(backend_count(pool), 3);
	for (int round = 0; round < 100; round++)
		for (size_t i = 0; i < 7; i++) {
			long b = pick_first(pool, 0);

			assert_int_equal(b, expect[i]);
			count[b]++;
		}
	assert_int_equal(count[0], 500);
	assert_int_equal(count[1], 100);
	assert_int_equal(count[2], 100);
	backend_pool_free(pool);
}

static void test_failover_each_once(void **state)
{
	static const unsigned w[] = { 3, 1, 2, 1 };
	struct backend_pool *pool = pool_with_weights(w, 4);
	uint64_t tried = 0;
	int seen[4] = { 0 };

	(void)state;
	for (int i = 0; i < 4; i++) {
		long b = backend_pick(pool, 0, &tried, ALL_UP);

		assert_in_range(b, 0, 3);
		seen[b]++;
	}
	assert_int_equal(tried, 0xf);
	assert_int_equal(backend_pick(pool, 0, &tried, ALL_UP), -1);
	for (int i = 0; i < 4; i++)
		assert_int_equal(seen[i], 1);
	backend_pool_free(pool);
}

static void test_no_backends(void **state)
{
	struct backend_pool *pool = pool_with_weights(NULL, 0);

	(void)state;
	assert_non_null(pool);
	assert_int_equal(pick_first(pool, 0), -1);
	backend_pool_free(pool);
}

static void test_hold_down_skipped(void **state)
{
	static const unsigned w[] = { 1, 1, 1 };
	struct backend_pool *pool = pool_with_weights(w, 3);
	uint64_t tried = 0;

	(void)state;
	assert_true(backend_report(pool, 1, false, 1000));
	/* Reported again while down: no new transition to log. */
	assert_false(backend_report(pool, 1, false, 1000));
	for (int i = 0; i < 30; i++)
		assert_int_not_equal(pick_first(pool, 1000 + BACKEND_HOLD_DOWN_MS - 1), 1);
	/* In failover, a held-down backend still comes: last. */
	assert_int_not_equal(backend_pick(pool, 1500, &tried, ALL_UP), 1);
	assert_int_not_equal(backend_pick(pool, 1500, &tried, ALL_UP), 1);
	assert_int_equal(backend_pick(pool, 1500, &tried, ALL_UP), 1);
	assert_int_equal(backend_pick(pool, 1500, &tried, ALL_UP), -1);
	backend_pool_free(pool);
}

static void test_all_held_down_tried_anyway(void **state)
{
	static const unsigned w[] = { 2, 1 };
	struct backend_pool *pool = pool_with_weights(w, 2);
	uint64_t tried = 0;

	(void)state;
	backend_report(pool, 0, false, 0);
	backend_report(pool, 1, false, 0);
	assert_int_equal(backend_pick(pool, 10, &tried, ALL_UP), 0);
	assert_int_equal(backend_pick(pool, 10, &tried, ALL_UP), 1);
	assert_int_equal(backend_pick(pool, 10, &tried, ALL_UP), -1);
	backend_pool_free(pool);
}

static void test_recovery(void **state)
{
	static const unsigned w[] = { 1, 1 };
	struct backend_pool *pool = pool_with_weights(w, 2);
	int picked = 0;

	(void)state;
	backend_report(pool, 0, false, 5000);
	for (int i = 0; i < 10; i++)
		assert_int_equal(pick_first(pool, 5000 + BACKEND_HOLD_DOWN_MS - 1), 1);
	/* Hold-down over: it is offered again, and its success is news. */
	for (int i = 0; i < 10; i++)
		picked += pick_first(pool, 5000 + BACKEND_HOLD_DOWN_MS) == 0;
	assert_int_equal(picked, 5);
	assert_true(backend_report(pool, 0, true, 7000));
	assert_false(backend_report(pool, 0, true, 7001));
	/* A failure after the hold-down ran out starts a new one. */
	assert_true(backend_report(pool, 0, false, 8000));
	assert_int_equal(pick_first(pool, 8001), 1);
	backend_pool_free(pool);
}

/* Down by the active checks: never picked while another is left, after
 * the held-down ones in failover. */
static void test_checked_down_last(void **state)
{
	static const unsigned w[] = { 1, 5, 1 };
	struct backend_pool *pool = pool_with_weights(w, 3);
	const uint64_t up = 0x5; /* backend 1 down */
	uint64_t tried;

	(void)state;
	for (int i = 0; i < 60; i++) {
		tried = 0;
		assert_int_not_equal(backend_pick(pool, 0, &tried, up), 1);
	}
	backend_report(pool, 0, false, 100);
	tried = 0;
	assert_int_equal(backend_pick(pool, 200, &tried, up), 2);
	assert_int_equal(backend_pick(pool, 200, &tried, up), 0);
	assert_int_equal(backend_pick(pool, 200, &tried, up), 1);
	assert_int_equal(backend_pick(pool, 200, &tried, up), -1);
	backend_pool_free(pool);
}

/* None up: each is still tried, by weight, rather than the client refused. */
static void test_none_up_tried_anyway(void **state)
{
	static const unsigned w[] = { 2, 1 };
	struct backend_pool *pool = pool_with_weights(w, 2);
	size_t count[2] = { 0 };
	uint64_t tried = 0;

	(void)state;
	for (int i = 0; i < 30; i++) {
		tried = 0;
		count[backend_pick(pool, 0, &tried, 0)]++;
	}
	assert_int_equal(count[0], 20);
	assert_int_equal(count[1], 10);
	tried = 0;
	assert_in_range(backend_pick(pool, 0, &tried, 0), 0, 1);
	assert_in_range(backend_pick(pool, 0, &tried, 0), 0, 1);
	assert_int_equal(tried, 3);
	assert_int_equal(backend_pick(pool, 0, &tried, 0), -1);
	backend_pool_free(pool);
}

static void test_copies_config(void **state)
{
	struct config cfg;
	struct backend_pool *pool;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.backends[0].weight = 1;
	cfg.backends[0].proxy_protocol = CONFIG_PROXY_V2;
	cfg.n_backends = 1;
	pool = backend_pool_new(&cfg);
	memset(&cfg, 0xff, sizeof(cfg));
	assert_int_equal(backend_get(pool, 0)->proxy_protocol, CONFIG_PROXY_V2);
	assert_int_equal(backend_get(pool, 0)->weight, 1);
	backend_pool_free(pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_weighted_interleaved),
		cmocka_unit_test(test_failover_each_once),
		cmocka_unit_test(test_no_backends),
		cmocka_unit_test(test_hold_down_skipped),
		cmocka_unit_test(test_all_held_down_tried_anyway),
		cmocka_unit_test(test_recovery),
		cmocka_unit_test(test_checked_down_last),
		cmocka_unit_test(test_none_up_tried_anyway),
		cmocka_unit_test(test_copies_config),
	};

	return cmocka_run_group_tests_name("backend", tests, NULL, NULL);
}
