//! Static analysis of Python code before it runs: the syntax check and the AST risk findings.
//!
//! The analysis runs `analyze.py` (shipped in the binary) in the configured interpreter, so the
//! grammar is exactly the one the code will run under. It parses and never executes the code.
//! It is advice for the approval policy; the sandbox is the enforcement.

use std::path::Path;

use llm_repl_core::tool::Assessment;
use llm_repl_protocol::{Finding, RiskLevel};
use serde::Deserialize;

const ANALYZER: &str = include_str!("analyze.py");

/// Code larger than this is not analysed (it is flagged instead).
const MAX_ANALYSED_BYTES: usize = 512 * 1024;

/// A syntax error with its 1-based position.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
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

#[derive(Deserialize)]
struct RawFinding {
    level: String,
    code: String,
    message: String,
    line: Option<u32>,
}

#[derive(Deserialize)]
struct RawAnalysis {
    syntax_error: Option<SyntaxProblem>,
    #[serde(default)]
    findings: Vec<RawFinding>,
}

fn level(s: &str) -> RiskLevel {
    match s {
        "high" => RiskLevel::High,
        "medium" => RiskLevel::Medium,
        _ => RiskLevel::Low,
    }
}

/// Parses and analyses `code` with the interpreter at `python`.
pub fn analyze(python: &Path, code: &str) -> Result<Analysis, String> {
    if code.len() > MAX_ANALYSED_BYTES {
        return Ok(Analysis {
            syntax_error: None,
            findings: vec![Finding {
                level: RiskLevel::Medium,
                code: "too-large".into(),
                message: format!("{} bytes of code: too large to analyse", code.len()),
                line: None,
            }],
        });
    }
    let out = super::run_script(python, ANALYZER, code.as_bytes().to_vec())
        .map_err(|e| format!("the analyzer failed: {e}"))?;
    let raw: RawAnalysis = serde_json::from_slice(&out.stdout).map_err(|e| {
        format!(
            "the analyzer gave no result ({e}): {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )
    })?;
    Ok(Analysis {
        syntax_error: raw.syntax_error,
        findings: raw
            .findings
            .into_iter()
            .map(|f| Finding {
                level: level(&f.level),
                code: f.code,
                message: f.message,
                line: f.line,
            })
            .collect(),
    })
}

/// The assessment the approval policy reads.
pub fn assessment(analysis: &Analysis) -> Assessment {
    let mut findings = analysis.findings.clone();
    if let Some(se) = &analysis.syntax_error {
        findings.insert(
            0,
            Finding {
                level: RiskLevel::Low,
                code: "syntax-error".into(),
                message: se.to_string(),
                line: Some(se.line),
            },
        );
    }
    let risky: Vec<&str> = findings
        .iter()
        .filter(|f| f.level >= RiskLevel::Medium)
        .map(|f| f.code.as_str())
        .collect();
    let needs_approval = (!risky.is_empty()).then(|| {
        let mut codes = risky.clone();
        codes.dedup();
        format!("the code does risky things: {}", codes.join(", "))
    });
    Assessment {
        findings,
        needs_approval,
    }
}
