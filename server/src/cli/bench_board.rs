//! `urne bench-board`: durable appends/s and inclusion-proof reads/s over
//! HTTP against a board served in-process on loopback.
//!
//! The board is filled through the test-support append route up to each
//! requested size; at each size, inclusion proofs of random leaves are read
//! and then entries appended, by N concurrent clients. Every append is
//! acknowledged only once durable (group commit), so appends/s is the
//! durable rate.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::CliError;
use crate::api::auth::OrganiserToken;
use crate::api::board::Receipt;
use crate::api::limits::Limits;
use crate::election::ElectionId;
use crate::server::{self, ServerConfig};
use crate::store::sealed::{SecretsAtRest, SecretsKey};

/// Arguments of `urne bench-board`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Board sizes (entries already on the board) to measure at.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000,100000")]
    pub sizes: Vec<u64>,
    /// Numbers of concurrent clients.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64")]
    pub clients: Vec<usize>,
    /// Appends per measurement.
    #[arg(long, default_value_t = 2000)]
    pub appends: u64,
    /// Inclusion proofs per measurement.
    #[arg(long, default_value_t = 5000)]
    pub proofs: u64,
    /// Bytes per entry.
    #[arg(long, default_value_t = 512)]
    pub entry_bytes: usize,
    /// Data directory (default: a temporary directory, removed afterwards).
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
}

const ELECTION: ElectionId = ElectionId([0xbe; 32]);
const TOKEN: &str = "bench-board-organiser-token";

/// One measurement: operations per second and latency percentiles.
pub(super) struct Rate {
    pub(super) per_second: f64,
    pub(super) p50: Duration,
    pub(super) p99: Duration,
}

impl Rate {
    /// The rate of `latencies` completed in `elapsed`.
    pub(super) fn of(mut latencies: Vec<Duration>, elapsed: Duration) -> Rate {
        latencies.sort_unstable();
        let at = |q: f64| {
            latencies
                .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
                .copied()
                .unwrap_or_default()
        };
        Rate {
            per_second: latencies.len() as f64 / elapsed.as_secs_f64().max(1e-9),
            p50: at(0.50),
            p99: at(0.99),
        }
    }
}

/// Runs the benchmark and prints its table.
pub async fn run(args: BenchArgs) -> Result<(), CliError> {
    let bench = |e: String| CliError::Bench(e);
    let temp = tempfile::tempdir()?;
    let data_dir = args
        .data
        .clone()
        .unwrap_or_else(|| temp.path().join("data"));
    let limits = Limits {
        read_rate: None,
        write_rate: None,
        max_concurrent_requests: 4096,
        ..Limits::default()
    };
    let running = server::start(ServerConfig {
        data_dir,
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        organiser_token: Some(OrganiserToken::new(TOKEN).map_err(|e| bench(e.to_string()))?),
        limits,
        clock: crate::clock::BoardClock::system(),
        test_support: true,
        secrets: SecretsAtRest::Sealed(
            SecretsKey::generate().map_err(|e| CliError::Usage(e.to_string()))?,
        ),
    })
    .await?;
    let base = format!("http://{}", running.local_addr());
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .build()
        .map_err(|e| bench(e.to_string()))?;
    let max_clients = args.clients.iter().copied().max().unwrap_or(1).max(1);
    let mut sizes = args.sizes.clone();
    sizes.sort_unstable();

    println!(
        "{:>10} {:>8} {:>12} {:>10} {:>10} {:>12} {:>10} {:>10}",
        "size", "clients", "appends/s", "p50 ms", "p99 ms", "proofs/s", "p50 ms", "p99 ms"
    );
    let mut size = current_size(&http, &base).await;
    for target in sizes {
        if size < target {
            let started = Instant::now();
            append_many(&http, &base, max_clients, target - size, args.entry_bytes)
                .await
                .map_err(bench)?;
            eprintln!(
                "filled to {target} entries in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            size = current_size(&http, &base).await;
        }
        for &clients in &args.clients {
            let clients = clients.max(1);
            let proofs = read_proofs(&http, &base, clients, args.proofs, size)
                .await
                .map_err(bench)?;
            let appends = append_many(&http, &base, clients, args.appends, args.entry_bytes)
                .await
                .map_err(bench)?;
            println!(
                "{:>10} {:>8} {:>12.0} {:>10.2} {:>10.2} {:>12.0} {:>10.2} {:>10.2}",
                size,
                clients,
                appends.per_second,
                ms(appends.p50),
                ms(appends.p99),
                proofs.per_second,
                ms(proofs.p50),
                ms(proofs.p99),
            );
            size = current_size(&http, &base).await;
        }
    }
    running.shutdown().await?;
    Ok(())
}

pub(super) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn current_size(http: &reqwest::Client, base: &str) -> u64 {
    let url = format!("{base}/v1/elections/{ELECTION}/entries?start=0&end=0");
    let page: Option<serde_json::Value> = match http.get(url).send().await {
        Ok(r) if r.status().is_success() => r.json().await.ok(),
        _ => None,
    };
    page.and_then(|p| p["size"].as_u64()).unwrap_or(0)
}

/// `total` operations spread over `clients` tasks; `op(task, i)` performs one.
pub(super) async fn measure<F, Fut>(clients: usize, total: u64, op: F) -> Result<Rate, String>
where
    F: Fn(usize, u64) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send,
{
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|task| {
            let op = op.clone();
            let count = total / clients as u64 + u64::from((task as u64) < total % clients as u64);
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(count as usize);
                for i in 0..count {
                    let t = Instant::now();
                    op(task, i).await?;
                    latencies.push(t.elapsed());
                }
                Ok::<_, String>(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(total as usize);
    for task in tasks {
        latencies.extend(task.await.map_err(|e| e.to_string())??);
    }
    Ok(Rate::of(latencies, started.elapsed()))
}

async fn append_many(
    http: &reqwest::Client,
    base: &str,
    clients: usize,
    total: u64,
    entry_bytes: usize,
) -> Result<Rate, String> {
    let url = format!("{base}/v1/test-support/elections/{ELECTION}/entries");
    let http = http.clone();
    measure(clients, total, move |task, i| {
        let (http, url) = (http.clone(), url.clone());
        async move {
            let mut entry = vec![0u8; entry_bytes.max(16)];
            entry[..8].copy_from_slice(&(task as u64).to_be_bytes());
            entry[8..16].copy_from_slice(&i.to_be_bytes());
            let response = http
                .post(url)
                .bearer_auth(TOKEN)
                .body(entry)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            if !response.status().is_success() {
                return Err(format!("append answered {}", response.status()));
            }
            response
                .json::<Receipt>()
                .await
                .map_err(|e| e.to_string())?;
            Ok(())
        }
    })
    .await
}

async fn read_proofs(
    http: &reqwest::Client,
    base: &str,
    clients: usize,
    total: u64,
    size: u64,
) -> Result<Rate, String> {
    if size == 0 {
        return Err("the board is empty".into());
    }
    let url = format!("{base}/v1/elections/{ELECTION}/proof/inclusion");
    let http = http.clone();
    measure(clients, total, move |task, i| {
        let (http, url) = (http.clone(), url.clone());
        async move {
            let index = splitmix64((task as u64) << 32 | i) % size;
            let response = http
                .get(format!("{url}?index={index}&size={size}"))
                .send()
                .await
                .map_err(|e| e.to_string())?;
            if !response.status().is_success() {
                return Err(format!("proof answered {}", response.status()));
            }
            response.bytes().await.map_err(|e| e.to_string())?;
            Ok(())
        }
    })
    .await
}

/// A fixed mixing function to spread benchmark reads (not cryptographic).
pub(super) fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
