/*
 * keys: the signing key and the retired keys, their kids (RFC 7638
 * thumbprints), the JWKS document, and the signature primitives of the
 * three algorithms tokend speaks (RFC 7518 3.2, 3.3, 3.4).
 *
 * A struct keyset is built once, at start-up or on SIGHUP, from the files
 * the configuration names, and is immutable afterwards. Worker threads
 * share it and hold a reference each (keyset_ref/keyset_unref); a reload
 * builds a new one and swaps it in, and the old one is freed when its last
 * reference goes. Every function but keyset_load() is thread safe and
 * never blocks.
 *
 * Pure module: no libevent, no hiredis. OpenSSL 3 EVP only.
 */
#ifndef TOKEND_KEYS_H
#define TOKEND_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/types.h>

#include "config.h"

enum key_alg {
	KEY_ALG_ES256 = 0,	/* ECDSA P-256 + SHA-256 (RFC 7518 3.4) */
	KEY_ALG_RS256,		/* RSASSA-PKCS1-v1_5 + SHA-256 (3.3) */
	KEY_ALG_HS256,		/* HMAC SHA-256 (3.2) */
	/*
	 * Verify only, for keys a client registers (jwk.h); never a
	 * keyset's.
	 */
	KEY_ALG_ES384,		/* ECDSA P-384 + SHA-384 (3.4) */
	KEY_ALG_PS256,		/* RSASSA-PSS + SHA-256, MGF1 SHA-256,
				   salt of 32 bytes (3.5) */
	KEY_ALG_EDDSA,		/* Ed25519 (RFC 8037 3.1) */
};

/*
 * The JWS "alg" value: "ES256", "RS256", "HS256", "ES384", "PS256",
 * "EdDSA". Static string.
 */
const char	*key_alg_name(enum key_alg);

/* Raw signature sizes: ES256 is R || S (RFC 7518 3.4), HS256 the MAC. */
#define KEY_ES256_SIG_LEN	64
#define KEY_HS256_SIG_LEN	32
#define KEY_ES384_SIG_LEN	96
#define KEY_EDDSA_SIG_LEN	64
/* Largest signature of any loadable key (RSA 8192 bits). */
#define KEY_SIG_MAX		1024

/* Limits enforced by keyset_load(). */
#define KEY_RSA_MIN_BITS	2048
#define KEY_RSA_MAX_BITS	8192
#define KEY_HS256_MIN_LEN	32

struct key;			/* immutable; owned by its keyset */

enum key_alg	 key_alg(const struct key *);

/*
 * The kid: the RFC 7638 thumbprint (base64url of SHA-256 over the
 * canonical public JWK) for ES256 and RS256 keys, --hs256-kid for the
 * HS256 secret. NUL-terminated; borrowed, lives as long as the keyset.
 */
const char	*key_kid(const struct key *);

/* True only for the keyset's signing key; retired keys never sign. */
bool		 key_can_sign(const struct key *);

/*
 * Length of this key's raw JWS signature: 64 for ES256, the modulus size
 * in bytes for RS256, 32 for HS256. Never more than KEY_SIG_MAX.
 */
size_t		 key_sig_len(const struct key *);

/*
 * Sign msg (the JWS signing input) with the key's algorithm. sig must hold
 * KEY_SIG_MAX bytes; *siglen is set to key_sig_len(). ES256 signatures are
 * converted from DER to the JWS form R || S. Returns 0, or -1 (logged)
 * when OpenSSL fails or the key cannot sign. Thread safe.
 */
int		 key_sign(const struct key *, const void *msg, size_t n,
		    unsigned char *sig, size_t *siglen);

/*
 * Check a raw JWS signature over msg with the key's algorithm, and with
 * nothing else: the caller has already matched the header's "alg" to the
 * key. The length must be exactly key_sig_len(). ES256: r and s must each
 * lie in [1, n-1] (n the order of P-256), then they are DER-encoded for
 * EVP_DigestVerify. HS256: the MAC is compared in constant time.
 * Returns 0 when the signature is valid, -1 for anything else (a bad
 * signature is not logged). Thread safe.
 */
int		 key_verify(const struct key *, const void *msg, size_t n,
		    const unsigned char *sig, size_t siglen);

/*
 * A verify-only key from a public EVP_PKEY whose type the caller has
 * already matched to alg (jwk.c: EC P-256 for ES256, P-384 for ES384,
 * RSA of KEY_RSA_MIN_BITS..KEY_RSA_MAX_BITS for RS256 and PS256, Ed25519
 * for EdDSA; never HS256). Takes ownership of pkey, also on failure. kid
 * (kidlen bytes, may be NULL) is copied; key_kid() is "" without one.
 * It never signs and has no JWK text. Returns the key, owned by the
 * caller (key_free()), or NULL with one line in reason. Thread safe.
 */
struct key	*key_new_public(EVP_PKEY *pkey, enum key_alg alg,
		    const char *kid, size_t kidlen, char *reason, size_t rlen);

/* Free a key of key_new_public(). NULL is fine. */
void		 key_free(struct key *);

/*
 * The public JWK of an ES256 or RS256 key (kty, kid, alg, use, then crv/x/y
 * or n/e), NULL for HS256. Borrowed, lives as long as the keyset.
 */
const char	*key_jwk_json(const struct key *);

struct keyset;

/*
 * Build a keyset from cfg: the signing key from --signing-key (a PEM
 * private key: EC on P-256 signs ES256, RSA of 2048 to 8192 bits RS256)
 * or from --hs256-secret-file (the raw bytes of the file, at least 32,
 * after stripping one trailing "\n" if there is one; kid --hs256-kid),
 * then each --retired-key (a PEM private or public key, same rules; only
 * its public half is kept). Anything else is refused: other curves,
 * Ed25519, DSA, RSA-PSS keys, short RSA keys, certificates, encrypted
 * PEM, garbage. A retired key whose kid is already in the set (the signing
 * key itself, or a duplicate) is skipped.
 *
 * Blocking file I/O: call at start-up or on reload only, never from a
 * request path. Buffers that held private key material are wiped.
 * Returns a keyset with one reference, owned by the caller; or NULL with
 * one line in errbuf naming the setting and the file (never its
 * contents), e.g. "--signing-key /etc/k.pem: RSA key of 1024 bits: at
 * least 2048 required". Nothing is logged.
 */
struct keyset	*keyset_load(const struct config *cfg, char *errbuf,
		    size_t errlen);

/* Take one more reference; returns its argument. Thread safe. */
struct keyset	*keyset_ref(struct keyset *);

/*
 * Drop one reference; the last one frees the set, its keys and the JWKS,
 * and wipes the HS256 secret. NULL is fine. Thread safe.
 */
void		 keyset_unref(struct keyset *);

/* The key that signs new tokens. Borrowed; never NULL. */
const struct key *keyset_signing_key(const struct keyset *);

/*
 * The key whose kid is exactly the kidlen bytes at kid (byte for byte, no
 * normalization: the kid is a lookup key, never a path or a URL), or
 * NULL. Borrowed.
 */
const struct key *keyset_find(const struct keyset *, const char *kid,
		    size_t kidlen);

/* Number of keys, and the i-th (0 is the signing key); for logs. */
size_t		 keyset_count(const struct keyset *);
const struct key *keyset_key(const struct keyset *, size_t i);

/*
 * The JWKS document (RFC 7517 5), built at load time:
 * {"keys":[...]} with the public JWK of the signing key first, then of
 * each retired key. A symmetric key is never listed, and in HS256 mode
 * (the contract) the document is {"keys":[]} even with retired key pairs.
 * NUL-terminated; *len (if not NULL)
 * gets its length. Borrowed, lives as long as the keyset.
 */
const char	*keyset_jwks_json(const struct keyset *, size_t *len);

#endif
