/*
 * sentinel: Redis Sentinel discovery for one store (the store's link to a
 * master it finds through sentinels, --redis sentinel://...). Part of the
 * Redis link layer, beside store: it opens its own hiredis links to the
 * sentinels on the store's event loop.
 *
 * What the link asks, and how it is answered:
 * - "Where is the master?": sentinel_discover() asks the sentinels in the
 *   URL's order, starting with the one that answered last: connect, AUTH
 *   (with ?sentinel_password=), then SENTINEL get-master-addr-by-name, all
 *   within --redis-timeout. A sentinel that fails, times out or does not
 *   know the master is skipped for the next. The answer is the event
 *   SENTINEL_FOUND (the address is then sentinel_master()), or
 *   SENTINEL_NONE when no sentinel answered.
 * - "Tell me when it moves": the sentinel that answered keeps its link and
 *   SUBSCRIBEs to +switch-master on it (the "watch"). A +switch-master
 *   naming our master is the event SENTINEL_MOVED. When the watch is lost
 *   while the link is up (or connecting to a master: then once it is up),
 *   the watch is set up again on the next sentinel after a backoff (100 ms
 *   doubling to SENTINEL_BACKOFF_MAX_MS); if that sentinel names another
 *   master, that is SENTINEL_MOVED too.
 * - "Is this reply a demotion?": sentinel_reply_is_demotion() for a
 *   command's reply (-READONLY: the master became a replica), and
 *   sentinel_role_is_master() for the reply to ROLE, which the link asks
 *   in its handshake instead of PING: a stale sentinel answer must not
 *   send writes to a replica.
 *
 * What the store does with that: every connect attempt, subscriber stores
 * included, asks sentinel_discover() first, unless a SENTINEL_MOVED just
 * named the master; SENTINEL_MOVED drops the master link and connects to
 * the new address at once (the store leaves and re-enters STORE_UP); any
 * other loss of the master link, a demotion or a ROLE that is not
 * "master" runs the whole discovery again with the next attempt, so a
 * missed +switch-master is caught that way. The store's reconnect backoff
 * is capped at SENTINEL_BACKOFF_MAX_MS in this mode.
 *
 * Ownership: a store in sentinel mode owns its struct sentinel
 * (sentinel_new(), sentinel_free()); the sentinel owns its link to a
 * sentinel and the master address it was told, and borrows the URL. Not
 * thread safe: it belongs to one worker's loop.
 */
#ifndef TOKEND_SENTINEL_H
#define TOKEND_SENTINEL_H

#include <stdbool.h>
#include <stdint.h>

struct event_base;
struct redisReply;
struct redis_url;
struct sentinel;

/* The cap of both the store's reconnect backoff and the watch's. */
#define SENTINEL_BACKOFF_MAX_MS	1000

/* What the store's link to the master is doing, as the sentinel asks it. */
enum sentinel_link {
	SENTINEL_LINK_IDLE = 0,		/* waiting to retry, or closed */
	SENTINEL_LINK_WAITING,		/* an attempt waits for discovery */
	SENTINEL_LINK_CONNECTING,	/* connect or handshake to a master */
	SENTINEL_LINK_UP,
};

/*
 * The state of the store's master link. Called from the sentinel's own
 * callbacks; must not call into the sentinel.
 */
typedef enum sentinel_link (*sentinel_link_fn)(void *arg);

enum sentinel_event {
	/*
	 * Discovery named the master (sentinel_master()). Only while the
	 * link is SENTINEL_LINK_WAITING.
	 */
	SENTINEL_FOUND,
	/*
	 * Discovery ended with no sentinel answering; why is the last
	 * sentinel's error. Only while the link is SENTINEL_LINK_WAITING.
	 */
	SENTINEL_NONE,
	/*
	 * The master moved to sentinel_master() (already logged as
	 * event=store_master_switch); why is "switch-master" (the watch's
	 * message, in any link state) or "sentinel" (a watch set up again
	 * named another master; only while the link is not
	 * SENTINEL_LINK_IDLE).
	 */
	SENTINEL_MOVED,
};

/*
 * What the sentinel tells the store. Runs from the sentinel's hiredis or
 * timer callbacks, or from inside sentinel_discover() (SENTINEL_NONE when
 * no sentinel could even be connected to). why is borrowed for the call.
 * May call any sentinel function, sentinel_free() included.
 */
typedef void (*sentinel_event_cb)(enum sentinel_event, const char *why,
    void *arg);

/*
 * A sentinel for the master url->master_name, asking url->sentinels with
 * AUTH url->sentinel_password when set, each step within timeout_ms. Does
 * nothing until sentinel_discover(). base and url are borrowed and must
 * outlive it. link_fn and event_cb get arg. Never fails; the caller owns
 * the result: sentinel_free().
 */
struct sentinel	*sentinel_new(struct event_base *base,
		    const struct redis_url *url, int timeout_ms,
		    sentinel_link_fn link_fn, sentinel_event_cb event_cb,
		    void *arg);

/*
 * Start a round of discovery from the sentinel that answered last,
 * dropping any watch. Answered by SENTINEL_FOUND or SENTINEL_NONE, later
 * or (SENTINEL_NONE) from inside this call. May be called from an event
 * callback.
 */
void		 sentinel_discover(struct sentinel *);

/*
 * The master's address as last announced (by discovery or a move):
 * host is borrowed until the next event, *port set. "" and 0 before the
 * first answer.
 */
const char	*sentinel_master(const struct sentinel *, uint16_t *port);

/*
 * Drop the sentinel link and every timer: no event follows. May be called
 * from an event callback.
 */
void		 sentinel_close(struct sentinel *);

/*
 * sentinel_close(), then free. NULL is fine. May be called from an event
 * callback: the memory is released once the last callback of its links
 * has run.
 */
void		 sentinel_free(struct sentinel *);

/* Sentinels that did not answer a query within timeout_ms, so far. */
uint64_t	 sentinel_timeouts(const struct sentinel *);

/*
 * True when a command's reply says the master was demoted (-READONLY: a
 * write reached a replica; the store checks it in every mode). reply
 * must not be NULL.
 */
bool		 sentinel_reply_is_demotion(const struct redisReply *reply);

/*
 * True when the reply to ROLE says "master". reply must not be NULL.
 */
bool		 sentinel_role_is_master(const struct redisReply *reply);

#endif
