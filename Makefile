# EdgeSentry top-level Makefile: thin wrapper over CMake + ctest.
#   make demo   install deps, build, run the end-to-end demo
#   make test   install deps, build (normal + ASan/UBSan), run every test
#   make bench  build optimised, run the benchmarks
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_ARGS ?=

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

# The whole suite, then the whole suite again under ASan + UBSan.
test: test-fast test-asan

test-fast: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

test-asan: asan-build
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j$(JOBS)

bench: deps
	@cmake -S . -B $(BUILD)-bench -DCMAKE_BUILD_TYPE=Release -DEDS_BUILD_TESTS=OFF $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD)-bench -j$(JOBS)
	bash bench/run.sh $(BUILD)-bench

fuzz-build: deps
	@CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug -DEDS_FUZZ=ON \
	  -DEDS_BUILD_TESTS=OFF $(CMAKE_ARGS) >/dev/null
	@cmake --build $(FUZZ_BUILD) -j$(JOBS)

# Each fuzz target runs briefly over its kept corpus (FUZZ_SECONDS each).
fuzz: fuzz-build
	bash fuzz/run.sh $(FUZZ_BUILD) $${FUZZ_SECONDS:-20}

install: build
	cmake --install $(BUILD) $(if $(PREFIX),--prefix $(PREFIX),)

format:
	clang-format -i $$(git ls-files '*.c' '*.h' '*.cpp' '*.hpp')

lint: build
	bash scripts/lint.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) $(BUILD)-bench
