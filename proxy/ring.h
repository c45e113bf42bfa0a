/* ring — frames for the protected ports from an AF_PACKET TPACKET_V3 ring.
 *
 * The kernel fills fixed-size blocks of frames and hands a block over when it
 * is full or after RING_BLOCK_TIMEOUT_MS, so one wakeup serves a whole batch
 * (DESIGN §2). A classic BPF filter keeps only TCP to the protected ports;
 * the front end checks addresses itself. Workers share the interface's
 * traffic by flow hash (PACKET_FANOUT), so one connection's packets always
 * reach the same worker. The ring's memory is mapped once at open.
 */
#ifndef SYNGUARD_RING_H
#define SYNGUARD_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "pkt.h"

#define RING_BLOCK_SIZE (256u * 1024u)
#define RING_BLOCK_COUNT 32u
#define RING_BLOCK_TIMEOUT_MS 1u

struct ring;

/* Open a ring on cfg->interface. Workers' rings share the traffic in one
 * fanout group: `fanout` NULL for a ring alone; *fanout 0 to found a group
 * whose id the kernel picks among the free ones (so no other process's
 * group is joined by chance), written back for the next rings to join.
 * Returns NULL with a message in `err`. */
struct ring *ring_open(const struct config *cfg, uint16_t *fanout, char *err, size_t errlen);
void ring_close(struct ring *r);

/* Take frames for cfg->listen's ports from now on (a reload); the old filter
 * stays on failure. Returns 0, or -1 with the reason in `err`. */
int ring_set_filter(struct ring *r, const struct config *cfg, char *err, size_t errlen);
int ring_fd(const struct ring *r);

/* Called for each frame of a block. */
typedef void (*ring_frame_fn)(void *arg, const struct pkt_frame *f);
/* Called after each block's frames, while they are still valid. */
typedef void (*ring_block_fn)(void *arg);

/* Walk up to `max_blocks` of the blocks the kernel has handed over, giving
 * each back after it. Returns the number of frames seen. */
size_t ring_drain(struct ring *r, unsigned max_blocks, ring_frame_fn on_frame, ring_block_fn on_block_end,
                  void *arg);

/* The socket's pending error (SO_ERROR, which reading clears), or 0. The
 * kernel sets ENETDOWN when the interface goes down: until it is read, poll
 * reports the socket in error at every wakeup. Frames flow again by
 * themselves once the interface is up; if it is deleted, never. */
int ring_take_error(struct ring *r);

/* Frames the kernel dropped for lack of ring space since the last call. */
uint64_t ring_take_drops(struct ring *r);

#endif
