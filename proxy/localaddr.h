/* localaddr — the addresses of this host (its network namespace).
 *
 * The packet path answers only what the kernel itself would accept: a
 * segment from one of our own addresses is a martian, and with a wildcard
 * listen a destination must be one of ours (not a broadcast, not an address
 * the frame merely passed by). The set is a sorted array, read on every
 * frame, written only by localaddr_refresh(): one set per thread that reads
 * it. Addresses reached only through local routes (AnyIP, `ip route add
 * local ...`) are not in it.
 */
#ifndef SYNGUARD_LOCALADDR_H
#define SYNGUARD_LOCALADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct localaddr_entry {
	uint8_t family;   /* AF_INET or AF_INET6 */
	uint8_t addr[16]; /* network byte order; IPv4 in the first 4 bytes, the rest zero */
};

struct localaddr;

struct localaddr *localaddr_new(void);
void localaddr_free(struct localaddr *la);

/* Replace the set with `n` entries (in any order, duplicates allowed).
 * Returns 1 if the set changed, 0 if not, -1 (set unchanged) if out of
 * memory. */
int localaddr_set(struct localaddr *la, const struct localaddr_entry *e, size_t n);

/* Read the interfaces' addresses (getifaddrs) into the set. Same returns,
 * with errno on -1. */
int localaddr_refresh(struct localaddr *la);

bool localaddr_has(const struct localaddr *la, uint8_t family, const uint8_t *addr);

size_t localaddr_count(const struct localaddr *la);
const struct localaddr_entry *localaddr_at(const struct localaddr *la, size_t i);

#endif
