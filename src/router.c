/*
 * router: the route tables, one per listener (request.h): the public one
 * (--listen) and the management one (--management-listen), which alone
 * has /metrics. One row per (path, method); a path's rows are adjacent so
 * the Allow header can be built from them. Paths match exactly (no prefix
 * or trailing-slash games); a path another listener routes is 404 here.
 * HEAD is answered by the GET handler; evhttp omits the body.
 *
 * Left to others: building the request (request.c), the refusals answered
 * before routing (dispatch.c, which calls router_route()), the endpoints
 * themselves (handler_*.c). Includes point down (request.h, reply.h) and,
 * for the table alone, to the handlers' declarations (handler.h).
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "handler.h"
#include "metrics.h"
#include "reply.h"
#include "request.h"
#include "router.h"
#include "util.h"

struct route {
	const char	*method;
	const char	*path;
	handler_fn	 fn;
};

/* --listen: the API, to anyone who can reach it. No /metrics here. */
static const struct route public_routes[] = {
	{ "GET",	"/",		handler_index },
	{ "GET",	"/healthz",	handler_healthz },
	{ "GET",	"/readyz",	handler_readyz },
	{ "POST",	"/oauth/token",	handler_token },
	{ "POST",	"/authorize",	handler_authorize },
	{ "GET",	"/verify",	handler_verify },
	{ "POST",	"/verify",	handler_verify },
	{ "POST",	"/oauth/introspect", handler_introspect },
	{ "POST",	"/oauth/revoke", handler_revoke },
	{ "GET",	"/.well-known/jwks.json", handler_jwks },
	{ "GET",	"/.well-known/oauth-authorization-server",
	    handler_metadata },
};

/* --management-listen: operators' monitoring; client ids as labels. */
static const struct route management_routes[] = {
	{ "GET",	"/healthz",	handler_healthz },
	{ "GET",	"/readyz",	handler_readyz },
	{ "GET",	"/metrics",	handler_metrics },
};

/*
 * Endpoint numbers: the rows of both tables in turn, the public ones
 * first. A path's number is that of its first row in either table, so
 * /healthz has one metrics label whichever listener answered it.
 */
#define N_PUBLIC	nitems(public_routes)
#define N_ROWS		(N_PUBLIC + nitems(management_routes))

/* The last endpoint slot is "other". */
_Static_assert(N_ROWS < METRICS_ENDPOINTS, "too many routes");

static const struct route *
row(size_t i)
{
	return i < N_PUBLIC ? &public_routes[i] :
	    &management_routes[i - N_PUBLIC];
}

static const struct route *
listener_routes(enum request_listener listener, size_t *n)
{
	if (listener == REQUEST_MANAGEMENT) {
		*n = nitems(management_routes);
		return management_routes;
	}
	*n = nitems(public_routes);
	return public_routes;
}

int
router_endpoint(enum request_listener listener, const char *path)
{
	const struct route	*routes;
	size_t			 n, i;

	routes = listener_routes(listener, &n);
	for (i = 0; i < n; i++)
		if (strcmp(routes[i].path, path) == 0)
			break;
	if (i == n)
		return -1;	/* not routed here: "other" */
	for (i = 0; i < N_ROWS; i++)
		if (strcmp(row(i)->path, path) == 0)
			break;
	return (int)i;
}

const char *
router_endpoint_name(int endpoint)
{
	size_t	 i;

	if (endpoint < 0 || (size_t)endpoint >= N_ROWS)
		return NULL;
	for (i = 0; i < (size_t)endpoint; i++)
		if (strcmp(row(i)->path, row((size_t)endpoint)->path) == 0)
			return NULL;
	return row((size_t)endpoint)->path;
}

enum router_match
router_match(enum request_listener listener, const char *method,
    const char *path, handler_fn *fn, char allow[ROUTER_ALLOW_MAX])
{
	const struct route	*routes;
	size_t			 alen = 0, n, i;
	bool			 path_known = false;

	if (strcmp(method, "HEAD") == 0)
		method = "GET";
	routes = listener_routes(listener, &n);
	for (i = 0; i < n; i++) {
		if (strcmp(routes[i].path, path) != 0)
			continue;
		if (strcmp(routes[i].method, method) == 0) {
			*fn = routes[i].fn;
			return ROUTER_FOUND;
		}
		/* The tables are small and fixed: ROUTER_ALLOW_MAX is ample. */
		alen += (size_t)snprintf(allow + alen, ROUTER_ALLOW_MAX - alen,
		    "%s%s%s", path_known ? ", " : "", routes[i].method,
		    strcmp(routes[i].method, "GET") == 0 ? ", HEAD" : "");
		path_known = true;
	}
	return path_known ? ROUTER_BAD_METHOD : ROUTER_NOT_FOUND;
}

void
router_route(struct request *req)
{
	handler_fn	 fn;
	char		 allow[ROUTER_ALLOW_MAX];

	switch (router_match(req->listener, req->method, req->path, &fn,
	    allow)) {
	case ROUTER_FOUND:
		fn(req);
		return;
	case ROUTER_NOT_FOUND:
		reply_error(req, 404, "not_found", "no such endpoint", 0);
		return;
	case ROUTER_BAD_METHOD:
		break;
	}
	reply_header(req, "Allow", allow);
	reply_error(req, 405, "method_not_allowed",
	    "method not allowed for this endpoint", 0);
}
