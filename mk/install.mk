#  Installing the library, the programs and what documents them.
#
#  make install   [PREFIX=/usr/local] [DESTDIR=] [BINDIR= LIBDIR= INCLUDEDIR=
#                 PKGCONFIGDIR= MANDIR= SYSTEMDUNITDIR= DATADIR= BASHCOMPDIR=]
#  make uninstall (the same variables): removes what install wrote, from the
#                 list install keeps in DATADIR/zcqrs/install-manifest
#
#  It installs
#    BINDIR          zcqrs, zcqrs-write, zcqrs-query, zcqrs-console, linked with
#                    libzcqrs.so
#    LIBDIR          libzcqrs.so.X.Y.Z (soname libzcqrs.so.X), the links
#                    libzcqrs.so.X and libzcqrs.so, and libzcqrs.a
#    INCLUDEDIR      zcqrs/: lib/zcqrs.h and exactly the headers it includes
#    PKGCONFIGDIR    zcqrs.pc
#    MANDIR/man1     zcqrs.1, zcqrs-write.1, zcqrs-query.1, zcqrs-console.1: help2man on each
#                    program's --help, with the description of man/NAME.h2m
#    SYSTEMDUNITDIR  zcqrs-write.service, zcqrs-query@.service: deploy/systemd/
#                    with @BINDIR@ replaced by where the programs went
#    BASHCOMPDIR     zcqrs: bash completion of the CLI (deploy/zcqrs.bash-completion)
#  Everything is made in $(BUILD)/install/ first; install only copies.
#
#  The installed programs link the shared library, while the build tree's
#  (which the tests run) stay static: a domain .so that a node loads (built
#  with `pkg-config --libs zcqrs`, so it needs libzcqrs.so) then shares one
#  copy of the library with the program, where a static program would hold
#  a second one, with its own registry and state, and only the part of the
#  API the program itself happened to use.

PREFIX         ?= /usr/local
DESTDIR        ?=
BINDIR         ?= $(PREFIX)/bin
LIBDIR         ?= $(PREFIX)/lib
INCLUDEDIR     ?= $(PREFIX)/include
DATADIR        ?= $(PREFIX)/share
MANDIR         ?= $(DATADIR)/man
PKGCONFIGDIR   ?= $(LIBDIR)/pkgconfig
#  systemd reads units from PREFIX/lib/systemd/system for /usr and /usr/local
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
BASHCOMPDIR    ?= $(DATADIR)/bash-completion/completions
MANIFEST       := $(DATADIR)/zcqrs/install-manifest

#  The installed programs find libzcqrs.so.X in LIBDIR: through ld.so's own
#  folders, or else an rpath (INSTALL_RPATH= says none)
MULTIARCH      := $(shell $(CC) -print-multiarch 2>/dev/null)
LOADER_DIRS    := /lib /usr/lib /usr/local/lib $(if $(MULTIARCH),/lib/$(MULTIARCH) \
                  /usr/lib/$(MULTIARCH) /usr/local/lib/$(MULTIARCH))
INSTALL_RPATH  ?= $(if $(filter $(LIBDIR),$(LOADER_DIRS)),,$(LIBDIR))

STAGE          := $(BUILD)/install
PROGRAM_NAMES  := zcqrs zcqrs-write zcqrs-query zcqrs-console
UNITS          := zcqrs-write.service zcqrs-query@.service
STAGED         := $(PROGRAM_NAMES:%=$(STAGE)/bin/%) $(PROGRAM_NAMES:%=$(STAGE)/man/%.1) \
                  $(UNITS:%=$(STAGE)/systemd/%) $(STAGE)/zcqrs.pc

.PHONY: install uninstall man FORCE
all: $(BUILD)/examples/hello_client
man: $(PROGRAM_NAMES:%=$(STAGE)/man/%.1)

#  The paths the staged files were made for; rewritten only when one
#  changes, so that `make install PREFIX=...` remakes what depends on them
INSTALL_PATHS  := $(PREFIX) $(BINDIR) $(LIBDIR) $(INCLUDEDIR) $(INSTALL_RPATH) $(VERSION)
$(STAGE)/paths: FORCE
	@mkdir -p $(dir $@)
	@echo '$(INSTALL_PATHS)' | cmp -s - $@ 2>/dev/null || echo '$(INSTALL_PATHS)' >$@

#  A comma inside $(if ...)
, := ,

#  The programs again, from the same objects, against libzcqrs.so
$(STAGE)/bin/zcqrs: $(BUILD)/obj/cli/zcqrs.o
$(STAGE)/bin/zcqrs-write: $(BUILD)/obj/nodes/zcqrs_write.o
$(STAGE)/bin/zcqrs-query: $(BUILD)/obj/nodes/zcqrs_query.o
$(STAGE)/bin/zcqrs-console: $(CONSOLE_OBJ)
$(STAGE)/bin/%: $(BUILD)/libzcqrs.so $(BUILD)/$(SONAME) $(STAGE)/paths
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) -L$(BUILD) -lzcqrs $(LDLIBS) \
	    $(if $(INSTALL_RPATH),-Wl$(,)-rpath$(,)$(INSTALL_RPATH))

#  A man page per program from its --help (help2man reads the options;
#  nothing here repeats them), and the hand-written parts of man/NAME.h2m
$(STAGE)/man/%.1: $(BUILD)/% man/%.h2m
	@mkdir -p $(dir $@)
	@command -v help2man >/dev/null || { echo "man: help2man is missing" \
	    "(deploy/install-deps.sh installs it)" >&2; exit 1; }
	LC_ALL=C help2man --no-info --version-string='$(VERSION)' --include=man/$*.h2m \
	    --output=$@ $(BUILD)/$*

$(STAGE)/systemd/%: deploy/systemd/% $(STAGE)/paths
	@mkdir -p $(dir $@)
	sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSTEMDUNITDIR@|$(SYSTEMDUNITDIR)|g' $< >$@

#  Requires: czmq and msgpack-c are part of the API (zcq_msg_t travels in
#  czmq frames and sockets, a node starts from a zconfig_t and is a
#  zactor_t, payloads are msgpack), so a user links them too. libzmq under
#  czmq, LevelDB (no .pc in Debian), -ldl and -lpthread only matter to a
#  static link (pkg-config --static)
$(STAGE)/zcqrs.pc: lib/zcqrs.h $(STAGE)/paths
	@mkdir -p $(dir $@)
	printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(LIBDIR)' 'includedir=$(INCLUDEDIR)' '' \
	    'Name: zcqrs' \
	    'Description: CQRS event backbone on ZeroMQ: client, domain API, codec, nodes' \
	    'Version: $(VERSION)' \
	    'Requires: libczmq msgpack' \
	    'Requires.private: libzmq' \
	    'Cflags: -I$${includedir}/zcqrs' \
	    'Libs: -L$${libdir} -lzcqrs' \
	    'Libs.private: -lleveldb -lmicrohttpd -lsodium -lraft -luv -ldl -lpthread' >$@

#  install FILE MODE DIR [NAME]: copy and note it in the manifest
INSTALL_FILE = install -D -m $(2) $(1) '$(DESTDIR)$(3)/$(or $(4),$(notdir $(1)))' && \
               echo '$(3)/$(or $(4),$(notdir $(1)))' >>'$(DESTDIR)$(MANIFEST).new'
#  install_link TARGET DIR NAME
INSTALL_LINK = ln -sfn $(1) '$(DESTDIR)$(2)/$(3)' && echo '$(2)/$(3)' >>'$(DESTDIR)$(MANIFEST).new'

install: programs $(STAGED)
	@mkdir -p '$(DESTDIR)$(dir $(MANIFEST))'
	@rm -f '$(DESTDIR)$(MANIFEST).new'
	@$(foreach name,$(PROGRAM_NAMES),$(call INSTALL_FILE,$(STAGE)/bin/$(name),755,$(BINDIR)) && ) true
	@$(call INSTALL_FILE,$(SHARED),755,$(LIBDIR))
	@$(call INSTALL_LINK,$(notdir $(SHARED)),$(LIBDIR),$(SONAME))
	@$(call INSTALL_LINK,$(SONAME),$(LIBDIR),libzcqrs.so)
	@$(call INSTALL_FILE,$(BUILD)/libzcqrs.a,644,$(LIBDIR))
	@$(foreach header,$(PUBLIC_HEADERS),$(call INSTALL_FILE,$(header),644,$(INCLUDEDIR)/zcqrs) && ) true
	@$(call INSTALL_FILE,$(STAGE)/zcqrs.pc,644,$(PKGCONFIGDIR))
	@$(foreach name,$(PROGRAM_NAMES),$(call INSTALL_FILE,$(STAGE)/man/$(name).1,644,$(MANDIR)/man1) && ) true
	@$(foreach unit,$(UNITS),$(call INSTALL_FILE,$(STAGE)/systemd/$(unit),644,$(SYSTEMDUNITDIR)) && ) true
	@$(call INSTALL_FILE,deploy/zcqrs.bash-completion,644,$(BASHCOMPDIR),zcqrs)
	@echo '$(MANIFEST)' >>'$(DESTDIR)$(MANIFEST).new'
	@mv '$(DESTDIR)$(MANIFEST).new' '$(DESTDIR)$(MANIFEST)'
	@if [ -z '$(DESTDIR)' ] && [ "$$(id -u)" -eq 0 ]; then ldconfig || true; fi
	@echo "install: $$(wc -l <'$(DESTDIR)$(MANIFEST)') files under $(DESTDIR)$(PREFIX), listed in $(DESTDIR)$(MANIFEST)"

#  Only what the manifest lists (files and links; folders other software
#  shares stay), then the folders that are zcqrs's own, if empty
uninstall:
	@if [ ! -f '$(DESTDIR)$(MANIFEST)' ]; then \
	    echo "uninstall: no $(DESTDIR)$(MANIFEST): nothing installed there (same PREFIX, DESTDIR?)" >&2; \
	    exit 1; \
	fi
	@count=0; while IFS= read -r path; do \
	    case "$$path" in /*) ;; *) echo "uninstall: skipping '$$path' (not absolute)" >&2; continue ;; esac; \
	    if [ -f '$(DESTDIR)'"$$path" ] || [ -L '$(DESTDIR)'"$$path" ]; then \
	        rm -f '$(DESTDIR)'"$$path" && count=$$((count + 1)); \
	    fi; \
	done <'$(DESTDIR)$(MANIFEST)'; \
	echo "uninstall: removed $$count files from $(DESTDIR)$(PREFIX)"
	@rmdir '$(DESTDIR)$(INCLUDEDIR)/zcqrs' '$(DESTDIR)$(dir $(MANIFEST))' 2>/dev/null || true
	@if [ -z '$(DESTDIR)' ] && [ "$$(id -u)" -eq 0 ]; then ldconfig || true; fi

#  The client example, built in the tree as a user builds it (tests/test_install.sh
#  builds it again against an installed copy)
$(BUILD)/examples/hello_client: $(BUILD)/obj/examples/hello_client.o $(BUILD)/libzcqrs.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
