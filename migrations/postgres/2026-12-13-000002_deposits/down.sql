DROP TABLE payment_callbacks;
DROP TABLE deposits;
