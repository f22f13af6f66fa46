/*
 * handler_revoke: POST /oauth/revoke (RFC 7009). The caller authenticates
 * as a client and names the token as for /oauth/introspect
 * (handler_with_token(), handler_introspect.c); this file decides and
 * writes.
 *
 * A client revokes only its own tokens. 200 {} for a revoked token and for
 * an invalid or unknown one (RFC 7009 2.2); another client's valid token
 * is refused with 400 unauthorized_client (2.1) and stays valid. A
 * revocation is written (db_revoke()) as P revoked:JTI = exp, expiring
 * when the token could no longer pass anyway (exp + --leeway), and
 * published on P events, so every instance drops the token within a
 * second; this instance's view is updated at once. With Redis Sentinel,
 * the 200 waits until a replica has the write: a failover could lose it
 * otherwise (503, and the client retries; revoking again is harmless).
 *
 * Revocations are bounded per client: the same script counts the client's
 * live revocations (P revocations:ID) and refuses a new one, 400
 * invalid_request, once it holds --max-revocations-per-client; a jti
 * already counted is not counted again. The count falls as revoked tokens
 * expire; `tokend-client disable` revokes every token of a client at once,
 * with no entry per token.
 *
 * Fails closed with 503 while the view of the store is not in sync
 * (beyond --verify-grace) and when the write fails; answers with
 * Cache-Control: no-store.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "client_record.h"
#include "config.h"
#include "db.h"
#include "handler.h"
#include "log.h"
#include "reply.h"
#include "request.h"
#include "store.h"
#include "util.h"
#include "verify.h"
#include "view.h"
#include "worker.h"

#define REVOKE_FLAGS	REPLY_NO_STORE

struct revoke_write {
	struct request	*req;
	char		*jti;
	char		*client_id;
	int64_t		 exp;
	struct db_op	 db;
};

static void
revoke_done(const struct db_revocation *res, void *arg)
{
	struct revoke_write	*rw = arg;
	struct request		*req = rw->req;
	const struct config	*cfg = req->worker->cfg;
	char			 desc[160];

	if (res->status == DB_ERR_REPLICA)
		log_warnx("event=revoke_not_replicated jti=%s", rw->jti);
	if (res->status != DB_OK) {
		handler_unavailable(req, REVOKE_FLAGS);
	} else if (res->refused) {
		log_info("event=revocation_refused client_id=%s jti=%s "
		    "revocations=%lld request_id=%s", rw->client_id, rw->jti,
		    res->count, req->request_id);
		snprintf(desc, sizeof(desc), "revocation limit reached: this "
		    "client holds %d live revocations, the most allowed; it "
		    "may revoke more once revoked tokens expire",
		    cfg->max_revocations_per_client);
		reply_error(req, 400, "invalid_request", desc, REVOKE_FLAGS);
	} else {
		view_add_revocation(req->worker->view, rw->jti, rw->exp);
		log_info("event=token_revoked jti=%s request_id=%s", rw->jti,
		    req->request_id);
		reply_json(req, 200, json_object_new_object(), REVOKE_FLAGS);
	}
	free(rw->jti);
	free(rw->client_id);
	free(rw);
	request_release(req);
}

/* handler_with_token()'s answer for /oauth/revoke. */
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
		reply_json(req, 200, json_object_new_object(), REVOKE_FLAGS);
		return;
	case VERIFY_UNAVAILABLE:
		handler_unavailable(req, REVOKE_FLAGS);
		return;
	default:
		/* RFC 7009 2.2: invalid, expired or already revoked: 200. */
		reply_json(req, 200, json_object_new_object(), REVOKE_FLAGS);
		return;
	}
	if (strcmp(v->claims->client_id, caller->id) != 0) {
		reply_error(req, 400, "unauthorized_client", "a client may "
		    "revoke only its own tokens", REVOKE_FLAGS);
		return;
	}
	/* Our jtis are 22 characters; a longer one is not ours to store. */
	if (strlen(v->claims->jti) > 128) {
		reply_json(req, 200, json_object_new_object(), REVOKE_FLAGS);
		return;
	}
	rw = xcalloc(1, sizeof(*rw));
	rw->req = req;
	rw->jti = xstrdup(v->claims->jti);
	rw->client_id = xstrdup(caller->id);
	rw->exp = v->claims->exp;
	request_hold(req);
	if (db_revoke(req->worker->store, &rw->db, cfg->prefix, rw->client_id,
	    rw->jti, rw->exp, cfg->leeway, cfg->max_revocations_per_client,
	    revoke_done, rw) == -1) {
		request_release(req);
		free(rw->jti);
		free(rw->client_id);
		free(rw);
		handler_unavailable(req, REVOKE_FLAGS);
	}
}

void
handler_revoke(struct request *req)
{
	handler_with_token(req, revoke_answer);
}
