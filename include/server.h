/*
 * server: the process. Binds one SO_REUSEPORT listening socket per worker
 * on --listen and one socket on --management-listen (served by worker 0),
 * starts the workers (one thread and one event loop each), and runs the
 * main thread's loop, which only handles signals:
 *   SIGTERM, SIGINT  stop accepting, drain in-flight requests (bounded by
 *                    --shutdown-timeout), exit 0;
 *   SIGHUP           reload the signing keys and the TLS certificate and
 *                    key, together: if any file fails to load, the old
 *                    set stays in use and the log says why.
 */
#ifndef TOKEND_SERVER_H
#define TOKEND_SERVER_H

#include <openssl/ssl.h>

struct config;
struct keyset;
struct server;

/*
 * Create the server: bind every listening socket and set up the workers.
 * cfg is borrowed and must outlive the server. ssl_ctx (NULL with
 * --plain-http) and keys are taken over, also on failure.
 * Returns NULL with one line in errbuf and the exit status in *status: 2
 * when an address cannot be bound (the line names the setting, as for a
 * bad value), 1 for any other failure.
 */
struct server	*server_new(const struct config *cfg, SSL_CTX *ssl_ctx,
		    struct keyset *keys, int *status, char *errbuf,
		    size_t errlen);

/* Run until SIGTERM/SIGINT; returns the process exit status. */
int		 server_run(struct server *);

void		 server_free(struct server *);

#endif
