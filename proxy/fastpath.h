/* fastpath — SYNs answered in the driver by an XDP program (bpf/xdp_syn.bpf.c).
 *
 * The program computes the same cookie as cookie_make() with the current
 * epoch's key, which this module keeps up to date, turns the SYN into the
 * SYN-ACK synack.h describes in place and sends it back with XDP_TX: no skb,
 * no copy, no syscall. Everything else reaches the packet ring as without it. The
 * program is attached through a bpf_link, so it goes away with the process,
 * even one killed with SIGKILL.
 */
#ifndef SYNGUARD_FASTPATH_H
#define SYNGUARD_FASTPATH_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "cookie.h"
#include "localaddr.h"
#include "stats.h"

struct event_base;
struct fastpath;

/* Load, configure and attach to `ifname` (NULL: load only, for
 * fastpath_run()). SYNs to another link-layer address than the interface's
 * (as it is at open) are left to the kernel. NULL with a message in `err`. */
struct fastpath *fastpath_open(const struct config *cfg, const char *ifname, char *err, size_t errlen);
void fastpath_close(struct fastpath *fp);

/* Keep the program running on its own, from now until fastpath_close():
 * keys derived from `master` (every `period_s` seconds the next epoch's, as
 * the cookie jars of the workers do), this host's addresses, and its
 * counters in `stats` (borrowed; the caller sums it with the workers'), all
 * refreshed now and then every second on a timer of `base`. Returns 0, or
 * -1 with a message in `err`. */
int fastpath_start(struct fastpath *fp, struct event_base *base, const uint8_t master[COOKIE_MASTER_LEN],
                   uint32_t period_s, struct stats *stats, char *err, size_t errlen);

/* Bring the counters in fastpath_start()'s `stats` up to date now, for a
 * reader who cannot wait for the next second. */
void fastpath_update_stats(struct fastpath *fp);

/* How the program runs on the interface: "native" (in the driver),
 * "generic" (the kernel's fallback for drivers without XDP: after the skb is
 * built, still before the TCP stack), "offloaded" or "unknown". */
const char *fastpath_mode(const struct fastpath *fp);

/* For a program loaded without an interface: the link-layer address it
 * takes as its own. Returns 0 or -1. */
int fastpath_set_mac(struct fastpath *fp, const uint8_t mac[6]);

/* This host's addresses (localaddr.h says why they matter), replacing the
 * previous set. Returns 0, or -1 if the map could not hold them all. */
int fastpath_set_local(struct fastpath *fp, const struct localaddr *local);

/* Use `key` for `epoch` from now on. Returns 0 or -1. */
int fastpath_set_key(struct fastpath *fp, uint64_t epoch, const uint8_t key[COOKIE_EPOCH_KEY_LEN]);

/* Run the program once on the Ethernet frame `in` (BPF_PROG_TEST_RUN, in
 * the current network namespace): the XDP verdict (XDP_TX: `out` holds the
 * SYN-ACK, *out_len its length), or -1 with errno. */
int fastpath_run(struct fastpath *fp, const uint8_t *in, size_t len, uint8_t *out, size_t *out_len);

/* What the program counted, summed over CPUs. */
struct fastpath_counts {
	uint64_t syns;      /* pure SYNs to a protected address:port */
	uint64_t synacks;   /* answered with XDP_TX */
	uint64_t martian;   /* dropped: impossible or own source */
	uint64_t malformed; /* dropped: IP lengths or header checksum */
	uint64_t bad_csum;  /* dropped: TCP checksum */
};
void fastpath_counters(struct fastpath *fp, struct fastpath_counts *c);

#endif
