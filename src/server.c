/*
 * server: the process around the workers.
 *
 * Start-up binds one listening socket per worker on --listen, each with
 * SO_REUSEPORT so the kernel spreads connections across workers without a
 * shared accept lock, and with TCP_NODELAY, which accepted sockets inherit
 * (without it, keep-alive HTTPS through bufferevent_openssl stalls on
 * Nagle's algorithm and delayed ACKs: about 1.4k req/s at 44 ms on this
 * machine, against over 30k req/s at under 2 ms with it).
 *
 * It then binds the management listener (--management-listen, unless
 * off): one socket without SO_REUSEPORT, so that a second process cannot
 * bind the port too and silently take part of the scrapes, served by
 * worker 0 with limits of its own (worker_serve_management()). An address
 * that cannot be bound is a start-up error of its setting: exit status 2,
 * one line naming it.
 *
 * The main thread then only waits for signals on its own event_base:
 * SIGTERM/SIGINT ask every worker to drain and stop, and the process exits
 * 0 once they have; SIGHUP reloads the TLS certificate and key, handing a
 * new SSL_CTX to each worker (a file that fails to load keeps the old
 * context, and says why in the log). File I/O happens here, never on a
 * worker's loop.
 *
 * Where it sits: above the workers and the transport. Each worker, once
 * set up (worker_init()), gets its request path plugged into its evhttp
 * here (dispatch_serve(), dispatch.h), so that neither worker.c nor conn.c
 * names anything of the request path above them.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "client_cert.h"
#include "config.h"
#include "dispatch.h"
#include "keys.h"
#include "log.h"
#include "metrics.h"
#include "server.h"
#include "tls.h"
#include "util.h"
#include "worker.h"

struct server {
	const struct config	*cfg;
	struct worker		*workers;
	int			 n_workers;
	int			 n_init;
	struct event_base	*base;
	struct event		*sig_term, *sig_int, *sig_hup;
	SSL_CTX			*ssl_ctx;
	struct keyset		*keys;
	atomic_int		 open_conns;
	atomic_int		 management_conns;	/* its own cap */
	bool			 stopping;
};

/*
 * A listening socket on la, named in errors by `setting` ("--listen /
 * TOKEND_LISTEN"). reuseport: one socket per worker on the same port (the
 * public listener). Returns the descriptor, or -1 with a reason in errbuf
 * and *status set: 2 when the address cannot be bound (the setting's
 * fault, as a bad value is), 1 for any other failure.
 */
static int
listen_socket(const struct listen_addr *la, bool reuseport,
    const char *setting, int *status, char *errbuf, size_t errlen)
{
	int	 fd, one = 1;

	*status = 1;
	fd = socket(la->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(errbuf, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one,
	    sizeof(one))) ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one))) {
		snprintf(errbuf, errlen, "setsockopt: %s", strerror(errno));
		close(fd);
		return -1;
	}
	/* SO_REUSEADDR lets bind() pass on a port another socket has
	 * bound but not yet listens on; listen() then says so. */
	if (bind(fd, (const struct sockaddr *)&la->sa, la->salen) == -1 ||
	    listen(fd, 1024) == -1) {
		snprintf(errbuf, errlen, "%s: cannot listen on %s%s%s:%u: %s",
		    setting, la->sa.ss_family == AF_INET6 ? "[" : "", la->host,
		    la->sa.ss_family == AF_INET6 ? "]" : "", la->port,
		    strerror(errno));
		*status = 2;
		close(fd);
		return -1;
	}
	return fd;
}

struct server *
server_new(const struct config *cfg, SSL_CTX *ssl_ctx, struct keyset *keys,
    int *status, char *errbuf, size_t errlen)
{
	struct server	*s;
	int		 i, fd;

	*status = 1;
	metrics_process_start();
	s = xcalloc(1, sizeof(*s));
	s->cfg = cfg;
	s->ssl_ctx = ssl_ctx;
	s->keys = keys;
	s->n_workers = cfg->workers;
	atomic_init(&s->open_conns, 0);
	atomic_init(&s->management_conns, 0);
	s->workers = xcalloc((size_t)s->n_workers, sizeof(*s->workers));
	for (i = 0; i < s->n_workers; i++) {
		if ((fd = listen_socket(&cfg->listen, true,
		    "--listen / TOKEND_LISTEN", status, errbuf, errlen)) == -1)
			goto fail;
		if (worker_init(&s->workers[i], i, s->n_workers, cfg, fd,
		    ssl_ctx, keys, &s->open_conns) == -1) {
			s->n_init = i + 1;
			snprintf(errbuf, errlen, "cannot set up worker %d", i);
			goto fail;
		}
		s->n_init = i + 1;
		s->workers[i].peers = s->workers;
	}
	/*
	 * The management listener: one socket, without SO_REUSEPORT, so
	 * that no other process can share the port and take part of the
	 * scrapes; served by worker 0 (docs/internals.md says why).
	 */
	if (!cfg->management_off) {
		if ((fd = listen_socket(&cfg->management_listen, false,
		    "--management-listen / TOKEND_MANAGEMENT_LISTEN", status,
		    errbuf, errlen)) == -1)
			goto fail;
		if (worker_serve_management(&s->workers[0], fd,
		    &s->management_conns) == -1) {
			*status = 1;
			snprintf(errbuf, errlen, "cannot set up the management "
			    "listener");
			goto fail;
		}
	}
	for (i = 0; i < s->n_workers; i++)
		dispatch_serve(&s->workers[i]);
	return s;
fail:
	server_free(s);
	return NULL;
}

static void
on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct server	*s = arg;
	int		 i;

	(void)what;
	if (s->stopping)
		return;
	s->stopping = true;
	log_info("event=shutdown signal=%s", sig == SIGTERM ? "TERM" : "INT");
	for (i = 0; i < s->n_workers; i++)
		worker_post_stop(&s->workers[i]);
	/*
	 * Leave the handlers installed, so that a second signal during the
	 * drain is absorbed rather than killing the process.
	 */
	event_base_loopexit(s->base, NULL);
}

/*
 * SIGHUP, --tls-client-ca: a file that fails to load keeps the previous
 * CAs (and does not stop the rest of the reload).
 */
static void
reload_client_ca(const struct config *cfg)
{
	X509_STORE	*ca;
	char		 err[512];

	if (cfg->tls_client_ca == NULL)
		return;
	if ((ca = client_cert_store_load(cfg->tls_client_ca, err,
	    sizeof(err))) == NULL) {
		log_warnx("event=reload_failed what=client_ca err=%s "
		    "kept=previous", err);
		return;
	}
	client_cert_ca_set(ca);
	X509_STORE_free(ca);
	log_info("event=reload what=client_ca");
}

/*
 * SIGHUP: load the key set and (with TLS) the certificate, and hand both
 * to every worker, or neither: a file that fails keeps the old set.
 */
static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct server	*s = arg;
	SSL_CTX		*ctx = NULL;
	struct keyset	*keys;
	char		 err[512];
	int		 i;

	(void)sig;
	(void)what;
	log_flush_all(false);	/* every line before the signal, out now */
	reload_client_ca(s->cfg);
	if ((keys = keyset_load(s->cfg, err, sizeof(err))) == NULL) {
		log_warnx("event=reload_failed what=keys err=%s "
		    "kept=previous", err);
		metrics_key_reload(false);
		return;
	}
	if (!s->cfg->plain_http && ((ctx = tls_ctx_new(s->cfg->tls_cert,
	    s->cfg->tls_key, err, sizeof(err))) == NULL ||
	    (s->cfg->tls_client_auth == TLS_CLIENT_AUTH_OPTIONAL &&
	    tls_ctx_ask_client_cert(ctx) == -1))) {
		if (ctx != NULL)
			snprintf(err, sizeof(err), "client certificate "
			    "request refused");
		SSL_CTX_free(ctx);
		log_warnx("event=reload_failed what=tls err=%s "
		    "kept=previous", err);
		keyset_unref(keys);
		metrics_key_reload(false);
		return;
	}
	if (ctx != NULL && tls_ctx_set_ticket_keys(ctx,
	    s->cfg->tls_ticket_key_file, err, sizeof(err)) == -1) {
		log_warnx("event=reload_failed what=tls_ticket_keys err=%s "
		    "kept=previous", err);
		SSL_CTX_free(ctx);
		keyset_unref(keys);
		metrics_key_reload(false);
		return;
	}
	for (i = 0; i < s->n_workers; i++)
		worker_post_reload(&s->workers[i], ctx, keys);
	if (ctx != NULL) {
		SSL_CTX_free(s->ssl_ctx);
		s->ssl_ctx = ctx;
	}
	keyset_unref(s->keys);
	s->keys = keys;
	log_info("event=reload what=%s kid=%s", ctx != NULL ? "keys,tls" :
	    "keys", key_kid(keyset_signing_key(keys)));
	metrics_key_reload(true);
}

int
server_run(struct server *s)
{
	int	 i, rc = 0;

	if ((s->base = event_base_new()) == NULL) {
		log_error("event=start_failed err=\"event_base_new\"");
		return 1;
	}
	s->sig_term = evsignal_new(s->base, SIGTERM, on_stop, s);
	s->sig_int = evsignal_new(s->base, SIGINT, on_stop, s);
	s->sig_hup = evsignal_new(s->base, SIGHUP, on_hup, s);
	if (s->sig_term == NULL || s->sig_int == NULL || s->sig_hup == NULL ||
	    evsignal_add(s->sig_term, NULL) || evsignal_add(s->sig_int, NULL) ||
	    evsignal_add(s->sig_hup, NULL)) {
		log_error("event=start_failed err=\"signal handlers\"");
		return 1;
	}
	/*
	 * Workers start after the handlers are in place, and block the
	 * signals so that they are delivered to this thread.
	 */
	{
		sigset_t	 set, old;

		sigemptyset(&set);
		sigaddset(&set, SIGTERM);
		sigaddset(&set, SIGINT);
		sigaddset(&set, SIGHUP);
		pthread_sigmask(SIG_BLOCK, &set, &old);
		for (i = 0; i < s->n_workers; i++)
			if (worker_start(&s->workers[i]) == -1)
				rc = 1;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	if (rc != 0) {
		for (i = 0; i < s->n_workers; i++)
			worker_post_stop(&s->workers[i]);
	} else {
		log_info("event=listening addr=%s port=%u workers=%d tls=%s",
		    s->cfg->listen.host, s->cfg->listen.port, s->n_workers,
		    s->cfg->plain_http ? "off" : "on");
		if (!s->cfg->management_off)
			log_info("event=management_listening addr=%s port=%u",
			    s->cfg->management_listen.host,
			    s->cfg->management_listen.port);
		event_base_dispatch(s->base);
	}
	for (i = 0; i < s->n_workers; i++)
		worker_join(&s->workers[i]);
	if (rc == 0)
		log_info("event=stopped");
	return rc;
}

void
server_free(struct server *s)
{
	int	 i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n_init; i++)
		worker_finish(&s->workers[i]);
	free(s->workers);
	if (s->sig_term != NULL)
		event_free(s->sig_term);
	if (s->sig_int != NULL)
		event_free(s->sig_int);
	if (s->sig_hup != NULL)
		event_free(s->sig_hup);
	if (s->base != NULL)
		event_base_free(s->base);
	SSL_CTX_free(s->ssl_ctx);
	keyset_unref(s->keys);
	free(s);
}
