/*
 * test_assertion: the private_key_jwt claim rules, each broken once, the
 * whole check of a signed assertion (signature, typ, claims), and reading
 * the claimed subject before any check.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "assertion.h"
#include "b64url.h"
#include "jwk.h"
#include "util.h"
#include "test.h"

#define NOW	1700000000L

static const struct assertion_rules rules = {
	.client_id = "svc-1",
	.issuer = "https://as.example",
	.token_endpoint = "https://as.example/oauth/token",
	.now = NOW,
	.max_age = 300,
	.leeway = 30,
};

/* The verdict for claims: a valid set, with text appended (JSON members). */
static enum assertion_verdict
claims(const char *members)
{
	char			 buf[2048];
	struct json_object	*o;
	struct assertion_info	 info;
	enum assertion_verdict	 v;

	snprintf(buf, sizeof(buf), "{%s}", members);
	o = json_tokener_parse(buf);
	if (o == NULL)
		return (enum assertion_verdict)-1;
	v = assertion_check_claims(o, &rules, &info);
	json_object_put(o);
	return v;
}

#define ISS	"\"iss\":\"svc-1\","
#define SUB	"\"sub\":\"svc-1\","
#define AUD	"\"aud\":\"https://as.example\","
#define EXP	"\"exp\":1700000100,"
#define JTI	"\"jti\":\"j-1\""

static void
test_assertion_claims(void)
{
	struct json_object	*o;
	struct assertion_info	 info;

	TEST_ASSERT(claims(ISS SUB AUD EXP JTI) == ASSERTION_OK);
	TEST_ASSERT(claims(ISS SUB "\"aud\":\"https://as.example/oauth/token\","
	    EXP JTI) == ASSERTION_OK);
	TEST_ASSERT(claims(ISS SUB "\"aud\":[\"x\",\"https://as.example\"],"
	    EXP JTI) == ASSERTION_OK);
	TEST_ASSERT(claims(ISS SUB AUD EXP "\"iat\":1700000000,"
	    "\"nbf\":1700000020," JTI) == ASSERTION_OK);
	TEST_ASSERT(claims(ISS SUB AUD "\"exp\":1700000100.5," JTI) ==
	    ASSERTION_OK);

	/* iss, sub */
	TEST_ASSERT(claims("\"iss\":\"svc-2\"," SUB AUD EXP JTI) ==
	    ASSERTION_WRONG_ISSUER);
	TEST_ASSERT(claims(ISS "\"sub\":\"svc-2\"," AUD EXP JTI) ==
	    ASSERTION_WRONG_SUBJECT);
	TEST_ASSERT(claims(SUB AUD EXP JTI) == ASSERTION_MISSING_CLAIM);
	TEST_ASSERT(claims(ISS AUD EXP JTI) == ASSERTION_MISSING_CLAIM);
	TEST_ASSERT(claims("\"iss\":1," SUB AUD EXP JTI) ==
	    ASSERTION_BAD_CLAIM);
	TEST_ASSERT(claims("\"iss\":\"SVC-1\"," SUB AUD EXP JTI) ==
	    ASSERTION_WRONG_ISSUER);
	/* aud */
	TEST_ASSERT(claims(ISS SUB "\"aud\":\"https://as.example/\","
	    EXP JTI) == ASSERTION_WRONG_AUDIENCE);
	TEST_ASSERT(claims(ISS SUB "\"aud\":[\"x\"]," EXP JTI) ==
	    ASSERTION_WRONG_AUDIENCE);
	TEST_ASSERT(claims(ISS SUB "\"aud\":[]," EXP JTI) ==
	    ASSERTION_WRONG_AUDIENCE);
	TEST_ASSERT(claims(ISS SUB "\"aud\":[\"https://as.example\",1],"
	    EXP JTI) == ASSERTION_BAD_CLAIM);
	TEST_ASSERT(claims(ISS SUB EXP JTI) == ASSERTION_MISSING_CLAIM);
	/* exp: required, in the future (leeway), not too far */
	TEST_ASSERT(claims(ISS SUB AUD JTI) == ASSERTION_MISSING_CLAIM);
	TEST_ASSERT(claims(ISS SUB AUD "\"exp\":\"1700000100\"," JTI) ==
	    ASSERTION_BAD_CLAIM);
	TEST_ASSERT(claims(ISS SUB AUD "\"exp\":1699999970," JTI) ==
	    ASSERTION_EXPIRED);
	TEST_ASSERT(claims(ISS SUB AUD "\"exp\":1699999971," JTI) ==
	    ASSERTION_OK);
	TEST_ASSERT(claims(ISS SUB AUD "\"exp\":1700000330," JTI) ==
	    ASSERTION_OK);
	TEST_ASSERT(claims(ISS SUB AUD "\"exp\":1700000331," JTI) ==
	    ASSERTION_EXP_TOO_FAR);
	TEST_ASSERT(claims(ISS SUB AUD "\"exp\":1e308," JTI) ==
	    ASSERTION_BAD_CLAIM);
	/* nbf, iat */
	TEST_ASSERT(claims(ISS SUB AUD EXP "\"nbf\":1700000031," JTI) ==
	    ASSERTION_NOT_YET_VALID);
	TEST_ASSERT(claims(ISS SUB AUD EXP "\"iat\":1700000031," JTI) ==
	    ASSERTION_NOT_YET_VALID);
	TEST_ASSERT(claims(ISS SUB AUD EXP "\"iat\":null," JTI) ==
	    ASSERTION_BAD_CLAIM);
	/* jti */
	TEST_ASSERT(claims(ISS SUB AUD "\"exp\":1700000100") ==
	    ASSERTION_MISSING_CLAIM);
	TEST_ASSERT(claims(ISS SUB AUD EXP "\"jti\":\"\"") ==
	    ASSERTION_BAD_CLAIM);
	TEST_ASSERT(claims(ISS SUB AUD EXP "\"jti\":\"a b\"") ==
	    ASSERTION_BAD_CLAIM);
	TEST_ASSERT(claims(ISS SUB AUD EXP "\"jti\":7") ==
	    ASSERTION_BAD_CLAIM);
	TEST_ASSERT(claims(ISS SUB AUD EXP "\"jti\":\"" "xxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" "y\"") ==
	    ASSERTION_BAD_CLAIM);

	/* the info: jti, exp rounded up */
	o = json_tokener_parse("{" ISS SUB AUD "\"exp\":1700000100.2,"
	    "\"jti\":\"abc\"}");
	TEST_ASSERT(assertion_check_claims(o, &rules, &info) == ASSERTION_OK);
	TEST_ASSERT(strcmp(info.jti, "abc") == 0);
	TEST_ASSERT(info.exp == 1700000101);
	json_object_put(o);
	TEST_ASSERT(strcmp(assertion_verdict_name(ASSERTION_EXP_TOO_FAR),
	    "exp_too_far") == 0);
}

/* a "." b, a new string. */
static char *
dotted(const char *a, const char *b)
{
	size_t	 la = strlen(a), lb = strlen(b);
	char	*s = xmalloc(la + lb + 2);

	memcpy(s, a, la);
	s[la] = '.';
	memcpy(s + la + 1, b, lb + 1);
	return s;
}

static char *
b64(const void *p, size_t n)
{
	char	*s = xmalloc(b64url_encoded_len(n) + 1);

	b64url_encode(s, p, n);
	return s;
}

static char *
es256_jws(EVP_PKEY *pk, const char *hdr, const char *pl)
{
	EVP_MD_CTX	*m = EVP_MD_CTX_new();
	unsigned char	 der[128], sig[64];
	const unsigned char *p = der;
	size_t		 dlen = sizeof(der);
	ECDSA_SIG	*es;
	const BIGNUM	*r, *s;
	char		*h = b64(hdr, strlen(hdr)), *b = b64(pl, strlen(pl));
	char		*in, *sg, *out;

	in = dotted(h, b);
	EVP_DigestSignInit(m, NULL, EVP_sha256(), NULL, pk);
	EVP_DigestSign(m, der, &dlen, (unsigned char *)in, strlen(in));
	es = d2i_ECDSA_SIG(NULL, &p, (long)dlen);
	ECDSA_SIG_get0(es, &r, &s);
	BN_bn2binpad(r, sig, 32);
	BN_bn2binpad(s, sig + 32, 32);
	sg = b64(sig, 64);
	out = dotted(in, sg);
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(m);
	free(in);
	free(sg);
	free(h);
	free(b);
	return out;
}

static struct jwk_set *
set_of(EVP_PKEY *pk)
{
	BIGNUM		*x = NULL, *y = NULL;
	unsigned char	 bx[32], by[32];
	char		*sx, *sy, text[512], err[128];
	struct jwk_set	*set;

	EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_X, &x);
	EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_Y, &y);
	BN_bn2binpad(x, bx, 32);
	BN_bn2binpad(y, by, 32);
	sx = b64(bx, 32);
	sy = b64(by, 32);
	snprintf(text, sizeof(text), "{\"keys\":[{\"kty\":\"EC\",\"kid\":"
	    "\"k1\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"}]}", sx, sy);
	set = jwk_set_parse(text, strlen(text), err, sizeof(err));
	free(sx);
	free(sy);
	BN_free(x);
	BN_free(y);
	return set;
}

static enum assertion_verdict
whole(struct jwk_set *set, EVP_PKEY *pk, const char *hdr)
{
	struct assertion_info	 info;
	enum assertion_verdict	 v;
	char			*t;

	t = es256_jws(pk, hdr, "{" ISS SUB AUD EXP JTI "}");
	v = assertion_check(set, t, strlen(t), &rules, &info);
	free(t);
	return v;
}

static void
test_assertion_whole(void)
{
	EVP_PKEY	*pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY	*other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	struct jwk_set	*set = set_of(pk);
	char		 id[129];
	char		*t;

	TEST_ASSERT(set != NULL);
	TEST_ASSERT(whole(set, pk, "{\"alg\":\"ES256\",\"kid\":\"k1\"}") ==
	    ASSERTION_OK);
	TEST_ASSERT(whole(set, pk, "{\"alg\":\"ES256\"}") == ASSERTION_OK);
	TEST_ASSERT(whole(set, pk, "{\"alg\":\"ES256\",\"typ\":\"JWT\"}") ==
	    ASSERTION_OK);
	TEST_ASSERT(whole(set, pk, "{\"alg\":\"ES256\",\"typ\":"
	    "\"dpop+jwt\"}") == ASSERTION_WRONG_TYPE);
	TEST_ASSERT(whole(set, pk, "{\"alg\":\"ES256\",\"kid\":\"k2\"}") ==
	    ASSERTION_BAD_JWS);
	TEST_ASSERT(whole(set, pk, "{\"alg\":\"RS256\"}") ==
	    ASSERTION_BAD_JWS);
	TEST_ASSERT(whole(set, other, "{\"alg\":\"ES256\"}") ==
	    ASSERTION_BAD_JWS);
	TEST_ASSERT(whole(NULL, pk, "{\"alg\":\"ES256\"}") ==
	    ASSERTION_BAD_JWS);

	t = es256_jws(pk, "{\"alg\":\"ES256\"}", "{\"sub\":\"svc-1\"}");
	TEST_ASSERT(assertion_subject(t, strlen(t), id, sizeof(id)) == 0);
	TEST_ASSERT(strcmp(id, "svc-1") == 0);
	TEST_ASSERT(assertion_subject(t, strlen(t), id, 5) == -1);
	free(t);
	TEST_ASSERT(assertion_subject("a.e30.b", 7, id, sizeof(id)) == -1);
	TEST_ASSERT(assertion_subject("a.b", 3, id, sizeof(id)) == -1);
	TEST_ASSERT(assertion_subject("", 0, id, sizeof(id)) == -1);
	jwk_set_free(set);
	EVP_PKEY_free(pk);
	EVP_PKEY_free(other);
}

/*
 * The decoyed check: the client's keys decide; a kid naming none of them,
 * or no keys at all, is checked against the decoys, and a signature a
 * decoy verifies is still refused.
 */
static void
test_assertion_decoyed(void)
{
	EVP_PKEY		*pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY		*dk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	struct jwk_set		*keys = set_of(pk), *decoys = set_of(dk);
	static const char	 ed_text[] = "{\"keys\":[{\"kty\":\"OKP\","
	    "\"crv\":\"Ed25519\",\"kid\":\"k1\","
	    "\"x\":\"n-eTdKI1pLEZEpCyO8rPvNarQYXbz88Gk6IYxWwSnw4\"}]}";
	struct jwk_set		*ed = jwk_set_parse(ed_text,
	    sizeof(ed_text) - 1, NULL, 0);
	const struct jwk_set	*server = assertion_decoys();
	struct assertion_info	 info;
	char			*t;
	size_t			 i;
	static const struct {
		int		 signer;	/* 0 pk, 1 the decoy's key */
		const char	*hdr;
		bool		 with_keys;
		enum assertion_verdict want;
	} cases[] = {
		{ 0, "{\"alg\":\"ES256\",\"kid\":\"k1\"}", true, ASSERTION_OK },
		{ 0, "{\"alg\":\"ES256\"}", true, ASSERTION_OK },
		{ 1, "{\"alg\":\"ES256\",\"kid\":\"k2\"}", true,
		    ASSERTION_BAD_JWS },
		{ 1, "{\"alg\":\"ES256\",\"kid\":\"k1\"}", true,
		    ASSERTION_BAD_JWS },
		{ 1, "{\"alg\":\"ES256\"}", true, ASSERTION_BAD_JWS },
		{ 1, "{\"alg\":\"ES256\"}", false, ASSERTION_BAD_JWS },
		{ 1, "{\"alg\":\"ES256\",\"kid\":\"k1\"}", false,
		    ASSERTION_BAD_JWS },
		{ 0, "{\"alg\":\"ES256\",\"kid\":\"k1\"}", false,
		    ASSERTION_BAD_JWS },
	};

	TEST_ASSERT(keys != NULL && decoys != NULL && ed != NULL);
	/* one key per algorithm: ES256, ES384, RS256, PS256, EdDSA */
	TEST_ASSERT(server != NULL && jwk_set_count(server) == 5);
	TEST_ASSERT(assertion_decoys() == server);
	for (i = 0; i < nitems(cases); i++) {
		t = es256_jws(cases[i].signer ? dk : pk, cases[i].hdr,
		    "{" ISS SUB AUD EXP JTI "}");
		TEST_ASSERT(assertion_check_decoyed(cases[i].with_keys ? keys :
		    NULL, decoys, t, strlen(t), &rules, &info) ==
		    cases[i].want);
		TEST_ASSERT(assertion_check_decoyed(cases[i].with_keys ? keys :
		    NULL, server, t, strlen(t), &rules, &info) ==
		    (cases[i].signer || !cases[i].with_keys ?
		    ASSERTION_BAD_JWS : ASSERTION_OK));
		free(t);
	}
	/*
	 * No kid and an alg none of the client's keys has (its one key is
	 * Ed25519): the decoy of the alg is checked all the same, so that
	 * this failure costs one signature check too.
	 */
	t = es256_jws(dk, "{\"alg\":\"ES256\"}", "{" ISS SUB AUD EXP JTI "}");
	TEST_ASSERT(assertion_check_decoyed(ed, decoys, t, strlen(t), &rules,
	    &info) == ASSERTION_BAD_JWS);
	TEST_ASSERT(info.decoy);
	/* with a kid naming none of them, as before */
	free(t);
	t = es256_jws(dk, "{\"alg\":\"ES256\",\"kid\":\"k9\"}",
	    "{" ISS SUB AUD EXP JTI "}");
	TEST_ASSERT(assertion_check_decoyed(ed, decoys, t, strlen(t), &rules,
	    &info) == ASSERTION_BAD_JWS);
	TEST_ASSERT(info.decoy);
	free(t);
	/* the client's own key, no kid: no decoy */
	t = es256_jws(pk, "{\"alg\":\"ES256\"}", "{" ISS SUB AUD EXP JTI "}");
	TEST_ASSERT(assertion_check_decoyed(keys, decoys, t, strlen(t), &rules,
	    &info) == ASSERTION_OK);
	TEST_ASSERT(!info.decoy);
	free(t);
	/* a signature no key verifies: not the decoy's either */
	t = es256_jws(pk, "{\"alg\":\"ES256\"}", "{" ISS SUB AUD EXP JTI "}");
	TEST_ASSERT(assertion_check_decoyed(ed, decoys, t, strlen(t), &rules,
	    &info) == ASSERTION_BAD_JWS);
	TEST_ASSERT(!info.decoy);
	free(t);
	jwk_set_free(ed);
	jwk_set_free(keys);
	jwk_set_free(decoys);
	EVP_PKEY_free(pk);
	EVP_PKEY_free(dk);
}

int
main(void)
{
	test_run(test_assertion_claims);
	test_run(test_assertion_whole);
	test_run(test_assertion_decoyed);
	return test_summary();
}
