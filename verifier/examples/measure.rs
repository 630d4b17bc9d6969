//! Times `urne-verify` on exports and prints ballots per second, CPU time and
//! peak memory (Linux `/proc`), e.g. for exports written by `fixture_export`:
//!
//! ```text
//! cargo run --release -p urne-verify --example fixture_export -- reference 10000 ref10k.export
//! cargo run --release -p urne-verify --example measure -- [--threads N] ref1k.export ref10k.export
//! ```
//!
//! Each export is verified in its own process (so that peak memory is its own).
//! `URNE_BATCH=N` sets the entries per work unit (default 64).

use std::process::Command;
use std::time::Instant;

fn proc_status(field: &str) -> Option<String> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find(|l| l.starts_with(field))
        .map(|l| l[field.len()..].trim().to_string())
}

/// User + system CPU seconds of this process (clock ticks of 1/100 s).
fn cpu_seconds() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after = s.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut threads = 0usize;
    if args.first().map(String::as_str) == Some("--threads") && args.len() > 1 {
        threads = args[1].parse().unwrap_or(0);
        args.drain(..2);
    }
    if let [one] = args.as_slice() {
        if let Ok(path) = std::env::var("URNE_MEASURE_CHILD") {
            let _ = one;
            measure_one(&path, threads);
            return;
        }
    }
    println!("export\tentries\tballots\tseconds\tballots/s\tcpu_s\tpeak_rss");
    for path in &args {
        let exe = std::env::current_exe().expect("current exe");
        let status = Command::new(exe)
            .args(["--threads", &threads.to_string(), path])
            .env("URNE_MEASURE_CHILD", path)
            .status();
        if !matches!(status, Ok(s) if s.success()) {
            eprintln!("{path}: measurement failed");
        }
    }
}

fn measure_one(path: &str, threads: usize) {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(2);
        }
    };
    let mut options = urne_verify::Options {
        threads,
        ..Default::default()
    };
    if let Some(b) = std::env::var("URNE_BATCH")
        .ok()
        .and_then(|b| b.parse().ok())
    {
        options.batch = b;
    }
    let t = Instant::now();
    let report = urne_verify::verify_export(file, &options);
    let secs = t.elapsed().as_secs_f64();
    if !report.valid {
        eprintln!("{path}: does not verify: {:?}", report.failed_checks());
        std::process::exit(1);
    }
    println!(
        "{path}\t{}\t{}\t{secs:.2}\t{:.0}\t{:.1}\t{}",
        report.entries,
        report.ballot_entries,
        report.ballot_entries as f64 / secs,
        cpu_seconds().unwrap_or(f64::NAN),
        proc_status("VmHWM:").unwrap_or_else(|| "?".into())
    );
}
