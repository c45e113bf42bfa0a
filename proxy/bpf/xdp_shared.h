/* xdp_shared — what the BPF programs (xdp_syn.bpf.c, tc_ack.bpf.c) and their
 * loader (../fastpath.c) agree on. Included by all: fixed-width types only,
 * no libc. What the SYN-ACK itself says is synack.h's. */
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

/* The cookie's keys: one slot per epoch, indexed by epoch % XDP_KEYSLOTS,
 * holding the current epoch, the previous one (its cookies are still valid)
 * and the two before (to tell an expired cookie from a forged one). The
 * loader fills the slot of a new epoch, then moves `current` to it, so a
 * program never reads a half-written key. */
#define XDP_KEYSLOTS 4
struct xdp_keyslot {
	__u64 k0, k1; /* SipHash key K_epoch, as two little-endian words */
	__u64 epoch;  /* cookie.h's epoch number; its parity is in the cookie */
	__u32 ready;
	__u32 pad;
};

/* Everything a SYN-ACK needs besides the SYN and synack.h. */
struct xdp_params {
	__u32 current;    /* the keyslot of the current epoch */
	__u16 mss;        /* our MSS, host order */
	__u8 mac[6];      /* the interface's link-layer address: frames to others are not ours */
	__u8 kernel_acks; /* tc_ack checks the ACKs: SYNs for any kernel socket go to the kernel */
	__u8 draining;    /* stopping (SIGTERM): SYNs to protected endpoints are dropped */
	__u8 pad[6];
	struct xdp_keyslot slot[XDP_KEYSLOTS];
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
	XDP_STAT_DRAINING,   /* dropped: synguard is stopping */
	XDP_STAT_COUNT
};

/* What the TC program counted (its own per-CPU map). */
enum tc_stat {
	TC_STAT_VALID = 0,     /* our cookie: the kernel got a request socket */
	TC_STAT_BAD_COOKIE,    /* neither our cookie nor the kernel's: dropped */
	TC_STAT_EXPIRED,       /* ours but older than the previous key (told apart within a ration) */
	TC_STAT_KERNEL_COOKIE, /* the kernel's own cookie (a SYN it answered): passed */
	TC_STAT_ASSIGN_FAILED, /* our cookie, but the kernel refused the request socket: dropped */
	TC_STAT_NO_LISTENER,   /* to a protected endpoint nobody listens on: left to the kernel */
	TC_STAT_MALFORMED,     /* IP lengths, header checksum or TCP options: dropped */
	TC_STAT_COUNT
};

/* The TC program's decision about a handshake ACK, left in the packet's
 * control block (__sk_buff.cb[]) where BPF_PROG_TEST_RUN returns it: the
 * unit test compares it with cookie_check()'s. */
enum tc_verdict {
	TC_V_NONE = 0, /* not a handshake ACK to a protected endpoint without a socket */
	TC_V_VALID,    /* our cookie: options in cb[1..4] */
	TC_V_BAD_COOKIE,
	TC_V_EXPIRED,
	TC_V_KERNEL_COOKIE,
	TC_V_MALFORMED,
	TC_V_ASSIGN_FAILED,
};
#define TC_CB_VERDICT 0
#define TC_CB_MSS 1    /* the MSS given to the kernel */
#define TC_CB_WSCALE 2 /* snd_wscale | rcv_wscale << 8 | wscale_ok << 16 | sack_ok << 24 */
#define TC_CB_TSVAL 3  /* rcv_tsval, if tstamp_ok */
#define TC_CB_TS 4     /* tstamp_ok | kfunc result << 8 (0, or -errno as a byte) */

#endif
