/* cookie_bench — ns per cookie_make() and cookie_check(), IPv4 and IPv6.
 *
 * Each case runs RUNS times; the table gives the median and the spread. Inputs
 * cycle through a small set of random tuples so the MAC input changes every
 * call but stays in cache, as a busy front end's would. Pin it for stable
 * numbers: taskset -c 1 cookie_bench
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "cookie.h"

#define RUNS 15
#define OPS 1000000
#define INPUTS 1024 /* a power of two */
#define PERIOD 30
#define NOW 1700000000ULL

struct input {
	struct cookie_tuple t;
	uint32_t isn;
	uint32_t cookie;
};

struct bench_case {
	const char *name;
	int family;
	/* one operation on `in`; `i` counts calls; returns something to consume */
	uint32_t (*op)(struct cookie_jar *jar, const struct input *in, uint64_t i);
	unsigned ops; /* per run */
};

static const struct cookie_opts offered = { 1460, 7, true };

static uint32_t op_make(struct cookie_jar *jar, const struct input *in, uint64_t i)
{
	(void)i;
	return cookie_make(jar, &in->t, in->isn, &offered, NOW, NULL);
}

/* Every call lands in a new epoch: the cost of deriving a key. */
static uint32_t op_make_rekey(struct cookie_jar *jar, const struct input *in, uint64_t i)
{
	return cookie_make(jar, &in->t, in->isn, &offered, NOW + i * PERIOD, NULL);
}

static uint32_t op_check_valid(struct cookie_jar *jar, const struct input *in, uint64_t i)
{
	(void)i;
	return cookie_check(jar, &in->t, in->isn + 1, in->cookie + 1, NOW, NULL);
}

/* A MAC bit flipped: the worst case, both the selected and the older key tried. */
static uint32_t op_check_bad(struct cookie_jar *jar, const struct input *in, uint64_t i)
{
	(void)i;
	return cookie_check(jar, &in->t, in->isn + 1, (in->cookie ^ 0x100) + 1, NOW, NULL);
}

static const struct bench_case cases[] = {
	{ "make", AF_INET, op_make, OPS },
	{ "make", AF_INET6, op_make, OPS },
	{ "check, valid ack", AF_INET, op_check_valid, OPS },
	{ "check, valid ack", AF_INET6, op_check_valid, OPS },
	{ "check, bad ack", AF_INET, op_check_bad, OPS },
	{ "check, bad ack", AF_INET6, op_check_bad, OPS },
	{ "make, new epoch each call", AF_INET, op_make_rekey, OPS / 50 },
};

static struct input inputs[INPUTS];
static volatile uint32_t sink; /* keeps the calls from being optimised away */

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Random tuples of `family` with their valid cookies; false if one does not check. */
static bool inputs_fill(struct cookie_jar *jar, int family)
{
	for (size_t i = 0; i < INPUTS; i++) {
		struct input *in = &inputs[i];

		in->t.family = (uint8_t)family;
		for (size_t b = 0; b < sizeof(in->t.saddr); b++) {
			in->t.saddr[b] = (uint8_t)random();
			in->t.daddr[b] = (uint8_t)random();
		}
		in->t.sport = (uint16_t)random();
		in->t.dport = 443;
		in->isn = (uint32_t)random();
		in->cookie = cookie_make(jar, &in->t, in->isn, &offered, NOW, NULL);
		if (op_check_valid(jar, in, 0) != COOKIE_VALID || op_check_bad(jar, in, 0) != COOKIE_BAD_MAC)
			return false;
	}
	return true;
}

/* ns per operation of one run */
static double bench_run(struct cookie_jar *jar, const struct bench_case *c)
{
	uint32_t acc = 0;
	double start = now_ns();

	for (uint64_t i = 0; i < c->ops; i++)
		acc += c->op(jar, &inputs[i % INPUTS], i);
	sink = acc;
	return (now_ns() - start) / c->ops;
}

int main(void)
{
	uint8_t master[COOKIE_MASTER_LEN];
	struct cookie_jar *jar;
	double ns[RUNS];

	if (cookie_master_random(master) < 0 || !(jar = cookie_jar_new(master, PERIOD))) {
		fprintf(stderr, "cookie_bench: OpenSSL cannot make a cookie jar\n");
		return 1;
	}
	printf("%d runs per case, %d ops per run (epoch change: %d)\n\n", RUNS, OPS, OPS / 50);
	printf("%-26s %-5s %9s %9s %9s\n", "operation", "ip", "median", "min", "max");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct bench_case *c = &cases[i];

		if (!inputs_fill(jar, c->family)) {
			fprintf(stderr, "cookie_bench: a fresh cookie did not check\n");
			cookie_jar_free(jar);
			return 1;
		}
		bench_run(jar, c); /* warm-up */
		for (int r = 0; r < RUNS; r++)
			ns[r] = bench_run(jar, c);
		qsort(ns, RUNS, sizeof(ns[0]), cmp_double);
		printf("%-26s %-5s %6.1f ns %6.1f ns %6.1f ns\n", c->name,
		       c->family == AF_INET ? "IPv4" : "IPv6", ns[RUNS / 2], ns[0], ns[RUNS - 1]);
	}
	cookie_jar_free(jar);
	return 0;
}
