/* Unit tests for topview: reading /metrics text (the daemon's own, from
 * admin_format_metrics, and per-backend series as health.c names them),
 * rates from two samples and the screen's lines.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "stats.h"
#include "topview.h"

static struct topview_sample a, b;
static char screen[16384];

static void parse_ok(const char *text, double t, struct topview_sample *s)
{
	assert_int_equal(topview_parse(text, strlen(text), t, s), TOPVIEW_PARSED);
}

/* The screen's line that starts with `label`, NUL-terminated in `out`. */
static const char *line_of(const char *text, const char *label, char *out, size_t len)
{
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		if (strncmp(p, label, strlen(label)) == 0) {
			snprintf(out, len, "%.*s", (int)n, p);
			return out;
		}
		p += n + (nl != NULL);
	}
	fail_msg("no line '%s' in:\n%s", label, text);
	return NULL;
}

/* The line of the screen that starts with `label` is `want`. */
static void expect_line(const char *label, const char *want)
{
	char line[256];

	assert_string_equal(line_of(screen, label, line, sizeof line), want);
}

/* The daemon's own /metrics: every value top shows is read by its name. */
static void test_parse_daemon_metrics(void **state)
{
	uint64_t v[STAT_COUNT] = { 0 };
	static char text[ADMIN_METRICS_MAX];

	(void)state;
	v[STAT_syn_received] = 1000;
	v[STAT_synack_sent] = 990;
	v[STAT_ack_valid] = 500;
	v[STAT_ack_bad_cookie] = 7;
	v[STAT_ack_expired] = 3;
	v[STAT_adopted] = 480;
	v[STAT_accepted] = 20;
	v[STAT_conn_active] = 12;
	v[STAT_flood] = 1;
	v[STAT_datapath] = 2;
	admin_format_metrics(v, "kernel", "relay", NULL, text, sizeof text);
	parse_ok(text, 5.0, &a);
	assert_true(a.t == 5.0);
	assert_true(a.v[TOPVIEW_SYN] == 1000 && a.v[TOPVIEW_SYNACK] == 990);
	assert_true(a.v[TOPVIEW_ACK_VALID] == 500 && a.v[TOPVIEW_ACK_BAD] == 7 &&
	            a.v[TOPVIEW_ACK_EXPIRED] == 3);
	assert_true(a.v[TOPVIEW_ADOPTED] == 480 && a.v[TOPVIEW_ACCEPTED] == 20);
	assert_true(a.v[TOPVIEW_CONN_ACTIVE] == 12 && a.v[TOPVIEW_FLOOD] == 1 && a.v[TOPVIEW_DATAPATH] == 2);
	assert_string_equal(a.version, SYNGUARD_VERSION);
	assert_string_equal(a.datapath, "kernel");
	assert_string_equal(a.mode, "relay");
	assert_int_equal(a.n_backends, 0);
}

static const char backends_text[] =
        "# HELP synguard_backend_up 1 while the backend passes its checks\n"
        "# TYPE synguard_backend_up gauge\n"
        "synguard_backend_up{backend=\"10.0.0.2:80\"} 1\r\n"
        "synguard_backend_up{backend=\"[2001:db8::1]:8080\"} 0\n"
        "synguard_backend_connections{backend=\"10.0.0.2:80\"} 17\n"
        "synguard_backend_connect_failures_total{backend=\"10.0.0.2:80\"} 4\n"
        "synguard_backend_connect_failures_total{backend=\"[2001:db8::1]:8080\"} 90\n"
        "synguard_backend_check_seconds{backend=\"10.0.0.2:80\"} 0.00042\n"
        "synguard_backend_check_seconds{weight=\"3\",backend=\"a\\\"b\\\\c\"} 2.5\n"
        "synguard_backend_new_series{backend=\"10.0.0.2:80\"} 1\n"
        "synguard_backend_up 1\n"                  /* no backend label: skipped */
        "synguard_backend_up{backend=\"x\" 1\n"    /* no closing brace */
        "synguard_backend_up{backend=\"y\"} one\n" /* no number */
        "synguard_conn_active 1e3\n"
        "other_metric{backend=\"10.0.0.9:1\"} 1\n";

/* Backends by their label, in order of appearance; escapes and other labels;
 * anything malformed or unknown skipped; absent values NAN. */
static void test_parse_backends(void **state)
{
	(void)state;
	parse_ok(backends_text, 1.0, &a);
	assert_int_equal(a.n_backends, 3);
	assert_string_equal(a.backends[0].name, "10.0.0.2:80");
	assert_true(a.backends[0].up == 1 && a.backends[0].connections == 17 && a.backends[0].failures == 4);
	assert_true(a.backends[0].check_s == 0.00042);
	assert_string_equal(a.backends[1].name, "[2001:db8::1]:8080");
	assert_true(a.backends[1].up == 0 && a.backends[1].failures == 90);
	assert_true(isnan(a.backends[1].connections) && isnan(a.backends[1].check_s));
	assert_string_equal(a.backends[2].name, "a\"b\\c");
	assert_true(a.backends[2].check_s == 2.5 && isnan(a.backends[2].up));
	assert_true(a.v[TOPVIEW_CONN_ACTIVE] == 1000);
	/* What the text does not have. */
	assert_true(isnan(a.v[TOPVIEW_SYN]) && isnan(a.v[TOPVIEW_FLOOD]));
	assert_string_equal(a.datapath, "");
	assert_int_equal(a.backends_over, 0);
}

/* More backends than are kept: counted, not stored, nothing overwritten. */
static void test_parse_backends_bound(void **state)
{
	static char text[32768];
	size_t off = 0;

	(void)state;
	for (int i = 0; i < TOPVIEW_MAX_BACKENDS + 5; i++)
		off += (size_t)snprintf(text + off, sizeof text - off,
		                        "synguard_backend_up{backend=\"10.0.%d.%d:80\"} 1\n"
		                        "synguard_backend_connections{backend=\"10.0.%d.%d:80\"} %d\n",
		                        i / 256, i % 256, i / 256, i % 256, i);
	parse_ok(text, 0, &a);
	assert_int_equal(a.n_backends, TOPVIEW_MAX_BACKENDS);
	assert_int_equal(a.backends_over, 5);
	assert_string_equal(a.backends[TOPVIEW_MAX_BACKENDS - 1].name, "10.0.0.63:80");
	assert_true(a.backends[TOPVIEW_MAX_BACKENDS - 1].connections == 63);
	topview_format(NULL, &a, "x", screen, sizeof screen);
	assert_non_null(strstr(screen, "\n(5 more not shown)\n"));
}

/* Not a synguard: another exporter, an HTML page, nothing. */
static void test_parse_not_synguard(void **state)
{
	(void)state;
	const char *texts[] = { "", "# HELP x y\n# TYPE x gauge\nx 1\n", "<html>synguard_flood 1</html>\n",
		                "synguard_flood\n", "synguard_flood 1 2 3\n" };
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
		if (topview_parse(texts[i], strlen(texts[i]), 0, &a) != TOPVIEW_NOT_SYNGUARD)
			fail_msg("'%s' taken for a synguard's", texts[i]);
	/* A timestamp after the value is allowed by the format. */
	parse_ok("synguard_flood 0 1700000000000\n", 0, &a);
	assert_true(a.v[TOPVIEW_FLOOD] == 0);
	/* Only len bytes are read. */
	assert_int_equal(topview_parse("synguard_flood 1\n", 5, 0, &a), TOPVIEW_NOT_SYNGUARD);
}

/* Rates over the time between samples; adoptions are adopted + accepted. */
static void test_format_rates(void **state)
{
	static char first[4096];

	(void)state;
	snprintf(first, sizeof first, "%s%s",
	         "synguard_build_info{version=\"1.2\",datapath=\"xdp\",mode=\"protect\"} 1\n"
	         "synguard_syn_received_total 1000\nsynguard_synack_sent_total 1000\n"
	         "synguard_ack_valid_total 10\nsynguard_ack_bad_cookie_total 0\n"
	         "synguard_adopted_total 10\nsynguard_accepted_total 5\nsynguard_conn_active 3\n"
	         "synguard_flood 0\n",
	         backends_text);
	parse_ok(first, 10.0, &a);
	parse_ok("synguard_build_info{version=\"1.2\",datapath=\"xdp\",mode=\"protect\"} 1\n"
	         "synguard_syn_received_total 5000\nsynguard_synack_sent_total 4999\n"
	         "synguard_ack_valid_total 11\nsynguard_ack_bad_cookie_total 300\n"
	         "synguard_adopted_total 20\nsynguard_accepted_total 6\nsynguard_conn_active 4\n"
	         "synguard_flood 1\n"
	         "synguard_backend_up{backend=\"10.0.0.2:80\"} 0\n"
	         "synguard_backend_connect_failures_total{backend=\"10.0.0.2:80\"} 10\n",
	         12.0, &b);
	size_t len = topview_format(&a, &b, "127.0.0.1:9100", screen, sizeof screen);
	assert_int_equal(len, strlen(screen));
	assert_int_equal(screen[len - 1], '\n');
	expect_line("synguard ", "synguard 1.2 at 127.0.0.1:9100: data path xdp, mode protect, UNDER FLOOD");
	expect_line("SYNs ", "SYNs                         2000             5000");
	expect_line("SYN-ACKs", "SYN-ACKs                     2000             4999");
	expect_line("ACKs valid", "ACKs valid                    0.5               11");
	expect_line("ACKs bad cookie", "ACKs bad cookie               150              300");
	/* Absent in both: "-". */
	expect_line("ACKs expired", "ACKs expired                    -                -");
	expect_line("adoptions", "adoptions                     5.5               26");
	expect_line("connections open", "connections open                                 4");
	expect_line("backends:", "backends: 0 up, 1 down");
	/* 6 connect failures in 2 s; the probe time gone since. */
	expect_line("10.0.0.2:80",
	            "10.0.0.2:80                               DOWN           -          3         -");

	/* The first frame has no rates; a counter that went back (a restart) none either. */
	topview_format(NULL, &b, "h", screen, sizeof screen);
	expect_line("SYNs ", "SYNs                            -             5000");
	topview_format(&b, &a, "h", screen, sizeof screen);
	expect_line("SYNs ", "SYNs                            -             1000");
	expect_line("synguard ", "synguard 1.2 at h: data path xdp, mode protect, no flood");
	/* Per backend: the probe in ms, an unknown state "-". */
	expect_line("10.0.0.2:80",
	            "10.0.0.2:80                                 up          17          -       0.4");
	expect_line("a\"b\\c",
	            "a\"b\\c                                        -           -          -      2500");
}

/* Without build info (an older daemon): the numeric data path; nothing at all: "-". */
static void test_format_fallbacks(void **state)
{
	(void)state;
	parse_ok("synguard_datapath 1\n", 0, &a);
	topview_format(NULL, &a, "h", screen, sizeof screen);
	expect_line("synguard ", "synguard - at h: data path xdp, mode -, flood state -");
	expect_line("backends:", "backends: -");
	parse_ok("synguard_datapath 7\n", 0, &a);
	topview_format(NULL, &a, "h", screen, sizeof screen);
	assert_non_null(strstr(screen, "data path -,"));
}

/* Any cap: whole lines only, a prefix of the full screen, nothing past cap. */
static void test_format_bound(void **state)
{
	static char full[16384], buf[16384 + 16];

	(void)state;
	parse_ok(backends_text, 0, &a);
	parse_ok(backends_text, 1, &b);
	size_t len = topview_format(&a, &b, "127.0.0.1:9100", full, sizeof full);
	for (size_t cap = 1; cap <= len + 1; cap++) {
		memset(buf, 0x5a, cap + 16);
		size_t got = topview_format(&a, &b, "127.0.0.1:9100", buf, cap);
		if (got >= cap || strlen(buf) != got || memcmp(buf, full, got) != 0 ||
		    (got > 0 && buf[got - 1] != '\n'))
			fail_msg("cap %zu: %zu bytes, not whole lines of the full screen", cap, got);
		for (size_t i = cap; i < cap + 16; i++)
			if (buf[i] != 0x5a)
				fail_msg("cap %zu: byte %zu written", cap, i);
	}
	assert_int_equal(topview_format(&a, &b, "x", buf, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_daemon_metrics), cmocka_unit_test(test_parse_backends),
		cmocka_unit_test(test_parse_backends_bound), cmocka_unit_test(test_parse_not_synguard),
		cmocka_unit_test(test_format_rates),         cmocka_unit_test(test_format_fallbacks),
		cmocka_unit_test(test_format_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
