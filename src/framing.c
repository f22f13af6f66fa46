/*
 * framing: HTTP/1.1 message framing rules (RFC 9112 6.3 and 7.1), pure.
 * The head check is one pass over the field lines the HTTP parser made;
 * the chunked-body check a state machine over octets, so a body may
 * arrive in any number of pieces. Which faults are refused, and why, is
 * in framing.h. Left to others: reading the octets and answering
 * (conn.c, dispatch.c); the size limits (--max-body, --max-headers),
 * which evhttp enforces.
 *
 * Invariants: a verdict other than FRAMING_OK is final; the chunk state
 * machine reads every octet once and never looks back, so a caller feeds
 * each octet once, in order.
 */
#include <stdint.h>
#include <strings.h>

#include "framing.h"

/* RFC 9110 5.6.2 tchar */
static const unsigned char tchar[256] = {
	['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1,
	['*'] = 1, ['+'] = 1, ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1,
	['`'] = 1, ['|'] = 1, ['~'] = 1,
	['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1,
	['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
	['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1,
	['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1,
	['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
	['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
	['Y'] = 1, ['Z'] = 1,
	['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
	['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1,
	['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,
	['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
	['y'] = 1, ['z'] = 1,
};

const char *
framing_verdict_name(enum framing_verdict v)
{
	switch (v) {
	case FRAMING_OK:
		return "ok";
	case FRAMING_FIELD_NAME:
		return "field_name";
	case FRAMING_LENGTH_INVALID:
		return "content_length_invalid";
	case FRAMING_LENGTH_REPEATED:
		return "content_length_repeated";
	case FRAMING_CODING_UNSUPPORTED:
		return "transfer_encoding_unsupported";
	case FRAMING_LENGTH_AND_CODING:
		return "content_length_and_transfer_encoding";
	case FRAMING_CODING_HTTP10:
		return "transfer_encoding_http10";
	case FRAMING_CONTENT_NOT_READ:
		return "content_not_allowed";
	case FRAMING_CHUNK_SIZE:
		return "chunk_size";
	case FRAMING_CHUNK_EXT:
		return "chunk_extension";
	case FRAMING_CHUNK_CRLF:
		return "chunk_crlf";
	case FRAMING_TRAILER:
		return "trailer";
	case FRAMING_UNCHECKED:
		return "unchecked";
	}
	return "unknown";
}

const char *
framing_verdict_text(enum framing_verdict v)
{
	switch (v) {
	case FRAMING_OK:
		return "valid message framing";
	case FRAMING_FIELD_NAME:
		return "invalid header field name";
	case FRAMING_LENGTH_INVALID:
		return "invalid Content-Length";
	case FRAMING_LENGTH_REPEATED:
		return "more than one Content-Length value";
	case FRAMING_CODING_UNSUPPORTED:
		return "Transfer-Encoding other than chunked";
	case FRAMING_LENGTH_AND_CODING:
		return "both Content-Length and Transfer-Encoding";
	case FRAMING_CODING_HTTP10:
		return "Transfer-Encoding in an HTTP/1.0 request";
	case FRAMING_CONTENT_NOT_READ:
		return "content in a HEAD or TRACE request";
	case FRAMING_CHUNK_SIZE:
		return "invalid chunk size";
	case FRAMING_CHUNK_EXT:
		return "invalid or too long chunk extension";
	case FRAMING_CHUNK_CRLF:
		return "chunk line or data not ended by CRLF";
	case FRAMING_TRAILER:
		return "trailer fields are not accepted";
	case FRAMING_UNCHECKED:
		return "message framing not checked";
	}
	return "invalid message framing";
}

/* ---- the head ---- */

void
framing_head_init(struct framing_head *h)
{
	h->verdict = FRAMING_OK;
	h->n_length = 0;
	h->n_coding = 0;
	h->chunked = false;
	h->length = 0;
}

static void
head_fault(struct framing_head *h, enum framing_verdict v)
{
	if (h->verdict == FRAMING_OK)
		h->verdict = v;
}

/* RFC 9110 8.6: Content-Length = 1*DIGIT; a list is several values. */
static void
head_length(struct framing_head *h, const char *v)
{
	uint64_t	 n = 0;
	unsigned	 d;

	if (++h->n_length > 1) {
		head_fault(h, FRAMING_LENGTH_REPEATED);
		return;
	}
	if (*v < '0' || *v > '9') {
		head_fault(h, FRAMING_LENGTH_INVALID);
		return;
	}
	for (; *v >= '0' && *v <= '9'; v++) {
		d = (unsigned)(*v - '0');
		if (n > ((uint64_t)INT64_MAX - d) / 10) {
			head_fault(h, FRAMING_LENGTH_INVALID);
			return;
		}
		n = n * 10 + d;
	}
	if (*v == ',')
		head_fault(h, FRAMING_LENGTH_REPEATED);
	else if (*v != '\0')
		head_fault(h, FRAMING_LENGTH_INVALID);
	else
		h->length = n;
}

void
framing_head_field(struct framing_head *h, const char *name,
    const char *value)
{
	const unsigned char	*p = (const unsigned char *)name;
	size_t			 len;

	while (tchar[*p])
		p++;
	len = (size_t)(p - (const unsigned char *)name);
	if (*p != '\0' || len == 0) {
		head_fault(h, FRAMING_FIELD_NAME);
		return;
	}
	/* Only two names matter: a length test first keeps this cheap. */
	if (len == 14 && strcasecmp(name, "Content-Length") == 0) {
		head_length(h, value);
	} else if (len == 17 && strcasecmp(name, "Transfer-Encoding") == 0) {
		/* Exactly one field, exactly "chunked" (case-insensitive,
		   RFC 9112 7): no other coding, no list. */
		if (++h->n_coding > 1 || strcasecmp(value, "chunked") != 0)
			head_fault(h, FRAMING_CODING_UNSUPPORTED);
		else
			h->chunked = true;
	}
}

enum framing_verdict
framing_head_finish(struct framing_head *h, int major, int minor,
    bool content_read)
{
	if (h->verdict != FRAMING_OK)
		return h->verdict;
	if (h->n_coding > 0 && h->n_length > 0)
		h->verdict = FRAMING_LENGTH_AND_CODING;
	else if (h->n_coding > 0 && (major < 1 || (major == 1 && minor < 1)))
		h->verdict = FRAMING_CODING_HTTP10;
	else if (!content_read && (h->n_coding > 0 || h->length > 0))
		h->verdict = FRAMING_CONTENT_NOT_READ;
	return h->verdict;
}

/* ---- a chunked body ---- */

/*
 * chunked-body = *chunk last-chunk trailer-section CRLF
 * chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
 * chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
 * chunk-ext-val = token / quoted-string
 * The trailer section must be empty here.
 */
enum chunk_state {
	CH_SIZE = 0,	/* chunk-size digits */
	CH_AFTER,	/* after the size or an extension: ";" BWS CR */
	CH_AFTER_WS,	/* ... after BWS: only ";" or more BWS */
	CH_PRE_NAME,	/* after ";": BWS, then the name */
	CH_NAME,	/* in an extension name */
	CH_POST_NAME,	/* BWS after a name: "=" or ";" */
	CH_PRE_VAL,	/* after "=": BWS, then token or quoted-string */
	CH_TOKEN_VAL,	/* in a token value */
	CH_QUOTED,	/* in a quoted-string */
	CH_QUOTED_PAIR,	/* after a backslash in it */
	CH_LINE_LF,	/* the LF of the size line */
	CH_DATA,	/* chunk data */
	CH_DATA_CR,	/* the CRLF after it */
	CH_DATA_LF,
	CH_TRAILER,	/* after the last chunk: the final CRLF, nothing else */
	CH_END_LF,
	CH_DONE,
	CH_FAILED,
};

void
framing_chunks_init(struct framing_chunks *c)
{
	c->state = CH_SIZE;
	c->verdict = FRAMING_OK;
	c->size = 0;
	c->left = 0;
	c->digits = 0;
	c->ext = 0;
}

bool
framing_chunks_done(const struct framing_chunks *c)
{
	return c->state == CH_DONE;
}

static int
hexval(unsigned char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* RFC 9110 5.6.4 qdtext, and the octets a quoted-pair may escape. */
static bool
qdtext(unsigned char ch)
{
	return ch == '\t' || ch == ' ' || ch == 0x21 ||
	    (ch >= 0x23 && ch <= 0x5b) || (ch >= 0x5d && ch <= 0x7e) ||
	    ch >= 0x80;
}

static bool
quotable(unsigned char ch)
{
	return ch == '\t' || ch == ' ' || (ch >= 0x21 && ch <= 0x7e) ||
	    ch >= 0x80;
}

static enum framing_verdict
chunks_fail(struct framing_chunks *c, enum framing_verdict v)
{
	c->state = CH_FAILED;
	c->verdict = v;
	return v;
}

/* The size line is over: its LF decides between data and the end. */
static void
chunks_line_done(struct framing_chunks *c)
{
	if (c->size == 0) {
		c->state = CH_TRAILER;
	} else {
		c->left = c->size;
		c->state = CH_DATA;
	}
}

enum framing_verdict
framing_chunks_feed(struct framing_chunks *c, char *p, size_t n,
    size_t *used)
{
	size_t		 i = 0;
	unsigned char	 ch;
	int		 d;

	*used = 0;
	if (c->state == CH_FAILED)
		return c->verdict;
	while (i < n && c->state != CH_DONE) {
		if (c->state == CH_DATA) {
			size_t	 take = n - i;

			if ((uint64_t)take > c->left)
				take = (size_t)c->left;
			c->left -= take;
			i += take;
			if (c->left == 0)
				c->state = CH_DATA_CR;
			continue;
		}
		ch = (unsigned char)p[i];
		/* Extension octets, BWS before the first ";" included. */
		if (c->state >= CH_AFTER && c->state <= CH_QUOTED_PAIR &&
		    ch != '\r' && ++c->ext > FRAMING_EXT_MAX)
			return chunks_fail(c, FRAMING_CHUNK_EXT);
		switch (c->state) {
		case CH_SIZE:
			if ((d = hexval(ch)) >= 0) {
				if (++c->digits > FRAMING_SIZE_DIGITS_MAX ||
				    c->size > ((uint64_t)INT64_MAX -
				    (unsigned)d) / 16)
					return chunks_fail(c,
					    FRAMING_CHUNK_SIZE);
				c->size = c->size * 16 + (unsigned)d;
				break;
			}
			if (c->digits == 0)
				return chunks_fail(c, ch == '\n' ?
				    FRAMING_CHUNK_CRLF : FRAMING_CHUNK_SIZE);
			if (ch == '\r') {
				c->state = CH_LINE_LF;
			} else if (ch == ';' || ch == ' ' || ch == '\t') {
				/* The first octet after the digits: make it
				   the SP evhttp stops at (framing.h). */
				if (++c->ext > FRAMING_EXT_MAX)
					return chunks_fail(c,
					    FRAMING_CHUNK_EXT);
				p[i] = ' ';
				c->state = ch == ';' ? CH_PRE_NAME :
				    CH_AFTER_WS;
			} else {
				return chunks_fail(c, ch == '\n' ?
				    FRAMING_CHUNK_CRLF : FRAMING_CHUNK_SIZE);
			}
			break;
		case CH_AFTER:
		case CH_AFTER_WS:
			if (ch == ';')
				c->state = CH_PRE_NAME;
			else if (ch == ' ' || ch == '\t')
				c->state = CH_AFTER_WS;
			else if (ch == '\r' && c->state == CH_AFTER)
				c->state = CH_LINE_LF;
			else
				return chunks_fail(c, FRAMING_CHUNK_EXT);
			break;
		case CH_PRE_NAME:
			if (tchar[ch])
				c->state = CH_NAME;
			else if (ch != ' ' && ch != '\t')
				return chunks_fail(c, FRAMING_CHUNK_EXT);
			break;
		case CH_NAME:
			if (tchar[ch])
				break;
			if (ch == '=')
				c->state = CH_PRE_VAL;
			else if (ch == ';')
				c->state = CH_PRE_NAME;
			else if (ch == ' ' || ch == '\t')
				c->state = CH_POST_NAME;
			else if (ch == '\r')
				c->state = CH_LINE_LF;
			else
				return chunks_fail(c, FRAMING_CHUNK_EXT);
			break;
		case CH_POST_NAME:
			if (ch == '=')
				c->state = CH_PRE_VAL;
			else if (ch == ';')
				c->state = CH_PRE_NAME;
			else if (ch != ' ' && ch != '\t')
				return chunks_fail(c, FRAMING_CHUNK_EXT);
			break;
		case CH_PRE_VAL:
			if (tchar[ch])
				c->state = CH_TOKEN_VAL;
			else if (ch == '"')
				c->state = CH_QUOTED;
			else if (ch != ' ' && ch != '\t')
				return chunks_fail(c, FRAMING_CHUNK_EXT);
			break;
		case CH_TOKEN_VAL:
			if (tchar[ch])
				break;
			if (ch == ';')
				c->state = CH_PRE_NAME;
			else if (ch == ' ' || ch == '\t')
				c->state = CH_AFTER_WS;
			else if (ch == '\r')
				c->state = CH_LINE_LF;
			else
				return chunks_fail(c, FRAMING_CHUNK_EXT);
			break;
		case CH_QUOTED:
			if (ch == '"')
				c->state = CH_AFTER;
			else if (ch == '\\')
				c->state = CH_QUOTED_PAIR;
			else if (!qdtext(ch))
				return chunks_fail(c, FRAMING_CHUNK_EXT);
			break;
		case CH_QUOTED_PAIR:
			if (!quotable(ch))
				return chunks_fail(c, FRAMING_CHUNK_EXT);
			c->state = CH_QUOTED;
			break;
		case CH_LINE_LF:
			if (ch != '\n')
				return chunks_fail(c, FRAMING_CHUNK_CRLF);
			chunks_line_done(c);
			break;
		case CH_DATA_CR:
			if (ch != '\r')
				return chunks_fail(c, FRAMING_CHUNK_CRLF);
			c->state = CH_DATA_LF;
			break;
		case CH_DATA_LF:
			if (ch != '\n')
				return chunks_fail(c, FRAMING_CHUNK_CRLF);
			c->state = CH_SIZE;
			c->size = 0;
			c->digits = 0;
			break;
		case CH_TRAILER:
			if (ch == '\r')
				c->state = CH_END_LF;
			else
				return chunks_fail(c, ch == '\n' ?
				    FRAMING_CHUNK_CRLF : FRAMING_TRAILER);
			break;
		case CH_END_LF:
			if (ch != '\n')
				return chunks_fail(c, FRAMING_CHUNK_CRLF);
			c->state = CH_DONE;
			break;
		default:
			return chunks_fail(c, FRAMING_CHUNK_SIZE);
		}
		i++;
	}
	*used = i;
	return FRAMING_OK;
}
