-- The pricing service schema (portable SQLite/PostgreSQL). Flags are
-- 0/1 bigints and lists JSON text, as everywhere else in Mercato.

create table shipping_option (
    option_id  text primary key,
    name       text not null,
    countries  text not null,          -- JSON array of ISO 3166-1 alpha-2 codes, or ["*"]
    currency   text not null,
    price      bigint not null,        -- minor units
    free_over  bigint,                 -- free when the discounted subtotal reaches it
    min_days   bigint,
    max_days   bigint,
    active     bigint not null,
    created_at bigint not null,
    updated_at bigint not null
);
create index shipping_option_currency_idx on shipping_option (currency, created_at);

create table tax_rate (
    rate_id             text primary key,
    country             text not null,
    region              text not null,  -- '' for the whole country: one rate per (country, region)
    name                text not null,
    rate                bigint not null, -- basis points
    applies_to_shipping bigint not null,
    created_at          bigint not null,
    updated_at          bigint not null,
    constraint tax_rate_place_key unique (country, region)
);

create table promotion (
    promotion_id             text primary key,
    code                     text,      -- upper-cased; null for an automatic promotion
    name                     text not null,
    kind                     text not null,
    value                    bigint not null,
    currency                 text,
    min_subtotal             bigint,
    starts_at                bigint,
    ends_at                  bigint,
    usage_limit              bigint,
    usage_limit_per_customer bigint,
    active                   bigint not null,
    created_at               bigint not null,
    updated_at               bigint not null
);
create unique index promotion_code_key on promotion (code) where code is not null;
create index promotion_created_idx on promotion (created_at, promotion_id);

-- A mirror of the orders service's ledger, fed by order.placed and
-- order.cancelled: it answers `times_used` and refuses a used-up code at the
-- cart early. Orders enforces the limits when an order is placed.
create table promotion_use (
    order_id     text not null,
    promotion_id text not null,
    customer_key text not null,         -- the customer's id, or email:<address> for a guest
    primary key (order_id, promotion_id)
);
create index promotion_use_promotion_idx on promotion_use (promotion_id, customer_key);

-- Orders seen cancelled: a late order.placed of one of them records no use
-- (the bus may deliver the two in either order).
create table released_order (
    order_id text primary key
);
