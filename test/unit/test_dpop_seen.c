/*
 * test_dpop_seen: the process's table of DPoP proof jtis: once per
 * window, per key, expiry frees room, a full table refuses new proofs and
 * never forgets a live one, and many threads at once accept each jti
 * exactly once.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "dpop_seen.h"
#include "test.h"

static void
test_seen_once(void)
{
	struct dpop_seen	*t = dpop_seen_new(1000);

	TEST_ASSERT(dpop_seen_use(t, "k1", "j1", 100, 190) == DPOP_SEEN_FRESH);
	TEST_ASSERT(dpop_seen_use(t, "k1", "j1", 150, 240) ==
	    DPOP_SEEN_REPLAY);
	TEST_ASSERT(dpop_seen_use(t, "k1", "j1", 189, 280) ==
	    DPOP_SEEN_REPLAY);
	/* another key, the same jti: another proof */
	TEST_ASSERT(dpop_seen_use(t, "k2", "j1", 150, 240) == DPOP_SEEN_FRESH);
	/* "k1\nj" + "1" is not "k1" + "\nj1": no ambiguity from splitting */
	TEST_ASSERT(dpop_seen_use(t, "k", "1\nj1", 150, 240) ==
	    DPOP_SEEN_FRESH);
	TEST_ASSERT(dpop_seen_count(t, 150) == 3);
	/* the window has ended: the slot is free, the jti new again */
	TEST_ASSERT(dpop_seen_use(t, "k1", "j1", 190, 280) == DPOP_SEEN_FRESH);
	TEST_ASSERT(dpop_seen_count(t, 250) == 1);
	dpop_seen_free(t);
	dpop_seen_free(NULL);
}

static void
test_seen_full(void)
{
	struct dpop_seen	*t = dpop_seen_new(1);
	char			 jti[32];
	int			 i, fresh = 0, full = 0;

	/* 16 stripes of 32 slots: 512 entries at most */
	for (i = 0; i < 2000; i++) {
		snprintf(jti, sizeof(jti), "j%d", i);
		switch (dpop_seen_use(t, "k", jti, 100, 200)) {
		case DPOP_SEEN_FRESH:
			fresh++;
			break;
		case DPOP_SEEN_FULL:
			full++;
			break;
		case DPOP_SEEN_REPLAY:
			TEST_ASSERT(0);
		}
	}
	TEST_ASSERT(fresh == 512 && full == 2000 - 512);
	TEST_ASSERT(dpop_seen_count(t, 100) == 512);
	/* every live one is still known: replays are refused, not
	   taken for new */
	for (i = 0; i < 2000; i++) {
		snprintf(jti, sizeof(jti), "j%d", i);
		TEST_ASSERT(dpop_seen_use(t, "k", jti, 150, 250) !=
		    DPOP_SEEN_FRESH);
	}
	/* once the window is over there is room again */
	TEST_ASSERT(dpop_seen_use(t, "k", "new", 200, 300) == DPOP_SEEN_FRESH);
	dpop_seen_free(t);
}

/*
 * Distinct live entries fit until about three quarters of the table: the
 * first refusal comes no earlier than at 70 % (one probe window, which
 * refused at about half, would fail this).
 */
static void
test_seen_load(void)
{
	struct dpop_seen	*t = dpop_seen_new(1u << 16);
	char			 jti[32];
	size_t			 i;

	for (i = 0; i < (1u << 16); i++) {
		snprintf(jti, sizeof(jti), "load-%zu", i);
		if (dpop_seen_use(t, "k", jti, 10, 100) != DPOP_SEEN_FRESH)
			break;
	}
	TEST_ASSERT(i >= (1u << 16) * 7 / 10);
	TEST_ASSERT(dpop_seen_count(t, 10) == i);
	dpop_seen_free(t);
}

#define THREADS	8
#define JTIS	4000

static struct dpop_seen	*shared;
static int		 accepted[JTIS];
static pthread_mutex_t	 acc_mu = PTHREAD_MUTEX_INITIALIZER;

static void *
racer(void *arg)
{
	char	jti[32];
	int	i;

	(void)arg;
	for (i = 0; i < JTIS; i++) {
		snprintf(jti, sizeof(jti), "jti-%d", i);
		if (dpop_seen_use(shared, "key", jti, 1000, 1100) ==
		    DPOP_SEEN_FRESH) {
			pthread_mutex_lock(&acc_mu);
			accepted[i]++;
			pthread_mutex_unlock(&acc_mu);
		}
	}
	return NULL;
}

static void
test_seen_threads(void)
{
	pthread_t	th[THREADS];
	int		i;

	shared = dpop_seen_new(DPOP_SEEN_PER_WORKER);
	for (i = 0; i < THREADS; i++)
		TEST_ASSERT(pthread_create(&th[i], NULL, racer, NULL) == 0);
	for (i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < JTIS; i++)
		TEST_ASSERT(accepted[i] == 1);
	TEST_ASSERT(dpop_seen_process() == dpop_seen_process());
	TEST_ASSERT(dpop_seen_process() != NULL);
	dpop_seen_free(shared);
}

int
main(void)
{
	test_run(test_seen_once);
	test_run(test_seen_full);
	test_run(test_seen_threads);
	test_run(test_seen_load);
	return test_summary();
}
