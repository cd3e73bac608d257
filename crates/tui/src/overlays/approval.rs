//! The approval prompt: the tool call's code, why it was flagged, and its keys (from the keymap).

use llm_repl_protocol::ApprovalRequest;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph};

use super::centered;
use crate::app::App;
use crate::keys::{Action, Context};
use crate::panes::trace::finding_lines;
use crate::render::highlight::highlight;
use crate::render::wrap;

pub fn draw(f: &mut Frame<'_>, app: &App, area: Rect, req: &ApprovalRequest) {
    let t = &app.theme;
    let w = 90.min(area.width.saturating_sub(2));
    let inner_w = w.saturating_sub(4) as usize;
    let mut body: Vec<Line<'static>> = Vec::new();
    body.extend(wrap::wrap_spans(
        &[Span::styled(req.reason.clone(), t.warn)],
        inner_w,
        vec![],
        vec![],
    ));
    body.push(Line::default());
    let entry = app.trace.get(&req.call.id).map(|(_, e)| e);
    let code = entry.and_then(|e| e.code());
    match code {
        Some((code, lang)) => {
            body.push(Line::styled(
                format!("{} wants to run:", req.call.name),
                t.title,
            ));
            for spans in highlight(&code, lang, t) {
                body.extend(wrap::wrap_hard(
                    &spans,
                    inner_w,
                    vec![Span::styled("▎ ", t.dim)],
                ));
            }
        }
        None => {
            body.push(Line::styled(
                format!("{} with arguments:", req.call.name),
                t.title,
            ));
            for spans in highlight(&req.call.arguments, "json", t) {
                body.extend(wrap::wrap_hard(
                    &spans,
                    inner_w,
                    vec![Span::styled("▎ ", t.dim)],
                ));
            }
        }
    }
    if !req.findings.is_empty() {
        body.push(Line::default());
        body.push(Line::styled("Why it was flagged:", t.title));
        for finding in &req.findings {
            body.extend(finding_lines(finding, inner_w, t));
        }
    }
    let more = app.approvals.len().saturating_sub(1);
    // The keys as bound now (the keymap's Approval context).
    let key = |a| format!(" {} ", app.keymap.key(Context::Approval, a));
    let keys = Line::from(vec![
        Span::styled(key(Action::Approve), t.selection),
        Span::styled(" approve  ", t.text),
        Span::styled(key(Action::ApproveSession), t.selection),
        Span::styled(" approve for the session  ", t.text),
        Span::styled(key(Action::Deny), t.selection),
        Span::styled(" deny ", t.text),
    ]);
    // Keep the key line visible however long the code is: cut the body, not the keys.
    let max_h = area.height.saturating_sub(2);
    let room = max_h.saturating_sub(4) as usize;
    if body.len() > room {
        let cut = body.len() - room + 1;
        body.truncate(room.saturating_sub(1));
        body.push(Line::styled(
            format!("… {cut} more lines (see the trace pane)"),
            t.dim,
        ));
    }
    body.push(Line::default());
    body.push(keys);
    let h = (body.len() as u16 + 2).min(max_h);
    let r = centered(area, w, h);
    let title = if more > 0 {
        format!(" Approve tool call? ({more} more waiting) ")
    } else {
        " Approve tool call? ".to_string()
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Double)
        .border_style(t.warn)
        .title(Span::styled(title, t.title));
    f.render_widget(Clear, r);
    f.render_widget(Paragraph::new(body).block(block), r);
}
