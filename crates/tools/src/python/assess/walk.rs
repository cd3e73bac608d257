//! The walk over one parsed cell: resolves import aliases, then looks at every name, attribute,
//! call, subscript and string literal against [`super::rules`].
//!
//! References are checked whether or not they are called, so an alias (`f = os.system`,
//! `o = open`, `g = getattr`) is as risky as the call it enables. String literals that parse as
//! Python are analysed too (a payload for `exec`, `timeit`, pickle or a string annotation).

use std::cell::Cell;
use std::collections::HashMap;

use llm_repl_protocol::{Finding, RiskLevel};
use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, Expr, ExprContext, Stmt};
use ruff_text_size::{Ranged, TextSize};

use super::Lines;
use super::rules::{self, Rule};

/// Nodes deeper than this are not walked (the cell is flagged instead). The lexical bounds in
/// `super` keep real cells far below it; this is the walk's own guard.
const MAX_DEPTH: usize = 4_000;
/// Findings kept per cell.
const MAX_FINDINGS: usize = 200;
/// Attribute chains longer than this are not resolved to a qualified name.
const MAX_CHAIN: usize = 16;
/// Strings inside strings inside strings: deeper ones are not tried as code.
const MAX_NESTED: u8 = 3;
/// Only strings of this size are tried as code.
const STRING_CODE_BYTES: std::ops::RangeInclusive<usize> = 6..=64 * 1024;
/// What one try costs of the budget at least (bounds the number of tries per cell).
const STRING_MIN_CHARGE: usize = 256;

pub(super) struct Walk<'s> {
    lines: &'s Lines<'s>,
    /// Local name -> qualified name, from every import in the cell.
    aliases: HashMap<String, String>,
    pub(super) findings: Vec<Finding>,
    depth: usize,
    nested: u8,
    /// Bytes of string literals still allowed to be parsed as code (shared by nested walks).
    budget: &'s Cell<usize>,
}

impl<'s> Walk<'s> {
    pub(super) fn new(lines: &'s Lines<'s>, nested: u8, budget: &'s Cell<usize>) -> Self {
        Self {
            lines,
            aliases: HashMap::new(),
            findings: Vec::new(),
            depth: 0,
            nested,
            budget,
        }
    }

    pub(super) fn run(&mut self, body: &[Stmt]) {
        let mut imports = Imports::default();
        imports.visit_body(body);
        self.aliases = imports.aliases;
        self.visit_body(body);
    }

    fn line(&self, at: TextSize) -> u32 {
        self.lines.line_of(at)
    }

    fn add(&mut self, rule: Rule, what: &str, line: u32) {
        self.add_coded(rule, rule.1, what, line);
    }

    fn add_coded(&mut self, (level, _, why): Rule, code: &str, what: &str, line: u32) {
        // Enough to decide and to show; more would only cost time (the dedup is linear).
        if self.findings.len() >= MAX_FINDINGS {
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
            code: code.to_string(),
            message: format!("{what}: {why}"),
            line: Some(line),
        });
    }

    /// The qualified name of a `Name` or `a.b.c` chain, import aliases resolved.
    fn resolve(&self, expr: &Expr) -> Option<String> {
        // No rule names a chain this long; stopping keeps long chains linear, not quadratic.
        let mut links = 0;
        let mut e = expr;
        while let Expr::Attribute(a) = e {
            links += 1;
            if links > MAX_CHAIN {
                return None;
            }
            e = &a.value;
        }
        match expr {
            Expr::Name(n) => Some(
                self.aliases
                    .get(n.id.as_str())
                    .cloned()
                    .unwrap_or_else(|| n.id.to_string()),
            ),
            Expr::Attribute(a) => {
                let base = self.resolve(&a.value)?;
                Some(format!("{base}.{}", a.attr.as_str()))
            }
            _ => None,
        }
    }

    fn import(&mut self, module: &str, line: u32) {
        let top = module.split('.').next().unwrap_or(module);
        // Imports are coded by the module matched, as `import-urllib-request`.
        for m in [module, top] {
            if let Some(rule) = rules::module(m) {
                let code = format!("import-{}", m.replace('.', "-"));
                self.add_coded(rule, &code, &format!("imports {m}"), line);
                break;
            }
        }
        if let Some(rule) = rules::qualified(module) {
            self.add(rule, &format!("imports {module}"), line);
        }
    }

    fn stmt_imports(&mut self, stmt: &Stmt) {
        let line = self.line(stmt.start());
        match stmt {
            Stmt::Import(i) => {
                for a in &i.names {
                    self.import(a.name.as_str(), line);
                }
            }
            Stmt::ImportFrom(i) => {
                let dots = ".".repeat(i.level as usize);
                let module = format!(
                    "{dots}{}",
                    i.module.as_ref().map(|m| m.as_str()).unwrap_or("")
                );
                self.import(&module, line);
                for a in &i.names {
                    let name = a.name.as_str();
                    if name == "*" {
                        if rules::star_import_is_risky(&module) {
                            self.add(
                                (
                                    RiskLevel::High,
                                    "star-import",
                                    "hides risky names behind plain ones",
                                ),
                                &format!("from {module} import *"),
                                line,
                            );
                        }
                        continue;
                    }
                    self.import(&format!("{module}.{name}"), line);
                    if let Some(rule) = rules::attribute(name) {
                        self.add(rule, &format!("imports {module}.{name}"), line);
                    }
                    if rules::is_dunder(name) && !rules::dunder_allowed(name) {
                        self.dunder(name, line);
                    }
                }
            }
            _ => {}
        }
    }

    fn dunder(&mut self, name: &str, line: u32) {
        self.add(
            (
                RiskLevel::High,
                "dunder-access",
                "reaches interpreter internals",
            ),
            name,
            line,
        );
    }

    /// A `Name` or attribute chain, called (with its arguments) or not.
    fn reference(&mut self, expr: &Expr, call: Option<&ast::Arguments>) {
        let line = self.line(expr.start());
        match expr {
            Expr::Name(n) => {
                let id = n.id.as_str();
                let aliased = self.aliases.get(id).cloned();
                if n.ctx == ExprContext::Load && aliased.is_none() {
                    if matches!(id, "getattr" | "setattr" | "delattr") {
                        self.dynamic_attr(id, call, line);
                    } else if let Some(rule) = rules::builtin(id) {
                        self.add(rule, id, line);
                    } else if id == "open" && call.is_none() {
                        self.alias_open(id, line);
                    } else if rules::is_dunder(id) && !rules::dunder_allowed(id) {
                        self.dunder(id, line);
                    }
                } else if rules::is_dunder(id) && !rules::dunder_allowed(id) {
                    self.dunder(id, line);
                }
                if let Some(q) = aliased {
                    self.qualified(&q, call.is_some(), line);
                }
            }
            Expr::Attribute(a) => {
                let attr = a.attr.as_str();
                let dotted = self.resolve(expr);
                if rules::is_dunder(attr)
                    && !rules::dunder_allowed(attr)
                    && rules::attribute(attr).is_none()
                {
                    self.dunder(attr, line);
                }
                if let Some(rule) = rules::attribute(attr)
                    && !dotted.as_deref().is_some_and(rules::attribute_exempt)
                {
                    self.add(rule, &format!(".{attr}"), line);
                }
                if let Some(d) = &dotted {
                    self.qualified(d, call.is_some(), line);
                }
                if call.is_some() && rules::is_write_method(attr) {
                    self.add(
                        (RiskLevel::Medium, "path-write", "changes the file system"),
                        &format!(".{attr}()"),
                        line,
                    );
                }
                if a.ctx != ExprContext::Load
                    && matches!(
                        dotted.as_deref(),
                        Some("sys.path" | "sys.meta_path" | "sys.path_hooks" | "os.environ")
                    )
                {
                    self.add(
                        (
                            RiskLevel::Medium,
                            "import-path",
                            "changes where imports come from",
                        ),
                        dotted.as_deref().unwrap_or(attr),
                        line,
                    );
                }
            }
            _ => {}
        }
    }

    fn qualified(&mut self, d: &str, called: bool, line: u32) {
        if let Some(rule) = rules::qualified(d) {
            self.add(rule, d, line);
        }
        if !called && d != "open" && rules::is_open_function(d) {
            self.alias_open(d, line);
        }
    }

    fn alias_open(&mut self, what: &str, line: u32) {
        self.add(
            (
                RiskLevel::High,
                "alias-open",
                "referenced without a call, so what it will write cannot be checked",
            ),
            what,
            line,
        );
    }

    /// `getattr(x, "name")` is checked like `x.name`; any other use is dynamic access.
    fn dynamic_attr(&mut self, func: &str, call: Option<&ast::Arguments>, line: u32) {
        let constant = call.and_then(|args| {
            if args.args.iter().any(Expr::is_starred_expr) || !args.keywords.is_empty() {
                return None;
            }
            let name = args.args.get(1)?.as_string_literal_expr()?.value.to_str();
            Some((args.args.first()?, name))
        });
        let Some((base, name)) = constant else {
            self.add(
                (
                    RiskLevel::High,
                    "dynamic-attr",
                    "looks up an attribute by computed name",
                ),
                func,
                line,
            );
            return;
        };
        if rules::is_dunder(name) && !rules::dunder_allowed(name) {
            self.dunder(name, line);
        }
        if let Some(rule) = rules::attribute(name) {
            self.add(rule, &format!("{func}(..., {name:?})"), line);
        }
        if let Some(b) = self.resolve(base) {
            self.qualified(&format!("{b}.{name}"), false, line);
        }
    }

    /// What a call does beyond its name: the mode of `open`, writes to `os.environ` and
    /// `sys.path`.
    fn call_effects(&mut self, call: &ast::ExprCall, line: u32) {
        let name = self.resolve(&call.func);
        let attr = call.func.as_attribute_expr().map(|a| a.attr.as_str());
        if let Some(a) = call.func.as_attribute_expr()
            && let Some(base) = self.resolve(&a.value)
        {
            let attr = a.attr.as_str();
            let mutates = matches!(
                attr,
                "insert"
                    | "append"
                    | "extend"
                    | "update"
                    | "setdefault"
                    | "pop"
                    | "popitem"
                    | "clear"
                    | "remove"
                    | "__setitem__"
                    | "__delitem__"
            );
            if mutates && base == "os.environ" {
                self.add(
                    (RiskLevel::Medium, "env-write", "changes the environment"),
                    &format!("os.environ.{attr}()"),
                    line,
                );
            }
            if mutates
                && matches!(
                    base.as_str(),
                    "sys.path" | "sys.meta_path" | "sys.path_hooks"
                )
            {
                self.add(
                    (
                        RiskLevel::Medium,
                        "import-path",
                        "changes where imports come from",
                    ),
                    &format!("{base}.{attr}()"),
                    line,
                );
            }
        }
        let function = name.as_deref().is_some_and(rules::is_open_function);
        if !function && attr != Some("open") {
            return;
        }
        let args = &call.arguments;
        let mut computed = args.args.iter().any(Expr::is_starred_expr);
        let mut mode: Option<&Expr> = None;
        if !function {
            // Path.open(mode) or ZipFile.open(name, mode)
            if let Some(m) = args.args.get(1) {
                mode = Some(m);
            } else if let Some(a) = args.args.first()
                && a.as_string_literal_expr()
                    .is_some_and(|s| rules::looks_like_mode(s.value.to_str()))
            {
                mode = Some(a);
            }
        } else {
            mode = args.args.get(1);
        }
        for kw in &args.keywords {
            match kw.arg.as_ref().map(|a| a.as_str()) {
                Some("mode" | "flags") => mode = Some(&kw.value),
                None => computed = true,
                _ => {}
            }
        }
        let shown = name.unwrap_or_else(|| ".open".into());
        let what = match mode {
            _ if shown == "os.open" && mode.is_some() => Some("opened with flags: may write"),
            Some(m) => match m.as_string_literal_expr() {
                Some(s) if rules::mode_writes(s.value.to_str()) => Some("writes a file"),
                Some(_) => None,
                None => Some("opened with a computed mode: may write"),
            },
            None if computed => Some("opened with computed arguments: may write"),
            None => None,
        };
        if let Some(why) = what {
            self.add(
                (RiskLevel::Medium, "open-write", why),
                &format!("{shown}()"),
                line,
            );
        }
    }

    /// A string literal that parses as Python is analysed as code.
    fn string_code(&mut self, text: &str, line: u32) {
        if self.nested >= MAX_NESTED
            || !STRING_CODE_BYTES.contains(&text.len())
            || !text.contains(['(', '.', '['])
            || self.budget.get() < text.len().max(STRING_MIN_CHARGE)
        {
            return;
        }
        // Each try costs at least STRING_MIN_CHARGE, so many tiny strings cannot add up.
        self.budget
            .set(self.budget.get() - text.len().max(STRING_MIN_CHARGE));
        let Some(inner) = super::nested_findings(text, self.nested + 1, self.budget) else {
            return;
        };
        let mut codes: Vec<&str> = inner
            .iter()
            .filter(|f| f.level >= RiskLevel::Medium)
            .map(|f| f.code.as_str())
            .collect();
        codes.sort_unstable();
        codes.dedup();
        if !codes.is_empty() {
            let what = format!("a string holding code that {}", codes.join(", "));
            self.add(
                (
                    RiskLevel::High,
                    "code-in-string",
                    "runs if anything evaluates it",
                ),
                &what,
                line,
            );
        }
    }

    fn expr(&mut self, expr: &Expr) {
        let line = self.line(expr.start());
        match expr {
            Expr::Call(call) => {
                self.reference(&call.func, Some(&call.arguments));
                self.call_effects(call, line);
                match &*call.func {
                    Expr::Name(_) => {}
                    Expr::Attribute(a) => self.visit_expr(&a.value),
                    other => self.visit_expr(other),
                }
                self.visit_arguments(&call.arguments);
            }
            Expr::Name(_) => self.reference(expr, None),
            Expr::Attribute(a) => {
                self.reference(expr, None);
                self.visit_expr(&a.value);
            }
            Expr::Subscript(s) => {
                if s.ctx != ExprContext::Load
                    && self.resolve(&s.value).as_deref() == Some("os.environ")
                {
                    self.add(
                        (RiskLevel::Medium, "env-write", "changes the environment"),
                        "os.environ[...]",
                        line,
                    );
                }
                visitor::walk_expr(self, expr);
            }
            Expr::StringLiteral(s) => self.string_code(s.value.to_str(), line),
            Expr::BytesLiteral(b) => {
                for part in b.value.iter() {
                    if let Ok(text) = std::str::from_utf8(&part.value) {
                        self.string_code(text, line);
                    }
                }
            }
            _ => visitor::walk_expr(self, expr),
        }
    }

    /// Counts one level; false (and a finding) past the depth bound.
    fn enter(&mut self, at: TextSize) -> bool {
        self.depth += 1;
        if self.depth <= MAX_DEPTH {
            return true;
        }
        let line = self.line(at);
        self.add(
            (
                RiskLevel::High,
                "too-deep",
                "nested too deeply to analyse fully",
            ),
            &format!("more than {MAX_DEPTH} levels"),
            line,
        );
        false
    }
}

/// Stack the walk keeps free before recursing, and what it allocates when less is left.
const RED_ZONE: usize = 64 * 1024;
const STACK_STEP: usize = 1024 * 1024;

impl<'a> Visitor<'a> for Walk<'_> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        if self.enter(stmt.start()) {
            self.stmt_imports(stmt);
            stacker::maybe_grow(RED_ZONE, STACK_STEP, || visitor::walk_stmt(self, stmt));
        }
        self.depth -= 1;
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        if self.enter(expr.start()) {
            stacker::maybe_grow(RED_ZONE, STACK_STEP, || self.expr(expr));
        }
        self.depth -= 1;
    }
}

/// The first pass: every import's local name and what it stands for.
#[derive(Default)]
struct Imports {
    aliases: HashMap<String, String>,
    depth: usize,
}

impl<'a> Visitor<'a> for Imports {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::Import(i) => {
                for a in &i.names {
                    let name = a.name.as_str();
                    match &a.asname {
                        Some(asname) => self.aliases.insert(asname.to_string(), name.to_string()),
                        None => {
                            let top = name.split('.').next().unwrap_or(name);
                            self.aliases.insert(top.to_string(), top.to_string())
                        }
                    };
                }
            }
            Stmt::ImportFrom(i) => {
                let module = format!(
                    "{}{}",
                    ".".repeat(i.level as usize),
                    i.module.as_ref().map(|m| m.as_str()).unwrap_or("")
                );
                for a in &i.names {
                    let local = a.asname.as_ref().unwrap_or(&a.name).to_string();
                    self.aliases
                        .insert(local, format!("{module}.{}", a.name.as_str()));
                }
            }
            _ => {
                // Imports only sit in statement bodies; expressions are not entered.
                self.depth += 1;
                if self.depth <= MAX_DEPTH {
                    stacker::maybe_grow(RED_ZONE, STACK_STEP, || visitor::walk_stmt(self, stmt));
                }
                self.depth -= 1;
            }
        }
    }

    fn visit_expr(&mut self, _expr: &'a Expr) {}
}
