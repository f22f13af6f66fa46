/*
 * client_record: a client as the store keeps it, decoded from the Redis
 * hash that scripts/tokend-client writes.
 *
 * The hash, one per client (P = --prefix; the rest of the Redis layout
 * is in db.h):
 *
 *	P client:ID	HASH, one per client:
 *	  token_endpoint_auth_method
 *			  how the client authenticates (RFC 7591):
 *			  client_secret_basic (the default: also accepts
 *			  client_secret_post), client_secret_post,
 *			  private_key_jwt, tls_client_auth or
 *			  self_signed_tls_client_auth
 *	  secret	  "hmac-sha256:SALTHEX:DIGESTHEX" (secret.h);
 *			  required by the two client_secret methods, refused
 *			  with the others
 *	  jwks		  private_key_jwt (required): a JWK Set of the
 *			  client's public keys, JSON
 *	  tls_subject	  tls_client_auth: the certificate's subject DN, an
 *			  RFC 4514 string (most specific RDN first)
 *	  tls_san	  tls_client_auth: one subjectAltName DNS name or URI;
 *			  tls_client_auth needs tls_subject or tls_san
 *	  tls_thumbprints self_signed_tls_client_auth (required): the
 *			  certificates' SHA-256 thumbprints (x5t#S256),
 *			  space-separated
 *	  dpop_bound	  "0" or "1": tokens only with a DPoP proof
 *	  scopes	  allowed scopes, space-delimited (scope.h); "" = none
 *	  audience	  the allowed audiences, space-delimited: what a
 *			  resource parameter (RFC 8707) may name; the first
 *			  is the tokens' aud when none is named;
 *			  "" = --default-audience
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
 * What each value may be is record_rules.h's (one kind per field: id,
 * secret_hash, scopes, audiences, claims, ttl, flag, time). Only
 * "secret" is required; a missing optional field takes the value shown
 * as its default above, so a record written by hand with redis-cli
 * works. Unknown fields are ignored (forward compatibility).
 *
 * Pure module: json-c only.
 */
#ifndef TOKEND_CLIENT_RECORD_H
#define TOKEND_CLIENT_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "record_rules.h"
#include "scope.h"

struct json_object;

struct client_record {
	char			*id;
	enum auth_method	 auth_method;
	/*
	 * The stored hash, as is: secret_hash_check() judges it; wiped.
	 * NULL exactly when the method uses no secret.
	 */
	char			*secret_hash;
	/* secret_hash parsed and keyed once (secret.h); NULL as above */
	struct secret_key	*secret_key;
	/* the JWK Set (record_rules_jwks()); NULL when none */
	struct json_object	*jwks;
	char			*tls_subject;	/* NULL when none */
	char			*tls_san;	/* NULL when none */
	/* CLIENT_THUMBPRINT_LEN characters each, NUL-terminated */
	char			(*tls_thumbprints)[CLIENT_THUMBPRINT_LEN + 1];
	size_t			 n_tls_thumbprints;
	bool			 dpop_bound;
	struct scope_set	 scopes;
	/*
	 * The record's audiences in order (n_audiences of them, 0 when the
	 * field is ""): what RFC 8707 resource parameters may ask for.
	 * audience is the first, borrowed from audiences[0], the tokens'
	 * aud when none is asked for; NULL: --default-audience.
	 */
	char			**audiences;
	size_t			 n_audiences;
	char			*audience;
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
 * quotes a value: an invalid id, a field given twice, a value its kind's
 * rule refuses (record_rules_check()), or what the method needs missing
 * (a "secret" for the client_secret methods, none for the others; a
 * "jwks"; a "tls_subject" or "tls_san"; "tls_thumbprints"). A
 * well-formed "secret" with an unknown tag is not an error here:
 * secret_hash_check() refuses it like a wrong secret.
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

/*
 * Whether len bytes of id are a valid client id (record_rules.h,
 * RECORD_ID: 1..CLIENT_ID_MAX bytes of A-Z a-z 0-9 . _ ~ : @ -). The
 * server's one id check: anything else names no client, and is never
 * stored or counted under its own key. NULL is invalid.
 */
bool		 client_record_is_valid_id(const char *id, size_t len);

/*
 * Whether s (len bytes) is a generation as the "generation" field and
 * the client_gen claim hold it (record_rules.h, RECORD_GENERATION:
 * CLIENT_GEN_LEN bytes, INCARNATION "." SERIAL, lowercase hex). NULL is
 * invalid.
 */
bool		 client_record_gen_is_valid(const char *s, size_t len);

#endif
