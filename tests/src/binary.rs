//! Finding (and if needed building) the real `llm-repl` binary for end-to-end tests.
//!
//! Integration tests of another package get no `CARGO_BIN_EXE_llm-repl`, so the binary is looked
//! up next to the test executable (`target/<profile>/llm-repl`) and built once with the same
//! cargo when it is missing or older than the test itself.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The path of the `llm-repl` binary of this build profile.
///
/// # Panics
/// When the binary cannot be found or built: an end-to-end test cannot run without it.
pub fn llm_repl() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let exe = std::env::current_exe().expect("test executable path");
        // target/<profile>/deps/<test> -> target/<profile>/llm-repl
        let profile_dir = exe
            .parent()
            .and_then(|deps| deps.parent())
            .expect("test executable lives in target/<profile>/deps")
            .to_path_buf();
        let bin = profile_dir.join("llm-repl");
        let release = profile_dir.file_name().is_some_and(|n| n == "release");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "--quiet", "-p", "llm-repl", "--bin", "llm-repl"]);
        if release {
            cmd.arg("--release");
        }
        // Up to date is cheap to check; it also rebuilds a binary older than its sources.
        let status = cmd.status().expect("run cargo build for llm-repl");
        assert!(status.success(), "cargo build -p llm-repl failed");
        assert!(bin.exists(), "{} missing after build", bin.display());
        bin
    })
    .clone()
}
