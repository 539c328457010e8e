//! Talking to systemd (sd_notify): readiness, status, watchdog, reload and stop.
//!
//! Every call is a no-op when the daemon was not started by systemd (`NOTIFY_SOCKET` unset),
//! and a failure to notify is logged, never fatal: a daemon that polls feeds is more use than
//! one that exits because its supervisor's socket went away.

use std::time::Duration;

use sd_notify::NotifyState;

/// `READY=1` with a status line: the database is open, migrations applied, the schedule
/// loaded.
pub fn ready(status: &str) {
    send(&[NotifyState::Ready, NotifyState::Status(status)]);
}

/// `STATUS=`: a one-line summary for `systemctl status`.
pub fn status(status: &str) {
    send(&[NotifyState::Status(status)]);
}

/// `RELOADING=1` with `MONOTONIC_USEC`, as `Type=notify-reload` expects (and `Type=notify`
/// accepts).
pub fn reloading() {
    match NotifyState::monotonic_usec_now() {
        Ok(now) => send(&[NotifyState::Reloading, now]),
        Err(_) => send(&[NotifyState::Reloading]),
    }
}

/// `STOPPING=1`.
pub fn stopping() {
    send(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
}

/// `WATCHDOG=1`.
pub fn watchdog() {
    send(&[NotifyState::Watchdog]);
}

/// How often to send `WATCHDOG=1`: half of `WATCHDOG_USEC`, when systemd asked for it.
pub fn watchdog_period() -> Option<Duration> {
    sd_notify::watchdog_enabled().map(|timeout| timeout / 2)
}

fn send(states: &[NotifyState<'_>]) {
    if std::env::var_os("NOTIFY_SOCKET").is_none() {
        return;
    }
    if let Err(error) = sd_notify::notify(states) {
        tracing::warn!(error = %error, "cannot notify systemd");
    }
}
