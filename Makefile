# Thin wrapper around CMake; see README.md.
BUILD     ?= build
SANBUILD  ?= build-sanitize
FUZZBUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_JOBS ?= 2
JOBS      ?= $(shell nproc)
CMAKEFLAGS ?=
ifdef CI
CMAKEFLAGS += -DTANDEM_WERROR=ON
endif

.PHONY: all deps build run test sanitize fuzz bench clean

all: build

deps:
	@sh tools/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKEFLAGS) >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

run: build
	sh tools/run-example.sh $(BUILD)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

sanitize: deps
	cmake -S . -B $(SANBUILD) -DCMAKE_BUILD_TYPE=Debug -DTANDEM_SANITIZE=ON $(CMAKEFLAGS) >/dev/null
	cmake --build $(SANBUILD) -j $(JOBS)
	cd $(SANBUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j $(JOBS)

# libFuzzer targets (tests/fuzz/): clang, ASan+UBSan, each target run for
# FUZZ_SECONDS, FUZZ_JOBS at a time; any crash or sanitizer report fails.
fuzz: deps
	cmake -S . -B $(FUZZBUILD) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTANDEM_SANITIZE=ON -DTANDEM_FUZZ=ON >/dev/null
	cmake --build $(FUZZBUILD) -j $(JOBS) --target fuzz_targets
	bash tests/fuzz/run.sh -b $(FUZZBUILD) -t $(FUZZ_SECONDS) -j $(FUZZ_JOBS)

bench: build
	/usr/bin/python3 tests/bench/run.py --build-dir $(BUILD) $(BENCHFLAGS)

clean:
	rm -rf $(BUILD) $(SANBUILD) $(FUZZBUILD)
