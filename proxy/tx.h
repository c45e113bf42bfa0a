/* tx — send the segments we build (SYN-ACKs, resets) on raw IP sockets.
 *
 * Packets carry our own IP header, so the source is whatever address the
 * client reached. They are queued into a fixed batch and leave with one
 * sendmmsg() per family when the batch fills or the caller flushes (once
 * per ring block): no allocation and few syscalls per SYN.
 */
#ifndef SYNGUARD_TX_H
#define SYNGUARD_TX_H

#include <stddef.h>
#include <stdint.h>

#define TX_BATCH 64

struct tx;

/* Open raw sockets for IPv4 and IPv6. NULL with a message in `err`. */
struct tx *tx_open(char *err, size_t errlen);
void tx_close(struct tx *tx);

/* A slot to build one `family` packet into (PKT_BUILD_MAX bytes); flushes
 * that family's batch first if it is full. */
uint8_t *tx_slot(struct tx *tx, uint8_t family);

/* Queue the packet just built in the slot: `len` bytes to `daddr` (network
 * order, 4 or 16 bytes). Building nothing is fine: just don't commit. */
void tx_commit(struct tx *tx, uint8_t family, const uint8_t *daddr, size_t len);

/* Send everything queued. Returns the number of packets the kernel refused. */
unsigned tx_flush(struct tx *tx);

#endif
