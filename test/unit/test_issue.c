/*
 * test_issue: issue_token() with the fixed keys of test/data/keys and a
 * fixed clock (T below; nothing sleeps): the claims of the token, the
 * scope granted (all of the allowed ones by default, a requested subset,
 * invalid_scope beyond it), the audience and lifetime from the record or
 * the settings, expiry counted from the clock passed in, and the JOSE
 * header of each algorithm. Every token is checked with token_verify().
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "b64url.h"
#include "client_record.h"
#include "config.h"
#include "issue.h"
#include "keys.h"
#include "log.h"
#include "secret.h"
#include "token.h"
#include "util.h"
#include "test.h"

#ifndef TEST_DATA_DIR
#error "TEST_DATA_DIR must name test/data/keys"
#endif

#define T		((time_t)1700000000)
#define ISSUER		"https://issuer.test"
#define DEFAULT_AUD	"https://api.test"
#define DEFAULT_TTL	3600L

static struct keyset	*ks_es, *ks_rs, *ks_hs;

static struct keyset *
load(const char *signing, const char *hs)
{
	struct config	 cfg;
	struct keyset	*ks;
	char		 path[512], err[512], *retired[1] = { NULL };

	memset(&cfg, 0, sizeof(cfg));
	snprintf(path, sizeof(path), "%s/%s", TEST_DATA_DIR,
	    signing != NULL ? signing : hs);
	if (signing != NULL)
		cfg.signing_key = path;
	else
		cfg.hs256_secret_file = path;
	cfg.retired_keys = retired;
	if ((ks = keyset_load(&cfg, err, sizeof(err))) == NULL)
		fprintf(stderr, "keyset_load: %s\n", err);
	return ks;
}

/* The settings issue_token() reads. */
static struct config
settings(enum token_typ typ)
{
	struct config	 cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.issuer = (char *)(uintptr_t)ISSUER;
	cfg.default_audience = (char *)(uintptr_t)DEFAULT_AUD;
	cfg.token_ttl = DEFAULT_TTL;
	cfg.token_typ = typ;
	return cfg;
}

/*
 * A client record "c1" as client_record_decode() makes it from a hash
 * with these fields (NULL: the field is absent).
 */
static struct client_record *
record_gen(const char *scopes, const char *audience, const char *ttl,
    const char *claims, const char *gen)
{
	const char		*fields[6], *values[6];
	size_t			 flens[6], vlens[6], n = 0, i;
	struct client_record	*rec = NULL;
	char			 err[256];

	fields[n] = "secret";
	values[n++] = secret_dummy_hash();
	if (scopes != NULL) {
		fields[n] = "scopes";
		values[n++] = scopes;
	}
	if (audience != NULL) {
		fields[n] = "audience";
		values[n++] = audience;
	}
	if (ttl != NULL) {
		fields[n] = "ttl";
		values[n++] = ttl;
	}
	if (claims != NULL) {
		fields[n] = "claims";
		values[n++] = claims;
	}
	if (gen != NULL) {
		fields[n] = "generation";
		values[n++] = gen;
	}
	for (i = 0; i < n; i++) {
		flens[i] = strlen(fields[i]);
		vlens[i] = strlen(values[i]);
	}
	if (client_record_decode("c1", n, fields, flens, values, vlens, &rec,
	    err, sizeof(err)) == -1)
		fprintf(stderr, "client_record_decode: %s\n", err);
	return rec;
}

static struct client_record *
record(const char *scopes, const char *audience, const char *ttl,
    const char *claims)
{
	return record_gen(scopes, audience, ttl, claims, NULL);
}

static struct token_rules
rules_for(const struct config *cfg)
{
	struct token_rules	 r;

	memset(&r, 0, sizeof(r));
	r.issuer = ISSUER;
	r.typ = cfg->token_typ == TOKEN_TYP_JWT ? TOKEN_TYP_JWT_STR :
	    TOKEN_TYP_AT_JWT_STR;
	r.leeway = 0;
	return r;
}

/* The decoded JOSE header of jws, NUL-terminated (free()), or NULL. */
static char *
header_of(const char *jws)
{
	const char	*dot = strchr(jws, '.');
	size_t		 n, len;
	char		*buf;

	if (dot == NULL)
		return NULL;
	n = (size_t)(dot - jws);
	buf = xmalloc(B64URL_DECODED_MAX(n) + 1);
	if (b64url_decode((unsigned char *)buf, &len, jws, n) == -1) {
		free(buf);
		return NULL;
	}
	buf[len] = '\0';
	return buf;
}

static void
test_issue_claims(void)
{
	struct config		 cfg = settings(TOKEN_TYP_AT_JWT);
	struct token_rules	 rules = rules_for(&cfg);
	struct client_record	*rec;
	struct issued		 t;
	struct token_claims	*c = NULL;
	struct json_object	*v;

	rec = record("read write", NULL, NULL, "{\"tenant\":\"t1\"}");
	TEST_ASSERT(rec != NULL);
	TEST_ASSERT(issue_token(&cfg, ks_es, rec, NULL, NULL, 0, T, &t) ==
	    ISSUE_OK);
	TEST_ASSERT(t.jws != NULL);
	TEST_ASSERT(strlen(t.jti) == TOKEN_JTI_LEN);
	TEST_ASSERT(t.expires_in == DEFAULT_TTL);
	TEST_ASSERT(t.scope != NULL && strcmp(t.scope, "read write") == 0);
	TEST_ASSERT(token_verify(ks_es, t.jws, strlen(t.jws), T, &rules, &c)
	    == TOKEN_OK);
	TEST_ASSERT(strcmp(c->iss, ISSUER) == 0);
	TEST_ASSERT(strcmp(c->sub, "c1") == 0);
	TEST_ASSERT(strcmp(c->client_id, "c1") == 0);
	TEST_ASSERT(c->aud != NULL && strcmp(c->aud, DEFAULT_AUD) == 0);
	TEST_ASSERT(strcmp(c->jti, t.jti) == 0);
	TEST_ASSERT(c->scope != NULL && strcmp(c->scope, "read write") == 0);
	TEST_ASSERT(c->iat == T);
	TEST_ASSERT(c->exp == T + DEFAULT_TTL);
	TEST_ASSERT(!c->has_nbf);
	TEST_ASSERT(c->key == keyset_signing_key(ks_es));
	/* The record's metadata claims come along. */
	TEST_ASSERT(json_object_object_get_ex(c->payload, "tenant", &v));
	TEST_ASSERT(strcmp(json_object_get_string(v), "t1") == 0);
	token_claims_free(c);
	issued_finish(&t);
	TEST_ASSERT(t.jws == NULL && t.scope == NULL);
	client_record_free(rec);
}

/*
 * The token carries the record's generation, so that it is verified
 * against the record it was issued from; a record without one (written
 * by an older script) gives a token without client_gen.
 */
static void
test_issue_generation(void)
{
	struct config		 cfg = settings(TOKEN_TYP_AT_JWT);
	struct token_rules	 rules = rules_for(&cfg);
	struct client_record	*rec;
	struct issued		 t;
	struct token_claims	*c = NULL;

	rec = record_gen("read", NULL, NULL, "{\"tenant\":\"t1\"}",
	    "00112233445566ff.8899aabbccddeeff");
	TEST_ASSERT(rec != NULL);
	TEST_ASSERT(issue_token(&cfg, ks_es, rec, NULL, NULL, 0, T, &t) ==
	    ISSUE_OK);
	TEST_ASSERT(token_verify(ks_es, t.jws, strlen(t.jws), T, &rules, &c)
	    == TOKEN_OK);
	TEST_ASSERT(c->client_gen != NULL && strcmp(c->client_gen,
	    "00112233445566ff.8899aabbccddeeff") == 0);
	token_claims_free(c);
	c = NULL;
	issued_finish(&t);
	client_record_free(rec);

	rec = record("read", NULL, NULL, NULL);
	TEST_ASSERT(rec != NULL);
	TEST_ASSERT(issue_token(&cfg, ks_es, rec, NULL, NULL, 0, T, &t) ==
	    ISSUE_OK);
	TEST_ASSERT(token_verify(ks_es, t.jws, strlen(t.jws), T, &rules, &c)
	    == TOKEN_OK);
	TEST_ASSERT(c->client_gen == NULL);
	token_claims_free(c);
	issued_finish(&t);
	client_record_free(rec);
}

/*
 * A certificate-bound token (RFC 8705 3.1) carries cnf {"x5t#S256"} and
 * the record's metadata claims beside it; an unbound token has no cnf.
 */
static void
test_issue_cnf_x5t(void)
{
	static const char	 x5t[] =
	    "cQk5Hj2FTvV3LSMwm202c5he0s5_99WsZqtCvhavB-c";
	struct config		 cfg = settings(TOKEN_TYP_AT_JWT);
	struct token_rules	 rules = rules_for(&cfg);
	struct client_record	*rec;
	struct issued		 t;
	struct token_claims	*c = NULL;
	struct json_object	*cnf, *v;

	rec = record("read", NULL, NULL, "{\"tenant\":\"t1\"}");
	TEST_ASSERT(rec != NULL);
	TEST_ASSERT(issue_token_bound(&cfg, ks_es, rec, NULL, NULL, 0, T, x5t,
	    NULL, &t) == ISSUE_OK);
	TEST_ASSERT(token_verify(ks_es, t.jws, strlen(t.jws), T, &rules, &c)
	    == TOKEN_OK);
	TEST_ASSERT(json_object_object_get_ex(c->payload, "cnf", &cnf));
	TEST_ASSERT(json_object_object_length(cnf) == 1);
	TEST_ASSERT(json_object_object_get_ex(cnf, "x5t#S256", &v));
	TEST_ASSERT(strcmp(json_object_get_string(v), x5t) == 0);
	TEST_ASSERT(json_object_object_get_ex(c->payload, "tenant", &v));
	token_claims_free(c);
	c = NULL;
	issued_finish(&t);
	TEST_ASSERT(issue_token(&cfg, ks_es, rec, NULL, NULL, 0, T, &t) ==
	    ISSUE_OK);
	TEST_ASSERT(token_verify(ks_es, t.jws, strlen(t.jws), T, &rules, &c)
	    == TOKEN_OK);
	TEST_ASSERT(!json_object_object_get_ex(c->payload, "cnf", &cnf));
	token_claims_free(c);
	issued_finish(&t);
	client_record_free(rec);
}

/* cnf.jkt (RFC 9449 6.1) alone, and beside x5t#S256 in one cnf */
static void
test_issue_cnf_jkt(void)
{
	static const char	 x5t[] =
	    "cQk5Hj2FTvV3LSMwm202c5he0s5_99WsZqtCvhavB-c";
	static const char	 jkt[] =
	    "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";
	struct config		 cfg = settings(TOKEN_TYP_AT_JWT);
	struct token_rules	 rules = rules_for(&cfg);
	struct client_record	*rec;
	struct issued		 t;
	struct token_claims	*c = NULL;
	struct json_object	*cnf;
	bool			 bad;

	rec = record("read", NULL, NULL, NULL);
	TEST_ASSERT(rec != NULL);
	TEST_ASSERT(issue_token_bound(&cfg, ks_es, rec, NULL, NULL, 0, T, NULL,
	    jkt, &t) == ISSUE_OK);
	TEST_ASSERT(token_verify(ks_es, t.jws, strlen(t.jws), T, &rules, &c)
	    == TOKEN_OK);
	TEST_ASSERT(json_object_object_get_ex(c->payload, "cnf", &cnf));
	TEST_ASSERT(json_object_object_length(cnf) == 1);
	TEST_ASSERT(strcmp(token_claims_cnf_jkt(c, &bad), jkt) == 0 && !bad);
	TEST_ASSERT(token_claims_cnf_x5t(c, &bad) == NULL && !bad);
	token_claims_free(c);
	c = NULL;
	issued_finish(&t);
	TEST_ASSERT(issue_token_bound(&cfg, ks_es, rec, NULL, NULL, 0, T, x5t,
	    jkt, &t) == ISSUE_OK);
	TEST_ASSERT(token_verify(ks_es, t.jws, strlen(t.jws), T, &rules, &c)
	    == TOKEN_OK);
	TEST_ASSERT(json_object_object_get_ex(c->payload, "cnf", &cnf));
	TEST_ASSERT(json_object_object_length(cnf) == 2);
	TEST_ASSERT(strcmp(token_claims_cnf_jkt(c, &bad), jkt) == 0 && !bad);
	TEST_ASSERT(strcmp(token_claims_cnf_x5t(c, &bad), x5t) == 0 && !bad);
	token_claims_free(c);
	issued_finish(&t);
	client_record_free(rec);
}

static void
test_issue_jti_unique(void)
{
	struct config		 cfg = settings(TOKEN_TYP_AT_JWT);
	struct client_record	*rec = record("read", NULL, NULL, NULL);
	struct issued		 a, b;

	TEST_ASSERT(rec != NULL);
	TEST_ASSERT(issue_token(&cfg, ks_hs, rec, NULL, NULL, 0, T, &a) ==
	    ISSUE_OK);
	TEST_ASSERT(issue_token(&cfg, ks_hs, rec, NULL, NULL, 0, T, &b) ==
	    ISSUE_OK);
	TEST_ASSERT(strcmp(a.jti, b.jti) != 0);
	TEST_ASSERT(strcmp(a.jws, b.jws) != 0);
	issued_finish(&a);
	issued_finish(&b);
	client_record_free(rec);
}

/* The scope claim of a token issued for rec with requested. */
static enum issue_result
granted(const struct client_record *rec, const char *requested,
    char *scope, size_t len)
{
	struct config		 cfg = settings(TOKEN_TYP_AT_JWT);
	struct token_rules	 rules = rules_for(&cfg);
	struct issued		 t;
	struct token_claims	*c = NULL;
	enum issue_result	 r;

	scope[0] = '\0';
	if ((r = issue_token(&cfg, ks_hs, rec, requested, NULL, 0, T, &t)) !=
	    ISSUE_OK) {
		/* nothing to free: *out is zeroed */
		if (t.jws != NULL || t.scope != NULL)
			abort();
		return r;
	}
	if (token_verify(ks_hs, t.jws, strlen(t.jws), T, &rules, &c) !=
	    TOKEN_OK)
		abort();
	/* The answer's scope and the claim say the same. */
	if ((t.scope == NULL) != (c->scope == NULL) ||
	    (t.scope != NULL && strcmp(t.scope, c->scope) != 0))
		abort();
	snprintf(scope, len, "%s", c->scope != NULL ? c->scope : "(none)");
	token_claims_free(c);
	issued_finish(&t);
	return r;
}

static void
test_issue_scope(void)
{
	struct client_record	*rec = record("read write admin", NULL, NULL,
				    NULL);
	struct client_record	*none = record("", NULL, NULL, NULL);
	char			 s[256];

	TEST_ASSERT(rec != NULL && none != NULL);
	/* No scope parameter: every allowed scope, in the record's order. */
	TEST_ASSERT(granted(rec, NULL, s, sizeof(s)) == ISSUE_OK);
	TEST_ASSERT(strcmp(s, "read write admin") == 0);
	/* A subset, in the order asked for, repeats dropped. */
	TEST_ASSERT(granted(rec, "write", s, sizeof(s)) == ISSUE_OK);
	TEST_ASSERT(strcmp(s, "write") == 0);
	TEST_ASSERT(granted(rec, "admin read", s, sizeof(s)) == ISSUE_OK);
	TEST_ASSERT(strcmp(s, "admin read") == 0);
	TEST_ASSERT(granted(rec, "read read", s, sizeof(s)) == ISSUE_OK);
	TEST_ASSERT(strcmp(s, "read") == 0);
	TEST_ASSERT(granted(rec, "read write admin", s, sizeof(s)) ==
	    ISSUE_OK);
	TEST_ASSERT(strcmp(s, "read write admin") == 0);
	/* An empty scope parameter is the empty subset: no scope claim. */
	TEST_ASSERT(granted(rec, "", s, sizeof(s)) == ISSUE_OK);
	TEST_ASSERT(strcmp(s, "(none)") == 0);
	/* Beyond the allowed scopes, or malformed: invalid_scope. */
	TEST_ASSERT(granted(rec, "delete", s, sizeof(s)) ==
	    ISSUE_INVALID_SCOPE);
	TEST_ASSERT(granted(rec, "read delete", s, sizeof(s)) ==
	    ISSUE_INVALID_SCOPE);
	TEST_ASSERT(granted(rec, "Read", s, sizeof(s)) ==
	    ISSUE_INVALID_SCOPE);
	TEST_ASSERT(granted(rec, "read  write", s, sizeof(s)) ==
	    ISSUE_INVALID_SCOPE);
	TEST_ASSERT(granted(rec, " read", s, sizeof(s)) ==
	    ISSUE_INVALID_SCOPE);
	TEST_ASSERT(granted(rec, "re\"ad", s, sizeof(s)) ==
	    ISSUE_INVALID_SCOPE);
	/* A client without scopes: none by default, none to ask for. */
	TEST_ASSERT(granted(none, NULL, s, sizeof(s)) == ISSUE_OK);
	TEST_ASSERT(strcmp(s, "(none)") == 0);
	TEST_ASSERT(granted(none, "read", s, sizeof(s)) ==
	    ISSUE_INVALID_SCOPE);
	client_record_free(rec);
	client_record_free(none);
}

static void
test_issue_record_settings(void)
{
	struct config		 cfg = settings(TOKEN_TYP_AT_JWT);
	struct token_rules	 rules = rules_for(&cfg);
	struct client_record	*rec;
	struct issued		 t;
	struct token_claims	*c = NULL;

	/* The record's audience and ttl win over the settings'. */
	rec = record("read", "https://other.test", "60", NULL);
	TEST_ASSERT(rec != NULL);
	TEST_ASSERT(issue_token(&cfg, ks_es, rec, NULL, NULL, 0, T, &t) ==
	    ISSUE_OK);
	TEST_ASSERT(t.expires_in == 60);
	TEST_ASSERT(token_verify(ks_es, t.jws, strlen(t.jws), T, &rules, &c)
	    == TOKEN_OK);
	TEST_ASSERT(strcmp(c->aud, "https://other.test") == 0);
	TEST_ASSERT(c->exp == T + 60);
	token_claims_free(c);
	issued_finish(&t);
	client_record_free(rec);

	/* "" and "0" are the settings' again. */
	rec = record("read", "", "0", NULL);
	TEST_ASSERT(rec != NULL);
	TEST_ASSERT(issue_token(&cfg, ks_es, rec, NULL, NULL, 0, T, &t) ==
	    ISSUE_OK);
	TEST_ASSERT(t.expires_in == DEFAULT_TTL);
	TEST_ASSERT(token_verify(ks_es, t.jws, strlen(t.jws), T, &rules, &c)
	    == TOKEN_OK);
	TEST_ASSERT(strcmp(c->aud, DEFAULT_AUD) == 0);
	TEST_ASSERT(c->exp == T + DEFAULT_TTL);
	token_claims_free(c);
	issued_finish(&t);
	client_record_free(rec);
}

static void
test_issue_expiry_from_clock(void)
{
	struct config		 cfg = settings(TOKEN_TYP_AT_JWT);
	struct token_rules	 rules = rules_for(&cfg);
	struct client_record	*rec = record("read", NULL, "60", NULL);
	struct issued		 t;
	struct token_claims	*c = NULL;
	const time_t		 when[] = { T, T + 86400 * 365, 1 };
	size_t			 i;

	TEST_ASSERT(rec != NULL);
	for (i = 0; i < nitems(when); i++) {
		TEST_ASSERT(issue_token(&cfg, ks_rs, rec, NULL, NULL, 0, when[i], &t) ==
		    ISSUE_OK);
		/* iat is the clock passed in; exp is iat + ttl. */
		TEST_ASSERT(token_verify(ks_rs, t.jws, strlen(t.jws), when[i],
		    &rules, &c) == TOKEN_OK);
		TEST_ASSERT(c->iat == when[i]);
		TEST_ASSERT(c->exp == when[i] + 60);
		token_claims_free(c);
		/* Valid until the last second before exp, not at it. */
		TEST_ASSERT(token_verify(ks_rs, t.jws, strlen(t.jws),
		    when[i] + 59, &rules, &c) == TOKEN_OK);
		token_claims_free(c);
		TEST_ASSERT(token_verify(ks_rs, t.jws, strlen(t.jws),
		    when[i] + 60, &rules, &c) == TOKEN_EXPIRED);
		TEST_ASSERT(c == NULL);
		/* Not before its iat. */
		TEST_ASSERT(token_verify(ks_rs, t.jws, strlen(t.jws),
		    when[i] - 1, &rules, &c) == TOKEN_NOT_YET_VALID);
		TEST_ASSERT(c == NULL);
		issued_finish(&t);
	}
	client_record_free(rec);
}

/* The header of a token issued with ks under typ, exactly. */
static int
check_header(struct keyset *ks, enum token_typ typ, const char *alg)
{
	struct config		 cfg = settings(typ);
	struct token_rules	 rules = rules_for(&cfg);
	struct client_record	*rec = record("read", NULL, NULL, NULL);
	struct issued		 t;
	struct token_claims	*c = NULL;
	char			 want[256], *hdr = NULL;
	int			 ok = 0;

	if (rec == NULL || issue_token(&cfg, ks, rec, NULL, NULL, 0, T, &t) !=
	    ISSUE_OK)
		goto out;
	snprintf(want, sizeof(want), "{\"alg\":\"%s\",\"typ\":\"%s\","
	    "\"kid\":\"%s\"}", alg, rules.typ,
	    key_kid(keyset_signing_key(ks)));
	hdr = header_of(t.jws);
	if (hdr == NULL || strcmp(hdr, want) != 0) {
		fprintf(stderr, "header %s, want %s\n", hdr, want);
		goto done;
	}
	if (token_verify(ks, t.jws, strlen(t.jws), T, &rules, &c) != TOKEN_OK)
		goto done;
	ok = c->key == keyset_signing_key(ks) &&
	    key_alg(c->key) == key_alg(keyset_signing_key(ks));
	token_claims_free(c);
done:
	issued_finish(&t);
out:
	free(hdr);
	client_record_free(rec);
	return ok;
}

static void
test_issue_headers(void)
{
	TEST_ASSERT(check_header(ks_es, TOKEN_TYP_AT_JWT, "ES256"));
	TEST_ASSERT(check_header(ks_rs, TOKEN_TYP_AT_JWT, "RS256"));
	TEST_ASSERT(check_header(ks_hs, TOKEN_TYP_AT_JWT, "HS256"));
	TEST_ASSERT(check_header(ks_es, TOKEN_TYP_JWT, "ES256"));
	TEST_ASSERT(check_header(ks_rs, TOKEN_TYP_JWT, "RS256"));
	TEST_ASSERT(check_header(ks_hs, TOKEN_TYP_JWT, "HS256"));
}

static void
test_issue_typ_checked(void)
{
	struct config		 cfg = settings(TOKEN_TYP_JWT);
	struct config		 at = settings(TOKEN_TYP_AT_JWT);
	struct token_rules	 rules = rules_for(&at);
	struct client_record	*rec = record("read", NULL, NULL, NULL);
	struct issued		 t;
	struct token_claims	*c = NULL;

	/* A "JWT" token is not an "at+jwt" one, and the other way round. */
	TEST_ASSERT(rec != NULL);
	TEST_ASSERT(issue_token(&cfg, ks_es, rec, NULL, NULL, 0, T, &t) ==
	    ISSUE_OK);
	TEST_ASSERT(token_verify(ks_es, t.jws, strlen(t.jws), T, &rules, &c)
	    == TOKEN_WRONG_TYPE);
	TEST_ASSERT(c == NULL);
	issued_finish(&t);
	/* And a token of one key does not verify with another key set. */
	TEST_ASSERT(issue_token(&at, ks_es, rec, NULL, NULL, 0, T, &t) ==
	    ISSUE_OK);
	TEST_ASSERT(token_verify(ks_rs, t.jws, strlen(t.jws), T, &rules, &c)
	    == TOKEN_UNKNOWN_KID);
	issued_finish(&t);
	client_record_free(rec);
}

/*
 * RFC 8707 resource parameters: each must equal one of the record's
 * audiences byte for byte (else invalid_target), repeats count once,
 * an empty one is omitted; the token's aud is the requested ones (a
 * string for one, an array for several, in the order asked) or the
 * record's first audience; a record without audiences has only
 * --default-audience, which no resource can name.
 */
static void
test_issue_resources(void)
{
	static const struct {
		const char	*audience;	/* the record's field */
		const char	*res[4];	/* NULL-terminated */
		enum issue_result r;
		const char	*aud;		/* aud as JSON when ISSUE_OK */
	} cases[] = {
		{ "https://a.example b urn:c", { NULL }, ISSUE_OK,
		    "\"https:\\/\\/a.example\"" },
		{ "https://a.example b urn:c", { "b", NULL }, ISSUE_OK,
		    "\"b\"" },
		{ "https://a.example b urn:c", { "urn:c", "https://a.example",
		    NULL }, ISSUE_OK, "[\"urn:c\",\"https:\\/\\/a.example\"]" },
		{ "https://a.example b urn:c", { "b", "b", NULL }, ISSUE_OK,
		    "\"b\"" },
		{ "https://a.example b urn:c", { "b", "urn:c", "b", NULL },
		    ISSUE_OK, "[\"b\",\"urn:c\"]" },
		{ "https://a.example b urn:c", { "", NULL }, ISSUE_OK,
		    "\"https:\\/\\/a.example\"" },
		{ "https://a.example b urn:c", { "d", NULL },
		    ISSUE_INVALID_TARGET, NULL },
		{ "https://a.example b urn:c", { "b", "d", NULL },
		    ISSUE_INVALID_TARGET, NULL },
		/* byte for byte: no URI normalization */
		{ "https://a.example b urn:c", { "https://a.example/", NULL },
		    ISSUE_INVALID_TARGET, NULL },
		{ "https://a.example b urn:c", { "HTTPS://a.example", NULL },
		    ISSUE_INVALID_TARGET, NULL },
		{ "https://a.example b urn:c", { "https://a.example#f", NULL },
		    ISSUE_INVALID_TARGET, NULL },
		{ "https://a.example b urn:c", { "b urn:c", NULL },
		    ISSUE_INVALID_TARGET, NULL },
		{ "https://a.example b urn:c", { " b", NULL },
		    ISSUE_INVALID_TARGET, NULL },
		/* the default audience only: nothing can be asked for */
		{ NULL, { NULL }, ISSUE_OK, "\"https:\\/\\/api.test\"" },
		{ NULL, { DEFAULT_AUD, NULL }, ISSUE_INVALID_TARGET, NULL },
		{ "", { "x", NULL }, ISSUE_INVALID_TARGET, NULL },
	};
	struct config		 cfg = settings(TOKEN_TYP_AT_JWT);
	struct token_rules	 rules = rules_for(&cfg);
	size_t			 i, n;

	for (i = 0; i < nitems(cases); i++) {
		struct client_record	*rec;
		struct issued		 t;
		struct token_claims	*c = NULL;
		struct json_object	*aud;
		enum issue_result	 r;

		rec = record("read", cases[i].audience, NULL, NULL);
		TEST_ASSERT(rec != NULL);
		for (n = 0; cases[i].res[n] != NULL; n++)
			;
		r = issue_token(&cfg, ks_es, rec, NULL, cases[i].res, n, T,
		    &t);
		if (r != cases[i].r)
			fprintf(stderr, "case %zu: %d\n", i, (int)r);
		TEST_ASSERT(r == cases[i].r);
		if (r == ISSUE_OK) {
			TEST_ASSERT(token_verify(ks_es, t.jws, strlen(t.jws),
			    T, &rules, &c) == TOKEN_OK);
			TEST_ASSERT(json_object_object_get_ex(c->payload,
			    "aud", &aud));
			if (strcmp(json_object_to_json_string_ext(aud,
			    JSON_C_TO_STRING_PLAIN), cases[i].aud) != 0)
				fprintf(stderr, "case %zu: %s\n", i,
				    json_object_to_json_string_ext(aud,
				    JSON_C_TO_STRING_PLAIN));
			TEST_ASSERT(strcmp(json_object_to_json_string_ext(aud,
			    JSON_C_TO_STRING_PLAIN), cases[i].aud) == 0);
			token_claims_free(c);
			issued_finish(&t);
		} else
			TEST_ASSERT(t.jws == NULL);
		client_record_free(rec);
	}
	/*
	 * Long audiences asked for together: a token past TOKEN_MAX_LEN,
	 * which verification would refuse, is never issued; one at a time
	 * they fit.
	 */
	{
		static char		 auds[4 * 1001], claims[4000];
		const char		*four[4];
		struct client_record	*rec;
		struct issued		 t;
		struct token_claims	*c = NULL;
		size_t			 k;

		for (k = 0; k < 4; k++) {
			memset(auds + k * 1001, 'a' + (int)k, 1000);
			auds[k * 1001 + 1000] = k < 3 ? ' ' : '\0';
		}
		snprintf(claims, sizeof(claims), "{\"x\":\"%.*s\"}",
		    3900, auds);
		rec = record("read", auds, NULL, claims);
		TEST_ASSERT(rec != NULL && rec->n_audiences == 4);
		for (k = 0; k < 4; k++)
			four[k] = rec->audiences[k];
		TEST_ASSERT(issue_token(&cfg, ks_es, rec, NULL, four, 4, T,
		    &t) == ISSUE_INVALID_TARGET);
		TEST_ASSERT(t.jws == NULL);
		TEST_ASSERT(issue_token(&cfg, ks_es, rec, NULL, four + 3, 1, T,
		    &t) == ISSUE_OK);
		TEST_ASSERT(strlen(t.jws) <= TOKEN_MAX_LEN);
		TEST_ASSERT(token_verify(ks_es, t.jws, strlen(t.jws), T, &rules,
		    &c) == TOKEN_OK);
		token_claims_free(c);
		issued_finish(&t);
		client_record_free(rec);
	}
	/* more than ISSUE_RESOURCES_MAX: refused, never overrun */
	{
		const char		*many[ISSUE_RESOURCES_MAX + 1];
		struct client_record	*rec = record("read", "b", NULL, NULL);
		struct issued		 t;
		const char		*out[ISSUE_RESOURCES_MAX + 1];
		size_t			 k;

		TEST_ASSERT(rec != NULL);
		for (k = 0; k < nitems(many); k++)
			many[k] = "b";
		TEST_ASSERT(issue_token(&cfg, ks_es, rec, NULL, many,
		    nitems(many), T, &t) == ISSUE_INVALID_TARGET);
		TEST_ASSERT(issue_audience(rec, many, nitems(many), out, &k)
		    == ISSUE_OK && k == 1);
		client_record_free(rec);
	}
}

int
main(void)
{
	log_set_level(LOG_LEVEL_ERROR);
	ks_es = load("ec256.pem", NULL);
	ks_rs = load("rsa2048.pem", NULL);
	ks_hs = load(NULL, "hs256.key");
	if (ks_es == NULL || ks_rs == NULL || ks_hs == NULL)
		return 1;

	test_run(test_issue_claims);
	test_run(test_issue_generation);
	test_run(test_issue_cnf_x5t);
	test_run(test_issue_cnf_jkt);
	test_run(test_issue_jti_unique);
	test_run(test_issue_scope);
	test_run(test_issue_resources);
	test_run(test_issue_record_settings);
	test_run(test_issue_expiry_from_clock);
	test_run(test_issue_headers);
	test_run(test_issue_typ_checked);

	keyset_unref(ks_es);
	keyset_unref(ks_rs);
	keyset_unref(ks_hs);
	return test_summary();
}
