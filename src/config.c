/*
 * config: the settings table and everything generated from it.
 *
 * One row of settings[] per setting: long flag, environment variable,
 * default, parser, target in struct config, help text. getopt_long's
 * options, the environment lookup, the defaults, --help, the man page and
 * docs/configuration.md's table all come from that table, so a new setting
 * is one row (and one struct field). The three documents are written by
 * config_doc.c, which reads the rows through config_describe().
 *
 * Dependencies point one way: config_doc.c includes config.h, never the
 * reverse. config_parse() prints nothing: for --help, --help-man and
 * --version it stops parsing and says which was asked (CONFIG_HELP,
 * CONFIG_HELP_MAN, CONFIG_VERSION); main.c has config_doc_print() write it.
 *
 * Values with a grammar of their own are parsed by their own pure
 * modules: the --redis URL by redis_url.c, each --trusted-proxies network
 * by cidr.c. This file turns their short reasons into the setting's error
 * line.
 *
 * Precedence is flag, then environment, then default. An environment
 * variable that is set but empty counts as unset. A non-repeatable flag
 * given twice keeps its last value.
 *
 * Values are checked here; files only for being readable. Their contents
 * belong to the modules that load them (tls.c, keys.c). Nothing here logs:
 * each error is one line in the caller's errbuf naming the flag and the
 * variable. The Redis URL is never quoted back (it may hold a password),
 * and neither are unknown flags' values nor positional arguments.
 *
 * Pure module: no libevent, no Redis client, no sockets.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cidr.h"
#include "config.h"
#include "redis_url.h"
#include "util.h"

#define QUOTE_MAX		 80	/* a quoted value in an error */
#define REASON_MAX		 256
#define PREFIX_MAX		 64
#define URL_MAX			 1024	/* --issuer, --default-audience */
#define KID_MAX			 128
#define WORKERS_MAX		 256
#define TRUSTED_PROXIES_MAX	 1024
#define USER_MAX		 256	/* --user: a name, as LOGIN_NAME_MAX */

struct setting;

typedef int	(*setting_parse_fn)(struct config *, const struct setting *,
		    const char *, char *, size_t);

#define SETTING_REPEAT	0x01	/* flag repeatable; the variable is a list */
#define SETTING_TLS	0x02	/* ignored under --plain-http */

struct setting {
	const char		*name;		/* long flag without "--" */
	const char		*env;
	const char		*metavar;	/* NULL: a switch, no argument */
	const char		*def;		/* NULL: none, or derived */
	const char		*def_doc;	/* shown when def is NULL */
	setting_parse_fn	 parse;
	size_t			 off;		/* target in struct config */
	long long		 min;		/* integer settings only */
	long long		 max;
	unsigned		 flags;
	const char		*help;
};

static int	parse_listen(struct config *, const struct setting *,
		    const char *, char *, size_t);
static int	parse_management_listen(struct config *,
		    const struct setting *, const char *, char *, size_t);
static int	parse_file(struct config *, const struct setting *,
		    const char *, char *, size_t);
static int	parse_retired_key(struct config *, const struct setting *,
		    const char *, char *, size_t);
static int	parse_bool(struct config *, const struct setting *,
		    const char *, char *, size_t);
static int	parse_redis(struct config *, const struct setting *,
		    const char *, char *, size_t);
static int	parse_prefix(struct config *, const struct setting *,
		    const char *, char *, size_t);
static int	parse_issuer(struct config *, const struct setting *,
		    const char *, char *, size_t);
static int	parse_audience(struct config *, const struct setting *,
		    const char *, char *, size_t);
static int	parse_long(struct config *, const struct setting *,
		    const char *, char *, size_t);
static int	parse_int(struct config *, const struct setting *,
		    const char *, char *, size_t);
static int	parse_size(struct config *, const struct setting *,
		    const char *, char *, size_t);
static int	parse_token_typ(struct config *, const struct setting *,
		    const char *, char *, size_t);
static int	parse_kid(struct config *, const struct setting *,
		    const char *, char *, size_t);
static int	parse_proxies(struct config *, const struct setting *,
		    const char *, char *, size_t);
static int	parse_log_level(struct config *, const struct setting *,
		    const char *, char *, size_t);
static int	parse_user(struct config *, const struct setting *,
		    const char *, char *, size_t);
static int	parse_log_format(struct config *, const struct setting *,
		    const char *, char *, size_t);
static int	parse_tls_client_auth(struct config *,
		    const struct setting *, const char *, char *, size_t);

#define OFF(field)	offsetof(struct config, field)

static const struct setting settings[] = {
	{ "listen", "TOKEND_LISTEN", "ADDR:PORT", "0.0.0.0:2600", NULL,
	    parse_listen, OFF(listen), 0, 0, 0,
	    "numeric address and port to accept on; IPv6 as [::1]:2600" },
	{ "tls-cert", "TOKEND_TLS_CERT", "FILE", NULL,
	    "none: required unless --plain-http",
	    parse_file, OFF(tls_cert), 0, 0, SETTING_TLS,
	    "PEM certificate (chain) served over TLS" },
	{ "tls-key", "TOKEND_TLS_KEY", "FILE", NULL,
	    "none: required unless --plain-http",
	    parse_file, OFF(tls_key), 0, 0, SETTING_TLS,
	    "PEM private key of --tls-cert" },
	{ "tls-client-auth", "TOKEND_TLS_CLIENT_AUTH", "off|optional", "off",
	    NULL, parse_tls_client_auth, OFF(tls_client_auth), 0, 0,
	    SETTING_TLS,
	    "optional: ask every TLS client for a certificate (mutual-TLS"
	    " client authentication), require none; off: never ask" },
	{ "tls-client-ca", "TOKEND_TLS_CLIENT_CA", "FILE", NULL,
	    "none: tls_client_auth clients are refused",
	    parse_file, OFF(tls_client_ca), 0, 0, 0,
	    "PEM bundle of the CAs that tls_client_auth certificates chain"
	    " to; reloaded on SIGHUP" },
	{ "tls-ticket-key-file", "TOKEND_TLS_TICKET_KEY_FILE", "FILE", NULL,
	    "none: a random key per process",
	    parse_file, OFF(tls_ticket_key_file), 0, 0, SETTING_TLS,
	    "TLS session ticket keys shared by instances: 80 bytes per key,"
	    " the first encrypts; reread on SIGHUP" },
	{ "plain-http", "TOKEND_PLAIN_HTTP", NULL, NULL, "off",
	    parse_bool, OFF(plain_http), 0, 0, 0,
	    "serve plain HTTP without TLS (behind a TLS-terminating proxy);"
	    " variable: 1/true/yes or 0/false/no" },
	{ "management-listen", "TOKEND_MANAGEMENT_LISTEN", "ADDR:PORT|off",
	    "127.0.0.1:9600", NULL,
	    parse_management_listen, OFF(management_listen), 0, 0, 0,
	    "plain-HTTP listener for /metrics, /healthz and /readyz (never"
	    " /metrics on --listen); numeric address as --listen; off: none" },
	{ "redis", "TOKEND_REDIS", "URL", "redis://127.0.0.1:6379", NULL,
	    parse_redis, OFF(redis), 0, 0, 0,
	    "redis://[[user]:password@]host[:port][/db],"
	    " unix://[[user]:password@]/path[?db=N] or"
	    " sentinel://[[user]:password@]host[:port][,host[:port]...]/master"
	    "[?db=N][&sentinel_password=P] (Redis Sentinel; the password is the"
	    " master's); no TLS" },
	{ "prefix", "TOKEND_PREFIX", "P", "tokend:", NULL,
	    parse_prefix, OFF(prefix), 0, 0, 0,
	    "prefix of every Redis key: at most 64 bytes, no spaces" },
	{ "issuer", "TOKEND_ISSUER", "URL", NULL,
	    "https://localhost:PORT (http:// under --plain-http), with a"
	    " warning at start",
	    parse_issuer, OFF(issuer), 0, 0, 0,
	    "iss of every token: an http(s) URL without query or fragment" },
	{ "signing-key", "TOKEND_SIGNING_KEY", "FILE", NULL,
	    "none: required unless --hs256-secret-file",
	    parse_file, OFF(signing_key), 0, 0, 0,
	    "PEM private key: EC P-256 signs ES256, RSA (>= 2048 bits) RS256" },
	{ "hs256-secret-file", "TOKEND_HS256_SECRET_FILE", "FILE", NULL,
	    "none",
	    parse_file, OFF(hs256_secret_file), 0, 0, 0,
	    "shared secret (>= 32 bytes): sign HS256 instead of with a key"
	    " pair; the JWKS is then empty" },
	{ "retired-key", "TOKEND_RETIRED_KEYS", "FILE", NULL, "none",
	    parse_retired_key, OFF(retired_keys), 0, 0, SETTING_REPEAT,
	    "PEM key that still verifies but never signs; repeatable, the"
	    " variable is comma-separated" },
	{ "token-ttl", "TOKEND_TOKEN_TTL", "SECONDS", "3600", NULL,
	    parse_long, OFF(token_ttl), 1, 31536000, 0,
	    "token lifetime, unless the client record sets its own" },
	{ "workers", "TOKEND_WORKERS", "N", NULL, "the number of CPU cores",
	    parse_int, OFF(workers), 1, WORKERS_MAX, 0,
	    "worker threads" },
	{ "default-audience", "TOKEND_DEFAULT_AUDIENCE", "AUD", NULL,
	    "the issuer",
	    parse_audience, OFF(default_audience), 0, 0, 0,
	    "aud of tokens whose client record names none" },
	{ "token-typ", "TOKEND_TOKEN_TYP", "at+jwt|JWT", "at+jwt", NULL,
	    parse_token_typ, OFF(token_typ), 0, 0, 0,
	    "typ header of issued tokens and the one verification demands" },
	{ "hs256-kid", "TOKEND_HS256_KID", "ID", "hs256", NULL,
	    parse_kid, OFF(hs256_kid), 0, 0, 0,
	    "kid header of HS256 tokens: 1..128 printable ASCII, no spaces" },
	{ "max-body", "TOKEND_MAX_BODY", "BYTES", "16384", NULL,
	    parse_size, OFF(max_body), 1, 16 * 1024 * 1024, 0,
	    "largest request body; more is answered 413" },
	{ "max-headers", "TOKEND_MAX_HEADERS", "BYTES", "8192", NULL,
	    parse_size, OFF(max_headers), 1024, 1024 * 1024, 0,
	    "largest request header block" },
	{ "request-timeout", "TOKEND_REQUEST_TIMEOUT", "SECONDS", "10", NULL,
	    parse_int, OFF(request_timeout), 1, 3600, 0,
	    "a whole request must arrive within it" },
	{ "idle-timeout", "TOKEND_IDLE_TIMEOUT", "SECONDS", "30", NULL,
	    parse_int, OFF(idle_timeout), 1, 86400, 0,
	    "an idle keep-alive connection is closed after it" },
	{ "max-connections", "TOKEND_MAX_CONNECTIONS", "N", "10000", NULL,
	    parse_int, OFF(max_connections), 1, 1000000, 0,
	    "open connections at most" },
	{ "redis-timeout", "TOKEND_REDIS_TIMEOUT", "MS", "500", NULL,
	    parse_int, OFF(redis_timeout_ms), 10, 60000, 0,
	    "deadline of one Redis command, in milliseconds" },
	{ "verify-grace", "TOKEND_VERIFY_GRACE", "SECONDS", "0", NULL,
	    parse_int, OFF(verify_grace), 0, 86400, 0,
	    "keep verifying on the last known revocations this long after"
	    " losing Redis" },
	{ "leeway", "TOKEND_LEEWAY", "SECONDS", "30", NULL,
	    parse_int, OFF(leeway), 0, 3600, 0,
	    "clock skew allowed on exp, nbf and iat" },
	{ "assertion-max-age", "TOKEND_ASSERTION_MAX_AGE", "SECONDS", "300",
	    NULL, parse_int, OFF(assertion_max_age), 1, 3600, 0,
	    "a private_key_jwt client assertion's exp may be at most this far"
	    " ahead; its jti is remembered until then" },
	{ "dpop-max-age", "TOKEND_DPOP_MAX_AGE", "SECONDS", "60", NULL,
	    parse_int, OFF(dpop_max_age), 1, 86400, 0,
	    "a DPoP proof's iat may be this old (plus --leeway); its jti is"
	    " refused again for as long" },
	{ "verify-cache-size", "TOKEND_VERIFY_CACHE_SIZE", "N", "10000", NULL,
	    parse_int, OFF(verify_cache_size), 0, 1000000, 0,
	    "verified tokens remembered per worker, so a repeated token skips"
	    " the signature check (revocation is still checked); 0 turns the"
	    " cache off" },
	{ "max-revocations-per-client", "TOKEND_MAX_REVOCATIONS_PER_CLIENT",
	    "N", "10000", NULL, parse_int, OFF(max_revocations_per_client),
	    1, 1000000, 0,
	    "live revocations a client may hold, each until its token would"
	    " have expired; past it /oauth/revoke answers 400 invalid_request;"
	    " tokend-client disable revokes all of a client's tokens at once" },
	{ "auth-fail-limit", "TOKEND_AUTH_FAIL_LIMIT", "N", "20", NULL,
	    parse_int, OFF(auth_fail_limit), 0, 1000000, 0,
	    "failed client authentications per source address per window"
	    " before 429; 0 turns the limit off" },
	{ "auth-fail-window", "TOKEND_AUTH_FAIL_WINDOW", "SECONDS", "60", NULL,
	    parse_int, OFF(auth_fail_window), 1, 86400, 0,
	    "the window of --auth-fail-limit" },
	{ "auth-fail-ipv6-prefix", "TOKEND_AUTH_FAIL_IPV6_PREFIX", "BITS",
	    "64", NULL, parse_int, OFF(auth_fail_ipv6_prefix), 32, 128, 0,
	    "IPv6 sources share one --auth-fail-limit per prefix of this"
	    " length (IPv4 sources count per address)" },
	{ "trusted-proxies", "TOKEND_TRUSTED_PROXIES", "CIDR,...", NULL,
	    "none",
	    parse_proxies, OFF(trusted_proxies), 0, 0, 0,
	    "X-Forwarded-For is believed only from these; a bare address is"
	    " a /32 or /128" },
	{ "log-level", "TOKEND_LOG_LEVEL", "LEVEL", "info", NULL,
	    parse_log_level, OFF(log_level), 0, 0, 0,
	    "debug, info, warn or error" },
	{ "log-format", "TOKEND_LOG_FORMAT", "FORMAT", "kv", NULL,
	    parse_log_format, OFF(log_format), 0, 0, 0,
	    "kv (key=value lines) or json (one JSON object per line)" },
	{ "shutdown-timeout", "TOKEND_SHUTDOWN_TIMEOUT", "SECONDS", "10", NULL,
	    parse_int, OFF(shutdown_timeout), 1, 3600, 0,
	    "how long SIGTERM waits for in-flight requests" },
	{ "user", "TOKEND_USER", "NAME", NULL, "none: keep the starting user",
	    parse_user, OFF(user), 0, 0, 0,
	    "started as root, switch to this user (and its groups) once the"
	    " sockets are bound and the keys and certificate loaded; without"
	    " root only the current user is accepted" },
	{ "metrics-max-clients", "TOKEND_METRICS_MAX_CLIENTS", "N", "100",
	    NULL, parse_int, OFF(metrics_max_clients),
	    CONFIG_METRICS_MAX_CLIENTS_MIN, CONFIG_METRICS_MAX_CLIENTS_MAX, 0,
	    "distinct client_id labels of /metrics per worker; others count"
	    " as other" },
};

#define OPT_HELP	'h'
#define OPT_VERSION	'V'
#define OPT_HELP_MAN	255	/* --help-man, not listed by --help */
#define OPT_SETTING	256	/* getopt value of settings[i]: 256 + i */

/*
 * Quote a value for an error message: "value", with bytes outside
 * printable ASCII shown as '?' and long values cut with "...".
 */
static const char *
quote(char *dst, size_t len, const char *s)
{
	size_t	 i = 0;

	dst[i++] = '"';
	for (; *s != '\0' && i + 5 < len; s++)
		dst[i++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
	if (*s != '\0') {
		memcpy(dst + i, "...", 3);
		i += 3;
	}
	dst[i++] = '"';
	dst[i] = '\0';
	return dst;
}

/*
 * Print a command-line word in an error without what might follow '=':
 * "--redis-url=redis://:secret@h" must not reach a log as a whole.
 */
static const char *
option_name(char *dst, size_t len, const char *word)
{
	size_t	 i;

	for (i = 0; word[i] != '\0' && word[i] != '=' && i + 1 < len; i++)
		dst[i] = (word[i] > 0x20 && word[i] < 0x7f) ? word[i] : '?';
	dst[i] = '\0';
	return dst;
}

static void *
target(struct config *cfg, const struct setting *s)
{
	return (char *)cfg + s->off;
}

static bool
has_ctl_or_space(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* A whole decimal number, no sign, no spaces, within [min, max]. */
static int
parse_number(const char *val, long long min, long long max, long long *out,
    char *errbuf, size_t errlen)
{
	char		 q[QUOTE_MAX];
	long long	 v;

	if (*val == '\0' || strspn(val, "0123456789") != strlen(val)) {
		errbuf_set(errbuf, errlen, "not a whole number: %s",
		    quote(q, sizeof(q), val));
		return -1;
	}
	errno = 0;
	v = strtoll(val, NULL, 10);
	if (errno == ERANGE || v < min || v > max) {
		errbuf_set(errbuf, errlen, "out of range (%lld..%lld): %s",
		    min, max, quote(q, sizeof(q), val));
		return -1;
	}
	*out = v;
	return 0;
}

/* A port, given as the n bytes at s. */
static int
parse_port(const char *s, size_t n, uint16_t *port, char *errbuf,
    size_t errlen)
{
	char		 buf[16], q[QUOTE_MAX];
	long long	 v;

	if (n == 0) {
		errbuf_set(errbuf, errlen, "missing port");
		return -1;
	}
	if (n >= sizeof(buf) || strspn(s, "0123456789") < n) {
		memcpy(buf, s, n < sizeof(buf) ? n : sizeof(buf) - 1);
		buf[n < sizeof(buf) ? n : sizeof(buf) - 1] = '\0';
		errbuf_set(errbuf, errlen, "bad port: %s",
		    quote(q, sizeof(q), buf));
		return -1;
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
	v = strtoll(buf, NULL, 10);
	if (v < 1 || v > 65535) {
		errbuf_set(errbuf, errlen, "port out of range: %s",
		    quote(q, sizeof(q), buf));
		return -1;
	}
	*port = (uint16_t)v;
	return 0;
}

int
config_parse_listen(const char *s, struct listen_addr *out, char *errbuf,
    size_t errlen)
{
	struct listen_addr	 la;
	struct sockaddr_in	*sin;
	struct sockaddr_in6	*sin6;
	const char		*host, *colon, *end;
	char			 q[QUOTE_MAX];
	size_t			 hostlen;
	bool			 v6;

	memset(&la, 0, sizeof(la));
	if ((v6 = (*s == '['))) {
		host = s + 1;
		if ((end = strchr(host, ']')) == NULL) {
			errbuf_set(errbuf, errlen, "missing ']' after IPv6 "
			    "address: %s", quote(q, sizeof(q), s));
			return -1;
		}
		if (end[1] != ':') {
			errbuf_set(errbuf, errlen, "want [IPV6]:PORT: %s",
			    quote(q, sizeof(q), s));
			return -1;
		}
		colon = end + 1;
	} else {
		host = s;
		if ((colon = strrchr(s, ':')) == NULL) {
			errbuf_set(errbuf, errlen, "want ADDR:PORT: %s",
			    quote(q, sizeof(q), s));
			return -1;
		}
		end = colon;
		if (memchr(s, ':', (size_t)(colon - s)) != NULL) {
			errbuf_set(errbuf, errlen, "an IPv6 address goes in "
			    "brackets, [::1]:2600: %s", quote(q, sizeof(q), s));
			return -1;
		}
	}
	hostlen = (size_t)(end - host);
	if (hostlen == 0 || hostlen >= sizeof(la.host)) {
		errbuf_set(errbuf, errlen, "bad address: %s",
		    quote(q, sizeof(q), s));
		return -1;
	}
	memcpy(la.host, host, hostlen);
	la.host[hostlen] = '\0';

	if (parse_port(colon + 1, strlen(colon + 1), &la.port, errbuf,
	    errlen) == -1)
		return -1;

	if (v6) {
		sin6 = (struct sockaddr_in6 *)&la.sa;
		if (inet_pton(AF_INET6, la.host, &sin6->sin6_addr) != 1) {
			errbuf_set(errbuf, errlen, "not a numeric IPv6 address: %s",
			    quote(q, sizeof(q), la.host));
			return -1;
		}
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(la.port);
		la.salen = sizeof(*sin6);
	} else {
		sin = (struct sockaddr_in *)&la.sa;
		if (inet_pton(AF_INET, la.host, &sin->sin_addr) != 1) {
			errbuf_set(errbuf, errlen, "not a numeric IPv4 address: %s",
			    quote(q, sizeof(q), la.host));
			return -1;
		}
		sin->sin_family = AF_INET;
		sin->sin_port = htons(la.port);
		la.salen = sizeof(*sin);
	}
	*out = la;
	return 0;
}

static int
parse_listen(struct config *cfg, const struct setting *s, const char *val,
    char *errbuf, size_t errlen)
{
	return config_parse_listen(val, target(cfg, s), errbuf, errlen);
}

static int
parse_management_listen(struct config *cfg, const struct setting *s,
    const char *val, char *errbuf, size_t errlen)
{
	cfg->management_off = strcmp(val, "off") == 0;
	if (cfg->management_off) {
		memset(target(cfg, s), 0, sizeof(struct listen_addr));
		return 0;
	}
	return config_parse_listen(val, target(cfg, s), errbuf, errlen);
}

/*
 * A file another module will read. Only readability is checked here, with
 * stat() and access() rather than open(): opening a FIFO (a shell's
 * <(...)) would block or use up its one reader.
 */
static int
check_file(const char *path, char *errbuf, size_t errlen)
{
	struct stat	 st;
	char		 q[QUOTE_MAX];

	if (*path == '\0') {
		errbuf_set(errbuf, errlen, "empty file name");
		return -1;
	}
	if (stat(path, &st) == -1 || access(path, R_OK) == -1) {
		errbuf_set(errbuf, errlen, "cannot read %s: %s",
		    quote(q, sizeof(q), path), strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		errbuf_set(errbuf, errlen, "cannot read %s: %s",
		    quote(q, sizeof(q), path), strerror(EISDIR));
		return -1;
	}
	return 0;
}

static int
parse_file(struct config *cfg, const struct setting *s, const char *val,
    char *errbuf, size_t errlen)
{
	char	**dst = target(cfg, s);

	if (check_file(val, errbuf, errlen) == -1)
		return -1;
	*dst = xstrdup(val);
	return 0;
}

/* Called once per --retired-key or list entry: appends. */
static int
parse_retired_key(struct config *cfg, const struct setting *s,
    const char *val, char *errbuf, size_t errlen)
{
	(void)s;
	if (check_file(val, errbuf, errlen) == -1)
		return -1;
	cfg->retired_keys = xrealloc(cfg->retired_keys,
	    (cfg->n_retired_keys + 2) * sizeof(*cfg->retired_keys));
	cfg->retired_keys[cfg->n_retired_keys++] = xstrdup(val);
	cfg->retired_keys[cfg->n_retired_keys] = NULL;
	return 0;
}

static int
parse_bool(struct config *cfg, const struct setting *s, const char *val,
    char *errbuf, size_t errlen)
{
	bool	*dst = target(cfg, s);
	char	 q[QUOTE_MAX];

	if (strcasecmp(val, "1") == 0 || strcasecmp(val, "true") == 0 ||
	    strcasecmp(val, "yes") == 0)
		*dst = true;
	else if (strcasecmp(val, "0") == 0 || strcasecmp(val, "false") == 0 ||
	    strcasecmp(val, "no") == 0)
		*dst = false;
	else {
		errbuf_set(errbuf, errlen, "want 1/true/yes or 0/false/no: %s",
		    quote(q, sizeof(q), val));
		return -1;
	}
	return 0;
}

/* The error never quotes the URL: it may hold a password. */
static int
parse_redis(struct config *cfg, const struct setting *s, const char *val,
    char *errbuf, size_t errlen)
{
	if (redis_url_parse(val, target(cfg, s), errbuf, errlen) == -1)
		return -1;
	cfg->redis_raw = xstrdup(val);
	return 0;
}

static int
parse_prefix(struct config *cfg, const struct setting *s, const char *val,
    char *errbuf, size_t errlen)
{
	char	**dst = target(cfg, s);
	char	  q[QUOTE_MAX];

	if (*val == '\0') {
		errbuf_set(errbuf, errlen, "empty prefix");
		return -1;
	}
	if (strlen(val) > PREFIX_MAX) {
		errbuf_set(errbuf, errlen, "longer than %d bytes: %s", PREFIX_MAX,
		    quote(q, sizeof(q), val));
		return -1;
	}
	if (has_ctl_or_space(val)) {
		errbuf_set(errbuf, errlen, "space or control character in %s",
		    quote(q, sizeof(q), val));
		return -1;
	}
	*dst = xstrdup(val);
	return 0;
}

/*
 * RFC 8414 2: the issuer is a URL with no query or fragment. https is
 * what the RFC asks for; http is allowed for --plain-http behind a proxy
 * that the issuer names anyway. The value is kept exactly as given,
 * trailing '/' included, because verification compares it byte for byte.
 */
static int
parse_issuer(struct config *cfg, const struct setting *s, const char *val,
    char *errbuf, size_t errlen)
{
	char		**dst = target(cfg, s);
	char		  q[QUOTE_MAX];
	const char	 *auth;
	size_t		  authlen;

	if (strncmp(val, "https://", 8) == 0)
		auth = val + 8;
	else if (strncmp(val, "http://", 7) == 0)
		auth = val + 7;
	else {
		errbuf_set(errbuf, errlen, "want an https:// or http:// URL: %s",
		    quote(q, sizeof(q), val));
		return -1;
	}
	if (strlen(val) > URL_MAX) {
		errbuf_set(errbuf, errlen, "longer than %d bytes", URL_MAX);
		return -1;
	}
	if (has_ctl_or_space(val)) {
		errbuf_set(errbuf, errlen, "space or control character in %s",
		    quote(q, sizeof(q), val));
		return -1;
	}
	if (strpbrk(val, "?#") != NULL) {
		errbuf_set(errbuf, errlen, "query or fragment in %s",
		    quote(q, sizeof(q), val));
		return -1;
	}
	authlen = strcspn(auth, "/");
	if (authlen == 0 || auth[0] == ':') {
		errbuf_set(errbuf, errlen, "missing host in %s",
		    quote(q, sizeof(q), val));
		return -1;
	}
	if (memchr(auth, '@', authlen) != NULL) {
		errbuf_set(errbuf, errlen, "user information in the issuer URL");
		return -1;
	}
	*dst = xstrdup(val);
	return 0;
}

static int
parse_audience(struct config *cfg, const struct setting *s, const char *val,
    char *errbuf, size_t errlen)
{
	char		**dst = target(cfg, s);
	char		  q[QUOTE_MAX];

	if (*val == '\0') {
		errbuf_set(errbuf, errlen, "empty audience");
		return -1;
	}
	if (strlen(val) > URL_MAX) {
		errbuf_set(errbuf, errlen, "longer than %d bytes", URL_MAX);
		return -1;
	}
	if (has_ctl(val)) {
		errbuf_set(errbuf, errlen, "control character in %s",
		    quote(q, sizeof(q), val));
		return -1;
	}
	*dst = xstrdup(val);
	return 0;
}

static int
parse_long(struct config *cfg, const struct setting *s, const char *val,
    char *errbuf, size_t errlen)
{
	long		*dst = target(cfg, s);
	long long	 v;

	if (parse_number(val, s->min, s->max, &v, errbuf, errlen) == -1)
		return -1;
	*dst = (long)v;
	return 0;
}

static int
parse_int(struct config *cfg, const struct setting *s, const char *val,
    char *errbuf, size_t errlen)
{
	int		*dst = target(cfg, s);
	long long	 v;

	if (parse_number(val, s->min, s->max, &v, errbuf, errlen) == -1)
		return -1;
	*dst = (int)v;
	return 0;
}

static int
parse_size(struct config *cfg, const struct setting *s, const char *val,
    char *errbuf, size_t errlen)
{
	size_t		*dst = target(cfg, s);
	long long	 v;

	if (parse_number(val, s->min, s->max, &v, errbuf, errlen) == -1)
		return -1;
	*dst = (size_t)v;
	return 0;
}

static int
parse_token_typ(struct config *cfg, const struct setting *s,
    const char *val, char *errbuf, size_t errlen)
{
	enum token_typ	*dst = target(cfg, s);
	char		 q[QUOTE_MAX];

	/* Exact: the value goes into every header and is compared as is. */
	if (strcmp(val, "at+jwt") == 0)
		*dst = TOKEN_TYP_AT_JWT;
	else if (strcmp(val, "JWT") == 0)
		*dst = TOKEN_TYP_JWT;
	else {
		errbuf_set(errbuf, errlen, "want at+jwt or JWT: %s",
		    quote(q, sizeof(q), val));
		return -1;
	}
	return 0;
}

static int
parse_kid(struct config *cfg, const struct setting *s, const char *val,
    char *errbuf, size_t errlen)
{
	char		**dst = target(cfg, s);
	char		  q[QUOTE_MAX];
	size_t		  len = strlen(val);

	if (len == 0 || len > KID_MAX) {
		errbuf_set(errbuf, errlen, "want 1..%d bytes: %s", KID_MAX,
		    quote(q, sizeof(q), val));
		return -1;
	}
	if (has_ctl_or_space(val) || strspn(val,
	    "!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~") != len) {
		errbuf_set(errbuf, errlen, "want printable ASCII without "
		    "spaces: %s", quote(q, sizeof(q), val));
		return -1;
	}
	*dst = xstrdup(val);
	return 0;
}

/* A comma-separated list of CIDRs; spaces around entries are allowed. */
static int
parse_proxies(struct config *cfg, const struct setting *s, const char *val,
    char *errbuf, size_t errlen)
{
	struct cidr	*list = NULL;
	size_t		 n = 0, len;
	char		 entry[128], reason[REASON_MAX], q[QUOTE_MAX];
	const char	*p, *e;
	int		 rc = -1;

	(void)s;
	for (p = val;; p = e + 1) {
		e = p + strcspn(p, ",");
		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		len = (size_t)(e - p);
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len == 0) {
			errbuf_set(errbuf, errlen, "empty entry in the list");
			goto out;
		}
		if (n == TRUSTED_PROXIES_MAX) {
			errbuf_set(errbuf, errlen, "more than %d entries",
			    TRUSTED_PROXIES_MAX);
			goto out;
		}
		if (len >= sizeof(entry))
			len = sizeof(entry) - 1;	/* fails below */
		memcpy(entry, p, len);
		entry[len] = '\0';
		list = xrealloc(list, (n + 1) * sizeof(*list));
		if (cidr_parse(entry, &list[n], reason,
		    sizeof(reason)) == -1) {
			errbuf_set(errbuf, errlen, "%s: %s",
			    quote(q, sizeof(q), entry), reason);
			goto out;
		}
		n++;
		if (*e == '\0')
			break;
	}
	cfg->trusted_proxies = list;
	cfg->n_trusted_proxies = n;
	list = NULL;
	rc = 0;
out:
	free(list);
	return rc;
}

static int
parse_log_level(struct config *cfg, const struct setting *s,
    const char *val, char *errbuf, size_t errlen)
{
	enum log_level	*dst = target(cfg, s);
	char		 q[QUOTE_MAX];

	if (strcmp(val, "debug") == 0)
		*dst = LOG_LEVEL_DEBUG;
	else if (strcmp(val, "info") == 0)
		*dst = LOG_LEVEL_INFO;
	else if (strcmp(val, "warn") == 0)
		*dst = LOG_LEVEL_WARN;
	else if (strcmp(val, "error") == 0)
		*dst = LOG_LEVEL_ERROR;
	else {
		errbuf_set(errbuf, errlen, "want debug, info, warn or error: %s",
		    quote(q, sizeof(q), val));
		return -1;
	}
	return 0;
}

static int
parse_log_format(struct config *cfg, const struct setting *s,
    const char *val, char *errbuf, size_t errlen)
{
	enum log_format	*dst = target(cfg, s);
	char		 q[QUOTE_MAX];

	if (strcmp(val, "kv") == 0)
		*dst = LOG_FORMAT_KV;
	else if (strcmp(val, "json") == 0)
		*dst = LOG_FORMAT_JSON;
	else {
		errbuf_set(errbuf, errlen, "want kv or json: %s",
		    quote(q, sizeof(q), val));
		return -1;
	}
	return 0;
}

static int
parse_tls_client_auth(struct config *cfg, const struct setting *s,
    const char *val, char *errbuf, size_t errlen)
{
	enum tls_client_auth	*dst = target(cfg, s);
	char			 q[QUOTE_MAX];

	if (strcmp(val, "off") == 0)
		*dst = TLS_CLIENT_AUTH_OFF;
	else if (strcmp(val, "optional") == 0)
		*dst = TLS_CLIENT_AUTH_OPTIONAL;
	else {
		errbuf_set(errbuf, errlen, "want off or optional: %s",
		    quote(q, sizeof(q), val));
		return -1;
	}
	return 0;
}

/*
 * A user name from the user database (names only, no numeric ids). The
 * lookup is here, not at the switch, so that an unknown name stops
 * start-up with the other bad settings, before anything listens.
 */
static int
parse_user(struct config *cfg, const struct setting *s, const char *val,
    char *errbuf, size_t errlen)
{
	struct passwd	 pw, *res = NULL;
	char		 q[QUOTE_MAX], *buf;
	size_t		 buflen = 16384;
	int		 rc;

	(void)s;
	if (*val == '\0' || strlen(val) >= USER_MAX || has_ctl_or_space(val)) {
		errbuf_set(errbuf, errlen, "not a user name: %s",
		    quote(q, sizeof(q), val));
		return -1;
	}
	buf = xmalloc(buflen);
	rc = getpwnam_r(val, &pw, buf, buflen, &res);
	if (rc != 0 || res == NULL) {
		if (rc == 0 || rc == ENOENT || rc == ESRCH)
			errbuf_set(errbuf, errlen, "unknown user: %s",
			    quote(q, sizeof(q), val));
		else
			errbuf_set(errbuf, errlen, "cannot look up user %s: %s",
			    quote(q, sizeof(q), val), strerror(rc));
		free(buf);
		return -1;
	}
	free(cfg->user);
	cfg->user = xstrdup(pw.pw_name);
	cfg->user_uid = pw.pw_uid;
	cfg->user_gid = pw.pw_gid;
	free(buf);
	return 0;
}

void
config_finish(struct config *cfg)
{
	size_t	 i;

	free(cfg->tls_cert);
	free(cfg->tls_key);
	free(cfg->tls_client_ca);
	free(cfg->tls_ticket_key_file);
	redis_url_finish(&cfg->redis);
	secret_free_str(cfg->redis_raw);	/* may hold the password */
	free(cfg->prefix);
	free(cfg->issuer);
	free(cfg->signing_key);
	free(cfg->hs256_secret_file);
	for (i = 0; i < cfg->n_retired_keys; i++)
		free(cfg->retired_keys[i]);
	free(cfg->retired_keys);
	free(cfg->default_audience);
	free(cfg->hs256_kid);
	free(cfg->trusted_proxies);
	free(cfg->user);
	memset(cfg, 0, sizeof(*cfg));
}

/* The value of NAME in envp, or NULL when unset or empty. */
static const char *
env_lookup(char *const envp[], const char *name)
{
	size_t	 len = strlen(name);

	if (envp == NULL)
		return NULL;
	for (; *envp != NULL; envp++) {
		if (strncmp(*envp, name, len) == 0 && (*envp)[len] == '=')
			return (*envp)[len + 1] != '\0' ? *envp + len + 1 :
			    NULL;
	}
	return NULL;
}

static void
setting_error(char *errbuf, size_t errlen, const struct setting *s,
    const char *reason)
{
	errbuf_set(errbuf, errlen, "--%s / %s: %s", s->name, s->env, reason);
}

/* Parse a comma-separated environment list, one entry at a time. */
static int
parse_env_list(struct config *cfg, const struct setting *s, const char *val,
    char *errbuf, size_t errlen)
{
	const char	*p, *e;
	char		*entry;
	int		 rc;

	for (p = val;; p = e + 1) {
		e = p + strcspn(p, ",");
		if (e == p) {
			errbuf_set(errbuf, errlen, "empty entry in the list");
			return -1;
		}
		entry = xstrndup(p, (size_t)(e - p));
		rc = s->parse(cfg, s, entry, errbuf, errlen);
		free(entry);
		if (rc == -1)
			return -1;
		if (*e == '\0')
			return 0;
	}
}

/* The flags of one command line, in the order given. */
struct flag_value {
	size_t		 setting;	/* index in settings[] */
	const char	*value;		/* in argv; "1" for a switch */
};

/*
 * Give setting i its value: every occurrence of a repeatable flag, else
 * the last occurrence of the flag, else the variable, else the default.
 * A setting with none of those (a derived default) is left alone.
 */
static int
resolve(struct config *cfg, size_t i, const struct flag_value *fv,
    size_t nfv, char *const envp[], char *errbuf, size_t errlen)
{
	const struct setting	*s = &settings[i];
	const char		*val = NULL;
	char			 reason[REASON_MAX];
	size_t			 j;
	bool			 given = false;
	int			 rc = 0;

	if ((s->flags & SETTING_TLS) && cfg->plain_http)
		return 0;
	for (j = 0; j < nfv && rc == 0; j++) {
		if (fv[j].setting != i)
			continue;
		given = true;
		if (s->flags & SETTING_REPEAT)
			rc = s->parse(cfg, s, fv[j].value, reason,
			    sizeof(reason));
		else
			val = fv[j].value;
	}
	if (rc == 0 && !given && (val = env_lookup(envp, s->env)) != NULL &&
	    (s->flags & SETTING_REPEAT)) {
		rc = parse_env_list(cfg, s, val, reason, sizeof(reason));
		val = NULL;
	}
	if (rc == 0 && !(s->flags & SETTING_REPEAT)) {
		if (val == NULL)
			val = s->def;
		if (val != NULL)
			rc = s->parse(cfg, s, val, reason, sizeof(reason));
	}
	if (rc == -1)
		setting_error(errbuf, errlen, s, reason);
	return rc;
}

static const struct setting *
setting_by_name(const char *name)
{
	size_t	 i;

	for (i = 0; i < nitems(settings); i++)
		if (strcmp(settings[i].name, name) == 0)
			return &settings[i];
	return NULL;
}

bool
config_describe(size_t i, struct config_setting_doc *out)
{
	const struct setting	*s;

	if (i >= nitems(settings))
		return false;
	s = &settings[i];
	out->name = s->name;
	out->env = s->env;
	out->metavar = s->metavar;
	out->def = s->def;
	out->def_doc = s->def_doc;
	out->min = s->min;
	out->max = s->max;
	out->repeat = (s->flags & SETTING_REPEAT) != 0;
	out->help = s->help;
	return true;
}

/* What settings derive from each other, and what they require. */
static int
finish_settings(struct config *cfg, char *errbuf, size_t errlen)
{
	char	 buf[64];
	long	 n;

	if (!cfg->plain_http && cfg->tls_cert == NULL) {
		setting_error(errbuf, errlen, setting_by_name("tls-cert"),
		    "required unless --plain-http");
		return -1;
	}
	if (!cfg->plain_http && cfg->tls_key == NULL) {
		setting_error(errbuf, errlen, setting_by_name("tls-key"),
		    "required unless --plain-http");
		return -1;
	}
	if (cfg->signing_key == NULL && cfg->hs256_secret_file == NULL) {
		setting_error(errbuf, errlen, setting_by_name("signing-key"),
		    "required unless --hs256-secret-file");
		return -1;
	}
	if (cfg->signing_key != NULL && cfg->hs256_secret_file != NULL) {
		setting_error(errbuf, errlen, setting_by_name("signing-key"),
		    "cannot be combined with --hs256-secret-file");
		return -1;
	}
	if (cfg->issuer == NULL) {
		snprintf(buf, sizeof(buf), "%s://localhost:%u",
		    cfg->plain_http ? "http" : "https",
		    (unsigned)cfg->listen.port);
		cfg->issuer = xstrdup(buf);
		cfg->issuer_defaulted = true;
	}
	if (cfg->default_audience == NULL)
		cfg->default_audience = xstrdup(cfg->issuer);
	/* Only root can switch; anyone may name themselves (a no-op). */
	if (cfg->user != NULL && geteuid() != 0 &&
	    (cfg->user_uid != geteuid() || cfg->user_uid != getuid())) {
		snprintf(buf, sizeof(buf), "only root can switch users "
		    "(running as uid %u)", (unsigned)geteuid());
		setting_error(errbuf, errlen, setting_by_name("user"), buf);
		return -1;
	}
	if (cfg->workers == 0) {
		n = sysconf(_SC_NPROCESSORS_ONLN);
		cfg->workers = n < 1 ? 1 : n > WORKERS_MAX ? WORKERS_MAX :
		    (int)n;
	}
	return 0;
}

enum config_result
config_parse(struct config *cfg, int argc, char *const argv[],
    char *const envp[], char *errbuf, size_t errlen)
{
	struct option		 opts[nitems(settings) + 4];
	struct flag_value	*fv = NULL;
	const struct setting	*s;
	char			 name[64];
	size_t			 i, nfv = 0, len;
	int			 c, prev;
	int			 pass;
	enum config_result	 rc = CONFIG_ERROR;

	memset(cfg, 0, sizeof(*cfg));
	memset(opts, 0, sizeof(opts));
	errbuf_set(errbuf, errlen, "%s", "");

	for (i = 0; i < nitems(settings); i++) {
		opts[i].name = settings[i].name;
		opts[i].has_arg = settings[i].metavar != NULL ?
		    required_argument : no_argument;
		opts[i].val = OPT_SETTING + (int)i;
	}
	opts[i].name = "help";
	opts[i++].val = OPT_HELP;
	opts[i].name = "version";
	opts[i++].val = OPT_VERSION;
	opts[i].name = "help-man";
	opts[i].val = OPT_HELP_MAN;

	if (argc > 1)
		fv = xcalloc((size_t)argc, sizeof(*fv));

	/*
	 * optind = 0 makes glibc start over, so tests can parse again.
	 * A leading '-' returns positional arguments in order (as 1) rather
	 * than permuting argv; ':' reports a missing value as ':'.
	 */
	opterr = 0;
	optind = 0;
	prev = 1;
	while (argc > 1 &&
	    (c = getopt_long(argc, argv, "-:hV", opts, NULL)) != -1) {
		switch (c) {
		case OPT_HELP:
			rc = CONFIG_HELP;
			goto out;
		case OPT_VERSION:
			rc = CONFIG_VERSION;
			goto out;
		case OPT_HELP_MAN:
			rc = CONFIG_HELP_MAN;
			goto out;
		case 1:
			/* Not quoted: it may be a misplaced secret. */
			errbuf_set(errbuf, errlen, "unexpected argument %d: "
			    "tokend takes options only", optind - 1);
			goto out;
		case ':':
			if (optopt >= OPT_SETTING)
				errbuf_set(errbuf, errlen, "--%s: missing value",
				    settings[optopt - OPT_SETTING].name);
			else
				errbuf_set(errbuf, errlen, "-%c: missing value",
				    optopt);
			goto out;
		case '?':
			if (optopt >= OPT_SETTING)
				errbuf_set(errbuf, errlen, "--%s: takes no value",
				    settings[optopt - OPT_SETTING].name);
			else if (optopt != 0 && optopt != '?')
				errbuf_set(errbuf, errlen, "unknown option: -%c",
				    optopt >= 0x21 && optopt < 0x7f ?
				    optopt : '?');
			else
				errbuf_set(errbuf, errlen, "unknown option: %s",
				    option_name(name, sizeof(name),
				    argv[optind - 1]));
			goto out;
		default:
			break;
		}
		s = &settings[c - OPT_SETTING];
		/* glibc takes unique abbreviations; a server should not */
		len = strlen(s->name);
		if (strncmp(argv[prev], "--", 2) != 0 ||
		    strncmp(argv[prev] + 2, s->name, len) != 0 ||
		    (argv[prev][2 + len] != '\0' &&
		    argv[prev][2 + len] != '=')) {
			errbuf_set(errbuf, errlen, "unknown option: %s "
			    "(abbreviations are not accepted)",
			    option_name(name, sizeof(name), argv[prev]));
			goto out;
		}
		prev = optind;
		fv[nfv].setting = (size_t)(c - OPT_SETTING);
		fv[nfv++].value = s->metavar != NULL ? optarg : "1";
	}
	if (argc > 1 && optind < argc) {
		/* what follows "--" */
		errbuf_set(errbuf, errlen, "unexpected argument %d: tokend takes "
		    "options only", optind);
		goto out;
	}

	/* Switches first: --plain-http decides whether TLS files matter. */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < nitems(settings); i++) {
			if ((settings[i].metavar == NULL) != (pass == 0))
				continue;
			if (resolve(cfg, i, fv, nfv, envp, errbuf,
			    errlen) == -1)
				goto out;
		}
	}
	if (finish_settings(cfg, errbuf, errlen) == -1)
		goto out;
	rc = CONFIG_OK;
out:
	free(fv);
	if (rc != CONFIG_OK)
		config_finish(cfg);
	return rc;
}
