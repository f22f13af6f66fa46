/*
 * issue: build and sign the access token of an authenticated client, the
 * same token for /oauth/token and the legacy /authorize.
 */
#ifndef TOKEND_ISSUE_H
#define TOKEND_ISSUE_H

#include <stddef.h>
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

/* resource parameters (RFC 8707) a request may give */
#define ISSUE_RESOURCES_MAX	64

enum issue_result {
	ISSUE_OK = 0,
	ISSUE_INVALID_SCOPE,	/* malformed, or not within the allowed */
	ISSUE_INVALID_TARGET,	/* a resource not among the record's
				   audiences (RFC 8707 2), or several
				   whose token would exceed
				   TOKEN_MAX_LEN */
	ISSUE_ERROR,		/* signing failed (logged) */
};

/*
 * Issue a token for rec at now (unix seconds: its iat; exp is now + the
 * record's ttl, or --token-ttl). requested is the request's scope
 * parameter, or NULL for all of the client's allowed scopes (RFC 6749 3.3
 * lets the server choose the default; every allowed scope is what the
 * original service's users expect). resources are the request's
 * resource parameters (RFC 8707), n_resources of them (at most
 * ISSUE_RESOURCES_MAX), checked and deduplicated by issue_audience().
 * cfg, keys and rec are borrowed for the call. On ISSUE_OK the caller
 * owns *out's strings: issued_finish(); on any other result *out holds
 * nothing. Reads no clock and no store, so
 * it may be called from any callback.
 */
enum issue_result issue_token(const struct config *cfg,
	    const struct keyset *keys, const struct client_record *rec,
	    const char *requested, const char *const *resources,
	    size_t n_resources, time_t now, struct issued *out);

/*
 * The aud that resources (n_resources RFC 8707 resource parameters)
 * ask of rec: each must equal one of rec's audiences byte for byte (an
 * absolute URI or a plain name: no normalization, as the resource server
 * compares aud; a malformed value equals none), else
 * ISSUE_INVALID_TARGET; an empty one is omitted (RFC 6749 3.1). The
 * distinct ones, in the order first given, go into out (room for
 * n_resources, pointers borrowed from resources), their count into
 * *n_out: 0 means the record's default audience. Pure.
 */
enum issue_result issue_audience(const struct client_record *rec,
	    const char *const *resources, size_t n_resources,
	    const char **out, size_t *n_out);

/*
 * issue_token() for a sender-constrained token: cnf_x5t, the base64url
 * SHA-256 thumbprint of the client's certificate (RFC 8705 3), and
 * cnf_jkt, the RFC 7638 thumbprint of the DPoP proof's key (RFC 9449 6),
 * both borrowed, are put in the token's cnf as "x5t#S256" and "jkt"; NULL:
 * no such member (both NULL: no cnf, as issue_token()).
 */
enum issue_result issue_token_bound(const struct config *cfg,
	    const struct keyset *keys, const struct client_record *rec,
	    const char *requested, const char *const *resources,
	    size_t n_resources, time_t now, const char *cnf_x5t,
	    const char *cnf_jkt, struct issued *out);
/* Free *t's strings and zero it; a zeroed struct issued is fine. */
void	 issued_finish(struct issued *t);

#endif
