/*
 * request: our context for one HTTP request, from the moment evhttp has
 * read it whole to the moment its reply is written (or its client is
 * gone), and what a handler reads of it. Handlers receive a struct request
 * and answer it through reply.h.
 *
 * Lifetime: a request is held by evhttp's side until the reply is written
 * or the connection closes, and by every asynchronous operation a handler
 * starts (request_hold / request_release). When the client disconnects
 * while a handler waits (on Redis, say), `gone` is set and the handler must
 * not reply; reply.c checks it, so handlers only need to release.
 *
 * Where it sits: at the bottom of the transport's request path, above the
 * worker (struct worker is a request's context: its config, keys, store,
 * view, metrics) and the connection table (conn.h), which it tells when a
 * request starts and ends. Dependencies point one way, bottom to top:
 * request -> reply (writes replies into a struct request) -> router ->
 * dispatch (evhttp's request callback: request_new(), the refusals
 * answered before routing, router_route()) -> the handlers. This module
 * answers nothing and includes none of those above it; neither the worker
 * nor conn names a request function: dispatch_serve() (dispatch.h) hands a
 * worker's evhttp requests to request_new() and its connections' "client
 * gone" news to request_client_gone().
 */
#ifndef TOKEND_REQUEST_H
#define TOKEND_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reqid.h"

struct conn;
struct evhttp_request;
struct worker;

/* The listener a request came in on: its routes, its connection table. */
enum request_listener {
	REQUEST_PUBLIC = 0,	/* --listen: the API */
	REQUEST_MANAGEMENT,	/* --management-listen */
};

struct request {
	struct evhttp_request	*ev;		/* NULL once gone */
	struct worker		*worker;
	struct conn		*conn;
	const char		*path;		/* borrowed from ev's uri */
	const char		*method;	/* "GET", ... */
	uint64_t		 start_usec;
	int			 status;	/* set by reply.c */
	int			 endpoint;	/* router_endpoint(path),
						   set by dispatch.c */
	enum request_listener	 listener;
	bool			 gone;		/* client disconnected */
	bool			 replied;
	unsigned		 refs;
	char			 peer[64];	/* textual peer address */
	uint16_t		 peer_port;
	/* The source address (client_addr.h): the peer, or the last
	   X-Forwarded-For hop added by a trusted proxy; canonical text. */
	char			 client[64];
	int			 retry_after;	/* seconds, for a 429 */
	/* X-Request-Id: the client's when sane, else generated (reqid.h);
	   echoed on the reply and logged as request_id. */
	char			 request_id[REQID_MAX + 1];
};

/*
 * The context of ev, a request that worker's evhttp of listener has read
 * whole: its method, path (without the query; "/" when empty), id (the
 * client's X-Request-Id when sane, else a new one), peer and source
 * address, and its connection (in the listener's connection table), which
 * is told the request started (its deadline stops).
 * The request is counted in worker->inflight until it is over. The one
 * reference it holds is evhttp's side: released, with the access-log line
 * and the request's metrics written, when evhttp reports the reply written
 * or the client gone (request_client_gone()). endpoint is left 0: the
 * caller sets it (router_endpoint()) before answering. Never NULL
 * (xcalloc). Inside evhttp's request callback, on the worker's loop.
 */
struct request *request_new(struct evhttp_request *ev, struct worker *worker,
	    enum request_listener listener);

/* "public" or "management": the access log's listener key. Static. */
const char *request_listener_name(enum request_listener);

/*
 * req's connection closed before its reply was written: marks it gone
 * (a later reply is dropped), writes its access-log line (status 499
 * unless one was set) and metrics, and drops evhttp's side's reference.
 * A conn_gone_fn (conn.h), installed as the connection table's `gone` by
 * dispatch_serve(). Inside an evhttp callback, on the worker's loop.
 */
void	 request_client_gone(struct request *req);

void	 request_hold(struct request *);
/* Drop a reference; frees the request when it was the last one. */
void	 request_release(struct request *);

/* A request header (case-insensitive name) or NULL. Borrowed. */
const char *request_header(const struct request *, const char *name);

/* How many request headers are named name (case-insensitive). */
size_t	 request_header_count(const struct request *, const char *name);

/*
 * Whether req's peer (the connection's address, not X-Forwarded-For) is
 * one of --trusted-proxies: the gateway whose X-Forwarded-* and
 * X-Client-Cert headers are believed. False without --trusted-proxies.
 */
bool	 request_peer_trusted(const struct request *);

/*
 * The request body as one contiguous block (evhttp has already capped it
 * at --max-body) and its length. Borrowed until the reply. NULL with
 * *len 0 when there is no body.
 */
const char *request_body(struct request *, size_t *len);

/*
 * True when the Content-Type's media type (parameters and case ignored)
 * is `type`.
 */
bool	 request_content_type_is(const struct request *, const char *type);

/* True when the request has a Content-Type header at all. */
bool	 request_has_content_type(const struct request *);

/* The raw query string (after '?', still encoded), or NULL. Borrowed. */
const char *request_query(const struct request *);

#endif
