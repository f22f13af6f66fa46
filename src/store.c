/*
 * store: one worker's asynchronous Redis link, hiredis 0.14 on the worker's
 * libevent loop. Besides db.c (the data: commands and replies), the link
 * is the only code that includes hiredis.
 *
 * It connects, runs the handshake (AUTH, SELECT, PING), queues commands
 * with a deadline each, and reconnects with capped exponential backoff. It
 * knows nothing about what the commands mean; db.c builds the argv and
 * reads the reply.
 *
 * hiredis 0.14 facts this file is built on (measured with hiredis 0.14.1
 * and its libevent adapter on Debian 12, and read in hiredis's async.c;
 * test_store exercises each under ASan):
 * - redisAsyncFree() runs every pending reply callback with reply NULL,
 *   then the disconnect callback, but the latter only when the context had
 *   connected. Called inside one of the context's reply callbacks it is
 *   deferred until that callback returns; called anywhere else it is
 *   synchronous. It must never be called from the connect callback, which
 *   hiredis keeps using afterwards.
 * - A failed connect gets only the connect callback (ac->err still 0 there;
 *   the text is in ac->c.errstr), then hiredis frees the context.
 * - There is no command timeout, so each command has its own evtimer.
 * - A command is written on the loop's next turn (the adapter's write
 *   event) and its reply read on a turn after that. When one turn takes
 *   longer than a deadline (a burst of TLS handshakes on a busy machine),
 *   the deadline passes although Redis answered at once; so every deadline
 *   waits one more turn first (deadline_grace()).
 * - redisAsyncHandleRead() reads at most 16 KiB (redisBufferRead), and the
 *   libevent adapter calls it once per turn: with hundreds of commands
 *   pipelined per turn, replies piled up in the socket until their
 *   deadlines passed. read_cb() replaces the adapter's read callback and
 *   reads on while the socket holds more.
 * - redisAsyncConnect() resolves a host name with a blocking getaddrinfo();
 *   use an address or a name from /etc/hosts where that matters.
 * - A SUBSCRIBE's callback is kept by hiredis (ac->sub.channels) and runs
 *   for the confirmation and for every message; when the context is freed
 *   it runs once more with reply NULL, before the disconnect callback.
 * - PING on a subscribed context is useless in 0.14.1: its callback is
 *   queued on ac->sub.invalid, and the "pong" multi-bulk is routed by its
 *   first letter to the pattern table, found nowhere and dropped, so the
 *   callback never runs and the queue grows by one per ping for the life
 *   of the link. A subscriber's liveness probe is therefore SUBSCRIBE to
 *   its channel again: Redis confirms every SUBSCRIBE, even of a channel
 *   already subscribed, hiredis routes the confirmation to the same
 *   callback, and nothing is queued.
 *
 * Invariants:
 * - s->ac is the live context, or NULL. A context is detached (s->ac set
 *   to NULL, the state changed) before anything that may run callbacks, so
 *   a callback that finds ac != s->ac knows its link is being dropped, and
 *   a user callback that calls back into the store sees the new state.
 * - A queued struct cmd belongs to hiredis (it is the privdata) and is
 *   freed only in cmd_cb(), which hiredis runs exactly once. cmd->done says
 *   the user callback already ran (the deadline fired first).
 * - s->links counts hiredis contexts that still point at the store, and
 *   s->busy counts store frames on the stack. The store is freed only when
 *   both are 0, so store_free() may be called from inside a callback.
 * - User callbacks that are not command callbacks (state changes, a
 *   subscriber's messages) run last in go_up() / go_down() / sub_cb(),
 *   inside a store frame, after the store's own bookkeeping.
 * - A subscriber (s->channel != NULL) takes no commands, and never counts
 *   in the process-wide up_count / reported_down: only command stores
 *   decide the store_down / store_up lines.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>

/*
 * Header-only, with static functions: only the link layer includes it
 * (here and sentinel.c). It compiles clean at our warning level (gcc 12,
 * clang 14), so no pragma.
 */
#include <hiredis/adapters/libevent.h>

#include "config.h"
#include "log.h"
#include "metrics.h"
#include "sentinel.h"
#include "store.h"
#include "util.h"

#define BACKOFF_MIN_MS		100
#define BACKOFF_MAX_MS		5000
#define CONNECT_MIN_MS		1000	/* floor for connect + handshake */
#define HANDSHAKE_MAX		3	/* AUTH, SELECT, PING */
#define PROBE_INTERVAL_MS	1000	/* a subscriber's liveness probe */

struct store {
	struct event_base	*base;
	const struct config	*cfg;
	int			 n_workers;

	redisAsyncContext	*ac;		/* live link or NULL */
	enum store_state	 state;
	char			 reason[256];

	/* Handshake of the current link: replies come back in order. */
	const char		*hs_step[HANDSHAKE_MAX];
	int			 hs_sent;
	int			 hs_done;

	struct event		*retry_ev;	/* backoff wait */
	struct event		*connect_ev;	/* connect + handshake deadline */
	bool			 connect_grace;	/* deadline_grace() given */
	int			 backoff_ms;	/* next wait, before jitter */
	uint64_t		 rng;
	unsigned		 attempts;
	bool			 ever_up;
	bool			 failed;	/* an attempt failed since up */

	int			 links;		/* contexts pointing at us */
	int			 busy;		/* our frames on the stack */
	bool			 free_pending;

	store_state_cb		 state_cb;
	void			*state_arg;

	/* Subscriber mode: channel != NULL. */
	char			*channel;
	store_msg_cb		 msg_cb;
	void			*msg_arg;
	int			 sub_pending;	/* SUBSCRIBEs unconfirmed */
	struct event		*probe_ev;	/* every PROBE_INTERVAL_MS */
	struct event		*probe_deadline_ev;
	bool			 probe_grace;	/* deadline_grace() given */

	/*
	 * Sentinel mode (cfg->redis.kind == REDIS_SENTINEL): finds the
	 * master and watches it move. m_fresh: a SENTINEL_MOVED named the
	 * master, so the next attempt connects without asking.
	 */
	struct sentinel		*sentinel;	/* owned, or NULL */
	bool			 m_fresh;

	struct store_stats	 stats;
	struct metrics_shard	*metrics;	/* the worker's, or NULL */
};

/* One queued command; hiredis owns it from queueing to cmd_cb(). */
struct cmd {
	struct store		*store;
	store_cb		 cb;
	void			*arg;
	uint64_t		 start_usec;	/* queued at */
	struct event		*timer;		/* the command's deadline */
	bool			 done;		/* user callback already ran */
	bool			 grace;		/* deadline_grace() given */
};

/*
 * Process-wide, for once-per-outage logging: how many stores are up, and
 * whether event=store_down has been logged and not yet answered by
 * event=store_up.
 */
static _Atomic int	 up_count;
static _Atomic bool	 reported_down;
static _Atomic bool	 ever_connected;

static void	 connect_attempt(struct store *);
static void	 destroy(struct store *);
static void	 sub_cb(redisAsyncContext *, void *, void *);
static void	 master_connect(struct store *);

static void
enter(struct store *s)
{
	s->busy++;
}

/* Leave a store frame; the last one out frees a store store_free() left. */
static void
leave(struct store *s)
{
	if (--s->busy == 0 && s->free_pending && s->links == 0)
		destroy(s);
}

static void
set_reason(struct store *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
set_reason(struct store *s, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(s->reason, sizeof(s->reason), fmt, ap);
	va_end(ap);
}

static struct timeval
ms_to_tv(int ms)
{
	struct timeval	 tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	return tv;
}

static int
command_timeout_ms(const struct store *s)
{
	return s->cfg->redis_timeout_ms > 0 ? s->cfg->redis_timeout_ms : 1000;
}

/*
 * A deadline just passed. The first time, re-arm it to run again right
 * after the loop's next poll: libevent runs the I/O callbacks that poll
 * activated before the timers that expired, so a reply waiting in the
 * socket (or arriving while an overlong turn ran) is read first and the
 * deadline is freed unfired. Only a Redis that still said nothing then
 * fails: a stalled one is detected one loop turn later than the deadline.
 * Returns true when the deadline was put off.
 */
static bool
deadline_grace(struct event *ev, bool *given)
{
	struct timeval	 now = { 0, 0 };

	if (*given)
		return false;
	*given = true;
	evtimer_add(ev, &now);
	return true;
}

/*
 * The read event of a link (in place of the libevent adapter's): replies
 * until the socket is empty, at most READS_PER_TURN reads of 16 KiB, so a
 * busy link is not held to 16 KiB per loop turn. Reads stop when the
 * context is no longer the live link: a dropped one is detached before it
 * is freed, so after that it must not be touched. enter() keeps the store
 * while its last context goes.
 */
#define READS_PER_TURN	64

static void
read_cb(evutil_socket_t fd, short what, void *arg)
{
	redisLibeventEvents	*e = arg;
	redisAsyncContext	*ac = e->context;
	struct store		*s = ac->data;
	int			 i, avail;

	(void)what;
	enter(s);
	for (i = 0; i < READS_PER_TURN; i++) {
		redisAsyncHandleRead(ac);
		if (s->ac != ac || ioctl(fd, FIONREAD, &avail) == -1 ||
		    avail <= 0)
			break;
	}
	leave(s);
}

/* xorshift64: only for jitter, so workers do not retry in lockstep. */
static uint64_t
rng_next(struct store *s)
{
	uint64_t	 x = s->rng;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	s->rng = x;
	return x;
}

/* The next wait: the current step minus up to 20 %, then double the step. */
static int
backoff_next(struct store *s)
{
	int	 step = s->backoff_ms;
	int	 jitter = step / 5;
	int	 max = s->sentinel != NULL ?
		    SENTINEL_BACKOFF_MAX_MS : BACKOFF_MAX_MS;

	s->backoff_ms = step * 2 > max ? max : step * 2;
	return step - (int)(rng_next(s) % (uint64_t)(jitter + 1));
}

/* The error text of a context that hiredis is dropping. */
static const char *
link_errstr(const redisAsyncContext *ac)
{
	if (ac->c.errstr[0] != '\0')
		return ac->c.errstr;
	return "connection lost";
}

static void
log_target(const struct store *s, char *dst, size_t dstlen)
{
	const struct redis_url	*u = &s->cfg->redis;
	uint16_t		 m_port;
	const char		*m_host;

	/* The logger quotes it. */
	if (u->kind == REDIS_UNIX)
		snprintf(dst, dstlen, "unix:%s", u->path);
	else if (s->sentinel != NULL) {
		m_host = sentinel_master(s->sentinel, &m_port);
		snprintf(dst, dstlen, "sentinel:%s@%s:%u", u->master_name,
		    m_host, (unsigned)m_port);
	} else
		snprintf(dst, dstlen, "%s:%u", u->host, (unsigned)u->port);
}

/*
 * Free a context we detached. A context that never connected gets no
 * disconnect callback, so its link is counted off here; a connected one is
 * counted off in disconnect_cb(), now or (inside one of its reply
 * callbacks) right after that callback returns.
 */
static void
free_link(struct store *s, redisAsyncContext *ac)
{
	bool	 connected = (ac->c.flags & REDIS_CONNECTED) != 0;

	redisAsyncFree(ac);
	if (!connected)
		s->links--;
}

/*
 * The link is gone or the attempt failed: detach the context (the caller
 * frees it, or hiredis does), record why, log, schedule the next attempt.
 * Logged as an outage (once per process) when the store was up, or when
 * its very first attempt failed; any other failed attempt is debug only.
 */
static void
go_down(struct store *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
go_down(struct store *s, const char *fmt, ...)
{
	struct timeval	 tv;
	va_list		 ap;
	const char	*q = s->reason;	/* the logger quotes it */
	bool		 was_up;
	int		 delay;

	s->ac = NULL;
	if (s->state == STORE_CLOSED)
		return;
	was_up = s->state == STORE_UP;
	if (was_up && s->channel == NULL)
		atomic_fetch_sub(&up_count, 1);
	metrics_store_state(s->metrics, false, false);
	s->state = STORE_DISCONNECTED;
	s->failed = true;
	evtimer_del(s->connect_ev);
	if (s->channel != NULL) {
		evtimer_del(s->probe_ev);
		evtimer_del(s->probe_deadline_ev);
		s->sub_pending = 0;
	}

	va_start(ap, fmt);
	vsnprintf(s->reason, sizeof(s->reason), fmt, ap);
	va_end(ap);

	delay = backoff_next(s);
	tv = ms_to_tv(delay);
	evtimer_add(s->retry_ev, &tv);

	if (s->channel != NULL)
		log_debug("event=store_subscriber_%s err=\"%s\" "
		    "retry_in_ms=%d", was_up ? "down" : "attempt_failed", q,
		    delay);
	else if ((was_up || (!s->ever_up && s->attempts == 1)) &&
	    !atomic_exchange(&reported_down, true))
		log_warnx("event=store_down err=\"%s\" retry_in_ms=%d",
		    q, delay);
	else
		log_debug("event=store_attempt_failed err=\"%s\" "
		    "retry_in_ms=%d", q, delay);
	if (was_up && s->state_cb != NULL)
		s->state_cb(s, s->state, s->state_arg);
}

static void
go_up(struct store *s)
{
	char	 target[300];
	int	 n;

	evtimer_del(s->connect_ev);
	s->state = STORE_UP;
	s->failed = false;
	s->backoff_ms = BACKOFF_MIN_MS;
	set_reason(s, "connected");
	if (s->ever_up)
		s->stats.reconnects++;
	metrics_store_state(s->metrics, true, s->ever_up);
	s->ever_up = true;

	log_target(s, target, sizeof(target));
	if (s->channel != NULL) {
		struct timeval	 tv = ms_to_tv(PROBE_INTERVAL_MS);

		evtimer_add(s->probe_ev, &tv);
		log_debug("event=store_subscriber_up redis=\"%s\"", target);
		goto notify;
	}
	n = atomic_fetch_add(&up_count, 1) + 1;
	if (!atomic_exchange(&ever_connected, true))
		log_info("event=store_connected redis=\"%s\" db=%d",
		    target, s->cfg->redis.db);
	if (n >= s->n_workers && atomic_exchange(&reported_down, false))
		log_info("event=store_up redis=\"%s\"", target);
	else
		log_debug("event=store_link_up redis=\"%s\"", target);
notify:
	if (s->state_cb != NULL)
		s->state_cb(s, STORE_UP, s->state_arg);
}

/*
 * Queue SUBSCRIBE channel on the live link: the first one of a link, or a
 * liveness probe. Its callback is hiredis's for good (sub_cb).
 */
static int
sub_send(struct store *s)
{
	const char	*argv[2] = { "SUBSCRIBE", s->channel };
	size_t		 lens[2] = { 9, strlen(s->channel) };

	if (redisAsyncCommandArgv(s->ac, sub_cb, s, 2, argv,
	    lens) != REDIS_OK)
		return -1;
	s->sub_pending++;
	return 0;
}

static bool
reply_is(const redisReply *r, const char *str)
{
	size_t	 len = strlen(str);

	return r->type == REDIS_REPLY_STRING && r->len == len &&
	    strncasecmp(r->str, str, len) == 0;
}

/*
 * Everything the subscription brings: the confirmation of each SUBSCRIBE
 * (the first makes the store up; later ones answer the probes), each
 * message, and NULL when hiredis drops the link.
 */
static void
sub_cb(redisAsyncContext *ac, void *r, void *privdata)
{
	struct store		*s = privdata;
	const redisReply	*reply = r;
	const redisReply	*kind, *payload;

	enter(s);
	if (ac != s->ac)
		goto out;		/* an abandoned link being freed */
	if (reply == NULL) {
		/* hiredis is dropping the link and frees it after us. */
		go_down(s, "connection lost: %s", link_errstr(ac));
		goto out;
	}
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 3 ||
	    reply->element[0]->type != REDIS_REPLY_STRING) {
		go_down(s, "subscribe: unexpected reply");
		free_link(s, ac);	/* deferred until we return */
		goto out;
	}
	kind = reply->element[0];
	payload = reply->element[2];
	if (reply_is(kind, "subscribe")) {
		if (s->sub_pending > 0)
			s->sub_pending--;
		if (s->sub_pending > 0)
			goto out;
		if (s->state == STORE_CONNECTING)
			go_up(s);
		else
			evtimer_del(s->probe_deadline_ev);
	} else if (reply_is(kind, "message")) {
		if (s->state == STORE_UP && payload->type == REDIS_REPLY_STRING)
			s->msg_cb(payload->str, payload->len, s->msg_arg);
	} else
		log_debug("event=store_subscriber_reply kind=\"%.*s\"",
		    kind->len > 32 ? 32 : (int)kind->len, kind->str);
out:
	leave(s);
}

/* Every PROBE_INTERVAL_MS while a subscriber is up: is Redis there? */
static void
probe_cb(evutil_socket_t fd, short what, void *arg)
{
	struct store		*s = arg;
	redisAsyncContext	*ac = s->ac;
	struct timeval		 tv;

	(void)fd;
	(void)what;
	enter(s);
	if (s->state != STORE_UP || ac == NULL)
		goto out;
	/* The last probe is still out: its deadline decides. */
	if (s->sub_pending == 0) {
		if (sub_send(s) == -1) {
			go_down(s, "probe: cannot queue command");
			free_link(s, ac);
			goto out;
		}
		tv = ms_to_tv(command_timeout_ms(s));
		s->probe_grace = false;
		evtimer_add(s->probe_deadline_ev, &tv);
	}
	tv = ms_to_tv(PROBE_INTERVAL_MS);
	evtimer_add(s->probe_ev, &tv);
out:
	leave(s);
}

/* A probe went unanswered: a stalled Redis. */
static void
probe_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct store		*s = arg;
	redisAsyncContext	*ac = s->ac;

	(void)fd;
	(void)what;
	if (s->state == STORE_UP && ac != NULL && s->sub_pending > 0 &&
	    deadline_grace(s->probe_deadline_ev, &s->probe_grace))
		return;
	enter(s);
	if (s->state == STORE_UP && ac != NULL && s->sub_pending > 0) {
		s->stats.timeouts++;
		go_down(s, "subscriber probe timed out");
		free_link(s, ac);
	}
	leave(s);
}

/*
 * Replies to AUTH / SELECT / PING, in the order they were sent. The last
 * one makes the store up; an error reply ends the attempt.
 */
static void
handshake_cb(redisAsyncContext *ac, void *r, void *privdata)
{
	struct store	*s = privdata;
	redisReply	*reply = r;
	const char	*step;

	enter(s);
	/* An abandoned link being freed: nothing to do. */
	if (ac != s->ac || s->state != STORE_CONNECTING ||
	    s->hs_done >= s->hs_sent)
		goto out;
	step = s->hs_step[s->hs_done++];
	if (reply == NULL) {
		/* hiredis is dropping the link and frees it after us. */
		go_down(s, "%s: %s", step, link_errstr(ac));
		goto out;
	}
	if (reply->type == REDIS_REPLY_ERROR) {
		go_down(s, "%s: %.*s", step, (int)reply->len, reply->str);
		/* Inside a reply callback: hiredis frees once we return. */
		free_link(s, ac);
		goto out;
	}
	/* A stale sentinel answer must not send our writes to a replica. */
	if (strcmp(step, "role") == 0 && !sentinel_role_is_master(reply)) {
		uint16_t	 m_port;
		const char	*m_host = sentinel_master(s->sentinel, &m_port);

		go_down(s, "role: %s:%u is not a master", m_host,
		    (unsigned)m_port);
		free_link(s, ac);
		goto out;
	}
	if (s->hs_done < s->hs_sent)
		goto out;
	if (s->channel == NULL) {
		go_up(s);
		goto out;
	}
	/* A subscriber is up once Redis confirms the subscription. */
	s->sub_pending = 0;
	if (sub_send(s) == -1) {
		go_down(s, "subscribe: cannot queue command");
		free_link(s, ac);
	}
out:
	leave(s);
}

static int
handshake_send(struct store *s, const char *step, int argc,
    const char **argv)
{
	if (redisAsyncCommandArgv(s->ac, handshake_cb, s, argc, argv,
	    NULL) != REDIS_OK)
		return -1;
	s->hs_step[s->hs_sent++] = step;
	return 0;
}

/*
 * The TCP / unix connect finished. On failure hiredis frees the context as
 * soon as we return. On success queue the handshake; the context must not
 * be freed from here (hiredis goes on using it), so a failure to queue is
 * left to the connect deadline.
 */
static void
connect_cb(const redisAsyncContext *cac, int status)
{
	struct store		*s = cac->data;
	const struct redis_url	*u = &s->cfg->redis;
	const char		*argv[3];
	char			 db[16];
	int			 argc;

	enter(s);
	if (cac != s->ac)
		goto out;
	if (status != REDIS_OK) {
		s->links--;
		go_down(s, "connect: %s", link_errstr(cac));
		goto out;
	}
	s->hs_sent = s->hs_done = 0;
	if (u->password != NULL) {
		argc = 0;
		argv[argc++] = "AUTH";
		if (u->user != NULL)
			argv[argc++] = u->user;
		argv[argc++] = u->password;
		if (handshake_send(s, "auth", argc, argv) == -1)
			goto fail;
	}
	if (u->db != 0) {
		snprintf(db, sizeof(db), "%d", u->db);
		argv[0] = "SELECT";
		argv[1] = db;
		if (handshake_send(s, "select", 2, argv) == -1)
			goto fail;
	}
	/* In sentinel mode ROLE is the ping, and checks what we reached. */
	if (s->sentinel != NULL) {
		argv[0] = "ROLE";
		if (handshake_send(s, "role", 1, argv) == -1)
			goto fail;
	} else {
		argv[0] = "PING";
		if (handshake_send(s, "ping", 1, argv) == -1)
			goto fail;
	}
	goto out;
fail:
	set_reason(s, "handshake: cannot queue command");
out:
	leave(s);
}

/*
 * Runs last for a context that had connected, whoever started the drop.
 * When it is still the live link, hiredis dropped it with no command
 * pending (otherwise cmd_cb() would have detached it already).
 */
static void
disconnect_cb(const redisAsyncContext *cac, int status)
{
	struct store	*s = cac->data;

	(void)status;
	enter(s);
	s->links--;
	if (cac == s->ac)
		go_down(s, "connection lost: %s", link_errstr(cac));
	leave(s);
}

/* Connect + handshake took too long (e.g. a SIGSTOPped Redis). */
static void
connect_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct store		*s = arg;
	redisAsyncContext	*ac = s->ac;

	(void)fd;
	(void)what;
	if (s->state == STORE_CONNECTING && ac != NULL &&
	    deadline_grace(s->connect_ev, &s->connect_grace))
		return;
	enter(s);
	if (s->state == STORE_CONNECTING && ac != NULL) {
		if (ac->c.flags & REDIS_CONNECTED)
			go_down(s, "handshake timed out");
		else
			go_down(s, "connect: timed out");
		free_link(s, ac);
	}
	leave(s);
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct store	*s = arg;

	(void)fd;
	(void)what;
	enter(s);
	if (s->state == STORE_DISCONNECTED)
		connect_attempt(s);
	leave(s);
}

/*
 * ---- Sentinel mode (sentinel.h) ----
 *
 * The sentinel asks the master link's state, and tells where the master
 * is. Both run from the sentinel's callbacks (or, SENTINEL_NONE, from
 * inside sentinel_discover() in connect_attempt()).
 */
static enum sentinel_link
master_link(void *arg)
{
	const struct store	*s = arg;

	if (s->state == STORE_UP)
		return SENTINEL_LINK_UP;
	if (s->state == STORE_CONNECTING)
		return s->ac == NULL ? SENTINEL_LINK_WAITING :
		    SENTINEL_LINK_CONNECTING;
	return SENTINEL_LINK_IDLE;
}

/* Switch the master link to the announced master now. */
static void
follow_master(struct store *s, const char *why)
{
	redisAsyncContext	*ac = s->ac;
	uint16_t		 m_port;
	const char		*m_host = sentinel_master(s->sentinel, &m_port);

	if (s->state == STORE_UP || s->state == STORE_CONNECTING) {
		go_down(s, "%s: master now %s:%u", why, m_host,
		    (unsigned)m_port);
		if (ac != NULL)
			free_link(s, ac);
	}
	/* go_down() ran the state callback, which may have closed us. */
	if (s->state != STORE_DISCONNECTED)
		return;
	s->m_fresh = true;
	evtimer_del(s->retry_ev);
	connect_attempt(s);
}

static void
master_event(enum sentinel_event event, const char *why, void *arg)
{
	struct store	*s = arg;

	enter(s);
	switch (event) {
	case SENTINEL_FOUND:
		master_connect(s);
		break;
	case SENTINEL_NONE:
		go_down(s, "sentinel: no sentinel answered (last: %s)", why);
		break;
	case SENTINEL_MOVED:
		follow_master(s, why);
		break;
	}
	leave(s);
}

static void
connect_attempt(struct store *s)
{
	s->attempts++;
	s->state = STORE_CONNECTING;
	/* While retrying, the reason keeps saying why the last one failed. */
	if (!s->failed)
		set_reason(s, "connecting");

	/*
	 * In sentinel mode every attempt asks the sentinels first, unless a
	 * +switch-master just told us where the master is.
	 */
	if (s->sentinel != NULL && !s->m_fresh) {
		sentinel_discover(s->sentinel);
		return;
	}
	master_connect(s);
}

/* Open the link to Redis (or, in sentinel mode, to the master found). */
static void
master_connect(struct store *s)
{
	const struct redis_url	*u = &s->cfg->redis;
	redisAsyncContext	*ac;
	redisLibeventEvents	*ev;
	struct timeval		 tv;
	char			 err[128];
	int			 ms;

	s->m_fresh = false;
	if (u->kind == REDIS_UNIX)
		ac = redisAsyncConnectUnix(u->path);
	else if (s->sentinel != NULL) {
		uint16_t	 m_port;
		const char	*m_host = sentinel_master(s->sentinel, &m_port);

		ac = redisAsyncConnect(m_host, m_port);
	} else
		ac = redisAsyncConnect(u->host, u->port);
	if (ac == NULL) {
		go_down(s, "connect: out of memory");
		return;
	}
	if (ac->err != 0) {
		snprintf(err, sizeof(err), "%s", link_errstr(ac));
		redisAsyncFree(ac);
		go_down(s, "connect: %s", err);
		return;
	}
	if (redisLibeventAttach(ac, s->base) != REDIS_OK) {
		redisAsyncFree(ac);
		go_down(s, "connect: cannot attach to the event loop");
		return;
	}
	ac->data = s;
	ev = ac->ev.data;
	event_del(ev->rev);
	event_assign(ev->rev, s->base, ac->c.fd, EV_READ, read_cb, ev);
	event_add(ev->rev, NULL);
	redisAsyncSetConnectCallback(ac, connect_cb);
	redisAsyncSetDisconnectCallback(ac, disconnect_cb);
	s->ac = ac;
	s->links++;
	s->hs_sent = s->hs_done = 0;

	ms = command_timeout_ms(s);
	if (ms < CONNECT_MIN_MS)
		ms = CONNECT_MIN_MS;
	tv = ms_to_tv(ms);
	s->connect_grace = false;
	evtimer_add(s->connect_ev, &tv);
}

static struct store *
store_alloc(struct event_base *base, const struct config *cfg, int n_workers)
{
	struct store	*s;

	s = xcalloc(1, sizeof(*s));
	s->base = base;
	s->cfg = cfg;
	s->n_workers = n_workers > 0 ? n_workers : 1;
	s->state = STORE_DISCONNECTED;
	s->backoff_ms = BACKOFF_MIN_MS;
	s->rng = (now_usec() ^ (uint64_t)(uintptr_t)s) | 1;
	s->retry_ev = evtimer_new(base, retry_cb, s);
	s->connect_ev = evtimer_new(base, connect_deadline_cb, s);
	if (s->retry_ev == NULL || s->connect_ev == NULL)
		fatalx(1, "store: out of memory");
	if (cfg->redis.kind == REDIS_SENTINEL)
		s->sentinel = sentinel_new(base, &cfg->redis,
		    command_timeout_ms(s), master_link, master_event, s);
	set_reason(s, "connecting");
	return s;
}

struct store *
store_new(struct event_base *base, const struct config *cfg, int n_workers)
{
	struct store	*s = store_alloc(base, cfg, n_workers);

	enter(s);
	connect_attempt(s);
	leave(s);
	return s;
}

struct store *
store_new_subscriber(struct event_base *base, const struct config *cfg,
    int n_workers, const char *channel, store_msg_cb msg_cb, void *arg)
{
	struct store	*s = store_alloc(base, cfg, n_workers);

	s->channel = xstrdup(channel);
	s->msg_cb = msg_cb;
	s->msg_arg = arg;
	s->probe_ev = evtimer_new(base, probe_cb, s);
	s->probe_deadline_ev = evtimer_new(base, probe_deadline_cb, s);
	if (s->probe_ev == NULL || s->probe_deadline_ev == NULL)
		fatalx(1, "store: out of memory");

	enter(s);
	connect_attempt(s);
	leave(s);
	return s;
}

void
store_set_state_cb(struct store *s, store_state_cb cb, void *arg)
{
	s->state_cb = cb;
	s->state_arg = arg;
}

static void
destroy(struct store *s)
{
	event_free(s->retry_ev);
	event_free(s->connect_ev);
	if (s->probe_ev != NULL)
		event_free(s->probe_ev);
	if (s->probe_deadline_ev != NULL)
		event_free(s->probe_deadline_ev);
	sentinel_free(s->sentinel);
	free(s->channel);
	free(s);
}

void
store_close(struct store *s)
{
	redisAsyncContext	*ac;

	if (s == NULL || s->state == STORE_CLOSED)
		return;
	enter(s);
	if (s->state == STORE_UP && s->channel == NULL)
		atomic_fetch_sub(&up_count, 1);
	metrics_store_state(s->metrics, false, false);
	s->state = STORE_CLOSED;
	set_reason(s, "closed");
	evtimer_del(s->retry_ev);
	evtimer_del(s->connect_ev);
	if (s->channel != NULL) {
		evtimer_del(s->probe_ev);
		evtimer_del(s->probe_deadline_ev);
	}
	if ((ac = s->ac) != NULL) {
		s->ac = NULL;
		/* Pending commands get STORE_ERR_DOWN from in here. */
		free_link(s, ac);
	}
	sentinel_close(s->sentinel);
	leave(s);
}

void
store_free(struct store *s)
{
	if (s == NULL)
		return;
	enter(s);
	store_close(s);
	s->free_pending = true;
	leave(s);
}

static void
cmd_free(struct cmd *cmd)
{
	event_free(cmd->timer);
	free(cmd);
}

/*
 * hiredis runs this exactly once per command: with the reply, or with NULL
 * when the context is freed. If the deadline already answered the caller,
 * only the struct is left to free.
 */
static void
cmd_cb(redisAsyncContext *ac, void *r, void *privdata)
{
	struct cmd	*cmd = privdata;
	struct store	*s = cmd->store;
	store_cb	 cb = cmd->cb;
	void		*arg = cmd->arg;
	uint64_t	 start_usec = cmd->start_usec;
	bool		 done = cmd->done;

	enter(s);
	cmd_free(cmd);
	if (done)
		goto out;
	if (r == NULL) {
		/* First news of a drop hiredis started: we go down first. */
		if (ac == s->ac)
			go_down(s, "connection lost: %s", link_errstr(ac));
		cb(STORE_ERR_DOWN, NULL, arg);
		goto out;
	}
	/*
	 * A write to a demoted master: whoever we talk to is a replica now.
	 * Drop the link (after this callback) and, in sentinel mode, ask
	 * the sentinels again (any mode: a replica takes no writes).
	 */
	if (ac == s->ac && sentinel_reply_is_demotion(r)) {
		go_down(s, "master demoted: READONLY");
		free_link(s, ac);
	}
	metrics_store_command(s->metrics, now_usec() - start_usec);
	cb(STORE_OK, r, arg);
out:
	leave(s);
}

/*
 * A command's deadline passed. Answer it, then drop the link: everything
 * queued behind it is stuck behind the same stalled Redis, and fails now
 * with STORE_ERR_DOWN instead of each waiting for its own deadline. This is
 * a timer callback, not a hiredis one, so the free is immediate.
 */
static void
cmd_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cmd		*cmd = arg;
	struct store		*s = cmd->store;
	redisAsyncContext	*ac = s->ac;

	(void)fd;
	(void)what;
	if (s->ac != NULL && deadline_grace(cmd->timer, &cmd->grace))
		return;
	enter(s);
	cmd->done = true;
	s->stats.timeouts++;
	metrics_store_timeout(s->metrics);
	if (ac != NULL)
		go_down(s, "command timed out");
	cmd->cb(STORE_ERR_TIMEOUT, NULL, cmd->arg);
	/* cmd is freed in here, by its cmd_cb(). */
	if (ac != NULL)
		free_link(s, ac);
	leave(s);
}

static int
command_queue(struct store *s, int deadline_ms, store_cb cb, void *arg,
    int argc, const char **argv, const size_t *argvlen)
{
	struct cmd	*cmd;
	struct timeval	 tv;

	if (s->state != STORE_UP || s->ac == NULL || s->channel != NULL)
		return -1;
	cmd = xcalloc(1, sizeof(*cmd));
	cmd->store = s;
	cmd->cb = cb;
	cmd->arg = arg;
	cmd->start_usec = now_usec();
	if ((cmd->timer = evtimer_new(s->base, cmd_deadline_cb, cmd)) == NULL) {
		free(cmd);
		return -1;
	}
	if (redisAsyncCommandArgv(s->ac, cmd_cb, cmd, argc, argv,
	    argvlen) != REDIS_OK) {
		cmd_free(cmd);
		return -1;
	}
	tv = ms_to_tv(deadline_ms);
	evtimer_add(cmd->timer, &tv);
	s->stats.commands++;
	return 0;
}

int
store_command_argv(struct store *s, store_cb cb, void *arg, int argc,
    const char **argv, const size_t *argvlen)
{
	return command_queue(s, command_timeout_ms(s), cb, arg, argc, argv,
	    argvlen);
}

int
store_wait_replica(struct store *s, store_cb cb, void *arg)
{
	const char	*argv[3];
	char		 ms[16];
	int		 wait_ms = command_timeout_ms(s) / 2;

	if (wait_ms < 1)
		wait_ms = 1;
	snprintf(ms, sizeof(ms), "%d", wait_ms);
	argv[0] = "WAIT";
	argv[1] = "1";
	argv[2] = ms;
	/* Redis answers WAIT itself once wait_ms passed: room for that. */
	return command_queue(s, wait_ms + command_timeout_ms(s), cb, arg, 3,
	    argv, NULL);
}

bool
store_is_sentinel(const struct store *s)
{
	return s->cfg->redis.kind == REDIS_SENTINEL;
}

enum store_state
store_get_state(const struct store *s)
{
	return s->state;
}

bool
store_is_up(const struct store *s)
{
	return s->state == STORE_UP;
}

const char *
store_reason(const struct store *s)
{
	return s->reason;
}

void
store_set_metrics(struct store *s, struct metrics_shard *m)
{
	s->metrics = m;
	metrics_store_state(m, s->state == STORE_UP, false);
}

void
store_get_stats(const struct store *s, struct store_stats *out)
{
	*out = s->stats;
	/* A sentinel's query deadline counts as one of the store's. */
	if (s->sentinel != NULL)
		out->timeouts += sentinel_timeouts(s->sentinel);
}
