//! When to try a request again, and how long to wait: exponential backoff with jitter,
//! `Retry-After` honoured, bounded by attempts and by the caller's deadline.
//!
//! Reads and status polls are retried on 408, 429, 5xx (500, 502, 503, 504) and on
//! connection failures. The security-domain POSTs (download, upload) are not repeated
//! blindly: a download that reached the HSM has activated it and made a security domain
//! whose only copy was in the lost answer, and an upload consumes the exchange key. They
//! are retried only when the service certainly did not act: a 429 (throttled before
//! processing) or a connection that was never established.

use std::time::Duration;

/// How a request may be repeated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Idempotency {
    /// Safe to repeat (GET, PUT, DELETE): retried on 408, 429, 5xx and connection failures.
    Repeatable,
    /// Has effects (the security-domain POSTs): retried only on 429 and connection refusal.
    Once,
}

/// Backoff settings.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// The first delay; each retry doubles it.
    pub base_delay: Duration,
    /// No delay is longer than this, `Retry-After` included.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (1 for the first retry). A `Retry-After` from
    /// the service is honoured (capped at `max_delay`); otherwise the backoff is
    /// `base * 2^(retry-1)`, capped, of which a random half is waited ("equal jitter"), so
    /// that many clients do not retry in step. `unit` is a random number in `[0, 1)`.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>, unit: f64) -> Duration {
        if let Some(after) = retry_after {
            return after.min(self.max_delay);
        }
        let exponent = retry.saturating_sub(1).min(20);
        let full = self
            .base_delay
            .saturating_mul(1u32 << exponent)
            .min(self.max_delay);
        let half = full / 2;
        half + half.mul_f64(unit.clamp(0.0, 1.0))
    }
}

/// Whether an HTTP status is worth retrying for a request of this idempotency.
pub fn retryable_status(status: u16, idempotency: Idempotency) -> bool {
    match idempotency {
        Idempotency::Repeatable => matches!(status, 408 | 429 | 500 | 502 | 503 | 504),
        Idempotency::Once => status == 429,
    }
}

/// Parses `Retry-After` in seconds (the form Azure sends). An HTTP date is not used: the
/// exponential backoff applies instead.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// A random number in `[0, 1)` for jitter.
pub fn jitter_unit() -> f64 {
    let mut bytes = [0u8; 4];
    if openssl::rand::rand_bytes(&mut bytes).is_err() {
        return 0.5;
    }
    f64::from(u32::from_le_bytes(bytes)) / (f64::from(u32::MAX) + 1.0)
}

#[cfg(test)]
#[path = "retry_tests.rs"]
mod tests;
