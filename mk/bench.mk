#  Benchmarks (not tests; a benchmark never fails the build over a figure).
#
#  make bench [QUICK=1]        zcqrs figures on this machine: starts its own
#                              clusters, prints medians with min-max next to the
#                              issues' targets, writes $(BUILD)/bench/results.json
#                              and chart.svg (QUICK=1: about a minute)
#  make bench-peers [QUICK=1]  the same closed loop against Redis Streams, NATS
#                              JetStream and PostgreSQL started here, side by side
#  make bench-instr [UPDATE=1] [ONLY=write,client,closed,query,write-closed]
#                              instructions per command (write node, the benchmark's
#                              client process) and per event applied (query node)
#                              under callgrind, against bench/instr-baseline.txt
#                              (UPDATE=1 rewrites it; ONLY measures some, keeping
#                              the baseline's others)
#  make bench-live-cpu [STORAGE=memory] [DEPOSITS=N]
#                              one query node's CPU per 1,000 events applied live

BENCH_PARTS   := proc latency report load raw cluster zcqrs run
BENCH_OBJ     := $(BENCH_PARTS:%=$(BUILD)/obj/bench/zcq_bench_%.o)
BENCH_HEADERS := $(wildcard bench/*.h)
PEERS_OBJ     := $(BUILD)/obj/bench/zcq_peers.o $(BUILD)/obj/bench/zcq_peer_redis.o \
                 $(BUILD)/obj/bench/zcq_peer_nats.o $(BUILD)/obj/bench/zcq_peer_pg.o
BENCH_MODE    := $(if $(QUICK),--quick,)
BENCH_REV     := $(shell git rev-parse --short HEAD 2>/dev/null)

.PHONY: bench bench-peers bench-instr bench-deps bench-filtered bench-live

#  make bench-filtered [QUICK=1]: CPU of a subscriber to one stream among
#  10,000 against one to everything, over the same load (bench/filtered.sh)
bench-filtered: deps
	@$(MAKE) --no-print-directory programs $(BUILD)/bench/zcq_filtered
	@sh bench/filtered.sh $(BUILD) $(if $(QUICK),20000,100000)

#  make bench-live-cpu [STORAGE=memory] [DEPOSITS=N]: live apply CPU of one
#  query node per 1,000 events, nothing else running (bench/live-cpu.sh)
.PHONY: bench-live-cpu
bench-live-cpu: deps
	@$(MAKE) --no-print-directory programs $(BUILD)/bench/zcq_filtered $(BUILD)/bench/zcq_live
	@sh bench/live-cpu.sh $(BUILD) $(or $(STORAGE),leveldb) $(or $(DEPOSITS),300000)

#  make bench-live [QUICK=1]: 1,000 live queries on one query node under a
#  command load and a catch-up: updates delivered per second, and the query
#  node's wall time, CPU and apply rate with and without them (bench/live.sh)
bench-live: deps
	@$(MAKE) --no-print-directory programs $(BUILD)/bench/zcq_filtered $(BUILD)/bench/zcq_live
	@sh bench/live.sh $(BUILD) $(if $(QUICK),20000,100000)

bench: deps
	@$(MAKE) --no-print-directory programs $(BUILD)/bench/zcq_bench
	@$(BUILD)/bench/zcq_bench --build $(BUILD) $(BENCH_MODE) \
	    --command "make bench$(if $(QUICK), QUICK=1,) (git $(BENCH_REV))"

bench-peers: deps bench-deps
	@$(MAKE) --no-print-directory programs $(BUILD)/bench/zcq_peers
	@$(BUILD)/bench/zcq_peers --build $(BUILD) $(BENCH_MODE) \
	    --command "make bench-peers$(if $(QUICK), QUICK=1,) (git $(BENCH_REV))"

bench-instr: deps bench-deps
	@$(MAKE) --no-print-directory programs $(BUILD)/bench/zcq_instr
	@$(BUILD)/bench/zcq_instr --build $(BUILD) --baseline bench/instr-baseline.txt \
	    $(if $(UPDATE),--update,) $(if $(ONLY),--only $(ONLY),)

#  The peers, their client libraries and valgrind, from Debian's packages
bench-deps:
	@deploy/install-deps.sh peers

#  Bench objects also depend on the bench headers
$(BUILD)/obj/bench/%.o: bench/%.c $(HEADERS) $(BENCH_HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/obj/bench/zcq_peer_pg.o: CFLAGS += -I/usr/include/postgresql

$(BUILD)/bench/zcq_bench $(BUILD)/bench/zcq_instr $(BUILD)/bench/zcq_catchup \
        $(BUILD)/bench/zcq_filtered $(BUILD)/bench/zcq_live: $(BUILD)/bench/%: \
        $(BUILD)/obj/bench/%.o \
        $(BENCH_OBJ) $(BUILD)/libzcqrs.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lm

$(BUILD)/bench/zcq_peers: $(PEERS_OBJ) $(BENCH_OBJ) $(BUILD)/libzcqrs.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lhiredis -lnats -lpq -lm

#  tests/test_bench.c tests the suite's own parts (they use no zcqrs code)
BENCH_TESTED := $(BUILD)/obj/bench/zcq_bench_proc.o $(BUILD)/obj/bench/zcq_bench_latency.o \
                $(BUILD)/obj/bench/zcq_bench_report.o $(BUILD)/obj/bench/zcq_bench_load.o \
                $(BUILD)/obj/bench/zcq_bench_raw.o $(BUILD)/obj/bench/zcq_bench_run.o
$(BUILD)/tests/test_bench: $(BENCH_TESTED)
$(BUILD)/tests/test_bench: LDLIBS += -lm

#  tests/test_bench_probe.c tests the end-to-end probe's query step
$(BUILD)/tests/test_bench_probe: $(BUILD)/obj/bench/zcq_bench_zcqrs.o $(BENCH_TESTED)
$(BUILD)/tests/test_bench_probe: LDLIBS += -lm
