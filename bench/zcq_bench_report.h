/*  =========================================================================
    zcq_bench_report - the figures of a benchmark run: each figure holds one
    value per repetition and is reported as its median with min-max, next
    to its target (met / not met), as a table on stdout, as JSON and as an
    SVG chart (throughput and latency per scenario) written by this code.
    =========================================================================
*/

#ifndef ZCQ_BENCH_REPORT_H_INCLUDED
#define ZCQ_BENCH_REPORT_H_INCLUDED

#include <stdbool.h>
#include <stdio.h>

#define ZCQ_BENCH_MAX_RUNS 16 //  repetitions one figure can hold

typedef struct _zcq_bench_report_t zcq_bench_report_t;
typedef struct _zcq_bench_figure_t zcq_bench_figure_t;

//  Create an empty report with a title ("zcqrs make bench").
zcq_bench_report_t *
    zcq_bench_report_new (const char *title);

//  Destroy the report and its figures; nulls the pointer.
void
    zcq_bench_report_destroy (zcq_bench_report_t **self_p);

//  Add a line of context (machine, command, settings): printed above the
//  table and written into the JSON under "context".
void
    zcq_bench_report_context (zcq_bench_report_t *self, const char *key, const char *format,
                              ...) __attribute__ ((format (printf, 3, 4)));

//  The figure of a scenario (e.g. "closed loop sync", "32 clients") and a
//  metric ("commands/s", "ack p99") in a unit ("/s", "ms", "MiB", "x", "s"),
//  made on first use. Figures keep the order in which they were first made.
zcq_bench_figure_t *
    zcq_bench_report_figure (zcq_bench_report_t *self, const char *scenario, const char *name,
                             const char *metric, const char *unit);

//  Find a figure made before, or NULL.
zcq_bench_figure_t *
    zcq_bench_report_find (zcq_bench_report_t *self, const char *scenario, const char *name,
                           const char *metric);

//  Record one repetition's value.
void
    zcq_bench_figure_add (zcq_bench_figure_t *self, double value);

//  Set the figure's target: at_least true means value >= target is met.
//  source says whose target it is ("issue 3").
void
    zcq_bench_figure_target (zcq_bench_figure_t *self, bool at_least, double target,
                             const char *source);

//  A short note printed after the figure ("NATS 2.9 does not fsync per ack").
void
    zcq_bench_figure_note (zcq_bench_figure_t *self, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

//  Median of the recorded values (or -1 with none), and how many there are.
double
    zcq_bench_figure_median (zcq_bench_figure_t *self);
int
    zcq_bench_figure_runs (zcq_bench_figure_t *self);

//  Make `scenario/name/metric` the ratio a / b of two figures, run by run
//  (repetition i of a over repetition i of b), in unit "x". Returns the
//  figure, or NULL if either has no values.
zcq_bench_figure_t *
    zcq_bench_report_ratio (zcq_bench_report_t *self, const char *scenario, const char *name,
                            const char *metric, zcq_bench_figure_t *a, zcq_bench_figure_t *b);

//  Print the table of medians with min-max, targets and met / not met.
void
    zcq_bench_report_print (zcq_bench_report_t *self, FILE *file);

//  Write the report as JSON. Returns 0, or -1 if the file cannot be written.
int
    zcq_bench_report_write_json (zcq_bench_report_t *self, const char *path);

//  Write an SVG chart: throughput figures (unit "/s") and latency figures
//  (unit "ms") as bars at the median with min-max whiskers, on log scales.
//  Returns 0, or -1 if the file cannot be written.
int
    zcq_bench_report_write_svg (zcq_bench_report_t *self, const char *path);

#endif
