//! The webhook sink: POSTs each alert to an endpoint, in alert order, at least once.
//!
//! Takes the head of the endpoint's queue in the outbox; gives one HTTP attempt and records
//! its outcome. `json` bodies are the alert JSON, signed as the Standard Webhooks
//! specification says (`webhook-id`, `webhook-timestamp`, `webhook-signature`); `slack` and
//! `discord` bodies are a short message. A 2xx is delivered; a redirect is not followed and
//! fails; 410 Gone and other 4xx (but 408 and 429) fail at once; 5xx, 408, 429, timeouts and
//! connection errors are retried on the endpoint's schedule (±20% jitter, `Retry-After`
//! honoured), then fail. One endpoint's worker never waits on another's.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, TimeDelta, Utc};
use hmac::{Hmac, Mac};
use reqwest::{StatusCode, header, redirect};
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::sync::watch;

use super::alert_json;
use crate::config::{Webhook, WebhookFormat};
use crate::model::AlertKind;
use crate::store::patience::{self, Health};
use crate::store::{self, PendingAlert, SharedStore, Sink, with_store};

/// How much of an error response is kept in `deliveries.last_error`.
const ERROR_BODY: usize = 1024;
/// How much of any response is read at all.
const MAX_RESPONSE: usize = 4096;
/// Fraction of a retry wait moved at random, so endpoints that come back are not stampeded.
const JITTER: f64 = 0.20;
/// How long an idle worker waits before looking at its queue again on its own (a requeue by
/// `storywatch alerts retry` from another process is noticed by then).
const IDLE_RECHECK: Duration = Duration::from_secs(15);

/// Errors setting up a webhook; each names the variable, file or endpoint.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("webhook {endpoint}: secret variable {var} is not set")]
    MissingEnv { endpoint: String, var: String },
    #[error("webhook {endpoint}: cannot read secret file {path}: {source}")]
    SecretFile {
        endpoint: String,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("webhook {endpoint}: the secret is empty")]
    EmptySecret { endpoint: String },
    #[error("webhook {endpoint}: a whsec_ secret must be base64 after the prefix")]
    BadSecret { endpoint: String },
    #[error("webhook {endpoint}: format \"json\" is signed and needs secret_env or secret_file")]
    NoSecret { endpoint: String },
    #[error("webhook {endpoint}: cannot build the HTTP client: {source}")]
    Client {
        endpoint: String,
        source: reqwest::Error,
    },
}

/// A signing key. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(redacted)")
    }
}

impl Secret {
    /// The key of a secret as written: `whsec_<base64>` is base64-decoded, as the
    /// specification says; anything else is used as it is.
    pub fn parse(text: &str) -> Option<Secret> {
        match text.strip_prefix("whsec_") {
            Some(encoded) => BASE64.decode(encoded).ok().map(Secret),
            None => Some(Secret(text.as_bytes().to_vec())),
        }
    }
}

/// `v1,` + base64 of HMAC-SHA256 over `{id}.{timestamp}.{body}`.
pub fn sign(key: &Secret, id: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC takes a key of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key.0).unwrap_or_else(|_| unreachable!());
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", BASE64.encode(mac.finalize().into_bytes()))
}

/// The endpoint's name in `deliveries.sink` and in logs: its host and a hash of its URL, never
/// the URL itself (Slack and Discord URLs carry a token).
pub fn sink_name(url: &url::Url) -> String {
    let digest = Sha256::digest(url.as_str().as_bytes());
    format!(
        "webhook:{}#{:02x}{:02x}{:02x}{:02x}",
        url.host_str().unwrap_or("?"),
        digest[0],
        digest[1],
        digest[2],
        digest[3]
    )
}

/// One configured endpoint, ready to deliver. Its `Debug` shows the sink name only: the URL
/// may carry a token and the secret is a secret.
#[derive(Clone)]
pub struct Endpoint {
    pub name: String,
    url: url::Url,
    secret: Option<Secret>,
    format: WebhookFormat,
    pub kinds: Vec<AlertKind>,
    retry: Vec<Duration>,
    client: reqwest::Client,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("name", &self.name)
            .field("format", &self.format)
            .field("kinds", &self.kinds)
            .finish_non_exhaustive()
    }
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    Delivered,
    /// Worth trying again later, not before `retry_after` if the endpoint said so.
    Retry {
        error: String,
        retry_after: Option<Duration>,
    },
    /// Not worth trying again.
    Failed(String),
}

impl Endpoint {
    /// Loads the endpoint's secret (from its variable or file) and builds its client.
    pub fn from_config(config: &Webhook, user_agent: &str) -> Result<Endpoint, Error> {
        let name = sink_name(&config.url);
        let secret = load_secret(config, &name)?;
        if secret.is_none() && config.format == WebhookFormat::Json {
            return Err(Error::NoSecret { endpoint: name });
        }
        crate::fetch::install_crypto_provider();
        let client = reqwest::Client::builder()
            .user_agent(user_agent)
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            // A redirect is a failure to report, not a place to send alerts to.
            .redirect(redirect::Policy::none())
            .build()
            .map_err(|source| Error::Client {
                endpoint: name.clone(),
                source,
            })?;
        Ok(Endpoint {
            name,
            url: config.url.clone(),
            secret,
            format: config.format,
            kinds: config.kinds.clone(),
            retry: config.retry.clone(),
            client,
        })
    }

    /// The outbox's view of this endpoint.
    pub fn sink(&self) -> Sink {
        Sink {
            name: self.name.clone(),
            kinds: self.kinds.clone(),
        }
    }

    /// One attempt to deliver `alert`, signed with timestamp `now`.
    pub async fn send(&self, alert: &PendingAlert, now: DateTime<Utc>) -> Attempt {
        let body = render(self.format, alert);
        let mut request = self
            .client
            .post(self.url.clone())
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(secret) = &self.secret {
            let timestamp = now.timestamp();
            request = request
                .header("webhook-id", &alert.id)
                .header("webhook-timestamp", timestamp.to_string())
                .header(
                    "webhook-signature",
                    sign(secret, &alert.id, timestamp, &body),
                );
        }
        let mut response = match request.body(body).send().await {
            Ok(response) => response,
            Err(error) => {
                let kind = if error.is_timeout() {
                    "timed out"
                } else if error.is_connect() {
                    "cannot connect"
                } else {
                    "request failed"
                };
                // The URL is left out: it may carry a token.
                return Attempt::Retry {
                    error: format!("{kind}: {}", without_url(error)),
                    retry_after: None,
                };
            }
        };
        let status = response.status();
        let retry_after = crate::fetch::retry_after(response.headers(), Utc::now());
        let location = response
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut head = Vec::new();
        while head.len() < MAX_RESPONSE {
            match tokio::time::timeout(Duration::from_secs(5), response.chunk()).await {
                Ok(Ok(Some(chunk))) => head.extend_from_slice(&chunk),
                _ => break,
            }
        }
        head.truncate(ERROR_BODY);
        let excerpt = String::from_utf8_lossy(&head).trim().to_owned();
        classify(status, retry_after, location, &excerpt)
    }

    /// The wait before attempt `attempts + 1` after `attempts` failed ones, or `None` when the
    /// schedule is used up.
    pub fn retry_delay(
        &self,
        attempts: u32,
        retry_after: Option<Duration>,
        jitter: f64,
    ) -> Option<Duration> {
        let base = *self
            .retry
            .get(usize::try_from(attempts).ok()?.checked_sub(1)?)?;
        let jittered = base.mul_f64(1.0 + JITTER * jitter.clamp(-1.0, 1.0));
        Some(jittered.max(retry_after.unwrap_or(Duration::ZERO)))
    }
}

/// The request body of `alert` in `format`.
pub fn render(format: WebhookFormat, alert: &PendingAlert) -> Vec<u8> {
    let value = match format {
        WebhookFormat::Json => alert_json(alert),
        WebhookFormat::Slack => json!({ "text": human_message(alert, Markup::Slack) }),
        WebhookFormat::Discord => json!({ "content": human_message(alert, Markup::Discord) }),
    };
    value.to_string().into_bytes()
}

/// What an HTTP answer means for the delivery.
fn classify(
    status: StatusCode,
    retry_after: Option<Duration>,
    location: Option<String>,
    excerpt: &str,
) -> Attempt {
    let code = status.as_u16();
    if status.is_success() {
        return Attempt::Delivered;
    }
    let described = if excerpt.is_empty() {
        format!("HTTP {code}")
    } else {
        format!("HTTP {code}: {excerpt}")
    };
    if status.is_redirection() {
        return Attempt::Failed(format!(
            "HTTP {code}: redirect to {} not followed; fix the webhook url",
            location.as_deref().unwrap_or("(no Location)")
        ));
    }
    match code {
        408 | 429 | 500..=599 => Attempt::Retry {
            error: described,
            retry_after,
        },
        _ => Attempt::Failed(described),
    }
}

/// reqwest's message and causes, without the URL it names.
fn without_url(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn load_secret(config: &Webhook, endpoint: &str) -> Result<Option<Secret>, Error> {
    let text = if let Some(var) = &config.secret_env {
        std::env::var(var).map_err(|_| Error::MissingEnv {
            endpoint: endpoint.to_owned(),
            var: var.clone(),
        })?
    } else if let Some(path) = &config.secret_file {
        std::fs::read_to_string(path).map_err(|source| Error::SecretFile {
            endpoint: endpoint.to_owned(),
            path: path.clone(),
            source,
        })?
    } else {
        return Ok(None);
    };
    let text = text.trim();
    if text.is_empty() {
        return Err(Error::EmptySecret {
            endpoint: endpoint.to_owned(),
        });
    }
    Secret::parse(text)
        .map(Some)
        .ok_or_else(|| Error::BadSecret {
            endpoint: endpoint.to_owned(),
        })
}

#[derive(Clone, Copy)]
enum Markup {
    Slack,
    Discord,
}

/// A short message for people: kind, title as a link, feed, word counts, the first changed
/// lines.
fn human_message(alert: &PendingAlert, markup: Markup) -> String {
    let title = if alert.title.is_empty() {
        "(untitled)"
    } else {
        &alert.title
    };
    let link = match (&alert.url, markup) {
        (Some(url), Markup::Slack) => format!("<{url}|{}>", title.replace(['<', '>', '|'], "")),
        (Some(url), Markup::Discord) => format!("[{}]({url})", title.replace(['[', ']'], "")),
        (None, _) => title.to_owned(),
    };
    let feed = alert.feed.as_deref().unwrap_or("seed");
    let mut text = match (&alert.diff, alert.kind) {
        (Some(diff), _) => format!(
            "*Edited story* {link} ({feed}): +{} / -{} words{}, revision {}",
            diff.words_added,
            diff.words_removed,
            if diff.title_changed {
                ", title changed"
            } else {
                ""
            },
            alert.revision
        ),
        (None, crate::model::AlertKind::Removed) => format!(
            "*Page gone* {link} ({feed}): {}",
            alert.reason.as_deref().unwrap_or("removed")
        ),
        (None, _) => format!("*New story* {link} ({feed})"),
    };
    if let Some(diff) = &alert.diff {
        let changed: Vec<&str> = diff
            .unified
            .lines()
            .filter(|l| {
                (l.starts_with('+') || l.starts_with('-'))
                    && !l.starts_with("+++")
                    && !l.starts_with("---")
            })
            .take(6)
            .map(|l| truncate_chars(l, 200))
            .collect();
        if !changed.is_empty() {
            text.push_str("\n```\n");
            text.push_str(&changed.join("\n"));
            text.push_str("\n```");
        }
    }
    if matches!(markup, Markup::Discord) {
        // Discord refuses messages over 2,000 characters.
        text = truncate_chars(&text, 1900).to_owned();
    }
    text
}

fn truncate_chars(s: &str, max: usize) -> &str {
    s.char_indices().nth(max).map_or(s, |(i, _)| &s[..i])
}

/// How long a worker keeps going.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Deliver what is due now; stop at an empty queue or at an alert waiting for a retry
    /// (`poll`).
    UntilIdle,
    /// Keep delivering, waiting for new alerts and retry times, until shutdown (`run`).
    Forever,
}

/// Delivers the endpoint's queue in alert order. `wake` is signalled when new alerts are
/// committed; `shutdown` ends the loop. Returns how many alerts were delivered.
pub async fn deliver(
    endpoint: Endpoint,
    store: SharedStore,
    mode: Mode,
    health: Arc<Health>,
    mut wake: watch::Receiver<()>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<u64, store::Error> {
    let mut delivered = 0;
    loop {
        if *shutdown.borrow() {
            return Ok(delivered);
        }
        wake.borrow_and_update();
        let sink = endpoint.name.clone();
        let head = match with_store(&store, move |s| s.queue_head(&sink)).await {
            Ok(head) => head,
            Err(error) if error.is_transient() && mode == Mode::Forever => {
                health.failed(&error, error.is_busy());
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = shutdown.wait_for(|stop| *stop) => return Ok(delivered),
                }
                continue;
            }
            Err(error) => return Err(error),
        };
        let Some(head) = head else {
            if mode == Mode::UntilIdle {
                return Ok(delivered);
            }
            tokio::select! {
                _ = wake.changed() => {}
                _ = tokio::time::sleep(IDLE_RECHECK) => {}
                _ = shutdown.wait_for(|stop| *stop) => return Ok(delivered),
            }
            continue;
        };
        let now = Utc::now();
        if let Some(wait) = head.next_attempt_at.and_then(|at| (at - now).to_std().ok()) {
            if mode == Mode::UntilIdle {
                return Ok(delivered);
            }
            tokio::select! {
                _ = tokio::time::sleep(wait.min(IDLE_RECHECK)) => {}
                _ = shutdown.wait_for(|stop| *stop) => return Ok(delivered),
            }
            continue;
        }
        let attempt = endpoint.send(&head.alert, now).await;
        let attempts = head.attempts.saturating_add(1);
        let (id, sink) = (head.alert.id.clone(), endpoint.name.clone());
        match attempt {
            Attempt::Delivered => {
                tracing::info!(sink = %sink, alert = %id, attempts, "webhook delivered");
                patience::write(&store, &health, move |s| {
                    s.mark_delivered(std::slice::from_ref(&id), &sink, Utc::now())
                })
                .await?;
                delivered += 1;
            }
            Attempt::Failed(error) => {
                tracing::warn!(sink = %sink, alert = %id, attempts, error = %error, "webhook failed for good");
                patience::write(&store, &health, move |s| {
                    s.mark_attempt_failed(&id, &sink, &error, None)
                })
                .await?;
            }
            Attempt::Retry { error, retry_after } => {
                let delay =
                    endpoint.retry_delay(attempts, retry_after, fastrand::f64() * 2.0 - 1.0);
                let retry_at =
                    delay.map(|d| Utc::now() + TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX));
                match delay {
                    Some(d) => {
                        tracing::warn!(sink = %sink, alert = %id, attempts, error = %error, retry_in_ms = d.as_millis() as u64, "webhook attempt failed")
                    }
                    None => {
                        tracing::warn!(sink = %sink, alert = %id, attempts, error = %error, "webhook failed: retries used up")
                    }
                }
                patience::write(&store, &health, move |s| {
                    s.mark_attempt_failed(&id, &sink, &error, retry_at)
                })
                .await?;
                if let (Some(delay), Mode::Forever) = (delay, mode) {
                    // The stored time is to the second; wait the exact delay here.
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = shutdown.wait_for(|stop| *stop) => return Ok(delivered),
                    }
                } else if mode == Mode::UntilIdle {
                    return Ok(delivered);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signer_reproduces_the_standard_webhooks_test_vector() {
        // The published test vector of the Standard Webhooks reference libraries.
        let key = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("valid secret");
        assert_eq!(
            sign(
                &key,
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1_614_265_330,
                br#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn secrets_parse_and_never_show() {
        assert_eq!(Secret::parse("plain").map(|s| s.0), Some(b"plain".to_vec()));
        assert_eq!(Secret::parse("whsec_!!notbase64"), None);
        let secret = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("valid");
        assert_eq!(format!("{secret:?}"), "Secret(redacted)");
    }

    #[test]
    fn answers_are_classified() {
        let cases = [
            ("ok", 200, Some("delivered")),
            ("accepted", 202, Some("delivered")),
            ("redirect_is_a_failure", 301, Some("failed")),
            ("gone_stops", 410, Some("failed")),
            ("bad_request_fails_at_once", 400, Some("failed")),
            ("timeout_retries", 408, Some("retry")),
            ("too_many_retries", 429, Some("retry")),
            ("server_error_retries", 503, Some("retry")),
        ];
        for (name, code, expected) in cases {
            let status = StatusCode::from_u16(code).expect("status");
            let got = match classify(status, None, None, "body") {
                Attempt::Delivered => "delivered",
                Attempt::Failed(_) => "failed",
                Attempt::Retry { .. } => "retry",
            };
            assert_eq!(Some(got), expected, "{name}");
        }
        let Attempt::Failed(error) = classify(StatusCode::BAD_REQUEST, None, None, "missing field")
        else {
            panic!("400 must fail");
        };
        assert_eq!(error, "HTTP 400: missing field");
    }

    fn changed_alert() -> PendingAlert {
        PendingAlert {
            id: "a1".into(),
            kind: AlertKind::Changed,
            created_at: "2026-11-28T04:00:00Z".into(),
            article_id: 7,
            title: "North Korea and Russia sign deal".into(),
            url: Some("https://www.nknews.org/a/".into()),
            feed: Some("NK News".into()),
            published_at: None,
            matched_terms: vec!["North Korea".into(), "Russia".into()],
            revision: 3,
            previous_revision: Some(2),
            body_kind: crate::model::BodyKind::Content,
            reason: None,
            diff: Some(crate::store::PendingDiff {
                unified:
                    "--- revision 2\n+++ revision 3\n@@ -1 +1 @@\n-open in 2026.\n+open in 2027.\n"
                        .into(),
                words_added: 1,
                words_removed: 1,
                title_changed: false,
            }),
        }
    }

    #[test]
    fn chat_formats_carry_a_short_human_message() {
        let alert = changed_alert();
        let slack: serde_json::Value =
            serde_json::from_slice(&render(WebhookFormat::Slack, &alert)).expect("json");
        let text = slack["text"].as_str().expect("text");
        assert!(
            text.contains("<https://www.nknews.org/a/|North Korea and Russia sign deal>"),
            "{text}"
        );
        assert!(
            text.contains("NK News") && text.contains("+1 / -1 words"),
            "{text}"
        );
        assert!(
            text.contains("-open in 2026.") && text.contains("+open in 2027."),
            "{text}"
        );
        assert!(!text.contains("+++"), "{text}");

        let discord: serde_json::Value =
            serde_json::from_slice(&render(WebhookFormat::Discord, &alert)).expect("json");
        let content = discord["content"].as_str().expect("content");
        assert!(
            content.contains("[North Korea and Russia sign deal](https://www.nknews.org/a/)"),
            "{content}"
        );

        let json: serde_json::Value =
            serde_json::from_slice(&render(WebhookFormat::Json, &alert)).expect("json");
        assert_eq!(json["diff"]["words_added"], 1);
    }

    #[test]
    fn sink_names_hide_the_url_path() {
        let url =
            url::Url::parse("https://hooks.slack.com/services/T000/B000/XXXXSECRET").expect("url");
        let name = sink_name(&url);
        assert!(name.starts_with("webhook:hooks.slack.com#"), "{name}");
        assert!(!name.contains("SECRET"));
    }
}
