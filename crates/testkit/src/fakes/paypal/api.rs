//! The REST API of the PayPal fake: its handlers and the rules they share
//! (tokens, outages, request ids, amounts in the currency's decimals).

use super::*;

pub(super) fn error(status: StatusCode, name: &str, issue: &str, message: &str) -> Response {
    (
        status,
        Json(json!({
            "name": name,
            "message": message,
            "debug_id": hex_id(7),
            "details": [{"issue": issue, "description": message}],
            "links": [{"href": format!("https://developer.paypal.com/docs/api/orders/v2/#error-{issue}"), "rel": "information_link"}],
        })),
    )
        .into_response()
}

pub(super) fn unprocessable(issue: &str, message: &str) -> Response {
    error(
        StatusCode::UNPROCESSABLE_ENTITY,
        "UNPROCESSABLE_ENTITY",
        issue,
        message,
    )
}

/// Minor units of a PayPal amount value with exactly the decimals of its
/// currency (2 here; 0 for JPY and the like).
pub(super) fn cents(value: &str, currency: &str) -> Option<i64> {
    let decimals = platform::money::minor_units(currency)? as usize;
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    let ok = !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.len() == decimals
        && fraction.bytes().all(|b| b.is_ascii_digit())
        && (decimals == 0) != value.contains('.');
    ok.then(|| format!("{whole}{fraction}").parse().ok())
        .flatten()
}

/// The inverse of [`cents`].
pub(super) fn value_of(cents: i64, currency: &str) -> String {
    let decimals = u32::from(platform::money::minor_units(currency).unwrap_or(2));
    if decimals == 0 {
        return cents.to_string();
    }
    let scale = 10i64.pow(decimals);
    format!(
        "{}.{:0width$}",
        cents / scale,
        cents % scale,
        width = decimals as usize
    )
}

pub(super) fn order_json(order: &Order) -> Value {
    let mut unit = json!({
        "reference_id": order.custom_id,
        "custom_id": order.custom_id,
        "amount": {"currency_code": order.currency, "value": order.value},
    });
    if let Some(capture) = &order.capture {
        unit["payments"] = json!({"captures": [{
            "id": capture.id,
            "status": capture.status,
            "amount": {"currency_code": order.currency, "value": capture.value},
            "supplementary_data": {"related_ids": {"order_id": order.id}},
        }]});
    }
    json!({
        "id": order.id,
        "intent": order.intent,
        "status": order.status,
        "purchase_units": [unit],
        "links": [
            {"href": format!("https://api-m.sandbox.paypal.com/v2/checkout/orders/{}", order.id), "rel": "self", "method": "GET"},
            {"href": format!("https://www.sandbox.paypal.com/checkoutnow?token={}", order.id), "rel": "payer-action", "method": "GET"},
        ],
    })
}

/// The checks every API call shares: an injected outage, then a token.
pub(super) fn gate(inner: &mut Inner, headers: &HeaderMap) -> Result<(), Response> {
    if let Some(status) = inner.outage.take() {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        return Err(error(
            status,
            "SERVICE_UNAVAILABLE",
            "SERVICE_UNAVAILABLE",
            "Service Unavailable",
        ));
    }
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let live = token
        .and_then(|t| inner.tokens.get(t))
        .is_some_and(|until| std::time::Instant::now() < *until);
    if live {
        Ok(())
    } else {
        Err((
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_token", "error_description": "Token signature verification failed"})),
        )
            .into_response())
    }
}

pub(super) fn request_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get("paypal-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The first answer to this `PayPal-Request-Id` on this call, if any.
pub(super) fn replay(inner: &Inner, call: &str, id: Option<&String>) -> Option<Response> {
    let (status, body) = inner.replies.get(&(call.to_owned(), id?.clone()))?;
    Some((*status, Json(body.clone())).into_response())
}

pub(super) fn remember(
    inner: &mut Inner,
    call: &str,
    id: Option<String>,
    status: StatusCode,
    body: Value,
) -> Response {
    if let Some(id) = id {
        inner
            .replies
            .insert((call.to_owned(), id), (status, body.clone()));
    }
    (status, Json(body)).into_response()
}

pub(super) async fn token(
    State(state): State<Shared<Inner>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let mut inner = state.lock().expect("lock");
    if let Some(status) = inner.outage.take() {
        return StatusCode::from_u16(status)
            .unwrap_or(StatusCode::SERVICE_UNAVAILABLE)
            .into_response();
    }
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", inner.client_id, inner.client_secret))
    );
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_client", "error_description": "Client Authentication failed"})),
        )
            .into_response();
    }
    let form: HashMap<String, String> = form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "unsupported_grant_type", "error_description": "Grant Type is NULL"})),
        )
            .into_response();
    }
    inner.token_requests += 1;
    let token = format!("A21AA{}", hex_id(24));
    let lifetime = inner.token_lifetime_secs;
    inner.tokens.insert(
        token.clone(),
        std::time::Instant::now() + std::time::Duration::from_secs(lifetime),
    );
    Json(json!({
        "scope": "https://uri.paypal.com/services/payments/payment",
        "access_token": token,
        "token_type": "Bearer",
        "app_id": "APP-80W284485P519543T",
        "expires_in": lifetime,
        "nonce": hex_id(8),
    }))
    .into_response()
}

pub(super) async fn create_order(
    State(state): State<Shared<Inner>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let mut inner = state.lock().expect("lock");
    if let Err(refused) = gate(&mut inner, &headers) {
        return refused;
    }
    let rid = request_id(&headers);
    if let Some(first) = replay(&inner, "create", rid.as_ref()) {
        return first;
    }
    let intent = body["intent"].as_str().unwrap_or_default();
    if !matches!(intent, "CAPTURE" | "AUTHORIZE") {
        return error(
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
            "INVALID_PARAMETER_VALUE",
            "intent must be CAPTURE or AUTHORIZE",
        );
    }
    let unit = &body["purchase_units"][0];
    let currency = unit["amount"]["currency_code"].as_str().unwrap_or_default();
    let value = unit["amount"]["value"].as_str().unwrap_or_default();
    if unit.is_null() || currency.is_empty() || value.is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
            "MISSING_REQUIRED_PARAMETER",
            "purchase_units[0].amount is required",
        );
    }
    if cents(value, currency).is_none_or(|c| c <= 0) {
        return unprocessable(
            "DECIMAL_PRECISION",
            "The value of the field should not be more than the currency's decimals",
        );
    }
    let order = Order {
        id: hex_id(9).to_uppercase(),
        status: if body["payment_source"]["paypal"].is_object() {
            "PAYER_ACTION_REQUIRED"
        } else {
            "CREATED"
        },
        intent: intent.to_owned(),
        currency: currency.to_owned(),
        value: value.to_owned(),
        custom_id: unit["custom_id"].as_str().unwrap_or_default().to_owned(),
        decline: false,
        capture: None,
    };
    let answer = order_json(&order);
    inner.orders.insert(order.id.clone(), order);
    remember(&mut inner, "create", rid, StatusCode::OK, answer)
}

pub(super) async fn show_order(
    State(state): State<Shared<Inner>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let mut inner = state.lock().expect("lock");
    if let Err(refused) = gate(&mut inner, &headers) {
        return refused;
    }
    match inner.orders.get(&id) {
        Some(order) => Json(order_json(order)).into_response(),
        None => not_found(),
    }
}

pub(super) fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "RESOURCE_NOT_FOUND",
        "INVALID_RESOURCE_ID",
        "Specified resource ID does not exist. Please check the resource ID and try again.",
    )
}

pub(super) async fn capture_order(
    State(state): State<Shared<Inner>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let (answer, webhook) = {
        let mut inner = state.lock().expect("lock");
        if let Err(refused) = gate(&mut inner, &headers) {
            return refused;
        }
        let rid = request_id(&headers);
        if let Some(first) = replay(&inner, "capture", rid.as_ref()) {
            return first;
        }
        let Some(order) = inner.orders.get_mut(&id) else {
            return not_found();
        };
        match order.status {
            "APPROVED" => {}
            "COMPLETED" => {
                return unprocessable(
                    "ORDER_ALREADY_CAPTURED",
                    "Order already captured. If 'intent=CAPTURE' only one capture per order is allowed.",
                );
            }
            _ => {
                return unprocessable(
                    "ORDER_NOT_APPROVED",
                    "Payer has not yet approved the Order for payment.",
                );
            }
        }
        let capture = Capture {
            id: hex_id(9).to_uppercase(),
            status: if order.decline {
                "DECLINED"
            } else {
                "COMPLETED"
            },
            value: order.value.clone(),
            refunded_cents: 0,
        };
        order.status = "COMPLETED";
        let event = if order.decline {
            "PAYMENT.CAPTURE.DENIED"
        } else {
            "PAYMENT.CAPTURE.COMPLETED"
        };
        order.capture = Some(capture);
        let answer = order_json(order);
        let resource = answer["purchase_units"][0]["payments"]["captures"][0].clone();
        inner.captures += 1;
        let webhook = inner.webhook_url.clone().map(|url| (url, event, resource));
        (
            remember(&mut inner, "capture", rid, StatusCode::CREATED, answer),
            webhook,
        )
    };
    if let Some((url, event, resource)) = webhook {
        let fake = FakePaypal {
            base: String::new(),
            state: state.clone(),
        };
        tokio::spawn(async move {
            fake.send_webhook(&url, event, resource).await;
        });
    }
    answer
}

pub(super) async fn refund_capture(
    State(state): State<Shared<Inner>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Option<Json<Value>>,
) -> Response {
    let mut inner = state.lock().expect("lock");
    if let Err(refused) = gate(&mut inner, &headers) {
        return refused;
    }
    let rid = request_id(&headers);
    if let Some(first) = replay(&inner, "refund", rid.as_ref()) {
        return first;
    }
    let Some(order) = inner
        .orders
        .values_mut()
        .find(|o| o.capture.as_ref().is_some_and(|c| c.id == id))
    else {
        return not_found();
    };
    let currency = order.currency.clone();
    let Some(capture) = order.capture.as_mut() else {
        return not_found();
    };
    let total = cents(&capture.value, &currency).unwrap_or(0);
    let remaining = total - capture.refunded_cents;
    if capture.status != "COMPLETED" || remaining <= 0 {
        return unprocessable(
            "CAPTURE_FULLY_REFUNDED",
            "The capture has already been fully refunded",
        );
    }
    let wanted = match body.as_ref().map(|Json(b)| &b["amount"]) {
        Some(amount) if amount.is_object() => {
            if amount["currency_code"].as_str() != Some(currency.as_str()) {
                return unprocessable(
                    "CURRENCY_MISMATCH",
                    "Currency of refund must be the same as the currency of the capture",
                );
            }
            match amount["value"].as_str().and_then(|v| cents(v, &currency)) {
                Some(c) if c > 0 => c,
                _ => {
                    return unprocessable(
                        "DECIMAL_PRECISION",
                        "The amount's value is not a valid amount of the currency",
                    );
                }
            }
        }
        _ => remaining,
    };
    if wanted > remaining {
        return unprocessable(
            "REFUND_AMOUNT_EXCEEDED",
            "The refund amount must be less than or equal to the capture amount that has not yet been refunded",
        );
    }
    capture.refunded_cents += wanted;
    let refund = json!({
        "id": hex_id(9).to_uppercase(),
        "status": "COMPLETED",
        "amount": {"currency_code": currency, "value": value_of(wanted, &currency)},
    });
    inner.refunds.push(refund.clone());
    remember(&mut inner, "refund", rid, StatusCode::CREATED, refund)
}

pub(super) async fn verify(
    State(state): State<Shared<Inner>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let mut inner = state.lock().expect("lock");
    if let Err(refused) = gate(&mut inner, &headers) {
        return refused;
    }
    let fields = [
        "auth_algo",
        "cert_url",
        "transmission_id",
        "transmission_sig",
        "transmission_time",
        "webhook_id",
    ];
    if let Some(missing) = fields.iter().find(|f| !body[**f].is_string()) {
        return error(
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
            "MISSING_REQUIRED_PARAMETER",
            &format!("{missing} is required"),
        );
    }
    let genuine = body["webhook_id"] == WEBHOOK_ID
        && inner
            .transmissions
            .get(body["transmission_id"].as_str().unwrap_or_default())
            .is_some_and(|(sig, event)| {
                body["transmission_sig"].as_str() == Some(sig.as_str())
                    && &body["webhook_event"] == event
            });
    Json(json!({"verification_status": if genuine { "SUCCESS" } else { "FAILURE" }}))
        .into_response()
}
