/*
 * authfail: the brute-force limit on client authentication (see
 * include/authfail.h for the protocol). It decides when a failure is
 * counted, applies the lock the count brings, computes Retry-After and
 * writes the failure's log lines.
 *
 * What it leaves to others: the keys, the script and the lock message are
 * db.c's; the lock table (this worker's, shared with its siblings) is the
 * view's; the decision that a verification failed, and the answer, are
 * client_auth.c's.
 *
 * Invariant: authfail_count() calls its callback exactly once, and does
 * not touch its op or the request after that call.
 */
#include <stdint.h>

#include "authfail.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "request.h"
#include "view.h"
#include "worker.h"

void
authfail_log(const struct request *req, const char *client_id,
    const char *reason, long long fails_ip, long long fails_client)
{
	if (fails_ip >= 0)
		log_info("event=auth_failed client_id=%.64s reason=%s "
		    "client=%s path=%s fails_ip=%lld fails_client=%lld "
		    "request_id=%s", client_id != NULL ? client_id : "",
		    reason, req->client, req->path, fails_ip, fails_client,
		    req->request_id);
	else
		log_info("event=auth_failed client_id=%.64s reason=%s "
		    "client=%s path=%s request_id=%s", client_id != NULL ?
		    client_id : "", reason, req->client, req->path,
		    req->request_id);
}

static void
counted(const struct db_authfail *res, void *arg)
{
	struct authfail_op	*op = arg;
	struct request		*req = op->req;
	const struct config	*cfg = req->worker->cfg;

	/*
	 * Store errors are ignored: the failure is answered all the same.
	 * Locked: this worker's view and its siblings' know at once; the
	 * other instances from the "lock" message.
	 */
	if (res->status == DB_OK && res->locked_until > 0)
		view_add_lock(req->worker->view, req->client,
		    res->locked_until);
	authfail_log(req, op->client_id, op->reason, res->fails_ip,
	    res->fails_client);
	/* Exactly one failure reaches the limit in a window: log it once. */
	if (res->fails_ip == cfg->auth_fail_limit)
		log_warnx("event=auth_rate_limited client=%s fails=%lld "
		    "window=%d request_id=%s", req->client, res->fails_ip,
		    cfg->auth_fail_window, req->request_id);
	op->cb(op->arg);
}

void
authfail_count(struct authfail_op *op, struct request *req,
    const char *client_id, const char *reason, authfail_cb cb, void *arg)
{
	const struct config	*cfg = req->worker->cfg;

	if (cfg->auth_fail_limit == 0 || req->gone) {
		/* Off; or nobody learns the outcome: nothing to count. */
		if (!req->gone)
			authfail_log(req, client_id, reason, -1, -1);
		cb(arg);
		return;
	}
	op->req = req;
	op->client_id = client_id;
	op->reason = reason;
	op->cb = cb;
	op->arg = arg;
	if (db_authfail_count(req->worker->store, &op->db, cfg->prefix,
	    req->client, client_id, cfg->auth_fail_window,
	    cfg->auth_fail_limit, counted, op) == -1) {
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

bool
authfail_locked(struct request *req)
{
	const struct config	*cfg = req->worker->cfg;
	int64_t			 left;

	if (cfg->auth_fail_limit == 0 ||
	    (left = view_lock_remaining(req->worker->view, req->client)) <= 0)
		return false;
	req->retry_after = authfail_retry_after(cfg, left);
	return true;
}
