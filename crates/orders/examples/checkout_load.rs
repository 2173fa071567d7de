//! Load for checkout, end to end: each worker opens a guest cart, adds a
//! line, places the order, waits for its payment, pays with the test card
//! and waits for `paid`. Prints one Markdown table row: completed checkouts
//! per second and the time from `POST /orders` to `paid`.
//! `cargo run --release -p orders --example checkout_load -- BASE VARIANT_ID SECONDS CONCURRENCY LABEL`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use serde_json::{Value, json};

async fn json(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// One checkout; the time from placing to `paid`, and that of `POST /orders`.
async fn checkout(
    client: &reqwest::Client,
    base: &str,
    variant: &str,
) -> Option<(Duration, Duration)> {
    let (_, cart) = json(
        client
            .post(format!("{base}/api/v1/carts"))
            .send()
            .await
            .ok()?,
    )
    .await;
    let cart = cart["id"].as_str()?.to_owned();
    let (status, _) = json(
        client
            .post(format!("{base}/api/v1/carts/{cart}/items"))
            .json(&json!({"variant_id": variant, "quantity": 1}))
            .send()
            .await
            .ok()?,
    )
    .await;
    if status != 200 {
        return None;
    }
    let started = Instant::now();
    let (status, order) = json(
        client
            .post(format!("{base}/api/v1/orders"))
            .header("idempotency-key", uuid::Uuid::new_v4().to_string())
            .json(&json!({"cart_id": cart, "email": "bench@example.com", "payment_provider": "test",
                "shipping_address": {"name": "Bench", "line1": "1 Load St", "city": "Berlin", "postal_code": "10115", "country": "DE"}}))
            .send()
            .await
            .ok()?,
    )
    .await;
    let placed = started.elapsed();
    if status != 201 {
        return None;
    }
    let order_url = format!("{base}/api/v1/orders/{}", order["id"].as_str()?);
    let mut paying = false;
    let deadline = started + Duration::from_secs(30);
    while Instant::now() < deadline {
        let (_, now) = json(client.get(&order_url).send().await.ok()?).await;
        match now["status"].as_str()? {
            "paid" => return Some((started.elapsed(), placed)),
            "cancelled" => return None,
            "awaiting_payment" if !paying && now["payment_id"].is_string() => {
                let payment = now["payment_id"].as_str()?;
                let (status, _) = json(
                    client
                        .post(format!("{base}/api/v1/payments/{payment}/confirm"))
                        .json(&json!({"card_number": "4242424242424242"}))
                        .send()
                        .await
                        .ok()?,
                )
                .await;
                if status != 200 {
                    return None;
                }
                paying = true;
            }
            // Polling is the client's cost, not the server's: every 10 ms keeps it
            // from crowding out the server on a shared machine.
            _ => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
    None
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let base = args.get(1).expect("BASE").clone();
    let variant = args.get(2).expect("VARIANT_ID").clone();
    let seconds: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(10);
    let concurrency: usize = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(32);
    let label = args.get(5).cloned().unwrap_or_else(|| "checkout".into());
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap();
    let begun = Instant::now();
    let deadline = begun + Duration::from_secs(seconds);
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (client, base, variant) = (client.clone(), base.clone(), variant.clone());
            tokio::spawn(async move {
                let (mut done, mut failed) = (Vec::new(), 0u64);
                while Instant::now() < deadline {
                    match checkout(&client, &base, &variant).await {
                        Some(times) => done.push(times),
                        None => failed += 1,
                    }
                }
                (done, failed)
            })
        })
        .collect();
    let (mut to_paid, mut place, mut failed) = (Vec::new(), Vec::new(), 0);
    for worker in workers {
        let (done, f) = worker.await.unwrap();
        for (paid, placed) in done {
            to_paid.push(paid);
            place.push(placed);
        }
        failed += f;
    }
    let elapsed = begun.elapsed().as_secs_f64();
    to_paid.sort_unstable();
    place.sort_unstable();
    let pct = |v: &[Duration], p: f64| {
        v.get(((v.len() as f64 * p) as usize).min(v.len().saturating_sub(1)))
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "| {:<30} | {:>6.0} | {:>7.1} | {:>7.1} | {:>7.1} | {:>6.1} | {:>6.1} | {} of {} |",
        label,
        to_paid.len() as f64 / elapsed,
        pct(&to_paid, 0.5),
        pct(&to_paid, 0.99),
        to_paid
            .last()
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0),
        pct(&place, 0.5),
        pct(&place, 0.99),
        failed,
        to_paid.len() as u64 + failed,
    );
}
