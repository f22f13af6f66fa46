/*
 * handler: one function per endpoint, each in its handler_*.c file, and
 * in handler.c the answers several endpoints share. A handler answers
 * through reply.h, now or later (after request_hold), exactly once.
 */
#ifndef TOKEND_HANDLER_H
#define TOKEND_HANDLER_H

#include <stdbool.h>
#include <time.h>

struct request;

typedef void (*handler_fn)(struct request *);

/* handler.c: answers shared by handlers */
/*
 * 503 temporarily_unavailable with Retry-After: 1, "the client store
 * cannot be reached": what any endpoint answers when Redis (or the view)
 * cannot decide. flags as in reply.h. Answers req now.
 */
void	 handler_unavailable(struct request *, int reply_flags);

/*
 * Whether a token issued now to rec's client would pass this worker's
 * own revocation rules (verify_issuable()); when it would not, logs
 * event=issue_refused and returns false, and the caller answers 503
 * instead of issuing a token it would reject. Only a record without a
 * generation (an older tokend-client's) can be refused.
 */
struct client_record;
bool	 handler_issuable(struct request *, const struct client_record *rec,
	    time_t now);

/*
 * The front half of /oauth/introspect and /oauth/revoke: authenticate
 * the client (client_auth_form, client_auth_verify), require a `token` parameter and verify it
 * (verify_token), answering every failure on the way (400, 401, 429,
 * 503). Then answer(req, caller, v) answers, from a store callback or
 * from inside this call, with the caller's record and the token's outcome
 * (VERIFY_UNAVAILABLE included), both borrowed for the call.
 */
struct client_record;
struct verify_outcome;
typedef void (*handler_token_answer)(struct request *,
    const struct client_record *caller, const struct verify_outcome *v);
void	 handler_with_token(struct request *, handler_token_answer answer);

/* handler_ops.c */
void	 handler_healthz(struct request *);
void	 handler_readyz(struct request *);
void	 handler_index(struct request *);
void	 handler_metrics(struct request *);

/* handler_token.c */
void	 handler_token(struct request *);

/* handler_authorize.c */
void	 handler_authorize(struct request *);

/* handler_verify.c */
void	 handler_verify(struct request *);

/* handler_introspect.c */
void	 handler_introspect(struct request *);


/* handler_revoke.c */
void	 handler_revoke(struct request *);

/* handler_wellknown.c */
void	 handler_jwks(struct request *);
void	 handler_metadata(struct request *);

#endif
