/*
 * authfail: the brute-force limit on client authentication (see
 * include/authfail.h for the protocol). It names the source a request
 * counts under, puts each secret check through the process's table
 * (limiter.h), counts failures in Redis and brings Redis's answer back
 * into the table, computes Retry-After and writes the failure's log lines.
 *
 * What it leaves to others: the keys, the script and the lock message are
 * db.c's; the table is limiter.c's, which the view also feeds (lock
 * messages, P locked); the decision that a verification failed, and the
 * answer, are client_auth.c's.
 *
 * Invariants: every LIMITER_FAILED of authfail_check() is resolved in the
 * table exactly once (by the caller through authfail_count(),
 * authfail_cancel() or authfail_uncounted()); authfail_count() calls its
 * callback exactly once, and does not touch its op or the request after
 * that call.
 */
#include <stdint.h>

#include "authfail.h"
#include "client_addr.h"
#include "config.h"
#include "db.h"
#include "limiter.h"
#include "log.h"
#include "request.h"
#include "view.h"
#include "worker.h"

void
authfail_source(const struct request *req, char out[AUTHFAIL_SOURCE_MAX])
{
	client_addr_prefix(req->client, req->worker->cfg->auth_fail_ipv6_prefix,
	    out, AUTHFAIL_SOURCE_MAX);
}

void
authfail_log(const struct request *req, const char *client_id,
    const char *reason, long long fails_ip, long long fails_client)
{
	char	 source[AUTHFAIL_SOURCE_MAX];

	authfail_source(req, source);
	if (client_id == NULL)
		client_id = "";
	if (fails_ip >= 0 && fails_client >= 0)
		log_info("event=auth_failed client_id=%.64s reason=%s "
		    "client=%s path=%s fails_ip=%lld fails_client=%lld "
		    "request_id=%s", client_id, reason, source, req->path,
		    fails_ip, fails_client, req->request_id);
	else if (fails_ip >= 0)
		log_info("event=auth_failed client_id=%.64s reason=%s "
		    "client=%s path=%s fails_ip=%lld request_id=%s",
		    client_id, reason, source, req->path, fails_ip,
		    req->request_id);
	else
		log_info("event=auth_failed client_id=%.64s reason=%s "
		    "client=%s path=%s request_id=%s", client_id, reason,
		    source, req->path, req->request_id);
}

/* The settings the table judges by, or false when the limit is off. */
static bool
rules_of(const struct request *req, struct limiter_rules *r)
{
	const struct config	*cfg = req->worker->cfg;

	r->limit = cfg->auth_fail_limit;
	r->window_ms = (int64_t)cfg->auth_fail_window * 1000;
	return cfg->auth_fail_limit > 0 &&
	    view_limiter(req->worker->view) != NULL;
}

/* A refusal's Retry-After, or how long a held attempt has waited. */
static enum limiter_result
refusal(struct request *req, enum limiter_result res, int64_t left,
    int64_t *waited_ms)
{
	if (res == LIMITER_LOCKED)
		req->retry_after = authfail_retry_after(req->worker->cfg, left);
	else if (res == LIMITER_WAIT && waited_ms != NULL)
		*waited_ms = left;
	return res;
}

enum limiter_result
authfail_check(struct request *req, const char *source,
    limiter_check_fn check, void *arg, int64_t *waited_ms)
{
	struct limiter_rules	 r;
	int64_t			 left = 0;

	if (!rules_of(req, &r))
		return check(arg) ? LIMITER_PASSED : LIMITER_FAILED;
	return refusal(req, limiter_check(view_limiter(req->worker->view),
	    source, &r, view_now_ms(), check, arg, &left), left, waited_ms);
}

enum limiter_result
authfail_peek(struct request *req, const char *source, int64_t *waited_ms)
{
	struct limiter_rules	 r;
	int64_t			 left = 0;

	if (!rules_of(req, &r))
		return LIMITER_PASSED;
	return refusal(req, limiter_peek(view_limiter(req->worker->view),
	    source, &r, view_now_ms(), &left), left, waited_ms);
}

void
authfail_observe(struct request *req, const char *source, long long count,
    int64_t window_ms)
{
	struct limiter_rules	 r;

	if (rules_of(req, &r))
		limiter_observe(view_limiter(req->worker->view), source, &r,
		    view_now_ms(), count, window_ms);
}

void
authfail_cancel(struct request *req, const char *source)
{
	struct limiter_rules	 r;

	if (rules_of(req, &r))
		limiter_cancel(view_limiter(req->worker->view), source);
}

void
authfail_uncounted(struct request *req, const char *source)
{
	struct limiter_rules	 r;

	if (rules_of(req, &r))
		limiter_unconfirmed(view_limiter(req->worker->view), source,
		    &r, view_now_ms());
}

static void
counted(const struct db_authfail *res, void *arg)
{
	struct authfail_op	*op = arg;
	struct request		*req = op->req;
	const struct config	*cfg = req->worker->cfg;
	struct limiter_rules	 r;

	(void)rules_of(req, &r);
	/*
	 * Redis's count is every instance's: it resolves our pending
	 * failure, and may tell us the source is locked (this process's
	 * workers know at once; the other instances from the "lock"
	 * message). Without an answer the failure is counted here.
	 */
	if (res->status == DB_OK)
		limiter_confirm(view_limiter(req->worker->view), op->source,
		    &r, view_now_ms(), res->fails_ip, res->window_ms,
		    res->locked_until > 0);
	else
		limiter_unconfirmed(view_limiter(req->worker->view),
		    op->source, &r, view_now_ms());
	authfail_log(req, op->client_id, op->reason, res->fails_ip,
	    res->fails_client);
	/* Exactly one failure reaches the limit in a window: log it once. */
	if (res->fails_ip == cfg->auth_fail_limit)
		log_warnx("event=auth_rate_limited client=%s fails=%lld "
		    "window=%d request_id=%s", op->source, res->fails_ip,
		    cfg->auth_fail_window, req->request_id);
	op->cb(op->arg);
}

void
authfail_count(struct authfail_op *op, struct request *req,
    const char *source, const char *client_id, const char *reason,
    authfail_cb cb, void *arg)
{
	const struct config	*cfg = req->worker->cfg;
	struct limiter_rules	 r;

	if (!rules_of(req, &r)) {
		/* Off: nothing to count. */
		authfail_log(req, client_id, reason, -1, -1);
		cb(arg);
		return;
	}
	op->req = req;
	op->source = source;
	op->client_id = client_id;
	op->reason = reason;
	op->cb = cb;
	op->arg = arg;
	if (db_authfail_count(req->worker->store, &op->db, cfg->prefix,
	    source, client_id, cfg->auth_fail_window, cfg->auth_fail_limit,
	    counted, op) == -1) {
		limiter_unconfirmed(view_limiter(req->worker->view), source,
		    &r, view_now_ms());
		authfail_log(req, client_id, reason, -1, -1);
		cb(arg);
	}
}

int
authfail_retry_after(const struct config *cfg, int64_t ms)
{
	int	 s;

	if (ms <= 0 || ms > (int64_t)cfg->auth_fail_window * 1000)
		s = cfg->auth_fail_window;
	else
		s = (int)((ms + 999) / 1000);
	return s < 1 ? 1 : s;
}
