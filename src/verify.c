/*
 * verify: token_verify() and then the revocation rules (see
 * include/verify.h). The rules (verify_rules) read only the claims and
 * the facts handed in; the pipeline (verify_run) reads the view only
 * through its facts callback; verify_token() plugs in a worker's view.
 * Time is read by the caller, once per verification.
 *
 * The lifecycle rules compare the token's client_gen claim with the
 * client's record, never two clocks (the records of older admin scripts
 * aside, see verify_rules()).
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
#include "util.h"
#include "verify.h"
#include "view.h"
#include "worker.h"

/*
 * A token of generation tok (NULL: none) against a record of generation
 * rec: the same generation passes; the same incarnation with another
 * serial was disabled (and maybe enabled) since the token was issued; any
 * other incarnation is a client removed and added again since. A token
 * without the claim belongs to the incarnation of the clients made before
 * generations existed.
 */
static enum verify_result
generation_rule(const char *tok, const char *rec)
{
	const char	*inc;

	if (tok != NULL && strcmp(tok, rec) == 0)
		return VERIFY_OK;
	if (tok == NULL)
		inc = CLIENT_GEN_LEGACY_INCARNATION;
	else if (client_record_gen_is_valid(tok, strlen(tok)))
		inc = tok;
	else
		return VERIFY_CLIENT_REMOVED;
	return memcmp(inc, rec, CLIENT_GEN_HEX) == 0 ?
	    VERIFY_CLIENT_REVOKED : VERIFY_CLIENT_REMOVED;
}

enum verify_result
verify_rules(const struct token_claims *claims,
    const struct verify_facts *facts, long leeway)
{
	const struct client_record	*rec = facts->client;
	enum verify_result		 r;

	if (!facts->current)
		return VERIFY_UNAVAILABLE;
	if (facts->jti_revoked)
		return VERIFY_REVOKED;
	if (facts->gen_vouched)
		return VERIFY_OK;
	if (rec == NULL)
		return VERIFY_CLIENT_REMOVED;
	if (rec->generation[0] != '\0') {
		if ((r = generation_rule(claims->client_gen,
		    rec->generation)) != VERIFY_OK)
			return r;
		return rec->disabled ? VERIFY_CLIENT_REVOKED : VERIFY_OK;
	}
	/*
	 * No lifecycle change since generations exist: the record was written
	 * by an older tokend-client. A token with a generation belongs to a
	 * client that was removed since (and made again by an older script).
	 */
	if (claims->client_gen != NULL)
		return VERIFY_CLIENT_REMOVED;
	if (rec->disabled || claims->iat <= rec->revoked_before)
		return VERIFY_CLIENT_REVOKED;
	/*
	 * A client removed and then added again under the same id by an
	 * older script is a new client: tokens issued before it was
	 * (re)created stay dead. The leeway covers clocks: created_at is
	 * Redis's, iat ours. These two clock rules are the older scripts'
	 * only; the first lifecycle change by the current script gives the
	 * record a generation and ends them.
	 */
	if (claims->iat + leeway < rec->created_at)
		return VERIFY_CLIENT_REMOVED;
	return VERIFY_OK;
}

enum verify_result
verify_issuable(const struct client_record *rec, time_t now, long leeway)
{
	struct token_claims	 claims;
	struct verify_facts	 facts;

	memset(&claims, 0, sizeof(claims));
	memset(&facts, 0, sizeof(facts));
	claims.client_id = rec->id;
	claims.iat = now;
	claims.client_gen = rec->generation[0] != '\0' ? rec->generation :
	    NULL;
	facts.current = true;
	facts.client = rec;
	return verify_rules(&claims, &facts, leeway);
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
	const struct view		*v = arg;
	const struct client_record	*rec;

	/* Not current: the rules stop there, so look nothing up. */
	if (!(facts->current = view_in_sync_or_grace(v, now)))
		return;
	facts->jti_revoked = view_jti_revoked(v, claims->jti, now);
	facts->client = rec = view_client(v, claims->client_id);
	/*
	 * Only when the record disagrees with the token's generation: did a
	 * sibling worker just issue it from a read ours has not matched yet?
	 */
	if (claims->client_gen != NULL && (rec == NULL || rec->disabled ||
	    strcmp(rec->generation, claims->client_gen) != 0))
		facts->gen_vouched = view_gen_vouched(claims->client_id,
		    claims->client_gen, now_usec());
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

const char *const verify_request_reasons[] = {
	VERIFY_REASON_AUDIENCE,
	VERIFY_REASON_BINDING,
	VERIFY_REASON_DPOP_PROOF_INVALID,
	VERIFY_REASON_DPOP_REPLAY,
	NULL,
};
