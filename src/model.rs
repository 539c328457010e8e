//! Plain data shared by several stages: identifiers, the normalized feed item and the small
//! enums stored in the database. Nothing here does IO.

use std::fmt;

use chrono::{DateTime, Utc};

/// Row id of a feed in the `feeds` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FeedId(pub i64);

/// Row id of an article in the `articles` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ArticleId(pub i64);

impl fmt::Display for FeedId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for ArticleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// One key an article may be known under (`url:…`, `guid:…`, `anon:…`, `title:…`).
///
/// An article keeps every key it was ever seen under, so a publisher that changes an item's
/// guid or link does not create a second story.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ArticleKey(pub String);

/// What kind of text a revision's body is. Bodies are compared only with their own kind, so a
/// short summary of a seeded full text is not taken for an edit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BodyKind {
    Seed,
    Summary,
    Content,
    Page,
}

impl BodyKind {
    /// The value stored in `revisions.body_kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            BodyKind::Seed => "seed",
            BodyKind::Summary => "summary",
            BodyKind::Content => "content",
            BodyKind::Page => "page",
        }
    }

    /// Reads a stored `revisions.body_kind`.
    pub fn parse(s: &str) -> Option<BodyKind> {
        match s {
            "seed" => Some(BodyKind::Seed),
            "summary" => Some(BodyKind::Summary),
            "content" => Some(BodyKind::Content),
            "page" => Some(BodyKind::Page),
            _ => None,
        }
    }
}

/// Whether a feed's items pass through the topic filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FilterMode {
    /// Keep an item only when the topic filter finds it relevant (the default).
    #[default]
    Topic,
    /// Keep every item: a dedicated feed such as a North Korea–Russia tag page.
    None,
}

/// One feed entry after parsing and normalization: a stable identity and comparable text.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// Identity keys, strongest first (canonical URL, then guid, then the anonymous fallback).
    /// Never empty.
    pub keys: Vec<ArticleKey>,
    /// Keys under which a seed without a URL is matched by its normalized title.
    pub title_keys: Vec<ArticleKey>,
    /// Canonical link (lower-case scheme and host, no default port, fragment or tracking
    /// parameters), when the entry has one.
    pub url: Option<String>,
    /// The feed's own guid/id, when it gave one.
    pub guid: Option<String>,
    /// Normalized plain-text title (may be empty).
    pub title: String,
    /// Normalized plain-text body (may be empty).
    pub body: String,
    pub body_kind: BodyKind,
    /// Hex SHA-256 of the comparison form of title and body: equal hashes mean no edit.
    pub content_hash: String,
    pub published_at: Option<DateTime<Utc>>,
}

/// An [`Item`] that passed the topic stage, with the terms that made it relevant.
#[derive(Debug, Clone, PartialEq)]
pub struct RelevantItem {
    pub item: Item,
    /// Configured terms found in the item, in first-match order, without duplicates.
    pub matched_terms: Vec<String>,
}

/// The host a URL is fetched from, lower case, for the per-host limits (`""` when it has none).
pub fn host_of(url: &url::Url) -> String {
    url.host_str().unwrap_or_default().to_ascii_lowercase()
}

/// Formats a timestamp the way every table stores it: ISO-8601 UTC with a `Z`, to the second.
pub fn format_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Reads `--since`: a date (`2026-11-28`, midnight UTC), an RFC 3339 time
/// (`2026-11-28T04:00:00Z`, any offset), `today` (midnight UTC), or a duration ago (`24h`,
/// `7d`, `1h 30m`).
pub fn parse_since(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("today") {
        return Ok(now.date_naive().and_time(chrono::NaiveTime::MIN).and_utc());
    }
    if let Ok(date) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(date.and_time(chrono::NaiveTime::MIN).and_utc());
    }
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(time.with_timezone(&Utc));
    }
    if let Ok(ago) = humantime::parse_duration(text) {
        return chrono::Duration::from_std(ago)
            .ok()
            .and_then(|ago| now.checked_sub_signed(ago))
            .ok_or_else(|| format!("{text:?} is too long ago"));
    }
    Err(format!(
        "{text:?} is not a date: use 2026-11-28, 2026-11-28T04:00:00Z, today, or a time ago such as 24h or 7d"
    ))
}

/// The kinds of alert: a relevant story appeared, a tracked one was edited, or its page is
/// gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertKind {
    New,
    Changed,
    Removed,
}

impl AlertKind {
    /// Every kind: what a sink gets unless it names its kinds.
    pub const ALL: [AlertKind; 3] = [AlertKind::New, AlertKind::Changed, AlertKind::Removed];

    /// The value stored in `alerts.kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::New => "new",
            AlertKind::Changed => "changed",
            AlertKind::Removed => "removed",
        }
    }

    /// Reads a stored `alerts.kind`.
    pub fn parse(s: &str) -> Option<AlertKind> {
        AlertKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("test time")
            .with_timezone(&Utc)
    }

    #[test]
    fn since_accepts_dates_times_today_and_durations_ago() {
        let now = at("2026-11-28T15:30:00Z");
        let cases = [
            ("date_is_midnight_utc", "2026-11-27", "2026-11-27T00:00:00Z"),
            (
                "rfc3339_utc",
                "2026-11-28T04:00:00Z",
                "2026-11-28T04:00:00Z",
            ),
            (
                "rfc3339_offset_converted",
                "2026-11-28T13:00:00+09:00",
                "2026-11-28T04:00:00Z",
            ),
            ("today_is_midnight_utc", "today", "2026-11-28T00:00:00Z"),
            ("hours_ago", "24h", "2026-11-27T15:30:00Z"),
            ("days_ago", "7d", "2026-11-21T15:30:00Z"),
            ("mixed_duration", "1h 30m", "2026-11-28T14:00:00Z"),
        ];
        for (name, input, expected) in cases {
            assert_eq!(parse_since(input, now), Ok(at(expected)), "{name}");
        }
        for bad in ["yesterday-ish", "2026-13-01", ""] {
            assert!(parse_since(bad, now).is_err(), "{bad:?} accepted");
        }
    }
}
