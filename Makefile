# EdgeSentry top-level Makefile: a thin wrapper over CMake + ctest.
#   make demo     install missing packages, build, run the end-to-end demo
#   make test     build normally and under ASan + UBSan, run every test in both
#   make bench    optimised build, run the benchmarks
#   make fuzz     libFuzzer build (clang), each target FUZZ_SECONDS over its corpus
#   make lint     clang-format, cppcheck, clang-tidy (scripts/lint.sh)
#   make install  cmake --install (PREFIX=DIR to choose where)
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
BENCH_BUILD ?= build-bench
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
FUZZ_SECONDS ?= 20
CMAKE_ARGS ?=
# cmake --build runs make underneath: keep its "Entering directory" noise out.
MAKEFLAGS += --no-print-directory
# ctest: fail when no test was found; a log per build for the summary line.
CTEST = ctest --output-on-failure --no-tests=error -j$(JOBS)

.PHONY: all deps build asan-build demo test test-fast test-asan bench fuzz fuzz-build \
        install format lint clean

all: build

deps:
	@bash scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

asan-build: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DEDS_SANITIZE=ON $(CMAKE_ARGS) >/dev/null
	@cmake --build $(ASAN_BUILD) -j$(JOBS)

demo: build
	./$(BUILD)/eds demo

# The whole suite, then the whole suite again under ASan + UBSan; the last
# line counts both runs.
test: test-fast test-asan
	@bash scripts/test-summary.sh $(BUILD)/ctest.log $(ASAN_BUILD)/ctest.log

test-fast: build
	cd $(BUILD) && $(CTEST) --output-log ctest.log

test-asan: asan-build
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 $(CTEST) --output-log ctest.log

bench: deps
	@cmake -S . -B $(BENCH_BUILD) -DCMAKE_BUILD_TYPE=Release -DEDS_BUILD_TESTS=OFF $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BENCH_BUILD) -j$(JOBS)
	bash bench/run.sh $(BENCH_BUILD)

fuzz-build: deps
	@CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug -DEDS_FUZZ=ON \
	  -DEDS_BUILD_TESTS=OFF $(CMAKE_ARGS) >/dev/null
	@cmake --build $(FUZZ_BUILD) -j$(JOBS)

# Each fuzz target runs FUZZ_SECONDS over a copy of its kept corpus.
fuzz: fuzz-build
	bash fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

install: build
	cmake --install $(BUILD) $(if $(PREFIX),--prefix $(PREFIX),)

format:
	clang-format -i $$(git ls-files '*.c' '*.h' '*.cpp' '*.hpp')

lint: build
	bash scripts/lint.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) $(BENCH_BUILD)
