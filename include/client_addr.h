/*
 * client_addr: the source address of a request, for the brute-force limit
 * (RFC 6749 section 2.3.1).
 *
 * Pure module: no libevent, no hiredis, no sockets.
 *
 * The source address is the peer's, unless the peer is a trusted proxy
 * (--trusted-proxies): then X-Forwarded-For is walked from the right (the
 * hop the nearest proxy added) to the left, skipping hops that are trusted
 * proxies themselves, and the first hop that is not one is the source.
 * A malformed entry (anything but one IPv4 or IPv6 address, optionally in
 * brackets, between commas) stops the walk: the last good hop (or the
 * peer) is the source, so a client cannot push a forged entry past it.
 * When every hop is a trusted proxy, the leftmost is the source.
 * Addresses are canonical text (inet_ntop; an IPv4-mapped IPv6 address
 * becomes IPv4), so one address always makes one Redis key.
 */
#ifndef TOKEND_CLIENT_ADDR_H
#define TOKEND_CLIENT_ADDR_H

#include <stdbool.h>
#include <stddef.h>

struct cidr;

/* Longest canonical address text, NUL included (INET6_ADDRSTRLEN). */
#define CLIENT_ADDR_MAX	46

/*
 * The longest prefix text of client_addr_prefix(), NUL included: an IPv6
 * address and "/128".
 */
#define CLIENT_ADDR_PREFIX_MAX	(CLIENT_ADDR_MAX + 4)

/*
 * What the brute-force limit counts a source address addr (canonical
 * text, as client_address_from_xff() writes it) under, into out
 * (CLIENT_ADDR_PREFIX_MAX bytes or more: outlen): an IPv4 address as it
 * is; an IPv6 address as its network of v6_bits bits (0..128; host bits
 * cleared), in canonical text followed by "/BITS", so
 * 2001:db8:1:2:a:b:c:d under 64 is "2001:db8:1:2::/64" and ::1 under 128
 * is "::1/128"; an IPv4-mapped IPv6 address as the IPv4 address; text that
 * is no address as it is (truncated to outlen).
 */
void	 client_addr_prefix(const char *addr, int v6_bits, char *out,
	    size_t outlen);

/*
 * Parse one address of len bytes (optional surrounding blanks and
 * brackets) into canonical text in out (CLIENT_ADDR_MAX bytes). Returns
 * false, leaving out untouched, when it is not exactly one address.
 */
bool	 client_addr_canonical(const char *s, size_t len, char *out);

/* True when the canonical address text addr is in one of proxies. */
bool	 client_addr_trusted(const char *addr, const struct cidr *proxies,
	    size_t n_proxies);

/*
 * The source address of a request from peer (text) with the values of its
 * X-Forwarded-For headers in order (xff[0 .. n_xff-1]; n_xff may be 0),
 * into out (CLIENT_ADDR_MAX bytes or more: outlen). A peer that does not
 * parse is copied as it is (truncated to outlen).
 */
void	 client_address_from_xff(const char *peer, const char *const *xff,
	    size_t n_xff, const struct cidr *proxies, size_t n_proxies,
	    char *out, size_t outlen);

#endif
