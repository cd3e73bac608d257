use super::*;
use crate::pricing::PriceTable;

fn config(session: Option<f64>, day: Option<f64>, month: Option<f64>) -> BudgetConfig {
    BudgetConfig {
        session_usd: session,
        day_usd: day,
        month_usd: month,
        warn_at: 0.8,
        ..BudgetConfig::default()
    }
}

fn spent(session: f64, day: f64, month: f64) -> Spent {
    Spent {
        session,
        day,
        month,
    }
}

#[test]
fn no_limits_allow_everything() {
    let b = Budgets::new(&config(None, None, None), None, "ann").unwrap();
    assert_eq!(
        b.check(&spent(100.0, 100.0, 100.0), Some(50.0)),
        Decision::Allow
    );
    assert_eq!(b.check(&spent(0.0, 0.0, 0.0), None), Decision::Allow);
    assert_eq!(b.tightest(&Spent::default()), None);
}

#[test]
fn worst_case_of_a_call_from_the_price_table() {
    let price = PriceTable::builtin().lookup("openai", "gpt-4o");
    // 10,000 prompt tokens at $2.50/M + 4,096 output tokens at $10/M = 0.025 + 0.04096.
    let e = call_estimate(price, 10_000, 4_096).unwrap();
    assert!((e - 0.06596).abs() < 1e-12, "{e}");
    assert_eq!(call_estimate(None, 10_000, 4_096), None);
}

#[test]
fn a_call_that_would_cross_the_daily_limit_is_refused() {
    let b = Budgets::new(&config(None, Some(5.0), Some(100.0)), None, "ann").unwrap();
    let d = b.check(&spent(0.2, 4.95, 20.0), Some(0.06596));
    assert_eq!(
        d,
        Decision::Refuse {
            scope: Scope::Day,
            spent: 4.95,
            limit: 5.0,
            estimate: 0.06596
        }
    );
    assert!(d.is_refused());
    assert_eq!(
        d.message().unwrap(),
        "Budget: refused before sending. This call could cost up to $0.0660, which would cross \
         the daily limit ($4.95 of $5.00 spent). Raise it with /budget day <usd>, or switch \
         to a cheaper model."
    );
}

#[test]
fn exactly_reaching_a_limit_is_allowed_crossing_it_is_not() {
    let b = Budgets::new(&config(Some(1.0), None, None), None, "ann").unwrap();
    assert!(!b.check(&spent(0.75, 0.0, 0.0), Some(0.25)).is_refused());
    assert!(b.check(&spent(0.75, 0.0, 0.0), Some(0.250001)).is_refused());
}

#[test]
fn free_calls_pass_even_when_a_limit_is_spent() {
    let b = Budgets::new(&config(Some(1.0), None, None), None, "ann").unwrap();
    let d = b.check(&spent(1.5, 0.0, 0.0), Some(0.0));
    assert!(
        matches!(
            d,
            Decision::Warn {
                scope: Scope::Session,
                ..
            }
        ),
        "{d:?}"
    );
}

#[test]
fn the_limit_with_least_headroom_is_reported() {
    let b = Budgets::new(&config(Some(1.0), Some(2.0), Some(3.0)), None, "ann").unwrap();
    // headroom: session 0.9, day 0.1, month 0.5 -> day.
    let d = b.check(&spent(0.1, 1.9, 2.5), Some(1.0));
    assert!(
        matches!(
            d,
            Decision::Refuse {
                scope: Scope::Day,
                ..
            }
        ),
        "{d:?}"
    );
}

#[test]
fn warning_from_the_threshold() {
    let b = Budgets::new(&config(None, Some(10.0), None), None, "ann").unwrap();
    assert_eq!(b.check(&spent(0.0, 7.0, 0.0), Some(0.5)), Decision::Allow);
    let d = b.check(&spent(0.0, 7.5, 0.0), Some(0.5));
    assert_eq!(
        d,
        Decision::Warn {
            scope: Scope::Day,
            spent: 7.5,
            limit: 10.0,
            estimate: 0.5
        }
    );
    assert_eq!(
        d.message().unwrap(),
        "Budget: 75% of the daily limit used ($7.50 of $10.00), and the next call could cost \
         up to $0.5000."
    );
}

#[test]
fn unpriced_models_are_allowed_with_a_warning() {
    let b = Budgets::new(&config(None, Some(1.0), None), None, "ann").unwrap();
    let d = b.check(&spent(0.0, 5.0, 0.0), None);
    assert_eq!(d, Decision::Unpriced);
    assert!(d.message().unwrap().contains("no known price"));
}

#[test]
fn raising_a_limit_at_run_time_lets_the_call_through() {
    let mut b = Budgets::new(&config(None, Some(5.0), None), None, "ann").unwrap();
    let s = spent(0.0, 4.99, 0.0);
    assert!(b.check(&s, Some(0.05)).is_refused());
    let (scope, limit) = parse_budget_command("day 10").unwrap().unwrap();
    b.set_limit(scope, limit).unwrap();
    assert_eq!(b.limit(Scope::Day), Some(10.0));
    assert!(!b.check(&s, Some(0.05)).is_refused());
    b.set_limit(Scope::Day, None).unwrap();
    assert_eq!(b.check(&s, Some(0.05)), Decision::Allow);
    assert!(b.set_limit(Scope::Day, Some(-1.0)).is_err());
}

#[test]
fn budget_command_parsing() {
    assert_eq!(parse_budget_command("  ").unwrap(), None);
    assert_eq!(
        parse_budget_command("session $0.5").unwrap(),
        Some((Scope::Session, Some(0.5)))
    );
    assert_eq!(
        parse_budget_command("month off").unwrap(),
        Some((Scope::Month, None))
    );
    assert!(
        parse_budget_command("week 3")
            .unwrap_err()
            .contains("session, day or month")
    );
    assert!(parse_budget_command("day").unwrap_err().contains("usage"));
    assert!(
        parse_budget_command("day lots")
            .unwrap_err()
            .contains("not a dollar amount")
    );
    assert!(parse_budget_command("day -2").is_err());
}

#[test]
fn profiles_override_field_by_field() {
    let base = config(Some(1.0), Some(5.0), None);
    let profile = BudgetProfile {
        day_usd: Some(20.0),
        warn_at: Some(0.5),
        ..BudgetProfile::default()
    };
    let b = Budgets::new(&base, Some(&profile), "bob").unwrap();
    assert_eq!(b.user(), "bob");
    assert_eq!(b.limit(Scope::Session), Some(1.0));
    assert_eq!(b.limit(Scope::Day), Some(20.0));
    assert_eq!(b.limit(Scope::Month), None);
    assert!(matches!(
        b.check(&spent(0.0, 9.0, 0.0), Some(1.0)),
        Decision::Warn { .. }
    ));
    assert_eq!(
        b.summary(&spent(0.25, 9.0, 30.0)),
        "Budget for bob: session $0.2500 / $1.00, day $9.00 / $20.00, month $30.00 / no limit \
         (warn at 50%)"
    );
}

#[test]
fn invalid_settings_are_explained() {
    let mut c = config(None, Some(-5.0), None);
    assert!(
        Budgets::new(&c, None, "a")
            .unwrap_err()
            .contains("day budget")
    );
    c.day_usd = None;
    c.warn_at = 1.5;
    assert!(Budgets::new(&c, None, "a").unwrap_err().contains("warn_at"));
}

#[test]
fn tightest_limit_for_the_meter() {
    let b = Budgets::new(&config(Some(1.0), Some(10.0), None), None, "a").unwrap();
    assert_eq!(b.tightest(&spent(0.5, 9.0, 0.0)), Some((9.0, 10.0)));
    assert_eq!(b.tightest(&spent(0.95, 9.0, 0.0)), Some((0.95, 1.0)));
}

#[test]
fn user_defaults_to_the_configured_name_then_the_os_user() {
    assert_eq!(current_user(" carol "), "carol");
    assert!(!current_user("").is_empty());
}

#[test]
fn preflight_refuses_a_call_over_the_daily_limit_before_it_is_sent() {
    use crate::provider::ChatRequest;
    use llm_repl_protocol::Message;

    let table = PriceTable::builtin();
    let budgets = Budgets::new(&config(None, Some(1.0), None), None, "ann").unwrap();
    let request = ChatRequest {
        model: "gpt-4o".into(),
        messages: vec![Message::user("hello world")],
        tools: vec![],
        max_tokens: Some(10_000),
        temperature: None,
        prompt_tokens: None,
    };
    // 9 prompt tokens * $2.50/M + 10,000 output * $10/M = 0.0000225 + 0.1.
    let p = preflight(table, &budgets, &spent(0.0, 0.95, 0.95), "openai", &request);
    assert_eq!((p.prompt_tokens, p.max_output), (9, 10_000));
    assert!((p.estimate.unwrap() - 0.1000225).abs() < 1e-12);
    assert!(p.decision.is_refused());
    let ok = preflight(table, &budgets, &spent(0.0, 0.5, 0.5), "openai", &request);
    assert_eq!(ok.decision, Decision::Allow);
    // No max_tokens: the default worst case.
    let mut open = request.clone();
    open.max_tokens = None;
    assert_eq!(
        preflight(table, &budgets, &Spent::default(), "openai", &open).max_output,
        4096
    );
    // Unpriced model: allowed with a warning.
    open.model = "mystery-1".into();
    let u = preflight(table, &budgets, &spent(0.0, 5.0, 5.0), "openai", &open);
    assert_eq!((u.estimate, u.decision), (None, Decision::Unpriced));
}

#[test]
fn profiles_parse_from_toml() {
    let p: std::collections::BTreeMap<String, BudgetProfile> =
        toml::from_str("[bob]\nday_usd = 2.5\n[ann]\nmonth_usd = 40\nwarn_at = 0.9\n").unwrap();
    assert_eq!(p["bob"].day_usd, Some(2.5));
    assert_eq!(p["ann"].month_usd, Some(40.0));
    assert!(
        toml::from_str::<BudgetProfile>("daily = 1").is_err(),
        "unknown keys are errors"
    );
}
