//! Cheapest-provider routing and the response cache through the real binary.
//!
//! Routing: three fake servers as three provider entries with different prices behind
//! `[routes.auto]`; the cheapest one fails, so the next cheapest (healthy) one answers, the
//! dearest is never asked, and the choice with its reason is a notice in the `--json` events.
//!
//! Caching: with `[store] response_cache = true` and `temperature = 0`, a second identical
//! `exec` is answered from the store: the fake server sees one request, and the replayed usage
//! costs nothing.

use std::process::Output;

use llm_repl_e2e::fake::{BackgroundServer, FakeServer, Reply, Scripted};
use llm_repl_e2e::home::TestHome;
use serde_json::Value;

fn events(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| match serde_json::from_str(l) {
            Ok(v) => v,
            Err(e) => panic!("not JSON ({e}): {l}"),
        })
        .collect()
}

/// Runs `llm-repl [provider_args] exec --json prompt` in `home`; asserts it succeeded.
fn exec(home: &TestHome, provider_args: &[&str], prompt: &str) -> Vec<Value> {
    let out = match home
        .command()
        .args(provider_args)
        .args(["exec", "--json", prompt])
        .output()
    {
        Ok(out) => out,
        Err(e) => panic!("cannot run llm-repl: {e}"),
    };
    assert!(
        out.status.success(),
        "exit {:?}\nstderr: {}\nstdout: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    events(&out)
}

/// Replaces the home's config with `text` (the default one fixes `provider` at the top).
fn write_config(home: &TestHome, text: &str) {
    if let Err(e) = std::fs::write(home.config(), text) {
        panic!("cannot write the config: {e}");
    }
}

fn entry(name: &str, server: &BackgroundServer) -> String {
    format!(
        "[providers.{name}]\nkind = \"openai\"\nbase_url = \"{}\"\napi_key_env = \"FAKE_KEY\"\n\
         model = \"{name}-model\"\n",
        server.base_url()
    )
}

fn price(name: &str, input: f64, output: f64) -> String {
    format!(
        "[[pricing.models]]\nprovider = \"{name}\"\nmodel = \"{name}-model\"\ninput = {input}\n\
         output = {output}\ncontext_window = 128000\ntier = 2\n"
    )
}

fn notices(ev: &[Value]) -> Vec<String> {
    ev.iter()
        .filter(|e| e["event"] == "notice")
        .filter_map(|e| e["text"].as_str().map(str::to_string))
        .collect()
}

fn answer(ev: &[Value]) -> String {
    ev.iter()
        .filter(|e| e["event"] == "text_delta")
        .filter_map(|e| e["text"].as_str())
        .collect()
}

#[test]
fn route_picks_the_cheapest_healthy_candidate_and_falls_back() {
    let cheap = FakeServer::spawn_background(vec![Scripted::server_error()]);
    let mid = FakeServer::spawn_background(vec![Reply::text("from mid").usage(100, 5, 0).into()]);
    let dear = FakeServer::spawn_background(vec![Reply::text("from dear").into()]);
    let home = TestHome::new(&cheap.base_url(), "");
    write_config(
        &home,
        &format!(
            "provider = \"auto\"\n\n[reliability]\nmax_retries = 0\nmax_transient_retries = 0\n\n{}{}{}\
             [routes.auto]\ncandidates = [\"dear:dear-model\", \"cheap:cheap-model\", \
             \"mid:mid-model\"]\nmin_tier = 2\n\n{}{}{}",
            entry("cheap", &cheap),
            entry("mid", &mid),
            entry("dear", &dear),
            price("cheap", 0.1, 0.2),
            price("mid", 1.0, 2.0),
            price("dear", 10.0, 30.0),
        ),
    );
    let ev = exec(&home, &[], "route me");
    assert_eq!(answer(&ev), "from mid");
    // The cheapest was tried first (and failed), the next cheapest answered, the dearest was
    // never asked.
    let cheap_reqs = cheap.chat_requests();
    assert_eq!(cheap_reqs.len(), 1, "the cheapest is tried first");
    assert_eq!(cheap_reqs[0].body["model"], "cheap-model");
    let mid_reqs = mid.chat_requests();
    assert_eq!(mid_reqs.len(), 1);
    assert_eq!(mid_reqs[0].body["model"], "mid-model");
    assert!(dear.chat_requests().is_empty(), "the dearest got a request");

    let texts = notices(&ev);
    let route = texts
        .iter()
        .find(|t| t.contains("route -> mid:mid-model"))
        .unwrap_or_else(|| panic!("no route notice in {texts:?}"));
    assert!(route.starts_with("auto: "), "{route}");
    assert!(
        route.contains("fallback #2 after cheap:cheap-model failed"),
        "{route}"
    );
    // Priced as the candidate that served it: 100 in at $1/M + 5 out at $2/M.
    let usage = ev.iter().find(|e| e["event"] == "usage").unwrap();
    assert_eq!(usage["model"], "mid-model", "{usage}");
    let paid = usage["cost"]["call_usd"].as_f64().unwrap();
    assert!((paid - 0.00011).abs() < 1e-12, "{usage}");
    let session = ev
        .iter()
        .find(|e| e["event"] == "session_started")
        .unwrap_or_else(|| panic!("no session_started: {ev:?}"));
    assert_eq!(session["info"]["provider"], "auto");
    let finished = ev.iter().find(|e| e["event"] == "turn_finished").unwrap();
    assert_eq!(finished["reason"], "completed");

    // `--provider auto` selects the same route over a config whose provider is another one.
    let again = FakeServer::spawn_background(vec![Reply::text("cheap now").into()]);
    let home = TestHome::new(&again.base_url(), "");
    write_config(
        &home,
        &format!(
            "provider = \"cheap\"\n\n{}{}[routes.auto]\ncandidates = [\"mid:mid-model\", \
             \"cheap:cheap-model\"]\n\n{}{}",
            entry("cheap", &again),
            entry("mid", &mid),
            price("cheap", 0.1, 0.2),
            price("mid", 1.0, 2.0),
        ),
    );
    let ev = exec(&home, &["--provider", "auto"], "route me again");
    assert_eq!(answer(&ev), "cheap now");
    assert_eq!(mid.chat_requests().len(), 1, "mid was not asked again");
    let texts = notices(&ev);
    assert!(
        texts
            .iter()
            .any(|t| t.contains("route -> cheap:cheap-model: cheapest capable")),
        "{texts:?}"
    );
}

#[test]
fn second_identical_request_is_answered_from_the_store_cache_for_free() {
    let server = FakeServer::spawn_background(vec![
        Reply::text("cached answer").usage(1000, 20, 0).into(),
        Reply::text("must never be sent").into(),
    ]);
    let home = TestHome::new(&server.base_url(), "");
    write_config(
        &home,
        &format!(
            "provider = \"fake\"\ntemperature = 0.0\n\n[store]\nresponse_cache = true\n\n\
             [reliability]\nmax_retries = 0\nmax_transient_retries = 0\n\n{}{}",
            entry("fake", &server),
            price("fake", 2.0, 8.0),
        ),
    );
    let first = exec(&home, &[], "same question");
    assert_eq!(answer(&first), "cached answer");
    assert_eq!(server.chat_requests().len(), 1);
    assert_eq!(server.chat_requests()[0].body["temperature"], 0.0);
    let usage = first.iter().find(|e| e["event"] == "usage").unwrap();
    // 1000 in x $2/M + 20 out x $8/M.
    let paid = usage["cost"]["call_usd"].as_f64().unwrap();
    assert!((paid - 0.00216).abs() < 1e-12, "{usage}");

    let second = exec(&home, &[], "same question");
    assert_eq!(answer(&second), "cached answer");
    assert_eq!(
        server.chat_requests().len(),
        1,
        "the second identical request reached the server"
    );
    let usage = second.iter().find(|e| e["event"] == "usage").unwrap();
    assert_eq!(usage["usage"]["input"], 0, "{usage}");
    assert_eq!(usage["usage"]["output"], 0, "{usage}");
    assert_eq!(usage["cost"]["call_usd"].as_f64(), Some(0.0), "{usage}");
    let texts = notices(&second);
    assert!(
        texts
            .iter()
            .any(|t| t.starts_with("cached:") && t.contains("saving 1000 input")),
        "{texts:?}"
    );

    // A different question is not a hit.
    let third = exec(&home, &[], "another question");
    assert_eq!(answer(&third), "must never be sent");
    assert_eq!(server.chat_requests().len(), 2);
}
