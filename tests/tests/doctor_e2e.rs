//! The real `llm-repl doctor` binary against the fake server: healthy, down, wrong key, missing
//! model, slow, a broken config, a store in use, and `--json`.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use llm_repl_e2e::binary::llm_repl;
use llm_repl_e2e::fake::{BackgroundServer, FakeServer, Reply, Scripted};
use serde_json::Value;

const KEY: &str = "test-key-123";

/// A temp home whose config points at `base_url`; every path the binary uses lives in it.
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new(base_url: &str) -> Self {
        Self::with_config(&config_for(base_url))
    }

    fn with_config(config: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("config.toml"), config).expect("write config");
        Self { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn doctor(&self, args: &[&str]) -> Output {
        let home = self.path();
        Command::new(llm_repl())
            .current_dir(home)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", home)
            .env("XDG_CONFIG_HOME", home.join("xdg-config"))
            .env("XDG_DATA_HOME", home.join("xdg-data"))
            .env("XDG_STATE_HOME", home.join("xdg-state"))
            .env("FAKE_KEY", KEY)
            .arg("--config")
            .arg(home.join("config.toml"))
            .arg("doctor")
            .args(args)
            .output()
            .expect("run llm-repl doctor")
    }
}

/// The fake provider as the active one. The sandbox is not required so that the outcome does
/// not depend on the test machine's kernel (its line is checked for what it is, not snapshot).
fn config_for(base_url: &str) -> String {
    format!(
        "provider = \"fake\"\n[providers.fake]\nkind = \"openai\"\nbase_url = \"{base_url}\"\n\
         api_key_env = \"FAKE_KEY\"\nmodel = \"fake-model\"\n[sandbox]\nrequire = false\n"
    )
}

fn server(script: Vec<Scripted>, models: &[&str]) -> BackgroundServer {
    let server = FakeServer::spawn_background(script);
    server.set_models(models);
    server
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The line of check `name` (`status  name  detail`), and the fix line under it if any.
fn line<'a>(text: &'a str, name: &str) -> (&'a str, Option<&'a str>) {
    let lines: Vec<&str> = text.lines().collect();
    let i = lines
        .iter()
        .position(|l| {
            l.get(6..)
                .is_some_and(|rest| rest.starts_with(&format!("{name} ")))
        })
        .unwrap_or_else(|| panic!("no line for {name:?} in:\n{text}"));
    let fix = lines
        .get(i + 1)
        .filter(|l| l.trim_start().starts_with("->"))
        .copied();
    (lines[i], fix)
}

fn no_key_anywhere(out: &Output) {
    let all = format!("{}{}", stdout(out), String::from_utf8_lossy(&out.stderr));
    assert!(!all.contains(KEY), "the key leaked:\n{all}");
}

/// Replaces what changes from run to run and machine to machine.
fn redact(text: &str, home: &Path, port: u16) -> String {
    let re = |p: &str| regex::Regex::new(p).expect("valid regex");
    let ms = re(r"\d+ ms");
    let python = re(r"^(ok|warn|fail)(\s+python\s+).*$");
    // ok or warn by kernel (never fail: require = false); its fix line goes too.
    let sandbox = re(r"^(?:ok  |warn)(  sandbox\s+).*$");
    // The counts and the verdict depend on the sandbox line.
    let summary = re(r"^\d+ ok, \d+ warn, (\d+ fail):.*$");
    let mut out = Vec::new();
    let mut after_sandbox = false;
    for l in text.lines() {
        if after_sandbox && l.trim_start().starts_with("->") {
            continue;
        }
        after_sandbox = sandbox.is_match(l);
        let l = sandbox.replace(l, "[..]${1}[kernel features]");
        let l = python.replace(&l, "${1}${2}[interpreter] ([version])");
        let l = summary.replace(&l, "[n] ok, [n] warn, ${1}: [verdict]");
        let l = l
            .replace(&home.display().to_string(), "[home]")
            .replace(&format!("127.0.0.1:{port}"), "127.0.0.1:[port]");
        out.push(ms.replace_all(&l, "[n] ms").into_owned());
    }
    out.join("\n") + "\n"
}

#[test]
fn healthy_provider_passes_with_a_timed_heartbeat() {
    let server = server(
        vec![Reply::text("ok").into()],
        &["other-model", "fake-model"],
    );
    let home = Home::new(&server.base_url());
    let out = home.doctor(&[]);
    let text = stdout(&out);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    no_key_anywhere(&out);
    for name in [
        "config",
        "data dir",
        "python",
        "fake key",
        "fake reachable",
        "fake model",
    ] {
        assert!(line(&text, name).0.starts_with("ok "), "{name}: {text}");
    }
    let (beat, _) = line(&text, "fake heartbeat");
    assert!(beat.starts_with("ok "), "{beat}");
    assert!(
        beat.contains("fake-model answered in") && beat.contains(" ms"),
        "{beat}"
    );
    assert!(!line(&text, "sandbox").0.starts_with("fail"), "{text}");
    assert!(
        line(&text, "fake key").0.contains("FAKE_KEY is set"),
        "{text}"
    );
    assert!(
        line(&text, "fake model")
            .0
            .contains("fake-model is listed (2 models)")
    );

    // What the heartbeat sent: one token, the configured model, the key as a bearer.
    let chats = server.chat_requests();
    assert_eq!(chats.len(), 1);
    assert_eq!(chats[0].body["max_tokens"], 1);
    assert_eq!(chats[0].body["model"], "fake-model");
    assert_eq!(
        chats[0].header("authorization"),
        Some("Bearer test-key-123")
    );
    let models = server.requests();
    assert!(
        models
            .iter()
            .any(|r| r.method == "GET" && r.path == "/v1/models")
    );

    insta::assert_snapshot!(
        "doctor_healthy",
        redact(&text, home.path(), server.addr().port())
    );
}

#[test]
fn json_output_parses_and_carries_latencies() {
    let server = server(vec![Reply::text("ok").into()], &["fake-model"]);
    let home = Home::new(&server.base_url());
    let out = home.doctor(&["--json"]);
    assert!(out.status.success(), "{}", stdout(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(doc["ok"], true);
    assert_eq!(doc["counts"]["fail"], 0);
    let checks = doc["checks"].as_array().unwrap();
    let find = |name: &str| checks.iter().find(|c| c["name"] == name).unwrap();
    let beat = find("fake heartbeat");
    assert_eq!(beat["status"], "ok");
    assert_eq!(beat["provider"], "fake");
    assert!(beat["latency_ms"].is_u64(), "{beat}");
    assert!(find("fake reachable")["latency_ms"].is_u64());
    assert_eq!(find("config")["latency_ms"], Value::Null);
    for c in checks {
        assert!(
            ["ok", "warn", "fail"].contains(&c["status"].as_str().unwrap()),
            "{c}"
        );
    }
    no_key_anywhere(&out);
}

#[test]
fn down_provider_fails_with_what_to_do_and_exit_1() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let home = Home::new(&format!("http://127.0.0.1:{port}/v1"));
    let out = home.doctor(&["--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["ok"], false);
    let checks = doc["checks"].as_array().unwrap();
    let reach = checks
        .iter()
        .find(|c| c["name"] == "fake reachable")
        .unwrap();
    assert_eq!(reach["status"], "fail");
    assert!(
        reach["detail"].as_str().unwrap().contains("cannot connect"),
        "{reach}"
    );
    assert!(
        reach["fix"].as_str().unwrap().contains("base_url"),
        "{reach}"
    );
    // One clear failure, not a cascade: no heartbeat against a server that is not there.
    assert!(checks.iter().all(|c| c["name"] != "fake heartbeat"));
}

#[test]
fn wrong_key_fails_naming_the_variable_never_the_key() {
    let server = server(vec![Scripted::unauthorized()], &["fake-model"]);
    let home = Home::new(&server.base_url());
    let out = home.doctor(&[]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let (key, fix) = line(&text, "fake key");
    assert!(key.starts_with("fail"), "{text}");
    assert!(
        key.contains("FAKE_KEY is set but the server refused it"),
        "{text}"
    );
    assert!(fix.is_some_and(|f| f.contains("FAKE_KEY")), "{text}");
    let (beat, fix) = line(&text, "fake heartbeat");
    assert!(beat.starts_with("fail"), "{text}");
    assert!(fix.is_some_and(|f| f.contains("FAKE_KEY")), "{text}");
    no_key_anywhere(&out);
}

#[test]
fn unlisted_model_is_a_warning_when_the_heartbeat_answers() {
    let server = server(vec![Reply::text("ok").into()], &["gpt-x", "gpt-y"]);
    let home = Home::new(&server.base_url());
    let out = home.doctor(&[]);
    let text = stdout(&out);
    // The list is advice (aliases, tags); the server answered for the model, so it works.
    assert!(out.status.success(), "{text}");
    let (model, fix) = line(&text, "fake model");
    assert!(model.starts_with("warn"), "{text}");
    assert!(
        model.contains("fake-model: not among the 2 models the server lists (gpt-x, gpt-y)"),
        "{text}"
    );
    assert!(fix.is_some_and(|f| f.contains("--model")), "{text}");
    assert!(line(&text, "fake heartbeat").0.starts_with("ok"), "{text}");
}

#[test]
fn model_the_server_refuses_fails_on_the_heartbeat() {
    let server = server(
        vec![Scripted::error(
            404,
            "The model `fake-model` does not exist",
        )],
        &["gpt-x"],
    );
    let home = Home::new(&server.base_url());
    let out = home.doctor(&[]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(line(&text, "fake model").0.starts_with("warn"), "{text}");
    let (beat, fix) = line(&text, "fake heartbeat");
    assert!(beat.starts_with("fail"), "{text}");
    assert!(
        fix.is_some_and(|f| f.contains("may not know fake-model")),
        "{text}"
    );
}

#[test]
fn slow_heartbeat_is_cut_at_the_timeout() {
    let server = server(
        vec![Reply::text("ok").first_delay_ms(20_000).into()],
        &["fake-model"],
    );
    let home = Home::new(&server.base_url());
    let started = Instant::now();
    let out = home.doctor(&["--timeout", "1"]);
    let took = started.elapsed();
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let (beat, _) = line(&text, "fake heartbeat");
    assert!(
        beat.starts_with("fail") && beat.contains("within 1s"),
        "{text}"
    );
    assert!(took < Duration::from_secs(15), "doctor took {took:?}");
}

#[test]
fn other_entries_are_checked_and_their_problems_only_warn() {
    let server = server(vec![Reply::text("ok").into()], &["fake-model"]);
    let config = format!(
        "{}[providers.spare]\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:9/v1\"\n\
         api_key_env = \"SPARE_KEY\"\nmodel = \"m\"\n",
        config_for(&server.base_url())
    );
    let home = Home::with_config(&config);
    let out = home.doctor(&[]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}");
    let (key, fix) = line(&text, "spare key");
    assert!(
        key.starts_with("warn") && key.contains("SPARE_KEY is not set"),
        "{text}"
    );
    assert!(key.contains("(not the active provider)"), "{text}");
    assert!(
        fix.is_some_and(|f| f.contains("export SPARE_KEY")),
        "{text}"
    );
    assert!(
        line(&text, "spare reachable").0.starts_with("warn"),
        "{text}"
    );
    // The active provider comes first.
    assert!(text.find("fake key").unwrap() < text.find("spare key").unwrap());
}

#[test]
fn malformed_config_fails_naming_file_and_line() {
    let home = Home::with_config("provider = \"fake\"\nmax_steps = \"many\"\n");
    let out = home.doctor(&[]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let (config, _) = line(&text, "config");
    assert!(config.starts_with("fail"), "{text}");
    assert!(config.contains("config.toml:2:"), "{text}");
    // The environment is still checked; the providers wait for a config that loads.
    assert!(line(&text, "python").0.starts_with("ok"), "{text}");
    assert!(line(&text, "providers").0.starts_with("warn"), "{text}");
}

#[test]
fn mock_provider_is_an_offline_ok() {
    let home = Home::with_config("provider = \"mock\"\n[sandbox]\nrequire = false\n");
    let out = home.doctor(&[]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}");
    let (mock, _) = line(&text, "mock");
    assert!(
        mock.starts_with("ok") && mock.contains("offline mock: ok"),
        "{text}"
    );
}

#[test]
fn store_in_use_by_another_process_is_a_warning_and_not_opened() {
    use std::os::fd::AsRawFd;

    let home = Home::with_config("provider = \"mock\"\n[sandbox]\nrequire = false\n");
    let data = home.path().join("xdg-data/llm-repl");
    std::fs::create_dir_all(data.join("db")).unwrap();
    let lock_path = data.join("llm-repl.lock");
    std::fs::write(&lock_path, "pid=4242\nexe=/other/llm-repl\n").unwrap();
    let lock = std::fs::File::open(&lock_path).unwrap();
    // SAFETY: flock on a descriptor this test owns.
    assert_eq!(
        unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) },
        0
    );
    let out = home.doctor(&[]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}");
    let (store, _) = line(&text, "data dir");
    assert!(
        store.starts_with("warn") && store.contains("in use by pid 4242"),
        "{text}"
    );
    // Not opened: the empty db directory was left alone.
    assert_eq!(std::fs::read_dir(data.join("db")).unwrap().count(), 0);
    drop(lock);
}

#[test]
fn every_preset_with_a_key_in_the_environment_is_checked_too() {
    let fake = server(vec![Reply::text("ok").into()], &["fake-model"]);
    // A second server plays OpenAI: the preset is configured by its key alone (and the base
    // URL override), with no [providers.openai] entry.
    let openai = server(vec![Reply::text("ok").into()], &["gpt-4o-mini"]);
    let home = Home::new(&fake.base_url());
    let home_dir = home.path();
    let out = Command::new(llm_repl())
        .current_dir(home_dir)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", home_dir)
        .env("XDG_CONFIG_HOME", home_dir.join("xdg-config"))
        .env("XDG_DATA_HOME", home_dir.join("xdg-data"))
        .env("XDG_STATE_HOME", home_dir.join("xdg-state"))
        .env("FAKE_KEY", KEY)
        .env("OPENAI_API_KEY", "sk-openai-secret-456")
        .env("OPENAI_BASE_URL", openai.base_url())
        .arg("--config")
        .arg(home_dir.join("config.toml"))
        .arg("doctor")
        .output()
        .expect("run llm-repl doctor");
    let text = stdout(&out);
    assert!(out.status.success(), "{text}");
    let (key, _) = line(&text, "openai key");
    assert!(
        key.starts_with("ok") && key.contains("OPENAI_API_KEY"),
        "{text}"
    );
    assert!(
        line(&text, "openai reachable").0.starts_with("ok"),
        "{text}"
    );
    assert!(text.find("fake key").unwrap() < text.find("openai key").unwrap());
    assert!(
        openai
            .requests()
            .iter()
            .any(|r| r.path.ends_with("/models")),
        "the openai preset's server was asked"
    );
    assert!(!text.contains("sk-openai-secret-456"), "{text}");
    // Presets without a key (groq, openrouter here) are not listed.
    assert!(!text.contains("groq key"), "{text}");
}
