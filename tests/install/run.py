"""Installs the artefacts of dist/ (scripts/dist.sh) the way users do, and runs them.

    python3 tests/install/run.py [python|node|c ...]     (default: all three)

- Python: a local pypiserver serves the wheel and the sdist; `pip install poto-sessions` into
  fresh venvs of CPython 3.9 and 3.13 (pyenv's) runs the seed example against a redis-server
  started here, and the `poto-sessions-admin` console script; `pip install --no-binary
  poto-sessions` (on 3.13 only: a source build takes minutes) builds the sdist and does the same.
- Node: a local verdaccio registry, on which `poto-sessions*` has no uplink, gets both packages
  published with a throwaway token; `npm install poto-sessions` in a fresh folder runs the seed
  example as CommonJS, ESM and TypeScript; after `--omit=optional` the import fails with the
  loader's one-sentence error.
- C/C++: the prefix tarball unpacked; the C example built by a Makefile with pkg-config and the
  C++ example by CMake with find_package, each linked shared and static, run under valgrind.

Each checks that the native file it installed is byte for byte the one in dist/ (SHA256SUMS).
Servers listen on free loopback ports with temporary directories and stop at the end. Tools
(pypiserver, verdaccio, typescript) are installed pinned under $CARGO_TARGET_DIR/install-tools.
"""

from __future__ import annotations

import glob
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
import zipfile
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")).resolve()
DIST = Path(os.environ.get("DIST_DIR", ROOT / "dist")).resolve()
TOOLS = TARGET / "install-tools"
PYPISERVER = "pypiserver==2.4.2"
VERDACCIO = "verdaccio@6.8.0"
TYPESCRIPT = ["typescript@5.9.3", "@types/node@20.19.25"]

sys.path.insert(0, str(ROOT / "tests" / "cross_language"))
from harness import Checks  # noqa: E402  (it puts tests/support on sys.path)
from redis_servers import RedisServer, free_port  # noqa: E402

checks = Checks()
skipped = 0


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess[str]:
    """Runs cmd; its output is kept for the check that reads it."""
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def check_run(name: str, cmd: list[str], expect: list[str] = (), **kw) -> subprocess.CompletedProcess[str]:
    r = run(cmd, **kw)
    out = r.stdout + r.stderr
    missing = [e for e in expect if e not in out]
    checks(name, r.returncode == 0 and not missing, f"exit {r.returncode}, missing {missing}\n{out[-4000:]}")
    return r


def wait_http(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except Exception:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not answer within {seconds} s")
            time.sleep(0.2)


def start(stack: ExitStack, cmd: list[str], log: Path, **kw) -> subprocess.Popen:
    """A server process, stopped (SIGTERM, then SIGKILL) when the stack closes."""
    out = open(log, "w")
    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, **kw)

    def stop() -> None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        out.close()

    stack.callback(stop)
    return proc


def dist_files() -> dict[str, str]:
    """SHA256SUMS, after checking that every file in dist/ matches it."""
    sums = {}
    for line in (DIST / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        sums[name.lstrip("*")] = digest
    bad = [n for n, d in sums.items() if sha256((DIST / n).read_bytes()) != d]
    listed = set(sums) | {"SHA256SUMS"}
    unlisted = [p.name for p in DIST.iterdir() if p.name not in listed]
    checks("dist/ matches SHA256SUMS", not bad and not unlisted, f"differ: {bad}, not listed: {unlisted}")
    return sums


# The text of every failpoint panic (core/src/failpoint.rs): test builds only, never in dist/.
FAILPOINT_MARKER = b"poto-sessions failpoint"


def check_no_failpoints(name: str, data: bytes) -> None:
    checks(f"{name} has no failpoints", len(data) > 0 and FAILPOINT_MARKER not in data)


def one(pattern: str) -> Path:
    found = sorted(DIST.glob(pattern))
    if len(found) != 1:
        raise SystemExit(f"install tests: expected one {pattern} in {DIST}, found {[p.name for p in found]}; run scripts/dist.sh")
    return found[0]


def version() -> str:
    for line in (ROOT / "Cargo.toml").read_text().splitlines():
        if line.startswith("version = "):
            return line.split('"')[1]
    raise RuntimeError("no version in Cargo.toml")


def skip(name: str, why: str) -> None:
    global skipped
    skipped += 1
    print(f"skip - {name}: {why}")


# ---------------------------------------------------------------- Python


def pyenv_python(minor: str) -> str | None:
    root = run(["pyenv", "root"]).stdout.strip() if shutil.which("pyenv") else os.path.expanduser("~/.pyenv")
    found = sorted(glob.glob(f"{root}/versions/{minor}.*/bin/python{minor}"), key=lambda p: [int(x) for x in p.split("/")[-3].split(".") if x.isdigit()])
    if found:
        return found[-1]
    return shutil.which(f"python{minor}")


def python_tests(stack: ExitStack, tmp: Path, redis_url: str) -> None:
    v = version()
    wheel, sdist = one(f"poto_sessions-{v}-*.whl"), one(f"poto_sessions-{v}.tar.gz")
    with zipfile.ZipFile(wheel) as z:
        native_name = next(n for n in z.namelist() if n.startswith("poto_sessions/_native") and n.endswith(".so"))
        wheel_native = sha256(z.read(native_name))
        check_no_failpoints(f"the wheel's {native_name}", z.read(native_name))

    tools = TOOLS / "pypiserver"
    if not (tools / "bin" / "pypi-server").exists():
        subprocess.run([sys.executable, "-m", "venv", str(tools)], check=True)
        subprocess.run([str(tools / "bin" / "pip"), "install", "-q", PYPISERVER], check=True)
    packages = tmp / "pypi"
    packages.mkdir()
    for f in (wheel, sdist):
        shutil.copy(f, packages)
    port = free_port()
    # Packages it does not hold (maturin, for the sdist's build) it redirects to its fallback
    # index, the public one; poto-sessions comes from here only.
    start(stack, [str(tools / "bin" / "pypi-server"), "run", "-i", "127.0.0.1", "-p", str(port), str(packages)], tmp / "pypiserver.log")
    index = f"http://127.0.0.1:{port}/simple/"
    wait_http(index)
    env = {k: val for k, val in os.environ.items() if not k.startswith("PIP_") or k in ("PIP_CERT", "PIP_DEFAULT_TIMEOUT")}
    env.pop("VIRTUAL_ENV", None)
    example = ROOT / "bindings" / "python" / "examples" / "seed_example.py"

    def install_and_run(minor: str, source_build: bool) -> None:
        name = f"python {minor} {'sdist' if source_build else 'wheel'}"
        python = pyenv_python(minor)
        if python is None:
            skip(name, f"no CPython {minor} here (pyenv install {minor})")
            return
        venv = tmp / f"venv-{minor}-{'sdist' if source_build else 'wheel'}"
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
        cmd = [str(venv / "bin" / "pip"), "install", "--index-url", index, f"poto-sessions=={v}"]
        build_env = dict(env)
        if source_build:
            cmd[2:2] = ["--no-binary", "poto-sessions"]
            # Cargo's cache of compiled dependencies, kept between runs (not the sources: those
            # come from the sdist).
            build_env["CARGO_TARGET_DIR"] = str(TARGET / "install-sdist-build")
        else:
            cmd[2:2] = ["--only-binary", "poto-sessions"]
        r = check_run(f"{name}: pip install poto-sessions", cmd, env=build_env)
        if r.returncode:
            return
        site = run([str(venv / "bin" / "python"), "-c", "import poto_sessions._native as n; print(n.__file__)"], env=env)
        installed = Path(site.stdout.strip())
        digest = sha256(installed.read_bytes()) if installed.is_file() else ""
        if source_build:
            # Built here from the sdist: not the wheel's binary, and pip's record says so.
            wheel_tag = (Path(glob.glob(f"{installed.parent.parent}/poto_sessions-{v}.dist-info")[0]) / "WHEEL").read_text()
            checks(f"{name}: the native module was built from the sdist", digest and digest != wheel_native and "linux_x86_64" in wheel_tag and "manylinux" not in wheel_tag, wheel_tag)
        else:
            checks(f"{name}: the installed native module is the wheel's in dist/", digest == wheel_native, f"{installed}: {digest} != {wheel_native}")
        run_env = {**env, "REDIS_URL": redis_url}
        check_run(f"{name}: the seed example on Redis", [str(venv / "bin" / "python"), str(example)], ["model: llm2", "Cleaned"], env=run_env)
        admin = str(venv / "bin" / "poto-sessions-admin")
        check_run(f"{name}: poto-sessions-admin --version", [admin, "--version"], [f"poto-sessions-admin {v}"], env=env)
        r = check_run(f"{name}: poto-sessions-admin stats on Redis", [admin, "--url", redis_url, "--prefix", "poto-demo:", "--json", "stats"], ['"activeSessions"'], env=env)
        bad = run([admin, "--url", redis_url, "get"], env=env)
        checks(f"{name}: poto-sessions-admin exits 2 on bad arguments", bad.returncode == 2, f"exit {bad.returncode}")

    install_and_run("3.9", False)
    install_and_run("3.13", False)
    install_and_run("3.13", True)


# ---------------------------------------------------------------- Node


def node_tests(stack: ExitStack, tmp: Path, redis_url: str) -> None:
    v = version()
    main_tgz, plat_tgz = one(f"poto-sessions-{v}.tgz"), one(f"poto-sessions-linux-x64-gnu-{v}.tgz")
    with tarfile.open(plat_tgz) as t:
        addon = t.extractfile("package/poto-sessions.linux-x64-gnu.node").read()
    addon_digest = sha256(addon)
    check_no_failpoints("the npm addon", addon)
    npm_cache = tmp / "npm-cache"  # a fresh cache: nothing installed comes from an earlier run
    base_env = {**os.environ, "npm_config_cache": str(npm_cache), "npm_config_update_notifier": "false",
                "npm_config_audit": "false", "npm_config_fund": "false"}

    verdaccio = TOOLS / "verdaccio"
    verdaccio_bin = verdaccio / "node_modules" / ".bin" / "verdaccio"
    if not verdaccio_bin.exists():
        verdaccio.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--prefix", str(verdaccio), "--no-save", "--loglevel=error", VERDACCIO],
                       check=True, env={**base_env, "npm_config_cache": str(TOOLS / "npm-cache")})
    upstream = run(["npm", "config", "get", "registry"]).stdout.strip()
    port = free_port()
    storage = tmp / "verdaccio"
    storage.mkdir()
    (storage / "config.yaml").write_text(f"""
storage: {storage}/storage
auth:
  htpasswd:
    file: {storage}/htpasswd
    max_users: 1
uplinks:
  upstream:
    url: {upstream}
packages:
  'poto-sessions*':
    access: $all
    publish: $authenticated
  '**':
    access: $all
    proxy: upstream
log: {{ type: stdout, format: pretty, level: warn }}
""")
    start(stack, [str(verdaccio_bin), "--config", str(storage / "config.yaml"), "--listen", f"127.0.0.1:{port}"], tmp / "verdaccio.log")
    registry = f"http://127.0.0.1:{port}/"
    wait_http(registry + "-/ping")
    # A throwaway user; its token goes into a temporary .npmrc only.
    user = {"name": "poto-install-test", "password": sha256(os.urandom(16))[:24], "type": "user"}
    req = urllib.request.Request(registry + "-/user/org.couchdb.user:poto-install-test", data=json.dumps(user).encode(),
                                 method="PUT", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        token = json.load(resp)["token"]
    npmrc = tmp / "npmrc"
    npmrc.write_text(f"registry={registry}\n//127.0.0.1:{port}/:_authToken={token}\n")
    env = {**base_env, "npm_config_userconfig": str(npmrc), "npm_config_registry": registry}
    for tgz in (plat_tgz, main_tgz):
        check_run(f"npm publish {tgz.name}", ["npm", "publish", str(tgz)], env=env)

    def fresh(name: str) -> Path:
        app = tmp / name
        app.mkdir()
        (app / "package.json").write_text(json.dumps({"name": name, "version": "1.0.0", "private": True}))
        return app

    app = fresh("node-app")
    r = check_run("npm install poto-sessions", ["npm", "install", f"poto-sessions@{v}", *TYPESCRIPT], cwd=app, env=env)
    if r.returncode:
        return
    installed = app / "node_modules" / "poto-sessions-linux-x64-gnu" / "poto-sessions.linux-x64-gnu.node"
    digest = sha256(installed.read_bytes()) if installed.exists() else ""
    checks("npm: the installed addon is the one in dist/", digest == addon_digest, f"{digest} != {addon_digest}")
    checks("npm: the main package ships no binary", not list((app / "node_modules" / "poto-sessions").rglob("*.node")))
    run_env = {**env, "REDIS_URL": redis_url}
    shutil.copy(ROOT / "bindings" / "node" / "examples" / "seed-example.js", app / "seed-example.js")
    check_run("npm: the seed example (CommonJS) on Redis", ["node", "seed-example.js"], ["model read through the other instance: llm2", "\nok"], cwd=app, env=run_env)
    here = Path(__file__).parent
    shutil.copy(here / "seed.mjs", app)
    check_run("npm: the seed example (ESM) on Redis", ["node", "seed.mjs"], ["alice uses llm2", "ok"], cwd=app, env=run_env)
    shutil.copy(here / "seed.ts", app)
    (app / "tsconfig.json").write_text(json.dumps({"compilerOptions": {
        "target": "ES2022", "module": "commonjs", "moduleResolution": "node", "strict": True,
        "types": ["node"], "outDir": "out", "skipLibCheck": False}, "files": ["seed.ts"]}))
    if check_run("npm: tsc compiles the TypeScript seed example against index.d.ts", ["npx", "--no-install", "tsc", "-p", "."], cwd=app, env=env).returncode == 0:
        check_run("npm: the seed example (TypeScript) on Redis", ["node", "out/seed.js"], ["alice uses llm2", "ok"], cwd=app, env=run_env)

    bare = fresh("node-app-omit-optional")
    r = check_run("npm install --omit=optional poto-sessions", ["npm", "install", "--omit=optional", f"poto-sessions@{v}"], cwd=bare, env=env)
    if r.returncode == 0:
        r = run(["node", "-e", "require('poto-sessions')"], cwd=bare, env=env)
        lines = [line for line in r.stderr.splitlines() if line.startswith("Error: poto-sessions:")]
        checks("npm --omit=optional: require fails with one sentence naming the platform and the source build",
               r.returncode != 0 and len(lines) == 1 and "linux-x64-gnu" in lines[0] and "--omit=optional" in lines[0] and "build from source" in lines[0],
               r.stderr[-2000:])


# ---------------------------------------------------------------- C/C++


MAKEFILE = """\
# What a C user writes: flags from pkg-config (PKG_CONFIG_PATH=<prefix>/lib/pkgconfig).
CFLAGS += -std=c11 -Wall -Wextra -Werror $(shell pkg-config --cflags poto_sessions)
all: chat_host chat_host_static
chat_host: chat_host.c
\t$(CC) $(CFLAGS) $< -o $@ $(shell pkg-config --libs poto_sessions)
# Static: the archive by path, then what it needs from the system.
chat_host_static: chat_host.c
\t$(CC) $(CFLAGS) $< -o $@ $(shell pkg-config --variable=libdir poto_sessions)/libpoto_sessions.a $(shell pkg-config --libs-only-other --libs-only-l --static poto_sessions | sed 's/-lpoto_sessions//')
"""

CMAKELISTS = """\
cmake_minimum_required(VERSION 3.16)
project(poto_install_test CXX)
set(CMAKE_CXX_STANDARD 17)
find_package(poto_sessions 0.1 REQUIRED)
add_executable(chat_host chat_host.cpp)
target_link_libraries(chat_host PRIVATE poto_sessions::poto_sessions)
add_executable(chat_host_static chat_host.cpp)
target_link_libraries(chat_host_static PRIVATE poto_sessions::poto_sessions_static)
"""


def c_tests(stack: ExitStack, tmp: Path, redis_url: str) -> None:
    v = version()
    tarball = one(f"poto-sessions-{v}-linux-x86_64.tar.gz")
    with tarfile.open(tarball) as t:
        members = {m.name: m for m in t.getmembers()}
        shipped = {n: sha256(t.extractfile(m).read()) for n, m in members.items() if m.isfile()}
        t.extractall(tmp / "c-prefix", filter="tar") if sys.version_info >= (3, 12) else t.extractall(tmp / "c-prefix")
    prefix = tmp / "c-prefix" / f"poto-sessions-{v}-linux-x86_64"
    major = v.split(".")[0]
    lib = prefix / "lib" / "libpoto_sessions.so"
    checks("C prefix: libpoto_sessions.so -> .so.MAJOR -> .so.VERSION",
           os.readlink(lib) == f"libpoto_sessions.so.{major}" and lib.resolve().name == f"libpoto_sessions.so.{v}")
    soname = run(["objdump", "-p", str(lib)]).stdout
    checks("C prefix: soname libpoto_sessions.so.MAJOR", f"SONAME               libpoto_sessions.so.{major}" in soname)
    installed = {str(p.relative_to(tmp / "c-prefix")): sha256(p.read_bytes()) for p in prefix.rglob("*") if p.is_file() and not p.is_symlink()}
    checks("C prefix: the installed files are the tarball's in dist/", installed == shipped, f"{sorted(installed)} vs {sorted(shipped)}")
    for shipped_lib in (f"libpoto_sessions.so.{v}", "libpoto_sessions.a"):
        check_no_failpoints(f"C prefix: {shipped_lib}", (prefix / "lib" / shipped_lib).read_bytes())
    check_run("C prefix: bin/poto-sessions-admin --version", [str(prefix / "bin" / "poto-sessions-admin"), "--version"], [f"poto-sessions-admin {v}"])

    valgrind = ["valgrind", "--leak-check=full", "--errors-for-leak-kinds=definite,indirect",
                "--show-leak-kinds=definite,indirect", "--error-exitcode=99", "--quiet"]
    if not shutil.which("valgrind"):
        raise SystemExit("install tests: valgrind missing (scripts/install-deps.sh installs it)")

    def run_hosts(kind: str, build: Path) -> None:
        for exe in ("chat_host", "chat_host_static"):
            linked = run(["ldd", str(build / exe)]).stdout
            shared = "libpoto_sessions.so" in linked
            checks(f"{kind}: {exe} links the {'static' if 'static' in exe else 'shared'} library",
                   shared != ("static" in exe) and (not shared or str(prefix) in linked), linked)
            check_run(f"{kind}: {exe} on Redis under valgrind", [*valgrind, str(build / exe)], ["alice starts on llm1"], env={**os.environ, "REDIS_URL": redis_url})

    make_dir = tmp / "make-project"
    make_dir.mkdir()
    shutil.copy(ROOT / "examples" / "c" / "chat_host.c", make_dir)
    (make_dir / "Makefile").write_text(MAKEFILE)
    if check_run("C: make with pkg-config", ["make"], cwd=make_dir, env={**os.environ, "PKG_CONFIG_PATH": str(prefix / "lib" / "pkgconfig")}).returncode == 0:
        run_hosts("C (make)", make_dir)

    cmake_dir = tmp / "cmake-project"
    cmake_dir.mkdir()
    shutil.copy(ROOT / "examples" / "cpp" / "chat_host.cpp", cmake_dir)
    (cmake_dir / "CMakeLists.txt").write_text(CMAKELISTS)
    build = cmake_dir / "build"
    configured = check_run("C++: cmake configure with find_package(poto_sessions 0.1)",
                           ["cmake", "-S", str(cmake_dir), "-B", str(build), f"-DCMAKE_PREFIX_PATH={prefix}"])
    if configured.returncode == 0 and check_run("C++: cmake build", ["cmake", "--build", str(build)]).returncode == 0:
        run_hosts("C++ (cmake)", build)
    wrong = cmake_dir / "wrong-version"
    wrong.mkdir()
    (wrong / "CMakeLists.txt").write_text(CMAKELISTS.replace("poto_sessions 0.1 REQUIRED", f"poto_sessions {int(major) + 1}.0 REQUIRED"))
    r = run(["cmake", "-S", str(wrong), "-B", str(wrong / "build"), f"-DCMAKE_PREFIX_PATH={prefix}"])
    checks("C++: find_package refuses an incompatible version", r.returncode != 0 and "compatible with requested version" in r.stderr, r.stderr[-1500:])


def main() -> int:
    parts = sys.argv[1:] or ["python", "node", "c"]
    dist_files()
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="poto-install-") as tmp_name:
        tmp = Path(tmp_name)
        redis = stack.enter_context(RedisServer())
        for part in parts:
            started = time.monotonic()
            {"python": python_tests, "node": node_tests, "c": c_tests}[part](stack, tmp, redis.url)
            print(f"# {part}: {time.monotonic() - started:.0f} s")
    print(f"install: {checks.passed} passed, {checks.failed} failed" + (f", {skipped} skipped" if skipped else ""))
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
