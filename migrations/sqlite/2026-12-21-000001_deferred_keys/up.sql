-- SQLite only. The foreign keys an order's rows carry (orders → products and resellers,
-- ledger_entries → audit_chain) are checked at COMMIT instead of at each statement. An
-- immediate foreign key makes SQLite copy every page a multi-row insert touches into a
-- statement journal first, so that it can undo the statement alone should a row fail the key;
-- a group commit's set inserts its orders and ledger lines with one statement each, and those
-- copies were 3.5 % of the writer's time at C=16. Deferred, a missing parent still fails the
-- transaction (its COMMIT), and nothing of it persists. No parent row of these is ever deleted.
--
-- Only the constraint's text changes, not what is stored: the procedure SQLite documents for
-- such changes (https://www.sqlite.org/lang_altertable.html, "Making Other Kinds Of Table
-- Schema Changes") edits the schema in place, with no copy of either table.
PRAGMA writable_schema = ON;
UPDATE sqlite_master
   SET sql = replace(replace(sql,
       'REFERENCES resellers(id)', 'REFERENCES resellers(id) DEFERRABLE INITIALLY DEFERRED'),
       'REFERENCES products(id)', 'REFERENCES products(id) DEFERRABLE INITIALLY DEFERRED')
 WHERE type = 'table' AND name = 'orders';
UPDATE sqlite_master
   SET sql = replace(sql,
       'REFERENCES audit_chain(seq)', 'REFERENCES audit_chain(seq) DEFERRABLE INITIALLY DEFERRED')
 WHERE type = 'table' AND name = 'ledger_entries';
PRAGMA writable_schema = RESET;
-- Any schema change bumps the schema version, so that every open connection reads the
-- edited schema again (the procedure's last step).
CREATE TABLE deferred_keys_bump (x INTEGER);
DROP TABLE deferred_keys_bump;
