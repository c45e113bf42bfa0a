/* fastpath — synguard's BPF programs: SYNs answered in the driver by an XDP
 * program (bpf/xdp_syn.bpf.c) and, on the kernel path, handshake ACKs turned
 * into kernel sockets by a TC program (bpf/tc_ack.bpf.c).
 *
 * The XDP program computes the same cookie as cookie_make() with the current
 * epoch's key, which this module keeps up to date, turns the SYN into the
 * SYN-ACK synack.h describes in place and sends it back with XDP_TX: no skb,
 * no copy, no syscall. Without the TC program, everything else reaches the
 * packet ring as without it. With it, an ACK whose cookie checks out
 * (cookie_check()'s comparison, under the same keys) gives the listener on
 * its endpoint a request socket, and the kernel builds the connection. Both
 * are attached through bpf_links, so they go away with the process, even one
 * killed with SIGKILL.
 */
#ifndef SYNGUARD_FASTPATH_H
#define SYNGUARD_FASTPATH_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "cookie.h"
#include "localaddr.h"
#include "stats.h"
#include "xdp_shared.h"

struct event_base;
struct fastpath;

/* Does the running kernel have what the TC program needs (its kfunc)? 1 or
 * 0, and why in `why` either way. */
int fastpath_kernel_path_supported(char *why, size_t whylen);

struct fastpath_opts {
	const char *ifname;            /* NULL: load only, for fastpath_run*() */
	bool kernel_acks;              /* the TC program too: the kernel path */
	enum config_xdp_attach attach; /* auto: native, but generic on a veth */
};

/* Load, configure and attach to `o->ifname`. SYNs to another link-layer
 * address than the interface's (as it is at open) are left to the kernel.
 * NULL with a message in `err`. */
struct fastpath *fastpath_open(const struct config *cfg, const struct fastpath_opts *o, char *err,
                               size_t errlen);
void fastpath_close(struct fastpath *fp);

/* Keep the programs running on their own, from now until fastpath_close():
 * keys derived from `master` (every `period_s` seconds the next epoch's, as
 * the cookie jars of the workers do), this host's addresses, and their
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

/* Why it runs generic when it does: a phrase for the log ("the interface is
 * a veth ...", "xdp_attach = \"generic\"", "the driver has no native XDP"). */
const char *fastpath_generic_why(const struct fastpath *fp);

/* For a program loaded without an interface: the link-layer address it
 * takes as its own. Returns 0 or -1. */
int fastpath_set_mac(struct fastpath *fp, const uint8_t mac[6]);

/* This host's addresses (localaddr.h says why they matter), replacing the
 * previous set. Returns 0, or -1 if the map could not hold them all. */
int fastpath_set_local(struct fastpath *fp, const struct localaddr *local);

/* Answer SYNs to cfg's listen endpoints, with cfg's MSS, instead of those
 * given so far (fastpath_open()'s, or a reload's); the TC program follows
 * too. Endpoints in both sets are never missing meanwhile. Returns 0, or -1
 * with errno (the set may then be part old, part new). */
int fastpath_set_endpoints(struct fastpath *fp, const struct config *cfg);

/* Hold `key` as epoch `epoch`'s; the newest epoch held makes the cookies.
 * Returns 0 or -1. */
int fastpath_set_key(struct fastpath *fp, uint64_t epoch, const uint8_t key[COOKIE_EPOCH_KEY_LEN]);

/* A reload: keys derived from `master` every `period_s` seconds from now
 * on, replacing the old ones at once (cookies made with them no longer
 * check out). Returns 0, or -1 with nothing changed. */
int fastpath_rekey(struct fastpath *fp, const uint8_t master[COOKIE_MASTER_LEN], uint32_t period_s);

/* SIGTERM: drop SYNs to the protected endpoints from now on (syn_draining);
 * handshakes already answered still complete. Returns 0 or -1. */
int fastpath_drain(struct fastpath *fp);

/* Run the program once on the Ethernet frame `in` (BPF_PROG_TEST_RUN, in
 * the current network namespace): the XDP verdict (XDP_TX: `out` holds the
 * SYN-ACK, *out_len its length), or -1 with errno. */
int fastpath_run(struct fastpath *fp, const uint8_t *in, size_t len, uint8_t *out, size_t *out_len);

/* What the TC program decided about one frame (BPF_PROG_TEST_RUN, in the
 * current network namespace, whose listeners it sees). */
struct fastpath_tc_result {
	/* TC_ACT_OK, TC_ACT_SHOT, or TC_ACT_UNSPEC: not judged, the next
	 * program on the interface (another instance's) decides. */
	int action;
	uint32_t verdict; /* enum tc_verdict (bpf/xdp_shared.h) */
	/* With TC_V_VALID and TC_V_ASSIGN_FAILED, what the kernel was given: */
	uint16_t mss;
	uint8_t snd_wscale, rcv_wscale;
	bool wscale_ok, sack_ok, tstamp_ok;
	uint32_t tsval;
	int assign_rc; /* the kfunc's result: 0 or -errno */
};

/* Run the TC program (opened with kernel_acks) once on the Ethernet frame
 * `in`: 0 with `r` filled, or -1 with errno. */
int fastpath_run_tc(struct fastpath *fp, const uint8_t *in, size_t len, struct fastpath_tc_result *r);

/* What the programs counted, summed over CPUs. */
struct fastpath_counts {
	uint64_t syns;      /* pure SYNs to a protected address:port */
	uint64_t synacks;   /* answered with XDP_TX */
	uint64_t martian;   /* dropped: impossible or own source */
	uint64_t malformed; /* dropped: IP lengths, header checksum, TCP options */
	uint64_t bad_csum;  /* dropped: TCP checksum */
	uint64_t passed;    /* SYNs left to the kernel (or the ring): a socket on the 4-tuple, data, ... */
	uint64_t draining;  /* SYNs dropped while stopping (fastpath_drain) */
	uint64_t tc[TC_STAT_COUNT]; /* the TC program's (bpf/xdp_shared.h) */
};
void fastpath_counters(struct fastpath *fp, struct fastpath_counts *c);

#endif
