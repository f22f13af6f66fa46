/*
 * client_auth: extract client credentials from a request and verify them
 * against the client record: the worker's view (view.h) first, Redis when
 * the view cannot say yes. The brute-force limit (counting failures,
 * locks, Retry-After) is authfail.c's; the Redis commands and their
 * replies are db.c's.
 *
 * Success path: the view is in sync, the source address is not locked,
 * the view has the client, enabled, and the secret matches its hash: the
 * callback runs at once, with no Redis command. While the view is not in
 * sync (its first read after start, a re-read after a reconnect), the
 * record and the address counter are read from Redis in one script
 * (db_client_lookup), as before the view; without Redis, 503.
 *
 * Uniform failure path: every other case (no record in the view, a wrong
 * secret, a disabled client) reads the record with one HGETALL
 * (db_client_get: a client added or rotated a moment ago is thereby found
 * before the view hears of it) and checks the secret again; without a
 * record a dummy record is decoded and the dummy hash checked. So an
 * unknown client, a disabled one and a wrong secret each cost two hash
 * checks, one HGETALL, one decode and the failure count
 * (authfail_count), and the time taken does not tell them apart. Redis
 * answers an unknown key with an empty array as fast as a known one.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authfail.h"
#include "client_auth.h"
#include "client_record.h"
#include "config.h"
#include "db.h"
#include "metrics.h"
#include "params.h"
#include "reply.h"
#include "request.h"
#include "secret.h"
#include "store.h"
#include "util.h"
#include "view.h"
#include "worker.h"


enum client_creds_result
client_auth_extract(const struct request *req, const struct params *params,
    struct client_creds *creds)
{
	return client_creds_extract(request_header(req, "Authorization"),
	    params, creds);
}

struct auth_op {
	struct request		*req;
	struct client_creds	 creds;
	client_auth_cb		 cb;
	void			*arg;
	const char		*reason;	/* of a failure */
	uint64_t		 sent_us;	/* now_usec() at the read */
	struct db_op		 lookup;
	struct authfail_op	 fail;
};

/*
 * Without a record, decode this one instead (and throw it away), so that
 * an unknown client costs what a known one does: the timing of a failure
 * must not tell whether the client_id exists.
 */
static void
decode_dummy_record(void)
{
	static const char *const fields[] = {
		"secret", "scopes", "audience", "ttl", "claims", "disabled",
		"revoked_before", "introspect", "created_at", "updated_at",
		"generation",
	};
	const char		*values[nitems(fields)];
	size_t			 flens[nitems(fields)], vlens[nitems(fields)];
	struct client_record	*rec = NULL;
	size_t			 i;

	values[0] = secret_dummy_hash();
	values[1] = "read write";
	values[2] = "";
	values[3] = "0";
	values[4] = "{}";
	values[5] = "0";
	values[6] = "0";
	values[7] = "0";
	values[8] = "1700000000";
	values[9] = "1700000000";
	values[10] = "5f0c2a9e7d41b3c8.9a1e6f0b2c7d4e35";
	for (i = 0; i < nitems(fields); i++) {
		flens[i] = strlen(fields[i]);
		vlens[i] = strlen(values[i]);
	}
	if (client_record_decode("-", nitems(fields), fields, flens, values,
	    vlens, &rec, NULL, 0) == 0)
		client_record_free(rec);
}

/* Answer: cb with rec borrowed; then op is freed and req released. */
static void
auth_done(struct auth_op *op, enum client_auth_result result,
    const struct client_record *rec)
{
	struct request	*req = op->req;

	if (result == CLIENT_AUTH_OK)
		view_client_issuing(req->worker->view, rec, now_usec());
	else if (result == CLIENT_AUTH_INVALID)
		metrics_auth_failure(&req->worker->metrics);
	else if (result == CLIENT_AUTH_LIMITED)
		metrics_auth_rate_limited(&req->worker->metrics);
	client_creds_finish(&op->creds);
	op->cb(req, result, rec, op->arg);
	free(op);
	request_release(req);
}

/* The failure is counted (or needed no count): answer it. */
static void
auth_counted(void *arg)
{
	auth_done(arg, CLIENT_AUTH_INVALID, NULL);
}

/*
 * The record read from Redis: the view missed or said no
 * (db_client_get), or was not in sync (db_client_lookup, or
 * db_client_get with the limit off).
 */
static void
auth_looked_up(const struct db_record *res, void *arg)
{
	struct auth_op		*op = arg;
	struct request		*req = op->req;
	struct client_record	*rec = NULL;
	bool			 match;

	if (res->status != DB_OK) {
		auth_done(op, CLIENT_AUTH_UNAVAILABLE, NULL);
		return;
	}
	if (res->locked) {
		/* Over the limit: no record, no secret check. */
		req->retry_after = authfail_retry_after(req->worker->cfg,
		    res->lock_ms);
		auth_done(op, CLIENT_AUTH_LIMITED, NULL);
		return;
	}
	if (!req->gone && (rec = db_record_decode(res)) == NULL)
		decode_dummy_record();
	/* One hash check on every path; decide only afterwards. */
	match = secret_key_check(rec != NULL ? rec->secret_key : NULL,
	    op->creds.secret, op->creds.secret_len);
	if (match && rec != NULL && !rec->disabled) {
		/*
		 * The view gets this read (the newest) before anything is
		 * issued from it, so that this worker verifies what it
		 * issues by the same record and generation.
		 */
		auth_done(op, CLIENT_AUTH_OK, view_learn_client(
		    req->worker->view, rec, res, op->sent_us));
		return;
	}
	op->reason = rec == NULL ? "unknown_client" : rec->disabled ?
	    "disabled" : "wrong_secret";
	client_record_free(rec);
	authfail_count(&op->fail, req, op->creds.id, op->reason, auth_counted,
	    op);
}

/* Answer at once, from inside client_auth_verify(). */
static void
answer_now(struct request *req, struct client_creds *creds,
    client_auth_cb cb, void *arg, enum client_auth_result result,
    const struct client_record *rec)
{
	if (result == CLIENT_AUTH_OK)
		view_client_issuing(req->worker->view, rec, now_usec());
	else if (result == CLIENT_AUTH_INVALID)
		metrics_auth_failure(&req->worker->metrics);
	else if (result == CLIENT_AUTH_LIMITED)
		metrics_auth_rate_limited(&req->worker->metrics);
	client_creds_finish(creds);
	request_hold(req);
	cb(req, result, rec, arg);
	request_release(req);
}

int
client_auth_verify(struct request *req, struct client_creds *creds,
    client_auth_cb cb, void *arg)
{
	struct worker			*w = req->worker;
	const struct config		*cfg = w->cfg;
	const struct client_record	*rec;
	struct auth_op			*op;
	bool				 match, counter = false;
	int				 rc;

	/* Failures are counted in Redis: without it, 503. */
	if (!store_is_up(w->store))
		return -1;
	/*
	 * A view that is not in sync (the first read after start, or a
	 * re-read after a reconnect, not finished) may lack a change (a
	 * rotated secret, a disable, a lock): read everything from Redis,
	 * the record and the address counter in one round trip.
	 */
	if (!view_in_sync(w->view)) {
		counter = cfg->auth_fail_limit > 0;
		goto redis;
	}
	/* Over the limit: no record, no secret check. */
	if (authfail_locked(req)) {
		answer_now(req, creds, cb, arg, CLIENT_AUTH_LIMITED, NULL);
		return 0;
	}
	/*
	 * The view's record: a match on an enabled client is answered at
	 * once, with no Redis command. Anything else (no record, a wrong
	 * secret, disabled) reads the record from Redis and checks again,
	 * so that every failure (unknown, disabled, wrong secret) costs one
	 * hash check, one HGETALL, one decode and one more hash check, and
	 * a change the view has not heard of yet (a new client, a rotated
	 * secret) counts as soon as Redis has it.
	 */
	rec = view_client(w->view, creds->id);
	match = secret_key_check(rec != NULL ? rec->secret_key : NULL,
	    creds->secret, creds->secret_len);
	if (match && rec != NULL && !rec->disabled) {
		answer_now(req, creds, cb, arg, CLIENT_AUTH_OK, rec);
		return 0;
	}

redis:
	op = xcalloc(1, sizeof(*op));
	op->req = req;
	op->creds = *creds;
	memset(creds, 0, sizeof(*creds));
	op->cb = cb;
	op->arg = arg;
	request_hold(req);
	op->sent_us = now_usec();
	if (counter)
		rc = db_client_lookup(w->store, &op->lookup, cfg->prefix,
		    op->creds.id, req->client, cfg->auth_fail_limit,
		    auth_looked_up, op);
	else
		rc = db_client_get(w->store, &op->lookup, cfg->prefix,
		    op->creds.id, auth_looked_up, op);
	if (rc == -1) {
		/* Give the credentials back so the caller's cleanup frees them. */
		*creds = op->creds;
		free(op);
		request_release(req);
		return -1;
	}
	return 0;
}

void
client_auth_reply_limited(struct request *req, int flags)
{
	char	 ra[16], desc[96];

	snprintf(ra, sizeof(ra), "%d", req->retry_after);
	snprintf(desc, sizeof(desc), "too many failed client "
	    "authentications; retry after %d s", req->retry_after);
	reply_header(req, "Retry-After", ra);
	reply_error(req, 429, "too_many_requests", desc, flags);
}

void
client_auth_reply_invalid(struct request *req, int flags)
{
	reply_header(req, "WWW-Authenticate", "Basic realm=\"tokend\"");
	reply_error(req, 401, "invalid_client", "client authentication failed",
	    flags);
}

int
client_auth_form(struct request *req, struct params *p,
    struct client_creds *creds, int flags)
{
	const char		*body;
	size_t			 len;
	enum params_result	 pr;

	memset(creds, 0, sizeof(*creds));
	if (!request_content_type_is(req,
	    "application/x-www-form-urlencoded")) {
		reply_error(req, 400, "invalid_request", "the body must be "
		    "application/x-www-form-urlencoded", flags);
		return -1;
	}
	body = request_body(req, &len);
	if ((pr = params_parse_form(p, body != NULL ? body : "", len)) !=
	    PARAMS_OK) {
		reply_error(req, 400, "invalid_request",
		    pr == PARAMS_DUPLICATE ? "a parameter is repeated" :
		    "malformed form body", flags);
		return -1;
	}
	switch (client_auth_extract(req, p, creds)) {
	case CREDS_OK:
		return 0;
	case CREDS_BOTH:
		reply_error(req, 400, "invalid_request", "use one client "
		    "authentication method, not two", flags);
		return -1;
	case CREDS_NONE:
	case CREDS_MALFORMED:
	case CREDS_INCOMPLETE:
		break;
	}
	client_auth_log_failure(req, params_get(p, "client_id"),
	    "credentials");
	client_auth_reply_invalid(req, flags);
	return -1;
}

void
client_auth_log_failure(const struct request *req, const char *client_id,
    const char *reason)
{
	metrics_auth_failure(&req->worker->metrics);
	authfail_log(req, client_id, reason, -1, -1);
}
