#!/usr/bin/env bash
# Builds the C library and installs it for C/C++ hosts in the layout of the release tarball
# (scripts/c-prefix.sh): headers, the shared library with its soname links, the static library,
# a pkg-config file and a CMake package.
#
#   bash scripts/install-c.sh [PREFIX]          # default PREFIX: /usr/local (release build)
#   PROFILE=debug bash scripts/install-c.sh DIR # a debug build
#   LIB_DIR=target/debug bash scripts/install-c.sh DIR  # install libraries built already
#
# Then: cc app.c $(pkg-config --cflags --libs poto_sessions)            # shared
#       cc app.c $(pkg-config --cflags --libs --static poto_sessions)   # static
# with PKG_CONFIG_PATH=PREFIX/lib/pkgconfig when PREFIX is not a system location; or, in CMake,
# find_package(poto_sessions) with CMAKE_PREFIX_PATH=PREFIX.
set -euo pipefail
prefix=$(realpath -m "${1:-/usr/local}")
profile=${PROFILE:-release}
cd "$(dirname "$0")/.."
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
built=${LIB_DIR:-}
if [ -z "$built" ]; then
  # The soname the release tarball's library has (ffi/build.rs), so programs linked here keep
  # working after an upgrade within one major version.
  export POTO_SESSIONS_SONAME="libpoto_sessions.so.${version%%.*}"
  if [ "$profile" = release ]; then cargo build --release -p poto-sessions-ffi; else cargo build -p poto-sessions-ffi; fi
  built="${CARGO_TARGET_DIR:-target}/$profile"
fi
bash scripts/c-prefix.sh "$(realpath "$built")" "$prefix"
echo "installed poto_sessions $version from $built under $prefix"
