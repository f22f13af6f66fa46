/*
 * metrics: the counters behind GET /metrics and the Prometheus text
 * exposition format 0.0.4 they are written in. A leaf: it includes
 * nothing of ours above the helpers, names no route, verdict or worker,
 * and renders what it is handed.
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
 * Verification failures by reason. A reason is a caller's string (its
 * verdict's stable name); each shard keeps an append-only table of at
 * most METRICS_REASONS of them, in the order they first failed there.
 * The scrape is handed the full list of reasons and writes each one,
 * zero included, in that order.
 *
 * Tokens issued by client. Each shard has an append-only table of at most
 * max_clients client ids (the caller's bound, --metrics-max-clients): a
 * worker admits a new id only while its own table is below the cap; every
 * later new id counts on that worker under client_id="other". Entries are
 * never removed, so a label, once shown, stays and its counter never goes
 * back. The exposition sums the workers' tables by id, so it has at most
 * cap x workers labels (cap, when the same clients reach every worker); an
 * id first seen by a worker whose table is full counts as "other" there
 * and under its own label on the workers that admitted it.
 *
 * The scrape (metrics_render) is handed the shards and the label tables
 * (endpoint names, reasons) and the process values it shows (open
 * connections, version, the time) by its caller, the /metrics handler.
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

/* Upper bounds of the request latency buckets, seconds (+Inf implied). */
#define METRICS_HTTP_BUCKETS	14
/* Upper bounds of the Redis command latency buckets, seconds. */
#define METRICS_STORE_BUCKETS	13
#define METRICS_HIST_MAX	14	/* the larger of the two */

/* Endpoint slots: the caller's endpoint numbers, then "other". */
#define METRICS_ENDPOINTS	32
/* Status codes 100..599 are counted exactly; anything else as 0. */
#define METRICS_CODE_MIN	100
#define METRICS_CODES		500

/* Distinct verification failure reasons a shard counts. */
#define METRICS_REASONS		32

typedef _Atomic uint64_t metrics_counter;

struct metrics_hist {
	metrics_counter	 bucket[METRICS_HIST_MAX + 1];	/* non-cumulative */
	metrics_counter	 sum_usec;
};

/* The longest client id with a label of its own; a longer one counts as
   "other". */
#define METRICS_CLIENT_ID_MAX	128	/* bytes */

struct metrics_client {
	char		 id[METRICS_CLIENT_ID_MAX + 1];
	metrics_counter	 issued;
};

struct metrics_reason {
	const char	*name;		/* the caller's static string */
	metrics_counter	 count;
};

struct metrics_shard {
	metrics_counter		 requests[METRICS_ENDPOINTS][METRICS_CODES + 1];
	struct metrics_hist	 latency[METRICS_ENDPOINTS];
	/* Failures by reason; entries [0, n_reasons) are live. */
	struct metrics_reason	 verify_failures[METRICS_REASONS];
	_Atomic size_t		 n_reasons;		/* release/acquire */
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
	_Atomic int64_t		 view_revoked_bytes;	/* heap estimate */
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
 * A shard with room for max_clients client labels (the caller's bound:
 * --metrics-max-clients, range-checked by config). The caller embeds it;
 * metrics_shard_finish releases what it allocated. Main thread, before
 * the worker starts.
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
/* A request answered (or abandoned, code 499), endpoint a number
   0 .. METRICS_ENDPOINTS - 2 (router_endpoint(); anything else counts as
   "other"), duration in microseconds. */
void	 metrics_request(struct metrics_shard *, int endpoint, int code,
	    uint64_t usec);
void	 metrics_token_issued(struct metrics_shard *, const char *client_id);
/*
 * A failed verification at /verify or /oauth/introspect, by reason: a
 * static string (kept by pointer, not copied), the outcome's stable name
 * (verify_reason()). Only failures are counted: the caller does not call
 * this on success. A reason beyond the METRICS_REASONS a shard holds is
 * dropped.
 */
void	 metrics_verify_failure(struct metrics_shard *, const char *reason);
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
/* The view's size (revocations also as bytes of heap) and last full
   re-read (unix seconds, 0: never). */
void	 metrics_view(struct metrics_shard *, size_t clients, size_t revoked,
	    size_t revoked_bytes, int64_t last_sync, bool current);

/* Process-wide, main thread only: a SIGHUP reload succeeded or failed. */
void	 metrics_key_reload(bool ok);
/* Process-wide: record the start time (main, once, before workers). */
void	 metrics_process_start(void);

/*
 * What a scrape shows, gathered by its caller; every pointer is borrowed
 * for the call.
 */
struct metrics_scrape {
	/* Every worker's shard, worker k's at [k] (its worker="k" label). */
	const struct metrics_shard *const *shards;
	size_t			 nshards;
	/*
	 * The endpoint label of endpoint number e < nendpoints (at most
	 * METRICS_ENDPOINTS - 1), or NULL when e has no series of its own
	 * (not a route, or a route's second row). The last slot is "other".
	 */
	const char *const	*endpoints;
	size_t			 nendpoints;
	/*
	 * Every verification failure reason, in the order written; each
	 * is written, zero included. A reason counted but not listed is
	 * not shown.
	 */
	const char *const	*reasons;
	size_t			 nreasons;
	uint64_t		 open_connections;	/* all workers */
	const char		*version;	/* tokend_build_info's label */
	/*
	 * notAfter of the certificate the API port serves, unix seconds;
	 * 0: none (plain HTTP), and the family is left out.
	 */
	int64_t			 tls_not_after;
	int64_t			 now;		/* unix seconds */
};

/*
 * The whole exposition of s: the sums over s->shards, the per-worker
 * gauges, and the process-wide values. Returns a NUL-terminated text the
 * caller owns (free) and its length. Never blocks; may be called from any
 * thread while the shards' writers run.
 */
char	*metrics_render(const struct metrics_scrape *s, size_t *len);

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
