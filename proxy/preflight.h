/* preflight — what start-up and `synguard -t` check before anything is
 * installed, so that a configuration that cannot start is refused at once,
 * naming why, instead of failing half-way (or, worse, after "ready").
 */
#ifndef SYNGUARD_PREFLIGHT_H
#define SYNGUARD_PREFLIGHT_H

#include <stddef.h>

#include "config.h"
#include "privs.h"

/* Every capability `cfg` needs, for this process becoming `u`
 * (privs_check()); the interface exists; the key file, if set, is a safe,
 * readable key (keyfile_load()). Returns 0, or -1 with the first problem in
 * `err`. */
int preflight_check(const struct config *cfg, const struct privs_user *u, char *err, size_t errlen);

#endif
