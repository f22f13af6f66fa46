/*
 * verify: token_verify() and then the revocation rules (see
 * include/verify.h). The rules (verify_rules) read only the claims and
 * the facts handed in; the pipeline (verify_run) reads the view only
 * through its facts callback; verify_token() plugs in a worker's view.
 * Time is read by the caller, once per verification.
 *
 * The signature and claims checks are skipped for a token found in the
 * verified-token cache (tcache.c, which re-checks exp against now); the
 * revocation rules run on every call, hit or miss. Only a token that
 * passed every check is cached.
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

enum verify_result
verify_rules(const struct token_claims *claims,
    const struct verify_facts *facts, long leeway)
{
	if (!facts->current)
		return VERIFY_UNAVAILABLE;
	if (facts->jti_revoked)
		return VERIFY_REVOKED;
	if (facts->client == NULL)
		return VERIFY_CLIENT_REMOVED;
	if (claims->iat <= facts->client->revoked_before)
		return VERIFY_CLIENT_REVOKED;
	/*
	 * A client removed and then added again under the same id is a new
	 * client: tokens issued before it was (re)created stay dead. The
	 * leeway covers clocks: created_at is Redis's, iat ours.
	 */
	if (claims->iat + leeway < facts->client->created_at)
		return VERIFY_CLIENT_REMOVED;
	return VERIFY_OK;
}

void
verify_run(const struct verify_env *env, const char *jws, size_t len,
    time_t now, struct verify_outcome *out)
{
	struct verify_facts	 facts;
	struct tcache_key	 key;
	bool			 cacheable, fresh = false;

	memset(out, 0, sizeof(*out));
	cacheable = tcache_key(env->tcache, jws, len, &key);
	if (cacheable) {
		out->claims = tcache_lookup(env->tcache, &key, now);
		metrics_verify_cache(env->metrics, out->claims != NULL);
	}
	if (out->claims != NULL) {
		out->verdict = TOKEN_OK;
		if (log_enabled(LOG_LEVEL_DEBUG))
			log_debug("event=verify_cache_hit worker=%d jti=%s",
			    env->worker_id, out->claims->jti != NULL ?
			    out->claims->jti : "");
	} else {
		out->verdict = token_verify(env->keys, jws, len, now,
		    env->rules, &out->claims);
		if (out->verdict != TOKEN_OK) {
			out->result = VERIFY_BAD_TOKEN;
			return;
		}
		fresh = true;
	}
	memset(&facts, 0, sizeof(facts));
	env->facts(env->facts_arg, out->claims, now, &facts);
	out->result = verify_rules(out->claims, &facts, env->rules->leeway);
	if (out->result == VERIFY_OK && fresh && cacheable)
		tcache_insert(env->tcache, &key, now, out->claims);
}

/* The facts of a worker's view (view.h); arg is the view. */
static void
view_facts(void *arg, const struct token_claims *claims, time_t now,
    struct verify_facts *facts)
{
	const struct view	*v = arg;

	/* Not current: the rules stop there, so look nothing up. */
	if (!(facts->current = view_in_sync_or_grace(v, now)))
		return;
	facts->jti_revoked = view_jti_revoked(v, claims->jti, now);
	facts->client = view_client(v, claims->client_id);
}

void
verify_token(struct worker *w, const char *jws, size_t len, time_t now,
    struct verify_outcome *out)
{
	const struct config	*cfg = w->cfg;
	struct token_rules	 rules;
	struct verify_env	 env;

	memset(&rules, 0, sizeof(rules));
	rules.issuer = cfg->issuer;
	rules.typ = cfg->token_typ == TOKEN_TYP_JWT ?
	    TOKEN_TYP_JWT_STR : TOKEN_TYP_AT_JWT_STR;
	rules.leeway = cfg->leeway;
	memset(&env, 0, sizeof(env));
	env.keys = w->keys;
	env.rules = &rules;
	env.tcache = w->tcache;
	env.metrics = &w->metrics;
	env.worker_id = w->id;
	env.facts = view_facts;
	env.facts_arg = w->view;
	verify_run(&env, jws, len, now, out);
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
