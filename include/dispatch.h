/*
 * dispatch: where a request that evhttp has read whole enters tokend. It
 * builds the request's context (request.h), answers what is refused
 * before routing (a connection over --max-connections, a NUL byte in the
 * request, faulty message framing) and hands the rest to the router (router.h), which calls the
 * handlers.
 *
 * Where it sits: at the top of the transport, below only the handlers
 * (which the router's table names). Dependencies point one way, bottom to
 * top: request -> reply -> router -> dispatch -> handlers. Nothing below
 * includes this header; server.c, which owns the workers, plugs it into
 * each one with dispatch_serve().
 */
#ifndef TOKEND_DISPATCH_H
#define TOKEND_DISPATCH_H

struct worker;

/*
 * Make dispatch w's request handler (evhttp_set_gencb) on each of its
 * listeners (the management one too, when w serves it): every request
 * w's evhttps read gets a struct request (request_new()), then either its
 * refusal or router_route() with the listener's routes; a connection of w
 * that closes under a request marks it gone (request_client_gone()
 * becomes each connection table's `gone`); and a request whose chunked
 * body conn.c finds faulty is refused at once (the listener's callback
 * becomes its connection table's `refuse`). Main thread, after
 * worker_init() and worker_serve_management(), before worker_start().
 */
void	 dispatch_serve(struct worker *w);

#endif
