/*
 * client_addr: the source address of a request from its peer address and
 * X-Forwarded-For, trusting the header only from --trusted-proxies.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "cidr.h"
#include "client_addr.h"

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* snprintf(out, outlen, "%s", s) without its cost; outlen > 0. */
static void
copy_out(char *out, size_t outlen, const char *s)
{
	size_t	 n = strnlen(s, outlen - 1);

	memcpy(out, s, n);
	out[n] = '\0';
}

bool
client_addr_canonical(const char *s, size_t len, char *out)
{
	char		 buf[CLIENT_ADDR_MAX];
	struct in6_addr	 a6;
	struct in_addr	 a4;

	while (len > 0 && is_blank(s[0])) {
		s++;
		len--;
	}
	while (len > 0 && is_blank(s[len - 1]))
		len--;
	if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
		s++;
		len -= 2;
	}
	if (len == 0 || len >= sizeof(buf) || memchr(s, '\0', len) != NULL)
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, &a4) == 1)
		return inet_ntop(AF_INET, &a4, out, CLIENT_ADDR_MAX) != NULL;
	if (inet_pton(AF_INET6, buf, &a6) != 1)
		return false;
	if (IN6_IS_ADDR_V4MAPPED(&a6)) {
		memcpy(&a4, &a6.s6_addr[12], 4);
		return inet_ntop(AF_INET, &a4, out, CLIENT_ADDR_MAX) != NULL;
	}
	return inet_ntop(AF_INET6, &a6, out, CLIENT_ADDR_MAX) != NULL;
}

bool
client_addr_trusted(const char *addr, const struct cidr *proxies,
    size_t n_proxies)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	size_t			 i;

	if (n_proxies == 0)
		return false;
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1)
		sin->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1)
		sin6->sin6_family = AF_INET6;
	else
		return false;
	for (i = 0; i < n_proxies; i++)
		if (cidr_contains(&proxies[i], (struct sockaddr *)&ss))
			return true;
	return false;
}

void
client_addr_prefix(const char *addr, int v6_bits, char *out, size_t outlen)
{
	struct in6_addr	 a6;
	struct in_addr	 a4;
	char		 buf[CLIENT_ADDR_MAX];
	int		 i, bits;

	if (outlen == 0)
		return;
	if (strchr(addr, ':') == NULL || inet_pton(AF_INET6, addr, &a6) != 1) {
		/* IPv4 (canonical already), or no address at all. */
		snprintf(out, outlen, "%s", addr);
		return;
	}
	if (IN6_IS_ADDR_V4MAPPED(&a6)) {
		memcpy(&a4, &a6.s6_addr[12], 4);
		if (inet_ntop(AF_INET, &a4, buf, sizeof(buf)) == NULL)
			buf[0] = '\0';
		snprintf(out, outlen, "%s", buf);
		return;
	}
	bits = v6_bits < 0 ? 0 : v6_bits > 128 ? 128 : v6_bits;
	for (i = 0; i < 16; i++) {
		if (bits >= 8 * (i + 1))
			continue;
		a6.s6_addr[i] &= bits <= 8 * i ? 0 :
		    (uint8_t)(0xff00u >> (bits - 8 * i));
	}
	if (inet_ntop(AF_INET6, &a6, buf, sizeof(buf)) == NULL)
		buf[0] = '\0';
	snprintf(out, outlen, "%s/%d", buf, bits);
}

void
client_address_from_xff(const char *peer, const char *const *xff,
    size_t n_xff, const struct cidr *proxies, size_t n_proxies, char *out,
    size_t outlen)
{
	/*
	 * The peer's canonical form, kept for the next call on this thread:
	 * on a kept-alive connection every request has the same peer, and
	 * parsing and formatting it was the larger part of this function.
	 */
	static _Thread_local char	 last_peer[CLIENT_ADDR_PREFIX_MAX];
	static _Thread_local char	 last_cur[CLIENT_ADDR_MAX];
	static _Thread_local bool	 last_ok;
	char		 cur[CLIENT_ADDR_MAX];
	const char	*s, *start;
	size_t		 h, end, plen;

	if (outlen == 0)
		return;
	plen = strlen(peer);
	if (plen < sizeof(last_peer) && last_peer[0] != '\0' &&
	    strcmp(peer, last_peer) == 0) {
		if (!last_ok) {
			copy_out(out, outlen, peer);
			return;
		}
		memcpy(cur, last_cur, sizeof(cur));
	} else {
		bool	 ok = client_addr_canonical(peer, plen, cur);

		/* Only a kept peer's verdict is kept: a peer too long to
		   keep must not change the answer for the one kept. */
		if (plen < sizeof(last_peer)) {
			memcpy(last_peer, peer, plen + 1);
			memcpy(last_cur, cur, sizeof(cur));
			last_ok = ok;
		}
		if (!ok) {
			copy_out(out, outlen, peer);
			return;
		}
	}
	if (client_addr_trusted(cur, proxies, n_proxies)) {
		for (h = n_xff; h-- > 0; ) {
			s = xff[h] != NULL ? xff[h] : "";
			end = strlen(s);
			for (;;) {
				/* The entry s[start .. end), right to left. */
				start = s + end;
				while (start > s && start[-1] != ',')
					start--;
				if (!client_addr_canonical(start,
				    (size_t)(s + end - start), cur))
					goto done;	/* malformed: stop */
				if (!client_addr_trusted(cur, proxies,
				    n_proxies))
					goto done;
				if (start == s)
					break;
				end = (size_t)(start - s) - 1;
			}
		}
	}
done:
	copy_out(out, outlen, cur);
}
