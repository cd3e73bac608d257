use super::*;

fn row(day: &str, session: (&str, &str), pm: (&str, &str), io: (u64, u64, u64)) -> UsageRow {
    let usage = Usage {
        input: io.0,
        cached: io.1,
        output: io.2,
        reasoning: 0,
        estimated: pm.0 == "ollama",
    };
    UsageRow {
        day: day.into(),
        session_id: session.0.into(),
        session_title: session.1.into(),
        provider: pm.0.into(),
        model: pm.1.into(),
        cost_usd: PriceTable::builtin().cost(pm.0, pm.1, &usage),
        usage,
    }
}

fn rows() -> Vec<UsageRow> {
    let s1 = ("s1", "Plot sales");
    let s2 = ("s2", "Fix bug");
    let s3 = ("s3", "");
    vec![
        row(
            "2026-11-20",
            s1,
            ("openai", "gpt-4o"),
            (10_000, 2_000, 1_000),
        ),
        row("2026-11-20", s1, ("openai", "gpt-4o"), (20_000, 0, 2_000)),
        row(
            "2026-11-21",
            s2,
            ("groq", "llama-3.3-70b-versatile"),
            (100_000, 0, 10_000),
        ),
        row("2026-11-21", s2, ("mystery", "model-x"), (500, 0, 50)),
        row("2026-11-22", s3, ("ollama", "llama3.2"), (4_000, 0, 400)),
    ]
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

#[test]
fn usage_to_dollars_per_call() {
    let r = rows();
    // 8,000 * 2.50 + 2,000 * 1.25 + 1,000 * 10 = 32,500 per million.
    assert!(close(r[0].cost_usd.unwrap(), 0.0325));
    assert!(close(r[1].cost_usd.unwrap(), 0.07));
    // 100,000 * 0.59 + 10,000 * 0.79 = 66,900 per million.
    assert!(close(r[2].cost_usd.unwrap(), 0.0669));
    assert_eq!(r[3].cost_usd, None);
    assert_eq!(r[4].cost_usd, Some(0.0));
}

#[test]
fn totals_keep_unpriced_calls_apart() {
    let t = totals(&rows());
    assert_eq!(t.calls, 5);
    assert_eq!(
        (t.usage.input, t.usage.cached, t.usage.output),
        (134_500, 2_000, 13_450)
    );
    assert!(close(t.cost_usd, 0.1694), "{}", t.cost_usd);
    assert_eq!(t.unpriced_calls, 1);
    assert!(t.usage.estimated);
    assert_eq!(t.cost_text(), "$0.1694 + 1 unpriced");
}

#[test]
fn sums_per_day_model_provider_and_session() {
    let r = rows();
    let days = group(&r, GroupBy::Day);
    let keys: Vec<&str> = days.iter().map(|g| g.key.as_str()).collect();
    assert_eq!(keys, ["2026-11-20", "2026-11-21", "2026-11-22"]);
    assert!(close(days[0].cost_usd, 0.1025));
    assert_eq!(days[0].usage.total(), 33_000);
    assert!(close(days[1].cost_usd, 0.0669));
    assert_eq!(days[1].unpriced_calls, 1);
    assert_eq!(days[2].cost_text(), "$0.00");

    let models = group(&r, GroupBy::Model);
    let keys: Vec<&str> = models.iter().map(|g| g.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "openai:gpt-4o",
            "groq:llama-3.3-70b-versatile",
            "mystery:model-x",
            "ollama:llama3.2"
        ]
    );
    assert_eq!(models[2].cost_text(), "unknown");

    let providers = group(&r, GroupBy::Provider);
    assert_eq!(providers[0].key, "openai");
    assert_eq!(providers[0].calls, 2);

    let top = top_sessions(&r, 2);
    assert_eq!(top.len(), 2);
    assert_eq!(
        (top[0].key.as_str(), top[0].label.as_str()),
        ("s1", "Plot sales")
    );
    assert!(close(top[0].cost_usd, 0.1025));
    assert_eq!(top[1].cost_text(), "$0.0669 + 1 unpriced");
    // A session without a title is labelled by its id.
    assert_eq!(group(&r, GroupBy::Session)[2].label, "s3");
}

#[test]
fn bars_in_eighths() {
    assert_eq!(bar(1.0, 1.0, 4), "████");
    assert_eq!(bar(0.5, 1.0, 4), "██");
    assert_eq!(bar(0.0669, 0.1025, 10), "██████▌");
    assert_eq!(bar(0.01, 1.0, 10), "▏");
    assert_eq!(bar(0.0, 1.0, 10), "");
    assert_eq!(bar(1.0, 0.0, 10), "");
}

#[test]
fn bar_chart_text() {
    let chart = bar_chart(&group(&rows(), GroupBy::Day), 10);
    let expected = "\
2026-11-20  ██████████    $0.1025       33,000 tok  2 calls
2026-11-21  ██████▌       $0.0669      110,550 tok  2 calls, 1 unpriced
2026-11-22                  $0.00       ~4,400 tok  1 call
";
    assert_eq!(chart, expected);
}

#[test]
fn savings_reprice_on_the_cheapest_capable_model() {
    let s = savings(&rows(), PriceTable::builtin());
    assert_eq!(s.len(), 2, "{s:?}");
    // gpt-4o (tier 3, tools): Kimi K2 on Groq, 1.00 in (no cache discount) / 3.00 out:
    // 10,000 + 3,000 + 20,000 + 6,000 = 39,000 per million.
    assert_eq!(s[0].from, "openai:gpt-4o");
    assert_eq!(s[0].to, "groq:moonshotai/kimi-k2-instruct");
    assert!(close(s[0].actual_usd, 0.1025));
    assert!(close(s[0].alternative_usd, 0.039));
    assert_eq!(
        s[0].text(),
        "openai:gpt-4o -> groq:moonshotai/kimi-k2-instruct: $0.1025 would have been $0.0390 \
         (save $0.0635, 62%)"
    );
    // llama-3.3-70b (tier 2): Llama 4 Scout, 100,000 * 0.11 + 10,000 * 0.34 = 14,400 per million.
    assert_eq!(s[1].to, "groq:meta-llama/llama-4-scout-17b-16e-instruct");
    assert!(close(s[1].alternative_usd, 0.0144));
    assert!(close(s[1].saving_usd(), 0.0525));
}

#[test]
fn no_savings_for_the_cheapest_model() {
    let r = vec![row(
        "2026-11-20",
        ("s", "t"),
        ("groq", "llama-3.1-8b-instant"),
        (1000, 0, 100),
    )];
    assert!(savings(&r, PriceTable::builtin()).is_empty());
}

#[test]
fn thousands_separators() {
    assert_eq!(thousands(0), "0");
    assert_eq!(thousands(999), "999");
    assert_eq!(thousands(1000), "1,000");
    assert_eq!(thousands(1_234_567), "1,234,567");
}

#[test]
fn full_report() {
    let text = render_report(&rows(), PriceTable::builtin(), "last 7 days", 10);
    let expected = "\
Usage, last 7 days: 5 calls, 147,950 tokens (134,500 in, 2,000 cached, 13,450 out), $0.1694 + 1 unpriced
(~ marks token counts partly estimated locally)

By day
2026-11-20  ██████████    $0.1025       33,000 tok  2 calls
2026-11-21  ██████▌       $0.0669      110,550 tok  2 calls, 1 unpriced
2026-11-22                  $0.00       ~4,400 tok  1 call

By model
openai:gpt-4o                 ██████████    $0.1025       33,000 tok  2 calls
groq:llama-3.3-70b-versatile  ██████▌       $0.0669      110,000 tok  1 call
mystery:model-x                             unknown          550 tok  1 call
ollama:llama3.2                               $0.00       ~4,400 tok  1 call

By provider
openai   ██████████    $0.1025       33,000 tok  2 calls
groq     ██████▌       $0.0669      110,000 tok  1 call
mystery                unknown          550 tok  1 call
ollama                   $0.00       ~4,400 tok  1 call

Most expensive sessions
 1.   $0.1025  Plot sales  (s1, 2 calls)
 2.   $0.0669  Fix bug     (s2, 2 calls, 1 unpriced)

Savings
openai:gpt-4o -> groq:moonshotai/kimi-k2-instruct: $0.1025 would have been $0.0390 (save $0.0635, 62%)
groq:llama-3.3-70b-versatile -> groq:meta-llama/llama-4-scout-17b-16e-instruct: $0.0669 would have been $0.0144 (save $0.0525, 78%)
(not compared, price unknown: mystery:model-x; add them under [[pricing.models]])
";
    assert_eq!(text, expected);
    assert_eq!(
        render_report(&[], PriceTable::builtin(), "last 7 days", 10),
        "No model calls in the last 7 days.\n"
    );
}

fn unknown_rows() -> Vec<UsageRow> {
    vec![
        row(
            "2026-11-20",
            ("s1", "東京の売上グラフ"),
            ("fake", "fake-model"),
            (9_000, 0, 900),
        ),
        row(
            "2026-11-20",
            ("s2", "fix 🐛 bug"),
            ("fake", "fake-model"),
            (50, 0, 5),
        ),
        row(
            "2026-11-21",
            ("s3", "plain"),
            ("mystery", "model-x"),
            (500_000, 0, 1),
        ),
    ]
}

#[test]
fn unknown_costs_are_never_ranked_as_spend() {
    let r = unknown_rows();
    assert!(r.iter().all(|r| r.cost_usd.is_none()));
    assert!(top_sessions(&r, 5).is_empty());
    let text = render_report(&r, PriceTable::builtin(), "last 7 days", 10);
    let ranked = text
        .split("Most expensive sessions\n")
        .nth(1)
        .and_then(|t| t.split("\n\n").next())
        .unwrap();
    assert_eq!(
        ranked,
        "None ranked: 3 sessions used only models without a known price (unknown cost is not \
         counted as spend)."
    );
    // Free sessions are not spend either.
    let free = vec![row("d", ("s", "t"), ("ollama", "llama3.2"), (100, 0, 10))];
    assert!(top_sessions(&free, 5).is_empty());
}

#[test]
fn savings_advice_only_from_priced_facts() {
    let text = render_report(&unknown_rows(), PriceTable::builtin(), "last 7 days", 10);
    let savings = text.split("Savings\n").nth(1).unwrap();
    assert!(!savings.contains("already the cheapest"), "{savings}");
    assert!(savings.starts_with("No advice: none of the models used has a known price."));
    assert!(
        savings.contains("price unknown: fake:fake-model, mystery:model-x"),
        "{savings}"
    );
    // A priced cheapest model next to an unknown one: the advice names only the priced one.
    let mut mixed = unknown_rows();
    mixed.push(row(
        "d",
        ("s4", "t"),
        ("groq", "llama-3.1-8b-instant"),
        (1000, 0, 100),
    ));
    let text = render_report(&mixed, PriceTable::builtin(), "last 7 days", 10);
    assert!(
        text.contains("Each priced model used is already the cheapest"),
        "{text}"
    );
    assert!(
        text.contains("(3 sessions with unknown cost not ranked)"),
        "unknown sessions noted: {text}"
    );
}

#[test]
fn columns_align_by_display_width_with_cjk_and_emoji_titles() {
    let mut r = unknown_rows();
    // Price them so they are ranked.
    for row in &mut r {
        row.cost_usd = Some(0.01 * (row.usage.input as f64 / 1000.0).max(0.1));
    }
    let chart = bar_chart(&group(&r, GroupBy::Session), 6);
    let columns: Vec<usize> = chart
        .lines()
        .map(|l| display_width(&l[..l.find(" tok").unwrap()]))
        .collect();
    assert!(columns.windows(2).all(|w| w[0] == w[1]), "{chart}");
    let text = render_report(&r, PriceTable::builtin(), "last 7 days", 10);
    let sessions: Vec<&str> = text
        .split("Most expensive sessions\n")
        .nth(1)
        .unwrap()
        .lines()
        .take(3)
        .collect();
    let at: Vec<usize> = sessions
        .iter()
        .map(|l| display_width(&l[..l.find("(s").unwrap()]))
        .collect();
    assert!(at.windows(2).all(|w| w[0] == w[1]), "{sessions:#?}");
    assert_eq!(display_width("東京"), 4);
    assert_eq!(display_width("👩‍💻"), 2);
    assert_eq!(pad_display("東京の売上", 7), "東京の…");
    assert_eq!(pad_display("東京の売上", 8), "東京の… ");
}
