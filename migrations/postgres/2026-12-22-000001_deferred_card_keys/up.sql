-- SQLite only (see migrations/sqlite/, same name): there an immediate foreign key makes a
-- multi-row insert copy the pages it touches into a statement journal. PostgreSQL keeps no such
-- journal, and its keys stay as they are; this migration keeps the two lists the same.
SELECT 1;
