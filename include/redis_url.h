/*
 * redis_url: the --redis setting's URL, parsed into what the store needs
 * to reach Redis: a TCP host, a unix socket, or a set of Sentinels and a
 * master name, with the database and the credentials.
 *
 * Pure module: no libevent, no hiredis, no sockets. Connecting is the
 * store's (src/store.c).
 */
#ifndef TOKEND_REDIS_URL_H
#define TOKEND_REDIS_URL_H

#include <stddef.h>
#include <stdint.h>

enum redis_kind {
	REDIS_TCP = 0,
	REDIS_UNIX,
	REDIS_SENTINEL,
};

#define REDIS_SENTINELS_MAX	16
#define REDIS_MASTER_NAME_MAX	64

/* One sentinel of a sentinel:// URL. */
struct redis_hostport {
	char		*host;		/* owned; brackets removed */
	uint16_t	 port;		/* default 26379 */
};

/*
 * A parsed --redis URL:
 *   redis://[[user]:password@]host[:port][/db]     (host may be [v6])
 *   unix://[[user]:password@]/path/to/socket[?db=N]
 *   sentinel://[[user]:password@]host[:port][,host[:port]...]/master
 *       [?db=N][&sentinel_password=P]
 * Percent-escapes in user and passwords are decoded. In a sentinel URL,
 * user and password are the master's (AUTH to the master and its
 * replicas); sentinel_password, when given, is sent to the sentinels.
 */
struct redis_url {
	enum redis_kind	 kind;
	char		*host;		/* REDIS_TCP; owned */
	uint16_t	 port;		/* REDIS_TCP; default 6379 */
	char		*path;		/* REDIS_UNIX; owned */
	int		 db;		/* default 0 */
	char		*user;		/* NULL when absent; owned */
	char		*password;	/* NULL when absent; owned, wiped */
	/* REDIS_SENTINEL */
	struct redis_hostport *sentinels;	/* n_sentinels; owned */
	size_t		 n_sentinels;	/* 1..REDIS_SENTINELS_MAX */
	char		*master_name;	/* owned */
	char		*sentinel_password; /* NULL when absent; owned, wiped */
};

/*
 * Parse s into *out (which is zeroed first). Host names are not
 * resolved. Returns 0, and the caller owns out's strings and releases
 * them with redis_url_finish(); or -1 with a short reason in errbuf that
 * quotes no part of the URL (it may hold a password), and *out all
 * zeros. rediss:// is refused: hiredis 0.14 has no TLS.
 */
int	 redis_url_parse(const char *s, struct redis_url *out, char *errbuf,
	    size_t errlen);

/*
 * Free what redis_url_parse() allocated, wiping the passwords, and zero
 * *url. A zeroed struct is fine; calling it twice is harmless.
 */
void	 redis_url_finish(struct redis_url *url);

#endif
