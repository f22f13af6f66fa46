/*
 * test_jwk: public JWKs and JWK Sets decoded into verify-only keys, for
 * each algorithm (a signature made by OpenSSL with the private half
 * verifies, a changed one does not), every refusal of jwk.h, and RFC 7638
 * thumbprints against the RFCs' own examples.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "b64url.h"
#include "jwk.h"
#include "keys.h"
#include "token.h"
#include "util.h"
#include "test.h"

#ifndef TEST_DATA_DIR
#error "TEST_DATA_DIR must name test/data/keys"
#endif

#define RFC7638_KID	"NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"

static char	 err[256];

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
b64(const unsigned char *p, size_t n)
{
	char	*s = xmalloc(b64url_encoded_len(n) + 1);

	b64url_encode(s, p, n);
	return s;
}

static void
add_bn(struct json_object *o, const char *member, EVP_PKEY *pk,
    const char *param, int pad)
{
	BIGNUM		*bn = NULL;
	unsigned char	 buf[1024];
	int		 n;
	char		*s;

	EVP_PKEY_get_bn_param(pk, param, &bn);
	n = pad > 0 ? pad : BN_num_bytes(bn);
	BN_bn2binpad(bn, buf, n);
	s = b64(buf, (size_t)n);
	json_object_object_add(o, member, json_object_new_string(s));
	free(s);
	BN_free(bn);
}

/* The public JWK of pk (EC, RSA or Ed25519). */
static struct json_object *
public_jwk(EVP_PKEY *pk)
{
	struct json_object	*o = json_object_new_object();
	char			 group[32];
	unsigned char		 raw[32];
	size_t			 rawlen = sizeof(raw);
	char			*s;
	int			 clen;

	if (EVP_PKEY_is_a(pk, "EC")) {
		EVP_PKEY_get_group_name(pk, group, sizeof(group), NULL);
		clen = strcmp(group, "secp384r1") == 0 ? 48 : 32;
		json_object_object_add(o, "kty", json_object_new_string("EC"));
		json_object_object_add(o, "crv", json_object_new_string(
		    clen == 48 ? "P-384" : "P-256"));
		add_bn(o, "x", pk, OSSL_PKEY_PARAM_EC_PUB_X, clen);
		add_bn(o, "y", pk, OSSL_PKEY_PARAM_EC_PUB_Y, clen);
	} else if (EVP_PKEY_is_a(pk, "RSA")) {
		json_object_object_add(o, "kty", json_object_new_string("RSA"));
		add_bn(o, "n", pk, OSSL_PKEY_PARAM_RSA_N, 0);
		add_bn(o, "e", pk, OSSL_PKEY_PARAM_RSA_E, 0);
	} else {
		EVP_PKEY_get_raw_public_key(pk, raw, &rawlen);
		json_object_object_add(o, "kty", json_object_new_string("OKP"));
		json_object_object_add(o, "crv",
		    json_object_new_string("Ed25519"));
		s = b64(raw, rawlen);
		json_object_object_add(o, "x", json_object_new_string(s));
		free(s);
	}
	return o;
}

/* A JWS signature of msg by pk for alg, in the JWS form. */
static size_t
sign(EVP_PKEY *pk, enum key_alg alg, const char *msg, unsigned char *sig)
{
	EVP_MD_CTX	*m = EVP_MD_CTX_new();
	EVP_PKEY_CTX	*pc = NULL;
	unsigned char	 der[512];
	const unsigned char *p = der;
	size_t		 len = 1024, dlen = sizeof(der), c;
	ECDSA_SIG	*es;
	const BIGNUM	*r, *s;
	const EVP_MD	*md = alg == KEY_ALG_EDDSA ? NULL :
			    alg == KEY_ALG_ES384 ? EVP_sha384() : EVP_sha256();

	EVP_DigestSignInit(m, &pc, md, NULL, pk);
	if (alg == KEY_ALG_PS256) {
		EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING);
		EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, RSA_PSS_SALTLEN_DIGEST);
	}
	if (alg == KEY_ALG_ES256 || alg == KEY_ALG_ES384) {
		EVP_DigestSign(m, der, &dlen, (const unsigned char *)msg,
		    strlen(msg));
		es = d2i_ECDSA_SIG(NULL, &p, (long)dlen);
		ECDSA_SIG_get0(es, &r, &s);
		c = alg == KEY_ALG_ES384 ? 48 : 32;
		BN_bn2binpad(r, sig, (int)c);
		BN_bn2binpad(s, sig + c, (int)c);
		ECDSA_SIG_free(es);
		len = 2 * c;
	} else
		EVP_DigestSign(m, sig, &len, (const unsigned char *)msg,
		    strlen(msg));
	EVP_MD_CTX_free(m);
	return len;
}

static void
round_trip(EVP_PKEY *pk, const char *alg_member, enum key_alg want)
{
	struct json_object	*o = public_jwk(pk);
	struct key		*k;
	unsigned char		 sig[1024];
	char			 thumb[JWK_THUMBPRINT_LEN + 1];
	size_t			 n;

	if (alg_member != NULL)
		json_object_object_add(o, "alg",
		    json_object_new_string(alg_member));
	json_object_object_add(o, "kid", json_object_new_string("k1"));
	k = jwk_decode(o, thumb, err, sizeof(err));
	if (k == NULL)
		fprintf(stderr, "jwk_decode: %s\n", err);
	TEST_ASSERT(k != NULL);
	TEST_ASSERT(key_alg(k) == want);
	TEST_ASSERT(strcmp(key_kid(k), "k1") == 0);
	TEST_ASSERT(strlen(thumb) == JWK_THUMBPRINT_LEN);
	TEST_ASSERT(!key_can_sign(k));
	n = sign(pk, want, "header.payload", sig);
	TEST_ASSERT(n == key_sig_len(k));
	TEST_ASSERT(key_verify(k, "header.payload", 14, sig, n) == 0);
	TEST_ASSERT(key_verify(k, "header.payloaD", 14, sig, n) == -1);
	sig[n / 2] ^= 1;
	TEST_ASSERT(key_verify(k, "header.payload", 14, sig, n) == -1);
	TEST_ASSERT(key_verify(k, "header.payload", 14, sig, n - 1) == -1);
	key_free(k);
	json_object_put(o);
}

static void
test_jwk_algorithms(void)
{
	EVP_PKEY	*ec256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY	*ec384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	EVP_PKEY	*rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA",
			    (size_t)2048);
	EVP_PKEY	*ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");

	round_trip(ec256, NULL, KEY_ALG_ES256);
	round_trip(ec256, "ES256", KEY_ALG_ES256);
	round_trip(ec384, NULL, KEY_ALG_ES384);
	round_trip(rsa, NULL, KEY_ALG_RS256);
	round_trip(rsa, "RS256", KEY_ALG_RS256);
	round_trip(rsa, "PS256", KEY_ALG_PS256);
	round_trip(ed, NULL, KEY_ALG_EDDSA);
	round_trip(ed, "EdDSA", KEY_ALG_EDDSA);
	EVP_PKEY_free(ec256);
	EVP_PKEY_free(ec384);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ed);
}

/* A PS256 signature does not verify under the same key as RS256. */
static void
test_jwk_alg_pinned(void)
{
	EVP_PKEY		*rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA",
				    (size_t)2048);
	struct json_object	*o = public_jwk(rsa);
	struct key		*k;
	unsigned char		 sig[512];
	size_t			 n;

	k = jwk_decode(o, NULL, err, sizeof(err));
	TEST_ASSERT(k != NULL && key_alg(k) == KEY_ALG_RS256);
	n = sign(rsa, KEY_ALG_PS256, "m", sig);
	TEST_ASSERT(key_verify(k, "m", 1, sig, n) == -1);
	key_free(k);
	json_object_put(o);
	EVP_PKEY_free(rsa);
}

/* jwk_decode of text must fail; err must mention want. */
static void
refused(const char *text, const char *want)
{
	struct json_object	*o = json_tokener_parse(text);
	struct key		*k;

	err[0] = '\0';
	k = jwk_decode(o, NULL, err, sizeof(err));
	if (k != NULL || strstr(err, want) == NULL)
		fprintf(stderr, "%s -> %s\n", text, err);
	key_free(k);
	json_object_put(o);
	TEST_ASSERT(k == NULL);
	TEST_ASSERT(strstr(err, want) != NULL);
}

/* A valid P-256 key with one member replaced or added. */
static char *
ec_with(const char *member, const char *json_value)
{
	EVP_PKEY		*pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC",
				    "P-256");
	struct json_object	*o = public_jwk(pk);
	char			*s;

	if (member != NULL)
		json_object_object_add(o, member,
		    json_tokener_parse(json_value));
	s = xstrdup(json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	EVP_PKEY_free(pk);
	return s;
}

static void
refused_ec(const char *member, const char *value, const char *want)
{
	char	*s = ec_with(member, value);

	refused(s, want);
	free(s);
}

static void
test_jwk_refused(void)
{
	static const char *const priv[] = { "d", "p", "q", "dp", "dq", "qi",
	    "oth", "k" };
	static const char *const small_order[] = {
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAIA",
		"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAIA",
		"7P_______________________________________38",
		"7P________________________________________8",
		"JuiVj8KyJ7BFw_SJ8u-Y8NXfrAXTxjM5sTgCiG1T_AU",
		"JuiVj8KyJ7BFw_SJ8u-Y8NXfrAXTxjM5sTgCiG1T_IU",
		"xxdqcD1N2E-6PAt2DRBnDyogU_osOczGTsf9d5KsA3o",
		"xxdqcD1N2E-6PAt2DRBnDyogU_osOczGTsf9d5KsA_o",
		"7f_______________________________________38",
		"7v_______________________________________38",
		"7v________________________________________8",
	};
	EVP_PKEY		*pk;
	struct json_object	*o;
	const char		*y;
	char			 bad[128];
	size_t			 i;

	for (i = 0; i < nitems(priv); i++)
		refused_ec(priv[i], "\"AQAB\"", "private or symmetric");
	refused("{\"kty\":\"oct\",\"kid\":\"a\"}", "symmetric");
	refused("{\"kty\":\"oct\"}", "symmetric");
	refused("{\"kty\":\"DSA\"}", "kty not supported");
	refused("{\"crv\":\"P-256\"}", "kty");
	refused("[1]", "JSON object");
	refused("{\"kty\":\"EC\",\"crv\":\"P-521\",\"x\":\"AA\",\"y\":\"AA\"}",
	    "curve not supported");
	refused("{\"kty\":\"EC\",\"crv\":\"secp256k1\",\"x\":\"AA\","
	    "\"y\":\"AA\"}", "curve not supported");
	refused("{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"AA\"}",
	    "Ed25519");
	refused("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"AAAA\"}",
	    "32 bytes");
	/* the eight torsion points, each sign of x, and y >= p */
	for (i = 0; i < nitems(small_order); i++) {
		snprintf(bad, sizeof(bad), "{\"kty\":\"OKP\","
		    "\"crv\":\"Ed25519\",\"x\":\"%s\"}", small_order[i]);
		refused(bad, "small order");
	}
	refused("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AA\"}",
	    "crv, x and y");
	refused_ec("alg", "\"RS256\"", "alg does not match");
	refused_ec("alg", "\"none\"", "alg does not match");
	refused_ec("alg", "\"HS256\"", "alg does not match");
	refused_ec("alg", "7", "not a string");
	refused_ec("use", "\"enc\"", "use must be");
	refused_ec("key_ops", "[\"sign\"]", "key_ops without");
	refused_ec("key_ops", "\"verify\"", "must be an array");
	refused_ec("kid", "\"\"", "kid must be");
	refused_ec("kid", "\"a\\nb\"", "kid must be");
	refused_ec("x", "\"AAAA\"", "32 bytes");
	refused_ec("y", "null", "not a string");

	/* strict base64url: padding, the other alphabet */
	pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	o = public_jwk(pk);
	y = json_object_get_string(json_object_object_get(o, "y"));
	snprintf(bad, sizeof(bad), "\"%s=\"", y);
	refused_ec("y", bad, "32 bytes");
	snprintf(bad, sizeof(bad), "\"%s\"", y);
	for (i = 1; bad[i] != '\0'; i++)
		if (bad[i] == '-' || bad[i] == '_')
			bad[i] = bad[i] == '-' ? '+' : '/';
	if (strchr(bad, '+') != NULL || strchr(bad, '/') != NULL)
		refused_ec("y", bad, "32 bytes");
	/* a point off the curve: the x of one key, the y of another */
	json_object_object_add(o, "x", json_object_new_string(
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE"));
	TEST_ASSERT(jwk_decode(o, NULL, err, sizeof(err)) == NULL);
	json_object_put(o);
	EVP_PKEY_free(pk);

	/* RSA: too short, leading zero, even modulus */
	pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	o = public_jwk(pk);
	TEST_ASSERT(jwk_decode(o, NULL, err, sizeof(err)) == NULL);
	TEST_ASSERT(strstr(err, "1024 bits") != NULL);
	json_object_put(o);
	EVP_PKEY_free(pk);
	refused("{\"kty\":\"RSA\",\"n\":\"AAEC\",\"e\":\"AQAB\"}",
	    "leading zero");
}

static void
test_jwk_thumbprints(void)
{
	struct json_object	*o;
	EVP_PKEY		*pk;
	FILE			*f;
	char			 thumb[JWK_THUMBPRINT_LEN + 1];

	/* RFC 7638 3.1: the example RSA key */
	f = fopen(TEST_DATA_DIR "/rfc7638.pub.pem", "r");
	TEST_ASSERT(f != NULL);
	pk = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	TEST_ASSERT(pk != NULL);
	o = public_jwk(pk);
	json_object_object_add(o, "kid", json_object_new_string("ignored"));
	json_object_object_add(o, "alg", json_object_new_string("RS256"));
	TEST_ASSERT(jwk_thumbprint(o, thumb, err, sizeof(err)) == 0);
	TEST_ASSERT(strcmp(thumb, RFC7638_KID) == 0);
	json_object_put(o);
	EVP_PKEY_free(pk);

	/* RFC 8037 A.3: the example Ed25519 key */
	o = json_tokener_parse("{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
	    "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}");
	TEST_ASSERT(jwk_thumbprint(o, thumb, err, sizeof(err)) == 0);
	TEST_ASSERT(strcmp(thumb,
	    "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k") == 0);
	json_object_put(o);
}

static char *
set_text(size_t nkeys, bool same_kid)
{
	struct json_object	*set = json_object_new_object(), *keys, *k;
	EVP_PKEY		*pk;
	char			 kid[16];
	char			*s;
	size_t			 i;

	keys = json_object_new_array();
	for (i = 0; i < nkeys; i++) {
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		k = public_jwk(pk);
		snprintf(kid, sizeof(kid), "k%zu", same_kid ? (size_t)0 : i);
		json_object_object_add(k, "kid", json_object_new_string(kid));
		json_object_array_add(keys, k);
		EVP_PKEY_free(pk);
	}
	json_object_object_add(set, "keys", keys);
	s = xstrdup(json_object_to_json_string_ext(set,
	    JSON_C_TO_STRING_PLAIN));
	json_object_put(set);
	return s;
}

static void
test_jwk_sets(void)
{
	struct jwk_set	*set;
	char		*s;

	s = set_text(3, false);
	set = jwk_set_parse(s, strlen(s), err, sizeof(err));
	TEST_ASSERT(set != NULL);
	TEST_ASSERT(jwk_set_count(set) == 3);
	TEST_ASSERT(jwk_set_find(set, "k1", 2) == jwk_set_key(set, 1));
	TEST_ASSERT(jwk_set_find(set, "k", 1) == NULL);
	TEST_ASSERT(jwk_set_find(set, "", 0) == NULL);
	TEST_ASSERT(jwk_set_key(set, 3) == NULL);
	jwk_set_free(set);
	free(s);

	s = set_text(JWK_SET_MAX_KEYS + 1, false);
	TEST_ASSERT(jwk_set_parse(s, strlen(s), err, sizeof(err)) == NULL);
	TEST_ASSERT(strstr(err, "1 to") != NULL);
	free(s);
	s = set_text(2, true);
	TEST_ASSERT(jwk_set_parse(s, strlen(s), err, sizeof(err)) == NULL);
	TEST_ASSERT(strstr(err, "key 1: kid used twice") != NULL);
	free(s);
	s = set_text(0, false);
	TEST_ASSERT(jwk_set_parse(s, strlen(s), err, sizeof(err)) == NULL);
	free(s);
	TEST_ASSERT(jwk_set_parse("{\"keys\":{}}", 11, err, sizeof(err)) ==
	    NULL);
	TEST_ASSERT(jwk_set_parse("[]", 2, err, sizeof(err)) == NULL);
	/* duplicate names: not strict JSON */
	TEST_ASSERT(jwk_set_parse("{\"keys\":[],\"keys\":[]}", 21, err,
	    sizeof(err)) == NULL);
	TEST_ASSERT(strstr(err, "strict JSON") != NULL);
	/* one bad key spoils the set, and err names it */
	TEST_ASSERT(jwk_set_parse("{\"keys\":[{\"kty\":\"oct\",\"k\":\"AA\"}]}",
	    33, err, sizeof(err)) == NULL);
	TEST_ASSERT(strncmp(err, "key 0: ", 7) == 0);
	jwk_set_free(NULL);
}

/* A compact JWS of header and payload (JSON texts) signed by pk. */
static char *
make_jws(EVP_PKEY *pk, enum key_alg alg, const char *hdr, const char *pl)
{
	unsigned char	 sig[1024];
	char		*h = b64((const unsigned char *)hdr, strlen(hdr));
	char		*p = b64((const unsigned char *)pl, strlen(pl));
	char		*in, *sg, *out;
	size_t		 n;

	in = dotted(h, p);
	n = sign(pk, alg, in, sig);
	sg = b64(sig, n);
	out = dotted(in, sg);
	free(in);
	free(sg);
	free(h);
	free(p);
	return out;
}

static enum token_verdict
check(struct jwk_set *set, const char *jws)
{
	struct jws_parsed	 j;
	enum token_verdict	 v;

	v = jws_verify(jws, strlen(jws), 0, NULL, jws_key_from_set, set, &j);
	if (v == TOKEN_OK) {
		if (j.header == NULL || j.payload == NULL || j.key == NULL)
			v = TOKEN_MALFORMED;
	} else if (j.header != NULL || j.payload != NULL || j.key != NULL)
		v = TOKEN_OK;	/* fails the caller's assertion */
	jws_parsed_clear(&j);
	return v;
}

static void
test_jws_with_jwk_set(void)
{
	EVP_PKEY		*a = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY		*b = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY		*other = EVP_PKEY_Q_keygen(NULL, NULL, "EC",
				    "P-256");
	struct json_object	*set = json_object_new_object(), *keys, *k;
	struct jwk_set		*js;
	const char		*text;
	unsigned char		 mac[32];
	unsigned int		 maclen = 0;
	char			*t, *h, *p, *in, *m;

	keys = json_object_new_array();
	k = public_jwk(a);
	json_object_object_add(k, "kid", json_object_new_string("a"));
	json_object_array_add(keys, k);
	k = public_jwk(b);
	json_object_object_add(k, "kid", json_object_new_string("b"));
	json_object_array_add(keys, k);
	json_object_object_add(set, "keys", keys);
	js = jwk_set_decode(set, err, sizeof(err));
	TEST_ASSERT(js != NULL);

	t = make_jws(a, KEY_ALG_ES256, "{\"alg\":\"ES256\",\"kid\":\"a\"}",
	    "{\"x\":1}");
	TEST_ASSERT(check(js, t) == TOKEN_OK);
	free(t);
	/* without a kid, each key is tried */
	t = make_jws(b, KEY_ALG_ES256, "{\"alg\":\"ES256\"}", "{}");
	TEST_ASSERT(check(js, t) == TOKEN_OK);
	free(t);
	/* the kid names a key that did not sign */
	t = make_jws(b, KEY_ALG_ES256, "{\"alg\":\"ES256\",\"kid\":\"a\"}",
	    "{}");
	TEST_ASSERT(check(js, t) == TOKEN_BAD_SIGNATURE);
	free(t);
	t = make_jws(other, KEY_ALG_ES256, "{\"alg\":\"ES256\"}", "{}");
	TEST_ASSERT(check(js, t) == TOKEN_BAD_SIGNATURE);
	free(t);
	t = make_jws(a, KEY_ALG_ES256, "{\"alg\":\"ES256\",\"kid\":\"c\"}",
	    "{}");
	TEST_ASSERT(check(js, t) == TOKEN_UNKNOWN_KID);
	free(t);
	t = make_jws(a, KEY_ALG_ES256, "{\"alg\":\"ES384\",\"kid\":\"a\"}",
	    "{}");
	TEST_ASSERT(check(js, t) == TOKEN_ALG_MISMATCH);
	free(t);
	t = make_jws(a, KEY_ALG_ES256, "{\"alg\":\"ES256\",\"crit\":[\"x\"],"
	    "\"x\":1}", "{}");
	TEST_ASSERT(check(js, t) == TOKEN_UNSUPPORTED_CRIT);
	free(t);
	t = make_jws(a, KEY_ALG_ES256, "{\"alg\":\"ES256\"}", "[1]");
	TEST_ASSERT(check(js, t) == TOKEN_MALFORMED);
	free(t);
	TEST_ASSERT(check(js, "eyJhbGciOiJub25lIn0.e30.") ==
	    TOKEN_ALG_MISMATCH);
	TEST_ASSERT(check(js, "eyJhbGciOiJOT05FIn0.e30.") ==
	    TOKEN_ALG_MISMATCH);

	/* HS256 with the public JWK's text as the secret: never an HMAC */
	text = json_object_to_json_string(json_object_array_get_idx(keys, 0));
	h = b64((const unsigned char *)"{\"alg\":\"HS256\",\"kid\":\"a\"}", 25);
	p = b64((const unsigned char *)"{}", 2);
	in = dotted(h, p);
	HMAC(EVP_sha256(), text, (int)strlen(text), (unsigned char *)in,
	    strlen(in), mac, &maclen);
	m = b64(mac, maclen);
	t = dotted(in, m);
	TEST_ASSERT(check(js, t) == TOKEN_ALG_MISMATCH);
	free(t);
	free(m);
	free(in);
	free(p);
	free(h);

	jwk_set_free(js);
	json_object_put(set);
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
	EVP_PKEY_free(other);
}

int
main(void)
{
	test_run(test_jwk_algorithms);
	test_run(test_jwk_alg_pinned);
	test_run(test_jwk_refused);
	test_run(test_jwk_thumbprints);
	test_run(test_jwk_sets);
	test_run(test_jws_with_jwk_set);
	return test_summary();
}
