-- The cart service schema (portable SQLite/PostgreSQL).

create table cart (
    cart_id     text primary key,      -- UUIDv4 for guests: the id is the only key
    customer_id text,                  -- null for a guest cart
    currency    text not null,
    created_at  bigint not null,
    updated_at  bigint not null
);
-- A customer has at most one active cart.
create unique index cart_customer_key on cart (customer_id) where customer_id is not null;
create index cart_idle_idx on cart (updated_at);

create table cart_item (
    item_id       text primary key,
    cart_id       text not null references cart (cart_id) on delete cascade,
    variant_id    text not null,
    sku           text not null,
    product_name  text not null,
    variant_title text not null,
    quantity      bigint not null,
    unit_price    bigint not null,     -- minor units of cart.currency, from the catalog
    created_at    bigint not null,
    constraint cart_item_variant_key unique (cart_id, variant_id)
);
