/*
 * conn: the connection table and the life of one connection, on the
 * worker's own loop. What it leaves to others: building requests
 * (request.c, told through conn_request_* and the table's gone callback),
 * answering them (dispatch.c refuses a request over the cap or with a NUL
 * byte; the router and the handlers answer the rest), owning the TLS
 * context and the evhttp (worker.c).
 *
 * Catching a connection. evhttp has no accept hook in libevent 2.1, so a
 * connection is caught at the one place it shows itself, the bufferevent
 * callback (bevcb), which runs inside evhttp's accept handler just before
 * evhttp builds its evhttp_connection around our bufferevent. There we
 * count the connection, take a reference on the bufferevent and activate
 * the connection's timer; its first run (still within the same loop pass,
 * before any byte can be read) "attaches": it finds the evhttp_connection
 * (the bufferevent's callback argument), registers our close callback on
 * it, enters it in the table and starts the request deadline. If evhttp
 * dropped the connection in between, the bufferevent's callbacks are
 * gone, which we see and count.
 *
 * Request deadline. evhttp's own timeout is an inactivity timer, so a
 * client sending a byte a second could hold a connection for ever. Each
 * connection has a timer that runs from the first byte of a request (from
 * accept, for the first request, so the TLS handshake counts) until evhttp
 * has the request whole; if it fires, the connection is closed. Between
 * requests the same timer runs --idle-timeout from the end of the last
 * reply, and is not reset by bytes that do not complete a TLS record:
 * evhttp's own timeout (also --idle-timeout) counts raw socket reads, so a
 * client trickling one TLS record a byte at a time would reset it for
 * ever. The timers use common timeout queues, so arming and disarming is
 * O(1).
 *
 * Connection cap. The process-wide open-connection count of the table's
 * listener is an atomic, touched at accept and close only. A connection
 * accepted above the cap (--max-connections for the public listener)
 * gets 503 on its first request and is closed.
 *
 * Invariants: a struct conn is in its table from attach until evhttp
 * closes the connection (conn_closed), and is freed exactly once, by
 * conn_free(), which gives back its place in the open-connection count.
 * `current` is set only between conn_request_started() and
 * conn_request_finished().
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <event2/http.h>

#include "conn.h"
#include "log.h"
#include "tls.h"
#include "util.h"

enum conn_state {
	CONN_NEW = 0,		/* accepted, not yet attached */
	CONN_READING,		/* a request is arriving; deadline armed */
	CONN_HANDLING,		/* request whole; a handler has it */
	CONN_IDLE,		/* keep-alive, between requests */
};

struct conn {
	struct conn_table		*table;
	struct bufferevent		*bev;
	struct evhttp_connection	*evcon;
	struct evbuffer_cb_entry	*input_cb;
	struct event			 timer;
	enum conn_state			 state;
	bool				 over_cap;
	bool				 broken;	/* no TLS: close at once */
	bool				 saw_nul;	/* a NUL byte arrived */
	struct request			*current;
	struct conn			*next;		/* table chain */
};

/* ---- evcon -> conn (per worker, so no lock) ---- */

static size_t
map_slot(const struct conn_table *m, const void *key)
{
	uintptr_t	 h = (uintptr_t)key;

	h ^= h >> 17;
	h *= (uintptr_t)0x9e3779b97f4a7c15ULL;
	h ^= h >> 29;
	return (size_t)h & (m->nbuckets - 1);
}

static void
map_grow(struct conn_table *m)
{
	struct conn	**old = m->buckets;
	size_t		  oldn = m->nbuckets, i;

	m->nbuckets = oldn ? oldn * 2 : 256;
	m->buckets = xcalloc(m->nbuckets, sizeof(*m->buckets));
	for (i = 0; i < oldn; i++) {
		struct conn	*c = old[i], *next;

		for (; c != NULL; c = next) {
			size_t	 s = map_slot(m, c->evcon);

			next = c->next;
			c->next = m->buckets[s];
			m->buckets[s] = c;
		}
	}
	free(old);
}

static void
map_insert(struct conn_table *m, struct conn *c)
{
	size_t	 s;

	if (m->count + 1 > m->nbuckets)
		map_grow(m);
	s = map_slot(m, c->evcon);
	c->next = m->buckets[s];
	m->buckets[s] = c;
	m->count++;
}

static void
map_remove(struct conn_table *m, struct conn *c)
{
	struct conn	**pp;

	if (m->nbuckets == 0)
		return;
	for (pp = &m->buckets[map_slot(m, c->evcon)]; *pp != NULL;
	    pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			m->count--;
			return;
		}
	}
}

struct conn *
conn_find(struct conn_table *t, struct evhttp_connection *evcon)
{
	struct conn	*c;

	if (t->nbuckets == 0)
		return NULL;
	for (c = t->buckets[map_slot(t, evcon)]; c != NULL; c = c->next)
		if (c->evcon == evcon)
			return c;
	return NULL;
}

/* ---- connection life cycle ---- */

static void
conn_free(struct conn *c)
{
	event_del(&c->timer);
	atomic_fetch_sub_explicit(c->table->open_conns, 1,
	    memory_order_relaxed);
	free(c);
}

static void
conn_arm_deadline(struct conn *c)
{
	c->state = CONN_READING;
	event_add(&c->timer, c->table->deadline_tv);
}

/* evhttp is freeing the connection (any reason). */
static void
conn_closed(struct evhttp_connection *evcon, void *arg)
{
	struct conn	*c = arg;

	(void)evcon;
	map_remove(c->table, c);
	if (c->input_cb != NULL)
		evbuffer_remove_cb_entry(bufferevent_get_input(c->bev),
		    c->input_cb);
	if (c->current != NULL) {
		struct request	*req = c->current;

		c->current = NULL;
		c->table->gone(req);
	}
	conn_free(c);
}

/*
 * Bytes arrived: the start of a request starts its deadline. They are also
 * searched for NUL, which no request of ours may carry (RFC 9110 5.5 lets
 * a recipient refuse it in a field value; no body we read may hold a raw
 * one) and which evhttp would silently cut a header value at, so that
 * "Authorization: Bearer <token>\0junk" would pass as the token alone.
 */
static void
conn_input(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct conn		*c = arg;
	struct evbuffer_ptr	 from, hit;
	size_t			 len;

	if (info->n_added == 0)
		return;
	if (c->state == CONN_IDLE)
		conn_arm_deadline(c);
	len = evbuffer_get_length(buf);
	if (c->saw_nul || len < info->n_added ||
	    evbuffer_ptr_set(buf, &from, len - info->n_added,
	    EVBUFFER_PTR_SET) != 0)
		return;
	hit = evbuffer_search(buf, "", 1, &from);
	if (hit.pos != -1)
		c->saw_nul = true;
}

static void
conn_attach(struct conn *c)
{
	void	*cbarg = NULL;

	bufferevent_getcb(c->bev, NULL, NULL, NULL, &cbarg);
	if (cbarg == NULL) {
		/* evhttp gave up on it already; our reference is the last. */
		bufferevent_decref(c->bev);
		conn_free(c);
		return;
	}
	c->evcon = cbarg;
	evhttp_connection_set_closecb(c->evcon, conn_closed, c);
	map_insert(c->table, c);
	bufferevent_decref(c->bev);
	if (c->broken) {
		evhttp_connection_free(c->evcon);	/* frees c */
		return;
	}
	c->input_cb = evbuffer_add_cb(bufferevent_get_input(c->bev),
	    conn_input, c);
	conn_arm_deadline(c);
}

static void
conn_timer(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	(void)fd;
	(void)what;
	if (c->state == CONN_NEW) {
		conn_attach(c);
		return;
	}
	if (c->state == CONN_IDLE) {
		log_debug("event=idle_timeout worker=%d", c->table->worker_id);
		evhttp_connection_free(c->evcon);	/* frees c */
		return;
	}
	if (c->state != CONN_READING)
		return;
	if (log_enabled(LOG_LEVEL_INFO)) {
		char		*addr = NULL;
		ev_uint16_t	 port = 0;

		evhttp_connection_get_peer(c->evcon, &addr, &port);
		log_info("event=request_timeout client=%s worker=%d",
		    addr != NULL ? addr : "-", c->table->worker_id);
	}
	evhttp_connection_free(c->evcon);	/* conn_closed frees c */
}

/* evhttp wants a bufferevent for a connection it has just accepted. */
static struct bufferevent *
conn_new_bufferevent(struct event_base *base, void *arg)
{
	struct conn_table	*t = arg;
	struct bufferevent	*bev = NULL;
	struct conn		*c;
	int			 n;

	c = xcalloc(1, sizeof(*c));
	c->table = t;
	n = atomic_fetch_add_explicit(t->open_conns, 1,
	    memory_order_relaxed) + 1;
	c->over_cap = n > t->max_connections;
	if (t->ssl_ctx != NULL &&
	    (bev = tls_bufferevent_new(base, t->ssl_ctx)) == NULL)
		c->broken = true;
	if (bev == NULL)
		bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		/* evhttp will make its own plain one; we close it at once. */
		log_error("event=accept_error err=\"no bufferevent\"");
		free(c);
		atomic_fetch_sub_explicit(t->open_conns, 1,
		    memory_order_relaxed);
		return NULL;
	}
	c->bev = bev;
	bufferevent_incref(bev);
	event_assign(&c->timer, base, -1, 0, conn_timer, c);
	event_active(&c->timer, EV_TIMEOUT, 1);
	return bev;
}

void
conn_request_started(struct conn *c, struct request *req)
{
	event_del(&c->timer);
	c->state = CONN_HANDLING;
	c->current = req;
}

void
conn_request_finished(struct conn *c)
{
	c->current = NULL;
	/* A pipelined request may already be waiting in the buffer. */
	if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0) {
		conn_arm_deadline(c);
	} else {
		c->state = CONN_IDLE;
		event_add(&c->timer, c->table->idle_tv);
	}
}

bool
conn_over_cap(const struct conn *c)
{
	return c->over_cap;
}

bool
conn_saw_nul(const struct conn *c)
{
	return c->saw_nul;
}

/* ---- set-up and tear-down ---- */

void
conn_table_init(struct conn_table *t, struct evhttp *http,
    struct event_base *base, const struct conn_limits *limits, int worker_id,
    atomic_int *open_conns, SSL_CTX *ssl_ctx)
{
	struct timeval	 deadline = { .tv_sec = limits->request_timeout };
	struct timeval	 idle = { .tv_sec = limits->idle_timeout };

	memset(t, 0, sizeof(*t));
	t->worker_id = worker_id;
	t->max_connections = limits->max_connections;
	t->open_conns = open_conns;
	t->deadline_tv = event_base_init_common_timeout(base, &deadline);
	t->idle_tv = event_base_init_common_timeout(base, &idle);
	t->ssl_ctx = ssl_ctx;
	evhttp_set_bevcb(http, conn_new_bufferevent, t);
}

void
conn_table_finish(struct conn_table *t)
{
	free(t->buckets);
	memset(t, 0, sizeof(*t));
}
