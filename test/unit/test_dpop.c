/*
 * test_dpop: the key-free rules of a DPoP proof: htu normalisation
 * (RFC 3986 6.2.2, 6.2.3), the header rules and the claims rules at a
 * given clock, ath, the alg list.
 */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "b64url.h"
#include "dpop.h"
#include "jwk.h"
#include "sjson.h"
#include "test.h"

/* 1 when url normalises to want, 0 when refused and want is NULL. */
static int
norm_is(const char *url, const char *want)
{
	char	out[DPOP_HTU_MAX + 1];
	int	rc;

	rc = dpop_htu_normalize(url, strlen(url), out);
	if (want == NULL)
		return rc == -1;
	if (rc != 0) {
		fprintf(stderr, "refused: %s\n", url);
		return 0;
	}
	if (strcmp(out, want) != 0) {
		fprintf(stderr, "%s -> %s, not %s\n", url, out, want);
		return 0;
	}
	return 1;
}

static void
test_htu_case_port_query(void)
{
	TEST_ASSERT(norm_is("https://as.example/oauth/token",
	    "https://as.example/oauth/token"));
	TEST_ASSERT(norm_is("HTTPS://AS.Example/oauth/token",
	    "https://as.example/oauth/token"));
	TEST_ASSERT(norm_is("https://as.example:443/oauth/token",
	    "https://as.example/oauth/token"));
	TEST_ASSERT(norm_is("https://as.example:0443/oauth/token",
	    "https://as.example/oauth/token"));
	TEST_ASSERT(norm_is("https://as.example:/oauth/token",
	    "https://as.example/oauth/token"));
	TEST_ASSERT(norm_is("http://as.example:80/x", "http://as.example/x"));
	TEST_ASSERT(norm_is("http://as.example:443/x",
	    "http://as.example:443/x"));
	TEST_ASSERT(norm_is("https://as.example:2600/oauth/token",
	    "https://as.example:2600/oauth/token"));
	TEST_ASSERT(norm_is("https://as.example/oauth/token?a=b#frag",
	    "https://as.example/oauth/token"));
	TEST_ASSERT(norm_is("https://as.example#f", "https://as.example/"));
	TEST_ASSERT(norm_is("https://as.example?q", "https://as.example/"));
	TEST_ASSERT(norm_is("https://as.example", "https://as.example/"));
	/* the path's case is kept */
	TEST_ASSERT(norm_is("https://a/OAuth/Token", "https://a/OAuth/Token"));
	TEST_ASSERT(norm_is("https://[::1]:2600/verify",
	    "https://[::1]:2600/verify"));
	TEST_ASSERT(norm_is("https://[FE80::1]:443/", "https://[fe80::1]/"));
	TEST_ASSERT(norm_is("https://127.0.0.1:2600/x",
	    "https://127.0.0.1:2600/x"));
}

static void
test_htu_percent_and_dots(void)
{
	TEST_ASSERT(norm_is("https://a/%7Euser/%41", "https://a/~user/A"));
	TEST_ASSERT(norm_is("https://a/x%2fy", "https://a/x%2Fy"));
	TEST_ASSERT(norm_is("https://a/x%2Fy", "https://a/x%2Fy"));
	TEST_ASSERT(norm_is("https://%61s.example/", "https://as.example/"));
	TEST_ASSERT(norm_is("https://%41S.example/", "https://as.example/"));
	TEST_ASSERT(norm_is("https://a/b/./c", "https://a/b/c"));
	TEST_ASSERT(norm_is("https://a/b/../c", "https://a/c"));
	TEST_ASSERT(norm_is("https://a/b/c/..", "https://a/b/"));
	TEST_ASSERT(norm_is("https://a/../../c", "https://a/c"));
	TEST_ASSERT(norm_is("https://a/.", "https://a/"));
	TEST_ASSERT(norm_is("https://a/..", "https://a/"));
	TEST_ASSERT(norm_is("https://a/%2E%2E/x", "https://a/x"));
	TEST_ASSERT(norm_is("https://a/b/.x/..y", "https://a/b/.x/..y"));
	TEST_ASSERT(norm_is("https://a/b//c", "https://a/b//c"));
}

static void
test_htu_refused(void)
{
	TEST_ASSERT(norm_is("", NULL));
	TEST_ASSERT(norm_is("ftp://a/", NULL));
	TEST_ASSERT(norm_is("https:/a/", NULL));
	TEST_ASSERT(norm_is("https://", NULL));
	TEST_ASSERT(norm_is("https:///x", NULL));
	TEST_ASSERT(norm_is("https://:443/x", NULL));
	TEST_ASSERT(norm_is("https://user@a/x", NULL));
	TEST_ASSERT(norm_is("https://a:b/x", NULL));
	TEST_ASSERT(norm_is("https://a:65536/x", NULL));
	TEST_ASSERT(norm_is("https://a:99999999999999999999/x", NULL));
	TEST_ASSERT(norm_is("https://a/x y", NULL));
	TEST_ASSERT(norm_is("https://a/x%", NULL));
	TEST_ASSERT(norm_is("https://a/x%4", NULL));
	TEST_ASSERT(norm_is("https://a/x%zz", NULL));
	TEST_ASSERT(norm_is("https://a/\"", NULL));
	TEST_ASSERT(norm_is("https://a/<", NULL));
	TEST_ASSERT(norm_is("https://a\\b/", NULL));
	TEST_ASSERT(norm_is("https://[::1/x", NULL));
	TEST_ASSERT(norm_is("https://[]/x", NULL));
	TEST_ASSERT(norm_is("https://[::g]/x", NULL));
	TEST_ASSERT(norm_is("https://[::1]x/", NULL));
	TEST_ASSERT(norm_is("https://a/\x7f", NULL));
	TEST_ASSERT(norm_is("https://a/\xc3\xa9", NULL));
}

static void
test_htu_bounds(void)
{
	char	*url, out[DPOP_HTU_MAX + 1];
	size_t	 n;

	url = malloc(DPOP_HTU_MAX + 2);
	TEST_ASSERT(url != NULL);
	memcpy(url, "https://a/", 10);
	memset(url + 10, 'x', DPOP_HTU_MAX - 10);
	url[DPOP_HTU_MAX] = '\0';
	TEST_ASSERT(dpop_htu_normalize(url, DPOP_HTU_MAX, out) == 0);
	TEST_ASSERT(strlen(out) == DPOP_HTU_MAX);
	url[DPOP_HTU_MAX] = 'x';
	url[DPOP_HTU_MAX + 1] = '\0';
	TEST_ASSERT(dpop_htu_normalize(url, DPOP_HTU_MAX + 1, out) == -1);
	/* an uppercase %-encoding of a reserved byte keeps its length;
	   the longest input stays within the buffer */
	for (n = 10; n + 3 <= DPOP_HTU_MAX; n += 3)
		memcpy(url + n, "%2f", 3);
	TEST_ASSERT(dpop_htu_normalize(url, n, out) == 0);
	TEST_ASSERT(strlen(out) == n);
	/* not NUL-terminated: only len bytes are read */
	TEST_ASSERT(dpop_htu_normalize("https://a/bc", 11, out) == 0);
	TEST_ASSERT(strcmp(out, "https://a/b") == 0);
	free(url);
}

static struct json_object *
js(const char *text)
{
	return sjson_parse(text, strlen(text), 8);
}

static enum dpop_verdict
header(const char *text)
{
	struct json_object	*o = js(text);
	enum dpop_verdict	 v;

	v = dpop_header_rules(o);
	json_object_put(o);
	return v;
}

#define EC_JWK	"\"jwk\":{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"x\",\"y\":\"y\"}"

static void
test_header_rules(void)
{
	TEST_ASSERT(header("{\"typ\":\"dpop+jwt\",\"alg\":\"ES256\"," EC_JWK
	    "}") == DPOP_OK);
	TEST_ASSERT(header("{\"typ\":\"application/DPoP+JWT\","
	    "\"alg\":\"EdDSA\",\"jwk\":{\"kty\":\"OKP\"}}") == DPOP_OK);
	TEST_ASSERT(header("{\"typ\":\"jwt\",\"alg\":\"ES256\"," EC_JWK
	    "}") == DPOP_BAD_TYP);
	TEST_ASSERT(header("{\"alg\":\"ES256\"," EC_JWK "}") == DPOP_BAD_TYP);
	TEST_ASSERT(header("{\"typ\":1,\"alg\":\"ES256\"," EC_JWK "}") ==
	    DPOP_BAD_TYP);
	TEST_ASSERT(header("{\"typ\":\"dpop+jwt\",\"alg\":\"HS256\"," EC_JWK
	    "}") == DPOP_BAD_ALG);
	TEST_ASSERT(header("{\"typ\":\"dpop+jwt\",\"alg\":\"none\"," EC_JWK
	    "}") == DPOP_BAD_ALG);
	TEST_ASSERT(header("{\"typ\":\"dpop+jwt\",\"alg\":\"es256\"," EC_JWK
	    "}") == DPOP_BAD_ALG);
	TEST_ASSERT(header("{\"typ\":\"dpop+jwt\"," EC_JWK "}") ==
	    DPOP_BAD_ALG);
	TEST_ASSERT(header("{\"typ\":\"dpop+jwt\",\"alg\":\"ES256\"}") ==
	    DPOP_BAD_JWK);
	TEST_ASSERT(header("{\"typ\":\"dpop+jwt\",\"alg\":\"ES256\","
	    "\"jwk\":\"x\"}") == DPOP_BAD_JWK);
	TEST_ASSERT(header("{\"typ\":\"dpop+jwt\",\"alg\":\"ES256\","
	    "\"jwk\":{\"kty\":\"oct\",\"k\":\"AAAA\"}}") == DPOP_BAD_JWK);
	TEST_ASSERT(header("{\"typ\":\"dpop+jwt\",\"alg\":\"ES256\","
	    "\"jwk\":{\"kty\":\"EC\",\"d\":\"AAAA\"}}") == DPOP_BAD_JWK);
	TEST_ASSERT(header("{\"typ\":\"dpop+jwt\",\"alg\":\"RS256\","
	    "\"jwk\":{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\","
	    "\"qi\":\"AA\"}}") == DPOP_BAD_JWK);
	TEST_ASSERT(header("{\"typ\":\"dpop+jwt\",\"alg\":\"ES256\","
	    "\"jwk\":{}}") == DPOP_BAD_JWK);
	TEST_ASSERT(header("{\"typ\":\"dpop+jwt\",\"alg\":\"ES256\","
	    "\"crit\":[\"x\"]," EC_JWK "}") == DPOP_MALFORMED);
	TEST_ASSERT(dpop_header_rules(NULL) == DPOP_MALFORMED);
	TEST_ASSERT(header("[1]") == DPOP_MALFORMED);
}

static enum dpop_verdict
claims(const char *text, const struct dpop_expect *e)
{
	struct json_object	*o = js(text);
	enum dpop_verdict	 v;

	v = dpop_claims_rules(o, e);
	json_object_put(o);
	return v;
}

static void
test_claims_rules(void)
{
	struct dpop_expect	e = {
		.htm = "POST", .htu = "https://as.example/oauth/token",
		.ath = NULL, .now = 1000000, .max_age = 60, .leeway = 5,
	};
	char			buf[512], jti[DPOP_JTI_MAX + 4];

#define C(jti, htm, htu, iat) (snprintf(buf, sizeof(buf),		\
	"{\"jti\":%s,\"htm\":%s,\"htu\":%s,\"iat\":%s}", jti, htm, htu,	\
	iat), buf)
	TEST_ASSERT(claims(C("\"j1\"", "\"POST\"",
	    "\"HTTPS://as.example:443/oauth/token?x\"", "1000000"), &e) ==
	    DPOP_OK);
	TEST_ASSERT(claims(C("\"j1\"", "\"GET\"",
	    "\"https://as.example/oauth/token\"", "1000000"), &e) ==
	    DPOP_BAD_HTM);
	TEST_ASSERT(claims(C("\"j1\"", "\"post\"",
	    "\"https://as.example/oauth/token\"", "1000000"), &e) ==
	    DPOP_BAD_HTM);
	TEST_ASSERT(claims(C("\"j1\"", "\"POST\"",
	    "\"https://as.example/oauth/other\"", "1000000"), &e) ==
	    DPOP_BAD_HTU);
	TEST_ASSERT(claims(C("\"j1\"", "\"POST\"",
	    "\"https://evil.example/oauth/token\"", "1000000"), &e) ==
	    DPOP_BAD_HTU);
	TEST_ASSERT(claims(C("\"j1\"", "\"POST\"", "\"not a url\"",
	    "1000000"), &e) == DPOP_BAD_HTU);
	TEST_ASSERT(claims(C("\"j1\"", "\"POST\"", "1", "1000000"), &e) ==
	    DPOP_BAD_HTU);
	/* iat: the window is [now - max_age - leeway, now + leeway] */
	TEST_ASSERT(claims(C("\"j1\"", "\"POST\"",
	    "\"https://as.example/oauth/token\"", "1000005"), &e) == DPOP_OK);
	TEST_ASSERT(claims(C("\"j1\"", "\"POST\"",
	    "\"https://as.example/oauth/token\"", "1000006"), &e) ==
	    DPOP_BAD_IAT);
	TEST_ASSERT(claims(C("\"j1\"", "\"POST\"",
	    "\"https://as.example/oauth/token\"", "999935"), &e) == DPOP_OK);
	TEST_ASSERT(claims(C("\"j1\"", "\"POST\"",
	    "\"https://as.example/oauth/token\"", "999934"), &e) ==
	    DPOP_BAD_IAT);
	TEST_ASSERT(claims(C("\"j1\"", "\"POST\"",
	    "\"https://as.example/oauth/token\"", "1000000.5"), &e) ==
	    DPOP_BAD_IAT);
	TEST_ASSERT(claims(C("\"j1\"", "\"POST\"",
	    "\"https://as.example/oauth/token\"", "\"1000000\""), &e) ==
	    DPOP_BAD_IAT);
	TEST_ASSERT(claims(C("\"j1\"", "\"POST\"",
	    "\"https://as.example/oauth/token\"",
	    "-9223372036854775808"), &e) == DPOP_BAD_IAT);
	TEST_ASSERT(claims(C("\"j1\"", "\"POST\"",
	    "\"https://as.example/oauth/token\"",
	    "99999999999999999999999"), &e) == DPOP_BAD_IAT);
	TEST_ASSERT(claims(C("\"\"", "\"POST\"",
	    "\"https://as.example/oauth/token\"", "1000000"), &e) ==
	    DPOP_BAD_JTI);
	TEST_ASSERT(claims(C("7", "\"POST\"",
	    "\"https://as.example/oauth/token\"", "1000000"), &e) ==
	    DPOP_BAD_JTI);
	TEST_ASSERT(claims("{\"htm\":\"POST\",\"htu\":\"https://as.example/"
	    "oauth/token\",\"iat\":1000000}", &e) == DPOP_BAD_JTI);
	/* jti: up to DPOP_JTI_MAX bytes */
	memset(jti, 'x', sizeof(jti) - 1);
	jti[0] = jti[sizeof(jti) - 2] = '"';
	jti[sizeof(jti) - 1] = '\0';
	TEST_ASSERT(strlen(jti) == DPOP_JTI_MAX + 3);
	TEST_ASSERT(claims(C(jti, "\"POST\"",
	    "\"https://as.example/oauth/token\"", "1000000"), &e) ==
	    DPOP_BAD_JTI);
	jti[DPOP_JTI_MAX] = '"';
	jti[DPOP_JTI_MAX + 1] = '\0';
	TEST_ASSERT(claims(C(jti, "\"POST\"",
	    "\"https://as.example/oauth/token\"", "1000000"), &e) ==
	    DPOP_OK);
	TEST_ASSERT(dpop_claims_rules(NULL, &e) == DPOP_MALFORMED);
	/* ath: ignored without a token, required with one */
	TEST_ASSERT(claims("{\"jti\":\"j\",\"htm\":\"POST\",\"htu\":"
	    "\"https://as.example/oauth/token\",\"iat\":1000000,"
	    "\"ath\":\"zz\"}", &e) == DPOP_OK);
	e.ath = "abc";
	TEST_ASSERT(claims("{\"jti\":\"j\",\"htm\":\"POST\",\"htu\":"
	    "\"https://as.example/oauth/token\",\"iat\":1000000,"
	    "\"ath\":\"abc\"}", &e) == DPOP_OK);
	TEST_ASSERT(claims("{\"jti\":\"j\",\"htm\":\"POST\",\"htu\":"
	    "\"https://as.example/oauth/token\",\"iat\":1000000,"
	    "\"ath\":\"abd\"}", &e) == DPOP_BAD_ATH);
	TEST_ASSERT(claims("{\"jti\":\"j\",\"htm\":\"POST\",\"htu\":"
	    "\"https://as.example/oauth/token\",\"iat\":1000000}", &e) ==
	    DPOP_BAD_ATH);
#undef C
}

static void
test_ath_and_algs(void)
{
	char	ath[DPOP_B64_SHA256_LEN + 1];

	/* RFC 9449 7.1's example: the ath of its access token */
	TEST_ASSERT(dpop_ath("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU",
	    43, ath) == 0);
	TEST_ASSERT(strcmp(ath, "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo")
	    == 0);
	TEST_ASSERT(dpop_alg_supported("ES256", 5));
	TEST_ASSERT(dpop_alg_supported("EdDSA", 5));
	TEST_ASSERT(dpop_alg_supported("PS256", 5));
	TEST_ASSERT(!dpop_alg_supported("HS256", 5));
	TEST_ASSERT(!dpop_alg_supported("ES25", 4));
	TEST_ASSERT(!dpop_alg_supported("ES256 ES384", 11));
	TEST_ASSERT(!dpop_alg_supported("", 0));
	TEST_ASSERT(!dpop_alg_supported("none", 4));
	TEST_ASSERT(strcmp(dpop_verdict_name(DPOP_REPLAY), "replay") == 0);
}

/* An EC P-256 key and its public JWK members, made with OpenSSL. */
struct eckey {
	EVP_PKEY	*pkey;
	char		 x[44], y[44];
};

static int
eckey_make(struct eckey *k)
{
	BIGNUM		*bx = NULL, *by = NULL;
	unsigned char	 b[32];
	int		 rc = -1;

	if ((k->pkey = EVP_EC_gen("P-256")) == NULL)
		return -1;
	if (EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_EC_PUB_X, &bx) != 1 ||
	    EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &by) != 1)
		goto out;
	if (BN_bn2binpad(bx, b, 32) != 32)
		goto out;
	b64url_encode(k->x, b, 32);
	if (BN_bn2binpad(by, b, 32) != 32)
		goto out;
	b64url_encode(k->y, b, 32);
	rc = 0;
out:
	BN_free(bx);
	BN_free(by);
	return rc;
}

/* b64url(header).b64url(claims).b64url(ES256 signature by k) */
static char *
sign_proof(EVP_PKEY *k, const char *header, const char *claims)
{
	EVP_MD_CTX		*md = EVP_MD_CTX_new();
	unsigned char		 der[80], rs[64];
	const unsigned char	*p;
	ECDSA_SIG		*sig = NULL;
	size_t			 derlen = sizeof(der), hl = strlen(header);
	size_t			 cl = strlen(claims), n;
	char			*out;

	out = malloc(2 * (hl + cl) + 200);
	n = b64url_encode(out, (const unsigned char *)header, hl);
	out[n++] = '.';
	n += b64url_encode(out + n, (const unsigned char *)claims, cl);
	if (md == NULL ||
	    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k) != 1 ||
	    EVP_DigestSign(md, der, &derlen, (unsigned char *)out, n) != 1)
		abort();
	p = der;
	if ((sig = d2i_ECDSA_SIG(NULL, &p, (long)derlen)) == NULL ||
	    BN_bn2binpad(ECDSA_SIG_get0_r(sig), rs, 32) != 32 ||
	    BN_bn2binpad(ECDSA_SIG_get0_s(sig), rs + 32, 32) != 32)
		abort();
	out[n++] = '.';
	b64url_encode(out + n, rs, 64);
	ECDSA_SIG_free(sig);
	EVP_MD_CTX_free(md);
	return out;
}

static enum dpop_verdict
check_proof(EVP_PKEY *signer, const struct eckey *jwk_of, const char *typ,
    const char *alg, const char *claims, const struct dpop_expect *e,
    struct dpop_proof *out)
{
	char			 header[512];
	char			*proof;
	enum dpop_verdict	 v;

	snprintf(header, sizeof(header), "{\"typ\":\"%s\",\"alg\":\"%s\","
	    "\"jwk\":{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\","
	    "\"y\":\"%s\"}}", typ, alg, jwk_of->x, jwk_of->y);
	proof = sign_proof(signer, header, claims);
	v = dpop_proof_check(proof, strlen(proof), e, out);
	free(proof);
	return v;
}

static void
test_proof_check(void)
{
	struct eckey		 a, b;
	struct dpop_expect	 e = {
		.htm = "POST", .htu = "https://as.example/oauth/token",
		.ath = NULL, .now = 1700000000, .max_age = 60, .leeway = 0,
	};
	struct dpop_proof	 out;
	struct json_object	*jwk;
	char			 jwks[256], thumb[JWK_THUMBPRINT_LEN + 1];
	char			 err[128];
	const char		*good = "{\"jti\":\"j-1\",\"htm\":\"POST\","
	    "\"htu\":\"https://as.example/oauth/token\",\"iat\":1700000000}";

	TEST_ASSERT(eckey_make(&a) == 0 && eckey_make(&b) == 0);
	TEST_ASSERT(check_proof(a.pkey, &a, "dpop+jwt", "ES256", good, &e,
	    &out) == DPOP_OK);
	TEST_ASSERT(strcmp(out.jti, "j-1") == 0);
	TEST_ASSERT(out.iat == 1700000000);
	/* the thumbprint is the JWK module's RFC 7638 one */
	snprintf(jwks, sizeof(jwks), "{\"kty\":\"EC\",\"crv\":\"P-256\","
	    "\"x\":\"%s\",\"y\":\"%s\"}", a.x, a.y);
	jwk = sjson_parse(jwks, strlen(jwks), 4);
	TEST_ASSERT(jwk_thumbprint(jwk, thumb, err, sizeof(err)) == 0);
	json_object_put(jwk);
	TEST_ASSERT(strcmp(out.jkt, thumb) == 0);
	/* signed by another key than the header's */
	TEST_ASSERT(check_proof(b.pkey, &a, "dpop+jwt", "ES256", good, &e,
	    &out) == DPOP_BAD_SIGNATURE);
	TEST_ASSERT(out.jkt[0] == '\0' && out.jti[0] == '\0');
	/* alg not the key's (ES384 is supported, but not by a P-256 key) */
	TEST_ASSERT(check_proof(a.pkey, &a, "dpop+jwt", "ES384", good, &e,
	    &out) == DPOP_BAD_ALG);
	TEST_ASSERT(check_proof(a.pkey, &a, "dpop+jwt", "HS256", good, &e,
	    &out) == DPOP_BAD_ALG);
	TEST_ASSERT(check_proof(a.pkey, &a, "dpop+jwt", "none", good, &e,
	    &out) == DPOP_BAD_ALG);
	TEST_ASSERT(check_proof(a.pkey, &a, "at+jwt", "ES256", good, &e,
	    &out) == DPOP_BAD_TYP);
	/* claims after the signature */
	e.htm = "GET";
	TEST_ASSERT(check_proof(a.pkey, &a, "dpop+jwt", "ES256", good, &e,
	    &out) == DPOP_BAD_HTM);
	e.htm = "POST";
	e.now += 61;
	TEST_ASSERT(check_proof(a.pkey, &a, "dpop+jwt", "ES256", good, &e,
	    &out) == DPOP_BAD_IAT);
	e.now -= 61;
	/* a point not on the curve is not a key */
	{
		struct eckey	bad = a;

		memcpy(bad.y, b.y, sizeof(bad.y));
		TEST_ASSERT(check_proof(a.pkey, &bad, "dpop+jwt", "ES256",
		    good, &e, &out) == DPOP_BAD_JWK);
	}
	/* the key is now in this thread's cache: a second proof of it
	   passes, a forged one still fails its signature */
	TEST_ASSERT(check_proof(a.pkey, &a, "dpop+jwt", "ES256", good, &e,
	    &out) == DPOP_OK);
	TEST_ASSERT(strcmp(out.jkt, thumb) == 0);
	TEST_ASSERT(check_proof(b.pkey, &a, "dpop+jwt", "ES256", good, &e,
	    &out) == DPOP_BAD_SIGNATURE);
	/* many keys: slots replaced, every answer right */
	{
		struct eckey	ks[80];
		size_t		i;

		for (i = 0; i < 80; i++) {
			TEST_ASSERT(eckey_make(&ks[i]) == 0);
			TEST_ASSERT(check_proof(ks[i].pkey, &ks[i], "dpop+jwt",
			    "ES256", good, &e, &out) == DPOP_OK);
		}
		for (i = 0; i < 80; i++) {
			TEST_ASSERT(check_proof(ks[i].pkey, &ks[i], "dpop+jwt",
			    "ES256", good, &e, &out) == DPOP_OK);
			TEST_ASSERT(check_proof(ks[(i + 1) % 80].pkey, &ks[i],
			    "dpop+jwt", "ES256", good, &e, &out) ==
			    DPOP_BAD_SIGNATURE);
		}
		for (i = 0; i < 80; i++)
			EVP_PKEY_free(ks[i].pkey);
	}
	/* not a JWS, too long */
	TEST_ASSERT(dpop_proof_check("a.b", 3, &e, &out) == DPOP_MALFORMED);
	TEST_ASSERT(dpop_proof_check("a.b.c", DPOP_PROOF_MAX + 1, &e, &out) ==
	    DPOP_MALFORMED);
	EVP_PKEY_free(a.pkey);
	EVP_PKEY_free(b.pkey);
	dpop_key_cache_clear();
	dpop_key_cache_clear();
}

/* b64url(header).b64url(claims).b64url(RSA signature by k, PSS or not) */
static char *
sign_rsa(EVP_PKEY *k, bool pss, const char *header, const char *claims)
{
	EVP_MD_CTX	*md = EVP_MD_CTX_new();
	EVP_PKEY_CTX	*pctx = NULL;
	unsigned char	 sig[512];
	size_t		 siglen = sizeof(sig), hl = strlen(header);
	size_t		 cl = strlen(claims), n;
	char		*out;

	out = malloc(2 * (hl + cl) + 800);
	n = b64url_encode(out, (const unsigned char *)header, hl);
	out[n++] = '.';
	n += b64url_encode(out + n, (const unsigned char *)claims, cl);
	if (md == NULL || out == NULL ||
	    EVP_DigestSignInit(md, &pctx, EVP_sha256(), NULL, k) != 1 ||
	    (pss && (EVP_PKEY_CTX_set_rsa_padding(pctx,
	    RSA_PKCS1_PSS_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) !=
	    1)) ||
	    EVP_DigestSign(md, sig, &siglen, (unsigned char *)out, n) != 1)
		abort();
	out[n++] = '.';
	b64url_encode(out + n, sig, siglen);
	EVP_MD_CTX_free(md);
	return out;
}

/*
 * PS256 (listed in DPOP_ALGS) with an RSA JWK that names no alg, as
 * proofs' JWKs do: accepted, with the thumbprint of the JWK as sent; a
 * PKCS#1 v1.5 signature under PS256 and a JWK whose alg is RS256 are not.
 */
static void
test_proof_ps256(void)
{
	struct dpop_expect	 e = {
		.htm = "POST", .htu = "https://as.example/oauth/token",
		.ath = NULL, .now = 1700000000, .max_age = 60, .leeway = 0,
	};
	struct dpop_proof	 out;
	struct json_object	*jwk;
	EVP_PKEY		*k = EVP_RSA_gen(2048);
	BIGNUM			*bn_n = NULL, *bn_e = NULL;
	unsigned char		 b[512];
	char			 nb[700], eb[16], jwks[1024], header[1200];
	char			 thumb[JWK_THUMBPRINT_LEN + 1], err[128];
	char			*proof;
	int			 len;
	const char		*claims = "{\"jti\":\"ps-1\",\"htm\":\"POST\","
	    "\"htu\":\"https://as.example/oauth/token\",\"iat\":1700000000}";

	TEST_ASSERT(k != NULL);
	TEST_ASSERT(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N,
	    &bn_n) == 1 && EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E,
	    &bn_e) == 1);
	len = BN_bn2bin(bn_n, b);
	b64url_encode(nb, b, (size_t)len);
	len = BN_bn2bin(bn_e, b);
	b64url_encode(eb, b, (size_t)len);
	snprintf(jwks, sizeof(jwks), "{\"kty\":\"RSA\",\"n\":\"%s\","
	    "\"e\":\"%s\"}", nb, eb);
	jwk = sjson_parse(jwks, strlen(jwks), 4);
	TEST_ASSERT(jwk_thumbprint(jwk, thumb, err, sizeof(err)) == 0);
	json_object_put(jwk);

	snprintf(header, sizeof(header), "{\"typ\":\"dpop+jwt\","
	    "\"alg\":\"PS256\",\"jwk\":%s}", jwks);
	proof = sign_rsa(k, true, header, claims);
	TEST_ASSERT(dpop_proof_check(proof, strlen(proof), &e, &out) ==
	    DPOP_OK);
	TEST_ASSERT(strcmp(out.jkt, thumb) == 0);
	free(proof);
	/* twice: the key now comes from this thread's cache */
	proof = sign_rsa(k, true, header, claims);
	TEST_ASSERT(dpop_proof_check(proof, strlen(proof), &e, &out) ==
	    DPOP_OK);
	free(proof);
	proof = sign_rsa(k, false, header, claims);
	TEST_ASSERT(dpop_proof_check(proof, strlen(proof), &e, &out) ==
	    DPOP_BAD_SIGNATURE);
	free(proof);
	/* RS256 with the same JWK still works */
	snprintf(header, sizeof(header), "{\"typ\":\"dpop+jwt\","
	    "\"alg\":\"RS256\",\"jwk\":%s}", jwks);
	proof = sign_rsa(k, false, header, claims);
	TEST_ASSERT(dpop_proof_check(proof, strlen(proof), &e, &out) ==
	    DPOP_OK);
	TEST_ASSERT(strcmp(out.jkt, thumb) == 0);
	free(proof);
	/* a JWK that names RS256 keeps it */
	snprintf(header, sizeof(header), "{\"typ\":\"dpop+jwt\","
	    "\"alg\":\"PS256\",\"jwk\":{\"kty\":\"RSA\",\"alg\":\"RS256\","
	    "\"n\":\"%s\",\"e\":\"%s\"}}", nb, eb);
	proof = sign_rsa(k, true, header, claims);
	TEST_ASSERT(dpop_proof_check(proof, strlen(proof), &e, &out) ==
	    DPOP_BAD_ALG);
	free(proof);
	BN_free(bn_n);
	BN_free(bn_e);
	EVP_PKEY_free(k);
	dpop_key_cache_clear();
}

int
main(void)
{
	test_run(test_htu_case_port_query);
	test_run(test_htu_percent_and_dots);
	test_run(test_htu_refused);
	test_run(test_htu_bounds);
	test_run(test_header_rules);
	test_run(test_claims_rules);
	test_run(test_ath_and_algs);
	test_run(test_proof_check);
	test_run(test_proof_ps256);
	return test_summary();
}
