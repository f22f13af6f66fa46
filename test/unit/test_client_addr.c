/*
 * test_client_addr: the source address of a request from its peer and
 * X-Forwarded-For (client_addr.h): canonical text, the walk from the
 * right over trusted proxies only, malformed entries and several headers;
 * and the prefix the brute-force limit counts an address under.
 */
#include <string.h>

#include "cidr.h"
#include "client_addr.h"
#include "util.h"
#include "test.h"

static struct cidr	 proxies[3];
static size_t		 n_proxies;

static void
set_proxies(const char *const *list, size_t n)
{
	char	 err[128];
	size_t	 i;

	n_proxies = 0;
	for (i = 0; i < n; i++)
		if (cidr_parse(list[i], &proxies[n_proxies++], err,
		    sizeof(err)) != 0)
			n_proxies--;
}

/* The source of peer with one X-Forwarded-For header (or none: NULL). */
static const char *
source(const char *peer, const char *xff)
{
	static char	 out[64];
	const char	*v[1] = { xff };

	client_address_from_xff(peer, v, xff != NULL ? 1 : 0, proxies,
	    n_proxies, out, sizeof(out));
	return out;
}

static void
test_canonical(void)
{
	char	 out[CLIENT_ADDR_MAX];

	TEST_ASSERT(client_addr_canonical("10.1.2.3", 8, out));
	TEST_ASSERT(strcmp(out, "10.1.2.3") == 0);
	TEST_ASSERT(client_addr_canonical("  10.1.2.3\t", 11, out));
	TEST_ASSERT(strcmp(out, "10.1.2.3") == 0);
	TEST_ASSERT(client_addr_canonical("2001:DB8:0:0::1", 15, out));
	TEST_ASSERT(strcmp(out, "2001:db8::1") == 0);
	TEST_ASSERT(client_addr_canonical("[2001:db8::1]", 13, out));
	TEST_ASSERT(strcmp(out, "2001:db8::1") == 0);
	TEST_ASSERT(client_addr_canonical("::ffff:192.0.2.7", 16, out));
	TEST_ASSERT(strcmp(out, "192.0.2.7") == 0);
	strcpy(out, "unchanged");
	TEST_ASSERT(!client_addr_canonical("", 0, out));
	TEST_ASSERT(!client_addr_canonical("   ", 3, out));
	TEST_ASSERT(!client_addr_canonical("unknown", 7, out));
	TEST_ASSERT(!client_addr_canonical("10.1.2.3:80", 11, out));
	TEST_ASSERT(!client_addr_canonical("10.1.2", 6, out));
	TEST_ASSERT(!client_addr_canonical("10.1.2.3 10.1.2.4", 17, out));
	TEST_ASSERT(!client_addr_canonical("[10.1.2.3", 9, out));
	TEST_ASSERT(!client_addr_canonical("10.1.2.3\0", 9, out));
	TEST_ASSERT(!client_addr_canonical(
	    "0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0001", 54,
	    out));
	TEST_ASSERT(strcmp(out, "unchanged") == 0);
}

static void
test_no_proxies(void)
{
	set_proxies(NULL, 0);
	/* Without --trusted-proxies X-Forwarded-For is never believed. */
	TEST_ASSERT(strcmp(source("127.0.0.1", "10.1.1.1"), "127.0.0.1") ==
	    0);
	TEST_ASSERT(strcmp(source("127.0.0.1", NULL), "127.0.0.1") == 0);
	TEST_ASSERT(strcmp(source("::ffff:127.0.0.1", NULL), "127.0.0.1") ==
	    0);
	/* A peer that does not parse is kept as it is. */
	TEST_ASSERT(strcmp(source("-", "10.1.1.1"), "-") == 0);
}

static void
test_untrusted_peer(void)
{
	static const char *const list[] = { "127.0.0.1/32", "10.0.0.0/8" };

	set_proxies(list, nitems(list));
	TEST_ASSERT(n_proxies == 2);
	TEST_ASSERT(strcmp(source("192.0.2.1", "10.1.1.1"), "192.0.2.1") ==
	    0);
	TEST_ASSERT(strcmp(source("2001:db8::9", "10.1.1.1"),
	    "2001:db8::9") == 0);
}

static void
test_walk(void)
{
	static const char *const list[] = { "127.0.0.1/32", "10.0.0.0/8",
	    "fd00::/8" };

	set_proxies(list, nitems(list));
	TEST_ASSERT(n_proxies == 3);
	/* No header: the peer, even a trusted one. */
	TEST_ASSERT(strcmp(source("127.0.0.1", NULL), "127.0.0.1") == 0);
	TEST_ASSERT(strcmp(source("127.0.0.1", "192.0.2.1"), "192.0.2.1") ==
	    0);
	TEST_ASSERT(strcmp(source("::ffff:127.0.0.1", "192.0.2.1"),
	    "192.0.2.1") == 0);
	/* The rightmost untrusted hop wins: what the client wrote further
	   left is not believed. */
	TEST_ASSERT(strcmp(source("127.0.0.1", "1.1.1.1, 192.0.2.1"),
	    "192.0.2.1") == 0);
	TEST_ASSERT(strcmp(source("127.0.0.1", "1.1.1.1,192.0.2.1, 10.0.0.5"),
	    "192.0.2.1") == 0);
	TEST_ASSERT(strcmp(source("127.0.0.1",
	    "1.1.1.1, 2001:db8::1, fd00::1 , 10.9.9.9"), "2001:db8::1") == 0);
	TEST_ASSERT(strcmp(source("127.0.0.1", "[2001:DB8::2]"),
	    "2001:db8::2") == 0);
	/* Every hop trusted: the leftmost. */
	TEST_ASSERT(strcmp(source("127.0.0.1", "10.1.1.1, 10.2.2.2"),
	    "10.1.1.1") == 0);
	/* A malformed entry stops the walk at the last good hop. */
	TEST_ASSERT(strcmp(source("127.0.0.1", "192.0.2.1, bogus"),
	    "127.0.0.1") == 0);
	TEST_ASSERT(strcmp(source("127.0.0.1", "1.1.1.1, bogus, 10.3.3.3"),
	    "10.3.3.3") == 0);
	TEST_ASSERT(strcmp(source("127.0.0.1", "192.0.2.1,, 10.3.3.3"),
	    "10.3.3.3") == 0);
	TEST_ASSERT(strcmp(source("127.0.0.1", ""), "127.0.0.1") == 0);
	TEST_ASSERT(strcmp(source("127.0.0.1", "10.3.3.3,"), "127.0.0.1") ==
	    0);
	TEST_ASSERT(strcmp(source("127.0.0.1", "192.0.2.1:4711"),
	    "127.0.0.1") == 0);
	TEST_ASSERT(strcmp(source("127.0.0.1",
	    "192.0.2.1, 10.3.3.3, unknown"), "127.0.0.1") == 0);
}

static void
test_several_headers(void)
{
	static const char *const list[] = { "127.0.0.1/32", "10.0.0.0/8" };
	const char	*v[3] = { "1.1.1.1, 192.0.2.1", "10.4.4.4", "10.5.5.5" };
	char		 out[64];

	set_proxies(list, nitems(list));
	/* One list: the last header holds the rightmost hops. */
	client_address_from_xff("127.0.0.1", v, 3, proxies, n_proxies, out,
	    sizeof(out));
	TEST_ASSERT(strcmp(out, "192.0.2.1") == 0);
	v[1] = "198.51.100.1";
	client_address_from_xff("127.0.0.1", v, 3, proxies, n_proxies, out,
	    sizeof(out));
	TEST_ASSERT(strcmp(out, "198.51.100.1") == 0);
	v[1] = "junk";
	client_address_from_xff("127.0.0.1", v, 3, proxies, n_proxies, out,
	    sizeof(out));
	TEST_ASSERT(strcmp(out, "10.5.5.5") == 0);
	/* A short output buffer truncates, NUL-terminated. */
	client_address_from_xff("127.0.0.1", v, 3, proxies, n_proxies, out,
	    4);
	TEST_ASSERT(strcmp(out, "10.") == 0);
}

static const char *
prefix(const char *addr, int bits)
{
	static char	 out[CLIENT_ADDR_PREFIX_MAX];

	client_addr_prefix(addr, bits, out, sizeof(out));
	return out;
}

static void
test_prefix(void)
{
	char	 small[8];

	/* IPv4: the address itself, whatever the IPv6 prefix length. */
	TEST_ASSERT(strcmp(prefix("10.1.2.3", 64), "10.1.2.3") == 0);
	TEST_ASSERT(strcmp(prefix("10.1.2.3", 128), "10.1.2.3") == 0);
	/* IPv4-mapped IPv6 counts as IPv4. */
	TEST_ASSERT(strcmp(prefix("::ffff:10.1.2.3", 64), "10.1.2.3") == 0);
	/* IPv6: the network, canonical, with its length. */
	TEST_ASSERT(strcmp(prefix("2001:db8:1:2:a:b:c:d", 64),
	    "2001:db8:1:2::/64") == 0);
	TEST_ASSERT(strcmp(prefix("2001:db8:1:2::1", 64),
	    "2001:db8:1:2::/64") == 0);
	TEST_ASSERT(strcmp(prefix("2001:db8:1:2:ffff:ffff:ffff:ffff", 64),
	    "2001:db8:1:2::/64") == 0);
	TEST_ASSERT(strcmp(prefix("2001:db8:1:3::1", 64),
	    "2001:db8:1:3::/64") == 0);
	TEST_ASSERT(strcmp(prefix("2001:db8:1:2:a:b:c:d", 128),
	    "2001:db8:1:2:a:b:c:d/128") == 0);
	TEST_ASSERT(strcmp(prefix("2001:db8:1:2:a:b:c:d", 48),
	    "2001:db8:1::/48") == 0);
	TEST_ASSERT(strcmp(prefix("2001:db8:1:2:a:b:c:d", 32),
	    "2001:db8::/32") == 0);
	/* Lengths that are not a multiple of 8 or 16. */
	TEST_ASSERT(strcmp(prefix("2001:db8:1:ffff::1", 56),
	    "2001:db8:1:ff00::/56") == 0);
	TEST_ASSERT(strcmp(prefix("2001:db8:1:ffff::1", 61),
	    "2001:db8:1:fff8::/61") == 0);
	TEST_ASSERT(strcmp(prefix("2001:db8:1:ffff::1", 63),
	    "2001:db8:1:fffe::/63") == 0);
	TEST_ASSERT(strcmp(prefix("2001:db8:1:2:8000::", 65),
	    "2001:db8:1:2:8000::/65") == 0);
	TEST_ASSERT(strcmp(prefix("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	    127), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127") == 0);
	TEST_ASSERT(strlen(prefix("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	    128)) == 43 && 43 < CLIENT_ADDR_PREFIX_MAX);
	TEST_ASSERT(strcmp(prefix("::1", 64), "::/64") == 0);
	TEST_ASSERT(strcmp(prefix("::1", 128), "::1/128") == 0);
	TEST_ASSERT(strcmp(prefix("2001:db8::1", 0), "::/0") == 0);
	/* Out of range lengths are clamped. */
	TEST_ASSERT(strcmp(prefix("2001:db8::1", 200), "2001:db8::1/128") ==
	    0);
	TEST_ASSERT(strcmp(prefix("2001:db8::1", -3), "::/0") == 0);
	/* No address (a peer that did not parse): as it is. */
	TEST_ASSERT(strcmp(prefix("unix:/run/x", 64), "unix:/run/x") == 0);
	TEST_ASSERT(strcmp(prefix("", 64), "") == 0);
	/* Truncated, NUL-terminated. */
	client_addr_prefix("2001:db8:1:2::1", 64, small, sizeof(small));
	TEST_ASSERT(strcmp(small, "2001:db") == 0);
}

/* The peer kept from the call before never changes an answer: the same
   peer twice, peers alternating, one that does not parse between two
   that do, with and without trusted proxies. */
static void
test_peer_kept(void)
{
	static const char	*peers[] = { "127.0.0.1", "::ffff:10.0.0.1",
	    "not-an-address", "2001:db8::0001", "127.0.0.1", "not-an-address",
	    "10.1.2.3", "10.1.2.3", "-", "2001:DB8::1" };
	static const char	*want[] = { "127.0.0.1", "10.0.0.1",
	    "not-an-address", "2001:db8::1", "127.0.0.1", "not-an-address",
	    "10.1.2.3", "198.51.100.7", "-", "2001:db8::1" };
	const char		*trusted[] = { "10.1.2.3/32" };
	size_t			 i;

	for (i = 0; i < sizeof(peers) / sizeof(peers[0]); i++) {
		set_proxies(i == 7 ? trusted : NULL, i == 7 ? 1 : 0);
		TEST_ASSERT(strcmp(source(peers[i], i == 7 ?
		    "198.51.100.7" : NULL), want[i]) == 0);
	}
}

/* A peer too long to be kept (a link-local IPv6 peer with a long
   interface name, as getnameinfo() writes it) leaves the kept peer's
   verdict alone: the trusted proxy's next request is still walked. */
static void
test_peer_long_between(void)
{
	const char	*trusted[] = { "10.1.2.3/32" };
	const char	*longpeer =
	    "fe80:1234:5678:9abc:def0:1234:5678:9abc%enx001122334455";

	TEST_ASSERT(strlen(longpeer) >= CLIENT_ADDR_PREFIX_MAX);
	set_proxies(trusted, 1);
	TEST_ASSERT(strcmp(source("10.1.2.3", "198.51.100.7"),
	    "198.51.100.7") == 0);
	TEST_ASSERT(strcmp(source(longpeer, "198.51.100.9"), longpeer) == 0);
	TEST_ASSERT(strcmp(source("10.1.2.3", "198.51.100.7"),
	    "198.51.100.7") == 0);
	TEST_ASSERT(strcmp(source("10.1.2.3", "198.51.100.8"),
	    "198.51.100.8") == 0);
}

int
main(void)
{
	test_run(test_canonical);
	test_run(test_no_proxies);
	test_run(test_untrusted_peer);
	test_run(test_walk);
	test_run(test_several_headers);
	test_run(test_prefix);
	test_run(test_peer_kept);
	test_run(test_peer_long_between);
	return test_summary();
}
