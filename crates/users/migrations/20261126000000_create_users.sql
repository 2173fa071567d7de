-- The users service schema. Portable between SQLite and PostgreSQL: ids are
-- TEXT (UUIDs), instants BIGINT Unix milliseconds, flags BIGINT 0/1, because
-- sqlx's Any driver reads only these primitive types on both engines.

create table account (
    account_id     text primary key,          -- UUIDv7: sorts by creation
    email          text not null,              -- lower-cased
    password_hash  text not null,              -- argon2id PHC string
    name           text not null,
    phone          text,
    role           text not null,              -- customer | admin
    email_verified bigint not null default 0,
    disabled       bigint not null default 0,
    created_at     bigint not null,
    updated_at     bigint not null,
    constraint account_email_key unique (email)
);

-- One row per issued refresh token. A family is one login session: each
-- refresh marks the presented token used and issues the next in the family;
-- presenting a used token again means it leaked, and the family is revoked.
create table refresh_token (
    token_hash  text primary key,              -- SHA-256 of the token
    family_id   text not null,
    account_id  text not null references account (account_id),
    created_at  bigint not null,
    expires_at  bigint not null,
    used_at     bigint,
    revoked_at  bigint
);
create index refresh_token_family_idx on refresh_token (family_id);
create index refresh_token_account_idx on refresh_token (account_id);

-- Single-use tokens mailed to the user: password reset, email verification.
create table one_time_token (
    token_hash  text primary key,
    purpose     text not null,                 -- password_reset | email_verification
    account_id  text not null references account (account_id),
    created_at  bigint not null,
    expires_at  bigint not null,
    used_at     bigint
);
create index one_time_token_account_idx on one_time_token (account_id, purpose);

create table address (
    address_id  text primary key,
    account_id  text not null references account (account_id),
    name        text not null,
    line1       text not null,
    line2       text,
    city        text not null,
    region      text,
    postal_code text not null,
    country     text not null,
    phone       text,
    created_at  bigint not null,
    updated_at  bigint not null
);
create index address_account_idx on address (account_id, address_id);

-- Failed logins, keyed by `account:<email>` or `address:<ip>`; kept only for
-- the throttling window. In the database rather than in memory so that every
-- instance of the service sees the same count.
create table login_failure (
    scope      text not null,
    failed_at  bigint not null
);
create index login_failure_scope_idx on login_failure (scope, failed_at);

-- Ed25519 keys that sign access tokens. Generated on first start; every
-- instance signs with the newest and the JWKS serves all of them.
create table signing_key (
    kid          text primary key,
    private_pkcs8 text not null,               -- base64
    public_key   text not null,                -- base64url, raw 32 bytes
    created_at   bigint not null
);
