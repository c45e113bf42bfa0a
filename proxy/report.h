/* report — what synguard tells the operator as it runs, from its counters.
 *
 * Called every REPORT_INTERVAL_S with the summed counters, it logs when a
 * flood starts (SYNs whose handshake was never completed, or bad ACKs, above
 * REPORT_FLOOD_RATE per second: many legitimate clients are not a flood), how it
 * goes while it lasts, and when it ends; and warns whenever packets were lost
 * because synguard could not keep up (ring overflow, full TX ring).
 */
#ifndef SYNGUARD_REPORT_H
#define SYNGUARD_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "stats.h"

#define REPORT_INTERVAL_S 10
#define REPORT_FLOOD_RATE 1000

struct report {
	uint64_t prev[STAT_COUNT];
	bool flood;
	unsigned flood_ticks;
	uint64_t flood_syns; /* during the current flood */
	uint64_t flood_bad_acks;
	uint64_t syn_rate; /* per second, over the last interval */
	uint64_t bad_rate;
};

/* Start from the counters as they are now. */
void report_init(struct report *r, const uint64_t now[STAT_COUNT]);

/* One interval has passed; `now` are the counters at its end. */
void report_tick(struct report *r, const uint64_t now[STAT_COUNT]);

/* One line for systemd's STATUS= (systemctl status), from the last interval:
 * "protecting 2 endpoint(s), data path kernel, 12 conns, no flood", or "...,
 * flood: 93k SYN/s, 1200 bad ACK/s". Returns `buf`, truncated to `len`. */
const char *report_status(const struct report *r, size_t n_endpoints, const char *datapath, uint64_t conns,
                          char *buf, size_t len);

#endif
