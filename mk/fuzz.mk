#  Fuzzing with libFuzzer (clang): every decoder and handler that takes
#  bytes from another process.
#
#  make fuzz SECONDS=N   build the targets and run each for N s [60]
#  make fuzz-build       only build them (build-fuzz/fuzz/fuzz_*)
#
#  Each target starts from its seed corpus fuzz/corpus/TARGET (from the
#  protocol's example messages) and the inputs that once found a bug,
#  fuzz/regressions/TARGET-*; what it learns goes to build-fuzz/corpus, what
#  it finds to build-fuzz/findings. tests/test_fuzz.sh runs each for 20 s.

FUZZ_BUILD   := build-fuzz
FUZZ_CC      := clang
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS  := -O1 -g -fno-omit-frame-pointer -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror \
                -fPIC $(INCLUDES) -Ifuzz $(FUZZ_SAN) -fsanitize=fuzzer-no-link
FUZZ_TARGETS := $(patsubst fuzz/%.c,%,$(filter-out fuzz/fuzz_kit.c,$(wildcard fuzz/fuzz_*.c)))
FUZZ_BINS    := $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz/%)
FUZZ_OBJ     := $(LIB_SRC:%.c=$(FUZZ_BUILD)/obj/%.o) $(FUZZ_BUILD)/obj/fuzz/fuzz_kit.o
SECONDS      ?= 60

.PHONY: fuzz fuzz-build
fuzz-build: $(FUZZ_BINS)

fuzz: deps fuzz-build
	@sh fuzz/run.sh $(FUZZ_BUILD) $(SECONDS) $(FUZZ_TARGETS)

$(FUZZ_BUILD)/obj/%.o: %.c $(HEADERS) fuzz/fuzz_kit.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_BUILD)/fuzz/%: $(FUZZ_BUILD)/obj/fuzz/%.o $(FUZZ_OBJ)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

#  Seed corpora from the protocol's example messages, kept in the tree
.PHONY: fuzz-seeds
fuzz-seeds: $(BUILD)/fuzz/make_seeds
	$(BUILD)/fuzz/make_seeds fuzz/corpus

$(BUILD)/fuzz/make_seeds: $(BUILD)/obj/fuzz/make_seeds.o $(BUILD)/obj/fuzz/fuzz_kit.o $(BUILD)/libzcqrs.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/obj/fuzz/%.o: CFLAGS += -Ifuzz
