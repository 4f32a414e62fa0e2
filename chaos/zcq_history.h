/*  =========================================================================
    zcq_history - the chaos workload's record of everything it sent and got

    One JSON object a line, appended by many threads:

      {"op":"send","id":HEX,"thread":T,"try":N,"type":"Deposit","stream":S,
       "expect":-1,"amount":A,"t":US}
      {"op":"reply","id":HEX,"resends":R,"status":"accepted","version":V,
       "position":P,"count":C,"reason":"...","t":US}
      {"op":"timeout","id":HEX,"resends":R,"t":US}   no answer within the time-out
    (R: times the client library resent it, same id, within that time-out)
      {"op":"error","id":HEX,"status":S,"reason":"...","t":US}   an ERROR
      {"op":"query","node":K,"stream":S,"status":"ok","position":P,
       "version":V,"balance":B,"t":US}         an "account" query's answer

    The writer is shared by the workload's threads; the reader folds the
    file into one entry per command id, for the checker.
    =========================================================================
*/

#ifndef ZCQ_HISTORY_H_INCLUDED
#define ZCQ_HISTORY_H_INCLUDED

#include "zcqrs.h"

typedef struct _zcq_history_t zcq_history_t;

//  What the history says about one command id.
typedef struct {
    char id [2 * ZCQ_COMMAND_ID + 1];   //  command id, hex
    char type [64];                     //  command type
    char stream [128];                  //  target stream
    int64_t amount;                     //  Deposit / Withdraw amount, 0 otherwise
    int tries;                          //  times the workload sent it
    int resends;                        //  extra sends by the client library
    int timeouts;                       //  sends with no answer in time
    int retryable;                      //  answers busy / unavailable
    bool answered;                      //  got a final (not retryable) reply
    zcq_status_t status;                //  that reply's status
    uint64_t version;                   //  ... its version
    uint64_t position;                  //  ... its position
    uint32_t count;                     //  ... its event count
    char *disagreement;                 //  a later final reply that differed, or NULL
    double first_us, last_us;           //  time of the first and last send
} zcq_history_command_t;

//  One answer to an "account" query the workload made.
typedef struct {
    char stream [128];                  //  account asked for
    int node;                           //  query node index
    uint64_t position;                  //  applied position the answer reflects
    uint64_t version;                   //  the account's version in the answer
    int64_t balance;                    //  its balance in the answer
} zcq_history_query_t;

//  Open a history file for appending (created, truncated). NULL on error.
zcq_history_t *
    zcq_history_new (const char *path);

//  Close the file; nulls the pointer.
void
    zcq_history_destroy (zcq_history_t **self_p);

//  Append one line (a JSON object without its newline); thread-safe.
void
    zcq_history_write (zcq_history_t *self, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

//  Append the JSON string form of text (quoted, escaped) to buffer.
void
    zcq_history_quote (char *buffer, size_t size, const char *text);

//  Integer value of key in a msgpack map (signed or not), or fallback.
int64_t
    zcq_history_int (const msgpack_object *map, const char *key, int64_t fallback);

//  Hex of a command id into hex (2 * size + 1 bytes).
void
    zcq_history_hex (const byte *id, size_t size, char *hex);

//  A history file as the checker reads it.
typedef struct {
    zlistx_t *commands;     //  zcq_history_command_t, in first-send order (owned)
    zhashx_t *by_id;        //  hex id -> command in `commands` (borrowed)
    zlistx_t *queries;      //  zcq_history_query_t, in file order (owned)
    size_t sends;           //  "send" lines plus client resends
} zcq_history_log_t;

//  Read a history file into log. Returns 0, or -1 with the failing line's
//  number and what was wrong in *error (caller frees). Either way, release
//  log with zcq_history_log_free.
int
    zcq_history_load (const char *path, zcq_history_log_t *log, char **error);

//  Free what zcq_history_load put in log.
void
    zcq_history_log_free (zcq_history_log_t *log);

#endif
