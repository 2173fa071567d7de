-- The promotion code a customer applied to the cart (upper-cased, checked
-- by pricing when applied and again whenever the cart is priced).
alter table cart add column promotion_code text;
