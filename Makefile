# Front door. Everything real lives in meson.build and scripts/.
#   make demo               install what is missing, build, run the demo
#   make check              install, build, run every test tier
#   make install PREFIX=DIR daemons and CLIs in DIR/bin, libraries in DIR/lib,
#                           headers in DIR/include, pkg-config in DIR/lib/pkgconfig
#   make fuzz [FUZZ_SECONDS=N]   longer fuzzing run of every target
#   make bench              every benchmark, figures against their limits

PREFIX ?= /usr/local
BUILD ?= build
FUZZ_SECONDS ?= 600

.PHONY: all deps build demo check install fuzz bench clean format

all: build

deps:
	sh scripts/install-deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD) -Dwerror=true

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

demo: build
	sh scripts/demo.sh $(BUILD)

check: deps
	sh scripts/check.sh

install: build
	meson configure $(BUILD) -Dprefix="$(abspath $(PREFIX))" -Dlibdir=lib
	meson install -C $(BUILD) --quiet

bench: build
	sh scripts/bench.sh $(BUILD)

fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) sh scripts/fuzz.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-asan build-fuzz
