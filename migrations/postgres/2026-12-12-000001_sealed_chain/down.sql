ALTER TABLE audit_chain ALTER COLUMN seq DROP DEFAULT;
DROP SEQUENCE audit_chain_seq;
DROP TABLE pending_sales;
DROP INDEX audit_chain_unsealed;
DROP INDEX audit_chain_pos;
ALTER TABLE audit_chain DROP COLUMN pos;
