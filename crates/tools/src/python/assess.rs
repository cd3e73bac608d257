//! Static analysis of Python code before it runs: the syntax check and the AST risk findings
//! that drive the approval policy under `on-risk`.
//!
//! **In Rust, in the app process, with fixed bounds.** The code is parsed by
//! `ruff_python_parser` (pinned `=0.0.10`, the newest that builds with Rust 1.95) and walked
//! in [`walk`] against the tables in [`rules`]. Nothing is started per call and nothing the
//! user's code does can change the analyzer: its limits are constants of this binary. The
//! earlier design ran `analyze.py` in a fresh unconfined `python3` per call: about 14 ms per
//! call, and a cell that could not be parsed under that interpreter's recursion limit (the
//! REPL's own limit can be raised by an earlier cell, the analyzer's could not) was rated low,
//! so deep code ran without approval. Measured on the development machine
//! (`cargo bench -p llm-repl-tools --bench agent_tool_path`, 2 cores under heavy load): a
//! typical 7-line cell takes 0.04 ms median, a 100 KB cell 5-14 ms, against ~14 ms for the
//! interpreter's start alone; the whole warm python call through the agent, analysis
//! included, 0.5 ms median.
//! (A long-lived sandboxed analyzer process was the other choice: it keeps CPython's exact
//! grammar, but adds a process to supervise, a pipe round trip per call, and a second place
//! where limits live.)
//!
//! **Fails closed.** Whatever is not fully analysed is `High` and needs approval: code the
//! parser rejects (its grammar is the newest Python's, a superset of what the interpreter
//! accepts, so a mismatch only ever costs an approval), more than [`MAX_ANALYSED_BYTES`], more
//! than [`MAX_BRACKETS`] nested brackets or [`MAX_INDENT`] indentation levels (CPython's own
//! limits: 200 and 100), more than [`MAX_OPS_PER_LINE`] operators in one logical line (the
//! bound that keeps the tree's depth, hence the parse, walk and drop, bounded). Time is bounded
//! by the size: the lexer and parser are linear. The bounds are checked on the token stream
//! before anything recursive runs, and the parse, walk and drop run with a stack grown on
//! demand (`stacker`), so no input can overflow the stack.
//!
//! The analysis is advice for the approval policy; the sandbox is the enforcement.

mod rules;
mod walk;

use std::cell::Cell;

use llm_repl_core::tool::Assessment;
use llm_repl_protocol::{Finding, RiskLevel};
use ruff_python_ast::token::TokenKind;
use ruff_python_parser::{Mode, lexer};
use ruff_text_size::TextSize;

/// Code larger than this is not analysed (it is flagged `High` instead).
pub const MAX_ANALYSED_BYTES: usize = 512 * 1024;
/// Nested brackets beyond this are flagged (CPython's tokenizer refuses more than 200).
pub const MAX_BRACKETS: usize = 200;
/// Indentation levels beyond this are flagged (CPython refuses more than 100).
pub const MAX_INDENT: usize = 100;
/// Operators and keywords in one logical line beyond this are flagged: each can add a level
/// to the tree, so this bounds its depth.
pub const MAX_OPS_PER_LINE: usize = 3_000;
/// Bytes of string literals that may be parsed as code, per cell.
const STRING_BUDGET: usize = 256 * 1024;
/// The stack the parse, walk and drop of one cell may need at most (the bounds above keep the
/// tree under about 3,500 levels); allocated only when less is left on the caller's stack.
const CELL_STACK: usize = 64 * 1024 * 1024;
const CELL_RED_ZONE: usize = 16 * 1024 * 1024;

/// A syntax error with its 1-based position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxProblem {
    pub message: String,
    pub line: u32,
    pub column: u32,
}

impl std::fmt::Display for SyntaxProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SyntaxError: {} (line {}, column {})",
            self.message, self.line, self.column
        )
    }
}

/// What the analyzer found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Analysis {
    pub syntax_error: Option<SyntaxProblem>,
    pub findings: Vec<Finding>,
}

/// Line starts of a source text, for byte offset -> line and column.
pub(crate) struct Lines<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        // Python's line breaks: \n, \r\n and a lone \r.
        let bytes = text.as_bytes();
        let mut starts = vec![0];
        for (i, &b) in bytes.iter().enumerate() {
            if b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')) {
                starts.push(i + 1);
            }
        }
        Self { text, starts }
    }

    fn index(&self, at: TextSize) -> usize {
        let at = usize::from(at).min(self.text.len());
        self.starts.partition_point(|&s| s <= at).max(1) - 1
    }

    /// The 1-based line of a byte offset.
    pub(crate) fn line_of(&self, at: TextSize) -> u32 {
        u32::try_from(self.index(at) + 1).unwrap_or(u32::MAX)
    }

    /// The 1-based column (in characters) of a byte offset.
    fn column_of(&self, at: TextSize) -> u32 {
        let start = self.starts[self.index(at)];
        let end = usize::from(at).min(self.text.len());
        let chars = self.text.get(start..end).map_or(0, |s| s.chars().count());
        u32::try_from(chars + 1).unwrap_or(u32::MAX)
    }
}

/// The result of analysing one piece of code.
enum Outcome {
    Parsed(Vec<Finding>),
    Syntax(SyntaxProblem),
    Bound(Finding),
}

fn bound(code: &str, message: String) -> Outcome {
    Outcome::Bound(Finding {
        level: RiskLevel::High,
        code: code.into(),
        message: format!("{message}: not analysed, treated as risky"),
        line: None,
    })
}

/// The lexical bounds, checked on the token stream (no recursion).
fn check_bounds(code: &str) -> Result<(), Outcome> {
    if code.len() > MAX_ANALYSED_BYTES {
        return Err(bound(
            "too-large",
            format!("{} bytes of code (limit {MAX_ANALYSED_BYTES})", code.len()),
        ));
    }
    let mut lexer = lexer::lex(code, Mode::Module);
    let (mut brackets, mut indent, mut ops) = (0usize, 0usize, 0usize);
    loop {
        match lexer.next_token() {
            TokenKind::EndOfFile => return Ok(()),
            TokenKind::Lpar | TokenKind::Lsqb | TokenKind::Lbrace => {
                brackets += 1;
                ops += 1;
                if brackets > MAX_BRACKETS {
                    return Err(bound(
                        "too-deep",
                        format!("more than {MAX_BRACKETS} nested brackets"),
                    ));
                }
            }
            TokenKind::Rpar | TokenKind::Rsqb | TokenKind::Rbrace => {
                brackets = brackets.saturating_sub(1);
            }
            TokenKind::Newline | TokenKind::Semi => ops = 0,
            TokenKind::Indent => {
                indent += 1;
                if indent > MAX_INDENT {
                    return Err(bound(
                        "too-deep",
                        format!("more than {MAX_INDENT} indentation levels"),
                    ));
                }
            }
            TokenKind::Dedent => indent = indent.saturating_sub(1),
            TokenKind::Name
            | TokenKind::Int
            | TokenKind::Float
            | TokenKind::Complex
            | TokenKind::String
            | TokenKind::Comma
            | TokenKind::Colon
            | TokenKind::Comment
            | TokenKind::NonLogicalNewline
            | TokenKind::FStringMiddle
            | TokenKind::FStringEnd
            | TokenKind::TStringMiddle
            | TokenKind::TStringEnd => {}
            _ => {
                ops += 1;
                if ops > MAX_OPS_PER_LINE {
                    return Err(bound(
                        "too-complex",
                        format!("more than {MAX_OPS_PER_LINE} operators in one statement"),
                    ));
                }
            }
        }
    }
}

/// Bounds, parse, walk; the tree is dropped before returning, on the same grown stack.
fn analyse_cell(code: &str, nested: u8, budget: &Cell<usize>) -> Outcome {
    if let Err(bounded) = check_bounds(code) {
        return bounded;
    }
    let lines = Lines::new(code);
    stacker::maybe_grow(
        CELL_RED_ZONE,
        CELL_STACK,
        || match ruff_python_parser::parse_module(code) {
            Err(e) => Outcome::Syntax(SyntaxProblem {
                message: e.error.to_string(),
                line: lines.line_of(e.location.start()),
                column: lines.column_of(e.location.start()),
            }),
            Ok(parsed) => {
                let mut walk = walk::Walk::new(&lines, nested, budget);
                walk.run(&parsed.syntax().body);
                Outcome::Parsed(walk.findings)
            }
        },
    )
}

/// Findings of a string literal analysed as code; `None` when it is not (complete) code.
pub(crate) fn nested_findings(
    text: &str,
    nested: u8,
    budget: &Cell<usize>,
) -> Option<Vec<Finding>> {
    match analyse_cell(text, nested, budget) {
        Outcome::Parsed(findings) => Some(findings),
        Outcome::Syntax(_) | Outcome::Bound(_) => None,
    }
}

/// Parses and analyses one cell. Never starts a process; never panics on any input.
pub fn analyze(code: &str) -> Analysis {
    let budget = Cell::new(STRING_BUDGET);
    match analyse_cell(code, 0, &budget) {
        Outcome::Parsed(findings) => Analysis {
            syntax_error: None,
            findings,
        },
        Outcome::Syntax(problem) => Analysis {
            syntax_error: Some(problem),
            findings: Vec::new(),
        },
        Outcome::Bound(finding) => Analysis {
            syntax_error: None,
            findings: vec![finding],
        },
    }
}

/// The assessment the approval policy reads: anything `Medium` or above needs approval, and a
/// cell that does not parse is `High` (what cannot be analysed is risky).
pub fn assessment(analysis: &Analysis) -> Assessment {
    let mut findings = analysis.findings.clone();
    if let Some(se) = &analysis.syntax_error {
        findings.insert(
            0,
            Finding {
                level: RiskLevel::High,
                code: "syntax-error".into(),
                message: format!("{se}: the code cannot be analysed, so it is treated as risky"),
                line: Some(se.line),
            },
        );
    }
    let mut risky: Vec<&str> = findings
        .iter()
        .filter(|f| f.level >= RiskLevel::Medium)
        .map(|f| f.code.as_str())
        .collect();
    risky.dedup();
    let needs_approval = match &analysis.syntax_error {
        Some(se) => Some(format!(
            "the code could not be parsed ({se}); code that cannot be analysed needs approval"
        )),
        None => {
            (!risky.is_empty()).then(|| format!("the code does risky things: {}", risky.join(", ")))
        }
    };
    Assessment {
        findings,
        needs_approval,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The deepest trees the bounds let through, analysed on a thread with a small stack: the
    /// parse, walk and drop must not overflow it (they grow their stack on demand).
    #[test]
    fn no_input_within_the_bounds_overflows_the_stack() {
        let ops = MAX_OPS_PER_LINE - 10;
        let cases = [
            format!("x = {}1", "-".repeat(ops)),
            format!("x = {}1", "not ".repeat(ops)),
            format!("x = {}1", "1 ** ".repeat(ops)),
            format!("x = {}1", "lambda: ".repeat(ops)),
            format!("x = {}1", "1 if 1 else ".repeat(ops / 3)),
            format!("x = {}", "a.".repeat(ops) + "b"),
            format!("x = f{}", "()".repeat(ops / 2)),
            format!(
                "x = {}1{}",
                "[-".repeat(MAX_BRACKETS - 1),
                "]".repeat(MAX_BRACKETS - 1)
            ),
            (0..MAX_INDENT)
                .map(|i| format!("{}if 1:\n", " ".repeat(i)))
                .chain([format!(
                    "{}x = {}1\n",
                    " ".repeat(MAX_INDENT),
                    "-".repeat(ops)
                )])
                .collect(),
        ];
        let handle = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || {
                cases
                    .iter()
                    .map(|c| analyze(c).syntax_error.is_none())
                    .collect::<Vec<_>>()
            })
            .expect("thread");
        let parsed = handle.join().expect("no overflow, no panic");
        assert!(parsed.iter().all(|p| *p), "{parsed:?}");
    }

    /// Inputs at the size bound made of many findings, strings or statements stay linear.
    #[test]
    fn large_cells_are_analysed_in_bounded_work() {
        let n = MAX_ANALYSED_BYTES / 20;
        for cell in [
            "os.system('x')\n".repeat(n),
            "s = 'a.b(c)'\n".repeat(n),
            "x = f(a.b.c.d)\n".repeat(n),
        ] {
            let a = analyze(&cell);
            assert!(a.syntax_error.is_none());
            assert!(a.findings.len() <= 200);
        }
    }

    #[test]
    fn bounds_are_high_and_say_why() {
        for (code, want) in [
            (
                format!("x = {}1", "-".repeat(MAX_OPS_PER_LINE + 1)),
                "too-complex",
            ),
            (format!("x = {}1", "(".repeat(MAX_BRACKETS + 1)), "too-deep"),
            ("x = 1\n".repeat(MAX_ANALYSED_BYTES / 6 + 1), "too-large"),
        ] {
            let a = analyze(&code);
            assert_eq!(a.findings.len(), 1, "{:?}", a.findings);
            assert_eq!(a.findings[0].code, want);
            assert_eq!(a.findings[0].level, RiskLevel::High);
            assert!(assessment(&a).needs_approval.is_some());
        }
    }

    #[test]
    fn lines_and_columns() {
        let l = Lines::new("ab\r\ncd\ref\né=1");
        assert_eq!(l.line_of(TextSize::new(0)), 1);
        assert_eq!(l.line_of(TextSize::new(4)), 2);
        assert_eq!(l.line_of(TextSize::new(7)), 3);
        assert_eq!(l.line_of(TextSize::new(10)), 4);
        assert_eq!(l.column_of(TextSize::new(12)), 2);
    }
}
