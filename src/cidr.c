/*
 * cidr: parse "address[/prefix]" and match addresses against it.
 *
 * A network is kept as its family, its address with the host bits
 * cleared, and its prefix length, so matching is a byte compare and one
 * masked byte. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are IPv4 on
 * both sides: a mapped network is stored as IPv4 when parsed, and a
 * mapped peer is matched as IPv4, so a dual-stack socket's view of an
 * IPv4 peer matches what --trusted-proxies says about it either way.
 * Host names are refused: a list of proxies is addresses, never a DNS
 * lookup. The list itself (commas, its bounds, its error naming the
 * setting) belongs to config.c.
 *
 * Pure module: no libevent, no Redis client, no sockets, no allocation.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdlib.h>
#include <string.h>

#include "cidr.h"
#include "util.h"

/* The first 12 bytes of an IPv4-mapped IPv6 address, ::ffff:0:0/96. */
static const uint8_t	 v4mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

int
cidr_parse(const char *s, struct cidr *out, char *errbuf, size_t errlen)
{
	struct cidr	 c;
	char		 addr[INET6_ADDRSTRLEN + 1];
	const char	*slash;
	size_t		 alen;
	long long	 prefix;
	unsigned	 max, i, bits;

	memset(&c, 0, sizeof(c));
	slash = strchr(s, '/');
	alen = slash != NULL ? (size_t)(slash - s) : strlen(s);
	if (alen == 0 || alen >= sizeof(addr)) {
		errbuf_set(errbuf, errlen, "bad address");
		return -1;
	}
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (strchr(addr, ':') != NULL) {
		c.family = AF_INET6;
		max = 128;
	} else {
		c.family = AF_INET;
		max = 32;
	}
	if (inet_pton(c.family, addr, c.addr) != 1) {
		errbuf_set(errbuf, errlen, "not a numeric %s address",
		    c.family == AF_INET ? "IPv4" : "IPv6");
		return -1;
	}
	if (slash == NULL)
		prefix = max;
	else if (slash[1] == '\0' ||
	    strspn(slash + 1, "0123456789") != strlen(slash + 1) ||
	    strlen(slash + 1) > 3 ||
	    (prefix = strtoll(slash + 1, NULL, 10)) > max) {
		errbuf_set(errbuf, errlen, "prefix length out of range (0..%u)",
		    max);
		return -1;
	}
	c.prefix = (unsigned)prefix;

	/*
	 * A v4-mapped network is stored as the IPv4 network it names, so
	 * that it matches IPv4 peers however the socket shows them.
	 */
	if (c.family == AF_INET6 && c.prefix >= 96 &&
	    memcmp(c.addr, v4mapped, sizeof(v4mapped)) == 0) {
		memmove(c.addr, c.addr + 12, 4);
		memset(c.addr + 4, 0, 12);
		c.family = AF_INET;
		c.prefix -= 96;
		max = 32;
	}

	/* Host bits are accepted and cleared: 10.1.2.3/8 is 10.0.0.0/8. */
	for (i = 0; i < max / 8; i++) {
		bits = c.prefix > i * 8 ? c.prefix - i * 8 : 0;
		if (bits < 8)
			c.addr[i] &= (uint8_t)(0xff00 >> bits);
	}
	*out = c;
	return 0;
}

static bool
prefix_match(const uint8_t *a, const uint8_t *net, unsigned prefix)
{
	unsigned	 full = prefix / 8, rest = prefix % 8;
	uint8_t		 mask;

	if (memcmp(a, net, full) != 0)
		return false;
	if (rest == 0)
		return true;
	mask = (uint8_t)(0xff00 >> rest);
	return (a[full] & mask) == net[full];
}

bool
cidr_contains(const struct cidr *c, const struct sockaddr *sa)
{
	const uint8_t	*a;

	if (sa == NULL)
		return false;
	if (sa->sa_family == AF_INET) {
		a = (const uint8_t *)
		    &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
		return c->family == AF_INET && prefix_match(a, c->addr,
		    c->prefix);
	}
	if (sa->sa_family != AF_INET6)
		return false;
	a = (const uint8_t *)
	    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	/* a dual-stack socket shows IPv4 peers as ::ffff:a.b.c.d */
	if (memcmp(a, v4mapped, sizeof(v4mapped)) == 0)
		return c->family == AF_INET && prefix_match(a + 12, c->addr,
		    c->prefix);
	return c->family == AF_INET6 && prefix_match(a, c->addr, c->prefix);
}
