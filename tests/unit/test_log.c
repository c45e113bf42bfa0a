/* log: a line's prefix, time-stamped or with the journal's priority, and
 * how $JOURNAL_STREAM is matched against stderr. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <string.h>

#include "log.h"

static void test_prefix(void **state)
{
	const struct timespec t = { 1796180645, 678901234 }; /* 2026-12-02T03:04:05.678901234Z */
	char buf[64];

	(void)state;
	assert_int_equal(log_prefix(buf, sizeof(buf), LOG_ERROR, true, &t), 19);
	assert_string_equal(buf, "<3>synguard[error] ");
	log_prefix(buf, sizeof(buf), LOG_WARN, true, &t);
	assert_string_equal(buf, "<4>synguard[warn] ");
	log_prefix(buf, sizeof(buf), LOG_INFO, true, &t);
	assert_string_equal(buf, "<6>synguard[info] ");
	log_prefix(buf, sizeof(buf), LOG_DEBUG, true, &t);
	assert_string_equal(buf, "<7>synguard[debug] ");
	log_prefix(buf, sizeof(buf), LOG_INFO, false, &t);
	assert_string_equal(buf, "2026-12-02T03:04:05.678Z synguard[info] ");
}

static void test_is_journal(void **state)
{
	(void)state;
	assert_true(log_is_journal("8:12345", 8, 12345));
	assert_false(log_is_journal("8:12345", 8, 12346));
	assert_false(log_is_journal("9:12345", 8, 12345));
	assert_false(log_is_journal(NULL, 8, 12345));
	assert_false(log_is_journal("", 8, 12345));
	assert_false(log_is_journal("8:12345x", 8, 12345));
	assert_false(log_is_journal("8", 8, 12345));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prefix),
		cmocka_unit_test(test_is_journal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
