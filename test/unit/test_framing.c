/*
 * test_framing: the message framing rules (RFC 9112 6.3, 7.1): heads
 * made of field lines as evhttp splits them, and chunked bodies fed
 * whole, octet by octet and in every two-piece split, each against the
 * verdict it must get.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "framing.h"
#include "test.h"

/* fields: name, value, name, value, ..., NULL */
static enum framing_verdict
head_of(int major, int minor, bool content_read, const char *const *fields,
    struct framing_head *h)
{
	framing_head_init(h);
	for (; fields[0] != NULL; fields += 2)
		framing_head_field(h, fields[0], fields[1]);
	return framing_head_finish(h, major, minor, content_read);
}

static enum framing_verdict
head11(const char *const *fields)
{
	struct framing_head	 h;

	return head_of(1, 1, true, fields, &h);
}

#define F(...)	((const char *const[]){ __VA_ARGS__, NULL })

static void
test_framing_head_length(void)
{
	struct framing_head	 h;

	TEST_ASSERT(head_of(1, 1, true, F("Host", "x", "Content-Length", "5"),
	    &h) == FRAMING_OK);
	TEST_ASSERT(h.length == 5 && !h.chunked && h.n_length == 1);
	TEST_ASSERT(head_of(1, 1, true, F("content-length", "007"), &h) ==
	    FRAMING_OK && h.length == 7);
	TEST_ASSERT(head_of(1, 1, true, F("Content-Length",
	    "9223372036854775807"), &h) == FRAMING_OK &&
	    h.length == INT64_MAX);
	TEST_ASSERT(head_of(1, 1, true, F("Content-Length", "0"), &h) ==
	    FRAMING_OK && h.length == 0);
	TEST_ASSERT(head_of(1, 0, true, F("Content-Length", "5"), &h) ==
	    FRAMING_OK);
	TEST_ASSERT(head_of(1, 1, true, F("Host", "x"), &h) == FRAMING_OK &&
	    h.length == 0 && h.n_length == 0);

	TEST_ASSERT(head11(F("Content-Length", "+5")) ==
	    FRAMING_LENGTH_INVALID);
	TEST_ASSERT(head11(F("Content-Length", "-5")) ==
	    FRAMING_LENGTH_INVALID);
	TEST_ASSERT(head11(F("Content-Length", "1 0")) ==
	    FRAMING_LENGTH_INVALID);
	TEST_ASSERT(head11(F("Content-Length", "5a")) ==
	    FRAMING_LENGTH_INVALID);
	TEST_ASSERT(head11(F("Content-Length", "0x5")) ==
	    FRAMING_LENGTH_INVALID);
	TEST_ASSERT(head11(F("Content-Length", "")) == FRAMING_LENGTH_INVALID);
	TEST_ASSERT(head11(F("Content-Length", "\t5")) ==
	    FRAMING_LENGTH_INVALID);
	TEST_ASSERT(head11(F("Content-Length", " 5")) ==
	    FRAMING_LENGTH_INVALID);
	TEST_ASSERT(head11(F("Content-Length", "9223372036854775808")) ==
	    FRAMING_LENGTH_INVALID);
	TEST_ASSERT(head11(F("Content-Length", "99999999999999999999")) ==
	    FRAMING_LENGTH_INVALID);
	TEST_ASSERT(head11(F("Content-Length", "184467440737095516160")) ==
	    FRAMING_LENGTH_INVALID);

	/* Several values, equal or not, as fields or as a list. */
	TEST_ASSERT(head11(F("Content-Length", "5", "Content-Length", "6")) ==
	    FRAMING_LENGTH_REPEATED);
	TEST_ASSERT(head11(F("Content-Length", "5", "content-length", "5")) ==
	    FRAMING_LENGTH_REPEATED);
	TEST_ASSERT(head11(F("Content-Length", "5, 6")) ==
	    FRAMING_LENGTH_REPEATED);
	TEST_ASSERT(head11(F("Content-Length", "5,5")) ==
	    FRAMING_LENGTH_REPEATED);
	/* The first fault is the verdict. */
	TEST_ASSERT(head11(F("Content-Length", "x", "Content-Length", "5")) ==
	    FRAMING_LENGTH_INVALID);
}

static void
test_framing_head_coding(void)
{
	struct framing_head	 h;

	TEST_ASSERT(head_of(1, 1, true, F("Transfer-Encoding", "chunked"),
	    &h) == FRAMING_OK && h.chunked);
	TEST_ASSERT(head_of(1, 1, true, F("transfer-encoding", "CHUNKED"),
	    &h) == FRAMING_OK && h.chunked);
	TEST_ASSERT(head_of(2, 0, true, F("Transfer-Encoding", "chunked"),
	    &h) == FRAMING_OK && h.chunked);

	TEST_ASSERT(head11(F("Transfer-Encoding", "chunked, gzip")) ==
	    FRAMING_CODING_UNSUPPORTED);
	TEST_ASSERT(head11(F("Transfer-Encoding", "gzip, chunked")) ==
	    FRAMING_CODING_UNSUPPORTED);
	TEST_ASSERT(head11(F("Transfer-Encoding", "identity")) ==
	    FRAMING_CODING_UNSUPPORTED);
	TEST_ASSERT(head11(F("Transfer-Encoding", "xchunked")) ==
	    FRAMING_CODING_UNSUPPORTED);
	TEST_ASSERT(head11(F("Transfer-Encoding", "chunkedx")) ==
	    FRAMING_CODING_UNSUPPORTED);
	TEST_ASSERT(head11(F("Transfer-Encoding", "chunked, chunked")) ==
	    FRAMING_CODING_UNSUPPORTED);
	TEST_ASSERT(head11(F("Transfer-Encoding", "chunked",
	    "Transfer-Encoding", "chunked")) == FRAMING_CODING_UNSUPPORTED);
	TEST_ASSERT(head11(F("Transfer-Encoding", "\tchunked")) ==
	    FRAMING_CODING_UNSUPPORTED);
	TEST_ASSERT(head11(F("Transfer-Encoding", "")) ==
	    FRAMING_CODING_UNSUPPORTED);

	TEST_ASSERT(head11(F("Content-Length", "5", "Transfer-Encoding",
	    "chunked")) == FRAMING_LENGTH_AND_CODING);
	TEST_ASSERT(head11(F("Transfer-Encoding", "chunked", "Content-Length",
	    "0")) == FRAMING_LENGTH_AND_CODING);
	TEST_ASSERT(head_of(1, 0, true, F("Transfer-Encoding", "chunked"),
	    &h) == FRAMING_CODING_HTTP10);
	TEST_ASSERT(head_of(0, 9, true, F("Transfer-Encoding", "chunked"),
	    &h) == FRAMING_CODING_HTTP10);
}

static void
test_framing_head_names(void)
{
	struct framing_head	 h;

	TEST_ASSERT(head11(F("X-Weird_Name.1!#$%&'*+^`|~", "v")) ==
	    FRAMING_OK);
	TEST_ASSERT(head11(F("Content-Length ", "5")) == FRAMING_FIELD_NAME);
	TEST_ASSERT(head11(F("Transfer-Encoding\t", "chunked")) ==
	    FRAMING_FIELD_NAME);
	TEST_ASSERT(head11(F("", "5")) == FRAMING_FIELD_NAME);
	TEST_ASSERT(head11(F("A B", "x")) == FRAMING_FIELD_NAME);
	TEST_ASSERT(head11(F("A/B", "x")) == FRAMING_FIELD_NAME);
	TEST_ASSERT(head11(F("Caf\xc3\xa9", "x")) == FRAMING_FIELD_NAME);
	/* A bad name is a fault even where a length would be fine. */
	TEST_ASSERT(head_of(1, 1, true, F("Content-Length", "5", "A\x7f", "x"),
	    &h) == FRAMING_FIELD_NAME);
	/* Near misses of the two names are other fields. */
	TEST_ASSERT(head_of(1, 1, true, F("Content-Lengths", "x",
	    "Transfer-Encodings", "x", "Content-Lengt", "x"), &h) ==
	    FRAMING_OK && h.n_length == 0 && h.n_coding == 0);
}

static void
test_framing_head_content_not_read(void)
{
	struct framing_head	 h;

	TEST_ASSERT(head_of(1, 1, false, F("Content-Length", "0"), &h) ==
	    FRAMING_OK);
	TEST_ASSERT(head_of(1, 1, false, F("Host", "x"), &h) == FRAMING_OK);
	TEST_ASSERT(head_of(1, 1, false, F("Content-Length", "5"), &h) ==
	    FRAMING_CONTENT_NOT_READ);
	TEST_ASSERT(head_of(1, 1, false, F("Transfer-Encoding", "chunked"),
	    &h) == FRAMING_CONTENT_NOT_READ);
}

static void
test_framing_names(void)
{
	int	 v;

	for (v = FRAMING_OK; v <= FRAMING_UNCHECKED; v++) {
		const char	*n = framing_verdict_name(v);
		const char	*t = framing_verdict_text(v);
		int		 w;

		TEST_ASSERT(n != NULL && n[0] != '\0' && t != NULL &&
		    t[0] != '\0');
		TEST_ASSERT(strcmp(n, "unknown") != 0);
		for (w = FRAMING_OK; w < v; w++)
			TEST_ASSERT(strcmp(framing_verdict_name(w), n) != 0);
	}
	TEST_ASSERT(strcmp(framing_verdict_name(FRAMING_OK), "ok") == 0);
}

/* ---- chunked bodies ---- */

/*
 * Feed body (len octets, then the rest) to a fresh check in one piece,
 * octet by octet and split at every point; every way must give want,
 * and on OK use exactly `body_len` octets (the body ends there; the rest
 * belongs to the next request). Returns 1 when all agree.
 */
static int
chunks_agree(const char *body, size_t len, size_t body_len,
    enum framing_verdict want)
{
	struct framing_chunks	 c;
	enum framing_verdict	 v = FRAMING_OK;
	char			*buf;
	size_t			 used, total, i, cut;
	int			 ok = 1;

	buf = malloc(len + 1);
	for (cut = 0; cut <= len + 1 && ok; cut++) {
		/* cut == len + 1: octet by octet */
		memcpy(buf, body, len);
		framing_chunks_init(&c);
		total = 0;
		v = FRAMING_OK;
		if (cut == len + 1) {
			for (i = 0; i < len && v == FRAMING_OK &&
			    !framing_chunks_done(&c); i++) {
				v = framing_chunks_feed(&c, buf + i, 1, &used);
				total += used;
			}
		} else {
			v = framing_chunks_feed(&c, buf, cut, &used);
			total = used;
			if (v == FRAMING_OK && !framing_chunks_done(&c)) {
				v = framing_chunks_feed(&c, buf + cut,
				    len - cut, &used);
				total += used;
			}
		}
		if (v != want)
			ok = 0;
		if (want == FRAMING_OK && (total != body_len ||
		    !framing_chunks_done(&c)))
			ok = 0;
		if (want != FRAMING_OK) {
			/* Final: later calls say the same, use nothing. */
			if (framing_chunks_feed(&c, buf, len, &used) != want ||
			    used != 0)
				ok = 0;
		}
	}
	if (!ok)
		fprintf(stderr, "chunks_agree: \"%.*s\" at cut %zu: verdict "
		    "%s, wanted %s\n", (int)len, body, cut - 1,
		    framing_verdict_name(v), framing_verdict_name(want));
	free(buf);
	return ok;
}

#define OK_BODY(s)		chunks_agree(s, sizeof(s) - 1, \
				    sizeof(s) - 1, FRAMING_OK)
#define OK_BODY_THEN(s, n)	chunks_agree(s, sizeof(s) - 1, n, FRAMING_OK)
#define BAD_BODY(s, v)		chunks_agree(s, sizeof(s) - 1, 0, v)

static void
test_framing_chunks_valid(void)
{
	TEST_ASSERT(OK_BODY("0\r\n\r\n"));
	TEST_ASSERT(OK_BODY("5\r\nhello\r\n0\r\n\r\n"));
	TEST_ASSERT(OK_BODY("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"));
	TEST_ASSERT(OK_BODY("A\r\n0123456789\r\n0\r\n\r\n"));
	TEST_ASSERT(OK_BODY("a\r\n0123456789\r\n00\r\n\r\n"));
	TEST_ASSERT(OK_BODY("0005\r\nhello\r\n0\r\n\r\n"));
	/* Chunk data is opaque: CR, LF, NUL and anything. */
	TEST_ASSERT(OK_BODY("4\r\n\r\n\r\n\r\n0\r\n\r\n"));
	TEST_ASSERT(chunks_agree("3\r\n\0\xff;\r\n0\r\n\r\n", 13, 13,
	    FRAMING_OK));
	/* Extensions: token and quoted values, BWS. */
	TEST_ASSERT(OK_BODY("5;a\r\nhello\r\n0\r\n\r\n"));
	TEST_ASSERT(OK_BODY("5;a=b\r\nhello\r\n0;last=1\r\n\r\n"));
	TEST_ASSERT(OK_BODY("5 ;a=b\r\nhello\r\n0\r\n\r\n"));
	TEST_ASSERT(OK_BODY("5\t; a = b ;c\r\nhello\r\n0\r\n\r\n"));
	TEST_ASSERT(OK_BODY("5;a=\"b c;\\\"d\\\\\"\r\nhello\r\n0\r\n\r\n"));
	TEST_ASSERT(OK_BODY("5;a=\"\"\r\nhello\r\n0\r\n\r\n"));
	TEST_ASSERT(OK_BODY("5;a=\"\xe9\t\"\r\nhello\r\n0\r\n\r\n"));
	TEST_ASSERT(OK_BODY("5;a;b;c=d\r\nhello\r\n0\r\n\r\n"));
	/* What follows the body is the next request's. */
	TEST_ASSERT(OK_BODY_THEN("5\r\nhello\r\n0\r\n\r\nGET / HTTP/1.1\r\n",
	    15));
	TEST_ASSERT(OK_BODY_THEN("0\r\n\r\nzz", 5));
}

static void
test_framing_chunks_size(void)
{
	char	 big[FRAMING_SIZE_DIGITS_MAX + 16];

	TEST_ASSERT(BAD_BODY("zz\r\nhello\r\n0\r\n\r\n", FRAMING_CHUNK_SIZE));
	TEST_ASSERT(BAD_BODY("0x5\r\nhello\r\n0\r\n\r\n", FRAMING_CHUNK_SIZE));
	TEST_ASSERT(BAD_BODY("+5\r\nhello\r\n0\r\n\r\n", FRAMING_CHUNK_SIZE));
	TEST_ASSERT(BAD_BODY("-5\r\nhello\r\n0\r\n\r\n", FRAMING_CHUNK_SIZE));
	TEST_ASSERT(BAD_BODY(" 5\r\nhello\r\n0\r\n\r\n", FRAMING_CHUNK_SIZE));
	TEST_ASSERT(BAD_BODY("\r\n5\r\nhello\r\n0\r\n\r\n",
	    FRAMING_CHUNK_SIZE));
	TEST_ASSERT(BAD_BODY("5\r\nhello\r\n\r\n0\r\n\r\n",
	    FRAMING_CHUNK_SIZE));
	TEST_ASSERT(BAD_BODY("5x\r\nhello\r\n0\r\n\r\n", FRAMING_CHUNK_SIZE));
	/* Over INT64_MAX, however written (the largest valid size:
	   test_framing_chunks_large_size). */
	TEST_ASSERT(BAD_BODY("8000000000000000\r\n", FRAMING_CHUNK_SIZE));
	TEST_ASSERT(BAD_BODY("10000000000000000\r\n", FRAMING_CHUNK_SIZE));
	TEST_ASSERT(BAD_BODY("ffffffffffffffffffff\r\n", FRAMING_CHUNK_SIZE));
	/* Leading zeros count towards the digit limit. */
	memset(big, '0', sizeof(big));
	big[FRAMING_SIZE_DIGITS_MAX - 1] = '5';
	memcpy(big + FRAMING_SIZE_DIGITS_MAX, "\r\nhello\r\n0\r\n\r\n", 14);
	TEST_ASSERT(chunks_agree(big, FRAMING_SIZE_DIGITS_MAX + 14,
	    FRAMING_SIZE_DIGITS_MAX + 14, FRAMING_OK));
	memset(big, '0', sizeof(big));
	big[FRAMING_SIZE_DIGITS_MAX] = '5';
	memcpy(big + FRAMING_SIZE_DIGITS_MAX + 1, "\r\nhello\r\n0\r\n\r\n",
	    14);
	TEST_ASSERT(chunks_agree(big, FRAMING_SIZE_DIGITS_MAX + 15, 0,
	    FRAMING_CHUNK_SIZE));
}

static void
test_framing_chunks_large_size(void)
{
	struct framing_chunks	 c;
	char			 s[] = "7fffffffffffffff\r\n";
	char			 data[4096];
	size_t			 used;
	int			 i;

	/* The largest size passes; its data is counted, not kept. */
	framing_chunks_init(&c);
	TEST_ASSERT(framing_chunks_feed(&c, s, sizeof(s) - 1, &used) ==
	    FRAMING_OK && used == sizeof(s) - 1);
	memset(data, 'x', sizeof(data));
	for (i = 0; i < 100; i++)
		TEST_ASSERT(framing_chunks_feed(&c, data, sizeof(data),
		    &used) == FRAMING_OK && used == sizeof(data));
	TEST_ASSERT(!framing_chunks_done(&c));
	TEST_ASSERT(c.left == (uint64_t)INT64_MAX - 100 * sizeof(data));
}

static void
test_framing_chunks_crlf(void)
{
	TEST_ASSERT(BAD_BODY("5\nhello\r\n0\r\n\r\n", FRAMING_CHUNK_CRLF));
	TEST_ASSERT(BAD_BODY("5\rhello\r\n0\r\n\r\n", FRAMING_CHUNK_CRLF));
	TEST_ASSERT(BAD_BODY("\nhello\r\n0\r\n\r\n", FRAMING_CHUNK_CRLF));
	TEST_ASSERT(BAD_BODY("5\r\nhello5\r\nworld\r\n0\r\n\r\n",
	    FRAMING_CHUNK_CRLF));
	TEST_ASSERT(BAD_BODY("5\r\nhello\n0\r\n\r\n", FRAMING_CHUNK_CRLF));
	TEST_ASSERT(BAD_BODY("5\r\nhello\rX0\r\n\r\n", FRAMING_CHUNK_CRLF));
	TEST_ASSERT(BAD_BODY("5\r\nhello\r\n0\n\n", FRAMING_CHUNK_CRLF));
	TEST_ASSERT(BAD_BODY("5\r\nhello\r\n0\r\n\n", FRAMING_CHUNK_CRLF));
	TEST_ASSERT(BAD_BODY("5\r\nhello\r\n0\r\n\rX", FRAMING_CHUNK_CRLF));
	TEST_ASSERT(BAD_BODY("5;a\nhello\r\n0\r\n\r\n", FRAMING_CHUNK_EXT));
}

static void
test_framing_chunks_extensions(void)
{
	TEST_ASSERT(BAD_BODY("5;\r\nhello\r\n0\r\n\r\n", FRAMING_CHUNK_EXT));
	TEST_ASSERT(BAD_BODY("5;=v\r\nhello\r\n0\r\n\r\n", FRAMING_CHUNK_EXT));
	TEST_ASSERT(BAD_BODY("5;a=\r\nhello\r\n0\r\n\r\n", FRAMING_CHUNK_EXT));
	TEST_ASSERT(BAD_BODY("5;a=b/c\r\nhello\r\n0\r\n\r\n",
	    FRAMING_CHUNK_EXT));
	TEST_ASSERT(BAD_BODY("5;a b\r\nhello\r\n0\r\n\r\n", FRAMING_CHUNK_EXT));
	TEST_ASSERT(BAD_BODY("5;a \r\nhello\r\n0\r\n\r\n", FRAMING_CHUNK_EXT));
	TEST_ASSERT(BAD_BODY("5 \r\nhello\r\n0\r\n\r\n", FRAMING_CHUNK_EXT));
	TEST_ASSERT(BAD_BODY("5 junk\r\nhello\r\n0\r\n\r\n",
	    FRAMING_CHUNK_EXT));
	TEST_ASSERT(BAD_BODY("5;a=\"b\r\nhello\r\n0\r\n\r\n",
	    FRAMING_CHUNK_EXT));
	TEST_ASSERT(BAD_BODY("5;a=\"b\"c\r\nhello\r\n0\r\n\r\n",
	    FRAMING_CHUNK_EXT));
	TEST_ASSERT(BAD_BODY("5;a=\"\x7f\"\r\nhello\r\n0\r\n\r\n",
	    FRAMING_CHUNK_EXT));
	TEST_ASSERT(BAD_BODY("5;a=\"\\\x01\"\r\nhello\r\n0\r\n\r\n",
	    FRAMING_CHUNK_EXT));
	TEST_ASSERT(BAD_BODY("5;a=b=c\r\nhello\r\n0\r\n\r\n",
	    FRAMING_CHUNK_EXT));
}

static void
test_framing_chunks_extension_limit(void)
{
	char	 body[FRAMING_EXT_MAX + 64];
	size_t	 n;

	/* Exactly FRAMING_EXT_MAX octets of extensions in one body pass. */
	n = 0;
	body[n++] = '5';
	body[n++] = ';';
	memset(body + n, 'a', FRAMING_EXT_MAX - 1);
	n += FRAMING_EXT_MAX - 1;
	memcpy(body + n, "\r\nhello\r\n0\r\n\r\n", 14);
	n += 14;
	TEST_ASSERT(chunks_agree(body, n, n, FRAMING_OK));
	/* One more, a valid extension on the last chunk, does not. */
	n = 0;
	body[n++] = '5';
	body[n++] = ';';
	memset(body + n, 'a', FRAMING_EXT_MAX - 1);
	n += FRAMING_EXT_MAX - 1;
	memcpy(body + n, "\r\nhello\r\n0;b\r\n\r\n", 16);
	n += 16;
	TEST_ASSERT(chunks_agree(body, n, 0, FRAMING_CHUNK_EXT));
	/* A long line without CRLF stops at the limit, not at the end. */
	n = 0;
	body[n++] = '5';
	body[n++] = ' ';
	memset(body + n, ' ', sizeof(body) - n);
	TEST_ASSERT(chunks_agree(body, sizeof(body), 0, FRAMING_CHUNK_EXT));
}

static void
test_framing_chunks_trailer(void)
{
	TEST_ASSERT(BAD_BODY("5\r\nhello\r\n0\r\nX-A: b\r\n\r\n",
	    FRAMING_TRAILER));
	TEST_ASSERT(BAD_BODY("0\r\nAuthorization: x\r\n\r\n", FRAMING_TRAILER));
	TEST_ASSERT(BAD_BODY("0\r\n \r\n\r\n", FRAMING_TRAILER));
}

/* The octet after a size's digits becomes SP when it starts an
   extension; nothing else is written. */
static void
test_framing_chunks_rewrite(void)
{
	struct framing_chunks	 c;
	char			 b1[] = "5;a=b\r\nhello\r\n0\t;z\r\n\r\n";
	char			 w1[] = "5 a=b\r\nhello\r\n0 ;z\r\n\r\n";
	char			 b2[] = "5 ;a\r\nhe;lo\r\n0\r\n\r\n";
	char			 w2[] = "5 ;a\r\nhe;lo\r\n0\r\n\r\n";
	size_t			 used;

	framing_chunks_init(&c);
	TEST_ASSERT(framing_chunks_feed(&c, b1, sizeof(b1) - 1, &used) ==
	    FRAMING_OK && framing_chunks_done(&c));
	TEST_ASSERT(memcmp(b1, w1, sizeof(b1)) == 0);
	framing_chunks_init(&c);
	TEST_ASSERT(framing_chunks_feed(&c, b2, sizeof(b2) - 1, &used) ==
	    FRAMING_OK && framing_chunks_done(&c));
	TEST_ASSERT(memcmp(b2, w2, sizeof(b2)) == 0);
}

int
main(void)
{
	test_run(test_framing_head_length);
	test_run(test_framing_head_coding);
	test_run(test_framing_head_names);
	test_run(test_framing_head_content_not_read);
	test_run(test_framing_names);
	test_run(test_framing_chunks_valid);
	test_run(test_framing_chunks_size);
	test_run(test_framing_chunks_large_size);
	test_run(test_framing_chunks_crlf);
	test_run(test_framing_chunks_extensions);
	test_run(test_framing_chunks_extension_limit);
	test_run(test_framing_chunks_trailer);
	test_run(test_framing_chunks_rewrite);
	return test_summary();
}
