/*
 * router: (method, path) -> handler. Unknown path -> 404, a known path with
 * another method -> 405 with Allow. HEAD is served wherever GET is.
 */
#ifndef TOKEND_ROUTER_H
#define TOKEND_ROUTER_H

struct request;

void	 router_route(struct request *);

/*
 * The endpoint number of path (0 .. METRICS_ENDPOINTS - 2), or -1 for a
 * path no route has: the metrics "endpoint" label, never the raw URL.
 */
int	 router_endpoint(const char *path);
/* The path of endpoint number n, or NULL when n is not one. Static. */
const char *router_endpoint_name(int n);

#endif
