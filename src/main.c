/*
 * main: settings -> TLS context -> listening sockets and workers -> run ->
 * exit status. A bad setting is reported on one line and exits 2 before
 * any socket is opened; --help and --version exit 0.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include <openssl/ssl.h>

#include "config.h"
#include "keys.h"
#include "log.h"
#include "server.h"
#include "tls.h"

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

int
main(int argc, char *argv[])
{
	struct config	 cfg;
	struct server	*server = NULL;
	SSL_CTX		*ssl_ctx = NULL;
	struct keyset	*keys = NULL;
	char		 err[512];
	int		 status;

	switch (config_parse(&cfg, argc, argv, environ, stdout, err,
	    sizeof(err))) {
	case CONFIG_OK:
		break;
	case CONFIG_EXIT_OK:
		return 0;
	case CONFIG_ERROR:
	default:
		fprintf(stderr, "tokend: %s\n", err);
		return 2;
	}
	log_set_level(cfg.log_level);
	signal(SIGPIPE, SIG_IGN);
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
	} else {
		log_warnx("event=plain_http msg=\"TLS is off (--plain-http): "
		    "run only behind a TLS-terminating proxy\"");
	}
	if (cfg.issuer_defaulted)
		log_warnx("event=default_issuer issuer=%s msg=\"set --issuer "
		    "in production\"", cfg.issuer);

	log_info("event=keys_loaded alg=%s kid=%s",
	    key_alg_name(key_alg(keyset_signing_key(keys))),
	    key_kid(keyset_signing_key(keys)));
	if ((server = server_new(&cfg, ssl_ctx, keys, err, sizeof(err))) ==
	    NULL) {
		fprintf(stderr, "tokend: %s\n", err);
		config_finish(&cfg);
		return 1;
	}
	status = server_run(server);
	server_free(server);
	config_finish(&cfg);
	return status;
}
