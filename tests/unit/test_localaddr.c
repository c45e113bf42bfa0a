/* localaddr: the set of this host's addresses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "localaddr.h"

static struct localaddr_entry entry(const char *text)
{
	struct localaddr_entry e = { .family = strchr(text, ':') ? AF_INET6 : AF_INET };

	assert_int_equal(inet_pton(e.family, text, e.addr), 1);
	return e;
}

static bool has(const struct localaddr *la, const char *text)
{
	struct localaddr_entry e = entry(text);

	return localaddr_has(la, e.family, e.addr);
}

static void test_set_and_lookup(void **state)
{
	struct localaddr_entry v[] = { entry("10.77.0.1"), entry("fd00::1"), entry("10.77.9.1"),
		                       entry("10.77.0.1") };
	struct localaddr *la = localaddr_new();

	(void)state;
	assert_non_null(la);
	assert_false(has(la, "10.77.0.1")); /* empty */
	assert_int_equal(localaddr_set(la, v, 4), 1);
	assert_int_equal(localaddr_count(la), 3); /* the duplicate once */
	assert_true(has(la, "10.77.0.1"));
	assert_true(has(la, "10.77.9.1"));
	assert_true(has(la, "fd00::1"));
	assert_false(has(la, "10.77.0.255")); /* a broadcast is not ours */
	assert_false(has(la, "10.77.0.2"));
	assert_false(has(la, "fd00::2"));
	/* The same bytes in the other family are another address. */
	struct localaddr_entry v4 = entry("10.77.0.1");
	assert_false(localaddr_has(la, AF_INET6, v4.addr));
	/* Unchanged in another order: 0; changed: 1; emptied: 1. */
	struct localaddr_entry w[] = { entry("10.77.9.1"), entry("10.77.0.1"), entry("fd00::1") };
	assert_int_equal(localaddr_set(la, w, 3), 0);
	assert_int_equal(localaddr_set(la, w, 2), 1);
	assert_false(has(la, "fd00::1"));
	assert_int_equal(localaddr_set(la, NULL, 0), 1);
	assert_int_equal(localaddr_count(la), 0);
	localaddr_free(la);
}

/* The machine's own interfaces: loopback is always there. */
static void test_refresh(void **state)
{
	struct localaddr *la = localaddr_new();

	(void)state;
	assert_int_equal(localaddr_refresh(la), 1);
	assert_true(has(la, "127.0.0.1"));
	assert_false(has(la, "192.0.2.77")); /* TEST-NET-1: never assigned here */
	assert_int_equal(localaddr_refresh(la), 0);
	for (size_t i = 0; i < localaddr_count(la); i++)
		assert_true(localaddr_at(la, i)->family == AF_INET ||
		            localaddr_at(la, i)->family == AF_INET6);
	localaddr_free(la);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_and_lookup),
		cmocka_unit_test(test_refresh),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
