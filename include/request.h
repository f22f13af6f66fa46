/*
 * request: our context for one HTTP request, from the moment evhttp has
 * read it whole to the moment its reply is written (or its client is
 * gone). Handlers receive a struct request and answer it through reply.h.
 *
 * Lifetime: a request is held by evhttp's side until the reply is written
 * or the connection closes, and by every asynchronous operation a handler
 * starts (request_hold / request_release). When the client disconnects
 * while a handler waits (on Redis, say), `gone` is set and the handler must
 * not reply; reply.c checks it, so handlers only need to release.
 *
 * Where it sits: above the worker (struct worker is a request's context:
 * its config, keys, store, view, metrics) and the connection table
 * (conn.h), which it tells when a request starts and ends. Neither of
 * those names a request function: request_serve() hands the worker's
 * evhttp requests and its connections' "client gone" news to this module.
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

struct request {
	struct evhttp_request	*ev;		/* NULL once gone */
	struct worker		*worker;
	struct conn		*conn;
	const char		*path;		/* borrowed from ev's uri */
	const char		*method;	/* "GET", ... */
	uint64_t		 start_usec;
	int			 status;	/* set by reply.c */
	int			 endpoint;	/* router_endpoint(path) */
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
 * Make this module w's request handler: every request w's evhttp reads is
 * routed (router.h), and a connection of w that closes under a request
 * marks it gone. Main thread, after worker_init() and before
 * worker_start().
 */
void	 request_serve(struct worker *w);

void	 request_hold(struct request *);
/* Drop a reference; frees the request when it was the last one. */
void	 request_release(struct request *);

/* A request header (case-insensitive name) or NULL. Borrowed. */
const char *request_header(const struct request *, const char *name);

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
