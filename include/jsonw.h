/*
 * jsonw: JSON text written by hand into a growing buffer, for the hot
 * paths (issuing, the token answer) where building json-c objects and
 * serializing them cost more than the answer itself.
 *
 * Strings are escaped as json-c writes them with JSON_C_TO_STRING_PLAIN |
 * JSON_C_TO_STRING_NOSLASHESCAPE: '"', '\\', \b \f \n \r \t, every other
 * byte below 0x20 as \u00XX; anything else, UTF-8 included, as it is.
 * No whitespace is written.
 *
 * Pure module: no libevent, no json-c. The buffer is the caller's (one
 * owner: jsonw_take() hands it over, jsonw_free() releases it).
 */
#ifndef TOKEND_JSONW_H
#define TOKEND_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct jsonw {
	char	*buf;		/* NUL-terminated after every call */
	size_t	 len;
	size_t	 cap;
	bool	 first;		/* no member yet in the innermost object */
};

/* An empty text; hint is the expected size (the buffer grows anyway). */
void	 jsonw_init(struct jsonw *, size_t hint);
void	 jsonw_free(struct jsonw *);
/* The text (NUL-terminated, *len its length if len is not NULL); the
   caller owns it. The jsonw is empty afterwards. */
char	*jsonw_take(struct jsonw *, size_t *len);

/* n bytes as they are: punctuation, or JSON text made elsewhere. */
void	 jsonw_raw(struct jsonw *, const char *s, size_t n);
/* A string literal's bytes as they are. */
#define jsonw_lit(w, lit)	jsonw_raw((w), (lit), sizeof(lit) - 1)
/* s as a JSON string, quoted and escaped. */
void	 jsonw_str(struct jsonw *, const char *s);
void	 jsonw_int(struct jsonw *, int64_t);

/* '{', '}', and a member name with its separators: `"name":`, preceded
   by ',' unless it is the first member. */
void	 jsonw_begin(struct jsonw *);
void	 jsonw_end(struct jsonw *);
void	 jsonw_key(struct jsonw *, const char *name);

#endif
