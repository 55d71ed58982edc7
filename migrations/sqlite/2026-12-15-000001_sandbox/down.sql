DROP TABLE sandbox_attempts;
DROP TABLE sandbox_orders;
DROP TABLE sandbox_accounts;
ALTER TABLE api_keys DROP COLUMN sandbox;
