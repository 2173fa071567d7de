-- The catalog service schema (portable SQLite/PostgreSQL: TEXT ids, BIGINT
-- money and instants, JSON kept as TEXT).

create table category (
    category_id text primary key,
    slug        text not null,
    name        text not null,
    parent_id   text references category (category_id),
    created_at  bigint not null,
    updated_at  bigint not null,
    constraint category_slug_key unique (slug)
);
create index category_parent_idx on category (parent_id);

create table product (
    product_id  text primary key,          -- UUIDv7
    slug        text not null,
    name        text not null,
    description text not null,
    status      text not null,             -- draft | published | archived
    images      text not null,             -- JSON array of URLs
    attributes  text not null,             -- JSON object
    currency    text not null,             -- every variant's currency
    min_price   bigint not null,           -- lowest variant price: the list's price filter and sort
    created_at  bigint not null,
    updated_at  bigint not null,
    constraint product_slug_key unique (slug)
);
-- Keyset pagination: each sort has an index ending in the id tie-breaker.
create index product_created_idx on product (status, created_at, product_id);
create index product_price_idx on product (status, min_price, product_id);
create index product_name_idx on product (status, name, product_id);

create table product_category (
    product_id  text not null references product (product_id),
    category_id text not null references category (category_id),
    primary key (product_id, category_id)
);
create index product_category_category_idx on product_category (category_id, product_id);

create table variant (
    variant_id  text primary key,
    product_id  text not null references product (product_id),
    sku         text not null,
    title       text not null,
    options     text not null,             -- JSON object, option name -> value
    price       bigint not null,           -- minor units of product.currency
    position    bigint not null,
    constraint variant_sku_key unique (sku)
);
create index variant_product_idx on variant (product_id, position);

-- Stock per SKU. available = on_hand - reserved, kept >= 0 by conditional
-- updates, never by reading then writing.
create table stock (
    sku        text primary key,
    on_hand    bigint not null,
    reserved   bigint not null,
    updated_at bigint not null,
    constraint stock_levels_check check (on_hand >= 0 and reserved >= 0 and reserved <= on_hand)
);

-- Every stock change: who, when, how much, why.
create table stock_adjustment (
    adjustment_id text primary key,
    sku           text not null,
    delta         bigint not null,
    reason        text not null,
    actor         text not null,           -- user id, or "order:<id>" for reservations
    created_at    bigint not null
);
create index stock_adjustment_sku_idx on stock_adjustment (sku, created_at);

-- Units held for an order: all lines or none, keyed by order id so a
-- repeated request changes nothing.
create table reservation (
    order_id   text not null,
    sku        text not null,
    quantity   bigint not null,
    status     text not null,              -- reserved | released | committed
    expires_at bigint not null,
    created_at bigint not null,
    updated_at bigint not null,
    primary key (order_id, sku)
);
create index reservation_expiry_idx on reservation (status, expires_at);
