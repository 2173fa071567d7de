-- Real providers: a payment is found by the provider's reference when its
-- webhook arrives, and each webhook event is acted on once.

create index payment_provider_ref_idx on payment (provider, provider_ref);

-- A provider event handled (written in the transaction of its effect).
create table webhook_receipt (
    provider    text not null,
    event_id    text not null,
    received_at bigint not null,
    primary key (provider, event_id)
);
