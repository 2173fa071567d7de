-- The notifications service schema (portable SQLite/PostgreSQL).

-- Contact details, copied from the users service's events.
create table contact (
    user_id    text primary key,
    email      text not null,
    name       text not null,
    phone      text,                 -- E.164, if the customer gave one
    updated_at bigint not null
);

-- A customer's choices; no row means the defaults (email on, SMS off).
create table preference (
    user_id    text primary key,
    email      bigint not null,
    sms        bigint not null,
    updated_at bigint not null
);

-- Every message, recorded (rendered) before the first attempt to send it.
create table delivery (
    delivery_id     text primary key,
    event_id        text not null,
    channel         text not null,   -- email | sms
    template        text not null,
    customer_id     text,            -- null for guests
    recipient       text not null,
    subject         text not null,
    body_text       text not null,
    body_html       text,
    status          text not null,   -- queued | sent | failed
    attempts        bigint not null,
    next_attempt_at bigint not null, -- also the lease of an attempt in progress
    provider_id     text,            -- the provider's message id
    last_error      text,
    created_at      bigint not null,
    sent_at         bigint
);
-- One message per event and channel, however often the event arrives.
create unique index delivery_event_channel_key on delivery (event_id, channel);
create index delivery_due_idx on delivery (status, next_attempt_at);
create index delivery_customer_idx on delivery (customer_id, created_at, delivery_id);
create index delivery_created_idx on delivery (created_at, delivery_id);
