-- SQLite only. A card's product key (cards → products) is checked at COMMIT instead of at each
-- statement, as an order's keys are since `deferred_keys`: an immediate foreign key makes
-- SQLite copy every page a multi-row insert touches into a statement journal first, and a
-- stock push's slice inserts its cards 100 to a statement into pages scattered over the code
-- index (8 % of the writer's time while pushes ran on a database of 2×10^6 cards). Deferred, a
-- missing product still fails the transaction (its COMMIT), and nothing of it persists. No
-- product is ever deleted. Same procedure as `deferred_keys`: the schema's text is edited in
-- place, with no copy of the table.
PRAGMA writable_schema = ON;
UPDATE sqlite_master
   SET sql = replace(sql,
       'REFERENCES products(id)', 'REFERENCES products(id) DEFERRABLE INITIALLY DEFERRED')
 WHERE type = 'table' AND name = 'cards';
PRAGMA writable_schema = RESET;
-- Any schema change bumps the schema version, so that every open connection reads the edited
-- schema again.
CREATE TABLE deferred_card_keys_bump (x INTEGER);
DROP TABLE deferred_card_keys_bump;
