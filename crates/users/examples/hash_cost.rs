//! Measures what argon2id at the configured cost allows per core: the
//! ceiling for logins per second. `cargo run --release -p users --example hash_cost`

use std::time::Instant;

use users::domain::password::{HashCost, PasswordHasher};

fn main() -> Result<(), String> {
    let cost = HashCost {
        memory_kib: 19_456,
        iterations: 2,
        parallelism: 1,
    };
    let hasher = PasswordHasher::new(cost)?;
    let phc = hasher.hash("correct-horse-battery-staple")?;
    let rounds = 40;
    let started = Instant::now();
    for _ in 0..rounds {
        if !hasher.verify("correct-horse-battery-staple", &phc) {
            return Err("verification failed".into());
        }
    }
    let per_hash = started.elapsed() / rounds;
    println!(
        "argon2id m=19456 KiB t=2 p=1: {:.1} ms per verification, {:.1} verifications/s per core",
        per_hash.as_secs_f64() * 1000.0,
        1.0 / per_hash.as_secs_f64()
    );
    Ok(())
}
