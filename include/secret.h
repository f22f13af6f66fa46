/*
 * secret: the salted hash a client record keeps instead of the client's
 * secret, and the constant-time check of a presented secret against it.
 *
 * The stored form is self-describing, so the scheme can change later:
 *
 *	hmac-sha256:SALTHEX:DIGESTHEX
 *
 * SALT is 16 random bytes (32 lowercase hex digits); DIGEST is
 * HMAC-SHA256(key = the 16 raw salt bytes, message = the secret's bytes)
 * (64 lowercase hex digits). scripts/tokend-client writes it with the
 * openssl CLI. Any other tag, or any malformed string, never matches.
 *
 * Pure module: OpenSSL only. Every function may be called from any thread
 * and from a callback.
 */
#ifndef TOKEND_SECRET_H
#define TOKEND_SECRET_H

#include <stdbool.h>
#include <stddef.h>

#define SECRET_HASH_TAG		"hmac-sha256"
#define SECRET_SALT_BYTES	16
/* strlen() of a stored hash: tag, ':', 32 hex, ':', 64 hex */
#define SECRET_HASH_LEN		(sizeof(SECRET_HASH_TAG) - 1 + 1 + 32 + 1 + 64)
/* a buffer that holds one, with its NUL */
#define SECRET_HASH_SIZE	(SECRET_HASH_LEN + 1)

/*
 * Hash len bytes of secret with a fresh random salt into out (outlen >=
 * SECRET_HASH_SIZE), NUL-terminated. For tests and tools: the admin
 * script does the same with the openssl CLI.
 * Returns 0, or -1 (out is then "") for an empty secret, a short buffer or
 * an OpenSSL failure.
 */
int		 secret_hash_new(const char *secret, size_t len, char *out,
		    size_t outlen);

/*
 * Whether len bytes of secret match the stored hash (NUL-terminated).
 * The HMAC is always computed and compared over the full digest with
 * CRYPTO_memcmp, also when stored is malformed, has an unknown tag, or the
 * secret is empty (all three are false), so the time taken does not
 * depend on where the secret differs.
 */
bool		 secret_hash_check(const char *stored, const char *secret,
		    size_t len);

/*
 * HMAC-SHA256 of n bytes of msg under keylen bytes of key into out.
 * Same result as OpenSSL's HMAC(EVP_sha256(), ...) (RFC 2104; the unit
 * test compares them), without its per-call algorithm fetches.
 * Returns 0, or -1 on an OpenSSL failure.
 */
#define SECRET_HMAC_LEN		32
int		 secret_hmac_sha256(const void *key, size_t keylen,
		    const void *msg, size_t n,
		    unsigned char out[SECRET_HMAC_LEN]);

/*
 * The same in two steps, for a key used again and again: the key
 * absorbed once (NULL on an OpenSSL failure; the caller owns it and frees
 * it with secret_hmac_free, which wipes it), then any number of
 * secret_hmac_keyed() calls on it, from any thread (it is only copied).
 */
struct secret_hmac;
struct secret_hmac *secret_hmac_new(const void *key, size_t keylen);
int		 secret_hmac_keyed(const struct secret_hmac *,
		    const void *msg, size_t n,
		    unsigned char out[SECRET_HMAC_LEN]);
void		 secret_hmac_free(struct secret_hmac *);

/*
 * The same check with the stored hash parsed and keyed once: a client
 * record keeps a struct secret_key next to its hash (the caller owns it;
 * secret_key_free wipes it). secret_key_new never fails on a malformed
 * hash (that key never matches); NULL only on an OpenSSL failure.
 * secret_key_check(NULL, ...) checks against the dummy hash's key (made
 * once) and is false, with the same work as for a real key, as
 * secret_hash_check() does with secret_dummy_hash().
 */
struct secret_key;
struct secret_key *secret_key_new(const char *stored);
void		 secret_key_free(struct secret_key *);
bool		 secret_key_check(const struct secret_key *,
		    const char *secret, size_t len);

/*
 * A fixed, well-formed hash whose secret nobody knows. When the client is
 * unknown or disabled, check the presented secret against it (and then
 * fail), so that unknown, disabled and wrong-secret take the same path
 * and the same time. Static storage; never freed.
 */
const char	*secret_dummy_hash(void);

#endif
