DROP TABLE duplicate_flags;
DROP TABLE tickets;
