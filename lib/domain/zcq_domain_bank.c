/*  =========================================================================
    zcq_domain_bank - the default domain: bank accounts, one per stream

    Commands: OpenAccount {owner}, Deposit {amount}, Withdraw {amount},
    CloseAccount {}. Amounts are positive integers in cents. Events:
    AccountOpened {owner}, MoneyDeposited {amount}, MoneyWithdrawn {amount},
    AccountClosed {}.

    Read models (keys in the view, values packed msgpack maps):
        account/<stream>                 {owner, balance, status, version}
        by-owner/<hash>/<stream>         empty; <hash> is 32 hex digits of
                                         the owner's BLAKE2b-128, so no
                                         owner is in a key (nor a prefix
                                         of another)

    owner is personal (crypto-shredding): the write node stores it sealed;
    after $Forget it folds as nil, the account record keeps owner nil, the
    owner entry goes and the account query answers "forgotten": ["owner"].
        totals                           {accounts, open_accounts, balance,
                                          events}
    =========================================================================
*/

#include "zcq_domain.h"

#include "zcq_text.h"

#include <sodium.h>

#include <inttypes.h>

#define OWNER_MAX 128 //  bytes in an account owner

static const char *const s_command_types [] = {"OpenAccount", "Deposit", "Withdraw",
                                               "CloseAccount", NULL};
static const char *const s_query_names [] = {"account", "accounts-by-owner", "totals", NULL};

//  One account: the write node's state, and the read model's record.
typedef struct {
    bool exists;     //  AccountOpened was applied
    bool closed;     //  AccountClosed was applied
    int64_t balance; //  cents, never negative
    char *owner;     //  account owner, owned; NULL until opened (or when borrowed)
    //  A projection that stores the account again borrows its owner as
    //  packed in the record read (a str in the view's bytes, valid until
    //  the view's next call) instead of copying it into owner
    const byte *owner_packed; //  the owner's packed bytes, or NULL
    size_t owner_packed_size; //  bytes in owner_packed
} s_account_t;

//  The "totals" read model.
typedef struct {
    uint64_t accounts;      //  accounts ever opened
    uint64_t open_accounts; //  accounts open now
    int64_t balance;        //  sum of balances, cents (saturates at INT64_MAX)
    uint64_t events;        //  bank events applied
} s_totals_t;

static void *
s_state_new (void)
{
    s_account_t *account = (s_account_t *) zmalloc (sizeof (s_account_t));
    assert (account);
    return account;
}

static void
s_state_destroy (void *state)
{
    s_account_t *account = (s_account_t *) state;
    if (account) {
        free (account->owner);
        free (account);
    }
}

//  Fold one event into an account. Returns true if it applied; an event
//  that does not fit the account, or is not a bank event, is ignored.
static bool
s_apply (s_account_t *account, const zcq_event_t *event)
{
    char reason [ZCQ_REASON_MAX];
    if (streq (event->type, "AccountOpened")) {
        char *owner = NULL;
        const msgpack_object *sealed = zcq_map_get (event->data, "owner");
        bool forgotten = sealed && sealed->type == MSGPACK_OBJECT_NIL; //  its key is gone
        if (account->exists
            || (!forgotten
                && zcq_map_string (event->data, "owner", OWNER_MAX, &owner, reason))) {
            return false;
        }
        account->exists = true;
        account->owner = owner;
        return true;
    }
    if (!account->exists || account->closed) {
        return false;
    }
    if (streq (event->type, "AccountClosed")) {
        account->closed = true;
        return true;
    }
    int64_t amount, balance;
    if (zcq_map_positive (event->data, "amount", &amount, reason)) {
        return false;
    }
    if (streq (event->type, "MoneyDeposited")
        && !__builtin_add_overflow (account->balance, amount, &balance)) {
        account->balance = balance;
        return true;
    }
    if (streq (event->type, "MoneyWithdrawn") && amount <= account->balance) {
        account->balance -= amount;
        return true;
    }
    return false;
}

static void
s_evolve (void *state, const zcq_event_t *event)
{
    s_apply ((s_account_t *) state, event);
}

//  Snapshot of an account: [exists, closed, balance, owner or nil].
static int
s_state_save (const void *state, msgpack_packer *packer)
{
    const s_account_t *account = (const s_account_t *) state;
    msgpack_pack_array (packer, 4);
    if (account->exists) {
        msgpack_pack_true (packer);
    }
    else {
        msgpack_pack_false (packer);
    }
    if (account->closed) {
        msgpack_pack_true (packer);
    }
    else {
        msgpack_pack_false (packer);
    }
    msgpack_pack_int64 (packer, account->balance);
    if (account->owner) {
        zcq_mpack_pack_str (packer, account->owner);
    }
    else {
        msgpack_pack_nil (packer);
    }
    return 0;
}

static int
s_state_load (void *state, const msgpack_object *saved)
{
    s_account_t *account = (s_account_t *) state;
    if (saved->type != MSGPACK_OBJECT_ARRAY || saved->via.array.size != 4) {
        return -1;
    }
    const msgpack_object *item = saved->via.array.ptr;
    bool numeric = item [2].type == MSGPACK_OBJECT_POSITIVE_INTEGER
                   || item [2].type == MSGPACK_OBJECT_NEGATIVE_INTEGER;
    if (item [0].type != MSGPACK_OBJECT_BOOLEAN || item [1].type != MSGPACK_OBJECT_BOOLEAN
        || !numeric || item [2].via.i64 < 0
        || (item [3].type != MSGPACK_OBJECT_STR && item [3].type != MSGPACK_OBJECT_NIL)
        || (item [3].type == MSGPACK_OBJECT_STR && item [3].via.str.size > OWNER_MAX)) {
        return -1;
    }
    account->exists = item [0].via.boolean;
    account->closed = item [1].via.boolean;
    account->balance = item [2].via.i64;
    free (account->owner);
    account->owner = item [3].type == MSGPACK_OBJECT_STR
                         ? strndup (item [3].via.str.ptr, item [3].via.str.size)
                         : NULL;
    return 0;
}

//  Emit an event whose data is {amount}.
static void
s_emit_amount (zcq_decision_t *decision, const char *event_type, int64_t amount)
{
    msgpack_packer *packer = zcq_decision_emit (decision, event_type);
    msgpack_pack_map (packer, 1);
    zcq_mpack_pack_str (packer, "amount");
    msgpack_pack_int64 (packer, amount);
}

static void
s_open_account (const s_account_t *account, const zcq_command_t *command,
                zcq_decision_t *decision)
{
    char reason [ZCQ_REASON_MAX];
    char *owner;
    if (zcq_map_string (command->data, "owner", OWNER_MAX, &owner, reason)) {
        zcq_decision_invalid (decision, "%s", reason);
        return;
    }
    if (account->exists) {
        zcq_decision_reject (decision, "account '%s' already exists", command->stream);
    }
    else {
        msgpack_packer *packer = zcq_decision_emit (decision, "AccountOpened");
        msgpack_pack_map (packer, 1);
        zcq_mpack_pack_str (packer, "owner");
        zcq_mpack_pack_str (packer, owner);
    }
    free (owner);
}

static void
s_decide (const void *state, const zcq_command_t *command, zcq_decision_t *decision)
{
    const s_account_t *account = (const s_account_t *) state;
    assert (account);
    const char *type = command->type;
    //  A field the command does not take is refused by name, not dropped
    static const char *const s_owner [] = {"owner", NULL};
    static const char *const s_amount [] = {"amount", NULL};
    static const char *const s_nothing [] = {NULL};
    const char *const *fields = streq (type, "OpenAccount")                           ? s_owner
                                : streq (type, "Deposit") || streq (type, "Withdraw") ? s_amount
                                : streq (type, "CloseAccount") ? s_nothing
                                                               : NULL;
    char unknown [ZCQ_REASON_MAX];
    if (fields && zcq_map_only (command->data, fields, unknown) != 0) {
        zcq_decision_invalid (decision, "%s", unknown);
        return;
    }
    if (streq (type, "OpenAccount")) {
        s_open_account (account, command, decision);
        return;
    }
    bool moves_money = streq (type, "Deposit") || streq (type, "Withdraw");
    if (!moves_money && !streq (type, "CloseAccount")) {
        zcq_decision_invalid (decision, "unknown command type '%s'", type);
        return;
    }
    //  Malformed data is invalid whatever the account's state
    char reason [ZCQ_REASON_MAX];
    int64_t amount = 0;
    if (moves_money && zcq_map_positive (command->data, "amount", &amount, reason)) {
        zcq_decision_invalid (decision, "%s", reason);
    }
    else if (!account->exists) {
        zcq_decision_reject (decision, "account '%s' does not exist", command->stream);
    }
    else if (account->closed) {
        zcq_decision_reject (decision, "account '%s' is closed", command->stream);
    }
    else if (streq (type, "Deposit")) {
        if (account->balance > INT64_MAX - amount) {
            zcq_decision_reject (decision,
                                 "deposit of %" PRId64 " would overflow balance %" PRId64,
                                 amount, account->balance);
        }
        else {
            s_emit_amount (decision, "MoneyDeposited", amount);
        }
    }
    else if (streq (type, "Withdraw")) {
        if (amount > account->balance) {
            zcq_decision_reject (decision,
                                 "insufficient funds: balance %" PRId64 ", withdrawal %" PRId64,
                                 account->balance, amount);
        }
        else {
            s_emit_amount (decision, "MoneyWithdrawn", amount);
        }
    }
    else if (account->balance != 0) {
        zcq_decision_reject (decision, "cannot close account '%s' with balance %" PRId64,
                             command->stream, account->balance);
    }
    else {
        msgpack_pack_map (zcq_decision_emit (decision, "AccountClosed"), 0);
    }
}

//  --- Read models -------------------------------------------------------------

//  A read model as the view holds it: its map, its pairs in a pool on the
//  stack (a record is a flat map), or unpacked by msgpack-c when the pool
//  cannot hold it.
#define RECORD_PAIRS 8 //  pairs a record unpacks into without allocating
typedef struct {
    msgpack_object map;                     //  the record's map
    msgpack_object_kv pairs [RECORD_PAIRS]; //  its pairs, when it fits
    msgpack_unpacked unpacked;              //  else msgpack-c's object
} s_read_t;

//  Unpack the value of a read model (key names it in the log), size bytes
//  at value as zcq_view_peek lent them, without copying it. Returns 0, or
//  -1 on a value that is not a map (logged). On 0, read->map points into
//  value, valid as long as it is; destroy with s_read_done.
static int
s_unpack_map (const char *key, const byte *value, size_t size, s_read_t *read)
{
    int rc = 0;
    msgpack_unpacked_init (&read->unpacked);
    if (zcq_mpack_unpack_pool (value, size, read->pairs, RECORD_PAIRS, &read->map)) {
        if (zcq_mpack_unpack (value, size, &read->unpacked) == 0) {
            read->map = read->unpacked.data;
        }
        else {
            read->map.type = MSGPACK_OBJECT_NIL;
        }
    }
    if (read->map.type != MSGPACK_OBJECT_MAP) {
        zsys_error ("bank: read model '%s' is not a msgpack map", key);
        msgpack_unpacked_destroy (&read->unpacked);
        rc = -1;
    }
    return rc;
}

static void
s_read_done (s_read_t *read)
{
    msgpack_unpacked_destroy (&read->unpacked);
}

//  Keys of the read models, built on the stack: no allocation per event
#define ACCOUNT_PREFIX "account/"
#define OWNER_PREFIX   "by-owner/"
#define HASH_HEX       32 //  hex digits of an owner's hash
#define KEY_MAX        (sizeof OWNER_PREFIX + HASH_HEX + 1 + ZCQ_MAX_STREAM + 1)
typedef char s_key_t [KEY_MAX];

//  "account/<stream>" in key; returns key. Streams are at most
//  ZCQ_MAX_STREAM bytes (the codec and the query's parameter check).
static const char *
s_account_key (s_key_t key, const char *stream)
{
    size_t length = strlen (stream);
    assert (length <= ZCQ_MAX_STREAM);
    memcpy (key, ACCOUNT_PREFIX, sizeof ACCOUNT_PREFIX - 1);
    memcpy (key + sizeof ACCOUNT_PREFIX - 1, stream, length + 1);
    return key;
}

//  --- Records read in place ----------------------------------------------------

//  The bank packs every record it stores in one layout (s_account_store,
//  s_totals_record): a fixmap of its keys in a fixed order, each key a
//  fixstr, each integer in msgpack's smallest form. A projection reads
//  two records per event, so a record in that layout is read straight
//  from its bytes, without unpacking it into objects nor looking its keys
//  up; a record in any other layout (an older node's, or damaged) goes
//  through s_unpack_map, which reads any map and names what is wrong. Both
//  give the same fields for the same bytes.

//  Take an owner: a str of at most OWNER_MAX bytes of UTF-8 (as
//  zcq_map_string checks it), copied into account->owner, or with borrow
//  lent as its packed bytes (account->owner_packed); or nil (neither).
static bool
s_take_owner (zcq_mpack_cursor_t *cursor, s_account_t *account, bool borrow)
{
    const byte *packed = cursor->at, *text;
    size_t size;
    if (ZCQ_MPACK_TAKE_PACKED (cursor, "\xc0")) {
        return true;
    }
    if (!zcq_mpack_take_str (cursor, &text, &size) || size == 0 || size > OWNER_MAX
        || !zcq_text_is_utf8 (text, size)) {
        return false;
    }
    if (borrow) {
        account->owner_packed = packed;
        account->owner_packed_size = (size_t) (cursor->at - packed);
        return true;
    }
    char **owner = &account->owner;
    *owner = (char *) malloc (size + 1);
    assert (*owner);
    memcpy (*owner, text, size);
    (*owner) [size] = 0;
    return true;
}

//  Read an account record packed by s_account_store (with borrow, its
//  owner lent: see s_account_t). Returns true with its fields, or false
//  (nothing set) if the bytes are in another layout.
static bool
s_account_read_packed (const byte *value, size_t size, s_account_t *account, uint64_t *version,
                       bool borrow)
{
    zcq_mpack_cursor_t cursor = {value, value + size};
    s_account_t read = {0};
    uint64_t balance;
    bool closed = false;
    bool packed = ZCQ_MPACK_TAKE_PACKED (&cursor, "\x84\xa5"
                                                  "owner")
                  && s_take_owner (&cursor, &read, borrow)
                  && ZCQ_MPACK_TAKE_PACKED (&cursor, "\xa7"
                                                     "balance")
                  && zcq_mpack_take_uint (&cursor, &balance) && balance <= INT64_MAX
                  && ZCQ_MPACK_TAKE_PACKED (&cursor, "\xa6"
                                                     "status")
                  && ((closed = ZCQ_MPACK_TAKE_PACKED (&cursor, "\xa6"
                                                                "closed"))
                      || ZCQ_MPACK_TAKE_PACKED (&cursor, "\xa4"
                                                         "open"))
                  && ZCQ_MPACK_TAKE_PACKED (&cursor, "\xa7"
                                                     "version")
                  && zcq_mpack_take_uint (&cursor, version) && cursor.at == cursor.end;
    if (!packed) {
        free (read.owner);
        return false;
    }
    read.exists = true;
    read.closed = closed;
    read.balance = (int64_t) balance;
    *account = read;
    return true;
}

//  Read the totals packed by s_totals_record. Returns true with its fields,
//  or false (totals unchanged) if the bytes are in another layout.
static bool
s_totals_read_packed (const byte *value, size_t size, s_totals_t *totals)
{
    zcq_mpack_cursor_t cursor = {value, value + size};
    s_totals_t read;
    uint64_t balance;
    bool packed = ZCQ_MPACK_TAKE_PACKED (&cursor, "\x84\xa8"
                                                  "accounts")
                  && zcq_mpack_take_uint (&cursor, &read.accounts)
                  && ZCQ_MPACK_TAKE_PACKED (&cursor, "\xad"
                                                     "open_accounts")
                  && zcq_mpack_take_uint (&cursor, &read.open_accounts)
                  && ZCQ_MPACK_TAKE_PACKED (&cursor, "\xa7"
                                                     "balance")
                  && zcq_mpack_take_uint (&cursor, &balance) && balance <= INT64_MAX
                  && ZCQ_MPACK_TAKE_PACKED (&cursor, "\xa6"
                                                     "events")
                  && zcq_mpack_take_uint (&cursor, &read.events) && cursor.at == cursor.end;
    if (packed) {
        read.balance = (int64_t) balance;
        *totals = read;
    }
    return packed;
}

//  Load an account record and its version; with borrow, its owner may be
//  lent (see s_account_t) rather than copied. Returns 0, 1 if absent, -1
//  on error.
static int
s_account_load (zcq_view_t *view, const char *stream, s_account_t *account, uint64_t *version,
                bool borrow)
{
    s_key_t key;
    s_account_key (key, stream);
    const byte *value;
    size_t size;
    int rc = zcq_view_peek (view, key, &value, &size);
    if (rc != 0 || s_account_read_packed (value, size, account, version, borrow)) {
        return rc;
    }
    s_read_t record;
    rc = s_unpack_map (key, value, size, &record);
    if (rc == 0) {
        char reason [ZCQ_REASON_MAX];
        uint64_t balance;
        const msgpack_object *status = zcq_map_get (&record.map, "status");
        const msgpack_object *owner = zcq_map_get (&record.map, "owner");
        bool forgotten = owner && owner->type == MSGPACK_OBJECT_NIL;
        if ((!forgotten
             && zcq_map_string (&record.map, "owner", OWNER_MAX, &account->owner, reason))
            || zcq_map_uint (&record.map, "balance", 0, &balance, reason) || balance > INT64_MAX
            || zcq_map_uint (&record.map, "version", 0, version, reason) || !status
            || status->type != MSGPACK_OBJECT_STR) {
            zsys_error ("bank: read model '%s' is damaged", key);
            rc = -1;
        }
        else {
            account->exists = true;
            account->balance = (int64_t) balance;
            account->closed =
                status->via.str.size == 6 && memcmp (status->via.str.ptr, "closed", 6) == 0;
        }
        s_read_done (&record);
    }
    return rc;
}

//  A record packed on the stack: a put without allocation. A record is
//  bounded (an owner is at most OWNER_MAX bytes), so it always fits.
#define RECORD_MAX 512 //  bytes of a packed record
typedef struct {
    char data [RECORD_MAX]; //  packed bytes
    size_t size;            //  bytes in data
} s_record_t;

//  Append bytes that are already packed msgpack to a packer.
static void
s_pack_raw (msgpack_packer *packer, const void *data, size_t size)
{
    if (size) {
        packer->callback (packer->data, (const char *) data, size);
    }
}

//  An owner, or nil once forgotten.
static void
s_pack_owner (msgpack_packer *packer, const char *owner)
{
    if (owner) {
        zcq_mpack_pack_str (packer, owner);
    }
    else {
        msgpack_pack_nil (packer);
    }
}

//  A record is written byte by byte in the layout that msgpack-c packs
//  (smallest forms), which s_account_read_packed and s_totals_read_packed
//  read back: bytes equal to what msgpack-c would pack, so that read
//  models, and their checksum, stay the same from node to node.
static void
s_record_add (s_record_t *record, const void *bytes, size_t size)
{
    assert (size <= RECORD_MAX - record->size); //  records are bounded (see above)
    memcpy (record->data + record->size, bytes, size);
    record->size += size;
}

//  A string known when compiled, packed as a fixstr (its header byte
//  written with it, as "\xa5" "owner"): one write, no strlen.
#define S_RECORD_FIXSTR(record, packed) s_record_add (record, packed, sizeof (packed) - 1)

//  Room at the end of a record for one scalar or header (records are
//  bounded: see RECORD_MAX), and the record grown to where it ends.
static uint8_t *
s_record_room (s_record_t *record)
{
    assert (RECORD_MAX - record->size >= ZCQ_MPACK_PUT_MAX);
    return (uint8_t *) record->data + record->size;
}

static void
s_record_end (s_record_t *record, const uint8_t *end)
{
    record->size = (size_t) ((const char *) end - record->data);
}

//  An unsigned integer in its smallest form.
static void
s_record_uint (s_record_t *record, uint64_t value)
{
    s_record_end (record, zcq_mpack_put_uint (s_record_room (record), value));
}

//  A signed integer as msgpack-c packs an int64.
static void
s_record_int (s_record_t *record, int64_t value)
{
    s_record_end (record, zcq_mpack_put_int (s_record_room (record), value));
}

//  An owner as a str, or nil once forgotten.
static void
s_record_owner (s_record_t *record, const char *owner)
{
    if (owner) {
        size_t size = strlen (owner);
        s_record_end (record, zcq_mpack_put_str_header (s_record_room (record), size));
        s_record_add (record, owner, size);
    }
    else {
        s_record_add (record, "\xc0", 1); //  nil
    }
}

static void
s_account_store (zcq_view_t *view, const char *stream, const s_account_t *account,
                 uint64_t version)
{
    s_record_t record = {.size = 0};
    S_RECORD_FIXSTR (&record, "\x84\xa5"
                              "owner");
    if (account->owner_packed) {
        s_record_add (&record, account->owner_packed, account->owner_packed_size);
    }
    else {
        s_record_owner (&record, account->owner);
    }
    S_RECORD_FIXSTR (&record, "\xa7"
                              "balance");
    s_record_int (&record, account->balance);
    S_RECORD_FIXSTR (&record, "\xa6"
                              "status");
    if (account->closed) {
        S_RECORD_FIXSTR (&record, "\xa6"
                                  "closed");
    }
    else {
        S_RECORD_FIXSTR (&record, "\xa4"
                                  "open");
    }
    S_RECORD_FIXSTR (&record, "\xa7"
                              "version");
    s_record_uint (&record, version);
    s_key_t key;
    zcq_view_put (view, s_account_key (key, stream), record.data, record.size);
}

//  Load the totals (zeros when absent). Returns 0 or -1 on error.
static int
s_totals_load (zcq_view_t *view, s_totals_t *totals)
{
    memset (totals, 0, sizeof (s_totals_t));
    const byte *value;
    size_t size;
    int rc = zcq_view_peek (view, "totals", &value, &size);
    if (rc != 0 || s_totals_read_packed (value, size, totals)) {
        return rc == 1 ? 0 : rc;
    }
    s_read_t record;
    rc = s_unpack_map ("totals", value, size, &record);
    if (rc == 0) {
        char reason [ZCQ_REASON_MAX];
        uint64_t balance = 0;
        if (zcq_map_uint (&record.map, "accounts", 0, &totals->accounts, reason)
            || zcq_map_uint (&record.map, "open_accounts", 0, &totals->open_accounts, reason)
            || zcq_map_uint (&record.map, "balance", 0, &balance, reason) || balance > INT64_MAX
            || zcq_map_uint (&record.map, "events", 0, &totals->events, reason)) {
            zsys_error ("bank: read model 'totals' is damaged");
            rc = -1;
        }
        totals->balance = (int64_t) balance;
        s_read_done (&record);
    }
    return rc == 1 ? 0 : rc;
}

//  The totals as a packed map; the read model and the query's answer alike.
static void
s_totals_record (const s_totals_t *totals, s_record_t *record)
{
    record->size = 0;
    S_RECORD_FIXSTR (record, "\x84\xa8"
                             "accounts");
    s_record_uint (record, totals->accounts);
    S_RECORD_FIXSTR (record, "\xad"
                             "open_accounts");
    s_record_uint (record, totals->open_accounts);
    S_RECORD_FIXSTR (record, "\xa7"
                             "balance");
    s_record_int (record, totals->balance);
    S_RECORD_FIXSTR (record, "\xa6"
                             "events");
    s_record_uint (record, totals->events);
}

static void
s_totals_store (zcq_view_t *view, const s_totals_t *totals)
{
    s_record_t record;
    s_totals_record (totals, &record);
    zcq_view_put (view, "totals", record.data, record.size);
}

//  Return the owner index prefix "by-owner/<hash>/", hash the 32 hex
//  digits of the owner's BLAKE2b-128; caller frees. Not the owner itself:
//  LevelDB keeps keys in its MANIFEST and LOG files after compaction has
//  dropped them, and an owner is personal (section 10.14)
static char *
s_owner_prefix (const char *owner)
{
    byte hash [HASH_HEX / 2];
    crypto_generichash (hash, sizeof hash, (const byte *) owner, strlen (owner), NULL, 0);
    char hex [HASH_HEX + 1];
    sodium_bin2hex (hex, sizeof hex, hash, sizeof hash);
    return zsys_sprintf (OWNER_PREFIX "%s/", hex);
}

//  Drop an account's owner entry and its owner (now NULL).
static void
s_drop_owner (zcq_view_t *view, const char *stream, s_account_t *account)
{
    if (account->owner) {
        char *prefix = s_owner_prefix (account->owner);
        char *key = zsys_sprintf ("%s%s", prefix, stream);
        zcq_view_delete (view, key);
        zstr_free (&key);
        free (prefix);
        zstr_free (&account->owner);
    }
}

//  A forgotten account keeps its record with the owner nil, and leaves the
//  owner index: nothing in the read models tells who it was.
static int
s_forget_owner (zcq_view_t *view, const char *stream)
{
    s_account_t account = {0};
    uint64_t version = 0;
    int rc = s_account_load (view, stream, &account, &version, false);
    if (rc == 0 && account.owner) {
        s_drop_owner (view, stream, &account);
        s_account_store (view, stream, &account, version);
    }
    free (account.owner);
    return rc < 0 ? -1 : 0;
}

//  A deleted account leaves the read models as if it had never been: its
//  record and owner entry go, and the totals lose what it added (a query
//  node that folds the log after the deletion never sees its events).
static int
s_forget (zcq_view_t *view, const char *stream)
{
    s_account_t account = {0};
    uint64_t version = 0;
    s_totals_t totals;
    int rc = s_account_load (view, stream, &account, &version, false);
    if (rc == 0 && s_totals_load (view, &totals) == 0) {
        s_drop_owner (view, stream, &account);
        s_key_t key;
        zcq_view_delete (view, s_account_key (key, stream));
        totals.accounts--;
        totals.open_accounts -= !account.closed;
        totals.balance -= totals.balance < INT64_MAX ? account.balance : 0;
        totals.events -= version <= totals.events ? version : totals.events;
        s_totals_store (view, &totals);
    }
    else if (rc == 0) {
        rc = -1;
    }
    free (account.owner);
    return rc < 0 ? -1 : 0;
}

//  Apply the event to the account read model, the owner index and the
//  totals, all through the same s_apply the write node folds with.
static int
s_project (zcq_view_t *view, const zcq_event_t *event)
{
    //  The system's event types start with '$', the bank's never do
    if (event->type [0] == '$' && streq (event->type, ZCQ_STREAM_DELETED)) {
        return s_forget (view, event->stream);
    }
    if (event->type [0] == '$' && streq (event->type, ZCQ_STREAM_FORGOTTEN)) {
        return s_forget_owner (view, event->stream);
    }
    s_account_t account = {0};
    uint64_t version = 0;
    s_totals_t totals;
    //  The totals first: the account's owner stays lent from the view
    //  until the account is stored again, the view's next call
    if (s_totals_load (view, &totals) == -1
        || s_account_load (view, event->stream, &account, &version, true) == -1) {
        free (account.owner);
        return -1;
    }
    s_account_t before = account;
    if (s_apply (&account, event)) {
        if (!before.exists && account.owner) {
            char *prefix = s_owner_prefix (account.owner);
            char *key = zsys_sprintf ("%s%s", prefix, event->stream);
            zcq_view_put (view, key, "", 0);
            free (key);
            free (prefix);
        }
        if (!before.exists) {
            totals.accounts++;
            totals.open_accounts++;
        }
        if (account.closed && !before.closed) {
            totals.open_accounts--;
        }
        //  Both balances are in [0, INT64_MAX], so the change fits
        int64_t change = account.balance - before.balance;
        if (__builtin_add_overflow (totals.balance, change, &totals.balance)) {
            totals.balance = INT64_MAX;
        }
        totals.events++;
        s_account_store (view, event->stream, &account, event->version);
        s_totals_store (view, &totals);
    }
    free (account.owner);
    return 0;
}

//  --- Queries -----------------------------------------------------------------

static void
s_query_account (zcq_view_t *view, const msgpack_object *params, zcq_result_t *answer)
{
    char reason [ZCQ_REASON_MAX];
    char *id;
    if (zcq_map_string (params, "id", ZCQ_MAX_STREAM, &id, reason)) {
        zcq_result_fail (answer, ZCQ_INVALID, "%s", reason);
        return;
    }
    s_account_t account = {0};
    uint64_t version = 0;
    int rc = s_account_load (view, id, &account, &version, false);
    if (rc == 1) {
        zcq_result_fail (answer, ZCQ_NOT_FOUND, "account '%s' does not exist", id);
    }
    else if (rc == -1) {
        zcq_result_fail (answer, ZCQ_UNAVAILABLE, "cannot read account '%s'", id);
    }
    else {
        msgpack_packer *packer = zcq_result_packer (answer);
        msgpack_pack_map (packer, account.owner ? 5 : 6);
        zcq_mpack_pack_str (packer, "id");
        zcq_mpack_pack_str (packer, id);
        zcq_mpack_pack_str (packer, "owner");
        s_pack_owner (packer, account.owner);
        if (!account.owner) {
            //  Crypto-shredded (protocol section 10.14)
            zcq_mpack_pack_str (packer, "forgotten");
            msgpack_pack_array (packer, 1);
            zcq_mpack_pack_str (packer, "owner");
        }
        zcq_mpack_pack_str (packer, "balance");
        msgpack_pack_int64 (packer, account.balance);
        zcq_mpack_pack_str (packer, "status");
        zcq_mpack_pack_str (packer, account.closed ? "closed" : "open");
        zcq_mpack_pack_str (packer, "version");
        msgpack_pack_uint64 (packer, version);
    }
    free (account.owner);
    free (id);
}

//  Scan state for accounts-by-owner: the accounts under one owner's prefix.
typedef struct {
    zlist_t *accounts;  //  account streams, in key order (copies)
    size_t prefix_size; //  bytes of "by-owner/<hash>/"
} s_owner_scan_t;

static int
s_collect_account (const char *key, const byte *value, size_t size, void *arg)
{
    (void) value;
    (void) size;
    s_owner_scan_t *scan = (s_owner_scan_t *) arg;
    zlist_append (scan->accounts, (void *) (key + scan->prefix_size));
    return 0;
}

static void
s_query_by_owner (zcq_view_t *view, const msgpack_object *params, zcq_result_t *answer)
{
    char reason [ZCQ_REASON_MAX];
    char *owner;
    if (zcq_map_string (params, "owner", OWNER_MAX, &owner, reason)) {
        zcq_result_fail (answer, ZCQ_INVALID, "%s", reason);
        return;
    }
    char *prefix = s_owner_prefix (owner);
    s_owner_scan_t scan = {zlist_new (), strlen (prefix)};
    zlist_autofree (scan.accounts);
    if (zcq_view_scan (view, prefix, NULL, s_collect_account, &scan) == -1) {
        zcq_result_fail (answer, ZCQ_UNAVAILABLE, "cannot read accounts of '%s'", owner);
    }
    else {
        //  Pack the items first: the array header needs their number
        msgpack_sbuffer items;
        msgpack_sbuffer_init (&items);
        msgpack_packer packer;
        msgpack_packer_init (&packer, &items, msgpack_sbuffer_write);
        uint32_t count = 0;
        int rc = 0;
        for (const char *id = (const char *) zlist_first (scan.accounts); id && rc != -1;
             id = (const char *) zlist_next (scan.accounts)) {
            s_account_t account = {0};
            uint64_t version;
            rc = s_account_load (view, id, &account, &version, false);
            if (rc == 0) {
                msgpack_pack_map (&packer, 3);
                zcq_mpack_pack_str (&packer, "id");
                zcq_mpack_pack_str (&packer, id);
                zcq_mpack_pack_str (&packer, "balance");
                msgpack_pack_int64 (&packer, account.balance);
                zcq_mpack_pack_str (&packer, "status");
                zcq_mpack_pack_str (&packer, account.closed ? "closed" : "open");
                count++;
            }
            free (account.owner);
        }
        if (rc == -1) {
            zcq_result_fail (answer, ZCQ_UNAVAILABLE, "cannot read accounts of '%s'", owner);
        }
        else {
            msgpack_packer *result = zcq_result_packer (answer);
            msgpack_pack_array (result, count);
            s_pack_raw (result, items.data, items.size);
        }
        msgpack_sbuffer_destroy (&items);
    }
    zlist_destroy (&scan.accounts);
    free (prefix);
    free (owner);
}

static void
s_query (zcq_view_t *view, const char *name, const msgpack_object *params, zcq_result_t *answer)
{
    if (streq (name, "account")) {
        s_query_account (view, params, answer);
    }
    else if (streq (name, "accounts-by-owner")) {
        s_query_by_owner (view, params, answer);
    }
    else if (streq (name, "totals")) {
        s_totals_t totals;
        if (s_totals_load (view, &totals)) {
            zcq_result_fail (answer, ZCQ_UNAVAILABLE, "cannot read the totals");
        }
        else {
            s_record_t record;
            s_totals_record (&totals, &record);
            s_pack_raw (zcq_result_packer (answer), record.data, record.size);
        }
    }
    else {
        zcq_result_fail (answer, ZCQ_UNKNOWN_TYPE, "unknown query '%s'", name);
    }
}

static const char *const s_personal_fields [] = {"owner", NULL};

static const zcq_domain_t s_bank = {
    .abi = ZCQ_DOMAIN_ABI,
    .name = "bank",
    .command_types = s_command_types,
    .query_names = s_query_names,
    .state_new = s_state_new,
    .state_destroy = s_state_destroy,
    .state_save = s_state_save,
    .state_load = s_state_load,
    .evolve = s_evolve,
    .decide = s_decide,
    .project = s_project,
    .query = s_query,
    .personal_fields = s_personal_fields,
    .projection_version = 2, //  2: owner entries keyed by a hash, not the owner
};

const zcq_domain_t *
zcq_bank_domain (void)
{
    return &s_bank;
}
