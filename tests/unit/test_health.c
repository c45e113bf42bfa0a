/* health: the rise/fall state machine, real probes on loopback (a listener
 * is up, a closed port goes down and comes back), and the metrics, which
 * promtool must accept. */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "health.h"

static void test_fsm_fall_and_rise(void **state)
{
	struct health_fsm f = { .up = true };

	(void)state;
	/* Two failures, a success: the streak starts over. */
	assert_int_equal(health_fsm_result(&f, false, 2, 3), HEALTH_SAME);
	assert_int_equal(health_fsm_result(&f, false, 2, 3), HEALTH_SAME);
	assert_int_equal(health_fsm_result(&f, true, 2, 3), HEALTH_SAME);
	assert_true(f.up);
	assert_int_equal(health_fsm_result(&f, false, 2, 3), HEALTH_SAME);
	assert_int_equal(health_fsm_result(&f, false, 2, 3), HEALTH_SAME);
	assert_int_equal(health_fsm_result(&f, false, 2, 3), HEALTH_WENT_DOWN);
	assert_false(f.up);
	/* Once: more failures change nothing. */
	assert_int_equal(health_fsm_result(&f, false, 2, 3), HEALTH_SAME);
	assert_int_equal(health_fsm_result(&f, true, 2, 3), HEALTH_SAME);
	assert_int_equal(health_fsm_result(&f, false, 2, 3), HEALTH_SAME);
	assert_int_equal(health_fsm_result(&f, true, 2, 3), HEALTH_SAME);
	assert_int_equal(health_fsm_result(&f, true, 2, 3), HEALTH_WENT_UP);
	assert_true(f.up);
	assert_int_equal(health_fsm_result(&f, true, 2, 3), HEALTH_SAME);
}

static void test_fsm_one(void **state)
{
	struct health_fsm f = { .up = true };

	(void)state;
	assert_int_equal(health_fsm_result(&f, true, 1, 1), HEALTH_SAME);
	assert_int_equal(health_fsm_result(&f, false, 1, 1), HEALTH_WENT_DOWN);
	assert_int_equal(health_fsm_result(&f, true, 1, 1), HEALTH_WENT_UP);
}

/* A loopback listener on `port` (0: any); its fd, the port in *port. */
static int listen_on(uint16_t *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(*port) };
	socklen_t len = sizeof(sin);
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 64), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

static void add_backend(struct config *cfg, uint16_t port)
{
	char text[32];

	snprintf(text, sizeof(text), "127.0.0.1:%u", port);
	assert_int_equal(config_parse_endpoint(text, &cfg->backends[cfg->n_backends].ep), 0);
	cfg->backends[cfg->n_backends++].weight = 1;
}

static void run_ms(struct event_base *base, unsigned ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

static bool metrics_have(struct health *h, const char *line)
{
	static char buf[8192];

	health_format_metrics(h, buf, sizeof(buf));
	return strstr(buf, line) != NULL;
}

static void test_probes(void **state)
{
	static struct config cfg;
	struct event_base *base = event_base_new();
	uint16_t up_port = 0, down_port = 0;
	int up_fd = listen_on(&up_port), down_fd = listen_on(&down_port);
	char err[128], why[64] = "", line[128];
	struct health *h;

	(void)state;
	/* A closed port: connects are refused. */
	close(down_fd);
	config_defaults(&cfg);
	cfg.health.interval_ms = 100;
	cfg.health.timeout_ms = 50;
	cfg.health.rise = 2;
	cfg.health.fall = 2;
	add_backend(&cfg, up_port);
	add_backend(&cfg, down_port);
	h = health_new(base, &cfg, err, sizeof(err));
	assert_non_null(h);
	/* Both up at start, before any probe. */
	assert_int_equal(health_up_mask(h), 3);

	/* Two failures take at most 2 x 110 ms after the first probe, which
	 * comes within 100 ms. */
	run_ms(base, 500);
	assert_int_equal(health_up_mask(h), 1);
	assert_true(health_healthy(h, why, sizeof(why)));
	snprintf(line, sizeof(line), "synguard_backend_up{backend=\"127.0.0.1:%u\"} 0\n", down_port);
	assert_true(metrics_have(h, line));
	snprintf(line, sizeof(line), "synguard_backend_up{backend=\"127.0.0.1:%u\"} 1\n", up_port);
	assert_true(metrics_have(h, line));
	snprintf(line, sizeof(line), "synguard_backend_check_failures_total{backend=\"127.0.0.1:%u\"} 0\n",
	         up_port);
	assert_true(metrics_have(h, line));

	/* Back: up after two successes. */
	down_fd = listen_on(&down_port);
	run_ms(base, 500);
	assert_int_equal(health_up_mask(h), 3);

	/* None up: /health says so. */
	close(up_fd);
	close(down_fd);
	run_ms(base, 500);
	assert_int_equal(health_up_mask(h), 0);
	assert_false(health_healthy(h, why, sizeof(why)));
	assert_string_equal(why, "no backend is up");

	/* Stopped: no more probes; the state stays readable. */
	health_stop(h);
	up_fd = listen_on(&up_port);
	run_ms(base, 300);
	assert_int_equal(health_up_mask(h), 0);
	close(up_fd);
	health_unref(h);
	event_base_free(base);
}

/* A reload's checks start where the running ones are for the backends they
 * share: a backend down stays down, counts go on; a new one starts up. */
static void test_carry_over(void **state)
{
	static struct config cfg, next;
	struct event_base *base = event_base_new();
	uint16_t up_port = 0, down_port = 0, new_port = 0;
	int up_fd = listen_on(&up_port), down_fd = listen_on(&down_port), new_fd = listen_on(&new_port);
	char err[128], line[160];
	struct health *h, *h2;

	(void)state;
	close(down_fd);
	config_defaults(&cfg);
	cfg.health.interval_ms = 100;
	cfg.health.timeout_ms = 50;
	cfg.health.fall = 2;
	add_backend(&cfg, up_port);
	add_backend(&cfg, down_port);
	h = health_new(base, &cfg, err, sizeof(err));
	assert_non_null(h);
	run_ms(base, 500);
	assert_int_equal(health_up_mask(h), 1);

	/* The reload lists them the other way round, and a third. */
	next = cfg;
	next.health.enabled = false; /* no probe moves what is checked here */
	next.n_backends = 0;
	add_backend(&next, down_port);
	add_backend(&next, up_port);
	add_backend(&next, new_port);
	h2 = health_new(base, &next, err, sizeof(err));
	assert_non_null(h2);
	health_carry_over(h2, h);
	assert_int_equal(health_up_mask(h2), 6);
	snprintf(line, sizeof(line), "synguard_backend_check_failures_total{backend=\"127.0.0.1:%u\"} 0\n",
	         down_port);
	assert_false(metrics_have(h2, line)); /* its failures came along */
	health_stop(h);
	health_unref(h);
	health_unref(h2);
	close(up_fd);
	close(new_fd);
	event_base_free(base);
}

/* Checks disabled: nothing probed (a closed port stays up), the passive
 * counters still kept. */
static struct health *disabled_health(struct event_base *base, struct config *cfg)
{
	char err[128];
	struct health *h;

	config_defaults(cfg);
	cfg->health.enabled = false;
	add_backend(cfg, 1);
	assert_int_equal(config_parse_endpoint("[2001:db8::1]:8080", &cfg->backends[1].ep), 0);
	cfg->n_backends = 2;
	h = health_new(base, cfg, err, sizeof(err));
	assert_non_null(h);
	return h;
}

static void test_disabled_and_counters(void **state)
{
	static struct config cfg;
	struct event_base *base = event_base_new();
	struct health *h = disabled_health(base, &cfg);
	char why[64];

	(void)state;
	run_ms(base, 300);
	assert_int_equal(health_up_mask(h), 3);
	assert_true(health_healthy(h, why, sizeof(why)));
	health_conn_opened(h, 1);
	health_conn_opened(h, 1);
	health_conn_closed(h, 1);
	health_connect_failed(h, 0);
	assert_true(metrics_have(h, "synguard_backend_connections{backend=\"[2001:db8::1]:8080\"} 1\n"));
	assert_true(metrics_have(h, "synguard_backend_connect_failures_total{backend=\"127.0.0.1:1\"} 1\n"));
	assert_true(metrics_have(
	        h, "synguard_backend_connect_failures_total{backend=\"[2001:db8::1]:8080\"} 0\n"));
	/* A second holder keeps it past the first unref. */
	health_ref(h);
	health_stop(h);
	health_unref(h);
	assert_int_equal(health_up_mask(h), 3);
	health_unref(h);
	event_base_free(base);
}

/* promtool reads the text from stdin and must find nothing wrong. */
static void test_metrics_promtool(void **state)
{
	static struct config cfg;
	struct event_base *base = event_base_new();
	struct health *h = disabled_health(base, &cfg);
	char buf[8192];
	size_t len = health_format_metrics(h, buf, sizeof(buf));
	FILE *p;

	(void)state;
	if (access("/usr/bin/promtool", X_OK) != 0)
		skip();
	assert_true(len > 0 && len < sizeof(buf));
	p = popen("/usr/bin/promtool check metrics", "w");
	assert_non_null(p);
	assert_int_equal(fwrite(buf, 1, len, p), len);
	assert_int_equal(pclose(p), 0);
	health_unref(h);
	event_base_free(base);
}

/* Too small a buffer: whole series only, and what is written ends a line. */
static void test_metrics_truncated(void **state)
{
	static struct config cfg;
	struct event_base *base = event_base_new();
	struct health *h = disabled_health(base, &cfg);
	char full[8192], part[300];
	size_t n_full = health_format_metrics(h, full, sizeof(full));
	size_t n = health_format_metrics(h, part, sizeof(part));

	(void)state;
	assert_true(n > 0 && n < sizeof(part));
	assert_int_equal(part[n - 1], '\n');
	assert_memory_equal(part, full, n);
	assert_true(n < n_full);
	/* It ends where a series ends: the next line in the full text is a HELP. */
	assert_memory_equal(full + n, "# HELP ", 7);
	assert_int_equal(health_format_metrics(h, part, 10), 0);
	health_unref(h);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fsm_fall_and_rise),
		cmocka_unit_test(test_fsm_one),
		cmocka_unit_test(test_probes),
		cmocka_unit_test(test_carry_over),
		cmocka_unit_test(test_disabled_and_counters),
		cmocka_unit_test(test_metrics_promtool),
		cmocka_unit_test(test_metrics_truncated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
