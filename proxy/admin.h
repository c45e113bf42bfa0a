/* admin — the HTTP endpoint operators and monitoring read.
 *
 *   GET /metrics  Prometheus text: every counter of stats.h, summed over workers
 *                 (synguard_NAME_total; gauges synguard_NAME), synguard_build_info,
 *                 then what the source (admin_set_source) appends
 *   GET /health   "ok" while the daemon runs and the source says healthy; 503
 *                 with its reason when it does not
 *
 * HEAD of either too; any other path is 404, any other method 405. Served on
 * the main thread's event loop; it only reads counters. Every response says
 * Connection: close and the connection ends after it.
 *
 * Bounds, whatever clients do (the packet path's fds and memory stay its own):
 *   - at most ADMIN_MAX_CONNS connections at once; one more is accepted and
 *     closed at once (logged at debug with the running count): fds held are
 *     1 listener + ADMIN_MAX_CONNS, plus 1 for that moment (main.c's fd limit
 *     keeps 1024 spare beyond the relay's needs);
 *   - the request line and headers: at most ADMIN_HEAD_MAX bytes (431 beyond);
 *     no request body (413 if one is announced);
 *   - every connection is closed `deadline_ms` after accept, however slowly
 *     its client trickles bytes;
 *   - heap per connection: its input (≤ ADMIN_HEAD_MAX bytes: the socket is
 *     read no further), its response (≤ ADMIN_METRICS_MAX + 256), both in
 *     buffers rounded up to a power of two, and ~1 KiB of libevent state:
 *     under 144 KiB, so under 4.5 MiB for all. The kernel's receive buffer of
 *     each connection is held to 2 * ADMIN_HEAD_MAX (SO_RCVBUF).
 */
#ifndef SYNGUARD_ADMIN_H
#define SYNGUARD_ADMIN_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "stats.h"

#define ADMIN_MAX_CONNS 32
#define ADMIN_HEAD_MAX 4096
/* The counters (~9 KiB) and a source's 64 backends x 6 series of ~120 bytes:
 * test_admin checks that much fits whole. */
#define ADMIN_METRICS_MAX 65536
#define ADMIN_DEADLINE_MS 10000 /* what the daemon passes to admin_new */

struct event_base;
struct admin;

/* Listen on `ep`. `all` holds `n` workers' stats (borrowed). Connections
 * are closed `deadline_ms` after accept. NULL with a message in `err`. */
struct admin *admin_new(struct event_base *base, const struct config_endpoint *ep, struct stats *const *all,
                        size_t n, unsigned deadline_ms, char *err, size_t errlen);

/* Closes the listener and every open connection. */
void admin_free(struct admin *a);

/* Another module's part of /metrics and /health, set (and replaced) on the main thread. */
struct admin_source {
	/* Appends complete series (# HELP, # TYPE, samples) to buf; returns bytes written (< cap). */
	size_t (*metrics)(void *ctx, char *buf, size_t cap);
	/* false: /health answers 503 with `why` as its body. */
	bool (*healthy)(void *ctx, char *why, size_t whylen);
	void *ctx;
};

void admin_set_source(struct admin *a, const struct admin_source *src); /* NULL: none */

/* What synguard_build_info{version,datapath,mode} says besides the version:
 * the data path running ("kernel", "xdp", "ring") and the mode ("relay",
 * "protect"). Both borrowed, static strings; "unknown" until set. */
void admin_set_build_info(struct admin *a, const char *datapath, const char *mode);

/* Called on the main thread before each /metrics answer sums the counters:
 * counters kept elsewhere (the BPF programs' maps) are brought up to date,
 * so that two reads a second apart give a second's worth. NULL: none. */
void admin_set_refresh(struct admin *a, void (*refresh)(void *ctx), void *ctx);

/* The /metrics body into `buf`: the counters `values`, the build info of
 * `datapath` and `mode`, then `src`'s series (src or its metrics NULL: none).
 * Returns its length, < cap; when it does not fit, it ends after the last
 * whole line that does. Pure, for tests. */
size_t admin_format_metrics(const uint64_t values[STAT_COUNT], const char *datapath, const char *mode,
                            const struct admin_source *src, char *buf, size_t cap);

/* What a request head asks for, or why it is refused (the HTTP status). */
enum admin_request {
	ADMIN_REQ_INCOMPLETE, /* no empty line yet: read on */
	ADMIN_REQ_METRICS,    /* 200 */
	ADMIN_REQ_HEALTH,     /* 200 */
	ADMIN_REQ_NOT_FOUND,  /* 404: another path */
	ADMIN_REQ_BAD,        /* 400: not an HTTP/1.x request line or header */
	ADMIN_REQ_METHOD,     /* 405: not GET or HEAD */
	ADMIN_REQ_BODY,       /* 413: Content-Length above 0, or Transfer-Encoding */
	ADMIN_REQ_TOO_LARGE,  /* 431: no end of headers in ADMIN_HEAD_MAX bytes */
};

/* Reads the request head at the start of buf[0..len) (lines end in CRLF or
 * LF). Decides as soon as a complete line allows. *head_only is set when the
 * method is HEAD. Pure, for tests. */
enum admin_request admin_parse_request(const char *buf, size_t len, bool *head_only);

#endif
