//! Risk findings for a shell command line, from a real parse (tree-sitter-bash).
//!
//! The command line is parsed as bash (a superset of the `/bin/sh` it runs under); every
//! command in it (in pipelines, lists, subshells, `$(...)`, `<(...)`, function bodies) is looked
//! at. It fails closed: a line that does not parse cleanly, is larger than
//! [`MAX_COMMAND_BYTES`], or whose command word is not a plain literal (`r''m`, `${X}m`,
//! `$(echo rm)`, `\rm`, globs, braces) is `High`, since what will run cannot be known. The
//! findings are advice for the approval policy; the sandbox is the enforcement.

use llm_repl_protocol::{Finding, RiskLevel};
use tree_sitter::{Node, Parser};

use RiskLevel::{High, Medium};

mod tables;
use tables::{is_hijack_variable, is_interpreter, is_wrapper, plain, program};

/// Command lines larger than this are not analysed (flagged `High`).
pub const MAX_COMMAND_BYTES: usize = 64 * 1024;
/// The parse of one command line stops after this long (it takes microseconds normally).
const PARSE_DEADLINE: std::time::Duration = std::time::Duration::from_millis(500);

struct Assess<'a> {
    src: &'a str,
    findings: Vec<Finding>,
    /// Start bytes of interpreter commands fed by a network command in the same pipeline.
    piped_from_network: Vec<usize>,
}

impl<'a> Assess<'a> {
    fn add(&mut self, level: RiskLevel, code: &str, message: String, node: Node) {
        let line = node.start_position().row as u32 + 1;
        // Enough to decide and to show; more would only cost time (the dedup is linear).
        if self.findings.len() >= 200 {
            return;
        }
        if self
            .findings
            .iter()
            .any(|f| f.code == code && f.line == Some(line))
        {
            return;
        }
        self.findings.push(Finding {
            level,
            code: code.into(),
            message,
            line: Some(line),
        });
    }

    fn text(&self, node: Node) -> &'a str {
        node.utf8_text(self.src.as_bytes()).unwrap_or("")
    }

    /// The literal text of a word argument, `None` when it is computed or quoted.
    fn literal(&self, node: Node) -> Option<&'a str> {
        let t = self.text(node);
        (matches!(node.kind(), "word" | "number") && plain(t)).then_some(t)
    }

    fn visit(&mut self, node: Node) {
        match node.kind() {
            "command" => self.command(node),
            "pipeline" => self.pipeline(node),
            "variable_assignment" => {
                if let Some(name) = node.child_by_field_name("name") {
                    let var = self.text(name);
                    if is_hijack_variable(var) {
                        self.add(
                            High,
                            "env-hijack",
                            format!("sets {var}: changes what later commands run"),
                            node,
                        );
                    }
                }
            }
            "file_redirect" => self.redirect(node),
            "herestring_redirect" | "heredoc_redirect" => {}
            "function_definition" => self.function(node),
            _ => {}
        }
    }

    fn pipeline(&mut self, node: Node) {
        let mut network_before = false;
        let mut cursor = node.walk();
        for stage in node.named_children(&mut cursor) {
            let name = stage
                .child_by_field_name("name")
                .and_then(|n| n.named_child(0))
                .and_then(|n| self.literal(n))
                .map(|n| n.rsplit('/').next().unwrap_or(n));
            if let Some(n) = name {
                if network_before && is_interpreter(n) {
                    self.piped_from_network.push(stage.start_byte());
                }
                if matches!(
                    program(n),
                    Some((_, "network", _)) | Some((_, "install", _))
                ) {
                    network_before = true;
                }
            }
        }
    }

    fn function(&mut self, node: Node) {
        let Some(name) = node.child_by_field_name("name").map(|n| self.text(n)) else {
            return;
        };
        // A function that calls itself (`:(){ :|:& };:`) is a fork bomb in a shell.
        let body = node.child_by_field_name("body").map(|b| self.text(b));
        if body.is_some_and(|b| {
            b.split(|c: char| c.is_whitespace() || "|&;{}()".contains(c))
                .any(|w| w == name)
        }) {
            self.add(
                High,
                "fork-bomb",
                format!("{name}() calls itself: a fork bomb"),
                node,
            );
        }
    }

    fn redirect(&mut self, node: Node) {
        let Some(dest) = node.child_by_field_name("destination") else {
            return;
        };
        let mut cursor = node.walk();
        let op = node
            .children(&mut cursor)
            .find(|c| !c.is_named())
            .map(|c| self.text(c))
            .unwrap_or("");
        let target = self.text(dest);
        if target.starts_with("/dev/tcp/") || target.starts_with("/dev/udp/") {
            self.add(
                High,
                "network",
                format!("{target}: opens a network connection"),
                node,
            );
            return;
        }
        let writes = op.contains('>') && !matches!(op, ">&" | "<&") || op == "<>";
        if !writes || (op == ">&" && target.chars().all(|c| c.is_ascii_digit() || c == '-')) {
            return;
        }
        let t = target;
        if matches!(t, "/dev/null" | "/dev/stdout" | "/dev/stderr") || t.starts_with("/dev/fd/") {
            return;
        }
        if t.starts_with('/') || t.starts_with('~') || t.contains("..") {
            self.add(
                Medium,
                "write-outside",
                format!("writes to {t}, outside the workspace"),
                node,
            );
        } else if self.literal(dest).is_none() {
            self.add(
                Medium,
                "write-unknown",
                format!("writes to {t}, a computed path"),
                node,
            );
        }
    }

    fn command(&mut self, node: Node) {
        let Some(name_node) = node.child_by_field_name("name") else {
            return; // only assignments / redirections
        };
        let mut cursor = node.walk();
        let args: Vec<Node> = node
            .children_by_field_name("argument", &mut cursor)
            .collect();
        let word = name_node.named_child(0).unwrap_or(name_node);
        let Some(name) = self.literal(word) else {
            self.add(
                High,
                "dynamic-command",
                format!(
                    "the command name {:?} is computed or quoted: what runs cannot be known",
                    self.text(name_node)
                ),
                node,
            );
            return;
        };
        self.program(name, &args, node);
    }

    /// Checks one program invocation; wrappers check the command they run too.
    fn program(&mut self, name: &str, args: &[Node], node: Node) {
        let base = name.rsplit('/').next().unwrap_or(name);
        if name.contains('/')
            && ![
                "/bin/",
                "/usr/bin/",
                "/usr/local/bin/",
                "/sbin/",
                "/usr/sbin/",
            ]
            .iter()
            .any(|d| name.starts_with(d) && !name[d.len()..].contains('/'))
        {
            self.add(
                Medium,
                "runs-script",
                format!("{name}: runs a program from the workspace, unanalysed"),
                node,
            );
        }
        let lits: Vec<Option<&str>> = args.iter().map(|a| self.literal(*a)).collect();
        if let Some((level, code, why)) = program(base) {
            // `exec` with only redirections just rewires the shell's descriptors.
            if !(base == "exec" && args.is_empty()) {
                self.add(level, code, format!("{base}: {why}"), node);
            }
        }
        if is_interpreter(base) {
            self.interpreter(base, &lits, node);
        }
        match base {
            "rm" if lits.iter().flatten().any(|a| {
                *a == "--recursive"
                    || (a.starts_with('-') && !a.starts_with("--") && a.contains(['r', 'R']))
            }) =>
            {
                self.add(High, "rm-recursive", "recursive delete".into(), node);
            }
            "find" => {
                if let Some(a) = lits.iter().flatten().find(|a| {
                    matches!(
                        **a,
                        "-delete"
                            | "-exec"
                            | "-execdir"
                            | "-ok"
                            | "-okdir"
                            | "-fprint"
                            | "-fprint0"
                            | "-fprintf"
                            | "-fls"
                    )
                }) {
                    self.add(
                        High,
                        "find-action",
                        format!("find {a}: deletes, writes or runs commands"),
                        node,
                    );
                }
            }
            "git" => {
                if let Some(a) = lits.iter().flatten().find(|a| {
                    matches!(
                        **a,
                        "-c" | "config" | "--config-env" | "filter-branch" | "submodule" | "daemon"
                    ) || a.starts_with("--exec-path")
                        || a.starts_with("--upload-pack")
                        || a.starts_with("--receive-pack")
                        || a.contains("hooks")
                        || a.contains("sshCommand")
                        || a.contains("fsmonitor")
                        || a.starts_with("ext::")
                }) {
                    self.add(
                        High,
                        "git-hooks",
                        format!("git {a}: can make git run commands (hooks, config, transports)"),
                        node,
                    );
                }
            }
            "curl"
                if args.iter().any(|a| {
                    let t = self.text(*a);
                    t.starts_with("--unix-socket") || t.starts_with("--abstract-unix-socket")
                }) =>
            {
                self.add(
                    High,
                    "unix-socket",
                    "curl --unix-socket: talks to a local service (a container daemon...)".into(),
                    node,
                );
            }
            "sed" if lits.iter().flatten().any(|a| a.starts_with("-i")) => {
                self.add(Medium, "in-place-edit", "sed -i: edits files".into(), node);
            }
            "cp" | "mv" | "tee" | "install" | "ln" | "touch" | "mkdir" => {
                if let Some(t) = lits.iter().flatten().find(|a| {
                    (a.starts_with('/') && !a.starts_with("/dev/null")) || a.contains("..")
                }) {
                    self.add(
                        Medium,
                        "write-outside",
                        format!("{base} {t}: writes outside the workspace"),
                        node,
                    );
                }
                if args.iter().any(|a| self.text(*a).starts_with('~')) {
                    self.add(
                        Medium,
                        "write-outside",
                        format!("{base}: writes to the home directory"),
                        node,
                    );
                }
            }
            "awk" | "gawk" | "mawk" | "nawk" => {
                let code = args.iter().map(|a| self.text(*a)).collect::<Vec<_>>();
                if code
                    .iter()
                    .any(|c| c.contains("system") || c.contains('|') || c.contains('>'))
                {
                    self.add(
                        High,
                        "awk-exec",
                        format!("{base}: the program runs commands or writes files"),
                        node,
                    );
                }
            }
            _ => {}
        }
        if is_wrapper(base) {
            // Whatever the wrapper runs is a command too: check every literal argument as a
            // program name (fail closed), and a computed one as a computed command.
            for (arg, lit) in args.iter().zip(&lits) {
                match lit {
                    Some(a) if a.starts_with('-') || a.contains('=') => {}
                    Some(a) => {
                        let b = a.rsplit('/').next().unwrap_or(a);
                        if let Some((level, code, why)) = program(b) {
                            self.add(level, code, format!("{b}: {why}"), node);
                        }
                        if is_interpreter(b) {
                            self.add(
                                High,
                                "interpreter",
                                format!("{base} {b}: runs an interpreter"),
                                node,
                            );
                        }
                    }
                    None => self.add(
                        High,
                        "dynamic-command",
                        format!(
                            "{base} runs {:?}, a computed or quoted command",
                            self.text(*arg)
                        ),
                        node,
                    ),
                }
            }
        }
    }

    fn interpreter(&mut self, base: &str, lits: &[Option<&str>], node: Node) {
        let code_flag = lits.iter().flatten().find(|a| {
            matches!(
                **a,
                "-c" | "-e" | "-E" | "--eval" | "-r" | "-p" | "--print" | "-x" | "-m"
            ) || (a.starts_with('-') && !a.starts_with("--") && a.contains(['c', 'e']))
        });
        let script = lits.iter().flatten().find(|a| !a.starts_with('-'));
        // Every argument a literal flag that only prints: a computed one may name a script.
        let informational = lits.iter().all(|a| {
            matches!(
                *a,
                Some("--version" | "-V" | "--help" | "-h" | "-v" | "-version" | "version")
            )
        }) && !lits.is_empty();
        if informational {
            return;
        }
        if let Some(flag) = code_flag {
            self.add(
                High,
                "interpreter",
                format!("{base} {flag}: runs code given on the command line, unanalysed"),
                node,
            );
        } else if lits.iter().any(Option::is_none) {
            self.add(
                High,
                "interpreter",
                format!("{base} with computed arguments: runs unanalysed code"),
                node,
            );
        } else if let Some(s) = script {
            self.add(
                Medium,
                "runs-script",
                format!("{base} {s}: runs a script, unanalysed"),
                node,
            );
        } else if self.piped_from_network.contains(&node.start_byte()) {
            self.add(
                High,
                "pipe-to-shell",
                format!("{base} runs a downloaded script"),
                node,
            );
        } else {
            self.add(
                High,
                "interpreter",
                format!("{base} reads code from its input, unanalysed"),
                node,
            );
        }
    }
}

/// Static findings for a command line (advice; the sandbox is the enforcement).
pub fn assess_command(cmd: &str) -> Vec<Finding> {
    let fail = |code: &str, message: String| {
        vec![Finding {
            level: High,
            code: code.into(),
            message,
            line: None,
        }]
    };
    if cmd.len() > MAX_COMMAND_BYTES {
        return fail(
            "too-large",
            format!(
                "{} bytes of command line (limit {MAX_COMMAND_BYTES}): not analysed, treated as risky",
                cmd.len()
            ),
        );
    }
    let mut parser = Parser::new();
    if parser
        .set_language(&tree_sitter_bash::LANGUAGE.into())
        .is_err()
    {
        return fail("unparsed", "the shell parser could not be loaded".into());
    }
    // Error recovery on pathological input can be slow: past the deadline the parse stops,
    // and what was not parsed is risky.
    let deadline = std::time::Instant::now() + PARSE_DEADLINE;
    let mut past_deadline = |_: &tree_sitter::ParseState| std::time::Instant::now() > deadline;
    let bytes = cmd.as_bytes();
    let tree = parser.parse_with_options(
        &mut |i, _| bytes.get(i..).unwrap_or_default(),
        None,
        Some(tree_sitter::ParseOptions::new().progress_callback(&mut past_deadline)),
    );
    let Some(tree) = tree else {
        return fail(
            "unparsed",
            format!(
                "the command line could not be parsed within {} ms: treated as risky",
                PARSE_DEADLINE.as_millis()
            ),
        );
    };
    let root = tree.root_node();
    let mut a = Assess {
        src: cmd,
        findings: Vec::new(),
        piped_from_network: Vec::new(),
    };
    if root.has_error() {
        a.add(
            High,
            "unparsed",
            "the command line does not parse cleanly: what runs cannot be known".into(),
            root,
        );
    }
    // Pre-order walk of the whole tree, iteratively (no recursion on the input's depth).
    let mut cursor = root.walk();
    loop {
        a.visit(cursor.node());
        if cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return a.findings;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pathological lines up to the size bound finish (the parse has a deadline, the walk is
    /// iterative) and are high. (Without the deadline these took 420 s in a debug build.)
    #[test]
    fn pathological_lines_are_bounded_and_high() {
        let n = MAX_COMMAND_BYTES / 2 - 8;
        for line in [
            "$(".repeat(n),
            "(".repeat(n * 2 - 8),
            format!("{}rm{}", "$(".repeat(n / 2), ")".repeat(n / 2)),
            "a|".repeat(n),
            "x".repeat(MAX_COMMAND_BYTES + 1),
        ] {
            let findings = assess_command(&line);
            assert!(
                findings.iter().any(|f| f.level == High),
                "{}...: {findings:?}",
                &line[..20]
            );
        }
    }
}
