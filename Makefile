# The README's two commands end here:
#   ./deploy/install-deps.sh && make run
#   ./deploy/install-deps.sh --test && make test
BUILD ?= build
JOBS ?= $(shell nproc)
CONFIG ?= config/memoryguard.yaml
# ccache, where installed, for every build tree here. Paths are hashed
# relative to the checkout, so two checkouts (or git worktrees) share hits.
CCACHE := $(shell command -v ccache 2>/dev/null)
ifneq ($(CCACHE),)
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := 1
CMAKE_LAUNCHER := -DCMAKE_CXX_COMPILER_LAUNCHER=$(CCACHE)
endif
# Every tree made here treats warnings as errors: the project keeps them at
# zero. A plain cmake does not (see MEMORYGUARD_WERROR in CMakeLists.txt).
CMAKE_FLAGS := $(CMAKE_LAUNCHER) -DMEMORYGUARD_WERROR=ON

.PHONY: all build run test soak fuzz bench bench-quick unit integration asan tsan variants deb format clean

all: build

build:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j$(JOBS)

run: build
	$(BUILD)/memoryguard --config.file=$(CONFIG)

test: build
	ctest --test-dir $(BUILD) --output-on-failure -j$(JOBS) -LE soak

soak: build
	ctest --test-dir $(BUILD) --output-on-failure -L soak

unit: build
	ctest --test-dir $(BUILD) --output-on-failure -L unit

integration: build
	ctest --test-dir $(BUILD) --output-on-failure -j$(JOBS) -L integration

# Sanitizer builds run the same suites; CI runs both.
asan:
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug $(CMAKE_FLAGS) -DMEMORYGUARD_SANITIZE=address,undefined
	cmake --build build-asan -j$(JOBS)
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  ctest --test-dir build-asan --output-on-failure -j$(JOBS) -LE soak

tsan:
	cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug $(CMAKE_FLAGS) -DMEMORYGUARD_SANITIZE=thread
	cmake --build build-tsan -j$(JOBS)
	TSAN_OPTIONS="halt_on_error=1 suppressions=$(CURDIR)/tests/tsan.supp" ctest --test-dir build-tsan --output-on-failure -j$(JOBS) -LE soak

# The other compilers and flag sets, each with its unit tests; CI runs them.
variants:
	tests/build/variants.sh

# The Debian package built, linted, installed, checked and purged (as root).
deb:
	tests/deploy/deb_test.sh

FUZZ_SECONDS ?= 10
# libFuzzer comes with clang, so the fuzz targets have their own build tree:
# replay the corpus (every past crash stays fixed), then fuzz each target.
fuzz:
	cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) -DCMAKE_CXX_COMPILER=clang++ \
	  -DMEMORYGUARD_FUZZ=ON -DMEMORYGUARD_SANITIZE=address,undefined
	cmake --build build-fuzz --target fuzz_targets -j$(JOBS)
	ctest --test-dir build-fuzz --output-on-failure -L fuzz
	tests/fuzz/run.sh $(FUZZ_SECONDS)

# The benchmark of issue 4: the agent against its floors and peers on a real
# population, in a private PID namespace. Not part of `make test`.
bench-quick bench: build
	cmake --build $(BUILD) --target bench_tools -j$(JOBS)
	tests/bench/bench.py --build $(BUILD) $(if $(filter bench-quick,$@),--quick)

format:
	clang-format -i $$(git ls-files 'agent/*.cpp' 'agent/*.h' 'tests/*.cpp' 'tests/*.h')

clean:
	rm -rf $(BUILD) build-asan build-tsan build-fuzz build-variants build-deb
