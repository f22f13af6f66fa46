/*
 * request: the per-request context, its reference count, what a handler
 * reads of the request (headers, body, query), and the access log line.
 *
 * request_new() builds the context when evhttp has read a whole request:
 * method, path, id (reqid.h; before anything can answer it), peer and
 * source address, its connection, which it tells (the request deadline
 * stops). The access-log line is written in one place, when evhttp reports
 * the reply written (request_complete), or when the client vanished first
 * (request_client_gone). The path is logged without its query, so nothing
 * a client puts there reaches the log.
 *
 * Nothing here answers a request. Dependencies point one way, bottom to
 * top: request -> reply (writes into a struct request) -> router -> the
 * dispatcher (dispatch.c: evhttp's request callback, the refusals answered
 * before routing, then the router) -> the handlers. This file includes
 * none of reply.h, router.h, dispatch.h, handler.h; below it are the
 * worker (the request's context) and the connection table.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "client_addr.h"
#include "config.h"
#include "conn.h"
#include "log.h"
#include "metrics.h"
#include "request.h"
#include "util.h"
#include "worker.h"

static const char *
method_name(enum evhttp_cmd_type cmd)
{
	switch (cmd) {
	case EVHTTP_REQ_GET:		return "GET";
	case EVHTTP_REQ_POST:		return "POST";
	case EVHTTP_REQ_HEAD:		return "HEAD";
	case EVHTTP_REQ_PUT:		return "PUT";
	case EVHTTP_REQ_DELETE:		return "DELETE";
	case EVHTTP_REQ_OPTIONS:	return "OPTIONS";
	case EVHTTP_REQ_TRACE:		return "TRACE";
	case EVHTTP_REQ_CONNECT:	return "CONNECT";
	case EVHTTP_REQ_PATCH:		return "PATCH";
	}
	return "OTHER";
}

const char *
request_listener_name(enum request_listener listener)
{
	return listener == REQUEST_MANAGEMENT ? "management" : "public";
}

static void
access_log(const struct request *req, bool gone)
{
	if (!log_enabled(LOG_LEVEL_INFO))
		return;
	log_info("event=access method=%s path=%s status=%d dur_us=%llu "
	    "client=%s peer=%s worker=%d client_gone=%d listener=%s "
	    "request_id=%s",
	    req->method, req->path, req->status,
	    (unsigned long long)(now_usec() - req->start_usec), req->client,
	    req->peer, req->worker->id, gone ? 1 : 0,
	    request_listener_name(req->listener), req->request_id);
}

static void
request_free(struct request *req)
{
	free(req);
}

void
request_hold(struct request *req)
{
	req->refs++;
}

void
request_release(struct request *req)
{
	if (--req->refs == 0)
		request_free(req);
}

/* evhttp wrote the reply: the request is over on the HTTP side. */
static void
request_complete(struct evhttp_request *ev, void *arg)
{
	struct request	*req = arg;

	(void)ev;
	access_log(req, false);
	metrics_request(&req->worker->metrics, req->endpoint, req->status,
	    now_usec() - req->start_usec);
	req->ev = NULL;
	if (req->conn != NULL)
		conn_request_finished(req->conn);
	worker_request_done(req->worker);
	request_release(req);
}

void
request_client_gone(struct request *req)
{
	if (req->gone)
		return;
	req->gone = true;
	req->ev = NULL;
	req->conn = NULL;
	if (req->status == 0)
		req->status = 499;
	access_log(req, true);
	metrics_request(&req->worker->metrics, req->endpoint, req->status,
	    now_usec() - req->start_usec);
	req->path = "-";	/* it lived in evhttp's request */
	worker_request_done(req->worker);
	request_release(req);
}

/*
 * The source address of req: its peer's, or with --trusted-proxies the
 * last X-Forwarded-For hop a trusted proxy added (every X-Forwarded-For
 * header, in order, counts as one list).
 */
static void
request_set_client(struct request *req, struct evhttp_request *ev)
{
	const struct config	*cfg = req->worker->cfg;
	struct evkeyvalq	*headers;
	struct evkeyval		*h;
	const char		*xff[16];
	size_t			 n = 0;

	if (cfg->n_trusted_proxies > 0 &&
	    (headers = evhttp_request_get_input_headers(ev)) != NULL) {
		TAILQ_FOREACH(h, headers, next) {
			if (strcasecmp(h->key, "X-Forwarded-For") != 0)
				continue;
			/* Keep the last ones: the walk starts at the right. */
			if (n == nitems(xff)) {
				memmove(xff, xff + 1, sizeof(xff) -
				    sizeof(xff[0]));
				n--;
			}
			xff[n++] = h->value;
		}
	}
	client_address_from_xff(req->peer, xff, n, cfg->trusted_proxies,
	    cfg->n_trusted_proxies, req->client, sizeof(req->client));
}

struct request *
request_new(struct evhttp_request *ev, struct worker *worker,
    enum request_listener listener)
{
	struct evhttp_connection	*evcon;
	const struct evhttp_uri		*uri;
	struct request			*req;
	char				*addr = NULL;
	const char			*peer;
	size_t				 n;

	req = xcalloc(1, sizeof(*req));
	req->ev = ev;
	req->worker = worker;
	req->listener = listener;
	req->start_usec = now_usec();
	req->method = method_name(evhttp_request_get_command(ev));
	req->refs = 1;		/* the HTTP side's reference */
	/* Before anything can reply: every reply carries the id. */
	(void)reqid_choose(evhttp_find_header(
	    evhttp_request_get_input_headers(ev), "X-Request-Id"),
	    req->request_id);
	uri = evhttp_request_get_evhttp_uri(ev);
	req->path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	if (req->path == NULL || req->path[0] == '\0')
		req->path = "/";

	evcon = evhttp_request_get_connection(ev);
	evhttp_connection_get_peer(evcon, &addr, &req->peer_port);
	peer = addr != NULL ? addr : "-";
	n = strnlen(peer, sizeof(req->peer) - 1);	/* snprintf's "%s" */
	memcpy(req->peer, peer, n);
	req->peer[n] = '\0';
	request_set_client(req, ev);
	req->conn = conn_find(listener == REQUEST_MANAGEMENT ?
	    &worker->mgmt_conns : &worker->conns, evcon);
	worker->inflight++;
	evhttp_request_set_on_complete_cb(ev, request_complete, req);
	if (req->conn != NULL)
		conn_request_started(req->conn, req);
	return req;
}

bool
request_peer_trusted(const struct request *req)
{
	const struct config	*cfg = req->worker->cfg;
	char			 addr[CLIENT_ADDR_MAX];

	return cfg->n_trusted_proxies > 0 &&
	    client_addr_canonical(req->peer, strlen(req->peer), addr) &&
	    client_addr_trusted(addr, cfg->trusted_proxies,
	    cfg->n_trusted_proxies);
}

const char *
request_header(const struct request *req, const char *name)
{
	if (req->ev == NULL)
		return NULL;
	return evhttp_find_header(evhttp_request_get_input_headers(req->ev),
	    name);
}

size_t
request_header_count(const struct request *req, const char *name)
{
	struct evkeyvalq	*headers;
	struct evkeyval		*h;
	size_t			 n = 0;

	if (req->ev == NULL ||
	    (headers = evhttp_request_get_input_headers(req->ev)) == NULL)
		return 0;
	TAILQ_FOREACH(h, headers, next)
		if (strcasecmp(h->key, name) == 0)
			n++;
	return n;
}

const char *
request_body(struct request *req, size_t *len)
{
	struct evbuffer	*in;
	size_t		 n;

	*len = 0;
	if (req->ev == NULL)
		return NULL;
	in = evhttp_request_get_input_buffer(req->ev);
	if ((n = evbuffer_get_length(in)) == 0)
		return NULL;
	*len = n;
	return (const char *)evbuffer_pullup(in, -1);
}

bool
request_has_content_type(const struct request *req)
{
	return request_header(req, "Content-Type") != NULL;
}

bool
request_content_type_is(const struct request *req, const char *type)
{
	const char	*ct = request_header(req, "Content-Type");
	size_t		 n = strlen(type);

	if (ct == NULL)
		return false;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, type, n) != 0)
		return false;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

const char *
request_query(const struct request *req)
{
	const struct evhttp_uri	*uri;

	if (req->ev == NULL ||
	    (uri = evhttp_request_get_evhttp_uri(req->ev)) == NULL)
		return NULL;
	return evhttp_uri_get_query(uri);
}
