//! Connection-level limits (`api.md`, Conventions): how long a client may take to send its
//! headers and how long a connection may sit idle (slow-loris), how many connections are served
//! at once, and how many requests an address and a user may send (429 with `Retry-After`).
//!
//! The server loop ([`serve`]) is hyper's, configured here (HTTP/1.1): axum's own `serve` has no
//! header-read timeout, no idle timeout and no connection cap. Each request carries the peer's address
//! ([`axum::extract::ConnectInfo`]), which [`per_address`] reads, or the client address that a
//! configured trusted proxy put in `X-Forwarded-For`.
//!
//! The rate limits are token buckets: a key (an address, a user id) may send `per_minute`
//! requests in a burst and then one every `60 / per_minute` seconds. The tables are bounded: when
//! one grows past [`MAX_TRACKED`] keys, the keys whose bucket is full again (idle ones) are
//! dropped, and if that is not enough the table is cleared (which only ever lets requests
//! through, never refuses one it should not).

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::http::error::ApiError;

/// Most keys a rate table keeps before it drops the idle ones.
pub const MAX_TRACKED: usize = 100_000;

/// The limits, as configured (`ptl.toml`: `header_read_timeout_secs`, `idle_timeout_secs`,
/// `max_connections`, `rate_limit_per_address`, `rate_limit_per_user`, `trusted_proxies`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitSettings {
    /// Time a client has to send a request's headers (also the longest a keep-alive connection
    /// waits for the next request).
    pub header_read_timeout: Duration,
    /// A connection on which nothing is read or written for this long is closed.
    pub idle_timeout: Duration,
    /// Connections served at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// Requests per minute from one client address (0: no limit).
    pub per_address_per_minute: u32,
    /// Requests per minute from one user (`sub`), counted after authentication (0: no limit).
    pub per_user_per_minute: u32,
    /// Proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<IpAddr>,
}

impl Default for LimitSettings {
    /// Generous for a busy office (and for the benchmarks' 64 clients on one address and one
    /// token): 10 s for the headers, 60 s idle, 1,024 connections, 120,000 requests a minute per
    /// address and 60,000 per user.
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 1024,
            per_address_per_minute: 120_000,
            per_user_per_minute: 60_000,
            trusted_proxies: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// A token bucket per key.
#[derive(Debug)]
pub struct RateLimiter<K> {
    per_minute: u32,
    buckets: Mutex<HashMap<K, Bucket>>,
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    /// `per_minute` requests a minute per key (0: unlimited).
    #[must_use]
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request for `key` at `now`, or says how long to wait for the next.
    ///
    /// # Errors
    /// The wait, when `key` has used up its allowance.
    pub fn check(&self, key: &K, now: Instant) -> Result<(), Duration> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let capacity = f64::from(self.per_minute);
        let per_sec = capacity / 60.0;
        let mut map = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() >= MAX_TRACKED && !map.contains_key(key) {
            map.retain(|_, b| {
                b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * per_sec < capacity
            });
            if map.len() >= MAX_TRACKED {
                map.clear();
            }
        }
        let b = map.entry(key.clone()).or_insert(Bucket {
            tokens: capacity,
            at: now,
        });
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * per_sec).min(capacity);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - b.tokens) / per_sec))
        }
    }
}

/// The limits in force: the settings and the two rate tables.
#[derive(Debug)]
pub struct Limits {
    /// The settings.
    pub settings: LimitSettings,
    per_address: RateLimiter<IpAddr>,
    per_user: RateLimiter<String>,
}

impl Limits {
    /// Empty tables for these settings.
    #[must_use]
    pub fn new(settings: LimitSettings) -> Self {
        Self {
            per_address: RateLimiter::new(settings.per_address_per_minute),
            per_user: RateLimiter::new(settings.per_user_per_minute),
            settings,
        }
    }

    /// The client address of a request from `peer`: the right-most `X-Forwarded-For` entry that
    /// is not itself a trusted proxy, when `peer` is one; `peer` otherwise.
    #[must_use]
    pub fn client_address(&self, peer: IpAddr, headers: &axum::http::HeaderMap) -> IpAddr {
        let trusted = &self.settings.trusted_proxies;
        if !trusted.contains(&peer) {
            return peer;
        }
        let mut client = peer;
        let hops = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect::<Vec<_>>();
        for hop in hops.iter().rev() {
            match hop.parse::<IpAddr>() {
                Ok(ip) => {
                    client = ip;
                    if !trusted.contains(&ip) {
                        break;
                    }
                }
                // A malformed entry: trust nothing before it.
                Err(_) => break,
            }
        }
        client
    }

    /// Counts one request of the user `sub` (right after authentication).
    ///
    /// # Errors
    /// 429 `too_many_requests` past the per-user limit.
    pub fn check_user(&self, sub: &str) -> Result<(), ApiError> {
        self.per_user
            .check(&sub.to_string(), Instant::now())
            .map_err(too_many)
    }

    fn check_address(&self, ip: IpAddr) -> Result<(), ApiError> {
        self.per_address
            .check(&ip, Instant::now())
            .map_err(too_many)
    }
}

fn too_many(wait: Duration) -> ApiError {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    ApiError::TooManyRequests {
        retry_after_secs: secs.max(1),
    }
}

/// Middleware, outermost: the per-address limit, before everything else. A request that came
/// without the peer's address (a router served without [`serve`]) is not counted.
pub async fn per_address(State(limits): State<Arc<Limits>>, req: Request, next: Next) -> Response {
    if let Some(ConnectInfo(peer)) = req.extensions().get::<ConnectInfo<SocketAddr>>() {
        let ip = limits.client_address(peer.ip(), req.headers());
        if let Err(e) = limits.check_address(ip) {
            return e.into_response();
        }
    }
    next.run(req).await
}

/// A connection that fails with `TimedOut` when its first byte does not come within `first`, or
/// when nothing was read or written for `timeout` while the server waited on it. (hyper's
/// header-read timeout runs only once a request has begun: a connection that never sends a byte
/// is closed by `first`.)
#[derive(Debug)]
pub struct IdleTimeout<T> {
    inner: T,
    timeout: Duration,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl<T> IdleTimeout<T> {
    /// Wraps `inner`.
    pub fn new(inner: T, first: Duration, timeout: Duration) -> Self {
        Self {
            inner,
            timeout,
            sleep: Box::pin(tokio::time::sleep(first)),
        }
    }

    fn touch(&mut self) {
        let deadline = tokio::time::Instant::now() + self.timeout;
        self.sleep.as_mut().reset(deadline);
    }

    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        self.sleep.as_mut().poll(cx).is_ready()
    }
}

fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "the connection was idle too long")
}

impl<T: AsyncRead + Unpin> AsyncRead for IdleTimeout<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(r) => {
                this.touch();
                Poll::Ready(r)
            }
            Poll::Pending if this.expired(cx) => Poll::Ready(Err(timed_out())),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for IdleTimeout<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_write(cx, data) {
            Poll::Ready(r) => {
                this.touch();
                Poll::Ready(r)
            }
            Poll::Pending if this.expired(cx) => Poll::Ready(Err(timed_out())),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_flush(cx) {
            Poll::Pending if this.expired(cx) => Poll::Ready(Err(timed_out())),
            other => other,
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// Serves `app` on `listener` with the connection limits until `shutdown` completes, then lets
/// the connections finish their requests. Each request carries the peer's address.
///
/// # Errors
/// The connection semaphore is closed (never).
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    settings: LimitSettings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use hyper_util::server::conn::auto::Builder;
    use hyper_util::service::TowerToHyperService;
    use tower::ServiceExt as _;

    let slots = Arc::new(tokio::sync::Semaphore::new(settings.max_connections.max(1)));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let shutdown = shutdown;
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = Arc::clone(&slots).acquire_owned() => p.map_err(io::Error::other)?,
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait, then accept again.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = app
            .clone()
            .map_request(move |mut req: Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                req
            });
        let watcher = graceful.watcher();
        let header_read_timeout = settings.header_read_timeout;
        let io = TokioIo::new(IdleTimeout::new(
            stream,
            settings.header_read_timeout,
            settings.idle_timeout,
        ));
        tokio::spawn(async move {
            // HTTP/1.1 only: the header-read timeout then runs from the first byte the
            // connection could carry (the HTTP/2 preface detection would wait without one).
            let mut builder = Builder::new(TokioExecutor::new()).http1_only();
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(header_read_timeout);
            let conn = builder
                .serve_connection_with_upgrades(io, TowerToHyperService::new(service))
                .into_owned();
            if let Err(e) = watcher.watch(conn).await {
                tracing::debug!(error = %e, %peer, "connection closed with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_past_its_burst_waits_and_another_key_does_not() {
        let limiter = RateLimiter::new(60);
        let t0 = Instant::now();
        for _ in 0..60 {
            assert!(limiter.check(&"a", t0).is_ok());
        }
        let wait = limiter.check(&"a", t0).unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
        assert!(limiter.check(&"b", t0).is_ok());
        // one second later, one more request is allowed
        assert!(limiter.check(&"a", t0 + Duration::from_secs(1)).is_ok());
        assert!(limiter.check(&"a", t0 + Duration::from_secs(1)).is_err());
    }

    #[test]
    fn a_zero_limit_means_no_limit() {
        let limiter = RateLimiter::new(0);
        let t0 = Instant::now();
        for _ in 0..1000 {
            assert!(limiter.check(&1, t0).is_ok());
        }
    }

    #[test]
    fn the_table_stays_bounded() {
        let limiter = RateLimiter::new(10);
        let t0 = Instant::now();
        for k in 0..(MAX_TRACKED + 10) {
            let _ = limiter.check(&k, t0);
        }
        assert!(limiter.buckets.lock().unwrap().len() <= MAX_TRACKED);
    }

    fn headers(xff: &str) -> axum::http::HeaderMap {
        let mut h = axum::http::HeaderMap::new();
        h.insert("x-forwarded-for", xff.parse().unwrap());
        h
    }

    #[test]
    fn x_forwarded_for_is_trusted_only_from_a_configured_proxy() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let limits = Limits::new(LimitSettings {
            trusted_proxies: vec![proxy],
            ..LimitSettings::default()
        });
        let stranger: IpAddr = "203.0.113.9".parse().unwrap();
        // from a stranger, the header is ignored
        assert_eq!(
            limits.client_address(stranger, &headers("198.51.100.1")),
            stranger
        );
        // from the proxy, the right-most untrusted entry is the client (a client cannot forge
        // its way past the proxy by sending its own header first)
        assert_eq!(
            limits.client_address(proxy, &headers("1.1.1.1, 198.51.100.7")),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            limits.client_address(proxy, &headers("198.51.100.7, 10.0.0.1")),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        assert_eq!(limits.client_address(proxy, &headers("garbage")), proxy);
    }
}
