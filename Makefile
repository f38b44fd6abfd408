# Convenience wrapper around meson/ninja. The two commands a new user runs:
#   make demo   -- install what is missing, build, run the demo
#   make test   -- install what is missing, build, run every test
BUILD ?= build
MESON_OPTS ?=
# make install [PREFIX=/usr] [DESTDIR=/tmp/stage]
PREFIX ?= /usr/local

.PHONY: all install deb test demo bench fuzz format check-format clean deps

all: $(BUILD)/build.ninja
	ninja -C $(BUILD)

$(BUILD)/build.ninja:
	meson setup $(BUILD) $(MESON_OPTS)

# Program, library, headers, man pages, systemd unit, sysusers.d and
# tmpfiles.d entries, example config. Without DESTDIR (as root) it also
# creates the user and the queue directory (scripts/post-install.sh).
install: $(BUILD)/build.ninja
	meson configure $(BUILD) -Dprefix=$(PREFIX)
	meson install -C $(BUILD) $(if $(DESTDIR),--destdir $(abspath $(DESTDIR)))

# Debian packages into build/deb (dpkg-buildpackage, lintian-checked).
deb:
	scripts/deps.sh deb
	scripts/deb.sh

deps:
	scripts/deps.sh test

test:
	scripts/deps.sh test
	scripts/run-tests.sh

demo:
	scripts/deps.sh demo
	$(MAKE) all
	scripts/demo.sh

bench:
	scripts/deps.sh bench
	$(MAKE) all
	bench/run-all.sh

# Long fuzzing runs (hours): FUZZ_SECONDS=3600 make fuzz
fuzz:
	scripts/deps.sh test
	scripts/fuzz.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

check-format:
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-asan build-fuzz
