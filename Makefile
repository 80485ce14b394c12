# Switchboard's front door.  `make run` and `make test` do all the set-up on a
# fresh Debian 12 machine: they apt-get the packages the project needs when
# any is missing, configure with Meson, build, and run.
#
#   make run          build (release) and run the server
#   make test         sanitizer build (ASan+UBSan) and every test; non-zero on failure
#   make fuzz         libFuzzer targets for FUZZ_SECONDS each (clang)
#   make bench-parse  parser benchmark against libosip2
#   make bench        switchboard and Kamailio side by side (bench/bench.sh,
#                     ~10 min): writes bench/RESULTS.md, bench/cpu_per_call.png
#   make bench-smoke  a few calls and registrations through both (~15 s)

SHELL := /bin/bash

BUILD      ?= build
BUILD_SAN  ?= build-san
BUILD_FUZZ ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := msg uri nameaddr via auth sdp rtp rtcp

# Debian packages: to build and test; to fuzz; to benchmark.
PKGS_BUILD := meson ninja-build gcc pkg-config libcmocka-dev libinih-dev libsqlite3-dev libssl-dev python3 sip-tester libmicrohttpd-dev libjansson-dev libcurl4-openssl-dev libsndfile1-dev baresip-core
PKGS_FUZZ  := clang libclang-rt-14-dev
PKGS_BENCH := libosip2-dev gnuplot-nox kamailio kamailio-sqlite-modules

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Install whatever in $(1) dpkg does not know as installed.
define need_pkgs
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi
endef

.PHONY: all deps run test build fuzz bench-parse bench bench-smoke clean

all: build

deps:
	$(call need_pkgs,$(PKGS_BUILD))

$(BUILD)/build.ninja: | deps
	meson setup $(BUILD) --buildtype=release -Db_ndebug=true

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

# The server with its embedded defaults (UDP and TCP on 5060; Ctrl-C stops
# it); sbparse is still built next to it.
run: build
	./$(BUILD)/switchboard -c etc/switchboard.ini

$(BUILD_SAN)/build.ninja: | deps
	meson setup $(BUILD_SAN) --buildtype=debug -Db_sanitize=address,undefined \
	  -Db_lundef=false

# Ends with the plain "N passed, M failed" line (meson's own summary
# counts are its Ok and Fail lines); the exit status is meson's.
test: deps $(BUILD_SAN)/build.ninja
	ninja -C $(BUILD_SAN)
	@set -o pipefail; \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	ASAN_OPTIONS=detect_leaks=1 \
	meson test -C $(BUILD_SAN) --print-errorlogs | tee $(BUILD_SAN)/test-output.txt; \
	rc=$$?; \
	ok=$$(awk '/^Ok:/ {print $$2}' $(BUILD_SAN)/test-output.txt); \
	bad=$$(awk '/^(Fail|Timeout|Unexpected Pass):/ {n += $$NF} END {print n + 0}' $(BUILD_SAN)/test-output.txt); \
	echo "$${ok:-0} passed, $$bad failed"; \
	exit $$rc

$(BUILD_FUZZ)/build.ninja:
	$(call need_pkgs,$(PKGS_BUILD) $(PKGS_FUZZ))
	CC=clang meson setup $(BUILD_FUZZ) --buildtype=debugoptimized -Dfuzz=true \
	  -Db_sanitize=address,undefined -Db_lundef=false \
	  -Dc_args=-fsanitize=fuzzer-no-link

# Each target runs FUZZ_SECONDS on a scratch copy of its corpus; new inputs
# land in build-fuzz/corpus/<target> (merge the useful ones by hand).
fuzz: $(BUILD_FUZZ)/build.ninja
	ninja -C $(BUILD_FUZZ)
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(BUILD_FUZZ)/corpus/$$t; \
	  echo "== fuzz_$$t for $(FUZZ_SECONDS)s"; \
	  ./$(BUILD_FUZZ)/tests/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=8192 \
	    -print_final_stats=1 $(BUILD_FUZZ)/corpus/$$t tests/fuzz/corpus/$$t || exit 1; \
	done

bench-parse:
	$(call need_pkgs,$(PKGS_BUILD) $(PKGS_BENCH))
	[ -f $(BUILD)-bench/build.ninja ] || meson setup $(BUILD)-bench --buildtype=release \
	  -Db_ndebug=true -Dbench=true
	ninja -C $(BUILD)-bench
	./$(BUILD)-bench/bench/bench_parse

# The proxy from the release build, the bench programs (bench_location,
# bench_core) from the bench build; not part of `make test`.  Kamailio is
# started by the script on free loopback ports (a kamailio service the
# package may have started is not used: `systemctl disable --now kamailio`
# keeps it from taking CPU during the run).
bench: build
	$(call need_pkgs,$(PKGS_BENCH))
	[ -f $(BUILD)-bench/build.ninja ] || meson setup $(BUILD)-bench --buildtype=release \
	  -Db_ndebug=true -Dbench=true
	ninja -C $(BUILD)-bench
	SB=$(BUILD)/switchboard SBCTL=$(BUILD)/sbctl BENCH_BUILD=$(BUILD)-bench bench/bench.sh

# A few calls and registrations through switchboard and Kamailio (skipped,
# exit 77, without sipp or kamailio); meson's bench-smoke test runs the same.
bench-smoke: build
	@SB=$(BUILD)/switchboard SBCTL=$(BUILD)/sbctl bench/bench.sh --smoke; rc=$$?; \
	if [ $$rc = 77 ]; then echo "bench-smoke: skipped (no sipp or no kamailio)"; rc=0; fi; \
	exit $$rc

clean:
	rm -rf $(BUILD) $(BUILD_SAN) $(BUILD_FUZZ) $(BUILD)-bench
