/*
 * keys: loading the signing and retired keys, their RFC 7638 kids, the
 * JWKS document, and the raw JWS signature primitives.
 *
 * What it leaves to others: the JWS format, the header and the claims are
 * token.c's; which keyset is current (and swapping it on SIGHUP) is the
 * server's. Nothing here knows about HTTP.
 *
 * Invariants:
 * - A key's algorithm is fixed by its type when it is loaded: an EC P-256
 *   key is ES256, an RSA key RS256, the shared secret HS256. Nothing a
 *   token says can change it, so an asymmetric key is never used as an
 *   HMAC secret (the classic algorithm-confusion hole).
 * - Keys are parsed once. EVP_PKEY objects are only read afterwards,
 *   which OpenSSL 3 allows from several threads at once; every sign or
 *   verify call makes its own EVP_MD_CTX.
 * - Retired keys keep only their public half and can never sign.
 * - Nothing is logged while loading (the caller reports the one line in
 *   errbuf); a failed OpenSSL call at run time is logged once, and the
 *   thread's OpenSSL error queue is always left empty, because the TLS code
 *   on the same thread reads it (SSL_get_error).
 *
 * Pure module: no libevent, no Redis client. OpenSSL 3 EVP only, none of the
 * deprecated EC_KEY/RSA interfaces.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "b64url.h"
#include "keys.h"
#include "log.h"
#include "secret.h"
#include "util.h"

#define KEY_FILE_MAX	(64 * 1024)	/* a PEM key or a secret file */
#define REASON_MAX	256
#define P256_COORD_LEN	32
#define P384_COORD_LEN	48
#define THUMBPRINT_LEN	43		/* b64url of 32 bytes */
#define SHA256_LEN	32
#define DIGEST_MAX	64

struct key {
	enum key_alg	 alg;
	char		*kid;		/* owned, NUL-terminated */
	size_t		 kidlen;
	bool		 can_sign;
	size_t		 siglen;	/* raw JWS signature length */
	EVP_PKEY	*pkey;		/* ES256, RS256; NULL for HS256 */
	EVP_MD		*md;		/* SHA-256, fetched once */
	unsigned char	*secret;	/* HS256; owned, wiped on free */
	size_t		 secretlen;
	/*
	 * Set up once at load, copied per call (EVP_PKEY_CTX_dup and
	 * secret_hmac_keyed only read them, so workers share them): making
	 * them anew per call (EVP_DigestSignInit, HMAC()) fetched the
	 * algorithms by name and cost some 20,000 instructions a call.
	 */
	EVP_PKEY_CTX	*sign_ctx;	/* ES256, RS256 that can sign */
	EVP_PKEY_CTX	*verify_ctx;	/* ES256, RS256 */
	struct secret_hmac *hmac;	/* HS256, keyed with secret */
	char		*jwk;		/* public JWK; NULL for HS256 */
};

struct keyset {
	_Atomic unsigned long	 refs;
	struct key		**keys;		/* keys[0] signs */
	size_t			 nkeys;
	char			*jwks;
	size_t			 jwkslen;
};

/* The order n of the P-256 group, big endian (SEC 2 2.4.2). */
static const unsigned char	 p256_order[P256_COORD_LEN] = {
	0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84,
	0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
};

/* The order n of P-384 (SEC 2 2.5.1). */
static const unsigned char	 p384_order[P384_COORD_LEN] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xc7, 0x63, 0x4d, 0x81, 0xf4, 0x37, 0x2d, 0xdf,
	0x58, 0x1a, 0x0d, 0xb2, 0x48, 0xb0, 0xa7, 0x7a,
	0xec, 0xec, 0x19, 0x6a, 0xcc, 0xc5, 0x29, 0x73,
};

static const char *const	 alg_names[] = {
	[KEY_ALG_ES256] = "ES256",
	[KEY_ALG_RS256] = "RS256",
	[KEY_ALG_HS256] = "HS256",
	[KEY_ALG_ES384] = "ES384",
	[KEY_ALG_PS256] = "PS256",
	[KEY_ALG_EDDSA] = "EdDSA",
};

const char *
key_alg_name(enum key_alg alg)
{
	if ((size_t)alg >= nitems(alg_names))
		return "unknown";
	return alg_names[alg];
}

enum key_alg
key_alg(const struct key *k)
{
	return k->alg;
}

const char *
key_kid(const struct key *k)
{
	return k->kid;
}

bool
key_can_sign(const struct key *k)
{
	return k->can_sign;
}

size_t
key_sig_len(const struct key *k)
{
	return k->siglen;
}

const char *
key_jwk_json(const struct key *k)
{
	return k->jwk;
}

static char *
xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *
xasprintf(const char *fmt, ...)
{
	va_list	 ap;
	char	*s;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		xabort();
	s = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

/* Log the oldest OpenSSL error of this thread, then empty the queue. */
static void
log_ossl(const char *event, const struct key *k)
{
	char	 err[256];

	ERR_error_string_n(ERR_peek_error(), err, sizeof(err));
	ERR_clear_error();
	log_warnx("event=%s kid=\"%s\" alg=%s err=\"%s\"", event, k->kid,
	    key_alg_name(k->alg), err);
}

void
key_free(struct key *k)
{
	if (k == NULL)
		return;
	free(k->kid);
	EVP_PKEY_CTX_free(k->sign_ctx);
	EVP_PKEY_CTX_free(k->verify_ctx);
	secret_hmac_free(k->hmac);
	EVP_PKEY_free(k->pkey);
	EVP_MD_free(k->md);
	if (k->secret != NULL) {
		secret_wipe(k->secret, k->secretlen);
		free(k->secret);
	}
	free(k->jwk);
	free(k);
}

/*
 * Read a whole regular file of at most KEY_FILE_MAX bytes into a new
 * buffer (NUL-terminated, owned by the caller, who wipes it). Plain
 * read(2), no stdio, so no copy of a private key stays in a FILE buffer.
 */
static int
read_key_file(const char *path, unsigned char **out, size_t *outlen,
    char *reason, size_t rlen)
{
	struct stat	 st;
	unsigned char	*buf = NULL;
	size_t		 len = 0;
	ssize_t		 r;
	int		 fd = -1, rc = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		snprintf(reason, rlen, "cannot open: %s", strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(reason, rlen, "cannot stat: %s", strerror(errno));
		goto out;
	}
	/* a FIFO or a device could block start-up or never end */
	if (!S_ISREG(st.st_mode)) {
		snprintf(reason, rlen, "not a regular file");
		goto out;
	}
	buf = xmalloc(KEY_FILE_MAX + 1);
	for (;;) {
		r = read(fd, buf + len, KEY_FILE_MAX + 1 - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			snprintf(reason, rlen, "cannot read: %s",
			    strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > KEY_FILE_MAX) {
			snprintf(reason, rlen, "larger than %d bytes",
			    KEY_FILE_MAX);
			goto out;
		}
	}
	if (len == 0) {
		snprintf(reason, rlen, "empty file");
		goto out;
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	buf = NULL;
	rc = 0;
out:
	if (buf != NULL) {
		secret_wipe(buf, KEY_FILE_MAX + 1);
		free(buf);
	}
	if (fd != -1)
		close(fd);
	return rc;
}

static void
wipe_free(unsigned char *buf, size_t len)
{
	if (buf == NULL)
		return;
	secret_wipe(buf, len);
	free(buf);
}

/*
 * The PEM password callback: an encrypted key is refused (a server that
 * restarts unattended has nobody to type a passphrase), and the default
 * callback would prompt on the terminal.
 */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	*(bool *)u = true;
	return -1;
}

/*
 * Parse a PEM private key, or when allow_public is set a public key
 * (SubjectPublicKeyInfo). *is_private tells which one it was.
 */
static int
parse_pem(const unsigned char *buf, size_t len, bool allow_public,
    EVP_PKEY **out, bool *is_private, char *reason, size_t rlen)
{
	BIO		*bio = NULL;
	EVP_PKEY	*pkey = NULL;
	bool		 asked = false;
	int		 rc = -1;

	if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL) {
		snprintf(reason, rlen, "out of memory");
		goto out;
	}
	if ((pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase,
	    &asked)) != NULL) {
		*is_private = true;
		goto done;
	}
	if (asked || memmem(buf, len, "ENCRYPTED", 9) != NULL) {
		snprintf(reason, rlen, "encrypted PEM keys are not supported");
		goto out;
	}
	if (allow_public) {
		BIO_free(bio);
		if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL) {
			snprintf(reason, rlen, "out of memory");
			goto out;
		}
		if ((pkey = PEM_read_bio_PUBKEY(bio, NULL, no_passphrase,
		    &asked)) != NULL) {
			*is_private = false;
			goto done;
		}
	}
	if (memmem(buf, len, "-----BEGIN CERTIFICATE-----", 27) != NULL)
		snprintf(reason, rlen, "a certificate, not a key");
	else
		snprintf(reason, rlen, "not a PEM %s key", allow_public ?
		    "private or public" : "private");
	goto out;
done:
	*out = pkey;
	pkey = NULL;
	rc = 0;
out:
	ERR_clear_error();
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	return rc;
}

/* Keep only the public half of a key: retired keys never sign. */
static EVP_PKEY *
public_only(EVP_PKEY *pkey)
{
	unsigned char		*der = NULL;
	const unsigned char	*p;
	EVP_PKEY		*pub;
	int			 len;

	if ((len = i2d_PUBKEY(pkey, &der)) <= 0)
		return NULL;
	p = der;
	pub = d2i_PUBKEY(NULL, &p, len);
	OPENSSL_free(der);
	return pub;
}

/* BIGNUM parameter of pkey as b64url: padded to pad bytes, or minimal. */
static char *
bn_param_b64(const EVP_PKEY *pkey, const char *name, int pad)
{
	BIGNUM		*bn = NULL;
	unsigned char	*bin = NULL;
	char		*b64 = NULL;
	int		 n;

	if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1)
		goto out;
	n = pad > 0 ? pad : BN_num_bytes(bn);
	if (n <= 0 || BN_num_bytes(bn) > n)
		goto out;
	bin = xmalloc((size_t)n);
	if (BN_bn2binpad(bn, bin, n) != n)
		goto out;
	b64 = xmalloc(b64url_encoded_len((size_t)n) + 1);
	b64url_encode(b64, bin, (size_t)n);
out:
	free(bin);
	BN_free(bn);
	return b64;
}

/*
 * The kid (RFC 7638 3: SHA-256 over the required members in lexicographic
 * order, no whitespace) and the public JWK (RFC 7518 6.2.1, 6.3.1; the
 * coordinates of P-256 are 32 bytes each, n and e have no leading zeros).
 */
static int
key_describe(struct key *k, char *reason, size_t rlen)
{
	char		*a = NULL, *b = NULL, *canon = NULL;
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen;
	int		 rc = -1;

	if (k->alg == KEY_ALG_ES256) {
		if ((a = bn_param_b64(k->pkey, OSSL_PKEY_PARAM_EC_PUB_X,
		    P256_COORD_LEN)) == NULL ||
		    (b = bn_param_b64(k->pkey, OSSL_PKEY_PARAM_EC_PUB_Y,
		    P256_COORD_LEN)) == NULL) {
			snprintf(reason, rlen, "cannot read the EC point");
			goto out;
		}
		canon = xasprintf("{\"crv\":\"P-256\",\"kty\":\"EC\","
		    "\"x\":\"%s\",\"y\":\"%s\"}", a, b);
	} else {
		if ((a = bn_param_b64(k->pkey, OSSL_PKEY_PARAM_RSA_N, 0)) ==
		    NULL || (b = bn_param_b64(k->pkey, OSSL_PKEY_PARAM_RSA_E,
		    0)) == NULL) {
			snprintf(reason, rlen, "cannot read the RSA modulus");
			goto out;
		}
		canon = xasprintf("{\"e\":\"%s\",\"kty\":\"RSA\","
		    "\"n\":\"%s\"}", b, a);
	}
	if (EVP_Digest(canon, strlen(canon), md, &mdlen, k->md, NULL) != 1) {
		snprintf(reason, rlen, "SHA-256 failed");
		goto out;
	}
	k->kid = xmalloc(b64url_encoded_len(mdlen) + 1);
	k->kidlen = b64url_encode(k->kid, md, mdlen);
	if (k->alg == KEY_ALG_ES256)
		k->jwk = xasprintf("{\"kty\":\"EC\",\"kid\":\"%s\","
		    "\"alg\":\"ES256\",\"use\":\"sig\",\"crv\":\"P-256\","
		    "\"x\":\"%s\",\"y\":\"%s\"}", k->kid, a, b);
	else
		k->jwk = xasprintf("{\"kty\":\"RSA\",\"kid\":\"%s\","
		    "\"alg\":\"RS256\",\"use\":\"sig\",\"n\":\"%s\","
		    "\"e\":\"%s\"}", k->kid, a, b);
	rc = 0;
out:
	ERR_clear_error();
	free(canon);
	free(b);
	free(a);
	return rc;
}

/*
 * Decide the algorithm from the key type and check the key: EC must be on
 * P-256, RSA 2048 to 8192 bits, nothing else.
 */
static int
key_classify(EVP_PKEY *pkey, enum key_alg *alg, size_t *siglen,
    char *reason, size_t rlen)
{
	char		 group[64];
	const char	*type;
	int		 bits;

	if (EVP_PKEY_is_a(pkey, "EC")) {
		if (EVP_PKEY_get_group_name(pkey, group, sizeof(group),
		    NULL) != 1) {
			ERR_clear_error();
			snprintf(reason, rlen, "EC key without a named curve: "
			    "only P-256 is supported");
			return -1;
		}
		if (strcmp(group, SN_X9_62_prime256v1) != 0) {
			snprintf(reason, rlen, "EC key on curve %s: only P-256 "
			    "(prime256v1) is supported", group);
			return -1;
		}
		*alg = KEY_ALG_ES256;
		*siglen = KEY_ES256_SIG_LEN;
		return 0;
	}
	if (EVP_PKEY_is_a(pkey, "RSA")) {
		bits = EVP_PKEY_get_bits(pkey);
		if (bits < KEY_RSA_MIN_BITS) {
			snprintf(reason, rlen, "RSA key of %d bits: at least "
			    "%d required", bits, KEY_RSA_MIN_BITS);
			return -1;
		}
		if (bits > KEY_RSA_MAX_BITS) {
			snprintf(reason, rlen, "RSA key of %d bits: at most "
			    "%d supported", bits, KEY_RSA_MAX_BITS);
			return -1;
		}
		*alg = KEY_ALG_RS256;
		*siglen = (size_t)EVP_PKEY_get_size(pkey);
		return 0;
	}
	type = EVP_PKEY_get0_type_name(pkey);
	snprintf(reason, rlen, "unsupported key type %s: use EC P-256 or "
	    "RSA", type != NULL ? type : "(unknown)");
	return -1;
}

static EVP_MD *
fetch_sha256(void)
{
	EVP_MD	*md;

	if ((md = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL)
		ERR_clear_error();
	return md;
}

/*
 * A context for the public-key operation op (EVP_PKEY_OP_SIGN or _VERIFY)
 * of k on its digest: the padding of RS256 is PKCS #1 v1.5, of PS256 PSS
 * with MGF1 on the same hash and a salt as long as the digest (RFC 7518
 * 3.5), and the digest type makes the provider check the digest's length.
 */
static EVP_PKEY_CTX *
pkey_op_ctx(const struct key *k, int op)
{
	EVP_PKEY_CTX	*ctx;

	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL)) == NULL)
		return NULL;
	if ((op == EVP_PKEY_OP_SIGN ? EVP_PKEY_sign_init(ctx) :
	    EVP_PKEY_verify_init(ctx)) != 1 ||
	    (k->alg == KEY_ALG_RS256 &&
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1) ||
	    (k->alg == KEY_ALG_PS256 &&
	    (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST) !=
	    1)) ||
	    EVP_PKEY_CTX_set_signature_md(ctx, k->md) != 1 ||
	    (k->alg == KEY_ALG_PS256 &&
	    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, k->md) != 1)) {
		EVP_PKEY_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* Load one PEM key file: the signing key, or a retired one. */
static struct key *
key_load_pem(const char *path, bool retired, char *reason, size_t rlen)
{
	unsigned char	*buf = NULL;
	size_t		 len = 0;
	EVP_PKEY	*pkey = NULL, *pub;
	struct key	*k = NULL, *ret = NULL;
	bool		 is_private = false;

	if (read_key_file(path, &buf, &len, reason, rlen) == -1)
		goto out;
	if (parse_pem(buf, len, retired, &pkey, &is_private, reason,
	    rlen) == -1)
		goto out;
	k = xcalloc(1, sizeof(*k));
	if (key_classify(pkey, &k->alg, &k->siglen, reason, rlen) == -1)
		goto out;
	if (retired && is_private) {
		if ((pub = public_only(pkey)) == NULL) {
			ERR_clear_error();
			snprintf(reason, rlen, "cannot extract the public key");
			goto out;
		}
		EVP_PKEY_free(pkey);
		pkey = pub;
	}
	k->pkey = pkey;
	pkey = NULL;
	k->can_sign = !retired;
	if ((k->md = fetch_sha256()) == NULL) {
		snprintf(reason, rlen, "SHA-256 unavailable");
		goto out;
	}
	if ((k->verify_ctx = pkey_op_ctx(k, EVP_PKEY_OP_VERIFY)) == NULL ||
	    (k->can_sign &&
	    (k->sign_ctx = pkey_op_ctx(k, EVP_PKEY_OP_SIGN)) == NULL)) {
		ERR_clear_error();
		snprintf(reason, rlen, "cannot set up the key for signing");
		goto out;
	}
	if (key_describe(k, reason, rlen) == -1)
		goto out;
	ret = k;
	k = NULL;
out:
	key_free(k);
	EVP_PKEY_free(pkey);
	wipe_free(buf, len);
	return ret;
}

struct key *
key_new_public(EVP_PKEY *pkey, enum key_alg alg, const char *kid,
    size_t kidlen, char *reason, size_t rlen)
{
	struct key	*k;
	const char	*mdname = "SHA256";

	k = xcalloc(1, sizeof(*k));
	k->pkey = pkey;
	k->alg = alg;
	k->kid = kid != NULL ? xstrndup(kid, kidlen) : xstrdup("");
	k->kidlen = kid != NULL ? kidlen : 0;
	switch (alg) {
	case KEY_ALG_ES256:
		k->siglen = KEY_ES256_SIG_LEN;
		break;
	case KEY_ALG_ES384:
		k->siglen = KEY_ES384_SIG_LEN;
		mdname = "SHA384";
		break;
	case KEY_ALG_RS256:
	case KEY_ALG_PS256:
		k->siglen = (size_t)EVP_PKEY_get_size(pkey);
		break;
	case KEY_ALG_EDDSA:
		k->siglen = KEY_EDDSA_SIG_LEN;
		return k;	/* one-shot EVP_DigestVerify, no digest */
	default:
		snprintf(reason, rlen, "not a public-key algorithm");
		goto fail;
	}
	if ((k->md = EVP_MD_fetch(NULL, mdname, NULL)) == NULL ||
	    (k->verify_ctx = pkey_op_ctx(k, EVP_PKEY_OP_VERIFY)) == NULL) {
		snprintf(reason, rlen, "cannot set up the key for verifying");
		goto fail;
	}
	return k;
fail:
	ERR_clear_error();
	key_free(k);
	return NULL;
}

/*
 * The HS256 secret: the file's bytes as they are, except one trailing
 * "\n" (what `echo` or an editor adds) is dropped.
 */
static struct key *
key_load_hs256(const char *path, const char *kid, char *reason, size_t rlen)
{
	unsigned char	*buf = NULL;
	size_t		 len = 0, n;
	struct key	*k = NULL, *ret = NULL;

	if (read_key_file(path, &buf, &len, reason, rlen) == -1)
		goto out;
	n = len;
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	if (n < KEY_HS256_MIN_LEN) {
		snprintf(reason, rlen, "secret of %zu bytes: at least %d "
		    "required", n, KEY_HS256_MIN_LEN);
		goto out;
	}
	/*
	 * A PEM file here is a mistake that would MAC tokens with public
	 * text: the algorithm-confusion forgery, made official.
	 */
	if (memmem(buf, n, "-----BEGIN ", 11) != NULL) {
		snprintf(reason, rlen, "a PEM file, not a shared secret");
		goto out;
	}
	k = xcalloc(1, sizeof(*k));
	k->alg = KEY_ALG_HS256;
	k->siglen = KEY_HS256_SIG_LEN;
	k->can_sign = true;
	k->secret = xmalloc(n);
	memcpy(k->secret, buf, n);
	k->secretlen = n;
	k->kid = xstrdup(kid != NULL ? kid : "hs256");
	k->kidlen = strlen(k->kid);
	if ((k->md = fetch_sha256()) == NULL) {
		snprintf(reason, rlen, "SHA-256 unavailable");
		goto out;
	}
	if ((k->hmac = secret_hmac_new(k->secret, k->secretlen)) == NULL) {
		ERR_clear_error();
		snprintf(reason, rlen, "HMAC-SHA256 unavailable");
		goto out;
	}
	ret = k;
	k = NULL;
out:
	key_free(k);
	wipe_free(buf, len);
	return ret;
}

static void
keyset_free(struct keyset *ks)
{
	size_t	 i;

	for (i = 0; i < ks->nkeys; i++)
		key_free(ks->keys[i]);
	free(ks->keys);
	free(ks->jwks);
	free(ks);
}

static const struct key *
find_kid(struct key *const *keys, size_t nkeys, const char *kid,
    size_t kidlen)
{
	size_t	 i;

	/* a handful of keys: a linear scan; kids are public, no timing */
	for (i = 0; i < nkeys; i++)
		if (keys[i]->kidlen == kidlen &&
		    memcmp(keys[i]->kid, kid, kidlen) == 0)
			return keys[i];
	return NULL;
}

static void
build_jwks(struct keyset *ks)
{
	size_t	 i, len = sizeof("{\"keys\":[]}");
	char	*p;

	/*
	 * The contract: in HS256 mode the JWKS is {"keys":[]}. Tokens there
	 * are verified with the shared secret, so publishing retired key
	 * pairs would only invite verifiers to trust a key that no longer
	 * signs anything in this mode.
	 */
	if (key_alg(ks->keys[0]) == KEY_ALG_HS256) {
		ks->jwks = xstrdup("{\"keys\":[]}");
		ks->jwkslen = strlen(ks->jwks);
		return;
	}
	for (i = 0; i < ks->nkeys; i++)
		if (ks->keys[i]->jwk != NULL)
			len += strlen(ks->keys[i]->jwk) + 1;
	ks->jwks = p = xmalloc(len);
	p = stpcpy(p, "{\"keys\":[");
	for (i = 0; i < ks->nkeys; i++) {
		if (ks->keys[i]->jwk == NULL)
			continue;
		if (p[-1] != '[')
			*p++ = ',';
		p = stpcpy(p, ks->keys[i]->jwk);
	}
	p = stpcpy(p, "]}");
	ks->jwkslen = (size_t)(p - ks->jwks);
}

struct keyset *
keyset_load(const struct config *cfg, char *errbuf, size_t errlen)
{
	struct keyset	*ks = NULL, *ret = NULL;
	struct key	*k;
	char		 reason[REASON_MAX];
	size_t		 i;

	reason[0] = '\0';
	if ((cfg->signing_key == NULL) == (cfg->hs256_secret_file == NULL)) {
		snprintf(errbuf, errlen, "--signing-key / --hs256-secret-file: "
		    "exactly one is required");
		goto out;
	}
	ks = xcalloc(1, sizeof(*ks));
	atomic_init(&ks->refs, 1);
	ks->keys = xcalloc(cfg->n_retired_keys + 1, sizeof(*ks->keys));
	if (cfg->signing_key != NULL) {
		if ((k = key_load_pem(cfg->signing_key, false, reason,
		    sizeof(reason))) == NULL) {
			snprintf(errbuf, errlen, "--signing-key %s: %s",
			    cfg->signing_key, reason);
			goto out;
		}
	} else if ((k = key_load_hs256(cfg->hs256_secret_file, cfg->hs256_kid,
	    reason, sizeof(reason))) == NULL) {
		snprintf(errbuf, errlen, "--hs256-secret-file %s: %s",
		    cfg->hs256_secret_file, reason);
		goto out;
	}
	ks->keys[ks->nkeys++] = k;
	for (i = 0; i < cfg->n_retired_keys; i++) {
		if ((k = key_load_pem(cfg->retired_keys[i], true, reason,
		    sizeof(reason))) == NULL) {
			snprintf(errbuf, errlen, "--retired-key %s: %s",
			    cfg->retired_keys[i], reason);
			goto out;
		}
		/* the signing key again, or a key listed twice */
		if (find_kid(ks->keys, ks->nkeys, k->kid, k->kidlen) != NULL) {
			key_free(k);
			continue;
		}
		ks->keys[ks->nkeys++] = k;
	}
	build_jwks(ks);
	ret = ks;
	ks = NULL;
out:
	if (ks != NULL)
		keyset_free(ks);
	return ret;
}

struct keyset *
keyset_ref(struct keyset *ks)
{
	atomic_fetch_add_explicit(&ks->refs, 1, memory_order_relaxed);
	return ks;
}

void
keyset_unref(struct keyset *ks)
{
	if (ks == NULL)
		return;
	/* acq_rel: every use by other threads happens before the free */
	if (atomic_fetch_sub_explicit(&ks->refs, 1,
	    memory_order_acq_rel) == 1)
		keyset_free(ks);
}

const struct key *
keyset_signing_key(const struct keyset *ks)
{
	return ks->keys[0];
}

const struct key *
keyset_find(const struct keyset *ks, const char *kid, size_t kidlen)
{
	return find_kid(ks->keys, ks->nkeys, kid, kidlen);
}

size_t
keyset_count(const struct keyset *ks)
{
	return ks->nkeys;
}

const struct key *
keyset_key(const struct keyset *ks, size_t i)
{
	return i < ks->nkeys ? ks->keys[i] : NULL;
}

const char *
keyset_jwks_json(const struct keyset *ks, size_t *len)
{
	if (len != NULL)
		*len = ks->jwkslen;
	return ks->jwks;
}

static int
hs256(const struct key *k, const void *msg, size_t n,
    unsigned char mac[KEY_HS256_SIG_LEN])
{
	return secret_hmac_keyed(k->hmac, msg, n, mac);
}

/* The SHA-256 digest a signature of msg covers. */
static int
sha256(const struct key *k, const void *msg, size_t n,
    unsigned char dgst[SHA256_LEN])
{
	unsigned int	 len = 0;

	if (EVP_Digest(msg, n, dgst, &len, k->md, NULL) != 1 ||
	    len != SHA256_LEN)
		return -1;
	return 0;
}

int
key_sign(const struct key *k, const void *msg, size_t n, unsigned char *sig,
    size_t *siglen)
{
	EVP_PKEY_CTX	*ctx = NULL;
	ECDSA_SIG	*es = NULL;
	const BIGNUM	*r, *s;
	unsigned char	 der[KEY_SIG_MAX], dgst[SHA256_LEN];
	const unsigned char *p;
	size_t		 len;
	int		 rc = -1;

	if (!k->can_sign) {
		log_warnx("event=sign_failed kid=\"%s\" err=\"a retired key "
		    "cannot sign\"", k->kid);
		return -1;
	}
	if (k->alg == KEY_ALG_HS256) {
		if (hs256(k, msg, n, sig) == -1) {
			log_ossl("sign_failed", k);
			return -1;
		}
		*siglen = KEY_HS256_SIG_LEN;
		return 0;
	}
	if (sha256(k, msg, n, dgst) == -1 ||
	    (ctx = EVP_PKEY_CTX_dup(k->sign_ctx)) == NULL)
		goto fail;
	if (k->alg == KEY_ALG_RS256) {
		len = KEY_SIG_MAX;
		if (EVP_PKEY_sign(ctx, sig, &len, dgst, sizeof(dgst)) != 1 ||
		    len != k->siglen)
			goto fail;
	} else {
		/* RFC 7518 3.4: the JWS form is R || S, 32 bytes each */
		len = sizeof(der);
		if (EVP_PKEY_sign(ctx, der, &len, dgst, sizeof(dgst)) != 1)
			goto fail;
		p = der;
		if ((es = d2i_ECDSA_SIG(NULL, &p, (long)len)) == NULL)
			goto fail;
		ECDSA_SIG_get0(es, &r, &s);
		if (BN_bn2binpad(r, sig, P256_COORD_LEN) != P256_COORD_LEN ||
		    BN_bn2binpad(s, sig + P256_COORD_LEN, P256_COORD_LEN) !=
		    P256_COORD_LEN)
			goto fail;
		len = KEY_ES256_SIG_LEN;
	}
	*siglen = len;
	rc = 0;
	goto out;
fail:
	log_ossl("sign_failed", k);
out:
	ECDSA_SIG_free(es);
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

/* 1 <= v <= n - 1 for a big-endian v of len bytes (SEC 1 4.1.4 step 1). */
static bool
scalar_ok(const unsigned char *v, const unsigned char *order, size_t len)
{
	static const unsigned char	 zero[P384_COORD_LEN];

	return memcmp(v, zero, len) != 0 && memcmp(v, order, len) < 0;
}

/* Ed25519 (RFC 8032 5.1.7) over the whole message: no prehash. */
static int
eddsa_verify(const struct key *k, const void *msg, size_t n,
    const unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX	*mctx;
	int		 rc = -1;

	if ((mctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	if (EVP_DigestVerifyInit_ex(mctx, NULL, NULL, NULL, NULL, k->pkey,
	    NULL) == 1 &&
	    EVP_DigestVerify(mctx, sig, siglen, msg, n) == 1)
		rc = 0;
	EVP_MD_CTX_free(mctx);
	ERR_clear_error();
	return rc;
}

int
key_verify(const struct key *k, const void *msg, size_t n,
    const unsigned char *sig, size_t siglen)
{
	EVP_PKEY_CTX	*ctx = NULL;
	ECDSA_SIG	*es = NULL;
	BIGNUM		*r = NULL, *s = NULL;
	unsigned char	 mac[KEY_HS256_SIG_LEN], der[KEY_SIG_MAX], *p;
	unsigned char	 dgst[DIGEST_MAX];
	const unsigned char *order;
	unsigned int	 dlen = 0;
	size_t		 coord;
	int		 len, rc = -1;

	if (siglen != k->siglen)
		return -1;
	if (k->alg == KEY_ALG_HS256) {
		if (hs256(k, msg, n, mac) == -1) {
			log_ossl("verify_crypto_failed", k);
			return -1;
		}
		rc = CRYPTO_memcmp(mac, sig, KEY_HS256_SIG_LEN) == 0 ? 0 : -1;
		secret_wipe(mac, sizeof(mac));
		return rc;
	}
	if (k->alg == KEY_ALG_EDDSA)
		return eddsa_verify(k, msg, n, sig, siglen);
	if (EVP_Digest(msg, n, dgst, &dlen, k->md, NULL) != 1 ||
	    (ctx = EVP_PKEY_CTX_dup(k->verify_ctx)) == NULL) {
		log_ossl("verify_crypto_failed", k);
		goto out;
	}
	if (k->alg == KEY_ALG_RS256 || k->alg == KEY_ALG_PS256) {
		if (EVP_PKEY_verify(ctx, sig, siglen, dgst, dlen) == 1)
			rc = 0;
		goto out;
	}
	/* ES256, ES384: R || S, each as long as the curve's order */
	coord = siglen / 2;
	order = k->alg == KEY_ALG_ES384 ? p384_order : p256_order;
	if (!scalar_ok(sig, order, coord) ||
	    !scalar_ok(sig + coord, order, coord))
		goto out;
	if ((es = ECDSA_SIG_new()) == NULL ||
	    (r = BN_bin2bn(sig, (int)coord, NULL)) == NULL ||
	    (s = BN_bin2bn(sig + coord, (int)coord, NULL)) ==
	    NULL || ECDSA_SIG_set0(es, r, s) != 1) {
		log_ossl("verify_crypto_failed", k);
		goto out;
	}
	r = s = NULL;		/* es owns them */
	if ((len = i2d_ECDSA_SIG(es, NULL)) <= 0 || len > (int)sizeof(der)) {
		log_ossl("verify_crypto_failed", k);
		goto out;
	}
	p = der;
	if (i2d_ECDSA_SIG(es, &p) != len) {
		log_ossl("verify_crypto_failed", k);
		goto out;
	}
	if (EVP_PKEY_verify(ctx, der, (size_t)len, dgst, dlen) == 1)
		rc = 0;
out:
	/* a failed verification leaves errors behind; drop them */
	ERR_clear_error();
	BN_free(s);
	BN_free(r);
	ECDSA_SIG_free(es);
	EVP_PKEY_CTX_free(ctx);
	return rc;
}
