/*
 * scope: RFC 6749 3.3 scope lists.
 *
 * Parsing is strict because the same parser reads a token request's
 * "scope", /verify's "scope" query parameter and the client record's
 * "scopes" field: one space between tokens, nothing else. Each token is
 * checked as it is cut, so a bad byte or an over-long token fails before
 * anything is copied. Lists are small (SCOPE_MAX_COUNT), so lookups are
 * linear scans.
 *
 * Left to others: deciding that an absent "scope" means all of the
 * client's scopes (handler_token.c), and mapping results to OAuth errors.
 *
 * Pure module: no state besides the caller's sets.
 */
#include <stdlib.h>
#include <string.h>

#include "scope.h"
#include "util.h"

/* RFC 6749 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ) */
static bool
is_token_char(unsigned char c)
{
	return c == 0x21 || (c >= 0x23 && c <= 0x5b) ||
	    (c >= 0x5d && c <= 0x7e);
}

static bool
has_token(const struct scope_set *set, const char *tok, size_t len)
{
	size_t	 i;

	for (i = 0; i < set->n; i++)
		if (strlen(set->v[i]) == len && memcmp(set->v[i], tok,
		    len) == 0)
			return true;
	return false;
}

void
scope_set_init(struct scope_set *set)
{
	memset(set, 0, sizeof(*set));
}

void
scope_set_finish(struct scope_set *set)
{
	size_t	 i;

	for (i = 0; i < set->n; i++)
		free(set->v[i]);
	scope_set_init(set);
}

enum scope_result
scope_parse(const char *s, size_t len, unsigned flags, struct scope_set *out)
{
	enum scope_result	 rc = SCOPE_OK;
	size_t			 i, start, toklen;

	scope_set_init(out);
	if (len > SCOPE_MAX_LEN)
		return SCOPE_TOO_LONG;
	if (len == 0)
		return SCOPE_OK;

	start = 0;
	for (i = 0; i <= len; i++) {
		if (i < len && s[i] != ' ') {
			if (!is_token_char((unsigned char)s[i])) {
				rc = SCOPE_BAD_CHAR;
				goto out;
			}
			continue;
		}
		/* a token ends at a space or at the end */
		toklen = i - start;
		if (toklen == 0) {
			rc = SCOPE_EMPTY_TOKEN;
			goto out;
		}
		if (toklen > SCOPE_MAX_TOKEN) {
			rc = SCOPE_TOKEN_TOO_LONG;
			goto out;
		}
		if (has_token(out, s + start, toklen)) {
			if ((flags & SCOPE_DEDUP) == 0) {
				rc = SCOPE_DUPLICATE;
				goto out;
			}
		} else {
			if (out->n == SCOPE_MAX_COUNT) {
				rc = SCOPE_TOO_MANY;
				goto out;
			}
			out->v[out->n++] = xstrndup(s + start, toklen);
		}
		start = i + 1;
	}
out:
	if (rc != SCOPE_OK)
		scope_set_finish(out);
	return rc;
}

const char *
scope_result_name(enum scope_result r)
{
	switch (r) {
	case SCOPE_OK:
		return "ok";
	case SCOPE_EMPTY_TOKEN:
		return "empty_token";
	case SCOPE_BAD_CHAR:
		return "bad_char";
	case SCOPE_TOKEN_TOO_LONG:
		return "token_too_long";
	case SCOPE_TOO_MANY:
		return "too_many";
	case SCOPE_TOO_LONG:
		return "too_long";
	case SCOPE_DUPLICATE:
		return "duplicate";
	}
	return "unknown";
}

bool
scope_contains(const struct scope_set *set, const char *scope)
{
	return has_token(set, scope, strlen(scope));
}

bool
scope_is_subset(const struct scope_set *sub, const struct scope_set *super)
{
	size_t	 i;

	for (i = 0; i < sub->n; i++)
		if (!scope_contains(super, sub->v[i]))
			return false;
	return true;
}

char *
scope_join(const struct scope_set *set)
{
	char	*out, *p;
	size_t	 i, len = 0, n;

	for (i = 0; i < set->n; i++)
		len += strlen(set->v[i]) + 1;
	out = p = xmalloc(len + 1);
	for (i = 0; i < set->n; i++) {
		if (i > 0)
			*p++ = ' ';
		n = strlen(set->v[i]);
		memcpy(p, set->v[i], n);
		p += n;
	}
	*p = '\0';
	return out;
}
