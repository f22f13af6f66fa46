/*
 * secret: salted hashes of client secrets and their constant-time check.
 *
 * A stored hash is "hmac-sha256:SALTHEX:DIGESTHEX" (include/secret.h).
 * The check always does the same work: parse the stored string (falling
 * back to the dummy hash's salt and digest when it is malformed), compute
 * the HMAC of the presented secret, hex-encode it, and compare all 64
 * digits with CRYPTO_memcmp. Only then are the verdicts of the parse, the
 * comparison and the secret's emptiness combined. Parsing branches on the
 * stored string, which an attacker neither knows nor chooses, never on
 * the secret.
 *
 * Left to others: wiping the presented secret (its owner does, with
 * secret_wipe()), and deciding what a failure answers (client_auth.c).
 *
 * Pure module: OpenSSL only. Its state (the SHA-256 digest fetched once,
 * the dummy hash's key) is made once (pthread_once) and only read
 * afterwards, so it is thread-safe.
 */
#include <pthread.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "secret.h"
#include "util.h"

#define TAG_LEN		(sizeof(SECRET_HASH_TAG) - 1)
#define SALT_HEX_LEN	(SECRET_SALT_BYTES * 2)
#define DIGEST_BYTES	32
#define DIGEST_HEX_LEN	(DIGEST_BYTES * 2)

/*
 * The dummy's salt and digest are random bytes from `openssl rand`: no
 * secret is known to hash to them.
 */
static const char	 dummy_hash[] = SECRET_HASH_TAG
			    ":3abd84934b3e0a0219b4b85807597ebe"
			    ":3e031ec238c2af95f734c42a61d1021a"
			    "26f5da7efa71ff56876ad32dd2fedc8c";

static const char	 hexdigits[] = "0123456789abcdef";

/* Lowercase hex only: an upper-case digest is not one we wrote. */
static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static void
hex_encode(const unsigned char *in, size_t n, char *out)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hexdigits[in[i] >> 4];
		out[2 * i + 1] = hexdigits[in[i] & 0x0f];
	}
}

/*
 * Split a stored hash into its raw salt and its digest's hex digits.
 * Returns 0, or -1 when it is not exactly our format.
 */
static int
hash_parse(const char *stored, unsigned char salt[SECRET_SALT_BYTES],
    const char **digest_hex)
{
	const char	*p;
	size_t		 i;
	int		 hi, lo;

	if (strnlen(stored, SECRET_HASH_LEN + 1) != SECRET_HASH_LEN)
		return -1;
	if (memcmp(stored, SECRET_HASH_TAG ":", TAG_LEN + 1) != 0)
		return -1;
	p = stored + TAG_LEN + 1;
	for (i = 0; i < SECRET_SALT_BYTES; i++) {
		hi = hexval(p[2 * i]);
		lo = hexval(p[2 * i + 1]);
		if (hi == -1 || lo == -1)
			return -1;
		salt[i] = (unsigned char)(hi << 4 | lo);
	}
	p += SALT_HEX_LEN;
	if (*p++ != ':')
		return -1;
	for (i = 0; i < DIGEST_HEX_LEN; i++)
		if (hexval(p[i]) == -1)
			return -1;
	*digest_hex = p;
	return 0;
}

/*
 * HMAC-SHA256 (RFC 2104) on OpenSSL's SHA-256. OpenSSL 3's one-shot
 * HMAC() fetches the MAC and the digest by name on every call, and even a
 * copied EVP_MAC_CTX makes and frees four digest contexts per MAC, which
 * together cost more than the hashing of a short message. Here a key is
 * absorbed once into two SHA-256 states, K ^ ipad and K ^ opad; a MAC
 * copies each state once: H((K ^ opad) || H((K ^ ipad) || msg)).
 * The digest is fetched once (pthread_once) and never freed.
 */
#define HMAC_BLOCK	64		/* SHA-256's block size */

struct secret_hmac {
	EVP_MD_CTX	*inner;		/* SHA-256 after K ^ ipad */
	EVP_MD_CTX	*outer;		/* SHA-256 after K ^ opad */
};

static EVP_MD		*sha256_md;
static pthread_once_t	 sha256_once = PTHREAD_ONCE_INIT;

static void
sha256_init(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static EVP_MD_CTX *
padded_state(const unsigned char k[HMAC_BLOCK], unsigned char pad)
{
	unsigned char	 block[HMAC_BLOCK];
	EVP_MD_CTX	*ctx;
	size_t		 i;

	for (i = 0; i < HMAC_BLOCK; i++)
		block[i] = k[i] ^ pad;
	if ((ctx = EVP_MD_CTX_new()) != NULL &&
	    (EVP_DigestInit_ex2(ctx, sha256_md, NULL) != 1 ||
	    EVP_DigestUpdate(ctx, block, sizeof(block)) != 1)) {
		EVP_MD_CTX_free(ctx);
		ctx = NULL;
	}
	secret_wipe(block, sizeof(block));
	return ctx;
}

struct secret_hmac *
secret_hmac_new(const void *key, size_t keylen)
{
	struct secret_hmac	*h;
	unsigned char		 k[HMAC_BLOCK];
	unsigned int		 n;

	if (pthread_once(&sha256_once, sha256_init) != 0 || sha256_md == NULL)
		return NULL;
	/* RFC 2104 2: a key longer than a block is hashed first. */
	memset(k, 0, sizeof(k));
	if (keylen > HMAC_BLOCK) {
		if (EVP_Digest(key, keylen, k, &n, sha256_md, NULL) != 1) {
			secret_wipe(k, sizeof(k));	/* may hold part */
			return NULL;
		}
	} else if (keylen > 0)
		memcpy(k, key, keylen);
	h = xcalloc(1, sizeof(*h));
	h->inner = padded_state(k, 0x36);
	h->outer = padded_state(k, 0x5c);
	secret_wipe(k, sizeof(k));
	if (h->inner == NULL || h->outer == NULL) {
		secret_hmac_free(h);
		return NULL;
	}
	return h;
}

void
secret_hmac_free(struct secret_hmac *h)
{
	if (h == NULL)
		return;
	EVP_MD_CTX_free(h->inner);	/* OpenSSL wipes the states */
	EVP_MD_CTX_free(h->outer);
	free(h);
}

int
secret_hmac_keyed(const struct secret_hmac *h, const void *msg, size_t n,
    unsigned char out[SECRET_HMAC_LEN])
{
	unsigned char	 ih[SECRET_HMAC_LEN];
	unsigned int	 len = 0, olen = 0;
	EVP_MD_CTX	*ctx;
	int		 rc = -1;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	/* EVP_DigestUpdate() wants a valid pointer even for no bytes. */
	if (EVP_MD_CTX_copy_ex(ctx, h->inner) == 1 &&
	    EVP_DigestUpdate(ctx, msg != NULL ? msg : "", n) == 1 &&
	    EVP_DigestFinal_ex(ctx, ih, &len) == 1 && len == sizeof(ih) &&
	    EVP_MD_CTX_copy_ex(ctx, h->outer) == 1 &&
	    EVP_DigestUpdate(ctx, ih, sizeof(ih)) == 1 &&
	    EVP_DigestFinal_ex(ctx, out, &olen) == 1 &&
	    olen == SECRET_HMAC_LEN)
		rc = 0;
	secret_wipe(ih, sizeof(ih));
	EVP_MD_CTX_free(ctx);
	return rc;
}

int
secret_hmac_sha256(const void *key, size_t keylen, const void *msg,
    size_t n, unsigned char out[SECRET_HMAC_LEN])
{
	struct secret_hmac	*h;
	int			 rc;

	if ((h = secret_hmac_new(key, keylen)) == NULL)
		return -1;
	rc = secret_hmac_keyed(h, msg, n, out);
	secret_hmac_free(h);
	return rc;
}

/* HMAC-SHA256 of the secret under the salt, as 64 hex digits (no NUL). */
static int
digest_hex(const unsigned char salt[SECRET_SALT_BYTES], const char *secret,
    size_t len, char out[DIGEST_HEX_LEN])
{
	unsigned char	 md[SECRET_HMAC_LEN];
	int		 rc = -1;

	if (secret_hmac_sha256(salt, SECRET_SALT_BYTES, secret, len,
	    md) == -1)
		goto out;
	hex_encode(md, DIGEST_BYTES, out);
	rc = 0;
out:
	secret_wipe(md, sizeof(md));
	return rc;
}

int
secret_hash_new(const char *secret, size_t len, char *out, size_t outlen)
{
	unsigned char	 salt[SECRET_SALT_BYTES];
	char		 digest[DIGEST_HEX_LEN];
	char		*p;
	int		 rc = -1;

	if (out == NULL || outlen < SECRET_HASH_SIZE)
		return -1;
	out[0] = '\0';
	if (secret == NULL || len == 0)
		goto out;
	if (RAND_bytes(salt, sizeof(salt)) != 1)
		goto out;
	if (digest_hex(salt, secret, len, digest) == -1)
		goto out;
	p = out;
	memcpy(p, SECRET_HASH_TAG ":", TAG_LEN + 1);
	p += TAG_LEN + 1;
	hex_encode(salt, sizeof(salt), p);
	p += SALT_HEX_LEN;
	*p++ = ':';
	memcpy(p, digest, DIGEST_HEX_LEN);
	p += DIGEST_HEX_LEN;
	*p = '\0';
	rc = 0;
out:
	secret_wipe(digest, sizeof(digest));
	return rc;
}

bool
secret_hash_check(const char *stored, const char *secret, size_t len)
{
	unsigned char	 salt[SECRET_SALT_BYTES];
	char		 computed[DIGEST_HEX_LEN];
	const char	*want = NULL;
	bool		 well_formed, same;

	if (secret == NULL)
		len = 0;
	well_formed = stored != NULL && hash_parse(stored, salt, &want) == 0;
	if (!well_formed &&
	    hash_parse(dummy_hash, salt, &want) == -1)
		return false;	/* cannot happen: the dummy is well-formed */
	if (digest_hex(salt, secret, len, computed) == -1) {
		secret_wipe(computed, sizeof(computed));
		return false;
	}
	same = CRYPTO_memcmp(computed, want, DIGEST_HEX_LEN) == 0;
	secret_wipe(computed, sizeof(computed));
	/* RFC 6749 2.3.1 secrets are never empty; the script refuses them. */
	return well_formed & same & (len > 0);
}

/*
 * A stored hash parsed and keyed once (a client record keeps one), so a
 * check is one copy of the keyed context, the secret's bytes and the
 * comparison: the salt's two key blocks are not hashed again per call.
 * A malformed hash takes the dummy's salt and digest and never matches,
 * as in secret_hash_check().
 */
struct secret_key {
	struct secret_hmac *mac;		/* keyed with the salt */
	char		 digest[DIGEST_HEX_LEN];
	bool		 well_formed;
};

static struct secret_key	*dummy_key;
static pthread_once_t		 dummy_once = PTHREAD_ONCE_INIT;

struct secret_key *
secret_key_new(const char *stored)
{
	struct secret_key	*k;
	unsigned char		 salt[SECRET_SALT_BYTES];
	const char		*want = NULL;

	k = xcalloc(1, sizeof(*k));
	k->well_formed = stored != NULL && hash_parse(stored, salt,
	    &want) == 0;
	if ((!k->well_formed && hash_parse(dummy_hash, salt, &want) == -1) ||
	    (k->mac = secret_hmac_new(salt, sizeof(salt))) == NULL) {
		secret_wipe(salt, sizeof(salt));
		free(k);
		return NULL;
	}
	memcpy(k->digest, want, DIGEST_HEX_LEN);
	secret_wipe(salt, sizeof(salt));
	return k;
}

void
secret_key_free(struct secret_key *k)
{
	if (k == NULL)
		return;
	secret_hmac_free(k->mac);
	secret_wipe(k, sizeof(*k));
	free(k);
}

static void
dummy_key_init(void)
{
	dummy_key = secret_key_new(dummy_hash);
}

bool
secret_key_check(const struct secret_key *k, const char *secret, size_t len)
{
	unsigned char	 md[SECRET_HMAC_LEN];
	char		 computed[DIGEST_HEX_LEN];
	bool		 known = k != NULL, same;

	if (secret == NULL)
		len = 0;
	if (k == NULL) {
		if (pthread_once(&dummy_once, dummy_key_init) != 0 ||
		    (k = dummy_key) == NULL)
			return false;
	}
	if (secret_hmac_keyed(k->mac, secret, len, md) == -1) {
		secret_wipe(md, sizeof(md));
		return false;
	}
	hex_encode(md, sizeof(md), computed);
	same = CRYPTO_memcmp(computed, k->digest, DIGEST_HEX_LEN) == 0;
	secret_wipe(md, sizeof(md));
	secret_wipe(computed, sizeof(computed));
	return known & k->well_formed & same & (len > 0);
}

const char *
secret_dummy_hash(void)
{
	return dummy_hash;
}
