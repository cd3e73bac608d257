//! The model picker (`/model` with no name): it asks the agent (never the network), shows
//! loading, the list, a failed listing; typing filters; Enter switches the way `/model NAME`
//! does (a route as `/provider ROUTE`); Esc closes; answers to other requests are ignored.

use crossterm::event::KeyCode;
use insta::assert_snapshot;
use llm_repl_protocol::{Event, ModelChoice, ModelSource, Op};

use super::fixtures::*;
use crate::overlays::Overlay;

fn choice(name: &str, source: ModelSource, window: Option<u64>) -> ModelChoice {
    ModelChoice {
        name: name.into(),
        source,
        context_window: window,
    }
}

fn listing() -> Event {
    Event::ModelList {
        provider: "mock".into(),
        models: vec![
            choice("mock-scripted", ModelSource::Listed, None),
            choice("gpt-4o", ModelSource::Listed, Some(128_000)),
            choice("gpt-4o-mini", ModelSource::Priced, Some(128_000)),
            choice("Llama-3.3-70B", ModelSource::Listed, Some(131_072)),
            choice("auto", ModelSource::Route, None),
        ],
        error: None,
    }
}

fn open_picker(app: &mut crate::app::App) {
    type_str(app, "/model");
    press(app, key(KeyCode::Enter));
    assert_eq!(ops(app), vec![Op::ListModels]);
    assert!(matches!(app.overlay, Some(Overlay::Models(_))));
}

fn screen(app: &crate::app::App) -> String {
    format!("{}", render(app, 100, 30).backend())
}

#[test]
fn loading_then_the_list_with_the_current_model_marked() {
    let mut app = app();
    open_picker(&mut app);
    let loading = render(&app, 100, 30);
    let text = format!("{}", loading.backend());
    assert!(
        text.contains("loading… (asking mock for its models)"),
        "{text}"
    );
    assert_snapshot!("model_picker_loading", loading.backend());
    reply(&mut app, listing());
    let text = screen(&app);
    assert!(!text.contains("loading…"), "{text}");
    assert!(
        text.contains("›● mock-scripted"),
        "current marked and selected: {text}"
    );
    assert!(text.contains("listed · 128k"), "{text}");
    // `/model ` completes from the listed names from now on (routes are /provider's).
    assert!(
        app.options
            .slash
            .models
            .contains(&"Llama-3.3-70B".to_string())
    );
    assert!(!app.options.slash.models.contains(&"auto".to_string()));
}

#[test]
fn typing_filters_case_insensitively_and_enter_switches() {
    let mut app = app();
    open_picker(&mut app);
    reply(&mut app, listing());
    type_str(&mut app, "LLAMA");
    let t = render(&app, 100, 30);
    let text = format!("{}", t.backend());
    assert!(text.contains("Llama-3.3-70B"), "{text}");
    assert!(!text.contains("gpt-4o"), "filtered out: {text}");
    assert_snapshot!("model_picker_filtered", t.backend());
    press(&mut app, key(KeyCode::Enter));
    assert_eq!(
        ops(&mut app),
        vec![Op::SetModel {
            model: "Llama-3.3-70B".into()
        }]
    );
    assert!(app.overlay.is_none());
}

#[test]
fn arrows_move_backspace_edits_and_esc_closes_without_switching() {
    let mut app = app();
    open_picker(&mut app);
    reply(&mut app, listing());
    type_str(&mut app, "gpt-4oX");
    press(&mut app, key(KeyCode::Backspace));
    // "gpt-4o" is an entry: it is selected over the longer "gpt-4o-mini".
    press(&mut app, key(KeyCode::Down));
    press(&mut app, key(KeyCode::Up));
    let Some(Overlay::Models(st)) = &app.overlay else {
        panic!("picker closed");
    };
    assert_eq!(st.filter, "gpt-4o");
    assert_eq!(st.sel, 0);
    press(&mut app, key(KeyCode::Down));
    press(&mut app, key(KeyCode::Esc));
    assert!(app.overlay.is_none());
    assert_eq!(ops(&mut app), vec![]);
    // PageDown stops at the last row; Enter there picks it (the route: a provider switch).
    open_picker(&mut app);
    reply(&mut app, listing());
    press(&mut app, key(KeyCode::PageDown));
    press(&mut app, key(KeyCode::Enter));
    assert_eq!(
        ops(&mut app),
        vec![Op::SetProvider {
            provider: "auto".into()
        }]
    );
}

#[test]
fn a_failed_listing_says_why_and_a_typed_name_still_switches() {
    let mut app = app();
    open_picker(&mut app);
    reply(
        &mut app,
        Event::ModelList {
            provider: "mock".into(),
            models: vec![choice("gpt-4o-mini", ModelSource::Priced, Some(128_000))],
            error: Some("cannot connect to http://127.0.0.1:9/v1 (Connection refused)".into()),
        },
    );
    type_str(&mut app, "my-local-model");
    let t = render(&app, 100, 30);
    let text = format!("{}", t.backend());
    assert!(
        text.contains("could not list models: cannot connect to http://127.0.0.1:9/v1"),
        "{text}"
    );
    assert_snapshot!("model_picker_error", t.backend());
    press(&mut app, key(KeyCode::Enter));
    assert_eq!(
        ops(&mut app),
        vec![Op::SetModel {
            model: "my-local-model".into()
        }]
    );
}

#[test]
fn typing_while_loading_and_stale_answers_are_ignored() {
    let mut app = app();
    open_picker(&mut app);
    let request = app.last_request();
    type_str(&mut app, "gpt");
    // An answer to some other request does not fill this picker.
    app.apply_event(Event::Reply {
        request: request + 100,
        body: Box::new(listing()),
    });
    let Some(Overlay::Models(st)) = &app.overlay else {
        panic!("picker closed");
    };
    assert!(st.loading);
    reply(&mut app, listing());
    let Some(Overlay::Models(st)) = &app.overlay else {
        panic!("picker closed");
    };
    assert!(!st.loading);
    assert_eq!(st.filter, "gpt");
    // A paste goes to the filter too.
    app.handle_paste("-4o-mini");
    press(&mut app, key(KeyCode::Enter));
    assert_eq!(
        ops(&mut app),
        vec![Op::SetModel {
            model: "gpt-4o-mini".into()
        }]
    );
}

#[test]
fn help_lists_the_pickers_keys() {
    let app = app();
    let rows = app.keymap.help_rows();
    assert!(
        rows.iter()
            .any(|r| r.context == crate::keys::Context::Models && r.keys == "Enter"),
        "the picker's keys are in the one keymap"
    );
}
