//! The HTTP/1.1 accept loop, with the connection hygiene a server facing the Internet needs
//! (issue 12): a connection that has not sent a request's headers within `HEADER_READ_TIMEOUT`
//! is closed (slowloris), and so is one whose client stops reading its answers for as long (slow
//! read); open connections are limited in total (`MAX_CONNECTIONS`, kept under
//! the file-descriptor limit, which start-up raises to its hard maximum) and per client address
//! (`MAX_CONNECTIONS_PER_CLIENT`; peers in `TRUSTED_PROXIES` are exempt, as every connection of
//! a gateway comes from them). A connection over a limit is closed at once, before any byte is
//! read, so the slots it would take stay free for `/healthz` and real clients.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tower::ServiceExt as _;

use crate::config::{Config, IpNet};

/// How long in-flight requests may take to finish once shutdown begins.
const DRAIN: Duration = Duration::from_secs(30);
/// File descriptors kept for the database pool, Redis, Kafka, keys and logs.
const RESERVED_FDS: u64 = 128;

/// The connection limits of one node.
#[derive(Debug, Clone)]
pub struct Limits {
    pub header_read_timeout: Duration,
    pub max_connections: usize,
    pub per_client: usize,
    pub exempt: Vec<IpNet>,
}

impl Limits {
    /// The configured limits, the total capped by the file-descriptor limit (raised first).
    pub fn from_config(config: &Config) -> Self {
        let fds = raise_fd_limit();
        let cap = usize::try_from(fds.saturating_sub(RESERVED_FDS).max(16)).unwrap_or(usize::MAX);
        let max_connections = config.max_connections.min(cap);
        if max_connections < config.max_connections {
            tracing::warn!(
                configured = config.max_connections,
                fd_limit = fds,
                using = max_connections,
                "MAX_CONNECTIONS is above what the file-descriptor limit allows"
            );
        }
        Self {
            header_read_timeout: Duration::from_millis(
                u64::try_from(config.header_read_timeout.whole_milliseconds()).unwrap_or(10_000),
            ),
            max_connections,
            per_client: config.max_connections_per_client,
            exempt: config.trusted_proxies.clone(),
        }
    }
}

/// Raises the soft limit on open files to the hard limit; returns the limit in force.
fn raise_fd_limit() -> u64 {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read or raise the open-file limit");
            rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(1024, |(soft, _)| soft)
        }
    }
}

/// The address a client's connections are counted under: IPv4 as is, IPv6 by its /64 (what one
/// host usually holds, as the rate limits count it), so one host cannot take every slot by
/// cycling through its addresses.
fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(std::net::Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX))),
        },
        v4 => v4,
    }
}

/// A connection whose writes must make progress: a client that stops reading its answers (a
/// slow read, or requests pipelined without reading) is dropped once a write has waited
/// `limit`, instead of holding its slot for ever (hyper's HTTP/1 has no write timeout).
struct WriteDeadline {
    inner: TcpStream,
    limit: Duration,
    stalled: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl WriteDeadline {
    fn new(inner: TcpStream, limit: Duration) -> Self {
        Self {
            inner,
            limit,
            stalled: None,
        }
    }

    /// Called when a write could not proceed: pending until `limit` has passed, then an error.
    fn wait<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        let limit = self.limit;
        let sleep = self.stalled.get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client stopped reading",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn progressed<T>(&mut self, done: Poll<io::Result<T>>, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        match done {
            Poll::Ready(result) => {
                self.stalled = None;
                Poll::Ready(result)
            }
            Poll::Pending => self.wait(cx),
        }
    }
}

impl AsyncRead for WriteDeadline {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for WriteDeadline {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let done = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.progressed(done, cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let done = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.progressed(done, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let done = Pin::new(&mut this.inner).poll_flush(cx);
        this.progressed(done, cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// Open connections per client address.
#[derive(Default)]
struct PerClient(Mutex<HashMap<IpAddr, usize>>);

/// One connection counted against its address; uncounted when dropped.
struct Counted {
    table: Arc<PerClient>,
    ip: IpAddr,
}

impl PerClient {
    fn admit(self: &Arc<Self>, ip: IpAddr, max: usize) -> Option<Counted> {
        let mut map = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = map.entry(ip).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(Counted {
            table: Arc::clone(self),
            ip,
        })
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        let mut map = self.table.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = map.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then lets in-flight requests finish
/// (at most [`DRAIN`]).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let total = Arc::new(Semaphore::new(limits.max_connections));
    let per_client = Arc::new(PerClient::default());
    let graceful = GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(Some(limits.header_read_timeout))
        .keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors or the like: say so, breathe, go on.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(slot) = Arc::clone(&total).try_acquire_owned() else {
            tracing::debug!(peer = %peer, "connection refused: MAX_CONNECTIONS reached");
            continue;
        };
        let counted = if limits.exempt.iter().any(|net| net.contains(peer.ip())) {
            None
        } else {
            match per_client.admit(client_key(peer.ip()), limits.per_client) {
                Some(counted) => Some(counted),
                None => {
                    tracing::debug!(peer = %peer, "connection refused: MAX_CONNECTIONS_PER_CLIENT reached");
                    continue;
                }
            }
        };
        let _ = stream.set_nodelay(true);
        let service = router
            .clone()
            .map_request(move |mut request: axum::extract::Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
                request.map(axum::body::Body::new)
            });
        let stream = WriteDeadline::new(stream, limits.header_read_timeout);
        let connection = builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _ = connection.await;
            drop(counted);
            drop(slot);
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown()).await.is_err() {
        tracing::warn!("requests still in flight after the drain period; closing them");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_are_counted_by_their_64_and_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_key(a), client_key(b));
        assert_ne!(client_key(a), client_key(other));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(client_key(mapped), "192.0.2.7".parse::<IpAddr>().unwrap());
        let table = Arc::new(PerClient::default());
        let first = table.admit(client_key(a), 1);
        assert!(first.is_some() && table.admit(client_key(b), 1).is_none());
        drop(first);
        assert!(
            table.admit(client_key(b), 1).is_some(),
            "a closed connection frees its slot"
        );
    }

    #[tokio::test]
    async fn a_write_to_a_peer_that_stops_reading_fails_after_the_limit() {
        use tokio::io::AsyncWriteExt as _;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let peer = tokio::spawn(async move {
            // Accepts and never reads.
            let (stream, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(30)).await;
            drop(stream);
        });
        let stream = TcpStream::connect(addr).await.unwrap();
        let mut slow = WriteDeadline::new(stream, Duration::from_millis(200));
        let chunk = vec![0u8; 64 * 1024];
        let started = std::time::Instant::now();
        let error = loop {
            match tokio::time::timeout(Duration::from_secs(10), slow.write_all(&chunk)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => break e,
                Err(_) => panic!("the write hung past its deadline"),
            }
        };
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert!(started.elapsed() < Duration::from_secs(10));
        peer.abort();
    }
}
