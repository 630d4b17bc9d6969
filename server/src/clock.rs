//! The board's clock: the time the service writes into its own entries (open,
//! close, reveals closed) and checks against the manifest's voting window.
//!
//! It is the system clock, which `urne demo` and tests may move forward (never
//! back) to play an election's schedule in seconds. The board's times are the
//! service's own claims: the record checks that they fall inside the
//! manifest's windows, not that they are true (§10).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// The board's clock (Unix seconds); clones share one offset.
#[derive(Debug, Clone, Default)]
pub struct BoardClock {
    /// Seconds added to the system time.
    ahead: Arc<AtomicU64>,
}

impl BoardClock {
    /// The system clock.
    pub fn system() -> Self {
        Self::default()
    }

    /// The board's time now (Unix seconds).
    pub fn now(&self) -> u64 {
        let system = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        system.saturating_add(self.ahead.load(Ordering::Acquire))
    }

    /// Moves the clock forward so that [`BoardClock::now`] is at least `t`
    /// (a clock already past `t` is left alone).
    pub fn advance_to(&self, t: u64) {
        let now = self.now();
        if t > now {
            self.ahead.fetch_add(t - now, Ordering::AcqRel);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_moves_forward_only_and_clones_share_it() {
        let clock = BoardClock::system();
        let other = clock.clone();
        let start = clock.now();
        clock.advance_to(start + 3_600);
        assert!(other.now() >= start + 3_600);
        assert!(other.now() < start + 3_700);
        other.advance_to(start);
        assert!(clock.now() >= start + 3_600, "never back");
    }
}
