#include "sockdiag.h"

#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netaddr.h"

struct sockdiag_msg {
	struct nlmsghdr nlh;
	struct inet_diag_req_v2 req;
};

static void sockdiag_fill_id(struct inet_diag_sockid *id, const struct sockaddr_storage *local,
                             const struct sockaddr_storage *peer)
{
	const uint8_t *src, *dst;
	size_t alen = netaddr_raw(local, &src);

	netaddr_raw(peer, &dst); /* of the same family, so as long */
	memset(id, 0, sizeof(*id));
	id->idiag_sport = htons(netaddr_port(local));
	id->idiag_dport = htons(netaddr_port(peer));
	memcpy(id->idiag_src, src, alen);
	memcpy(id->idiag_dst, dst, alen);
	/* A socket with a link-local end is bound to that end's interface, and
	 * the kernel finds it only when told which. */
	id->idiag_if = netaddr_scope_id(local) ? netaddr_scope_id(local) : netaddr_scope_id(peer);
	id->idiag_cookie[0] = INET_DIAG_NOCOOKIE;
	id->idiag_cookie[1] = INET_DIAG_NOCOOKIE;
}

/* One request, one answer: the socket's state for a query, the result for a
 * destroy. Returns the state (>= 0) / 0, or -1 with errno. */
static int sockdiag_call(int nl, uint16_t type, const struct sockaddr_storage *local,
                         const struct sockaddr_storage *peer)
{
	struct sockdiag_msg msg = {
		.nlh = { .nlmsg_len = sizeof(msg), .nlmsg_type = type, .nlmsg_flags = NLM_F_REQUEST },
		.req = { .sdiag_family = (uint8_t)local->ss_family,
		         .sdiag_protocol = IPPROTO_TCP,
		         .idiag_states = ~0u },
	};
	union {
		struct nlmsghdr nlh;
		char buf[1024];
	} ans;
	ssize_t n;

	/* A query answers with the socket (or an error); a destroy answers only
	 * if asked to. Exactly one answer each keeps the two calls in step. */
	if (type == SOCK_DESTROY)
		msg.nlh.nlmsg_flags |= NLM_F_ACK;
	sockdiag_fill_id(&msg.req.id, local, peer);
	if (send(nl, &msg, sizeof(msg), 0) < 0)
		return -1;
	n = recv(nl, &ans, sizeof(ans), 0);
	if (n < 0)
		return -1;
	if (!NLMSG_OK(&ans.nlh, (size_t)n)) {
		errno = EPROTO;
		return -1;
	}
	if (ans.nlh.nlmsg_type == NLMSG_ERROR) {
		const struct nlmsgerr *e = NLMSG_DATA(&ans.nlh);
		if (e->error == 0)
			return 0;
		errno = -e->error;
		return -1;
	}
	if (ans.nlh.nlmsg_type == SOCK_DIAG_BY_FAMILY &&
	    ans.nlh.nlmsg_len >= NLMSG_LENGTH(sizeof(struct inet_diag_msg)))
		return ((const struct inet_diag_msg *)NLMSG_DATA(&ans.nlh))->idiag_state;
	errno = EPROTO;
	return -1;
}

int sockdiag_destroy(const struct sockaddr_storage *local, const struct sockaddr_storage *peer)
{
	int nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	int state, rc = -1, saved;

	if (nl < 0)
		return -1;
	/* Look before destroying: never abort a connection that is still open. */
	state = sockdiag_call(nl, SOCK_DIAG_BY_FAMILY, local, peer);
	if (state >= 0) {
		/* Only TIME_WAIT is over: in FIN_WAIT, CLOSING or LAST_ACK
		 * the peer has not finished, and bytes may still be owed. */
		if (state == TCP_TIME_WAIT)
			rc = sockdiag_call(nl, SOCK_DESTROY, local, peer);
		else
			errno = EBUSY;
	}
	saved = errno;
	close(nl);
	errno = saved;
	return rc;
}
