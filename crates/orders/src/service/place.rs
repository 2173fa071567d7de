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
        let customer_key = customer_key(caller.map(|c| c.id), email.as_str());
        let priced = self
            .price(&cart, &address, input.shipping_option_id, &customer_key)
            .await?;
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
                    discount: 0,
                    tax: 0,
                })
                .collect(),
            shipping_address: address,
            payment_provider: provider,
        };
        let number = checkout::order_number(random_bits());
        let mut order = Order::place(new, priced, number, now_millis()).map_err(|e| match e {
            PlaceError::Empty => OrderError::field("cart_id", "the cart is empty"),
            PlaceError::TooLarge => OrderError::field("cart_id", "the cart's total is too large"),
            PlaceError::Inconsistent => OrderError::Unexpected(anyhow::anyhow!(
                "pricing's totals do not add up to the cart's lines"
            )),
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
                discount_total: order.discount_total,
                shipping_total: order.shipping_total,
                tax_total: order.tax_total,
                promotions: order
                    .promotions
                    .iter()
                    .map(|p| PromotionUse {
                        promotion_id: p.promotion_id,
                        code: p.code.clone(),
                        discount: p.discount,
                    })
                    .collect(),
            };
            let mut tx = self.db.begin_write().await?;
            // The uses are taken with the order, or the order is not placed:
            // never placed without its discount, never over a limit.
            if let Err((promotion_id, used_up)) =
                store::take_uses(&mut tx, &order, &customer_key).await?
            {
                tx.rollback().await?;
                return Err(used_up_error(&order, promotion_id, used_up));
            }
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

/// The refusal of a promotion that ran out while the order was placed.
fn used_up_error(order: &Order, promotion_id: Uuid, used_up: store::UsedUp) -> OrderError {
    let code = order
        .promotions
        .iter()
        .find(|p| p.promotion_id == promotion_id)
        .and_then(|p| p.code.clone())
        .unwrap_or_else(|| promotion_id.to_string());
    let (reason, message) = match used_up {
        store::UsedUp::Total => ("used-up", "has been used up"),
        store::UsedUp::ForCustomer => (
            "used-up-for-customer",
            "has already been used as many times as allowed for you",
        ),
    };
    OrderError::CodeRefused {
        code,
        reason: reason.into(),
        message: message.into(),
    }
}

impl OrdersService {
    /// Every total of the order from pricing: the cart's code applied again
    /// (it must still apply), the chosen or cheapest option to the address,
    /// the address's tax.
    async fn price(
        &self,
        cart: &contracts::clients::cart::CartSnapshot,
        address: &Address,
        shipping_option_id: Option<Uuid>,
        customer_key: &str,
    ) -> Result<Priced> {
        let request = QuoteRequest {
            currency: cart.currency.clone(),
            lines: cart
                .items
                .iter()
                .map(|i| QuoteLine {
                    quantity: i.quantity,
                    unit_price: i.unit_price,
                })
                .collect(),
            code: cart.promotion_code.clone(),
            customer_key: Some(customer_key.to_owned()),
            country: Some(address.country.clone()),
            region: address.region.clone(),
            shipping_option_id,
        };
        let quote = match self.pricing.quote(&request).await {
            Ok(Ok(quote)) => quote,
            Ok(Err(Refused::Code {
                code,
                reason,
                message,
            })) => {
                return Err(OrderError::CodeRefused {
                    code,
                    reason,
                    message,
                });
            }
            Ok(Err(Refused::ShippingOption)) => {
                return Err(OrderError::field(
                    "shipping_option_id",
                    "does not ship to this address in the cart's currency",
                ));
            }
            Err(ClientError::Unavailable { detail, .. }) => {
                return Err(OrderError::PricingUnavailable(detail));
            }
        };
        Ok(Priced {
            lines: quote.lines.iter().map(|l| (l.discount, l.tax)).collect(),
            subtotal: quote.subtotal,
            discount_total: quote.discount_total,
            shipping_total: quote.shipping_total,
            tax_total: quote.tax_total,
            total: quote.total,
            shipping_option: quote.shipping_option.map(|s| ShippingChoice {
                id: s.id,
                name: s.name,
            }),
            promotions: quote
                .promotions
                .into_iter()
                .map(|p| AppliedPromotion {
                    promotion_id: p.promotion_id,
                    code: p.code,
                    discount: p.discount,
                    usage_limit: p.usage_limit,
                    usage_limit_per_customer: p.usage_limit_per_customer,
                })
                .collect(),
        })
    }
}

/// 64 random bits (UUIDv4's generator; the order number needs no more).
fn random_bits() -> u64 {
    let bytes = Uuid::new_v4().into_bytes();
    u64::from_le_bytes([
        bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[7], bytes[9],
    ])
}
