/* RSA encoding the module applies itself when a driver offers only raw RSA: PKCS#1
 * v1.5 block type 1 (signatures) and type 2 removal (decryption), EMSA-PSS encoding
 * and OAEP decoding. Built on OpenSSL's constant-time padding routines. */
#ifndef P11_RSA_PAD_H
#define P11_RSA_PAD_H

#include <stddef.h>
#include <stdint.h>

#include "hash.h"
#include "p11.h"

/* em (k bytes) = 00 01 FF.. 00 || data. CKR_DATA_LEN_RANGE when data > k - 11. */
CK_RV p11_pad_pkcs1_sign(const uint8_t *data, size_t len, uint8_t *em, size_t k);
/* Strip 00 02 PS 00 from em (k bytes). CKR_ENCRYPTED_DATA_INVALID when malformed. */
CK_RV p11_unpad_pkcs1_decrypt(const uint8_t *em, size_t k, uint8_t *out, size_t *out_len);
/* EMSA-PSS of mhash for modulus n (em gets k = nlen bytes, leading zero included). */
CK_RV p11_pad_pss(p11_hash_alg hash, p11_hash_alg mgf, size_t salt_len, const uint8_t *mhash,
                  const uint8_t *n, size_t nlen, uint8_t *em);
/* Largest PSS salt for a modulus of modbits bits and hash length hlen. */
size_t p11_pss_max_salt(size_t modbits, size_t hlen);
/* EME-OAEP decoding of em (k bytes). */
CK_RV p11_unpad_oaep(p11_hash_alg hash, p11_hash_alg mgf, const uint8_t *label, size_t label_len,
                     const uint8_t *em, size_t k, uint8_t *out, size_t *out_len);

#endif
