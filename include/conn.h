/*
 * conn: the connections of one worker's listener. Every connection an
 * evhttp accepts gets a struct conn, kept in that evhttp's connection
 * table (keyed by its evhttp_connection; a worker has one table per
 * listener it serves), which
 *   - enforces the request deadline (--request-timeout on the public
 *     listener: a whole request, TLS handshake included for the first
 *     one, must arrive in time, whatever its pace) and, between
 *     requests, the idle timeout;
 *   - counts against the listener's connection cap (--max-connections);
 *   - notices a NUL byte in what the client sends;
 *   - checks each request's message framing (framing.h) before evhttp
 *     reads its content: the head when its fields are parsed, a chunked
 *     body as it arrives;
 *   - knows the request being handled, so that a client that goes away
 *     while Redis answers is noticed.
 *
 * Where it sits. Dependencies point one way: worker -> conn, and
 * request and dispatch -> conn and worker. conn includes neither worker.h
 * nor request.h: the worker embeds a struct conn_table, sets it up
 * (conn_table_init, which also hooks the table into the worker's evhttp)
 * and keeps its TLS context current; the request layer finds each
 * request's connection (conn_find) and says when the request starts and
 * ends; the dispatcher (dispatch.c) asks conn_over_cap(), conn_saw_nul()
 * and conn_framing() before routing. The two things a connection tells
 * the layer above go through callbacks in the table, which
 * dispatch_serve() sets: that it closed while a request was being
 * handled (`gone`: request_client_gone()), and that the chunked body of
 * the request being read is malformed (`refuse`: the dispatcher, which
 * answers it at once).
 *
 * Everything here runs on the worker's own loop, except conn_table_init()
 * and conn_table_finish(), which run before the loop starts or after it
 * has stopped.
 */
#ifndef TOKEND_CONN_H
#define TOKEND_CONN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

#include "framing.h"

struct conn;
struct event_base;
struct evhttp;
struct evhttp_connection;
struct evhttp_request;
struct request;
struct timeval;

/*
 * Called when the connection of req closes (whatever the reason) while
 * req is being handled: between conn_request_started() and
 * conn_request_finished(). Runs inside an evhttp callback.
 */
typedef void (*conn_gone_fn)(struct request *req);

/* The limits of one listener's connections. */
struct conn_limits {
	int	 max_connections;	/* above it: 503, then closed */
	int	 request_timeout;	/* seconds for a whole request */
	int	 idle_timeout;		/* seconds between requests */
};

/*
 * Called when the chunked body of ev, the request being read, is found
 * malformed (conn_framing() of its connection says how) before evhttp
 * has read it whole: the callee answers ev now (evhttp_send_reply()) and
 * should close the connection. arg is the table's refuse_arg. Runs
 * inside a bufferevent's read, before evhttp parses the octets.
 */
typedef void (*conn_refuse_fn)(struct evhttp_request *ev, void *arg);

/* One worker's connections on one listener, and what all of them need. */
struct conn_table {
	/* evhttp_connection -> conn, chained; one worker's, so no lock */
	struct conn		**buckets;
	size_t			 nbuckets;	/* power of two */
	size_t			 count;

	int			 worker_id;	/* for log lines */
	int			 max_connections;
	atomic_int		*open_conns;	/* process-wide */
	const struct timeval	*deadline_tv;	/* common timeout */
	const struct timeval	*idle_tv;	/* common timeout */
	/* Borrowed from the worker, which points it at the new context on
	   a TLS reload; NULL: plain HTTP. Read at accept only. */
	SSL_CTX			*ssl_ctx;
	conn_gone_fn		 gone;		/* set by dispatch_serve() */
	conn_refuse_fn		 refuse;	/* set by dispatch_serve() */
	void			*refuse_arg;
};

/*
 * Set up t for the connections of worker worker_id and make it catch
 * every connection http (on base) accepts (evhttp_set_bevcb): the cap and
 * timeouts from limits (copied), open_conns is the process-wide count of
 * the listener's connections, which the cap applies to (borrowed), ssl_ctx
 * the TLS context (borrowed; NULL for plain HTTP). t->gone and t->refuse
 * must be set before base's loop runs. Call before the loop starts (the
 * main thread does). Exits (status 1) when libevent's calls to
 * evhttp_request_new() would not reach conn.c's (the binary does not
 * export it): framing is not checked without it.
 */
void	 conn_table_init(struct conn_table *t, struct evhttp *http,
	    struct event_base *base, const struct conn_limits *limits,
	    int worker_id, atomic_int *open_conns, SSL_CTX *ssl_ctx);

/*
 * Release t's own memory. Every connection must be gone already
 * (evhttp_free() on the evhttp it was hooked into frees them). A zeroed t
 * is fine.
 */
void	 conn_table_finish(struct conn_table *t);

/*
 * The connection record of evcon, or NULL when it has none (every
 * connection the table caught has one). Borrowed: valid until evcon
 * closes.
 */
struct conn *conn_find(struct conn_table *t, struct evhttp_connection *evcon);

/*
 * The request req on c has been read whole: the deadline stops, and req
 * is told (t->gone) if c closes before conn_request_finished(). req is
 * borrowed.
 */
void	 conn_request_started(struct conn *c, struct request *req);

/*
 * The reply on c has been written: c waits for the next request (its
 * deadline starts at once if one is already buffered, else the idle
 * timeout does).
 */
void	 conn_request_finished(struct conn *c);

/*
 * The TLS connection of c (its OpenSSL bufferevent's SSL), or NULL for a
 * plain-HTTP one. Borrowed: valid until c closes. Renegotiation is off,
 * so its peer certificate does not change while c is open.
 */
SSL	*conn_ssl(const struct conn *c);

/* True when c was accepted above --max-connections. */
bool	 conn_over_cap(const struct conn *c);

/*
 * True when a NUL byte has arrived on c (its request is refused and the
 * connection closed).
 */
bool	 conn_saw_nul(const struct conn *c);

/*
 * The framing verdict on the request being read or handled on c:
 * FRAMING_OK, a fault (its request is refused and the connection
 * closed), or FRAMING_UNCHECKED when its head was never checked (a fault
 * of the build: refused too).
 */
enum framing_verdict conn_framing(const struct conn *c);

/*
 * The framing verdict on the fields of ev parsed so far (its head), as
 * the header check makes it; for evhttp_send_error() (reply.c), which
 * answers requests that libevent refused before the check ran (a Debian
 * build of libevent 2.1.12 refuses some Transfer-Encoding faults
 * itself), so that they are described alike. Only reads ev.
 */
enum framing_verdict conn_head_framing(struct evhttp_request *ev);

#endif
