//! Order routes.

use axum::{
    Json,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use platform::{
    Problem,
    auth::{AdminUser, AuthUser, MaybeAuthUser},
    http::{
        extract::{CanonicalJson, MaybeJson, ValidJson, ValidQuery},
        pagination::PageRequest,
    },
    idempotency::{IdempotencyKey, fingerprint},
};
use uuid::Uuid;

use super::{
    OrdersState,
    dto::{
        CancelIn, OrderListQuery, OrderOut, OrderPage, PlaceOrderIn, ShipIn, SummaryOut,
        SummaryQuery,
    },
};
use crate::{
    domain::{
        lifecycle::{Status, Tracking},
        order::Order,
    },
    error::{OrderError, Result},
    service::{Idempotency, PlaceOrder, Placed},
    store::Filter,
};

/// An RFC 3339 time in a query, as Unix milliseconds.
fn time_param(
    errors: &mut Vec<platform::FieldError>,
    field: &str,
    raw: Option<&str>,
) -> Option<i64> {
    let raw = raw?;
    match time::OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339) {
        Ok(at) => Some(platform::time::to_millis(at)),
        Err(_) => {
            errors.push(platform::FieldError::new(
                field,
                "must be an RFC 3339 time, e.g. 2026-12-01T00:00:00Z",
            ));
            None
        }
    }
}

fn id(raw: &str) -> Result<Uuid> {
    Uuid::parse_str(raw).map_err(|_| OrderError::NotFound("order"))
}

fn out(order: &Order) -> Json<OrderOut> {
    Json(OrderOut::from(order))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

fn json_response(status: StatusCode, body: String) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// Place an order from a cart. Send an `Idempotency-Key`: a retry with the
/// same key and body answers as the first request did.
#[utoipa::path(post, path = "/api/v1/orders", tag = "orders", security((), ("bearer" = [])), request_body = PlaceOrderIn,
    params(("Idempotency-Key" = Option<String>, Header, description = "1 to 255 printable ASCII characters; the same key with the same body replays the first answer", min_length = 1, max_length = 255, pattern = "^[ -~]+$")),
    responses((status = 201, body = OrderOut, description = "placed, `pending`"),
              (status = 400, body = Problem, description = "bad Idempotency-Key"),
              (status = 404, body = Problem, description = "no such cart, or not the caller's"),
              (status = 409, body = Problem, description = "a request with this key is in flight"),
              (status = 422, body = Problem, description = "empty cart, bad address or email, unknown provider, key reused with another body"),
              (status = 503, body = Problem, description = "cart unavailable")))]
pub(super) async fn place(
    State(state): State<OrdersState>,
    MaybeAuthUser(caller): MaybeAuthUser,
    IdempotencyKey(key): IdempotencyKey,
    headers: HeaderMap,
    body: CanonicalJson<PlaceOrderIn>,
) -> Result<Response> {
    let idem = key.map(|key| Idempotency {
        key,
        fingerprint: fingerprint("POST", "/api/v1/orders", &body.canonical),
    });
    let input = body.value;
    let input = PlaceOrder {
        cart_id: input.cart_id,
        email: input.email,
        shipping_address: input.shipping_address,
        payment_provider: input.payment_provider,
        shipping_option_id: input.shipping_option_id,
    };
    let render = |order: &Order| -> anyhow::Result<String> {
        Ok(serde_json::to_string(&OrderOut::from(order))?)
    };
    let placed = state
        .service
        .place(caller.as_ref(), bearer(&headers), input, idem, &render)
        .await?;
    Ok(match placed {
        Placed::Created(_, body) => json_response(StatusCode::CREATED, body),
        Placed::Replay(stored) => {
            let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
            let mut response = json_response(status, stored.body);
            response
                .headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            response
        }
    })
}

/// Orders, newest first: a customer's own; an admin's view of all, with filters.
#[utoipa::path(get, path = "/api/v1/orders", tag = "orders", security(("bearer" = [])), params(OrderListQuery),
    responses((status = 200, body = OrderPage), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn list(
    State(state): State<OrdersState>,
    caller: AuthUser,
    ValidQuery(query): ValidQuery<OrderListQuery>,
) -> Result<Json<OrderPage>> {
    let page = PageRequest::parse(query.limit.as_deref(), query.cursor.as_deref())?;
    let mut errors = Vec::new();
    let status = match query.status.as_deref() {
        None => None,
        Some(raw) => Status::parse(raw).or_else(|| {
            errors.push(platform::FieldError::new(
                "status",
                "must be one of pending, awaiting_payment, paid, shipped, delivered, cancelled",
            ));
            None
        }),
    };
    let customer_id = match query.customer_id.as_deref() {
        None => None,
        Some(raw) => Uuid::parse_str(raw).ok().or_else(|| {
            errors.push(platform::FieldError::new("customer_id", "must be a UUID"));
            None
        }),
    };
    let created_from = time_param(&mut errors, "created_from", query.created_from.as_deref());
    let created_to = time_param(&mut errors, "created_to", query.created_to.as_deref());
    if !errors.is_empty() {
        return Err(OrderError::Validation(errors));
    }
    let filter = Filter {
        customer_id,
        status,
        created_from,
        created_to,
    };
    let page = state.service.list(&caller, filter, &page).await?;
    Ok(Json(OrderPage {
        items: page.items.iter().map(OrderOut::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// The admin overview's figures: orders placed, paid and failed since
/// `from`, revenue per currency, every status's count, and orders stuck
/// awaiting their payment.
#[utoipa::path(get, path = "/api/v1/orders/summary", tag = "orders", security(("bearer" = [])), params(SummaryQuery),
    responses((status = 200, body = SummaryOut), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 422, body = Problem)))]
pub(super) async fn summary(
    State(state): State<OrdersState>,
    _admin: AdminUser,
    ValidQuery(query): ValidQuery<SummaryQuery>,
) -> Result<Json<SummaryOut>> {
    let mut errors = Vec::new();
    let from = time_param(&mut errors, "from", query.from.as_deref());
    if query.from.is_none() {
        errors.push(platform::FieldError::new("from", "is required"));
    }
    let stuck_after_secs = match query.stuck_after_secs.as_deref() {
        None => Some(1800),
        Some(raw) => raw
            .parse::<i64>()
            .ok()
            .filter(|s| (1..=604_800).contains(s))
            .or_else(|| {
                errors.push(platform::FieldError::new(
                    "stuck_after_secs",
                    "must be a whole number of seconds within 1..=604800",
                ));
                None
            }),
    };
    let (Some(from), Some(stuck_after_secs), true) = (from, stuck_after_secs, errors.is_empty())
    else {
        return Err(OrderError::Validation(errors));
    };
    let figures = state.service.summary(from, stuck_after_secs).await?;
    let mut by_status: std::collections::BTreeMap<String, i64> = Status::ALL
        .into_iter()
        .map(|s| (s.as_str().to_owned(), 0))
        .collect();
    by_status.extend(figures.by_status);
    Ok(Json(SummaryOut {
        from: platform::time::from_millis(from),
        placed: figures.placed,
        paid: figures.paid,
        revenue: figures
            .revenue
            .into_iter()
            .map(|(currency, amount)| platform::money::Money { amount, currency })
            .collect(),
        payments_failed: figures.payments_failed,
        by_status,
        stuck_awaiting_payment: figures.stuck_awaiting_payment,
    }))
}

/// An order with its history: to its owner or an admin; a guest order to
/// anyone with its id.
#[utoipa::path(get, path = "/api/v1/orders/{id}", tag = "orders", security((), ("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = OrderOut), (status = 404, body = Problem)))]
pub(super) async fn get(
    State(state): State<OrdersState>,
    MaybeAuthUser(caller): MaybeAuthUser,
    Path(order_id): Path<String>,
) -> Result<Json<OrderOut>> {
    let order = state.service.get(id(&order_id)?, caller.as_ref()).await?;
    Ok(out(&order))
}

/// Cancel: the owner until it ships, or an admin. A paid order is refunded.
#[utoipa::path(post, path = "/api/v1/orders/{id}/cancel", tag = "orders", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body(content = Option<CancelIn>, description = "optional"),
    responses((status = 200, body = OrderOut), (status = 401, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem, description = "shipped, delivered or already cancelled; `current_status` says which"),
              (status = 422, body = Problem)))]
pub(super) async fn cancel(
    State(state): State<OrdersState>,
    caller: AuthUser,
    Path(order_id): Path<String>,
    MaybeJson(body): MaybeJson<CancelIn>,
) -> Result<Json<OrderOut>> {
    let order_id = id(&order_id)?;
    let reason = body.unwrap_or_default().reason;
    if reason.as_ref().is_some_and(|r| r.chars().count() > 500) {
        return Err(OrderError::field(
            "reason",
            "must be at most 500 characters",
        ));
    }
    let reason = reason
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty());
    let order = state.service.cancel(order_id, &caller, reason).await?;
    Ok(out(&order))
}

/// Hand a paid order to a carrier (admin).
#[utoipa::path(post, path = "/api/v1/orders/{id}/ship", tag = "orders", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = ShipIn,
    responses((status = 200, body = OrderOut), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem, description = "not paid"),
              (status = 422, body = Problem)))]
pub(super) async fn ship(
    State(state): State<OrdersState>,
    AdminUser(admin): AdminUser,
    Path(order_id): Path<String>,
    ValidJson(body): ValidJson<ShipIn>,
) -> Result<Json<OrderOut>> {
    let order_id = id(&order_id)?;
    let mut errors = Vec::new();
    for (field, value) in [
        ("carrier", &body.carrier),
        ("tracking_number", &body.tracking_number),
    ] {
        if platform::http::schema::is_blank(value) || value.chars().count() > 100 {
            errors.push(platform::FieldError::new(
                field,
                "must be 1 to 100 characters",
            ));
        }
    }
    if !errors.is_empty() {
        return Err(OrderError::Validation(errors));
    }
    let tracking = Tracking {
        carrier: body.carrier.trim().to_owned(),
        tracking_number: body.tracking_number.trim().to_owned(),
    };
    let order = state.service.ship(order_id, &admin, tracking).await?;
    Ok(out(&order))
}

/// Mark a shipped order delivered (admin).
#[utoipa::path(post, path = "/api/v1/orders/{id}/deliver", tag = "orders", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = OrderOut), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem, description = "not shipped")))]
pub(super) async fn deliver(
    State(state): State<OrdersState>,
    AdminUser(admin): AdminUser,
    Path(order_id): Path<String>,
) -> Result<Json<OrderOut>> {
    let order = state.service.deliver(id(&order_id)?, &admin).await?;
    Ok(out(&order))
}
