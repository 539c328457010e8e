//! Talking to systemd (sd_notify): readiness, status, watchdog, reload and stop.
//!
//! Every call is a no-op when the daemon was not started by systemd (`NOTIFY_SOCKET` unset),
//! and a failure to notify is logged, never fatal: a daemon that polls feeds is more use than
//! one that exits because its supervisor's socket went away.
//!
//! Sending on the notify socket blocks when the manager's queue is full, so messages go
//! through one thread of their own: the scheduler loop queues them and never waits on its
//! supervisor. [`stopping`] waits (briefly) for the queue to drain, so `STOPPING=1` is out
//! before the process exits.

use std::sync::OnceLock;
use std::sync::mpsc::{self, Sender};
use std::time::Duration;

use sd_notify::NotifyState;

/// How long [`stopping`] waits for queued messages to reach systemd.
const FLUSH_WAIT: Duration = Duration::from_secs(1);

enum Message {
    Ready(String),
    Status(String),
    Reloading,
    Stopping,
    Watchdog,
    /// Answered once every message queued before it has been sent.
    Flush(Sender<()>),
}

/// `READY=1` with a status line: the database is open, migrations applied, the schedule
/// loaded.
pub fn ready(status: &str) {
    queue(Message::Ready(status.to_owned()));
}

/// `STATUS=`: a one-line summary for `systemctl status`.
pub fn status(status: &str) {
    queue(Message::Status(status.to_owned()));
}

/// `RELOADING=1` with `MONOTONIC_USEC`, as `Type=notify-reload` expects (and `Type=notify`
/// accepts).
pub fn reloading() {
    queue(Message::Reloading);
}

/// `STOPPING=1`; returns once it is sent, or after [`FLUSH_WAIT`].
pub fn stopping() {
    queue(Message::Stopping);
    let (done, wait) = mpsc::channel();
    if queue(Message::Flush(done)) {
        let _ = wait.recv_timeout(FLUSH_WAIT);
    }
}

/// `WATCHDOG=1`.
pub fn watchdog() {
    queue(Message::Watchdog);
}

/// How often to send `WATCHDOG=1`: half of `WATCHDOG_USEC`, when systemd asked for it.
pub fn watchdog_period() -> Option<Duration> {
    sd_notify::watchdog_enabled().map(|timeout| timeout / 2)
}

/// Queues `message` for the notifier thread, starting it on first use; false when there is
/// no systemd to tell.
fn queue(message: Message) -> bool {
    static NOTIFIER: OnceLock<Option<Sender<Message>>> = OnceLock::new();
    let notifier = NOTIFIER.get_or_init(|| {
        std::env::var_os("NOTIFY_SOCKET")?;
        let (sender, messages) = mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("sd-notify".into())
            .spawn(move || notify_loop(messages));
        match spawned {
            Ok(_) => Some(sender),
            Err(error) => {
                tracing::warn!(error = %error, "cannot start the systemd notifier");
                None
            }
        }
    });
    notifier
        .as_ref()
        .is_some_and(|sender| sender.send(message).is_ok())
}

fn notify_loop(messages: mpsc::Receiver<Message>) {
    for message in messages {
        let result = match &message {
            Message::Ready(status) => {
                sd_notify::notify(&[NotifyState::Ready, NotifyState::Status(status)])
            }
            Message::Status(status) => sd_notify::notify(&[NotifyState::Status(status)]),
            Message::Reloading => match NotifyState::monotonic_usec_now() {
                Ok(now) => sd_notify::notify(&[NotifyState::Reloading, now]),
                Err(_) => sd_notify::notify(&[NotifyState::Reloading]),
            },
            Message::Stopping => {
                sd_notify::notify(&[NotifyState::Stopping, NotifyState::Status("stopping")])
            }
            Message::Watchdog => sd_notify::notify(&[NotifyState::Watchdog]),
            Message::Flush(done) => {
                let _ = done.send(());
                Ok(())
            }
        };
        if let Err(error) = result {
            tracing::warn!(error = %error, "cannot notify systemd");
        }
    }
}
