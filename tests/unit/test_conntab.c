/* Unit tests for conntab: the intrusive hash table of adopted connections.
 * Keys are built zero-filled (padding included), as the front end does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "conntab.h"

static void key_v4(struct cookie_tuple *k, uint32_t saddr, uint32_t daddr, uint16_t sport, uint16_t dport)
{
	uint32_t s = htonl(saddr), d = htonl(daddr);

	memset(k, 0, sizeof *k);
	k->family = AF_INET;
	memcpy(k->saddr, &s, 4);
	memcpy(k->daddr, &d, 4);
	k->sport = sport;
	k->dport = dport;
}

static void key_v6(struct cookie_tuple *k, const char *saddr, const char *daddr, uint16_t sport,
                   uint16_t dport)
{
	memset(k, 0, sizeof *k);
	k->family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, saddr, k->saddr), 1);
	assert_int_equal(inet_pton(AF_INET6, daddr, k->daddr), 1);
	k->sport = sport;
	k->dport = dport;
}

/* Distinct IPv4 keys from an index: many clients, ports varying too. */
static void key_n(struct cookie_tuple *k, uint32_t i)
{
	key_v4(k, 0x0a000000u + (i >> 4), 0xc000020au, (uint16_t)(1024 + (i & 15) * 3000), 80);
}

static void test_empty(void **state)
{
	struct conntab *t = conntab_new(0, 1);
	struct cookie_tuple k;

	(void)state;
	assert_non_null(t);
	assert_int_equal(conntab_count(t), 0);
	key_v4(&k, 0x0a000001, 0xc000020a, 40000, 80);
	assert_null(conntab_find(t, &k));
	memset(&k, 0, sizeof k);
	assert_null(conntab_find(t, &k));
	conntab_free(t);
}

static void test_insert_find_remove(void **state)
{
	struct conntab *t = conntab_new(16, 0x1234);
	struct conntab_entry a, b;
	struct cookie_tuple k;

	(void)state;
	assert_non_null(t);
	key_v4(&a.key, 0x0a000001, 0xc000020a, 40000, 80);
	a.cookie = 0xdeadbeef;
	key_v6(&b.key, "2001:db8::1", "2001:db8::10", 40000, 443);
	b.cookie = 0x01020304;

	conntab_insert(t, &a);
	assert_int_equal(conntab_count(t), 1);
	/* Found by an equal key in other storage, not only by the same bytes. */
	key_v4(&k, 0x0a000001, 0xc000020a, 40000, 80);
	assert_ptr_equal(conntab_find(t, &k), &a);
	assert_int_equal(conntab_find(t, &k)->cookie, 0xdeadbeef);
	key_v6(&k, "2001:db8::1", "2001:db8::10", 40000, 443);
	assert_null(conntab_find(t, &k));

	conntab_insert(t, &b);
	assert_int_equal(conntab_count(t), 2);
	assert_ptr_equal(conntab_find(t, &k), &b);
	assert_ptr_equal(conntab_find(t, &a.key), &a);

	conntab_remove(t, &a);
	assert_int_equal(conntab_count(t), 1);
	assert_null(conntab_find(t, &a.key));
	assert_ptr_equal(conntab_find(t, &b.key), &b);

	/* A removed entry can come back. */
	conntab_insert(t, &a);
	assert_int_equal(conntab_count(t), 2);
	assert_ptr_equal(conntab_find(t, &a.key), &a);

	conntab_remove(t, &b);
	conntab_remove(t, &a);
	assert_int_equal(conntab_count(t), 0);
	assert_null(conntab_find(t, &a.key));
	assert_null(conntab_find(t, &b.key));
	conntab_free(t);
}

/* An IPv4 key and an IPv6 key with the same leading address bytes (the
 * IPv6 ones then zero, so every byte but the family is equal). */
static void test_family_distinguishes(void **state)
{
	struct conntab *t = conntab_new(4, 99);
	struct conntab_entry v4, v6;

	(void)state;
	key_v4(&v4.key, 0x0a000001, 0xc000020a, 40000, 80);
	key_v6(&v6.key, "a00:1::", "c000:20a::", 40000, 80);
	assert_memory_equal(v4.key.saddr, v6.key.saddr, 16);
	assert_memory_equal(v4.key.daddr, v6.key.daddr, 16);
	v4.cookie = 4;
	v6.cookie = 6;

	conntab_insert(t, &v4);
	assert_null(conntab_find(t, &v6.key));
	conntab_insert(t, &v6);
	assert_int_equal(conntab_count(t), 2);
	assert_ptr_equal(conntab_find(t, &v4.key), &v4);
	assert_ptr_equal(conntab_find(t, &v6.key), &v6);
	conntab_remove(t, &v4);
	assert_null(conntab_find(t, &v4.key));
	assert_ptr_equal(conntab_find(t, &v6.key), &v6);
	conntab_remove(t, &v6);
	assert_int_equal(conntab_count(t), 0);
	conntab_free(t);
}

/* Keys equal but for one field: each is its own connection. */
static void test_single_field_differences(void **state)
{
	struct conntab *t = conntab_new(64, 7);
	struct conntab_entry e[8];

	(void)state;
	key_v4(&e[0].key, 0x0a000001, 0xc000020a, 40000, 80);
	key_v4(&e[1].key, 0x0a000001, 0xc000020a, 40001, 80);       /* sport + 1 */
	key_v4(&e[2].key, 0x0a000001, 0xc000020a, 40000, 81);       /* dport + 1 */
	key_v4(&e[3].key, 0x0a000001, 0xc000020a, 80, 40000);       /* ports swapped */
	key_v4(&e[4].key, 0xc000020a, 0x0a000001, 40000, 80);       /* addresses swapped */
	key_v4(&e[5].key, 0x0a000002, 0xc000020a, 40000, 80);       /* saddr + 1 */
	key_v4(&e[6].key, 0x0a000001, 0xc000020b, 40000, 80);       /* daddr + 1 */
	key_v4(&e[7].key, 0x0a000001, 0xc000020a, 40000 + 256, 80); /* sport's high byte */
	for (unsigned i = 0; i < 8; i++) {
		e[i].cookie = i;
		conntab_insert(t, &e[i]);
	}
	assert_int_equal(conntab_count(t), 8);
	for (unsigned i = 0; i < 8; i++)
		assert_ptr_equal(conntab_find(t, &e[i].key), &e[i]);

	/* Removing one leaves its near twins. */
	conntab_remove(t, &e[0]);
	assert_null(conntab_find(t, &e[0].key));
	for (unsigned i = 1; i < 8; i++)
		assert_ptr_equal(conntab_find(t, &e[i].key), &e[i]);
	assert_int_equal(conntab_count(t), 7);

	/* And an IPv6 key differing in the last address byte only. */
	struct conntab_entry x, y;
	key_v6(&x.key, "2001:db8::1", "2001:db8::10", 5, 443);
	key_v6(&y.key, "2001:db8::1", "2001:db8::11", 5, 443);
	conntab_insert(t, &x);
	assert_null(conntab_find(t, &y.key));
	conntab_insert(t, &y);
	assert_ptr_equal(conntab_find(t, &x.key), &x);
	assert_ptr_equal(conntab_find(t, &y.key), &y);
	conntab_free(t);
}

/* Entries that some other entry's `next` points at and that have a next
 * themselves sit in the middle of a chain. */
static bool *middle_of_chain(struct conntab_entry *e, size_t n)
{
	bool *pointed = calloc(n, sizeof *pointed);
	bool *mid = calloc(n, sizeof *mid);

	assert_non_null(pointed);
	assert_non_null(mid);
	for (size_t i = 0; i < n; i++)
		if (e[i].next) {
			size_t j = (size_t)(e[i].next - e);
			assert_true(j < n);
			pointed[j] = true;
		}
	for (size_t i = 0; i < n; i++)
		mid[i] = pointed[i] && e[i].next;
	free(pointed);
	return mid;
}

/* Far more entries than buckets: long chains, removal at head, middle and
 * tail. */
static void test_chains_remove_middle(void **state)
{
	enum { N = 2000 };
	struct conntab *t = conntab_new(1, 42); /* the minimum bucket count */
	struct conntab_entry *e = calloc(N, sizeof *e);
	size_t removed_middle = 0;
	bool *mid;

	(void)state;
	assert_non_null(t);
	assert_non_null(e);
	for (uint32_t i = 0; i < N; i++) {
		key_n(&e[i].key, i);
		e[i].cookie = i * 2654435761u;
		conntab_insert(t, &e[i]);
	}
	assert_int_equal(conntab_count(t), N);

	mid = middle_of_chain(e, N);
	for (size_t i = 0; i < N; i += 3)
		removed_middle += mid[i];
	/* The test only means something if it does remove from the middle. */
	assert_true(removed_middle > 0);
	free(mid);

	for (size_t i = 0; i < N; i += 3)
		conntab_remove(t, &e[i]);
	assert_int_equal(conntab_count(t), N - (N + 2) / 3);
	for (uint32_t i = 0; i < N; i++) {
		struct cookie_tuple k;
		key_n(&k, i);
		if (i % 3 == 0) {
			assert_null(conntab_find(t, &k));
		} else {
			struct conntab_entry *f = conntab_find(t, &k);
			assert_ptr_equal(f, &e[i]);
			assert_int_equal(f->cookie, (uint32_t)(i * 2654435761u));
		}
	}

	/* Then the rest, from the end backwards. */
	for (size_t i = N; i-- > 0;)
		if (i % 3 != 0)
			conntab_remove(t, &e[i]);
	assert_int_equal(conntab_count(t), 0);
	for (uint32_t i = 0; i < N; i++)
		assert_null(conntab_find(t, &e[i].key));
	conntab_free(t);
	free(e);
}

/* 100k connections in a table sized for them. */
static void test_many(void **state)
{
	enum { N = 100000 };
	struct conntab *t = conntab_new(N, 0x0123456789abcdefull);
	struct conntab_entry *e = calloc(N, sizeof *e);
	size_t chained = 0;

	(void)state;
	assert_non_null(t);
	assert_non_null(e);
	for (uint32_t i = 0; i < N; i++) {
		/* Half IPv4, half IPv6. */
		if (i & 1) {
			memset(&e[i].key, 0, sizeof e[i].key);
			e[i].key.family = AF_INET6;
			e[i].key.saddr[0] = 0x20;
			e[i].key.saddr[1] = 0x01;
			memcpy(e[i].key.saddr + 12, &i, sizeof i);
			e[i].key.daddr[15] = 1;
			e[i].key.sport = (uint16_t)(i * 7);
			e[i].key.dport = 443;
		} else {
			key_n(&e[i].key, i);
		}
		e[i].cookie = i;
		conntab_insert(t, &e[i]);
	}
	assert_int_equal(conntab_count(t), N);
	for (uint32_t i = 0; i < N; i++)
		chained += e[i].next != NULL;
	/* Collisions exist, but the entries spread over the buckets: with a
	 * uniform hash into the 2^17 buckets a table for 100k gets, about 30k
	 * entries share their bucket with a later one; a hash that used only
	 * a few buckets would chain nearly all of them. */
	assert_true(chained > 0);
	if (chained > N * 2 / 5)
		fail_msg("%zu of %d entries chained: poor spread over the buckets", chained, (int)N);

	for (uint32_t i = 0; i < N; i++) {
		struct cookie_tuple k = e[i].key;
		assert_ptr_equal(conntab_find(t, &k), &e[i]);
		/* The same connection to another port is not there. */
		k.dport = 8080;
		assert_null(conntab_find(t, &k));
	}

	/* Remove every other in a scattered order, check, then the rest. */
	size_t left = N;
	for (uint32_t j = 0; j < N; j++) {
		uint32_t i = (uint32_t)(((uint64_t)j * 48271u) % N);
		if (i % 2 == 0) {
			conntab_remove(t, &e[i]);
			left--;
		}
	}
	assert_int_equal(conntab_count(t), left);
	assert_int_equal(left, N / 2);
	for (uint32_t i = 0; i < N; i++) {
		if (i % 2 == 0)
			assert_null(conntab_find(t, &e[i].key));
		else
			assert_ptr_equal(conntab_find(t, &e[i].key), &e[i]);
	}
	for (uint32_t i = 1; i < N; i += 2)
		conntab_remove(t, &e[i]);
	assert_int_equal(conntab_count(t), 0);
	conntab_free(t);
	free(e);
}

/* The seed changes which keys share a chain (else clients could aim many
 * connections at one chain), never what is found. */
/* A reload raising max_connections: a table made for 1 grows, every entry
 * still found and removable, and spread out (not one chain per old bucket). */
static void test_grow(void **state)
{
	enum { N = 20000 };
	struct conntab *t = conntab_new(1, 42);
	struct conntab_entry *e = calloc(N, sizeof *e);
	size_t chained = 0;

	(void)state;
	assert_non_null(t);
	assert_non_null(e);
	for (uint32_t i = 0; i < N; i++) {
		key_n(&e[i].key, i);
		conntab_insert(t, &e[i]);
	}
	assert_int_equal(conntab_grow(t, 10), 0); /* smaller: nothing to do */
	assert_int_equal(conntab_grow(t, N), 0);
	assert_int_equal(conntab_count(t), N);
	for (uint32_t i = 0; i < N; i++) {
		assert_ptr_equal(conntab_find(t, &e[i].key), &e[i]);
		chained += e[i].next != NULL;
	}
	if (chained > N * 2 / 5)
		fail_msg("%zu of %d entries chained after growing", chained, (int)N);
	for (uint32_t i = 0; i < N; i += 2)
		conntab_remove(t, &e[i]);
	assert_int_equal(conntab_count(t), N / 2);
	assert_null(conntab_find(t, &e[0].key));
	assert_ptr_equal(conntab_find(t, &e[1].key), &e[1]);
	conntab_free(t);
	free(e);
}

static void test_seed(void **state)
{
	enum { N = 512 };
	struct conntab *t1 = conntab_new(1, 1), *t2 = conntab_new(1, 2);
	struct conntab_entry *a = calloc(N, sizeof *a), *b = calloc(N, sizeof *b);
	size_t same = 0;

	(void)state;
	for (uint32_t i = 0; i < N; i++) {
		key_n(&a[i].key, i);
		b[i] = a[i];
		conntab_insert(t1, &a[i]);
		conntab_insert(t2, &b[i]);
	}
	for (uint32_t i = 0; i < N; i++) {
		assert_ptr_equal(conntab_find(t1, &a[i].key), &a[i]);
		assert_ptr_equal(conntab_find(t2, &a[i].key), &b[i]);
		/* Same successor index in both tables? */
		size_t na = a[i].next ? (size_t)(a[i].next - a) : N;
		size_t nb = b[i].next ? (size_t)(b[i].next - b) : N;
		same += na == nb;
	}
	assert_true(same < N / 2);
	conntab_free(t1);
	conntab_free(t2);
	free(a);
	free(b);
}

/* Freeing a table leaves its entries alone (they belong to the caller). */
static void test_free_leaves_entries(void **state)
{
	struct conntab *t = conntab_new(8, 3);
	struct conntab_entry e;
	struct cookie_tuple k;

	(void)state;
	key_v4(&e.key, 1, 2, 3, 4);
	e.cookie = 77;
	k = e.key;
	conntab_insert(t, &e);
	conntab_free(t);
	assert_memory_equal(&e.key, &k, sizeof k);
	assert_int_equal(e.cookie, 77);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_insert_find_remove),
		cmocka_unit_test(test_grow),
		cmocka_unit_test(test_family_distinguishes),
		cmocka_unit_test(test_single_field_differences),
		cmocka_unit_test(test_chains_remove_middle),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_seed),
		cmocka_unit_test(test_free_leaves_entries),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
