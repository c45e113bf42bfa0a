/* cookie — stateless keyed-MAC SYN cookies.
 *
 * A cookie is the 32-bit ISN of our SYN-ACK. It proves, when the client's ACK
 * comes back with ack == cookie + 1, that we answered a SYN from exactly this
 * 4-tuple with exactly this client ISN within the last one to two key periods,
 * and it carries the client's TCP options we need to rebuild the connection.
 *
 * Bit layout of the ISN (bit 31 is the most significant):
 *
 *   31 ............... 8   7        6 .. 4      3 .. 1        0
 *   +-------------------+--------+-----------+-------------+------+
 *   |  MAC (24 bits)    | epoch  | MSS index | wscale index | SACK |
 *   |                   | parity |  (3 bits) |   (3 bits)   |      |
 *   +-------------------+--------+-----------+-------------+------+
 *
 *   MAC  = first 24 bits of SipHash-2-4(K_epoch, family | saddr | daddr |
 *          sport | dport | client ISN | low 8 bits of the cookie)
 *   K_epoch = first 16 bytes of HMAC-SHA256(master, "synguard-cookie" | epoch)
 *   epoch = now / period (wall-clock seconds, so instances sharing a master
 *          key and a synchronised clock accept each other's cookies)
 *
 * Exact bytes, since instances sharing a key file must agree on them: the
 * label is its 15 characters without a NUL, epoch is 8 bytes big-endian. The
 * SipHash input is 42 bytes: family (1, its AF_ value), saddr and daddr (16
 * each; for AF_INET only the first 4 count, the other 12 enter as zeros),
 * sport, dport (2 each) and client ISN (4) big-endian, the low 8 bits (1).
 * SipHash has the 64-bit output, serialised little-endian as in the reference
 * code; its bytes 0, 1, 2 become cookie bits 31..24, 23..16, 15..8.
 *
 * The low 8 bits are themselves under the MAC, so a forger must hit one of
 * 2^8 valid values out of 2^32: probability 2^-24 per guess. The parity bit
 * picks exactly one key (current or previous epoch), so allowing the previous
 * epoch does not double that probability.
 *
 * MSS is rounded down to synack_mss_table[] and window scale down to
 * synack_wscale_table[] (synack.h, which holds this layout's arithmetic for
 * the C code and the BPF programs alike); rounding down is always safe (we believe the client's
 * window or segment limit is a little smaller than it is, never larger). The
 * one exception: an MSS below 48 becomes 48, the floor Linux applies to any
 * socket anyway (tcp_min_snd_mss).
 * Timestamps are not encoded: the ACK itself says whether they were agreed.
 *
 * A jar is not thread-safe: use one per thread, made from the same master.
 * All functions are pure computation (no I/O, no clock): callers pass `now`.
 */
#ifndef SYNGUARD_COOKIE_H
#define SYNGUARD_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "synack.h"

#define COOKIE_MASTER_LEN 32
#define COOKIE_WSCALE_NONE SYNACK_WSCALE_NONE /* the client sent no window-scale option */

enum cookie_verdict {
	COOKIE_VALID = 0,
	COOKIE_BAD_MAC, /* forged, corrupted, or for another tuple/ISN */
	COOKIE_EXPIRED, /* was ours, but older than the previous key epoch */
};

/* The connection as seen in the client's packets: source = client. Addresses
 * are in network byte order (IPv4 uses the first 4 bytes), ports host order. */
struct cookie_tuple {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t saddr[16];
	uint8_t daddr[16];
	uint16_t sport;
	uint16_t dport;
};

struct cookie_opts {
	uint16_t mss;   /* client's MSS; 536 when it sent none (RFC 9293) */
	uint8_t wscale; /* client's shift 0..14, or COOKIE_WSCALE_NONE */
	bool sack_ok;
};

struct cookie_jar;

/* A jar keyed by `master`, rotating its key every `period_s` seconds (>= 1).
 * Returns NULL if period_s is 0 or OpenSSL cannot provide the MACs. */
struct cookie_jar *cookie_jar_new(const uint8_t master[COOKIE_MASTER_LEN], uint32_t period_s);
void cookie_jar_free(struct cookie_jar *jar);

/* Fill `master` from RAND_bytes. Returns 0, or -1 if the RNG failed. */
int cookie_master_random(uint8_t master[COOKIE_MASTER_LEN]);

/* The ISN to send for a SYN. `granted` (may be NULL) receives the options as
 * cookie_check() will recover them (rounded down). Should OpenSSL fail at run
 * time (it has no reason to once the jar exists), the MAC bits are zero: the
 * cookie is then no better than a guess, and the failed step is retried on
 * the next call. */
uint32_t cookie_make(struct cookie_jar *jar, const struct cookie_tuple *t, uint32_t client_isn,
                     const struct cookie_opts *offered, uint64_t now, struct cookie_opts *granted);

/* Verify the third packet of a handshake: `seq` and `ack` as in its header.
 * On COOKIE_VALID, `out` (may be NULL) receives the recovered options; it is
 * untouched otherwise. Constant-time compare. One MAC, so an ACK flood costs
 * what a SYN flood does: whatever is not valid now is COOKIE_BAD_MAC, forged
 * or merely old (cookie_diagnose() tells which); so is a cookie from an
 * epoch ahead of `now` (a peer's clock running fast). */
enum cookie_verdict cookie_check(struct cookie_jar *jar, const struct cookie_tuple *t, uint32_t seq,
                                 uint32_t ack, uint64_t now, struct cookie_opts *out);

/* For an ACK cookie_check() refused: COOKIE_EXPIRED if its cookie was ours
 * but is older than the previous epoch (a slow client, or a peer instance's
 * clock running behind), else COOKIE_BAD_MAC. One more MAC: callers ration
 * it. */
enum cookie_verdict cookie_diagnose(struct cookie_jar *jar, const struct cookie_tuple *t, uint32_t seq,
                                    uint32_t ack, uint64_t now);

/* The raw SipHash key K_epoch of the epoch `now` falls in, for a cookie
 * maker outside this module (the XDP fast path). Returns 0, or -1 if
 * OpenSSL failed. */
#define COOKIE_EPOCH_KEY_LEN 16
int cookie_epoch_key(struct cookie_jar *jar, uint64_t now, uint64_t *epoch,
                     uint8_t key[COOKIE_EPOCH_KEY_LEN]);

const char *cookie_verdict_str(enum cookie_verdict v);

#endif
