/*
 * handler_introspect: POST /oauth/introspect (RFC 7662) and
 * POST /oauth/revoke (RFC 7009). Both authenticate the caller as a client
 * (Basic or body, as /oauth/token), take a `token` form parameter
 * (`token_type_hint` is accepted and ignored: there is one kind of token)
 * and run the shared verification pipeline.
 *
 * Introspection: {"active":true, scope, client_id, token_type, exp, iat,
 * sub, aud, iss, jti} for a valid token of the caller's own, or of anyone's
 * when the caller's record has the introspect permission; {"active":false}
 * for anything else (invalid, expired, revoked, unknown, or another
 * client's token without the permission).
 *
 * Revocation: a client revokes only its own tokens. 200 {} for a revoked
 * token and for an invalid or unknown one (RFC 7009 2.2); another client's
 * valid token is refused with 400 unauthorized_client (2.1) and stays
 * valid. A revocation is written (db_revoke()) as P revoked:JTI = exp,
 * expiring when the token could no longer pass anyway (exp + --leeway),
 * and published on P events, so every instance drops the token within a
 * second; this instance's view is updated at once.
 *
 * Both fail closed with 503 while the view of the store is not in sync
 * (beyond --verify-grace), and answer with Cache-Control: no-store.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "client_auth.h"
#include "client_record.h"
#include "config.h"
#include "db.h"
#include "handler.h"
#include "jsonw.h"
#include "log.h"
#include "metrics.h"
#include "params.h"
#include "reply.h"
#include "request.h"
#include "store.h"
#include "util.h"
#include "verify.h"
#include "view.h"
#include "worker.h"

#define OP_FLAGS	REPLY_NO_STORE

enum op_kind {
	OP_INTROSPECT,
	OP_REVOKE,
};

struct token_op {
	enum op_kind	 kind;
	char		*token;
	size_t		 token_len;
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

struct revoke_write {
	struct request	*req;
	char		*jti;
	int64_t		 exp;
	struct db_op	 db;
};

static void
revoke_done(enum db_status status, void *arg)
{
	struct revoke_write	*rw = arg;
	struct request		*req = rw->req;

	if (status == DB_ERR_REPLICA)
		log_warnx("event=revoke_not_replicated jti=%s", rw->jti);
	if (status != DB_OK) {
		handler_unavailable(req, OP_FLAGS);
	} else {
		view_add_revocation(req->worker->view, rw->jti, rw->exp);
		log_info("event=token_revoked jti=%s request_id=%s", rw->jti,
		    req->request_id);
		reply_json(req, 200, json_object_new_object(), OP_FLAGS);
	}
	free(rw->jti);
	free(rw);
	request_release(req);
}

static void
revoke_answer(struct request *req, const struct client_record *caller,
    const struct verify_outcome *v)
{
	const struct config	*cfg = req->worker->cfg;
	struct revoke_write	*rw;

	switch (v->result) {
	case VERIFY_OK:
		break;
	case VERIFY_REVOKED:
		/*
		 * Sentinel mode: the revocation we know of may have reached
		 * the master only (an earlier request got 503 from WAIT), so
		 * write it again and wait for a replica before saying 200.
		 */
		if (store_is_sentinel(req->worker->store) &&
		    strcmp(v->claims->client_id, caller->id) == 0)
			break;
		reply_json(req, 200, json_object_new_object(), OP_FLAGS);
		return;
	case VERIFY_UNAVAILABLE:
		handler_unavailable(req, OP_FLAGS);
		return;
	default:
		/* RFC 7009 2.2: invalid, expired or already revoked: 200. */
		reply_json(req, 200, json_object_new_object(), OP_FLAGS);
		return;
	}
	if (strcmp(v->claims->client_id, caller->id) != 0) {
		reply_error(req, 400, "unauthorized_client", "a client may "
		    "revoke only its own tokens", OP_FLAGS);
		return;
	}
	/* Our jtis are 22 characters; a longer one is not ours to store. */
	if (strlen(v->claims->jti) > 128) {
		reply_json(req, 200, json_object_new_object(), OP_FLAGS);
		return;
	}
	rw = xcalloc(1, sizeof(*rw));
	rw->req = req;
	rw->jti = xstrdup(v->claims->jti);
	rw->exp = v->claims->exp;
	request_hold(req);
	if (db_revoke(req->worker->store, &rw->db, cfg->prefix, rw->jti,
	    rw->exp, cfg->leeway, revoke_done, rw) == -1) {
		request_release(req);
		free(rw->jti);
		free(rw);
		handler_unavailable(req, OP_FLAGS);
	}
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
	verify_token(req->worker, op->token, op->token_len, &v);
	if (op->kind == OP_INTROSPECT)
		metrics_verify_failure(&req->worker->metrics, &v);
	if (v.result == VERIFY_UNAVAILABLE) {
		handler_unavailable(req, OP_FLAGS);
		goto out;
	}
	if (op->kind == OP_INTROSPECT)
		introspect_answer(req, caller, &v);
	else
		revoke_answer(req, caller, &v);
out:
	verify_outcome_finish(&v);
	op_free(op);
}

static void
token_op_start(struct request *req, enum op_kind kind)
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
	op->kind = kind;
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
	token_op_start(req, OP_INTROSPECT);
}

void
handler_revoke(struct request *req)
{
	token_op_start(req, OP_REVOKE);
}
