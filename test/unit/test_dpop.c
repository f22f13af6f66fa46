/*
 * test_dpop: the key-free rules of a DPoP proof: htu normalisation
 * (RFC 3986 6.2.2, 6.2.3), the header rules and the claims rules at a
 * given clock, ath, the alg list.
 */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "dpop.h"
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
	return test_summary();
}
