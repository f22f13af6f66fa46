/*
 * fuzz_dpop: dpop_htu_normalize() with its oracles (idempotent, bounded,
 * only RFC 3986 bytes out), and a DPoP proof's header and claims, as
 * JSON texts, through dpop_header_rules() and dpop_claims_rules().
 *
 * The first byte picks the input: 0..63 the whole rest is a URL; 64..127
 * the rest is a whole proof for dpop_proof_check() (the JWS verifier with
 * the header's jwk); else the rest is split at the first NUL into a
 * header and a claims text.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "dpop.h"
#include "sjson.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
fuzz_htu(const char *s, size_t n)
{
	char	out[DPOP_HTU_MAX + 1], again[DPOP_HTU_MAX + 1];
	size_t	len, i;

	if (dpop_htu_normalize(s, n, out) != 0)
		return;
	len = strlen(out);
	if (len > DPOP_HTU_MAX || len == 0)
		abort();
	for (i = 0; i < len; i++) {
		if ((unsigned char)out[i] <= 0x20 ||
		    (unsigned char)out[i] >= 0x7f || out[i] == '?' ||
		    out[i] == '#')
			abort();
	}
	/* normalising twice changes nothing */
	if (dpop_htu_normalize(out, len, again) != 0 ||
	    strcmp(out, again) != 0)
		abort();
}

static void
fuzz_proof(const char *s, size_t n)
{
	struct dpop_expect	 e = {
		.htm = "POST", .htu = "https://as.example/oauth/token",
		.ath = "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo",
		.now = 1700000000, .max_age = 60, .leeway = 30,
	};
	struct json_object	*h, *c;
	const char		*nul;
	size_t			 hn;

	nul = memchr(s, '\0', n);
	hn = nul != NULL ? (size_t)(nul - s) : n;
	h = sjson_parse(s, hn, 16);
	(void)dpop_verdict_name(dpop_header_rules(h));
	if (nul != NULL) {
		c = sjson_parse(nul + 1, n - hn - 1, 16);
		(void)dpop_verdict_name(dpop_claims_rules(c, &e));
		e.ath = NULL;
		(void)dpop_claims_rules(c, &e);
		json_object_put(c);
	}
	json_object_put(h);
}

static void
fuzz_whole(const char *s, size_t n)
{
	struct dpop_expect	 e = {
		.htm = "GET", .htu = "https://rs.example/x",
		.ath = "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo",
		.now = 1700000000, .max_age = 60, .leeway = 30,
	};
	struct dpop_proof	 out;

	if (dpop_proof_check(s, n, &e, &out) == DPOP_OK &&
	    (strlen(out.jkt) != DPOP_B64_SHA256_LEN || out.jti[0] == '\0'))
		abort();
	/* the thread's key cache is freed per input (leak detection) */
	dpop_key_cache_clear();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] < 64)
		fuzz_htu((const char *)data + 1, size - 1);
	else if (data[0] < 128)
		fuzz_whole((const char *)data + 1, size - 1);
	else
		fuzz_proof((const char *)data + 1, size - 1);
	return 0;
}
