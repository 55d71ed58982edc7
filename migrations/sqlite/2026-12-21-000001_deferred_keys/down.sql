PRAGMA writable_schema = ON;
UPDATE sqlite_master
   SET sql = replace(sql, ' DEFERRABLE INITIALLY DEFERRED', '')
 WHERE type = 'table' AND name IN ('orders', 'ledger_entries');
PRAGMA writable_schema = RESET;
CREATE TABLE deferred_keys_bump (x INTEGER);
DROP TABLE deferred_keys_bump;
