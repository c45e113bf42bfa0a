#include "notify.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "log.h"

/* A failure is worth one warning: systemd then times the start out, or
 * shows a stale status, and the log says why. */
static void notify_send(const char *state)
{
	static int warned;
	int rc = sd_notify(0, state);

	if (rc < 0 && !warned) {
		warned = 1;
		log_warn("cannot notify systemd (%.32s...): %s", state, strerror(-rc));
	}
}

void notify_ready(void)
{
	notify_send("READY=1");
}

void notify_reloading(void)
{
	struct timespec ts;
	char state[64];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(state, sizeof(state), "RELOADING=1\nMONOTONIC_USEC=%llu",
	         (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000ULL);
	notify_send(state);
}

void notify_stopping(void)
{
	notify_send("STOPPING=1");
}

void notify_status(const char *fmt, ...)
{
	char state[256] = "STATUS=";
	const size_t n = strlen(state);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(state + n, sizeof(state) - n, fmt, ap);
	va_end(ap);
	notify_send(state);
}
