//! `fake-openai`: serves a script file as a fake OpenAI-compatible API, for manual runs in tmux
//! and for timing the real binary with hyperfine.
//!
//! Usage: `fake-openai [--port N] [SCRIPT.toml|SCRIPT.json]`. Without a script it answers every
//! chat request with "hello from the fake server". Prints the base URL on stdout, then serves
//! until killed.

use std::path::PathBuf;
use std::process::ExitCode;

use llm_repl_e2e::fake::{FakeServer, Scripted};
use llm_repl_e2e::script_file::ScriptFile;

const USAGE: &str = "usage: fake-openai [--port N] [SCRIPT.toml|SCRIPT.json]";

fn parse_args() -> Result<(u16, Option<PathBuf>), String> {
    let mut port = 0u16;
    let mut script = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" | "-p" => {
                let value = args.next().ok_or("--port needs a value")?;
                port = value.parse().map_err(|_| format!("bad port {value:?}"))?;
            }
            "--help" | "-h" => return Err(USAGE.to_string()),
            _ if script.is_none() && !arg.starts_with('-') => script = Some(PathBuf::from(arg)),
            _ => return Err(format!("unexpected argument {arg:?}\n{USAGE}")),
        }
    }
    Ok((port, script))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let (port, script) = match parse_args() {
        Ok(v) => v,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let file = match script {
        Some(path) => match ScriptFile::load(&path) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("fake-openai: {e}");
                return ExitCode::from(2);
            }
        },
        None => ScriptFile {
            models: vec!["fake-model".into()],
            responses: Vec::new(),
            fallback: Some(Scripted::text("hello from the fake server")),
        },
    };
    let server = match FakeServer::bind(&format!("127.0.0.1:{port}")).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("fake-openai: cannot bind 127.0.0.1:{port}: {e}");
            return ExitCode::from(1);
        }
    };
    let models: Vec<&str> = file.models.iter().map(String::as_str).collect();
    server.set_models(&models);
    server.push_all(file.responses);
    if let Some(fallback) = file.fallback {
        server.set_fallback(fallback);
    }
    println!("{}", server.base_url());
    let _ = tokio::signal::ctrl_c().await;
    eprintln!("fake-openai: served {} requests", server.request_count());
    ExitCode::SUCCESS
}
