/* tx — send the segments we build (SYN-ACKs, resets) straight to the link.
 *
 * Each answer goes back to the link-layer address the client's frame came
 * from, through an AF_PACKET TX ring that bypasses the qdisc: no routing,
 * netfilter or neighbour lookup, no syscall or copy per packet. Frames are
 * queued in the mapped ring and one send() hands a batch to the kernel when
 * it fills or when the caller flushes (once per receive ring block). Replying
 * to the previous hop assumes the route back to the client is the way it came,
 * as for any SYN proxy working at the link layer.
 */
#ifndef SYNGUARD_TX_H
#define SYNGUARD_TX_H

#include <stddef.h>
#include <stdint.h>

#define TX_BATCH 64

struct tx;

/* A TX ring on `ifname`. NULL with a message in `err`. */
struct tx *tx_open(const char *ifname, char *err, size_t errlen);
void tx_close(struct tx *tx);

/* Room for one IP packet of up to PKT_BUILD_MAX bytes, or NULL if the ring
 * is full (the kernel has not sent earlier frames yet): the packet is then
 * not sent, and counted by tx_flush(). */
uint8_t *tx_slot(struct tx *tx);

/* Queue the packet just built in the slot: `len` bytes of `family`, as an
 * answer to the Ethernet frame `in` (its addresses are swapped). */
void tx_commit(struct tx *tx, const uint8_t *in, uint8_t family, size_t len);

/* Hand everything queued to the kernel. Returns how many packets could not
 * be sent since the last call. */
unsigned tx_flush(struct tx *tx);

#endif
