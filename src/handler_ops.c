/*
 * handler_ops: the operational endpoints.
 *   GET /healthz  200 while the process serves (no dependency checked).
 *   GET /readyz   200 when this worker's store link answers and its view
 *                 of clients and revocations is current, else 503 with
 *                 the reason; load balancers take the instance out of
 *                 rotation on 503.
 *   GET /         a small HTML page: name, version, links to the metadata
 *                 and JWKS documents.
 *   GET /metrics  the Prometheus text exposition (format 0.0.4) of every
 *                 worker's counters, summed (metrics.c); routed on the
 *                 management listener only (router.c), which worker 0
 *                 serves. Built in memory from relaxed atomic loads: a
 *                 few KB, no lock, no I/O.
 *                 This handler gathers what metrics renders: the workers'
 *                 shards, the endpoint labels (router.c), the verification
 *                 failure reasons (token.c, verify.c), the open connection
 *                 count, the version and the time.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "client_record.h"
#include "config.h"
#include "db.h"
#include "handler.h"
#include "metrics.h"
#include "reply.h"
#include "request.h"
#include "router.h"
#include "store.h"
#include "tls.h"
#include "token.h"
#include "util.h"
#include "verify.h"
#include "view.h"
#include "worker.h"

/* Every valid client id can have a tokend_tokens_issued_total label. */
_Static_assert(METRICS_CLIENT_ID_MAX >= CLIENT_ID_MAX,
    "metrics_client.id holds any client id");

void
handler_healthz(struct request *req)
{
	static const char	 body[] = "{\"status\":\"ok\"}";

	reply_raw_json(req, 200, body, sizeof(body) - 1, REPLY_NO_STORE);
}

static void
readyz_reply(struct request *req, bool ready, const char *reason)
{
	struct json_object	*obj = json_object_new_object();
	char			 text[256];

	json_object_object_add(obj, "ready", json_object_new_boolean(ready));
	if (ready) {
		json_object_object_add(obj, "store",
		    json_object_new_string("connected"));
		reply_json(req, 200, obj, REPLY_NO_STORE);
		return;
	}
	snprintf(text, sizeof(text), "store: %s", reason);
	json_object_object_add(obj, "reason", json_object_new_string(text));
	reply_json(req, 503, obj, REPLY_NO_STORE);
}

static void
readyz_pinged(enum db_status status, void *arg)
{
	struct request	*req = arg;

	if (status == DB_OK)
		readyz_reply(req, true, NULL);
	else if (status == DB_ERR_REDIS)
		readyz_reply(req, false, "PING answered with an error");
	else if (status == DB_ERR_TIMEOUT)
		readyz_reply(req, false, "command timed out");
	else
		readyz_reply(req, false, "connection lost");
	request_release(req);
}

/*
 * Ready means this worker's store answers now: a link that looks up but
 * whose Redis has stalled (SIGSTOP, a blocked server) must read as not
 * ready, so the check is a PING bounded by --redis-timeout.
 */
void
handler_readyz(struct request *req)
{
	struct store		*store = req->worker->store;

	if (!store_is_up(store)) {
		readyz_reply(req, false, store_reason(store));
		return;
	}
	/* Verification fails closed until the view has synced. */
	if (!view_in_sync_or_grace(req->worker->view, time(NULL))) {
		readyz_reply(req, false, view_reason(req->worker->view));
		return;
	}
	request_hold(req);
	if (db_ping(store, readyz_pinged, req) == -1) {
		request_release(req);
		readyz_reply(req, false, store_reason(store));
	}
}

static const char index_page[] =
    "<!DOCTYPE html>\n"
    "<html lang=\"en\"><head><meta charset=\"utf-8\">"
    "<title>tokend</title></head>\n"
    "<body>\n"
    "<h1>tokend " TOKEND_VERSION_STRING "</h1>\n"
    "<p>An OAuth 2.0 token server (client credentials grant).</p>\n"
    "<ul>\n"
    "<li><a href=\"/.well-known/oauth-authorization-server\">"
    "Authorization server metadata (RFC 8414)</a></li>\n"
    "<li><a href=\"/.well-known/jwks.json\">JSON Web Key Set "
    "(RFC 7517)</a></li>\n"
    "<li><a href=\"/healthz\">/healthz</a> and "
    "<a href=\"/readyz\">/readyz</a></li>\n"
    "</ul>\n"
    "</body></html>\n";

void
handler_index(struct request *req)
{
	reply_html(req, 200, index_page);
}

/* verify_reasons() fills this many; a shard can count as many. */
_Static_assert(TOKEN_NOT_YET_VALID + VERIFY_UNAVAILABLE - VERIFY_BAD_TOKEN +
    3 <= METRICS_REASONS, "METRICS_REASONS holds every verify_reason()");

/*
 * The labels of tokend_verify_failures_total, in the order they are
 * written: every token verdict but TOKEN_OK, then verify's own results
 * after VERIFY_BAD_TOKEN, then verify_request_reasons. Each is the stable
 * name the handlers count the failure under (verify_reason()). Returns
 * how many.
 */
static size_t
verify_reasons(const char *out[METRICS_REASONS])
{
	struct verify_outcome	 v = { .result = VERIFY_BAD_TOKEN };
	size_t			 n = 0;
	int			 i;

	for (i = TOKEN_OK + 1; i <= TOKEN_NOT_YET_VALID; i++) {
		v.verdict = (enum token_verdict)i;
		out[n++] = verify_reason(&v);
	}
	v.verdict = TOKEN_OK;
	for (i = VERIFY_BAD_TOKEN + 1; i <= VERIFY_UNAVAILABLE; i++) {
		v.result = (enum verify_result)i;
		out[n++] = verify_reason(&v);
	}
	for (i = 0; verify_request_reasons[i] != NULL &&
	    n < METRICS_REASONS; i++)
		out[n++] = verify_request_reasons[i];
	return n;
}

void
handler_metrics(struct request *req)
{
	const struct worker		*w = req->worker;
	const struct metrics_shard	**shards;
	const char			*endpoints[METRICS_ENDPOINTS - 1];
	const char			*reasons[METRICS_REASONS];
	struct metrics_scrape		 s;
	char				*text;
	size_t				 len, e;
	int				 k;

	shards = xcalloc((size_t)w->n_workers, sizeof(*shards));
	for (k = 0; k < w->n_workers; k++)
		shards[k] = &w->peers[k].metrics;
	for (e = 0; e < METRICS_ENDPOINTS - 1; e++)
		endpoints[e] = router_endpoint_name((int)e);
	memset(&s, 0, sizeof(s));
	s.shards = shards;
	s.nshards = (size_t)w->n_workers;
	s.endpoints = endpoints;
	s.nendpoints = METRICS_ENDPOINTS - 1;
	s.reasons = reasons;
	s.nreasons = verify_reasons(reasons);
	s.open_connections = (uint64_t)atomic_load_explicit(w->open_conns,
	    memory_order_relaxed);
	s.version = TOKEND_VERSION_STRING;
	s.now = (int64_t)time(NULL);
	/* Worker 0's: it serves this listener and swaps it on SIGHUP. */
	s.tls_not_after = tls_ctx_not_after(w->ssl_ctx);
	text = metrics_render(&s, &len);
	free(shards);
	reply_text(req, 200, "text/plain; version=0.0.4; charset=utf-8", text,
	    len, REPLY_NO_STORE);
	free(text);
}
