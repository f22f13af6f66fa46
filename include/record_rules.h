/*
 * record_rules: what a valid value is, for each kind of value a client
 * record holds. This is the one definition: client_record.c applies it
 * to every field when it reads a record, and scripts/tokend-client
 * mirrors it (one shell function per kind; the claims in Lua) before it
 * writes one, so that no record can be written that the server would
 * refuse. docs/operations.md states the same rules for admins, and
 * test/data/record_rules.txt is the table of good and bad values that
 * both sides are tested against.
 *
 * Each kind is one row of a table: its name, its longest value and its
 * check. Adding a kind is one enum constant, one row and one check.
 * Every check sees a value as bytes with a length (it need not be
 * NUL-terminated, and a NUL byte in it is refused before the row's own
 * check runs).
 *
 * Pure module: json-c (through sjson) only; thread safe.
 */
#ifndef TOKEND_RECORD_RULES_H
#define TOKEND_RECORD_RULES_H

#include <stdbool.h>
#include <stddef.h>

struct json_object;

#define CLIENT_ID_MAX		128	/* bytes */
#define CLIENT_SECRET_MIN	32	/* bytes (= characters: ASCII only) */
#define CLIENT_SECRET_MAX	1024	/* bytes */
#define CLIENT_SECRET_HASH_MAX	256	/* bytes of the "secret" field */
#define CLIENT_AUDIENCE_MAX	1024	/* bytes of one audience */
#define CLIENT_AUDIENCES_MAX	4096	/* bytes of the "audience" field */
#define CLIENT_AUDIENCES_COUNT	64	/* audiences in the field */
#define CLIENT_CLAIMS_MAX	4096	/* bytes of the "claims" JSON */
#define CLIENT_CLAIMS_DEPTH	16	/* nesting of the "claims" JSON */
#define CLIENT_TTL_MAX		31536000L	/* as --token-ttl */
#define CLIENT_DECIMAL_MAX	19	/* digits of ttl and timestamps */
#define CLIENT_AUTH_METHOD_MAX	32	/* bytes of the method's name */
#define CLIENT_JWKS_MAX		16384	/* bytes of the "jwks" JSON */
#define CLIENT_JWKS_DEPTH	8	/* nesting of the "jwks" JSON */
#define CLIENT_JWKS_KEYS	16	/* keys in the set */
#define CLIENT_TLS_SUBJECT_MAX	1024	/* bytes of "tls_subject" */
#define CLIENT_TLS_SAN_MAX	1024	/* bytes of "tls_san" */
/* base64url of a SHA-256 digest without padding, as x5t#S256 */
#define CLIENT_THUMBPRINT_LEN	43
#define CLIENT_THUMBPRINTS_COUNT 16	/* in "tls_thumbprints" */
#define CLIENT_THUMBPRINTS_MAX	\
	(CLIENT_THUMBPRINTS_COUNT * (CLIENT_THUMBPRINT_LEN + 1) - 1)

/* "generation": INCARNATION "." SERIAL, each 16 lowercase hex digits. */
#define CLIENT_GEN_HEX		16
#define CLIENT_GEN_LEN		(2 * CLIENT_GEN_HEX + 1)
/* The incarnation of a client that existed before generations did. */
#define CLIENT_GEN_LEGACY_INCARNATION	"0000000000000000"

/*
 * How a client proves who it is (RFC 7591 token_endpoint_auth_method;
 * the record's "token_endpoint_auth_method" field, absent = the first).
 * client_secret_basic also accepts client_secret_post, as RFC 6749
 * 2.3.1 lets a server do; client_secret_post accepts only the body.
 */
enum auth_method {
	AUTH_METHOD_SECRET_BASIC = 0,	/* "client_secret_basic" */
	AUTH_METHOD_SECRET_POST,	/* "client_secret_post" */
	AUTH_METHOD_PRIVATE_KEY_JWT,	/* "private_key_jwt" */
	AUTH_METHOD_TLS,		/* "tls_client_auth" */
	AUTH_METHOD_SELF_SIGNED_TLS,	/* "self_signed_tls_client_auth" */
	AUTH_METHOD_COUNT
};

enum record_kind {
	RECORD_ID = 0,		/* a client id */
	RECORD_SECRET,		/* a client secret, as an admin gives it */
	RECORD_SECRET_HASH,	/* the "secret" field: the salted hash */
	RECORD_SCOPE,		/* one scope-token */
	RECORD_SCOPES,		/* the "scopes" field */
	RECORD_AUDIENCE,	/* one audience */
	RECORD_AUDIENCES,	/* the "audience" field */
	RECORD_CLAIMS,		/* the "claims" field */
	RECORD_TTL,		/* the "ttl" field */
	RECORD_FLAG,		/* "disabled", "introspect" */
	RECORD_TIME,		/* "revoked_before", "created_at", ... */
	RECORD_GENERATION,	/* the "generation" field, the client_gen
				   claim */
	RECORD_AUTH_METHOD,	/* "token_endpoint_auth_method" */
	RECORD_JWKS,		/* "jwks": a JWK Set of public keys */
	RECORD_TLS_SUBJECT,	/* "tls_subject": an RFC 4514 DN string */
	RECORD_TLS_SAN,		/* "tls_san": one SAN DNS name or URI */
	RECORD_TLS_THUMBPRINT,	/* one x5t#S256 certificate thumbprint */
	RECORD_TLS_THUMBPRINTS,	/* the "tls_thumbprints" field */
	RECORD_KIND_COUNT
};

/*
 * Whether len bytes of v are a valid value of the kind. On false, why
 * (whylen bytes; may be NULL) gets a short reason that never quotes the
 * value (it may be a secret, binary or huge), e.g. "control character".
 * An unknown kind is never valid.
 */
bool		 record_rules_check(enum record_kind, const char *v, size_t len,
		    char *why, size_t whylen);

/*
 * The kind called name ("id", "scopes", ...: the names of the enum
 * constants in lower case, as the test table and the documents write
 * them), or -1.
 */
int		 record_rules_kind(const char *name);

/* The stable lower-case name of a kind; "unknown" for no kind. */
const char	*record_rules_kind_name(enum record_kind);

/*
 * The claims check that keeps what it parsed: on a valid RECORD_CLAIMS
 * value returns 0 and sets *out to the object, or to NULL when the value
 * is empty or "{}" (no claims); the caller owns it (json_object_put).
 * On an invalid one returns -1, *out NULL, and why as above.
 */
int		 record_rules_claims(const char *v, size_t len,
		    struct json_object **out, char *why, size_t whylen);

/*
 * Whether a claim name belongs to the token itself and so can never come
 * from a record's "claims" (RFC 7519 4.1 and the claims RFC 9068, RFC
 * 8693 and RFC 7800 give a meaning, and tokend's client_gen): iss sub
 * aud exp nbf iat jti client_id client_gen scope auth_time acr amr cnf.
 */
bool		 record_rules_claim_is_reserved(const char *name);

/*
 * The method called len bytes of name, or -1. Its RFC 7591 name, or
 * "unknown". Whether it authenticates with a shared secret.
 */
int		 auth_method_parse(const char *name, size_t len);
const char	*auth_method_name(enum auth_method);
bool		 auth_method_uses_secret(enum auth_method);

/*
 * The JWK Set check that keeps what it parsed: on a valid RECORD_JWKS
 * value returns 0 and sets *out to the set (an object whose "keys" is an
 * array of 1..CLIENT_JWKS_KEYS objects); the caller owns it. On an
 * invalid one returns -1, *out NULL, and why as above. The rule is
 * structural: strict JSON, each key an object whose "kty" is "EC", "RSA"
 * or "OKP", no private or symmetric member (d p q dp dq qi oth k), "kid"
 * a string when present and no kid twice. Whether each key is usable is
 * the JWK decoder's.
 */
int		 record_rules_jwks(const char *v, size_t len,
		    struct json_object **out, char *why, size_t whylen);

/*
 * A non-negative decimal of 1..CLIENT_DECIMAL_MAX digits (leading zeros
 * allowed, no sign, no space) that is at most max: 0 and *out, or -1.
 */
int		 record_rules_decimal(const char *v, size_t len, long long max,
		    long long *out);

#endif
