//! When to try the Switch again: a registered session that ends waits a
//! uniform draw from the spread window (a Switch restart must not bring
//! 50,000 clients back in one second); failed attempts back off
//! exponentially with full jitter, capped at five minutes.

use std::time::Duration;

pub const CAP: Duration = Duration::from_secs(300);

pub struct Backoff {
    rng: fastrand::Rng,
    spread: Duration,
    failures: u32,
}

impl Backoff {
    pub fn new(spread: Duration, seed: u64) -> Backoff {
        Backoff {
            rng: fastrand::Rng::with_seed(seed),
            spread,
            failures: 0,
        }
    }

    /// The wait after a session that had been registered ended.
    pub fn after_session(&mut self) -> Duration {
        self.failures = 0;
        self.uniform(self.spread)
    }

    /// The wait after the n-th failed attempt in a row: uniform in
    /// [0, min(CAP, 2^(n-1) s)].
    pub fn after_failure(&mut self) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let ceiling = Duration::from_secs(1u64 << (self.failures - 1).min(20)).min(CAP);
        self.uniform(ceiling)
    }

    fn uniform(&mut self, max: Duration) -> Duration {
        let ms = max.as_millis() as u64;
        Duration::from_millis(self.rng.u64(0..=ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ends_spread_uniformly_over_the_window() {
        let mut b = Backoff::new(Duration::from_secs(120), 7);
        let mut buckets = [0u32; 12];
        for _ in 0..12_000 {
            let w = b.after_session();
            assert!(w <= Duration::from_secs(120));
            buckets[(w.as_secs() / 10).min(11) as usize] += 1;
        }
        // 1,000 per 10-second bucket expected; a clumped draw would leave some near empty.
        for (i, n) in buckets.iter().enumerate() {
            assert!((800..1200).contains(n), "bucket {i}: {n} of 12000 ({buckets:?})");
        }
    }

    #[test]
    fn failures_back_off_exponentially_to_the_cap_and_reset_after_a_session() {
        let mut b = Backoff::new(Duration::from_secs(60), 1);
        let mut max_seen = Vec::new();
        for n in 1..=12u32 {
            let ceiling = Duration::from_secs(1u64 << (n - 1)).min(CAP);
            let worst = (0..200).map(|_| {
                b.failures = n - 1;
                b.after_failure()
            });
            let worst = worst.max().unwrap();
            assert!(worst <= ceiling, "failure {n}: {worst:?} > {ceiling:?}");
            max_seen.push(worst);
        }
        // Full jitter reaches near the ceiling; the cap holds from the 10th failure on.
        assert!(max_seen[8] > Duration::from_secs(200), "{max_seen:?}");
        assert!(max_seen[11] <= CAP && max_seen[11] > Duration::from_secs(250));
        b.after_session();
        assert!(b.after_failure() <= Duration::from_secs(1));
        // Zero spread: reconnect at once.
        assert_eq!(Backoff::new(Duration::ZERO, 3).after_session(), Duration::ZERO);
    }
}
