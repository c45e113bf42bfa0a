/* report: flood detection from counter deltas, and its bookkeeping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "report.h"

static uint64_t now[STAT_COUNT];

static void advance(enum stats_id id, uint64_t per_second)
{
	now[id] += per_second * REPORT_INTERVAL_S;
}

static void test_quiet_is_no_flood(void **state)
{
	struct report r;

	(void)state;
	memset(now, 0, sizeof(now));
	report_init(&r, now);
	advance(STAT_syn_received, REPORT_FLOOD_RATE); /* exactly the threshold: not above */
	report_tick(&r, now);
	assert_false(r.flood);
	assert_int_equal(r.flood_ticks, 0);
}

static void test_syn_flood_starts_and_ends(void **state)
{
	struct report r;

	(void)state;
	memset(now, 0, sizeof(now));
	now[STAT_syn_received] = 5; /* counters need not start at zero */
	report_init(&r, now);
	advance(STAT_syn_received, 50000);
	report_tick(&r, now);
	assert_true(r.flood);
	advance(STAT_syn_received, 70000);
	report_tick(&r, now);
	assert_true(r.flood);
	assert_int_equal(r.flood_ticks, 2);
	assert_int_equal(r.flood_syns, (50000 + 70000) * REPORT_INTERVAL_S);
	report_tick(&r, now); /* nothing new: over */
	assert_false(r.flood);
	assert_int_equal(r.flood_ticks, 0);
	assert_int_equal(r.flood_syns, 0);
}

static void test_busy_is_not_a_flood(void **state)
{
	struct report r;

	(void)state;
	memset(now, 0, sizeof(now));
	report_init(&r, now);
	/* 5000 clients a second, every one completing its handshake. */
	advance(STAT_syn_received, 5000);
	advance(STAT_ack_valid, 5000);
	report_tick(&r, now);
	assert_false(r.flood);
	/* The same plus 2000 SYNs a second that never complete: a flood. */
	advance(STAT_syn_received, 7000);
	advance(STAT_ack_valid, 5000);
	report_tick(&r, now);
	assert_true(r.flood);
}

static void test_ack_flood_counts_bad_and_expired(void **state)
{
	struct report r;

	(void)state;
	memset(now, 0, sizeof(now));
	report_init(&r, now);
	advance(STAT_ack_bad_cookie, REPORT_FLOOD_RATE / 2);
	advance(STAT_ack_expired, REPORT_FLOOD_RATE / 2 + 1);
	report_tick(&r, now);
	assert_true(r.flood);
	assert_int_equal(r.flood_bad_acks, (REPORT_FLOOD_RATE + 1) * REPORT_INTERVAL_S);
	assert_int_equal(r.flood_syns, 0);
}

static void test_status_line(void **state)
{
	struct report r;
	char buf[160];

	(void)state;
	memset(now, 0, sizeof(now));
	report_init(&r, now);
	advance(STAT_syn_received, 20);
	advance(STAT_ack_valid, 20);
	report_tick(&r, now);
	assert_string_equal(report_status(&r, 2, "kernel", 12, buf, sizeof(buf)),
	                    "protecting 2 endpoint(s), data path kernel, 12 conns, no flood");
	advance(STAT_syn_received, 93456);
	advance(STAT_ack_bad_cookie, 1200);
	report_tick(&r, now);
	assert_string_equal(
	        report_status(&r, 1, "ring", 0, buf, sizeof(buf)),
	        "protecting 1 endpoint(s), data path ring, 0 conns, flood: 93k SYN/s, 1200 bad ACK/s");
	advance(STAT_syn_received, 12345678);
	report_tick(&r, now);
	assert_string_equal(
	        report_status(&r, 1, "xdp", 3, buf, sizeof(buf)),
	        "protecting 1 endpoint(s), data path xdp, 3 conns, flood: 12M SYN/s, 0 bad ACK/s");
	/* Truncated, never overrun. */
	assert_string_equal(report_status(&r, 1, "xdp", 3, buf, 11), "protecting");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_line),
		cmocka_unit_test(test_quiet_is_no_flood),
		cmocka_unit_test(test_syn_flood_starts_and_ends),
		cmocka_unit_test(test_busy_is_not_a_flood),
		cmocka_unit_test(test_ack_flood_counts_bad_and_expired),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
