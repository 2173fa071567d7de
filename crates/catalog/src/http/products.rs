//! Product routes.

use axum::{
    Json,
    extract::{Path, RawQuery, State},
    http::{HeaderMap, StatusCode},
    response::Response,
};
use platform::{
    FieldError, Problem,
    auth::{AdminUser, MaybeAuthUser},
    http::{
        extract::{ValidJson, ValidQuery},
        pagination::{self, PageRequest},
    },
};

use super::{
    CatalogState, cached_json,
    dto::{ProductIn, ProductOut, ProductPage, ProductPatch, ProductQuery, VariantIn},
    parse_id, render, respond,
};
use crate::{
    domain::product::{ProductInput, Status, VariantInput},
    error::{CatalogError, Result},
    store::products::{After, Filter, Sort, Statuses},
};

/// Published products, filtered, sorted and cursor-paginated.
#[utoipa::path(get, path = "/api/v1/products", tag = "catalog", params(ProductQuery),
    responses((status = 200, body = ProductPage, description = "with ETag and Cache-Control"),
              (status = 304, description = "not modified"), (status = 422, body = Problem)))]
pub(super) async fn list(
    State(state): State<CatalogState>,
    MaybeAuthUser(caller): MaybeAuthUser,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    ValidQuery(query): ValidQuery<ProductQuery>,
) -> Result<Response> {
    let statuses = match query.status.as_deref() {
        None | Some("published") => Statuses::Published,
        Some("any") => Statuses::All,
        Some(raw) => Statuses::Only(Status::parse(raw).ok_or_else(|| {
            CatalogError::field("status", "must be published, draft, archived or any")
        })?),
    };
    if statuses != Statuses::Published {
        // Drafts and archived products are the admins' alone, and never cached.
        match &caller {
            None => {
                return Err(
                    Problem::unauthorized("Drafts and archived products are for admins.").into(),
                );
            }
            Some(c) if !c.is_admin() => {
                return Err(
                    Problem::forbidden("Drafts and archived products are for admins.").into(),
                );
            }
            Some(_) => {}
        }
        let page = PageRequest::parse(query.limit.as_deref(), query.cursor.as_deref())?;
        let (mut filter, sort) = parse_filter(&query)?;
        filter.statuses = statuses;
        let body = list_page(&state, filter, &query, sort, &page).await?;
        return Ok(cached_json(&headers, &body, None));
    }
    let max_age = Some(state.service.config().public_max_age_secs);
    let reads = state.service.reads();
    let key = format!("list?{}", raw.unwrap_or_default());
    if let Some(hit) = reads.get(&key) {
        return Ok(respond(&headers, hit.body.clone(), &hit.etag, max_age));
    }
    let generation = reads.generation();
    let page = PageRequest::parse(query.limit.as_deref(), query.cursor.as_deref())?;
    let (filter, sort) = parse_filter(&query)?;
    let body = list_page(&state, filter, &query, sort, &page).await?;
    let (bytes, etag) = render(&body).ok_or_else(rendering_failed)?;
    reads.put(key, generation, bytes.clone(), etag.clone());
    Ok(respond(&headers, bytes, &etag, max_age))
}

/// One page of products matching `filter`.
async fn list_page(
    state: &CatalogState,
    filter: Filter,
    query: &ProductQuery,
    sort: Sort,
    page: &PageRequest,
) -> Result<ProductPage> {
    let after = page
        .after
        .as_deref()
        .map(|c| decode_cursor(c, sort))
        .transpose()?;
    let rows = state
        .service
        .products(
            filter,
            query.category.as_deref(),
            sort,
            after.as_ref(),
            page.fetch_limit(),
        )
        .await?;
    let limit = page.limit as usize;
    let next_cursor = (rows.len() > limit).then(|| encode_cursor(sort, &rows[limit - 1].1));
    let items = rows
        .into_iter()
        .take(limit)
        .map(|(p, _)| p.into())
        .collect();
    Ok(ProductPage {
        items,
        next_cursor: next_cursor.map(|c| pagination::encode_cursor(&c)),
    })
}

/// One product by id or slug; drafts and archived ones only for admins.
#[utoipa::path(get, path = "/api/v1/products/{id}", tag = "catalog", security((), ("bearer" = [])), params(("id" = String, Path, description = "product id or slug")),
    responses((status = 200, body = ProductOut, description = "with a strong ETag"), (status = 304),
              (status = 404, body = Problem)))]
pub(super) async fn get(
    State(state): State<CatalogState>,
    MaybeAuthUser(caller): MaybeAuthUser,
    headers: HeaderMap,
    Path(id_or_slug): Path<String>,
) -> Result<Response> {
    let max_age = state.service.config().public_max_age_secs;
    if caller.is_some_and(|c| c.is_admin()) {
        // Admins see drafts too; never cached, anywhere.
        let product = state.service.product(&id_or_slug, true).await?;
        return Ok(cached_json(&headers, &ProductOut::from(product), None));
    }
    let reads = state.service.reads();
    let key = format!("product/{id_or_slug}");
    if let Some(hit) = reads.get(&key) {
        return Ok(respond(
            &headers,
            hit.body.clone(),
            &hit.etag,
            Some(max_age),
        ));
    }
    let generation = reads.generation();
    let product = state.service.product(&id_or_slug, false).await?;
    let (bytes, etag) = render(&ProductOut::from(product)).ok_or_else(rendering_failed)?;
    reads.put(key, generation, bytes.clone(), etag.clone());
    Ok(respond(&headers, bytes, &etag, Some(max_age)))
}

fn rendering_failed() -> CatalogError {
    CatalogError::Unexpected(anyhow::anyhow!("rendering a catalog response failed"))
}

/// Create a product with its variants.
#[utoipa::path(post, path = "/api/v1/products", tag = "catalog", security(("bearer" = [])), request_body = ProductIn,
    responses((status = 403, body = Problem, description = "not an admin"), (status = 201, body = ProductOut), (status = 409, body = Problem, description = "slug or SKU taken"),
              (status = 422, body = Problem)))]
pub(super) async fn create(
    State(state): State<CatalogState>,
    _admin: AdminUser,
    ValidJson(body): ValidJson<ProductIn>,
) -> Result<(StatusCode, Json<ProductOut>)> {
    // Created to be sold unless the admin says otherwise.
    let status = parse_status(body.status.as_deref())?.unwrap_or(Status::Published);
    let input = ProductInput {
        name: body.name,
        slug: body.slug,
        description: body.description,
        status,
        category_ids: body.category_ids,
        images: body.images,
        attributes: body.attributes,
        variants: body.variants.into_iter().map(variant_input).collect(),
    };
    let product = state.service.create_product(input).await?;
    Ok((StatusCode::CREATED, Json(product.into())))
}

/// Change a product; `variants` replaces the list, keeping ids by SKU.
#[utoipa::path(patch, path = "/api/v1/products/{id}", tag = "catalog", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path)), request_body = ProductPatch,
    responses((status = 403, body = Problem, description = "not an admin"), (status = 200, body = ProductOut), (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem)))]
pub(super) async fn update(
    State(state): State<CatalogState>,
    _admin: AdminUser,
    Path(id): Path<String>,
    ValidJson(body): ValidJson<ProductPatch>,
) -> Result<Json<ProductOut>> {
    let id = parse_id(&id, "product")?;
    let status = parse_status(body.status.as_deref())?;
    let product = state
        .service
        .update_product(id, |p| {
            if let Some(v) = body.slug {
                p.slug = v;
            }
            if let Some(v) = body.name {
                p.name = v;
            }
            if let Some(v) = body.description {
                p.description = v;
            }
            if let Some(v) = status {
                p.status = v;
            }
            if let Some(v) = body.category_ids {
                p.category_ids = v;
            }
            if let Some(v) = body.images {
                p.images = v;
            }
            if let Some(v) = body.attributes {
                p.attributes = v;
            }
            if let Some(v) = body.variants {
                p.variants = v.into_iter().map(variant_input).collect();
            }
        })
        .await?;
    Ok(Json(product.into()))
}

/// Archive a product: it leaves the public catalog (404 to customers and
/// guests), while admins still read it, with status `archived`, and may
/// publish it again; orders keep their lines.
#[utoipa::path(delete, path = "/api/v1/products/{id}", tag = "catalog", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path)), responses((status = 204, description = "archived"), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub(super) async fn delete(
    State(state): State<CatalogState>,
    _admin: AdminUser,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    state
        .service
        .archive_product(parse_id(&id, "product")?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

fn variant_input(v: VariantIn) -> VariantInput {
    VariantInput {
        sku: v.sku,
        title: v.title,
        options: v.options,
        price: v.price.amount,
        currency: v.price.currency,
        initial_stock: v.stock.unwrap_or(0),
    }
}

fn parse_status(raw: Option<&str>) -> Result<Option<Status>> {
    raw.map(|s| {
        Status::parse(s)
            .ok_or_else(|| CatalogError::field("status", "must be draft, published or archived"))
    })
    .transpose()
}

/// Longest search query, in characters, and most terms used from it.
const Q_MAX: usize = 200;
const TERMS_MAX: usize = 10;

fn parse_filter(query: &ProductQuery) -> Result<(Filter, Sort)> {
    let mut errors = Vec::new();
    let mut filter = Filter::default();
    if let Some(q) = &query.q {
        if q.chars().count() > Q_MAX {
            errors.push(FieldError::new(
                "q",
                format!("must be at most {Q_MAX} characters"),
            ));
        }
        // Only letters and digits reach the search engines: no operator
        // of FTS5 or tsquery can be smuggled in.
        filter.terms = q
            .split(|c: char| !c.is_alphanumeric())
            .filter(|t| !t.is_empty())
            .take(TERMS_MAX)
            .map(str::to_lowercase)
            .collect();
    }
    let mut price = |field: &str, raw: &Option<String>| -> Option<i64> {
        let raw = raw.as_deref()?;
        match raw.parse::<i64>() {
            Ok(n) if n >= 0 => Some(n),
            _ => {
                errors.push(FieldError::new(
                    field,
                    "must be a whole number of minor units, 0 or more",
                ));
                None
            }
        }
    };
    filter.min_price = price("min_price", &query.min_price);
    filter.max_price = price("max_price", &query.max_price);
    match query.in_stock.as_deref() {
        None | Some("false") => {}
        Some("true") => filter.in_stock = true,
        Some(_) => errors.push(FieldError::new("in_stock", "must be true or false")),
    }
    let has_q = query.q.as_deref().is_some_and(|q| !q.trim().is_empty());
    let sort = match query.sort.as_deref() {
        None | Some("-created_at") => Sort::Newest,
        Some("price") => Sort::PriceAsc,
        Some("-price") => Sort::PriceDesc,
        Some("name") => Sort::Name,
        Some("relevance") if has_q => Sort::Relevance,
        // Without a query nothing is more relevant than anything else.
        Some("relevance") => Sort::Newest,
        Some(_) => {
            errors.push(FieldError::new(
                "sort",
                "must be relevance, price, -price, name or -created_at",
            ));
            Sort::Newest
        }
    };
    if has_q && filter.terms.is_empty() {
        // Nothing searchable (only punctuation): match nothing, not everything.
        filter.categories = Some(Vec::new());
    }
    if errors.is_empty() {
        Ok((filter, sort))
    } else {
        Err(CatalogError::Validation(errors))
    }
}

fn sort_name(sort: Sort) -> &'static str {
    match sort {
        Sort::Newest => "new",
        Sort::PriceAsc => "price",
        Sort::PriceDesc => "-price",
        Sort::Name => "name",
        Sort::Relevance => "rel",
    }
}

/// A cursor names its sort, so one from another sort is refused.
fn encode_cursor(sort: Sort, after: &After) -> String {
    match after {
        After::Key(value, id) => format!("{}\n{id}\n{value}", sort_name(sort)),
        After::Offset(n) => format!("{}\n{n}", sort_name(sort)),
    }
}

fn decode_cursor(raw: &str, sort: Sort) -> Result<After> {
    let bad = || CatalogError::field("cursor", "does not belong to this sort order");
    let mut parts = raw.splitn(3, '\n');
    if parts.next() != Some(sort_name(sort)) {
        return Err(bad());
    }
    match sort {
        Sort::Relevance => parts
            .next()
            .and_then(|n| n.parse().ok())
            .map(After::Offset)
            .ok_or_else(bad),
        _ => {
            let id = parts
                .next()
                .filter(|id| uuid::Uuid::parse_str(id).is_ok())
                .ok_or_else(bad)?;
            let value = parts.next().ok_or_else(bad)?;
            Ok(After::Key(value.to_owned(), id.to_owned()))
        }
    }
}

/// A purchasable variant with its current price and stock (read by carts).
#[utoipa::path(get, path = "/api/v1/variants/{id}", tag = "catalog", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = super::dto::VariantInfoOut), (status = 404, body = Problem)))]
pub(super) async fn variant(
    State(state): State<CatalogState>,
    Path(id): Path<String>,
) -> Result<Json<super::dto::VariantInfoOut>> {
    let id = parse_id(&id, "variant")?;
    let info = state
        .service
        .variant(id)
        .await?
        .ok_or(CatalogError::NotFound("variant"))?;
    Ok(Json(info.into()))
}
