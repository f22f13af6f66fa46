/*
 * assertion: the rules of a private_key_jwt client assertion (RFC 7523
 * 2.2 and 3, RFC 7521 4.2): a JWS signed by one of the client's keys whose
 * claims name the client and this server, for a short time, once.
 *
 * A pure function of the JWS, the client's keys, the client id, the
 * server's identifiers and the clock: the single use of the jti is the
 * store's (db.h), what a verdict answers the handlers' (every failure is
 * the same invalid_client). Nothing here logs an assertion.
 */
#ifndef TOKEND_ASSERTION_H
#define TOKEND_ASSERTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "jwk.h"

struct json_object;

/* The only client_assertion_type (RFC 7523 2.2). */
#define ASSERTION_TYPE_JWT_BEARER \
	"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

/* Size cap of a client_assertion. */
#define ASSERTION_MAX_LEN	8192
/* Longest jti accepted (it becomes part of a store key). */
#define ASSERTION_JTI_MAX	128

enum assertion_verdict {
	ASSERTION_OK = 0,
	ASSERTION_BAD_JWS,	/* format, header, unknown kid, alg, signature */
	ASSERTION_WRONG_TYPE,	/* typ other than JWT or client-authentication+jwt */
	ASSERTION_WRONG_ISSUER,	/* iss is not the client id */
	ASSERTION_WRONG_SUBJECT, /* sub is not the client id */
	ASSERTION_WRONG_AUDIENCE, /* aud names neither issuer nor endpoint */
	ASSERTION_MISSING_CLAIM, /* iss sub aud exp jti */
	ASSERTION_BAD_CLAIM,	/* wrong JSON type; jti too long */
	ASSERTION_EXPIRED,
	ASSERTION_EXP_TOO_FAR,	/* exp beyond now + max_age */
	ASSERTION_NOT_YET_VALID, /* nbf or iat in the future */
};

/*
 * Stable lower_snake_case name ("ok", "bad_jws", "wrong_type",
 * "wrong_issuer", "wrong_subject", "wrong_audience", "missing_claim",
 * "bad_claim", "expired", "exp_too_far", "not_yet_valid"), for logs.
 */
const char	*assertion_verdict_name(enum assertion_verdict);

struct assertion_rules {
	const char	*client_id;	/* iss and sub must equal it */
	const char	*issuer;	/* aud may be it ... */
	const char	*token_endpoint; /* ... or this URL */
	time_t		 now;
	long		 max_age;	/* exp <= now + max_age (+ leeway) */
	long		 leeway;	/* clock skew, >= 0 */
};

/* What the caller needs of a valid assertion: its jti until exp. */
struct assertion_info {
	char		 jti[ASSERTION_JTI_MAX + 1];
	int64_t		 exp;		/* whole seconds, rounded up */
	bool		 decoy;		/* a decoy verified the signature:
					   refused (tests see the check ran) */
};

/*
 * The claim rules on a decoded payload object:
 *  - iss and sub strings equal to rules->client_id (WRONG_ISSUER,
 *    WRONG_SUBJECT), byte for byte;
 *  - aud a string or an array of strings, one of which equals
 *    rules->issuer or rules->token_endpoint (WRONG_AUDIENCE);
 *  - exp a NumericDate with now < exp + leeway (EXPIRED) and
 *    exp <= now + max_age + leeway (EXP_TOO_FAR);
 *  - nbf and iat, when present, NumericDates <= now + leeway
 *    (NOT_YET_VALID);
 *  - jti a string of 1..ASSERTION_JTI_MAX printable ASCII characters
 *    (BAD_CLAIM).
 * A missing claim is MISSING_CLAIM, a wrong JSON type BAD_CLAIM.
 */
enum assertion_verdict assertion_check_claims(const struct json_object *pl,
	    const struct assertion_rules *rules, struct assertion_info *out);

/*
 * The whole check of a client_assertion: jws_verify() (token.h) with the
 * client's keys (kid selects when present), typ absent, "JWT" or
 * "client-authentication+jwt", then assertion_check_claims().
 */
enum assertion_verdict assertion_check(const struct jwk_set *keys,
	    const char *jws, size_t len, const struct assertion_rules *rules,
	    struct assertion_info *out);

/*
 * assertion_check() that costs one signature check on every path, so
 * that its time does not tell an unknown client, a client of another
 * method, a kid naming none of the client's keys or an alg none of them
 * has from a bad signature: when keys is NULL, the kid names none of them
 * or (without a kid) none of them has the header's alg, the JWS is
 * checked against decoys (one key per algorithm, kid ignored) instead,
 * and a signature a decoy verifies is still BAD_JWS (out->decoy set).
 */
enum assertion_verdict assertion_check_decoyed(const struct jwk_set *keys,
	    const struct jwk_set *decoys, const char *jws, size_t len,
	    const struct assertion_rules *rules, struct assertion_info *out);

/*
 * The server's decoys: one public key per algorithm (ES256, ES384,
 * RS256, PS256, EdDSA) whose private halves nobody has; parsed once,
 * never freed, shared by every thread.
 */
const struct jwk_set *assertion_decoys(void);

/*
 * The client an assertion claims to be, read before any check so that
 * the client's record (and keys) can be found: the payload's "sub" when
 * the JWS is three strict base64url segments and its payload a strict
 * JSON object with a string sub of 1..idlen-1 bytes without NUL. Copies it
 * into id and returns 0, or returns -1. Nothing it returns is trusted
 * until assertion_check() has passed with it as rules->client_id.
 */
int		 assertion_subject(const char *jws, size_t len, char *id,
		    size_t idlen);

#endif
