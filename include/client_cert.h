/*
 * client_cert: the client certificate of mutual-TLS client authentication
 * (RFC 8705): the X-Client-Cert header a TLS-terminating proxy sends (URL-
 * encoded PEM, as nginx's $ssl_client_escaped_cert), the certificate's
 * subject DN as an RFC 4514 string, its SAN DNS names and URIs, its
 * SHA-256 thumbprint (x5t#S256), and the chain and validity check against
 * the client CA store (--tls-client-ca).
 *
 * Where the certificate comes from (the connection's SSL, or the header
 * from a trusted proxy), and what to answer, are the caller's: this module
 * decodes and compares. Pure but for the process-wide current CA store
 * (client_cert_ca_set/get), which SIGHUP replaces and every worker reads.
 */
#ifndef TOKEND_CLIENT_CERT_H
#define TOKEND_CLIENT_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>

/* The largest X-Client-Cert value accepted, encoded (bytes). */
#define CLIENT_CERT_HEADER_MAX		16384
/* The longest subject DN compared, RFC 4514 text, NUL not counted. */
#define CLIENT_CERT_SUBJECT_MAX		1024
/* base64url of a SHA-256 digest, unpadded. */
#define CLIENT_CERT_THUMBPRINT_LEN	43

enum client_cert_result {
	CLIENT_CERT_OK = 0,
	CLIENT_CERT_NONE,	/* empty header: no certificate */
	CLIENT_CERT_TOO_LONG,	/* over CLIENT_CERT_HEADER_MAX */
	CLIENT_CERT_MALFORMED,	/* bad escape, not exactly one PEM cert */
};

/*
 * Decode an X-Client-Cert value of len bytes: percent-escapes decoded
 * ('+' is a plus: base64 has it), then exactly one PEM CERTIFICATE block
 * with nothing but white space around it. A NUL (escaped or not) is
 * malformed. An empty value (nginx's, for a client without a certificate)
 * is CLIENT_CERT_NONE. On CLIENT_CERT_OK the caller owns *out: X509_free().
 */
enum client_cert_result client_cert_from_header(const char *val,
	    size_t len, X509 **out);

/* Stable lower-case name of a result, for log lines. */
const char *client_cert_result_name(enum client_cert_result);

/*
 * The subject DN of cert in RFC 4514 form, most specific RDN first, as
 * `openssl x509 -noout -subject -nameopt RFC2253` prints it (without its
 * "subject=": a certificate made with -subj /O=Acme/CN=svc is
 * "CN=svc,O=Acme"), into buf (len bytes, NUL-terminated). Returns the
 * length, or -1 when it does not fit or OpenSSL fails (buf is then "").
 */
int	 client_cert_subject(X509 *cert, char *buf, size_t len);

/*
 * True when one of cert's subjectAltName DNS names (compared ignoring
 * ASCII case) or URIs (compared exactly) is name. A name with a NUL
 * inside never matches.
 */
bool	 client_cert_san_match(X509 *cert, const char *name);

/*
 * The SHA-256 thumbprint of cert's DER, base64url without padding
 * (RFC 8705 3.1's x5t#S256) into out, NUL-terminated. -1 on an OpenSSL
 * failure.
 */
int	 client_cert_thumbprint(X509 *cert,
	    char out[CLIENT_CERT_THUMBPRINT_LEN + 1]);

/*
 * True when cert chains to a CA of store (every certificate of the store
 * is a trust anchor; untrusted, may be NULL, offers intermediates), for
 * the purpose sslclient, every certificate of the chain within its
 * validity at now. store NULL is false.
 */
bool	 client_cert_chain_ok(X509 *cert, STACK_OF(X509) *untrusted,
	    X509_STORE *store, time_t now);

/*
 * tls_client_auth (RFC 8705 2.1): cert chains to store at now and its
 * subject equals subject (exact string equality of the RFC 4514 forms) or
 * one of its SANs equals san. subject and san may be NULL (absent); an
 * empty one never matches.
 */
bool	 client_cert_pki_match(X509 *cert, STACK_OF(X509) *untrusted,
	    X509_STORE *store, time_t now, const char *subject,
	    const char *san);

/*
 * self_signed_tls_client_auth (RFC 8705 2.2): cert's thumbprint is one of
 * the n thumbprints. No chain is checked.
 */
bool	 client_cert_thumbprint_match(X509 *cert,
	    char *const *thumbprints, size_t n);

/*
 * Load a PEM bundle of CA certificates into a new store (at least one
 * certificate). NULL with a one-line reason in errbuf. Blocking file I/O:
 * at start-up or from the main thread on SIGHUP. Caller owns the result:
 * X509_STORE_free().
 */
X509_STORE *client_cert_store_load(const char *file, char *errbuf,
	    size_t errlen);

/*
 * The process's current client CA store: set (takes a reference of its
 * own on store, which may be NULL; the previous one is dropped) by the
 * main thread; get returns a new reference (X509_STORE_free() it) or NULL
 * when none is loaded. Both are thread-safe.
 */
void	 client_cert_ca_set(X509_STORE *store);
X509_STORE *client_cert_ca_get(void);

#endif
