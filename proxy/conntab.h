/* conntab — the connections a worker has adopted and not yet finished.
 *
 * The ring sees every packet to a protected port, also those of live
 * connections, which the kernel socket handles: the front end looks each
 * one up here first and leaves it alone. The cookie is kept so that a
 * retransmitted handshake ACK is recognised as a duplicate. Entries exist
 * only for verified handshakes (the caller bounds how many); the hash is
 * seeded so clients cannot aim at one chain. Entries are embedded in the
 * caller's per-connection struct (the table allocates nothing per entry).
 * One table per worker.
 */
#ifndef SYNGUARD_CONNTAB_H
#define SYNGUARD_CONNTAB_H

#include <stddef.h>
#include <stdint.h>

#include "cookie.h"

struct conntab;

struct conntab_entry {
	struct conntab_entry *next;
	struct cookie_tuple key; /* compared as bytes: zero-fill the whole key first */
	uint32_t cookie;         /* our ISN for this connection */
};

/* A table sized for about `expected` entries. Freeing it leaves any linked
 * entries to their owner. */
struct conntab *conntab_new(size_t expected, uint64_t seed);
void conntab_free(struct conntab *t);

/* Sized for about `expected` entries from now on, if that is more than
 * before (a reload raised max_connections): linked entries move along.
 * Returns 0, or -1 (out of memory) with the table as it was. */
int conntab_grow(struct conntab *t, size_t expected);

struct conntab_entry *conntab_find(const struct conntab *t, const struct cookie_tuple *key);

/* Link `e` (key and cookie filled in; the key must not be linked yet). */
void conntab_insert(struct conntab *t, struct conntab_entry *e);

/* Unlink `e`; the caller frees it. */
void conntab_remove(struct conntab *t, struct conntab_entry *e);
size_t conntab_count(const struct conntab *t);

#endif
