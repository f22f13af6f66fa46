/*
 * jsonw: JSON text written by hand (include/jsonw.h).
 */
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"
#include "util.h"

static const char	 hexdigits[] = "0123456789abcdef";

/* Room for n more bytes and the NUL. */
static void
reserve(struct jsonw *w, size_t n)
{
	size_t	 cap;

	if (w->len + n + 1 <= w->cap)
		return;
	cap = w->cap > 0 ? w->cap : 64;
	while (cap < w->len + n + 1)
		cap *= 2;
	w->buf = xrealloc(w->buf, cap);
	w->cap = cap;
}

void
jsonw_init(struct jsonw *w, size_t hint)
{
	memset(w, 0, sizeof(*w));
	reserve(w, hint);
	w->buf[0] = '\0';
	w->first = true;
}

void
jsonw_free(struct jsonw *w)
{
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

char *
jsonw_take(struct jsonw *w, size_t *len)
{
	char	*s = w->buf;

	if (len != NULL)
		*len = w->len;
	memset(w, 0, sizeof(*w));
	return s;
}

void
jsonw_raw(struct jsonw *w, const char *s, size_t n)
{
	reserve(w, n);
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = '\0';
}

/* 1 for the bytes a JSON string cannot hold as they are. */
static const unsigned char	 needs_escape[256] = {
	[0x00] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	[0x10] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	['"'] = 1, ['\\'] = 1,
};

void
jsonw_str(struct jsonw *w, const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 n = strlen(s), i, run;
	char			*o;

	/* At most 6 bytes out per byte in, and the quotes. */
	reserve(w, 6 * n + 2);
	o = w->buf + w->len;
	*o++ = '"';
	for (i = 0; i < n; i++) {
		/* Copy the bytes that need no escape in one go. */
		for (run = i; run < n && !needs_escape[p[run]]; run++)
			;
		memcpy(o, p + i, run - i);
		o += run - i;
		if ((i = run) == n)
			break;
		*o++ = '\\';
		switch (p[i]) {
		case '"':	*o++ = '"'; break;
		case '\\':	*o++ = '\\'; break;
		case '\b':	*o++ = 'b'; break;
		case '\f':	*o++ = 'f'; break;
		case '\n':	*o++ = 'n'; break;
		case '\r':	*o++ = 'r'; break;
		case '\t':	*o++ = 't'; break;
		default:
			*o++ = 'u';
			*o++ = '0';
			*o++ = '0';
			*o++ = hexdigits[p[i] >> 4];
			*o++ = hexdigits[p[i] & 0xf];
			break;
		}
	}
	*o++ = '"';
	*o = '\0';
	w->len = (size_t)(o - w->buf);
}

void
jsonw_int(struct jsonw *w, int64_t v)
{
	char		 tmp[24], *e = tmp + sizeof(tmp), *b = e;
	uint64_t	 u;

	/* The magnitude as unsigned, so INT64_MIN works too. */
	u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	do {
		*--b = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		*--b = '-';
	jsonw_raw(w, b, (size_t)(e - b));
}

void
jsonw_begin(struct jsonw *w)
{
	jsonw_raw(w, "{", 1);
	w->first = true;
}

void
jsonw_end(struct jsonw *w)
{
	jsonw_raw(w, "}", 1);
	w->first = false;
}

void
jsonw_key(struct jsonw *w, const char *name)
{
	if (!w->first)
		jsonw_raw(w, ",", 1);
	w->first = false;
	jsonw_str(w, name);
	jsonw_raw(w, ":", 1);
}
