/* Unit tests for privs_resolve(): the `user` setting into a uid and gid, by
 * name (root is in every passwd database), by number with and without a
 * passwd entry, and the refusals. privs_drop() is tested end to end
 * (tests/e2e/10-privileges.sh): it needs root and changes the process.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <pwd.h>
#include <stdio.h>
#include <string.h>

#include "privs.h"

static void test_resolve(void **state)
{
	struct privs_user u;
	char err[128], name[32];
	unsigned free_uid = 4242;

	(void)state;
	assert_int_equal(privs_resolve("root", &u, err, sizeof(err)), 0);
	assert_int_equal(u.uid, 0);
	assert_int_equal(u.gid, 0);
	assert_int_equal(privs_resolve("0", &u, err, sizeof(err)), 0);
	assert_int_equal(u.uid, 0);
	assert_int_equal(u.gid, 0);

	/* A number without a passwd entry: its gid is the same number. */
	while (getpwuid(free_uid))
		free_uid++;
	snprintf(name, sizeof(name), "%u", free_uid);
	assert_int_equal(privs_resolve(name, &u, err, sizeof(err)), 0);
	assert_int_equal(u.uid, free_uid);
	assert_int_equal(u.gid, free_uid);
	assert_int_equal(privs_resolve("4294967294", &u, err, sizeof(err)), 0);
	assert_int_equal(u.uid, 4294967294u);

	assert_int_equal(privs_resolve("sg-no-such-user", &u, err, sizeof(err)), -1);
	assert_string_equal(err, "no such user");
	assert_int_equal(privs_resolve("4294967295", &u, err, sizeof(err)), -1);
	assert_string_equal(err, "not a valid uid (0 to 4294967294)");
	assert_int_equal(privs_resolve("99999999999999999999999", &u, err, sizeof(err)), -1);
	assert_string_equal(err, "not a valid uid (0 to 4294967294)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resolve),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
