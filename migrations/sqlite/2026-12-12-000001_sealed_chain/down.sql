DROP TABLE pending_sales;
DROP INDEX audit_chain_unsealed;
DROP INDEX audit_chain_pos;
ALTER TABLE audit_chain DROP COLUMN pos;
