/*
 * fuzz_jwks: the JWK Set decoder (jwk.h) behind the record field "jwks",
 * on the input as the field's text: jwk_set_parse(), then for each key a
 * signature check of a fixed message with a wrong signature of the key's
 * length (the verify path of every algorithm), and the record rule that
 * wraps it (record_rules_jwk_set()). The input parsed as one JWK goes to
 * jwk_thumbprint() too.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <json-c/json.h>

#include "jwk.h"
#include "keys.h"
#include "log.h"
#include "record_rules.h"
#include "sjson.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char		*text = (const char *)data;
	struct jwk_set		*set, *set2;
	struct json_object	*obj, *one;
	const struct key	*k;
	unsigned char		 sig[KEY_SIG_MAX];
	char			 err[256], thumb[JWK_THUMBPRINT_LEN + 1];
	size_t			 i;

	log_set_level((enum log_level)(LOG_LEVEL_ERROR + 1));
	if ((set = jwk_set_parse(text, size, err, sizeof(err))) != NULL) {
		memset(sig, 0x5a, sizeof(sig));
		for (i = 0; i < jwk_set_count(set); i++) {
			k = jwk_set_key(set, i);
			(void)key_verify(k, "a.b", 3, sig, key_sig_len(k));
			(void)jwk_set_find(set, key_kid(k), strlen(key_kid(k)));
		}
		jwk_set_free(set);
	}
	if (record_rules_jwk_set(text, size, &obj, &set2, err,
	    sizeof(err)) == 0) {
		json_object_put(obj);
		jwk_set_free(set2);
	}
	if ((one = sjson_parse(text, size, 8)) != NULL) {
		(void)jwk_thumbprint(one, thumb, err, sizeof(err));
		json_object_put(one);
	}
	return 0;
}
