/*
 * metrics: the counters behind GET /metrics and the Prometheus text
 * exposition format 0.0.4 they are written in.
 *
 * Two halves.
 *
 * The shards. Every worker embeds one struct metrics_shard and is the
 * only thread that writes it (single writer per counter): a hook on the
 * request path is one relaxed atomic load and one relaxed atomic store of
 * value + 1 (metrics_inc), never a lock and never a read-modify-write
 * instruction. The worker that answers a scrape reads every worker's
 * shard with relaxed atomic loads and sums them (metrics_render). The few
 * process-wide values (key reloads, start time) are written by the main
 * thread only, in the same way.
 *
 * Histograms keep one non-cumulative count per bucket plus a sum; the
 * writer makes them cumulative and derives _count from the buckets, so a
 * scrape that races a writer still shows +Inf == _count.
 *
 * Tokens issued by client. Each shard has an append-only table of at most
 * --metrics-max-clients client ids: a worker admits a new id only while
 * its own table is below the cap; every later new id counts on that
 * worker under client_id="other". Entries are never removed, so a label,
 * once shown, stays and its counter never goes back. The exposition sums
 * the workers' tables by id, so it has at most cap x workers labels (cap,
 * when the same clients reach every worker); an id first seen by a worker
 * whose table is full counts as "other" there and under its own label on
 * the workers that admitted it.
 *
 * The exposition writer (metrics_text_*) is pure: a growing buffer, the
 * escaping rules and the histogram layout, unit tested on its own.
 */
#ifndef TOKEND_METRICS_H
#define TOKEND_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "token.h"
#include "verify.h"

struct worker;

/* Upper bounds of the request latency buckets, seconds (+Inf implied). */
#define METRICS_HTTP_BUCKETS	14
/* Upper bounds of the Redis command latency buckets, seconds. */
#define METRICS_STORE_BUCKETS	13
#define METRICS_HIST_MAX	14	/* the larger of the two */

/* Endpoint slots: the router's rows (router_endpoint) plus "other". */
#define METRICS_ENDPOINTS	32
/* Status codes 100..599 are counted exactly; anything else as 0. */
#define METRICS_CODE_MIN	100
#define METRICS_CODES		500

/* The verification failure reasons: token verdicts, then verify's. */
#define METRICS_REASONS		(TOKEN_NOT_YET_VALID + 1 + \
				    VERIFY_UNAVAILABLE + 1)

typedef _Atomic uint64_t metrics_counter;

struct metrics_hist {
	metrics_counter	 bucket[METRICS_HIST_MAX + 1];	/* non-cumulative */
	metrics_counter	 sum_usec;
};

struct metrics_client {
	char		 id[129];	/* CLIENT_ID_MAX + 1 */
	metrics_counter	 issued;
};

struct metrics_shard {
	metrics_counter		 requests[METRICS_ENDPOINTS][METRICS_CODES + 1];
	struct metrics_hist	 latency[METRICS_ENDPOINTS];
	metrics_counter		 verify_failures[METRICS_REASONS];
	metrics_counter		 auth_failures;
	metrics_counter		 auth_rate_limited;
	metrics_counter		 verify_cache_hits;
	metrics_counter		 verify_cache_misses;
	struct metrics_hist	 store_latency;
	metrics_counter		 store_timeouts;
	metrics_counter		 store_reconnects;
	_Atomic int64_t		 store_up;		/* 0 / 1 */
	_Atomic int64_t		 view_clients;
	_Atomic int64_t		 view_revoked;
	_Atomic int64_t		 view_last_sync;	/* unix s; 0 never */
	_Atomic int64_t		 view_current;		/* 0 / 1 */

	/* Tokens issued, by client_id; entries [0, n_clients) are live. */
	struct metrics_client	*clients;		/* cap entries */
	_Atomic size_t		 n_clients;		/* release/acquire */
	size_t			 cap;
	int32_t			*index;			/* writer's own */
	size_t			 index_mask;
	metrics_counter		 issued_other;
};

/*
 * A shard with room for max_clients client labels (0..
 * METRICS_MAX_CLIENTS_MAX). The caller embeds it; metrics_shard_finish
 * releases what it allocated. Main thread, before the worker starts.
 */
void	 metrics_shard_init(struct metrics_shard *, size_t max_clients);
void	 metrics_shard_finish(struct metrics_shard *);

/* The single writer's increment: relaxed load, relaxed store of +1. */
static inline void
metrics_inc(metrics_counter *c)
{
	atomic_store_explicit(c, atomic_load_explicit(c,
	    memory_order_relaxed) + 1, memory_order_relaxed);
}

static inline void
metrics_add(metrics_counter *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c,
	    memory_order_relaxed) + n, memory_order_relaxed);
}

/*
 * The hooks. Each is called only by the shard's own worker thread, and
 * each accepts a NULL shard (a store or view made by a test has none).
 */
/* A request answered (or abandoned, code 499), endpoint from
   router_endpoint(), duration in microseconds. */
void	 metrics_request(struct metrics_shard *, int endpoint, int code,
	    uint64_t usec);
void	 metrics_token_issued(struct metrics_shard *, const char *client_id);
/* A failed verification at /verify or /oauth/introspect. */
void	 metrics_verify_failure(struct metrics_shard *,
	    const struct verify_outcome *);
void	 metrics_auth_failure(struct metrics_shard *);
void	 metrics_auth_rate_limited(struct metrics_shard *);
/* A lookup in the verified-token cache (only when the cache is on). */
void	 metrics_verify_cache(struct metrics_shard *, bool hit);
/* A Redis command answered after usec; or its deadline passed. */
void	 metrics_store_command(struct metrics_shard *, uint64_t usec);
void	 metrics_store_timeout(struct metrics_shard *);
/* The command link's state: up or not; reconnected counts a return. */
void	 metrics_store_state(struct metrics_shard *, bool up,
	    bool reconnected);
/* The view's size and last full re-read (unix seconds, 0: never). */
void	 metrics_view(struct metrics_shard *, size_t clients, size_t revoked,
	    int64_t last_sync, bool current);

/* Process-wide, main thread only: a SIGHUP reload succeeded or failed. */
void	 metrics_key_reload(bool ok);
/* Process-wide: record the start time (main, once, before workers). */
void	 metrics_process_start(void);

/*
 * The whole exposition, as seen from worker w (which reads its peers'
 * shards, w->peers[0 .. w->n_workers)). Returns a NUL-terminated text the
 * caller owns (free) and its length. Never blocks; called on w's loop.
 */
char	*metrics_render(const struct worker *w, size_t *len);

/* ---- the exposition writer (pure) ---- */

struct metrics_text {
	char	*buf;		/* owned; NUL-terminated */
	size_t	 len;
	size_t	 size;
};

/* One label: name (a valid label name) = value (escaped on output). */
struct metrics_label {
	const char	*name;
	const char	*value;
};

void	 metrics_text_init(struct metrics_text *);
/* Hand the buffer over (the caller frees it) and reset t. */
char	*metrics_text_take(struct metrics_text *, size_t *len);
void	 metrics_text_finish(struct metrics_text *);

/*
 * "# HELP name help" and "# TYPE name type" (type: counter, gauge,
 * histogram). help is escaped (backslash, newline).
 */
void	 metrics_text_family(struct metrics_text *, const char *name,
	    const char *type, const char *help);
/* name{labels} value: an integer sample. */
void	 metrics_text_int(struct metrics_text *, const char *name,
	    const struct metrics_label *, size_t nlabels, uint64_t value);
/* The same with a floating point value (the shortest exact decimal;
   NaN and +Inf spelled so). */
void	 metrics_text_double(struct metrics_text *, const char *name,
	    const struct metrics_label *, size_t nlabels, double value);
/*
 * One histogram series: name_bucket{labels,le="b"} for every bound (in
 * seconds, increasing) with cumulative counts, le="+Inf", name_sum (sum
 * in seconds) and name_count (= the +Inf bucket). counts holds nbounds + 1
 * non-cumulative counts, the last one above the largest bound.
 */
void	 metrics_text_histogram(struct metrics_text *, const char *name,
	    const struct metrics_label *, size_t nlabels, const double *bounds,
	    size_t nbounds, const uint64_t *counts, double sum);

/* Escape a label value into out (size >= 2 * strlen + 1): \\ \" \n. */
void	 metrics_escape_label(char *out, size_t size, const char *value);

#endif
