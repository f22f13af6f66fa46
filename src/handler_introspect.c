/*
 * handler_introspect: POST /oauth/introspect (RFC 7662). The front half,
 * shared with POST /oauth/revoke, is handler_with_token() (handler.c):
 * the caller authenticated as a client, the `token` parameter verified;
 * introspect_outcome() answers from there.
 *
 * Introspection: {"active":true, scope, client_id, token_type, exp, iat,
 * sub, aud, iss, jti, cnf} (token_type "DPoP" for a token with cnf.jkt) for a valid token of the caller's own, or of anyone's
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

#include "client_record.h"
#include "handler.h"
#include "jsonw.h"
#include "metrics.h"
#include "reply.h"
#include "request.h"
#include "util.h"
#include "verify.h"
#include "worker.h"

#define OP_FLAGS	REPLY_NO_STORE

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
		"cnf",
	};
	struct json_object	*m;
	struct jsonw		 w;
	size_t			 i;
	bool			 bad_cnf;

	if (v->result != VERIFY_OK ||
	    (strcmp(v->claims->client_id, caller->id) != 0 &&
	    !caller->introspect)) {
		inactive(req);
		return;
	}
	/* By hand (jsonw.h): a json-c object costs more than the answer. */
	jsonw_init(&w, 1024);
	/* RFC 9449 6.2: a DPoP-bound token says so, and its cnf */
	if (token_claims_cnf_jkt(v->claims, &bad_cnf) != NULL)
		jsonw_lit(&w, "{\"active\":true,\"token_type\":\"DPoP\"");
	else
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

void
handler_introspect(struct request *req)
{
	handler_with_token(req, introspect_outcome);
}
