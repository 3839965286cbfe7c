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
