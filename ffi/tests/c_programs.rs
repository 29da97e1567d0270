//! C and C++ programs compiled against the checked-in header and the built library, run
//! under valgrind when it is installed (zero errors, nothing "definitely" or "indirectly" lost).
//! `POTO_VALGRIND=0` runs them natively.

#[path = "../../core/tests/support/mod.rs"]
mod support;

mod built_lib;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use built_lib::lib_dir;
use support::{RedisServer, TestCerts};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn compile(compiler: &str, std: &str, sources: &[PathBuf], out: &Path, extra: &[&str]) {
    let lib = lib_dir();
    let status = Command::new(compiler)
        .args([std, "-Wall", "-Wextra", "-Werror", "-g"])
        .arg(format!("-I{}", repo().join("include").display()))
        .arg(format!("-I{}", repo().join("ffi/tests/c").display()))
        .args(sources)
        .arg("-o")
        .arg(out)
        .arg(format!("-L{}", lib.display()))
        .arg("-lpoto_sessions")
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .args(extra)
        .arg("-lpthread")
        .status()
        .unwrap_or_else(|e| panic!("{compiler} not found: {e}"));
    assert!(status.success(), "{compiler} failed for {sources:?}");
}

fn valgrind() -> bool {
    std::env::var("POTO_VALGRIND").as_deref() != Ok("0")
        && Command::new("valgrind").arg("--version").output().is_ok_and(|o| o.status.success())
}

/// Runs `exe`, under valgrind when available; returns stdout.
fn run(exe: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    run_with(valgrind(), exe, args, env)
}

fn run_with(valgrind: bool, exe: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let mut command = if valgrind {
        let mut c = Command::new("valgrind");
        c.args([
            "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect",
            "--show-leak-kinds=definite,indirect",
            "--error-exitcode=99",
            "--quiet",
        ])
        .arg(exe)
        .env("POTO_TTL_UNIT_MS", "600");
        c
    } else {
        Command::new(exe)
    };
    let out = command.args(args).envs(env.iter().copied()).env_remove("REDIS_URL").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{} failed ({}):\n{stdout}\n{stderr}", exe.display(), out.status);
    stdout
}

fn c_test(name: &str, extra_sources: &[&str]) -> PathBuf {
    let dir = tempfile::tempdir().unwrap().keep();
    let mut sources = vec![repo().join(format!("ffi/tests/c/{name}.c"))];
    sources.extend(extra_sources.iter().map(|s| repo().join(format!("ffi/tests/c/{s}"))));
    let exe = dir.join(name);
    compile("cc", "-std=c11", &sources, &exe, &[]);
    exe
}

#[test]
fn bad_input_battery() {
    let out = run(&c_test("test_bad_input", &[]), &[], &[]);
    assert!(out.contains(", 0 failed"), "{out}");
}

#[test]
fn custom_provider_written_in_c() {
    let out = run(&c_test("test_custom_provider", &["memory_store.c"]), &[], &[]);
    assert!(out.contains(", 0 failed"), "{out}");
}

#[test]
fn c_api_on_memory_and_redis() {
    let server = RedisServer::start();
    let exe = c_test("test_api", &[]);
    let out = run_with(false, &exe, &[&server.url()], &[]);
    assert!(out.contains(", 0 failed"), "{out}");
    if valgrind() {
        let out = run(&exe, &[&server.url()], &[("POTO_CONFORMANCE", "0")]);
        assert!(out.contains(", 0 failed"), "{out}");
    }
}

/// TLS from C (natively: this is about the handshake, not memory): a verified connection with
/// `poto_redis_options_set_tls_ca_file`, a wrong CA as `POTO_ERR_UNAVAILABLE`, and no panic
/// text on stderr.
#[test]
fn tls_from_c() {
    let certs = TestCerts::generate();
    let server = RedisServer::start_tls(&certs, "server", false);
    let exe = c_test("test_tls", &[]);
    let ca = certs.path("ca.crt").display().to_string();
    let other_ca = certs.path("other-ca.crt").display().to_string();
    let out = Command::new(&exe).args([&server.tls_url(), &ca, &other_ca]).env_remove("REDIS_URL").output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && stdout.contains(", 0 failed"), "{stdout}\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn header_compiles_as_c11_and_cpp17() {
    let dir = tempfile::tempdir().unwrap();
    for (compiler, std, file) in [("cc", "-std=c11", "unit.c"), ("c++", "-std=c++17", "unit.cpp")] {
        let source = dir.path().join(file);
        std::fs::write(
            &source,
            "#include \"poto_sessions.h\"\nint main(void) { return poto_status_name(POTO_OK)[0] == 'P' ? 0 : 1; }\n",
        )
        .unwrap();
        compile(compiler, std, &[source], &dir.path().join(format!("{file}.out")), &["-pedantic"]);
    }
}

/// The library exports exactly the header's functions: no `#[no_mangle]` forgotten, and no stray
/// symbol a host could come to depend on (docs/c-api.md, "ABI stability").
#[test]
fn library_exports_exactly_the_header_functions() {
    let header = std::fs::read_to_string(repo().join("include/poto_sessions.h")).unwrap();
    let declared: BTreeSet<&str> = header
        .lines()
        .filter(|line| !line.starts_with([' ', '/', '#', '}']) && !line.starts_with("typedef"))
        .filter_map(|line| line[..line.find('(')?].rsplit([' ', '*']).next())
        .filter(|name| name.starts_with("poto_"))
        .collect();
    let nm = Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(lib_dir().join("libpoto_sessions.so"))
        .output()
        .expect("nm not found");
    assert!(nm.status.success());
    let symbols = String::from_utf8(nm.stdout).unwrap();
    let exported: BTreeSet<&str> = symbols.lines().filter_map(|line| line.split_whitespace().nth(2)).collect();
    assert!(declared.len() > 50, "{declared:?}");
    assert_eq!(exported, declared, "exported symbols (left) differ from the header's functions (right)");
}

#[test]
fn example_hosts_in_c_and_cpp() {
    let server = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let c_host = dir.path().join("chat_host");
    let cpp_host = dir.path().join("chat_host_cpp");
    compile("cc", "-std=c11", &[repo().join("examples/c/chat_host.c")], &c_host, &[]);
    compile("c++", "-std=c++17", &[repo().join("examples/cpp/chat_host.cpp")], &cpp_host, &[]);
    for host in [&c_host, &cpp_host] {
        let memory = run(host, &[], &[]);
        assert!(memory.contains("alice starts on llm1"), "{memory}");
        let redis = run(host, &[], &[("REDIS_URL", &server.url())]);
        assert!(redis.contains("alice starts on llm1"), "{redis}");
    }
    // The C host's update function keeps every field while it counts two messages.
    let c = run(&c_host, &[], &[]);
    assert!(c.contains(r#""messages":2"#) && c.contains(r#""currentModelName":"llm2""#), "{c}");
    let cpp = run(&cpp_host, &[], &[]);
    assert!(cpp.contains("a throwing update changes nothing: POTO_ERR_PROVIDER"), "{cpp}");
}

#[test]
fn pkg_config_install_serves_shared_and_static_linking() {
    let prefix = tempfile::tempdir().unwrap();
    let status = Command::new("bash")
        .arg(repo().join("scripts/install-c.sh"))
        .arg(prefix.path())
        .env("LIB_DIR", lib_dir())
        .status()
        .unwrap();
    assert!(status.success());
    // The release tarball's layout (scripts/c-prefix.sh): soname links and the CMake package too.
    for file in ["lib/libpoto_sessions.so.0", "lib/cmake/poto_sessions/poto_sessionsConfigVersion.cmake"] {
        assert!(prefix.path().join(file).exists(), "{file} was not installed");
    }
    let pkg_config = |args: &[&str]| {
        let out = Command::new("pkg-config")
            .args(args)
            .arg("poto_sessions")
            .env("PKG_CONFIG_PATH", prefix.path().join("lib/pkgconfig"))
            .output()
            .expect("pkg-config not found");
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    let cflags = pkg_config(&["--cflags"]);
    let libs = pkg_config(&["--libs"]);
    let private = pkg_config(&["--libs-only-l", "--static"]);
    let example = repo().join("examples/c/chat_host.c");
    let shared = prefix.path().join("shared_host");
    let status = Command::new("cc")
        .arg(&example)
        .args(cflags.split_whitespace())
        .args(libs.split_whitespace())
        .arg("-o")
        .arg(&shared)
        .status()
        .unwrap();
    assert!(status.success());
    let static_host = prefix.path().join("static_host");
    let status = Command::new("cc")
        .arg(&example)
        .args(cflags.split_whitespace())
        .arg(prefix.path().join("lib/libpoto_sessions.a"))
        .args(private.split_whitespace().filter(|flag| *flag != "-lpoto_sessions"))
        .arg("-o")
        .arg(&static_host)
        .status()
        .unwrap();
    assert!(status.success());
    for host in [&shared, &static_host] {
        let out = Command::new(host).env_remove("REDIS_URL").output().unwrap();
        assert!(out.status.success() && String::from_utf8_lossy(&out.stdout).contains("alice starts on llm1"));
    }
}
