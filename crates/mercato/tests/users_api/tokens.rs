//! Access-token attacks: every forged or stale token is a 401.

use std::{sync::Arc, time::Duration};

use base64::{
    Engine as _,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use platform::auth::{RemoteJwks, Verifier};
use serde_json::{Value, json};
use sqlx::Row as _;
use testkit::{Backend, Customer, TestApp, on_both_backends, spawn};

on_both_backends!(
    a_token_signed_with_our_key_and_right_claims_is_accepted,
    a_tampered_payload_is_refused,
    alg_none_is_refused,
    an_hmac_token_keyed_with_the_public_key_is_refused,
    wrong_audience_wrong_issuer_expired_and_unknown_kid_are_refused,
    the_jwks_verifies_tokens_for_other_services,
    a_key_added_by_another_instance_is_published_and_accepted,
);

async fn signing_key(app: &TestApp) -> (String, EncodingKey, String) {
    let db = app.database("users").await;
    let row = sqlx::query("select kid, private_pkcs8, public_key from signing_key")
        .fetch_one(db.pool())
        .await
        .unwrap();
    let pkcs8 = STANDARD
        .decode(row.get::<String, _>("private_pkcs8"))
        .unwrap();
    (
        row.get("kid"),
        EncodingKey::from_ed_der(&pkcs8),
        row.get("public_key"),
    )
}

fn claims(customer: &Customer) -> Value {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    json!({"iss": "mercato", "aud": "mercato", "sub": customer.id, "role": "customer",
           "exp": now + 600, "iat": now, "jti": "test"})
}

async fn sign(app: &TestApp, claims: &Value) -> String {
    let (kid, key, _) = signing_key(app).await;
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid);
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

async fn a_token_signed_with_our_key_and_right_claims_is_accepted(backend: Backend) {
    // The control for the attacks below: the forging helper itself works.
    let app = spawn(backend).await;
    let customer = app.register("control").await;
    let token = sign(&app, &claims(&customer)).await;
    app.get("/api/v1/users/me", Some(&token)).await.expect(200);
}

async fn a_tampered_payload_is_refused(backend: Backend) {
    let app = spawn(backend).await;
    let customer = app.register("tamper").await;
    let parts: Vec<&str> = customer.access.split('.').collect();
    let mut payload: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    payload["role"] = json!("admin");
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(payload.to_string()),
        parts[2]
    );
    app.get("/api/v1/users", Some(&forged)).await.problem(401);
    app.get("/api/v1/users/me", Some(&forged))
        .await
        .problem(401);
}

async fn alg_none_is_refused(backend: Backend) {
    let app = spawn(backend).await;
    let customer = app.register("none").await;
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims(&customer).to_string());
    for token in [
        format!("{header}.{payload}."),
        format!("{header}.{payload}"),
    ] {
        app.get("/api/v1/users/me", Some(&token)).await.problem(401);
    }
}

async fn an_hmac_token_keyed_with_the_public_key_is_refused(backend: Backend) {
    let app = spawn(backend).await;
    let customer = app.register("confusion").await;
    let (kid, _, public) = signing_key(&app).await;
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(kid);
    for secret in [
        public.as_bytes().to_vec(),
        URL_SAFE_NO_PAD.decode(&public).unwrap(),
    ] {
        let token = jsonwebtoken::encode(
            &header,
            &claims(&customer),
            &EncodingKey::from_secret(&secret),
        )
        .unwrap();
        app.get("/api/v1/users/me", Some(&token)).await.problem(401);
    }
}

async fn wrong_audience_wrong_issuer_expired_and_unknown_kid_are_refused(backend: Backend) {
    let app = spawn(backend).await;
    let customer = app.register("claims").await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut wrong_aud = claims(&customer);
    wrong_aud["aud"] = json!("another-app");
    let mut wrong_iss = claims(&customer);
    wrong_iss["iss"] = json!("evil");
    let mut expired = claims(&customer);
    expired["exp"] = json!(now - 120);
    expired["iat"] = json!(now - 1000);
    let mut no_sub = claims(&customer);
    no_sub.as_object_mut().unwrap().remove("sub");
    for bad in [wrong_aud, wrong_iss, expired, no_sub] {
        let token = sign(&app, &bad).await;
        app.get("/api/v1/users/me", Some(&token)).await.problem(401);
    }
    let (_, key, _) = signing_key(&app).await;
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some("unknown-kid".into());
    let token = jsonwebtoken::encode(&header, &claims(&customer), &key).unwrap();
    app.get("/api/v1/users/me", Some(&token)).await.problem(401);
}

async fn the_jwks_verifies_tokens_for_other_services(backend: Backend) {
    let app = spawn(backend).await;
    let customer = app.register("jwks").await;
    let jwks = app.get("/.well-known/jwks.json", None).await;
    jwks.expect(200);
    let key = &jwks.body["keys"][0];
    assert_eq!(
        (
            key["kty"].as_str(),
            key["crv"].as_str(),
            key["alg"].as_str()
        ),
        (Some("OKP"), Some("Ed25519"), Some("EdDSA"))
    );
    assert!(
        key.get("d").is_none(),
        "the JWKS must not carry the private key"
    );

    let remote = RemoteJwks::new(
        &format!("{}/.well-known/jwks.json", app.base),
        Duration::from_secs(30),
    )
    .unwrap();
    let verifier = Verifier::new("mercato", "mercato", Arc::new(remote));
    let claims = verifier.verify(&customer.access).await.unwrap();
    assert_eq!(claims.sub, customer.id);
    let mut tampered = customer.access.clone();
    tampered.pop();
    tampered.push(if customer.access.ends_with('A') {
        'B'
    } else {
        'A'
    });
    assert!(verifier.verify(&tampered).await.is_err());
}

async fn a_key_added_by_another_instance_is_published_and_accepted(backend: Backend) {
    let app = spawn(backend).await;
    let customer = app.register("rotation").await;
    let remote = RemoteJwks::new(
        &format!("{}/.well-known/jwks.json", app.base),
        Duration::ZERO,
    )
    .unwrap();
    let verifier = Verifier::new("mercato", "mercato", Arc::new(remote));
    verifier.verify(&customer.access).await.unwrap();

    // Another instance adds a key and signs with it.
    let mut key = users::keys::generate().unwrap();
    key.created_at += 1000;
    let db = app.database("users").await;
    users::store::keys::insert(db.pool(), &key).await.unwrap();
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(key.kid.clone());
    let encoding = EncodingKey::from_ed_der(&STANDARD.decode(&key.private_pkcs8).unwrap());
    let token = jsonwebtoken::encode(&header, &claims(&customer), &encoding).unwrap();

    // Other services refetch the JWKS on the unknown kid; this one reloads.
    verifier.verify(&token).await.unwrap();
    app.get("/api/v1/users/me", Some(&token)).await.expect(200);
    let jwks = app.get("/.well-known/jwks.json", None).await;
    assert_eq!(jwks.body["keys"].as_array().unwrap().len(), 2);
}
