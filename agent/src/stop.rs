//! The stop signal: raised from any thread (the SIGTERM thread, the Windows
//! service control handler), awaited by every task of the runtime.

use std::sync::Arc;

use tokio::sync::watch;

#[derive(Clone)]
pub struct Stop(Arc<watch::Sender<bool>>);

impl Default for Stop {
    fn default() -> Self {
        Stop(Arc::new(watch::Sender::new(false)))
    }
}

impl Stop {
    pub fn raise(&self) {
        self.0.send_replace(true);
    }

    pub fn is_raised(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once the signal is raised (at once if it already was).
    pub async fn raised(&self) {
        let mut rx = self.0.subscribe();
        // The sender lives in `self`, so `wait_for` cannot fail.
        let _ = rx.wait_for(|stopped| *stopped).await;
    }

    /// Sleeps `d` unless stopped first; true when stopped.
    pub async fn sleep(&self, d: std::time::Duration) -> bool {
        tokio::select! {
            _ = self.raised() => true,
            _ = tokio::time::sleep(d) => self.is_raised(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn raised_from_another_thread_wakes_a_sleeper() {
        let stop = Stop::default();
        let other = stop.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            other.raise();
        });
        let t = std::time::Instant::now();
        assert!(stop.sleep(Duration::from_secs(30)).await);
        assert!(t.elapsed() < Duration::from_secs(10));
        // Raised stays raised.
        assert!(stop.sleep(Duration::from_secs(30)).await);
    }

    #[tokio::test]
    async fn a_sleep_runs_its_course_when_not_stopped() {
        assert!(!Stop::default().sleep(Duration::from_millis(20)).await);
    }
}
