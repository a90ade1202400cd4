/* RSA key objects with OpenSSL: generation on the card, the DER private key kept in the
 * image, keys assembled from CRT parts written by a host, public parts, and the raw
 * private operation (x^d mod n) that dialects build signing and deciphering on. */
#ifndef SIM_KEY_H
#define SIM_KEY_H

#include "sim_int.h"

/* A fresh key pair with e = 65537, as DER RSAPrivateKey. bits: 1024 or 2048. */
sim_status sim_key_rsa_generate(unsigned bits, vt_buf *der);

/* Modulus and public exponent of a DER private key, big-endian without leading zeros. */
sim_status sim_key_rsa_public(const uint8_t *der, size_t len, vt_buf *n, vt_buf *e);

/* Build a DER private key from CRT parts (big-endian, each half the modulus length) and
 * the public exponent. SIM_ERR_ARGS when the parts do not make a consistent key. */
sim_status sim_key_rsa_from_crt(const uint8_t *p, const uint8_t *q, const uint8_t *dmp1,
                                const uint8_t *dmq1, const uint8_t *iqmp, size_t half,
                                const uint8_t *e, size_t elen, vt_buf *der);

/* out = in^d mod n for a big-endian in of exactly the modulus length; *outlen is the
 * capacity on entry and the modulus length on return. SIM_ERR_ARGS when in >= n or the
 * length is wrong. Decodes the key for this one operation. */
sim_status sim_key_rsa_private(const uint8_t *der, size_t derlen, const uint8_t *in, size_t inlen,
                               uint8_t *out, size_t *outlen);

/* Decode a DER private key once for many operations (sim_rsa_key, sim_int.h). SIM_ERR_ARGS
 * when it is not an RSA key. */
sim_status sim_key_rsa_load(const uint8_t *der, size_t len, sim_rsa_key *out);
void sim_key_rsa_unload(sim_rsa_key *k); /* drops this reference to the key */
/* sim_key_rsa_private with a loaded key; several threads may use one key at once. */
sim_status sim_key_rsa_private_loaded(const sim_rsa_key *k, const uint8_t *in, size_t inlen,
                                      uint8_t *out, size_t *outlen);

#endif
