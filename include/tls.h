/*
 * tls: the server's SSL_CTX (TLS 1.2 and 1.3 only, from PEM files) and the
 * OpenSSL bufferevent each accepted connection gets. The only module that
 * configures OpenSSL's TLS side; certificate reload builds a whole new
 * SSL_CTX so a bad file never replaces a good one.
 */
#ifndef TOKEND_TLS_H
#define TOKEND_TLS_H

#include <stddef.h>
#include <stdint.h>

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

/*
 * The notAfter of ctx's certificate (the leaf it serves), unix seconds;
 * 0 when ctx is NULL, has no certificate or the time does not convert.
 * Pure: reads the loaded certificate, no I/O.
 */
int64_t	 tls_ctx_not_after(const SSL_CTX *ctx);

/*
 * Session tickets: one key is TLS_TICKET_KEY_LEN bytes, nginx's
 * ssl_session_ticket_key format of 80 bytes (16 name, 32 HMAC-SHA256, 32
 * AES-256-CBC); a key file holds 1 to TLS_TICKET_KEYS_MAX of them, the first
 * encrypting. Tickets live TLS_TICKET_LIFETIME seconds.
 */
#define TLS_TICKET_KEY_LEN	80
#define TLS_TICKET_KEYS_MAX	8
#define TLS_TICKET_LIFETIME	3600

#define TICKET_NAME_LEN		16
#define TICKET_HMAC_LEN		32
#define TICKET_AES_LEN		32

struct tls_ticket_key {
	unsigned char	 name[TICKET_NAME_LEN];
	unsigned char	 hmac[TICKET_HMAC_LEN];
	unsigned char	 aes[TICKET_AES_LEN];
};

/*
 * Give ctx its session ticket keys: those of file (read now: blocking, at
 * start-up or from the main thread on SIGHUP), or with file NULL the
 * process's random key (made at the first such call). Turns the stateful
 * session cache off. Returns 0, or -1 with a reason in errbuf that names
 * the file and its size, never a key byte. ctx owns what it is given.
 */
int	 tls_ctx_set_ticket_keys(SSL_CTX *ctx, const char *file,
	    char *errbuf, size_t errlen);

/*
 * Split len bytes of a key file into out (room for TLS_TICKET_KEYS_MAX)
 * and *n keys. -1 unless len is 1 to TLS_TICKET_KEYS_MAX whole keys.
 */
int	 tls_ticket_keys_parse(const unsigned char *buf, size_t len,
	    struct tls_ticket_key *out, size_t *n);

#endif
