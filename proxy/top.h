/* top — `synguard top`: a live view of a running synguard, read from its
 * admin endpoint's /metrics every second and drawn with ncurses (topview.c
 * makes the lines).
 *
 *   synguard top [-a HOST:PORT | -c CONFIG] [--once]
 *
 * The endpoint: -a, else the `admin` of CONFIG, else that of TOP_DEFAULT_CONFIG
 * if it exists, else TOP_DEFAULT_ADMIN. --once prints one plain-text frame
 * (two samples a second apart) and exits: 1 if the endpoint cannot be read.
 * The live view says "unreachable" and retries every second; q quits.
 *
 * Each fetch is bounded: TOP_TIMEOUT_MS for all of it, TOP_RESPONSE_MAX bytes.
 */
#ifndef SYNGUARD_TOP_H
#define SYNGUARD_TOP_H

#define TOP_DEFAULT_CONFIG "/etc/synguard/synguard.conf"
#define TOP_DEFAULT_ADMIN "127.0.0.1:9100" /* the example config's */
#define TOP_TIMEOUT_MS 2000

/* argv[0] is "top". Returns the exit code. */
int top_main(int argc, char **argv);

#endif
