/*
 * worker: one thread with its own event_base, evhttp, listening socket,
 * Redis store and counters. Workers share only the read-only config and
 * the open-connection count (an atomic used at accept and close, never per
 * request). Messages from the main thread (stop, new TLS context) arrive
 * through a pipe and are handled on the worker's own loop.
 *
 * Connection life cycle (see worker.c): every accepted connection gets a
 * struct conn that enforces the request deadline (--request-timeout: a
 * whole request, TLS handshake included for the first one, must arrive in
 * time, whatever its pace), counts against --max-connections, and knows
 * the request being handled so that a client that goes away while Redis
 * answers is noticed.
 */
#ifndef TOKEND_WORKER_H
#define TOKEND_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "metrics.h"

struct config;
struct conn;
struct event;
struct event_base;
struct evhttp;
struct evhttp_bound_socket;
struct evhttp_connection;
struct keyset;
struct request;
struct store;
struct tcache;
struct timeval;
struct view;

struct conn_map {
	struct conn	**buckets;
	size_t		 nbuckets;	/* power of two */
	size_t		 count;
};

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
	const struct timeval		*deadline_tv;	/* common timeout */
	const struct timeval		*idle_tv;	/* common timeout */

	SSL_CTX				*ssl_ctx;	/* own reference */
	struct keyset			*keys;		/* own reference */
	pthread_mutex_t			 mbox_lock;
	SSL_CTX				*mbox_ssl_ctx;	/* pending reload */
	struct keyset			*mbox_keys;	/* pending reload */
	int				 pipe_fd[2];
	struct event			*pipe_ev;

	struct conn_map			 conns;
	atomic_int			*open_conns;	/* process-wide */
	unsigned			 inflight;	/* handled, unanswered */
	bool				 draining;
	struct event			*drain_ev;
	int				 n_workers;
	const struct worker		*peers;		/* all n_workers,
							   this one included */

	/* Written by this worker's thread only; read by any (metrics.h). */
	struct metrics_shard		 metrics;
};

/*
 * Set up worker id: its event_base, evhttp (limits from cfg), the
 * listening socket listen_fd (taken over) and its store. ssl_ctx may be
 * NULL (plain HTTP); the worker takes its own references to it and to
 * keys. Returns 0 or -1
 * (logged). Called from the main thread before worker_start().
 */
int	 worker_init(struct worker *, int id, int n_workers,
	    const struct config *cfg, int listen_fd, SSL_CTX *ssl_ctx,
	    struct keyset *keys, atomic_int *open_conns);
int	 worker_start(struct worker *);

/* From the main thread: ask the worker to drain and stop. */
void	 worker_post_stop(struct worker *);
/*
 * From the main thread: hand over a new TLS context (may be NULL: keep the
 * current one) and key set together; the worker takes its own references
 * and switches to both at once on its loop.
 */
void	 worker_post_reload(struct worker *, SSL_CTX *, struct keyset *);

void	 worker_join(struct worker *);
void	 worker_finish(struct worker *);

/* Requests in flight changed: a draining worker may now stop. */
void	 worker_request_done(struct worker *);

/*
 * The connection record of evcon, or NULL when it has none (it always has
 * one for connections accepted by a worker).
 */
struct conn *worker_conn_of(struct worker *, struct evhttp_connection *);

/* Called by request.c when the request on conn has been fully read. */
void	 conn_request_started(struct conn *, struct request *);
/* Called by request.c when the reply on conn has been written. */
void	 conn_request_finished(struct conn *);
/* True when this connection is above --max-connections. */
bool	 conn_over_cap(const struct conn *);
/* True when a NUL byte has arrived on this connection (the request is
 * refused and the connection closed). */
bool	 conn_saw_nul(const struct conn *);

#endif
