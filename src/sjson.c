/*
 * sjson: strict JSON (RFC 8259, RFC 3629 UTF-8) in front of json-c.
 *
 * A recursive-descent scanner checks the whole text first, because
 * json-c, even with JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8,
 * takes single quotes, NaN, Infinity, "1.", raw control characters,
 * overlong UTF-8 and UTF-8-encoded surrogates, and writes some of them
 * back out as they came. Only a text the scanner accepts goes to json-c,
 * which builds the tree.
 *
 * Duplicate member names: json-c silently keeps one member per name, so
 * the scanner counts the members of every object in document order and
 * the tree is compared with those counts afterwards (check_counts()).
 * Comparing after json-c has unescaped the names means "a" and "\u0061"
 * are the same name, as they must be.
 *
 * What it leaves to others: what a document must contain (the callers),
 * limits on the text's size (the callers cap it; json-c needs <= INT32_MAX).
 *
 * Invariants: nothing logs (the text may hold secrets); no state outlives
 * a call; recursion is at most max_depth deep.
 *
 * Pure module: json-c only.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "sjson.h"
#include "util.h"

/* Longest number that is finite as a double without asking strtod. */
#define PLAIN_NUMBER_MAX	300

struct jscan {
	const unsigned char	*p;
	const unsigned char	*end;
	size_t			 depth;
	size_t			 max_depth;
	unsigned		*counts;	/* members per object */
	size_t			 nobj;
	size_t			 cap;
};

static int	scan_value(struct jscan *);

static void
scan_ws(struct jscan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' ||
	    *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

static int
scan_literal(struct jscan *s, const char *lit)
{
	size_t	 n = strlen(lit);

	if ((size_t)(s->end - s->p) < n || memcmp(s->p, lit, n) != 0)
		return -1;
	s->p += n;
	return 0;
}

/* Four hex digits after "\u" into *cp. */
static int
scan_hex4(struct jscan *s, unsigned *cp)
{
	int	 d, i;

	if (s->end - s->p < 4)
		return -1;
	*cp = 0;
	for (i = 0; i < 4; i++) {
		if ((d = hex_digit(s->p[i])) < 0)
			return -1;
		*cp = *cp << 4 | (unsigned)d;
	}
	s->p += 4;
	return 0;
}

/*
 * The escape after "\u", as a Unicode scalar value: RFC 8259 7 writes a
 * character outside the BMP as a surrogate pair, so a high surrogate must
 * be followed by "\u" and a low one, and a low one may not come alone
 * (RFC 3629 3: surrogates are not characters). U+0000 would cut a C
 * string short, so it is refused too.
 */
static int
scan_escape_u(struct jscan *s)
{
	unsigned	 cp, lo;

	if (scan_hex4(s, &cp) == -1 || cp == 0)
		return -1;
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return -1;
	if (cp < 0xd800 || cp > 0xdbff)
		return 0;
	if (s->end - s->p < 2 || s->p[0] != '\\' || s->p[1] != 'u')
		return -1;
	s->p += 2;
	if (scan_hex4(s, &lo) == -1 || lo < 0xdc00 || lo > 0xdfff)
		return -1;
	return 0;
}

/*
 * One UTF-8 sequence at a lead byte >= 0x80, as RFC 3629 4 spells out
 * UTF8-2..UTF8-4: C0, C1 and F5..FF never lead, and the second byte's
 * range after E0, ED, F0 and F4 rules out overlong forms, surrogates and
 * anything above U+10FFFF.
 */
static int
scan_utf8(struct jscan *s)
{
	unsigned char	 c = *s->p, lo = 0x80, hi = 0xbf;
	int		 n, i;

	if (c >= 0xc2 && c <= 0xdf)
		n = 1;
	else if (c >= 0xe0 && c <= 0xef)
		n = 2;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 3;
	else
		return -1;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	s->p++;
	for (i = 0; i < n; i++, s->p++) {
		if (s->p >= s->end || *s->p < lo || *s->p > hi)
			return -1;
		lo = 0x80;
		hi = 0xbf;
	}
	return 0;
}

static int
scan_string(struct jscan *s)
{
	if (s->p >= s->end || *s->p != '"')
		return -1;
	s->p++;
	while (s->p < s->end) {
		if (*s->p == '"') {
			s->p++;
			return 0;
		}
		/* RFC 8259 7: control characters only escaped; NUL too */
		if (*s->p < 0x20)
			return -1;
		if (*s->p >= 0x80) {
			if (scan_utf8(s) == -1)
				return -1;
			continue;
		}
		if (*s->p != '\\') {
			s->p++;
			continue;
		}
		if (++s->p >= s->end)
			return -1;
		if (*s->p == 'u') {
			s->p++;
			if (scan_escape_u(s) == -1)
				return -1;
		} else if (*s->p != '\0' && strchr("\"\\/bfnrt", *s->p) != NULL)
			s->p++;
		else
			return -1;
	}
	return -1;
}

static int
scan_digits(struct jscan *s)
{
	const unsigned char	*start = s->p;

	while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
		s->p++;
	return s->p > start ? 0 : -1;
}

/*
 * -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?, and finite as a
 * double (RFC 8259 6 lets us limit the range): json-c would turn 1e400
 * into infinity and print it as "Infinity", which is not JSON.
 */
static int
scan_number(struct jscan *s)
{
	const unsigned char	*start = s->p;
	char			*copy;
	double			 d;
	int			 has_exp = 0;

	if (s->p < s->end && *s->p == '-')
		s->p++;
	if (s->p < s->end && *s->p == '0')
		s->p++;
	else if (scan_digits(s) == -1)
		return -1;
	if (s->p < s->end && *s->p == '.') {
		s->p++;
		if (scan_digits(s) == -1)
			return -1;
	}
	if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
		has_exp = 1;
		s->p++;
		if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
			s->p++;
		if (scan_digits(s) == -1)
			return -1;
	}
	/* no exponent and at most 300 characters: below 1e300, finite */
	if (!has_exp && s->p - start <= PLAIN_NUMBER_MAX)
		return 0;
	copy = xstrndup((const char *)start, (size_t)(s->p - start));
	d = strtod(copy, NULL);
	free(copy);
	return isfinite(d) ? 0 : -1;
}

static int
scan_object(struct jscan *s)
{
	size_t	 idx;

	if (s->nobj == s->cap) {
		s->cap = s->cap == 0 ? 8 : s->cap * 2;
		s->counts = xrealloc(s->counts, s->cap * sizeof(*s->counts));
	}
	idx = s->nobj++;
	s->counts[idx] = 0;
	s->p++;				/* '{' */
	scan_ws(s);
	if (s->p < s->end && *s->p == '}') {
		s->p++;
		return 0;
	}
	for (;;) {
		scan_ws(s);
		if (scan_string(s) == -1)
			return -1;
		scan_ws(s);
		if (s->p >= s->end || *s->p++ != ':')
			return -1;
		if (scan_value(s) == -1)
			return -1;
		s->counts[idx]++;
		if (s->p >= s->end)
			return -1;
		if (*s->p == '}') {
			s->p++;
			return 0;
		}
		if (*s->p++ != ',')
			return -1;
	}
}

static int
scan_array(struct jscan *s)
{
	s->p++;				/* '[' */
	scan_ws(s);
	if (s->p < s->end && *s->p == ']') {
		s->p++;
		return 0;
	}
	for (;;) {
		if (scan_value(s) == -1)
			return -1;
		if (s->p >= s->end)
			return -1;
		if (*s->p == ']') {
			s->p++;
			return 0;
		}
		if (*s->p++ != ',')
			return -1;
	}
}

/* ws value ws */
static int
scan_value(struct jscan *s)
{
	int	 rc;

	scan_ws(s);
	if (s->p >= s->end)
		return -1;
	switch (*s->p) {
	case '{':
	case '[':
		if (++s->depth > s->max_depth)
			return -1;
		rc = *s->p == '{' ? scan_object(s) : scan_array(s);
		s->depth--;
		break;
	case '"':
		rc = scan_string(s);
		break;
	case 't':
		rc = scan_literal(s, "true");
		break;
	case 'f':
		rc = scan_literal(s, "false");
		break;
	case 'n':
		rc = scan_literal(s, "null");
		break;
	default:
		rc = scan_number(s);
		break;
	}
	if (rc == 0)
		scan_ws(s);
	return rc;
}

/*
 * Walk the parsed tree in document order and compare each object's size
 * with the scanner's count. json-c keeps one member per name, in the
 * place of the first, so the first object with a duplicate is reached at
 * the same index in both orders and is found smaller there.
 */
static int
check_counts(struct json_object *o, const unsigned *counts, size_t n,
    size_t *i)
{
	struct json_object_iterator	 it, end;
	size_t				 k, len;

	switch (json_object_get_type(o)) {
	case json_type_object:
		if (*i >= n ||
		    (size_t)json_object_object_length(o) != counts[*i])
			return -1;
		(*i)++;
		it = json_object_iter_begin(o);
		end = json_object_iter_end(o);
		while (!json_object_iter_equal(&it, &end)) {
			if (check_counts(json_object_iter_peek_value(&it),
			    counts, n, i) == -1)
				return -1;
			json_object_iter_next(&it);
		}
		return 0;
	case json_type_array:
		len = json_object_array_length(o);
		for (k = 0; k < len; k++)
			if (check_counts(json_object_array_get_idx(o, k),
			    counts, n, i) == -1)
				return -1;
		return 0;
	default:
		return 0;
	}
}

struct json_object *
sjson_parse(const char *text, size_t len, size_t max_depth)
{
	struct jscan		 s;
	struct json_tokener	*tok = NULL;
	struct json_object	*o = NULL, *ret = NULL;
	size_t			 i = 0;

	memset(&s, 0, sizeof(s));
	/* json-c takes an int length and an int depth, one above ours */
	if (text == NULL || len > INT32_MAX || max_depth == 0 ||
	    max_depth >= INT32_MAX)
		goto out;
	s.p = (const unsigned char *)text;
	s.end = s.p + len;
	s.max_depth = max_depth;
	scan_ws(&s);
	/* only an object or an array at the top */
	if (s.p >= s.end || (*s.p != '{' && *s.p != '['))
		goto out;
	if (scan_value(&s) == -1 || s.p != s.end)
		goto out;
	if ((tok = json_tokener_new_ex((int)max_depth + 1)) == NULL)
		goto out;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, text, (int)len);
	if (o == NULL || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len)
		goto out;
	if (check_counts(o, s.counts, s.nobj, &i) == -1 || i != s.nobj)
		goto out;
	ret = o;
	o = NULL;
out:
	json_object_put(o);
	if (tok != NULL)
		json_tokener_free(tok);
	free(s.counts);
	return ret;
}
