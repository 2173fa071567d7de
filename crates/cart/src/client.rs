//! The in-process implementation of `contracts::clients::cart`, for the
//! all-in-one server (other processes read `GET /api/v1/carts/{id}`).

use std::sync::Arc;

use contracts::clients::{
    ClientError,
    cart::{CartCaller, CartClient, CartSnapshot, OrderedUnits},
};
use contracts::ids::{CartId, OrderId};
use futures::future::BoxFuture;

use crate::service::CartService;

/// Reads carts straight from the cart service.
pub struct InProcessCart(pub Arc<CartService>);

impl CartClient for InProcessCart {
    fn cart<'a>(
        &'a self,
        cart_id: CartId,
        caller: CartCaller<'a>,
    ) -> BoxFuture<'a, Result<Option<CartSnapshot>, ClientError>> {
        Box::pin(async move {
            self.0
                .snapshot(cart_id, caller.customer_id)
                .await
                .map_err(|e| ClientError::Unavailable {
                    service: "cart",
                    detail: e.to_string(),
                })
        })
    }

    fn checkout<'a>(
        &'a self,
        cart_id: CartId,
        _caller: CartCaller<'a>,
        order_id: OrderId,
        units: &'a [OrderedUnits],
    ) -> BoxFuture<'a, Result<(), ClientError>> {
        Box::pin(async move {
            self.0
                .checkout(cart_id, order_id, units)
                .await
                .map_err(|e| ClientError::Unavailable {
                    service: "cart",
                    detail: e.to_string(),
                })
        })
    }
}
