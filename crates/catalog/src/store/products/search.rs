//! Listing and searching products: filters, the four orders, relevance on
//! each engine's full-text index, and cursors.

use super::*;

/// How a list is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    /// Newest first (the default).
    Newest,
    /// Lowest price first.
    PriceAsc,
    /// Highest price first.
    PriceDesc,
    /// By name.
    Name,
    /// Best match first (needs a query).
    Relevance,
}

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Search terms, already reduced to plain words.
    pub terms: Vec<String>,
    /// Restrict to these categories (already expanded to sub-categories).
    pub categories: Option<Vec<Uuid>>,
    /// Inclusive lower bound on the lowest variant price.
    pub min_price: Option<i64>,
    /// Inclusive upper bound.
    pub max_price: Option<i64>,
    /// Only products with a variant in stock.
    pub in_stock: bool,
    /// Which statuses: published only unless an admin asks.
    pub statuses: Statuses,
}

/// The statuses a list shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Statuses {
    /// What customers see.
    #[default]
    Published,
    /// One status (admins).
    Only(crate::domain::product::Status),
    /// Every status (admins).
    All,
}

/// A position in a list: the sort key and id of the last item seen, or an
/// offset for relevance (whose scores are not stable keys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum After {
    /// Sort value and id.
    Key(String, String),
    /// Items already returned.
    Offset(i64),
}

/// One page of products; returns the rows and, per row, its cursor key.
pub async fn list(
    ex: &mut sqlx::AnyConnection,
    backend: Backend,
    filter: &Filter,
    sort: Sort,
    after: Option<&After>,
    limit: i64,
) -> Result<Vec<(Product, After)>, sqlx::Error> {
    let mut params = Params::default();
    let mut with = String::new();
    let mut from = String::from("product p");
    let mut conditions = Vec::new();
    match filter.statuses {
        Statuses::Published => conditions.push("p.status = 'published'".to_owned()),
        // A constant of the enum, not user text.
        Statuses::Only(status) => conditions.push(format!("p.status = '{}'", status.as_str())),
        Statuses::All => {}
    }
    let mut rank = String::new();
    if !filter.terms.is_empty() {
        match backend {
            Backend::Sqlite => {
                let query: Vec<String> = filter
                    .terms
                    .iter()
                    .enumerate()
                    .map(|(i, t)| {
                        if i + 1 == filter.terms.len() {
                            format!("\"{t}\"*")
                        } else {
                            format!("\"{t}\"")
                        }
                    })
                    .collect();
                let q = params.push(Param::Text(query.join(" ")));
                // The matches are found once and drive the join (CROSS JOIN
                // fixes the order in SQLite): left to itself the planner may
                // walk every product in sort order and search for each.
                with = format!(
                    "with hits as materialized (select product_id as hit_id, bm25(product_search) as hit_rank \
                     from product_search where product_search match {q}) "
                );
                from = "hits cross join product p".into();
                conditions.push("hits.hit_id = p.product_id".into());
                rank = "hits.hit_rank".into();
            }
            Backend::Postgres => {
                let query: Vec<String> = filter.terms.iter().map(|t| format!("{t}:*")).collect();
                let q = params.push(Param::Text(query.join(" & ")));
                conditions.push(format!("p.search @@ to_tsquery('simple', {q})"));
                rank = format!("-ts_rank(p.search, to_tsquery('simple', {q}))");
            }
        }
    }
    if let Some(categories) = &filter.categories {
        if categories.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = categories.iter().map(Uuid::to_string).collect();
        let list = params.list(ids.iter().map(String::as_str));
        conditions.push(format!(
            "p.product_id in (select product_id from product_category where category_id in ({list}))"
        ));
    }
    if let Some(min) = filter.min_price {
        conditions.push(format!("p.min_price >= {}", params.push(Param::Int(min))));
    }
    if let Some(max) = filter.max_price {
        conditions.push(format!("p.min_price <= {}", params.push(Param::Int(max))));
    }
    if filter.in_stock {
        conditions.push(
            "exists (select 1 from variant v join stock s on s.sku = v.sku \
             where v.product_id = p.product_id and s.on_hand > s.reserved)"
                .into(),
        );
    }
    let (key_sql, key_is_int, descending) = match sort {
        Sort::Newest => ("p.created_at", true, true),
        Sort::PriceAsc => ("p.min_price", true, false),
        Sort::PriceDesc => ("p.min_price", true, true),
        Sort::Name => ("p.name", false, false),
        Sort::Relevance => ("", false, false),
    };
    let mut offset = 0;
    match after {
        Some(After::Key(value, id)) if sort != Sort::Relevance => {
            let value = if key_is_int {
                Param::Int(
                    value
                        .parse()
                        .map_err(|_| sqlx::Error::Protocol("bad cursor".into()))?,
                )
            } else {
                Param::Text(value.clone())
            };
            let v = params.push(value);
            let i = params.push(Param::Text(id.clone()));
            let op = if descending { "<" } else { ">" };
            conditions.push(format!(
                "({key_sql} {op} {v} or ({key_sql} = {v} and p.product_id {op} {i}))"
            ));
        }
        Some(After::Offset(n)) => offset = *n,
        _ => {}
    }
    let order = match sort {
        Sort::Relevance if !rank.is_empty() => format!("{rank}, p.product_id"),
        Sort::Relevance => "p.created_at desc, p.product_id desc".into(),
        _ if descending => format!("{key_sql} desc, p.product_id desc"),
        _ => format!("{key_sql}, p.product_id"),
    };
    let where_sql = if conditions.is_empty() {
        String::new()
    } else {
        format!("where {}", conditions.join(" and "))
    };
    let limit_p = params.push(Param::Int(limit));
    let offset_p = params.push(Param::Int(offset));
    let sql = format!(
        "{with}select {PRODUCT_COLUMNS} from {from} {where_sql} order by {order} limit {limit_p} offset {offset_p}"
    );
    let rows = params
        .bind(sqlx::query(sqlx::AssertSqlSafe(sql)))
        .fetch_all(&mut *ex)
        .await?;
    let mut products = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    fill(ex, &mut products).await?;
    Ok(products
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let key = match sort {
                Sort::Newest => After::Key(p.created_at.to_string(), p.id.to_string()),
                Sort::PriceAsc | Sort::PriceDesc => {
                    After::Key(p.min_price.to_string(), p.id.to_string())
                }
                Sort::Name => After::Key(p.name.clone(), p.id.to_string()),
                Sort::Relevance => After::Offset(offset + i64::try_from(i).unwrap_or(0) + 1),
            };
            (p, key)
        })
        .collect())
}
