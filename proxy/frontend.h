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
#include "cookie.h"
#include "health.h"
#include "stats.h"

struct event_base;
struct frontend;

/* Everything a worker needs, opened now (so errors surface at start), on
 * the worker's loop `base`, which must be fresh: the front end sets its
 * event priorities (frontend.c says why). `fanout` joins the workers' rings (ring.h). `cfg` and
 * `stats` are borrowed; `health` goes to the relay (relay.h). NULL with a message in `err`. */
struct frontend *frontend_new(struct event_base *base, const struct config *cfg,
                              const uint8_t master[COOKIE_MASTER_LEN], uint16_t *fanout,
                              struct health *health, struct stats *stats, char *err, size_t errlen);

/* Resets open connections and releases everything. */
void frontend_free(struct frontend *fe);

#endif
