//! Scheduling decisions, as pure functions of `now`: when a feed is due, when to poll it next
//! after a success or a failure. The schedule itself lives in `feeds.next_poll_at`, so a
//! restart resumes it instead of polling everything at once.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

/// Fraction of the interval by which a poll is moved earlier or later at random, so feeds
/// added together do not stay in lockstep and hosts see no thundering herd.
pub const JITTER: f64 = 0.10;

/// The longest wait after failures: a broken feed is never given up on, only slowed down.
pub const MAX_BACKOFF: Duration = Duration::from_secs(12 * 3600);

/// Whether a feed whose next poll is `next` is due at `now`. A feed never polled is due.
pub fn is_due(next: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    next.is_none_or(|next| next <= now)
}

/// The next poll after a success: the interval, moved by `jitter` (a sample in -1.0..=1.0)
/// times [`JITTER`].
pub fn next_after_success(now: DateTime<Utc>, interval: Duration, jitter: f64) -> DateTime<Utc> {
    now + jittered(interval, jitter)
}

/// The next poll after the `failures`-th consecutive failure (1 for the first): the interval
/// doubled for each failure after the first, capped at [`MAX_BACKOFF`] (or the interval, if
/// that is longer), and never sooner than the server's `Retry-After`.
pub fn next_after_failure(
    now: DateTime<Utc>,
    interval: Duration,
    failures: u32,
    retry_after: Option<Duration>,
    jitter: f64,
) -> DateTime<Utc> {
    let doublings = failures.saturating_sub(1).min(16);
    let backoff = interval
        .saturating_mul(1 << doublings)
        .min(MAX_BACKOFF.max(interval));
    let floor = delay_delta(retry_after.unwrap_or(Duration::ZERO));
    now + jittered(backoff, jitter).max(floor)
}

fn jittered(base: Duration, jitter: f64) -> TimeDelta {
    let factor = 1.0 + JITTER * jitter.clamp(-1.0, 1.0);
    delay_delta(base.mul_f64(factor))
}

fn delay_delta(delay: Duration) -> TimeDelta {
    TimeDelta::from_std(delay).unwrap_or(TimeDelta::MAX)
}

/// A jitter sample in -1.0..=1.0.
pub fn sample_jitter() -> f64 {
    fastrand::f64() * 2.0 - 1.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("valid")
            .with_timezone(&Utc)
    }

    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn due_when_never_polled_or_time_has_come() {
        let now = at("2026-11-28T04:00:00Z");
        let cases = [
            ("never_polled", None, true),
            ("past", Some(at("2026-11-28T03:59:00Z")), true),
            ("exactly_now", Some(now), true),
            ("future", Some(at("2026-11-28T04:01:00Z")), false),
        ];
        for (name, next, due) in cases {
            assert_eq!(is_due(next, now), due, "{name}");
        }
    }

    #[test]
    fn success_waits_the_interval_within_jitter() {
        let now = at("2026-11-28T04:00:00Z");
        let cases = [
            ("no_jitter", 0.0, "2026-11-28T04:15:00Z"),
            ("earliest", -1.0, "2026-11-28T04:13:30Z"),
            ("latest", 1.0, "2026-11-28T04:16:30Z"),
            ("out_of_range_is_clamped", 5.0, "2026-11-28T04:16:30Z"),
        ];
        for (name, jitter, expected) in cases {
            assert_eq!(
                next_after_success(now, 15 * MIN, jitter),
                at(expected),
                "{name}"
            );
        }
    }

    #[test]
    fn failures_back_off_exponentially_and_cap() {
        let now = at("2026-11-28T04:00:00Z");
        let cases = [
            (
                "first_failure_waits_the_interval",
                1,
                None,
                "2026-11-28T04:15:00Z",
            ),
            ("second_doubles", 2, None, "2026-11-28T04:30:00Z"),
            ("fourth", 4, None, "2026-11-28T06:00:00Z"),
            ("capped_at_twelve_hours", 30, None, "2026-11-28T16:00:00Z"),
            (
                "retry_after_longer_wins",
                1,
                Some(3600),
                "2026-11-28T05:00:00Z",
            ),
            (
                "retry_after_shorter_ignored",
                2,
                Some(60),
                "2026-11-28T04:30:00Z",
            ),
        ];
        for (name, failures, retry_after, expected) in cases {
            let got = next_after_failure(
                now,
                15 * MIN,
                failures,
                retry_after.map(Duration::from_secs),
                0.0,
            );
            assert_eq!(got, at(expected), "{name}");
        }
    }

    #[test]
    fn a_long_interval_is_not_shortened_by_the_cap() {
        let now = at("2026-11-28T04:00:00Z");
        let day = Duration::from_secs(24 * 3600);
        assert_eq!(
            next_after_failure(now, day, 5, None, 0.0),
            at("2026-11-29T04:00:00Z")
        );
    }
}
