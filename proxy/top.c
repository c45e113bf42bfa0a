#include "top.h"

#include <curses.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "config.h"
#include "topview.h"

/* The largest /metrics body the daemon sends, and its headers. */
#define TOP_RESPONSE_MAX (ADMIN_METRICS_MAX + 4096)
#define TOP_SCREEN_MAX 16384

static volatile sig_atomic_t top_stop;

static double top_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Waits for `events` on fd until `deadline`; false with errno on timeout
 * (ETIMEDOUT) or failure. */
static bool top_wait(int fd, short events, double deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int left = (int)((deadline - top_now()) * 1000);

	if (left <= 0) {
		errno = ETIMEDOUT;
		return false;
	}
	int n = poll(&pfd, 1, left);
	if (n == 0)
		errno = ETIMEDOUT;
	return n > 0;
}

/* A connected, non-blocking socket to `ep` by `deadline`; -1 with errno. */
static int top_connect(const struct config_endpoint *ep, double deadline)
{
	int soerr = 0;
	socklen_t sl = sizeof(soerr);
	int fd = socket(ep->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)&ep->addr, ep->len) == 0)
		return fd;
	if (errno == EINPROGRESS && top_wait(fd, POLLOUT, deadline) &&
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0) {
		if (soerr == 0)
			return fd;
		errno = soerr;
	}
	int saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/* GET /metrics from `ep` into buf: the body's length, or -1 with why in err. */
static long top_fetch(const struct config_endpoint *ep, char *buf, size_t cap, const char **body, char *err,
                      size_t errlen)
{
	static const char req[] = "GET /metrics HTTP/1.0\r\nUser-Agent: synguard-top\r\n\r\n";
	double deadline = top_now() + TOP_TIMEOUT_MS / 1000.0;
	size_t len = 0;
	int fd = top_connect(ep, deadline);

	if (fd < 0) {
		snprintf(err, errlen, "cannot connect: %s", strerror(errno));
		return -1;
	}
	/* A few dozen bytes into an empty socket buffer: sent whole at once. */
	if (send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) != sizeof(req) - 1) {
		snprintf(err, errlen, "cannot send the request: %s", strerror(errno));
		close(fd);
		return -1;
	}
	/* Connection: close: the response ends at EOF. */
	for (;;) {
		if (len == cap - 1) {
			snprintf(err, errlen, "response larger than %zu bytes", cap - 1);
			close(fd);
			return -1;
		}
		ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);
		if (n == 0)
			break;
		if (n > 0) {
			len += (size_t)n;
		} else if (errno != EAGAIN || !top_wait(fd, POLLIN, deadline)) {
			snprintf(err, errlen, "reading the response: %s", strerror(errno));
			close(fd);
			return -1;
		}
	}
	close(fd);
	buf[len] = '\0';

	char *sep = strstr(buf, "\r\n\r\n");
	if (strncmp(buf, "HTTP/1.", 7) != 0 || len < 12 || !sep) {
		snprintf(err, errlen, "not an HTTP response");
		return -1;
	}
	if (strncmp(buf + 8, " 200", 4) != 0) {
		snprintf(err, errlen, "HTTP status %.3s", buf + 9);
		return -1;
	}
	*body = sep + 4;
	return (long)(len - (size_t)(*body - buf));
}

/* One sample from `ep`; false with why in err. */
static bool top_sample(const struct config_endpoint *ep, struct topview_sample *s, char *err, size_t errlen)
{
	static char buf[TOP_RESPONSE_MAX];
	const char *body;
	long len = top_fetch(ep, buf, sizeof(buf), &body, err, errlen);

	if (len < 0)
		return false;
	if (topview_parse(body, (size_t)len, top_now(), s) != TOPVIEW_PARSED) {
		snprintf(err, errlen, "no synguard metrics in the response");
		return false;
	}
	return true;
}

/* Which endpoint to read (see top.h); -1 with a message on stderr. */
static int top_endpoint(const char *addr, const char *path, struct config_endpoint *ep)
{
	static struct config cfg; /* large */
	char err[CONFIG_ERR_MAX];

	if (addr) {
		if (config_parse_endpoint(addr, ep) == 0)
			return 0;
		fprintf(stderr, "synguard top: -a %s: not an IP:PORT or [IPv6]:PORT\n", addr);
		return -1;
	}
	if (!path && access(TOP_DEFAULT_CONFIG, F_OK) == 0)
		path = TOP_DEFAULT_CONFIG;
	if (!path)
		return config_parse_endpoint(TOP_DEFAULT_ADMIN, ep);
	if (config_load_file(path, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "synguard top: %s\n", err);
		return -1;
	}
	if (!cfg.admin_enabled) {
		fprintf(stderr, "synguard top: %s has no admin endpoint (set admin = \"IP:PORT\")\n", path);
		return -1;
	}
	*ep = cfg.admin;
	return 0;
}

static int top_once(const struct config_endpoint *ep, const char *name)
{
	static struct topview_sample prev, cur;
	static char screen[TOP_SCREEN_MAX];
	char err[256];

	bool ok = top_sample(ep, &prev, err, sizeof(err));

	if (ok) {
		sleep(1);
		ok = top_sample(ep, &cur, err, sizeof(err));
	}
	if (!ok) {
		fprintf(stderr, "synguard top: http://%s/metrics: %s\n", name, err);
		return 1;
	}
	topview_format(&prev, &cur, name, screen, sizeof(screen));
	fputs(screen, stdout);
	return 0;
}

static void top_on_signal(int sig)
{
	(void)sig;
	top_stop = 1;
}

static void top_draw(const char *text)
{
	erase();
	mvaddstr(0, 0, text);
	mvaddstr(LINES - 1, 0, "q: quit");
	refresh();
}

/* Until q or a signal: a sample a second, drawn. */
static int top_live(const struct config_endpoint *ep, const char *name)
{
	static struct topview_sample samples[2];
	static char screen[TOP_SCREEN_MAX];
	struct sigaction sa = { .sa_handler = top_on_signal };
	struct topview_sample *prev = NULL, *cur = &samples[0];
	char err[256];

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (!initscr()) {
		fprintf(stderr, "synguard top: cannot start the terminal\n");
		return 1;
	}
	cbreak();
	noecho();
	curs_set(0);
	while (!top_stop) {
		double next = top_now() + 1;

		if (top_sample(ep, cur, err, sizeof(err))) {
			topview_format(prev, cur, name, screen, sizeof(screen));
			prev = cur;
			cur = cur == &samples[0] ? &samples[1] : &samples[0];
		} else {
			snprintf(screen, sizeof(screen),
			         "synguard top: http://%s/metrics unreachable: %s\n"
			         "(retrying every second)\n",
			         name, err);
			prev = NULL; /* rates over the gap would mislead */
		}
		top_draw(screen);
		/* Keys until the next second; a resize redraws. */
		for (int left; !top_stop && (left = (int)((next - top_now()) * 1000)) > 0;) {
			timeout(left);
			int ch = getch();
			if (ch == 'q' || ch == 'Q')
				top_stop = 1;
			else if (ch == KEY_RESIZE)
				top_draw(screen);
		}
	}
	endwin();
	return 0;
}

static void top_usage(FILE *out)
{
	fprintf(out, "usage: synguard top [-a HOST:PORT | -c CONFIG] [--once]\n"
	             "  a live view of a running synguard from its admin endpoint (default: the admin\n"
	             "  of " TOP_DEFAULT_CONFIG " if it exists, else " TOP_DEFAULT_ADMIN ")\n"
	             "  --once  print one frame (two samples 1 s apart) as plain text and exit\n");
}

int top_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "admin", required_argument, NULL, 'a' },
		{ "config", required_argument, NULL, 'c' },
		{ "once", no_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *addr = NULL, *path = NULL;
	struct config_endpoint ep;
	bool once = false;
	char name[64];
	int opt;

	while ((opt = getopt_long(argc, argv, "a:c:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'a':
			addr = optarg;
			break;
		case 'c':
			path = optarg;
			break;
		case 'o':
			once = true;
			break;
		case 'h':
			top_usage(stdout);
			return 0;
		default:
			top_usage(stderr);
			return 2;
		}
	}
	if (optind != argc || (addr && path)) {
		top_usage(stderr);
		return 2;
	}
	if (top_endpoint(addr, path, &ep) < 0)
		return 1;
	config_endpoint_str(&ep, name, sizeof(name));
	return once ? top_once(&ep, name) : top_live(&ep, name);
}
