/* Unit tests for stats and admin: the counter table, summing over workers,
 * the Prometheus text of /metrics (checked by a small parser of the text
 * exposition format), and the HTTP endpoint for real on 127.0.0.1, its event
 * loop stepped by the test while it plays the client.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "admin.h"
#include "config.h"
#include "stats.h"

#define GUARD 0xA5

/* ---- stats ---- */

static void test_stats_names(void **state)
{
	(void)state;
	assert_true(STAT_COUNT > 0);
	for (int i = 0; i < STAT_COUNT; i++) {
		const char *n = stats_name((enum stats_id)i);
		const char *h = stats_help((enum stats_id)i);

		assert_non_null(n);
		assert_non_null(h);
		/* lower_snake_case: [a-z][a-z0-9]*(_[a-z0-9]+)* */
		assert_true(n[0] >= 'a' && n[0] <= 'z');
		for (const char *p = n; *p; p++) {
			bool ok = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_';
			if (!ok)
				fail_msg("stat %d name '%s': bad character '%c'", i, n, *p);
			if (*p == '_' && (p[1] == '_' || p[1] == '\0'))
				fail_msg("stat %d name '%s': empty word", i, n);
		}
		/* Help is one non-empty line (Prometheus HELP escaping not needed). */
		assert_true(strlen(h) > 0);
		assert_null(strchr(h, '\n'));
		assert_null(strchr(h, '\\'));
		for (int j = 0; j < i; j++)
			if (strcmp(n, stats_name((enum stats_id)j)) == 0)
				fail_msg("stats %d and %d are both named '%s'", j, i, n);
	}
	/* The enum and the names agree. */
	assert_string_equal(stats_name(STAT_rx_frames), "rx_frames");
	assert_string_equal(stats_name(STAT_conn_active), "conn_active");
	assert_string_equal(stats_name(STAT_ack_bad_cookie), "ack_bad_cookie");
	assert_string_equal(stats_name((enum stats_id)(STAT_COUNT - 1)), "conn_active");
}

static void test_stats_gauge(void **state)
{
	(void)state;
	for (int i = 0; i < STAT_COUNT; i++) {
		bool want = i == STAT_conn_active;
		if ((stats_is_gauge((enum stats_id)i) != 0) != want)
			fail_msg("stats_is_gauge(%s) is %d", stats_name((enum stats_id)i),
				 stats_is_gauge((enum stats_id)i));
	}
}

static void test_stats_sum(void **state)
{
	static struct stats w[3];
	struct stats *const all[3] = { &w[0], &w[1], &w[2] };
	uint64_t out[STAT_COUNT];

	(void)state;
	memset(w, 0, sizeof w);
	for (int i = 0; i < STAT_COUNT; i++) {
		stats_add(&w[0], (enum stats_id)i, (uint64_t)i);
		stats_add(&w[1], (enum stats_id)i, 1000u * (uint64_t)i);
		stats_add(&w[2], (enum stats_id)i, 1000000u * (uint64_t)i);
	}
	stats_inc(&w[1], STAT_adopted);
	stats_inc(&w[1], STAT_adopted);
	stats_dec(&w[2], STAT_conn_active);
	/* Large values do not wrap in the sum. */
	stats_add(&w[0], STAT_bytes_backend_to_client, (uint64_t)1 << 40);
	stats_add(&w[2], STAT_bytes_backend_to_client, (uint64_t)1 << 40);

	memset(out, 0xff, sizeof out); /* the sum must not start from garbage */
	stats_sum(out, all, 3);
	for (int i = 0; i < STAT_COUNT; i++) {
		uint64_t want = 1001001u * (uint64_t)i;
		if (i == STAT_adopted)
			want += 2;
		if (i == STAT_conn_active)
			want -= 1;
		if (i == STAT_bytes_backend_to_client)
			want += (uint64_t)1 << 41;
		if (out[i] != want)
			fail_msg("%s: sum %" PRIu64 ", want %" PRIu64, stats_name((enum stats_id)i), out[i], want);
	}

	/* A subset sums only that subset. */
	stats_sum(out, all + 1, 1);
	assert_int_equal(out[STAT_syn_received], 1000u * STAT_syn_received);
	assert_int_equal(out[STAT_adopted], 1000u * STAT_adopted + 2);

	/* No workers: all zero. */
	memset(out, 0xff, sizeof out);
	stats_sum(out, all, 0);
	for (int i = 0; i < STAT_COUNT; i++)
		assert_int_equal(out[i], 0);
}

/* ---- Prometheus text ---- */

struct metric {
	char name[128];
	char help[256];
	char type[16];
	uint64_t value;
	bool has_help, has_type, has_value;
};

static bool metric_name_ok(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
		if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
			return false;
	}
	return true;
}

static struct metric *metric_get(struct metric *m, size_t *n, size_t max, const char *name, size_t len)
{
	for (size_t i = 0; i < *n; i++)
		if (strlen(m[i].name) == len && memcmp(m[i].name, name, len) == 0)
			return &m[i];
	if (*n == max || len >= sizeof m->name)
		return NULL;
	memset(&m[*n], 0, sizeof m[*n]);
	memcpy(m[*n].name, name, len);
	return &m[(*n)++];
}

/* Parses Prometheus text format 0.0.4 as far as /metrics uses it: HELP and
 * TYPE comments and unlabelled samples with integer values. Enforces: every
 * line ends in \n; at most one HELP and TYPE per name, both before its
 * sample; one sample per name; types counter or gauge. Returns the number
 * of metrics, or -1 with the reason in `why`. */
static int prom_parse(const char *text, struct metric *m, size_t max, char *why, size_t whylen)
{
	size_t n = 0;
	int lineno = 0;

	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		lineno++;
		if (!nl) {
			snprintf(why, whylen, "line %d has no newline", lineno);
			return -1;
		}
		size_t len = (size_t)(nl - p);
		char line[512];
		if (len >= sizeof line) {
			snprintf(why, whylen, "line %d too long", lineno);
			return -1;
		}
		memcpy(line, p, len);
		line[len] = '\0';
		p = nl + 1;

		if (strncmp(line, "# HELP ", 7) == 0 || strncmp(line, "# TYPE ", 7) == 0) {
			bool help = line[2] == 'H';
			const char *name = line + 7, *sp = strchr(name, ' ');
			if (!sp || !metric_name_ok(name, (size_t)(sp - name))) {
				snprintf(why, whylen, "line %d: bad metric name: %.100s", lineno, line);
				return -1;
			}
			struct metric *x = metric_get(m, &n, max, name, (size_t)(sp - name));
			if (!x) {
				snprintf(why, whylen, "line %d: too many metrics", lineno);
				return -1;
			}
			if (x->has_value) {
				snprintf(why, whylen, "line %d: %s after the sample", lineno, help ? "HELP" : "TYPE");
				return -1;
			}
			if (help) {
				if (x->has_help || x->has_type) {
					snprintf(why, whylen, "line %d: HELP repeated or after TYPE", lineno);
					return -1;
				}
				snprintf(x->help, sizeof x->help, "%s", sp + 1);
				x->has_help = true;
			} else {
				if (x->has_type || (strcmp(sp + 1, "counter") != 0 && strcmp(sp + 1, "gauge") != 0)) {
					snprintf(why, whylen, "line %d: bad or repeated TYPE: %.100s", lineno, line);
					return -1;
				}
				snprintf(x->type, sizeof x->type, "%s", sp + 1);
				x->has_type = true;
			}
		} else if (line[0] == '#' || len == 0) {
			snprintf(why, whylen, "line %d: unexpected comment or blank line: '%.100s'", lineno, line);
			return -1;
		} else {
			const char *sp = strchr(line, ' ');
			if (!sp || !metric_name_ok(line, (size_t)(sp - line))) {
				snprintf(why, whylen, "line %d: bad sample: %.100s", lineno, line);
				return -1;
			}
			const char *v = sp + 1;
			char *end;
			if (*v < '0' || *v > '9') {
				snprintf(why, whylen, "line %d: bad value: %.100s", lineno, line);
				return -1;
			}
			errno = 0;
			unsigned long long val = strtoull(v, &end, 10);
			if (errno || *end != '\0') {
				snprintf(why, whylen, "line %d: bad value: %.100s", lineno, line);
				return -1;
			}
			struct metric *x = metric_get(m, &n, max, line, (size_t)(sp - line));
			if (!x || x->has_value) {
				snprintf(why, whylen, "line %d: repeated sample or too many metrics", lineno);
				return -1;
			}
			x->value = val;
			x->has_value = true;
		}
	}
	return (int)n;
}

/* The checker itself rejects what it should. */
static void test_prom_checker(void **state)
{
	struct metric m[4];
	char why[256];

	(void)state;
	assert_int_equal(prom_parse("# HELP a_b x y\n# TYPE a_b counter\na_b 12\n", m, 4, why, sizeof why), 1);
	assert_int_equal(m[0].value, 12);
	assert_string_equal(m[0].help, "x y");
	assert_int_equal(prom_parse("a 1", m, 4, why, sizeof why), -1);                      /* no newline */
	assert_int_equal(prom_parse("a 1\na 2\n", m, 4, why, sizeof why), -1);               /* repeated */
	assert_int_equal(prom_parse("a 1\n# TYPE a counter\n", m, 4, why, sizeof why), -1);  /* TYPE late */
	assert_int_equal(prom_parse("# TYPE a histogram\n", m, 4, why, sizeof why), -1);    /* type */
	assert_int_equal(prom_parse("9a 1\n", m, 4, why, sizeof why), -1);                   /* name */
	assert_int_equal(prom_parse("a x\n", m, 4, why, sizeof why), -1);                    /* value */
	assert_int_equal(prom_parse("a 1x\n", m, 4, why, sizeof why), -1);                   /* value */
	assert_int_equal(prom_parse("a 1\n\n", m, 4, why, sizeof why), -1);                  /* blank */
}

static void distinct_values(uint64_t v[STAT_COUNT])
{
	for (int i = 0; i < STAT_COUNT; i++)
		v[i] = 1000003u * (uint64_t)(i + 1) + 7;
	v[STAT_bytes_client_to_backend] = UINT64_MAX; /* the widest value */
	v[STAT_rx_frames] = 0;
}

/* Checks `body` is the exposition of `v`: every stat, right type, right
 * value, nothing else. */
static void check_exposition(const char *body, const uint64_t v[STAT_COUNT])
{
	struct metric m[STAT_COUNT + 1];
	char why[256];
	int n = prom_parse(body, m, STAT_COUNT + 1, why, sizeof why);

	if (n < 0)
		fail_msg("not Prometheus text: %s", why);
	assert_int_equal(n, STAT_COUNT);
	for (int i = 0; i < STAT_COUNT; i++) {
		char name[128];
		snprintf(name, sizeof name, "synguard_%s", stats_name((enum stats_id)i));
		struct metric *x = NULL;
		for (int j = 0; j < n; j++)
			if (strcmp(m[j].name, name) == 0)
				x = &m[j];
		if (!x)
			fail_msg("%s missing", name);
		if (!x->has_help || !x->has_type || !x->has_value)
			fail_msg("%s: HELP %d TYPE %d sample %d", name, x->has_help, x->has_type, x->has_value);
		assert_string_equal(x->help, stats_help((enum stats_id)i));
		assert_string_equal(x->type, i == STAT_conn_active ? "gauge" : "counter");
		if (x->value != v[i])
			fail_msg("%s = %" PRIu64 ", want %" PRIu64, name, x->value, v[i]);
	}
}

static void test_format_metrics(void **state)
{
	uint64_t v[STAT_COUNT];
	static char buf[16384];

	(void)state;
	distinct_values(v);
	size_t len = admin_format_metrics(v, buf, sizeof buf);
	assert_true(len > 0 && len < sizeof buf);
	assert_int_equal(strlen(buf), len);
	check_exposition(buf, v);
	/* The exact lines for the one gauge and one counter. */
	assert_non_null(strstr(buf, "# TYPE synguard_conn_active gauge\nsynguard_conn_active "));
	assert_non_null(strstr(buf, "\nsynguard_bytes_client_to_backend 18446744073709551615\n"));
	assert_non_null(strstr(buf, "# TYPE synguard_rx_frames counter\nsynguard_rx_frames 0\n"));
	assert_int_equal(strncmp(buf, "# HELP synguard_rx_frames ", 26), 0);

	/* Values are what is passed, not remembered: all zero now. */
	uint64_t z[STAT_COUNT] = { 0 };
	len = admin_format_metrics(z, buf, sizeof buf);
	check_exposition(buf, z);
}

/* Every cap from 1 to the full length + 1: a NUL-terminated prefix of the
 * full text, length < cap, nothing written past cap. */
static void test_format_metrics_truncation(void **state)
{
	uint64_t v[STAT_COUNT];
	static char full[16384], buf[16384 + 64];

	(void)state;
	distinct_values(v);
	size_t len = admin_format_metrics(v, full, sizeof full);
	assert_true(len + 1 < sizeof full);

	for (size_t cap = 1; cap <= len + 1; cap++) {
		memset(buf, GUARD, sizeof buf);
		size_t got = admin_format_metrics(v, buf, cap);
		if (got >= cap)
			fail_msg("cap %zu: returned %zu", cap, got);
		if (buf[got] != '\0' || strlen(buf) != got)
			fail_msg("cap %zu: returned %zu but string is %zu long", cap, got, strnlen(buf, cap));
		if (memcmp(buf, full, got) != 0)
			fail_msg("cap %zu: not a prefix of the full text", cap);
		/* As documented: truncated to cap - 1 when short, whole otherwise. */
		assert_int_equal(got, cap <= len ? cap - 1 : len);
		for (size_t i = cap; i < sizeof buf; i++)
			if ((unsigned char)buf[i] != GUARD)
				fail_msg("cap %zu: byte %zu written past the end", cap, i);
	}
}

/* ---- the HTTP endpoint, for real on 127.0.0.1 ---- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A port that was free a moment ago: bind to 0, read it, close. */
static uint16_t free_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof sin;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	return ntohs(sin.sin_port);
}

static void loopback_ep(struct config_endpoint *ep, uint16_t port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&ep->addr;

	memset(ep, 0, sizeof *ep);
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ep->len = sizeof *sin;
}

struct server {
	struct event_base *base;
	struct admin *admin;
	struct stats w[2];
	struct stats *all[2];
	uint16_t port;
};

static int server_setup(void **state)
{
	struct server *s = calloc(1, sizeof *s);
	struct config_endpoint ep;
	char err[256] = "";

	if (!s || !(s->base = event_base_new()))
		return -1;
	s->all[0] = &s->w[0];
	s->all[1] = &s->w[1];
	/* A free port may be taken between the probe and the bind: try a few. */
	for (int tries = 0; tries < 5 && !s->admin; tries++) {
		s->port = free_port();
		loopback_ep(&ep, s->port);
		s->admin = admin_new(s->base, &ep, s->all, 2, err, sizeof err);
	}
	if (!s->admin) {
		fprintf(stderr, "admin_new: %s\n", err);
		return -1;
	}
	*state = s;
	return 0;
}

static int server_teardown(void **state)
{
	struct server *s = *state;

	admin_free(s->admin);
	event_base_free(s->base);
	free(s);
	return 0;
}

/* Sends `request` to the server and returns the whole response (heap),
 * stepping the server's loop until the server closes the connection. */
static char *http_exchange(struct server *s, const char *request)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(s->port),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	size_t cap = 65536, len = 0, sent = 0, reqlen = strlen(request);
	char *resp = malloc(cap);
	double deadline = now_s() + 5;
	bool eof = false;

	assert_true(fd >= 0);
	assert_non_null(resp);
	if (connect(fd, (struct sockaddr *)&sin, sizeof sin) != 0 && errno != EINPROGRESS)
		fail_msg("connect: %s", strerror(errno));
	while (!eof) {
		if (now_s() > deadline)
			fail_msg("no complete response within 5 s (got %zu bytes)", len);
		event_base_loop(s->base, EVLOOP_NONBLOCK);
		struct pollfd pfd = { .fd = fd, .events = POLLIN | (sent < reqlen ? POLLOUT : 0) };
		if (poll(&pfd, 1, 5) < 0)
			fail_msg("poll: %s", strerror(errno));
		if (sent < reqlen && (pfd.revents & POLLOUT)) {
			ssize_t n = send(fd, request + sent, reqlen - sent, MSG_NOSIGNAL);
			if (n < 0 && errno != EAGAIN)
				fail_msg("send: %s", strerror(errno));
			if (n > 0)
				sent += (size_t)n;
		}
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = recv(fd, resp + len, cap - 1 - len, 0);
			if (n == 0)
				eof = true;
			else if (n < 0 && errno != EAGAIN)
				fail_msg("recv: %s", strerror(errno));
			else if (n > 0)
				len += (size_t)n;
			if (len == cap - 1)
				fail_msg("response too long");
		}
	}
	close(fd);
	resp[len] = '\0';
	return resp;
}

/* Splits a response: returns the status code, sets *body. */
static int http_status(char *resp, char **headers, char **body)
{
	int code = 0;
	char *sep = strstr(resp, "\r\n\r\n");

	if (!sep)
		fail_msg("no end of headers in: %s", resp);
	*sep = '\0';
	*headers = resp;
	*body = sep + 4;
	if (sscanf(resp, "HTTP/1.%*[01] %d ", &code) != 1)
		fail_msg("bad status line: %.60s", resp);
	return code;
}

static void check_get(struct server *s, const char *path, int want_code, const char *want_body)
{
	char req[256], *hdr, *body;

	snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
	char *resp = http_exchange(s, req);
	int code = http_status(resp, &hdr, &body);
	if (code != want_code)
		fail_msg("GET %s: status %d, want %d", path, code, want_code);
	if (want_body)
		assert_string_equal(body, want_body);
	free(resp);
}

static void test_http_health_and_404(void **state)
{
	struct server *s = *state;

	check_get(s, "/health", 200, "ok\n");
	check_get(s, "/nope", 404, NULL);
	check_get(s, "/", 404, NULL);
	check_get(s, "/metricsx", 404, NULL);
	check_get(s, "/health/more", 404, NULL);
	/* Still serving after the 404s. */
	check_get(s, "/health", 200, "ok\n");
}

static void test_http_metrics(void **state)
{
	struct server *s = *state;
	uint64_t want[STAT_COUNT];
	char *hdr, *body;

	/* Two workers, distinct values in each. */
	for (int i = 0; i < STAT_COUNT; i++) {
		stats_add(&s->w[0], (enum stats_id)i, (uint64_t)i + 1);
		stats_add(&s->w[1], (enum stats_id)i, 100u * ((uint64_t)i + 1));
		want[i] = 101u * ((uint64_t)i + 1);
	}
	char *resp = http_exchange(s, "GET /metrics HTTP/1.0\r\n\r\n");
	assert_int_equal(http_status(resp, &hdr, &body), 200);
	assert_non_null(strcasestr(hdr, "\r\nContent-Type: text/plain; version=0.0.4"));
	check_exposition(body, want);
	/* Content-Length, if sent, matches the body. */
	const char *cl = strcasestr(hdr, "\r\nContent-Length:");
	if (cl)
		assert_int_equal(strtoul(cl + 17, NULL, 10), strlen(body));
	free(resp);

	/* Counters are read on every request, not cached. */
	stats_add(&s->w[1], STAT_syn_received, 5000);
	stats_inc(&s->w[0], STAT_conn_active);
	want[STAT_syn_received] += 5000;
	want[STAT_conn_active] += 1;
	resp = http_exchange(s, "GET /metrics?fresh=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	assert_int_equal(http_status(resp, &hdr, &body), 200);
	check_exposition(body, want);
	free(resp);
}

/* A port someone else is listening on cannot be had: NULL and a message
 * naming the endpoint. */
static void test_admin_new_port_in_use(void **state)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof sin;
	struct event_base *base = event_base_new();
	struct config_endpoint ep;
	struct stats w = { 0 };
	struct stats *all[1] = { &w };
	char err[256] = "", want[64];
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	(void)state;
	assert_non_null(base);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	loopback_ep(&ep, ntohs(sin.sin_port));

	assert_null(admin_new(base, &ep, all, 1, err, sizeof err));
	snprintf(want, sizeof want, "cannot listen on 127.0.0.1:%u", ntohs(sin.sin_port));
	if (!strstr(err, want))
		fail_msg("error '%s' does not say '%s'", err, want);
	assert_non_null(strstr(err, strerror(EADDRINUSE)));
	close(fd);
	event_base_free(base);
	admin_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stats_names),
		cmocka_unit_test(test_stats_gauge),
		cmocka_unit_test(test_stats_sum),
		cmocka_unit_test(test_prom_checker),
		cmocka_unit_test(test_format_metrics),
		cmocka_unit_test(test_format_metrics_truncation),
		cmocka_unit_test_setup_teardown(test_http_health_and_404, server_setup, server_teardown),
		cmocka_unit_test_setup_teardown(test_http_metrics, server_setup, server_teardown),
		cmocka_unit_test(test_admin_new_port_in_use),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
