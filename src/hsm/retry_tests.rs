use super::*;

#[test]
fn backoff_doubles_with_jitter_and_is_capped() {
    let p = RetryPolicy {
        max_attempts: 10,
        base_delay: Duration::from_millis(400),
        max_delay: Duration::from_secs(3),
    };
    assert_eq!(p.delay(1, None, 0.0), Duration::from_millis(200));
    assert_eq!(p.delay(1, None, 1.0), Duration::from_millis(400));
    assert_eq!(p.delay(2, None, 0.0), Duration::from_millis(400));
    assert_eq!(p.delay(3, None, 0.5), Duration::from_millis(1200));
    assert_eq!(p.delay(9, None, 1.0), Duration::from_secs(3));
    assert_eq!(p.delay(60, None, 0.0), Duration::from_millis(1500));
}

#[test]
fn retry_after_wins_but_is_capped() {
    let p = RetryPolicy::default();
    assert_eq!(
        p.delay(1, Some(Duration::from_secs(2)), 0.9),
        Duration::from_secs(2)
    );
    assert_eq!(
        p.delay(1, Some(Duration::from_secs(3600)), 0.0),
        p.max_delay
    );
    assert_eq!(parse_retry_after(" 7 "), Some(Duration::from_secs(7)));
    assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
}

#[test]
fn posts_are_retried_only_when_throttled() {
    for status in [408, 429, 500, 502, 503, 504] {
        assert!(retryable_status(status, Idempotency::Repeatable));
    }
    for status in [400, 401, 403, 404, 409, 501] {
        assert!(!retryable_status(status, Idempotency::Repeatable));
    }
    assert!(retryable_status(429, Idempotency::Once));
    for status in [500, 502, 503, 504] {
        assert!(!retryable_status(status, Idempotency::Once));
    }
}

#[test]
fn jitter_is_in_the_unit_interval() {
    for _ in 0..1000 {
        let u = jitter_unit();
        assert!((0.0..1.0).contains(&u));
    }
}
