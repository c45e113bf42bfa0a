/* notify — what systemd (a Type=notify unit) is told about synguard, through
 * sd_notify(3): ready, reloading, stopping, and a status line for `systemctl
 * status`. Not started by systemd (no $NOTIFY_SOCKET), each call does
 * nothing. Calls need only what the sandbox allows (an AF_UNIX datagram
 * socket, sendmsg, clock_gettime), so they work after the drop too.
 */
#ifndef SYNGUARD_NOTIFY_H
#define SYNGUARD_NOTIFY_H

/* Set-up is done and synguard serves: systemctl start returns. */
void notify_ready(void);

/* A reload (SIGHUP) begins: RELOADING=1 with MONOTONIC_USEC, as systemd
 * wants it; notify_ready() again when it is done. */
void notify_reloading(void);

/* Stopping (draining): systemctl stop waits, up to TimeoutStopSec=. */
void notify_stopping(void);

/* The status line, printf-style (one line, no newline). */
void notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
