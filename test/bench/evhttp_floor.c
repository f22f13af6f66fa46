/*
 * evhttp_floor: the floor of tokend's transport design, for scripts/bench.
 * libevent's evhttp on a bufferevent_openssl per connection, built with
 * tokend's own tls_ctx_new() and tls_bufferevent_new() (the same TLS
 * policy, buffers and dirty shutdown), one loop per thread on an
 * SO_REUSEPORT + TCP_NODELAY listener each, like tokend's workers; every
 * request gets a fixed 200 with the headers and body of tokend's /healthz
 * (a fixed request id; libevent adds the Date), and nothing else happens
 * per request.
 * Like tokend, it makes a small reply's head and body one chain (one TLS
 * record; reply.c) and runs its loops with epoll's changelist (worker.c),
 * unless EVHTTP_FLOOR_STOCK=1 asks for libevent as it comes.
 * EVHTTP_FLOOR_KEEP_BUFFERS=1 turns SSL_MODE_RELEASE_BUFFERS off.
 *
 *   evhttp_floor PORT WORKERS CERT KEY [TICKET_KEY_FILE]
 *
 * Listens on 127.0.0.1 only. Runs until killed.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <openssl/ssl.h>

#include "tls.h"

#define MAX_WORKERS	16

static SSL_CTX	*ssl_ctx;
static int	 port;
static int	 stock;

static struct bufferevent *
bevcb(struct event_base *base, void *arg)
{
	(void)arg;
	return tls_bufferevent_new(base, ssl_ctx);
}

static void
reply(struct evhttp_request *req, void *arg)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);
	struct evbuffer		*body = evhttp_request_get_output_buffer(req);
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent	*bev = NULL;
	struct evbuffer		*out;

	(void)arg;
	if (evcon != NULL && !stock)
		bev = evhttp_connection_get_bufferevent(evcon);
	evhttp_add_header(h, "Content-Type", "application/json");
	evhttp_add_header(h, "X-Request-Id", "0000000000000000-0");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "Pragma", "no-cache");
	evbuffer_add(body, "{\"status\":\"ok\"}", 15);
	evhttp_send_reply(req, 200, "OK", NULL);
	if (bev != NULL && (out = bufferevent_get_output(bev)) != NULL &&
	    evbuffer_get_length(out) <= 8192)
		(void)evbuffer_pullup(out, -1);
}

static int
listener(void)
{
	struct sockaddr_in	 sin;
	int			 fd, one = 1;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, 1024) == -1 || evutil_make_socket_nonblocking(fd)) {
		close(fd);
		return -1;
	}
	return fd;
}

static void *
worker(void *arg)
{
	struct event_config	*cfg = event_config_new();
	struct event_base	*base;
	struct evhttp		*http;
	int			 fd = listener();

	(void)arg;
	/* tokend's workers use epoll's changelist (worker.c): not stock. */
	if (cfg != NULL && !stock)
		(void)event_config_set_flag(cfg,
		    EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	base = cfg != NULL ? event_base_new_with_config(cfg) : NULL;
	if (cfg != NULL)
		event_config_free(cfg);
	if (base == NULL || fd == -1 || (http = evhttp_new(base)) == NULL) {
		fprintf(stderr, "evhttp_floor: cannot listen on %d\n", port);
		exit(1);
	}
	evhttp_set_bevcb(http, bevcb, NULL);
	evhttp_set_gencb(http, reply, NULL);
	if (evhttp_accept_socket(http, fd) != 0) {
		fprintf(stderr, "evhttp_floor: evhttp_accept_socket\n");
		exit(1);
	}
	event_base_dispatch(base);
	return NULL;
}

int
main(int argc, char *argv[])
{
	pthread_t	 t[MAX_WORKERS];
	char		 err[512];
	int		 i, n;

	if (argc < 5 || argc > 6 || (port = atoi(argv[1])) <= 0 ||
	    (n = atoi(argv[2])) < 1 || n > MAX_WORKERS) {
		fprintf(stderr, "usage: evhttp_floor PORT WORKERS CERT KEY "
		    "[TICKET_KEY_FILE]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	stock = getenv("EVHTTP_FLOOR_STOCK") != NULL &&
	    strcmp(getenv("EVHTTP_FLOOR_STOCK"), "1") == 0;
	if ((ssl_ctx = tls_ctx_new(argv[3], argv[4], err, sizeof(err))) ==
	    NULL || tls_ctx_set_ticket_keys(ssl_ctx, argc == 6 ? argv[5] :
	    NULL, err, sizeof(err)) == -1) {
		fprintf(stderr, "evhttp_floor: %s\n", err);
		return 2;
	}
	/* What SSL_MODE_RELEASE_BUFFERS costs per request (tls.c). */
	if (getenv("EVHTTP_FLOOR_KEEP_BUFFERS") != NULL &&
	    strcmp(getenv("EVHTTP_FLOOR_KEEP_BUFFERS"), "1") == 0)
		SSL_CTX_clear_mode(ssl_ctx, SSL_MODE_RELEASE_BUFFERS);
	for (i = 0; i < n; i++)
		if (pthread_create(&t[i], NULL, worker, NULL) != 0)
			return 1;
	for (i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	return 0;
}
