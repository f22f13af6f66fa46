/*
 * authfail: the brute-force limit on client authentication (RFC 6749
 * 2.3.1: the server must protect against brute force; --auth-fail-limit,
 * --auth-fail-window, --auth-fail-ipv6-prefix).
 *
 * The unit counted is the request's source (authfail_source()): its
 * address (request.h), or for IPv6 the address's network of
 * --auth-fail-ipv6-prefix bits ("2001:db8:1:2::/64"); an IPv4-mapped
 * address counts as IPv4. Keys, lock messages, log lines and the 429 all
 * name that form.
 *
 * The protocol, around the process's table (limiter.h, shared by the
 * workers; view_limiter()):
 * - Before a secret is checked, the table admits the check
 *   (authfail_check(), the check itself running inside it): a locked
 *   source, or one whose known failures have reached the limit, is
 *   refused (CLIENT_AUTH_LIMITED: 429 without a check); one with a
 *   failure whose count Redis has not answered yet waits (the caller
 *   asks again a moment later); otherwise the check runs, and a wrong
 *   secret becomes the source's pending failure.
 * - A pending failure is counted in Redis (authfail_count()): one script
 *   INCRs P authfail:ip:SOURCE and, for a valid client id,
 *   P authfail:client:ID (db.h has the layout), each expiring at the end
 *   of its window; when the source's count reaches the limit it also adds
 *   SOURCE to P locked (until the counter expires) and publishes "lock
 *   SOURCE UNTIL" on P events. The reply (the source's count, the window
 *   left, the lock) goes into the table, which resolves the pending
 *   failure; without a reply the failure is counted in the table alone.
 *   Then the failure is logged (event=auth_failed, with both counts).
 * - Other instances' failures reach the table through each INCR reply
 *   (the count is every instance's) and the lock messages (the view
 *   writes them into the table; P locked at every re-read).
 * So an instance checks at most --auth-fail-limit wrong secrets per
 * window and per source, and N instances on one Redis at most
 * --auth-fail-limit + N - 1 (docs/security.md has the proof). The client
 * counter is only logged, never consulted. A success resets nothing and
 * costs one lookup in the table. With --auth-fail-limit 0 none of this
 * runs: nothing is counted, held or written.
 *
 * On the worker's loop only, like the request it is given (the table is
 * thread safe).
 */
#ifndef TOKEND_AUTHFAIL_H
#define TOKEND_AUTHFAIL_H

#include <stdbool.h>
#include <stdint.h>

#include "client_addr.h"
#include "db.h"
#include "limiter.h"

struct config;
struct request;

/* Bytes of a source, NUL included. */
#define AUTHFAIL_SOURCE_MAX	CLIENT_ADDR_PREFIX_MAX

_Static_assert(AUTHFAIL_SOURCE_MAX <= DB_ADDR_MAX + 1,
    "a source fits P locked and the lock message");

/* The source req is counted under, into out. */
void	 authfail_source(const struct request *req,
	    char out[AUTHFAIL_SOURCE_MAX]);

/*
 * Admit a secret check for req from source and run check(arg) inside the
 * admission (limiter_check()); with the limit off, just run it. Returns
 * LIMITER_PASSED (right), LIMITER_FAILED (wrong: now the source's pending
 * failure, to be passed to authfail_count(), authfail_cancel() or
 * authfail_uncounted() once), LIMITER_LOCKED (refused unchecked;
 * req->retry_after set) or LIMITER_WAIT (refused unchecked for now: ask
 * again within a few milliseconds; *waited_ms, when not NULL, is how long
 * the failure ahead has been pending).
 */
enum limiter_result authfail_check(struct request *req, const char *source,
	    limiter_check_fn check, void *arg, int64_t *waited_ms);

/*
 * What authfail_check() would decide, without a check (PASSED: it would
 * run one): for a caller about to read the record from Redis.
 * LIMITER_LOCKED sets req->retry_after; LIMITER_WAIT *waited_ms.
 */
enum limiter_result authfail_peek(struct request *req, const char *source,
	    int64_t *waited_ms);

/* A lookup read source's counter (count, window_ms its PTTL): tell the
   table. */
void	 authfail_observe(struct request *req, const char *source,
	    long long count, int64_t window_ms);

/* The pending failure of source was none after all (the record in Redis
   accepts the secret). */
void	 authfail_cancel(struct request *req, const char *source);

/* The pending failure of source cannot be counted in Redis (the store
   refused or failed the read before the count): count it here. */
void	 authfail_uncounted(struct request *req, const char *source);

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
	const char	*source;
	const char	*client_id;
	const char	*reason;
	authfail_cb	 cb;
	void		*arg;
};

/*
 * Count the pending failure of source (from authfail_check()), a wrong
 * secret as client_id, in Redis, resolve it in the table with Redis's
 * answer (or count it in the table alone when the store refused or
 * failed the command), log it (event=auth_failed with client_id, reason
 * and the counts; event=auth_rate_limited once, from the failure that
 * reaches the limit), then call cb(arg): from inside this call when the
 * limit is off or the store refused the command, else from a store
 * callback. The failure is counted whether or not the client is still
 * there: its secret was checked. req, source, client_id and reason (a
 * static string) are borrowed until then; op must stay in place until
 * then, and may be freed by cb.
 */
void	 authfail_count(struct authfail_op *op, struct request *req,
	    const char *source, const char *client_id, const char *reason,
	    authfail_cb cb, void *arg);

/*
 * Retry-After, in seconds, of a lock with ms milliseconds left: rounded
 * up, at least 1, and never past --auth-fail-window (what is left of a
 * counter's window cannot be longer); ms <= 0 (the counter has no expiry)
 * gives the whole window.
 */
int	 authfail_retry_after(const struct config *, int64_t ms);

/*
 * Log one failed client authentication: event=auth_failed with client_id
 * (NULL: empty; truncated to 64 bytes), reason and the source it counts
 * under (client=), and with the counts unless fails_ip is -1 (not
 * counted); fails_client is left out when it is -1 (no counter: not a
 * valid client id).
 */
void	 authfail_log(const struct request *, const char *client_id,
	    const char *reason, long long fails_ip, long long fails_client);

#endif
