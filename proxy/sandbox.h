/* sandbox — the only system calls synguard makes once it is set up.
 *
 * sandbox_enter() loads a seccomp filter that allows the calls listed in
 * sandbox.c, in groups that each say who needs them; some only with given
 * arguments (socket families, ioctl requests, bpf commands, no executable
 * memory, threads but no new processes). Any other call fails with EPERM:
 * the caller sees an ordinary error and handles it as one (a connection is
 * reset, a counter not read, the log says "Operation not permitted"), and
 * the kernel logs the call ("audit: type=1326 ... comm="synguard" ...
 * syscall=N" in dmesg, or in the audit log under auditd). Killing the
 * process instead would leave the nft table behind, black-holing the
 * protected ports, and drop every connection, for what may be one rare
 * error path that the list missed.
 *
 * Code that runs after set-up and makes a call not listed must add it there.
 * Call after privs_drop() (a filter needs no_new_privs) and after the last
 * file is opened, before serving. Threads created later inherit the filter;
 * threads that exist already get it too (TSYNC).
 */
#ifndef SYNGUARD_SANDBOX_H
#define SYNGUARD_SANDBOX_H

#include <stddef.h>

/* Returns the number of system calls allowed (> 0), or -1 with the reason
 * in `err`. */
int sandbox_enter(char *err, size_t errlen);

#endif
