//! Black-box tests of notifications: real events from real requests, mail
//! to a real SMTP server (aiosmtpd) on loopback, SendGrid and Twilio fakes
//! that follow their documented APIs, on SQLite and PostgreSQL.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a failed step fails the test loudly, in helpers too"
)]

use std::time::Duration;

use serde_json::{Value, json};
use testkit::{
    Backend, TestApp,
    fakes::{sendgrid::FakeSendGrid, twilio::FakeTwilio},
    on_both_backends,
    shop::{cart_with, pay, place, product, wait_status},
    smtp::{Behaviour, SmtpServer},
    spawn_with,
};

const WAIT: Duration = Duration::from_secs(20);

on_both_backends!(
    account_mails_reach_a_real_smtp_server,
    a_checkout_mails_placed_paid_shipped_delivered_once_each,
    the_checkout_mails_arrive_over_nats_too,
    failures_and_refunds_are_explained,
    a_server_refusing_for_a_while_gets_the_message_once,
    a_permanent_refusal_fails_at_once_and_an_endless_one_after_n_tries,
    smtp_authentication_is_used_and_a_wrong_password_is_final,
    mail_goes_over_starttls_and_implicit_tls,
    sendgrid_gets_the_documented_request_and_outages_are_retried,
    customers_who_opt_in_get_sms_through_twilio,
    preferences_turn_order_mail_off_but_not_security_mail,
    deliveries_are_listed_per_customer_and_recorded_once_per_event,
    parallel_first_saves_of_preferences_keep_exactly_one,
);

async fn parallel_first_saves_of_preferences_keep_exactly_one(backend: Backend) {
    let app = std::sync::Arc::new(testkit::spawn(backend).await);
    let customer = app.register("undecided").await;
    let token = customer.access.clone();
    let choices = [(true, true), (false, true), (true, false), (false, false)];
    let replies = testkit::burst(20, |i| {
        let (app, token) = (app.clone(), token.clone());
        let (email, sms) = choices[i % 4];
        async move {
            app.call(
                reqwest::Method::PUT,
                "/api/v1/notifications/preferences",
                Some(&token),
                Some(&json!({"email": email, "sms": sms})),
            )
            .await
        }
    })
    .await;
    assert_eq!(testkit::count_status(&replies, 200), 20);
    let saved = app
        .get("/api/v1/notifications/preferences", Some(&customer.access))
        .await;
    let pair = (
        saved.body["email"].as_bool().unwrap(),
        saved.body["sms"].as_bool().unwrap(),
    );
    assert!(choices.contains(&pair), "{}", saved.text);
    let db = app.database("notifications").await;
    let rows: i64 = sqlx::query_scalar("select count(*) from preference where user_id = $1")
        .bind(&customer.id)
        .fetch_one(db.pool())
        .await
        .unwrap();
    db.close().await;
    assert_eq!(rows, 1, "one row of choices per customer");
}

async fn with_smtp(backend: Backend, smtp: &SmtpServer) -> TestApp {
    let port = smtp.port;
    spawn_with(backend, move |cfg| smtp_config(cfg, port)).await
}

fn smtp_config(cfg: &mut testkit::Config, port: u16) {
    let n = &mut cfg.notifications;
    n.email_channel = "smtp".into();
    n.smtp_host = "127.0.0.1".into();
    n.smtp_port = port;
    n.smtp_security = "none".into();
    n.public_base_url = "https://shop.example.com".into();
    n.retry_base_ms = 50;
    n.retry_max_ms = 200;
    n.max_attempts = 4;
}

fn subjects(messages: &[Value]) -> Vec<String> {
    messages
        .iter()
        .map(|m| m["subject"].as_str().unwrap().to_owned())
        .collect()
}

/// Messages to `to` once `n` have arrived (any recipient).
fn to(messages: &[Value], to: &str) -> Vec<Value> {
    messages
        .iter()
        .filter(|m| m["rcpt_tos"][0] == to)
        .cloned()
        .collect()
}

async fn account_mails_reach_a_real_smtp_server(backend: Backend) {
    let smtp = SmtpServer::start(Behaviour::Accept);
    let app = with_smtp(backend, &smtp).await;
    let ada = app.register("ada").await;
    let welcome = smtp.wait_for(1, WAIT).await;
    assert_eq!(welcome.len(), 1);
    let mail = &welcome[0];
    assert_eq!(mail["rcpt_tos"], json!([ada.email]));
    assert_eq!(mail["from"], "Mercato <shop@example.com>");
    assert_eq!(mail["subject"], "Welcome to Mercato, ada");
    let text = mail["text"].as_str().unwrap();
    assert!(
        text.contains("https://shop.example.com/verify-email?token="),
        "{text}"
    );
    // HTML-escaped (minijinja escapes `/` too); a mail client decodes it.
    let html = mail["html"].as_str().unwrap().replace("&#x2f;", "/");
    assert!(
        html.contains("<a href=\"https://shop.example.com/verify-email?token="),
        "{html}"
    );

    app.post(
        "/api/v1/users/me/email-verification",
        Some(&ada.access),
        &json!({}),
    )
    .await;
    app.post(
        "/api/v1/auth/password-reset",
        None,
        &json!({"email": ada.email}),
    )
    .await;
    let all = smtp.wait_for(3, WAIT).await;
    assert_eq!(
        subjects(&all),
        [
            "Welcome to Mercato, ada",
            "Confirm your email address",
            "Reset your Mercato password"
        ]
    );
    assert!(
        all[2]["text"]
            .as_str()
            .unwrap()
            .contains("https://shop.example.com/reset-password?token=")
    );
}

async fn checkout_mails(app: &TestApp, smtp: &SmtpServer) {
    let admin = app.admin_token().await;
    let variants = product(app, "kettle", &[(3450, 5)]).await;
    let bea = app.register("bea").await;
    let token = Some(bea.access.as_str());
    let cart = cart_with(app, token, &[(&variants[0], 2)]).await;
    let order = place(app, token, &cart, None, None).await.body;
    let id = order["id"].as_str().unwrap().to_owned();
    let number = order["number"].as_str().unwrap().to_owned();
    wait_status(app, &id, token, "awaiting_payment").await;
    pay(app, &id, token, "4242424242424242").await.expect(200);
    wait_status(app, &id, token, "paid").await;
    app.post(
        &format!("/api/v1/orders/{id}/ship"),
        Some(&admin),
        &json!({"carrier": "DHL", "tracking_number": "JD0146000062"}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/orders/{id}/deliver"),
        Some(&admin),
        &json!({}),
    )
    .await
    .expect(200);
    // The welcome mail and four about the order.
    smtp.wait_for(5, WAIT).await;
    tokio::time::sleep(Duration::from_millis(300)).await; // nothing more comes
    let mut mails = to(&smtp.messages(), &bea.email);
    // The welcome follows user.registered, the rest order events, handled
    // in lanes of their own: only the order's mails have an order.
    let welcome = subjects(&mails)
        .iter()
        .position(|s| s == "Welcome to Mercato, bea")
        .expect("the welcome mail");
    mails.remove(welcome);
    assert_eq!(
        subjects(&mails),
        [
            format!("Order {number} received"),
            format!("Order {number} is paid"),
            format!("Order {number} is on its way"),
            format!("Order {number} was delivered"),
        ],
        "in order, once each"
    );
    let placed = mails[0]["text"].as_str().unwrap();
    assert!(placed.contains("2 x Product kettle: USD 69.00"), "{placed}");
    assert!(placed.contains("Total: USD 69.00"));
    assert!(placed.contains(&format!("https://shop.example.com/orders/{id}")));
    assert!(
        mails[2]["text"]
            .as_str()
            .unwrap()
            .contains("Tracking number: JD0146000062")
    );
}

async fn a_checkout_mails_placed_paid_shipped_delivered_once_each(backend: Backend) {
    let smtp = SmtpServer::start(Behaviour::Accept);
    let app = with_smtp(backend, &smtp).await;
    checkout_mails(&app, &smtp).await;
}

async fn the_checkout_mails_arrive_over_nats_too(backend: Backend) {
    let smtp = SmtpServer::start(Behaviour::Accept);
    let nats = testkit::nats::NatsServer::start();
    let port = smtp.port;
    let app = spawn_with(backend, |cfg| {
        smtp_config(cfg, port);
        cfg.eventbus.nats_url = Some(nats.url());
    })
    .await;
    checkout_mails(&app, &smtp).await;
}

async fn failures_and_refunds_are_explained(backend: Backend) {
    let smtp = SmtpServer::start(Behaviour::Accept);
    let app = with_smtp(backend, &smtp).await;
    let variants = product(&app, "chair", &[(1000, 5)]).await;
    // A guest whose card is declined.
    let cart = cart_with(&app, None, &[(&variants[0], 1)]).await;
    let order = place(&app, None, &cart, Some("guest@example.com"), None)
        .await
        .body;
    let id = order["id"].as_str().unwrap().to_owned();
    wait_status(&app, &id, None, "awaiting_payment").await;
    pay(&app, &id, None, "4000000000000002").await.expect(200);
    wait_status(&app, &id, None, "cancelled").await;
    let mails = smtp.wait_for(3, WAIT).await;
    let guest = to(&mails, "guest@example.com");
    let by_subject = |s: &str| {
        guest
            .iter()
            .find(|m| m["subject"].as_str().unwrap().contains(s))
            .unwrap_or_else(|| panic!("no mail about {s}: {:?}", subjects(&guest)))
            .clone()
    };
    assert!(
        by_subject("did not go through")["text"]
            .as_str()
            .unwrap()
            .contains("the card was declined")
    );
    assert!(
        by_subject("is cancelled")["text"]
            .as_str()
            .unwrap()
            .contains("cancelled: the payment did not go through")
    );

    // A customer who cancels a paid order is told it is refunded.
    let cy = app.register("cy").await;
    let token = Some(cy.access.as_str());
    let cart = cart_with(&app, token, &[(&variants[0], 1)]).await;
    let id = place(&app, token, &cart, None, None).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    wait_status(&app, &id, token, "awaiting_payment").await;
    pay(&app, &id, token, "4242424242424242").await.expect(200);
    wait_status(&app, &id, token, "paid").await;
    app.post(&format!("/api/v1/orders/{id}/cancel"), token, &json!({}))
        .await
        .expect(200);
    // welcome, placed, paid, cancelled, refunded
    let deadline = tokio::time::Instant::now() + WAIT;
    let cys = loop {
        let cys = to(&smtp.messages(), &cy.email);
        if cys.len() >= 5 || tokio::time::Instant::now() > deadline {
            break cys;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    let subjects = subjects(&cys);
    assert_eq!(subjects.len(), 5, "{subjects:?}");
    let cancelled = cys
        .iter()
        .find(|m| m["subject"].as_str().unwrap().ends_with("is cancelled"))
        .unwrap();
    let text = cancelled["text"].as_str().unwrap();
    assert!(text.contains("you asked us to cancel it"), "{text}");
    assert!(text.contains("on its way back to you"), "{text}");
    assert!(subjects.contains(&"USD 10.00 refunded".to_owned()));
}

async fn deliveries(app: &TestApp, token: &str) -> Vec<Value> {
    app.get("/api/v1/notifications?limit=100", Some(token))
        .await
        .body["items"]
        .as_array()
        .unwrap()
        .clone()
}

async fn wait_delivery(app: &TestApp, token: &str, template: &str, status: &str) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(d) = deliveries(app, token)
            .await
            .into_iter()
            .find(|d| d["template"] == template && d["status"] == status)
        {
            return d;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no {status} {template}: {:?}",
            deliveries(app, token).await
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn a_server_refusing_for_a_while_gets_the_message_once(backend: Backend) {
    let smtp = SmtpServer::start(Behaviour::RefuseFirst(2, 451));
    let app = with_smtp(backend, &smtp).await;
    let admin = app.admin_token().await;
    let dee = app.register("dee").await;
    let sent = wait_delivery(&app, &admin, "welcome", "sent").await;
    assert_eq!(sent["attempts"], 3, "two refusals, then accepted");
    assert_eq!(sent["to"], dee.email);
    assert!(sent["sent_at"].is_string());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(smtp.messages().len(), 1, "delivered once");
}

async fn a_permanent_refusal_fails_at_once_and_an_endless_one_after_n_tries(backend: Backend) {
    let permanent = SmtpServer::start(Behaviour::RefuseAll(550));
    let app = with_smtp(backend, &permanent).await;
    let admin = app.admin_token().await;
    app.register("eve").await;
    let failed = wait_delivery(&app, &admin, "welcome", "failed").await;
    assert_eq!(failed["attempts"], 1, "a 5xx reply is final");
    drop(app);

    let busy = SmtpServer::start(Behaviour::RefuseAll(421));
    let app = with_smtp(backend, &busy).await;
    let admin = app.admin_token().await;
    app.register("fay").await;
    let failed = wait_delivery(&app, &admin, "welcome", "failed").await;
    assert_eq!(failed["attempts"], 4, "max_attempts, then failed");
    assert!(busy.messages().is_empty());
}

async fn sendgrid_gets_the_documented_request_and_outages_are_retried(backend: Backend) {
    let sendgrid = FakeSendGrid::start("SG.test-key").await;
    sendgrid.fail_next(2, 503);
    let base = sendgrid.base.clone();
    let app = spawn_with(backend, |cfg| {
        let n = &mut cfg.notifications;
        n.email_channel = "sendgrid".into();
        n.sendgrid_base_url = base;
        n.sendgrid_api_key = Some("SG.test-key".to_owned().into());
        n.retry_base_ms = 50;
        n.retry_max_ms = 200;
    })
    .await;
    let gus = app.register("gus").await;
    let admin = app.admin_token().await;
    let sent = wait_delivery(&app, &admin, "welcome", "sent").await;
    assert_eq!(sent["attempts"], 3);
    let accepted = sendgrid.accepted();
    assert_eq!(accepted.len(), 1);
    let body = &accepted[0].body;
    assert_eq!(body["personalizations"][0]["to"][0]["email"], gus.email);
    assert_eq!(
        body["from"],
        json!({"email": "shop@example.com", "name": "Mercato"})
    );
    assert_eq!(body["subject"], "Welcome to Mercato, gus");
    assert_eq!(body["content"][0]["type"], "text/plain");
    assert_eq!(body["content"][1]["type"], "text/html");
    assert_eq!(sendgrid.requests(), 3);

    // A wrong key is refused for good (401): no retries.
    let base = sendgrid.base.clone();
    let wrong = spawn_with(backend, |cfg| {
        let n = &mut cfg.notifications;
        n.email_channel = "sendgrid".into();
        n.sendgrid_base_url = base;
        n.sendgrid_api_key = Some("SG.wrong".to_owned().into());
    })
    .await;
    wrong.register("hal").await;
    let admin = wrong.admin_token().await;
    let failed = wait_delivery(&wrong, &admin, "welcome", "failed").await;
    assert_eq!(failed["attempts"], 1);
}

async fn customers_who_opt_in_get_sms_through_twilio(backend: Backend) {
    let twilio = FakeTwilio::start("AC0123456789abcdef0123456789abcdef", "secret-token").await;
    twilio.fail_next(1, 429);
    let base = twilio.base.clone();
    let app = spawn_with(backend, |cfg| {
        let n = &mut cfg.notifications;
        n.sms_channel = "twilio".into();
        n.twilio_base_url = base;
        n.twilio_account_sid = Some("AC0123456789abcdef0123456789abcdef".into());
        n.twilio_auth_token = Some("secret-token".to_owned().into());
        n.twilio_from = Some("+15005550006".into());
        n.retry_base_ms = 50;
        n.retry_max_ms = 200;
    })
    .await;
    let variants = product(&app, "lamp", &[(2000, 5)]).await;
    let ivy = app.register("ivy").await;
    let token = Some(ivy.access.as_str());
    app.patch(
        "/api/v1/users/me",
        token,
        &json!({"phone": "+491511234567"}),
    )
    .await
    .expect(200);
    // No SMS before the opt-in.
    let cart = cart_with(&app, token, &[(&variants[0], 1)]).await;
    let first = place(&app, token, &cart, None, None).await.body;
    wait_delivery(&app, &ivy.access, "order_placed", "sent").await;
    app.call(
        reqwest::Method::PUT,
        "/api/v1/notifications/preferences",
        token,
        Some(&json!({"email": true, "sms": true})),
    )
    .await
    .expect(200);
    let cart = cart_with(&app, token, &[(&variants[0], 1)]).await;
    let second = place(&app, token, &cart, None, None).await.body;
    let deadline = tokio::time::Instant::now() + WAIT;
    while twilio.accepted().is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "no SMS");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let sms = &twilio.accepted()[0];
    assert_eq!(sms.to, "+491511234567");
    assert_eq!(sms.from, "+15005550006");
    assert!(
        sms.body.contains(&format!(
            "order {} received",
            second["number"].as_str().unwrap()
        )),
        "{}",
        sms.body
    );
    assert!(!sms.body.contains(first["number"].as_str().unwrap()));
    let record = deliveries(&app, &ivy.access)
        .await
        .into_iter()
        .find(|d| d["channel"] == "sms")
        .unwrap();
    assert_eq!(record["attempts"], 2, "one 429, then accepted");
    assert_eq!(record["to"], "+491511234567");
}

async fn preferences_turn_order_mail_off_but_not_security_mail(backend: Backend) {
    let smtp = SmtpServer::start(Behaviour::Accept);
    let app = with_smtp(backend, &smtp).await;
    let jo = app.register("jo").await;
    let token = Some(jo.access.as_str());
    let prefs = app.get("/api/v1/notifications/preferences", token).await;
    prefs.expect(200);
    assert_eq!(prefs.body, json!({"email": true, "sms": false}));
    app.get("/api/v1/notifications/preferences", None)
        .await
        .problem(401);
    let put = |body: Value| {
        let app = &app;
        async move {
            app.call(
                reqwest::Method::PUT,
                "/api/v1/notifications/preferences",
                token,
                Some(&body),
            )
            .await
        }
    };
    put(json!({"email": false})).await.problem(422);
    put(json!({"email": "no", "sms": false})).await.problem(422);
    let off = put(json!({"email": false, "sms": false})).await;
    off.expect(200);
    assert_eq!(off.body, json!({"email": false, "sms": false}));

    let variants = product(&app, "mat", &[(500, 5)]).await;
    let cart = cart_with(&app, token, &[(&variants[0], 1)]).await;
    place(&app, token, &cart, None, None).await.expect(201);
    app.post(
        "/api/v1/auth/password-reset",
        None,
        &json!({"email": jo.email}),
    )
    .await;
    let mails = smtp.wait_for(2, WAIT).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        subjects(&to(&smtp.messages(), &jo.email)),
        ["Welcome to Mercato, jo", "Reset your Mercato password"],
        "no order mail; the reset still goes out ({} in all)",
        mails.len()
    );
}

async fn deliveries_are_listed_per_customer_and_recorded_once_per_event(backend: Backend) {
    let app = spawn_with(backend, |_| {}).await;
    let kim = app.register("kim").await;
    let admin = app.admin_token().await;
    // The default channel writes files under the data folder.
    let kims = {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let items = deliveries(&app, &kim.access).await;
            if items.first().is_some_and(|d| d["status"] == "sent")
                || tokio::time::Instant::now() > deadline
            {
                break items;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    };
    assert_eq!(kims.len(), 1, "only kim's own");
    assert_eq!(kims[0]["template"], "welcome");
    assert_eq!(kims[0]["channel"], "email");
    assert_eq!(kims[0]["to"], kim.email);
    let outbox = app.config.database.data_dir.join("outbox");
    let eml =
        std::fs::read_to_string(outbox.join(format!("{}.eml", kims[0]["id"].as_str().unwrap())))
            .unwrap();
    assert!(eml.contains("Subject: Welcome to Mercato, kim"), "{eml}");
    assert!(eml.contains(&format!("To: {}", kim.email)));
    // Lee registers once kim's welcome is recorded, so lee's is the newest
    // (welcomes of different users are handled in parallel lanes, so two
    // registrations in a row may be recorded in either order).
    let lee = app.register("lee").await;
    wait_delivery(&app, &lee.access, "welcome", "sent").await;
    app.get("/api/v1/notifications", None).await.problem(401);
    app.get("/api/v1/notifications?limit=0", Some(&lee.access))
        .await
        .problem(422);
    // Admins see everyone's, newest first, a page at a time.
    let first = app.get("/api/v1/notifications?limit=1", Some(&admin)).await;
    assert_eq!(first.body["items"][0]["to"], lee.email);
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let second = app
        .get(
            &format!("/api/v1/notifications?limit=1&cursor={cursor}"),
            Some(&admin),
        )
        .await;
    assert_eq!(second.body["items"][0]["to"], kim.email);

    // The same event delivered again (a redelivery) makes no second message.
    let event = eventbus::Envelope::new(
        "users",
        uuid::Uuid::now_v7(),
        &contracts::events::users::PasswordResetRequested {
            user_id: kim.id.parse().unwrap(),
            email: kim.email.clone(),
            name: "kim".into(),
            reset_token: "tok".into(),
            expires_at: time::OffsetDateTime::now_utc(),
        },
    )
    .unwrap();
    app.bus.publish(std::slice::from_ref(&event)).await.unwrap();
    app.bus.publish(&[event]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let resets = deliveries(&app, &kim.access)
        .await
        .into_iter()
        .filter(|d| d["template"] == "password_reset")
        .count();
    assert_eq!(resets, 1);
}

async fn smtp_authentication_is_used_and_a_wrong_password_is_final(backend: Backend) {
    let smtp = SmtpServer::start_with_auth("apikey", "SG.right");
    let port = smtp.port;
    let app = spawn_with(backend, move |cfg| {
        smtp_config(cfg, port);
        cfg.notifications.smtp_username = Some("apikey".into());
        cfg.notifications.smtp_password = Some("SG.right".to_owned().into());
    })
    .await;
    let kai = app.register("kai").await;
    let mails = smtp.wait_for(1, WAIT).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0]["rcpt_tos"], json!([kai.email]));
    drop(app);

    let app = spawn_with(backend, move |cfg| {
        smtp_config(cfg, port);
        cfg.notifications.smtp_username = Some("apikey".into());
        cfg.notifications.smtp_password = Some("SG.wrong".to_owned().into());
    })
    .await;
    app.register("lou").await;
    let admin = app.admin_token().await;
    let failed = wait_delivery(&app, &admin, "welcome", "failed").await;
    assert_eq!(failed["attempts"], 1, "535 is final");
    assert_eq!(smtp.messages().len(), 1);
}

async fn mail_goes_over_starttls_and_implicit_tls(backend: Backend) {
    for (mode, security) in [("starttls", "starttls"), ("implicit", "tls")] {
        let smtp = SmtpServer::start_tls(mode);
        let (port, ca) = (smtp.port, smtp.ca_file());
        let app = spawn_with(backend, move |cfg| {
            smtp_config(cfg, port);
            cfg.notifications.smtp_security = security.into();
            cfg.notifications.smtp_ca_file = Some(ca);
        })
        .await;
        let user = app.register(mode).await;
        let mails = smtp.wait_for(1, WAIT).await;
        assert_eq!(mails.len(), 1, "{mode}");
        assert_eq!(mails[0]["rcpt_tos"], json!([user.email]));
    }
    // Without trusting the private CA the certificate is refused: nothing
    // goes out in clear text instead.
    let smtp = SmtpServer::start_tls("starttls");
    let port = smtp.port;
    let app = spawn_with(backend, move |cfg| {
        smtp_config(cfg, port);
        cfg.notifications.smtp_security = "starttls".into();
        cfg.notifications.max_attempts = 2;
    })
    .await;
    app.register("mia").await;
    let admin = app.admin_token().await;
    wait_delivery(&app, &admin, "welcome", "failed").await;
    assert!(smtp.messages().is_empty());
}
