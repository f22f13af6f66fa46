/*
 * params: strict parsing of form bodies, JSON bodies and Basic
 * credentials into name/value pairs (see include/params.h for the rules).
 *
 * Invariants: every stored name and value is a fresh NUL-terminated heap
 * copy; no decoded value contains a NUL byte; a name appears at most once.
 * Nothing here logs: the input may hold secrets, so errors are reported as
 * enum values only.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "params.h"
#include "sjson.h"
#include "util.h"

void
params_init(struct params *p)
{
	memset(p, 0, sizeof(*p));
}

void
params_finish(struct params *p)
{
	size_t	 i;

	for (i = 0; i < p->count; i++) {
		free(p->items[i].name);
		if (p->items[i].value != NULL) {
			secret_wipe(p->items[i].value, p->items[i].value_len);
			free(p->items[i].value);
		}
	}
	memset(p, 0, sizeof(*p));
}

/*
 * Form-urldecode s[0..n) into a new string ('+' is a space). Returns NULL
 * on a malformed escape or a decoded NUL byte.
 */
static char *
form_decode(const char *s, size_t n, size_t *outlen)
{
	char	*out = xmalloc(n + 1);
	size_t	 i, o = 0;

	for (i = 0; i < n; i++) {
		unsigned char	 c = (unsigned char)s[i];

		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int	 hi, lo;

			if (i + 2 >= n)
				goto bad;
			hi = hex_digit((unsigned char)s[i + 1]);
			lo = hex_digit((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0)
				goto bad;
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		}
		if (c == '\0')
			goto bad;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	*outlen = o;
	return out;
bad:
	secret_wipe(out, n + 1);
	free(out);
	return NULL;
}

static bool
is_repeatable(const struct params *p, const char *name)
{
	const char *const	*n;

	if (p->repeatable == NULL)
		return false;
	for (n = p->repeatable; *n != NULL; n++)
		if (strcmp(*n, name) == 0)
			return true;
	return false;
}

static enum params_result
add_param(struct params *p, char *name, char *value, size_t value_len)
{
	size_t	 i;

	for (i = 0; i < p->count && !is_repeatable(p, name); i++) {
		if (strcmp(p->items[i].name, name) == 0) {
			free(name);
			secret_wipe(value, value_len);
			free(value);
			return PARAMS_DUPLICATE;
		}
	}
	if (p->count == PARAMS_MAX) {
		free(name);
		secret_wipe(value, value_len);
		free(value);
		return PARAMS_TOO_MANY;
	}
	p->items[p->count].name = name;
	p->items[p->count].value = value;
	p->items[p->count].value_len = value_len;
	p->count++;
	return PARAMS_OK;
}

enum params_result
params_parse_form(struct params *p, const char *body, size_t len)
{
	size_t	 start = 0;

	while (start < len) {
		const char	*piece = body + start;
		const char	*amp, *eq;
		size_t		 plen, nlen, vlen, name_len, value_len;
		char		*name, *value;
		enum params_result r;

		amp = memchr(piece, '&', len - start);
		plen = amp != NULL ? (size_t)(amp - piece) : len - start;
		start += plen + 1;
		if (plen == 0)
			continue;
		eq = memchr(piece, '=', plen);
		nlen = eq != NULL ? (size_t)(eq - piece) : plen;
		vlen = eq != NULL ? plen - nlen - 1 : 0;
		if ((name = form_decode(piece, nlen, &name_len)) == NULL)
			return PARAMS_BAD_ENCODING;
		if ((value = form_decode(eq != NULL ? eq + 1 : "", vlen,
		    &value_len)) == NULL) {
			free(name);
			return PARAMS_BAD_ENCODING;
		}
		if ((r = add_param(p, name, value, value_len)) != PARAMS_OK)
			return r;
	}
	return PARAMS_OK;
}

/*
 * Through sjson_parse(): json-c alone, even strict, takes overlong UTF-8
 * and encoded surrogates (RFC 3629 3), single quotes and NaN, and keeps
 * the last of two members with one name where RFC 6749 3.2 wants an
 * error.
 */
enum params_result
params_parse_json(struct params *p, const char *body, size_t len)
{
	struct json_object	*obj;
	enum params_result	 r = PARAMS_OK;

	if ((obj = sjson_parse(body, len, PARAMS_JSON_DEPTH)) == NULL)
		return PARAMS_BAD_JSON;
	if (!json_object_is_type(obj, json_type_object)) {
		r = PARAMS_BAD_JSON;
		goto out;
	}
	json_object_object_foreach(obj, key, val) {
		const char	*s;
		size_t		 slen;

		if (!json_object_is_type(val, json_type_string))
			continue;
		s = json_object_get_string(val);
		slen = (size_t)json_object_get_string_len(val);
		/* sjson refuses \u0000; kept in case that ever changes */
		if (memchr(s, '\0', slen) != NULL) {
			r = PARAMS_BAD_ENCODING;
			goto out;
		}
		if ((r = add_param(p, xstrdup(key), xstrndup(s, slen),
		    slen)) != PARAMS_OK)
			goto out;
	}
out:
	json_object_put(obj);
	return r;
}

const char *
params_get(const struct params *p, const char *name)
{
	size_t	 i;

	for (i = 0; i < p->count; i++)
		if (strcmp(p->items[i].name, name) == 0)
			return p->items[i].value;
	return NULL;
}

void
params_allow_repeat(struct params *p, const char *const *names)
{
	p->repeatable = names;
}

size_t
params_get_all(const struct params *p, const char *name, const char **out,
    size_t max)
{
	size_t	 i, n = 0;

	for (i = 0; i < p->count; i++) {
		if (strcmp(p->items[i].name, name) != 0)
			continue;
		if (n < max)
			out[n] = p->items[i].value;
		n++;
	}
	return n;
}

enum params_result
params_parse_basic(const char *header, char **id, char **secret)
{
	const char		*b64;
	unsigned char		*raw = NULL;
	const unsigned char	*colon;
	size_t			 len, rawcap, id_len, secret_len;
	int			 n, pad = 0;
	enum params_result	 r = PARAMS_BAD_ENCODING;

	*id = *secret = NULL;
	if (strncasecmp(header, "Basic", 5) != 0 ||
	    (header[5] != ' ' && header[5] != '\t'))
		return PARAMS_NOT_BASIC;
	for (b64 = header + 5; *b64 == ' ' || *b64 == '\t'; b64++)
		;
	len = strlen(b64);
	while (len > 0 && (b64[len - 1] == ' ' || b64[len - 1] == '\t'))
		len--;
	/* token68 in standard Base64 with padding, nothing else. */
	if (len == 0 || len % 4 != 0 || len > 8192)
		return PARAMS_BAD_ENCODING;
	for (size_t i = 0; i < len; i++) {
		unsigned char	 c = (unsigned char)b64[i];

		if (c == '=') {
			if (i < len - 2)
				return PARAMS_BAD_ENCODING;
			pad++;
		} else if (pad > 0 || !((c >= 'A' && c <= 'Z') ||
		    (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '+' || c == '/')) {
			return PARAMS_BAD_ENCODING;
		}
	}
	rawcap = len / 4 * 3 + 1;
	raw = xmalloc(rawcap);
	n = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)len);
	if (n < 0)
		goto out;
	n -= pad;	/* EVP_DecodeBlock counts the padding as zero bytes */
	if ((colon = memchr(raw, ':', (size_t)n)) == NULL) {
		r = PARAMS_NO_COLON;
		goto out;
	}
	/* RFC 6749 2.3.1: both halves are form-urlencoded. */
	*id = form_decode((const char *)raw, (size_t)(colon - raw), &id_len);
	*secret = form_decode((const char *)colon + 1,
	    (size_t)(n - (colon + 1 - raw)), &secret_len);
	if (*id == NULL || *secret == NULL) {
		free(*id);
		secret_free_str(*secret);
		*id = *secret = NULL;
		goto out;
	}
	r = PARAMS_OK;
out:
	secret_wipe(raw, rawcap);
	free(raw);
	return r;
}

const char *
params_result_name(enum params_result r)
{
	switch (r) {
	case PARAMS_OK:			return "ok";
	case PARAMS_BAD_ENCODING:	return "bad_encoding";
	case PARAMS_DUPLICATE:		return "duplicate_parameter";
	case PARAMS_TOO_MANY:		return "too_many_parameters";
	case PARAMS_BAD_JSON:		return "bad_json";
	case PARAMS_NOT_BASIC:		return "not_basic";
	case PARAMS_NO_COLON:		return "no_colon";
	}
	return "unknown";
}

bool
params_is_vschar(const char *s, size_t len)
{
	size_t	 i;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}
