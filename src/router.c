/*
 * router: the route table. One row per (path, method); a path's rows are
 * adjacent so the Allow header can be built from them. Paths match
 * exactly (no prefix or trailing-slash games). HEAD is answered by the GET
 * handler; evhttp omits the body.
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

static const struct route routes[] = {
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
	{ "GET",	"/metrics",	handler_metrics },
};

/* The last endpoint slot is "other". */
_Static_assert(nitems(routes) < METRICS_ENDPOINTS, "too many routes");

/*
 * A path's endpoint number is the index of its first row, so that the
 * metrics label is the route's path, bounded by the table.
 */
int
router_endpoint(const char *path)
{
	size_t	 i;

	for (i = 0; i < nitems(routes); i++)
		if (strcmp(routes[i].path, path) == 0)
			return (int)i;
	return -1;
}

const char *
router_endpoint_name(int endpoint)
{
	size_t	 i;

	if (endpoint < 0 || (size_t)endpoint >= nitems(routes))
		return NULL;
	for (i = 0; i < (size_t)endpoint; i++)
		if (strcmp(routes[i].path, routes[endpoint].path) == 0)
			return NULL;
	return routes[endpoint].path;
}

enum router_match
router_match(const char *method, const char *path, handler_fn *fn,
    char allow[ROUTER_ALLOW_MAX])
{
	size_t	 alen = 0;
	bool	 path_known = false;
	size_t	 i;

	if (strcmp(method, "HEAD") == 0)
		method = "GET";
	for (i = 0; i < nitems(routes); i++) {
		if (strcmp(routes[i].path, path) != 0)
			continue;
		if (strcmp(routes[i].method, method) == 0) {
			*fn = routes[i].fn;
			return ROUTER_FOUND;
		}
		/* The table is small and fixed: ROUTER_ALLOW_MAX is ample. */
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

	switch (router_match(req->method, req->path, &fn, allow)) {
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
