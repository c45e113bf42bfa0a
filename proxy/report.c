#include "report.h"

#include <stdio.h>
#include <string.h>

#include "log.h"

void report_init(struct report *r, const uint64_t now[STAT_COUNT])
{
	memset(r, 0, sizeof(*r));
	memcpy(r->prev, now, sizeof(r->prev));
}

void report_tick(struct report *r, const uint64_t now[STAT_COUNT])
{
	uint64_t d[STAT_COUNT];

	for (size_t i = 0; i < STAT_COUNT; i++)
		d[i] = now[i] - r->prev[i];
	memcpy(r->prev, now, sizeof(r->prev));

	uint64_t syns = d[STAT_syn_received];
	uint64_t bad = d[STAT_ack_bad_cookie] + d[STAT_ack_expired];
	/* Busy is not under attack: count handshakes that were never completed. */
	uint64_t unanswered = syns > d[STAT_ack_valid] ? syns - d[STAT_ack_valid] : 0;
	bool flood = unanswered > (uint64_t)REPORT_FLOOD_RATE * REPORT_INTERVAL_S ||
	             bad > (uint64_t)REPORT_FLOOD_RATE * REPORT_INTERVAL_S;

	if (flood) {
		log_warn("%s: %llu SYN/s answered with cookies, %llu bad ACK/s dropped, %llu clients "
		         "adopted/s, %llu connections open",
		         r->flood ? "flood continues" : "flood started",
		         (unsigned long long)(syns / REPORT_INTERVAL_S),
		         (unsigned long long)(bad / REPORT_INTERVAL_S),
		         (unsigned long long)(d[STAT_adopted] / REPORT_INTERVAL_S),
		         (unsigned long long)now[STAT_conn_active]);
		r->flood_ticks++;
		r->flood_syns += syns;
		r->flood_bad_acks += bad;
	} else if (r->flood) {
		log_warn("flood over after about %u s: %llu SYNs answered, %llu bad ACKs dropped",
		         r->flood_ticks * REPORT_INTERVAL_S, (unsigned long long)r->flood_syns,
		         (unsigned long long)r->flood_bad_acks);
		r->flood_ticks = 0;
		r->flood_syns = r->flood_bad_acks = 0;
	}
	r->flood = flood;
	r->syn_rate = syns / REPORT_INTERVAL_S;
	r->bad_rate = bad / REPORT_INTERVAL_S;

	if (d[STAT_ring_drops] || d[STAT_synack_send_failed])
		log_warn("overloaded: %llu frames lost from the full packet ring and %llu SYN-ACKs "
		         "from the full TX ring in %d s (more workers or CPU needed)",
		         (unsigned long long)d[STAT_ring_drops],
		         (unsigned long long)d[STAT_synack_send_failed], REPORT_INTERVAL_S);
}

/* A rate as a person reads it at a glance: 1200, 93k, 12M. */
static const char *report_rate(uint64_t v, char *buf, size_t len)
{
	if (v < 10000)
		snprintf(buf, len, "%llu", (unsigned long long)v);
	else if (v < 10000000)
		snprintf(buf, len, "%lluk", (unsigned long long)(v / 1000));
	else
		snprintf(buf, len, "%lluM", (unsigned long long)(v / 1000000));
	return buf;
}

const char *report_status(const struct report *r, size_t n_endpoints, const char *datapath, uint64_t conns,
                          char *buf, size_t len)
{
	char syn[24], bad[24];
	int n = snprintf(buf, len, "protecting %zu endpoint(s), data path %s, %llu conns, ", n_endpoints,
	                 datapath, (unsigned long long)conns);

	if (n < 0 || (size_t)n >= len)
		return buf;
	if (r->flood)
		snprintf(buf + n, len - (size_t)n, "flood: %s SYN/s, %s bad ACK/s",
		         report_rate(r->syn_rate, syn, sizeof(syn)),
		         report_rate(r->bad_rate, bad, sizeof(bad)));
	else
		snprintf(buf + n, len - (size_t)n, "no flood");
	return buf;
}
