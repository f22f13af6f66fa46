/*
 * router: (method, path) -> handler. Unknown path -> 404, a known path with
 * another method -> 405 with Allow. HEAD is served wherever GET is.
 */
#ifndef TOKEND_ROUTER_H
#define TOKEND_ROUTER_H

struct request;

void	 router_route(struct request *);

#endif
