# Thin wrappers around CMake, so that a fresh machine needs only `make run`
# or `make test`.
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc)
HOST ?= 127.0.0.1
PORT ?= 8080
FUZZ_SECONDS ?= 60

.PHONY: all deps test-deps build run test test-asan bench docker-test fuzz clean

all: build

deps:
	@scripts/install-deps.sh

test-deps:
	@scripts/install-deps.sh --test

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

run: build
	$(BUILD)/kreuz --host $(HOST) --port $(PORT)

test: test-deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)
	cd $(BUILD) && ctest --output-on-failure
	$(MAKE) --no-print-directory test-asan
	scripts/fuzz.sh 20

$(ASAN_BUILD)/CMakeCache.txt:
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKREUZ_SANITIZE=ON

# The whole suite again against a binary built with ASan and UBSan; any report
# aborts the process, which fails the test that drove it.
test-asan: test-deps $(ASAN_BUILD)/CMakeCache.txt
	cmake --build $(ASAN_BUILD) -j $(JOBS) --target kreuz unit_tests byte_writer
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  KREUZ_SANITIZED=1 ctest --output-on-failure

bench: build
	BUILD=$(BUILD) bench/run.sh

# Builds the container image and checks kreuz in it (podman/buildah, minutes; not part of `test`).
docker-test:
	@scripts/docker-test.sh

# libFuzzer targets of tests/fuzz/ (clang, ASan, UBSan), FUZZ_SECONDS each.
fuzz: test-deps
	scripts/fuzz.sh $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz
