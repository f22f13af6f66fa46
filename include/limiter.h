/*
 * limiter: what one tokend process knows about failed client
 * authentications per source, shared by its workers, and the admission
 * rule that keeps the number of wrong secrets checked within
 * --auth-fail-limit per window however many attempts arrive at once
 * (RFC 6749 2.3.1; authfail.h has the protocol around it, Redis included).
 *
 * A source is the text client_addr_prefix() gives (an IPv4 address, an
 * IPv6 network). For each source with something to remember the table
 * holds:
 * - fails: failed authentications known in the current window, and when
 *   that window ends: the largest count Redis answered (the reply to each
 *   failure's INCR, the counter a lookup read) or, when Redis could not
 *   count one, one more per such failure;
 * - locked_until: the end of a lock (a failure of this process reached
 *   the limit; a "lock" message or P locked told of another's);
 * - pending: failures checked here whose count Redis has not answered yet
 *   (at most one, by the rule below).
 *
 * Admission (limiter_check): a source that is locked, or whose known
 * failures have reached the limit, is refused (LIMITER_LOCKED) without a
 * check; one with a pending failure is told to wait (LIMITER_WAIT: try
 * again once Redis has answered); otherwise the caller's secret check
 * runs inside the table's lock for that source, so that no other worker
 * admits a check for it meanwhile, and a failure becomes the source's
 * pending failure (LIMITER_FAILED). The caller resolves each pending
 * failure exactly once: limiter_confirm() with the count Redis returned,
 * limiter_cancel() when a second look finds that it was no failure (the
 * record in Redis accepts the secret), limiter_unconfirmed() when Redis
 * did not count it (counted here instead). A success leaves nothing
 * behind, and an address without failures costs one short lookup.
 *
 * What this guarantees, with every instance's INCR on the one Redis
 * counter of the source (docs/security.md has the proof): in one window,
 * one instance checks at most limit wrong secrets; N instances at most
 * limit + N - 1 together (each instance at most one whose count reaches
 * the limit, since it admits nothing more for the source until that count
 * has come back).
 *
 * Bounded: at most the max_entries given to limiter_new(). A source is
 * dropped once its window and lock have ended and nothing is pending;
 * when the table is full, the entry that would end first (and has nothing
 * pending) makes room. Such an evicted source can have one more wrong
 * secret checked (whose count brings its lock back): more than
 * max_entries sources failing within one window loosen the bound by one
 * check per eviction.
 *
 * Pure: no event loop, no Redis client; times are unix milliseconds given
 * by the caller. Thread safe: every function may be called from any
 * thread at any time.
 */
#ifndef TOKEND_LIMITER_H
#define TOKEND_LIMITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct limiter;

/* The longest lock or window kept: the longest --auth-fail-window. */
#define LIMITER_MAX_MS		(86400LL * 1000)

/* Sources a process remembers at most (tokend's table). */
#define LIMITER_MAX_ENTRIES	65536

/* The settings each call is judged by. */
struct limiter_rules {
	long long	 limit;		/* --auth-fail-limit, > 0 */
	int64_t		 window_ms;	/* --auth-fail-window */
};

enum limiter_result {
	LIMITER_PASSED = 0,	/* checked: right; nothing recorded */
	LIMITER_FAILED,		/* checked: wrong; now the pending failure */
	LIMITER_LOCKED,		/* refused unchecked: locked or over the
				   limit; *left_ms is what remains */
	LIMITER_WAIT,		/* refused unchecked for now: a failure of
				   this source is pending; ask again later;
				   *left_ms is how long it has been */
};

/* The secret check, run inside the table's lock: short, no other
   limiter call, no blocking. Returns whether the credentials are right. */
typedef bool	(*limiter_check_fn)(void *arg);

/* An empty table for max_entries sources (at least 16). Never NULL. */
struct limiter	*limiter_new(size_t max_entries);

/* Free the table. NULL is fine. */
void		 limiter_free(struct limiter *);

/*
 * Admit one authentication from source at now_ms, as above; when it is
 * admitted, run check(arg) under the source's lock and record its
 * outcome. *left_ms (may be NULL) is set on LIMITER_LOCKED to the time
 * until the lock, or the window holding the failures, ends (at least 1);
 * on LIMITER_WAIT to the age of the pending failure (a caller waiting for
 * it can tell a late answer from a queue). A LIMITER_FAILED must be
 * resolved: limiter_confirm(), limiter_cancel() or limiter_unconfirmed(),
 * once.
 */
enum limiter_result limiter_check(struct limiter *, const char *source,
		    const struct limiter_rules *, int64_t now_ms,
		    limiter_check_fn check, void *arg, int64_t *left_ms);

/*
 * What limiter_check() would decide before running a check (PASSED: it
 * would run it), without running one or recording anything: for a caller
 * that must first read the record from Redis.
 */
enum limiter_result limiter_peek(struct limiter *, const char *source,
		    const struct limiter_rules *, int64_t now_ms,
		    int64_t *left_ms);

/*
 * Resolve the pending failure of source: Redis counted it, and the
 * source's counter now holds count, with window_left_ms left before it
 * expires (<= 0: unknown; longer than the window: cut to it). locked:
 * this failure locked the source. A lock, and a count at or over the
 * limit, last until the counter expires, reckoned from now_ms (Redis's
 * clock is not needed).
 */
void		 limiter_confirm(struct limiter *, const char *source,
		    const struct limiter_rules *, int64_t now_ms,
		    long long count, int64_t window_left_ms, bool locked);

/* Resolve the pending failure of source: it was no failure after all. */
void		 limiter_cancel(struct limiter *, const char *source);

/*
 * Resolve the pending failure of source: Redis did not count it (no
 * answer, an error), so it is counted here, in a window of this process
 * (started now if none is running).
 */
void		 limiter_unconfirmed(struct limiter *, const char *source,
		    const struct limiter_rules *, int64_t now_ms);

/*
 * Redis says source's counter holds count, window_left_ms from expiry (a
 * lookup read it): remembered when it is more than what is known.
 */
void		 limiter_observe(struct limiter *, const char *source,
		    const struct limiter_rules *, int64_t now_ms,
		    long long count, int64_t window_left_ms);

/*
 * Source is locked until until_ms (a "lock" message, P locked, or this
 * process's own failure): recorded, or an existing lock extended; never
 * shortened, and kept LIMITER_MAX_MS from now at most. A lock already over
 * is ignored.
 */
void		 limiter_lock(struct limiter *, const char *source,
		    int64_t until_ms, int64_t now_ms);

/* Milliseconds left on source's lock, or 0 when it is not locked. */
int64_t		 limiter_lock_left(struct limiter *, const char *source,
		    int64_t now_ms);

/* Drop every entry that has nothing left to say at now_ms. */
void		 limiter_prune(struct limiter *, int64_t now_ms);

struct limiter_stats {
	size_t		 sources;	/* entries */
	size_t		 locked;	/* of which locked at now_ms */
	size_t		 pending;	/* failures awaiting Redis */
	uint64_t	 evicted;	/* entries dropped to make room, ever */
};

void		 limiter_get_stats(struct limiter *, int64_t now_ms,
		    struct limiter_stats *);

#endif
