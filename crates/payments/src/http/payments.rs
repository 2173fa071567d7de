//! Payment routes.

use axum::{
    Json,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use contracts::checkout::Provider;
use platform::{
    Problem,
    auth::{AdminUser, MaybeAuthUser},
    http::extract::{CanonicalJson, MaybeJson, ValidQuery},
    idempotency::{IdempotencyKey, fingerprint},
};
use uuid::Uuid;

use super::{
    PaymentsState,
    dto::{ConfirmIn, PaymentList, PaymentListQuery, PaymentOut, RefundIn, RefundOut},
};
use crate::{
    domain::payment::{Payment, Refund},
    error::{PaymentError, Result},
    service::{Idempotency, Refunded},
};

fn id(raw: &str) -> Result<Uuid> {
    Uuid::parse_str(raw).map_err(|_| PaymentError::NotFound("payment"))
}

/// The payments of an order the caller may see (empty otherwise).
#[utoipa::path(get, path = "/api/v1/payments", tag = "payments", security((), ("bearer" = [])), params(PaymentListQuery),
    responses((status = 200, body = PaymentList), (status = 422, body = Problem, description = "order_id missing or not a UUID")))]
pub(super) async fn list(
    State(state): State<PaymentsState>,
    MaybeAuthUser(caller): MaybeAuthUser,
    ValidQuery(query): ValidQuery<PaymentListQuery>,
) -> Result<Json<PaymentList>> {
    let order_id = match query.order_id.as_deref() {
        None | Some("") => return Err(PaymentError::field("order_id", "is required")),
        Some(raw) => {
            Uuid::parse_str(raw).map_err(|_| PaymentError::field("order_id", "must be a UUID"))?
        }
    };
    let payments = state.service.for_order(order_id, caller.as_ref()).await?;
    Ok(Json(PaymentList {
        items: payments.iter().map(PaymentOut::from).collect(),
    }))
}

/// A payment: to the order's customer or an admin; a guest order's to anyone with its id.
#[utoipa::path(get, path = "/api/v1/payments/{id}", tag = "payments", security((), ("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = PaymentOut), (status = 404, body = Problem)))]
pub(super) async fn get(
    State(state): State<PaymentsState>,
    MaybeAuthUser(caller): MaybeAuthUser,
    Path(payment_id): Path<String>,
) -> Result<Json<PaymentOut>> {
    let payment = state.service.get(id(&payment_id)?, caller.as_ref()).await?;
    Ok(Json(PaymentOut::from(&payment)))
}

/// Pay a pending `test` payment with a test card, or capture a PayPal
/// payment once the buyer has approved it (empty body).
#[utoipa::path(post, path = "/api/v1/payments/{id}/confirm", tag = "payments", security((), ("bearer" = [])), params(("id" = Uuid, Path)),
    request_body(content = Option<ConfirmIn>, description = "the test card; empty to capture an approved PayPal payment"),
    responses((status = 200, body = PaymentOut, description = "succeeded, or failed with `failure_code`; a PayPal capture PayPal holds for review stays pending"),
              (status = 404, body = Problem), (status = 409, body = Problem, description = "no longer pending, a Stripe payment (confirmed with its client_secret), or a PayPal payment not approved yet"),
              (status = 422, body = Problem, description = "not a test card"), (status = 502, body = Problem, description = "the provider did not answer")))]
pub(super) async fn confirm(
    State(state): State<PaymentsState>,
    MaybeAuthUser(caller): MaybeAuthUser,
    Path(payment_id): Path<String>,
    MaybeJson(body): MaybeJson<ConfirmIn>,
) -> Result<Json<PaymentOut>> {
    let body = body.unwrap_or_default();
    let payment = state
        .service
        .confirm(
            id(&payment_id)?,
            caller.as_ref(),
            body.card_number.as_deref(),
        )
        .await?;
    Ok(Json(PaymentOut::from(&payment)))
}

/// Refund all or part of a payment (admin). Send an `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/payments/{id}/refunds", tag = "payments", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("Idempotency-Key" = Option<String>, Header, description = "1 to 255 printable ASCII characters; the same key with the same body replays the first answer", min_length = 1, max_length = 255, pattern = "^[ -~]+$")),
    request_body(content = Option<RefundIn>, description = "optional: without a body (or an amount), all that remains"),
    responses((status = 201, body = RefundOut), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem, description = "not refundable in its status, or key in flight"),
              (status = 422, body = Problem, description = "more than remains"), (status = 502, body = Problem)))]
pub(super) async fn refund(
    State(state): State<PaymentsState>,
    AdminUser(admin): AdminUser,
    Path(payment_id): Path<String>,
    IdempotencyKey(key): IdempotencyKey,
    body: Option<CanonicalJson<RefundIn>>,
) -> Result<Response> {
    let payment_id = id(&payment_id)?;
    let (amount, canonical) = match body {
        Some(body) => (body.value.amount, body.canonical),
        None => (None, b"{}".to_vec()),
    };
    let idem = key.map(|key| Idempotency {
        key,
        fingerprint: fingerprint(
            "POST",
            &format!("/api/v1/payments/{payment_id}/refunds"),
            &canonical,
        ),
    });
    let render = |refund: &Refund, payment: &Payment| -> anyhow::Result<String> {
        Ok(serde_json::to_string(&RefundOut::new(refund, payment))?)
    };
    let (status, body, replayed) = match state
        .service
        .refund(payment_id, &admin, amount, idem, &render)
        .await?
    {
        Refunded::Created(_, body) => (StatusCode::CREATED, body, false),
        Refunded::Replay(stored) => (
            StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK),
            stored.body,
            true,
        ),
    };
    let mut response = (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response();
    if replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// Stripe's webhook: `Stripe-Signature` verified over the raw body
/// (HMAC-SHA256, 5-minute tolerance, any configured secret); each event
/// acted on once; events we do not use are acknowledged.
#[utoipa::path(post, path = "/api/v1/webhooks/stripe", tag = "payments",
    responses((status = 200, description = "received"),
              (status = 400, body = Problem, description = "missing or bad signature, or Stripe not configured"),
              (status = 502, body = Problem, description = "Stripe did not answer a call this event needs; it sends the event again")))]
pub(super) async fn stripe_webhook(
    State(state): State<PaymentsState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Received>> {
    state
        .service
        .handle_webhook(Provider::Stripe, &headers, &body)
        .await?;
    Ok(Json(Received { received: true }))
}

/// PayPal's webhook: verified by PayPal's verify-webhook-signature API;
/// each event acted on once.
#[utoipa::path(post, path = "/api/v1/webhooks/paypal", tag = "payments",
    responses((status = 200, description = "received"),
              (status = 400, body = Problem, description = "verification failed, or PayPal not configured"),
              (status = 502, body = Problem, description = "PayPal did not answer the verification; it sends the event again")))]
pub(super) async fn paypal_webhook(
    State(state): State<PaymentsState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Received>> {
    state
        .service
        .handle_webhook(Provider::Paypal, &headers, &body)
        .await?;
    Ok(Json(Received { received: true }))
}

/// A webhook's acknowledgement.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(super) struct Received {
    received: bool,
}
