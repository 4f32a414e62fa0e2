/*  =========================================================================
    zcq_seal - personal fields sealed with a stream's key (see zcq_seal.h)
    =========================================================================
*/

#include "zcq_seal.h"
#include "zcq_mpack.h"

#include <assert.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

//  libsodium's own initialisation is idempotent and thread-safe
static void
s_init (void)
{
    int rc = sodium_init ();
    assert (rc >= 0);
    (void) rc;
}

void
zcq_seal_key_new (uint8_t key [ZCQ_SEAL_KEY])
{
    s_init ();
    crypto_aead_xchacha20poly1305_ietf_keygen (key);
}

void
zcq_seal_pack_bytes (msgpack_packer *packer, const void *plain, size_t size,
                     const uint8_t key [ZCQ_SEAL_KEY], const char *stream)
{
    s_init ();
    size_t sealed_size = ZCQ_SEAL_NONCE + size + ZCQ_SEAL_TAG;
    uint8_t *sealed = (uint8_t *) malloc (sealed_size);
    assert (sealed);
    randombytes_buf (sealed, ZCQ_SEAL_NONCE);
    unsigned long long written = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt (
        sealed + ZCQ_SEAL_NONCE, &written, (const uint8_t *) plain, size,
        (const uint8_t *) stream, strlen (stream), NULL, sealed, key);
    assert (written == size + ZCQ_SEAL_TAG);
    msgpack_pack_ext (packer, sealed_size, ZCQ_SEAL_EXT);
    msgpack_pack_ext_body (packer, sealed, sealed_size);
    free (sealed);
}

int
zcq_seal_open_bytes (const msgpack_object *sealed, const uint8_t key [ZCQ_SEAL_KEY],
                     const char *stream, uint8_t **plain, size_t *size)
{
    if (sealed->type != MSGPACK_OBJECT_EXT || sealed->via.ext.type != ZCQ_SEAL_EXT
        || sealed->via.ext.size < ZCQ_SEAL_NONCE + ZCQ_SEAL_TAG || !key) {
        return -1;
    }
    s_init ();
    const uint8_t *bytes = (const uint8_t *) sealed->via.ext.ptr;
    size_t cipher = sealed->via.ext.size - ZCQ_SEAL_NONCE;
    *plain = (uint8_t *) malloc (cipher - ZCQ_SEAL_TAG + 1);
    assert (*plain);
    unsigned long long opened = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt (
            *plain, &opened, NULL, bytes + ZCQ_SEAL_NONCE, cipher, (const uint8_t *) stream,
            strlen (stream), bytes, key)
        != 0) {
        free (*plain);
        *plain = NULL;
        return -1;
    }
    *size = (size_t) opened;
    return 0;
}

static bool
s_listed (const msgpack_object *name, const char *const *fields)
{
    for (size_t index = 0; name->type == MSGPACK_OBJECT_STR && fields [index]; index++) {
        if (strlen (fields [index]) == name->via.str.size
            && memcmp (fields [index], name->via.str.ptr, name->via.str.size) == 0) {
            return true;
        }
    }
    return false;
}

bool
zcq_seal_wanted (const msgpack_object *data, const char *const *fields)
{
    for (uint32_t index = 0;
         fields && data->type == MSGPACK_OBJECT_MAP && index < data->via.map.size; index++) {
        if (s_listed (&data->via.map.ptr [index].key, fields)) {
            return true;
        }
    }
    return false;
}

size_t
zcq_seal_data (const msgpack_object *data, const char *const *fields,
               const uint8_t key [ZCQ_SEAL_KEY], const char *stream, msgpack_sbuffer *out)
{
    assert (data && key && stream && out);
    if (!fields || data->type != MSGPACK_OBJECT_MAP) {
        return 0;
    }
    const msgpack_object_map *map = &data->via.map;
    size_t found = 0;
    for (uint32_t index = 0; index < map->size; index++) {
        found += s_listed (&map->ptr [index].key, fields);
    }
    if (found == 0) {
        return 0;
    }
    msgpack_packer packer;
    msgpack_packer_init (&packer, out, msgpack_sbuffer_write);
    msgpack_sbuffer value;
    msgpack_sbuffer_init (&value);
    msgpack_packer value_packer;
    msgpack_packer_init (&value_packer, &value, msgpack_sbuffer_write);
    msgpack_pack_map (&packer, map->size);
    for (uint32_t index = 0; index < map->size; index++) {
        msgpack_pack_object (&packer, map->ptr [index].key);
        if (s_listed (&map->ptr [index].key, fields)) {
            value.size = 0;
            msgpack_pack_object (&value_packer, map->ptr [index].val);
            zcq_seal_pack_bytes (&packer, value.data, value.size, key, stream);
        }
        else {
            msgpack_pack_object (&packer, map->ptr [index].val);
        }
    }
    msgpack_sbuffer_destroy (&value);
    return found;
}

static bool
s_sealed (const msgpack_object *value)
{
    return value->type == MSGPACK_OBJECT_EXT && value->via.ext.type == ZCQ_SEAL_EXT;
}

size_t
zcq_seal_open (const void *data, size_t size, const uint8_t *key, const char *stream, bool keep,
               msgpack_sbuffer *out)
{
    assert (stream && out);
    if (!zcq_seal_maybe (data, size)) {
        return 0;
    }
    msgpack_unpacked unpacked;
    if (zcq_mpack_unpack (data, size, &unpacked) != 0) {
        return 0;
    }
    //  What changes: the values that open, and with keep false the others
    size_t found = 0;
    const msgpack_object *map = &unpacked.data;
    for (uint32_t index = 0; map->type == MSGPACK_OBJECT_MAP && index < map->via.map.size;
         index++) {
        const msgpack_object *value = &map->via.map.ptr [index].val;
        uint8_t *plain = NULL;
        size_t plain_size = 0;
        found +=
            s_sealed (value)
            && (!keep || zcq_seal_open_bytes (value, key, stream, &plain, &plain_size) == 0);
        free (plain);
    }
    if (found > 0) {
        msgpack_packer packer;
        msgpack_packer_init (&packer, out, msgpack_sbuffer_write);
        msgpack_pack_map (&packer, map->via.map.size);
        for (uint32_t index = 0; index < map->via.map.size; index++) {
            const msgpack_object_kv *pair = &map->via.map.ptr [index];
            msgpack_pack_object (&packer, pair->key);
            uint8_t *plain = NULL;
            size_t plain_size = 0;
            if (!s_sealed (&pair->val)) {
                msgpack_pack_object (&packer, pair->val);
            }
            else if (zcq_seal_open_bytes (&pair->val, key, stream, &plain, &plain_size) == 0
                     && zcq_mpack_plausible (plain, plain_size)) {
                //  One whole value, as sealed: its bytes go in as they are
                msgpack_sbuffer_write (out, (const char *) plain, plain_size);
            }
            else if (keep) {
                msgpack_pack_object (&packer, pair->val); //  ciphertext, as stored
            }
            else {
                msgpack_pack_nil (&packer); //  forgotten
            }
            free (plain);
        }
    }
    msgpack_unpacked_destroy (&unpacked);
    return found;
}

//  Does an ext header start at index: ext 8 / 16 / 32 (c7 len type, c8 len
//  len type, c9 len*4 type) of the seal's type?
static bool
s_seal_header_at (const uint8_t *at, size_t size, size_t index)
{
    return index + 2 < size
           && ((at [index] == 0xc7 && at [index + 2] == ZCQ_SEAL_EXT)
               || (at [index] == 0xc8 && index + 3 < size && at [index + 3] == ZCQ_SEAL_EXT)
               || (at [index] == 0xc9 && index + 5 < size && at [index + 5] == ZCQ_SEAL_EXT));
}

bool
zcq_seal_maybe (const void *bytes, size_t size)
{
    //  Each header byte looked for with memchr (a few bytes at a time)
    //  rather than every byte looked at in turn: most events have none
    static const uint8_t heads [] = {0xc7, 0xc8, 0xc9};
    const uint8_t *at = (const uint8_t *) bytes;
    for (size_t head = 0; size > 2 && head < sizeof (heads); head++) {
        const uint8_t *from = at, *end = at + size - 2; //  a header needs 3 bytes
        const uint8_t *hit;
        while (
            from < end
            && (hit = (const uint8_t *) memchr (from, heads [head], (size_t) (end - from)))) {
            if (s_seal_header_at (at, size, (size_t) (hit - at))) {
                return true;
            }
            from = hit + 1;
        }
    }
    return false;
}
