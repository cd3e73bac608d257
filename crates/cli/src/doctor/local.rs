//! The checks that need no network: config, data dir and store, Python, sandbox.

use std::path::{Path, PathBuf};
use std::time::Duration;

use llm_repl_store::{LOCK_FILE, Store, StoreError};

use super::Check;
use crate::paths;
use crate::settings::{Settings, env};

/// The config loaded: where from, and which provider and model it selects.
pub fn config_ok(settings: &Settings) -> Check {
    let model = if settings.config.model.is_empty() {
        llm_repl_providers::resolve(&settings.provider, &settings.config, &env).map_or_else(
            |_| "its default model".to_string(),
            |r| format!("model {}", r.model),
        )
    } else {
        format!("model {}", settings.config.model)
    };
    let selects = format!("provider {}, {model}", settings.provider);
    match &settings.source {
        Some(path) => Check::ok("config", format!("{} ({selects})", path.display())),
        None => Check::ok(
            "config",
            format!(
                "no config file, using defaults ({selects}); {} would be read",
                paths::config_file().display()
            ),
        ),
    }
}

/// The config did not load: the error already names file:line:column and what is wrong.
pub fn config_failed(err: &anyhow::Error) -> Check {
    Check::fail("config", format!("{err:#}"))
        .fix("correct that line, then run llm-repl doctor again")
}

/// The data dir is writable and the store opens; how many sessions it holds.
pub async fn store(dir: PathBuf) -> Check {
    match tokio::task::spawn_blocking(move || store_blocking(&dir)).await {
        Ok(check) => check,
        Err(e) => Check::fail("data dir", format!("the store check crashed: {e}")),
    }
}

fn store_blocking(dir: &Path) -> Check {
    let shown = dir.display();
    if !dir.join(llm_repl_store::DB_DIR).is_dir() {
        // No store yet: check that one can be created, without creating a database for nothing.
        return match probe_writable(dir) {
            Ok(()) => Check::ok("data dir", format!("{shown}: writable, no sessions yet")),
            Err(e) => Check::fail("data dir", format!("{shown} is not writable: {e}"))
                .fix("fix its permissions, or set store.data_dir in the config"),
        };
    }
    // Opening writes our pid into the lock file; put back what was there so the next start does
    // not report doctor as an instance that died. The lock itself is the flock, not the text.
    let lock_path = dir.join(LOCK_FILE);
    let before = std::fs::read_to_string(&lock_path).unwrap_or_default();
    match Store::open(dir) {
        Ok(store) => {
            let check = opened(&store, &shown.to_string());
            drop(store);
            restore_lock_text(&lock_path, &before);
            check
        }
        Err(StoreError::Locked { pid, holder, .. }) => {
            if pid == Some(std::process::id()) {
                Check::ok("data dir", format!("{shown}: open in this process"))
            } else {
                let who = pid.map_or_else(|| holder.clone(), |p| format!("pid {p}"));
                Check::warn(
                    "data dir",
                    format!("{shown}: in use by {who} (another llm-repl); not opened"),
                )
                .fix("close the other llm-repl to let doctor check the store")
            }
        }
        Err(e @ StoreError::Io { .. }) => Check::fail("data dir", e.to_string())
            .fix("fix the directory's permissions, or set store.data_dir in the config"),
        Err(e @ StoreError::NewerSchema { .. }) => Check::fail("data dir", e.to_string()),
        Err(e) => {
            Check::fail("data dir", format!("{shown}: the store does not open: {e}")).fix(format!(
                "move {} aside (sessions in it are then no longer listed) and start again",
                dir.join(llm_repl_store::DB_DIR).display()
            ))
        }
    }
}

fn opened(store: &Store, shown: &str) -> Check {
    let sessions = match store.session_count() {
        Ok(n) => n,
        Err(e) => {
            return Check::fail("data dir", format!("{shown}: the store is damaged: {e}"));
        }
    };
    let mut notes = Vec::new();
    let report = store.open_report();
    if let Some(from) = report.migrated_from {
        notes.push(format!("migrated from schema {from}"));
    }
    if !report.interrupted_turns.is_empty() {
        notes.push(format!(
            "{} turn(s) left running by a crash marked interrupted",
            report.interrupted_turns.len()
        ));
    }
    if report.finished_deletes > 0 {
        notes.push(format!(
            "{} interrupted deletion(s) completed",
            report.finished_deletes
        ));
    }
    let notes = if notes.is_empty() {
        String::new()
    } else {
        format!(" ({})", notes.join("; "))
    };
    let plural = if sessions == 1 { "" } else { "s" };
    Check::ok(
        "data dir",
        format!("{shown}: writable, store healthy, {sessions} session{plural}{notes}"),
    )
}

/// Creates the directory if needed and writes and removes a probe file in it.
fn probe_writable(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let probe = dir.join(format!(".doctor-{}", std::process::id()));
    std::fs::write(&probe, b"probe")?;
    std::fs::remove_file(&probe)
}

/// Puts the lock file's previous text back if it still holds ours (nobody took it since).
fn restore_lock_text(path: &Path, before: &str) {
    let ours = format!("pid={}\n", std::process::id());
    let now = std::fs::read_to_string(path).unwrap_or_default();
    if now.starts_with(&ours) {
        let _ = std::fs::write(path, before);
    }
}

/// Python is found (its absolute path) and runs (its version).
pub async fn python(configured: &str, timeout: Duration) -> Check {
    let Some(path) = llm_repl_tools::find_python(configured) else {
        return if configured.is_empty() {
            Check::fail("python", "no Python interpreter found in the usual places")
                .fix("install python3, or set tools.python to its absolute path")
        } else {
            Check::fail(
                "python",
                format!("tools.python = {configured:?} is not an absolute path to an executable"),
            )
            .fix("point tools.python at an interpreter, e.g. /usr/bin/python3")
        };
    };
    let shown = path.display().to_string();
    let run = tokio::process::Command::new(&path)
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    match tokio::time::timeout(timeout, run).await {
        Ok(Ok(out)) if out.status.success() => {
            // Python 2 printed its version on stderr.
            let text = if out.stdout.is_empty() {
                out.stderr
            } else {
                out.stdout
            };
            let version = String::from_utf8_lossy(&text).trim().to_string();
            if version.starts_with("Python 2") {
                Check::fail("python", format!("{shown} is {version}"))
                    .fix("set tools.python to a Python 3 interpreter")
            } else {
                Check::ok("python", format!("{shown} ({version})"))
            }
        }
        Ok(Ok(out)) => Check::fail(
            "python",
            format!("{shown} --version exited with {}", out.status),
        )
        .fix("check the interpreter, or set tools.python to another one"),
        Ok(Err(e)) => Check::fail("python", format!("{shown} does not start: {e}"))
            .fix("check the interpreter, or set tools.python to another one"),
        Err(_) => Check::fail(
            "python",
            format!(
                "{shown} --version gave no answer within {}s",
                timeout.as_secs()
            ),
        )
        .fix("check the interpreter (a slow shim?), or set tools.python to /usr/bin/python3"),
    }
}

/// What the kernel offers the sandbox, against `sandbox.require`, and the workspace paths
/// tools can read but never write.
pub async fn sandbox(require: bool, protect: &[String]) -> Check {
    let support =
        match tokio::task::spawn_blocking(|| llm_repl_tools::sandbox_probe().clone()).await {
            Ok(s) => s,
            Err(e) => return Check::fail("sandbox", format!("the sandbox probe crashed: {e}")),
        };
    let missing = support.missing();
    let protected = if protect.is_empty() {
        "protected: nothing (sandbox.protect = [])".to_string()
    } else {
        format!("protected (read-only): {}", protect.join(", "))
    };
    let summary = format!("{}; {protected}", support.summary());
    if missing.is_empty() {
        return Check::ok("sandbox", summary);
    }
    // The essentials, as the sandbox's own policy (`decide`) counts them.
    let essential = support.landlock_abi < 1 || !support.namespaces || !support.seccomp;
    let detail = format!("{summary}: {}", missing.join("; "));
    match (essential, require) {
        (true, true) => Check::fail("sandbox", detail).fix(
            "tools will refuse to run: use a kernel with Landlock and unprivileged user \
             namespaces, or set sandbox.require = false to run them unconfined with a warning",
        ),
        (true, false) => Check::warn("sandbox", detail).fix(
            "tools run with an incomplete sandbox (sandbox.require = false); a newer kernel \
             confines them fully",
        ),
        (false, _) => Check::warn("sandbox", detail)
            .fix("tools run confined; a newer kernel adds the missing scoping"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Status;

    #[test]
    fn a_missing_store_is_probed_without_creating_a_database() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        let check = store_blocking(&dir);
        assert_eq!(check.status, Status::Ok, "{check:?}");
        assert!(
            check.detail.ends_with("writable, no sessions yet"),
            "{check:?}"
        );
        assert!(dir.is_dir());
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            0,
            "probe file left behind"
        );
    }

    #[test]
    fn an_existing_store_is_opened_counted_and_its_lock_text_restored() {
        let tmp = tempfile::tempdir().unwrap();
        drop(Store::open(tmp.path()).unwrap());
        let before = "pid=4242\nexe=/earlier/llm-repl\n";
        std::fs::write(tmp.path().join(LOCK_FILE), before).unwrap();
        // Another test thread spawning a child (python) in the instant after the drop can hold
        // the lock's file descriptor until that child execs: retry briefly, bounded.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let check = loop {
            let check = store_blocking(tmp.path());
            if check.status == Status::Ok || std::time::Instant::now() >= deadline {
                break check;
            }
            std::thread::yield_now();
        };
        assert_eq!(check.status, Status::Ok, "{check:?}");
        assert!(
            check.detail.contains("store healthy, 0 sessions"),
            "{check:?}"
        );
        let after = std::fs::read_to_string(tmp.path().join(LOCK_FILE)).unwrap();
        assert_eq!(
            after, before,
            "doctor must not leave its pid as a stale owner"
        );
    }

    #[test]
    fn a_store_open_in_this_process_is_fine() {
        let tmp = tempfile::tempdir().unwrap();
        let held = Store::open(tmp.path()).unwrap();
        let check = store_blocking(tmp.path());
        assert_eq!(check.status, Status::Ok, "{check:?}");
        assert!(check.detail.ends_with("open in this process"), "{check:?}");
        drop(held);
    }

    #[test]
    fn an_unwritable_data_dir_fails_with_what_to_do() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("a-file");
        std::fs::write(&file, "not a directory").unwrap();
        let check = store_blocking(&file.join("data"));
        assert_eq!(check.status, Status::Fail, "{check:?}");
        assert!(check.fix.as_deref().unwrap().contains("store.data_dir"));
    }

    #[tokio::test]
    async fn python_names_its_path_and_version_or_fails_clearly() {
        let check = python("/nonexistent/python3", Duration::from_secs(5)).await;
        assert_eq!(check.status, Status::Fail);
        assert!(check.detail.contains("/nonexistent/python3"), "{check:?}");
        if let Some(found) = llm_repl_tools::find_python("") {
            let check = python("", Duration::from_secs(5)).await;
            assert_eq!(check.status, Status::Ok, "{check:?}");
            assert!(check.detail.starts_with(&found.display().to_string()));
            assert!(check.detail.contains("(Python 3."), "{check:?}");
        }
    }

    #[tokio::test]
    async fn sandbox_line_follows_the_require_policy() {
        let support = llm_repl_tools::sandbox_probe();
        let strict = sandbox(true, &[]).await;
        let lax = sandbox(false, &[]).await;
        assert!(strict.detail.starts_with(&support.summary()));
        assert_ne!(
            lax.status,
            Status::Fail,
            "require = false never fails: {lax:?}"
        );
        if support.missing().is_empty() {
            assert_eq!(strict.status, Status::Ok);
        }
    }
}
