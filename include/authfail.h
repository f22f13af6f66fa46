/*
 * authfail: the brute-force limit on client authentication (RFC 6749
 * 2.3.1: the server must protect against brute force; --auth-fail-limit,
 * --auth-fail-window).
 *
 * A failed verification increments two fixed-window counters in Redis,
 * P authfail:ip:ADDR (the request's source address, request.h) and
 * P authfail:client:ID (db.h has the layout), in one script that also
 * gives each its expiry on the first increment; the failure is logged
 * (event=auth_failed, with both counts) once they are written, or once the
 * store failed, which is ignored. When the address count reaches the
 * limit, the same script adds ADDR to P locked (until its counter expires)
 * and publishes "lock ADDR UNTIL" on P events: every view learns it (this
 * worker's and its siblings' at once, view_add_lock(); the other
 * instances' from the message), and until the lock ends client_auth
 * answers CLIENT_AUTH_LIMITED from the view (authfail_locked()), before
 * any secret check. The client counter is only logged, never consulted.
 * A success resets nothing. With --auth-fail-limit 0 none of this runs:
 * nothing is counted and nothing written.
 *
 * On the worker's loop only, like the request it is given.
 */
#ifndef TOKEND_AUTHFAIL_H
#define TOKEND_AUTHFAIL_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"

struct config;
struct request;

/* Called once authfail_count() is done with a failure. */
typedef void (*authfail_cb)(void *arg);

/*
 * Storage for one authfail_count(), provided by the caller (a member of
 * its own per-request struct): no allocation per failure. The members are
 * authfail.c's.
 */
struct authfail_op {
	struct db_op	 db;
	struct request	*req;
	const char	*client_id;
	const char	*reason;
	authfail_cb	 cb;
	void		*arg;
};

/*
 * Count one failed authentication as client_id from req->client (unless
 * the limit is off or the client is gone: nobody would learn the
 * outcome), lock the address when the count reaches the limit, log the
 * failure (event=auth_failed with client_id, reason and the counts;
 * event=auth_rate_limited once, from the failure that reaches the limit),
 * then call cb(arg): from inside this call when nothing is counted or the
 * store refused the command, else from a store callback. req, client_id
 * and reason (a static string) are borrowed until then; op must stay in
 * place until then, and may be freed by cb.
 */
void	 authfail_count(struct authfail_op *op, struct request *req,
	    const char *client_id, const char *reason, authfail_cb cb,
	    void *arg);

/*
 * Whether req->client is locked now, by the worker's view (never with the
 * limit off); if so req->retry_after is set (authfail_retry_after()).
 */
bool	 authfail_locked(struct request *req);

/*
 * Retry-After, in seconds, of a lock with ms milliseconds left: rounded
 * up, at least 1, and never past --auth-fail-window (what is left of a
 * counter's window cannot be longer); ms <= 0 (the counter has no expiry)
 * gives the whole window.
 */
int	 authfail_retry_after(const struct config *, int64_t ms);

/*
 * Log one failed client authentication: event=auth_failed with client_id
 * (NULL: empty; truncated to 64 bytes) and reason, and with the counts
 * unless fails_ip is -1 (not counted).
 */
void	 authfail_log(const struct request *, const char *client_id,
	    const char *reason, long long fails_ip, long long fails_client);

#endif
