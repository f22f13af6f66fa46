/*
 * jwk: public JWKs and JWK Sets -> verify-only keys; RFC 7638 thumbprints.
 *
 * Invariants:
 * - Only public keys: a JWK with any private member, or a symmetric one,
 *   is refused outright, never "used for its public half".
 * - The algorithm is the key's, decided here once (jwk.h's table); the
 *   JWK's "alg", when present, must agree, and a JWS header must agree
 *   with the key (token.c), so no key is ever used with two algorithms.
 * - Every value is checked before OpenSSL sees it (strict base64url,
 *   exact coordinate lengths), and OpenSSL then checks the key itself
 *   (EVP_PKEY_public_check: an EC point on its curve, an RSA modulus odd
 *   with a sane exponent).
 * - Nothing is logged and the thread's OpenSSL error queue is left empty.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "b64url.h"
#include "jwk.h"
#include "keys.h"
#include "sjson.h"
#include "util.h"

#define JWK_JSON_DEPTH	8
#define EC_P256_LEN	32
#define EC_P384_LEN	48
#define ED25519_LEN	32
/* 8192 bits, and e no longer than n */
#define RSA_N_MAX	(KEY_RSA_MAX_BITS / 8)

struct jwk_set {
	struct key	**keys;
	size_t		  nkeys;
};

/* The decoded members of one JWK, borrowed from the object. */
struct jwk_parts {
	enum key_alg	 alg;
	const char	*kty;
	const char	*crv;		/* EC, OKP */
	const char	*x, *y;		/* EC (y), OKP (x only) */
	const char	*n, *e;		/* RSA */
	const char	*kid;
	size_t		 kidlen;
};

/* Members that only a private or a symmetric key has (RFC 7518 6). */
static const char *const private_members[] = {
	"d", "p", "q", "dp", "dq", "qi", "oth", "k",
};

/*
 * Member name of obj as a string: 0 and *out NULL when absent, -1 when
 * present but not a string or holding a NUL.
 */
static int
member_string(const struct json_object *obj, const char *name,
    const char **out, size_t *len)
{
	struct json_object	*v;
	size_t			 n;

	*out = NULL;
	if (len != NULL)
		*len = 0;
	if (!json_object_object_get_ex(obj, name, &v))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return -1;
	*out = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	if (strlen(*out) != n)
		return -1;
	if (len != NULL)
		*len = n;
	return 0;
}

/* Strict base64url of exactly want bytes (0: 1..max bytes) into buf. */
static int
b64_member(const char *s, unsigned char *buf, size_t max, size_t want,
    size_t *outlen)
{
	size_t	 n = strlen(s), len;

	if (n == 0 || n > b64url_encoded_len(max) ||
	    b64url_decode(buf, &len, s, n) == -1)
		return -1;
	if (want != 0 ? len != want : (len == 0 || len > max))
		return -1;
	if (outlen != NULL)
		*outlen = len;
	return 0;
}

/* The checks on the members, without OpenSSL. */
static int
jwk_members(const struct json_object *jwk, struct jwk_parts *jp, char *err,
    size_t errlen)
{
	struct json_object	*ops, *op;
	const char		*alg, *use;
	size_t			 i, n;
	bool			 verify = false;

	memset(jp, 0, sizeof(*jp));
	if (jwk == NULL || !json_object_is_type(jwk, json_type_object)) {
		errbuf_set(err, errlen, "a JWK must be a JSON object");
		return -1;
	}
	for (i = 0; i < nitems(private_members); i++)
		if (json_object_object_get_ex(jwk, private_members[i],
		    NULL)) {
			errbuf_set(err, errlen, "member \"%s\": private or "
			    "symmetric key material is refused",
			    private_members[i]);
			return -1;
		}
	if (member_string(jwk, "kty", &jp->kty, NULL) == -1 ||
	    jp->kty == NULL) {
		errbuf_set(err, errlen, "\"kty\" missing or not a string");
		return -1;
	}
	if (member_string(jwk, "alg", &alg, NULL) == -1 ||
	    member_string(jwk, "use", &use, NULL) == -1 ||
	    member_string(jwk, "crv", &jp->crv, NULL) == -1 ||
	    member_string(jwk, "x", &jp->x, NULL) == -1 ||
	    member_string(jwk, "y", &jp->y, NULL) == -1 ||
	    member_string(jwk, "n", &jp->n, NULL) == -1 ||
	    member_string(jwk, "e", &jp->e, NULL) == -1 ||
	    member_string(jwk, "kid", &jp->kid, &jp->kidlen) == -1) {
		errbuf_set(err, errlen, "a member (alg use crv x y n e kid) "
		    "is not a string");
		return -1;
	}
	if (strcmp(jp->kty, "EC") == 0) {
		if (jp->crv == NULL || jp->x == NULL || jp->y == NULL) {
			errbuf_set(err, errlen, "EC key needs crv, x and y");
			return -1;
		}
		if (strcmp(jp->crv, "P-256") == 0)
			jp->alg = KEY_ALG_ES256;
		else if (strcmp(jp->crv, "P-384") == 0)
			jp->alg = KEY_ALG_ES384;
		else {
			errbuf_set(err, errlen, "EC curve not supported: "
			    "P-256 or P-384");
			return -1;
		}
	} else if (strcmp(jp->kty, "RSA") == 0) {
		if (jp->n == NULL || jp->e == NULL) {
			errbuf_set(err, errlen, "RSA key needs n and e");
			return -1;
		}
		jp->alg = alg != NULL && strcmp(alg, "PS256") == 0 ?
		    KEY_ALG_PS256 : KEY_ALG_RS256;
	} else if (strcmp(jp->kty, "OKP") == 0) {
		if (jp->crv == NULL || jp->x == NULL ||
		    strcmp(jp->crv, "Ed25519") != 0) {
			errbuf_set(err, errlen, "OKP key needs crv Ed25519 "
			    "and x");
			return -1;
		}
		jp->alg = KEY_ALG_EDDSA;
	} else if (strcmp(jp->kty, "oct") == 0) {
		errbuf_set(err, errlen, "symmetric key (kty oct) refused");
		return -1;
	} else {
		errbuf_set(err, errlen, "kty not supported: EC, RSA or OKP");
		return -1;
	}
	if (alg != NULL && strcmp(alg, key_alg_name(jp->alg)) != 0) {
		errbuf_set(err, errlen, "alg does not match the key (%s)",
		    key_alg_name(jp->alg));
		return -1;
	}
	if (use != NULL && strcmp(use, "sig") != 0) {
		errbuf_set(err, errlen, "use must be \"sig\"");
		return -1;
	}
	if (json_object_object_get_ex(jwk, "key_ops", &ops)) {
		if (!json_object_is_type(ops, json_type_array)) {
			errbuf_set(err, errlen, "key_ops must be an array");
			return -1;
		}
		n = json_object_array_length(ops);
		for (i = 0; i < n; i++) {
			op = json_object_array_get_idx(ops, i);
			if (!json_object_is_type(op, json_type_string)) {
				errbuf_set(err, errlen, "key_ops must hold "
				    "strings");
				return -1;
			}
			if (strcmp(json_object_get_string(op), "verify") == 0)
				verify = true;
		}
		if (!verify) {
			errbuf_set(err, errlen, "key_ops without \"verify\"");
			return -1;
		}
	}
	if (jp->kid != NULL && (jp->kidlen == 0 || jp->kidlen > JWK_KID_MAX ||
	    has_ctl(jp->kid))) {
		errbuf_set(err, errlen, "kid must be 1 to %d printable "
		    "characters", JWK_KID_MAX);
		return -1;
	}
	return 0;
}

/* An EC public key from x and y (SEC 1 2.3.3, uncompressed form). */
static EVP_PKEY *
ec_key(const struct jwk_parts *jp, char *err, size_t errlen)
{
	OSSL_PARAM_BLD	*bld = NULL;
	OSSL_PARAM	*params = NULL;
	EVP_PKEY_CTX	*ctx = NULL;
	EVP_PKEY	*pkey = NULL;
	unsigned char	 pt[1 + 2 * EC_P384_LEN];
	size_t		 clen = jp->alg == KEY_ALG_ES384 ? EC_P384_LEN :
			    EC_P256_LEN;
	const char	*group = jp->alg == KEY_ALG_ES384 ? "P-384" : "P-256";

	pt[0] = 0x04;
	if (b64_member(jp->x, pt + 1, clen, clen, NULL) == -1 ||
	    b64_member(jp->y, pt + 1 + clen, clen, clen, NULL) == -1) {
		errbuf_set(err, errlen, "x and y must be base64url of %zu "
		    "bytes each", clen);
		return NULL;
	}
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    group, 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt,
	    1 + 2 * clen) != 1 ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		errbuf_set(err, errlen, "the point is not on %s", group);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return pkey;
}

static EVP_PKEY *
rsa_key(const struct jwk_parts *jp, char *err, size_t errlen)
{
	OSSL_PARAM_BLD	*bld = NULL;
	OSSL_PARAM	*params = NULL;
	EVP_PKEY_CTX	*ctx = NULL;
	EVP_PKEY	*pkey = NULL;
	BIGNUM		*n = NULL, *e = NULL;
	unsigned char	*buf;
	size_t		 nlen, elen;
	int		 bits;

	buf = xmalloc(B64URL_DECODED_MAX(b64url_encoded_len(RSA_N_MAX)));
	if (b64_member(jp->n, buf, RSA_N_MAX, 0, &nlen) == -1 ||
	    buf[0] == 0) {
		errbuf_set(err, errlen, "n must be base64url of the modulus, "
		    "without leading zero bytes, at most %d bits",
		    KEY_RSA_MAX_BITS);
		goto out;
	}
	n = BN_bin2bn(buf, (int)nlen, NULL);
	if (b64_member(jp->e, buf, 8, 0, &elen) == -1 || buf[0] == 0) {
		errbuf_set(err, errlen, "e must be base64url of at most 8 "
		    "bytes, without leading zero bytes");
		goto out;
	}
	e = BN_bin2bn(buf, (int)elen, NULL);
	if (n == NULL || e == NULL)
		goto fail;
	bits = BN_num_bits(n);
	if (bits < KEY_RSA_MIN_BITS || bits > KEY_RSA_MAX_BITS) {
		errbuf_set(err, errlen, "RSA key of %d bits: %d to %d "
		    "required", bits, KEY_RSA_MIN_BITS, KEY_RSA_MAX_BITS);
		goto out;
	}
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) != 1 ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		goto fail;
	goto out;
fail:
	errbuf_set(err, errlen, "not a usable RSA public key");
out:
	free(buf);
	BN_free(n);
	BN_free(e);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return pkey;
}

/*
 * A point of small order (1, 2, 4 or 8: the eight torsion points), in
 * any encoding. With such a public key A, RFC 8032's verification
 * equation holds for a signature anyone can make without a private key
 * (A = identity: R = identity, S = 0 signs every message), and OpenSSL
 * does not refuse them. The torsion points' y coordinates are 0, 1, -1
 * and +-y0; the x sign bit does not change the order, and y is compared
 * reduced mod p = 2^255 - 19, so the non-canonical encodings (y >= p) are
 * caught too.
 */
static bool
ed25519_small_order(const unsigned char enc[ED25519_LEN])
{
	static const unsigned char torsion_y[][ED25519_LEN] = {
		{ 0x00 },						/* 0 */
		{ 0x01 },						/* 1 */
		{ 0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,	/* -1 */
		  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f },
		{ 0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0,	/* y0 */
		  0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0,
		  0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39,
		  0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05 },
		{ 0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f,	/* -y0 */
		  0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67, 0x0f,
		  0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6,
		  0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a },
	};
	unsigned char	 y[ED25519_LEN];
	size_t		 i;
	bool		 ge_p = true;

	memcpy(y, enc, sizeof(y));
	y[ED25519_LEN - 1] &= 0x7f;		/* the x sign bit */
	/* y >= p: bytes 1..30 all 0xff, the top 0x7f, the lowest >= 0xed */
	if (y[ED25519_LEN - 1] != 0x7f || y[0] < 0xed)
		ge_p = false;
	for (i = 1; ge_p && i < ED25519_LEN - 1; i++)
		if (y[i] != 0xff)
			ge_p = false;
	if (ge_p) {
		y[0] = (unsigned char)(y[0] - 0xed);
		memset(y + 1, 0, sizeof(y) - 1);
	}
	for (i = 0; i < nitems(torsion_y); i++)
		if (memcmp(y, torsion_y[i], sizeof(y)) == 0)
			return true;
	return false;
}

static EVP_PKEY *
ed25519_key(const struct jwk_parts *jp, char *err, size_t errlen)
{
	unsigned char	 x[ED25519_LEN + 3];
	EVP_PKEY	*pkey;

	if (b64_member(jp->x, x, ED25519_LEN, ED25519_LEN, NULL) == -1) {
		errbuf_set(err, errlen, "x must be base64url of %d bytes",
		    ED25519_LEN);
		return NULL;
	}
	if (ed25519_small_order(x)) {
		errbuf_set(err, errlen, "Ed25519 key of small order (anyone "
		    "can sign for it)");
		return NULL;
	}
	if ((pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x,
	    ED25519_LEN)) == NULL)
		errbuf_set(err, errlen, "not a usable Ed25519 public key");
	return pkey;
}

/* The public check: an EC point on its curve and not at infinity, RSA. */
static int
public_check(EVP_PKEY *pkey)
{
	EVP_PKEY_CTX	*ctx;
	int		 ok;

	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL)
		return -1;
	ok = EVP_PKEY_public_check(ctx);
	EVP_PKEY_CTX_free(ctx);
	return ok == 1 ? 0 : -1;
}

static int
thumbprint(const struct jwk_parts *jp, char thumb[JWK_THUMBPRINT_LEN + 1])
{
	struct json_object	*canon;
	const char		*text;
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 mdlen = 0;
	int			 rc = -1;

	/* RFC 7638 3.2: the required members, in lexicographic order */
	canon = json_object_new_object();
	if (strcmp(jp->kty, "RSA") == 0) {
		json_object_object_add(canon, "e",
		    json_object_new_string(jp->e));
		json_object_object_add(canon, "kty",
		    json_object_new_string(jp->kty));
		json_object_object_add(canon, "n",
		    json_object_new_string(jp->n));
	} else {
		json_object_object_add(canon, "crv",
		    json_object_new_string(jp->crv));
		json_object_object_add(canon, "kty",
		    json_object_new_string(jp->kty));
		json_object_object_add(canon, "x",
		    json_object_new_string(jp->x));
		if (jp->y != NULL && strcmp(jp->kty, "EC") == 0)
			json_object_object_add(canon, "y",
			    json_object_new_string(jp->y));
	}
	text = json_object_to_json_string_ext(canon, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	if (text != NULL && EVP_Digest(text, strlen(text), md, &mdlen,
	    EVP_sha256(), NULL) == 1 && mdlen == 32) {
		b64url_encode(thumb, md, mdlen);
		rc = 0;
	}
	json_object_put(canon);
	ERR_clear_error();
	return rc;
}

static EVP_PKEY *
jwk_pkey(const struct jwk_parts *jp, char *err, size_t errlen)
{
	EVP_PKEY	*pkey;

	switch (jp->alg) {
	case KEY_ALG_ES256:
	case KEY_ALG_ES384:
		pkey = ec_key(jp, err, errlen);
		break;
	case KEY_ALG_RS256:
	case KEY_ALG_PS256:
		pkey = rsa_key(jp, err, errlen);
		break;
	default:
		pkey = ed25519_key(jp, err, errlen);
		break;
	}
	if (pkey != NULL && public_check(pkey) == -1) {
		errbuf_set(err, errlen, "the public key fails OpenSSL's "
		    "check (a point not on its curve, a bad modulus)");
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
	ERR_clear_error();
	return pkey;
}

struct key *
jwk_decode(const struct json_object *jwk, char thumb[JWK_THUMBPRINT_LEN + 1],
    char *err, size_t errlen)
{
	struct jwk_parts	 jp;
	EVP_PKEY		*pkey;
	struct key		*k;

	if (jwk_members(jwk, &jp, err, errlen) == -1 ||
	    (pkey = jwk_pkey(&jp, err, errlen)) == NULL)
		return NULL;
	if (thumb != NULL && thumbprint(&jp, thumb) == -1) {
		errbuf_set(err, errlen, "SHA-256 failed");
		EVP_PKEY_free(pkey);
		return NULL;
	}
	/* key_new_public owns pkey from here, also when it fails */
	k = key_new_public(pkey, jp.alg, jp.kid, jp.kidlen, err, errlen);
	ERR_clear_error();
	return k;
}

int
jwk_thumbprint(const struct json_object *jwk,
    char thumb[JWK_THUMBPRINT_LEN + 1], char *err, size_t errlen)
{
	struct key	*k;

	if ((k = jwk_decode(jwk, thumb, err, errlen)) == NULL)
		return -1;
	key_free(k);
	return 0;
}

void
jwk_set_free(struct jwk_set *set)
{
	size_t	 i;

	if (set == NULL)
		return;
	for (i = 0; i < set->nkeys; i++)
		key_free(set->keys[i]);
	free(set->keys);
	free(set);
}

struct jwk_set *
jwk_set_decode(const struct json_object *obj, char *err, size_t errlen)
{
	struct json_object	*keys;
	struct jwk_set		*set;
	struct key		*k;
	char			 why[192];
	size_t			 i, j, n;

	if (obj == NULL || !json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, "keys", &keys) ||
	    !json_object_is_type(keys, json_type_array)) {
		errbuf_set(err, errlen, "a JWK Set is an object with a "
		    "\"keys\" array");
		return NULL;
	}
	n = json_object_array_length(keys);
	if (n == 0 || n > JWK_SET_MAX_KEYS) {
		errbuf_set(err, errlen, "a JWK Set holds 1 to %d keys",
		    JWK_SET_MAX_KEYS);
		return NULL;
	}
	set = xcalloc(1, sizeof(*set));
	set->keys = xcalloc(n, sizeof(*set->keys));
	for (i = 0; i < n; i++) {
		why[0] = '\0';
		if ((k = jwk_decode(json_object_array_get_idx(keys, i), NULL,
		    why, sizeof(why))) == NULL) {
			errbuf_set(err, errlen, "key %zu: %s", i, why);
			goto fail;
		}
		set->keys[set->nkeys++] = k;
		for (j = 0; j < i && key_kid(k)[0] != '\0'; j++)
			if (strcmp(key_kid(set->keys[j]), key_kid(k)) == 0) {
				errbuf_set(err, errlen, "key %zu: kid used "
				    "twice", i);
				goto fail;
			}
	}
	return set;
fail:
	jwk_set_free(set);
	return NULL;
}

struct jwk_set *
jwk_set_parse(const char *text, size_t len, char *err, size_t errlen)
{
	struct json_object	*obj;
	struct jwk_set		*set;

	if (len > JWK_SET_TEXT_MAX) {
		errbuf_set(err, errlen, "a JWK Set is at most %d bytes",
		    JWK_SET_TEXT_MAX);
		return NULL;
	}
	if ((obj = sjson_parse(text, len, JWK_JSON_DEPTH)) == NULL) {
		errbuf_set(err, errlen, "a JWK Set must be strict JSON");
		return NULL;
	}
	set = jwk_set_decode(obj, err, errlen);
	json_object_put(obj);
	return set;
}

size_t
jwk_set_count(const struct jwk_set *set)
{
	return set->nkeys;
}

const struct key *
jwk_set_key(const struct jwk_set *set, size_t i)
{
	return i < set->nkeys ? set->keys[i] : NULL;
}

const struct key *
jwk_set_find(const struct jwk_set *set, const char *kid, size_t kidlen)
{
	size_t	 i;

	for (i = 0; i < set->nkeys; i++)
		if (strlen(key_kid(set->keys[i])) == kidlen && kidlen > 0 &&
		    memcmp(key_kid(set->keys[i]), kid, kidlen) == 0)
			return set->keys[i];
	return NULL;
}
