/*
 * test_metrics: the Prometheus exposition writer (escaping, HELP/TYPE,
 * cumulative buckets ending in +Inf, _sum and _count), a shard's client
 * table (the cap, "other", no duplicates) and reason table, and a whole
 * scrape of hand-made shards with the caller's label tables.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "test.h"

static bool
has_line(const char *text, const char *line)
{
	size_t		 n = strlen(line);
	const char	*p = text;

	while ((p = strstr(p, line)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
		p++;
	}
	return false;
}

static size_t
count(const char *text, const char *s)
{
	size_t		 n = 0;
	const char	*p = text;

	while ((p = strstr(p, s)) != NULL) {
		n++;
		p++;
	}
	return n;
}

static void
test_metrics_family_and_escaping(void)
{
	struct metrics_text	 t;
	struct metrics_label	 l[2] = {
		{ "a", "back\\slash" },
		{ "b", "quote\"new\nline" },
	};

	metrics_text_init(&t);
	metrics_text_family(&t, "x_total", "counter", "help with \\ and\nnl");
	metrics_text_int(&t, "x_total", l, 2, 42);
	metrics_text_int(&t, "x_total", NULL, 0, 0);
	TEST_ASSERT(has_line(t.buf, "# HELP x_total help with \\\\ and\\nnl"));
	TEST_ASSERT(has_line(t.buf, "# TYPE x_total counter"));
	TEST_ASSERT(has_line(t.buf,
	    "x_total{a=\"back\\\\slash\",b=\"quote\\\"new\\nline\"} 42"));
	TEST_ASSERT(has_line(t.buf, "x_total 0"));
	/* HELP comes before TYPE, both before the samples. */
	TEST_ASSERT(strstr(t.buf, "# HELP") < strstr(t.buf, "# TYPE"));
	TEST_ASSERT(strstr(t.buf, "# TYPE") < strstr(t.buf, "x_total{"));
	TEST_ASSERT(t.buf[t.len - 1] == '\n');
	TEST_ASSERT(strlen(t.buf) == t.len);
	metrics_text_finish(&t);
}

static void
test_metrics_escape_label(void)
{
	char	 out[64];

	metrics_escape_label(out, sizeof(out), "a\\b\"c\nd");
	TEST_ASSERT(strcmp(out, "a\\\\b\\\"c\\nd") == 0);
	metrics_escape_label(out, sizeof(out), "plain-id_1.x");
	TEST_ASSERT(strcmp(out, "plain-id_1.x") == 0);
}

static void
test_metrics_histogram(void)
{
	struct metrics_text	 t;
	struct metrics_label	 l = { "endpoint", "/verify" };
	const double		 bounds[3] = { 0.001, 0.01, 0.1 };
	const uint64_t		 counts[4] = { 2, 0, 3, 5 };

	metrics_text_init(&t);
	metrics_text_family(&t, "h_seconds", "histogram", "a histogram");
	metrics_text_histogram(&t, "h_seconds", &l, 1, bounds, 3, counts,
	    1.5);
	TEST_ASSERT(has_line(t.buf, "# TYPE h_seconds histogram"));
	/* Cumulative: 2, 2, 5, and +Inf = everything = _count. */
	TEST_ASSERT(has_line(t.buf,
	    "h_seconds_bucket{endpoint=\"/verify\",le=\"0.001\"} 2"));
	TEST_ASSERT(has_line(t.buf,
	    "h_seconds_bucket{endpoint=\"/verify\",le=\"0.01\"} 2"));
	TEST_ASSERT(has_line(t.buf,
	    "h_seconds_bucket{endpoint=\"/verify\",le=\"0.1\"} 5"));
	TEST_ASSERT(has_line(t.buf,
	    "h_seconds_bucket{endpoint=\"/verify\",le=\"+Inf\"} 10"));
	TEST_ASSERT(has_line(t.buf, "h_seconds_sum{endpoint=\"/verify\"} 1.5"));
	TEST_ASSERT(has_line(t.buf,
	    "h_seconds_count{endpoint=\"/verify\"} 10"));
	/* Buckets come in increasing order, +Inf last, before _sum. */
	TEST_ASSERT(strstr(t.buf, "le=\"0.001\"") < strstr(t.buf,
	    "le=\"0.01\""));
	TEST_ASSERT(strstr(t.buf, "le=\"+Inf\"") < strstr(t.buf, "_sum"));
	TEST_ASSERT(strstr(t.buf, "_sum") < strstr(t.buf, "_count"));
	metrics_text_finish(&t);

	/* No labels: le is the only one. */
	metrics_text_init(&t);
	metrics_text_histogram(&t, "g", NULL, 0, bounds, 3, counts, 0);
	TEST_ASSERT(has_line(t.buf, "g_bucket{le=\"+Inf\"} 10"));
	TEST_ASSERT(has_line(t.buf, "g_sum 0"));
	TEST_ASSERT(has_line(t.buf, "g_count 10"));
	metrics_text_finish(&t);
}

static void
test_metrics_double(void)
{
	struct metrics_text	 t;
	size_t			 len;
	char			*s;

	metrics_text_init(&t);
	metrics_text_double(&t, "d", NULL, 0, 1764444444.25);
	metrics_text_double(&t, "n", NULL, 0, NAN);
	metrics_text_double(&t, "i", NULL, 0, INFINITY);
	TEST_ASSERT(has_line(t.buf, "d 1764444444.25"));
	TEST_ASSERT(has_line(t.buf, "n NaN"));
	TEST_ASSERT(has_line(t.buf, "i +Inf"));
	s = metrics_text_take(&t, &len);
	TEST_ASSERT(t.buf == NULL && len == strlen(s));
	free(s);
	/* An emptied text takes more: it grows from nothing (no hang). */
	metrics_text_int(&t, "again", NULL, 0, 7);
	TEST_ASSERT(t.buf != NULL && strcmp(t.buf, "again 7\n") == 0);
	TEST_ASSERT(t.len == strlen(t.buf));
	metrics_text_finish(&t);
}

static void
test_metrics_grows(void)
{
	struct metrics_text	 t;
	int			 i;

	metrics_text_init(&t);
	for (i = 0; i < 2000; i++)
		metrics_text_int(&t, "a_fairly_long_metric_name_total", NULL,
		    0, (uint64_t)i);
	TEST_ASSERT(t.len > 4096 * 8);
	TEST_ASSERT(has_line(t.buf, "a_fairly_long_metric_name_total 1999"));
	TEST_ASSERT(strlen(t.buf) == t.len);
	metrics_text_finish(&t);
}

static void
test_metrics_client_cap(void)
{
	struct metrics_shard	*m = calloc(1, sizeof(*m));

	TEST_ASSERT(m != NULL);
	metrics_shard_init(m, 2);
	metrics_token_issued(m, "a");
	metrics_token_issued(m, "b");
	metrics_token_issued(m, "a");
	metrics_token_issued(m, "c");	/* third id: over the cap */
	metrics_token_issued(m, "c");
	metrics_token_issued(m, "b");
	TEST_ASSERT(atomic_load(&m->n_clients) == 2);
	TEST_ASSERT(strcmp(m->clients[0].id, "a") == 0);
	TEST_ASSERT(atomic_load(&m->clients[0].issued) == 2);
	TEST_ASSERT(strcmp(m->clients[1].id, "b") == 0);
	TEST_ASSERT(atomic_load(&m->clients[1].issued) == 2);
	TEST_ASSERT(atomic_load(&m->issued_other) == 2);
	metrics_shard_finish(m);

	/* A cap of 0: everything is "other". */
	metrics_shard_init(m, 0);
	metrics_token_issued(m, "a");
	TEST_ASSERT(atomic_load(&m->n_clients) == 0);
	TEST_ASSERT(atomic_load(&m->issued_other) == 1);
	metrics_shard_finish(m);

	/* Many distinct ids: the index finds each one again. */
	metrics_shard_init(m, 100);
	for (int round = 0; round < 3; round++)
		for (int i = 0; i < 150; i++) {
			char	 id[16];

			snprintf(id, sizeof(id), "c%d", i);
			metrics_token_issued(m, id);
		}
	TEST_ASSERT(atomic_load(&m->n_clients) == 100);
	TEST_ASSERT(atomic_load(&m->clients[99].issued) == 3);
	TEST_ASSERT(atomic_load(&m->issued_other) == 150);
	metrics_shard_finish(m);
	free(m);
}

static void
test_metrics_request_slots(void)
{
	struct metrics_shard	*m = calloc(1, sizeof(*m));

	TEST_ASSERT(m != NULL);
	metrics_shard_init(m, 1);
	metrics_request(m, 3, 200, 300);	/* <= 0.5 ms */
	metrics_request(m, 3, 200, 2000000);	/* <= 2.5 s */
	metrics_request(m, -1, 404, 20000000);	/* other, above 10 s */
	metrics_request(m, 3, 99, 1);		/* odd code: 0 */
	metrics_request(NULL, 3, 200, 1);	/* no shard: nothing */
	TEST_ASSERT(atomic_load(&m->requests[3][200 - 100 + 1]) == 2);
	TEST_ASSERT(atomic_load(&m->requests[3][0]) == 1);
	TEST_ASSERT(atomic_load(&m->requests[METRICS_ENDPOINTS - 1]
	    [404 - 100 + 1]) == 1);
	TEST_ASSERT(atomic_load(&m->latency[3].bucket[0]) == 2);
	TEST_ASSERT(atomic_load(&m->latency[3].bucket[11]) == 1);
	TEST_ASSERT(atomic_load(&m->latency[METRICS_ENDPOINTS - 1]
	    .bucket[METRICS_HTTP_BUCKETS]) == 1);
	TEST_ASSERT(atomic_load(&m->latency[3].sum_usec) == 2000301);
	metrics_shard_finish(m);
	free(m);
}

static void
test_metrics_verify_failure(void)
{
	static char		 names[METRICS_REASONS][8];
	struct metrics_shard	*m = calloc(1, sizeof(*m));
	char			 copy[16], name[16];
	int			 i;

	TEST_ASSERT(m != NULL);
	metrics_shard_init(m, 0);
	metrics_verify_failure(m, "expired");
	metrics_verify_failure(m, "revoked");
	/* The same text at another address is the same reason. */
	snprintf(copy, sizeof(copy), "%s", "expired");
	metrics_verify_failure(m, copy);
	metrics_verify_failure(NULL, "expired");	/* no shard: nothing */
	TEST_ASSERT(atomic_load(&m->n_reasons) == 2);
	TEST_ASSERT(strcmp(m->verify_failures[0].name, "expired") == 0);
	TEST_ASSERT(atomic_load(&m->verify_failures[0].count) == 2);
	TEST_ASSERT(strcmp(m->verify_failures[1].name, "revoked") == 0);
	TEST_ASSERT(atomic_load(&m->verify_failures[1].count) == 1);
	metrics_shard_finish(m);

	/* A full table drops a new reason and still counts the old ones. */
	metrics_shard_init(m, 0);
	for (i = 0; i < METRICS_REASONS; i++) {
		snprintf(names[i], sizeof(names[i]), "r%d", i);
		metrics_verify_failure(m, names[i]);
	}
	snprintf(name, sizeof(name), "one_more");
	metrics_verify_failure(m, name);
	metrics_verify_failure(m, "r0");
	TEST_ASSERT(atomic_load(&m->n_reasons) == METRICS_REASONS);
	TEST_ASSERT(atomic_load(&m->verify_failures[0].count) == 2);
	metrics_shard_finish(m);
	free(m);
}

static void
test_metrics_render(void)
{
	struct metrics_shard	*m = calloc(2, sizeof(*m));
	const struct metrics_shard *shards[2] = { &m[0], &m[1] };
	const char		*endpoints[3] = { "/a", NULL, "/c" };
	const char		*reasons[3] = { "r1", "r2", "r3" };
	struct metrics_scrape	 s;
	size_t			 len;
	char			*text;

	TEST_ASSERT(m != NULL);
	metrics_shard_init(&m[0], 2);
	metrics_shard_init(&m[1], 2);
	metrics_request(&m[0], 0, 200, 100);
	metrics_request(&m[1], 0, 200, 100);
	metrics_request(&m[0], 1, 200, 100);	/* no label: not shown */
	metrics_request(&m[1], 2, 401, 100);
	metrics_request(&m[0], 5, 200, 100);	/* beyond the table */
	metrics_request(&m[1], -1, 404, 100);	/* other */
	metrics_token_issued(&m[0], "b");
	metrics_token_issued(&m[0], "a");
	metrics_token_issued(&m[0], "x");	/* over the cap: other */
	metrics_token_issued(&m[1], "b");
	metrics_token_issued(&m[1], "other");	/* joins other */
	metrics_verify_failure(&m[0], "r3");
	metrics_verify_failure(&m[0], "r1");
	metrics_verify_failure(&m[1], "r1");
	metrics_verify_failure(&m[1], "unlisted");
	metrics_store_state(&m[0], true, false);
	metrics_view(&m[0], 5, 1, 560, 1000 - 7, true);
	metrics_view(&m[1], 6, 0, 48, 0, false);	/* never synced: no age */

	memset(&s, 0, sizeof(s));
	s.shards = shards;
	s.nshards = 2;
	s.endpoints = endpoints;
	s.nendpoints = 3;
	s.reasons = reasons;
	s.nreasons = 3;
	s.open_connections = 4;
	s.version = "9.9.9";
	s.now = 1000;
	text = metrics_render(&s, &len);
	TEST_ASSERT(text != NULL && strlen(text) == len);
	TEST_ASSERT(has_line(text,
	    "tokend_http_requests_total{endpoint=\"/a\",code=\"200\"} 2"));
	TEST_ASSERT(has_line(text,
	    "tokend_http_requests_total{endpoint=\"/c\",code=\"401\"} 1"));
	TEST_ASSERT(has_line(text,
	    "tokend_http_requests_total{endpoint=\"other\",code=\"404\"} 1"));
	/* Slot 1 has no label, slot 5 is beyond the table: 3 series. */
	TEST_ASSERT(count(text, "tokend_http_requests_total{") == 3);
	TEST_ASSERT(has_line(text, "tokend_http_request_duration_seconds_"
	    "count{endpoint=\"/a\"} 2"));
	TEST_ASSERT(has_line(text,
	    "tokend_tokens_issued_total{client_id=\"a\"} 1"));
	TEST_ASSERT(has_line(text,
	    "tokend_tokens_issued_total{client_id=\"b\"} 2"));
	TEST_ASSERT(has_line(text,
	    "tokend_tokens_issued_total{client_id=\"other\"} 2"));
	TEST_ASSERT(strstr(text, "client_id=\"x\"") == NULL);
	/* Every listed reason, in order, zero included; no other. */
	TEST_ASSERT(has_line(text,
	    "tokend_verify_failures_total{reason=\"r1\"} 2"));
	TEST_ASSERT(has_line(text,
	    "tokend_verify_failures_total{reason=\"r2\"} 0"));
	TEST_ASSERT(has_line(text,
	    "tokend_verify_failures_total{reason=\"r3\"} 1"));
	TEST_ASSERT(strstr(text, "reason=\"r1\"") <
	    strstr(text, "reason=\"r2\""));
	TEST_ASSERT(strstr(text, "reason=\"r2\"") <
	    strstr(text, "reason=\"r3\""));
	TEST_ASSERT(strstr(text, "unlisted") == NULL);
	TEST_ASSERT(has_line(text, "tokend_store_up{worker=\"0\"} 1"));
	TEST_ASSERT(has_line(text, "tokend_store_up{worker=\"1\"} 0"));
	TEST_ASSERT(has_line(text, "tokend_view_clients{worker=\"1\"} 6"));
	TEST_ASSERT(has_line(text, "tokend_view_revoked{worker=\"0\"} 1"));
	TEST_ASSERT(has_line(text,
	    "tokend_view_revoked_bytes{worker=\"0\"} 560"));
	TEST_ASSERT(has_line(text,
	    "tokend_view_revoked_bytes{worker=\"1\"} 48"));
	TEST_ASSERT(has_line(text,
	    "tokend_view_last_sync_age_seconds{worker=\"0\"} 7"));
	TEST_ASSERT(strstr(text,
	    "tokend_view_last_sync_age_seconds{worker=\"1\"}") == NULL);
	TEST_ASSERT(has_line(text, "tokend_open_connections 4"));
	TEST_ASSERT(has_line(text, "tokend_build_info{version=\"9.9.9\"} 1"));
	TEST_ASSERT(has_line(text, "tokend_workers 2"));
	/* No certificate (plain HTTP): no expiry family at all. */
	TEST_ASSERT(strstr(text, "tokend_tls_cert_expiry") == NULL);
	free(text);

	/* A certificate: its notAfter, whole seconds, with HELP and TYPE. */
	s.tls_not_after = 1893456000;
	text = metrics_render(&s, &len);
	TEST_ASSERT(has_line(text,
	    "tokend_tls_cert_expiry_timestamp_seconds 1893456000"));
	TEST_ASSERT(has_line(text, "# TYPE "
	    "tokend_tls_cert_expiry_timestamp_seconds gauge"));
	TEST_ASSERT(count(text, "# HELP "
	    "tokend_tls_cert_expiry_timestamp_seconds ") == 1);
	free(text);
	s.tls_not_after = 0;

	/* A sync stamped after now reads as age 0, not a wrapped value. */
	s.now = 900;
	text = metrics_render(&s, &len);
	TEST_ASSERT(has_line(text,
	    "tokend_view_last_sync_age_seconds{worker=\"0\"} 0"));
	free(text);
	metrics_shard_finish(&m[0]);
	metrics_shard_finish(&m[1]);
	free(m);
}

int
main(void)
{
	test_run(test_metrics_family_and_escaping);
	test_run(test_metrics_escape_label);
	test_run(test_metrics_histogram);
	test_run(test_metrics_double);
	test_run(test_metrics_grows);
	test_run(test_metrics_client_cap);
	test_run(test_metrics_request_slots);
	test_run(test_metrics_verify_failure);
	test_run(test_metrics_render);
	return test_summary();
}
