/*
 * issue: build and sign the access token of an authenticated client, the
 * same token for /oauth/token and the legacy /authorize.
 */
#ifndef TOKEND_ISSUE_H
#define TOKEND_ISSUE_H

#include <time.h>

#include "token.h"

struct client_record;
struct config;
struct keyset;

struct issued {
	char	*jws;				/* owned */
	char	 jti[TOKEN_JTI_LEN + 1];
	long	 expires_in;			/* seconds */
	char	*scope;				/* owned; NULL when none */
};

enum issue_result {
	ISSUE_OK = 0,
	ISSUE_INVALID_SCOPE,	/* malformed, or not within the allowed */
	ISSUE_ERROR,		/* signing failed (logged) */
};

/*
 * Issue a token for rec at now (unix seconds: its iat; exp is now + the
 * record's ttl, or --token-ttl). requested is the request's scope
 * parameter, or NULL for all of the client's allowed scopes (RFC 6749 3.3
 * lets the server choose the default; every allowed scope is what the
 * original service's users expect). cfg, keys and rec are borrowed for
 * the call. On ISSUE_OK the caller owns *out's strings: issued_finish();
 * on any other result *out holds nothing. Reads no clock and no store, so
 * it may be called from any callback.
 */
enum issue_result issue_token(const struct config *cfg,
	    const struct keyset *keys, const struct client_record *rec,
	    const char *requested, time_t now, struct issued *out);
/*
 * issue_token() for a DPoP-bound token (RFC 9449 6): cnf_jkt, the RFC 7638
 * thumbprint of the proof's key (borrowed), is put in the token as
 * cnf {"jkt": cnf_jkt}; NULL: no cnf (as issue_token()).
 */
enum issue_result issue_token_dpop(const struct config *cfg,
	    const struct keyset *keys, const struct client_record *rec,
	    const char *requested, time_t now, const char *cnf_jkt,
	    struct issued *out);

/* Free *t's strings and zero it; a zeroed struct issued is fine. */
void	 issued_finish(struct issued *t);

#endif
