//! Instructions per request of each stack in `benches/headers.rs` (and the
//! breaker layer of `benches/breaker.rs`), counted by
//! valgrind's callgrind: `cargo bench --bench instructions`.
//!
//! Timings on a shared virtual machine wander by tens of percent between runs;
//! instruction counts do not (the same binary and inputs give the same count),
//! so they back the criterion ratios with a figure that can be reproduced
//! exactly. Run without arguments, this program re-runs itself under callgrind
//! once per stack; with a stack's name, it drives that stack.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::hint::black_box;
use std::process::Command;

use common::*;
use harden::ip::Scheme;
use http::Request;
use tower::{Service, ServiceBuilder};

const REQUESTS: u64 = 20_000;

/// (group, stack, request kind)
const STACKS: &[(&str, &str, &str)] = &[
    ("security_headers", "baseline", "get"),
    ("security_headers", "harden", "get"),
    ("security_headers", "tower-http x11", "get"),
    ("security_headers", "tower-http multiple", "get"),
    ("security_headers_https", "baseline", "https"),
    ("security_headers_https", "harden", "https"),
    ("security_headers_https", "harden with CSP nonce", "https"),
    ("cors_actual", "baseline", "get"),
    ("cors_actual", "harden", "get"),
    ("cors_actual", "tower-http", "get"),
    ("cors_preflight", "baseline", "preflight"),
    ("cors_preflight", "harden", "preflight"),
    ("cors_preflight", "tower-http", "preflight"),
    ("headers_and_cors", "baseline", "get"),
    ("headers_and_cors", "harden", "get"),
    ("headers_and_cors", "tower-http x11 + cors", "get"),
    ("request_id", "baseline", "get"),
    ("request_id", "harden", "get"),
    ("request_id", "tower-http", "get"),
    ("breaker_layer", "baseline", "get"),
    ("breaker_layer", "harden", "get"),
];

fn https_request() -> Request<()> {
    let mut r = get_request();
    r.extensions_mut().insert(Scheme::Https);
    r
}

fn drive<S, R>(mut svc: S, make: fn() -> Request<()>)
where
    S: Service<Request<()>, Response = R>,
    S::Error: std::fmt::Debug,
{
    for _ in 0..REQUESTS {
        black_box(call(&mut svc, make()));
    }
}

fn run(group: &str, stack: &str, kind: &str) {
    let make = match kind {
        "https" => https_request,
        "preflight" => preflight_request,
        _ => get_request,
    };
    match (group, stack) {
        (_, "baseline") => drive(handler(), make),
        ("security_headers" | "security_headers_https", "harden") => {
            drive(with(harden_headers_layer(), handler()), make)
        }
        (_, "harden with CSP nonce") => drive(with(harden_nonce_layer(), handler()), make),
        (_, "tower-http x11") => drive(tower_http_single_headers(handler()), make),
        (_, "tower-http multiple") => drive(with(tower_http_multiple_headers(), handler()), make),
        ("cors_actual" | "cors_preflight", "harden") => drive(with(harden_cors(), handler()), make),
        ("cors_actual" | "cors_preflight", "tower-http") => {
            drive(with(tower_http_cors(), handler()), make)
        }
        ("headers_and_cors", "harden") => drive(
            ServiceBuilder::new()
                .layer(harden_headers_layer())
                .layer(harden_cors())
                .service(handler()),
            make,
        ),
        ("headers_and_cors", _) => drive(
            tower_http_single_headers(with(tower_http_cors(), handler())),
            make,
        ),
        ("request_id", "harden") => drive(with(harden_request_id(), handler()), make),
        ("request_id", _) => drive(tower_http_request_id(handler()), make),
        ("breaker_layer", "harden") => {
            let breaker = harden::breaker::Breaker::builder("bench").build().unwrap();
            drive(with(breaker.layer(), handler()), make)
        }
        _ => panic!("unknown stack {group}/{stack}"),
    }
}

/// Instructions of one run of `stack` under callgrind.
fn count(exe: &str, index: usize) -> Option<u64> {
    let out = Command::new("valgrind")
        .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
        .arg(exe)
        .arg(index.to_string())
        .output()
        .ok()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr.lines().find(|l| l.contains("Collected :"))?;
    line.rsplit(':').next()?.trim().parse().ok()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(index) = args.get(1).and_then(|a| a.parse::<usize>().ok()) {
        let (group, stack, kind) = STACKS[index];
        run(group, stack, kind);
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let exe = exe.to_str().unwrap();
    if count(exe, 0).is_none() {
        eprintln!("valgrind not found: install Debian's `valgrind` to count instructions");
        return;
    }
    println!("| group | stack | instructions / request | added | harden ÷ peer (added) |");
    println!("|---|---|---:|---:|---:|");
    let mut baseline = 0.0;
    let mut ours = 0.0;
    for (index, (group, stack, _)) in STACKS.iter().enumerate() {
        let Some(total) = count(exe, index) else {
            eprintln!("callgrind failed for {group}/{stack}");
            return;
        };
        let per = total as f64 / REQUESTS as f64;
        if *stack == "baseline" {
            baseline = per;
            println!("| {group} | {stack} | {per:.0} | — | |");
            continue;
        }
        let added = per - baseline;
        if *stack == "harden" {
            ours = added;
        }
        let ratio = if stack.starts_with("tower-http") && added > 0.0 {
            format!("{:.2}", ours / added)
        } else {
            String::new()
        };
        println!("| {group} | {stack} | {per:.0} | {added:.0} | {ratio} |");
    }
}
