#include "tx.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pkt.h"

#define TX_FRAME_SIZE 256u /* header + Ethernet + PKT_BUILD_MAX, aligned */
#define TX_FRAMES 1024u    /* 16 batches in flight */

/* Where a frame's data starts, as the kernel reads it for TPACKET_V2. */
#define TX_DATA_OFF (TPACKET2_HDRLEN - sizeof(struct sockaddr_ll))

_Static_assert(TX_DATA_OFF + ETH_HLEN + PKT_BUILD_MAX <= TX_FRAME_SIZE, "TX frame too small");

struct tx {
	int fd;
	uint8_t *ring;
	unsigned head;    /* the next frame we fill */
	unsigned queued;  /* filled since the last send() */
	unsigned refused; /* packets dropped for a full ring */
};

static struct tpacket2_hdr *tx_frame(const struct tx *tx, unsigned i)
{
	return (struct tpacket2_hdr *)(tx->ring + (size_t)i * TX_FRAME_SIZE);
}

static int tx_setup(struct tx *tx, const char *ifname, char *err, size_t errlen)
{
	int version = TPACKET_V2, one = 1;
	struct tpacket_req req = {
		.tp_block_size = 4096,
		.tp_block_nr = TX_FRAMES * TX_FRAME_SIZE / 4096,
		.tp_frame_size = TX_FRAME_SIZE,
		.tp_frame_nr = TX_FRAMES,
	};
	struct sockaddr_ll sll = { .sll_family = AF_PACKET };

	sll.sll_ifindex = (int)if_nametoindex(ifname);
	if (sll.sll_ifindex == 0) {
		snprintf(err, errlen, "interface %s: %s", ifname, strerror(errno));
		return -1;
	}
	/* PACKET_LOSS: a frame the kernel cannot send is skipped, not left to
	 * block the ones behind it. */
	if (setsockopt(tx->fd, SOL_PACKET, PACKET_VERSION, &version, sizeof(version)) < 0 ||
	    setsockopt(tx->fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)) < 0 ||
	    setsockopt(tx->fd, SOL_PACKET, PACKET_LOSS, &one, sizeof(one)) < 0 ||
	    setsockopt(tx->fd, SOL_PACKET, PACKET_TX_RING, &req, sizeof(req)) < 0) {
		snprintf(err, errlen, "packet TX ring setup: %s", strerror(errno));
		return -1;
	}
	tx->ring = mmap(NULL, (size_t)TX_FRAMES * TX_FRAME_SIZE, PROT_READ | PROT_WRITE,
	                MAP_SHARED | MAP_POPULATE, tx->fd, 0);
	if (tx->ring == MAP_FAILED) {
		tx->ring = NULL;
		snprintf(err, errlen, "packet TX ring mmap: %s", strerror(errno));
		return -1;
	}
	/* Protocol 0: this socket only sends. */
	if (bind(tx->fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		snprintf(err, errlen, "bind TX socket to %s: %s", ifname, strerror(errno));
		return -1;
	}
	return 0;
}

struct tx *tx_open(const char *ifname, char *err, size_t errlen)
{
	struct tx *tx = calloc(1, sizeof(*tx));

	if (!tx) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	tx->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (tx->fd < 0) {
		snprintf(err, errlen, "packet socket: %s%s", strerror(errno),
		         errno == EPERM ? " (needs CAP_NET_RAW)" : "");
		free(tx);
		return NULL;
	}
	if (tx_setup(tx, ifname, err, errlen) < 0) {
		tx_close(tx);
		return NULL;
	}
	return tx;
}

void tx_close(struct tx *tx)
{
	if (!tx)
		return;
	if (tx->ring)
		munmap(tx->ring, (size_t)TX_FRAMES * TX_FRAME_SIZE);
	close(tx->fd);
	free(tx);
}

/* Frames the kernel cannot take now stay queued in the ring and leave with
 * the next send(); a ring that stays full shows up as refusals. */
static void tx_kick(struct tx *tx)
{
	if (tx->queued && send(tx->fd, NULL, 0, MSG_DONTWAIT) >= 0)
		tx->queued = 0;
}

unsigned tx_flush(struct tx *tx)
{
	unsigned refused = tx->refused;

	tx_kick(tx);
	tx->refused = 0;
	return refused;
}

uint8_t *tx_slot(struct tx *tx)
{
	struct tpacket2_hdr *h = tx_frame(tx, tx->head);
	uint32_t status = __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);

	if (status != TP_STATUS_AVAILABLE && status != TP_STATUS_WRONG_FORMAT && tx->queued) {
		tx_kick(tx);
		status = __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);
	}
	if (status != TP_STATUS_AVAILABLE && status != TP_STATUS_WRONG_FORMAT) {
		tx->refused++;
		return NULL;
	}
	return (uint8_t *)h + TX_DATA_OFF + ETH_HLEN;
}

void tx_commit(struct tx *tx, const uint8_t *in, uint8_t family, size_t len)
{
	struct tpacket2_hdr *h = tx_frame(tx, tx->head);
	uint8_t *eth = (uint8_t *)h + TX_DATA_OFF;
	uint16_t type = htons(family == AF_INET ? ETH_P_IP : ETH_P_IPV6);

	memcpy(eth, in + ETH_ALEN, ETH_ALEN); /* to the sender */
	memcpy(eth + ETH_ALEN, in, ETH_ALEN); /* from the address it reached */
	memcpy(eth + 2 * ETH_ALEN, &type, 2);
	h->tp_len = (uint32_t)(ETH_HLEN + len);
	__atomic_store_n(&h->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
	tx->head = (tx->head + 1) % TX_FRAMES;
	if (++tx->queued == TX_BATCH)
		tx_kick(tx);
}
