#include "health.h"

#include <ctype.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "log.h"
#include "netaddr.h"

/* One backend: its probe (main thread) and its counters (any thread). */
struct health_probe {
	struct health *h;
	struct config_endpoint ep;
	char name[NETADDR_STRLEN + 8]; /* "[v6]:port" */
	struct health_fsm fsm;
	int fd;                  /* the probe's socket while one is under way, else -1 */
	uint64_t started_us;     /* when it began */
	struct event timer_ev;   /* the next probe */
	struct event connect_ev; /* the probe's connect done, or its timeout */
	_Atomic uint64_t conns, connect_failures, check_failures;
	_Atomic uint64_t check_us; /* the last probe's time to connect (or fail) */
};

struct health {
	_Atomic unsigned refs;
	_Atomic uint64_t up; /* bit i: probe[i] up */
	struct event_base *base;
	bool active; /* probes scheduled: enabled and not stopped */
	unsigned interval_ms, rise, fall;
	struct timeval timeout;
	uint64_t rnd; /* xorshift64 state for the jitter */
	size_t n;
	struct health_probe probe[];
};

enum health_change health_fsm_result(struct health_fsm *f, bool ok, unsigned rise, unsigned fall)
{
	if (ok == f->up) {
		f->streak = 0;
		return HEALTH_SAME;
	}
	if (++f->streak < (f->up ? fall : rise))
		return HEALTH_SAME;
	f->up = ok;
	f->streak = 0;
	return ok ? HEALTH_WENT_UP : HEALTH_WENT_DOWN;
}

static uint64_t health_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Uniform enough over [0, n) for spreading probes; n > 0. */
static uint64_t health_random(struct health *h, uint64_t n)
{
	h->rnd ^= h->rnd << 13;
	h->rnd ^= h->rnd >> 7;
	h->rnd ^= h->rnd << 17;
	return h->rnd % n;
}

static void health_schedule(struct health_probe *p, uint64_t delay_us)
{
	struct timeval tv = { .tv_sec = (time_t)(delay_us / 1000000),
		              .tv_usec = (suseconds_t)(delay_us % 1000000) };

	if (evtimer_add(&p->timer_ev, &tv) < 0)
		log_error("health: cannot schedule the next check of %s: it stays %s", p->name,
		          p->fsm.up ? "up" : "down");
}

/* Why a probe failed, for the log: "connection refused", "timed out". */
static const char *health_reason(int err, char *buf, size_t len)
{
	snprintf(buf, len, "%s", err == ETIMEDOUT ? "timed out" : strerror(err));
	buf[0] = (char)tolower((unsigned char)buf[0]);
	return buf;
}

/* A probe ended (err 0: connected): count it, move the state machine, and
 * schedule the next one an interval (jittered by up to a tenth either way)
 * after this one began. */
static void health_probe_result(struct health_probe *p, int err)
{
	struct health *h = p->h;
	uint64_t bit = UINT64_C(1) << (p - h->probe);
	uint64_t elapsed = health_now_us() - p->started_us;
	uint64_t next = (uint64_t)h->interval_ms * 900 + health_random(h, (uint64_t)h->interval_ms * 200 + 1);
	char why[64];

	atomic_store(&p->check_us, elapsed);
	if (err != 0)
		atomic_fetch_add(&p->check_failures, 1);
	switch (health_fsm_result(&p->fsm, err == 0, h->rise, h->fall)) {
	case HEALTH_WENT_DOWN:
		atomic_fetch_and(&h->up, ~bit);
		log_warn("backend %s is down (%u failed checks: %s)", p->name, h->fall,
		         health_reason(err, why, sizeof(why)));
		break;
	case HEALTH_WENT_UP:
		atomic_fetch_or(&h->up, bit);
		log_info("backend %s is up (%u successful checks)", p->name, h->rise);
		break;
	case HEALTH_SAME:
		if (err != 0)
			log_debug("health: check of %s failed: %s", p->name,
			          health_reason(err, why, sizeof(why)));
		break;
	}
	health_schedule(p, next > elapsed ? next - elapsed : 0);
}

static void health_connect_cb(evutil_socket_t fd, short what, void *arg)
{
	struct health_probe *p = arg;
	int err = ETIMEDOUT;
	socklen_t len = sizeof(err);

	if ((what & EV_WRITE) && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	/* Connected or not, the probe is over: a normal close (a FIN). */
	close(p->fd);
	p->fd = -1;
	health_probe_result(p, err);
}

static void health_probe_start(evutil_socket_t unused, short what, void *arg)
{
	struct health_probe *p = arg;
	struct health *h = p->h;

	(void)unused;
	(void)what;
	p->started_us = health_now_us();
	p->fd = socket(p->ep.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->fd < 0) {
		health_probe_result(p, errno);
		return;
	}
	if (connect(p->fd, (const struct sockaddr *)&p->ep.addr, p->ep.len) < 0 && errno != EINPROGRESS) {
		int err = errno;

		close(p->fd);
		p->fd = -1;
		health_probe_result(p, err);
		return;
	}
	/* Success and refusal both show as writable; silence as the timeout. */
	event_assign(&p->connect_ev, h->base, p->fd, EV_WRITE, health_connect_cb, p);
	if (event_add(&p->connect_ev, &h->timeout) < 0) {
		close(p->fd);
		p->fd = -1;
		health_probe_result(p, ENOMEM);
	}
}

struct health *health_new(struct event_base *main_base, const struct config *cfg, char *err, size_t errlen)
{
	struct health *h = calloc(1, sizeof(*h) + cfg->n_backends * sizeof(h->probe[0]));

	if (h == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	atomic_init(&h->refs, 1);
	atomic_init(&h->up, cfg->n_backends < 64 ? (UINT64_C(1) << cfg->n_backends) - 1 : UINT64_MAX);
	h->base = main_base;
	h->active = cfg->health.enabled;
	h->interval_ms = cfg->health.interval_ms;
	h->rise = cfg->health.rise;
	h->fall = cfg->health.fall;
	h->timeout.tv_sec = cfg->health.timeout_ms / 1000;
	h->timeout.tv_usec = (suseconds_t)(cfg->health.timeout_ms % 1000) * 1000;
	h->rnd = health_now_us() ^ ((uint64_t)getpid() << 32) ^ (uintptr_t)h;
	h->rnd |= 1; /* xorshift's state must not be 0 */
	h->n = cfg->n_backends;
	for (size_t i = 0; i < h->n; i++) {
		struct health_probe *p = &h->probe[i];

		p->h = h;
		p->ep = cfg->backends[i].ep;
		config_endpoint_str(&p->ep, p->name, sizeof(p->name));
		p->fsm.up = true;
		p->fd = -1;
		if (!h->active)
			continue;
		evtimer_assign(&p->timer_ev, main_base, health_probe_start, p);
		/* The first probes spread over the first interval. */
		health_schedule(p, health_random(h, (uint64_t)h->interval_ms * 1000));
	}
	return h;
}

void health_carry_over(struct health *h, const struct health *prev)
{
	for (size_t i = 0; i < h->n; i++) {
		struct health_probe *p = &h->probe[i];
		size_t j = 0;

		while (j < prev->n && memcmp(&prev->probe[j].ep, &p->ep, sizeof(p->ep)) != 0)
			j++;
		if (j == prev->n)
			continue;
		p->fsm = prev->probe[j].fsm;
		if (!p->fsm.up)
			atomic_fetch_and(&h->up, ~(UINT64_C(1) << i));
		atomic_store(&p->connect_failures, atomic_load(&prev->probe[j].connect_failures));
		atomic_store(&p->check_failures, atomic_load(&prev->probe[j].check_failures));
		atomic_store(&p->check_us, atomic_load(&prev->probe[j].check_us));
	}
}

void health_stop(struct health *h)
{
	if (!h->active)
		return;
	h->active = false;
	for (size_t i = 0; i < h->n; i++) {
		struct health_probe *p = &h->probe[i];

		evtimer_del(&p->timer_ev);
		if (p->fd >= 0) {
			event_del(&p->connect_ev);
			close(p->fd);
			p->fd = -1;
		}
	}
}

void health_ref(struct health *h)
{
	atomic_fetch_add(&h->refs, 1);
}

void health_unref(struct health *h)
{
	if (h != NULL && atomic_fetch_sub(&h->refs, 1) == 1)
		free(h);
}

uint64_t health_up_mask(const struct health *h)
{
	return atomic_load(&h->up);
}

void health_conn_opened(struct health *h, size_t idx)
{
	atomic_fetch_add(&h->probe[idx].conns, 1);
}

void health_conn_closed(struct health *h, size_t idx)
{
	atomic_fetch_sub(&h->probe[idx].conns, 1);
}

void health_connect_failed(struct health *h, size_t idx)
{
	atomic_fetch_add(&h->probe[idx].connect_failures, 1);
}

enum health_series {
	HEALTH_UP,
	HEALTH_CONNS,
	HEALTH_CONNECT_FAILURES,
	HEALTH_CHECK_FAILURES,
	HEALTH_CHECK_SECONDS
};

static const struct {
	const char *name, *type, *help;
} health_series[] = {
	[HEALTH_UP] = { "synguard_backend_up", "gauge",
	                "1 while the backend is up by its health checks, else 0" },
	[HEALTH_CONNS] = { "synguard_backend_connections", "gauge",
	                   "Clients' connections relayed to the backend now" },
	[HEALTH_CONNECT_FAILURES] = { "synguard_backend_connect_failures_total", "counter",
	                              "Clients' connects to the backend that failed" },
	[HEALTH_CHECK_FAILURES] = { "synguard_backend_check_failures_total", "counter",
	                            "Health checks of the backend that failed" },
	[HEALTH_CHECK_SECONDS] = { "synguard_backend_check_seconds", "gauge",
	                           "Time the last health check took to connect, or to fail" },
};

/* One backend's sample of series `s`; snprintf's return. */
static int health_sample(const struct health *h, size_t i, enum health_series s, char *buf, size_t cap)
{
	const struct health_probe *p = &h->probe[i];
	const char *name = health_series[s].name;

	switch (s) {
	case HEALTH_UP:
		return snprintf(buf, cap, "%s{backend=\"%s\"} %d\n", name, p->name,
		                (health_up_mask(h) >> i & 1) != 0);
	case HEALTH_CONNS:
		return snprintf(buf, cap, "%s{backend=\"%s\"} %llu\n", name, p->name,
		                (unsigned long long)atomic_load(&p->conns));
	case HEALTH_CONNECT_FAILURES:
		return snprintf(buf, cap, "%s{backend=\"%s\"} %llu\n", name, p->name,
		                (unsigned long long)atomic_load(&p->connect_failures));
	case HEALTH_CHECK_FAILURES:
		return snprintf(buf, cap, "%s{backend=\"%s\"} %llu\n", name, p->name,
		                (unsigned long long)atomic_load(&p->check_failures));
	case HEALTH_CHECK_SECONDS:
		return snprintf(buf, cap, "%s{backend=\"%s\"} %.6f\n", name, p->name,
		                (double)atomic_load(&p->check_us) / 1e6);
	}
	return -1;
}

size_t health_format_metrics(void *health, char *buf, size_t cap)
{
	const struct health *h = health;
	size_t off = 0;

	for (size_t s = 0; s < sizeof(health_series) / sizeof(health_series[0]); s++) {
		size_t start = off;
		int n = snprintf(buf + off, cap - off, "# HELP %s %s\n# TYPE %s %s\n", health_series[s].name,
		                 health_series[s].help, health_series[s].name, health_series[s].type);

		for (size_t i = 0; n >= 0 && (size_t)n < cap - off && i < h->n; i++) {
			off += (size_t)n;
			n = health_sample(h, i, (enum health_series)s, buf + off, cap - off);
		}
		/* A series that does not fit is left out whole. */
		if (n < 0 || (size_t)n >= cap - off) {
			off = start;
			if (cap > 0)
				buf[off] = '\0';
			break;
		}
		off += (size_t)n;
	}
	return off;
}

bool health_healthy(void *health, char *why, size_t whylen)
{
	const struct health *h = health;

	if (h->n == 0 || health_up_mask(h) != 0)
		return true;
	snprintf(why, whylen, "no backend is up");
	return false;
}
