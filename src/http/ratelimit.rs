//! Rate limiting per credential (per client address when anonymous): a token bucket per key,
//! in memory. Hand-written rather than `governor` because a request that ends in 304 is given
//! its token back (conditional requests are free, as on GitHub), which needs a refund the
//! crate does not offer, and because every response reports the remaining budget.
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

const SHARDS: usize = 16;

/// The budget state reported in the `X-RateLimit-*` headers.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Requests per window.
    pub limit: u32,
    /// Requests left now.
    pub remaining: u32,
    /// Seconds until the bucket is full again.
    pub reset: u64,
    /// Whether this request was refused.
    pub refused: bool,
    /// Seconds to wait before retrying (when refused).
    pub retry_after: u64,
}

struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Buckets by key, sharded to keep lock contention low.
pub struct RateLimiter {
    limit: u32,
    per_second: f64,
    shards: Vec<Mutex<HashMap<String, Bucket>>>,
}

impl RateLimiter {
    /// `limit` requests per `window_secs`; a limit of 0 disables limiting.
    pub fn new(limit: u32, window_secs: u64) -> RateLimiter {
        RateLimiter {
            limit,
            per_second: limit as f64 / window_secs.max(1) as f64,
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }

    /// Whether limiting is on.
    pub fn enabled(&self) -> bool {
        self.limit > 0
    }

    fn shard(&self, key: &str) -> &Mutex<HashMap<String, Bucket>> {
        let h = xxhash_rust::xxh3::xxh3_64(key.as_bytes());
        &self.shards[(h as usize) % SHARDS]
    }

    /// Takes one token for `key` (or, with `take == false`, only reports the budget).
    pub fn check(&self, key: &str, take: bool) -> Budget {
        let now = Instant::now();
        let mut shard = self.shard(key).lock().unwrap_or_else(|e| e.into_inner());
        if shard.len() > 50_000 {
            // Forget full buckets: they carry no state.
            let (limit, rate) = (self.limit as f64, self.per_second);
            shard.retain(|_, b| b.tokens + now.duration_since(b.last).as_secs_f64() * rate < limit);
        }
        // Look up before inserting: the key is copied only for a new bucket, not on every request.
        if !shard.contains_key(key) {
            shard.insert(
                key.to_owned(),
                Bucket {
                    tokens: self.limit as f64,
                    last: now,
                },
            );
        }
        let Some(bucket) = shard.get_mut(key) else {
            unreachable!("inserted above")
        };
        bucket.tokens = (bucket.tokens + now.duration_since(bucket.last).as_secs_f64() * self.per_second).min(self.limit as f64);
        bucket.last = now;
        let refused = take && bucket.tokens < 1.0;
        if take && !refused {
            bucket.tokens -= 1.0;
        }
        let missing = self.limit as f64 - bucket.tokens;
        Budget {
            limit: self.limit,
            remaining: bucket.tokens.floor().max(0.0) as u32,
            reset: (missing / self.per_second).ceil() as u64,
            refused,
            retry_after: if refused {
                ((1.0 - bucket.tokens) / self.per_second).ceil().max(1.0) as u64
            } else {
                0
            },
        }
    }

    /// Gives back the token of a request that turned out to be free (a 304).
    pub fn refund(&self, key: &str) {
        let mut shard = self.shard(key).lock().unwrap_or_else(|e| e.into_inner());
        if let Some(b) = shard.get_mut(key) {
            b.tokens = (b.tokens + 1.0).min(self.limit as f64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_past_the_limit_and_refunds() {
        let rl = RateLimiter::new(3, 3600);
        assert_eq!(rl.check("k", true).remaining, 2);
        assert_eq!(rl.check("k", true).remaining, 1);
        assert_eq!(rl.check("k", true).remaining, 0);
        let b = rl.check("k", true);
        assert!(b.refused);
        assert!(b.retry_after >= 1);
        assert!(!rl.check("other", true).refused, "keys are independent");
        rl.refund("k");
        assert!(!rl.check("k", true).refused);
        assert_eq!(rl.check("k", false).limit, 3);
    }
}
