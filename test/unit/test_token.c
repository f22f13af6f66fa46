/*
 * test_token: base64url, the RFC 7515 appendix A known answers, issuing,
 * and every verdict of token_verify() with crafted tokens. Time is always
 * passed in (T below); nothing sleeps.
 *
 * Tokens issued with typ "JWT" are also checked with libjwt 1.10.2, a
 * verifier we did not write: after jwt_decode() succeeds, jwt_get_alg()
 * must be the algorithm we expect, since libjwt 1.10.2 itself accepts an
 * HS256 token MAC'd with the public key's PEM text when given that PEM as
 * the key, and any token unverified (alg "none") when given a NULL or
 * empty key. The same libjwt refuses typ "at+jwt" outright (jwt_decode()
 * fails for any typ but "JWT"), which is why tokend has its own JWS code.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "b64url.h"
#include "config.h"
#include "keys.h"
#include "log.h"
#include "token.h"
#include "util.h"
#include "test.h"

#ifndef TEST_DATA_DIR
#error "TEST_DATA_DIR must name test/data/keys"
#endif

#define T		((time_t)1700000000)
#define ISSUER		"https://issuer.test"
#define LEEWAY		30

/* RFC 7515 A.1 to A.3: the same payload, three algorithms */
#define RFC_PAYLOAD	"eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6" \
			"Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
#define A1_HEADER	"eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
#define A1_SIG		"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
#define A2_HEADER	"eyJhbGciOiJSUzI1NiJ9"
#define A2_SIG		"cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XO" \
			"iZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr" \
			"7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xB" \
			"ArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--x" \
			"i12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9Q" \
			"OYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_Ioy" \
			"pGlUPQGe77Rw"
#define A3_HEADER	"eyJhbGciOiJFUzI1NiJ9"
#define A3_SIG		"DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5dj" \
			"xLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q"
#define A3_X		"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"
#define A3_Y		"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"

static struct keyset	*ks_es, *ks_rs, *ks_hs, *ks_b;
static const char	*kid_es;

/* Everything a test allocates goes here and is freed after it. */
static void	*arena[4096];
static size_t	 narena;

static void *
keep(void *p)
{
	if (narena == nitems(arena))
		abort();
	arena[narena++] = p;
	return p;
}

static void
arena_free(void)
{
	while (narena > 0)
		free(arena[--narena]);
}

#define RUN(fn)	do { test_run(fn); arena_free(); } while (0)

static const char *
data(const char *name)
{
	char	*p = keep(xmalloc(512));

	snprintf(p, 512, "%s/%s", TEST_DATA_DIR, name);
	return p;
}

static char *
read_all(const char *path, size_t *len)
{
	FILE	*fp;
	char	*buf = keep(xmalloc(65536));

	if ((fp = fopen(path, "rb")) == NULL)
		return NULL;
	*len = fread(buf, 1, 65535, fp);
	buf[*len] = '\0';
	fclose(fp);
	return buf;
}

static struct keyset *
load(const char *signing, const char *hs, const char *retired)
{
	struct config	 cfg;
	struct keyset	*ks;
	char		 err[512], *r[2] = { NULL, NULL };

	memset(&cfg, 0, sizeof(cfg));
	cfg.signing_key = signing != NULL ? xstrdup(data(signing)) : NULL;
	cfg.hs256_secret_file = hs != NULL ? xstrdup(data(hs)) : NULL;
	if (retired != NULL) {
		r[0] = xstrdup(data(retired));
		cfg.n_retired_keys = 1;
	}
	cfg.retired_keys = r;
	if ((ks = keyset_load(&cfg, err, sizeof(err))) == NULL)
		fprintf(stderr, "keyset_load: %s\n", err);
	free(r[0]);
	free(cfg.signing_key);
	free(cfg.hs256_secret_file);
	return ks;
}

static const struct key *
signer(const struct keyset *ks)
{
	return keyset_signing_key(ks);
}

static char *
b64(const void *p, size_t n)
{
	char	*s = keep(xmalloc(b64url_encoded_len(n) + 1));

	b64url_encode(s, p, n);
	return s;
}

static char *
b64s(const char *s)
{
	return b64(s, strlen(s));
}

/* A buffer of decoded bytes, NUL-terminated. */
static char *
unb64(const char *s, size_t n, size_t *outlen)
{
	char	*buf = keep(xmalloc(B64URL_DECODED_MAX(n) + 1));
	size_t	 len;

	if (b64url_decode((unsigned char *)buf, &len, s, n) == -1)
		return NULL;
	buf[len] = '\0';
	if (outlen != NULL)
		*outlen = len;
	return buf;
}

static char *
join3(const char *a, const char *b, const char *c)
{
	size_t	 n = strlen(a) + strlen(b) + strlen(c) + 3;
	char	*s = keep(xmalloc(n));

	snprintf(s, n, "%s.%s.%s", a, b, c);
	return s;
}

/* header.payload with the given raw signature bytes */
static char *
craft_sig(const char *hdr, const char *payload, const void *sig,
    size_t siglen)
{
	return join3(b64s(hdr), b64s(payload), b64(sig, siglen));
}

/* header.payload signed by k, whatever the header claims */
static char *
craft(const struct key *k, const char *hdr, const char *payload)
{
	unsigned char	 sig[KEY_SIG_MAX];
	size_t		 siglen, n;
	char		*input;

	n = strlen(hdr) * 2 + strlen(payload) * 2 + 8;
	input = keep(xmalloc(n));
	snprintf(input, n, "%s.%s", b64s(hdr), b64s(payload));
	if (key_sign(k, input, strlen(input), sig, &siglen) == -1)
		return NULL;
	return join3(b64s(hdr), b64s(payload), b64(sig, siglen));
}

/* The usual header for the ES256 key, with another alg or typ. */
static char *
hdr3(const char *alg, const char *typ, const char *kid)
{
	char	*s = keep(xmalloc(512));

	snprintf(s, 512, "{\"alg\":\"%s\",\"typ\":\"%s\",\"kid\":\"%s\"}", alg,
	    typ, kid);
	return s;
}

static char *
es_hdr(void)
{
	return hdr3("ES256", "at+jwt", kid_es);
}

/* Claims valid at T, with exp, nbf (if > 0) and iat as given. */
static char *
claims_t(long long exp, long long nbf, long long iat)
{
	char	*s = keep(xmalloc(512));
	char	 nbfs[64] = "";

	if (nbf > 0)
		snprintf(nbfs, sizeof(nbfs), "\"nbf\":%lld,", nbf);
	snprintf(s, 512, "{\"iss\":\"" ISSUER "\",\"sub\":\"c1\","
	    "\"aud\":\"api\",\"exp\":%lld,%s\"iat\":%lld,\"jti\":\"j1\","
	    "\"client_id\":\"c1\"}", exp, nbfs, iat);
	return s;
}

static char *
claims(void)
{
	return claims_t((long long)T + 3600, 0, (long long)T);
}

static const struct token_rules	 rules_at = {
	ISSUER, TOKEN_TYP_AT_JWT_STR, LEEWAY, 0
};

static enum token_verdict
vfy_n(const struct keyset *ks, const char *tok, size_t len, time_t now,
    const struct token_rules *rules)
{
	struct token_claims	*c = NULL;
	enum token_verdict	 v;

	v = token_verify(ks, tok, len, now, rules, &c);
	if ((v == TOKEN_OK) != (c != NULL))
		abort();
	token_claims_free(c);
	return v;
}

static enum token_verdict
vfy(const struct keyset *ks, const char *tok, time_t now)
{
	if (tok == NULL)
		abort();
	return vfy_n(ks, tok, strlen(tok), now, &rules_at);
}

static enum token_verdict
es(const char *hdr, const char *payload)
{
	return vfy(ks_es, craft(signer(ks_es), hdr, payload), T);
}

static char *
issue(const struct keyset *ks, const char *typ, const char *scope,
    const struct json_object *extra, char jti[TOKEN_JTI_LEN + 1])
{
	struct token_params	 p;
	char			*jws, tmp[TOKEN_JTI_LEN + 1];

	memset(&p, 0, sizeof(p));
	p.issuer = ISSUER;
	p.typ = typ;
	p.client_id = "c1";
	p.audience = "api";
	p.iat = T;
	p.ttl = 3600;
	p.scope = scope;
	p.extra_claims = extra;
	if (token_issue(signer(ks), &p, &jws, jti != NULL ? jti : tmp) == -1)
		return NULL;
	return keep(jws);
}

/* RFC 4648 10 test vectors, then every length round trip. */
static void
test_token_b64url_vectors(void)
{
	static const char *const	 in[] = {
		"", "f", "fo", "foo", "foob", "fooba", "foobar",
	};
	static const char *const	 out[] = {
		"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy",
	};
	unsigned char			 raw[300], back[300 + 3];
	char				 enc[512];
	size_t				 i, n, len;

	for (i = 0; i < nitems(in); i++) {
		n = b64url_encode(enc, (const unsigned char *)in[i],
		    strlen(in[i]));
		TEST_ASSERT(n == strlen(out[i]) && n ==
		    b64url_encoded_len(strlen(in[i])));
		TEST_ASSERT(strcmp(enc, out[i]) == 0);
		TEST_ASSERT(b64url_decode(back, &len, enc, n) == 0);
		TEST_ASSERT(len == strlen(in[i]));
		TEST_ASSERT(memcmp(back, in[i], len) == 0);
	}
	for (i = 0; i < sizeof(raw); i++)
		raw[i] = (unsigned char)(i * 37 + 11);
	for (n = 0; n <= sizeof(raw); n++) {
		len = b64url_encode(enc, raw, n);
		TEST_ASSERT(strspn(enc, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij"
		    "klmnopqrstuvwxyz0123456789-_") == len);
		TEST_ASSERT(b64url_decode(back, &len, enc, len) == 0);
		TEST_ASSERT(len == n && memcmp(back, raw, n) == 0);
	}
	/* 0xfb 0xff: the two characters base64 spells '+' and '/' */
	raw[0] = 0xfb;
	raw[1] = 0xff;
	b64url_encode(enc, raw, 2);
	TEST_ASSERT(strcmp(enc, "-_8") == 0);
}

static void
test_token_b64url_strict(void)
{
	static const char *const	 bad[] = {
		"Zg==", "Zg=", "Zm9=", "+_8", "-/8", "Zm 9v", "Zm9v\n",
		"Z", "Zm9vY", "Zh", "Zm9", "Zm9vYmF", "Zm9v.", "Zm\xc3\xa9",
	};
	unsigned char			 out[64];
	size_t				 i, len;

	for (i = 0; i < nitems(bad); i++) {
		/* "Zm9" and "Zm9vYmF" have spare bits set; "Zh" too */
		if (strcmp(bad[i], "Zm9") == 0 || strcmp(bad[i], "Zm9vYmF") == 0)
			continue;
		if (b64url_decode(out, &len, bad[i], strlen(bad[i])) != -1)
			fprintf(stderr, "accepted \"%s\"\n", bad[i]);
		TEST_ASSERT(b64url_decode(out, &len, bad[i],
		    strlen(bad[i])) == -1);
	}
	/* non-canonical trailing bits: "Zh" and "Zg" would both be "f" */
	TEST_ASSERT(b64url_decode(out, &len, "Zh", 2) == -1);
	TEST_ASSERT(b64url_decode(out, &len, "Zg", 2) == 0 && len == 1);
	TEST_ASSERT(b64url_decode(out, &len, "Zm9", 3) == -1);
	TEST_ASSERT(b64url_decode(out, &len, "Zm8", 3) == 0 && len == 2);
	/* a NUL inside the given length */
	TEST_ASSERT(b64url_decode(out, &len, "Zm\0v", 4) == -1);
	TEST_ASSERT(b64url_decode(out, &len, "", 0) == 0 && len == 0);
}

/* RFC 7515 A.1: HS256, the example key and JWS */
static void
test_token_rfc7515_a1(void)
{
	struct keyset		*ks;
	const struct key	*k;
	const char		*input = A1_HEADER "." RFC_PAYLOAD;
	unsigned char		 sig[KEY_SIG_MAX];
	char			*want;
	size_t			 siglen, wantlen;

	TEST_ASSERT((ks = load(NULL, "rfc7515-a1.key", NULL)) != NULL);
	k = signer(ks);
	want = unb64(A1_SIG, strlen(A1_SIG), &wantlen);
	TEST_ASSERT(want != NULL && wantlen == 32);
	TEST_ASSERT(key_verify(k, input, strlen(input),
	    (unsigned char *)want, wantlen) == 0);
	TEST_ASSERT(key_sign(k, input, strlen(input), sig, &siglen) == 0);
	TEST_ASSERT(siglen == 32 && memcmp(sig, want, 32) == 0);
	want[0] ^= 1;
	TEST_ASSERT(key_verify(k, input, strlen(input),
	    (unsigned char *)want, wantlen) == -1);
	/* the example has no kid: token_verify cannot even pick a key */
	TEST_ASSERT(vfy(ks, A1_HEADER "." RFC_PAYLOAD "." A1_SIG, T) ==
	    TOKEN_BAD_HEADER);
	keyset_unref(ks);
}

/* RFC 7515 A.2: RS256; PKCS#1 v1.5 is deterministic, so sign exactly */
static void
test_token_rfc7515_a2(void)
{
	struct keyset		*ks;
	const struct key	*k;
	const char		*input = A2_HEADER "." RFC_PAYLOAD;
	unsigned char		 sig[KEY_SIG_MAX];
	char			*want;
	size_t			 siglen, wantlen;

	TEST_ASSERT((ks = load("rfc7515-a2.pem", NULL, NULL)) != NULL);
	k = signer(ks);
	TEST_ASSERT(key_alg(k) == KEY_ALG_RS256);
	TEST_ASSERT(key_sign(k, input, strlen(input), sig, &siglen) == 0);
	TEST_ASSERT(siglen == 256);
	TEST_ASSERT(strcmp(b64(sig, siglen), A2_SIG) == 0);
	want = unb64(A2_SIG, strlen(A2_SIG), &wantlen);
	TEST_ASSERT(key_verify(k, input, strlen(input),
	    (unsigned char *)want, wantlen) == 0);
	keyset_unref(ks);
}

/* RFC 7515 A.3: ES256 (randomized, so verify the example) */
static void
test_token_rfc7515_a3(void)
{
	struct keyset		*ks;
	const struct key	*k;
	const char		*input = A3_HEADER "." RFC_PAYLOAD;
	char			*sig;
	size_t			 siglen;

	TEST_ASSERT((ks = load("rfc7515-a3.pem", NULL, NULL)) != NULL);
	k = signer(ks);
	/* the fixture is the RFC's key */
	TEST_ASSERT(strstr(key_jwk_json(k), "\"x\":\"" A3_X "\"") != NULL);
	TEST_ASSERT(strstr(key_jwk_json(k), "\"y\":\"" A3_Y "\"") != NULL);
	sig = unb64(A3_SIG, strlen(A3_SIG), &siglen);
	TEST_ASSERT(sig != NULL && siglen == 64);
	TEST_ASSERT(key_verify(k, input, strlen(input),
	    (unsigned char *)sig, siglen) == 0);
	TEST_ASSERT(key_verify(k, input, strlen(input) - 1,
	    (unsigned char *)sig, siglen) == -1);
	sig[10] ^= 0x40;
	TEST_ASSERT(key_verify(k, input, strlen(input),
	    (unsigned char *)sig, siglen) == -1);
	keyset_unref(ks);
}

static void
test_token_roundtrip(void)
{
	struct keyset *const	 sets[] = { ks_es, ks_rs, ks_hs };
	static const char *const algs[] = { "ES256", "RS256", "HS256" };
	struct token_claims	*c;
	char			 jti[TOKEN_JTI_LEN + 1], want[512];
	const char		*tok, *d1, *d2;
	size_t			 i;

	for (i = 0; i < nitems(sets); i++) {
		TEST_ASSERT((tok = issue(sets[i], "at+jwt", "read write",
		    NULL, jti)) != NULL);
		d1 = strchr(tok, '.');
		d2 = strchr(d1 + 1, '.');
		/* exactly alg, typ, kid, in this order */
		snprintf(want, sizeof(want), "{\"alg\":\"%s\",\"typ\":"
		    "\"at+jwt\",\"kid\":\"%s\"}", algs[i],
		    key_kid(signer(sets[i])));
		TEST_ASSERT(strcmp(unb64(tok, (size_t)(d1 - tok), NULL),
		    want) == 0);
		snprintf(want, sizeof(want), "{\"iss\":\"" ISSUER "\","
		    "\"sub\":\"c1\",\"aud\":\"api\",\"exp\":%lld,"
		    "\"iat\":%lld,\"jti\":\"%s\",\"client_id\":\"c1\","
		    "\"scope\":\"read write\"}", (long long)T + 3600,
		    (long long)T, jti);
		TEST_ASSERT(strcmp(unb64(d1 + 1, (size_t)(d2 - d1 - 1), NULL),
		    want) == 0);

		c = NULL;
		TEST_ASSERT(token_verify(sets[i], tok, strlen(tok), T,
		    &rules_at, &c) == TOKEN_OK);
		TEST_ASSERT(c != NULL);
		TEST_ASSERT(c->key == signer(sets[i]));
		TEST_ASSERT(strcmp(c->iss, ISSUER) == 0);
		TEST_ASSERT(strcmp(c->sub, "c1") == 0);
		TEST_ASSERT(strcmp(c->client_id, "c1") == 0);
		TEST_ASSERT(strcmp(c->jti, jti) == 0);
		TEST_ASSERT(strcmp(c->scope, "read write") == 0);
		TEST_ASSERT(strcmp(c->aud, "api") == 0);
		TEST_ASSERT(c->exp == (int64_t)T + 3600);
		TEST_ASSERT(c->iat == (int64_t)T);
		TEST_ASSERT(!c->has_nbf);
		TEST_ASSERT(json_object_is_type(c->payload, json_type_object));
		token_claims_free(c);

		/* a keyset without that key does not know the kid */
		TEST_ASSERT(vfy(ks_b, tok, T) == TOKEN_UNKNOWN_KID);
	}
}

static int
cmp_jti(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void
test_token_jti_unique(void)
{
	struct token_params	 p;
	char			(*jtis)[TOKEN_JTI_LEN + 1], *jws;
	size_t			 i, n = 1000;

	memset(&p, 0, sizeof(p));
	p.issuer = ISSUER;
	p.typ = "at+jwt";
	p.client_id = "c1";
	p.audience = "api";
	p.iat = T;
	p.ttl = 60;
	jtis = keep(xcalloc(n, sizeof(*jtis)));
	for (i = 0; i < n; i++) {
		TEST_ASSERT(token_issue(signer(ks_hs), &p, &jws, jtis[i]) ==
		    0);
		free(jws);
		TEST_ASSERT(strlen(jtis[i]) == TOKEN_JTI_LEN);
		TEST_ASSERT(strspn(jtis[i], "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij"
		    "klmnopqrstuvwxyz0123456789-_") == TOKEN_JTI_LEN);
	}
	qsort(jtis, n, sizeof(*jtis), cmp_jti);
	for (i = 1; i < n; i++)
		TEST_ASSERT(strcmp(jtis[i - 1], jtis[i]) != 0);
}

static void
test_token_scope_omitted(void)
{
	struct token_claims	*c = NULL;
	const char		*tok, *d1, *d2;
	size_t			 i;
	static const char *const scopes[] = { "", NULL };

	for (i = 0; i < nitems(scopes); i++) {
		TEST_ASSERT((tok = issue(ks_es, "at+jwt", scopes[i], NULL,
		    NULL)) != NULL);
		d1 = strchr(tok, '.');
		d2 = strchr(d1 + 1, '.');
		TEST_ASSERT(strstr(unb64(d1 + 1, (size_t)(d2 - d1 - 1), NULL),
		    "scope") == NULL);
		TEST_ASSERT(token_verify(ks_es, tok, strlen(tok), T, &rules_at,
		    &c) == TOKEN_OK);
		TEST_ASSERT(c->scope == NULL);
		token_claims_free(c);
		c = NULL;
	}
}

static void
test_token_extra_claims(void)
{
	struct json_object	*extra, *v;
	struct token_claims	*c = NULL;
	const char		*tok, *before;
	char			*copy;

	extra = json_tokener_parse("{\"iss\":\"evil\",\"sub\":\"root\","
	    "\"aud\":\"everything\",\"exp\":99999999999,\"nbf\":1,\"iat\":1,"
	    "\"jti\":\"fixed\",\"client_id\":\"admin\",\"scope\":\"admin\","
	    "\"client_gen\":\"0000000000000000.0000000000000000\","
	    "\"auth_time\":1,\"acr\":\"2\",\"amr\":[\"pwd\"],\"cnf\":{},"
	    "\"tenant\":\"acme\",\"roles\":[\"a\",\"b\"],\"n\":null,"
	    "\"f\":1.5,\"o\":{\"k\":[1,{\"z\":true}]}}");
	TEST_ASSERT(extra != NULL);
	before = json_object_to_json_string(extra);
	copy = keep(xstrdup(before));
	tok = issue(ks_es, "at+jwt", "read", extra, NULL);
	if (tok == NULL)
		json_object_put(extra);
	TEST_ASSERT(tok != NULL);
	/* the client's object is only read */
	TEST_ASSERT(strcmp(json_object_to_json_string(extra), copy) == 0);
	json_object_put(extra);
	TEST_ASSERT(token_verify(ks_es, tok, strlen(tok), T, &rules_at, &c) ==
	    TOKEN_OK);
	TEST_ASSERT(strcmp(c->iss, ISSUER) == 0);
	TEST_ASSERT(strcmp(c->sub, "c1") == 0);
	TEST_ASSERT(strcmp(c->aud, "api") == 0);
	TEST_ASSERT(strcmp(c->client_id, "c1") == 0);
	TEST_ASSERT(strcmp(c->scope, "read") == 0);
	TEST_ASSERT(strcmp(c->jti, "fixed") != 0);
	TEST_ASSERT(c->exp == (int64_t)T + 3600 && c->iat == (int64_t)T);
	TEST_ASSERT(!c->has_nbf);
	TEST_ASSERT(!json_object_object_get_ex(c->payload, "auth_time", NULL));
	TEST_ASSERT(!json_object_object_get_ex(c->payload, "acr", NULL));
	TEST_ASSERT(!json_object_object_get_ex(c->payload, "amr", NULL));
	TEST_ASSERT(!json_object_object_get_ex(c->payload, "cnf", NULL));
	/* a generation of the client's choosing would outlive a disable */
	TEST_ASSERT(c->client_gen == NULL);
	TEST_ASSERT(json_object_object_get_ex(c->payload, "tenant", &v) &&
	    strcmp(json_object_get_string(v), "acme") == 0);
	TEST_ASSERT(json_object_object_get_ex(c->payload, "roles", &v) &&
	    json_object_array_length(v) == 2);
	TEST_ASSERT(json_object_object_get_ex(c->payload, "n", &v) &&
	    v == NULL);
	TEST_ASSERT(json_object_object_get_ex(c->payload, "f", &v) &&
	    json_object_get_double(v) == 1.5);
	TEST_ASSERT(json_object_object_get_ex(c->payload, "o", &v) &&
	    json_object_is_type(v, json_type_object));
	token_claims_free(c);
}

static void
test_token_issue_refused(void)
{
	struct token_params	 p;
	struct keyset		*ks;
	struct json_object	*arr;
	char			 dummy = 0, *jws = &dummy;
	char			 jti[TOKEN_JTI_LEN + 1];

	memset(&p, 0, sizeof(p));
	p.issuer = ISSUER;
	p.typ = "at+jwt";
	p.client_id = "c1";
	p.audience = "api";
	p.iat = T;
	p.ttl = 60;
	TEST_ASSERT(token_issue(signer(ks_es), &p, &jws, jti) == 0);
	free(jws);
	p.issuer = NULL;
	TEST_ASSERT(token_issue(signer(ks_es), &p, &jws, jti) == -1);
	TEST_ASSERT(jws == NULL);
	p.issuer = ISSUER;
	p.audience = "";
	TEST_ASSERT(token_issue(signer(ks_es), &p, &jws, jti) == -1);
	p.audience = "api";
	p.ttl = 0;
	TEST_ASSERT(token_issue(signer(ks_es), &p, &jws, jti) == -1);
	p.ttl = 60;
	arr = json_object_new_array();
	p.extra_claims = arr;
	TEST_ASSERT(token_issue(signer(ks_es), &p, &jws, jti) == -1);
	json_object_put(arr);
	p.extra_claims = NULL;
	/* a retired key never signs */
	TEST_ASSERT((ks = load("ec256-b.pem", NULL, "ec256.pem")) != NULL);
	TEST_ASSERT(token_issue(keyset_find(ks, kid_es, strlen(kid_es)), &p,
	    &jws, jti) == -1);
	TEST_ASSERT(jws == NULL);
	keyset_unref(ks);
}

static void
test_token_retired_key_verifies(void)
{
	struct keyset		*ks;
	struct token_claims	*c = NULL;
	const char		*tok;

	TEST_ASSERT((tok = issue(ks_es, "at+jwt", NULL, NULL, NULL)) != NULL);
	TEST_ASSERT((ks = load("ec256-b.pem", NULL, "ec256.pem")) != NULL);
	TEST_ASSERT(token_verify(ks, tok, strlen(tok), T, &rules_at, &c) ==
	    TOKEN_OK);
	TEST_ASSERT(c->key == keyset_find(ks, kid_es, strlen(kid_es)));
	TEST_ASSERT(c->key != keyset_signing_key(ks));
	token_claims_free(c);
	keyset_unref(ks);
}

static void
test_token_verdict_names(void)
{
	const char	*names[TOKEN_NOT_YET_VALID + 1];
	int		 i, j;

	for (i = 0; i <= TOKEN_NOT_YET_VALID; i++) {
		names[i] = token_verdict_name((enum token_verdict)i);
		TEST_ASSERT(strcmp(names[i], "unknown") != 0);
		TEST_ASSERT(strspn(names[i], "abcdefghijklmnopqrstuvwxyz_") ==
		    strlen(names[i]));
		for (j = 0; j < i; j++)
			TEST_ASSERT(strcmp(names[i], names[j]) != 0);
	}
	TEST_ASSERT(strcmp(token_verdict_name(TOKEN_OK), "ok") == 0);
	TEST_ASSERT(strcmp(token_verdict_name(TOKEN_MALFORMED),
	    "malformed") == 0);
	TEST_ASSERT(strcmp(token_verdict_name(TOKEN_UNKNOWN_KID),
	    "unknown_kid") == 0);
	TEST_ASSERT(strcmp(token_verdict_name(TOKEN_ALG_MISMATCH),
	    "alg_mismatch") == 0);
	TEST_ASSERT(strcmp(token_verdict_name(TOKEN_BAD_SIGNATURE),
	    "bad_signature") == 0);
	TEST_ASSERT(strcmp(token_verdict_name(TOKEN_EXPIRED), "expired") == 0);
	TEST_ASSERT(strcmp(token_verdict_name((enum token_verdict)99),
	    "unknown") == 0);
}

static void
test_token_alg_none(void)
{
	static const char *const	 cases[] = {
		"none", "None", "NONE", "nOnE",
	};
	size_t				 i;
	char				*h;

	for (i = 0; i < nitems(cases); i++) {
		h = hdr3(cases[i], "at+jwt", kid_es);
		/* empty signature, with the trailing dot */
		TEST_ASSERT(vfy(ks_es, join3(b64s(h), b64s(claims()), ""),
		    T) == TOKEN_ALG_MISMATCH);
		/* or with some signature */
		TEST_ASSERT(vfy(ks_es, join3(b64s(h), b64s(claims()), "AAAA"),
		    T) == TOKEN_ALG_MISMATCH);
		/* with the HS256 secret's kid too */
		h = hdr3(cases[i], "at+jwt", "hs256");
		TEST_ASSERT(vfy(ks_hs, join3(b64s(h), b64s(claims()), ""),
		    T) == TOKEN_ALG_MISMATCH);
		/* without a kid */
		h = keep(xmalloc(64));
		snprintf(h, 64, "{\"alg\":\"%s\"}", cases[i]);
		TEST_ASSERT(vfy(ks_es, join3(b64s(h), b64s(claims()), ""),
		    T) == TOKEN_ALG_MISMATCH);
	}
	/* without the trailing dot: not even a JWS */
	h = keep(xmalloc(1024));
	snprintf(h, 1024, "%s.%s", b64s(hdr3("none", "at+jwt", kid_es)),
	    b64s(claims()));
	TEST_ASSERT(vfy(ks_es, h, T) == TOKEN_MALFORMED);
}

/*
 * The classic confusion: HS256 "signed" with the ES256 public key's PEM
 * text, which libjwt accepts (notes 1(d)). The kid names an EC key, so
 * the only algorithm possible is ES256.
 */
static void
test_token_alg_confusion(void)
{
	char		*pem, *h, *p, *input, *tok;
	size_t		 pemlen;
	unsigned char	 mac[32];
	unsigned int	 maclen;

	TEST_ASSERT((pem = read_all(data("ec256.pub.pem"), &pemlen)) != NULL);
	h = hdr3("HS256", "at+jwt", kid_es);
	p = claims();
	input = keep(xmalloc(2048));
	snprintf(input, 2048, "%s.%s", b64s(h), b64s(p));
	TEST_ASSERT(HMAC(EVP_sha256(), pem, (int)pemlen,
	    (unsigned char *)input, strlen(input), mac, &maclen) != NULL);
	tok = join3(b64s(h), b64s(p), b64(mac, maclen));
	TEST_ASSERT(vfy(ks_es, tok, T) == TOKEN_ALG_MISMATCH);
	/* the same against the RSA key */
	TEST_ASSERT((pem = read_all(data("rsa2048.pub.pem"), &pemlen)) !=
	    NULL);
	h = hdr3("HS256", "at+jwt", key_kid(signer(ks_rs)));
	snprintf(input, 2048, "%s.%s", b64s(h), b64s(p));
	TEST_ASSERT(HMAC(EVP_sha256(), pem, (int)pemlen,
	    (unsigned char *)input, strlen(input), mac, &maclen) != NULL);
	tok = join3(b64s(h), b64s(p), b64(mac, maclen));
	TEST_ASSERT(vfy(ks_rs, tok, T) == TOKEN_ALG_MISMATCH);
}

static void
test_token_alg_mismatch(void)
{
	static const char *const	 algs[] = {
		"ES384", "RS256", "HS256", "es256", "ES256 ", "PS256", "",
		"EdDSA",
	};
	size_t				 i;

	for (i = 0; i < nitems(algs); i++)
		TEST_ASSERT(es(hdr3(algs[i], "at+jwt", kid_es), claims()) ==
		    TOKEN_ALG_MISMATCH);
	/* RS256 key, ES256 claimed */
	TEST_ASSERT(vfy(ks_rs, craft(signer(ks_rs), hdr3("ES256", "at+jwt",
	    key_kid(signer(ks_rs))), claims()), T) == TOKEN_ALG_MISMATCH);
	/* HS256 secret, RS256 claimed */
	TEST_ASSERT(vfy(ks_hs, craft(signer(ks_hs), hdr3("RS256", "at+jwt",
	    "hs256"), claims()), T) == TOKEN_ALG_MISMATCH);
	/* and the right alg works */
	TEST_ASSERT(es(es_hdr(), claims()) == TOKEN_OK);
}

static void
test_token_tampered(void)
{
	char	*tok, *t2, *d1, *d2;

	tok = keep(xstrdup(craft(signer(ks_es), es_hdr(), claims())));
	TEST_ASSERT(vfy(ks_es, tok, T) == TOKEN_OK);
	d1 = strchr(tok, '.');
	d2 = strchr(d1 + 1, '.');
	/* another header, the same payload and signature */
	t2 = join3(b64s(hdr3("ES256", "AT+JWT", kid_es)),
	    keep(xstrndup(d1 + 1, (size_t)(d2 - d1 - 1))), d2 + 1);
	TEST_ASSERT(vfy(ks_es, t2, T) == TOKEN_BAD_SIGNATURE);
	/* another payload */
	t2 = join3(keep(xstrndup(tok, (size_t)(d1 - tok))),
	    b64s(claims_t((long long)T + 7200, 0, (long long)T)), d2 + 1);
	TEST_ASSERT(vfy(ks_es, t2, T) == TOKEN_BAD_SIGNATURE);
	/* one signature character changed (not the last: spare bits) */
	t2 = keep(xstrdup(tok));
	t2[(d2 - tok) + 10] = t2[(d2 - tok) + 10] == 'A' ? 'B' : 'A';
	TEST_ASSERT(vfy(ks_es, t2, T) == TOKEN_BAD_SIGNATURE);
	/* a payload byte changed */
	t2 = keep(xstrdup(tok));
	t2[(d1 - tok) + 5] = t2[(d1 - tok) + 5] == 'A' ? 'B' : 'A';
	/* (the signature is checked before the payload is even parsed) */
	TEST_ASSERT(vfy(ks_es, t2, T) == TOKEN_BAD_SIGNATURE);
}

static void
test_token_other_key(void)
{
	struct keyset	*hs2;

	/* signed by ec256-b, claiming ec256's kid */
	TEST_ASSERT(vfy(ks_es, craft(signer(ks_b), es_hdr(), claims()), T) ==
	    TOKEN_BAD_SIGNATURE);
	/* HS256 with another secret under the same kid */
	TEST_ASSERT((hs2 = load(NULL, "rfc7515-a1.key", NULL)) != NULL);
	TEST_ASSERT(vfy(ks_hs, craft(signer(hs2), hdr3("HS256", "at+jwt",
	    "hs256"), claims()), T) == TOKEN_BAD_SIGNATURE);
	keyset_unref(hs2);
}

static void
test_token_unknown_kid(void)
{
	static const char *const	 kids[] = {
		"nope", "../../../etc/passwd", "a\\r\\nb", "", "hs256",
		"https://evil.test/jwks.json",
	};
	size_t				 i;

	for (i = 0; i < nitems(kids); i++)
		TEST_ASSERT(es(hdr3("ES256", "at+jwt", kids[i]), claims()) ==
		    TOKEN_UNKNOWN_KID);
	/* the ES256 kid in another case, or with a path around it */
	{
		char	 k[128];

		snprintf(k, sizeof(k), "%s", kid_es);
		k[0] = (char)(k[0] ^ 0x20);
		TEST_ASSERT(es(hdr3("ES256", "at+jwt", k), claims()) ==
		    TOKEN_UNKNOWN_KID);
		snprintf(k, sizeof(k), "../%s", kid_es);
		TEST_ASSERT(es(hdr3("ES256", "at+jwt", k), claims()) ==
		    TOKEN_UNKNOWN_KID);
	}
	/* kid of a key in another set */
	TEST_ASSERT(es(hdr3("ES256", "at+jwt", key_kid(signer(ks_b))),
	    claims()) == TOKEN_UNKNOWN_KID);
	/* jku/x5u/jwk are not looked at: still unknown */
	TEST_ASSERT(es("{\"alg\":\"ES256\",\"typ\":\"at+jwt\",\"kid\":\"x\","
	    "\"jku\":\"https://evil.test/jwks\"}", claims()) ==
	    TOKEN_UNKNOWN_KID);
}

/* A kid cut by \u0000 never names a key: the header is not JSON to us. */
static void
test_token_kid_nul(void)
{
	char	 h[256];

	snprintf(h, sizeof(h), "{\"alg\":\"ES256\",\"typ\":\"at+jwt\","
	    "\"kid\":\"%s\\u0000\"}", kid_es);
	TEST_ASSERT(es(h, claims()) == TOKEN_MALFORMED);
}

static void
test_token_bad_header(void)
{
	char	 h[256];

	TEST_ASSERT(es("{\"alg\":\"ES256\",\"typ\":\"at+jwt\"}", claims()) ==
	    TOKEN_BAD_HEADER);
	snprintf(h, sizeof(h), "{\"typ\":\"at+jwt\",\"kid\":\"%s\"}", kid_es);
	TEST_ASSERT(es(h, claims()) == TOKEN_BAD_HEADER);
	snprintf(h, sizeof(h), "{\"alg\":[\"ES256\"],\"typ\":\"at+jwt\","
	    "\"kid\":\"%s\"}", kid_es);
	TEST_ASSERT(es(h, claims()) == TOKEN_BAD_HEADER);
	TEST_ASSERT(es("{\"alg\":\"ES256\",\"typ\":\"at+jwt\",\"kid\":7}",
	    claims()) == TOKEN_BAD_HEADER);
	TEST_ASSERT(es("{\"alg\":\"ES256\",\"typ\":\"at+jwt\",\"kid\":null}",
	    claims()) == TOKEN_BAD_HEADER);
	snprintf(h, sizeof(h), "{\"alg\":\"ES256\",\"typ\":1,\"kid\":\"%s\"}",
	    kid_es);
	TEST_ASSERT(es(h, claims()) == TOKEN_BAD_HEADER);
}

static void
test_token_crit(void)
{
	char	 h[256];

	snprintf(h, sizeof(h), "{\"alg\":\"ES256\",\"typ\":\"at+jwt\","
	    "\"kid\":\"%s\",\"crit\":[\"exp\"],\"exp\":1}", kid_es);
	TEST_ASSERT(es(h, claims()) == TOKEN_UNSUPPORTED_CRIT);
	snprintf(h, sizeof(h), "{\"alg\":\"ES256\",\"typ\":\"at+jwt\","
	    "\"kid\":\"%s\",\"crit\":[\"b64\"],\"b64\":false}", kid_es);
	TEST_ASSERT(es(h, claims()) == TOKEN_UNSUPPORTED_CRIT);
	snprintf(h, sizeof(h), "{\"alg\":\"ES256\",\"typ\":\"at+jwt\","
	    "\"kid\":\"%s\",\"crit\":[]}", kid_es);
	TEST_ASSERT(es(h, claims()) == TOKEN_UNSUPPORTED_CRIT);
}

static void
test_token_segments(void)
{
	const char	*tok;
	char		*t;

	tok = craft(signer(ks_es), es_hdr(), claims());
	TEST_ASSERT(vfy(ks_es, tok, T) == TOKEN_OK);
	/* 2, 4 and 5 segments */
	t = keep(xstrndup(tok, (size_t)(strrchr(tok, '.') - tok)));
	TEST_ASSERT(vfy(ks_es, t, T) == TOKEN_MALFORMED);
	TEST_ASSERT(vfy(ks_es, join3(tok, "", "")  , T) == TOKEN_MALFORMED);
	TEST_ASSERT(vfy(ks_es, join3(tok, "AAAA", "AAAA"), T) ==
	    TOKEN_MALFORMED);
	t = keep(xmalloc(strlen(tok) + 8));
	snprintf(t, strlen(tok) + 8, "%s.AAAA", tok);
	TEST_ASSERT(vfy(ks_es, t, T) == TOKEN_MALFORMED);
	/* one segment, none, empty header or payload */
	TEST_ASSERT(vfy(ks_es, "eyJhbGciOiJFUzI1NiJ9", T) == TOKEN_MALFORMED);
	TEST_ASSERT(vfy(ks_es, "", T) == TOKEN_MALFORMED);
	TEST_ASSERT(vfy(ks_es, "..", T) == TOKEN_MALFORMED);
	TEST_ASSERT(vfy(ks_es, join3("", b64s(claims()), "AAAA"), T) ==
	    TOKEN_MALFORMED);
	TEST_ASSERT(vfy(ks_es, join3(b64s(es_hdr()), "", "AAAA"), T) ==
	    TOKEN_MALFORMED);
	TEST_ASSERT(token_verify(ks_es, NULL, 0, T, &rules_at,
	    (struct token_claims **)keep(xcalloc(1, sizeof(void *)))) ==
	    TOKEN_MALFORMED);
}

static void
test_token_alphabet(void)
{
	char	*tok, *t, *sig;
	size_t	 i, len;

	/* find a token whose segments all contain '-' or '_' somewhere */
	tok = keep(xstrdup(craft(signer(ks_es), es_hdr(), claims())));
	len = strlen(tok);
	/* padding */
	t = keep(xmalloc(len + 3));
	snprintf(t, len + 3, "%s==", tok);
	TEST_ASSERT(vfy(ks_es, t, T) == TOKEN_MALFORMED);
	snprintf(t, len + 3, "%s=", tok);
	TEST_ASSERT(vfy(ks_es, t, T) == TOKEN_MALFORMED);
	/* the header segment padded */
	t = join3(keep(xstrdup("eyJhbGciOiJFUzI1NiJ9=")), b64s(claims()),
	    "AAAA");
	TEST_ASSERT(vfy(ks_es, t, T) == TOKEN_MALFORMED);
	/* '+' and '/' in place of '-' and '_', or anywhere */
	sig = strrchr(tok, '.') + 1;
	for (i = 0; i < 2; i++) {
		t = keep(xstrdup(tok));
		t[(sig - tok) + 3] = i == 0 ? '+' : '/';
		TEST_ASSERT(vfy(ks_es, t, T) == TOKEN_MALFORMED);
	}
	/* whitespace, before, inside, after */
	t = keep(xmalloc(len + 3));
	snprintf(t, len + 3, " %s", tok);
	TEST_ASSERT(vfy(ks_es, t, T) == TOKEN_MALFORMED);
	snprintf(t, len + 3, "%s\n", tok);
	TEST_ASSERT(vfy(ks_es, t, T) == TOKEN_MALFORMED);
	t = keep(xstrdup(tok));
	t[5] = ' ';
	TEST_ASSERT(vfy(ks_es, t, T) == TOKEN_MALFORMED);
	/* a NUL byte inside the given length */
	t = keep(xstrdup(tok));
	t[(sig - tok) - 4] = '\0';
	TEST_ASSERT(vfy_n(ks_es, t, len, T, &rules_at) == TOKEN_MALFORMED);
	/* a NUL at the end, counted in the length */
	TEST_ASSERT(vfy_n(ks_es, tok, len + 1, T, &rules_at) ==
	    TOKEN_MALFORMED);
	/* non-ASCII */
	t = keep(xstrdup(tok));
	t[3] = (char)0xc3;
	TEST_ASSERT(vfy(ks_es, t, T) == TOKEN_MALFORMED);
}

static void
test_token_empty_signature(void)
{
	const char	*tok;
	char		*t;

	tok = craft(signer(ks_es), es_hdr(), claims());
	t = keep(xstrndup(tok, (size_t)(strrchr(tok, '.') - tok) + 1));
	TEST_ASSERT(t[strlen(t) - 1] == '.');
	TEST_ASSERT(vfy(ks_es, t, T) == TOKEN_BAD_SIGNATURE);
	tok = craft(signer(ks_hs), hdr3("HS256", "at+jwt", "hs256"), claims());
	t = keep(xstrndup(tok, (size_t)(strrchr(tok, '.') - tok) + 1));
	TEST_ASSERT(vfy(ks_hs, t, T) == TOKEN_BAD_SIGNATURE);
}

static void
test_token_es256_signature_forms(void)
{
	static const unsigned char	 n[32] = {
		0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84,
		0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
	};
	unsigned char	 sig[80], der[80];
	const char	*h = es_hdr(), *p = claims();
	char		*input, *good, *raw;
	size_t		 derlen = sizeof(der), rawlen;
	EVP_PKEY	*pkey;
	EVP_MD_CTX	*ctx;
	FILE		*fp;

	memset(sig, 0, sizeof(sig));
	TEST_ASSERT(vfy(ks_es, craft_sig(h, p, sig, 64), T) ==
	    TOKEN_BAD_SIGNATURE);
	memcpy(sig, n, 32);
	memcpy(sig + 32, n, 32);
	TEST_ASSERT(vfy(ks_es, craft_sig(h, p, sig, 64), T) ==
	    TOKEN_BAD_SIGNATURE);

	/* the right R || S, one byte too short or too long */
	good = craft(signer(ks_es), h, p);
	raw = unb64(strrchr(good, '.') + 1, strlen(strrchr(good, '.') + 1),
	    &rawlen);
	TEST_ASSERT(raw != NULL && rawlen == 64);
	TEST_ASSERT(vfy(ks_es, craft_sig(h, p, raw, 64), T) == TOKEN_OK);
	TEST_ASSERT(vfy(ks_es, craft_sig(h, p, raw, 63), T) ==
	    TOKEN_BAD_SIGNATURE);
	memcpy(sig, raw, 64);
	sig[64] = 0;
	TEST_ASSERT(vfy(ks_es, craft_sig(h, p, sig, 65), T) ==
	    TOKEN_BAD_SIGNATURE);

	/* a correct signature, DER-encoded as OpenSSL makes it */
	TEST_ASSERT((fp = fopen(data("ec256.pem"), "r")) != NULL);
	pkey = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
	fclose(fp);
	TEST_ASSERT(pkey != NULL);
	input = keep(xmalloc(1024));
	snprintf(input, 1024, "%s.%s", b64s(h), b64s(p));
	ctx = EVP_MD_CTX_new();
	TEST_ASSERT(ctx != NULL);
	if (EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pkey) != 1 ||
	    EVP_DigestSign(ctx, der, &derlen, (unsigned char *)input,
	    strlen(input)) != 1)
		derlen = 0;
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	TEST_ASSERT(derlen >= 8 && der[0] == 0x30);
	TEST_ASSERT(vfy(ks_es, craft_sig(h, p, der, derlen), T) ==
	    TOKEN_BAD_SIGNATURE);
}

static void
test_token_rs256_signature_length(void)
{
	const char	*h = hdr3("RS256", "at+jwt", key_kid(signer(ks_rs)));
	const char	*good;
	char		*raw;
	unsigned char	 sig[300];
	size_t		 rawlen;

	good = craft(signer(ks_rs), h, claims());
	TEST_ASSERT(vfy(ks_rs, good, T) == TOKEN_OK);
	raw = unb64(strrchr(good, '.') + 1, strlen(strrchr(good, '.') + 1),
	    &rawlen);
	TEST_ASSERT(rawlen == 256);
	/* a leading zero byte: the same number, the wrong length */
	sig[0] = 0;
	memcpy(sig + 1, raw, 256);
	TEST_ASSERT(vfy(ks_rs, craft_sig(h, claims(), sig, 257), T) ==
	    TOKEN_BAD_SIGNATURE);
	TEST_ASSERT(vfy(ks_rs, craft_sig(h, claims(), raw, 255), T) ==
	    TOKEN_BAD_SIGNATURE);
}

static void
test_token_too_large(void)
{
	struct token_rules	 r = rules_at;
	const char		*tok;
	char			*big;
	size_t			 n = 200 * 1024;

	big = keep(xmalloc(n + 1));
	memset(big, 'A', n);
	big[1000] = '.';
	big[n - 1000] = '.';
	big[n] = '\0';
	TEST_ASSERT(vfy(ks_es, big, T) == TOKEN_TOO_LARGE);
	/* exactly at the cap is fine, one byte more is not */
	tok = craft(signer(ks_es), es_hdr(), claims());
	r.max_len = strlen(tok);
	TEST_ASSERT(vfy_n(ks_es, tok, strlen(tok), T, &r) == TOKEN_OK);
	r.max_len = strlen(tok) - 1;
	TEST_ASSERT(vfy_n(ks_es, tok, strlen(tok), T, &r) == TOKEN_TOO_LARGE);
	/* the default cap is 8192 */
	big[8192] = '\0';
	big[1000] = big[5000] = '.';
	TEST_ASSERT(vfy_n(ks_es, big, 8192, T, &rules_at) == TOKEN_MALFORMED);
	TEST_ASSERT(vfy_n(ks_es, big, 8193, T, &rules_at) == TOKEN_TOO_LARGE);
}

static void
test_token_not_json(void)
{
	const char	*good = claims();

	TEST_ASSERT(es("not json", good) == TOKEN_MALFORMED);
	TEST_ASSERT(es("[\"ES256\"]", good) == TOKEN_MALFORMED);
	TEST_ASSERT(es("\"ES256\"", good) == TOKEN_MALFORMED);
	TEST_ASSERT(es("{'alg':'ES256'}", good) == TOKEN_MALFORMED);
	/* a properly signed payload that is not a JSON object */
	TEST_ASSERT(es(es_hdr(), "not json") == TOKEN_MALFORMED);
	TEST_ASSERT(es(es_hdr(), "[1,2]") == TOKEN_MALFORMED);
	TEST_ASSERT(es(es_hdr(), "{\"iss\":\"" ISSUER "\",}") ==
	    TOKEN_MALFORMED);
	TEST_ASSERT(es(es_hdr(), "") == TOKEN_MALFORMED);
	/* RFC 3629: overlong "/" and an encoded surrogate, signed or not */
	TEST_ASSERT(es("{\"alg\":\"ES256\",\"typ\":\"at+jwt\","
	    "\"kid\":\"\xc0\xaf\"}", good) == TOKEN_MALFORMED);
	TEST_ASSERT(es(es_hdr(), "{\"iss\":\"" ISSUER "\",\"x\":\"\xed\xa0"
	    "\x80\"}") == TOKEN_MALFORMED);
}

static void
test_token_duplicates(void)
{
	char	 h[256], p[512];

	/* the second alg would win in json-c */
	snprintf(h, sizeof(h), "{\"alg\":\"none\",\"alg\":\"ES256\","
	    "\"typ\":\"at+jwt\",\"kid\":\"%s\"}", kid_es);
	TEST_ASSERT(es(h, claims()) == TOKEN_MALFORMED);
	snprintf(h, sizeof(h), "{\"alg\":\"ES256\",\"typ\":\"at+jwt\","
	    "\"kid\":\"x\",\"k\\u0069d\":\"%s\"}", kid_es);
	TEST_ASSERT(es(h, claims()) == TOKEN_MALFORMED);
	/* in the payload, also nested */
	snprintf(p, sizeof(p), "{\"iss\":\"" ISSUER "\",\"sub\":\"c1\","
	    "\"exp\":%lld,\"iat\":%lld,\"jti\":\"j\",\"client_id\":\"c1\","
	    "\"client_id\":\"admin\"}", (long long)T + 60, (long long)T);
	TEST_ASSERT(es(es_hdr(), p) == TOKEN_MALFORMED);
	snprintf(p, sizeof(p), "{\"iss\":\"" ISSUER "\",\"sub\":\"c1\","
	    "\"exp\":%lld,\"iat\":%lld,\"jti\":\"j\",\"client_id\":\"c1\","
	    "\"x\":{\"a\":1,\"a\":2}}", (long long)T + 60, (long long)T);
	TEST_ASSERT(es(es_hdr(), p) == TOKEN_MALFORMED);
}

static void
test_token_typ(void)
{
	struct token_rules	 jwt = rules_at;
	char			 h[256];
	size_t			 i;
	static const char *const ok[] = {
		"at+jwt", "AT+JWT", "At+Jwt", "application/at+jwt",
		"Application/AT+JWT",
	};
	static const char *const bad[] = {
		"JWT", "jwt", "at+jwt ", " at+jwt", "application/", "at",
		"application/JWT", "application/at+jwt+x", "",
		"application:at+jwt",
	};

	for (i = 0; i < nitems(ok); i++)
		TEST_ASSERT(es(hdr3("ES256", ok[i], kid_es), claims()) ==
		    TOKEN_OK);
	for (i = 0; i < nitems(bad); i++)
		TEST_ASSERT(es(hdr3("ES256", bad[i], kid_es), claims()) ==
		    TOKEN_WRONG_TYPE);
	/* missing */
	snprintf(h, sizeof(h), "{\"alg\":\"ES256\",\"kid\":\"%s\"}", kid_es);
	TEST_ASSERT(es(h, claims()) == TOKEN_WRONG_TYPE);
	/* under --token-typ JWT */
	jwt.typ = TOKEN_TYP_JWT_STR;
	TEST_ASSERT(vfy_n(ks_es, craft(signer(ks_es), hdr3("ES256", "JWT",
	    kid_es), claims()), strlen(craft(signer(ks_es), hdr3("ES256",
	    "JWT", kid_es), claims())), T, &jwt) == TOKEN_OK);
	TEST_ASSERT(vfy_n(ks_es, craft(signer(ks_es), hdr3("ES256",
	    "application/jwt", kid_es), claims()), strlen(craft(signer(ks_es),
	    hdr3("ES256", "application/jwt", kid_es), claims())), T, &jwt) ==
	    TOKEN_OK);
	TEST_ASSERT(vfy_n(ks_es, craft(signer(ks_es), es_hdr(), claims()),
	    strlen(craft(signer(ks_es), es_hdr(), claims())), T, &jwt) ==
	    TOKEN_WRONG_TYPE);
}

static void
test_token_issuer(void)
{
	char	 p[512];

	snprintf(p, sizeof(p), "{\"iss\":\"https://other.test\",\"sub\":"
	    "\"c1\",\"exp\":%lld,\"iat\":%lld,\"jti\":\"j\",\"client_id\":"
	    "\"c1\"}", (long long)T + 60, (long long)T);
	TEST_ASSERT(es(es_hdr(), p) == TOKEN_WRONG_ISSUER);
	snprintf(p, sizeof(p), "{\"iss\":\"" ISSUER "/\",\"sub\":"
	    "\"c1\",\"exp\":%lld,\"iat\":%lld,\"jti\":\"j\",\"client_id\":"
	    "\"c1\"}", (long long)T + 60, (long long)T);
	TEST_ASSERT(es(es_hdr(), p) == TOKEN_WRONG_ISSUER);
	snprintf(p, sizeof(p), "{\"sub\":\"c1\",\"exp\":%lld,\"iat\":%lld,"
	    "\"jti\":\"j\",\"client_id\":\"c1\"}", (long long)T + 60,
	    (long long)T);
	TEST_ASSERT(es(es_hdr(), p) == TOKEN_MISSING_CLAIM);
	snprintf(p, sizeof(p), "{\"iss\":[\"" ISSUER "\"],\"sub\":\"c1\","
	    "\"exp\":%lld,\"iat\":%lld,\"jti\":\"j\",\"client_id\":\"c1\"}",
	    (long long)T + 60, (long long)T);
	TEST_ASSERT(es(es_hdr(), p) == TOKEN_BAD_CLAIM);
	/* \u0000 is refused by the JSON parser, before any claim */
	snprintf(p, sizeof(p), "{\"iss\":\"" ISSUER "\\u0000x\",\"sub\":"
	    "\"c1\",\"exp\":%lld,\"iat\":%lld,\"jti\":\"j\",\"client_id\":"
	    "\"c1\"}", (long long)T + 60, (long long)T);
	TEST_ASSERT(es(es_hdr(), p) == TOKEN_MALFORMED);
}

/* client_gen: a string when present; compared by the revocation rules. */
static void
test_token_client_gen(void)
{
	struct token_claims	*c = NULL;
	char			 p[512];

	snprintf(p, sizeof(p), "{\"iss\":\"" ISSUER "\",\"sub\":\"c1\","
	    "\"exp\":%lld,\"iat\":%lld,\"jti\":\"j\",\"client_id\":\"c1\","
	    "\"client_gen\":5}", (long long)T + 60, (long long)T);
	TEST_ASSERT(es(es_hdr(), p) == TOKEN_BAD_CLAIM);
	snprintf(p, sizeof(p), "{\"iss\":\"" ISSUER "\",\"sub\":\"c1\","
	    "\"exp\":%lld,\"iat\":%lld,\"jti\":\"j\",\"client_id\":\"c1\","
	    "\"client_gen\":null}", (long long)T + 60, (long long)T);
	TEST_ASSERT(es(es_hdr(), p) == TOKEN_BAD_CLAIM);
	snprintf(p, sizeof(p), "{\"iss\":\"" ISSUER "\",\"sub\":\"c1\","
	    "\"exp\":%lld,\"iat\":%lld,\"jti\":\"j\",\"client_id\":\"c1\","
	    "\"client_gen\":[\"x\"]}", (long long)T + 60, (long long)T);
	TEST_ASSERT(es(es_hdr(), p) == TOKEN_BAD_CLAIM);
	snprintf(p, sizeof(p), "{\"iss\":\"" ISSUER "\",\"sub\":\"c1\","
	    "\"exp\":%lld,\"iat\":%lld,\"jti\":\"j\",\"client_id\":\"c1\","
	    "\"client_gen\":\"x\"}", (long long)T + 60, (long long)T);
	TEST_ASSERT(es(es_hdr(), p) == TOKEN_OK);

	/* issued: after client_id, and only when given */
	{
		struct token_params	 tp;
		char			*jws = NULL, jti[TOKEN_JTI_LEN + 1];

		memset(&tp, 0, sizeof(tp));
		tp.issuer = ISSUER;
		tp.typ = "at+jwt";
		tp.client_id = "c1";
		tp.client_gen = "0123456789abcdef.fedcba9876543210";
		tp.audience = "api";
		tp.iat = T;
		tp.ttl = 60;
		TEST_ASSERT(token_issue(keyset_signing_key(ks_es), &tp, &jws,
		    jti) == 0);
		TEST_ASSERT(token_verify(ks_es, jws, strlen(jws), T,
		    &rules_at, &c) == TOKEN_OK);
		TEST_ASSERT(c->client_gen != NULL && strcmp(c->client_gen,
		    "0123456789abcdef.fedcba9876543210") == 0);
		token_claims_free(c);
		free(jws);
		tp.client_gen = "";
		TEST_ASSERT(token_issue(keyset_signing_key(ks_es), &tp, &jws,
		    jti) == 0);
		TEST_ASSERT(token_verify(ks_es, jws, strlen(jws), T,
		    &rules_at, &c) == TOKEN_OK);
		TEST_ASSERT(c->client_gen == NULL);
		token_claims_free(c);
		free(jws);
	}
}

static void
test_token_exp(void)
{
	char		*tok, p[512];
	long long	 t = (long long)T;

	/* now < exp + leeway, exactly at the edge */
	tok = craft(signer(ks_es), es_hdr(), claims_t(t, 0, t - 100));
	TEST_ASSERT(vfy(ks_es, tok, T + LEEWAY - 1) == TOKEN_OK);
	TEST_ASSERT(vfy(ks_es, tok, T + LEEWAY) == TOKEN_EXPIRED);
	TEST_ASSERT(vfy(ks_es, tok, T + 100000) == TOKEN_EXPIRED);
	/* leeway 0 */
	{
		struct token_rules	 r = rules_at;

		r.leeway = 0;
		TEST_ASSERT(vfy_n(ks_es, tok, strlen(tok), T - 1, &r) ==
		    TOKEN_OK);
		TEST_ASSERT(vfy_n(ks_es, tok, strlen(tok), T, &r) ==
		    TOKEN_EXPIRED);
	}
	/* a fraction */
	snprintf(p, sizeof(p), "{\"iss\":\"" ISSUER "\",\"sub\":\"c1\","
	    "\"exp\":%lld.5,\"iat\":%lld,\"jti\":\"j\",\"client_id\":\"c1\"}",
	    t, t - 100);
	tok = craft(signer(ks_es), es_hdr(), p);
	TEST_ASSERT(vfy(ks_es, tok, T + LEEWAY) == TOKEN_OK);
	TEST_ASSERT(vfy(ks_es, tok, T + LEEWAY + 1) == TOKEN_EXPIRED);
	/* missing, a string, null, infinite, a boolean */
	snprintf(p, sizeof(p), "{\"iss\":\"" ISSUER "\",\"sub\":\"c1\","
	    "\"iat\":%lld,\"jti\":\"j\",\"client_id\":\"c1\"}", t);
	TEST_ASSERT(es(es_hdr(), p) == TOKEN_MISSING_CLAIM);
	snprintf(p, sizeof(p), "{\"iss\":\"" ISSUER "\",\"sub\":\"c1\","
	    "\"exp\":\"%lld\",\"iat\":%lld,\"jti\":\"j\",\"client_id\":"
	    "\"c1\"}", t + 60, t);
	TEST_ASSERT(es(es_hdr(), p) == TOKEN_BAD_CLAIM);
	snprintf(p, sizeof(p), "{\"iss\":\"" ISSUER "\",\"sub\":\"c1\","
	    "\"exp\":null,\"iat\":%lld,\"jti\":\"j\",\"client_id\":\"c1\"}",
	    t);
	TEST_ASSERT(es(es_hdr(), p) == TOKEN_BAD_CLAIM);
	/* infinite: not JSON to sjson_parse(), so before the claims */
	snprintf(p, sizeof(p), "{\"iss\":\"" ISSUER "\",\"sub\":\"c1\","
	    "\"exp\":1e400,\"iat\":%lld,\"jti\":\"j\",\"client_id\":\"c1\"}",
	    t);
	TEST_ASSERT(es(es_hdr(), p) == TOKEN_MALFORMED);
	snprintf(p, sizeof(p), "{\"iss\":\"" ISSUER "\",\"sub\":\"c1\","
	    "\"exp\":true,\"iat\":%lld,\"jti\":\"j\",\"client_id\":\"c1\"}",
	    t);
	TEST_ASSERT(es(es_hdr(), p) == TOKEN_BAD_CLAIM);
	/* beyond int64: far future, still a number */
	snprintf(p, sizeof(p), "{\"iss\":\"" ISSUER "\",\"sub\":\"c1\","
	    "\"exp\":99999999999999999999,\"iat\":%lld,\"jti\":\"j\","
	    "\"client_id\":\"c1\"}", t);
	TEST_ASSERT(es(es_hdr(), p) == TOKEN_OK);
}

static void
test_token_nbf_iat(void)
{
	char		*tok, p[512];
	long long	 t = (long long)T;

	/* nbf <= now + leeway, exactly at the edge */
	tok = craft(signer(ks_es), es_hdr(), claims_t(t + 3600, t + 100, t));
	TEST_ASSERT(vfy(ks_es, tok, T + 100 - LEEWAY) == TOKEN_OK);
	TEST_ASSERT(vfy(ks_es, tok, T + 100 - LEEWAY - 1) ==
	    TOKEN_NOT_YET_VALID);
	/* iat likewise */
	tok = craft(signer(ks_es), es_hdr(), claims_t(t + 3600, 0, t + 100));
	TEST_ASSERT(vfy(ks_es, tok, T + 100 - LEEWAY) == TOKEN_OK);
	TEST_ASSERT(vfy(ks_es, tok, T + 100 - LEEWAY - 1) ==
	    TOKEN_NOT_YET_VALID);
	/* the claims report nbf */
	{
		struct token_claims	*c = NULL;

		tok = craft(signer(ks_es), es_hdr(), claims_t(t + 3600,
		    t - 5, t));
		TEST_ASSERT(token_verify(ks_es, tok, strlen(tok), T, &rules_at,
		    &c) == TOKEN_OK);
		TEST_ASSERT(c->has_nbf && c->nbf == (int64_t)T - 5);
		token_claims_free(c);
	}
	/* iat missing, nbf or iat a string */
	snprintf(p, sizeof(p), "{\"iss\":\"" ISSUER "\",\"sub\":\"c1\","
	    "\"exp\":%lld,\"jti\":\"j\",\"client_id\":\"c1\"}", t + 60);
	TEST_ASSERT(es(es_hdr(), p) == TOKEN_MISSING_CLAIM);
	snprintf(p, sizeof(p), "{\"iss\":\"" ISSUER "\",\"sub\":\"c1\","
	    "\"exp\":%lld,\"nbf\":\"0\",\"iat\":%lld,\"jti\":\"j\","
	    "\"client_id\":\"c1\"}", t + 60, t);
	TEST_ASSERT(es(es_hdr(), p) == TOKEN_BAD_CLAIM);
	snprintf(p, sizeof(p), "{\"iss\":\"" ISSUER "\",\"sub\":\"c1\","
	    "\"exp\":%lld,\"iat\":\"%lld\",\"jti\":\"j\",\"client_id\":"
	    "\"c1\"}", t + 60, t);
	TEST_ASSERT(es(es_hdr(), p) == TOKEN_BAD_CLAIM);
	/* a fractional iat is rounded down in the claims */
	{
		struct token_claims	*c = NULL;

		snprintf(p, sizeof(p), "{\"iss\":\"" ISSUER "\",\"sub\":"
		    "\"c1\",\"exp\":%lld,\"iat\":%lld.9,\"jti\":\"j\","
		    "\"client_id\":\"c1\"}", t + 60, t - 10);
		tok = craft(signer(ks_es), es_hdr(), p);
		TEST_ASSERT(token_verify(ks_es, tok, strlen(tok), T, &rules_at,
		    &c) == TOKEN_OK);
		TEST_ASSERT(c->iat == (int64_t)T - 10);
		token_claims_free(c);
	}
}

static void
test_token_required_strings(void)
{
	/* after iss, exp and iat */
	static const char *const	 missing[] = {
		"\"sub\":\"c1\",\"client_id\":\"c1\"",
		"\"jti\":\"j\",\"client_id\":\"c1\"",
		"\"sub\":\"c1\",\"jti\":\"j\"",
	};
	static const char *const	 bad[] = {
		"\"sub\":\"c1\",\"jti\":1,\"client_id\":\"c1\"",
		"\"sub\":\"c1\",\"jti\":\"\",\"client_id\":\"c1\"",
		"\"sub\":null,\"jti\":\"j\",\"client_id\":\"c1\"",
		"\"sub\":\"c1\",\"jti\":\"j\",\"client_id\":\"\"",
		"\"sub\":\"c1\",\"jti\":\"j\",\"client_id\":\"c1\","
		    "\"scope\":[\"a\"]",
		/* RFC 7519 4.1.3: aud is a string or an array of strings */
		"\"sub\":\"c1\",\"jti\":\"j\",\"client_id\":\"c1\","
		    "\"aud\":1",
		"\"sub\":\"c1\",\"jti\":\"j\",\"client_id\":\"c1\","
		    "\"aud\":[\"a\",2]",
		"\"sub\":\"c1\",\"jti\":\"j\",\"client_id\":\"c1\","
		    "\"aud\":{\"a\":\"b\"}",
		"\"sub\":\"c1\",\"jti\":\"j\",\"client_id\":\"c1\","
		    "\"aud\":[[\"a\"]]",
		"\"sub\":\"c1\",\"jti\":\"j\",\"client_id\":\"c1\","
		    "\"aud\":null",
	};
	char				 p[512];
	size_t				 i;

	for (i = 0; i < nitems(missing); i++) {
		snprintf(p, sizeof(p), "{\"iss\":\"" ISSUER "\",\"exp\":%lld,"
		    "\"iat\":%lld,%s}", (long long)T + 60, (long long)T,
		    missing[i]);
		TEST_ASSERT(es(es_hdr(), p) == TOKEN_MISSING_CLAIM);
	}
	for (i = 0; i < nitems(bad); i++) {
		snprintf(p, sizeof(p), "{\"iss\":\"" ISSUER "\",\"exp\":%lld,"
		    "\"iat\":%lld,%s}", (long long)T + 60, (long long)T,
		    bad[i]);
		TEST_ASSERT(es(es_hdr(), p) == TOKEN_BAD_CLAIM);
	}
	/* \u0000 in a claim: refused by the JSON parser, not cut short */
	snprintf(p, sizeof(p), "{\"iss\":\"" ISSUER "\",\"exp\":%lld,"
	    "\"iat\":%lld,\"sub\":\"c1\",\"jti\":\"j\",\"client_id\":"
	    "\"c1\\u0000x\"}", (long long)T + 60, (long long)T);
	TEST_ASSERT(es(es_hdr(), p) == TOKEN_MALFORMED);
	/* aud may be an array: aud is NULL, aud_array holds it */
	{
		struct token_claims	*c = NULL;
		const char		*tok;
		char			 j[16];

		snprintf(p, sizeof(p), "{\"iss\":\"" ISSUER "\",\"sub\":"
		    "\"c1\",\"aud\":[\"a\",\"b\"],\"exp\":%lld,\"iat\":%lld,"
		    "\"jti\":\"j\",\"client_id\":\"c1\"}", (long long)T + 60,
		    (long long)T);
		tok = craft(signer(ks_es), es_hdr(), p);
		TEST_ASSERT(token_verify(ks_es, tok, strlen(tok), T, &rules_at,
		    &c) == TOKEN_OK);
		TEST_ASSERT(c->aud == NULL && c->aud_array != NULL);
		TEST_ASSERT(token_claims_has_aud(c, "a"));
		TEST_ASSERT(token_claims_has_aud(c, "b"));
		TEST_ASSERT(!token_claims_has_aud(c, "c"));
		TEST_ASSERT(!token_claims_has_aud(c, "A"));
		TEST_ASSERT(!token_claims_has_aud(c, ""));
		TEST_ASSERT(token_claims_aud_join(c, j, sizeof(j)) == 3);
		TEST_ASSERT(strcmp(j, "a b") == 0);
		TEST_ASSERT(token_claims_aud_join(c, j, 3) == -1 &&
		    j[0] == '\0');
		token_claims_free(c);
	}
}

/*
 * The audience helpers: a string aud matches itself byte for byte only;
 * no aud, and an empty array, contain nothing; a value that could break a
 * header line is left out of the joined header.
 */
static void
test_token_aud(void)
{
	static const struct {
		const char	*aud;		/* JSON, or NULL: none */
		const char	*want;
		bool		 has;
		const char	*joined;
	} cases[] = {
		{ "\"https://api.example\"", "https://api.example", true,
		    "https://api.example" },
		{ "\"https://api.example\"", "https://api.example/", false,
		    "https://api.example" },
		{ "\"https://api.example\"", "HTTPS://api.example", false,
		    "https://api.example" },
		{ NULL, "api", false, "" },
		{ "[]", "api", false, "" },
		{ "[\"x\",\"api\",\"y\"]", "api", true, "x api y" },
		{ "[\"x\",\"api\"]", "ap", false, "x api" },
		{ "[\"a\\nb\",\"api\"]", "a\nb", true, "api" },
		{ "\"a\\r\\nX-Evil: 1\"", "api", false, "" },
	};
	char			 p[512], j[64];
	size_t			 i;

	for (i = 0; i < nitems(cases); i++) {
		struct token_claims	*c = NULL;
		const char		*tok;

		snprintf(p, sizeof(p), "{\"iss\":\"" ISSUER "\",\"sub\":"
		    "\"c1\",%s%s%s\"exp\":%lld,\"iat\":%lld,\"jti\":\"j\","
		    "\"client_id\":\"c1\"}", cases[i].aud != NULL ?
		    "\"aud\":" : "", cases[i].aud != NULL ? cases[i].aud :
		    "", cases[i].aud != NULL ? "," : "", (long long)T + 60,
		    (long long)T);
		tok = craft(signer(ks_es), es_hdr(), p);
		TEST_ASSERT(token_verify(ks_es, tok, strlen(tok), T, &rules_at,
		    &c) == TOKEN_OK);
		TEST_ASSERT(token_claims_has_aud(c, cases[i].want) ==
		    cases[i].has);
		TEST_ASSERT(token_claims_aud_join(c, j, sizeof(j)) ==
		    (int)strlen(cases[i].joined));
		TEST_ASSERT(strcmp(j, cases[i].joined) == 0);
		token_claims_free(c);
	}
}

/*
 * cnf.x5t#S256 (RFC 8705 3.1): the thumbprint when cnf is an object with
 * a non-empty string member; no cnf, or a cnf without it, is unbound;
 * every other shape is malformed (bound to nothing presentable).
 */
static void
test_token_cnf_x5t(void)
{
	static const struct {
		const char	*cnf;		/* JSON, or NULL: none */
		const char	*x5t;		/* NULL: none */
		bool		 malformed;
	} cases[] = {
		{ NULL, NULL, false },
		{ "{\"x5t#S256\":\"abc\"}", "abc", false },
		{ "{\"jkt\":\"abc\"}", NULL, false },
		{ "{\"jkt\":\"j\",\"x5t#S256\":\"abc\"}", "abc", false },
		{ "{\"x5t#S256\":\"\"}", NULL, true },
		{ "{\"x5t#S256\":5}", NULL, true },
		{ "{\"x5t#S256\":[\"abc\"]}", NULL, true },
		{ "{\"x5t#S256\":null}", NULL, true },
		{ "\"abc\"", NULL, true },
		{ "[\"abc\"]", NULL, true },
		{ "null", NULL, true },
	};
	char			 p[512];
	size_t			 i;

	for (i = 0; i < nitems(cases); i++) {
		struct token_claims	*c = NULL;
		const char		*tok, *x;
		bool			 bad = !cases[i].malformed;

		snprintf(p, sizeof(p), "{\"iss\":\"" ISSUER "\",\"sub\":"
		    "\"c1\",%s%s%s\"exp\":%lld,\"iat\":%lld,\"jti\":\"j\","
		    "\"client_id\":\"c1\"}", cases[i].cnf != NULL ?
		    "\"cnf\":" : "", cases[i].cnf != NULL ? cases[i].cnf :
		    "", cases[i].cnf != NULL ? "," : "", (long long)T + 60,
		    (long long)T);
		tok = craft(signer(ks_es), es_hdr(), p);
		TEST_ASSERT(token_verify(ks_es, tok, strlen(tok), T, &rules_at,
		    &c) == TOKEN_OK);
		x = token_claims_cnf_x5t(c, &bad);
		TEST_ASSERT(bad == cases[i].malformed);
		TEST_ASSERT(cases[i].x5t == NULL ? x == NULL :
		    x != NULL && strcmp(x, cases[i].x5t) == 0);
		token_claims_free(c);
	}
}

/* token_issue() writes aud as an array for two or more audiences. */
static void
test_token_issue_aud_array(void)
{
	static const char *const	 two[] = { "https://a.example", "b" };
	struct token_params		 p;
	struct token_claims		*c = NULL;
	struct json_object		*aud;
	char				*jws = NULL, jti[TOKEN_JTI_LEN + 1];

	memset(&p, 0, sizeof(p));
	p.issuer = ISSUER;
	p.typ = "at+jwt";
	p.client_id = "c1";
	p.audience = two[0];
	p.audiences = two;
	p.n_audiences = 2;
	p.iat = T;
	p.ttl = 60;
	TEST_ASSERT(token_issue(signer(ks_es), &p, &jws, jti) == 0);
	TEST_ASSERT(token_verify(ks_es, jws, strlen(jws), T, &rules_at, &c)
	    == TOKEN_OK);
	free(jws);
	TEST_ASSERT(json_object_object_get_ex(c->payload, "aud", &aud));
	TEST_ASSERT(strcmp(json_object_to_json_string_ext(aud,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
	    "[\"https://a.example\",\"b\"]") == 0);
	token_claims_free(c);
	/* one: a string, as before */
	p.n_audiences = 1;
	TEST_ASSERT(token_issue(signer(ks_es), &p, &jws, jti) == 0);
	TEST_ASSERT(token_verify(ks_es, jws, strlen(jws), T, &rules_at, &c)
	    == TOKEN_OK);
	free(jws);
	TEST_ASSERT(c->aud != NULL && strcmp(c->aud, "https://a.example") ==
	    0 && c->aud_array == NULL);
	token_claims_free(c);
}

/* The order of the checks: the header is judged before the signature. */
static void
test_token_check_order(void)
{
	/* unknown kid and a garbage signature: the kid is reported */
	TEST_ASSERT(vfy(ks_es, join3(b64s(hdr3("ES256", "at+jwt", "nope")),
	    b64s(claims()), "AAAA"), T) == TOKEN_UNKNOWN_KID);
	/* wrong typ and a bad signature: the signature comes first */
	TEST_ASSERT(vfy(ks_es, join3(b64s(hdr3("ES256", "JWT", kid_es)),
	    b64s(claims()), "AAAA"), T) == TOKEN_BAD_SIGNATURE);
	/* expired and a bad signature: the signature */
	TEST_ASSERT(vfy(ks_es, join3(b64s(es_hdr()), b64s(claims_t(1, 0, 0)),
	    "AAAA"), T) == TOKEN_BAD_SIGNATURE);
	/* a malformed payload under a bad signature: the signature */
	TEST_ASSERT(vfy(ks_es, join3(b64s(es_hdr()), b64s("[]"), "AAAA"), T) ==
	    TOKEN_BAD_SIGNATURE);
}

/* libjwt 1.10.2 accepts our typ "JWT" tokens, with the right alg */
static void
libjwt_check(const struct keyset *ks, const char *keyfile, int strip_nl,
    jwt_alg_t alg)
{
	jwt_t	*jwt = NULL;
	char	*key, *tok, jti[TOKEN_JTI_LEN + 1];
	size_t	 keylen;
	int	 rc;

	TEST_ASSERT((key = read_all(data(keyfile), &keylen)) != NULL);
	if (strip_nl && keylen > 0 && key[keylen - 1] == '\n')
		keylen--;
	TEST_ASSERT((tok = issue(ks, "JWT", "read", NULL, jti)) != NULL);
	rc = jwt_decode(&jwt, tok, (unsigned char *)key, (int)keylen);
	TEST_ASSERT(rc == 0 && jwt != NULL);
	/* notes pitfall 1: rc == 0 alone proves nothing */
	rc = jwt_get_alg(jwt) == alg;
	rc = rc && strcmp(jwt_get_header(jwt, "typ"), "JWT") == 0;
	rc = rc && strcmp(jwt_get_header(jwt, "kid"),
	    key_kid(signer(ks))) == 0;
	rc = rc && strcmp(jwt_get_grant(jwt, "client_id"), "c1") == 0;
	rc = rc && strcmp(jwt_get_grant(jwt, "jti"), jti) == 0;
	rc = rc && jwt_get_grant_int(jwt, "exp") == (long)T + 3600;
	jwt_free(jwt);
	TEST_ASSERT(rc);
	/* and the same verifier refuses a tampered one */
	tok[strlen(tok) - 5] = tok[strlen(tok) - 5] == 'A' ? 'B' : 'A';
	jwt = NULL;
	rc = jwt_decode(&jwt, tok, (unsigned char *)key, (int)keylen);
	jwt_free(jwt);
	TEST_ASSERT(rc != 0);
	/* our own verifier agrees under --token-typ JWT */
	tok = issue(ks, "JWT", "read", NULL, NULL);
	{
		struct token_rules	 r = rules_at;

		r.typ = TOKEN_TYP_JWT_STR;
		TEST_ASSERT(vfy_n(ks, tok, strlen(tok), T, &r) == TOKEN_OK);
	}
}

static void
test_token_libjwt_es256(void)
{
	libjwt_check(ks_es, "ec256.pub.pem", 0, JWT_ALG_ES256);
}

static void
test_token_libjwt_rs256(void)
{
	libjwt_check(ks_rs, "rsa2048.pub.pem", 0, JWT_ALG_RS256);
}

static void
test_token_libjwt_hs256(void)
{
	libjwt_check(ks_hs, "hs256.key", 1, JWT_ALG_HS256);
}

/*
 * libjwt 1.10.2 rejects any typ other than "JWT" (notes 1(c)): it could
 * never verify an RFC 9068 token, hence our own JWS code.
 */
static void
test_token_libjwt_rejects_at_jwt(void)
{
	jwt_t	*jwt = NULL;
	char	*key, *tok;
	size_t	 keylen;
	int	 rc;

	TEST_ASSERT((key = read_all(data("ec256.pub.pem"), &keylen)) != NULL);
	TEST_ASSERT((tok = issue(ks_es, "at+jwt", NULL, NULL, NULL)) != NULL);
	TEST_ASSERT(vfy(ks_es, tok, T) == TOKEN_OK);
	rc = jwt_decode(&jwt, tok, (unsigned char *)key, (int)keylen);
	jwt_free(jwt);
	TEST_ASSERT(rc != 0);
}

/* Several threads issue and verify with one keyset (ASan/TSan food). */
static void *
worker(void *arg)
{
	struct keyset		*ks = keyset_ref(arg);
	struct token_params	 p;
	struct token_claims	*c;
	char			*jws, jti[TOKEN_JTI_LEN + 1];
	int			 i;
	intptr_t		 bad = 0;

	memset(&p, 0, sizeof(p));
	p.issuer = ISSUER;
	p.typ = "at+jwt";
	p.client_id = "c1";
	p.audience = "api";
	p.iat = T;
	p.ttl = 60;
	for (i = 0; i < 100; i++) {
		if (token_issue(keyset_signing_key(ks), &p, &jws, jti) == -1) {
			bad++;
			continue;
		}
		c = NULL;
		if (token_verify(ks, jws, strlen(jws), T, &rules_at, &c) !=
		    TOKEN_OK || strcmp(c->jti, jti) != 0)
			bad++;
		token_claims_free(c);
		free(jws);
	}
	keyset_unref(ks);
	return (void *)bad;
}

static void
test_token_threads(void)
{
	struct keyset *const	 sets[] = { ks_es, ks_rs, ks_hs };
	pthread_t		 th[6];
	void			*ret;
	size_t			 i;
	intptr_t		 bad = 0;

	for (i = 0; i < nitems(th); i++)
		TEST_ASSERT(pthread_create(&th[i], NULL, worker,
		    sets[i % nitems(sets)]) == 0);
	for (i = 0; i < nitems(th); i++) {
		pthread_join(th[i], &ret);
		bad += (intptr_t)ret;
	}
	TEST_ASSERT(bad == 0);
}

int
main(void)
{
	/* the refusals below log warnings on purpose */
	log_set_level(LOG_LEVEL_ERROR);
	ks_es = load("ec256.pem", NULL, NULL);
	ks_rs = load("rsa2048.pem", NULL, NULL);
	ks_hs = load(NULL, "hs256.key", NULL);
	ks_b = load("ec256-b.pem", NULL, NULL);
	arena_free();
	if (ks_es == NULL || ks_rs == NULL || ks_hs == NULL || ks_b == NULL)
		return 1;
	kid_es = key_kid(signer(ks_es));

	RUN(test_token_b64url_vectors);
	RUN(test_token_b64url_strict);
	RUN(test_token_rfc7515_a1);
	RUN(test_token_rfc7515_a2);
	RUN(test_token_rfc7515_a3);
	RUN(test_token_roundtrip);
	RUN(test_token_jti_unique);
	RUN(test_token_scope_omitted);
	RUN(test_token_extra_claims);
	RUN(test_token_issue_refused);
	RUN(test_token_retired_key_verifies);
	RUN(test_token_verdict_names);
	RUN(test_token_alg_none);
	RUN(test_token_alg_confusion);
	RUN(test_token_alg_mismatch);
	RUN(test_token_tampered);
	RUN(test_token_other_key);
	RUN(test_token_unknown_kid);
	RUN(test_token_kid_nul);
	RUN(test_token_bad_header);
	RUN(test_token_crit);
	RUN(test_token_segments);
	RUN(test_token_alphabet);
	RUN(test_token_empty_signature);
	RUN(test_token_es256_signature_forms);
	RUN(test_token_rs256_signature_length);
	RUN(test_token_too_large);
	RUN(test_token_not_json);
	RUN(test_token_duplicates);
	RUN(test_token_typ);
	RUN(test_token_issuer);
	RUN(test_token_client_gen);
	RUN(test_token_exp);
	RUN(test_token_nbf_iat);
	RUN(test_token_required_strings);
	RUN(test_token_aud);
	RUN(test_token_issue_aud_array);
	RUN(test_token_cnf_x5t);
	RUN(test_token_check_order);
	RUN(test_token_libjwt_es256);
	RUN(test_token_libjwt_rs256);
	RUN(test_token_libjwt_hs256);
	RUN(test_token_libjwt_rejects_at_jwt);
	RUN(test_token_threads);

	keyset_unref(ks_b);
	keyset_unref(ks_hs);
	keyset_unref(ks_rs);
	keyset_unref(ks_es);
	return test_summary();
}
