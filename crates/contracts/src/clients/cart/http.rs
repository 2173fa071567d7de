//! The cart over HTTP (`GET /api/v1/carts/{id}` with the customer's own
//! token), for an orders service running without the cart in its process.
//! The cart applies its own access rules, so orders cannot read a cart the
//! caller could not.

use std::time::Duration;

use super::{CartCaller, CartClient, CartLine, CartSnapshot, ClientError, OrderedUnits};
use crate::ids::{CartId, CustomerId, OrderId, VariantId};
use futures::future::BoxFuture;
use platform::discovery::{Peer, PeerError, Retry};
use serde::Deserialize;

/// Reads carts from the cart service's API, within a timeout, from another
/// instance when one cannot be reached.
pub struct HttpCart {
    peer: Peer,
}

impl HttpCart {
    /// A client of the cart instances `endpoints` finds (etcd, or a fixed URL).
    pub fn new(
        endpoints: std::sync::Arc<platform::discovery::Endpoints>,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            peer: Peer::new(endpoints, timeout)?,
        })
    }
}

/// The parts of the cart API's answer checkout reads.
#[derive(Deserialize)]
struct CartBody {
    id: CartId,
    customer_id: Option<CustomerId>,
    currency: String,
    #[serde(default)]
    promotion_code: Option<String>,
    items: Vec<ItemBody>,
}

#[derive(Deserialize)]
struct ItemBody {
    variant_id: VariantId,
    sku: String,
    product_name: String,
    variant_title: String,
    quantity: i64,
    unit_price: MoneyBody,
}

#[derive(Deserialize)]
struct MoneyBody {
    amount: i64,
}

fn unavailable(detail: impl ToString) -> ClientError {
    ClientError::Unavailable {
        service: "cart",
        detail: detail.to_string(),
    }
}

/// The caller's own token: the cart applies its access rules.
fn with_caller(
    request: reqwest::RequestBuilder,
    caller: CartCaller<'_>,
) -> reqwest::RequestBuilder {
    match caller.bearer {
        Some(token) => request.bearer_auth(token),
        None => request,
    }
}

impl CartClient for HttpCart {
    fn cart<'a>(
        &'a self,
        cart_id: CartId,
        caller: CartCaller<'a>,
    ) -> BoxFuture<'a, Result<Option<CartSnapshot>, ClientError>> {
        Box::pin(async move {
            let response = self
                .peer
                .send(Retry::Idempotent, |http, base| {
                    let request = http.get(format!("{base}/api/v1/carts/{cart_id}"));
                    with_caller(request, caller)
                })
                .await
                .map_err(unavailable)?;
            match response.status() {
                s if s.is_success() => {
                    let body: CartBody = response.json().await.map_err(unavailable)?;
                    Ok(Some(CartSnapshot {
                        id: body.id,
                        customer_id: body.customer_id,
                        currency: body.currency,
                        promotion_code: body.promotion_code,
                        items: body
                            .items
                            .into_iter()
                            .map(|i| CartLine {
                                variant_id: i.variant_id,
                                sku: i.sku,
                                product_name: i.product_name,
                                variant_title: i.variant_title,
                                quantity: i.quantity,
                                unit_price: i.unit_price.amount,
                            })
                            .collect(),
                    }))
                }
                reqwest::StatusCode::NOT_FOUND => Ok(None),
                _ => Err(unavailable(PeerError::answered(response).await)),
            }
        })
    }

    fn checkout<'a>(
        &'a self,
        cart_id: CartId,
        caller: CartCaller<'a>,
        order_id: OrderId,
        units: &'a [OrderedUnits],
    ) -> BoxFuture<'a, Result<(), ClientError>> {
        Box::pin(async move {
            let body = serde_json::json!({"order_id": order_id, "lines": units});
            let response = self
                .peer
                .send(Retry::IfNotSent, |http, base| {
                    let request = http
                        .post(format!("{base}/api/v1/carts/{cart_id}/checkout"))
                        .json(&body);
                    with_caller(request, caller)
                })
                .await
                .map_err(unavailable)?;
            if response.status().is_success() {
                Ok(())
            } else {
                Err(unavailable(PeerError::answered(response).await))
            }
        })
    }
}
