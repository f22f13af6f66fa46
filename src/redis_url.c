/*
 * redis_url: the --redis URL grammar, redis://, unix:// and sentinel://
 * (include/redis_url.h has it in full), into a struct redis_url.
 *
 * No error message contains any part of the URL: the password could be
 * anywhere in it once a delimiter is missing, so every reason names what
 * is wrong, never the text. Percent-escapes are decoded in the user and
 * the passwords only, and %00 is refused there (they are C strings).
 * Passwords are wiped when freed, on the error paths too. A host name is
 * checked for its alphabet and length only: resolving it is the store's
 * business, at connect time. rediss:// is refused by name, because
 * The Redis client (store.c) has no TLS. Naming the setting in an error is config.c's.
 *
 * Invariant: on failure *out is all zeros and nothing is left allocated;
 * on success every string the kind needs is set.
 *
 * Pure module: no libevent, no Redis client, no sockets.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "redis_url.h"
#include "util.h"

#define REDIS_URL_MAX		 1024
#define REDIS_DB_MAX		 1000000

/* A port, the n bytes at s: decimal digits only, 1..65535. */
static int
parse_port(const char *s, size_t n, uint16_t *port)
{
	unsigned long long	 v = 0;
	size_t			 i;

	/* at most 15 digits (leading zeros allowed), as --listen takes */
	if (n == 0 || n >= 16)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/* Decode n bytes of percent-encoded userinfo into a new string. */
static int
pct_decode(const char *s, size_t n, char **out, char *errbuf, size_t errlen)
{
	char	*dst;
	size_t	 i, j = 0;
	int	 hi, lo;

	dst = xmalloc(n + 1);
	for (i = 0; i < n; i++) {
		if (s[i] != '%') {
			dst[j++] = s[i];
			continue;
		}
		/* two hex digits must follow */
		hi = i + 2 < n ? hex_digit(s[i + 1]) : -1;
		lo = i + 2 < n ? hex_digit(s[i + 2]) : -1;
		if (hi == -1 || lo == -1) {
			errbuf_set(errbuf, errlen, "bad %%-escape in the user or "
			    "password");
			goto fail;
		}
		if (hi == 0 && lo == 0) {
			errbuf_set(errbuf, errlen, "%%00 in the user or password");
			goto fail;
		}
		dst[j++] = (char)(hi << 4 | lo);
		i += 2;
	}
	dst[j] = '\0';
	*out = dst;
	return 0;
fail:
	secret_wipe(dst, n + 1);
	free(dst);
	return -1;
}

/* "[user]:password" (n bytes) into url->user and url->password. */
static int
parse_userinfo(const char *s, size_t n, struct redis_url *url, char *errbuf,
    size_t errlen)
{
	const char	*colon;

	if ((colon = memchr(s, ':', n)) == NULL) {
		/* "x@host": a user or a password? Refuse to guess. */
		errbuf_set(errbuf, errlen, "user information without ':' (write "
		    ":password@ or user:password@)");
		return -1;
	}
	if (colon + 1 == s + n) {
		errbuf_set(errbuf, errlen, "empty password");
		return -1;
	}
	if (colon > s && pct_decode(s, (size_t)(colon - s), &url->user,
	    errbuf, errlen) == -1)
		return -1;
	return pct_decode(colon + 1, (size_t)(s + n - colon - 1),
	    &url->password, errbuf, errlen);
}

static int
parse_db(const char *s, int *db, char *errbuf, size_t errlen)
{
	long long	 v;

	if (*s == '\0' || strspn(s, "0123456789") != strlen(s)) {
		errbuf_set(errbuf, errlen, "bad database number");
		return -1;
	}
	errno = 0;
	v = strtoll(s, NULL, 10);
	if (errno == ERANGE || v > REDIS_DB_MAX) {
		errbuf_set(errbuf, errlen, "database number out of range "
		    "(0..%d)", REDIS_DB_MAX);
		return -1;
	}
	*db = (int)v;
	return 0;
}

/*
 * "host[:port]" or "[v6]:port", the bytes h..end, into *host (new string)
 * and *port (left alone when no port is written).
 */
static int
parse_hostport(const char *h, const char *end, char **host, uint16_t *port,
    char *errbuf, size_t errlen)
{
	static const char	 host_chars[] = "abcdefghijklmnopqrstuvwxyz"
				    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.";
	struct in6_addr		 a6;
	const char		*h_end, *p;
	size_t			 hlen;

	if (h < end && *h == '[') {
		if ((h_end = memchr(h, ']', (size_t)(end - h))) == NULL) {
			errbuf_set(errbuf, errlen, "missing ']' after the IPv6 "
			    "host");
			return -1;
		}
		h++;
		hlen = (size_t)(h_end - h);
		*host = xstrndup(h, hlen);
		if (hlen == 0 || inet_pton(AF_INET6, *host, &a6) != 1) {
			errbuf_set(errbuf, errlen, "bad IPv6 host");
			return -1;
		}
		h_end++;
		if (h_end < end && *h_end != ':') {
			errbuf_set(errbuf, errlen, "junk after the IPv6 host");
			return -1;
		}
	} else {
		h_end = memchr(h, ':', (size_t)(end - h));
		if (h_end == NULL)
			h_end = end;
		hlen = (size_t)(h_end - h);
		if (hlen == 0) {
			errbuf_set(errbuf, errlen, "empty host");
			return -1;
		}
		if (hlen > 253 || strspn(h, host_chars) < hlen) {
			/* Most likely an unescaped '@' or '/' in a password. */
			errbuf_set(errbuf, errlen, "bad host (letters, digits, '-' "
			    "and '.' only; a '@' or '/' in a password must be "
			    "%%-encoded)");
			return -1;
		}
		*host = xstrndup(h, hlen);
	}
	if (h_end < end) {
		p = h_end + 1;
		if (parse_port(p, (size_t)(end - p), port) == -1) {
			errbuf_set(errbuf, errlen, "bad port (1..65535)");
			return -1;
		}
	}
	return 0;
}

/*
 * The authority part "[userinfo@]hosts" of a TCP or sentinel URL, up to
 * the first '/' (returned in *auth_end); the hosts start at *hosts.
 */
static int
parse_authority(const char *s, struct redis_url *url, const char **hosts,
    const char **auth_end, char *errbuf, size_t errlen)
{
	const char	*at, *h, *end;

	end = s + strcspn(s, "/");
	if (memchr(s, '@', (size_t)(end - s)) == NULL &&
	    strchr(end, '@') != NULL) {
		errbuf_set(errbuf, errlen, "%s must be %%-encoded",
		    url->kind == REDIS_SENTINEL ? "a '/' in the user or "
		    "password, or an '@' in sentinel_password," : "a '/' in "
		    "the user or password");
		return -1;
	}
	/* userinfo cannot hold a raw '/', so the last '@' before it ends it */
	at = NULL;
	for (h = s; h < end; h++)
		if (*h == '@')
			at = h;
	if (at != NULL) {
		if (parse_userinfo(s, (size_t)(at - s), url, errbuf,
		    errlen) == -1)
			return -1;
		*hosts = at + 1;
	} else
		*hosts = s;
	*auth_end = end;
	return 0;
}

static int
parse_redis_tcp(const char *s, struct redis_url *url, char *errbuf,
    size_t errlen)
{
	const char	*h, *auth_end;

	url->kind = REDIS_TCP;
	url->port = 6379;
	if (parse_authority(s, url, &h, &auth_end, errbuf, errlen) == -1)
		return -1;
	if (parse_hostport(h, auth_end, &url->host, &url->port, errbuf,
	    errlen) == -1)
		return -1;
	if (*auth_end == '\0' || strcmp(auth_end, "/") == 0)
		return 0;
	return parse_db(auth_end + 1, &url->db, errbuf, errlen);
}

/*
 * sentinel://[userinfo@]host[:port][,host[:port]...]/master[?query]
 * with query parameters db=N and sentinel_password=P, each at most once.
 */
static int
parse_redis_sentinel(const char *s, struct redis_url *url, char *errbuf,
    size_t errlen)
{
	static const char	 name_chars[] = "abcdefghijklmnopqrstuvwxyz"
				    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._";
	const char		*h, *auth_end, *item_end, *name, *q, *amp;
	size_t			 n;
	bool			 seen_db = false;

	url->kind = REDIS_SENTINEL;
	if (parse_authority(s, url, &h, &auth_end, errbuf, errlen) == -1)
		return -1;
	url->sentinels = xcalloc(REDIS_SENTINELS_MAX, sizeof(*url->sentinels));
	for (;;) {
		if (url->n_sentinels == REDIS_SENTINELS_MAX) {
			errbuf_set(errbuf, errlen, "more than %d sentinels",
			    REDIS_SENTINELS_MAX);
			return -1;
		}
		item_end = memchr(h, ',', (size_t)(auth_end - h));
		if (item_end == NULL)
			item_end = auth_end;
		url->sentinels[url->n_sentinels].port = 26379;
		if (parse_hostport(h, item_end,
		    &url->sentinels[url->n_sentinels].host,
		    &url->sentinels[url->n_sentinels].port, errbuf,
		    errlen) == -1) {
			/* count it, so that redis_url_finish() frees it */
			url->n_sentinels++;
			return -1;
		}
		url->n_sentinels++;
		if (item_end == auth_end)
			break;
		h = item_end + 1;
	}
	if (*auth_end != '/') {
		errbuf_set(errbuf, errlen, "missing /mastername after the "
		    "sentinels");
		return -1;
	}
	name = auth_end + 1;
	n = strcspn(name, "?");
	if (n == 0 || n > REDIS_MASTER_NAME_MAX || strspn(name, name_chars) < n) {
		errbuf_set(errbuf, errlen, "bad master name (1..%d letters, "
		    "digits, '-', '.' or '_')", REDIS_MASTER_NAME_MAX);
		return -1;
	}
	url->master_name = xstrndup(name, n);
	q = name + n;
	if (*q == '\0')
		return 0;
	for (q++;; q = amp + 1) {
		amp = q + strcspn(q, "&");
		if (strncmp(q, "db=", 3) == 0 && !seen_db) {
			char	 db[16];

			n = (size_t)(amp - q - 3);
			if (n >= sizeof(db)) {
				errbuf_set(errbuf, errlen, "bad database "
				    "number");
				return -1;
			}
			memcpy(db, q + 3, n);
			db[n] = '\0';
			if (parse_db(db, &url->db, errbuf, errlen) == -1)
				return -1;
			seen_db = true;
		} else if (strncmp(q, "sentinel_password=", 18) == 0 &&
		    url->sentinel_password == NULL) {
			if (amp == q + 18) {
				errbuf_set(errbuf, errlen, "empty sentinel "
				    "password");
				return -1;
			}
			if (pct_decode(q + 18, (size_t)(amp - q - 18),
			    &url->sentinel_password, errbuf, errlen) == -1) {
				/* pct_decode names the user or password */
				errbuf_set(errbuf, errlen, "bad %%-escape or "
				    "%%00 in sentinel_password");
				return -1;
			}
		} else {
			errbuf_set(errbuf, errlen, "unknown or repeated query "
			    "parameter (only db=N and sentinel_password=P)");
			return -1;
		}
		if (*amp == '\0')
			break;
	}
	return 0;
}

static int
parse_redis_unix(const char *s, struct redis_url *url, char *errbuf,
    size_t errlen)
{
	struct sockaddr_un	 sun;
	const char		*slash, *query;
	size_t			 pathlen;

	url->kind = REDIS_UNIX;
	if ((slash = strchr(s, '/')) == NULL) {
		errbuf_set(errbuf, errlen, "want unix:///absolute/path");
		return -1;
	}
	if (slash > s) {
		if (slash[-1] != '@') {
			errbuf_set(errbuf, errlen, "want unix:///absolute/path or "
			    "unix://[user]:password@/absolute/path");
			return -1;
		}
		if (parse_userinfo(s, (size_t)(slash - 1 - s), url, errbuf,
		    errlen) == -1)
			return -1;
	}
	pathlen = strcspn(slash, "?");
	query = slash + pathlen;
	if (pathlen < 2) {
		errbuf_set(errbuf, errlen, "empty socket path");
		return -1;
	}
	if (pathlen >= sizeof(sun.sun_path)) {
		errbuf_set(errbuf, errlen, "socket path longer than %zu bytes",
		    sizeof(sun.sun_path) - 1);
		return -1;
	}
	url->path = xstrndup(slash, pathlen);
	if (has_ctl(url->path)) {
		errbuf_set(errbuf, errlen, "control character in the socket path");
		return -1;
	}
	if (*query == '\0')
		return 0;
	if (strncmp(query, "?db=", 4) != 0) {
		errbuf_set(errbuf, errlen, "unknown query parameter (only ?db=N)");
		return -1;
	}
	return parse_db(query + 4, &url->db, errbuf, errlen);
}

int
redis_url_parse(const char *s, struct redis_url *out, char *errbuf,
    size_t errlen)
{
	struct redis_url	 url;
	int			 rc = -1;

	memset(&url, 0, sizeof(url));
	memset(out, 0, sizeof(*out));
	if (strlen(s) > REDIS_URL_MAX) {
		errbuf_set(errbuf, errlen, "URL longer than %d bytes",
		    REDIS_URL_MAX);
		goto out;
	}
	if (strncmp(s, "redis://", 8) == 0)
		rc = parse_redis_tcp(s + 8, &url, errbuf, errlen);
	else if (strncmp(s, "unix://", 7) == 0)
		rc = parse_redis_unix(s + 7, &url, errbuf, errlen);
	else if (strncmp(s, "sentinel://", 11) == 0)
		rc = parse_redis_sentinel(s + 11, &url, errbuf, errlen);
	else if (strncasecmp(s, "rediss://", 9) == 0)
		errbuf_set(errbuf, errlen, "rediss:// (TLS to Redis) is not "
		    "supported (tokend's Redis client has no TLS); use a local "
		    "TLS tunnel");
	else
		errbuf_set(errbuf, errlen, "want a redis://, unix:// or "
		    "sentinel:// URL");
	if (rc == 0) {
		*out = url;
		memset(&url, 0, sizeof(url));
	}
out:
	redis_url_finish(&url);
	return rc;
}

void
redis_url_finish(struct redis_url *url)
{
	size_t	 i;

	free(url->host);
	free(url->path);
	free(url->user);
	secret_free_str(url->password);
	for (i = 0; i < url->n_sentinels; i++)
		free(url->sentinels[i].host);
	free(url->sentinels);
	free(url->master_name);
	secret_free_str(url->sentinel_password);
	memset(url, 0, sizeof(*url));
}
