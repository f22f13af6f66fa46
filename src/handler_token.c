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
 * DPoP (RFC 9449): more than one DPoP header, or a proof that fails
 * dpop_proof_check() (htm POST, htu the token endpoint of the metadata),
 * is 400 invalid_dpop_proof before the client is authenticated; a client
 * whose record is dpop_bound asking without a proof, and a proof whose
 * jti the store has seen within its window (db_dpop_jti_use(): every
 * instance), are 400 invalid_dpop_proof after. The token is signed
 * before the jti is claimed and dropped unseen when the claim fails, so
 * that the claim is the last step before the answer. With a proof the
 * answer's token_type is "DPoP" and the token carries cnf.jkt.
 * Every answer carries Cache-Control: no-store and Pragma: no-cache.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_auth.h"
#include "client_record.h"
#include "db.h"
#include "dpop.h"
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
	char			*scope;		/* the scope parameter, or NULL */
	/* the resource parameters (RFC 8707), n_resources of them */
	char			*resources[ISSUE_RESOURCES_MAX];
	size_t			 n_resources;
	bool			 dpop;		/* a valid proof came */
	struct dpop_proof	 proof;		/* when dpop */
	/* while the proof's jti is claimed (db_dpop_jti_use()) */
	struct request		*req;		/* held */
	struct db_op		 db;
	struct issued		 t;		/* owned */
	char			*client_id;	/* owned */
};

static void
token_op_free(struct token_op *op)
{
	size_t	 i;

	for (i = 0; i < op->n_resources; i++)
		free(op->resources[i]);
	issued_finish(&op->t);
	free(op->client_id);
	free(op->scope);
	free(op);
}

static void
dpop_refused(struct request *req, const char *description)
{
	reply_error(req, 400, "invalid_dpop_proof", description, TOKEN_FLAGS);
}

/* The 200 answer with the token t issued to client_id. */
static void
token_reply(struct request *req, const struct issued *t,
    const char *client_id, bool dpop)
{
	struct jsonw	 w;

	/* By hand (jsonw.h): a json-c object costs more than the answer. */
	jsonw_init(&w, strlen(t->jws) + 128);
	jsonw_begin(&w);
	jsonw_key(&w, "access_token");
	/* A compact JWS is base64url and dots: nothing to escape. */
	jsonw_raw(&w, "\"", 1);
	jsonw_raw(&w, t->jws, strlen(t->jws));
	jsonw_raw(&w, "\"", 1);
	jsonw_key(&w, "token_type");
	jsonw_str(&w, dpop ? "DPoP" : "Bearer");
	jsonw_key(&w, "expires_in");
	jsonw_int(&w, t->expires_in);
	if (t->scope != NULL) {
		jsonw_key(&w, "scope");
		jsonw_str(&w, t->scope);
	}
	jsonw_end(&w);
	log_info("event=token_issued client_id=%s jti=%s expires_in=%ld "
	    "via=token request_id=%s", client_id, t->jti, t->expires_in,
	    req->request_id);
	metrics_token_issued(&req->worker->metrics, client_id);
	reply_raw_json(req, 200, w.buf, w.len, TOKEN_FLAGS);
	jsonw_free(&w);
}

/* db_dpop_jti_use()'s answer: the proof's jti was new, or not. */
static void
token_jti_claimed(const struct db_once *res, void *arg)
{
	struct token_op		*op = arg;
	struct request		*req = op->req;

	if (req->gone)
		goto out;
	if (res->status != DB_OK) {
		handler_unavailable(req, TOKEN_FLAGS);
	} else if (!res->fresh) {
		log_info("event=dpop_proof_refused reason=replay jti=%.64s "
		    "client_id=%s request_id=%s", op->proof.jti, op->client_id,
		    req->request_id);
		dpop_refused(req, "the proof's jti was used before");
	} else {
		token_reply(req, &op->t, op->client_id, true);
	}
out:
	token_op_free(op);
	request_release(req);
}

static void
token_authenticated(struct request *req, enum client_auth_result result,
    const struct client_record *rec, void *arg)
{
	struct token_op		*op = arg;
	const struct config	*cfg = req->worker->cfg;
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
	/* RFC 9449 5.2: dpop_bound_access_tokens */
	if (rec->dpop_bound && !op->dpop) {
		log_info("event=dpop_proof_refused reason=missing client_id=%s "
		    "request_id=%s", rec->id, req->request_id);
		dpop_refused(req, "this client must send a DPoP proof");
		goto out;
	}
	now = time(NULL);
	if (!handler_issuable(req, rec, now)) {
		reply_header(req, "Retry-After", "1");
		reply_error(req, 503, "temporarily_unavailable", "the client's "
		    "record cannot be issued a token now", TOKEN_FLAGS);
		goto out;
	}
	/*
	 * RFC 8705 3: a certificate-authenticated client's token is bound to
	 * its certificate; RFC 9449 6: a token asked for with a DPoP proof
	 * to the proof's key.
	 */
	switch (issue_token_bound(cfg, req->worker->keys, rec, op->scope,
	    (const char *const *)op->resources, op->n_resources, now,
	    req->cnf_x5t[0] != '\0' ? req->cnf_x5t : NULL,
	    op->dpop ? op->proof.jkt : NULL, &op->t)) {
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
	if (!op->dpop) {
		token_reply(req, &op->t, rec->id, false);
		goto out;
	}
	/*
	 * The proof's jti, once within its window on every instance. The
	 * window: an iat up to --leeway ahead is accepted for --dpop-max-age
	 * + --leeway after it, whole seconds by time(), so until the end of
	 * that last second: one more than max-age + 2 x leeway from now.
	 */
	op->req = req;
	op->client_id = xstrdup(rec->id);
	request_hold(req);
	if (db_dpop_jti_use(req->worker->store, &op->db, cfg->prefix,
	    op->proof.jkt, op->proof.jti,
	    cfg->dpop_max_age + 2 * cfg->leeway + 1, token_jti_claimed,
	    op) == -1) {
		request_release(req);
		handler_unavailable(req, TOKEN_FLAGS);
		goto out;
	}
	return;
out:
	token_op_free(op);
}

/*
 * The DPoP header, if any (RFC 9449 4.3): at most one, and a proof for
 * POST at the token endpoint the metadata names. 0 with op->dpop set when
 * a valid proof came, 0 without one, -1 when req has been answered.
 */
static int
token_dpop_proof(struct request *req, struct token_op *op)
{
	const struct config	*cfg = req->worker->cfg;
	const char		*h;
	char			 url[DPOP_HTU_MAX + 1];
	char			 htu[DPOP_HTU_MAX + 1];
	struct dpop_expect	 e;
	enum dpop_verdict	 v;
	size_t			 n;
	int			 len;

	if ((n = request_header_count(req, "DPoP")) == 0)
		return 0;
	if (n > 1) {
		dpop_refused(req, "more than one DPoP header");
		return -1;
	}
	h = request_header(req, "DPoP");
	/* the token endpoint of the metadata: --issuer + /oauth/token */
	n = strlen(cfg->issuer);
	if (n > 0 && cfg->issuer[n - 1] == '/')
		n--;
	len = snprintf(url, sizeof(url), "%.*s/oauth/token", (int)n,
	    cfg->issuer);
	if (len < 0 || (size_t)len >= sizeof(url) ||
	    dpop_htu_normalize(url, (size_t)len, htu) != 0) {
		log_warnx("event=dpop_htu_unusable issuer=%.64s", cfg->issuer);
		dpop_refused(req, "the token endpoint's URL is unusable");
		return -1;
	}
	memset(&e, 0, sizeof(e));
	e.htm = "POST";
	e.htu = htu;
	e.ath = NULL;
	e.now = time(NULL);
	e.max_age = cfg->dpop_max_age;
	e.leeway = cfg->leeway;
	if ((v = dpop_proof_check(h, strlen(h), &e, &op->proof)) != DPOP_OK) {
		log_info("event=dpop_proof_refused reason=%s request_id=%s",
		    dpop_verdict_name(v), req->request_id);
		snprintf(url, sizeof(url), "DPoP proof refused: %s",
		    dpop_verdict_name(v));
		dpop_refused(req, url);
		return -1;
	}
	op->dpop = true;
	return 0;
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
	if (token_dpop_proof(req, op) == -1) {
		token_op_free(op);
		goto out;
	}
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
