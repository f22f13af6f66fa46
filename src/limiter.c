/*
 * limiter: the process's brute-force table (include/limiter.h has what it
 * holds and promises).
 *
 * The table is split into STRIPES stripes by the source's hash, each a
 * string map under a mutex of its own, so that workers deciding for
 * different sources rarely wait for one another; a source's whole
 * decision, its secret check included, happens under its stripe's mutex.
 * The check is one HMAC (about a microsecond): that is the only thing
 * anyone waits for.
 *
 * What it leaves to others: where counts and locks come from (Redis,
 * through authfail.c and the view), what a refusal is answered with
 * (client_auth.c), and the clock.
 *
 * Invariants, per stripe and under its mutex:
 * - count(map) <= cap, unless every entry has a failure pending (which
 *   cannot happen: pending failures are at most one per source and per
 *   worker, far fewer than cap).
 * - An entry is dropped only when its pending count is 0.
 * - fails counts only while window_end > now; once the window has ended
 *   it is taken as 0.
 * - fails >= limit implies locked_until >= window_end (a lock is set
 *   wherever fails reaches the limit).
 */
#include <pthread.h>
#include <stdlib.h>

#include "limiter.h"
#include "strmap.h"
#include "util.h"

#define STRIPES		16	/* a power of two */
#define MIN_ENTRIES	16

struct entry {
	long long	 fails;
	int64_t		 window_end;	/* ms; fails count until then */
	int64_t		 locked_until;	/* ms */
	int64_t		 pending_since;	/* ms; while pending > 0 */
	int		 pending;
};

struct stripe {
	pthread_mutex_t	 mu;
	struct strmap	*map;		/* source -> struct entry */
	uint64_t	 evicted;
};

struct limiter {
	struct stripe	 stripes[STRIPES];
	size_t		 cap;		/* entries per stripe */
};

struct limiter *
limiter_new(size_t max_entries)
{
	struct limiter	*l = xcalloc(1, sizeof(*l));
	size_t		 i;

	if (max_entries < MIN_ENTRIES)
		max_entries = MIN_ENTRIES;
	l->cap = (max_entries + STRIPES - 1) / STRIPES;
	for (i = 0; i < STRIPES; i++) {
		/* Default attributes: cannot fail on Linux. */
		pthread_mutex_init(&l->stripes[i].mu, NULL);
		l->stripes[i].map = strmap_new();
	}
	return l;
}

void
limiter_free(struct limiter *l)
{
	size_t	 i;

	if (l == NULL)
		return;
	for (i = 0; i < STRIPES; i++) {
		strmap_free(l->stripes[i].map, free);
		pthread_mutex_destroy(&l->stripes[i].mu);
	}
	free(l);
}

/* The stripe of source, locked. Unlock with stripe_unlock(). */
static struct stripe *
stripe_lock(struct limiter *l, const char *source)
{
	/* The top bits: the map's slots use the bottom ones. */
	struct stripe	*s = &l->stripes[(strmap_hash(source) >> 60) &
			    (STRIPES - 1)];

	pthread_mutex_lock(&s->mu);
	return s;
}

static void
stripe_unlock(struct stripe *s)
{
	pthread_mutex_unlock(&s->mu);
}

/* When e has nothing more to say, from now on: its window and lock end. */
static int64_t
entry_end(const struct entry *e)
{
	return e->window_end > e->locked_until ? e->window_end :
	    e->locked_until;
}

static bool
entry_dead(const struct entry *e, int64_t now)
{
	return e->pending == 0 && entry_end(e) <= now;
}

/* Take an ended window as no failures. */
static void
entry_age(struct entry *e, int64_t now)
{
	if (e->window_end <= now) {
		e->fails = 0;
		e->window_end = 0;
	}
}

static int64_t
clamp_end(int64_t until, int64_t now)
{
	return until - now > LIMITER_MAX_MS ? now + LIMITER_MAX_MS : until;
}

/* Fails at the limit lock the source until the window ends. */
static void
entry_lock_if_over(struct entry *e, const struct limiter_rules *r)
{
	if (e->fails >= r->limit && e->window_end > e->locked_until)
		e->locked_until = e->window_end;
}

/* Drop the entries of s that have ended; how many. */
static size_t
stripe_prune(struct stripe *s, int64_t now)
{
	const char	*key;
	void		*value;
	size_t		 pos = 0, n = 0;

	while (strmap_next(s->map, &pos, &key, &value))
		if (entry_dead(value, now)) {
			free(strmap_remove_at(s->map, pos));
			n++;
		}
	return n;
}

/*
 * Room for one more entry in a full stripe: the ended ones go; if none
 * has, the one that would end first (nothing pending) is evicted.
 */
static void
stripe_make_room(struct limiter *l, struct stripe *s, int64_t now)
{
	const char	*key;
	void		*value;
	size_t		 pos = 0, victim = SIZE_MAX;
	int64_t		 best = INT64_MAX;

	if (strmap_count(s->map) < l->cap || stripe_prune(s, now) > 0)
		return;
	while (strmap_next(s->map, &pos, &key, &value)) {
		const struct entry	*e = value;

		if (e->pending == 0 && entry_end(e) < best) {
			best = entry_end(e);
			victim = pos;
		}
	}
	if (victim != SIZE_MAX) {
		free(strmap_remove_at(s->map, victim));
		s->evicted++;
	}
}

/* source's entry in s, made when absent. */
static struct entry *
entry_get(struct limiter *l, struct stripe *s, const char *source,
    int64_t now)
{
	struct entry	*e;

	if ((e = strmap_get(s->map, source)) != NULL)
		return e;
	stripe_make_room(l, s, now);
	e = xcalloc(1, sizeof(*e));
	strmap_put(s->map, source, e, NULL);
	return e;
}

/* The decision before a check, for an entry (or none). */
static enum limiter_result
admit(struct entry *e, const struct limiter_rules *r, int64_t now,
    int64_t *left_ms)
{
	int64_t	 left = 0;

	if (e == NULL)
		return LIMITER_PASSED;
	entry_age(e, now);
	if (e->locked_until > now)
		left = e->locked_until - now;
	else if (e->fails >= r->limit)
		left = e->window_end - now;
	if (left > 0) {
		if (left_ms != NULL)
			*left_ms = left;
		return LIMITER_LOCKED;
	}
	if (e->pending > 0) {
		if (left_ms != NULL)
			*left_ms = now > e->pending_since ?
			    now - e->pending_since : 0;
		return LIMITER_WAIT;
	}
	return LIMITER_PASSED;
}

enum limiter_result
limiter_check(struct limiter *l, const char *source,
    const struct limiter_rules *r, int64_t now, limiter_check_fn check,
    void *arg, int64_t *left_ms)
{
	struct stripe		*s = stripe_lock(l, source);
	struct entry		*e = strmap_get(s->map, source);
	enum limiter_result	 res;

	if ((res = admit(e, r, now, left_ms)) == LIMITER_PASSED) {
		if (check(arg)) {
			/* Nothing to remember; an ended entry can go. */
			if (e != NULL && entry_dead(e, now))
				free(strmap_remove(s->map, source));
		} else {
			e = entry_get(l, s, source, now);
			if (e->pending++ == 0)
				e->pending_since = now;
			res = LIMITER_FAILED;
		}
	}
	stripe_unlock(s);
	return res;
}

enum limiter_result
limiter_peek(struct limiter *l, const char *source,
    const struct limiter_rules *r, int64_t now, int64_t *left_ms)
{
	struct stripe		*s = stripe_lock(l, source);
	enum limiter_result	 res;

	res = admit(strmap_get(s->map, source), r, now, left_ms);
	stripe_unlock(s);
	return res;
}

/*
 * Merge Redis's count of source (window_left_ms from its expiry) into e.
 * Returns the end of Redis's window, in our clock.
 */
static int64_t
merge_count(struct entry *e, const struct limiter_rules *r, int64_t now,
    long long count, int64_t window_left_ms)
{
	int64_t	 end;

	if (window_left_ms <= 0 || window_left_ms > r->window_ms)
		window_left_ms = r->window_ms;
	end = clamp_end(now + window_left_ms, now);
	entry_age(e, now);
	if (count > e->fails)
		e->fails = count;
	if (end > e->window_end)
		e->window_end = end;
	entry_lock_if_over(e, r);
	return end;
}

void
limiter_confirm(struct limiter *l, const char *source,
    const struct limiter_rules *r, int64_t now, long long count,
    int64_t window_left_ms, bool locked)
{
	struct stripe	*s = stripe_lock(l, source);
	struct entry	*e = entry_get(l, s, source, now);
	int64_t		 end;

	if (e->pending > 0)
		e->pending--;
	end = merge_count(e, r, now, count, window_left_ms);
	/* Until the counter expires, in our clock: no clock to agree on. */
	if (locked && end > e->locked_until)
		e->locked_until = end;
	stripe_unlock(s);
}

void
limiter_cancel(struct limiter *l, const char *source)
{
	struct stripe	*s = stripe_lock(l, source);
	struct entry	*e = strmap_get(s->map, source);

	if (e != NULL && e->pending > 0)
		e->pending--;
	stripe_unlock(s);
}

void
limiter_unconfirmed(struct limiter *l, const char *source,
    const struct limiter_rules *r, int64_t now)
{
	struct stripe	*s = stripe_lock(l, source);
	struct entry	*e = entry_get(l, s, source, now);

	if (e->pending > 0)
		e->pending--;
	entry_age(e, now);
	if (e->window_end == 0)
		e->window_end = clamp_end(now + r->window_ms, now);
	e->fails++;
	entry_lock_if_over(e, r);
	stripe_unlock(s);
}

void
limiter_observe(struct limiter *l, const char *source,
    const struct limiter_rules *r, int64_t now, long long count,
    int64_t window_left_ms)
{
	struct stripe	*s;

	if (count <= 0)
		return;
	s = stripe_lock(l, source);
	merge_count(entry_get(l, s, source, now), r, now, count,
	    window_left_ms);
	stripe_unlock(s);
}

void
limiter_lock(struct limiter *l, const char *source, int64_t until,
    int64_t now)
{
	struct stripe	*s;
	struct entry	*e;

	if (until <= now)
		return;
	until = clamp_end(until, now);
	s = stripe_lock(l, source);
	e = entry_get(l, s, source, now);
	if (until > e->locked_until)
		e->locked_until = until;
	stripe_unlock(s);
}

int64_t
limiter_lock_left(struct limiter *l, const char *source, int64_t now)
{
	struct stripe		*s = stripe_lock(l, source);
	const struct entry	*e = strmap_get(s->map, source);
	int64_t			 left = 0;

	if (e != NULL && e->locked_until > now)
		left = e->locked_until - now;
	stripe_unlock(s);
	return left;
}

void
limiter_prune(struct limiter *l, int64_t now)
{
	size_t	 i;

	for (i = 0; i < STRIPES; i++) {
		pthread_mutex_lock(&l->stripes[i].mu);
		stripe_prune(&l->stripes[i], now);
		pthread_mutex_unlock(&l->stripes[i].mu);
	}
}

void
limiter_get_stats(struct limiter *l, int64_t now, struct limiter_stats *st)
{
	const char	*key;
	void		*value;
	size_t		 i, pos;

	st->sources = st->locked = st->pending = 0;
	st->evicted = 0;
	for (i = 0; i < STRIPES; i++) {
		struct stripe	*s = &l->stripes[i];

		pthread_mutex_lock(&s->mu);
		st->sources += strmap_count(s->map);
		st->evicted += s->evicted;
		pos = 0;
		while (strmap_next(s->map, &pos, &key, &value)) {
			const struct entry	*e = value;

			if (e->locked_until > now)
				st->locked++;
			st->pending += (size_t)e->pending;
		}
		pthread_mutex_unlock(&s->mu);
	}
}
