/*
 * worker: one thread with its own event_base, evhttp, listening socket,
 * connection table (conn.h), Redis store, view, verified-token cache and
 * metrics shard. Worker 0 also serves the management listener
 * (--management-listen: /metrics, /healthz, /readyz), on an evhttp and a
 * connection table of its own, with limits of its own. Messages from the main thread (stop, new TLS context and
 * key set) arrive through a pipe and are handled on the worker's own loop.
 *
 * What workers share, and how:
 *   - the configuration: read-only once the workers exist;
 *   - the key set and the TLS context: immutable objects, each worker
 *     holding its own reference; SIGHUP builds new ones and posts them to
 *     every worker (worker_post_reload), which switches on its loop;
 *   - the process-wide open-connection count: an atomic, touched at accept
 *     and close only (conn.c) and read by the metrics scrape;
 *   - the brute-force lock table (view.h): a lock one worker sets is seen
 *     by all; behind a mutex, which the request path takes only when a
 *     lock was added since its view last looked;
 *   - their metrics shards: each written by its own worker only and read,
 *     with atomic loads, by worker 0, which answers /metrics scrapes on
 *     the management listener;
 *   - process-wide atomics other modules keep: the log level and format
 *     (log.c), how many workers' Redis links are up, for the store_up and
 *     store_down log lines (store.c).
 * Everything else (store, view, cache, connections, requests) belongs to
 * one worker and is touched only on its loop.
 *
 * Dependencies point one way: conn.h is below the worker (the worker
 * embeds and sets up its connection table); the request path (request.c,
 * reply.c, router.c, dispatch.c) and the handlers are above it and read
 * struct worker as their context. worker.c names no request function:
 * dispatch_serve() (dispatch.h) plugs the request path into a worker's
 * evhttp, and server.c calls it after worker_init().
 */
#ifndef TOKEND_WORKER_H
#define TOKEND_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "conn.h"
#include "metrics.h"

struct config;
struct event;
struct event_base;
struct evhttp;
struct evhttp_bound_socket;
struct keyset;
struct store;
struct tcache;
struct view;

/*
 * The management listener's limits. It answers GET and HEAD of three
 * small documents, so a request needs no body and few headers; its
 * connections count against their own cap, never --max-connections. The
 * request deadline and the idle timeout are --request-timeout and
 * --idle-timeout, capped at these seconds.
 */
#define WORKER_MGMT_MAX_BODY		1024
#define WORKER_MGMT_MAX_HEADERS		8192
#define WORKER_MGMT_MAX_CONNECTIONS	64
#define WORKER_MGMT_REQUEST_TIMEOUT	5
#define WORKER_MGMT_IDLE_TIMEOUT	30

struct worker {
	int				 id;
	const struct config		*cfg;
	pthread_t			 thread;
	bool				 started;

	struct event_base		*base;
	struct evhttp			*http;
	struct evhttp_bound_socket	*bound;
	int				 listen_fd;
	struct store			*store;
	struct view			*view;		/* over store */
	struct tcache			*tcache;	/* NULL: cache off */

	SSL_CTX				*ssl_ctx;	/* own reference */
	struct keyset			*keys;		/* own reference */
	pthread_mutex_t			 mbox_lock;
	SSL_CTX				*mbox_ssl_ctx;	/* pending reload */
	struct keyset			*mbox_keys;	/* pending reload */
	int				 pipe_fd[2];
	struct event			*pipe_ev;

	struct conn_table		 conns;
	atomic_int			*open_conns;	/* process-wide */

	/* The management listener: worker 0's, and only with
	   --management-listen other than off; else NULL. Plain HTTP. */
	struct evhttp			*mgmt_http;
	struct evhttp_bound_socket	*mgmt_bound;
	int				 mgmt_listen_fd;
	struct conn_table		 mgmt_conns;

	unsigned			 inflight;	/* handled, unanswered */
	bool				 draining;
	struct event			*drain_ev;
	struct event			*log_ev;	/* writes the turn's log lines */
	int				 n_workers;
	const struct worker		*peers;		/* all n_workers,
							   this one included */

	/* Written by this worker's thread only; read by any (metrics.h). */
	struct metrics_shard		 metrics;
};

/*
 * Set up worker id: its event_base, evhttp (limits from cfg), connection
 * table, the listening socket listen_fd (taken over), its store, view and
 * cache. ssl_ctx may be NULL (plain HTTP); the worker takes its own
 * references to it and to keys. cfg and open_conns (the process-wide
 * connection count) are borrowed and must outlive the worker. Requests
 * reach no handler until dispatch_serve() has plugged the request path
 * in. Returns 0 or -1 (logged); either way worker_finish() releases what
 * was set up. Called from the main thread before worker_start().
 */
int	 worker_init(struct worker *, int id, int n_workers,
	    const struct config *cfg, int listen_fd, SSL_CTX *ssl_ctx,
	    struct keyset *keys, atomic_int *open_conns);
/*
 * Make w serve the management listener on listen_fd (taken over, even on
 * failure): an evhttp with the WORKER_MGMT_* limits and a connection
 * table of its own; open_conns (borrowed; must outlive the worker) is the
 * process-wide count of management connections, which the cap applies
 * to. Requests reach no handler until dispatch_serve(). Returns 0 or -1
 * (logged); worker_finish() releases what was set up. Main thread, after
 * worker_init() and before worker_start().
 */
int	 worker_serve_management(struct worker *, int listen_fd,
	    atomic_int *open_conns);

/* Start the worker's thread, which runs its loop. Returns 0 or -1
 * (logged). Main thread. */
int	 worker_start(struct worker *);

/* From the main thread: ask the worker to drain and stop. */
void	 worker_post_stop(struct worker *);
/*
 * From the main thread: hand over a new TLS context (may be NULL: keep the
 * current one) and key set together; the worker takes its own references
 * and switches to both at once on its loop.
 */
void	 worker_post_reload(struct worker *, SSL_CTX *, struct keyset *);

/* Main thread: wait for the worker's thread to end (no-op if never
 * started). */
void	 worker_join(struct worker *);
/* Main thread, after worker_join(): release everything worker_init() set
 * up, zeroing the struct. */
void	 worker_finish(struct worker *);

/*
 * A request counted in `inflight` has been answered or its client is gone
 * (request.c): a draining worker may now stop. On the worker's loop.
 */
void	 worker_request_done(struct worker *);

#endif
