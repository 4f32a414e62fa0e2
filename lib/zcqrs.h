/*  =========================================================================
    zcqrs.h - public API of libzcqrs, the CQRS event backbone on ZeroMQ

    Include this one header. Link with -lzcqrs -lczmq -lzmq -lmsgpackc
    -lleveldb -ldl. See README.md for the picture and protocol/zcqrs-v1.md
    for the wire protocol.
    =========================================================================
*/

#ifndef ZCQRS_H_INCLUDED
#define ZCQRS_H_INCLUDED

#define ZCQRS_VERSION_MAJOR 0
#define ZCQRS_VERSION_MINOR 1
#define ZCQRS_VERSION_PATCH 0

#include "zcq_msg.h"
#include "zcq_text.h"
#include "zcq_store.h"
#include "zcq_view.h"
#include "zcq_fields.h"
#include "zcq_kv.h"
#include "zcq_decision.h"
#include "zcq_answer.h"
#include "zcq_domain.h"
#include "zcq_json.h"
#include "zcq_event.h"
#include "zcq_group.h"
#include "zcq_log.h"
#include "zcq_writer.h"
#include "zcq_replay.h"
#include "zcq_feed.h"
#include "zcq_client.h"
#include "zcq_write_node.h"
#include "zcq_query_node.h"
#include "zcq_node.h"
#include "zcq_auth.h"
#include "zcq_peers.h"

#endif
