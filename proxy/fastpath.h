/* fastpath — SYNs answered in the driver by an XDP program (xdp_syn.bpf.c).
 *
 * The program computes the same cookie as cookie_make() with the current
 * epoch's key, which this module keeps up to date, turns the SYN into the
 * SYN-ACK in place and sends it back with XDP_TX: no skb, no copy, no
 * syscall. Everything else reaches the packet ring as without it. The
 * program is attached through a bpf_link, so it goes away with the process,
 * even one killed with SIGKILL.
 */
#ifndef SYNGUARD_FASTPATH_H
#define SYNGUARD_FASTPATH_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "cookie.h"

struct fastpath;

/* What the SYN-ACKs carry besides the cookie; frontend.h's values. */
struct fastpath_synack {
	uint8_t wscale;
	uint16_t window;
	uint8_t ttl;
};

/* Load, configure and attach to `ifname` (NULL: load only, for
 * fastpath_run()). NULL with a message in `err`. */
struct fastpath *fastpath_open(const struct config *cfg, const char *ifname, const struct fastpath_synack *sa,
			       char *err, size_t errlen);
void fastpath_close(struct fastpath *fp);

/* How the program runs on the interface: "native" (in the driver),
 * "generic" (the kernel's fallback for drivers without XDP: after the skb is
 * built, still before the TCP stack), "offloaded" or "unknown". */
const char *fastpath_mode(const struct fastpath *fp);

/* Use `key` for `epoch` from now on. Returns 0 or -1. */
int fastpath_set_key(struct fastpath *fp, uint64_t epoch, const uint8_t key[COOKIE_EPOCH_KEY_LEN]);

/* Run the program once on the Ethernet frame `in` (BPF_PROG_TEST_RUN, in
 * the current network namespace): the XDP verdict (XDP_TX: `out` holds the
 * SYN-ACK, *out_len its length), or -1 with errno. */
int fastpath_run(struct fastpath *fp, const uint8_t *in, size_t len, uint8_t *out, size_t *out_len);

/* SYNs seen and SYN-ACKs sent by the program, summed over CPUs. */
void fastpath_counters(struct fastpath *fp, uint64_t *syns, uint64_t *synacks);

#endif
