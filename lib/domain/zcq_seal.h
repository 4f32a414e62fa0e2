/*  =========================================================================
    zcq_seal - personal fields sealed with a stream's key (crypto-shredding)

    A domain names its personal fields (zcq_domain_t.personal_fields, top-
    level keys of event data). The write node seals each one's value before
    the event is stored: the value, packed as MessagePack, is encrypted and
    authenticated with XChaCha20-Poly1305 (libsodium) under a 32-uint8_t key
    of its stream, the stream's name as additional data, and stored as a
    MessagePack ext value of type ZCQ_SEAL_EXT holding the 24-uint8_t nonce and
    the ciphertext (protocol section 6.3.2). Destroying the key (Forget)
    leaves only ciphertext: opened without the key, a sealed value reads as
    nil, which is how evolve, project and queries see a forgotten field.
    Stateless; safe from any thread.
    =========================================================================
*/

#ifndef ZCQ_SEAL_H_INCLUDED
#define ZCQ_SEAL_H_INCLUDED

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ZCQ_SEAL_EXT   1  //  MessagePack ext type of a sealed value
#define ZCQ_SEAL_KEY   32 //  bytes in a stream key
#define ZCQ_SEAL_NONCE 24 //  bytes of nonce in front of each ciphertext
#define ZCQ_SEAL_TAG   16 //  bytes the authentication adds

//  Fill key with a new random stream key.
void
    zcq_seal_key_new (uint8_t key [ZCQ_SEAL_KEY]);

//  Pack data (a map) into out with the values of the named top-level keys
//  (NULL-terminated list) sealed with key for stream. Returns how many it
//  sealed; with 0, out holds nothing new and data is to be kept as it is.
size_t
    zcq_seal_data (const msgpack_object *data, const char *const *fields,
                   const uint8_t key [ZCQ_SEAL_KEY], const char *stream, msgpack_sbuffer *out);

//  Pack data (MessagePack bytes of a map) into out with every sealed top-
//  level value opened with key (NULL: the key is gone); a value that does
//  not open under it (forgotten, or not this stream's) becomes nil, or
//  with keep stays as it is (ciphertext). Returns how many sealed values
//  it opened, or with keep false turned to nil; with 0, out holds nothing
//  new and data is to be kept as it is.
size_t
    zcq_seal_open (const void *data, size_t size, const uint8_t *key, const char *stream,
                   bool keep, msgpack_sbuffer *out);

//  True if data (a map) has a value under one of the named keys.
bool
    zcq_seal_wanted (const msgpack_object *data, const char *const *fields);

//  Pack plain bytes, sealed with key for stream, as one ext value.
void
    zcq_seal_pack_bytes (msgpack_packer *packer, const void *plain, size_t size,
                         const uint8_t key [ZCQ_SEAL_KEY], const char *stream);

//  Open an ext value packed by zcq_seal_pack_bytes. Returns 0 with the
//  plain bytes in *plain (caller frees) and *size, or -1 if it is not a
//  sealed value or does not open under key.
int
    zcq_seal_open_bytes (const msgpack_object *sealed, const uint8_t key [ZCQ_SEAL_KEY],
                         const char *stream, uint8_t **plain, size_t *size);

//  True if bytes may hold a sealed value (an ext header of ZCQ_SEAL_EXT):
//  a cheap test before decoding. False means they surely hold none.
bool
    zcq_seal_maybe (const void *bytes, size_t size);

#ifdef __cplusplus
}
#endif

#endif
