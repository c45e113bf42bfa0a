/* Fuzz the PROXY protocol header builder with addresses, ports, families,
 * versions and buffer sizes taken from the input:
 *
 *   byte 0     bits 0-1 version (0 off, 1 v1, 2 v2, 3 v1), bits 2-3 and
 *              4-5 the client's and the local family (0, 3 IPv4, 1 IPv6,
 *              2 AF_UNIX, which no header can carry)
 *   byte 1     the capacity of the output buffer
 *   bytes 2-   client address (16 bytes), port (2), local address and port;
 *              missing bytes are 0
 *
 * What it builds must fit, match what an unlimited buffer gets, and read
 * back to the same addresses and ports: v1 one CRLF-terminated line of at
 * most 107 bytes with six fields, v2 a length field equal to what follows.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "proxyproto.h"

#define V1_MAX 107 /* proxy-protocol.txt 2.1: the longest line, CRLF included */
#define V2_SIG_LEN 12
#define V2_HLEN 16

static const sa_family_t families[4] = { AF_INET, AF_INET6, AF_UNIX, AF_INET };

/* The address bytes and port (network order) of an AF_INET/AF_INET6 `ss`. */
static size_t sa_raw(const struct sockaddr_storage *ss, const uint8_t **ip, uint16_t *port)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

		*ip = (const uint8_t *)&sin->sin_addr;
		*port = sin->sin_port;
		return 4;
	}
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

	*ip = (const uint8_t *)&sin6->sin6_addr;
	*port = sin6->sin6_port;
	return 16;
}

static void sa_fill(struct sockaddr_storage *ss, sa_family_t family, const uint8_t in[18])
{
	memset(ss, 0, sizeof(*ss));
	ss->ss_family = family;
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		memcpy(&sin->sin_addr, in, 4);
		memcpy(&sin->sin_port, in + 16, 2);
	} else if (family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		memcpy(&sin6->sin6_addr, in, 16);
		memcpy(&sin6->sin6_port, in + 16, 2);
	}
}

/* A decimal port as v1 writes it: digits, no leading zero, equal to `port`. */
static bool v1_port(const char *field, uint16_t port_be)
{
	char want[8];

	snprintf(want, sizeof(want), "%u", (unsigned)ntohs(port_be));
	return strcmp(field, want) == 0;
}

static bool v1_addr(const char *field, int family, const struct sockaddr_storage *ss)
{
	uint8_t got[16];
	const uint8_t *ip;
	uint16_t port;
	size_t len = sa_raw(ss, &ip, &port);

	return inet_pton(family, field, got) == 1 && memcmp(got, ip, len) == 0;
}

static void check_v1(const uint8_t *buf, size_t n, const struct sockaddr_storage *c,
                     const struct sockaddr_storage *l)
{
	char line[V1_MAX + 1], *field[7], *save = NULL;
	const uint8_t *cip, *lip;
	uint16_t cport, lport;
	size_t nf = 0;

	FUZZ_CHECK(n >= sizeof("PROXY TCP4 \r\n") && n <= V1_MAX && buf[n - 2] == '\r' && buf[n - 1] == '\n');
	FUZZ_CHECK(memchr(buf, '\0', n) == NULL && memchr(buf, '\r', n) == buf + n - 2 &&
	           memchr(buf, '\n', n) == buf + n - 1);
	memcpy(line, buf, n - 2);
	line[n - 2] = '\0';
	FUZZ_CHECK(strstr(line, "  ") == NULL && line[0] != ' ' && line[n - 3] != ' ');
	for (char *f = strtok_r(line, " ", &save); f != NULL && nf < 7; f = strtok_r(NULL, " ", &save))
		field[nf++] = f;
	FUZZ_CHECK(nf == 6 && strcmp(field[0], "PROXY") == 0);
	FUZZ_CHECK(strcmp(field[1], c->ss_family == AF_INET ? "TCP4" : "TCP6") == 0);
	sa_raw(c, &cip, &cport);
	sa_raw(l, &lip, &lport);
	FUZZ_CHECK(v1_addr(field[2], c->ss_family, c) && v1_addr(field[3], l->ss_family, l));
	FUZZ_CHECK(v1_port(field[4], cport) && v1_port(field[5], lport));
}

static void check_v2(const uint8_t *buf, size_t n, const struct sockaddr_storage *c,
                     const struct sockaddr_storage *l)
{
	static const uint8_t sig[V2_SIG_LEN] = "\r\n\r\n\0\r\nQUIT\n";
	const uint8_t *cip, *lip;
	uint16_t cport, lport;
	size_t alen = sa_raw(c, &cip, &cport);

	sa_raw(l, &lip, &lport);
	FUZZ_CHECK(n >= V2_HLEN && memcmp(buf, sig, V2_SIG_LEN) == 0);
	FUZZ_CHECK(buf[12] == 0x21 && buf[13] == (c->ss_family == AF_INET ? 0x11 : 0x21));
	FUZZ_CHECK((size_t)(buf[14] << 8 | buf[15]) == n - V2_HLEN && n - V2_HLEN == 2 * alen + 4);
	FUZZ_CHECK(memcmp(buf + V2_HLEN, cip, alen) == 0 && memcmp(buf + V2_HLEN + alen, lip, alen) == 0);
	FUZZ_CHECK(memcmp(buf + V2_HLEN + 2 * alen, &cport, 2) == 0 &&
	           memcmp(buf + V2_HLEN + 2 * alen + 2, &lport, 2) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum config_proxy_protocol versions[4] = {
		CONFIG_PROXY_OFF,
		CONFIG_PROXY_V1,
		CONFIG_PROXY_V2,
		CONFIG_PROXY_V1,
	};
	uint8_t in[2 + 2 * 18] = { 0 }, full[PROXYPROTO_MAX], *buf;
	enum config_proxy_protocol v;
	struct sockaddr_storage c, l;
	size_t cap, n, want;
	bool carries;

	if (size > 0)
		memcpy(in, data, size < sizeof(in) ? size : sizeof(in));
	v = versions[in[0] & 3];
	sa_fill(&c, families[in[0] >> 2 & 3], in + 2);
	sa_fill(&l, families[in[0] >> 4 & 3], in + 2 + 18);
	cap = in[1];
	carries = v != CONFIG_PROXY_OFF && c.ss_family == l.ss_family && c.ss_family != AF_UNIX;

	want = proxyproto_build(v, &c, &l, full, sizeof(full));
	FUZZ_CHECK(carries == (want > 0) && want <= sizeof(full));
	buf = malloc(cap); /* exactly `cap`: ASan sees a write past it */
	FUZZ_CHECK(buf != NULL || cap == 0);
	n = proxyproto_build(v, &c, &l, buf, cap);
	FUZZ_CHECK(n == (cap >= want ? want : 0) && (n == 0 || memcmp(buf, full, n) == 0));
	free(buf);
	if (want > 0 && v == CONFIG_PROXY_V1)
		check_v1(full, want, &c, &l);
	else if (want > 0)
		check_v2(full, want, &c, &l);
	return 0;
}
