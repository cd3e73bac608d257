//! The tables of the shell risk analysis: programs worth a finding, interpreters, wrappers
//! that run their arguments, variables that change what later commands run.

use llm_repl_protocol::RiskLevel;

use RiskLevel::{High, Low, Medium};

/// (level, code, why) for a program name (basename).
pub(super) fn program(name: &str) -> Option<(RiskLevel, &'static str, &'static str)> {
    Some(match name {
        "rm" => (Medium, "rm", "deletes files"),
        "rmdir" => (Low, "rmdir", "deletes directories"),
        "shred" | "wipe" => (High, "shred", "destroys file contents"),
        "dd" => (High, "dd", "writes raw data"),
        "truncate" => (Medium, "truncate", "truncates files"),
        "mv" => (Low, "mv", "moves files"),
        "chmod" | "chgrp" | "chattr" | "setfacl" => (Medium, "chmod", "changes permissions"),
        "chown" => (Medium, "chown", "changes ownership"),
        "curl" | "wget" | "rsync" | "ftp" => (Medium, "network", "reaches the network"),
        "nc" | "ncat" | "netcat" | "socat" | "telnet" => {
            (High, "network", "opens raw network connections")
        }
        "ssh" | "scp" | "sftp" | "mosh" => (High, "network", "opens remote shells"),
        "pip" | "pip3" | "npm" | "npx" | "yarn" | "pnpm" | "cargo" | "gem" | "go" | "uv"
        | "pipx" | "conda" => (Medium, "install", "installs or runs packages"),
        "apt" | "apt-get" | "dpkg" | "yum" | "dnf" | "pacman" | "apk" | "brew" | "snap" => {
            (High, "install", "installs system packages")
        }
        "sudo" | "su" | "doas" | "pkexec" | "runuser" => (High, "privilege", "asks for root"),
        "kill" | "pkill" | "killall" => (Medium, "kill", "sends signals"),
        "nohup" | "setsid" | "disown" => (Medium, "background", "keeps a process running"),
        "crontab" | "at" | "batch" => (High, "persistence", "schedules commands"),
        "mount" | "umount" | "losetup" => (High, "mount", "mounts file systems"),
        "tmux" | "screen" | "byobu" | "zellij" | "abduco" | "dtach" => (
            High,
            "multiplexer",
            "talks to a terminal multiplexer that runs commands outside the sandbox",
        ),
        "docker" | "podman" | "nerdctl" | "ctr" | "crictl" | "lxc" | "kubectl" | "helm"
        | "systemctl" | "service" | "systemd-run" | "machinectl" | "virsh" | "launchctl"
        | "nsenter" | "unshare" | "chroot" => (
            High,
            "service-manager",
            "drives a container or service manager",
        ),
        "eval" => (High, "eval", "runs a computed command"),
        "exec" => (High, "exec", "replaces the shell with another program"),
        "source" | "." => (High, "source", "runs another file's commands in this shell"),
        "xargs" | "parallel" => (High, "xargs", "runs commands built from its input"),
        "trap" => (High, "trap", "runs a command string later"),
        "make" | "just" | "ninja" => (
            Medium,
            "runs-script",
            "runs the workspace's build recipes, unanalysed",
        ),
        "git" => (Low, "git", "changes a repository"),
        "sed" => return None, // checked by its arguments
        _ if name.starts_with("mkfs") => (High, "mkfs", "formats a file system"),
        _ => return None,
    })
}

/// Interpreters: `-c`/`-e` code or a script read from stdin is unanalysed code.
pub(super) fn is_interpreter(name: &str) -> bool {
    let base = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    matches!(
        base,
        "sh" | "bash"
            | "dash"
            | "zsh"
            | "ksh"
            | "mksh"
            | "fish"
            | "csh"
            | "tcsh"
            | "busybox"
            | "python"
            | "pypy"
            | "perl"
            | "ruby"
            | "irb"
            | "node"
            | "nodejs"
            | "deno"
            | "bun"
            | "php"
            | "lua"
            | "luajit"
            | "Rscript"
            | "R"
            | "julia"
            | "tclsh"
            | "wish"
            | "expect"
            | "osascript"
            | "pwsh"
            | "powershell"
    )
}

/// Programs that run the command given as their arguments.
pub(super) fn is_wrapper(name: &str) -> bool {
    matches!(
        name,
        "sudo"
            | "doas"
            | "env"
            | "time"
            | "nice"
            | "ionice"
            | "timeout"
            | "stdbuf"
            | "nohup"
            | "setsid"
            | "command"
            | "builtin"
            | "exec"
            | "xargs"
            | "parallel"
            | "watch"
            | "chroot"
            | "unshare"
            | "nsenter"
            | "flock"
            | "strace"
            | "ltrace"
            | "script"
            | "busybox"
    )
}

/// Variables whose assignment changes what later commands run.
pub(super) fn is_hijack_variable(name: &str) -> bool {
    matches!(
        name,
        "PATH"
            | "LD_PRELOAD"
            | "LD_LIBRARY_PATH"
            | "LD_AUDIT"
            | "BASH_ENV"
            | "ENV"
            | "PROMPT_COMMAND"
            | "IFS"
            | "SHELLOPTS"
            | "PS4"
            | "PYTHONSTARTUP"
            | "PYTHONPATH"
            | "PERL5OPT"
            | "NODE_OPTIONS"
            | "RUBYOPT"
    ) || name.starts_with("GIT_")
        || name.starts_with("BASH_FUNC_")
}

/// A word that is exactly its text: no quotes, expansions, escapes, globs or braces.
pub(super) fn plain(word: &str) -> bool {
    !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./+:@%,=-".contains(c))
}
