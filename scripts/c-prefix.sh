#!/usr/bin/env bash
# Lays out a C/C++ prefix from libraries cargo built: the one layout of scripts/dist.sh's
# tarball and of scripts/install-c.sh.
#   include/   poto_sessions.h, poto_sessions.hpp
#   lib/       libpoto_sessions.so.VERSION, .so.MAJOR and .so links, libpoto_sessions.a,
#              pkgconfig/poto_sessions.pc (relocatable), cmake/poto_sessions/ (find_package)
#   bin/       poto-sessions-admin, when ADMIN names one
#
#   bash scripts/c-prefix.sh LIB_DIR PREFIX [ADMIN]
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: c-prefix.sh LIB_DIR PREFIX [ADMIN]" >&2; exit 2; }
built=$1
prefix=$2
admin=${3:-}
cd "$(dirname "$0")/.."
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
major=${version%%.*}
install -d "$prefix/include" "$prefix/lib/pkgconfig" "$prefix/lib/cmake/poto_sessions"
install -m 644 include/poto_sessions.h include/poto_sessions.hpp "$prefix/include/"
install -m 755 "$built/libpoto_sessions.so" "$prefix/lib/libpoto_sessions.so.$version"
ln -sfn "libpoto_sessions.so.$version" "$prefix/lib/libpoto_sessions.so.$major"
ln -sfn "libpoto_sessions.so.$major" "$prefix/lib/libpoto_sessions.so"
install -m 644 "$built/libpoto_sessions.a" "$prefix/lib/"
if [ -n "$admin" ]; then
  install -d "$prefix/bin"
  install -m 755 "$admin" "$prefix/bin/"
fi
# What the static library needs from the system (Rust's std, tokio), for pkg-config and CMake.
static_libs="-lpthread -ldl -lm -lrt -lutil -lgcc_s"
# Relocatable: pkg-config resolves ${pcfiledir}, CMake its list dir.
cat > "$prefix/lib/pkgconfig/poto_sessions.pc" <<EOF
prefix=\${pcfiledir}/../..
includedir=\${prefix}/include
libdir=\${prefix}/lib

Name: poto_sessions
Description: Pluggable user-session store (in-memory, Redis, custom) with module and LLM API
Version: $version
Cflags: -I\${includedir}
Libs: -L\${libdir} -Wl,-rpath,\${libdir} -lpoto_sessions
Libs.private: $static_libs
EOF
cmake_libs=$(echo "$static_libs" | sed 's/-l//g; s/ /;/g')
cat > "$prefix/lib/cmake/poto_sessions/poto_sessionsConfig.cmake" <<EOF
# find_package(poto_sessions) gives poto_sessions::poto_sessions (shared, the default) and
# poto_sessions::poto_sessions_static.
get_filename_component(_poto_prefix "\${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
if(NOT TARGET poto_sessions::poto_sessions)
  add_library(poto_sessions::poto_sessions SHARED IMPORTED)
  set_target_properties(poto_sessions::poto_sessions PROPERTIES
    IMPORTED_LOCATION "\${_poto_prefix}/lib/libpoto_sessions.so.$version"
    IMPORTED_SONAME "libpoto_sessions.so.$major"
    INTERFACE_INCLUDE_DIRECTORIES "\${_poto_prefix}/include")
  add_library(poto_sessions::poto_sessions_static STATIC IMPORTED)
  set_target_properties(poto_sessions::poto_sessions_static PROPERTIES
    IMPORTED_LOCATION "\${_poto_prefix}/lib/libpoto_sessions.a"
    INTERFACE_INCLUDE_DIRECTORIES "\${_poto_prefix}/include"
    INTERFACE_LINK_LIBRARIES "$cmake_libs")
endif()
set(poto_sessions_ADMIN "\${_poto_prefix}/bin/poto-sessions-admin")
unset(_poto_prefix)
EOF
# Before 1.0 a minor release may break compatibility (as Cargo reads versions), after it a major.
cat > "$prefix/lib/cmake/poto_sessions/poto_sessionsConfigVersion.cmake" <<EOF
set(PACKAGE_VERSION "$version")
if(NOT PACKAGE_FIND_VERSION)
  set(PACKAGE_VERSION_COMPATIBLE TRUE)
elseif(PACKAGE_FIND_VERSION VERSION_GREATER PACKAGE_VERSION)
  set(PACKAGE_VERSION_COMPATIBLE FALSE)
elseif(NOT PACKAGE_FIND_VERSION_MAJOR EQUAL $major)
  set(PACKAGE_VERSION_COMPATIBLE FALSE)
elseif($major EQUAL 0 AND NOT PACKAGE_FIND_VERSION_MINOR EQUAL $(echo "$version" | cut -d. -f2))
  set(PACKAGE_VERSION_COMPATIBLE FALSE)
else()
  set(PACKAGE_VERSION_COMPATIBLE TRUE)
  if(PACKAGE_FIND_VERSION STREQUAL PACKAGE_VERSION)
    set(PACKAGE_VERSION_EXACT TRUE)
  endif()
endif()
if(NOT CMAKE_SIZEOF_VOID_P EQUAL 8)
  set(PACKAGE_VERSION "\${PACKAGE_VERSION} (64-bit)")
  set(PACKAGE_VERSION_UNSUITABLE TRUE)
endif()
EOF
