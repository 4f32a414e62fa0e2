/*  =========================================================================
    zcq_domain_bank - the default domain: bank accounts, one per stream

    Commands: OpenAccount {owner}, Deposit {amount}, Withdraw {amount},
    CloseAccount {}. Amounts are positive integers in cents. Events:
    AccountOpened {owner}, MoneyDeposited {amount}, MoneyWithdrawn {amount},
    AccountClosed {}.

    Read models (keys in the view, values packed msgpack maps):
        account/<stream>                 {owner, balance, status, version}
        by-owner/<len>:<owner>/<stream>  empty; <len> is the owner's size
                                         in bytes, so no owner is a prefix
                                         of another
        totals                           {accounts, open_accounts, balance,
                                          events}
    =========================================================================
*/

#include "zcq_domain.h"

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
    char *owner;     //  account owner, owned; NULL until opened
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
        char *owner;
        if (account->exists
            || zcq_map_string (event->data, "owner", OWNER_MAX, &owner, reason)) {
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

//  Read a packed map from the view. Returns 0, 1 if absent, -1 on a storage
//  error or a value that is not a map (logged). On 0, the map's strings
//  point into *value, which the caller frees after destroying the map.
static int
s_read_map (zcq_view_t *view, const char *key, msgpack_unpacked *map, byte **value)
{
    size_t size;
    int rc = zcq_view_get (view, key, value, &size);
    if (rc == 0
        && (zcq_mpack_unpack (*value, size, map) || map->data.type != MSGPACK_OBJECT_MAP)) {
        zsys_error ("bank: read model '%s' is not a msgpack map", key);
        msgpack_unpacked_destroy (map);
        free (*value);
        rc = -1;
    }
    return rc;
}

//  Load an account record and its version. Returns 0, 1 if absent, -1 on error.
static int
s_account_load (zcq_view_t *view, const char *stream, s_account_t *account, uint64_t *version)
{
    char *key = zsys_sprintf ("account/%s", stream);
    msgpack_unpacked record;
    byte *value;
    int rc = s_read_map (view, key, &record, &value);
    if (rc == 0) {
        char reason [ZCQ_REASON_MAX];
        uint64_t balance;
        const msgpack_object *status = zcq_map_get (&record.data, "status");
        if (zcq_map_string (&record.data, "owner", OWNER_MAX, &account->owner, reason)
            || zcq_map_uint (&record.data, "balance", 0, &balance, reason)
            || balance > INT64_MAX || zcq_map_uint (&record.data, "version", 0, version, reason)
            || !status || status->type != MSGPACK_OBJECT_STR) {
            zsys_error ("bank: read model '%s' is damaged", key);
            rc = -1;
        }
        else {
            account->exists = true;
            account->balance = (int64_t) balance;
            account->closed =
                status->via.str.size == 6 && memcmp (status->via.str.ptr, "closed", 6) == 0;
        }
        msgpack_unpacked_destroy (&record);
        free (value);
    }
    free (key);
    return rc;
}

static void
s_account_store (zcq_view_t *view, const char *stream, const s_account_t *account,
                 uint64_t version)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&packer, 4);
    zcq_mpack_pack_str (&packer, "owner");
    zcq_mpack_pack_str (&packer, account->owner);
    zcq_mpack_pack_str (&packer, "balance");
    msgpack_pack_int64 (&packer, account->balance);
    zcq_mpack_pack_str (&packer, "status");
    zcq_mpack_pack_str (&packer, account->closed ? "closed" : "open");
    zcq_mpack_pack_str (&packer, "version");
    msgpack_pack_uint64 (&packer, version);
    char *key = zsys_sprintf ("account/%s", stream);
    zcq_view_put (view, key, buffer.data, buffer.size);
    free (key);
    msgpack_sbuffer_destroy (&buffer);
}

//  Load the totals (zeros when absent). Returns 0 or -1 on error.
static int
s_totals_load (zcq_view_t *view, s_totals_t *totals)
{
    memset (totals, 0, sizeof (s_totals_t));
    msgpack_unpacked record;
    byte *value;
    int rc = s_read_map (view, "totals", &record, &value);
    if (rc == 0) {
        char reason [ZCQ_REASON_MAX];
        uint64_t balance = 0;
        if (zcq_map_uint (&record.data, "accounts", 0, &totals->accounts, reason)
            || zcq_map_uint (&record.data, "open_accounts", 0, &totals->open_accounts, reason)
            || zcq_map_uint (&record.data, "balance", 0, &balance, reason)
            || balance > INT64_MAX
            || zcq_map_uint (&record.data, "events", 0, &totals->events, reason)) {
            zsys_error ("bank: read model 'totals' is damaged");
            rc = -1;
        }
        totals->balance = (int64_t) balance;
        msgpack_unpacked_destroy (&record);
        free (value);
    }
    return rc == 1 ? 0 : rc;
}

//  Pack the totals as a map; used for the read model and the query alike.
static void
s_totals_pack (msgpack_packer *packer, const s_totals_t *totals)
{
    msgpack_pack_map (packer, 4);
    zcq_mpack_pack_str (packer, "accounts");
    msgpack_pack_uint64 (packer, totals->accounts);
    zcq_mpack_pack_str (packer, "open_accounts");
    msgpack_pack_uint64 (packer, totals->open_accounts);
    zcq_mpack_pack_str (packer, "balance");
    msgpack_pack_int64 (packer, totals->balance);
    zcq_mpack_pack_str (packer, "events");
    msgpack_pack_uint64 (packer, totals->events);
}

static void
s_totals_store (zcq_view_t *view, const s_totals_t *totals)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &buffer, msgpack_sbuffer_write);
    s_totals_pack (&packer, totals);
    zcq_view_put (view, "totals", buffer.data, buffer.size);
    msgpack_sbuffer_destroy (&buffer);
}

//  Return the owner index prefix "by-owner/<len>:<owner>/"; caller frees.
static char *
s_owner_prefix (const char *owner)
{
    return zsys_sprintf ("by-owner/%zu:%s/", strlen (owner), owner);
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
    int rc = s_account_load (view, stream, &account, &version);
    if (rc == 0 && s_totals_load (view, &totals) == 0) {
        char *prefix = s_owner_prefix (account.owner);
        char *key = zsys_sprintf ("%s%s", prefix, stream);
        zcq_view_delete (view, key);
        zstr_free (&key);
        key = zsys_sprintf ("account/%s", stream);
        zcq_view_delete (view, key);
        zstr_free (&key);
        free (prefix);
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
    if (streq (event->type, ZCQ_STREAM_DELETED)) {
        return s_forget (view, event->stream);
    }
    s_account_t account = {0};
    uint64_t version = 0;
    s_totals_t totals;
    if (s_account_load (view, event->stream, &account, &version) == -1
        || s_totals_load (view, &totals) == -1) {
        free (account.owner);
        return -1;
    }
    s_account_t before = account;
    if (s_apply (&account, event)) {
        if (!before.exists) {
            char *prefix = s_owner_prefix (account.owner);
            char *key = zsys_sprintf ("%s%s", prefix, event->stream);
            zcq_view_put (view, key, "", 0);
            free (key);
            free (prefix);
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

//  Append bytes that are already packed msgpack to a packer.
static void
s_pack_raw (msgpack_packer *packer, const void *data, size_t size)
{
    if (size) {
        packer->callback (packer->data, (const char *) data, size);
    }
}

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
    int rc = s_account_load (view, id, &account, &version);
    if (rc == 1) {
        zcq_result_fail (answer, ZCQ_NOT_FOUND, "account '%s' does not exist", id);
    }
    else if (rc == -1) {
        zcq_result_fail (answer, ZCQ_UNAVAILABLE, "cannot read account '%s'", id);
    }
    else {
        msgpack_packer *packer = zcq_result_packer (answer);
        msgpack_pack_map (packer, 5);
        zcq_mpack_pack_str (packer, "id");
        zcq_mpack_pack_str (packer, id);
        zcq_mpack_pack_str (packer, "owner");
        zcq_mpack_pack_str (packer, account.owner);
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
    size_t prefix_size; //  bytes of "by-owner/<len>:<owner>/"
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
            rc = s_account_load (view, id, &account, &version);
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
            s_totals_pack (zcq_result_packer (answer), &totals);
        }
    }
    else {
        zcq_result_fail (answer, ZCQ_UNKNOWN_TYPE, "unknown query '%s'", name);
    }
}

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
};

const zcq_domain_t *
zcq_bank_domain (void)
{
    return &s_bank;
}
