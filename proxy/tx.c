#include "tx.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pkt.h"

struct tx_queue {
	int fd;
	unsigned n;
	struct mmsghdr msgs[TX_BATCH];
	struct iovec iov[TX_BATCH];
	struct sockaddr_in6 dst[TX_BATCH]; /* large enough for either family */
	uint8_t buf[TX_BATCH][PKT_BUILD_MAX];
};

struct tx {
	struct tx_queue q4, q6;
	unsigned refused;
};

static int tx_queue_open(struct tx_queue *q, int family)
{
	q->fd = socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_RAW);
	if (q->fd < 0)
		return -1;
	/* Room for several batches queued in the kernel during a flood. */
	int sndbuf = 4 << 20;
	setsockopt(q->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	for (unsigned i = 0; i < TX_BATCH; i++) {
		q->iov[i].iov_base = q->buf[i];
		q->msgs[i].msg_hdr.msg_iov = &q->iov[i];
		q->msgs[i].msg_hdr.msg_iovlen = 1;
		q->msgs[i].msg_hdr.msg_name = &q->dst[i];
	}
	return 0;
}

struct tx *tx_open(char *err, size_t errlen)
{
	struct tx *tx = calloc(1, sizeof(*tx));

	if (!tx) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	tx->q6.fd = -1;
	if (tx_queue_open(&tx->q4, AF_INET) < 0 || tx_queue_open(&tx->q6, AF_INET6) < 0) {
		snprintf(err, errlen, "raw socket: %s%s", strerror(errno),
			 errno == EPERM ? " (needs CAP_NET_RAW)" : "");
		tx_close(tx);
		return NULL;
	}
	return tx;
}

void tx_close(struct tx *tx)
{
	if (!tx)
		return;
	if (tx->q4.fd >= 0)
		close(tx->q4.fd);
	if (tx->q6.fd >= 0)
		close(tx->q6.fd);
	free(tx);
}

static void tx_queue_flush(struct tx *tx, struct tx_queue *q)
{
	unsigned sent = 0;

	while (sent < q->n) {
		int n = sendmmsg(q->fd, q->msgs + sent, q->n - sent, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* ENOBUFS/EAGAIN under a flood, or an unreachable
			 * spoofed source: count it and skip that packet. */
			tx->refused++;
			n = 1;
		}
		sent += (unsigned)n;
	}
	q->n = 0;
}

unsigned tx_flush(struct tx *tx)
{
	unsigned refused;

	tx_queue_flush(tx, &tx->q4);
	tx_queue_flush(tx, &tx->q6);
	refused = tx->refused;
	tx->refused = 0;
	return refused;
}

static struct tx_queue *tx_queue_of(struct tx *tx, uint8_t family)
{
	return family == AF_INET ? &tx->q4 : &tx->q6;
}

uint8_t *tx_slot(struct tx *tx, uint8_t family)
{
	struct tx_queue *q = tx_queue_of(tx, family);

	if (q->n == TX_BATCH)
		tx_queue_flush(tx, q);
	return q->buf[q->n];
}

void tx_commit(struct tx *tx, uint8_t family, const uint8_t *daddr, size_t len)
{
	struct tx_queue *q = tx_queue_of(tx, family);
	unsigned i = q->n++;

	q->iov[i].iov_len = len;
	memset(&q->dst[i], 0, sizeof(q->dst[i]));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&q->dst[i];
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, daddr, 4);
		q->msgs[i].msg_hdr.msg_namelen = sizeof(*sin);
	} else {
		q->dst[i].sin6_family = AF_INET6;
		memcpy(&q->dst[i].sin6_addr, daddr, 16);
		q->msgs[i].msg_hdr.msg_namelen = sizeof(q->dst[i]);
	}
}
