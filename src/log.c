/*
 * log: one line per event on stderr, key=value or JSON. A thread that runs
 * an event loop (a worker) gathers its lines in a batch and writes them
 * with one write(2) per loop turn (log_batch_begin()); any other thread
 * writes each line at once.
 *
 * Every line starts with ts (UTC, RFC 3339, milliseconds), level and
 * event, in that order. Callers describe the rest with a printf format of
 * key=value tokens (log.h); log_vformat() reads that format itself, takes
 * each value from the arguments, and log_format_line() writes the line,
 * quoting and escaping every value the same way, so nothing a value holds
 * can end the line or fake a key. A line longer than the buffer is cut at
 * a value, never split, so concurrent workers cannot interleave. The level
 * is checked before anything is formatted. This module never allocates
 * and never logs on its own behalf, except event=log_dropped.
 *
 * The format grammar of parse_format() and convert() is also written in
 * scripts/check-log-formats, which refuses at build time every format of
 * src/ that they would stop at: change the two together (test/log_format
 * compares them on generated formats).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LOG_FIELDS_MAX	32

static _Atomic int	 current_level = LOG_LEVEL_INFO;
static _Atomic int	 current_format = LOG_FORMAT_KV;
static atomic_ulong	 dropped;	/* lines lost to a full pipe */
static atomic_bool	 torn;		/* a line was cut short: end it first */

static const char *const level_names[] = {
	[LOG_LEVEL_DEBUG] = "debug",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_WARN] = "warn",
	[LOG_LEVEL_ERROR] = "error",
};

static const char	 hex[] = "0123456789abcdef";

void
log_init(void)
{
	struct stat	 st;
	int		 fl;

	if (fstat(STDERR_FILENO, &st) == -1 ||
	    !(S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
		return;
	if ((fl = fcntl(STDERR_FILENO, F_GETFL)) != -1)
		(void)fcntl(STDERR_FILENO, F_SETFL, fl | O_NONBLOCK);
}

void
log_set_level(enum log_level level)
{
	atomic_store(&current_level, (int)level);
}

void
log_set_format(enum log_format format)
{
	atomic_store(&current_format, (int)format);
}

bool
log_enabled(enum log_level level)
{
	return (int)level >= atomic_load_explicit(&current_level,
	    memory_order_relaxed);
}

/*
 * The line being written. Fields are written while they fit under
 * `limit`; the bytes between limit and cap are kept for the truncation
 * mark, the closing brace and the newline.
 */
struct out {
	char		*buf;
	size_t		 len;
	size_t		 limit;
	bool		 json;
};

#define OUT_RESERVE	(sizeof(",\"truncated\":1}\n"))

static bool
put(struct out *o, const char *s, size_t n)
{
	if (o->len + n > o->limit)
		return false;
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	return true;
}

/* An integer as JSON allows it: -?(0|[1-9][0-9]*), at most 20 digits. */
static bool
is_number(const char *s, size_t n)
{
	size_t	 i = 0;

	if (n > 0 && s[0] == '-')
		i++;
	if (i == n || n - i > 20)
		return false;
	if (s[i] == '0' && n - i > 1)
		return false;
	for (; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* kv: the bytes a bare value may hold: printable ASCII but space, '"',
   '=' and '\\' (a table: this runs for every byte of every value). */
static const unsigned char	 bare_byte[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* 00 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* 10 */
	0, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,	/* 20 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1,	/* 30 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,	/* 40 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,	/* 50 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,	/* 60 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0,	/* 70 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* 80 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* 90 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* a0 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* b0 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* c0 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* d0 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* e0 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* f0 */
};

/* kv: may the value go without quotes? */
static bool
is_bare(const char *s, size_t n)
{
	size_t	 i;

	if (n == 0)
		return false;
	for (i = 0; i < n; i++)
		if (!bare_byte[(unsigned char)s[i]])
			return false;
	return true;
}

/*
 * A quoted string, escaped for the format. Returns false when it had to
 * be cut (it is still closed by its quote).
 */
static bool
put_quoted(struct out *o, const char *s, size_t n)
{
	char	 e[6];
	size_t	 i, k;

	/* Room for both quotes, or nothing. */
	if (o->len + 2 > o->limit)
		return false;
	o->buf[o->len++] = '"';
	o->limit--;		/* keep room for the closing quote */
	for (i = 0; i < n; i++) {
		unsigned char	 c = (unsigned char)s[i];

		k = 0;
		if (c == '"' || c == '\\') {
			e[k++] = '\\';
			e[k++] = (char)c;
		} else if (c < 0x20 || c >= 0x7f) {
			e[k++] = '\\';
			if (o->json) {
				e[k++] = 'u';
				e[k++] = '0';
				e[k++] = '0';
			} else
				e[k++] = 'x';
			e[k++] = hex[c >> 4];
			e[k++] = hex[c & 0xf];
		} else
			e[k++] = (char)c;
		if (!put(o, e, k))
			break;
	}
	o->limit++;
	o->buf[o->len++] = '"';
	return i == n;
}

/* One field, with its separator. Returns false when it did not fit whole. */
static bool
put_field(struct out *o, const char *key, const char *val, size_t len,
    bool num)
{
	size_t	 klen = strlen(key), start = o->len;

	num = num && is_number(val, len);
	if (o->json) {
		if (!put(o, ",\"", 2) || !put(o, key, klen) ||
		    !put(o, "\":", 2))
			goto cut;
	} else {
		if (!put(o, " ", 1) || !put(o, key, klen) || !put(o, "=", 1))
			goto cut;
	}
	if (num || (!o->json && is_bare(val, len))) {
		if (put(o, val, len))
			return true;
		if (num)
			goto cut;
	}
	/* Some of the value is better than none; at least one byte of it. */
	if (o->len + 3 > o->limit)
		goto cut;
	return put_quoted(o, val, len);
cut:
	o->len = start;
	return false;
}

size_t
log_format_line(char *buf, size_t bufsz, enum log_format format,
    const char *ts, const char *level, const struct log_field *f, size_t n)
{
	struct out	 o;
	bool		 whole = true;
	size_t		 i;

	if (bufsz < 128)
		abort();
	o.buf = buf;
	o.len = 0;
	o.limit = bufsz - OUT_RESERVE;
	o.json = format == LOG_FORMAT_JSON;
	if (o.json) {
		(void)put(&o, "{\"ts\":", 6);
		(void)put_quoted(&o, ts, strlen(ts));
		(void)put(&o, ",\"level\":", 9);
		(void)put_quoted(&o, level, strlen(level));
	} else {
		(void)put(&o, "ts=", 3);
		(void)put(&o, ts, strlen(ts));
		(void)put(&o, " level=", 7);
		(void)put(&o, level, strlen(level));
	}
	for (i = 0; i < n && whole; i++)
		whole = put_field(&o, f[i].key, f[i].val, f[i].len, f[i].num);
	o.limit = bufsz;
	if (!whole)
		(void)put_field(&o, "truncated", "1", 1, true);
	if (o.json)
		(void)put(&o, "}", 1);
	(void)put(&o, "\n", 1);
	return o.len;
}

/* The values of one line, each in `scratch`. */
struct fields {
	struct log_field	 f[LOG_FIELDS_MAX];
	size_t			 n;
	char			 scratch[LOG_LINE_MAX];
	size_t			 used;
	bool			 overflow;	/* more fields than f[] */
};

static void
scratch_add(struct fields *fs, const char *s, size_t n)
{
	size_t	 room = sizeof(fs->scratch) - fs->used;

	/* A value cut here is longer than a line: the line gets cut too. */
	if (n > room)
		n = room;
	memcpy(fs->scratch + fs->used, s, n);
	fs->used += n;
}

static void
add_field(struct fields *fs, const char *key, size_t start, bool num)
{
	struct log_field	*f;

	if (fs->n == LOG_FIELDS_MAX) {
		fs->overflow = true;
		return;
	}
	f = &fs->f[fs->n++];
	f->key = key;
	f->val = fs->scratch + start;
	f->len = fs->used - start;
	f->num = num;
}

/*
 * v in base 10 or 16 (lowercase), after a '-' if neg, into num (at least
 * 24 bytes, not NUL-terminated); returns the length. What snprintf's
 * %lld, %llu and %llx write, without their cost on every log line.
 */
static int
format_u64(char *num, uint64_t v, unsigned base, bool neg)
{
	char	 tmp[24], *e = tmp + sizeof(tmp), *b = e;
	int	 n;

	do {
		*--b = hex[v % base];
		v /= base;
	} while (v != 0);
	if (neg)
		*--b = '-';
	n = (int)(e - b);
	memcpy(num, b, (size_t)n);
	return n;
}

/* Length modifiers of a conversion. */
enum { L_NONE, L_HH, L_H, L_L, L_LL, L_Z, L_J, L_T };

/*
 * One conversion at *pp (just after the '%'): take its argument from ap
 * and append it to the scratch. Returns 1 for an integer conversion, 0 for
 * any other, -1 for one this parser does not know (the arguments can no
 * longer be followed).
 */
static int
convert(struct fields *fs, const char **pp, va_list *ap)
{
	const char	*p = *pp;
	char		 num[32];
	int		 prec = -1, lmod = 0, n;

	if (*p == '%') {
		scratch_add(fs, "%", 1);
		*pp = p + 1;
		return 0;
	}
	if (*p == '.') {
		p++;
		if (*p == '*') {
			prec = va_arg(*ap, int);
			p++;
		} else {
			prec = 0;
			while (*p >= '0' && *p <= '9' && prec < 100000)
				prec = prec * 10 + (*p++ - '0');
		}
	}
	switch (*p) {
	case 'h':
		lmod = p[1] == 'h' ? L_HH : L_H;
		p += lmod == L_HH ? 2 : 1;
		break;
	case 'l':
		lmod = p[1] == 'l' ? L_LL : L_L;
		p += lmod == L_LL ? 2 : 1;
		break;
	case 'z':	lmod = L_Z; p++; break;
	case 'j':	lmod = L_J; p++; break;
	case 't':	lmod = L_T; p++; break;
	default:	break;
	}
	switch (*p) {
	case 's': {
		const char	*s;
		size_t		 len;

		if (lmod != L_NONE)
			return -1;
		if ((s = va_arg(*ap, const char *)) == NULL)
			s = "(null)";
		len = prec >= 0 ? strnlen(s, (size_t)prec) : strlen(s);
		scratch_add(fs, s, len);
		*pp = p + 1;
		return 0;
	}
	case 'c': {
		char	 c;

		if (lmod != L_NONE || prec >= 0)
			return -1;
		c = (char)va_arg(*ap, int);
		scratch_add(fs, &c, 1);
		*pp = p + 1;
		return 0;
	}
	case 'd':
	case 'i': {
		long long	 v;

		switch (lmod) {
		case L_L:	v = va_arg(*ap, long); break;
		case L_LL:	v = va_arg(*ap, long long); break;
		case L_Z:	v = va_arg(*ap, ssize_t); break;
		case L_J:	v = va_arg(*ap, intmax_t); break;
		case L_T:	v = va_arg(*ap, ptrdiff_t); break;
		default:	v = va_arg(*ap, int); break;
		}
		if (lmod == L_HH)
			v = (signed char)v;
		else if (lmod == L_H)
			v = (short)v;
		n = format_u64(num, v < 0 ? (uint64_t)0 - (uint64_t)v :
		    (uint64_t)v, 10, v < 0);
		break;
	}
	case 'u':
	case 'x': {
		unsigned long long	 v;

		switch (lmod) {
		case L_L:	v = va_arg(*ap, unsigned long); break;
		case L_LL:	v = va_arg(*ap, unsigned long long); break;
		case L_Z:	v = va_arg(*ap, size_t); break;
		case L_J:	v = va_arg(*ap, uintmax_t); break;
		case L_T:	v = (unsigned long long)va_arg(*ap, ptrdiff_t);
				break;
		default:	v = va_arg(*ap, unsigned int); break;
		}
		if (lmod == L_HH)
			v = (unsigned char)v;
		else if (lmod == L_H)
			v = (unsigned short)v;
		n = format_u64(num, v, *p == 'u' ? 10 : 16, false);
		break;
	}
	default:
		return -1;
	}
	if (prec >= 0)
		return -1;
	if (n > 0)
		scratch_add(fs, num, (size_t)n);
	*pp = p + 1;
	return *p == 'x' ? 0 : 1;
}

/*
 * Split fmt into fields (log.h). Returns false on a format it cannot read.
 * scripts/check-log-formats reads formats the same way (check_format()).
 */
static bool
parse_format(struct fields *fs, char *keys, size_t keys_len, const char *fmt,
    va_list *ap)
{
	const char	*p = fmt;
	size_t		 kused = 0;

	while (*p != '\0') {
		const char	*k;
		size_t		 klen, start;
		int		 nconv = 0, nint = 0, nlit = 0, r;
		bool		 quoted;

		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		k = p;
		while ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '_')
			p++;
		klen = (size_t)(p - k);
		if (klen == 0 || *p != '=' || kused + klen + 1 > keys_len)
			return false;
		memcpy(keys + kused, k, klen);
		keys[kused + klen] = '\0';
		p++;
		start = fs->used;
		if ((quoted = *p == '"'))
			p++;
		for (;;) {
			if (*p == '\0')
				break;
			if (quoted && *p == '"') {
				p++;
				break;
			}
			if (!quoted && *p == ' ')
				break;
			if (*p == '%' && p[1] != '%') {
				p++;
				if ((r = convert(fs, &p, ap)) < 0)
					return false;
				nconv++;
				nint += r;
			} else if (*p == '%') {
				scratch_add(fs, p, 1);		/* "%%" */
				p += 2;
				nlit++;
			} else {
				/* A run of literal bytes, added at once. */
				const char	*q = p + 1;

				while (*q != '\0' && *q != '%' &&
				    !(quoted && *q == '"') &&
				    !(!quoted && *q == ' '))
					q++;
				scratch_add(fs, p, (size_t)(q - p));
				nlit += (int)(q - p);
				p = q;
			}
		}
		add_field(fs, keys + kused, start, (nconv == 1 && nint == 1 &&
		    nlit == 0) || (nconv == 0 && !quoted));
		kused += klen + 1;
	}
	return true;
}

/*
 * The parsed form of a format, kept per thread: formats are string
 * literals at fixed addresses, so a format seen before is found by its
 * pointer and not read again (parse_format() costs more than writing the
 * line). Each entry keeps a copy of its format, compared on every hit, so
 * a buffer reused for another format (tests, log.c's own calls) is never
 * mistaken for the one it held. A format whose slots are all taken
 * replaces the one of them used least. Only formats that parse whole and
 * fit an entry are used from it; any other (too long, not parsed whole,
 * a '*' precision on a number) goes through parse_format() as before.
 * Both give the same fields and the same bytes (test/unit/test_log.c and
 * test/log_format compare).
 */
#define FC_SLOTS	16	/* per thread */
#define FC_PROBE	4	/* slots tried per format */
#define FC_FMT_MAX	256	/* longest format kept, NUL included */
#define FC_SEGS		48
#define FC_FIELDS	LOG_FIELDS_MAX

/* A literal run of the format (type 0), or one conversion. */
struct fc_seg {
	uint16_t	 off;		/* literal: into fmt */
	uint16_t	 len;
	char		 type;		/* 0, or s c d i u x */
	uint8_t		 lmod;
	int16_t		 prec;		/* -1 none, -2 '*', else the digits */
};

struct fc_field {
	uint16_t	 key;		/* into keys */
	uint8_t		 seg;		/* first segment */
	uint8_t		 nseg;
	bool		 num;
};

struct fc_entry {
	const char	*fmt_ptr;	/* NULL: free */
	struct fc_seg	 seg[FC_SEGS];
	struct fc_field	 f[FC_FIELDS];
	uint32_t	 hits;
	uint8_t		 nfields;
	bool		 parsed;	/* false: parse_format() each time */
	char		 fmt[FC_FMT_MAX];
	char		 keys[FC_FMT_MAX];
};

static _Thread_local struct fc_entry	 fc[FC_SLOTS];
static _Thread_local bool		 fc_off;

void
log_format_cache(bool on)
{
	fc_off = !on;
}

/*
 * One conversion at *pp (just after the '%') into c, the way convert()
 * reads it. Returns 1 for an integer conversion, 0 for any other, -1 for
 * one convert() refuses or whose outcome depends on its arguments (a '*'
 * precision on anything but %s): such a format is not kept.
 */
static int
fc_conv(const char **pp, struct fc_seg *c)
{
	const char	*p = *pp;
	int		 prec = -1;

	c->lmod = L_NONE;
	if (*p == '.') {
		p++;
		if (*p == '*') {
			prec = -2;
			p++;
		} else {
			prec = 0;
			while (*p >= '0' && *p <= '9' && prec < 100000)
				prec = prec * 10 + (*p++ - '0');
			if (prec > INT16_MAX)
				return -1;
		}
	}
	switch (*p) {
	case 'h':
		c->lmod = p[1] == 'h' ? L_HH : L_H;
		p += c->lmod == L_HH ? 2 : 1;
		break;
	case 'l':
		c->lmod = p[1] == 'l' ? L_LL : L_L;
		p += c->lmod == L_LL ? 2 : 1;
		break;
	case 'z':	c->lmod = L_Z; p++; break;
	case 'j':	c->lmod = L_J; p++; break;
	case 't':	c->lmod = L_T; p++; break;
	default:	break;
	}
	if (*p == 's') {
		if (c->lmod != L_NONE)
			return -1;
	} else if (*p == 'c' || *p == 'd' || *p == 'i' || *p == 'u' ||
	    *p == 'x') {
		if (prec != -1 || (*p == 'c' && c->lmod != L_NONE))
			return -1;
	} else
		return -1;
	c->type = *p;
	c->prec = (int16_t)prec;
	c->off = c->len = 0;
	*pp = p + 1;
	return *p == 'd' || *p == 'i' || *p == 'u';
}

/* Parse fmt into e; false when it cannot be kept (see above). */
static bool
fc_parse(struct fc_entry *e, const char *fmt)
{
	const char	*p = fmt;
	size_t		 kused = 0, nseg = 0, nf = 0;

	while (*p != '\0') {
		const char	*k;
		size_t		 klen, seg0 = nseg;
		int		 nconv = 0, nint = 0, nlit = 0, r;
		bool		 quoted;

		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		k = p;
		while ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '_')
			p++;
		klen = (size_t)(p - k);
		if (klen == 0 || *p != '=' || kused + klen + 1 > FC_FMT_MAX ||
		    nf == FC_FIELDS)
			return false;
		memcpy(e->keys + kused, k, klen);
		e->keys[kused + klen] = '\0';
		p++;
		if ((quoted = *p == '"'))
			p++;
		for (;;) {
			struct fc_seg	*sg;

			if (*p == '\0')
				break;
			if (quoted && *p == '"') {
				p++;
				break;
			}
			if (!quoted && *p == ' ')
				break;
			if (nseg == FC_SEGS)
				return false;
			sg = &e->seg[nseg++];
			if (*p == '%' && p[1] != '%') {
				p++;
				if ((r = fc_conv(&p, sg)) < 0)
					return false;
				nconv++;
				nint += r;
			} else if (*p == '%') {
				sg->type = 0;		/* "%%" */
				sg->off = (uint16_t)(p - fmt);
				sg->len = 1;
				p += 2;
				nlit++;
			} else {
				const char	*q = p + 1;

				while (*q != '\0' && *q != '%' &&
				    !(quoted && *q == '"') &&
				    !(!quoted && *q == ' '))
					q++;
				sg->type = 0;
				sg->off = (uint16_t)(p - fmt);
				sg->len = (uint16_t)(q - p);
				nlit += (int)(q - p);
				p = q;
			}
		}
		e->f[nf].key = (uint16_t)kused;
		e->f[nf].seg = (uint8_t)seg0;
		e->f[nf].nseg = (uint8_t)(nseg - seg0);
		e->f[nf].num = (nconv == 1 && nint == 1 && nlit == 0) ||
		    (nconv == 0 && !quoted);
		nf++;
		kused += klen + 1;
	}
	e->nfields = (uint8_t)nf;
	return true;
}

/*
 * The entry of fmt, found or made; NULL: parse it with parse_format().
 * When its slots are taken, the one used least gives way, so that a
 * thread's first formats (start-up lines) cannot keep a hot one out.
 */
static struct fc_entry *
fc_lookup(const char *fmt)
{
	struct fc_entry	*e, *victim = NULL;
	uintptr_t	 h = (uintptr_t)fmt;
	size_t		 i, len;

	h ^= h >> 17;
	h *= 0x9e3779b1u;
	h >>= 8;
	for (i = 0; i < FC_PROBE; i++) {
		e = &fc[(h + i) % FC_SLOTS];
		if (e->fmt_ptr == fmt) {
			if (strncmp(e->fmt, fmt, sizeof(e->fmt)) == 0) {
				if (e->hits < UINT32_MAX)
					e->hits++;
				return e->parsed ? e : NULL;
			}
			victim = e;	/* the same buffer, another format */
			break;
		}
		if (victim == NULL || (victim->fmt_ptr != NULL &&
		    (e->fmt_ptr == NULL || e->hits < victim->hits)))
			victim = e;
	}
	if ((len = strnlen(fmt, FC_FMT_MAX)) == FC_FMT_MAX)
		return NULL;		/* too long to keep */
	e = victim;
	memcpy(e->fmt, fmt, len + 1);
	e->fmt_ptr = fmt;
	e->hits = 0;
	e->parsed = fc_parse(e, e->fmt);
	return e->parsed ? e : NULL;
}

/* One conversion of a kept format: its argument into the scratch. */
static void
fc_apply(struct fields *fs, const struct fc_seg *c, va_list *ap)
{
	char	 num[32];
	int	 n, prec = c->prec;

	if (prec == -2)
		prec = va_arg(*ap, int);
	switch (c->type) {
	case 's': {
		const char	*s;
		size_t		 len;

		if ((s = va_arg(*ap, const char *)) == NULL)
			s = "(null)";
		len = prec >= 0 ? strnlen(s, (size_t)prec) : strlen(s);
		scratch_add(fs, s, len);
		return;
	}
	case 'c': {
		char	 ch = (char)va_arg(*ap, int);

		scratch_add(fs, &ch, 1);
		return;
	}
	case 'd':
	case 'i': {
		long long	 v;

		switch (c->lmod) {
		case L_L:	v = va_arg(*ap, long); break;
		case L_LL:	v = va_arg(*ap, long long); break;
		case L_Z:	v = va_arg(*ap, ssize_t); break;
		case L_J:	v = va_arg(*ap, intmax_t); break;
		case L_T:	v = va_arg(*ap, ptrdiff_t); break;
		default:	v = va_arg(*ap, int); break;
		}
		if (c->lmod == L_HH)
			v = (signed char)v;
		else if (c->lmod == L_H)
			v = (short)v;
		n = format_u64(num, v < 0 ? (uint64_t)0 - (uint64_t)v :
		    (uint64_t)v, 10, v < 0);
		break;
	}
	default: {	/* u x */
		unsigned long long	 v;

		switch (c->lmod) {
		case L_L:	v = va_arg(*ap, unsigned long); break;
		case L_LL:	v = va_arg(*ap, unsigned long long); break;
		case L_Z:	v = va_arg(*ap, size_t); break;
		case L_J:	v = va_arg(*ap, uintmax_t); break;
		case L_T:	v = (unsigned long long)va_arg(*ap, ptrdiff_t);
				break;
		default:	v = va_arg(*ap, unsigned int); break;
		}
		if (c->lmod == L_HH)
			v = (unsigned char)v;
		else if (c->lmod == L_H)
			v = (unsigned short)v;
		n = format_u64(num, v, c->type == 'u' ? 10 : 16, false);
		break;
	}
	}
	scratch_add(fs, num, (size_t)n);
}

/* parse_format() for a kept format: the same fields, from e. */
static void
fc_fields(struct fields *fs, const struct fc_entry *e, va_list *ap)
{
	size_t	 i, j, start;

	for (i = 0; i < e->nfields; i++) {
		const struct fc_field	*f = &e->f[i];

		start = fs->used;
		for (j = f->seg; j < (size_t)f->seg + f->nseg; j++) {
			const struct fc_seg	*sg = &e->seg[j];

			if (sg->type == 0)
				scratch_add(fs, e->fmt + sg->off, sg->len);
			else
				fc_apply(fs, sg, ap);
		}
		add_field(fs, e->keys + f->key, start, f->num);
	}
}

size_t
log_vformat(char *buf, size_t bufsz, enum log_format format, const char *ts,
    enum log_level level, int errnum, const char *fmt, va_list ap)
{
	struct fields	 fs;
	char		 keys[LOG_LINE_MAX];
	struct fc_entry	*ce;
	va_list		 aq;
	bool		 ok;
	size_t		 start;

	fs.n = 0;
	fs.used = 0;
	fs.overflow = false;
	va_copy(aq, ap);
	if (!fc_off && (ce = fc_lookup(fmt)) != NULL) {
		fc_fields(&fs, ce, &aq);
		ok = true;
	} else
		ok = parse_format(&fs, keys, sizeof(keys), fmt, &aq);
	va_end(aq);
	if (fs.n == 0 || strcmp(fs.f[0].key, "event") != 0) {
		if (fs.n == LOG_FIELDS_MAX) {
			fs.n--;		/* the last field is lost: say so */
			fs.overflow = true;
		}
		memmove(&fs.f[1], &fs.f[0], fs.n * sizeof(fs.f[0]));
		fs.f[0].key = "event";
		fs.f[0].val = "unnamed";
		fs.f[0].len = strlen("unnamed");
		fs.f[0].num = false;
		fs.n++;
	}
	if (!ok) {
		start = fs.used;
		scratch_add(&fs, "1", 1);
		add_field(&fs, "log_format_error", start, true);
	}
	if (errnum != 0) {
		/* glibc's strerror() is thread safe (a thread-local buffer
		   for unknown numbers). */
		const char	*e = strerror(errnum);

		start = fs.used;
		scratch_add(&fs, e, strlen(e));
		add_field(&fs, "err", start, false);
	}
	if (fs.overflow) {
		if (fs.n == LOG_FIELDS_MAX)
			fs.n--;
		start = fs.used;
		scratch_add(&fs, "1", 1);
		add_field(&fs, "truncated", start, true);
	}
	return log_format_line(buf, bufsz, format, ts, level_names[level],
	    fs.f, fs.n);
}

size_t
log_sformat(char *buf, size_t bufsz, enum log_format format, const char *ts,
    enum log_level level, const char *fmt, ...)
{
	va_list	 ap;
	size_t	 n;

	va_start(ap, fmt);
	n = log_vformat(buf, bufsz, format, ts, level, 0, fmt, ap);
	va_end(ap);
	return n;
}

/*
 * The time as RFC 3339 UTC with milliseconds. The part up to the seconds
 * changes once a second: each thread keeps it and formats only the
 * milliseconds (gmtime_r and snprintf on every line cost more than the
 * rest of an access-log line).
 */
static void
timestamp(char *ts, size_t len)
{
	static _Thread_local time_t	 cached_sec = -1;
	static _Thread_local char	 cached[40];	/* "...T12:34:56." */
	static _Thread_local size_t	 cached_len;
	struct timespec			 now;
	struct tm			 tm;
	long				 ms;

	clock_gettime(CLOCK_REALTIME, &now);
	if (now.tv_sec != cached_sec) {
		gmtime_r(&now.tv_sec, &tm);
		cached_len = (size_t)snprintf(cached, sizeof(cached),
		    "%04d-%02d-%02dT%02d:%02d:%02d.", tm.tm_year + 1900,
		    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		    tm.tm_sec);
		if (cached_len >= sizeof(cached))
			cached_len = sizeof(cached) - 1;
		cached_sec = now.tv_sec;
	}
	if (len < cached_len + 5) {
		ts[0] = '\0';
		return;
	}
	ms = (now.tv_nsec / 1000000) % 1000;
	memcpy(ts, cached, cached_len);
	ts[cached_len] = (char)('0' + ms / 100);
	ts[cached_len + 1] = (char)('0' + ms / 10 % 10);
	ts[cached_len + 2] = (char)('0' + ms % 10);
	ts[cached_len + 3] = 'Z';
	ts[cached_len + 4] = '\0';
}

/*
 * Write buf (whole lines, nlines of them, at most PIPE_BUF bytes). A full
 * pipe refuses it whole (a write of at most PIPE_BUF bytes to a pipe is
 * atomic); a stream socket (journald's stderr) may take only part of it.
 * Every line not written whole counts as dropped, and after a cut line the
 * next write starts with the newline that ends it, so that no two lines
 * are ever glued together. Returns false when some line was not written
 * whole.
 */
static bool
emit(const char *buf, size_t len, size_t nlines)
{
	struct iovec	 iov[2];
	bool		 cut;
	ssize_t		 n;
	size_t		 done, lost, i;

	cut = atomic_exchange(&torn, false);
	iov[0].iov_base = (void *)(uintptr_t)"\n";
	iov[0].iov_len = cut ? 1 : 0;
	iov[1].iov_base = (void *)(uintptr_t)buf;
	iov[1].iov_len = len;
	n = writev(STDERR_FILENO, iov, 2);
	if (n == (ssize_t)(iov[0].iov_len + len))
		return true;
	if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK)
		return false;		/* stderr is gone: nothing to count */
	if (n <= (ssize_t)iov[0].iov_len) {
		if (cut)
			atomic_store(&torn, true);
		atomic_fetch_add(&dropped, nlines);
		return false;
	}
	/* A part: the lines written whole count, the rest are dropped. */
	done = (size_t)n - iov[0].iov_len;
	for (lost = 0, i = done; i < len; i++)
		lost += buf[i] == '\n';
	if (buf[done - 1] != '\n')
		atomic_store(&torn, true);
	atomic_fetch_add(&dropped, lost);
	return false;
}

/* After a write that went through: say how many lines were lost. */
static void
report_dropped(enum log_format format, const char *ts)
{
	char		 line[256];
	unsigned long	 lost;
	size_t		 len;

	if (atomic_load_explicit(&dropped, memory_order_relaxed) == 0)
		return;
	lost = atomic_exchange(&dropped, 0);
	if (lost == 0)
		return;
	len = log_sformat(line, sizeof(line), format, ts, LOG_LEVEL_WARN,
	    "event=log_dropped lines=%lu", lost);
	if (!emit(line, len, 1))
		atomic_fetch_add(&dropped, lost - 1);
}

/*
 * A batch: the lines of one loop turn of one thread. Its owner appends
 * and flushes under `lock`; log_flush_all() (SIGHUP, fatal paths) takes
 * the same lock from another thread, so that a line is written once and
 * the lines of one thread stay in order. The lock is never contended on
 * a request path. The size is PIPE_BUF, so that one write of a batch is
 * atomic on a pipe, as one line was.
 */
struct log_batch {
	pthread_mutex_t		 lock;
	char			 buf[PIPE_BUF];
	size_t			 len;
	size_t			 nlines;
	void			(*wake)(void *);
	void			*arg;
	struct log_batch	*next;
};

static pthread_mutex_t			 batches_lock =
    PTHREAD_MUTEX_INITIALIZER;
static struct log_batch			*batches;
static _Thread_local struct log_batch	*my_batch;

_Static_assert(LOG_LINE_MAX <= PIPE_BUF, "a line fits in a batch");

/* Write what b holds; called with b->lock held. */
static void
batch_write(struct log_batch *b)
{
	if (b->len == 0)
		return;
	(void)emit(b->buf, b->len, b->nlines);
	b->len = 0;
	b->nlines = 0;
}

void
log_batch_begin(void (*wake)(void *), void *arg)
{
	struct log_batch	*b;

	if (my_batch != NULL || (b = calloc(1, sizeof(*b))) == NULL)
		return;		/* no batch: lines are written one by one */
	pthread_mutex_init(&b->lock, NULL);
	b->wake = wake;
	b->arg = arg;
	pthread_mutex_lock(&batches_lock);
	b->next = batches;
	batches = b;
	pthread_mutex_unlock(&batches_lock);
	my_batch = b;
}

void
log_batch_flush(void)
{
	struct log_batch	*b = my_batch;
	enum log_format		 format;
	char			 ts[64];

	if (b == NULL)
		return;
	pthread_mutex_lock(&b->lock);
	batch_write(b);
	pthread_mutex_unlock(&b->lock);
	if (atomic_load_explicit(&dropped, memory_order_relaxed) > 0) {
		format = (enum log_format)atomic_load_explicit(
		    &current_format, memory_order_relaxed);
		timestamp(ts, sizeof(ts));
		report_dropped(format, ts);
	}
}

void
log_batch_end(void)
{
	struct log_batch	*b = my_batch, **pp;

	if (b == NULL)
		return;
	log_batch_flush();
	pthread_mutex_lock(&batches_lock);
	for (pp = &batches; *pp != NULL; pp = &(*pp)->next)
		if (*pp == b) {
			*pp = b->next;
			break;
		}
	pthread_mutex_unlock(&batches_lock);
	my_batch = NULL;
	pthread_mutex_destroy(&b->lock);
	free(b);
}

void
log_flush_all(bool fatal)
{
	struct log_batch	*b;

	/* On a fatal path a lock held elsewhere is skipped, not waited for:
	   the process must still get to exit. */
	if (fatal) {
		if (pthread_mutex_trylock(&batches_lock) != 0)
			return;
	} else
		pthread_mutex_lock(&batches_lock);
	for (b = batches; b != NULL; b = b->next) {
		if (fatal) {
			if (pthread_mutex_trylock(&b->lock) != 0)
				continue;
		} else
			pthread_mutex_lock(&b->lock);
		batch_write(b);
		pthread_mutex_unlock(&b->lock);
	}
	pthread_mutex_unlock(&batches_lock);
}

void
log_flush_fatal(void)
{
	log_flush_all(true);
}

/* Append one line to this thread's batch, writing the batch first when
   the line does not fit. */
static void
batch_add(struct log_batch *b, const char *line, size_t len)
{
	bool	 first;

	pthread_mutex_lock(&b->lock);
	if (b->len + len > sizeof(b->buf))
		batch_write(b);
	first = b->len == 0;
	memcpy(b->buf + b->len, line, len);
	b->len += len;
	b->nlines++;
	pthread_mutex_unlock(&b->lock);
	if (first && b->wake != NULL)
		b->wake(b->arg);
}

static void
log_emit(enum log_level, int, const char *, va_list)
    __attribute__((format(printf, 3, 0)));

static void
log_emit(enum log_level level, int errnum, const char *fmt, va_list ap)
{
	char			 line[LOG_LINE_MAX], ts[64];
	struct log_batch	*b = my_batch;
	enum log_format		 format;
	size_t			 len;

	format = (enum log_format)atomic_load_explicit(&current_format,
	    memory_order_relaxed);
	timestamp(ts, sizeof(ts));
	len = log_vformat(line, sizeof(line), format, ts, level, errnum, fmt,
	    ap);
	if (b != NULL) {
		batch_add(b, line, len);
		return;
	}
	/* One write per line; a line a full pipe or socket refuses is
	 * counted, not waited for (log_init). */
	if (emit(line, len, 1))
		report_dropped(format, ts);
}

#define LOG_FN(name, level, with_errno)					\
void									\
name(const char *fmt, ...)						\
{									\
	va_list	 ap;							\
	int	 saved = errno;						\
									\
	if (!log_enabled(level))					\
		return;							\
	va_start(ap, fmt);						\
	log_emit(level, (with_errno) ? saved : 0, fmt, ap);		\
	va_end(ap);							\
	errno = saved;							\
}

LOG_FN(log_debug, LOG_LEVEL_DEBUG, 0)
LOG_FN(log_info, LOG_LEVEL_INFO, 0)
LOG_FN(log_warnx, LOG_LEVEL_WARN, 0)
LOG_FN(log_warn, LOG_LEVEL_WARN, 1)
LOG_FN(log_error, LOG_LEVEL_ERROR, 0)

char *
log_quote(char *dst, size_t dstlen, const char *s)
{
	size_t	 o = 0;

	if (dstlen == 0)
		return dst;
	for (; s != NULL && *s != '\0'; s++) {
		unsigned char	 c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			if (o + 2 >= dstlen)
				break;
			dst[o++] = '\\';
			dst[o++] = (char)c;
		} else if (c < 0x20 || c >= 0x7f) {
			/* control bytes and non-ASCII: lines stay ASCII */
			if (o + 4 >= dstlen)
				break;
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 0xf];
		} else {
			if (o + 1 >= dstlen)
				break;
			dst[o++] = (char)c;
		}
	}
	dst[o] = '\0';
	return dst;
}

void
fatalx(int status, const char *fmt, ...)
{
	va_list	 ap;

	log_flush_all(true);
	fputs("tokend: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}
