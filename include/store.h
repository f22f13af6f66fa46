/*
 * store: one asynchronous Redis connection on one worker's event loop
 * (hiredis 0.14 + its libevent adapter): the link. It carries commands and
 * hands back replies without knowing what they mean; what tokend sends
 * and how the replies read is db.h's. So the link and db.c are the only
 * modules that include hiredis; everything else speaks to Redis through
 * db.h.
 *
 * What it guarantees to its callers:
 * - store_command_argv() never blocks and never calls back synchronously:
 *   it either queues the command (returns 0; the callback runs exactly
 *   once, later) or refuses it at once (returns -1; no callback) when the
 *   link is not up.
 * - Every command has its own deadline (--redis-timeout). When it passes,
 *   the callback gets reply == NULL with STORE_ERR_TIMEOUT, and the link is
 *   torn down (a stalled Redis, e.g. SIGSTOPped, would otherwise hang every
 *   later command) and reconnected.
 * - On loss of the link every pending callback gets reply == NULL with
 *   STORE_ERR_DOWN; reconnects use capped exponential backoff (100 ms
 *   doubling to 5 s). A connection is "up" only after AUTH / SELECT / PING
 *   have answered, so a Redis that accepts TCP but never answers is down.
 * - State changes are logged once per outage for the whole process (the
 *   first worker to lose the store logs event=store_down, the last to
 *   regain it logs event=store_up), not once per request or per worker.
 *
 * A subscriber store (store_new_subscriber) is a second kind of link: it
 * runs the same connect / handshake / backoff, then SUBSCRIBEs to one
 * channel and is up only once Redis confirmed the subscription. It takes
 * no commands; every message on the channel goes to its message callback.
 * It checks its link every second (a probe that Redis must answer within
 * --redis-timeout, so a stalled Redis is noticed while nothing is
 * published) and drops and reconnects on a missed answer. Its state
 * changes are logged at debug level only: the command stores report
 * outages, once per process.
 *
 * With a sentinel:// URL every store, subscribers included, follows a
 * master it finds through Redis Sentinel (sentinel.h): it asks the
 * sentinels before each connect, checks with ROLE that it reached a
 * master, and a failover drops the link and connects to the new master at
 * once (the state callback sees the store leave and re-enter STORE_UP). A
 * -READONLY reply, i.e. a demoted master, drops the link too and asks the
 * sentinels again. Backoff is capped at 1 s in this mode.
 *
 * Not thread safe: a store belongs to one worker and is used only from that
 * worker's loop.
 */
#ifndef TOKEND_STORE_H
#define TOKEND_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct redisReply;
struct config;
struct store;

enum store_status {
	STORE_OK = 0,		/* reply is non-NULL (may be a Redis error) */
	STORE_ERR_TIMEOUT,	/* the command's deadline passed */
	STORE_ERR_DOWN,		/* the link failed or was closed */
};

enum store_state {
	STORE_DISCONNECTED = 0,	/* waiting to reconnect */
	STORE_CONNECTING,	/* TCP/unix connect or handshake in progress */
	STORE_UP,
	STORE_CLOSED,		/* store_close() called; never reconnects */
};

/*
 * Called when the store becomes STORE_UP, and when it leaves STORE_UP for
 * any reason but store_close() / store_free() (the caller knows about
 * those). Runs from the event loop (a store callback, a timer), never from
 * inside store_command_argv(); the state is already the new one. May call
 * any store function, store_free() included.
 */
typedef void (*store_state_cb)(struct store *, enum store_state state,
    void *arg);

/*
 * A subscriber store's message callback: the payload of one message on its
 * channel, borrowed for the duration of the call (not NUL-terminated). May
 * call any store function, store_free() of the subscriber included.
 */
typedef void (*store_msg_cb)(const char *msg, size_t len, void *arg);

/*
 * Called once per queued command. reply is borrowed: valid only during the
 * call (hiredis frees it after); NULL unless status is STORE_OK, and then
 * possibly a Redis error reply. Copy what you need.
 */
typedef void (*store_cb)(enum store_status status,
    const struct redisReply *reply, void *arg);

/*
 * Create the store for one worker and start connecting. cfg is borrowed
 * and must outlive the store. n_workers is the number of stores in the
 * process (for the once-per-outage log lines). Never fails (connection
 * errors are retried); the caller owns the result: store_free().
 */
struct store	*store_new(struct event_base *base, const struct config *cfg,
		    int n_workers);

/*
 * A subscriber store on channel (copied): connects like store_new(), then
 * subscribes; up once Redis confirmed the subscription; reconnects and
 * resubscribes with the same backoff after any loss. Messages published
 * while it is not up are lost to it: a user that must not miss one
 * re-reads its state every time the store comes up (store_set_state_cb).
 * Never fails; the caller owns the result: store_free().
 */
struct store	*store_new_subscriber(struct event_base *base,
		    const struct config *cfg, int n_workers,
		    const char *channel, store_msg_cb msg_cb, void *arg);

/*
 * Set (or, with cb NULL, clear) the one state-change callback of a store.
 * Replaces any earlier one.
 */
void		 store_set_state_cb(struct store *, store_state_cb cb,
		    void *arg);

/*
 * Stop reconnecting and close the link; pending callbacks get
 * STORE_ERR_DOWN (synchronously, from inside this call). May be called
 * from inside a store callback; then the other pending callbacks run as
 * soon as that callback returns, before control goes back to the loop.
 */
void		 store_close(struct store *);

/*
 * store_close() if needed, then free. NULL is fine. May be called from
 * inside a store callback: the memory is released once the last callback
 * of the closing link has run.
 */
void		 store_free(struct store *);

/*
 * Queue one command given as argv (binary safe; argvlen may be NULL for
 * NUL-terminated strings). Returns 0 when queued, -1 when the link is not
 * up or s is a subscriber store (the callback will not be called).
 */
int		 store_command_argv(struct store *, store_cb cb, void *arg,
		    int argc, const char **argv, const size_t *argvlen);

/*
 * Queue WAIT 1 T after the commands already queued, T being half of
 * --redis-timeout (WAIT holds every command queued behind it on this
 * link, so it must leave them time within their own deadline). The reply
 * is the number of replicas that acknowledged the link's earlier writes
 * within T. Returns like store_command_argv().
 */
int		 store_wait_replica(struct store *, store_cb cb, void *arg);

/* True when the store follows a master through Redis Sentinel. */
bool		 store_is_sentinel(const struct store *);

enum store_state store_get_state(const struct store *);
bool		 store_is_up(const struct store *);

/*
 * A short human reason for the current state, e.g. "connected",
 * "connect: Connection refused", "command timed out". Borrowed; valid until
 * the next call into the store.
 */
const char	*store_reason(const struct store *);

/*
 * Counters, for tests (test_store). /metrics gets its figures through
 * store_set_metrics() instead.
 */
struct store_stats {
	uint64_t	 commands;	/* queued by store_command_argv() */
	uint64_t	 timeouts;	/* commands (or, for a subscriber,
					   link probes) whose deadline
					   passed */
	uint64_t	 reconnects;	/* times the link came back up */
};
void		 store_get_stats(const struct store *, struct store_stats *);

/*
 * Report this store's state, reconnects, timeouts and command latencies
 * to m (a worker's metrics shard, borrowed; NULL stops it). Only for a
 * command store, on its worker's thread.
 */
struct metrics_shard;
void		 store_set_metrics(struct store *, struct metrics_shard *);

#endif
