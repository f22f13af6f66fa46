/*
 * test.h: the unit tests' whole framework.
 *
 * A test is a void function; TEST_ASSERT() reports file:line and returns
 * from it on the first failure. main() calls test_run(fn) for each test
 * and returns test_summary(), which prints "N passed, M failed" as the
 * last line and gives a non-zero exit status if anything failed.
 */
#ifndef TOKEND_TEST_H
#define TOKEND_TEST_H

#include <stdio.h>

static int	test_passed, test_failed, test_current_failed;

#define TEST_ASSERT(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: %s: failed: %s\n", __FILE__,	\
		    __LINE__, __func__, #cond);				\
		test_current_failed = 1;				\
		return;							\
	}								\
} while (0)

#define test_run(fn)	test_run_one(#fn, fn)

static void
test_run_one(const char *name, void (*fn)(void))
{
	test_current_failed = 0;
	fn();
	if (test_current_failed) {
		fprintf(stderr, "FAIL %s\n", name);
		test_failed++;
	} else
		test_passed++;
}

static int
test_summary(void)
{
	printf("%d passed, %d failed\n", test_passed, test_failed);
	return test_failed != 0;
}

#endif
