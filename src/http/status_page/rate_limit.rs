//! A token bucket per client: each client may burst up to `capacity` requests and then
//! `refill_per_second` more each second. An IPv6 client is its /64 (one subscriber's network);
//! an IPv4 client its address. Behind a reverse proxy every visitor shares the proxy's bucket:
//! forwarded-for headers are not trusted, since anyone could send them.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most clients remembered at once; beyond them, new clients share one overflow bucket until
/// idle clients (whose buckets have refilled) are forgotten.
const MAX_CLIENTS: usize = 65_536;

/// The buckets.
#[derive(Debug)]
pub(super) struct RateLimiter {
    capacity: f64,
    refill_per_second: f64,
    buckets: Mutex<HashMap<Client, Bucket>>,
}

/// Who a bucket belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Client {
    /// A client address (IPv6 truncated to its /64).
    Address(IpAddr),
    /// Requests whose peer is unknown, and new clients while the table is full.
    Shared,
}

impl Client {
    /// The bucket key for a peer address, if the transport gave one.
    pub(super) fn of(peer: Option<IpAddr>) -> Client {
        match peer {
            Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => Client::Address(IpAddr::V4(v4)),
                None => {
                    let network = u128::from(v6) & !((1u128 << 64) - 1);
                    Client::Address(IpAddr::V6(Ipv6Addr::from(network)))
                }
            },
            Some(v4) => Client::Address(v4),
            None => Client::Shared,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimiter {
    /// Buckets of `capacity` tokens refilled at `refill_per_second`.
    pub(super) fn new(capacity: u32, refill_per_second: f64) -> RateLimiter {
        RateLimiter {
            capacity: f64::from(capacity.max(1)),
            refill_per_second: refill_per_second.max(0.001),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token for `client` at `now`: `Ok` when there was one, otherwise how long until
    /// there is.
    pub(super) fn take(&self, client: Client, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let mut client = client;
        if !buckets.contains_key(&client) && buckets.len() >= MAX_CLIENTS {
            self.forget_idle(&mut buckets, now);
            if buckets.len() >= MAX_CLIENTS {
                client = Client::Shared;
            }
        }
        let capacity = self.capacity;
        let bucket = buckets.entry(client).or_insert(Bucket {
            tokens: capacity,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.refill_per_second).min(capacity);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / self.refill_per_second;
            Err(Duration::from_secs_f64(wait))
        }
    }

    /// Forgets clients whose buckets are full again (they would start full anyway).
    fn forget_idle(&self, buckets: &mut HashMap<Client, Bucket>, now: Instant) {
        let full_after = self.capacity / self.refill_per_second;
        buckets.retain(|_, b| now.saturating_duration_since(b.at).as_secs_f64() < full_after);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_bursts_to_capacity_then_waits_for_a_refill() {
        let limiter = RateLimiter::new(3, 2.0);
        let start = Instant::now();
        let client = Client::of(Some("192.0.2.1".parse().unwrap()));
        for _ in 0..3 {
            assert!(limiter.take(client, start).is_ok());
        }
        let wait = limiter.take(client, start).unwrap_err();
        assert_eq!(wait, Duration::from_millis(500));
        // Another client has its own bucket.
        let other = Client::of(Some("192.0.2.2".parse().unwrap()));
        assert!(limiter.take(other, start).is_ok());
        assert!(
            limiter
                .take(client, start + Duration::from_millis(500))
                .is_ok()
        );
        assert!(
            limiter
                .take(client, start + Duration::from_millis(500))
                .is_err()
        );
    }

    #[test]
    fn an_ipv6_client_is_its_slash_64() {
        let a = Client::of(Some("2001:db8:1:2::1".parse().unwrap()));
        let b = Client::of(Some("2001:db8:1:2:ffff::9".parse().unwrap()));
        let c = Client::of(Some("2001:db8:1:3::1".parse().unwrap()));
        assert_eq!(a, b);
        assert_ne!(a, c);
        let mapped = Client::of(Some("::ffff:192.0.2.1".parse().unwrap()));
        assert_eq!(mapped, Client::of(Some("192.0.2.1".parse().unwrap())));
        assert_eq!(Client::of(None), Client::Shared);
    }
}
