//! A token bucket per client: each client may burst up to `capacity` requests and then
//! `refill_per_second` more each second. An IPv6 client is its /64 (one subscriber's network),
//! and every /48 (one site) also has a bucket of [`NETWORK_SHARE`] times as much, taken from
//! first, so that one site's 65,536 /64s cannot flood the table. An IPv4 client is its address.
//! Behind a reverse proxy every visitor shares the proxy's bucket: forwarded-for headers are
//! not trusted, since anyone could send them.
//!
//! The table is bounded: it is split into [`SHARDS`] shards (each behind its own mutex, chosen
//! by a hash of the client), and a shard that is full forgets its least recently seen client
//! to make room, in O(1) amortised. A forgotten client starts again with a full bucket, so a
//! flood of new addresses never locks a visitor out; at worst it forgives a client that had
//! not been seen for a while (an idle bucket refills to full anyway).

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, RandomState};
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most clients remembered at once, over all shards.
const MAX_CLIENTS: usize = 65_536;
/// Shards of the table, each with its own lock.
const SHARDS: usize = 16;
/// How many clients' worth of requests an IPv6 /48 may make, over all its /64s.
pub(super) const NETWORK_SHARE: u32 = 16;

/// The buckets.
#[derive(Debug)]
pub(super) struct RateLimiter {
    capacity: f64,
    refill_per_second: f64,
    /// Clients remembered per shard.
    per_shard: usize,
    hasher: RandomState,
    shards: Vec<Mutex<Shard>>,
}

/// Who a bucket belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Client {
    /// A client address (IPv6 truncated to its /64).
    Address(IpAddr),
    /// An IPv6 /48: the share of all its /64s.
    Network(Ipv6Addr),
    /// Requests whose peer is unknown.
    Shared,
}

impl Client {
    /// The bucket key for a peer address, if the transport gave one.
    pub(super) fn of(peer: Option<IpAddr>) -> Client {
        match peer {
            Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => Client::Address(IpAddr::V4(v4)),
                None => Client::Address(IpAddr::V6(prefix(v6, 64))),
            },
            Some(v4) => Client::Address(v4),
            None => Client::Shared,
        }
    }

    /// The network whose share this client also draws on: an IPv6 client's /48.
    fn network(self) -> Option<Client> {
        match self {
            Client::Address(IpAddr::V6(v6)) => Some(Client::Network(prefix(v6, 48))),
            _ => None,
        }
    }
}

/// `address` truncated to its first `bits` bits.
fn prefix(address: Ipv6Addr, bits: u32) -> Ipv6Addr {
    let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
    Ipv6Addr::from(u128::from(address) & mask)
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
    /// When it was last used, in the shard's order (matches its newest entry in `seen`).
    stamp: u64,
}

/// One shard: the buckets, and the order they were used in (least recent first). `seen` may
/// hold stale entries (a client used again since): they are skipped, and dropped when `seen`
/// grows to twice the buckets, so each request costs O(1) amortised.
#[derive(Debug, Default)]
struct Shard {
    buckets: HashMap<Client, Bucket>,
    seen: VecDeque<(Client, u64)>,
    clock: u64,
}

impl Shard {
    /// Forgets the least recently used client.
    fn forget_least_recent(&mut self) {
        while let Some((client, stamp)) = self.seen.pop_front() {
            if self.buckets.get(&client).is_some_and(|b| b.stamp == stamp) {
                self.buckets.remove(&client);
                return;
            }
        }
    }

    /// Notes that `client` (whose bucket is in the table) was just used, with `stamp`.
    fn note_use(&mut self, client: Client, stamp: u64) {
        self.seen.push_back((client, stamp));
        if self.seen.len() > 2 * self.buckets.len() + 16 {
            let buckets = &self.buckets;
            self.seen
                .retain(|(c, stamp)| buckets.get(c).is_some_and(|b| b.stamp == *stamp));
        }
    }
}

impl RateLimiter {
    /// Buckets of `capacity` tokens refilled at `refill_per_second`.
    pub(super) fn new(capacity: u32, refill_per_second: f64) -> RateLimiter {
        RateLimiter::with_max_clients(capacity, refill_per_second, MAX_CLIENTS)
    }

    /// As [`RateLimiter::new`], remembering at most about `max_clients` clients.
    fn with_max_clients(capacity: u32, refill_per_second: f64, max_clients: usize) -> RateLimiter {
        RateLimiter {
            capacity: f64::from(capacity.max(1)),
            refill_per_second: refill_per_second.max(0.001),
            per_shard: max_clients.div_ceil(SHARDS).max(1),
            hasher: RandomState::new(),
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
        }
    }

    /// Takes a token for `client` at `now` (and one from its network's share): `Ok` when there
    /// was one, otherwise how long until there is.
    pub(super) fn take(&self, client: Client, now: Instant) -> Result<(), Duration> {
        let Some(network) = client.network() else {
            return self.take_one(client, 1.0, now);
        };
        let share = f64::from(NETWORK_SHARE);
        self.take_one(network, share, now)?;
        let taken = self.take_one(client, 1.0, now);
        if taken.is_err() {
            // A refused request does not use up its siblings' share.
            self.give_back(network, share);
        }
        taken
    }

    /// Takes a token from the bucket of `client`, `scale` times the usual size.
    fn take_one(&self, client: Client, scale: f64, now: Instant) -> Result<(), Duration> {
        let capacity = self.capacity * scale;
        let refill = self.refill_per_second * scale;
        let mut shard = self.shard(client);
        if !shard.buckets.contains_key(&client) && shard.buckets.len() >= self.per_shard {
            shard.forget_least_recent();
        }
        shard.clock += 1;
        let stamp = shard.clock;
        let bucket = shard.buckets.entry(client).or_insert(Bucket {
            tokens: capacity,
            at: now,
            stamp,
        });
        bucket.stamp = stamp;
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * refill).min(capacity);
        bucket.at = now.max(bucket.at);
        let taken = if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / refill))
        };
        shard.note_use(client, stamp);
        taken
    }

    /// Returns a token taken from the bucket of `client`.
    fn give_back(&self, client: Client, scale: f64) {
        let capacity = self.capacity * scale;
        if let Some(bucket) = self.shard(client).buckets.get_mut(&client) {
            bucket.tokens = (bucket.tokens + 1.0).min(capacity);
        }
    }

    fn shard(&self, client: Client) -> std::sync::MutexGuard<'_, Shard> {
        let index = (self.hasher.hash_one(client) % SHARDS as u64) as usize;
        self.shards[index].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Clients remembered.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|e| e.into_inner()).buckets.len())
            .sum()
    }

    /// Entries kept for the order of use (bounded with the table).
    #[cfg(test)]
    fn order_len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|e| e.into_inner()).seen.len())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(n: u32) -> Client {
        Client::of(Some(IpAddr::V4(n.into())))
    }

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
        assert_eq!(a.network(), c.network());
        assert_eq!(
            a.network(),
            Some(Client::Network("2001:db8:1::".parse().unwrap()))
        );
        let mapped = Client::of(Some("::ffff:192.0.2.1".parse().unwrap()));
        assert_eq!(mapped, Client::of(Some("192.0.2.1".parse().unwrap())));
        assert_eq!(mapped.network(), None);
        assert_eq!(Client::of(None), Client::Shared);
    }

    #[test]
    fn a_flood_of_new_addresses_locks_no_one_out_and_memory_stays_bounded() {
        let max = 256;
        let limiter = RateLimiter::with_max_clients(3, 2.0, max);
        let start = Instant::now();
        let visitor = Client::of(Some("198.51.100.7".parse().unwrap()));
        assert!(limiter.take(visitor, start).is_ok());
        // Many times the table's size of distinct addresses, all at once.
        for n in 0..50 * max as u32 {
            assert!(limiter.take(v4(0x0a00_0000 + n), start).is_ok());
            if n % 64 == 0 {
                // The visitor keeps coming back (slowly enough for its bucket).
                let at = start + Duration::from_secs(u64::from(n / 64));
                assert!(limiter.take(visitor, at).is_ok(), "after {n} newcomers");
            }
        }
        let later = start + Duration::from_secs(3600);
        assert!(limiter.take(visitor, later).is_ok());
        // A visitor never seen before is not pushed into a shared bucket either.
        let newcomer = Client::of(Some("203.0.113.9".parse().unwrap()));
        for _ in 0..3 {
            assert!(limiter.take(newcomer, later).is_ok());
        }
        let per_shard = max.div_ceil(SHARDS);
        assert!(limiter.len() <= SHARDS * per_shard, "{}", limiter.len());
        assert!(
            limiter.order_len() <= SHARDS * (2 * per_shard + 17),
            "{}",
            limiter.order_len()
        );
    }

    #[test]
    fn a_client_seen_recently_stays_limited_while_others_come_and_go() {
        let limiter = RateLimiter::with_max_clients(3, 2.0, 1024);
        let start = Instant::now();
        let greedy = v4(0xc000_0201);
        for _ in 0..3 {
            assert!(limiter.take(greedy, start).is_ok());
        }
        for n in 0..200 {
            let _ = limiter.take(v4(0x0a00_0000 + n), start);
            // Still remembered, so still empty.
            assert!(limiter.take(greedy, start).is_err());
        }
    }

    #[test]
    fn one_ipv6_site_cannot_flood_with_its_slash_64s() {
        let limiter = RateLimiter::with_max_clients(3, 2.0, 100_000);
        let start = Instant::now();
        let site: u128 = u128::from("2001:db8:aa::".parse::<Ipv6Addr>().unwrap());
        let mut allowed = 0u32;
        for n in 0..65_536u128 {
            let address = Ipv6Addr::from(site | (n << 64) | 1);
            if limiter
                .take(Client::of(Some(address.into())), start)
                .is_ok()
            {
                allowed += 1;
            }
        }
        assert_eq!(allowed, 3 * NETWORK_SHARE);
        // Refused /64s were not remembered, and another site is unaffected.
        assert!(limiter.len() <= (3 * NETWORK_SHARE) as usize + 1);
        let other = Client::of(Some("2001:db8:bb::1".parse().unwrap()));
        assert!(limiter.take(other, start).is_ok());
        // One greedy /64 does not use up its site's share.
        let limiter = RateLimiter::new(3, 2.0);
        let greedy = Client::of(Some("2001:db8:cc:1::1".parse().unwrap()));
        for _ in 0..1000 {
            let _ = limiter.take(greedy, start);
        }
        let sibling = Client::of(Some("2001:db8:cc:2::1".parse().unwrap()));
        assert!(limiter.take(sibling, start).is_ok());
    }
}
