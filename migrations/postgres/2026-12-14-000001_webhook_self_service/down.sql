DROP INDEX events_owner;
DROP TABLE webhook_settings;
