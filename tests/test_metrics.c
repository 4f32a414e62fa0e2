/*  =========================================================================
    test_metrics - a node's metrics registry and its HTTP endpoint: the
    exposition text of counters, gauges and histograms, the histogram a
    status answer carries, scrapes over a real TCP connection while another
    thread counts, and addresses it cannot serve on
    =========================================================================
*/

#include "zcq_testkit.h"
#include "zcq_metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

//  What an actor keeps: its counters, in its own state
typedef struct {
    uint64_t accepted; //  a counter
    uint64_t rejected; //  another series of the same counter
    uint64_t head;     //  a gauge
} s_owner_t;

static const zcq_metric_t s_table [] = {
    {false, "test_commands_total", "outcome=\"accepted\"", "Commands, by outcome.",
     offsetof (s_owner_t, accepted)},
    {false, "test_commands_total", "outcome=\"rejected\"", NULL,
     offsetof (s_owner_t, rejected)},
    {true, "test_head_position", NULL, "The head.", offsetof (s_owner_t, head)},
    {.name = NULL},
};

static const uint64_t s_bounds [] = {100, 1000, 10000};

//  A write node's registry of owner's cells, and a latency histogram.
static zcq_metrics_t *
s_registry (s_owner_t *owner, zcq_histogram_t **latency)
{
    zcq_metrics_t *metrics = zcq_metrics_new ("write", "bank");
    zcq_metrics_register (metrics, s_table, owner);
    *latency =
        zcq_metrics_histogram (metrics, "test_latency_seconds", "Latency.", s_bounds, 3, 1e6);
    return metrics;
}

//  One HTTP request to 127.0.0.1:port over a plain socket; returns what
//  came back, headers and body (caller frees).
static char *
s_http (int port, const char *request)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    assert_true (fd >= 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons ((uint16_t) port)};
    to.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    assert_int_equal (connect (fd, (struct sockaddr *) &to, sizeof (to)), 0);
    struct timeval bound = {5, 0}; //  every read is bounded
    setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof (bound));
    assert_int_equal (write (fd, request, strlen (request)), (ssize_t) strlen (request));
    size_t size = 0, room = 65536;
    char *answer = (char *) malloc (room);
    ssize_t got;
    while ((got = read (fd, answer + size, room - size - 1)) > 0) {
        size += (size_t) got;
        if (size + 1 == room) {
            room *= 2;
            answer = (char *) realloc (answer, room);
        }
    }
    answer [size] = 0;
    close (fd);
    return answer;
}

static int
s_port (zcq_metrics_t *metrics)
{
    const char *url = zcq_metrics_url (metrics);
    const char *colon = strrchr (url, ':');
    assert_non_null (colon);
    return atoi (colon + 1);
}

static void
test_text_of_counters_gauges_histograms (void **state)
{
    (void) state;
    s_owner_t owner = {0};
    zcq_histogram_t *latency = NULL;
    zcq_metrics_t *metrics = s_registry (&owner, &latency);
    zcq_metrics_add (&owner.accepted, 3);
    zcq_metrics_add (&owner.rejected, 1);
    zcq_metrics_set (&owner.head, 42);
    zcq_histogram_observe (latency, 50);    //  first bucket
    zcq_histogram_observe (latency, 100);   //  first bucket: le is inclusive
    zcq_histogram_observe (latency, 5000);  //  third
    zcq_histogram_observe (latency, 99999); //  above every bound
    assert_int_equal (zcq_histogram_count (latency), 4);
    assert_int_equal (zcq_histogram_sum (latency), 105149);
    assert_int_equal (*zcq_histogram_count_cell (latency), 4);

    char *text = zcq_metrics_text (metrics);
    const char *expected = "# HELP test_commands_total Commands, by outcome.\n"
                           "# TYPE test_commands_total counter\n"
                           "test_commands_total{outcome=\"accepted\"} 3\n"
                           "test_commands_total{outcome=\"rejected\"} 1\n"
                           "# HELP test_head_position The head.\n"
                           "# TYPE test_head_position gauge\n"
                           "test_head_position 42\n"
                           "# HELP test_latency_seconds Latency.\n"
                           "# TYPE test_latency_seconds histogram\n"
                           "test_latency_seconds_bucket{le=\"0.0001\"} 2\n"
                           "test_latency_seconds_bucket{le=\"0.001\"} 2\n"
                           "test_latency_seconds_bucket{le=\"0.01\"} 3\n"
                           "test_latency_seconds_bucket{le=\"+Inf\"} 4\n"
                           "test_latency_seconds_sum 0.105149\n"
                           "test_latency_seconds_count 4\n"
                           "# HELP zcqrs_uptime_seconds";
    assert_memory_equal (text, expected, strlen (expected));
    char *build = zsys_sprintf (
        "zcqrs_build_info{version=\"%d.%d.%d\",role=\"write\",domain=\"bank\"} 1\n",
        ZCQRS_VERSION_MAJOR, ZCQRS_VERSION_MINOR, ZCQRS_VERSION_PATCH);
    assert_non_null (strstr (text, build));
    zstr_free (&build);
    assert_non_null (strstr (text, "\n# TYPE process_cpu_seconds_total counter\n"));
    assert_non_null (strstr (text, "\nprocess_resident_memory_bytes "));
    assert_null (strstr (text, "\nprocess_resident_memory_bytes 0\n"));
    assert_non_null (strstr (text, "\nprocess_open_fds "));
    free (text);
    //  Before serving there is no URL
    assert_string_equal (zcq_metrics_url (metrics), "");
    zcq_metrics_destroy (&metrics);
    zcq_metrics_destroy (&metrics);
    assert_null (metrics);
}

static void
test_histogram_packs_for_status (void **state)
{
    (void) state;
    zcq_metrics_t *metrics = zcq_metrics_new ("query", "bank");
    zcq_histogram_t *latency =
        zcq_metrics_histogram (metrics, "test_latency_seconds", "Latency.", s_bounds, 3, 1e6);
    zcq_histogram_observe (latency, 10);
    zcq_histogram_observe (latency, 2000);
    zcq_histogram_observe (latency, 2000);
    zcq_histogram_observe (latency, 20000);
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    zcq_histogram_pack (latency, &pk);
    char *json = zcq_json_from_msgpack (buffer.data, buffer.size);
    assert_string_equal (json, "{\"count\":4,\"sum\":24010,\"le\":[100,1000,10000],"
                               "\"counts\":[1,0,2,1]}");
    free (json);
    msgpack_sbuffer_destroy (&buffer);
    zcq_metrics_destroy (&metrics);
}

//  A thread that counts, as an actor does, while the test scrapes.
typedef struct {
    s_owner_t *owner;           //  its cells
    zcq_histogram_t *histogram; //  observed too
    uint64_t rounds;            //  how many times it counts
} s_counting_t;

static void *
s_count (void *args)
{
    s_counting_t *counting = (s_counting_t *) args;
    for (uint64_t round = 1; round <= counting->rounds; round++) {
        zcq_metrics_add (&counting->owner->accepted, 1);
        zcq_metrics_set (&counting->owner->head, round);
        zcq_histogram_observe (counting->histogram, round % 20000);
    }
    return NULL;
}

//  The value of the first line starting with prefix in text, or -1.
static int64_t
s_value (const char *text, const char *prefix)
{
    char *start = zsys_sprintf ("\n%s", prefix);
    const char *line = strstr (text, start);
    int64_t value = line ? strtoll (line + strlen (start), NULL, 10) : -1;
    zstr_free (&start);
    return value;
}

static void
test_served_over_http_while_counting (void **state)
{
    (void) state;
    s_owner_t owner = {0};
    zcq_histogram_t *latency = NULL;
    zcq_metrics_t *metrics = s_registry (&owner, &latency);
    char *error = NULL;
    assert_int_equal (zcq_metrics_serve (metrics, "127.0.0.1:0", &error), 0);
    assert_null (error);
    assert_non_null (strstr (zcq_metrics_url (metrics), "http://127.0.0.1:"));
    int port = s_port (metrics);
    assert_true (port > 0);

    s_counting_t counting = {&owner, latency, 2000000};
    pthread_t thread;
    assert_int_equal (pthread_create (&thread, NULL, s_count, &counting), 0);
    //  Scrapes while the other thread counts: each is whole and consistent
    //  (+Inf equals _count), and what only grows never goes back
    int64_t last = 0;
    for (int scrape = 0; scrape < 20; scrape++) {
        char *answer = s_http (port, "GET /metrics HTTP/1.0\r\n\r\n");
        assert_non_null (strstr (answer, " 200 OK\r\n"));
        assert_non_null (strstr (answer, "Content-Type: text/plain; version=0.0.4"));
        int64_t accepted = s_value (answer, "test_commands_total{outcome=\"accepted\"} ");
        assert_true (accepted >= last);
        last = accepted;
        assert_int_equal (s_value (answer, "test_latency_seconds_bucket{le=\"+Inf\"} "),
                          s_value (answer, "test_latency_seconds_count "));
        assert_non_null (strstr (answer, "\nprocess_threads "));
        free (answer);
    }
    pthread_join (thread, NULL);
    char *answer = s_http (port, "GET /metrics HTTP/1.0\r\n\r\n");
    assert_int_equal (s_value (answer, "test_commands_total{outcome=\"accepted\"} "), 2000000);
    assert_int_equal (s_value (answer, "test_head_position "), 2000000);
    assert_int_equal (s_value (answer, "test_latency_seconds_count "), 2000000);
    free (answer);

    //  Only GET and HEAD of /metrics
    answer = s_http (port, "GET /other HTTP/1.0\r\n\r\n");
    assert_non_null (strstr (answer, " 404 "));
    assert_non_null (strstr (answer, "the metrics are at /metrics"));
    free (answer);
    answer = s_http (port, "POST /metrics HTTP/1.0\r\nContent-Length: 0\r\n\r\n");
    assert_non_null (strstr (answer, " 405 "));
    assert_non_null (strstr (answer, "Allow: GET, HEAD"));
    free (answer);
    //  Garbage is the HTTP library's to refuse; the server carries on
    answer = s_http (port, "\x01\x02 garbage\r\n\r\n");
    free (answer);
    answer = s_http (port, "GET /metrics HTTP/1.0\r\n\r\n");
    assert_non_null (strstr (answer, "test_head_position 2000000\n"));
    free (answer);
    zcq_metrics_destroy (&metrics);
    //  Stopped: nothing listens there any more
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons ((uint16_t) port)};
    to.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    assert_int_not_equal (connect (fd, (struct sockaddr *) &to, sizeof (to)), 0);
    close (fd);
}

//  A node with many clients holds descriptors beyond select's FD_SETSIZE:
//  its metrics are still served (the HTTP library polls otherwise).
static void
test_served_beyond_fd_setsize (void **state)
{
    (void) state;
    struct rlimit limit;
    assert_int_equal (getrlimit (RLIMIT_NOFILE, &limit), 0);
    rlim_t was = limit.rlim_cur;
    if (limit.rlim_cur < 2048 && limit.rlim_max >= 2048) {
        limit.rlim_cur = 2048;
        assert_int_equal (setrlimit (RLIMIT_NOFILE, &limit), 0);
    }
    if (limit.rlim_cur < 2048) {
        skip (); //  the machine allows no more than FD_SETSIZE descriptors
    }
    int held [FD_SETSIZE + 100];
    size_t count = 0;
    while (count < sizeof (held) / sizeof (held [0])) {
        held [count] = open ("/dev/null", O_RDONLY);
        assert_true (held [count] >= 0);
        count++;
    }
    s_owner_t owner = {.head = 7};
    zcq_histogram_t *latency = NULL;
    zcq_metrics_t *metrics = s_registry (&owner, &latency);
    char *error = NULL;
    assert_int_equal (zcq_metrics_serve (metrics, "127.0.0.1:0", &error), 0);
    //  The listening socket and each connection now come above FD_SETSIZE
    char *answer = s_http (s_port (metrics), "GET /metrics HTTP/1.0\r\n\r\n");
    assert_non_null (strstr (answer, "\ntest_head_position 7\n"));
    free (answer);
    zcq_metrics_destroy (&metrics);
    while (count) {
        close (held [--count]);
    }
    limit.rlim_cur = was;
    setrlimit (RLIMIT_NOFILE, &limit);
}

static void
test_addresses_it_cannot_serve_on (void **state)
{
    (void) state;
    const char *bad [] = {"9601",          "127.0.0.1",        ":9601",
                          "127.0.0.1:",    "127.0.0.1:70000",  "127.0.0.1:-1",
                          "127.0.0.1:96x", "example.org:9601", NULL};
    for (int index = 0; bad [index]; index++) {
        zcq_metrics_t *metrics = zcq_metrics_new ("write", "bank");
        char *error = NULL;
        assert_int_equal (zcq_metrics_serve (metrics, bad [index], &error), -1);
        assert_non_null (error);
        assert_non_null (strstr (error, bad [index]));
        zstr_free (&error);
        assert_string_equal (zcq_metrics_url (metrics), "");
        zcq_metrics_destroy (&metrics);
    }
    //  A port another server holds: refused, naming the address and why
    zcq_metrics_t *first = zcq_metrics_new ("write", "bank");
    char *error = NULL;
    assert_int_equal (zcq_metrics_serve (first, "localhost:0", &error), 0);
    char address [64];
    snprintf (address, sizeof (address), "127.0.0.1:%d", s_port (first));
    zcq_metrics_t *second = zcq_metrics_new ("query", "bank");
    assert_int_equal (zcq_metrics_serve (second, address, &error), -1);
    assert_non_null (strstr (error, address));
    assert_non_null (strstr (error, "in use"));
    zstr_free (&error);
    zcq_metrics_destroy (&second);
    zcq_metrics_destroy (&first);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_text_of_counters_gauges_histograms),
        cmocka_unit_test (test_histogram_packs_for_status),
        cmocka_unit_test (test_served_over_http_while_counting),
        cmocka_unit_test (test_served_beyond_fd_setsize),
        cmocka_unit_test (test_addresses_it_cannot_serve_on),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
