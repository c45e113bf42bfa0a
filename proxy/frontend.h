/* frontend — one worker's packet path.
 *
 * For every frame the ring hands over, verdict_of() (verdict.h) decides and
 * the front end acts: a pure SYN to a protected address:port gets a SYN-ACK
 * whose ISN is a cookie (nothing is stored); an ACK whose cookie checks out
 * is adopted as a kernel socket and handed to the relay; anything for a
 * connection already adopted is left to the kernel; everything else is
 * counted and dropped. Adoptions wait until the end of the ring block so
 * that data the client sent right after its ACK, in the same block, is
 * injected with it.
 */
#ifndef SYNGUARD_FRONTEND_H
#define SYNGUARD_FRONTEND_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "runconf.h"
#include "stats.h"

struct event_base;
struct frontend;
struct connlimit;

/* Everything a worker needs, opened now (so errors surface at start), on
 * the worker's loop `base`, which must be fresh: the front end sets its
 * event priorities (frontend.c says why). It runs `run`'s config, key and
 * health checks (runconf.h), which the caller holds for as long as the front
 * end uses them. `fanout` joins the workers' rings (ring.h). `limit`
 * (max_connections, all workers') and `stats` are borrowed. NULL with a
 * message in `err`. */
struct frontend *frontend_new(struct event_base *base, const struct runconf *run, uint16_t *fanout,
                              struct connlimit *limit, struct stats *stats, char *err, size_t errlen);

/* Resets open connections and releases everything. */
void frontend_free(struct frontend *fe);

/* A reload, on the worker's thread: from now on SYNs and ACKs are judged by
 * `run`'s endpoints and key, and new connections go to its backends
 * (relay_ctx_reconfigure); `run` is then held as frontend_new's. Connections
 * open now run on; the connection table grows for a larger max_connections. Returns 0,
 * or -1 with the reason in `err` and nothing changed. */
int frontend_reconfigure(struct frontend *fe, const struct runconf *run, char *err, size_t errlen);

/* SIGTERM: stop answering SYNs (syn_draining counts them). Handshakes
 * already answered still complete, and open connections run on. */
void frontend_drain(struct frontend *fe);

/* Resets open connections and releases everything. */
void frontend_free(struct frontend *fe);

#endif
