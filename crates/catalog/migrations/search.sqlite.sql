-- Full-text search on SQLite: an FTS5 table kept in step by the store.
create virtual table product_search using fts5(product_id unindexed, name, description, tokenize = 'unicode61 remove_diacritics 2');
