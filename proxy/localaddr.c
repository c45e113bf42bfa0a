#include "localaddr.h"

#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct localaddr {
	struct localaddr_entry *v; /* sorted by localaddr_cmp, no duplicates */
	size_t n;
};

static int localaddr_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct localaddr_entry));
}

struct localaddr *localaddr_new(void)
{
	return calloc(1, sizeof(struct localaddr));
}

void localaddr_free(struct localaddr *la)
{
	if (!la)
		return;
	free(la->v);
	free(la);
}

int localaddr_set(struct localaddr *la, const struct localaddr_entry *e, size_t n)
{
	struct localaddr_entry *v = malloc((n ? n : 1) * sizeof(*v));
	size_t m = 0;

	if (!v)
		return -1;
	if (n) {
		memcpy(v, e, n * sizeof(*v));
		qsort(v, n, sizeof(*v), localaddr_cmp);
	}
	for (size_t i = 0; i < n; i++)
		if (m == 0 || localaddr_cmp(&v[m - 1], &v[i]) != 0)
			v[m++] = v[i];
	if (m == la->n && (m == 0 || memcmp(v, la->v, m * sizeof(*v)) == 0)) {
		free(v);
		return 0;
	}
	free(la->v);
	la->v = v;
	la->n = m;
	return 1;
}

int localaddr_refresh(struct localaddr *la)
{
	struct ifaddrs *ifa, *i;
	struct localaddr_entry *e;
	size_t n = 0;
	int rc, saved;

	if (getifaddrs(&ifa) < 0)
		return -1;
	for (i = ifa; i; i = i->ifa_next)
		n++;
	e = calloc(n ? n : 1, sizeof(*e));
	if (!e) {
		freeifaddrs(ifa);
		return -1;
	}
	n = 0;
	for (i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr)
			continue;
		if (i->ifa_addr->sa_family == AF_INET) {
			e[n].family = AF_INET;
			memcpy(e[n++].addr, &((const struct sockaddr_in *)i->ifa_addr)->sin_addr, 4);
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			e[n].family = AF_INET6;
			memcpy(e[n++].addr, &((const struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, 16);
		}
	}
	freeifaddrs(ifa);
	rc = localaddr_set(la, e, n);
	saved = errno;
	free(e);
	errno = saved;
	return rc;
}

bool localaddr_has(const struct localaddr *la, uint8_t family, const uint8_t *addr)
{
	struct localaddr_entry key = { .family = family };

	memcpy(key.addr, addr, family == AF_INET ? 4 : 16);
	return la->n && bsearch(&key, la->v, la->n, sizeof(key), localaddr_cmp) != NULL;
}

size_t localaddr_count(const struct localaddr *la)
{
	return la->n;
}

const struct localaddr_entry *localaddr_at(const struct localaddr *la, size_t i)
{
	return &la->v[i];
}
