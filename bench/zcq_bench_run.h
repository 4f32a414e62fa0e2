/*  =========================================================================
    zcq_bench_run - what the benchmark programs share around their figures:
    the command line (--quick, --build, --out, --command, --only), the
    report's context (machine, command, date), and writing the report as a
    table, JSON and SVG into the output folder.
    =========================================================================
*/

#ifndef ZCQ_BENCH_RUN_H_INCLUDED
#define ZCQ_BENCH_RUN_H_INCLUDED

#include "zcq_bench_report.h"

#include <stdbool.h>

typedef struct {
    bool quick;             //  --quick: the one-minute version
    const char *build;      //  --build DIR: folder of the node programs [build]
    const char *command;    //  --command TEXT: how it was started, for the report
    const char *only;       //  --only NAME: one system (bench-peers), or NULL
    double pace;            //  --pace N: commands/s of zcq_bench's half load, or 0
    char out [512];         //  --out DIR: where results go [BUILD/bench]
    char machine [512];     //  cores, CPU model, kernel
} zcq_bench_run_t;

//  Parse the command line of program; with_only allows --only NAME, and
//  with_pace --pace N (N > 0).
//  Returns 0, or -1 after printing the usage. Also starts CZMQ.
int
    zcq_bench_run_parse (zcq_bench_run_t *self, const char *program, bool with_only,
                         bool with_pace, int argc, char **argv);

//  Add the machine, the command and the date to the report's context.
void
    zcq_bench_run_context (zcq_bench_run_t *self, zcq_bench_report_t *report);

//  Print the report's table, write OUT/name.json and OUT/chart.svg (the
//  chart's file name given), and say where.
void
    zcq_bench_run_finish (zcq_bench_run_t *self, zcq_bench_report_t *report, const char *json,
                          const char *svg);

#endif
