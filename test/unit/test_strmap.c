/*
 * test_strmap: the string-keyed hash map, against a plain array as the
 * reference model.
 */
#if defined(__GLIBC__) || defined(__linux__)
#include <malloc.h>
#endif
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"
#include "test.h"
#include "util.h"

static int	 freed;

static void
count_free(void *v)
{
	freed++;
	free(v);
}

static void
test_strmap_basic(void)
{
	struct strmap	*m = strmap_new();
	int		 a = 1, b = 2, c = 3;
	bool		 replaced = true;

	TEST_ASSERT(strmap_count(m) == 0);
	TEST_ASSERT(strmap_get(m, "x") == NULL);
	TEST_ASSERT(!strmap_has(m, "x"));
	TEST_ASSERT(strmap_remove(m, "x") == NULL);
	TEST_ASSERT(strmap_put(m, "x", &a, &replaced) == NULL && !replaced);
	TEST_ASSERT(strmap_put(m, "", &b, NULL) == NULL);
	TEST_ASSERT(strmap_put(m, "null", NULL, &replaced) == NULL &&
	    !replaced);
	TEST_ASSERT(strmap_count(m) == 3);
	TEST_ASSERT(strmap_get(m, "x") == &a);
	TEST_ASSERT(strmap_get(m, "") == &b);
	TEST_ASSERT(strmap_get(m, "null") == NULL && strmap_has(m, "null"));
	TEST_ASSERT(strmap_get(m, "xx") == NULL);
	/* Replacing hands the old value back. */
	TEST_ASSERT(strmap_put(m, "x", &c, &replaced) == &a && replaced);
	TEST_ASSERT(strmap_get(m, "x") == &c);
	TEST_ASSERT(strmap_count(m) == 3);
	TEST_ASSERT(strmap_remove(m, "x") == &c);
	TEST_ASSERT(!strmap_has(m, "x") && strmap_count(m) == 2);
	TEST_ASSERT(strmap_remove(m, "x") == NULL);
	/* A removed key comes back. */
	TEST_ASSERT(strmap_put(m, "x", &a, &replaced) == NULL && !replaced);
	TEST_ASSERT(strmap_get(m, "x") == &a);
	strmap_free(m, NULL);
	strmap_free(NULL, NULL);
}

/* The map copies keys: the caller's buffer may change afterwards. */
static void
test_strmap_key_copied(void)
{
	struct strmap	*m = strmap_new();
	char		 key[16];
	int		 v = 7;

	snprintf(key, sizeof(key), "client-1");
	strmap_put(m, key, &v, NULL);
	snprintf(key, sizeof(key), "client-2");
	TEST_ASSERT(strmap_get(m, "client-1") == &v);
	TEST_ASSERT(strmap_get(m, key) == NULL);
	strmap_free(m, NULL);
}

#define N	20000

/* Many keys, growth, and a random mix checked against a model. */
static void
test_strmap_model(void)
{
	struct strmap	*m = strmap_new();
	static bool	 present[N];
	static int	 vals[N];
	char		 key[32];
	uint64_t	 x = 88172645463325252ULL;
	size_t		 count = 0;
	int		 i, op;

	memset(present, 0, sizeof(present));
	for (i = 0; i < N; i++)
		vals[i] = i;
	for (op = 0; op < 400000; op++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		i = (int)(x % N);
		snprintf(key, sizeof(key), "jti-%d", i);
		if ((x >> 40) % 3 != 0) {
			bool	 rep;
			void	*old = strmap_put(m, key, &vals[i], &rep);

			TEST_ASSERT(rep == present[i]);
			TEST_ASSERT(old == (present[i] ? &vals[i] : NULL));
			if (!present[i])
				count++;
			present[i] = true;
		} else {
			void	*old = strmap_remove(m, key);

			TEST_ASSERT(old == (present[i] ? &vals[i] : NULL));
			if (present[i])
				count--;
			present[i] = false;
		}
		TEST_ASSERT(strmap_count(m) == count);
	}
	for (i = 0; i < N; i++) {
		snprintf(key, sizeof(key), "jti-%d", i);
		TEST_ASSERT(strmap_has(m, key) == present[i]);
		TEST_ASSERT(strmap_get(m, key) == (present[i] ? &vals[i] :
		    NULL));
	}
	strmap_free(m, NULL);
}

/* Iteration sees each entry once; removing while iterating is safe. */
static void
test_strmap_iterate_remove(void)
{
	struct strmap	*m = strmap_new();
	static int	 seen[N];
	const char	*key;
	void		*value;
	char		 buf[32];
	size_t		 pos = 0, n = 0;
	int		 i;

	for (i = 0; i < N; i++) {
		int	*v = xmalloc(sizeof(*v));

		*v = i;
		snprintf(buf, sizeof(buf), "k%d", i);
		strmap_put(m, buf, v, NULL);
	}
	memset(seen, 0, sizeof(seen));
	/* Remove the odd ones as we go. */
	while (strmap_next(m, &pos, &key, &value)) {
		int	 k = *(int *)value;

		snprintf(buf, sizeof(buf), "k%d", k);
		TEST_ASSERT(strcmp(key, buf) == 0);
		seen[k]++;
		n++;
		if (k % 2 == 1)
			free(strmap_remove_at(m, pos));
	}
	TEST_ASSERT(n == N);
	for (i = 0; i < N; i++)
		TEST_ASSERT(seen[i] == 1);
	TEST_ASSERT(strmap_count(m) == N / 2);
	TEST_ASSERT(strmap_remove_at(m, pos) == NULL);
	/* Removing other entries during the walk (not the current one). */
	pos = 0;
	n = 0;
	while (strmap_next(m, &pos, &key, &value)) {
		int	 k = *(int *)value;

		n++;
		snprintf(buf, sizeof(buf), "k%d", k ^ 2);
		free(strmap_remove(m, buf));
	}
	TEST_ASSERT(n == N / 4 && strmap_count(m) == N / 4);
	/* Of each pair (i, i ^ 2), the one visited first is left. */
	for (i = 0; i < N; i += 4) {
		bool	 a, b;

		snprintf(buf, sizeof(buf), "k%d", i);
		a = strmap_has(m, buf);
		snprintf(buf, sizeof(buf), "k%d", i ^ 2);
		b = strmap_has(m, buf);
		TEST_ASSERT(a != b);
	}
	freed = 0;
	strmap_free(m, count_free);
	TEST_ASSERT(freed == N / 4);
}

/* Insert / remove churn: tombstones are recycled and lookups still end. */
static void
test_strmap_churn(void)
{
	struct strmap	*m = strmap_new();
	char		 buf[32];
	int		 i, v = 0;

	for (i = 0; i < 1000000; i++) {
		snprintf(buf, sizeof(buf), "t%d", i);
		strmap_put(m, buf, &v, NULL);
		if (i >= 8) {
			snprintf(buf, sizeof(buf), "t%d", i - 8);
			TEST_ASSERT(strmap_remove(m, buf) == &v);
		}
		TEST_ASSERT(!strmap_has(m, "absent"));
	}
	TEST_ASSERT(strmap_count(m) == 8);
	/* Remove everything, then the map is usable again. */
	for (i = 1000000 - 8; i < 1000000; i++) {
		snprintf(buf, sizeof(buf), "t%d", i);
		TEST_ASSERT(strmap_remove(m, buf) == &v);
	}
	TEST_ASSERT(strmap_count(m) == 0);
	TEST_ASSERT(strmap_get(m, "t5") == NULL);
	strmap_put(m, "again", &v, NULL);
	TEST_ASSERT(strmap_get(m, "again") == &v);
	strmap_free(m, NULL);
}

/* The allocation model: glibc's chunk sizes, checked against glibc. */
static void
test_strmap_alloc_cost(void)
{
	size_t	 n;

	TEST_ASSERT(strmap_alloc_cost(0) == 32);
	TEST_ASSERT(strmap_alloc_cost(1) == 32);
	TEST_ASSERT(strmap_alloc_cost(23) == 32);
	TEST_ASSERT(strmap_alloc_cost(24) == 32);
	TEST_ASSERT(strmap_alloc_cost(25) == 48);
	TEST_ASSERT(strmap_alloc_cost(120) == 128);
	TEST_ASSERT(strmap_alloc_cost(121) == 144);
	TEST_ASSERT(strmap_alloc_cost(128 * 1024) == 132 * 1024);
	TEST_ASSERT(strmap_alloc_cost(1 << 20) == (1 << 20) + 4096);
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
	/* glibc's usable size is its chunk less the 8-byte header. */
	for (n = 0; n < 4096; n++) {
		void	*p = xmalloc(n);

		TEST_ASSERT(malloc_usable_size(p) + 8 == strmap_alloc_cost(n));
		free(p);
	}
#else
	(void)n;
#endif
}

/* strmap_memory(): the table, the key copies and the boxed values. */
static void
test_strmap_memory(void)
{
	struct strmap	*m = strmap_new();
	char		 buf[32];
	size_t		 empty = strmap_memory(m, 0), table, i, nslots;
	int		 v = 0;

	TEST_ASSERT(empty >= 32 && empty == strmap_memory(m, 8));
	/* A 22-character jti: a 23-byte copy (32), an 8-byte box (32), and
	   the first table of 16 slots of 24 bytes (400). */
	strmap_put(m, "0123456789abcdefghijkl", &v, NULL);
	TEST_ASSERT(strmap_memory(m, 0) == empty + 400 + 32);
	TEST_ASSERT(strmap_memory(m, 8) == empty + 400 + 32 + 32);
	/* Replacing a value changes nothing. */
	strmap_put(m, "0123456789abcdefghijkl", &v, NULL);
	TEST_ASSERT(strmap_memory(m, 8) == empty + 400 + 64);
	/* 1000 keys of 30 bytes + NUL (48): the table is a power of two. */
	for (i = 0; i < 1000; i++) {
		snprintf(buf, sizeof(buf), "k%029zu", i);
		strmap_put(m, buf, &v, NULL);
	}
	table = strmap_memory(m, 0) - empty - 32 - 1000 * 48;
	for (nslots = 16; strmap_alloc_cost(nslots * 24) < table; nslots *= 2)
		;
	TEST_ASSERT(strmap_alloc_cost(nslots * 24) == table);
	TEST_ASSERT(nslots >= 1001 * 4 / 3);
	TEST_ASSERT(strmap_memory(m, 8) == strmap_memory(m, 0) + 1001 * 32);
	/* Removing gives the keys' share back; the table stays. */
	for (i = 0; i < 1000; i++) {
		snprintf(buf, sizeof(buf), "k%029zu", i);
		TEST_ASSERT(strmap_remove(m, buf) == &v);
	}
	TEST_ASSERT(strmap_remove(m, "0123456789abcdefghijkl") == &v);
	TEST_ASSERT(strmap_memory(m, 8) == empty + table);
	strmap_free(m, NULL);
}

int
main(void)
{
	test_run(test_strmap_alloc_cost);
	test_run(test_strmap_memory);
	test_run(test_strmap_basic);
	test_run(test_strmap_key_copied);
	test_run(test_strmap_model);
	test_run(test_strmap_iterate_remove);
	test_run(test_strmap_churn);
	return test_summary();
}
