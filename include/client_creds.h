/*
 * client_creds: the client credentials of a request (RFC 6749 section
 * 2.3.1), from the Authorization header's value and the parsed body:
 * HTTP Basic (client_secret_basic) or client_id + client_secret in the
 * body (client_secret_post). Finding them is all it does; checking the
 * secret, and what to answer, are client_auth.h's.
 *
 * Pure module: no libevent, no hiredis.
 */
#ifndef TOKEND_CLIENT_CREDS_H
#define TOKEND_CLIENT_CREDS_H

#include <stdbool.h>
#include <stddef.h>

struct params;

/* How the request presented its credentials. */
enum creds_via {
	CREDS_VIA_BASIC = 0,
	CREDS_VIA_POST,
	/* client_id alone in the body: the TLS client certificate proves
	   it (RFC 8705 2); set by client_auth_form(), never by
	   client_creds_extract() */
	CREDS_VIA_TLS,
	CREDS_VIA_ASSERTION,	/* client_assertion (private_key_jwt) */
};

struct client_creds {
	enum creds_via		 via;
	char			*id;		/* owned */
	char			*secret;	/* owned, wiped; NULL with an
						   assertion */
	size_t			 secret_len;
	/* private_key_jwt: the client_assertion JWS, owned; else NULL */
	char			*assertion;
	size_t			 assertion_len;
	/*
	 * Not NULL: credentials that can authenticate nobody (malformed,
	 * incomplete, or a method the endpoint does not take), this reason
	 * for the log; client_auth_refused() sets it, never
	 * client_creds_extract(). client_auth_verify() fails them like a
	 * wrong secret: one check's cost, counted, the same answer.
	 */
	const char		*refused;
	/*
	 * With refused: the client_id the request presented when it is not a
	 * valid id (owned; NULL otherwise), for the log line only: id is ""
	 * then, so that nothing is looked up or counted under it.
	 */
	char			*shown_id;
};

/* The longest client id an assertion's sub may give. */
#define CLIENT_CREDS_ID_MAX	128

enum client_creds_result {
	CREDS_OK = 0,
	CREDS_NONE,		/* no credentials: invalid_client */
	CREDS_BOTH,		/* Basic and body at once: invalid_request */
	CREDS_MALFORMED,	/* bad Basic header or values: invalid_client */
	CREDS_INCOMPLETE,	/* client_id without secret etc.: invalid_client */
};

/*
 * Find the credentials in authorization (the Authorization header's
 * value, or NULL when the request has none) and params (the parsed body,
 * or NULL). A body parameter with an empty value counts as absent
 * (RFC 6749 3.2). With an Authorization header: a client_secret in the
 * body too is CREDS_BOTH; a header that params_parse_basic() refuses
 * (another scheme included) is CREDS_MALFORMED; a client_id in the body
 * that is not the Basic one is CREDS_BOTH, the same one is fine. Without
 * it: neither client_id nor client_secret is CREDS_NONE, one without the
 * other CREDS_INCOMPLETE. An id or secret that is not a non-empty run of
 * VSCHAR (RFC 6749 appendix A) is CREDS_MALFORMED.
 * private_key_jwt (RFC 7523 2.2): a client_assertion or a
 * client_assertion_type in the body makes the request an assertion one.
 * With a Basic header or a client_secret too it is CREDS_BOTH; without
 * both values CREDS_INCOMPLETE; a type other than
 * ASSERTION_TYPE_JWT_BEARER, an assertion longer than ASSERTION_MAX_LEN
 * or whose payload names no sub (assertion_subject()), or a client_id
 * that is not that sub, CREDS_MALFORMED. On CREDS_OK creds->id is the
 * sub (not yet trusted: client_auth checks the assertion with that
 * client's keys), creds->assertion the JWS, creds->secret NULL.
 * On CREDS_OK the caller owns creds' strings: client_creds_finish();
 * otherwise creds holds nothing. Both arguments are only read.
 */
enum client_creds_result client_creds_extract(const char *authorization,
	    const struct params *params, struct client_creds *creds);

/* Wipe the secret, free both strings and zero *c. Zeroed is fine. */
void	 client_creds_finish(struct client_creds *c);

#endif
