//! The tool trace pane: every tool execution of the session, newest last; the selected one is
//! expanded with its arguments (code highlighted), live output (stdout and stderr told apart),
//! findings, result, status and duration.

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Instant;

use llm_repl_protocol::{
    CallId, Finding, OutputStream, RiskLevel, ToolCall, ToolResult, ToolStatus,
};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use crate::render::highlight::highlight;
use crate::render::scroll::Scroll;
use crate::render::{duration, wrap};
use crate::theme::Theme;

/// Output lines kept for display per run; older ones are counted, and copy mode copies all.
const SHOWN_LINES: usize = 2000;

pub const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/// Where a run stands, as far as the UI knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    /// Requested by the model, not started yet.
    Pending,
    AwaitingApproval,
    Status(ToolStatus),
}

/// One tool execution.
#[derive(Debug)]
pub struct TraceEntry {
    pub call: ToolCall,
    pub state: RunState,
    pub started: Option<Instant>,
    pub duration_ms: Option<u64>,
    pub lines: Vec<(OutputStream, String)>,
    /// The stream whose last line is still open (no newline yet).
    open: Option<OutputStream>,
    pub findings: Vec<Finding>,
    pub result: Option<ToolResult>,
    rev: u64,
}

impl TraceEntry {
    fn new(call: ToolCall) -> TraceEntry {
        TraceEntry {
            call,
            state: RunState::Pending,
            started: None,
            duration_ms: None,
            lines: Vec::new(),
            open: None,
            findings: Vec::new(),
            result: None,
            rev: 0,
        }
    }

    pub fn running(&self) -> bool {
        self.state == RunState::Status(ToolStatus::Running)
    }

    /// Adds a chunk of output, continuing an open line of the same stream. Terminal controls
    /// are made visible by the shared `terminal_safe` (a tool must not drive our terminal, nor
    /// hide a line with a carriage return: the user sees what the model sees).
    pub fn push_output(&mut self, stream: OutputStream, chunk: &str) {
        let chunk = llm_repl_protocol::terminal_safe(chunk);
        let mut pieces = chunk.split('\n').peekable();
        let mut first = true;
        while let Some(piece) = pieces.next() {
            let last = pieces.peek().is_none();
            if last && piece.is_empty() {
                self.open = None;
                break;
            }
            let piece = piece.strip_suffix('\r').unwrap_or(piece);
            match self.lines.last_mut() {
                Some((s, text)) if first && self.open == Some(stream) && *s == stream => {
                    text.push_str(piece)
                }
                _ => self.lines.push((stream, piece.to_string())),
            }
            first = false;
            self.open = if last { Some(stream) } else { None };
        }
        self.rev += 1;
    }

    /// All output as one text, for copying.
    pub fn output_text(&self) -> String {
        let mut s = String::new();
        for (_, l) in &self.lines {
            s.push_str(l);
            s.push('\n');
        }
        s
    }

    pub fn touch(&mut self) {
        self.rev += 1;
    }

    /// The code argument (and its language) if the arguments carry one.
    pub fn code(&self) -> Option<(String, &'static str)> {
        let v: serde_json::Value = serde_json::from_str(&self.call.arguments).ok()?;
        let lang = match self.call.name.as_str() {
            n if n.contains("python") => "python",
            n if n.contains("shell") || n.contains("bash") => "bash",
            _ => "",
        };
        for key in ["code", "script", "command", "cmd", "source"] {
            if let Some(s) = v.get(key).and_then(|c| c.as_str()) {
                let lang = if lang.is_empty() && key == "command" {
                    "bash"
                } else {
                    lang
                };
                return Some((s.to_string(), lang));
            }
        }
        None
    }
}

/// The expanded entry's wrapped lines: (entry, width, revision, lines).
type DetailCache = (usize, u16, u64, Vec<Line<'static>>);

/// All runs of the session.
#[derive(Debug, Default)]
pub struct Trace {
    pub entries: Vec<TraceEntry>,
    index: HashMap<CallId, usize>,
    /// The expanded entry; `None` follows the newest.
    pub selected: Option<usize>,
    pub scroll: Scroll,
    cache: RefCell<Option<DetailCache>>,
}

impl Trace {
    pub fn clear(&mut self) {
        *self = Trace::default();
    }

    /// The entry for `call_id`, created from `call` (or a placeholder) when first seen.
    pub fn entry(&mut self, call_id: &str, call: Option<&ToolCall>) -> (&mut TraceEntry, bool) {
        let created = !self.index.contains_key(call_id);
        if created {
            let call = call.cloned().unwrap_or_else(|| ToolCall {
                id: call_id.to_string(),
                name: "tool".to_string(),
                arguments: String::new(),
            });
            self.index.insert(call_id.to_string(), self.entries.len());
            self.entries.push(TraceEntry::new(call));
        }
        let i = self.index[call_id];
        (&mut self.entries[i], created)
    }

    /// Drops the entries of these calls (a rewind took them out of the conversation).
    pub fn remove(&mut self, call_ids: &std::collections::HashSet<String>) {
        if call_ids.is_empty() {
            return;
        }
        self.entries.retain(|e| !call_ids.contains(&e.call.id));
        self.index = self
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.call.id.clone(), i))
            .collect();
        self.selected = None;
        *self.cache.borrow_mut() = None;
    }

    pub fn get(&self, call_id: &str) -> Option<(usize, &TraceEntry)> {
        self.index.get(call_id).map(|&i| (i, &self.entries[i]))
    }

    pub fn get_mut(&mut self, call_id: &str) -> Option<&mut TraceEntry> {
        self.index.get(call_id).map(|&i| &mut self.entries[i])
    }

    pub fn selected_index(&self) -> Option<usize> {
        match self.selected {
            Some(i) if i < self.entries.len() => Some(i),
            _ => self.entries.len().checked_sub(1),
        }
    }

    pub fn select_prev(&mut self) {
        if let Some(i) = self.selected_index() {
            self.selected = Some(i.saturating_sub(1));
        }
    }

    pub fn select_next(&mut self) {
        if let Some(i) = self.selected_index() {
            // Reaching the newest run goes back to following new runs.
            if i + 2 >= self.entries.len() {
                self.selected = None;
            } else {
                self.selected = Some(i + 1);
            }
        }
    }

    pub fn any_running(&self) -> bool {
        self.entries.iter().any(|e| e.running())
    }

    fn status_spans(
        e: &TraceEntry,
        theme: &Theme,
        spin: usize,
        now: Option<Instant>,
    ) -> Vec<Span<'static>> {
        let (mark, label, style) = match e.state {
            RunState::Pending => ("…", "queued".to_string(), theme.dim),
            RunState::AwaitingApproval => ("?", "awaiting approval".to_string(), theme.warn),
            RunState::Status(ToolStatus::Running) => {
                let elapsed = match (e.started, now) {
                    (Some(s), Some(n)) => format!(
                        " {}",
                        duration(n.saturating_duration_since(s).as_millis() as u64)
                    ),
                    _ => String::new(),
                };
                (
                    SPINNER[spin % SPINNER.len()],
                    format!("running{elapsed}"),
                    theme.accent,
                )
            }
            RunState::Status(ToolStatus::Ok) => ("✓", "ok".into(), theme.ok),
            RunState::Status(ToolStatus::Error) => ("✗", "error".into(), theme.error),
            RunState::Status(ToolStatus::TimedOut) => ("⏱", "timed out".into(), theme.error),
            RunState::Status(ToolStatus::Interrupted) => ("■", "interrupted".into(), theme.warn),
            RunState::Status(ToolStatus::Denied) => ("⊘", "denied".into(), theme.warn),
        };
        let mut spans = vec![Span::styled(format!("{mark} {label}"), style)];
        // A denied call never ran: it has no duration worth showing.
        if let Some(ms) = e.duration_ms
            && !e.running()
            && e.state != RunState::Status(ToolStatus::Denied)
        {
            spans.push(Span::styled(format!(" · {}", duration(ms)), theme.dim));
        }
        spans
    }

    /// The one-line summary the conversation shows for a call.
    pub fn summary_line(
        &self,
        call_id: &str,
        theme: &Theme,
        spin: usize,
        now: Option<Instant>,
    ) -> Line<'static> {
        let Some((i, e)) = self.get(call_id) else {
            return Line::styled(format!("  ⚙ tool call {call_id}"), theme.dim);
        };
        let mut spans = vec![
            Span::styled(format!("  ⚙ #{} ", i + 1), theme.dim),
            Span::styled(e.call.name.clone(), theme.tool),
            Span::raw("  "),
        ];
        spans.extend(Self::status_spans(e, theme, spin, now));
        let mut line = Line::from(spans);
        if self.selected_index() == Some(i) {
            line = line.patch_style(
                theme
                    .dim
                    .remove_modifier(Modifier::DIM)
                    .add_modifier(Modifier::BOLD),
            );
        }
        line
    }

    fn header(
        &self,
        i: usize,
        theme: &Theme,
        spin: usize,
        now: Option<Instant>,
        selected: bool,
    ) -> Line<'static> {
        let e = &self.entries[i];
        let mut spans = vec![
            Span::styled(if selected { "▾ " } else { "▸ " }, theme.accent),
            Span::styled(format!("#{} ", i + 1), theme.dim),
            Span::styled(e.call.name.clone(), theme.tool.add_modifier(Modifier::BOLD)),
            Span::raw("  "),
        ];
        spans.extend(Self::status_spans(e, theme, spin, now));
        let line = Line::from(spans);
        if selected {
            line.patch_style(theme.selection)
        } else {
            line
        }
    }

    fn detail(e: &TraceEntry, width: usize, theme: &Theme) -> Vec<Line<'static>> {
        let mut out = Vec::new();
        let ind = "  ";
        let label = |t: &str| Line::styled(format!("{ind}{t}"), theme.title);
        if let Some((code, lang)) = e.code() {
            out.push(label(&format!(
                "code{}",
                if lang.is_empty() {
                    String::new()
                } else {
                    format!(" ({lang})")
                }
            )));
            for spans in highlight(&code, lang, theme) {
                let prefix = vec![Span::raw(ind), Span::styled("▎ ", theme.dim)];
                out.extend(wrap::wrap_hard(&spans, width, prefix));
            }
            if let Ok(serde_json::Value::Object(map)) = serde_json::from_str(&e.call.arguments) {
                for (k, v) in map {
                    if ["code", "script", "command", "cmd", "source"].contains(&k.as_str()) {
                        continue;
                    }
                    out.extend(wrap::wrap_text(&format!("{k}: {v}"), width, theme.dim, ind));
                }
            }
        } else if !e.call.arguments.is_empty() {
            out.push(label("arguments"));
            let pretty = serde_json::from_str::<serde_json::Value>(&e.call.arguments)
                .ok()
                .and_then(|v| serde_json::to_string_pretty(&v).ok())
                .unwrap_or_else(|| e.call.arguments.clone());
            for spans in highlight(&pretty, "json", theme) {
                let prefix = vec![Span::raw(ind), Span::styled("▎ ", theme.dim)];
                out.extend(wrap::wrap_hard(&spans, width, prefix));
            }
        }
        if !e.findings.is_empty() {
            out.push(label("findings"));
            for f in &e.findings {
                out.extend(finding_lines(f, width, theme));
            }
        }
        if !e.lines.is_empty() {
            out.push(label("output"));
            let skip = e.lines.len().saturating_sub(SHOWN_LINES);
            if skip > 0 {
                out.push(Line::styled(
                    format!("{ind}… {skip} earlier lines (copy mode copies all)"),
                    theme.dim,
                ));
            }
            for (stream, text) in &e.lines[skip..] {
                let (gutter, style) = match stream {
                    OutputStream::Stdout => ("│ ", theme.stdout),
                    OutputStream::Stderr => ("┃ ", theme.stderr),
                    OutputStream::Info => ("· ", theme.info),
                };
                let prefix = vec![Span::raw(ind), Span::styled(gutter, style)];
                out.extend(wrap::wrap_hard(
                    &[Span::styled(text.clone(), style)],
                    width,
                    prefix,
                ));
            }
        }
        if let Some(r) = &e.result
            && (r.is_error || e.lines.is_empty())
            && !r.content.is_empty()
        {
            out.push(label(if r.is_error {
                "result (error)"
            } else {
                "result"
            }));
            let style = if r.is_error {
                theme.error.remove_modifier(Modifier::BOLD)
            } else {
                theme.text
            };
            let shown: String = r.content.chars().take(4000).collect();
            out.extend(wrap::wrap_text(&shown, width, style, "    "));
        }
        if let RunState::Status(st) = e.state
            && st != ToolStatus::Running
        {
            let mut spans = vec![Span::styled(format!("{ind}exit: "), theme.title)];
            spans.extend(Self::status_spans(e, theme, 0, None));
            out.push(Line::from(spans));
        }
        out.push(Line::default());
        out
    }

    pub fn draw(
        &self,
        f: &mut Frame<'_>,
        area: Rect,
        block: Block<'_>,
        theme: &Theme,
        spin: usize,
        now: Option<Instant>,
    ) {
        let inner = block.inner(area);
        let width = inner.width.saturating_sub(1).max(1);
        let height = inner.height as usize;
        if self.entries.is_empty() {
            let p = Paragraph::new(vec![
                Line::styled("No tool runs yet.", theme.dim),
                Line::styled("Each tool call appears here with its", theme.dim),
                Line::styled("code, live output and exit status.", theme.dim),
            ]);
            f.render_widget(p.block(block), area);
            return;
        }
        let sel = self.selected_index().unwrap_or(0);
        let e = &self.entries[sel];
        let mut cache = self.cache.borrow_mut();
        let fresh =
            matches!(&*cache, Some((i, w, r, _)) if *i == sel && *w == width && *r == e.rev);
        if !fresh {
            *cache = Some((sel, width, e.rev, Self::detail(e, width as usize, theme)));
        }
        let detail: &[Line<'static>] = cache.as_ref().map(|c| c.3.as_slice()).unwrap_or(&[]);
        let n = self.entries.len();
        let total = n + detail.len();
        let top = self.scroll.top_for(total, height);
        let mut lines = Vec::with_capacity(height);
        for row in top..(top + height).min(total) {
            if row <= sel {
                lines.push(self.header(row, theme, spin, now, row == sel));
            } else if row <= sel + detail.len() {
                lines.push(detail[row - sel - 1].clone());
            } else {
                lines.push(self.header(row - detail.len(), theme, spin, now, false));
            }
        }
        let below = self.scroll.below(total, height);
        let mut block = block;
        if !self.scroll.following() && below > 0 {
            block = block.title_bottom(
                Line::styled(format!(" ↓ {below} more · End follows "), theme.warn).right_aligned(),
            );
        }
        f.render_widget(Paragraph::new(lines).block(block), area);
    }
}

/// One risk finding, as the trace and the approval prompt show it.
pub fn finding_lines(f: &Finding, width: usize, theme: &Theme) -> Vec<Line<'static>> {
    let (mark, style) = match f.level {
        RiskLevel::High => ("▲ high", theme.error),
        RiskLevel::Medium => ("▲ medium", theme.warn),
        RiskLevel::Low => ("△ low", theme.dim),
    };
    let at = f.line.map(|l| format!(" (line {l})")).unwrap_or_default();
    let first = vec![
        Span::raw("  "),
        Span::styled(format!("{mark} "), style),
        Span::styled(format!("{} ", f.code), theme.title),
    ];
    wrap::wrap_spans(
        &[Span::styled(format!("{}{at}", f.message), theme.text)],
        width,
        first,
        vec![Span::raw("    ")],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_chunks_join_lines_per_stream() {
        let mut e = TraceEntry::new(ToolCall {
            id: "c".into(),
            name: "python".into(),
            arguments: "{\"code\":\"print(1)\"}".into(),
        });
        e.push_output(OutputStream::Stdout, "hel");
        e.push_output(OutputStream::Stdout, "lo\nwor");
        e.push_output(OutputStream::Stderr, "oops\n");
        e.push_output(OutputStream::Stdout, "ld\n");
        assert_eq!(
            e.lines,
            vec![
                (OutputStream::Stdout, "hello".to_string()),
                (OutputStream::Stdout, "wor".to_string()),
                (OutputStream::Stderr, "oops".to_string()),
                (OutputStream::Stdout, "ld".to_string()),
            ]
        );
        assert_eq!(e.code(), Some(("print(1)".to_string(), "python")));
    }

    #[test]
    fn escapes_and_carriage_returns_are_shown_not_obeyed() {
        let mut e = TraceEntry::new(ToolCall {
            id: "c".into(),
            name: "sh".into(),
            arguments: String::new(),
        });
        e.push_output(
            OutputStream::Stdout,
            "\x1b[31mred\x1b[0m \x1b]0;title\x07ok\n",
        );
        e.push_output(OutputStream::Stdout, "10%");
        e.push_output(OutputStream::Stdout, "\r50%");
        e.push_output(OutputStream::Stdout, "\r100%\n");
        assert_eq!(e.lines[0].1, "␛[31mred␛[0m ␛]0;title␇ok");
        assert_eq!(e.lines[1].1, "10%␍50%␍100%");
        assert_eq!(e.lines.len(), 2);
        e.push_output(OutputStream::Stdout, "crlf\r\n");
        assert_eq!(e.lines[2].1, "crlf");
    }

    #[test]
    fn selection_follows_newest_until_moved() {
        let mut t = Trace::default();
        for id in ["a", "b", "c"] {
            t.entry(id, None);
        }
        assert_eq!(t.selected_index(), Some(2));
        t.select_prev();
        assert_eq!(t.selected_index(), Some(1));
        t.select_next();
        assert_eq!(t.selected, None);
        t.entry("d", None);
        assert_eq!(t.selected_index(), Some(3));
    }
}
