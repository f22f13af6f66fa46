/*
 * view: one worker's in-memory picture of what the revocation rules need
 * from the store, so that verifying a token takes no Redis round trip:
 * every client record (a removed client is absent; revoked_before is in
 * its record) and every live revocation (jti -> the token's exp); and it
 * brings the brute-force locks other instances announce into the
 * process's brute-force table (limiter.h).
 *
 * How it stays in sync (view.c has the details):
 * - A subscriber store on P events (a second Redis link) delivers
 *   "client ID" (the view re-reads that record through the worker's
 *   command store) and "revoke JTI EXP" (added as is).
 * - Each time the subscription comes up (at start and after every
 *   reconnect) the view re-reads everything: SMEMBERS P clients and an
 *   HGETALL per client, SCAN P revoked:* and MGET per batch, into new maps
 *   that replace the old ones only once complete. Messages that arrive
 *   meanwhile go into both. A message missed while the link was down is
 *   thereby caught by the re-read.
 * - The view is in sync once such a re-read has completed with the
 *   subscription up, and stops being in sync when the subscription is
 *   lost (the subscriber probes its link every second, so a stalled Redis
 *   is noticed within 1 s + --redis-timeout) or a record cannot be
 *   re-read. --verify-grace lets verification go on trusting a view that
 *   was in sync for that many seconds after the loss (view_in_sync() vs
 *   view_in_sync_or_grace()).
 * - A revocation is kept until the token's exp + --leeway (as long as
 *   token_verify() could still accept the token), and pruned afterwards.
 *
 * The Redis layout read here (P client:ID, P clients, P revoked:JTI,
 * P locked, and the messages on P events) is described in db.h, which
 * reads and decodes it for the view. The sync reads P locked after the
 * revocations; its locks, and those of "lock ADDR UNTIL" messages, go into
 * the brute-force table the view is given (view_set_limiter()), shared by
 * the workers of the process, which drops a lock once it has ended.
 *
 * Issuing (client_auth.c, authfail.c) also reads the view: the full
 * decoded record of every client (secret hash included:
 * client_record_free() wipes it when a record is replaced or dropped),
 * and the brute-force table through view_limiter().
 *
 * Not thread safe: one view per worker, used only on that worker's loop
 * (the brute-force table is thread safe).
 */
#ifndef TOKEND_VIEW_H
#define TOKEND_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "db.h"

struct client_record;
struct config;
struct event_base;
struct limiter;
struct store;
struct view;

/*
 * Create the view of one worker and start filling it. cmd is the worker's
 * command store (borrowed; it must outlive the view; the view takes its
 * state callback, store_set_state_cb). The view makes its own subscriber
 * store on cfg->prefix + "events". cfg is borrowed. Never fails; the
 * caller owns the result: view_free().
 */
struct view	*view_new(struct event_base *base, const struct config *cfg,
		    struct store *cmd, int n_workers);

/*
 * Stop: close the subscriber, cancel timers and any re-read, give the
 * command store's state callback back. The view keeps answering from what
 * it has, but is no longer in sync. Commands still in flight on cmd are
 * answered (and ignored) whenever cmd runs them. Idempotent.
 */
void		 view_close(struct view *);

/*
 * view_close() if needed, then free everything the view owns. Call it
 * before freeing cmd. NULL is fine.
 */
void		 view_free(struct view *);

/*
 * Two answers to "may the view be trusted?", one strict, one lenient.
 *
 * view_in_sync(), the strict one: a full re-read has completed since the
 * subscription last came up and nothing was missed since. Issuing
 * (client_auth.c) trusts the view only then: the store must be reachable
 * to issue at all, so a view out of sync costs a Redis read, not an
 * answer.
 *
 * view_in_sync_or_grace(), the lenient one: in sync, or it was, and that
 * was lost at most cfg->verify_grace seconds before now (unix seconds;
 * whole seconds: between SECONDS and SECONDS + 1 in real time). With
 * --verify-grace 0 it is view_in_sync(). Verification and /readyz use it:
 * they fail closed (503) when it is false, and --verify-grace lets them
 * ride out a short outage on the last known state.
 *
 * Both are false once the view is closed.
 */
bool		 view_in_sync(const struct view *);
bool		 view_in_sync_or_grace(const struct view *, time_t now);

/*
 * Why the view is (not) in sync: "current" (in sync), "connecting",
 * "syncing", "store unreachable", "closed". Static string.
 */
const char	*view_reason(const struct view *);

/*
 * The record of client id, or NULL when there is none (never created,
 * removed, or not decodable). Borrowed: valid until control returns to the
 * event loop.
 */
const struct client_record *view_client(const struct view *, const char *id);

/*
 * The caller (client_auth.c) read client rec->id's record with a command
 * on the view's command store sent at sent_us (now_usec()), decoded it
 * from res (rec) and is about to issue from it: put it into the view now,
 * as a re-read of that client would, so that this worker verifies what it
 * issues by the same record (the read is the newest: replies come back
 * in the order Redis ran the commands). Takes rec (a second copy is
 * decoded from res for a full re-read in progress); returns the view's
 * record, borrowed as view_client()'s.
 */
const struct client_record *view_learn_client(struct view *,
		    struct client_record *rec, const struct db_record *res,
		    uint64_t sent_us);

/*
 * Tokens are about to be issued from rec, a record of this view
 * (view_client() or view_learn_client(); anything else is ignored). When
 * it was read less than VIEW_VOUCH_US before now_us (now_usec()) and has
 * a generation, note it once for the sibling views of this process: a
 * sibling whose read of the same change has not come back yet then
 * accepts tokens of that generation (view_gen_vouched), so that no worker
 * rejects what another one just issued. Noted for VIEW_VOUCH_US from the
 * read, which saw the generation current: a token of a generation that a
 * later change replaced is accepted on that ground at most VIEW_VOUCH_US
 * after the change. No allocation; for a record read earlier, a few
 * comparisons and no lookup; the mutex of the process's table once per
 * record read.
 */
#define VIEW_VOUCH_US		500000
void		 view_client_issuing(struct view *,
		    const struct client_record *rec, uint64_t now_us);

/*
 * Whether a worker of this process issued tokens of client id's
 * generation gen from a read sent at most VIEW_VOUCH_US before now_us.
 * One atomic load unless a read was noted that recently. Thread safe.
 */
bool		 view_gen_vouched(const char *id, const char *gen,
		    uint64_t now_us);

/* Whether jti is revoked and the revocation still matters at now. */
bool		 view_jti_revoked(const struct view *, const char *jti,
		    time_t now);

/*
 * This instance revoked jti (of a token expiring at exp): record it now.
 * The caller also writes P revoked:JTI and publishes "revoke JTI EXP"
 * (db_revoke()) so that the other instances learn it. A jti that is not
 * db_jti_is_valid() is ignored.
 */
void		 view_add_revocation(struct view *, const char *jti,
		    int64_t exp);

/*
 * Feed the brute-force locks the view hears of ("lock ADDR UNTIL", P
 * locked at each sync) into l (borrowed; it must outlive the view; NULL:
 * none), and prune l's ended entries with the view's other pruning. The
 * workers of tokend share view_process_limiter(); tests make their own,
 * one per simulated instance.
 */
void		 view_set_limiter(struct view *, struct limiter *l);

/* The table of view_set_limiter(), or NULL. */
struct limiter	*view_limiter(const struct view *);

/* The process's table (LIMITER_MAX_ENTRIES), made on the first call and
   never freed. Callable from any thread. */
struct limiter	*view_process_limiter(void);

/* Wall-clock unix milliseconds, the unit of locks. */
int64_t		 view_now_ms(void);

struct view_stats {
	size_t		 clients;	/* records in the view */
	size_t		 revoked;	/* revocations in the view */
	size_t		 revoked_bytes;	/* the heap they take (an estimate:
					   strmap_memory(); during a re-read
					   the new copy too) */
	size_t		 locked;	/* locks in its brute-force table */
	int64_t		 last_sync;	/* unix seconds; 0: never */
	uint64_t	 syncs;		/* completed full re-reads */
	bool		 current;	/* view_in_sync_or_grace(now) */
};
void		 view_get_stats(const struct view *, struct view_stats *);

/*
 * Report the view's size (the revocations also in bytes), last full
 * re-read and whether it is in sync (grace not counted) to m (a worker's
 * metrics shard, borrowed; NULL stops it) whenever they change. On the
 * worker's thread.
 */
struct metrics_shard;
void		 view_set_metrics(struct view *, struct metrics_shard *);

#endif
