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
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "log.h"
#include "tls.h"

#define TLS12_CIPHERS \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

/*
 * OpenSSL's TLS 1.3 suites, AES-128-GCM first: its SHA-256 key schedule
 * runs on the SHA extensions of current CPUs, SHA-384 does not.
 */
#define TLS13_CIPHERS \
	"TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:" \
	"TLS_CHACHA20_POLY1305_SHA256"

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
	    SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) != 1 ||
	    SSL_CTX_set_ciphersuites(ctx, TLS13_CIPHERS) != 1) {
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

int64_t
tls_ctx_not_after(const SSL_CTX *ctx)
{
	const ASN1_TIME	*t;
	X509		*cert;
	struct tm	 tm;
	time_t		 v;

	if (ctx == NULL || (cert = SSL_CTX_get0_certificate(ctx)) == NULL ||
	    (t = X509_get0_notAfter(cert)) == NULL)
		return 0;
	memset(&tm, 0, sizeof(tm));
	if (ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	if ((v = timegm(&tm)) == (time_t)-1)
		return 0;
	return (int64_t)v;
}

/*
 * Session tickets (TLS 1.2 tickets and TLS 1.3 resumption PSKs), so that a
 * returning client skips the certificate signature and any instance sharing
 * the key file resumes it. A key is nginx's ssl_session_ticket_key of 80
 * bytes: a 16-byte name, a 32-byte HMAC-SHA256 key, a 32-byte AES-256-CBC
 * key. The file holds one to TLS_TICKET_KEYS_MAX of them back to back: the
 * first encrypts new tickets, every one decrypts (a ticket under any but the
 * first is accepted and replaced by one under the first). Without a file,
 * one random key made at the first call serves every context of the
 * process, so a reload keeps returning clients resumable.
 *
 * The keys of a context are fixed when it is built and freed with it (an
 * ex_data slot), so the handshakes of every worker read them without a
 * lock, and a connection keeps the keys of the context it started with.
 * Tickets are stateless: the server keeps no session cache.
 */
struct tls_ticket_keys {
	EVP_CIPHER	*cipher;	/* AES-256-CBC, fetched once */
	size_t		 n;
	struct tls_ticket_key key[TLS_TICKET_KEYS_MAX];
};

static int		 ticket_index = -1;
static struct tls_ticket_key process_key;
static bool		 process_key_made;

static void
ticket_keys_free(struct tls_ticket_keys *k)
{
	if (k == NULL)
		return;
	EVP_CIPHER_free(k->cipher);
	OPENSSL_cleanse(k, sizeof(*k));
	free(k);
}

static void
ticket_ex_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
    long argl, void *argp)
{
	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	ticket_keys_free(ptr);
}

int
tls_ticket_keys_parse(const unsigned char *buf, size_t len,
    struct tls_ticket_key *out, size_t *n)
{
	size_t	i;

	if (len == 0 || len % TLS_TICKET_KEY_LEN != 0 ||
	    len / TLS_TICKET_KEY_LEN > TLS_TICKET_KEYS_MAX)
		return -1;
	*n = len / TLS_TICKET_KEY_LEN;
	for (i = 0; i < *n; i++) {
		const unsigned char *p = buf + i * TLS_TICKET_KEY_LEN;

		memcpy(out[i].name, p, TICKET_NAME_LEN);
		memcpy(out[i].hmac, p + TICKET_NAME_LEN, TICKET_HMAC_LEN);
		memcpy(out[i].aes, p + TICKET_NAME_LEN + TICKET_HMAC_LEN,
		    TICKET_AES_LEN);
	}
	return 0;
}

/* Read the key file into k; blocking I/O (start-up, SIGHUP). */
static int
ticket_keys_read(const char *file, struct tls_ticket_keys *k, char *errbuf,
    size_t errlen)
{
	unsigned char	 buf[TLS_TICKET_KEY_LEN * TLS_TICKET_KEYS_MAX + 1];
	FILE		*f;
	size_t		 len;
	int		 rc = -1;

	if ((f = fopen(file, "rb")) == NULL) {
		snprintf(errbuf, errlen, "cannot open %s", file);
		return -1;
	}
	len = fread(buf, 1, sizeof(buf), f);
	if (ferror(f))
		snprintf(errbuf, errlen, "cannot read %s", file);
	else if (tls_ticket_keys_parse(buf, len, k->key, &k->n) == -1)
		snprintf(errbuf, errlen, "%s: %zu bytes, not 80 per key "
		    "(1 to %d keys)", file, len, TLS_TICKET_KEYS_MAX);
	else
		rc = 0;
	fclose(f);
	OPENSSL_cleanse(buf, sizeof(buf));
	return rc;
}

/*
 * OpenSSL's ticket callback: 1 = key set (or ticket good), 2 = ticket good
 * but issue a new one (an older key), 0 = unknown key (full handshake),
 * -1 = error.
 */
static int
ticket_cb(SSL *ssl, unsigned char key_name[TICKET_NAME_LEN],
    unsigned char iv[EVP_MAX_IV_LENGTH], EVP_CIPHER_CTX *cctx,
    EVP_MAC_CTX *hctx, int enc)
{
	const struct tls_ticket_keys *k;
	const struct tls_ticket_key	*key = NULL;
	static char		 digest[] = "SHA256";
	OSSL_PARAM		 params[2];
	size_t			 i;

	k = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ticket_index);
	if (k == NULL || k->n == 0)
		return -1;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (enc) {
		key = &k->key[0];
		if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(k->cipher)) != 1)
			return -1;
		memcpy(key_name, key->name, TICKET_NAME_LEN);
		if (EVP_EncryptInit_ex(cctx, k->cipher, NULL, key->aes,
		    iv) != 1 || EVP_MAC_CTX_set_params(hctx, params) != 1 ||
		    EVP_MAC_init(hctx, key->hmac, TICKET_HMAC_LEN, NULL) != 1)
			return -1;
		return 1;
	}
	for (i = 0; i < k->n; i++) {
		if (CRYPTO_memcmp(key_name, k->key[i].name,
		    TICKET_NAME_LEN) == 0) {
			key = &k->key[i];
			break;
		}
	}
	if (key == NULL)
		return 0;
	if (EVP_MAC_CTX_set_params(hctx, params) != 1 ||
	    EVP_MAC_init(hctx, key->hmac, TICKET_HMAC_LEN, NULL) != 1 ||
	    EVP_DecryptInit_ex(cctx, k->cipher, NULL, key->aes, iv) != 1)
		return -1;
	return i == 0 ? 1 : 2;
}

/*
 * A session's ticket keeps the peer's certificate but not the chain it
 * sent (OpenSSL serializes only the leaf): a client whose certificate
 * comes through an intermediate would be refused on every resumed
 * session. Its tickets are marked, and a marked ticket is never resumed:
 * the full handshake that follows gets the chain again.
 */
static const unsigned char	 ticket_chain_mark[] = "chain";

static int
ticket_gen_cb(SSL *ssl, void *arg)
{
	STACK_OF(X509)	*chain;
	SSL_SESSION	*sess;

	(void)arg;
	if ((sess = SSL_get_session(ssl)) == NULL)
		return 0;
	chain = SSL_get_peer_cert_chain(ssl);
	if (chain == NULL || sk_X509_num(chain) == 0)
		return 1;
	return SSL_SESSION_set1_ticket_appdata(sess, ticket_chain_mark,
	    sizeof(ticket_chain_mark) - 1);
}

static SSL_TICKET_RETURN
ticket_dec_cb(SSL *ssl, SSL_SESSION *sess, const unsigned char *keyname,
    size_t keyname_len, SSL_TICKET_STATUS status, void *arg)
{
	void	*data = NULL;
	size_t	 len = 0;

	(void)ssl;
	(void)keyname;
	(void)keyname_len;
	(void)arg;
	switch (status) {
	case SSL_TICKET_EMPTY:
	case SSL_TICKET_NO_DECRYPT:
		return SSL_TICKET_RETURN_IGNORE_RENEW;
	case SSL_TICKET_SUCCESS:
	case SSL_TICKET_SUCCESS_RENEW:
		if (sess == NULL ||
		    SSL_SESSION_get0_ticket_appdata(sess, &data, &len) != 1)
			return SSL_TICKET_RETURN_ABORT;
		if (len != 0)
			return SSL_TICKET_RETURN_IGNORE_RENEW;
		return status == SSL_TICKET_SUCCESS ?
		    SSL_TICKET_RETURN_USE : SSL_TICKET_RETURN_USE_RENEW;
	default:
		return SSL_TICKET_RETURN_ABORT;
	}
}

int
tls_ctx_set_ticket_keys(SSL_CTX *ctx, const char *file, char *errbuf,
    size_t errlen)
{
	struct tls_ticket_keys	*k;

	if (ticket_index == -1 && (ticket_index = SSL_CTX_get_ex_new_index(0,
	    NULL, NULL, NULL, ticket_ex_free)) == -1) {
		ssl_error(errbuf, errlen, "SSL_CTX_get_ex_new_index", "");
		return -1;
	}
	k = calloc(1, sizeof(*k));
	if (k == NULL) {
		snprintf(errbuf, errlen, "out of memory");
		return -1;
	}
	if (file != NULL) {
		if (ticket_keys_read(file, k, errbuf, errlen) == -1)
			goto fail;
	} else {
		if (!process_key_made) {
			if (RAND_bytes((unsigned char *)&process_key,
			    sizeof(process_key)) != 1) {
				ssl_error(errbuf, errlen, "RAND_bytes", "");
				goto fail;
			}
			process_key_made = true;
		}
		k->key[0] = process_key;
		k->n = 1;
	}
	if ((k->cipher = EVP_CIPHER_fetch(NULL, "AES-256-CBC",
	    NULL)) == NULL) {
		ssl_error(errbuf, errlen, "EVP_CIPHER_fetch AES-256-CBC", "");
		goto fail;
	}
	if (SSL_CTX_set_ex_data(ctx, ticket_index, k) != 1) {
		ssl_error(errbuf, errlen, "SSL_CTX_set_ex_data", "");
		goto fail;
	}
	/* ctx owns k from here: ticket_ex_free() runs with SSL_CTX_free(). */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	/* One ticket per handshake, not OpenSSL's two: a returning client
	   keeps the newest, and each costs an encryption and a record. */
	(void)SSL_CTX_set_num_tickets(ctx, 1);
	SSL_CTX_clear_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_timeout(ctx, TLS_TICKET_LIFETIME);
	if (SSL_CTX_set_session_ticket_cb(ctx, ticket_gen_cb, ticket_dec_cb,
	    NULL) != 1) {
		ssl_error(errbuf, errlen, "session ticket callback", "");
		return -1;
	}
	if (SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_cb) != 1) {
		ssl_error(errbuf, errlen, "ticket key callback", "");
		return -1;
	}
	return 0;
fail:
	ticket_keys_free(k);
	return -1;
}
