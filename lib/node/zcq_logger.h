/*  =========================================================================
    zcq_logger - the log lines of a node program: every line on its output
    starts with an ISO 8601 UTC time with milliseconds and a level word,
    and lines below the chosen level are left out

        2026-12-02T07:14:53.123Z error zcqrs-write: cannot bind tcp://...

    CZMQ's zsys_error () ... zsys_info () write through a stream this class
    makes (their own "E: 26-12-02 07:14:53" prefix is replaced), so every
    part of the library logs as it did; a program's own lines go through
    zcq_logger_print.
    =========================================================================
*/

#ifndef ZCQ_LOGGER_H_INCLUDED
#define ZCQ_LOGGER_H_INCLUDED

#include <czmq.h>

#ifdef __cplusplus
extern "C" {
#endif

//  The levels, most severe first; their words are the names below.
typedef enum {
    ZCQ_LOG_ERROR = 0,
    ZCQ_LOG_WARNING,
    ZCQ_LOG_NOTICE,
    ZCQ_LOG_INFO,
    ZCQ_LOG_DEBUG
} zcq_log_level_t;

//  The level a word names ("error", "warning", "notice", "info", "debug"),
//  or -1.
int
    zcq_logger_level (const char *word);

//  Send CZMQ's log of this process to out (stderr, stdout), each line
//  timestamped, leaving out the lines below level. Call once, before the
//  first log line; the stream lives as long as the process.
int
    zcq_logger_start (FILE *out, zcq_log_level_t level);

//  Print one line of the program's own (its ready line, why it cannot
//  start) to out (NULL: the logger's stream, or stderr before
//  zcq_logger_start), timestamped as the others and named by level, whatever
//  the level chosen: a program's own lines are always printed.
void
    zcq_logger_print (FILE *out, zcq_log_level_t level, const char *format, ...)
        CHECK_PRINTF (3);

//  The time now as the logger writes it ("2026-12-02T07:14:53.123Z"):
//  buffer must hold 25 characters. Returns buffer.
char *
    zcq_logger_time (char *buffer, size_t size);

#ifdef __cplusplus
}
#endif

#endif
