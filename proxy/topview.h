/* topview — what `synguard top` shows, from the text of /metrics. Pure: top.c
 * fetches the text and draws the lines.
 *
 * topview_parse() keeps what the screen needs of one sample: the counters and
 * gauges below by their /metrics names, synguard_build_info's labels (the
 * numeric synguard_datapath gauge if it is absent) and the per-backend series
 * synguard_backend_{up,connections,connect_failures_total,check_seconds}
 * keyed by their backend="ip:port" label. Anything absent stays NAN ("-" on
 * screen); other lines are skipped, so a newer daemon's extra series do no
 * harm. topview_format() turns two samples into per-second rates and the
 * screen's lines.
 */
#ifndef SYNGUARD_TOPVIEW_H
#define SYNGUARD_TOPVIEW_H

#include <stddef.h>

#define TOPVIEW_MAX_BACKENDS 64

enum topview_value {
	TOPVIEW_SYN,         /* synguard_syn_received_total */
	TOPVIEW_SYNACK,      /* synguard_synack_sent_total */
	TOPVIEW_ACK_VALID,   /* synguard_ack_valid_total */
	TOPVIEW_ACK_BAD,     /* synguard_ack_bad_cookie_total */
	TOPVIEW_ACK_EXPIRED, /* synguard_ack_expired_total */
	TOPVIEW_ADOPTED,     /* synguard_adopted_total */
	TOPVIEW_ACCEPTED,    /* synguard_accepted_total */
	TOPVIEW_CONN_ACTIVE, /* synguard_conn_active */
	TOPVIEW_FLOOD,       /* synguard_flood */
	TOPVIEW_DATAPATH,    /* synguard_datapath: 0 ring, 1 xdp, 2 kernel */
	TOPVIEW_N
};

struct topview_backend {
	char name[64];                             /* the backend label */
	double up, connections, failures, check_s; /* NAN: absent */
};

struct topview_sample {
	double t; /* when taken, seconds on any monotonic clock */
	double v[TOPVIEW_N];
	char version[32], datapath[16], mode[16]; /* of synguard_build_info; "" absent */
	struct topview_backend backends[TOPVIEW_MAX_BACKENDS];
	size_t n_backends;
	size_t backends_over; /* beyond TOPVIEW_MAX_BACKENDS, not kept */
};

enum topview_parse {
	TOPVIEW_PARSED,       /* at least one synguard series */
	TOPVIEW_NOT_SYNGUARD, /* none: not a synguard's /metrics */
};

/* Reads text[0..len) (the body of /metrics) taken at time t into *s. */
enum topview_parse topview_parse(const char *text, size_t len, double t, struct topview_sample *s);

/* The screen for `cur`, with rates since `prev` (NULL: none yet, shown as
 * "-"), for the endpoint named `endpoint`: lines ending in \n into buf.
 * Returns the length, < cap (whole lines only). */
size_t topview_format(const struct topview_sample *prev, const struct topview_sample *cur,
                      const char *endpoint, char *buf, size_t cap);

#endif
