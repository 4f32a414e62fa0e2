/*  =========================================================================
    zcq_ids - which command ids the event log may hold: a fixed-size table
    of short fingerprints, so that a new command (nearly always a new id)
    is told apart from a repeat without a LevelDB read

    Each id kept is a 12-bit fingerprint in one of two buckets, tagged with
    the epoch of its retention sequence (sequences counted in epochs of an
    eighth of the capacity). Ids forgotten by retention free their slots a
    whole epoch at a time. The answer "not held" is certain; "maybe held"
    asks the log (a false positive costs one read, about 0.6% of new ids at
    capacity). Nothing is ever lost by a full table: a bucket pair with no
    free slot is marked overflowed, and every id that falls on it is asked
    of the log from then on. Memory is fixed by the capacity (about 3 bytes
    per id kept), allocated once:

        zcq_ids_t *ids = zcq_ids_new (10000000);
        if (zcq_ids_may_hold (ids, id))     //  ask the log
        ...
        zcq_ids_add (ids, id, sequence);    //  an outcome staged for id
        zcq_ids_forget_below (ids, oldest); //  retention kept only these

    One thread uses a table.
    =========================================================================
*/

#ifndef ZCQ_IDS_H_INCLUDED
#define ZCQ_IDS_H_INCLUDED

#include "zcq_msg.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _zcq_ids_t zcq_ids_t;

//  Create a table sized for `capacity` ids kept at once (at least 8).
//  Returns NULL if the memory cannot be had.
zcq_ids_t *
    zcq_ids_new (uint64_t capacity);

//  Destroy the table; nulls the caller's pointer; safe on NULL.
void
    zcq_ids_destroy (zcq_ids_t **self_p);

//  Note a command id (ZCQ_COMMAND_ID bytes) stored with this retention
//  sequence (sequences only grow).
void
    zcq_ids_add (zcq_ids_t *self, const byte *id, uint64_t sequence);

//  False if the id is certainly not among the ids noted and not yet
//  forgotten; true if it may be.
bool
    zcq_ids_may_hold (zcq_ids_t *self, const byte *id);

//  Retention keeps only the ids of sequence oldest and later (0: unknown,
//  keep everything).
void
    zcq_ids_forget_below (zcq_ids_t *self, uint64_t oldest);

//  Bytes the table takes.
size_t
    zcq_ids_bytes (zcq_ids_t *self);

#ifdef __cplusplus
}
#endif

#endif
