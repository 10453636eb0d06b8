# yijian — `make run` serves, `make test` runs every suite. See README.md.

CC      ?= cc
PKGS    := libmicrohttpd jansson libsodium libpq libcurl xlsxwriter libqrencode
WARN    := -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wconversion -Wno-sign-conversion
CPPFLAGS := -D_GNU_SOURCE -Iservice/src -Ibuild/gen
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread
OPT     ?= -O2 -g
# `make V=1` shows the compiler command lines.
Q := $(if $(V),,@)
say = $(if $(V),,echo "  $(1) $@";)
ASAN    := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
           -fno-sanitize-recover=undefined

SRCS     := $(shell find service/src -name '*.c' | sort)
LIB_SRCS := $(filter-out service/src/main.c,$(SRCS))
UNIT_SRCS := $(shell find tests/unit -name '*.c' 2>/dev/null | sort)
EMBED_IN := $(wildcard sql/[0-9][0-9][0-9][0-9]-*.sql) api-spec/openapi.yaml
# The web client (web/): bundled by esbuild into build/web/, then embedded.
WEB_SRCS := $(shell find web/src -type f 2>/dev/null | sort) web/build.mjs web/package-lock.json

# Two flavours of every object: release (build/) and sanitized (build/asan/).
OBJS      := $(patsubst service/src/%.c,build/obj/%.o,$(SRCS)) build/obj/gen/embedded.o
LIB_OBJS  := $(filter-out build/obj/main.o,$(OBJS))
AOBJS     := $(patsubst build/obj/%,build/asan/obj/%,$(OBJS))
ALIB_OBJS := $(filter-out build/asan/obj/main.o,$(AOBJS))
UNIT_BINS := $(patsubst tests/unit/%.c,build/tests/unit/%,$(UNIT_SRCS))
AUNIT_BINS := $(patsubst tests/unit/%.c,build/asan/tests/unit/%,$(UNIT_SRCS))

.PHONY: all setup run test asan-test container-test build asan unit-bins lint-spec web clean
all: build/yijian

setup:
	@scripts/setup.sh

run: setup
	@$(MAKE) --no-print-directory build/yijian
	@scripts/run.sh

test:
	@scripts/setup.sh --test
	@$(MAKE) --no-print-directory -j$(shell nproc) build/yijian $(UNIT_BINS)
	@scripts/test.sh

# The AddressSanitizer + UndefinedBehaviorSanitizer build's suites: unit
# tests, the black-box suite with its log check, and every libFuzzer
# harness for 6 s. Apart so that `make test` stays under 12 minutes on 2
# cores; CI runs it after `make test`.
asan-test:
	@scripts/setup.sh --test
	@$(MAKE) --no-print-directory -j$(shell nproc) build/asan/yijian $(AUNIT_BINS)
	@scripts/test.sh asan

# Builds and runs the container images with podman: scripts/container-test.sh.
container-test:
	@scripts/setup.sh --containers
	@scripts/container-test.sh

# `make ha-test`: yijian across a database failover and the loss of an
# instance, with pg_auto_failover, HAProxy and two instances on this
# machine (tests/ha/ha-test.mjs), then a pgBackRest point-in-time restore
# (tests/ha/restore-test.sh). Not part of `make test`; CI runs it after.
.PHONY: ha-test
ha-test:
	@scripts/setup.sh --ha
	@$(MAKE) --no-print-directory build/yijian
	@scripts/ha/test.sh

build: build/yijian
web: build/web/.stamp
asan: build/asan/yijian
unit-bins: $(UNIT_BINS) $(AUNIT_BINS)

# The lists of inputs as files, rewritten only when a file is added, removed
# or renamed, so that a renamed migration or a deleted client file rebuilds
# what embeds them even though no input is newer than the output.
$(shell mkdir -p build/gen && { echo '$(EMBED_IN)' | cmp -s - build/gen/embed.list || echo '$(EMBED_IN)' >build/gen/embed.list; } && { echo '$(WEB_SRCS)' | cmp -s - build/gen/web.list || echo '$(WEB_SRCS)' >build/gen/web.list; })

build/web/.stamp: $(WEB_SRCS) build/gen/web.list
	$(Q)$(call say,WEB)node web/build.mjs build/web

build/gen/embedded.c: $(EMBED_IN) build/gen/embed.list scripts/embed.sh build/web/.stamp
	@mkdir -p $(@D)
	$(Q)$(call say,GEN)scripts/embed.sh $@ build/web

build/obj/gen/embedded.o: build/gen/embedded.c
	@mkdir -p $(@D)
	$(Q)$(call say,CC)$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(OPT) -c $< -o $@
build/asan/obj/gen/embedded.o: build/gen/embedded.c
	@mkdir -p $(@D)
	$(Q)$(call say,CC)$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(ASAN) -c $< -o $@

build/obj/%.o: service/src/%.c
	@mkdir -p $(@D)
	$(Q)$(call say,CC)$(CC) $(WARN) $(CPPFLAGS) $(PKG_CFLAGS) $(OPT) -MMD -MP -c $< -o $@
build/asan/obj/%.o: service/src/%.c
	@mkdir -p $(@D)
	$(Q)$(call say,CC)$(CC) $(WARN) $(CPPFLAGS) $(PKG_CFLAGS) $(ASAN) -MMD -MP -c $< -o $@

build/yijian: $(OBJS)
	$(Q)$(call say,CC)$(CC) $(OPT) $^ $(PKG_LIBS) -o $@
build/asan/yijian: $(AOBJS)
	$(Q)$(call say,CC)$(CC) $(ASAN) $^ $(PKG_LIBS) -o $@

# Unit tests mirror the source tree and may #include the .c they test.
build/tests/unit/%: tests/unit/%.c $(LIB_OBJS)
	@mkdir -p $(@D)
	$(Q)$(call say,CC)$(CC) $(WARN) -Wno-missing-prototypes $(CPPFLAGS) -Itests/unit $(PKG_CFLAGS) $(OPT) -MMD -MP \
	    -DTEST_SOURCE_DIR='"$(CURDIR)"' $< $(LIB_OBJS) $(PKG_LIBS) -lcmocka -o $@
build/asan/tests/unit/%: tests/unit/%.c $(ALIB_OBJS)
	@mkdir -p $(@D)
	$(Q)$(call say,CC)$(CC) $(WARN) -Wno-missing-prototypes $(CPPFLAGS) -Itests/unit $(PKG_CFLAGS) $(ASAN) -MMD -MP \
	    -DTEST_SOURCE_DIR='"$(CURDIR)"' $< $(ALIB_OBJS) $(PKG_LIBS) -lcmocka -o $@

# libFuzzer harnesses: tests/fuzz/<name>.c -> build/fuzz/<name>, linked against
# a third flavour of the service objects (clang, coverage, ASan+UBSan) kept in
# an archive so that each harness takes only what it needs. Not -Werror: clang
# warns differently from the gcc builds that enforce it. `make fuzz` runs them
# (FUZZ_SECONDS=600 make fuzz); see scripts/fuzz.sh and docs/hardening.md.
FUZZ_CC   ?= clang
FUZZ_BINS := $(patsubst tests/fuzz/%.c,build/fuzz/%,$(wildcard tests/fuzz/*.c))
FUZZ_OBJS := $(patsubst service/src/%.c,build/fuzz/obj/%.o,$(LIB_SRCS))
.PHONY: fuzz fuzz-bins
fuzz: setup
	@scripts/fuzz.sh
fuzz-bins: $(FUZZ_BINS)

build/fuzz/obj/%.o: service/src/%.c
	@mkdir -p $(@D)
	$(Q)$(call say,CC)$(FUZZ_CC) $(filter-out -Werror,$(WARN)) $(CPPFLAGS) $(PKG_CFLAGS) $(ASAN) \
	    -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@
build/fuzz/libyijian.a: $(FUZZ_OBJS) build/obj/gen/embedded.o
	$(Q)$(call say,AR)rm -f $@ && $(AR) rcs $@ $^
build/fuzz/%: tests/fuzz/%.c build/fuzz/libyijian.a
	$(Q)$(call say,CC)$(FUZZ_CC) $(filter-out -Werror,$(WARN)) -Wno-missing-prototypes $(CPPFLAGS) \
	    $(PKG_CFLAGS) $(ASAN) -fsanitize=fuzzer -MMD -MP $< build/fuzz/libyijian.a $(PKG_LIBS) -o $@

# `make bench`: yijian against the limits of this machine, measured in the
# same run on a throwaway cluster (bench/run.sh; BENCH_QUICK=1 for a short
# smoke run; results in docs/performance.md). Not part of `make test`.
BENCH_BINS := build/bench/hello build/bench/h2g build/bench/stmts
.PHONY: bench bench-bins
bench:
	@scripts/setup.sh --bench
	@$(MAKE) --no-print-directory build/yijian bench-bins
	@bench/run.sh
bench-bins: $(BENCH_BINS)

build/bench/hello: bench/hello.c build/obj/http/listen.o
	@mkdir -p $(@D)
	$(Q)$(call say,CC)$(CC) $(WARN) $(CPPFLAGS) $(PKG_CFLAGS) $(OPT) $^ $(PKG_LIBS) -o $@
build/bench/h2g: bench/h2g.c
	@mkdir -p $(@D)
	$(Q)$(call say,CC)$(CC) $(WARN) $(CPPFLAGS) $(PKG_CFLAGS) $(OPT) $< $(PKG_LIBS) -o $@
build/bench/stmts: bench/stmts.c build/obj/db/statements.o
	@mkdir -p $(@D)
	$(Q)$(call say,CC)$(CC) $(WARN) $(CPPFLAGS) $(PKG_CFLAGS) $(OPT) $^ -o $@

# The black-box suite with every yijian under valgrind memcheck; slow, so
# not part of `make test` (scripts/valgrind.sh; docs/reliability.md).
.PHONY: valgrind
valgrind: setup
	@nice -n 10 scripts/valgrind.sh

lint-spec: setup
	tests/node_modules/.bin/redocly lint --format=stylish api-spec/openapi.yaml

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
