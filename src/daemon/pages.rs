//! One article page, top to bottom: robots.txt, fetch, extract, topic, store. The page
//! counterpart of [`super::pipeline`], and the only place that knows the order of its stages.
//!
//! A failure is this page's only: it is recorded in `pages.last_error` and the page is checked
//! again after a backoff. A host whose pages keep failing (no answer, 5xx, 429) is backed off as
//! a whole ([`HostBackoff`]), so storywatch never hammers a publisher that is down. A 404 or
//! 410 is an answer, not a failure: two in a row make the page `removed`, as a redirect to
//! the site's front page does at once.

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use url::Url;

use super::Context;
use super::scheduler;
use crate::extract::extract_article;
use crate::fetch::{self, Fetched, Validators};
use crate::model::{ArticleKey, BodyKind, Item};
use crate::store::{self, PageCheck, PageOutcome, PageState, PageText, PageWrite, patience};

/// Failures in a row of one host's pages after which the whole host is backed off.
pub const HOST_FAILURES: u32 = 3;

/// Consecutive page failures per host, and until when a failing host is left alone, shared by
/// the page tasks of one daemon.
#[derive(Debug, Default)]
pub struct HostBackoff {
    hosts: Mutex<HashMap<String, HostFailures>>,
}

#[derive(Debug, Default)]
struct HostFailures {
    count: u32,
    paused_until: Option<DateTime<Utc>>,
}

impl HostBackoff {
    /// Counts a failure of one of `host`'s pages; returns until when the host's pages are left
    /// alone, when it has failed too often (or asked to be left alone).
    fn failed(&self, host: &str, retry_after: Option<Duration>) -> Option<DateTime<Utc>> {
        let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        let failures = hosts.entry(host.to_owned()).or_default();
        failures.count = failures.count.saturating_add(1);
        let now = Utc::now();
        let until = if failures.count >= HOST_FAILURES {
            scheduler::next_after_failure(
                now,
                scheduler::PAGE_RETRY,
                failures.count - (HOST_FAILURES - 1),
                retry_after,
                scheduler::sample_jitter(),
            )
        } else {
            // Not failing often yet, but asked to wait: as long as asked.
            now + chrono::TimeDelta::from_std(retry_after?).ok()?
        };
        failures.paused_until = Some(until);
        Some(until)
    }

    /// Until when `host` is left alone, if it is now.
    fn paused(&self, host: &str) -> Option<DateTime<Utc>> {
        let hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        hosts
            .get(host)
            .and_then(|h| h.paused_until)
            .filter(|until| *until > Utc::now())
    }

    fn succeeded(&self, host: &str) {
        self.hosts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(host);
    }
}

/// Checks one page and records the result.
pub async fn check_page(ctx: Arc<Context>, page: PageState) -> Result<PageOutcome, store::Error> {
    // A page queued before its host was backed off waits with the host's other pages.
    if let Some(until) = ctx.page_hosts.paused(&page.host) {
        let host = page.host.clone();
        patience::write(&ctx.store, &ctx.db_health, move |s| {
            s.postpone_host(&host, until)
        })
        .await?;
        return Ok(PageOutcome::Postponed);
    }
    let pages = &ctx.config.pages;
    let (check, retry_after, host_failed) = fetch_and_extract(&ctx, &page).await;
    let now = Utc::now();
    let (next, next_if_changed) = match &check {
        PageCheck::Failed { .. } => {
            let failures = page.consecutive_failures.saturating_add(1);
            let retry = scheduler::next_page_retry(
                page.schedule_from,
                &pages.recheck,
                now,
                failures,
                retry_after,
            );
            (retry, retry)
        }
        _ => (
            scheduler::next_page_check(page.schedule_from, &pages.recheck, now),
            scheduler::next_page_check(now, &pages.recheck, now),
        ),
    };
    if host_failed {
        if let Some(until) = ctx.page_hosts.failed(&page.host, retry_after) {
            let host = page.host.clone();
            tracing::warn!(host = %host, until = %crate::model::format_time(until),
                "pages of this host keep failing: leaving the host alone for a while");
            patience::write(&ctx.store, &ctx.db_health, move |s| {
                s.postpone_host(&host, until)
            })
            .await?;
        }
    } else if !matches!(check, PageCheck::Refused { .. }) {
        ctx.page_hosts.succeeded(&page.host);
    }
    let sinks = Arc::clone(&ctx.sinks);
    let min_words_changed = ctx.config.alerts.min_words_changed;
    let article = page.article;
    patience::write(&ctx.store, &ctx.db_health, move |s| {
        let write = PageWrite {
            article,
            check: check.clone(),
            next,
            next_if_changed,
            sinks: &sinks,
            min_words_changed,
        };
        s.record_page(&write, Utc::now())
    })
    .await
}

/// Fetches and extracts one page: what the check found, the server's `Retry-After`, and
/// whether the failure is the host's (no answer, 5xx, 429) rather than the page's.
async fn fetch_and_extract(ctx: &Context, page: &PageState) -> (PageCheck, Option<Duration>, bool) {
    let pages = &ctx.config.pages;
    let Ok(url) = Url::parse(&page.url) else {
        let error = format!("{}: not a URL", page.url);
        return (
            PageCheck::Failed {
                status: None,
                error,
            },
            None,
            false,
        );
    };
    if pages.robots && !ctx.robots.allows(&ctx.fetcher, &url).await {
        let reason = format!(
            "{url}: the host's robots.txt does not allow {} to fetch it",
            ctx.fetcher.product_token()
        );
        return (PageCheck::Refused { reason }, None, false);
    }
    let validators = Validators {
        etag: page.etag.clone(),
        last_modified: page.last_modified.clone(),
    };
    let fetched = ctx
        .fetcher
        .fetch_page(&url, &validators, pages.max_body, pages.timeout)
        .await;
    let (status, answered, body, charset, validators) = match fetched {
        Ok(Fetched::NotModified) => return (PageCheck::NotModified, None, false),
        Ok(Fetched::Body {
            status,
            url: answered,
            body,
            charset,
            validators,
        }) => (status, answered, body, charset, validators),
        Err(error) => return failed(error),
    };
    if is_front_page(&url, &answered) {
        let url = answered.to_string();
        return (PageCheck::FrontPage { url }, None, false);
    }
    // Extraction, matching and compression are CPU work: off the async workers.
    let topic = Arc::clone(&ctx.topic);
    let keep_html = pages.keep_html;
    let page = page.clone();
    let extracted = tokio::task::spawn_blocking(move || {
        let article = match extract_article(&body, charset.as_deref(), Some(&answered)) {
            Ok(article) => article,
            Err(error) => {
                return PageCheck::Failed {
                    status: Some(status),
                    error: format!("{answered}: {error}"),
                };
            }
        };
        let title = if article.title.is_empty() {
            page.title.clone()
        } else {
            article.title.clone()
        };
        let body_text = article.text();
        let verdict = topic.evaluate(&title, &body_text);
        let item = Item {
            keys: vec![ArticleKey(format!("url:{}", page.url))],
            title_keys: Vec::new(),
            url: Some(page.url.clone()),
            guid: None,
            content_hash: crate::feed::content_hash(&title, &body_text),
            title,
            body: body_text,
            body_kind: BodyKind::Page,
            published_at: article.published_at,
        };
        PageCheck::Text(Box::new(PageText {
            item,
            canonical_url: article.canonical_url,
            status,
            etag: validators.etag,
            last_modified: validators.last_modified,
            matched_terms: verdict.matched_terms,
            score: verdict.score,
            html_gzip: keep_html.then(|| gzip(&body)),
        }))
    })
    .await;
    match extracted {
        Ok(check) => (check, None, false),
        Err(error) => (
            PageCheck::Failed {
                status: Some(status),
                error: format!("the extract task stopped: {error}"),
            },
            None,
            false,
        ),
    }
}

/// A fetch error as a check: 404 and 410 say the page is gone; no answer, a 5xx or a 429
/// are the host's failure; anything else (403, a body over the limit) is the page's.
fn failed(error: fetch::Error) -> (PageCheck, Option<Duration>, bool) {
    let status = error.status();
    if let Some(status @ (404 | 410)) = status {
        return (PageCheck::Gone { status }, None, false);
    }
    let host_failed = match &error {
        fetch::Error::Timeout { .. } | fetch::Error::Connect { .. } => true,
        fetch::Error::Status { status, .. } => *status == 429 || *status >= 500,
        _ => false,
    };
    let retry_after = error.retry_after();
    let check = PageCheck::Failed {
        status,
        error: error.to_string(),
    };
    (check, retry_after, host_failed)
}

fn gzip(body: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(body);
    encoder.finish().unwrap_or_default()
}

/// Whether a request for the article at `requested` ended at the front page of its site (a
/// publisher's way of taking a story down): `answered` is the root of the same site (or its
/// `index` page, or a language's root such as `/en/`), and `requested` was not.
pub fn is_front_page(requested: &Url, answered: &Url) -> bool {
    fn site(url: &Url) -> String {
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        ["www.", "m.", "amp."]
            .iter()
            .find_map(|prefix| host.strip_prefix(prefix))
            .map_or_else(|| host.clone(), str::to_owned)
    }
    fn is_root(url: &Url) -> bool {
        let segments: Vec<&str> = url
            .path_segments()
            .map(|s| s.filter(|s| !s.is_empty()).collect())
            .unwrap_or_default();
        let index = |s: &str| {
            let stem = s.split('.').next().unwrap_or(s).to_ascii_lowercase();
            matches!(stem.as_str(), "index" | "default" | "home" | "main")
        };
        let language = |s: &str| s.len() == 2 && s.chars().all(|c| c.is_ascii_lowercase());
        match segments.as_slice() {
            [] => true,
            [one] => index(one) || language(one),
            [lang, page] => language(lang) && index(page),
            _ => false,
        }
    }
    let (from, to) = (site(requested), site(answered));
    let same_site =
        from == to || from.ends_with(&format!(".{to}")) || to.ends_with(&format!(".{from}"));
    same_site && is_root(answered) && !is_root(requested)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redirect_to_the_site_root_is_a_front_page_and_others_are_not() {
        let cases = [
            (
                "root",
                "https://www.example.org/2026/11/story",
                "https://www.example.org/",
                true,
            ),
            (
                "bare_domain",
                "https://www.example.org/news/a-1",
                "https://example.org/",
                true,
            ),
            (
                "index_page",
                "https://example.org/a/b",
                "https://example.org/index.html",
                true,
            ),
            (
                "language_root",
                "https://example.org/en/politics/1",
                "https://example.org/en/",
                true,
            ),
            (
                "subdomain_to_site",
                "https://edition.example.com/a/1",
                "https://www.example.com/",
                true,
            ),
            (
                "moved_article",
                "https://example.org/a/1",
                "https://example.org/b/1",
                false,
            ),
            (
                "another_site",
                "https://example.org/a/1",
                "https://other.example/",
                false,
            ),
            (
                "front_to_front",
                "https://example.org/",
                "https://example.org/",
                false,
            ),
            (
                "section",
                "https://example.org/a/1",
                "https://example.org/politics/",
                false,
            ),
        ];
        for (name, from, to, expected) in cases {
            let (from, to) = (Url::parse(from).expect("url"), Url::parse(to).expect("url"));
            assert_eq!(is_front_page(&from, &to), expected, "{name}");
        }
    }

    #[test]
    fn a_host_is_backed_off_after_failures_in_a_row_and_forgiven_on_success() {
        let hosts = HostBackoff::default();
        for _ in 1..HOST_FAILURES {
            assert_eq!(hosts.failed("a.example", None), None);
        }
        assert!(hosts.failed("a.example", None).is_some());
        assert!(hosts.paused("a.example").is_some());
        assert_eq!(hosts.failed("b.example", None), None, "another host");
        assert_eq!(hosts.paused("b.example"), None);
        hosts.succeeded("a.example");
        assert_eq!(hosts.paused("a.example"), None);
        assert_eq!(hosts.failed("a.example", None), None, "forgiven");
        let asked = hosts.failed("c.example", Some(Duration::from_secs(7200)));
        assert!(asked.is_some_and(|at| at - Utc::now() > chrono::TimeDelta::minutes(110)));
        let brief = hosts.failed("d.example", Some(Duration::from_secs(2)));
        assert!(brief.is_some_and(|at| at - Utc::now() <= chrono::TimeDelta::seconds(2)));
    }
}
