//! Rate limiting.
use std::collections::HashMap;
use crate::clock::Clock;

mod bucket;

/// A token bucket per key.
pub struct RateLimiter {
    buckets: HashMap<String, u32>,
}

pub enum Decision {
    Allow,
    Deny { retry_after: u64 },
}

pub trait Limiter {
    fn check(&mut self, key: &str) -> Decision;
}

pub const DEFAULT_RATE: u32 = 10;

impl Limiter for RateLimiter {
    fn check(&mut self, key: &str) -> Decision {
        let count = self.buckets.entry(key.to_owned()).or_insert(0);
        *count += 1;
        if *count > DEFAULT_RATE { Decision::Deny { retry_after: 1 } } else { Decision::Allow }
    }
}

pub fn new_limiter() -> RateLimiter {
    RateLimiter { buckets: HashMap::new() }
}

macro_rules! limited {
    ($e:expr) => { $e };
}
