/* synguard — the daemon: configuration, privileges, the firewall table,
 * worker threads and signals. The packet path lives in frontend.c. */
#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "admin.h"
#include "config.h"
#include "cookie.h"
#include "frontend.h"
#include "fw.h"
#include "keyfile.h"
#include "log.h"
#include "report.h"
#include "stats.h"

#define MAX_WORKERS 64

struct worker {
	pthread_t thread;
	struct event_base *base;
	struct frontend *fe;
	struct stats stats;
	bool running;
};

struct daemon {
	struct config cfg;
	struct event_base *base; /* main thread: signals and the admin endpoint */
	struct admin *admin;
	struct event *ev_report;
	struct report report;
	unsigned n_workers;
	struct worker workers[MAX_WORKERS];
	struct stats *all_stats[MAX_WORKERS];
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: synguard -c FILE        run in the foreground, protecting what FILE says\n"
		"       synguard -t -c FILE     check FILE and exit\n"
		"       synguard --gen-key PATH write a new random cookie key to PATH (mode 0600)\n"
		"       synguard --version | --help\n"
		"\n"
		"Signals: TERM/INT stop, USR1 prints the counters to stderr.\n"
		"Needs CAP_NET_ADMIN and CAP_NET_RAW (run as root) and nftables.\n");
}

static void daemon_print_stats(struct daemon *d)
{
	uint64_t v[STAT_COUNT];

	stats_sum(v, d->all_stats, d->n_workers);
	for (size_t i = 0; i < STAT_COUNT; i++)
		fprintf(stderr, "stats %s %llu\n", stats_name((enum stats_id)i), (unsigned long long)v[i]);
	fflush(stderr);
}

static void on_report(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	uint64_t v[STAT_COUNT];

	(void)fd;
	(void)what;
	stats_sum(v, d->all_stats, d->n_workers);
	report_tick(&d->report, v);
}

/* Tell the operator what happens, every REPORT_INTERVAL_S. */
static int daemon_start_report(struct daemon *d)
{
	struct timeval every = { REPORT_INTERVAL_S, 0 };
	uint64_t v[STAT_COUNT];

	stats_sum(v, d->all_stats, d->n_workers);
	report_init(&d->report, v);
	d->ev_report = event_new(d->base, -1, EV_PERSIST, on_report, d);
	return d->ev_report && event_add(d->ev_report, &every) == 0 ? 0 : -1;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;

	(void)what;
	if (sig == SIGUSR1) {
		daemon_print_stats(d);
		return;
	}
	log_info("signal %d: stopping", (int)sig);
	event_base_loopbreak(d->base);
}

/* Refuse early, with a clear reason, rather than fail halfway. */
static int check_capabilities(void)
{
	static const cap_value_t need[] = { CAP_NET_ADMIN, CAP_NET_RAW };
	cap_t caps = cap_get_proc();
	int missing = 0;

	if (!caps) {
		log_error("cannot read capabilities: %s", strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		cap_flag_value_t v = CAP_CLEAR;
		cap_get_flag(caps, need[i], CAP_EFFECTIVE, &v);
		if (v != CAP_SET) {
			char *name = cap_to_name(need[i]);
			log_error("missing capability %s: run synguard as root (or grant it)", name);
			cap_free(name);
			missing = 1;
		}
	}
	cap_free(caps);
	return missing ? -1 : 0;
}

/* After set-up what remains is TCP_REPAIR, SO_MARK, SOCK_DESTROY and removing
 * our nft table (CAP_NET_ADMIN), binding adopted sockets to a protected port
 * below 1024 (CAP_NET_BIND_SERVICE), and relay pipes of the configured size:
 * without CAP_SYS_RESOURCE the kernel caps a user's pipes at 64 MB in all
 * (fs.pipe-user-pages-soft), a few hundred connections. Drop everything else,
 * before any worker thread exists (capabilities are per thread). */
static int drop_capabilities(void)
{
	static const cap_value_t wanted[] = { CAP_NET_ADMIN, CAP_NET_BIND_SERVICE, CAP_SYS_RESOURCE };
	cap_value_t keep[sizeof(wanted) / sizeof(wanted[0])];
	cap_t now = cap_get_proc(), caps = cap_init();
	int n_keep = 0, rc = -1;

	/* Keep only what we have: a container may withhold CAP_SYS_RESOURCE. */
	for (size_t i = 0; now && i < sizeof(wanted) / sizeof(wanted[0]); i++) {
		cap_flag_value_t v = CAP_CLEAR;
		if (cap_get_flag(now, wanted[i], CAP_PERMITTED, &v) == 0 && v == CAP_SET)
			keep[n_keep++] = wanted[i];
	}
	if (now && caps && cap_set_flag(caps, CAP_PERMITTED, n_keep, keep, CAP_SET) == 0 &&
	    cap_set_flag(caps, CAP_EFFECTIVE, n_keep, keep, CAP_SET) == 0 && cap_set_proc(caps) == 0 &&
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0)
		rc = 0;
	if (rc < 0)
		log_error("cannot drop capabilities: %s", strerror(errno));
	cap_free(now);
	cap_free(caps);
	return rc;
}

/* Each connection holds two sockets and two pipes. */
static void raise_fd_limit(const struct config *cfg)
{
	rlim_t want = (rlim_t)cfg->max_connections * 6 + 1024;
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

static int daemon_start_workers(struct daemon *d, const uint8_t master[COOKIE_MASTER_LEN])
{
	/* Workers share traffic through one fanout group, unique per process. */
	uint16_t fanout = d->cfg.workers > 1 ? (uint16_t)(getpid() & 0xffff) : 0;
	char err[256];

	for (unsigned i = 0; i < d->cfg.workers; i++) {
		struct worker *w = &d->workers[i];
		d->all_stats[i] = &w->stats;
		d->n_workers = i + 1;
		w->base = event_base_new();
		if (!w->base) {
			log_error("cannot create an event loop");
			return -1;
		}
		w->fe = frontend_new(w->base, &d->cfg, master, fanout, &w->stats, err, sizeof(err));
		if (!w->fe) {
			log_error("worker %u: %s", i, err);
			return -1;
		}
	}
	if (drop_capabilities() < 0)
		return -1;
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
		if (w->base)
			event_base_free(w->base);
	}
}

static int daemon_run(struct daemon *d)
{
	uint8_t master[COOKIE_MASTER_LEN];
	struct event *sigs[3] = { NULL, NULL, NULL };
	const int signums[3] = { SIGINT, SIGTERM, SIGUSR1 };
	char err[CONFIG_ERR_MAX];
	int rc = 1;

	if (check_capabilities() < 0 || load_master(&d->cfg, master) < 0)
		return 1;
	raise_fd_limit(&d->cfg);
	signal(SIGPIPE, SIG_IGN);
	if (evthread_use_pthreads() < 0 || !(d->base = event_base_new())) {
		log_error("cannot create the main event loop");
		return 1;
	}
	for (int i = 0; i < 3; i++) {
		sigs[i] = evsignal_new(d->base, signums[i], on_signal, d);
		if (!sigs[i] || event_add(sigs[i], NULL) < 0) {
			log_error("cannot install signal handlers");
			goto out;
		}
	}
	if (fw_install(&d->cfg, err, sizeof(err)) < 0) {
		log_error("cannot install the nftables table: %s", err);
		goto out;
	}
	if (daemon_start_workers(d, master) == 0 && daemon_start_report(d) == 0 &&
	    (!d->cfg.admin_enabled ||
	     (d->admin = admin_new(d->base, &d->cfg.admin, d->all_stats, d->n_workers, err, sizeof(err))))) {
		char ep[64];
		log_info("ready: protecting %zu endpoint(s) on %s (first %s), %zu backend(s), %u worker(s)",
			 d->cfg.n_listen, d->cfg.interface,
			 config_endpoint_str(&d->cfg.listen[0], ep, sizeof(ep)), d->cfg.n_backends,
			 d->n_workers);
		event_base_dispatch(d->base);
		rc = 0;
	} else if (d->cfg.admin_enabled && !d->admin && d->n_workers) {
		log_error("admin endpoint: %s", err);
	}
	admin_free(d->admin);
	if (d->ev_report)
		event_free(d->ev_report);
	daemon_stop_workers(d);
	daemon_print_stats(d);
	if (fw_remove(err, sizeof(err)) < 0) {
		log_error("cannot remove the nftables table: %s", err);
		rc = 1;
	}
out:
	memset(master, 0, sizeof(master));
	for (int i = 0; i < 3; i++)
		if (sigs[i])
			event_free(sigs[i]);
	event_base_free(d->base);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "test", no_argument, NULL, 't' },
		{ "gen-key", required_argument, NULL, 'g' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct daemon d; /* large: keep it off the stack */
	const char *path = NULL;
	char err[CONFIG_ERR_MAX];
	bool test_only = false;
	int opt;

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
	if (test_only) {
		printf("synguard: %s: configuration ok\n", path);
		return 0;
	}
	log_set_level((enum log_level)d.cfg.log_level);
	return daemon_run(&d);
}
