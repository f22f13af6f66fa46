/*
 * handler_introspect: POST /oauth/introspect (RFC 7662), and the front
 * half it shares with POST /oauth/revoke (handler_revoke.c),
 * handler_with_token(): authenticate the caller as a client (Basic or
 * body, as /oauth/token), take a `token` form parameter
 * (`token_type_hint` is accepted and ignored: there is one kind of token)
 * and run the shared verification pipeline; the endpoint's answer
 * function takes it from there.
 *
 * Introspection: {"active":true, scope, client_id, token_type, exp, iat,
 * sub, aud, iss, jti} for a valid token of the caller's own, or of anyone's
 * when the caller's record has the introspect permission; {"active":false}
 * for anything else (invalid, expired, revoked, unknown, or another
 * client's token without the permission).
 *
 * Both endpoints fail closed with 503 while the view of the store is not
 * in sync (beyond --verify-grace), and answer with Cache-Control:
 * no-store.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "client_auth.h"
#include "client_record.h"
#include "handler.h"
#include "jsonw.h"
#include "metrics.h"
#include "params.h"
#include "reply.h"
#include "request.h"
#include "secret.h"
#include "util.h"
#include "verify.h"
#include "worker.h"

#define OP_FLAGS	REPLY_NO_STORE

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
inactive(struct request *req)
{
	struct json_object	*obj = json_object_new_object();

	json_object_object_add(obj, "active", json_object_new_boolean(0));
	reply_json(req, 200, obj, OP_FLAGS);
}

static void
introspect_answer(struct request *req, const struct client_record *caller,
    const struct verify_outcome *v)
{
	static const char *const members[] = {
		"scope", "client_id", "exp", "iat", "sub", "aud", "iss", "jti",
	};
	struct json_object	*m;
	struct jsonw		 w;
	size_t			 i;

	if (v->result != VERIFY_OK ||
	    (strcmp(v->claims->client_id, caller->id) != 0 &&
	    !caller->introspect)) {
		inactive(req);
		return;
	}
	/* By hand (jsonw.h): a json-c object costs more than the answer. */
	jsonw_init(&w, 1024);
	jsonw_lit(&w, "{\"active\":true,\"token_type\":\"Bearer\"");
	w.first = false;
	for (i = 0; i < nitems(members); i++) {
		if (!json_object_object_get_ex(v->claims->payload, members[i],
		    &m))
			continue;
		jsonw_key(&w, members[i]);
		reply_put_json(&w, m);
	}
	jsonw_end(&w);
	reply_raw_json(req, 200, w.buf, w.len, OP_FLAGS);
	jsonw_free(&w);
}

/* handler_with_token()'s answer for /oauth/introspect. */
static void
introspect_outcome(struct request *req, const struct client_record *caller,
    const struct verify_outcome *v)
{
	if (v->result != VERIFY_OK)
		metrics_verify_failure(&req->worker->metrics,
		    verify_reason(v));
	if (v->result == VERIFY_UNAVAILABLE)
		handler_unavailable(req, OP_FLAGS);
	else
		introspect_answer(req, caller, v);
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

void
handler_introspect(struct request *req)
{
	handler_with_token(req, introspect_outcome);
}
