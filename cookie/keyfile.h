/* keyfile — the master cookie key on disk, shared by instances behind one address.
 *
 * Format: 64 hexadecimal characters (32 bytes), optionally followed by one
 * newline; nothing else. The file must be a regular file not readable or
 * writable by group or others (like an SSH private key), owned by root or by
 * the user reading it: a leaked key lets anyone forge ACKs.
 */
#ifndef SYNGUARD_KEYFILE_H
#define SYNGUARD_KEYFILE_H

#include <stddef.h>
#include <stdint.h>

#include "cookie.h"

/* Read `path` into `master`. Returns 0, or -1 with a message naming the file
 * and what is wrong in `err` (and `master` zeroed). */
int keyfile_load(const char *path, uint8_t master[COOKIE_MASTER_LEN], char *err, size_t errlen);

/* Create `path` (mode 0600, must not exist yet) holding a fresh random key.
 * Returns 0, or -1 with a message in `err`. */
int keyfile_generate(const char *path, char *err, size_t errlen);

#endif
