//! `poto-sessions-admin`: the operator tool (see lib.rs).

use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(poto_sessions_admin::main_with_args(std::env::args_os()))
}
