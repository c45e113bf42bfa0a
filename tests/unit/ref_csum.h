/* ref_csum — Internet checksums for the tests, written independently of
 * pkt.c (a byte at a time, even offsets as the high byte of a 16-bit word):
 * to verify what the code builds, and to make a frame a test has edited
 * well-formed again but for the defect it means. Untagged Ethernet frames,
 * IPv4 without options or IPv6 without extension headers.
 */
#ifndef SYNGUARD_TEST_REF_CSUM_H
#define SYNGUARD_TEST_REF_CSUM_H

#include <stddef.h>
#include <stdint.h>

static inline uint32_t ref_sum(uint32_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		sum += i % 2 ? p[i] : (uint32_t)p[i] << 8;
	return sum;
}

static inline uint16_t ref_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static inline void ref_put_csum(uint8_t *at, uint32_t sum)
{
	uint16_t c = (uint16_t)~ref_fold(sum);

	at[0] = (uint8_t)(c >> 8);
	at[1] = (uint8_t)c;
}

/* The IPv4 header's checksum, of the header at `ip`. */
static inline void ref_fix_ip4_csum(uint8_t *ip)
{
	size_t hlen = (size_t)(ip[0] & 0x0f) * 4;

	ip[10] = ip[11] = 0;
	ref_put_csum(ip + 10, ref_sum(0, ip, hlen));
}

/* Both checksums of the IPv4 frame `f` (`len` bytes: a total length beyond
 * the frame sums what is there). */
static inline void ref_fix_csums4(uint8_t *f, size_t len)
{
	uint8_t *ip = f + 14, *tcp = ip + 20;
	size_t tcp_len = (size_t)(ip[2] << 8 | ip[3]) - 20;

	if (tcp_len > len - 14 - 20)
		tcp_len = len - 14 - 20;
	ref_fix_ip4_csum(ip);
	tcp[16] = tcp[17] = 0;
	ref_put_csum(tcp + 16, ref_sum(ref_sum(6 + (uint32_t)tcp_len, ip + 12, 8), tcp, tcp_len));
}

/* The TCP checksum of the IPv6 frame `f`. */
static inline void ref_fix_csum6(uint8_t *f)
{
	uint8_t *ip = f + 14, *tcp = ip + 40;
	size_t tcp_len = (size_t)(ip[4] << 8 | ip[5]);

	tcp[16] = tcp[17] = 0;
	ref_put_csum(tcp + 16, ref_sum(ref_sum(6 + (uint32_t)tcp_len, ip + 8, 32), tcp, tcp_len));
}

#endif
