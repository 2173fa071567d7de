-- The orders service schema (portable SQLite/PostgreSQL).
-- Lines, address, tracking and history are JSON text: they are read and
-- written with their order, never queried on their own.

create table orders (
    order_id         text primary key,   -- UUIDv4 for guest orders: the id is their key
    number           text not null,      -- human-friendly, e.g. 7KQ2F-9XJ4B
    customer_id      text,               -- null for a guest order
    email            text not null,
    status           text not null,
    payment_status   text not null,
    cancel_reason    text,
    currency         text not null,
    subtotal         bigint not null,
    shipping_total   bigint not null,
    tax_total        bigint not null,
    total            bigint not null,
    items            text not null,
    shipping_address text not null,
    payment_provider text not null,
    payment_id       text,
    tracking         text,
    history          text not null,
    version          bigint not null,    -- optimistic concurrency between writers
    created_at       bigint not null,
    updated_at       bigint not null
);
create unique index orders_number_key on orders (number);
create index orders_created_idx on orders (created_at, order_id);
create index orders_customer_idx on orders (customer_id, created_at, order_id);
create index orders_status_idx on orders (status, created_at, order_id);
