/*  =========================================================================
    zcq_client - the C client (see zcq_client.h)

    Replies are matched to requests by id: a reply to an earlier request that
    timed out arrives later on the same socket and is dropped, never taken
    for the answer to the current one.

    zcq_client_request is a Lazy Pirate (ZeroMQ guide, chapter 4): on a
    time-out it closes the DEALER, opens a new one and sends the SAME
    command again; on "busy" or "unavailable" it waits (the node's hint, or
    a doubling back-off with jitter) and sends it again. The write node
    keeps one outcome per command id, so a retried command takes effect
    once, whichever copy arrived.

    A client of a write group has every member's endpoint: it talks to one
    at a time; "not_leader" moves it to the leader the reply names (at
    once) or to the next member (after the hint), and so does an attempt
    left unanswered. Each move counts as an attempt.
    =========================================================================
*/

#include "zcq_client.h"
#include "zcq_auth.h"
#include "zcq_random.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>

#define MAX_QUERY_NODES  16   //  query nodes one client can address
#define DEFAULT_ATTEMPTS 5    //  sends of one command, first included
#define ATTEMPT_MIN_MS   100  //  shortest wait for one attempt's reply
#define BACKOFF_FIRST_MS 20   //  first pause before a retry
#define BACKOFF_MAX_MS   1000 //  longest pause before a retry
#define SEND_TIMEOUT_MS  1000 //  longest a send may wait for a usable connection
#define SKIP_MS          1000 //  a query node that did not answer is first passed over this long
#define MAX_MEMBERS      9    //  write group members one client can address

struct _zcq_client_t {
    char *endpoint;                          //  the commands endpoint in use (owned)
    zlist_t *members;                        //  every member's commands endpoint (owned)
    zsock_t *commands;                       //  DEALER to the write node
    int attempts;                            //  sends per request, first included
    uint64_t retries;                        //  resends so far
    zsock_t *queries [MAX_QUERY_NODES];      //  DEALER to each query node
    char *query_endpoints [MAX_QUERY_NODES]; //  the endpoint of each
    int64_t skip_until [MAX_QUERY_NODES];    //  zclock_mono () before which a node
                                             //  that did not answer is passed over
    int failures [MAX_QUERY_NODES];          //  times in a row a node did not answer
    int query_nodes;                         //  query nodes added
    int next_node;                           //  where spreading starts next (round robin)
    uint64_t query_retries;                  //  queries asked again of another node
    bool consistent;                         //  send our position as min_position
    uint64_t position;                       //  highest acknowledged position
    int send_timeout;                        //  ms, as last set on commands
    int recv_timeout;                        //  ms, as last set on commands (-1: never)
    int query_timeouts [MAX_QUERY_NODES];    //  the same for each query node
    msgpack_sbuffer body;                    //  a command's body, encoded here at each post
};

#define BODY_KEEP (64 * 1024) //  bytes of body buffer kept between posts

//  A DEALER that never blocks its owner on exit.
static zsock_t *
s_dealer (const char *endpoint)
{
    zsock_t *sock = zsock_new (ZMQ_DEALER);
    assert (sock);
    zsock_set_linger (sock, 0);
    zsock_set_maxmsgsize (sock, ZCQ_HARD_MAXMSG);
    //  A DEALER with no usable peer (its handshake refused, say) blocks a
    //  send for ever; ours give up and let the caller's retries decide
    zsock_set_sndtimeo (sock, SEND_TIMEOUT_MS);
    zcq_auth_identity_apply (sock, endpoint); //  CURVE, when this thread has an identity
    if (zsock_connect (sock, "%s", endpoint) != 0) {
        zsys_error ("client: cannot connect to '%s'", endpoint);
        zsock_destroy (&sock);
    }
    return sock;
}

zcq_client_t *
zcq_client_new (const char *commands_endpoint)
{
    zcq_client_t *self = (zcq_client_t *) zmalloc (sizeof (zcq_client_t));
    assert (self);
    //  One endpoint, or a write group's members separated by commas
    self->members = zlist_new ();
    zlist_autofree (self->members);
    const char *list = commands_endpoint ? commands_endpoint : ZCQ_DEFAULT_COMMANDS;
    while (*list && zlist_size (self->members) < MAX_MEMBERS) {
        size_t length = strcspn (list, ",");
        char *member = zsys_sprintf ("%.*s", (int) length, list);
        if (*member) {
            zlist_append (self->members, member);
        }
        zstr_free (&member);
        list += length + (list [length] == ',');
    }
    const char *first = (const char *) zlist_first (self->members);
    self->endpoint = strdup (first ? first : "");
    self->commands = first ? s_dealer (self->endpoint) : NULL;
    msgpack_sbuffer_init (&self->body);
    self->send_timeout = SEND_TIMEOUT_MS;
    self->recv_timeout = -1;
    if (!self->commands) {
        zlist_destroy (&self->members);
        msgpack_sbuffer_destroy (&self->body);
        free (self->endpoint);
        free (self);
        return NULL;
    }
    self->consistent = true;
    self->attempts = DEFAULT_ATTEMPTS;
    return self;
}

void
zcq_client_destroy (zcq_client_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        zcq_client_t *self = *self_p;
        zsock_destroy (&self->commands);
        free (self->endpoint);
        zlist_destroy (&self->members);
        msgpack_sbuffer_destroy (&self->body);
        for (int index = 0; index < self->query_nodes; index++) {
            zsock_destroy (&self->queries [index]);
            free (self->query_endpoints [index]);
        }
        free (self);
        *self_p = NULL;
    }
}

int
zcq_client_add_query_node (zcq_client_t *self, const char *endpoint)
{
    assert (self);
    assert (endpoint);
    if (self->query_nodes == MAX_QUERY_NODES) {
        zsys_error ("client: at most %d query nodes", MAX_QUERY_NODES);
        return -1;
    }
    zsock_t *sock = s_dealer (endpoint);
    if (!sock) {
        return -1;
    }
    self->queries [self->query_nodes] = sock;
    self->query_timeouts [self->query_nodes] = -1;
    self->query_endpoints [self->query_nodes] = strdup (endpoint);
    return self->query_nodes++;
}

void
zcq_client_set_consistent (zcq_client_t *self, bool consistent)
{
    assert (self);
    self->consistent = consistent;
}

//  Random ids come from the kernel in blocks, not one system call per
//  command: each thread keeps a block of getrandom's bytes (zcq_random_fill:
//  all of them or none) and hands them out. A forked child must never reuse its parent's bytes (the write node
//  would take its commands for the parent's): fork bumps a generation, and
//  a thread whose block is of another generation refills it first.
#define RANDOM_BLOCK 4096 //  bytes fetched from the kernel at a time

static atomic_uint s_fork_generation;
static pthread_once_t s_atfork_once = PTHREAD_ONCE_INIT;

static void
s_after_fork (void)
{
    atomic_fetch_add (&s_fork_generation, 1);
}

static void
s_atfork_register (void)
{
    pthread_atfork (NULL, NULL, s_after_fork);
}

typedef struct {
    byte bytes [RANDOM_BLOCK]; //  random bytes not yet handed out
    size_t used;               //  bytes handed out (RANDOM_BLOCK: none left)
    unsigned generation;       //  s_fork_generation when filled
    bool filled;               //  bytes were ever fetched in this thread
} s_random_t;

static _Thread_local s_random_t s_random = {.used = RANDOM_BLOCK};

//  Fill id with size random bytes. Returns 0, or -1 with errno set when
//  the kernel gives none (then id holds nothing usable).
static int
s_random_id (byte *id, size_t size)
{
    assert (size <= RANDOM_BLOCK);
    pthread_once (&s_atfork_once, s_atfork_register);
    unsigned generation = atomic_load (&s_fork_generation);
    if (s_random.used + size > RANDOM_BLOCK || !s_random.filled
        || s_random.generation != generation) {
        s_random.filled = false;
        if (zcq_random_fill (s_random.bytes, RANDOM_BLOCK, NULL) != 0) {
            memset (id, 0, size);
            return -1;
        }
        s_random.used = 0;
        s_random.generation = generation;
        s_random.filled = true;
    }
    memcpy (id, s_random.bytes + s_random.used, size);
    //  Handed-out bytes are wiped: nothing in memory gives a later id away
    memset (s_random.bytes + s_random.used, 0, size);
    s_random.used += size;
    return 0;
}

zcq_msg_t *
zcq_client_command (const char *type, const char *stream, int64_t expect, const void *data,
                    size_t size)
{
    zcq_msg_t *command = zcq_msg_new (ZCQ_MSG_COMMAND);
    byte id [ZCQ_COMMAND_ID];
    if (s_random_id (id, sizeof (id)) == 0) {
        zcq_msg_set_id (command, id, sizeof (id));
    }
    else {
        //  Never a weak id: the command carries the error instead, and a
        //  message that carries an error is never encoded, so never sent
        zcq_msg_set_error (command, ZCQ_UNAVAILABLE, "cannot make a command id: getrandom: %s",
                           strerror (errno));
    }
    zcq_msg_set_name (command, type);
    zcq_msg_set_stream (command, stream);
    zcq_msg_set_expect (command, expect);
    zcq_msg_set_data (command, data, size);
    return command;
}

//  Remember the position of an accepted reply, for read-your-writes.
static void
s_track (zcq_client_t *self, zcq_msg_t *reply)
{
    if (zcq_msg_type (reply) == ZCQ_MSG_REPLY && zcq_msg_status (reply) == ZCQ_ACCEPTED
        && zcq_msg_position (reply) > self->position) {
        self->position = zcq_msg_position (reply);
    }
}

//  The next message on sock, waiting until deadline (zclock_mono ms) at
//  most; NULL if none came. now is the caller's fresh zclock_mono (), or
//  -1 to read the clock here. The receive itself waits, with the socket's
//  receive time-out at most the time left: libzmq then sleeps on the
//  socket's mailbox (a zmq_poll also asked for the socket's descriptor and
//  events around the wait), and a message already queued comes at once,
//  with no system call, as from a non-blocking receive. So there is no
//  look without waiting first: when nothing is queued, that look costs a
//  poll and a getpid system call in libzmq for nothing. Past the deadline
//  it still looks once (a time-out of 0). *timeout is the socket's receive
//  time-out as last set (-1: never): it is set again only when above the
//  time left (the wait would pass the deadline) or below half of it (the
//  wait would end too early to be worth it), so a loop of requests with
//  one budget sets it once; an early end only makes the loop look at the
//  clock and wait again.
static zcq_msg_t *
s_recv_until (zsock_t *sock, int *timeout, int64_t deadline, int64_t now)
{
    zcq_msg_t *msg = NULL;
    while (!msg) {
        int64_t left = deadline - (now >= 0 ? now : zclock_mono ());
        now = -1; //  read the clock again on the next round
        int wait = left <= 0 ? 0 : left > INT_MAX ? INT_MAX : (int) left;
        if (*timeout < 0 || *timeout > wait || *timeout < wait / 2) {
            zsock_set_rcvtimeo (sock, wait);
            *timeout = wait;
        }
        msg = zcq_msg_recv_typed (sock, ZMQ_DEALER, 0); //  every socket here is one
        if (!msg && (wait == 0 || zmq_errno () != EAGAIN)) {
            break;
        }
    }
    return msg;
}

//  Wait for the answer to the request with this id on sock (its receive
//  time-out as last set in *timeout) until deadline: a message of type
//  `want`, or an ERROR with this id or none. Others are dropped. now is the
//  caller's fresh zclock_mono (), or -1.
static zcq_msg_t *
s_wait_for (zsock_t *sock, int *timeout, zcq_msg_type_t want, const byte *id, size_t id_size,
            int64_t deadline, int64_t now)
{
    zcq_msg_t *answer = NULL;
    while (!answer) {
        zcq_msg_t *msg = s_recv_until (sock, timeout, deadline, now);
        now = -1;
        if (!msg) {
            break;
        }
        zcq_msg_type_t type = zcq_msg_type (msg);
        //  A reply with no id answers a request the node could not read far
        //  enough to find its id: on this socket, that can only be ours
        bool same_id = zcq_msg_id_size (msg) == 0
                       || (zcq_msg_id_size (msg) == id_size
                           && memcmp (zcq_msg_id (msg), id, id_size) == 0);
        if ((type == want || type == ZCQ_MSG_ERROR) && same_id) {
            answer = msg;
        }
        else {
            zcq_msg_destroy (&msg);
        }
    }
    return answer;
}

void
zcq_client_set_attempts (zcq_client_t *self, int attempts)
{
    assert (self);
    self->attempts = attempts < 1 ? 1 : attempts;
}

uint64_t
zcq_client_retries (zcq_client_t *self)
{
    assert (self);
    return self->retries;
}

//  Pause before a retry: the node's hint if it gave one, else a doubling
//  back-off with jitter (so that clients refused together do not return
//  together); never past the deadline. Returns false if no time is left.
static bool
s_pause (int64_t deadline, uint32_t hint, int *backoff)
{
    int pause = hint ? (int) hint : *backoff;
    pause += (int) (random () % (pause / 2 + 1));
    *backoff = *backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : *backoff * 2;
    int64_t left = deadline - zclock_mono ();
    if (left <= pause) {
        return false;
    }
    zclock_sleep (pause);
    return true;
}

//  Talk to the member at endpoint from now on (NULL: the member after the
//  one in use), on a new DEALER: whatever the old one held is dropped.
static void
s_move (zcq_client_t *self, const char *endpoint)
{
    char *next = NULL;
    if (endpoint) {
        next = strdup (endpoint);
    }
    else {
        //  The member after ours in the list (the first after the last)
        const char *member = (const char *) zlist_first (self->members);
        while (member && !streq (member, self->endpoint)) {
            member = (const char *) zlist_next (self->members);
        }
        member = member ? (const char *) zlist_next (self->members) : NULL;
        if (!member) {
            member = (const char *) zlist_first (self->members);
        }
        next = strdup (member ? member : self->endpoint);
    }
    free (self->endpoint);
    self->endpoint = next;
    zsock_destroy (&self->commands);
    self->commands = s_dealer (self->endpoint);
    self->send_timeout = SEND_TIMEOUT_MS;
    self->recv_timeout = -1;
}

zcq_msg_t *
zcq_client_request (zcq_client_t *self, zcq_msg_t *command, int timeout_ms)
{
    assert (self);
    assert (command);
    //  The clock is read once before each send (the first: once for the
    //  whole budget too) and once after it: a send may wait up to its
    //  time-out, the rest of an attempt takes well under a millisecond
    int64_t now = zclock_mono ();
    int64_t deadline = now + timeout_ms;
    int backoff = BACKOFF_FIRST_MS;
    for (int attempt = 1; attempt <= self->attempts; attempt++) {
        if (attempt > 1) {
            self->retries++;
            now = zclock_mono ();
        }
        //  A command that cannot be encoded never will be; one that cannot
        //  be sent in time (no usable connection) counts as an unanswered
        //  attempt
        int64_t send_wait = deadline - now;
        int send_timeout = send_wait < 0                 ? 0
                           : send_wait > SEND_TIMEOUT_MS ? SEND_TIMEOUT_MS
                                                         : (int) send_wait;
        if (self->commands && send_timeout != self->send_timeout) {
            zsock_set_sndtimeo (self->commands, send_timeout);
            self->send_timeout = send_timeout;
        }
        bool sent = zcq_client_post (self, command) == 0;
        if (!sent && !zcq_msg_valid (command)) {
            return NULL;
        }
        //  Share the time left among the attempts left
        now = zclock_mono ();
        int64_t left = deadline - now;
        int64_t wait = left / (self->attempts - attempt + 1);
        if (wait < ATTEMPT_MIN_MS) {
            wait = left < ATTEMPT_MIN_MS ? left : ATTEMPT_MIN_MS;
        }
        zcq_msg_t *reply = sent
                               ? s_wait_for (self->commands, &self->recv_timeout, ZCQ_MSG_REPLY,
                                             zcq_msg_id (command), zcq_msg_id_size (command),
                                             now + (wait > 0 ? wait : 0), now)
                               : NULL;
        if (!reply) {
            //  No answer: the node may have died with our command queued.
            //  A new socket drops what the old one holds and reconnects
            //  (to the next member of a write group)
            s_move (self, NULL);
            if (attempt < self->attempts && s_pause (deadline, 0, &backoff)) {
                continue;
            }
            return NULL;
        }
        zcq_status_t status = zcq_msg_status (reply);
        if (zcq_msg_type (reply) == ZCQ_MSG_REPLY && status == ZCQ_NOT_LEADER
            && attempt < self->attempts) {
            //  Straight to the leader when the member names it; else the
            //  next member, after the member's hint
            const char *leader = zcq_msg_leader (reply);
            bool named = *leader && !streq (leader, self->endpoint);
            uint32_t hint = zcq_msg_retry_after (reply);
            char *target = named ? strdup (leader) : NULL;
            s_move (self, target);
            free (target);
            if (named || s_pause (deadline, hint, &backoff)) {
                zcq_msg_destroy (&reply);
                continue;
            }
            return reply;
        }
        bool retryable = zcq_msg_type (reply) == ZCQ_MSG_REPLY
                         && (status == ZCQ_BUSY || status == ZCQ_UNAVAILABLE);
        if (retryable && attempt < self->attempts
            && s_pause (deadline, zcq_msg_retry_after (reply), &backoff)) {
            zcq_msg_destroy (&reply);
            continue;
        }
        s_track (self, reply);
        return reply;
    }
    return NULL;
}

zcq_msg_t *
zcq_client_send (zcq_client_t *self, const char *type, const char *stream, int64_t expect,
                 const void *data, size_t size, int timeout_ms)
{
    assert (self);
    zcq_msg_t *command = zcq_client_command (type, stream, expect, data, size);
    zcq_msg_t *reply = zcq_client_request (self, command, timeout_ms);
    zcq_msg_destroy (&command);
    return reply;
}

int
zcq_client_post (zcq_client_t *self, zcq_msg_t *command)
{
    assert (self);
    assert (command);
    if (!self->commands) {
        zsys_error ("client: no connection to '%s'", self->endpoint);
        return -1;
    }
    //  The body is encoded into the client's own buffer, kept from post to
    //  post (up to BODY_KEEP bytes): no allocation per command
    msgpack_sbuffer_clear (&self->body);
    int rc = zcq_msg_encode_body (command, &self->body);
    if (rc == 0) {
        rc = zcq_msg_send_encoded (command, self->commands, &self->body);
    }
    if (self->body.alloc > BODY_KEEP) {
        msgpack_sbuffer_destroy (&self->body);
        msgpack_sbuffer_init (&self->body);
    }
    if (rc != 0) {
        //  A valid command that did not go: the socket's reason
        const char *reason = zcq_msg_error (command);
        zsys_error ("client: cannot send command to '%s': %s", self->endpoint,
                    reason && *reason ? reason : zmq_strerror (zmq_errno ()));
        return -1;
    }
    return 0;
}

zcq_msg_t *
zcq_client_recv_reply (zcq_client_t *self, int timeout_ms)
{
    assert (self);
    if (!self->commands) {
        return NULL;
    }
    int64_t now = zclock_mono ();
    int64_t deadline = now + timeout_ms;
    zcq_msg_t *reply = NULL;
    while (!reply) {
        reply = s_recv_until (self->commands, &self->recv_timeout, deadline, now);
        now = -1;
        if (!reply) {
            break;
        }
        zcq_msg_type_t type = zcq_msg_type (reply);
        if (type != ZCQ_MSG_REPLY && type != ZCQ_MSG_ERROR) {
            zcq_msg_destroy (&reply); //  a late status answer: not a reply
        }
    }
    if (reply) {
        s_track (self, reply);
    }
    return reply;
}

//  Send one query (id, name, params, min_position) on sock and wait up to
//  timeout_ms for its RESULT or ERROR; the node is told to wait for
//  min_position for most of that time. Returns the answer, or NULL.
static zcq_msg_t *
s_query_once (zsock_t *sock, int *timeout, const byte *id, const char *name, const void *params,
              size_t size, uint64_t min_position, int timeout_ms)
{
    zcq_msg_t *query = zcq_msg_new (ZCQ_MSG_QUERY);
    zcq_msg_set_id (query, id, ZCQ_COMMAND_ID);
    zcq_msg_set_name (query, name);
    zcq_msg_set_data (query, params, size);
    zcq_msg_set_min_position (query, min_position);
    //  Let the node wait for min_position for most of our own time budget,
    //  keeping a quarter of it (at least 200 ms, at most half) for the answer
    //  to travel, so that the node answers "stale" before we give up on it
    int margin = timeout_ms / 4 > 200 ? timeout_ms / 4 : 200;
    margin = margin > timeout_ms / 2 ? timeout_ms / 2 : margin;
    zcq_msg_set_timeout (query, timeout_ms - margin > 0 ? (uint32_t) (timeout_ms - margin) : 1);
    zcq_msg_t *result = NULL;
    if (zcq_msg_send (query, sock) == 0) {
        int64_t now = zclock_mono ();
        result = s_wait_for (sock, timeout, ZCQ_MSG_RESULT, id, ZCQ_COMMAND_ID,
                             now + timeout_ms, now);
    }
    zcq_msg_destroy (&query);
    return result;
}

//  True if an answer is as good as any node can give: not "stale" (below
//  min_position), not "may be stale" (its node cannot hear the write node),
//  not "busy" or "unavailable".
static bool
s_answer_final (zcq_msg_t *answer)
{
    zcq_status_t status = zcq_msg_status (answer);
    return status != ZCQ_STALE && status != ZCQ_BUSY && status != ZCQ_UNAVAILABLE
           && !zcq_msg_may_be_stale (answer);
}

//  A query spread over the query nodes (ZCQ_ANY_QUERY_NODE): round robin,
//  passing over nodes that recently did not answer; a node that does not
//  answer within its share of the time, or whose answer is not final, is
//  left for the next one. Returns the first final answer, else the last
//  answer any node gave, else NULL.
static zcq_msg_t *
s_query_spread (zcq_client_t *self, const byte *id, const char *name, const void *params,
                size_t size, uint64_t min_position, int timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    int nodes = self->query_nodes;
    int start = self->next_node;
    self->next_node = (self->next_node + 1) % nodes;
    zcq_msg_t *best = NULL;
    //  Two rounds: the first passes over nodes that recently failed, the
    //  second tries them too if no other answered
    int tried = 0;
    for (int round = 0; round < 2 && !(best && s_answer_final (best)); round++) {
        for (int step = 0; step < nodes; step++) {
            int node = (start + step) % nodes;
            int64_t now = zclock_mono ();
            bool skipped = self->skip_until [node] > now;
            if ((round == 0 && skipped) || (round == 1 && !skipped) || now >= deadline) {
                continue;
            }
            //  A share of what is left, so that a dead node leaves time
            //  for the others (at least ATTEMPT_MIN_MS)
            int untried = nodes - tried > 1 ? nodes - tried : 1;
            int64_t left = deadline - now;
            int64_t share = left / untried > ATTEMPT_MIN_MS ? left / untried : ATTEMPT_MIN_MS;
            //  A node that was silent last time is probed briefly
            share = self->failures [node] && share > 2 * ATTEMPT_MIN_MS ? 2 * ATTEMPT_MIN_MS
                                                                        : share;
            share = share < left ? share : left;
            if (tried++ > 0) {
                self->query_retries++;
            }
            zcq_msg_t *answer =
                s_query_once (self->queries [node], &self->query_timeouts [node], id, name,
                              params, size, min_position, (int) share);
            if (!answer) {
                //  Silent: pass it over for a while (longer each time, up to
                //  32 x), and drop what its socket still queues for it
                int doublings = self->failures [node] < 5 ? self->failures [node] : 5;
                self->failures [node]++;
                self->skip_until [node] = zclock_mono () + ((int64_t) SKIP_MS << doublings);
                zsock_t *fresh = s_dealer (self->query_endpoints [node]);
                if (fresh) {
                    zsock_destroy (&self->queries [node]);
                    self->queries [node] = fresh;
                    self->query_timeouts [node] = -1;
                }
                continue;
            }
            self->skip_until [node] = 0;
            self->failures [node] = 0;
            zcq_msg_destroy (&best);
            best = answer;
            if (s_answer_final (best)) {
                break;
            }
        }
    }
    return best;
}

zcq_msg_t *
zcq_client_query (zcq_client_t *self, int node, const char *name, const void *params,
                  size_t size, uint64_t min_position, int timeout_ms)
{
    assert (self);
    assert (name);
    zsock_t *sock = NULL;
    int *timeout = NULL; //  sock's receive time-out as last set
    if (node == ZCQ_WRITE_NODE) {
        sock = self->commands;
        timeout = &self->recv_timeout;
    }
    else if (node >= 0 && node < self->query_nodes) {
        sock = self->queries [node];
        timeout = &self->query_timeouts [node];
    }
    if (!sock && !(node == ZCQ_ANY_QUERY_NODE && self->query_nodes > 0)) {
        zsys_error ("client: no query node %d (have %d), or no write node connection", node,
                    self->query_nodes);
        return NULL;
    }
    byte id [ZCQ_COMMAND_ID];
    if (s_random_id (id, sizeof (id)) != 0) {
        zsys_error ("client: cannot make a query id: getrandom: %s", strerror (errno));
        return NULL;
    }
    if (min_position == 0 && self->consistent) {
        min_position = self->position;
    }
    if (node == ZCQ_ANY_QUERY_NODE) {
        return s_query_spread (self, id, name, params, size, min_position, timeout_ms);
    }
    return s_query_once (sock, timeout, id, name, params, size, min_position, timeout_ms);
}

uint64_t
zcq_client_query_retries (zcq_client_t *self)
{
    assert (self);
    return self->query_retries;
}

zcq_msg_t *
zcq_client_write_status (zcq_client_t *self, int timeout_ms)
{
    return zcq_client_query (self, ZCQ_WRITE_NODE, "status", NULL, 0, 0, timeout_ms);
}

uint64_t
zcq_client_position (zcq_client_t *self)
{
    assert (self);
    return self->position;
}
