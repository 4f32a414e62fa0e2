#  zcqrs - hand-written Makefile.
#
#  make run    install what is missing, build, start the local cluster
#  make test   install what is missing, build, run every test (plain, then
#              under AddressSanitizer + UndefinedBehaviorSanitizer)
#  make        build into build/ (CLI, nodes, libzcqrs.a, libzcqrs.so)
#  make check  run the tests of an existing build (BUILD=dir, SANITIZE=1)
#  make install [PREFIX=/usr/local] [DESTDIR=]  (mk/install.mk; uninstall)
#  make format rewrite the C sources in the house style (format-check: only say)
#  make bench  benchmarks (mk/bench.mk: bench, bench-peers, bench-instr)

BUILD    ?= build
CC       ?= cc
SANITIZE ?=
CFLAGS   ?= -O2 -g
#  One folder per part of the library (docs/layout.md); headers are
#  included by name, so each folder is on the include path
LIB_DIRS := $(sort $(dir $(wildcard lib/*/*.c)))
INCLUDES := -Iprotocol -Ilib $(patsubst %/,-I%,$(LIB_DIRS))
CFLAGS   += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -fPIC $(INCLUDES)
LDLIBS   := -lczmq -lzmq -lmsgpackc -lleveldb -lmicrohttpd -lsodium -lraft -luv -ldl -lpthread
ifeq ($(SANITIZE),1)
CFLAGS   += -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDFLAGS  += -fsanitize=address,undefined
endif

LIB_SRC  := $(wildcard protocol/*.c) $(wildcard lib/*/*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
HEADERS  := $(wildcard protocol/*.h) lib/zcqrs.h $(wildcard lib/*/*.h)
TEST_SRC := $(wildcard tests/test_*.c)
TESTS    := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
KIT_OBJ  := $(BUILD)/obj/tests/zcq_testkit.o
PROGRAMS := $(BUILD)/zcqrs $(BUILD)/zcqrs-write $(BUILD)/zcqrs-query $(BUILD)/zcqrs-console
#  The web console: a program of its own over the public API (console/)
CONSOLE_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard console/*.c))

#  The library's version, written once: the ZCQRS_VERSION_* macros of
#  lib/zcqrs.h. libzcqrs.so.MAJOR.MINOR.PATCH carries the soname
#  libzcqrs.so.MAJOR; libzcqrs.so.MAJOR and libzcqrs.so link to it
VERSION_PART = $(shell sed -n 's/^\#define ZCQRS_VERSION_$(1)  *\([0-9][0-9]*\)$$/\1/p' lib/zcqrs.h)
VERSION  := $(call VERSION_PART,MAJOR).$(call VERSION_PART,MINOR).$(call VERSION_PART,PATCH)
SONAME   := libzcqrs.so.$(call VERSION_PART,MAJOR)
SHARED   := $(BUILD)/libzcqrs.so.$(VERSION)
PLUGIN   := $(BUILD)/libzcq_counter.so $(BUILD)/libzcq_customer_v1.so \
            $(BUILD)/libzcq_customer_v2.so

#  The public headers: lib/zcqrs.h and every header it includes by name
#  (what make install installs, and the only API libzcqrs.so exports)
PUBLIC_NAMES   := $(shell sed -n 's/^\#include "\([^"]*\)".*/\1/p' lib/zcqrs.h)
PUBLIC_HEADERS := lib/zcqrs.h $(foreach name,$(PUBLIC_NAMES),\
                  $(or $(firstword $(wildcard protocol/$(name) lib/*/$(name))),\
                  $(error lib/zcqrs.h includes $(name), which is not in the tree)))
EXPORTS  := $(BUILD)/zcqrs.map

#  Keep objects between runs (pattern-rule intermediates would be deleted)
.SECONDARY:

.PHONY: all programs run test check deps clean format format-check settings-doc
all: programs $(TESTS)

programs: $(PROGRAMS) $(BUILD)/libzcqrs.a $(BUILD)/$(SONAME) $(BUILD)/libzcqrs.so $(PLUGIN)

deps:
	@deploy/install-deps.sh

run: deps
	@$(MAKE) --no-print-directory programs
	@SECURE=$(SECURE) CONSOLE_SEND=$(CONSOLE_SEND) ZCQRS_PORT_BASE=$(PORT_BASE) \
	    WRITE_NODES=$(WRITE_NODES) deploy/run-local.sh

test: deps
	@$(MAKE) --no-print-directory format-check
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory check
	@$(MAKE) --no-print-directory BUILD=build-asan SANITIZE=1 all
	@$(MAKE) --no-print-directory BUILD=build-asan SANITIZE=1 check

check: all
	@tests/run $(BUILD)

$(BUILD)/obj/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libzcqrs.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

#  libzcqrs.so exports the functions the public headers declare (each
#  declaration's name line, "    zcq_name (", in the house layout) and
#  nothing else: the private classes stay inside (tests/test_exports.sh)
$(EXPORTS): $(PUBLIC_HEADERS)
	@mkdir -p $(dir $@)
	@{ echo '{'; echo 'global:'; \
	   sed -n 's/^    \(zcq_[a-z0-9_]*\) (.*/    \1;/p' $(PUBLIC_HEADERS); \
	   echo 'local:'; echo '    *;'; echo '};'; } >$@

$(SHARED): $(LIB_OBJ) $(EXPORTS)
	$(CC) -shared $(LDFLAGS) -Wl,-soname,$(SONAME) -Wl,--version-script=$(EXPORTS) -o $@ \
	    $(LIB_OBJ) $(LDLIBS)

$(BUILD)/$(SONAME) $(BUILD)/libzcqrs.so: $(SHARED)
	ln -sf $(notdir $<) $@

$(BUILD)/zcqrs: $(BUILD)/obj/cli/zcqrs.o $(BUILD)/libzcqrs.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/zcqrs-%: $(BUILD)/obj/nodes/zcqrs_%.o $(BUILD)/libzcqrs.a
	$(CC) $(LDFLAGS) -rdynamic -o $@ $^ $(LDLIBS)

$(BUILD)/zcqrs-console: $(CONSOLE_OBJ) $(BUILD)/libzcqrs.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

#  The console's own headers, and its pages, which the assembler builds
#  into zcq_assets.o
$(CONSOLE_OBJ): $(wildcard console/*.h)
$(BUILD)/obj/console/zcq_assets.o: $(wildcard console/www/*)

#  A user domain built against the public headers only, loaded with --domain
$(BUILD)/libzcq_counter.so: examples/counter_domain.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -shared -o $@ $< $(LDFLAGS)

#  One domain at two versions: v2 reads v1's log through its upcasters
$(BUILD)/libzcq_customer_v%.so: examples/customer_domain.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DCUSTOMER_SCHEMA=$* -shared -o $@ $< $(LDFLAGS)

#  -rdynamic: a domain .so loaded by a test resolves zcq_* against the test
$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(KIT_OBJ) $(BUILD)/libzcqrs.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -rdynamic -o $@ $^ $(LDLIBS) -lcmocka

#  test_event_block compares the codec with the codec built without its
#  one-block EVENT decoding: that build's functions renamed unblocked_zcq_...
$(BUILD)/obj/tests/zcq_msg_unblocked.o: protocol/zcq_msg.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DZCQ_MSG_BLOCKS=0 -c $< -o $@.whole.o
	nm --defined-only -g $@.whole.o | awk 'NF == 3 {print $$3, "unblocked_" $$3}' >$@.names
	objcopy --redefine-syms=$@.names $@.whole.o $@
	rm -f $@.whole.o $@.names
$(BUILD)/tests/test_event_block: $(BUILD)/obj/tests/zcq_msg_unblocked.o

#  Tests that start node programs or load the plugin need them built first
$(TESTS): | $(PROGRAMS) $(PLUGIN)

#  README's configuration reference and deploy/config/*.zpl, rewritten from the
#  nodes' settings tables
settings-doc: $(BUILD)/tests/test_settings
	@$(BUILD)/tests/test_settings --update README.md

#  Our C sources; headers keep CZMQ's hand layout of declarations
#  (.clang-format says so), so only .c files are formatted
FORMATTED := $(LIB_SRC) $(wildcard cli/*.c nodes/*.c console/*.c tests/*.c examples/*.c \
                                   bench/*.c chaos/*.c fuzz/*.c)

format:
	clang-format -i $(FORMATTED)

#  Fails, naming each file and line, where a source is not formatted
format-check:
	@clang-format --dry-run -Werror $(FORMATTED) && echo "format-check: $(words $(FORMATTED)) files formatted"

clean:
	rm -rf build build-asan

#  Each feature that brings its own targets (fuzzing, chaos, benchmarks
#  against peers, clients) keeps them in mk/NAME.mk
-include mk/*.mk
