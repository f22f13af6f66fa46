/*
 * test_client_cert: the X-Client-Cert decoder, the RFC 4514 subject, SAN
 * and thumbprint matching, and the chain and validity check, on the
 * certificates of test/data/mtls (made with the openssl CLI; their
 * expected subjects and thumbprints are what `openssl x509 -subject
 * -nameopt RFC2253` and `openssl dgst -sha256` print for them).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "client_cert.h"
#include "util.h"
#include "test.h"

#ifndef CLIENT_CERT_DATA
#error "CLIENT_CERT_DATA: the directory of the test certificates"
#endif

#define SELF_THUMBPRINT	"cQk5Hj2FTvV3LSMwm202c5he0s5_99WsZqtCvhavB-c"

static char *
slurp(const char *name, size_t *len)
{
	char	 path[512];
	FILE	*fp;
	char	*buf;
	long	 n;

	snprintf(path, sizeof(path), "%s/%s", CLIENT_CERT_DATA, name);
	if ((fp = fopen(path, "rb")) == NULL) {
		perror(path);
		exit(1);
	}
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	buf = xmalloc((size_t)n + 1);
	if (fread(buf, 1, (size_t)n, fp) != (size_t)n)
		exit(1);
	buf[n] = '\0';
	fclose(fp);
	*len = (size_t)n;
	return buf;
}

static X509 *
load(const char *name)
{
	size_t	 len;
	char	*pem = slurp(name, &len);
	BIO	*bio = BIO_new_mem_buf(pem, (int)len);
	X509	*x = PEM_read_bio_X509(bio, NULL, NULL, NULL);

	BIO_free(bio);
	free(pem);
	if (x == NULL)
		exit(1);
	return x;
}

/* Percent-encode every byte outside unreserved, as nginx's
   $ssl_client_escaped_cert does. */
static char *
escape(const char *s, size_t n)
{
	static const char	 hex[] = "0123456789ABCDEF";
	char			*out = xmalloc(n * 3 + 1), *o = out;
	size_t			 i;
	unsigned char		 c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~')
			*o++ = (char)c;
		else {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o = '\0';
	return out;
}

static enum client_cert_result
decode(const char *s, X509 **x)
{
	return client_cert_from_header(s, strlen(s), x);
}

static void
test_header_decoding(void)
{
	size_t	 len;
	char	*pem = slurp("client.pem", &len), *esc, *two, *buf;
	X509	*x = NULL, *ref = load("client.pem");

	esc = escape(pem, len);
	TEST_ASSERT(decode(esc, &x) == CLIENT_CERT_OK);
	TEST_ASSERT(x != NULL && X509_cmp(x, ref) == 0);
	X509_free(x);
	/* Unescaped PEM (newlines as such) works too; '+' stays a plus. */
	TEST_ASSERT(decode(pem, &x) == CLIENT_CERT_OK);
	X509_free(x);
	TEST_ASSERT(decode("", &x) == CLIENT_CERT_NONE && x == NULL);
	TEST_ASSERT(decode("%", &x) == CLIENT_CERT_MALFORMED && x == NULL);
	TEST_ASSERT(decode("%2", &x) == CLIENT_CERT_MALFORMED);
	TEST_ASSERT(decode("%zz", &x) == CLIENT_CERT_MALFORMED);
	TEST_ASSERT(decode("garbage", &x) == CLIENT_CERT_MALFORMED);
	TEST_ASSERT(decode("-----BEGIN CERTIFICATE-----%0A%00", &x) ==
	    CLIENT_CERT_MALFORMED);
	/* Text before the PEM block, and a second block, are refused. */
	buf = xmalloc(len + 8);
	snprintf(buf, len + 8, "x\n%s", pem);
	TEST_ASSERT(decode(buf, &x) == CLIENT_CERT_MALFORMED);
	free(buf);
	two = xmalloc(2 * len + 1);
	memcpy(two, pem, len);
	memcpy(two + len, pem, len);
	two[2 * len] = '\0';
	TEST_ASSERT(decode(two, &x) == CLIENT_CERT_MALFORMED && x == NULL);
	free(two);
	/* A block whose base64 is cut. */
	pem[len / 2] = '\0';
	TEST_ASSERT(decode(pem, &x) == CLIENT_CERT_MALFORMED);
	/* The size cap, checked before anything is decoded. */
	buf = xmalloc(CLIENT_CERT_HEADER_MAX + 2);
	memset(buf, 'A', CLIENT_CERT_HEADER_MAX + 1);
	buf[CLIENT_CERT_HEADER_MAX + 1] = '\0';
	TEST_ASSERT(decode(buf, &x) == CLIENT_CERT_TOO_LONG);
	free(buf);
	TEST_ASSERT(strcmp(client_cert_result_name(CLIENT_CERT_MALFORMED),
	    "malformed") == 0);
	free(esc);
	free(pem);
	X509_free(ref);
}

static void
test_subject(void)
{
	X509	*c = load("client.pem"), *odd = load("odd.pem");
	char	 buf[CLIENT_CERT_SUBJECT_MAX + 1];

	/* Most specific RDN first. */
	TEST_ASSERT(client_cert_subject(c, buf, sizeof(buf)) == 13);
	TEST_ASSERT(strcmp(buf, "CN=svc,O=Acme") == 0);
	/* RFC 4514 escapes, a multi-valued RDN, UTF-8 as \XX. */
	TEST_ASSERT(client_cert_subject(odd, buf, sizeof(buf)) > 0);
	TEST_ASSERT(strcmp(buf, "CN=\\#a\\+b \\\"q\\\"\\;\\C3\\A9,"
	    "UID=42+OU=x,O=Acme\\, Inc.,C=DE") == 0);
	/* Too small a buffer: -1 and "". */
	TEST_ASSERT(client_cert_subject(c, buf, 13) == -1 && buf[0] == '\0');
	X509_free(c);
	X509_free(odd);
}

static void
test_san(void)
{
	X509	*c = load("client.pem"), *self = load("self.pem");

	TEST_ASSERT(client_cert_san_match(c, "svc.example.com"));
	TEST_ASSERT(client_cert_san_match(c, "SVC.Example.COM"));
	TEST_ASSERT(client_cert_san_match(c, "spiffe://acme.example/svc"));
	/* URIs are exact; prefixes and the CN are not SANs. */
	TEST_ASSERT(!client_cert_san_match(c, "SPIFFE://acme.example/svc"));
	TEST_ASSERT(!client_cert_san_match(c, "svc.example.co"));
	TEST_ASSERT(!client_cert_san_match(c, "svc"));
	TEST_ASSERT(!client_cert_san_match(c, ""));
	TEST_ASSERT(!client_cert_san_match(self, "self"));
	X509_free(c);
	X509_free(self);
}

static void
test_thumbprint(void)
{
	X509	*self = load("self.pem"), *c = load("client.pem");
	char	 tp[CLIENT_CERT_THUMBPRINT_LEN + 1];
	char	 a[] = "AAAAHj2FTvV3LSMwm202c5he0s5_99WsZqtCvhavB-c";
	char	 b[] = SELF_THUMBPRINT;
	char	*list[2];

	TEST_ASSERT(client_cert_thumbprint(self, tp) == 0);
	TEST_ASSERT(strcmp(tp, SELF_THUMBPRINT) == 0);
	list[0] = a;
	list[1] = b;
	TEST_ASSERT(client_cert_thumbprint_match(self, list, 2));
	TEST_ASSERT(!client_cert_thumbprint_match(self, list, 1));
	TEST_ASSERT(!client_cert_thumbprint_match(c, list, 2));
	TEST_ASSERT(!client_cert_thumbprint_match(NULL, list, 2));
	X509_free(self);
	X509_free(c);
}

static time_t
asn1_time(const ASN1_TIME *t)
{
	struct tm	 tm;

	if (ASN1_TIME_to_tm(t, &tm) != 1)
		exit(1);
	return timegm(&tm);
}

static void
test_chain(void)
{
	char		 err[256];
	X509_STORE	*ca, *other;
	X509		*c = load("client.pem"), *oc = load("client-other-ca.pem");
	X509		*self = load("self.pem"), *srv = load("server-only.pem");
	time_t		 now = time(NULL), nb, na;

	ca = client_cert_store_load(CLIENT_CERT_DATA "/ca.pem", err,
	    sizeof(err));
	other = client_cert_store_load(CLIENT_CERT_DATA "/other-ca.pem", err,
	    sizeof(err));
	TEST_ASSERT(ca != NULL && other != NULL);
	TEST_ASSERT(client_cert_chain_ok(c, NULL, ca, now));
	TEST_ASSERT(!client_cert_chain_ok(oc, NULL, ca, now));
	TEST_ASSERT(client_cert_chain_ok(oc, NULL, other, now));
	TEST_ASSERT(!client_cert_chain_ok(self, NULL, ca, now));
	TEST_ASSERT(!client_cert_chain_ok(c, NULL, NULL, now));
	/* Purpose sslclient: a serverAuth-only certificate is refused. */
	TEST_ASSERT(!client_cert_chain_ok(srv, NULL, ca, now));
	/* Validity by the clock passed in. */
	nb = asn1_time(X509_get0_notBefore(c));
	na = asn1_time(X509_get0_notAfter(c));
	TEST_ASSERT(client_cert_chain_ok(c, NULL, ca, nb + 1));
	TEST_ASSERT(!client_cert_chain_ok(c, NULL, ca, nb - 10));
	TEST_ASSERT(!client_cert_chain_ok(c, NULL, ca, na + 10));

	/* tls_client_auth: name and chain both. */
	TEST_ASSERT(client_cert_pki_match(c, NULL, ca, now, "CN=svc,O=Acme",
	    NULL));
	TEST_ASSERT(!client_cert_pki_match(c, NULL, ca, now, "O=Acme,CN=svc",
	    NULL));
	TEST_ASSERT(!client_cert_pki_match(c, NULL, ca, now, "cn=svc,o=acme",
	    NULL));
	TEST_ASSERT(client_cert_pki_match(c, NULL, ca, now, "CN=other",
	    "svc.example.com"));
	TEST_ASSERT(client_cert_pki_match(c, NULL, ca, now, NULL,
	    "spiffe://acme.example/svc"));
	TEST_ASSERT(!client_cert_pki_match(c, NULL, ca, now, NULL, NULL));
	TEST_ASSERT(!client_cert_pki_match(c, NULL, ca, now, "", ""));
	TEST_ASSERT(!client_cert_pki_match(oc, NULL, ca, now,
	    "CN=svc,O=Acme", NULL));
	TEST_ASSERT(!client_cert_pki_match(c, NULL, ca, na + 10,
	    "CN=svc,O=Acme", NULL));
	TEST_ASSERT(!client_cert_pki_match(NULL, NULL, ca, now,
	    "CN=svc,O=Acme", NULL));

	/* The process's current store: references, replaced whole. */
	TEST_ASSERT(client_cert_ca_get() == NULL);
	client_cert_ca_set(ca);
	X509_STORE_free(ca);
	ca = client_cert_ca_get();
	TEST_ASSERT(ca != NULL && client_cert_chain_ok(c, NULL, ca, now));
	X509_STORE_free(ca);
	client_cert_ca_set(other);
	ca = client_cert_ca_get();
	TEST_ASSERT(ca == other);
	X509_STORE_free(ca);
	client_cert_ca_set(NULL);
	TEST_ASSERT(client_cert_ca_get() == NULL);
	X509_STORE_free(other);
	X509_free(c);
	X509_free(oc);
	X509_free(self);
	X509_free(srv);
}

static void
test_store_load(void)
{
	char		 err[256];
	X509_STORE	*s;

	err[0] = '\0';
	s = client_cert_store_load(CLIENT_CERT_DATA "/nonexistent.pem", err,
	    sizeof(err));
	TEST_ASSERT(s == NULL && strstr(err, "nonexistent.pem") != NULL);
	/* A key file holds no certificate. */
	s = client_cert_store_load(CLIENT_CERT_DATA "/client.key", err,
	    sizeof(err));
	TEST_ASSERT(s == NULL && err[0] != '\0');
}

int
main(void)
{
	test_run(test_header_decoding);
	test_run(test_subject);
	test_run(test_san);
	test_run(test_thumbprint);
	test_run(test_chain);
	test_run(test_store_load);
	return test_summary();
}
