#!/usr/bin/env bash
# Builds every shipped artefact into dist/ (or $DIST_DIR), all with the workspace's version:
#   poto_sessions-V-cp39-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64.whl   (maturin, zig)
#   poto_sessions-V.tar.gz                       the sdist (builds from source with Rust)
#   poto-sessions-V.tgz                          npm main package (no binary; optionalDependencies)
#   poto-sessions-linux-x64-gnu-V.tgz            npm package holding the .node binary
#   poto-sessions-V-linux-x86_64.tar.gz          C/C++ prefix: include/, lib/ (.so.MAJOR, .a,
#                                                pkgconfig, cmake), bin/poto-sessions-admin
#   SHA256SUMS
# Every native file is linked for glibc 2.17 (cargo-zigbuild's x86_64-unknown-linux-gnu.2.17,
# checked with objdump -T) in the release profile (no LTO). The C library, the Node addon and the
# admin tool come from one cargo-zigbuild run, so their dependencies compile once; the wheel is
# built by maturin in a target dir of its own: maturin's zig wrappers are other files than
# cargo-zigbuild's, and cargo fingerprints the linker, so in a shared dir each build would
# recompile everything the other built. Only x86_64 glibc Linux is built here. Never with
# failpoints (core/src/failpoint.rs): that is what the test scripts add.
#
#   bash scripts/dist.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
target=$(realpath -m "${CARGO_TARGET_DIR:-$root/target}")
export CARGO_TARGET_DIR=$target
dist=$(realpath -m "${DIST_DIR:-$root/dist}")
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
major=${version%%.*}
triple=x86_64-unknown-linux-gnu
glibc=2.17
start=$SECONDS

# Build tools from the package index, pinned: zig 0.16.0 fails to build ring with the
# cargo-zigbuild of its day; 0.15.2 builds it.
tools="$target/dist-tools"
pins="ziglang==0.15.2 cargo-zigbuild==0.24.1 maturin==1.16.0 auditwheel==6.8.2"
if [ "$(cat "$tools/.pins" 2>/dev/null)" != "$pins" ]; then
  rm -rf "$tools"
  python3 -m venv "$tools"
  # shellcheck disable=SC2086
  "$tools/bin/pip" install -q --disable-pip-version-check $pins
  echo "$pins" > "$tools/.pins"
fi
# cargo-zigbuild finds zig through the venv's `python3 -m ziglang`.
export PATH="$tools/bin:$PATH"
command -v npm >/dev/null || { echo "dist.sh: npm is needed (scripts/install-deps.sh installs it)" >&2; exit 1; }

rm -rf "$dist"
mkdir -p "$dist"
stage="$target/dist-stage"
rm -rf "$stage"
mkdir -p "$stage"

# Fails unless every versioned symbol a file needs is from glibc <= 2.17.
check_glibc() {
  local newest
  newest=$(objdump -T "$1" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n1)
  if [ "$(printf '%s\n%s\n' "$newest" "$glibc" | sort -V | tail -n1)" != "$glibc" ]; then
    echo "dist.sh: $1 needs GLIBC_$newest (> $glibc)" >&2
    exit 1
  fi
  echo "  $(basename "$1"): newest GLIBC symbol version $newest"
}

echo "== Rust: C library, Node addon, admin tool ($triple.$glibc, release)"
# The soname is set here only (ffi/build.rs): test builds link their libraries by path.
POTO_SESSIONS_SONAME="libpoto_sessions.so.$major" \
  cargo zigbuild --release --locked --target "$triple.$glibc" \
  -p poto-sessions-ffi -p poto-sessions-node -p poto-sessions-admin
out="$target/$triple/release"
for f in libpoto_sessions.so libpoto_sessions_node.so poto-sessions-admin; do check_glibc "$out/$f"; done
soname=$(objdump -p "$out/libpoto_sessions.so" | awk '$1 == "SONAME" {print $2}')
[ "$soname" = "libpoto_sessions.so.$major" ] || { echo "dist.sh: soname is '$soname'" >&2; exit 1; }

echo "== Python: wheel (abi3, manylinux2014) and sdist"
(cd bindings/python &&
  CARGO_TARGET_DIR="$target/dist-python" maturin build --quiet --release --locked --zig --target "$triple" --compatibility manylinux2014 -o "$dist" &&
  maturin sdist -o "$dist")
wheel=$(ls "$dist"/poto_sessions-"$version"-*.whl)
auditwheel show "$wheel" | tee "$stage/auditwheel.txt" | sed 's/^/  /'
grep -q 'manylinux_2_17_x86_64' "$stage/auditwheel.txt" || { echo "dist.sh: the wheel is not manylinux_2_17" >&2; exit 1; }
mkdir "$stage/wheel"
(cd "$stage/wheel" && python3 -m zipfile -e "$wheel" .)
check_glibc "$(ls "$stage"/wheel/poto_sessions/_native*.so)"

echo "== Node: poto-sessions and poto-sessions-linux-x64-gnu"
plat="$stage/npm/poto-sessions-linux-x64-gnu"
main="$stage/npm/poto-sessions"
mkdir -p "$plat" "$main"
cp "$out/libpoto_sessions_node.so" "$plat/poto-sessions.linux-x64-gnu.node"
cp bindings/node/{index.js,index.mjs,index.d.ts,express-store.js,README.md} "$main/"
cp -r bindings/node/lib "$main/"
# Both package.json files derive from bindings/node/package.json: the main one ships no binary
# and names the platform package, which npm installs only where os/cpu/libc match.
node - "$root/bindings/node/package.json" "$main" "$plat" "$version" <<'EOF'
const fs = require('node:fs');
const [src, main, plat, version] = process.argv.slice(2);
const pkg = JSON.parse(fs.readFileSync(src, 'utf8'));
if (pkg.version !== version) throw new Error(`bindings/node/package.json has ${pkg.version}, the workspace ${version}`);
const platName = 'poto-sessions-linux-x64-gnu';
const shipped = {
  name: pkg.name, version, description: pkg.description, license: pkg.license,
  main: pkg.main, types: pkg.types, exports: pkg.exports,
  files: pkg.files.filter((f) => !f.startsWith('native/')),
  engines: pkg.engines,
  optionalDependencies: { [platName]: version },
};
fs.writeFileSync(`${main}/package.json`, JSON.stringify(shipped, null, 2) + '\n');
const binary = 'poto-sessions.linux-x64-gnu.node';
fs.writeFileSync(`${plat}/package.json`, JSON.stringify({
  name: platName, version, description: `The linux-x64-gnu (glibc >= 2.17) binary of ${pkg.name}`,
  license: pkg.license, main: binary, files: [binary], os: ['linux'], cpu: ['x64'], libc: ['glibc'],
  engines: pkg.engines,
}, null, 2) + '\n');
fs.writeFileSync(`${plat}/README.md`, `# ${platName}\n\nThe native addon of \`${pkg.name}\` for x86_64 Linux with glibc >= 2.17. Install \`${pkg.name}\`, which depends on it.\n`);
EOF
for d in "$plat" "$main"; do
  (cd "$d" && npm pack --silent --pack-destination "$dist" >/dev/null)
done

echo "== C/C++ prefix"
name="poto-sessions-$version-linux-x86_64"
prefix="$stage/$name"
bash scripts/c-prefix.sh "$out" "$prefix" "$out/poto-sessions-admin"
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$stage" -czf "$dist/$name.tar.gz" "$name"

(cd "$dist" && sha256sum -- * > SHA256SUMS)
echo "== dist/ (poto-sessions $version, $((SECONDS - start)) s)"
(cd "$dist" && ls -l --time-style=+ | tail -n +2 | awk '{print "  " $5 "\t" $NF}')
