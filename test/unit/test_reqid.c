/*
 * test_reqid: which client ids are kept, and generated ids: their form,
 * and that they do not repeat within a thread or across threads.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "reqid.h"
#include "test.h"

static void
test_reqid_valid(void)
{
	char	 s[REQID_MAX + 2];

	TEST_ASSERT(reqid_valid("a"));
	TEST_ASSERT(reqid_valid("abc-DEF_012.3:4"));
	TEST_ASSERT(reqid_valid("0f8fad5b-d9cb-469f-a165-70867728950e"));
	TEST_ASSERT(!reqid_valid(NULL));
	TEST_ASSERT(!reqid_valid(""));
	TEST_ASSERT(!reqid_valid("a b"));
	TEST_ASSERT(!reqid_valid("a=b"));
	TEST_ASSERT(!reqid_valid("a\"b"));
	TEST_ASSERT(!reqid_valid("a\nb"));
	TEST_ASSERT(!reqid_valid("a\\b"));
	TEST_ASSERT(!reqid_valid("caf\xc3\xa9"));
	TEST_ASSERT(!reqid_valid("a/b"));
	memset(s, 'x', REQID_MAX);
	s[REQID_MAX] = '\0';
	TEST_ASSERT(reqid_valid(s));
	s[REQID_MAX] = 'x';
	s[REQID_MAX + 1] = '\0';
	TEST_ASSERT(!reqid_valid(s));
}

static void
test_reqid_choose(void)
{
	char	 id[REQID_MAX + 1];

	TEST_ASSERT(reqid_choose("mine-1", id));
	TEST_ASSERT(strcmp(id, "mine-1") == 0);
	TEST_ASSERT(!reqid_choose("bad id", id));
	TEST_ASSERT(strcmp(id, "bad id") != 0 && reqid_valid(id));
	TEST_ASSERT(!reqid_choose(NULL, id));
	TEST_ASSERT(reqid_valid(id));
}

#define N_IDS	10000

static int
cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static char	 ids[2][N_IDS][REQID_MAX + 1];

static void *
gen_thread(void *arg)
{
	char	(*mine)[REQID_MAX + 1] = arg;
	int	 i;

	for (i = 0; i < N_IDS; i++)
		reqid_generate(mine[i]);
	return NULL;
}

static void
test_reqid_unique(void)
{
	char		(*all)[REQID_MAX + 1] = ids[0];	/* both halves */
	pthread_t	 t;
	int		 i;

	TEST_ASSERT(pthread_create(&t, NULL, gen_thread, ids[1]) == 0);
	gen_thread(ids[0]);
	TEST_ASSERT(pthread_join(t, NULL) == 0);
	/* 16 hex digits, '-', a hex counter; different per thread. */
	TEST_ASSERT(strlen(ids[0][0]) == 18 && ids[0][0][16] == '-');
	TEST_ASSERT(strncmp(ids[0][0], ids[1][0], 16) != 0);
	for (i = 0; i < N_IDS; i++)
		TEST_ASSERT(reqid_valid(ids[0][i]) && reqid_valid(ids[1][i]));
	qsort(all, 2 * N_IDS, sizeof(all[0]), cmp);
	for (i = 1; i < 2 * N_IDS; i++)
		TEST_ASSERT(strcmp(all[i - 1], all[i]) != 0);
}

/* The generated form is snprintf's "%s-%llx" of the prefix and a counter
   that counts up by one: the same bytes, at every digit count. */
static void
test_reqid_form(void)
{
	char		 id[REQID_MAX + 1], want[REQID_MAX + 1], prefix[17];
	unsigned long long	 first, i;

	reqid_generate(id);
	TEST_ASSERT(strlen(id) >= 18 && id[16] == '-');
	memcpy(prefix, id, 16);
	prefix[16] = '\0';
	first = strtoull(id + 17, NULL, 16);
	for (i = 1; i < 70000; i++) {
		reqid_generate(id);
		snprintf(want, sizeof(want), "%s-%llx", prefix, first + i);
		TEST_ASSERT(strcmp(id, want) == 0);
	}
}

int
main(void)
{
	test_run(test_reqid_valid);
	test_run(test_reqid_choose);
	test_run(test_reqid_unique);
	test_run(test_reqid_form);	/* last: it moves the counter on */
	return test_summary();
}
