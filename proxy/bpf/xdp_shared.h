/* xdp_shared — what the XDP program (xdp_syn.bpf.c) and its loader
 * (../fastpath.c) agree on. Included by both: fixed-width types only, no
 * libc. What the SYN-ACK itself says is synack.h's. */
#ifndef SYNGUARD_XDP_SHARED_H
#define SYNGUARD_XDP_SHARED_H

#include <linux/types.h>

/* One protected address:port. A zero address is a wildcard. Addresses and
 * the port in network byte order; IPv4 in the first 4 bytes of addr. */
struct xdp_endpoint {
	__u8 family;
	__u8 pad;
	__u16 port;
	__u8 addr[16];
};

/* The cookie's key. Two slots, one per epoch parity: the loader fills the
 * slot of a new epoch, then flips `current`, so the program never reads a
 * half-written key. */
struct xdp_keyslot {
	__u64 k0, k1; /* SipHash key K_epoch, as two little-endian words */
	__u32 parity; /* epoch & 1 */
	__u32 ready;
};

/* Everything a SYN-ACK needs besides the SYN and synack.h. */
struct xdp_params {
	__u32 current; /* which keyslot is in use */
	__u16 mss;     /* our MSS, host order */
	__u8 mac[6];   /* the interface's link-layer address: frames to others are not ours */
	struct xdp_keyslot slot[2];
};

/* One of this host's addresses (the local_addrs map): a SYN from one is a
 * martian, and a wildcard listen answers only for them. */
struct xdp_addr {
	__u8 family;
	__u8 pad[3];
	__u8 addr[16]; /* network order; IPv4 in the first 4 bytes */
};
#define XDP_LOCAL_ADDRS_MAX 4096

enum xdp_stat {
	XDP_STAT_SYN = 0,    /* pure SYNs to a protected port */
	XDP_STAT_SYNACK,     /* answered here with XDP_TX */
	XDP_STAT_PASS_LIVE,  /* SYNs for a 4-tuple with a kernel socket: to the kernel */
	XDP_STAT_PASS_OTHER, /* SYNs left to the ring path (IP options, data, not for us, no key) */
	XDP_STAT_MARTIAN,    /* dropped: impossible or own source, group link-layer source */
	XDP_STAT_MALFORMED,  /* dropped: lengths that do not add up, IPv4 header checksum */
	XDP_STAT_BAD_CSUM,   /* dropped: wrong TCP checksum */
	XDP_STAT_COUNT
};

#endif
