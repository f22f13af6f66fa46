/*
 * client_auth: extract client credentials from a request and verify them
 * against the client record in Redis.
 *
 * Uniform failure path: whatever the reason (no record, a record that does
 * not decode, a disabled client, a wrong secret), the secret is hashed and
 * compared once, against the record's hash or a dummy one, and only then is
 * the outcome decided, so the time taken does not tell the reasons apart.
 * The lookup is one HGETALL; Redis answers an unknown key with an empty
 * array as fast as a known one.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_auth.h"
#include "client_record.h"
#include "config.h"
#include "log.h"
#include "params.h"
#include "reply.h"
#include "request.h"
#include "secret.h"
#include "store.h"
#include "util.h"
#include "view.h"
#include "worker.h"

void
client_creds_finish(struct client_creds *c)
{
	free(c->id);
	if (c->secret != NULL) {
		secret_wipe(c->secret, c->secret_len);
		free(c->secret);
	}
	memset(c, 0, sizeof(*c));
}

enum client_creds_result
client_auth_extract(const struct request *req, const struct params *params,
    struct client_creds *creds)
{
	const char	*auth, *body_id = NULL, *body_secret = NULL;
	char		*id = NULL, *secret = NULL;

	memset(creds, 0, sizeof(*creds));
	auth = request_header(req, "Authorization");
	if (params != NULL) {
		body_id = params_get(params, "client_id");
		body_secret = params_get(params, "client_secret");
		/* RFC 6749 3.2: a parameter without a value is omitted. */
		if (body_id != NULL && body_id[0] == '\0')
			body_id = NULL;
		if (body_secret != NULL && body_secret[0] == '\0')
			body_secret = NULL;
	}
	if (auth != NULL) {
		/* RFC 6749 2.3: one authentication method per request. */
		if (body_secret != NULL)
			return CREDS_BOTH;
		if (params_parse_basic(auth, &id, &secret) != PARAMS_OK)
			return CREDS_MALFORMED;
		/* A client_id in the body must name the same client. */
		if (body_id != NULL && strcmp(body_id, id) != 0) {
			free(id);
			secret_free_str(secret);
			return CREDS_BOTH;
		}
		creds->method = CLIENT_AUTH_BASIC;
	} else {
		if (body_id == NULL && body_secret == NULL)
			return CREDS_NONE;
		if (body_id == NULL || body_secret == NULL)
			return CREDS_INCOMPLETE;
		id = xstrdup(body_id);
		secret = xstrdup(body_secret);
		creds->method = CLIENT_AUTH_POST;
	}
	creds->id = id;
	creds->secret = secret;
	creds->secret_len = strlen(secret);
	/* RFC 6749 appendix A: both are VSCHAR. */
	if (!params_is_vschar(id, strlen(id)) ||
	    !params_is_vschar(secret, creds->secret_len)) {
		client_creds_finish(creds);
		return CREDS_MALFORMED;
	}
	return CREDS_OK;
}

struct auth_op {
	struct request		*req;
	struct client_creds	 creds;
	client_auth_cb		 cb;
	void			*arg;
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
	for (i = 0; i < nitems(fields); i++) {
		flens[i] = strlen(fields[i]);
		vlens[i] = strlen(values[i]);
	}
	if (client_record_decode("-", nitems(fields), fields, flens, values,
	    vlens, &rec, NULL, 0) == 0)
		client_record_free(rec);
}

static void
auth_looked_up(enum store_status status, const struct redisReply *reply,
    void *arg)
{
	struct auth_op		*op = arg;
	struct request		*req = op->req;
	struct client_record	*rec = NULL;
	enum client_auth_result	 result;
	bool			 match;

	if (status != STORE_OK || store_reply_is_error(reply)) {
		result = CLIENT_AUTH_UNAVAILABLE;
		goto done;
	}
	if (!req->gone && (rec = view_decode_record(op->creds.id, reply)) == NULL)
		decode_dummy_record();
	/* One hash check on every path; decide only afterwards. */
	match = secret_hash_check(rec != NULL ? rec->secret_hash :
	    secret_dummy_hash(), op->creds.secret, op->creds.secret_len);
	if (match && rec != NULL && !rec->disabled) {
		result = CLIENT_AUTH_OK;
	} else {
		result = CLIENT_AUTH_INVALID;
		client_auth_log_failure(req, op->creds.id, rec == NULL ?
		    "unknown_client" : rec->disabled ? "disabled" :
		    "wrong_secret");
		client_record_free(rec);
		rec = NULL;
	}
done:
	client_creds_finish(&op->creds);
	op->cb(req, result, rec, op->arg);
	free(op);
	request_release(req);
}

int
client_auth_verify(struct request *req, struct client_creds *creds,
    client_auth_cb cb, void *arg)
{
	const struct config	*cfg = req->worker->cfg;
	struct auth_op		*op;
	const char		*argv[2];
	size_t			 argvlen[2];
	char			*key;
	size_t			 plen = strlen(cfg->prefix), idlen;
	int			 rc;

	idlen = strlen(creds->id);
	key = xmalloc(plen + sizeof("client:") - 1 + idlen + 1);
	memcpy(key, cfg->prefix, plen);
	memcpy(key + plen, "client:", sizeof("client:") - 1);
	memcpy(key + plen + sizeof("client:") - 1, creds->id, idlen + 1);

	op = xcalloc(1, sizeof(*op));
	op->req = req;
	op->creds = *creds;
	memset(creds, 0, sizeof(*creds));
	op->cb = cb;
	op->arg = arg;
	argv[0] = "HGETALL";
	argvlen[0] = 7;
	argv[1] = key;
	argvlen[1] = strlen(key);
	request_hold(req);
	rc = store_command_argv(req->worker->store, auth_looked_up, op, 2,
	    argv, argvlen);
	free(key);
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
	char	 q[80];

	log_info("event=auth_failed client_id=\"%s\" reason=%s client=%s "
	    "path=%s", log_quote(q, sizeof(q), client_id != NULL ? client_id :
	    ""), reason, req->peer, req->path);
}
