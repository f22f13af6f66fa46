/*
 * handler_authorize: POST /authorize, the original Node.js service's
 * issuing call, kept for its users.
 *
 * Body: JSON {"client_id","client_secret"} (form encoding accepted too;
 * without a Content-Type, a body starting with '{' is read as JSON).
 *   200 {"success":true,"client_id":"...","token":"<jwt>"}  the same token
 *       /oauth/token issues, with all of the client's scopes
 *   401 {"success":false,"error":"invalid_client"}
 *   400 {"success":false,"error":"invalid_request"}  unreadable body
 *   429 {"success":false,"error":"too_many_requests"}  the source address
 *       is over --auth-fail-limit; with Retry-After
 *   400 {"success":false,"error":"invalid_dpop_proof"}  a dpop_bound
 *       client: this endpoint takes no DPoP proof, and its tokens would
 *       be plain Bearer tokens
 *   503 {"success":false,"error":"temporarily_unavailable"}
 */
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "client_auth.h"
#include "client_record.h"
#include "handler.h"
#include "issue.h"
#include "log.h"
#include "metrics.h"
#include "params.h"
#include "reply.h"
#include "request.h"
#include "worker.h"

static void
legacy_error(struct request *req, int status, const char *error)
{
	struct json_object	*obj = json_object_new_object();
	char			 ra[16];

	json_object_object_add(obj, "success", json_object_new_boolean(0));
	json_object_object_add(obj, "error", json_object_new_string(error));
	if (status == 503)
		reply_header(req, "Retry-After", "1");
	if (status == 429) {
		snprintf(ra, sizeof(ra), "%d", req->retry_after);
		reply_header(req, "Retry-After", ra);
	}
	reply_json(req, status, obj, REPLY_NO_STORE);
}

static void
authorize_authenticated(struct request *req, enum client_auth_result result,
    const struct client_record *rec, void *arg)
{
	struct issued		 t;
	struct json_object	*obj;
	time_t			 now;

	(void)arg;
	if (result == CLIENT_AUTH_UNAVAILABLE) {
		legacy_error(req, 503, "temporarily_unavailable");
		return;
	}
	if (result == CLIENT_AUTH_INVALID) {
		legacy_error(req, 401, "invalid_client");
		return;
	}
	if (result == CLIENT_AUTH_LIMITED) {
		legacy_error(req, 429, "too_many_requests");
		return;
	}
	if (req->gone)
		return;
	if (rec->dpop_bound) {
		log_info("event=dpop_proof_refused reason=missing client_id=%s "
		    "request_id=%s", rec->id, req->request_id);
		legacy_error(req, 400, "invalid_dpop_proof");
		return;
	}
	now = time(NULL);
	if (!handler_issuable(req, rec, now)) {
		legacy_error(req, 503, "temporarily_unavailable");
		return;
	}
	if (issue_token(req->worker->cfg, req->worker->keys, rec, NULL,
	    NULL, 0, now, &t) != ISSUE_OK) {
		legacy_error(req, 500, "server_error");
		return;
	}
	obj = json_object_new_object();
	json_object_object_add(obj, "success", json_object_new_boolean(1));
	json_object_object_add(obj, "client_id",
	    json_object_new_string(rec->id));
	json_object_object_add(obj, "token", json_object_new_string(t.jws));
	log_info("event=token_issued client_id=%s jti=%s expires_in=%ld "
	    "via=authorize request_id=%s", rec->id, t.jti, t.expires_in,
	    req->request_id);
	metrics_token_issued(&req->worker->metrics, rec->id);
	reply_json(req, 200, obj, REPLY_NO_STORE);
	issued_finish(&t);
}

static bool
looks_like_json(const char *body, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++) {
		if (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' ||
		    body[i] == '\n')
			continue;
		return body[i] == '{';
	}
	return false;
}

void
handler_authorize(struct request *req)
{
	struct params		 p;
	struct client_creds	 creds;
	const char		*body;
	size_t			 len;
	enum params_result	 pr;
	bool			 json;

	params_init(&p);
	memset(&creds, 0, sizeof(creds));
	body = request_body(req, &len);
	if (body == NULL)
		body = "";
	if (request_content_type_is(req, "application/json"))
		json = true;
	else if (request_content_type_is(req,
	    "application/x-www-form-urlencoded"))
		json = false;
	else if (!request_has_content_type(req))
		json = looks_like_json(body, len);
	else {
		legacy_error(req, 400, "invalid_request");
		goto out;
	}
	pr = json ? params_parse_json(&p, body, len) :
	    params_parse_form(&p, body, len);
	if (pr != PARAMS_OK) {
		legacy_error(req, 400, "invalid_request");
		goto out;
	}
	switch (client_auth_extract(req, &p, &creds)) {
	case CREDS_OK:
		/* the legacy endpoint stays secret-only: counted, refused */
		if (creds.via == CREDS_VIA_ASSERTION)
			client_auth_refused(&p, "wrong_method", &creds);
		break;
	case CREDS_BOTH:
		legacy_error(req, 400, "invalid_request");
		goto out;
	case CREDS_MALFORMED:
	case CREDS_INCOMPLETE:
		/* a failed authentication: counted like a wrong secret */
		client_auth_refused(&p, "credentials", &creds);
		break;
	case CREDS_NONE:
		/* no credentials at all: nothing was tried or counted */
		client_auth_log_failure(req, params_get(&p, "client_id"),
		    "credentials");
		legacy_error(req, 401, "invalid_client");
		goto out;
	}
	if (client_auth_verify(req, &creds, authorize_authenticated,
	    NULL) == -1)
		legacy_error(req, 503, "temporarily_unavailable");
out:
	client_creds_finish(&creds);
	params_finish(&p);
}
