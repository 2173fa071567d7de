//! Demo data: a realistic catalog made by a deterministic generator (the
//! same seed gives the same shop), for a first look and for benchmarks.

use std::collections::BTreeMap;

use uuid::Uuid;

use crate::{
    domain::product::{ProductInput, Status, VariantInput},
    error::{CatalogError, Result},
    service::CatalogService,
};

/// A sub-category and the nouns of what it sells.
type Aisle = (&'static str, &'static [&'static str]);

/// Top-level categories with their sub-categories.
const DEPARTMENTS: &[(&str, &[Aisle])] = &[
    (
        "Clothing",
        &[
            ("Shirts", &["Shirt", "Polo", "Blouse"]),
            ("Trousers", &["Chinos", "Jeans", "Trousers"]),
            ("Jackets", &["Jacket", "Parka", "Blazer"]),
            ("Knitwear", &["Jumper", "Cardigan", "Hoodie"]),
        ],
    ),
    (
        "Shoes",
        &[
            ("Sneakers", &["Sneaker", "Trainer"]),
            ("Boots", &["Boot", "Chelsea boot"]),
            ("Sandals", &["Sandal", "Slide"]),
        ],
    ),
    (
        "Home",
        &[
            ("Bedding", &["Duvet cover", "Pillowcase", "Throw"]),
            ("Lighting", &["Lamp", "Pendant light", "Lantern"]),
            ("Decor", &["Vase", "Mirror", "Candle holder"]),
        ],
    ),
    (
        "Kitchen",
        &[
            ("Cookware", &["Frying pan", "Saucepan", "Casserole"]),
            ("Tableware", &["Plate", "Bowl", "Mug"]),
            ("Tools", &["Knife", "Grater", "Whisk"]),
        ],
    ),
    (
        "Outdoor",
        &[
            ("Camping", &["Tent", "Sleeping bag", "Camp stove"]),
            ("Cycling", &["Helmet", "Bike light", "Pannier"]),
            ("Hiking", &["Backpack", "Water bottle", "Trekking pole"]),
        ],
    ),
    (
        "Electronics",
        &[
            ("Audio", &["Headphones", "Speaker", "Earbuds"]),
            ("Accessories", &["Charger", "Cable", "Power bank"]),
        ],
    ),
];

const ADJECTIVES: &[&str] = &[
    "Classic",
    "Everyday",
    "Heritage",
    "Urban",
    "Coastal",
    "Alpine",
    "Nordic",
    "Vintage",
    "Modern",
    "Essential",
    "Premium",
    "Rugged",
    "Soft",
    "Light",
    "Compact",
    "Studio",
    "Field",
    "Harbour",
    "Meadow",
    "Summit",
];
const MATERIALS: &[&str] = &[
    "Linen",
    "Cotton",
    "Wool",
    "Oak",
    "Walnut",
    "Ceramic",
    "Steel",
    "Copper",
    "Leather",
    "Canvas",
    "Bamboo",
    "Stoneware",
];
const COLOURS: &[&str] = &[
    "Black", "White", "Navy", "Olive", "Sand", "Rust", "Grey", "Forest",
];
const SIZES: &[&str] = &["XS", "S", "M", "L", "XL", "XXL"];

/// SplitMix64: tiny, fast, good enough to pick words, and stable forever.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Adds `products` demo products (and the demo categories) to the catalog.
/// Existing demo slugs are skipped, so seeding again fills up to the count.
pub async fn seed(service: &CatalogService, products: usize) -> Result<usize> {
    let mut rng = Rng(42);
    let existing = service.categories().await?;
    let mut leaves: Vec<(Uuid, &[&str], bool)> = Vec::new();
    for (department, subs) in DEPARTMENTS {
        let parent = ensure_category(service, &existing, department, None).await?;
        for (sub, nouns) in *subs {
            let id = ensure_category(service, &existing, sub, Some(parent)).await?;
            // Clothing and shoes come in sizes; the rest in colours.
            leaves.push((id, nouns, matches!(*department, "Clothing" | "Shoes")));
        }
    }
    let mut created = 0;
    for n in 0..products {
        let (category, nouns, sized) = leaves[rng.below(leaves.len())];
        let (adjective, material, noun) =
            (rng.pick(ADJECTIVES), rng.pick(MATERIALS), rng.pick(nouns));
        let name = format!("{adjective} {material} {noun}");
        let slug = format!("{}-{n:05}", slugify(&name));
        let base_price = 500 + 100 * i64::try_from(rng.below(195)).unwrap_or(0);
        let count = 1 + rng.below(6);
        let variants = (0..count)
            .map(|i| {
                let (title, options) = if sized {
                    let size = SIZES[i % SIZES.len()];
                    (
                        size.to_owned(),
                        BTreeMap::from([("size".to_owned(), size.to_owned())]),
                    )
                } else {
                    let colour = COLOURS[i % COLOURS.len()];
                    (
                        colour.to_owned(),
                        BTreeMap::from([("colour".to_owned(), colour.to_owned())]),
                    )
                };
                VariantInput {
                    sku: format!("DEMO-{n:05}-{i}"),
                    title,
                    options,
                    price: base_price + 100 * i64::try_from(rng.below(4)).unwrap_or(0),
                    currency: "USD".into(),
                    // One variant in ten is sold out.
                    initial_stock: if rng.below(10) == 0 {
                        0
                    } else {
                        1 + i64::try_from(rng.below(100)).unwrap_or(0)
                    },
                }
            })
            .collect();
        let input = ProductInput {
            description: format!(
                "The {name} is {} {} {} in {}, built for everyday use. {}",
                if adjective.starts_with(['A', 'E', 'I', 'O', 'U']) {
                    "an"
                } else {
                    "a"
                },
                adjective.to_lowercase(),
                noun.to_lowercase(),
                material.to_lowercase(),
                rng.pick(&[
                    "Made in small batches.",
                    "Designed to last for years.",
                    "Easy to care for.",
                    "A customer favourite.",
                    "Sustainably sourced.",
                ])
            ),
            images: (1..=1 + rng.below(3))
                .map(|i| format!("/media/demo/{slug}/{i}.svg"))
                .collect(),
            name,
            slug,
            status: Status::Published,
            category_ids: vec![category],
            attributes: BTreeMap::from([
                ("material".to_owned(), material.to_lowercase().into()),
                ("brand".to_owned(), "Mercato Demo".into()),
            ]),
            variants,
        };
        match service.create_product(input).await {
            Ok(_) => created += 1,
            Err(CatalogError::SlugTaken | CatalogError::SkuTaken) => {}
            Err(e) => return Err(e),
        }
    }
    if created > 0 {
        service.refresh_statistics().await?;
    }
    Ok(created)
}

async fn ensure_category(
    service: &CatalogService,
    existing: &[crate::store::categories::Category],
    name: &str,
    parent: Option<Uuid>,
) -> Result<Uuid> {
    let slug = slugify(name);
    if let Some(found) = existing.iter().find(|c| c.slug == slug) {
        return Ok(found.id);
    }
    Ok(service.create_category(&slug, name, parent).await?.id)
}

fn slugify(text: &str) -> String {
    let mut slug = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug.trim_matches('-').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generator_is_deterministic() {
        let mut a = Rng(42);
        let mut b = Rng(42);
        assert!((0..100).all(|_| a.next() == b.next()));
        assert_eq!(slugify("Chelsea boot"), "chelsea-boot");
    }
}
