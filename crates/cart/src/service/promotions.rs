//! A promotion code on the cart, and the shipping options of a destination
//! priced for it.

use contracts::clients::pricing::OptionPrice;

use super::*;

impl CartService {
    /// Applies `code` (replacing any other): pricing must accept it for
    /// this cart now, or the cart is unchanged and the error says why.
    pub async fn apply_code(
        &self,
        cart_id: Uuid,
        caller: Option<&AuthUser>,
        code: &str,
    ) -> Result<CartView> {
        let cart = self.accessible(cart_id, caller).await?;
        let items = store::items(self.db.pool(), cart.id).await?;
        let request = Self::quote_request(&cart, &items, Some(code));
        let quote = match self.ask_pricing(&request).await? {
            Ok(quote) => quote,
            Err(Refused::Code {
                code,
                reason,
                message,
            }) => {
                return Err(CartError::CodeRefused {
                    code,
                    reason,
                    message,
                });
            }
            Err(Refused::ShippingOption) => {
                return Err(CartError::Unexpected(anyhow::anyhow!(
                    "pricing refused a shipping option the cart did not choose"
                )));
            }
        };
        // What pricing applied is the code as stored (upper-cased).
        let stored = quote
            .promotions
            .iter()
            .rev()
            .find_map(|p| p.code.clone())
            .unwrap_or_else(|| code.trim().to_ascii_uppercase());
        if !store::set_code(self.db.pool(), cart.id, Some(&stored), now_millis()).await? {
            return Err(CartError::NotFound("cart"));
        }
        let cart = Cart {
            promotion_code: Some(stored),
            ..cart
        };
        // An empty cart shows no promotion yet; the code waits on it.
        let quote = if items.is_empty() {
            empty_quote()
        } else {
            quote
        };
        Ok(CartView { cart, items, quote })
    }

    /// Takes `code` off the cart (a code it does not carry changes nothing).
    pub async fn remove_code(
        &self,
        cart_id: Uuid,
        caller: Option<&AuthUser>,
        code: &str,
    ) -> Result<CartView> {
        let mut cart = self.accessible(cart_id, caller).await?;
        let carried = cart
            .promotion_code
            .as_deref()
            .is_some_and(|c| c.eq_ignore_ascii_case(code.trim()));
        if carried {
            if !store::set_code(self.db.pool(), cart.id, None, now_millis()).await? {
                return Err(CartError::NotFound("cart"));
            }
            cart.promotion_code = None;
        }
        self.view(cart).await
    }

    /// The shipping options to `country` in the cart's currency, each at
    /// its price for this cart.
    pub async fn shipping_options(
        &self,
        cart_id: Uuid,
        caller: Option<&AuthUser>,
        country: &str,
    ) -> Result<Vec<OptionPrice>> {
        if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(CartError::field(
                "country",
                "must be an ISO 3166-1 alpha-2 code such as DE",
            ));
        }
        let country = country.to_ascii_uppercase();
        let cart = self.accessible(cart_id, caller).await?;
        if !platform::address::is_country_code(&country) {
            return Ok(Vec::new());
        }
        let items = store::items(self.db.pool(), cart.id).await?;
        let mut request = Self::quote_request(&cart, &items, cart.promotion_code.as_deref());
        request.country = Some(country);
        let quote = self.quote_without_stale_code(request).await?;
        Ok(quote.shipping_options)
    }
}
