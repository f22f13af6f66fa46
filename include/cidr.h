/*
 * cidr: IPv4 and IPv6 networks in CIDR notation (--trusted-proxies),
 * parsed once at start and matched against peer addresses on every
 * request (client_addr.c).
 *
 * Pure module: no libevent, no hiredis, no sockets, no allocation.
 */
#ifndef TOKEND_CIDR_H
#define TOKEND_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sockaddr;

/* One network. An IPv4-mapped IPv6 network is stored as IPv4. */
struct cidr {
	int		 family;	/* AF_INET or AF_INET6 */
	uint8_t		 addr[16];	/* network address, host bits zero */
	unsigned	 prefix;	/* 0..32 or 0..128 */
};

/*
 * Parse "address[/prefix]" (numeric IPv4 or IPv6; no prefix means the
 * single address, /32 or /128) into *out. Host bits are accepted and
 * cleared: 10.1.2.3/8 is 10.0.0.0/8. A network inside ::ffff:0:0/96 is
 * stored as the IPv4 network it names. Returns 0, or -1 with a short
 * reason in errbuf (the input is not quoted) and *out untouched.
 */
int	 cidr_parse(const char *s, struct cidr *out, char *errbuf,
	    size_t errlen);

/*
 * True when sa is in c. sa is an AF_INET or AF_INET6 address (anything
 * else, NULL included, is in no network); an IPv4-mapped IPv6 address
 * (a dual-stack socket's IPv4 peer) is matched as IPv4. Callable from
 * any thread: it only reads c.
 */
bool	 cidr_contains(const struct cidr *c, const struct sockaddr *sa);

#endif
