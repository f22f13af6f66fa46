/*
 * fuzz_token: token_verify(), the strict JWS/JWT verifier behind /verify
 * and /introspect, with the fixed test keys (ES256, RS256, HS256) and a
 * fixed time.
 *
 * Two ways in, on every input:
 *  - raw: the input is the compact JWS, checked against each keyset;
 *  - signed: when the input holds a NUL byte, what comes before it is the
 *    header JSON and what follows the payload JSON; both are base64url
 *    encoded and signed with the key the header's alg names (ES256 unless
 *    it says RS256 or HS256), so that mutations reach the typ and claims
 *    checks behind the signature. The seeds carry the right kids.
 * Logging is silenced (keys.c logs OpenSSL failures). With
 * FUZZ_TOKEN_VERBOSE set, the kids and every verdict go to stderr.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "b64url.h"
#include "config.h"
#include "keys.h"
#include "log.h"
#include "token.h"

#ifndef TEST_DATA_DIR
#error "TEST_DATA_DIR must name test/data/keys"
#endif

#define NOW	((time_t)1700000000)
#define ISSUER	"https://issuer.test"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int	LLVMFuzzerInitialize(int *, char ***);

static struct keyset	*ks_es, *ks_rs, *ks_hs;
static int		 verbose;	/* FUZZ_TOKEN_VERBOSE: print verdicts */

static struct keyset *
load(const char *signing, const char *hs)
{
	struct config	 cfg;
	struct keyset	*ks;
	char		 err[512], sk[512], hk[512];
	char		*retired[1] = { NULL };

	memset(&cfg, 0, sizeof(cfg));
	if (signing != NULL) {
		snprintf(sk, sizeof(sk), "%s/%s", TEST_DATA_DIR, signing);
		cfg.signing_key = sk;
	}
	if (hs != NULL) {
		snprintf(hk, sizeof(hk), "%s/%s", TEST_DATA_DIR, hs);
		cfg.hs256_secret_file = hk;
	}
	cfg.retired_keys = retired;
	if ((ks = keyset_load(&cfg, err, sizeof(err))) == NULL) {
		fprintf(stderr, "fuzz_token: keyset_load: %s\n", err);
		abort();
	}
	return ks;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level((enum log_level)(LOG_LEVEL_ERROR + 1));
	ks_es = load("ec256.pem", NULL);
	ks_rs = load("rsa2048.pem", NULL);
	ks_hs = load(NULL, "hs256.key");
	verbose = getenv("FUZZ_TOKEN_VERBOSE") != NULL;
	if (verbose)
		fprintf(stderr, "ES256 %s\nRS256 %s\nHS256 %s\n",
		    key_kid(keyset_signing_key(ks_es)),
		    key_kid(keyset_signing_key(ks_rs)),
		    key_kid(keyset_signing_key(ks_hs)));
	return 0;
}

static void
check(const struct keyset *ks, const char *jws, size_t len)
{
	struct token_rules	 rules = { ISSUER, TOKEN_TYP_AT_JWT_STR, 30, 0 };
	struct token_claims	*claims = NULL;
	enum token_verdict	 v;

	v = token_verify(ks, jws, len, NOW, &rules, &claims);
	if (v == TOKEN_WRONG_TYPE) {
		rules.typ = TOKEN_TYP_JWT_STR;
		v = token_verify(ks, jws, len, NOW, &rules, &claims);
	}
	if (verbose)
		fprintf(stderr, "fuzz_token: %s %s\n",
		    key_alg_name(key_alg(keyset_signing_key(ks))),
		    token_verdict_name(v));
	if (v != TOKEN_OK) {
		if (claims != NULL)
			abort();
		return;
	}
	if (claims == NULL || claims->payload == NULL || claims->key == NULL ||
	    claims->iss == NULL || claims->sub == NULL ||
	    claims->client_id == NULL || claims->jti == NULL ||
	    strcmp(claims->iss, ISSUER) != 0 || claims->exp <= NOW - 30 ||
	    claims->iat > NOW + 30 || claims->sub[0] == '\0' ||
	    claims->client_id[0] == '\0' || claims->jti[0] == '\0')
		abort();
	if (claims->scope != NULL)
		(void)strlen(claims->scope);
	if (claims->aud != NULL)
		(void)strlen(claims->aud);
	/* aud is a string or an array of strings, never both */
	if (claims->aud != NULL && claims->aud_array != NULL)
		abort();
	{
		char		 j[512];
		bool		 bad;
		int		 n = token_claims_aud_join(claims, j, sizeof(j));
		const char	*x = token_claims_cnf_x5t(claims, &bad);

		/* the joined header value never holds a control byte */
		if (n >= 0 && (strlen(j) != (size_t)n ||
		    strpbrk(j, "\r\n") != NULL))
			abort();
		if (claims->aud != NULL &&
		    !token_claims_has_aud(claims, claims->aud))
			abort();
		if (x != NULL && (bad || x[0] == '\0'))
			abort();
	}
	token_claims_free(claims);
}

/* header.payload, signed by ks's signing key; NULL if signing fails. */
static char *
sign(const struct keyset *ks, const uint8_t *hdr, size_t hlen,
    const uint8_t *payload, size_t plen, size_t *outlen)
{
	const struct key	*k = keyset_signing_key(ks);
	unsigned char		 sig[KEY_SIG_MAX];
	size_t			 siglen, n, cap;
	char			*jws;

	cap = b64url_encoded_len(hlen) + b64url_encoded_len(plen) +
	    b64url_encoded_len(KEY_SIG_MAX) + 3;
	if ((jws = malloc(cap)) == NULL)
		return NULL;
	n = b64url_encode(jws, hdr, hlen);
	jws[n++] = '.';
	n += b64url_encode(jws + n, payload, plen);
	if (key_sign(k, jws, n, sig, &siglen) == -1) {
		free(jws);
		return NULL;
	}
	jws[n++] = '.';
	n += b64url_encode(jws + n, sig, siglen);
	*outlen = n;
	return jws;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t		*nul;
	const struct keyset	*ks;
	char			*jws;
	size_t			 hlen, len;

	check(ks_es, (const char *)data, size);
	check(ks_rs, (const char *)data, size);
	check(ks_hs, (const char *)data, size);

	if ((nul = memchr(data, '\0', size)) == NULL)
		return 0;
	hlen = (size_t)(nul - data);
	if (memmem(data, hlen, "RS256", 5) != NULL)
		ks = ks_rs;
	else if (memmem(data, hlen, "HS256", 5) != NULL)
		ks = ks_hs;
	else
		ks = ks_es;
	jws = sign(ks, data, hlen, nul + 1, size - hlen - 1, &len);
	if (jws != NULL) {
		check(ks, jws, len);
		free(jws);
	}
	return 0;
}
