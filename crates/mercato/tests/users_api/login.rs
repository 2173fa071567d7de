use std::time::Instant;

use serde_json::json;
use testkit::{Backend, GOOD_PASSWORD, on_both_backends, spawn, spawn_with};

on_both_backends!(
    login_returns_a_session,
    wrong_password_unknown_email_and_disabled_account_look_the_same,
    five_failures_lock_the_account_with_retry_after,
    failures_from_one_address_lock_it_for_every_account,
    a_successful_login_resets_the_account_counter,
    unknown_emails_cost_as_much_time_as_wrong_passwords,
    stale_login_failures_and_tokens_are_pruned,
);

async fn stale_login_failures_and_tokens_are_pruned(backend: Backend) {
    use sqlx::Row as _;
    let app = spawn(backend).await;
    for i in 0..3 {
        app.login(&format!("sprayed{i}@example.com"), "Spray-Attempt-123")
            .await
            .problem(401);
    }
    let db = app.database("users").await;
    let count = |sql: &'static str| {
        let pool = db.pool().clone();
        async move {
            sqlx::query(sql)
                .fetch_one(&pool)
                .await
                .unwrap()
                .get::<i64, _>("n")
        }
    };
    assert_eq!(
        count("select count(*) as n from login_failure").await,
        6,
        "account and address scopes"
    );
    sqlx::query("update login_failure set failed_at = 0")
        .execute(db.pool())
        .await
        .unwrap();
    sqlx::query("update one_time_token set expires_at = 0")
        .execute(db.pool())
        .await
        .unwrap();
    let service = users::UsersService::new(db.clone(), app.config.users.clone(), &app.config.auth)
        .await
        .unwrap();
    assert!(service.prune().await.unwrap() >= 6);
    assert_eq!(count("select count(*) as n from login_failure").await, 0);
    assert_eq!(count("select count(*) as n from one_time_token").await, 0);
    // Live sessions are untouched.
    let customer = app.register("survivor").await;
    service.prune().await.unwrap();
    app.post(
        "/api/v1/auth/refresh",
        None,
        &serde_json::json!({"refresh_token": customer.refresh}),
    )
    .await
    .expect(200);
}

async fn login_returns_a_session(backend: Backend) {
    let app = spawn(backend).await;
    let customer = app.register("login").await;
    let reply = app
        .login(&customer.email.to_uppercase(), GOOD_PASSWORD)
        .await;
    reply.expect(200);
    assert_eq!(reply.body["user"]["id"], customer.id);
    assert_eq!(reply.body["token_type"], "Bearer");
    app.get("/api/v1/users/me", reply.body["access_token"].as_str())
        .await
        .expect(200);
}

async fn wrong_password_unknown_email_and_disabled_account_look_the_same(backend: Backend) {
    let app = spawn(backend).await;
    let customer = app.register("same").await;
    let admin = app.admin_token().await;
    let disabled = app.register("disabled").await;
    app.patch(
        &format!("/api/v1/users/{}", disabled.id),
        Some(&admin),
        &json!({"disabled": true}),
    )
    .await
    .expect(200);

    let wrong = app.login(&customer.email, "not-the-password-at-all").await;
    let unknown = app.login("nobody-here@example.com", GOOD_PASSWORD).await;
    let off = app.login(&disabled.email, GOOD_PASSWORD).await;
    for reply in [&wrong, &unknown, &off] {
        reply.problem(401);
        assert_eq!(reply.header("www-authenticate"), Some("Bearer"));
    }
    let strip = |v: &serde_json::Value| {
        let mut v = v.clone();
        v.as_object_mut().unwrap().remove("request_id");
        v
    };
    assert_eq!(strip(&wrong.body), strip(&unknown.body));
    assert_eq!(strip(&wrong.body), strip(&off.body));
}

async fn five_failures_lock_the_account_with_retry_after(backend: Backend) {
    let app = spawn(backend).await;
    let customer = app.register("lock").await;
    for _ in 0..5 {
        app.login(&customer.email, "wrong-password-guess")
            .await
            .problem(401);
    }
    // Even the right password is refused now: the account is locked.
    let reply = app.login(&customer.email, GOOD_PASSWORD).await;
    reply.problem(429);
    let retry: u64 = reply.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    // Another account from the same address is unaffected.
    let other = app.register("other").await;
    app.login(&other.email, GOOD_PASSWORD).await.expect(200);
}

async fn failures_from_one_address_lock_it_for_every_account(backend: Backend) {
    let app = spawn_with(backend, |cfg| cfg.users.login_max_failures_per_address = 3).await;
    let customer = app.register("spray").await;
    for i in 0..3 {
        app.login(&format!("victim{i}@example.com"), "Spray-Attempt-123")
            .await
            .problem(401);
    }
    let reply = app.login(&customer.email, GOOD_PASSWORD).await;
    reply.problem(429);
    assert!(reply.header("retry-after").is_some());
}

async fn a_successful_login_resets_the_account_counter(backend: Backend) {
    let app = spawn(backend).await;
    let customer = app.register("reset").await;
    for _ in 0..4 {
        app.login(&customer.email, "wrong-password-guess")
            .await
            .problem(401);
    }
    app.login(&customer.email, GOOD_PASSWORD).await.expect(200);
    for _ in 0..4 {
        app.login(&customer.email, "wrong-password-guess")
            .await
            .problem(401);
    }
    app.login(&customer.email, GOOD_PASSWORD).await.expect(200);
}

async fn unknown_emails_cost_as_much_time_as_wrong_passwords(backend: Backend) {
    // A costly hash makes the difference between "verified a hash" and
    // "returned at once" large against scheduling noise; the ratio is
    // compared within one run.
    let app = spawn_with(backend, |cfg| {
        cfg.users.argon2_memory_kib = 32 * 1024;
        cfg.users.argon2_iterations = 3;
        cfg.users.login_max_failures_per_account = 100;
        cfg.users.login_max_failures_per_address = 100;
    })
    .await;
    let customer = app.register("timing").await;
    let median = |samples: &mut Vec<u128>| {
        samples.sort_unstable();
        samples[samples.len() / 2]
    };
    let (mut wrong, mut unknown) = (Vec::new(), Vec::new());
    for i in 0..5 {
        let started = Instant::now();
        app.login(&customer.email, "wrong-password-guess")
            .await
            .problem(401);
        wrong.push(started.elapsed().as_micros());
        let started = Instant::now();
        app.login(&format!("ghost{i}@example.com"), "wrong-password-guess")
            .await
            .problem(401);
        unknown.push(started.elapsed().as_micros());
    }
    let (wrong, unknown) = (median(&mut wrong), median(&mut unknown));
    assert!(
        unknown * 2 > wrong,
        "unknown email {unknown} us vs wrong password {wrong} us"
    );
}
