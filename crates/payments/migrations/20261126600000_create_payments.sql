-- The payments service schema (portable SQLite/PostgreSQL).

-- What each order owes, learnt from order.placed: a payment is created
-- from this when its stock is reserved, never from an amount a client sent.
create table order_due (
    order_id    text primary key,
    customer_id text,                  -- null for a guest order
    email       text not null,
    amount      bigint not null,       -- minor units
    currency    text not null,
    provider    text not null,
    cancelled   bigint not null,       -- 1 once order.cancelled arrived
    created_at  bigint not null
);

create table payment (
    payment_id      text primary key,  -- UUIDv4 for guest orders: a capability
    order_id        text not null,
    customer_id     text,
    email           text not null,
    provider        text not null,
    provider_ref    text not null,     -- the provider's id of the payment
    status          text not null,     -- pending | succeeded | failed | refunded | partially_refunded
    amount          bigint not null,
    currency        text not null,
    refunded_amount bigint not null,   -- refunds done or in progress
    failure_code    text,
    client_secret   text,
    approval_url    text,
    version         bigint not null,
    created_at      bigint not null,
    updated_at      bigint not null
);
-- One payment per order: a redelivered inventory.reserved cannot charge twice.
create unique index payment_order_key on payment (order_id);

create table refund (
    refund_id    text primary key,
    payment_id   text not null references payment (payment_id),
    amount       bigint not null,
    status       text not null,        -- pending | succeeded | failed
    provider_ref text,
    reason       text not null,
    created_at   bigint not null
);
create index refund_payment_idx on refund (payment_id);
