/*
 * test_verify: the verification pipeline without a loop or a store.
 *
 * verify_rules() is checked on its own for every verify_result: the
 * generation rules whatever iat says (remove and add within the leeway,
 * disable and enable within one second, a token issued from a view that
 * had not heard of a disable, tokens from before generations, records of
 * older scripts), the clock rules that records without a generation keep
 * (iat at and around revoked_before, created_at within and beyond the
 * leeway), a generation a sibling worker vouched for, and rule order.
 * verify_run() is checked with tokens issued by token_issue() from the
 * fixed key of test/data/keys, a real verified-token cache and a table of
 * facts standing in for the worker's view (fake_facts below): a bad token
 * never reaches the rules, a view that is not current gives
 * VERIFY_UNAVAILABLE with the claims kept, a cache hit still has its exp
 * checked and still runs every rule, and only a token that passed
 * everything is cached. Time is a parameter (T below); nothing sleeps.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "client_record.h"
#include "config.h"
#include "keys.h"
#include "log.h"
#include "metrics.h"
#include "secret.h"
#include "tcache.h"
#include "token.h"
#include "util.h"
#include "verify.h"
#include "test.h"

#ifndef TEST_DATA_DIR
#error "TEST_DATA_DIR must name test/data/keys"
#endif

#define T		((time_t)1700000000)
#define ISSUER		"https://issuer.test"
#define LEEWAY		30
#define TTL		600

static struct keyset		*ks;
static struct metrics_shard	 shard;	/* large: not on the stack */

static struct keyset *
load(const char *signing)
{
	struct config	 cfg;
	struct keyset	*k;
	char		 path[512], err[512], *retired[1] = { NULL };

	memset(&cfg, 0, sizeof(cfg));
	snprintf(path, sizeof(path), "%s/%s", TEST_DATA_DIR, signing);
	cfg.signing_key = path;
	cfg.retired_keys = retired;
	if ((k = keyset_load(&cfg, err, sizeof(err))) == NULL)
		fprintf(stderr, "keyset_load: %s\n", err);
	return k;
}

/*
 * Client id's record as client_record_decode() makes it, with these
 * revoked_before, created_at, disabled and generation values (gen NULL:
 * no generation field, as older scripts wrote records).
 */
static struct client_record *
record_gen(const char *id, const char *revoked_before,
    const char *created_at, const char *disabled, const char *gen)
{
	const char		*fields[] = { "secret", "revoked_before",
				    "created_at", "disabled", "generation" };
	const char		*values[nitems(fields)];
	size_t			 flens[nitems(fields)], vlens[nitems(fields)];
	size_t			 n = gen != NULL ? nitems(fields) :
				    nitems(fields) - 1;
	struct client_record	*rec = NULL;
	char			 err[256];
	size_t			 i;

	values[0] = secret_dummy_hash();
	values[1] = revoked_before;
	values[2] = created_at;
	values[3] = disabled;
	values[4] = gen;
	for (i = 0; i < n; i++) {
		flens[i] = strlen(fields[i]);
		vlens[i] = strlen(values[i]);
	}
	if (client_record_decode(id, n, fields, flens, values, vlens, &rec,
	    err, sizeof(err)) == -1)
		fprintf(stderr, "client_record_decode: %s\n", err);
	return rec;
}

/* A record as older scripts wrote it: no generation. */
static struct client_record *
record(const char *id, const char *revoked_before, const char *created_at,
    const char *disabled)
{
	return record_gen(id, revoked_before, created_at, disabled, NULL);
}

/* A record of generation gen, created at T and disabled at T as given. */
static struct client_record *
gen_record(const char *gen, bool disabled)
{
	return record_gen("c1", disabled ? "1700000000" : "0", "1700000000",
	    disabled ? "1" : "0", gen);
}

/*
 * Generations: incarnation A (the client as added) with serials 1 and 2
 * (after a disable, after an enable), incarnation B (removed and added
 * again), and the legacy incarnation (a client older than generations,
 * given one by its first lifecycle change).
 */
#define GEN_A1		"a1a1a1a1a1a1a1a1.0000000000000001"
#define GEN_A2		"a1a1a1a1a1a1a1a1.0000000000000002"
#define GEN_A3		"a1a1a1a1a1a1a1a1.0000000000000003"
#define GEN_B1		"b2b2b2b2b2b2b2b2.0000000000000001"
#define GEN_L1		"0000000000000000.0000000000000001"

/* A token of client_id issued at iat with the key set's signing key. */
static char *
issue_gen(const char *client_id, const char *gen, time_t iat,
    char jti[TOKEN_JTI_LEN + 1])
{
	struct token_params	 tp;
	char			*jws = NULL;

	memset(&tp, 0, sizeof(tp));
	tp.issuer = ISSUER;
	tp.typ = TOKEN_TYP_AT_JWT_STR;
	tp.client_id = client_id;
	tp.client_gen = gen;
	tp.audience = "https://api.test";
	tp.iat = iat;
	tp.ttl = TTL;
	tp.scope = "read";
	if (token_issue(keyset_signing_key(ks), &tp, &jws, jti) != 0)
		return NULL;
	return jws;
}

/* The same without a client_gen claim (a record without a generation). */
static char *
issue(const char *client_id, time_t iat, char jti[TOKEN_JTI_LEN + 1])
{
	return issue_gen(client_id, NULL, iat, jti);
}

/*
 * What the test's "view" says: whether it is current, the one revoked
 * jti (or NULL) and the one client record (or NULL); calls counts the
 * lookups verify_run() made.
 */
struct fake_view {
	bool			 current;
	const char		*revoked_jti;
	struct client_record	*client;
	int			 calls;
	time_t			 last_now;
};

static void
fake_facts(void *arg, const struct token_claims *claims, time_t now,
    struct verify_facts *facts)
{
	struct fake_view	*v = arg;

	v->calls++;
	v->last_now = now;
	facts->current = v->current;
	facts->jti_revoked = v->revoked_jti != NULL &&
	    strcmp(v->revoked_jti, claims->jti) == 0;
	facts->client = v->client != NULL &&
	    strcmp(v->client->id, claims->client_id) == 0 ? v->client : NULL;
}

static struct token_rules	 rules;

static struct verify_env
env_for(struct fake_view *v, struct tcache *c)
{
	struct verify_env	 env;

	memset(&rules, 0, sizeof(rules));
	rules.issuer = ISSUER;
	rules.typ = TOKEN_TYP_AT_JWT_STR;
	rules.leeway = LEEWAY;
	memset(&env, 0, sizeof(env));
	env.keys = ks;
	env.rules = &rules;
	env.tcache = c;
	env.metrics = &shard;
	env.facts = fake_facts;
	env.facts_arg = v;
	return env;
}

/* verify_rules() on claims with this iat and client_gen (NULL: none). */
static enum verify_result
grule(int64_t iat, const char *gen, bool vouched,
    const struct client_record *client)
{
	struct token_claims	 c;
	struct verify_facts	 f;

	memset(&c, 0, sizeof(c));
	c.jti = "j";
	c.client_id = "c1";
	c.client_gen = gen;
	c.iat = iat;
	c.exp = iat + TTL;
	memset(&f, 0, sizeof(f));
	f.current = true;
	f.client = client;
	f.gen_vouched = vouched;
	return verify_rules(&c, &f, LEEWAY);
}

/* verify_rules() on claims with this iat and no client_gen. */
static enum verify_result
rule(int64_t iat, bool current, bool revoked,
    const struct client_record *client)
{
	struct token_claims	 c;
	struct verify_facts	 f;

	memset(&c, 0, sizeof(c));
	c.jti = "j";
	c.client_id = "c1";
	c.iat = iat;
	c.exp = iat + TTL;
	memset(&f, 0, sizeof(f));
	f.current = current;
	f.jti_revoked = revoked;
	f.client = client;
	return verify_rules(&c, &f, LEEWAY);
}

static void
test_verify_rules(void)
{
	struct client_record	*plain = record("c1", "0", "0", "0");
	struct client_record	*revoked = record("c1", "1700000000",
				    "1600000000", "0");
	/* tokend-client disable sets disabled and revoked_before at once */
	struct client_record	*disabled = record("c1", "1700000000",
				    "1600000000", "1");
	struct client_record	*recreated = record("c1", "0", "1700000000",
				    "0");

	TEST_ASSERT(plain && revoked && disabled && recreated);
	TEST_ASSERT(rule(T, true, false, plain) == VERIFY_OK);

	/* Not current: unavailable, whatever else holds (fail closed). */
	TEST_ASSERT(rule(T, false, false, plain) == VERIFY_UNAVAILABLE);
	TEST_ASSERT(rule(T, false, true, NULL) == VERIFY_UNAVAILABLE);
	TEST_ASSERT(rule(T, false, false, revoked) == VERIFY_UNAVAILABLE);

	/* A revoked jti comes before everything about the client. */
	TEST_ASSERT(rule(T, true, true, plain) == VERIFY_REVOKED);
	TEST_ASSERT(rule(T, true, true, NULL) == VERIFY_REVOKED);
	TEST_ASSERT(rule(T, true, true, revoked) == VERIFY_REVOKED);

	/* No record: the client is gone. */
	TEST_ASSERT(rule(T, true, false, NULL) == VERIFY_CLIENT_REMOVED);

	/* revoked_before: iat at or before it is revoked, after it is not. */
	TEST_ASSERT(rule(T - 1, true, false, revoked) ==
	    VERIFY_CLIENT_REVOKED);
	TEST_ASSERT(rule(T, true, false, revoked) == VERIFY_CLIENT_REVOKED);
	TEST_ASSERT(rule(T + 1, true, false, revoked) == VERIFY_OK);
	/*
	 * The same for a client disabled at T, and while it is disabled no
	 * token of it passes, whatever its iat (an instance whose clock runs
	 * ahead of Redis's issued it).
	 */
	TEST_ASSERT(rule(T - LEEWAY, true, false, disabled) ==
	    VERIFY_CLIENT_REVOKED);
	TEST_ASSERT(rule(T, true, false, disabled) == VERIFY_CLIENT_REVOKED);
	TEST_ASSERT(rule(T + 1, true, false, disabled) ==
	    VERIFY_CLIENT_REVOKED);
	TEST_ASSERT(rule(T + 3600, true, false, disabled) ==
	    VERIFY_CLIENT_REVOKED);
	/* revoked_before 0: no token issued after 1970 is affected. */
	TEST_ASSERT(rule(1, true, false, plain) == VERIFY_OK);

	/*
	 * Created (again) at T: a token from before it, beyond the leeway,
	 * belongs to the client that was removed.
	 */
	TEST_ASSERT(rule(T - LEEWAY - 1, true, false, recreated) ==
	    VERIFY_CLIENT_REMOVED);
	TEST_ASSERT(rule(T - LEEWAY, true, false, recreated) == VERIFY_OK);
	TEST_ASSERT(rule(T, true, false, recreated) == VERIFY_OK);
	/* revoked_before is checked first. */
	TEST_ASSERT(rule(T - 1000, true, false, revoked) ==
	    VERIFY_CLIENT_REVOKED);

	client_record_free(plain);
	client_record_free(revoked);
	client_record_free(disabled);
	client_record_free(recreated);
}

/*
 * The generation rules: what decides is the token's client_gen against
 * the record's generation, never iat against a time in the record.
 */
static void
test_verify_generation_rules(void)
{
	struct client_record	*a1 = gen_record(GEN_A1, false);
	struct client_record	*a2_disabled = gen_record(GEN_A2, true);
	/* enabled again at T, in the second of the disable */
	struct client_record	*a3 = record_gen("c1", "1700000000",
				    "1700000000", "0", GEN_A3);
	/* removed and added again at T */
	struct client_record	*b1 = gen_record(GEN_B1, false);
	struct client_record	*legacy_gen = gen_record(GEN_L1, false);
	struct client_record	*old_script = record("c1", "0", "0", "0");
	/* disabled by hand without a new generation */
	struct client_record	*a1_disabled = record_gen("c1", "0", "0",
				    "1", GEN_A1);
	int64_t			 skew[] = { -3 * LEEWAY, -LEEWAY, -1, 0, 1,
				    LEEWAY, 3 * LEEWAY };
	size_t			 i;

	TEST_ASSERT(a1 && a2_disabled && a3 && b1 && legacy_gen &&
	    old_script && a1_disabled);
	for (i = 0; i < nitems(skew); i++) {
		int64_t	 iat = T + skew[i];

		/* The current generation passes, whatever the clocks. */
		TEST_ASSERT(grule(iat, GEN_A1, false, a1) == VERIFY_OK);
		TEST_ASSERT(grule(iat, GEN_A3, false, a3) == VERIFY_OK);
		TEST_ASSERT(grule(iat, GEN_B1, false, b1) == VERIFY_OK);

		/*
		 * Disabled: every token rejected, those issued by an
		 * instance that had not heard of the disable (the old
		 * generation, an iat after the disable) included.
		 */
		TEST_ASSERT(grule(iat, GEN_A1, false, a2_disabled) ==
		    VERIFY_CLIENT_REVOKED);
		TEST_ASSERT(grule(iat, GEN_A2, false, a2_disabled) ==
		    VERIFY_CLIENT_REVOKED);
		TEST_ASSERT(grule(iat, GEN_A1, false, a1_disabled) ==
		    VERIFY_CLIENT_REVOKED);

		/* Enabled again: the tokens of before stay rejected. */
		TEST_ASSERT(grule(iat, GEN_A1, false, a3) ==
		    VERIFY_CLIENT_REVOKED);
		TEST_ASSERT(grule(iat, GEN_A2, false, a3) ==
		    VERIFY_CLIENT_REVOKED);

		/*
		 * Removed and added again within the leeway: the old
		 * client's tokens are another incarnation's.
		 */
		TEST_ASSERT(grule(iat, GEN_A1, false, b1) ==
		    VERIFY_CLIENT_REMOVED);
		TEST_ASSERT(grule(iat, GEN_A3, false, b1) ==
		    VERIFY_CLIENT_REMOVED);
		TEST_ASSERT(grule(iat, GEN_B1, false, a1) ==
		    VERIFY_CLIENT_REMOVED);

		/*
		 * A token without client_gen (issued before generations):
		 * the legacy incarnation's. Its client got a generation by
		 * a lifecycle change since: revoked; a client added by the
		 * current script: not its client.
		 */
		TEST_ASSERT(grule(iat, NULL, false, legacy_gen) ==
		    VERIFY_CLIENT_REVOKED);
		TEST_ASSERT(grule(iat, GEN_L1, false, legacy_gen) ==
		    VERIFY_OK);
		TEST_ASSERT(grule(iat, NULL, false, a1) ==
		    VERIFY_CLIENT_REMOVED);
		TEST_ASSERT(grule(iat, GEN_A1, false, legacy_gen) ==
		    VERIFY_CLIENT_REMOVED);

		/*
		 * A record of an older script (no generation) and a token
		 * with one: removed since, and made again by that script.
		 */
		TEST_ASSERT(grule(iat, GEN_A1, false, old_script) ==
		    VERIFY_CLIENT_REMOVED);
	}
	/* A client_gen that is no generation never matches one. */
	TEST_ASSERT(grule(T, "", false, a1) == VERIFY_CLIENT_REMOVED);
	TEST_ASSERT(grule(T, "a1a1a1a1a1a1a1a1", false, a1) ==
	    VERIFY_CLIENT_REMOVED);
	TEST_ASSERT(grule(T, "A1A1A1A1A1A1A1A1.0000000000000001", false, a1)
	    == VERIFY_CLIENT_REMOVED);
	TEST_ASSERT(grule(T, GEN_A1 "0", false, a1) == VERIFY_CLIENT_REMOVED);

	/*
	 * Vouched for by a sibling worker: accepted though this view has not
	 * caught up (no record yet, or still the disabled one).
	 */
	TEST_ASSERT(grule(T, GEN_A3, true, a2_disabled) == VERIFY_OK);
	TEST_ASSERT(grule(T, GEN_B1, true, NULL) == VERIFY_OK);
	TEST_ASSERT(grule(T, GEN_A3, false, a2_disabled) ==
	    VERIFY_CLIENT_REVOKED);
	TEST_ASSERT(grule(T, GEN_B1, false, NULL) == VERIFY_CLIENT_REMOVED);

	client_record_free(a1);
	client_record_free(a2_disabled);
	client_record_free(a3);
	client_record_free(b1);
	client_record_free(legacy_gen);
	client_record_free(old_script);
	client_record_free(a1_disabled);
}

/* A vouch never outranks an unavailable view or a revoked jti. */
static void
test_verify_vouch_order(void)
{
	struct client_record	*a1 = gen_record(GEN_A1, false);
	struct token_claims	 c;
	struct verify_facts	 f;

	TEST_ASSERT(a1 != NULL);
	memset(&c, 0, sizeof(c));
	c.jti = "j";
	c.client_id = "c1";
	c.client_gen = GEN_A1;
	c.iat = T;
	c.exp = T + TTL;
	memset(&f, 0, sizeof(f));
	f.client = a1;
	f.gen_vouched = true;
	TEST_ASSERT(verify_rules(&c, &f, LEEWAY) == VERIFY_UNAVAILABLE);
	f.current = true;
	f.jti_revoked = true;
	TEST_ASSERT(verify_rules(&c, &f, LEEWAY) == VERIFY_REVOKED);
	f.jti_revoked = false;
	TEST_ASSERT(verify_rules(&c, &f, LEEWAY) == VERIFY_OK);
	client_record_free(a1);
}

/*
 * The whole pipeline with tokens that carry client_gen: the claim comes
 * out of token_verify(), a cached token meets a new generation at its
 * next verification, and a token issued from a record without a
 * generation carries none.
 */
static void
test_verify_generation_pipeline(void)
{
	struct fake_view	 v = { .current = true };
	struct tcache		*c = tcache_new(8, LEEWAY);
	struct verify_env	 env;
	struct verify_outcome	 o;
	char			 jti[TOKEN_JTI_LEN + 1], *tok, *old;

	TEST_ASSERT(c != NULL);
	v.client = gen_record(GEN_A1, false);
	TEST_ASSERT(v.client != NULL);
	env = env_for(&v, c);
	tok = issue_gen("c1", GEN_A1, T, jti);
	old = issue("c1", T, jti);
	TEST_ASSERT(tok != NULL && old != NULL);

	verify_run(&env, tok, strlen(tok), T, &o);
	TEST_ASSERT(o.result == VERIFY_OK);
	TEST_ASSERT(o.claims->client_gen != NULL &&
	    strcmp(o.claims->client_gen, GEN_A1) == 0);
	verify_outcome_finish(&o);
	/* cached now; a hit carries the claim too */
	verify_run(&env, tok, strlen(tok), T + 1, &o);
	TEST_ASSERT(o.result == VERIFY_OK);
	TEST_ASSERT(strcmp(o.claims->client_gen, GEN_A1) == 0);
	verify_outcome_finish(&o);

	/* disabled and enabled again in the same second */
	client_record_free(v.client);
	v.client = record_gen("c1", "1700000000", "1700000000", "0", GEN_A2);
	verify_run(&env, tok, strlen(tok), T + 2, &o);
	TEST_ASSERT(o.result == VERIFY_CLIENT_REVOKED);
	verify_outcome_finish(&o);

	/* removed and added again */
	client_record_free(v.client);
	v.client = gen_record(GEN_B1, false);
	verify_run(&env, tok, strlen(tok), T + 3, &o);
	TEST_ASSERT(o.result == VERIFY_CLIENT_REMOVED);
	verify_outcome_finish(&o);
	/* a token without client_gen is not the new client's either */
	verify_run(&env, old, strlen(old), T + 3, &o);
	TEST_ASSERT(o.result == VERIFY_CLIENT_REMOVED);
	TEST_ASSERT(o.claims->client_gen == NULL);
	verify_outcome_finish(&o);

	free(tok);
	free(old);
	client_record_free(v.client);
	tcache_free(c);
}

static void
test_verify_reason_names(void)
{
	static const struct {
		enum verify_result	 r;
		enum token_verdict	 v;
		const char		*name;
	} cases[] = {
		{ VERIFY_OK,		 TOKEN_OK,	"ok" },
		{ VERIFY_BAD_TOKEN,	 TOKEN_EXPIRED,	"expired" },
		{ VERIFY_BAD_TOKEN,	 TOKEN_BAD_SIGNATURE, "bad_signature" },
		{ VERIFY_REVOKED,	 TOKEN_OK,	"revoked" },
		{ VERIFY_CLIENT_REMOVED, TOKEN_OK,	"client_removed" },
		{ VERIFY_CLIENT_REVOKED, TOKEN_OK,	"client_revoked" },
		{ VERIFY_UNAVAILABLE,	 TOKEN_OK,	"unavailable" },
	};
	struct verify_outcome	 o;
	size_t			 i;

	for (i = 0; i < nitems(cases); i++) {
		memset(&o, 0, sizeof(o));
		o.result = cases[i].r;
		o.verdict = cases[i].v;
		TEST_ASSERT(strcmp(verify_reason(&o), cases[i].name) == 0);
	}
}

static void
test_verify_bad_token(void)
{
	struct fake_view	 v = { .current = true };
	struct verify_env	 env;
	struct verify_outcome	 o;
	char			 jti[TOKEN_JTI_LEN + 1], *tok, *bad;
	size_t			 n;

	v.client = record("c1", "0", "0", "0");
	TEST_ASSERT(v.client != NULL);
	env = env_for(&v, NULL);
	tok = issue("c1", T, jti);
	TEST_ASSERT(tok != NULL);

	verify_run(&env, "not.a.token", 11, T, &o);
	TEST_ASSERT(o.result == VERIFY_BAD_TOKEN);
	TEST_ASSERT(o.verdict == TOKEN_MALFORMED);
	TEST_ASSERT(o.claims == NULL);
	TEST_ASSERT(strcmp(verify_reason(&o), "malformed") == 0);
	verify_outcome_finish(&o);

	/* A flipped signature byte. */
	bad = xstrdup(tok);
	n = strlen(bad);
	bad[n - 2] = bad[n - 2] == 'A' ? 'B' : 'A';
	verify_run(&env, bad, n, T, &o);
	TEST_ASSERT(o.result == VERIFY_BAD_TOKEN);
	TEST_ASSERT(o.verdict == TOKEN_BAD_SIGNATURE);
	TEST_ASSERT(o.claims == NULL);
	verify_outcome_finish(&o);
	free(bad);

	/* Expired: at exp + leeway, not a second before. */
	verify_run(&env, tok, strlen(tok), T + TTL + LEEWAY - 1, &o);
	TEST_ASSERT(o.result == VERIFY_OK);
	verify_outcome_finish(&o);
	verify_run(&env, tok, strlen(tok), T + TTL + LEEWAY, &o);
	TEST_ASSERT(o.result == VERIFY_BAD_TOKEN);
	TEST_ASSERT(o.verdict == TOKEN_EXPIRED);
	verify_outcome_finish(&o);

	/* Another issuer. */
	rules.issuer = "https://other.test";
	verify_run(&env, tok, strlen(tok), T, &o);
	TEST_ASSERT(o.result == VERIFY_BAD_TOKEN);
	TEST_ASSERT(o.verdict == TOKEN_WRONG_ISSUER);
	verify_outcome_finish(&o);

	/* The view is asked only about tokens that passed: once here. */
	TEST_ASSERT(v.calls == 1);

	/* A bad token is told apart from an unavailable view. */
	rules.issuer = ISSUER;
	v.current = false;
	verify_run(&env, "x", 1, T, &o);
	TEST_ASSERT(o.result == VERIFY_BAD_TOKEN);
	verify_outcome_finish(&o);
	TEST_ASSERT(v.calls == 1);

	free(tok);
	client_record_free(v.client);
}

static void
test_verify_results(void)
{
	struct fake_view	 v = { .current = true };
	struct verify_env	 env;
	struct verify_outcome	 o;
	char			 jti[TOKEN_JTI_LEN + 1], *tok;

	v.client = record("c1", "0", "0", "0");
	TEST_ASSERT(v.client != NULL);
	env = env_for(&v, NULL);
	tok = issue("c1", T, jti);
	TEST_ASSERT(tok != NULL);

	verify_run(&env, tok, strlen(tok), T + 5, &o);
	TEST_ASSERT(o.result == VERIFY_OK && o.verdict == TOKEN_OK);
	TEST_ASSERT(o.claims != NULL && strcmp(o.claims->jti, jti) == 0);
	TEST_ASSERT(v.last_now == T + 5);
	verify_outcome_finish(&o);
	TEST_ASSERT(o.claims == NULL);

	/* Every refusal by the rules keeps the claims (for the log). */
	v.revoked_jti = jti;
	verify_run(&env, tok, strlen(tok), T, &o);
	TEST_ASSERT(o.result == VERIFY_REVOKED && o.verdict == TOKEN_OK);
	TEST_ASSERT(o.claims != NULL);
	verify_outcome_finish(&o);
	v.revoked_jti = NULL;

	client_record_free(v.client);
	v.client = record("c2", "0", "0", "0");
	verify_run(&env, tok, strlen(tok), T, &o);
	TEST_ASSERT(o.result == VERIFY_CLIENT_REMOVED);
	TEST_ASSERT(o.claims != NULL);
	verify_outcome_finish(&o);

	client_record_free(v.client);
	v.client = record("c1", "1700000000", "0", "1");
	verify_run(&env, tok, strlen(tok), T, &o);
	TEST_ASSERT(o.result == VERIFY_CLIENT_REVOKED);
	TEST_ASSERT(o.claims != NULL);
	verify_outcome_finish(&o);

	client_record_free(v.client);
	v.client = record("c1", "0", "1700000100", "0");
	verify_run(&env, tok, strlen(tok), T, &o);
	TEST_ASSERT(o.result == VERIFY_CLIENT_REMOVED);
	verify_outcome_finish(&o);

	client_record_free(v.client);
	v.client = record("c1", "0", "0", "0");
	v.current = false;
	verify_run(&env, tok, strlen(tok), T, &o);
	TEST_ASSERT(o.result == VERIFY_UNAVAILABLE && o.verdict == TOKEN_OK);
	TEST_ASSERT(o.claims != NULL && strcmp(o.claims->jti, jti) == 0);
	verify_outcome_finish(&o);

	free(tok);
	client_record_free(v.client);
}

static void
test_verify_cache(void)
{
	struct fake_view	 v = { .current = true };
	struct tcache		*c = tcache_new(8, LEEWAY);
	struct tcache_stats	 st;
	struct verify_env	 env;
	struct verify_outcome	 o;
	char			 jti[TOKEN_JTI_LEN + 1], *tok;
	uint64_t		 hits0, misses0;

	TEST_ASSERT(c != NULL);
	v.client = record("c1", "0", "0", "0");
	TEST_ASSERT(v.client != NULL);
	env = env_for(&v, c);
	tok = issue("c1", T, jti);
	TEST_ASSERT(tok != NULL);
	hits0 = atomic_load(&shard.verify_cache_hits);
	misses0 = atomic_load(&shard.verify_cache_misses);

	/* Refused by a rule: not cached. */
	v.current = false;
	verify_run(&env, tok, strlen(tok), T, &o);
	TEST_ASSERT(o.result == VERIFY_UNAVAILABLE);
	verify_outcome_finish(&o);
	tcache_stats(c, &st);
	TEST_ASSERT(st.count == 0 && st.misses == 1);
	v.current = true;

	/* Passed everything: cached. */
	verify_run(&env, tok, strlen(tok), T, &o);
	TEST_ASSERT(o.result == VERIFY_OK);
	verify_outcome_finish(&o);
	tcache_stats(c, &st);
	TEST_ASSERT(st.count == 1 && st.hits == 0);

	/* A hit: the same claims, and the rules still run. */
	verify_run(&env, tok, strlen(tok), T + 10, &o);
	TEST_ASSERT(o.result == VERIFY_OK && o.verdict == TOKEN_OK);
	TEST_ASSERT(o.claims != NULL && strcmp(o.claims->jti, jti) == 0);
	TEST_ASSERT(o.claims->exp == T + TTL);
	verify_outcome_finish(&o);
	tcache_stats(c, &st);
	TEST_ASSERT(st.hits == 1);
	TEST_ASSERT(v.calls == 3);

	v.revoked_jti = jti;
	verify_run(&env, tok, strlen(tok), T + 11, &o);
	TEST_ASSERT(o.result == VERIFY_REVOKED);
	verify_outcome_finish(&o);
	v.revoked_jti = NULL;
	v.current = false;
	verify_run(&env, tok, strlen(tok), T + 12, &o);
	TEST_ASSERT(o.result == VERIFY_UNAVAILABLE && o.claims != NULL);
	verify_outcome_finish(&o);
	v.current = true;
	tcache_stats(c, &st);
	TEST_ASSERT(st.hits == 3 && st.count == 1);

	/* The last second a hit may be served. */
	verify_run(&env, tok, strlen(tok), T + TTL + LEEWAY - 1, &o);
	TEST_ASSERT(o.result == VERIFY_OK);
	verify_outcome_finish(&o);
	tcache_stats(c, &st);
	TEST_ASSERT(st.hits == 4);

	/*
	 * At exp + leeway the cached entry is dropped, and the token is
	 * verified afresh: expired, as token_verify() says.
	 */
	verify_run(&env, tok, strlen(tok), T + TTL + LEEWAY, &o);
	TEST_ASSERT(o.result == VERIFY_BAD_TOKEN);
	TEST_ASSERT(o.verdict == TOKEN_EXPIRED);
	TEST_ASSERT(o.claims == NULL);
	verify_outcome_finish(&o);
	tcache_stats(c, &st);
	TEST_ASSERT(st.hits == 4 && st.expired == 1 && st.count == 0);

	/* The metrics shard counted every lookup. */
	TEST_ASSERT(atomic_load(&shard.verify_cache_hits) - hits0 == 4);
	TEST_ASSERT(atomic_load(&shard.verify_cache_misses) - misses0 == 3);

	free(tok);
	client_record_free(v.client);
	tcache_free(c);
}

static void
test_verify_cache_clock_back(void)
{
	struct fake_view	 v = { .current = true };
	struct tcache		*c = tcache_new(8, LEEWAY);
	struct tcache_stats	 st;
	struct verify_env	 env;
	struct verify_outcome	 o;
	char			 jti[TOKEN_JTI_LEN + 1], *tok;

	TEST_ASSERT(c != NULL);
	v.client = record("c1", "0", "0", "0");
	TEST_ASSERT(v.client != NULL);
	env = env_for(&v, c);
	/* Issued a little in the future: accepted within the leeway. */
	tok = issue("c1", T + LEEWAY, jti);
	TEST_ASSERT(tok != NULL);
	verify_run(&env, tok, strlen(tok), T, &o);
	TEST_ASSERT(o.result == VERIFY_OK);
	verify_outcome_finish(&o);

	/*
	 * The clock goes back past iat - leeway: the entry is not served,
	 * and token_verify() refuses the token as not yet valid.
	 */
	verify_run(&env, tok, strlen(tok), T - 1, &o);
	TEST_ASSERT(o.result == VERIFY_BAD_TOKEN);
	TEST_ASSERT(o.verdict == TOKEN_NOT_YET_VALID);
	verify_outcome_finish(&o);
	tcache_stats(c, &st);
	TEST_ASSERT(st.hits == 0 && st.count == 0);

	free(tok);
	client_record_free(v.client);
	tcache_free(c);
}

static void
test_verify_no_cache_for_long_tokens(void)
{
	struct fake_view	 v = { .current = true };
	struct tcache		*c = tcache_new(8, LEEWAY);
	struct tcache_stats	 st;
	struct verify_env	 env;
	struct verify_outcome	 o;
	char			*big;

	/* Longer than TCACHE_TOKEN_MAX: verified, never looked up. */
	TEST_ASSERT(c != NULL);
	env = env_for(&v, c);
	big = xmalloc(TCACHE_TOKEN_MAX + 2);
	memset(big, 'a', TCACHE_TOKEN_MAX + 1);
	big[TCACHE_TOKEN_MAX + 1] = '\0';
	verify_run(&env, big, TCACHE_TOKEN_MAX + 1, T, &o);
	TEST_ASSERT(o.result == VERIFY_BAD_TOKEN);
	TEST_ASSERT(o.verdict == TOKEN_MALFORMED);
	verify_outcome_finish(&o);
	tcache_stats(c, &st);
	TEST_ASSERT(st.misses == 0 && st.hits == 0);
	free(big);
	tcache_free(c);
}

int
main(void)
{
	log_set_level(LOG_LEVEL_ERROR);
	if ((ks = load("ec256.pem")) == NULL)
		return 1;

	test_run(test_verify_rules);
	test_run(test_verify_generation_rules);
	test_run(test_verify_vouch_order);
	test_run(test_verify_generation_pipeline);
	test_run(test_verify_reason_names);
	test_run(test_verify_bad_token);
	test_run(test_verify_results);
	test_run(test_verify_cache);
	test_run(test_verify_cache_clock_back);
	test_run(test_verify_no_cache_for_long_tokens);

	keyset_unref(ks);
	return test_summary();
}
