/*  =========================================================================
    zcqrs.h - public API of libzcqrs, the CQRS event backbone on ZeroMQ

    Include this one header and link with `pkg-config --cflags --libs zcqrs`
    (or -lzcqrs -lczmq -lzmq -lmsgpackc -lleveldb -ldl). It gives:

    - the message codec (protocol/zcqrs-v1.md is the wire protocol);
    - the client: commands with retries, queries with read-your-writes,
      live queries (a query's result each time it changes),
      ordered and gap-free subscriptions to the log, CURVE keys, and the
      JSON and "field=value" forms the CLI reads and prints;
    - the domain API: decide / evolve / project / query, the view handle a
      projection writes its read models through, typed map fields, event
      schema versions and the upcasters that raise old events;
    - starting a node: the write-node and query-node actors.

    Everything else in libzcqrs is private and may change without notice.
    README.md has the picture.
    =========================================================================
*/

#ifndef ZCQRS_H_INCLUDED
#define ZCQRS_H_INCLUDED

#define ZCQRS_VERSION_MAJOR 0
#define ZCQRS_VERSION_MINOR 2
#define ZCQRS_VERSION_PATCH 0

//  The message codec
#include "zcq_msg.h"
#include "zcq_mpack.h"
#include "zcq_text.h"

//  The client
#include "zcq_client.h"
#include "zcq_watcher.h"
#include "zcq_feed.h"
#include "zcq_auth.h"
#include "zcq_json.h"
#include "zcq_words.h"

//  The domain API
#include "zcq_domain.h"
#include "zcq_decision.h"
#include "zcq_result.h"
#include "zcq_map.h"
#include "zcq_view.h"
#include "zcq_event.h"
#include "zcq_upcast.h"

//  Starting a node
#include "zcq_node.h"
#include "zcq_write_node.h"
#include "zcq_query_node.h"

#endif
