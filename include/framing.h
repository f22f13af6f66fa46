/*
 * framing: the rules of HTTP/1.1 message framing (RFC 9112 6.3) that a
 * request passes before any of its content is read, so that tokend and
 * every proxy in front of it agree on where a request ends.
 *
 * Two checks, both pure (no event loop, no libevent):
 *   - the head: the request's field lines as the HTTP parser split them
 *     (name before the first colon, value without its surrounding
 *     whitespace), in order, one framing_head_field() call each, then
 *     framing_head_finish() with the version and whether the method's
 *     request has content at all;
 *   - a chunked body (RFC 9112 7.1), octet by octet as it arrives
 *     (framing_chunks_feed()).
 * The first fault found is the verdict; FRAMING_OK means the framing is
 * unambiguous. conn.c feeds both from what evhttp parsed and read, and
 * dispatch.c answers a fault with 400.
 *
 * What is refused, and why each is a fault rather than a choice:
 *   - a field name that is not a token: "Content-Length : 5" has
 *     whitespace before the colon (RFC 9112 5.1 requires a 400), and a
 *     recipient that strips it would read a length evhttp ignores;
 *   - a Content-Length that is not 1*DIGIT, or over INT64_MAX (a sign,
 *     spaces, a comma, an empty value);
 *   - several Content-Length values, as separate fields or as a list,
 *     even when they are equal (RFC 9110 8.6 lets a recipient refuse
 *     them, nginx does, and no client of tokend sends them);
 *   - a Transfer-Encoding other than exactly one "chunked" (any other
 *     coding, a list, "chunked" twice, an empty value);
 *   - both Content-Length and Transfer-Encoding (RFC 9112 6.1);
 *   - Transfer-Encoding in an HTTP/1.0 request (RFC 9112 6.1);
 *   - content on a method whose request evhttp reads none of (HEAD,
 *     TRACE): those octets would be parsed as the next request;
 *   - in a chunked body: a chunk size that is not 1*HEXDIG or is over
 *     INT64_MAX or longer than FRAMING_SIZE_DIGITS_MAX digits; a
 *     malformed chunk extension, or more than FRAMING_EXT_MAX octets of
 *     them in one body; a line or chunk data not ended by CRLF (a bare LF
 *     included); any trailer field (evhttp would merge it into the header
 *     section, against RFC 9110 6.5.1).
 */
#ifndef TOKEND_FRAMING_H
#define TOKEND_FRAMING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum framing_verdict {
	FRAMING_OK = 0,
	FRAMING_FIELD_NAME,		/* a field name is not a token */
	FRAMING_LENGTH_INVALID,		/* Content-Length not 1*DIGIT */
	FRAMING_LENGTH_REPEATED,	/* several Content-Length values */
	FRAMING_CODING_UNSUPPORTED,	/* Transfer-Encoding not "chunked" */
	FRAMING_LENGTH_AND_CODING,	/* both */
	FRAMING_CODING_HTTP10,		/* Transfer-Encoding in HTTP/1.0 */
	FRAMING_CONTENT_NOT_READ,	/* content on HEAD or TRACE */
	FRAMING_CHUNK_SIZE,		/* a chunk size not 1*HEXDIG */
	FRAMING_CHUNK_EXT,		/* a malformed or long extension */
	FRAMING_CHUNK_CRLF,		/* a line or data not ended by CRLF */
	FRAMING_TRAILER,		/* a trailer field */
	FRAMING_UNCHECKED,		/* no verdict yet (a caller's state) */
};

/* Stable lower-case name: the log field. */
const char	*framing_verdict_name(enum framing_verdict);
/* A sentence for the error_description of the 400. */
const char	*framing_verdict_text(enum framing_verdict);

/* ---- the head ---- */

struct framing_head {
	enum framing_verdict	 verdict;	/* the first fault, or OK */
	unsigned		 n_length;	/* Content-Length values */
	unsigned		 n_coding;	/* Transfer-Encoding fields */
	bool			 chunked;	/* the one coding is chunked */
	uint64_t		 length;	/* the Content-Length value */
};

void	 framing_head_init(struct framing_head *h);

/*
 * One field line, in the order received: name is everything before the
 * line's first colon, value the rest without leading and trailing
 * whitespace (both NUL-terminated; only read). Each call is one pass over
 * name (and over value for the two framing fields).
 */
void	 framing_head_field(struct framing_head *h, const char *name,
	    const char *value);

/*
 * The verdict for the whole head: HTTP/major.minor, and whether the
 * method's request is read with content at all (false for HEAD and
 * TRACE, whose content evhttp never reads). When it is FRAMING_OK, the
 * content is h->length octets, or chunked when h->chunked.
 */
enum framing_verdict
	 framing_head_finish(struct framing_head *h, int major, int minor,
	    bool content_read);

/* ---- a chunked body ---- */

/* Longest chunk size, in hex digits, leading zeros included. */
#define FRAMING_SIZE_DIGITS_MAX	32
/* Most octets of chunk extensions in one body (RFC 9112 7.1.1 lets a
   server limit them). */
#define FRAMING_EXT_MAX		1024

struct framing_chunks {
	int			 state;
	enum framing_verdict	 verdict;	/* a fault; final */
	uint64_t		 size;		/* the chunk size being read */
	uint64_t		 left;		/* its data octets to come */
	unsigned		 digits;	/* of the size being read */
	size_t			 ext;		/* extension octets so far */
};

void	 framing_chunks_init(struct framing_chunks *c);

/*
 * Check the next n octets p of a chunked body (the first call gets the
 * first octet after the head's empty line). Returns FRAMING_OK while
 * everything fed is a valid beginning of one; *used is then n, or less
 * when the body's last octet (the LF of the final CRLF) is p[*used - 1]:
 * what follows belongs to the next request, and framing_chunks_done()
 * is true from then on (later calls use nothing). On a fault returns its
 * verdict, again on every later call.
 *
 * Writes to p: when the octet right after a chunk size's digits is ";"
 * or HTAB (the start of a valid extension), it becomes SP. The chunk
 * size is unchanged, and a reader that takes "digits SP anything" as a
 * size line, as evhttp does, then reads the size this check read.
 */
enum framing_verdict
	 framing_chunks_feed(struct framing_chunks *c, char *p, size_t n,
	    size_t *used);

/* True once the whole chunked body, final CRLF included, was fed. */
bool	 framing_chunks_done(const struct framing_chunks *c);

#endif
