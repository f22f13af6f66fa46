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

#include <stddef.h>

struct params;

/* How the request presented its credentials. */
enum creds_via {
	CREDS_VIA_BASIC = 0,
	CREDS_VIA_POST,
};

struct client_creds {
	enum creds_via		 via;
	char			*id;		/* owned */
	char			*secret;	/* owned, wiped */
	size_t			 secret_len;
};

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
 * On CREDS_OK the caller owns creds' strings: client_creds_finish();
 * otherwise creds holds nothing. Both arguments are only read.
 */
enum client_creds_result client_creds_extract(const char *authorization,
	    const struct params *params, struct client_creds *creds);

/* Wipe the secret, free both strings and zero *c. Zeroed is fine. */
void	 client_creds_finish(struct client_creds *c);

#endif
