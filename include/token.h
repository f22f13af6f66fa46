/*
 * token: issuing and strictly verifying access tokens, JWS compact
 * serialization (RFC 7515) of a JWT (RFC 7519) in the RFC 9068 profile.
 *
 * The keys and the signature primitives are keys.c's; revocation is the
 * store's; what to answer is the handlers'. Time is always a parameter, so
 * nothing here reads a clock, and nothing here logs a token.
 *
 * Pure module: no libevent, no hiredis. Thread safe.
 */
#ifndef TOKEND_TOKEN_H
#define TOKEND_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "keys.h"

struct json_object;

/* 16 random bytes (128 bits; a UUIDv4 has 122), base64url: 22 chars. */
#define TOKEN_JTI_BYTES		16
#define TOKEN_JTI_LEN		22

/* Default size cap of a token given to token_verify(). */
#define TOKEN_MAX_LEN		8192

/* The two "typ" values of --token-typ. */
#define TOKEN_TYP_AT_JWT_STR	"at+jwt"
#define TOKEN_TYP_JWT_STR	"JWT"

/* What a new token says. Strings are borrowed for the call only. */
struct token_params {
	const char	*issuer;	/* iss; required */
	const char	*typ;		/* header typ: "at+jwt" or "JWT" */
	const char	*client_id;	/* client_id and sub; required */
	/* client_gen: the client's generation (client_record.h); NULL or
	   "" = no such claim (a record without one) */
	const char	*client_gen;
	const char	*audience;	/* aud, as a string; required */
	/*
	 * When n_audiences >= 2, aud is this array instead (RFC 7519
	 * 4.1.3), in this order; audience must still be its first. 0 or 1:
	 * aud is the string audience.
	 */
	const char *const *audiences;
	size_t		 n_audiences;
	time_t		 iat;
	long		 ttl;		/* exp = iat + ttl; > 0 */
	const char	*scope;		/* NULL or "" = no scope claim */
	/* cnf's x5t#S256 (RFC 8705 3.1): the thumbprint of the client
	   certificate the token is bound to; NULL = no cnf claim */
	const char	*cnf_x5t;
	/* cnf's jkt (RFC 9449 6.1): the RFC 7638 thumbprint of the DPoP
	   key the token is bound to; NULL = no such member */
	const char	*cnf_jkt;
	/*
	 * The client's metadata claims: a JSON object or NULL. Only read
	 * (deep-copied), so it may be shared between threads. A member named
	 * like a registered claim (iss sub aud exp nbf iat jti client_id
	 * client_gen scope auth_time acr amr cnf) is skipped: it never
	 * overrides.
	 */
	const struct json_object *extra_claims;
};

/*
 * Sign a new access token with key (which must be a keyset's signing
 * key). Header {"alg","typ","kid"}, exactly these in this order; payload
 * iss, sub (= client_id), aud (a string, or an array when
 * p->n_audiences >= 2), exp, iat, jti, client_id, client_gen
 * (omitted when none), scope (omitted when empty), then the extra claims.
 * On success returns 0, *jws is a NUL-terminated string owned by the
 * caller (free()), and jti_out holds the jti. On failure returns -1
 * (logged) and *jws is NULL.
 */
int	 token_issue(const struct key *key, const struct token_params *p,
	    char **jws, char jti_out[TOKEN_JTI_LEN + 1]);

/* Outcomes of token_verify(), in the order the checks run. */
enum token_verdict {
	TOKEN_OK = 0,
	TOKEN_MALFORMED,	/* not 3 strict b64url segments; bad JSON */
	TOKEN_TOO_LARGE,	/* longer than rules->max_len */
	TOKEN_BAD_HEADER,	/* alg/kid missing, wrong member types */
	TOKEN_UNSUPPORTED_CRIT,	/* any "crit": we understand no extension */
	TOKEN_UNKNOWN_KID,	/* no key with that kid */
	TOKEN_ALG_MISMATCH,	/* alg is not the key's alg ("none" too) */
	TOKEN_BAD_SIGNATURE,
	TOKEN_WRONG_TYPE,	/* typ missing or not the configured one */
	TOKEN_WRONG_ISSUER,
	TOKEN_MISSING_CLAIM,	/* iss exp iat jti sub client_id */
	TOKEN_BAD_CLAIM,	/* a registered claim of the wrong type */
	TOKEN_EXPIRED,
	TOKEN_NOT_YET_VALID,	/* nbf or iat in the future */
};

/*
 * Stable lower_snake_case name of a verdict ("ok", "malformed",
 * "too_large", "bad_header", "unsupported_crit", "unknown_kid",
 * "alg_mismatch", "bad_signature", "wrong_type", "wrong_issuer",
 * "missing_claim", "bad_claim", "expired", "not_yet_valid"), used as the
 * metrics "reason" label and in logs. Static string.
 */
const char	*token_verdict_name(enum token_verdict);

struct token_rules {
	const char	*issuer;	/* iss must equal it, byte for byte */
	const char	*typ;		/* "at+jwt" or "JWT" */
	long		 leeway;	/* seconds of clock skew, >= 0 */
	size_t		 max_len;	/* 0 = TOKEN_MAX_LEN */
};

/* A verified token's claims. */
struct token_claims {
	struct json_object	*payload;	/* owned: the whole claims set */
	const struct key	*key;		/* that verified it; borrowed
						   from the keyset */
	/* Borrowed from payload; never NULL, no embedded NUL. */
	const char		*iss;
	const char		*sub;
	const char		*client_id;
	const char		*jti;
	const char		*scope;		/* NULL when absent */
	const char		*aud;		/* NULL unless a string */
	/* aud when it is an array of strings, borrowed; else NULL */
	struct json_object	*aud_array;
	const char		*client_gen;	/* NULL when absent */
	/* NumericDates, rounded down when they have a fraction. */
	int64_t			 exp;
	int64_t			 iat;
	int64_t			 nbf;		/* when has_nbf */
	bool			 has_nbf;
};

/* Free the claims and their payload. NULL is fine. */
void	 token_claims_free(struct token_claims *);

/*
 * Whether the token's aud is, or contains, want (byte for byte, as RFC
 * 7519 4.1.3 compares StringOrURI values without normalizing them). A
 * token without aud contains nothing. Reads only *c: the cost of a few
 * strcmp, so a cached token's audience check costs next to nothing.
 */
bool	 token_claims_has_aud(const struct token_claims *c,
	    const char *want);

/*
 * The token's audiences joined with single spaces into buf (size bytes,
 * NUL-terminated), for a header: "" when there is none. An audience that
 * holds a byte below 0x20 or 0x7f (which no token tokend issues has) is
 * left out, so the result is always a safe header value. Returns the
 * length, or -1 when it does not fit (buf is then "").
 */
int	 token_claims_aud_join(const struct token_claims *c, char *buf,
	    size_t size);

/*
 * The certificate thumbprint a token is bound to (RFC 8705 3.1: cnf's
 * "x5t#S256"), borrowed from c's payload, or NULL when it has none.
 * *malformed is set when cnf or its x5t#S256 is there but not what RFC
 * 8705 says (cnf not an object; x5t#S256 not a non-empty string without
 * NUL): such a token is bound to nothing that can be presented.
 */
const char *token_claims_cnf_x5t(const struct token_claims *c,
	    bool *malformed);

/*
 * The DPoP key thumbprint a token is bound to (RFC 9449 6.1: cnf's
 * "jkt"), borrowed from c's payload, or NULL when it has none;
 * *malformed as token_claims_cnf_x5t() says, for jkt.
 */
const char *token_claims_cnf_jkt(const struct token_claims *c,
	    bool *malformed);

/*
 * Verify the compact JWS at jws (len bytes, need not be NUL-terminated)
 * against the keyset and the rules, at time now. The checks run in this
 * order and stop at the first failure:
 *  1. size cap (TOO_LARGE); exactly three segments of strict base64url,
 *     header and payload not empty (MALFORMED);
 *  2. header: a JSON object that sjson_parse() accepts (strict RFC 8259
 *     and UTF-8, no duplicate names, no \u0000) (MALFORMED); no
 *     "crit" (UNSUPPORTED_CRIT); alg, kid and typ strings when present,
 *     alg and kid required (BAD_HEADER); alg "none" in any case
 *     (ALG_MISMATCH); kid names a key (UNKNOWN_KID); alg is exactly that
 *     key's algorithm (ALG_MISMATCH). jku, x5u, jwk and x5c are ignored:
 *     the key comes from the keyset only;
 *  3. signature, of exactly the key's length (BAD_SIGNATURE);
 *  4. typ equals rules->typ, case-insensitively, with or without an
 *     "application/" prefix (WRONG_TYPE);
 *  5. payload: a JSON object that sjson_parse() accepts (MALFORMED);
 *     iss == rules->issuer (WRONG_ISSUER); exp a number and
 *     now < exp + leeway (EXPIRED); nbf, if present, a number and
 *     <= now + leeway; iat a number and <= now + leeway (NOT_YET_VALID);
 *     jti, sub, client_id non-empty strings, scope and client_gen
 *     strings if present, aud a string or an array of strings if
 *     present (RFC 7519 4.1.3) (client_gen is compared with the client's
 *     record by the revocation rules, verify.h).
 *     A missing required claim is MISSING_CLAIM, a wrong JSON type is
 *     BAD_CLAIM.
 * Revocation is not checked here.
 * On TOKEN_OK, *claims is set and owned by the caller (token_claims_free);
 * otherwise *claims is NULL. claims->key is valid while the caller holds
 * its reference to ks.
 */
enum token_verdict
	 token_verify(const struct keyset *ks, const char *jws, size_t len,
	    time_t now, const struct token_rules *rules,
	    struct token_claims **claims);

/*
 * JWS compact serialization checked by the one implementation that
 * verifies access tokens, for JWS signed by keys that are not the
 * keyset's: private_key_jwt assertions (keys from the client's JWK Set),
 * DPoP proofs (the key in the header).
 *
 * find_key gives the candidate keys for a header: called with i = 0, 1,
 * ... it sets *key to the i-th candidate (NULL when there is no other) and
 * returns TOKEN_OK, or returns a verdict that stops verification at once
 * (e.g. TOKEN_BAD_HEADER for a header without the member it needs). hdr
 * is the parsed header, kid its "kid" (NULL when absent). Keys must
 * outlive the call; jws_verify never frees one.
 */
struct jws_parsed {
	struct json_object	*header;	/* owned */
	struct json_object	*payload;	/* owned; an object */
	const struct key	*key;		/* that verified it; borrowed */
};

typedef enum token_verdict (*jws_key_fn)(void *arg,
	    const struct json_object *hdr, const char *kid, size_t kidlen,
	    size_t i, const struct key **key);

/*
 * Steps 1 to 4 of token_verify() and the payload's JSON of step 5, with
 * the keys of find_key: size cap (max_len, 0 = TOKEN_MAX_LEN), three
 * strict base64url segments, a strict JSON header without "crit", alg a
 * string and never "none" (any case), then each candidate in turn: alg
 * must be exactly the candidate key's algorithm (ALG_MISMATCH), the
 * signature must verify (BAD_SIGNATURE); the first that verifies wins. No
 * candidate at all is UNKNOWN_KID. Then typ, when typ_want is not NULL,
 * as in step 4, and the payload must be a strict JSON object. A key's
 * algorithm is never chosen by the header: an RSA or EC key is never used
 * as an HMAC secret, and HS* keys come only from a keyset.
 * On TOKEN_OK *out holds the header, the payload and the key
 * (jws_parsed_clear() frees them); otherwise *out is empty.
 */
enum token_verdict jws_verify(const char *jws, size_t len, size_t max_len,
	    const char *typ_want, jws_key_fn find_key, void *arg,
	    struct jws_parsed *out);

void	 jws_parsed_clear(struct jws_parsed *);

/*
 * A jws_key_fn over a struct jwk_set (jwk.h), passed as arg: the key the
 * kid names, or without a kid every key of the set in order (at most
 * JWK_SET_MAX_KEYS signature checks).
 */
enum token_verdict jws_key_from_set(void *arg, const struct json_object *hdr,
	    const char *kid, size_t kidlen, size_t i, const struct key **key);

#endif
