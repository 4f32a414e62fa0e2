/*  =========================================================================
    zcq_ledger - the chaos checker's own fold of a bank event log: account
    states, the balance after every version, events per command id

    Written apart from the bank domain on purpose: it is the oracle the
    nodes are compared with, so it must not share their code. Events are
    applied in log order; what breaks invariant 2 (dense positions,
    contiguous versions) or the bank's rules (invariant 3: never negative,
    no deposit to a closed account, ...) goes into the verdict.
    =========================================================================
*/

#ifndef ZCQ_LEDGER_H_INCLUDED
#define ZCQ_LEDGER_H_INCLUDED

#include "zcq_verdict.h"
#include "zcqrs.h"

typedef struct _zcq_ledger_t zcq_ledger_t;

//  One account as the log makes it.
typedef struct {
    char *stream;           //  account id (stream name)
    char *owner;            //  from AccountOpened
    bool closed;            //  AccountClosed seen
    uint64_t version;       //  last version
    int64_t balance;        //  current balance, cents
    int64_t *balances;      //  balances [v]: balance after version v (index 0: 0)
    uint64_t *positions;    //  positions [v]: global position of version v
    size_t capacity;        //  entries allocated in balances and positions
} zcq_ledger_account_t;

//  The events one command id appended.
typedef struct {
    uint32_t count;         //  events with this command id
    uint64_t position;      //  position of the last one
    uint64_t version;       //  its version
    char type [64];         //  its type
    int64_t amount;         //  its amount (deposits, withdrawals)
} zcq_ledger_tally_t;

//  Create an empty ledger.
zcq_ledger_t *
    zcq_ledger_new (void);

//  Destroy the ledger; nulls the pointer.
void
    zcq_ledger_destroy (zcq_ledger_t **self_p);

//  Apply the next EVENT of the log (a decoded, valid message, borrowed).
//  Breaches of invariants 2 and 3 are added to verdict.
void
    zcq_ledger_apply (zcq_ledger_t *self, zcq_msg_t *event, zcq_verdict_t *verdict);

//  Last position applied, and the number of events applied.
uint64_t
    zcq_ledger_head (zcq_ledger_t *self);

//  The account of a stream, or NULL if the log never opened it.
zcq_ledger_account_t *
    zcq_ledger_account (zcq_ledger_t *self, const char *stream);

//  Every account (stream name -> zcq_ledger_account_t), borrowed.
zhashx_t *
    zcq_ledger_accounts (zcq_ledger_t *self);

//  Events of a command id (hex), or NULL if it appended none.
zcq_ledger_tally_t *
    zcq_ledger_tally (zcq_ledger_t *self, const char *id);

//  Every command id that appended events (hex id -> zcq_ledger_tally_t).
zhashx_t *
    zcq_ledger_tallies (zcq_ledger_t *self);

//  Version of an account at a global position (0 if not yet opened there).
uint64_t
    zcq_ledger_version_at (zcq_ledger_account_t *account, uint64_t position);

//  Sum of all balances now, accounts ever opened, accounts open now.
int64_t
    zcq_ledger_total (zcq_ledger_t *self, size_t *accounts, size_t *open);

#endif
