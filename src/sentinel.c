/*
 * sentinel: finds a store's master through Redis Sentinel and watches for
 * its failovers (the protocol is described in sentinel.h). It keeps at
 * most one hiredis link, to one sentinel at a time, on the store's loop.
 *
 * It leaves the master link to the store: connecting, the handshake, the
 * backoff between attempts and the state callbacks are store.c's. It only
 * says where the master is (SENTINEL_FOUND, SENTINEL_MOVED) or that nobody
 * knows (SENTINEL_NONE), asking the store's link state (link_fn) to decide
 * whether anyone is waiting for that.
 *
 * Invariants:
 * - sn->sac is the live sentinel link, or NULL. It is detached (set to
 *   NULL) before anything that may run its callbacks, so a callback that
 *   finds ac != sn->sac knows its link is being dropped and does nothing
 *   but its own bookkeeping; after sentinel_close() no event is sent.
 * - sn->links counts hiredis contexts that still point at the sentinel,
 *   and sn->busy its frames on the stack. It is freed only when both are
 *   0, so sentinel_free() may be called from inside an event callback.
 * - An event is the last thing a function does with the sentinel: the
 *   store may close or free it from there.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>

#include "config.h"
#include "log.h"
#include "sentinel.h"
#include "util.h"

#define WATCH_BACKOFF_MIN_MS	100

enum sentinel_state {
	SENTINEL_IDLE = 0,	/* no link */
	SENTINEL_QUERY,		/* connect, AUTH, get-master-addr-by-name */
	SENTINEL_WATCH,		/* subscribed to +switch-master */
};

struct sentinel {
	struct event_base	*base;
	const struct redis_url	*url;
	int			 timeout_ms;
	sentinel_link_fn	 link_fn;
	sentinel_event_cb	 event_cb;
	void			*arg;

	redisAsyncContext	*sac;		/* sentinel link or NULL */
	enum sentinel_state	 state;
	bool			 rewatch;	/* query only to watch again */
	size_t			 idx;		/* the sentinel asked last */
	size_t			 tried;		/* failed in this round */
	int			 backoff_ms;
	struct event		*deadline_ev;	/* connect + query deadline */
	struct event		*retry_ev;	/* watch again after a loss */
	char			 m_host[64];	/* the master, as announced */
	uint16_t		 m_port;
	uint64_t		 timeouts;

	int			 links;		/* contexts pointing at us */
	int			 busy;		/* our frames on the stack */
	bool			 free_pending;
};

static void	 ask(struct sentinel *);

static void
destroy(struct sentinel *sn)
{
	event_free(sn->deadline_ev);
	event_free(sn->retry_ev);
	free(sn);
}

static void
enter(struct sentinel *sn)
{
	sn->busy++;
}

/* Leave a frame; the last one out frees what sentinel_free() left. */
static void
leave(struct sentinel *sn)
{
	if (--sn->busy == 0 && sn->free_pending && sn->links == 0)
		destroy(sn);
}

static struct timeval
ms_to_tv(int ms)
{
	struct timeval	 tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	return tv;
}

/* The error text of a context that hiredis is dropping. */
static const char *
link_errstr(const redisAsyncContext *ac)
{
	if (ac->c.errstr[0] != '\0')
		return ac->c.errstr;
	return "connection lost";
}

static bool
reply_is(const redisReply *r, const char *str)
{
	size_t	 len = strlen(str);

	return r->type == REDIS_REPLY_STRING && r->len == len &&
	    strncasecmp(r->str, str, len) == 0;
}

/*
 * Detach and free the sentinel link, if any. A context that never
 * connected gets no disconnect callback, so it is counted off here.
 */
static void
drop(struct sentinel *sn)
{
	redisAsyncContext	*sac = sn->sac;
	bool			 connected;

	sn->sac = NULL;
	sn->state = SENTINEL_IDLE;
	evtimer_del(sn->deadline_ev);
	if (sac == NULL)
		return;
	connected = (sac->c.flags & REDIS_CONNECTED) != 0;
	redisAsyncFree(sac);
	if (!connected)
		sn->links--;
}

/* Tell the store the master moved to host:port now. */
static void
announce(struct sentinel *sn, const char *host, uint16_t port,
    const char *why)
{
	snprintf(sn->m_host, sizeof(sn->m_host), "%s", host);
	sn->m_port = port;
	log_info("event=store_master_switch why=%s master=\"%s:%u\"", why,
	    sn->m_host, (unsigned)port);
	sn->event_cb(SENTINEL_MOVED, why, sn->arg);
}

/*
 * The sentinel asked last failed: ask the next one, or, once all failed
 * in this round, give up until the store's next attempt (or, watching
 * again, back off and try again).
 */
static void
ask_next(struct sentinel *sn, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
ask_next(struct sentinel *sn, const char *fmt, ...)
{
	const struct redis_url	*u = sn->url;
	struct timeval		 tv;
	va_list			 ap;
	char			 why[200];

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	log_debug("event=store_sentinel_failed sentinel=\"%s:%u\" err=\"%s\"",
	    u->sentinels[sn->idx].host,
	    (unsigned)u->sentinels[sn->idx].port, why);
	drop(sn);
	sn->idx = (sn->idx + 1) % u->n_sentinels;
	if (++sn->tried < u->n_sentinels) {
		ask(sn);
		return;
	}
	if (!sn->rewatch) {
		if (sn->link_fn(sn->arg) == SENTINEL_LINK_WAITING)
			sn->event_cb(SENTINEL_NONE, why, sn->arg);
		return;
	}
	/* Watching again failed everywhere: back off, then try again. */
	tv = ms_to_tv(sn->backoff_ms);
	sn->backoff_ms = sn->backoff_ms * 2 > SENTINEL_BACKOFF_MAX_MS ?
	    SENTINEL_BACKOFF_MAX_MS : sn->backoff_ms * 2;
	evtimer_add(sn->retry_ev, &tv);
}

/* Everything the watch brings: confirmations, messages, NULL at the end. */
static void
watch_cb(redisAsyncContext *ac, void *r, void *privdata)
{
	struct sentinel		*sn = privdata;
	const redisReply	*reply = r, *kind, *payload;
	const char		*name = sn->url->master_name;
	char			 msg[300], *f[5], *save, *p;
	long			 port;
	int			 n;

	enter(sn);
	if (ac != sn->sac)
		goto out;
	if (reply == NULL) {
		/* hiredis drops the link; the disconnect callback follows. */
		goto out;
	}
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 3 ||
	    (kind = reply->element[0])->type != REDIS_REPLY_STRING ||
	    !reply_is(kind, "message"))
		goto out;
	payload = reply->element[2];
	if (payload->type != REDIS_REPLY_STRING ||
	    payload->len >= sizeof(msg))
		goto out;
	/* "name oldip oldport newip newport" */
	memcpy(msg, payload->str, payload->len);
	msg[payload->len] = '\0';
	for (n = 0, p = strtok_r(msg, " ", &save); p != NULL && n < 5;
	    p = strtok_r(NULL, " ", &save))
		f[n++] = p;
	if (n != 5 || strcmp(f[0], name) != 0)
		goto out;
	port = strtol(f[4], &p, 10);
	if (*p != '\0' || port < 1 || port > 65535 ||
	    strlen(f[3]) >= sizeof(sn->m_host))
		goto out;
	announce(sn, f[3], (uint16_t)port, "switch-master");
out:
	leave(sn);
}

static void
auth_cb(redisAsyncContext *ac, void *r, void *privdata)
{
	struct sentinel		*sn = privdata;
	const redisReply	*reply = r;

	enter(sn);
	if (ac == sn->sac && reply != NULL && reply->type == REDIS_REPLY_ERROR)
		ask_next(sn, "auth: %.*s", (int)reply->len, reply->str);
	leave(sn);
}

/* The answer to SENTINEL get-master-addr-by-name: [ip, port] or nil. */
static void
query_cb(redisAsyncContext *ac, void *r, void *privdata)
{
	struct sentinel		*sn = privdata;
	const redisReply	*reply = r;
	const char		*argv[2] = { "SUBSCRIBE", "+switch-master" };
	char			 host[64], buf[8];
	long			 port;
	char			*end;
	bool			 same;

	enter(sn);
	if (ac != sn->sac || sn->state != SENTINEL_QUERY)
		goto out;
	if (reply == NULL)
		goto out;	/* the disconnect callback moves on */
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
	    reply->element[0]->type != REDIS_REPLY_STRING ||
	    reply->element[1]->type != REDIS_REPLY_STRING ||
	    reply->element[0]->len == 0 ||
	    reply->element[0]->len >= sizeof(host) ||
	    reply->element[1]->len == 0 ||
	    reply->element[1]->len >= sizeof(buf)) {
		ask_next(sn, "master unknown to this sentinel");
		goto out;
	}
	memcpy(host, reply->element[0]->str, reply->element[0]->len);
	host[reply->element[0]->len] = '\0';
	memcpy(buf, reply->element[1]->str, reply->element[1]->len);
	buf[reply->element[1]->len] = '\0';
	port = strtol(buf, &end, 10);
	if (*end != '\0' || port < 1 || port > 65535) {
		ask_next(sn, "bad master address");
		goto out;
	}
	evtimer_del(sn->deadline_ev);
	if (redisAsyncCommandArgv(ac, watch_cb, sn, 2, argv,
	    NULL) != REDIS_OK) {
		ask_next(sn, "subscribe: cannot queue command");
		goto out;
	}
	sn->state = SENTINEL_WATCH;
	sn->backoff_ms = WATCH_BACKOFF_MIN_MS;
	same = strcmp(host, sn->m_host) == 0 && port == sn->m_port;
	if (!sn->rewatch) {
		/* An attempt waits for this answer (sentinel_discover()). */
		snprintf(sn->m_host, sizeof(sn->m_host), "%s", host);
		sn->m_port = (uint16_t)port;
		if (sn->link_fn(sn->arg) == SENTINEL_LINK_WAITING)
			sn->event_cb(SENTINEL_FOUND, NULL, sn->arg);
	} else if (!same && sn->link_fn(sn->arg) != SENTINEL_LINK_IDLE)
		announce(sn, host, (uint16_t)port, "sentinel");
out:
	leave(sn);
}

static void
connect_cb(const redisAsyncContext *cac, int status)
{
	struct sentinel		*sn = cac->data;
	const struct redis_url	*u = sn->url;
	const char		*argv[3];
	redisAsyncContext	*sac = sn->sac;

	enter(sn);
	if (cac != sac)
		goto out;
	if (status != REDIS_OK) {
		/* hiredis frees the context after us. */
		sn->links--;
		sn->sac = NULL;
		ask_next(sn, "connect: %s", link_errstr(cac));
		goto out;
	}
	/* Failures to queue are left to the deadline (no free from here). */
	if (u->sentinel_password != NULL) {
		argv[0] = "AUTH";
		argv[1] = u->sentinel_password;
		(void)redisAsyncCommandArgv(sac, auth_cb, sn, 2, argv, NULL);
	}
	argv[0] = "SENTINEL";
	argv[1] = "get-master-addr-by-name";
	argv[2] = u->master_name;
	(void)redisAsyncCommandArgv(sac, query_cb, sn, 3, argv, NULL);
out:
	leave(sn);
}

static void
disconnect_cb(const redisAsyncContext *cac, int status)
{
	struct sentinel	*sn = cac->data;
	struct timeval	 tv;

	(void)status;
	enter(sn);
	sn->links--;
	if (cac != sn->sac)
		goto out;
	sn->sac = NULL;
	if (sn->state == SENTINEL_QUERY) {
		ask_next(sn, "connection lost: %s", link_errstr(cac));
		goto out;
	}
	/* The watch is gone: watch again, from the next sentinel. */
	sn->state = SENTINEL_IDLE;
	log_debug("event=store_sentinel_lost err=\"%s\"", link_errstr(cac));
	sn->idx = (sn->idx + 1) % sn->url->n_sentinels;
	tv = ms_to_tv(sn->backoff_ms);
	evtimer_add(sn->retry_ev, &tv);
out:
	leave(sn);
}

static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sentinel	*sn = arg;

	(void)fd;
	(void)what;
	enter(sn);
	if (sn->sac != NULL && sn->state == SENTINEL_QUERY) {
		sn->timeouts++;
		ask_next(sn, "timed out");
	}
	leave(sn);
}

/* Connect to sentinel idx and ask it; the callbacks take it from here. */
static void
ask(struct sentinel *sn)
{
	const struct redis_hostport	*h = &sn->url->sentinels[sn->idx];
	redisAsyncContext		*sac;
	struct timeval			 tv;

	sac = redisAsyncConnect(h->host, h->port);
	if (sac == NULL) {
		ask_next(sn, "connect: out of memory");
		return;
	}
	if (sac->err != 0 || redisLibeventAttach(sac, sn->base) != REDIS_OK) {
		char	 err[128];

		snprintf(err, sizeof(err), "%s", link_errstr(sac));
		redisAsyncFree(sac);
		ask_next(sn, "connect: %s", err);
		return;
	}
	sac->data = sn;
	redisAsyncSetConnectCallback(sac, connect_cb);
	redisAsyncSetDisconnectCallback(sac, disconnect_cb);
	sn->sac = sac;
	sn->links++;
	sn->state = SENTINEL_QUERY;
	tv = ms_to_tv(sn->timeout_ms);
	evtimer_add(sn->deadline_ev, &tv);
}

/*
 * Start a round of discovery from the sentinel that answered last. With
 * rewatch, the master link is left alone unless the answer differs.
 */
static void
discover_start(struct sentinel *sn, bool rewatch)
{
	drop(sn);
	evtimer_del(sn->retry_ev);
	sn->rewatch = rewatch;
	sn->tried = 0;
	ask(sn);
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sentinel		*sn = arg;
	enum sentinel_link	 link;

	(void)fd;
	(void)what;
	enter(sn);
	link = sn->link_fn(sn->arg);
	/* Only a link that is up needs a watch of its own making. */
	if (link == SENTINEL_LINK_UP && sn->sac == NULL)
		discover_start(sn, true);
	else if ((link == SENTINEL_LINK_WAITING ||
	    link == SENTINEL_LINK_CONNECTING) && sn->sac == NULL) {
		/*
		 * Connecting to an announced master (SENTINEL_MOVED, no
		 * discovery to bring a watch): look again once it is up.
		 */
		struct timeval	 tv = ms_to_tv(sn->backoff_ms);

		evtimer_add(sn->retry_ev, &tv);
	}
	leave(sn);
}

struct sentinel *
sentinel_new(struct event_base *base, const struct redis_url *url,
    int timeout_ms, sentinel_link_fn link_fn, sentinel_event_cb event_cb,
    void *arg)
{
	struct sentinel	*sn;

	sn = xcalloc(1, sizeof(*sn));
	sn->base = base;
	sn->url = url;
	sn->timeout_ms = timeout_ms;
	sn->link_fn = link_fn;
	sn->event_cb = event_cb;
	sn->arg = arg;
	sn->backoff_ms = WATCH_BACKOFF_MIN_MS;
	sn->deadline_ev = evtimer_new(base, deadline_cb, sn);
	sn->retry_ev = evtimer_new(base, retry_cb, sn);
	if (sn->deadline_ev == NULL || sn->retry_ev == NULL)
		fatalx(1, "store: out of memory");
	return sn;
}

void
sentinel_discover(struct sentinel *sn)
{
	enter(sn);
	discover_start(sn, false);
	leave(sn);
}

const char *
sentinel_master(const struct sentinel *sn, uint16_t *port)
{
	*port = sn->m_port;
	return sn->m_host;
}

void
sentinel_close(struct sentinel *sn)
{
	if (sn == NULL)
		return;
	enter(sn);
	evtimer_del(sn->retry_ev);
	drop(sn);
	leave(sn);
}

void
sentinel_free(struct sentinel *sn)
{
	if (sn == NULL)
		return;
	enter(sn);
	sentinel_close(sn);
	sn->free_pending = true;
	leave(sn);
}

uint64_t
sentinel_timeouts(const struct sentinel *sn)
{
	return sn->timeouts;
}

bool
sentinel_reply_is_demotion(const struct redisReply *r)
{
	return r->type == REDIS_REPLY_ERROR && r->len >= 8 &&
	    strncmp(r->str, "READONLY", 8) == 0;
}

bool
sentinel_role_is_master(const struct redisReply *r)
{
	return r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
	    reply_is(r->element[0], "master");
}
