/*
 * config: every setting of tokend, parsed from the command line, then the
 * environment, then the default, through one table (src/config.c).
 *
 * Pure module: no libevent, no hiredis, no sockets opened. The parsed
 * struct config is read-only after config_parse() returns; workers get a
 * const pointer to it.
 *
 * The grammars of two values live in modules of their own, included here
 * because struct config holds their results: redis_url.h (--redis) and
 * cidr.h (--trusted-proxies). --help, the man page and the settings
 * table of docs/configuration.md are config_doc.h's, written from
 * config_describe(): config_doc sits above this module and includes it,
 * never the reverse, so config_parse() only reports that --help,
 * --help-man or --version was asked for and main.c has config_doc_print()
 * print it.
 */
#ifndef TOKEND_CONFIG_H
#define TOKEND_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "cidr.h"
#include "redis_url.h"

#define TOKEND_VERSION_STRING "0.1.0"

/*
 * --metrics-max-clients: distinct client_id labels of /metrics per
 * worker. metrics_shard_init() clamps to the maximum as well.
 */
#define CONFIG_METRICS_MAX_CLIENTS_MIN	0
#define CONFIG_METRICS_MAX_CLIENTS_MAX	10000

/* A parsed --listen or --management-listen value. */
struct listen_addr {
	char			 host[64];	/* as written, brackets removed */
	uint16_t		 port;
	struct sockaddr_storage	 sa;		/* numeric address, port set */
	socklen_t		 salen;
};

enum token_typ {
	TOKEN_TYP_AT_JWT = 0,		/* "at+jwt" (RFC 9068) */
	TOKEN_TYP_JWT,			/* "JWT" */
};

/* --tls-client-auth: whether the TLS listener asks for a certificate. */
enum tls_client_auth {
	TLS_CLIENT_AUTH_OFF = 0,	/* never asks */
	TLS_CLIENT_AUTH_OPTIONAL,	/* asks, requires none, accepts any */
};

enum log_level {
	LOG_LEVEL_DEBUG = 0,
	LOG_LEVEL_INFO,
	LOG_LEVEL_WARN,
	LOG_LEVEL_ERROR,
};

enum log_format {
	LOG_FORMAT_KV = 0,		/* ts=... level=... event=... */
	LOG_FORMAT_JSON,		/* one JSON object per line */
};

struct config {
	struct listen_addr	 listen;
	char			*tls_cert;		/* path; NULL if plain */
	char			*tls_key;
	enum tls_client_auth	 tls_client_auth;
	char			*tls_client_ca;		/* path or NULL */
	char			*tls_ticket_key_file;	/* NULL: random key */
	bool			 plain_http;
	/* --management-listen: /metrics, /healthz, /readyz in plain HTTP */
	struct listen_addr	 management_listen;	/* unset when off */
	bool			 management_off;
	struct redis_url	 redis;
	char			*redis_raw;		/* the URL as given */
	char			*prefix;		/* "tokend:" */
	char			*issuer;		/* never NULL after parse */
	bool			 issuer_defaulted;	/* warn at start */
	char			*signing_key;		/* path or NULL */
	char			*hs256_secret_file;	/* path or NULL */
	char		       **retired_keys;		/* NULL-terminated */
	size_t			 n_retired_keys;
	long			 token_ttl;		/* seconds */
	int			 workers;		/* >= 1 */
	char			*default_audience;	/* never NULL */
	enum token_typ		 token_typ;
	char			*hs256_kid;
	size_t			 max_body;		/* bytes */
	size_t			 max_headers;		/* bytes */
	int			 request_timeout;	/* seconds */
	int			 idle_timeout;		/* seconds */
	int			 max_connections;
	int			 redis_timeout_ms;
	int			 verify_grace;		/* seconds */
	int			 leeway;		/* seconds */
	int			 assertion_max_age;	/* seconds */
	int			 dpop_max_age;		/* seconds, > 0 */
	int			 verify_cache_size;	/* entries; 0 = off */
	int			 max_revocations_per_client;	/* live */
	int			 auth_fail_limit;	/* 0 = off */
	int			 auth_fail_window;	/* seconds */
	int			 auth_fail_ipv6_prefix;	/* bits, 32..128 */
	struct cidr		*trusted_proxies;	/* n_trusted_proxies */
	size_t			 n_trusted_proxies;
	enum log_level		 log_level;
	enum log_format		 log_format;
	int			 shutdown_timeout;	/* seconds, drain bound */
	char			*user;			/* --user; NULL: none */
	uid_t			 user_uid;		/* of --user */
	gid_t			 user_gid;		/* its primary group */
	int			 metrics_max_clients;	/* client_id labels */
};

/*
 * What config_parse() found. The three requests for a document stop the
 * parse where they appear (what follows is not read) and are printed by
 * config_doc_print() (config_doc.h); tokend then exits 0.
 */
enum config_result {
	CONFIG_OK = 0,
	CONFIG_HELP,		/* -h, --help asked for */
	CONFIG_HELP_MAN,	/* --help-man (not listed by --help) */
	CONFIG_VERSION,		/* -V, --version */
	CONFIG_ERROR,		/* message in errbuf; exit 2 */
};

/*
 * Parse argv (flags), then envp (TOKEND_* variables), then defaults into
 * *cfg. Checks every value, including that files named by --tls-cert,
 * --tls-key, --signing-key, --hs256-secret-file and --retired-key exist and
 * are readable (their contents are checked by the modules that load them).
 * On CONFIG_ERROR, errbuf holds one line naming the flag and the variable,
 * e.g. "--listen / TOKEND_LISTEN: port out of range: 70000".
 * -h/--help, --help-man and -V/--version give CONFIG_HELP,
 * CONFIG_HELP_MAN and CONFIG_VERSION and print nothing: printing them is
 * config_doc_print()'s (config_doc.h).
 * --user is looked up in the user database here (getpwnam_r): an unknown
 * name is a CONFIG_ERROR, and so is a user other than the current one
 * when not running as root.
 * On any result other than CONFIG_OK, *cfg holds nothing to free.
 * On CONFIG_OK the caller owns *cfg and releases it with config_finish().
 * envp may be NULL (no environment).
 */
enum config_result
	 config_parse(struct config *cfg, int argc, char *const argv[],
	    char *const envp[], char *errbuf, size_t errlen);

/* Release everything config_parse() allocated; wipes the Redis password. */
void	 config_finish(struct config *cfg);

/*
 * One row of the settings table as the documentation shows it
 * (config_doc.h). Every string is static: never freed, never changed.
 */
struct config_setting_doc {
	const char	*name;		/* long flag without "--" */
	const char	*env;		/* environment variable */
	const char	*metavar;	/* NULL: a switch, no argument */
	const char	*def;		/* the default; NULL: see def_doc */
	const char	*def_doc;	/* the default in words when def is NULL */
	long long	 min;		/* an integer setting's range; */
	long long	 max;		/* max is 0 for any other setting */
	bool		 repeat;	/* repeatable; the variable is a list */
	const char	*help;
};

/*
 * Describe setting i (0, 1, ... in table order) into *out. Returns false,
 * leaving *out alone, once i is past the last setting. Reads only the
 * constant table: callable from anywhere.
 */
bool	 config_describe(size_t i, struct config_setting_doc *out);

/*
 * Parsers, exposed for tests and fuzzing. Each returns 0 on success or -1
 * with a short reason (no flag name) in errbuf.
 */
int	 config_parse_listen(const char *s, struct listen_addr *out,
	    char *errbuf, size_t errlen);

#endif
