/*
 * scope: space-delimited scope lists (RFC 6749 3.3): parse, contains,
 * subset, join.
 *
 *	scope       = scope-token *( SP scope-token )
 *	scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
 *
 * Exactly one space separates two tokens: a leading or trailing space or
 * a run of spaces is an error, and so is any other byte (tabs, '"', '\',
 * NUL, non-ASCII). The empty string is the empty list. Tokens keep the
 * order they were given in and are compared byte for byte.
 *
 * Pure module. A struct scope_set is embedded by its owner
 * (scope_set_init/scope_set_finish) and owns its strings.
 */
#ifndef TOKEND_SCOPE_H
#define TOKEND_SCOPE_H

#include <stdbool.h>
#include <stddef.h>

#define SCOPE_MAX_COUNT		64	/* tokens in one list */
#define SCOPE_MAX_TOKEN		128	/* bytes in one token */
#define SCOPE_MAX_LEN		4096	/* bytes in the whole string */

enum scope_result {
	SCOPE_OK = 0,
	SCOPE_EMPTY_TOKEN,	/* leading, trailing or doubled space */
	SCOPE_BAD_CHAR,		/* a byte outside the scope-token set */
	SCOPE_TOKEN_TOO_LONG,	/* a token over SCOPE_MAX_TOKEN bytes */
	SCOPE_TOO_MANY,		/* over SCOPE_MAX_COUNT distinct tokens */
	SCOPE_TOO_LONG,		/* the string over SCOPE_MAX_LEN bytes */
	SCOPE_DUPLICATE,	/* a token given twice (without SCOPE_DEDUP) */
};

/* scope_parse() flags */
#define SCOPE_DEDUP	0x01	/* drop repeated tokens instead of failing */

struct scope_set {
	size_t	 n;
	char	*v[SCOPE_MAX_COUNT];	/* n NUL-terminated tokens, owned */
};

void		 scope_set_init(struct scope_set *);
/* Free the tokens; the set is empty (and reusable) afterwards. */
void		 scope_set_finish(struct scope_set *);

/*
 * Parse len bytes of s (need not be NUL-terminated) into out, which is
 * initialised here (any previous contents are not freed). On any result
 * but SCOPE_OK, out is left empty. Duplicates fail with SCOPE_DUPLICATE
 * unless flags has SCOPE_DEDUP, which keeps the first of each.
 */
enum scope_result
		 scope_parse(const char *s, size_t len, unsigned flags,
		    struct scope_set *out);

/* Stable lower-case name of a result, for logs and error descriptions. */
const char	*scope_result_name(enum scope_result);

/* Whether the NUL-terminated token is in the set. */
bool		 scope_contains(const struct scope_set *, const char *scope);

/* Whether every token of sub is in super (the empty set is in any). */
bool		 scope_is_subset(const struct scope_set *sub,
		    const struct scope_set *super);

/*
 * The tokens joined by single spaces, "" for the empty set. The string is
 * new and owned by the caller (free()).
 */
char		*scope_join(const struct scope_set *);

#endif
