/*
 * sjson: strict JSON. One parser for every JSON text tokend takes from
 * outside (token headers and payloads, the "claims" of a client record,
 * /authorize bodies), stricter than json-c on its own.
 *
 * Pure module: json-c only, no allocation kept between calls, thread safe.
 */
#ifndef TOKEND_SJSON_H
#define TOKEND_SJSON_H

#include <stddef.h>

struct json_object;

/*
 * Parse the len bytes at text (need not be NUL-terminated) as one JSON
 * text, accepting only:
 *  - RFC 8259 exactly: no comments, single quotes, NaN or Infinity,
 *    leading zeros, "1." or ".5", trailing commas, trailing data, raw
 *    control characters in strings; numbers must be finite as doubles
 *    (1e400 is refused: json-c would write it back as "Infinity");
 *  - an object or an array at the top, nested at most max_depth deep,
 *    the top included (max_depth 1 allows "{}" and "[1]", not "[[]]");
 *  - UTF-8 as RFC 3629 defines it: no overlong forms, no surrogates
 *    (U+D800..DFFF), nothing above U+10FFFF, none of the bytes C0, C1,
 *    F5..FF, no cut-short sequences;
 *  - \u escapes naming a Unicode scalar value: a high surrogate escape
 *    must be followed by a low one, a low one alone is refused; \u0000 is
 *    refused (the strings are C strings), as is any NUL byte;
 *  - objects that name each member once (after unescaping), at any depth.
 * The scanner recurses once per level, so max_depth also bounds the
 * stack: keep it in the tens.
 * Returns a new json_object owned by the caller (json_object_put), or
 * NULL when the text breaks any rule above or json-c fails.
 */
struct json_object *sjson_parse(const char *text, size_t len,
	    size_t max_depth);

#endif
