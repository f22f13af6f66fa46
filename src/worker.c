/*
 * worker: one thread, one event_base, one evhttp, one listening socket,
 * one Redis store and the view over it, one verified-token cache; and on
 * worker 0, the management listener's evhttp and socket (set up by
 * worker_serve_management(), stopped and freed with the public ones).
 * Everything here runs on the worker's own loop, except worker_init(),
 * worker_serve_management(), worker_start(), worker_join(),
 * worker_finish() and the worker_post_*() calls, which the main thread
 * makes.
 *
 * Left to others: the connections (conn.c: the worker only embeds their
 * table, sets it up and keeps its TLS context current), the requests
 * (dispatch.c plugs the request path into the evhttp with
 * dispatch_serve(), called by server.c, so nothing here names a request
 * function) and the listening sockets (server.c).
 *
 * Main-thread messages. The main thread writes one byte to the worker's
 * pipe: 'q' (drain and stop) or 'r' (a reload: a new TLS context and key
 * set wait in the mailbox, under mbox_lock, and are switched to together).
 *
 * Drain. On 'q' the worker stops accepting; once no request is in flight
 * (or --shutdown-timeout has passed) it frees its evhttp, which closes
 * every connection, closes its store and view and leaves its loop.
 *
 * Invariants: `inflight` counts the requests request.c has counted in and
 * not yet reported done (worker_request_done); `draining` is never unset;
 * once worker_shutdown() has run, `http` is NULL and the loop ends.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/http.h>

#include "config.h"
#include "conn.h"
#include "keys.h"
#include "log.h"
#include "store.h"
#include "tcache.h"
#include "view.h"
#include "worker.h"


/* ---- messages from the main thread, drain ---- */

static void
worker_shutdown(struct worker *w)
{
	if (w->http == NULL)
		return;
	/* Frees every connection; each tells its request, if any (conn.h). */
	evhttp_free(w->http);
	w->http = NULL;
	w->bound = NULL;
	if (w->mgmt_http != NULL) {
		evhttp_free(w->mgmt_http);
		w->mgmt_http = NULL;
		w->mgmt_bound = NULL;
	}
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
	if (w->mgmt_bound != NULL) {
		evhttp_del_accept_socket(w->mgmt_http, w->mgmt_bound);
		w->mgmt_bound = NULL;
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
				w->conns.ssl_ctx = ctx;
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

/* An evhttp on base with these limits; NULL if libevent fails. */
static struct evhttp *
http_new(struct event_base *base, size_t max_body, size_t max_headers,
    int idle_timeout)
{
	struct evhttp	*http;

	if ((http = evhttp_new(base)) == NULL)
		return NULL;
	evhttp_set_max_body_size(http, (ev_ssize_t)max_body);
	evhttp_set_max_headers_size(http, (ev_ssize_t)max_headers);
	evhttp_set_timeout(http, idle_timeout);
	/* Every method reaches the router, which answers 405 in JSON. */
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT |
	    EVHTTP_REQ_PATCH);
	/* Read an oversized body out before answering 413, so the client
	 * sees the answer instead of a reset (bounded by the deadline). */
	evhttp_set_flags(http, EVHTTP_SERVER_LINGERING_CLOSE);
	return http;
}

/*
 * A worker's loop. With epoll's changelist, the changes of one loop turn
 * to one fd's events are one epoll_ctl(): evhttp stops reading a request
 * as bufferevent_openssl starts waiting to write its reply (one call, not
 * two), and the reverse once the reply is written. Our sockets are never
 * dup()ed, the one case the changelist gets wrong. Other backends ignore
 * the flag.
 */
static struct event_base *
loop_new(void)
{
	struct event_config	*cfg;
	struct event_base	*base;

	if ((cfg = event_config_new()) == NULL)
		return NULL;
	(void)event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	return base;
}

/*
 * The log lines of one loop turn go out in one write(2): the first line
 * of a turn activates log_ev, which runs after the callbacks already
 * active in this turn, before the loop waits again.
 */
static void
worker_log_flush(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	log_batch_flush();
}

static void
worker_log_wake(void *arg)
{
	struct worker	*w = arg;

	event_active(w->log_ev, EV_TIMEOUT, 0);
}

int
worker_init(struct worker *w, int id, int n_workers,
    const struct config *cfg, int listen_fd, SSL_CTX *ssl_ctx,
    struct keyset *keys, atomic_int *open_conns)
{
	struct conn_limits	 limits;

	memset(w, 0, sizeof(*w));
	w->id = id;
	w->n_workers = n_workers;
	w->cfg = cfg;
	w->listen_fd = listen_fd;
	w->mgmt_listen_fd = -1;
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
	if ((w->base = loop_new()) == NULL) {
		log_error("event=worker_init_failed worker=%d "
		    "err=\"event_base_new\"", id);
		return -1;
	}
	if (pipe2(w->pipe_fd, O_CLOEXEC | O_NONBLOCK) == -1) {
		log_warn("event=worker_init_failed worker=%d what=pipe", id);
		return -1;
	}
	w->pipe_ev = event_new(w->base, w->pipe_fd[0], EV_READ | EV_PERSIST,
	    worker_pipe, w);
	w->drain_ev = event_new(w->base, -1, 0, worker_drain_done, w);
	w->log_ev = event_new(w->base, -1, 0, worker_log_flush, w);
	if (w->pipe_ev == NULL || w->drain_ev == NULL || w->log_ev == NULL ||
	    event_add(w->pipe_ev, NULL) != 0)
		return -1;

	if ((w->http = http_new(w->base, cfg->max_body, cfg->max_headers,
	    cfg->idle_timeout)) == NULL)
		return -1;
	limits.max_connections = cfg->max_connections;
	limits.request_timeout = cfg->request_timeout;
	limits.idle_timeout = cfg->idle_timeout;
	conn_table_init(&w->conns, w->http, w->base, &limits, id, open_conns,
	    w->ssl_ctx);
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
	view_set_limiter(w->view, view_process_limiter());
	return 0;
}

static int
min_int(int a, int b)
{
	return a < b ? a : b;
}

int
worker_serve_management(struct worker *w, int listen_fd,
    atomic_int *open_conns)
{
	struct conn_limits	 limits;

	w->mgmt_listen_fd = listen_fd;
	limits.max_connections = WORKER_MGMT_MAX_CONNECTIONS;
	limits.request_timeout = min_int(w->cfg->request_timeout,
	    WORKER_MGMT_REQUEST_TIMEOUT);
	limits.idle_timeout = min_int(w->cfg->idle_timeout,
	    WORKER_MGMT_IDLE_TIMEOUT);
	if ((w->mgmt_http = http_new(w->base, WORKER_MGMT_MAX_BODY,
	    WORKER_MGMT_MAX_HEADERS, limits.idle_timeout)) == NULL) {
		log_error("event=worker_init_failed worker=%d "
		    "what=management err=\"evhttp_new\"", w->id);
		return -1;
	}
	/* Plain HTTP: no TLS context, and none on a reload. */
	conn_table_init(&w->mgmt_conns, w->mgmt_http, w->base, &limits, w->id,
	    open_conns, NULL);
	if ((w->mgmt_bound = evhttp_accept_socket_with_handle(w->mgmt_http,
	    listen_fd)) == NULL) {
		log_error("event=worker_init_failed worker=%d what=management "
		    "err=\"accept\"", w->id);
		return -1;
	}
	w->mgmt_listen_fd = -1;	/* evhttp owns it now */
	return 0;
}

static void *
worker_main(void *arg)
{
	struct worker	*w = arg;

	log_batch_begin(worker_log_wake, w);
	event_base_dispatch(w->base);
	log_batch_end();
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
	if (w->mgmt_http != NULL)
		evhttp_free(w->mgmt_http);
	view_free(w->view);
	store_free(w->store);
	tcache_free(w->tcache);
	if (w->pipe_ev != NULL)
		event_free(w->pipe_ev);
	if (w->drain_ev != NULL)
		event_free(w->drain_ev);
	if (w->log_ev != NULL)
		event_free(w->log_ev);
	if (w->base != NULL)
		event_base_free(w->base);
	if (w->listen_fd != -1)
		close(w->listen_fd);
	if (w->mgmt_listen_fd != -1)
		close(w->mgmt_listen_fd);
	if (w->pipe_fd[0] != -1)
		close(w->pipe_fd[0]);
	if (w->pipe_fd[1] != -1)
		close(w->pipe_fd[1]);
	SSL_CTX_free(w->mbox_ssl_ctx);
	SSL_CTX_free(w->ssl_ctx);
	keyset_unref(w->mbox_keys);
	keyset_unref(w->keys);
	conn_table_finish(&w->conns);
	conn_table_finish(&w->mgmt_conns);
	metrics_shard_finish(&w->metrics);
	pthread_mutex_destroy(&w->mbox_lock);
	memset(w, 0, sizeof(*w));
}
