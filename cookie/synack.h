/* synack — the SYN-ACK contract: what every maker of synguard's SYN-ACKs and
 * every checker of their cookies computes alike. The C code (cookie.c, pkt.c,
 * frontend.c) and the BPF programs (proxy/bpf/) include it, so ECMP instances,
 * the ring path and the XDP fast path cannot drift apart. cookie.h documents
 * the cookie; this header is its arithmetic: the option tables, the low byte,
 * the MAC's message, SipHash-2-4 on it (cookie.c takes OpenSSL's, which the
 * unit tests hold this one to) and the SYN-ACK's fixed fields and options.
 *
 * Pure inline functions on fixed-width types, no libc: it builds with gcc for
 * the daemon and with clang -target bpf. Ports, ISNs and MSS in host order.
 */
#ifndef SYNGUARD_SYNACK_H
#define SYNGUARD_SYNACK_H

#include <linux/types.h>

/* What every SYN-ACK of ours says besides the cookie and the MSS. */
#define SYNACK_WSCALE 7     /* our receive window shift, as Linux uses by default */
#define SYNACK_WINDOW 65535 /* never 0, so data sent with the ACK is deliverable */
#define SYNACK_TTL 64

/* The address families as Linux numbers them (AF_INET, AF_INET6): the
 * cookie's message carries them, and BPF programs have no socket.h. */
#define SYNACK_AF_INET 2
#define SYNACK_AF_INET6 10

/* TCP option kinds, and the sizes of those we use (kind and length bytes
 * included). */
#define SYNACK_OPT_EOL 0
#define SYNACK_OPT_NOP 1
#define SYNACK_OPT_MSS 2
#define SYNACK_OPT_WSCALE 3
#define SYNACK_OPT_SACK_OK 4
#define SYNACK_OPT_TS 8
#define SYNACK_OPT_MSS_LEN 4
#define SYNACK_OPT_WSCALE_LEN 3
#define SYNACK_OPT_SACK_OK_LEN 2
#define SYNACK_OPT_TS_LEN 10
#define SYNACK_OPTS_MAX 20 /* MSS, SACK-permitted and timestamps, NOP and wscale */

/* What a SYN offered, as the cookie takes it. */
#define SYNACK_NO_OPTS_MSS 536  /* RFC 9293: the MSS of a SYN without the option */
#define SYNACK_WSCALE_NONE 0xff /* the SYN had no window-scale option */
#define SYNACK_WSCALE_MAX 14    /* RFC 7323: larger shifts count as 14 */

static inline __u16 synack_offered_mss(int has_mss, __u16 mss)
{
	return has_mss ? mss : SYNACK_NO_OPTS_MSS;
}

static inline __u8 synack_offered_wscale(int has_wscale, __u8 wscale)
{
	if (!has_wscale)
		return SYNACK_WSCALE_NONE;
	return wscale > SYNACK_WSCALE_MAX ? SYNACK_WSCALE_MAX : wscale;
}

/* The values the cookie can carry (cookie.h says why rounding down is safe);
 * index 0 of the wscale table means "no window scaling". */
#ifdef __bpf__
/* In BPF objects, in .rodata proper: clang would put tables this small in
 * a mergeable-constants section (.rodata.cst16), which libbpf cannot map. */
#define SYNACK_TABLE __attribute__((section(".rodata")))
#else
#define SYNACK_TABLE
#endif
static const __u16 synack_mss_table[8] SYNACK_TABLE = { 48, 536, 1220, 1300, 1360, 1440, 1452, 1460 };
static const __u8 synack_wscale_table[8] SYNACK_TABLE = { SYNACK_WSCALE_NONE, 0, 4, 6, 7, 8, 9, 10 };

/* Index of the largest entry <= mss; below the table, its floor. */
static inline __u8 synack_mss_index(__u16 mss)
{
	__u8 i = 7;

	while (i > 0 && synack_mss_table[i] > mss)
		i--;
	return i;
}

/* Index of the largest entry <= wscale; shifts over 14 round down to the
 * top entry like 14 itself does. */
static inline __u8 synack_wscale_index(__u8 wscale)
{
	__u8 i = 7;

	if (wscale == SYNACK_WSCALE_NONE)
		return 0;
	while (i > 1 && synack_wscale_table[i] > wscale)
		i--;
	return i;
}

/* The cookie's low 8 bits: epoch parity (bit 7), MSS index (6..4), wscale
 * index (3..1), SACK-permitted (0). */
#define SYNACK_LOW_PARITY_SHIFT 7
#define SYNACK_LOW_MSS_SHIFT 4
#define SYNACK_LOW_WSCALE_SHIFT 1
#define SYNACK_LOW_INDEX_MASK 7

static inline __u8 synack_low_pack(__u64 epoch, __u16 mss, __u8 wscale, int sack_ok)
{
	return (__u8)((epoch & 1) << SYNACK_LOW_PARITY_SHIFT | synack_mss_index(mss) << SYNACK_LOW_MSS_SHIFT |
	              synack_wscale_index(wscale) << SYNACK_LOW_WSCALE_SHIFT | (sack_ok ? 1 : 0));
}

static inline __u32 synack_low_parity(__u8 low)
{
	return low >> SYNACK_LOW_PARITY_SHIFT & 1;
}

static inline __u16 synack_low_mss(__u8 low)
{
	return synack_mss_table[low >> SYNACK_LOW_MSS_SHIFT & SYNACK_LOW_INDEX_MASK];
}

static inline __u8 synack_low_wscale(__u8 low)
{
	return synack_wscale_table[low >> SYNACK_LOW_WSCALE_SHIFT & SYNACK_LOW_INDEX_MASK];
}

static inline int synack_low_sack(__u8 low)
{
	return low & 1;
}

/* The MAC's 42-byte message (cookie.h: exact bytes), in a buffer of whole
 * little-endian words as SipHash reads it. */
enum {
	SYNACK_MSG_FAMILY = 0,
	SYNACK_MSG_SADDR = 1,
	SYNACK_MSG_DADDR = 17,
	SYNACK_MSG_SPORT = 33,
	SYNACK_MSG_DPORT = 35,
	SYNACK_MSG_ISN = 37,
	SYNACK_MSG_LOW = 41,
	SYNACK_MSG_LEN = 42,
};

struct synack_msg {
	union {
		__u8 b[48];
		__u64 w[6];
	};
};

static inline void synack_put16(__u8 *p, __u16 v)
{
	p[0] = (__u8)(v >> 8);
	p[1] = (__u8)v;
}

/* Addresses in network order, 16 bytes read; for AF_INET only the first 4
 * count, the other 12 enter as zeros whatever the caller left there. */
static inline void synack_msg_fill(struct synack_msg *m, __u8 family, const __u8 *saddr, const __u8 *daddr,
                                   __u16 sport, __u16 dport, __u32 isn, __u8 low)
{
	__u8 *p = m->b;

	__builtin_memset(p, 0, sizeof(m->b));
	p[SYNACK_MSG_FAMILY] = family;
	__builtin_memcpy(p + SYNACK_MSG_SADDR, saddr, 16);
	__builtin_memcpy(p + SYNACK_MSG_DADDR, daddr, 16);
	if (family == SYNACK_AF_INET) {
		__builtin_memset(p + SYNACK_MSG_SADDR + 4, 0, 12);
		__builtin_memset(p + SYNACK_MSG_DADDR + 4, 0, 12);
	}
	synack_put16(p + SYNACK_MSG_SPORT, sport);
	synack_put16(p + SYNACK_MSG_DPORT, dport);
	synack_put16(p + SYNACK_MSG_ISN, (__u16)(isn >> 16));
	synack_put16(p + SYNACK_MSG_ISN + 2, (__u16)isn);
	p[SYNACK_MSG_LOW] = low;
}

/* A little-endian 64-bit word: SipHash's key halves, message words and
 * output. */
static inline __u64 synack_le64(const __u8 *p)
{
	__u64 v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static inline __u64 synack_msg_word(const struct synack_msg *m, int i)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return m->w[i];
#else
	return synack_le64(m->b + 8 * i);
#endif
}

static inline __u64 synack_rotl(__u64 x, int b)
{
	return x << b | x >> (64 - b);
}

/* SipHash's state, passed by value so that it stays in registers. */
struct synack_sip {
	__u64 v0, v1, v2, v3;
};

static inline struct synack_sip synack_sipround(struct synack_sip s)
{
	s.v0 += s.v1;
	s.v1 = synack_rotl(s.v1, 13);
	s.v1 ^= s.v0;
	s.v0 = synack_rotl(s.v0, 32);
	s.v2 += s.v3;
	s.v3 = synack_rotl(s.v3, 16);
	s.v3 ^= s.v2;
	s.v0 += s.v3;
	s.v3 = synack_rotl(s.v3, 21);
	s.v3 ^= s.v0;
	s.v2 += s.v1;
	s.v1 = synack_rotl(s.v1, 17);
	s.v1 ^= s.v2;
	s.v2 = synack_rotl(s.v2, 32);
	return s;
}

/* SipHash-2-4 with the 64-bit output of the cookie message (5 whole words,
 * then the last 2 bytes with the length), under the key halves k0 and k1
 * (synack_le64() of the key's bytes 0..7 and 8..15). */
static inline __u64 synack_siphash(const struct synack_msg *m, __u64 k0, __u64 k1)
{
	struct synack_sip s = {
		k0 ^ 0x736f6d6570736575ULL,
		k1 ^ 0x646f72616e646f6dULL,
		k0 ^ 0x6c7967656e657261ULL,
		k1 ^ 0x7465646279746573ULL,
	};
	__u64 last = (__u64)SYNACK_MSG_LEN << 56 | (__u64)m->b[SYNACK_MSG_LEN - 1] << 8 |
	             m->b[SYNACK_MSG_LEN - 2];

	for (int i = 0; i < SYNACK_MSG_LEN / 8; i++) {
		__u64 w = synack_msg_word(m, i);

		s.v3 ^= w;
		s = synack_sipround(synack_sipround(s));
		s.v0 ^= w;
	}
	s.v3 ^= last;
	s = synack_sipround(synack_sipround(s));
	s.v0 ^= last;
	s.v2 ^= 0xff;
	s = synack_sipround(synack_sipround(synack_sipround(synack_sipround(s))));
	return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

/* The cookie: the MAC's output bytes 0, 1, 2 (little-endian, as the
 * reference code serialises it) as bits 31..8, above the low byte. */
static inline __u32 synack_cookie(__u64 mac, __u8 low)
{
	return (__u32)(mac & 0xff) << 24 | (__u32)(mac >> 8 & 0xff) << 16 | (__u32)(mac >> 16 & 0xff) << 8 |
	       low;
}

/* Our SYN-ACK's options, in the order and alignment Linux uses, into `o`
 * (SYNACK_OPTS_MAX bytes): MSS always; SACK-permitted and timestamps (TSval
 * `tsval`, TSecr `tsecr`) if the SYN offered them; our shift `wscale` if the
 * SYN offered window scaling. Returns their length, a multiple of 4. */
static inline __u32 synack_opts_write(__u8 *o, __u16 mss, int sack_ok, int has_ts, __u32 tsval, __u32 tsecr,
                                      int has_wscale, __u8 wscale)
{
	__u32 n = SYNACK_OPT_MSS_LEN;

	o[0] = SYNACK_OPT_MSS;
	o[1] = SYNACK_OPT_MSS_LEN;
	synack_put16(o + 2, mss);
	if (has_ts) {
		/* SACK-permitted, when offered, stands in for the timestamps' two NOPs. */
		if (sack_ok) {
			o[4] = SYNACK_OPT_SACK_OK;
			o[5] = SYNACK_OPT_SACK_OK_LEN;
		} else {
			o[4] = SYNACK_OPT_NOP;
			o[5] = SYNACK_OPT_NOP;
		}
		o[6] = SYNACK_OPT_TS;
		o[7] = SYNACK_OPT_TS_LEN;
		synack_put16(o + 8, (__u16)(tsval >> 16));
		synack_put16(o + 10, (__u16)tsval);
		synack_put16(o + 12, (__u16)(tsecr >> 16));
		synack_put16(o + 14, (__u16)tsecr);
		n = 16;
	} else if (sack_ok) {
		o[4] = SYNACK_OPT_NOP;
		o[5] = SYNACK_OPT_NOP;
		o[6] = SYNACK_OPT_SACK_OK;
		o[7] = SYNACK_OPT_SACK_OK_LEN;
		n = 8;
	}
	if (has_wscale) {
		o[n] = SYNACK_OPT_NOP;
		o[n + 1] = SYNACK_OPT_WSCALE;
		o[n + 2] = SYNACK_OPT_WSCALE_LEN;
		o[n + 3] = wscale;
		n += 4;
	}
	return n;
}

#endif
