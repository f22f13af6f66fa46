/*
 * verify: token_verify() and then the revocation rules, against the
 * worker's view (see include/verify.h). Time is read once per call.
 *
 * The signature and claims checks are skipped for a token found in the
 * worker's verified-token cache (tcache.c, which re-checks exp against
 * now); the revocation rules below run on every call, hit or miss. Only a
 * token that passed every check is cached.
 */
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "client_record.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "tcache.h"
#include "verify.h"
#include "view.h"
#include "worker.h"

void
verify_token(struct worker *w, const char *jws, size_t len,
    struct verify_outcome *out)
{
	const struct config		*cfg = w->cfg;
	const struct client_record	*rec;
	struct token_rules		 rules;
	struct tcache_key		 key;
	time_t				 now = time(NULL);
	bool				 cacheable, fresh = false;

	memset(out, 0, sizeof(*out));
	cacheable = tcache_key(w->tcache, jws, len, &key);
	if (cacheable) {
		out->claims = tcache_lookup(w->tcache, &key, now);
		metrics_verify_cache(&w->metrics, out->claims != NULL);
	}
	if (out->claims != NULL) {
		out->verdict = TOKEN_OK;
		if (log_enabled(LOG_LEVEL_DEBUG))
			log_debug("event=verify_cache_hit worker=%d jti=%s",
			    w->id, out->claims->jti != NULL ?
			    out->claims->jti : "");
	} else {
		memset(&rules, 0, sizeof(rules));
		rules.issuer = cfg->issuer;
		rules.typ = cfg->token_typ == TOKEN_TYP_JWT ?
		    TOKEN_TYP_JWT_STR : TOKEN_TYP_AT_JWT_STR;
		rules.leeway = cfg->leeway;
		out->verdict = token_verify(w->keys, jws, len, now, &rules,
		    &out->claims);
		if (out->verdict != TOKEN_OK) {
			out->result = VERIFY_BAD_TOKEN;
			return;
		}
		fresh = true;
	}
	/* Fail closed: a revocation could have been missed. */
	if (!view_in_sync_or_grace(w->view, now)) {
		out->result = VERIFY_UNAVAILABLE;
		return;
	}
	if (view_jti_revoked(w->view, out->claims->jti, now)) {
		out->result = VERIFY_REVOKED;
		return;
	}
	if ((rec = view_client(w->view, out->claims->client_id)) == NULL) {
		out->result = VERIFY_CLIENT_REMOVED;
		return;
	}
	if (out->claims->iat <= rec->revoked_before) {
		out->result = VERIFY_CLIENT_REVOKED;
		return;
	}
	/*
	 * A client removed and then added again under the same id is a new
	 * client: tokens issued before it was (re)created stay dead. The
	 * leeway covers clocks: created_at is Redis's, iat ours.
	 */
	if (out->claims->iat + cfg->leeway < rec->created_at) {
		out->result = VERIFY_CLIENT_REMOVED;
		return;
	}
	out->result = VERIFY_OK;
	if (fresh && cacheable)
		tcache_insert(w->tcache, &key, now, out->claims);
}

void
verify_outcome_finish(struct verify_outcome *out)
{
	token_claims_free(out->claims);
	memset(out, 0, sizeof(*out));
}

const char *
verify_reason(const struct verify_outcome *out)
{
	switch (out->result) {
	case VERIFY_OK:
		return "ok";
	case VERIFY_BAD_TOKEN:
		return token_verdict_name(out->verdict);
	case VERIFY_REVOKED:
		return "revoked";
	case VERIFY_CLIENT_REMOVED:
		return "client_removed";
	case VERIFY_CLIENT_REVOKED:
		return "client_revoked";
	case VERIFY_UNAVAILABLE:
		return "unavailable";
	}
	return "unknown";
}
