//! Per-route request counts and latency histograms, rendered as Prometheus
//! text; process figures for the JSON form of `/metrics`.

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;


/// Upper bounds (seconds) of the latency histogram buckets.
const BUCKETS: [f64; 12] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<(String, String), Histogram>>,
}

impl Metrics {
    pub fn record(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let mut requests = self.requests.lock().expect("metrics lock");
        *requests.entry((method.to_string(), route.to_string(), status)).or_default() += 1;
        drop(requests);
        let mut latency = self.latency.lock().expect("metrics lock");
        let h = latency.entry((method.to_string(), route.to_string())).or_default();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                h.counts[i] += 1;
            }
        }
        h.sum += seconds;
        h.count += 1;
    }

    /// Prometheus text exposition format, version 0.0.4.
    pub fn render_prometheus(&self, process: &ProcessStats) -> String {
        let mut out = String::new();
        out.push_str("# HELP tessera_http_requests_total HTTP requests by route and status.\n");
        out.push_str("# TYPE tessera_http_requests_total counter\n");
        for ((method, route, status), n) in self.requests.lock().expect("metrics lock").iter() {
            out.push_str(&format!(
                "tessera_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{status}\"}} {n}\n",
                escape(method),
                escape(route)
            ));
        }
        out.push_str("# HELP tessera_http_request_duration_seconds HTTP request latency.\n");
        out.push_str("# TYPE tessera_http_request_duration_seconds histogram\n");
        for ((method, route), h) in self.latency.lock().expect("metrics lock").iter() {
            let labels = format!("method=\"{}\",route=\"{}\"", escape(method), escape(route));
            for (i, bound) in BUCKETS.iter().enumerate() {
                out.push_str(&format!(
                    "tessera_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {}\n",
                    h.counts[i]
                ));
            }
            out.push_str(&format!(
                "tessera_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}\n",
                h.count
            ));
            out.push_str(&format!("tessera_http_request_duration_seconds_sum{{{labels}}} {}\n", h.sum));
            out.push_str(&format!("tessera_http_request_duration_seconds_count{{{labels}}} {}\n", h.count));
        }
        out.push_str("# HELP tessera_process_resident_memory_bytes Resident set size.\n");
        out.push_str("# TYPE tessera_process_resident_memory_bytes gauge\n");
        out.push_str(&format!("tessera_process_resident_memory_bytes {}\n", process.rss_bytes));
        out.push_str("# HELP tessera_process_uptime_seconds Seconds since start.\n");
        out.push_str("# TYPE tessera_process_uptime_seconds gauge\n");
        out.push_str(&format!("tessera_process_uptime_seconds {}\n", process.uptime_secs));
        out.push_str("# HELP tessera_process_cpu_seconds_total CPU time used by the process.\n");
        out.push_str("# TYPE tessera_process_cpu_seconds_total counter\n");
        out.push_str(&format!("tessera_process_cpu_seconds_total {}\n", process.cpu_user_secs + process.cpu_system_secs));
        out
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Records every request under its route template (never the raw path, so
/// ids do not explode the label set).
pub async fn track(State(metrics): State<std::sync::Arc<Metrics>>, req: Request, next: Next) -> Response {
    let method = method_label(req.method()).to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let start = Instant::now();
    let response = next.run(req).await;
    metrics.record(&method, &route, response.status().as_u16(), start.elapsed().as_secs_f64());
    response
}

/// The standard methods by name, every other (invented) method as `other`,
/// so that clients cannot grow the label set.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// What the process uses, read from the OS.
#[derive(Debug, Clone)]
pub struct ProcessStats {
    pub pid: u32,
    pub uptime_secs: f64,
    pub rss_bytes: u64,
    pub virtual_bytes: u64,
    pub system_total_bytes: u64,
    pub system_used_bytes: u64,
    pub cpu_user_secs: f64,
    pub cpu_system_secs: f64,
    pub cpu_percent: f32,
    pub cpu_count: usize,
}

impl ProcessStats {
    pub fn read(uptime_secs: f64) -> Self {
        use sysinfo::{ProcessRefreshKind, ProcessesToUpdate, RefreshKind, System};
        let pid = std::process::id();
        let spid = sysinfo::Pid::from_u32(pid);
        let mut sys = System::new_with_specifics(
            RefreshKind::nothing().with_memory(sysinfo::MemoryRefreshKind::everything()),
        );
        sys.refresh_processes_specifics(
            ProcessesToUpdate::Some(&[spid]),
            true,
            ProcessRefreshKind::nothing().with_memory().with_cpu(),
        );
        let (rss, virt, cpu_percent) = sys
            .process(spid)
            .map(|p| (p.memory(), p.virtual_memory(), p.cpu_usage()))
            .unwrap_or_default();
        let (user, system) = cpu_times();
        Self {
            pid,
            uptime_secs,
            rss_bytes: rss,
            virtual_bytes: virt,
            system_total_bytes: sys.total_memory(),
            system_used_bytes: sys.used_memory(),
            cpu_user_secs: user,
            cpu_system_secs: system,
            cpu_percent,
            cpu_count: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        }
    }
}

/// User and system CPU seconds of this process (Linux `/proc/self/stat`;
/// zero elsewhere).
fn cpu_times() -> (f64, f64) {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else { return (0.0, 0.0) };
    // Fields after the command name (which may contain spaces) start after ')'.
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else { return (0.0, 0.0) };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = 100.0; // USER_HZ on Linux
    let utime = fields.get(11).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    let stime = fields.get(12).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (utime / ticks, stime / ticks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_counts_are_cumulative() {
        let m = Metrics::default();
        m.record("GET", "/health", 200, 0.003);
        m.record("GET", "/health", 200, 0.2);
        let text = m.render_prometheus(&ProcessStats::read(1.0));
        assert!(text.contains("tessera_http_requests_total{method=\"GET\",route=\"/health\",status=\"200\"} 2"));
        assert!(text.contains("route=\"/health\",le=\"0.005\"} 1"));
        assert!(text.contains("route=\"/health\",le=\"0.25\"} 2"));
    }

    #[test]
    fn invented_methods_share_one_label() {
        let invented = axum::http::Method::from_bytes(b"BREW").unwrap();
        assert_eq!(method_label(&invented), "other");
        assert_eq!(method_label(&axum::http::Method::POST), "POST");
    }

    #[test]
    fn process_stats_are_real() {
        let p = ProcessStats::read(1.0);
        assert_eq!(p.pid, std::process::id());
        assert!(p.rss_bytes > 0 && p.system_total_bytes > p.rss_bytes);
    }
}
