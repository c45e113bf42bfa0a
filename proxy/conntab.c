#include "conntab.h"

#include <stdlib.h>
#include <string.h>

struct conntab {
	struct conntab_entry **buckets;
	size_t mask;
	size_t count;
	uint64_t seed;
};

struct conntab *conntab_new(size_t expected, uint64_t seed)
{
	struct conntab *t = calloc(1, sizeof(*t));
	size_t n = 64;

	if (!t)
		return NULL;
	while (n < expected && n < ((size_t)1 << 20))
		n <<= 1;
	t->buckets = calloc(n, sizeof(*t->buckets));
	if (!t->buckets) {
		free(t);
		return NULL;
	}
	t->mask = n - 1;
	t->seed = seed;
	return t;
}

void conntab_free(struct conntab *t)
{
	if (!t)
		return;
	free(t->buckets);
	free(t);
}

/* FNV-1a over the key from a secret start, then a 64-bit finaliser
 * (splitmix64) so every key bit reaches the bucket index. */
static size_t conntab_bucket(const struct conntab *t, const struct cookie_tuple *key)
{
	const uint8_t *p = (const uint8_t *)key;
	uint64_t h = 0xcbf29ce484222325ull ^ t->seed;

	for (size_t i = 0; i < sizeof(*key); i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebull;
	h ^= h >> 31;
	return (size_t)h & t->mask;
}

int conntab_grow(struct conntab *t, size_t expected)
{
	size_t n = t->mask + 1;
	struct conntab_entry **old = t->buckets;
	size_t old_n = n;

	while (n < expected && n < ((size_t)1 << 20))
		n <<= 1;
	if (n == old_n)
		return 0;
	t->buckets = calloc(n, sizeof(*t->buckets));
	if (!t->buckets) {
		t->buckets = old;
		return -1;
	}
	t->mask = n - 1;
	for (size_t i = 0; i < old_n; i++) {
		struct conntab_entry *e = old[i], *next;

		for (; e; e = next) {
			size_t b = conntab_bucket(t, &e->key);

			next = e->next;
			e->next = t->buckets[b];
			t->buckets[b] = e;
		}
	}
	free(old);
	return 0;
}

struct conntab_entry *conntab_find(const struct conntab *t, const struct cookie_tuple *key)
{
	struct conntab_entry *e = t->buckets[conntab_bucket(t, key)];

	while (e && memcmp(&e->key, key, sizeof(*key)) != 0)
		e = e->next;
	return e;
}

void conntab_insert(struct conntab *t, struct conntab_entry *e)
{
	size_t b = conntab_bucket(t, &e->key);

	e->next = t->buckets[b];
	t->buckets[b] = e;
	t->count++;
}

void conntab_remove(struct conntab *t, struct conntab_entry *e)
{
	struct conntab_entry **pp = &t->buckets[conntab_bucket(t, &e->key)];

	while (*pp && *pp != e)
		pp = &(*pp)->next;
	if (*pp) {
		*pp = e->next;
		t->count--;
	}
}

size_t conntab_count(const struct conntab *t)
{
	return t->count;
}
