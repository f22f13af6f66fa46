/*
 * jwk: public JSON Web Keys (RFC 7517) and JWK Sets decoded into keys
 * ready to verify JWS signatures (keys.h), and RFC 7638 thumbprints.
 *
 * What a key may be, and the algorithm it pins (RFC 8725 3.1: the key
 * decides, the JWS header must agree):
 *   kty EC,  crv P-256          -> ES256
 *   kty EC,  crv P-384          -> ES384
 *   kty RSA, 2048..8192 bits    -> RS256, or PS256 when "alg" says so
 *                                  (an RSA JWK without "alg" is RS256)
 *   kty OKP, crv Ed25519        -> EdDSA
 * Refused: any private member (d p q dp dq qi oth), kty "oct" and the
 * member "k", every other kty or crv, members of the wrong JSON type,
 * base64url that is not strict (RFC 7515 2: no padding, no other
 * alphabet), coordinates of the wrong length, a point not on its curve, an
 * "alg" that does not match the key, "use" other than "sig", "key_ops"
 * without "verify", a kid that is empty, longer than JWK_KID_MAX or holds
 * a control character. A JWK Set (RFC 7517 5) is an object whose "keys"
 * is an array of 1..JWK_SET_MAX_KEYS such objects with distinct kids.
 *
 * Keys are built once (EVP_PKEY made and checked here), then only read:
 * a decoded set may be shared by threads. Pure module: OpenSSL and json-c,
 * no event loop, no Redis, no logging.
 */
#ifndef TOKEND_JWK_H
#define TOKEND_JWK_H

#include <stdbool.h>
#include <stddef.h>

#include "keys.h"

struct json_object;

#define JWK_SET_MAX_KEYS	10
#define JWK_KID_MAX		128
/* A JWK Set's text, as a record field or a file given to the script. */
#define JWK_SET_TEXT_MAX	32768
/* base64url of a SHA-256 digest, without the NUL */
#define JWK_THUMBPRINT_LEN	43

/*
 * Decode one public JWK object into a verify-only key whose kid is the
 * JWK's "kid" ("" without one). thumb, when not NULL, receives the RFC 7638
 * thumbprint (JWK_THUMBPRINT_LEN chars and a NUL). Returns the key, owned
 * by the caller (key_free()), or NULL with one line in err (what is wrong,
 * never a key's bytes).
 */
struct key	*jwk_decode(const struct json_object *jwk,
		    char thumb[JWK_THUMBPRINT_LEN + 1], char *err,
		    size_t errlen);

/*
 * The RFC 7638 thumbprint of a public JWK object (base64url SHA-256 of
 * the required members in lexicographic order): the same checks as
 * jwk_decode(), so a thumbprint is only given for a key that would be
 * used. Returns 0, or -1 with one line in err.
 */
int		 jwk_thumbprint(const struct json_object *jwk,
		    char thumb[JWK_THUMBPRINT_LEN + 1], char *err,
		    size_t errlen);

struct jwk_set;

/*
 * Decode a JWK Set object (see above). Returns the set, owned by the
 * caller (jwk_set_free()), or NULL with one line in err, naming the key
 * by its index when one key is wrong.
 */
struct jwk_set	*jwk_set_decode(const struct json_object *set, char *err,
		    size_t errlen);

/*
 * The same from text: at most JWK_SET_TEXT_MAX bytes of strict JSON
 * (sjson.h: UTF-8, no duplicate names).
 */
struct jwk_set	*jwk_set_parse(const char *text, size_t len, char *err,
		    size_t errlen);

void		 jwk_set_free(struct jwk_set *);

size_t		 jwk_set_count(const struct jwk_set *);

/* The i-th key, in the set's order; borrowed, lives as long as the set. */
const struct key *jwk_set_key(const struct jwk_set *, size_t i);

/*
 * The key whose kid is exactly the kidlen bytes at kid, or NULL.
 * Borrowed.
 */
const struct key *jwk_set_find(const struct jwk_set *, const char *kid,
		    size_t kidlen);

#endif
