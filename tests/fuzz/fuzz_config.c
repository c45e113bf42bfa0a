/* Fuzz the configuration parser: any text through config_load_string() and
 * through config_parse_endpoint().
 *
 * A configuration it accepts must hold what config.h and the example
 * promise: counts, ranges, a valid interface name, an absolute key file,
 * and endpoints that survive config_endpoint_str() and back; one it rejects
 * must name the file. Texts with @include are skipped: they would read
 * files from outside the input, which the next run may not find again (and
 * libconfig 1.5 exit()s when the included path is a directory).
 */
#include <net/if.h>
#include <stdbool.h>
#include <string.h>

#include "config.h"
#include "fuzz.h"

#define NAME "fuzz.conf"
#define IFNAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.@-"

static bool ep_round_trips(const struct config_endpoint *ep)
{
	char text[64];
	struct config_endpoint back;

	if (ep->addr.ss_family != AF_INET && ep->addr.ss_family != AF_INET6)
		return false;
	config_endpoint_str(ep, text, sizeof(text));
	return config_parse_endpoint(text, &back) == 0 && back.len == ep->len &&
	       memcmp(&back.addr, &ep->addr, ep->len) == 0;
}

static bool ep_equal(const struct config_endpoint *a, const struct config_endpoint *b)
{
	return a->len == b->len && memcmp(&a->addr, &b->addr, a->len) == 0;
}

static void check_config(const struct config *cfg)
{
	size_t i, j;

	FUZZ_CHECK(strcmp(cfg->path, NAME) == 0);
	FUZZ_CHECK(strlen(cfg->interface) > 0 && strlen(cfg->interface) < IF_NAMESIZE);
	FUZZ_CHECK(strspn(cfg->interface, IFNAME_CHARS) == strlen(cfg->interface));
	FUZZ_CHECK(cfg->n_listen >= 1 && cfg->n_listen <= CONFIG_MAX_LISTEN);
	FUZZ_CHECK(cfg->n_backends >= 1 && cfg->n_backends <= CONFIG_MAX_BACKENDS);
	FUZZ_CHECK(cfg->mss >= 536 && cfg->mss <= 9000);
	FUZZ_CHECK(cfg->key_period_s >= 1 && cfg->key_period_s <= 3600);
	FUZZ_CHECK(cfg->key_file[0] == '\0' || cfg->key_file[0] == '/');
	FUZZ_CHECK(cfg->workers >= 1 && cfg->workers <= 64);
	FUZZ_CHECK(cfg->log_level <= LOG_DEBUG && cfg->datapath <= CONFIG_DATAPATH_RING &&
	           cfg->xdp_attach <= CONFIG_XDP_ATTACH_GENERIC && cfg->mode <= CONFIG_MODE_PROTECT);
	FUZZ_CHECK(cfg->connect_timeout_ms >= 100 && cfg->connect_timeout_ms <= 60000);
	FUZZ_CHECK(cfg->max_connections >= 1 && cfg->max_connections <= 1048576);
	FUZZ_CHECK(cfg->relay_buffer_kb >= 16 && cfg->relay_buffer_kb <= 16384);
	FUZZ_CHECK(cfg->idle_timeout_s <= 86400);
	FUZZ_CHECK(cfg->health.interval_ms >= 100 && cfg->health.interval_ms <= 60000);
	FUZZ_CHECK(cfg->health.timeout_ms >= 50 && cfg->health.timeout_ms <= cfg->health.interval_ms);
	FUZZ_CHECK(cfg->health.rise >= 1 && cfg->health.rise <= 100 && cfg->health.fall >= 1 &&
	           cfg->health.fall <= 100);
	for (i = 0; i < cfg->n_listen; i++) {
		FUZZ_CHECK(ep_round_trips(&cfg->listen[i]));
		for (j = 0; j < i; j++)
			FUZZ_CHECK(!ep_equal(&cfg->listen[i], &cfg->listen[j]));
	}
	for (i = 0; i < cfg->n_backends; i++) {
		const struct config_backend *be = &cfg->backends[i];

		FUZZ_CHECK(ep_round_trips(&be->ep));
		FUZZ_CHECK(be->weight >= 1 && be->weight <= 100 && be->proxy_protocol <= CONFIG_PROXY_V2);
		for (j = 0; j < i; j++)
			FUZZ_CHECK(!ep_equal(&be->ep, &cfg->backends[j].ep));
		for (j = 0; j < cfg->n_listen; j++)
			FUZZ_CHECK(!ep_equal(&be->ep, &cfg->listen[j]));
	}
	FUZZ_CHECK(!cfg->admin_enabled || ep_round_trips(&cfg->admin));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), err[CONFIG_ERR_MAX] = "";
	struct config_endpoint ep;
	static struct config cfg; /* 40 kB: not on the stack */

	FUZZ_CHECK(text != NULL);
	memcpy(text, data, size);
	text[size] = '\0';

	if (config_parse_endpoint(text, &ep) == 0)
		FUZZ_CHECK(ep_round_trips(&ep));

	if (strstr(text, "@include") == NULL) {
		if (config_load_string(text, NAME, &cfg, err, sizeof(err)) == 0)
			check_config(&cfg);
		else
			FUZZ_CHECK(strncmp(err, NAME ":", strlen(NAME ":")) == 0);
	}
	free(text);
	return 0;
}
