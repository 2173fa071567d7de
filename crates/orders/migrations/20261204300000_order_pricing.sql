-- What pricing made of an order: its discount, its shipping option and its
-- promotions (lines carry their own discount and tax in `items`).
alter table orders add column discount_total bigint not null default 0;
alter table orders add column shipping_option text;          -- JSON {id, name}
alter table orders add column promotions text not null default '[]'; -- JSON [{promotion_id, code, discount, ...}]

-- The uses ledger (ADR 0016): placed, uncancelled orders per promotion with
-- a limit, overall and per customer (customer id, or email:<address> for a
-- guest). Taken in the placing transaction by one conditional upsert each,
-- given back in the cancelling one.
create table promotion_uses (
    promotion_id text primary key,
    used         bigint not null
);
create table promotion_customer_uses (
    promotion_id text not null,
    customer_key text not null,
    used         bigint not null,
    primary key (promotion_id, customer_key)
);
