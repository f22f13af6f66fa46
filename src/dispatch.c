/*
 * dispatch: evhttp's request callbacks, one per listener (the public one,
 * and on worker 0 the management one), which differ only in the listener
 * they tell the request and so the route table it gets. For each request
 * evhttp has read whole: request_new() (request.c) makes its context and
 * stops the connection's deadline; the dispatcher sets the metrics
 * endpoint (router_endpoint()), then answers, in this order,
 *   - a connection accepted over its listener's cap: 503
 *     temporarily_unavailable with Retry-After: 1, and the connection
 *     closes;
 *   - a connection on which a NUL byte arrived (conn.c watches for it):
 *     400 invalid_request, and the connection closes;
 *   - a request whose message framing is faulty (conn.c checks it,
 *     framing.h says what is refused): 400 invalid_request, and the
 *     connection closes, so nothing after it on the connection is read.
 *     Such a request reaches here with no content read: evhttp
 *     dispatches it at once when its head is faulty, and conn.c calls
 *     this callback itself (the table's `refuse`) when its chunked body
 *     turns out faulty while arriving;
 * and routes everything else (router_route()), asking for
 * "Connection: close" while the worker drains.
 *
 * Left to others: the context, the access-log line and the request's
 * metrics (request.c), writing replies (reply.c), (method, path) ->
 * handler, 404 and 405 (router.c), and the connections themselves
 * (conn.c).
 *
 * Dependencies point one way, bottom to top: request -> reply -> router
 * -> dispatch -> the handlers (through the router's table). Nothing below
 * includes dispatch.h; server.c installs it (dispatch_serve()).
 *
 * The hot path: one allocation per request (the struct request, in
 * request_new()); the only indirect calls are evhttp's callback into this
 * file and the router's into the handler.
 */
#include <event2/http.h>

#include "conn.h"
#include "dispatch.h"
#include "framing.h"
#include "log.h"
#include "reply.h"
#include "request.h"
#include "router.h"
#include "worker.h"

/* RFC 9112 6.3: a message whose length cannot be known is refused and
   its connection closed. */
static void
refuse_framing(struct request *req, enum framing_verdict v)
{
	if (v == FRAMING_UNCHECKED) {
		log_error("event=bug err=\"framing not checked\" path=%s "
		    "request_id=%s", req->path, req->request_id);
		reply_error(req, 500, "server_error", NULL, REPLY_CLOSE);
		return;
	}
	log_info("event=bad_framing reason=%s client=%s request_id=%s",
	    framing_verdict_name(v), req->client, req->request_id);
	reply_error(req, 400, "invalid_request", framing_verdict_text(v),
	    REPLY_CLOSE);
}

static void
dispatch(struct evhttp_request *ev, struct worker *worker,
    enum request_listener listener)
{
	struct request		*req;
	enum framing_verdict	 framing;

	req = request_new(ev, worker, listener);
	req->endpoint = router_endpoint(listener, req->path);

	if (req->conn != NULL && conn_over_cap(req->conn)) {
		reply_header(req, "Retry-After", "1");
		reply_error(req, 503, "temporarily_unavailable",
		    "too many open connections", REPLY_CLOSE);
		return;
	}
	if (req->conn != NULL && conn_saw_nul(req->conn)) {
		reply_error(req, 400, "invalid_request", "NUL byte in request",
		    REPLY_CLOSE);
		return;
	}
	if (req->conn != NULL &&
	    (framing = conn_framing(req->conn)) != FRAMING_OK) {
		refuse_framing(req, framing);
		return;
	}
	if (worker->draining)
		reply_header(req, "Connection", "close");
	router_route(req);
}

/*
 * evhttp's generic callbacks, one per listener, and each listener's
 * connection table's `refuse`: arg is the worker.
 */
static void
dispatch_public(struct evhttp_request *ev, void *arg)
{
	dispatch(ev, arg, REQUEST_PUBLIC);
}

static void
dispatch_management(struct evhttp_request *ev, void *arg)
{
	dispatch(ev, arg, REQUEST_MANAGEMENT);
}

void
dispatch_serve(struct worker *w)
{
	w->conns.gone = request_client_gone;
	w->conns.refuse = dispatch_public;
	w->conns.refuse_arg = w;
	evhttp_set_gencb(w->http, dispatch_public, w);
	if (w->mgmt_http != NULL) {
		w->mgmt_conns.gone = request_client_gone;
		w->mgmt_conns.refuse = dispatch_management;
		w->mgmt_conns.refuse_arg = w;
		evhttp_set_gencb(w->mgmt_http, dispatch_management, w);
	}
}
