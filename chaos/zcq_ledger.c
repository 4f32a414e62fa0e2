/*  =========================================================================
    zcq_ledger - the checker's fold of a bank log (see zcq_ledger.h)
    =========================================================================
*/

#include "zcq_ledger.h"
#include "zcq_history.h"

struct _zcq_ledger_t {
    uint64_t head;      //  last position applied
    zhashx_t *accounts; //  stream -> zcq_ledger_account_t (owned)
    zhashx_t *tallies;  //  hex command id -> zcq_ledger_tally_t (owned)
};

static void
s_account_destroy (void **item)
{
    zcq_ledger_account_t *account = (zcq_ledger_account_t *) *item;
    if (account) {
        free (account->stream);
        free (account->owner);
        free (account->balances);
        free (account->positions);
        free (account);
        *item = NULL;
    }
}

static void
s_tally_destroy (void **item)
{
    free (*item);
    *item = NULL;
}

zcq_ledger_t *
zcq_ledger_new (void)
{
    zcq_ledger_t *self = (zcq_ledger_t *) zmalloc (sizeof (zcq_ledger_t));
    assert (self);
    self->accounts = zhashx_new ();
    zhashx_set_destructor (self->accounts, s_account_destroy);
    self->tallies = zhashx_new ();
    zhashx_set_destructor (self->tallies, s_tally_destroy);
    return self;
}

void
zcq_ledger_destroy (zcq_ledger_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        zcq_ledger_t *self = *self_p;
        zhashx_destroy (&self->accounts);
        zhashx_destroy (&self->tallies);
        free (self);
        *self_p = NULL;
    }
}

//  The account of a stream, made (version 0, not opened) if new.
static zcq_ledger_account_t *
s_account (zcq_ledger_t *self, const char *stream)
{
    zcq_ledger_account_t *account =
        (zcq_ledger_account_t *) zhashx_lookup (self->accounts, stream);
    if (!account) {
        account = (zcq_ledger_account_t *) zmalloc (sizeof (zcq_ledger_account_t));
        assert (account);
        account->stream = strdup (stream);
        account->capacity = 8;
        account->balances = (int64_t *) calloc (account->capacity, sizeof (int64_t));
        account->positions = (uint64_t *) calloc (account->capacity, sizeof (uint64_t));
        assert (account->balances && account->positions);
        zhashx_insert (self->accounts, stream, account);
    }
    return account;
}

//  Record the balance and position of the account's new version.
static void
s_record (zcq_ledger_account_t *account, uint64_t position)
{
    if (account->version >= account->capacity) {
        size_t capacity = account->capacity;
        while (capacity <= account->version) {
            capacity *= 2;
        }
        account->balances =
            (int64_t *) realloc (account->balances, capacity * sizeof (int64_t));
        account->positions =
            (uint64_t *) realloc (account->positions, capacity * sizeof (uint64_t));
        assert (account->balances && account->positions);
        account->capacity = capacity;
    }
    account->balances [account->version] = account->balance;
    account->positions [account->version] = position;
}

void
zcq_ledger_apply (zcq_ledger_t *self, zcq_msg_t *event, zcq_verdict_t *verdict)
{
    assert (self && event && verdict);
    uint64_t position = zcq_msg_position (event);
    const char *stream = zcq_msg_stream (event);
    const char *type = zcq_msg_name (event);
    if (position != self->head + 1) {
        zcq_verdict_add (verdict, 2,
                         "position %" PRIu64 " follows position %" PRIu64
                         " in the log (expected %" PRIu64 ")",
                         position, self->head, self->head + 1);
    }
    self->head = position;
    zcq_ledger_account_t *account = s_account (self, stream);
    if (zcq_msg_version (event) != account->version + 1) {
        zcq_verdict_add (verdict, 2,
                         "event at position %" PRIu64 " has version %" PRIu64
                         " of stream '%s', whose last version was %" PRIu64,
                         position, zcq_msg_version (event), stream, account->version);
    }
    account->version = zcq_msg_version (event);

    msgpack_unpacked unpacked;
    int64_t amount = 0;
    char *owner = NULL;
    if (zcq_mpack_unpack (zcq_msg_data (event), zcq_msg_data_size (event), &unpacked) == 0) {
        const msgpack_object *value = zcq_map_get (&unpacked.data, "amount");
        if (value && value->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
            amount = (int64_t) value->via.u64;
        }
        value = zcq_map_get (&unpacked.data, "owner");
        if (value && value->type == MSGPACK_OBJECT_STR) {
            owner = strndup (value->via.str.ptr, value->via.str.size);
        }
        msgpack_unpacked_destroy (&unpacked);
    }
    bool opened = account->owner != NULL;
    if (streq (type, "AccountOpened")) {
        if (opened) {
            zcq_verdict_add (verdict, 3,
                             "account '%s' opened a second time at position %" PRIu64, stream,
                             position);
        }
        else {
            account->owner = owner;
            owner = NULL;
        }
    }
    else if (!opened || account->closed) {
        zcq_verdict_add (verdict, 3, "%s at position %" PRIu64 " on account '%s', which is %s",
                         type, position, stream, opened ? "closed" : "not open");
    }
    else if (streq (type, "MoneyDeposited")) {
        account->balance += amount;
    }
    else if (streq (type, "MoneyWithdrawn")) {
        account->balance -= amount;
        if (account->balance < 0) {
            zcq_verdict_add (verdict, 3,
                             "balance of '%s' is %" PRId64 " after the withdrawal"
                             " of %" PRId64 " at position %" PRIu64,
                             stream, account->balance, amount, position);
        }
    }
    else if (streq (type, "AccountClosed")) {
        account->closed = true;
        if (account->balance != 0) {
            zcq_verdict_add (
                verdict, 3, "account '%s' closed with balance %" PRId64 " at position %" PRIu64,
                stream, account->balance, position);
        }
    }
    else {
        zcq_verdict_add (verdict, 3, "unknown event type '%s' at position %" PRIu64, type,
                         position);
    }
    free (owner);
    s_record (account, position);

    if (zcq_msg_id_size (event) > 0) {
        char id [2 * ZCQ_MAX_ID + 1];
        zcq_history_hex (zcq_msg_id (event), zcq_msg_id_size (event), id);
        zcq_ledger_tally_t *tally = (zcq_ledger_tally_t *) zhashx_lookup (self->tallies, id);
        if (!tally) {
            tally = (zcq_ledger_tally_t *) zmalloc (sizeof (zcq_ledger_tally_t));
            assert (tally);
            zhashx_insert (self->tallies, id, tally);
        }
        tally->count++;
        tally->position = position;
        tally->version = account->version;
        tally->amount = amount;
        snprintf (tally->type, sizeof (tally->type), "%s", type);
    }
}

uint64_t
zcq_ledger_head (zcq_ledger_t *self)
{
    assert (self);
    return self->head;
}

zcq_ledger_account_t *
zcq_ledger_account (zcq_ledger_t *self, const char *stream)
{
    assert (self);
    zcq_ledger_account_t *account =
        (zcq_ledger_account_t *) zhashx_lookup (self->accounts, stream);
    return account && account->owner ? account : NULL;
}

zhashx_t *
zcq_ledger_accounts (zcq_ledger_t *self)
{
    assert (self);
    return self->accounts;
}

zcq_ledger_tally_t *
zcq_ledger_tally (zcq_ledger_t *self, const char *id)
{
    assert (self);
    return (zcq_ledger_tally_t *) zhashx_lookup (self->tallies, id);
}

zhashx_t *
zcq_ledger_tallies (zcq_ledger_t *self)
{
    assert (self);
    return self->tallies;
}

uint64_t
zcq_ledger_version_at (zcq_ledger_account_t *account, uint64_t position)
{
    assert (account);
    //  positions [1..version] ascend: the last one at or below position
    uint64_t low = 0, high = account->version;
    while (low < high) {
        uint64_t middle = (low + high + 1) / 2;
        if (account->positions [middle] <= position) {
            low = middle;
        }
        else {
            high = middle - 1;
        }
    }
    return low;
}

int64_t
zcq_ledger_total (zcq_ledger_t *self, size_t *accounts, size_t *open)
{
    assert (self);
    int64_t total = 0;
    size_t opened = 0, still_open = 0;
    for (zcq_ledger_account_t *account = (zcq_ledger_account_t *) zhashx_first (self->accounts);
         account; account = (zcq_ledger_account_t *) zhashx_next (self->accounts)) {
        if (account->owner) {
            opened++;
            still_open += account->closed ? 0 : 1;
            total += account->balance;
        }
    }
    if (accounts) {
        *accounts = opened;
    }
    if (open) {
        *open = still_open;
    }
    return total;
}
