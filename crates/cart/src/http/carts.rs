//! Cart routes.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use platform::{
    Problem,
    auth::{AuthUser, MaybeAuthUser},
    http::extract::{MaybeJson, ValidJson, ValidQuery},
};
use uuid::Uuid;

use super::{
    CartState,
    dto::{
        AddItemIn, CartIn, CartOut, CartShippingOption, CartShippingOptions, CheckoutIn, CodeIn,
        CountryQuery, QuantityIn,
    },
};
use crate::{
    error::{CartError, Result},
    service::CartView,
};

fn out(view: CartView) -> Result<Json<CartOut>> {
    Ok(Json(CartOut::try_from(view)?))
}

fn id(raw: &str, what: &'static str) -> Result<Uuid> {
    Uuid::parse_str(raw).map_err(|_| CartError::NotFound(what))
}

/// Open a cart: a guest cart without a token; with one, the customer's active cart.
#[utoipa::path(post, path = "/api/v1/carts", tag = "cart", security((), ("bearer" = [])), request_body(content = Option<CartIn>, description = "optional: without a body, a cart in the default currency"),
    responses((status = 201, body = CartOut, description = "created"), (status = 200, body = CartOut, description = "the customer's existing cart"),
              (status = 422, body = Problem)))]
pub(super) async fn open(
    State(state): State<CartState>,
    MaybeAuthUser(caller): MaybeAuthUser,
    MaybeJson(body): MaybeJson<CartIn>,
) -> Result<(StatusCode, Json<CartOut>)> {
    let body = body.unwrap_or_default();
    let (view, created) = state
        .service
        .open(caller.as_ref(), body.currency.as_deref())
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, out(view)?))
}

/// The customer's active cart (created on first use).
#[utoipa::path(get, path = "/api/v1/carts/mine", tag = "cart", security(("bearer" = [])),
    responses((status = 200, body = CartOut), (status = 401, body = Problem)))]
pub(super) async fn mine(
    State(state): State<CartState>,
    caller: AuthUser,
) -> Result<Json<CartOut>> {
    let (view, _) = state.service.open(Some(&caller), None).await?;
    out(view)
}

/// A cart: a guest cart to anyone with its id, a customer's to its owner.
#[utoipa::path(get, path = "/api/v1/carts/{id}", tag = "cart", security((), ("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = CartOut), (status = 404, body = Problem)))]
pub(super) async fn get(
    State(state): State<CartState>,
    MaybeAuthUser(caller): MaybeAuthUser,
    Path(cart_id): Path<String>,
) -> Result<Json<CartOut>> {
    out(state
        .service
        .get(id(&cart_id, "cart")?, caller.as_ref())
        .await?)
}

/// Add units of a variant, priced by the catalog.
#[utoipa::path(post, path = "/api/v1/carts/{id}/items", tag = "cart", security((), ("bearer" = [])), params(("id" = Uuid, Path)), request_body = AddItemIn,
    responses((status = 200, body = CartOut), (status = 404, body = Problem, description = "unknown cart or variant"),
              (status = 409, body = Problem, description = "not enough stock; `available` says how many are"),
              (status = 422, body = Problem), (status = 503, body = Problem, description = "catalog unavailable")))]
pub(super) async fn add_item(
    State(state): State<CartState>,
    MaybeAuthUser(caller): MaybeAuthUser,
    Path(cart_id): Path<String>,
    ValidJson(body): ValidJson<AddItemIn>,
) -> Result<Json<CartOut>> {
    let cart_id = id(&cart_id, "cart")?;
    out(state
        .service
        .add(
            cart_id.into(),
            caller.as_ref(),
            body.variant_id.into(),
            body.quantity,
        )
        .await?)
}

/// Set a line's quantity; 0 removes the line.
#[utoipa::path(patch, path = "/api/v1/carts/{id}/items/{item_id}", tag = "cart", security((), ("bearer" = [])),
    params(("id" = Uuid, Path), ("item_id" = Uuid, Path)), request_body = QuantityIn,
    responses((status = 200, body = CartOut), (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem)))]
pub(super) async fn set_quantity(
    State(state): State<CartState>,
    MaybeAuthUser(caller): MaybeAuthUser,
    Path((cart_id, item_id)): Path<(String, String)>,
    ValidJson(body): ValidJson<QuantityIn>,
) -> Result<Json<CartOut>> {
    let (cart_id, item_id) = (id(&cart_id, "cart")?, id(&item_id, "cart line")?);
    out(state
        .service
        .set_quantity(cart_id, caller.as_ref(), item_id, body.quantity)
        .await?)
}

/// Remove a line.
#[utoipa::path(delete, path = "/api/v1/carts/{id}/items/{item_id}", tag = "cart", security((), ("bearer" = [])),
    params(("id" = Uuid, Path), ("item_id" = Uuid, Path)),
    responses((status = 200, body = CartOut), (status = 404, body = Problem)))]
pub(super) async fn remove_item(
    State(state): State<CartState>,
    MaybeAuthUser(caller): MaybeAuthUser,
    Path((cart_id, item_id)): Path<(String, String)>,
) -> Result<Json<CartOut>> {
    let (cart_id, item_id) = (id(&cart_id, "cart")?, id(&item_id, "cart line")?);
    out(state
        .service
        .remove(cart_id, caller.as_ref(), item_id)
        .await?)
}

/// Apply a promotion code (it replaces any other code on the cart).
#[utoipa::path(post, path = "/api/v1/carts/{id}/promotions", tag = "cart", security((), ("bearer" = [])), params(("id" = Uuid, Path)), request_body = CodeIn,
    responses((status = 200, body = CartOut), (status = 404, body = Problem),
              (status = 422, body = Problem, description = "the code cannot apply: the type says why (`promotions/unknown`, `inactive`, `not-started`, `expired`, `minimum-not-met`, `used-up`, `used-up-for-customer`, `currency-mismatch`)"),
              (status = 503, body = Problem, description = "pricing unavailable")))]
pub(super) async fn apply_promotion(
    State(state): State<CartState>,
    MaybeAuthUser(caller): MaybeAuthUser,
    Path(cart_id): Path<String>,
    ValidJson(body): ValidJson<CodeIn>,
) -> Result<Json<CartOut>> {
    out(state
        .service
        .apply_code(id(&cart_id, "cart")?, caller.as_ref(), &body.code)
        .await?)
}

/// Take a promotion code off the cart.
#[utoipa::path(delete, path = "/api/v1/carts/{id}/promotions/{code}", tag = "cart", security((), ("bearer" = [])), params(("id" = Uuid, Path), ("code" = String, Path)),
    responses((status = 200, body = CartOut), (status = 404, body = Problem)))]
pub(super) async fn remove_promotion(
    State(state): State<CartState>,
    MaybeAuthUser(caller): MaybeAuthUser,
    Path((cart_id, code)): Path<(String, String)>,
) -> Result<Json<CartOut>> {
    out(state
        .service
        .remove_code(id(&cart_id, "cart")?, caller.as_ref(), &code)
        .await?)
}

/// The shipping options to a country, each at its price for this cart.
#[utoipa::path(get, path = "/api/v1/carts/{id}/shipping-options", tag = "cart", security((), ("bearer" = [])), params(("id" = Uuid, Path), CountryQuery),
    responses((status = 200, body = CartShippingOptions), (status = 404, body = Problem), (status = 422, body = Problem, description = "no or a bad country"),
              (status = 503, body = Problem, description = "pricing unavailable")))]
pub(super) async fn shipping_options(
    State(state): State<CartState>,
    MaybeAuthUser(caller): MaybeAuthUser,
    Path(cart_id): Path<String>,
    ValidQuery(query): ValidQuery<CountryQuery>,
) -> Result<Json<CartShippingOptions>> {
    let cart_id = id(&cart_id, "cart")?;
    let options = state
        .service
        .shipping_options(cart_id, caller.as_ref(), &query.country)
        .await?;
    Ok(Json(CartShippingOptions {
        items: options
            .into_iter()
            .map(|o| CartShippingOption {
                id: o.id,
                name: o.name,
                price: o.price,
                min_days: o.min_days,
                max_days: o.max_days,
            })
            .collect(),
    }))
}

/// Merge a guest cart into the customer's active cart; the guest cart is gone afterwards.
#[utoipa::path(post, path = "/api/v1/carts/{id}/claim", tag = "cart", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = CartOut), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub(super) async fn claim(
    State(state): State<CartState>,
    caller: AuthUser,
    Path(cart_id): Path<String>,
) -> Result<Json<CartOut>> {
    out(state.service.claim(id(&cart_id, "cart")?, &caller).await?)
}

/// Take an order's units out of the cart (called by orders after placing;
/// each order counts once).
#[utoipa::path(post, path = "/api/v1/carts/{id}/checkout", tag = "cart", security((), ("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = CheckoutIn,
    responses((status = 200, body = CartOut), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn checkout(
    State(state): State<CartState>,
    MaybeAuthUser(caller): MaybeAuthUser,
    Path(cart_id): Path<String>,
    ValidJson(body): ValidJson<CheckoutIn>,
) -> Result<Json<CartOut>> {
    let cart_id = id(&cart_id, "cart")?;
    if body.lines.len() > crate::domain::LINES_MAX
        || body
            .lines
            .iter()
            .any(|l| crate::domain::check_quantity(l.quantity).is_err())
    {
        return Err(CartError::field(
            "lines",
            "at most 100 lines of 1 to 99 units each",
        ));
    }
    let units: Vec<contracts::clients::cart::OrderedUnits> = body
        .lines
        .iter()
        .map(|l| contracts::clients::cart::OrderedUnits {
            variant_id: l.variant_id.into(),
            quantity: l.quantity,
        })
        .collect();
    out(state
        .service
        .checkout_for(
            cart_id.into(),
            caller.as_ref(),
            body.order_id.into(),
            &units,
        )
        .await?)
}
