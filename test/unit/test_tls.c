/*
 * test_tls: the session ticket key file. Which sizes are keys (80 bytes
 * each, 1 to TLS_TICKET_KEYS_MAX), where each field of a key comes from
 * (nginx's order: name, HMAC key, AES key), and that a refused file's
 * message names its size but holds no byte of it. Resumption itself is
 * tested against the binary (test/integration/test_tls_tickets.py).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include "test.h"
#include "tls.h"

static void
test_ticket_key_sizes(void)
{
	static unsigned char	 buf[TLS_TICKET_KEY_LEN *
	    (TLS_TICKET_KEYS_MAX + 1)];
	struct tls_ticket_key	 keys[TLS_TICKET_KEYS_MAX];
	size_t			 n = 99, len;

	TEST_ASSERT(tls_ticket_keys_parse(buf, 0, keys, &n) == -1);
	TEST_ASSERT(tls_ticket_keys_parse(buf, 48, keys, &n) == -1);
	TEST_ASSERT(tls_ticket_keys_parse(buf, 79, keys, &n) == -1);
	TEST_ASSERT(tls_ticket_keys_parse(buf, 81, keys, &n) == -1);
	TEST_ASSERT(tls_ticket_keys_parse(buf, 159, keys, &n) == -1);
	for (len = 1; len <= TLS_TICKET_KEYS_MAX; len++) {
		TEST_ASSERT(tls_ticket_keys_parse(buf, len * 80, keys,
		    &n) == 0);
		TEST_ASSERT(n == len);
	}
	TEST_ASSERT(tls_ticket_keys_parse(buf, sizeof(buf), keys,
	    &n) == -1);
}

static void
test_ticket_key_fields(void)
{
	unsigned char		 buf[2 * TLS_TICKET_KEY_LEN];
	struct tls_ticket_key	 keys[TLS_TICKET_KEYS_MAX];
	size_t			 i, n = 0;

	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)i;
	TEST_ASSERT(tls_ticket_keys_parse(buf, sizeof(buf), keys, &n) == 0);
	TEST_ASSERT(n == 2);
	for (i = 0; i < 2; i++) {
		const unsigned char *p = buf + i * 80;

		TEST_ASSERT(memcmp(keys[i].name, p, 16) == 0);
		TEST_ASSERT(memcmp(keys[i].hmac, p + 16, 32) == 0);
		TEST_ASSERT(memcmp(keys[i].aes, p + 48, 32) == 0);
	}
}

/* Write len bytes of 'K' to a temporary file; its path into path. */
static int
key_file(char *path, size_t pathlen, size_t len)
{
	FILE	*f;
	size_t	 i;

	snprintf(path, pathlen, "%s/test_tls.%ld.key",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp",
	    (long)len);
	if ((f = fopen(path, "wb")) == NULL)
		return -1;
	for (i = 0; i < len; i++)
		fputc('K', f);
	return fclose(f) == 0 ? 0 : -1;
}

static void
test_ticket_key_file(void)
{
	SSL_CTX	*ctx = SSL_CTX_new(TLS_server_method());
	char	 path[256], err[512];
	int	 rc;

	TEST_ASSERT(ctx != NULL);
	/* Without a file: the process's key; with one of 80 bytes: it. */
	TEST_ASSERT(tls_ctx_set_ticket_keys(ctx, NULL, err,
	    sizeof(err)) == 0);
	SSL_CTX_free(ctx);
	TEST_ASSERT((ctx = SSL_CTX_new(TLS_server_method())) != NULL);
	TEST_ASSERT(key_file(path, sizeof(path), 80) == 0);
	rc = tls_ctx_set_ticket_keys(ctx, path, err, sizeof(err));
	remove(path);
	TEST_ASSERT(rc == 0);
	SSL_CTX_free(ctx);

	/* 48 bytes (nginx's AES-128 format) is refused; no key byte shown. */
	TEST_ASSERT((ctx = SSL_CTX_new(TLS_server_method())) != NULL);
	TEST_ASSERT(key_file(path, sizeof(path), 48) == 0);
	rc = tls_ctx_set_ticket_keys(ctx, path, err, sizeof(err));
	remove(path);
	TEST_ASSERT(rc == -1);
	TEST_ASSERT(strstr(err, "48 bytes") != NULL);
	TEST_ASSERT(strstr(err, path) != NULL);
	TEST_ASSERT(strstr(err, "KK") == NULL);

	/* A missing file is refused (the caller keeps what it had). */
	rc = tls_ctx_set_ticket_keys(ctx, "/nonexistent/ticket.key", err,
	    sizeof(err));
	TEST_ASSERT(rc == -1);
	TEST_ASSERT(strstr(err, "/nonexistent/ticket.key") != NULL);
	SSL_CTX_free(ctx);
}

int
main(void)
{
	test_run(test_ticket_key_sizes);
	test_run(test_ticket_key_fields);
	test_run(test_ticket_key_file);
	return test_summary();
}
