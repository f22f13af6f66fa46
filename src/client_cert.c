/*
 * client_cert: decoding and comparing client certificates for mutual-TLS
 * client authentication (RFC 8705 section 2) and certificate-bound tokens
 * (section 3).
 *
 * Invariants: the subject DN is printed with the flags `openssl x509
 * -nameopt RFC2253` uses (XN_FLAG_RFC2253), so the string an admin copies
 * from openssl's output is the string compared; a header is decoded into a
 * buffer capped at CLIENT_CERT_HEADER_MAX and must hold exactly one PEM
 * certificate; chain checks treat every certificate of the client CA
 * store as a trust anchor (X509_V_FLAG_PARTIAL_CHAIN: a bundle holding
 * only an intermediate CA works) and use the clock passed in.
 *
 * Leaves to others: where the certificate comes from (client_auth.c reads
 * the connection's or, from a trusted proxy, the header), what to answer.
 * The only state is the current CA store, behind a mutex: the main thread
 * replaces it on SIGHUP while workers take references.
 */
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "b64url.h"
#include "client_cert.h"
#include "util.h"

#define PEM_BEGIN	"-----BEGIN CERTIFICATE-----"
#define CHAIN_DEPTH_MAX	8	/* intermediates between leaf and anchor */

static pthread_mutex_t	 ca_lock = PTHREAD_MUTEX_INITIALIZER;
static X509_STORE	*ca_store;	/* under ca_lock */

/*
 * What each thread remembers of the last certificates it judged: a
 * connection's peer certificate is one X509 object for the life of its
 * TLS session, so a kept-alive connection's second token needs neither a
 * chain check nor a digest again. An entry holds references on the
 * certificate and the store, so neither address can be reused while it
 * is remembered; a chain check is remembered only when it succeeded, for
 * that store, and only while the time stays within every certificate's
 * validity in the chain.
 */
#define CERT_CACHE_N	16

struct cert_memo {
	X509		*cert;		/* own reference; NULL: free slot */
	X509_STORE	*store;		/* own reference; NULL: no check */
	time_t		 from, until;	/* the chain's common validity */
	char		 tp[CLIENT_CERT_THUMBPRINT_LEN + 1];	/* "" */
};

struct cert_cache {
	struct cert_memo	 memo[CERT_CACHE_N];
	unsigned		 next;		/* round-robin eviction */
};

static pthread_key_t	 cache_key;
static pthread_once_t	 cache_once = PTHREAD_ONCE_INIT;

static void
memo_clear(struct cert_memo *m)
{
	X509_free(m->cert);
	X509_STORE_free(m->store);
	memset(m, 0, sizeof(*m));
}

static void
cache_free(void *arg)
{
	struct cert_cache	*c = arg;
	size_t			 i;

	if (c == NULL)
		return;
	for (i = 0; i < CERT_CACHE_N; i++)
		memo_clear(&c->memo[i]);
	free(c);
}

static void
cache_key_init(void)
{
	if (pthread_key_create(&cache_key, cache_free) != 0)
		xabort();
}

/* This thread's memo of cert, made (evicting one) when absent. */
static struct cert_memo *
memo_of(X509 *cert)
{
	struct cert_cache	*c;
	struct cert_memo	*m;
	size_t			 i;

	pthread_once(&cache_once, cache_key_init);
	if ((c = pthread_getspecific(cache_key)) == NULL) {
		c = xcalloc(1, sizeof(*c));
		if (pthread_setspecific(cache_key, c) != 0) {
			free(c);
			return NULL;
		}
	}
	for (i = 0; i < CERT_CACHE_N; i++)
		if (c->memo[i].cert == cert)
			return &c->memo[i];
	m = &c->memo[c->next++ % CERT_CACHE_N];
	memo_clear(m);
	if (X509_up_ref(cert) != 1)
		return NULL;
	m->cert = cert;
	return m;
}

void
client_cert_cache_flush(void)
{
	struct cert_cache	*c;

	pthread_once(&cache_once, cache_key_init);
	if ((c = pthread_getspecific(cache_key)) != NULL) {
		cache_free(c);
		pthread_setspecific(cache_key, NULL);
	}
}

const char *
client_cert_result_name(enum client_cert_result r)
{
	switch (r) {
	case CLIENT_CERT_OK:
		return "ok";
	case CLIENT_CERT_NONE:
		return "none";
	case CLIENT_CERT_TOO_LONG:
		return "too_long";
	case CLIENT_CERT_MALFORMED:
		return "malformed";
	}
	return "unknown";
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Percent-decode src into dst (at least n bytes); -1 on a bad escape or
   a NUL. */
static int
percent_decode(char *dst, size_t *dstlen, const char *src, size_t n)
{
	size_t	 i, o = 0;
	int	 hi, lo;
	char	 c;

	for (i = 0; i < n; i++) {
		c = src[i];
		if (c == '%') {
			if (i + 2 >= n)
				return -1;
			if ((hi = hex_digit((unsigned char)src[i + 1])) < 0 ||
			    (lo = hex_digit((unsigned char)src[i + 2])) < 0)
				return -1;
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		if (c == '\0')
			return -1;
		dst[o++] = c;
	}
	*dstlen = o;
	return 0;
}

enum client_cert_result
client_cert_from_header(const char *val, size_t len, X509 **out)
{
	char				*pem = NULL;
	BIO				*bio = NULL;
	X509				*cert = NULL;
	const char			*rest;
	long				 restlen;
	size_t				 n = 0, i = 0;
	enum client_cert_result		 r = CLIENT_CERT_MALFORMED;

	*out = NULL;
	if (len == 0)
		return CLIENT_CERT_NONE;
	if (len > CLIENT_CERT_HEADER_MAX)
		return CLIENT_CERT_TOO_LONG;
	pem = xmalloc(len + 1);
	if (percent_decode(pem, &n, val, len) == -1)
		goto out;
	pem[n] = '\0';
	while (i < n && is_space(pem[i]))
		i++;
	if (n - i < sizeof(PEM_BEGIN) - 1 ||
	    memcmp(pem + i, PEM_BEGIN, sizeof(PEM_BEGIN) - 1) != 0)
		goto out;
	if ((bio = BIO_new_mem_buf(pem + i, (int)(n - i))) == NULL)
		goto out;
	if ((cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL)
		goto out;
	/* Nothing but white space after the END line. */
	restlen = BIO_get_mem_data(bio, &rest);
	while (restlen > 0 && is_space(*rest)) {
		rest++;
		restlen--;
	}
	if (restlen != 0)
		goto out;
	*out = cert;
	cert = NULL;
	r = CLIENT_CERT_OK;
out:
	ERR_clear_error();
	X509_free(cert);
	BIO_free(bio);
	free(pem);
	return r;
}

int
client_cert_subject(X509 *cert, char *buf, size_t len)
{
	X509_NAME	*name;
	BIO		*bio = NULL;
	char		*data;
	long		 n;
	int		 rc = -1;

	if (len == 0)
		return -1;
	buf[0] = '\0';
	if ((name = X509_get_subject_name(cert)) == NULL ||
	    (bio = BIO_new(BIO_s_mem())) == NULL)
		goto out;
	if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) < 0)
		goto out;
	n = BIO_get_mem_data(bio, &data);
	if (n < 0 || (size_t)n >= len || memchr(data, '\0', (size_t)n))
		goto out;
	memcpy(buf, data, (size_t)n);
	buf[n] = '\0';
	rc = (int)n;
out:
	ERR_clear_error();
	BIO_free(bio);
	return rc;
}

bool
client_cert_san_match(X509 *cert, const char *name)
{
	GENERAL_NAMES		*sans;
	const GENERAL_NAME	*gn;
	const unsigned char	*v;
	size_t			 nlen = strlen(name);
	int			 i, vlen;
	bool			 match = false;

	if (nlen == 0)
		return false;
	sans = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	if (sans == NULL) {
		ERR_clear_error();
		return false;
	}
	for (i = 0; i < sk_GENERAL_NAME_num(sans) && !match; i++) {
		gn = sk_GENERAL_NAME_value(sans, i);
		if (gn->type != GEN_DNS && gn->type != GEN_URI)
			continue;
		v = ASN1_STRING_get0_data(gn->d.ia5);
		vlen = ASN1_STRING_length(gn->d.ia5);
		if (v == NULL || vlen < 0 || (size_t)vlen != nlen)
			continue;
		if (gn->type == GEN_DNS)
			match = strncasecmp((const char *)v, name, nlen) == 0 &&
			    memchr(v, '\0', nlen) == NULL;
		else
			match = memcmp(v, name, nlen) == 0;
	}
	GENERAL_NAMES_free(sans);
	return match;
}

int
client_cert_thumbprint(X509 *cert, char out[CLIENT_CERT_THUMBPRINT_LEN + 1])
{
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 mdlen = 0;
	struct cert_memo	*m = memo_of(cert);

	out[0] = '\0';
	if (m != NULL && m->tp[0] != '\0') {
		memcpy(out, m->tp, sizeof(m->tp));
		return 0;
	}
	if (X509_digest(cert, EVP_sha256(), md, &mdlen) != 1 || mdlen != 32) {
		ERR_clear_error();
		return -1;
	}
	b64url_encode(out, md, mdlen);
	out[CLIENT_CERT_THUMBPRINT_LEN] = '\0';
	if (m != NULL)
		memcpy(m->tp, out, sizeof(m->tp));
	return 0;
}

static time_t
asn1_to_time(const ASN1_TIME *t, bool *ok)
{
	struct tm	 tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) {
		*ok = false;
		return 0;
	}
	return timegm(&tm);
}

/* Remember a successful check of m's certificate against store. */
static void
memo_chain(struct cert_memo *m, X509_STORE_CTX *ctx, X509_STORE *store)
{
	STACK_OF(X509)	*chain = X509_STORE_CTX_get0_chain(ctx);
	X509		*x;
	time_t		 from = 0, until = 0, nb, na;
	bool		 ok = true;
	int		 i;

	if (chain == NULL || sk_X509_num(chain) == 0)
		return;
	for (i = 0; i < sk_X509_num(chain); i++) {
		x = sk_X509_value(chain, i);
		nb = asn1_to_time(X509_get0_notBefore(x), &ok);
		na = asn1_to_time(X509_get0_notAfter(x), &ok);
		if (i == 0 || nb > from)
			from = nb;
		if (i == 0 || na < until)
			until = na;
	}
	if (!ok || X509_STORE_up_ref(store) != 1)
		return;
	X509_STORE_free(m->store);
	m->store = store;
	m->from = from;
	m->until = until;
}

bool
client_cert_chain_ok(X509 *cert, STACK_OF(X509) *untrusted,
    X509_STORE *store, time_t now)
{
	X509_STORE_CTX		*ctx = NULL;
	X509_VERIFY_PARAM	*param;
	struct cert_memo	*m;
	bool			 ok = false;

	if (store == NULL || cert == NULL)
		return false;
	/* OpenSSL's check: notBefore <= now <= notAfter, at each link. */
	m = memo_of(cert);
	if (m != NULL && m->store == store && now >= m->from &&
	    now <= m->until)
		return true;
	if ((ctx = X509_STORE_CTX_new()) == NULL ||
	    X509_STORE_CTX_init(ctx, store, cert, untrusted) != 1)
		goto out;
	if (X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT) != 1)
		goto out;
	param = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
	/* A client's chain is short; path building stays bounded. */
	X509_VERIFY_PARAM_set_depth(param, CHAIN_DEPTH_MAX);
	X509_VERIFY_PARAM_set_time(param, now);
	ok = X509_verify_cert(ctx) == 1;
	if (ok && m != NULL)
		memo_chain(m, ctx, store);
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	return ok;
}

bool
client_cert_pki_match(X509 *cert, STACK_OF(X509) *untrusted,
    X509_STORE *store, time_t now, const char *subject, const char *san)
{
	char	 dn[CLIENT_CERT_SUBJECT_MAX + 1];
	bool	 named = false;

	if (cert == NULL)
		return false;
	if (subject != NULL && subject[0] != '\0' &&
	    client_cert_subject(cert, dn, sizeof(dn)) > 0 &&
	    strcmp(dn, subject) == 0)
		named = true;
	if (!named && san != NULL && client_cert_san_match(cert, san))
		named = true;
	return named && client_cert_chain_ok(cert, untrusted, store, now);
}

bool
client_cert_thumbprint_match(X509 *cert,
    char (*thumbprints)[CLIENT_CERT_THUMBPRINT_LEN + 1], size_t n)
{
	char	 tp[CLIENT_CERT_THUMBPRINT_LEN + 1];
	size_t	 i;

	if (cert == NULL || client_cert_thumbprint(cert, tp) == -1)
		return false;
	for (i = 0; i < n; i++)
		if (strcmp(thumbprints[i], tp) == 0)
			return true;
	return false;
}

X509_STORE *
client_cert_store_load(const char *file, char *errbuf, size_t errlen)
{
	X509_STORE		*store = NULL;
	X509_STORE		*result = NULL;
	STACK_OF(X509_OBJECT)	*objs;
	char			 msg[256];
	unsigned long		 e;

	ERR_clear_error();
	if ((store = X509_STORE_new()) == NULL)
		goto fail;
	if (X509_STORE_load_file(store, file) != 1)
		goto fail;
	objs = X509_STORE_get0_objects(store);
	if (objs == NULL || sk_X509_OBJECT_num(objs) == 0) {
		errbuf_set(errbuf, errlen, "no certificate in %s", file);
		goto out;
	}
	result = store;
	store = NULL;
	goto out;
fail:
	if ((e = ERR_get_error()) != 0)
		ERR_error_string_n(e, msg, sizeof(msg));
	else
		snprintf(msg, sizeof(msg), "unknown error");
	errbuf_set(errbuf, errlen, "cannot load client CA %s: %s", file, msg);
out:
	ERR_clear_error();
	X509_STORE_free(store);
	return result;
}

void
client_cert_ca_set(X509_STORE *store)
{
	X509_STORE	*old;

	if (store != NULL)
		X509_STORE_up_ref(store);
	pthread_mutex_lock(&ca_lock);
	old = ca_store;
	ca_store = store;
	pthread_mutex_unlock(&ca_lock);
	X509_STORE_free(old);
}

X509_STORE *
client_cert_ca_get(void)
{
	X509_STORE	*store;

	pthread_mutex_lock(&ca_lock);
	store = ca_store;
	if (store != NULL)
		X509_STORE_up_ref(store);
	pthread_mutex_unlock(&ca_lock);
	return store;
}
