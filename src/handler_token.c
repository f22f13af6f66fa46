/*
 * handler_token: POST /oauth/token, the client credentials grant
 * (RFC 6749 sections 4.4, 2.3.1, 5).
 *
 * Order of checks, each with its RFC 6749 5.2 error:
 *   body not form-urlencoded, malformed or with a repeated parameter,
 *   credentials both in Basic and the body
 *                                         400 invalid_request
 *   no or malformed credentials           401 invalid_client + Basic challenge
 *   grant_type missing                    400 invalid_request
 *   grant_type other than client_credentials
 *                                         400 unsupported_grant_type
 *   unknown, disabled or wrong credentials
 *                                         401 invalid_client + Basic challenge
 *   the source address over --auth-fail-limit
 *                                         429 too_many_requests + Retry-After
 *   scope not within the client's        400 invalid_scope
 *   a resource (RFC 8707, repeatable) not among the client's audiences
 *                                         400 invalid_target
 *   store unreachable                     503 temporarily_unavailable
 * Every answer carries Cache-Control: no-store and Pragma: no-cache.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_auth.h"
#include "client_record.h"
#include "handler.h"
#include "issue.h"
#include "jsonw.h"
#include "log.h"
#include "metrics.h"
#include "params.h"
#include "reply.h"
#include "request.h"
#include "util.h"
#include "worker.h"

#define TOKEN_FLAGS	REPLY_NO_STORE

struct token_op {
	char	*scope;		/* the scope parameter, or NULL */
	/* the resource parameters (RFC 8707), n_resources of them */
	char	*resources[ISSUE_RESOURCES_MAX];
	size_t	 n_resources;
};

static void
token_op_free(struct token_op *op)
{
	size_t	 i;

	for (i = 0; i < op->n_resources; i++)
		free(op->resources[i]);
	free(op->scope);
	free(op);
}

static void
token_authenticated(struct request *req, enum client_auth_result result,
    const struct client_record *rec, void *arg)
{
	struct token_op		*op = arg;
	struct issued		 t;
	struct jsonw		 w;
	time_t			 now;

	switch (result) {
	case CLIENT_AUTH_UNAVAILABLE:
		handler_unavailable(req, TOKEN_FLAGS);
		goto out;
	case CLIENT_AUTH_INVALID:
		client_auth_reply_invalid(req, TOKEN_FLAGS);
		goto out;
	case CLIENT_AUTH_LIMITED:
		client_auth_reply_limited(req, TOKEN_FLAGS);
		goto out;
	case CLIENT_AUTH_OK:
		break;
	}
	if (req->gone)
		goto out;
	now = time(NULL);
	if (!handler_issuable(req, rec, now)) {
		reply_header(req, "Retry-After", "1");
		reply_error(req, 503, "temporarily_unavailable", "the client's "
		    "record cannot be issued a token now", TOKEN_FLAGS);
		goto out;
	}
	/* RFC 8705 3: a certificate-authenticated client's token is bound. */
	switch (issue_token_bound(req->worker->cfg, req->worker->keys, rec,
	    op->scope, (const char *const *)op->resources, op->n_resources,
	    now, req->cnf_x5t[0] != '\0' ? req->cnf_x5t : NULL, &t)) {
	case ISSUE_INVALID_SCOPE:
		reply_error(req, 400, "invalid_scope", "the requested scope "
		    "is invalid or exceeds the client's scopes", TOKEN_FLAGS);
		goto out;
	case ISSUE_INVALID_TARGET:
		reply_error(req, 400, "invalid_target", "a requested resource "
		    "is not among the client's audiences", TOKEN_FLAGS);
		goto out;
	case ISSUE_ERROR:
		reply_error(req, 500, "server_error", NULL, TOKEN_FLAGS);
		goto out;
	case ISSUE_OK:
		break;
	}
	/* By hand (jsonw.h): a json-c object costs more than the answer. */
	jsonw_init(&w, strlen(t.jws) + 128);
	jsonw_begin(&w);
	jsonw_key(&w, "access_token");
	/* A compact JWS is base64url and dots: nothing to escape. */
	jsonw_raw(&w, "\"", 1);
	jsonw_raw(&w, t.jws, strlen(t.jws));
	jsonw_raw(&w, "\"", 1);
	jsonw_key(&w, "token_type");
	jsonw_str(&w, "Bearer");
	jsonw_key(&w, "expires_in");
	jsonw_int(&w, t.expires_in);
	if (t.scope != NULL) {
		jsonw_key(&w, "scope");
		jsonw_str(&w, t.scope);
	}
	jsonw_end(&w);
	log_info("event=token_issued client_id=%s jti=%s expires_in=%ld "
	    "via=token request_id=%s", rec->id, t.jti, t.expires_in,
	    req->request_id);
	metrics_token_issued(&req->worker->metrics, rec->id);
	reply_raw_json(req, 200, w.buf, w.len, TOKEN_FLAGS);
	jsonw_free(&w);
	issued_finish(&t);
out:
	token_op_free(op);
}

void
handler_token(struct request *req)
{
	struct params		 p;
	struct client_creds	 creds;
	static const char *const repeatable[] = { "resource", NULL };
	struct token_op		*op;
	const char		*grant, *scope;
	const char		*res[ISSUE_RESOURCES_MAX];
	size_t			 i, n;

	params_init(&p);
	params_allow_repeat(&p, repeatable);
	memset(&creds, 0, sizeof(creds));
	if (client_auth_form(req, &p, &creds, TOKEN_FLAGS) == -1)
		goto out;
	grant = params_get(&p, "grant_type");
	if (grant == NULL || grant[0] == '\0') {
		reply_error(req, 400, "invalid_request",
		    "grant_type is required", TOKEN_FLAGS);
		goto out;
	}
	if (strcmp(grant, "client_credentials") != 0) {
		reply_error(req, 400, "unsupported_grant_type",
		    "only client_credentials is supported", TOKEN_FLAGS);
		goto out;
	}
	op = xcalloc(1, sizeof(*op));
	/* RFC 6749 3.2: a parameter without a value is omitted. */
	scope = params_get(&p, "scope");
	op->scope = scope != NULL && scope[0] != '\0' ? xstrdup(scope) : NULL;
	/* PARAMS_MAX bounds them: more than the record could list anyway */
	n = params_get_all(&p, "resource", res, ISSUE_RESOURCES_MAX);
	for (i = 0; i < n && i < ISSUE_RESOURCES_MAX; i++)
		op->resources[op->n_resources++] = xstrdup(res[i]);
	if (client_auth_verify(req, &creds, token_authenticated, op) == -1) {
		token_op_free(op);
		handler_unavailable(req, TOKEN_FLAGS);
	}
out:
	client_creds_finish(&creds);
	params_finish(&p);
}
