/*
 * config: every setting of tokend, parsed from the command line, then the
 * environment, then the default, through one table (src/config.c).
 *
 * Pure module: no libevent, no hiredis, no sockets opened. The parsed
 * struct config is read-only after config_parse() returns; workers get a
 * const pointer to it.
 */
#ifndef TOKEND_CONFIG_H
#define TOKEND_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#define TOKEND_VERSION_STRING "0.1.0"

/* A parsed --listen value. */
struct listen_addr {
	char			 host[64];	/* as written, brackets removed */
	uint16_t		 port;
	struct sockaddr_storage	 sa;		/* numeric address, port set */
	socklen_t		 salen;
};

enum redis_kind {
	REDIS_TCP = 0,
	REDIS_UNIX,
};

/*
 * A parsed --redis URL:
 *   redis://[[user]:password@]host[:port][/db]     (host may be [v6])
 *   unix://[[user]:password@]/path/to/socket[?db=N]
 * Percent-escapes in user and password are decoded.
 */
struct redis_url {
	enum redis_kind	 kind;
	char		*host;		/* REDIS_TCP; owned */
	uint16_t	 port;		/* REDIS_TCP; default 6379 */
	char		*path;		/* REDIS_UNIX; owned */
	int		 db;		/* default 0 */
	char		*user;		/* NULL when absent; owned */
	char		*password;	/* NULL when absent; owned, wiped */
};

/* One --trusted-proxies entry. */
struct cidr {
	int		 family;	/* AF_INET or AF_INET6 */
	uint8_t		 addr[16];	/* network address, host bits zero */
	unsigned	 prefix;	/* 0..32 or 0..128 */
};

enum token_typ {
	TOKEN_TYP_AT_JWT = 0,		/* "at+jwt" (RFC 9068) */
	TOKEN_TYP_JWT,			/* "JWT" */
};

enum log_level {
	LOG_LEVEL_DEBUG = 0,
	LOG_LEVEL_INFO,
	LOG_LEVEL_WARN,
	LOG_LEVEL_ERROR,
};

struct config {
	struct listen_addr	 listen;
	char			*tls_cert;		/* path; NULL if plain */
	char			*tls_key;
	bool			 plain_http;
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
	int			 auth_fail_limit;	/* 0 = off */
	int			 auth_fail_window;	/* seconds */
	struct cidr		*trusted_proxies;	/* n_trusted_proxies */
	size_t			 n_trusted_proxies;
	enum log_level		 log_level;
	int			 shutdown_timeout;	/* seconds, drain bound */
	int			 metrics_max_clients;	/* client_id labels */
};

enum config_result {
	CONFIG_OK = 0,
	CONFIG_EXIT_OK,		/* --help or --version printed; exit 0 */
	CONFIG_ERROR,		/* message in errbuf; exit 2 */
};

/*
 * Parse argv (flags), then envp (TOKEND_* variables), then defaults into
 * *cfg. Checks every value, including that files named by --tls-cert,
 * --tls-key, --signing-key, --hs256-secret-file and --retired-key exist and
 * are readable (their contents are checked by the modules that load them).
 * On CONFIG_ERROR, errbuf holds one line naming the flag and the variable,
 * e.g. "--listen / TOKEND_LISTEN: port out of range: 70000".
 * --help and --version print to `out` and give CONFIG_EXIT_OK.
 * On any result other than CONFIG_OK, *cfg holds nothing to free.
 * On CONFIG_OK the caller owns *cfg and releases it with config_finish().
 * envp may be NULL (no environment).
 */
enum config_result
	 config_parse(struct config *cfg, int argc, char *const argv[],
	    char *const envp[], FILE *out, char *errbuf, size_t errlen);

/* Release everything config_parse() allocated; wipes the Redis password. */
void	 config_finish(struct config *cfg);

/* Print the settings as a Markdown table (for the README). */
void	 config_print_markdown(FILE *out);

/*
 * Parsers, exposed for tests and fuzzing. Each returns 0 on success or -1
 * with a short reason (no flag name) in errbuf.
 */
int	 config_parse_listen(const char *s, struct listen_addr *out,
	    char *errbuf, size_t errlen);
/* On success the caller owns out's strings: redis_url_finish(). */
int	 config_parse_redis_url(const char *s, struct redis_url *out,
	    char *errbuf, size_t errlen);
void	 redis_url_finish(struct redis_url *url);
int	 config_parse_cidr(const char *s, struct cidr *out,
	    char *errbuf, size_t errlen);
/* True when sa (AF_INET/AF_INET6, v4-mapped v6 matched as v4) is in c. */
bool	 cidr_contains(const struct cidr *c, const struct sockaddr *sa);

#endif
