//! The chat screen: conversation, tool trace, input and meter, plus the overlays above them.
//! The layout adapts from 60x20 up: trace beside the conversation from 100 columns, below it
//! under that; under 60x20 a clear "terminal too small".

use ratatui::Frame;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Paragraph, Wrap};

use crate::app::{App, Focus};
use crate::keys::{Action, Context};
use crate::overlays::{self, Overlay};
use crate::panes::meter::MeterView;
use crate::render::hyperlink;

pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 20;

pub fn too_small(size: (u16, u16)) -> bool {
    size.0 < MIN_WIDTH || size.1 < MIN_HEIGHT
}

/// Where each pane goes.
#[derive(Debug, Clone, Copy)]
pub struct ChatLayout {
    pub conversation: Rect,
    pub trace: Option<Rect>,
    pub input: Rect,
    pub meter: Rect,
}

pub fn meter_view(app: &App) -> MeterView<'_> {
    MeterView {
        meter: &app.meter,
        session: app.session.as_ref(),
        spin: app.spin,
        flash: app.flash.as_ref().map(|(s, _)| s.as_str()),
        mouse: app.mouse,
        agent_alive: app.agent_alive,
    }
}

pub fn layout(app: &App, area: Rect) -> ChatLayout {
    // The meter takes a second line only when its segments do not fit in one.
    let meter_h = meter_view(app).lines(&app.theme, area.width, 2).len() as u16;
    let input_h = app
        .input
        .wanted_height(area.width)
        .min(area.height / 3)
        .max(3);
    let rows = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Min(5),
            Constraint::Length(input_h),
            Constraint::Length(meter_h),
        ])
        .split(area);
    let (conversation, trace) = if app.show_trace {
        let pct = app.trace_pct.clamp(20, 80);
        let dir = if area.width >= 100 {
            Direction::Horizontal
        } else {
            Direction::Vertical
        };
        let parts = Layout::default()
            .direction(dir)
            .constraints([
                Constraint::Percentage(100 - pct),
                Constraint::Percentage(pct),
            ])
            .split(rows[0]);
        (parts[0], Some(parts[1]))
    } else {
        (rows[0], None)
    };
    ChatLayout {
        conversation,
        trace,
        input: rows[1],
        meter: rows[2],
    }
}

/// A pane border: the focused one is thick, highlighted and marked with ▶ (visible without colour).
pub fn pane_block<'a>(app: &App, title: String, focused: bool) -> Block<'a> {
    let t = &app.theme;
    let (border_type, style, title) = if focused {
        (BorderType::Thick, t.border_focused, format!(" ▶ {title} "))
    } else {
        (BorderType::Rounded, t.border, format!(" {title} "))
    };
    Block::default()
        .borders(Borders::ALL)
        .border_type(border_type)
        .border_style(style)
        .title(Span::styled(
            title,
            if focused { t.border_focused } else { t.title },
        ))
}

fn welcome(app: &App) -> Vec<Line<'static>> {
    let t = &app.theme;
    let mut out = vec![
        Line::styled("llm-repl", t.heading),
        Line::styled(
            "A language model and sandboxed local tools, working step by step in front of you.",
            t.text,
        ),
        Line::default(),
    ];
    if let Some(s) = &app.session {
        let mut spans = vec![
            Span::styled("Model: ", t.dim),
            Span::styled(format!("{}/{}", s.provider, s.model), t.accent),
        ];
        if s.mock {
            spans.push(Span::styled(
                "  (mock provider: offline, scripted answers)",
                t.warn,
            ));
        }
        out.push(Line::from(spans));
    }
    for w in &app.startup_warnings {
        out.push(Line::styled(format!("⚠ {w}"), t.warn));
    }
    if let Some(h) = &app.options.first_run_hint {
        out.push(Line::default());
        for l in h.lines() {
            out.push(Line::styled(l.to_string(), t.warn));
        }
    }
    out.push(Line::default());
    out.push(Line::styled(
        "Type a prompt and press Enter · Alt+Enter or Ctrl+J for a newline · / for commands",
        t.dim,
    ));
    out.push(Line::styled("F1 or ? help · Tab moves focus · PgUp/PgDn scroll · Ctrl+O past sessions · Ctrl+C twice quits", t.dim));
    out.push(Line::styled("Ctrl+Y copies a message, code block or tool output · Alt+M frees the mouse for your terminal's own selection", t.dim));
    out
}

pub fn draw(f: &mut Frame<'_>, app: &App, area: Rect) {
    let l = layout(app, area);
    let title = match app.session.as_ref().map(|s| s.title.trim()) {
        Some(t) if !t.is_empty() => {
            let t: String = t
                .chars()
                .take(l.conversation.width.saturating_sub(24) as usize)
                .collect();
            format!("conversation · {t}")
        }
        _ => "conversation".to_string(),
    };
    let conv_block = pane_block(app, title, app.focus == Focus::Conversation);
    if app.conv.items.is_empty() {
        let p = Paragraph::new(welcome(app))
            .wrap(Wrap { trim: false })
            .block(conv_block);
        f.render_widget(p, l.conversation);
    } else {
        let inner = conv_block.inner(l.conversation);
        app.conv.draw(
            f,
            l.conversation,
            conv_block,
            &app.theme,
            &app.trace,
            app.spin,
            Some(app.now),
        );
        if app.options.hyperlinks {
            // The text ends one column before the border (the scroll column).
            let right = inner.right().saturating_sub(1);
            hyperlink::link_urls(f.buffer_mut(), inner, right);
        }
    }
    if let Some(tr) = l.trace {
        let running = app.trace.entries.iter().filter(|e| e.running()).count();
        let title = match (app.trace.entries.len(), running) {
            (0, _) => "tools".to_string(),
            (n, 0) => format!("tools ({n})"),
            (n, r) => format!("tools ({n}, {r} running)"),
        };
        let block = pane_block(app, title, app.focus == Focus::Trace);
        app.trace
            .draw(f, tr, block, &app.theme, app.spin, Some(app.now));
    }
    let esc = app.keymap.key(Context::Global, Action::Interrupt);
    let input_title = match &app.queued {
        Some(_) => format!("prompt · 1 queued, sent when the turn ends · {esc} takes it back"),
        None if app.meter.busy() => {
            format!("prompt · {esc} interrupts · Enter queues the next prompt")
        }
        None if app.rewind.editing => {
            format!("editing the last prompt · Enter resends it in its place · {esc} cancels")
        }
        None => "prompt".to_string(),
    };
    let mut input_block = pane_block(app, input_title, app.focus == Focus::Input);
    if let Some(q) = &app.queued {
        let first = q.lines().next().unwrap_or_default();
        let shown: String = first
            .chars()
            .take(l.input.width.saturating_sub(16) as usize)
            .collect();
        input_block = input_block.title_bottom(Line::styled(
            format!(
                " queued: {shown}{} ",
                if shown.len() < q.len() { "…" } else { "" }
            ),
            app.theme.warn,
        ));
    }
    app.input.draw(
        f,
        l.input,
        input_block,
        &app.theme,
        app.focus == Focus::Input && app.overlay.is_none(),
        &app.keymap.footer(
            Context::Search,
            &[
                (&[Action::Accept], "take"),
                (&[Action::SearchOlder], "older"),
                (&[Action::Close], "cancel"),
            ],
        ),
    );
    meter_view(app).draw(f, l.meter, &app.theme);

    if app.focus == Focus::Input && app.overlay.is_none() && app.approvals.is_empty() {
        overlays::command_palette::draw(f, app, l.input, area);
    }
    match &app.overlay {
        Some(Overlay::Help { scroll }) => overlays::help::draw(f, app, area, *scroll),
        Some(Overlay::Copy(st)) => overlays::copy_mode::draw(f, app, area, st),
        Some(Overlay::Models(st)) => overlays::model_picker::draw(f, app, area, st),
        None => {}
    }
}

pub fn draw_too_small(f: &mut Frame<'_>, app: &App, area: Rect) {
    let t = &app.theme;
    let lines = vec![
        Line::styled("terminal too small", t.error),
        Line::styled(
            format!(
                "{}x{} (need {MIN_WIDTH}x{MIN_HEIGHT})",
                area.width, area.height
            ),
            t.text,
        ),
        Line::styled("enlarge it, or Ctrl+C twice to quit", t.dim),
    ];
    let y = area.height.saturating_sub(3) / 2;
    let r = Rect::new(area.x, area.y + y, area.width, 3.min(area.height));
    f.render_widget(
        Paragraph::new(lines)
            .alignment(ratatui::layout::Alignment::Center)
            .wrap(Wrap { trim: true }),
        r,
    );
}
