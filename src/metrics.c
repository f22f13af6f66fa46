/*
 * metrics: per-worker counters, summed at scrape time, and the Prometheus
 * text exposition format 0.0.4 (see include/metrics.h).
 *
 * Invariants:
 * - A shard is written by its worker thread only. Writers use a relaxed
 *   load and a relaxed store (metrics_inc); readers on other threads use
 *   relaxed loads. A reader may see a counter a few increments old, never
 *   a torn value, and counters never go back.
 * - The one structure that is not a plain counter, a shard's client
 *   table, is append-only: the writer fills entry n, then publishes n + 1
 *   with a release store; readers load the count with acquire and read
 *   only entries below it, whose ids never change again.
 * - So is a shard's reason table: entry n's name is set before n + 1 is
 *   published, and never changes again.
 * - The exposition has no duplicate series: every family is written once,
 *   endpoints and reasons come from the caller's tables (one series per
 *   entry), client ids are merged across workers before they are written.
 * - Nothing here includes a module of ours above the helpers (util,
 *   strmap): what a scrape shows beyond the shards is its argument.
 * Leaves to others: which endpoint a path is (router.c), what a verdict is
 * called (token.c, verify.c), gathering the shards and label tables and
 * serving the text (handler_ops.c), the --metrics-max-clients bound
 * (config.c).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metrics.h"
#include "strmap.h"
#include "util.h"

_Static_assert(METRICS_HTTP_BUCKETS <= METRICS_HIST_MAX, "histogram size");
_Static_assert(METRICS_STORE_BUCKETS <= METRICS_HIST_MAX, "histogram size");

/* Sub-millisecond (HTTP/1.1 keep-alive, HS256) to seconds (a stalled
   Redis behind --redis-timeout, a slow client). */
static const uint64_t http_bounds_usec[METRICS_HTTP_BUCKETS] = {
	500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000,
	500000, 1000000, 2500000, 5000000, 10000000,
};
/* 0.1 ms (a local Redis) to 1 s (above the default --redis-timeout). */
static const uint64_t store_bounds_usec[METRICS_STORE_BUCKETS] = {
	100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000,
	250000, 500000, 1000000,
};

/* Process-wide values: written by the main thread only. */
static metrics_counter	 reloads_ok;
static metrics_counter	 reloads_failed;
static _Atomic int64_t	 start_time_usec;	/* unix microseconds */

/* ---- shards ---- */

void
metrics_shard_init(struct metrics_shard *m, size_t max_clients)
{
	size_t	 n = 1, i;

	memset(m, 0, sizeof(*m));
	/* The index holds int32_t entry numbers in 2 x cap slots. */
	if (max_clients > INT32_MAX / 4)
		max_clients = INT32_MAX / 4;
	m->cap = max_clients;
	if (max_clients == 0)
		return;
	m->clients = xcalloc(max_clients, sizeof(*m->clients));
	while (n < 2 * max_clients)
		n *= 2;
	m->index = xmalloc(n * sizeof(*m->index));
	for (i = 0; i < n; i++)
		m->index[i] = -1;
	m->index_mask = n - 1;
}

void
metrics_shard_finish(struct metrics_shard *m)
{
	free(m->clients);
	free(m->index);
	m->clients = NULL;
	m->index = NULL;
	m->cap = 0;
}

static void
hist_observe(struct metrics_hist *h, const uint64_t *bounds, size_t n,
    uint64_t usec)
{
	size_t	 i;

	for (i = 0; i < n && usec > bounds[i]; i++)
		;
	metrics_inc(&h->bucket[i]);
	metrics_add(&h->sum_usec, usec);
}

void
metrics_request(struct metrics_shard *m, int endpoint, int code,
    uint64_t usec)
{
	size_t	 e, c;

	if (m == NULL)
		return;
	e = endpoint >= 0 && endpoint < METRICS_ENDPOINTS - 1 ?
	    (size_t)endpoint : METRICS_ENDPOINTS - 1;
	c = code >= METRICS_CODE_MIN && code < METRICS_CODE_MIN +
	    METRICS_CODES ? (size_t)(code - METRICS_CODE_MIN) + 1 : 0;
	metrics_inc(&m->requests[e][c]);
	hist_observe(&m->latency[e], http_bounds_usec, METRICS_HTTP_BUCKETS,
	    usec);
}

void
metrics_token_issued(struct metrics_shard *m, const char *client_id)
{
	size_t	 slot, n;
	int32_t	 i;

	if (m == NULL)
		return;
	if (m->cap == 0 || strlen(client_id) >= sizeof(m->clients[0].id)) {
		metrics_inc(&m->issued_other);
		return;
	}
	for (slot = (size_t)strmap_hash(client_id) & m->index_mask;
	    (i = m->index[slot]) != -1; slot = (slot + 1) & m->index_mask) {
		if (strcmp(m->clients[i].id, client_id) == 0) {
			metrics_inc(&m->clients[i].issued);
			return;
		}
	}
	n = atomic_load_explicit(&m->n_clients, memory_order_relaxed);
	if (n >= m->cap) {
		metrics_inc(&m->issued_other);
		return;
	}
	/* Fill the entry, then publish it: readers stop at n_clients. */
	snprintf(m->clients[n].id, sizeof(m->clients[n].id), "%s", client_id);
	atomic_store_explicit(&m->clients[n].issued, 1, memory_order_relaxed);
	m->index[slot] = (int32_t)n;
	atomic_store_explicit(&m->n_clients, n + 1, memory_order_release);
}

/*
 * A failure path only: a scan of at most METRICS_REASONS names, the
 * pointer compared first (callers pass the same static strings).
 */
void
metrics_verify_failure(struct metrics_shard *m, const char *reason)
{
	struct metrics_reason	*r;
	size_t			 n, i;

	if (m == NULL)
		return;
	n = atomic_load_explicit(&m->n_reasons, memory_order_relaxed);
	for (i = 0; i < n; i++) {
		r = &m->verify_failures[i];
		if (r->name == reason || strcmp(r->name, reason) == 0) {
			metrics_inc(&r->count);
			return;
		}
	}
	if (n == METRICS_REASONS)
		return;
	/* Fill the entry, then publish it: readers stop at n_reasons. */
	r = &m->verify_failures[n];
	r->name = reason;
	atomic_store_explicit(&r->count, 1, memory_order_relaxed);
	atomic_store_explicit(&m->n_reasons, n + 1, memory_order_release);
}

void
metrics_auth_failure(struct metrics_shard *m)
{
	if (m != NULL)
		metrics_inc(&m->auth_failures);
}

void
metrics_auth_rate_limited(struct metrics_shard *m)
{
	if (m != NULL)
		metrics_inc(&m->auth_rate_limited);
}

void
metrics_verify_cache(struct metrics_shard *m, bool hit)
{
	if (m != NULL)
		metrics_inc(hit ? &m->verify_cache_hits :
		    &m->verify_cache_misses);
}

void
metrics_store_command(struct metrics_shard *m, uint64_t usec)
{
	if (m != NULL)
		hist_observe(&m->store_latency, store_bounds_usec,
		    METRICS_STORE_BUCKETS, usec);
}

void
metrics_store_timeout(struct metrics_shard *m)
{
	if (m != NULL)
		metrics_inc(&m->store_timeouts);
}

void
metrics_store_state(struct metrics_shard *m, bool up, bool reconnected)
{
	if (m == NULL)
		return;
	atomic_store_explicit(&m->store_up, up ? 1 : 0, memory_order_relaxed);
	if (reconnected)
		metrics_inc(&m->store_reconnects);
}

void
metrics_view(struct metrics_shard *m, size_t clients, size_t revoked,
    size_t revoked_bytes, int64_t last_sync, bool current)
{
	if (m == NULL)
		return;
	atomic_store_explicit(&m->view_clients, (int64_t)clients,
	    memory_order_relaxed);
	atomic_store_explicit(&m->view_revoked, (int64_t)revoked,
	    memory_order_relaxed);
	atomic_store_explicit(&m->view_revoked_bytes, (int64_t)revoked_bytes,
	    memory_order_relaxed);
	atomic_store_explicit(&m->view_last_sync, last_sync,
	    memory_order_relaxed);
	atomic_store_explicit(&m->view_current, current ? 1 : 0,
	    memory_order_relaxed);
}

void
metrics_key_reload(bool ok)
{
	metrics_inc(ok ? &reloads_ok : &reloads_failed);
}

void
metrics_process_start(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	atomic_store_explicit(&start_time_usec, (int64_t)ts.tv_sec * 1000000 +
	    ts.tv_nsec / 1000, memory_order_relaxed);
}

/* ---- the exposition writer ---- */

void
metrics_text_init(struct metrics_text *t)
{
	t->size = 4096;
	t->buf = xmalloc(t->size);
	t->buf[0] = '\0';
	t->len = 0;
}

char *
metrics_text_take(struct metrics_text *t, size_t *len)
{
	char	*buf = t->buf;

	*len = t->len;
	memset(t, 0, sizeof(*t));
	return buf;
}

void
metrics_text_finish(struct metrics_text *t)
{
	free(t->buf);
	memset(t, 0, sizeof(*t));
}

static void
text_add(struct metrics_text *t, const char *s, size_t n)
{
	if (t->len + n + 1 > t->size) {
		/* size is 0 after metrics_text_take()/_finish() */
		if (t->size == 0)
			t->size = 4096;
		while (t->len + n + 1 > t->size)
			t->size *= 2;
		t->buf = xrealloc(t->buf, t->size);
	}
	memcpy(t->buf + t->len, s, n);
	t->len += n;
	t->buf[t->len] = '\0';
}

static void
text_str(struct metrics_text *t, const char *s)
{
	text_add(t, s, strlen(s));
}

/* s with the given characters escaped: \ and newline, and " if quote. */
static void
text_escaped(struct metrics_text *t, const char *s, bool quote)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			text_add(t, "\\\\", 2);
		else if (*s == '\n')
			text_add(t, "\\n", 2);
		else if (*s == '"' && quote)
			text_add(t, "\\\"", 2);
		else
			text_add(t, s, 1);
	}
}

void
metrics_escape_label(char *out, size_t size, const char *value)
{
	struct metrics_text	 t;

	metrics_text_init(&t);
	text_escaped(&t, value, true);
	snprintf(out, size, "%s", t.buf);
	metrics_text_finish(&t);
}

void
metrics_text_family(struct metrics_text *t, const char *name,
    const char *type, const char *help)
{
	text_str(t, "# HELP ");
	text_str(t, name);
	text_str(t, " ");
	text_escaped(t, help, false);
	text_str(t, "\n# TYPE ");
	text_str(t, name);
	text_str(t, " ");
	text_str(t, type);
	text_str(t, "\n");
}

/* name{l1="v1",...,extra="xv"} with extra optional. */
static void
text_series(struct metrics_text *t, const char *name, const char *suffix,
    const struct metrics_label *labels, size_t nlabels, const char *extra,
    const char *extra_value)
{
	size_t	 i;
	bool	 any = nlabels > 0 || extra != NULL;

	text_str(t, name);
	if (suffix != NULL)
		text_str(t, suffix);
	if (!any)
		return;
	text_str(t, "{");
	for (i = 0; i < nlabels; i++) {
		if (i > 0)
			text_str(t, ",");
		text_str(t, labels[i].name);
		text_str(t, "=\"");
		text_escaped(t, labels[i].value, true);
		text_str(t, "\"");
	}
	if (extra != NULL) {
		if (nlabels > 0)
			text_str(t, ",");
		text_str(t, extra);
		text_str(t, "=\"");
		text_escaped(t, extra_value, true);
		text_str(t, "\"");
	}
	text_str(t, "}");
}

static void
format_double(char *out, size_t size, double v)
{
	if (isnan(v))
		snprintf(out, size, "NaN");
	else if (isinf(v))
		snprintf(out, size, "%s", v > 0 ? "+Inf" : "-Inf");
	else {
		int	 prec;

		/* The shortest text that reads back as v: 0.1, not
		   0.10000000000000001. */
		for (prec = 15; prec < 17; prec++) {
			snprintf(out, size, "%.*g", prec, v);
			if (strtod(out, NULL) == v)
				return;
		}
		snprintf(out, size, "%.17g", v);
	}
}

void
metrics_text_int(struct metrics_text *t, const char *name,
    const struct metrics_label *labels, size_t nlabels, uint64_t value)
{
	char	 num[32];

	text_series(t, name, NULL, labels, nlabels, NULL, NULL);
	snprintf(num, sizeof(num), " %llu\n", (unsigned long long)value);
	text_str(t, num);
}

void
metrics_text_double(struct metrics_text *t, const char *name,
    const struct metrics_label *labels, size_t nlabels, double value)
{
	char	 num[40];

	text_series(t, name, NULL, labels, nlabels, NULL, NULL);
	text_str(t, " ");
	format_double(num, sizeof(num), value);
	text_str(t, num);
	text_str(t, "\n");
}

void
metrics_text_histogram(struct metrics_text *t, const char *name,
    const struct metrics_label *labels, size_t nlabels, const double *bounds,
    size_t nbounds, const uint64_t *counts, double sum)
{
	char		 le[40], num[40];
	uint64_t	 cum = 0;
	size_t		 i;

	for (i = 0; i <= nbounds; i++) {
		cum += counts[i];
		if (i < nbounds)
			format_double(le, sizeof(le), bounds[i]);
		else
			snprintf(le, sizeof(le), "+Inf");
		text_series(t, name, "_bucket", labels, nlabels, "le", le);
		snprintf(num, sizeof(num), " %llu\n", (unsigned long long)cum);
		text_str(t, num);
	}
	text_series(t, name, "_sum", labels, nlabels, NULL, NULL);
	format_double(num, sizeof(num), sum);
	text_str(t, " ");
	text_str(t, num);
	text_str(t, "\n");
	text_series(t, name, "_count", labels, nlabels, NULL, NULL);
	snprintf(num, sizeof(num), " %llu\n", (unsigned long long)cum);
	text_str(t, num);
}

/* ---- the scrape ---- */

static uint64_t
load(const metrics_counter *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

/* Sum of every shard's histogram h (at offset off in the shard). */
static void
hist_sum(const struct metrics_shard *const *shards, size_t n, size_t off,
    size_t nbounds, uint64_t *total, uint64_t *counts, double *sum)
{
	uint64_t	 usec = 0;
	size_t		 i, k;

	memset(counts, 0, (nbounds + 1) * sizeof(*counts));
	for (k = 0; k < n; k++) {
		const struct metrics_hist *h = (const struct metrics_hist *)
		    (const void *)((const char *)shards[k] + off);

		for (i = 0; i <= nbounds; i++)
			counts[i] += load(&h->bucket[i]);
		usec += load(&h->sum_usec);
	}
	*total = 0;
	for (i = 0; i <= nbounds; i++)
		*total += counts[i];
	*sum = (double)usec / 1e6;
}

static void
bounds_seconds(const uint64_t *usec, size_t n, double *out)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		out[i] = (double)usec[i] / 1e6;
}

/* The label of endpoint slot e, or NULL when it has no series. */
static const char *
endpoint_name(const struct metrics_scrape *s, size_t e)
{
	if (e == METRICS_ENDPOINTS - 1)
		return "other";
	if (e >= s->nendpoints)
		return NULL;
	return s->endpoints[e];
}

static void
render_requests(struct metrics_text *t, const struct metrics_scrape *s)
{
	const struct metrics_shard *const *shards = s->shards;
	struct metrics_label	 l[2];
	double			 bounds[METRICS_HTTP_BUCKETS];
	uint64_t		 counts[METRICS_HIST_MAX + 1], total;
	char			 code[8];
	double			 sum;
	size_t			 e, c, k, n = s->nshards;

	metrics_text_family(t, "tokend_http_requests_total", "counter",
	    "HTTP requests answered, by endpoint (the route, or other) and "
	    "status code (499: the client went away first)");
	for (e = 0; e < METRICS_ENDPOINTS; e++) {
		if ((l[0].value = endpoint_name(s, e)) == NULL)
			continue;
		l[0].name = "endpoint";
		l[1].name = "code";
		for (c = 0; c <= METRICS_CODES; c++) {
			uint64_t	 v = 0;

			for (k = 0; k < n; k++)
				v += load(&shards[k]->requests[e][c]);
			if (v == 0)
				continue;
			snprintf(code, sizeof(code), "%zu", c == 0 ? 0 :
			    c - 1 + METRICS_CODE_MIN);
			l[1].value = code;
			metrics_text_int(t, "tokend_http_requests_total", l, 2,
			    v);
		}
	}

	metrics_text_family(t, "tokend_http_request_duration_seconds",
	    "histogram", "Time from a request read whole to its reply "
	    "handed to the connection, by endpoint");
	bounds_seconds(http_bounds_usec, METRICS_HTTP_BUCKETS, bounds);
	for (e = 0; e < METRICS_ENDPOINTS; e++) {
		if ((l[0].value = endpoint_name(s, e)) == NULL)
			continue;
		l[0].name = "endpoint";
		hist_sum(shards, n, offsetof(struct metrics_shard, latency) +
		    e * sizeof(struct metrics_hist), METRICS_HTTP_BUCKETS,
		    &total, counts, &sum);
		/* An endpoint appears once it has been asked: a few KB. */
		if (total == 0)
			continue;
		metrics_text_histogram(t,
		    "tokend_http_request_duration_seconds", l, 1, bounds,
		    METRICS_HTTP_BUCKETS, counts, sum);
	}
}

struct client_sum {
	const char	*id;
	uint64_t	 issued;
};

static int
client_sum_cmp(const void *a, const void *b)
{
	return strcmp(((const struct client_sum *)a)->id,
	    ((const struct client_sum *)b)->id);
}

static void
render_clients(struct metrics_text *t, const struct metrics_scrape *s)
{
	struct strmap		*map = strmap_new();
	struct client_sum	*sums = NULL;
	struct metrics_label	 l = { "client_id", NULL };
	size_t			 nsums = 0, cap = 0, i, nc, k;
	uint64_t		 other = 0;
	void			*val;

	metrics_text_family(t, "tokend_tokens_issued_total", "counter",
	    "Tokens issued (/oauth/token and /authorize), by client_id; "
	    "each worker labels at most --metrics-max-clients ids, the rest "
	    "count as other");
	for (k = 0; k < s->nshards; k++) {
		const struct metrics_shard *m = s->shards[k];

		other += load(&m->issued_other);
		nc = atomic_load_explicit(&m->n_clients, memory_order_acquire);
		for (i = 0; i < nc; i++) {
			const struct metrics_client *c = &m->clients[i];

			/* "other" is ours: an id of that name joins it. */
			if (strcmp(c->id, "other") == 0) {
				other += load(&c->issued);
				continue;
			}
			if ((val = strmap_get(map, c->id)) != NULL) {
				sums[(uintptr_t)val - 1].issued +=
				    load(&c->issued);
				continue;
			}
			if (nsums == cap) {
				cap = cap ? cap * 2 : 64;
				sums = xrealloc(sums, cap * sizeof(*sums));
			}
			sums[nsums].id = c->id;
			sums[nsums].issued = load(&c->issued);
			nsums++;
			strmap_put(map, c->id, (void *)(uintptr_t)nsums, NULL);
		}
	}
	if (nsums > 1)
		qsort(sums, nsums, sizeof(*sums), client_sum_cmp);
	for (i = 0; i < nsums; i++) {
		l.value = sums[i].id;
		metrics_text_int(t, "tokend_tokens_issued_total", &l, 1,
		    sums[i].issued);
	}
	l.value = "other";
	metrics_text_int(t, "tokend_tokens_issued_total", &l, 1, other);
	free(sums);
	strmap_free(map, NULL);
}

/* The sum over shards of the failures counted under reason. */
static uint64_t
sum_reason(const struct metrics_scrape *s, const char *reason)
{
	uint64_t	 v = 0;
	size_t		 i, k, nr;

	for (k = 0; k < s->nshards; k++) {
		const struct metrics_shard *m = s->shards[k];

		nr = atomic_load_explicit(&m->n_reasons, memory_order_acquire);
		for (i = 0; i < nr; i++)
			if (strcmp(m->verify_failures[i].name, reason) == 0)
				v += load(&m->verify_failures[i].count);
	}
	return v;
}

/* The sum over shards of the counter at offset off in the shard. */
static uint64_t
sum_at(const struct metrics_scrape *s, size_t off)
{
	uint64_t	 v = 0;
	size_t		 k;

	for (k = 0; k < s->nshards; k++)
		v += load((const metrics_counter *)(const void *)
		    ((const char *)s->shards[k] + off));
	return v;
}

static void
render_auth(struct metrics_text *t, const struct metrics_scrape *s)
{
	struct metrics_label	 l = { "reason", NULL };
	size_t			 r;

	metrics_text_family(t, "tokend_verify_failures_total", "counter",
	    "Tokens rejected at /verify and /oauth/introspect, by reason "
	    "(the verdict)");
	/* Every reason, zero included, so that rates start at the start. */
	for (r = 0; r < s->nreasons; r++) {
		l.value = s->reasons[r];
		metrics_text_int(t, "tokend_verify_failures_total", &l, 1,
		    sum_reason(s, s->reasons[r]));
	}
	metrics_text_family(t, "tokend_auth_failures_total", "counter",
	    "Failed client authentications (unknown client, wrong secret, "
	    "disabled client, missing or malformed credentials)");
	metrics_text_int(t, "tokend_auth_failures_total", NULL, 0,
	    sum_at(s, offsetof(struct metrics_shard, auth_failures)));
	metrics_text_family(t, "tokend_auth_rate_limited_total", "counter",
	    "Client authentications refused with 429 by --auth-fail-limit");
	metrics_text_int(t, "tokend_auth_rate_limited_total", NULL, 0,
	    sum_at(s, offsetof(struct metrics_shard, auth_rate_limited)));
	metrics_text_family(t, "tokend_verify_cache_hits_total", "counter",
	    "Tokens found in the verified-token cache (signature not checked "
	    "again; revocation still checked)");
	metrics_text_int(t, "tokend_verify_cache_hits_total", NULL, 0,
	    sum_at(s, offsetof(struct metrics_shard, verify_cache_hits)));
	metrics_text_family(t, "tokend_verify_cache_misses_total", "counter",
	    "Tokens not in the verified-token cache (fully verified)");
	metrics_text_int(t, "tokend_verify_cache_misses_total", NULL, 0,
	    sum_at(s, offsetof(struct metrics_shard, verify_cache_misses)));
}

/* An int64 gauge of shard k, at offset off. */
static int64_t
gauge_at(const struct metrics_scrape *s, size_t k, size_t off)
{
	return atomic_load_explicit((const _Atomic int64_t *)(const void *)
	    ((const char *)s->shards[k] + off), memory_order_relaxed);
}

/* A gauge per worker, labelled worker="N", from an int64 of its shard. */
static void
per_worker_gauge(struct metrics_text *t, const struct metrics_scrape *s,
    const char *name, const char *help, size_t off)
{
	struct metrics_label	 l = { "worker", NULL };
	char			 id[24];
	size_t			 k;

	metrics_text_family(t, name, "gauge", help);
	for (k = 0; k < s->nshards; k++) {
		snprintf(id, sizeof(id), "%zu", k);
		l.value = id;
		metrics_text_int(t, name, &l, 1, (uint64_t)gauge_at(s, k,
		    off));
	}
}

static void
render_store(struct metrics_text *t, const struct metrics_scrape *s)
{
	struct metrics_label	 l = { "worker", NULL };
	double			 bounds[METRICS_STORE_BUCKETS];
	uint64_t		 counts[METRICS_HIST_MAX + 1], total;
	char			 id[24];
	double			 sum;
	int64_t			 last;
	size_t			 k;

	per_worker_gauge(t, s, "tokend_store_up",
	    "1 while the worker's Redis command link is up, else 0",
	    offsetof(struct metrics_shard, store_up));
	metrics_text_family(t, "tokend_store_reconnects_total", "counter",
	    "Times a worker's Redis command link came back up after a loss");
	metrics_text_int(t, "tokend_store_reconnects_total", NULL, 0,
	    sum_at(s, offsetof(struct metrics_shard, store_reconnects)));
	metrics_text_family(t, "tokend_store_timeouts_total", "counter",
	    "Redis commands whose --redis-timeout deadline passed");
	metrics_text_int(t, "tokend_store_timeouts_total", NULL, 0,
	    sum_at(s, offsetof(struct metrics_shard, store_timeouts)));
	metrics_text_family(t, "tokend_store_command_duration_seconds",
	    "histogram", "Time from a Redis command queued to its reply");
	bounds_seconds(store_bounds_usec, METRICS_STORE_BUCKETS, bounds);
	hist_sum(s->shards, s->nshards, offsetof(struct metrics_shard,
	    store_latency), METRICS_STORE_BUCKETS, &total, counts, &sum);
	metrics_text_histogram(t, "tokend_store_command_duration_seconds",
	    NULL, 0, bounds, METRICS_STORE_BUCKETS, counts, sum);

	per_worker_gauge(t, s, "tokend_view_clients",
	    "Client records in the worker's view of the store",
	    offsetof(struct metrics_shard, view_clients));
	per_worker_gauge(t, s, "tokend_view_revoked",
	    "Revoked jtis in the worker's view that still matter",
	    offsetof(struct metrics_shard, view_revoked));
	per_worker_gauge(t, s, "tokend_view_revoked_bytes",
	    "Heap the worker's view takes for its revoked jtis (an estimate "
	    "from its allocations: table, jti copies, values)",
	    offsetof(struct metrics_shard, view_revoked_bytes));
	per_worker_gauge(t, s, "tokend_view_current",
	    "1 while the worker's view may be trusted for verification",
	    offsetof(struct metrics_shard, view_current));
	metrics_text_family(t, "tokend_view_last_sync_age_seconds", "gauge",
	    "Seconds since the worker's view last completed a full re-read "
	    "(absent until the first)");
	for (k = 0; k < s->nshards; k++) {
		last = gauge_at(s, k, offsetof(struct metrics_shard,
		    view_last_sync));
		if (last == 0)
			continue;
		snprintf(id, sizeof(id), "%zu", k);
		l.value = id;
		metrics_text_int(t, "tokend_view_last_sync_age_seconds", &l, 1,
		    s->now > last ? (uint64_t)(s->now - last) : 0);
	}
}

static void
render_process(struct metrics_text *t, const struct metrics_scrape *s)
{
	struct metrics_label	 l = { "result", NULL };
	struct metrics_label	 v = { "version", s->version };

	metrics_text_family(t, "tokend_open_connections", "gauge",
	    "Open client connections, all workers");
	metrics_text_int(t, "tokend_open_connections", NULL, 0,
	    s->open_connections);
	metrics_text_family(t, "tokend_key_reloads_total", "counter",
	    "SIGHUP reloads of keys and certificate, by result");
	l.value = "ok";
	metrics_text_int(t, "tokend_key_reloads_total", &l, 1,
	    load(&reloads_ok));
	l.value = "failed";
	metrics_text_int(t, "tokend_key_reloads_total", &l, 1,
	    load(&reloads_failed));
	metrics_text_family(t, "tokend_build_info", "gauge",
	    "Always 1; the version is in the label");
	metrics_text_int(t, "tokend_build_info", &v, 1, 1);
	metrics_text_family(t, "tokend_start_time_seconds", "gauge",
	    "Start time of the process, unix seconds");
	metrics_text_double(t, "tokend_start_time_seconds", NULL, 0,
	    (double)atomic_load_explicit(&start_time_usec,
	    memory_order_relaxed) / 1e6);
	metrics_text_family(t, "tokend_workers", "gauge",
	    "Worker threads");
	metrics_text_int(t, "tokend_workers", NULL, 0, (uint64_t)s->nshards);
	if (s->tls_not_after > 0) {
		metrics_text_family(t,
		    "tokend_tls_cert_expiry_timestamp_seconds", "gauge",
		    "notAfter of the TLS certificate the API port serves "
		    "(SIGHUP reloads it), unix seconds");
		metrics_text_int(t, "tokend_tls_cert_expiry_timestamp_seconds",
		    NULL, 0, (uint64_t)s->tls_not_after);
	}
}

char *
metrics_render(const struct metrics_scrape *s, size_t *len)
{
	struct metrics_text	 t;

	metrics_text_init(&t);
	render_requests(&t, s);
	render_clients(&t, s);
	render_auth(&t, s);
	render_store(&t, s);
	render_process(&t, s);
	return metrics_text_take(&t, len);
}
