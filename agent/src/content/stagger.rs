//! The wait before a direct Background Channel download, so that thousands of
//! clients told to fetch the same file at once spread over
//! `DefaultStaggerRangeSeconds` instead of arriving in the same second.

use std::sync::Mutex;
use std::time::Duration;

pub struct Stagger {
    range: Duration,
    // Seedable so a test can check the distribution; seeded from ring in the service.
    rng: Mutex<fastrand::Rng>,
}

impl Stagger {
    pub fn new(range: Duration, seed: u64) -> Stagger {
        Stagger {
            range,
            rng: Mutex::new(fastrand::Rng::with_seed(seed)),
        }
    }

    pub fn range(&self) -> Duration {
        self.range
    }

    /// A wait drawn uniformly from [0, range], in milliseconds; zero when the range is zero.
    pub fn draw(&self) -> Duration {
        let max = self.range.as_millis().min(u128::from(u64::MAX)) as u64;
        if max == 0 {
            return Duration::ZERO;
        }
        let mut rng = self.rng.lock().unwrap_or_else(|p| p.into_inner());
        Duration::from_millis(rng.u64(0..=max))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_lie_in_the_range_and_spread_over_it() {
        let range = Duration::from_secs(180);
        let s = Stagger::new(range, 0x5eed);
        let mut buckets = [0u32; 10];
        for _ in 0..10_000 {
            let d = s.draw();
            assert!(d <= range, "{d:?}");
            buckets[(d.as_millis() * 10 / (range.as_millis() + 1)) as usize] += 1;
        }
        // Uniform: every tenth of the range holds about 1,000 of 10,000 draws.
        for (i, n) in buckets.iter().enumerate() {
            assert!((850..=1150).contains(n), "bucket {i}: {n} draws ({buckets:?})");
        }
        assert_eq!(Stagger::new(Duration::ZERO, 1).draw(), Duration::ZERO);
        // Same seed, same waits: a failure can be replayed.
        let (a, b) = (Stagger::new(range, 7), Stagger::new(range, 7));
        assert!((0..100).all(|_| a.draw() == b.draw()));
    }
}
