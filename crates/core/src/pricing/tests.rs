use super::*;

fn usage(input: u64, cached: u64, output: u64) -> Usage {
    Usage {
        input,
        output,
        cached,
        reasoning: 0,
        estimated: false,
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

#[test]
fn builtin_table_parses_and_every_entry_has_source_and_date() {
    let t = PriceTable::builtin();
    assert!(t.entries().count() >= 25);
    for e in t.entries() {
        assert!(
            e.source.starts_with("https://"),
            "{}: {}",
            e.model,
            e.source
        );
        assert_eq!(e.date.len(), 10, "{}", e.model);
        assert!(e.context_window.is_some(), "{}", e.model);
    }
}

#[test]
fn cost_bills_cached_input_at_the_cached_price() {
    let t = PriceTable::builtin();
    // gpt-4o-mini: 800 * 0.15 + 200 * 0.075 + 500 * 0.60 = 120 + 15 + 300 = 435 per 1M.
    let c = t
        .cost("openai", "gpt-4o-mini", &usage(1000, 200, 500))
        .unwrap();
    assert!(close(c, 0.000435), "{c}");
    // gpt-4o: 1M input of which 400k cached, 100k output: 1.5 + 0.5 + 1.0.
    let c = t
        .cost("openai", "gpt-4o", &usage(1_000_000, 400_000, 100_000))
        .unwrap();
    assert!(close(c, 3.0), "{c}");
}

#[test]
fn without_a_cache_discount_cached_tokens_cost_full_input() {
    let t = PriceTable::builtin();
    // llama-3.3-70b on Groq: 0.59 in, 0.79 out; cached tokens at the input price.
    let c = t
        .cost(
            "groq",
            "llama-3.3-70b-versatile",
            &usage(2_000_000, 1_000_000, 1_000_000),
        )
        .unwrap();
    assert!(close(c, 2.0 * 0.59 + 0.79), "{c}");
}

#[test]
fn unknown_model_has_unknown_cost_never_zero() {
    let t = PriceTable::builtin();
    assert_eq!(t.cost("openai", "gpt-9-ultra", &usage(10, 0, 10)), None);
    assert_eq!(t.cost("someproxy", "gpt-4o", &usage(10, 0, 10)), None);
    assert_eq!(t.context_window("groq", "nope"), None);
    assert_eq!(format_cost(None), "unknown");
}

#[test]
fn local_providers_and_free_variants_cost_zero() {
    let t = PriceTable::builtin();
    assert_eq!(
        t.cost("ollama", "llama3.2:3b", &usage(5000, 0, 900)),
        Some(0.0)
    );
    assert_eq!(
        t.cost(
            "openrouter",
            "meta-llama/llama-3.3-70b-instruct:free",
            &usage(9, 0, 9)
        ),
        Some(0.0)
    );
    assert!(t.is_free_provider("ollama"));
    assert!(t.lookup("ollama", "x").unwrap().is_free());
    assert!(!t.lookup("openai", "gpt-4o").unwrap().is_free());
    assert!(!t.is_free_provider("openai"));
}

#[test]
fn model_ids_are_normalised() {
    let t = PriceTable::builtin();
    let four_o = t.lookup("openai", "gpt-4o").unwrap();
    assert_eq!(t.lookup("openai", "gpt-4o-2024-08-06"), Some(four_o));
    assert_eq!(t.lookup("openai", "GPT-4o"), Some(four_o));
    assert_eq!(t.lookup("openai", "openai/gpt-4o"), Some(four_o));
    assert_eq!(t.lookup("openai", "o3-2025-04-16").unwrap().model, "o3");
    // OpenRouter: its own entry first, then the vendor's entry.
    assert_eq!(
        t.lookup("openrouter", "openai/gpt-4o-mini")
            .unwrap()
            .provider,
        "openrouter"
    );
    assert_eq!(
        t.lookup("openrouter", "openai/gpt-4.1-nano")
            .unwrap()
            .provider,
        "openai"
    );
    // Groq's own "openai/" ids are exact entries, not OpenAI's.
    assert_eq!(t.lookup("groq", "openai/gpt-oss-20b").unwrap().input, 0.10);
    assert_eq!(
        t.context_window("openai", "gpt-4.1-mini-2025-04-14"),
        Some(1_047_576)
    );
}

#[test]
fn date_suffixes() {
    assert_eq!(strip_date_suffix("gpt-4o-mini-2024-07-18"), "gpt-4o-mini");
    assert_eq!(
        strip_date_suffix("claude-3-5-sonnet-20241022"),
        "claude-3-5-sonnet"
    );
    assert_eq!(strip_date_suffix("gpt-4-0613"), "gpt-4");
    assert_eq!(
        strip_date_suffix("llama-3.1-8b-instant"),
        "llama-3.1-8b-instant"
    );
    assert_eq!(strip_date_suffix("qwen3-32b"), "qwen3-32b");
    assert_eq!(strip_date_suffix("2024"), "2024");
}

#[test]
fn config_overrides_and_additions_and_aliases() {
    let text = r#"
free_providers = ["box"]
aliases = { work = "openai" }
[[models]]
provider = "openai"
model = "gpt-4o"
input = 2.0
output = 8.0
[[models]]
provider = "acme"
model = "big-1"
input = 1.0
cached_input = 0.5
output = 2.0
context_window = 64000
tier = 3
"#;
    let cfg: PricingConfig = toml::from_str(text).unwrap();
    let t = PriceTable::from_config(&cfg).unwrap();
    let c = t
        .cost("openai", "gpt-4o", &usage(1_000_000, 500_000, 0))
        .unwrap();
    assert!(
        close(c, 2.0),
        "override without cached price bills cached at input: {c}"
    );
    assert_eq!(t.lookup("openai", "gpt-4o").unwrap().source, "config");
    assert!(close(
        t.cost("acme", "big-1", &usage(2_000_000, 0, 1_000_000))
            .unwrap(),
        4.0
    ));
    assert_eq!(t.context_window("acme", "big-1"), Some(64000));
    assert_eq!(t.cost("box", "anything", &usage(1, 0, 1)), Some(0.0));
    assert!(t.lookup("work", "gpt-4o-mini").is_some());
    // The builtin table is untouched.
    assert_eq!(
        PriceTable::builtin()
            .lookup("openai", "gpt-4o")
            .unwrap()
            .input,
        2.5
    );
}

#[test]
fn bad_config_entries_are_explained() {
    let cfg = PricingConfig {
        models: vec![ModelPrice {
            input: -1.0,
            ..PriceTable::builtin()
                .lookup("openai", "gpt-4o")
                .unwrap()
                .clone()
        }],
        ..PricingConfig::default()
    };
    let e = PriceTable::from_config(&cfg).unwrap_err();
    assert!(e.contains("openai:gpt-4o") && e.contains("input"), "{e}");
}

#[test]
fn worst_case_ignores_cache() {
    let p = PriceTable::builtin().lookup("openai", "gpt-4.1").unwrap();
    assert!(close(
        p.worst_case(10_000, 4_096),
        (10_000.0 * 2.0 + 4_096.0 * 8.0) / 1e6
    ));
}

#[test]
fn dollars_format() {
    assert_eq!(format_usd(0.0), "$0.00");
    assert_eq!(format_usd(0.00001), "<$0.0001");
    assert_eq!(format_usd(0.000435), "$0.0004");
    assert_eq!(format_usd(0.1234), "$0.1234");
    assert_eq!(format_usd(12.345), "$12.35");
}

#[test]
fn tallies_never_understate() {
    let mut t = CostTally::default();
    t.add(Some(0.25));
    t.add(Some(0.5));
    assert_eq!(t.usd(), Some(0.75));
    assert_eq!(t.text(), "$0.7500");
    t.add(None);
    assert_eq!(t.usd(), None);
    assert_eq!(t.text(), ">= $0.7500 (1 call unpriced)");
    let mut u = CostTally::default();
    u.add(None);
    assert_eq!(u.text(), "unknown");
}

#[test]
fn every_table_model_has_a_window_under_any_provider_name() {
    let t = PriceTable::builtin();
    for e in t.entries() {
        assert_eq!(
            t.context_window(&e.provider, &e.model),
            e.context_window,
            "{}:{}",
            e.provider,
            e.model
        );
        // A proxy entry (`[providers.work]`) serving the same model, with or without a date
        // suffix or a vendor prefix: the window is known, the price is not.
        let bare = e.model.rsplit('/').next().unwrap_or(&e.model);
        assert!(t.context_window("work", &e.model).is_some(), "{}", e.model);
        assert!(
            t.context_window("work", &format!("{bare}-2025-01-01"))
                .is_some(),
            "{bare}"
        );
    }
    assert_eq!(t.context_window("work", "gpt-4o"), Some(128_000));
    assert!(
        t.lookup("work", "gpt-4o").is_none(),
        "the price does not follow"
    );
    assert_eq!(t.context_window("vllm", "no-such-model"), None);
}
