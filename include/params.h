/*
 * params: the request parameters of the OAuth endpoints, parsed strictly
 * from outside input. Pure: no libevent, no I/O; fuzzed.
 *
 *   form   application/x-www-form-urlencoded (WHATWG URL standard: '&'
 *          separated, '+' is a space, a name without '=' has an empty
 *          value, empty pieces are skipped), but stricter: a '%' not
 *          followed by two hex digits, a decoded NUL byte, or a name given
 *          twice (RFC 6749 section 3.2: parameters MUST NOT be included
 *          more than once) is an error.
 *   json   a JSON object whose members are strings (the legacy /authorize
 *          body); other member types are kept out of the set. Anything
 *          sjson_parse() refuses (not strict RFC 8259, invalid UTF-8 such
 *          as overlong forms or encoded surrogates, a lone surrogate or
 *          \u0000 escape, a member named twice, nested deeper than
 *          PARAMS_JSON_DEPTH) or a non-object is PARAMS_BAD_JSON.
 *   basic  an "Authorization: Basic" header (RFC 7617) whose user and
 *          password are, per RFC 6749 section 2.3.1, form-urlencoded
 *          client_id and client_secret.
 *
 * Values are NUL-terminated copies; secrets among them are wiped when the
 * set is finished.
 */
#ifndef TOKEND_PARAMS_H
#define TOKEND_PARAMS_H

#include <stdbool.h>
#include <stddef.h>

#define PARAMS_MAX		64	/* parameters in one request */
#define PARAMS_JSON_DEPTH	32	/* nesting of a JSON body, top counts */

struct param {
	char	*name;
	char	*value;
	size_t	 value_len;
};

struct params {
	struct param	 items[PARAMS_MAX];
	size_t		 count;
	/* names that may be given more than once (params_allow_repeat) */
	const char *const *repeatable;
};

enum params_result {
	PARAMS_OK = 0,
	PARAMS_BAD_ENCODING,	/* bad %-escape, NUL byte, bad Base64 */
	PARAMS_DUPLICATE,	/* a parameter given twice */
	PARAMS_TOO_MANY,	/* more than PARAMS_MAX */
	PARAMS_BAD_JSON,	/* not a strict JSON object (sjson.h) */
	PARAMS_NOT_BASIC,	/* not "Basic <token68>" */
	PARAMS_NO_COLON,	/* decoded credentials without ':' */
};

void	 params_init(struct params *);
/* Free every name and value; values are wiped first. */
void	 params_finish(struct params *);

/*
 * Parse a form body into p (which must be fresh from params_init). On an
 * error the names involved are not reported (they may be secrets); p is
 * left for params_finish either way.
 */
enum params_result params_parse_form(struct params *p, const char *body,
	    size_t len);

/*
 * Parse a JSON object body (see "json" above) into p, fresh from
 * params_init; string members become parameters. PARAMS_BAD_ENCODING
 * if a string value holds a NUL (sjson refuses \u0000 first, so in
 * practice PARAMS_BAD_JSON). p is left for params_finish either way.
 */
enum params_result params_parse_json(struct params *p, const char *body,
	    size_t len);

/* The value of name, or NULL. Borrowed until params_finish. */
const char	*params_get(const struct params *p, const char *name);

/*
 * Let the names of the NULL-terminated list names (borrowed: it must
 * outlive p; a static array) be given more than once in the form or JSON
 * parsed next into p, the parameters that are lists by their definition
 * (RFC 8707 resource, /verify's aud). Every other name stays refused when
 * repeated (RFC 6749 3.2).
 */
void		 params_allow_repeat(struct params *p,
		    const char *const *names);

/*
 * The values of name in the order given, at most max of them into out
 * (borrowed until params_finish). Returns how many there are, which may
 * exceed max.
 */
size_t		 params_get_all(const struct params *p, const char *name,
		    const char **out, size_t max);

/*
 * Decode an Authorization header value of the Basic scheme (the scheme
 * name is matched case-insensitively) into *id and *secret, both
 * form-urldecoded, NUL-terminated and owned by the caller (free the
 * secret with secret_free_str). Returns PARAMS_NOT_BASIC when the header
 * uses another scheme.
 */
enum params_result params_parse_basic(const char *header, char **id,
	    char **secret);

/* A stable lower-case name for logs and error descriptions. */
const char	*params_result_name(enum params_result);

/*
 * True when s (len bytes) is a non-empty run of RFC 6749 Appendix A VSCHAR
 * (%x20-7E), the alphabet of client_id and client_secret.
 */
bool		 params_is_vschar(const char *s, size_t len);

#endif
