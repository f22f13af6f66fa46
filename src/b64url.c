/*
 * b64url: base64url without padding (RFC 4648 section 5, RFC 7515 2).
 *
 * The decoder is strict on purpose: a JWS has one encoding only, so any
 * other spelling of the same bytes (padding, the '+' '/' alphabet, spare
 * bits set) is refused rather than normalized. That keeps the signing
 * input a verifier hashes identical to what the signer produced.
 *
 * No allocation, no state: thread safe.
 */
#include <stdint.h>

#include "b64url.h"

static const char	 enc_table[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/*
 * 1 + the value (0..63) for the alphabet, 0 for every other byte, so that
 * the table needs no range initializer.
 */
static const uint8_t	 dec_table[256] = {
	['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5,
	['F'] = 6, ['G'] = 7, ['H'] = 8, ['I'] = 9, ['J'] = 10,
	['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14, ['O'] = 15,
	['P'] = 16, ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20,
	['U'] = 21, ['V'] = 22, ['W'] = 23, ['X'] = 24, ['Y'] = 25,
	['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30,
	['e'] = 31, ['f'] = 32, ['g'] = 33, ['h'] = 34, ['i'] = 35,
	['j'] = 36, ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40,
	['o'] = 41, ['p'] = 42, ['q'] = 43, ['r'] = 44, ['s'] = 45,
	['t'] = 46, ['u'] = 47, ['v'] = 48, ['w'] = 49, ['x'] = 50,
	['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55,
	['3'] = 56, ['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60,
	['8'] = 61, ['9'] = 62, ['-'] = 63, ['_'] = 64,
};

size_t
b64url_encoded_len(size_t n)
{
	return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

size_t
b64url_encode(char *dst, const unsigned char *src, size_t n)
{
	size_t		 i, o = 0;
	uint32_t	 v;

	for (i = 0; i + 3 <= n; i += 3) {
		v = (uint32_t)src[i] << 16 | (uint32_t)src[i + 1] << 8 |
		    src[i + 2];
		dst[o++] = enc_table[v >> 18 & 0x3f];
		dst[o++] = enc_table[v >> 12 & 0x3f];
		dst[o++] = enc_table[v >> 6 & 0x3f];
		dst[o++] = enc_table[v & 0x3f];
	}
	if (n - i == 1) {
		v = (uint32_t)src[i] << 16;
		dst[o++] = enc_table[v >> 18 & 0x3f];
		dst[o++] = enc_table[v >> 12 & 0x3f];
	} else if (n - i == 2) {
		v = (uint32_t)src[i] << 16 | (uint32_t)src[i + 1] << 8;
		dst[o++] = enc_table[v >> 18 & 0x3f];
		dst[o++] = enc_table[v >> 12 & 0x3f];
		dst[o++] = enc_table[v >> 6 & 0x3f];
	}
	dst[o] = '\0';
	return o;
}

int
b64url_decode(unsigned char *dst, size_t *dstlen, const char *src, size_t n)
{
	const unsigned char	*s = (const unsigned char *)src;
	size_t			 i, o = 0, rest = n % 4;
	uint32_t		 v;
	uint8_t			 c[4];

	/* One character carries 6 bits: never a whole byte. */
	if (rest == 1)
		return -1;
	for (i = 0; i + 4 <= n; i += 4) {
		if ((c[0] = dec_table[s[i]]) == 0 ||
		    (c[1] = dec_table[s[i + 1]]) == 0 ||
		    (c[2] = dec_table[s[i + 2]]) == 0 ||
		    (c[3] = dec_table[s[i + 3]]) == 0)
			return -1;
		c[0]--, c[1]--, c[2]--, c[3]--;
		v = (uint32_t)c[0] << 18 | (uint32_t)c[1] << 12 |
		    (uint32_t)c[2] << 6 | c[3];
		dst[o++] = v >> 16 & 0xff;
		dst[o++] = v >> 8 & 0xff;
		dst[o++] = v & 0xff;
	}
	if (rest == 2) {
		if ((c[0] = dec_table[s[i]]) == 0 ||
		    (c[1] = dec_table[s[i + 1]]) == 0)
			return -1;
		c[0]--, c[1]--;
		/* RFC 4648 3.5: the 4 spare bits must be zero */
		if ((c[1] & 0x0f) != 0)
			return -1;
		dst[o++] = (uint8_t)(c[0] << 2 | c[1] >> 4);
	} else if (rest == 3) {
		if ((c[0] = dec_table[s[i]]) == 0 ||
		    (c[1] = dec_table[s[i + 1]]) == 0 ||
		    (c[2] = dec_table[s[i + 2]]) == 0)
			return -1;
		c[0]--, c[1]--, c[2]--;
		/* the 2 spare bits must be zero */
		if ((c[2] & 0x03) != 0)
			return -1;
		v = (uint32_t)c[0] << 18 | (uint32_t)c[1] << 12 |
		    (uint32_t)c[2] << 6;
		dst[o++] = v >> 16 & 0xff;
		dst[o++] = v >> 8 & 0xff;
	}
	*dstlen = o;
	return 0;
}
