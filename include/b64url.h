/*
 * b64url: base64url (RFC 4648 section 5) without padding, as JWS compact
 * serialization uses it (RFC 7515 section 2).
 *
 * Pure module: no allocation, no I/O, thread safe.
 */
#ifndef TOKEND_B64URL_H
#define TOKEND_B64URL_H

#include <stddef.h>

/* Length of the encoding of n bytes, without padding and without the NUL. */
size_t	 b64url_encoded_len(size_t n);

/*
 * Largest number of bytes that n characters can decode to; a buffer of
 * this size (at least 1) is always enough for b64url_decode().
 */
#define B64URL_DECODED_MAX(n)	((n) / 4 * 3 + 3)

/*
 * Encode n bytes of src into dst, which must hold b64url_encoded_len(n) + 1
 * bytes. Writes the terminating NUL and returns the length without it.
 */
size_t	 b64url_encode(char *dst, const unsigned char *src, size_t n);

/*
 * Strict decode of n characters of src into dst, which must hold at least
 * B64URL_DECODED_MAX(n) bytes. Rejects '=', '+', '/', whitespace, NUL and
 * any other byte outside [A-Za-z0-9_-], a length of 1 mod 4, and
 * non-canonical trailing bits (RFC 4648 3.5), so that every byte string
 * has exactly one accepted encoding. n may be 0.
 * Returns 0 and sets *dstlen, or -1 (dst then holds garbage).
 */
int	 b64url_decode(unsigned char *dst, size_t *dstlen, const char *src,
	    size_t n);

#endif
