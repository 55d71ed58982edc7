DROP TABLE supplier_payouts;
