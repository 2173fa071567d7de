//! The schemas of fields whose rules a derive cannot state (lengths of
//! several parts, URL shapes, nullable variants), used by the bodies in
//! [`super`].

use super::*;

pub(super) fn string(max_length: usize) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .max_length(Some(max_length))
}

pub(super) fn nullable_status() -> Object {
    nullable(
        string(9)
            .enum_values(Some(["draft", "published", "archived"]))
            .description(Some("draft, published (the default) or archived."))
            .build(),
    )
}

pub(super) fn images() -> Array {
    ArrayBuilder::new()
        .items(
            string(2000)
                .pattern(Some(r"^(https?://\S*|/[^/\s]\S*)$"))
                .description(Some(
                    "An http(s) URL, or a path on the shop's own host (`/media/...`), without spaces.",
                )),
        )
        .max_items(Some(product::IMAGES_MAX))
        .build()
}

pub(super) fn nullable_images() -> Array {
    let mut images = images();
    images.schema_type = SchemaType::from_iter([Type::Array, Type::Null]);
    images
}

pub(super) fn entries(
    value: impl Into<utoipa::openapi::RefOr<utoipa::openapi::Schema>>,
) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(value.into()))
        .max_properties(Some(product::ENTRIES_MAX))
        .property_names(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(100)),
        ))
}

pub(super) fn options() -> Object {
    entries(string(500).build()).build()
}

pub(super) fn attributes() -> Object {
    // Values are any JSON, at most 2000 characters when written out.
    let mut any = ObjectBuilder::new().build();
    any.schema_type = SchemaType::AnyValue;
    entries(any).build()
}

pub(super) fn nullable_attributes() -> Object {
    nullable(attributes())
}

pub(super) fn adjustment_delta() -> utoipa::openapi::Schema {
    let range = |from: i64, to: i64| {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(from))
            .maximum(Some(to))
    };
    utoipa::openapi::Schema::OneOf(
        OneOfBuilder::new()
            .item(range(1, stock::ADJUSTMENT_MAX))
            .item(range(-stock::ADJUSTMENT_MAX, -1))
            .description(Some(
                "Units added (positive) or taken away (negative); never 0.",
            ))
            .build(),
    )
}

pub(super) fn sort() -> Object {
    string(11)
        .enum_values(Some([
            "relevance",
            "price",
            "-price",
            "name",
            "-created_at",
        ]))
        .build()
}
