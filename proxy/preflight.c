#include "preflight.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "keyfile.h"

int preflight_check(const struct config *cfg, const struct privs_user *u, char *err, size_t errlen)
{
	uint8_t master[COOKIE_MASTER_LEN];

	if (privs_check(cfg, u, err, errlen) < 0)
		return -1;
	if (if_nametoindex(cfg->interface) == 0) {
		snprintf(err, errlen, "interface %s: %s", cfg->interface, strerror(errno));
		return -1;
	}
	if (!cfg->key_file[0])
		return 0;
	/* Read as start-up reads it: the same checks, then forgotten. */
	if (keyfile_load(cfg->key_file, master, err, errlen) < 0)
		return -1;
	OPENSSL_cleanse(master, sizeof(master));
	return 0;
}
