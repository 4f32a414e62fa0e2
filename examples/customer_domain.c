/*  =========================================================================
    customer_domain - a user domain whose events change shape: version 1,
    and version 2 that reads version 1's log through upcasters

    Built twice from this one file, so that the two versions differ only
    where the #if says so:

        cc -shared -fPIC -DCUSTOMER_SCHEMA=1 -o libzcq_customer_v1.so ...
        cc -shared -fPIC -DCUSTOMER_SCHEMA=2 -o libzcq_customer_v2.so ...

    (`make` builds both into build/). Run a cluster with v1, append events,
    stop it, start it with v2 on the same data folders: the write node
    decides v2 commands on states folded from v1 events, the query nodes
    answer v2 queries, and nothing on disk is rewritten (protocol section
    6.3.1). Version 2 changes each of v1's events in one of four ways:

    | v1 event                         | v2                                          |
    |----------------------------------|---------------------------------------------|
    | CustomerRegistered {name, email} | split: CustomerRegistered {name} (schema 2) |
    |                                  | + EmailChanged {email} (a new type, 1)      |
    | CustomerRenamed {name}           | renamed: CustomerRenamed {full_name}        |
    | CreditAdded {amount}             | field added: {amount, currency = "EUR"}     |
    | CustomerPinged {}                | dropped: obsolete, v2 no longer has Ping    |

    Commands: Register {name, email}, Rename {name}, AddCredit {amount
    [, currency (v2)]}, Ping {} (v1), ChangeEmail {email} (v2). Query
    "customer {id}": {name, email, credit, version} and pings (v1) or
    currency (v2). Read model "customer/<stream>" -> that map, packed.
    =========================================================================
*/

#include "zcqrs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef CUSTOMER_SCHEMA
#define CUSTOMER_SCHEMA 2
#endif

#if CUSTOMER_SCHEMA >= 2
static const char *const s_command_types [] = {"Register", "Rename", "AddCredit", "ChangeEmail",
                                               NULL};
#else
static const char *const s_command_types [] = {"Register", "Rename", "AddCredit", "Ping", NULL};
#endif
static const char *const s_query_names [] = {"customer", NULL};

//  One customer: the write node's state, and the read model.
typedef struct {
    bool registered;   //  a CustomerRegistered was folded
    char name [129];   //  name, UTF-8
    char email [129];  //  e-mail address
    int64_t credit;    //  sum of CreditAdded.amount
    char currency [8]; //  v2: currency of the last credit
    uint64_t pings;    //  v1: CustomerPinged events
    uint64_t version;  //  stream version folded
} s_customer_t;

static void *
s_state_new (void)
{
    return calloc (1, sizeof (s_customer_t));
}

static void
s_state_destroy (void *state)
{
    free (state);
}

//  Copy a string field of an event into a fixed buffer ("" if absent).
static void
s_copy (const msgpack_object *data, const char *key, char *target, size_t size)
{
    const msgpack_object *value = zcq_map_get (data, key);
    if (value && value->type == MSGPACK_OBJECT_STR) {
        size_t length = value->via.str.size < size - 1 ? value->via.str.size : size - 1;
        memcpy (target, value->via.str.ptr, length);
        target [length] = 0;
    }
}

static void
s_evolve (void *state, const zcq_event_t *event)
{
    s_customer_t *customer = (s_customer_t *) state;
    char reason [ZCQ_REASON_MAX];
    int64_t amount;
    customer->version = event->version;
    if (strcmp (event->type, "CustomerRegistered") == 0) {
        customer->registered = true;
        s_copy (event->data, "name", customer->name, sizeof customer->name);
#if CUSTOMER_SCHEMA == 1
        s_copy (event->data, "email", customer->email, sizeof customer->email);
#endif
    }
#if CUSTOMER_SCHEMA >= 2
    else if (strcmp (event->type, "EmailChanged") == 0) {
        s_copy (event->data, "email", customer->email, sizeof customer->email);
    }
    else if (strcmp (event->type, "CustomerRenamed") == 0) {
        s_copy (event->data, "full_name", customer->name, sizeof customer->name);
    }
#else
    else if (strcmp (event->type, "CustomerRenamed") == 0) {
        s_copy (event->data, "name", customer->name, sizeof customer->name);
    }
    else if (strcmp (event->type, "CustomerPinged") == 0) {
        customer->pings++;
    }
#endif
    else if (strcmp (event->type, "CreditAdded") == 0
             && zcq_map_positive (event->data, "amount", &amount, reason) == 0
             && customer->credit <= INT64_MAX - amount) {
        customer->credit += amount;
#if CUSTOMER_SCHEMA >= 2
        s_copy (event->data, "currency", customer->currency, sizeof customer->currency);
#endif
    }
}

//  Emit an event of one string field.
static void
s_emit_text (zcq_decision_t *decision, const char *type, const char *key, const char *text)
{
    msgpack_packer *packer = zcq_decision_emit (decision, type);
    msgpack_pack_map (packer, 1);
    zcq_mpack_pack_str (packer, key);
    zcq_mpack_pack_str (packer, text);
}

//  Decide a command that carries one string field: emit its event.
static void
s_decide_text (const zcq_command_t *command, zcq_decision_t *decision, const char *field,
               const char *type, const char *key)
{
    char reason [ZCQ_REASON_MAX];
    char *text = NULL;
    if (zcq_map_string (command->data, field, 128, &text, reason)) {
        zcq_decision_invalid (decision, "%s", reason);
        return;
    }
    s_emit_text (decision, type, key, text);
    free (text);
}

static void
s_decide (const void *state, const zcq_command_t *command, zcq_decision_t *decision)
{
    const s_customer_t *customer = (const s_customer_t *) state;
    char reason [ZCQ_REASON_MAX];
    if (strcmp (command->type, "Register") == 0) {
        char *name = NULL, *email = NULL;
        if (customer->registered) {
            zcq_decision_reject (decision, "customer '%s' is registered already",
                                 command->stream);
        }
        else if (zcq_map_string (command->data, "name", 128, &name, reason)
                 || zcq_map_string (command->data, "email", 128, &email, reason)) {
            zcq_decision_invalid (decision, "%s", reason);
        }
        else {
            msgpack_packer *packer = zcq_decision_emit (decision, "CustomerRegistered");
#if CUSTOMER_SCHEMA >= 2
            msgpack_pack_map (packer, 1);
            zcq_mpack_pack_str (packer, "name");
            zcq_mpack_pack_str (packer, name);
            s_emit_text (decision, "EmailChanged", "email", email);
#else
            msgpack_pack_map (packer, 2);
            zcq_mpack_pack_str (packer, "name");
            zcq_mpack_pack_str (packer, name);
            zcq_mpack_pack_str (packer, "email");
            zcq_mpack_pack_str (packer, email);
#endif
        }
        free (name);
        free (email);
        return;
    }
    if (!customer->registered) {
        zcq_decision_reject (decision, "customer '%s' is not registered", command->stream);
    }
    else if (strcmp (command->type, "AddCredit") == 0) {
        int64_t amount;
        char *currency = NULL;
        if (zcq_map_positive (command->data, "amount", &amount, reason)) {
            zcq_decision_invalid (decision, "%s", reason);
            return;
        }
#if CUSTOMER_SCHEMA >= 2
        if (!zcq_map_get (command->data, "currency")) {
            currency = strdup ("EUR");
        }
        else if (zcq_map_string (command->data, "currency", 7, &currency, reason)) {
            zcq_decision_invalid (decision, "%s", reason);
            return;
        }
        msgpack_packer *packer = zcq_decision_emit (decision, "CreditAdded");
        msgpack_pack_map (packer, 2);
        zcq_mpack_pack_str (packer, "currency");
        zcq_mpack_pack_str (packer, currency);
#else
        msgpack_packer *packer = zcq_decision_emit (decision, "CreditAdded");
        msgpack_pack_map (packer, 1);
#endif
        zcq_mpack_pack_str (packer, "amount");
        msgpack_pack_int64 (packer, amount);
        free (currency);
    }
#if CUSTOMER_SCHEMA >= 2
    else if (strcmp (command->type, "Rename") == 0) {
        s_decide_text (command, decision, "name", "CustomerRenamed", "full_name");
    }
    else {
        s_decide_text (command, decision, "email", "EmailChanged", "email");
    }
#else
    else if (strcmp (command->type, "Rename") == 0) {
        s_decide_text (command, decision, "name", "CustomerRenamed", "name");
    }
    else {
        msgpack_pack_map (zcq_decision_emit (decision, "CustomerPinged"), 0);
    }
#endif
}

#if CUSTOMER_SCHEMA >= 2
//  --- Version 2's upcasters: each reads an event at schema 1 -------------------

//  Split: {name, email} -> CustomerRegistered {name} + EmailChanged {email}
static void
s_upcast_registered (const zcq_event_t *event, zcq_decision_t *out)
{
    char name [129] = "", email [129] = "";
    s_copy (event->data, "name", name, sizeof name);
    s_copy (event->data, "email", email, sizeof email);
    s_emit_text (out, "CustomerRegistered", "name", name); //  at schema 2
    s_emit_text (out, "EmailChanged", "email", email);     //  a new type, at 1
}

//  Rename: {name} -> {full_name}
static void
s_upcast_renamed (const zcq_event_t *event, zcq_decision_t *out)
{
    char name [129] = "";
    s_copy (event->data, "name", name, sizeof name);
    s_emit_text (out, "CustomerRenamed", "full_name", name);
}

//  Add a field with its default: {amount} -> {amount, currency = "EUR"}.
//  The data is copied as it was, with one more key.
static void
s_upcast_credit (const zcq_event_t *event, zcq_decision_t *out)
{
    msgpack_packer *packer = zcq_decision_emit (out, "CreditAdded");
    const msgpack_object_map *map = &event->data->via.map;
    msgpack_pack_map (packer, map->size + 1);
    for (uint32_t index = 0; index < map->size; index++) {
        msgpack_pack_object (packer, map->ptr [index].key);
        msgpack_pack_object (packer, map->ptr [index].val);
    }
    zcq_mpack_pack_str (packer, "currency");
    zcq_mpack_pack_str (packer, "EUR");
}

//  Drop: an obsolete event becomes nothing.
static void
s_upcast_pinged (const zcq_event_t *event, zcq_decision_t *out)
{
    (void) event;
    (void) out;
}

static const zcq_event_schema_t s_schemas [] = {
    {"CustomerRegistered", 2},
    {"CustomerRenamed", 2},
    {"CreditAdded", 2},
    {"CustomerPinged", 2},
    {NULL, 0},
};
static const zcq_upcaster_t s_upcasters [] = {
    {"CustomerRegistered", 1, s_upcast_registered},
    {"CustomerRenamed", 1, s_upcast_renamed},
    {"CreditAdded", 1, s_upcast_credit},
    {"CustomerPinged", 1, s_upcast_pinged},
    {NULL, 0, NULL},
};
#endif

//  --- Read models: the same fold, kept per customer ----------------------------

static void
s_key (char *key, size_t size, const char *stream)
{
    snprintf (key, size, "customer/%s", stream);
}

//  Pack a customer as the read model and the query's answer.
static void
s_pack (msgpack_packer *packer, const s_customer_t *customer)
{
    msgpack_pack_map (packer, 5);
    zcq_mpack_pack_str (packer, "name");
    zcq_mpack_pack_str (packer, customer->name);
    zcq_mpack_pack_str (packer, "email");
    zcq_mpack_pack_str (packer, customer->email);
    zcq_mpack_pack_str (packer, "credit");
    msgpack_pack_int64 (packer, customer->credit);
#if CUSTOMER_SCHEMA >= 2
    zcq_mpack_pack_str (packer, "currency");
    zcq_mpack_pack_str (packer, customer->currency);
#else
    zcq_mpack_pack_str (packer, "pings");
    msgpack_pack_uint64 (packer, customer->pings);
#endif
    zcq_mpack_pack_str (packer, "version");
    msgpack_pack_uint64 (packer, customer->version);
}

//  Read a customer's read model. Returns 0, 1 if absent, -1 on error.
static int
s_load (zcq_view_t *view, const char *key, s_customer_t *customer)
{
    byte *data;
    size_t size;
    int rc = zcq_view_get (view, key, &data, &size);
    if (rc == 0) {
        msgpack_unpacked record;
        char reason [ZCQ_REASON_MAX];
        uint64_t credit = 0;
        if (zcq_mpack_unpack (data, size, &record)) {
            rc = -1;
        }
        else {
            if (zcq_map_uint (&record.data, "credit", 0, &credit, reason)
                || zcq_map_uint (&record.data, "version", 0, &customer->version, reason)
                || zcq_map_uint (&record.data, "pings", 0, &customer->pings, reason)) {
                rc = -1;
            }
            customer->registered = true;
            customer->credit = (int64_t) credit;
            s_copy (&record.data, "name", customer->name, sizeof customer->name);
            s_copy (&record.data, "email", customer->email, sizeof customer->email);
            //  A v1 record has no currency: its credits were all in euros. v2's
            //  queries read v1's models while a query node rebuilds them
            snprintf (customer->currency, sizeof customer->currency, "EUR");
            s_copy (&record.data, "currency", customer->currency, sizeof customer->currency);
            msgpack_unpacked_destroy (&record);
        }
        free (data);
    }
    return rc;
}

static int
s_project (zcq_view_t *view, const zcq_event_t *event)
{
    char key [ZCQ_MAX_STREAM + 16];
    s_key (key, sizeof key, event->stream);
    if (strcmp (event->type, ZCQ_STREAM_DELETED) == 0) {
        zcq_view_delete (view, key); //  a deleted customer: gone from the models
        return 0;
    }
    s_customer_t customer = {0};
    int rc = s_load (view, key, &customer);
    if (rc == -1) {
        return -1;
    }
    if (rc == 1 && strcmp (event->type, "CustomerRegistered") != 0) {
        return 0; //  not a customer (yet): nothing to show
    }
    s_evolve (&customer, event);
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &buffer, msgpack_sbuffer_write);
    s_pack (&packer, &customer);
    zcq_view_put (view, key, buffer.data, buffer.size);
    msgpack_sbuffer_destroy (&buffer);
    return 0;
}

static void
s_query (zcq_view_t *view, const char *name, const msgpack_object *params, zcq_result_t *answer)
{
    char reason [ZCQ_REASON_MAX];
    char *id;
    if (strcmp (name, "customer") != 0) {
        zcq_result_fail (answer, ZCQ_UNKNOWN_TYPE, "unknown query '%s'", name);
        return;
    }
    if (zcq_map_string (params, "id", ZCQ_MAX_STREAM, &id, reason)) {
        zcq_result_fail (answer, ZCQ_INVALID, "%s", reason);
        return;
    }
    char key [ZCQ_MAX_STREAM + 16];
    s_key (key, sizeof key, id);
    s_customer_t customer = {0};
    int rc = s_load (view, key, &customer);
    if (rc == 1) {
        zcq_result_fail (answer, ZCQ_NOT_FOUND, "customer '%s' does not exist", id);
    }
    else if (rc == -1) {
        zcq_result_fail (answer, ZCQ_UNAVAILABLE, "cannot read customer '%s'", id);
    }
    else {
        s_pack (zcq_result_packer (answer), &customer);
    }
    free (id);
}

static const zcq_domain_t s_customer = {
    .abi = ZCQ_DOMAIN_ABI,
    .name = "customer",
    .command_types = s_command_types,
    .query_names = s_query_names,
    .state_new = s_state_new,
    .state_destroy = s_state_destroy,
    .evolve = s_evolve,
    .decide = s_decide,
    .project = s_project,
    .query = s_query,
#if CUSTOMER_SCHEMA >= 2
    .event_schemas = s_schemas,
    .upcasters = s_upcasters,
    .projection_version = 2, //  its read models hold currency, not pings
#endif
};

const zcq_domain_t *
zcq_domain_entry (void)
{
    return &s_customer;
}
