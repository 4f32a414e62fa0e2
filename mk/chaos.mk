#  Chaos suite: a workload of many bank clients, an invariant checker, and a
#  runner that injects faults into a real cluster (see chaos/run).
#
#  make chaos SECONDS=600 SEED=7 OUT=chaos-out   a long randomised run; report
#                                                in OUT (report.json, summary.txt)

CHAOS_LIB      := $(BUILD)/obj/chaos/zcq_history.o $(BUILD)/obj/chaos/zcq_ledger.o \
                  $(BUILD)/obj/chaos/zcq_verdict.o
CHAOS_HEADERS  := $(wildcard chaos/*.h)
CHAOS_PROGRAMS := $(BUILD)/chaos/zcq-workload $(BUILD)/chaos/zcq-check

SECONDS ?= 600
SEED    ?= $(shell date +%s)
OUT     ?= chaos-out

.PHONY: chaos chaos-programs
all: chaos-programs
chaos-programs: $(CHAOS_PROGRAMS)

$(BUILD)/obj/chaos/%.o: chaos/%.c $(HEADERS) $(CHAOS_HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Ichaos -c $< -o $@

$(BUILD)/chaos/zcq-%: $(BUILD)/obj/chaos/zcq_%.o $(CHAOS_LIB) $(BUILD)/libzcqrs.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

chaos: deps
	@$(MAKE) --no-print-directory programs chaos-programs
	@chaos/run --build $(BUILD) --seconds $(SECONDS) --seed $(SEED) --out $(OUT)
