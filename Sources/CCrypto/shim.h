#include <openssl/evp.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/pem.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>

// BIO_get_mem_data is a function-like macro over BIO_ctrl.
static inline long xo_bio_get_mem_data(BIO *bio, char **data) { return BIO_get_mem_data(bio, data); }

// SHA-256 on a stack context: no allocation and no algorithm lookup, which an EVP
// digest costs on every init. The change tracker hashes every record of every
// shared object with it. OpenSSL 3 marks these functions deprecated in favour of
// EVP; they compute the same digest (checked against FIPS 180 vectors in the tests).
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wdeprecated-declarations"
#include <openssl/sha.h>
static inline void xo_sha256(const void *data, size_t count, unsigned char *digest) {
    SHA256_CTX context;
    SHA256_Init(&context);
    SHA256_Update(&context, data, count);
    SHA256_Final(digest, &context);
}
#pragma clang diagnostic pop
