/*
 * verify: the one verification pipeline of /verify, /oauth/introspect and
 * /oauth/revoke. First the token itself (token_verify: structure, key,
 * algorithm, signature, typ, iss, exp/nbf/iat), then the revocation rules
 * against this worker's view of the store: the jti revoked, the client
 * removed, or the client disabled at or after the token's iat. No Redis
 * round trip: the view is kept current by pub/sub (view.c).
 */
#ifndef TOKEND_VERIFY_H
#define TOKEND_VERIFY_H

#include <stddef.h>

#include "token.h"

struct worker;

enum verify_result {
	VERIFY_OK = 0,
	VERIFY_BAD_TOKEN,	/* token_verify said no: see .verdict */
	VERIFY_REVOKED,		/* the jti is revoked */
	VERIFY_CLIENT_REMOVED,	/* no such client any more, or the token
				   predates the client's (re)creation */
	VERIFY_CLIENT_REVOKED,	/* iat <= the client's revoked_before */
	VERIFY_UNAVAILABLE,	/* the view cannot be trusted: fail closed */
};

struct verify_outcome {
	enum verify_result	 result;
	enum token_verdict	 verdict;	/* TOKEN_OK unless BAD_TOKEN */
	struct token_claims	*claims;	/* owned; set unless BAD_TOKEN
						   or UNAVAILABLE */
};

/*
 * Verify jws (len bytes) with w's keys, settings and view. On return the
 * caller owns out->claims (verify_outcome_finish). Even when the view is
 * not current the token is checked first, so that a forged token is told
 * apart from an unavailable store in the logs. A token in w's
 * verified-token cache (tcache.h) skips token_verify() but not its exp
 * check, and never the revocation rules; a token that passes everything
 * is added to it.
 */
void	 verify_token(struct worker *w, const char *jws, size_t len,
	    struct verify_outcome *out);
void	 verify_outcome_finish(struct verify_outcome *);

/*
 * A stable lower_snake name of the outcome: the token verdict's name
 * ("expired", "bad_signature", ...) or "revoked", "client_removed",
 * "client_revoked", "unavailable". Used in logs, error_description and
 * (later) as the metrics label.
 */
const char *verify_reason(const struct verify_outcome *);

#endif
