/*
 * fuzz_client_cert: client_cert_from_header(), the X-Client-Cert value a
 * trusted proxy sends (URL-encoded PEM), and what is read from a
 * certificate it accepts: the RFC 4514 subject, the SANs, the thumbprint.
 * The input is the header value, taken as its bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "client_cert.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	X509			*x = NULL;
	enum client_cert_result	 r;
	char			 dn[CLIENT_CERT_SUBJECT_MAX + 1];
	char			 tp[CLIENT_CERT_THUMBPRINT_LEN + 1];
	int			 n;

	r = client_cert_from_header((const char *)data, size, &x);
	(void)client_cert_result_name(r);
	if (r != CLIENT_CERT_OK) {
		if (x != NULL)
			abort();
		return 0;
	}
	if (x == NULL)
		abort();
	n = client_cert_subject(x, dn, sizeof(dn));
	if (n >= 0 && strlen(dn) != (size_t)n)
		abort();
	(void)client_cert_san_match(x, "svc.example.com");
	(void)client_cert_san_match(x, "spiffe://acme.example/svc");
	if (client_cert_thumbprint(x, tp) == 0 &&
	    strlen(tp) != CLIENT_CERT_THUMBPRINT_LEN)
		abort();
	X509_free(x);
	return 0;
}
