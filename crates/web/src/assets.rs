//! What the storefront serves itself: its one stylesheet and one small
//! script, under a path naming their content (cached for a year, a new
//! build gets a new path), and the demo catalog's pictures, drawn from the
//! product's name so that the demo shop renders offline.

use std::sync::LazyLock;

use axum::{
    extract::Path,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

const CSS: &str = include_str!("../static/app.css");
const JS: &str = include_str!("../static/app.js");

/// A year: the path changes with the content.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

static VERSION: LazyLock<String> = LazyLock::new(|| {
    let digest = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        format!("{CSS}\u{0}{JS}").as_bytes(),
    );
    digest.as_ref()[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
});

/// `/static/<version>/app.css`.
pub fn css_path() -> String {
    format!("/static/{}/app.css", *VERSION)
}

/// `/static/<version>/app.js`.
pub fn js_path() -> String {
    format!("/static/{}/app.js", *VERSION)
}

/// Bytes of HTML's companions, for the benchmark's page weight.
pub fn weight() -> (usize, usize) {
    (CSS.len(), JS.len())
}

/// `GET /static/{version}/{file}`.
pub async fn asset(Path((version, file)): Path<(String, String)>) -> Response {
    let (body, kind) = match file.as_str() {
        "app.css" => (CSS, "text/css; charset=utf-8"),
        "app.js" => (JS, "text/javascript; charset=utf-8"),
        _ => return crate::pages::not_found_page().into_response(),
    };
    // An old version's path still answers (a page cached before a deploy),
    // but only the current one may be cached for good.
    let cache = if version == *VERSION {
        IMMUTABLE
    } else {
        "no-cache"
    };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(kind)),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        body,
    )
        .into_response()
}

/// `GET /media/demo/{slug}/{n}.svg`: picture `n` of a demo product.
pub async fn demo_image(Path((slug, file)): Path<(String, String)>) -> Response {
    let Some(n) = file
        .strip_suffix(".svg")
        .and_then(|n| n.parse::<u8>().ok())
        .filter(|n| (1..=9).contains(n))
    else {
        return crate::pages::not_found_page().into_response();
    };
    if slug.is_empty()
        || slug.len() > 100
        || !slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return crate::pages::not_found_page().into_response();
    }
    (
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("image/svg+xml"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE)),
        ],
        draw(&slug, n),
    )
        .into_response()
}

/// Colours of the demo materials: background, accent.
fn palette(words: &[&str]) -> (&'static str, &'static str) {
    for word in words {
        let colours = match *word {
            "linen" => ("#efe6d8", "#b89f7a"),
            "cotton" => ("#f4f1ea", "#8a9bb0"),
            "wool" => ("#e4e2df", "#6f6a64"),
            "oak" => ("#ead9bf", "#9c7447"),
            "walnut" => ("#dccab5", "#5e4030"),
            "ceramic" => ("#e2ecf0", "#4f7f94"),
            "steel" => ("#e3e7ea", "#56626c"),
            "copper" => ("#f3dfd0", "#b5653a"),
            "leather" => ("#efdcc8", "#8b5a2b"),
            "canvas" => ("#ebe7d3", "#7d7a4f"),
            "bamboo" => ("#e5eed8", "#5f7d3a"),
            "stoneware" => ("#e4e3e8", "#5b5a73"),
            _ => continue,
        };
        return colours;
    }
    ("#eceff3", "#51607a")
}

/// A flat still life: the material's colours, one of four shapes, and the
/// product's name. Deterministic: the same URL draws the same picture.
fn draw(slug: &str, n: u8) -> String {
    let words: Vec<&str> = slug
        .split('-')
        .filter(|w| !w.is_empty() && !w.bytes().all(|b| b.is_ascii_digit()))
        .collect();
    let (background, accent) = palette(&words);
    let title: Vec<String> = words
        .iter()
        .map(|w| {
            let mut chars = w.chars();
            chars.next().map_or_else(String::new, |c| {
                c.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect();
    let title = title.join(" ");
    let hash = slug.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    let shape = match (hash.wrapping_add(u64::from(n))) % 4 {
        0 => r#"<circle cx="400" cy="330" r="170"/>"#.to_owned(),
        1 => r#"<rect x="250" y="170" width="300" height="320" rx="36"/>"#.to_owned(),
        2 => r#"<path d="M400 140 L590 480 L210 480 Z"/>"#.to_owned(),
        _ => r#"<ellipse cx="400" cy="340" rx="210" ry="140"/>"#.to_owned(),
    };
    let tilt = (hash % 21) as i64 - 10 + i64::from(n) * 7;
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 800 800" role="img" aria-label="{title}"><rect width="800" height="800" fill="{background}"/><circle cx="{cx}" cy="{cy}" r="260" fill="#ffffff" opacity="0.35"/><g fill="{accent}" transform="rotate({tilt} 400 330)">{shape}</g><rect x="0" y="610" width="800" height="190" fill="#ffffff" opacity="0.55"/><text x="400" y="712" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="44" text-anchor="middle" fill="#1f2933">{title}</text></svg>"##,
        cx = 200 + hash % 400,
        cy = 200 + (hash >> 8) % 300,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_demo_picture_is_stable_and_names_the_product() {
        let a = draw("classic-linen-shirt-00001", 1);
        assert_eq!(a, draw("classic-linen-shirt-00001", 1));
        assert_ne!(a, draw("classic-linen-shirt-00001", 2));
        assert!(a.contains("Classic Linen Shirt"), "{a}");
        assert!(a.contains("#efe6d8"), "linen colours: {a}");
        assert!(a.starts_with("<svg"));
    }

    #[test]
    fn asset_paths_name_the_content() {
        assert!(css_path().starts_with("/static/"));
        assert_eq!(css_path().len(), "/static/".len() + 12 + "/app.css".len());
    }
}
