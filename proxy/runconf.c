#include "runconf.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

struct runconf {
	_Atomic unsigned holds;
	struct config cfg;
	uint8_t master[COOKIE_MASTER_LEN];
	struct health *health;
};

struct runconf *runconf_new(const struct config *cfg, const uint8_t master[COOKIE_MASTER_LEN],
                            struct health *health)
{
	struct runconf *rc = malloc(sizeof(*rc));

	if (!rc)
		return NULL;
	atomic_init(&rc->holds, 1);
	rc->cfg = *cfg;
	memcpy(rc->master, master, COOKIE_MASTER_LEN);
	rc->health = health;
	if (health)
		health_ref(health);
	return rc;
}

struct runconf *runconf_hold(struct runconf *rc)
{
	atomic_fetch_add_explicit(&rc->holds, 1, memory_order_relaxed);
	return rc;
}

void runconf_drop(struct runconf *rc)
{
	/* acq_rel: the last thread out sees every other's reads done. */
	if (!rc || atomic_fetch_sub_explicit(&rc->holds, 1, memory_order_acq_rel) != 1)
		return;
	OPENSSL_cleanse(rc->master, sizeof(rc->master));
	health_unref(rc->health);
	free(rc);
}

const struct config *runconf_cfg(const struct runconf *rc)
{
	return &rc->cfg;
}

const uint8_t *runconf_master(const struct runconf *rc)
{
	return rc->master;
}

struct health *runconf_health(const struct runconf *rc)
{
	return rc->health;
}
