#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

static atomic_int log_level = LOG_INFO;
static bool log_journal; /* set by log_init(), before any other thread */

bool log_is_journal(const char *env, dev_t dev, ino_t ino)
{
	unsigned long long d, i;
	int end = 0;

	if (!env || sscanf(env, "%llu:%llu%n", &d, &i, &end) != 2 || env[end] != '\0')
		return false;
	return d == (unsigned long long)dev && i == (unsigned long long)ino;
}

void log_init(void)
{
	struct stat st;

	log_journal = fstat(STDERR_FILENO, &st) == 0 &&
	              log_is_journal(getenv("JOURNAL_STREAM"), st.st_dev, st.st_ino);
}

void log_set_level(enum log_level level)
{
	atomic_store(&log_level, (int)level);
}

int log_enabled(enum log_level level)
{
	return (int)level <= atomic_load_explicit(&log_level, memory_order_relaxed);
}

int log_prefix(char *buf, size_t len, enum log_level level, bool journal, const struct timespec *now)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };
	static const char *const priorities[] = { SD_ERR, SD_WARNING, SD_INFO, SD_DEBUG };
	struct tm tm;

	if (journal)
		return snprintf(buf, len, "%ssynguard[%s] ", priorities[level], names[level]);
	gmtime_r(&now->tv_sec, &tm);
	return snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ synguard[%s] ", tm.tm_year + 1900,
	                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, now->tv_nsec / 1000000,
	                names[level]);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char line[1024];
	struct timespec ts;
	va_list ap;
	int n;

	if (!log_enabled(level))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	n = log_prefix(line, sizeof(line), level, log_journal, &ts);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	/* One call per line: stdio locks the stream, so threads don't interleave. */
	fprintf(stderr, "%s\n", line);
}
