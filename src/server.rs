//! The HTTP/1.1 connection layer under the router: header-read and body
//! timeouts, a cap on open connections (per process and per client address)
//! and an immediate 413 for a declared body larger than the limit, so that
//! slow or greedy clients cannot hold the process's sockets or memory.

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

use crate::config::Config;
use crate::error::{AppError, Problem};

/// What one process lets its clients hold.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    pub header_read_timeout: Duration,
    pub body_idle_timeout: Duration,
    pub body_total_timeout: Duration,
    pub max_connections: usize,
    /// 0: no per-address share.
    pub max_per_address: usize,
    pub max_body_bytes: u64,
}

impl ConnectionLimits {
    pub fn from_config(config: &Config) -> Self {
        Self {
            header_read_timeout: Duration::from_secs(config.header_read_timeout_secs),
            body_idle_timeout: Duration::from_secs(config.body_idle_timeout_secs),
            body_total_timeout: Duration::from_secs(config.body_total_timeout_secs),
            max_connections: config.max_connections as usize,
            max_per_address: config.max_connections_per_address as usize,
            max_body_bytes: config.max_body_bytes as u64,
        }
    }
}

/// Open connections per client address.
#[derive(Default)]
struct AddressShares {
    counts: Mutex<HashMap<IpAddr, usize>>,
}

/// One admitted connection: its process permit and its address share,
/// both given back when the connection ends.
struct Slot {
    shares: Arc<AddressShares>,
    ip: IpAddr,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self.shares.counts.lock().expect("connection shares lock");
        if let Some(n) = counts.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}

fn admit(permits: &Arc<Semaphore>, shares: &Arc<AddressShares>, ip: IpAddr, max_per_address: usize) -> Option<Slot> {
    let permit = permits.clone().try_acquire_owned().ok()?;
    let mut counts = shares.counts.lock().expect("connection shares lock");
    let n = counts.entry(ip).or_insert(0);
    if max_per_address > 0 && *n >= max_per_address {
        if *n == 0 {
            counts.remove(&ip);
        }
        return None;
    }
    *n += 1;
    drop(counts);
    Some(Slot { shares: shares.clone(), ip, _permit: permit })
}

/// Written to a connection over the cap, which is then closed.
const REFUSAL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
content-type: application/problem+json\r\n\
retry-after: 1\r\n\
connection: close\r\n\
content-length: 143\r\n\r\n\
{\"type\":\"about:blank\",\"title\":\"Service Unavailable\",\"status\":503,\"detail\":\"too many open connections; try again\",\"code\":\"too_many_connections\"}";

/// Accepts connections until `shutdown` resolves, then lets open requests
/// finish (at most 30 s).
pub async fn serve_router(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let shares = Arc::new(AddressShares::default());
    let limits = Arc::new(limits);
    let (stop_tx, stop_rx) = watch::channel(());
    let (done_tx, done_rx) = watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, addr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and similar: back off instead of spinning.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let Some(slot) = admit(&permits, &shares, addr.ip(), limits.max_per_address) else {
            tokio::spawn(refuse(stream));
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(serve_connection(
            stream,
            addr,
            app.clone(),
            limits.clone(),
            slot,
            stop_rx.clone(),
            done_rx.clone(),
        ));
    }
    drop(listener);
    drop(stop_tx);
    drop(done_rx);
    let _ = tokio::time::timeout(Duration::from_secs(30), done_tx.closed()).await;
    Ok(())
}

/// Answers 503 and closes. What the client already sent is read (for at
/// most a second) so that the close is a FIN that lets it read the answer,
/// not a reset that discards it.
async fn refuse(mut stream: TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let _ = stream.try_write(REFUSAL);
    let _ = stream.shutdown().await;
    let mut sink = [0u8; 4096];
    let drain = async {
        let mut total = 0;
        while total < 64 * 1024 {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n,
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), drain).await;
}

async fn serve_connection(
    stream: TcpStream,
    addr: SocketAddr,
    app: Router,
    limits: Arc<ConnectionLimits>,
    slot: Slot,
    mut stop: watch::Receiver<()>,
    _done: watch::Receiver<()>,
) {
    let header_read_timeout = limits.header_read_timeout;
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let app = app.clone();
        let limits = limits.clone();
        async move { Ok::<_, Infallible>(handle(app, &limits, addr, req).await) }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(header_read_timeout);
    let conn = builder.serve_connection(TokioIo::new(stream), service).with_upgrades();
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(e) = result {
                tracing::debug!(error = %e, %addr, "connection ended with an error");
            }
        }
        _ = stop.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
    drop(slot);
}

/// One request: refuse an oversize declared body at once, give the router a
/// body that times out when the client stalls, and answer 408 (closing the
/// connection) when it did.
async fn handle(app: Router, limits: &ConnectionLimits, addr: SocketAddr, req: Request<Incoming>) -> Response {
    if let Some(len) = declared_length(&req)
        && len > limits.max_body_bytes
    {
        let err = AppError::too_large(format!(
            "the declared body of {len} bytes is over the {} byte limit",
            limits.max_body_bytes
        ));
        return closing(axum::response::IntoResponse::into_response(err));
    }
    let timed_out = Arc::new(AtomicBool::new(false));
    let (mut parts, body) = req.into_parts();
    parts.extensions.insert(ConnectInfo(addr));
    let body = TimedBody::new(body, limits.body_idle_timeout, limits.body_total_timeout, timed_out.clone());
    let req = Request::from_parts(parts, Body::new(body));
    let response = match app.oneshot(req).await {
        Ok(r) => r,
        Err(never) => match never {},
    };
    if timed_out.load(Ordering::Relaxed) {
        let mut problem = Problem::for_status(StatusCode::REQUEST_TIMEOUT);
        problem.detail = "the request body stalled; the connection is closed".into();
        problem.code = "request_timeout".into();
        return closing(problem.into_response_with(None));
    }
    response
}

fn declared_length(req: &Request<Incoming>) -> Option<u64> {
    req.headers().get(header::CONTENT_LENGTH)?.to_str().ok()?.trim().parse().ok()
}

fn closing(mut response: Response) -> Response {
    response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// A request body that fails when no data arrives for `idle`, or when it is
/// not complete `total` after the headers.
struct TimedBody {
    inner: Incoming,
    idle: Duration,
    deadline: Instant,
    timer: Option<Pin<Box<Sleep>>>,
    timed_out: Arc<AtomicBool>,
}

impl TimedBody {
    fn new(inner: Incoming, idle: Duration, total: Duration, timed_out: Arc<AtomicBool>) -> Self {
        Self { inner, idle, deadline: Instant::now() + total, timer: None, timed_out }
    }

    fn next_deadline(&self) -> Instant {
        (Instant::now() + self.idle).min(self.deadline)
    }
}

impl HttpBody for TimedBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                let next = this.next_deadline();
                if let Some(timer) = this.timer.as_mut() {
                    timer.as_mut().reset(next);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                let next = this.next_deadline();
                let timer = this.timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(next)));
                if timer.as_mut().poll(cx).is_ready() {
                    this.timed_out.store(true, Ordering::Relaxed);
                    return Poll::Ready(Some(Err("the request body timed out".into())));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refusal_is_a_well_formed_response() {
        let text = std::str::from_utf8(REFUSAL).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let declared: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(declared, body.len());
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(json["status"], 503);
    }

    #[test]
    fn address_shares_are_capped_and_given_back() {
        let permits = Arc::new(Semaphore::new(3));
        let shares = Arc::new(AddressShares::default());
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        let s1 = admit(&permits, &shares, a, 2).unwrap();
        let _s2 = admit(&permits, &shares, a, 2).unwrap();
        assert!(admit(&permits, &shares, a, 2).is_none(), "a third connection from one address");
        let s3 = admit(&permits, &shares, b, 2).unwrap();
        assert!(admit(&permits, &shares, b, 2).is_none(), "the process cap");
        drop(s1);
        drop(s3);
        assert!(admit(&permits, &shares, a, 2).is_some());
    }
}
