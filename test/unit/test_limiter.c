/*
 * test_limiter: the brute-force admission table (limiter.h): what is
 * admitted, refused or held, the counts and locks merged in, windows
 * ending, the bound on entries; the exact limit with real threads racing
 * on one source; and the bound across instances, limit + N - 1 wrong
 * secrets checked, on random interleavings of the protocol authfail.c
 * runs (a check, the INCR executed by Redis later, its reply and the lock
 * message delivered later still, each instance on its own table).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "limiter.h"
#include "test.h"

#define T0	1700000000000LL		/* a unix time in ms */

static const struct limiter_rules rules5 = { 5, 60000 };

static int	 checks;

static bool
check_wrong(void *arg)
{
	(void)arg;
	checks++;
	return false;
}

static bool
check_right(void *arg)
{
	(void)arg;
	checks++;
	return true;
}

static void
test_limiter_clean_source(void)
{
	struct limiter		*l = limiter_new(1024);
	struct limiter_stats	 st;
	int			 i;

	checks = 0;
	for (i = 0; i < 100; i++)
		TEST_ASSERT(limiter_check(l, "10.0.0.1", &rules5, T0,
		    check_right, NULL, NULL) == LIMITER_PASSED);
	TEST_ASSERT(checks == 100);
	/* Successes leave nothing behind. */
	limiter_get_stats(l, T0, &st);
	TEST_ASSERT(st.sources == 0 && st.locked == 0 && st.pending == 0);
	TEST_ASSERT(limiter_peek(l, "10.0.0.1", &rules5, T0, NULL) ==
	    LIMITER_PASSED);
	limiter_free(l);
	limiter_free(NULL);
}

static void
test_limiter_pending_holds(void)
{
	struct limiter		*l = limiter_new(1024);
	struct limiter_stats	 st;
	int64_t			 left = -1;

	checks = 0;
	TEST_ASSERT(limiter_check(l, "10.0.0.1", &rules5, T0, check_wrong,
	    NULL, &left) == LIMITER_FAILED);
	TEST_ASSERT(checks == 1 && left == -1);
	/* Held, right secret or not, and not checked, until Redis answers. */
	TEST_ASSERT(limiter_check(l, "10.0.0.1", &rules5, T0, check_right,
	    NULL, &left) == LIMITER_WAIT);
	TEST_ASSERT(limiter_check(l, "10.0.0.1", &rules5, T0 + 30,
	    check_wrong, NULL, &left) == LIMITER_WAIT && left == 30);
	TEST_ASSERT(limiter_peek(l, "10.0.0.1", &rules5, T0 + 45, &left) ==
	    LIMITER_WAIT && left == 45);
	TEST_ASSERT(limiter_peek(l, "10.0.0.1", &rules5, T0 - 5, &left) ==
	    LIMITER_WAIT && left == 0);
	TEST_ASSERT(checks == 1);
	limiter_get_stats(l, T0, &st);
	TEST_ASSERT(st.sources == 1 && st.pending == 1);
	/* Another source is not held. */
	TEST_ASSERT(limiter_check(l, "10.0.0.2", &rules5, T0, check_right,
	    NULL, NULL) == LIMITER_PASSED);
	/* A second look found it right: no failure, admitted again. */
	limiter_cancel(l, "10.0.0.1");
	TEST_ASSERT(limiter_check(l, "10.0.0.1", &rules5, T0, check_right,
	    NULL, NULL) == LIMITER_PASSED);
	/* Cancelling what is not pending changes nothing. */
	limiter_cancel(l, "10.0.0.1");
	limiter_cancel(l, "10.9.9.9");
	limiter_get_stats(l, T0, &st);
	TEST_ASSERT(st.pending == 0);
	limiter_free(l);
}

static void
test_limiter_counts_to_the_limit(void)
{
	struct limiter	*l = limiter_new(1024);
	int64_t		 left = 0;
	int		 i;

	checks = 0;
	for (i = 1; i <= 5; i++) {
		TEST_ASSERT(limiter_check(l, "2001:db8::/64", &rules5,
		    T0 + i, check_wrong, NULL, &left) == LIMITER_FAILED);
		limiter_confirm(l, "2001:db8::/64", &rules5, T0 + i, i,
		    60000 - i, false);
	}
	TEST_ASSERT(checks == 5);
	/* The fifth reached the limit: refused unchecked until the window
	   ends, right secret or not. */
	TEST_ASSERT(limiter_check(l, "2001:db8::/64", &rules5, T0 + 10,
	    check_right, NULL, &left) == LIMITER_LOCKED);
	TEST_ASSERT(checks == 5);
	TEST_ASSERT(left == 59990);
	TEST_ASSERT(limiter_lock_left(l, "2001:db8::/64", T0 + 10) > 0);
	TEST_ASSERT(limiter_peek(l, "2001:db8::/64", &rules5, T0 + 10,
	    &left) == LIMITER_LOCKED);
	/* After the window: admitted again, from zero. */
	TEST_ASSERT(limiter_check(l, "2001:db8::/64", &rules5, T0 + 60001,
	    check_right, NULL, &left) == LIMITER_PASSED);
	TEST_ASSERT(limiter_check(l, "2001:db8::/64", &rules5, T0 + 60002,
	    check_wrong, NULL, &left) == LIMITER_FAILED);
	limiter_confirm(l, "2001:db8::/64", &rules5, T0 + 60002, 1, 60000,
	    false);
	TEST_ASSERT(limiter_check(l, "2001:db8::/64", &rules5, T0 + 60003,
	    check_right, NULL, &left) == LIMITER_PASSED);
	limiter_free(l);
}

static void
test_limiter_confirm_from_elsewhere(void)
{
	struct limiter	*l = limiter_new(1024);
	int64_t		 left = 0;

	/* Our first failure, but Redis's count (other instances) is 7:
	   locked, until the lock the reply names. */
	TEST_ASSERT(limiter_check(l, "10.0.0.1", &rules5, T0, check_wrong,
	    NULL, NULL) == LIMITER_FAILED);
	limiter_confirm(l, "10.0.0.1", &rules5, T0, 7, 20000, true);
	TEST_ASSERT(limiter_check(l, "10.0.0.1", &rules5, T0, check_right,
	    NULL, &left) == LIMITER_LOCKED && left == 20000);
	/* A lock from the reply lasts what is left of the counter's window,
	   in our clock, whatever the count. */
	TEST_ASSERT(limiter_check(l, "10.0.0.2", &rules5, T0, check_wrong,
	    NULL, NULL) == LIMITER_FAILED);
	limiter_confirm(l, "10.0.0.2", &rules5, T0, 2, 3000, true);
	TEST_ASSERT(limiter_check(l, "10.0.0.2", &rules5, T0, check_right,
	    NULL, &left) == LIMITER_LOCKED && left == 3000);
	TEST_ASSERT(limiter_check(l, "10.0.0.2", &rules5, T0 + 3000,
	    check_right, NULL, &left) == LIMITER_PASSED);
	/* A window Redis does not give (no expiry) is the whole window;
	   a longer one is cut to it. */
	TEST_ASSERT(limiter_check(l, "10.0.0.3", &rules5, T0, check_wrong,
	    NULL, NULL) == LIMITER_FAILED);
	limiter_confirm(l, "10.0.0.3", &rules5, T0, 5, -1, false);
	TEST_ASSERT(limiter_check(l, "10.0.0.3", &rules5, T0, check_right,
	    NULL, &left) == LIMITER_LOCKED && left == 60000);
	TEST_ASSERT(limiter_check(l, "10.0.0.4", &rules5, T0, check_wrong,
	    NULL, NULL) == LIMITER_FAILED);
	limiter_confirm(l, "10.0.0.4", &rules5, T0, 9, 999999999, false);
	TEST_ASSERT(limiter_check(l, "10.0.0.4", &rules5, T0, check_right,
	    NULL, &left) == LIMITER_LOCKED && left == 60000);
	/* A smaller count later never lowers what is known. */
	TEST_ASSERT(limiter_check(l, "10.0.0.5", &rules5, T0, check_wrong,
	    NULL, NULL) == LIMITER_FAILED);
	limiter_confirm(l, "10.0.0.5", &rules5, T0, 4, 30000, false);
	limiter_observe(l, "10.0.0.5", &rules5, T0, 1, 30000);
	TEST_ASSERT(limiter_check(l, "10.0.0.5", &rules5, T0, check_wrong,
	    NULL, NULL) == LIMITER_FAILED);
	/* 4 + this one, counted here: the limit (1 + 1 would not be). */
	limiter_unconfirmed(l, "10.0.0.5", &rules5, T0);
	TEST_ASSERT(limiter_check(l, "10.0.0.5", &rules5, T0, check_right,
	    NULL, &left) == LIMITER_LOCKED);
	limiter_free(l);
}

static void
test_limiter_unconfirmed(void)
{
	struct limiter	*l = limiter_new(1024);
	int64_t		 left = 0;
	int		 i;

	/* Redis never answers: the failures count here, in a window that
	   starts with the first. */
	for (i = 0; i < 5; i++) {
		TEST_ASSERT(limiter_check(l, "10.0.0.1", &rules5,
		    T0 + 1000 * i, check_wrong, NULL, NULL) ==
		    LIMITER_FAILED);
		limiter_unconfirmed(l, "10.0.0.1", &rules5, T0 + 1000 * i);
	}
	TEST_ASSERT(limiter_check(l, "10.0.0.1", &rules5, T0 + 5000,
	    check_right, NULL, &left) == LIMITER_LOCKED && left == 55000);
	TEST_ASSERT(limiter_check(l, "10.0.0.1", &rules5, T0 + 60000,
	    check_right, NULL, &left) == LIMITER_PASSED);
	limiter_free(l);
}

static void
test_limiter_observe(void)
{
	struct limiter		*l = limiter_new(1024);
	struct limiter_stats	 st;
	int64_t			 left = 0;

	/* Nothing counted: nothing kept. */
	limiter_observe(l, "10.0.0.1", &rules5, T0, 0, 60000);
	limiter_get_stats(l, T0, &st);
	TEST_ASSERT(st.sources == 0);
	limiter_observe(l, "10.0.0.1", &rules5, T0, 4, 60000);
	TEST_ASSERT(limiter_check(l, "10.0.0.1", &rules5, T0, check_wrong,
	    NULL, NULL) == LIMITER_FAILED);
	limiter_confirm(l, "10.0.0.1", &rules5, T0, 5, 60000, false);
	TEST_ASSERT(limiter_check(l, "10.0.0.1", &rules5, T0, check_right,
	    NULL, NULL) == LIMITER_LOCKED);
	limiter_observe(l, "10.0.0.2", &rules5, T0, 5, 1234);
	TEST_ASSERT(limiter_peek(l, "10.0.0.2", &rules5, T0, &left) ==
	    LIMITER_LOCKED && left == 1234);
	TEST_ASSERT(limiter_peek(l, "10.0.0.2", &rules5, T0 + 1234, &left) ==
	    LIMITER_PASSED);
	limiter_free(l);
}

static void
test_limiter_locks(void)
{
	struct limiter		*l = limiter_new(1024);
	struct limiter_stats	 st;
	int64_t			 left = 0;

	checks = 0;
	limiter_lock(l, "10.0.0.1", T0 + 5000, T0);
	TEST_ASSERT(limiter_check(l, "10.0.0.1", &rules5, T0, check_right,
	    NULL, &left) == LIMITER_LOCKED && left == 5000 && checks == 0);
	/* Never shortened; extended. */
	limiter_lock(l, "10.0.0.1", T0 + 1000, T0);
	TEST_ASSERT(limiter_lock_left(l, "10.0.0.1", T0) == 5000);
	limiter_lock(l, "10.0.0.1", T0 + 8000, T0);
	TEST_ASSERT(limiter_lock_left(l, "10.0.0.1", T0) == 8000);
	/* Over: ignored. An absurd end: cut to LIMITER_MAX_MS. */
	limiter_lock(l, "10.0.0.2", T0 - 1, T0);
	limiter_lock(l, "10.0.0.3", T0, T0);
	TEST_ASSERT(limiter_lock_left(l, "10.0.0.2", T0) == 0);
	limiter_lock(l, "10.0.0.4", INT64_MAX, T0);
	TEST_ASSERT(limiter_lock_left(l, "10.0.0.4", T0) == LIMITER_MAX_MS);
	limiter_get_stats(l, T0, &st);
	TEST_ASSERT(st.sources == 2 && st.locked == 2);
	/* A lock ends on time; prune drops what has ended. */
	TEST_ASSERT(limiter_check(l, "10.0.0.1", &rules5, T0 + 8000,
	    check_right, NULL, NULL) == LIMITER_PASSED);
	limiter_prune(l, T0 + 8000);
	limiter_get_stats(l, T0 + 8000, &st);
	TEST_ASSERT(st.sources == 1 && st.locked == 1);
	limiter_prune(l, T0 + LIMITER_MAX_MS);
	limiter_get_stats(l, T0 + LIMITER_MAX_MS, &st);
	TEST_ASSERT(st.sources == 0);
	limiter_free(l);
}

static void
test_limiter_bounded(void)
{
	struct limiter		*l = limiter_new(16);	/* 1 per stripe */
	struct limiter_stats	 st;
	char			 src[32];
	int			 i;

	/* A thousand sources with a failure each: at most 16 kept. */
	for (i = 0; i < 1000; i++) {
		snprintf(src, sizeof(src), "10.1.%d.%d", i / 250, i % 250);
		TEST_ASSERT(limiter_check(l, src, &rules5, T0, check_wrong,
		    NULL, NULL) == LIMITER_FAILED);
		limiter_confirm(l, src, &rules5, T0, 1, 60000, false);
	}
	limiter_get_stats(l, T0, &st);
	TEST_ASSERT(st.sources <= 16 && st.evicted >= 1000 - 16);
	/* A pending failure is never evicted: it must be resolved. */
	TEST_ASSERT(limiter_check(l, "10.9.9.9", &rules5, T0, check_wrong,
	    NULL, NULL) == LIMITER_FAILED);
	for (i = 0; i < 100; i++) {
		snprintf(src, sizeof(src), "10.2.%d.%d", i / 250, i % 250);
		limiter_lock(l, src, T0 + 1000, T0);
	}
	TEST_ASSERT(limiter_check(l, "10.9.9.9", &rules5, T0, check_right,
	    NULL, NULL) == LIMITER_WAIT);
	limiter_get_stats(l, T0, &st);
	TEST_ASSERT(st.pending == 1 && st.sources <= 17);
	limiter_confirm(l, "10.9.9.9", &rules5, T0, 1, 60000, false);
	limiter_free(l);
}

/* ---- the exact limit, one process, real threads ---- */

struct race {
	struct limiter		*l;
	_Atomic long long	 redis;		/* the counter */
	_Atomic int		 checked;
	pthread_barrier_t	 start;
};

static bool
race_check(void *arg)
{
	struct race	*r = arg;

	atomic_fetch_add(&r->checked, 1);
	return false;
}

static void *
race_worker(void *arg)
{
	struct race		*r = arg;
	const struct limiter_rules rules = { 5, 60000 };
	int			 n;

	pthread_barrier_wait(&r->start);
	for (n = 0; n < 2000; n++) {
		switch (limiter_check(r->l, "10.0.0.1", &rules, T0,
		    race_check, r, NULL)) {
		case LIMITER_FAILED:
			limiter_confirm(r->l, "10.0.0.1", &rules, T0,
			    atomic_fetch_add(&r->redis, 1) + 1, 60000, false);
			break;
		case LIMITER_LOCKED:
			return NULL;
		case LIMITER_WAIT:
		case LIMITER_PASSED:
			break;
		}
	}
	return NULL;
}

static void
test_limiter_threads_exact(void)
{
	struct race	 r;
	pthread_t	 th[8];
	int		 i, round;

	for (round = 0; round < 20; round++) {
		memset(&r, 0, sizeof(r));
		r.l = limiter_new(1024);
		pthread_barrier_init(&r.start, NULL, 8);
		for (i = 0; i < 8; i++)
			pthread_create(&th[i], NULL, race_worker, &r);
		for (i = 0; i < 8; i++)
			pthread_join(th[i], NULL);
		pthread_barrier_destroy(&r.start);
		limiter_free(r.l);
		TEST_ASSERT(atomic_load(&r.checked) == 5);
		TEST_ASSERT(atomic_load(&r.redis) == 5);
	}
}

/* ---- the bound across instances, on random interleavings ---- */

#define MAX_INST	4
#define MAX_EVENTS	4096

/*
 * The protocol as authfail.c and the view run it, one event at a time in
 * a random order: an attempt at an instance (limiter_check); the INCR a
 * failure sent, executed by Redis (the counter goes up; at the limit a
 * lock is published to every instance); the INCR's reply reaching its
 * instance (limiter_confirm); a lock message reaching an instance
 * (limiter_lock). Commands of one instance run in order (one link), as
 * do the messages to one instance; everything else interleaves freely.
 */
enum ev_kind { EV_INCR, EV_REPLY, EV_LOCK };

struct ev {
	enum ev_kind	 kind;
	int		 inst;
	long long	 count;		/* EV_REPLY */
	int64_t		 until;		/* EV_REPLY, EV_LOCK */
};

struct sim {
	struct limiter	*l[MAX_INST];
	int		 n;
	long long	 redis;
	long long	 wrong_checked;
	struct ev	 q[MAX_EVENTS];
	int		 nq;
	uint64_t	 rng;
};

static uint64_t
sim_rand(struct sim *s)
{
	/* xorshift64 */
	s->rng ^= s->rng << 13;
	s->rng ^= s->rng >> 7;
	s->rng ^= s->rng << 17;
	return s->rng;
}

static bool
sim_check(void *arg)
{
	((struct sim *)arg)->wrong_checked++;
	return false;
}

static void
sim_push(struct sim *s, enum ev_kind kind, int inst, long long count,
    int64_t until)
{
	if (s->nq < MAX_EVENTS)
		s->q[s->nq++] = (struct ev){ kind, inst, count, until };
}

/*
 * Whether event i may run now: it is the first of its kind for its
 * instance (an instance's commands run in order on its command link, and
 * come back in order; its lock messages arrive in order on its
 * subscriber link; the links are not ordered with one another).
 */
static bool
sim_runnable(const struct sim *s, int i)
{
	int	 j;

	for (j = 0; j < i; j++)
		if (s->q[j].inst == s->q[i].inst &&
		    s->q[j].kind == s->q[i].kind)
			return false;
	return true;
}

static void
sim_run_event(struct sim *s, int i, const struct limiter_rules *r)
{
	struct ev	 e = s->q[i];
	int		 k;

	memmove(&s->q[i], &s->q[i + 1], (size_t)(s->nq - i - 1) *
	    sizeof(s->q[0]));
	s->nq--;
	switch (e.kind) {
	case EV_INCR:
		s->redis++;
		e.until = 0;
		if (s->redis >= r->limit) {
			e.until = T0 + 60000;
			for (k = 0; k < s->n; k++)
				if (k != e.inst)
					sim_push(s, EV_LOCK, k, 0, e.until);
		}
		sim_push(s, EV_REPLY, e.inst, s->redis, e.until);
		break;
	case EV_REPLY:
		limiter_confirm(s->l[e.inst], "10.0.0.1", r, T0, e.count,
		    60000, e.until > 0);
		break;
	case EV_LOCK:
		limiter_lock(s->l[e.inst], "10.0.0.1", e.until, T0);
		break;
	}
}

/* One run: attempts keep coming at random instances until every one is
   locked and nothing is in flight. Returns the wrong secrets checked. */
static long long
sim_run(int n, const struct limiter_rules *r, uint64_t seed)
{
	struct sim	 s;
	int		 k, i, steps, locked;

	memset(&s, 0, sizeof(s));
	s.n = n;
	s.rng = seed * 2654435761u + 1;
	for (k = 0; k < n; k++)
		s.l[k] = limiter_new(64);
	for (steps = 0; steps < 100000; steps++) {
		for (locked = 0, k = 0; k < n; k++)
			locked += limiter_lock_left(s.l[k], "10.0.0.1", T0) >
			    0;
		if (locked == n && s.nq == 0)
			break;
		if (s.nq == 0 || sim_rand(&s) % 3 == 0) {
			k = (int)(sim_rand(&s) % (uint64_t)n);
			if (limiter_check(s.l[k], "10.0.0.1", r, T0,
			    sim_check, &s, NULL) == LIMITER_FAILED)
				sim_push(&s, EV_INCR, k, 0, 0);
			continue;
		}
		do
			i = (int)(sim_rand(&s) % (uint64_t)s.nq);
		while (!sim_runnable(&s, i));
		sim_run_event(&s, i, r);
	}
	for (k = 0; k < n; k++)
		limiter_free(s.l[k]);
	return s.redis == s.wrong_checked ? s.wrong_checked : -1;
}

static void
test_limiter_instances_bound(void)
{
	const struct limiter_rules rules[] = { { 1, 60000 }, { 5, 60000 },
					       { 20, 60000 } };
	long long	 got, worst;
	size_t		 ri;
	int		 n;
	uint64_t	 seed;

	for (ri = 0; ri < sizeof(rules) / sizeof(rules[0]); ri++)
		for (n = 1; n <= MAX_INST; n++) {
			worst = 0;
			for (seed = 1; seed <= 400; seed++) {
				got = sim_run(n, &rules[ri], seed);
				TEST_ASSERT(got >= rules[ri].limit);
				TEST_ASSERT(got <= rules[ri].limit + n - 1);
				if (got > worst)
					worst = got;
			}
			/* One instance: exactly the limit. Several: the
			   bound is reached, not only respected. */
			if (n == 1)
				TEST_ASSERT(worst == rules[ri].limit);
			else
				TEST_ASSERT(worst == rules[ri].limit + n - 1);
		}
}

int
main(void)
{
	test_run(test_limiter_clean_source);
	test_run(test_limiter_pending_holds);
	test_run(test_limiter_counts_to_the_limit);
	test_run(test_limiter_confirm_from_elsewhere);
	test_run(test_limiter_unconfirmed);
	test_run(test_limiter_observe);
	test_run(test_limiter_locks);
	test_run(test_limiter_bounded);
	test_run(test_limiter_threads_exact);
	test_run(test_limiter_instances_bound);
	return test_summary();
}
