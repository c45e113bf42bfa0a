/* datapath — which way clients' packets go, decided at start from the
 * config's `datapath` and what the running kernel offers. Pure: the daemon
 * gathers the facts and opens what the plan says, falling back along it.
 *
 *   kernel  SYNs answered by XDP, cookie ACKs made kernel sockets by a TC
 *           program (Linux >= 6.9): the fastest, and the only one that can
 *           hand connections to another process's listener (protect mode)
 *   xdp     SYNs answered by XDP, ACKs adopted from the packet ring
 *   ring    everything from the packet ring (any kernel)
 */
#ifndef SYNGUARD_DATAPATH_H
#define SYNGUARD_DATAPATH_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

enum datapath_kind {
	DATAPATH_RING = 0, /* the values of the `datapath` gauge */
	DATAPATH_XDP = 1,
	DATAPATH_KERNEL = 2,
};

/* What the kernel offers. sysctls: -1 if unreadable. */
struct datapath_facts {
	bool kfunc;         /* bpf_sk_assign_tcp_reqsk() in its BTF */
	int syncookies;     /* net.ipv4.tcp_syncookies: the kernel path needs 1 or 2 */
	int timestamps;     /* net.ipv4.tcp_timestamps, tcp_sack, tcp_window_scaling: with one */
	int sack;           /* off, the kernel refuses request sockets with that option, which */
	int window_scaling; /* our SYN-ACKs offer whenever the client does */
};

/* The first path to try for `cfg` given `f`, into *first; where it cannot
 * be the kernel path, why in `why` (for the log). Returns 0, or -1 with
 * the reason in `why` if the config asks for what this kernel cannot do. */
int datapath_plan(const struct config *cfg, const struct datapath_facts *f, enum datapath_kind *first,
                  char *why, size_t whylen);

/* The path after `k` when opening `k` failed with datapath = "auto":
 * kernel, then xdp, then ring. Returns false when there is none (ring
 * failed, or the config named a path, or protect mode). */
bool datapath_fallback(const struct config *cfg, enum datapath_kind k, enum datapath_kind *next);

const char *datapath_name(enum datapath_kind k);

#endif
