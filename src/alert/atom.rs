//! The Atom export: recent alerts as an Atom feed (RFC 4287), so that people can follow new
//! and edited stories in their own feed reader.
//!
//! Takes alerts read from the store, newest first; gives the feed document. Each entry is one
//! alert: its id is derived from the alert id (stable across exports, and the same value
//! receivers of the log and webhooks deduplicate on), `updated` is when the alert was raised,
//! the author is the feed the story came from, the alternate link is the story, and the content
//! is HTML: for a `changed` alert the changed paragraphs with the words removed and added
//! marked (`<del>`/`<ins>`), for a `new` alert the story's text. It is a view, not a sink: it
//! writes no delivery rows and keeps no file current.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::diff;
use crate::model::{AlertKind, format_time};
use crate::report::{Extent, escape, inline_html, paragraphs_html, safe_link, unchanged};
use crate::store::AlertChange;

/// How many alerts the export holds when no start date is given.
pub const DEFAULT_ENTRIES: u32 = 100;

/// The Atom namespace (RFC 4287, section 2).
const NAMESPACE: &str = "http://www.w3.org/2005/Atom";

/// The feed's id: a UUID (version 8, RFC 9562) from a hash of when the database was created,
/// so it stays the same for the life of the database whatever its path, and differs between
/// two databases.
pub fn feed_id(database_created_at: &str) -> String {
    let digest = Sha256::digest(format!("storywatch atom feed\0{database_created_at}"));
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    // Version 8 ("custom") in the high nibble of byte 6, the RFC variant in byte 8.
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    urn_uuid(&hex)
}

/// An entry's id: the alert id (32 hex digits) written as a `urn:uuid:` URI, so the alert id
/// is read back by dropping the prefix and the dashes. An id of another shape (not written by
/// this storywatch) is hashed into one.
pub fn entry_id(alert_id: &str) -> String {
    if alert_id.len() == 32 && alert_id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return urn_uuid(&alert_id.to_ascii_lowercase());
    }
    let digest = Sha256::digest(alert_id.as_bytes());
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    urn_uuid(&hex)
}

/// 32 hex digits as `urn:uuid:8-4-4-4-12` (RFC 9562, section 4).
fn urn_uuid(hex: &str) -> String {
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// The feed document for `alerts` (newest first). `updated` is the newest alert's time, so
/// an unchanged database exports the same document; `now` only when there is no alert.
pub fn render_feed(alerts: &[AlertChange], feed_id: &str, now: DateTime<Utc>) -> String {
    let updated = alerts
        .iter()
        .map(|a| a.created_at.as_str())
        .max()
        .map_or_else(|| format_time(now), str::to_owned);
    let mut xml = String::with_capacity(4096 + alerts.len() * 4096);
    let _ = write!(
        xml,
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"{NAMESPACE}\">\n\
         <id>{}</id>\n<title type=\"text\">storywatch: new and changed stories</title>\n\
         <subtitle type=\"text\">North Korea–Russia stories as they appear, and every edit made to them afterwards</subtitle>\n\
         <updated>{}</updated>\n<author><name>storywatch</name></author>\n\
         <generator version=\"{}\">storywatch</generator>\n",
        escape(feed_id),
        escape(&updated),
        crate::report::VERSION
    );
    for alert in alerts {
        push_entry(&mut xml, alert);
    }
    xml.push_str("</feed>\n");
    xml
}

fn push_entry(xml: &mut String, alert: &AlertChange) {
    let title = if alert.revision.title.is_empty() {
        "(untitled)"
    } else {
        &alert.revision.title
    };
    let (label, category) = match alert.kind {
        AlertKind::New => ("New", "New story"),
        AlertKind::Changed => ("Changed", "Edited story"),
        AlertKind::Removed => ("Removed", "Page gone"),
    };
    let author = alert.feed.as_deref().unwrap_or("storywatch");
    let _ = write!(
        xml,
        "<entry>\n<id>{}</id>\n<title type=\"text\">{}</title>\n<updated>{}</updated>\n\
         <author><name>{}</name></author>\n",
        entry_id(&alert.id),
        escape(&format!("{label}: {title}")),
        escape(&alert.created_at),
        escape(author)
    );
    let link = alert.url.as_deref().and_then(safe_link);
    if let Some(link) = link {
        let _ = writeln!(
            xml,
            "<link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>",
            escape(link)
        );
    }
    let _ = writeln!(
        xml,
        "<category term=\"{}\" label=\"{category}\"/>",
        alert.kind.as_str()
    );
    let summary = summary(alert);
    let _ = writeln!(xml, "<summary type=\"text\">{}</summary>", escape(&summary));
    // type="html": the HTML is escaped once more as the element's text (RFC 4287, 3.1.1.2).
    let _ = write!(
        xml,
        "<content type=\"html\">{}</content>\n</entry>\n",
        escape(&content_html(alert, &summary, link))
    );
}

/// One line on what the alert is about.
fn summary(alert: &AlertChange) -> String {
    let feed = alert
        .feed
        .as_deref()
        .map(|f| format!(" in {f}"))
        .unwrap_or_default();
    if alert.kind == AlertKind::Removed {
        let reason = alert.reason.as_deref().unwrap_or("gone");
        return format!("Page gone{feed}: {reason}. Its last text follows.");
    }
    match &alert.previous {
        Some(previous) => {
            let mut line = format!(
                "Revision {} → {}{feed}: {} words added, {} removed",
                previous.number,
                alert.revision.number,
                alert.words_added.unwrap_or(0),
                alert.words_removed.unwrap_or(0)
            );
            if alert.title_changed {
                line.push_str("; title changed");
            }
            line.push('.');
            line
        }
        None => {
            let mut line = format!("New story{feed}");
            if !alert.matched_terms.is_empty() {
                let _ = write!(line, "; matched terms: {}", alert.matched_terms.join(", "));
            }
            line.push('.');
            line
        }
    }
}

/// The entry's HTML: the summary, then the title change and the changed paragraphs of a
/// `changed` alert, or the whole text of a `new` one.
fn content_html(alert: &AlertChange, summary: &str, link: Option<&str>) -> String {
    let mut html = format!("<p>{}", escape(summary));
    if let Some(link) = link {
        let _ = write!(html, " <a href=\"{}\">Read the story.</a>", escape(link));
    }
    html.push_str("</p>\n");
    match &alert.previous {
        Some(previous) => {
            let title = diff::word_segments(&previous.title, &alert.revision.title, diff::DEADLINE);
            if previous.title != alert.revision.title {
                let _ = writeln!(
                    html,
                    "<p><strong>Title:</strong> {}</p>",
                    inline_html(&title)
                );
            }
            let body = diff::word_segments(&previous.body, &alert.revision.body, diff::DEADLINE);
            html.push_str(&paragraphs_html(&body, Extent::Changed));
        }
        None => html.push_str(&paragraphs_html(
            &unchanged(&alert.revision.body),
            Extent::Whole,
        )),
    }
    html
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ArticleId;
    use crate::store::RevisionText;

    fn alert(kind: AlertKind, title: &str, url: &str) -> AlertChange {
        AlertChange {
            id: "0123456789abcdef0123456789ABCDEF".into(),
            kind,
            created_at: "2026-11-28T04:00:00Z".into(),
            article_id: ArticleId(7),
            url: Some(url.into()),
            feed: Some("NK & Co".into()),
            matched_terms: vec!["Russia".into()],
            revision: RevisionText {
                number: 2,
                title: title.into(),
                body: "Body <i>now</i> & then.".into(),
            },
            previous: (kind == AlertKind::Changed).then(|| RevisionText {
                number: 1,
                title: "Old".into(),
                body: "Body before & then.".into(),
            }),
            words_added: Some(2),
            words_removed: Some(1),
            title_changed: true,
            reason: (kind == AlertKind::Removed).then(|| "HTTP 410 on 2 checks in a row".into()),
        }
    }

    #[test]
    fn a_removed_page_says_why_and_shows_its_last_text() {
        let xml = render_feed(
            &[alert(
                AlertKind::Removed,
                "Gone story",
                "https://a.example/1",
            )],
            "urn:uuid:0",
            chrono::Utc::now(),
        );
        assert!(
            xml.contains("<title type=\"text\">Removed: Gone story</title>"),
            "{xml}"
        );
        assert!(xml.contains("<category term=\"removed\""), "{xml}");
        assert!(
            xml.contains("Page gone in NK &amp; Co: HTTP 410 on 2 checks in a row."),
            "{xml}"
        );
        assert!(xml.contains("Body"), "{xml}");
    }

    #[test]
    fn entry_id_is_the_alert_id_as_a_uuid_urn() {
        assert_eq!(
            entry_id("0123456789abcdef0123456789ABCDEF"),
            "urn:uuid:01234567-89ab-cdef-0123-456789abcdef"
        );
        let odd = entry_id("not an alert id");
        assert!(odd.starts_with("urn:uuid:") && odd.len() == 45, "{odd}");
        assert_eq!(odd, entry_id("not an alert id"));
    }

    #[test]
    fn feed_id_is_stable_and_differs_between_databases() {
        let a = feed_id("2026-11-28T04:00:00Z");
        assert_eq!(a, feed_id("2026-11-28T04:00:00Z"));
        assert_ne!(a, feed_id("2026-11-28T04:00:01Z"));
        // Version 8, RFC variant.
        assert_eq!(&a[23..24], "8", "{a}");
        assert!(matches!(&a[28..29], "8" | "9" | "a" | "b"), "{a}");
    }

    #[test]
    fn markup_in_stories_stays_text_and_bad_links_are_left_out() {
        let xml = render_feed(
            &[alert(
                AlertKind::Changed,
                "<script>x</script> & more",
                "javascript:alert(1)",
            )],
            "urn:uuid:x",
            Utc::now(),
        );
        assert!(!xml.contains("<script"), "{xml}");
        assert!(!xml.contains("javascript:"), "{xml}");
        assert!(
            xml.contains(
                "<title type=\"text\">Changed: &lt;script&gt;x&lt;/script&gt; &amp; more</title>"
            ),
            "{xml}"
        );
        // Twice escaped in the HTML content: the reader's HTML shows "<i>" as text.
        assert!(
            xml.contains("&amp;lt;i&amp;gt;now&amp;lt;/i&amp;gt;"),
            "{xml}"
        );
        assert!(xml.contains("<name>NK &amp; Co</name>"), "{xml}");
    }

    #[test]
    fn an_empty_export_is_updated_now() {
        let now = DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z")
            .expect("time")
            .with_timezone(&Utc);
        let xml = render_feed(&[], "urn:uuid:x", now);
        assert!(
            xml.contains("<updated>2026-12-01T10:00:00Z</updated>"),
            "{xml}"
        );
        assert!(!xml.contains("<entry>"));
    }
}
