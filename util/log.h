/* log — leveled messages to stderr, one line each, safe from any thread.
 *
 * A line starts with a UTC time stamp, or, when stderr is the journal
 * (systemd's $JOURNAL_STREAM names it), which stamps lines itself, with the
 * priority as "<N>" (sd-daemon.h's SD_ERR...) so `journalctl -p` filters.
 */
#ifndef SYNGUARD_LOG_H
#define SYNGUARD_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Look at where stderr goes. Call once at start, before other threads. */
void log_init(void);

void log_set_level(enum log_level level);
int log_enabled(enum log_level level);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A line's prefix (pure): "<3>synguard[error] " for the journal, else
 * "2026-12-02T03:04:05.678Z synguard[error] " at `now`. Returns its length
 * as snprintf() does. */
int log_prefix(char *buf, size_t len, enum log_level level, bool journal, const struct timespec *now);

/* Whether $JOURNAL_STREAM's value `env` ("DEVICE:INODE", or NULL) names the
 * file (dev, ino) (pure). */
bool log_is_journal(const char *env, dev_t dev, ino_t ino);

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)                                   \
	do {                                             \
		if (log_enabled(LOG_DEBUG))              \
			log_msg(LOG_DEBUG, __VA_ARGS__); \
	} while (0)

#endif
