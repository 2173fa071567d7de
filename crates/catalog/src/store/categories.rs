//! The `category` table.

use sqlx::Row as _;
use uuid::Uuid;

use super::{Exec, uuid};

/// A category as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
    pub id: Uuid,
    /// URL slug, unique.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Parent, if nested.
    pub parent_id: Option<Uuid>,
}

/// Name of the unique slug constraint.
pub const SLUG_KEY: &str = "category_slug_key";

/// Every category, by name.
pub async fn all<'c>(ex: impl Exec<'c>) -> Result<Vec<Category>, sqlx::Error> {
    let rows = sqlx::query(
        "select category_id, slug, name, parent_id from category order by name, category_id",
    )
    .fetch_all(ex)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Category {
                id: uuid(r, "category_id")?,
                slug: r.try_get("slug")?,
                name: r.try_get("name")?,
                parent_id: platform::db::optional_uuid_column(r, "category.parent_id")?,
            })
        })
        .collect()
}

/// Inserts a category.
pub async fn insert<'c>(ex: impl Exec<'c>, c: &Category, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into category (category_id, slug, name, parent_id, created_at, updated_at) values ($1, $2, $3, $4, $5, $5)",
    )
    .bind(c.id.to_string())
    .bind(&c.slug)
    .bind(&c.name)
    .bind(c.parent_id.map(|p| p.to_string()))
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}

/// Rewrites a category.
pub async fn update<'c>(ex: impl Exec<'c>, c: &Category, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("update category set slug = $2, name = $3, parent_id = $4, updated_at = $5 where category_id = $1")
        .bind(c.id.to_string())
        .bind(&c.slug)
        .bind(&c.name)
        .bind(c.parent_id.map(|p| p.to_string()))
        .bind(now)
        .execute(ex)
        .await?;
    Ok(())
}

/// Does anything still hang off this category (children or products)?
pub async fn in_use<'c>(ex: impl Exec<'c>, id: Uuid) -> Result<bool, sqlx::Error> {
    let row = sqlx::query(
        "select (select count(*) from category where parent_id = $1) + \
                (select count(*) from product_category where category_id = $1) as n",
    )
    .bind(id.to_string())
    .fetch_one(ex)
    .await?;
    Ok(row.try_get::<i64, _>("n")? > 0)
}

/// Deletes a category; false if there was none.
pub async fn delete<'c>(ex: impl Exec<'c>, id: Uuid) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("delete from category where category_id = $1")
        .bind(id.to_string())
        .execute(ex)
        .await?;
    Ok(done.rows_affected() == 1)
}
