//! MCP in the full-screen interface (tmux) against the fake server: the screen is usable while
//! a server that never answers is still starting, the ready server's notice shows, and the
//! model's call of its tool runs and shows in the trace. Skips, saying why, only where node or
//! npm is missing.

use std::path::{Path, PathBuf};
use std::time::Duration;

use llm_repl_e2e::fake::{FakeServer, Reply};
use llm_repl_e2e::home::TestHome;
use llm_repl_e2e::pty::Tmux;

const WAIT: Duration = Duration::from_secs(15);

fn everything() -> Option<PathBuf> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("mcp/install-servers.sh");
    let out = std::process::Command::new("sh")
        .arg(&script)
        .output()
        .expect("runs the install script");
    if out.status.code() == Some(3) {
        eprintln!("SKIPPED: node or npm is not installed; the MCP pty test needs the npm server");
        return None;
    }
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    Some(dir.join("node_modules/.bin/mcp-server-everything"))
}

#[test]
fn the_screen_never_waits_for_a_silent_server_and_an_mcp_call_shows_in_the_trace() {
    let Some(bin) = everything() else { return };
    let server = FakeServer::spawn_background(vec![
        Reply::text("Echoing.")
            .tool_call(
                "call_echo",
                "everything__echo",
                r#"{"message": "pty-mcp-echo"}"#,
            )
            .into(),
        Reply::text("MCP-DONE").into(),
    ]);
    // `silent` would hold a waiting screen for 120 s: the test's waits are 15 s.
    let extra = format!(
        "[mcp.servers.everything]\ncommand = \"{}\"\ntrusted = true\n\
         [mcp.servers.silent]\ncommand = \"sleep\"\nargs = [\"600\"]\nstartup_timeout_secs = 120\n",
        bin.display()
    );
    let home = TestHome::new(&server.base_url(), &extra);
    let tmux = Tmux::start(120, 36, &format!("{}; exec sleep 60", home.shell_line(&[])));
    let t0 = std::time::Instant::now();
    tmux.wait_text("idle", WAIT);
    eprintln!(
        "FIGURES: screen idle after {:?} (silent server still starting)",
        t0.elapsed()
    );
    tmux.wait_text("mcp: everything ready", WAIT);
    tmux.type_text("echo through mcp");
    tmux.keys(&["Enter"]);
    let done = tmux.wait_for("the MCP call and the answer", WAIT, |s| {
        s.contains("MCP-DONE") && s.contains("pty-mcp-echo")
    });
    assert!(done.contains("everything__echo"), "{done}");
    assert!(!done.contains("silent failed"), "{done}");
    tmux.keys(&["C-c"]);
    tmux.keys(&["C-c"]);
}
