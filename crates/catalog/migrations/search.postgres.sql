-- Full-text search on PostgreSQL: a generated tsvector with a GIN index.
-- 'simple' (no stemming) matches SQLite's unicode61 tokenizer, so both
-- backends find the same products.
alter table product add column search tsvector
    generated always as (to_tsvector('simple', name || ' ' || description)) stored;
create index product_search_idx on product using gin (search);
