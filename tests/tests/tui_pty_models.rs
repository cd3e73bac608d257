//! The real binary in tmux against the fake server: `/model` with no name opens the picker,
//! which lists the server's models (its `GET /v1/models`, asked by the agent) and the config's
//! routes; typing filters; Enter switches; the status bar names the new model and the next
//! request to the server uses it.

use std::time::Duration;

use llm_repl_e2e::fake::{FakeServer, Reply};
use llm_repl_e2e::home::TestHome;
use llm_repl_e2e::pty::Tmux;

/// Generous for a loaded 2-core machine; every wait returns as soon as the screen matches.
const WAIT: Duration = Duration::from_secs(20);

#[test]
fn model_picker_lists_filters_and_switches_the_next_call() {
    let server = FakeServer::spawn_background(vec![Reply::text("answered-by-beta").into()]);
    server.set_models(&["fake-model", "alpha-small@8000", "beta-large@32000"]);
    let home = TestHome::new(
        &server.base_url(),
        "[routes.cheap]\ncandidates = [\"fake:fake-model\"]\n",
    );
    let command = format!(
        "{}; echo \"EXITED $?\"; exec sleep 120",
        home.shell_line(&[])
    );
    let tmux = Tmux::start(120, 36, &command);
    tmux.wait_text("idle", WAIT);

    tmux.type_text("/model");
    tmux.keys(&["Enter"]);
    let listed = tmux.wait_for("the picker with the server's list", WAIT, |s| {
        s.contains("Model · fake · current fake-model") && s.contains("beta-large")
    });
    assert!(
        listed.contains("›● fake-model"),
        "current marked and selected:\n{listed}"
    );
    assert!(listed.contains("listed · 32k"), "window shown:\n{listed}");
    assert!(listed.contains("cheap"), "the route is offered:\n{listed}");

    tmux.type_text("BETA");
    let filtered = tmux.wait_for("the filtered list", WAIT, |s| {
        s.contains("filter: BETA") && !s.contains("alpha-small")
    });
    assert!(filtered.contains("beta-large"), "{filtered}");

    tmux.keys(&["Enter"]);
    // Wait for one whole frame showing the switch: the notice, the status bar and the closed
    // picker (a capture can land between the notice's frame and the status bar's).
    let switched = tmux.wait_for("the switch on screen", WAIT, |s| {
        s.contains("model: fake-model -> beta-large (from the next call)")
            && s.contains("fake/beta-large")
            && !s.contains("filter:")
    });
    assert!(
        switched.contains("fake/beta-large"),
        "status bar:\n{switched}"
    );
    assert!(
        !switched.contains("filter:"),
        "the picker closed:\n{switched}"
    );

    tmux.type_text("PROMPT-AFTER-PICK");
    tmux.keys(&["Enter"]);
    tmux.wait_text("answered-by-beta", WAIT);
    let models: Vec<String> = server
        .chat_requests()
        .iter()
        .map(|r| r.body["model"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(models, ["beta-large"]);
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.method == "GET" && r.path == "/v1/models"),
        "the list came from the server"
    );

    tmux.keys(&["C-c"]);
    tmux.keys(&["C-c"]);
    tmux.wait_text("EXITED 0", WAIT);
}
