/*
 * main: settings -> TLS context -> listening sockets and workers -> run ->
 * exit status. A bad setting is reported on one line and exits 2 before
 * any socket is opened; so does an address of --listen or
 * --management-listen that cannot be bound. For --help, --help-man and --version,
 * config_parse() only says which was asked for; config_doc_print()
 * (config_doc.h) prints it here and tokend exits 0.
 *
 * With --user, root is given up between binding the sockets (and loading
 * the keys and certificate) and starting the worker threads.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <openssl/ssl.h>

#include "client_cert.h"
#include "config.h"
#include "config_doc.h"
#include "dpop_seen.h"
#include "keys.h"
#include "log.h"
#include "priv.h"
#include "server.h"
#include "strmap.h"
#include "tls.h"
#include "util.h"

extern char **environ;

/* Connections need descriptors: take what the hard limit allows. */
static void
raise_fd_limit(void)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/*
 * The Redis client library under store.c resolves a host name with a
 * blocking getaddrinfo() at each (re)connect, on the worker's loop:
 * resolve it once here, before any loop runs, and hand the store the
 * address. A name that does not resolve now is kept, with a warning (the
 * library will try again, blocking). With a sentinel:// URL, each
 * sentinel's name is resolved the same way.
 */
static void
resolve_host(char **host)
{
	struct addrinfo		 hints, *res = NULL;
	char			 addr[INET6_ADDRSTRLEN];
	unsigned char		 buf[sizeof(struct in6_addr)];
	int			 rc;

	if (inet_pton(AF_INET, *host, buf) == 1 ||
	    inet_pton(AF_INET6, *host, buf) == 1)
		return;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(*host, NULL, &hints, &res)) != 0) {
		log_warnx("event=redis_resolve_failed host=%s err=\"%s\" "
		    "msg=\"resolving at each reconnect instead\"",
		    *host, gai_strerror(rc));
		return;
	}
	if (getnameinfo(res->ai_addr, res->ai_addrlen, addr, sizeof(addr),
	    NULL, 0, NI_NUMERICHOST) == 0) {
		log_info("event=redis_resolved host=%s addr=%s", *host, addr);
		free(*host);
		*host = xstrdup(addr);
	}
	freeaddrinfo(res);
}

static void
resolve_redis_host(struct config *cfg)
{
	size_t	 i;

	if (cfg->redis.kind == REDIS_TCP)
		resolve_host(&cfg->redis.host);
	else if (cfg->redis.kind == REDIS_SENTINEL)
		for (i = 0; i < cfg->redis.n_sentinels; i++)
			resolve_host(&cfg->redis.sentinels[i].host);
}

int
main(int argc, char *argv[])
{
	struct config		 cfg;
	struct server		*server = NULL;
	SSL_CTX			*ssl_ctx = NULL;
	struct keyset		*keys = NULL;
	char			 err[512];
	int			 status;
	enum config_result	 rc;

	switch ((rc = config_parse(&cfg, argc, argv, environ, err,
	    sizeof(err)))) {
	case CONFIG_OK:
		break;
	case CONFIG_HELP:
	case CONFIG_HELP_MAN:
	case CONFIG_VERSION:
		config_doc_print(rc, stdout);
		return 0;
	case CONFIG_ERROR:
	default:
		fprintf(stderr, "tokend: %s\n", err);
		return 2;
	}
	log_set_level(cfg.log_level);
	log_set_format(cfg.log_format);
	log_init();
	/* Dying on purpose (util.h) writes the workers' batched lines first. */
	util_set_abort_hook(log_flush_fatal);
	strmap_seed();
	(void)priv_nodump();	/* logged; the keys are not loaded yet */
	signal(SIGPIPE, SIG_IGN);
	resolve_redis_host(&cfg);
	raise_fd_limit();

	if ((keys = keyset_load(&cfg, err, sizeof(err))) == NULL) {
		fprintf(stderr, "tokend: %s\n", err);
		config_finish(&cfg);
		return 2;
	}
	if (!cfg.plain_http) {
		ssl_ctx = tls_ctx_new(cfg.tls_cert, cfg.tls_key, err,
		    sizeof(err));
		if (ssl_ctx == NULL) {
			fprintf(stderr, "tokend: --tls-cert / --tls-key: %s\n",
			    err);
			keyset_unref(keys);
			config_finish(&cfg);
			return 2;
		}
		if (cfg.tls_client_auth == TLS_CLIENT_AUTH_OPTIONAL &&
		    tls_ctx_ask_client_cert(ssl_ctx) == -1) {
			fprintf(stderr, "tokend: --tls-client-auth: OpenSSL "
			    "refused\n");
			SSL_CTX_free(ssl_ctx);
			keyset_unref(keys);
			config_finish(&cfg);
			return 2;
		}
		if (tls_ctx_set_ticket_keys(ssl_ctx, cfg.tls_ticket_key_file,
		    err, sizeof(err)) == -1) {
			fprintf(stderr, "tokend: --tls-ticket-key-file: %s\n",
			    err);
			SSL_CTX_free(ssl_ctx);
			keyset_unref(keys);
			config_finish(&cfg);
			return 2;
		}
	} else {
		log_warnx("event=plain_http msg=\"TLS is off (--plain-http): "
		    "run only behind a TLS-terminating proxy\"");
	}
	if (cfg.tls_client_ca != NULL) {
		X509_STORE	*ca;

		if ((ca = client_cert_store_load(cfg.tls_client_ca, err,
		    sizeof(err))) == NULL) {
			fprintf(stderr, "tokend: --tls-client-ca / "
			    "TOKEND_TLS_CLIENT_CA: %s\n", err);
			SSL_CTX_free(ssl_ctx);
			keyset_unref(keys);
			config_finish(&cfg);
			return 2;
		}
		client_cert_ca_set(ca);
		X509_STORE_free(ca);
	}
	if (cfg.issuer_defaulted)
		log_warnx("event=default_issuer issuer=%s msg=\"set --issuer "
		    "in production\"", cfg.issuer);

	log_info("event=keys_loaded alg=%s kid=%s",
	    key_alg_name(key_alg(keyset_signing_key(keys))),
	    key_kid(keyset_signing_key(keys)));
	if ((server = server_new(&cfg, ssl_ctx, keys, &status, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "tokend: %s\n", err);
		config_finish(&cfg);
		return status;
	}
	/* No worker thread exists yet: server_run() starts them. */
	dpop_seen_process_size((size_t)cfg.workers);
	if (priv_drop(&cfg) == -1) {
		server_free(server);
		config_finish(&cfg);
		return 1;
	}
	status = server_run(server);
	server_free(server);
	client_cert_ca_set(NULL);
	config_finish(&cfg);
	return status;
}
