#!/usr/bin/env bash
# Builds the C library and installs it for C/C++ hosts: headers, shared and static library,
# and a pkg-config file.
#
#   bash scripts/install-c.sh [PREFIX]          # default PREFIX: /usr/local (release build)
#   PROFILE=debug bash scripts/install-c.sh DIR # a debug build
#   LIB_DIR=target/debug bash scripts/install-c.sh DIR  # install libraries built already
#
# Then: cc app.c $(pkg-config --cflags --libs poto_sessions)            # shared
#       cc app.c $(pkg-config --cflags --libs --static poto_sessions)   # static
# with PKG_CONFIG_PATH=PREFIX/lib/pkgconfig when PREFIX is not a system location.
set -euo pipefail
prefix=$(realpath -m "${1:-/usr/local}")
profile=${PROFILE:-release}
cd "$(dirname "$0")/.."
built=${LIB_DIR:-}
if [ -z "$built" ]; then
  if [ "$profile" = release ]; then cargo build --release -p poto-sessions-ffi; else cargo build -p poto-sessions-ffi; fi
  built="${CARGO_TARGET_DIR:-target}/$profile"
fi
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
install -d "$prefix/include" "$prefix/lib/pkgconfig"
install -m 644 include/poto_sessions.h include/poto_sessions.hpp "$prefix/include/"
install -m 755 "$built/libpoto_sessions.so" "$prefix/lib/"
install -m 644 "$built/libpoto_sessions.a" "$prefix/lib/"
cat > "$prefix/lib/pkgconfig/poto_sessions.pc" <<EOF
prefix=$prefix
includedir=\${prefix}/include
libdir=\${prefix}/lib

Name: poto_sessions
Description: Pluggable user-session store (in-memory, Redis, custom) with module and LLM API
Version: $version
Cflags: -I\${includedir}
Libs: -L\${libdir} -Wl,-rpath,\${libdir} -lpoto_sessions
Libs.private: -lgcc_s -lutil -lrt -lpthread -lm -ldl
EOF
echo "installed poto_sessions $version from $built under $prefix"
