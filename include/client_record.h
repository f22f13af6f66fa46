/*
 * client_record: a client as the store keeps it, decoded from the Redis
 * hash that scripts/tokend-client writes.
 *
 * The hash, one per client (P = --prefix; the rest of the Redis layout
 * is in db.h):
 *
 *	P client:ID	HASH, one per client:
 *	  secret	  "hmac-sha256:SALTHEX:DIGESTHEX" (secret.h); required
 *	  scopes	  allowed scopes, space-delimited (scope.h); "" = none
 *	  audience	  the token's aud; "" = --default-audience
 *	  ttl		  token lifetime, decimal seconds; "" or "0" = --token-ttl
 *	  claims	  a JSON object of metadata claims; "{}" (or "") = none
 *	  disabled	  "0" or "1"
 *	  revoked_before  unix seconds; tokens with iat <= it are rejected
 *	  introspect	  "0" or "1": may introspect other clients' tokens
 *	  created_at	  unix seconds
 *	  updated_at	  unix seconds
 *	  generation	  "INCARNATION.SERIAL", 16 + 16 lowercase hex digits:
 *			  random; INCARNATION drawn by `add`, SERIAL by
 *			  every lifecycle change (add, disable, enable of
 *			  a disabled client); INCARNATION 0000000000000000
 *			  for a client made before generations existed.
 *			  Every token carries it (claim client_gen) and
 *			  must carry the record's current one. Absent: a
 *			  record no lifecycle change has touched since
 *			  generations exist (the rules of verify.h)
 *
 * Only "secret" is required; a missing optional field takes the value
 * shown as its default above, so a record written by hand with redis-cli
 * works. Unknown fields are ignored (forward compatibility).
 *
 * Pure module: json-c only.
 */
#ifndef TOKEND_CLIENT_RECORD_H
#define TOKEND_CLIENT_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scope.h"

struct json_object;

#define CLIENT_ID_MAX		128	/* bytes */
#define CLIENT_SECRET_HASH_MAX	256	/* bytes of the "secret" field */
#define CLIENT_AUDIENCE_MAX	1024	/* as --default-audience */
#define CLIENT_CLAIMS_MAX	4096	/* bytes of the "claims" JSON */
#define CLIENT_CLAIMS_DEPTH	16	/* nesting of the "claims" JSON */
#define CLIENT_TTL_MAX		31536000L	/* as --token-ttl */

/* "generation": INCARNATION "." SERIAL, each 16 lowercase hex digits. */
#define CLIENT_GEN_HEX		16
#define CLIENT_GEN_LEN		(2 * CLIENT_GEN_HEX + 1)
/* The incarnation of a client that existed before generations did. */
#define CLIENT_GEN_LEGACY_INCARNATION	"0000000000000000"

struct client_record {
	char			*id;
	/* the stored hash, as is: secret_hash_check() judges it; wiped */
	char			*secret_hash;
	/* secret_hash parsed and keyed once (secret.h); never NULL */
	struct secret_key	*secret_key;
	struct scope_set	 scopes;
	char			*audience;	/* NULL: --default-audience */
	long			 ttl;		/* 0: --token-ttl */
	struct json_object	*claims;	/* an object; NULL when none */
	bool			 disabled;
	int64_t			 revoked_before; /* 0: never */
	bool			 introspect;
	int64_t			 created_at;
	int64_t			 updated_at;
	/* "" when the record has none; else CLIENT_GEN_LEN characters */
	char			 generation[CLIENT_GEN_LEN + 1];
	/*
	 * Kept by the view (view.c), 0 and false elsewhere: now_usec() when
	 * the command that read the record was sent, and whether tokens of
	 * its generation were vouched for to the sibling views.
	 */
	uint64_t		 read_us;
	bool			 vouched;
};

/*
 * Decode the n field/value pairs of an HGETALL reply for client id
 * (NUL-terminated). Names and values are binary-safe: lengths are given,
 * NUL termination is not needed.
 *
 * Returns 0 and sets *out (owned by the caller: client_record_free()), or
 * -1 with a one-line reason in errbuf that names the field and never
 * quotes a value: an invalid id, a missing or empty "secret", a field
 * given twice, a NUL byte or an over-long value, or a malformed value
 * (ttl not a decimal in 0..CLIENT_TTL_MAX, flags not "0"/"1", timestamps
 * not non-negative decimals, scopes not a valid list without duplicates,
 * a control character in the audience, claims not a JSON object or naming
 * a reserved claim, a generation not of the form above). A well-formed
 * "secret" with an unknown tag is not an error here: secret_hash_check()
 * refuses it like a wrong secret.
 *
 * The record keeps no pointer into the input: the caller (db.c) may
 * decode straight from a Redis reply that is freed afterwards.
 */
int		 client_record_decode(const char *id, size_t n,
		    const char *const *fields, const size_t *field_lens,
		    const char *const *values, const size_t *value_lens,
		    struct client_record **out, char *errbuf, size_t errlen);

/* Wipe the secret hash and free everything. NULL is fine. */
void		 client_record_free(struct client_record *);

/* 1..CLIENT_ID_MAX bytes of [A-Za-z0-9._~:@-]. Anything else is unknown. */
bool		 client_record_is_valid_id(const char *id, size_t len);

/*
 * Whether a claim name belongs to the token itself and so can never come
 * from a record's "claims": iss sub aud exp nbf iat jti client_id
 * client_gen scope auth_time acr amr cnf.
 */
bool		 client_record_claim_is_reserved(const char *name);

/*
 * Whether s (len bytes) is a generation as the "generation" field and
 * the client_gen claim hold it: CLIENT_GEN_LEN bytes, INCARNATION "."
 * SERIAL, lowercase hex.
 */
bool		 client_record_gen_is_valid(const char *s, size_t len);

#endif
