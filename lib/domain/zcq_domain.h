/*  =========================================================================
    zcq_domain - what a domain is, and the registry that finds one by name

    A domain is a C module: the command types it accepts, decide (state +
    command -> events or a refusal), evolve (state + event -> state), project
    (event -> read-model writes) and named queries. Register one with
    zcq_domain_register, or build it as a shared object that exports
    `zcq_domain_entry` and load it with zcq_domain_load ("path/to/lib.so").

    Functions are called from one thread at a time per node. decide must be
    a pure function of state and command; project must be deterministic, as
    every query node folds the same log and must reach the same read models.
    =========================================================================
*/

#ifndef ZCQ_DOMAIN_H_INCLUDED
#define ZCQ_DOMAIN_H_INCLUDED

#include "zcq_result.h"
#include "zcq_decision.h"
#include "zcq_map.h"
#include "zcq_msg.h"
#include "zcq_view.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ZCQ_DOMAIN_ABI 3        //  bump when zcq_domain_t changes
#define ZCQ_DOMAIN_ABI_MIN 1    //  oldest ABI still loaded (1: no snapshots,
                                //  2: no schemas, upcasters or projection version)

//  Deleting a stream (protocol section 10.13): the command any domain's
//  write node takes, and the tombstone event it appends. A domain's project
//  MUST delete every read-model entry of the tombstone's stream; neither
//  decide nor evolve ever sees them. Event types that start with '$' are
//  the node's: a domain that emits one is refused.
#define ZCQ_DELETE_STREAM  "$DeleteStream"
#define ZCQ_STREAM_DELETED "$StreamDeleted"

//  One stored event, as evolve and project see it (all fields borrowed).
typedef struct {
    const char *type;           //  event type, e.g. "MoneyDeposited"
    const char *stream;         //  stream (aggregate id), e.g. "account-42"
    uint64_t version;           //  version of the stream this event made (1, 2, ...)
    uint64_t position;          //  global position in the log (1, 2, ...)
    int64_t time;               //  commit time, microseconds since the epoch
    const msgpack_object *data; //  event data, a map
    uint32_t schema;            //  schema version of the type's data (1, 2, ...);
                                //  evolve and project see their domain's current one
} zcq_event_t;

//  One command, as decide sees it (all fields borrowed).
typedef struct {
    const char *type;           //  command type, e.g. "Deposit"
    const char *stream;         //  target stream
    uint64_t version;           //  current stream version, 0 if the stream is empty
    const msgpack_object *data; //  command data, a map
} zcq_command_t;

//  An event type whose data has changed shape since its first version: the
//  schema version the domain emits it at now (protocol section 6.3.1).
//  Types a domain does not list are at version 1.
typedef struct {
    const char *type;           //  event type; NULL ends a table
    uint32_t schema;            //  its current schema version, 2 or more
} zcq_event_schema_t;

//  Raise one event from schema version k (upcaster->from) to k + 1: emit
//  into out (zcq_decision_emit) what it is at k + 1: itself with its data
//  reshaped (a field added with its default, or renamed), nothing (the
//  type is obsolete), or several events (it was split). An event emitted
//  with zcq_decision_emit is at k + 1 if it has the upcast event's type,
//  at version 1 if it has another (a type born from a split);
//  zcq_decision_emit_schema says otherwise. Must be a pure function of the
//  event; refusing (zcq_decision_invalid) stops the node's folding.
typedef void (zcq_upcaster_fn) (const zcq_event_t *event, zcq_decision_t *out);

typedef struct {
    const char *type;           //  event type it reads; NULL ends a table
    uint32_t from;              //  schema version it reads (1, 2, ...)
    zcq_upcaster_fn *upcast;    //  raises that version by one
} zcq_upcaster_t;

typedef struct {
    int abi;                            //  ZCQ_DOMAIN_ABI
    const char *name;                   //  registry name, e.g. "bank"
    const char *const *command_types;   //  NULL-terminated; others get "unknown"
    const char *const *query_names;     //  NULL-terminated; others get "unknown"

    //  Return the state of an empty stream (NULL is allowed for domains that
    //  keep no state), and free one. state_destroy may be NULL.
    void *(*state_new) (void);
    void (*state_destroy) (void *state);

    //  Fold one event into the state. May be NULL for stateless domains.
    void (*evolve) (void *state, const zcq_event_t *event);

    //  Decide a command against the current state: emit events, or reject /
    //  invalidate it, through the decision. Must not change state.
    void (*decide) (const void *state, const zcq_command_t *command,
                    zcq_decision_t *decision);

    //  Apply one event to the read models. Return 0, or -1 if the view
    //  failed (storage error); unknown event types are ignored (return 0).
    int (*project) (zcq_view_t *view, const zcq_event_t *event);

    //  Answer a named query from the read models into answer.
    void (*query) (zcq_view_t *view, const char *name, const msgpack_object *params,
                   zcq_result_t *answer);

    //  ABI 2, optional (both or neither): pack a state as one msgpack object,
    //  and restore one into a fresh state from state_new. With them the
    //  write node stores snapshots every few events, so that a long stream
    //  is not folded from its first event. Return 0, or -1 if the state
    //  cannot be saved or the saved object is not one of this domain's.
    int (*state_save) (const void *state, msgpack_packer *packer);
    int (*state_load) (void *state, const msgpack_object *saved);

    //  ABI 3, optional: the event types at a schema version above 1, and
    //  the upcasters that raise their older versions (every version from
    //  1 to the current one minus 1 needs one). The write node stores each
    //  event with its type's current version; evolve and project see every
    //  stored event raised to its current version (zcq_upcast.h).
    const zcq_event_schema_t *event_schemas; //  NULL-type terminated, or NULL
    const zcq_upcaster_t *upcasters;         //  NULL-type terminated, or NULL
    //  The version of project: change it when the read models it builds
    //  change, and query nodes rebuild them (0 counts as 1).
    uint32_t projection_version;
} zcq_domain_t;

//  Entry point a domain shared object exports (extern "C", this name).
typedef const zcq_domain_t *(zcq_domain_entry_fn) (void);

//  Register a domain under its name (borrowed; must live forever). Returns
//  0, or -1 if the name is taken or the domain is incomplete.
int
    zcq_domain_register (const zcq_domain_t *domain);

//  Find a domain: a registered name ("bank", "store"), or a path to a shared
//  object (contains '/' or ends in ".so") that is loaded and registered.
//  Returns NULL, with a reason in *error (caller frees), if there is none.
const zcq_domain_t *
    zcq_domain_load (const char *name_or_path, char **error);

//  True if the domain accepts this command type / answers this query name.
bool
    zcq_domain_has_command (const zcq_domain_t *domain, const char *type);
bool
    zcq_domain_has_query (const zcq_domain_t *domain, const char *name);

//  The schema version the domain emits events of this type at now: the one
//  its event_schemas gives, else 1.
uint32_t
    zcq_domain_event_schema (const zcq_domain_t *domain, const char *type);

//  The upcaster that raises this type's events from this schema version, or
//  NULL if the domain has none (the event is at its current version, or
//  newer than the domain knows).
const zcq_upcaster_t *
    zcq_domain_upcaster (const zcq_domain_t *domain, const char *type, uint32_t from);

//  The version of the domain's projection (1 unless it says otherwise).
uint32_t
    zcq_domain_projection_version (const zcq_domain_t *domain);

//  True if the domain can save and load aggregate states (snapshots).
bool
    zcq_domain_has_snapshots (const zcq_domain_t *domain);

//  Built-in domains.
const zcq_domain_t *
    zcq_bank_domain (void);
const zcq_domain_t *
    zcq_store_domain (void);

#ifdef __cplusplus
}
#endif

#endif
