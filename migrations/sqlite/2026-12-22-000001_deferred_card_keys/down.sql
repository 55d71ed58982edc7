PRAGMA writable_schema = ON;
UPDATE sqlite_master
   SET sql = replace(sql, ' DEFERRABLE INITIALLY DEFERRED', '')
 WHERE type = 'table' AND name = 'cards';
PRAGMA writable_schema = RESET;
CREATE TABLE deferred_card_keys_bump (x INTEGER);
DROP TABLE deferred_card_keys_bump;
