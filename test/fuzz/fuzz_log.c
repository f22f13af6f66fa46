/*
 * fuzz_log: log_format_line() with any bytes as a value, in both formats.
 * Oracles: the line is printable ASCII ending in its only newline, fits
 * the buffer, has exactly the keys given (plus truncated=1 when cut), and
 * its value unescapes back to the input (or a prefix of it when cut).
 *
 * The first byte picks the buffer size (128 .. LOG_LINE_MAX) and whether
 * the value is marked numeric; the rest is the value.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	abort();
}

/*
 * Check the line after the fixed prefix: the value of "v", then either
 * the end or the truncation mark. Returns through abort() on any error.
 */
static void
check_value(const char *p, const char *end, int json, const uint8_t *v,
    size_t vlen, int num)
{
	size_t	 o = 0;
	int	 cut;

	if (*p != '"') {
		/* Bare: kv strings without specials, or a number. */
		const char	*s = p;

		while (p < end && *p != ' ' && *p != '\n' &&
		    !(json && (*p == ',' || *p == '}')))
			p++;
		if ((size_t)(p - s) != vlen || memcmp(s, v, vlen) != 0)
			abort();
		if (json && !num)
			abort();
		o = vlen;
	} else {
		for (p++; p < end && *p != '"'; p++) {
			int	 c = (unsigned char)*p;

			if (c == '\\') {
				p++;
				if (*p == '"' || *p == '\\')
					c = *p;
				else if (!json && *p == 'x') {
					c = hexval(p[1]) << 4 | hexval(p[2]);
					p += 2;
				} else if (json && *p == 'u' && p[1] == '0' &&
				    p[2] == '0') {
					c = hexval(p[3]) << 4 | hexval(p[4]);
					p += 4;
				} else
					abort();
			}
			if (o >= vlen || v[o] != c)
				abort();
			o++;
		}
		if (p >= end)
			abort();
		p++;
	}
	cut = o < vlen;
	if (json) {
		if (cut ? strncmp(p, ",\"truncated\":1}\n", 16) != 0 :
		    strncmp(p, "}\n", 2) != 0)
			abort();
	} else {
		if (cut ? strncmp(p, " truncated=1\n", 13) != 0 :
		    strncmp(p, "\n", 1) != 0)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char	 ts[] = "2026-11-29T17:03:04.123Z";
	char			 buf[LOG_LINE_MAX], prefix[128];
	struct log_field	 f[2];
	size_t			 bufsz, n, i, plen;
	int			 json, num;

	if (size == 0)
		return 0;
	bufsz = 128 + (size_t)data[0] * (LOG_LINE_MAX - 128) / 255;
	num = data[0] & 1;
	f[0].key = "event";
	f[0].val = "fuzz";
	f[0].len = 4;
	f[0].num = false;
	f[1].key = "v";
	f[1].val = (const char *)data + 1;
	f[1].len = size - 1;
	f[1].num = num;
	for (json = 0; json < 2; json++) {
		n = log_format_line(buf, bufsz, json ? LOG_FORMAT_JSON :
		    LOG_FORMAT_KV, ts, "info", f, 2);
		if (n == 0 || n > bufsz || buf[n - 1] != '\n')
			abort();
		for (i = 0; i + 1 < n; i++)
			if (buf[i] < 0x20 || buf[i] > 0x7e)
				abort();
		if (json)
			plen = (size_t)snprintf(prefix, sizeof(prefix),
			    "{\"ts\":\"%s\",\"level\":\"info\","
			    "\"event\":\"fuzz\",\"v\":", ts);
		else
			plen = (size_t)snprintf(prefix, sizeof(prefix),
			    "ts=%s level=info event=fuzz v=", ts);
		if (n < plen || memcmp(buf, prefix, plen) != 0) {
			/* Only a value that did not fit at all is left out. */
			const char	*mark = json ?
			    ",\"truncated\":1}\n" : " truncated=1\n";
			size_t		 ml = strlen(mark);

			if (n < ml || memcmp(buf + n - ml, mark, ml) != 0)
				abort();
			continue;
		}
		check_value(buf + plen, buf + n, json, data + 1, size - 1,
		    num);
	}
	return 0;
}
