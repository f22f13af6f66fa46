/*
 * client_auth: OAuth client authentication (RFC 6749 section 2.3.1) for
 * /oauth/token, /authorize, /oauth/introspect and /oauth/revoke.
 *
 * Two steps. client_auth_extract() finds the credentials in the request:
 * HTTP Basic (client_secret_basic) or client_id + client_secret in the
 * body (client_secret_post); both at once is invalid_request. Then
 * client_auth_verify() checks the secret against the salted hash in the
 * client's record in constant time: the record in the worker's view
 * (view.h) when the view has it and the secret matches, with no Redis
 * command; else the record read from Redis (never blocking the loop). An
 * unknown client, a disabled client, a malformed record and a wrong
 * secret all take the same path (the hash checks run against a dummy hash
 * when there is no record) and get the same answer.
 *
 * Brute-force limit (authfail.h): every secret check is admitted by the
 * process's table first; failed verifications are counted in Redis per
 * source (req->client, or its IPv6 network) and per valid client_id
 * within --auth-fail-window; a source at --auth-fail-limit is answered
 * CLIENT_AUTH_LIMITED without a check until the window ends, and one
 * whose last failure is still being counted waits for that count.
 */
#ifndef TOKEND_CLIENT_AUTH_H
#define TOKEND_CLIENT_AUTH_H

#include <stddef.h>

#include "client_creds.h"

struct client_record;
struct params;
struct request;

/*
 * client_creds_extract() on req's Authorization header. params is the
 * parsed body (may be NULL). On CREDS_OK the caller owns creds' strings:
 * client_creds_finish().
 */
enum client_creds_result client_auth_extract(const struct request *req,
	    const struct params *params, struct client_creds *creds);

enum client_auth_result {
	CLIENT_AUTH_OK = 0,
	CLIENT_AUTH_INVALID,		/* unknown, disabled or wrong secret */
	CLIENT_AUTH_UNAVAILABLE,	/* the store did not answer */
	CLIENT_AUTH_LIMITED,		/* the source address is over
					   --auth-fail-limit: 429, with
					   Retry-After req->retry_after */
};

/*
 * Called once with the outcome. On CLIENT_AUTH_OK, rec is the client's
 * record, borrowed: valid only during the call (copy what outlives it);
 * otherwise NULL. The request may be gone (req->gone): replies are then
 * dropped anyway.
 */
typedef void (*client_auth_cb)(struct request *req,
    enum client_auth_result result, const struct client_record *rec,
    void *arg);

/*
 * Start verifying creds (taken over, wiped when done). Holds req until the
 * callback has run. Returns -1 without calling cb when the store is not
 * up or refuses the read (answer 503 at once). Returns 0 when cb has been
 * called or will be: from inside this call when the worker's in-sync view
 * and the brute-force table decide (success, or a locked source), else
 * later from a store callback or a timer (an attempt held while a failure
 * of its source is being counted; at most twice --redis-timeout, then
 * CLIENT_AUTH_UNAVAILABLE). While the view is not in sync (view_in_sync(),
 * --verify-grace not counted: the first read after start, or a re-read
 * after a reconnect, not finished) everything is read from Redis: the
 * record and the source's counter in one script.
 */
int	 client_auth_verify(struct request *req, struct client_creds *creds,
	    client_auth_cb cb, void *arg);

/*
 * The front half of the form endpoints (/oauth/token, /oauth/introspect,
 * /oauth/revoke): the body must be form-urlencoded and well formed
 * (else 400 invalid_request), and carry client credentials in one way
 * (both at once: 400 invalid_request; none: 401 invalid_client).
 * Malformed or incomplete credentials are not answered here: creds come
 * back from client_auth_refused(), for client_auth_verify() to count and
 * refuse like a wrong secret. Returns 0 with p parsed and creds owned by the caller
 * (client_creds_finish), or -1 when req has been answered. p must be fresh
 * from params_init and is the caller's to finish either way. flags are
 * reply.h's, for every answer.
 */
int	 client_auth_form(struct request *req, struct params *p,
	    struct client_creds *creds, int flags);

/*
 * Credentials that authenticate nobody, for client_auth_verify() to fail
 * like a wrong secret (counted towards the brute-force limit, the same
 * cost and answer): creds (emptied first; the caller's to finish) get
 * reason (a static string, for the log), the body's client_id when it is
 * a valid client id (else "": no client counter), and the body's
 * client_assertion when it is one of at most ASSERTION_MAX_LEN bytes (a
 * signature check against a decoy), else an empty secret (a hash check
 * against the dummy hash). p may be NULL.
 */
void	 client_auth_refused(const struct params *p, const char *reason,
	    struct client_creds *creds);

/* 401 invalid_client with the Basic challenge (RFC 6749 5.2). */
void	 client_auth_reply_invalid(struct request *req, int flags);

/*
 * 429 too_many_requests with Retry-After: req->retry_after (set with
 * CLIENT_AUTH_LIMITED) and a JSON error body whose description names the
 * source the limit counts (authfail_source()).
 */
void	 client_auth_reply_limited(struct request *req, int flags);

/* Log and count one failed authentication (client_id truncated and
   quoted) that never reached client_auth_verify(). */
void	 client_auth_log_failure(const struct request *req,
	    const char *client_id, const char *reason);

#endif
