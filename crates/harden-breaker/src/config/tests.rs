use std::time::Duration;

use super::*;

fn err(b: BreakerBuilder) -> String {
    b.build().unwrap_err().to_string()
}

#[test]
fn defaults_build() {
    let b = Breaker::builder("db").build().unwrap();
    assert_eq!(b.name(), "db");
    assert_eq!(b.timeout(), Some(DEFAULT_TIMEOUT));
}

#[test]
fn bad_settings_are_errors_quoting_the_value() {
    let cases: Vec<(BreakerBuilder, &str)> = vec![
        (Breaker::builder(""), "is empty"),
        (Breaker::builder("a\nb"), "control characters"),
        (Breaker::builder("x".repeat(129)), "longer than 128"),
        (Breaker::builder("b").error_threshold_percent(101), "101%"),
        (
            Breaker::builder("b").error_threshold_percent(100),
            "can never be exceeded",
        ),
        (
            Breaker::builder("b")
                .comparison(Comparison::AtOrAbove)
                .error_threshold_percent(0),
            "every window",
        ),
        (
            Breaker::builder("b").reset_timeout(Duration::ZERO),
            "reset timeout of 0ns",
        ),
        (
            Breaker::builder("b").timeout(Duration::ZERO),
            "timeout of 0ns",
        ),
        (
            Breaker::builder("b").half_open_calls(0),
            "half-open calls of 0",
        ),
        (Breaker::builder("b").capacity(0), "capacity of 0"),
        (Breaker::builder("b").count_window(0), "window size of 0"),
        (
            Breaker::builder("b").count_window(10).minimum_calls(11),
            "minimum calls of 11",
        ),
        (
            Breaker::builder("b").rolling_window(Duration::from_millis(5), 10),
            "shorter than 1 ms",
        ),
        (
            Breaker::builder("b").rolling_window(Duration::from_secs(1), 0),
            "buckets of 0",
        ),
        (
            Breaker::builder("b").slow_calls(Duration::from_secs(10), 50),
            "not shorter than the timeout",
        ),
        (
            Breaker::builder("b").slow_calls(Duration::from_secs(1), 100),
            "slow-call rate threshold of 100%",
        ),
        (
            Breaker::builder("b").max_half_open_wait(Duration::ZERO),
            "maximum half-open wait",
        ),
        (Breaker::builder("b").warm_up(Duration::ZERO), "warm-up"),
        (
            Breaker::builder("b").cancelled_calls(Outcome::Success),
            "`success`",
        ),
    ];
    for (builder, needle) in cases {
        let msg = err(builder);
        assert!(msg.contains(needle), "{msg:?} lacks {needle:?}");
    }
}

#[test]
fn a_slow_threshold_needs_no_timeout_when_calls_are_untimed() {
    Breaker::builder("b")
        .no_timeout()
        .slow_calls(Duration::from_secs(60), 80)
        .build()
        .unwrap();
}

#[test]
fn the_builder_debug_shows_no_listener_internals() {
    let b = Breaker::builder("dbg").on_event(|_: &crate::Event<'_>| {});
    let s = format!("{b:?}");
    assert!(s.contains("dbg") && s.contains("listener: true"), "{s}");
}

#[cfg(feature = "serde")]
#[test]
fn a_configuration_file_converts_into_a_breaker() {
    let c: BreakerConfig = toml::from_str(
        r#"
        name = "orders-db"
        error_threshold_percent = 40
        comparison = "at_or_above"
        minimum_calls = 8
        window = { type = "count", size = 50 }
        reset_timeout = "15s"
        half_open_calls = 3
        max_half_open_wait = "1m"
        timeout = "3s"
        slow_calls = { threshold = "2s", rate_percent = 80 }
        warm_up = "10s"
        capacity = 100
        cancelled_calls = "failure"
        "#,
    )
    .unwrap();
    let b = Breaker::try_from(c).unwrap();
    assert_eq!(b.name(), "orders-db");
    assert_eq!(b.timeout(), Some(Duration::from_secs(3)));

    let off: BreakerConfig = toml::from_str("timeout = \"off\"").unwrap();
    assert_eq!(Breaker::try_from(off).unwrap().timeout(), None);
}

#[cfg(feature = "serde")]
#[test]
fn bad_configuration_files_are_refused_quoting_the_value() {
    let e = toml::from_str::<BreakerConfig>("reset_timout = \"1s\"").unwrap_err();
    assert!(e.to_string().contains("reset_timout"), "{e}");
    let e = toml::from_str::<BreakerConfig>("reset_timeout = \"30\"").unwrap_err();
    assert!(e.to_string().contains("`30`"), "{e}");
    let c: BreakerConfig = toml::from_str("timeout = \"soon\"").unwrap();
    let e = Breaker::try_from(c).unwrap_err();
    assert!(e.to_string().contains("`soon`"), "{e}");
    let c: BreakerConfig = toml::from_str("error_threshold_percent = 100").unwrap();
    let e = BreakerBuilder::try_from(c).unwrap_err();
    assert!(e.to_string().contains("100%"), "{e}");
}
