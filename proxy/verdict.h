/* verdict — what the packet path does with one frame, decided without I/O.
 *
 * The front end (frontend.c) hands every frame of the ring to verdict_of()
 * and acts on the answer: answer the SYN, adopt the handshake, keep early
 * data, inject late data, leave it to the kernel, or drop it, each counted
 * under its own name. What the worker remembers of a 4-tuple
 * (a handshake verified in this ring block, a live connection, a finished
 * one) reaches the decision through the `known` callback, so the decision
 * is a pure function of the frame, that memory, the cookie key and the
 * clock: unit tests and the fuzzer run it with their own memory.
 *
 * The order of the checks is the kernel's: link layer (to this host),
 * parse (well-formed IP and TCP), addresses (no martian or own source, a
 * local destination), then the TCP checksum before anything is acted on.
 */
#ifndef SYNGUARD_VERDICT_H
#define SYNGUARD_VERDICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "cookie.h"
#include "localaddr.h"
#include "pkt.h"

enum verdict {
	VERDICT_NOT_FOR_US,  /* drop: another host's or a group link-layer address; a wildcard
				listen's destination not ours */
	VERDICT_MALFORMED,   /* drop: out->parse_err says why */
	VERDICT_UNPROTECTED, /* not a protected address:port: the kernel's */
	VERDICT_MARTIAN,     /* drop: impossible or own source, group link-layer source */
	VERDICT_BAD_CSUM,    /* drop: wrong TCP checksum, on a segment we would act on */
	VERDICT_KERNEL,      /* a live connection's, or not a connection request (RST, SYN+ACK,
				...): the kernel's */
	VERDICT_DUP_ACK,     /* a live connection's handshake ACK again, sent before it went live */
	VERDICT_LATE_DATA,   /* a live connection's next bytes, sent before it went live and
				delivered by the ring only now: inject them */
	VERDICT_SYN_ON_LIVE, /* a SYN on a live connection's 4-tuple: a challenge ACK from its
				socket (RFC 5961), unless that socket has closed (a port reuse) */
	VERDICT_SYN,         /* answer with a cookie SYN-ACK */
	VERDICT_EARLY_DATA,  /* for a handshake verified in this ring block: keep its bytes */
	VERDICT_LATE,        /* a finished connection's late packet, or a copy of its handshake
				ACK: ignored */
	VERDICT_BAD_COOKIE,  /* drop: an ACK whose cookie is not ours (or not told apart) */
	VERDICT_EXPIRED,     /* drop: an ACK whose cookie was ours, older than the previous key */
	VERDICT_ADOPT,       /* a valid handshake ACK: adopt, with out->opts (it replaces a
				finished connection on the 4-tuple, if any) */
	VERDICT_COUNT
};

/* A protected endpoint as the packet path compares it. */
struct verdict_listen {
	uint8_t family;
	uint8_t alen;
	bool any;      /* wildcard address: the port on every address of ours */
	uint16_t port; /* host order, as in struct pkt_tcp */
	uint8_t addr[16];
};

/* What the worker remembers of a 4-tuple. */
enum verdict_tuple {
	VERDICT_TUPLE_NEW,      /* nothing */
	VERDICT_TUPLE_PENDING,  /* a handshake verified in this ring block, not yet adopted */
	VERDICT_TUPLE_LIVE,     /* an adopted connection its socket still runs */
	VERDICT_TUPLE_FINISHED, /* one that has ended (or is being replaced by a port reuse) */
};

struct verdict_known {
	enum verdict_tuple state;
	uint32_t cookie;   /* LIVE, FINISHED: our ISN */
	uint32_t rcv_isn;  /* LIVE, FINISHED: the client's ISN */
	uint32_t next_seq; /* LIVE: the client's first byte not injected by us */
	uint64_t live_ns;  /* LIVE: when its socket went live (CLOCK_REALTIME) */
	void *conn;        /* the caller's, handed back in verdict_out */
};

/* Fill `k` for the 4-tuple `t` (zeroed beforehand: state NEW). */
typedef void (*verdict_known_fn)(void *arg, const struct cookie_tuple *t, struct verdict_known *k);

struct verdict_ctx {
	const struct verdict_listen *listen;
	size_t n_listen;
	const struct localaddr *local;
	struct cookie_jar *jar;
	uint64_t now_s;          /* wall clock, for cookies */
	unsigned *diagnose_left; /* cookie_diagnose() calls allowed; decremented per use */
	verdict_known_fn known;
	void *known_arg;
};

/* What the verdict is about. Valid as far as the verdict needs it: `seg`
 * from VERDICT_UNPROTECTED on, `tuple` and `known` from VERDICT_BAD_CSUM
 * on, `opts` with VERDICT_ADOPT. */
struct verdict_out {
	enum pkt_result parse_err;
	struct pkt_tcp seg;
	struct cookie_tuple tuple;
	struct verdict_known known;
	struct cookie_opts opts;
};

/* The protected endpoints of `cfg`, decoded once. Returns how many (at most
 * CONFIG_MAX_LISTEN). */
size_t verdict_listen_init(const struct config *cfg, struct verdict_listen listen[CONFIG_MAX_LISTEN]);

/* The cookie's input taken from a parsed segment: family, both addresses,
 * both ports (source = the client). */
void verdict_cookie_tuple(const struct pkt_tcp *seg, struct cookie_tuple *t);

enum verdict verdict_of(const struct verdict_ctx *ctx, const struct pkt_frame *f, struct verdict_out *out);

const char *verdict_str(enum verdict v);

#endif
