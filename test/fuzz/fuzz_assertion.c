/*
 * fuzz_assertion: the private_key_jwt checks (assertion.h) with a client
 * whose JWK Set holds one P-256 key made at start-up, at a fixed time.
 *
 * Two ways in, on every input:
 *  - raw: the input is the client_assertion: assertion_subject() and
 *    assertion_check();
 *  - signed: when the input holds a NUL byte, what comes before it is the
 *    header JSON and what follows the payload JSON; both are base64url
 *    encoded and signed (ES256) with the client's key, so that mutations
 *    reach the typ and claim rules behind the signature.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "assertion.h"
#include "b64url.h"
#include "jwk.h"
#include "log.h"

#define NOW	((time_t)1700000000)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int	LLVMFuzzerInitialize(int *, char ***);

static EVP_PKEY		*pkey;
static struct jwk_set	*keys;
static const struct assertion_rules rules = {
	.client_id = "svc-1",
	.issuer = "https://issuer.test",
	.token_endpoint = "https://issuer.test/oauth/token",
	.now = NOW,
	.max_age = 300,
	.leeway = 30,
};

static void
b64(char *dst, const void *src, size_t n)
{
	b64url_encode(dst, src, n);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	BIGNUM		*x = NULL, *y = NULL;
	unsigned char	 bx[32], by[32];
	char		 sx[64], sy[64], text[512], err[128];

	(void)argc;
	(void)argv;
	log_set_level((enum log_level)(LOG_LEVEL_ERROR + 1));
	pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (pkey == NULL ||
	    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x) != 1 ||
	    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y) != 1)
		abort();
	BN_bn2binpad(x, bx, 32);
	BN_bn2binpad(y, by, 32);
	b64(sx, bx, 32);
	b64(sy, by, 32);
	snprintf(text, sizeof(text), "{\"keys\":[{\"kty\":\"EC\",\"kid\":"
	    "\"k1\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"}]}", sx, sy);
	if ((keys = jwk_set_parse(text, strlen(text), err,
	    sizeof(err))) == NULL)
		abort();
	BN_free(x);
	BN_free(y);
	return 0;
}

static void
check(const char *jws, size_t len)
{
	struct assertion_info	 info;
	char			 id[129];

	(void)assertion_subject(jws, len, id, sizeof(id));
	(void)assertion_check(keys, jws, len, &rules, &info);
}

/* header \0 payload -> a compact JWS signed with the client's key. */
static void
signed_input(const uint8_t *data, size_t size, const uint8_t *nul)
{
	size_t		 hl = (size_t)(nul - data), pl = size - hl - 1;
	size_t		 n, dlen = 128;
	char		*jws;
	unsigned char	 der[128], sig[64];
	const unsigned char *p = der;
	EVP_MD_CTX	*m;
	ECDSA_SIG	*es;
	const BIGNUM	*r, *s;

	jws = malloc(b64url_encoded_len(hl) + b64url_encoded_len(pl) + 90);
	if (jws == NULL)
		return;
	n = b64url_encode(jws, data, hl);
	jws[n++] = '.';
	n += b64url_encode(jws + n, nul + 1, pl);
	m = EVP_MD_CTX_new();
	if (m != NULL && EVP_DigestSignInit(m, NULL, EVP_sha256(), NULL,
	    pkey) == 1 && EVP_DigestSign(m, der, &dlen,
	    (const unsigned char *)jws, n) == 1 &&
	    (es = d2i_ECDSA_SIG(NULL, &p, (long)dlen)) != NULL) {
		ECDSA_SIG_get0(es, &r, &s);
		BN_bn2binpad(r, sig, 32);
		BN_bn2binpad(s, sig + 32, 32);
		ECDSA_SIG_free(es);
		jws[n++] = '.';
		n += b64url_encode(jws + n, sig, 64);
		check(jws, n);
	}
	EVP_MD_CTX_free(m);
	free(jws);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t	*nul = memchr(data, '\0', size);

	check((const char *)data, size);
	if (nul != NULL)
		signed_input(data, size, nul);
	return 0;
}
