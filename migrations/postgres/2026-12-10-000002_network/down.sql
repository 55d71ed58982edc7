DROP INDEX resellers_parent;
DROP TABLE network_product_markups;
DROP TABLE network_markups;
