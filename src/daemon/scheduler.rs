//! Scheduling decisions, as pure functions of `now`: when a feed is due, when to poll it next
//! after a success or a failure, and when to check an article's page again. The schedule
//! itself lives in the database (`feeds.next_poll_at`, `pages.next_check_at`), so a restart
//! resumes it instead of polling everything at once.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

/// Fraction of the interval by which a poll is moved earlier or later at random, so feeds
/// added together do not stay in lockstep and hosts see no thundering herd.
pub const JITTER: f64 = 0.10;

/// The longest wait after failures: a broken feed is never given up on, only slowed down.
pub const MAX_BACKOFF: Duration = Duration::from_secs(12 * 3600);

/// Whether a feed polled every `interval`, whose next poll is `next`, is due at `now`. A
/// feed never polled is due; so is one whose next poll is further ahead than the schedule
/// ever sets it ([`horizon`]): the clock was moved back while storywatch was not watching it,
/// and waiting for that time would stall the feed.
pub fn is_due(next: Option<DateTime<Utc>>, now: DateTime<Utc>, interval: Duration) -> bool {
    next.is_none_or(|next| next <= now || next - now > horizon(interval))
}

/// The furthest ahead a poll is ever scheduled: the longest backoff (or the interval, if
/// longer) with its jitter, and a minute's slack.
pub fn horizon(interval: Duration) -> TimeDelta {
    jittered(MAX_BACKOFF.max(interval), 1.0) + TimeDelta::minutes(1)
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
    // A longer `Retry-After` is capped like the backoff: the schedule never looks further
    // ahead than its horizon.
    let cap = MAX_BACKOFF.max(interval);
    let floor = delay_delta(retry_after.unwrap_or(Duration::ZERO).min(cap));
    now + jittered(backoff, jitter).max(floor)
}

fn jittered(base: Duration, jitter: f64) -> TimeDelta {
    let factor = 1.0 + JITTER * jitter.clamp(-1.0, 1.0);
    delay_delta(base.mul_f64(factor))
}

fn delay_delta(delay: Duration) -> TimeDelta {
    TimeDelta::from_std(delay).unwrap_or(TimeDelta::MAX)
}

/// The first wait after a page check fails; doubled for each failure after it.
pub const PAGE_RETRY: Duration = Duration::from_secs(15 * 60);

/// Failures in a row after which a page whose schedule is over is given up on.
pub const PAGE_GIVE_UP_AFTER: u32 = 5;

/// The next check of a page whose schedule started at `from` (its article first seen, or its
/// text last changed), after a check at `now`: the first of the `recheck` ages since `from`
/// that is still ahead. Steps missed while storywatch was not running are not made up one by
/// one. `None` once the last age is past: the page is not checked again.
pub fn next_page_check(
    from: DateTime<Utc>,
    recheck: &[Duration],
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    recheck
        .iter()
        .map(|age| from + delay_delta(*age))
        .find(|at| *at > now)
}

/// The next check of a page after its `failures`-th failure in a row: backed off as a
/// feed is from [`PAGE_RETRY`], never sooner than the server's `Retry-After`, and never once
/// the schedule is over and the page has failed [`PAGE_GIVE_UP_AFTER`] times.
pub fn next_page_retry(
    from: DateTime<Utc>,
    recheck: &[Duration],
    now: DateTime<Utc>,
    failures: u32,
    retry_after: Option<Duration>,
) -> Option<DateTime<Utc>> {
    let over = next_page_check(from, recheck, now).is_none();
    if over && failures >= PAGE_GIVE_UP_AFTER {
        return None;
    }
    Some(next_after_failure(
        now,
        PAGE_RETRY,
        failures,
        retry_after,
        sample_jitter(),
    ))
}

/// Watches the wall clock against the monotonic one, to notice the wall clock being moved
/// (by hand, or by NTP correcting a large error) while the daemon runs. The schedule is kept
/// in wall-clock time, so a clock moved back a day would stall every feed for a day; moved
/// forward, every feed is due at once, which is one poll each, not a storm.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    wall: DateTime<Utc>,
    mono: std::time::Instant,
}

/// Differences between the two clocks smaller than this are drift and scheduling noise.
const CLOCK_SLACK: TimeDelta = TimeDelta::seconds(10);

impl Clock {
    pub fn new(wall: DateTime<Utc>, mono: std::time::Instant) -> Clock {
        Clock { wall, mono }
    }

    /// Takes a new reading; returns how far the wall clock moved back since the last one,
    /// beyond what the monotonic clock says has passed.
    pub fn moved_back(
        &mut self,
        wall: DateTime<Utc>,
        mono: std::time::Instant,
    ) -> Option<TimeDelta> {
        let passed = delay_delta(mono.saturating_duration_since(self.mono));
        let skew = (wall - self.wall) - passed;
        *self = Clock { wall, mono };
        (skew < -CLOCK_SLACK).then(|| -skew)
    }
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
    const SEC: Duration = Duration::from_secs(1);

    #[test]
    fn due_when_never_polled_or_time_has_come_or_beyond_the_horizon() {
        let now = at("2026-11-28T04:00:00Z");
        let cases = [
            ("never_polled", None, true),
            ("past", Some(at("2026-11-28T03:59:00Z")), true),
            ("exactly_now", Some(now), true),
            ("future", Some(at("2026-11-28T04:01:00Z")), false),
            ("longest_backoff", Some(at("2026-11-28T17:12:00Z")), false),
            // Set before the clock was moved back a day.
            ("a_day_ahead", Some(at("2026-11-29T04:10:00Z")), true),
        ];
        for (name, next, due) in cases {
            assert_eq!(is_due(next, now, 15 * MIN), due, "{name}");
        }
        let daily = Duration::from_secs(24 * 3600);
        assert!(!is_due(Some(at("2026-11-29T04:10:00Z")), now, daily));
    }

    #[test]
    fn the_clock_moving_back_is_noticed_and_drift_is_not() {
        let start = std::time::Instant::now();
        let wall = at("2026-11-28T04:00:00Z");
        let second = Duration::from_secs(1);
        let cases = [
            ("steady", 30, 30, None),
            ("drift", 30, 28, None),
            ("forward_a_day", 30, 30 + 86_400, None),
            ("back_a_day", 30, 30 - 86_400, Some(86_400)),
            ("back_a_minute", 30, -30, Some(60)),
        ];
        for (name, mono_s, wall_s, back) in cases {
            let mut clock = Clock::new(wall, start);
            let got = clock.moved_back(wall + TimeDelta::seconds(wall_s), start + second * mono_s);
            assert_eq!(got, back.map(TimeDelta::seconds), "{name}");
        }
    }

    #[test]
    fn no_schedule_is_set_beyond_the_horizon() {
        let now = at("2026-11-28T04:00:00Z");
        let week = Some(Duration::from_secs(7 * 24 * 3600));
        let next = next_after_failure(now, 15 * MIN, 1, week, 1.0);
        assert!(next - now <= horizon(15 * MIN), "{next}");
        assert!(!is_due(Some(next), now, 15 * MIN));
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
    fn a_page_is_checked_at_each_age_then_no_more() {
        let from = at("2026-11-28T04:00:00Z");
        let recheck = [15 * MIN, 60 * MIN, 24 * 60 * MIN];
        let cases = [
            (
                "just_tracked",
                "2026-11-28T04:00:00Z",
                Some("2026-11-28T04:15:00Z"),
            ),
            (
                "at_the_first_age",
                "2026-11-28T04:15:00Z",
                Some("2026-11-28T05:00:00Z"),
            ),
            // Down for hours: the missed steps are not made up one by one.
            (
                "after_a_gap",
                "2026-11-28T09:00:00Z",
                Some("2026-11-29T04:00:00Z"),
            ),
            ("past_the_last", "2026-11-29T04:00:00Z", None),
        ];
        for (name, now, expected) in cases {
            assert_eq!(
                next_page_check(from, &recheck, at(now)),
                expected.map(at),
                "{name}"
            );
        }
        assert_eq!(next_page_check(from, &[], from), None, "no_recheck");
    }

    #[test]
    fn a_failing_page_backs_off_and_is_given_up_once_its_schedule_is_over() {
        let from = at("2026-11-28T04:00:00Z");
        let recheck = [15 * MIN, 60 * MIN];
        let during = at("2026-11-28T04:20:00Z");
        let next = next_page_retry(from, &recheck, during, 9, None).expect("retried");
        assert!(next - during >= TimeDelta::hours(10), "{next}");
        let after = at("2026-11-30T04:00:00Z");
        assert!(next_page_retry(from, &recheck, after, 1, None).is_some());
        assert_eq!(
            next_page_retry(from, &recheck, after, PAGE_GIVE_UP_AFTER, None),
            None
        );
        let asked = next_page_retry(from, &recheck, during, 1, Some(3600 * SEC)).expect("retried");
        assert!(asked - during >= TimeDelta::hours(1), "{asked}");
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
