/* health — active health checks of the backends, shared by all workers.
 *
 * As HAProxy's `check inter rise fall`: every interval_ms (jittered by up to
 * a tenth either way, so that backends are not probed in lockstep) each
 * backend gets a non-blocking TCP connect. Connected within timeout_ms is a
 * success, and the socket is closed at once, normally (a FIN: a reset would
 * put an error in a healthy backend's log); refused, timed out or any other
 * error is a failure. A backend goes down after `fall` failures in a row and
 * up after `rise` successes in a row; each transition is logged once.
 *
 * Every backend starts up, so that start-up serves at once: a backend that
 * is down then costs clients a failed connect each (the relay's failover
 * and backend.h's hold-down absorb it) until `fall` checks take it down,
 * whereas starting down would refuse every client for rise x interval even
 * when all is well.
 *
 * With health_check.enabled false nothing is probed and every backend stays
 * up: backend.h's passive hold-down alone applies, as before.
 *
 * Threads: the probes run on the main thread's loop, which owns the object
 * (health_new, health_stop). Workers read the up mask and move the
 * per-backend counters through atomics only. The memory is freed by the last
 * health_unref, on any thread, so a worker may hold it past health_stop.
 */
#ifndef SYNGUARD_HEALTH_H
#define SYNGUARD_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct event_base;
struct health;

/* One backend's rise/fall counting. Pure: the probes' results go in. */
struct health_fsm {
	bool up;
	unsigned streak; /* results in a row that disagree with `up` */
};

enum health_change {
	HEALTH_SAME,      /* no transition */
	HEALTH_WENT_DOWN, /* the `fall`-th failure in a row */
	HEALTH_WENT_UP,   /* the `rise`-th success in a row */
};

enum health_change health_fsm_result(struct health_fsm *f, bool ok, unsigned rise, unsigned fall);

/* A check of cfg->backends (copied) on `main_base`, the first probes
 * already scheduled when cfg->health.enabled. The caller holds the one
 * reference. NULL with a message in `err`. */
struct health *health_new(struct event_base *main_base, const struct config *cfg, char *err, size_t errlen);

/* Main thread, right after health_new (a reload): each backend `prev` also
 * checks (the same address and port) starts where it was there, up or down
 * with its streak, and keeps its failure counts; so a reload neither sends
 * clients to a backend known to be down nor resets counters. The open
 * connections gauge starts at 0: prev's connections keep counting in prev. */
void health_carry_over(struct health *h, const struct health *prev);

/* Main thread: stop probing, close its sockets and free its events. The
 * up mask and counters stay readable (frozen) until the last unref. */
void health_stop(struct health *h);

void health_ref(struct health *h);
void health_unref(struct health *h); /* the last one frees */

/* Any thread: bit i set while cfg->backends[i] is up. */
uint64_t health_up_mask(const struct health *h);

/* Any thread: a client's connection to backend `idx` is established, has
 * ended, or failed to connect (passive: counted, the mask unchanged). */
void health_conn_opened(struct health *h, size_t idx);
void health_conn_closed(struct health *h, size_t idx);
void health_connect_failed(struct health *h, size_t idx);

/* The shapes of admin.h's struct admin_source, `health` a struct health:
 * the per-backend series in Prometheus text (returns bytes written, < cap;
 * whole series only), and false with "no backend is up" when none is. */
size_t health_format_metrics(void *health, char *buf, size_t cap);
bool health_healthy(void *health, char *why, size_t whylen);

#endif
