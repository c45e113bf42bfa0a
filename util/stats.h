/* stats — the counters an operator reads to see what synguard is doing.
 *
 * Each worker owns one struct stats and is its only writer (relaxed atomics,
 * no locks on the packet path); readers sum all workers' structs at any time.
 */
#ifndef SYNGUARD_STATS_H
#define SYNGUARD_STATS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* X(name, help): the name is also the metric name. Keep gauges marked. */
#define STATS_COUNTERS(X)                                                                                    \
	X(rx_frames, "frames read from the packet ring")                                                     \
	X(rx_malformed, "frames dropped as malformed (see log at debug)")                                    \
	X(rx_not_ours, "frames for another host, a broadcast or multicast, or an address not ours, dropped") \
	X(rx_martian, "segments from impossible sources (loopback, multicast, broadcast, ours), dropped")    \
	X(rx_bad_csum, "segments with a wrong TCP checksum, dropped")                                        \
	X(rx_ignored, "frames for live connections or not a SYN/ACK, left to the kernel")                    \
	X(ring_drops, "frames the kernel dropped because the ring was full")                                 \
	X(syn_received, "pure SYNs to a protected address:port")                                             \
	X(synack_sent, "cookie SYN-ACKs sent")                                                               \
	X(synack_xdp, "of those, sent from the driver by the XDP fast path")                                 \
	X(syn_to_kernel,                                                                                     \
	  "kernel path: SYNs left to the kernel (a socket on their 4-tuple, data, IP options)")              \
	X(syn_draining, "SYNs not answered because synguard is stopping (SIGTERM: draining)")                \
	X(synack_send_failed, "SYN-ACKs (and resets) dropped: the TX ring was full")                         \
	X(ack_valid, "handshake ACKs whose cookie checked out")                                              \
	X(ack_bad_cookie, "ACKs with a wrong cookie (forged or stale), dropped")                             \
	X(ack_expired,                                                                                       \
	  "ACKs with a cookie older than the previous key, dropped (told apart for 64 a second per worker)") \
	X(ack_duplicate, "valid ACKs for an already adopted connection, ignored")                            \
	X(ack_kernel_cookie,                                                                                 \
	  "kernel path: ACKs with the kernel's own cookie (for a SYN it answered), passed")                  \
	X(ack_no_listener,                                                                                   \
	  "kernel path: ACKs to a protected endpoint nobody listens on, left to the kernel")                 \
	X(reqsk_failed, "kernel path: valid handshakes the kernel refused to turn into a socket, dropped")   \
	X(accepted, "kernel path, relay mode: connections taken from the listening sockets")                 \
	X(adopted, "connections turned into kernel sockets with TCP_REPAIR")                                 \
	X(adopt_failed, "valid handshakes whose adoption failed")                                            \
	X(adopt_tw_killed, "TIME_WAIT sockets removed so a client could reuse its port")                     \
	X(early_data_segments, "segments injected that arrived before adoption")                             \
	X(early_data_bytes, "bytes injected that arrived before adoption")                                   \
	X(early_data_late, "of those segments, ones the ring delivered after adoption")                      \
	X(linger_evicted, "finished connections forgotten before their cookie expired (more than "           \
	                  "max_connections finished): a copy of their handshake ACK could be adopted again") \
	X(conn_limit_rejected, "valid handshakes refused: max_connections reached")                          \
	X(backend_connect_ok, "backend connections established")                                             \
	X(backend_connect_failed, "backend connects refused or timed out")                                   \
	X(backend_unavailable, "clients reset because no backend answered")                                  \
	X(bytes_client_to_backend, "bytes relayed from clients to backends")                                 \
	X(bytes_backend_to_client, "bytes relayed from backends to clients")                                 \
	X(conn_closed, "relayed connections finished")                                                       \
	X(conn_reset, "relayed connections ended by a reset on either side")                                 \
	X(conn_idle_timeout, "relayed connections closed after idle_timeout_s of silence")                   \
	X(conn_active, "gauge: relayed connections open now")                                                \
	X(flood, "gauge: 1 while the log reports a flood (checked every 10 s), else 0")                      \
	X(datapath, "gauge: the data path running: 0 ring, 1 XDP + ring, 2 kernel")

enum stats_id {
#define STATS_ENUM(name, help) STAT_##name,
	STATS_COUNTERS(STATS_ENUM)
#undef STATS_ENUM
	        STAT_COUNT
};

struct stats {
	_Atomic uint64_t v[STAT_COUNT];
};

static inline void stats_add(struct stats *s, enum stats_id id, uint64_t n)
{
	atomic_fetch_add_explicit(&s->v[id], n, memory_order_relaxed);
}

static inline void stats_inc(struct stats *s, enum stats_id id)
{
	stats_add(s, id, 1);
}

static inline void stats_dec(struct stats *s, enum stats_id id)
{
	atomic_fetch_sub_explicit(&s->v[id], 1, memory_order_relaxed);
}

const char *stats_name(enum stats_id id);
const char *stats_help(enum stats_id id);
int stats_is_gauge(enum stats_id id);

/* out[i] = sum over the n structs of v[i]. */
void stats_sum(uint64_t out[STAT_COUNT], struct stats *const *all, size_t n);

#endif
