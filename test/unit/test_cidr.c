/*
 * test_cidr: --trusted-proxies networks (cidr.h): parsing, host bits
 * cleared, prefix bounds, and matching IPv4, IPv6 and IPv4-mapped IPv6
 * addresses across families.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"
#include "test.h"

static void
test_cidr_parse(void)
{
	struct cidr	 c;
	char		 err[128];

	TEST_ASSERT(cidr_parse("192.168.7.9/20", &c, err,
	    sizeof(err)) == 0);
	TEST_ASSERT(c.family == AF_INET && c.prefix == 20);
	/* host bits are masked off */
	TEST_ASSERT(c.addr[0] == 192 && c.addr[1] == 168 && c.addr[2] == 0);
	TEST_ASSERT(c.addr[3] == 0);
	TEST_ASSERT(cidr_parse("2001:db8:ffff::1/33", &c, err,
	    sizeof(err)) == 0);
	TEST_ASSERT(c.family == AF_INET6 && c.prefix == 33);
	TEST_ASSERT(c.addr[4] == 0x80 && c.addr[5] == 0 && c.addr[15] == 0);
	TEST_ASSERT(cidr_parse("10.0.0.1", &c, err, sizeof(err)) == 0);
	TEST_ASSERT(c.prefix == 32 && c.addr[3] == 1);
	TEST_ASSERT(cidr_parse("::1", &c, err, sizeof(err)) == 0);
	TEST_ASSERT(c.prefix == 128 && c.addr[15] == 1);
	TEST_ASSERT(cidr_parse("10.0.0.0/33", &c, err,
	    sizeof(err)) == -1);
	TEST_ASSERT(strcmp(err, "prefix length out of range (0..32)") == 0);
	TEST_ASSERT(cidr_parse("::/1000", &c, err, sizeof(err)) == -1);
	TEST_ASSERT(cidr_parse("/8", &c, err, sizeof(err)) == -1);
	TEST_ASSERT(cidr_parse("10.0.0.0/ 8", &c, err,
	    sizeof(err)) == -1);
	TEST_ASSERT(cidr_parse("10.0.0/8", &c, err, sizeof(err)) == -1);
}

static void
sa4(struct sockaddr_storage *ss, const char *a)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	sin->sin_family = AF_INET;
	if (inet_pton(AF_INET, a, &sin->sin_addr) != 1)
		abort();
}

static void
sa6(struct sockaddr_storage *ss, const char *a)
{
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	sin6->sin6_family = AF_INET6;
	if (inet_pton(AF_INET6, a, &sin6->sin6_addr) != 1)
		abort();
}

static bool
contains(const char *cidr, bool v6, const char *addr)
{
	struct cidr		 c;
	struct sockaddr_storage	 ss;
	char			 err[128];

	if (cidr_parse(cidr, &c, err, sizeof(err)) == -1)
		abort();
	if (v6)
		sa6(&ss, addr);
	else
		sa4(&ss, addr);
	return cidr_contains(&c, (struct sockaddr *)&ss);
}

static void
test_cidr_contains(void)
{
	struct cidr		 c;
	struct sockaddr_storage	 ss;
	char			 err[128];

	TEST_ASSERT(contains("10.0.0.0/8", false, "10.255.1.2"));
	TEST_ASSERT(!contains("10.0.0.0/8", false, "11.0.0.1"));
	TEST_ASSERT(contains("192.168.1.0/25", false, "192.168.1.127"));
	TEST_ASSERT(!contains("192.168.1.0/25", false, "192.168.1.128"));
	TEST_ASSERT(contains("10.0.0.5", false, "10.0.0.5"));
	TEST_ASSERT(!contains("10.0.0.5", false, "10.0.0.4"));
	TEST_ASSERT(contains("0.0.0.0/0", false, "203.0.113.9"));
	TEST_ASSERT(contains("2001:db8::/32", true, "2001:db8:1::9"));
	TEST_ASSERT(!contains("2001:db8::/32", true, "2001:db9::1"));
	TEST_ASSERT(contains("fd00::/7", true, "fdff::1"));
	TEST_ASSERT(!contains("fd00::/8", true, "fe00::1"));
	TEST_ASSERT(contains("::1", true, "::1"));
	TEST_ASSERT(contains("::/0", true, "2001:db8::1"));
	/* families never mix, except through v4-mapped addresses */
	TEST_ASSERT(!contains("::/0", false, "10.0.0.1"));
	TEST_ASSERT(!contains("::/0", true, "::ffff:10.0.0.1"));
	TEST_ASSERT(contains("0.0.0.0/0", true, "::ffff:10.0.0.1"));
	TEST_ASSERT(!contains("0.0.0.0/0", true, "2001:db8::1"));
	TEST_ASSERT(contains("10.0.0.0/8", true, "::ffff:10.1.2.3"));
	TEST_ASSERT(!contains("10.0.0.0/8", true, "::ffff:11.1.2.3"));
	TEST_ASSERT(contains("127.0.0.1", true, "::ffff:127.0.0.1"));
	TEST_ASSERT(!contains("0.0.0.0/0", true, "::10.1.2.3"));
	TEST_ASSERT(contains("::ffff:10.0.0.0/104", false, "10.9.9.9"));
	TEST_ASSERT(!contains("::ffff:10.0.0.0/104", false, "11.9.9.9"));
	TEST_ASSERT(contains("::ffff:10.0.0.0/104", true, "::ffff:10.9.9.9"));

	TEST_ASSERT(cidr_parse("10.0.0.0/8", &c, err,
	    sizeof(err)) == 0);
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNIX;
	TEST_ASSERT(!cidr_contains(&c, (struct sockaddr *)&ss));
	TEST_ASSERT(!cidr_contains(&c, NULL));
}

int
main(void)
{
	test_run(test_cidr_parse);
	test_run(test_cidr_contains);
	return test_summary();
}
