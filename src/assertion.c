/*
 * assertion: the rules of a private_key_jwt client assertion.
 *
 * Invariants:
 * - The signature is checked by token.c's jws_verify, the one JWS
 *   verifier, with the client's own keys; the claims only after it.
 * - Every rule is a refusal: nothing here widens what is accepted (no
 *   audience but ours, no exp further than max_age, nothing without jti).
 * - No clock is read (rules->now), nothing is logged.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "assertion.h"
#include "b64url.h"
#include "jwk.h"
#include "sjson.h"
#include "token.h"
#include "util.h"

#define PAYLOAD_DEPTH	8

static const char *const verdict_names[] = {
	[ASSERTION_OK] = "ok",
	[ASSERTION_BAD_JWS] = "bad_jws",
	[ASSERTION_WRONG_TYPE] = "wrong_type",
	[ASSERTION_WRONG_ISSUER] = "wrong_issuer",
	[ASSERTION_WRONG_SUBJECT] = "wrong_subject",
	[ASSERTION_WRONG_AUDIENCE] = "wrong_audience",
	[ASSERTION_MISSING_CLAIM] = "missing_claim",
	[ASSERTION_BAD_CLAIM] = "bad_claim",
	[ASSERTION_EXPIRED] = "expired",
	[ASSERTION_EXP_TOO_FAR] = "exp_too_far",
	[ASSERTION_NOT_YET_VALID] = "not_yet_valid",
};

const char *
assertion_verdict_name(enum assertion_verdict v)
{
	if ((size_t)v >= nitems(verdict_names))
		return "unknown";
	return verdict_names[v];
}

/* A string member: 1 present, 0 absent, -1 not a string or with a NUL. */
static int
get_string(const struct json_object *o, const char *name, const char **s)
{
	struct json_object	*v;

	*s = NULL;
	if (!json_object_object_get_ex(o, name, &v))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return -1;
	*s = json_object_get_string(v);
	if (strlen(*s) != (size_t)json_object_get_string_len(v))
		return -1;
	return 1;
}

/*
 * A NumericDate (RFC 7519 2) as a double: 1 present, 0 absent, -1 not a
 * finite number.
 */
static int
get_date(const struct json_object *o, const char *name, double *d)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(o, name, &v))
		return 0;
	if (json_object_is_type(v, json_type_int))
		*d = (double)json_object_get_int64(v);
	else if (json_object_is_type(v, json_type_double))
		*d = json_object_get_double(v);
	else
		return -1;
	if (*d != *d || *d > 1e300 || *d < -1e300)
		return -1;
	return 1;
}

static bool
aud_ok(const char *a, const struct assertion_rules *r)
{
	return (r->issuer != NULL && strcmp(a, r->issuer) == 0) ||
	    (r->token_endpoint != NULL && strcmp(a, r->token_endpoint) == 0);
}

static enum assertion_verdict
check_aud(const struct json_object *pl, const struct assertion_rules *r)
{
	struct json_object	*v, *e;
	size_t			 i, n;
	bool			 found = false;

	if (!json_object_object_get_ex(pl, "aud", &v))
		return ASSERTION_MISSING_CLAIM;
	if (json_object_is_type(v, json_type_string))
		return aud_ok(json_object_get_string(v), r) ?
		    ASSERTION_OK : ASSERTION_WRONG_AUDIENCE;
	if (!json_object_is_type(v, json_type_array))
		return ASSERTION_BAD_CLAIM;
	n = json_object_array_length(v);
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(v, i);
		if (!json_object_is_type(e, json_type_string))
			return ASSERTION_BAD_CLAIM;
		if (aud_ok(json_object_get_string(e), r))
			found = true;
	}
	return found ? ASSERTION_OK : ASSERTION_WRONG_AUDIENCE;
}

enum assertion_verdict
assertion_check_claims(const struct json_object *pl,
    const struct assertion_rules *r, struct assertion_info *out)
{
	const char		*iss, *sub, *jti, *c;
	double			 exp, nbf, iat;
	double			 now = (double)r->now;
	double			 leeway = r->leeway > 0 ? (double)r->leeway : 0;
	double			 max_age = r->max_age > 0 ? (double)r->max_age :
				    0;
	enum assertion_verdict	 v;
	int			 rc;

	memset(out, 0, sizeof(*out));
	if ((rc = get_string(pl, "iss", &iss)) <= 0)
		return rc == 0 ? ASSERTION_MISSING_CLAIM : ASSERTION_BAD_CLAIM;
	if (r->client_id == NULL || strcmp(iss, r->client_id) != 0)
		return ASSERTION_WRONG_ISSUER;
	if ((rc = get_string(pl, "sub", &sub)) <= 0)
		return rc == 0 ? ASSERTION_MISSING_CLAIM : ASSERTION_BAD_CLAIM;
	if (strcmp(sub, r->client_id) != 0)
		return ASSERTION_WRONG_SUBJECT;
	if ((v = check_aud(pl, r)) != ASSERTION_OK)
		return v;

	/* RFC 7523 3 item 4: exp required; bounded so jtis are bounded */
	if ((rc = get_date(pl, "exp", &exp)) <= 0)
		return rc == 0 ? ASSERTION_MISSING_CLAIM : ASSERTION_BAD_CLAIM;
	if (exp <= now - leeway)
		return ASSERTION_EXPIRED;
	if (exp > now + max_age + leeway)
		return ASSERTION_EXP_TOO_FAR;
	if ((rc = get_date(pl, "nbf", &nbf)) == -1)
		return ASSERTION_BAD_CLAIM;
	if (rc == 1 && nbf > now + leeway)
		return ASSERTION_NOT_YET_VALID;
	if ((rc = get_date(pl, "iat", &iat)) == -1)
		return ASSERTION_BAD_CLAIM;
	if (rc == 1 && iat > now + leeway)
		return ASSERTION_NOT_YET_VALID;

	/* RFC 7523 3 item 7: jti, used once (the store's part) */
	if ((rc = get_string(pl, "jti", &jti)) <= 0)
		return rc == 0 ? ASSERTION_MISSING_CLAIM : ASSERTION_BAD_CLAIM;
	if (jti[0] == '\0' || strlen(jti) > ASSERTION_JTI_MAX)
		return ASSERTION_BAD_CLAIM;
	for (c = jti; *c != '\0'; c++)
		if (*c <= 0x20 || *c >= 0x7f)
			return ASSERTION_BAD_CLAIM;
	memcpy(out->jti, jti, strlen(jti) + 1);
	/* the replay record must outlive the assertion: round exp up */
	out->exp = (int64_t)exp;
	if ((double)out->exp < exp)
		out->exp++;
	return ASSERTION_OK;
}

/* typ, when present: a JWT (RFC 7519 5.1) or an explicitly typed one. */
static bool
typ_ok(const struct json_object *hdr)
{
	const char	*typ;
	int		 rc;

	if ((rc = get_string(hdr, "typ", &typ)) == 0)
		return true;
	if (rc == -1)
		return false;
	if (strncasecmp(typ, "application/", 12) == 0)
		typ += 12;
	return strcasecmp(typ, "JWT") == 0 ||
	    strcasecmp(typ, "client-authentication+jwt") == 0;
}

/*
 * Decoys: one public key per assertion algorithm (ES256, ES384, RS256,
 * PS256, EdDSA), made for this purpose with their private halves thrown
 * away. An assertion for a client without keys (unknown, another
 * method), or whose kid names none of the client's keys, is checked
 * against the decoy of its alg (assertion_check_decoyed), so that every
 * failure costs one signature check whoever the client is; a decoy's
 * verdict never authenticates anyone.
 */
static const char	 dummy_jwks[] = "{\"keys\":["
    "{\"kty\":\"EC\",\"crv\":\"P-256\","
    "\"x\":\"v4xDRLpGZK7P92SMLH_qYi9JbFDOsSEsfUP0QhTsVGw\","
    "\"y\":\"_itNTztv6-G9guzrohafp_MwXEnbCvD5IoYInv3eczc\"},"
    "{\"kty\":\"EC\",\"crv\":\"P-384\","
    "\"x\":\"KoOHDg442msdbEzSKl3G5kLgzJuv4iF6beS_xfWny4Aa97vRkoBBcrvkuhr8k9XL\","
    "\"y\":\"lxdHO48LvMeK9tZs5SVjrVRMYa2k6W7X7rfrBfpDkz43LnHQaj2rNSkn4_ubpoql\"},"
    "{\"kty\":\"RSA\",\"e\":\"AQAB\",\"n\":\""
    "1S_AY9OLcZi_93hzN2PZrtCp7_MMyQNGzI9ekhOx4xsNkEER_vL4BrSu4-KhpgyS1Rbi"
    "4RpASIJLDV033K2a-gqm7yh5UtfKgQm0UlpF2MU5T1tRK2z0FydYz1Cz6JFzYjhIpShq"
    "5t2jtPa287a1pdNLaWZtbnm-j8yiVmL2Bt7pnxolrPGV_zUGEYUkauVLrV6PpIzle7Pt"
    "byl-gNsBu05D6Dbc0uDIJ1kIgFzLgjFv0KKFtyjUi5ayuO9Jo4mSwlGVZS7M9AFe4NCQ"
    "E1PBTLzeaN69Uwb3l-sBx_Yn9GDAaWVolYJ7rnLqVyoD2N-NRFNuu_aOHYxeekEbJ2xywQ"
    "\"},"
    "{\"kty\":\"RSA\",\"alg\":\"PS256\",\"e\":\"AQAB\",\"n\":\""
    "pz9znBZAw18WYjEJqcpJux6XuI54y_WDpgDYlWgjpCqB3JQamRcoqNIqo2CnPDE45jBn"
    "zAvbc8NkXEsx22DNrcB8s3GC1zx4AYmtjnE7Yuz-NxlPtxaOx1hMDiCOYfMTAm7G9PsB"
    "3Q1Fe3z96kMCt2jEjyXdDI1CGeQ3TujIZdrgqPkDNvdReLC7ulmlcgUTVALOGuvGlvC5"
    "X3htfFHctlb5jHwmTPHPx3d-r-YanIhr2wmRMk3E4lqRb5vcAyW-PaFlW5riQc9E9aqv"
    "aqd_9r4ujySWv_wSOkYRFHM97x3lAr-Qb1CI_rzIEKXUXZXf-sknb8jw11JLM83RuRAHSw"
    "\"},"
    "{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
    "\"x\":\"n-eTdKI1pLEZEpCyO8rPvNarQYXbz88Gk6IYxWwSnw4\"}]}";
static struct jwk_set	*decoy_set;
static pthread_once_t	 decoys_once = PTHREAD_ONCE_INIT;

static void
decoys_init(void)
{
	decoy_set = jwk_set_parse(dummy_jwks, sizeof(dummy_jwks) - 1, NULL, 0);
}

const struct jwk_set *
assertion_decoys(void)
{
	pthread_once(&decoys_once, decoys_init);
	return decoy_set;
}

struct key_choice {
	const struct jwk_set	*keys;		/* NULL: none */
	const struct jwk_set	*decoys;	/* NULL: none */
};

/* Whether one of keys has the algorithm hdr's alg names. */
static bool
set_has_alg(const struct jwk_set *keys, const struct json_object *hdr)
{
	struct json_object	*a;
	const char		*alg;
	size_t			 i, n = jwk_set_count(keys);

	if (!json_object_object_get_ex(hdr, "alg", &a) ||
	    !json_object_is_type(a, json_type_string))
		return false;
	alg = json_object_get_string(a);
	for (i = 0; i < n; i++)
		if (strcmp(key_alg_name(key_alg(jwk_set_key(keys, i))),
		    alg) == 0)
			return true;
	return false;
}

/*
 * jws_key_from_set()'s candidates from the client's keys; when there are
 * none (no keys, a kid naming none of them, or no kid and no key of the
 * header's alg), every decoy, kid ignored, so that the alg's one decoy is
 * checked.
 */
static enum token_verdict
key_or_decoy(void *arg, const struct json_object *hdr, const char *kid,
    size_t kidlen, size_t i, const struct key **key)
{
	const struct key_choice	*kc = arg;
	bool			 none;

	none = kc->keys == NULL ||
	    (kid != NULL && jwk_set_find(kc->keys, kid, kidlen) == NULL) ||
	    (kid == NULL && !set_has_alg(kc->keys, hdr));
	if (!none)
		return jws_key_from_set((void *)(uintptr_t)kc->keys, hdr, kid,
		    kidlen, i, key);
	*key = kc->decoys != NULL ? jwk_set_key(kc->decoys, i) : NULL;
	return TOKEN_OK;
}

static bool
is_decoy(const struct jwk_set *decoys, const struct key *k)
{
	size_t	 i, n = decoys != NULL ? jwk_set_count(decoys) : 0;

	for (i = 0; i < n; i++)
		if (jwk_set_key(decoys, i) == k)
			return true;
	return false;
}

enum assertion_verdict
assertion_check(const struct jwk_set *keys, const char *jws, size_t len,
    const struct assertion_rules *rules, struct assertion_info *out)
{
	memset(out, 0, sizeof(*out));
	if (keys == NULL)
		return ASSERTION_BAD_JWS;
	return assertion_check_decoyed(keys, NULL, jws, len, rules, out);
}

enum assertion_verdict
assertion_check_decoyed(const struct jwk_set *keys,
    const struct jwk_set *decoys, const char *jws, size_t len,
    const struct assertion_rules *rules, struct assertion_info *out)
{
	struct key_choice	 kc = { keys, decoys };
	struct jws_parsed	 j;
	enum assertion_verdict	 v;

	memset(out, 0, sizeof(*out));
	if (jws_verify(jws, len, ASSERTION_MAX_LEN, NULL, key_or_decoy, &kc,
	    &j) != TOKEN_OK)
		return ASSERTION_BAD_JWS;
	if (is_decoy(decoys, j.key) || j.key == NULL) {
		out->decoy = j.key != NULL;
		v = ASSERTION_BAD_JWS;
	}
	else if (!typ_ok(j.header))
		v = ASSERTION_WRONG_TYPE;
	else
		v = assertion_check_claims(j.payload, rules, out);
	jws_parsed_clear(&j);
	return v;
}

int
assertion_subject(const char *jws, size_t len, char *id, size_t idlen)
{
	const char		*d1, *d2;
	unsigned char		*buf;
	struct json_object	*pl = NULL;
	const char		*sub;
	size_t			 n, plen;
	int			 rc = -1;

	if (jws == NULL || len > ASSERTION_MAX_LEN ||
	    (d1 = memchr(jws, '.', len)) == NULL ||
	    (d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - jws))) == NULL)
		return -1;
	n = (size_t)(d2 - d1 - 1);
	buf = xmalloc(B64URL_DECODED_MAX(n) + 1);
	if (b64url_decode(buf, &plen, d1 + 1, n) == 0 &&
	    (pl = sjson_parse((const char *)buf, plen, PAYLOAD_DEPTH)) !=
	    NULL && json_object_is_type(pl, json_type_object) &&
	    get_string(pl, "sub", &sub) == 1 && sub[0] != '\0' &&
	    strlen(sub) < idlen) {
		memcpy(id, sub, strlen(sub) + 1);
		rc = 0;
	}
	json_object_put(pl);
	free(buf);
	return rc;
}
