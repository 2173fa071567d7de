//! The category tree: parents that exist and never loop.

use super::*;

impl CatalogService {
    /// Every category.
    pub async fn categories(&self) -> Result<Vec<Category>> {
        Ok(categories::all(self.db.pool()).await?)
    }

    /// Creates a category.
    pub async fn create_category(
        &self,
        slug: &str,
        name: &str,
        parent_id: Option<Uuid>,
    ) -> Result<Category> {
        let category = Category {
            id: Uuid::now_v7(),
            slug: slug.to_owned(),
            name: name.trim().to_owned(),
            parent_id,
        };
        self.check_category(&category).await?;
        let mut tx = self.db.begin_write().await?;
        categories::insert(&mut *tx, &category, now_millis())
            .await
            .map_err(slug_taken)?;
        self.commit_change(tx).await?;
        Ok(category)
    }

    /// Changes a category (`parent_id: Some(None)` makes it a root).
    pub async fn update_category(
        &self,
        id: Uuid,
        slug: Option<&str>,
        name: Option<&str>,
        parent_id: Option<Option<Uuid>>,
    ) -> Result<Category> {
        let all = self.categories().await?;
        let mut category = all
            .iter()
            .find(|c| c.id == id)
            .cloned()
            .ok_or(CatalogError::NotFound("category"))?;
        if let Some(slug) = slug {
            category.slug = slug.to_owned();
        }
        if let Some(name) = name {
            category.name = name.trim().to_owned();
        }
        if let Some(parent) = parent_id {
            category.parent_id = parent;
        }
        self.check_category(&category).await?;
        // A category cannot move under itself or its own descendants.
        if let Some(parent) = category.parent_id
            && descendants(&all, id).contains(&parent)
        {
            return Err(CatalogError::field(
                "parent_id",
                "cannot be the category itself or one of its sub-categories",
            ));
        }
        let mut tx = self.db.begin_write().await?;
        categories::update(&mut *tx, &category, now_millis())
            .await
            .map_err(slug_taken)?;
        self.commit_change(tx).await?;
        Ok(category)
    }

    async fn check_category(&self, category: &Category) -> Result<()> {
        let mut errors = Vec::new();
        if let Err(e) = slug::check(&category.slug) {
            errors.push(FieldError::new("slug", e));
        }
        if category.name.is_empty() || category.name.chars().count() > product::NAME_MAX {
            errors.push(FieldError::new("name", "must be 1 to 200 characters"));
        }
        if let Some(parent) = category.parent_id
            && !self.categories().await?.iter().any(|c| c.id == parent)
        {
            errors.push(FieldError::new("parent_id", "is not a known category"));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(CatalogError::Validation(errors))
        }
    }

    /// Deletes a category that has no children and no products.
    pub async fn delete_category(&self, id: Uuid) -> Result<()> {
        let mut tx = self.db.begin_write().await?;
        if categories::in_use(&mut *tx, id).await? {
            return Err(CatalogError::CategoryInUse);
        }
        if !categories::delete(&mut *tx, id).await? {
            return Err(CatalogError::NotFound("category"));
        }
        self.commit_change(tx).await?;
        Ok(())
    }
}

/// The category and all categories below it.
pub(super) fn descendants(all: &[Category], root: Uuid) -> Vec<Uuid> {
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let current = found[i];
        let children: Vec<Uuid> = all
            .iter()
            .filter(|c| c.parent_id == Some(current) && !found.contains(&c.id))
            .map(|c| c.id)
            .collect();
        found.extend(children);
        i += 1;
    }
    found
}

fn slug_taken(e: sqlx::Error) -> CatalogError {
    if db::is_unique_violation(&e, categories::SLUG_KEY, "category.slug") {
        CatalogError::SlugTaken
    } else {
        e.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descendants_include_every_level_below() {
        let c = |id: u128, parent: Option<u128>| Category {
            id: Uuid::from_u128(id),
            slug: format!("c{id}"),
            name: format!("C{id}"),
            parent_id: parent.map(Uuid::from_u128),
        };
        let all = vec![c(1, None), c(2, Some(1)), c(3, Some(2)), c(4, None)];
        let mut found = descendants(&all, Uuid::from_u128(1));
        found.sort();
        assert_eq!(found, [1, 2, 3].map(Uuid::from_u128));
    }
}
