//! `llm-repl doctor`: is this setup able to work? One line per check, `ok` / `warn` / `fail`,
//! each problem with what to do about it; `--json` for scripts; exit code 1 when a required
//! check fails.
//!
//! Why a separate command: the failures that stop a session (a typo in the config, a key in
//! the wrong variable, a server that is down, a kernel without Landlock) are cheaper to find
//! here, all at once, than one by one in the middle of a turn. The local checks (config, store,
//! python, sandbox) are also offered as [`quick_checks`] for the TUI's start-up notice; they
//! touch no network. Provider checks run concurrently, each network step bounded by
//! `--timeout`, so doctor never hangs. Keys are never printed: only the variable's name, and
//! every line is scrubbed of the key values doctor read before it is shown.

mod local;
mod providers;
mod render;

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use llm_repl_core::config::Config;

use crate::Global;
use crate::settings::{Settings, env};

/// `llm-repl doctor` options.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Print one JSON document (every check, its status, detail, fix and latency) on stdout.
    #[arg(long)]
    pub json: bool,
    /// Seconds each network step (model list, heartbeat) and the Python version check may take.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    pub timeout: u64,
}

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    Ok,
    /// Works, but something is degraded or could not be verified.
    Warn,
    /// Something required does not work: doctor exits with 1.
    Fail,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// What was checked: `config`, `data dir`, `python`, `sandbox`, `providers`, or for a
    /// provider `NAME key`, `NAME reachable`, `NAME model`, `NAME heartbeat`, `NAME`.
    pub name: String,
    /// The provider entry the check is about, if any.
    pub provider: Option<String>,
    pub status: Status,
    /// What was found, one line.
    pub detail: String,
    /// What to do about a warn or fail, one line.
    pub fix: Option<String>,
    /// How long the network step took (reachable, heartbeat).
    pub latency: Option<Duration>,
}

impl Check {
    pub fn new(name: impl Into<String>, status: Status, detail: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            provider: None,
            status,
            detail: detail.into(),
            fix: None,
            latency: None,
        }
    }

    pub fn ok(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(name, Status::Ok, detail)
    }

    pub fn warn(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(name, Status::Warn, detail)
    }

    pub fn fail(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(name, Status::Fail, detail)
    }

    pub fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }

    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = Some(latency);
        self
    }

    pub fn provider(mut self, name: &str) -> Self {
        self.provider = Some(name.to_string());
        self
    }

    /// Replaces every occurrence of `secret` (a key value) in the texts.
    fn scrub(&mut self, secret: &str) {
        if secret.len() < 4 {
            // Too short to be a key, and replacing it would mangle ordinary words.
            return;
        }
        self.detail = self.detail.replace(secret, "<redacted>");
        if let Some(fix) = &mut self.fix {
            *fix = fix.replace(secret, "<redacted>");
        }
    }
}

/// The checks that need no network, for the TUI's start-up check: config (where it came from),
/// data dir and store, Python, sandbox. Call it before the store is opened by this process, or
/// the store line says it is open here (which is fine, and `ok`).
#[allow(dead_code)] // the TUI start-up check calls it once wired in
pub async fn quick_checks(settings: &Settings) -> Vec<Check> {
    let timeout = Duration::from_secs(5);
    let mut checks = vec![local::config_ok(settings)];
    // With the agent service the store is the service's (it reports its own trouble).
    let store = async {
        match settings.in_process() {
            true => Some(local::store(settings.data_dir()).await),
            false => None,
        }
    };
    let (store, python, sandbox) = tokio::join!(
        store,
        local::python(&settings.config.tools.python, timeout),
        local::sandbox(
            settings.config.sandbox.require,
            &settings.config.sandbox.protect,
        ),
    );
    checks.extend(store);
    checks.extend([python, sandbox]);
    checks
}

/// Runs `llm-repl doctor`.
pub fn run(global: &Global, args: DoctorArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let timeout = Duration::from_secs(args.timeout.max(1));
    let checks = runtime.block_on(all_checks(global, timeout));
    // Provider tasks that ran into their timeout may still hold sockets: do not wait for them.
    runtime.shutdown_timeout(Duration::from_millis(100));
    if args.json {
        println!("{}", render::json(&checks));
    } else {
        print!("{}", render::human(&checks));
    }
    Ok(if checks.iter().any(|c| c.status == Status::Fail) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Every check, in display order.
async fn all_checks(global: &Global, timeout: Duration) -> Vec<Check> {
    let (settings, config_check) = match Settings::load(global) {
        Ok(settings) => {
            let check = local::config_ok(&settings);
            (Some(settings), check)
        }
        Err(err) => (None, local::config_failed(&err)),
    };
    // A broken config still lets the environment be checked, with the defaults.
    let fallback = || {
        let config = Config::default();
        let provider = llm_repl_providers::choose(global.provider.as_deref(), &config, &env);
        Settings::with_config(config, provider)
    };
    let loaded = settings.is_some();
    let settings = settings.unwrap_or_else(fallback);
    let config = &settings.config;
    let provider_checks = async {
        if loaded {
            providers::check_all(&settings, timeout).await
        } else {
            vec![
                Check::warn("providers", "not checked: the config did not load")
                    .fix("fix the config error above, then run llm-repl doctor again"),
            ]
        }
    };
    let (store, python, sandbox, provider_checks) = tokio::join!(
        local::store(settings.data_dir()),
        local::python(&config.tools.python, timeout),
        local::sandbox(config.sandbox.require, &config.sandbox.protect),
        provider_checks,
    );
    let mut checks = vec![config_check, store, python, sandbox];
    checks.extend(provider_checks);
    checks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn quick_checks_cover_the_local_setup_without_network() {
        let tmp = tempfile::tempdir().unwrap();
        let mut config = Config::default();
        config.store.data_dir = tmp.path().join("data").display().to_string();
        let mut settings = Settings::with_config(config, "mock".into());
        // Through the agent service the store is the service's to check.
        let checks = quick_checks(&settings).await;
        let names: Vec<&str> = checks.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["config", "python", "sandbox"]);
        settings.standalone = true;
        let checks = quick_checks(&settings).await;
        let names: Vec<&str> = checks.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["config", "data dir", "python", "sandbox"]);
        assert_eq!(checks[0].status, Status::Ok);
        assert!(
            checks[0].detail.contains("provider mock"),
            "{:?}",
            checks[0]
        );
        assert_eq!(checks[1].status, Status::Ok, "{:?}", checks[1]);
    }

    #[test]
    fn scrub_removes_key_values_from_detail_and_fix() {
        let mut c = Check::fail("x", "server said: bad key sk-secret-1").fix("not sk-secret-1");
        c.scrub("sk-secret-1");
        assert_eq!(c.detail, "server said: bad key <redacted>");
        assert_eq!(c.fix.as_deref(), Some("not <redacted>"));
    }
}
