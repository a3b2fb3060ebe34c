# Slate: a thin front over Meson. `make run` installs what is missing, builds and runs the demo;
# `make test` builds and runs every test. Everything builds under build*/.

BUILD      ?= build
FUZZ_BUILD ?= build-fuzz
ASAN_BUILD ?= build-asan
FUZZ_SECONDS ?= 10
MESON      ?= meson

# Debian 12 packages the build, the tests and the fuzzers need.
DEB_DEPS = meson ninja-build gcc pkgconf python3 libarchive-dev libzstd-dev libsodium-dev \
           libsqlite3-dev libelf-dev libcmocka-dev libcurl4-openssl-dev libc6-dev clang libclang-rt-14-dev zstd \
           nginx libseccomp-dev libfreetype-dev libharfbuzz-dev libfribidi-dev libunibreak-dev libthai-dev \
           libpixman-1-dev libpng-dev libjpeg-dev libwebp-dev fonts-noto-core fonts-material-design-icons-iconfont \
           libmicrohttpd-dev libsdl2-dev libdrm-dev libbpf-dev chromium xvfb xdotool qemu-system-x86 cpio

.PHONY: all deps run test fuzz asan bench clean

all: $(BUILD)/build.ninja
	ninja -C $(BUILD)

# Install only what is missing, so a ready machine never waits on apt.
deps:
	@missing=$$(for p in $(DEB_DEPS); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	    echo "installing missing build dependencies:" $$missing; \
	    sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	    $$sudo apt-get update -qq && $$sudo apt-get install -y -qq $$missing; \
	fi

$(BUILD)/build.ninja: | deps
	$(MESON) setup $(BUILD)

run: deps all
	examples/demo.sh $(BUILD)

test: deps all
	$(MESON) test -C $(BUILD) --print-errorlogs
	$(MAKE) --no-print-directory fuzz

# The fuzz targets under libFuzzer with ASan and UBSan, each for FUZZ_SECONDS.
fuzz: deps
	[ -f $(FUZZ_BUILD)/build.ninja ] || CC=clang $(MESON) setup $(FUZZ_BUILD) -Dfuzzing=true \
	    -Db_sanitize=address,undefined -Db_lundef=false -Dfuzz_seconds=$(FUZZ_SECONDS)
	ninja -C $(FUZZ_BUILD)
	$(MESON) test -C $(FUZZ_BUILD) --suite fuzz --suite fuzz-regress --print-errorlogs

# Every test again, built with AddressSanitizer and UndefinedBehaviorSanitizer.
asan: deps
	[ -f $(ASAN_BUILD)/build.ninja ] || $(MESON) setup $(ASAN_BUILD) -Db_sanitize=address,undefined \
	    -Db_lundef=false -Dbuildtype=debug
	ninja -C $(ASAN_BUILD)
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	    $(MESON) test -C $(ASAN_BUILD) --print-errorlogs --no-suite fuzz --no-suite guest

bench: deps
	bench/install.sh
	bench/update.sh
	bench/slated.sh
	bench/memory.sh
	bench/ui.sh

clean:
	rm -rf $(BUILD) $(FUZZ_BUILD) $(ASAN_BUILD)
