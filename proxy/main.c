/* synguard — the daemon: configuration, privileges, the firewall table,
 * worker threads and signals. The packet path lives in frontend.c. */
#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <fcntl.h>
#include <getopt.h>
#include <net/if.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "acceptor.h"
#include "admin.h"
#include "config.h"
#include "connlimit.h"
#include "cookie.h"
#include "datapath.h"
#include "fastpath.h"
#include "frontend.h"
#include "fw.h"
#include "health.h"
#include "keyfile.h"
#include "log.h"
#include "notify.h"
#include "preflight.h"
#include "privs.h"
#include "report.h"
#include "runconf.h"
#include "sandbox.h"
#include "stats.h"
#include "top.h"

#define MAX_WORKERS 64

/* What the main thread asks of a worker: the next version of the config,
 * and to drain. */
struct worker_mail {
	struct runconf *run; /* NULL: none */
	bool drain;
};

struct worker {
	pthread_t thread;
	struct event_base *base;
	struct frontend *fe;  /* the ring and xdp paths */
	struct acceptor *acc; /* the kernel path in relay mode */
	struct stats stats;
	bool running;
	struct runconf *run;   /* the version it runs; its thread's once running */
	struct event *ev_mail; /* made active by the main thread when there is mail */
	pthread_mutex_t lock;  /* guards mail */
	struct worker_mail mail;
	_Atomic bool behind; /* it could not switch to the last version posted: the tick posts it again */
};

struct daemon {
	struct config cfg; /* the version in force, the main thread's */
	uint8_t master[COOKIE_MASTER_LEN];
	struct runconf *run;    /* cfg and master, as handed to the workers */
	struct connlimit limit; /* max_connections, all workers' */
	bool ready;             /* it got to serving */
	bool draining;          /* SIGTERM came: finishing what is open */
	unsigned drain_ticks;   /* seconds since */
	struct privs_user user; /* cfg.user, resolved */
	struct fw *fw;
	struct event_base *base; /* main thread: signals and the admin endpoint */
	struct admin *admin;
	struct health *health; /* relay mode: run's checks of the backends, on the main loop */
	struct event *ev_tick; /* every second */
	unsigned ticks;
	unsigned ifindex; /* the interface's, at start */
	int exit_code;    /* set by whoever stops the loop for a failure */
	struct report report;
	enum datapath_kind path;
	struct fastpath *fastpath; /* the xdp and kernel paths */
	struct stats main_stats;   /* the programs' counters and the path, summed with the workers' */
	unsigned n_workers;
	struct worker workers[MAX_WORKERS];
	struct stats *all_stats[MAX_WORKERS + 1];
	size_t n_stats;
};

static void usage(FILE *out)
{
	fprintf(out, "usage: synguard -c FILE        run in the foreground, protecting what FILE says\n"
	             "       synguard -t -c FILE     check FILE, and what starting it needs, and exit\n"
	             "       synguard --gen-key PATH write a new random cookie key to PATH (mode 0600)\n"
	             "       synguard top [-a HOST:PORT | -c FILE] [--once]  a live view of a running one\n"
	             "       synguard --version | --help\n"
	             "\n"
	             "Signals: HUP reloads FILE (and the key file); TERM stops taking new connections\n"
	             "and lets open ones finish for drain_timeout_s, a second TERM or INT stops at once;\n"
	             "USR1 prints the counters to stderr.\n"
	             "Run it as root, or as the configured user with the capabilities set-up needs\n"
	             "(CAP_NET_ADMIN, CAP_NET_RAW, CAP_BPF, CAP_PERFMON, CAP_NET_BIND_SERVICE: the\n"
	             "systemd unit's); it keeps only those it still needs. See synguard(8).\n");
}

static void daemon_print_stats(struct daemon *d)
{
	uint64_t v[STAT_COUNT];

	if (d->fastpath)
		fastpath_update_stats(d->fastpath); /* not a second old */
	stats_sum(v, d->all_stats, d->n_stats);
	for (size_t i = 0; i < STAT_COUNT; i++)
		fprintf(stderr, "stats %s %llu\n", stats_name((enum stats_id)i), (unsigned long long)v[i]);
	fflush(stderr);
}

/* Stop once every connection has finished (a second at least, for the
 * handshakes answered just before the drain began), or at drain_timeout_s
 * with what is left reset. */
static void daemon_drain_tick(struct daemon *d)
{
	size_t open = connlimit_open(&d->limit);

	d->drain_ticks++;
	if (open == 0 && d->drain_ticks >= 2) {
		log_info("drained: every connection has finished");
		event_base_loopbreak(d->base);
	} else if (d->drain_ticks >= d->cfg.drain_timeout_s) {
		log_warn("drain_timeout_s (%u s) is over: resetting the %zu connection(s) still open",
		         d->cfg.drain_timeout_s, open);
		event_base_loopbreak(d->base);
	}
}

/* systemd's status line (systemctl status), from the counters `v`. */
static void daemon_notify_status(const struct daemon *d, const uint64_t v[STAT_COUNT])
{
	char line[192];

	notify_status("%s", report_status(&d->report, d->cfg.n_listen, datapath_name(d->path),
	                                  v[STAT_conn_active], line, sizeof(line)));
}

static void daemon_post(struct worker *w, struct runconf *run, bool drain);

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	uint64_t v[STAT_COUNT];

	(void)fd;
	(void)what;
	/* Deleted (or replaced by another of the same name): the rings are
	 * bound to the old one and will never see a frame again. */
	if (if_nametoindex(d->cfg.interface) != d->ifindex) {
		log_error("interface %s is gone: stopping", d->cfg.interface);
		d->exit_code = 1;
		event_base_loopbreak(d->base);
		return;
	}
	if (++d->ticks % REPORT_INTERVAL_S == 0) {
		stats_sum(v, d->all_stats, d->n_stats);
		report_tick(&d->report, v);
		atomic_store(&d->main_stats.v[STAT_flood], (uint64_t)d->report.flood);
		daemon_notify_status(d, v);
	}
	for (unsigned w = 0; w < d->n_workers; w++)
		if (atomic_exchange(&d->workers[w].behind, false))
			daemon_post(&d->workers[w], d->run, false);
	if (d->draining)
		daemon_drain_tick(d);
}

/* Every second: is the interface still there; every REPORT_INTERVAL_S:
 * tell the operator what happens. */
static int daemon_start_tick(struct daemon *d)
{
	struct timeval every = { 1, 0 };
	uint64_t v[STAT_COUNT];

	stats_sum(v, d->all_stats, d->n_stats);
	report_init(&d->report, v);
	d->ev_tick = event_new(d->base, -1, EV_PERSIST, on_tick, d);
	if (!d->ev_tick || event_add(d->ev_tick, &every) < 0) {
		log_error("cannot start the one-second timer");
		return -1;
	}
	return 0;
}

/* The health checks of `cfg`'s backends (relay mode), and its version for
 * the workers: at start and at each reload. */
static struct runconf *daemon_new_run(struct daemon *d, const struct config *cfg,
                                      const uint8_t master[COOKIE_MASTER_LEN], char *err, size_t errlen)
{
	struct health *health = NULL;
	struct runconf *run;

	if (cfg->mode == CONFIG_MODE_RELAY && !(health = health_new(d->base, cfg, err, errlen)))
		return NULL;
	if (health && d->health) /* a reload: the backends it keeps stay as checked */
		health_carry_over(health, d->health);
	if (!(run = runconf_new(cfg, master, health)))
		snprintf(err, errlen, "out of memory");
	if (health) {
		if (!run)
			health_stop(health);
		health_unref(health); /* run holds it */
	}
	return run;
}

static int daemon_start_run(struct daemon *d)
{
	char err[256];

	if (!(d->run = daemon_new_run(d, &d->cfg, d->master, err, sizeof(err)))) {
		log_error("health checks: %s", err);
		return -1;
	}
	d->health = runconf_health(d->run);
	return 0;
}

/* /metrics and /health carry the current health checks' view. */
static void daemon_set_health_source(struct daemon *d)
{
	const struct admin_source src = { health_format_metrics, health_healthy, d->health };

	if (d->admin)
		admin_set_source(d->admin, d->health ? &src : NULL);
}

/* The probes stop; the memory goes with the last version holding it. */
static void daemon_stop_health(struct daemon *d)
{
	if (d->health)
		health_stop(d->health);
	d->health = NULL;
}

/* The BPF programs' counters, read now (admin_set_refresh). */
static void daemon_refresh_fastpath(void *fastpath)
{
	fastpath_update_stats(fastpath);
}

static int daemon_start_admin(struct daemon *d)
{
	char err[256];

	if (!d->cfg.admin_enabled)
		return 0;
	d->admin = admin_new(d->base, &d->cfg.admin, d->all_stats, d->n_stats, ADMIN_DEADLINE_MS, err,
	                     sizeof(err));
	if (!d->admin) {
		log_error("admin endpoint: %s", err);
		return -1;
	}
	admin_set_build_info(d->admin, datapath_name(d->path),
	                     d->cfg.mode == CONFIG_MODE_PROTECT ? "protect" : "relay");
	if (d->fastpath)
		admin_set_refresh(d->admin, daemon_refresh_fastpath, d->fastpath);
	daemon_set_health_source(d);
	return 0;
}

/* Relay mode: one check of the backends for all workers, probing from the
 * main loop. */
/* A sysctl of the network namespace, or -1 if unreadable. */
static int read_sysctl(const char *name)
{
	char path[128];
	FILE *f;
	int v = -1;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/%s", name);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (fscanf(f, "%d", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/* What the kernel offers the kernel path. tcp_syncookies = 0 would make
 * the listener reset every cookie ACK: it is set to 1 (the kernel's
 * default: its own cookies only when a listener's queue overflows), and
 * said so. */
static void daemon_facts(const struct daemon *d, struct datapath_facts *f)
{
	char why[128];
	FILE *w;

	f->kfunc = fastpath_kernel_path_supported(why, sizeof(why));
	f->syncookies = read_sysctl("tcp_syncookies");
	f->timestamps = read_sysctl("tcp_timestamps");
	f->sack = read_sysctl("tcp_sack");
	f->window_scaling = read_sysctl("tcp_window_scaling");
	if (!f->kfunc || f->syncookies != 0 || d->cfg.datapath == CONFIG_DATAPATH_RING ||
	    d->cfg.datapath == CONFIG_DATAPATH_XDP)
		return;
	w = fopen("/proc/sys/net/ipv4/tcp_syncookies", "we");
	if (w && fputs("1\n", w) >= 0 && fclose(w) == 0) {
		f->syncookies = 1;
		log_warn("net.ipv4.tcp_syncookies was 0: set to 1 in this network namespace, which the "
		         "kernel path needs");
		return;
	}
	if (w)
		fclose(w);
	log_warn("net.ipv4.tcp_syncookies is 0 and cannot be set: %s", strerror(errno));
}

/* The BPF programs of the xdp and kernel paths, opened while we still
 * hold the capabilities they need. */
static int daemon_open_fastpath(struct daemon *d, enum datapath_kind k,
                                const uint8_t master[COOKIE_MASTER_LEN], char *err, size_t errlen)
{
	struct fastpath_opts o = { .ifname = d->cfg.interface,
		                   .kernel_acks = k == DATAPATH_KERNEL,
		                   .attach = d->cfg.xdp_attach };
	const char *mode;

	d->fastpath = fastpath_open(&d->cfg, &o, err, errlen);
	if (!d->fastpath || fastpath_start(d->fastpath, d->base, master, d->cfg.key_period_s, &d->main_stats,
	                                   err, errlen) < 0) {
		fastpath_close(d->fastpath);
		d->fastpath = NULL;
		return -1;
	}
	mode = fastpath_mode(d->fastpath);
	if (strcmp(mode, "generic") == 0)
		log_info("XDP fast path attached to %s (generic mode): SYNs are answered before the TCP "
		         "stack, "
		         "after the kernel built a buffer for each (%s)",
		         d->cfg.interface, fastpath_generic_why(d->fastpath));
	else
		log_info("XDP fast path attached to %s (%s mode): SYNs are answered in the driver",
		         d->cfg.interface, mode);
	if (k == DATAPATH_KERNEL)
		log_info("TC program attached to %s (tcx ingress): cookie ACKs become kernel sockets",
		         d->cfg.interface);
	return 0;
}

/* Open data path `k`: its programs, and for the ring's adoption the
 * nftables table. Returns 0, or -1 with everything it opened closed. */
static int daemon_open_path(struct daemon *d, enum datapath_kind k, const uint8_t master[COOKIE_MASTER_LEN],
                            char *err, size_t errlen)
{
	if (k != DATAPATH_RING && daemon_open_fastpath(d, k, master, err, errlen) < 0)
		return -1;
	if (k == DATAPATH_KERNEL)
		return 0;
	if (!(d->fw = fw_new(err, errlen)) || fw_install(d->fw, &d->cfg, err, errlen) < 0) {
		fw_free(d->fw);
		d->fw = NULL;
		fastpath_close(d->fastpath);
		d->fastpath = NULL;
		return -1;
	}
	return 0;
}

/* The data path the config and the kernel allow, opened; with datapath =
 * "auto", falling back along datapath_fallback() when one fails. */
static int daemon_start_path(struct daemon *d, const uint8_t master[COOKIE_MASTER_LEN])
{
	struct datapath_facts facts;
	char why[256], err[256];
	enum datapath_kind next;

	daemon_facts(d, &facts);
	if (datapath_plan(&d->cfg, &facts, &d->path, why, sizeof(why)) < 0) {
		log_error("%s", why);
		return -1;
	}
	while (daemon_open_path(d, d->path, master, err, sizeof(err)) < 0) {
		if (!datapath_fallback(&d->cfg, d->path, &next)) {
			log_error("%s data path: %s", datapath_name(d->path), err);
			return -1;
		}
		log_warn("%s data path: %s: falling back to the %s path", datapath_name(d->path), err,
		         datapath_name(next));
		snprintf(why, sizeof(why), "auto: the %s path failed to start", datapath_name(d->path));
		d->path = next;
	}
	atomic_store(&d->main_stats.v[STAT_datapath], (uint64_t)d->path);
	log_info("data path: %s (%s)", datapath_name(d->path), why);
	return 0;
}

/* Hand `w` its mail: the main thread only fills the box and wakes it. */
static void daemon_post(struct worker *w, struct runconf *run, bool drain)
{
	pthread_mutex_lock(&w->lock);
	if (run) {
		/* A reload the worker has not taken yet is superseded. */
		runconf_drop(w->mail.run);
		w->mail.run = runconf_hold(run);
	}
	w->mail.drain |= drain;
	pthread_mutex_unlock(&w->lock);
	event_active(w->ev_mail, EV_READ, 0);
}

/* On the worker's thread, between events: switch to the new version, or
 * stop taking connections. */
static void worker_on_mail(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct worker_mail m;
	char err[256];
	int rc;

	(void)fd;
	(void)what;
	pthread_mutex_lock(&w->lock);
	m = w->mail;
	w->mail.run = NULL;
	w->mail.drain = false;
	pthread_mutex_unlock(&w->lock);
	if (m.run) {
		if (w->fe)
			rc = frontend_reconfigure(w->fe, m.run, err, sizeof(err));
		else
			rc = acceptor_reconfigure(w->acc, m.run, err, sizeof(err));
		if (rc == 0) {
			runconf_drop(w->run);
			w->run = m.run;
		} else {
			log_error("reload: a worker keeps the previous configuration for now: %s; it tries "
			          "again every second",
			          err);
			runconf_drop(m.run);
		}
		atomic_store(&w->behind, rc != 0);
	}
	if (m.drain && w->fe)
		frontend_drain(w->fe); /* the acceptor's share is the fast path's: it answers no SYN */
}

/* The cookie key `next` asks for: its key file's, or (with none) the one
 * running, which was made at random at start. A key file root could read at
 * start but the configured user cannot (it must stay 0600) keeps the running
 * key, said so, rather than refuse a reload of everything else. */
static int daemon_reload_master(const struct daemon *d, const struct config *next,
                                uint8_t master[COOKIE_MASTER_LEN], char *err, size_t errlen)
{
	bool kept_unreadable = next->key_file[0] && strcmp(next->key_file, d->cfg.key_file) == 0 &&
	                       faccessat(AT_FDCWD, next->key_file, R_OK, 0) < 0 && errno == EACCES;

	if (next->key_file[0] && !kept_unreadable)
		return keyfile_load(next->key_file, master, err, errlen);
	if (kept_unreadable)
		log_warn("reload: user %s cannot read the key file %s: the running key stays (a restart "
		         "reads it again)",
		         d->cfg.user, next->key_file);
	memcpy(master, d->master, COOKIE_MASTER_LEN);
	return 0;
}

/* On the kernel path the workers will listen on each endpoint `next` adds:
 * tried here first (the workers' sockets join it with SO_REUSEPORT), so that
 * a port that cannot be had refuses the reload before anything changes. */
static int daemon_reload_check_ports(const struct daemon *d, const struct config *next, char *err,
                                     size_t errlen)
{
	if (d->path != DATAPATH_KERNEL || d->n_workers == 0)
		return 0;
	for (size_t i = 0; i < next->n_listen; i++) {
		int fd;

		if (config_listen_index(&d->cfg, &next->listen[i]) < d->cfg.n_listen)
			continue;
		if ((fd = acceptor_listen_fd(&next->listen[i], err, errlen)) < 0)
			return -1;
		close(fd);
	}
	return 0;
}

/* Room for max_connections: each connection holds two sockets and two
 * pipes, and the rest (listeners, rings, admin) fits in 1024. */
static rlim_t daemon_fd_budget(const struct config *cfg)
{
	return (rlim_t)cfg->max_connections * 6 + 1024;
}

/* A reload may raise max_connections only as far as the open-file limit
 * set at start allows. */
static int daemon_reload_fd_check(const struct config *next, char *err, size_t errlen)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= daemon_fd_budget(next))
		return 0;
	snprintf(err, errlen,
	         "max_connections = %u needs %llu open files, and the limit is %llu (a restart "
	         "raises it)",
	         next->max_connections, (unsigned long long)daemon_fd_budget(next),
	         (unsigned long long)rl.rlim_cur);
	return -1;
}

/* The kernel's half of a reload: the firewall table and the programs' maps
 * follow `next` (and its key, when it changed). */
static int daemon_reload_kernel(struct daemon *d, const struct config *next,
                                const uint8_t master[COOKIE_MASTER_LEN], char *err, size_t errlen)
{
	bool rekey = CRYPTO_memcmp(master, d->master, COOKIE_MASTER_LEN) != 0 ||
	             next->key_period_s != d->cfg.key_period_s;

	if (d->fw && fw_update(d->fw, next, err, errlen) < 0)
		return -1;
	if (!d->fastpath)
		return 0;
	if (fastpath_set_endpoints(d->fastpath, next) < 0 ||
	    (rekey && fastpath_rekey(d->fastpath, master, next->key_period_s) < 0)) {
		snprintf(err, errlen, "the BPF programs' maps: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* SIGHUP: read the config file and key file again and apply them, or keep
 * the running version whole and say why. Everything that can fail is done
 * before anything changes, except the kernel's half, whose steps each
 * replace what they change at once. */
static void daemon_reload(struct daemon *d)
{
	static struct config next; /* large; the main thread's */
	uint8_t master[COOKIE_MASTER_LEN];
	struct runconf *run = NULL;
	char err[CONFIG_ERR_MAX];

	if (d->draining) {
		log_warn("SIGHUP while stopping: ignored");
		return;
	}
	log_info("SIGHUP: reloading %s", d->cfg.path);
	notify_reloading();
	if (config_load_file(d->cfg.path, &next, err, sizeof(err)) < 0 ||
	    config_reload_check(&d->cfg, &next, err, sizeof(err)) < 0 ||
	    daemon_reload_fd_check(&next, err, sizeof(err)) < 0 ||
	    daemon_reload_master(d, &next, master, err, sizeof(err)) < 0 ||
	    daemon_reload_check_ports(d, &next, err, sizeof(err)) < 0) {
		log_error("reload refused: %s; the running configuration stays in force", err);
		goto out;
	}
	if (!(run = daemon_new_run(d, &next, master, err, sizeof(err)))) {
		log_error("reload refused: %s; the running configuration stays in force", err);
		goto out;
	}
	if (daemon_reload_kernel(d, &next, master, err, sizeof(err)) < 0) {
		/* Put back what the old version had: each step replaces at once. */
		log_error("reload failed: %s; going back to the running configuration", err);
		if (daemon_reload_kernel(d, &d->cfg, d->master, err, sizeof(err)) < 0)
			log_error("and could not go back: %s", err);
		if (runconf_health(run))
			health_stop(runconf_health(run));
		goto out;
	}
	log_set_level(next.log_level);
	connlimit_set_max(&d->limit, next.max_connections);
	for (unsigned w = 0; w < d->n_workers; w++)
		daemon_post(&d->workers[w], run, false);
	daemon_stop_health(d);
	runconf_drop(d->run);
	d->run = run;
	run = NULL;
	d->health = runconf_health(d->run);
	daemon_set_health_source(d);
	d->cfg = next;
	memcpy(d->master, master, sizeof(master));
	log_info("reloaded %s: %zu endpoint(s), %zu backend(s), max_connections %u", d->cfg.path,
	         d->cfg.n_listen, d->cfg.n_backends, d->cfg.max_connections);
out:
	notify_ready(); /* done, whichever way it went */
	runconf_drop(run);
	OPENSSL_cleanse(master, sizeof(master));
}

/* SIGTERM: no new connections; the open ones get drain_timeout_s. */
static void daemon_drain(struct daemon *d)
{
	size_t open = connlimit_open(&d->limit);

	notify_stopping();
	/* Protect mode: the connections are the server's, not ours to drain. */
	if (d->n_workers == 0 || d->cfg.drain_timeout_s == 0) {
		log_info("SIGTERM: stopping");
		event_base_loopbreak(d->base);
		return;
	}
	d->draining = true;
	log_info("SIGTERM: draining: no new connections; the %zu open may finish within %u s "
	         "(SIGTERM again or SIGINT: stop now)",
	         open, d->cfg.drain_timeout_s);
	if (d->fastpath && fastpath_drain(d->fastpath) < 0)
		log_warn("the XDP program could not be told to stop answering SYNs: %s", strerror(errno));
	for (unsigned w = 0; w < d->n_workers; w++)
		daemon_post(&d->workers[w], NULL, true);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;

	(void)what;
	switch (sig) {
	case SIGUSR1:
		daemon_print_stats(d);
		return;
	case SIGHUP:
		daemon_reload(d);
		return;
	case SIGTERM:
		if (!d->draining) {
			daemon_drain(d);
			return;
		}
		/* fall through */
	default:
		notify_stopping();
		log_info("signal %d: stopping now", (int)sig);
		event_base_loopbreak(d->base);
	}
}

/* From here on synguard is the configured user with the capabilities it
 * still needs, and makes only the system calls the sandbox allows: after
 * every file is opened and every privileged socket, map and table made,
 * before any worker thread exists or serves. */
static int daemon_confine(struct daemon *d)
{
	char err[256], caps[128];
	int n;

	if (privs_drop(&d->user, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return -1;
	}
	log_info("running as user %s (uid %u, gid %u) with capabilities %s", d->cfg.user,
	         (unsigned)d->user.uid, (unsigned)d->user.gid, privs_caps_str(caps, sizeof(caps)));
	n = sandbox_enter(err, sizeof(err));
	if (n < 0) {
		log_error("%s", err);
		return -1;
	}
	log_info("system calls filtered: %d allowed; any other fails with EPERM and the kernel logs it "
	         "(audit type=1326)",
	         n);
	return 0;
}

static void raise_fd_limit(const struct config *cfg)
{
	rlim_t want = daemon_fd_budget(cfg);
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want)
		return;
	struct rlimit up = { want, rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? rl.rlim_max : want };
	if (setrlimit(RLIMIT_NOFILE, &up) == 0)
		return;
	/* The hard limit could not be raised (a container may forbid it):
	 * take all it allows and say what that means. */
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	log_warn("open-file limit is %llu, below the %llu that max_connections = %u needs",
	         (unsigned long long)rl.rlim_cur, (unsigned long long)want, cfg->max_connections);
}

static int load_master(const struct config *cfg, uint8_t master[COOKIE_MASTER_LEN])
{
	char err[CONFIG_ERR_MAX];

	if (!cfg->key_file[0]) {
		if (cookie_master_random(master) < 0) {
			log_error("cannot get a random cookie key from OpenSSL");
			return -1;
		}
		return 0;
	}
	if (keyfile_load(cfg->key_file, master, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return -1;
	}
	log_info("cookie key loaded from %s", cfg->key_file);
	return 0;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	event_base_dispatch(w->base);
	return NULL;
}

/* Protect mode hands connections to the server's listening sockets: say so
 * if an endpoint has none yet (a bind that succeeds finds nobody there),
 * since until one listens the kernel resets that endpoint's clients
 * (ack_no_listener counts them). */
static void daemon_check_listeners(const struct daemon *d)
{
	for (size_t i = 0; i < d->cfg.n_listen; i++) {
		const struct config_endpoint *ep = &d->cfg.listen[i];
		int fd = socket(ep->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		char a[64];

		if (fd >= 0 && bind(fd, (const struct sockaddr *)&ep->addr, ep->len) == 0)
			log_warn("protect mode: nothing listens on %s yet; its clients are reset until the "
			         "server does",
			         config_endpoint_str(ep, a, sizeof(a)));
		if (fd >= 0)
			close(fd);
	}
}

/* Each worker's front end (or, on the kernel path, its listening sockets)
 * and event loop; its thread starts later. In protect mode there are none:
 * the server on this host accepts the connections. */
static int daemon_new_workers(struct daemon *d)
{
	/* Workers share traffic through one fanout group, the first founds it. */
	uint16_t fanout = 0;
	char err[256];

	if (d->cfg.mode == CONFIG_MODE_PROTECT) {
		daemon_check_listeners(d);
		return 0;
	}
	for (unsigned i = 0; i < d->cfg.workers; i++) {
		struct worker *w = &d->workers[i];
		const struct config *cfg = runconf_cfg(d->run);

		d->all_stats[d->n_stats++] = &w->stats;
		d->n_workers = i + 1;
		pthread_mutex_init(&w->lock, NULL);
		w->run = runconf_hold(d->run);
		w->base = event_base_new();
		if (!w->base || !(w->ev_mail = event_new(w->base, -1, 0, worker_on_mail, w))) {
			log_error("cannot create an event loop");
			return -1;
		}
		if (d->path == DATAPATH_KERNEL)
			w->acc = acceptor_new(w->base, d->run, &d->limit, &w->stats, err, sizeof(err));
		else
			w->fe = frontend_new(w->base, d->run, cfg->workers > 1 ? &fanout : NULL, &d->limit,
			                     &w->stats, err, sizeof(err));
		if (!w->fe && !w->acc) {
			log_error("worker %u: %s", i, err);
			return -1;
		}
	}
	return 0;
}

static int daemon_start_workers(struct daemon *d)
{
	for (unsigned i = 0; i < d->n_workers; i++) {
		struct worker *w = &d->workers[i];
		if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
			log_error("cannot start worker thread %u", i);
			return -1;
		}
		w->running = true;
	}
	return 0;
}

static void daemon_stop_workers(struct daemon *d)
{
	for (unsigned i = 0; i < d->n_workers; i++) {
		struct worker *w = &d->workers[i];
		if (w->running) {
			event_base_loopbreak(w->base);
			pthread_join(w->thread, NULL);
		}
		frontend_free(w->fe);
		acceptor_free(w->acc);
		if (w->ev_mail)
			event_free(w->ev_mail);
		if (w->base)
			event_base_free(w->base);
		runconf_drop(w->run);
		runconf_drop(w->mail.run);
		pthread_mutex_destroy(&w->lock);
	}
}

/* Tell systemd: started, and the first status line. */
static void daemon_notify_ready(const struct daemon *d)
{
	uint64_t v[STAT_COUNT];

	stats_sum(v, d->all_stats, d->n_stats);
	daemon_notify_status(d, v);
	notify_ready();
}

static int daemon_run(struct daemon *d)
{
	enum { N_SIGNALS = 4 };
	struct event *sigs[N_SIGNALS] = { NULL };
	const int signums[N_SIGNALS] = { SIGINT, SIGTERM, SIGHUP, SIGUSR1 };
	char err[CONFIG_ERR_MAX];
	int rc = 1;

	if (preflight_check(&d->cfg, &d->user, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return 1;
	}
	if (load_master(&d->cfg, d->master) < 0)
		return 1;
	connlimit_init(&d->limit, d->cfg.max_connections);
	d->ifindex = if_nametoindex(d->cfg.interface);
	if (d->ifindex == 0) {
		log_error("interface %s: %s", d->cfg.interface, strerror(errno));
		return 1;
	}
	raise_fd_limit(&d->cfg);
	log_info("instance %s (%s): nftables table inet " FW_TABLE_PREFIX "%s on the ring and xdp paths",
	         d->cfg.name, d->cfg.path, d->cfg.name);
	signal(SIGPIPE, SIG_IGN);
	if (evthread_use_pthreads() < 0 || !(d->base = event_base_new())) {
		log_error("cannot create the main event loop");
		return 1;
	}
	for (int i = 0; i < N_SIGNALS; i++) {
		sigs[i] = evsignal_new(d->base, signums[i], on_signal, d);
		if (!sigs[i] || event_add(sigs[i], NULL) < 0) {
			log_error("cannot install signal handlers");
			goto out;
		}
	}
	d->all_stats[d->n_stats++] = &d->main_stats;
	if (daemon_start_path(d, d->master) < 0)
		goto out;
	if (daemon_start_run(d) == 0 && daemon_new_workers(d) == 0 && daemon_start_tick(d) == 0 &&
	    daemon_start_admin(d) == 0 && daemon_confine(d) == 0 && daemon_start_workers(d) == 0) {
		char ep[64], to[64];
		if (d->cfg.mode == CONFIG_MODE_PROTECT)
			snprintf(to, sizeof(to), "protect mode: the server on this host accepts");
		else
			snprintf(to, sizeof(to), "%zu backend(s)", d->cfg.n_backends);
		log_info("ready: protecting %zu endpoint(s) on %s (first %s), %s, %u worker(s)",
		         d->cfg.n_listen, d->cfg.interface,
		         config_endpoint_str(&d->cfg.listen[0], ep, sizeof(ep)), to, d->n_workers);
		d->ready = true;
		daemon_notify_ready(d);
		event_base_dispatch(d->base);
		rc = d->exit_code;
	}
	admin_free(d->admin);
	if (d->ev_tick)
		event_free(d->ev_tick);
	daemon_stop_workers(d);
	daemon_stop_health(d);
	if (d->ready)                  /* a failed start says why, above; it has nothing to count */
		daemon_print_stats(d); /* the fast path's last counts too */
	fastpath_close(d->fastpath);
	if (d->fw && fw_remove(d->fw, err, sizeof(err)) < 0) {
		log_error("cannot remove the nftables table: %s", err);
		rc = 1;
	}
out:
	fw_free(d->fw);
	OPENSSL_cleanse(d->master, sizeof(d->master));
	runconf_drop(d->run);
	for (int i = 0; i < N_SIGNALS; i++)
		if (sigs[i])
			event_free(sigs[i]);
	event_base_free(d->base);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },  { "test", no_argument, NULL, 't' },
		{ "gen-key", required_argument, NULL, 'g' }, { "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },          { NULL, 0, NULL, 0 },
	};
	static struct daemon d; /* large: keep it off the stack */
	const char *path = NULL;
	char err[CONFIG_ERR_MAX];
	bool test_only = false;
	int opt;

	log_init();
	if (argc > 1 && strcmp(argv[1], "top") == 0)
		return top_main(argc - 1, argv + 1);
	while ((opt = getopt_long(argc, argv, "c:tVh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		case 't':
			test_only = true;
			break;
		case 'g':
			if (keyfile_generate(optarg, err, sizeof(err)) < 0) {
				fprintf(stderr, "synguard: %s\n", err);
				return 1;
			}
			printf("synguard: wrote a new cookie key to %s\n", optarg);
			return 0;
		case 'V':
			printf("synguard %s\n", SYNGUARD_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!path || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (config_load_file(path, &d.cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "synguard: %s\n", err);
		return 1;
	}
	if (privs_resolve(d.cfg.user, &d.user, err, sizeof(err)) < 0) {
		fprintf(stderr, "synguard: %s: user \"%s\": %s\n", path, d.cfg.user, err);
		return 1;
	}
	if (test_only && preflight_check(&d.cfg, &d.user, err, sizeof(err)) < 0) {
		fprintf(stderr, "synguard: %s: %s\n", path, err);
		return 1;
	}
	if (test_only) {
		printf("synguard: %s: configuration ok\n", path);
		return 0;
	}
	log_set_level(d.cfg.log_level);
	return daemon_run(&d);
}
