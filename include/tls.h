/*
 * tls: the server's SSL_CTX (TLS 1.2 and 1.3 only, from PEM files) and the
 * OpenSSL bufferevent each accepted connection gets. The only module that
 * configures OpenSSL's TLS side; certificate reload builds a whole new
 * SSL_CTX so a bad file never replaces a good one.
 */
#ifndef TOKEND_TLS_H
#define TOKEND_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

struct event_base;
struct bufferevent;

/*
 * Build a server SSL_CTX from a certificate chain and a private key (PEM).
 * Returns NULL with a one-line reason in errbuf (OpenSSL's error queue is
 * read and cleared). The caller owns the result: SSL_CTX_free().
 * Blocking file I/O: call at start-up or from the main thread on SIGHUP.
 */
SSL_CTX	*tls_ctx_new(const char *cert_file, const char *key_file,
	    char *errbuf, size_t errlen);

/*
 * --tls-client-auth optional: ctx asks every client for a certificate
 * and requires none; any certificate the client proves it holds the key
 * of is accepted by the handshake (chains are checked at client
 * authentication: client_cert.h). -1 when OpenSSL refuses. Call before
 * ctx serves a connection.
 */
int	 tls_ctx_ask_client_cert(SSL_CTX *ctx);

/*
 * A new accepting OpenSSL bufferevent (fd set later by evhttp) on base,
 * with a fresh SSL from ctx. Returns NULL on failure (logged). Ownership
 * passes to evhttp, which frees it with the connection.
 */
struct bufferevent *tls_bufferevent_new(struct event_base *base,
	    SSL_CTX *ctx);

#endif
