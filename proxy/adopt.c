#include "adopt.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netaddr.h"
#include "sockdiag.h"

static int adopt_setint(int fd, int level, int name, int val)
{
	return setsockopt(fd, level, name, &val, sizeof(val));
}

static int adopt_queue_seq(int fd, int queue, uint32_t seq)
{
	if (adopt_setint(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, queue) < 0)
		return -1;
	return setsockopt(fd, IPPROTO_TCP, TCP_QUEUE_SEQ, &seq, sizeof(seq));
}

/* Steps 1-3: a repair-mode socket with both sequence numbers, connected.
 * Returns ADOPT_OK with *fd set, or an error with nothing left open. */
static enum adopt_result adopt_connect(const struct adopt_req *req, int *fd)
{
	enum adopt_result res;
	int s = socket(req->local.ss_family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);

	if (s < 0)
		return ADOPT_ERR_SOCKET;
	/* Never SO_REUSEADDR here: repair mode forces reuse already, and setting
	 * it afterwards downgrades that (DESIGN §5). */
	if (adopt_setint(s, IPPROTO_TCP, TCP_REPAIR, TCP_REPAIR_ON) < 0)
		res = ADOPT_ERR_REPAIR;
	else if (adopt_setint(s, SOL_SOCKET, SO_MARK, (int)req->mark_repair) < 0)
		res = ADOPT_ERR_SOCKET;
	else if (adopt_queue_seq(s, TCP_SEND_QUEUE, req->snd_isn + 1) < 0 ||
	         adopt_queue_seq(s, TCP_RECV_QUEUE, req->rcv_isn + 1) < 0)
		res = ADOPT_ERR_SEQ;
	else if (bind(s, (const struct sockaddr *)&req->local, netaddr_len(&req->local)) < 0)
		res = ADOPT_ERR_BIND;
	else if (connect(s, (const struct sockaddr *)&req->peer, netaddr_len(&req->peer)) < 0)
		res = ADOPT_ERR_CONNECT;
	else {
		*fd = s;
		return ADOPT_OK;
	}
	int saved = errno;
	close(s);
	errno = saved;
	return res;
}

/* Step 4: what the handshake negotiated, and our timestamp clock. */
static int adopt_options(int fd, const struct adopt_req *req)
{
	struct tcp_repair_opt opts[4];
	unsigned n = 0;

	opts[n++] = (struct tcp_repair_opt){ TCPOPT_MAXSEG, req->mss };
	/* Without the option the kernel keeps the receive shift it chose at
	 * connect(), which a client that never agreed to scaling would misread:
	 * so "no scaling" is stated as shifts 0 and 0. */
	if (req->snd_wscale == ADOPT_WSCALE_NONE)
		opts[n++] = (struct tcp_repair_opt){ TCPOPT_WINDOW, 0 };
	else
		opts[n++] = (struct tcp_repair_opt){ TCPOPT_WINDOW,
			                             req->snd_wscale | ((uint32_t)req->rcv_wscale << 16) };
	if (req->sack_ok)
		opts[n++] = (struct tcp_repair_opt){ TCPOPT_SACK_PERMITTED, 0 };
	if (req->ts_ok)
		opts[n++] = (struct tcp_repair_opt){ TCPOPT_TIMESTAMP, 0 };
	if (setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_OPTIONS, opts, n * sizeof(opts[0])) < 0)
		return -1;
	return req->ts_ok ? adopt_setint(fd, IPPROTO_TCP, TCP_TIMESTAMP, (int)req->ts_now) : 0;
}

/* Step 5: connect() left the send window at zero; restore both windows. */
static int adopt_window(int fd, const struct adopt_req *req)
{
	uint32_t shift = req->snd_wscale == ADOPT_WSCALE_NONE ? 0 : req->snd_wscale;
	struct tcp_repair_window w = {
		.snd_wl1 = req->rcv_isn + 1,
		.snd_wnd = (uint32_t)req->window << shift,
		.max_window = (uint32_t)req->window << shift,
		.rcv_wnd = req->rcv_wnd,
		.rcv_wup = req->rcv_isn + 1,
	};
	return setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_WINDOW, &w, sizeof(w));
}

/* Bytes straight into the receive queue (the socket is in repair mode). */
static int adopt_send_rcvq(int fd, const uint8_t *data, size_t len)
{
	size_t off = 0;

	if (len == 0)
		return 0;
	if (adopt_setint(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, TCP_RECV_QUEUE) < 0)
		return -1;
	while (off < len) {
		ssize_t n = send(fd, data + off, len - off, 0);
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		off += (size_t)n;
	}
	return 0;
}

/* Leave repair mode; `probe` sends the window probe that ACKs what was
 * injected. Then SO_REUSEADDR, only now: set during repair it would downgrade
 * the forced reuse (DESIGN §5), but without it our TIME_WAIT sockets would
 * keep a server started after synguard from binding the address for 60 s. */
static int adopt_leave_repair(int fd, bool probe)
{
	if (adopt_setint(fd, IPPROTO_TCP, TCP_REPAIR, probe ? TCP_REPAIR_OFF : TCP_REPAIR_OFF_NO_WP) < 0)
		return -1;
	return adopt_setint(fd, SOL_SOCKET, SO_REUSEADDR, 1);
}

static enum adopt_result adopt_finish(int fd, const struct adopt_req *req)
{
	if (adopt_options(fd, req) < 0)
		return ADOPT_ERR_OPTIONS;
	if (adopt_window(fd, req) < 0)
		return ADOPT_ERR_WINDOW;
	if (adopt_send_rcvq(fd, req->data, req->data_len) < 0) /* step 6: early bytes */
		return ADOPT_ERR_INJECT;
	/* LIVE before repair off: the window probe that leaving repair sends
	 * (it also ACKs the injected bytes) may draw an immediate answer, which
	 * the firewall must already let through. */
	if (adopt_setint(fd, SOL_SOCKET, SO_MARK, (int)req->mark_live) < 0 ||
	    adopt_leave_repair(fd, true) < 0)
		return ADOPT_ERR_LIVE;
	return ADOPT_OK;
}

enum adopt_result adopt_socket(const struct adopt_req *req, int *fd, bool *tw_killed, int *err_no)
{
	enum adopt_result res;
	int s = -1;

	*tw_killed = false;
	res = adopt_connect(req, &s);
	/* The 4-tuple is still held by our side of the client's previous
	 * connection (TIME_WAIT without timestamps): clear it and retry once. */
	if (res == ADOPT_ERR_CONNECT && errno == EADDRNOTAVAIL &&
	    sockdiag_destroy(&req->local, &req->peer) == 0) {
		*tw_killed = true;
		res = adopt_connect(req, &s);
	}
	if (res == ADOPT_OK) {
		res = adopt_finish(s, req);
		if (res == ADOPT_OK) {
			*fd = s;
			return ADOPT_OK;
		}
	}
	*err_no = errno;
	if (s >= 0)
		close(s);
	return res;
}

int adopt_inject_late(int fd, uint32_t seq, const uint8_t *data, size_t len)
{
	uint32_t rcv_nxt;
	socklen_t sl = sizeof(rcv_nxt);
	int rc = -1, saved;

	/* Repair mode on a live socket pauses nothing on receive: the socket
	 * lock orders us against a retransmission the kernel takes itself. */
	if (adopt_setint(fd, IPPROTO_TCP, TCP_REPAIR, TCP_REPAIR_ON) < 0)
		return -1;
	if (adopt_setint(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, TCP_RECV_QUEUE) == 0 &&
	    getsockopt(fd, IPPROTO_TCP, TCP_QUEUE_SEQ, &rcv_nxt, &sl) == 0)
		rc = rcv_nxt != seq ? 0 : adopt_send_rcvq(fd, data, len) == 0 ? 1 : -1;
	saved = errno;
	if (adopt_leave_repair(fd, rc == 1) < 0)
		return -1;
	/* Injection queues the bytes without waking readers (no sk_data_ready),
	 * and the relay already waits on this socket: setting the low-water
	 * mark makes TCP check for readable data and wake it. */
	if (rc == 1 && adopt_setint(fd, SOL_SOCKET, SO_RCVLOWAT, 1) < 0)
		return -1;
	errno = saved;
	return rc;
}

const char *adopt_result_str(enum adopt_result r)
{
	static const char *const names[ADOPT_RESULT_COUNT] = {
		[ADOPT_OK] = "ok",
		[ADOPT_ERR_SOCKET] = "socket",
		[ADOPT_ERR_REPAIR] = "tcp_repair_refused",
		[ADOPT_ERR_SEQ] = "queue_seq",
		[ADOPT_ERR_BIND] = "bind",
		[ADOPT_ERR_CONNECT] = "connect",
		[ADOPT_ERR_OPTIONS] = "repair_options",
		[ADOPT_ERR_WINDOW] = "repair_window",
		[ADOPT_ERR_INJECT] = "inject",
		[ADOPT_ERR_LIVE] = "go_live",
	};
	return (unsigned)r < ADOPT_RESULT_COUNT ? names[r] : "unknown";
}
