//! Placing an order: the caller's cart priced again, one Idempotency-Key, one
//! order and its `order.placed` in one transaction.

use contracts::checkout::Provider;
use platform::idempotency::{Claimed, Once};

use super::*;

/// What [`OrdersService::check`] found valid in the request.
struct Checked {
    email: Email,
    address: Address,
    provider: Provider,
}

impl OrdersService {
    /// Places an order from a cart: `pending`, with `order.placed` in the
    /// same transaction (and the idempotent answer, when a key was sent).
    pub async fn place(
        &self,
        caller: Option<&AuthUser>,
        bearer: Option<&str>,
        input: PlaceOrder,
        idem: Option<Idempotency>,
        render: Render<'_>,
    ) -> Result<Placed> {
        let checked = self.check(caller, &input)?;
        // A guest's keys live with the cart, the only thing that is theirs.
        let idem_caller =
            caller.map_or_else(|| format!("guest:{}", input.cart_id), |c| c.id.to_string());
        let placed = idempotency::once(
            &self.db,
            &idem_caller,
            idem.as_ref(),
            // Placing writes the order and the key's answer in one
            // transaction: a claim past its lease left nothing behind.
            self.in_flight_lease,
            |key| self.place_claimed(caller, bearer, &input, checked, key, render),
        )
        .await?;
        Ok(match placed {
            Once::Ran(placed) => placed,
            Once::Replay(stored) => Placed::Replay(stored),
        })
    }

    fn check(&self, caller: Option<&AuthUser>, input: &PlaceOrder) -> Result<Checked> {
        let mut errors = Vec::new();
        let provider = Provider::parse(&input.payment_provider)
            .filter(|_| self.cfg.payment_providers.contains(&input.payment_provider));
        if provider.is_none() {
            errors.push(platform::FieldError::new(
                "payment_provider",
                format!(
                    "is not a provider of this shop; use one of: {}",
                    self.cfg.payment_providers.join(", ")
                ),
            ));
        }
        let address = Address::parse(&input.shipping_address.input()).map_err(|errs| {
            errs.into_iter()
                .map(|e| {
                    platform::FieldError::new(format!("shipping_address.{}", e.field), e.message)
                })
                .collect::<Vec<_>>()
        });
        let address = match address {
            Ok(a) => Some(a),
            Err(errs) => {
                errors.extend(errs);
                None
            }
        };
        // A customer's order carries the account's email; a guest gives one.
        let raw_email = caller
            .and_then(|c| c.email.as_deref())
            .or(input.email.as_deref());
        let email = match raw_email.map(Email::parse) {
            Some(Ok(email)) => Some(email),
            Some(Err(reason)) => {
                errors.push(platform::FieldError::new("email", reason));
                None
            }
            None => {
                errors.push(platform::FieldError::new(
                    "email",
                    "is required for a guest checkout",
                ));
                None
            }
        };
        match (email, address, provider) {
            (Some(email), Some(address), Some(provider)) if errors.is_empty() => Ok(Checked {
                email,
                address,
                provider,
            }),
            _ => Err(OrderError::Validation(errors)),
        }
    }

    async fn place_claimed(
        &self,
        caller: Option<&AuthUser>,
        bearer: Option<&str>,
        input: &PlaceOrder,
        Checked {
            email,
            address,
            provider,
        }: Checked,
        key: Option<Claimed<'_>>,
        render: Render<'_>,
    ) -> Result<Placed> {
        let cart = self
            .cart
            .cart(
                input.cart_id.into(),
                CartCaller {
                    customer_id: caller.map(|c| c.id.into()),
                    bearer,
                },
            )
            .await
            .map_err(|ClientError::Unavailable { detail, .. }| OrderError::CartUnavailable(detail))?
            .ok_or(OrderError::NotFound("cart"))?;
        let new = NewOrder {
            // A guest order's id is its only key: random, not time-ordered.
            id: if caller.is_some() {
                Uuid::now_v7()
            } else {
                Uuid::new_v4()
            },
            customer_id: caller.map(|c| c.id),
            email: email.as_str().to_owned(),
            currency: cart.currency.clone(),
            lines: cart
                .items
                .iter()
                .map(|i| Line {
                    variant_id: i.variant_id.uuid(),
                    sku: i.sku.clone(),
                    product_name: i.product_name.clone(),
                    variant_title: i.variant_title.clone(),
                    quantity: i.quantity,
                    unit_price: i.unit_price,
                })
                .collect(),
            shipping_address: address,
            payment_provider: provider,
        };
        let number = checkout::order_number(random_bits());
        let mut order = Order::place(new, number, now_millis()).map_err(|e| match e {
            PlaceError::Empty => OrderError::field("cart_id", "the cart is empty"),
            PlaceError::TooLarge => OrderError::field("cart_id", "the cart's total is too large"),
        })?;
        // A number clash is astronomically rare; a fresh one settles it.
        let mut attempt = 0;
        loop {
            attempt += 1;
            if attempt > 1 {
                order.number = checkout::order_number(random_bits());
            }
            let body = render(&order)?;
            let placed = OrderPlaced {
                order_id: order.id,
                number: order.number.clone(),
                customer_id: order.customer_id,
                email: order.email.clone(),
                lines: order
                    .items
                    .iter()
                    .map(|l| OrderLine {
                        variant_id: l.variant_id,
                        sku: l.sku.clone(),
                        quantity: l.quantity,
                        unit_price: l.unit_price,
                        product_name: l.product_name.clone(),
                    })
                    .collect(),
                total: order.total,
                currency: order.currency.clone(),
                cart_id: Some(cart.id.uuid()),
                payment_provider: order.payment_provider.as_str().to_owned(),
            };
            let mut tx = self.db.begin_write().await?;
            match store::insert(&mut *tx, &order).await {
                Ok(()) => {}
                Err(e)
                    if attempt < 3
                        && platform::db::is_unique_violation(
                            &e,
                            store::NUMBER_KEY,
                            "orders.number",
                        ) =>
                {
                    continue;
                }
                Err(e) => return Err(e.into()),
            }
            self.outbox
                .append(&mut tx, &envelope(order.id, &placed, None)?)
                .await?;
            if let Some(key) = key {
                let stored = StoredResponse {
                    status: 201,
                    body: body.clone(),
                };
                key.complete(&mut tx, &stored).await?;
            }
            self.outbox.commit(tx).await?;
            // Empty the cart now, so that the customer's next look (or next
            // checkout) sees it without these units; order.placed does it
            // again if this call fails, and the cart counts each order once.
            let units: Vec<OrderedUnits> = order
                .items
                .iter()
                .map(|l| OrderedUnits {
                    variant_id: l.variant_id.into(),
                    quantity: l.quantity,
                })
                .collect();
            let caller = CartCaller {
                customer_id: order.customer_id.map(Into::into),
                bearer,
            };
            if let Err(e) = self
                .cart
                .checkout(cart.id, caller, order.id.into(), &units)
                .await
            {
                tracing::warn!(order.id = %order.id, error.message = %e, "emptying the cart failed; order.placed will");
            }
            metrics::counter!("orders_placed_total").increment(1);
            tracing::info!(order.id = %order.id, order.number = %order.number, total = order.total, "order placed");
            return Ok(Placed::Created(Box::new(order), body));
        }
    }
}

/// 64 random bits (UUIDv4's generator; the order number needs no more).
fn random_bits() -> u64 {
    let bytes = Uuid::new_v4().into_bytes();
    u64::from_le_bytes([
        bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[7], bytes[9],
    ])
}
