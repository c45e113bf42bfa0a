/* config — synguard's configuration file.
 *
 * The file is libconfig syntax; config/synguard.conf.example documents every
 * setting. Parsing is pure: it reads the file (or a string, for tests) and
 * fills a struct config, doing no network or kernel I/O. Every error names
 * the file and line and says what is wrong; unknown settings are errors.
 */
#ifndef SYNGUARD_CONFIG_H
#define SYNGUARD_CONFIG_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "log.h"

#define CONFIG_MAX_LISTEN 16
#define CONFIG_MAX_BACKENDS 64
#define CONFIG_PATH_MAX 4096
#define CONFIG_ERR_MAX 512
#define CONFIG_KEY_PERIOD_MAX 60 /* seconds: cookies live at most twice that */
#define CONFIG_USER_MAX 32       /* as useradd's */
#define CONFIG_USER_DEFAULT "nobody"
#define CONFIG_NAME_MAX 24 /* an instance's name: "synguard-" NAME fits nft's and BPF's name limits */

enum config_proxy_protocol {
	CONFIG_PROXY_OFF = 0,
	CONFIG_PROXY_V1, /* HAProxy PROXY protocol, text */
	CONFIG_PROXY_V2, /* HAProxy PROXY protocol, binary */
};

/* How clients' packets are handled (README: Data paths). */
enum config_datapath {
	CONFIG_DATAPATH_AUTO = 0, /* the best this kernel and interface allow */
	CONFIG_DATAPATH_KERNEL,   /* SYNs in XDP, ACKs made kernel sockets by a TC program (Linux >= 6.9) */
	CONFIG_DATAPATH_XDP,      /* SYNs in XDP, ACKs adopted from the packet ring with TCP_REPAIR */
	CONFIG_DATAPATH_RING,     /* everything from the packet ring */
};

/* How the XDP program attaches: the driver's own XDP, or the kernel's
 * generic one. auto: native, but generic on a veth (whose native XDP_TX
 * drops frames unless its peer runs an XDP program). */
enum config_xdp_attach {
	CONFIG_XDP_ATTACH_AUTO = 0,
	CONFIG_XDP_ATTACH_NATIVE,
	CONFIG_XDP_ATTACH_GENERIC,
};

enum config_mode {
	CONFIG_MODE_RELAY = 0, /* splice clients to the backends */
	CONFIG_MODE_PROTECT,   /* no backends: the server on this host accepts them directly */
};

/* An address and port. A wildcard address (0.0.0.0 or ::) in `listen`
 * protects the port on every address of the interface. */
struct config_endpoint {
	struct sockaddr_storage addr;
	socklen_t len;
};

struct config_backend {
	struct config_endpoint ep;
	unsigned weight; /* 1..100 */
	enum config_proxy_protocol proxy_protocol;
};

/* Active health checks (health.h): a TCP connect per backend every
 * interval_ms; down after `fall` failures in a row, up after `rise` successes. */
struct config_health {
	bool enabled;         /* default true; false: passive checks only (backend.h) */
	unsigned interval_ms; /* 100..60000, default 2000 */
	unsigned timeout_ms;  /* 50..interval_ms, default 1000 (or interval_ms if that is less) */
	unsigned rise;        /* 1..100, default 2 */
	unsigned fall;        /* 1..100, default 3 */
};

struct config {
	char path[CONFIG_PATH_MAX]; /* the file this came from */
	/* This instance's, unique in its network namespace: names its nft
	 * table. `name`, or derived from the file's name (config_name_derive). */
	char name[CONFIG_NAME_MAX + 1];
	char interface[IF_NAMESIZE]; /* where clients' packets arrive */
	struct config_endpoint listen[CONFIG_MAX_LISTEN];
	size_t n_listen;
	struct config_backend backends[CONFIG_MAX_BACKENDS];
	size_t n_backends;              /* 0 in protect mode */
	uint16_t mss;                   /* our MSS in SYN-ACKs; default 1460 */
	uint32_t key_period_s;          /* cookie key rotation; default 30, at most CONFIG_KEY_PERIOD_MAX */
	char key_file[CONFIG_PATH_MAX]; /* empty: random key per start */
	bool admin_enabled;
	struct config_endpoint admin;  /* metrics/admin HTTP endpoint */
	unsigned workers;              /* event-loop threads; default 1 */
	enum log_level log_level;      /* log.h's; default info */
	unsigned connect_timeout_ms;   /* backend connect; default 2000 */
	unsigned max_connections;      /* adopted connections at once; default 65536 */
	unsigned relay_buffer_kb;      /* per direction per connection; default 256 */
	unsigned idle_timeout_s;       /* close relayed connections idle this long; 0 never; default 600 */
	unsigned drain_timeout_s;      /* SIGTERM: how long open connections may finish; default 30 */
	enum config_datapath datapath; /* default auto */
	enum config_xdp_attach xdp_attach;
	enum config_mode mode;
	struct config_health health;    /* relay mode only */
	char user[CONFIG_USER_MAX + 1]; /* who to run as after set-up: a name, or a uid in digits */
};

/* The default instance name for the file at `path`: its base name without
 * ".conf", A-Z lowered, other characters than a-z 0-9 _ - made '_', cut to
 * CONFIG_NAME_MAX; "synguard" if nothing is left. */
void config_name_derive(const char *path, char name[CONFIG_NAME_MAX + 1]);

/* Defaults for every optional setting; required ones left empty. */
void config_defaults(struct config *cfg);

/* Parse the file at `path` into `cfg`, starting from config_defaults().
 * Returns 0, or -1 with "FILE:LINE: what is wrong" in `err` ("FILE: ..." for
 * a missing top-level setting, "cannot open FILE: reason" if it cannot be
 * read); on error the content of `cfg` is unspecified. */
int config_load_file(const char *path, struct config *cfg, char *err, size_t errlen);

/* The same from a string; `name` stands for the file name in messages. */
int config_load_string(const char *text, const char *name, struct config *cfg, char *err, size_t errlen);

/* May the daemon running `old` switch to `new` (SIGHUP)? Returns 0, or -1
 * naming in `err` the first setting that only a restart can change
 * (interface, name, workers, datapath, xdp_attach, mode, user, admin). */
int config_reload_check(const struct config *old, const struct config *new, char *err, size_t errlen);

/* The index of `ep` in cfg->listen, or cfg->n_listen if it is not there. */
size_t config_listen_index(const struct config *cfg, const struct config_endpoint *ep);

/* "192.0.2.1:80" or "[2001:db8::1]:443" into `ep`, zero-filled so that
 * equal endpoints are equal bytes. Port 1..65535 in decimal digits; IPv6
 * only in brackets; no names, scope ids or trailing text. Returns 0 or -1. */
int config_parse_endpoint(const char *text, struct config_endpoint *ep);

/* Back to text, for logs: netaddr_str() of its address, "192.0.2.1:80" /
 * "[2001:db8::1]:443"; returns `buf`, truncated to `buflen`. */
const char *config_endpoint_str(const struct config_endpoint *ep, char *buf, size_t buflen);

#endif
