/*
 * router: (listener, method, path) -> handler. Each listener has its own
 * table: /metrics is routed on the management listener only, the API on
 * the public one only, /healthz and /readyz on both. Unknown path -> 404,
 * a known path with another method -> 405 with Allow. HEAD is served
 * wherever GET is.
 *
 * router_match() is the table lookup alone (pure, unit tested);
 * router_route() answers a request with it. The route table names every
 * handler, so this header takes handler_fn from handler.h: the router is
 * the one piece of the transport that knows the handlers.
 *
 * Where it sits, bottom to top: request -> reply -> router -> dispatch ->
 * the handlers. The router answers through reply.h into the struct
 * request of request.h, both below it; dispatch.c calls router_endpoint()
 * and router_route() for every request that passed the checks made
 * before routing. Nothing below includes this header.
 */
#ifndef TOKEND_ROUTER_H
#define TOKEND_ROUTER_H

#include <stddef.h>

#include "handler.h"
#include "request.h"

/* Room for any Allow value the route table gives, NUL included. */
#define ROUTER_ALLOW_MAX	128

enum router_match {
	ROUTER_FOUND = 0,
	ROUTER_NOT_FOUND,	/* no route has the path: 404 */
	ROUTER_BAD_METHOD,	/* the path is routed for other methods: 405 */
};

/*
 * Look up (method, path) in listener's route table; HEAD matches a GET
 * route.
 * ROUTER_FOUND sets *fn to the route's handler. ROUTER_BAD_METHOD fills
 * allow (ROUTER_ALLOW_MAX bytes) with the path's methods for the Allow
 * header, in table order, HEAD after GET ("GET, HEAD, POST").
 * ROUTER_NOT_FOUND touches neither. Pure: callable from anywhere.
 */
enum router_match router_match(enum request_listener listener,
	    const char *method, const char *path, handler_fn *fn,
	    char allow[ROUTER_ALLOW_MAX]);

/*
 * Answer req: its handler when router_match() finds one in the table of
 * req->listener, else 404, or 405 with Allow. On the worker's loop.
 */
void	 router_route(struct request *);

/*
 * The endpoint number of path on listener (0 .. METRICS_ENDPOINTS - 2),
 * or -1 for a path that listener does not route: the metrics "endpoint"
 * label, never the raw URL. A path routed on both listeners has one
 * number.
 */
int	 router_endpoint(enum request_listener listener, const char *path);
/*
 * The path of endpoint number n, or NULL when n is not one (each path is
 * the name of one number only). Static.
 */
const char *router_endpoint_name(int n);

#endif
