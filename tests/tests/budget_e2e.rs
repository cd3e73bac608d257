//! Token economics through the real binary: a call whose worst case would cross the day's budget
//! is refused before anything reaches the provider (the fake server's log stays empty), with the
//! notice the user sees and exit code 4; and a priced model's scripted usage becomes exact
//! dollars on the Usage event and in the store's session totals and day ledger.

use std::process::Output;

use llm_repl_e2e::fake::{BackgroundServer, FakeServer, Reply, Scripted};
use llm_repl_e2e::home::TestHome;
use llm_repl_protocol::{SessionInfo, Usage};
use llm_repl_store::{Store, now_ms};
use serde_json::Value;

/// `fake-model` at $2.50 in / $1.25 cached / $10.00 out per million tokens.
const PRICED: &str = "[[pricing.models]]\nprovider = \"fake\"\nmodel = \"fake-model\"\n\
                      input = 2.5\ncached_input = 1.25\noutput = 10.0\ncontext_window = 128000\n";

fn events(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| match serde_json::from_str(l) {
            Ok(v) => v,
            Err(e) => panic!("not JSON ({e}): {l}"),
        })
        .collect()
}

fn exec(home: &TestHome, prompt: &str) -> (Output, Vec<Value>) {
    let out = match home.command().args(["exec", "--json", prompt]).output() {
        Ok(out) => out,
        Err(e) => panic!("cannot run llm-repl: {e}"),
    };
    let ev = events(&out);
    (out, ev)
}

/// Writes an earlier session that spent `usd` today.
fn spent_today(home: &TestHome, usd: f64) {
    let store = match Store::open(&home.data_dir()) {
        Ok(s) => s,
        Err(e) => panic!("cannot open the store: {e}"),
    };
    let info = SessionInfo {
        id: "earlier-session".into(),
        title: "earlier".into(),
        provider: "fake".into(),
        model: "fake-model".into(),
        mock: false,
        context_window: None,
    };
    let usage = Usage {
        input: 100_000,
        output: 50_000,
        ..Usage::default()
    };
    let written = store.create_session(&info).and_then(|_| {
        store.record_usage(&info.id, "fake-model", "fake", &usage, Some(usd), now_ms())
    });
    if let Err(e) = written {
        panic!("cannot write the earlier usage: {e}");
    }
}

fn server(script: Vec<Scripted>) -> BackgroundServer {
    FakeServer::spawn_background(script)
}

#[test]
fn call_that_would_cross_the_day_budget_is_refused_before_any_request() {
    let server = server(vec![Reply::text("must never be sent").into()]);
    let home = TestHome::new(
        &server.base_url(),
        &format!("[budget]\nday_usd = 1.0\n{PRICED}"),
    );
    // $0.98 of $1.00 spent today; the next call's worst case (4096 output tokens at $10/M alone
    // is $0.04) would cross it.
    spent_today(&home, 0.98);
    let (out, ev) = exec(&home, "hello");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(
        server.requests().is_empty(),
        "a request reached the server: {:?}",
        server
            .requests()
            .iter()
            .map(|r| r.path.clone())
            .collect::<Vec<_>>()
    );
    let finished = ev.iter().find(|e| e["event"] == "turn_finished").unwrap();
    assert_eq!(finished["reason"], "budget");
    let notice = ev
        .iter()
        .find(|e| e["event"] == "notice" && e["level"] == "error")
        .unwrap_or_else(|| panic!("no error notice: {ev:?}"));
    let text = notice["text"].as_str().unwrap();
    assert!(text.contains("refused before sending"), "{text}");
    assert!(
        text.contains("daily limit") && text.contains("$0.98") && text.contains("$1.00"),
        "{text}"
    );
    assert!(
        !ev.iter()
            .any(|e| e["event"] == "text_delta" || e["event"] == "usage")
    );

    // The same call on a fresh day (no earlier spending) is allowed: the refusal came from the
    // ledger, not from the call alone.
    let fresh = TestHome::new(
        &server.base_url(),
        &format!("[budget]\nday_usd = 1.0\n{PRICED}"),
    );
    let (out, ev) = exec(&fresh, "hello");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(server.chat_requests().len(), 1);
    let finished = ev.iter().find(|e| e["event"] == "turn_finished").unwrap();
    assert_eq!(finished["reason"], "completed");
}

#[test]
fn scripted_usage_on_a_priced_model_gives_exact_dollars_everywhere() {
    let server = server(vec![
        Reply::empty()
            .tool_call("c1", "python", r#"{"code": "print(1)"}"#)
            .usage(1000, 500, 0)
            .into(),
        Reply::text("done").usage(3000, 200, 2000).into(),
    ]);
    let home = TestHome::new(&server.base_url(), PRICED);
    spent_today(&home, 0.25);
    let (out, ev) = exec(&home, "price me");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let usages: Vec<&Value> = ev.iter().filter(|e| e["event"] == "usage").collect();
    assert_eq!(usages.len(), 2, "{ev:?}");
    let close = |v: &Value, want: f64| {
        let got = v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"));
        assert!((got - want).abs() < 1e-12, "got {got}, want {want}");
    };
    // Call 1: 1000 in x $2.50/M + 500 out x $10/M = $0.0025 + $0.005.
    close(&usages[0]["cost"]["call_usd"], 0.0075);
    close(&usages[0]["cost"]["turn_usd"], 0.0075);
    assert_eq!(usages[0]["usage"]["input"], 1000);
    assert_eq!(usages[0]["usage"]["output"], 500);
    assert_eq!(usages[0]["usage"]["estimated"], false);
    // Call 2: 1000 uncached x $2.50/M + 2000 cached x $1.25/M + 200 out x $10/M
    //       = $0.0025 + $0.0025 + $0.002.
    close(&usages[1]["cost"]["call_usd"], 0.007);
    close(&usages[1]["cost"]["turn_usd"], 0.0145);
    close(&usages[1]["cost"]["session_usd"], 0.0145);
    close(&usages[1]["cost"]["today_usd"], 0.2645);
    assert_eq!(usages[1]["turn_usage"]["input"], 4000);
    assert_eq!(usages[1]["turn_usage"]["cached"], 2000);
    assert_eq!(usages[1]["turn_usage"]["output"], 700);

    let store = Store::open(&home.data_dir()).unwrap();
    let session = store
        .list_sessions(0, 10)
        .unwrap()
        .0
        .into_iter()
        .find(|s| s.id != "earlier-session")
        .unwrap();
    let rec = store.get_session(&session.id).unwrap().unwrap();
    assert_eq!(rec.usage.input, 4000);
    assert_eq!(rec.usage.cached, 2000);
    assert_eq!(rec.usage.output, 700);
    assert!((rec.cost_usd.unwrap() - 0.0145).abs() < 1e-12, "{rec:?}");
    assert_eq!(rec.unknown_cost_calls, 0);
    let ledger = store.session_usage(&session.id).unwrap();
    let costs: Vec<f64> = ledger.iter().map(|r| r.cost_usd.unwrap()).collect();
    assert_eq!(costs.len(), 2);
    assert!(
        (costs[0] - 0.0075).abs() < 1e-12 && (costs[1] - 0.007).abs() < 1e-12,
        "{costs:?}"
    );
    assert!(
        ledger
            .iter()
            .all(|r| r.provider == "fake" && r.model == "fake-model")
    );
    let today = store.usage_for_day(store.today()).unwrap();
    assert_eq!(today.calls, 3);
    assert!((today.cost_usd - 0.2645).abs() < 1e-12, "{today:?}");
}
