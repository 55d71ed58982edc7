DROP TABLE sales_rollup;
DROP TABLE sales_daily;
