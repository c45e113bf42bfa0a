/* pkt — parse received frames down to TCP, build the segments we send.
 *
 * Pure functions over byte buffers: no I/O, no allocation. Parsers never read
 * past `len` and reject anything malformed with a reason (enum pkt_result) so
 * the caller can count drops by cause. Builders write a complete IP packet
 * (IPv4 or IPv6 header + TCP header + options), checksums included, ready for
 * a raw socket with our own IP header.
 */
#ifndef SYNGUARD_PKT_H
#define SYNGUARD_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PKT_TCP_FIN 0x01
#define PKT_TCP_SYN 0x02
#define PKT_TCP_RST 0x04
#define PKT_TCP_PSH 0x08
#define PKT_TCP_ACK 0x10
#define PKT_TCP_URG 0x20
#define PKT_TCP_ECE 0x40
#define PKT_TCP_CWR 0x80

/* Largest packet the builders produce: IPv6 header + TCP header with 40
 * bytes of options. */
#define PKT_BUILD_MAX (40 + 60)

enum pkt_result {
	PKT_OK = 0,
	PKT_ERR_TRUNC_ETH,  /* shorter than an Ethernet (+VLAN) header */
	PKT_ERR_NOT_IP,     /* EtherType is neither IPv4 nor IPv6 */
	PKT_ERR_TRUNC_IP,   /* shorter than the IP header */
	PKT_ERR_IP_VERSION, /* version field does not match the EtherType */
	PKT_ERR_IP_IHL,     /* IPv4 IHL < 5 or beyond the buffer */
	PKT_ERR_IP_LEN,     /* IP total/payload length disagrees with the buffer */
	PKT_ERR_FRAGMENT,   /* IPv4 MF/offset, or an IPv6 fragment header */
	PKT_ERR_NOT_TCP,    /* transport is not TCP */
	PKT_ERR_IP6_EXT,    /* IPv6 extension header truncated or malformed */
	PKT_ERR_TRUNC_TCP,  /* shorter than a TCP header */
	PKT_ERR_TCP_DOFF,   /* data offset < 5 or beyond the segment */
	PKT_ERR_TCP_OPT,    /* an option's length overruns the header or is < 2 */
	PKT_ERR_IP_CSUM,    /* IPv4 header checksum wrong (the kernel drops these) */
	PKT_RESULT_COUNT
};

struct pkt_tcp_opts {
	bool has_mss;
	bool has_wscale;
	bool sack_ok;
	bool has_ts;
	uint16_t mss;
	uint8_t wscale; /* as sent, may exceed 14; clamp when using it */
	uint32_t tsval;
	uint32_t tsecr;
};

/* A parsed TCP segment. Pointers point into the caller's buffer. */
struct pkt_tcp {
	uint8_t family;    /* AF_INET or AF_INET6 */
	uint8_t ttl;       /* IPv4 TTL or IPv6 hop limit */
	uint8_t saddr[16]; /* network byte order; IPv4 in the first 4 bytes */
	uint8_t daddr[16];
	uint16_t sport; /* host byte order from here on */
	uint16_t dport;
	uint32_t seq;
	uint32_t ack;
	uint8_t flags;   /* PKT_TCP_* */
	uint16_t window; /* raw header field, unscaled */
	struct pkt_tcp_opts opt;
	const uint8_t *tcp; /* start of the TCP header */
	size_t tcp_len;     /* header + payload */
	const uint8_t *payload;
	size_t payload_len;
};

/* One frame as the kernel captured it (the packet ring fills these), link
 * header first, with what the kernel knew of it. */
struct pkt_frame {
	const uint8_t *data;
	size_t len;
	uint64_t arrived_ns; /* CLOCK_REALTIME */
	bool to_host;        /* sent to this interface's own link-layer address
				(PACKET_HOST): not to another host, a broadcast or
				a multicast group */
	bool csum_ok;        /* the NIC verified the checksums, or the frame never
			        crossed a wire (a local sender's partial checksum);
			        otherwise whoever acts on it must verify them */
};
/* Ethernet II frame, with up to two 802.1Q/802.1ad tags, down to TCP. On
 * an error `out` may be partly written. */
enum pkt_result pkt_parse_eth(const uint8_t *frame, size_t len, struct pkt_tcp *out);

/* An IP packet (IPv4 or IPv6, no link header) down to TCP. */
enum pkt_result pkt_parse_ip(const uint8_t *packet, size_t len, struct pkt_tcp *out);

/* True if the TCP checksum of a parsed segment is correct. */
bool pkt_tcp_csum_ok(const struct pkt_tcp *seg);

/* True if no packet from another host can carry `addr` (network order) as
 * its source: bpf/martian.h says which. */
bool pkt_src_martian(uint8_t family, const uint8_t *addr);

/* What our SYN-ACK says besides the addresses. Options are echoed only if
 * the SYN offered them: MSS is always sent; wscale only if syn->opt.has_wscale,
 * SACK-permitted only if syn->opt.sack_ok, timestamps only if syn->opt.has_ts
 * (TSecr = the SYN's TSval). */
struct pkt_synack {
	uint32_t isn;
	uint16_t mss;    /* our MSS */
	uint8_t wscale;  /* our shift */
	uint16_t window; /* unscaled, as in a SYN-ACK header; never 0 (asserted) */
	uint32_t tsval;
	uint8_t ttl;
};

/* Build the SYN-ACK answering `syn` (addresses and ports swapped, ack =
 * syn->seq + 1). Returns the IP packet length, or 0 if `cap` is too small. */
size_t pkt_build_synack(uint8_t *buf, size_t cap, const struct pkt_tcp *syn, const struct pkt_synack *sa);

/* Build the RST answering `seg` as RFC 9293 §3.10.7.1 prescribes: if it has
 * ACK, seq = its ack and no ACK flag; otherwise seq 0, ACK set, ack = its seq
 * + its length (SYN and FIN count one). Returns the length, or 0 if `cap` is
 * too small or `seg` is itself an RST (a reset is never answered). */
size_t pkt_build_rst(uint8_t *buf, size_t cap, const struct pkt_tcp *seg, uint8_t ttl);

const char *pkt_result_str(enum pkt_result r);

#endif
