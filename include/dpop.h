/*
 * dpop: the rules of a DPoP proof (RFC 9449 section 4.3) that need no
 * key: the htu comparison and the header and claims checks, with the
 * clock a parameter.
 *
 * The proof's signature, its JWK's decoding and the RFC 7638 thumbprint
 * are the JWK and JWS modules'; the single use of a jti is the store's
 * (token endpoint, every instance) and dpop_seen's (/verify, every worker
 * of a process). This module only decides whether the header and claims
 * of a proof say what the request needs them to say.
 *
 * Pure module: json-c only, no allocation kept between calls, thread
 * safe.
 */
#ifndef TOKEND_DPOP_H
#define TOKEND_DPOP_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct json_object;

/* Longest htu (and URL compared with one) this module takes. */
#define DPOP_HTU_MAX		2048
/* Longest jti of a proof; longer ones are refused. */
#define DPOP_JTI_MAX		128
/* Longest DPoP header value (one compact JWS with a public JWK). */
#define DPOP_PROOF_MAX		8192
/* base64url of a SHA-256 digest: the length of ath and of a jkt. */
#define DPOP_B64_SHA256_LEN	43

/*
 * The JWS "alg" values a proof may use, space-separated, in the order of
 * the metadata's dpop_signing_alg_values_supported: asymmetric only.
 */
#define DPOP_ALGS		"ES256 ES384 PS256 RS256 EdDSA"

/* True when the len bytes at alg are exactly one of DPOP_ALGS. */
bool	 dpop_alg_supported(const char *alg, size_t len);

/*
 * Normalise the len bytes of an http or https URL for comparison
 * (RFC 9449 4.3 point 9, RFC 3986 6.2.2 and 6.2.3): scheme and host
 * lowercased, the default port (80, 443) and an empty port dropped, the
 * port's leading zeros dropped, an empty path made "/", dot-segments
 * removed, percent-encodings of unreserved characters decoded and the
 * hex digits of the others uppercased; the query and the fragment
 * dropped. Refused (-1): another scheme, userinfo, an empty host, a host
 * or path with a byte outside RFC 3986's sets, a malformed
 * percent-encoding, a port over 65535, anything longer than
 * DPOP_HTU_MAX. On success writes the NUL-terminated result, at most
 * DPOP_HTU_MAX bytes, into out (DPOP_HTU_MAX + 1 bytes) and returns 0.
 */
int	 dpop_htu_normalize(const char *url, size_t len,
	    char out[DPOP_HTU_MAX + 1]);

/* Outcomes of dpop_proof_rules(), in the order the checks run. */
enum dpop_verdict {
	DPOP_OK = 0,
	DPOP_MALFORMED,		/* not a compact JWS; bad JSON; too long */
	DPOP_BAD_TYP,		/* typ not dpop+jwt */
	DPOP_BAD_ALG,		/* alg missing, none, HS*, not supported */
	DPOP_BAD_JWK,		/* jwk missing, private or symmetric */
	DPOP_BAD_SIGNATURE,	/* the jwk does not verify the proof */
	DPOP_BAD_HTM,
	DPOP_BAD_HTU,
	DPOP_BAD_IAT,		/* missing, too old, in the future */
	DPOP_BAD_JTI,		/* missing, empty, too long */
	DPOP_BAD_ATH,		/* not the token's hash, or missing */
	DPOP_REPLAY,		/* the jti was used within the window */
	DPOP_KEY_MISMATCH,	/* the key is not the token's cnf.jkt */
};

/*
 * Stable lower_snake_case name: "ok", "malformed", "bad_typ", "bad_alg",
 * "bad_jwk", "bad_signature", "bad_htm", "bad_htu", "bad_iat",
 * "bad_jti", "bad_ath", "replay", "key_mismatch". For logs and
 * error_description. Static string.
 */
const char	*dpop_verdict_name(enum dpop_verdict);

/* What a proof must say. Borrowed for the call. */
struct dpop_expect {
	const char	*htm;		/* the request's method, exactly */
	const char	*htu;		/* the request's URL, normalised
					   (dpop_htu_normalize) */
	/* base64url(SHA-256(token)) when a token is presented with the
	   proof; NULL at the token endpoint (an ath there is ignored) */
	const char	*ath;
	time_t		 now;
	long		 max_age;	/* --dpop-max-age, > 0 */
	long		 leeway;	/* --leeway, >= 0 */
};

/*
 * The header rules of a proof, on its decoded JOSE header: a JSON object
 * with typ "dpop+jwt" (case-insensitively, with or without
 * "application/"), else DPOP_BAD_TYP; alg one of DPOP_ALGS, else
 * DPOP_BAD_ALG; no "crit" (DPOP_MALFORMED); jwk an object with a string
 * kty of EC, RSA or OKP and none of the private or symmetric members
 * d p q dp dq qi oth k, else DPOP_BAD_JWK. The JWK's own decoding (and
 * whether it fits alg) is the JWK module's.
 */
enum dpop_verdict dpop_header_rules(const struct json_object *header);

/*
 * The claims rules of a proof whose signature was verified, in this
 * order: a JSON object (DPOP_MALFORMED); jti a string of 1 to
 * DPOP_JTI_MAX bytes (DPOP_BAD_JTI); htm a string equal to e->htm
 * (DPOP_BAD_HTM); htu a string that normalises to e->htu (DPOP_BAD_HTU);
 * iat an integer number with now - max_age - leeway <= iat <=
 * now + leeway (DPOP_BAD_IAT); when e->ath is set, ath a string equal to
 * it (DPOP_BAD_ATH). Reads no clock.
 */
enum dpop_verdict dpop_claims_rules(const struct json_object *claims,
	    const struct dpop_expect *e);

/* What a proof that passed dpop_proof_check() says. */
struct dpop_proof {
	char		jkt[DPOP_B64_SHA256_LEN + 1];	/* RFC 7638 of its jwk */
	char		jti[DPOP_JTI_MAX + 1];
	long long	iat;
};

/*
 * The whole check of one DPoP header value (len bytes, need not be
 * NUL-terminated) but the jti's single use, which is the caller's: at
 * most DPOP_PROOF_MAX bytes (DPOP_MALFORMED); the JWS by the one strict
 * verifier (token.h jws_verify) with the header's own jwk as the only
 * key, after dpop_header_rules(), the JWK decoded by jwk.h (which pins
 * its algorithm: the header's alg must be it, else DPOP_BAD_ALG; a JWK
 * that does not decode is DPOP_BAD_JWK); the signature (DPOP_BAD_SIGNATURE);
 * then dpop_claims_rules(). On DPOP_OK *out holds the thumbprint, jti and
 * iat; otherwise *out is zeroed. Thread safe; reads no clock. Each
 * thread keeps the last keys it decoded (up to 64, by their JWK's text),
 * so a client's next proof with the same key costs one signature check;
 * they are freed when the thread exits.
 */
enum dpop_verdict dpop_proof_check(const char *proof, size_t len,
	    const struct dpop_expect *e, struct dpop_proof *out);

/* Free the calling thread's decoded proof keys now (tests, fuzzers). */
void	 dpop_key_cache_clear(void);

/*
 * base64url(SHA-256(the len bytes at token)) into out, NUL-terminated:
 * the ath of a proof presented with that token. Returns 0, or -1 when
 * OpenSSL fails.
 */
int	 dpop_ath(const char *token, size_t len,
	    char out[DPOP_B64_SHA256_LEN + 1]);

#endif
