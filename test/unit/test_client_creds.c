/*
 * test_client_creds: client_creds_extract(), the credentials of a request
 * from its Authorization header value and its parsed form body:
 * client_secret_basic, client_secret_post, both at once, neither, one
 * half of the post pair, empty values, malformed Basic headers, the
 * form-urlencoding inside Basic credentials (RFC 6749 2.3.1), and the
 * VSCHAR alphabet of both halves (RFC 6749 appendix A).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "client_creds.h"
#include "params.h"
#include "util.h"
#include "test.h"

/* "Basic " + the standard Base64 of the n bytes at raw. */
static char *
basic_n(const char *raw, size_t n)
{
	char	*h = xmalloc(6 + (n + 2) / 3 * 4 + 1);

	memcpy(h, "Basic ", 6);
	EVP_EncodeBlock((unsigned char *)h + 6, (const unsigned char *)raw,
	    (int)n);
	return h;
}

static char *
basic(const char *raw)
{
	return basic_n(raw, strlen(raw));
}

/*
 * Extract from auth (may be NULL) and body (form-urlencoded; NULL: no
 * body). On CREDS_OK creds is the caller's; otherwise it must be empty.
 */
static enum client_creds_result
extract(const char *auth, const char *body, struct client_creds *creds)
{
	struct params		 p;
	enum client_creds_result r;

	params_init(&p);
	if (body != NULL && params_parse_form(&p, body, strlen(body)) !=
	    PARAMS_OK)
		abort();
	r = client_creds_extract(auth, body != NULL ? &p : NULL, creds);
	params_finish(&p);
	if (r != CREDS_OK && (creds->id != NULL || creds->secret != NULL ||
	    creds->secret_len != 0))
		abort();
	return r;
}

/* Whether extracting gives CREDS_OK with this method, id and secret. */
static int
gives(const char *auth, const char *body, enum creds_via via,
    const char *id, const char *secret)
{
	struct client_creds	 c;
	int			 ok;

	if (extract(auth, body, &c) != CREDS_OK)
		return 0;
	ok = c.via == via && strcmp(c.id, id) == 0 &&
	    strcmp(c.secret, secret) == 0 && c.secret_len == strlen(secret);
	client_creds_finish(&c);
	return ok;
}

static enum client_creds_result
result(const char *auth, const char *body)
{
	struct client_creds	 c;
	enum client_creds_result r;

	if ((r = extract(auth, body, &c)) == CREDS_OK)
		client_creds_finish(&c);
	return r;
}

static void
test_creds_post(void)
{
	TEST_ASSERT(gives(NULL, "grant_type=client_credentials&client_id=c1"
	    "&client_secret=s3cret", CREDS_VIA_POST, "c1", "s3cret"));
	/* The form's own decoding: '+' and %-escapes. */
	TEST_ASSERT(gives(NULL, "client_id=my+client&client_secret=a%2Bb%3D",
	    CREDS_VIA_POST, "my client", "a+b="));
}

static void
test_creds_basic(void)
{
	char	*h = basic("c1:s3cret");

	TEST_ASSERT(gives(h, NULL, CREDS_VIA_BASIC, "c1", "s3cret"));
	/* A body without credentials changes nothing. */
	TEST_ASSERT(gives(h, "grant_type=client_credentials&scope=read",
	    CREDS_VIA_BASIC, "c1", "s3cret"));
	/* The same client_id in the body too is fine... */
	TEST_ASSERT(gives(h, "client_id=c1", CREDS_VIA_BASIC, "c1",
	    "s3cret"));
	/* ...and empty body values count as absent. */
	TEST_ASSERT(gives(h, "client_id=&client_secret=", CREDS_VIA_BASIC,
	    "c1", "s3cret"));
	free(h);
	/* The scheme name in any case, blanks around the token68. */
	TEST_ASSERT(gives("bAsIc  YzE6czNjcmV0  ", NULL, CREDS_VIA_BASIC,
	    "c1", "s3cret"));
}

static void
test_creds_basic_decoding(void)
{
	static const struct {
		const char	*raw;
		const char	*id;
		const char	*secret;
	} cases[] = {
		/* RFC 6749 2.3.1: both halves are form-urlencoded. */
		{ "my%20client:p%3Ass+w",	"my client",	"p:ss w" },
		{ "a%3Ab:c",			"a:b",		"c" },
		{ "c1:a%2Bb%25",		"c1",		"a+b%" },
		/* The first ':' splits; later ones are the secret's. */
		{ "c1:a:b:c",			"c1",		"a:b:c" },
		{ "C%31:S",			"C1",		"S" },
	};
	char	*h;
	size_t	 i;

	for (i = 0; i < nitems(cases); i++) {
		h = basic(cases[i].raw);
		TEST_ASSERT(gives(h, NULL, CREDS_VIA_BASIC, cases[i].id,
		    cases[i].secret));
		free(h);
	}
	/* A body client_id is compared with the decoded Basic one. */
	h = basic("a%3Ab:c");
	TEST_ASSERT(gives(h, "client_id=a%3Ab", CREDS_VIA_BASIC, "a:b",
	    "c"));
	TEST_ASSERT(result(h, "client_id=a%253Ab") == CREDS_BOTH);
	free(h);
}

static void
test_creds_both(void)
{
	char	*h = basic("c1:s3cret");

	/* RFC 6749 2.3: one method per request. */
	TEST_ASSERT(result(h, "client_secret=s3cret") == CREDS_BOTH);
	TEST_ASSERT(result(h, "client_id=c1&client_secret=s3cret") ==
	    CREDS_BOTH);
	TEST_ASSERT(result(h, "client_secret=other") == CREDS_BOTH);
	/* A body client_id naming another client. */
	TEST_ASSERT(result(h, "client_id=c2") == CREDS_BOTH);
	TEST_ASSERT(result(h, "client_id=C1") == CREDS_BOTH);
	free(h);
	/* Checked before the header is even parsed. */
	TEST_ASSERT(result("Basic !!!", "client_secret=x") == CREDS_BOTH);
	TEST_ASSERT(result("Bearer abc", "client_secret=x") == CREDS_BOTH);
}

static void
test_creds_none_incomplete(void)
{
	TEST_ASSERT(result(NULL, NULL) == CREDS_NONE);
	TEST_ASSERT(result(NULL, "") == CREDS_NONE);
	TEST_ASSERT(result(NULL, "grant_type=client_credentials") ==
	    CREDS_NONE);
	/* RFC 6749 3.2: a parameter without a value is omitted. */
	TEST_ASSERT(result(NULL, "client_id=&client_secret=") == CREDS_NONE);
	TEST_ASSERT(result(NULL, "client_id&client_secret") == CREDS_NONE);
	/* One half of the pair. */
	TEST_ASSERT(result(NULL, "client_id=c1") == CREDS_INCOMPLETE);
	TEST_ASSERT(result(NULL, "client_id=c1&client_secret=") ==
	    CREDS_INCOMPLETE);
	TEST_ASSERT(result(NULL, "client_secret=s3cret") == CREDS_INCOMPLETE);
	TEST_ASSERT(result(NULL, "client_id=&client_secret=s3cret") ==
	    CREDS_INCOMPLETE);
}

static void
test_creds_malformed_basic(void)
{
	static const char *const headers[] = {
		"Bearer abc",		/* another scheme */
		"Basic",		/* no token68 */
		"Basic ",
		"BasicYzE6czNjcmV0",	/* no blank after the scheme */
		"Basic YzE6czNjcmV0=",	/* not a multiple of 4 */
		"Basic YzE6 czNjcmV0",	/* a blank inside */
		"Basic YzE6czNjcmV0-_",	/* base64url is not Base64 */
		"Basic YWJj",		/* "abc": no ':' */
		"Digest username=\"c1\"",
		"",
	};
	static const char *const raw[] = {
		"c1:",			/* missing secret */
		":s3cret",		/* missing id */
		":",
		"c1%zz:s",		/* a bad escape */
		"c1:s%",
		"c1%00:s",		/* a NUL byte */
		"c1:s\x01",		/* not VSCHAR */
		"c1:s\x7f",
		"c1:s\tx",
		"c\xc3\xa9:s",		/* UTF-8 is not VSCHAR */
		"c1:s%C3%A9",
		"c1:%0A",
	};
	char	*h;
	size_t	 i;

	for (i = 0; i < nitems(headers); i++)
		TEST_ASSERT(result(headers[i], NULL) == CREDS_MALFORMED);
	for (i = 0; i < nitems(raw); i++) {
		h = basic(raw[i]);
		TEST_ASSERT(result(h, NULL) == CREDS_MALFORMED);
		free(h);
	}
	/* A NUL byte inside the decoded Base64 itself. */
	h = basic_n("c1:s\0x", 6);
	TEST_ASSERT(result(h, NULL) == CREDS_MALFORMED);
	free(h);
}

static void
test_creds_malformed_post(void)
{
	TEST_ASSERT(result(NULL, "client_id=c%C3%A9&client_secret=s") ==
	    CREDS_MALFORMED);
	TEST_ASSERT(result(NULL, "client_id=c1&client_secret=a%01") ==
	    CREDS_MALFORMED);
	TEST_ASSERT(result(NULL, "client_id=c1&client_secret=a%7F") ==
	    CREDS_MALFORMED);
	TEST_ASSERT(result(NULL, "client_id=c%0A1&client_secret=s") ==
	    CREDS_MALFORMED);
	/* Space is VSCHAR (%x20). */
	TEST_ASSERT(result(NULL, "client_id=c+1&client_secret=s+s") ==
	    CREDS_OK);
}

static void
test_creds_finish(void)
{
	struct client_creds	 c;

	memset(&c, 0, sizeof(c));
	client_creds_finish(&c);
	TEST_ASSERT(c.id == NULL && c.secret == NULL);
	TEST_ASSERT(extract(NULL, "client_id=c1&client_secret=s", &c) ==
	    CREDS_OK);
	client_creds_finish(&c);
	TEST_ASSERT(c.id == NULL && c.secret == NULL && c.secret_len == 0);
	client_creds_finish(&c);
}

int
main(void)
{
	test_run(test_creds_post);
	test_run(test_creds_basic);
	test_run(test_creds_basic_decoding);
	test_run(test_creds_both);
	test_run(test_creds_none_incomplete);
	test_run(test_creds_malformed_basic);
	test_run(test_creds_malformed_post);
	test_run(test_creds_finish);
	return test_summary();
}
