/*
 * fuzz_framing: the message framing checks (framing.h) on outside input,
 * against oracles that do not share their code.
 *
 * The first byte picks the check and a split point; the rest is the
 * input.
 *   - Even first byte: a head. The rest is cut into field lines at LF,
 *     each into a name (before the first ':') and a value (without its
 *     leading SP and trailing whitespace, as evhttp keeps it), and
 *     checked as HTTP/1.1 with content read. An accepted head has at
 *     most one Content-Length or one Transfer-Encoding, never both; a
 *     length that evhttp's own reading (strtoll base 10) gives alike; a
 *     chunked flag only with one "chunked".
 *   - Odd first byte: a chunked body. It is fed whole, octet by octet
 *     and in two pieces cut where the first byte says: the three must
 *     agree on the verdict, the octets used and what was rewritten. Only
 *     an octet right after a chunk size's digits may be rewritten, and
 *     only from ";" or HTAB to SP. A reference parser written here, on
 *     the whole input, must agree wherever it can decide (a fault, or
 *     the body's end). An accepted body, as rewritten, must be read by
 *     evhttp's algorithm (lines by LF, strtoll base 16, "digits SP
 *     anything") into the same chunks, ending at the same octet.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "framing.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* ---- heads ---- */

static void
fuzz_head(const char *data, size_t size)
{
	struct framing_head	 h;
	enum framing_verdict	 v;
	char			*copy, *line, *next, *colon, *val, *end;
	const char		*clval = NULL;
	unsigned		 n_cl = 0, n_te = 0;
	bool			 te_chunked = false;

	if ((copy = malloc(size + 1)) == NULL)
		return;
	memcpy(copy, data, size);
	copy[size] = '\0';
	framing_head_init(&h);
	for (line = copy; line != NULL; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if ((colon = strchr(line, ':')) == NULL)
			continue;
		*colon = '\0';
		val = colon + 1;
		val += strspn(val, " ");
		end = val + strlen(val);
		while (end > val && (end[-1] == ' ' || end[-1] == '\t' ||
		    end[-1] == '\r'))
			*--end = '\0';
		framing_head_field(&h, line, val);
		if (strcasecmp(line, "Content-Length") == 0) {
			n_cl++;
			clval = val;
		} else if (strcasecmp(line, "Transfer-Encoding") == 0) {
			n_te++;
			te_chunked = strcasecmp(val, "chunked") == 0;
		}
	}
	v = framing_head_finish(&h, 1, 1, true);
	if (v > FRAMING_UNCHECKED || framing_verdict_name(v) == NULL)
		abort();
	if (v == FRAMING_OK) {
		if (n_cl > 1 || n_te > 1 || (n_cl > 0 && n_te > 0))
			abort();
		if (h.chunked != (n_te == 1) || (h.chunked && !te_chunked))
			abort();
		if (n_cl == 1) {
			char		*e;
			long long	 ll = strtoll(clval, &e, 10);

			if (*clval == '\0' || *e != '\0' || ll < 0 ||
			    (uint64_t)ll != h.length)
				abort();
		} else if (h.length != 0) {
			abort();
		}
	}
	free(copy);
}

/* ---- chunked bodies ---- */

static bool
tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z') || (c != 0 && strchr("!#$%&'*+-.^_`|~",
	    c) != NULL);
}

static int
hex(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static size_t
skip_bws(const unsigned char *p, size_t i, size_t e)
{
	while (i < e && (p[i] == ' ' || p[i] == '\t'))
		i++;
	return i;
}

/* chunk-ext on p[i..e) (e: the line's CR), whole. */
static bool
ext_valid(const unsigned char *p, size_t i, size_t e)
{
	while (i < e) {
		i = skip_bws(p, i, e);
		if (i == e || p[i++] != ';')
			return false;
		i = skip_bws(p, i, e);
		if (i == e || !tchar(p[i]))
			return false;
		while (i < e && tchar(p[i]))
			i++;
		if (i == e)
			return true;
		{
			size_t	 j = skip_bws(p, i, e);

			if (j < e && p[j] == '=') {
				i = skip_bws(p, j + 1, e);
				if (i == e)
					return false;
				if (p[i] == '"') {
					for (i++; i < e && p[i] != '"'; i++) {
						if (p[i] == '\\')
							i++;
						else if (p[i] < 0x20 ?
						    p[i] != '\t' :
						    p[i] == 0x7f)
							return false;
					}
					if (i >= e)
						return false;
					i++;
				} else {
					if (!tchar(p[i]))
						return false;
					while (i < e && tchar(p[i]))
						i++;
				}
			} else if (j == e) {
				return false;	/* BWS at the end */
			}
		}
	}
	return true;
}

/* The quoted-pair's second octet: the loop above skipped it unchecked. */
static bool
quoted_pairs_valid(const unsigned char *p, size_t i, size_t e)
{
	bool	 inq = false;

	for (; i < e; i++) {
		if (!inq) {
			if (p[i] == '"')
				inq = true;
			continue;
		}
		if (p[i] == '"')
			inq = false;
		else if (p[i] == '\\' && i + 1 < e) {
			i++;
			if (p[i] < 0x20 ? p[i] != '\t' : p[i] == 0x7f)
				return false;
		}
	}
	return true;
}

enum { REF_INVALID = -1, REF_INCOMPLETE = -2 };

/*
 * The reference: the end offset of the chunked body at the start of p,
 * REF_INVALID, or REF_INCOMPLETE when p ends before it could say.
 */
static long
reference(const unsigned char *p, size_t n)
{
	size_t		 i = 0, ext = 0, digits, start, cr;
	uint64_t	 size;
	int		 d;

	for (;;) {
		size = 0;
		digits = 0;
		while (i < n && (d = hex(p[i])) >= 0) {
			if (++digits > FRAMING_SIZE_DIGITS_MAX ||
			    size > ((uint64_t)INT64_MAX - (unsigned)d) / 16)
				return REF_INVALID;
			size = size * 16 + (unsigned)d;
			i++;
		}
		if (i == n)
			return REF_INCOMPLETE;
		if (digits == 0)
			return REF_INVALID;
		start = i;
		for (cr = i; cr < n && p[cr] != '\r' && p[cr] != '\n'; cr++)
			continue;
		if (cr == n)
			return REF_INCOMPLETE;
		if (p[cr] == '\n')
			return REF_INVALID;
		ext += cr - start;
		if (ext > FRAMING_EXT_MAX || !ext_valid(p, start, cr) ||
		    !quoted_pairs_valid(p, start, cr))
			return REF_INVALID;
		if (cr + 1 == n)
			return REF_INCOMPLETE;
		if (p[cr + 1] != '\n')
			return REF_INVALID;
		i = cr + 2;
		if (size == 0)
			break;
		if ((uint64_t)(n - i) < size)
			return REF_INCOMPLETE;
		i += (size_t)size;
		if (i == n)
			return REF_INCOMPLETE;
		if (p[i] != '\r')
			return REF_INVALID;
		if (i + 1 == n)
			return REF_INCOMPLETE;
		if (p[i + 1] != '\n')
			return REF_INVALID;
		i += 2;
	}
	if (i == n)
		return REF_INCOMPLETE;
	if (p[i] != '\r')
		return REF_INVALID;
	if (i + 1 == n)
		return REF_INCOMPLETE;
	return p[i + 1] == '\n' ? (long)(i + 2) : REF_INVALID;
}

/*
 * evhttp 2.1's reading of a chunked body (evhttp_handle_chunked_read and
 * the trailer's header parse): must end at `end`, with the reference's
 * chunk sizes.
 */
static void
evhttp_reads(const char *p, size_t end, const unsigned char *orig)
{
	size_t	 i = 0, j, total = 0, ref_total = 0;
	char	 line[FRAMING_SIZE_DIGITS_MAX + FRAMING_EXT_MAX + 8];

	for (;;) {
		for (j = i; j < end && p[j] != '\n'; j++)
			continue;
		if (j == end || j - i >= sizeof(line))
			abort();
		memcpy(line, p + i, j - i);
		line[j - i] = '\0';
		if (j > i && line[j - i - 1] == '\r')
			line[j - i - 1] = '\0';
		i = j + 1;
		if (line[0] == '\0')
			continue;	/* the CRLF after chunk data */
		{
			char		*e;
			long long	 n = strtoll(line, &e, 16);

			if ((*e != '\0' && *e != ' ') || n < 0)
				abort();
			if (n == 0)
				break;
			if ((uint64_t)n > end - i)
				abort();
			total += (size_t)n;
			i += (size_t)n;
		}
	}
	/* The trailer section: one empty line, then the end. */
	if (i + 2 != end || p[i] != '\r' || p[i + 1] != '\n')
		abort();
	/* The same data octets, by the reference on the original. */
	for (i = 0;;) {
		uint64_t	 size = 0;
		int		 d;

		while ((d = hex(orig[i])) >= 0) {
			size = size * 16 + (unsigned)d;
			i++;
		}
		while (orig[i] != '\n')
			i++;
		i++;
		if (size == 0)
			break;
		ref_total += (size_t)size;
		i += (size_t)size + 2;
	}
	if (ref_total != total)
		abort();
}

static void
fuzz_chunks(unsigned cutbyte, const uint8_t *data, size_t size)
{
	struct framing_chunks	 c;
	enum framing_verdict	 v[3];
	size_t			 used[3], u, i, k, cut;
	char			*buf[3];
	long			 ref;
	bool			 done0 = false;

	cut = size > 0 ? (cutbyte * 131u) % (size + 1) : 0;
	for (k = 0; k < 3; k++) {
		if ((buf[k] = malloc(size + 1)) == NULL)
			abort();
		memcpy(buf[k], data, size);
		framing_chunks_init(&c);
		used[k] = 0;
		v[k] = FRAMING_OK;
		if (k == 0) {
			v[k] = framing_chunks_feed(&c, buf[k], size, &used[k]);
		} else if (k == 1) {
			for (i = 0; i < size && v[k] == FRAMING_OK &&
			    !framing_chunks_done(&c); i++) {
				v[k] = framing_chunks_feed(&c, buf[k] + i, 1,
				    &u);
				used[k] += u;
			}
		} else {
			v[k] = framing_chunks_feed(&c, buf[k], cut, &used[k]);
			if (v[k] == FRAMING_OK && !framing_chunks_done(&c)) {
				v[k] = framing_chunks_feed(&c, buf[k] + cut,
				    size - cut, &u);
				used[k] += u;
			}
		}
		if (v[k] != FRAMING_OK && (v[k] < FRAMING_CHUNK_SIZE ||
		    v[k] > FRAMING_TRAILER))
			abort();
		if (v[k] == FRAMING_OK && used[k] < size &&
		    !framing_chunks_done(&c))
			abort();
		if (k == 0)
			done0 = v[k] == FRAMING_OK && framing_chunks_done(&c);
	}
	if (v[1] != v[0] || v[2] != v[0] ||
	    (v[0] == FRAMING_OK && (used[1] != used[0] ||
	    used[2] != used[0])))
		abort();
	/* Rewrites: the same in all three; only ';' or HTAB -> SP. */
	for (i = 0; i < size; i++) {
		if (buf[1][i] != buf[0][i] || buf[2][i] != buf[0][i])
			abort();
		if (buf[0][i] != (char)data[i] && (buf[0][i] != ' ' ||
		    (data[i] != ';' && data[i] != '\t') || i == 0 ||
		    hex(data[i - 1]) < 0))
			abort();
	}
	ref = reference(data, size);
	if (ref == REF_INVALID && v[0] == FRAMING_OK)
		abort();
	if (ref >= 0) {
		if (v[0] != FRAMING_OK || used[0] != (size_t)ref)
			abort();
		evhttp_reads(buf[0], (size_t)ref, data);
	}
	if (done0 && ref != (long)used[0])
		abort();
	for (k = 0; k < 3; k++)
		free(buf[k]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] & 1)
		fuzz_chunks(data[0] >> 1, data + 1, size - 1);
	else
		fuzz_head((const char *)data + 1, size - 1);
	return 0;
}
