/*
 * fuzz_redis_url: the settings parsers with a grammar of their own:
 * redis_url_parse() (--redis, all of redis://, unix:// and
 * sentinel://), config_parse_listen() (--listen)
 * and cidr_parse() (--trusted-proxies), each given the input as a
 * string (a NUL byte ends it, as in argv); and a source address
 * (client_addr_canonical(), an X-Forwarded-For entry) with the
 * brute-force prefix of it at every length (client_addr_prefix()), which
 * must be the address itself for IPv4 and, for IPv6, a network of that
 * length that holds the address.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cidr.h"
#include "client_addr.h"
#include "config.h"
#include "redis_url.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
contains(const struct cidr *c, const struct listen_addr *l)
{
	struct sockaddr_in	 v4;
	struct sockaddr_in6	 v6;

	memset(&v4, 0, sizeof(v4));
	v4.sin_family = AF_INET;
	v4.sin_addr.s_addr = htonl(0x7f000001);
	(void)cidr_contains(c, (const struct sockaddr *)&v4);
	memset(&v6, 0, sizeof(v6));
	v6.sin6_family = AF_INET6;
	(void)inet_pton(AF_INET6, "::ffff:10.1.2.3", &v6.sin6_addr);
	(void)cidr_contains(c, (const struct sockaddr *)&v6);
	(void)inet_pton(AF_INET6, "2001:db8::1", &v6.sin6_addr);
	(void)cidr_contains(c, (const struct sockaddr *)&v6);
	if (l != NULL)
		(void)cidr_contains(c, (const struct sockaddr *)&l->sa);
}

static void
source_prefixes(const char *s)
{
	char			 canon[CLIENT_ADDR_MAX];
	char			 pfx[CLIENT_ADDR_PREFIX_MAX], err[128];
	struct sockaddr_in6	 v6;
	struct cidr		 net;
	int			 bits;

	if (!client_addr_canonical(s, strlen(s), canon))
		return;
	for (bits = 0; bits <= 128; bits++) {
		client_addr_prefix(canon, bits, pfx, sizeof(pfx));
		if (strchr(canon, ':') == NULL) {
			if (strcmp(pfx, canon) != 0)
				abort();
			return;
		}
		memset(&v6, 0, sizeof(v6));
		v6.sin6_family = AF_INET6;
		if (inet_pton(AF_INET6, canon, &v6.sin6_addr) != 1 ||
		    cidr_parse(pfx, &net, err, sizeof(err)) != 0 ||
		    net.family != AF_INET6 || (int)net.prefix != bits ||
		    !cidr_contains(&net, (const struct sockaddr *)&v6))
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct redis_url	 url;
	struct listen_addr	 listen;
	struct cidr		 cidr;
	char			 err[256], *s;
	int			 listen_ok;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	memset(&url, 0, sizeof(url));
	if (redis_url_parse(s, &url, err, sizeof(err)) == 0) {
		if ((url.kind == REDIS_TCP && url.host == NULL) ||
		    (url.kind == REDIS_UNIX && url.path == NULL))
			abort();
		if (url.kind == REDIS_SENTINEL) {
			size_t	 i;

			if (url.master_name == NULL || url.n_sentinels == 0 ||
			    url.n_sentinels > REDIS_SENTINELS_MAX)
				abort();
			for (i = 0; i < url.n_sentinels; i++)
				if (url.sentinels[i].host == NULL ||
				    url.sentinels[i].port == 0)
					abort();
		}
		redis_url_finish(&url);
	}

	memset(&listen, 0, sizeof(listen));
	listen_ok = config_parse_listen(s, &listen, err, sizeof(err)) == 0;
	if (listen_ok && memchr(listen.host, '\0', sizeof(listen.host)) == NULL)
		abort();

	source_prefixes(s);

	memset(&cidr, 0, sizeof(cidr));
	if (cidr_parse(s, &cidr, err, sizeof(err)) == 0) {
		if ((cidr.family == AF_INET && cidr.prefix > 32) ||
		    (cidr.family == AF_INET6 && cidr.prefix > 128) ||
		    (cidr.family != AF_INET && cidr.family != AF_INET6))
			abort();
		contains(&cidr, listen_ok ? &listen : NULL);
	}
	free(s);
	return 0;
}
