/*
 * worker: one thread, one event_base, one evhttp, one listening socket,
 * one Redis store. Everything here runs on the worker's own loop, except
 * worker_init() and the worker_post_*() calls, which the main thread makes.
 *
 * Connections. evhttp has no accept hook in libevent 2.1, so a connection
 * is caught at the one place it shows itself, the bufferevent callback
 * (bevcb), which runs inside evhttp's accept handler just before evhttp
 * builds its evhttp_connection around our bufferevent. There we count the
 * connection, take a reference on the bufferevent and activate the
 * connection's timer; its first run (still within the same loop pass,
 * before any byte can be read) "attaches": it finds the evhttp_connection
 * (the bufferevent's callback argument), registers our close callback on
 * it and starts the request deadline. If evhttp dropped the connection in
 * between, the bufferevent's callbacks are gone, which we see and count.
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
 * Connection cap. The process-wide open-connection count is an atomic,
 * touched at accept and close only. A connection accepted above
 * --max-connections gets 503 on its first request and is closed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <event2/http.h>

#include "config.h"
#include "keys.h"
#include "log.h"
#include "request.h"
#include "store.h"
#include "tcache.h"
#include "tls.h"
#include "util.h"
#include "view.h"
#include "worker.h"

enum conn_state {
	CONN_NEW = 0,		/* accepted, not yet attached */
	CONN_READING,		/* a request is arriving; deadline armed */
	CONN_HANDLING,		/* request whole; a handler has it */
	CONN_IDLE,		/* keep-alive, between requests */
};

struct conn {
	struct worker			*worker;
	struct bufferevent		*bev;
	struct evhttp_connection	*evcon;
	struct evbuffer_cb_entry	*input_cb;
	struct event			 timer;
	enum conn_state			 state;
	bool				 over_cap;
	bool				 broken;	/* no TLS: close at once */
	bool				 saw_nul;	/* a NUL byte arrived */
	struct request			*current;
	struct conn			*next;		/* conn_map chain */
};

/* ---- evcon -> conn map (per worker, so no lock) ---- */

static size_t
map_slot(const struct conn_map *m, const void *key)
{
	uintptr_t	 h = (uintptr_t)key;

	h ^= h >> 17;
	h *= (uintptr_t)0x9e3779b97f4a7c15ULL;
	h ^= h >> 29;
	return (size_t)h & (m->nbuckets - 1);
}

static void
map_grow(struct conn_map *m)
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
map_insert(struct conn_map *m, struct conn *c)
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
map_remove(struct conn_map *m, struct conn *c)
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
worker_conn_of(struct worker *w, struct evhttp_connection *evcon)
{
	struct conn	*c;

	if (w->conns.nbuckets == 0)
		return NULL;
	for (c = w->conns.buckets[map_slot(&w->conns, evcon)]; c != NULL;
	    c = c->next)
		if (c->evcon == evcon)
			return c;
	return NULL;
}

/* ---- connection life cycle ---- */

static void
conn_free(struct conn *c)
{
	event_del(&c->timer);
	atomic_fetch_sub_explicit(c->worker->open_conns, 1,
	    memory_order_relaxed);
	free(c);
}

static void
conn_arm_deadline(struct conn *c)
{
	c->state = CONN_READING;
	event_add(&c->timer, c->worker->deadline_tv);
}

/* evhttp is freeing the connection (any reason). */
static void
conn_closed(struct evhttp_connection *evcon, void *arg)
{
	struct conn	*c = arg;

	(void)evcon;
	map_remove(&c->worker->conns, c);
	if (c->input_cb != NULL)
		evbuffer_remove_cb_entry(bufferevent_get_input(c->bev),
		    c->input_cb);
	if (c->current != NULL) {
		struct request	*req = c->current;

		c->current = NULL;
		request_client_gone(req);
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
	struct worker	*w = c->worker;
	void		*cbarg = NULL;

	bufferevent_getcb(c->bev, NULL, NULL, NULL, &cbarg);
	if (cbarg == NULL) {
		/* evhttp gave up on it already; our reference is the last. */
		bufferevent_decref(c->bev);
		conn_free(c);
		return;
	}
	c->evcon = cbarg;
	evhttp_connection_set_closecb(c->evcon, conn_closed, c);
	map_insert(&w->conns, c);
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
		log_debug("event=idle_timeout worker=%d", c->worker->id);
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
		    addr != NULL ? addr : "-", c->worker->id);
	}
	evhttp_connection_free(c->evcon);	/* conn_closed frees c */
}

/* evhttp wants a bufferevent for a connection it has just accepted. */
static struct bufferevent *
conn_new_bufferevent(struct event_base *base, void *arg)
{
	struct worker		*w = arg;
	struct bufferevent	*bev = NULL;
	struct conn		*c;
	int			 n;

	c = xcalloc(1, sizeof(*c));
	c->worker = w;
	n = atomic_fetch_add_explicit(w->open_conns, 1,
	    memory_order_relaxed) + 1;
	c->over_cap = n > w->cfg->max_connections;
	if (w->ssl_ctx != NULL &&
	    (bev = tls_bufferevent_new(base, w->ssl_ctx)) == NULL)
		c->broken = true;
	if (bev == NULL)
		bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		/* evhttp will make its own plain one; we close it at once. */
		log_error("event=accept_error err=\"no bufferevent\"");
		free(c);
		atomic_fetch_sub_explicit(w->open_conns, 1,
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
		event_add(&c->timer, c->worker->idle_tv);
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

/* ---- messages from the main thread, drain ---- */

static void
worker_shutdown(struct worker *w)
{
	if (w->http == NULL)
		return;
	/* Frees every connection; conn_closed marks their requests gone. */
	evhttp_free(w->http);
	w->http = NULL;
	w->bound = NULL;
	view_close(w->view);
	store_close(w->store);
	event_del(w->pipe_ev);
	event_del(w->drain_ev);
	event_base_loopexit(w->base, NULL);
}

static void
worker_drain_done(evutil_socket_t fd, short what, void *arg)
{
	struct worker	*w = arg;

	(void)fd;
	if ((what & EV_TIMEOUT) && w->inflight > 0)
		log_warnx("event=drain_timeout worker=%d inflight=%u", w->id,
		    w->inflight);
	worker_shutdown(w);
}

void
worker_request_done(struct worker *w)
{
	if (w->inflight > 0)
		w->inflight--;
	/* Not from here: we are inside an evhttp callback. */
	if (w->draining && w->inflight == 0)
		event_active(w->drain_ev, EV_READ, 1);
}

static void
worker_begin_drain(struct worker *w)
{
	struct timeval	 tv = { .tv_sec = w->cfg->shutdown_timeout };

	if (w->draining)
		return;
	w->draining = true;
	if (w->bound != NULL) {
		evhttp_del_accept_socket(w->http, w->bound);
		w->bound = NULL;
	}
	if (w->inflight == 0) {
		worker_shutdown(w);
		return;
	}
	event_add(w->drain_ev, &tv);
}

static void
worker_pipe(evutil_socket_t fd, short what, void *arg)
{
	struct worker	*w = arg;
	char		 msgs[64];
	ssize_t		 n, i;

	(void)what;
	n = read(fd, msgs, sizeof(msgs));
	for (i = 0; i < n; i++) {
		if (msgs[i] == 'q') {
			worker_begin_drain(w);
		} else if (msgs[i] == 'r') {
			SSL_CTX		*ctx;
			struct keyset	*keys;

			pthread_mutex_lock(&w->mbox_lock);
			ctx = w->mbox_ssl_ctx;
			keys = w->mbox_keys;
			w->mbox_ssl_ctx = NULL;
			w->mbox_keys = NULL;
			pthread_mutex_unlock(&w->mbox_lock);
			if (ctx != NULL) {
				SSL_CTX_free(w->ssl_ctx);
				w->ssl_ctx = ctx;
			}
			if (keys != NULL) {
				/* a removed key must stop verifying now,
				 * and cached claims point into w->keys */
				if (log_enabled(LOG_LEVEL_DEBUG)) {
					struct tcache_stats	 st;

					tcache_stats(w->tcache, &st);
					log_debug("event=verify_cache_flush "
					    "worker=%d entries=%zu", w->id,
					    st.count);
				}
				tcache_flush(w->tcache);
				keyset_unref(w->keys);
				w->keys = keys;
			}
		}
	}
}

static void
post(struct worker *w, char msg)
{
	ssize_t	 n;

	do {
		n = write(w->pipe_fd[1], &msg, 1);
	} while (n < 0 && errno == EINTR);
	if (n != 1)
		log_warn("event=worker_post_failed worker=%d", w->id);
}

void
worker_post_stop(struct worker *w)
{
	post(w, 'q');
}

void
worker_post_reload(struct worker *w, SSL_CTX *ctx, struct keyset *keys)
{
	SSL_CTX		*old_ctx;
	struct keyset	*old_keys;

	if (ctx != NULL)
		SSL_CTX_up_ref(ctx);
	pthread_mutex_lock(&w->mbox_lock);
	old_ctx = w->mbox_ssl_ctx;
	old_keys = w->mbox_keys;
	w->mbox_ssl_ctx = ctx;
	w->mbox_keys = keyset_ref(keys);
	pthread_mutex_unlock(&w->mbox_lock);
	SSL_CTX_free(old_ctx);
	keyset_unref(old_keys);
	post(w, 'r');
}

/* ---- set-up and tear-down ---- */

int
worker_init(struct worker *w, int id, int n_workers,
    const struct config *cfg, int listen_fd, SSL_CTX *ssl_ctx,
    struct keyset *keys, atomic_int *open_conns)
{
	struct timeval	 tv = { .tv_sec = cfg->request_timeout };
	struct timeval	 idle = { .tv_sec = cfg->idle_timeout };

	memset(w, 0, sizeof(*w));
	w->id = id;
	w->n_workers = n_workers;
	w->cfg = cfg;
	w->listen_fd = listen_fd;
	w->open_conns = open_conns;
	w->peers = w;		/* server.c points it at the whole array */
	metrics_shard_init(&w->metrics, (size_t)cfg->metrics_max_clients);
	w->pipe_fd[0] = w->pipe_fd[1] = -1;
	pthread_mutex_init(&w->mbox_lock, NULL);
	if (ssl_ctx != NULL) {
		SSL_CTX_up_ref(ssl_ctx);
		w->ssl_ctx = ssl_ctx;
	}
	w->keys = keyset_ref(keys);
	if ((w->base = event_base_new()) == NULL) {
		log_error("event=worker_init_failed worker=%d "
		    "err=\"event_base_new\"", id);
		return -1;
	}
	w->deadline_tv = event_base_init_common_timeout(w->base, &tv);
	w->idle_tv = event_base_init_common_timeout(w->base, &idle);
	if (pipe2(w->pipe_fd, O_CLOEXEC | O_NONBLOCK) == -1) {
		log_warn("event=worker_init_failed worker=%d what=pipe", id);
		return -1;
	}
	w->pipe_ev = event_new(w->base, w->pipe_fd[0], EV_READ | EV_PERSIST,
	    worker_pipe, w);
	w->drain_ev = event_new(w->base, -1, 0, worker_drain_done, w);
	if (w->pipe_ev == NULL || w->drain_ev == NULL ||
	    event_add(w->pipe_ev, NULL) != 0)
		return -1;

	if ((w->http = evhttp_new(w->base)) == NULL)
		return -1;
	evhttp_set_max_body_size(w->http, (ev_ssize_t)cfg->max_body);
	evhttp_set_max_headers_size(w->http, (ev_ssize_t)cfg->max_headers);
	evhttp_set_timeout(w->http, cfg->idle_timeout);
	/* Every method reaches the router, which answers 405 in JSON. */
	evhttp_set_allowed_methods(w->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT |
	    EVHTTP_REQ_PATCH);
	/* Read an oversized body out before answering 413, so the client
	 * sees the answer instead of a reset (bounded by the deadline). */
	evhttp_set_flags(w->http, EVHTTP_SERVER_LINGERING_CLOSE);
	evhttp_set_gencb(w->http, request_dispatch, w);
	evhttp_set_bevcb(w->http, conn_new_bufferevent, w);
	if ((w->bound = evhttp_accept_socket_with_handle(w->http,
	    listen_fd)) == NULL) {
		log_error("event=worker_init_failed worker=%d what=accept", id);
		return -1;
	}
	w->listen_fd = -1;	/* evhttp owns it now */
	w->store = store_new(w->base, cfg, n_workers);
	store_set_metrics(w->store, &w->metrics);
	w->view = view_new(w->base, cfg, w->store, n_workers);
	w->tcache = tcache_new((size_t)cfg->verify_cache_size, cfg->leeway);
	view_set_metrics(w->view, &w->metrics);
	view_set_lock_share(w->view, view_process_locks());
	return 0;
}

static void *
worker_main(void *arg)
{
	struct worker	*w = arg;

	event_base_dispatch(w->base);
	return NULL;
}

int
worker_start(struct worker *w)
{
	int	 rc;

	if ((rc = pthread_create(&w->thread, NULL, worker_main, w)) != 0) {
		errno = rc;
		log_warn("event=worker_start_failed worker=%d", w->id);
		return -1;
	}
	w->started = true;
	return 0;
}

void
worker_join(struct worker *w)
{
	if (w->started)
		pthread_join(w->thread, NULL);
	w->started = false;
}

void
worker_finish(struct worker *w)
{
	if (w->http != NULL)
		evhttp_free(w->http);
	view_free(w->view);
	store_free(w->store);
	tcache_free(w->tcache);
	if (w->pipe_ev != NULL)
		event_free(w->pipe_ev);
	if (w->drain_ev != NULL)
		event_free(w->drain_ev);
	if (w->base != NULL)
		event_base_free(w->base);
	if (w->listen_fd != -1)
		close(w->listen_fd);
	if (w->pipe_fd[0] != -1)
		close(w->pipe_fd[0]);
	if (w->pipe_fd[1] != -1)
		close(w->pipe_fd[1]);
	SSL_CTX_free(w->mbox_ssl_ctx);
	SSL_CTX_free(w->ssl_ctx);
	keyset_unref(w->mbox_keys);
	keyset_unref(w->keys);
	free(w->conns.buckets);
	metrics_shard_finish(&w->metrics);
	pthread_mutex_destroy(&w->mbox_lock);
	memset(w, 0, sizeof(*w));
}
