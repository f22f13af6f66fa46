/*
 * verify: the one verification pipeline of /verify, /oauth/introspect and
 * /oauth/revoke. First the token itself (token_verify: structure, key,
 * algorithm, signature, typ, iss, exp/nbf/iat), then the revocation rules
 * against this worker's view of the store: the jti revoked, the client
 * removed, disabled, or changed by a lifecycle change (disable, enable,
 * remove and add again) since the token was issued, told by the client's
 * generation (client_record.h), which the token carries in its
 * client_gen claim. No Redis round trip: the view is kept current by
 * pub/sub (view.c).
 *
 * Three layers, so that every rule can be tested without a loop or a
 * store: verify_rules() is the revocation rules, a pure function of the
 * claims and of what the view says about them (struct verify_facts);
 * verify_run() is the whole pipeline, verified-token cache included, over
 * any source of those facts; verify_token() is verify_run() with a
 * worker's keys, settings, cache, counters and view. Time is always a
 * parameter: nothing here reads the clock.
 */
#ifndef TOKEND_VERIFY_H
#define TOKEND_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "token.h"

struct client_record;
struct metrics_shard;
struct tcache;
struct worker;

enum verify_result {
	VERIFY_OK = 0,
	VERIFY_BAD_TOKEN,	/* token_verify said no: see .verdict */
	VERIFY_REVOKED,		/* the jti is revoked */
	VERIFY_CLIENT_REMOVED,	/* no such client any more, or the token
				   predates the client's (re)creation */
	VERIFY_CLIENT_REVOKED,	/* the client is disabled, or was since the
				   token was issued */
	VERIFY_UNAVAILABLE,	/* the view cannot be trusted: fail closed */
};

struct verify_outcome {
	enum verify_result	 result;
	enum token_verdict	 verdict;	/* TOKEN_OK unless BAD_TOKEN */
	struct token_claims	*claims;	/* owned; NULL exactly when
						   BAD_TOKEN (UNAVAILABLE
						   and the other refusals
						   carry the claims) */
};

/*
 * What the store says about one token that token_verify() accepted, as
 * the worker's view knows it at the moment of verifying: everything the
 * revocation rules read besides the claims.
 */
struct verify_facts {
	bool				 current;	/* view_in_sync_or_grace() */
	bool				 jti_revoked;	/* view_jti_revoked() */
	/* view_client(claims->client_id), borrowed; NULL: none */
	const struct client_record	*client;
	/*
	 * view_gen_vouched(): a worker of this process issued tokens of the
	 * token's client_gen from a read sent within VIEW_VOUCH_US. Looked
	 * up only when client disagrees with the token (none, disabled, or
	 * another generation).
	 */
	bool				 gen_vouched;
};

/*
 * The revocation rules for claims that token_verify() accepted, in this
 * order, the first that applies deciding:
 *  - VERIFY_UNAVAILABLE when !facts->current: a revocation could have been
 *    missed, so fail closed;
 *  - VERIFY_REVOKED when facts->jti_revoked;
 *  - VERIFY_OK when facts->gen_vouched (a sibling worker issued this
 *    generation a moment ago; the view has not caught up yet);
 *  - VERIFY_CLIENT_REMOVED when facts->client is NULL;
 *  - for a record with a generation (every lifecycle change by
 *    tokend-client renews it): the token's client_gen must equal it.
 *    Another incarnation (the client was removed and added again), or a
 *    token without client_gen when the record's incarnation is not the
 *    legacy one: VERIFY_CLIENT_REMOVED; the same incarnation with another
 *    serial (disabled, and maybe enabled, since), or no client_gen with
 *    the legacy incarnation: VERIFY_CLIENT_REVOKED; equal but the record
 *    disabled: VERIFY_CLIENT_REVOKED; else VERIFY_OK. No clock is read;
 *  - for a record without one (written by an older tokend-client, and no
 *    lifecycle change since): a token with client_gen is
 *    VERIFY_CLIENT_REMOVED; disabled, or claims->iat <= revoked_before,
 *    VERIFY_CLIENT_REVOKED; claims->iat + leeway < created_at (removed and
 *    added again by an older script after the token was issued; leeway
 *    covers clocks: created_at is Redis's, iat ours)
 *    VERIFY_CLIENT_REMOVED; else VERIFY_OK.
 * Pure: reads only its arguments; callable from anywhere.
 */
enum verify_result verify_rules(const struct token_claims *claims,
	    const struct verify_facts *facts, long leeway);

/*
 * What verify_rules() would say, with rec as the view's record, of a
 * token issued to rec's client now (iat = now, client_gen = rec's
 * generation). VERIFY_OK for every record with a generation that is not
 * disabled; for a record without one (written by an older tokend-client)
 * the clock rules may refuse it: a revoked_before in this second or a
 * created_at ahead of this instance's clock by more than the leeway. The
 * issuing endpoints answer 503 then rather than issue a token they would
 * reject themselves.
 */
enum verify_result verify_issuable(const struct client_record *rec,
	    time_t now, long leeway);

/*
 * Fill *facts (zeroed by the caller) about claims at now (unix seconds).
 * Called by verify_run() at most once, only for a token that passed
 * token_verify() or came from the cache; claims are borrowed for the call.
 */
typedef void (*verify_facts_fn)(void *arg, const struct token_claims *claims,
    time_t now, struct verify_facts *facts);

/* What verify_run() works with; everything borrowed for the call. */
struct verify_env {
	const struct keyset		*keys;
	const struct token_rules	*rules;		/* leeway: also of
							   verify_rules() */
	struct tcache			*tcache;	/* NULL: no cache */
	struct metrics_shard		*metrics;	/* cache hits and
							   misses; NULL:
							   not counted */
	int				 worker_id;	/* for the log */
	verify_facts_fn			 facts;
	void				*facts_arg;
};

/*
 * Verify jws (len bytes) at now (unix seconds): token_verify() with
 * env->keys and env->rules, then verify_rules() on the facts env->facts
 * gives. Even when the view is not current the token is checked first,
 * so that a forged token is told apart from an unavailable store in the
 * logs. A token in env->tcache (tcache.h) skips token_verify() but not its
 * exp check (the cache serves an entry only while now < exp + leeway),
 * and never the revocation rules; a token that token_verify() accepted
 * at now and that passes every rule is added to it. On return the caller
 * owns out->claims (verify_outcome_finish). Not thread safe beyond what
 * env->tcache and env->facts allow: a worker's, on that worker's thread.
 */
void	 verify_run(const struct verify_env *env, const char *jws,
	    size_t len, time_t now, struct verify_outcome *out);

/*
 * verify_run() with w's keys, settings (--issuer, --token-typ, --leeway),
 * verified-token cache, metrics shard and view. Call it on w's thread
 * only (a handler or a store callback of w), with now from time(NULL).
 */
void	 verify_token(struct worker *w, const char *jws, size_t len,
	    time_t now, struct verify_outcome *out);

/* Free out->claims and zero *out. A zeroed outcome is fine. */
void	 verify_outcome_finish(struct verify_outcome *out);

/*
 * A stable lower_snake name of the outcome: the token verdict's name
 * ("expired", "bad_signature", ...) or "ok", "revoked",
 * "client_removed", "client_revoked", "unavailable". Static string. Used
 * in logs, error_description and as the "reason" label of
 * tokend_verify_failures_total (metrics.c).
 */
const char *verify_reason(const struct verify_outcome *);

/*
 * The reasons /verify counts for checks of the request that follow a
 * successful verify_token() (they are not the token's fault alone): a
 * ?aud= the token's aud lacks; a bound token presented without what binds
 * it (its certificate, the DPoP scheme, a proof of its key); a DPoP proof
 * that fails its checks (RFC 9449 4.3); a proof's jti seen before. NULL-terminated; the scrape lists them
 * after every verify_reason().
 */
#define VERIFY_REASON_AUDIENCE	"audience_mismatch"
#define VERIFY_REASON_BINDING	"binding_mismatch"
#define VERIFY_REASON_DPOP_PROOF_INVALID	"dpop_proof_invalid"
#define VERIFY_REASON_DPOP_REPLAY	"dpop_replay"
extern const char *const verify_request_reasons[];

#endif
