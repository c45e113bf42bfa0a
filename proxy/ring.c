#include "ring.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
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

#include "netaddr.h"

struct ring {
	int fd;
	uint8_t *map;
	size_t map_len;
	unsigned next_block;
};

/* Accept unfragmented IPv4 TCP and IPv6 TCP (no extension headers) whose
 * destination port is one of the protected ones. Layout of the program:
 *   0  ldh [12]                 ethertype
 *   1  jeq 0x0800 ? 2 : v6
 *   2  ldb [23]; 3 jeq 6 ? 4 : drop
 *   4  ldh [20]; 5 jset 0x1fff ? drop : 6   (fragment offset: no ports)
 *   6  ldxb 4*([14]&0xf); 7 ldh [x+16]; 8 ja ports
 *   v6: 9 jeq 0x86dd ? 10 : drop; 10 ldb [20]; 11 jeq 6 ? 12 : drop; 12 ldh [56]
 *   ports: one jeq per port → accept; then drop, accept
 * Fragments and IPv6 extension headers never reach the parser this way; the
 * kernel's own path (and the nft table) deals with them. */
static int ring_filter(const struct config *cfg, struct sock_filter *prog, size_t cap, size_t *len)
{
	uint16_t ports[CONFIG_MAX_LISTEN];
	size_t n_ports = 0, n = 0;

	for (size_t i = 0; i < cfg->n_listen; i++) {
		uint16_t p = netaddr_port(&cfg->listen[i].addr);
		size_t j = 0;
		while (j < n_ports && ports[j] != p)
			j++;
		if (j == n_ports)
			ports[n_ports++] = p;
	}
	if (13 + n_ports + 2 > cap)
		return -1;
	/* Jump offsets count from the next instruction. Ports start at 13. */
	size_t drop = 13 + n_ports, accept = drop + 1;
#define J(code, k, jt, jf) prog[n] = (struct sock_filter)BPF_JUMP(code, k, (uint8_t)(jt), (uint8_t)(jf)), n++
#define S(code, k) prog[n] = (struct sock_filter)BPF_STMT(code, k), n++
	S(BPF_LD | BPF_H | BPF_ABS, 12);
	J(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IP, 0, 9 - 2);
	S(BPF_LD | BPF_B | BPF_ABS, 23);
	J(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_TCP, 0, drop - 4);
	S(BPF_LD | BPF_H | BPF_ABS, 20);
	J(BPF_JMP | BPF_JSET | BPF_K, 0x1fff, drop - 6, 0);
	S(BPF_LDX | BPF_B | BPF_MSH, 14);
	S(BPF_LD | BPF_H | BPF_IND, 16);
	J(BPF_JMP | BPF_JA, 13 - 9, 0, 0);
	J(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IPV6, 0, drop - 10);
	S(BPF_LD | BPF_B | BPF_ABS, 20);
	J(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_TCP, 0, drop - 12);
	S(BPF_LD | BPF_H | BPF_ABS, 56);
	for (size_t i = 0; i < n_ports; i++)
		J(BPF_JMP | BPF_JEQ | BPF_K, ports[i], accept - (n + 1), 0);
	S(BPF_RET | BPF_K, 0);       /* drop */
	S(BPF_RET | BPF_K, 0x40000); /* accept the whole frame, GRO-sized too */
#undef J
#undef S
	*len = n;
	return 0;
}

/* Found (*fanout 0: the kernel picks a free id, read back) or join a group. */
static int ring_fanout(int fd, uint16_t *fanout)
{
	int arg = *fanout | PACKET_FANOUT_HASH << 16;
	socklen_t len = sizeof(arg);

	if (*fanout == 0)
		arg |= PACKET_FANOUT_FLAG_UNIQUEID << 16;
	if (setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof(arg)) < 0)
		return -1;
	if (*fanout == 0) {
		if (getsockopt(fd, SOL_PACKET, PACKET_FANOUT, &arg, &len) < 0)
			return -1;
		*fanout = (uint16_t)arg;
	}
	return 0;
}

int ring_set_filter(struct ring *r, const struct config *cfg, char *err, size_t errlen)
{
	struct sock_filter prog[13 + CONFIG_MAX_LISTEN + 2];
	struct sock_fprog fprog;
	size_t prog_len;

	if (ring_filter(cfg, prog, sizeof(prog) / sizeof(prog[0]), &prog_len) < 0) {
		snprintf(err, errlen, "packet filter too large");
		return -1;
	}
	fprog.len = (unsigned short)prog_len;
	fprog.filter = prog;
	/* Attaching replaces the filter in one step. */
	if (setsockopt(r->fd, SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof(fprog)) < 0) {
		snprintf(err, errlen, "packet filter: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int ring_setup(struct ring *r, const struct config *cfg, uint16_t *fanout, char *err, size_t errlen)
{
	int version = TPACKET_V3, one = 1;
	struct tpacket_req3 req = {
		.tp_block_size = RING_BLOCK_SIZE,
		.tp_block_nr = RING_BLOCK_COUNT,
		.tp_frame_size = 2048,
		.tp_frame_nr = RING_BLOCK_SIZE / 2048 * RING_BLOCK_COUNT,
		.tp_retire_blk_tov = RING_BLOCK_TIMEOUT_MS,
	};
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };

	sll.sll_ifindex = (int)if_nametoindex(cfg->interface);
	if (sll.sll_ifindex == 0) {
		snprintf(err, errlen, "interface %s: %s", cfg->interface, strerror(errno));
		return -1;
	}
	/* Filter before bind: no unfiltered frame can slip into the ring. */
	if (ring_set_filter(r, cfg, err, errlen) < 0)
		return -1;
	if (setsockopt(r->fd, SOL_PACKET, PACKET_VERSION, &version, sizeof(version)) < 0 ||
	    setsockopt(r->fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) < 0 ||
	    setsockopt(r->fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) < 0) {
		snprintf(err, errlen, "packet ring setup: %s", strerror(errno));
		return -1;
	}
	r->map_len = (size_t)req.tp_block_size * req.tp_block_nr;
	r->map = mmap(NULL, r->map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_LOCKED | MAP_POPULATE, r->fd,
	              0);
	if (r->map == MAP_FAILED) /* MAP_LOCKED may exceed RLIMIT_MEMLOCK: retry without */
		r->map = mmap(NULL, r->map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, 0);
	if (r->map == MAP_FAILED) {
		r->map = NULL;
		snprintf(err, errlen, "packet ring mmap: %s", strerror(errno));
		return -1;
	}
	if (bind(r->fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		snprintf(err, errlen, "bind packet socket to %s: %s", cfg->interface, strerror(errno));
		return -1;
	}
	if (fanout && ring_fanout(r->fd, fanout) < 0) {
		snprintf(err, errlen, "packet fanout: %s", strerror(errno));
		return -1;
	}
	return 0;
}

struct ring *ring_open(const struct config *cfg, uint16_t *fanout, char *err, size_t errlen)
{
	struct ring *r = calloc(1, sizeof(*r));

	if (!r) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* Protocol 0: nothing is queued before the filter and ring exist;
	 * bind() later names the real protocol. */
	r->fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (r->fd < 0) {
		snprintf(err, errlen, "packet socket: %s%s", strerror(errno),
		         errno == EPERM ? " (needs CAP_NET_RAW)" : "");
		free(r);
		return NULL;
	}
	if (ring_setup(r, cfg, fanout, err, errlen) < 0) {
		ring_close(r);
		return NULL;
	}
	return r;
}

void ring_close(struct ring *r)
{
	if (!r)
		return;
	if (r->map)
		munmap(r->map, r->map_len);
	close(r->fd);
	free(r);
}

int ring_fd(const struct ring *r)
{
	return r->fd;
}

size_t ring_drain(struct ring *r, unsigned max_blocks, ring_frame_fn on_frame, ring_block_fn on_block_end,
                  void *arg)
{
	size_t frames = 0;

	for (unsigned b = 0; b < max_blocks; b++) {
		struct tpacket_block_desc *bd =
		        (struct tpacket_block_desc *)(r->map + (size_t)r->next_block * RING_BLOCK_SIZE);
		if (!(__atomic_load_n(&bd->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER))
			break;
		uint32_t n = bd->hdr.bh1.num_pkts;
		const struct tpacket3_hdr *h = (const struct tpacket3_hdr *)((uint8_t *)bd +
		                                                             bd->hdr.bh1.offset_to_first_pkt);
		for (uint32_t i = 0; i < n; i++) {
			/* The frame's sockaddr_ll follows its header (TPACKET_V3). */
			const struct sockaddr_ll *sll =
			        (const struct sockaddr_ll *)((const uint8_t *)h + TPACKET_ALIGN(sizeof(*h)));
			struct pkt_frame f = {
				.data = (const uint8_t *)h + h->tp_mac,
				.len = h->tp_snaplen,
				.arrived_ns = (uint64_t)h->tp_sec * 1000000000u + h->tp_nsec,
				.to_host = sll->sll_pkttype == PACKET_HOST,
				.csum_ok = (h->tp_status & (TP_STATUS_CSUM_VALID | TP_STATUS_CSUMNOTREADY)) !=
				           0,
			};
			on_frame(arg, &f);
			h = (const struct tpacket3_hdr *)((const uint8_t *)h + h->tp_next_offset);
		}
		frames += n;
		on_block_end(arg);
		__atomic_store_n(&bd->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
		r->next_block = (r->next_block + 1) % RING_BLOCK_COUNT;
	}
	return frames;
}

int ring_take_error(struct ring *r)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(r->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return errno;
	return err;
}

uint64_t ring_take_drops(struct ring *r)
{
	struct tpacket_stats_v3 st;
	socklen_t len = sizeof(st);

	/* Reading the statistics also resets them. */
	if (getsockopt(r->fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) < 0)
		return 0;
	return st.tp_drops;
}
