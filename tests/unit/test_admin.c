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
	assert_string_equal(stats_name((enum stats_id)(STAT_COUNT - 1)), "datapath");
}

static void test_stats_gauge(void **state)
{
	(void)state;
	for (int i = 0; i < STAT_COUNT; i++) {
		bool want = i == STAT_conn_active || i == STAT_flood || i == STAT_datapath;
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
			fail_msg("%s: sum %" PRIu64 ", want %" PRIu64, stats_name((enum stats_id)i), out[i],
			         want);
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
	char labels[256]; /* of the first sample, braces included; "" if none */
	uint64_t value;   /* of the last sample */
	unsigned samples;
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
 * TYPE comments and samples with integer values, labelled ({...} without
 * spaces) or not. Enforces: every line ends in \n; at most one HELP and TYPE
 * per name, both before its samples; one sample per unlabelled name; types
 * counter or gauge; counters named *_total and gauges not. Returns the
 * number of metrics, or -1 with the reason in `why`. */
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
				snprintf(why, whylen, "line %d: %s after the sample", lineno,
				         help ? "HELP" : "TYPE");
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
				if (x->has_type ||
				    (strcmp(sp + 1, "counter") != 0 && strcmp(sp + 1, "gauge") != 0)) {
					snprintf(why, whylen, "line %d: bad or repeated TYPE: %.100s", lineno,
					         line);
					return -1;
				}
				size_t nlen = strlen(x->name);
				bool total = nlen > 6 && strcmp(x->name + nlen - 6, "_total") == 0;
				if (total != (strcmp(sp + 1, "counter") == 0)) {
					snprintf(why, whylen,
					         "line %d: a counter must end in _total, a gauge not: %.100s",
					         lineno, line);
					return -1;
				}
				snprintf(x->type, sizeof x->type, "%s", sp + 1);
				x->has_type = true;
			}
		} else if (line[0] == '#' || len == 0) {
			snprintf(why, whylen, "line %d: unexpected comment or blank line: '%.100s'", lineno,
			         line);
			return -1;
		} else {
			const char *sp = strchr(line, ' '), *brace = strchr(line, '{');
			const char *name_end = brace && sp && brace < sp ? brace : sp;
			if (!sp || !metric_name_ok(line, (size_t)(name_end - line)) ||
			    (name_end == brace && sp[-1] != '}')) {
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
			struct metric *x = metric_get(m, &n, max, line, (size_t)(name_end - line));
			if (!x || (x->has_value && name_end == sp)) {
				snprintf(why, whylen, "line %d: repeated sample or too many metrics", lineno);
				return -1;
			}
			if (!x->has_value)
				snprintf(x->labels, sizeof x->labels, "%.*s", (int)(sp - name_end), name_end);
			x->value = val;
			x->samples++;
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
	assert_int_equal(
	        prom_parse("# HELP a_total x y\n# TYPE a_total counter\na_total 12\n", m, 4, why, sizeof why),
	        1);
	assert_int_equal(m[0].value, 12);
	assert_string_equal(m[0].help, "x y");
	assert_int_equal(prom_parse("# TYPE g gauge\ng{a=\"1\"} 3\ng{a=\"2\"} 4\n", m, 4, why, sizeof why),
	                 1);
	assert_string_equal(m[0].labels, "{a=\"1\"}");
	assert_int_equal(m[0].samples, 2);
	assert_int_equal(m[0].value, 4);
	assert_int_equal(prom_parse("# TYPE a counter\n", m, 4, why, sizeof why), -1);      /* _total */
	assert_int_equal(prom_parse("# TYPE a_total gauge\n", m, 4, why, sizeof why), -1);  /* _total */
	assert_int_equal(prom_parse("g{a=\"1\" 3\n", m, 4, why, sizeof why), -1);           /* brace */
	assert_int_equal(prom_parse("a 1", m, 4, why, sizeof why), -1);                     /* no newline */
	assert_int_equal(prom_parse("a 1\na 2\n", m, 4, why, sizeof why), -1);              /* repeated */
	assert_int_equal(prom_parse("a 1\n# TYPE a counter\n", m, 4, why, sizeof why), -1); /* TYPE late */
	assert_int_equal(prom_parse("# TYPE a histogram\n", m, 4, why, sizeof why), -1);    /* type */
	assert_int_equal(prom_parse("9a 1\n", m, 4, why, sizeof why), -1);                  /* name */
	assert_int_equal(prom_parse("a x\n", m, 4, why, sizeof why), -1);                   /* value */
	assert_int_equal(prom_parse("a 1x\n", m, 4, why, sizeof why), -1);                  /* value */
	assert_int_equal(prom_parse("a 1\n\n", m, 4, why, sizeof why), -1);                 /* blank */
}

static void distinct_values(uint64_t v[STAT_COUNT])
{
	for (int i = 0; i < STAT_COUNT; i++)
		v[i] = 1000003u * (uint64_t)(i + 1) + 7;
	v[STAT_bytes_client_to_backend] = UINT64_MAX; /* the widest value */
	v[STAT_rx_frames] = 0;
}

/* The full name of stat i: synguard_NAME_total for counters. */
static void stat_metric_name(int i, char *name, size_t len)
{
	enum stats_id id = (enum stats_id)i;

	snprintf(name, len, "synguard_%s%s", stats_name(id), stats_is_gauge(id) ? "" : "_total");
}

/* Checks `body` is the exposition of `v`, build info with `labels`, and
 * `extra` more metrics (a source's): every stat, right type, right value. */
static void check_exposition_of(const char *body, const uint64_t v[STAT_COUNT], const char *labels, int extra)
{
	struct metric m[STAT_COUNT + 8];
	char why[256];
	int n = prom_parse(body, m, STAT_COUNT + 8, why, sizeof why);

	if (n < 0)
		fail_msg("not Prometheus text: %s", why);
	assert_int_equal(n, STAT_COUNT + 1 + extra);
	for (int i = 0; i < STAT_COUNT; i++) {
		char name[128];
		stat_metric_name(i, name, sizeof name);
		struct metric *x = NULL;
		for (int j = 0; j < n; j++)
			if (strcmp(m[j].name, name) == 0)
				x = &m[j];
		if (!x)
			fail_msg("%s missing", name);
		if (!x->has_help || !x->has_type || !x->has_value)
			fail_msg("%s: HELP %d TYPE %d sample %d", name, x->has_help, x->has_type,
			         x->has_value);
		assert_string_equal(x->help, stats_help((enum stats_id)i));
		assert_string_equal(x->type, stats_is_gauge((enum stats_id)i) ? "gauge" : "counter");
		if (x->value != v[i])
			fail_msg("%s = %" PRIu64 ", want %" PRIu64, name, x->value, v[i]);
	}
	/* Right after the stats. */
	struct metric *bi = &m[STAT_COUNT];
	assert_string_equal(bi->name, "synguard_build_info");
	assert_string_equal(bi->type, "gauge");
	assert_true(bi->has_help && bi->samples == 1 && bi->value == 1);
	assert_string_equal(bi->labels, labels);
}

static void check_exposition(const char *body, const uint64_t v[STAT_COUNT])
{
	check_exposition_of(body, v,
	                    "{version=\"" SYNGUARD_VERSION "\",datapath=\"unknown\",mode=\"unknown\"}", 0);
}

#define BUILD_LABELS "{version=\"" SYNGUARD_VERSION "\",datapath=\"xdp\",mode=\"protect\"}"

static void test_format_metrics(void **state)
{
	uint64_t v[STAT_COUNT];
	static char buf[ADMIN_METRICS_MAX];

	(void)state;
	distinct_values(v);
	size_t len = admin_format_metrics(v, "xdp", "protect", NULL, buf, sizeof buf);
	assert_true(len > 0 && len < sizeof buf);
	assert_int_equal(strlen(buf), len);
	check_exposition_of(buf, v, BUILD_LABELS, 0);
	/* The exact lines for a gauge and a counter or two. */
	assert_non_null(strstr(buf, "# TYPE synguard_conn_active gauge\nsynguard_conn_active "));
	assert_non_null(strstr(buf, "# TYPE synguard_flood gauge\nsynguard_flood "));
	assert_non_null(strstr(buf, "\nsynguard_bytes_client_to_backend_total 18446744073709551615\n"));
	assert_non_null(strstr(buf, "# TYPE synguard_rx_frames_total counter\nsynguard_rx_frames_total 0\n"));
	assert_int_equal(strncmp(buf, "# HELP synguard_rx_frames_total ", 32), 0);
	assert_non_null(strstr(buf, "\nsynguard_build_info" BUILD_LABELS " 1\n"));

	/* Values are what is passed, not remembered: all zero now. */
	uint64_t z[STAT_COUNT] = { 0 };
	len = admin_format_metrics(z, "xdp", "protect", NULL, buf, sizeof buf);
	check_exposition_of(buf, z, BUILD_LABELS, 0);
}

/* A source standing in for per-backend series: `n` backends with the
 * longest names there are, each with the widest values in 6 series. */
struct fake_source {
	unsigned backends;
	size_t calls, cap; /* how often called, and the last cap */
	bool healthy;
	const char *why;
};

static const char *const fake_series[6][2] = {
	{ "synguard_backend_up", "gauge" },
	{ "synguard_backend_connections", "gauge" },
	{ "synguard_backend_connect_failures_total", "counter" },
	{ "synguard_backend_check_seconds", "gauge" },
	{ "synguard_backend_probes_total", "counter" },
	{ "synguard_backend_bytes_total", "counter" },
};

static size_t fake_metrics(void *ctx, char *buf, size_t cap)
{
	struct fake_source *f = ctx;
	size_t off = 0;

	f->calls++;
	f->cap = cap;
	for (int s = 0; s < 6; s++) {
		int n = snprintf(buf + off, cap - off,
		                 "# HELP %s per backend: a help text of ordinary length\n"
		                 "# TYPE %s %s\n",
		                 fake_series[s][0], fake_series[s][0], fake_series[s][1]);
		if (n < 0 || (size_t)n >= cap - off)
			return cap - 1; /* as snprintf leaves it: cut, NUL-terminated */
		off += (size_t)n;
		for (unsigned b = 0; b < f->backends; b++) {
			n = snprintf(
			        buf + off, cap - off,
			        "%s{backend=\"[ffff:ffff:ffff:ffff:ffff:ffff:ffff:%04x]:65535\"} %" PRIu64
			        "\n",
			        fake_series[s][0], b, UINT64_MAX);
			if (n < 0 || (size_t)n >= cap - off)
				return cap - 1;
			off += (size_t)n;
		}
	}
	return off;
}

static bool fake_healthy(void *ctx, char *why, size_t whylen)
{
	struct fake_source *f = ctx;

	if (!f->healthy)
		snprintf(why, whylen, "%s", f->why);
	return f->healthy;
}

/* 64 backends x 6 series with the longest names and values fit whole, after
 * the stats and the build info. */
static void test_format_metrics_source_bound(void **state)
{
	struct fake_source f = { .backends = 64 };
	const struct admin_source src = { fake_metrics, fake_healthy, &f };
	uint64_t v[STAT_COUNT];
	static char buf[ADMIN_METRICS_MAX];
	struct metric m[STAT_COUNT + 8];
	char why[256];

	(void)state;
	for (int i = 0; i < STAT_COUNT; i++)
		v[i] = UINT64_MAX;
	size_t len = admin_format_metrics(v, "kernel", "relay", &src, buf, sizeof buf);
	assert_int_equal(f.calls, 1);
	assert_true(len < sizeof buf);
	check_exposition_of(buf, v, "{version=\"" SYNGUARD_VERSION "\",datapath=\"kernel\",mode=\"relay\"}",
	                    6);
	assert_int_equal(prom_parse(buf, m, STAT_COUNT + 8, why, sizeof why), STAT_COUNT + 7);
	for (int s = 0; s < 6; s++) {
		struct metric *x = &m[STAT_COUNT + 1 + s];
		assert_string_equal(x->name, fake_series[s][0]);
		assert_int_equal(x->samples, 64);
	}
	/* The source's series come last, whole. */
	assert_non_null(
	        strstr(buf, "synguard_backend_bytes_total{backend=\"[ffff:ffff:ffff:ffff:ffff:ffff:ffff:003f]"
	                    ":65535\"} 18446744073709551615\n"));
	assert_int_equal(buf[len - 1], '\n');
	printf("/metrics with 64 backends x 6 series: %zu of %d bytes\n", len, ADMIN_METRICS_MAX);
}

/* Every cap from 1 to the full length + 1: the longest prefix of the full
 * text that ends a line and fits (length < cap), NUL-terminated, nothing
 * written past cap; with a source too, whose part may be the one cut. */
static void check_truncation(const struct admin_source *src)
{
	uint64_t v[STAT_COUNT];
	static char full[ADMIN_METRICS_MAX], buf[ADMIN_METRICS_MAX + 64];

	distinct_values(v);
	size_t len = admin_format_metrics(v, "ring", "relay", src, full, sizeof full);
	assert_true(len + 1 < sizeof full);

	for (size_t cap = 1; cap <= len + 1; cap++) {
		memset(buf, GUARD, cap + 64);
		size_t got = admin_format_metrics(v, "ring", "relay", src, buf, cap);
		if (got >= cap)
			fail_msg("cap %zu: returned %zu", cap, got);
		if (buf[got] != '\0' || strlen(buf) != got)
			fail_msg("cap %zu: returned %zu but string is %zu long", cap, got, strnlen(buf, cap));
		if (memcmp(buf, full, got) != 0)
			fail_msg("cap %zu: not a prefix of the full text", cap);
		size_t want = cap - 1 < len ? cap - 1 : len;
		while (want > 0 && full[want - 1] != '\n')
			want--;
		if (got != want)
			fail_msg("cap %zu: returned %zu, want %zu (whole lines)", cap, got, want);
		for (size_t i = cap; i < cap + 64; i++)
			if ((unsigned char)buf[i] != GUARD)
				fail_msg("cap %zu: byte %zu written past the end", cap, i);
	}
}

static void test_format_metrics_truncation(void **state)
{
	struct fake_source f = { .backends = 3 };
	const struct admin_source src = { fake_metrics, NULL, &f };

	(void)state;
	check_truncation(NULL);
	check_truncation(&src);
}

/* ---- the request head parser ---- */

static void check_parse(const char *req, enum admin_request want, bool want_head_only)
{
	bool head_only = !want_head_only;
	enum admin_request got = admin_parse_request(req, strlen(req), &head_only);

	if (got != want || head_only != want_head_only)
		fail_msg("'%s': got %d (HEAD %d), want %d (HEAD %d)", req, got, head_only, want,
		         want_head_only);
}

static void test_parse_request(void **state)
{
	(void)state;
	check_parse("GET /metrics HTTP/1.1\r\n\r\n", ADMIN_REQ_METRICS, false);
	check_parse("GET /metrics?fresh=1 HTTP/1.0\r\nHost: a\r\nAccept: */*\r\n\r\n", ADMIN_REQ_METRICS,
	            false);
	check_parse("HEAD /health HTTP/1.1\r\n\r\n", ADMIN_REQ_HEALTH, true);
	check_parse("GET /health HTTP/1.1\nHost: a\n\n", ADMIN_REQ_HEALTH, false); /* bare LF */
	/* Whatever follows the head (a pipelined request) is not read. */
	check_parse("GET /health HTTP/1.1\r\n\r\nPOST / HTTP/1.1\r\n", ADMIN_REQ_HEALTH, false);

	/* Not yet decided. */
	check_parse("", ADMIN_REQ_INCOMPLETE, false);
	check_parse("GET /metr", ADMIN_REQ_INCOMPLETE, false);
	check_parse("GET /metrics HTTP/1.1\r\nHost: a\r\n", ADMIN_REQ_INCOMPLETE, false);
	check_parse("GET /metrics HTTP/1.1\r\nHost: a\r\n\r", ADMIN_REQ_INCOMPLETE, false);

	check_parse("GET / HTTP/1.1\r\n\r\n", ADMIN_REQ_NOT_FOUND, false);
	check_parse("GET /metricsx HTTP/1.1\r\n\r\n", ADMIN_REQ_NOT_FOUND, false);
	check_parse("HEAD /health/more HTTP/1.1\r\n\r\n", ADMIN_REQ_NOT_FOUND, true);
	check_parse("GET /METRICS HTTP/1.1\r\n\r\n", ADMIN_REQ_NOT_FOUND, false);

	/* Other methods are refused at the request line, before any header. */
	check_parse("POST /metrics HTTP/1.1\r\n", ADMIN_REQ_METHOD, false);
	check_parse("get /metrics HTTP/1.1\r\n", ADMIN_REQ_METHOD, false);
	check_parse("OPTIONS /health HTTP/1.1\r\n", ADMIN_REQ_METHOD, false);

	check_parse("\r\n", ADMIN_REQ_BAD, false);
	check_parse("GET /metrics\r\n\r\n", ADMIN_REQ_BAD, false); /* HTTP/0.9 */
	check_parse("GET /metrics HTTP/2.0\r\n\r\n", ADMIN_REQ_BAD, false);
	check_parse("GET /metrics HTTP/1.\r\n\r\n", ADMIN_REQ_BAD, false);
	check_parse("GET metrics HTTP/1.1\r\n\r\n", ADMIN_REQ_BAD, false);
	check_parse("GET /a b HTTP/1.1\r\n", ADMIN_REQ_BAD, false);
	check_parse("GET  /metrics HTTP/1.1\r\n", ADMIN_REQ_BAD, false);
	check_parse("GET /metrics HTTP/1.1\r\nHost : a\r\n\r\n", ADMIN_REQ_BAD, false);
	check_parse("GET /metrics HTTP/1.1\r\nno colon\r\n\r\n", ADMIN_REQ_BAD, false);
	check_parse("GET /metrics HTTP/1.1\r\n: a\r\n\r\n", ADMIN_REQ_BAD, false);
	check_parse("GET /metrics HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", ADMIN_REQ_BAD, false);
	check_parse("GET /metrics HTTP/1.1\r\nContent-Length: -1\r\n\r\n", ADMIN_REQ_BAD, false);
	check_parse("GET /metrics HTTP/1.1\r\nContent-Length: 1 1\r\n\r\n", ADMIN_REQ_BAD, false);
	check_parse("GET /metrics HTTP/1.1\r\nContent-Length:\r\n\r\n", ADMIN_REQ_BAD, false);

	/* No body: a zero length is no body, anything else is refused. */
	check_parse("GET /metrics HTTP/1.1\r\ncontent-length:  0 \r\n\r\n", ADMIN_REQ_METRICS, false);
	check_parse("GET /metrics HTTP/1.1\r\nContent-Length: 00\r\n\r\n", ADMIN_REQ_METRICS, false);
	check_parse("GET /metrics HTTP/1.1\r\nContent-Length: 5\r\n", ADMIN_REQ_BODY, false);
	check_parse("HEAD /metrics HTTP/1.1\r\nContent-Length: 010\r\n", ADMIN_REQ_BODY, true);
	check_parse("GET /health HTTP/1.1\r\nTransfer-Encoding: chunked\r\n", ADMIN_REQ_BODY, false);
}

/* The head must end within ADMIN_HEAD_MAX bytes, however much is passed. */
static void test_parse_request_bound(void **state)
{
	static char buf[2 * ADMIN_HEAD_MAX];
	const char *start = "GET /metrics HTTP/1.1\r\nX-Long: ";
	bool head_only;

	(void)state;
	memset(buf, 'a', sizeof buf);
	memcpy(buf, start, strlen(start));
	assert_int_equal(admin_parse_request(buf, ADMIN_HEAD_MAX - 1, &head_only), ADMIN_REQ_INCOMPLETE);
	assert_int_equal(admin_parse_request(buf, ADMIN_HEAD_MAX, &head_only), ADMIN_REQ_TOO_LARGE);
	assert_int_equal(admin_parse_request(buf, sizeof buf, &head_only), ADMIN_REQ_TOO_LARGE);

	/* Ending exactly at the bound is fine, one byte beyond is not. */
	memcpy(buf + ADMIN_HEAD_MAX - 4, "\r\n\r\n", 4);
	assert_int_equal(admin_parse_request(buf, sizeof buf, &head_only), ADMIN_REQ_METRICS);
	memset(buf + ADMIN_HEAD_MAX - 4, 'a', 4);
	memcpy(buf + ADMIN_HEAD_MAX - 3, "\r\n\r\n", 4);
	assert_int_equal(admin_parse_request(buf, sizeof buf, &head_only), ADMIN_REQ_TOO_LARGE);

	/* A verdict reached early stands, whatever the length. */
	const char *post = "POST /metrics HTTP/1.1\r\n";
	memcpy(buf, post, strlen(post));
	assert_int_equal(admin_parse_request(buf, sizeof buf, &head_only), ADMIN_REQ_METHOD);
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

/* The initial state, if given, is the deadline in ms (default ADMIN_DEADLINE_MS). */
static int server_setup(void **state)
{
	struct server *s = calloc(1, sizeof *s);
	unsigned deadline_ms = *state ? *(const unsigned *)*state : ADMIN_DEADLINE_MS;
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
		s->admin = admin_new(s->base, &ep, s->all, 2, deadline_ms, err, sizeof err);
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

/* One client connection, the server's loop stepped by the test. */
enum client_end { CLIENT_OPEN, CLIENT_EOF, CLIENT_RESET };

struct client {
	int fd;
	char resp[ADMIN_METRICS_MAX + 1024];
	size_t len;
	enum client_end end;
};

static void client_connect(struct server *s, struct client *c)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
		                   .sin_port = htons(s->port),
		                   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	c->len = 0;
	c->end = CLIENT_OPEN;
	assert_true(c->fd >= 0);
	if (connect(c->fd, (struct sockaddr *)&sin, sizeof sin) != 0 && errno != EINPROGRESS)
		fail_msg("connect: %s", strerror(errno));
}

/* Steps the server once, then sends what of out[0..len) the socket takes and
 * reads what came. Returns the bytes sent. */
static size_t client_step(struct server *s, struct client *c, const char *out, size_t len)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN | (len ? POLLOUT : 0) };
	size_t sent = 0;

	event_base_loop(s->base, EVLOOP_NONBLOCK);
	if (c->end != CLIENT_OPEN)
		return 0;
	if (poll(&pfd, 1, 5) < 0)
		fail_msg("poll: %s", strerror(errno));
	if (len && (pfd.revents & POLLOUT)) {
		ssize_t n = send(c->fd, out, len, MSG_NOSIGNAL);
		if (n > 0)
			sent = (size_t)n;
		else if (n < 0 && (errno == ECONNRESET || errno == EPIPE))
			c->end = CLIENT_RESET;
		else if (n < 0 && errno != EAGAIN)
			fail_msg("send: %s", strerror(errno));
	}
	/* Read even after a reset on send: the response may have come first. */
	if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
		ssize_t n = recv(c->fd, c->resp + c->len, sizeof c->resp - 1 - c->len, 0);
		if (n == 0)
			c->end = CLIENT_EOF;
		else if (n < 0 && errno == ECONNRESET)
			c->end = CLIENT_RESET;
		else if (n < 0 && errno != EAGAIN)
			fail_msg("recv: %s", strerror(errno));
		else if (n > 0)
			c->len += (size_t)n;
		if (c->len == sizeof c->resp - 1)
			fail_msg("response too long");
	}
	c->resp[c->len] = '\0';
	return sent;
}

/* Steps server and client for `secs` or until the client's connection ends. */
static void client_wait(struct server *s, struct client *c, double secs)
{
	double until = now_s() + secs;

	while (c->end == CLIENT_OPEN && now_s() < until)
		client_step(s, c, NULL, 0);
}

/* Sends `request` and returns the whole response (heap), stepping the
 * server's loop until the server closes the connection. */
static char *http_exchange(struct server *s, const char *request)
{
	struct client *c = malloc(sizeof *c);
	size_t sent = 0, reqlen = strlen(request);
	double deadline = now_s() + 5;

	assert_non_null(c);
	client_connect(s, c);
	while (c->end == CLIENT_OPEN) {
		if (now_s() > deadline)
			fail_msg("no complete response within 5 s (got %zu bytes)", c->len);
		sent += client_step(s, c, request + sent, reqlen - sent);
	}
	if (c->end != CLIENT_EOF)
		fail_msg("connection reset after %zu bytes of response", c->len);
	close(c->fd);
	char *resp = strdup(c->resp);
	assert_non_null(resp);
	free(c);
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

/* The Content-Length header's value; fails if there is none. */
static size_t content_length(const char *hdr)
{
	const char *cl = strcasestr(hdr, "\r\nContent-Length:");

	if (!cl)
		fail_msg("no Content-Length in: %s", hdr);
	return strtoul(cl + 17, NULL, 10);
}

/* Sends `request`; checks the status, and the body if `want_body`. */
static void check_request(struct server *s, const char *request, int want_code, const char *want_body)
{
	char *hdr, *body, *resp = http_exchange(s, request);
	int code = http_status(resp, &hdr, &body);

	if (code != want_code)
		fail_msg("%.40s: status %d, want %d", request, code, want_code);
	assert_int_equal(content_length(hdr), strlen(body));
	if (want_body)
		assert_string_equal(body, want_body);
	free(resp);
}

static void check_get(struct server *s, const char *path, int want_code, const char *want_body)
{
	char req[256];

	snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
	check_request(s, req, want_code, want_body);
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
	size_t len = strlen(body);
	assert_int_equal(content_length(hdr), len);
	free(resp);

	/* HEAD: the same headers, no body. */
	resp = http_exchange(s, "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_int_equal(http_status(resp, &hdr, &body), 200);
	assert_int_equal(content_length(hdr), len);
	assert_string_equal(body, "");
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

/* A source's series follow the counters on /metrics; /health is 503 with its
 * reason while it says unhealthy; replaced or removed, it is no longer asked. */
/* The refresh hook runs before the counters are summed: what it stores is
 * in that very answer (the BPF programs' counters are not a second old). */
static void refresh_counter(void *arg)
{
	struct server *s = arg;

	stats_add(&s->w[1], STAT_synack_xdp, 7);
}

static void test_http_refresh(void **state)
{
	struct server *s = *state;
	char *hdr, *body, *resp;

	/* Each answer with the hook counts 7 more; without it, none. */
	static const char *const want[] = { "\nsynguard_synack_xdp_total 7\n",
		                            "\nsynguard_synack_xdp_total 14\n",
		                            "\nsynguard_synack_xdp_total 14\n" };

	admin_set_refresh(s->admin, refresh_counter, s);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (i == 2)
			admin_set_refresh(s->admin, NULL, NULL);
		resp = http_exchange(s, "GET /metrics HTTP/1.0\r\n\r\n");
		assert_int_equal(http_status(resp, &hdr, &body), 200);
		assert_non_null(strstr(body, want[i]));
		free(resp);
	}
}

static void test_http_source(void **state)
{
	struct server *s = *state;
	struct fake_source f = { .backends = 64, .healthy = true },
	                   g = { .backends = 2, .why = "no backend is up" };
	const struct admin_source src = { fake_metrics, fake_healthy, &f },
	                          other = { fake_metrics, fake_healthy, &g };
	uint64_t want[STAT_COUNT] = { 0 };
	char *hdr, *body;

	admin_set_source(s->admin, &src);
	admin_set_build_info(s->admin, "ring", "relay");
	char *resp = http_exchange(s, "GET /metrics HTTP/1.0\r\n\r\n");
	assert_int_equal(http_status(resp, &hdr, &body), 200);
	check_exposition_of(body, want, "{version=\"" SYNGUARD_VERSION "\",datapath=\"ring\",mode=\"relay\"}",
	                    6);
	assert_int_equal(content_length(hdr), strlen(body));
	assert_int_equal(f.calls, 1);
	free(resp);
	check_get(s, "/health", 200, "ok\n");

	f.healthy = false;
	f.why = "all 3 backends down";
	check_get(s, "/health", 503, "all 3 backends down\n");
	resp = http_exchange(s, "HEAD /health HTTP/1.1\r\n\r\n");
	assert_int_equal(http_status(resp, &hdr, &body), 503);
	assert_int_equal(content_length(hdr), strlen("all 3 backends down\n"));
	assert_string_equal(body, "");
	free(resp);

	/* Replaced: the new one answers, the old one is not called. */
	size_t calls = f.calls;
	admin_set_source(s->admin, &other);
	check_get(s, "/health", 503, "no backend is up\n");
	resp = http_exchange(s, "GET /metrics HTTP/1.0\r\n\r\n");
	assert_int_equal(http_status(resp, &hdr, &body), 200);
	check_exposition_of(body, want, "{version=\"" SYNGUARD_VERSION "\",datapath=\"ring\",mode=\"relay\"}",
	                    6);
	free(resp);
	assert_int_equal(f.calls, calls);
	assert_int_equal(g.calls, 1);

	/* None: ok, and the counters alone. */
	admin_set_source(s->admin, NULL);
	check_get(s, "/health", 200, "ok\n");
	resp = http_exchange(s, "GET /metrics HTTP/1.0\r\n\r\n");
	assert_int_equal(http_status(resp, &hdr, &body), 200);
	check_exposition_of(body, want, "{version=\"" SYNGUARD_VERSION "\",datapath=\"ring\",mode=\"relay\"}",
	                    0);
	free(resp);
	assert_int_equal(g.calls, 1);
}

/* Only GET and HEAD, and never a body: requests need none. */
static void test_http_methods_and_bodies(void **state)
{
	struct server *s = *state;

	check_request(s, "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", 413, NULL);
	check_request(s, "GET /health HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
	              413, NULL);
	check_request(s, "POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\na=b", 405, NULL);
	check_request(s, "DELETE /health HTTP/1.1\r\n\r\n", 405, NULL);
	check_request(s, "GET /health\r\n\r\n", 400, NULL);
	/* An empty body is no body. */
	check_request(s, "GET /health HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 200, "ok\n");
}

/* A client that half-closes after its request still gets the response. */
static void test_http_half_close(void **state)
{
	struct server *s = *state;
	static struct client c;
	const char *req = "GET /health HTTP/1.1\r\n\r\n";
	char *hdr, *body;

	client_connect(s, &c);
	for (size_t sent = 0; sent < strlen(req);)
		sent += client_step(s, &c, req + sent, strlen(req) - sent);
	assert_int_equal(shutdown(c.fd, SHUT_WR), 0);
	client_wait(s, &c, 5);
	assert_int_equal(c.end, CLIENT_EOF);
	assert_int_equal(http_status(c.resp, &hdr, &body), 200);
	assert_string_equal(body, "ok\n");
	close(c.fd);
}

static long vm_rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;

	assert_non_null(f);
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	assert_true(kib > 0);
	return kib;
}

/* A header line that never ends: the server reads no more than the bound,
 * says 431 (or just closes) and its memory does not grow with what is sent. */
static void test_http_endless_header(void **state)
{
	struct server *s = *state;
	static struct client c;
	const size_t total = 4u << 20;
	const char *start = "GET /metrics HTTP/1.1\r\nX-Long: ";
	char *req = malloc(total);
	size_t sent = 0;

	assert_non_null(req);
	memset(req, 'a', total);
	memcpy(req, start, strlen(start));
	long before = vm_rss_kib();
	double t0 = now_s();

	client_connect(s, &c);
	while (c.end == CLIENT_OPEN && sent < total && now_s() < t0 + 5)
		sent += client_step(s, &c, req + sent, total - sent);
	long grew = vm_rss_kib() - before;
	if (grew > 1024)
		fail_msg("VmRSS grew by %ld KiB while %zu bytes of one header line were sent", grew, sent);
	client_wait(s, &c, 5);
	if (c.end == CLIENT_OPEN)
		fail_msg("connection still open %.1f s after %zu bytes of one header line", now_s() - t0,
		         sent);
	if (c.len > 0 && strncmp(c.resp, "HTTP/1.1 431 ", 13) != 0)
		fail_msg("response is not 431: %.60s", c.resp);
	close(c.fd);
	free(req);
	check_get(s, "/health", 200, "ok\n");
}

static const unsigned short_deadline_ms = 500;

/* A client trickling a header a byte at a time, never idle long enough for
 * an inactivity timeout, is cut off at the deadline from accept. */
static void test_http_slowloris(void **state)
{
	struct server *s = *state;
	static struct client c;
	const char *start = "GET /metrics HTTP/1.1\r\nX-Slow: ";
	double t0 = now_s(), next = t0;

	client_connect(s, &c);
	for (size_t sent = 0; sent < strlen(start);)
		sent += client_step(s, &c, start + sent, strlen(start) - sent);
	while (c.end == CLIENT_OPEN && now_s() < t0 + 5) {
		bool due = now_s() >= next;
		if (client_step(s, &c, "a", due ? 1 : 0))
			next = now_s() + 0.05;
	}
	double took = now_s() - t0;
	if (c.end == CLIENT_OPEN)
		fail_msg("slow client still connected after %.1f s (deadline %u ms)", took,
		         short_deadline_ms);
	if (took < short_deadline_ms / 1000.0 * 0.8)
		fail_msg("closed after %.3f s, before the %u ms deadline", took, short_deadline_ms);
	assert_int_equal(c.len, 0);
	close(c.fd);
	check_get(s, "/health", 200, "ok\n");
}

/* ADMIN_MAX_CONNS idle connections fill the endpoint: one more is closed at
 * once, unanswered; when one of them goes, /metrics is served again. */
static void test_http_connection_cap(void **state)
{
	struct server *s = *state;
	static struct client held[ADMIN_MAX_CONNS], extra;
	const char *req = "GET /metrics HTTP/1.1\r\n\r\n";
	uint64_t want[STAT_COUNT] = { 0 };
	char *hdr, *body;

	/* One at a time, so the listen backlog never overflows. */
	for (int i = 0; i < ADMIN_MAX_CONNS; i++) {
		client_connect(s, &held[i]);
		client_wait(s, &held[i], 0.02);
	}
	for (int i = 0; i < ADMIN_MAX_CONNS; i++)
		client_wait(s, &held[i], 0.01);
	for (int i = 0; i < ADMIN_MAX_CONNS; i++)
		if (held[i].end != CLIENT_OPEN)
			fail_msg("connection %d of %d closed", i + 1, ADMIN_MAX_CONNS);

	client_connect(s, &extra);
	client_step(s, &extra, req, strlen(req));
	client_wait(s, &extra, 3);
	if (extra.end == CLIENT_OPEN || extra.len != 0)
		fail_msg("connection %d: %s, %zu bytes of response", ADMIN_MAX_CONNS + 1,
		         extra.end == CLIENT_OPEN ? "still open" : "closed", extra.len);
	close(extra.fd);
	for (int i = 0; i < ADMIN_MAX_CONNS; i++)
		assert_int_equal(held[i].end, CLIENT_OPEN);

	/* One slot frees once the server has seen the close. */
	close(held[0].fd);
	for (double until = now_s() + 0.3; now_s() < until;)
		client_wait(s, &held[1], 0.01);
	char *resp = http_exchange(s, req);
	assert_int_equal(http_status(resp, &hdr, &body), 200);
	check_exposition(body, want);
	free(resp);
	for (int i = 1; i < ADMIN_MAX_CONNS; i++)
		close(held[i].fd);
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

	assert_null(admin_new(base, &ep, all, 1, ADMIN_DEADLINE_MS, err, sizeof err));
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
		cmocka_unit_test(test_format_metrics_source_bound),
		cmocka_unit_test(test_parse_request),
		cmocka_unit_test(test_parse_request_bound),
		cmocka_unit_test_setup_teardown(test_http_health_and_404, server_setup, server_teardown),
		cmocka_unit_test_setup_teardown(test_http_metrics, server_setup, server_teardown),
		cmocka_unit_test_setup_teardown(test_http_source, server_setup, server_teardown),
		cmocka_unit_test_setup_teardown(test_http_refresh, server_setup, server_teardown),
		cmocka_unit_test_setup_teardown(test_http_methods_and_bodies, server_setup, server_teardown),
		cmocka_unit_test_setup_teardown(test_http_half_close, server_setup, server_teardown),
		cmocka_unit_test_setup_teardown(test_http_endless_header, server_setup, server_teardown),
		cmocka_unit_test_prestate_setup_teardown(test_http_slowloris, server_setup, server_teardown,
		                                         (void *)&short_deadline_ms),
		cmocka_unit_test_setup_teardown(test_http_connection_cap, server_setup, server_teardown),
		cmocka_unit_test(test_admin_new_port_in_use),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
