DROP TABLE licence_holds;
DROP TABLE licences;
DROP TABLE kyc_submissions;
DROP INDEX orders_key_created;
DROP INDEX orders_reseller_created;
