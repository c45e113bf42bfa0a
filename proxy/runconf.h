/* runconf — one version of the running configuration, as the workers see it.
 *
 * The main thread makes a version at start and at each reload (SIGHUP) and
 * hands it to every worker; a worker switches to it at a safe point, between
 * events, and lets go of the one it ran. A version is never changed once
 * made, and goes away when the last thread lets go: reference counted, any
 * thread. The cookie master key travels with it (wiped when freed), and
 * the backends' health checks made for its backends (health.h: their
 * indexes are this version's).
 */
#ifndef SYNGUARD_RUNCONF_H
#define SYNGUARD_RUNCONF_H

#include <stdint.h>

#include "config.h"
#include "cookie.h"
#include "health.h"

struct runconf;

/* A version of `cfg` and `master` (both copied) with a reference to
 * `health` (NULL: none, as in protect mode), held once by the caller. NULL
 * on ENOMEM. */
struct runconf *runconf_new(const struct config *cfg, const uint8_t master[COOKIE_MASTER_LEN],
                            struct health *health);

/* Another hold; returns `rc`. */
struct runconf *runconf_hold(struct runconf *rc);

/* Lets go of a hold; the last frees. NULL is ignored. */
void runconf_drop(struct runconf *rc);

const struct config *runconf_cfg(const struct runconf *rc);
const uint8_t *runconf_master(const struct runconf *rc);
struct health *runconf_health(const struct runconf *rc);

#endif
