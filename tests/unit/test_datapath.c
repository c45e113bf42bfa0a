/* datapath: which path the config and the kernel's facts give, and where
 * "auto" falls back to when a path fails to open. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "config.h"
#include "datapath.h"

static const struct datapath_facts can = {
	.kfunc = true, .syncookies = 1, .timestamps = 1, .sack = 1, .window_scaling = 1
};

static struct config cfg_of(enum config_datapath d, enum config_mode m)
{
	struct config cfg;

	config_defaults(&cfg);
	cfg.datapath = d;
	cfg.mode = m;
	return cfg;
}

/* The plan for (d, m, f): its return code, and the first path and reason. */
static int plan(enum config_datapath d, enum config_mode m, const struct datapath_facts *f,
                enum datapath_kind *k, char *why)
{
	struct config cfg = cfg_of(d, m);

	*k = (enum datapath_kind) - 1;
	return datapath_plan(&cfg, f, k, why, 256);
}

static void test_named_paths(void **state)
{
	struct datapath_facts none = { 0 };
	enum datapath_kind k;
	char why[256];

	(void)state;
	/* ring and xdp are taken as said, whatever the kernel has. */
	assert_int_equal(plan(CONFIG_DATAPATH_RING, CONFIG_MODE_RELAY, &none, &k, why), 0);
	assert_int_equal(k, DATAPATH_RING);
	assert_int_equal(plan(CONFIG_DATAPATH_XDP, CONFIG_MODE_RELAY, &can, &k, why), 0);
	assert_int_equal(k, DATAPATH_XDP);
	assert_int_equal(plan(CONFIG_DATAPATH_KERNEL, CONFIG_MODE_RELAY, &can, &k, why), 0);
	assert_int_equal(k, DATAPATH_KERNEL);
	/* kernel where the kernel cannot: an error naming why. */
	assert_int_equal(plan(CONFIG_DATAPATH_KERNEL, CONFIG_MODE_RELAY, &none, &k, why), -1);
	assert_non_null(strstr(why, "bpf_sk_assign_tcp_reqsk"));
}

/* auto takes the kernel path only when every fact allows it, else xdp. */
static void test_auto(void **state)
{
	enum datapath_kind k;
	char why[256];
	struct {
		struct datapath_facts f;
		const char *why;
	} blocked[] = {
		{ { .kfunc = false, .syncookies = 1, .timestamps = 1, .sack = 1, .window_scaling = 1 },
		  "bpf_sk_assign_tcp_reqsk" },
		{ { .kfunc = true, .syncookies = 0, .timestamps = 1, .sack = 1, .window_scaling = 1 },
		  "tcp_syncookies" },
		{ { .kfunc = true, .syncookies = -1, .timestamps = 1, .sack = 1, .window_scaling = 1 },
		  "tcp_syncookies" },
		{ { .kfunc = true, .syncookies = 2, .timestamps = 0, .sack = 1, .window_scaling = 1 },
		  "tcp_timestamps" },
		{ { .kfunc = true, .syncookies = 2, .timestamps = 1, .sack = 0, .window_scaling = 1 },
		  "tcp_sack" },
		{ { .kfunc = true, .syncookies = 2, .timestamps = 1, .sack = 1, .window_scaling = 0 },
		  "tcp_window_scaling" },
	};

	(void)state;
	assert_int_equal(plan(CONFIG_DATAPATH_AUTO, CONFIG_MODE_RELAY, &can, &k, why), 0);
	assert_int_equal(k, DATAPATH_KERNEL);
	for (size_t i = 0; i < sizeof(blocked) / sizeof(blocked[0]); i++) {
		assert_int_equal(plan(CONFIG_DATAPATH_AUTO, CONFIG_MODE_RELAY, &blocked[i].f, &k, why), 0);
		assert_int_equal(k, DATAPATH_XDP);
		if (!strstr(why, blocked[i].why))
			fail_msg("case %zu: \"%s\" does not name %s", i, why, blocked[i].why);
		/* Protect mode has no other path: the same facts are an error. */
		assert_int_equal(plan(CONFIG_DATAPATH_AUTO, CONFIG_MODE_PROTECT, &blocked[i].f, &k, why), -1);
		assert_non_null(strstr(why, "protect"));
		assert_non_null(strstr(why, blocked[i].why));
	}
	/* Unreadable option sysctls (-1) do not block it: the kernel's defaults are on. */
	struct datapath_facts unknown = can;
	unknown.timestamps = unknown.sack = unknown.window_scaling = -1;
	assert_int_equal(plan(CONFIG_DATAPATH_AUTO, CONFIG_MODE_RELAY, &unknown, &k, why), 0);
	assert_int_equal(k, DATAPATH_KERNEL);
}

static void test_fallback(void **state)
{
	struct config cfg = cfg_of(CONFIG_DATAPATH_AUTO, CONFIG_MODE_RELAY);
	enum datapath_kind next;

	(void)state;
	assert_true(datapath_fallback(&cfg, DATAPATH_KERNEL, &next));
	assert_int_equal(next, DATAPATH_XDP);
	assert_true(datapath_fallback(&cfg, DATAPATH_XDP, &next));
	assert_int_equal(next, DATAPATH_RING);
	assert_false(datapath_fallback(&cfg, DATAPATH_RING, &next));
	/* A named path, or protect mode, fails where it fails. */
	cfg = cfg_of(CONFIG_DATAPATH_KERNEL, CONFIG_MODE_RELAY);
	assert_false(datapath_fallback(&cfg, DATAPATH_KERNEL, &next));
	cfg = cfg_of(CONFIG_DATAPATH_XDP, CONFIG_MODE_RELAY);
	assert_false(datapath_fallback(&cfg, DATAPATH_XDP, &next));
	cfg = cfg_of(CONFIG_DATAPATH_AUTO, CONFIG_MODE_PROTECT);
	assert_false(datapath_fallback(&cfg, DATAPATH_KERNEL, &next));
	assert_string_equal(datapath_name(DATAPATH_KERNEL), "kernel");
	assert_string_equal(datapath_name(DATAPATH_XDP), "xdp");
	assert_string_equal(datapath_name(DATAPATH_RING), "ring");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_named_paths),
		cmocka_unit_test(test_auto),
		cmocka_unit_test(test_fallback),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
