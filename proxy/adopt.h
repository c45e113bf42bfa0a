/* adopt — turn a verified handshake into an ESTABLISHED kernel TCP socket.
 *
 * TCP_REPAIR lets us create the socket the kernel would have created had it
 * answered the SYN itself: sequence numbers, negotiated options and windows
 * are restored, data the client sent before the socket existed is injected
 * into its receive queue, and from then on the kernel's own TCP stack runs
 * the connection. Needs CAP_NET_ADMIN. Sequence (DESIGN §5): repair on and
 * mark REPAIR; queue sequence numbers while CLOSED; bind + connect (no SYN
 * is sent); options; timestamp; windows; inject; mark LIVE; repair off.
 */
#ifndef SYNGUARD_ADOPT_H
#define SYNGUARD_ADOPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define ADOPT_WSCALE_NONE 0xff

struct adopt_req {
	struct sockaddr_storage local; /* the protected address:port reached */
	struct sockaddr_storage peer;  /* the client */
	uint32_t snd_isn;              /* our ISN: the cookie */
	uint32_t rcv_isn;              /* the client's ISN */
	uint16_t mss;                  /* the client's MSS, from the cookie */
	uint8_t snd_wscale;            /* the client's shift, or ADOPT_WSCALE_NONE */
	uint8_t rcv_wscale;            /* ours, as sent in the SYN-ACK */
	bool sack_ok;
	bool ts_ok;       /* the ACK carried timestamps */
	uint32_t ts_now;  /* our timestamp clock now (same clock as the SYN-ACK's TSval) */
	uint16_t window;  /* the ACK's window field, unscaled */
	uint16_t rcv_wnd; /* the window we advertised in the SYN-ACK */
	uint32_t mark_repair;
	uint32_t mark_live;
	const uint8_t *data; /* in-order bytes starting at rcv_isn + 1 */
	size_t data_len;
};

enum adopt_result {
	ADOPT_OK = 0,
	ADOPT_ERR_SOCKET, /* socket() or SO_MARK failed */
	ADOPT_ERR_REPAIR, /* TCP_REPAIR refused: no CAP_NET_ADMIN? */
	ADOPT_ERR_SEQ,    /* TCP_REPAIR_QUEUE / TCP_QUEUE_SEQ */
	ADOPT_ERR_BIND,
	ADOPT_ERR_CONNECT, /* 4-tuple still taken after clearing TIME_WAIT */
	ADOPT_ERR_OPTIONS, /* TCP_REPAIR_OPTIONS / TCP_TIMESTAMP */
	ADOPT_ERR_WINDOW,
	ADOPT_ERR_INJECT,
	ADOPT_ERR_LIVE, /* marking live / leaving repair */
	ADOPT_RESULT_COUNT
};

/* Build the socket. On ADOPT_OK *fd is the live, blocking socket and
 * *tw_killed tells whether an old socket on the 4-tuple had to be destroyed.
 * On error nothing is left open and *err_no holds the failing call's errno. */
enum adopt_result adopt_socket(const struct adopt_req *req, int *fd, bool *tw_killed, int *err_no);

/* A segment the client sent before `fd` went live was dropped by the
 * firewall; the ring saw it only later. Put it where it belongs: if the
 * socket still expects exactly `seq`, inject `data` through repair mode
 * (leaving it sends the ACK). Returns 1 if injected, 0 if the kernel already
 * has those bytes or more, -1 on error (errno set). */
int adopt_inject_late(int fd, uint32_t seq, const uint8_t *data, size_t len);

const char *adopt_result_str(enum adopt_result r);

#endif
