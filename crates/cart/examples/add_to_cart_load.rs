//! Load for "add to cart": each worker opens a guest cart and adds a line,
//! again and again; only the add is timed. Prints one Markdown table row.
//! `cargo run --release -p cart --example add_to_cart_load -- BASE VARIANT_ID SECONDS CONCURRENCY`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let base = args.get(1).expect("BASE").clone();
    let variant = args.get(2).expect("VARIANT_ID").clone();
    let seconds: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(10);
    let concurrency: usize = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(64);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (client, base, variant) = (client.clone(), base.clone(), variant.clone());
            tokio::spawn(async move {
                let (mut latencies, mut errors) = (Vec::new(), 0u64);
                while Instant::now() < deadline {
                    let cart: serde_json::Value = client
                        .post(format!("{base}/api/v1/carts"))
                        .send()
                        .await
                        .unwrap()
                        .json()
                        .await
                        .unwrap();
                    let url = format!("{base}/api/v1/carts/{}/items", cart["id"].as_str().unwrap());
                    let body = serde_json::json!({"variant_id": variant, "quantity": 1});
                    let started = Instant::now();
                    let status = client
                        .post(&url)
                        .json(&body)
                        .send()
                        .await
                        .map(|r| r.status().as_u16())
                        .unwrap_or(0);
                    latencies.push(started.elapsed());
                    if status != 200 {
                        errors += 1;
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let (mut all, mut errors) = (Vec::new(), 0);
    for worker in workers {
        let (latencies, e) = worker.await.unwrap();
        all.extend(latencies);
        errors += e;
    }
    all.sort_unstable();
    let pct =
        |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)].as_secs_f64() * 1000.0;
    println!(
        "| {:<34} | {:>8.0} | {:>6.2} | {:>6.2} | {} non-200 of {} (a cart open precedes each add) |",
        "POST /carts/{id}/items",
        all.len() as f64 / seconds as f64,
        pct(0.5),
        pct(0.99),
        errors,
        all.len()
    );
}
