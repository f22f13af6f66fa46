/*
 * handler: what more than one endpoint does the same way. Each endpoint
 * lives in its own handler_*.c file; an answer or a front half two of them
 * share is written here once, so that it stays the same everywhere:
 *   - handler_unavailable(): the 503 of every endpoint that needs Redis;
 *   - handler_issuable(): whether the issuing endpoints may issue to a
 *     client now, by the rules their own verification applies;
 *   - handler_with_token(): the front half of /oauth/introspect and
 *     /oauth/revoke: authenticate the caller as a client (Basic or body, as
 *     /oauth/token), take the `token` form parameter (`token_type_hint` is
 *     accepted and ignored: there is one kind of token) and run the
 *     verification pipeline; the endpoint's answer function takes it from
 *     there.
 *
 * Left to others: building the body (reply.c), what each endpoint answers
 * (the handlers). Nothing here keeps state beyond one request.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client_auth.h"
#include "client_record.h"
#include "config.h"
#include "log.h"
#include "handler.h"
#include "params.h"
#include "reply.h"
#include "request.h"
#include "secret.h"
#include "util.h"
#include "verify.h"
#include "worker.h"

/* /oauth/introspect and /oauth/revoke answer with Cache-Control: no-store. */
#define OP_FLAGS	REPLY_NO_STORE

void
handler_unavailable(struct request *req, int flags)
{
	reply_header(req, "Retry-After", "1");
	reply_error(req, 503, "temporarily_unavailable",
	    "the client store cannot be reached", flags);
}

struct token_op {
	handler_token_answer	 answer;
	char			*token;
	size_t			 token_len;
};

static void
op_free(struct token_op *op)
{
	if (op == NULL)
		return;
	if (op->token != NULL) {
		secret_wipe(op->token, op->token_len);
		free(op->token);
	}
	free(op);
}

static void
op_authenticated(struct request *req, enum client_auth_result result,
    const struct client_record *caller, void *arg)
{
	struct token_op		*op = arg;
	struct verify_outcome	 v;

	memset(&v, 0, sizeof(v));
	switch (result) {
	case CLIENT_AUTH_UNAVAILABLE:
		handler_unavailable(req, OP_FLAGS);
		goto out;
	case CLIENT_AUTH_INVALID:
		client_auth_reply_invalid(req, OP_FLAGS);
		goto out;
	case CLIENT_AUTH_LIMITED:
		client_auth_reply_limited(req, OP_FLAGS);
		goto out;
	case CLIENT_AUTH_OK:
		break;
	}
	if (req->gone)
		goto out;
	verify_token(req->worker, op->token, op->token_len, time(NULL),
	    &v);
	op->answer(req, caller, &v);
out:
	verify_outcome_finish(&v);
	op_free(op);
}

void
handler_with_token(struct request *req, handler_token_answer answer)
{
	struct params		 p;
	struct client_creds	 creds;
	struct token_op		*op;
	const char		*token;

	params_init(&p);
	memset(&creds, 0, sizeof(creds));
	if (client_auth_form(req, &p, &creds, OP_FLAGS) == -1)
		goto out;
	token = params_get(&p, "token");
	if (token == NULL || token[0] == '\0') {
		reply_error(req, 400, "invalid_request", "token is required",
		    OP_FLAGS);
		goto out;
	}
	op = xcalloc(1, sizeof(*op));
	op->answer = answer;
	op->token_len = strlen(token);
	op->token = xstrdup(token);
	if (client_auth_verify(req, &creds, op_authenticated, op) == -1) {
		op_free(op);
		handler_unavailable(req, OP_FLAGS);
	}
out:
	client_creds_finish(&creds);
	params_finish(&p);
}

bool
handler_issuable(struct request *req, const struct client_record *rec,
    time_t now)
{
	struct verify_outcome	 v;

	memset(&v, 0, sizeof(v));
	v.result = verify_issuable(rec, now, req->worker->cfg->leeway);
	if (v.result == VERIFY_OK)
		return true;
	log_warnx("event=issue_refused client_id=%s reason=%s request_id=%s",
	    rec->id, verify_reason(&v), req->request_id);
	return false;
}
