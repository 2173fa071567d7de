//! The assortment: products and their variants. Writes announce
//! `product.updated`; public reads go through the read cache.

use super::{tree::descendants, *};

impl CatalogService {
    /// Creates a product with its variants and starting stock.
    pub async fn create_product(&self, input: ProductInput) -> Result<Product> {
        self.check_product(&input).await?;
        let id = Uuid::now_v7();
        let variant_ids: Vec<Uuid> = input.variants.iter().map(|_| Uuid::now_v7()).collect();
        let mut tx = self.db.begin_write().await?;
        products::insert(
            &mut tx,
            self.db.backend(),
            id,
            &input,
            &variant_ids,
            now_millis(),
        )
        .await
        .map_err(product_conflict)?;
        self.commit_change(tx).await?;
        self.product(&id.to_string(), true).await
    }

    /// Replaces a product's fields; variants keep their ids by SKU.
    /// Publishes `product.updated` when a price or the status changed.
    pub async fn update_product(
        &self,
        id: Uuid,
        change: impl FnOnce(&mut ProductInput),
    ) -> Result<Product> {
        let before = self.product(&id.to_string(), true).await?;
        let mut input = as_input(&before);
        change(&mut input);
        self.check_product(&input).await?;
        let variant_ids: Vec<Uuid> = input
            .variants
            .iter()
            .map(|v| {
                before
                    .variants
                    .iter()
                    .find(|b| b.sku == v.sku)
                    .map_or_else(Uuid::now_v7, |b| b.id)
            })
            .collect();
        let mut tx = self.db.begin_write().await?;
        products::update(
            &mut tx,
            self.db.backend(),
            id,
            &input,
            &variant_ids,
            now_millis(),
        )
        .await
        .map_err(product_conflict)?;
        let after = products::find(&mut tx, &id.to_string())
            .await?
            .ok_or(CatalogError::NotFound("product"))?;
        if prices_or_status_changed(&before, &after) {
            self.emit_updated(&mut tx, &after).await?;
        }
        self.commit_change(tx).await?;
        Ok(after)
    }

    /// Archives a product (DELETE); it disappears from the public catalog.
    pub async fn archive_product(&self, id: Uuid) -> Result<()> {
        let mut tx = self.db.begin_write().await?;
        let before = products::find(&mut tx, &id.to_string())
            .await?
            .ok_or(CatalogError::NotFound("product"))?;
        products::set_status(&mut *tx, id, Status::Archived, now_millis()).await?;
        if before.status != Status::Archived {
            let mut after = before;
            after.status = Status::Archived;
            self.emit_updated(&mut tx, &after).await?;
        }
        self.commit_change(tx).await?;
        Ok(())
    }

    async fn emit_updated(&self, tx: &mut sqlx::AnyConnection, product: &Product) -> Result<()> {
        let event = ProductUpdated {
            product_id: product.id,
            status: product.status.as_str().to_owned(),
            currency: product.currency.clone(),
            variants: product
                .variants
                .iter()
                .map(|v| VariantPrice {
                    variant_id: v.id,
                    sku: v.sku.clone(),
                    price: v.price,
                })
                .collect(),
        };
        let envelope =
            Envelope::new(crate::NAME, product.id, &event).context("encoding product.updated")?;
        self.outbox.append(tx, &envelope).await?;
        Ok(())
    }

    async fn check_product(&self, input: &ProductInput) -> Result<()> {
        let mut errors = product::validate(input).err().unwrap_or_default();
        if !input.category_ids.is_empty() {
            let known: HashSet<Uuid> = self.categories().await?.into_iter().map(|c| c.id).collect();
            for (i, id) in input.category_ids.iter().enumerate() {
                if !known.contains(id) {
                    errors.push(FieldError::new(
                        format!("category_ids.{i}"),
                        "is not a known category",
                    ));
                }
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(CatalogError::Validation(errors))
        }
    }

    /// A purchasable (published) variant with its price and stock.
    pub async fn variant(
        &self,
        variant_id: Uuid,
    ) -> Result<Option<contracts::clients::catalog::VariantInfo>> {
        use sqlx::Row as _;
        let Some(row) = products::variant(self.db.pool(), variant_id).await? else {
            return Ok(None);
        };
        let status: String = row.try_get("status")?;
        if status != Status::Published.as_str() {
            return Ok(None);
        }
        let on_hand: Option<i64> = row.try_get("on_hand")?;
        let reserved: Option<i64> = row.try_get("reserved")?;
        let product_id: String = row.try_get("product_id")?;
        Ok(Some(contracts::clients::catalog::VariantInfo {
            variant_id: variant_id.into(),
            product_id: Uuid::parse_str(&product_id)
                .context("stored product id")?
                .into(),
            sku: row.try_get("sku")?,
            product_name: row.try_get("name")?,
            variant_title: row.try_get("title")?,
            price: row.try_get("price")?,
            currency: row.try_get("currency")?,
            available: stock::available(on_hand.unwrap_or(0), reserved.unwrap_or(0)),
        }))
    }

    /// Refreshes the database's planner statistics (after a bulk load).
    pub async fn refresh_statistics(&self) -> Result<()> {
        Ok(crate::store::analyze(&self.db).await?)
    }

    /// How many products exist, in any status.
    pub async fn product_count(&self) -> Result<i64> {
        Ok(products::count(self.db.pool()).await?)
    }

    /// A product by id or slug; unpublished ones only for admins.
    pub async fn product(&self, id_or_slug: &str, admin: bool) -> Result<Product> {
        let mut conn = self.db.pool().acquire().await?;
        products::find(&mut conn, id_or_slug)
            .await?
            .filter(|p| admin || p.status == Status::Published)
            .ok_or(CatalogError::NotFound("product"))
    }

    /// One page of products.
    pub async fn products(
        &self,
        mut filter: Filter,
        category: Option<&str>,
        sort: Sort,
        after: Option<&After>,
        limit: i64,
    ) -> Result<Vec<(Product, After)>> {
        if let Some(category) = category {
            let all = self.categories().await?;
            filter.categories = Some(
                all.iter()
                    .find(|c| c.id.to_string() == category || c.slug == category)
                    .map(|c| descendants(&all, c.id))
                    .unwrap_or_default(),
            );
        }
        let mut conn = self.db.pool().acquire().await?;
        Ok(products::list(&mut conn, self.db.backend(), &filter, sort, after, limit).await?)
    }
}

fn as_input(p: &Product) -> ProductInput {
    ProductInput {
        name: p.name.clone(),
        slug: p.slug.clone(),
        description: p.description.clone(),
        status: p.status,
        category_ids: p.category_ids.clone(),
        images: p.images.clone(),
        attributes: p.attributes.clone(),
        variants: p
            .variants
            .iter()
            .map(|v| product::VariantInput {
                sku: v.sku.clone(),
                title: v.title.clone(),
                options: v.options.clone(),
                price: v.price,
                currency: p.currency.clone(),
                initial_stock: 0,
            })
            .collect(),
    }
}

fn prices_or_status_changed(before: &Product, after: &Product) -> bool {
    let prices = |p: &Product| {
        p.variants
            .iter()
            .map(|v| (v.sku.clone(), v.price))
            .collect::<Vec<_>>()
    };
    before.status != after.status
        || before.currency != after.currency
        || prices(before) != prices(after)
}

fn product_conflict(e: sqlx::Error) -> CatalogError {
    if db::is_unique_violation(&e, products::SLUG_KEY, "product.slug") {
        CatalogError::SlugTaken
    } else if db::is_unique_violation(&e, products::SKU_KEY, "variant.sku") {
        CatalogError::SkuTaken
    } else {
        e.into()
    }
}
